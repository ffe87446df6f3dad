//! Result codes, Qt's error and state enums as C sees them, and version information.

use crate::core::{Error, SocketError, SocketState};
use std::ffi::c_char;

/// Major version of the library this header belongs to (checked against `qlocal_version_string`).
pub const QLOCAL_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const QLOCAL_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const QLOCAL_VERSION_PATCH: u32 = 0;

/// What a fallible call returns. `QLOCAL_RESULT_OK` is 0; values are stable and never reused.
/// 1-99: misuse of the API; 100-199: what the system or the peer did.
/// Text for any value, known or not: `qlocal_result_string`.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qlocal_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// An argument is out of range or malformed.
    InvalidArgument = 2,
    /// The object is not in a state that allows the call (e.g. writing while unconnected,
    /// listening twice, running a loop from inside its own callback).
    WrongState = 3,
    /// The call came from a thread other than the one that created the object's loop.
    WrongThread = 4,
    /// The full server name is longer than Qt 6 allows: 106 bytes on Linux, 103 on macOS and the
    /// BSDs (their sun_path is 104 bytes); nothing was truncated.
    NameTooLong = 5,
    /// The name is empty, or its directory does not exist.
    InvalidName = 6,
    /// A panic inside the library was caught; the object may be unusable.
    Panic = 7,
    /// Not available on this system: the abstract namespace option outside Linux.
    Unsupported = 8,
    /// The name is in use (a live server, a stale socket file or any other file); nothing was touched.
    AddressInUse = 100,
    /// No such socket file (the path does not exist). An abstract name nobody listens on is
    /// QLOCAL_RESULT_CONNECTION_REFUSED instead, as in Qt 6: it has no file to be missing.
    ServerNotFound = 101,
    /// Nobody accepts on the name: a socket file nobody accepts on (e.g. a crashed server's
    /// stale file), or an abstract name nobody listens on (the kernel answers ECONNREFUSED).
    ConnectionRefused = 102,
    /// The peer closed the connection.
    PeerClosed = 103,
    /// Permission denied by the file system.
    AccessDenied = 104,
    /// Out of file descriptors or memory.
    ResourceExhausted = 105,
    /// The deadline passed first.
    Timeout = 106,
    /// The connection failed for another reason reported by the system.
    ConnectionError = 107,
    /// An unexpected system error; the object's error string has the details.
    SystemError = 108,
    /// `qlocal_server_remove_server` found a file at the name that is not a socket (a regular
    /// file, a directory, a symlink, a FIFO...); it was left alone.
    NotASocket = 109,
    /// A message from the peer announced more bytes than the socket's maximum message size
    /// (`qlocal_socket_set_max_message_size`); nothing was allocated for it, the socket
    /// reported QLOCAL_LOCAL_SOCKET_ERROR_DATAGRAM_TOO_LARGE and closed the connection.
    MessageTooLarge = 110,
    /// The write was refused whole: the queue would pass its high-water mark
    /// (`qlocal_socket_set_write_buffer_limits`); the write-drained callback follows once it is
    /// down to the low-water mark.
    QueueFull = 111,
    /// Descriptors the peer sent with its bytes could not all be received: more than the
    /// socket's maximum (`qlocal_socket_set_max_descriptors`) with one write, or no descriptor
    /// free in this process. The ones of that write were closed, the socket reported
    /// QLOCAL_LOCAL_SOCKET_ERROR_SOCKET_RESOURCE and the connection closes after the bytes that
    /// came before.
    DescriptorsLost = 112,
}

impl From<Error> for qlocal_result {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidArgument(_) => qlocal_result::InvalidArgument,
            Error::WrongState(_) => qlocal_result::WrongState,
            Error::WrongThread => qlocal_result::WrongThread,
            Error::NameTooLong { .. } => qlocal_result::NameTooLong,
            Error::InvalidName(_) => qlocal_result::InvalidName,
            Error::AddressInUse => qlocal_result::AddressInUse,
            Error::ServerNotFound => qlocal_result::ServerNotFound,
            Error::ConnectionRefused => qlocal_result::ConnectionRefused,
            Error::PeerClosed => qlocal_result::PeerClosed,
            Error::AccessDenied => qlocal_result::AccessDenied,
            Error::ResourceExhausted(_) => qlocal_result::ResourceExhausted,
            Error::Timeout => qlocal_result::Timeout,
            Error::Connection(_) => qlocal_result::ConnectionError,
            Error::Os(_) => qlocal_result::SystemError,
            Error::NotASocket => qlocal_result::NotASocket,
            Error::MessageTooLarge { .. } => qlocal_result::MessageTooLarge,
            Error::Unsupported(_) => qlocal_result::Unsupported,
            Error::QueueFull => qlocal_result::QueueFull,
            Error::DescriptorsLost { .. } => qlocal_result::DescriptorsLost,
        }
    }
}

/// The one table of result texts.
fn result_text(code: i32) -> Option<&'static std::ffi::CStr> {
    Some(match code {
        0 => c"success",
        1 => c"a required pointer argument was NULL",
        2 => c"invalid argument",
        3 => c"operation not permitted in the object's current state",
        4 => c"called from a thread other than the one that owns the object's loop",
        5 => c"name too long (at most 106 bytes on Linux, 103 on macOS and the BSDs)",
        6 => c"invalid name (empty, or its directory does not exist)",
        7 => c"internal panic caught at the C boundary",
        8 => c"not supported on this system",
        100 => c"address in use",
        101 => c"server not found",
        102 => c"connection refused",
        103 => c"peer closed the connection",
        104 => c"access denied",
        105 => c"out of resources (file descriptors or memory)",
        106 => c"timed out",
        107 => c"connection error",
        108 => c"unexpected system error",
        109 => c"the name holds a file that is not a socket; it was left alone",
        110 => c"a message from the peer is larger than the maximum message size; the connection was closed",
        111 => c"the write queue is at its high-water mark; nothing was queued",
        112 => c"descriptors from the peer were lost (too many with one write, or none free); the connection closes",
        _ => return None,
    })
}

/// Text describing a result code. Takes any integer (unknown codes give "unknown result code").
/// Returns a static NUL-terminated string: never NULL, never to be freed. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_result_string(code: i32) -> *const c_char {
    result_text(code).unwrap_or(c"unknown result code").as_ptr()
}

/// The library's version, e.g. "0.1.0": static, never NULL. Compare with QLOCAL_VERSION_* to
/// detect a header/library mismatch. Any thread.
#[unsafe(no_mangle)]
pub extern "C" fn qlocal_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Qt's `QLocalSocket::LocalSocketError` values, returned by `qlocal_local_socket_error` and
/// `qlocal_server_error` and passed to error callbacks.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qlocal_local_socket_error {
    /// Connection refused by the peer (or timed out). Also: a stale socket file, and an abstract
    /// name nobody listens on (as in Qt 6).
    ConnectionRefused = 0,
    /// The remote socket closed the connection.
    PeerClosed = 1,
    /// The name was not found: no such socket file (servers: Qt's HostNotFoundError, "name
    /// error"). Never for an abstract name (see CONNECTION_REFUSED).
    ServerNotFound = 2,
    /// Permission denied.
    SocketAccess = 3,
    /// Out of resources (file descriptors, memory).
    SocketResource = 4,
    /// An operation timed out.
    SocketTimeout = 5,
    /// Qt's DatagramTooLargeError (Qt never reports it on Unix); qlocal reports it when a
    /// peer's message is larger than the maximum message size.
    DatagramTooLarge = 6,
    /// A connection error reported by the system.
    Connection = 7,
    /// The name is in use (servers; Qt's QAbstractSocket::AddressInUseError).
    AddressInUse = 8,
    /// The operation is not supported by the system.
    UnsupportedSocketOperation = 10,
    /// The operation is not allowed in the current state.
    Operation = 19,
    /// No error, or an unidentified one (Qt's default).
    Unknown = -1,
}

impl From<SocketError> for qlocal_local_socket_error {
    fn from(e: SocketError) -> Self {
        match e {
            SocketError::ConnectionRefused => Self::ConnectionRefused,
            SocketError::PeerClosed => Self::PeerClosed,
            SocketError::ServerNotFound => Self::ServerNotFound,
            SocketError::SocketAccess => Self::SocketAccess,
            SocketError::SocketResource => Self::SocketResource,
            SocketError::SocketTimeout => Self::SocketTimeout,
            SocketError::DatagramTooLarge => Self::DatagramTooLarge,
            SocketError::Connection => Self::Connection,
            SocketError::AddressInUse => Self::AddressInUse,
            SocketError::UnsupportedSocketOperation => Self::UnsupportedSocketOperation,
            SocketError::Operation => Self::Operation,
            SocketError::Unknown => Self::Unknown,
        }
    }
}

/// Qt's `QLocalSocket::LocalSocketState` values.
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qlocal_local_socket_state {
    /// Not connected.
    Unconnected = 0,
    /// A connect is under way (a full listen backlog is being retried).
    Connecting = 2,
    /// Connected.
    Connected = 3,
    /// Closing gracefully: queued bytes are still being written.
    Closing = 6,
}

/// Qt's `QIODevice::OpenMode` values a socket reports (`qlocal_socket_open_mode`).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum qlocal_open_mode {
    /// Not open.
    NotOpen = 0,
    /// Open for reading.
    ReadOnly = 1,
    /// Open for writing.
    WriteOnly = 2,
    /// Open for reading and writing.
    ReadWrite = 3,
}

impl From<SocketState> for qlocal_local_socket_state {
    fn from(s: SocketState) -> Self {
        match s {
            SocketState::Unconnected => Self::Unconnected,
            SocketState::Connecting => Self::Connecting,
            SocketState::Connected => Self::Connected,
            SocketState::Closing => Self::Closing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn every_code_has_unique_text_and_unknown_codes_are_safe() {
        let mut seen = std::collections::HashSet::new();
        for code in (0..=8).chain(100..=112) {
            let t = result_text(code).expect("known code");
            assert!(seen.insert(t), "duplicate text for {code}");
        }
        for code in [-1, 9, 99, 113, i32::MAX, i32::MIN] {
            // SAFETY: qlocal_result_string returns a static NUL-terminated string.
            let s = unsafe { CStr::from_ptr(qlocal_result_string(code)) };
            assert_eq!(s.to_str().unwrap(), "unknown result code");
        }
    }

    #[test]
    fn version_macros_match_the_crate() {
        assert_eq!(
            format!("{QLOCAL_VERSION_MAJOR}.{QLOCAL_VERSION_MINOR}.{QLOCAL_VERSION_PATCH}"),
            env!("CARGO_PKG_VERSION")
        );
        // SAFETY: static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(qlocal_version_string()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
