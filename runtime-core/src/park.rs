//! Parking: how a thread sleeps until there is work, and how the driver stack plugs in.
//!
//! * [`Park`] / [`Unpark`] are the driver-layer abstraction. The facade builds a stack of layers
//!   (timer over I/O over [`ThreadPark`]) and hands it to core as a `Box<dyn Park>`; in the
//!   multi-thread flavor the monitor thread parks on it, in the current-thread flavor the
//!   `block_on` thread does. Core never learns what the layers are.
//! * `Parker` is the per-thread sleep primitive (workers, `block_on` callers): an atomic state
//!   word (EMPTY / PARKED / NOTIFIED) in front of a mutex and condvar, so an `unpark` that lands
//!   before `park` is never lost and an `unpark` of a thread that is not asleep costs one atomic
//!   swap and no syscall.
//!
//! Protocol (checked by loom in `tests`): `unpark` swaps NOTIFIED in; only if it saw PARKED
//! does it take the mutex (so the sleeper is inside `wait`, not between its check and its wait)
//! and signal the condvar. `park` consumes NOTIFIED with a CAS on the fast path; otherwise it
//! moves EMPTY -> PARKED under the mutex and waits until it can move NOTIFIED -> EMPTY.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

/// A layer of the driver stack: something a thread can sleep on until an event arrives.
///
/// The time and I/O crates implement this over an inner `Park` (ultimately [`ThreadPark`]).
///
/// # Examples
///
/// ```
/// use runtime_core::park::{Park, ThreadPark, Unpark};
/// use std::time::Duration;
///
/// let mut park = ThreadPark::new();
/// let unpark = park.unparker();
/// unpark.unpark();
/// park.park(); // returns at once: the unpark was not lost
/// park.park_timeout(Duration::from_millis(1));
/// ```
pub trait Park: Send + 'static {
    /// A handle that wakes this parker from any thread.
    fn unparker(&self) -> Arc<dyn Unpark>;

    /// Sleeps until unparked (or until the layer has an event to process).
    fn park(&mut self);

    /// Sleeps at most `duration`; a zero duration polls for events without sleeping.
    fn park_timeout(&mut self, duration: Duration);

    /// Called once when the runtime shuts down: release resources, wake every waiter.
    fn shutdown(&mut self);
}

/// Wakes a [`Park`] from another thread.
pub trait Unpark: Send + Sync + 'static {
    /// Wakes the parked thread, or makes its next park return at once.
    fn unpark(&self);
}

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

#[derive(Debug)]
struct Inner {
    state: AtomicUsize,
    mutex: Mutex<()>,
    condvar: Condvar,
}

/// A thread parker: `park` sleeps until `unpark`, and an early `unpark` is remembered.
#[derive(Debug, Clone)]
pub(crate) struct Parker {
    inner: Arc<Inner>,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            inner: Arc::new(Inner {
                state: AtomicUsize::new(EMPTY),
                mutex: Mutex::new(()),
                condvar: Condvar::new(),
            }),
        }
    }

    pub(crate) fn park(&self) {
        self.inner.park(None);
    }

    pub(crate) fn park_timeout(&self, timeout: Duration) {
        self.inner.park(Some(timeout));
    }

    pub(crate) fn unpark(&self) {
        self.inner.unpark();
    }

    /// True if both are handles to the same parker.
    pub(crate) fn same_as(&self, other: &Parker) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// A waker that unparks this parker.
    pub(crate) fn waker(&self) -> Waker {
        Waker::from(self.inner.clone())
    }
}

impl Inner {
    fn park(&self, timeout: Option<Duration>) {
        // Fast path: a notification is already pending.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = self.mutex.lock();
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                // Notified between the fast path and taking the lock.
                self.state.swap(EMPTY, SeqCst);
                return;
            }
            Err(actual) => panic!("inconsistent park state: {actual}; a parker may only be parked by one thread at a time"),
        }
        match timeout {
            None => loop {
                guard = self.condvar.wait(guard);
                if self
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
                // Spurious wake-up: sleep again.
            },
            Some(timeout) => {
                let (_guard, _timed_out) = self.condvar.wait_timeout(guard, timeout);
                // Timed out or notified: either way leave the EMPTY state behind, consuming a
                // notification that raced with the timeout.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // The sleeper holds the mutex from its PARKED store until it is inside `wait`;
                // taking the lock here guarantees the notification reaches the condvar wait.
                drop(self.mutex.lock());
                self.condvar.notify_one();
            }
            actual => panic!("inconsistent state in unpark: {actual}"),
        }
    }
}

impl Wake for Inner {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}

impl Unpark for Parker {
    fn unpark(&self) {
        self.inner.unpark();
    }
}

/// The bottom layer of every driver stack: parks the thread on a `Parker` (an atomic state word in front of a mutex and condvar).
///
/// # Examples
///
/// ```
/// use runtime_core::park::{Park, ThreadPark};
/// use std::time::Duration;
///
/// let mut park = ThreadPark::new();
/// let unpark = park.unparker();
/// std::thread::spawn(move || unpark.unpark());
/// park.park();
/// ```
#[derive(Debug)]
pub struct ThreadPark {
    parker: Parker,
}

impl ThreadPark {
    /// A new thread parker.
    pub fn new() -> ThreadPark {
        ThreadPark {
            parker: Parker::new(),
        }
    }
}

impl Default for ThreadPark {
    fn default() -> Self {
        ThreadPark::new()
    }
}

impl Park for ThreadPark {
    fn unparker(&self) -> Arc<dyn Unpark> {
        Arc::new(self.parker.clone())
    }

    fn park(&mut self) {
        self.parker.park();
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.parker.park_timeout(duration);
    }

    fn shutdown(&mut self) {
        self.parker.unpark();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn unpark_before_park_is_not_lost() {
        let p = Parker::new();
        p.unpark();
        p.park();
    }

    #[test]
    fn park_timeout_returns() {
        let p = Parker::new();
        let start = Instant::now();
        p.park_timeout(Duration::from_millis(5));
        assert!(start.elapsed() >= Duration::from_millis(5));
    }

    #[test]
    fn unpark_from_other_thread() {
        let p = Parker::new();
        let p2 = p.clone();
        let t = std::thread::spawn(move || p2.unpark());
        p.park();
        t.join().unwrap();
    }

    #[test]
    fn waker_unparks() {
        let p = Parker::new();
        let w = p.waker();
        w.wake_by_ref();
        p.park();
        w.wake();
        p.park();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    #[test]
    fn no_lost_unpark() {
        loom::model(|| {
            let p = Parker::new();
            let p2 = p.clone();
            let t = loom::thread::spawn(move || p2.unpark());
            p.park();
            t.join().unwrap();
        });
    }

    #[test]
    fn two_unparks_two_parks() {
        loom::model(|| {
            let p = Parker::new();
            let p2 = p.clone();
            let t = loom::thread::spawn(move || {
                p2.unpark();
            });
            p.park();
            t.join().unwrap();
            p.unpark();
            p.park();
        });
    }
}
