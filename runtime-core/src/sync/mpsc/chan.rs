//! The channel core shared by both flavors: the message queue, the sender counts, the
//! receiver's waker and the closing state. [`bounded`](super::bounded) adds the [`Capacity`]
//! (the crate's fair [`batch_semaphore`](crate::sync::batch_semaphore), one permit per slot);
//! [`unbounded`](super::unbounded) has none.
//!
//! # Protocol
//!
//! The shared state is one `Arc<Chan<T>>`:
//!
//! * `shared` (a mutex): the queue of sent messages and the receiver's registered waker.
//!   A send locks it, pushes, takes the waker (if any) and wakes it after unlocking.
//! * `tx_count` / `weak_count`: strong and weak sender handles. The last strong sender to
//!   leave decrements `tx_count` to 0, then locks `shared` to take and wake the waker. A weak
//!   sender upgrades only by CAS from a non-zero count, so 0 is final.
//! * `rx_closed`: set (under the `shared` lock) by [`Rx::close`] or the receiver's drop.
//!   Unbounded sends check it under the lock and fail once it is set; bounded sends fail at
//!   the semaphore, which is closed right after, while permits already acquired (or granted
//!   to a waiting send before the close) may still push (as in Tokio).
//!
//! The receiver keeps a private buffer: when it is empty, the receiver locks `shared` and
//! swaps the whole queue into it (the two `VecDeque` allocations ping-pong, so the steady
//! state allocates nothing), then pops from the buffer without any lock. So senders and the
//! receiver meet on the lock once per batch, not once per message. Capacity is still
//! returned one message at a time, when the receiver hands the message out.
//!
//! The receiver decides "no message will ever come" under the `shared` lock, with the queue
//! empty: when `tx_count` is 0, or when `rx_closed` is set and the semaphore is idle (every
//! permit back, so no reserved permit can still send). Whoever could change that decision
//! afterwards (the last sender's drop, a permit's release, a send, a cancelled send or
//! reserve whose granted permit goes back) locks `shared` after its change and finds the
//! waker the receiver registered in the same critical section: no wake-up is lost.
//!
//! Values are never dropped under the lock (a value's destructor may use the same channel).

use crate::coop;
use crate::loom::sync::atomic::{
    AtomicBool, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::loom::sync::Mutex;
use crate::sync::batch_semaphore::{self as ll, MAX_PERMITS};
use crate::sync::Notify;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

pub(super) struct Chan<T> {
    shared: Mutex<Shared<T>>,
    /// `Some` for bounded channels.
    cap: Option<Capacity>,
    tx_count: AtomicUsize,
    weak_count: AtomicUsize,
    rx_closed: AtomicBool,
    /// Woken (`notify_waiters`) when the receiver closes; `Sender::closed` waits on it.
    notify_rx_closed: Notify,
}

struct Shared<T> {
    queue: VecDeque<T>,
    rx_waker: Option<Waker>,
}

/// A bounded channel's capacity: one permit of the semaphore per slot. A permit is taken by a
/// send (or a reserve) and travels with the message until the receiver hands it out.
pub(super) struct Capacity {
    sem: ll::Semaphore,
    /// The number of slots the channel was created with.
    max: usize,
}

impl Capacity {
    /// `max` slots; panics (blaming the caller of `mpsc::channel`) if there are too many.
    #[track_caller]
    pub(super) fn new(max: usize) -> Capacity {
        assert!(
            max <= MAX_PERMITS,
            "mpsc bounded channel capacity {max} is too large: the maximum is {MAX_PERMITS}"
        );
        Capacity {
            sem: ll::Semaphore::new(max),
            max,
        }
    }

    /// Every slot is free: no message is queued or buffered, no permit is held, and none is
    /// granted to a waiting send (after `close` nobody waits, so every permit not held by a
    /// message or a permit is back in the count).
    fn is_idle(&self) -> bool {
        self.sem.available_permits() == self.max
    }
}

/// Why `try_recv` found nothing.
pub(super) enum TryPop {
    Empty,
    Disconnected,
}

/// Creates a channel with one strong sender; `cap` is the capacity of a bounded channel.
pub(super) fn channel<T>(cap: Option<Capacity>) -> (Tx<T>, Rx<T>) {
    let chan = Arc::new(Chan {
        shared: Mutex::new(Shared {
            queue: VecDeque::new(),
            rx_waker: None,
        }),
        cap,
        tx_count: AtomicUsize::new(1),
        weak_count: AtomicUsize::new(0),
        rx_closed: AtomicBool::new(false),
        notify_rx_closed: Notify::new(),
    });
    let rx = Rx {
        chan: chan.clone(),
        buf: VecDeque::new(),
    };
    (Tx { chan }, rx)
}

impl<T> Chan<T> {
    fn cap(&self) -> &Capacity {
        self.cap
            .as_ref()
            .expect("mpsc: capacity used on an unbounded channel")
    }

    /// The capacity semaphore (bounded channels only).
    pub(super) fn sem(&self) -> &ll::Semaphore {
        &self.cap().sem
    }

    /// The number of slots (bounded channels only).
    pub(super) fn max_capacity(&self) -> usize {
        self.cap().max
    }

    /// Queues `value` and wakes the receiver. Bounded senders call this holding a permit.
    pub(super) fn push(&self, value: T) {
        let mut shared = self.shared.lock();
        shared.queue.push_back(value);
        let waker = shared.rx_waker.take();
        drop(shared);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Queues `value` unless the receiver is closed (unbounded senders).
    pub(super) fn push_unless_closed(&self, value: T) -> Result<(), T> {
        let mut shared = self.shared.lock();
        // `rx_closed` only changes under this lock.
        if self.rx_closed.load(Relaxed) {
            return Err(value);
        }
        shared.queue.push_back(value);
        let waker = shared.rx_waker.take();
        drop(shared);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Returns permits that were acquired but not used for a message (a dropped permit),
    /// waking a closed receiver that waits for the last of them.
    pub(super) fn release_unused(&self, n: usize) {
        self.sem().release(n);
        self.after_unused_returned();
    }

    /// Called after a permit that was never used for a message went back to the semaphore
    /// (by [`release_unused`](Chan::release_unused), or by a cancelled acquire that had been
    /// granted one): wakes a closed receiver if that was the last permit out.
    pub(super) fn after_unused_returned(&self) {
        if self.rx_closed.load(Acquire) && self.cap().is_idle() {
            self.wake_rx();
        }
    }

    fn wake_rx(&self) {
        let waker = self.shared.lock().rx_waker.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    pub(super) fn is_rx_closed(&self) -> bool {
        self.rx_closed.load(Acquire)
    }

    /// Waits until the receiver is closed or dropped.
    pub(super) async fn closed(&self) {
        loop {
            // Created (and so counted by `notify_waiters`) before the check.
            let notified = self.notify_rx_closed.notified();
            if self.is_rx_closed() {
                return;
            }
            notified.await;
        }
    }

    /// Closes the receiving side: sends fail from now on (idempotent).
    fn close(&self) {
        let shared = self.shared.lock();
        self.rx_closed.store(true, Release);
        drop(shared);
        if let Some(cap) = &self.cap {
            cap.sem.close();
        }
        self.notify_rx_closed.notify_waiters();
    }

    pub(super) fn strong_count(&self) -> usize {
        self.tx_count.load(Acquire)
    }

    pub(super) fn weak_count(&self) -> usize {
        self.weak_count.load(Acquire)
    }

    /// Whether nothing can be queued any more (checked with the `shared` lock held).
    fn is_finished(&self) -> bool {
        self.tx_count.load(Acquire) == 0
            || (self.rx_closed.load(Acquire) && self.cap.as_ref().is_none_or(Capacity::is_idle))
    }
}

impl<T> fmt::Debug for Chan<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chan")
            .field("tx_count", &self.strong_count())
            .field("weak_count", &self.weak_count())
            .field("rx_closed", &self.is_rx_closed())
            .field(
                "capacity",
                &self.cap.as_ref().map(|c| c.sem.available_permits()),
            )
            .finish_non_exhaustive()
    }
}

/// A strong sender handle: keeps the channel open while it lives.
pub(super) struct Tx<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Tx<T> {
    pub(super) fn chan(&self) -> &Chan<T> {
        &self.chan
    }

    pub(super) fn downgrade(&self) -> WeakTx<T> {
        self.chan.weak_count.fetch_add(1, Relaxed);
        WeakTx {
            chan: self.chan.clone(),
        }
    }

    pub(super) fn same_channel(&self, other: &Tx<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        // A live handle already keeps the count above 0, so no CAS is needed.
        self.chan.tx_count.fetch_add(1, Relaxed);
        Tx {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Tx<T> {
    fn drop(&mut self) {
        if self.chan.tx_count.fetch_sub(1, AcqRel) == 1 {
            // The last sender: the receiver may be waiting for more.
            self.chan.wake_rx();
        }
    }
}

impl<T> fmt::Debug for Tx<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chan.fmt(f)
    }
}

/// A weak sender handle: does not keep the channel open.
pub(super) struct WeakTx<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakTx<T> {
    pub(super) fn upgrade(&self) -> Option<Tx<T>> {
        let mut curr = self.chan.tx_count.load(Acquire);
        loop {
            if curr == 0 {
                return None;
            }
            match self
                .chan
                .tx_count
                .compare_exchange_weak(curr, curr + 1, AcqRel, Acquire)
            {
                Ok(_) => {
                    return Some(Tx {
                        chan: self.chan.clone(),
                    })
                }
                Err(actual) => curr = actual,
            }
        }
    }

    pub(super) fn chan(&self) -> &Chan<T> {
        &self.chan
    }
}

impl<T> Clone for WeakTx<T> {
    fn clone(&self) -> Self {
        self.chan.weak_count.fetch_add(1, Relaxed);
        WeakTx {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for WeakTx<T> {
    fn drop(&mut self) {
        self.chan.weak_count.fetch_sub(1, AcqRel);
    }
}

impl<T> fmt::Debug for WeakTx<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chan.fmt(f)
    }
}

/// The receiving handle: the channel plus the receiver's private batch buffer.
pub(super) struct Rx<T> {
    chan: Arc<Chan<T>>,
    /// Messages already taken from the shared queue, not yet handed out. Their capacity is
    /// still in use.
    buf: VecDeque<T>,
}

// SAFETY: `Rx` is only ever shared (`&Rx`) to read lengths and flags: no `&T` is reachable
// through a shared reference (every method touching messages takes `&mut self`), so sharing
// an `Rx` between threads only needs `T: Send`, like the shared queue behind the `Arc`.
unsafe impl<T: Send> Sync for Rx<T> {}

impl<T> Rx<T> {
    pub(super) fn chan(&self) -> &Chan<T> {
        &self.chan
    }

    /// Hands out `n` messages' capacity (bounded channels).
    fn on_received(&self, n: usize) {
        if let Some(cap) = &self.chan.cap {
            cap.sem.release(n);
        }
    }

    /// Makes sure the buffer holds a message: `Ready(true)` if it does, `Ready(false)` if
    /// none will ever come, `Pending` (waker registered) otherwise.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if !self.buf.is_empty() {
            return Poll::Ready(true);
        }
        let mut shared = self.chan.shared.lock();
        if !shared.queue.is_empty() {
            std::mem::swap(&mut shared.queue, &mut self.buf);
            return Poll::Ready(true);
        }
        if self.chan.is_finished() {
            return Poll::Ready(false);
        }
        match &mut shared.rx_waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => {
                let old = slot.replace(cx.waker().clone());
                drop(shared);
                drop(old);
            }
        }
        Poll::Pending
    }

    pub(super) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(coop::poll_proceed(cx));
        if !ready!(self.poll_fill(cx)) {
            coop.made_progress();
            return Poll::Ready(None);
        }
        let value = self.buf.pop_front();
        self.on_received(1);
        coop.made_progress();
        Poll::Ready(value)
    }

    pub(super) fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        if limit == 0 {
            return Poll::Ready(0);
        }
        let coop = ready!(coop::poll_proceed(cx));
        if !ready!(self.poll_fill(cx)) {
            coop.made_progress();
            return Poll::Ready(0);
        }
        if self.buf.len() < limit {
            // Pick up what arrived since the last swap too.
            let mut shared = self.chan.shared.lock();
            let more = limit - self.buf.len();
            let take = more.min(shared.queue.len());
            self.buf.extend(shared.queue.drain(..take));
        }
        let n = limit.min(self.buf.len());
        out.reserve(n);
        out.extend(self.buf.drain(..n));
        self.on_received(n);
        coop.made_progress();
        Poll::Ready(n)
    }

    pub(super) fn try_recv(&mut self) -> Result<T, TryPop> {
        if self.buf.is_empty() {
            let mut shared = self.chan.shared.lock();
            if shared.queue.is_empty() {
                return Err(if self.chan.is_finished() {
                    TryPop::Disconnected
                } else {
                    TryPop::Empty
                });
            }
            std::mem::swap(&mut shared.queue, &mut self.buf);
        }
        let value = self.buf.pop_front().expect("mpsc: buffer filled above");
        self.on_received(1);
        Ok(value)
    }

    pub(super) fn close(&mut self) {
        self.chan.close();
    }

    /// Messages waiting to be received.
    pub(super) fn len(&self) -> usize {
        self.buf.len() + self.chan.shared.lock().queue.len()
    }

    /// The receiver is closed, or every strong sender is gone.
    pub(super) fn is_closed(&self) -> bool {
        self.chan.is_rx_closed() || self.chan.strong_count() == 0
    }
}

impl<T> Drop for Rx<T> {
    fn drop(&mut self) {
        self.chan.close();
        // Drop the buffered messages now (outside the lock) and give their capacity back.
        let queued = std::mem::take(&mut self.chan.shared.lock().queue);
        let n = queued.len() + self.buf.len();
        drop(queued);
        self.buf.clear();
        if let Some(cap) = &self.chan.cap {
            cap.sem.release(n);
        }
    }
}

impl<T> fmt::Debug for Rx<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.chan.fmt(f)
    }
}
