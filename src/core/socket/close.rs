//! The one close path. However a connection ends, the same steps run, in this order:
//!
//! 1. what the peer sent stays readable: on a send error the read side goes on until the
//!    peer's end of stream (respecting the read bound; the application drains it), and the
//!    bytes already buffered stay readable after `disconnected`;
//! 2. the application sees the end in Qt's order: `error` (state still CONNECTED), CLOSING;
//! 3. what we queued is flushed (CLOSING lasts until the queue is empty and every
//!    bytes-written entry was delivered), also what callbacks wrote after the peer's EOF;
//! 4. the descriptor closes: UNCONNECTED, read channel finished, disconnected.
//!
//! `abort` (and a destroy without a graceful disconnect) skips to 4 and drops both buffers.
//! A destroy during CLOSING keeps flushing with no callbacks (linger) until the queue is
//! empty, a send fails, or the linger deadline passes; then the descriptor closes.

use super::events::{Entry, Seen};
use super::{QT_SOCKET, Socket, SocketEvent};
use crate::core::error::{Error, SocketState};
use crate::core::sys;
use std::time::Instant;

/// The timer tag of the linger deadline (connect retries use their attempt's generation).
pub(super) const LINGER_TAG: u64 = u64::MAX;

impl Socket {
    /// Step 2 after the peer's stream ended: Qt's `error` then CLOSING. The flush and the
    /// rest follow from `continue_close`.
    pub(super) fn read_ended(&self, e: Error) {
        if self.io.borrow().now.state != SocketState::Connected {
            // Our own close (or an abort) is under way: it finishes as it was going to.
            return;
        }
        self.set_error(&e, QT_SOCKET);
        self.deliver(&self.rc(), SocketEvent::Error(e.socket_error()), Seen::Now);
        if self.destroyed.get() || self.io.borrow().now.state != SocketState::Connected {
            return;
        }
        self.set_state(SocketState::Closing);
        self.deliver(
            &self.rc(),
            SocketEvent::StateChanged(SocketState::Closing),
            Seen::Now,
        );
    }

    /// Sending failed (met in `write`, a flush or a wait): the queue can never be delivered.
    /// The step that follows decides what the application sees.
    pub(super) fn write_failed(&self, e: Error) {
        {
            let mut io = self.io.borrow_mut();
            if io.cold().write_error.is_some() {
                return;
            }
            io.cold_mut().write_error = Some(e.clone());
            io.release_output();
            if io.want_write {
                let _ = self.update_interest(&mut io, false);
            }
        }
        if self.destroyed.get() {
            return self.end_linger();
        }
        self.push_fact(Entry::WriteFailed(e));
    }

    /// The step for a send error. The peer gone (EPIPE, ECONNRESET): what it sent before is
    /// ahead of its end of stream, so reading goes on to EOF, which then closes (step 1).
    /// Any other error: what is in the kernel now is kept, then the close begins.
    pub(super) fn write_failed_step(&self, e: Error) {
        if e == Error::PeerClosed {
            if !self.io.borrow().read_paused {
                self.read_pass(false, true, false);
            }
            return;
        }
        self.read_pass(false, true, false);
        self.io.borrow_mut().read_eof = true;
        self.read_ended(e);
    }

    /// Run by `turn` when the queue is empty: finishes a close once the queue is flushed and
    /// reported. True when it queued entries.
    pub(super) fn continue_close(&self) -> bool {
        {
            let io = self.io.borrow();
            if io.now.state != SocketState::Closing || !io.wbuf.is_empty() {
                return false;
            }
        }
        if self.written_pending() {
            return false;
        }
        self.finish_close(false);
        true
    }

    /// Step 4: the descriptor closes; UNCONNECTED, read channel finished, disconnected (each
    /// with this moment). Bytes already in the kernel are kept readable (bounded as ever).
    /// `from_call`: the callbacks belong to an API call (`disconnect_from_server`).
    fn finish_close(&self, from_call: bool) {
        let keep_reading = {
            let io = self.io.borrow();
            io.fd.is_some() && !io.read_eof && !io.read_paused
        };
        if keep_reading {
            self.read_buffered_quietly();
        }
        self.closed(from_call);
    }

    /// The end of every close of a connection: the descriptor closes, the names are
    /// forgotten (as Qt), and UNCONNECTED, read channel finished, disconnected are queued,
    /// each with this moment; as an API call's callbacks when `from_call`.
    fn closed(&self, from_call: bool) {
        self.close_fd();
        {
            let mut io = self.io.borrow_mut();
            io.now.state = SocketState::Unconnected;
            io.server_name = None;
            io.full_server_name = None;
        }
        for ev in [
            SocketEvent::StateChanged(SocketState::Unconnected),
            SocketEvent::ReadChannelFinished,
            SocketEvent::Disconnected,
        ] {
            if from_call {
                self.push_call(ev);
            } else {
                self.push_now(ev);
            }
        }
    }

    /// Closes the descriptor and forgets the transport (not the read buffer).
    pub(super) fn close_fd(&self) {
        let mut io = self.io.borrow_mut();
        // Every close path that keeps bytes readable buffered them before (`unread` is 0).
        io.unread = 0;
        if let Some(mut fd) = io.fd.take() {
            if let Some(t) = io.token.take() {
                self.lp.deregister(&mut fd, t);
            }
            // A pipe's handle closes once its overlapped I/O has come back through the port:
            // the loop keeps it until then (`retire_windows.rs`).
            #[cfg(windows)]
            self.lp.retire(fd);
        }
        io.want_write = false;
        io.read_paused = false;
        io.read_eof = false;
        io.large_arrivals = false;
        if let Some(c) = &mut io.cold {
            c.write_error = None;
        }
        io.connect = None;
        io.release_output();
    }

    /// A connect that failed (the error is recorded first): `error` while CONNECTING, then
    /// UNCONNECTED; no disconnected, as in Qt.
    pub(super) fn connect_failed(&self, e: Error, context: &str) {
        self.set_error(&e, context);
        self.push_call(SocketEvent::Error(e.socket_error()));
        self.close_fd();
        {
            let mut io = self.io.borrow_mut();
            io.now.state = SocketState::Unconnected;
            io.full_server_name = None;
        }
        self.push_call(SocketEvent::StateChanged(SocketState::Unconnected));
    }

    /// A connection that cannot be used at all (registration failed): `error`, then the close
    /// at once.
    pub(super) fn fail_now(&self, e: Error, context: &str) {
        self.set_error(&e, context);
        self.push_call(SocketEvent::Error(e.socket_error()));
        self.abort_connection();
    }

    // ---- the API calls that close ----------------------------------------------------------

    /// Graceful: CLOSING, queued bytes are delivered first, then the socket closes. At once
    /// (inside the call, as Qt) when nothing is queued or waiting to be reported.
    pub fn disconnect_from_server(&self) {
        self.touch();
        let state = self.io.borrow().now.state;
        match state {
            SocketState::Unconnected | SocketState::Closing => {}
            SocketState::Connecting => self.abort(),
            SocketState::Connected => {
                self.set_state(SocketState::Closing);
                self.push_call(SocketEvent::StateChanged(SocketState::Closing));
                let flushed = self.io.borrow().wbuf.is_empty() && !self.written_pending();
                if flushed {
                    self.finish_close(true);
                }
            }
        }
    }

    /// Qt's `aboutToClose`, for close() and abort() of an open socket; the socket is not
    /// open from then on.
    fn about_to_close(&self) {
        if std::mem::take(&mut self.io.borrow_mut().open) {
            self.push_call(SocketEvent::AboutToClose);
        }
    }

    /// Immediate: queued bytes and buffered input are dropped.
    pub fn abort(&self) {
        self.touch();
        self.about_to_close();
        self.io.borrow_mut().release_input();
        let state = self.io.borrow().now.state;
        match state {
            SocketState::Unconnected => {}
            SocketState::Connecting => {
                self.close_fd();
                {
                    let mut io = self.io.borrow_mut();
                    io.now.state = SocketState::Unconnected;
                    io.full_server_name = None;
                }
                self.push_call(SocketEvent::StateChanged(SocketState::Unconnected));
            }
            SocketState::Connected | SocketState::Closing => self.abort_connection(),
        }
    }

    /// A connection closes at once: UNCONNECTED, read channel finished, disconnected (no
    /// CLOSING, as Qt's abort). What was still queued is dropped, and with it the facts it
    /// would have reported.
    pub(super) fn abort_connection(&self) {
        self.drop_facts();
        self.abandon_io();
        self.closed(true);
    }

    /// Qt's `close()`: buffered input is dropped, queued output is still delivered.
    pub fn close(&self) {
        self.touch();
        self.about_to_close();
        self.io.borrow_mut().release_input();
        self.disconnect_from_server();
    }

    /// The owner lets go; no callback runs after this. During a graceful close (CLOSING, bytes
    /// queued) the loop keeps the descriptor and goes on flushing until the queue is empty, a
    /// send fails, the linger timeout passes or the loop closes. When that queue already went
    /// out, the descriptor closes with what the system holds still on its way. Otherwise Qt 6's
    /// destructor: abort.
    pub fn destroy(&self) {
        self.destroyed.set(true);
        self.clear_queue();
        let (linger, flushed) = {
            let io = self.io.borrow();
            let closing = io.now.state == SocketState::Closing
                && io.fd.is_some()
                && io.cold().write_error.is_none();
            (
                closing
                    && !io.wbuf.is_empty()
                    && !io.cold().linger_timeout.is_zero()
                    && !self.lp.is_closed(),
                closing && io.wbuf.is_empty(),
            )
        };
        if linger {
            let timeout = self.io.borrow().cold().linger_timeout;
            self.io.borrow_mut().release_input();
            // Input that arrived before (its readiness already reported) is dropped too.
            self.discard_input();
            let key = self.lp.keep(self.rc());
            self.io.borrow_mut().cold_mut().linger_key = Some(key);
            self.lp
                .add_timer(Instant::now() + timeout, LINGER_TAG, self.handler());
        } else {
            // Qt 6's destructor aborts: what is in flight is given up too (Windows). Not
            // after a graceful disconnect whose queue already went out: what is in flight
            // then is the last of it, and the pipe's close delivers it, as the kernel
            // delivers what a Unix socket sent before its close (`retire_windows.rs`).
            if !flushed {
                self.abandon_io();
            }
            self.close_fd();
            self.io.borrow_mut().release_input();
        }
        // Dropping the observer finalises the caller's userdata, unless a callback of this
        // socket is running: then it happens when that callback returns.
        drop(self.observer.take());
    }

    /// Readiness while lingering: what arrives is dropped (nobody will read it, and a peer
    /// that lingers too must be able to flush to us), the queue is flushed, and the descriptor
    /// closes once everything went out.
    pub(super) fn linger_ready(&self, ready: super::Ready) {
        if self.io.borrow().cold().linger_key.is_none() {
            return;
        }
        if ready.readable {
            self.discard_input();
        }
        if ready.writable {
            self.flush_queue();
        }
        if self.io.borrow().wbuf.is_empty() {
            self.end_linger();
        }
    }

    /// The queue is given up: what is in flight too (Windows; see `sys::abandon`).
    fn abandon_io(&self) {
        if let Some(fd) = &self.io.borrow().fd {
            sys::abandon(fd);
        }
    }

    fn discard_input(&self) {
        let mut io = self.io.borrow_mut();
        if !io.read_eof {
            if let Some(fd) = &io.fd {
                io.read_eof = sys::discard(fd);
            }
        }
    }

    pub(super) fn linger_expired(&self) {
        let kept = self.io.borrow().cold().linger_key.is_some();
        if kept {
            self.abandon_io();
            self.end_linger();
        }
    }

    pub(super) fn end_linger(&self) {
        self.close_fd();
        let key = self
            .io
            .borrow_mut()
            .cold
            .as_mut()
            .and_then(|c| c.linger_key.take());
        if let Some(key) = key {
            self.lp.release(key);
        }
    }
}
