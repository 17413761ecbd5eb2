//! The next slot: one task that runs before the local queue (the most recently woken or
//! spawned task, for message-passing locality).
//!
//! Unlike Tokio's LIFO slot it is an atomic cell that another thread can empty: ordinary
//! stealing never looks at it (locality stays intact), but the monitor takes it when the owner
//! has been inside one poll too long, so a woken task is never held hostage. The owner puts
//! with a swap and takes with a load + swap; the monitor takes with a swap; whoever swaps the
//! pointer out owns the task's notification (loom-checked in `tests`).

use crate::loom::sync::atomic::{AtomicPtr, Ordering::*};
use crate::task::core::Header;
use crate::task::Notified;
use std::marker::PhantomData;
use std::ptr::{self, NonNull};

pub(crate) struct NextSlot<S: 'static> {
    ptr: AtomicPtr<Header>,
    _p: PhantomData<Notified<S>>,
}

impl<S: 'static> NextSlot<S> {
    pub(crate) fn new() -> Self {
        NextSlot {
            ptr: AtomicPtr::new(ptr::null_mut()),
            _p: PhantomData,
        }
    }

    /// Puts `task` in the slot, returning the task it displaced.
    pub(crate) fn put(&self, task: Notified<S>) -> Option<Notified<S>> {
        let new = task.into_header_ptr().as_ptr();
        let prev = self.ptr.swap(new, AcqRel);
        // SAFETY: every non-null pointer in the slot carries a notification reference of a
        // `Notified<S>`, and the swap made us its only owner.
        NonNull::new(prev).map(|p| unsafe { Notified::from_header_ptr(p) })
    }

    /// Takes the task out of the slot, if any.
    pub(crate) fn take(&self) -> Option<Notified<S>> {
        if self.ptr.load(Relaxed).is_null() {
            return None;
        }
        let prev = self.ptr.swap(ptr::null_mut(), AcqRel);
        // SAFETY: as in `put`.
        NonNull::new(prev).map(|p| unsafe { Notified::from_header_ptr(p) })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ptr.load(Acquire).is_null()
    }
}

impl<S: 'static> Drop for NextSlot<S> {
    fn drop(&mut self) {
        drop(self.take());
    }
}
