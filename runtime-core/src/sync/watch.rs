//! A multi-producer, multi-consumer channel that keeps only the latest value.
//!
//! [`channel`] returns a [`Sender`] and a [`Receiver`]. Senders replace (or modify in place)
//! the one stored value; receivers [`borrow`](Receiver::borrow) it and wait for it to
//! [change](Receiver::changed). A receiver does not see every value, only the newest one at
//! the time it looks: intermediate values are overwritten. Both halves are `Clone`.
//!
//! # Examples
//!
//! ```
//! use runtime::sync::watch;
//!
//! # let rt = runtime::Runtime::new().unwrap();
//! # rt.block_on(async {
//! let (tx, mut rx) = watch::channel("hello");
//!
//! runtime::spawn(async move {
//!     // Use the equivalent of a "do-while" loop so the initial value is processed first.
//!     loop {
//!         println!("received = {:?}", *rx.borrow_and_update());
//!         if rx.changed().await.is_err() {
//!             break;
//!         }
//!     }
//! });
//!
//! tx.send("world").unwrap();
//! # });
//! ```
//!
//! # Protocol
//!
//! The halves share one `Arc<Shared<T>>`:
//!
//! * `value`: the current value behind a reader-writer lock. Senders write it under the write
//!   lock; receivers (and [`Sender::borrow`]) read it under the read lock, for as long as the
//!   [`Ref`] they got lives.
//! * `state`: one atomic word, the **version** in bits 1.. (it grows by 2 per change,
//!   wrapping) and the **closed** flag in bit 0 (set once, when the last sender drops). The
//!   version only changes while the writer holds the write lock, so a reader holding the read
//!   lock knows exactly which version it looks at.
//! * Each receiver keeps the version it has last *seen* (a plain field). A receiver has a
//!   pending change iff its version differs from the shared one; [`Receiver::mark_changed`]
//!   forges one by stepping its own version back.
//! * `notify_rx` ([`Notify`]): a sender that changed the version, or the last sender
//!   dropping, calls `notify_waiters` on it *after* the change is published.
//!   [`Receiver::changed`] creates a `Notified` future first and checks the version second:
//!   if the check misses a change, the future was created before that change's
//!   `notify_waiters` call (the call's counter increment is ordered after the version
//!   increment, and the future's counter load is ordered before the check), so that call
//!   completes it. No change is missed, and `changed()` takes no lock when a change is
//!   already pending (only a waiting one enters the `Notify`'s queue).
//! * `rx_count` / `tx_count`: live receivers / senders. `notify_tx` is the mirror of
//!   `notify_rx` for [`Sender::closed`]: the last receiver to drop calls `notify_waiters`.
//!
//! A sender's `send` is therefore: write lock, store, bump the version, unlock, one
//! `notify_waiters` (a lock only if somebody waits, plus one RMW). The value is never cloned.

use crate::coop;
use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed},
};
use crate::loom::sync::{RwLock, RwLockReadGuard};
use crate::sync::Notify;
use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::pin;
use std::sync::Arc;
use std::task::{ready, Poll};

/// Error types of the watch channel.
///
/// # Examples
///
/// ```
/// use runtime::sync::watch::{self, error::SendError};
///
/// let (tx, rx) = watch::channel(0);
/// drop(rx);
/// assert_eq!(tx.send(1), Err(SendError(1)));
/// ```
pub mod error {
    use std::fmt;

    /// [`Sender::send`](super::Sender::send) found no receiver; the value is handed back
    /// (and was not stored).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch::{self, error::SendError};
    ///
    /// let (tx, rx) = watch::channel("a");
    /// drop(rx);
    /// let err = tx.send("b").unwrap_err();
    /// assert_eq!(err, SendError("b"));
    /// assert_eq!(err.to_string(), "channel closed");
    /// assert_eq!(*tx.borrow(), "a");
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

    /// Every sender was dropped (and, for [`Receiver::changed`](super::Receiver::changed),
    /// the last change was already seen).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = watch::channel(0);
    /// drop(tx);
    /// let err = rx.changed().await.unwrap_err();
    /// assert_eq!(err.to_string(), "channel closed");
    /// # });
    /// ```
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

const CLOSED: usize = 1;
/// One change, as an addend to the state word.
const VERSION_ONE: usize = 2;

/// A version number with the closed bit masked off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version(usize);

/// A copy of the state word.
#[derive(Debug, Clone, Copy)]
struct State(usize);

impl State {
    fn version(self) -> Version {
        Version(self.0 & !CLOSED)
    }

    fn is_closed(self) -> bool {
        self.0 & CLOSED != 0
    }
}

struct Shared<T> {
    value: RwLock<T>,
    /// Version and closed flag; see the module documentation.
    state: AtomicUsize,
    rx_count: AtomicUsize,
    tx_count: AtomicUsize,
    /// Woken on every change and when the last sender drops.
    notify_rx: Notify,
    /// Woken when the last receiver drops.
    notify_tx: Notify,
}

impl<T> Shared<T> {
    fn state(&self) -> State {
        State(self.state.load(Acquire))
    }

    /// Whether `version` is behind the current one, marking it current (`Ok(true)`); or
    /// `Err` if it is current and the channel is closed.
    fn poll_change(&self, version: &mut Version) -> Option<Result<(), RecvError>> {
        let state = self.state();
        if state.version() != *version {
            *version = state.version();
            Some(Ok(()))
        } else if state.is_closed() {
            Some(Err(RecvError(())))
        } else {
            None
        }
    }

    /// Waits until the version moves past `version` (marking the new one seen) or the
    /// channel closes with no pending change. Spends one unit of budget when it completes.
    async fn changed(&self, version: &mut Version) -> Result<(), RecvError> {
        loop {
            // Created before the check: see the module documentation.
            let mut notified = pin!(self.notify_rx.notified());
            let done = std::future::poll_fn(|cx| {
                let coop = ready!(coop::poll_proceed(cx));
                if let Some(result) = self.poll_change(version) {
                    coop.made_progress();
                    return Poll::Ready(Some(result));
                }
                ready!(notified.as_mut().poll(cx));
                // Notified: loop to check again with a fresh future (the budget unit
                // is given back, nothing was produced yet).
                Poll::Ready(None)
            })
            .await;
            if let Some(result) = done {
                return result;
            }
        }
    }

    /// Waits until nobody receives any more.
    async fn closed(&self) {
        loop {
            let notified = self.notify_tx.notified();
            if self.rx_count.load(Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Creates a watch channel holding `init`; returns its first sender and receiver.
///
/// The receiver starts out having seen `init`: [`Receiver::changed`] waits for the first
/// [`send`](Sender::send).
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = watch::channel("hello");
/// runtime::spawn(async move {
///     tx.send("goodbye").unwrap();
/// });
/// rx.changed().await.unwrap();
/// assert_eq!(*rx.borrow_and_update(), "goodbye");
/// # });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        rx_count: AtomicUsize::new(1),
        tx_count: AtomicUsize::new(1),
        notify_rx: Notify::new(),
        notify_tx: Notify::new(),
    });
    let rx = Receiver {
        shared: shared.clone(),
        version: Version(0),
    };
    (Sender { shared }, rx)
}

/// Sends values to the [`Receiver`]s of a watch channel. Cloning it adds a sender; the
/// channel closes when the last one is dropped.
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// let (tx, rx) = watch::channel(1);
/// let tx2 = tx.clone();
/// tx2.send(2).unwrap();
/// assert_eq!(*rx.borrow(), 2);
/// assert_eq!(tx.sender_count(), 2);
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives the values of a watch channel. Cloning it adds a receiver that has seen what the
/// original has seen.
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let (tx, mut rx) = watch::channel(0);
/// let mut rx2 = rx.clone();
/// tx.send(5).unwrap();
/// rx.changed().await.unwrap();
/// rx2.changed().await.unwrap();
/// assert_eq!((*rx.borrow(), *rx2.borrow()), (5, 5));
/// # });
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    version: Version,
}

/// A reference to the value in a watch channel, holding its read lock.
///
/// Senders block while any `Ref` is alive: keep it short, and never hold it across an
/// `.await` (the guard is not `Send` for that reason, as in Tokio).
///
/// # Examples
///
/// ```
/// use runtime::sync::watch;
///
/// let (tx, mut rx) = watch::channel(String::from("a"));
/// tx.send(String::from("b")).unwrap();
/// let value = rx.borrow_and_update();
/// assert!(value.has_changed());
/// assert_eq!(value.as_str(), "b");
/// ```
pub struct Ref<'a, T> {
    inner: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value had not been seen by the receiver that borrowed it (always
    /// `false` for [`Sender::borrow`]). With [`Receiver::borrow_and_update`] it is now seen.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// assert!(!rx.borrow().has_changed());
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow().has_changed()); // `borrow` does not mark it seen
    /// assert!(rx.borrow_and_update().has_changed());
    /// assert!(!rx.borrow().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T> Receiver<T> {
    /// Returns a reference to the current value without marking it seen.
    ///
    /// The reference holds a read lock: senders wait until it is dropped. Use
    /// [`Ref::has_changed`] to find out whether the value is unseen.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (_tx, rx) = watch::channel("hello");
    /// assert_eq!(*rx.borrow(), "hello");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let inner = self.shared.value.read();
        // Exact under the read lock: the version changes only under the write lock.
        let has_changed = self.shared.state().version() != self.version;
        Ref { inner, has_changed }
    }

    /// Returns a reference to the current value and marks it seen, so that
    /// [`changed`](Receiver::changed) waits for a newer one.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.has_changed().unwrap());
    /// assert_eq!(*rx.borrow_and_update(), 1);
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let inner = self.shared.value.read();
        let version = self.shared.state().version();
        let has_changed = version != self.version;
        self.version = version;
        Ref { inner, has_changed }
    }

    /// Whether the value changed since this receiver last saw it, without marking it seen.
    ///
    /// Returns `Err` once every sender is dropped (even if a change is unseen; awaiting
    /// [`changed`](Receiver::changed) reports that change first).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(0);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state();
        if state.is_closed() {
            return Err(RecvError(()));
        }
        Ok(state.version() != self.version)
    }

    /// Marks the current value unseen: the next [`changed`](Receiver::changed) completes at
    /// once, even if every sender is gone (it reports this forged change before `Err`).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (_tx, mut rx) = watch::channel(0);
    /// rx.mark_changed();
    /// assert!(rx.has_changed().unwrap());
    /// rx.changed().await.unwrap();
    /// assert!(!rx.has_changed().unwrap());
    /// # });
    /// ```
    pub fn mark_changed(&mut self) {
        self.version = Version(self.version.0.wrapping_sub(VERSION_ONE));
    }

    /// Marks the current value seen, without borrowing it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// tx.send(1).unwrap();
    /// rx.mark_unchanged();
    /// assert!(!rx.has_changed().unwrap());
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.state().version();
    }

    /// Waits for a value this receiver has not seen, then marks it seen.
    ///
    /// Completes at once if the current value is unseen. Returns `Err` if every sender has
    /// been dropped and there is no unseen value: a change made before the last sender
    /// dropped is always reported first. Spends one unit of cooperative budget when it
    /// completes.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: dropping the future before it completes marks nothing
    /// seen, so a change it was waiting for is reported by the next call.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = watch::channel("hello");
    /// runtime::spawn(async move {
    ///     tx.send("goodbye").unwrap();
    ///     // `tx` drops here
    /// });
    /// assert!(rx.changed().await.is_ok());
    /// assert_eq!(*rx.borrow_and_update(), "goodbye");
    /// // The sender is gone and the last value was seen.
    /// assert!(rx.changed().await.is_err());
    /// # });
    /// ```
    pub async fn changed(&mut self) -> Result<(), RecvError> {
        self.shared.changed(&mut self.version).await
    }

    /// Waits until the value satisfies `f`, and returns a reference to it (marked seen).
    ///
    /// `f` is called with the current value first (seen or not), then with each new value
    /// that arrives, under the read lock. If every sender is dropped, `f` gets one last look
    /// at an unseen final value, after which `Err` is returned.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe: values looked at by `f` are marked seen, nothing else is
    /// lost.
    ///
    /// # Panics
    ///
    /// If `f` panics the panic propagates to the caller; the lock is released (it does not
    /// poison).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, mut rx) = watch::channel(0);
    /// runtime::spawn(async move {
    ///     for i in 1..=5 {
    ///         tx.send(i).unwrap();
    ///         runtime::task::yield_now().await;
    ///     }
    /// });
    /// let value = rx.wait_for(|v| *v >= 3).await.unwrap();
    /// assert!(*value >= 3);
    /// # });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut closed = false;
        loop {
            {
                let inner = self.shared.value.read();
                let version = self.shared.state().version();
                let has_changed = version != self.version;
                self.version = version;
                if (!closed || has_changed) && f(&inner) {
                    return Ok(Ref { inner, has_changed });
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            closed = self.shared.changed(&mut self.version).await.is_err();
        }
    }

    /// Whether `self` and `other` receive from the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (_tx, rx) = watch::channel(());
    /// let rx2 = rx.clone();
    /// let (_other_tx, other_rx) = watch::channel(());
    /// assert!(rx.same_channel(&rx2));
    /// assert!(!rx.same_channel(&other_rx));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.rx_count.fetch_add(1, Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.version,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if self.shared.rx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.notify_tx.notify_waiters();
        }
    }
}

impl<T> Sender<T> {
    /// Creates a channel holding `init` with this sender and no receiver (add receivers with
    /// [`subscribe`](Sender::subscribe)).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let tx = watch::Sender::new(0u8);
    /// assert!(tx.is_closed());
    /// let rx = tx.subscribe();
    /// tx.send(1).unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// ```
    pub fn new(init: T) -> Sender<T> {
        channel(init).0
    }

    /// Stores `value` and notifies every receiver, or hands it back if there is no receiver
    /// (then nothing is stored; see [`send_replace`](Sender::send_replace) to store anyway).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(0);
    /// tx.send(1).unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// drop(rx);
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(*tx.borrow(), 1);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.rx_count.load(Acquire) == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Modifies the value in place and notifies every receiver, whether or not any exists.
    ///
    /// The write lock is held while `modify` runs. If `modify` panics, the panic propagates,
    /// the lock is released and receivers are not notified (the value may be half-modified).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place; notifies every receiver only if `modify` returns `true`.
    ///
    /// `modify` must return `true` iff it changed the value: a `false` makes no version
    /// change, so receivers do not see the modification as a change (though `borrow` shows
    /// it). Works whether or not a receiver exists. Returns what `modify` returned. Panics of
    /// `modify` behave as in [`send_modify`](Sender::send_modify).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(0);
    /// assert!(!tx.send_if_modified(|v| if *v == 1 { *v = 2; true } else { false }));
    /// assert!(!rx.has_changed().unwrap());
    /// assert!(tx.send_if_modified(|v| { *v = 1; true }));
    /// assert!(rx.has_changed().unwrap());
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        {
            let mut value = self.shared.value.write();
            if !modify(&mut value) {
                return false;
            }
            // Under the write lock: readers holding the read lock see a stable version.
            self.shared.state.fetch_add(VERSION_ONE, AcqRel);
        }
        self.shared.notify_rx.notify_waiters();
        true
    }

    /// Stores `value`, notifies every receiver (whether or not any exists) and returns the
    /// previous value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, _rx) = watch::channel(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// assert_eq!(tx.send_replace(3), 2);
    /// ```
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|old| std::mem::swap(old, &mut value));
        value
    }

    /// Returns a reference to the current value ([`Ref::has_changed`] is `false`).
    ///
    /// The reference holds the read lock: other senders wait until it is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, _) = watch::channel("hello");
    /// assert_eq!(*tx.borrow(), "hello");
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.value.read(),
            has_changed: false,
        }
    }

    /// Whether every receiver has been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(());
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Completes once every receiver has been dropped (at once if there is none).
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// # let rt = runtime::Runtime::new().unwrap();
    /// # rt.block_on(async {
    /// let (tx, rx) = watch::channel(());
    /// runtime::spawn(async move {
    ///     drop(rx);
    /// });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub async fn closed(&self) {
        self.shared.closed().await
    }

    /// Creates a receiver that has seen the current value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, _rx) = watch::channel(0);
    /// tx.send(1).unwrap();
    /// let rx2 = tx.subscribe();
    /// assert_eq!(*rx2.borrow(), 1);
    /// assert!(!rx2.has_changed().unwrap());
    /// ```
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.rx_count.fetch_add(1, Relaxed);
        Receiver {
            shared: self.shared.clone(),
            version: self.shared.state().version(),
        }
    }

    /// The number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(());
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.load(Acquire)
    }

    /// The number of live senders.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, _rx) = watch::channel(());
    /// let tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// drop(tx2);
    /// assert_eq!(tx.sender_count(), 1);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Whether `self` and `other` send to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let (tx, _) = watch::channel(());
    /// let tx2 = tx.clone();
    /// assert!(tx.same_channel(&tx2));
    /// assert!(!tx.same_channel(&watch::Sender::new(())));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T: Default> Default for Sender<T> {
    /// A sender of a channel holding `T::default()`, with no receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::watch;
    ///
    /// let tx = watch::Sender::<u32>::default();
    /// assert_eq!(*tx.borrow(), 0);
    /// ```
    fn default() -> Self {
        Sender::new(T::default())
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.tx_count.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) == 1 {
            self.shared.state.fetch_or(CLOSED, AcqRel);
            self.shared.notify_rx.notify_waiters();
        }
    }
}

// The Debug impls do not show the value: taking the read lock could deadlock a caller that
// formats a handle inside `send_modify`.
impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state();
        f.debug_struct("Sender")
            .field("version", &state.version().0)
            .field("closed", &state.is_closed())
            .field("receivers", &self.receiver_count())
            .field("senders", &self.sender_count())
            .finish()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state();
        f.debug_struct("Receiver")
            .field("seen_version", &self.version.0)
            .field("version", &state.version().0)
            .field("closed", &state.is_closed())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;
    use std::task::{Context, Waker};

    fn poll_changed(
        changed: std::pin::Pin<&mut impl Future<Output = Result<(), RecvError>>>,
        waker: &Waker,
    ) -> Poll<Result<(), RecvError>> {
        changed.poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn versions_step_by_two_and_close_sets_bit_zero() {
        let (tx, mut rx) = channel(0);
        assert_eq!(tx.shared.state().version(), Version(0));
        tx.send(1).unwrap();
        tx.send_modify(|v| *v += 1);
        assert_eq!(tx.shared.state().version(), Version(4));
        assert!(!tx.send_if_modified(|_| false));
        assert_eq!(
            tx.shared.state().version(),
            Version(4),
            "unmodified: no change"
        );
        rx.borrow_and_update();
        rx.mark_changed();
        assert_eq!(
            rx.version,
            Version(2),
            "one step behind the current version"
        );
        let shared = tx.shared.clone();
        drop(tx);
        assert!(shared.state().is_closed());
        assert_eq!(
            shared.state().version(),
            Version(4),
            "close is not a change"
        );
    }

    #[test]
    fn changed_waits_wakes_and_marks_seen() {
        let (tx, mut rx) = channel(0);
        let (waker, count) = counting_waker();
        {
            let mut changed = pin!(rx.changed());
            assert!(poll_changed(changed.as_mut(), &waker).is_pending());
            assert!(!tx.send_if_modified(|_| false));
            assert_eq!(count.count(), 0, "an unmodified value notifies nobody");
            tx.send(1).unwrap();
            assert_eq!(count.count(), 1);
            assert_eq!(poll_changed(changed.as_mut(), &waker), Poll::Ready(Ok(())));
        }
        assert!(!rx.has_changed().unwrap());
        assert!(!rx.borrow().has_changed());
    }

    #[test]
    fn changed_reports_the_last_change_before_closing() {
        let (tx, mut rx) = channel(0);
        tx.send(1).unwrap();
        drop(tx);
        assert!(
            rx.has_changed().is_err(),
            "has_changed reports the close at once"
        );
        let waker = Waker::noop();
        assert_eq!(poll_changed(pin!(rx.changed()), waker), Poll::Ready(Ok(())));
        assert_eq!(*rx.borrow(), 1);
        assert_eq!(
            poll_changed(pin!(rx.changed()), waker),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn sender_drop_wakes_a_waiting_changed() {
        let (tx, mut rx) = channel(());
        let tx2 = tx.clone();
        let (waker, count) = counting_waker();
        let mut changed = pin!(rx.changed());
        assert!(poll_changed(changed.as_mut(), &waker).is_pending());
        drop(tx);
        assert_eq!(count.count(), 0, "a sender is left");
        drop(tx2);
        assert_eq!(count.count(), 1);
        assert_eq!(
            poll_changed(changed.as_mut(), &waker),
            Poll::Ready(Err(RecvError(())))
        );
    }

    #[test]
    fn changed_spends_budget_when_it_completes() {
        let (_tx, mut rx) = channel(0);
        crate::coop::budget(|| {
            let waker = Waker::noop();
            for _ in 0..crate::coop::INITIAL_BUDGET {
                rx.mark_changed();
                assert!(poll_changed(pin!(rx.changed()), waker).is_ready());
            }
            rx.mark_changed();
            assert!(poll_changed(pin!(rx.changed()), waker).is_pending());
            assert!(
                rx.has_changed().unwrap(),
                "a budget-refused call marks nothing seen"
            );
        });
    }

    #[test]
    fn clone_and_subscribe_keep_their_versions() {
        let (tx, mut rx) = channel(0);
        tx.send(1).unwrap();
        let rx2 = rx.clone();
        let rx3 = tx.subscribe();
        assert!(
            rx2.has_changed().unwrap(),
            "clone inherits the unseen change"
        );
        assert!(!rx3.has_changed().unwrap(), "subscribe starts up to date");
        rx.borrow_and_update();
        assert!(rx2.has_changed().unwrap(), "independent of the original");
        assert_eq!(tx.receiver_count(), 3);
    }

    #[test]
    fn closed_completes_when_the_last_receiver_drops() {
        let (tx, rx) = channel(());
        let rx2 = rx.clone();
        let (waker, count) = counting_waker();
        let mut closed = pin!(tx.closed());
        let mut cx = Context::from_waker(&waker);
        assert!(closed.as_mut().poll(&mut cx).is_pending());
        drop(rx);
        assert_eq!(count.count(), 0);
        drop(rx2);
        assert_eq!(count.count(), 1);
        assert!(closed.as_mut().poll(&mut cx).is_ready());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    use loom::thread;

    use crate::test_util::block_on;

    /// Sends race a receiver looping on `changed()`: it never misses the last value (no lost
    /// wake-up, or loom reports a deadlock), and `changed` errors only once the sender is
    /// gone, after the last value was seen.
    #[test]
    fn send_vs_changed() {
        crate::loom::model(|| {
            let (tx, mut rx) = channel(0);
            let shared = tx.shared.clone();
            let sender = thread::spawn(move || {
                tx.send(1).unwrap();
                tx.send(2).unwrap();
            });
            let mut last = 0;
            while block_on(rx.changed()).is_ok() {
                let value = *rx.borrow_and_update();
                assert!(value > last, "values are seen in order, each at most once");
                last = value;
            }
            assert_eq!(
                shared.tx_count.load(Acquire),
                0,
                "error before the sender dropped"
            );
            assert_eq!(last, 2, "the last value was missed");
            sender.join().unwrap();
        });
    }

    /// A receiver waits (without the sender dropping) until it has seen the last value:
    /// the notification of the last send must reach it.
    #[test]
    fn changed_sees_the_last_send_without_close() {
        crate::loom::model(|| {
            let (tx, mut rx) = channel(0);
            let tx2 = tx.clone();
            let sender = thread::spawn(move || {
                tx2.send(1).unwrap();
            });
            block_on(rx.changed()).unwrap();
            assert_eq!(*rx.borrow_and_update(), 1);
            sender.join().unwrap();
            drop(tx);
        });
    }
}
