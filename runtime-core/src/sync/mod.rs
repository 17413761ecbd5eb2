//! Async synchronization primitives, re-exported as `runtime::sync`.
//!
//! They work with any executor's wakers (no dependency on this crate's schedulers) and spend
//! cooperative budget where a Tokio user would expect it (receives, acquires).
//!
//! Channels: [`oneshot`], [`mpsc`], [`broadcast`], [`watch`]. Locks and coordination, all
//! fair (FIFO) and built on one internal semaphore (`batch_semaphore`): [`Semaphore`],
//! [`Mutex`], [`RwLock`], [`OnceCell`]; plus [`Notify`] and [`Barrier`].

mod barrier;
mod batch_semaphore;
pub mod broadcast;
mod lock_util;
pub mod mpsc;
mod mutex;
mod notify;
mod once_cell;
pub mod oneshot;
mod rwlock;
mod semaphore;
pub mod watch;

pub use barrier::{Barrier, BarrierWaitResult};
pub use batch_semaphore::{AcquireError, TryAcquireError};
pub use mutex::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMappedMutexGuard, OwnedMutexGuard, TryLockError,
};
pub use notify::*;
pub use once_cell::{OnceCell, SetError};
pub use rwlock::{
    OwnedRwLockMappedWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard,
};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
