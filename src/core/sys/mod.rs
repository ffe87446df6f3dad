//! The platform layer: every system call the core makes, behind one interface with a Unix
//! (`AF_UNIX` sockets) and a Windows (named pipes) implementation. Both give:
//!
//! - `Stream`: a connected byte stream (Unix: the socket's `OwnedFd`; Windows: an overlapped
//!   pipe handle driven by mio's `NamedPipe`), with `send`, `send_vectored`, `read_into`,
//!   `discard` (all non-blocking, `WouldBlock` when the system has no room or no data);
//! - `register`/`reregister`/`deregister`: a `Stream` in the loop's `mio::Registry`;
//! - `WaitKey`/`wait_key`: what a blocking wait on one stream waits on (Unix: its descriptor,
//!   polled on its own; Windows: its token, whose events the loop's port delivers);
//! - `RawDescriptor`/`raw`: the descriptor as C sees it (`qlocal_descriptor`);
//! - `pause`: the pacing of connect retries past a full backlog or a busy pipe.
//!
//! The listening side differs too much to share a type (a socket vs. a pool of pipe
//! instances): each server backend (`server/unix.rs`, `server/windows.rs`) uses its system's
//! calls from here.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

/// Who is at the other end of a connected socket, as the kernel recorded it at connect time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerCredentials {
    /// The peer's process id, where the system says (Linux, macOS); `None` elsewhere.
    pub pid: Option<i32>,
    pub uid: u32,
    pub gid: u32,
}
