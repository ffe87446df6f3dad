//! The one place where handle pointers are converted. A C handle is an `Rc<T>` turned into a
//! raw pointer: `into_handle` gives it out, `borrow` looks at it without changing its count,
//! `take` gets it back for destroy. Every borrow also checks the calling thread.

use super::result::qlocal_result;
use crate::core::{EventLoop, Server, Socket, Timer};
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

/// A timer (QTimer). Create with `qlocal_timer_new`, free with `qlocal_timer_destroy`.
pub struct qlocal_timer {
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
impl Handle for qlocal_timer {
    type Target = Timer;
    fn loop_of(t: &Timer) -> &EventLoop {
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

/// Checks that `(p, len)` can describe a real object before a slice is made of it: NULL only
/// with length 0 (`NullArgument`), at most `isize::MAX` bytes (no object is larger; above it
/// `slice::from_raw_parts` is undefined behaviour, and the debug library aborts), and not
/// running past the end of the address space (`InvalidArgument`). Alignment needs no check:
/// these are byte buffers. Returns false for an empty range.
fn check_range(p: *const u8, len: usize) -> Result<bool, qlocal_result> {
    if len == 0 {
        return Ok(false);
    }
    if p.is_null() {
        return Err(qlocal_result::NullArgument);
    }
    if len > isize::MAX as usize || p.addr().checked_add(len).is_none() {
        return Err(qlocal_result::InvalidArgument);
    }
    Ok(true)
}

/// A `(pointer, length)` input buffer; NULL is allowed only with length 0; an impossible range
/// (see `check_range`) is `InvalidArgument`.
pub(crate) fn in_bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], qlocal_result> {
    if !check_range(p, len)? {
        return Ok(&[]);
    }
    // SAFETY: p is non-NULL, len <= isize::MAX and the range does not wrap (checked above);
    // the C contract is `len` readable bytes at `p`, valid for the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A `(pointer, capacity)` output buffer; NULL is allowed only with capacity 0; an impossible
/// range (see `check_range`) is `InvalidArgument`.
pub(crate) fn out_bytes<'a>(p: *mut u8, cap: usize) -> Result<&'a mut [u8], qlocal_result> {
    if !check_range(p.cast_const(), cap)? {
        return Ok(&mut []);
    }
    // SAFETY: p is non-NULL, cap <= isize::MAX and the range does not wrap (checked above);
    // the C contract is `cap` writable bytes at `p`, valid for the call, not aliased.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, cap) })
}

/// A `(pointer, count)` array of descriptors of at most `max` entries (NULL only with count
/// 0): a count above `max` or a misaligned pointer is `InvalidArgument`, before any slice is
/// made. Each entry is converted with `descriptor`.
pub(crate) fn in_descriptors(
    p: *const qlocal_descriptor,
    count: usize,
    max: usize,
) -> Result<Vec<crate::core::sys::RawDescriptor>, qlocal_result> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if p.is_null() {
        return Err(qlocal_result::NullArgument);
    }
    if count > max || !p.is_aligned() {
        return Err(qlocal_result::InvalidArgument);
    }
    // SAFETY: p is non-NULL and aligned, count is small (at most `max`); the C contract is
    // `count` readable descriptors at `p`, valid for the call.
    let raw = unsafe { std::slice::from_raw_parts(p, count) };
    raw.iter().map(|&fd| descriptor(fd)).collect()
}

/// Converts a C timeout: -1 waits without a deadline, other negatives are refused.
pub(crate) fn timeout(ms: i32) -> Result<Option<std::time::Duration>, qlocal_result> {
    match ms {
        -1 => Ok(None),
        ms if ms < 0 => Err(qlocal_result::InvalidArgument),
        ms => Ok(Some(std::time::Duration::from_millis(ms as u64))),
    }
}

/// A descriptor as C sees it: `intptr_t` (Qt's `qintptr`), wide enough for a Windows HANDLE.
/// The header declares it (cbindgen.toml) as `typedef intptr_t qlocal_descriptor`.
#[allow(non_camel_case_types)]
pub type qlocal_descriptor = isize;

/// A descriptor argument as the system's descriptor; a value no descriptor can have is
/// QLOCAL_RESULT_INVALID_ARGUMENT.
pub fn descriptor(fd: qlocal_descriptor) -> Result<crate::core::sys::RawDescriptor, qlocal_result> {
    crate::core::sys::RawDescriptor::try_from(fd).map_err(|_| qlocal_result::InvalidArgument)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_ranges_are_refused_before_a_slice_is_made() {
        let mut byte = 0u8;
        let p: *mut u8 = &mut byte;
        assert_eq!(in_bytes(p, 1).map(|s| s.len()), Ok(1));
        assert_eq!(out_bytes(p, 0).map(|s| s.len()), Ok(0));
        assert_eq!(in_bytes(std::ptr::null(), 0).map(|s| s.len()), Ok(0));
        assert_eq!(
            in_bytes(std::ptr::null(), 5),
            Err(qlocal_result::NullArgument)
        );
        for len in [usize::MAX, isize::MAX as usize + 1] {
            assert_eq!(in_bytes(p, len), Err(qlocal_result::InvalidArgument));
            assert_eq!(
                out_bytes(p, len).map(|s| s.len()),
                Err(qlocal_result::InvalidArgument)
            );
        }
        let top = std::ptr::without_provenance::<u8>(usize::MAX - 15);
        assert_eq!(in_bytes(top, 16), Err(qlocal_result::InvalidArgument));
        assert_eq!(
            out_bytes(top.cast_mut(), 32).map(|s| s.len()),
            Err(qlocal_result::InvalidArgument)
        );
    }
}
