//! A one-shot channel: sends exactly one value from one task (or thread) to another.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. The sender calls [`Sender::send`] once
//! (it consumes the sender); the receiver is a future resolving to the value, or to
//! [`RecvError`] if the sender was dropped without sending. The receiver can
//! also be checked without waiting ([`Receiver::try_recv`]), closed early
//! ([`Receiver::close`]) or, on a thread outside the runtime, waited on by blocking
//! ([`Receiver::blocking_recv`]). The sender can find out that nobody is listening any more
//! ([`Sender::is_closed`], [`Sender::closed`]).
//!
//! Both halves work with any executor's wakers. Receiving spends one unit of the task's
//! cooperative budget, so a task that awaits many already-completed receivers in a loop still
//! yields to its neighbours.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::oneshot;
//!
//! # let rt = runtime::Runtime::new().unwrap();
//! # rt.block_on(async {
//! let (tx, rx) = oneshot::channel();
//! runtime::spawn(async move {
//!     if tx.send(3).is_err() {
//!         println!("the receiver dropped");
//!     }
//! });
//! assert_eq!(rx.await, Ok(3));
//! # });
//! ```
//!
//! # Protocol
//!
//! The two halves share one allocation (an `Arc<Inner<T>>`): a state word and three cells.
//!
//! ```text
//!  bit:  0            1           2        3
//!        RX_TASK_SET  VALUE_SENT  CLOSED   TX_TASK_SET
//! ```
//!
//! * `VALUE_SENT`: the sender is finished with the channel. Either `send` stored the value in
//!   the value cell, or the sender was dropped without sending and the value cell stays empty
//!   (the receiver then reports `RecvError`). Set once, only by the sender; never cleared.
//! * `CLOSED`: the receiver was closed ([`Receiver::close`]) or dropped; from now on `send`
//!   fails. Set once, only by the receiver; never cleared.
//! * `RX_TASK_SET`: the `rx_task` cell holds the receiver's waker, which the sender may wake.
//! * `TX_TASK_SET`: the `tx_task` cell holds the sender's waker (a [`Sender::closed`]
//!   waiter), which the receiver may wake.
//!
//! Every change of the word is one atomic read-modify-write (RMW) with `AcqRel` ordering, and
//! every load is `Acquire`: an RMW publishes the cells its caller wrote before it and makes
//! visible the cells the other side wrote before its own RMW.
//!
//! Who may touch which cell, and when:
//!
//! * `value` (`Option<T>`). Before `VALUE_SENT` is set the **sender** owns it: `send` writes
//!   the value, then sets `VALUE_SENT` with a CAS that refuses when `CLOSED` is set. If the CAS
//!   refuses, `VALUE_SENT` was never set, the sender still owns the cell and takes the value
//!   back out (`send` returns `Err(value)`). After `VALUE_SENT` the sender never touches the
//!   cell again and the **receiver** owns it, from the moment it observes `VALUE_SENT`: it
//!   takes the value when receiving, or drops it when the receiver itself is dropped. The
//!   receiver never touches the cell before it has observed `VALUE_SENT`. Whatever is left in
//!   the cell when the last `Arc` goes is dropped with the allocation. So a value is either
//!   received, returned by `send`, or dropped, exactly once.
//! * `rx_task` (`Option<Waker>`). The **sender** only ever reads it (to wake it), and only if
//!   the RMW by which it set `VALUE_SENT` saw `RX_TASK_SET` set and `CLOSED` clear (a closed
//!   receiver never waits). The **receiver** may write it only while it holds the write
//!   right: it holds it at the start, gives it up by setting `RX_TASK_SET`, and gets it back
//!   only by clearing `RX_TASK_SET` with an RMW that saw `VALUE_SENT` clear. A sender that
//!   sets `VALUE_SENT` after that sees `RX_TASK_SET` clear and does not touch the cell. If the
//!   clearing RMW saw `VALUE_SENT` set, the sender may be waking the old waker right now: the
//!   receiver leaves the cell alone, restores the bit and completes with the value. While
//!   `RX_TASK_SET` is set the cell is read-only for both sides (the receiver reads it for
//!   `will_wake`).
//! * `tx_task` (`Option<Waker>`): the mirror image. The **receiver** only reads it, and only
//!   if the RMW by which it set `CLOSED` saw `TX_TASK_SET` set and both `CLOSED` and
//!   `VALUE_SENT` clear. The **sender** holds the write right at the start, gives it up by
//!   setting `TX_TASK_SET`, and gets it back only by clearing the bit with an RMW that saw
//!   `CLOSED` clear.
//!
//! Replacing a registered waker (the receiver or a `closed` waiter polled with a waker that
//! would not wake the same task) is therefore: clear the bit; if the other side completed in
//! between, stop (restore the bit, the cell keeps the old waker for the allocation to drop)
//! and return `Ready`; otherwise swap the waker in; set the bit; if the other side completed
//! between the clear and the set it saw the bit clear and woke nobody, so return `Ready`
//! instead of `Pending`.
//!
//! Dropping the sender without sending sets `VALUE_SENT` (waking the receiver); dropping the
//! receiver sets `CLOSED` (waking a `closed` waiter) and drops an already-sent value. The
//! wakers left in the cells are dropped with the allocation.

use crate::context;
use crate::coop;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll, Waker};

/// Errors returned by the receiving half of a oneshot channel.
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot::{self, error::{RecvError, TryRecvError}};
///
/// let (tx, mut rx) = oneshot::channel::<u8>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.blocking_recv(), Err(RecvError(())));
/// ```
pub mod error {
    use std::fmt;

    /// The sender was dropped without sending a value (or the receiver was closed before a
    /// value was sent).
    ///
    /// Returned when awaiting a [`Receiver`](super::Receiver) and by
    /// [`Receiver::blocking_recv`](super::Receiver::blocking_recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::RecvError};
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, rx) = oneshot::channel::<u32>();
    /// drop(tx);
    /// let err = rx.await.unwrap_err();
    /// assert_eq!(err, RecvError(()));
    /// assert_eq!(err.to_string(), "channel closed");
    /// # });
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct RecvError(pub ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel::<u32>();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// assert_eq!(TryRecvError::Closed.to_string(), "channel closed");
    /// ```
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value was sent yet, but the sender is still alive and may send one.
        Empty,
        /// No value will ever arrive: the sender was dropped without sending, the receiver
        /// was closed before a value was sent, or the value was already received.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

const RX_TASK_SET: usize = 0b0001;
const VALUE_SENT: usize = 0b0010;
const CLOSED: usize = 0b0100;
const TX_TASK_SET: usize = 0b1000;

/// A copy of the state word at one instant.
#[derive(Clone, Copy, PartialEq, Eq)]
struct State(usize);

impl State {
    fn is_rx_task_set(self) -> bool {
        self.0 & RX_TASK_SET != 0
    }

    fn is_value_sent(self) -> bool {
        self.0 & VALUE_SENT != 0
    }

    fn is_closed(self) -> bool {
        self.0 & CLOSED != 0
    }

    fn is_tx_task_set(self) -> bool {
        self.0 & TX_TASK_SET != 0
    }
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("value_sent", &self.is_value_sent())
            .field("closed", &self.is_closed())
            .field("rx_task_set", &self.is_rx_task_set())
            .field("tx_task_set", &self.is_tx_task_set())
            .finish()
    }
}

/// The shared state of one channel (see the module documentation for the protocol).
struct Inner<T> {
    state: AtomicUsize,
    value: UnsafeCell<Option<T>>,
    rx_task: UnsafeCell<Option<Waker>>,
    tx_task: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are only accessed as the protocol in the module documentation allows,
// which never gives two threads conflicting access. Moving the channel to another thread moves
// at most a `T` (and wakers, which are `Send`), hence `T: Send`.
unsafe impl<T: Send> Send for Inner<T> {}

// SAFETY: shared access never hands out a `&T`: the value only ever moves in (by `send`) or
// out (by the receiver, or back to the sender), each by its single owner under the protocol,
// so sharing the channel between threads only needs `T: Send`.
unsafe impl<T: Send> Sync for Inner<T> {}

impl<T> Inner<T> {
    fn load(&self) -> State {
        State(self.state.load(Acquire))
    }

    /// Sets `bits`; returns the previous state.
    fn set(&self, bits: usize) -> State {
        State(self.state.fetch_or(bits, AcqRel))
    }

    /// Clears `bits`; returns the previous state.
    fn unset(&self, bits: usize) -> State {
        State(self.state.fetch_and(!bits, AcqRel))
    }

    /// Sets `VALUE_SENT` unless `CLOSED` is set; returns the previous state.
    fn try_set_value_sent(&self) -> Result<State, State> {
        let mut curr = self.state.load(Acquire);
        loop {
            if curr & CLOSED != 0 {
                return Err(State(curr));
            }
            match self
                .state
                .compare_exchange_weak(curr, curr | VALUE_SENT, AcqRel, Acquire)
            {
                Ok(prev) => return Ok(State(prev)),
                Err(actual) => curr = actual,
            }
        }
    }

    /// The sender is done (sent or dropped): sets `VALUE_SENT` and wakes a waiting receiver.
    /// Returns `false` (changing nothing) if the receiver is closed.
    ///
    /// Only the sender calls this, once, and only after it stopped touching the value cell.
    fn complete(&self) -> bool {
        match self.try_set_value_sent() {
            Ok(prev) => {
                if prev.is_rx_task_set() {
                    // Our RMW saw RX_TASK_SET set and CLOSED clear: the receiver gave up the
                    // write right to `rx_task` and can only get it back by clearing the bit
                    // before VALUE_SENT is set, which is now too late.
                    // SAFETY: reading `rx_task` is allowed (see above).
                    unsafe { self.wake_rx() };
                }
                true
            }
            Err(_) => false,
        }
    }

    /// # Safety
    ///
    /// The caller may read `rx_task` (see the protocol) and `RX_TASK_SET` was set.
    unsafe fn wake_rx(&self) {
        self.rx_task.with(|waker| {
            // SAFETY: reading is allowed by the caller's contract; nobody writes concurrently.
            if let Some(waker) = unsafe { &*waker } {
                waker.wake_by_ref();
            }
        });
    }

    /// # Safety
    ///
    /// The caller may read `tx_task` (see the protocol) and `TX_TASK_SET` was set.
    unsafe fn wake_tx(&self) {
        self.tx_task.with(|waker| {
            // SAFETY: reading is allowed by the caller's contract; nobody writes concurrently.
            if let Some(waker) = unsafe { &*waker } {
                waker.wake_by_ref();
            }
        });
    }

    /// The receiver closes the channel (close or drop): sets `CLOSED` and wakes a `closed`
    /// waiter. Returns the previous state.
    fn close(&self) -> State {
        let prev = self.set(CLOSED);
        if !prev.is_closed() && prev.is_tx_task_set() && !prev.is_value_sent() {
            // Our RMW set CLOSED and saw TX_TASK_SET set: the sender gave up the write right to
            // `tx_task` and can only get it back by clearing the bit while CLOSED is clear,
            // which is now too late.
            // SAFETY: reading `tx_task` is allowed (see above).
            unsafe { self.wake_tx() };
        }
        prev
    }

    /// Takes the value out of the value cell.
    ///
    /// # Safety
    ///
    /// The caller owns the value cell: it is the receiver and has observed `VALUE_SENT`, or it
    /// is the sender and `VALUE_SENT` is not set.
    unsafe fn take_value(&self) -> Option<T> {
        // SAFETY: the caller owns the cell, so nobody else accesses it.
        self.value.with_mut(|value| unsafe { (*value).take() })
    }

    /// The receiver's poll: the value, `RecvError`, or `Pending` with `cx`'s waker registered.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut state = self.load();
        if state.is_value_sent() {
            // SAFETY: we are the receiver and observed VALUE_SENT: we own the value cell.
            return Poll::Ready(unsafe { self.take_value() }.ok_or(RecvError(())));
        }
        if state.is_closed() {
            // Closed by the receiver itself and nothing was sent before: `send` fails from now
            // on, so nothing ever will be.
            return Poll::Ready(Err(RecvError(())));
        }
        if state.is_rx_task_set() {
            let same = self.rx_task.with(|waker| {
                // SAFETY: while RX_TASK_SET is set the cell is read-only for both sides, and
                // only the receiver (us, `&mut`-unique through the `Receiver`) clears the bit.
                let waker = unsafe { &*waker };
                waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
            });
            if same {
                return Poll::Pending;
            }
            // A different task polls now: take the write right back to replace the waker.
            state = self.unset(RX_TASK_SET);
            if state.is_value_sent() {
                // The sender completed before our clear and may be waking the old waker right
                // now: leave the cell alone (restore the bit so the cell and the bit agree).
                self.set(RX_TASK_SET);
                // SAFETY: we are the receiver and observed VALUE_SENT: we own the value cell.
                return Poll::Ready(unsafe { self.take_value() }.ok_or(RecvError(())));
            }
        }
        // RX_TASK_SET is clear, and either it was never set or our clearing RMW saw VALUE_SENT
        // clear: we hold the write right to `rx_task`, the sender will not read it.
        self.rx_task.with_mut(|waker| {
            // SAFETY: exclusive write right to `rx_task` (see above).
            unsafe { *waker = Some(cx.waker().clone()) }
        });
        state = self.set(RX_TASK_SET);
        if state.is_value_sent() {
            // The sender completed between our clear (or first load) and our set: it saw the
            // bit clear and woke nobody, so finish now.
            // SAFETY: we are the receiver and observed VALUE_SENT: we own the value cell.
            return Poll::Ready(unsafe { self.take_value() }.ok_or(RecvError(())));
        }
        Poll::Pending
    }

    /// The sender's `closed` poll: `Ready` once the receiver is closed or dropped.
    fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.load();
        if state.is_closed() {
            return Poll::Ready(());
        }
        if state.is_tx_task_set() {
            let same = self.tx_task.with(|waker| {
                // SAFETY: while TX_TASK_SET is set the cell is read-only for both sides, and
                // only the sender (us, `&mut`-unique through the `Sender`) clears the bit.
                let waker = unsafe { &*waker };
                waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
            });
            if same {
                return Poll::Pending;
            }
            state = self.unset(TX_TASK_SET);
            if state.is_closed() {
                // The receiver closed before our clear and may be waking the old waker.
                self.set(TX_TASK_SET);
                return Poll::Ready(());
            }
        }
        // TX_TASK_SET is clear, and either it was never set or our clearing RMW saw CLOSED
        // clear: we hold the write right to `tx_task`, the receiver will not read it.
        self.tx_task.with_mut(|waker| {
            // SAFETY: exclusive write right to `tx_task` (see above).
            unsafe { *waker = Some(cx.waker().clone()) }
        });
        state = self.set(TX_TASK_SET);
        if state.is_closed() {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// Creates a oneshot channel: a [`Sender`] and a [`Receiver`] sharing one allocation.
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, rx) = oneshot::channel();
/// let worker = runtime::spawn(async move {
///     let request: u32 = rx.await.unwrap();
///     request * 2
/// });
/// tx.send(21).unwrap();
/// assert_eq!(worker.await.unwrap(), 42);
/// # });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_task: UnsafeCell::new(None),
        tx_task: UnsafeCell::new(None),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

/// The sending half of a oneshot channel, created by [`channel`].
///
/// Send the value with [`send`](Sender::send). Dropping the sender without sending makes the
/// receiver complete with [`RecvError`].
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, rx) = oneshot::channel::<String>();
/// runtime::spawn(async move {
///     tx.send("done".to_string()).unwrap();
/// });
/// assert_eq!(rx.await.unwrap(), "done");
/// # });
/// ```
pub struct Sender<T> {
    /// `None` once `send` consumed the sender's right to the channel.
    inner: Option<Arc<Inner<T>>>,
}

/// The receiving half of a oneshot channel, created by [`channel`].
///
/// Await it to get the value: it resolves to `Ok(value)`, or to [`RecvError`] if the sender
/// was dropped without sending. A `Receiver` is `Unpin`, so `(&mut rx).await` waits without
/// consuming it.
///
/// Each completed receive spends one unit of the task's cooperative budget: when the budget is
/// used up the receiver returns `Pending` once (after waking the task) even though a value is
/// ready, so that a loop over ready receivers still yields to other tasks.
///
/// # Cancel safety
///
/// Awaiting a `Receiver` is cancel safe: if `(&mut rx).await` is dropped before it completes
/// (e.g. another branch of a `select!` finished first), no value is lost; it can still be
/// received later through the same receiver. (Dropping the `Receiver` itself closes the
/// channel and drops any value already sent.)
///
/// # Examples
///
/// ```
/// use runtime::sync::oneshot;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, rx) = oneshot::channel();
/// runtime::spawn(async move { tx.send(7u8) });
/// match rx.await {
///     Ok(v) => assert_eq!(v, 7),
///     Err(_) => unreachable!("the sender sends before it is dropped"),
/// }
/// # });
/// ```
pub struct Receiver<T> {
    /// `None` once the receive completed (with the value or `RecvError`).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value` to the receiver, consuming the sender.
    ///
    /// Returns `Err(value)`, giving the value back untouched, if the receiver was dropped or
    /// [closed](Receiver::close) before the value could be stored. An `Ok` means the value is
    /// in the channel; it may still never be received if the receiver is dropped later (the
    /// value is then dropped with it).
    ///
    /// This method is not `async` and never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// drop(rx);
    /// // Nobody listens: the value comes back.
    /// assert_eq!(tx.send(vec![1, 2, 3]), Err(vec![1, 2, 3]));
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(tx.send(5), Ok(()));
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self
            .inner
            .take()
            .expect("a live Sender always has the channel");
        // SAFETY: we are the sender and have not set VALUE_SENT: we own the value cell.
        inner.value.with_mut(|cell| unsafe { *cell = Some(value) });
        if inner.complete() {
            Ok(())
        } else {
            // SAFETY: `complete` refused (CLOSED was set), so VALUE_SENT is still clear and we
            // still own the value cell: take the value back.
            let value = unsafe { inner.take_value() };
            Err(value.expect("the value stored just above"))
        }
    }

    /// Whether the receiver was dropped or [closed](Receiver::close): if so, `send` will fail.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| inner.load().is_closed())
    }

    /// Waits until the receiver is dropped or [closed](Receiver::close).
    ///
    /// Useful to stop computing a reply nobody will read any more.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropping the returned future before it completes loses
    /// nothing, and a later call waits for the same event.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (mut tx, rx) = oneshot::channel::<u32>();
    /// runtime::spawn(async move {
    ///     drop(rx);
    /// });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await
    }

    /// Polls for the receiver being dropped or [closed](Receiver::close).
    ///
    /// Returns `Ready` once it is; otherwise registers `cx`'s waker (replacing the waker of an
    /// earlier poll) and returns `Pending`. For use in hand-written futures; async code calls
    /// [`closed`](Sender::closed). Like other runtime resources it spends one unit of
    /// cooperative budget when it completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let (mut tx, rx) = oneshot::channel::<u32>();
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(tx.poll_closed(&mut cx).is_pending());
    /// drop(rx);
    /// assert!(tx.poll_closed(&mut cx).is_ready());
    /// ```
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        let inner = self
            .inner
            .as_ref()
            .expect("a live Sender always has the channel");
        ready!(inner.poll_closed(cx));
        coop.made_progress();
        Poll::Ready(())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            // Dropped without sending: the value cell stays empty and the receiver sees
            // VALUE_SENT with no value, i.e. `RecvError`. A `false` (receiver closed) needs
            // nothing: a closed receiver never waits.
            inner.complete();
        }
    }
}

impl<T> Receiver<T> {
    /// Takes the value if it has been sent, without waiting.
    ///
    /// * `Ok(value)`: the value (the channel is done; later calls return `Closed`);
    /// * `Err(TryRecvError::Empty)`: nothing yet, but the sender may still send;
    /// * `Err(TryRecvError::Closed)`: nothing will ever arrive (the sender was dropped without
    ///   sending, the receiver was closed before a value was sent, or the value was already
    ///   received).
    ///
    /// Unlike awaiting, this spends no cooperative budget.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send("hi").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_ref() else {
            return Err(TryRecvError::Closed);
        };
        let state = inner.load();
        let result = if state.is_value_sent() {
            // SAFETY: we are the receiver and observed VALUE_SENT: we own the value cell.
            unsafe { inner.take_value() }.ok_or(TryRecvError::Closed)
        } else if state.is_closed() {
            Err(TryRecvError::Closed)
        } else {
            return Err(TryRecvError::Empty);
        };
        self.inner = None;
        result
    }

    /// Closes the channel without dropping the receiver: a later [`send`](Sender::send) fails
    /// and returns its value, and a [`closed`](Sender::closed) waiter is woken.
    ///
    /// A value sent before the close is kept and can still be received (by awaiting or with
    /// [`try_recv`](Receiver::try_recv)); use this to shut a channel down without losing a
    /// value already in flight. Once closed, awaiting the receiver never waits: it returns the
    /// value if one was sent before the close, `RecvError` otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// tx.send(1).unwrap();
    /// rx.close();
    /// // The value sent before the close is still there.
    /// assert_eq!(rx.try_recv(), Ok(1));
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert_eq!(tx.send(2), Err(2));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&mut self) {
        if let Some(inner) = self.inner.as_ref() {
            inner.close();
        }
    }

    /// Blocks the current thread until the value arrives (or the sender is dropped).
    ///
    /// For synchronous code running outside the runtime, such as a plain `std::thread` or a
    /// [`spawn_blocking`](crate::task::spawn_blocking) closure, waiting for a reply from async
    /// code.
    ///
    /// # Panics
    ///
    /// When called on a thread that drives a runtime (inside a task or a `block_on`): blocking
    /// there would stall the tasks that thread runs, possibly the very one that would send.
    /// `.await` the receiver there instead.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::oneshot;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let (tx, rx) = oneshot::channel();
    /// let thread = std::thread::spawn(move || rx.blocking_recv());
    /// rt.block_on(async move {
    ///     tx.send(10).unwrap();
    /// });
    /// assert_eq!(thread.join().unwrap(), Ok(10));
    /// ```
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        if context::is_runtime_entered() {
            panic!(
                "Cannot call `oneshot::Receiver::blocking_recv` from within a runtime: it would \
                 block a thread that drives asynchronous tasks. Use `rx.await` instead, or call \
                 `blocking_recv` from `spawn_blocking` or a plain thread."
            );
        }
        crate::scheduler::park_on(self)
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = ready!(coop::poll_proceed(cx));
        let inner = this
            .inner
            .as_ref()
            .expect("oneshot::Receiver polled after it completed");
        let result = ready!(inner.poll_recv(cx));
        coop.made_progress();
        this.inner = None;
        Poll::Ready(result)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let prev = inner.close();
            if prev.is_value_sent() {
                // Sent but never received: drop the value now rather than with the last Arc.
                // SAFETY: we are the receiver and our RMW observed VALUE_SENT: we own the
                // value cell.
                drop(unsafe { inner.take_value() });
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("state", &self.inner.as_ref().map(|inner| inner.load()))
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("state", &self.inner.as_ref().map(|inner| inner.load()))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};

    use crate::test_util::counting_waker;

    fn state<T>(inner: &Option<Arc<Inner<T>>>) -> State {
        inner.as_ref().unwrap().load()
    }

    struct CountDrop(Arc<StdAtomicUsize>);

    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn send_then_recv() {
        let (tx, mut rx) = channel();
        assert_eq!(state(&rx.inner), State(0));
        tx.send(1).unwrap();
        assert_eq!(state(&rx.inner), State(VALUE_SENT));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(1)));
        assert!(rx.inner.is_none());
    }

    #[test]
    fn recv_registers_then_send_wakes() {
        let (tx, mut rx) = channel();
        let (waker, count) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
        assert_eq!(state(&rx.inner), State(RX_TASK_SET));
        tx.send(2).unwrap();
        assert_eq!(count.count(), 1);
        assert_eq!(state(&rx.inner), State(RX_TASK_SET | VALUE_SENT));
        assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(2)));
    }

    #[test]
    fn same_waker_is_not_replaced_and_new_waker_is() {
        let (tx, mut rx) = channel::<u8>();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        assert!(Pin::new(&mut rx)
            .poll(&mut Context::from_waker(&w1))
            .is_pending());
        assert!(Pin::new(&mut rx)
            .poll(&mut Context::from_waker(&w1.clone()))
            .is_pending());
        assert!(Pin::new(&mut rx)
            .poll(&mut Context::from_waker(&w2))
            .is_pending());
        assert_eq!(state(&rx.inner), State(RX_TASK_SET));
        drop(tx);
        assert_eq!(c1.count(), 0, "the replaced waker is not woken");
        assert_eq!(c2.count(), 1);
        assert_eq!(
            Pin::new(&mut rx).poll(&mut Context::from_waker(&w2)),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn sender_drop_is_recv_error() {
        let (tx, mut rx) = channel::<u8>();
        drop(tx);
        assert_eq!(state(&rx.inner), State(VALUE_SENT));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }

    #[test]
    fn receiver_drop_returns_value_and_wakes_closed_waiter() {
        let (mut tx, rx) = channel::<String>();
        let (waker, count) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(tx.poll_closed(&mut cx).is_pending());
        assert_eq!(state(&tx.inner), State(TX_TASK_SET));
        drop(rx);
        assert_eq!(count.count(), 1);
        assert_eq!(state(&tx.inner), State(TX_TASK_SET | CLOSED));
        assert!(tx.is_closed());
        assert!(tx.poll_closed(&mut cx).is_ready());
        assert_eq!(tx.send("v".to_string()), Err("v".to_string()));
    }

    #[test]
    fn closed_waker_replacement() {
        let (mut tx, mut rx) = channel::<u8>();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        assert!(tx.poll_closed(&mut Context::from_waker(&w1)).is_pending());
        assert!(tx.poll_closed(&mut Context::from_waker(&w2)).is_pending());
        rx.close();
        assert_eq!((c1.count(), c2.count()), (0, 1));
        // A second close wakes nobody again.
        rx.close();
        assert_eq!(c2.count(), 1);
        assert!(tx.poll_closed(&mut Context::from_waker(&w1)).is_ready());
    }

    #[test]
    fn close_keeps_sent_value() {
        let (tx, mut rx) = channel();
        tx.send(3).unwrap();
        rx.close();
        assert_eq!(state(&rx.inner), State(VALUE_SENT | CLOSED));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(3)));
    }

    #[test]
    fn closed_receiver_never_waits() {
        let (tx, mut rx) = channel::<u8>();
        rx.close();
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(
            Pin::new(&mut rx).poll(&mut cx),
            Poll::Ready(Err(RecvError(())))
        );
        assert_eq!(tx.send(1), Err(1));
    }

    #[test]
    fn unreceived_value_dropped_once_with_receiver() {
        let drops = Arc::new(StdAtomicUsize::new(0));
        let (tx, rx) = channel();
        tx.send(CountDrop(drops.clone())).map_err(|_| ()).unwrap();
        assert_eq!(drops.load(SeqCst), 0);
        drop(rx);
        assert_eq!(drops.load(SeqCst), 1);

        // Sender outlives the receiver: the failed send hands the value back.
        let (tx, rx) = channel();
        drop(rx);
        let back = tx.send(CountDrop(drops.clone()));
        assert_eq!(drops.load(SeqCst), 1);
        drop(back);
        assert_eq!(drops.load(SeqCst), 2);
    }

    #[test]
    #[should_panic(expected = "polled after it completed")]
    fn poll_after_completion_panics() {
        let (tx, mut rx) = channel();
        tx.send(()).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(Pin::new(&mut rx).poll(&mut cx).is_ready());
        let _ = Pin::new(&mut rx).poll(&mut cx);
    }

    #[test]
    fn blocking_recv_outside_runtime() {
        let (tx, rx) = channel();
        let t = std::thread::spawn(move || rx.blocking_recv());
        std::thread::sleep(std::time::Duration::from_millis(10));
        tx.send(9).unwrap();
        assert_eq!(t.join().unwrap(), Ok(9));
    }

    #[test]
    fn errors() {
        assert_eq!(RecvError(()).to_string(), "channel closed");
        assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
        let e: Box<dyn std::error::Error + Send + Sync> = Box::new(TryRecvError::Closed);
        assert_eq!(e.to_string(), "channel closed");
        assert_eq!(RecvError(()).clone(), RecvError(()));
        assert_eq!(format!("{:?}", TryRecvError::Empty), "Empty");
    }

    #[test]
    fn send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Sender<std::cell::Cell<u8>>>();
        assert_send_sync::<Receiver<std::cell::Cell<u8>>>();
        assert_send_sync::<RecvError>();
        assert_send_sync::<TryRecvError>();
    }

    #[test]
    fn debug() {
        let (tx, rx) = channel::<u8>();
        tx.send(1).unwrap();
        let s = format!("{rx:?}");
        assert!(s.contains("value_sent: true"), "{s}");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::loom::model;
    use crate::loom::sync::atomic::Ordering::SeqCst;

    use loom::thread;
    use std::task::Wake;

    use crate::test_util::block_on;

    struct CountDrop(Arc<AtomicUsize>);

    impl Drop for CountDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    struct CountWake(AtomicUsize);

    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// Send races the receiver's drop: the value is dropped exactly once, by whoever ends up
    /// holding it (returned by `send`, or left in the channel and dropped with the receiver).
    #[test]
    fn loom_send_vs_receiver_drop() {
        model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, rx) = channel();
            let d = drops.clone();
            let t = thread::spawn(move || {
                let res = tx.send(CountDrop(d));
                res.is_ok()
            });
            drop(rx);
            let _sent = t.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1);
        });
    }

    /// Like [`loom_send_vs_receiver_drop`], but the receiver registered a waker first, so the
    /// sender may read `rx_task` while the receiver is being dropped.
    #[test]
    fn loom_send_vs_registered_receiver_drop() {
        model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, mut rx) = channel();
            let first = Arc::new(CountWake(AtomicUsize::new(0)));
            let waker = Waker::from(first.clone());
            assert!(Pin::new(&mut rx)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            let d = drops.clone();
            let t = thread::spawn(move || {
                let res = tx.send(CountDrop(d));
                res.is_ok()
            });
            drop(rx);
            let sent = t.join().unwrap();
            assert_eq!(drops.load(SeqCst), 1);
            // A send that succeeded woke the registered waker, unless the receiver had already
            // closed (then the send failed).
            assert_eq!(first.0.load(SeqCst), usize::from(sent));
        });
    }

    /// Send races a receiver that first polls with one waker, then waits with another (the
    /// waker-replacement path): the value is received, never lost in a missed wake-up (loom
    /// reports a deadlock if `block_on` is never woken).
    #[test]
    fn loom_send_vs_recv_poll() {
        model(|| {
            let (tx, mut rx) = channel();
            let t = thread::spawn(move || tx.send(7).unwrap());
            let first = Arc::new(CountWake(AtomicUsize::new(0)));
            let waker = Waker::from(first.clone());
            let mut cx = Context::from_waker(&waker);
            match Pin::new(&mut rx).poll(&mut cx) {
                Poll::Ready(v) => assert_eq!(v, Ok(7)),
                Poll::Pending => assert_eq!(block_on(&mut rx), Ok(7)),
            }
            t.join().unwrap();
        });
    }

    /// Sender drop races a waiting receiver: the receiver is woken with `RecvError`.
    #[test]
    fn loom_sender_drop_vs_recv() {
        model(|| {
            let (tx, rx) = channel::<u8>();
            let t = thread::spawn(move || drop(tx));
            assert_eq!(block_on(rx), Err(RecvError(())));
            t.join().unwrap();
        });
    }

    /// `close` races `send`: either the send succeeded and the value is still received, or
    /// the send failed and the value came back; dropped exactly once either way.
    #[test]
    fn loom_close_vs_send() {
        model(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let (tx, mut rx) = channel();
            let d = drops.clone();
            let t = thread::spawn(move || tx.send(CountDrop(d)).is_ok());
            rx.close();
            let got = rx.try_recv();
            let sent = t.join().unwrap();
            match got {
                Ok(v) => {
                    assert!(sent);
                    drop(v);
                }
                Err(e) => {
                    assert!(!sent);
                    assert_eq!(e, TryRecvError::Closed);
                }
            }
            drop(rx);
            assert_eq!(drops.load(SeqCst), 1);
        });
    }

    /// Receiver drop races a `closed()` waiter that first polls with another waker (the
    /// replacement path): the waiter completes.
    #[test]
    fn loom_receiver_drop_vs_closed_waiter() {
        model(|| {
            let (mut tx, rx) = channel::<u8>();
            let t = thread::spawn(move || drop(rx));
            let first = Arc::new(CountWake(AtomicUsize::new(0)));
            let waker = Waker::from(first.clone());
            let mut cx = Context::from_waker(&waker);
            if tx.poll_closed(&mut cx).is_pending() {
                block_on(tx.closed());
            }
            assert!(tx.is_closed());
            t.join().unwrap();
        });
    }

    /// A sender with a registered `closed` waker is dropped while the receiver closes (and
    /// reads that waker) and then waits: no data race on the waker cells, and the receiver
    /// completes with `RecvError`.
    #[test]
    fn loom_sender_drop_vs_close_with_waiter() {
        model(|| {
            let (mut tx, mut rx) = channel::<u8>();
            let first = Arc::new(CountWake(AtomicUsize::new(0)));
            let waker = Waker::from(first.clone());
            assert!(tx
                .poll_closed(&mut Context::from_waker(&waker))
                .is_pending());
            let t = thread::spawn(move || drop(tx));
            rx.close();
            assert_eq!(block_on(&mut rx), Err(RecvError(())));
            t.join().unwrap();
        });
    }
}
