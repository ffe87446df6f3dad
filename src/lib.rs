//! qlocal: Qt's `QLocalServer`/`QLocalSocket` behaviour behind a stable C ABI.
//!
//! `core` holds all logic in safe Rust; `ffi` is the C boundary (`include/qlocal.h` is generated
//! from it by cbindgen).
#![deny(unsafe_op_in_unsafe_fn)]

pub mod core;
pub mod ffi;
