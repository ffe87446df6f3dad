//! The blocking waits. Each has a deadline (`None` waits without one, by the caller's choice),
//! polls only this socket's descriptor, acts on what the poll reported (also at the deadline:
//! `past`), and delivers this socket's queued callbacks (`turn`) before it returns.

use super::{Socket, SocketEvent};
use crate::core::error::{Error, Result, Side, SocketError, SocketState};
use crate::core::sys;
use std::time::{Duration, Instant};

impl Socket {
    /// Waits for new bytes. `Ok` when some arrived (ReadyRead is delivered first, unless this
    /// runs inside this socket's ReadyRead callback); `PeerClosed` when the peer's stream has
    /// ended; `Timeout` (with a SocketTimeout error, staying connected, as Qt) when time ran out.
    pub fn wait_for_ready_read(&self, timeout: Option<Duration>) -> Result<()> {
        self.touch();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut last = false;
        self.turn();
        loop {
            let (fd, want_write, read_eof, paused) = {
                let io = self.io.borrow();
                match (&io.fd, io.token.get(), io.now.state) {
                    (Some(fd), Some(t), SocketState::Connected | SocketState::Closing) => (
                        sys::wait_key(fd, t),
                        !io.wbuf.is_empty(),
                        io.read_eof,
                        io.read_paused,
                    ),
                    _ => return Err(Error::WrongState("the socket is not connected")),
                }
            };
            if read_eof {
                self.turn();
                return Err(Error::PeerClosed);
            }
            if want_write {
                self.flush_queue();
            }
            if paused {
                return Err(Error::WrongState("the read buffer is full"));
            }
            if self.read_pass(false, false, true) > 0 {
                self.turn();
                return Ok(());
            }
            if self.io.borrow().read_eof {
                self.turn();
                return Err(Error::PeerClosed);
            }
            if last {
                return self.wait_timed_out();
            }
            match self.lp.wait_one(fd, true, want_write, deadline) {
                Ok(None) => return self.wait_timed_out(),
                Ok(Some(_)) => last = past(deadline),
                Err(e) => return Err(Error::from_io(&e, Side::Client)),
            }
        }
    }

    fn wait_timed_out(&self) -> Result<()> {
        self.set_error(&Error::Timeout, super::QT_SOCKET);
        self.push_call(SocketEvent::Error(SocketError::SocketTimeout));
        self.turn();
        Err(Error::Timeout)
    }

    /// Waits until queued bytes were written. `Ok` once a bytes-written callback was delivered
    /// (at once when one was waiting); `WrongState` at once when nothing is queued.
    pub fn wait_for_bytes_written(&self, timeout: Option<Duration>) -> Result<()> {
        self.touch();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut last = false;
        let reported = self.queue.borrow().written_reports;
        loop {
            self.turn();
            if self.queue.borrow().written_reports != reported {
                return Ok(());
            }
            let (fd, empty, state) = {
                let io = self.io.borrow();
                (
                    io.fd
                        .as_ref()
                        .zip(io.token.get())
                        .map(|(f, t)| sys::wait_key(f, t)),
                    io.wbuf.is_empty(),
                    io.now.state,
                )
            };
            let Some(fd) = fd else {
                return Err(Error::WrongState("the socket is not connected"));
            };
            if empty || state == SocketState::Connecting {
                return Err(Error::WrongState("nothing is queued for writing"));
            }
            if self.flush_queue() > 0 {
                continue;
            }
            if self.io.borrow().cold().write_error.is_some() {
                continue;
            }
            // Once the peer's stream ended, its descriptor polls readable for ever: ask only
            // for writability then, or this would spin.
            let read = !self.io.borrow().read_eof;
            if last {
                return self.wait_timed_out();
            }
            match self.lp.wait_one(fd, read, true, deadline) {
                Ok(None) => return self.wait_timed_out(),
                Ok(Some(ready)) => {
                    if ready.readable {
                        // Keep reading so a peer blocked on writing to us can make progress.
                        self.read_pass(true, false, false);
                    }
                    last = past(deadline);
                }
                Err(e) => return Err(Error::from_io(&e, Side::Client)),
            }
        }
    }

    /// Waits until the socket is unconnected (the peer closed, or our graceful close finished).
    pub fn wait_for_disconnected(&self, timeout: Option<Duration>) -> Result<()> {
        self.touch();
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut last = false;
        if self.io.borrow().now.state == SocketState::Unconnected {
            return Err(Error::WrongState("the socket is not connected"));
        }
        loop {
            self.turn();
            let state = self.io.borrow().now.state;
            if state == SocketState::Unconnected {
                return Ok(());
            }
            if state == SocketState::Connecting {
                self.wait_for_connected(
                    deadline.map(|d| d.saturating_duration_since(Instant::now())),
                )?;
                continue;
            }
            if !self.io.borrow().wbuf.is_empty() {
                self.flush_queue();
            }
            self.read_pass(true, false, false);
            self.turn();
            let (fd, read, write) = {
                let io = self.io.borrow();
                if io.now.state == SocketState::Unconnected {
                    return Ok(());
                }
                match (&io.fd, io.token.get()) {
                    (Some(fd), Some(t)) => {
                        (sys::wait_key(fd, t), !io.read_eof, !io.wbuf.is_empty())
                    }
                    _ => return Ok(()),
                }
            };
            if last {
                return self.wait_timed_out();
            }
            match self.lp.wait_one(fd, read, write, deadline) {
                Ok(None) => return self.wait_timed_out(),
                Ok(Some(_)) => last = past(deadline),
                Err(e) => return Err(Error::from_io(&e, Side::Client)),
            }
        }
    }
}

/// True once `deadline` has passed: checked after every poll, so a descriptor that stays ready
/// without progress (a hung-up peer) cannot keep a wait past its deadline. A readiness met at
/// the deadline is still acted on (`last`: one more pass flushes and reads, then the wait
/// times out): on Windows the wait took the event from the loop's port, and mio reports a
/// completed write or a completed read once, so a wait that dropped it left the socket
/// waiting for an event that had come and gone (a socket destroyed while flushing then
/// lingered with its queue until the linger deadline, though its peer was gone).
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}
