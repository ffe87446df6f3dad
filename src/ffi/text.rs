//! Text handed to C: the core keeps names as bytes and error texts as `str`; C gets a
//! NUL-terminated copy owned by the object, which stays valid until the text changes (or the
//! object is destroyed), as the header promises.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

/// One C string per getter of an object, rebuilt only when its text changes. An empty text
/// is a static "" (no allocation: most sockets never have an error text or lose their name).
#[derive(Default)]
pub(crate) struct CText(RefCell<Option<CString>>);

impl CText {
    /// The text as C sees it: cut at the first NUL (abstract names may hold NULs; the address
    /// itself keeps every byte).
    pub(crate) fn get(&self, bytes: &[u8]) -> *const c_char {
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        let bytes = &bytes[..end];
        let mut cached = self.0.borrow_mut();
        if bytes.is_empty() {
            *cached = None;
            return c"".as_ptr();
        }
        match &*cached {
            Some(c) if c.as_bytes() == bytes => {}
            _ => *cached = Some(CString::new(bytes).expect("cut at the first NUL")),
        }
        cached.as_ref().expect("set above").as_ptr()
    }
}
