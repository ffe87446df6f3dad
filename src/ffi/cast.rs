//! The one place where handle pointers are converted. A C handle is an `Rc<T>` turned into a
//! raw pointer: `into_handle` gives it out, `borrow` looks at it without changing its count,
//! `take` gets it back for destroy. Every borrow also checks the calling thread.

use super::result::qlocal_result;
use crate::core::{EventLoop, Server, Socket};
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::rc::Rc;

/// An event loop. Create with `qlocal_loop_new`, free with `qlocal_loop_destroy`.
pub struct qlocal_loop {
    _private: [u8; 0],
}

/// A local server (QLocalServer). Create with `qlocal_server_new`, free with `qlocal_server_destroy`.
pub struct qlocal_server {
    _private: [u8; 0],
}

/// A local socket (QLocalSocket). Create with `qlocal_socket_new` or take one from
/// `qlocal_server_next_pending_connection`; free with `qlocal_socket_destroy`.
pub struct qlocal_socket {
    _private: [u8; 0],
}

pub(crate) trait Handle {
    type Target;
    fn loop_of(t: &Self::Target) -> &EventLoop;
}

impl Handle for qlocal_loop {
    type Target = EventLoop;
    fn loop_of(t: &EventLoop) -> &EventLoop {
        t
    }
}
impl Handle for qlocal_server {
    type Target = Server;
    fn loop_of(t: &Server) -> &EventLoop {
        t.event_loop()
    }
}
impl Handle for qlocal_socket {
    type Target = Socket;
    fn loop_of(t: &Socket) -> &EventLoop {
        t.event_loop()
    }
}

/// Gives an object out to C.
pub(crate) fn into_handle<H: Handle>(rc: Rc<H::Target>) -> *mut H {
    Rc::into_raw(rc).cast_mut().cast()
}

/// The handle C holds for an object it owns (for passing to callbacks).
pub(crate) fn handle_of<H: Handle>(rc: &Rc<H::Target>) -> *mut H {
    Rc::as_ptr(rc).cast_mut().cast()
}

/// The handle C holds for a loop (for passing to its callbacks).
pub(crate) fn loop_handle_of(lp: &EventLoop) -> *mut qlocal_loop {
    (lp as *const EventLoop).cast_mut().cast()
}

/// Looks at a handle from C: NULL and calls from the wrong thread are refused.
pub(crate) fn borrow<H: Handle>(
    p: Option<NonNull<H>>,
) -> Result<ManuallyDrop<Rc<H::Target>>, qlocal_result> {
    let p = p.ok_or(qlocal_result::NullArgument)?;
    // SAFETY: a non-NULL handle came from `into_handle` and has not been destroyed (the C
    // contract); ManuallyDrop leaves the reference count alone. Only the loop's immutable owner
    // id is read before the thread check passes.
    let rc =
        ManuallyDrop::new(unsafe { Rc::from_raw(p.as_ptr().cast_const().cast::<H::Target>()) });
    H::loop_of(&rc)
        .check_thread()
        .map_err(|_| qlocal_result::WrongThread)?;
    Ok(rc)
}

/// Takes a handle back from C for destroy (after the thread check).
pub(crate) fn take<H: Handle>(
    p: Option<NonNull<H>>,
) -> Result<Option<Rc<H::Target>>, qlocal_result> {
    let Some(p) = p else { return Ok(None) };
    let rc = borrow(Some(p))?;
    Ok(Some(ManuallyDrop::into_inner(rc)))
}

/// The loop behind a handle, for the calls any thread may make (`stop`, `wakeup`).
pub(crate) fn loop_from_any_thread<'a>(
    p: Option<NonNull<qlocal_loop>>,
) -> Result<&'a EventLoop, qlocal_result> {
    let p = p.ok_or(qlocal_result::NullArgument)?;
    // SAFETY: the handle is a live `Rc<EventLoop>` (C contract: not destroyed while other
    // threads may use it). Callers only touch `EventLoop::shared()`, an `Arc` set at creation
    // and never mutated, so no data race is possible; the reference count is not touched.
    Ok(unsafe { &*p.as_ptr().cast_const().cast::<EventLoop>() })
}

/// Reads a NUL-terminated string argument.
pub(crate) fn c_str(p: Option<&std::ffi::c_char>) -> Result<&[u8], qlocal_result> {
    let p = p.ok_or(qlocal_result::NullArgument)?;
    // SAFETY: the C contract is a valid NUL-terminated string that outlives the call.
    Ok(unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes())
}

/// A `(pointer, length)` input buffer; NULL is allowed only with length 0.
pub(crate) fn in_bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], qlocal_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(qlocal_result::NullArgument);
    }
    // SAFETY: the C contract is `len` readable bytes at `p`, valid for the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A `(pointer, capacity)` output buffer; NULL is allowed only with capacity 0.
pub(crate) fn out_bytes<'a>(p: *mut u8, cap: usize) -> Result<&'a mut [u8], qlocal_result> {
    if cap == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(qlocal_result::NullArgument);
    }
    // SAFETY: the C contract is `cap` writable bytes at `p`, valid for the call, not aliased.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, cap) })
}

/// Converts a C timeout: -1 waits without a deadline, other negatives are refused.
pub(crate) fn timeout(ms: i32) -> Result<Option<std::time::Duration>, qlocal_result> {
    match ms {
        -1 => Ok(None),
        ms if ms < 0 => Err(qlocal_result::InvalidArgument),
        ms => Ok(Some(std::time::Duration::from_millis(ms as u64))),
    }
}
