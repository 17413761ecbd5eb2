//! The owned guards of [`RwLock`]: like the borrowed ones in [`guards`](super::guards) but
//! holding the lock's [`Arc`], so they are `'static` and can move into spawned tasks.

use super::RwLock;
use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// Shared access to (a part of) the value of a [`RwLock`] held in an [`Arc`], released on
/// drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
/// use std::sync::Arc;
///
/// let lock = Arc::new(RwLock::new(1));
/// let guard = lock.try_read_owned().unwrap();
/// assert_eq!(*guard, 1);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockReadGuard<T, U = T> {
    lock: Arc<RwLock<T>>,
    data: *const U,
}

/// Exclusive access to the value of a [`RwLock`] held in an [`Arc`], released on drop.
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
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockWriteGuard<T> {
    lock: Arc<RwLock<T>>,
    data: *mut T,
}

/// Exclusive access to a part of the value of a write-locked [`RwLock`] held in an [`Arc`],
/// made by [`OwnedRwLockWriteGuard::map`]; released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::{OwnedRwLockWriteGuard, RwLock};
/// use std::sync::Arc;
///
/// let lock = Arc::new(RwLock::new((1, 2)));
/// *OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |v| &mut v.0) = 3;
/// assert_eq!(*lock.try_read().unwrap(), (3, 2));
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockMappedWriteGuard<T, U = T> {
    lock: Arc<RwLock<T>>,
    data: *mut U,
}

// SAFETY: the guard hands out `&U` only (`U: Sync`), and may drop the last `Arc` of the lock
// (and so `T`) on another thread (`T: Send + Sync`, as Tokio).
unsafe impl<T: Send + Sync, U: Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: sharing the guard hands out `&U` to several threads.
unsafe impl<T: Send + Sync, U: Send + Sync> Sync for OwnedRwLockReadGuard<T, U> {}
// SAFETY: the guard owns exclusive access to `T`; moving it moves `&mut T` across threads.
unsafe impl<T: Send + Sync> Send for OwnedRwLockWriteGuard<T> {}
// SAFETY: sharing the guard hands out `&T` only.
unsafe impl<T: Send + Sync> Sync for OwnedRwLockWriteGuard<T> {}
// SAFETY: as for `OwnedRwLockWriteGuard`, for both the lock's `T` and the mapped `U`.
unsafe impl<T: Send + Sync, U: Send + Sync> Send for OwnedRwLockMappedWriteGuard<T, U> {}
// SAFETY: as for `OwnedRwLockWriteGuard`.
unsafe impl<T: Send + Sync, U: Send + Sync> Sync for OwnedRwLockMappedWriteGuard<T, U> {}

/// Moves the `Arc` out of a guard without running its `Drop` (the permits move with it).
macro_rules! take_lock {
    ($guard:expr) => {{
        let guard = ManuallyDrop::new($guard);
        // SAFETY: `guard` is never used or dropped again, so the `Arc` is moved out once.
        unsafe { std::ptr::read(&guard.lock) }
    }};
}

impl<T, U> OwnedRwLockReadGuard<T, U> {
    /// A guard for one read permit of `lock`, already acquired, reading `*data`.
    pub(super) fn new(lock: Arc<RwLock<T>>, data: *const U) -> Self {
        OwnedRwLockReadGuard { lock, data }
    }

    /// Makes a read guard for a part of the value; the read lock stays held until the new
    /// guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockReadGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let second = OwnedRwLockReadGuard::map(lock.try_read_owned().unwrap(), |v| &v.1);
    /// assert_eq!(*second, 2);
    /// ```
    pub fn map<V, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        let data = f(&*this) as *const V;
        OwnedRwLockReadGuard {
            lock: take_lock!(this),
            data,
        }
    }

    /// Like [`map`](OwnedRwLockReadGuard::map), but `f` may decline (`None`), which gives
    /// the original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockReadGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(vec![1]));
    /// let first = OwnedRwLockReadGuard::try_map(lock.try_read_owned().unwrap(), |v| v.first());
    /// assert_eq!(*first.unwrap(), 1);
    /// ```
    pub fn try_map<V, F>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        match f(&*this).map(|v| v as *const V) {
            Some(data) => Ok(OwnedRwLockReadGuard {
                lock: take_lock!(this),
                data,
            }),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockReadGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let guard = lock.clone().try_read_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&guard), &lock));
    /// ```
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T, U> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds a read permit, so no writer exists while it lives.
        unsafe { &*self.data }
    }
}

impl<T, U> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(1);
    }
}

impl<T> OwnedRwLockWriteGuard<T> {
    /// A guard for all permits of `lock`, already acquired, over `*data`.
    pub(super) fn new(lock: Arc<RwLock<T>>, data: *mut T) -> Self {
        OwnedRwLockWriteGuard { lock, data }
    }

    /// Makes a write guard for a part of the value; the write lock stays held until the new
    /// guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// *OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |v| &mut v.1) = 5;
    /// assert_eq!(*lock.try_read().unwrap(), (1, 5));
    /// ```
    pub fn map<U, F>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        OwnedRwLockMappedWriteGuard {
            lock: take_lock!(this),
            data,
        }
    }

    /// Like [`map`](OwnedRwLockWriteGuard::map), but `f` may decline (`None`), which gives
    /// the original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(None::<i32>));
    /// let guard = lock.try_write_owned().unwrap();
    /// assert!(OwnedRwLockWriteGuard::try_map(guard, Option::as_mut).is_err());
    /// ```
    pub fn try_map<U, F>(mut this: Self, f: F) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        match f(&mut *this).map(|u| u as *mut U) {
            Some(data) => Ok(OwnedRwLockMappedWriteGuard {
                lock: take_lock!(this),
                data,
            }),
            None => Err(this),
        }
    }

    /// Turns the write lock into a read lock without letting a writer in between.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::RwLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let r = lock.clone().try_write_owned().unwrap().downgrade();
    /// assert_eq!(*lock.try_read().unwrap(), 1);
    /// drop(r);
    /// ```
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let data = self.data as *const T;
        let lock = take_lock!(self);
        lock.s.release(lock.mr as usize - 1);
        OwnedRwLockReadGuard::new(lock, data)
    }

    /// Downgrades to a read lock on a part of the value.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let w = lock.try_write_owned().unwrap();
    /// assert_eq!(*OwnedRwLockWriteGuard::downgrade_map(w, |v| &v.0), 1);
    /// ```
    pub fn downgrade_map<U, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = f(&*this) as *const U;
        let lock = take_lock!(this);
        lock.s.release(lock.mr as usize - 1);
        OwnedRwLockReadGuard::new(lock, data)
    }

    /// Like [`downgrade_map`](OwnedRwLockWriteGuard::downgrade_map), but `f` may decline
    /// (`None`), which gives the write guard back unchanged.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(vec![3]));
    /// let w = lock.try_write_owned().unwrap();
    /// assert_eq!(*OwnedRwLockWriteGuard::try_downgrade_map(w, |v| v.first()).unwrap(), 3);
    /// ```
    pub fn try_downgrade_map<U, F>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        match f(&*this).map(|u| u as *const U) {
            Some(data) => {
                let lock = take_lock!(this);
                lock.s.release(lock.mr as usize - 1);
                Ok(OwnedRwLockReadGuard::new(lock, data))
            }
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let guard = lock.clone().try_write_owned().unwrap();
    /// assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&guard), &lock));
    /// ```
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit: nobody else accesses the value.
        unsafe { &*self.data }
    }
}

impl<T> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit, and `&mut self` makes this reference unique.
        unsafe { &mut *self.data }
    }
}

impl<T> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.s.release(self.lock.mr as usize);
    }
}

impl<T, U> OwnedRwLockMappedWriteGuard<T, U> {
    /// Narrows the guarded place further.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockMappedWriteGuard, OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new(((1, 2), 3)));
    /// let inner = OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |v| &mut v.0);
    /// *OwnedRwLockMappedWriteGuard::map(inner, |v| &mut v.0) = 7;
    /// assert_eq!(*lock.try_read().unwrap(), ((7, 2), 3));
    /// ```
    pub fn map<V, F>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let data = f(&mut *this) as *mut V;
        OwnedRwLockMappedWriteGuard {
            lock: take_lock!(this),
            data,
        }
    }

    /// Like [`map`](OwnedRwLockMappedWriteGuard::map), but `f` may decline (`None`), which
    /// gives the original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockMappedWriteGuard, OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new((vec![1], 0)));
    /// let list = OwnedRwLockWriteGuard::map(lock.try_write_owned().unwrap(), |v| &mut v.0);
    /// assert!(OwnedRwLockMappedWriteGuard::try_map(list, |l| l.get_mut(2)).is_err());
    /// ```
    pub fn try_map<V, F>(mut this: Self, f: F) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        match f(&mut *this).map(|v| v as *mut V) {
            Some(data) => Ok(OwnedRwLockMappedWriteGuard {
                lock: take_lock!(this),
                data,
            }),
            None => Err(this),
        }
    }

    /// The lock this guard holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{OwnedRwLockMappedWriteGuard, OwnedRwLockWriteGuard, RwLock};
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RwLock::new((1, 2)));
    /// let g = OwnedRwLockWriteGuard::map(lock.clone().try_write_owned().unwrap(), |v| &mut v.0);
    /// assert!(Arc::ptr_eq(OwnedRwLockMappedWriteGuard::rwlock(&g), &lock));
    /// ```
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }
}

impl<T, U> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds every permit: nobody else accesses the value.
        unsafe { &*self.data }
    }
}

impl<T, U> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: the guard holds every permit, and `&mut self` makes this reference unique.
        unsafe { &mut *self.data }
    }
}

impl<T, U> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.s.release(self.lock.mr as usize);
    }
}

impl<T, U: fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T, U: fmt::Display> fmt::Display for OwnedRwLockReadGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Display> fmt::Display for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

impl<T, U: fmt::Debug> fmt::Debug for OwnedRwLockMappedWriteGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T, U: fmt::Display> fmt::Display for OwnedRwLockMappedWriteGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}
