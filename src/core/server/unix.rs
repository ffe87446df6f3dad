//! The Unix listener: one `AF_UNIX` stream socket, bound and listening, and the socket file
//! it created (removed on close only while it is still that file).

use super::{Server, ServerOptions};
use crate::core::error::{Error, Result, Side};
use crate::core::event_loop::{EventLoop, Handler};
use crate::core::name::{Address, MAX_NAME_LEN};
use crate::core::sys;
use mio::{Interest, Token};
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Weak;
use std::time::{Duration, Instant};

pub(super) struct Listener {
    fd: OwnedFd,
    token: Token,
    /// The socket file this server created, and its identity, for a safe unlink on close.
    file: Option<(PathBuf, (u64, u64))>,
}

impl Listener {
    /// Binds and listens on `addr`. A name that is in use (a live server, a stale socket file,
    /// any file) fails with `AddressInUse` and nothing on disk is touched.
    pub(super) fn open(
        lp: &EventLoop,
        addr: &Address,
        backlog: i32,
        options: ServerOptions,
        handler: Weak<dyn Handler>,
    ) -> Result<Listener> {
        // Linux drops the access options for abstract names (Qt's optionsForPlatform).
        let access = (!addr.abstract_ns && options.any_access()).then_some(options);
        let attempt = || -> Result<OwnedFd> {
            let fd = sys::stream_socket().map_err(|e| Error::from_io(&e, Side::Server))?;
            match access {
                None => bind_listen(&fd, addr, backlog),
                Some(access) => bind_listen_with_mode(&fd, addr, backlog, access),
            }?;
            Ok(fd)
        };
        let mut bound = attempt();
        if matches!(bound, Err(Error::AddressInUse)) && options.reclaim_stale {
            if let Some(path) = addr.path() {
                bound = reclaim_stale(path, addr, attempt);
            }
        }
        let mut fd = bound?;
        let file = addr
            .path()
            .and_then(|p| sys::file_id(p).map(|id| (p.to_path_buf(), id)));
        match lp.register(&mut fd, handler, Interest::READABLE) {
            Ok(token) => Ok(Listener { fd, token, file }),
            Err(e) => {
                if let Some((p, _)) = &file {
                    let _ = std::fs::remove_file(p);
                }
                Err(e)
            }
        }
    }

    /// One connection, or `WouldBlock`. A connection aborted before it was accepted is
    /// skipped.
    pub(super) fn accept(&mut self, _lp: &EventLoop) -> io::Result<sys::Stream> {
        loop {
            match sys::accept(&self.fd) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED | libc::EPROTO)) => {}
                r => return r,
            }
        }
    }

    /// Accepting resumes: re-arm the edge-triggered registration, so connections waiting in
    /// the backlog are reported again. Returns false: no scan is needed.
    pub(super) fn rearm(&mut self, lp: &EventLoop) -> bool {
        let _ = lp.reregister(&mut self.fd, self.token, Interest::READABLE);
        false
    }

    pub(super) fn wait_key(&self) -> sys::WaitKey {
        sys::wait_key(&self.fd, self.token)
    }

    pub(super) fn descriptor(&self) -> isize {
        sys::raw(&self.fd)
    }

    /// Stops listening; removes the socket file if it is still the one this server created.
    pub(super) fn close(mut self, lp: &EventLoop) {
        lp.deregister(&mut self.fd, self.token);
        if let Some((path, id)) = self.file.take() {
            if sys::file_id(&path) == Some(id) {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

impl Server {
    /// Qt's default `incomingConnection` for a descriptor an incoming hook was given: a
    /// pending connection as any accepted one. `fd` must be a stream socket; on success the
    /// server owns it, on failure the caller still does.
    pub fn add_pending_descriptor(&self, fd: std::os::fd::RawFd) -> Result<()> {
        let invalid = |e: io::Error| Error::from_descriptor_io(&e, Side::Server);
        if !sys::is_stream(fd).map_err(invalid)? {
            return Err(Error::InvalidArgument(
                "the descriptor is not a stream socket",
            ));
        }
        sys::make_nonblocking_cloexec(fd).map_err(|e| Error::from_io(&e, Side::Server))?;
        // SAFETY: an open socket (checked above), handed over on success.
        self.queue_accepted(unsafe { sys::adopt(fd) });
        self.announce();
        Ok(())
    }

    /// Qt's `listen(qintptr)`: adopts `fd`, a bound and listening `AF_UNIX` stream socket
    /// (socket activation, a descriptor passed by a parent). Names come from the socket's
    /// address (a path gives the full name and its last component as the server name; an
    /// abstract address sets the abstract-namespace option; an unnamed socket has empty names).
    /// On success the server owns `fd`; on failure the caller still does. The file of an
    /// adopted socket is never removed by `close`: this server did not create it.
    pub fn listen_descriptor(&self, fd: RawFd) -> Result<()> {
        let mut st = self.st.borrow_mut();
        if st.listener.is_some() {
            return Err(Error::WrongState("the server is already listening"));
        }
        let not_socket = |e: io::Error| Error::from_descriptor_io(&e, Side::Server);
        if !sys::is_listening_stream(fd).map_err(not_socket)? {
            return Err(Error::InvalidArgument(
                "the descriptor is not a listening stream socket",
            ));
        }
        let name = sys::local_name(fd).map_err(not_socket)?;
        sys::make_nonblocking_cloexec(fd).map_err(|e| Error::from_io(&e, Side::Server))?;
        // SAFETY: fd is an open socket (checked above) that the caller hands over on success.
        let (owned, token) = unsafe {
            self.lp
                .register_adopted(fd, self.handler(), Interest::READABLE)?
        };
        st.listener = Some(Listener {
            fd: owned,
            token,
            file: None,
        });
        st.abstract_ns = name.abstract_ns;
        if name.abstract_ns {
            st.options.abstract_namespace = true;
        }
        let base = if name.abstract_ns {
            &name.bytes[..]
        } else {
            name.bytes.rsplit(|&b| b == b'/').next().unwrap_or_default()
        };
        st.server_name = base.into();
        st.full_server_name = name.bytes.into();
        st.accept_paused = st.max_pending == 0;
        Ok(())
    }

    /// Qt's static `removeServer`: removes the socket file for `name`; `Ok` when it is gone or
    /// was never there. Anything else at the name (a regular file, a directory, a symlink, even
    /// one to a socket, a FIFO) is left alone with `NotASocket` (Qt deletes any file type).
    /// The name is always a path, as in Qt: an abstract name has no file, so there is nothing
    /// to remove for it.
    pub fn remove_server(name: &[u8]) -> Result<()> {
        use std::os::unix::fs::FileTypeExt;
        let addr = Address::resolve(name, false)?;
        let path = addr.path().expect("not abstract");
        let gone_is_ok = |e: io::Error| match e.kind() {
            io::ErrorKind::NotFound => Ok(()),
            _ => Err(Error::from_io(&e, Side::Server)),
        };
        // lstat, so a symlink is seen as itself and never followed.
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_socket() => {}
            Ok(_) => return Err(Error::NotASocket),
            Err(e) => return gone_is_ok(e),
        }
        // Check, then unlink: a race (TOCTOU). If someone replaces the socket with another
        // file between the two calls, that file is removed. Accepted: Linux has no unlink that
        // checks the type, the caller owns the name (removeServer is for a name you own), and
        // the check exists to stop mistakes (a wrong name), not an adversary in the directory.
        std::fs::remove_file(path).or_else(gone_is_ok)
    }
}

/// How long `listen` with `reclaim_stale` waits for another reclaimer in the same directory.
const RECLAIM_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// The name is in use: if it is a socket file nobody accepts on, remove it and `attempt` the
/// bind again. Reclaimers of one directory take turns (a `flock` on the directory), so of two
/// servers reclaiming one name at once exactly one listens and the other finds it live
/// (`AddressInUse`). The file removed is the one probed (same device and inode, checked again
/// just before the unlink). Not a socket, or a live one: `AddressInUse`, nothing touched.
fn reclaim_stale(
    path: &Path,
    addr: &Address,
    attempt: impl Fn() -> Result<OwnedFd>,
) -> Result<OwnedFd> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = path.parent().unwrap_or(Path::new("/"));
    let _lock = sys::DirLock::acquire(dir, Instant::now() + RECLAIM_LOCK_TIMEOUT)
        .map_err(|e| Error::from_io(&e, Side::Server))?;
    let id = |m: &std::fs::Metadata| (m.dev(), m.ino());
    let before = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => id(&m),
        Ok(_) => return Err(Error::AddressInUse),
        // Gone meanwhile: the name is free.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return attempt(),
        Err(e) => return Err(Error::from_io(&e, Side::Server)),
    };
    match sys::probe(addr).map_err(|e| Error::from_io(&e, Side::Server))? {
        sys::Probe::Live => return Err(Error::AddressInUse),
        sys::Probe::Gone => return attempt(),
        sys::Probe::Refused => {}
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if id(&m) == before => {
            std::fs::remove_file(path).map_err(|e| Error::from_io(&e, Side::Server))?;
        }
        Ok(_) => return Err(Error::AddressInUse),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::from_io(&e, Side::Server)),
    }
    attempt()
}

fn bind_listen(fd: &OwnedFd, addr: &Address, backlog: i32) -> Result<()> {
    sys::bind(fd, addr).map_err(|e| Error::from_io(&e, Side::Server))?;
    if let Err(e) = sys::listen(fd, backlog) {
        if let Some(p) = addr.path() {
            let _ = std::fs::remove_file(p);
        }
        return Err(Error::from_io(&e, Side::Server));
    }
    Ok(())
}

/// Binds with exact permissions and no window where the socket is reachable with others: bind
/// in a private temporary directory beside the target, chmod, then hard-link into place.
/// `link` fails when the target exists, so a live server is never replaced.
fn bind_listen_with_mode(
    fd: &OwnedFd,
    addr: &Address,
    backlog: i32,
    access: ServerOptions,
) -> Result<()> {
    let target = addr.path().expect("access options apply to paths");
    let parent = target.parent().unwrap_or(Path::new("/"));
    let dir = private_dir(parent)?;
    let tmp = dir.join("s");
    let result = (|| {
        let tmp_addr = Address::from_full_name(tmp.as_os_str().as_bytes().to_vec(), false)
            .map_err(|_| Error::NameTooLong {
                len: tmp.as_os_str().len(),
                max: MAX_NAME_LEN,
            })?;
        bind_listen(fd, &tmp_addr, backlog)?;
        let mut mode = 0;
        if access.user_access {
            mode |= 0o700;
        }
        if access.group_access {
            mode |= 0o070;
        }
        if access.other_access {
            mode |= 0o007;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::from_io(&e, Side::Server))?;
        std::fs::hard_link(&tmp, target).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::AddressInUse
            } else {
                Error::from_io(&e, Side::Server)
            }
        })
    })();
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_dir(&dir);
    result
}

fn private_dir(parent: &Path) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    for _ in 0..100 {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = parent.join(format!(
            ".ql{:x}{:x}{:x}",
            std::process::id(),
            n,
            nanos & 0xfff
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::from_io(&e, Side::Server)),
        }
    }
    Err(Error::Os(libc::EEXIST))
}
