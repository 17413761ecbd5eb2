//! The bounded channel: [`channel`], [`Sender`], [`WeakSender`], [`Permit`], [`OwnedPermit`]
//! and [`Receiver`].
//!
//! A send first acquires one unit of capacity, a permit of the channel's fair
//! [`batch_semaphore`](crate::sync::batch_semaphore) (waiting, first come first served, when
//! the channel is full), then queues the message in the shared [core](super::chan). The
//! receiver returns the unit when it hands the message out. [`Permit`]s split the two steps:
//! the unit is held by the permit until it sends (the unit then travels with the message) or
//! is dropped (the unit goes back at once).

use super::chan::{self, TryPop};
use super::error::{SendError, TryRecvError, TrySendError};
use crate::context;
use crate::sync::batch_semaphore::{self as ll, TryAcquireError};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Creates a bounded mpsc channel holding at most `buffer` messages.
///
/// Returns the [`Sender`] (cloneable) and the [`Receiver`]. When `buffer` messages are queued
/// (or reserved by permits), [`Sender::send`] waits until the receiver takes one; waiting
/// senders are served in the order they started waiting.
///
/// # Panics
///
/// Panics if `buffer` is 0 (a rendezvous channel is not supported: use a capacity of 1, or a
/// [`oneshot`](crate::sync::oneshot) channel for a single reply), or larger than
/// `usize::MAX >> 3`.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = mpsc::channel(100);
/// runtime::spawn(async move {
///     for i in 0..10 {
///         if tx.send(i).await.is_err() {
///             println!("receiver dropped");
///             return;
///         }
///     }
/// });
/// let mut total = 0;
/// while let Some(i) = rx.recv().await {
///     total += i;
/// }
/// assert_eq!(total, 45);
/// # });
/// ```
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        buffer > 0,
        "mpsc bounded channel requires buffer > 0: for a channel that holds a single message \
         use `mpsc::channel(1)`, and for a single reply use `oneshot::channel()`"
    );
    let (tx, rx) = chan::channel(Some(chan::Capacity::new(buffer)));
    (Sender { chan: tx }, Receiver { chan: rx })
}

/// Sends values to the associated [`Receiver`]; created by [`channel`].
///
/// Clone it to send from several tasks. The channel stays open while at least one `Sender`
/// (or [`OwnedPermit`]) exists; [`WeakSender`]s do not count.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = mpsc::channel(8);
/// let tx2 = tx.clone();
/// tx.send("from tx").await.unwrap();
/// tx2.send("from tx2").await.unwrap();
/// assert_eq!(rx.recv().await, Some("from tx"));
/// assert_eq!(rx.recv().await, Some("from tx2"));
/// # });
/// ```
pub struct Sender<T> {
    chan: chan::Tx<T>,
}

/// A sender that does not keep the channel open; [`upgrade`](WeakSender::upgrade) it to send.
///
/// Created by [`Sender::downgrade`].
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// let (tx, _rx) = mpsc::channel::<i32>(1);
/// let weak = tx.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakSender<T> {
    chan: chan::WeakTx<T>,
}

/// One reserved slot of the channel: sending through it cannot fail or wait.
///
/// Created by [`Sender::reserve`] and [`Sender::try_reserve`]. Dropping it unused gives the
/// slot back.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = mpsc::channel(1);
/// let permit = tx.reserve().await.unwrap();
/// assert_eq!(tx.capacity(), 0);
/// permit.send(456);
/// assert_eq!(rx.recv().await, Some(456));
/// # });
/// ```
pub struct Permit<'a, T> {
    chan: &'a chan::Tx<T>,
}

/// One reserved slot of the channel, owning its [`Sender`].
///
/// Created by [`Sender::reserve_owned`] and [`Sender::try_reserve_owned`]; it can be moved
/// into a task and keeps the channel open like a sender. [`send`](OwnedPermit::send) and
/// [`release`](OwnedPermit::release) give the sender back. Dropping it unused gives the slot
/// back.
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = mpsc::channel(1);
/// let permit = tx.reserve_owned().await.unwrap();
/// runtime::spawn(async move {
///     let _tx = permit.send(789);
/// });
/// assert_eq!(rx.recv().await, Some(789));
/// # });
/// ```
pub struct OwnedPermit<T> {
    chan: Option<chan::Tx<T>>,
}

/// Receives values from the associated [`Sender`]s; created by [`channel`].
///
/// # Examples
///
/// ```
/// use runtime::sync::mpsc;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = mpsc::channel(4);
/// runtime::spawn(async move { tx.send(1).await.unwrap() });
/// assert_eq!(rx.recv().await, Some(1));
/// assert_eq!(rx.recv().await, None); // the sender is gone
/// # });
/// ```
pub struct Receiver<T> {
    chan: chan::Rx<T>,
}

/// Waits for one unit of the channel's capacity (spending cooperative budget, as the
/// semaphore's acquire does).
///
/// Dropped before it completes, the semaphore's acquire leaves the queue of waiters, or gives
/// back the unit if it was granted meanwhile; a closed receiver may be waiting for exactly
/// that unit (see the `chan` module), so the drop then checks whether to wake it.
struct Acquire<'a, T> {
    chan: &'a chan::Chan<T>,
    /// `None` once complete.
    inner: Option<ll::Acquire<'a>>,
}

impl<T> Future for Acquire<'_, T> {
    type Output = Result<(), SendError<()>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this
            .inner
            .as_mut()
            .expect("mpsc `Acquire` polled after completion");
        let result = ready!(Pin::new(inner).poll(cx));
        this.inner = None;
        Poll::Ready(result.map_err(|_| SendError(())))
    }
}

impl<T> Drop for Acquire<'_, T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            drop(inner); // returns a granted unit, if any
            self.chan.after_unused_returned();
        }
    }
}

fn acquire<T>(chan: &chan::Tx<T>) -> Acquire<'_, T> {
    let chan = chan.chan();
    Acquire {
        chan,
        inner: Some(chan.sem().acquire(1)),
    }
}

impl<T> Sender<T> {
    /// Sends `value`, waiting for capacity if the channel is full.
    ///
    /// Fails, handing the value back, if the receiver is closed or dropped (then or while
    /// waiting). A message sent before the receiver closes can still be received.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped before it completes (for example in a `select!` whose other
    /// branch won), the message was not sent, and it is dropped with the future. The sender
    /// also loses its place in the queue of waiting senders. Use [`reserve`](Sender::reserve)
    /// to keep the message when cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let producer = runtime::spawn(async move {
    ///     for i in 0..3 {
    ///         tx.send(i).await.unwrap(); // waits while the slot is taken
    ///     }
    /// });
    /// for i in 0..3 {
    ///     assert_eq!(rx.recv().await, Some(i));
    /// }
    /// producer.await.unwrap();
    /// # });
    /// ```
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match acquire(&self.chan).await {
            Ok(()) => {
                self.chan.chan().push(value);
                Ok(())
            }
            Err(_) => Err(SendError(value)),
        }
    }

    /// Sends `value` if the channel has capacity right now.
    ///
    /// Fails with [`TrySendError::Full`] if the channel is full (including slots reserved by
    /// permits) and [`TrySendError::Closed`] if the receiver is closed or dropped; either way
    /// the value is handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.try_send(1).unwrap();
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// tx.try_send(3).unwrap();
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.chan.chan().sem().try_acquire(1) {
            Ok(()) => {
                self.chan.chan().push(value);
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(value)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(value)),
        }
    }

    /// Sends `value` from a thread outside any runtime, blocking it until there is capacity.
    ///
    /// # Panics
    ///
    /// Panics when called on a thread that drives a runtime (inside a task or a `block_on`):
    /// blocking there could stall the very task that would make room. Use
    /// [`send`](Sender::send)`.await` there, or call this from `spawn_blocking` or a plain
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let thread = std::thread::spawn(move || {
    ///     tx.blocking_send(1).unwrap();
    ///     tx.blocking_send(2).unwrap();
    /// });
    /// rt.block_on(async move {
    ///     assert_eq!(rx.recv().await, Some(1));
    ///     assert_eq!(rx.recv().await, Some(2));
    /// });
    /// thread.join().unwrap();
    /// ```
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        if context::is_runtime_entered() {
            panic!(
                "Cannot call `mpsc::Sender::blocking_send` from within a runtime: it would \
                 block a thread that drives asynchronous tasks. Use `tx.send(value).await` \
                 instead, or call `blocking_send` from `spawn_blocking` or a plain thread."
            );
        }
        crate::scheduler::park_on(self.send(value))
    }

    /// Waits for one slot of capacity and reserves it: the returned [`Permit`] sends without
    /// waiting or failing.
    ///
    /// Fails if the receiver is closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe in the sense that dropping the future never loses a slot: a slot granted
    /// to the dropped future goes back to the channel (to the next waiting sender). The
    /// sender does lose its place in the queue of waiting senders.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.reserve().await.unwrap();
    /// assert!(tx.try_send(123).is_err()); // the only slot is reserved
    /// permit.send(456);
    /// assert_eq!(rx.recv().await, Some(456));
    /// # });
    /// ```
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        acquire(&self.chan).await?;
        Ok(Permit { chan: &self.chan })
    }

    /// Like [`reserve`](Sender::reserve), but the permit owns this sender, so it can outlive
    /// the borrow (for example, move into a spawned task).
    ///
    /// # Cancel safety
    ///
    /// As for [`reserve`](Sender::reserve): no slot is lost, but the sender (moved into the
    /// future) is dropped with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.reserve_owned().await.unwrap();
    /// let tx = permit.send(1); // the sender comes back
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        acquire(&self.chan).await?;
        Ok(OwnedPermit {
            chan: Some(self.into_tx()),
        })
    }

    /// Reserves a slot if one is free right now.
    ///
    /// Fails with [`TrySendError::Full(())`](TrySendError::Full) or
    /// [`TrySendError::Closed(())`](TrySendError::Closed).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.try_reserve().unwrap_err(), TrySendError::Full(()));
    /// permit.send("hi");
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// ```
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.chan().sem().try_acquire(1) {
            Ok(()) => Ok(Permit { chan: &self.chan }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(())),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// Like [`try_reserve`](Sender::try_reserve), but the permit owns this sender. On failure
    /// the sender is handed back inside the error.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TrySendError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.clone().try_reserve_owned().unwrap();
    /// let tx = match tx.try_reserve_owned() {
    ///     Err(TrySendError::Full(tx)) => tx, // the sender comes back
    ///     _ => unreachable!(),
    /// };
    /// permit.send(1);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// # drop(tx);
    /// ```
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Self>> {
        match self.chan.chan().sem().try_acquire(1) {
            Ok(()) => Ok(OwnedPermit {
                chan: Some(self.into_tx()),
            }),
            Err(TryAcquireError::NoPermits) => Err(TrySendError::Full(self)),
            Err(TryAcquireError::Closed) => Err(TrySendError::Closed(self)),
        }
    }

    /// Completes when the receiver is closed or dropped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only observes the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, rx) = mpsc::channel::<()>(1);
    /// runtime::spawn(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub async fn closed(&self) {
        self.chan.chan().closed().await;
    }

    /// Whether the receiver is closed or dropped (sends fail from now on).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel::<()>(1);
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.chan().is_rx_closed()
    }

    /// Free slots right now: the maximum capacity minus queued messages and reserved permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(5);
    /// assert_eq!(tx.capacity(), 5);
    /// let permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.capacity(), 4);
    /// permit.send(());
    /// assert_eq!(tx.capacity(), 4); // the message holds the slot...
    /// rx.try_recv().unwrap();
    /// assert_eq!(tx.capacity(), 5); // ...until it is received
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.chan().sem().available_permits()
    }

    /// The capacity the channel was created with.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(5);
    /// let _permit = tx.try_reserve().unwrap();
    /// assert_eq!(tx.max_capacity(), 5);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.chan().max_capacity()
    }

    /// A [`WeakSender`] for this channel, which does not keep it open.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(tx.weak_count(), 1);
    /// assert!(weak.upgrade().unwrap().same_channel(&tx));
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            chan: self.chan.downgrade(),
        }
    }

    /// Whether `self` and `other` send to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let (other, _rx2) = mpsc::channel::<()>(1);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        self.chan.same_channel(&other.chan)
    }

    /// Number of [`Sender`] handles (owned permits included) of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let tx2 = tx.clone();
    /// assert_eq!(tx.strong_count(), 2);
    /// drop(tx2);
    /// assert_eq!(tx.strong_count(), 1);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.chan.chan().strong_count()
    }

    /// Number of [`WeakSender`] handles of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(tx.weak_count(), 1);
    /// drop(weak);
    /// assert_eq!(tx.weak_count(), 0);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.chan().weak_count()
    }

    fn into_tx(self) -> chan::Tx<T> {
        self.chan
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("chan", &self.chan).finish()
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] for the channel, if any strong sender is still alive.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().send(1).await.unwrap();
    /// drop(tx);
    /// assert!(weak.upgrade().is_none());
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().map(|chan| Sender { chan })
    }

    /// Number of strong [`Sender`] handles of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let weak = tx.downgrade();
    /// assert_eq!(weak.strong_count(), 1);
    /// drop(tx);
    /// assert_eq!(weak.strong_count(), 0);
    /// ```
    pub fn strong_count(&self) -> usize {
        self.chan.chan().strong_count()
    }

    /// Number of [`WeakSender`] handles of this channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let weak = tx.downgrade();
    /// let _weak2 = weak.clone();
    /// assert_eq!(weak.weak_count(), 2);
    /// ```
    pub fn weak_count(&self) -> usize {
        self.chan.chan().weak_count()
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> Permit<'_, T> {
    /// Sends `value` through the reserved slot; never waits, never fails. If the receiver was
    /// closed meanwhile the message is still queued (a closed receiver drains what permits
    /// send); if it was dropped, the message is dropped with the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve().unwrap();
    /// rx.close();
    /// permit.send(5);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn send(self, value: T) {
        self.chan.chan().push(value);
        // The slot now travels with the message and is returned when it is received.
        std::mem::forget(self);
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.chan.chan().release_unused(1);
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("chan", self.chan).finish()
    }
}

impl<T> OwnedPermit<T> {
    /// Sends `value` through the reserved slot and gives the [`Sender`] back; never waits,
    /// never fails (see [`Permit::send`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.send(1);
    /// assert_eq!(tx.capacity(), 0);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn send(mut self, value: T) -> Sender<T> {
        let chan = self.chan.take().expect("OwnedPermit holds its sender");
        chan.chan().push(value);
        Sender { chan }
    }

    /// Gives the reserved slot back without sending, and returns the [`Sender`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, _rx) = mpsc::channel::<()>(1);
    /// let permit = tx.try_reserve_owned().unwrap();
    /// let tx = permit.release();
    /// assert_eq!(tx.capacity(), 1);
    /// ```
    pub fn release(mut self) -> Sender<T> {
        let chan = self.chan.take().expect("OwnedPermit holds its sender");
        chan.chan().release_unused(1);
        Sender { chan }
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(chan) = &self.chan {
            chan.chan().release_unused(1);
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("chan", &self.chan)
            .finish()
    }
}

impl<T> Receiver<T> {
    /// Receives the next message, waiting for one; `None` once the channel is closed (every
    /// sender dropped, or [`close`](Receiver::close) called) and every queued message has
    /// been received.
    ///
    /// Spends one unit of the task's cooperative budget.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no message was taken from
    /// the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(100);
    /// runtime::spawn(async move { tx.send("hello").await.unwrap() });
    /// assert_eq!(rx.recv().await, Some("hello"));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        poll_fn(|cx| self.chan.poll_recv(cx)).await
    }

    /// Receives up to `limit` messages into `buffer` (appending), waiting for at least one;
    /// returns how many were received. Returns 0 only if `limit` is 0 or the channel is
    /// closed and empty (as [`recv`](Receiver::recv) returning `None`).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: if the future is dropped before it completes, no message was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(10);
    /// for i in 0..5 {
    ///     tx.send(i).await.unwrap();
    /// }
    /// let mut buffer = Vec::new();
    /// assert_eq!(rx.recv_many(&mut buffer, 3).await, 3);
    /// assert_eq!(buffer, [0, 1, 2]);
    /// assert_eq!(rx.recv_many(&mut buffer, 10).await, 2);
    /// assert_eq!(buffer, [0, 1, 2, 3, 4]);
    /// # });
    /// ```
    pub async fn recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        poll_fn(|cx| self.chan.poll_recv_many(cx, buffer, limit)).await
    }

    /// Receives a message if one is queued right now.
    ///
    /// Fails with [`TryRecvError::Empty`] if none is queued but one may still come, and with
    /// [`TryRecvError::Disconnected`] if none ever will.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = mpsc::channel(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(7).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.chan.try_recv().map_err(|e| match e {
            TryPop::Empty => TryRecvError::Empty,
            TryPop::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Receives the next message from a thread outside any runtime, blocking it until one
    /// arrives; `None` as for [`recv`](Receiver::recv).
    ///
    /// # Panics
    ///
    /// Panics when called on a thread that drives a runtime (inside a task or a `block_on`).
    /// Use [`recv`](Receiver::recv)`.await` there, or call this from `spawn_blocking` or a
    /// plain thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let (tx, mut rx) = mpsc::channel(10);
    /// let thread = std::thread::spawn(move || rx.blocking_recv());
    /// rt.block_on(async move { tx.send(10).await.unwrap() });
    /// assert_eq!(thread.join().unwrap(), Some(10));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        if context::is_runtime_entered() {
            panic!(
                "Cannot call `mpsc::Receiver::blocking_recv` from within a runtime: it would \
                 block a thread that drives asynchronous tasks. Use `rx.recv().await` instead, \
                 or call `blocking_recv` from `spawn_blocking` or a plain thread."
            );
        }
        crate::scheduler::park_on(poll_fn(|cx| self.chan.poll_recv(cx)))
    }

    /// Closes the channel for sending without dropping the receiver: sends and reserves fail
    /// from now on, while queued messages, and messages sent through permits reserved before,
    /// can still be received. [`recv`](Receiver::recv) returns `None` once all of them are.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(10);
    /// tx.send(1).await.unwrap();
    /// rx.close();
    /// assert!(tx.send(2).await.is_err());
    /// assert_eq!(rx.recv().await, Some(1));
    /// assert_eq!(rx.recv().await, None);
    /// # });
    /// ```
    pub fn close(&mut self) {
        self.chan.close();
    }

    /// Receives the next message, or registers `cx`'s waker to be woken when one arrives;
    /// `Ready(None)` as for [`recv`](Receiver::recv). For implementing futures and streams by
    /// hand. Spends cooperative budget like `recv`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    /// use std::future::poll_fn;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(1);
    /// tx.send(3).await.unwrap();
    /// assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(3));
    /// # });
    /// ```
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Like [`recv_many`](Receiver::recv_many), as a poll function.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    /// use std::future::poll_fn;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = mpsc::channel(4);
    /// tx.send(1).await.unwrap();
    /// tx.send(2).await.unwrap();
    /// let mut buf = Vec::new();
    /// assert_eq!(poll_fn(|cx| rx.poll_recv_many(cx, &mut buf, 4)).await, 2);
    /// # });
    /// ```
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        buffer: &mut Vec<T>,
        limit: usize,
    ) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
    }

    /// Number of messages queued and not yet received.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, mut rx) = mpsc::channel(4);
    /// assert!(rx.is_empty());
    /// tx.try_send(1).unwrap();
    /// tx.try_send(2).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// rx.try_recv().unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel(4);
    /// assert!(rx.is_empty());
    /// tx.try_send(()).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the channel is closed: [`close`](Receiver::close) was called or every strong
    /// sender is gone. Queued messages may still be waiting to be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel::<()>(4);
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Free slots right now (see [`Sender::capacity`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel(4);
    /// tx.try_send(()).unwrap();
    /// assert_eq!(rx.capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.chan.chan().sem().available_permits()
    }

    /// The capacity the channel was created with.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (_tx, rx) = mpsc::channel::<()>(4);
    /// assert_eq!(rx.max_capacity(), 4);
    /// ```
    pub fn max_capacity(&self) -> usize {
        self.chan.chan().max_capacity()
    }

    /// Number of strong [`Sender`] handles (owned permits included).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel::<()>(4);
    /// assert_eq!(rx.sender_strong_count(), 1);
    /// drop(tx);
    /// assert_eq!(rx.sender_strong_count(), 0);
    /// ```
    pub fn sender_strong_count(&self) -> usize {
        self.chan.chan().strong_count()
    }

    /// Number of [`WeakSender`] handles.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel::<()>(4);
    /// let _weak = tx.downgrade();
    /// assert_eq!(rx.sender_weak_count(), 1);
    /// ```
    pub fn sender_weak_count(&self) -> usize {
        self.chan.chan().weak_count()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("chan", &self.chan)
            .finish()
    }
}
