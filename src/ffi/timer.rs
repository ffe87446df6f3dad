//! `qlocal_timer_*`: QTimer.

use super::cast::{self, qlocal_loop, qlocal_timer};
use super::guard::{guard, result};
use super::result::qlocal_result;
use super::userdata::{UserData, qlocal_finalizer};
use crate::core::{Timer, TimerObserver};
use std::any::Any;
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::NonNull;
use std::rc::Rc;
use std::time::Duration;

/// Called on the loop's thread at each timeout (Qt's `timeout()`).
pub type qlocal_timer_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, timer: *mut qlocal_timer)>;

struct TimerCallbacks {
    userdata: UserData,
    timeout: Cell<qlocal_timer_cb>,
}

impl TimerObserver for TimerCallbacks {
    fn timeout(&self, timer: &Rc<Timer>) {
        if let Some(cb) = self.timeout.get() {
            // SAFETY: the caller registered cb for this timer and userdata.
            unsafe { cb(self.userdata.get(), cast::handle_of::<qlocal_timer>(timer)) };
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn with_callbacks(t: &Timer, f: impl FnOnce(&TimerCallbacks)) {
    if let Some(o) = t.observer() {
        if let Some(c) = o.as_any().downcast_ref::<TimerCallbacks>() {
            f(c);
        }
    }
}

fn interval(ms: i32) -> Result<Duration, qlocal_result> {
    cast::timeout(ms)?.ok_or(qlocal_result::InvalidArgument)
}

/// Creates a stopped, repeating timer with interval 0 on `event_loop` (Qt's `QTimer`). On
/// success writes it to `*timer_out`; destroy it with `qlocal_timer_destroy`. Its callback
/// runs on the loop's thread, inside `qlocal_loop_run` (never inside a wait call of a socket).
/// NULL: QLOCAL_RESULT_NULL_ARGUMENT; another thread: QLOCAL_RESULT_WRONG_THREAD.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_new(
    event_loop: Option<NonNull<qlocal_loop>>,
    timer_out: Option<&mut *mut qlocal_timer>,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let out = timer_out.ok_or(qlocal_result::NullArgument)?;
        let t = Timer::new(&l);
        t.set_observer(Some(Rc::new(TimerCallbacks {
            userdata: UserData::new(),
            timeout: Cell::new(None),
        })));
        *out = cast::into_handle::<qlocal_timer>(t);
        Ok(())
    })
}

/// Stops and destroys the timer and runs its userdata finalizer (inside its own callback: when
/// that callback returns). No timeout callback runs after this returns. NULL is a no-op;
/// another thread: QLOCAL_RESULT_WRONG_THREAD (nothing happens).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_destroy(timer: Option<NonNull<qlocal_timer>>) -> qlocal_result {
    result(|| {
        if let Some(t) = cast::take(timer)? {
            t.destroy();
        }
        Ok(())
    })
}

/// Qt's `start(msec)`: (re)starts the timer; the first timeout comes `interval_ms` from now,
/// then every `interval_ms` (repeating) or never again (single-shot). Restarting an active
/// timer moves its next timeout. Negative: QLOCAL_RESULT_INVALID_ARGUMENT; a destroyed loop:
/// QLOCAL_RESULT_WRONG_STATE.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_start(
    timer: Option<NonNull<qlocal_timer>>,
    interval_ms: i32,
) -> qlocal_result {
    result(|| Ok(cast::borrow(timer)?.start(interval(interval_ms)?)?))
}

/// Qt's `stop()`: no timeout comes after this until the next start. Harmless when stopped.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_stop(timer: Option<NonNull<qlocal_timer>>) -> qlocal_result {
    result(|| {
        cast::borrow(timer)?.stop();
        Ok(())
    })
}

/// Qt's `setInterval`: an active timer restarts with it. Negative: INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_set_interval(
    timer: Option<NonNull<qlocal_timer>>,
    interval_ms: i32,
) -> qlocal_result {
    result(|| Ok(cast::borrow(timer)?.set_interval(interval(interval_ms)?)?))
}

/// The interval in milliseconds (-1 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_interval(timer: Option<NonNull<qlocal_timer>>) -> i32 {
    guard(|| {
        cast::borrow(timer).map_or(-1, |t| {
            t.interval().as_millis().min(i32::MAX as u128) as i32
        })
    })
}

/// Milliseconds until the next timeout (Qt's `remainingTime`): -1 when inactive, NULL or the
/// wrong thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_remaining_time(timer: Option<NonNull<qlocal_timer>>) -> i32 {
    guard(|| {
        cast::borrow(timer)
            .ok()
            .and_then(|t| t.remaining())
            .map_or(-1, |d| d.as_millis().min(i32::MAX as u128) as i32)
    })
}

/// Qt's `setSingleShot`: a single-shot timer stops after its first timeout.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_set_single_shot(
    timer: Option<NonNull<qlocal_timer>>,
    single_shot: bool,
) -> qlocal_result {
    result(|| {
        cast::borrow(timer)?.set_single_shot(single_shot);
        Ok(())
    })
}

/// True for a single-shot timer (false for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_is_single_shot(timer: Option<NonNull<qlocal_timer>>) -> bool {
    guard(|| cast::borrow(timer).is_ok_and(|t| t.is_single_shot()))
}

/// True while started and not stopped (a single-shot timer stops before its callback runs).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_is_active(timer: Option<NonNull<qlocal_timer>>) -> bool {
    guard(|| cast::borrow(timer).is_ok_and(|t| t.is_active()))
}

/// Sets the timeout callback (Qt's `timeout()`); NULL removes it.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_set_timeout_callback(
    timer: Option<NonNull<qlocal_timer>>,
    callback: qlocal_timer_cb,
) -> qlocal_result {
    result(|| {
        let t = cast::borrow(timer)?;
        with_callbacks(&t, |c| c.timeout.set(callback));
        Ok(())
    })
}

/// Sets the userdata passed to the callback, and its finalizer (may be NULL). A previous
/// userdata's finalizer runs now; this one runs on destroy or the next replacement.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_set_userdata(
    timer: Option<NonNull<qlocal_timer>>,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
) -> qlocal_result {
    result(|| {
        let t = cast::borrow(timer)?;
        with_callbacks(&t, |c| c.userdata.replace(userdata, finalizer));
        Ok(())
    })
}

/// The userdata set with `qlocal_timer_set_userdata` (NULL if none, NULL handle or wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_timer_userdata(timer: Option<NonNull<qlocal_timer>>) -> *mut c_void {
    guard(|| {
        let mut ud = std::ptr::null_mut();
        if let Ok(t) = cast::borrow(timer) {
            with_callbacks(&t, |c| ud = c.userdata.get());
        }
        ud
    })
}
