//! The task state word: one `AtomicUsize` holding six flags and the reference count.
//!
//! ```text
//!  bit:  0        1         2         3              4           5          6..
//!        RUNNING  COMPLETE  NOTIFIED  JOIN_INTEREST  JOIN_WAKER  CANCELLED  ref count
//! ```
//!
//! * `RUNNING`: a thread holds the right to touch the future (poll, cancel, drop it).
//! * `COMPLETE`: the future is gone and the output (or `JoinError`) is stored. Terminal.
//! * `NOTIFIED`: the task is (or is about to be) in a run queue. At most one notification
//!   exists at a time, so a task is never queued twice.
//! * `JOIN_INTEREST`: the `JoinHandle` is alive; it, and only it, takes the output.
//! * `JOIN_WAKER`: the join-waker slot holds a waker. While the bit is set only the runtime
//!   reads the slot; while it is clear only the `JoinHandle` writes it.
//! * `CANCELLED`: abort or shutdown asked for cancellation; the next poller cancels instead.
//!
//! References: the owned-task list holds one, the `JoinHandle` one, every `Waker` one, and a
//! notification (a queued `Notified`) one. A new task starts with three (list, handle, first
//! notification), `NOTIFIED` and `JOIN_INTEREST`. The last reference to go frees the task.
//!
//! Every transition is one CAS loop (`fetch_update`) or one RMW; who may call which:
//! * the scheduler, holding a notification: `transition_to_running`, then
//!   `transition_to_idle` or `transition_to_complete`;
//! * wakers: `transition_to_notified_by_val` / `_by_ref`;
//! * `JoinHandle`/`AbortHandle`: `transition_to_notified_and_cancel`, the join-waker and
//!   drop transitions;
//! * shutdown (holding the list's reference): `transition_to_shutdown`.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::fmt;

pub(super) struct State {
    val: AtomicUsize,
}

/// A copy of the state word at one instant.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(super) struct Snapshot(usize);

const RUNNING: usize = 0b00_0001;
const COMPLETE: usize = 0b00_0010;
const LIFECYCLE_MASK: usize = RUNNING | COMPLETE;
const NOTIFIED: usize = 0b00_0100;
const JOIN_INTEREST: usize = 0b00_1000;
const JOIN_WAKER: usize = 0b01_0000;
const CANCELLED: usize = 0b10_0000;
const STATE_MASK: usize = 0b11_1111;
const REF_COUNT_SHIFT: u32 = STATE_MASK.count_ones();
const REF_ONE: usize = 1 << REF_COUNT_SHIFT;

/// List + JoinHandle + first notification.
const INITIAL_STATE: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TransitionToRunning {
    Success,
    Cancelled,
    Failed,
    Dealloc,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TransitionToIdle {
    /// Idle; the poller's reference was released.
    Ok,
    /// Idle but notified while running: the poller's reference becomes the new notification.
    OkNotified,
    /// Idle and that was the last reference.
    OkDealloc,
    /// Cancelled while running: the poller cancels the task now.
    Cancelled,
}

#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum TransitionToNotified {
    DoNothing,
    Submit,
    Dealloc,
}

/// What `JoinHandle::drop` must clean up.
pub(super) struct JoinHandleDropped {
    pub(super) drop_output: bool,
    pub(super) drop_waker: bool,
}

impl State {
    pub(super) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL_STATE),
        }
    }

    pub(super) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    fn fetch_update_action<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (out, next) = f(curr);
            let Some(next) = next else { return out };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return out,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    fn fetch_update(
        &self,
        mut f: impl FnMut(Snapshot) -> Option<Snapshot>,
    ) -> Result<Snapshot, Snapshot> {
        let mut curr = self.load();
        loop {
            let Some(next) = f(curr) else {
                return Err(curr);
            };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return Ok(next),
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Consumes a notification and takes the right to poll.
    pub(super) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update_action(|curr| {
            assert!(curr.is_notified(), "polled a task that was not notified");
            let mut next = curr;
            if !next.is_idle() {
                // Already running elsewhere or complete (e.g. cancelled by shutdown):
                // this notification is stale. Drop its reference.
                next.ref_dec();
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                return (action, Some(next));
            }
            next.set_running();
            next.unset_notified();
            let action = if next.is_cancelled() {
                TransitionToRunning::Cancelled
            } else {
                TransitionToRunning::Success
            };
            (action, Some(next))
        })
    }

    /// After a `Pending` poll: gives up the right to poll.
    pub(super) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update_action(|curr| {
            assert!(curr.is_running());
            if curr.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = curr;
            next.unset_running();
            let action = if next.is_notified() {
                // The poller's reference is handed over to the new notification.
                TransitionToIdle::OkNotified
            } else {
                next.ref_dec();
                if next.ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                }
            };
            (action, Some(next))
        })
    }

    /// RUNNING -> COMPLETE, in one RMW.
    pub(super) fn transition_to_complete(&self) -> Snapshot {
        const DELTA: usize = RUNNING | COMPLETE;
        let prev = Snapshot(self.val.fetch_xor(DELTA, AcqRel));
        assert!(prev.is_running() && !prev.is_complete());
        Snapshot(prev.0 ^ DELTA)
    }

    /// Releases `count` references after completion; true if the task must be freed.
    pub(super) fn transition_to_terminal(&self, count: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(count * REF_ONE, AcqRel));
        assert!(
            prev.ref_count() >= count,
            "task reference count underflow: {} < {}",
            prev.ref_count(),
            count
        );
        prev.ref_count() == count
    }

    /// A waker consumed by `wake`: its reference becomes the notification or is dropped.
    pub(super) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.fetch_update_action(|curr| {
            let mut next = curr;
            let action = if curr.is_running() {
                // The poller will see NOTIFIED and resubmit; our reference is not needed.
                next.set_notified();
                next.ref_dec();
                assert!(next.ref_count() > 0);
                TransitionToNotified::DoNothing
            } else if curr.is_complete() || curr.is_notified() {
                next.ref_dec();
                if next.ref_count() == 0 {
                    TransitionToNotified::Dealloc
                } else {
                    TransitionToNotified::DoNothing
                }
            } else {
                next.set_notified();
                TransitionToNotified::Submit
            };
            (action, Some(next))
        })
    }

    /// `wake_by_ref`: creates a notification reference if the task must be submitted.
    pub(super) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.fetch_update_action(|curr| {
            if curr.is_complete() || curr.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if curr.is_running() {
                let mut next = curr;
                next.set_notified();
                (TransitionToNotified::DoNothing, Some(next))
            } else {
                let mut next = curr;
                next.set_notified();
                next.ref_inc();
                (TransitionToNotified::Submit, Some(next))
            }
        })
    }

    /// Abort: sets CANCELLED; true if the caller must submit a new notification (created here).
    pub(super) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update_action(|curr| {
            if curr.is_cancelled() || curr.is_complete() {
                (false, None)
            } else if curr.is_running() {
                let mut next = curr;
                next.set_notified();
                next.set_cancelled();
                (false, Some(next))
            } else if curr.is_notified() {
                // Already queued: the poller will see CANCELLED.
                let mut next = curr;
                next.set_cancelled();
                (false, Some(next))
            } else {
                let mut next = curr;
                next.set_cancelled();
                next.set_notified();
                next.ref_inc();
                (true, Some(next))
            }
        })
    }

    /// Shutdown: sets CANCELLED; if the task was idle also takes RUNNING and returns true, and
    /// the caller cancels it. Otherwise its current poller (or nobody, if complete) does.
    pub(super) fn transition_to_shutdown(&self) -> bool {
        let mut prev = Snapshot(0);
        let _ = self.fetch_update(|curr| {
            prev = curr;
            let mut next = curr;
            if next.is_idle() {
                next.set_running();
            }
            next.set_cancelled();
            Some(next)
        });
        prev.is_idle()
    }

    /// The common case of dropping a `JoinHandle` of a task that never ran.
    pub(super) fn drop_join_handle_fast(&self) -> Result<(), ()> {
        self.val
            .compare_exchange_weak(
                INITIAL_STATE,
                (INITIAL_STATE - REF_ONE) & !JOIN_INTEREST,
                Release,
                Relaxed,
            )
            .map(|_| ())
            .map_err(|_| ())
    }

    /// Clears JOIN_INTEREST (and JOIN_WAKER if not complete; then the handle owns the waker).
    pub(super) fn transition_to_join_handle_dropped(&self) -> JoinHandleDropped {
        self.fetch_update_action(|curr| {
            assert!(curr.is_join_interested());
            let mut next = curr;
            if !curr.is_complete() {
                next.unset_join_waker();
            }
            next.unset_join_interested();
            let out = JoinHandleDropped {
                drop_output: curr.is_complete(),
                drop_waker: !next.is_join_waker_set(),
            };
            (out, Some(next))
        })
    }

    /// Publishes the waker the `JoinHandle` just wrote; fails if the task completed first.
    pub(super) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            assert!(curr.is_join_interested());
            assert!(!curr.is_join_waker_set());
            if curr.is_complete() {
                return None;
            }
            let mut next = curr;
            next.set_join_waker();
            Some(next)
        })
    }

    /// Takes the join-waker slot back so it can be replaced; fails if the task completed.
    pub(super) fn unset_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|curr| {
            assert!(curr.is_join_interested());
            if curr.is_complete() {
                return None;
            }
            assert!(curr.is_join_waker_set());
            let mut next = curr;
            next.unset_join_waker();
            Some(next)
        })
    }

    /// After waking the join waker on completion: hands the slot back to the handle.
    pub(super) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        assert!(prev.is_complete());
        assert!(prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    pub(super) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        // A reference count this large means references leak in a loop: abort rather than
        // wrap around into a use-after-free.
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// True if this was the last reference.
    pub(super) fn ref_dec(&self) -> bool {
        let prev = Snapshot(self.val.fetch_sub(REF_ONE, AcqRel));
        assert!(prev.ref_count() >= 1, "task reference count underflow");
        prev.ref_count() == 1
    }
}

impl Snapshot {
    pub(super) fn is_idle(self) -> bool {
        self.0 & LIFECYCLE_MASK == 0
    }
    pub(super) fn is_notified(self) -> bool {
        self.0 & NOTIFIED == NOTIFIED
    }
    fn set_notified(&mut self) {
        self.0 |= NOTIFIED
    }
    fn unset_notified(&mut self) {
        self.0 &= !NOTIFIED
    }
    pub(super) fn is_running(self) -> bool {
        self.0 & RUNNING == RUNNING
    }
    fn set_running(&mut self) {
        self.0 |= RUNNING
    }
    fn unset_running(&mut self) {
        self.0 &= !RUNNING
    }
    pub(super) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED == CANCELLED
    }
    fn set_cancelled(&mut self) {
        self.0 |= CANCELLED
    }
    pub(super) fn is_complete(self) -> bool {
        self.0 & COMPLETE == COMPLETE
    }
    pub(super) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST == JOIN_INTEREST
    }
    fn unset_join_interested(&mut self) {
        self.0 &= !JOIN_INTEREST
    }
    pub(super) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER == JOIN_WAKER
    }
    fn set_join_waker(&mut self) {
        self.0 |= JOIN_WAKER
    }
    fn unset_join_waker(&mut self) {
        self.0 &= !JOIN_WAKER
    }
    pub(super) fn ref_count(self) -> usize {
        self.0 >> REF_COUNT_SHIFT
    }
    fn ref_inc(&mut self) {
        assert!(self.0 <= isize::MAX as usize);
        self.0 += REF_ONE;
    }
    fn ref_dec(&mut self) {
        assert!(self.ref_count() > 0);
        self.0 -= REF_ONE;
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interested", &self.is_join_interested())
            .field("join_waker_set", &self.is_join_waker_set())
            .field("ref_count", &self.ref_count())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn initial_state() {
        let s = State::new().load();
        assert!(s.is_notified() && s.is_join_interested() && s.is_idle());
        assert_eq!(s.ref_count(), 3);
    }

    #[test]
    fn run_idle_notify_cycle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        // A wake-by-ref while running only sets NOTIFIED.
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkNotified);
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(s.load().ref_count(), 2);
        // Idle: wake-by-ref creates a notification reference.
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::Submit
        );
        assert_eq!(s.load().ref_count(), 3);
        // Second wake while notified does nothing.
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
    }

    #[test]
    fn cancel_while_running_is_seen_at_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
    }

    #[test]
    fn shutdown_of_idle_task_takes_running() {
        let s = State::new();
        assert!(s.transition_to_shutdown());
        assert!(s.load().is_running() && s.load().is_cancelled());
        // The queued notification is now stale.
        assert_eq!(s.transition_to_running(), TransitionToRunning::Failed);
    }

    #[test]
    fn join_handle_fast_drop() {
        let s = State::new();
        assert!(s.drop_join_handle_fast().is_ok());
        assert!(!s.load().is_join_interested());
        assert_eq!(s.load().ref_count(), 2);
    }

    #[test]
    fn join_waker_set_fails_after_complete() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let _ = s.transition_to_complete();
        assert!(s.set_join_waker().is_err());
    }
}
