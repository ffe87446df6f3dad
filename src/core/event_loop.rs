//! The reactor: one `mio::Poll` (epoll on Linux), a slab from token to object, a timer heap and
//! a queue of deferred work. Objects belong to the thread that created the loop; only `stop` and
//! `wake` may be called from other threads (through `Shared`).
//!
//! Dispatch is O(1) per ready event: the token indexes the slab, a generation in its high bits
//! rejects stale events for a reused slot.
//!
//! The loop never names its clients: whatever registers a descriptor, arms a timer or queues
//! work is a `Handler`, and the loop only calls the handler's three entry points. The loop can
//! also keep a handler alive on its own (`keep`), for work that outlives its owner's handle (a
//! socket flushing its queue after destroy); closing the loop lets such handlers go.

use super::error::{Error, Result};
#[cfg(windows)]
use super::port_windows::Port;
#[cfg(windows)]
use super::retire_windows::{CANCEL_DEADLINE, FLUSH_DEADLINE, Retiring};
use super::sys;
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use slab::Slab;
use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
#[cfg(unix)]
use std::os::fd::{AsRawFd, RawFd};
use std::rc::{Rc, Weak};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Work posted from any thread, run on the loop's thread in FIFO order.
    posted: Mutex<VecDeque<Posted>>,
    /// The owner let go of the loop: posts are refused (and dropped, so their finalizers run).
    closed: AtomicBool,
}

/// Work for the loop's thread. Dropping it without running it is how work that never ran is
/// let go (a C caller's finalizer runs in its `Drop`).
pub type Posted = Box<dyn FnOnce() + Send>;

impl Shared {
    /// Queues `work` to run on the loop's thread, after work posted before it; any thread
    /// (Qt's queued `invokeMethod`). `WrongState` once the loop was closed: the work is dropped
    /// on this thread, unrun.
    pub fn post(&self, work: Posted) -> Result<()> {
        {
            let mut q = self.posted.lock().unwrap_or_else(|e| e.into_inner());
            if self.closed.load(Ordering::Acquire) {
                drop(q);
                drop(work);
                return Err(Error::WrongState("the loop was destroyed"));
            }
            q.push_back(work);
        }
        self.waker
            .wake()
            .map_err(|e| Error::from_io(&e, super::error::Side::Client))
    }

    fn has_posted(&self) -> bool {
        !self
            .posted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

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

/// What a registered descriptor is ready for.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Ready {
    pub readable: bool,
    pub writable: bool,
    /// The peer closed (or the descriptor failed): data and the close may share one edge, so a
    /// reader should read on to the end.
    pub closed: bool,
}

/// Anything the loop drives: a server, a socket, a test double. Each entry point runs on the
/// loop's thread, never while the loop holds a borrow of its own state, so a handler may call
/// anything on the loop (register, arm timers, defer, destroy objects).
pub trait Handler {
    /// The descriptor registered for this handler is ready.
    fn ready(&self, ready: Ready);
    /// A timer armed with `add_timer(at, tag, ..)` fired.
    fn timer(&self, _tag: u64) {}
    /// Work queued with `defer` is due.
    fn deferred(&self) {}
    /// The loop was closed while it kept this handler alive (`keep`): stop what is under way.
    fn loop_closed(&self) {}
}

/// A call for the loop's next turn (`call_later`).
struct Later(Cell<Option<Box<dyn FnOnce()>>>);

impl Handler for Later {
    fn ready(&self, _ready: Ready) {}
    fn deferred(&self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

struct Timer {
    at: Instant,
    seq: u64,
    handler: Weak<dyn Handler>,
    tag: u64,
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

/// Receives the loop's wake-ups on its thread. Dropping it is when a C caller's userdata is
/// finalised, so it outlives a callback that is running.
pub trait LoopObserver {
    fn woken(&self, lp: &EventLoop);
    fn as_any(&self) -> &dyn std::any::Any;
}

/// How many names a loop keeps shared (`EventLoop::share_name`).
const SHARED_NAMES: usize = 4;

pub struct EventLoop {
    shared: Arc<Shared>,
    owner: u64,
    #[cfg(unix)]
    poll: RefCell<Poll>,
    /// The completion port, polled here or, once embedded, by a watcher thread.
    #[cfg(windows)]
    poll: RefCell<Port>,
    registry: Registry,
    events: Cell<Option<Events>>,
    entries: RefCell<Slab<(u32, Weak<dyn Handler>)>>,
    next_gen: Cell<u32>,
    timers: RefCell<BinaryHeap<Reverse<Timer>>>,
    timer_seq: Cell<u64>,
    deferred: RefCell<VecDeque<Rc<dyn Handler>>>,
    kept: RefCell<Slab<Rc<dyn Handler>>>,
    running: Cell<bool>,
    closed: Cell<bool>,
    observer: Cell<Option<Rc<dyn LoopObserver>>>,
    /// Busy-polling (opt-in): how long `run` polls without sleeping before it blocks.
    busy_poll: Cell<Duration>,
    /// The names its sockets connected to last (`share_name`), newest last.
    names: RefCell<Vec<SharedName>>,
    /// Events a blocking wait met for other tokens, dispatched by the next turn (Windows).
    #[cfg(windows)]
    stashed: RefCell<Vec<(Token, Ready)>>,
    /// Closed pipes whose handle has not closed yet, by token (Windows, `retire_windows.rs`).
    #[cfg(windows)]
    retiring: RefCell<std::collections::HashMap<usize, Rc<Retiring>>>,
}

/// A name (or path) shared by the sockets and the server that use it, in one word: `Rc<[u8]>`
/// is two, and every socket holds two names.
#[derive(Clone)]
pub(crate) struct SharedName(Rc<Box<[u8]>>);

impl SharedName {
    #[cfg(test)]
    pub(crate) fn ptr_eq(a: &SharedName, b: &SharedName) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }

    #[cfg(test)]
    pub(crate) fn holders(&self) -> usize {
        Rc::strong_count(&self.0)
    }
}

impl std::ops::Deref for SharedName {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<&[u8]> for SharedName {
    fn from(name: &[u8]) -> SharedName {
        SharedName(Rc::new(name.into()))
    }
}

impl From<Vec<u8>> for SharedName {
    fn from(name: Vec<u8>) -> SharedName {
        SharedName(Rc::new(name.into_boxed_slice()))
    }
}

impl EventLoop {
    /// `name` as a shared copy: the clients of one server connect to the same name, and each
    /// would hold two copies of it (the name and the path) otherwise. The last `SHARED_NAMES`
    /// names are kept.
    pub(crate) fn share_name(&self, name: &[u8]) -> SharedName {
        let mut names = self.names.borrow_mut();
        if let Some(i) = names.iter().position(|n| **n == *name) {
            let n = names.remove(i);
            names.push(n.clone());
            return n;
        }
        let n = SharedName::from(name);
        if names.len() == SHARED_NAMES {
            names.remove(0);
        }
        names.push(n.clone());
        n
    }

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
                posted: Mutex::new(VecDeque::new()),
                closed: AtomicBool::new(false),
            }),
            owner: current_thread(),
            #[cfg(unix)]
            poll: RefCell::new(poll),
            #[cfg(windows)]
            poll: RefCell::new(Port::new(poll)),
            registry,
            events: Cell::new(Some(Events::with_capacity(EVENTS_CAPACITY))),
            entries: RefCell::new(Slab::new()),
            next_gen: Cell::new(0),
            timers: RefCell::new(BinaryHeap::new()),
            timer_seq: Cell::new(0),
            deferred: RefCell::new(VecDeque::new()),
            kept: RefCell::new(Slab::new()),
            running: Cell::new(false),
            closed: Cell::new(false),
            observer: Cell::new(None),
            busy_poll: Cell::new(Duration::ZERO),
            names: RefCell::new(Vec::new()),
            #[cfg(windows)]
            stashed: RefCell::new(Vec::new()),
            #[cfg(windows)]
            retiring: RefCell::new(std::collections::HashMap::new()),
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
    /// handlers. Objects still alive keep working through their wait calls (Windows: the
    /// watcher thread, if any, stops and the port is polled here again; the pipes closed
    /// before are cancelled and their handles closed, within a deadline: `drain_retired`).
    pub fn close(&self) {
        self.closed.set(true);
        #[cfg(windows)]
        self.unwatch();
        drop(self.observer.take());
        self.timers.borrow_mut().clear();
        let queued = std::mem::take(&mut *self.deferred.borrow_mut());
        drop(queued);
        let kept = std::mem::take(&mut *self.kept.borrow_mut());
        for h in kept.into_iter().map(|(_, h)| h) {
            h.loop_closed();
        }
        // Posts never run are let go here, on the loop's thread; later posts are refused.
        let posted = {
            let mut q = self.shared.posted.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.closed.store(true, Ordering::Release);
            std::mem::take(&mut *q)
        };
        drop(posted);
        #[cfg(windows)]
        self.drain_retired();
    }

    /// Runs `f` on the loop's next turn (Qt's deferred delete goes through here). Dropped
    /// unrun if the loop closes first.
    pub fn call_later(&self, f: Box<dyn FnOnce()>) {
        self.defer(Rc::new(Later(Cell::new(Some(f)))));
    }

    /// Runs the work posted before this call, in order (work posted meanwhile waits a turn).
    fn run_posted(&self) -> bool {
        let batch =
            std::mem::take(&mut *self.shared.posted.lock().unwrap_or_else(|e| e.into_inner()));
        let ran = !batch.is_empty();
        for work in batch {
            work();
        }
        ran
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Keeps `h` alive until `release` (or until the loop closes, which calls its
    /// `loop_closed`). Returns the key for `release`.
    pub(crate) fn keep(&self, h: Rc<dyn Handler>) -> usize {
        self.kept.borrow_mut().insert(h)
    }

    pub(crate) fn release(&self, key: usize) {
        let h = self.kept.borrow_mut().try_remove(key);
        drop(h);
    }

    pub fn set_observer(&self, o: Option<Rc<dyn LoopObserver>>) {
        self.observer.set(o);
    }

    pub fn observer(&self) -> Option<Rc<dyn LoopObserver>> {
        let o = self.observer.take();
        self.observer.set(o.clone());
        o
    }

    /// For embedding: the epoll (kqueue) fd, readable whenever the loop has something to do.
    #[cfg(unix)]
    pub fn fd(&self) -> Result<RawFd> {
        Ok(self.poll.borrow().as_raw_fd())
    }

    /// For embedding: a manual-reset event HANDLE, signalled while the loop has events to
    /// dispatch (I/O, wake-ups, posts); `run` resets it when it takes them. The first call
    /// hands the completion port to a watcher thread (`port_windows.rs`) for the rest of the
    /// loop's life (until `close`); the loop's thread then takes its events from that thread.
    #[cfg(windows)]
    pub fn fd(&self) -> Result<isize> {
        self.check_thread()?;
        let mut port = self
            .poll
            .try_borrow_mut()
            .map_err(|_| Error::WrongState("the loop is polling"))?;
        port.watch()
            .map_err(|e| Error::from_io(&e, super::error::Side::Client))
    }

    /// How long an embedding loop may sleep before calling `run(NoWait)`: `None` for no limit.
    pub fn timeout(&self) -> Option<Duration> {
        if !self.deferred.borrow().is_empty() || self.shared.has_posted() || self.has_stashed() {
            return Some(Duration::ZERO);
        }
        self.timers
            .borrow()
            .peek()
            .map(|Reverse(t)| t.at.saturating_duration_since(Instant::now()))
    }

    // ---- registrations -------------------------------------------------------------------

    pub(crate) fn register(
        &self,
        stream: &mut sys::Stream,
        handler: Weak<dyn Handler>,
        interest: Interest,
    ) -> Result<Token> {
        let generation = self.next_gen.get().wrapping_add(1) & 0x7fff_ffff;
        self.next_gen.set(generation);
        let key = self.entries.borrow_mut().insert((generation, handler));
        let token = Token(key | ((generation as usize) << 32));
        if let Err(e) = sys::register(&self.registry, stream, token, interest) {
            self.entries.borrow_mut().remove(key);
            return Err(Error::from_io(&e, super::error::Side::Client));
        }
        Ok(token)
    }

    /// Takes ownership of `fd` and registers it; on failure the caller keeps `fd`.
    ///
    /// # Safety
    /// `fd` must be an open descriptor that nothing else closes once this succeeds.
    pub(crate) unsafe fn register_adopted(
        &self,
        fd: sys::RawDescriptor,
        handler: Weak<dyn Handler>,
        interest: Interest,
    ) -> Result<(sys::Stream, Token)> {
        // SAFETY: the caller hands over an open descriptor.
        let mut owned = unsafe { sys::adopt(fd) };
        match self.register(&mut owned, handler, interest) {
            Ok(t) => Ok((owned, t)),
            Err(e) => {
                // Not ours after all: the caller keeps the descriptor.
                std::mem::forget(owned);
                Err(e)
            }
        }
    }

    /// Registers one more stream under an existing token, whose handler then hears about both
    /// (a Windows server's pipe instances share the server's token).
    #[cfg(windows)]
    pub(crate) fn add_source(
        &self,
        stream: &mut sys::Stream,
        token: Token,
        interest: Interest,
    ) -> Result<()> {
        sys::register(&self.registry, stream, token, interest)
            .map_err(|e| Error::from_io(&e, super::error::Side::Server))
    }

    /// Changes the interest; on Unix also re-arms edge-triggered readiness (EPOLL_CTL_MOD
    /// reports the current state again).
    pub(crate) fn reregister(
        &self,
        stream: &mut sys::Stream,
        token: Token,
        interest: Interest,
    ) -> Result<()> {
        sys::reregister(&self.registry, stream, token, interest)
            .map_err(|e| Error::from_io(&e, super::error::Side::Client))
    }

    pub(crate) fn deregister(&self, stream: &mut sys::Stream, token: Token) {
        sys::deregister(&self.registry, stream);
        self.release_token(token);
    }

    /// Frees a token's slot (its handler hears no more events); a stale token is ignored.
    pub(crate) fn release_token(&self, token: Token) {
        let key = token.0 & 0xffff_ffff;
        let mut entries = self.entries.borrow_mut();
        if entries
            .get(key)
            .is_some_and(|(g, _)| *g as usize == token.0 >> 32)
        {
            entries.remove(key);
        }
    }

    /// A blocking wait on one stream, for the `wait_for_*` calls: until it is readable (`read`)
    /// and/or writable (`write`), or `deadline` passes (`Ok(None)`). No handler runs.
    ///
    /// Unix: `poll(2)` on the stream's descriptor alone. Windows: a completion port delivers
    /// every registration's events, so the loop's own port is polled; events for other tokens
    /// are kept, in order, and dispatched by the loop's next turn.
    #[cfg(unix)]
    pub(crate) fn wait_one(
        &self,
        key: sys::WaitKey,
        read: bool,
        write: bool,
        deadline: Option<Instant>,
    ) -> std::io::Result<Option<Ready>> {
        let spin = self.busy_poll.get();
        let mut revents = 0;
        if !spin.is_zero() {
            // Busy-polling: ask without waiting until the spin time (or the deadline) is up.
            let start = Instant::now();
            let spin_until = deadline.map_or(start + spin, |d| d.min(start + spin));
            while revents == 0 && Instant::now() < spin_until {
                revents = sys::poll_one(key, read, write, Some(Instant::now()))?;
                std::hint::spin_loop();
            }
        }
        if revents == 0 {
            revents = sys::poll_one(key, read, write, deadline)?;
        }
        if revents == 0 {
            return Ok(None);
        }
        Ok(Some(Ready {
            readable: revents & libc::POLLIN != 0,
            writable: revents & libc::POLLOUT != 0,
            closed: revents & (libc::POLLHUP | libc::POLLERR) != 0,
        }))
    }

    #[cfg(windows)]
    pub(crate) fn wait_one(
        &self,
        key: sys::WaitKey,
        _read: bool,
        _write: bool,
        deadline: Option<Instant>,
    ) -> std::io::Result<Option<Ready>> {
        {
            let mut kept = self.stashed.borrow_mut();
            if let Some(i) = kept.iter().position(|(t, _)| *t == key) {
                let (_, r) = kept.remove(i);
                return Ok(Some(r));
            }
        }
        let mut batch = Vec::new();
        loop {
            let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            match self.poll.borrow_mut().poll(&mut batch, wait, false) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            let mut mine: Option<Ready> = None;
            for (token, r) in batch.drain(..) {
                if token == key {
                    let m = mine.get_or_insert_with(Ready::default);
                    m.readable |= r.readable;
                    m.writable |= r.writable;
                    m.closed |= r.closed;
                } else {
                    self.stashed.borrow_mut().push((token, r));
                }
            }
            if mine.is_some() {
                return Ok(mine);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }

    /// Lets mio finish what a closed pipe left under way (Windows): a pipe's handle closes
    /// only once its operations came back through the port, so after a close the port is
    /// polled at once, and the events of retired pipes are handled now (a pipe with no write
    /// in flight hears so at once, is cancelled, and its cancelled read comes back in the next
    /// round): the peer sees the end now, not at this loop's next turn, also when the loop is
    /// not run again soon. Other events are kept for the next turn. At most `SETTLE_ROUNDS`
    /// polls, none waiting (a peer that keeps writing to a retired pipe cannot hold it).
    #[cfg(windows)]
    pub(crate) fn settle(&self) {
        const SETTLE_ROUNDS: usize = 4;
        let mut batch = Vec::new();
        for _ in 0..SETTLE_ROUNDS {
            {
                let Ok(mut poll) = self.poll.try_borrow_mut() else {
                    return;
                };
                // A watcher polls on its own: taking its batch lets it poll again at once.
                let _ = poll.poll(&mut batch, Some(Duration::ZERO), false);
            }
            let mut retired = false;
            for (token, ready) in batch.drain(..) {
                let r = self.retiring.borrow().get(&token.0).cloned();
                match r {
                    Some(r) => {
                        retired = true;
                        r.ready(ready);
                    }
                    None => self.stashed.borrow_mut().push((token, ready)),
                }
            }
            self.check_unheard();
            let unheard = self.retiring.borrow().values().any(|r| r.is_unheard());
            if !retired && !unheard {
                return;
            }
        }
    }

    /// Takes a closed pipe from its socket (the socket deregistered it) or its server: the loop
    /// keeps it until its handle has closed (`retire_windows.rs`). A write still in flight goes
    /// on (what arrives meanwhile is dropped); an abandoned pipe is cancelled at once. A closed
    /// loop, which nobody polls any more, drains the port here (`drain_retired`).
    #[cfg(windows)]
    pub(crate) fn retire(self: &Rc<Self>, stream: sys::Stream) {
        self.retire_all(std::iter::once(stream));
    }

    /// `retire` for each of `streams` (a server's instances), with one settle for all.
    #[cfg(windows)]
    pub(crate) fn retire_all(self: &Rc<Self>, streams: impl IntoIterator<Item = sys::Stream>) {
        for stream in streams {
            self.take_retired(stream);
        }
        if self.closed.get() {
            self.drain_retired();
        } else {
            self.settle();
        }
    }

    #[cfg(windows)]
    fn take_retired(self: &Rc<Self>, stream: sys::Stream) {
        let abandoned = sys::is_abandoned(&stream);
        let r = Rc::new(Retiring::new(Rc::downgrade(self), stream));
        let handler: Weak<dyn Handler> = {
            let w: Weak<Retiring> = Rc::downgrade(&r);
            w
        };
        let registered = {
            let mut s = r.stream_mut();
            let s = s.as_mut().expect("a new Retiring holds its stream");
            self.register(s, handler, Interest::READABLE | Interest::WRITABLE)
        };
        let Ok(token) = registered else {
            // Not under this port's watch: dropped as before (mio lets it go on a later poll).
            return;
        };
        r.set_token(token);
        self.retiring.borrow_mut().insert(token.0, r.clone());
        if abandoned || r.discard() {
            r.finish();
        }
    }

    /// Checks the dropped retired pipes, whose handle may close without an event for their
    /// token (`Retiring::is_unheard`); true when one closed now. Few: each closes in the poll
    /// or two that bring its cancelled operations back.
    #[cfg(windows)]
    fn check_unheard(&self) -> bool {
        let unheard: Vec<Rc<Retiring>> = self
            .retiring
            .borrow()
            .values()
            .filter(|r| r.is_unheard())
            .cloned()
            .collect();
        let mut closed = false;
        for r in unheard {
            r.check();
            closed |= r.is_done();
        }
        closed
    }

    /// A retired pipe's handle has closed: its token and entry go.
    #[cfg(windows)]
    pub(crate) fn forget_retired(&self, token: Token) {
        self.release_token(token);
        let gone = self.retiring.borrow_mut().remove(&token.0);
        drop(gone);
    }

    /// For a closed or dropped loop, which nobody polls again (without this, a pipe closed
    /// just before leaked its handle and its peer never saw the end of the stream): polls the
    /// port until every retired pipe's handle has closed. A pipe whose last write is still in
    /// flight gets until `FLUSH_DEADLINE` for its peer to read it (reading and dropping what
    /// arrives meanwhile); then what is left is cancelled, and gets `CANCEL_DEADLINE` more
    /// (then it is let go: mio keeps what it still holds). Events for other tokens are kept
    /// for the next turn or wait.
    #[cfg(windows)]
    fn drain_retired(&self) {
        let flushing = |lp: &EventLoop| lp.retiring.borrow().values().any(|r| r.is_flushing());
        if flushing(self) {
            self.poll_retired(Instant::now() + FLUSH_DEADLINE, flushing);
        }
        let all: Vec<Rc<Retiring>> = self.retiring.borrow().values().cloned().collect();
        for r in all {
            r.finish();
        }
        self.poll_retired(Instant::now() + CANCEL_DEADLINE, |lp| {
            !lp.retiring.borrow().is_empty()
        });
        let rest = std::mem::take(&mut *self.retiring.borrow_mut());
        for token in rest.keys() {
            self.release_token(Token(*token));
        }
        drop(rest);
    }

    /// Polls the port for the retired pipes while `more` holds, until `deadline`.
    #[cfg(windows)]
    /// Events an earlier poll kept (`settle`, a wait) come first; each pipe already dropped
    /// is checked before every poll, so a handle that closed in an earlier poll is not
    /// waited for.
    fn poll_retired(&self, deadline: Instant, more: impl Fn(&EventLoop) -> bool) {
        let mut batch = std::mem::take(&mut *self.stashed.borrow_mut());
        loop {
            for (token, ready) in batch.drain(..) {
                let r = self.retiring.borrow().get(&token.0).cloned();
                match r {
                    Some(r) => r.ready(ready),
                    None => self.stashed.borrow_mut().push((token, ready)),
                }
            }
            let all: Vec<Rc<Retiring>> = self.retiring.borrow().values().cloned().collect();
            for r in all {
                r.check();
            }
            self.retiring.borrow_mut().retain(|_, r| !r.is_done());
            let left = deadline.saturating_duration_since(Instant::now());
            if !more(self) || left.is_zero() {
                break;
            }
            let Ok(mut port) = self.poll.try_borrow_mut() else {
                break;
            };
            let polled = port.poll(&mut batch, Some(left), false);
            drop(port);
            if polled.is_err_and(|e| e.kind() != std::io::ErrorKind::Interrupted) {
                break;
            }
        }
    }

    /// Stops the watcher thread, if `fd` started one; the loop's thread polls the port again
    /// (the waits of objects that outlive the loop's handle need it).
    #[cfg(windows)]
    fn unwatch(&self) {
        if let Ok(mut poll) = self.poll.try_borrow_mut() {
            poll.unwatch(&self.shared.waker, &mut self.stashed.borrow_mut());
        }
    }

    /// Dispatches the events a wait kept for other tokens (Windows). True when any was for a
    /// live client, or closed a retired pipe's handle: the rest of the loop's work on retired
    /// pipes, and what comes for a token already let go, is no batch a `RunMode::Once`
    /// returns for.
    #[cfg(windows)]
    fn dispatch_stashed(&self) -> bool {
        let kept = std::mem::take(&mut *self.stashed.borrow_mut());
        let mut any = false;
        for (token, ready) in kept {
            if token == WAKE_TOKEN {
                any = true;
                self.woken();
            } else {
                let retired = self.retiring.borrow().contains_key(&token.0);
                any |= self.has_client(token);
                self.dispatch_token(token, ready);
                // A retired pipe whose handle closed now is news (its peer sees the end).
                any |= retired && !self.retiring.borrow().contains_key(&token.0);
            }
        }
        any | self.check_unheard()
    }

    /// The token is a live registration of a client (not stale, not a retired pipe).
    #[cfg(windows)]
    fn has_client(&self, token: Token) -> bool {
        let key = token.0 & 0xffff_ffff;
        let live = self
            .entries
            .borrow()
            .get(key)
            .is_some_and(|(g, _)| *g as usize == token.0 >> 32);
        live && !self.retiring.borrow().contains_key(&token.0)
    }

    #[cfg(unix)]
    fn dispatch_stashed(&self) -> bool {
        false
    }

    #[cfg(unix)]
    fn has_stashed(&self) -> bool {
        false
    }

    #[cfg(windows)]
    fn has_stashed(&self) -> bool {
        !self.stashed.borrow().is_empty()
    }

    // ---- timers and deferred work -----------------------------------------------------------

    /// Calls `handler.timer(tag)` at `at` (or the first loop turn after). Timers cannot be
    /// cancelled: a handler that no longer wants one ignores its tag (or is gone: the loop holds
    /// only a weak reference).
    pub(crate) fn add_timer(&self, at: Instant, tag: u64, handler: Weak<dyn Handler>) {
        if self.closed.get() {
            return;
        }
        let seq = self.timer_seq.get() + 1;
        self.timer_seq.set(seq);
        self.timers.borrow_mut().push(Reverse(Timer {
            at,
            seq,
            handler,
            tag,
        }));
    }

    /// Queues work for the loop's next turn. Wakes the loop when it is not running, so an
    /// embedding loop watching `fd()` notices.
    pub(crate) fn defer(&self, d: Rc<dyn Handler>) {
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
            if !self.deferred.borrow().is_empty() || self.has_stashed() {
                wait = Some(Duration::ZERO);
            } else if let Some(Reverse(t)) = self.timers.borrow().peek() {
                let left = t.at.saturating_duration_since(now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
            if let Err(e) = self.poll_maybe_spinning(events, wait) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(Error::from_io(&e, super::error::Side::Client));
                }
            }
            // Events a wait kept for later come before the ones polled after them.
            let stashed = self.dispatch_stashed();
            let got_events = !events.is_empty() || stashed;
            for ev in events.iter() {
                self.dispatch(ev);
            }
            // A retired pipe may have closed in this poll with no event for its token.
            #[cfg(windows)]
            self.check_unheard();
            let fired = self.fire_timers();
            let posted = self.run_posted();
            let ran = self.run_deferred() || posted;
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

    /// Not Qt's: before sleeping in the system's poll, `run` (and, on Unix, the blocking waits
    /// of this loop's objects) polls without waiting for up to `d` (bounded by its own
    /// timeout), so an answer that comes within `d` is seen without a wake-up. Costs a CPU
    /// busy for `d` each time the loop would sleep. Zero: off (default).
    pub fn set_busy_poll(&self, d: Duration) {
        self.busy_poll.set(d);
    }

    pub fn busy_poll(&self) -> Duration {
        self.busy_poll.get()
    }

    /// The loop's poll, spinning first when busy-polling is on and it would otherwise sleep.
    fn poll_maybe_spinning(
        &self,
        events: &mut Events,
        wait: Option<Duration>,
    ) -> std::io::Result<()> {
        let spin = self.busy_poll.get();
        if spin.is_zero() || wait == Some(Duration::ZERO) {
            return self.poll_now(events, wait).map(drop);
        }
        let start = Instant::now();
        let spin_until = start + wait.map_or(spin, |w| w.min(spin));
        loop {
            if self.poll_now(events, Some(Duration::ZERO))? {
                return Ok(());
            }
            let now = Instant::now();
            if now >= spin_until {
                let left = wait.map(|w| w.saturating_sub(now - start));
                return self.poll_now(events, left).map(drop);
            }
            std::hint::spin_loop();
        }
    }

    /// One poll for `run`; true when something came.
    #[cfg(unix)]
    fn poll_now(&self, events: &mut Events, wait: Option<Duration>) -> std::io::Result<bool> {
        self.poll.borrow_mut().poll(events, wait)?;
        Ok(!events.is_empty())
    }

    /// One poll for `run`; true when something came. Windows: what comes is kept with what
    /// the waits kept (`stashed`, dispatched next, in order), `events` stays empty; a port
    /// handed to a watcher resets the embedder's event as `run` takes the watcher's batch.
    #[cfg(windows)]
    fn poll_now(&self, _events: &mut Events, wait: Option<Duration>) -> std::io::Result<bool> {
        let mut kept = self.stashed.borrow_mut();
        let before = kept.len();
        self.poll.borrow_mut().poll(&mut kept, wait, true)?;
        Ok(kept.len() > before)
    }

    fn dispatch(&self, ev: &mio::event::Event) {
        let token = ev.token();
        if token == WAKE_TOKEN {
            return self.woken();
        }
        self.dispatch_token(token, ready_of(ev));
    }

    fn woken(&self) {
        if self.shared.woken.swap(false, Ordering::AcqRel) {
            if let Some(o) = self.observer() {
                o.woken(self);
            }
        }
    }

    /// Hands a readiness report to the token's handler; a stale token (its slot freed, or
    /// reused under a newer generation) is ignored.
    pub(crate) fn dispatch_token(&self, token: Token, ready: Ready) {
        let key = token.0 & 0xffff_ffff;
        let handler = {
            let entries = self.entries.borrow();
            match entries.get(key) {
                Some((g, h)) if *g as usize == token.0 >> 32 => h.upgrade(),
                _ => None,
            }
        };
        if let Some(h) = handler {
            h.ready(ready);
        }
    }

    fn fire_timers(&self) -> bool {
        let now = Instant::now();
        // Timers armed by this pass (a repeating zero-interval timer) wait for the next one.
        let armed_before = self.timer_seq.get();
        let mut fired = false;
        loop {
            let t = {
                let mut timers = self.timers.borrow_mut();
                match timers.peek() {
                    Some(Reverse(t)) if t.at <= now && t.seq <= armed_before => {
                        timers.pop().map(|Reverse(t)| t)
                    }
                    _ => None,
                }
            };
            let Some(t) = t else { return fired };
            fired = true;
            if let Some(h) = t.handler.upgrade() {
                h.timer(t.tag);
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
            d.deferred();
        }
        n > 0
    }
}

#[cfg(windows)]
impl Drop for EventLoop {
    fn drop(&mut self) {
        self.unwatch();
        self.drain_retired();
    }
}

/// What an event says, as a handler reads it. On Windows every event also counts as readable:
/// mio's pipe reports data it already holds only once, and a re-registration (a read resumed
/// after the read-buffer bound) reports only writability, so a handler tries to read on every
/// event (a read with nothing there is `WouldBlock`, no system call).
pub(crate) fn ready_of(ev: &mio::event::Event) -> Ready {
    Ready {
        readable: ev.is_readable() || ev.is_read_closed() || ev.is_error() || cfg!(windows),
        writable: ev.is_writable() || ev.is_write_closed() || ev.is_error(),
        closed: ev.is_read_closed() || ev.is_error(),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;

    /// A handler that records what the loop told it, and can queue more work from inside.
    #[derive(Default)]
    struct Probe {
        log: RefCell<Vec<String>>,
        lp: RefCell<Option<Rc<EventLoop>>>,
        me: RefCell<Option<Weak<Probe>>>,
        requeue: Cell<u32>,
    }

    impl Probe {
        fn new(lp: &Rc<EventLoop>) -> Rc<Probe> {
            let p = Rc::new(Probe::default());
            *p.lp.borrow_mut() = Some(lp.clone());
            *p.me.borrow_mut() = Some(Rc::downgrade(&p));
            p
        }
        fn log(&self) -> Vec<String> {
            self.log.borrow().clone()
        }
    }

    impl Handler for Probe {
        fn ready(&self, r: Ready) {
            self.log
                .borrow_mut()
                .push(format!("ready r={} w={}", r.readable, r.writable));
        }
        fn timer(&self, tag: u64) {
            self.log.borrow_mut().push(format!("timer {tag}"));
        }
        fn deferred(&self) {
            self.log.borrow_mut().push("deferred".into());
            if self.requeue.get() > 0 {
                self.requeue.set(self.requeue.get() - 1);
                let me = self.me.borrow().as_ref().unwrap().upgrade().unwrap();
                self.lp.borrow().as_ref().unwrap().defer(me);
            }
        }
        fn loop_closed(&self) {
            self.log.borrow_mut().push("loop_closed".into());
        }
    }

    fn weak(p: &Rc<Probe>) -> Weak<dyn Handler> {
        let w: Weak<Probe> = Rc::downgrade(p);
        w
    }

    #[test]
    fn timers_fire_in_deadline_order_then_in_arming_order() {
        let lp = EventLoop::new().unwrap();
        let p = Probe::new(&lp);
        let now = Instant::now();
        lp.add_timer(now + Duration::from_millis(30), 3, weak(&p));
        lp.add_timer(now + Duration::from_millis(10), 1, weak(&p));
        lp.add_timer(now + Duration::from_millis(10), 2, weak(&p));
        assert!(lp.timeout().unwrap() <= Duration::from_millis(10));
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.log().len() < 3 && Instant::now() < deadline {
            lp.run(RunMode::Once, Some(Duration::from_secs(1))).unwrap();
        }
        assert_eq!(p.log(), ["timer 1", "timer 2", "timer 3"]);
        assert!(Instant::now() >= now + Duration::from_millis(30));
        assert_eq!(lp.timeout(), None);
    }

    #[test]
    fn a_timer_whose_handler_is_gone_is_dropped() {
        let lp = EventLoop::new().unwrap();
        let p = Probe::new(&lp);
        lp.add_timer(Instant::now(), 7, weak(&p));
        let log = p.log.take();
        drop(p);
        assert_eq!(lp.run(RunMode::NoWait, None).unwrap(), RunOutcome::Returned);
        assert!(log.is_empty());
        assert_eq!(lp.timeout(), None);
    }

    #[test]
    fn deferred_work_is_fifo_and_work_queued_meanwhile_waits_a_turn() {
        let lp = EventLoop::new().unwrap();
        let a = Probe::new(&lp);
        let b = Probe::new(&lp);
        a.requeue.set(2);
        lp.defer(a.clone());
        lp.defer(b.clone());
        assert_eq!(lp.timeout(), Some(Duration::ZERO));
        lp.run(RunMode::NoWait, None).unwrap();
        assert_eq!(a.log(), ["deferred"]);
        assert_eq!(b.log(), ["deferred"]);
        lp.run(RunMode::NoWait, None).unwrap();
        lp.run(RunMode::NoWait, None).unwrap();
        assert_eq!(a.log(), ["deferred", "deferred", "deferred"]);
        lp.run(RunMode::NoWait, None).unwrap();
        assert_eq!(a.log().len(), 3);
        assert_eq!(lp.timeout(), None);
    }

    #[test]
    fn readiness_reaches_the_handler_and_stale_tokens_are_ignored() {
        let lp = EventLoop::new().unwrap();
        let p = Probe::new(&lp);
        let (x, y) = UnixStream::pair().unwrap();
        x.set_nonblocking(true).unwrap();
        let mut x = OwnedFd::from(x);
        let t = lp.register(&mut x, weak(&p), Interest::READABLE).unwrap();
        std::io::Write::write_all(&mut &y, b"hi").unwrap();
        lp.run(RunMode::Once, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(p.log(), ["ready r=true w=false"]);
        lp.deregister(&mut x, t);
        // The slot is reused by a new registration with a newer generation: the old token
        // must not reach the new handler.
        let q = Probe::new(&lp);
        let (u, _v) = UnixStream::pair().unwrap();
        let mut u = OwnedFd::from(u);
        let t2 = lp.register(&mut u, weak(&q), Interest::READABLE).unwrap();
        assert_eq!(t.0 & 0xffff_ffff, t2.0 & 0xffff_ffff, "slot reused");
        assert_ne!(t, t2);
        lp.dispatch_token(t, Ready::default());
        assert!(q.log().is_empty());
        lp.dispatch_token(t2, Ready::default());
        assert_eq!(q.log(), ["ready r=false w=false"]);
        // A handler that is gone is skipped too.
        drop(q);
        lp.dispatch_token(t2, Ready::default());
    }

    #[test]
    fn kept_handlers_live_until_released_or_the_loop_closes() {
        let lp = EventLoop::new().unwrap();
        let p = Probe::new(&lp);
        let w = Rc::downgrade(&p);
        let key = lp.keep(p.clone());
        drop(p);
        assert!(w.upgrade().is_some());
        lp.release(key);
        assert!(w.upgrade().is_none());
        let p = Probe::new(&lp);
        lp.keep(p.clone());
        assert_eq!(Rc::strong_count(&p), 2);
        lp.close();
        assert_eq!(p.log(), ["loop_closed"]);
        assert_eq!(Rc::strong_count(&p), 1, "the loop let go of it");
    }

    #[test]
    fn run_modes_and_stop_from_another_thread() {
        let lp = EventLoop::new().unwrap();
        assert_eq!(
            lp.run(RunMode::Once, Some(Duration::from_millis(20)))
                .unwrap(),
            RunOutcome::TimedOut
        );
        assert_eq!(lp.run(RunMode::NoWait, None).unwrap(), RunOutcome::Returned);
        let shared = lp.shared().clone();
        let t = std::thread::spawn(move || shared.stop().unwrap());
        assert_eq!(
            lp.run(RunMode::Default, Some(Duration::from_secs(10)))
                .unwrap(),
            RunOutcome::Stopped
        );
        t.join().unwrap();
        assert_eq!(lp.check_thread(), Ok(()));
    }
}
