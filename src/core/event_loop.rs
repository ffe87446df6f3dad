//! The reactor: one `mio::Poll` (epoll on Linux), a slab from token to object, a timer heap and
//! a queue of deferred work. Objects belong to the thread that created the loop; only `stop` and
//! `wake` may be called from other threads (through `Shared`).
//!
//! Dispatch is O(1) per ready event: the token indexes the slab, a generation in its high bits
//! rejects stale events for a reused slot.

use super::error::{Error, Result};
use super::server::Server;
use super::socket::Socket;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const WAKE_TOKEN: Token = Token(usize::MAX);
const EVENTS_CAPACITY: usize = 1024;

/// A small number naming the current thread (cheaper than `thread::current().id()`).
pub fn current_thread() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local!(static ID: u64 = NEXT.fetch_add(1, Ordering::Relaxed));
    ID.with(|id| *id)
}

/// The part of a loop other threads may touch.
pub struct Shared {
    stop: AtomicBool,
    woken: AtomicBool,
    waker: Waker,
}

impl Shared {
    /// Asks the loop to return from `run`; idempotent; any thread.
    pub fn stop(&self) -> Result<()> {
        self.stop.store(true, Ordering::Release);
        self.wake()
    }

    /// Wakes the loop and runs its wake-up handler on the loop's thread; coalescing; any thread.
    pub fn wake(&self) -> Result<()> {
        self.woken.store(true, Ordering::Release);
        self.waker
            .wake()
            .map_err(|e| Error::from_io(&e, super::error::Side::Client))
    }
}

/// How long `run` goes on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RunMode {
    /// Until `stop` (or the deadline).
    Default,
    /// Wait for one batch of events (or the deadline), dispatch it, return.
    Once,
    /// Dispatch what is ready now, never block.
    NoWait,
}

/// Why `run` returned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RunOutcome {
    Stopped,
    Returned,
    TimedOut,
}

pub(crate) enum Entry {
    Server(Weak<Server>),
    Socket(Weak<Socket>),
}

pub(crate) enum TimerTarget {
    /// Retry a connect that met a full listen backlog; `u64` is the attempt's generation.
    SocketConnect(Weak<Socket>, u64),
    /// Retry accept after running out of file descriptors.
    ServerAccept(Weak<Server>),
}

struct Timer {
    at: Instant,
    seq: u64,
    target: TimerTarget,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

pub(crate) enum Deferred {
    Socket(Rc<Socket>),
}

enum Target {
    Server(Rc<Server>),
    Socket(Rc<Socket>),
}

/// Receives the loop's wake-ups on its thread. Dropping it is when a C caller's userdata is
/// finalised, so it outlives a callback that is running.
pub trait LoopObserver {
    fn woken(&self, lp: &EventLoop);
    fn as_any(&self) -> &dyn std::any::Any;
}

pub struct EventLoop {
    shared: Arc<Shared>,
    owner: u64,
    poll: RefCell<Poll>,
    registry: Registry,
    events: Cell<Option<Events>>,
    entries: RefCell<Slab<(u32, Entry)>>,
    next_gen: Cell<u32>,
    timers: RefCell<BinaryHeap<Reverse<Timer>>>,
    timer_seq: Cell<u64>,
    deferred: RefCell<VecDeque<Deferred>>,
    running: Cell<bool>,
    closed: Cell<bool>,
    observer: Cell<Option<Rc<dyn LoopObserver>>>,
}

impl EventLoop {
    pub fn new() -> Result<Rc<EventLoop>> {
        let err = |e: std::io::Error| Error::from_io(&e, super::error::Side::Client);
        let poll = Poll::new().map_err(err)?;
        let registry = poll.registry().try_clone().map_err(err)?;
        let waker = Waker::new(poll.registry(), WAKE_TOKEN).map_err(err)?;
        Ok(Rc::new(EventLoop {
            shared: Arc::new(Shared {
                stop: AtomicBool::new(false),
                woken: AtomicBool::new(false),
                waker,
            }),
            owner: current_thread(),
            poll: RefCell::new(poll),
            registry,
            events: Cell::new(Some(Events::with_capacity(EVENTS_CAPACITY))),
            entries: RefCell::new(Slab::new()),
            next_gen: Cell::new(0),
            timers: RefCell::new(BinaryHeap::new()),
            timer_seq: Cell::new(0),
            deferred: RefCell::new(VecDeque::new()),
            running: Cell::new(false),
            closed: Cell::new(false),
            observer: Cell::new(None),
        }))
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Fails with `WrongThread` unless called on the loop's thread.
    pub fn check_thread(&self) -> Result<()> {
        if current_thread() == self.owner {
            Ok(())
        } else {
            Err(Error::WrongThread)
        }
    }

    pub fn is_running(&self) -> bool {
        self.running.get()
    }

    /// The owner let go of the loop: drop queued work (which holds objects alive) and
    /// handlers. Objects still alive keep working through their wait calls.
    pub fn close(&self) {
        self.closed.set(true);
        drop(self.observer.take());
        self.timers.borrow_mut().clear();
        let queued = std::mem::take(&mut *self.deferred.borrow_mut());
        drop(queued);
    }

    pub fn set_observer(&self, o: Option<Rc<dyn LoopObserver>>) {
        self.observer.set(o);
    }

    pub fn observer(&self) -> Option<Rc<dyn LoopObserver>> {
        let o = self.observer.take();
        self.observer.set(o.clone());
        o
    }

    /// The epoll fd: readable whenever the loop has something to do, for embedding.
    pub fn fd(&self) -> RawFd {
        self.poll.borrow().as_raw_fd()
    }

    /// How long an embedding loop may sleep before calling `run(NoWait)`: `None` for no limit.
    pub fn timeout(&self) -> Option<Duration> {
        if !self.deferred.borrow().is_empty() {
            return Some(Duration::ZERO);
        }
        self.timers
            .borrow()
            .peek()
            .map(|Reverse(t)| t.at.saturating_duration_since(Instant::now()))
    }

    // ---- registrations -------------------------------------------------------------------

    pub(crate) fn register(&self, fd: RawFd, entry: Entry, interest: Interest) -> Result<Token> {
        let generation = self.next_gen.get().wrapping_add(1) & 0x7fff_ffff;
        self.next_gen.set(generation);
        let key = self.entries.borrow_mut().insert((generation, entry));
        let token = Token(key | ((generation as usize) << 32));
        if let Err(e) = self
            .registry
            .register(&mut mio::unix::SourceFd(&fd), token, interest)
        {
            self.entries.borrow_mut().remove(key);
            return Err(Error::from_io(&e, super::error::Side::Client));
        }
        Ok(token)
    }

    /// Changes the interest; also re-arms edge-triggered readiness (EPOLL_CTL_MOD reports the
    /// current state again).
    pub(crate) fn reregister(&self, fd: RawFd, token: Token, interest: Interest) -> Result<()> {
        self.registry
            .reregister(&mut mio::unix::SourceFd(&fd), token, interest)
            .map_err(|e| Error::from_io(&e, super::error::Side::Client))
    }

    pub(crate) fn deregister(&self, fd: RawFd, token: Token) {
        let _ = self.registry.deregister(&mut mio::unix::SourceFd(&fd));
        let key = token.0 & 0xffff_ffff;
        let mut entries = self.entries.borrow_mut();
        if entries
            .get(key)
            .is_some_and(|(g, _)| *g as usize == token.0 >> 32)
        {
            entries.remove(key);
        }
    }

    // ---- timers and deferred work -----------------------------------------------------------

    pub(crate) fn add_timer(&self, at: Instant, target: TimerTarget) {
        let seq = self.timer_seq.get() + 1;
        self.timer_seq.set(seq);
        self.timers
            .borrow_mut()
            .push(Reverse(Timer { at, seq, target }));
    }

    /// Queues work for the loop's next turn. Wakes the loop when it is not running, so an
    /// embedding loop watching `fd()` notices.
    pub(crate) fn defer(&self, d: Deferred) {
        if self.closed.get() {
            return;
        }
        let was_empty = {
            let mut q = self.deferred.borrow_mut();
            let e = q.is_empty();
            q.push_back(d);
            e
        };
        if was_empty && !self.running.get() {
            let _ = self.shared.waker.wake();
        }
    }

    // ---- running ------------------------------------------------------------------------------

    /// Runs the loop on its thread. Refused inside a callback of this loop (`WrongState`).
    pub fn run(&self, mode: RunMode, timeout: Option<Duration>) -> Result<RunOutcome> {
        self.check_thread()?;
        if self.running.get() {
            return Err(Error::WrongState(
                "the loop is already running on this thread",
            ));
        }
        struct Running<'a>(&'a Cell<bool>);
        impl Drop for Running<'_> {
            fn drop(&mut self) {
                self.0.set(false);
            }
        }
        self.running.set(true);
        let _running = Running(&self.running);
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut events = self
            .events
            .take()
            .unwrap_or_else(|| Events::with_capacity(EVENTS_CAPACITY));
        let result = self.run_inner(mode, deadline, &mut events);
        self.events.set(Some(events));
        result
    }

    fn run_inner(
        &self,
        mode: RunMode,
        deadline: Option<Instant>,
        events: &mut Events,
    ) -> Result<RunOutcome> {
        loop {
            if self.shared.stop.swap(false, Ordering::AcqRel) {
                return Ok(RunOutcome::Stopped);
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) && mode != RunMode::NoWait {
                return Ok(RunOutcome::TimedOut);
            }
            let mut wait = match mode {
                RunMode::NoWait => Some(Duration::ZERO),
                _ => deadline.map(|d| d - now),
            };
            if !self.deferred.borrow().is_empty() {
                wait = Some(Duration::ZERO);
            } else if let Some(Reverse(t)) = self.timers.borrow().peek() {
                let left = t.at.saturating_duration_since(now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            if let Err(e) = self.poll.borrow_mut().poll(events, wait) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(Error::from_io(&e, super::error::Side::Client));
                }
            }
            let got_events = !events.is_empty();
            for ev in events.iter() {
                self.dispatch(ev);
            }
            let fired = self.fire_timers();
            let ran = self.run_deferred();
            if self.shared.stop.swap(false, Ordering::AcqRel) {
                return Ok(RunOutcome::Stopped);
            }
            match mode {
                RunMode::NoWait => return Ok(RunOutcome::Returned),
                RunMode::Once if got_events || fired || ran => return Ok(RunOutcome::Returned),
                _ => {}
            }
        }
    }

    fn dispatch(&self, ev: &mio::event::Event) {
        let token = ev.token();
        if token == WAKE_TOKEN {
            if self.shared.woken.swap(false, Ordering::AcqRel) {
                if let Some(o) = self.observer() {
                    o.woken(self);
                }
            }
            return;
        }
        let key = token.0 & 0xffff_ffff;
        let target = {
            let entries = self.entries.borrow();
            match entries.get(key) {
                Some((g, e)) if *g as usize == token.0 >> 32 => match e {
                    Entry::Server(w) => w.upgrade().map(Target::Server),
                    Entry::Socket(w) => w.upgrade().map(Target::Socket),
                },
                _ => None,
            }
        };
        let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
        let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
        // Data and the peer's close can share one edge: then read on to the end.
        let closed = ev.is_read_closed() || ev.is_error();
        match target {
            Some(Target::Socket(s)) => s.on_ready(readable, writable, closed),
            Some(Target::Server(s)) => s.on_ready(),
            None => {}
        }
    }

    fn fire_timers(&self) -> bool {
        let now = Instant::now();
        let mut fired = false;
        loop {
            let t = {
                let mut timers = self.timers.borrow_mut();
                match timers.peek() {
                    Some(Reverse(t)) if t.at <= now => timers.pop().map(|Reverse(t)| t),
                    _ => None,
                }
            };
            let Some(t) = t else { return fired };
            fired = true;
            match t.target {
                TimerTarget::SocketConnect(w, generation) => {
                    if let Some(s) = w.upgrade() {
                        s.on_connect_timer(generation);
                    }
                }
                TimerTarget::ServerAccept(w) => {
                    if let Some(s) = w.upgrade() {
                        s.on_ready();
                    }
                }
            }
        }
    }

    /// Runs the work queued before this call (work queued meanwhile waits for the next turn,
    /// so a callback that keeps queueing cannot starve I/O).
    fn run_deferred(&self) -> bool {
        let n = self.deferred.borrow().len();
        for _ in 0..n {
            let Some(d) = self.deferred.borrow_mut().pop_front() else {
                break;
            };
            match d {
                Deferred::Socket(s) => s.run_deferred(),
            }
        }
        n > 0
    }
}
