//! The task allocation: `Cell<F, S>` = `Header` + `Core` (scheduler, future/output stage) +
//! `Trailer` (join waker), one heap allocation, `repr(C)` so that a pointer to the header is a
//! pointer to the cell.
//!
//! Field ownership (see `state.rs` for the flags):
//! * `Header::state` is atomic; everything else in the header is immutable after creation,
//!   except `owned_index`, which only the owned-task list touches, under its shard lock.
//! * `Core::stage` belongs to whoever holds RUNNING, or, once COMPLETE is set, to the holder
//!   of JOIN_INTEREST (or to the runtime if the JoinHandle is gone).
//! * `Trailer::waker` is written by the JoinHandle while JOIN_WAKER is clear and read by the
//!   runtime while it is set.

use super::raw::Vtable;
use super::state::State;
use super::{Id, JoinError, Schedule};
use crate::loom::cell::UnsafeCell;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

/// Diagnostics carried by every task: optional name and where it was spawned.
#[derive(Debug)]
pub(crate) struct TaskMeta {
    pub(crate) name: Option<Box<str>>,
    pub(crate) location: &'static Location<'static>,
}

impl TaskMeta {
    /// An unnamed task spawned at the caller's location.
    #[track_caller]
    pub(crate) fn unnamed() -> TaskMeta {
        TaskMeta {
            name: None,
            location: Location::caller(),
        }
    }
}

#[repr(C)]
pub(crate) struct Header {
    pub(super) state: State,
    pub(super) vtable: &'static Vtable,
    pub(crate) id: Id,
    pub(crate) meta: TaskMeta,
    /// Position in the owned-task list shard; only touched under that shard's lock.
    pub(super) owned_index: UnsafeCell<usize>,
}

// SAFETY: the header is shared between threads; `state` is atomic, `owned_index` is only
// accessed under the owned-list shard mutex, and the rest is immutable after construction.
unsafe impl Send for Header {}
// SAFETY: as above.
unsafe impl Sync for Header {}

pub(super) enum Stage<T: Future> {
    Running(T),
    Finished(Result<T::Output, JoinError>),
    Consumed,
}

pub(super) struct Core<T: Future, S> {
    pub(super) scheduler: S,
    pub(super) stage: UnsafeCell<Stage<T>>,
}

pub(super) struct Trailer {
    pub(super) waker: UnsafeCell<Option<Waker>>,
}

/// Not cache-line aligned, on purpose: glibc serves over-aligned allocations through
/// `memalign`, which skips its thread cache and measured ~2x slower than `malloc` here
/// (docs/architecture.md); the allocation per spawn matters more than false sharing between
/// neighbouring tasks' state words.
#[repr(C)]
pub(super) struct Cell<T: Future, S> {
    pub(super) header: Header,
    pub(super) core: Core<T, S>,
    pub(super) trailer: Trailer,
}

impl<T: Future, S: Schedule> Cell<T, S> {
    pub(super) fn allocate(future: T, scheduler: S, id: Id, meta: TaskMeta) -> NonNull<Header> {
        let cell = Box::new(Cell {
            header: Header {
                state: State::new(),
                vtable: super::raw::vtable::<T, S>(),
                id,
                meta,
                owned_index: UnsafeCell::new(usize::MAX),
            },
            core: Core {
                scheduler,
                stage: UnsafeCell::new(Stage::Running(future)),
            },
            trailer: Trailer {
                waker: UnsafeCell::new(None),
            },
        });
        NonNull::from(Box::leak(cell)).cast()
    }
}

impl<T: Future, S> Core<T, S> {
    /// Polls the future.
    ///
    /// # Safety
    /// The caller holds RUNNING, so it has exclusive access to the stage.
    pub(super) unsafe fn poll(&self, cx: &mut Context<'_>) -> Poll<T::Output> {
        self.stage.with_mut(|ptr| {
            // SAFETY: exclusive access per the caller's contract; the cell is pinned on the heap
            // (never moved until it is freed), so the future inside is pinned too.
            let future = match unsafe { &mut *ptr } {
                Stage::Running(future) => future,
                _ => unreachable!("polled a task whose future is gone"),
            };
            // SAFETY: see above: the future never moves.
            unsafe { Pin::new_unchecked(future) }.poll(cx)
        })
    }

    /// Drops the future or the output, whichever is there.
    ///
    /// # Safety
    /// The caller has exclusive access to the stage (RUNNING, or COMPLETE + ownership).
    pub(super) unsafe fn drop_future_or_output(&self) {
        // SAFETY: forwarded contract.
        unsafe { self.set_stage(Stage::Consumed) }
    }

    /// # Safety
    /// The caller holds RUNNING.
    pub(super) unsafe fn store_output(&self, output: Result<T::Output, JoinError>) {
        // SAFETY: forwarded contract.
        unsafe { self.set_stage(Stage::Finished(output)) }
    }

    /// # Safety
    /// The caller observed COMPLETE and holds JOIN_INTEREST.
    pub(super) unsafe fn take_output(&self) -> Result<T::Output, JoinError> {
        self.stage.with_mut(|ptr| {
            // SAFETY: exclusive access per the caller's contract.
            match std::mem::replace(unsafe { &mut *ptr }, Stage::Consumed) {
                Stage::Finished(output) => output,
                _ => panic!("JoinHandle polled after completion"),
            }
        })
    }

    unsafe fn set_stage(&self, stage: Stage<T>) {
        // SAFETY: exclusive access per the callers' contracts. The old stage is dropped here
        // (it may run user Drop code, which may panic: callers catch that).
        self.stage.with_mut(|ptr| unsafe { *ptr = stage });
    }
}

impl Trailer {
    /// # Safety
    /// The caller owns the slot (the JoinHandle with JOIN_WAKER clear, or the runtime
    /// after `unset_waker_after_complete` found no join interest, or the last reference).
    pub(super) unsafe fn set_waker(&self, waker: Option<Waker>) {
        // SAFETY: exclusive access per the caller's contract.
        self.waker.with_mut(|ptr| unsafe { *ptr = waker });
    }

    /// # Safety
    /// JOIN_WAKER is set and the caller is the JoinHandle (the runtime only reads it).
    pub(super) unsafe fn will_wake(&self, waker: &Waker) -> bool {
        self.waker.with(|ptr| {
            // SAFETY: shared read while JOIN_WAKER is set.
            unsafe { (*ptr).as_ref() }.is_some_and(|w| w.will_wake(waker))
        })
    }

    /// # Safety
    /// JOIN_WAKER is set and COMPLETE was just set by the caller.
    pub(super) unsafe fn wake_join(&self) {
        // SAFETY: shared read while JOIN_WAKER is set.
        self.waker.with(|ptr| match unsafe { &*ptr } {
            Some(waker) => waker.wake_by_ref(),
            None => panic!("JOIN_WAKER set but the waker slot is empty"),
        });
    }
}
