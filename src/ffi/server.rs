//! `qlocal_server_*`: QLocalServer.

use super::cast::{self, qlocal_loop, qlocal_server, qlocal_socket};
use super::guard::{guard, result};
use super::result::{qlocal_local_socket_error, qlocal_result};
use super::socket::install_callbacks;
use super::text::CText;
use super::userdata::{UserData, qlocal_finalizer};
use crate::core::{Server, ServerObserver, ServerOptions};
use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_char, c_void};
use std::ptr::NonNull;
use std::rc::Rc;

/// `QLocalServer::UserAccessOption`: socket file mode 0700.
pub const QLOCAL_SERVER_USER_ACCESS: u32 = 0x01;
/// `QLocalServer::GroupAccessOption`: socket file mode 0070.
pub const QLOCAL_SERVER_GROUP_ACCESS: u32 = 0x02;
/// `QLocalServer::OtherAccessOption`: socket file mode 0007.
pub const QLOCAL_SERVER_OTHER_ACCESS: u32 = 0x04;
/// `QLocalServer::WorldAccessOption`: socket file mode 0777.
pub const QLOCAL_SERVER_WORLD_ACCESS: u32 = 0x07;
/// `QLocalServer::AbstractNamespaceOption`: Linux abstract address, no file (access bits ignored).
pub const QLOCAL_SERVER_ABSTRACT_NAMESPACE: u32 = 0x08;
/// Not Qt's (0x100, outside Qt's bits): connections from another user id are closed at accept,
/// before any callback sees them (the peer's credentials, see `qlocal_socket_peer_credentials`).
pub const QLOCAL_SERVER_CURRENT_USER_ONLY: u32 = 0x100;
/// Not Qt's (0x200): `qlocal_server_listen` on a name held by a socket file nobody accepts on
/// (its server died) removes that file and listens; a live server's name, or any other file,
/// still gives QLOCAL_RESULT_ADDRESS_IN_USE and is left alone. Reclaimers in one directory take
/// turns (an flock on the directory, at most 2 s: QLOCAL_RESULT_TIMEOUT), so of two servers
/// reclaiming one name at once exactly one listens.
pub const QLOCAL_SERVER_RECLAIM_STALE: u32 = 0x200;

/// Called on the loop's thread once for every accepted connection (Qt's `newConnection`).
pub type qlocal_server_cb =
    Option<unsafe extern "C" fn(userdata: *mut c_void, server: *mut qlocal_server)>;

/// Qt's `incomingConnection(socketDescriptor)`: an accepted connection's descriptor, which the
/// callback owns from now on (see `qlocal_server_set_incoming_connection_callback`).
pub type qlocal_server_incoming_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        server: *mut qlocal_server,
        socket_descriptor: cast::qlocal_descriptor,
    ),
>;

struct ServerCallbacks {
    userdata: UserData,
    new_connection: Cell<qlocal_server_cb>,
    incoming: Cell<qlocal_server_incoming_cb>,
    server_name: CText,
    full_server_name: CText,
    error_string: CText,
}

impl ServerObserver for ServerCallbacks {
    fn new_connection(&self, server: &Rc<Server>) {
        if let Some(cb) = self.new_connection.get() {
            // SAFETY: the caller registered cb for this server and userdata.
            unsafe {
                cb(
                    self.userdata.get(),
                    cast::handle_of::<qlocal_server>(server),
                )
            };
        }
    }
    #[cfg(unix)]
    fn incoming_connection(
        &self,
        server: &Rc<Server>,
        fd: std::os::fd::OwnedFd,
    ) -> Option<std::os::fd::OwnedFd> {
        use std::os::fd::IntoRawFd;
        let Some(cb) = self.incoming.get() else {
            return Some(fd);
        };
        let raw = fd.into_raw_fd() as cast::qlocal_descriptor;
        // SAFETY: the caller registered cb for this server and userdata; it owns `raw` now.
        unsafe {
            cb(
                self.userdata.get(),
                cast::handle_of::<qlocal_server>(server),
                raw,
            )
        };
        None
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn with_callbacks(s: &Server, f: impl FnOnce(&ServerCallbacks)) {
    if let Some(o) = s.observer() {
        if let Some(c) = o.as_any().downcast_ref::<ServerCallbacks>() {
            f(c);
        }
    }
}

/// One of the server's texts as a C string it owns ("" for NULL or the wrong thread).
fn text(
    server: Option<NonNull<qlocal_server>>,
    pick: impl FnOnce(&Server, &ServerCallbacks) -> *const c_char,
) -> *const c_char {
    guard(|| {
        let mut p = c"".as_ptr();
        if let Ok(s) = cast::borrow(server) {
            with_callbacks(&s, |c| p = pick(&s, c));
        }
        p
    })
}

/// Qt's option bits to the core's options. Unknown bits: None.
fn options_from_bits(bits: u32) -> Option<ServerOptions> {
    if bits
        & !(QLOCAL_SERVER_WORLD_ACCESS
            | QLOCAL_SERVER_ABSTRACT_NAMESPACE
            | QLOCAL_SERVER_CURRENT_USER_ONLY
            | QLOCAL_SERVER_RECLAIM_STALE)
        != 0
    {
        return None;
    }
    Some(ServerOptions {
        user_access: bits & QLOCAL_SERVER_USER_ACCESS != 0,
        group_access: bits & QLOCAL_SERVER_GROUP_ACCESS != 0,
        other_access: bits & QLOCAL_SERVER_OTHER_ACCESS != 0,
        abstract_namespace: bits & QLOCAL_SERVER_ABSTRACT_NAMESPACE != 0,
        current_user_only: bits & QLOCAL_SERVER_CURRENT_USER_ONLY != 0,
        reclaim_stale: bits & QLOCAL_SERVER_RECLAIM_STALE != 0,
    })
}

fn options_to_bits(o: ServerOptions) -> u32 {
    let mut bits = 0;
    for (on, bit) in [
        (o.user_access, QLOCAL_SERVER_USER_ACCESS),
        (o.group_access, QLOCAL_SERVER_GROUP_ACCESS),
        (o.other_access, QLOCAL_SERVER_OTHER_ACCESS),
        (o.abstract_namespace, QLOCAL_SERVER_ABSTRACT_NAMESPACE),
        (o.current_user_only, QLOCAL_SERVER_CURRENT_USER_ONLY),
        (o.reclaim_stale, QLOCAL_SERVER_RECLAIM_STALE),
    ] {
        if on {
            bits |= bit;
        }
    }
    bits
}

/// Creates a server on `event_loop` (not listening; max pending connections 30, listen backlog 50,
/// no options). On success writes it to `*server_out`; destroy it with `qlocal_server_destroy`.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_new(
    event_loop: Option<NonNull<qlocal_loop>>,
    server_out: Option<&mut *mut qlocal_server>,
) -> qlocal_result {
    result(|| {
        let l = cast::borrow(event_loop)?;
        let out = server_out.ok_or(qlocal_result::NullArgument)?;
        let s = Server::new(&l);
        s.set_observer(Some(Rc::new(ServerCallbacks {
            userdata: UserData::new(),
            new_connection: Cell::new(None),
            incoming: Cell::new(None),
            server_name: CText::default(),
            full_server_name: CText::default(),
            error_string: CText::default(),
        })));
        *out = cast::into_handle::<qlocal_server>(s);
        Ok(())
    })
}

/// Destroys the server: closes it (untaken pending connections are closed, the socket file is
/// removed if still ours), runs the userdata finalizer, frees it. NULL is a no-op. Safe inside
/// any callback, including this server's own (the finalizer then runs when that callback
/// returns). No callback of the server runs after this returns. Sockets already taken with
/// `qlocal_server_next_pending_connection` are not affected.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_destroy(server: Option<NonNull<qlocal_server>>) -> qlocal_result {
    result(|| {
        if let Some(s) = cast::take(server)? {
            s.destroy();
        }
        Ok(())
    })
}

/// Qt's `deleteLater()`: the server is destroyed (as `qlocal_server_destroy`) when control
/// returns to the loop, from its next turn. The handle is the loop's from this call on. If the
/// loop is destroyed first, the server is destroyed with it. NULL is a no-op; another thread:
/// QLOCAL_RESULT_WRONG_THREAD (nothing happens).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_destroy_later(
    server: Option<NonNull<qlocal_server>>,
) -> qlocal_result {
    result(|| {
        if let Some(s) = cast::take(server)? {
            let lp = s.event_loop().clone();
            super::event_loop::destroy_later(&lp, s, Server::destroy);
        }
        Ok(())
    })
}

/// Listens on `name` (NUL-terminated; see the README for Qt's name rules: absolute path,
/// `$TMPDIR`-relative name, or abstract name with QLOCAL_SERVER_ABSTRACT_NAMESPACE).
/// Errors: QLOCAL_RESULT_WRONG_STATE when already listening; QLOCAL_RESULT_INVALID_NAME for an
/// empty name or a missing directory; QLOCAL_RESULT_NAME_TOO_LONG over 106 bytes;
/// QLOCAL_RESULT_ADDRESS_IN_USE when the name is taken by a live server, a stale socket file or
/// any file (nothing is touched: remove a stale file with `qlocal_server_remove_server`);
/// QLOCAL_RESULT_ACCESS_DENIED. Failures also set `qlocal_server_error`/`_error_string`.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_listen(
    server: Option<NonNull<qlocal_server>>,
    name: Option<&c_char>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        Ok(s.listen(cast::c_str(name)?)?)
    })
}

/// Qt's `listen(qintptr)`: listens on `fd`, a bound and listening AF_UNIX stream socket (socket
/// activation, a descriptor inherited from a parent). Names come from its address (a path: full
/// name = path, server name = last component; an abstract address also sets
/// QLOCAL_SERVER_ABSTRACT_NAMESPACE; unnamed: empty names). On OK the server owns `fd` (closed
/// by close/destroy; the socket file, which it did not create, is never removed); on failure
/// the caller still owns it: QLOCAL_RESULT_INVALID_ARGUMENT when `fd` is not a listening AF_UNIX
/// stream socket, QLOCAL_RESULT_WRONG_STATE when already listening.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_listen_descriptor(
    server: Option<NonNull<qlocal_server>>,
    fd: cast::qlocal_descriptor,
) -> qlocal_result {
    result(|| Ok(cast::borrow(server)?.listen_descriptor(cast::descriptor(fd)?)?))
}

/// Stops listening (Qt's `close`). Harmless when not listening.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_close(server: Option<NonNull<qlocal_server>>) -> qlocal_result {
    result(|| {
        cast::borrow(server)?.close();
        Ok(())
    })
}

/// True while listening. False for NULL or the wrong thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_is_listening(server: Option<NonNull<qlocal_server>>) -> bool {
    guard(|| cast::borrow(server).is_ok_and(|s| s.is_listening()))
}

/// The name given to `listen` ("" when not listening). Owned by the server; valid until the
/// next listen/close/destroy. "" for NULL or the wrong thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_server_name(
    server: Option<NonNull<qlocal_server>>,
) -> *const c_char {
    text(server, |s, c| c.server_name.get(&s.server_name()))
}

/// The full path (or abstract name) listened on ("" when not listening). Same lifetime as
/// `qlocal_server_server_name`.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_full_server_name(
    server: Option<NonNull<qlocal_server>>,
) -> *const c_char {
    text(server, |s, c| c.full_server_name.get(&s.full_server_name()))
}

/// Sets how many accepted connections may wait untaken (default 30). Beyond that, clients
/// wait in the kernel's listen backlog. Negative values: QLOCAL_RESULT_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_set_max_pending_connections(
    server: Option<NonNull<qlocal_server>>,
    max: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        let max = usize::try_from(max).map_err(|_| qlocal_result::InvalidArgument)?;
        s.set_max_pending_connections(max);
        Ok(())
    })
}

/// The maximum of pending connections; -1 for NULL or the wrong thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_max_pending_connections(
    server: Option<NonNull<qlocal_server>>,
) -> i32 {
    guard(|| {
        cast::borrow(server).map_or(-1, |s| {
            s.max_pending_connections().min(i32::MAX as usize) as i32
        })
    })
}

/// Sets the kernel listen backlog used by the next `listen` (default 50, Qt 6.3+).
/// Negative values: QLOCAL_RESULT_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_set_listen_backlog_size(
    server: Option<NonNull<qlocal_server>>,
    size: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        if size < 0 {
            return Err(qlocal_result::InvalidArgument);
        }
        s.set_listen_backlog_size(size);
        Ok(())
    })
}

/// The listen backlog size; -1 for NULL or the wrong thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_listen_backlog_size(server: Option<NonNull<qlocal_server>>) -> i32 {
    guard(|| cast::borrow(server).map_or(-1, |s| s.listen_backlog_size()))
}

/// Sets QLOCAL_SERVER_* option bits for the next `listen`. Unknown bits:
/// QLOCAL_RESULT_INVALID_ARGUMENT.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_set_socket_options(
    server: Option<NonNull<qlocal_server>>,
    options: u32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        s.set_options(options_from_bits(options).ok_or(qlocal_result::InvalidArgument)?);
        Ok(())
    })
}

/// The option bits as set (0 for NULL or the wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_socket_options(server: Option<NonNull<qlocal_server>>) -> u32 {
    guard(|| cast::borrow(server).map_or(0, |s| options_to_bits(s.options())))
}

/// True when an accepted connection waits to be taken.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_has_pending_connections(
    server: Option<NonNull<qlocal_server>>,
) -> bool {
    guard(|| cast::borrow(server).is_ok_and(|s| s.has_pending_connections()))
}

/// Takes the oldest pending connection. On OK writes it to `*socket_out`, or NULL when none is
/// pending. The caller owns the socket and must destroy it with `qlocal_socket_destroy`; it
/// lives on the server's loop and is independent of the server from now on.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_next_pending_connection(
    server: Option<NonNull<qlocal_server>>,
    socket_out: Option<&mut *mut qlocal_socket>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        let out = socket_out.ok_or(qlocal_result::NullArgument)?;
        *out = match s.next_pending_connection() {
            Some(sock) => {
                // A socket given with add_pending_connection keeps its callbacks.
                if sock.observer().is_none() {
                    install_callbacks(&sock);
                }
                cast::into_handle::<qlocal_socket>(sock)
            }
            None => std::ptr::null_mut(),
        };
        Ok(())
    })
}

/// Blocks up to `timeout_ms` (-1: no bound) for a connection. OK when one is pending (at once
/// if one already was; the new-connection callback runs for a newly accepted one);
/// QLOCAL_RESULT_TIMEOUT when time ran out; QLOCAL_RESULT_WRONG_STATE when not listening.
/// Accepts one connection even when max pending connections is 0, as Qt does.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_wait_for_new_connection(
    server: Option<NonNull<qlocal_server>>,
    timeout_ms: i32,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        Ok(s.wait_for_new_connection(cast::timeout(timeout_ms)?)?)
    })
}

/// Sets the new-connection callback (NULL removes it).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_set_new_connection_callback(
    server: Option<NonNull<qlocal_server>>,
    callback: qlocal_server_cb,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        with_callbacks(&s, |c| c.new_connection.set(callback));
        Ok(())
    })
}

/// Qt's `incomingConnection` override: with a callback set, each accepted connection is given
/// to it as a descriptor (`socket_descriptor`, which the callback owns from then on) instead of
/// joining the pending queue, and no new-connection callback follows for it. The callback may
/// adopt it (`qlocal_socket_set_socket_descriptor`, on this loop or another thread's) and hand
/// the socket to `qlocal_server_add_pending_connection`, or close it. NULL restores Qt's default
/// (every connection becomes a pending one). The maximum of pending connections still counts
/// only the pending queue. Loop thread. Windows: QLOCAL_RESULT_UNSUPPORTED for a non-NULL
/// callback: an accepted pipe instance is already bound to the server loop's completion port,
/// and a handle can be bound to one port only, so no socket could adopt it.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_set_incoming_connection_callback(
    server: Option<NonNull<qlocal_server>>,
    callback: qlocal_server_incoming_cb,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        if cfg!(windows) && callback.is_some() {
            // The hook hands out descriptors; pipe handles are not adopted on Windows.
            return Err(qlocal_result::Unsupported);
        }
        with_callbacks(&s, |c| c.incoming.set(callback));
        s.set_incoming_hook(callback.is_some());
        Ok(())
    })
}

/// Qt's `addPendingConnection`: `socket` joins the pending queue and the new-connection
/// callback follows from the loop; `qlocal_server_next_pending_connection` gives it back (with
/// its callbacks and userdata). On OK the server owns the handle until then (destroying the
/// server destroys it); on failure the caller still does: QLOCAL_RESULT_INVALID_ARGUMENT when
/// the socket belongs to another loop. Loop thread.
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_add_pending_connection(
    server: Option<NonNull<qlocal_server>>,
    socket: Option<NonNull<qlocal_socket>>,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        let sock = cast::borrow(socket)?;
        s.add_pending_connection(Rc::clone(&sock))?;
        // The handle's reference now belongs to the queue (which holds its own clone):
        // release the caller's.
        drop(cast::take(socket)?);
        Ok(())
    })
}

/// Qt's default `incomingConnection`, for a descriptor the incoming-connection callback was
/// given: it becomes a pending connection like any accepted one (its new-connection callback
/// follows; inside the incoming-connection callback, in the same turn). On OK the server owns
/// `fd`; on failure the caller still does (QLOCAL_RESULT_INVALID_ARGUMENT when it is not a
/// connected stream socket). Loop thread. Windows: QLOCAL_RESULT_UNSUPPORTED (there is no
/// incoming-connection callback there; adopt a pipe handle with
/// `qlocal_socket_set_socket_descriptor` and queue the socket with
/// `qlocal_server_add_pending_connection`).
#[must_use]
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_add_pending_descriptor(
    server: Option<NonNull<qlocal_server>>,
    fd: cast::qlocal_descriptor,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        #[cfg(unix)]
        return Ok(s.add_pending_descriptor(cast::descriptor(fd)?)?);
        #[cfg(windows)]
        {
            let _ = (s, fd);
            Err(qlocal_result::Unsupported)
        }
    })
}

/// Sets the userdata passed to the server's callbacks, and its finalizer (may be NULL). A
/// previous userdata's finalizer runs now; this one runs on destroy or the next replacement.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_set_userdata(
    server: Option<NonNull<qlocal_server>>,
    userdata: *mut c_void,
    finalizer: qlocal_finalizer,
) -> qlocal_result {
    result(|| {
        let s = cast::borrow(server)?;
        with_callbacks(&s, |c| c.userdata.replace(userdata, finalizer));
        Ok(())
    })
}

/// The userdata set with `qlocal_server_set_userdata` (NULL if none, NULL handle or wrong thread).
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_userdata(server: Option<NonNull<qlocal_server>>) -> *mut c_void {
    guard(|| {
        let mut ud = std::ptr::null_mut();
        if let Ok(s) = cast::borrow(server) {
            with_callbacks(&s, |c| ud = c.userdata.get());
        }
        ud
    })
}

/// The server's last error (Qt's `serverError()`): QLOCAL_SOCKET_ERROR_UNKNOWN when none.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_error(
    server: Option<NonNull<qlocal_server>>,
) -> qlocal_local_socket_error {
    guard(|| cast::borrow(server).map_or(qlocal_local_socket_error::Unknown, |s| s.error().into()))
}

/// Text of the server's last error ("" when none). Owned by the server; valid until its next
/// failing call, listen, close or destroy.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_error_string(
    server: Option<NonNull<qlocal_server>>,
) -> *const c_char {
    text(server, |s, c| {
        c.error_string.get(s.error_string().as_bytes())
    })
}

/// The listening descriptor (`intptr_t`, Qt's `qintptr`), or -1 when not listening. Owned by
/// the server.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_socket_descriptor(
    server: Option<NonNull<qlocal_server>>,
) -> cast::qlocal_descriptor {
    guard(|| cast::borrow(server).map_or(-1, |s| s.descriptor() as cast::qlocal_descriptor))
}

/// Qt's static `removeServer`: removes the socket file a server named `name` would use (e.g.
/// after a crash left a stale one). OK when it is gone or never existed. Unlike Qt, which
/// deletes any file type, anything other than a socket file (a regular file, a directory, a
/// symlink even to a socket, a FIFO) is left alone: QLOCAL_RESULT_NOT_A_SOCKET. `name` is
/// always resolved as a path (there is no options argument, as in Qt): an abstract server has
/// no file, so nothing is done for it (OK unless a file of that path name exists). Other
/// errors: QLOCAL_RESULT_INVALID_NAME (empty name), QLOCAL_RESULT_NAME_TOO_LONG,
/// QLOCAL_RESULT_ACCESS_DENIED. Type check and unlink are two steps: a file swapped in between
/// them is removed, so still call it only for a name you own. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_server_remove_server(name: Option<&c_char>) -> qlocal_result {
    result(|| Ok(Server::remove_server(cast::c_str(name)?)?))
}
