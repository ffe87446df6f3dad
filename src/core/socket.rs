//! A local socket with `QLocalSocket`'s behaviour.
//!
//! Data paths:
//! - write: `write` -> when the queue is empty, `send` at once -> the rest into the queue ->
//!   writable interest -> `flush_queue` on readiness -> `BytesWritten` from the loop.
//! - read: readiness -> `read_available` (drains, or stops at the read-buffer bound) ->
//!   one `ReadyRead` -> the caller reads from the buffer; a bounded buffer resumes reading only
//!   once fully drained, as Qt does.
//!
//! Events are queued on the socket and emitted by `emit`, never while a `RefCell` borrow is
//! held, so a callback may call anything on any object, including destroy. Events caused by an
//! API call (connect, abort, disconnect, write) are emitted from the loop's next turn or the next
//! wait call on this socket, never from inside the call itself.

use super::buffer::Buffer;
use super::error::{Error, Result, Side, SocketError, SocketState};
use super::event_loop::{Deferred, Entry, EventLoop, TimerTarget};
use super::name::Address;
use super::sys;
use mio::{Interest, Token};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

/// `QLocalSocket::AbstractNamespaceOption`.
pub const SOCKET_OPTION_ABSTRACT_NAMESPACE: u32 = 0x01;

/// How long a connect that meets a full listen backlog keeps retrying (Qt's `QT_CONNECT_TIMEOUT`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_RETRY_FIRST: Duration = Duration::from_millis(1);
const CONNECT_RETRY_MAX: Duration = Duration::from_millis(64);

/// What a socket tells its observer, in Qt's signal order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEvent {
    Connected,
    Disconnected,
    Error(SocketError),
    StateChanged(SocketState),
    ReadyRead,
    BytesWritten(u64),
    ReadChannelFinished,
}

/// Receives a socket's events on the loop's thread. Dropping the observer is the moment a
/// C caller's userdata is finalised, so it outlives any callback that is running.
pub trait SocketObserver {
    fn notify(&self, socket: &Rc<Socket>, event: SocketEvent);
    /// Whether BytesWritten reaches anyone; when not, a write sent at once queues no work for
    /// the loop (waits still see the count).
    fn wants_bytes_written(&self) -> bool {
        true
    }
    fn as_any(&self) -> &dyn Any;
}

struct ConnectAttempt {
    addr: Address,
    deadline: Instant,
    backoff: Duration,
}

struct Io {
    state: SocketState,
    fd: Option<OwnedFd>,
    token: Option<Token>,
    want_write: bool,
    error: SocketError,
    error_string: CString,
    last_error: Option<Error>,
    /// An error met while writing, handled from the loop (after reading what is left).
    pending_error: Option<Error>,
    server_name: CString,
    full_server_name: CString,
    options: u32,
    rbuf: Buffer,
    wbuf: Buffer,
    read_buffer_size: usize,
    read_paused: bool,
    unreported_written: u64,
    connect: Option<ConnectAttempt>,
    connect_gen: u64,
    connect_timeout: Duration,
}

pub struct Socket {
    lp: Rc<EventLoop>,
    io: RefCell<Io>,
    events: RefCell<VecDeque<SocketEvent>>,
    observer: Cell<Option<Rc<dyn SocketObserver>>>,
    destroyed: Cell<bool>,
    deferred: Cell<bool>,
    in_ready_read: Cell<bool>,
    me: Weak<Socket>,
}

fn cstring(bytes: &[u8]) -> CString {
    // Names with interior NULs (abstract names may have them) are cut at the first NUL for
    // display; the address itself keeps every byte.
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).unwrap_or_default()
}

const UNKNOWN_ERROR: &CStr = c"Unknown error";

impl Socket {
    fn with_io(lp: &Rc<EventLoop>, io: Io) -> Rc<Socket> {
        Rc::new_cyclic(|me| Socket {
            lp: lp.clone(),
            io: RefCell::new(io),
            events: RefCell::new(VecDeque::new()),
            observer: Cell::new(None),
            destroyed: Cell::new(false),
            deferred: Cell::new(false),
            in_ready_read: Cell::new(false),
            me: me.clone(),
        })
    }

    fn blank_io(state: SocketState, fd: Option<OwnedFd>) -> Io {
        Io {
            state,
            fd,
            token: None,
            want_write: false,
            error: SocketError::Unknown,
            error_string: UNKNOWN_ERROR.to_owned(),
            last_error: None,
            pending_error: None,
            server_name: CString::default(),
            full_server_name: CString::default(),
            options: 0,
            rbuf: Buffer::default(),
            wbuf: Buffer::default(),
            read_buffer_size: 0,
            read_paused: false,
            unreported_written: 0,
            connect: None,
            connect_gen: 0,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }

    pub fn new(lp: &Rc<EventLoop>) -> Rc<Socket> {
        Socket::with_io(lp, Socket::blank_io(SocketState::Unconnected, None))
    }

    /// A connected socket from `accept`. It is registered with the loop by `activate`, when
    /// the server hands it out, so a socket nobody took costs no buffer.
    pub(crate) fn from_accepted(
        lp: &Rc<EventLoop>,
        fd: OwnedFd,
        server_name: &CStr,
        full_server_name: &CStr,
        abstract_ns: bool,
    ) -> Rc<Socket> {
        let mut io = Socket::blank_io(SocketState::Connected, Some(fd));
        io.server_name = server_name.to_owned();
        io.full_server_name = full_server_name.to_owned();
        io.options = if abstract_ns {
            SOCKET_OPTION_ABSTRACT_NAMESPACE
        } else {
            0
        };
        Socket::with_io(lp, io)
    }

    pub(crate) fn activate(&self) {
        let r = {
            let mut io = self.io.borrow_mut();
            match &io.fd {
                Some(fd) => {
                    let fd = fd.as_raw_fd();
                    self.lp
                        .register(fd, Entry::Socket(self.me.clone()), Interest::READABLE)
                        .map(|t| io.token = Some(t))
                }
                None => Ok(()),
            }
        };
        if let Err(e) = r {
            self.connection_failed(e, "accept");
            self.schedule();
        }
    }

    fn rc(&self) -> Rc<Socket> {
        self.me.upgrade().expect("a socket in use is alive")
    }

    pub fn event_loop(&self) -> &Rc<EventLoop> {
        &self.lp
    }

    // ---- observer and emission -----------------------------------------------------------------

    pub fn set_observer(&self, o: Option<Rc<dyn SocketObserver>>) {
        self.observer.set(o);
    }

    pub fn observer(&self) -> Option<Rc<dyn SocketObserver>> {
        let o = self.observer.take();
        self.observer.set(o.clone());
        o
    }

    fn push(&self, ev: SocketEvent) {
        self.events.borrow_mut().push_back(ev);
    }

    /// Makes sure the loop's next turn emits this socket's queued events.
    fn schedule(&self) {
        if !self.deferred.get() && !self.destroyed.get() {
            self.deferred.set(true);
            self.lp.defer(Deferred::Socket(self.rc()));
        }
    }

    /// Emits queued events in order. `ReadyRead` is not re-entered: while its callback runs, a
    /// nested emission drops further `ReadyRead`s (Qt's rule; the data stays readable).
    fn emit(&self) {
        let me = self.rc();
        loop {
            if self.destroyed.get() {
                self.events.borrow_mut().clear();
                return;
            }
            let Some(ev) = self.events.borrow_mut().pop_front() else {
                return;
            };
            let ready_read = ev == SocketEvent::ReadyRead;
            if ready_read {
                if self.in_ready_read.get() {
                    continue;
                }
                self.in_ready_read.set(true);
            }
            if let Some(o) = self.observer() {
                o.notify(&me, ev);
            }
            if ready_read {
                self.in_ready_read.set(false);
            }
        }
    }

    pub(crate) fn run_deferred(&self) {
        self.deferred.set(false);
        if self.destroyed.get() {
            return;
        }
        let pending = self.io.borrow_mut().pending_error.take();
        if let Some(e) = pending {
            // The peer went away while we wrote: keep what it sent before it left.
            self.read_available(false);
            if self.io.borrow().fd.is_some() {
                if e == Error::PeerClosed {
                    self.peer_closed();
                } else {
                    self.connection_failed(e, "write");
                }
            }
        }
        self.report_written();
        self.emit();
    }

    fn report_written(&self) {
        let n = std::mem::take(&mut self.io.borrow_mut().unreported_written);
        if n > 0 {
            self.push(SocketEvent::BytesWritten(n));
        }
    }

    // ---- state changes ---------------------------------------------------------------------------

    fn set_state(&self, io: &mut Io, s: SocketState) {
        if io.state != s {
            io.state = s;
            self.push(SocketEvent::StateChanged(s));
        }
    }

    fn set_error(&self, io: &mut Io, e: &Error, context: &str) {
        io.error = e.socket_error();
        io.error_string = CString::new(format!("{context}: {e}")).unwrap_or_default();
        io.last_error = Some(e.clone());
    }

    fn close_fd(&self, io: &mut Io) {
        if let Some(fd) = io.fd.take() {
            if let Some(t) = io.token.take() {
                self.lp.deregister(fd.as_raw_fd(), t);
            }
        }
        io.want_write = false;
        io.read_paused = false;
        io.connect = None;
        io.wbuf.release();
    }

    /// Unconnected after having been connected: Qt's order is stateChanged(Unconnected),
    /// readChannelFinished, disconnected. The read buffer stays readable.
    fn finish_close(&self, io: &mut Io) {
        self.close_fd(io);
        self.set_state(io, SocketState::Unconnected);
        self.push(SocketEvent::ReadChannelFinished);
        self.push(SocketEvent::Disconnected);
        io.server_name = CString::default();
        io.full_server_name = CString::default();
    }

    fn peer_closed(&self) {
        let mut io = self.io.borrow_mut();
        if io.state == SocketState::Connected {
            self.set_error(&mut io, &Error::PeerClosed, "qlocal_socket");
            self.push(SocketEvent::Error(SocketError::PeerClosed));
            self.set_state(&mut io, SocketState::Closing);
        }
        if io.state != SocketState::Unconnected {
            self.finish_close(&mut io);
        }
    }

    fn connection_failed(&self, e: Error, context: &str) {
        if e == Error::PeerClosed {
            return self.peer_closed();
        }
        let mut io = self.io.borrow_mut();
        self.set_error(&mut io, &e, context);
        self.push(SocketEvent::Error(e.socket_error()));
        self.close_now(&mut io);
    }

    /// Closes at once from any state: a connect attempt just ends (Unconnected, no
    /// disconnected); a connection goes Closing -> Unconnected -> read channel finished ->
    /// disconnected.
    fn close_now(&self, io: &mut Io) {
        match io.state {
            SocketState::Connecting => {
                self.close_fd(io);
                io.full_server_name = CString::default();
                self.set_state(io, SocketState::Unconnected);
            }
            SocketState::Connected | SocketState::Closing => {
                self.set_state(io, SocketState::Closing);
                self.finish_close(io);
            }
            SocketState::Unconnected => {}
        }
    }

    // ---- connecting ------------------------------------------------------------------------------

    /// Starts connecting to `name` (or the name set before). Returns `Ok` once the attempt is
    /// decided or under way; the outcome is in `state()`/`error()` at once when the kernel
    /// decided at once, and the callbacks follow from the loop or `wait_for_connected`.
    pub fn connect_to_server(&self, name: Option<&[u8]>) -> Result<()> {
        let mut io = self.io.borrow_mut();
        if io.state != SocketState::Unconnected {
            return Err(Error::WrongState(
                "the socket is already connecting or connected",
            ));
        }
        let name = match name {
            Some(n) => n.to_vec(),
            None => io.server_name.as_bytes().to_vec(),
        };
        let abstract_ns = io.options & SOCKET_OPTION_ABSTRACT_NAMESPACE != 0;
        let addr = match Address::resolve(&name, abstract_ns) {
            Ok(a) => a,
            Err(e) => {
                self.set_error(&mut io, &e, "qlocal_socket_connect_to_server");
                return Err(e);
            }
        };
        io.server_name = cstring(&name);
        io.full_server_name = cstring(&addr.full_name);
        io.last_error = None;
        self.set_state(&mut io, SocketState::Connecting);
        match sys::stream_socket() {
            Ok(fd) => {
                io.fd = Some(fd);
                io.connect = Some(ConnectAttempt {
                    addr,
                    deadline: Instant::now() + io.connect_timeout,
                    backoff: CONNECT_RETRY_FIRST,
                });
                drop(io);
                self.try_connect();
            }
            Err(e) => {
                drop(io);
                self.connection_failed(
                    Error::from_io(&e, Side::Client),
                    "qlocal_socket_connect_to_server",
                );
            }
        }
        self.schedule();
        Ok(())
    }

    /// One connect attempt. On a full backlog (EAGAIN) it arms a retry timer with exponential
    /// backoff: Linux offers no readiness event for "the backlog has room" (an unconnected
    /// AF_UNIX socket polls as hung up at once), so waiting for one would spin.
    fn try_connect(&self) {
        let mut io = self.io.borrow_mut();
        let (Some(fd), Some(attempt)) = (&io.fd, &io.connect) else {
            return;
        };
        match sys::connect(fd, &attempt.addr) {
            Ok(()) => {
                let raw = fd.as_raw_fd();
                io.connect = None;
                match self
                    .lp
                    .register(raw, Entry::Socket(self.me.clone()), Interest::READABLE)
                {
                    Ok(t) => {
                        io.token = Some(t);
                        self.set_state(&mut io, SocketState::Connected);
                        self.push(SocketEvent::Connected);
                    }
                    Err(e) => {
                        drop(io);
                        self.connection_failed(e, "qlocal_socket_connect_to_server");
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let now = Instant::now();
                let attempt = io.connect.as_mut().expect("checked above");
                if now >= attempt.deadline {
                    drop(io);
                    self.connection_failed(Error::Timeout, "qlocal_socket_connect_to_server");
                    return;
                }
                let at = (now + attempt.backoff).min(attempt.deadline);
                attempt.backoff = (attempt.backoff * 2).min(CONNECT_RETRY_MAX);
                io.connect_gen += 1;
                let generation = io.connect_gen;
                self.lp
                    .add_timer(at, TimerTarget::SocketConnect(self.me.clone(), generation));
            }
            Err(e) => {
                drop(io);
                self.connection_failed(
                    Error::from_io(&e, Side::Client),
                    "qlocal_socket_connect_to_server",
                );
            }
        }
    }

    pub(crate) fn on_connect_timer(&self, generation: u64) {
        let current = {
            let io = self.io.borrow();
            io.connect_gen == generation && io.state == SocketState::Connecting
        };
        if current && !self.destroyed.get() {
            self.try_connect();
            self.emit();
        }
    }

    /// Qt's `setSocketDescriptor`: adopts `fd`, a connected `AF_UNIX` stream socket (one end
    /// of a `socketpair`, a descriptor passed by another process or accepted elsewhere), as a
    /// connected socket. Only while unconnected. Names come from the peer's address (or this
    /// end's, when the peer has none). On success the socket owns `fd`; on failure the caller
    /// still does. A state-changed callback follows from the loop.
    pub fn set_socket_descriptor(&self, fd: std::os::fd::RawFd) -> Result<()> {
        let mut io = self.io.borrow_mut();
        if io.state != SocketState::Unconnected {
            return Err(Error::WrongState("the socket is not unconnected"));
        }
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
        let token = self
            .lp
            .register(fd, Entry::Socket(self.me.clone()), Interest::READABLE)?;
        // SAFETY: fd is an open, connected socket (checked above) handed over on success.
        io.fd = Some(unsafe { sys::adopt(fd) });
        io.token = Some(token);
        io.server_name = cstring(&name.bytes);
        io.full_server_name = cstring(&name.bytes);
        io.options = if name.abstract_ns {
            SOCKET_OPTION_ABSTRACT_NAMESPACE
        } else {
            0
        };
        io.rbuf.release();
        io.last_error = None;
        self.set_state(&mut io, SocketState::Connected);
        drop(io);
        self.schedule();
        Ok(())
    }

    /// Waits until connected. `Ok` when connected; the connect error when it failed; `Timeout`
    /// when `timeout` passed first (the attempt goes on, as in Qt).
    pub fn wait_for_connected(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let (state, last, backoff) = {
                let io = self.io.borrow();
                let backoff = io.connect.as_ref().map(|a| a.backoff);
                (io.state, io.last_error.clone(), backoff)
            };
            match state {
                SocketState::Connected => {
                    self.emit();
                    return Ok(());
                }
                SocketState::Connecting => {}
                _ => {
                    self.emit();
                    return Err(last.unwrap_or(Error::WrongState("the socket is not connecting")));
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.emit();
                return Err(Error::Timeout);
            }
            sys::pause(backoff.unwrap_or(CONNECT_RETRY_FIRST), deadline);
            self.try_connect();
        }
    }

    // ---- closing -------------------------------------------------------------------------------------

    /// Graceful: queued bytes are delivered first (ClosingState), then the socket closes.
    pub fn disconnect_from_server(&self) {
        let state = self.io.borrow().state;
        match state {
            SocketState::Unconnected | SocketState::Closing => {}
            SocketState::Connecting => self.abort(),
            SocketState::Connected => {
                let mut io = self.io.borrow_mut();
                self.set_state(&mut io, SocketState::Closing);
                if io.wbuf.is_empty() {
                    self.finish_close(&mut io);
                }
                drop(io);
                self.schedule();
            }
        }
    }

    /// Immediate: queued bytes and buffered input are dropped.
    pub fn abort(&self) {
        let mut io = self.io.borrow_mut();
        io.rbuf.release();
        if io.state == SocketState::Unconnected {
            return;
        }
        self.close_now(&mut io);
        drop(io);
        self.schedule();
    }

    /// Qt's `close()`: buffered input is dropped, queued output is still delivered.
    pub fn close(&self) {
        self.io.borrow_mut().rbuf.release();
        self.disconnect_from_server();
    }

    /// Closes everything at once (Qt 6 destructor semantics: abort) and silences the socket.
    pub fn destroy(&self) {
        self.destroyed.set(true);
        {
            let mut io = self.io.borrow_mut();
            self.close_fd(&mut io);
            io.rbuf.release();
        }
        self.events.borrow_mut().clear();
        // Dropping the observer finalises the caller's userdata, unless a callback of this
        // socket is running: then it happens when that callback returns.
        drop(self.observer.take());
    }

    // ---- writing -------------------------------------------------------------------------------------

    /// Queues all of `data` (sending at once what the socket takes), or fails without change.
    pub fn write(&self, data: &[u8]) -> Result<()> {
        let mut io = self.io.borrow_mut();
        if io.state != SocketState::Connected {
            return Err(Error::WrongState("the socket is not connected"));
        }
        if data.is_empty() {
            return Ok(());
        }
        let mut sent = 0;
        if io.wbuf.is_empty() && io.pending_error.is_none() {
            let fd = io.fd.as_ref().expect("connected sockets have an fd");
            match sys::send(fd, data) {
                Ok(n) => sent = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    // Qt buffers and reports the error from the loop; do the same.
                    io.pending_error = Some(Error::from_io(&e, Side::Client));
                }
            }
        }
        if sent < data.len() {
            if io.wbuf.try_extend(&data[sent..]).is_err() {
                if sent == 0 {
                    return Err(Error::ResourceExhausted(libc::ENOMEM));
                }
                // Part went out already; the stream cannot be kept whole.
                io.pending_error = Some(Error::ResourceExhausted(libc::ENOMEM));
            }
            if io.pending_error.is_none() && !io.want_write {
                self.update_interest(&mut io, true)?;
            }
        }
        io.unreported_written += sent as u64;
        let pending_error = io.pending_error.is_some();
        drop(io);
        if pending_error || (sent > 0 && self.observer().is_some_and(|o| o.wants_bytes_written())) {
            self.schedule();
        }
        Ok(())
    }

    fn update_interest(&self, io: &mut Io, want_write: bool) -> Result<()> {
        if let (Some(fd), Some(t)) = (&io.fd, io.token) {
            let interest = if want_write {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            self.lp.reregister(fd.as_raw_fd(), t, interest)?;
        }
        io.want_write = want_write;
        Ok(())
    }

    /// Sends queued bytes until the socket would block. Returns how many went out.
    fn flush_queue(&self) -> usize {
        let mut io = self.io.borrow_mut();
        let mut total = 0;
        while !io.wbuf.is_empty() {
            let Some(fd) = &io.fd else { break };
            match sys::send(fd, io.wbuf.as_slice()) {
                Ok(n) => {
                    total += n;
                    io.wbuf.consume(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    io.pending_error = Some(Error::from_io(&e, Side::Client));
                    break;
                }
            }
        }
        io.unreported_written += total as u64;
        if io.wbuf.is_empty() && io.want_write {
            let _ = self.update_interest(&mut io, false);
        }
        if io.wbuf.is_empty() && io.state == SocketState::Closing && io.pending_error.is_none() {
            self.finish_close(&mut io);
        }
        let schedule = total > 0 || io.pending_error.is_some();
        drop(io);
        if schedule {
            self.schedule();
        }
        total
    }

    /// Qt's `flush()`: sends what it can without blocking; true when anything was sent.
    pub fn flush(&self) -> bool {
        self.flush_queue() > 0
    }

    // ---- reading -------------------------------------------------------------------------------------

    /// Reads what the socket has into the buffer (up to the read-buffer bound unless
    /// `unbounded`). Queues ReadyRead for new bytes, then the close sequence on EOF.
    ///
    /// A short read ends the pass (the socket is drained: with edge-triggered readiness, more
    /// data brings a new event), except when the peer's close was reported with the data:
    /// then it reads on to the end of the stream.
    fn read_available(&self, unbounded: bool) -> usize {
        self.read_pass(unbounded, false)
    }

    fn read_pass(&self, unbounded: bool, until_eof: bool) -> usize {
        let mut got = 0;
        let mut outcome: Option<Error> = None;
        {
            let mut io = self.io.borrow_mut();
            let io = &mut *io;
            let Some(fd) = &io.fd else { return 0 };
            if io.state == SocketState::Connecting {
                return 0;
            }
            loop {
                let limit = if io.read_buffer_size == 0 || unbounded {
                    usize::MAX
                } else {
                    io.read_buffer_size.saturating_sub(io.rbuf.len())
                };
                if limit == 0 {
                    io.read_paused = true;
                    break;
                }
                match sys::read_into(fd, io.rbuf.tail(), limit) {
                    Ok((0, _)) => {
                        outcome = Some(Error::PeerClosed);
                        break;
                    }
                    Ok((n, drained)) => {
                        got += n;
                        if drained && !until_eof {
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        outcome = Some(Error::from_io(&e, Side::Client));
                        break;
                    }
                }
            }
        }
        if got > 0 {
            self.push(SocketEvent::ReadyRead);
        }
        if let Some(e) = outcome {
            self.connection_failed(e, "qlocal_socket");
        }
        got
    }

    /// Called by the loop when the fd is ready.
    pub(crate) fn on_ready(&self, readable: bool, writable: bool, closed: bool) {
        if self.destroyed.get() {
            return;
        }
        if writable && self.io.borrow().want_write {
            self.flush_queue();
        }
        if readable && !self.io.borrow().read_paused {
            self.read_pass(false, closed);
        }
        self.emit();
    }

    /// Resumes reading once a bounded buffer is fully drained (Qt's rule).
    fn after_consume(&self) {
        let mut io = self.io.borrow_mut();
        if io.read_paused && (io.rbuf.is_empty() || io.read_buffer_size == 0) {
            io.read_paused = false;
            let want_write = io.want_write;
            // Re-arms the edge-triggered registration; the loop sees pending data again.
            let _ = self.update_interest(&mut io, want_write);
        }
    }

    pub fn read(&self, out: &mut [u8]) -> usize {
        let n = self.io.borrow_mut().rbuf.read(out);
        self.after_consume();
        n
    }

    pub fn peek(&self, out: &mut [u8]) -> usize {
        self.io.borrow().rbuf.peek(out)
    }

    pub fn skip(&self, n: usize) -> usize {
        let n = {
            let mut io = self.io.borrow_mut();
            let n = n.min(io.rbuf.len());
            io.rbuf.consume(n);
            n
        };
        self.after_consume();
        n
    }

    /// Qt's `readLine(char*, maxSize)`: up to `out.len() - 1` bytes, through the first `\n`,
    /// NUL-terminated. Returns the bytes stored, without the NUL.
    pub fn read_line(&self, out: &mut [u8]) -> Result<usize> {
        if out.len() < 2 {
            return Err(Error::InvalidArgument(
                "a line buffer needs room for a byte and a NUL",
            ));
        }
        let n = {
            let mut io = self.io.borrow_mut();
            let avail = io.rbuf.as_slice();
            let max = (out.len() - 1).min(avail.len());
            let n = avail[..max]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(max, |i| i + 1);
            out[..n].copy_from_slice(&avail[..n]);
            out[n] = 0;
            io.rbuf.consume(n);
            n
        };
        self.after_consume();
        Ok(n)
    }

    pub fn can_read_line(&self) -> bool {
        self.io.borrow().rbuf.as_slice().contains(&b'\n')
    }

    pub fn bytes_available(&self) -> usize {
        self.io.borrow().rbuf.len()
    }

    pub fn bytes_to_write(&self) -> usize {
        self.io.borrow().wbuf.len()
    }

    pub fn set_read_buffer_size(&self, n: usize) {
        self.io.borrow_mut().read_buffer_size = n;
        self.after_consume();
    }

    pub fn read_buffer_size(&self) -> usize {
        self.io.borrow().read_buffer_size
    }

    // ---- waiting -------------------------------------------------------------------------------------

    /// Waits for new bytes. `Ok` when some arrived (ReadyRead is emitted first, unless this
    /// runs inside this socket's ReadyRead callback); `PeerClosed` when the peer closed;
    /// `Timeout` (with a SocketTimeout error, staying connected, as Qt) when time ran out.
    pub fn wait_for_ready_read(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.emit();
        loop {
            let (fd, want_write) = {
                let io = self.io.borrow();
                match (&io.fd, io.state) {
                    (Some(fd), SocketState::Connected | SocketState::Closing) => {
                        (fd.as_raw_fd(), !io.wbuf.is_empty())
                    }
                    _ => return Err(Error::WrongState("the socket is not connected")),
                }
            };
            if want_write {
                self.flush_queue();
            }
            let got = if self.io.borrow().read_paused {
                0
            } else {
                self.read_available(false)
            };
            if got > 0 {
                self.emit();
                return Ok(());
            }
            if self.io.borrow().state == SocketState::Unconnected {
                self.emit();
                return Err(Error::PeerClosed);
            }
            if self.io.borrow().read_paused {
                return Err(Error::WrongState("the read buffer is full"));
            }
            match sys::poll_one(fd, true, want_write, deadline) {
                Ok(0) => return self.wait_timed_out("qlocal_socket_wait_for_ready_read"),
                Ok(_) => {}
                Err(e) => return Err(Error::from_io(&e, Side::Client)),
            }
        }
    }

    fn wait_timed_out(&self, context: &str) -> Result<()> {
        {
            let mut io = self.io.borrow_mut();
            self.set_error(&mut io, &Error::Timeout, context);
        }
        self.push(SocketEvent::Error(SocketError::SocketTimeout));
        self.emit();
        Err(Error::Timeout)
    }

    /// Waits until queued bytes were written. `Ok` once some were (BytesWritten emitted);
    /// `WrongState` at once when nothing is queued or waiting to be reported.
    pub fn wait_for_bytes_written(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.run_deferred_errors();
            if self.io.borrow().unreported_written > 0 {
                self.report_written();
                self.emit();
                return Ok(());
            }
            let (fd, empty, state) = {
                let io = self.io.borrow();
                (
                    io.fd.as_ref().map(|f| f.as_raw_fd()),
                    io.wbuf.is_empty(),
                    io.state,
                )
            };
            let Some(fd) = fd else {
                self.emit();
                return Err(Error::WrongState("the socket is not connected"));
            };
            if empty || state == SocketState::Connecting {
                self.emit();
                return Err(Error::WrongState("nothing is queued for writing"));
            }
            if self.flush_queue() > 0 {
                continue;
            }
            match sys::poll_one(fd, true, true, deadline) {
                Ok(0) => return self.wait_timed_out("qlocal_socket_wait_for_bytes_written"),
                Ok(revents) => {
                    if revents & libc::POLLIN != 0 {
                        // Keep reading so a peer blocked on writing to us can make progress.
                        self.read_available(true);
                    }
                }
                Err(e) => return Err(Error::from_io(&e, Side::Client)),
            }
        }
    }

    fn run_deferred_errors(&self) {
        if self.io.borrow().pending_error.is_some() {
            self.run_deferred();
        }
    }

    /// Waits until the socket is unconnected (the peer closed, or our graceful close finished).
    pub fn wait_for_disconnected(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        if self.io.borrow().state == SocketState::Unconnected {
            return Err(Error::WrongState("the socket is not connected"));
        }
        loop {
            self.run_deferred_errors();
            let (fd, want_write) = {
                let io = self.io.borrow();
                (io.fd.as_ref().map(|f| f.as_raw_fd()), !io.wbuf.is_empty())
            };
            if want_write {
                self.flush_queue();
            }
            self.read_available(true);
            if self.io.borrow().state == SocketState::Unconnected || fd.is_none() {
                self.report_written();
                self.emit();
                return Ok(());
            }
            if self.io.borrow().state == SocketState::Connecting {
                self.wait_for_connected(timeout_left(deadline))?;
                continue;
            }
            match sys::poll_one(fd.expect("checked"), true, want_write, deadline) {
                Ok(0) => return self.wait_timed_out("qlocal_socket_wait_for_disconnected"),
                Ok(_) => {}
                Err(e) => return Err(Error::from_io(&e, Side::Client)),
            }
        }
    }

    // ---- properties ----------------------------------------------------------------------------------

    pub fn state(&self) -> SocketState {
        self.io.borrow().state
    }

    pub fn error(&self) -> SocketError {
        self.io.borrow().error
    }

    /// Valid until the next call on this socket that changes its error.
    pub fn error_string_ptr(&self) -> *const c_char {
        self.io.borrow().error_string.as_ptr()
    }

    pub fn is_valid(&self) -> bool {
        self.io.borrow().state != SocketState::Unconnected
    }

    pub fn set_server_name(&self, name: &[u8]) -> Result<()> {
        let mut io = self.io.borrow_mut();
        if io.state != SocketState::Unconnected {
            return Err(Error::WrongState(
                "the server name can only change while unconnected",
            ));
        }
        io.server_name = cstring(name);
        Ok(())
    }

    /// Valid until the next call on this socket that changes its names.
    pub fn server_name_ptr(&self) -> *const c_char {
        self.io.borrow().server_name.as_ptr()
    }

    pub fn full_server_name_ptr(&self) -> *const c_char {
        self.io.borrow().full_server_name.as_ptr()
    }

    /// How long a connect keeps retrying a full listen backlog (default 30 s, as Qt).
    pub fn set_connect_timeout(&self, t: Duration) {
        self.io.borrow_mut().connect_timeout = t;
    }

    pub fn connect_timeout(&self) -> Duration {
        self.io.borrow().connect_timeout
    }

    pub fn set_options(&self, options: u32) -> Result<()> {
        if options & !SOCKET_OPTION_ABSTRACT_NAMESPACE != 0 {
            return Err(Error::InvalidArgument("unknown socket option bits"));
        }
        let mut io = self.io.borrow_mut();
        if io.state != SocketState::Unconnected {
            return Err(Error::WrongState(
                "socket options can only change while unconnected",
            ));
        }
        io.options = options;
        Ok(())
    }

    pub fn options(&self) -> u32 {
        self.io.borrow().options
    }

    pub fn descriptor(&self) -> i32 {
        self.io.borrow().fd.as_ref().map_or(-1, |f| f.as_raw_fd())
    }
}

fn timeout_left(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}
