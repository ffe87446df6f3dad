//! Closed pipes whose overlapped I/O is still under way (Windows).
//!
//! mio's `NamedPipe` closes its handle only when the last of its overlapped operations has
//! come back through the loop's port: a drop cancels the pending read, never the write (so
//! that a graceful close still delivers it). A pipe closed with its last write in flight
//! therefore stays open until its peer reads that write, and only a poll of the port lets
//! the handle go. Two pipes closed that way, each with a write to the other and nobody left
//! reading, stayed open for ever; a loop destroyed before its port was polled again leaked
//! the handle and left the peer without its end of stream.
//!
//! So a socket that closes its pipe hands it to its loop (`EventLoop::retire`), which keeps it
//! under a token of its own and:
//!
//! 1. while its write is in flight, reads and drops what arrives (as a Unix socket's kernel
//!    does for a closed socket), so that a peer whose write waits for us can finish too. The
//!    first writable event under the new token says the write is done: mio reports
//!    writability when it is re-registered with no write in flight, or else when that write
//!    completes (the events of earlier moments carry the socket's old token, which is gone);
//!    the end of the peer's stream ends the wait as well (no write can finish then);
//! 2. then cancels what is left (the read), takes a `sys::CloseWatch`, and drops the pipe; it
//!    stays registered, so each operation that comes back through the port is an event for
//!    its token, and after each the watch tells whether mio closed the handle (and, while it
//!    has not, cancels what mio started since: a server instance's connect that a client
//!    completed just before the cancel makes mio start a read, which held the handle, and
//!    the client's end open, until the client wrote or closed). Some closes come with no
//!    event for that token: a server instance's cancelled connect that finds the pipe still
//!    listening reports nothing, and an event mio posted to the port before the socket closed
//!    (its writability at a registration) comes back under the socket's old token, and its
//!    return can be the last hold on the handle. So the loop checks every dropped pipe after
//!    each poll (`EventLoop::check_unheard`); there are few, each for a poll or two;
//! 3. once it has, closes the watch's duplicate (the peer sees the end then) and forgets the
//!    token.
//!
//! An abandoned pipe (abort, a destroy that neither lingers nor follows a flushed graceful
//! close, a linger deadline; a server's instance, waiting or failed, or accepted and never
//! handed out) goes to step 2 at once. Closing the loop (and dropping it), which nobody polls
//! afterwards, polls the port itself: the pipes in step 1 get `FLUSH_DEADLINE` for their peers
//! to read their last write (it was reported written: cancelling it at once would cut the
//! peer's stream short), the rest are cancelled then, and their handles close within
//! `CANCEL_DEADLINE`.

use super::event_loop::{EventLoop, Handler, Ready};
use super::sys;
use mio::Token;
use std::cell::{Cell, RefCell};
use std::rc::Weak;
use std::time::Duration;

/// How long closing a loop waits for the peers of its closed pipes to read their last write.
pub(crate) const FLUSH_DEADLINE: Duration = Duration::from_secs(5);
/// How long it then waits for the cancelled operations to come back through the port (they
/// come back at once; this bounds the wait should the system not).
pub(crate) const CANCEL_DEADLINE: Duration = Duration::from_secs(2);

pub(crate) struct Retiring {
    lp: Weak<EventLoop>,
    token: Cell<Token>,
    /// The pipe, while its write may be in flight (step 1).
    stream: RefCell<Option<sys::Stream>>,
    /// After the drop (step 2): tells when mio closed the handle.
    watch: RefCell<Option<sys::CloseWatch>>,
    done: Cell<bool>,
}

impl Retiring {
    pub(crate) fn new(lp: Weak<EventLoop>, stream: sys::Stream) -> Retiring {
        Retiring {
            lp,
            token: Cell::new(Token(0)),
            stream: RefCell::new(Some(stream)),
            watch: RefCell::new(None),
            done: Cell::new(false),
        }
    }

    /// Dropped (step 2), not closed yet: its close may come without an event for its token,
    /// so the loop checks it after each poll.
    pub(crate) fn is_unheard(&self) -> bool {
        !self.done.get() && !self.is_flushing()
    }

    pub(crate) fn stream_mut(&self) -> std::cell::RefMut<'_, Option<sys::Stream>> {
        self.stream.borrow_mut()
    }

    pub(crate) fn set_token(&self, t: Token) {
        self.token.set(t);
    }

    /// The handle has closed (or cannot be watched): the loop forgets this one.
    pub(crate) fn is_done(&self) -> bool {
        self.done.get()
    }

    /// Still in step 1: its write may be in flight.
    pub(crate) fn is_flushing(&self) -> bool {
        self.stream.borrow().is_some()
    }

    /// Step 1 at the start: what mio already holds is dropped, and the next read is asked for
    /// (without it, data mio held would start no read and report nothing). True at the end of
    /// the peer's stream.
    pub(crate) fn discard(&self) -> bool {
        self.stream.borrow().as_ref().is_some_and(sys::discard)
    }

    /// Step 2: cancels what is under way, drops the pipe, and checks whether its handle closed.
    pub(crate) fn finish(&self) {
        let Some(s) = self.stream.borrow_mut().take() else {
            return;
        };
        sys::cancel_io(&s);
        *self.watch.borrow_mut() = sys::close_watch(&s);
        drop(s);
        self.check();
    }

    /// Step 3 when mio has closed the handle: the duplicate closes. Nothing in step 1. While
    /// the handle is open, what mio started since the drop is cancelled too.
    pub(crate) fn check(&self) {
        if self.done.get() || self.is_flushing() {
            return;
        }
        let closed = self.watch.borrow().as_ref().is_none_or(|w| {
            let closed = w.closed();
            if !closed {
                w.cancel_late_io();
            }
            closed
        });
        if closed {
            drop(self.watch.borrow_mut().take());
            self.done.set(true);
            if let Some(lp) = self.lp.upgrade() {
                lp.forget_retired(self.token.get());
            }
        }
    }
}

impl Handler for Retiring {
    fn ready(&self, ready: Ready) {
        if self.done.get() {
            return;
        }
        if self.stream.borrow().is_some() {
            // Every event counts as readable on Windows (`ready_of`); only mio's writable
            // events set `writable`.
            if ready.writable || self.discard() {
                self.finish();
            }
        } else {
            self.check();
        }
    }
}
