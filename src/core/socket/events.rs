//! The socket's one event queue and the one place it is drained.
//!
//! Every callback is an entry of `Queue`, delivered in order by `turn`. An entry carries the
//! moment it describes (`Moment`): while its callback runs, the socket's getters show that
//! moment, so a callback reads the state, error and text of its event, not of whatever the
//! socket has become since. Entries are of two kinds:
//! - facts met by the I/O (new bytes, bytes written, the end of the peer's stream, a send
//!   error): appended; the last two are *steps*, which run when the queue reaches them and
//!   advance the state there, so each callback of a close sees its own moment;
//! - the callbacks an API call causes (Qt emits them inside the call; qlocal from the loop):
//!   inserted ahead of the facts still queued, in the order of the calls, as if they had run
//!   inside the call.
//!
//! When the queue is empty, `turn` continues a close under way (`close::continue_close`), which
//! may queue the last entries of the close.

use super::{Moment, Now, Socket, TO_WRITE_NOW};
use crate::core::error::{Error, SocketError, SocketState};
use crate::core::spare;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// What a socket tells its observer, in Qt's signal order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketEvent {
    Connected,
    Disconnected,
    Error(SocketError),
    StateChanged(SocketState),
    ReadyRead,
    BytesWritten(u64),
    ReadChannelFinished,
    /// Qt's `aboutToClose`: from close() and abort() of an open socket, before anything else.
    AboutToClose,
    /// A complete message is buffered (`message`): after `ReadyRead`, one per message while
    /// the callback takes it.
    Message,
    /// Not Qt's: after a write refused by the high-water mark, the queue is down to the
    /// low-water mark.
    WriteDrained,
}

pub(super) enum Entry {
    /// A callback, with the moment it describes.
    Notify(SocketEvent, Seen),
    /// The peer's stream ended (EOF, or the read error): report it and begin closing.
    ReadEnded(Error),
    /// Sending failed; what the peer sent before stays readable.
    WriteFailed(Error),
}

impl Entry {
    /// The callback of an API call (not a fact met by the I/O): an abort keeps it.
    fn is_call(&self) -> bool {
        matches!(
            self,
            Entry::Notify(_, Seen::At { call: true, .. } | Seen::Full(_, true))
        )
    }
}

/// The moment an entry describes, kept in the entry (most moments have no error text and few
/// bytes to write), and whether the entry is an API call's. A socket that connects queues
/// three entries at once, and a server's clients connecting are as many sockets at once: an
/// entry is 32 bytes.
pub(super) enum Seen {
    /// The socket as it is when delivered (the I/O's facts).
    Now,
    /// State, error and bytes to write (`u32::MAX`: as they are when delivered), with the
    /// default error text.
    At {
        state: SocketState,
        error: SocketError,
        to_write: u32,
        call: bool,
    },
    /// Any other moment, out of line.
    Full(Box<Moment>, bool),
}

impl Seen {
    fn of(m: Moment, call: bool) -> Seen {
        let to_write = if m.to_write == TO_WRITE_NOW {
            Some(u32::MAX)
        } else {
            u32::try_from(m.to_write).ok().filter(|&n| n != u32::MAX)
        };
        match (&m.now.error_string, to_write) {
            (None, Some(to_write)) => Seen::At {
                state: m.now.state,
                error: m.now.error,
                to_write,
                call,
            },
            _ => Seen::Full(Box::new(m), call),
        }
    }

    fn moment(self) -> Option<Moment> {
        match self {
            Seen::Now => None,
            Seen::At {
                state,
                error,
                to_write,
                ..
            } => Some(Moment {
                now: Now {
                    state,
                    error,
                    error_string: None,
                },
                to_write: if to_write == u32::MAX {
                    TO_WRITE_NOW
                } else {
                    to_write as usize
                },
            }),
            Seen::Full(m, _) => Some(*m),
        }
    }
}

#[derive(Default)]
pub(super) struct Queue {
    pub(super) entries: VecDeque<Entry>,
    /// Where the next entry of an API call goes: after those of calls made since the last
    /// entry was taken, ahead of every fact still queued.
    calls_end: u32,
    /// Bytes-written entries delivered so far (for `wait_for_bytes_written`, which only asks
    /// whether it changed: it wraps).
    pub(super) written_reports: u32,
}

thread_local! {
    /// The queue buffer the last drained socket of this thread gave back (`Queue::give_back`,
    /// `spare`).
    static SPARE: std::cell::Cell<VecDeque<Entry>> =
        const { std::cell::Cell::new(VecDeque::new()) };
}

thread_local! {
    /// The moments the callbacks running on this thread describe, innermost last, each with
    /// its socket's address (compared, never followed). A callback nests in another when it
    /// runs a wait. A socket holds none of this: `Socket::viewing` says it has an entry here.
    static VIEWS: RefCell<Vec<(usize, Moment)>> = const { RefCell::new(Vec::new()) };
}

/// Shows `m` as `socket`'s moment (replacing one it showed).
fn view(socket: usize, m: Moment) {
    let _ = VIEWS.try_with(|v| {
        let mut v = v.borrow_mut();
        v.retain(|(s, _)| *s != socket);
        v.push((socket, m));
    });
}

/// `socket`'s moment in view, read by `f`.
fn viewed<T>(socket: usize, f: impl FnOnce(&Moment) -> T) -> Option<T> {
    VIEWS
        .try_with(|v| {
            v.borrow()
                .iter()
                .rev()
                .find(|(s, _)| *s == socket)
                .map(|(_, m)| f(m))
        })
        .ok()
        .flatten()
}

/// `socket` shows no moment any more.
fn unview(socket: usize) {
    let _ = VIEWS.try_with(|v| {
        let mut v = v.borrow_mut();
        if let Some(i) = v.iter().rposition(|(s, _)| *s == socket) {
            v.remove(i);
        }
    });
}

/// A drained buffer larger than this many entries is freed, not kept as the spare.
const SPARE_MOST: usize = 4;

impl Queue {
    /// Most of the time a socket has one entry queued at most: the first takes the thread's
    /// spare buffer, or room for one (not the four a growing queue starts with), since the
    /// buffer is given back when drained. Up to `SPARE_MOST` entries the queue grows one at
    /// a time (a connect queues three), beyond by doubling.
    #[inline]
    fn make_room(&mut self) {
        if self.entries.capacity() == 0 {
            self.entries = spare::take(&SPARE);
        }
        if self.entries.len() == self.entries.capacity() && self.entries.len() < SPARE_MOST {
            self.entries.reserve_exact(1);
        }
    }

    /// A drained queue's buffer becomes the thread's spare (or is freed): an idle socket holds
    /// no queue memory.
    fn give_back(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() > 0 {
            let drained = std::mem::take(&mut self.entries);
            if drained.capacity() <= SPARE_MOST {
                spare::give(&SPARE, drained);
            }
        }
    }

    #[inline]
    fn push(&mut self, e: Entry) {
        self.make_room();
        self.entries.push_back(e);
    }
}

impl Drop for Socket {
    /// A socket freed inside its own callback leaves no view behind.
    fn drop(&mut self) {
        self.touch();
    }
}

impl Socket {
    /// The moment getters show: a running callback's, else the socket's state as it stands.
    #[inline]
    pub(super) fn seen<T>(&self, f: impl FnOnce(&Now) -> T) -> T {
        if self.viewing.get() {
            // `f` reads a copy: it may call into the socket again.
            if let Some(now) = viewed(self.address(), |m| m.now.clone()) {
                return f(&now);
            }
        }
        f(&self.io.borrow().now)
    }

    /// This socket's key in `VIEWS`.
    fn address(&self) -> usize {
        self as *const Socket as usize
    }

    /// An API call changes the socket: from here on the caller sees it as it stands.
    #[inline]
    pub(super) fn touch(&self) {
        if self.viewing.replace(false) {
            unview(self.address());
        }
    }

    /// The socket as it stands, for an entry describing this moment.
    pub(super) fn moment(&self) -> Moment {
        Moment {
            now: self.io.borrow().now.clone(),
            to_write: TO_WRITE_NOW,
        }
    }

    /// `bytes_to_write` as getters show it: inside the callback of an API call, as at that
    /// call. (`bytes_available` is always the buffer as it is: it is what a read returns.)
    #[inline]
    pub(super) fn seen_to_write(&self) -> usize {
        if self.viewing.get() {
            let seen = viewed(self.address(), |m| m.to_write);
            if let Some(n) = seen.filter(|&n| n != TO_WRITE_NOW) {
                return n;
            }
        }
        self.io.borrow().wbuf.len()
    }

    /// Queues the callback of an API call (with the moment it describes, bytes to write
    /// included) and makes sure it is delivered.
    pub(super) fn push_call(&self, ev: SocketEvent) {
        let mut m = self.moment();
        m.to_write = self.io.borrow().wbuf.len();
        {
            let mut q = self.queue.borrow_mut();
            let at = (q.calls_end as usize).min(q.entries.len());
            q.make_room();
            q.entries.insert(at, Entry::Notify(ev, Seen::of(m, true)));
            q.calls_end = (at + 1) as u32;
        }
        self.schedule();
    }

    /// Appends a fact met by the I/O.
    #[inline]
    pub(super) fn push_fact(&self, e: Entry) {
        self.queue.borrow_mut().push(e);
        self.schedule();
    }

    /// Appends a callback describing this moment (the last steps of a close).
    pub(super) fn push_now(&self, ev: SocketEvent) {
        let m = self.moment();
        self.push_fact(Entry::Notify(ev, Seen::of(m, false)));
    }

    /// Bytes left the queue: one entry, merged with a bytes-written entry still waiting at the
    /// end of the queue.
    pub(super) fn push_written(&self, n: usize) {
        {
            let mut q = self.queue.borrow_mut();
            match q.entries.back_mut() {
                Some(Entry::Notify(SocketEvent::BytesWritten(m), Seen::Now)) => {
                    *m += n as u64;
                    return;
                }
                _ => q.push(Entry::Notify(
                    SocketEvent::BytesWritten(n as u64),
                    Seen::Now,
                )),
            }
        }
        self.schedule();
    }

    /// True while a bytes-written entry waits: a close finishes only after it was delivered.
    pub(super) fn written_pending(&self) -> bool {
        self.queue
            .borrow()
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Notify(SocketEvent::BytesWritten(_), _)))
    }

    /// Drops the queued facts (new bytes, bytes written, steps): after an abort they describe
    /// a connection that no longer exists. Callbacks of earlier calls stay.
    pub(super) fn drop_facts(&self) {
        let mut q = self.queue.borrow_mut();
        q.entries.retain(Entry::is_call);
        q.calls_end = q.calls_end.min(q.entries.len() as u32);
    }

    pub(super) fn clear_queue(&self) {
        let mut q = self.queue.borrow_mut();
        q.entries.clear();
        q.calls_end = 0;
        drop(q);
        self.touch();
    }

    /// Makes sure queued entries are delivered: by the drain under way, or from the loop.
    #[inline]
    pub(super) fn schedule(&self) {
        if self.draining.get() > 0 || self.scheduled.get() || self.destroyed.get() {
            return;
        }
        self.scheduled.set(true);
        self.lp.defer(self.rc());
    }

    /// The one drain: delivers entries in order until the queue is empty and no close step is
    /// due. Runs from the loop (readiness, deferred work, timers) and from wait calls; nested
    /// runs (a wait inside a callback) continue the same queue.
    pub(super) fn turn(&self) {
        let alive = self.rc();
        self.draining.set(self.draining.get() + 1);
        loop {
            if self.destroyed.get() {
                self.clear_queue();
                break;
            }
            let next = {
                let mut q = self.queue.borrow_mut();
                q.calls_end = 0;
                q.entries.pop_front()
            };
            match next {
                Some(Entry::Notify(ev, m)) => self.deliver(&alive, ev, m),
                Some(Entry::ReadEnded(e)) => self.read_ended(e),
                Some(Entry::WriteFailed(e)) => self.write_failed_step(e),
                None => {
                    if !self.continue_close() {
                        break;
                    }
                }
            }
        }
        let depth = self.draining.get() - 1;
        self.draining.set(depth);
        if depth == 0 {
            // An idle socket holds no queue memory.
            self.queue.borrow_mut().give_back();
        }
    }

    /// Runs one callback with its moment in view. `ReadyRead` is not re-entered: while its
    /// callback runs, a nested drain drops further `ReadyRead`s (Qt's rule; the bytes stay
    /// readable).
    pub(super) fn deliver(&self, me: &Rc<Socket>, ev: SocketEvent, seen: Seen) {
        if self.destroyed.get() {
            return;
        }
        let ready_read = ev == SocketEvent::ReadyRead;
        if ready_read {
            if self.in_ready_read.get() {
                return;
            }
            self.in_ready_read.set(true);
        }
        if let SocketEvent::BytesWritten(_) = ev {
            let mut q = self.queue.borrow_mut();
            q.written_reports = q.written_reports.wrapping_add(1);
        }
        if let Some(m) = seen.moment() {
            view(self.address(), m);
            self.viewing.set(true);
        }
        if let Some(o) = self.observer() {
            o.notify(me, ev);
            if ready_read && self.message_events.get() {
                self.deliver_messages(me, &*o);
            }
        }
        self.touch();
        if ready_read {
            self.in_ready_read.set(false);
            // What the callback left in the kernel is buffered now, as Qt buffers everything
            // that arrives: the kernel's room is free for the peer's next bytes, and a socket
            // that is not read keeps what came (its read-buffer bound aside).
            self.fill();
        }
    }

    /// Records an error as the socket's (Qt's `error()` / `errorString()`); `function` is the
    /// Qt function name Qt's text starts with ("QLocalSocket", "QLocalSocket::connectToServer").
    pub(super) fn set_error(&self, e: &Error, function: &str) {
        let mut io = self.io.borrow_mut();
        io.now.error = e.socket_error();
        io.now.error_string = Some(Rc::new(
            format!("{function}: {}", e.socket_text()).into_boxed_str(),
        ));
        io.last_error = Some(Box::new(e.clone()));
    }

    pub(super) fn set_state(&self, s: SocketState) {
        self.io.borrow_mut().now.state = s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(error_string: Option<&str>, to_write: usize) -> Moment {
        Moment {
            now: Now {
                state: SocketState::Closing,
                error: SocketError::PeerClosed,
                error_string: error_string.map(|s| Rc::new(s.into())),
            },
            to_write,
        }
    }

    /// An entry gives back the moment it was given, whether it keeps it inline or not, and
    /// knows whether it is an API call's. It stays 32 bytes.
    #[test]
    fn an_entry_keeps_its_moment() {
        assert!(std::mem::size_of::<Entry>() <= 32);
        let big = u32::MAX as usize + 7;
        for call in [false, true] {
            for (text, to_write, inline) in [
                (None, 0, true),
                (None, 123_456, true),
                (None, TO_WRITE_NOW, true),
                (None, u32::MAX as usize, false),
                (None, big, false),
                (Some("QLocalSocket: Remote closed"), 5, false),
            ] {
                let e = Entry::Notify(
                    SocketEvent::ReadyRead,
                    Seen::of(moment(text, to_write), call),
                );
                assert_eq!(e.is_call(), call);
                let Entry::Notify(_, seen) = e else {
                    unreachable!()
                };
                assert_eq!(
                    matches!(seen, Seen::At { .. }),
                    inline,
                    "{text:?} {to_write}"
                );
                let m = seen.moment().unwrap();
                assert_eq!(
                    (m.now.state, m.now.error, m.to_write),
                    (SocketState::Closing, SocketError::PeerClosed, to_write)
                );
                assert_eq!(m.now.error_string.as_deref().map(|s| &**s), text);
            }
        }
        assert!(Seen::Now.moment().is_none());
        assert!(!Entry::Notify(SocketEvent::ReadyRead, Seen::Now).is_call());
        assert!(!Entry::ReadEnded(Error::PeerClosed).is_call());
    }
}
