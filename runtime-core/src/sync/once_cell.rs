//! [`OnceCell`]: a cell written at most once, with async initialization run by one caller at
//! a time.
//!
//! # Protocol
//!
//! A flag (`value_set`), the value cell, and a one-permit
//! [`batch_semaphore`](super::batch_semaphore):
//!
//! * Only the holder of the permit writes the value cell, and only while `value_set` is
//!   clear. It writes the value, sets `value_set` (`Release`), forgets its permit and closes
//!   the semaphore. From then on the cell is read-only until someone has `&mut` access.
//! * Readers load `value_set` (`Acquire`) and read the cell only if it is set.
//! * [`OnceCell::get_or_init`] / [`get_or_try_init`](OnceCell::get_or_try_init) acquire the
//!   permit (waiting in FIFO order) before running the initializer. If the initializer fails,
//!   panics or is cancelled, the permit is released and the next waiter runs its own. When it
//!   succeeds, the close wakes every waiter with an error, which tells it the value is set
//!   (the close is ordered after the flag by the semaphore's lock).

use super::batch_semaphore::{self as ll, TryAcquireError};
use super::lock_util::into_inner;
use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::{AtomicBool, Ordering};
use std::fmt;
use std::future::Future;

/// A thread-safe cell that can be written only once, with async initialization.
///
/// Concurrent [`get_or_init`](OnceCell::get_or_init) calls run one initializer at a time (in
/// FIFO order); the first one to succeed sets the value and the others return it.
///
/// # Examples
///
/// ```
/// use runtime::sync::OnceCell;
///
/// async fn some_computation() -> u32 {
///     1 + 1
/// }
///
/// static ONCE: OnceCell<u32> = OnceCell::const_new();
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let result = ONCE.get_or_init(some_computation).await;
///     assert_eq!(*result, 2);
/// });
/// ```
pub struct OnceCell<T> {
    value_set: AtomicBool,
    value: UnsafeCell<Option<T>>,
    semaphore: ll::Semaphore,
}

// SAFETY: `&OnceCell` hands out `&T` to any thread (`T: Sync`) and lets any thread write
// (move in) the value (`T: Send`); writes are exclusive by the protocol above.
unsafe impl<T: Send + Sync> Sync for OnceCell<T> {}

/// Error returned by [`OnceCell::set`]; gives the value back.
///
/// # Examples
///
/// ```
/// use runtime::sync::{OnceCell, SetError};
///
/// let cell = OnceCell::new();
/// cell.set(1).unwrap();
/// assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
/// ```
#[derive(Debug, PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell already holds a value.
    AlreadyInitializedError(T),
    /// Another caller is initializing the cell right now.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether this is [`SetError::AlreadyInitializedError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let cell = OnceCell::new_with(Some(1));
    /// assert!(cell.set(2).unwrap_err().is_already_init_err());
    /// ```
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether this is [`SetError::InitializingError`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    /// use std::future::pending;
    /// use std::pin::pin;
    /// use std::task::{Context, Waker};
    ///
    /// let cell = OnceCell::new();
    /// let mut init = pin!(cell.get_or_init(|| pending::<i32>()));
    /// let _ = init.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    /// assert!(cell.set(1).unwrap_err().is_initializing_err());
    /// # use std::future::Future;
    /// ```
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("the cell is already initialized"),
            SetError::InitializingError(_) => f.write_str("the cell is being initialized"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for SetError<T> {}

/// Gives the initialization permit back (so the next caller may try) unless `forget`.
struct InitPermit<'a>(Option<&'a ll::Semaphore>);

impl InitPermit<'_> {
    fn forget(mut self) {
        self.0 = None;
    }
}

impl Drop for InitPermit<'_> {
    fn drop(&mut self) {
        if let Some(semaphore) = self.0 {
            semaphore.release(1);
        }
    }
}

impl<T> OnceCell<T> {
    /// Creates an empty cell.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let cell = OnceCell::<u32>::new();
    /// assert!(cell.get().is_none());
    /// ```
    pub fn new() -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(None),
            semaphore: ll::Semaphore::new(1),
        }
    }

    /// Creates an empty cell, in a `const` context.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// static CELL: OnceCell<u32> = OnceCell::const_new();
    /// assert!(CELL.get().is_none());
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(false),
            value: UnsafeCell::new(None),
            semaphore: ll::Semaphore::const_new(1),
        }
    }

    /// Creates a cell holding `value`, in a `const` context.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// static CELL: OnceCell<u32> = OnceCell::const_new_with(5);
    /// assert_eq!(CELL.get(), Some(&5));
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new_with(value: T) -> OnceCell<T> {
        OnceCell {
            value_set: AtomicBool::new(true),
            value: UnsafeCell::new(Some(value)),
            semaphore: ll::Semaphore::const_closed(),
        }
    }

    /// Creates a cell holding `value` if it is `Some`, or an empty cell.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// assert_eq!(OnceCell::new_with(Some(1)).get(), Some(&1));
    /// assert_eq!(OnceCell::<i32>::new_with(None).get(), None);
    /// ```
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        match value {
            Some(value) => OnceCell {
                value_set: AtomicBool::new(true),
                value: UnsafeCell::new(Some(value)),
                semaphore: ll::Semaphore::new_closed(),
            },
            None => OnceCell::new(),
        }
    }

    /// Whether the cell holds a value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert!(!cell.initialized());
    /// cell.set(1).unwrap();
    /// assert!(cell.initialized());
    /// ```
    pub fn initialized(&self) -> bool {
        self.value_set.load(Ordering::Acquire)
    }

    /// The value, if the cell holds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert_eq!(cell.get(), None);
    /// cell.set("x").unwrap();
    /// assert_eq!(cell.get(), Some(&"x"));
    /// ```
    pub fn get(&self) -> Option<&T> {
        if self.initialized() {
            Some(self.value_unchecked())
        } else {
            None
        }
    }

    /// Mutable access to the value, if the cell holds one.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let mut cell = OnceCell::new_with(Some(1));
    /// *cell.get_mut().unwrap() += 1;
    /// assert_eq!(cell.get(), Some(&2));
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut T> {
        // SAFETY: `&mut self` rules out every other access to the cell.
        self.value.with_mut(|p| unsafe { (*p).as_mut() })
    }

    /// Sets the value if the cell is empty and nobody is initializing it.
    ///
    /// # Errors
    ///
    /// [`SetError::AlreadyInitializedError`] if the cell holds a value,
    /// [`SetError::InitializingError`] if a `get_or_init` / `get_or_try_init` is running its
    /// initializer; both give `value` back.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let cell = OnceCell::new();
    /// assert!(cell.set(1).is_ok());
    /// assert!(cell.set(2).is_err());
    /// assert_eq!(cell.get(), Some(&1));
    /// ```
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        if self.initialized() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        match self.semaphore.try_acquire(1) {
            Ok(()) => {
                self.set_value(value, InitPermit(Some(&self.semaphore)));
                Ok(())
            }
            Err(TryAcquireError::NoPermits) => Err(SetError::InitializingError(value)),
            Err(TryAcquireError::Closed) => Err(SetError::AlreadyInitializedError(value)),
        }
    }

    /// Returns the value, initializing it with `f().await` first if the cell is empty.
    ///
    /// Concurrent callers run their initializers one at a time (FIFO); once one succeeds,
    /// the others return its value without running theirs.
    ///
    /// # Cancel safety
    ///
    /// Cancelling the call (dropping the future, including while the initializer runs)
    /// leaves the cell empty and lets the next waiting caller run its initializer; the call
    /// loses its place in the queue. The same holds if the initializer panics.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let cell = OnceCell::new();
    ///     assert_eq!(*cell.get_or_init(|| async { 1 }).await, 1);
    ///     assert_eq!(*cell.get_or_init(|| async { 2 }).await, 1, "not run again");
    /// });
    /// ```
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        if self.initialized() {
            return self.value_unchecked();
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                let permit = InitPermit(Some(&self.semaphore));
                let value = f().await;
                self.set_value(value, permit)
            }
            // Closed: only ever after the value was set.
            Err(_) => self.value_unchecked(),
        }
    }

    /// Returns the value, initializing it with `f().await` first if the cell is empty; if the
    /// initializer fails, the cell stays empty and the error is returned.
    ///
    /// Concurrent callers run their initializers one at a time (FIFO); after a failure the
    /// next one runs its own.
    ///
    /// # Errors
    ///
    /// The initializer's error.
    ///
    /// # Cancel safety
    ///
    /// Cancelling the call (dropping the future, including while the initializer runs)
    /// leaves the cell empty and lets the next waiting caller run its initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let cell = OnceCell::new();
    ///     assert_eq!(cell.get_or_try_init(|| async { Err("no") }).await, Err("no"));
    ///     assert_eq!(cell.get_or_try_init(|| async { Ok::<_, &str>(3) }).await, Ok(&3));
    /// });
    /// ```
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if self.initialized() {
            return Ok(self.value_unchecked());
        }
        match self.semaphore.acquire(1).await {
            Ok(()) => {
                let permit = InitPermit(Some(&self.semaphore));
                let value = f().await?;
                Ok(self.set_value(value, permit))
            }
            Err(_) => Ok(self.value_unchecked()),
        }
    }

    /// Takes the value out, leaving the cell empty (and initializable again).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// let mut cell = OnceCell::new_with(Some(1));
    /// assert_eq!(cell.take(), Some(1));
    /// assert!(!cell.initialized());
    /// cell.set(2).unwrap();
    /// ```
    pub fn take(&mut self) -> Option<T> {
        std::mem::take(self).into_inner()
    }

    /// Consumes the cell and returns its value, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::OnceCell;
    ///
    /// assert_eq!(OnceCell::new_with(Some("v")).into_inner(), Some("v"));
    /// ```
    pub fn into_inner(self) -> Option<T> {
        into_inner(self.value)
    }

    /// The value; the caller has seen `value_set`.
    fn value_unchecked(&self) -> &T {
        self.value
            .with(|p| {
                // SAFETY: `value_set` was observed (Acquire, pairing with the Release in
                // `set_value`), so the value is written and unchanged while `&self` lives.
                unsafe { (*p).as_ref() }
            })
            .expect("OnceCell: value_set without a value")
    }

    /// Stores the value; the caller holds the permit (consumed here).
    fn set_value(&self, value: T, permit: InitPermit<'_>) -> &T {
        // SAFETY: the permit makes this the only writer, and `value_set` is clear, so no
        // reader looks at the cell yet.
        self.value.with_mut(|p| unsafe { *p = Some(value) });
        self.value_set.store(true, Ordering::Release);
        permit.forget();
        self.semaphore.close();
        self.value_unchecked()
    }
}

impl<T> Default for OnceCell<T> {
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T> From<T> for OnceCell<T> {
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for OnceCell<T> {
    fn eq(&self, other: &OnceCell<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for OnceCell<T> {}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell")
            .field("value", &self.get())
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;
    use loom::thread;

    use crate::test_util::block_on;

    /// Two threads race `get_or_init` while a third reads with `get`: the initializer runs
    /// once, both callers see its value, and a reader that sees the flag sees the value.
    #[test]
    fn concurrent_get_or_init() {
        crate::loom::model(|| {
            let cell = Arc::new(OnceCell::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let racer = {
                let (cell, runs) = (cell.clone(), runs.clone());
                thread::spawn(move || {
                    *block_on(cell.get_or_init(|| async move {
                        runs.fetch_add(1, Ordering::Relaxed);
                        1
                    }))
                })
            };
            let reader = {
                let cell = cell.clone();
                thread::spawn(move || cell.get().copied())
            };
            let mine = *block_on(cell.get_or_init(|| async {
                runs.fetch_add(1, Ordering::Relaxed);
                2
            }));
            assert_eq!(racer.join().unwrap(), mine);
            assert!(matches!(reader.join().unwrap(), None | Some(1 | 2)));
            assert_eq!(runs.load(Ordering::Relaxed), 1);
        });
    }
}
