//! `qlocal_loop_*`: the event loop.

use super::cast::{self, qlocal_loop};
use super::guard::{guard, result};
use super::result::qlocal_result;
use super::userdata::{UserData, qlocal_finalizer};
use crate::core::event_loop::LoopObserver;
use crate::core::{EventLoop, RunMode, RunOutcome, Timer, TimerObserver};
use std::any::Any;
use std::cell::Cell;
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
pub type qlocal_loop_wakeup_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event_loop: *mut qlocal_loop)>;

struct LoopCallbacks {
    userdata: UserData,
    wakeup: Cell<qlocal_loop_wakeup_cb>,
}

impl LoopObserver for LoopCallbacks {
    fn woken(&self, lp: &EventLoop) {
        if let Some(cb) = self.wakeup.get() {
            // SAFETY: the caller registered cb for this loop and userdata.
            unsafe { cb(self.userdata.get(), cast::loop_handle_of(lp)) };
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn with_callbacks(lp: &EventLoop, f: impl FnOnce(&LoopCallbacks)) {
    if let Some(o) = lp.observer() {
        if let Some(c) = o.as_any().downcast_ref::<LoopCallbacks>() {
            f(c);
        }
    }
}

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
        lp.set_observer(Some(Rc::new(LoopCallbacks {
            userdata: UserData::new(),
            wakeup: Cell::new(None),
        })));
        *out = cast::into_handle::<qlocal_loop>(lp);
        Ok(())
    })
}

/// Destroys the loop handle and runs the userdata finalizer. NULL is a no-op. Servers and
/// sockets still alive keep working (their wait calls still run) and free the loop's resources
/// when the last one is destroyed; only `qlocal_loop_*` calls need the handle. Safe inside a
/// callback of this loop: the `qlocal_loop_run` in progress then returns after the current
/// callback. Must be called on the loop's thread (QLOCAL_RESULT_WRONG_THREAD otherwise, and
/// nothing happens). Windows: stops the watcher thread `qlocal_loop_fd` started (a bounded
/// wait, never a hang); the handle it returned is closed.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_destroy(event_loop: Option<NonNull<qlocal_loop>>) -> qlocal_result {
    result(|| {
        if let Some(l) = cast::take(event_loop)? {
            if l.is_running() {
                // The run in progress holds its own reference and returns after this callback.
                l.shared().stop()?;
            }
            l.close();
        }
        Ok(())
    })
}

/// Runs the loop on its thread: callbacks of its servers and sockets run inside this call.
/// `mode` is a `qlocal_run_mode`; `timeout_ms` bounds the call (-1: no bound).
/// Returns OK when stopped (DEFAULT) or after dispatching (ONCE, NOWAIT), QLOCAL_RESULT_TIMEOUT
/// when the timeout passed first, QLOCAL_RESULT_WRONG_STATE when called from a callback of this
/// loop (it is not re-entrant). A `qlocal_loop_stop` made while the loop was not running makes
/// the next run return at once. The loop may be destroyed from inside one of its callbacks.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_run(
    event_loop: Option<NonNull<qlocal_loop>>,
    mode: i32,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        // Our own reference: a callback may destroy the handle while the loop runs.
        let l: Rc<EventLoop> = Rc::clone(&*cast::borrow(event_loop)?);
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
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_wakeup(event_loop: Option<NonNull<qlocal_loop>>) -> qlocal_result {
    result(|| {
        let shared = cast::loop_from_any_thread(event_loop)?.shared().clone();
        Ok(shared.wake()?)
    })
}

/// Sets the callback run on the loop's thread after `qlocal_loop_wakeup` (NULL removes it). It
/// receives the loop's userdata (`qlocal_loop_set_userdata`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_set_wakeup_callback(
    event_loop: Option<NonNull<qlocal_loop>>,
    callback: qlocal_loop_wakeup_cb,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        with_callbacks(&l, |c| c.wakeup.set(callback));
        Ok(())
    })
}

/// Work posted to a loop: called once with its userdata on the loop's thread.
pub type qlocal_posted_cb = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// A C call for the loop's thread: runs `f(userdata)`, and the finalizer once it ran, or when
/// it never will (the loop was destroyed first, or refused the post).
struct PostedCall {
    f: qlocal_posted_cb,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
}

// SAFETY: the C caller hands `userdata` to the loop's thread (the contract of
// qlocal_loop_post); the pointers are only used there, or where the post is refused.
unsafe impl Send for PostedCall {}

impl PostedCall {
    /// Takes charge of the userdata at once (so every path from here finalizes it); a NULL
    /// `f` is refused, finalized.
    fn new(
        f: qlocal_posted_cb,
        userdata: *mut c_void,
        finalizer: qlocal_finalizer,
    ) -> Result<PostedCall, qlocal_result> {
        let call = PostedCall {
            f,
            userdata,
            finalizer,
        };
        if call.f.is_none() {
            return Err(qlocal_result::NullArgument);
        }
        Ok(call)
    }

    fn run(self) {
        if let Some(f) = self.f {
            // SAFETY: the caller posted f for this userdata; it runs once, on the loop's thread.
            unsafe { f(self.userdata) };
        }
    }
}

impl Drop for PostedCall {
    fn drop(&mut self) {
        if let Some(fin) = self.finalizer {
            // SAFETY: the finalizer was given for this userdata and runs exactly once.
            unsafe { fin(self.userdata) };
        }
    }
}

/// Qt's deleteLater for any object of the loop: `destroy(obj)` from the loop's next turn, or
/// when the loop closes first (the deferred call is then dropped, which still destroys).
pub(crate) fn destroy_later<T: 'static>(lp: &EventLoop, obj: Rc<T>, destroy: fn(&T)) {
    struct OnDrop<T>(Rc<T>, fn(&T));
    impl<T> Drop for OnDrop<T> {
        fn drop(&mut self) {
            (self.1)(&self.0);
        }
    }
    let guard = OnDrop(obj, destroy);
    lp.call_later(Box::new(move || drop(guard)));
}

/// Runs `f(userdata)` on the loop's thread, from `qlocal_loop_run`, after every call posted
/// before it (Qt's queued `QMetaObject::invokeMethod`). Any thread, the loop's own included
/// (then it runs from the loop's next turn, never inside this call). `finalizer` (may be NULL)
/// runs once `f` has run, or, for a post that never runs, when the loop is destroyed (on the
/// destroying thread) or at once when the post is refused. QLOCAL_RESULT_NULL_ARGUMENT for a
/// NULL loop or `f` (the finalizer still runs for a NULL `f`); QLOCAL_RESULT_WRONG_STATE when
/// the loop was destroyed. As with `qlocal_loop_stop`, the handle must stay valid while other
/// threads may post.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_post(
    event_loop: Option<NonNull<qlocal_loop>>,
    f: qlocal_posted_cb,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
) -> qlocal_result {
    result(|| {
        let call = PostedCall::new(f, userdata, finalizer);
        let l = cast::loop_from_any_thread(event_loop)?;
        let call = call?;
        Ok(l.shared().post(Box::new(move || call.run()))?)
    })
}

/// Qt's static `QTimer::singleShot`: runs `f(userdata)` once on the loop's thread, from
/// `qlocal_loop_run`, `interval_ms` from now. The loop owns the timer: nothing to destroy.
/// `finalizer` (may be NULL) runs after `f`, or when the loop is destroyed before the timeout
/// (then `f` never runs). Loop's thread only (QLOCAL_RESULT_WRONG_THREAD); NULL loop or `f`:
/// QLOCAL_RESULT_NULL_ARGUMENT (the finalizer still runs); negative interval:
/// QLOCAL_RESULT_INVALID_ARGUMENT (the finalizer still runs).
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_single_shot(
    event_loop: Option<NonNull<qlocal_loop>>,
    interval_ms: i32,
    f: qlocal_posted_cb,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
) -> qlocal_result {
    result(|| {
        let call = PostedCall::new(f, userdata, finalizer);
        let l = cast::borrow(event_loop)?;
        let call = call?;
        let interval = cast::timeout(interval_ms)?.ok_or(qlocal_result::InvalidArgument)?;
        let t = Timer::new(&l);
        t.set_observer(Some(Rc::new(SingleShot(Cell::new(Some(call))))));
        t.set_single_shot(true);
        t.start(interval)?;
        t.detach();
        Ok(())
    })
}

/// The callback of a `qlocal_loop_single_shot` timer: the C call, run once (dropping it runs
/// the finalizer, also when the timer goes without firing).
struct SingleShot(Cell<Option<PostedCall>>);

impl TimerObserver for SingleShot {
    fn timeout(&self, _timer: &Rc<Timer>) {
        if let Some(call) = self.0.take() {
            call.run();
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Sets the userdata passed to the loop's callbacks, and its finalizer (may be NULL). A
/// previous userdata's finalizer runs now; this one runs on destroy or the next replacement.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_set_userdata(
    event_loop: Option<NonNull<qlocal_loop>>,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        with_callbacks(&l, |c| c.userdata.replace(userdata, finalizer));
        Ok(())
    })
}

/// The userdata set with `qlocal_loop_set_userdata` (NULL if none, NULL handle or wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_userdata(event_loop: Option<NonNull<qlocal_loop>>) -> *mut c_void {
    guard(|| {
        let mut ud = std::ptr::null_mut();
        if let Ok(l) = cast::borrow(event_loop) {
            with_callbacks(&l, |c| ud = c.userdata.get());
        }
        ud
    })
}

/// For embedding: writes to `*fd_out` a descriptor that becomes ready whenever the loop has
/// work. Watch it in another event loop and call `qlocal_loop_run(loop,
/// QLOCAL_RUN_MODE_NO_WAIT, 0)` when it is ready or when `qlocal_loop_timeout` expires (timers
/// do not make it ready). `intptr_t`, as every descriptor of the API (Qt's `qintptr`).
///
/// - Unix: a file descriptor (the epoll or kqueue fd), readable while the loop has work: watch
///   it for reading (Qt's QSocketNotifier, GLib, poll).
/// - Windows: an event object HANDLE (manual reset), signalled while the loop has I/O events,
///   wake-ups or posted work to dispatch, and reset by `qlocal_loop_run` when it takes them:
///   wait on it (WaitForSingleObject, WaitForMultipleObjects, Qt's QWinEventNotifier); do not
///   set, reset or close it. The first call starts a watcher thread that from then on, until
///   `qlocal_loop_destroy`, waits on the loop's completion port (which no other loop can wait
///   on) and hands its events to the loop's thread: one thread per embedded loop, and a
///   thread hop per batch of events. Calls after the first return the same handle.
///
/// The descriptor stays owned by the loop and is valid until `qlocal_loop_destroy`. Loop's
/// thread only (QLOCAL_RESULT_WRONG_THREAD); Windows: QLOCAL_RESULT_WRONG_STATE from inside a
/// blocking wait, an OS error code when the event or the thread cannot be created.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_fd(
    event_loop: Option<NonNull<qlocal_loop>>,
    fd_out: Option<&mut cast::qlocal_descriptor>,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let out = fd_out.ok_or(qlocal_result::NullArgument)?;
        *out = l.fd()? as cast::qlocal_descriptor;
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

/// Busy-polling (not Qt's), per loop: before sleeping, `qlocal_loop_run` polls without waiting
/// for up to `microseconds` (never past its own timeout), so an answer that arrives within
/// that time is handled without the cost of a wake-up (tens of microseconds on a VM). Costs a
/// busy CPU for up to that long each time the loop would sleep. 0 turns it off (the default);
/// negative: QLOCAL_RESULT_INVALID_ARGUMENT. On Unix the blocking waits (`wait_for_*`) of the
/// loop's sockets and servers spin the same way first. Loop thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_set_busy_poll(
    event_loop: Option<NonNull<qlocal_loop>>,
    microseconds: i32,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let us = u64::try_from(microseconds).map_err(|_| qlocal_result::InvalidArgument)?;
        l.set_busy_poll(std::time::Duration::from_micros(us));
        Ok(())
    })
}

/// The busy-poll time in microseconds (0: off; -1 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_loop_busy_poll(event_loop: Option<NonNull<qlocal_loop>>) -> i32 {
    guard(|| {
        cast::borrow(event_loop).map_or(-1, |l| {
            l.busy_poll().as_micros().min(i32::MAX as u128) as i32
        })
    })
}
