//! The C boundary. Each file is one C "class" and only checks arguments, converts handles
//! (`cast`), runs the body inside the panic guard (`guard`) and maps errors to codes
//! (`result`). Conventions for every function:
//! - fallible calls return `qlocal_result` (`QLOCAL_RESULT_OK` = 0);
//! - output parameters come last and are written only on success;
//! - a `(pointer, length)` or `(buffer, capacity)` pair goes through `cast::in_bytes` /
//!   `cast::out_bytes`: NULL only with length 0, at most `PTRDIFF_MAX` bytes, no wrap past
//!   the end of the address space (`QLOCAL_RESULT_INVALID_ARGUMENT`);
//! - an object belongs to the thread that created its loop; calls from another thread return
//!   `QLOCAL_RESULT_WRONG_THREAD` (only `qlocal_loop_stop`/`qlocal_loop_wakeup` and the
//!   thread-free functions may be called from anywhere);
//! - callbacks run only on that thread, inside `qlocal_loop_run` or a wait call, and never
//!   from inside the call that caused them; they must not throw or unwind;
//! - every object has one `_destroy`; `_destroy(NULL)` is a no-op; destroying inside a callback
//!   is safe.

#![allow(non_camel_case_types)]
// These functions are called from C with raw pointers whose validity is the caller's contract
// (stated in each doc comment); marking them `unsafe` would change nothing for C callers.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod cast;
pub mod event_loop;
pub(crate) mod guard;
pub mod result;
pub mod server;
pub mod socket;
pub(crate) mod text;
pub mod timer;
pub mod userdata;

pub use cast::{qlocal_loop, qlocal_server, qlocal_socket, qlocal_timer};
