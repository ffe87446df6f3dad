//! A per-thread spare: the last drained allocation of a kind, kept for the next user on the
//! same thread (a loop serving many connections one event at a time then allocates nothing
//! per event, and idle objects hold nothing). During a thread's teardown nothing is taken and
//! what is given back is simply freed.

use std::cell::Cell;
use std::thread::LocalKey;

/// The spare in `slot` (the default when there is none).
pub(crate) fn take<T: Default>(slot: &'static LocalKey<Cell<T>>) -> T {
    slot.try_with(Cell::take).unwrap_or_default()
}

/// Makes `value` the spare in `slot` (the one there before is freed).
pub(crate) fn give<T>(slot: &'static LocalKey<Cell<T>>, value: T) {
    let _ = slot.try_with(|s| s.set(value));
}
