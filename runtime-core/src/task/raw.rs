//! `RawTask`: a type-erased pointer to a task's header, plus the per-(future, scheduler)
//! vtable through which untyped code (wakers, queues, join handles) reaches the typed harness.

use super::core::{Cell, Header, TaskMeta};
use super::harness::Harness;
use super::{Id, Schedule};
use std::future::Future;
use std::ptr::NonNull;
use std::task::{Poll, Waker};

pub(super) struct Vtable {
    pub(super) poll: unsafe fn(NonNull<Header>),
    pub(super) schedule: unsafe fn(NonNull<Header>),
    pub(super) dealloc: unsafe fn(NonNull<Header>),
    pub(super) try_read_output: unsafe fn(NonNull<Header>, *mut (), &Waker),
    pub(super) drop_join_handle_slow: unsafe fn(NonNull<Header>),
    pub(super) shutdown: unsafe fn(NonNull<Header>),
}

pub(super) fn vtable<T: Future, S: Schedule>() -> &'static Vtable {
    &Vtable {
        poll: poll::<T, S>,
        schedule: schedule::<T, S>,
        dealloc: dealloc::<T, S>,
        try_read_output: try_read_output::<T, S>,
        drop_join_handle_slow: drop_join_handle_slow::<T, S>,
        shutdown: shutdown::<T, S>,
    }
}

/// A pointer to a live task. Copying it does not touch the reference count: every owner
/// (Task, Notified, JoinHandle, AbortHandle, Waker) accounts for its own reference.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawTask {
    ptr: NonNull<Header>,
}

// SAFETY: tasks are shared across threads by design; all shared state is atomic or guarded by
// the state protocol.
unsafe impl Send for RawTask {}
// SAFETY: as above.
unsafe impl Sync for RawTask {}

impl RawTask {
    pub(super) fn new<T: Future, S: Schedule>(
        task: T,
        scheduler: S,
        id: Id,
        meta: TaskMeta,
    ) -> RawTask {
        RawTask {
            ptr: Cell::allocate(task, scheduler, id, meta),
        }
    }

    /// # Safety
    /// `ptr` points to a live task header.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> RawTask {
        RawTask { ptr }
    }

    pub(crate) fn header_ptr(&self) -> NonNull<Header> {
        self.ptr
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a RawTask is only created for a live task and used while a reference is held.
        unsafe { self.ptr.as_ref() }
    }

    /// Polls the task, consuming one notification reference.
    pub(super) fn poll(self) {
        // SAFETY: the vtable was built for this task's concrete types.
        unsafe { (self.header().vtable.poll)(self.ptr) }
    }

    pub(super) fn schedule(self) {
        // SAFETY: as above; the caller transfers a notification reference.
        unsafe { (self.header().vtable.schedule)(self.ptr) }
    }

    pub(super) fn dealloc(self) {
        // SAFETY: as above; called once, by the holder of the last reference.
        unsafe { (self.header().vtable.dealloc)(self.ptr) }
    }

    /// # Safety
    /// `dst` is null (only register `waker`, waking it at once if the task is complete) or
    /// points to a `Poll<Result<T::Output, JoinError>>` of this task's output type.
    pub(super) unsafe fn try_read_output(self, dst: *mut (), waker: &Waker) {
        // SAFETY: forwarded contract.
        unsafe { (self.header().vtable.try_read_output)(self.ptr, dst, waker) }
    }

    pub(super) fn drop_join_handle_slow(self) {
        // SAFETY: the vtable matches; the caller gives up the JoinHandle's reference.
        unsafe { (self.header().vtable.drop_join_handle_slow)(self.ptr) }
    }

    pub(super) fn shutdown(self) {
        // SAFETY: the vtable matches; the caller gives up one reference.
        unsafe { (self.header().vtable.shutdown)(self.ptr) }
    }

    pub(super) fn ref_inc(self) {
        self.header().state.ref_inc();
    }

    pub(super) fn drop_reference(self) {
        if self.header().state.ref_dec() {
            self.dealloc();
        }
    }

    /// Abort from a JoinHandle or AbortHandle.
    pub(super) fn remote_abort(self) {
        if self.header().state.transition_to_notified_and_cancel() {
            // The transition created a notification reference for the scheduler.
            self.schedule();
        }
    }

    pub(super) fn drop_join_handle(self) {
        if self.header().state.drop_join_handle_fast().is_err() {
            self.drop_join_handle_slow();
        }
    }
}

unsafe fn poll<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was created for `Cell<T, S>`.
    unsafe { Harness::<T, S>::from_raw(ptr) }.poll();
}

unsafe fn schedule<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was created for `Cell<T, S>`.
    unsafe { Harness::<T, S>::from_raw(ptr) }.schedule();
}

unsafe fn dealloc<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the last reference is gone; the cell was allocated as `Box<Cell<T, S>>`.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<T, S>>().as_ptr()) });
}

unsafe fn try_read_output<T: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: the vtable was created for `Cell<T, S>`.
    let harness = unsafe { Harness::<T, S>::from_raw(ptr) };
    if dst.is_null() {
        harness.register_join_waker(waker);
        return;
    }
    // SAFETY: forwarded contract: a non-null `dst` is a Poll<Result<T::Output, JoinError>>.
    let out = unsafe { &mut *(dst as *mut Poll<Result<T::Output, super::JoinError>>) };
    harness.try_read_output(out, waker);
}

unsafe fn drop_join_handle_slow<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was created for `Cell<T, S>`.
    unsafe { Harness::<T, S>::from_raw(ptr) }.drop_join_handle_slow();
}

unsafe fn shutdown<T: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the vtable was created for `Cell<T, S>`.
    unsafe { Harness::<T, S>::from_raw(ptr) }.shutdown();
}
