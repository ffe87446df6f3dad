//! The safe core: everything qlocal does, with no knowledge of C.
//!
//! - `event_loop`: the reactor (mio), timers, deferred work, thread ownership;
//!   `port_windows`: its completion port on Windows, and the watcher thread that makes it
//!   waitable for embedding;
//! - `name`: Qt's rules from a server name to an `AF_UNIX` address (`name.rs`) or a pipe name
//!   (`name_windows.rs`);
//! - `server`, `socket`: `QLocalServer` and `QLocalSocket` behaviour; `timer`: `QTimer`;
//! - `buffer`: byte queues; `spare`: per-thread spare allocations; `sys`: the platform layer (`sys/unix.rs`, `sys/windows.rs`), every
//!   system call; `error`: errors and Qt's values.

pub mod buffer;
pub mod error;
pub mod event_loop;
#[cfg_attr(windows, path = "name_windows.rs")]
pub mod name;
#[cfg(windows)]
mod port_windows;
#[cfg(windows)]
mod retire_windows;
pub mod server;
pub mod socket;
mod spare;
pub(crate) mod sys;
pub mod timer;

pub use error::{Error, SocketError, SocketState};
pub use event_loop::{EventLoop, RunMode, RunOutcome};
pub use server::{Server, ServerObserver, ServerOptions};
pub use socket::{MAX_MESSAGE_SIZE, MessageInfo, OpenMode, Socket, SocketEvent, SocketObserver};
pub use sys::PeerCredentials;
pub use timer::{Timer, TimerObserver};
