//! The fair, batch-acquiring semaphore that [`Semaphore`](super::Semaphore),
//! [`Mutex`](super::Mutex), [`RwLock`](super::RwLock), [`OnceCell`](super::OnceCell) and the
//! capacity of the bounded [`mpsc::channel`](super::mpsc::channel) (one permit per slot) are
//! built on: acquire `n` permits as a future, in strict FIFO order, release or add permits,
//! forget permits, close.
//!
//! # Protocol
//!
//! One atomic word, `state`, plus a mutex-protected FIFO queue of waiters:
//!
//! ```text
//!  bit:  0       1        2..
//!        CLOSED  WAITING  available permits
//! ```
//!
//! * `CLOSED`: set once by [`Semaphore::close`] (under the lock), never cleared. Acquires fail
//!   from then on; releases still return permits to the count.
//! * `WAITING`: the queue is non-empty. It is set and cleared only with the lock held, and
//!   the queue is non-empty iff it is set, so a lock holder that reads it set knows nobody
//!   else changes the queue.
//! * While `WAITING` is set the available count is 0: every permit released then is handed to
//!   the queue under the lock (oldest waiter first), and an acquirer that has to queue first
//!   takes all available permits towards its request. This is what makes the semaphore fair:
//!   a queued request for many permits is not overtaken by later requests for few, because
//!   the fast paths see no permits at all while anyone waits.
//!
//! The operations:
//!
//! * Acquire, fast path (no lock): CAS `count -= n` if `WAITING` is clear, `CLOSED` is clear
//!   and `count >= n`. Release, fast path: CAS `count += n` if `WAITING` is clear. These are
//!   the uncontended paths: one CAS each.
//! * Acquire, slow path: lock, decide again with the exact word; if still short, CAS the word
//!   to `count = 0, WAITING` (crediting the taken permits to the request) and join the back of
//!   the queue with the rest of the request outstanding.
//! * Release, slow path (`WAITING` was set): lock and hand the permits out from the head of the
//!   queue. A waiter whose request is complete is unlinked and marked `Granted`; permits left
//!   over once the queue is empty go back to the count as `WAITING` is cleared.
//! * Later polls of a queued acquire lock and look at the mark; dropping a queued acquire
//!   (cancellation) unlinks it and releases whatever it had been assigned (everything, if it
//!   was `Granted` but never observed it) through the slow release path, so permits are never
//!   lost and the next waiter is served.
//! * Close: lock, set `CLOSED`, mark every queued waiter `Closed` (returning their partial
//!   assignments to the count) and clear `WAITING`.
//!
//! No lost wake-up: a releaser and an acquirer that is about to queue both CAS the one word.
//! Either the release lands first (the acquirer then sees the permits, under the lock), or the
//! acquirer's `WAITING` lands first (the releaser's fast-path CAS fails and it takes the lock,
//! where it finds the waiter). Wakers are woken only after the lock is released (a waker may
//! call back into the semaphore), at most 32 at a time.
//!
//! Orderings: the CASes are `AcqRel` and the loads `Acquire`, so whoever obtains permits sees
//! everything done by whoever released them before releasing, on either path (the queue path
//! is additionally ordered by the mutex).
//!
//! # Design and cost
//!
//! The waiters live in a slab inside the mutex (a `Vec` of slots threaded into a doubly linked
//! queue by index, with a free list), as in [`Notify`](super::Notify): no `unsafe`, and the
//! [`Acquire`] future is `Unpin`. Enqueue, handing out, and removal on cancellation are O(1).
//! The cost against an intrusive list is that a queued acquire's later poll takes the lock
//! once to observe its grant and free its slot.

use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{self, AcqRel},
};
use crate::loom::sync::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

const CLOSED: usize = 0b01;
const WAITING: usize = 0b10;
const PERMIT_SHIFT: u32 = 2;

/// The largest number of permits a semaphore can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 3;

fn permits(state: usize) -> usize {
    state >> PERMIT_SHIFT
}

/// Error returned by [`Semaphore::acquire`](super::Semaphore::acquire) and the other
/// waiting acquires: the semaphore was closed.
///
/// # Examples
///
/// ```
/// use runtime::sync::{AcquireError, Semaphore};
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let semaphore = Semaphore::new(0);
///     semaphore.close();
///     let err: AcquireError = semaphore.acquire().await.unwrap_err();
///     assert_eq!(err.to_string(), "semaphore closed");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Error returned by [`Semaphore::try_acquire`](super::Semaphore::try_acquire) and the other
/// non-waiting acquires.
///
/// # Examples
///
/// ```
/// use runtime::sync::{Semaphore, TryAcquireError};
///
/// let semaphore = Semaphore::new(1);
/// let _permit = semaphore.try_acquire().unwrap();
/// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
/// semaphore.close();
/// assert_eq!(semaphore.try_acquire().unwrap_err(), TryAcquireError::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are available (or other tasks are queued ahead).
    NoPermits,
}

impl TryAcquireError {
    /// Whether the error is [`TryAcquireError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(1);
    /// semaphore.close();
    /// assert!(semaphore.try_acquire().unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether the error is [`TryAcquireError::NoPermits`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(0);
    /// assert!(semaphore.try_acquire().unwrap_err().is_no_permits());
    /// ```
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// The internal fair semaphore; see the module documentation.
pub(crate) struct Semaphore {
    /// `CLOSED`, `WAITING` and the available count; see the module documentation.
    state: AtomicUsize,
    waiters: Mutex<Waiters>,
}

/// Future of [`Semaphore::acquire`]: resolves once `num` permits are assigned to it.
#[must_use = "futures do nothing unless polled"]
pub(crate) struct Acquire<'a> {
    sem: &'a Semaphore,
    num: usize,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Init,
    /// In the waiters slab at this index.
    Queued(usize),
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// In the queue, `remaining` permits still outstanding.
    Queued,
    /// Unlinked: every requested permit is assigned to it.
    Granted,
    /// Unlinked by `close`; its partial assignment went back to the count.
    Closed,
}

/// No slot / end of a list.
const NIL: usize = usize::MAX;

/// The queue: a slab of slots, the `Queued` ones linked oldest (`head`) to newest (`tail`).
/// Only touched with the semaphore's lock held.
struct Waiters {
    slots: Vec<Slot>,
    free: usize,
    occupied: usize,
    head: usize,
    tail: usize,
}

enum Slot {
    Free { next_free: usize },
    Occupied(Waiter),
}

struct Waiter {
    prev: usize,
    next: usize,
    waker: Option<Waker>,
    /// Permits still to be assigned.
    remaining: usize,
    /// Permits assigned so far.
    assigned: usize,
    outcome: Outcome,
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

    fn is_empty(&self) -> bool {
        self.head == NIL
    }

    fn waiter(&mut self, key: usize) -> &mut Waiter {
        match &mut self.slots[key] {
            Slot::Occupied(waiter) => waiter,
            Slot::Free { .. } => unreachable!("semaphore: waiter slot {key} is free"),
        }
    }

    fn push_back(&mut self, waker: Waker, remaining: usize, assigned: usize) -> usize {
        let waiter = Waiter {
            prev: self.tail,
            next: NIL,
            waker: Some(waker),
            remaining,
            assigned,
            outcome: Outcome::Queued,
        };
        let key = if self.free == NIL {
            self.slots.push(Slot::Occupied(waiter));
            self.slots.len() - 1
        } else {
            let key = self.free;
            match std::mem::replace(&mut self.slots[key], Slot::Occupied(waiter)) {
                Slot::Free { next_free } => self.free = next_free,
                Slot::Occupied(_) => unreachable!("semaphore: free list holds an occupied slot"),
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

    /// Takes a queued waiter out of the queue and marks it (its slot stays occupied).
    fn unlink(&mut self, key: usize, outcome: Outcome) -> &mut Waiter {
        let (prev, next) = {
            let waiter = self.waiter(key);
            debug_assert_eq!(waiter.outcome, Outcome::Queued);
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
        let waiter = self.waiter(key);
        waiter.outcome = outcome;
        waiter
    }

    /// Frees a waiter's slot, unlinking it first if it is still queued.
    fn remove(&mut self, key: usize) -> Waiter {
        if self.waiter(key).outcome == Outcome::Queued {
            // Unlink keeps the mark `Queued` so the caller can tell what it owned.
            self.unlink(key, Outcome::Queued);
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
            Slot::Free { .. } => unreachable!("semaphore: removing free slot {key}"),
        }
    }
}

/// Wakers collected under the lock, woken after it is released (a bounded batch, so handing
/// out permits allocates nothing).
struct WakeList {
    wakers: [Option<Waker>; WakeList::CAPACITY],
    len: usize,
}

impl WakeList {
    const CAPACITY: usize = 32;

    fn new() -> WakeList {
        WakeList {
            wakers: [const { None }; WakeList::CAPACITY],
            len: 0,
        }
    }

    fn is_full(&self) -> bool {
        self.len == WakeList::CAPACITY
    }

    fn push(&mut self, waker: Option<Waker>) {
        if let Some(waker) = waker {
            self.wakers[self.len] = Some(waker);
            self.len += 1;
        }
    }

    fn wake_all(&mut self) {
        for waker in &mut self.wakers[..self.len] {
            if let Some(waker) = waker.take() {
                waker.wake();
            }
        }
        self.len = 0;
    }
}

impl Semaphore {
    /// Creates a semaphore with `permits` available permits.
    ///
    /// Panics if `permits` exceeds [`MAX_PERMITS`].
    #[track_caller]
    pub(crate) fn new(permits: usize) -> Semaphore {
        assert_permits(permits);
        Semaphore {
            state: AtomicUsize::new(permits << PERMIT_SHIFT),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// `new`, usable in `const` contexts (loom's primitives are not `const`).
    #[cfg(not(loom))]
    #[track_caller]
    pub(crate) const fn const_new(permits: usize) -> Semaphore {
        assert!(
            permits <= MAX_PERMITS,
            "a semaphore can hold at most MAX_PERMITS (usize::MAX >> 3) permits"
        );
        Semaphore {
            state: AtomicUsize::new(permits << PERMIT_SHIFT),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// A closed semaphore with no permits (for an initialized `OnceCell`).
    #[cfg(not(loom))]
    pub(crate) const fn const_closed() -> Semaphore {
        Semaphore {
            state: AtomicUsize::new(CLOSED),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    /// A closed semaphore with no permits (for an initialized `OnceCell`).
    pub(crate) fn new_closed() -> Semaphore {
        Semaphore {
            state: AtomicUsize::new(CLOSED),
            waiters: Mutex::new(Waiters::new()),
        }
    }

    pub(crate) fn available_permits(&self) -> usize {
        permits(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Takes `num` permits if they are available and nobody is queued.
    pub(crate) fn try_acquire(&self, num: usize) -> Result<(), TryAcquireError> {
        let mut curr = self.state.load(Ordering::Acquire);
        loop {
            if curr & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if curr & WAITING != 0 || permits(curr) < num {
                return Err(TryAcquireError::NoPermits);
            }
            let next = curr - (num << PERMIT_SHIFT);
            match self
                .state
                .compare_exchange_weak(curr, next, AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => curr = actual,
            }
        }
    }

    /// Returns a future that resolves once `num` permits are assigned to it (in FIFO order),
    /// or fails once the semaphore is closed.
    pub(crate) fn acquire(&self, num: usize) -> Acquire<'_> {
        Acquire {
            sem: self,
            num,
            stage: Stage::Init,
        }
    }

    /// Returns `num` permits: to the queue first, the rest to the count.
    ///
    /// Panics if the count would exceed [`MAX_PERMITS`].
    #[track_caller]
    pub(crate) fn release(&self, num: usize) {
        if num == 0 {
            return;
        }
        let mut curr = self.state.load(Ordering::Acquire);
        while curr & WAITING == 0 {
            assert_added(permits(curr), num);
            match self.state.compare_exchange_weak(
                curr,
                curr + (num << PERMIT_SHIFT),
                AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
        self.release_queued(num);
    }

    /// Removes up to `num` available permits; returns how many were removed.
    pub(crate) fn forget_permits(&self, num: usize) -> usize {
        let mut curr = self.state.load(Ordering::Acquire);
        loop {
            let taken = permits(curr).min(num);
            if taken == 0 {
                return 0;
            }
            match self.state.compare_exchange_weak(
                curr,
                curr - (taken << PERMIT_SHIFT),
                AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return taken,
                Err(actual) => curr = actual,
            }
        }
    }

    /// Closes the semaphore: every queued acquire fails, and so does every later one.
    pub(crate) fn close(&self) {
        let mut wakers = Vec::new();
        {
            let mut waiters = self.waiters.lock();
            let mut returned = 0;
            while !waiters.is_empty() {
                let head = waiters.head;
                let waiter = waiters.unlink(head, Outcome::Closed);
                returned += std::mem::take(&mut waiter.assigned);
                wakers.extend(waiter.waker.take());
            }
            // With the lock held nobody sets WAITING, and only CASes race with this update.
            let mut curr = self.state.load(Ordering::Acquire);
            loop {
                let next = ((curr & !WAITING) | CLOSED) + (returned << PERMIT_SHIFT);
                match self
                    .state
                    .compare_exchange_weak(curr, next, AcqRel, Ordering::Acquire)
                {
                    Ok(_) => break,
                    Err(actual) => curr = actual,
                }
            }
        }
        for waker in wakers {
            waker.wake();
        }
    }

    /// The slow release: with the lock, hands `num` permits to the queue from the head; what
    /// is left once the queue is empty goes to the count (clearing `WAITING`). With `num ==
    /// 0` this only restores the `WAITING` invariant (after a waiter left the queue).
    #[track_caller]
    fn release_queued(&self, mut num: usize) {
        let mut wakers = WakeList::new();
        loop {
            let handed = {
                let mut waiters = self.waiters.lock();
                self.hand_out(&mut waiters, &mut num, &mut wakers)
            };
            wakers.wake_all();
            match handed {
                Ok(true) => return,
                Ok(false) => {} // the wake list filled up: wake, then go on
                Err((available, added)) => panic_overflow(available, added),
            }
        }
    }

    /// With the lock held: hands out `num` permits as `release_queued` describes, collecting
    /// wakers until `wakers` is full. `Ok(true)`: done; `Ok(false)`: call again with the rest
    /// once the wakers are woken; `Err`: the count would overflow (the permits are dropped).
    fn hand_out(
        &self,
        waiters: &mut Waiters,
        num: &mut usize,
        wakers: &mut WakeList,
    ) -> Result<bool, (usize, usize)> {
        while *num > 0 && !waiters.is_empty() && !wakers.is_full() {
            let head = waiters.head;
            let waiter = waiters.waiter(head);
            let given = (*num).min(waiter.remaining);
            waiter.remaining -= given;
            waiter.assigned += given;
            *num -= given;
            if waiter.remaining == 0 {
                let waiter = waiters.unlink(head, Outcome::Granted);
                wakers.push(waiter.waker.take());
            }
        }
        if !waiters.is_empty() {
            return Ok(*num == 0);
        }
        // The queue is empty: give the rest to the count and clear WAITING. Only CASes (fast
        // releases, forget_permits) race with this update.
        let mut curr = self.state.load(Ordering::Acquire);
        loop {
            let available = permits(curr);
            if *num > MAX_PERMITS - available.min(MAX_PERMITS) {
                return Err((available, std::mem::take(num)));
            }
            let next = (curr & !WAITING) + (*num << PERMIT_SHIFT);
            match self
                .state
                .compare_exchange_weak(curr, next, AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => curr = actual,
            }
        }
        *num = 0;
        Ok(true)
    }
}

#[track_caller]
fn assert_permits(permits: usize) {
    assert!(
        permits <= MAX_PERMITS,
        "a semaphore can hold at most MAX_PERMITS ({MAX_PERMITS}) permits, but {permits} were \
         requested"
    );
}

#[track_caller]
fn assert_added(available: usize, added: usize) {
    if added > MAX_PERMITS - available.min(MAX_PERMITS) {
        panic_overflow(available, added);
    }
}

#[track_caller]
fn panic_overflow(available: usize, added: usize) -> ! {
    panic!(
        "adding {added} permits to a semaphore holding {available} would exceed MAX_PERMITS \
         ({MAX_PERMITS})"
    );
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load(Ordering::Acquire);
        f.debug_struct("Semaphore")
            .field("permits", &permits(state))
            .field("closed", &(state & CLOSED != 0))
            .field("waiting", &(state & WAITING != 0))
            .finish()
    }
}

impl Acquire<'_> {
    /// First poll: the fast path, then the slow path (which may queue).
    fn poll_init(&mut self, waker: &Waker) -> Poll<Result<(), AcquireError>> {
        let sem = self.sem;
        let num = self.num;
        let mut curr = sem.state.load(Ordering::Acquire);
        loop {
            if curr & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            if num == 0 {
                return Poll::Ready(Ok(()));
            }
            if curr & WAITING != 0 || permits(curr) < num {
                break;
            }
            match sem.state.compare_exchange_weak(
                curr,
                curr - (num << PERMIT_SHIFT),
                AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Poll::Ready(Ok(())),
                Err(actual) => curr = actual,
            }
        }

        let mut waiters = sem.waiters.lock();
        let mut curr = sem.state.load(Ordering::Acquire);
        let taken = loop {
            if curr & CLOSED != 0 {
                return Poll::Ready(Err(AcquireError(())));
            }
            let available = permits(curr);
            let (next, taken) = if curr & WAITING == 0 && available >= num {
                (curr - (num << PERMIT_SHIFT), num)
            } else {
                // Short (with WAITING set the count is 0): take what there is and queue.
                ((curr - (available << PERMIT_SHIFT)) | WAITING, available)
            };
            match sem
                .state
                .compare_exchange_weak(curr, next, AcqRel, Ordering::Acquire)
            {
                Ok(_) => break taken,
                Err(actual) => curr = actual,
            }
        };
        if taken == num {
            return Poll::Ready(Ok(()));
        }
        self.stage = Stage::Queued(waiters.push_back(waker.clone(), num - taken, taken));
        Poll::Pending
    }

    fn poll_queued(&mut self, key: usize, waker: &Waker) -> Poll<Result<(), AcquireError>> {
        let mut waiters = self.sem.waiters.lock();
        let waiter = waiters.waiter(key);
        let result = match waiter.outcome {
            Outcome::Granted => Ok(()),
            Outcome::Closed => Err(AcquireError(())),
            Outcome::Queued => {
                let old = match &waiter.waker {
                    Some(w) if w.will_wake(waker) => None,
                    _ => waiter.waker.replace(waker.clone()),
                };
                drop(waiters);
                drop(old);
                return Poll::Pending;
            }
        };
        let waiter = waiters.remove(key);
        drop(waiters);
        drop(waiter);
        Poll::Ready(result)
    }
}

impl Future for Acquire<'_> {
    type Output = Result<(), AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(crate::coop::poll_proceed(cx));
        let result = match this.stage {
            Stage::Init => this.poll_init(cx.waker()),
            Stage::Queued(key) => this.poll_queued(key, cx.waker()),
            Stage::Done => panic!("semaphore `Acquire` polled after completion"),
        };
        if result.is_ready() {
            this.stage = Stage::Done;
            coop.made_progress();
        }
        result
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Stage::Queued(key) = self.stage else {
            return;
        };
        let sem = self.sem;
        let mut wakers = WakeList::new();
        let (waiter, give_back, handed) = {
            let mut waiters = sem.waiters.lock();
            let waiter = waiters.remove(key);
            // Queued: its partial assignment; Granted: all of it; Closed: nothing (returned
            // by `close`). Even with nothing to give back, leaving may have emptied the
            // queue: `hand_out` then clears WAITING.
            let mut give_back = waiter.assigned;
            let handed = sem.hand_out(&mut waiters, &mut give_back, &mut wakers);
            (waiter, give_back, handed)
        };
        drop(waiter);
        wakers.wake_all();
        // Permits that came from the semaphore cannot overflow it.
        if handed == Ok(false) {
            sem.release_queued(give_back);
        }
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("num_permits", &self.num)
            .field("stage", &self.stage)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;
    use std::sync::Arc;
    use std::task::Wake;

    fn poll(a: &mut Acquire<'_>, waker: &Waker) -> Poll<Result<(), AcquireError>> {
        Pin::new(a).poll(&mut Context::from_waker(waker))
    }

    fn poll_noop(a: &mut Acquire<'_>) -> Poll<Result<(), AcquireError>> {
        poll(a, Waker::noop())
    }

    fn waiting(sem: &Semaphore) -> bool {
        sem.state.load(Ordering::SeqCst) & WAITING != 0
    }

    #[test]
    fn send_sync_unpin() {
        fn check<T: Send + Sync + Unpin>() {}
        check::<Semaphore>();
        check::<Acquire<'static>>();
    }

    #[test]
    fn fast_paths_do_not_queue() {
        let sem = Semaphore::new(3);
        assert_eq!(poll_noop(&mut sem.acquire(2)), Poll::Ready(Ok(())));
        assert_eq!(sem.available_permits(), 1);
        assert_eq!(sem.try_acquire(2), Err(TryAcquireError::NoPermits));
        assert_eq!(sem.try_acquire(1), Ok(()));
        sem.release(3);
        assert_eq!(sem.available_permits(), 3);
        assert!(sem.waiters.lock().slots.is_empty());
        assert!(!waiting(&sem));
    }

    #[test]
    fn queued_request_takes_available_permits_and_blocks_later_ones() {
        let sem = Semaphore::new(2);
        let mut big = sem.acquire(5);
        assert!(poll_noop(&mut big).is_pending());
        assert_eq!(
            sem.available_permits(),
            0,
            "the 2 permits went to the queued request"
        );
        assert!(waiting(&sem));
        sem.release(1);
        assert_eq!(sem.try_acquire(1), Err(TryAcquireError::NoPermits));
        let mut small = sem.acquire(1);
        assert!(poll_noop(&mut small).is_pending(), "no overtaking");
        sem.release(2); // big has 5
        assert_eq!(poll_noop(&mut big), Poll::Ready(Ok(())));
        assert!(poll_noop(&mut small).is_pending());
        sem.release(2); // small gets 1, 1 left over
        assert_eq!(poll_noop(&mut small), Poll::Ready(Ok(())));
        assert_eq!(sem.available_permits(), 1);
        assert!(!waiting(&sem));
    }

    #[test]
    fn release_wakes_in_fifo_order() {
        let sem = Semaphore::new(0);
        let wakers: Vec<_> = (0..4).map(|_| counting_waker()).collect();
        let mut acqs: Vec<_> = (0..4).map(|_| sem.acquire(1)).collect();
        for (a, (w, _)) in acqs.iter_mut().zip(&wakers) {
            assert!(poll(a, w).is_pending());
        }
        sem.release(2);
        let woken: Vec<usize> = wakers.iter().map(|(_, c)| c.count()).collect();
        assert_eq!(woken, [1, 1, 0, 0]);
        assert!(poll_noop(&mut acqs[0]).is_ready());
        assert!(poll_noop(&mut acqs[2]).is_pending());
    }

    #[test]
    fn dropping_a_partially_assigned_waiter_passes_permits_on() {
        let sem = Semaphore::new(0);
        let mut first = sem.acquire(3);
        let mut second = sem.acquire(2);
        let (w2, c2) = counting_waker();
        assert!(poll_noop(&mut first).is_pending());
        assert!(poll(&mut second, &w2).is_pending());
        sem.release(2); // both to `first`
        assert_eq!(c2.count(), 0);
        drop(first);
        assert_eq!(c2.count(), 1, "the 2 permits went to `second`");
        assert!(poll_noop(&mut second).is_ready());
        assert_eq!(sem.available_permits(), 0);
        assert!(!waiting(&sem));
    }

    #[test]
    fn dropping_a_granted_unobserved_waiter_returns_everything() {
        let sem = Semaphore::new(0);
        let mut a = sem.acquire(2);
        assert!(poll_noop(&mut a).is_pending());
        sem.release(3);
        assert_eq!(sem.available_permits(), 1);
        drop(a); // granted, never polled again
        assert_eq!(sem.available_permits(), 3);
        assert!(!waiting(&sem));
        assert!(sem.waiters.lock().slots.is_empty());
    }

    #[test]
    fn dropping_a_granted_unobserved_waiter_passes_permits_to_the_next() {
        let sem = Semaphore::new(1);
        assert_eq!(sem.try_acquire(1), Ok(()));
        let mut first = sem.acquire(1);
        let mut second = sem.acquire(1);
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        assert!(poll(&mut first, &w1).is_pending());
        assert!(poll(&mut second, &w2).is_pending());
        sem.release(1);
        assert_eq!((c1.count(), c2.count()), (1, 0), "oldest waiter first");
        assert_eq!(
            sem.try_acquire(1),
            Err(TryAcquireError::NoPermits),
            "a newcomer cannot take the permit granted to `first`"
        );
        drop(first); // granted, never polled again
        assert_eq!(c2.count(), 1, "the permit went to `second`");
        assert!(poll_noop(&mut second).is_ready());
        assert_eq!(sem.available_permits(), 0);
        assert!(!waiting(&sem));
    }

    #[test]
    fn dropping_the_last_waiter_clears_waiting() {
        let sem = Semaphore::new(0);
        let mut a = sem.acquire(1);
        assert!(poll_noop(&mut a).is_pending());
        drop(a);
        assert!(!waiting(&sem));
        sem.release(1);
        assert_eq!(sem.try_acquire(1), Ok(()));
    }

    #[test]
    fn close_fails_queued_and_later_acquires_and_returns_partial_permits() {
        let sem = Semaphore::new(1);
        let (w, c) = counting_waker();
        let mut a = sem.acquire(3);
        let mut b = sem.acquire(1);
        assert!(poll(&mut a, &w).is_pending());
        assert!(poll(&mut b, &w).is_pending());
        sem.close();
        assert_eq!(c.count(), 2);
        assert_eq!(poll_noop(&mut a), Poll::Ready(Err(AcquireError(()))));
        assert_eq!(poll_noop(&mut b), Poll::Ready(Err(AcquireError(()))));
        assert_eq!(sem.available_permits(), 1, "a's partial permit came back");
        assert_eq!(sem.try_acquire(1), Err(TryAcquireError::Closed));
        assert_eq!(
            poll_noop(&mut sem.acquire(0)),
            Poll::Ready(Err(AcquireError(())))
        );
        assert!(sem.is_closed());
    }

    #[test]
    fn zero_permits_succeed_at_once_even_behind_waiters() {
        let sem = Semaphore::new(0);
        let mut a = sem.acquire(1);
        assert!(poll_noop(&mut a).is_pending());
        assert_eq!(poll_noop(&mut sem.acquire(0)), Poll::Ready(Ok(())));
        assert_eq!(sem.try_acquire(0), Err(TryAcquireError::NoPermits));
    }

    #[test]
    fn forget_permits_takes_only_available_ones() {
        let sem = Semaphore::new(5);
        assert_eq!(sem.forget_permits(3), 3);
        assert_eq!(sem.forget_permits(10), 2);
        assert_eq!(sem.forget_permits(1), 0);
        assert_eq!(sem.available_permits(), 0);
    }

    #[test]
    #[should_panic(expected = "MAX_PERMITS")]
    fn new_above_max_panics() {
        let _ = Semaphore::new(MAX_PERMITS + 1);
    }

    #[test]
    #[should_panic(expected = "would exceed MAX_PERMITS")]
    fn release_overflow_panics() {
        let sem = Semaphore::new(MAX_PERMITS);
        sem.release(1);
    }

    #[test]
    fn many_granted_waiters_are_woken_in_batches() {
        let sem = Semaphore::new(0);
        let (w, c) = counting_waker();
        let mut acqs: Vec<_> = (0..100).map(|_| sem.acquire(1)).collect();
        for a in &mut acqs {
            assert!(poll(a, &w).is_pending());
        }
        sem.release(150);
        assert_eq!(c.count(), 100);
        assert_eq!(sem.available_permits(), 50);
        for a in &mut acqs {
            assert!(poll_noop(a).is_ready());
        }
        assert!(sem.waiters.lock().slots.is_empty());
    }

    #[test]
    fn repoll_replaces_the_waker() {
        let sem = Semaphore::new(0);
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut a = sem.acquire(1);
        assert!(poll(&mut a, &w1).is_pending());
        assert!(poll(&mut a, &w2).is_pending());
        sem.release(1);
        assert_eq!((c1.count(), c2.count()), (0, 1));
    }

    #[test]
    fn wakers_run_outside_the_lock() {
        struct Reenter(Arc<Semaphore>);
        impl Wake for Reenter {
            fn wake(self: Arc<Self>) {
                self.0.release(1);
                let _ = self.0.try_acquire(1);
            }
        }
        let sem = Arc::new(Semaphore::new(0));
        let waker = Waker::from(Arc::new(Reenter(sem.clone())));
        let mut a = sem.acquire(1);
        assert!(poll(&mut a, &waker).is_pending());
        sem.release(1); // would deadlock if woken under the lock
        assert!(poll_noop(&mut a).is_ready());
    }

    #[test]
    fn acquire_spends_budget() {
        let sem = Semaphore::new(usize::from(u16::MAX));
        crate::coop::budget(|| {
            for _ in 0..crate::coop::INITIAL_BUDGET {
                assert!(poll_noop(&mut sem.acquire(1)).is_ready());
            }
            assert!(!crate::coop::has_budget_remaining());
            let (w, c) = counting_waker();
            assert!(poll(&mut sem.acquire(1), &w).is_pending());
            assert_eq!(c.count(), 1, "yielded: woken to be polled again");
        });
    }

    #[test]
    fn threads_contending_account_for_every_permit() {
        const THREADS: usize = 4;
        const ROUNDS: usize = 2000;
        let sem = Arc::new(Semaphore::new(3));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let sem = sem.clone();
                std::thread::spawn(move || {
                    for r in 0..ROUNDS {
                        let n = 1 + (i + r) % 3;
                        crate::scheduler::park_on(sem.acquire(n)).unwrap();
                        sem.release(n);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 3);
        assert!(!waiting(&sem));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    use crate::test_util::block_on;

    /// A queued acquire is dropped (cancelled) while another thread releases permits, and a
    /// third waits for a permit: every permit is accounted for and the waiter is served.
    #[test]
    fn acquire_vs_release_vs_cancel() {
        crate::loom::model(|| {
            let sem = Arc::new(Semaphore::new(1));
            let mut cancelled = sem.acquire(2);
            let first = Pin::new(&mut cancelled).poll(&mut Context::from_waker(Waker::noop()));
            assert!(first.is_pending(), "1 of 2 permits: queued");
            let waiter = {
                let sem = sem.clone();
                thread::spawn(move || {
                    block_on(sem.acquire(1)).unwrap();
                    sem.release(1);
                })
            };
            let releaser = {
                let sem = sem.clone();
                thread::spawn(move || sem.release(1))
            };
            drop(cancelled);
            releaser.join().unwrap();
            waiter.join().unwrap();
            assert_eq!(sem.available_permits(), 2);
            assert_eq!(sem.state.load(Ordering::Acquire) & WAITING, 0);
        });
    }

    /// Mutex-style handoff: two threads take a one-permit semaphore in turn; the one that
    /// queues is always woken when the other releases.
    #[test]
    fn one_permit_handoff() {
        crate::loom::model(|| {
            let sem = Arc::new(Semaphore::new(1));
            let other = {
                let sem = sem.clone();
                thread::spawn(move || {
                    block_on(sem.acquire(1)).unwrap();
                    sem.release(1);
                })
            };
            block_on(sem.acquire(1)).unwrap();
            sem.release(1);
            other.join().unwrap();
            assert_eq!(sem.available_permits(), 1);
        });
    }

    /// close() racing a queued acquire: the waiter always completes (with an error, or with
    /// the permit if the release came first), and no permit is lost.
    #[test]
    fn close_vs_queued_acquire() {
        crate::loom::model(|| {
            let sem = Arc::new(Semaphore::new(0));
            let waiter = {
                let sem = sem.clone();
                thread::spawn(move || {
                    if block_on(sem.acquire(1)).is_ok() {
                        sem.release(1);
                    }
                })
            };
            sem.release(1);
            sem.close();
            waiter.join().unwrap();
            assert_eq!(sem.available_permits(), 1);
        });
    }
}
