//! The typed side of a task: poll, complete, cancel, read the output, drop the join handle.
//! Every function here follows the ownership rules of `state.rs` and `core.rs`.

use super::core::{Cell, Core, Header, Trailer};
use super::raw::RawTask;
use super::state::{TransitionToIdle, TransitionToRunning};
use super::{JoinError, Notified, Schedule, Task};
use crate::context;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

pub(super) struct Harness<T: Future, S: 'static> {
    cell: NonNull<Cell<T, S>>,
}

impl<T: Future, S: Schedule> Harness<T, S> {
    /// # Safety
    /// `ptr` is the header of a live `Cell<T, S>`.
    pub(super) unsafe fn from_raw(ptr: NonNull<Header>) -> Harness<T, S> {
        Harness { cell: ptr.cast() }
    }

    fn header(&self) -> &Header {
        // SAFETY: the cell is live while the harness is used (the caller holds a reference).
        unsafe { &self.cell.as_ref().header }
    }

    fn core(&self) -> &Core<T, S> {
        // SAFETY: as above.
        unsafe { &self.cell.as_ref().core }
    }

    fn trailer(&self) -> &Trailer {
        // SAFETY: as above.
        unsafe { &self.cell.as_ref().trailer }
    }

    fn raw(&self) -> RawTask {
        // SAFETY: the cell is live.
        unsafe { RawTask::from_raw(self.cell.cast()) }
    }

    fn dealloc(self) {
        self.raw().dealloc();
    }

    fn drop_reference(self) {
        if self.header().state.ref_dec() {
            self.dealloc();
        }
    }

    /// Hands a notification reference to the scheduler.
    pub(super) fn schedule(self) {
        // SAFETY: the caller transfers a notification reference.
        let task = unsafe { Notified::<S>::from_raw(self.raw()) };
        self.core().scheduler.schedule(task);
    }

    /// Polls the task, consuming the caller's notification reference.
    pub(super) fn poll(self) {
        match self.header().state.transition_to_running() {
            TransitionToRunning::Success => {
                let waker = super::waker::waker_ref(self.header());
                let mut cx = Context::from_waker(&waker);
                if poll_future(self.header(), self.core(), &mut cx).is_ready() {
                    self.complete();
                    return;
                }
                match self.header().state.transition_to_idle() {
                    TransitionToIdle::Ok => {}
                    TransitionToIdle::OkNotified => {
                        // Woken during its own poll: to the back of the queue, like a yield.
                        // SAFETY: the poller's reference became the new notification.
                        let task = unsafe { Notified::<S>::from_raw(self.raw()) };
                        self.core().scheduler.yield_now(task);
                    }
                    TransitionToIdle::OkDealloc => self.dealloc(),
                    TransitionToIdle::Cancelled => {
                        cancel_task(self.header(), self.core());
                        self.complete();
                    }
                }
            }
            TransitionToRunning::Cancelled => {
                cancel_task(self.header(), self.core());
                self.complete();
            }
            TransitionToRunning::Failed => {}
            TransitionToRunning::Dealloc => self.dealloc(),
        }
    }

    /// Cancels the task if it is idle (shutdown), consuming one reference either way.
    pub(super) fn shutdown(self) {
        if !self.header().state.transition_to_shutdown() {
            // Running elsewhere (its poller will cancel it) or already complete.
            self.drop_reference();
            return;
        }
        cancel_task(self.header(), self.core());
        self.complete();
    }

    /// Sets COMPLETE, notifies or cleans up for the JoinHandle, releases the task from its
    /// owner, and drops the poller's reference (plus the list's, if it was still listed).
    fn complete(self) {
        let snapshot = self.header().state.transition_to_complete();
        // User code runs below (output Drop, join waker); a panic there must not unwind into
        // the scheduler with the task half-released.
        let _ = panic::catch_unwind(AssertUnwindSafe(|| {
            if !snapshot.is_join_interested() {
                // Nobody will read the output.
                // SAFETY: COMPLETE is set and no JoinHandle exists: the runtime owns the stage.
                unsafe { self.core().drop_future_or_output() };
            } else if snapshot.is_join_waker_set() {
                // SAFETY: JOIN_WAKER is set, so the handle does not touch the slot.
                unsafe { self.trailer().wake_join() };
                let snapshot = self.header().state.unset_waker_after_complete();
                if !snapshot.is_join_interested() {
                    // The handle was dropped meanwhile and left the waker to us.
                    // SAFETY: JOIN_WAKER and JOIN_INTEREST are clear: the runtime owns the slot.
                    unsafe { self.trailer().set_waker(None) };
                }
            }
        }));

        // SAFETY: the cell is live; this Task does not own a reference (ManuallyDrop).
        let me = ManuallyDrop::new(unsafe { Task::<S>::from_raw(self.raw()) });
        let released = self.core().scheduler.release(&me);
        let num_release = if let Some(task) = released {
            // The list's reference is released below together with ours.
            std::mem::forget(task);
            2
        } else {
            1
        };
        if self.header().state.transition_to_terminal(num_release) {
            self.dealloc();
        }
    }

    /// Reads the output into `dst` if the task is complete, else registers `waker`.
    pub(super) fn try_read_output(
        self,
        dst: &mut Poll<Result<T::Output, JoinError>>,
        waker: &Waker,
    ) {
        if can_read_output(self.header(), self.trailer(), waker) {
            // SAFETY: COMPLETE observed and we are the JoinHandle.
            *dst = Poll::Ready(unsafe { self.core().take_output() });
        }
    }

    /// Registers `waker` as the join waker without taking the output; wakes it at once if the
    /// task is already complete.
    pub(super) fn register_join_waker(self, waker: &Waker) {
        if can_read_output(self.header(), self.trailer(), waker) {
            waker.wake_by_ref();
        }
    }

    pub(super) fn drop_join_handle_slow(self) {
        let transition = self.header().state.transition_to_join_handle_dropped();
        if transition.drop_output {
            let _guard = TaskIdGuard::enter(self.header());
            // The output's Drop is user code: a panic here must not escape a JoinHandle drop
            // on an arbitrary thread.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: COMPLETE was observed with JOIN_INTEREST held: we own the stage.
                unsafe { self.core().drop_future_or_output() };
            }));
        }
        if transition.drop_waker {
            // SAFETY: JOIN_WAKER is clear (or the task is complete and the runtime handed the
            // slot back): the handle owns the slot.
            unsafe { self.trailer().set_waker(None) };
        }
        self.drop_reference();
    }
}

fn can_read_output(header: &Header, trailer: &Trailer, waker: &Waker) -> bool {
    let snapshot = header.state.load();
    debug_assert!(snapshot.is_join_interested());
    if snapshot.is_complete() {
        return true;
    }
    let res = if snapshot.is_join_waker_set() {
        // SAFETY: JOIN_WAKER is set and we are the JoinHandle: shared read.
        if unsafe { trailer.will_wake(waker) } {
            return false;
        }
        header
            .state
            .unset_waker()
            .and_then(|_| set_join_waker(header, trailer, waker.clone()))
    } else {
        set_join_waker(header, trailer, waker.clone())
    };
    match res {
        Ok(_) => false,
        Err(snapshot) => {
            assert!(snapshot.is_complete());
            true
        }
    }
}

fn set_join_waker(
    header: &Header,
    trailer: &Trailer,
    waker: Waker,
) -> Result<super::state::Snapshot, super::state::Snapshot> {
    // SAFETY: JOIN_WAKER is clear, so the JoinHandle owns the slot.
    unsafe { trailer.set_waker(Some(waker)) };
    let res = header.state.set_join_waker();
    if res.is_err() {
        // Completed in between: the slot is still ours; empty it again.
        // SAFETY: JOIN_WAKER is still clear.
        unsafe { trailer.set_waker(None) };
    }
    res
}

/// Sets the current task id for the duration of user code of this task.
struct TaskIdGuard {
    prev: Option<super::Id>,
}

impl TaskIdGuard {
    fn enter(header: &Header) -> TaskIdGuard {
        TaskIdGuard {
            prev: context::set_current_task_id(Some(header.id)),
        }
    }
}

impl Drop for TaskIdGuard {
    fn drop(&mut self) {
        context::set_current_task_id(self.prev);
    }
}

/// Polls the future; on `Ready` (or panic) drops the future and stores the output.
fn poll_future<T: Future, S>(header: &Header, core: &Core<T, S>, cx: &mut Context<'_>) -> Poll<()> {
    let _guard = TaskIdGuard::enter(header);
    // SAFETY: we hold RUNNING.
    let output = match panic::catch_unwind(AssertUnwindSafe(|| unsafe { core.poll(cx) })) {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => Ok(output),
        Err(panic) => Err(JoinError::panic(header.id, panic)),
    };
    // Drop the future before storing the output, so its resources go as early as possible.
    // A panic in its Drop is swallowed: the task already produced its result.
    // SAFETY: we hold RUNNING.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe { core.drop_future_or_output() }));
    // SAFETY: we hold RUNNING; the stage is Consumed, so storing drops nothing.
    unsafe { core.store_output(output) };
    Poll::Ready(())
}

/// Drops the future (catching a panic in its Drop) and stores the cancellation result.
fn cancel_task<T: Future, S>(header: &Header, core: &Core<T, S>) {
    let _guard = TaskIdGuard::enter(header);
    // SAFETY: the caller holds RUNNING.
    let res = panic::catch_unwind(AssertUnwindSafe(|| unsafe { core.drop_future_or_output() }));
    let err = match res {
        Ok(()) => JoinError::cancelled(header.id),
        Err(panic) => JoinError::panic(header.id, panic),
    };
    // SAFETY: the caller holds RUNNING; the stage is Consumed.
    unsafe { core.store_output(Err(err)) };
}
