//! A timer with `QTimer`'s behaviour: single-shot or repeating, started, stopped and restarted
//! on the loop's thread. It rides on the loop's timer heap (O(log n) per start and per fire):
//! a start arms a heap entry tagged with a generation, and a stop or restart moves the
//! generation on, so a stale entry that fires later is ignored.

use super::error::{Error, Result};
use super::event_loop::{EventLoop, Handler, Ready};
use std::any::Any;
use std::cell::Cell;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

/// Receives a timer's timeouts on the loop's thread (Qt's `timeout()` signal). Dropping it is
/// when a C caller's userdata is finalised.
pub trait TimerObserver {
    fn timeout(&self, timer: &Rc<Timer>);
    fn as_any(&self) -> &dyn Any;
}

pub struct Timer {
    lp: Rc<EventLoop>,
    interval: Cell<Duration>,
    single_shot: Cell<bool>,
    active: Cell<bool>,
    /// The generation of the heap entry that counts; older entries are stale.
    generation: Cell<u64>,
    /// When the armed entry is due (repeats are scheduled from it, so they do not drift).
    due: Cell<Instant>,
    observer: Cell<Option<Rc<dyn TimerObserver>>>,
    destroyed: Cell<bool>,
    /// A detached timer is owned by its loop (`detach`): the key that keeps it alive.
    kept: Cell<Option<usize>>,
    me: Weak<Timer>,
}

impl Timer {
    pub fn new(lp: &Rc<EventLoop>) -> Rc<Timer> {
        Rc::new_cyclic(|me| Timer {
            lp: lp.clone(),
            interval: Cell::new(Duration::ZERO),
            single_shot: Cell::new(false),
            active: Cell::new(false),
            generation: Cell::new(0),
            due: Cell::new(Instant::now()),
            observer: Cell::new(None),
            destroyed: Cell::new(false),
            kept: Cell::new(None),
            me: me.clone(),
        })
    }

    pub fn event_loop(&self) -> &Rc<EventLoop> {
        &self.lp
    }

    pub fn set_observer(&self, o: Option<Rc<dyn TimerObserver>>) {
        self.observer.set(o);
    }

    pub fn observer(&self) -> Option<Rc<dyn TimerObserver>> {
        let o = self.observer.take();
        self.observer.set(o.clone());
        o
    }

    /// Qt's `start(msec)`: (re)starts with this interval; the first timeout comes after it.
    pub fn start(&self, interval: Duration) -> Result<()> {
        if self.destroyed.get() || self.lp.is_closed() {
            return Err(Error::WrongState("the timer's loop was destroyed"));
        }
        self.interval.set(interval);
        self.active.set(true);
        self.arm(Instant::now() + interval);
        Ok(())
    }

    /// Qt's `stop()`: no timeout comes after this (until a start).
    pub fn stop(&self) {
        self.active.set(false);
        self.generation.set(self.generation.get() + 1);
    }

    /// Qt's `setInterval`: an active timer restarts with the new interval.
    pub fn set_interval(&self, interval: Duration) -> Result<()> {
        if self.active.get() {
            return self.start(interval);
        }
        self.interval.set(interval);
        Ok(())
    }

    pub fn interval(&self) -> Duration {
        self.interval.get()
    }

    pub fn set_single_shot(&self, on: bool) {
        self.single_shot.set(on);
    }

    pub fn is_single_shot(&self) -> bool {
        self.single_shot.get()
    }

    pub fn is_active(&self) -> bool {
        self.active.get()
    }

    /// How long until the next timeout (`None` when inactive), as Qt's `remainingTime`.
    pub fn remaining(&self) -> Option<Duration> {
        self.active
            .get()
            .then(|| self.due.get().saturating_duration_since(Instant::now()))
    }

    /// Stops for good and lets the observer go; no timeout comes after this returns.
    pub fn destroy(&self) {
        self.destroyed.set(true);
        self.stop();
        drop(self.observer.take());
    }

    /// Hands the timer to its loop (Qt's static `singleShot`): the loop keeps it until its
    /// first timeout has run, then destroys it; destroying the loop first destroys it too.
    pub fn detach(&self) {
        if self.kept.get().is_none() {
            if let Some(me) = self.me.upgrade() {
                self.kept.set(Some(self.lp.keep(me)));
            }
        }
    }

    fn arm(&self, at: Instant) {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        self.due.set(at);
        let w: Weak<Timer> = self.me.clone();
        self.lp.add_timer(at, generation, w);
    }
}

impl Handler for Timer {
    fn ready(&self, _ready: Ready) {}

    fn timer(&self, tag: u64) {
        if tag != self.generation.get() || !self.active.get() || self.destroyed.get() {
            return;
        }
        if self.single_shot.get() {
            self.active.set(false);
        } else {
            // The next one is due an interval after this one was, not after now: no drift.
            // Past deadlines (a loop that was busy) are not caught up one by one.
            let next = (self.due.get() + self.interval.get()).max(Instant::now());
            self.arm(next);
        }
        if let (Some(o), Some(me)) = (self.observer(), self.me.upgrade()) {
            o.timeout(&me);
        }
        if let Some(key) = self.kept.take() {
            self.destroy();
            self.lp.release(key);
        }
    }

    fn loop_closed(&self) {
        self.kept.set(None);
        self.destroy();
    }
}
