//! A local server with `QLocalServer`'s behaviour.
//!
//! accept: readiness -> accept until would-block or the pending queue holds
//! `max_pending_connections` -> pending queue -> one NewConnection per accepted socket ->
//! `next_pending_connection` hands ownership out (and resumes accepting).
//!
//! The listening itself is the platform's (`unix.rs`: one `AF_UNIX` socket and its file;
//! `windows.rs`: a pool of named-pipe instances), behind one `Listener` type; the pending
//! queue, the events and the waits are shared.
//!
//! Deliberate differences from Qt on Unix (each one a Qt bug users hit, see the README):
//! - listen never replaces an existing path, with or without access options (Qt renames over
//!   a live server's socket when an access option is set);
//! - close unlinks the socket file only if it is still the one this server created;
//! - running out of file descriptors in accept keeps the server listening and retries;
//! - the pending queue holds exactly `max_pending_connections` (Qt lets it reach max + 2);
//! - `remove_server` removes only a socket file (Qt's removes any file type).

#[cfg(unix)]
mod unix;
#[cfg(windows)]
mod windows;
#[cfg(unix)]
use unix::Listener;
#[cfg(windows)]
use windows::Listener;

use super::error::{Error, Result, Side, SocketError};
use super::event_loop::{EventLoop, Handler, Ready, SharedName};
use super::name::Address;
use super::socket::Socket;
use super::sys;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

/// `QLocalServer::SocketOptions`: who may connect (Unix: file modes 0700 / 0070 / 0007 of the
/// socket file; Windows: the pipe's DACL; all three: Qt's WorldAccessOption), or a Linux
/// abstract address (no meaning on Windows, as in Qt: kept and reported, ignored).
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
    /// Qt's `incomingConnection`: with `set_incoming_hook(true)`, each accepted connection
    /// comes here instead of the pending queue (the observer owns it; it may adopt its
    /// descriptor and `add_pending_connection`). Returning it gives it back to the default: a
    /// pending connection.
    fn incoming_connection(&self, _server: &Rc<Server>, s: sys::Stream) -> Option<sys::Stream> {
        Some(s)
    }
    fn as_any(&self) -> &dyn Any;
}

struct State {
    listener: Option<Listener>,
    /// Shared with every socket it accepts (no copy per connection).
    server_name: SharedName,
    full_server_name: SharedName,
    abstract_ns: bool,
    max_pending: usize,
    backlog: i32,
    options: ServerOptions,
    pending: VecDeque<Rc<Socket>>,
    /// Accepted connections on their way to `incoming_connection` (with the hook on).
    incoming: VecDeque<sys::Stream>,
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
    /// `notify` is handing connections to `incoming_connection`; connections queued meanwhile
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
                listener: None,
                server_name: SharedName::from(&[][..]),
                full_server_name: SharedName::from(&[][..]),
                abstract_ns: false,
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
        self.st.borrow().listener.is_some()
    }

    /// Listens on `name`. A name that is in use (a live server, a stale socket file, any file)
    /// fails with `AddressInUse` and nothing on disk is touched.
    pub fn listen(&self, name: &[u8]) -> Result<()> {
        let mut st = self.st.borrow_mut();
        if st.listener.is_some() {
            return Err(Error::WrongState("the server is already listening"));
        }
        let abstract_ns = st.options.abstract_namespace;
        let addr = Address::resolve(name, abstract_ns)
            .map_err(|e| self.set_error(&mut st, &e, "QLocalServer::listen"))?;
        let listener = Listener::open(&self.lp, &addr, st.backlog, st.options, self.handler())
            .map_err(|e| self.set_error(&mut st, &e, "QLocalServer::listen"))?;
        st.listener = Some(listener);
        st.abstract_ns = abstract_ns;
        st.server_name = name.into();
        st.full_server_name = addr.full_name.into();
        st.accept_paused = st.max_pending == 0;
        Ok(())
    }

    /// Stops listening: pending (untaken) connections are closed, the socket file is removed if
    /// it is still ours, names and error are reset. Connections already taken are unaffected.
    pub fn close(&self) {
        let pending = {
            let mut st = self.st.borrow_mut();
            if let Some(l) = st.listener.take() {
                l.close(&self.lp);
            }
            st.server_name = SharedName::from(&[][..]);
            st.full_server_name = SharedName::from(&[][..]);
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
        // Connections on their way to `incoming_connection` when it destroyed the server.
        let incoming = std::mem::take(&mut self.st.borrow_mut().incoming);
        for s in incoming {
            // Windows: the loop keeps the pipe until its handle has closed (`retire_windows.rs`).
            #[cfg(windows)]
            {
                sys::abandon(&s);
                self.lp.retire(s);
            }
            #[cfg(unix)]
            drop(s);
        }
    }

    /// Accepts while the queue has room (or one, when `force`). Returns how many were accepted.
    fn accept_some(&self, force: bool) -> Result<usize> {
        let mut st = self.st.borrow_mut();
        let st = &mut *st;
        let Some(listener) = st.listener.as_mut() else {
            return Ok(0);
        };
        let mut n = 0;
        loop {
            if st.pending.len() >= st.max_pending && !(force && n == 0) {
                st.accept_paused = true;
                return Ok(n);
            }
            match listener.accept(&self.lp) {
                Ok(cfd) if st.options.current_user_only && !sys::same_user(&cfd) => {
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

    /// What was just accepted reaches the observer: connections to `incoming_connection` first
    /// (the hook), then one NewConnection per connection queued.
    fn notify(&self, n: usize) {
        let me = self.me.upgrade().expect("a server in use is alive");
        let mut queued = n;
        self.notifying.set(true);
        loop {
            let Some(s) = self.st.borrow_mut().incoming.pop_front() else {
                break;
            };
            queued = queued.saturating_sub(1);
            if self.destroyed.get() {
                break;
            }
            let back = match self.observer() {
                Some(o) => o.incoming_connection(&me, s),
                None => Some(s),
            };
            if let Some(s) = back {
                self.queue_accepted(s);
                queued += 1;
            }
        }
        self.notifying.set(false);
        queued += self.announce_later.take();
        self.new_connections(queued);
    }

    /// An accepted connection as a pending one (Qt's default `incomingConnection`).
    pub(super) fn queue_accepted(&self, s: sys::Stream) {
        let mut st = self.st.borrow_mut();
        let sock = Socket::from_accepted(
            &self.lp,
            s,
            &st.server_name,
            &st.full_server_name,
            st.abstract_ns,
        );
        st.pending.push_back(sock);
    }

    /// One more pending connection to announce: with the ones `notify` is announcing, or from
    /// the loop's next turn.
    pub(super) fn announce(&self) {
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
        let (s, scan) = {
            let mut st = self.st.borrow_mut();
            let s = st.pending.pop_front();
            let resume = s.is_some()
                && st.accept_paused
                && st.pending.len() < st.max_pending
                && st.listener.is_some();
            let mut scan = false;
            if resume {
                st.accept_paused = false;
                if let Some(l) = st.listener.as_mut() {
                    scan = l.rearm(&self.lp);
                }
            }
            (s, scan)
        };
        if scan {
            // Connections that arrived meanwhile were reported already: look on the next turn.
            if let Some(me) = self.me.upgrade() {
                self.lp.defer(me);
            }
        }
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
            let key = {
                let st = self.st.borrow();
                if !st.pending.is_empty() {
                    return Ok(());
                }
                match &st.listener {
                    Some(l) => l.wait_key(),
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
            match self.lp.wait_one(key, true, false, deadline) {
                Ok(None) => return Err(Error::Timeout),
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
        self.st.borrow().server_name.to_vec()
    }

    /// The path or abstract name listened on.
    pub fn full_server_name(&self) -> Vec<u8> {
        self.st.borrow().full_server_name.to_vec()
    }

    /// The listening descriptor (Windows: the HANDLE of the first waiting pipe instance), or -1.
    pub fn descriptor(&self) -> isize {
        self.st
            .borrow()
            .listener
            .as_ref()
            .map_or(-1, Listener::descriptor)
    }
}

impl Handler for Server {
    fn ready(&self, _ready: Ready) {
        self.on_ready();
    }

    /// The accept retry after running out of descriptors.
    fn timer(&self, _tag: u64) {
        self.on_ready();
    }

    /// Accepting resumed (Windows: connections that came meanwhile bring no new event).
    fn deferred(&self) {
        self.on_ready();
    }
}
