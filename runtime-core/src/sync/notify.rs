//! [`Notify`]: wakes one waiting task (and stores a permit when nobody waits), or every task
//! waiting at one instant.
//!
//! # Protocol
//!
//! One atomic word, `state`, plus a mutex-protected queue of waiters:
//!
//! ```text
//!  bit:  0..2   2..
//!        mode   notify_waiters call counter (wrapping)
//! ```
//!
//! * `EMPTY`: no permit, nobody in the queue.
//! * `NOTIFIED`: one permit is stored (permits do not accumulate), nobody in the queue.
//! * `WAITING`: the queue is non-empty; no permit.
//! * The counter counts [`Notify::notify_waiters`] calls. [`Notify::notified`] reads it once,
//!   when the [`Notified`] future is *created*: a later counter value tells that future that
//!   `notify_waiters` ran after its creation, which completes it even if it was never polled.
//!
//! Rules that make the protocol hold (who may change what):
//!
//! 1. `EMPTY <-> NOTIFIED` changes lock-free, only by compare-and-swap: `notify_one` /
//!    `notify_last` with nobody waiting store the permit (`EMPTY|NOTIFIED -> NOTIFIED`; the
//!    CAS is done even when a permit is already stored, so that the taker of the permit
//!    synchronizes with every notifier), and the first poll of a `Notified` takes it
//!    (`NOTIFIED -> EMPTY`). These are the two uncontended fast paths; they never lock.
//! 2. `WAITING` is entered and left only with the lock held, and the queue is non-empty iff
//!    the mode is `WAITING`. So while the mode is `WAITING` nobody changes the word without the
//!    lock, and a lock holder that reads `WAITING` reads the latest value (it may then `store`).
//!    Every other change made under the lock is a CAS, because rule 1 runs concurrently.
//! 3. The counter changes only under the lock (`notify_waiters`), so a lock holder reads it
//!    exactly; lock-free readers may see an older value, which only sends them to the slow path.
//!
//! The operations:
//!
//! * `notify_one` / `notify_last`: CAS the mode from `EMPTY`/`NOTIFIED` to `NOTIFIED` and
//!   return; if it is `WAITING`, lock, re-read, and either unlink the oldest (`notify_one`,
//!   FIFO) or newest (`notify_last`, LIFO) waiter, mark it notified and set `EMPTY` if the
//!   queue became empty, or (the queue drained meanwhile) store the permit by CAS.
//! * `notify_waiters`: lock; if `WAITING`, unlink every waiter, mark each notified and store
//!   `EMPTY` with the counter plus one; otherwise add one to the counter (`fetch_add`: rule 1
//!   may be racing). Never stores a permit, never takes an existing one.
//! * First poll (or `enable`) of a `Notified`: lock-free, take a stored permit, or complete
//!   if the counter differs from the one captured at creation. Otherwise lock and decide
//!   again with exact values (permit first, then counter), else CAS `EMPTY -> WAITING` (or
//!   find `WAITING`) and join the back of the queue.
//! * Later polls: lock; complete if marked notified, else refresh the stored waker.
//! * Drop of a queued `Notified`: lock and leave the queue (setting `EMPTY` if it was the last
//!   waiter). If it was marked by `notify_one` / `notify_last` but never completed, that
//!   notification is passed on as if the call had been made again: to the next waiter by the
//!   same strategy, or back into the permit. A `notify_waiters` mark is not passed on.
//!
//! No lost wake-ups: a waiter and a notifier both read-modify-write the one state word, so
//! either the notifier's permit CAS comes first in its modification order (the waiter then
//! finds `NOTIFIED` under the lock and takes it), or the waiter's `EMPTY -> WAITING` comes
//! first (the notifier's CAS then fails on `WAITING` and it takes the lock, where it finds the
//! waiter). The `notify_waiters` race is closed the same way by the lock: a future created
//! before the call captured the old counter (coherence: its load precedes the increment), so
//! it is either in the queue when the call locks, or it locks afterwards and sees the new
//! counter. A future created after the call captures the new counter and is not affected.
//!
//! Orderings: the permit CASes are `AcqRel`, the loads `Acquire`, the stores under the lock
//! `Release`, so a task that completes its `notified().await` sees everything the notifier
//! did before notifying, whichever path delivered the notification.
//!
//! Wakers are always woken, and replaced wakers dropped, after the lock is released: a waker
//! may run arbitrary code, including calls back into the same `Notify`.
//!
//! # Design and cost
//!
//! The waiters live in a slab inside the mutex: a `Vec` of slots threaded into a doubly
//! linked queue by index, with a free list. A queued `Notified` remembers its slot index,
//! which only it frees (a notifier unlinks the slot and marks it, but the slot lives on until
//! its future observes the mark or is dropped), so indices need no generation. Enqueue,
//! dequeue and removal on drop are O(1); `notify_waiters` is O(n) under the lock and collects
//! the n wakers into a `Vec` to wake them after unlocking. Costs against an intrusive list (as
//! Tokio's): the slab is a heap allocation that keeps its high-water capacity for the life of
//! the `Notify` (slots are reused, and the vector is cleared whenever no slot is in use), and a
//! queued future's polls always take the lock. In exchange there is no `unsafe` here and
//! [`Notified`] is `Unpin`.
//!
//! `Notified` spends no cooperative budget (as in Tokio): it is a signal, not a resource that
//! could be ready forever.

use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Release},
};
use crate::loom::sync::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const EMPTY: usize = 0b00;
const WAITING: usize = 0b01;
const NOTIFIED: usize = 0b10;
const MODE_MASK: usize = 0b11;
const CALLS_SHIFT: u32 = 2;
/// One `notify_waiters` call, as an addend to the state word.
const CALLS_ONE: usize = 1 << CALLS_SHIFT;

fn mode(state: usize) -> usize {
    state & MODE_MASK
}

fn with_mode(state: usize, mode: usize) -> usize {
    (state & !MODE_MASK) | mode
}

fn calls(state: usize) -> usize {
    state >> CALLS_SHIFT
}

/// Notifies a single task, or every waiting task, to wake up.
///
/// `Notify` is a basic primitive for one task to signal another, without data. Think of it
/// as a [`Semaphore`](https://docs.rs/tokio/latest/tokio/sync/struct.Semaphore.html) holding
/// at most one permit:
///
/// * [`notify_one`](Notify::notify_one) wakes the longest-waiting task; if no task is
///   waiting it stores a *permit*, so that the next [`notified().await`](Notify::notified)
///   completes at once. At most one permit is stored, however often `notify_one` is called.
/// * [`notify_last`](Notify::notify_last) is the same, but wakes the most recent waiter.
/// * [`notify_waiters`](Notify::notify_waiters) wakes every task waiting at the time of the
///   call (including every [`Notified`] future created before it, polled or not) and stores
///   no permit.
///
/// `Notify` works with any executor's wakers, is `Send + Sync`, and is usually shared
/// through an [`Arc`](std::sync::Arc) or a `static` ([`Notify::new`] is a `const fn`).
///
/// # Examples
///
/// ```
/// use runtime::sync::Notify;
/// use std::sync::Arc;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let notify = Arc::new(Notify::new());
///     let notify2 = notify.clone();
///
///     let handle = runtime::spawn(async move {
///         notify2.notified().await;
///         "received notification"
///     });
///
///     notify.notify_one();
///     assert_eq!(handle.await.unwrap(), "received notification");
/// });
/// ```
pub struct Notify {
    /// Mode and `notify_waiters` counter; see the module documentation.
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

/// Future returned by [`Notify::notified`]: completes once the task is notified.
///
/// A `Notified` joins the queue of waiters when it is first polled or
/// [`enable`](Notified::enable)d, and leaves it when it completes or is dropped. It counts as
/// waiting for [`Notify::notify_waiters`] from the moment it is created.
///
/// Once it has completed, polling it again returns `Ready` again.
///
/// # Examples
///
/// ```
/// use runtime::sync::Notify;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let notify = Notify::new();
///     let notified = notify.notified();
///     notify.notify_one(); // stores a permit: nobody is waiting yet
///     notified.await; // takes it
/// });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Notified<'a> {
    notify: &'a Notify,
    /// The `notify_waiters` counter when this future was created.
    calls: usize,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Neither polled nor enabled yet.
    Init,
    /// In the waiters slab, at this index (queued, or unlinked and marked notified).
    Waiting(usize),
    /// Completed; polls return `Ready`.
    Done,
}

/// Which end of the queue `notify_one` / `notify_last` take from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    /// The oldest waiter (`notify_one`).
    Fifo,
    /// The newest waiter (`notify_last`).
    Lifo,
}

/// How a waiter was notified; decides whether its drop passes the notification on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Notification {
    One(Strategy),
    All,
}

/// No slot / end of a list.
const NIL: usize = usize::MAX;

/// The waiters: a slab of slots, the occupied ones queued oldest (`head`) to newest (`tail`)
/// while un-notified. Only ever touched with the `Notify`'s lock held.
struct Waiters {
    slots: Vec<Slot>,
    /// Head of the free-slot list.
    free: usize,
    /// Occupied slots (queued or marked notified).
    occupied: usize,
    head: usize,
    tail: usize,
}

enum Slot {
    Free { next_free: usize },
    Occupied(Waiter),
}

struct Waiter {
    /// Queue links; meaningful only while `notification` is `None`.
    prev: usize,
    next: usize,
    /// `None` while the future was only enabled, never polled.
    waker: Option<Waker>,
    /// Set (and the waiter unlinked) by the notifier that chose this waiter.
    notification: Option<Notification>,
}

impl Waiters {
    const fn new() -> Waiters {
        Waiters {
            slots: Vec::new(),
            free: NIL,
            occupied: 0,
            head: NIL,
            tail: NIL,
        }
    }

    /// Whether nobody is queued (slots holding notified waiters do not count).
    fn is_empty(&self) -> bool {
        self.head == NIL
    }

    fn waiter(&mut self, key: usize) -> &mut Waiter {
        match &mut self.slots[key] {
            Slot::Occupied(waiter) => waiter,
            Slot::Free { .. } => unreachable!("notify: waiter slot {key} is free"),
        }
    }

    /// Queues a new waiter at the back; returns its slot index.
    fn push_back(&mut self, waker: Option<Waker>) -> usize {
        let waiter = Waiter {
            prev: self.tail,
            next: NIL,
            waker,
            notification: None,
        };
        let key = if self.free == NIL {
            self.slots.push(Slot::Occupied(waiter));
            self.slots.len() - 1
        } else {
            let key = self.free;
            match std::mem::replace(&mut self.slots[key], Slot::Occupied(waiter)) {
                Slot::Free { next_free } => self.free = next_free,
                Slot::Occupied(_) => unreachable!("notify: free list holds an occupied slot"),
            }
            key
        };
        self.occupied += 1;
        if self.tail == NIL {
            self.head = key;
        } else {
            self.waiter(self.tail).next = key;
        }
        self.tail = key;
        key
    }

    /// Takes a queued waiter out of the queue (its slot stays occupied).
    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let waiter = self.waiter(key);
            debug_assert!(waiter.notification.is_none(), "unlinking a notified waiter");
            (waiter.prev, waiter.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.waiter(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.waiter(next).prev = prev;
        }
    }

    /// Unlinks the waiter at the `strategy`'s end, marks it, and returns its waker (the outer
    /// `None`: nobody is queued).
    fn notify_one(&mut self, strategy: Strategy) -> Option<Option<Waker>> {
        let key = match strategy {
            Strategy::Fifo => self.head,
            Strategy::Lifo => self.tail,
        };
        if key == NIL {
            return None;
        }
        self.unlink(key);
        let waiter = self.waiter(key);
        waiter.notification = Some(Notification::One(strategy));
        Some(waiter.waker.take())
    }

    /// Unlinks and marks every queued waiter, collecting their wakers.
    fn notify_all(&mut self, wakers: &mut Vec<Waker>) {
        let mut key = self.head;
        while key != NIL {
            let waiter = self.waiter(key);
            key = waiter.next;
            waiter.notification = Some(Notification::All);
            wakers.extend(waiter.waker.take());
        }
        self.head = NIL;
        self.tail = NIL;
    }

    /// Frees the slot of a waiter, unlinking it first if it is still queued.
    fn remove(&mut self, key: usize) -> Waiter {
        if self.waiter(key).notification.is_none() {
            self.unlink(key);
        }
        let slot = std::mem::replace(
            &mut self.slots[key],
            Slot::Free {
                next_free: self.free,
            },
        );
        self.free = key;
        self.occupied -= 1;
        if self.occupied == 0 {
            // Keep indices small (and the free list short) once the burst is over.
            self.slots.clear();
            self.free = NIL;
        }
        match slot {
            Slot::Occupied(waiter) => waiter,
            Slot::Free { .. } => unreachable!("notify: removing free slot {key}"),
        }
    }
}

impl Notify {
    /// Creates a `Notify` with no permit and no waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// static NOTIFY: Notify = Notify::new();
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     NOTIFY.notify_one();
    ///     NOTIFY.notified().await;
    /// });
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// Creates a `Notify` with no permit and no waiters (loom's primitives are not `const`).
    #[cfg(loom)]
    pub fn new() -> Notify {
        Notify {
            state: AtomicUsize::new(EMPTY),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// Returns a future that completes when this `Notify` is notified.
    ///
    /// The future completes when any of these happens after it was created:
    ///
    /// * it takes the permit stored by an earlier [`notify_one`](Notify::notify_one) /
    ///   [`notify_last`](Notify::notify_last) (on its first poll or
    ///   [`enable`](Notified::enable)),
    /// * it is queued (polled or enabled) and chosen by `notify_one` / `notify_last`,
    /// * [`notify_waiters`](Notify::notify_waiters) is called, whether or not the future has
    ///   been polled yet: a `Notified` counts as waiting from its creation for that purpose.
    ///
    /// It spends no cooperative budget.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute notifications in the order they were
    /// requested. Cancelling a call to `notified` (dropping the future) makes you lose your
    /// place in the queue. A notification is never lost to cancellation, though: if the
    /// dropped future had been chosen by `notify_one` / `notify_last` but had not completed
    /// yet, the notification passes on to the next waiter (chosen the same way) or, if nobody
    /// is waiting, is stored as the permit.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Arc::new(Notify::new());
    ///     let notify2 = notify.clone();
    ///
    ///     let waiter = runtime::spawn(async move {
    ///         notify2.notified().await;
    ///     });
    ///
    ///     notify.notify_one();
    ///     waiter.await.unwrap();
    /// });
    /// ```
    pub fn notified(&self) -> Notified<'_> {
        // Any ordering would do for the counter itself: by coherence, this load cannot see an
        // increment that happens after it, and must see one that happens before it.
        let state = self.state.load(Acquire);
        Notified {
            notify: self,
            calls: calls(state),
            stage: Stage::Init,
        }
    }

    /// Wakes the task that has waited longest, or stores a permit if no task is waiting.
    ///
    /// A stored permit makes the next [`notified().await`](Notify::notified) complete at
    /// once. At most one permit is stored: calling `notify_one` several times while nobody
    /// waits still lets only one `notified().await` through.
    ///
    /// The woken task sees every write made before the call. With nobody waiting, this does
    /// not lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Arc::new(Notify::new());
    ///     let notify2 = notify.clone();
    ///
    ///     let waiter = runtime::spawn(async move {
    ///         notify2.notified().await;
    ///         "woken"
    ///     });
    ///
    ///     // Whether or not the task is already waiting, it gets the notification.
    ///     notify.notify_one();
    ///     assert_eq!(waiter.await.unwrap(), "woken");
    /// });
    /// ```
    pub fn notify_one(&self) {
        self.notify(Strategy::Fifo);
    }

    /// Wakes the task that started waiting most recently, or stores a permit if no task is
    /// waiting.
    ///
    /// The same as [`notify_one`](Notify::notify_one) except for which waiter is chosen
    /// (last in, first out).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    /// use std::pin::pin;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Notify::new();
    ///     let mut first = pin!(notify.notified());
    ///     let mut second = pin!(notify.notified());
    ///     first.as_mut().enable();
    ///     second.as_mut().enable();
    ///
    ///     notify.notify_last();
    ///     // The most recent waiter was chosen.
    ///     assert!(second.as_mut().enable());
    ///     assert!(!first.as_mut().enable());
    /// });
    /// ```
    pub fn notify_last(&self) {
        self.notify(Strategy::Lifo);
    }

    /// Wakes every task waiting at the time of the call; stores no permit.
    ///
    /// Every [`Notified`] future created before this call completes, including those not
    /// polled or [`enable`](Notified::enable)d yet. Futures created after the call are not
    /// affected. A permit stored by `notify_one` stays stored (and is not used).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Arc::new(Notify::new());
    ///
    ///     // Created (not yet polled) before the call: both complete.
    ///     let notified1 = notify.notified();
    ///     let notified2 = notify.notified();
    ///
    ///     let notify2 = notify.clone();
    ///     let handle = runtime::spawn(async move {
    ///         notify2.notify_waiters();
    ///     });
    ///     handle.await.unwrap();
    ///
    ///     notified1.await;
    ///     notified2.await;
    /// });
    /// ```
    pub fn notify_waiters(&self) {
        let mut wakers = Vec::new();
        {
            let mut waiters = self.waiters.lock();
            let curr = self.state.load(Acquire);
            if mode(curr) == WAITING {
                waiters.notify_all(&mut wakers);
                // Rule 2: nobody changes a WAITING word without the lock.
                let next = with_mode(curr.wrapping_add(CALLS_ONE), EMPTY);
                self.state.store(next, Release);
            } else {
                // Rule 1 may be flipping EMPTY/NOTIFIED right now: add, don't store. The
                // counter wraps; the mode bits are untouched.
                self.state.fetch_add(CALLS_ONE, AcqRel);
            }
        }
        for waker in wakers {
            waker.wake();
        }
    }

    fn notify(&self, strategy: Strategy) {
        let mut curr = self.state.load(Acquire);
        while mode(curr) != WAITING {
            // Fast path (rule 1): store the permit. CAS even if it is already stored, so the
            // taker synchronizes with this call too.
            match self
                .state
                .compare_exchange_weak(curr, with_mode(curr, NOTIFIED), AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
        let waker = {
            let mut waiters = self.waiters.lock();
            self.notify_locked(&mut waiters, strategy)
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// With the lock held: gives one notification to the waiter at the `strategy`'s end of
    /// the queue, or stores the permit if nobody is queued. Returns the waker to wake once
    /// the lock is released.
    fn notify_locked(&self, waiters: &mut Waiters, strategy: Strategy) -> Option<Waker> {
        let mut curr = self.state.load(Acquire);
        loop {
            if mode(curr) == WAITING {
                let waker = waiters
                    .notify_one(strategy)
                    .expect("notify: mode is WAITING but no waiter is queued");
                if waiters.is_empty() {
                    // Rule 2: a WAITING word read under the lock is the latest one.
                    self.state.store(with_mode(curr, EMPTY), Release);
                }
                return waker;
            }
            // Nobody is queued, and nobody can queue while we hold the lock.
            match self
                .state
                .compare_exchange_weak(curr, with_mode(curr, NOTIFIED), AcqRel, Acquire)
            {
                Ok(_) => return None,
                Err(actual) => curr = actual,
            }
        }
    }
}

impl Default for Notify {
    /// The same as [`Notify::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Notify::default();
    ///     notify.notify_one();
    ///     notify.notified().await;
    /// });
    /// ```
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Acquire);
        let mode = match mode(state) {
            EMPTY => "empty",
            WAITING => "waiting",
            _ => "notified",
        };
        f.debug_struct("Notify")
            .field("mode", &mode)
            .field("notify_waiters_calls", &calls(state))
            .finish()
    }
}

impl Notified<'_> {
    /// Queues this future as a waiter without polling it; returns `true` if it is already
    /// notified (it then completes on its next poll).
    ///
    /// Polling a `Notified` also queues it, so this is only needed to take a place in the
    /// queue (for [`Notify::notify_one`]) before the first poll, e.g. before releasing a lock
    /// that guards the condition being waited for. It is equivalent to a poll that registers
    /// no waker. It has no effect on [`Notify::notify_waiters`], which wakes every future
    /// created before it whether enabled or not.
    ///
    /// It returns `true` when:
    ///
    /// 1. `notify_waiters` was called between the creation of this future and now;
    /// 2. this is the first `enable` or poll of the future and the `Notify` held a permit,
    ///    which this call takes;
    /// 3. the future was queued earlier and has since been chosen by `notify_one`,
    ///    `notify_last` or `notify_waiters`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Notify;
    /// use std::pin::pin;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let notify = Notify::new();
    ///     let mut notified = pin!(notify.notified());
    ///
    ///     // Now queued: `notify_one` wakes it rather than storing a permit.
    ///     assert!(!notified.as_mut().enable());
    ///     notify.notify_one();
    ///     assert!(notified.as_mut().enable());
    ///     notified.await;
    /// });
    /// ```
    pub fn enable(self: Pin<&mut Self>) -> bool {
        self.get_mut().poll_notified(None).is_ready()
    }

    fn poll_notified(&mut self, waker: Option<&Waker>) -> Poll<()> {
        let notify = self.notify;
        match self.stage {
            Stage::Done => Poll::Ready(()),
            Stage::Init => {
                // Fast path, lock-free: take a permit, or see a newer notify_waiters counter.
                let mut curr = notify.state.load(Acquire);
                loop {
                    if mode(curr) == NOTIFIED {
                        match notify.state.compare_exchange_weak(
                            curr,
                            with_mode(curr, EMPTY),
                            AcqRel,
                            Acquire,
                        ) {
                            Ok(_) => return self.complete(),
                            Err(actual) => curr = actual,
                        }
                    } else if calls(curr) != self.calls {
                        return self.complete();
                    } else {
                        break;
                    }
                }

                // Slow path: decide again with exact values, under the lock.
                let waker = waker.cloned(); // dropped after the guard on early returns
                let mut waiters = notify.waiters.lock();
                let mut curr = notify.state.load(Acquire);
                loop {
                    match mode(curr) {
                        NOTIFIED => match notify.state.compare_exchange_weak(
                            curr,
                            with_mode(curr, EMPTY),
                            AcqRel,
                            Acquire,
                        ) {
                            Ok(_) => return self.complete(),
                            Err(actual) => curr = actual,
                        },
                        _ if calls(curr) != self.calls => return self.complete(),
                        WAITING => break,
                        _ => match notify.state.compare_exchange_weak(
                            curr,
                            with_mode(curr, WAITING),
                            AcqRel,
                            Acquire,
                        ) {
                            Ok(_) => break,
                            Err(actual) => curr = actual,
                        },
                    }
                }
                self.stage = Stage::Waiting(waiters.push_back(waker));
                Poll::Pending
            }
            Stage::Waiting(key) => {
                let mut waiters = notify.waiters.lock();
                let waiter = waiters.waiter(key);
                if waiter.notification.is_some() {
                    let waiter = waiters.remove(key);
                    drop(waiters);
                    drop(waiter); // its waker, if any, outside the lock
                    return self.complete();
                }
                let old_waker = match waker {
                    Some(new) if !waiter.waker.as_ref().is_some_and(|w| w.will_wake(new)) => {
                        waiter.waker.replace(new.clone())
                    }
                    _ => None,
                };
                drop(waiters);
                drop(old_waker);
                Poll::Pending
            }
        }
    }

    fn complete(&mut self) -> Poll<()> {
        self.stage = Stage::Done;
        Poll::Ready(())
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_notified(Some(cx.waker()))
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else {
            return;
        };
        let notify = self.notify;
        let mut waiters = notify.waiters.lock();
        let waiter = waiters.remove(key);
        let pass_on = match waiter.notification {
            None => {
                if waiters.is_empty() {
                    // We were the last one queued. Rule 2: the word is WAITING and current.
                    let curr = notify.state.load(Acquire);
                    debug_assert_eq!(mode(curr), WAITING);
                    notify.state.store(with_mode(curr, EMPTY), Release);
                }
                None
            }
            // Chosen but never completed: the notification must not be lost.
            Some(Notification::One(strategy)) => notify.notify_locked(&mut waiters, strategy),
            Some(Notification::All) => None,
        };
        drop(waiters);
        drop(waiter);
        if let Some(waker) = pass_on {
            waker.wake();
        }
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Init => "init",
            Stage::Waiting(_) => "waiting",
            Stage::Done => "done",
        };
        f.debug_struct("Notified")
            .field("stage", &stage)
            .field("notify_waiters_calls", &self.calls)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
use crate::test_util::block_on;

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    use crate::test_util::{counting_waker, CountingWaker};

    fn wakes(count: &CountingWaker) -> usize {
        count.count()
    }

    fn poll(n: &mut Notified<'_>, waker: &Waker) -> Poll<()> {
        Pin::new(n).poll(&mut Context::from_waker(waker))
    }

    fn poll_noop(n: &mut Notified<'_>) -> Poll<()> {
        poll(n, Waker::noop())
    }

    fn mode_of(notify: &Notify) -> usize {
        mode(notify.state.load(SeqCst))
    }

    #[test]
    fn send_sync_unpin() {
        fn check<T: Send + Sync + Unpin>() {}
        check::<Notify>();
        check::<Notified<'static>>();
    }

    #[test]
    fn permit_is_taken_without_queueing() {
        let notify = Notify::new();
        notify.notify_one();
        assert_eq!(mode_of(&notify), NOTIFIED);
        let mut n = notify.notified();
        assert!(poll_noop(&mut n).is_ready());
        assert_eq!(n.stage, Stage::Done);
        assert_eq!(mode_of(&notify), EMPTY);
        assert!(
            poll_noop(&mut n).is_ready(),
            "a completed Notified stays ready"
        );
    }

    #[test]
    fn permits_do_not_accumulate() {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_last();
        notify.notify_one();
        assert!(poll_noop(&mut notify.notified()).is_ready());
        let mut second = notify.notified();
        assert!(poll_noop(&mut second).is_pending());
        assert_eq!(mode_of(&notify), WAITING);
        drop(second);
        assert_eq!(mode_of(&notify), EMPTY);
    }

    #[test]
    fn notify_one_wakes_oldest_and_notify_last_newest() {
        let notify = Notify::new();
        let counts: Vec<_> = (0..4).map(|_| counting_waker()).collect();
        let mut ns: Vec<_> = (0..4).map(|_| notify.notified()).collect();
        for (n, (waker, _)) in ns.iter_mut().zip(&counts) {
            assert!(poll(n, waker).is_pending());
        }
        notify.notify_one(); // 0
        notify.notify_last(); // 3
        notify.notify_one(); // 1
        let woken: Vec<usize> = counts.iter().map(|(_, c)| wakes(c)).collect();
        assert_eq!(woken, [1, 1, 0, 1]);
        for (i, (n, (waker, _))) in ns.iter_mut().zip(&counts).enumerate() {
            assert_eq!(poll(n, waker).is_ready(), i != 2, "waiter {i}");
        }
        notify.notify_one(); // 2
        assert_eq!(wakes(&counts[2].1), 1);
        assert!(poll_noop(&mut ns[2]).is_ready());
        assert_eq!(mode_of(&notify), EMPTY);
    }

    #[test]
    fn notify_waiters_wakes_all_created_before_and_stores_no_permit() {
        let notify = Notify::new();
        let (waker, count) = counting_waker();
        let mut queued: Vec<_> = (0..10).map(|_| notify.notified()).collect();
        for n in &mut queued {
            assert!(poll(n, &waker).is_pending());
        }
        let mut unpolled = notify.notified();
        notify.notify_waiters();
        let mut after = notify.notified();
        assert_eq!(wakes(&count), 10);
        assert_eq!(mode_of(&notify), EMPTY);
        for n in &mut queued {
            assert!(poll_noop(n).is_ready());
        }
        assert!(poll_noop(&mut unpolled).is_ready());
        assert!(poll_noop(&mut after).is_pending(), "created after the call");
        assert!(
            poll_noop(&mut notify.notified()).is_pending(),
            "no permit stored"
        );
    }

    #[test]
    fn notify_waiters_keeps_a_stored_permit() {
        let notify = Notify::new();
        notify.notify_one();
        notify.notify_waiters();
        assert_eq!(mode_of(&notify), NOTIFIED);
        assert!(poll_noop(&mut notify.notified()).is_ready());
        assert!(poll_noop(&mut notify.notified()).is_pending());
    }

    #[test]
    fn enable_queues_without_a_waker() {
        let notify = Notify::new();
        let mut n = notify.notified();
        assert!(!Pin::new(&mut n).enable());
        assert_eq!(mode_of(&notify), WAITING);
        notify.notify_one(); // goes to `n`, no permit
        assert_eq!(mode_of(&notify), EMPTY);
        assert!(Pin::new(&mut n).enable());
        assert!(poll_noop(&mut n).is_ready());
        assert!(poll_noop(&mut notify.notified()).is_pending());
    }

    #[test]
    fn dropping_a_chosen_waiter_passes_the_notification_on() {
        let notify = Notify::new();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut first = notify.notified();
        let mut second = notify.notified();
        assert!(poll(&mut first, &w1).is_pending());
        assert!(poll(&mut second, &w2).is_pending());
        notify.notify_one();
        assert_eq!((wakes(&c1), wakes(&c2)), (1, 0));
        drop(first);
        assert_eq!(wakes(&c2), 1);
        assert!(poll_noop(&mut second).is_ready());
        assert_eq!(mode_of(&notify), EMPTY);
    }

    #[test]
    fn dropping_a_chosen_waiter_passes_on_by_the_same_strategy() {
        let notify = Notify::new();
        let mut ns: Vec<_> = (0..3).map(|_| notify.notified()).collect();
        for n in &mut ns {
            assert!(poll_noop(n).is_pending());
        }
        notify.notify_last(); // chooses ns[2]
        drop(ns.pop());
        // passed on LIFO: to ns[1], not ns[0]
        assert!(Pin::new(&mut ns[1]).enable());
        assert!(!Pin::new(&mut ns[0]).enable());
    }

    #[test]
    fn dropping_a_chosen_waiter_restores_the_permit() {
        let notify = Notify::new();
        let mut n = notify.notified();
        assert!(poll_noop(&mut n).is_pending());
        notify.notify_one();
        drop(n);
        assert_eq!(mode_of(&notify), NOTIFIED);
        assert!(poll_noop(&mut notify.notified()).is_ready());
    }

    #[test]
    fn dropping_a_completed_or_broadcast_waiter_passes_nothing_on() {
        let notify = Notify::new();
        let mut a = notify.notified();
        assert!(poll_noop(&mut a).is_pending());
        notify.notify_waiters();
        drop(a); // marked by notify_waiters: not passed on
        assert_eq!(mode_of(&notify), EMPTY);

        let mut b = notify.notified();
        let mut c = notify.notified();
        assert!(poll_noop(&mut b).is_pending());
        assert!(poll_noop(&mut c).is_pending());
        notify.notify_one();
        assert!(poll_noop(&mut b).is_ready());
        drop(b); // completed: nothing to pass on
        assert!(poll_noop(&mut c).is_pending());
    }

    #[test]
    fn repoll_replaces_the_waker() {
        let notify = Notify::new();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut n = notify.notified();
        assert!(poll(&mut n, &w1).is_pending());
        assert!(poll(&mut n, &w2).is_pending());
        notify.notify_one();
        assert_eq!((wakes(&c1), wakes(&c2)), (0, 1));
        // The old waker was dropped; only `w1` and the test's handle remain.
        assert_eq!(Arc::strong_count(&c1), 2);
    }

    #[test]
    fn slots_are_reused() {
        let notify = Notify::new();
        let mut keep = notify.notified();
        assert!(poll_noop(&mut keep).is_pending());
        for _ in 0..1000 {
            let mut n = notify.notified();
            assert!(poll_noop(&mut n).is_pending());
        }
        assert!(notify.waiters.lock().slots.len() <= 2);
        drop(keep);
        let waiters = notify.waiters.lock();
        assert!(waiters.slots.is_empty() && waiters.is_empty());
    }

    #[test]
    fn removing_from_the_middle_keeps_the_queue() {
        let notify = Notify::new();
        let mut ns: Vec<_> = (0..5).map(|_| notify.notified()).collect();
        for n in &mut ns {
            assert!(poll_noop(n).is_pending());
        }
        let mut ns: Vec<_> = ns.into_iter().map(Some).collect();
        ns[2] = None;
        ns[0] = None;
        notify.notify_one(); // 1
        notify.notify_last(); // 4
        let ready: Vec<bool> = ns
            .iter_mut()
            .map(|n| n.as_mut().is_some_and(|n| poll_noop(n).is_ready()))
            .collect();
        assert_eq!(ready, [false, true, false, false, true]);
        notify.notify_one(); // 3
        assert!(poll_noop(ns[3].as_mut().unwrap()).is_ready());
        assert_eq!(mode_of(&notify), EMPTY);
    }

    #[test]
    fn wakers_run_outside_the_lock() {
        /// Re-enters the `Notify` from `wake`: would deadlock if woken under the lock.
        struct Reenter(Arc<Notify>);
        impl Wake for Reenter {
            fn wake(self: Arc<Self>) {
                self.0.notify_one();
                self.0.notify_waiters();
            }
        }
        let notify = Arc::new(Notify::new());
        let waker = Waker::from(Arc::new(Reenter(notify.clone())));
        let mut a = notify.notified();
        assert!(poll(&mut a, &waker).is_pending());
        notify.notify_one(); // wakes `a`, whose waker stores a permit
        assert!(poll_noop(&mut a).is_ready());
        let mut b = notify.notified();
        assert!(poll_noop(&mut b).is_ready());
        let mut c = notify.notified();
        assert!(poll(&mut c, &waker).is_pending());
        notify.notify_waiters();
        assert!(poll_noop(&mut c).is_ready());
    }

    #[test]
    fn spends_no_budget() {
        let notify = Notify::new();
        crate::coop::budget(|| {
            for _ in 0..(crate::coop::INITIAL_BUDGET as usize * 2) {
                notify.notify_one();
                assert!(poll_noop(&mut notify.notified()).is_ready());
            }
            assert!(crate::coop::has_budget_remaining());
            assert_eq!(
                crate::context::budget(),
                crate::coop::Budget::initial(),
                "no unit spent"
            );
        });
    }

    #[test]
    fn counter_survives_many_broadcasts() {
        let notify = Notify::new();
        for _ in 0..100 {
            notify.notify_waiters();
        }
        assert_eq!(calls(notify.state.load(SeqCst)), 100);
        assert_eq!(mode_of(&notify), EMPTY);
        let mut n = notify.notified();
        assert!(poll_noop(&mut n).is_pending());
        notify.notify_waiters();
        assert!(poll_noop(&mut n).is_ready());
    }

    #[test]
    fn many_threads_no_lost_notification() {
        const THREADS: usize = 4;
        const ROUNDS: usize = 2000;
        let notify = Arc::new(Notify::new());
        let received = Arc::new(StdAtomicUsize::new(0));
        let waiters: Vec<_> = (0..THREADS)
            .map(|_| {
                let (notify, received) = (notify.clone(), received.clone());
                std::thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        block_on(notify.notified());
                        received.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        // Notify until every waiter has received all its rounds; extra notifications are
        // absorbed by the single permit.
        while received.load(SeqCst) < THREADS * ROUNDS {
            notify.notify_one();
            std::thread::yield_now();
        }
        for t in waiters {
            t.join().unwrap();
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    fn poll_noop(n: &mut Notified<'_>) -> Poll<()> {
        Pin::new(n).poll(&mut Context::from_waker(Waker::noop()))
    }

    /// (1) notify_one racing a waiter's first poll: the waiter always completes.
    #[test]
    fn notify_one_vs_poll() {
        crate::loom::model(|| {
            let notify = Arc::new(Notify::new());
            let notifier = {
                let notify = notify.clone();
                thread::spawn(move || notify.notify_one())
            };
            block_on(notify.notified());
            notifier.join().unwrap();
            assert_eq!(mode(notify.state.load(Acquire)), EMPTY);
        });
    }

    /// (2a) notify_waiters racing the creation and first poll of a Notified: whether the
    /// future is affected is decided by the counter it captured at creation. (The broadcast
    /// runs on the main thread: loom then explores it on both sides of the creation.)
    #[test]
    fn notify_waiters_vs_creation_and_first_poll() {
        crate::loom::model(|| {
            let notify = Arc::new(Notify::new());
            let broadcast_done = Arc::new(loom::sync::Notify::new());
            let waiter = {
                let (notify, broadcast_done) = (notify.clone(), broadcast_done.clone());
                thread::spawn(move || {
                    let mut n = notify.notified(); // races the call
                    let created_before = n.calls == 0;
                    let first = poll_noop(&mut n); // races the call too
                    broadcast_done.wait();
                    let second = poll_noop(&mut n);
                    if created_before {
                        assert!(second.is_ready(), "created before: must complete");
                    } else {
                        assert!(first.is_pending(), "created after: must not be woken");
                        assert!(second.is_pending(), "created after: must not be woken");
                    }
                })
            };
            notify.notify_waiters();
            broadcast_done.notify();
            waiter.join().unwrap();
        });
    }

    /// (2b) A future created before notify_waiters, first polled (blocking) while the call
    /// runs, is woken, also when another (queued) waiter makes the call take its WAITING
    /// branch; one created after the call is not woken by it.
    #[test]
    fn notify_waiters_wakes_future_created_before() {
        crate::loom::model(|| {
            let notify = Arc::new(Notify::new());
            let created = Arc::new(loom::sync::Notify::new());
            let broadcaster = {
                let (notify, created) = (notify.clone(), created.clone());
                thread::spawn(move || {
                    created.wait();
                    notify.notify_waiters();
                    // Created after the call: not woken by it.
                    let mut late = notify.notified();
                    assert!(poll_noop(&mut late).is_pending());
                })
            };
            let mut queued = notify.notified();
            assert!(!Pin::new(&mut queued).enable());
            let early = notify.notified();
            created.notify();
            block_on(early);
            // `early` completed, so the call happened before this creation.
            let mut after = notify.notified();
            assert!(poll_noop(&mut after).is_pending());
            assert!(Pin::new(&mut queued).enable(), "queued before the call");
            broadcaster.join().unwrap();
        });
    }

    /// (3) notify_one chooses a queued waiter that is then dropped without completing (racing
    /// the call): the notification reaches the second waiter.
    #[test]
    fn dropped_chosen_waiter_passes_notification_on() {
        crate::loom::model(|| {
            let notify = Arc::new(Notify::new());
            let mut first = notify.notified();
            assert!(!Pin::new(&mut first).enable()); // first in the queue
            let second = {
                let notify = notify.clone();
                thread::spawn(move || block_on(notify.notified()))
            };
            let notifier = {
                let notify = notify.clone();
                thread::spawn(move || notify.notify_one())
            };
            drop(first);
            notifier.join().unwrap();
            second.join().unwrap();
        });
    }
}
