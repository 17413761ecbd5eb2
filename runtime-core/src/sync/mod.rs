//! Async synchronization primitives, re-exported as `runtime::sync`.
//!
//! They work with any executor's wakers (no dependency on this crate's schedulers) and spend
//! cooperative budget where a Tokio user would expect it (receives, acquires).

mod barrier;
mod batch_semaphore;
mod lock_util;
mod mutex;
mod notify;
mod once_cell;

pub mod oneshot;
mod rwlock;

mod semaphore;

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
