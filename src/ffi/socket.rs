//! `qlocal_socket_*`: QLocalSocket.

use super::cast::{self, qlocal_loop, qlocal_socket};
use super::guard::{guard, result};
use super::result::{
    qlocal_local_socket_error, qlocal_local_socket_state, qlocal_open_mode, qlocal_result,
};
use super::text::CText;
use super::userdata::{UserData, qlocal_finalizer};
use crate::core::{OpenMode, Socket, SocketEvent, SocketObserver};
use std::any::Any;
use std::cell::{OnceCell, RefCell};
use std::ffi::{c_char, c_void};
use std::ptr::NonNull;
use std::rc::Rc;

/// `QLocalSocket::AbstractNamespaceOption` (note: 0x01, unlike the server's 0x08, as in Qt).
pub const QLOCAL_SOCKET_ABSTRACT_NAMESPACE: u32 = 0x01;

/// The default maximum message size (64 MiB): see `qlocal_socket_set_max_message_size`.
pub const QLOCAL_DEFAULT_MAX_MESSAGE_SIZE: usize = 67108864;
const _: () = assert!(QLOCAL_DEFAULT_MAX_MESSAGE_SIZE == crate::core::MAX_MESSAGE_SIZE);

/// The most descriptors one write may carry (`qlocal_socket_write_with_descriptors`), and the
/// largest `qlocal_socket_set_max_descriptors` (Linux's SCM_MAX_FD).
pub const QLOCAL_MAX_DESCRIPTORS_PER_WRITE: usize = 253;
#[cfg(unix)]
const _: () = assert!(QLOCAL_MAX_DESCRIPTORS_PER_WRITE == crate::core::sys::MAX_PASSED_FDS);

/// A socket event without arguments (connected, disconnected, ready read, read channel finished).
pub type qlocal_socket_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, socket: *mut qlocal_socket)>;
/// The error callback (Qt's `errorOccurred`).
pub type qlocal_socket_error_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        socket: *mut qlocal_socket,
        error: qlocal_local_socket_error,
    ),
>;
/// The state-changed callback (Qt's `stateChanged`).
pub type qlocal_socket_state_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        socket: *mut qlocal_socket,
        state: qlocal_local_socket_state,
    ),
>;
/// The bytes-written callback (Qt's `bytesWritten`): how many bytes left the queue since the last call.
pub type qlocal_socket_bytes_written_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, socket: *mut qlocal_socket, bytes: u64)>;

struct SocketCallbacks {
    userdata: UserData,
    /// The callback pointers, shared by the thread's sockets that set the same ones
    /// (`Table::shared`): a thousand connections of one server hold one table.
    table: RefCell<Rc<Table>>,
    /// The C strings of the text getters, allocated by the first one called.
    texts: OnceCell<Box<SocketTexts>>,
}

/// A socket's callback pointers. Tables are values: a setter makes the changed one and takes
/// the thread's shared copy of it.
#[derive(Clone, Copy, Default)]
struct Table {
    connected: qlocal_socket_cb,
    disconnected: qlocal_socket_cb,
    ready_read: qlocal_socket_cb,
    read_channel_finished: qlocal_socket_cb,
    error: qlocal_socket_error_cb,
    state_changed: qlocal_socket_state_cb,
    bytes_written: qlocal_socket_bytes_written_cb,
    about_to_close: qlocal_socket_cb,
    message: qlocal_socket_cb,
    write_drained: qlocal_socket_cb,
}

/// How many distinct tables a thread shares at most; a table beyond them is the socket's own
/// (tables nobody uses any more are forgotten first).
const SHARED_TABLES: usize = 32;

thread_local! {
    /// The tables the sockets of this thread use (sockets belong to their loop's thread). The
    /// first is the empty one.
    static TABLES: RefCell<Vec<Rc<Table>>> = RefCell::new(vec![Rc::new(Table::default())]);
}

impl Table {
    /// The pointers as addresses, to compare tables (a function pointer's `==` is not
    /// reliable across codegen units; its address is what C passed).
    fn key(&self) -> [usize; 10] {
        let a = |f: Option<unsafe extern "C" fn(*mut c_void, *mut qlocal_socket)>| {
            f.map_or(0, |f| f as usize)
        };
        [
            a(self.connected),
            a(self.disconnected),
            a(self.ready_read),
            a(self.read_channel_finished),
            self.error.map_or(0, |f| f as usize),
            self.state_changed.map_or(0, |f| f as usize),
            self.bytes_written.map_or(0, |f| f as usize),
            a(self.about_to_close),
            a(self.message),
            a(self.write_drained),
        ]
    }

    /// The thread's shared copy of `t` (made now if it has none and there is room).
    fn shared(t: Table) -> Rc<Table> {
        let key = t.key();
        TABLES
            .try_with(|tables| {
                let mut tables = tables.borrow_mut();
                if let Some(found) = tables.iter().find(|x| x.key() == key) {
                    return found.clone();
                }
                if tables.len() >= SHARED_TABLES {
                    tables.retain(|x| Rc::strong_count(x) > 1);
                }
                let new = Rc::new(t);
                if tables.len() < SHARED_TABLES {
                    tables.push(new.clone());
                }
                new
            })
            // The thread is ending (its thread-locals are gone): a table of its own.
            .unwrap_or_else(|_| Rc::new(t))
    }
}

#[derive(Default)]
struct SocketTexts {
    server_name: CText,
    full_server_name: CText,
    error_string: CText,
}

impl SocketCallbacks {
    fn texts(&self) -> &SocketTexts {
        self.texts.get_or_init(Box::default)
    }

    /// A copy of the table (the callbacks it names may change the socket's table).
    fn table(&self) -> Table {
        **self.table.borrow()
    }

    /// Changes one callback: the socket takes the shared table with the change.
    fn set(&self, change: impl FnOnce(&mut Table)) {
        let mut t = self.table();
        change(&mut t);
        *self.table.borrow_mut() = Table::shared(t);
    }
}

impl SocketObserver for SocketCallbacks {
    fn notify(&self, socket: &Rc<Socket>, event: SocketEvent) {
        let ud = self.userdata.get();
        let t = self.table();
        let h = cast::handle_of::<qlocal_socket>(socket);
        let plain = |cb: qlocal_socket_cb| {
            if let Some(cb) = cb {
                // SAFETY: the caller registered cb for this socket and userdata.
                unsafe { cb(ud, h) }
            }
        };
        match event {
            SocketEvent::Connected => plain(t.connected),
            SocketEvent::Disconnected => plain(t.disconnected),
            SocketEvent::ReadyRead => plain(t.ready_read),
            SocketEvent::ReadChannelFinished => plain(t.read_channel_finished),
            SocketEvent::AboutToClose => plain(t.about_to_close),
            SocketEvent::Message => plain(t.message),
            SocketEvent::WriteDrained => plain(t.write_drained),
            SocketEvent::Error(e) => {
                if let Some(cb) = t.error {
                    // SAFETY: as above.
                    unsafe { cb(ud, h, e.into()) }
                }
            }
            SocketEvent::StateChanged(s) => {
                if let Some(cb) = t.state_changed {
                    // SAFETY: as above.
                    unsafe { cb(ud, h, s.into()) }
                }
            }
            SocketEvent::BytesWritten(n) => {
                if let Some(cb) = t.bytes_written {
                    // SAFETY: as above.
                    unsafe { cb(ud, h, n) }
                }
            }
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Gives a socket that C is about to own its (empty) callback table.
pub(crate) fn install_callbacks(s: &Socket) {
    s.set_observer(Some(Rc::new(SocketCallbacks {
        userdata: UserData::new(),
        table: RefCell::new(Table::shared(Table::default())),
        texts: OnceCell::new(),
    })));
}

fn with_callbacks(s: &Socket, f: impl FnOnce(&SocketCallbacks)) {
    if let Some(o) = s.observer() {
        if let Some(c) = o.as_any().downcast_ref::<SocketCallbacks>() {
            f(c);
        }
    }
}

/// Runs a call that cannot fail on the socket (NULL and the wrong thread still can).
fn with_socket(socket: Option<NonNull<qlocal_socket>>, f: impl FnOnce(&Socket)) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        f(&s);
        Ok(())
    })
}

/// One of the socket's texts as a C string it owns ("" for NULL or the wrong thread).
fn text(
    socket: Option<NonNull<qlocal_socket>>,
    pick: impl FnOnce(&Socket, &SocketCallbacks) -> *const c_char,
) -> *const c_char {
    guard(|| {
        let mut p = c"".as_ptr();
        if let Ok(s) = cast::borrow(socket) {
            with_callbacks(&s, |c| p = pick(&s, c));
        }
        p
    })
}

fn set_callback(
    socket: Option<NonNull<qlocal_socket>>,
    f: impl FnOnce(&SocketCallbacks),
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        with_callbacks(&s, f);
        Ok(())
    })
}

/// Creates an unconnected socket on `event_loop`. On success writes it to `*socket_out`; destroy it
/// with `qlocal_socket_destroy`.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_new(
    event_loop: Option<NonNull<qlocal_loop>>,
    socket_out: Option<&mut *mut qlocal_socket>,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let out = socket_out.ok_or(qlocal_result::NullArgument)?;
        let s = Socket::new(&l);
        install_callbacks(&s);
        *out = cast::into_handle::<qlocal_socket>(s);
        Ok(())
    })
}

/// Destroys the socket. No callback of this socket runs after this returns; the userdata
/// finalizer runs now (inside one of this socket's own callbacks: when that callback returns).
/// NULL is a no-op; safe inside any callback.
///
/// During a graceful close (after `qlocal_socket_disconnect_from_server`, or while the socket
/// flushes after the peer's end of stream: state CLOSING with bytes queued) the loop keeps the
/// descriptor and goes on writing the queue, with no callbacks, until it is empty, a send
/// fails, the linger timeout passes (`qlocal_socket_set_linger_timeout`, default 30000 ms) or
/// the loop is destroyed; then the descriptor closes. The loop must keep running for that.
/// Otherwise (and with a linger timeout of 0) Qt 6's destructor: abort, queued output and
/// buffered input are dropped.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_destroy(socket: Option<NonNull<qlocal_socket>>) -> qlocal_result {
    result(|| {
        if let Some(s) = cast::take(socket)? {
            s.destroy();
        }
        Ok(())
    })
}

/// Qt's `deleteLater()`: the socket is destroyed (as `qlocal_socket_destroy`) when control
/// returns to the loop: from its next turn, after the callback in progress and the others
/// already due. The handle is the loop's from this call on: make no other call with it. Its
/// callbacks may still run until then. If the loop is destroyed first, the socket is
/// destroyed with it. NULL is a no-op; another thread: QLOCAL_RESULT_WRONG_THREAD (nothing
/// happens).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_destroy_later(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_result {
    result(|| {
        if let Some(s) = cast::take(socket)? {
            let lp = s.event_loop().clone();
            super::event_loop::destroy_later(&lp, s, Socket::destroy);
        }
        Ok(())
    })
}

/// Connects to `name` (NULL: the name set with `qlocal_socket_set_server_name`), following
/// Qt's name rules. Returns OK once the attempt is decided or under way: on Linux the outcome
/// is usually known before this returns (`qlocal_local_socket_state` is CONNECTED, or UNCONNECTED
/// with `qlocal_local_socket_error` set), and the callbacks (state changed, then connected, or error
/// then state changed) always follow from the loop or a wait call, never from inside this call.
/// A full listen backlog is retried (backoff up to 64 ms) for 30 s, then fails with
/// QLOCAL_SOCKET_ERROR_SOCKET_TIMEOUT. A name that cannot be used returns its code
/// (QLOCAL_RESULT_INVALID_NAME for an empty name, QLOCAL_RESULT_NAME_TOO_LONG over 106 bytes)
/// and, as Qt, still gets the callbacks from the loop: state changed (CONNECTING), error
/// (SERVER_NOT_FOUND), state changed (UNCONNECTED). Refused with no callback:
/// QLOCAL_RESULT_WRONG_STATE when not unconnected.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_connect_to_server(
    socket: Option<NonNull<qlocal_socket>>,
    name: Option<&c_char>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let name = match name {
            Some(n) => Some(cast::c_str(Some(n))?),
            None => None,
        };
        Ok(s.connect_to_server(name)?)
    })
}

/// A millisecond setting: -1 (no bound) and other negatives are refused.
fn set_duration(
    socket: Option<NonNull<qlocal_socket>>,
    ms: i32,
    set: fn(&Socket, std::time::Duration),
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        set(
            &s,
            cast::timeout(ms)?.ok_or(qlocal_result::InvalidArgument)?,
        );
        Ok(())
    })
}

/// A millisecond setting as C sees it (-1 for NULL or the wrong thread).
fn duration_ms(
    socket: Option<NonNull<qlocal_socket>>,
    get: fn(&Socket) -> std::time::Duration,
) -> i32 {
    guard(|| cast::borrow(socket).map_or(-1, |s| get(&s).as_millis().min(i32::MAX as u128) as i32))
}

/// Qt's `connectToServer(name, openMode)`: as `qlocal_socket_connect_to_server`, the
/// connection opened for reading (QLOCAL_OPEN_MODE_READ_ONLY: writes are refused with
/// QLOCAL_RESULT_WRONG_STATE), writing (QLOCAL_OPEN_MODE_WRITE_ONLY: what the peer sends is
/// dropped, reads are refused with QLOCAL_RESULT_WRONG_STATE, its close is still seen) or both.
/// Any other `mode`: QLOCAL_RESULT_INVALID_ARGUMENT.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_connect_to_server_with_mode(
    socket: Option<NonNull<qlocal_socket>>,
    name: Option<&c_char>,
    mode: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let name = match name {
            Some(n) => Some(cast::c_str(Some(n))?),
            None => None,
        };
        Ok(s.connect_to_server_mode(name, open_mode_arg(mode)?)?)
    })
}

/// A `qlocal_open_mode` argument: READ_ONLY, WRITE_ONLY or READ_WRITE.
fn open_mode_arg(mode: i32) -> Result<OpenMode, qlocal_result> {
    Ok(match mode {
        1 => OpenMode {
            read: true,
            write: false,
        },
        2 => OpenMode {
            read: false,
            write: true,
        },
        3 => OpenMode::READ_WRITE,
        _ => return Err(qlocal_result::InvalidArgument),
    })
}

/// Reads are refused on a socket open for writing only (Qt returns -1 there).
fn check_readable(s: &Socket) -> Result<(), qlocal_result> {
    if s.is_open() && !s.is_readable() {
        return Err(qlocal_result::WrongState);
    }
    Ok(())
}

/// Sets how long a socket destroyed during a graceful close keeps flushing its queue (see
/// `qlocal_socket_destroy`; default 30000 ms, Qt's wait default; 0: destroy always aborts, as
/// Qt 6's destructor; not a Qt API). Negative: QLOCAL_RESULT_INVALID_ARGUMENT. NULL:
/// QLOCAL_RESULT_NULL_ARGUMENT; another thread: QLOCAL_RESULT_WRONG_THREAD.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_linger_timeout(
    socket: Option<NonNull<qlocal_socket>>,
    timeout_ms: i32,
) -> qlocal_result {
    set_duration(socket, timeout_ms, Socket::set_linger_timeout)
}

/// The linger timeout in milliseconds (-1 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_linger_timeout(socket: Option<NonNull<qlocal_socket>>) -> i32 {
    duration_ms(socket, Socket::linger_timeout)
}

/// Sets how long a connect keeps retrying while the server's listen backlog is full before it
/// fails with QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_TIMEOUT (default 30000 ms, Qt's internal
/// connect timeout; not a Qt API). Applies to the next connect. Negative:
/// QLOCAL_RESULT_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_connect_timeout(
    socket: Option<NonNull<qlocal_socket>>,
    timeout_ms: i32,
) -> qlocal_result {
    set_duration(socket, timeout_ms, Socket::set_connect_timeout)
}

/// The connect timeout in milliseconds (-1 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_connect_timeout(socket: Option<NonNull<qlocal_socket>>) -> i32 {
    duration_ms(socket, Socket::connect_timeout)
}

/// Qt's `setSocketDescriptor`: adopts `fd`, a connected AF_UNIX stream socket (an end of a
/// socketpair, a descriptor passed by another process), as CONNECTED. Only while unconnected
/// (QLOCAL_RESULT_WRONG_STATE). Names come from the peer's address, or this end's. On OK the
/// socket owns `fd`; on failure the caller still does (QLOCAL_RESULT_INVALID_ARGUMENT when `fd`
/// is not a connected AF_UNIX stream socket). The state-changed callback follows from the loop.
///
/// Windows: `fd` is a named-pipe HANDLE, either end (a client end from CreateFileW, a server
/// end from CreateNamedPipeW after its connect), opened with FILE_FLAG_OVERLAPPED, connected
/// (or connected and since ended: it reads as the end), and not yet bound to an I/O
/// completion port (a handle can be bound to one only: a handle another loop or library
/// drives cannot move). Anything else is QLOCAL_RESULT_INVALID_ARGUMENT and stays the
/// caller's; the error string says which check failed. Names stay empty (a pipe handle does
/// not say its server's name). The socket closes the handle on destroy.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_socket_descriptor(
    socket: Option<NonNull<qlocal_socket>>,
    fd: cast::qlocal_descriptor,
) -> qlocal_result {
    result(|| Ok(cast::borrow(socket)?.set_socket_descriptor(cast::descriptor(fd)?)?))
}

/// Qt's `setSocketDescriptor(fd, socketState, openMode)`: as
/// `qlocal_socket_set_socket_descriptor`, the connection opened in `mode` (as
/// `qlocal_socket_connect_to_server_with_mode`: READ_ONLY refuses writes, WRITE_ONLY drops what
/// arrives and refuses reads). `state` must be QLOCAL_LOCAL_SOCKET_STATE_CONNECTED (Qt's
/// default): a descriptor qlocal adopts is a connected one (an AF_UNIX stream socket has no
/// connect in progress to take over, and Qt's other states only relabel the socket);
/// any other state, or another `mode`, is QLOCAL_RESULT_INVALID_ARGUMENT and `fd` stays the
/// caller's.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_socket_descriptor_with_state(
    socket: Option<NonNull<qlocal_socket>>,
    fd: cast::qlocal_descriptor,
    state: i32,
    mode: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        if state != qlocal_local_socket_state::Connected as i32 {
            return Err(qlocal_result::InvalidArgument);
        }
        Ok(s.set_socket_descriptor_mode(cast::descriptor(fd)?, open_mode_arg(mode)?)?)
    })
}

/// Blocks up to `timeout_ms` (-1: no bound) until connected. OK when connected; the connect
/// failure's code (e.g. QLOCAL_RESULT_SERVER_NOT_FOUND, QLOCAL_RESULT_CONNECTION_REFUSED) when it
/// failed, every time it is asked until the next connect; QLOCAL_RESULT_TIMEOUT when time ran
/// out first (the attempt goes on); QLOCAL_RESULT_WRONG_STATE when no connect was started. Runs this socket's callbacks.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_wait_for_connected(
    socket: Option<NonNull<qlocal_socket>>,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        Ok(s.wait_for_connected(cast::timeout(timeout_ms)?)?)
    })
}

/// Graceful close: the state becomes CLOSING, queued bytes are still written (every
/// bytes-written callback comes before the close's), then the socket closes (state changed to
/// UNCONNECTED, read channel finished, disconnected). When nothing is queued the state is
/// UNCONNECTED when this returns, as in Qt. Reading stops; buffered input (and what the kernel
/// already held) stays readable. Harmless when unconnected; aborts a connect under way.
/// Destroying the socket while CLOSING still delivers the queue (see `qlocal_socket_destroy`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_disconnect_from_server(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_result {
    with_socket(socket, Socket::disconnect_from_server)
}

/// Immediate close: queued output and buffered input are dropped, and so are callbacks not yet
/// delivered for them (bytes written, ready read); the close's callbacks follow from the loop.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_abort(socket: Option<NonNull<qlocal_socket>>) -> qlocal_result {
    with_socket(socket, Socket::abort)
}

/// Qt's `close()`: buffered input is dropped, then a graceful disconnect.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_close(socket: Option<NonNull<qlocal_socket>>) -> qlocal_result {
    with_socket(socket, Socket::close)
}

/// The socket's state (UNCONNECTED for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_state(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_local_socket_state {
    guard(|| {
        cast::borrow(socket).map_or(qlocal_local_socket_state::Unconnected, |s| s.state().into())
    })
}

/// The socket's last error (Qt's `error()`): QLOCAL_SOCKET_ERROR_UNKNOWN when none.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_error(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_local_socket_error {
    guard(|| cast::borrow(socket).map_or(qlocal_local_socket_error::Unknown, |s| s.error().into()))
}

/// Text of the socket's last error: Qt 6's text for the same situation ("QLocalSocket: Remote
/// closed", "QLocalSocket::connectToServer: Invalid name"; "Unknown error" when none). Owned by the socket;
/// valid until its next call that sets an error, or destroy.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_error_string(
    socket: Option<NonNull<qlocal_socket>>,
) -> *const c_char {
    text(socket, |s, c| {
        c.texts().error_string.get(s.error_string().as_bytes())
    })
}

/// True while connecting, connected or closing.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_is_valid(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| cast::borrow(socket).is_ok_and(|s| s.is_valid()))
}

/// Bytes buffered for reading (they stay readable after disconnection).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_bytes_available(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.bytes_available()))
}

/// Bytes queued and not yet handed to the system.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_bytes_to_write(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.bytes_to_write()))
}

/// Reads up to `capacity` buffered bytes into `buffer`; writes the count to `*read_out` (0 when
/// nothing is buffered; at end of stream the state is UNCONNECTED). Never blocks. `buffer` may
/// be NULL only when `capacity` is 0 (else QLOCAL_RESULT_NULL_ARGUMENT); a `capacity` above
/// PTRDIFF_MAX, or one that runs past the end of the address space from `buffer`, is
/// QLOCAL_RESULT_INVALID_ARGUMENT and nothing is read.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_read(
    socket: Option<NonNull<qlocal_socket>>,
    buffer: *mut u8,
    capacity: usize,
    read_out: Option<&mut usize>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = read_out.ok_or(qlocal_result::NullArgument)?;
        let buf = cast::out_bytes(buffer, capacity)?;
        *out = s.read(buf);
        Ok(())
    })
}

/// Like `qlocal_socket_read` but leaves the bytes buffered. Same argument checks: NULL
/// `buffer` with a non-zero `capacity` is QLOCAL_RESULT_NULL_ARGUMENT; a `capacity` above
/// PTRDIFF_MAX or past the end of the address space is QLOCAL_RESULT_INVALID_ARGUMENT.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_peek(
    socket: Option<NonNull<qlocal_socket>>,
    buffer: *mut u8,
    capacity: usize,
    peeked_out: Option<&mut usize>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = peeked_out.ok_or(qlocal_result::NullArgument)?;
        let buf = cast::out_bytes(buffer, capacity)?;
        *out = s.peek(buf);
        Ok(())
    })
}

/// Discards up to `count` buffered bytes; writes how many to `*skipped_out`.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_skip(
    socket: Option<NonNull<qlocal_socket>>,
    count: usize,
    skipped_out: Option<&mut usize>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = skipped_out.ok_or(qlocal_result::NullArgument)?;
        *out = s.skip(count);
        Ok(())
    })
}

/// Qt's `readLine(char*, maxSize)`: copies buffered bytes through the first '\n', at most
/// `capacity - 1` of them, and a terminating NUL; writes the count (without the NUL) to
/// `*read_out`. Returns what is buffered even without a '\n' (see `qlocal_socket_can_read_line`).
/// `capacity` < 2, above PTRDIFF_MAX, or running past the end of the address space from
/// `buffer`: QLOCAL_RESULT_INVALID_ARGUMENT (nothing is read); NULL `buffer` with a non-zero
/// `capacity`: QLOCAL_RESULT_NULL_ARGUMENT.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_read_line(
    socket: Option<NonNull<qlocal_socket>>,
    buffer: *mut u8,
    capacity: usize,
    read_out: Option<&mut usize>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = read_out.ok_or(qlocal_result::NullArgument)?;
        let buf = cast::out_bytes(buffer, capacity)?;
        *out = s.read_line(buf)?;
        Ok(())
    })
}

/// True when a whole line ('\n') is buffered.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_can_read_line(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| cast::borrow(socket).is_ok_and(|s| s.can_read_line()))
}

/// Queues all `length` bytes of `data` for writing (copied; what the system takes at once is
/// sent at once), or refuses them whole: QLOCAL_RESULT_WRONG_STATE unless connected,
/// QLOCAL_RESULT_RESOURCE_EXHAUSTED when memory runs out. Once sending failed (the peer is
/// gone: QLOCAL_RESULT_PEER_CLOSED; or the system's error) writes are refused with that code:
/// those bytes could never arrive. What the peer sent before it went stays readable, and the
/// close's callbacks (error, state changes, disconnected) follow once its end of stream was
/// read. The bytes-written callback follows from the loop. `data` may be NULL only when
/// `length` is 0 (else QLOCAL_RESULT_NULL_ARGUMENT); a `length` above PTRDIFF_MAX, or one that
/// runs past the end of the address space from `data`, is QLOCAL_RESULT_INVALID_ARGUMENT and
/// nothing is queued. Once the queue drains after growing beyond 1 MiB, it gives its memory
/// back down to 64 KiB (the read buffer too); smaller buffers keep theirs for the next message.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_write(
    socket: Option<NonNull<qlocal_socket>>,
    data: *const u8,
    length: usize,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        Ok(s.write(cast::in_bytes(data, length)?)?)
    })
}

/// Not Qt's (descriptor passing, SCM_RIGHTS): `qlocal_socket_write` of `length` bytes with
/// `count` descriptors attached to the first of them. The socket sends duplicates (made now,
/// close-on-exec): the caller keeps its own and may close them at once. The peer's socket
/// receives them in order, no later than these bytes (see `qlocal_socket_set_max_descriptors`
/// and `qlocal_socket_take_descriptor`); the bytes go into the same stream as every other
/// write. Duplicates not yet sent are closed when the socket closes, aborts or is destroyed.
/// `length` 0, `count` 0 or above QLOCAL_MAX_DESCRIPTORS_PER_WRITE, or a value that is not
/// an open descriptor: QLOCAL_RESULT_INVALID_ARGUMENT, and nothing is queued; no descriptor
/// free for the duplicates: QLOCAL_RESULT_RESOURCE_EXHAUSTED. Otherwise as
/// `qlocal_socket_write` (state, backpressure, a failed send). Windows:
/// QLOCAL_RESULT_UNSUPPORTED (a pipe carries no handles; DuplicateHandle needs the peer's
/// process). NULL `socket`: QLOCAL_RESULT_NULL_ARGUMENT; another thread than the loop's:
/// QLOCAL_RESULT_WRONG_THREAD; not connected: QLOCAL_RESULT_WRONG_STATE (nothing duplicated).
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_write_with_descriptors(
    socket: Option<NonNull<qlocal_socket>>,
    data: *const u8,
    length: usize,
    descriptors: *const cast::qlocal_descriptor,
    count: usize,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let data = cast::in_bytes(data, length)?;
        let fds = cast::in_descriptors(descriptors, count, QLOCAL_MAX_DESCRIPTORS_PER_WRITE)?;
        Ok(s.write_with_descriptors(data, &fds)?)
    })
}

/// Not Qt's: receive up to `max_per_write` descriptors with each of the peer's writes. 0 (the
/// default, and what a Qt peer needs): none; the system closes any that arrive. With a
/// maximum, a write that brings more, or a process with no descriptor free, loses
/// descriptors: the ones of that write are closed, the socket reports error
/// QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE (the text says why; waits return
/// QLOCAL_RESULT_DESCRIPTORS_LOST) and the connection closes after the bytes read so far. Set
/// it before the loop runs after the connect or the accept (`next_pending_connection`): bytes
/// read before are read without their descriptors. Above QLOCAL_MAX_DESCRIPTORS_PER_WRITE:
/// QLOCAL_RESULT_INVALID_ARGUMENT; non-zero on Windows: QLOCAL_RESULT_UNSUPPORTED. Any state.
/// NULL `socket`: QLOCAL_RESULT_NULL_ARGUMENT; another thread than the loop's:
/// QLOCAL_RESULT_WRONG_THREAD.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_max_descriptors(
    socket: Option<NonNull<qlocal_socket>>,
    max_per_write: usize,
) -> qlocal_result {
    result(|| Ok(cast::borrow(socket)?.set_max_descriptors(max_per_write)?))
}

/// The most descriptors received with one write (0: none; also for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_max_descriptors(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.max_descriptors()))
}

/// Descriptors received and not yet taken (0 for NULL or the wrong thread). A descriptor is
/// counted here no later than the bytes it came with are readable (it may come with bytes
/// the peer wrote just before it: the system joins writes).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_descriptors_available(
    socket: Option<NonNull<qlocal_socket>>,
) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.descriptors_available()))
}

/// Takes the next received descriptor, in the order the peer sent them, into
/// `*descriptor_out`: the caller owns it (close-on-exec; close it when done). -1 and
/// QLOCAL_RESULT_OK when none is available. Descriptors never taken are closed when the
/// socket's input is dropped (close, abort, destroy) — never leaked; after
/// the peer's close they stay takeable, as the bytes stay readable. Any state. NULL `socket`
/// or `descriptor_out`: QLOCAL_RESULT_NULL_ARGUMENT; another thread than the loop's:
/// QLOCAL_RESULT_WRONG_THREAD (nothing written, nothing taken).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_take_descriptor(
    socket: Option<NonNull<qlocal_socket>>,
    descriptor_out: Option<&mut cast::qlocal_descriptor>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let out = descriptor_out.ok_or(qlocal_result::NullArgument)?;
        *out = s
            .take_descriptor()
            .map_or(-1, crate::core::sys::into_raw_passed);
        Ok(())
    })
}

/// Sends queued bytes as far as possible without blocking. Writes to `*wrote_out` (may be
/// NULL) whether anything was sent (Qt's `flush()` result).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_flush(
    socket: Option<NonNull<qlocal_socket>>,
    wrote_out: Option<&mut bool>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let wrote = s.flush();
        if let Some(out) = wrote_out {
            *out = wrote;
        }
        Ok(())
    })
}

/// Bounds buffered input to `size` bytes (0: unbounded, the default). With a bound, reading
/// from the system stops when the buffer is full and resumes once it is fully drained (Qt).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_read_buffer_size(
    socket: Option<NonNull<qlocal_socket>>,
    size: usize,
) -> qlocal_result {
    with_socket(socket, |s| s.set_read_buffer_size(size))
}

/// The read buffer bound (0: unbounded).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_read_buffer_size(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.read_buffer_size()))
}

/// Blocks up to `timeout_ms` (-1: no bound) for new bytes. OK when some arrived (the ready-read
/// callback runs first, unless this is called from inside it); QLOCAL_RESULT_PEER_CLOSED when
/// the peer closed (bytes it sent before stay readable); QLOCAL_RESULT_TIMEOUT when time ran
/// out (the socket stays connected; its error becomes SOCKET_TIMEOUT, as Qt);
/// QLOCAL_RESULT_WRONG_STATE when not connected or the bounded read buffer is full.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_wait_for_ready_read(
    socket: Option<NonNull<qlocal_socket>>,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        Ok(s.wait_for_ready_read(cast::timeout(timeout_ms)?)?)
    })
}

/// Blocks up to `timeout_ms` (-1: no bound) until queued bytes were written. OK once some were
/// (the bytes-written callback runs first; at once when some were written and not yet
/// reported); QLOCAL_RESULT_WRONG_STATE at once when nothing is queued or not connected;
/// QLOCAL_RESULT_TIMEOUT when time ran out.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_wait_for_bytes_written(
    socket: Option<NonNull<qlocal_socket>>,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        Ok(s.wait_for_bytes_written(cast::timeout(timeout_ms)?)?)
    })
}

/// Blocks up to `timeout_ms` (-1: no bound) until the socket is unconnected (peer closed, or a
/// graceful disconnect finished writing). Incoming bytes are kept readable. OK when
/// disconnected; QLOCAL_RESULT_WRONG_STATE when already unconnected; QLOCAL_RESULT_TIMEOUT.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_wait_for_disconnected(
    socket: Option<NonNull<qlocal_socket>>,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        Ok(s.wait_for_disconnected(cast::timeout(timeout_ms)?)?)
    })
}

/// Sets the name used by `qlocal_socket_connect_to_server(socket, NULL)`. Only while unconnected.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_server_name(
    socket: Option<NonNull<qlocal_socket>>,
    name: Option<&c_char>,
) -> qlocal_result {
    result(|| Ok(cast::borrow(socket)?.set_server_name(cast::c_str(name)?)?))
}

/// The server name ("" when none; cleared when the socket becomes unconnected after a
/// connection). Owned by the socket; valid until the next call that changes it.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_server_name(
    socket: Option<NonNull<qlocal_socket>>,
) -> *const c_char {
    text(socket, |s, c| c.texts().server_name.get(&s.server_name()))
}

/// The full path (or abstract name) connected to. Same lifetime as `qlocal_socket_server_name`.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_full_server_name(
    socket: Option<NonNull<qlocal_socket>>,
) -> *const c_char {
    text(socket, |s, c| {
        c.texts().full_server_name.get(&s.full_server_name())
    })
}

/// Sets QLOCAL_SOCKET_* option bits (only QLOCAL_SOCKET_ABSTRACT_NAMESPACE). Only while unconnected.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_socket_options(
    socket: Option<NonNull<qlocal_socket>>,
    options: u32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        if options & !QLOCAL_SOCKET_ABSTRACT_NAMESPACE != 0 {
            return Err(qlocal_result::InvalidArgument);
        }
        Ok(s.set_abstract_namespace(options & QLOCAL_SOCKET_ABSTRACT_NAMESPACE != 0)?)
    })
}

/// The option bits (0 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_socket_options(socket: Option<NonNull<qlocal_socket>>) -> u32 {
    guard(|| {
        cast::borrow(socket).map_or(0, |s| {
            if s.abstract_namespace() {
                QLOCAL_SOCKET_ABSTRACT_NAMESPACE
            } else {
                0
            }
        })
    })
}

/// The socket's descriptor (`intptr_t`, Qt's `qintptr`), or -1. Owned by the socket: do not
/// close it.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_socket_descriptor(
    socket: Option<NonNull<qlocal_socket>>,
) -> cast::qlocal_descriptor {
    guard(|| cast::borrow(socket).map_or(-1, |s| s.descriptor() as cast::qlocal_descriptor))
}

/// Sets the userdata passed to the socket's callbacks, and its finalizer (may be NULL). A
/// previous userdata's finalizer runs now; this one runs on destroy or the next replacement.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_userdata(
    socket: Option<NonNull<qlocal_socket>>,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
) -> qlocal_result {
    set_callback(socket, |c| c.userdata.replace(userdata, finalizer))
}

/// The userdata set with `qlocal_socket_set_userdata` (NULL if none, NULL handle or wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_userdata(socket: Option<NonNull<qlocal_socket>>) -> *mut c_void {
    guard(|| {
        let mut ud = std::ptr::null_mut();
        if let Ok(s) = cast::borrow(socket) {
            with_callbacks(&s, |c| ud = c.userdata.get());
        }
        ud
    })
}

/// Sets the connected callback (Qt's `connected`); NULL removes it.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_connected_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.connected = callback))
}

/// Sets the disconnected callback (Qt's `disconnected`). Bytes not yet read stay readable in it.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_disconnected_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.disconnected = callback))
}

/// Sets the ready-read callback (Qt's `readyRead`): once per batch of new bytes, never re-entered.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_ready_read_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.ready_read = callback))
}

/// Sets the read-channel-finished callback (Qt's `readChannelFinished`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_read_channel_finished_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.read_channel_finished = callback))
}

/// Sets the error callback (Qt's `errorOccurred`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_error_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_error_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.error = callback))
}

/// Sets the state-changed callback (Qt's `stateChanged`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_state_changed_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_state_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.state_changed = callback))
}

/// Sets the bytes-written callback (Qt's `bytesWritten`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_bytes_written_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_bytes_written_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.bytes_written = callback))
}

/// Sets the about-to-close callback (Qt's `aboutToClose`): from `qlocal_socket_close` and
/// `qlocal_socket_abort` of an open socket, before its other callbacks (from the loop, as all).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_about_to_close_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.about_to_close = callback))
}

// ---- the rest of QIODevice ----------------------------------------------------------------------

/// Qt's `getChar`: reads one buffered byte into `*byte_out`. QLOCAL_RESULT_WRONG_STATE when
/// nothing is buffered (nothing written then). NULL arguments: QLOCAL_RESULT_NULL_ARGUMENT.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_get_char(
    socket: Option<NonNull<qlocal_socket>>,
    byte_out: Option<&mut u8>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = byte_out.ok_or(qlocal_result::NullArgument)?;
        *out = s.get_char().ok_or(qlocal_result::WrongState)?;
        Ok(())
    })
}

/// Qt's `putChar`: writes one byte (as `qlocal_socket_write` of one byte, same results).
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_put_char(
    socket: Option<NonNull<qlocal_socket>>,
    byte: u8,
) -> qlocal_result {
    result(|| Ok(cast::borrow(socket)?.write(&[byte])?))
}

/// Qt's `ungetChar`: puts `byte` back in front of the read buffer (the next read returns it).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_unget_char(
    socket: Option<NonNull<qlocal_socket>>,
    byte: u8,
) -> qlocal_result {
    with_socket(socket, |s| s.unget_char(byte))
}

/// Qt's `readAll`, with no allocation across the boundary: copies everything buffered
/// (`qlocal_socket_bytes_available` bytes) into `buffer` and writes the count to `*read_out`.
/// QLOCAL_RESULT_INVALID_ARGUMENT, reading nothing, when `capacity` is smaller (also above
/// PTRDIFF_MAX); NULL `buffer` only with capacity 0.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_read_all(
    socket: Option<NonNull<qlocal_socket>>,
    buffer: *mut u8,
    capacity: usize,
    read_out: Option<&mut usize>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = read_out.ok_or(qlocal_result::NullArgument)?;
        let buf = cast::out_bytes(buffer, capacity)?;
        *out = s.read_all(buf)?;
        Ok(())
    })
}

/// True when nothing is buffered and nothing more can come (the peer's stream ended, or the
/// socket is unconnected). Unlike Qt's `atEnd` on a socket, an empty buffer of a connected
/// socket is not the end. True for NULL or the wrong thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_at_end(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| cast::borrow(socket).map_or(true, |s| s.at_end()))
}

/// Qt's `startTransaction`: bytes read from now on (read, get_char, read_line, skip, read_all)
/// can be read again with `qlocal_socket_rollback_transaction`; no copy is made per read.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_start_transaction(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_result {
    with_socket(socket, Socket::start_transaction)
}

/// Qt's `commitTransaction`: what was read since the start stays read.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_commit_transaction(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_result {
    with_socket(socket, Socket::commit_transaction)
}

/// Qt's `rollbackTransaction`: every byte read since the start is readable again (and
/// counted by `qlocal_socket_bytes_available`).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_rollback_transaction(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_result {
    with_socket(socket, Socket::rollback_transaction)
}

/// Qt's `isTransactionStarted` (false for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_is_transaction_started(
    socket: Option<NonNull<qlocal_socket>>,
) -> bool {
    guard(|| cast::borrow(socket).is_ok_and(|s| s.is_transaction_started()))
}

/// Qt's `openMode()`: the mode of the connection (READ_WRITE unless connected with
/// `qlocal_socket_connect_to_server_with_mode`; accepted and adopted connections are
/// READ_WRITE) from a successful connect until close/abort, QLOCAL_OPEN_MODE_NOT_OPEN otherwise. It stays open
/// after the connection ends, so buffered bytes can still be read, as in Qt.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_open_mode(
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_open_mode {
    guard(
        || match cast::borrow(socket).ok().and_then(|s| s.open_mode()) {
            Some(OpenMode {
                read: true,
                write: true,
            }) => qlocal_open_mode::ReadWrite,
            Some(OpenMode { read: true, .. }) => qlocal_open_mode::ReadOnly,
            Some(_) => qlocal_open_mode::WriteOnly,
            None => qlocal_open_mode::NotOpen,
        },
    )
}

/// Qt's `isOpen()`.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_is_open(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| cast::borrow(socket).is_ok_and(|s| s.is_open()))
}

/// Qt's `isReadable()` (open for reading).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_is_readable(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| cast::borrow(socket).is_ok_and(|s| s.is_readable()))
}

/// Qt's `isWritable()` (open for writing).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_is_writable(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| cast::borrow(socket).is_ok_and(|s| s.is_writable()))
}

// ---- QDataStream-framed messages --------------------------------------------------------------

/// Writes `length` bytes of `data` as one message, byte for byte what Qt's
/// `QDataStream << QByteArray` writes: a big-endian 32-bit length, then the bytes (from
/// 0xFFFFFFFE bytes on: 0xFFFFFFFE and a 64-bit length, as Qt 6.7+). `data` NULL with `length`
/// 0 is Qt's null QByteArray (0xFFFFFFFF); a non-NULL `data` with `length` 0 is an empty one.
/// The length and the bytes are queued together or not at all; results as
/// `qlocal_socket_write`. Loop thread.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_write_message(
    socket: Option<NonNull<qlocal_socket>>,
    data: *const u8,
    length: usize,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let message = if data.is_null() && length == 0 {
            None
        } else {
            Some(cast::in_bytes(data, length)?)
        };
        Ok(s.write_message(message)?)
    })
}

/// True when a complete message (see `qlocal_socket_write_message`) is buffered. A message
/// whose length is above the maximum message size is never waited for: the socket reports
/// QLOCAL_LOCAL_SOCKET_ERROR_DATAGRAM_TOO_LARGE (error callback, then the close's callbacks
/// from the loop) and closes the connection at once, dropping what is buffered; this returns
/// false. False for NULL, the wrong thread or a write-only socket. Loop thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_has_message(socket: Option<NonNull<qlocal_socket>>) -> bool {
    guard(|| {
        cast::borrow(socket)
            .is_ok_and(|s| check_readable(&s).is_ok() && s.has_message().unwrap_or(false))
    })
}

/// The size of the complete message at the front of the buffer: writes its length in bytes
/// to `*length_out` and whether it is Qt's null QByteArray to `*is_null_out` (may be NULL).
/// QLOCAL_RESULT_WRONG_STATE when no message is complete yet (nothing written);
/// QLOCAL_RESULT_MESSAGE_TOO_LARGE when the next one is above the maximum (the connection
/// closes, as for `qlocal_socket_has_message`). Loop thread.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_next_message_size(
    socket: Option<NonNull<qlocal_socket>>,
    length_out: Option<&mut usize>,
    is_null_out: Option<&mut bool>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = length_out.ok_or(qlocal_result::NullArgument)?;
        let m = s.next_message()?.ok_or(qlocal_result::WrongState)?;
        *out = m.len;
        if let Some(n) = is_null_out {
            *n = m.null;
        }
        Ok(())
    })
}

/// Takes the complete message at the front of the buffer: copies its bytes into `buffer`,
/// writes their count to `*length_out` and whether it was Qt's null QByteArray to
/// `*is_null_out` (may be NULL). QLOCAL_RESULT_WRONG_STATE when no message is complete yet;
/// QLOCAL_RESULT_INVALID_ARGUMENT when `capacity` is smaller than the message (nothing is
/// read; `*length_out` gets the size needed); QLOCAL_RESULT_MESSAGE_TOO_LARGE as for
/// `qlocal_socket_next_message_size`. `buffer` may be NULL only when `capacity` is 0. Works
/// inside read transactions (a rollback gives the message back). Loop thread.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_read_message(
    socket: Option<NonNull<qlocal_socket>>,
    buffer: *mut u8,
    capacity: usize,
    length_out: Option<&mut usize>,
    is_null_out: Option<&mut bool>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        check_readable(&s)?;
        let out = length_out.ok_or(qlocal_result::NullArgument)?;
        let buf = cast::out_bytes(buffer, capacity)?;
        match s.read_message(buf) {
            Ok(Some(m)) => {
                *out = m.len;
                if let Some(n) = is_null_out {
                    *n = m.null;
                }
                Ok(())
            }
            Ok(None) => Err(qlocal_result::WrongState),
            Err(crate::core::Error::InvalidArgument(why)) => {
                if let Ok(Some(m)) = s.next_message() {
                    *out = m.len;
                }
                Err(crate::core::Error::InvalidArgument(why).into())
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Sets the largest message the peer may send (default 64 MiB, QLOCAL_DEFAULT_MAX_MESSAGE_SIZE).
/// A message announcing more is an error of the socket and closes the connection; its bytes are
/// never allocated. Plain reads are not affected. Loop thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_max_message_size(
    socket: Option<NonNull<qlocal_socket>>,
    max_bytes: usize,
) -> qlocal_result {
    with_socket(socket, |s| s.set_max_message_size(max_bytes))
}

/// The largest message the peer may send (0 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_max_message_size(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.max_message_size()))
}

/// Sets the message callback; NULL removes it. It runs after the ready-read callback, once for
/// each complete message then buffered, and should take it (`qlocal_socket_read_message`); a
/// call that leaves the buffer as it was ends the series until more bytes arrive. While it is
/// set, a message above the maximum size is detected as soon as its length arrives. Loop thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_message_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        with_callbacks(&s, |c| c.set(|t| t.message = callback));
        s.set_message_events(callback.is_some());
        Ok(())
    })
}

// ---- beyond Qt ---------------------------------------------------------------------------------

/// Who is at the other end of a connection, as the kernel recorded it when it connected.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct qlocal_peer_credentials {
    /// The peer's process id; -1 where the system does not give it (FreeBSD, the other BSDs).
    pub pid: i32,
    /// The peer's effective user id.
    pub uid: u32,
    /// The peer's effective group id.
    pub gid: u32,
}

/// Writes the peer's credentials to `*credentials_out`: Linux SO_PEERCRED (pid, uid, gid),
/// macOS getpeereid and LOCAL_PEERPID, FreeBSD getpeereid (pid -1). QLOCAL_RESULT_WRONG_STATE
/// when the socket has no connection (never connected, or closed: read them while connected).
/// Loop thread.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_peer_credentials(
    socket: Option<NonNull<qlocal_socket>>,
    credentials_out: Option<&mut qlocal_peer_credentials>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(socket)?;
        let out = credentials_out.ok_or(qlocal_result::NullArgument)?;
        let c = s.peer_credentials()?;
        *out = qlocal_peer_credentials {
            pid: c.pid.unwrap_or(-1),
            uid: c.uid,
            gid: c.gid,
        };
        Ok(())
    })
}

/// Backpressure (not Qt's): a write (any of the write calls) that would take
/// `qlocal_socket_bytes_to_write` above `high_water` bytes is refused whole with
/// QLOCAL_RESULT_QUEUE_FULL, unless the queue is empty (a single large write to an empty queue
/// is taken). After such a refusal the write-drained callback runs once the queue is down to
/// `low_water` bytes. `high_water` 0 turns it off (the default, Qt's unbounded queue);
/// `low_water` above a non-zero `high_water`: QLOCAL_RESULT_INVALID_ARGUMENT. Loop thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_write_buffer_limits(
    socket: Option<NonNull<qlocal_socket>>,
    high_water: usize,
    low_water: usize,
) -> qlocal_result {
    result(|| Ok(cast::borrow(socket)?.set_write_buffer_limits(high_water, low_water)?))
}

/// The high-water mark (0: none; also for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_write_high_water(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.write_buffer_limits().0))
}

/// The low-water mark (0 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_write_low_water(socket: Option<NonNull<qlocal_socket>>) -> usize {
    guard(|| cast::borrow(socket).map_or(0, |s| s.write_buffer_limits().1))
}

/// Sets the write-drained callback (not Qt's; NULL removes it): once after a write refused with
/// QLOCAL_RESULT_QUEUE_FULL, when the queue is down to the low-water mark (after the
/// bytes-written callback of the bytes that took it there). Loop thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_socket_set_write_drained_callback(
    socket: Option<NonNull<qlocal_socket>>,
    callback: qlocal_socket_cb,
) -> qlocal_result {
    set_callback(socket, |c| c.set(|t| t.write_drained = callback))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::event_loop::{qlocal_loop_destroy, qlocal_loop_new};

    type Cb = unsafe extern "C" fn(*mut c_void, *mut qlocal_socket);
    unsafe extern "C" fn a_fn(_: *mut c_void, _: *mut qlocal_socket) {}
    unsafe extern "C" fn b_fn(_: *mut c_void, _: *mut qlocal_socket) {}
    const A: Cb = a_fn;
    const B: Cb = b_fn;

    /// Runs `f` with `n` new sockets on a new loop, then destroys them and the loop.
    fn with_sockets(n: usize, f: impl FnOnce(&[Option<NonNull<qlocal_socket>>])) {
        let mut lp = std::ptr::null_mut();
        assert_eq!(qlocal_loop_new(Some(&mut lp)), qlocal_result::Ok);
        let l = NonNull::new(lp);
        let mut h = vec![std::ptr::null_mut(); n];
        for s in &mut h {
            assert_eq!(qlocal_socket_new(l, Some(s)), qlocal_result::Ok);
        }
        let sockets: Vec<_> = h.into_iter().map(NonNull::new).collect();
        f(&sockets);
        for s in sockets {
            assert_eq!(qlocal_socket_destroy(s), qlocal_result::Ok);
        }
        assert_eq!(qlocal_loop_destroy(l), qlocal_result::Ok);
    }

    fn table_of(h: Option<NonNull<qlocal_socket>>) -> Rc<Table> {
        let s = cast::borrow(h).unwrap();
        let mut t = None;
        with_callbacks(&s, |c| t = Some(c.table.borrow().clone()));
        t.expect("a C socket has its callbacks")
    }

    fn addr(f: qlocal_socket_cb) -> Option<usize> {
        f.map(|f| f as usize)
    }

    /// Sockets that set the same callbacks hold one table between them (what a server's
    /// connections cost in memory), and a change on one socket is that socket's alone.
    #[test]
    fn sockets_with_the_same_callbacks_share_one_table() {
        with_sockets(3, |h| {
            let (x, y, z) = (h[0], h[1], h[2]);
            assert!(
                Rc::ptr_eq(&table_of(x), &table_of(z)),
                "new sockets share the empty table"
            );
            for s in [x, y] {
                assert_eq!(
                    qlocal_socket_set_ready_read_callback(s, Some(A)),
                    qlocal_result::Ok
                );
                assert_eq!(
                    qlocal_socket_set_disconnected_callback(s, Some(B)),
                    qlocal_result::Ok
                );
            }
            assert_eq!(
                qlocal_socket_set_ready_read_callback(z, Some(A)),
                qlocal_result::Ok
            );
            assert_eq!(
                qlocal_socket_set_disconnected_callback(z, Some(A)),
                qlocal_result::Ok
            );
            assert!(Rc::ptr_eq(&table_of(x), &table_of(y)));
            assert!(!Rc::ptr_eq(&table_of(x), &table_of(z)));
            assert_eq!(addr(table_of(z).disconnected), Some(A as usize));

            // Copy on write: y's change leaves x's callbacks as they were.
            assert_eq!(
                qlocal_socket_set_ready_read_callback(y, None),
                qlocal_result::Ok
            );
            assert_eq!(addr(table_of(x).ready_read), Some(A as usize));
            assert_eq!(addr(table_of(x).disconnected), Some(B as usize));
            assert_eq!(addr(table_of(y).ready_read), None);
            assert_eq!(addr(table_of(y).disconnected), Some(B as usize));
        });
    }

    /// A thread with more distinct tables than it shares still gives each socket its own
    /// callbacks, and forgets the tables nobody uses.
    #[test]
    fn tables_beyond_the_shared_ones_are_the_sockets_own() {
        with_sockets(2 * SHARED_TABLES, |h| {
            // Distinct tables: socket i sets six callbacks to A or B by the bits of i.
            let pick = |i: usize, bit: usize| if i >> bit & 1 == 1 { A } else { B };
            for (i, &s) in h.iter().enumerate() {
                let ok = qlocal_result::Ok;
                assert_eq!(
                    qlocal_socket_set_ready_read_callback(s, Some(pick(i, 0))),
                    ok
                );
                assert_eq!(
                    qlocal_socket_set_connected_callback(s, Some(pick(i, 1))),
                    ok
                );
                assert_eq!(
                    qlocal_socket_set_disconnected_callback(s, Some(pick(i, 2))),
                    ok
                );
                assert_eq!(
                    qlocal_socket_set_about_to_close_callback(s, Some(pick(i, 3))),
                    ok
                );
                assert_eq!(
                    qlocal_socket_set_read_channel_finished_callback(s, Some(pick(i, 4))),
                    ok
                );
                assert_eq!(qlocal_socket_set_message_callback(s, Some(pick(i, 5))), ok);
            }
            for (i, &s) in h.iter().enumerate() {
                let t = table_of(s);
                let want = |bit: usize| Some(pick(i, bit) as usize);
                assert_eq!(addr(t.ready_read), want(0), "socket {i}");
                assert_eq!(addr(t.connected), want(1), "socket {i}");
                assert_eq!(addr(t.message), want(5), "socket {i}");
            }
            assert!(TABLES.with(|t| t.borrow().len()) <= SHARED_TABLES);
        });
    }
}
