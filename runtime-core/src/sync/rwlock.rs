//! [`RwLock`]: an async reader-writer lock, fair and write-preferring, with borrowed, owned
//! (`Arc`) and mapped guards; the guard types live in [`guards`] and [`owned_guards`].
//!
//! The lock is a [`batch_semaphore`](super::batch_semaphore) holding `max_readers` permits
//! beside an `UnsafeCell` with the value: a reader takes one permit, a writer all of them.
//! Because the semaphore is FIFO and a queued request takes every permit released while it
//! waits, a waiting writer holds back every reader that arrives after it (no writer
//! starvation), and readers queued behind a writer all proceed together once it is done.
//! Cancel safety and cooperative budgeting come from the semaphore, which is never closed.
//!
//! Guards hold a raw pointer into the value (shared for readers, exclusive for writers),
//! valid while they hold their permits; that is what lets `map` narrow the guarded place.

mod guards;
mod owned_guards;

pub use guards::{RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard};
pub use owned_guards::{OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

use super::batch_semaphore as ll;
use super::lock_util::{block_outside_runtime, into_inner};
use super::TryLockError;
use crate::loom::cell::UnsafeCell;
use std::fmt;
use std::sync::Arc;

/// The largest number of concurrent readers a [`RwLock`] allows.
const MAX_READS: u32 = u32::MAX >> 3;

/// An asynchronous reader-writer lock.
///
/// Any number of readers ([`read`](RwLock::read)) or one writer ([`write`](RwLock::write))
/// may hold the lock at a time. The lock is fair (FIFO) and write-preferring: once a writer
/// waits, readers that arrive later queue behind it, so writers are never starved. The
/// number of concurrent readers is bounded ([`RwLock::with_max_readers`]).
///
/// Acquiring spends one unit of the task's cooperative budget. Guards may be held across
/// `.await`. There is no poisoning.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let lock = RwLock::new(5);
///
///     // Many readers at once.
///     {
///         let r1 = lock.read().await;
///         let r2 = lock.read().await;
///         assert_eq!(*r1 + *r2, 10);
///     }
///
///     // One writer.
///     {
///         let mut w = lock.write().await;
///         *w += 1;
///     }
///     assert_eq!(*lock.read().await, 6);
/// });
/// ```
pub struct RwLock<T> {
    /// Permits a writer takes (and the most readers at once).
    mr: u32,
    s: ll::Semaphore,
    c: UnsafeCell<T>,
}

// SAFETY: readers on several threads share `&T` (`T: Sync`), and a writer on any thread gets
// `&mut T` and may move the value (`T: Send`).
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// Creates an unlocked lock holding `value`, allowing `u32::MAX >> 3` concurrent readers.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::new(5);
    /// ```
    pub fn new(value: T) -> RwLock<T> {
        RwLock {
            mr: MAX_READS,
            s: ll::Semaphore::new(MAX_READS as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// Creates an unlocked lock holding `value`, allowing at most `max_reads` concurrent
    /// readers (a writer then waits for all of them).
    ///
    /// # Panics
    ///
    /// If `max_reads` is 0 (nobody could ever lock it) or more than `u32::MAX >> 3`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::with_max_readers(5, 1024);
    /// assert_eq!(*lock.try_read().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert_max_reads(max_reads);
        RwLock {
            mr: max_reads,
            s: ll::Semaphore::new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// Creates an unlocked lock holding `value`, in a `const` context.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// static LOCK: RwLock<i32> = RwLock::const_new(5);
    /// assert_eq!(*LOCK.try_read().unwrap(), 5);
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new(value: T) -> RwLock<T> {
        RwLock {
            mr: MAX_READS,
            s: ll::Semaphore::const_new(MAX_READS as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// Creates an unlocked lock holding `value` with at most `max_reads` concurrent readers,
    /// in a `const` context.
    ///
    /// # Panics
    ///
    /// If `max_reads` is 0 or more than `u32::MAX >> 3`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// static LOCK: RwLock<i32> = RwLock::const_with_max_readers(5, 10);
    /// assert_eq!(*LOCK.try_read().unwrap(), 5);
    /// ```
    #[cfg(not(loom))]
    #[track_caller]
    pub const fn const_with_max_readers(value: T, max_reads: u32) -> RwLock<T> {
        assert!(
            max_reads > 0 && max_reads <= MAX_READS,
            "a RwLock needs between 1 and u32::MAX >> 3 max readers"
        );
        RwLock {
            mr: max_reads,
            s: ll::Semaphore::const_new(max_reads as usize),
            c: UnsafeCell::new(value),
        }
    }

    /// Locks for reading, waiting (in FIFO order) while a writer holds the lock or waits
    /// ahead of this call.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they were requested.
    /// Cancelling a call to `read` makes you lose your place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let lock = Arc::new(RwLock::new(1));
    ///     let n = lock.read().await;
    ///     let lock2 = lock.clone();
    ///     // Another reader gets in while `n` is held.
    ///     runtime::spawn(async move { assert_eq!(*lock2.read().await, 1) }).await.unwrap();
    ///     assert_eq!(*n, 1);
    /// });
    /// ```
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard::new(&self.s, self.c.with(|p| p))
    }

    /// Locks a lock held in an [`Arc`] for reading, waiting (in FIFO order) while a writer
    /// holds the lock or waits ahead of this call.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they were requested.
    /// Cancelling a call to `read_owned` makes you lose your place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let lock = Arc::new(RwLock::new(1));
    ///     let guard = lock.clone().read_owned().await;
    ///     runtime::spawn(async move { assert_eq!(*guard, 1) }).await.unwrap();
    /// });
    /// ```
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        let data = self.c.with(|p| p);
        OwnedRwLockReadGuard::new(self, data)
    }

    /// Locks for reading if no writer holds or waits for the lock and a reader slot is free.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_err());
    /// assert_eq!(*r, 1);
    /// ```
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(RwLockReadGuard::new(&self.s, self.c.with(|p| p))),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks a lock held in an [`Arc`] for reading, if no writer holds or waits for it and a
    /// reader slot is free.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let r = lock.clone().try_read_owned().unwrap();
    /// assert_eq!(*r, 1);
    /// ```
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => {
                let data = self.c.with(|p| p);
                Ok(OwnedRwLockReadGuard::new(self, data))
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks for writing, waiting (in FIFO order) until no reader or writer holds the lock.
    /// While this call waits, readers that arrive later wait behind it.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they were requested.
    /// Cancelling a call to `write` makes you lose your place in the queue; reader slots it
    /// had already collected go to the waiters behind it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let lock = RwLock::new(1);
    ///     *lock.write().await += 1;
    ///     assert_eq!(*lock.read().await, 2);
    /// });
    /// ```
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(self.mr).await;
        RwLockWriteGuard::new(&self.s, self.mr, self.c.with_mut(|p| p))
    }

    /// Locks a lock held in an [`Arc`] for writing, waiting (in FIFO order) until no reader
    /// or writer holds it.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they were requested.
    /// Cancelling a call to `write_owned` makes you lose your place in the queue.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let lock = Arc::new(RwLock::new(1));
    ///     let mut guard = lock.clone().write_owned().await;
    ///     runtime::spawn(async move { *guard = 2 }).await.unwrap();
    ///     assert_eq!(*lock.read().await, 2);
    /// });
    /// ```
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(self.mr).await;
        let data = self.c.with_mut(|p| p);
        OwnedRwLockWriteGuard::new(self, data)
    }

    /// Locks for writing if nobody holds or waits for the lock.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let lock = RwLock::new(1);
    /// let r = lock.try_read().unwrap();
    /// assert!(lock.try_write().is_err());
    /// drop(r);
    /// *lock.try_write().unwrap() = 2;
    /// ```
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(self.mr as usize) {
            Ok(()) => Ok(RwLockWriteGuard::new(
                &self.s,
                self.mr,
                self.c.with_mut(|p| p),
            )),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks a lock held in an [`Arc`] for writing, if nobody holds or waits for it.
    ///
    /// # Errors
    ///
    /// [`TryLockError`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// *lock.clone().try_write_owned().unwrap() = 2;
    /// assert_eq!(*lock.try_read().unwrap(), 2);
    /// ```
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        match self.s.try_acquire(self.mr as usize) {
            Ok(()) => {
                let data = self.c.with_mut(|p| p);
                Ok(OwnedRwLockWriteGuard::new(self, data))
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks for reading from synchronous code, blocking the thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that drives a runtime (a worker, or inside `block_on`).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let lock2 = lock.clone();
    /// let n = std::thread::spawn(move || *lock2.blocking_read()).join().unwrap();
    /// assert_eq!(n, 1);
    /// ```
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        block_outside_runtime("RwLock::blocking_read", self.read())
    }

    /// Locks for writing from synchronous code, blocking the thread.
    ///
    /// # Panics
    ///
    /// When called from a thread that drives a runtime (a worker, or inside `block_on`).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let lock2 = lock.clone();
    /// std::thread::spawn(move || *lock2.blocking_write() += 1).join().unwrap();
    /// assert_eq!(*lock.blocking_read(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        block_outside_runtime("RwLock::blocking_write", self.write())
    }

    /// Mutable access to the value without locking: the `&mut` borrow proves that nobody
    /// else holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// let mut lock = RwLock::new(1);
    /// *lock.get_mut() = 2;
    /// assert_eq!(lock.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` rules out guards and other borrows of the cell.
        self.c.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the lock and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    ///
    /// assert_eq!(RwLock::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        into_inner(self.c)
    }

    async fn acquire(&self, permits: u32) {
        if self.s.acquire(permits as usize).await.is_err() {
            unreachable!("a RwLock's semaphore is never closed");
        }
    }
}

#[track_caller]
fn assert_max_reads(max_reads: u32) {
    assert!(
        max_reads <= MAX_READS,
        "a RwLock may not be created with more than {MAX_READS} readers (got {max_reads})"
    );
    assert!(
        max_reads > 0,
        "a RwLock needs at least one reader slot: `with_max_readers(_, 0)` could never be \
         locked"
    );
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}
