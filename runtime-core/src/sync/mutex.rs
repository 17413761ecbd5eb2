//! [`Mutex`]: an async mutual-exclusion lock, with borrowed, owned (`Arc`) and mapped guards.
//!
//! The lock is a [`batch_semaphore`](super::batch_semaphore) with one permit beside an
//! `UnsafeCell` holding the value. Whoever holds the permit (a guard) has exclusive access to
//! the cell; a guard returns the permit on drop. Fairness (FIFO), cancel safety and
//! cooperative budgeting all come from the semaphore, which is never closed. An uncontended
//! lock or unlock is one compare-and-swap.
//!
//! Mapped guards hold a raw pointer into the value (derived from the exclusive access the
//! permit grants) plus the permit, so they can narrow the guarded place without a lifetime
//! tied to the original guard.

use super::batch_semaphore as ll;
use super::lock_util::{block_outside_runtime, into_inner};
use crate::loom::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// An asynchronous mutual-exclusion lock for protecting shared data.
///
/// [`lock`](Mutex::lock) waits (without blocking the thread) until the lock is free and
/// returns a [`MutexGuard`] giving exclusive access to the value; the lock is released when
/// the guard is dropped. Unlike `std::sync::Mutex`, a guard may be held across an `.await`.
///
/// The lock is fair: tasks get it in the order they called `lock` (first in, first out). It
/// has no poisoning: a task that panics while holding the lock releases it.
///
/// Locking spends one unit of the task's cooperative budget.
///
/// # Examples
///
/// ```
/// use runtime::sync::Mutex;
/// use std::sync::Arc;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let count = Arc::new(Mutex::new(0));
///     let mut handles = Vec::new();
///     for _ in 0..5 {
///         let count = count.clone();
///         handles.push(runtime::spawn(async move {
///             *count.lock().await += 1;
///         }));
///     }
///     for handle in handles {
///         handle.await.unwrap();
///     }
///     assert_eq!(*count.lock().await, 5);
/// });
/// ```
pub struct Mutex<T> {
    s: ll::Semaphore,
    c: UnsafeCell<T>,
}

/// Exclusive access to the value of a [`Mutex`], released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::Mutex;
///
/// let mutex = Mutex::new(vec![1]);
/// let mut guard = mutex.try_lock().unwrap();
/// guard.push(2);
/// assert_eq!(*guard, [1, 2]);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
    /// Makes the guard `Sync` only if `T: Sync` (as Tokio's: it hands out `&T`).
    _marker: PhantomData<&'a mut T>,
}

/// Exclusive access to the value of a [`Mutex`] held in an [`Arc`], released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::Mutex;
/// use std::sync::Arc;
///
/// let mutex = Arc::new(Mutex::new(1));
/// let mut guard = mutex.clone().try_lock_owned().unwrap();
/// *guard += 1;
/// drop(guard);
/// assert_eq!(*mutex.try_lock().unwrap(), 2);
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedMutexGuard<T> {
    lock: Arc<Mutex<T>>,
    /// Makes the guard `Sync` only if `T: Sync` (as Tokio's: it hands out `&T`).
    _marker: PhantomData<T>,
}

/// Exclusive access to a part of a locked [`Mutex`]'s value, made by [`MutexGuard::map`];
/// the lock is released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::{MappedMutexGuard, Mutex, MutexGuard};
///
/// let mutex = Mutex::new((1, 2));
/// let mut second: MappedMutexGuard<'_, i32> =
///     MutexGuard::map(mutex.try_lock().unwrap(), |pair| &mut pair.1);
/// *second = 5;
/// drop(second);
/// assert_eq!(*mutex.try_lock().unwrap(), (1, 5));
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct MappedMutexGuard<'a, T> {
    s: &'a ll::Semaphore,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

/// Exclusive access to a part of a locked [`Mutex`]'s value, where the mutex is held in an
/// [`Arc`]; made by [`OwnedMutexGuard::map`]. The lock is released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};
/// use std::sync::Arc;
///
/// let mutex = Arc::new(Mutex::new((1, 2)));
/// let mut first: OwnedMappedMutexGuard<(i32, i32), i32> =
///     OwnedMutexGuard::map(mutex.clone().try_lock_owned().unwrap(), |pair| &mut pair.0);
/// *first = 7;
/// drop(first);
/// assert_eq!(*mutex.try_lock().unwrap(), (7, 2));
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedMappedMutexGuard<T, U = T> {
    data: *mut U,
    lock: Arc<Mutex<T>>,
}

// SAFETY: the value is only reached through a guard, which exists once per permit and the
// semaphore has one permit: one thread at a time has access, so `T: Send` is enough (as
// `std::sync::Mutex`).
unsafe impl<T: Send> Sync for Mutex<T> {}
// SAFETY: the guard owns exclusive access to the `U` behind the pointer (moving it moves
// that access, so `U: Send`), and keeps the mutex (`T: Send` makes it shareable) alive.
unsafe impl<T: Send, U: Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: sharing the guard hands out `&U` only (`U: Sync`); `T: Send + Sync` as for the
// owned guard it was made from.
unsafe impl<T: Send + Sync, U: Send + Sync> Sync for OwnedMappedMutexGuard<T, U> {}
// SAFETY: the guard owns exclusive access to the `T` behind the pointer; moving it to another
// thread moves that access, so `T: Send` is enough.
unsafe impl<T: Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: sharing the guard hands out `&T` only.
unsafe impl<T: Sync> Sync for MappedMutexGuard<'_, T> {}

/// Error returned by [`Mutex::try_lock`], [`RwLock::try_read`](super::RwLock::try_read) and
/// [`RwLock::try_write`](super::RwLock::try_write) (and their owned variants): the lock is
/// held.
///
/// # Examples
///
/// ```
/// use runtime::sync::Mutex;
///
/// let mutex = Mutex::new(1);
/// let _guard = mutex.try_lock().unwrap();
/// let err = mutex.try_lock().unwrap_err();
/// assert_eq!(err.to_string(), "operation would block");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("operation would block")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `t`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let lock = Mutex::new(5);
    /// ```
    pub fn new(t: T) -> Mutex<T> {
        Mutex {
            s: ll::Semaphore::new(1),
            c: UnsafeCell::new(t),
        }
    }

    /// Creates an unlocked mutex holding `t`, in a `const` context.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// static LOCK: Mutex<i32> = Mutex::const_new(5);
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     *LOCK.lock().await += 1;
    ///     assert_eq!(*LOCK.lock().await, 6);
    /// });
    /// ```
    #[cfg(not(loom))]
    pub const fn const_new(t: T) -> Mutex<T> {
        Mutex {
            s: ll::Semaphore::const_new(1),
            c: UnsafeCell::new(t),
        }
    }

    /// Locks the mutex, waiting (in FIFO order) until it is free.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they were requested.
    /// Cancelling a call to `lock` makes you lose your place in the queue; if the lock had
    /// already been handed to the cancelled call, it passes on to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mutex = Mutex::new(1);
    ///     let mut n = mutex.lock().await;
    ///     *n = 2;
    /// });
    /// ```
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        self.acquire().await;
        MutexGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    /// Locks a mutex held in an [`Arc`], waiting (in FIFO order) until it is free; the
    /// guard owns the `Arc`, so it can be moved into a spawned task.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute locks in the order they were requested.
    /// Cancelling a call to `lock_owned` makes you lose your place in the queue; if the lock
    /// had already been handed to the cancelled call, it passes on to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let mutex = Arc::new(Mutex::new(1));
    ///     let mut guard = mutex.clone().lock_owned().await;
    ///     runtime::spawn(async move { *guard = 2 }).await.unwrap();
    ///     assert_eq!(*mutex.lock().await, 2);
    /// });
    /// ```
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard {
            lock: self,
            _marker: PhantomData,
        }
    }

    async fn acquire(&self) {
        if self.s.acquire(1).await.is_err() {
            unreachable!("a Mutex's semaphore is never closed");
        }
    }

    /// Locks the mutex if it is free right now (and nobody is queued).
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or tasks are waiting for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(mutex.try_lock().is_err());
    /// drop(guard);
    /// assert_eq!(*mutex.try_lock().unwrap(), 1);
    /// ```
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(MutexGuard {
                lock: self,
                _marker: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks a mutex held in an [`Arc`] if it is free right now (and nobody is queued).
    ///
    /// # Errors
    ///
    /// [`TryLockError`] if the lock is held or tasks are waiting for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    /// let guard = mutex.clone().try_lock_owned().unwrap();
    /// assert!(mutex.clone().try_lock_owned().is_err());
    /// drop(guard);
    /// ```
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.s.try_acquire(1) {
            Ok(()) => Ok(OwnedMutexGuard {
                lock: self,
                _marker: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Locks the mutex from synchronous code, blocking the thread until it is free.
    ///
    /// # Panics
    ///
    /// When called from a thread that drives a runtime (a worker, or inside `block_on`):
    /// blocking there would stall the tasks that could release the lock. Call it from a
    /// plain thread or [`spawn_blocking`](https://docs.rs/tokio/latest/tokio/task/fn.spawn_blocking.html).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// let mutex = Arc::new(Mutex::new(1));
    /// let guard = rt.block_on(mutex.lock());
    ///
    /// let mutex2 = mutex.clone();
    /// let thread = std::thread::spawn(move || {
    ///     *mutex2.blocking_lock() += 1; // waits until `guard` is dropped
    /// });
    /// drop(guard);
    /// thread.join().unwrap();
    /// assert_eq!(*mutex.blocking_lock(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        block_outside_runtime("Mutex::blocking_lock", self.lock())
    }

    /// Locks a mutex held in an [`Arc`] from synchronous code, blocking the thread until it
    /// is free.
    ///
    /// # Panics
    ///
    /// When called from a thread that drives a runtime, as
    /// [`blocking_lock`](Mutex::blocking_lock).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    /// let mutex2 = mutex.clone();
    /// std::thread::spawn(move || {
    ///     *mutex2.blocking_lock_owned() += 1;
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(*mutex.blocking_lock(), 2);
    /// ```
    #[track_caller]
    pub fn blocking_lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        block_outside_runtime("Mutex::blocking_lock_owned", self.lock_owned())
    }

    /// Mutable access to the value, without locking: the `&mut` borrow proves that nobody
    /// else holds the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let mut mutex = Mutex::new(1);
    /// *mutex.get_mut() = 2;
    /// assert_eq!(mutex.into_inner(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` rules out guards and other borrows of the cell.
        self.c.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex and returns the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Mutex;
    ///
    /// let mutex = Mutex::new(String::from("hi"));
    /// assert_eq!(mutex.into_inner(), "hi");
    /// ```
    pub fn into_inner(self) -> T {
        into_inner(self.c)
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(t: T) -> Self {
        Mutex::new(t)
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(guard) => d.field("data", &&*guard),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

impl<'a, T> MutexGuard<'a, T> {
    /// Makes a guard for a part of the locked value; the lock stays held until the new guard
    /// is dropped. An associated function (`MutexGuard::map(guard, ...)`), so it does not
    /// shadow a method of `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, MutexGuard};
    ///
    /// let mutex = Mutex::new((String::new(), 0));
    /// let mut name = MutexGuard::map(mutex.try_lock().unwrap(), |v| &mut v.0);
    /// name.push_str("ferris");
    /// drop(name);
    /// assert_eq!(mutex.try_lock().unwrap().0, "ferris");
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let this = ManuallyDrop::new(this);
        let lock = this.lock;
        // SAFETY: the permit held by `this` (now owned by the mapped guard) grants exclusive
        // access to the cell for as long as the mapped guard lives.
        let data = lock.c.with_mut(|p| f(unsafe { &mut *p }) as *mut U);
        MappedMutexGuard {
            s: &lock.s,
            data,
            _marker: PhantomData,
        }
    }

    /// Like [`map`](MutexGuard::map), but `f` may decline (`None`), which gives the original
    /// guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, MutexGuard};
    ///
    /// let mutex = Mutex::new(vec![1, 2]);
    /// let first = MutexGuard::try_map(mutex.try_lock().unwrap(), |v| v.first_mut());
    /// assert_eq!(*first.unwrap(), 1);
    /// let none = MutexGuard::try_map(mutex.try_lock().unwrap(), |v| v.get_mut(9));
    /// assert!(none.is_err());
    /// ```
    pub fn try_map<U, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let lock = this.lock;
        let data = lock.c.with_mut(|p| {
            // SAFETY: `this` holds the permit, so access to the cell is exclusive; the
            // reference ends before `this` is used again.
            f(unsafe { &mut *p }).map(|u| u as *mut U)
        });
        match data {
            Some(data) => {
                std::mem::forget(this); // the permit moves into the mapped guard
                Ok(MappedMutexGuard {
                    s: &lock.s,
                    data,
                    _marker: PhantomData,
                })
            }
            None => Err(this),
        }
    }

    /// The mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, MutexGuard};
    ///
    /// let mutex = Mutex::new(1);
    /// let guard = mutex.try_lock().unwrap();
    /// assert!(std::ptr::eq(MutexGuard::mutex(&guard), &mutex));
    /// ```
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit: nobody else accesses the cell.
        self.lock.c.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's only permit, and `&mut self` makes this the
        // only reference handed out by it.
        self.lock.c.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T> OwnedMutexGuard<T> {
    /// Makes an owned guard for a part of the locked value; the lock stays held until the
    /// new guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, OwnedMutexGuard};
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new([0u8; 4]));
    /// let mut last = OwnedMutexGuard::map(mutex.clone().try_lock_owned().unwrap(), |a| &mut a[3]);
    /// *last = 9;
    /// drop(last);
    /// assert_eq!(*mutex.try_lock().unwrap(), [0, 0, 0, 9]);
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let lock = Self::into_lock(this);
        // SAFETY: the permit (moved into the mapped guard with `lock`) grants exclusive access
        // to the cell for as long as the mapped guard lives.
        let data = lock.c.with_mut(|p| f(unsafe { &mut *p }) as *mut U);
        OwnedMappedMutexGuard { data, lock }
    }

    /// Like [`map`](OwnedMutexGuard::map), but `f` may decline (`None`), which gives the
    /// original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, OwnedMutexGuard};
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new(Some(1)));
    /// let inner = OwnedMutexGuard::try_map(mutex.clone().try_lock_owned().unwrap(), Option::as_mut);
    /// assert_eq!(*inner.unwrap(), 1);
    /// ```
    pub fn try_map<U, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data = this.lock.c.with_mut(|p| {
            // SAFETY: `this` holds the permit, so access to the cell is exclusive; the
            // reference ends before `this` is used again.
            f(unsafe { &mut *p }).map(|u| u as *mut U)
        });
        match data {
            Some(data) => Ok(OwnedMappedMutexGuard {
                data,
                lock: Self::into_lock(this),
            }),
            None => Err(this),
        }
    }

    /// The mutex this guard locks.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, OwnedMutexGuard};
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new(1));
    /// let guard = mutex.clone().try_lock_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
    /// ```
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }

    /// Takes the `Arc` out of the guard without releasing the permit (the caller now owns it).
    fn into_lock(this: Self) -> Arc<Mutex<T>> {
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out once.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit: nobody else accesses the cell.
        self.lock.c.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the mutex's only permit, and `&mut self` makes this the
        // only reference handed out by it.
        self.lock.c.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<'a, T> MappedMutexGuard<'a, T> {
    /// Narrows the guarded place further.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{MappedMutexGuard, Mutex, MutexGuard};
    ///
    /// let mutex = Mutex::new(((1, 2), 3));
    /// let inner = MutexGuard::map(mutex.try_lock().unwrap(), |v| &mut v.0);
    /// let mut second = MappedMutexGuard::map(inner, |v| &mut v.1);
    /// *second = 20;
    /// drop(second);
    /// assert_eq!(*mutex.try_lock().unwrap(), ((1, 20), 3));
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let this = ManuallyDrop::new(this);
        let ptr = this.data;
        // SAFETY: the guard's permit (moved to the new guard) grants exclusive access to
        // `*data` for `'a`; `this` is not used for access again.
        let data = f(unsafe { &mut *ptr }) as *mut U;
        MappedMutexGuard {
            s: this.s,
            data,
            _marker: PhantomData,
        }
    }

    /// Like [`map`](MappedMutexGuard::map), but `f` may decline (`None`), which gives the
    /// original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{MappedMutexGuard, Mutex, MutexGuard};
    ///
    /// let mutex = Mutex::new((vec![1], 0));
    /// let list = MutexGuard::map(mutex.try_lock().unwrap(), |v| &mut v.0);
    /// let list = MappedMutexGuard::try_map(list, |l| l.get_mut(5)).unwrap_err();
    /// assert_eq!(*list, [1]);
    /// ```
    pub fn try_map<U, F>(this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        // SAFETY: the guard's permit grants exclusive access to `*data`; the reference ends
        // before `this` is used again.
        match f(unsafe { &mut *this.data }).map(|u| u as *mut U) {
            Some(data) => {
                let this = ManuallyDrop::new(this);
                Ok(MappedMutexGuard {
                    s: this.s,
                    data,
                    _marker: PhantomData,
                })
            }
            None => Err(this),
        }
    }
}

impl<T> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<T> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the permit, which grants exclusive access to `*data`.
        unsafe { &*self.data }
    }
}

impl<T> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the permit, which grants exclusive access to `*data`.
        unsafe { &mut *self.data }
    }
}

impl<T: fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T, U> OwnedMappedMutexGuard<T, U> {
    /// Narrows the guarded place further.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new(((1, 2), 3)));
    /// let inner = OwnedMutexGuard::map(mutex.clone().try_lock_owned().unwrap(), |v| &mut v.0);
    /// let mut first = OwnedMappedMutexGuard::map(inner, |v| &mut v.0);
    /// *first = 10;
    /// drop(first);
    /// assert_eq!(*mutex.try_lock().unwrap(), ((10, 2), 3));
    /// ```
    pub fn map<S, F>(this: Self, f: F) -> OwnedMappedMutexGuard<T, S>
    where
        F: FnOnce(&mut U) -> &mut S,
    {
        // SAFETY: the guard's permit (moved to the new guard) grants exclusive access to
        // `*data` while the lock `Arc` lives.
        let data = f(unsafe { &mut *this.data }) as *mut S;
        OwnedMappedMutexGuard {
            data,
            lock: Self::into_lock(this),
        }
    }

    /// Like [`map`](OwnedMappedMutexGuard::map), but `f` may decline (`None`), which gives
    /// the original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard};
    /// use std::sync::Arc;
    ///
    /// let mutex = Arc::new(Mutex::new((None::<i32>, 0)));
    /// let opt = OwnedMutexGuard::map(mutex.clone().try_lock_owned().unwrap(), |v| &mut v.0);
    /// assert!(OwnedMappedMutexGuard::try_map(opt, Option::as_mut).is_err());
    /// ```
    pub fn try_map<S, F>(this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, S>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut S>,
    {
        // SAFETY: the guard's permit grants exclusive access to `*data`; the reference ends
        // before `this` is used again.
        match f(unsafe { &mut *this.data }).map(|s| s as *mut S) {
            Some(data) => Ok(OwnedMappedMutexGuard {
                data,
                lock: Self::into_lock(this),
            }),
            None => Err(this),
        }
    }

    /// Takes the `Arc` out of the guard without releasing the permit (the caller now owns it).
    fn into_lock(this: Self) -> Arc<Mutex<T>> {
        let this = ManuallyDrop::new(this);
        // SAFETY: `this` is never used or dropped again, so the `Arc` is moved out once.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T, U> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T, U> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds the permit, which grants exclusive access to `*data`.
        unsafe { &*self.data }
    }
}

impl<T, U> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: the guard holds the permit, which grants exclusive access to `*data`.
        unsafe { &mut *self.data }
    }
}

impl<T, U: fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T, U: fmt::Display> fmt::Display for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    use crate::test_util::block_on;

    /// Lock/unlock handoff between two threads: the value (a loom-checked cell) is never
    /// accessed by both at once, the queued locker is always woken, and both updates land.
    #[test]
    fn lock_unlock_handoff() {
        crate::loom::model(|| {
            let mutex = loom::sync::Arc::new(Mutex::new(0));
            let other = {
                let mutex = mutex.clone();
                thread::spawn(move || *block_on(mutex.lock()) += 1)
            };
            *block_on(mutex.lock()) += 1;
            other.join().unwrap();
            assert_eq!(*mutex.try_lock().unwrap(), 2);
        });
    }
}
