//! Task wakers: the data pointer is the task header, the vtable is one static table. Each
//! `Waker` owns one task reference; waking runs the notify transitions of `state.rs` and hands
//! a fresh notification to the task's scheduler.

use super::core::Header;
use super::raw::RawTask;
use super::state::TransitionToNotified;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_waker, wake_by_val, wake_by_ref, drop_waker);

/// A waker borrowed for one poll: it does not own a reference, so it must not be dropped as
/// a `Waker` (cloning it creates an owning one).
pub(super) struct WakerRef<'a> {
    waker: ManuallyDrop<Waker>,
    _p: PhantomData<&'a Header>,
}

impl Deref for WakerRef<'_> {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

pub(super) fn waker_ref(header: &Header) -> WakerRef<'_> {
    let ptr = header as *const Header as *const ();
    // SAFETY: the vtable's functions uphold the RawWaker contract for task headers; the
    // header outlives the borrow and the ManuallyDrop keeps this non-owning waker from
    // releasing a reference it does not hold.
    let waker = unsafe { Waker::from_raw(RawWaker::new(ptr, &WAKER_VTABLE)) };
    WakerRef {
        waker: ManuallyDrop::new(waker),
        _p: PhantomData,
    }
}

unsafe fn raw(ptr: *const ()) -> RawTask {
    // SAFETY: every waker built with WAKER_VTABLE carries a non-null, live task header.
    unsafe { RawTask::from_raw(NonNull::new_unchecked(ptr as *mut Header)) }
}

unsafe fn clone_waker(ptr: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned holds a reference, so the task is live.
    unsafe { raw(ptr) }.header().state.ref_inc();
    RawWaker::new(ptr, &WAKER_VTABLE)
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: the waker owns one reference, released here.
    unsafe { raw(ptr) }.drop_reference();
}

unsafe fn wake_by_val(ptr: *const ()) {
    // SAFETY: the waker owns one reference, which the transition consumes.
    let raw = unsafe { raw(ptr) };
    match raw.header().state.transition_to_notified_by_val() {
        TransitionToNotified::Submit => raw.schedule(),
        TransitionToNotified::Dealloc => raw.dealloc(),
        TransitionToNotified::DoNothing => {}
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: the waker holds a reference for the duration of the call.
    let raw = unsafe { raw(ptr) };
    if raw.header().state.transition_to_notified_by_ref() == TransitionToNotified::Submit {
        raw.schedule();
    }
}
