//! `qlocal_loop_*`: the event loop.

use super::cast::{self, qlocal_loop};
use super::guard::{guard, result};
use super::result::qlocal_result;
use crate::core::{EventLoop, RunMode, RunOutcome};
use std::ffi::c_void;
use std::ptr::NonNull;
use std::rc::Rc;

/// How `qlocal_loop_run` runs.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qlocal_run_mode {
    /// Until `qlocal_loop_stop` (or the timeout).
    Default = 0,
    /// Wait for one batch of events (or the timeout), dispatch it, return.
    Once = 1,
    /// Dispatch what is ready now without waiting (for embedding in another loop).
    NoWait = 2,
}

/// Called on the loop's thread after `qlocal_loop_wakeup` (several wake-ups may coalesce into one call).
pub type qlocal_loop_wakeup_cb = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// Creates an event loop owned by the calling thread. Servers and sockets are created on a
/// loop; their calls and callbacks belong to this thread (calls from other threads return
/// QLOCAL_RESULT_WRONG_THREAD). On success writes the new loop to `*loop_out`; the caller
/// destroys it with `qlocal_loop_destroy`.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_new(loop_out: Option<&mut *mut qlocal_loop>) -> qlocal_result {
    result(|| {
        let out = loop_out.ok_or(qlocal_result::NullArgument)?;
        let lp = EventLoop::new()?;
        *out = cast::into_handle::<qlocal_loop>(lp);
        Ok(())
    })
}

/// Destroys the loop handle. NULL is a no-op. Servers and sockets still alive keep working
/// (their wait calls still run) and free the loop's resources when the last one is destroyed;
/// only `qlocal_loop_*` calls need the handle. Must be called on the loop's thread
/// (QLOCAL_RESULT_WRONG_THREAD otherwise, and nothing happens), never from inside a callback
/// of a running loop (QLOCAL_RESULT_WRONG_STATE).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_destroy(event_loop: Option<NonNull<qlocal_loop>>) -> qlocal_result {
    result(|| {
        if cast::borrow(event_loop).is_ok_and(|l| l.is_running()) {
            return Err(qlocal_result::WrongState);
        }
        if let Some(l) = cast::take(event_loop)? {
            l.close();
            drop(l);
        }
        Ok(())
    })
}

/// Runs the loop on its thread: callbacks of its servers and sockets run inside this call.
/// `mode` is a `qlocal_run_mode`; `timeout_ms` bounds the call (-1: no bound).
/// Returns OK when stopped (DEFAULT) or after dispatching (ONCE, NOWAIT), QLOCAL_RESULT_TIMEOUT
/// when the timeout passed first, QLOCAL_RESULT_WRONG_STATE when called from a callback of this
/// loop (it is not re-entrant). A `qlocal_loop_stop` made while the loop was not running makes
/// the next run return at once.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_run(
    event_loop: Option<NonNull<qlocal_loop>>,
    mode: i32,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let mode = match mode {
            0 => RunMode::Default,
            1 => RunMode::Once,
            2 => RunMode::NoWait,
            _ => return Err(qlocal_result::InvalidArgument),
        };
        match l.run(mode, cast::timeout(timeout_ms)?)? {
            RunOutcome::Stopped | RunOutcome::Returned => Ok(()),
            RunOutcome::TimedOut => Err(qlocal_result::Timeout),
        }
    })
}

/// Asks the loop to return from `qlocal_loop_run`. Callable from any thread; idempotent. The
/// loop's thread may destroy the loop as soon as its run returns: this call no longer touches
/// the loop once the stop is visible to it.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_stop(event_loop: Option<NonNull<qlocal_loop>>) -> qlocal_result {
    result(|| {
        // Own a reference to the shared part before the stop becomes visible: the loop's
        // thread may then return from run and destroy the loop while we still signal.
        let shared = cast::loop_from_any_thread(event_loop)?.shared().clone();
        Ok(shared.stop()?)
    })
}

/// Wakes the loop; it then calls the wake-up callback on its thread. Callable from any thread;
/// wake-ups made before the loop gets to them coalesce.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_wakeup(event_loop: Option<NonNull<qlocal_loop>>) -> qlocal_result {
    result(|| {
        let shared = cast::loop_from_any_thread(event_loop)?.shared().clone();
        Ok(shared.wake()?)
    })
}

/// Sets the callback run on the loop's thread after `qlocal_loop_wakeup` (NULL removes it).
/// `userdata` is passed to it unchanged and stays owned by the caller.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_set_wakeup_callback(
    event_loop: Option<NonNull<qlocal_loop>>,
    callback: qlocal_loop_wakeup_cb,
    userdata: *mut c_void,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        l.set_wake_handler(callback.map(|cb| {
            // SAFETY (of the call below): the caller promised cb may be called with userdata
            // on this thread until it is replaced.
            Rc::new(move || unsafe { cb(userdata) }) as Rc<dyn Fn()>
        }));
        Ok(())
    })
}

/// For embedding: writes to `*fd_out` a file descriptor that becomes readable whenever the loop
/// has work. Watch it for reading in another event loop (Qt's QSocketNotifier, GLib, poll) and
/// call `qlocal_loop_run(loop, QLOCAL_RUN_MODE_NO_WAIT, 0)` when it is readable or when
/// `qlocal_loop_timeout` expires. The descriptor stays owned by the loop.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_fd(
    event_loop: Option<NonNull<qlocal_loop>>,
    fd_out: Option<&mut i32>,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let out = fd_out.ok_or(qlocal_result::NullArgument)?;
        *out = l.fd();
        Ok(())
    })
}

/// For embedding: writes to `*timeout_ms_out` how long the caller may wait on `qlocal_loop_fd`
/// before calling `qlocal_loop_run(..., QLOCAL_RUN_MODE_NO_WAIT, 0)`: -1 for no limit, 0 when
/// work is already queued. Ask again after every run.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_timeout(
    event_loop: Option<NonNull<qlocal_loop>>,
    timeout_ms_out: Option<&mut i32>,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let out = timeout_ms_out.ok_or(qlocal_result::NullArgument)?;
        *out = match l.timeout() {
            None => -1,
            Some(d) => d.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32,
        };
        Ok(())
    })
}

/// True when called on the thread that owns the loop. Any thread; false for NULL.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_is_owner_thread(event_loop: Option<NonNull<qlocal_loop>>) -> bool {
    guard(|| cast::borrow(event_loop).is_ok())
}
