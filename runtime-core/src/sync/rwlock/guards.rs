//! The borrowed guards of [`RwLock`](super::RwLock): [`RwLockReadGuard`] (one permit),
//! [`RwLockWriteGuard`] and [`RwLockMappedWriteGuard`] (all `max_readers` permits). Each
//! holds its permits and a pointer into the value that those permits make valid; dropping the
//! guard releases the permits.

use super::super::batch_semaphore as ll;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};

/// Shared access to the value of a [`RwLock`](super::RwLock) (or a part of it, after
/// [`map`](RwLockReadGuard::map)), released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// let lock = RwLock::new(1);
/// let guard = lock.try_read().unwrap();
/// assert_eq!(*guard, 1);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockReadGuard<'a, T> {
    s: &'a ll::Semaphore,
    data: *const T,
    _marker: PhantomData<&'a T>,
}

/// Exclusive access to the value of a [`RwLock`](super::RwLock), released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::RwLock;
///
/// let lock = RwLock::new(1);
/// *lock.try_write().unwrap() += 1;
/// assert_eq!(*lock.try_read().unwrap(), 2);
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockWriteGuard<'a, T> {
    s: &'a ll::Semaphore,
    permits: u32,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

/// Exclusive access to a part of a write-locked [`RwLock`](super::RwLock)'s value, made by
/// [`RwLockWriteGuard::map`]; released on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::{RwLock, RwLockWriteGuard};
///
/// let lock = RwLock::new((1, 2));
/// *RwLockWriteGuard::map(lock.try_write().unwrap(), |v| &mut v.1) = 3;
/// assert_eq!(*lock.try_read().unwrap(), (1, 3));
/// ```
#[must_use = "if unused the RwLock will immediately unlock"]
#[clippy::has_significant_drop]
pub struct RwLockMappedWriteGuard<'a, T> {
    s: &'a ll::Semaphore,
    permits: u32,
    data: *mut T,
    _marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard only hands out `&T`, valid while its permit is held; moving it to
// another thread shares `T` with the readers left behind, so `T: Sync`.
unsafe impl<T: Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: sharing the guard hands out `&T` to several threads (as Tokio: `T: Send + Sync`).
unsafe impl<T: Send + Sync> Sync for RwLockReadGuard<'_, T> {}
// SAFETY: the guard owns exclusive access to `T`; moving it moves `&mut T` across threads.
unsafe impl<T: Send + Sync> Send for RwLockWriteGuard<'_, T> {}
// SAFETY: sharing the guard hands out `&T` only.
unsafe impl<T: Send + Sync> Sync for RwLockWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: Send + Sync> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: as for `RwLockWriteGuard`.
unsafe impl<T: Send + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

impl<'a, T> RwLockReadGuard<'a, T> {
    /// A guard for one read permit of `s`, already acquired, reading `*data`.
    pub(super) fn new(s: &'a ll::Semaphore, data: *const T) -> Self {
        RwLockReadGuard {
            s,
            data,
            _marker: PhantomData,
        }
    }

    /// Makes a read guard for a part of the value; the read lock stays held until the new
    /// guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new((1, 2));
    /// let second = RwLockReadGuard::map(lock.try_read().unwrap(), |v| &v.1);
    /// assert_eq!(*second, 2);
    /// ```
    pub fn map<U, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let this = ManuallyDrop::new(this);
        let data = f(&**this) as *const U;
        RwLockReadGuard::new(this.s, data)
    }

    /// Like [`map`](RwLockReadGuard::map), but `f` may decline (`None`), which gives the
    /// original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new(vec![1]);
    /// assert!(RwLockReadGuard::try_map(lock.try_read().unwrap(), |v| v.get(3)).is_err());
    /// ```
    pub fn try_map<U, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        match f(&*this).map(|u| u as *const U) {
            Some(data) => {
                let this = ManuallyDrop::new(this);
                Ok(RwLockReadGuard::new(this.s, data))
            }
            None => Err(this),
        }
    }
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds a read permit, so no writer exists while it lives.
        unsafe { &*self.data }
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(1);
    }
}

impl<'a, T> RwLockWriteGuard<'a, T> {
    /// A guard for `permits` (all) permits of `s`, already acquired, over `*data`.
    pub(super) fn new(s: &'a ll::Semaphore, permits: u32, data: *mut T) -> Self {
        RwLockWriteGuard {
            s,
            permits,
            data,
            _marker: PhantomData,
        }
    }

    /// Makes a write guard for a part of the value; the write lock stays held until the new
    /// guard is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new((1, 2));
    /// *RwLockWriteGuard::map(lock.try_write().unwrap(), |v| &mut v.0) = 5;
    /// assert_eq!(*lock.try_read().unwrap(), (5, 2));
    /// ```
    pub fn map<U, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        let this = ManuallyDrop::new(this);
        RwLockMappedWriteGuard {
            s: this.s,
            permits: this.permits,
            data,
            _marker: PhantomData,
        }
    }

    /// Like [`map`](RwLockWriteGuard::map), but `f` may decline (`None`), which gives the
    /// original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(Some(1));
    /// *RwLockWriteGuard::try_map(lock.try_write().unwrap(), Option::as_mut).unwrap() = 2;
    /// assert_eq!(*lock.try_read().unwrap(), Some(2));
    /// ```
    pub fn try_map<U, F>(mut this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        match f(&mut *this).map(|u| u as *mut U) {
            Some(data) => {
                let this = ManuallyDrop::new(this);
                Ok(RwLockMappedWriteGuard {
                    s: this.s,
                    permits: this.permits,
                    data,
                    _marker: PhantomData,
                })
            }
            None => Err(this),
        }
    }

    /// Turns the write lock into a read lock without letting a writer in between; readers
    /// queued behind may then proceed.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(1);
    /// let mut w = lock.try_write().unwrap();
    /// *w = 2;
    /// let r = w.downgrade();
    /// assert_eq!(*lock.try_read().unwrap(), 2); // other readers get in
    /// assert_eq!(*r, 2);
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let this = ManuallyDrop::new(self);
        // Keep one permit for the read guard; the rest go to the queue first.
        this.s.release(this.permits as usize - 1);
        RwLockReadGuard::new(this.s, this.data)
    }

    /// Downgrades to a read lock on a part of the value (see
    /// [`downgrade`](RwLockWriteGuard::downgrade)).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new((1, 2));
    /// let r = RwLockWriteGuard::downgrade_map(lock.try_write().unwrap(), |v| &v.1);
    /// assert_eq!(*r, 2);
    /// ```
    pub fn downgrade_map<U, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data = f(&*this) as *const U;
        let this = ManuallyDrop::new(this);
        this.s.release(this.permits as usize - 1);
        RwLockReadGuard::new(this.s, data)
    }

    /// Like [`downgrade_map`](RwLockWriteGuard::downgrade_map), but `f` may decline
    /// (`None`), which gives the write guard back unchanged.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(vec![1]);
    /// let r = RwLockWriteGuard::try_downgrade_map(lock.try_write().unwrap(), |v| v.first());
    /// assert_eq!(*r.unwrap(), 1);
    /// ```
    pub fn try_downgrade_map<U, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        match f(&*this).map(|u| u as *const U) {
            Some(data) => {
                let this = ManuallyDrop::new(this);
                this.s.release(this.permits as usize - 1);
                Ok(RwLockReadGuard::new(this.s, data))
            }
            None => Err(this),
        }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit: nobody else accesses the value.
        unsafe { &*self.data }
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit, and `&mut self` makes this reference unique.
        unsafe { &mut *self.data }
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits as usize);
    }
}

impl<'a, T> RwLockMappedWriteGuard<'a, T> {
    /// Narrows the guarded place further.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockMappedWriteGuard, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(((1, 2), 3));
    /// let inner = RwLockWriteGuard::map(lock.try_write().unwrap(), |v| &mut v.0);
    /// *RwLockMappedWriteGuard::map(inner, |v| &mut v.1) = 9;
    /// assert_eq!(*lock.try_read().unwrap(), ((1, 9), 3));
    /// ```
    pub fn map<U, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data = f(&mut *this) as *mut U;
        let this = ManuallyDrop::new(this);
        RwLockMappedWriteGuard {
            s: this.s,
            permits: this.permits,
            data,
            _marker: PhantomData,
        }
    }

    /// Like [`map`](RwLockMappedWriteGuard::map), but `f` may decline (`None`), which gives
    /// the original guard back.
    ///
    /// # Errors
    ///
    /// The original guard, if `f` returned `None`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{RwLock, RwLockMappedWriteGuard, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new((vec![1], 0));
    /// let list = RwLockWriteGuard::map(lock.try_write().unwrap(), |v| &mut v.0);
    /// assert!(RwLockMappedWriteGuard::try_map(list, |l| l.get_mut(4)).is_err());
    /// ```
    pub fn try_map<U, F>(mut this: Self, f: F) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        match f(&mut *this).map(|u| u as *mut U) {
            Some(data) => {
                let this = ManuallyDrop::new(this);
                Ok(RwLockMappedWriteGuard {
                    s: this.s,
                    permits: this.permits,
                    data,
                    _marker: PhantomData,
                })
            }
            None => Err(this),
        }
    }
}

impl<T> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit: nobody else accesses the value.
        unsafe { &*self.data }
    }
}

impl<T> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds every permit, and `&mut self` makes this reference unique.
        unsafe { &mut *self.data }
    }
}

impl<T> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.s.release(self.permits as usize);
    }
}

macro_rules! fmt_via_deref {
    ($($guard:ident),*) => {$(
        impl<T: fmt::Debug> fmt::Debug for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&**self, f)
            }
        }

        impl<T: fmt::Display> fmt::Display for $guard<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&**self, f)
            }
        }
    )*};
}

fmt_via_deref!(RwLockReadGuard, RwLockWriteGuard, RwLockMappedWriteGuard);
