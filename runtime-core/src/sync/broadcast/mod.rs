//! A multi-producer, multi-consumer broadcast channel: every receiver sees every value.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. Each value sent is delivered to every
//! receiver alive at the time of the send ([`Sender::subscribe`] and
//! [`Receiver::resubscribe`] add receivers that start with the next value), so `T` must be
//! `Clone` to be received. Both senders and receivers may live on any thread.
//!
//! The channel holds at most `capacity` values (rounded up to a power of two). A value stays
//! until every receiver that was alive when it was sent has received it (it is then dropped),
//! or until a newer send overwrites it: sends never wait. A receiver that falls more than
//! `capacity` values behind *lags*: its next receive returns [`RecvError::Lagged`] with the
//! number of values it missed, and it continues with the oldest value still in the channel.
//!
//! When every sender is dropped, receivers get the values still queued for them, then
//! [`RecvError::Closed`].
//!
//! # Examples
//!
//! ```
//! use runtime::sync::broadcast;
//!
//! # let rt = runtime::Runtime::new().unwrap();
//! # rt.block_on(async {
//! let (tx, mut rx1) = broadcast::channel(16);
//! let mut rx2 = tx.subscribe();
//!
//! let t1 = runtime::spawn(async move {
//!     assert_eq!(rx1.recv().await.unwrap(), 10);
//!     assert_eq!(rx1.recv().await.unwrap(), 20);
//! });
//! let t2 = runtime::spawn(async move {
//!     assert_eq!(rx2.recv().await.unwrap(), 10);
//!     assert_eq!(rx2.recv().await.unwrap(), 20);
//! });
//!
//! tx.send(10).unwrap();
//! tx.send(20).unwrap();
//! t1.await.unwrap();
//! t2.await.unwrap();
//! # });
//! ```
//!
//! # Protocol
//!
//! All handles share one `Arc<Shared<T>>`:
//!
//! * `buffer`: a ring of `capacity` slots, each behind its own mutex, holding a position
//!   (`pos`, the number of the message in the stream), `rem` (how many receivers still have to
//!   read it) and the value. Slot `i` holds the newest message whose position is `i` modulo
//!   the capacity; before the first lap it holds the fictitious position `i - capacity`.
//! * `tail` (a mutex): the position of the next send, the number of receivers, the closed
//!   flag and the waiting receivers (the `waiters` module).
//! * Each receiver owns `next`, the position it reads next.
//!
//! A **send** locks the tail, then the slot of `tail.pos`; stores the value with
//! `rem = receivers`; bumps `tail.pos`; takes every waiting waker; unlocks, drops the
//! overwritten value (if any) and wakes the wakers. A **receive** locks only the slot of
//! `next`:
//!
//! * `slot.pos == next`: the message is there. The receiver decrements `rem`; the last one
//!   takes the value out (no clone, and the value is dropped as soon as nobody needs it),
//!   the others clone it.
//! * `slot.pos + capacity == next`: not sent yet. The receiver unlocks the slot and locks the
//!   tail. There, `tail.pos != next` means a send completed in between (retry); otherwise the
//!   channel is closed, or the receiver registers its waker and waits. Sends bump `tail.pos`
//!   under the same lock, so no send slips between the check and the registration.
//! * otherwise the slot was overwritten: the receiver lagged. It locks the tail and jumps to
//!   the oldest retained position, `tail.pos - capacity`, reporting the distance.
//!
//! Locks are always taken tail before slot, and a receiver never holds a slot lock while
//! taking the tail lock. A dropped receiver leaves the count under the tail lock (later sends
//! no longer count it) and then reads, without cloning, every message that counted it, so
//! those values are dropped as soon as the other receivers have them. Values are dropped and
//! wakers woken after every lock is released.
//!
//! Senders are counted in an atomic; the last one to drop sets `closed` under the tail lock
//! and wakes the waiters. [`Sender::closed`] waits on a [`Notify`] that
//! the last receiver to leave triggers.
//!
//! Cost: `send` is two uncontended lock pairs; a receive of a ready message is one. The slots
//! use a mutex rather than a reader-writer lock so that the last reader can move the value out
//! instead of cloning it (with one receiver, values are never cloned).

mod waiters;

use crate::context;
use crate::coop;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};
use crate::loom::sync::Mutex;
use crate::sync::Notify;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};
use waiters::{wake_all, WaiterKey, Waiters};

/// Error types of the broadcast channel.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast::{self, error::{SendError, TryRecvError}};
///
/// let (tx, mut rx) = broadcast::channel::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(rx);
/// assert_eq!(tx.send(1), Err(SendError(1)));
/// ```
pub mod error {
    use std::fmt;

    /// [`Sender::send`](super::Sender::send) found no receiver; the value is handed back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::SendError};
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// drop(rx);
    /// let err = tx.send("hi").unwrap_err();
    /// assert_eq!(err, SendError("hi"));
    /// assert_eq!(err.to_string(), "channel closed");
    /// ```
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::RecvError};
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = broadcast::channel(2);
    /// for i in 0..3 {
    ///     tx.send(i).unwrap();
    /// }
    /// assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
    /// assert_eq!(RecvError::Lagged(1).to_string(), "channel lagged by 1");
    /// assert_eq!(rx.recv().await, Ok(1));
    /// # });
    /// ```
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender was dropped and every value sent to this receiver was received.
        Closed,
        /// The receiver fell behind and this many values were overwritten before it could
        /// receive them. The next receive returns the oldest value still in the channel.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel::<u8>(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    /// ```
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// No value is queued for this receiver right now; one may be sent later.
        Empty,
        /// Every sender was dropped and every value sent to this receiver was received.
        Closed,
        /// The receiver fell behind by this many values (see [`RecvError::Lagged`]).
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

/// More receivers than this is a bug in the caller (the count would overflow).
const MAX_RECEIVERS: usize = usize::MAX >> 1;

struct Shared<T> {
    buffer: Box<[Mutex<Slot<T>>]>,
    /// `capacity - 1`; the capacity is a power of two.
    mask: usize,
    tail: Mutex<Tail>,
    /// Live `Sender`s (not `WeakSender`s).
    num_tx: AtomicUsize,
    /// Woken when the number of receivers drops to zero.
    rx_gone: Notify,
}

struct Tail {
    /// Position of the next message to send.
    pos: u64,
    /// Live receivers.
    rx_cnt: usize,
    /// Every sender was dropped.
    closed: bool,
    waiters: Waiters,
}

struct Slot<T> {
    /// Position of the message in this slot (fictitious before the first lap).
    pos: u64,
    /// Receivers that still have to read it; the value is taken out when it reaches zero.
    rem: usize,
    val: Option<T>,
}

/// What one read of a receiver's next slot found.
enum Read<T> {
    /// The message, cloned or moved out (`None` when the reader asked for no value).
    Message(Option<T>),
    /// The receiver lagged by this many messages and now points at the oldest retained one.
    Lagged(u64),
    /// The message at the receiver's position has not been sent yet.
    NotSent,
}

impl<T> Shared<T> {
    fn capacity(&self) -> u64 {
        self.buffer.len() as u64
    }

    fn slot(&self, pos: u64) -> &Mutex<Slot<T>> {
        &self.buffer[(pos as usize) & self.mask]
    }

    /// Reads the message at `*next` for one receiver that was counted by its send, and
    /// advances `*next`. With `clone` the value is returned (cloned, or moved out by the
    /// last reader); without, it is only marked read (and dropped by the last reader).
    #[inline]
    fn read<C: FnOnce(&T) -> T>(&self, next: &mut u64, clone: Option<C>) -> Read<T> {
        let mut slot = self.slot(*next).lock();
        if slot.pos != *next {
            let not_sent = slot.pos.wrapping_add(self.capacity()) == *next;
            drop(slot);
            if not_sent {
                return Read::NotSent;
            }
            // Overwritten: jump to the oldest retained message. A send completed after the
            // one that overwrote our slot, so `tail.pos >= *next + capacity + 1`.
            let oldest = self.tail.lock().pos - self.capacity();
            let missed = oldest - *next;
            *next = oldest;
            return Read::Lagged(missed);
        }
        if slot.rem == 1 {
            // The last reader: move the value out.
            slot.rem = 0;
            let val = slot.val.take();
            drop(slot);
            *next += 1;
            match clone {
                Some(_) => Read::Message(val),
                None => {
                    drop(val);
                    Read::Message(None)
                }
            }
        } else {
            // Clone first: if `clone` panics, this receiver has not moved and the slot still
            // counts it.
            let val = clone.map(|clone| clone(slot.val.as_ref().expect("broadcast: slot value")));
            slot.rem -= 1;
            *next += 1;
            Read::Message(val)
        }
    }

    /// Adds a receiver that starts at the next message sent.
    fn new_receiver(self: &Arc<Self>) -> Receiver<T> {
        let next = {
            let mut tail = self.tail.lock();
            assert!(
                tail.rx_cnt < MAX_RECEIVERS,
                "broadcast: too many receivers (at most usize::MAX / 2)"
            );
            tail.rx_cnt += 1;
            tail.pos
        };
        Receiver {
            shared: self.clone(),
            next,
        }
    }
}

/// Creates a broadcast channel holding up to `capacity` values; returns its first sender
/// and receiver.
///
/// The capacity is rounded up to the next power of two (`channel(5)` holds 8 values), as in
/// Tokio: a receiver lags once more than that many values it has not received were sent.
/// All the slots are allocated up front.
///
/// # Panics
///
/// If `capacity` is 0 (a broadcast channel must hold at least one value; for a channel that
/// only carries a signal use [`Notify`] or a capacity of 1), or larger
/// than `usize::MAX / 2`.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = broadcast::channel(5);
/// for i in 0..8 {
///     tx.send(i).unwrap(); // 8 slots: nothing is overwritten yet
/// }
/// assert_eq!(rx.len(), 8);
/// assert_eq!(rx.recv().await, Ok(0));
/// # });
/// ```
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "broadcast channel capacity cannot be zero: pass a capacity of at least 1"
    );
    assert!(
        capacity <= usize::MAX >> 1,
        "broadcast channel capacity exceeds `usize::MAX / 2`"
    );
    let capacity = capacity.next_power_of_two();
    let buffer = (0..capacity)
        .map(|i| {
            Mutex::new(Slot {
                pos: (i as u64).wrapping_sub(capacity as u64),
                rem: 0,
                val: None,
            })
        })
        .collect();
    let shared = Arc::new(Shared {
        buffer,
        mask: capacity - 1,
        tail: Mutex::new(Tail {
            pos: 0,
            rx_cnt: 1,
            closed: false,
            waiters: Waiters::new(),
        }),
        num_tx: AtomicUsize::new(1),
        rx_gone: Notify::new(),
    });
    let rx = Receiver {
        shared: shared.clone(),
        next: 0,
    };
    (Sender { shared }, rx)
}

/// Sends values to every [`Receiver`] of a broadcast channel. Cloning it adds a sender; the
/// channel closes when the last one is dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = broadcast::channel(8);
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// assert_eq!(rx.recv().await, Ok(1));
/// assert_eq!(rx.recv().await, Ok(2));
/// # });
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open; [`upgrade`](WeakSender::upgrade) it to send.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// let (tx, _rx) = broadcast::channel::<u8>(4);
/// let weak = tx.downgrade();
/// assert!(weak.upgrade().is_some());
/// drop(tx);
/// assert!(weak.upgrade().is_none());
/// ```
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent on a broadcast channel after it was created.
///
/// Not `Clone`: a copy could not know which values the original had received. Use
/// [`resubscribe`](Receiver::resubscribe) for a receiver that starts at the next value.
///
/// # Examples
///
/// ```
/// use runtime::sync::broadcast;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = broadcast::channel(8);
/// tx.send("a").unwrap();
/// let mut rx2 = rx.resubscribe(); // starts after "a"
/// tx.send("b").unwrap();
/// assert_eq!(rx.recv().await, Ok("a"));
/// assert_eq!(rx2.recv().await, Ok("b"));
/// # });
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// Position of the next message to receive.
    next: u64,
}

impl<T> Sender<T> {
    /// Sends `value` to every receiver alive now; returns how many there are.
    ///
    /// Never waits: if the channel is full, the oldest value is overwritten (receivers that
    /// had not received it will [lag](RecvError::Lagged)). If there is no receiver, the value
    /// is handed back in the error. A later [`subscribe`](Sender::subscribe) does not see
    /// values sent before it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// let _rx2 = tx.subscribe();
    /// assert_eq!(tx.send(1), Ok(2));
    /// drop(rx);
    /// drop(_rx2);
    /// assert!(tx.send(2).is_err());
    /// ```
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let (overwritten, wakers, receivers) = {
            let mut tail = self.shared.tail.lock();
            if tail.rx_cnt == 0 {
                return Err(SendError(value));
            }
            let pos = tail.pos;
            let overwritten = {
                let mut slot = self.shared.slot(pos).lock();
                slot.pos = pos;
                slot.rem = tail.rx_cnt;
                slot.val.replace(value)
            };
            tail.pos += 1;
            (overwritten, tail.waiters.take_all(), tail.rx_cnt)
        };
        drop(overwritten);
        wake_all(wakers);
        Ok(receivers)
    }

    /// Creates a receiver that gets every value sent after this call.
    ///
    /// # Panics
    ///
    /// If the channel already has `usize::MAX / 2` receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, _rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut rx2 = tx.subscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx2.recv().await, Ok(2));
    /// # });
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.new_receiver()
    }

    /// The number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, _rx) = broadcast::channel::<()>(4);
    /// let rx2 = tx.subscribe();
    /// assert_eq!(tx.receiver_count(), 2);
    /// drop(rx2);
    /// assert_eq!(tx.receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.tail.lock().rx_cnt
    }

    /// The number of values in the channel: sent, and neither received by every receiver
    /// that was alive at the send nor overwritten. At most the (rounded) capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx1) = broadcast::channel(16);
    /// let mut rx2 = tx.subscribe();
    /// tx.send(10).unwrap();
    /// tx.send(20).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// rx1.recv().await.unwrap();
    /// assert_eq!(tx.len(), 2); // rx2 still needs both
    /// rx2.recv().await.unwrap();
    /// assert_eq!(tx.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        let shared = &self.shared;
        let tail = shared.tail.lock();
        // From the oldest retained position (tail.pos - capacity) to the newest, the slots
        // still needed form a suffix: a receiver that still needs a message needs every later
        // one too (it was alive at the later send and has not passed it). Binary-search the
        // first one with `rem > 0`.
        let (mut low, mut high) = (0, shared.buffer.len());
        while low < high {
            let mid = low + (high - low) / 2;
            if shared.slot(tail.pos + mid as u64).lock().rem == 0 {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        shared.buffer.len() - low
    }

    /// Whether [`len`](Sender::len) is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// assert!(tx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!tx.is_empty());
    /// rx.try_recv().unwrap();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `self` and `other` send to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, _rx) = broadcast::channel::<()>(4);
    /// let (other, _other_rx) = broadcast::channel::<()>(4);
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes when the channel has no receiver (at once if it has none now).
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, rx) = broadcast::channel::<u8>(4);
    /// let rx2 = tx.subscribe();
    /// runtime::spawn(async move {
    ///     drop(rx);
    ///     drop(rx2);
    /// });
    /// tx.closed().await;
    /// assert_eq!(tx.receiver_count(), 0);
    /// # });
    /// ```
    pub async fn closed(&self) {
        loop {
            // Created before the check: a receiver leaving after the check notifies it.
            let notified = self.shared.rx_gone.notified();
            if self.receiver_count() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// A [`WeakSender`] of this channel, which does not keep it open.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// let weak = tx.downgrade();
    /// weak.upgrade().unwrap().send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn downgrade(&self) -> WeakSender<T> {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.num_tx.fetch_add(1, AcqRel);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.num_tx.fetch_sub(1, AcqRel) == 1 {
            let wakers = {
                let mut tail = self.shared.tail.lock();
                tail.closed = true;
                tail.waiters.take_all()
            };
            wake_all(wakers);
        }
    }
}

impl<T> WeakSender<T> {
    /// A [`Sender`] of the channel, or `None` if every sender has been dropped (the channel
    /// is then closed for good).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, _rx) = broadcast::channel::<u8>(4);
    /// let weak = tx.downgrade();
    /// let tx2 = weak.upgrade().unwrap();
    /// drop(tx);
    /// assert!(weak.upgrade().is_some()); // tx2 keeps it open
    /// drop(tx2);
    /// assert!(weak.upgrade().is_none());
    /// ```
    pub fn upgrade(&self) -> Option<Sender<T>> {
        let mut count = self.shared.num_tx.load(Acquire);
        loop {
            if count == 0 {
                return None;
            }
            match self
                .shared
                .num_tx
                .compare_exchange_weak(count, count + 1, AcqRel, Acquire)
            {
                Ok(_) => {
                    return Some(Sender {
                        shared: self.shared.clone(),
                    })
                }
                Err(actual) => count = actual,
            }
        }
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> Self {
        WeakSender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Receiver<T> {
    /// The number of values sent that this receiver has not received yet.
    ///
    /// If this exceeds the (rounded) capacity, the receiver has lagged: the next receive
    /// returns [`RecvError::Lagged`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// for i in 0..3 {
    ///     tx.send(i).unwrap();
    /// }
    /// assert_eq!(rx.len(), 3);
    /// assert!(rx.try_recv().is_err()); // lagged by 1
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        (self.shared.tail.lock().pos - self.next) as usize
    }

    /// Whether [`len`](Receiver::len) is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// assert!(rx.is_empty());
    /// tx.send(1).unwrap();
    /// assert!(!rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender has been dropped (values may still be queued for this receiver).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<u8>(2);
    /// assert!(!rx.is_closed());
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.num_tx.load(Acquire) == 0
    }

    /// Whether `self` and `other` receive from the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel::<()>(2);
    /// let (_other_tx, other_rx) = broadcast::channel::<()>(2);
    /// assert!(rx.same_channel(&tx.subscribe()));
    /// assert!(!rx.same_channel(&other_rx));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// A new receiver of the same channel that starts at the next value sent (it does not
    /// get the values queued for `self`).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// tx.send(1).unwrap();
    /// let mut rx2 = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx2.try_recv(), Ok(2));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        self.shared.new_receiver()
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting if none is queued for this receiver.
    ///
    /// Returns [`RecvError::Lagged`] if values were overwritten before this receiver got
    /// them (the next call returns the oldest value still in the channel), and
    /// [`RecvError::Closed`] once every sender is dropped and every queued value received.
    /// Spends one unit of cooperative budget when it completes.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: the receiver only moves past a value when the call
    /// returns it, so if `recv` is used as a branch of `select!` and another branch wins, no
    /// value is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = broadcast::channel(4);
    /// runtime::spawn(async move {
    ///     tx.send("hello").unwrap();
    /// });
    /// assert_eq!(rx.recv().await, Ok("hello"));
    /// assert_eq!(rx.recv().await, Err(broadcast::error::RecvError::Closed));
    /// # });
    /// ```
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        Recv {
            rx: self,
            waiter: None,
        }
        .await
    }

    /// Receives the next value if one is queued, without waiting.
    ///
    /// Spends no cooperative budget.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(10).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(10));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.recv_or_register(None)
    }

    /// Blocks the current thread until the next value arrives (see [`recv`](Receiver::recv)).
    ///
    /// For synchronous code outside the runtime: a plain thread or a
    /// [`spawn_blocking`](crate::task::spawn_blocking) closure.
    ///
    /// # Panics
    ///
    /// When called on a thread that drives a runtime (inside a task or a `block_on`):
    /// blocking there would stall the tasks that thread runs, possibly the sender. Use
    /// `recv().await` there instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::broadcast;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let (tx, mut rx) = broadcast::channel(4);
    /// let thread = std::thread::spawn(move || rx.blocking_recv());
    /// rt.block_on(async move {
    ///     tx.send(10).unwrap();
    /// });
    /// assert_eq!(thread.join().unwrap(), Ok(10));
    /// ```
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        if context::is_runtime_entered() {
            panic!(
                "Cannot call `broadcast::Receiver::blocking_recv` from within a runtime: it \
                 would block a thread that drives asynchronous tasks. Use `rx.recv().await` \
                 instead, or call `blocking_recv` from `spawn_blocking` or a plain thread."
            );
        }
        crate::scheduler::park_on(self.recv())
    }

    /// Receives the next value; if none is queued and `register` is given, registers its
    /// waker (under the tail lock, see the module documentation) before returning `Empty`.
    fn recv_or_register(
        &mut self,
        register: Option<(&mut Option<WaiterKey>, &Waker)>,
    ) -> Result<T, TryRecvError> {
        let shared = &*self.shared;
        loop {
            match shared.read(&mut self.next, Some(T::clone)) {
                Read::Message(val) => {
                    return Ok(val.expect("broadcast: a read with `clone` yields the value"))
                }
                Read::Lagged(missed) => return Err(TryRecvError::Lagged(missed)),
                Read::NotSent => {}
            }
            let mut tail = shared.tail.lock();
            if tail.pos != self.next {
                continue; // a send completed since the read
            }
            if tail.closed {
                return Err(TryRecvError::Closed);
            }
            if let Some((key, waker)) = register {
                let replaced = tail.waiters.register(key, waker);
                drop(tail);
                drop(replaced);
            }
            return Err(TryRecvError::Empty);
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let (until, last) = {
            let mut tail = shared.tail.lock();
            tail.rx_cnt -= 1;
            (tail.pos, tail.rx_cnt == 0)
        };
        if last {
            shared.rx_gone.notify_waiters();
        }
        // Mark read every message that counted this receiver, so that its value is dropped
        // once the other receivers have it. Sends from now on do not count us.
        while self.next < until {
            match shared.read(&mut self.next, None::<fn(&T) -> T>) {
                Read::Message(_) | Read::Lagged(_) => {}
                Read::NotSent => unreachable!("broadcast: position below the tail not sent"),
            }
        }
    }
}

/// The future of [`Receiver::recv`].
struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    /// Our entry among the waiters, if we registered one.
    waiter: Option<WaiterKey>,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let result = match this
            .rx
            .recv_or_register(Some((&mut this.waiter, cx.waker())))
        {
            Ok(value) => Ok(value),
            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => return Poll::Pending,
        };
        coop.made_progress();
        // Completing after registering needs a send or the close after the registration,
        // and both take every registered waker: our entry is gone already.
        this.waiter = None;
        Poll::Ready(result)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.waiter.take() {
            let waker = self.rx.shared.tail.lock().waiters.remove(key);
            drop(waker);
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("capacity", &self.shared.buffer.len())
            .field("senders", &self.shared.num_tx.load(Acquire))
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender")
            .field("senders", &self.shared.num_tx.load(Acquire))
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("capacity", &self.shared.buffer.len())
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};

    fn poll_recv<T: Clone>(
        recv: Pin<&mut impl Future<Output = Result<T, RecvError>>>,
        waker: &Waker,
    ) -> Poll<Result<T, RecvError>> {
        recv.poll(&mut Context::from_waker(waker))
    }

    /// Counts its clones (the clones share the counter).
    #[derive(Debug)]
    struct CountClone(Arc<StdAtomicUsize>);

    impl Clone for CountClone {
        fn clone(&self) -> Self {
            self.0.fetch_add(1, SeqCst);
            CountClone(self.0.clone())
        }
    }

    #[test]
    fn capacity_rounds_up_to_a_power_of_two() {
        for (asked, got) in [(1, 1), (2, 2), (3, 4), (5, 8), (16, 16), (17, 32)] {
            let (tx, _rx) = channel::<u8>(asked);
            assert_eq!(tx.shared.buffer.len(), got, "channel({asked})");
            assert_eq!(tx.shared.mask, got - 1);
        }
    }

    #[test]
    #[should_panic(expected = "broadcast channel capacity cannot be zero")]
    fn zero_capacity_panics() {
        let _ = channel::<u8>(0);
    }

    #[test]
    fn lag_jumps_to_the_oldest_retained_message() {
        let (tx, mut rx) = channel(4);
        for i in 0..10 {
            tx.send(i).unwrap();
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(6)));
        assert_eq!(rx.next, 6);
        for i in 6..10 {
            assert_eq!(rx.try_recv(), Ok(i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn the_last_reader_moves_the_value_out() {
        let clones = Arc::new(StdAtomicUsize::new(0));
        let (tx, mut rx1) = channel(2);
        tx.send(CountClone(clones.clone())).unwrap();
        rx1.try_recv().unwrap();
        assert_eq!(clones.load(SeqCst), 0, "one receiver: no clone");

        let mut rx2 = tx.subscribe();
        tx.send(CountClone(clones.clone())).unwrap();
        rx1.try_recv().unwrap();
        rx2.try_recv().unwrap();
        assert_eq!(clones.load(SeqCst), 1, "two receivers: one clone");
        let slot = tx.shared.slot(1).lock();
        assert!(slot.val.is_none() && slot.rem == 0);
    }

    #[test]
    fn values_are_dropped_when_no_receiver_needs_them() {
        let value = Arc::new(());
        let (tx, mut rx1) = channel(4);
        let rx2 = tx.subscribe();
        tx.send(value.clone()).unwrap();
        tx.send(value.clone()).unwrap();
        assert_eq!(Arc::strong_count(&value), 3);
        drop(rx1.try_recv().unwrap());
        assert_eq!(Arc::strong_count(&value), 3, "rx2 still needs the first");
        drop(rx2); // releases both of its messages
        assert_eq!(
            Arc::strong_count(&value),
            2,
            "only the unread second is kept"
        );
        assert_eq!(tx.len(), 1);
        drop(rx1);
        assert_eq!(Arc::strong_count(&value), 1);
        assert!(tx.is_empty());
    }

    #[test]
    fn overwritten_values_are_dropped() {
        let value = Arc::new(());
        let (tx, _rx) = channel(2);
        for _ in 0..10 {
            tx.send(value.clone()).unwrap();
        }
        assert_eq!(Arc::strong_count(&value), 3);
        assert_eq!(tx.len(), 2);
    }

    #[test]
    fn dropping_a_lagging_receiver_releases_only_its_claims() {
        let value = Arc::new(());
        let (tx, rx1) = channel(2);
        let mut rx2 = tx.subscribe();
        for _ in 0..5 {
            tx.send(value.clone()).unwrap();
        }
        assert_eq!(rx2.try_recv(), Err(TryRecvError::Lagged(3)));
        drop(rx2.try_recv().unwrap());
        drop(rx1); // lagged too; skips what it missed
        assert_eq!(Arc::strong_count(&value), 2, "rx2 still needs the last");
        assert_eq!(tx.len(), 1);
        drop(rx2);
        assert_eq!(Arc::strong_count(&value), 1);
    }

    #[test]
    fn sender_len_matches_a_brute_force_count() {
        let (tx, rx) = channel::<u32>(8);
        let mut rxs = vec![rx];
        let mut seed = 12345u32;
        let mut rand = move |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed % n
        };
        for step in 0..2000 {
            match rand(6) {
                0 | 1 => {
                    let _ = tx.send(step);
                }
                2 => {
                    if let Some(rx) = rxs.get_mut(rand(4) as usize) {
                        let _ = rx.try_recv();
                    }
                }
                3 if rxs.len() < 4 => rxs.push(tx.subscribe()),
                4 if !rxs.is_empty() => {
                    rxs.swap_remove(rand(rxs.len() as u32) as usize);
                }
                _ => {}
            }
            let brute = tx.shared.buffer.iter().filter(|s| s.lock().rem > 0).count();
            assert_eq!(tx.len(), brute, "step {step}");
            let with_value = tx
                .shared
                .buffer
                .iter()
                .filter(|s| s.lock().val.is_some())
                .count();
            assert_eq!(
                with_value, brute,
                "rem > 0 iff a value is held (step {step})"
            );
        }
    }

    #[test]
    fn send_wakes_a_waiting_recv_and_drop_deregisters() {
        let (tx, mut rx) = channel(2);
        let (waker, count) = counting_waker();
        {
            let mut recv = pin!(rx.recv());
            assert!(poll_recv(recv.as_mut(), &waker).is_pending());
            assert!(poll_recv(recv.as_mut(), &waker).is_pending(), "re-poll");
            assert!(!tx.shared.tail.lock().waiters.is_empty());
            tx.send(7).unwrap();
            assert_eq!(count.count(), 1);
            assert!(tx.shared.tail.lock().waiters.is_empty());
            assert_eq!(poll_recv(recv.as_mut(), &waker), Poll::Ready(Ok(7)));
        }
        {
            let mut recv = pin!(rx.recv());
            assert!(poll_recv(recv.as_mut(), &waker).is_pending());
        } // dropped while waiting: leaves the waiters
        assert!(tx.shared.tail.lock().waiters.is_empty());
        tx.send(8).unwrap();
        assert_eq!(count.count(), 1, "the dropped recv is not woken");
        assert_eq!(
            rx.try_recv(),
            Ok(8),
            "nothing was lost to the cancelled recv"
        );
    }

    #[test]
    fn last_sender_drop_wakes_and_closes_after_queued_values() {
        let (tx, mut rx) = channel(2);
        let tx2 = tx.clone();
        let (waker, count) = counting_waker();
        {
            let mut recv = pin!(rx.recv());
            assert!(poll_recv(recv.as_mut(), &waker).is_pending());
            drop(tx);
            assert_eq!(count.count(), 0, "a sender is left");
            tx2.send(1).unwrap();
            assert_eq!(poll_recv(recv.as_mut(), &waker), Poll::Ready(Ok(1)));
        }
        let mut recv = pin!(rx.recv());
        assert!(poll_recv(recv.as_mut(), &waker).is_pending());
        drop(tx2);
        assert_eq!(count.count(), 2);
        assert_eq!(
            poll_recv(recv.as_mut(), &waker),
            Poll::Ready(Err(RecvError::Closed))
        );
    }

    #[test]
    fn recv_spends_budget() {
        let (tx, mut rx) = channel(1024);
        for i in 0..1000 {
            tx.send(i).unwrap();
        }
        crate::coop::budget(|| {
            let waker = Waker::noop();
            for _ in 0..crate::coop::INITIAL_BUDGET {
                assert!(poll_recv(pin!(rx.recv()), waker).is_ready());
            }
            assert!(
                poll_recv(pin!(rx.recv()), waker).is_pending(),
                "budget used up"
            );
            // try_recv is not budgeted.
            assert!(rx.try_recv().is_ok());
        });
    }

    #[test]
    fn weak_sender_does_not_keep_the_channel_open() {
        let (tx, mut rx) = channel::<u8>(2);
        let weak = tx.downgrade();
        let weak2 = weak.clone();
        drop(tx);
        assert!(weak2.upgrade().is_none());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    use loom::thread;

    use crate::test_util::block_on;

    /// A send races a waiting receive and another receiver's drop: the waiting receiver gets
    /// the value and then `Closed` (no lost wake-up), and every copy of the value is dropped
    /// in the end (the dropped receiver's claim is released whichever side came first).
    #[test]
    fn send_vs_recv_vs_receiver_drop() {
        crate::loom::model(|| {
            let value = std::sync::Arc::new(());
            let (tx, mut rx1) = channel(1);
            let rx2 = tx.subscribe();
            let sender = {
                let value = value.clone();
                thread::spawn(move || {
                    let receivers = tx.send(value).expect("rx1 is alive");
                    assert!((1..=2).contains(&receivers));
                })
            };
            let dropper = thread::spawn(move || drop(rx2));
            let got = block_on(rx1.recv()).expect("the value");
            drop(got);
            assert_eq!(block_on(rx1.recv()), Err(RecvError::Closed));
            sender.join().unwrap();
            dropper.join().unwrap();
            assert_eq!(std::sync::Arc::strong_count(&value), 1, "a copy leaked");
        });
    }

    /// The last sender drops while a receiver waits (it gets `Closed`: the close wakes it),
    /// and, on a second channel, the last receiver drops while `Sender::closed` waits.
    #[test]
    fn close_vs_waiters_on_both_sides() {
        crate::loom::model(|| {
            let (tx1, mut rx1) = channel::<u8>(1);
            let (tx2, rx2) = channel::<u8>(1);
            let receiver = thread::spawn(move || block_on(rx1.recv()));
            let dropper = thread::spawn(move || drop(rx2));
            drop(tx1);
            block_on(tx2.closed());
            assert_eq!(tx2.receiver_count(), 0);
            assert_eq!(receiver.join().unwrap(), Err(RecvError::Closed));
            dropper.join().unwrap();
        });
    }
}
