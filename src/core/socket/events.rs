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

use super::{Moment, Socket, TO_WRITE_NOW};
use crate::core::error::{Error, SocketError, SocketState};
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
    /// A callback, with the moment it describes (`None`: the socket as it is when delivered).
    Notify(SocketEvent, Option<Box<Moment>>),
    /// The peer's stream ended (EOF, or the read error): report it and begin closing.
    ReadEnded(Error),
    /// Sending failed; what the peer sent before stays readable.
    WriteFailed(Error),
}

#[derive(Default)]
pub(super) struct Queue {
    pub(super) entries: VecDeque<(Entry, bool)>,
    /// Where the next entry of an API call goes: after those of calls made since the last
    /// entry was taken, ahead of every fact still queued.
    calls_end: usize,
    /// The moment a running callback describes; `None` outside callbacks (and in the I/O's
    /// callbacks, which are delivered as they happen: their moment is the socket as it is).
    view: Option<Box<Moment>>,
}

thread_local! {
    /// The queue buffer the last drained socket of this thread gave back (`Queue::give_back`),
    /// for the next socket that queues an entry: a loop serving many connections one event at a
    /// time then allocates no queue memory per event, and an idle socket still holds none.
    static SPARE: std::cell::Cell<VecDeque<(Entry, bool)>> =
        const { std::cell::Cell::new(VecDeque::new()) };
}

/// A drained buffer larger than this many entries is freed, not kept as the spare.
const SPARE_MOST: usize = 4;

impl Queue {
    /// Most of the time a socket has one entry queued at most: the first takes the thread's
    /// spare buffer, or room for one (not the four a growing queue starts with), since the
    /// buffer is given back when drained.
    #[inline]
    fn reserve_first(&mut self) {
        if self.entries.capacity() == 0 {
            self.entries = SPARE.try_with(|s| s.take()).unwrap_or_default();
            if self.entries.capacity() == 0 {
                self.entries.reserve_exact(1);
            }
        }
    }

    /// A drained queue's buffer becomes the thread's spare (or is freed): an idle socket holds
    /// no queue memory.
    fn give_back(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() > 0 {
            let drained = std::mem::take(&mut self.entries);
            if drained.capacity() <= SPARE_MOST {
                // During a thread's teardown the buffer is simply freed.
                let _ = SPARE.try_with(|s| s.set(drained));
            }
        }
    }

    #[inline]
    fn push(&mut self, e: (Entry, bool)) {
        self.reserve_first();
        self.entries.push_back(e);
    }
}

impl Socket {
    /// The moment getters show: a running callback's, else the socket's state as it stands.
    #[inline]
    pub(super) fn seen<T>(&self, f: impl FnOnce(&Moment) -> T) -> T {
        if self.viewing.get() {
            if let Some(m) = &self.queue.borrow().view {
                return f(m);
            }
        }
        f(&self.io.borrow().now)
    }

    /// An API call changes the socket: from here on the caller sees it as it stands.
    #[inline]
    pub(super) fn touch(&self) {
        if self.viewing.replace(false) {
            self.queue.borrow_mut().view = None;
        }
    }

    /// The socket as it stands, for an entry describing this moment.
    pub(super) fn moment(&self) -> Moment {
        self.io.borrow().now.clone()
    }

    /// `bytes_to_write` as getters show it: inside the callback of an API call, as at that
    /// call. (`bytes_available` is always the buffer as it is: it is what a read returns.)
    #[inline]
    pub(super) fn seen_to_write(&self) -> usize {
        if self.viewing.get() {
            let seen = self.queue.borrow().view.as_ref().map(|m| m.to_write);
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
            let at = q.calls_end.min(q.entries.len());
            q.reserve_first();
            q.entries
                .insert(at, (Entry::Notify(ev, Some(Box::new(m))), true));
            q.calls_end = at + 1;
        }
        self.schedule();
    }

    /// Appends a fact met by the I/O.
    #[inline]
    pub(super) fn push_fact(&self, e: Entry) {
        self.queue.borrow_mut().push((e, false));
        self.schedule();
    }

    /// Appends a callback describing this moment (the last steps of a close).
    pub(super) fn push_now(&self, ev: SocketEvent) {
        let m = self.moment();
        self.push_fact(Entry::Notify(ev, Some(Box::new(m))));
    }

    /// Bytes left the queue: one entry, merged with a bytes-written entry still waiting at the
    /// end of the queue.
    pub(super) fn push_written(&self, n: usize) {
        {
            let mut q = self.queue.borrow_mut();
            match q.entries.back_mut() {
                Some((Entry::Notify(SocketEvent::BytesWritten(m), None), false)) => {
                    *m += n as u64;
                    return;
                }
                _ => q.push((
                    Entry::Notify(SocketEvent::BytesWritten(n as u64), None),
                    false,
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
            .any(|(e, _)| matches!(e, Entry::Notify(SocketEvent::BytesWritten(_), _)))
    }

    /// Drops the queued facts (new bytes, bytes written, steps): after an abort they describe
    /// a connection that no longer exists. Callbacks of earlier calls stay.
    pub(super) fn drop_facts(&self) {
        let mut q = self.queue.borrow_mut();
        q.entries.retain(|(_, from_call)| *from_call);
        q.calls_end = q.calls_end.min(q.entries.len());
    }

    pub(super) fn clear_queue(&self) {
        let mut q = self.queue.borrow_mut();
        q.entries.clear();
        q.calls_end = 0;
        q.view = None;
        self.viewing.set(false);
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
                Some((Entry::Notify(ev, m), _)) => self.deliver(&alive, ev, m),
                Some((Entry::ReadEnded(e), _)) => self.read_ended(e),
                Some((Entry::WriteFailed(e), _)) => self.write_failed_step(e),
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
    pub(super) fn deliver(&self, me: &Rc<Socket>, ev: SocketEvent, m: Option<Box<Moment>>) {
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
            self.written_reports
                .set(self.written_reports.get().wrapping_add(1));
        }
        if m.is_some() {
            self.queue.borrow_mut().view = m;
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
