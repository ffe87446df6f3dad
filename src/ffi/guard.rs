//! The panic boundary. Every exported function runs its body through `guard` (a function, not
//! a macro, so rustfmt and cbindgen see plain code). A panic becomes a documented default:
//! `QLOCAL_RESULT_PANIC` for calls that return a result.

use super::result::{
    qlocal_local_socket_error, qlocal_local_socket_state, qlocal_open_mode, qlocal_result,
};
use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The value an exported function returns when its body panicked.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for qlocal_result {
    fn on_panic() -> Self {
        qlocal_result::Panic
    }
}
impl OnPanic for bool {
    fn on_panic() -> Self {
        false
    }
}
impl OnPanic for usize {
    fn on_panic() -> Self {
        0
    }
}
impl OnPanic for i32 {
    fn on_panic() -> Self {
        -1
    }
}
impl OnPanic for isize {
    fn on_panic() -> Self {
        -1
    }
}
impl OnPanic for u32 {
    fn on_panic() -> Self {
        0
    }
}
impl OnPanic for () {
    fn on_panic() -> Self {}
}
impl OnPanic for *const c_char {
    fn on_panic() -> Self {
        c"".as_ptr()
    }
}

impl OnPanic for *mut c_void {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}
impl OnPanic for qlocal_local_socket_error {
    fn on_panic() -> Self {
        qlocal_local_socket_error::Unknown
    }
}
impl OnPanic for qlocal_open_mode {
    fn on_panic() -> Self {
        qlocal_open_mode::NotOpen
    }
}
impl OnPanic for qlocal_local_socket_state {
    fn on_panic() -> Self {
        qlocal_local_socket_state::Unconnected
    }
}

pub(crate) fn guard<R: OnPanic>(f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| R::on_panic())
}

/// Runs a fallible body; `Err(code)` and panics become the returned code.
pub(crate) fn result(f: impl FnOnce() -> Result<(), qlocal_result>) -> qlocal_result {
    guard(|| f().err().unwrap_or(qlocal_result::Ok))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_codes() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = result(|| panic!("boom"));
        let b: bool = guard(|| panic!("boom"));
        std::panic::set_hook(prev);
        assert_eq!(r, qlocal_result::Panic);
        assert!(!b);
        assert_eq!(result(|| Ok(())), qlocal_result::Ok);
        assert_eq!(
            result(|| Err(qlocal_result::Timeout)),
            qlocal_result::Timeout
        );
    }
}
