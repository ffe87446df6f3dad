//! A local server with `QLocalServer`'s behaviour.
//!
//! accept: readiness -> accept until would-block or the pending queue holds
//! `max_pending_connections` -> pending queue -> one NewConnection per accepted socket ->
//! `next_pending_connection` hands ownership out (and resumes accepting).
//!
//! Deliberate differences from Qt (each one a Qt bug users hit, see the README):
//! - listen never replaces an existing path, with or without access options (Qt renames over
//!   a live server's socket when an access option is set);
//! - close unlinks the socket file only if it is still the one this server created;
//! - running out of file descriptors in accept keeps the server listening and retries;
//! - the pending queue holds exactly `max_pending_connections` (Qt lets it reach max + 2);
//! - `remove_server` removes only a socket file (Qt's removes any file type).

use super::error::{Error, Result, Side, SocketError};
use super::event_loop::{EventLoop, Handler, Ready};
use super::name::{Address, MAX_NAME_LEN};
use super::socket::Socket;
use super::sys;
use mio::{Interest, Token};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

/// `QLocalServer::SocketOptions`: who may connect (file modes 0700 / 0070 / 0007 of the
/// socket file; all three: Qt's WorldAccessOption), or a Linux abstract address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerOptions {
    pub user_access: bool,
    pub group_access: bool,
    pub other_access: bool,
    pub abstract_namespace: bool,
    /// Not Qt's: connections from another user id (the peer's credentials) are closed at
    /// accept, before anything sees them.
    pub current_user_only: bool,
    /// Not Qt's: a name held by a socket file nobody accepts on (its server died) is
    /// reclaimed (removed, then listened on); never a live server's, never another file.
    pub reclaim_stale: bool,
}

impl ServerOptions {
    fn any_access(&self) -> bool {
        self.user_access || self.group_access || self.other_access
    }
}

pub const DEFAULT_MAX_PENDING: usize = 30;
pub const DEFAULT_BACKLOG: i32 = 50;
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Receives a server's NewConnection events on the loop's thread.
pub trait ServerObserver {
    fn new_connection(&self, server: &Rc<Server>);
    /// Qt's `incomingConnection`: with `set_incoming_hook(true)`, each accepted connection's
    /// descriptor comes here instead of the pending queue (the observer owns it; it may adopt
    /// it and `add_pending_connection`). Returning it gives it back to the default: a pending
    /// connection.
    fn incoming_connection(&self, _server: &Rc<Server>, fd: OwnedFd) -> Option<OwnedFd> {
        Some(fd)
    }
    fn as_any(&self) -> &dyn Any;
}

struct State {
    fd: Option<OwnedFd>,
    token: Option<Token>,
    server_name: Vec<u8>,
    full_server_name: Vec<u8>,
    abstract_ns: bool,
    /// The socket file this server created, and its identity, for a safe unlink on close.
    file: Option<(PathBuf, (u64, u64))>,
    max_pending: usize,
    backlog: i32,
    options: ServerOptions,
    pending: VecDeque<Rc<Socket>>,
    /// Accepted descriptors on their way to `incoming_connection` (with the hook on).
    incoming: VecDeque<OwnedFd>,
    incoming_hook: bool,
    accept_paused: bool,
    error: SocketError,
    error_string: Rc<str>,
}

pub struct Server {
    lp: Rc<EventLoop>,
    st: RefCell<State>,
    observer: Cell<Option<Rc<dyn ServerObserver>>>,
    destroyed: Cell<bool>,
    /// `notify` is handing descriptors to `incoming_connection`; connections queued meanwhile
    /// are announced by it, in the same turn (`announce_later` counts them).
    notifying: Cell<bool>,
    announce_later: Cell<usize>,
    me: Weak<Server>,
}

impl Server {
    pub fn new(lp: &Rc<EventLoop>) -> Rc<Server> {
        Rc::new_cyclic(|me| Server {
            lp: lp.clone(),
            st: RefCell::new(State {
                fd: None,
                token: None,
                server_name: Vec::new(),
                full_server_name: Vec::new(),
                abstract_ns: false,
                file: None,
                max_pending: DEFAULT_MAX_PENDING,
                backlog: DEFAULT_BACKLOG,
                options: ServerOptions::default(),
                pending: VecDeque::new(),
                incoming: VecDeque::new(),
                incoming_hook: false,
                accept_paused: false,
                error: SocketError::Unknown,
                error_string: "".into(),
            }),
            observer: Cell::new(None),
            destroyed: Cell::new(false),
            notifying: Cell::new(false),
            announce_later: Cell::new(0),
            me: me.clone(),
        })
    }

    pub fn event_loop(&self) -> &Rc<EventLoop> {
        &self.lp
    }

    pub fn set_observer(&self, o: Option<Rc<dyn ServerObserver>>) {
        self.observer.set(o);
    }

    pub fn observer(&self) -> Option<Rc<dyn ServerObserver>> {
        let o = self.observer.take();
        self.observer.set(o.clone());
        o
    }

    fn set_error(&self, st: &mut State, e: &Error, context: &str) -> Error {
        st.error = match e {
            // Qt's server reports name problems as HostNotFoundError (2).
            Error::InvalidName(_) | Error::NameTooLong { .. } => SocketError::ServerNotFound,
            other => other.socket_error(),
        };
        st.error_string = format!("{context}: {}", e.server_text()).into();
        e.clone()
    }

    pub fn is_listening(&self) -> bool {
        self.st.borrow().fd.is_some()
    }

    /// Listens on `name`. A name that is in use (a live server, a stale socket file, any file)
    /// fails with `AddressInUse` and nothing on disk is touched.
    pub fn listen(&self, name: &[u8]) -> Result<()> {
        let mut st = self.st.borrow_mut();
        if st.fd.is_some() {
            return Err(Error::WrongState("the server is already listening"));
        }
        let abstract_ns = st.options.abstract_namespace;
        let addr = Address::resolve(name, abstract_ns)
            .map_err(|e| self.set_error(&mut st, &e, "QLocalServer::listen"))?;
        // Linux drops the access options for abstract names (Qt's optionsForPlatform).
        let access = (!abstract_ns && st.options.any_access()).then_some(st.options);
        let backlog = st.backlog;
        let attempt = || -> Result<OwnedFd> {
            let fd = sys::stream_socket().map_err(|e| Error::from_io(&e, Side::Server))?;
            match access {
                None => bind_listen(&fd, &addr, backlog),
                Some(access) => bind_listen_with_mode(&fd, &addr, backlog, access),
            }?;
            Ok(fd)
        };
        let mut bound = attempt();
        if matches!(bound, Err(Error::AddressInUse)) && st.options.reclaim_stale {
            if let Some(path) = addr.path() {
                bound = reclaim_stale(path, &addr, attempt);
            }
        }
        let fd = bound.map_err(|e| self.set_error(&mut st, &e, "QLocalServer::listen"))?;
        let file = addr
            .path()
            .and_then(|p| sys::file_id(p).map(|id| (p.to_path_buf(), id)));
        let token = match self
            .lp
            .register(fd.as_raw_fd(), self.handler(), Interest::READABLE)
        {
            Ok(t) => t,
            Err(e) => {
                if let Some((p, _)) = &file {
                    let _ = std::fs::remove_file(p);
                }
                return Err(self.set_error(&mut st, &e, "QLocalServer::listen"));
            }
        };
        st.fd = Some(fd);
        st.token = Some(token);
        st.file = file;
        st.abstract_ns = abstract_ns;
        st.server_name = name.to_vec();
        st.full_server_name = addr.full_name;
        st.accept_paused = st.max_pending == 0;
        Ok(())
    }

    /// Qt's `listen(qintptr)`: adopts `fd`, a bound and listening `AF_UNIX` stream socket
    /// (socket activation, a descriptor passed by a parent). Names come from the socket's
    /// address (a path gives the full name and its last component as the server name; an
    /// abstract address sets the abstract-namespace option; an unnamed socket has empty names).
    /// On success the server owns `fd`; on failure the caller still does. The file of an
    /// adopted socket is never removed by `close`: this server did not create it.
    pub fn listen_descriptor(&self, fd: std::os::fd::RawFd) -> Result<()> {
        let mut st = self.st.borrow_mut();
        if st.fd.is_some() {
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
        let token = self.lp.register(fd, self.handler(), Interest::READABLE)?;
        // SAFETY: fd is an open socket (checked above) that the caller hands over on success.
        st.fd = Some(unsafe { sys::adopt(fd) });
        st.token = Some(token);
        st.file = None;
        st.abstract_ns = name.abstract_ns;
        if name.abstract_ns {
            st.options.abstract_namespace = true;
        }
        let base = if name.abstract_ns {
            &name.bytes[..]
        } else {
            name.bytes.rsplit(|&b| b == b'/').next().unwrap_or_default()
        };
        st.server_name = base.to_vec();
        st.full_server_name = name.bytes;
        st.accept_paused = st.max_pending == 0;
        Ok(())
    }

    /// Stops listening: pending (untaken) connections are closed, the socket file is removed if
    /// it is still ours, names and error are reset. Connections already taken are unaffected.
    pub fn close(&self) {
        let pending = {
            let mut st = self.st.borrow_mut();
            if let Some(fd) = st.fd.take() {
                if let Some(t) = st.token.take() {
                    self.lp.deregister(fd.as_raw_fd(), t);
                }
            }
            if let Some((path, id)) = st.file.take() {
                if sys::file_id(&path) == Some(id) {
                    let _ = std::fs::remove_file(&path);
                }
            }
            st.server_name.clear();
            st.full_server_name.clear();
            st.error = SocketError::Unknown;
            st.error_string = "".into();
            st.accept_paused = false;
            std::mem::take(&mut st.pending)
        };
        for s in pending {
            s.destroy();
        }
    }

    pub fn destroy(&self) {
        self.destroyed.set(true);
        self.close();
        drop(self.observer.take());
    }

    /// Accepts while the queue has room (or one, when `force`). Returns how many were accepted.
    fn accept_some(&self, force: bool) -> Result<usize> {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let Some(fd) = &st.fd else { return Ok(0) };
        let mut n = 0;
        loop {
            if st.pending.len() >= st.max_pending && !(force && n == 0) {
                st.accept_paused = true;
                return Ok(n);
            }
            match sys::accept(fd) {
                Ok(cfd)
                    if st.options.current_user_only
                        && !sys::peer_credentials(cfd.as_raw_fd())
                            .is_ok_and(|c| c.uid == sys::effective_uid()) =>
                {
                    // Another user's connection: closed, never seen.
                    drop(cfd);
                }
                Ok(cfd) if st.incoming_hook => {
                    st.incoming.push_back(cfd);
                    n += 1;
                }
                Ok(cfd) => {
                    let s = Socket::from_accepted(
                        &self.lp,
                        cfd,
                        &st.server_name,
                        &st.full_server_name,
                        st.abstract_ns,
                    );
                    st.pending.push_back(s);
                    n += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(n),
                Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNABORTED | libc::EPROTO)) => {}
                Err(e) => {
                    let err = Error::from_io(&e, Side::Server);
                    self.set_error(st, &err, "QLocalServer");
                    if matches!(err, Error::ResourceExhausted(_)) {
                        // Keep listening; try again shortly (the connection waits in the backlog).
                        st.accept_paused = true;
                        self.lp
                            .add_timer(Instant::now() + ACCEPT_RETRY, 0, self.handler());
                    }
                    return if n > 0 { Ok(n) } else { Err(err) };
                }
            }
        }
    }

    /// What was just accepted reaches the observer: descriptors to `incoming_connection` first
    /// (the hook), then one NewConnection per connection queued by the accept.
    fn notify(&self, n: usize) {
        let me = self.me.upgrade().expect("a server in use is alive");
        let mut queued = n;
        self.notifying.set(true);
        loop {
            let Some(fd) = self.st.borrow_mut().incoming.pop_front() else {
                break;
            };
            queued = queued.saturating_sub(1);
            if self.destroyed.get() {
                break;
            }
            let back = match self.observer() {
                Some(o) => o.incoming_connection(&me, fd),
                None => Some(fd),
            };
            if let Some(fd) = back {
                self.queue_accepted(fd);
                queued += 1;
            }
        }
        self.notifying.set(false);
        queued += self.announce_later.take();
        self.new_connections(queued);
    }

    /// One more pending connection to announce: with the ones `notify` is announcing, or from
    /// the loop's next turn.
    fn announce(&self) {
        if self.notifying.get() {
            self.announce_later.set(self.announce_later.get() + 1);
            return;
        }
        let me = self.me.clone();
        self.lp.call_later(Box::new(move || {
            if let Some(s) = me.upgrade() {
                s.new_connections(1);
            }
        }));
    }

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

    /// An accepted descriptor as a pending connection (Qt's default `incomingConnection`).
    fn queue_accepted(&self, fd: OwnedFd) {
        let mut st = self.st.borrow_mut();
        let s = Socket::from_accepted(
            &self.lp,
            fd,
            &st.server_name,
            &st.full_server_name,
            st.abstract_ns,
        );
        st.pending.push_back(s);
    }

    /// Qt's `incomingConnection` hook on or off (see `ServerObserver::incoming_connection`).
    pub fn set_incoming_hook(&self, on: bool) {
        self.st.borrow_mut().incoming_hook = on;
    }

    /// Qt's `addPendingConnection`: `socket` (on this server's loop) joins the pending queue;
    /// its NewConnection follows from the loop.
    pub fn add_pending_connection(&self, socket: Rc<Socket>) -> Result<()> {
        if !Rc::ptr_eq(socket.event_loop(), &self.lp) {
            return Err(Error::InvalidArgument("the socket belongs to another loop"));
        }
        self.st.borrow_mut().pending.push_back(socket);
        self.announce();
        Ok(())
    }

    fn new_connections(&self, n: usize) {
        let me = self.me.upgrade().expect("a server in use is alive");
        for _ in 0..n {
            if self.destroyed.get() {
                return;
            }
            if let Some(o) = self.observer() {
                o.new_connection(&me);
            }
        }
    }

    fn handler(&self) -> std::rc::Weak<dyn Handler> {
        let w: Weak<Server> = self.me.clone();
        w
    }

    /// Readiness of the listening fd, and the accept retry timer.
    fn on_ready(&self) {
        if self.destroyed.get() {
            return;
        }
        self.st.borrow_mut().accept_paused = false;
        let n = self.accept_some(false).unwrap_or(0);
        self.notify(n);
    }

    pub fn has_pending_connections(&self) -> bool {
        !self.st.borrow().pending.is_empty()
    }

    /// Hands the oldest pending connection to the caller (who then owns it).
    pub fn next_pending_connection(&self) -> Option<Rc<Socket>> {
        let (s, resume) = {
            let mut st = self.st.borrow_mut();
            let s = st.pending.pop_front();
            let resume = s.is_some()
                && st.accept_paused
                && st.pending.len() < st.max_pending
                && st.fd.is_some();
            if resume {
                st.accept_paused = false;
                if let (Some(fd), Some(t)) = (&st.fd, st.token) {
                    // Re-arm the edge-triggered registration: connections waiting in the
                    // backlog are reported again.
                    let _ = self.lp.reregister(fd.as_raw_fd(), t, Interest::READABLE);
                }
            }
            (s, resume)
        };
        let _ = resume;
        if let Some(s) = &s {
            s.activate();
        }
        s
    }

    /// Waits for a connection: `Ok` when one is pending (at once if one already was),
    /// `Timeout` when time ran out, `WrongState` when not listening.
    pub fn wait_for_new_connection(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let fd = {
                let st = self.st.borrow();
                if !st.pending.is_empty() {
                    return Ok(());
                }
                match &st.fd {
                    Some(fd) => fd.as_raw_fd(),
                    None => return Err(Error::WrongState("the server is not listening")),
                }
            };
            let n = self.accept_some(true)?;
            if n > 0 {
                self.notify(n);
                // With the incoming hook a connection is pending only once it was added.
                if !self.st.borrow().pending.is_empty() {
                    return Ok(());
                }
                continue;
            }
            match sys::poll_one(fd, true, false, deadline) {
                Ok(0) => return Err(Error::Timeout),
                Ok(_) => {}
                Err(e) => return Err(Error::from_io(&e, Side::Server)),
            }
        }
    }

    pub fn set_max_pending_connections(&self, n: usize) {
        self.st.borrow_mut().max_pending = n;
    }

    pub fn max_pending_connections(&self) -> usize {
        self.st.borrow().max_pending
    }

    pub fn set_listen_backlog_size(&self, n: i32) {
        self.st.borrow_mut().backlog = n;
    }

    pub fn listen_backlog_size(&self) -> i32 {
        self.st.borrow().backlog
    }

    pub fn set_options(&self, options: ServerOptions) {
        self.st.borrow_mut().options = options;
    }

    pub fn options(&self) -> ServerOptions {
        self.st.borrow().options
    }

    pub fn error(&self) -> SocketError {
        self.st.borrow().error
    }

    /// Qt's `errorString()`: empty when there is no error.
    pub fn error_string(&self) -> Rc<str> {
        self.st.borrow().error_string.clone()
    }

    /// The name given to listen (an adopted descriptor: the last component of its path).
    pub fn server_name(&self) -> Vec<u8> {
        self.st.borrow().server_name.clone()
    }

    /// The path or abstract name listened on.
    pub fn full_server_name(&self) -> Vec<u8> {
        self.st.borrow().full_server_name.clone()
    }

    pub fn descriptor(&self) -> i32 {
        self.st.borrow().fd.as_ref().map_or(-1, |f| f.as_raw_fd())
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

impl Handler for Server {
    fn ready(&self, _ready: Ready) {
        self.on_ready();
    }

    /// The accept retry after running out of descriptors.
    fn timer(&self, _tag: u64) {
        self.on_ready();
    }
}
