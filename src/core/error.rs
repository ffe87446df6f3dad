//! Errors of the safe core, and the Qt error and state values they map to.
//!
//! `Error` is what core calls return; the C boundary maps each variant to a stable
//! `qlocal_result` code (`crate::ffi::result`). `SocketError` and `SocketState` are Qt's
//! `QLocalSocket::LocalSocketError` / `LocalSocketState`; their numeric values (which C callers
//! compare one to one with Qt's) are written once, at the C boundary (`crate::ffi::result`).

use std::io;

/// Qt's `QLocalSocket::LocalSocketError` (plus `AddressInUse`, which Qt's server reports
/// as `QAbstractSocket::AddressInUseError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketError {
    ConnectionRefused,
    PeerClosed,
    ServerNotFound,
    SocketAccess,
    SocketResource,
    SocketTimeout,
    DatagramTooLarge,
    Connection,
    AddressInUse,
    UnsupportedSocketOperation,
    Operation,
    Unknown,
}

/// Qt's `QLocalSocket::LocalSocketState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketState {
    Unconnected,
    Connecting,
    Connected,
    Closing,
}

/// Everything a core call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    #[error("operation not permitted in this state: {0}")]
    WrongState(&'static str),
    #[error("called from a thread other than the one that owns the object's loop")]
    WrongThread,
    #[error("name too long: {len} bytes, at most {max} are allowed")]
    NameTooLong { len: usize, max: usize },
    #[error("name error: {0}")]
    InvalidName(&'static str),
    #[error("address in use")]
    AddressInUse,
    #[error("server not found")]
    ServerNotFound,
    #[error("connection refused")]
    ConnectionRefused,
    #[error("remote closed")]
    PeerClosed,
    #[error("permission denied")]
    AccessDenied,
    #[error("out of resources: {}", io::Error::from_raw_os_error(*.0))]
    ResourceExhausted(i32),
    #[error("socket operation timed out")]
    Timeout,
    #[error("connection error: {}", io::Error::from_raw_os_error(*.0))]
    Connection(i32),
    #[error("unexpected system error: {}", io::Error::from_raw_os_error(*.0))]
    Os(i32),
    /// `Server::remove_server` found something other than a socket file at the name.
    #[error("not a socket file")]
    NotASocket,
    /// The write queue is at its high-water mark (`set_write_buffer_limits`).
    #[error("the write queue is full (high-water mark)")]
    QueueFull,
    /// Not available on this system (the abstract namespace outside Linux).
    #[error("not supported on this system: {0}")]
    Unsupported(&'static str),
    /// A peer's message announced more bytes than the socket's maximum message size.
    #[error("a message of {size} bytes is larger than the maximum message size ({max})")]
    MessageTooLarge { size: u64, max: usize },
    /// Descriptors that came with the peer's bytes could not all be received: more than the
    /// socket's maximum with one write, or no descriptor free in this process.
    #[error(
        "descriptors from the peer were lost (more than {max} with one write, or no descriptor free in this process)"
    )]
    DescriptorsLost { max: usize },
}

/// Which side of a connection an OS error came from; Qt maps the same errno differently for
/// a server (`HostNotFound` "Name error") and a client (`ServerNotFound`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Server,
    Client,
}

impl Error {
    /// Maps an errno the way Qt's Unix backend does (`qlocalserver_unix.cpp::setError`,
    /// `qlocalsocket_unix.cpp::_q_connectToSocket`).
    #[cfg(unix)]
    pub fn from_errno(errno: i32, side: Side) -> Error {
        match errno {
            libc::ENOENT | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG | libc::EROFS => {
                match side {
                    Side::Server => Error::InvalidName("the directory of the name does not exist"),
                    Side::Client => Error::ServerNotFound,
                }
            }
            libc::ECONNREFUSED | libc::EINVAL => Error::ConnectionRefused,
            libc::EACCES | libc::EPERM => Error::AccessDenied,
            libc::EADDRINUSE => Error::AddressInUse,
            libc::ETIMEDOUT => Error::Timeout,
            libc::EPIPE | libc::ECONNRESET => Error::PeerClosed,
            libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => {
                Error::ResourceExhausted(errno)
            }
            _ => Error::Os(errno),
        }
    }

    /// Maps a Win32 error code the way Qt's Windows backend does (`qlocalsocket_win.cpp`):
    /// not found -> ServerNotFound (a server: a name error), access denied -> SocketAccess,
    /// a pipe that broke or closed -> PeerClosed (Qt: the pipe-closed path).
    #[cfg(windows)]
    pub fn from_errno(code: i32, side: Side) -> Error {
        // winerror.h
        const FILE_NOT_FOUND: i32 = 2;
        const PATH_NOT_FOUND: i32 = 3;
        const TOO_MANY_OPEN_FILES: i32 = 4;
        const ACCESS_DENIED: i32 = 5;
        const NOT_ENOUGH_MEMORY: i32 = 8;
        const OUTOFMEMORY: i32 = 14;
        const BROKEN_PIPE: i32 = 109;
        const SEM_TIMEOUT: i32 = 121;
        const INVALID_NAME: i32 = 123;
        const BAD_PATHNAME: i32 = 161;
        const PIPE_BUSY: i32 = 231;
        const NO_DATA: i32 = 232;
        const PIPE_NOT_CONNECTED: i32 = 233;
        const NO_SYSTEM_RESOURCES: i32 = 1450;
        match code {
            FILE_NOT_FOUND | PATH_NOT_FOUND | INVALID_NAME | BAD_PATHNAME => match side {
                Side::Server => Error::InvalidName("the pipe name is not valid"),
                Side::Client => Error::ServerNotFound,
            },
            ACCESS_DENIED => Error::AccessDenied,
            PIPE_BUSY | SEM_TIMEOUT => Error::Timeout,
            BROKEN_PIPE | NO_DATA | PIPE_NOT_CONNECTED => Error::PeerClosed,
            TOO_MANY_OPEN_FILES | NOT_ENOUGH_MEMORY | OUTOFMEMORY | NO_SYSTEM_RESOURCES => {
                Error::ResourceExhausted(code)
            }
            _ => Error::Os(code),
        }
    }

    /// Maps an error met while inspecting a descriptor the caller handed over: not a socket,
    /// not `AF_UNIX` or not connected are the caller's mistake (`InvalidArgument`).
    #[cfg(unix)]
    pub fn from_descriptor_io(e: &io::Error, side: Side) -> Error {
        match e.raw_os_error() {
            Some(libc::EBADF | libc::ENOTSOCK | libc::EAFNOSUPPORT) => {
                Error::InvalidArgument("the descriptor is not an AF_UNIX socket")
            }
            Some(libc::ENOTCONN) => Error::InvalidArgument("the descriptor is not connected"),
            _ => Error::from_io(e, side),
        }
    }

    pub fn from_io(e: &io::Error, side: Side) -> Error {
        #[cfg(unix)]
        const GENERIC: i32 = libc::EIO;
        #[cfg(windows)]
        const GENERIC: i32 = 31; // ERROR_GEN_FAILURE
        Error::from_errno(e.raw_os_error().unwrap_or(GENERIC), side)
    }

    /// What `QLocalSocket::errorString()` says after this error, without the function name Qt
    /// puts in front ("QLocalSocket: Remote closed"): Qt's text for the `LocalSocketError`
    /// this error maps to (qlocalsocket_unix.cpp), so ported code compares texts one to one.
    pub fn socket_text(&self) -> String {
        // Qt has no such errors: say what happened, after Qt's words for the error value.
        match self {
            Error::MessageTooLarge { size, max } => {
                return format!(
                    "Datagram too large: a message of {size} bytes exceeds the maximum message size ({max} bytes)"
                );
            }
            Error::DescriptorsLost { max } => {
                return format!(
                    "Socket resource error: descriptors from the peer were lost (more than {max} with one write, or no descriptor free in this process)"
                );
            }
            _ => {}
        }
        match self.socket_error() {
            SocketError::ConnectionRefused => "Connection refused".into(),
            SocketError::PeerClosed => "Remote closed".into(),
            SocketError::ServerNotFound => "Invalid name".into(),
            SocketError::SocketAccess => "Socket access error".into(),
            SocketError::SocketResource => "Socket resource error".into(),
            SocketError::SocketTimeout => "Socket operation timed out".into(),
            SocketError::DatagramTooLarge => "Datagram too large".into(),
            SocketError::Connection => "Connection error".into(),
            SocketError::AddressInUse => "Address in use".into(),
            SocketError::UnsupportedSocketOperation => {
                "The socket operation is not supported".into()
            }
            SocketError::Operation => "Operation not permitted when socket is in this state".into(),
            SocketError::Unknown => format!("Unknown error {}", self.errno()),
        }
    }

    /// What `QLocalServer::errorString()` says (after the function name), as Qt's server:
    /// "Name error", "Address in use", "Permission denied", else "Unknown error <errno>".
    pub fn server_text(&self) -> String {
        match self {
            Error::InvalidName(_) | Error::NameTooLong { .. } | Error::ServerNotFound => {
                "Name error".into()
            }
            Error::AddressInUse => "Address in use".into(),
            Error::AccessDenied => "Permission denied".into(),
            other => format!("Unknown error {}", other.errno()),
        }
    }

    /// The errno behind an error, for Qt's "Unknown error <errno>" (0 when there is none).
    fn errno(&self) -> i32 {
        match self {
            Error::ResourceExhausted(e) | Error::Connection(e) | Error::Os(e) => *e,
            _ => 0,
        }
    }

    /// The Qt error value a socket or server reports after this error.
    pub fn socket_error(&self) -> SocketError {
        match self {
            Error::InvalidArgument(_) | Error::InvalidName(_) | Error::NameTooLong { .. } => {
                SocketError::ServerNotFound
            }
            Error::WrongState(_) | Error::WrongThread => SocketError::Operation,
            Error::AddressInUse => SocketError::AddressInUse,
            Error::ServerNotFound => SocketError::ServerNotFound,
            Error::ConnectionRefused => SocketError::ConnectionRefused,
            Error::PeerClosed => SocketError::PeerClosed,
            Error::AccessDenied => SocketError::SocketAccess,
            Error::ResourceExhausted(_) => SocketError::SocketResource,
            Error::Timeout => SocketError::SocketTimeout,
            Error::Connection(_) => SocketError::Connection,
            Error::Os(_) => SocketError::Unknown,
            // Qt has no error for this (its removeServer deletes any file). What Qt code meets
            // next is the consequence: the file still holds the name, so listen on it fails
            // with AddressInUseError. Reporting that, rather than Unknown, tells it why.
            Error::NotASocket => SocketError::AddressInUse,
            Error::MessageTooLarge { .. } => SocketError::DatagramTooLarge,
            Error::Unsupported(_) => SocketError::UnsupportedSocketOperation,
            Error::QueueFull => SocketError::SocketResource,
            Error::DescriptorsLost { .. } => SocketError::SocketResource,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
