//! [`Semaphore`]: the public counting semaphore, with borrowed ([`SemaphorePermit`]) and
//! `Arc`-owned ([`OwnedSemaphorePermit`]) permits that return themselves on drop.
//!
//! All the waiting, fairness and cancellation logic lives in the internal
//! [`batch_semaphore`](super::batch_semaphore); this module only converts permit counts and
//! ties permits to guards.

use super::batch_semaphore::{self as ll, AcquireError, TryAcquireError};
use std::fmt;
use std::sync::Arc;

/// A counting semaphore performing asynchronous permit acquisition.
///
/// A semaphore holds a number of permits; [`acquire`](Semaphore::acquire) waits until one is
/// available and returns it as a [`SemaphorePermit`], which gives it back when dropped.
///
/// The semaphore is fair: permits are handed out in the order they were requested (first
/// in, first out). A task asking for many permits at the front of the queue holds back the
/// tasks behind it, even if they ask for fewer permits than are available, until its own
/// request can be met. While anyone is queued, [`try_acquire`](Semaphore::try_acquire) fails.
///
/// Acquiring spends one unit of the task's cooperative budget. An uncontended acquire or
/// release is a single atomic compare-and-swap.
///
/// # Examples
///
/// ```
/// use runtime::sync::{Semaphore, TryAcquireError};
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let semaphore = Semaphore::new(3);
///
///     let a_permit = semaphore.acquire().await.unwrap();
///     let two_permits = semaphore.acquire_many(2).await.unwrap();
///
///     assert_eq!(semaphore.available_permits(), 0);
///     assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::NoPermits));
///     drop(a_permit);
///     assert_eq!(semaphore.available_permits(), 1);
///     drop(two_permits);
/// });
/// ```
///
/// Limiting concurrency with owned permits:
///
/// ```
/// use runtime::sync::Semaphore;
/// use std::sync::Arc;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let semaphore = Arc::new(Semaphore::new(2));
///     let mut handles = Vec::new();
///     for i in 0..6 {
///         let permit = semaphore.clone().acquire_owned().await.unwrap();
///         handles.push(runtime::spawn(async move {
///             let _permit = permit; // released when the task ends
///             i * 2
///         }));
///     }
///     for handle in handles {
///         handle.await.unwrap();
///     }
/// });
/// ```
pub struct Semaphore {
    ll_sem: ll::Semaphore,
}

/// A permit (or several) acquired from a [`Semaphore`], returned to it on drop.
///
/// # Examples
///
/// ```
/// use runtime::sync::Semaphore;
///
/// let semaphore = Semaphore::new(1);
/// {
///     let permit = semaphore.try_acquire().unwrap();
///     assert_eq!(permit.num_permits(), 1);
///     assert_eq!(semaphore.available_permits(), 0);
/// }
/// assert_eq!(semaphore.available_permits(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
#[clippy::has_significant_drop]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

/// An owned permit (or several) from a [`Semaphore`] held in an [`Arc`], returned to it on
/// drop. It can be moved into a spawned task.
///
/// # Examples
///
/// ```
/// use runtime::sync::Semaphore;
/// use std::sync::Arc;
///
/// let semaphore = Arc::new(Semaphore::new(1));
/// let permit = semaphore.clone().try_acquire_owned().unwrap();
/// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
/// drop(permit);
/// assert_eq!(semaphore.available_permits(), 1);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl Semaphore {
    /// The maximum number of permits a semaphore can hold: `usize::MAX >> 3`.
    ///
    /// [`Semaphore::new`] and [`Semaphore::add_permits`] panic beyond it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(Semaphore::MAX_PERMITS);
    /// assert_eq!(semaphore.available_permits(), usize::MAX >> 3);
    /// ```
    pub const MAX_PERMITS: usize = ll::MAX_PERMITS;

    /// Creates a semaphore with `permits` permits.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(5);
    /// assert_eq!(semaphore.available_permits(), 5);
    /// ```
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            ll_sem: ll::Semaphore::new(permits),
        }
    }

    /// Creates a semaphore with `permits` permits, in a `const` context.
    ///
    /// # Panics
    ///
    /// If `permits` exceeds [`Semaphore::MAX_PERMITS`].
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// static SEM: Semaphore = Semaphore::const_new(10);
    /// assert_eq!(SEM.available_permits(), 10);
    /// ```
    #[cfg(not(loom))]
    #[track_caller]
    pub const fn const_new(permits: usize) -> Semaphore {
        Semaphore {
            ll_sem: ll::Semaphore::const_new(permits),
        }
    }

    /// The number of permits available right now (0 while tasks are queued).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(2);
    /// let _permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.available_permits(), 1);
    /// ```
    pub fn available_permits(&self) -> usize {
        self.ll_sem.available_permits()
    }

    /// Adds `n` permits, waking queued tasks whose requests can now be met (oldest first).
    ///
    /// # Panics
    ///
    /// If the semaphore would then hold more than [`Semaphore::MAX_PERMITS`] permits.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(0);
    /// semaphore.add_permits(3);
    /// assert_eq!(semaphore.available_permits(), 3);
    /// ```
    #[track_caller]
    pub fn add_permits(&self, n: usize) {
        self.ll_sem.release(n);
    }

    /// Removes up to `n` available permits without waiting; returns how many were removed.
    ///
    /// Permits held by others are not affected.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(5);
    /// let _permit = semaphore.try_acquire_many(2).unwrap();
    /// assert_eq!(semaphore.forget_permits(10), 3);
    /// assert_eq!(semaphore.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        self.ll_sem.forget_permits(n)
    }

    /// Acquires one permit, waiting (in FIFO order) until one is available.
    ///
    /// Fails with [`AcquireError`] if the semaphore is closed, or closes while waiting.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order they were
    /// requested. Cancelling a call to `acquire` makes you lose your place in the queue; no
    /// permit is lost: any permit already assigned to the cancelled call goes to the next
    /// waiter (or back to the semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let semaphore = Semaphore::new(2);
    ///     let permit_1 = semaphore.acquire().await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 1);
    ///     let permit_2 = semaphore.acquire().await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 0);
    ///     drop(permit_1);
    ///     assert_eq!(semaphore.available_permits(), 1);
    ///     drop(permit_2);
    /// });
    /// ```
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.ll_sem.acquire(1).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Acquires `n` permits at once, waiting (in FIFO order) until they are available.
    ///
    /// While this call is at the head of the queue, no later caller gets a permit, however
    /// few it asks for. `n == 0` succeeds at once unless the semaphore is closed.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order they were
    /// requested. Cancelling a call to `acquire_many` makes you lose your place in the queue;
    /// the permits already assigned to it go to the next waiter (or back to the semaphore).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let semaphore = Semaphore::new(5);
    ///     let permit = semaphore.acquire_many(3).await.unwrap();
    ///     assert_eq!(permit.num_permits(), 3);
    ///     assert_eq!(semaphore.available_permits(), 2);
    /// });
    /// ```
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.ll_sem.acquire(n as usize).await?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Takes one permit if one is available and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] if the semaphore is closed, otherwise
    /// [`TryAcquireError::NoPermits`] if no permit can be taken now.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(1);
    /// let permit = semaphore.try_acquire().unwrap();
    /// assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::NoPermits));
    /// drop(permit);
    /// assert!(semaphore.try_acquire().is_ok());
    /// ```
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.ll_sem.try_acquire(1)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Takes `n` permits if they are available and nobody is queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] if the semaphore is closed, otherwise
    /// [`TryAcquireError::NoPermits`] if the permits cannot be taken now.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Semaphore, TryAcquireError};
    ///
    /// let semaphore = Semaphore::new(4);
    /// let permit = semaphore.try_acquire_many(3).unwrap();
    /// assert_eq!(semaphore.try_acquire_many(2).err(), Some(TryAcquireError::NoPermits));
    /// drop(permit);
    /// ```
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.ll_sem.try_acquire(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Acquires one permit from a semaphore held in an `Arc`, waiting (in FIFO order) until
    /// one is available. The permit owns the `Arc`, so it can outlive the borrow.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order they were
    /// requested. Cancelling a call to `acquire_owned` makes you lose your place in the
    /// queue; no permit is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let semaphore = Arc::new(Semaphore::new(1));
    ///     let permit = semaphore.clone().acquire_owned().await.unwrap();
    ///     let task = runtime::spawn(async move {
    ///         let _permit = permit;
    ///     });
    ///     task.await.unwrap();
    ///     assert_eq!(semaphore.available_permits(), 1);
    /// });
    /// ```
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.ll_sem.acquire(1).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Acquires `n` permits from a semaphore held in an `Arc`, waiting (in FIFO order)
    /// until they are available.
    ///
    /// # Cancel safety
    ///
    /// This method uses a queue to fairly distribute permits in the order they were
    /// requested. Cancelling a call to `acquire_many_owned` makes you lose your place in the
    /// queue; the permits already assigned to it go to the next waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let semaphore = Arc::new(Semaphore::new(10));
    ///     let permit = semaphore.clone().acquire_many_owned(10).await.unwrap();
    ///     assert_eq!(permit.num_permits(), 10);
    /// });
    /// ```
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.ll_sem.acquire(n as usize).await?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Takes one permit from a semaphore held in an `Arc`, if one is available and nobody is
    /// queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] or [`TryAcquireError::NoPermits`], as
    /// [`try_acquire`](Semaphore::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert!(semaphore.clone().try_acquire_owned().is_err());
    /// drop(permit);
    /// ```
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.ll_sem.try_acquire(1)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: 1,
        })
    }

    /// Takes `n` permits from a semaphore held in an `Arc`, if they are available and nobody
    /// is queued.
    ///
    /// # Errors
    ///
    /// [`TryAcquireError::Closed`] or [`TryAcquireError::NoPermits`], as
    /// [`try_acquire_many`](Semaphore::try_acquire_many).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(3));
    /// let permit = semaphore.clone().try_acquire_many_owned(3).unwrap();
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.ll_sem.try_acquire(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n as usize,
        })
    }

    /// Closes the semaphore: every queued acquire fails with [`AcquireError`], and so does
    /// every later acquire (`try_acquire*` with [`TryAcquireError::Closed`]). Permits already
    /// held stay valid and are still returned on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::{Semaphore, TryAcquireError};
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let semaphore = Arc::new(Semaphore::new(1));
    ///     let permit = semaphore.clone().acquire_owned().await.unwrap();
    ///
    ///     let waiter = runtime::spawn({
    ///         let semaphore = semaphore.clone();
    ///         async move { semaphore.acquire().await.is_err() }
    ///     });
    ///     semaphore.close();
    ///     assert!(waiter.await.unwrap(), "the waiter saw the close");
    ///     assert_eq!(semaphore.try_acquire().err(), Some(TryAcquireError::Closed));
    ///     drop(permit);
    /// });
    /// ```
    pub fn close(&self) {
        self.ll_sem.close();
    }

    /// Whether [`close`](Semaphore::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(1);
    /// assert!(!semaphore.is_closed());
    /// semaphore.close();
    /// assert!(semaphore.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.ll_sem.is_closed()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("ll_sem", &self.ll_sem)
            .finish()
    }
}

impl<'a> SemaphorePermit<'a> {
    /// Forgets the permits: they are not returned to the semaphore on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(10);
    /// semaphore.try_acquire_many(5).unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 5);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// The number of permits held.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(10);
    /// assert_eq!(semaphore.try_acquire_many(4).unwrap().num_permits(), 4);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves the permits of `other` into this one.
    ///
    /// # Panics
    ///
    /// If the permits come from different semaphores.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// let mut permit = semaphore.try_acquire().unwrap();
    /// permit.merge(semaphore.try_acquire_many(2).unwrap());
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "merging SemaphorePermits from different semaphores; merge only permits acquired \
             from the same semaphore"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit; `None` (and no change) if this one holds
    /// fewer than `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    ///
    /// let semaphore = Semaphore::new(3);
    /// let mut permit = semaphore.try_acquire_many(3).unwrap();
    /// let split = permit.split(1).unwrap();
    /// assert_eq!((permit.num_permits(), split.num_permits()), (2, 1));
    /// assert!(permit.split(5).is_none());
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(SemaphorePermit {
            sem: self.sem,
            permits: n,
        })
    }
}

impl OwnedSemaphorePermit {
    /// Forgets the permits: they are not returned to the semaphore on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(10));
    /// semaphore.clone().try_acquire_many_owned(5).unwrap().forget();
    /// assert_eq!(semaphore.available_permits(), 5);
    /// ```
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// The number of permits held.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(10));
    /// let permit = semaphore.try_acquire_many_owned(4).unwrap();
    /// assert_eq!(permit.num_permits(), 4);
    /// ```
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Moves the permits of `other` into this one.
    ///
    /// # Panics
    ///
    /// If the permits come from different semaphores.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(3));
    /// let mut permit = semaphore.clone().try_acquire_owned().unwrap();
    /// permit.merge(semaphore.clone().try_acquire_many_owned(2).unwrap());
    /// assert_eq!(permit.num_permits(), 3);
    /// ```
    #[track_caller]
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "merging OwnedSemaphorePermits from different semaphores; merge only permits \
             acquired from the same semaphore"
        );
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit; `None` (and no change) if this one holds
    /// fewer than `n`.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(3));
    /// let mut permit = semaphore.try_acquire_many_owned(3).unwrap();
    /// let split = permit.split(2).unwrap();
    /// assert_eq!((permit.num_permits(), split.num_permits()), (1, 2));
    /// ```
    pub fn split(&mut self, n: usize) -> Option<Self> {
        if n > self.permits {
            return None;
        }
        self.permits -= n;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            permits: n,
        })
    }

    /// The semaphore the permits belong to.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Semaphore;
    /// use std::sync::Arc;
    ///
    /// let semaphore = Arc::new(Semaphore::new(1));
    /// let permit = semaphore.clone().try_acquire_owned().unwrap();
    /// assert!(Arc::ptr_eq(permit.semaphore(), &semaphore));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("sem", &self.sem)
            .field("permits", &self.permits)
            .finish()
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("sem", &self.sem)
            .field("permits", &self.permits)
            .finish()
    }
}
