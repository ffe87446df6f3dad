//! Qt's rules for turning a server name into a Windows pipe name.
//!
//! - A name that starts with `\\.\pipe\` is a full pipe path, used as given.
//! - Any other name becomes `\\.\pipe\` + name (Qt's `fullServerName`).
//! - The abstract-namespace option has no meaning on Windows (Qt does not read it there): it is
//!   kept, reported back, and ignored.
//! - Names are UTF-8 from C and UTF-16 for the system; a pipe path may be at most 256 UTF-16
//!   units long (the system's limit), longer names are refused, never truncated.

use super::error::{Error, Result};
use std::path::Path;

/// The prefix of every local pipe path.
pub const PIPE_PREFIX: &[u8] = br"\\.\pipe\";
/// The longest full pipe path, in UTF-16 units.
pub const MAX_NAME_LEN: usize = 256;
/// Windows has no abstract socket namespace.
pub const HAS_ABSTRACT_NAMESPACE: bool = false;

/// A resolved pipe name: Qt's full server name and its NUL-terminated UTF-16 form.
#[derive(Clone)]
pub struct Address {
    /// Qt's `fullServerName()`: `\\.\pipe\name`.
    pub full_name: Vec<u8>,
    /// The option as given (ignored on Windows).
    pub abstract_ns: bool,
    wide: Vec<u16>,
}

impl Address {
    /// Resolves `name` as Qt does on Windows.
    pub fn resolve(name: &[u8], abstract_ns: bool) -> Result<Address> {
        if name.is_empty() {
            return Err(Error::InvalidName("the name is empty"));
        }
        let full_name = if name.starts_with(PIPE_PREFIX) {
            name.to_vec()
        } else {
            [PIPE_PREFIX, name].concat()
        };
        Address::from_full_name(full_name, abstract_ns)
    }

    /// Builds the pipe name for an already resolved full name.
    pub fn from_full_name(full_name: Vec<u8>, abstract_ns: bool) -> Result<Address> {
        let text = std::str::from_utf8(&full_name)
            .map_err(|_| Error::InvalidName("the name is not UTF-8"))?;
        if text.contains('\0') {
            return Err(Error::InvalidArgument("a pipe name contains a NUL byte"));
        }
        let mut wide: Vec<u16> = text.encode_utf16().collect();
        if wide.len() > MAX_NAME_LEN {
            return Err(Error::NameTooLong {
                len: wide.len(),
                max: MAX_NAME_LEN,
            });
        }
        wide.push(0);
        Ok(Address {
            full_name,
            abstract_ns,
            wide,
        })
    }

    /// The NUL-terminated UTF-16 name for the system calls.
    pub fn wide(&self) -> *const u16 {
        self.wide.as_ptr()
    }

    /// A pipe has no file: always `None`.
    pub fn path(&self) -> Option<&Path> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_get_the_pipe_prefix_and_full_paths_are_kept() {
        let a = Address::resolve(b"qlocal-test", false).unwrap();
        assert_eq!(a.full_name, br"\\.\pipe\qlocal-test");
        let b = Address::resolve(br"\\.\pipe\x\y", false).unwrap();
        assert_eq!(b.full_name, br"\\.\pipe\x\y");
        assert!(b.path().is_none());
    }

    #[test]
    fn the_abstract_option_is_ignored_and_limits_hold() {
        let a = Address::resolve(b"n", true).unwrap();
        assert_eq!(a.full_name, br"\\.\pipe\n");
        assert!(Address::resolve(b"", false).is_err());
        let long = vec![b'a'; MAX_NAME_LEN - PIPE_PREFIX.len()];
        assert!(Address::resolve(&long, false).is_ok());
        let longer = vec![b'a'; MAX_NAME_LEN - PIPE_PREFIX.len() + 1];
        assert!(matches!(
            Address::resolve(&longer, false),
            Err(Error::NameTooLong { .. })
        ));
        assert!(Address::resolve(b"\xff", false).is_err());
    }
}
