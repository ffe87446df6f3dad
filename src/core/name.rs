//! Qt's rules for turning a server name into an `AF_UNIX` address.
//!
//! - A name starting with `/` is a filesystem path, used as given.
//! - Any other name lives in Qt's temp path: `$TMPDIR` (or `/tmp` when unset or empty),
//!   canonicalised (symlinks resolved), then `/` and the name. A temp path that does not exist
//!   canonicalises to the empty string, as in `QDir::tempPath()`.
//! - With the abstract-namespace option (Linux) the name is used verbatim as an abstract
//!   address of exact length: a leading NUL and the name, no trailing NUL.
//! - Qt 6 on Linux reserves one byte of `sun_path` (108) for the abstract form and one for the
//!   terminator, so the longest name is 106 bytes. Elsewhere (macOS, the BSDs: 104 bytes, no
//!   abstract namespace) only the terminator: 103 bytes. Longer names are refused, never
//!   truncated.
//! - The abstract namespace exists only on Linux: elsewhere asking for it is `Unsupported`.

use super::error::{Error, Result};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Size of `sockaddr_un::sun_path` (108 on Linux, 104 on macOS and the BSDs).
pub const SUN_PATH_LEN: usize =
    std::mem::size_of::<libc::sockaddr_un>() - std::mem::offset_of!(libc::sockaddr_un, sun_path);
/// The longest full server name (path or abstract name) in bytes, as Qt 6: on Linux one byte
/// for the abstract form's NUL and one for the terminator; elsewhere the terminator only.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub const MAX_NAME_LEN: usize = SUN_PATH_LEN - 2;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub const MAX_NAME_LEN: usize = SUN_PATH_LEN - 1;

/// Whether this system has the abstract socket namespace.
pub const HAS_ABSTRACT_NAMESPACE: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// A resolved address: the full server name and the socket address built from it.
#[derive(Clone)]
pub struct Address {
    /// Qt's `fullServerName()`: the path, or the abstract name without its leading NUL.
    pub full_name: Vec<u8>,
    pub abstract_ns: bool,
    addr: libc::sockaddr_un,
    len: libc::socklen_t,
}

impl Address {
    /// Resolves `name` as Qt does. `abstract_ns` selects the Linux abstract namespace.
    pub fn resolve(name: &[u8], abstract_ns: bool) -> Result<Address> {
        if name.is_empty() {
            return Err(Error::InvalidName("the name is empty"));
        }
        let full_name = if abstract_ns || name.starts_with(b"/") {
            name.to_vec()
        } else {
            let mut full = temp_path();
            full.push(b'/');
            full.extend_from_slice(name);
            full
        };
        Address::from_full_name(full_name, abstract_ns)
    }

    /// Builds the socket address for an already resolved full name.
    pub fn from_full_name(full_name: Vec<u8>, abstract_ns: bool) -> Result<Address> {
        if abstract_ns && !HAS_ABSTRACT_NAMESPACE {
            return Err(Error::Unsupported(
                "the abstract socket namespace exists only on Linux",
            ));
        }
        if full_name.len() > MAX_NAME_LEN {
            return Err(Error::NameTooLong {
                len: full_name.len(),
                max: MAX_NAME_LEN,
            });
        }
        if !abstract_ns && full_name.contains(&0) {
            return Err(Error::InvalidArgument("a path name contains a NUL byte"));
        }
        // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        let start = usize::from(abstract_ns);
        for (dst, src) in addr.sun_path[start..].iter_mut().zip(&full_name) {
            *dst = *src as _; // sun_path holds C chars
        }
        let len = if abstract_ns {
            // Exact length: the leading NUL plus the name, no terminator (Qt 6, Linux).
            offset + 1 + full_name.len()
        } else {
            std::mem::size_of::<libc::sockaddr_un>()
        };
        #[cfg(any(
            target_vendor = "apple",
            target_os = "freebsd",
            target_os = "netbsd",
            target_os = "openbsd",
            target_os = "dragonfly"
        ))]
        {
            addr.sun_len = len as u8;
        }
        Ok(Address {
            full_name,
            abstract_ns,
            addr,
            len: len as libc::socklen_t,
        })
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        (&self.addr as *const libc::sockaddr_un).cast()
    }

    /// Length of the socket address (not of the name).
    pub fn addr_len(&self) -> libc::socklen_t {
        self.len
    }

    /// The filesystem path, for a non-abstract address.
    pub fn path(&self) -> Option<&Path> {
        (!self.abstract_ns).then(|| Path::new(OsStr::from_bytes(&self.full_name)))
    }
}

/// Qt's `QDir::tempPath()` on Unix: `$TMPDIR` or `/tmp`, canonicalised; empty if it does not exist.
pub fn temp_path() -> Vec<u8> {
    let dir = std::env::var_os("TMPDIR")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/tmp".into());
    match std::fs::canonicalize(&dir) {
        Ok(p) => {
            let mut bytes = p.into_os_string().into_vec();
            // The root directory canonicalises to "/"; avoid "//name".
            if bytes == b"/" {
                bytes.clear();
            }
            bytes
        }
        Err(_) => Vec::new(),
    }
}

use std::os::unix::ffi::OsStringExt;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_live_in_temp_path() {
        let a = Address::resolve(b"foo", false).unwrap();
        let mut expected = temp_path();
        expected.extend_from_slice(b"/foo");
        assert_eq!(a.full_name, expected);
        assert!(a.full_name.starts_with(b"/"));
    }

    #[test]
    fn absolute_names_are_kept() {
        let a = Address::resolve(b"/run/x/./y", false).unwrap();
        assert_eq!(a.full_name, b"/run/x/./y");
        assert_eq!(
            a.addr_len() as usize,
            std::mem::size_of::<libc::sockaddr_un>()
        );
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn abstract_names_have_exact_length() {
        let a = Address::resolve(b"abc/def", true).unwrap();
        assert_eq!(a.full_name, b"abc/def");
        let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
        assert_eq!(a.addr_len() as usize, offset + 1 + 7);
        assert!(a.path().is_none());
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    #[test]
    fn abstract_names_are_unsupported() {
        assert!(matches!(
            Address::resolve(b"abc", true),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn limits_follow_qt6() {
        // 106 bytes on Linux, 103 where sun_path is 104 bytes.
        let linux = cfg!(any(target_os = "linux", target_os = "android"));
        assert_eq!(MAX_NAME_LEN, if linux { 106 } else { SUN_PATH_LEN - 1 });
        let ok = vec![b'a'; MAX_NAME_LEN - 1];
        let mut p = b"/".to_vec();
        p.extend_from_slice(&ok);
        assert_eq!(p.len(), MAX_NAME_LEN);
        assert!(Address::resolve(&p, false).is_ok());
        p.push(b'a');
        assert_eq!(
            Address::resolve(&p, false).err(),
            Some(Error::NameTooLong {
                len: MAX_NAME_LEN + 1,
                max: MAX_NAME_LEN
            })
        );
        if linux {
            assert!(Address::resolve(&[b'x'; 106], true).is_ok());
            assert!(Address::resolve(&[b'x'; 107], true).is_err());
        }
        assert!(matches!(
            Address::resolve(b"", false),
            Err(Error::InvalidName(_))
        ));
    }
}
