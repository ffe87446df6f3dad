//! Connecting: Qt's name rules, the non-blocking connect (decided at once on Linux), retries
//! past a full listen backlog, adopting a connected descriptor, and handing out an accepted
//! socket.

use super::{Socket, SocketEvent};
use crate::core::error::{Error, Result, Side, SocketState};
use crate::core::event_loop::SharedName;
use crate::core::name::Address;
use crate::core::sys;
use mio::Interest;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECT_RETRY_FIRST: Duration = Duration::from_millis(1);
const CONNECT_RETRY_MAX: Duration = Duration::from_millis(64);

pub(super) struct Attempt {
    addr: Address,
    deadline: Instant,
    backoff: Duration,
    /// The tag of the retry timer armed last: a timer of an earlier attempt never matches.
    generation: u64,
}

/// Retry-timer tags, unique in the process (so no socket keeps a counter of its own).
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Qt's function name in the texts of connect errors.
const CONNECT: &str = "QLocalSocket::connectToServer";

impl Socket {
    /// Starts connecting to `name` (or the name set before). The outcome is in `state()` /
    /// `error()` as soon as the kernel decided (on Linux, before this returns), and the
    /// callbacks follow from the loop or `wait_for_connected`, never from inside this call.
    /// A name that cannot be resolved fails here and still gets Qt's callbacks (CONNECTING,
    /// error, UNCONNECTED).
    pub fn connect_to_server(&self, name: Option<&[u8]>) -> Result<()> {
        self.connect_to_server_mode(name, super::OpenMode::READ_WRITE)
    }

    /// Qt's `connectToServer(name, openMode)`: as `connect_to_server`, the connection opened
    /// for reading, writing or both.
    pub fn connect_to_server_mode(&self, name: Option<&[u8]>, mode: super::OpenMode) -> Result<()> {
        self.touch();
        if !mode.read && !mode.write {
            return Err(Error::InvalidArgument(
                "open the socket for reading, writing or both",
            ));
        }
        let (name, abstract_ns) = {
            let io = self.io.borrow();
            if io.now.state != SocketState::Unconnected {
                return Err(Error::WrongState(
                    "the socket is already connecting or connected",
                ));
            }
            let name = name.map_or_else(|| io.server_name().to_vec(), <[u8]>::to_vec);
            (name, io.abstract_ns)
        };
        {
            let mut io = self.io.borrow_mut();
            io.server_name = (!name.is_empty()).then(|| self.lp.share_name(&name));
            io.full_server_name = None;
            io.last_error = None;
            io.mode = mode;
            io.now.state = SocketState::Connecting;
        }
        self.push_call(SocketEvent::StateChanged(SocketState::Connecting));
        let addr = match Address::resolve(&name, abstract_ns) {
            Ok(a) => a,
            Err(e) => {
                self.connect_failed(e.clone(), CONNECT);
                return Err(e);
            }
        };
        self.io.borrow_mut().full_server_name = Some(self.lp.share_name(&addr.full_name));
        match sys::connect_stream() {
            Ok(fd) => {
                let mut io = self.io.borrow_mut();
                io.fd = fd;
                io.connect = Some(Box::new(Attempt {
                    addr,
                    deadline: Instant::now() + io.cold().connect_timeout,
                    backoff: CONNECT_RETRY_FIRST,
                    generation: 0,
                }));
                drop(io);
                self.try_connect();
            }
            Err(e) => self.connect_failed(Error::from_io(&e, Side::Client), CONNECT),
        }
        Ok(())
    }

    /// One connect attempt. On a full backlog (EAGAIN; Windows: every pipe instance busy) it
    /// arms a retry timer with exponential backoff: Linux offers no readiness event for "the
    /// backlog has room" (an unconnected AF_UNIX socket polls as hung up at once), so waiting
    /// for one would spin; Windows offers only the blocking `WaitNamedPipe`.
    fn try_connect(&self) {
        let mut guard = self.io.borrow_mut();
        let io = &mut *guard;
        let Some(attempt) = &io.connect else {
            return;
        };
        if io.fd.is_none() && cfg!(unix) {
            return;
        }
        match sys::connect_to(&mut io.fd, &attempt.addr) {
            Ok(()) => {
                io.connect = None;
                let fd = io.fd.as_mut().expect("a connected stream");
                match self.lp.register(fd, self.handler(), Interest::READABLE) {
                    Ok(t) => {
                        io.token.set(t);
                        io.now.state = SocketState::Connected;
                        io.open = true;
                        drop(guard);
                        self.push_call(SocketEvent::StateChanged(SocketState::Connected));
                        self.push_call(SocketEvent::Connected);
                    }
                    Err(e) => {
                        drop(guard);
                        self.connect_failed(e, CONNECT);
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let now = Instant::now();
                let attempt = io.connect.as_mut().expect("checked above");
                if now >= attempt.deadline {
                    drop(guard);
                    self.connect_failed(Error::Timeout, CONNECT);
                    return;
                }
                let at = (now + attempt.backoff).min(attempt.deadline);
                attempt.backoff = (attempt.backoff * 2).min(CONNECT_RETRY_MAX);
                let generation = NEXT_GENERATION.fetch_add(1, Ordering::Relaxed);
                attempt.generation = generation;
                drop(guard);
                self.lp.add_timer(at, generation, self.handler());
            }
            Err(e) => {
                drop(guard);
                self.connect_failed(Error::from_io(&e, Side::Client), CONNECT);
            }
        }
    }

    pub(super) fn on_connect_timer(&self, generation: u64) {
        let current = {
            let io = self.io.borrow();
            io.connect.as_ref().map(|a| a.generation) == Some(generation)
                && io.now.state == SocketState::Connecting
        };
        if current {
            self.try_connect();
            self.turn();
        }
    }

    /// Waits until connected. `Ok` when connected; the connect error when it failed; `Timeout`
    /// when `timeout` passed first (the attempt goes on, as in Qt).
    pub fn wait_for_connected(&self, timeout: Option<Duration>) -> Result<()> {
        self.touch();
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let (state, last, backoff) = {
                let io = self.io.borrow();
                let backoff = io.connect.as_ref().map(|a| a.backoff);
                (io.now.state, io.last_error.as_deref().cloned(), backoff)
            };
            match state {
                SocketState::Connected => {
                    self.turn();
                    return Ok(());
                }
                SocketState::Connecting => {}
                _ => {
                    self.turn();
                    return Err(last.unwrap_or(Error::WrongState("the socket is not connecting")));
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.turn();
                return Err(Error::Timeout);
            }
            sys::pause(backoff.unwrap_or(CONNECT_RETRY_FIRST), deadline);
            self.try_connect();
        }
    }

    /// Qt's `setSocketDescriptor`: adopts `fd`, a connected `AF_UNIX` stream socket (one end
    /// of a `socketpair`, a descriptor passed by another process or accepted elsewhere), as a
    /// connected socket. Only while unconnected. Names come from the peer's address (or this
    /// end's, when the peer has none). On success the socket owns `fd`; on failure the caller
    /// still does. A state-changed callback follows from the loop.
    pub fn set_socket_descriptor(&self, fd: sys::RawDescriptor) -> Result<()> {
        self.set_socket_descriptor_mode(fd, super::OpenMode::READ_WRITE)
    }

    /// `set_socket_descriptor` with Qt's open mode (as `connect_to_server_mode`).
    ///
    /// Windows: `fd` is a connected named-pipe HANDLE, either end, opened for overlapped I/O
    /// and bound to no completion port yet (`sys::check_adoptable`); names stay empty (a
    /// pipe handle does not say its server's name as Qt reports it).
    pub fn set_socket_descriptor_mode(
        &self,
        fd: sys::RawDescriptor,
        mode: super::OpenMode,
    ) -> Result<()> {
        self.touch();
        if !mode.read && !mode.write {
            return Err(Error::InvalidArgument(
                "the open mode must allow reading, writing or both",
            ));
        }
        if self.io.borrow().now.state != SocketState::Unconnected {
            return Err(Error::WrongState("the socket is not unconnected"));
        }
        let (name, abstract_ns) = adoptable(fd)?;
        // SAFETY: fd is an open, connected stream (checked above) handed over on success.
        let adopted = unsafe {
            self.lp
                .register_adopted(fd, self.handler(), Interest::READABLE)
        };
        let (owned, token) = adopted.map_err(not_bindable)?;
        {
            let mut io = self.io.borrow_mut();
            io.fd = Some(owned);
            io.token.set(token);
            let name = SharedName::from(name);
            io.server_name = Some(name.clone());
            io.full_server_name = Some(name);
            io.abstract_ns = abstract_ns;
            io.release_input();
            io.last_error = None;
            io.now.state = SocketState::Connected;
            io.open = true;
            io.mode = mode;
        }
        self.push_call(SocketEvent::StateChanged(SocketState::Connected));
        Ok(())
    }

    /// Registers an accepted socket with the loop when the server hands it out.
    pub(crate) fn activate(&self) {
        let r = {
            let mut io = self.io.borrow_mut();
            let io = &mut *io;
            match io.fd.as_mut() {
                // Registered already (a socket given back with `add_pending_connection`).
                Some(_) if io.token.get().is_some() => Ok(()),
                Some(fd) => self
                    .lp
                    .register(fd, self.handler(), mio::Interest::READABLE)
                    .map(|t| io.token.set(t)),
                None => Ok(()),
            }
        };
        if let Err(e) = r {
            self.fail_now(e, super::QT_SOCKET);
        }
    }
}

/// Checks a descriptor handed over to be adopted and makes it ready (Unix: a connected stream
/// socket, made non-blocking and close-on-exec); returns the names it gives (bytes, abstract).
#[cfg(unix)]
fn adoptable(fd: sys::RawDescriptor) -> Result<(Vec<u8>, bool)> {
    let invalid = |e: io::Error| Error::from_descriptor_io(&e, Side::Client);
    if !sys::is_stream(fd).map_err(invalid)? {
        return Err(Error::InvalidArgument(
            "the descriptor is not a stream socket",
        ));
    }
    let mut name = sys::peer_name(fd).map_err(invalid)?;
    if name.bytes.is_empty() {
        name = sys::local_name(fd).map_err(invalid)?;
    }
    sys::make_nonblocking_cloexec(fd).map_err(|e| Error::from_io(&e, Side::Client))?;
    Ok((name.bytes, name.abstract_ns))
}

/// Windows: a connected overlapped named-pipe handle; no names.
#[cfg(windows)]
fn adoptable(fd: sys::RawDescriptor) -> Result<(Vec<u8>, bool)> {
    sys::check_adoptable(fd).map_err(Error::InvalidArgument)?;
    Ok((Vec::new(), false))
}

/// A registration refused for an adopted descriptor. Windows: a handle already bound to a
/// completion port (another loop's, or another library's) fails with
/// `ERROR_INVALID_PARAMETER`: the caller's mistake.
fn not_bindable(e: Error) -> Error {
    #[cfg(windows)]
    if e == Error::Os(87) {
        return Error::InvalidArgument(
            "the pipe handle is already bound to a completion port (another loop's?)",
        );
    }
    e
}
