//! A local socket with `QLocalSocket`'s behaviour, split by job:
//!
//! - `mod.rs` (here): the socket's state, what the application sees of it, its properties;
//! - `events`: the socket's one event queue and the one place it is drained (`turn`);
//! - `connect`: connecting (with retries past a full backlog), adopted descriptors;
//! - `bytes`: the byte path, the write queue and the read buffer (with its bound);
//! - `close`: the one close path, whatever ends the connection (EOF, a send error, abort,
//!   disconnect, destroy), and the linger after destroy;
//! - `message`: QDataStream-framed messages over the byte stream;
//! - `wait`: the blocking waits.
//!
//! Data paths:
//! - write: `write` -> when the queue is empty, `send` at once -> the rest into the queue ->
//!   writable interest -> `flush_queue` on readiness -> a `BytesWritten` entry in the queue.
//! - read: readiness -> `read_pass` (drains, or stops at the read-buffer bound) -> one
//!   `ReadyRead` entry -> the caller reads from the buffer; a bounded buffer resumes reading
//!   only once fully drained, as Qt does. End of stream is an entry after the data.
//!
//! Every callback comes from the queue, delivered by `turn`, never while a `RefCell` borrow is
//! held, so a callback may call anything on any object, including destroy. An entry carries
//! the moment it describes, so getters called inside a callback see that moment; events caused
//! by an API call are delivered from the loop's next turn or the next wait call on this socket,
//! never from inside the call itself.

mod bytes;
mod close;
mod connect;
mod events;
mod message;
mod wait;

use super::buffer::Buffer;
use super::error::{Error, SocketError, SocketState};
use super::event_loop::{EventLoop, Handler, Ready, SharedName};
use super::sys;
use mio::Token;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::time::Duration;

pub use events::SocketEvent;
pub use message::{MAX_MESSAGE_SIZE, MessageInfo};

/// How long a connect that meets a full listen backlog keeps retrying (Qt's `QT_CONNECT_TIMEOUT`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a socket destroyed during a graceful disconnect keeps flushing its queue (Qt's
/// default wait, 30 s).
pub const LINGER_TIMEOUT: Duration = Duration::from_secs(30);

/// Qt's `QIODevice::OpenMode` for a connection: reading, writing or both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenMode {
    pub read: bool,
    pub write: bool,
}

impl OpenMode {
    pub const READ_WRITE: OpenMode = OpenMode {
        read: true,
        write: true,
    };
}

/// Receives a socket's events on the loop's thread. Dropping the observer is the moment a
/// C caller's userdata is finalised, so it outlives any callback that is running.
pub trait SocketObserver {
    fn notify(&self, socket: &Rc<Socket>, event: SocketEvent);
    fn as_any(&self) -> &dyn Any;
}

/// What the application sees of a socket: Qt's state, error and error text (`Io::now`: as
/// it stands).
#[derive(Clone)]
pub(crate) struct Now {
    state: SocketState,
    error: SocketError,
    /// `None`: "Unknown error" (no allocation for a socket that never failed). A thin
    /// pointer (`Rc<str>` is two words): every socket has one.
    error_string: Option<Rc<Box<str>>>,
}

/// A moment of the socket: what it was, and its bytes to write. Entries of the event queue
/// carry one, and getters show it while that entry's callback runs.
pub(crate) struct Moment {
    now: Now,
    /// `bytes_to_write` as it was when an API call queued the entry; `TO_WRITE_NOW`: as it is
    /// (the I/O's entries are delivered when they happen).
    to_write: usize,
}

/// The loop's token of a registered socket: an `Option<Token>` in one word (`usize::MAX` is
/// none; the loop's tokens are slab keys).
#[derive(Clone, Copy)]
struct TokenSlot(usize);

impl TokenSlot {
    const NONE: TokenSlot = TokenSlot(usize::MAX);

    fn get(self) -> Option<Token> {
        (self.0 != usize::MAX).then_some(Token(self.0))
    }

    fn set(&mut self, t: Token) {
        debug_assert_ne!(t.0, usize::MAX);
        self.0 = t.0;
    }

    fn take(&mut self) -> Option<Token> {
        std::mem::replace(self, TokenSlot::NONE).get()
    }
}

/// `Moment::to_write` of a moment that shows the queue as it is.
const TO_WRITE_NOW: usize = usize::MAX;

struct Io {
    /// Qt's state machine as it stands (the queue may still hold entries describing earlier
    /// moments).
    now: Now,
    /// The error behind `now.error`, for wait calls that return it (boxed: most sockets never
    /// have one, and an `Error` is three words).
    last_error: Option<Box<Error>>,
    /// A connect under way (retried while the backlog is full).
    connect: Option<Box<connect::Attempt>>,
    /// The name given to connect (or set): `None` is empty. An accepted socket shares its
    /// server's.
    server_name: Option<SharedName>,
    /// The path (or abstract name) connected to.
    full_server_name: Option<SharedName>,
    abstract_ns: bool,
    fd: Option<sys::Stream>,
    token: TokenSlot,
    want_write: bool,
    rbuf: Buffer,
    wbuf: Buffer,
    /// Bytes announced (ReadyRead, `bytes_available`) that are still in the kernel, after the
    /// buffered ones: a large arrival is read lazily, so that `read` copies it once, from the
    /// kernel straight into the caller's memory (`sys::LAZY_READ`).
    unread: usize,
    /// Reading stopped at the read-buffer bound; resumes once the buffer is drained.
    read_paused: bool,
    /// The peer's stream ended (EOF or a read error): no more bytes will come.
    read_eof: bool,
    /// The last arrival was read lazily (larger than `sys::EAGER_READ`): the next read pass
    /// asks the kernel how much it holds first, and leaves another large arrival there whole.
    large_arrivals: bool,
    /// Qt's `isOpen()`: from a connect (or adoption) until close/abort; it stays open after
    /// the connection ends, so what is buffered can still be read.
    open: bool,
    /// Qt's open mode of the connection (`connect_to_server_mode`): a write-only socket drops
    /// what arrives, a read-only one refuses writes.
    mode: OpenMode,
    /// What most sockets never use (`Cold`): allocated by the first change from its defaults.
    cold: Option<Box<Cold>>,
}

/// A socket's rarely used state, out of line so that an idle connection costs little memory:
/// errors, connect retries, non-default settings and passed descriptors. `None` in `Io::cold`
/// reads as `COLD_DEFAULT`.
struct Cold {
    /// Sending failed: nothing more can be written (the queue was dropped).
    write_error: Option<Error>,
    connect_timeout: Duration,
    linger_timeout: Duration,
    /// Messages announcing more bytes fail the connection (`message`).
    max_message_size: usize,
    /// Backpressure (0: none): writes that would queue more are refused.
    high_water: usize,
    /// A refused write's WriteDrained event comes once the queue is down to this.
    low_water: usize,
    drain_wanted: bool,
    /// Descriptors to send (`write_with_descriptors`), each batch with the stream position of
    /// the first byte it goes with, in order.
    out_fds: VecDeque<(u64, Vec<sys::PassedFd>)>,
    /// Descriptors received with the peer's bytes, in order, until the application takes
    /// them.
    in_fds: VecDeque<sys::PassedFd>,
    /// The most descriptors one of the peer's writes may carry; 0: none are received.
    max_fds: usize,
    /// Qt's `readBufferSize`: 0 is unbounded.
    read_buffer_size: usize,
    /// While destroyed but still flushing (linger): the loop's key keeping this socket alive.
    linger_key: Option<usize>,
    /// Bytes sent since the cold part exists: the stream position of the write queue's first
    /// byte, which `out_fds` positions are relative to (no descriptor is queued before it
    /// exists).
    sent: u64,
}

impl Cold {
    const fn new() -> Cold {
        Cold {
            write_error: None,
            connect_timeout: CONNECT_TIMEOUT,
            linger_timeout: LINGER_TIMEOUT,
            max_message_size: MAX_MESSAGE_SIZE,
            high_water: 0,
            low_water: 0,
            drain_wanted: false,
            out_fds: VecDeque::new(),
            in_fds: VecDeque::new(),
            max_fds: 0,
            read_buffer_size: 0,
            linger_key: None,
            sent: 0,
        }
    }
}

static COLD_DEFAULT: Cold = Cold::new();

/// The cold part to change, allocated on first use (a free function: callers hold other
/// fields of `Io` borrowed at the same time).
fn cold_mut(cold: &mut Option<Box<Cold>>) -> &mut Cold {
    cold.get_or_insert_with(|| Box::new(Cold::new()))
}

impl Io {
    /// The cold part as it stands (its defaults until something changed it).
    fn cold(&self) -> &Cold {
        self.cold.as_deref().unwrap_or(&COLD_DEFAULT)
    }

    fn cold_mut(&mut self) -> &mut Cold {
        cold_mut(&mut self.cold)
    }

    /// The name given to connect (or set).
    fn server_name(&self) -> &[u8] {
        self.server_name.as_deref().unwrap_or_default()
    }

    /// The path (or abstract name) connected to.
    fn full_server_name(&self) -> &[u8] {
        self.full_server_name.as_deref().unwrap_or_default()
    }

    /// Counts `n` bytes sent, for the positions of descriptor batches (`Cold::sent`: only a
    /// socket with a cold part can have any).
    fn count_sent(&mut self, n: usize) {
        if let Some(c) = &mut self.cold {
            c.sent += n as u64;
        }
    }

    /// Drops what was received and not yet taken: the read buffer and the descriptors that
    /// came with it (closing them).
    fn release_input(&mut self) {
        self.rbuf.release();
        self.unread = 0;
        if let Some(c) = &mut self.cold {
            c.in_fds.clear();
        }
    }

    /// Drops what was queued and not sent: the bytes and the descriptors going with them
    /// (closing the socket's duplicates).
    fn release_output(&mut self) {
        self.wbuf.release();
        if let Some(c) = &mut self.cold {
            c.out_fds.clear();
        }
    }
}

pub struct Socket {
    lp: Rc<EventLoop>,
    io: RefCell<Io>,
    queue: RefCell<events::Queue>,
    observer: Cell<Option<Rc<dyn SocketObserver>>>,
    destroyed: Cell<bool>,
    /// A turn is queued with the loop.
    scheduled: Cell<bool>,
    /// `turn` is running (possibly nested): entries pushed now are delivered by it.
    draining: Cell<u16>,
    in_ready_read: Cell<bool>,
    /// The observer wants a `Message` event per complete message after each `ReadyRead`.
    message_events: Cell<bool>,
    /// A callback with a moment of its own runs (`Queue::view` holds it).
    viewing: Cell<bool>,
    me: Weak<Socket>,
}

const UNKNOWN_ERROR: &str = "Unknown error";
/// Qt's function name in the texts of the socket's own errors ("QLocalSocket: Remote closed").
const QT_SOCKET: &str = "QLocalSocket";

impl Socket {
    fn with_io(lp: &Rc<EventLoop>, io: Io) -> Rc<Socket> {
        Rc::new_cyclic(|me| Socket {
            lp: lp.clone(),
            io: RefCell::new(io),
            queue: RefCell::new(events::Queue::default()),
            observer: Cell::new(None),
            destroyed: Cell::new(false),
            scheduled: Cell::new(false),
            draining: Cell::new(0),
            in_ready_read: Cell::new(false),
            message_events: Cell::new(false),
            viewing: Cell::new(false),
            me: me.clone(),
        })
    }

    fn blank_io(state: SocketState, fd: Option<sys::Stream>) -> Io {
        Io {
            now: Now {
                state,
                error: SocketError::Unknown,
                error_string: None,
            },
            last_error: None,
            connect: None,
            server_name: None,
            full_server_name: None,
            abstract_ns: false,
            fd,
            token: TokenSlot::NONE,
            want_write: false,
            rbuf: Buffer::default(),
            wbuf: Buffer::default(),
            unread: 0,
            read_paused: false,
            read_eof: false,
            large_arrivals: false,
            open: state == SocketState::Connected,
            mode: OpenMode::READ_WRITE,
            cold: None,
        }
    }

    pub fn new(lp: &Rc<EventLoop>) -> Rc<Socket> {
        Socket::with_io(lp, Socket::blank_io(SocketState::Unconnected, None))
    }

    /// A connected socket from `accept`. It is registered with the loop by `activate`, when
    /// the server hands it out, so a socket nobody took costs no buffer.
    pub(crate) fn from_accepted(
        lp: &Rc<EventLoop>,
        fd: sys::Stream,
        server_name: &SharedName,
        full_server_name: &SharedName,
        abstract_ns: bool,
    ) -> Rc<Socket> {
        let mut io = Socket::blank_io(SocketState::Connected, Some(fd));
        io.server_name = Some(server_name.clone());
        io.full_server_name = Some(full_server_name.clone());
        io.abstract_ns = abstract_ns;
        Socket::with_io(lp, io)
    }

    fn rc(&self) -> Rc<Socket> {
        self.me.upgrade().expect("a socket in use is alive")
    }

    fn handler(&self) -> Weak<dyn Handler> {
        let w: Weak<Socket> = self.me.clone();
        w
    }

    pub fn event_loop(&self) -> &Rc<EventLoop> {
        &self.lp
    }

    pub fn set_observer(&self, o: Option<Rc<dyn SocketObserver>>) {
        self.observer.set(o);
    }

    pub fn observer(&self) -> Option<Rc<dyn SocketObserver>> {
        let o = self.observer.take();
        self.observer.set(o.clone());
        o
    }

    // ---- properties: what the application sees ------------------------------------------------

    /// Qt's `state()`: inside a callback, the state of the moment it describes.
    pub fn state(&self) -> SocketState {
        self.seen(|m| m.state)
    }

    /// Qt's `error()`: inside a callback, the error of its moment.
    pub fn error(&self) -> SocketError {
        self.seen(|m| m.error)
    }

    /// Qt's `errorString()` ("Unknown error" when none).
    pub fn error_string(&self) -> Rc<str> {
        self.seen(|m| m.error_string.as_deref().map(|s| Rc::from(&**s)))
            .unwrap_or_else(|| UNKNOWN_ERROR.into())
    }

    pub fn is_valid(&self) -> bool {
        self.state() != SocketState::Unconnected
    }

    pub fn set_server_name(&self, name: &[u8]) -> Result<(), Error> {
        let mut io = self.io.borrow_mut();
        if io.now.state != SocketState::Unconnected {
            return Err(Error::WrongState(
                "the server name can only change while unconnected",
            ));
        }
        io.server_name = (!name.is_empty()).then(|| name.into());
        Ok(())
    }

    /// The name given to connect (or set); empty once unconnected after a connection.
    pub fn server_name(&self) -> Vec<u8> {
        self.io.borrow().server_name().to_vec()
    }

    /// The path (or abstract name) connected to.
    pub fn full_server_name(&self) -> Vec<u8> {
        self.io.borrow().full_server_name().to_vec()
    }

    /// How long a connect keeps retrying a full listen backlog (default 30 s, as Qt).
    pub fn set_connect_timeout(&self, t: Duration) {
        self.io.borrow_mut().cold_mut().connect_timeout = t;
    }

    pub fn connect_timeout(&self) -> Duration {
        self.io.borrow().cold().connect_timeout
    }

    /// How long a socket destroyed during a graceful disconnect keeps flushing (0: destroy
    /// always aborts, as Qt 6's destructor).
    pub fn set_linger_timeout(&self, t: Duration) {
        self.io.borrow_mut().cold_mut().linger_timeout = t;
    }

    pub fn linger_timeout(&self) -> Duration {
        self.io.borrow().cold().linger_timeout
    }

    /// Qt's `AbstractNamespaceOption` (Linux): connect to an abstract address.
    pub fn set_abstract_namespace(&self, on: bool) -> Result<(), Error> {
        let mut io = self.io.borrow_mut();
        if io.now.state != SocketState::Unconnected {
            return Err(Error::WrongState(
                "socket options can only change while unconnected",
            ));
        }
        io.abstract_ns = on;
        Ok(())
    }

    pub fn abstract_namespace(&self) -> bool {
        self.io.borrow().abstract_ns
    }

    /// Qt's `isOpen()`.
    pub fn is_open(&self) -> bool {
        self.io.borrow().open
    }

    /// Qt's `openMode()`: `None` when not open.
    pub fn open_mode(&self) -> Option<OpenMode> {
        let io = self.io.borrow();
        io.open.then_some(io.mode)
    }

    /// Qt's `isReadable()`.
    pub fn is_readable(&self) -> bool {
        self.open_mode().is_some_and(|m| m.read)
    }

    /// Qt's `isWritable()`.
    pub fn is_writable(&self) -> bool {
        self.open_mode().is_some_and(|m| m.write)
    }

    /// Who is at the other end (pid, uid, gid as the kernel recorded them at connect time).
    /// `WrongState` without a connection; `Unsupported` on Windows.
    pub fn peer_credentials(&self) -> Result<super::sys::PeerCredentials, Error> {
        let io = self.io.borrow();
        let fd = io
            .fd
            .as_ref()
            .ok_or(Error::WrongState("the socket has no connection"))?;
        super::sys::peer_credentials(fd)
    }

    /// The descriptor (Windows: the pipe's HANDLE), or -1.
    pub fn descriptor(&self) -> isize {
        self.io.borrow().fd.as_ref().map_or(-1, sys::raw)
    }
}

/// The loop's three entry points.
impl Handler for Socket {
    fn ready(&self, ready: Ready) {
        if self.destroyed.get() {
            return self.linger_ready(ready);
        }
        // What the I/O queues now is delivered by the turn below, not by another loop turn.
        self.draining.set(self.draining.get() + 1);
        if ready.writable && self.io.borrow().want_write {
            self.flush_queue();
        }
        if ready.readable && !self.io.borrow().read_paused {
            // Lazily (a large arrival waits in the kernel for `read`) unless the peer closed.
            self.read_pass(false, ready.closed, !ready.closed);
        }
        self.draining.set(self.draining.get() - 1);
        self.turn();
    }

    fn timer(&self, tag: u64) {
        if tag == close::LINGER_TAG {
            self.linger_expired();
        } else {
            self.on_connect_timer(tag);
        }
    }

    fn deferred(&self) {
        self.scheduled.set(false);
        self.turn();
    }

    fn loop_closed(&self) {
        self.linger_expired();
    }
}
/// A server, a connected client and its accepted end on one loop (for the unit tests).
#[cfg(test)]
pub(crate) fn connected_pair(
    tag: &str,
) -> (
    Rc<EventLoop>,
    Rc<crate::core::Server>,
    Rc<Socket>,
    Rc<Socket>,
) {
    let lp = EventLoop::new().unwrap();
    let name = format!("qlocal-{tag}-{}", std::process::id());
    let server = crate::core::Server::new(&lp);
    server.listen(name.as_bytes()).unwrap();
    let t = Some(Duration::from_secs(20));
    let client = Socket::new(&lp);
    client.connect_to_server(Some(name.as_bytes())).unwrap();
    client.wait_for_connected(t).unwrap();
    server.wait_for_new_connection(t).unwrap();
    let peer = server.next_pending_connection().unwrap();
    (lp, server, client, peer)
}

#[cfg(test)]
mod footprint {
    use super::*;

    /// What an idle connection costs is what a server with many clients pays per client: the
    /// socket itself, with nothing out of line until a setting, an error or a descriptor needs
    /// it, and no event-queue buffer between events.
    #[test]
    fn an_idle_connection_holds_only_its_socket() {
        // The Windows stream (mio's NamedPipe and its state) is larger than a descriptor.
        let most = if cfg!(windows) { 208 } else { 200 };
        assert!(
            std::mem::size_of::<Socket>() <= most,
            "Socket grew to {} bytes",
            std::mem::size_of::<Socket>()
        );
        let (lp, _server, client, peer) = connected_pair("footprint");
        let name = format!("qlocal-footprint-{}", std::process::id());
        let t = Some(Duration::from_secs(20));
        for round in 0..3u8 {
            client.write(&[round; 100]).unwrap();
            client.wait_for_bytes_written(t).unwrap();
            peer.wait_for_ready_read(t).unwrap();
            let mut got = [0u8; 100];
            assert_eq!(peer.read(&mut got), 100);
            assert_eq!(got, [round; 100]);
        }
        let idle = |s: &Rc<Socket>| {
            let io = s.io.borrow();
            let buffers = io.rbuf.is_allocated() || io.wbuf.is_allocated();
            (
                io.cold.is_none(),
                buffers,
                s.queue.borrow().entries.capacity(),
            )
        };
        assert_eq!(idle(&client), (true, false, 0), "client");
        assert_eq!(idle(&peer), (true, false, 0), "accepted");
        // The accepted socket shares its server's names instead of a copy.
        let shared = |a: &Option<SharedName>| a.as_ref().map(SharedName::holders);
        assert!(shared(&peer.io.borrow().full_server_name).unwrap() >= 2);
        assert_eq!(peer.server_name(), name.as_bytes());
        // Clients of one name on one loop share it (both the name and the path).
        let second = Socket::new(&lp);
        second.connect_to_server(Some(name.as_bytes())).unwrap();
        second.wait_for_connected(t).unwrap();
        let same = |f: fn(&Io) -> &Option<SharedName>| {
            let (a, b) = (client.io.borrow(), second.io.borrow());
            SharedName::ptr_eq(f(&a).as_ref().unwrap(), f(&b).as_ref().unwrap())
        };
        assert!(same(|io| &io.server_name), "the name is shared");
        assert!(same(|io| &io.full_server_name), "the path is shared");
        assert_eq!(second.server_name(), name.as_bytes());
        assert_eq!(second.full_server_name(), client.full_server_name());
        // A setting away from its default is what allocates the cold part, and it reads back.
        client.set_linger_timeout(Duration::from_secs(3));
        assert!(client.io.borrow().cold.is_some());
        assert_eq!(client.linger_timeout(), Duration::from_secs(3));
        assert_eq!(peer.linger_timeout(), LINGER_TIMEOUT);
        assert_eq!(peer.connect_timeout(), CONNECT_TIMEOUT);
        assert_eq!(peer.max_descriptors(), 0);
        assert_eq!(peer.error_string().as_ref(), UNKNOWN_ERROR);
    }
}
