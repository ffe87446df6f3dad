//! The Windows loop's completion port, and the watcher thread that makes it waitable for
//! embedding.
//!
//! Until an embedder asks for the loop's descriptor, the loop's thread polls mio's `Poll` (an
//! I/O completion port) itself, as on Unix. A completion port is no waitable handle (waiting
//! on it is undocumented), and taking a completion to look at it is what dispatches it, so no
//! other loop can watch it. `watch` therefore hands the `Poll` to a watcher thread and returns
//! a manual-reset event in its place:
//!
//! - the watcher blocks in `Poll::poll` (mio's `Registry` is made for use from other threads
//!   while one polls; mio's pipes finish their overlapped operations in whichever thread
//!   polls, under their own locks), turns what it got into `(Token, Ready)` pairs, queues
//!   them, sets the event, and waits until the loop's thread has taken the queue before it
//!   polls again (one batch in flight, as with a direct poll);
//! - the loop's thread takes the queue in its `run` (which resets the event first: it stays
//!   signalled while events wait, like a readable epoll descriptor) and in its blocking waits
//!   and `settle` (which leave it set: what they keep for other tokens is the next run's);
//! - wake-ups, posts and stop reach the watcher through mio's `Waker`, so they set the event
//!   too; timers are not in the port: an embedder follows the loop's timeout;
//! - `unwatch` (the loop is closed or dropped) stops the watcher and takes the `Poll` back,
//!   within `STOP_DEADLINE`, so the waits of objects that outlive the loop's handle still work.
//!   A watcher that does not stop in time (never seen) is left to finish on its own and the
//!   port reports an error from then on, rather than hanging the caller.

use super::event_loop::{Ready, ready_of};
use super::sys;
use mio::{Events, Poll, Token, Waker};
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const EVENTS_CAPACITY: usize = 1024;
/// How long `unwatch` waits for the watcher thread to give the `Poll` back.
const STOP_DEADLINE: Duration = Duration::from_secs(5);

pub(crate) struct Port {
    mode: Mode,
    /// Scratch for a direct poll.
    events: Events,
}

enum Mode {
    /// The loop's thread polls.
    Here(Poll),
    /// A watcher thread polls (after `watch`).
    Watched(Watcher),
    /// The watcher did not give the `Poll` back in time.
    Lost,
}

struct Watcher {
    shared: Arc<Watch>,
    thread: Option<JoinHandle<()>>,
}

/// What the watcher thread and the loop's thread share.
struct Watch {
    state: Mutex<State>,
    /// Signalled when the queue fills (for the loop's thread), when it is taken (for the
    /// watcher), and when the watcher stops.
    changed: Condvar,
    /// The embedder's handle: set while the queue holds events.
    event: sys::Event,
}

#[derive(Default)]
struct State {
    queue: Vec<(Token, Ready)>,
    /// The `Poll`, while it is not in the watcher's hands (before it starts, after it stops).
    poll: Option<Poll>,
    stop: bool,
    /// The watcher's poll failed and it stopped: every take reports it.
    error: Option<io::Error>,
}

impl Watch {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Port {
    pub(crate) fn new(poll: Poll) -> Port {
        Port {
            mode: Mode::Here(poll),
            events: Events::with_capacity(EVENTS_CAPACITY),
        }
    }

    /// Appends the events that come within `wait` (`None`: no bound) to `out`. Watched: takes
    /// the watcher's queue (waiting for one up to `wait`); `reset` resets the event first
    /// (the caller dispatches all it took and all it kept before).
    pub(crate) fn poll(
        &mut self,
        out: &mut Vec<(Token, Ready)>,
        wait: Option<Duration>,
        reset: bool,
    ) -> io::Result<()> {
        match &mut self.mode {
            Mode::Here(poll) => {
                poll.poll(&mut self.events, wait)?;
                out.extend(self.events.iter().map(|ev| (ev.token(), ready_of(ev))));
                Ok(())
            }
            Mode::Watched(w) => w.take(out, wait, reset),
            Mode::Lost => Err(io::Error::other(
                "the loop's watcher thread did not stop in time",
            )),
        }
    }

    /// The waitable handle, starting the watcher on the first call.
    pub(crate) fn watch(&mut self) -> io::Result<sys::RawDescriptor> {
        if let Mode::Watched(w) = &self.mode {
            return Ok(w.shared.event.raw());
        }
        let Mode::Here(_) = &self.mode else {
            return Err(io::Error::other(
                "the loop's watcher thread did not stop in time",
            ));
        };
        let event = sys::Event::new()?;
        let Mode::Here(poll) = std::mem::replace(&mut self.mode, Mode::Lost) else {
            unreachable!("checked above")
        };
        let shared = Arc::new(Watch {
            state: Mutex::new(State {
                poll: Some(poll),
                ..State::default()
            }),
            changed: Condvar::new(),
            event,
        });
        let theirs = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("qlocal-port-watcher".into())
            .spawn(move || watch_loop(&theirs));
        match spawned {
            Ok(thread) => {
                let raw = shared.event.raw();
                self.mode = Mode::Watched(Watcher {
                    shared,
                    thread: Some(thread),
                });
                Ok(raw)
            }
            Err(e) => {
                // The closure never ran: the `Poll` is still in the state.
                let poll = shared
                    .lock()
                    .poll
                    .take()
                    .expect("the watcher never started");
                self.mode = Mode::Here(poll);
                Err(e)
            }
        }
    }

    /// Stops the watcher, if any, and polls here again; events it still held go to `out`.
    /// `waker` is the loop's, registered on this port (it interrupts the watcher's poll).
    pub(crate) fn unwatch(&mut self, waker: &Waker, out: &mut Vec<(Token, Ready)>) {
        let Mode::Watched(w) = &mut self.mode else {
            return;
        };
        let poll = w.stop(waker, out);
        self.mode = match poll {
            Some(p) => Mode::Here(p),
            None => Mode::Lost,
        };
    }
}

impl Watcher {
    fn take(
        &self,
        out: &mut Vec<(Token, Ready)>,
        wait: Option<Duration>,
        reset: bool,
    ) -> io::Result<()> {
        let deadline = wait.map(|w| Instant::now() + w);
        let mut s = self.shared.lock();
        while s.queue.is_empty() && s.error.is_none() {
            s = match deadline {
                None => self
                    .shared
                    .changed
                    .wait(s)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.shared
                        .changed
                        .wait_timeout(s, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        if reset {
            // Under the lock: a batch queued after this sets the event again.
            self.shared.event.reset();
        }
        if let Some(e) = &s.error {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        if !s.queue.is_empty() {
            out.append(&mut s.queue);
            self.shared.changed.notify_all();
        }
        Ok(())
    }

    /// Asks the watcher to stop and waits (at most `STOP_DEADLINE`) for the `Poll`.
    fn stop(&mut self, waker: &Waker, out: &mut Vec<(Token, Ready)>) -> Option<Poll> {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        // Interrupts a watcher blocked in its poll; the wake-up it takes is queued, not lost.
        let _ = waker.wake();
        let deadline = Instant::now() + STOP_DEADLINE;
        let mut s = self.shared.lock();
        while s.poll.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                // Left to finish on its own (it owns its share of `Watch`).
                drop(self.thread.take());
                return None;
            }
            s = self
                .shared
                .changed
                .wait_timeout(s, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        out.append(&mut s.queue);
        let poll = s.poll.take();
        drop(s);
        if let Some(t) = self.thread.take() {
            // It gave the `Poll` back and returns at once.
            let _ = t.join();
        }
        poll
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        // `Port::unwatch` joined it; a watcher dropped without (the port dropped while
        // watched) is told to stop and not waited for: without the waker its poll may only
        // end at the next completion, and it owns all it touches.
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
    }
}

/// The watcher thread: poll, queue, signal, wait until taken; until told to stop.
fn watch_loop(w: &Watch) {
    let Some(mut poll) = w.lock().poll.take() else {
        return;
    };
    let mut events = Events::with_capacity(EVENTS_CAPACITY);
    loop {
        {
            let mut s = w.lock();
            while !s.queue.is_empty() && !s.stop {
                s = w.changed.wait(s).unwrap_or_else(|e| e.into_inner());
            }
            if s.stop {
                break;
            }
        }
        let polled = poll.poll(&mut events, None);
        let mut s = w.lock();
        match polled {
            Ok(()) if events.is_empty() => {}
            Ok(()) => {
                s.queue
                    .extend(events.iter().map(|ev| (ev.token(), ready_of(ev))));
                w.event.set();
                w.changed.notify_all();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                s.error = Some(e);
                w.event.set();
                w.changed.notify_all();
                break;
            }
        }
        if s.stop {
            break;
        }
    }
    let mut s = w.lock();
    s.poll = Some(poll);
    w.changed.notify_all();
}
