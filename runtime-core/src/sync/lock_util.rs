//! Small helpers shared by the locks built on the batch semaphore ([`Mutex`](super::Mutex),
//! [`RwLock`](super::RwLock), [`OnceCell`](super::OnceCell)): moving a value out of a loom
//! facade cell, and the `blocking_*` entry points (refuse inside a runtime, then park).

use crate::loom::cell::UnsafeCell;
use std::future::Future;

/// Moves the value out of a cell the caller owns.
pub(super) fn into_inner<T>(cell: UnsafeCell<T>) -> T {
    #[cfg(loom)]
    {
        cell.into_inner()
    }
    #[cfg(not(loom))]
    {
        let cell = std::mem::ManuallyDrop::new(cell);
        // SAFETY: the cell is owned here and never dropped (ManuallyDrop), so its value is
        // moved out exactly once.
        cell.with(|p| unsafe { std::ptr::read(p) })
    }
}

/// Runs `future` to completion on this thread, parking between polls; panics (naming
/// `what`) when called from a thread that drives a runtime, where blocking would stall tasks.
#[track_caller]
pub(super) fn block_outside_runtime<F: Future>(what: &str, future: F) -> F::Output {
    if crate::context::is_runtime_entered() {
        panic!(
            "Cannot call `{what}` from within a runtime: it would block a thread that drives \
             asynchronous tasks. Use the async method with `.await` instead, or call `{what}` \
             from `spawn_blocking` or a plain thread."
        );
    }
    crate::scheduler::park_on(future)
}
