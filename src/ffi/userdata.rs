//! The userdata a C caller attaches to a loop, server or socket, with its finalizer: one
//! implementation of "replace runs the old finalizer, drop runs the current one" for all three.

use std::cell::Cell;
use std::ffi::c_void;

/// Runs with the userdata when its object is destroyed or the userdata is replaced.
pub type qlocal_finalizer = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

pub(crate) struct UserData {
    ptr: Cell<*mut c_void>,
    finalizer: Cell<qlocal_finalizer>,
}

impl UserData {
    pub(crate) fn new() -> Self {
        UserData {
            ptr: Cell::new(std::ptr::null_mut()),
            finalizer: Cell::new(None),
        }
    }

    pub(crate) fn get(&self) -> *mut c_void {
        self.ptr.get()
    }

    /// Installs a new userdata; the previous one's finalizer runs now.
    pub(crate) fn replace(&self, ptr: *mut c_void, finalizer: qlocal_finalizer) {
        let old = self.ptr.replace(ptr);
        if let Some(f) = self.finalizer.replace(finalizer) {
            // SAFETY: the old finalizer was registered for the old userdata and runs once.
            unsafe { f(old) };
        }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer.get() {
            // SAFETY: the finalizer was registered for this userdata and runs exactly once.
            unsafe { f(self.ptr.get()) };
        }
    }
}
