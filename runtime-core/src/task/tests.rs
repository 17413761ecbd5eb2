//! Tests of the task harness (`state.rs`, `harness.rs`, `waker.rs`, `join.rs`, `list.rs`) with
//! a test scheduler that queues notifications in a `VecDeque` and runs them on demand.
//!
//! * The `#[cfg(not(loom))]` section drives every path of the state machine once, by hand.
//! * The `#[cfg(loom)]` section races the paths that can run concurrently (wake / poll /
//!   complete / abort / JoinHandle drop / join waker / shutdown) under `loom::model`.
//!
//! Both end every test with no leak: every future and output is dropped exactly once and,
//! once all handles are gone, the scheduler `Arc` (one clone per task) is back to one owner,
//! which means every task was freed. Under loom the scheduler is a `loom::sync::Arc`, so loom's
//! leak checker also fails an execution that leaks a task.
//!
//! Bookkeeping counters (drop counts, wake counts) are std atomics even under loom: they are
//! not part of the protocol under test, and loom runs all of its threads on one OS thread, so
//! their values are exact; keeping them out of loom keeps the explored state space small.

use super::core::TaskMeta;
use super::list::OwnedTasks;
use super::{new_task, Id, JoinError, JoinHandle, Notified, Schedule, Task};
use crate::loom::sync::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering::SeqCst};
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Waker};

#[cfg(loom)]
use loom::sync::Arc;
#[cfg(not(loom))]
use std::sync::Arc;

type Sched = Arc<TestSched>;

/// A scheduler whose run queue is a `VecDeque` the test drains by hand.
struct TestSched {
    queue: Mutex<VecDeque<Notified<Sched>>>,
    /// With an owned-task list, `release` unlists; without, it returns `None` and the test
    /// holds the list's reference (`Task`) itself.
    owned: Option<OwnedTasks<Sched>>,
    scheduled: StdAtomicUsize,
    yielded: StdAtomicUsize,
}

impl TestSched {
    fn new() -> Sched {
        Self::build(None)
    }

    fn with_owned() -> Sched {
        Self::build(Some(OwnedTasks::new(1)))
    }

    fn build(owned: Option<OwnedTasks<Sched>>) -> Sched {
        Arc::new(TestSched {
            queue: Mutex::new(VecDeque::new()),
            owned,
            scheduled: StdAtomicUsize::new(0),
            yielded: StdAtomicUsize::new(0),
        })
    }

    fn push(&self, task: Notified<Sched>) {
        self.queue.lock().push_back(task);
    }

    fn pop(&self) -> Option<Notified<Sched>> {
        self.queue.lock().pop_front()
    }

    fn queued(&self) -> usize {
        self.queue.lock().len()
    }

    fn scheduled(&self) -> usize {
        self.scheduled.load(SeqCst)
    }

    fn yielded(&self) -> usize {
        self.yielded.load(SeqCst)
    }

    /// Runs queued notifications until the queue is empty; returns how many ran. The queue
    /// lock is not held while a task runs (the task may schedule itself again).
    fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(task) = self.pop() {
            task.run();
            n += 1;
        }
        n
    }
}

impl Schedule for Sched {
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned.as_ref().and_then(|owned| owned.remove(task))
    }

    fn schedule(&self, task: Notified<Self>) {
        self.scheduled.fetch_add(1, SeqCst);
        self.push(task);
    }

    fn yield_now(&self, task: Notified<Self>) {
        self.yielded.fetch_add(1, SeqCst);
        self.push(task);
    }
}

#[track_caller]
fn meta() -> TaskMeta {
    TaskMeta {
        name: None,
        location: Location::caller(),
    }
}

/// A task not on any owned list: the caller gets the list's reference, the first
/// notification and the JoinHandle.
#[track_caller]
fn spawn<F: Future + 'static>(
    sched: &Sched,
    future: F,
) -> (Task<Sched>, Notified<Sched>, JoinHandle<F::Output>) {
    new_task(future, sched.clone(), Id::next(), meta())
}

/// Counts values created and dropped (futures, outputs), to check each is dropped once.
#[derive(Clone, Default)]
struct Tracker(StdArc<(StdAtomicUsize, StdAtomicUsize)>);

impl Tracker {
    fn guard(&self) -> Guard {
        (self.0).0.fetch_add(1, SeqCst);
        Guard(self.clone())
    }

    fn created(&self) -> usize {
        (self.0).0.load(SeqCst)
    }

    fn dropped(&self) -> usize {
        (self.0).1.load(SeqCst)
    }

    fn live(&self) -> usize {
        self.created() - self.dropped()
    }
}

/// Bumps its tracker's drop count when dropped.
struct Guard(Tracker);

impl Drop for Guard {
    fn drop(&mut self) {
        let prev = ((self.0).0).1.fetch_add(1, SeqCst);
        assert!(
            prev < (self.0).created(),
            "dropped more values than were created"
        );
    }
}

/// A future made of a poll closure and a drop guard (dropped with the future).
struct TestFuture<F> {
    poll: F,
    _guard: Guard,
}

impl<F: FnMut(&mut Context<'_>) -> Poll<T> + Unpin, T> Future for TestFuture<F> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        (self.get_mut().poll)(cx)
    }
}

fn future<F, T>(tracker: &Tracker, poll: F) -> TestFuture<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<T> + Unpin,
{
    TestFuture {
        poll,
        _guard: tracker.guard(),
    }
}

/// Every task freed: no task holds a scheduler clone any more, nothing is queued.
fn assert_no_leaks(sched: &Sched) {
    assert_eq!(sched.queued(), 0, "notifications left in the queue");
    if let Some(owned) = &sched.owned {
        assert_eq!(owned.len(), 0, "tasks left on the owned list");
    }
    assert_eq!(Arc::strong_count(sched), 1, "a task was leaked");
}

#[cfg(not(loom))]
mod harness {
    use super::*;
    use crate::task::AbortHandle;

    use crate::test_util::CountingWaker;

    fn poll_join<T>(
        jh: &mut JoinHandle<T>,
        waker: &StdArc<CountingWaker>,
    ) -> Poll<Result<T, JoinError>> {
        let waker = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&waker);
        Pin::new(jh).poll(&mut cx)
    }

    /// A slot where a future leaves a clone of its waker.
    type WakerSlot = StdArc<std::sync::Mutex<Option<Waker>>>;

    fn take_waker(slot: &WakerSlot) -> Waker {
        slot.lock()
            .unwrap()
            .take()
            .expect("the future did not store its waker")
    }

    /// Pending until its `n`th poll (Ready(out)); stores a waker clone in `slot` each
    /// Pending poll and counts polls.
    fn ready_on_poll<T: Unpin>(
        tracker: &Tracker,
        n: usize,
        slot: &WakerSlot,
        polls: &StdArc<StdAtomicUsize>,
        mut out: impl FnMut() -> T + Unpin,
    ) -> impl Future<Output = T> {
        let slot = slot.clone();
        let polls = polls.clone();
        future(tracker, move |cx| {
            let k = polls.fetch_add(1, SeqCst) + 1;
            assert!(k <= n, "polled after completion");
            if k == n {
                Poll::Ready(out())
            } else {
                *slot.lock().unwrap() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
    }

    #[test]
    fn poll_to_completion_and_read_join_handle() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let (task, notified, mut jh) = spawn(&sched, future(&futures, |_| Poll::Ready(42)));
        let w = StdArc::<CountingWaker>::default();

        assert!(poll_join(&mut jh, &w).is_pending());
        assert_eq!(w.count(), 0);
        assert!(!jh.is_finished());

        notified.run();
        assert_eq!(futures.live(), 0, "the future is dropped at completion");
        assert_eq!(w.count(), 1, "the join waker is woken at completion");
        assert!(jh.is_finished());
        match poll_join(&mut jh, &w) {
            Poll::Ready(Ok(v)) => assert_eq!(v, 42),
            _ => panic!("expected the output"),
        }
        assert_eq!(w.count(), 1);

        drop(jh);
        drop(task);
        assert_eq!(sched.scheduled(), 0);
        assert_no_leaks(&sched);
        assert_eq!(StdArc::strong_count(&w), 1, "the join waker was released");
    }

    #[test]
    fn wake_while_idle_schedules_exactly_once() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let (task, notified, mut jh) =
            spawn(&sched, ready_on_poll(&futures, 2, &slot, &polls, || "done"));

        notified.run();
        assert_eq!(polls.load(SeqCst), 1);
        assert_eq!(sched.queued(), 0);
        let waker = take_waker(&slot);

        waker.wake_by_ref();
        assert_eq!(sched.queued(), 1);
        assert_eq!(sched.scheduled(), 1);
        // Already notified: neither kind of wake queues it again.
        waker.wake_by_ref();
        // By value (an owning clone, whose reference the wake consumes).
        let owning = waker.clone();
        owning.wake();
        assert_eq!(sched.queued(), 1);
        assert_eq!(sched.scheduled(), 1);

        assert_eq!(sched.run_all(), 1);
        assert_eq!(polls.load(SeqCst), 2);
        assert_eq!(futures.live(), 0);

        // Complete: a wake does nothing.
        waker.wake_by_ref();
        assert_eq!(sched.queued(), 0);
        drop(waker);

        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Ok("done"))));
        drop(jh);
        drop(task);
        assert_eq!(sched.yielded(), 0);
        assert_no_leaks(&sched);
    }

    #[test]
    fn wake_while_running_reschedules_as_yield() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let p = polls.clone();
        let (task, notified, mut jh) = spawn(
            &sched,
            future(&futures, move |cx| match p.fetch_add(1, SeqCst) {
                0 => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                1 => {
                    // By value, through an owning clone: its reference is dropped.
                    let owning = cx.waker().clone();
                    owning.wake();
                    Poll::Pending
                }
                2 => Poll::Ready(()),
                _ => panic!("polled after completion"),
            }),
        );

        notified.run();
        assert_eq!(sched.yielded(), 1);
        assert_eq!(sched.queued(), 1);
        assert_eq!(sched.run_all(), 2);
        assert_eq!(polls.load(SeqCst), 3);
        assert_eq!(sched.yielded(), 2);
        assert_eq!(sched.scheduled(), 0, "self-wakes go through yield_now only");

        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Ok(()))));
        drop(jh);
        drop(task);
        assert_eq!(futures.live(), 0);
        assert_no_leaks(&sched);
    }

    #[test]
    fn abort_idle_task_cancels_on_next_run() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let (task, notified, mut jh) = spawn(
            &sched,
            ready_on_poll(&futures, usize::MAX, &slot, &polls, || ()),
        );

        notified.run();
        drop(take_waker(&slot));
        assert_eq!(sched.queued(), 0);

        jh.abort();
        assert_eq!(sched.scheduled(), 1, "abort of an idle task schedules it");
        assert_eq!(
            futures.live(),
            1,
            "abort does not drop the future on the caller's thread"
        );
        assert!(!jh.is_finished());
        jh.abort();
        jh.abort_handle().abort();
        assert_eq!(sched.scheduled(), 1, "a second abort does nothing");

        assert_eq!(sched.run_all(), 1);
        assert_eq!(polls.load(SeqCst), 1, "an aborted task is not polled");
        assert_eq!(futures.live(), 0);
        assert!(jh.is_finished());

        let w = StdArc::<CountingWaker>::default();
        match poll_join(&mut jh, &w) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled() && !e.is_panic()),
            _ => panic!("expected a cancelled JoinError"),
        }
        drop(jh);
        drop(task);
        assert_no_leaks(&sched);
    }

    #[test]
    fn abort_before_first_poll_uses_the_queued_notification() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let (task, notified, mut jh) = spawn(
            &sched,
            future(&futures, |_| -> Poll<()> { panic!("polled") }),
        );
        let abort = jh.abort_handle();
        abort.abort();
        assert_eq!(
            sched.scheduled(),
            0,
            "already notified: no second notification"
        );
        notified.run();
        assert_eq!(futures.live(), 0);
        assert!(abort.is_finished());
        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
        drop(abort);
        drop(jh);
        drop(task);
        assert_no_leaks(&sched);
    }

    /// The future aborts itself (through an AbortHandle it is given) during its poll.
    fn self_aborting(
        futures: &Tracker,
        slot: &StdArc<std::sync::Mutex<Option<AbortHandle>>>,
        ready: bool,
    ) -> impl Future<Output = u8> {
        let slot = slot.clone();
        future(futures, move |_| {
            let handle = slot.lock().unwrap().take().expect("polled twice");
            handle.abort();
            drop(handle);
            if ready {
                Poll::Ready(7)
            } else {
                Poll::Pending
            }
        })
    }

    #[test]
    fn abort_while_running_cancels_after_the_poll() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let slot = StdArc::default();
        let (task, notified, mut jh) = spawn(&sched, self_aborting(&futures, &slot, false));
        *slot.lock().unwrap() = Some(jh.abort_handle());

        notified.run();
        assert_eq!(
            futures.live(),
            0,
            "cancelled by the poller right after the poll"
        );
        assert_eq!(sched.queued(), 0, "no notification is left behind");
        assert_eq!(sched.scheduled() + sched.yielded(), 0);
        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
        drop(jh);
        drop(task);
        assert_no_leaks(&sched);
    }

    #[test]
    fn abort_while_running_loses_to_completion() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let slot = StdArc::default();
        let (task, notified, mut jh) = spawn(&sched, self_aborting(&futures, &slot, true));
        *slot.lock().unwrap() = Some(jh.abort_handle());

        notified.run();
        assert_eq!(futures.live(), 0);
        assert_eq!(sched.queued(), 0);
        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Ok(7))));
        drop(jh);
        drop(task);
        assert_no_leaks(&sched);
    }

    #[test]
    fn join_handle_dropped_before_completion_runtime_drops_output() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let outputs = Tracker::default();
        let out = outputs.clone();
        // Fast path: the handle is dropped before the task ever ran.
        let (task, notified, jh) =
            spawn(&sched, future(&futures, move |_| Poll::Ready(out.guard())));
        drop(jh);
        notified.run();
        assert_eq!(outputs.created(), 1);
        assert_eq!(
            outputs.dropped(),
            1,
            "nobody can read the output: the runtime drops it"
        );
        drop(task);
        assert_eq!(futures.live(), 0);
        assert_no_leaks(&sched);
    }

    #[test]
    fn join_handle_dropped_while_idle_runtime_drops_output() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let outputs = Tracker::default();
        let out = outputs.clone();
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let (task, notified, mut jh) = spawn(
            &sched,
            ready_on_poll(&futures, 2, &slot, &polls, move || out.guard()),
        );
        notified.run();
        // The handle registers a join waker, then goes away (slow path): it drops the waker.
        let w = StdArc::<CountingWaker>::default();
        assert!(poll_join(&mut jh, &w).is_pending());
        assert_eq!(StdArc::strong_count(&w), 2);
        drop(jh);
        assert_eq!(
            StdArc::strong_count(&w),
            1,
            "the handle dropped its join waker"
        );

        take_waker(&slot).wake();
        assert_eq!(sched.run_all(), 1);
        assert_eq!(w.count(), 0);
        assert_eq!((outputs.created(), outputs.dropped()), (1, 1));
        drop(task);
        assert_eq!(futures.live(), 0);
        assert_no_leaks(&sched);
    }

    #[test]
    fn join_handle_dropped_after_completion_drops_output() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let outputs = Tracker::default();
        let out = outputs.clone();
        let (task, notified, jh) =
            spawn(&sched, future(&futures, move |_| Poll::Ready(out.guard())));
        notified.run();
        drop(task);
        assert_eq!(outputs.created(), 1);
        assert_eq!(outputs.dropped(), 0, "the output waits for its handle");
        assert!(jh.is_finished());
        drop(jh);
        assert_eq!(outputs.dropped(), 1, "the handle dropped the output");
        assert_eq!(futures.live(), 0);
        assert_no_leaks(&sched);
    }

    #[test]
    fn panic_is_a_join_error() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let (task, notified, mut jh) =
            spawn(&sched, future(&futures, |_| -> Poll<u8> { panic!("boom") }));
        notified.run();
        assert_eq!(futures.live(), 0, "the panicked future is dropped");
        let w = StdArc::<CountingWaker>::default();
        match poll_join(&mut jh, &w) {
            Poll::Ready(Err(e)) => {
                assert!(e.is_panic() && !e.is_cancelled());
                assert_eq!(*e.into_panic().downcast::<&str>().unwrap(), "boom");
            }
            _ => panic!("expected a panic JoinError"),
        }
        drop(jh);
        drop(task);
        assert_no_leaks(&sched);
    }

    #[test]
    fn join_waker_replaced_only_new_one_woken() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let (task, notified, mut jh) =
            spawn(&sched, ready_on_poll(&futures, 2, &slot, &polls, || 5u32));
        notified.run();

        let a = StdArc::<CountingWaker>::default();
        let b = StdArc::<CountingWaker>::default();
        assert!(poll_join(&mut jh, &a).is_pending());
        // The same waker again: kept (will_wake), not re-registered.
        assert!(poll_join(&mut jh, &a).is_pending());
        assert_eq!(StdArc::strong_count(&a), 2);
        assert!(poll_join(&mut jh, &b).is_pending());
        assert_eq!(
            StdArc::strong_count(&a),
            1,
            "the replaced waker was dropped"
        );
        assert_eq!(StdArc::strong_count(&b), 2);

        take_waker(&slot).wake();
        sched.run_all();
        assert_eq!(a.count(), 0, "the replaced waker is not woken");
        assert_eq!(b.count(), 1);
        assert!(matches!(poll_join(&mut jh, &b), Poll::Ready(Ok(5))));
        drop(jh);
        drop(task);
        assert_eq!(StdArc::strong_count(&b), 1);
        assert_no_leaks(&sched);
    }

    #[test]
    fn register_waker_wakes_at_once_when_complete() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let (task, notified, mut jh) = spawn(&sched, future(&futures, |_| Poll::Ready(1u8)));
        notified.run();
        let w = StdArc::<CountingWaker>::default();
        jh.register_waker(&Waker::from(w.clone()));
        assert_eq!(w.count(), 1, "woken at once: the task is complete");
        // The output is still there.
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Ok(1))));
        drop(jh);
        drop(task);
        assert_eq!(StdArc::strong_count(&w), 1);
        assert_no_leaks(&sched);
    }

    #[test]
    fn register_waker_before_completion_is_woken_at_completion() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let (task, notified, mut jh) = spawn(&sched, future(&futures, |_| Poll::Ready(1u8)));
        let w = StdArc::<CountingWaker>::default();
        jh.register_waker(&Waker::from(w.clone()));
        assert_eq!(w.count(), 0);
        notified.run();
        assert_eq!(w.count(), 1);
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Ok(1))));
        drop(jh);
        drop(task);
        assert_no_leaks(&sched);
    }

    #[test]
    fn shutdown_cancels_idle_and_queued_tasks_and_later_binds() {
        let sched = TestSched::with_owned();
        let owned = sched.owned.as_ref().unwrap();
        let futures = Tracker::default();
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));

        // A: polled once, idle.
        let (mut jh_a, n_a) = owned.bind(
            ready_on_poll(&futures, usize::MAX, &slot, &polls, || ()),
            sched.clone(),
            Id::next(),
            meta(),
        );
        n_a.unwrap().run();
        let waker_a = take_waker(&slot);
        // B: never ran; its notification is queued.
        let (mut jh_b, n_b) = owned.bind(
            future(&futures, |_| -> Poll<()> { panic!("polled") }),
            sched.clone(),
            Id::next(),
            meta(),
        );
        sched.push(n_b.unwrap());
        assert_eq!(owned.len(), 2);

        owned.close_and_shutdown_all();
        assert_eq!(owned.len(), 0);
        assert_eq!(
            futures.live(),
            0,
            "both futures dropped by shutdown, on this thread"
        );
        assert!(jh_a.is_finished() && jh_b.is_finished());
        // B's queued notification is stale now: running it does nothing.
        assert_eq!(sched.run_all(), 1);
        // A wake after shutdown does nothing either.
        waker_a.wake();
        assert_eq!(sched.queued(), 0);

        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh_a, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
        assert!(matches!(poll_join(&mut jh_b, &w), Poll::Ready(Err(e)) if e.is_cancelled()));

        // Binding after close: no notification, the task is cancelled at once.
        let (mut jh_c, n_c) = owned.bind(
            future(&futures, |_| -> Poll<()> { panic!("polled") }),
            sched.clone(),
            Id::next(),
            meta(),
        );
        assert!(n_c.is_none());
        assert!(jh_c.is_finished());
        assert!(matches!(poll_join(&mut jh_c, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
        assert_eq!(futures.live(), 0);

        drop((jh_a, jh_b, jh_c));
        assert_no_leaks(&sched);
    }

    #[test]
    fn completed_task_is_released_from_owned_list() {
        let sched = TestSched::with_owned();
        let owned = sched.owned.as_ref().unwrap();
        let futures = Tracker::default();
        let (mut jh, n) = owned.bind(
            future(&futures, |_| Poll::Ready(3u8)),
            sched.clone(),
            Id::next(),
            meta(),
        );
        assert_eq!(owned.len(), 1);
        n.unwrap().run();
        assert_eq!(owned.len(), 0, "completion unlists the task");
        let w = StdArc::<CountingWaker>::default();
        assert!(matches!(poll_join(&mut jh, &w), Poll::Ready(Ok(3))));
        drop(jh);
        assert_no_leaks(&sched);
    }

    #[test]
    fn waker_outliving_the_task_frees_it() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let (task, notified, jh) = spawn(&sched, ready_on_poll(&futures, 2, &slot, &polls, || ()));
        notified.run();
        let waker = take_waker(&slot);
        let waker2 = waker.clone();
        waker.wake_by_ref();
        sched.run_all();
        drop(jh);
        drop(task);
        assert_eq!(
            Arc::strong_count(&sched),
            2,
            "the wakers keep the task alive"
        );
        // Wake by value of a complete task: drops a reference, not the last one.
        waker.wake();
        assert_eq!(Arc::strong_count(&sched), 2);
        // The last reference is a waker consumed by `wake`: it frees the task.
        waker2.wake();
        assert_eq!(sched.queued(), 0);
        assert_eq!(futures.live(), 0);
        assert_no_leaks(&sched);
    }

    #[test]
    fn dropped_notification_releases_its_reference() {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let (task, notified, jh) = spawn(&sched, future(&futures, |_| Poll::Ready(())));
        drop(notified);
        drop(jh);
        assert_eq!(futures.live(), 1, "the list's reference keeps the task");
        drop(task);
        assert_eq!(
            futures.live(),
            0,
            "the last reference drops the future with the task"
        );
        assert_no_leaks(&sched);
    }
}

#[cfg(loom)]
mod loom_harness {
    use super::*;
    use crate::loom::model;
    use crate::loom::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use loom::thread;
    use std::sync::atomic::AtomicBool as StdAtomicBool;
    use std::task::Wake;

    /// A slot where the future leaves a clone of its waker (loom mutex: part of the model).
    type WakerSlot = Arc<Mutex<Option<Waker>>>;

    /// A waker that sets a flag.
    #[derive(Default)]
    struct FlagWaker(StdAtomicBool);

    impl FlagWaker {
        fn fired(&self) -> bool {
            self.0.load(SeqCst)
        }
    }

    impl Wake for FlagWaker {
        fn wake(self: StdArc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &StdArc<Self>) {
            self.0.store(true, SeqCst);
        }
    }

    fn poll_join_with<T>(
        jh: &mut JoinHandle<T>,
        waker: &StdArc<FlagWaker>,
    ) -> Poll<Result<T, JoinError>> {
        let waker = Waker::from(waker.clone());
        let mut cx = Context::from_waker(&waker);
        Pin::new(jh).poll(&mut cx)
    }

    /// Ready(out) once `flag` is set; otherwise Pending, and the first poll stores a waker clone
    /// in `slot`. Counts polls; panics if polled after completion.
    fn ready_when_set<T: Unpin>(
        futures: &Tracker,
        flag: &Arc<AtomicBool>,
        slot: &WakerSlot,
        polls: &StdArc<StdAtomicUsize>,
        mut out: impl FnMut() -> T + Unpin,
    ) -> impl Future<Output = T> {
        let flag = flag.clone();
        let slot = slot.clone();
        let polls = polls.clone();
        let mut done = false;
        future(futures, move |cx| {
            assert!(!done, "polled after completion");
            polls.fetch_add(1, SeqCst);
            // Relaxed on purpose: the task state transitions must order the setter's store
            // before this poll.
            if flag.load(Relaxed) {
                done = true;
                return Poll::Ready(out());
            }
            if polls.load(SeqCst) == 1 {
                // Only the first poll hands out a waker: a waker left in the slot would be a
                // task reference the test must remember to drop.
                *slot.lock() = Some(cx.waker().clone());
            }
            Poll::Pending
        })
    }

    /// The set-up shared by the flag-driven models: a listed task whose future completes,
    /// with a tracked output, on the first poll after `flag` is set, plus everything the
    /// assertions look at.
    struct FlagTask {
        sched: Sched,
        futures: Tracker,
        outputs: Tracker,
        flag: Arc<AtomicBool>,
        slot: WakerSlot,
        polls: StdArc<StdAtomicUsize>,
        task: Task<Sched>,
        notified: Notified<Sched>,
        jh: JoinHandle<Guard>,
    }

    fn flag_task() -> FlagTask {
        let sched = TestSched::new();
        let futures = Tracker::default();
        let outputs = Tracker::default();
        let flag = Arc::new(AtomicBool::new(false));
        let slot = WakerSlot::default();
        let polls = StdArc::new(StdAtomicUsize::new(0));
        let out = outputs.clone();
        let (task, notified, jh) = spawn(
            &sched,
            ready_when_set(&futures, &flag, &slot, &polls, move || out.guard()),
        );
        FlagTask {
            sched,
            futures,
            outputs,
            flag,
            slot,
            polls,
            task,
            notified,
            jh,
        }
    }

    fn take_waker(slot: &WakerSlot) -> Waker {
        slot.lock()
            .take()
            .expect("the future did not store its waker")
    }

    /// Wake (another thread) vs poll/complete: thread A runs queued notifications (one is
    /// queued up front), thread B sets the flag and wakes through a cloned waker. No
    /// interleaving may lose the wake (the task must complete), poll after completion, or
    /// leak/double-free the task; the output is read exactly once.
    #[test]
    fn wake_vs_complete() {
        model(|| {
            let FlagTask {
                sched,
                futures,
                outputs,
                flag,
                slot,
                polls,
                task,
                notified,
                mut jh,
            } = flag_task();
            notified.run();
            let waker = take_waker(&slot);
            // A notification for thread A to race with B's wake.
            waker.wake_by_ref();

            let s = sched.clone();
            let a = thread::spawn(move || {
                s.run_all();
            });
            let f = flag.clone();
            let b = thread::spawn(move || {
                f.store(true, Relaxed);
                waker.wake();
            });
            a.join().unwrap();
            b.join().unwrap();
            sched.run_all();

            assert!(jh.is_finished(), "a wake was lost");
            let w = StdArc::new(FlagWaker::default());
            let Poll::Ready(Ok(output)) = poll_join_with(&mut jh, &w) else {
                panic!("expected the output")
            };
            assert_eq!(outputs.live(), 1);
            drop(output);
            assert_eq!((outputs.created(), outputs.dropped()), (1, 1));
            // One notification was queued up front. A third poll happens only if B's wake found
            // the task running (a yield) or idle after a poll that missed the flag (a new
            // notification), and never both.
            let extra = sched.yielded() + sched.scheduled() - 1;
            assert!(extra <= 1);
            assert_eq!(polls.load(SeqCst), 2 + extra);
            drop(jh);
            drop(task);
            assert_eq!(futures.live(), 0);
            assert_no_leaks(&sched);
        });
    }

    /// Wake vs complete where the waker is the last reference: thread A runs the task to
    /// completion and then drops the JoinHandle (reading the output) and the list's reference;
    /// thread B wakes by value, so whichever of them goes last frees the task.
    #[test]
    fn wake_by_val_vs_complete_and_release() {
        model(|| {
            let FlagTask {
                sched,
                futures,
                outputs,
                flag,
                slot,
                polls,
                task,
                notified,
                mut jh,
            } = flag_task();
            // A first, Pending poll gives B its waker; the queued poll then completes.
            notified.run();
            let waker = take_waker(&slot);
            flag.store(true, Relaxed);
            waker.wake_by_ref();

            let s = sched.clone();
            let o = outputs.clone();
            let a = thread::spawn(move || {
                s.run_all();
                let w = StdArc::new(FlagWaker::default());
                let res = poll_join_with(&mut jh, &w);
                assert!(
                    matches!(res, Poll::Ready(Ok(_))),
                    "A ran the completing poll"
                );
                drop(res);
                assert_eq!(o.dropped(), 1);
                drop(jh);
                drop(task);
            });
            let b = thread::spawn(move || waker.wake());
            a.join().unwrap();
            b.join().unwrap();
            sched.run_all();
            assert_eq!(polls.load(SeqCst), 2);
            assert_eq!(futures.live(), 0);
            assert_eq!((outputs.created(), outputs.dropped()), (1, 1));
            assert_no_leaks(&sched);
        });
    }

    /// Three actors: thread 1 aborts, thread 2 wakes (by value) and drops the JoinHandle, the
    /// main thread runs the queue until empty (during and after). The future completes on the
    /// poll after the wake unless the abort wins. Whatever the interleaving: the future and the
    /// output (if any) are dropped exactly once, nothing is polled after cancellation, and the
    /// task is freed.
    #[test]
    fn wake_vs_abort_vs_join_handle_drop() {
        model(|| {
            let FlagTask {
                sched,
                futures,
                outputs,
                flag,
                slot,
                polls,
                task,
                notified,
                jh,
            } = flag_task();
            notified.run();
            let waker = take_waker(&slot);
            flag.store(true, Relaxed);
            let abort = jh.abort_handle();

            let t1 = thread::spawn(move || {
                abort.abort();
                drop(abort);
            });
            let t2 = thread::spawn(move || {
                waker.wake();
                drop(jh);
            });
            sched.run_all();
            t1.join().unwrap();
            t2.join().unwrap();
            sched.run_all();

            assert_eq!(
                futures.live(),
                0,
                "the future was dropped (cancelled or completed)"
            );
            assert!(outputs.created() <= 1);
            assert_eq!(
                outputs.live(),
                0,
                "the runtime or the handle dropped the output"
            );
            // Poll 1 happened before the race; at most one more (the completing one).
            assert!(polls.load(SeqCst) <= 2);
            assert!(
                sched.scheduled() <= 1,
                "abort and wake share the single notification"
            );
            drop(task);
            assert_no_leaks(&sched);
        });
    }

    /// Join waker protocol: the JoinHandle is polled on thread 1 (registering a flag waker)
    /// while the task completes on thread 2. If the poll returned Pending the waker must have
    /// fired; a final poll is Ready.
    #[test]
    fn join_waker_vs_complete() {
        model(|| {
            let sched = TestSched::new();
            let futures = Tracker::default();
            let (task, notified, mut jh) = spawn(&sched, future(&futures, |_| Poll::Ready(9u8)));
            let w = StdArc::new(FlagWaker::default());

            let w1 = w.clone();
            let t1 = thread::spawn(move || {
                let first = poll_join_with(&mut jh, &w1);
                (jh, first)
            });
            let t2 = thread::spawn(move || notified.run());
            let (mut jh, first) = t1.join().unwrap();
            t2.join().unwrap();

            match first {
                Poll::Ready(res) => assert!(matches!(res, Ok(9))),
                Poll::Pending => {
                    assert!(w.fired(), "the join waker was not woken: lost wake-up");
                    assert!(matches!(poll_join_with(&mut jh, &w), Poll::Ready(Ok(9))));
                }
            }
            drop(jh);
            drop(task);
            assert_eq!(futures.live(), 0);
            assert_eq!(StdArc::strong_count(&w), 1, "the join waker was leaked");
            assert_no_leaks(&sched);
        });
    }

    /// Join waker replacement vs complete: thread 1 polls with waker `a`, then with waker `b`
    /// (unset + set of the slot) while thread 2 completes the task. If the second poll was
    /// Pending, `b` must fire; both wakers are released.
    #[test]
    fn join_waker_replace_vs_complete() {
        model(|| {
            let sched = TestSched::new();
            let futures = Tracker::default();
            let (task, notified, mut jh) = spawn(&sched, future(&futures, |_| Poll::Ready(9u8)));
            let a = StdArc::new(FlagWaker::default());
            let b = StdArc::new(FlagWaker::default());
            // Register `a` before the race, so the race is the replacement.
            assert!(poll_join_with(&mut jh, &a).is_pending());

            let b1 = b.clone();
            let t1 = thread::spawn(move || {
                let second = poll_join_with(&mut jh, &b1);
                (jh, second)
            });
            let t2 = thread::spawn(move || notified.run());
            let (mut jh, second) = t1.join().unwrap();
            t2.join().unwrap();

            match second {
                Poll::Ready(res) => assert!(matches!(res, Ok(9))),
                Poll::Pending => {
                    assert!(b.fired(), "the new join waker was not woken: lost wake-up");
                    assert!(!a.fired(), "the replaced waker was woken");
                    assert!(matches!(poll_join_with(&mut jh, &b), Poll::Ready(Ok(9))));
                }
            }
            drop(jh);
            drop(task);
            assert_eq!(StdArc::strong_count(&a), 1, "waker a was leaked");
            assert_eq!(StdArc::strong_count(&b), 1, "waker b was leaked");
            assert_no_leaks(&sched);
        });
    }

    /// JoinHandle dropped (with a registered join waker) while the task completes: the slot is
    /// handed between the handle and the runtime without a leak or a double drop, and the
    /// output is dropped exactly once, by one of them.
    #[test]
    fn join_handle_drop_with_waker_vs_complete() {
        model(|| {
            let sched = TestSched::new();
            let futures = Tracker::default();
            let outputs = Tracker::default();
            let out = outputs.clone();
            let (task, notified, mut jh) =
                spawn(&sched, future(&futures, move |_| Poll::Ready(out.guard())));
            let w = StdArc::new(FlagWaker::default());
            assert!(poll_join_with(&mut jh, &w).is_pending());

            let t1 = thread::spawn(move || drop(jh));
            let t2 = thread::spawn(move || notified.run());
            t1.join().unwrap();
            t2.join().unwrap();

            assert_eq!((outputs.created(), outputs.dropped()), (1, 1));
            drop(task);
            assert_eq!(StdArc::strong_count(&w), 1, "the join waker was leaked");
            assert_no_leaks(&sched);
        });
    }

    /// Shutdown (`close_and_shutdown_all`, thread 1) racing a wake (thread 2, by value) and a
    /// poll (main thread, running the notification queued up front, then the queue until
    /// empty). The future never completes on its own: the task must end cancelled, its future
    /// dropped exactly once, unlisted and freed.
    #[test]
    fn shutdown_vs_wake_vs_poll() {
        model(|| {
            let sched = TestSched::with_owned();
            let futures = Tracker::default();
            let flag = Arc::new(AtomicBool::new(false));
            let slot = WakerSlot::default();
            let polls = StdArc::new(StdAtomicUsize::new(0));
            let (mut jh, notified) = sched.owned.as_ref().unwrap().bind(
                ready_when_set(&futures, &flag, &slot, &polls, || ()),
                sched.clone(),
                Id::next(),
                meta(),
            );
            notified.unwrap().run();
            let waker = take_waker(&slot);
            waker.wake_by_ref();

            let s = sched.clone();
            let t1 = thread::spawn(move || s.owned.as_ref().unwrap().close_and_shutdown_all());
            let t2 = thread::spawn(move || waker.wake());
            sched.run_all();
            t1.join().unwrap();
            t2.join().unwrap();
            sched.run_all();

            assert_eq!(futures.live(), 0, "shutdown did not cancel the task");
            let w = StdArc::new(FlagWaker::default());
            assert!(matches!(poll_join_with(&mut jh, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
            drop(jh);
            assert_no_leaks(&sched);
        });
    }

    /// A bind racing `close_and_shutdown_all` (list.rs: the bind lands before the close and
    /// is cancelled with the rest, or sees the closed flag and is cancelled at once). The
    /// binding thread runs the notification it gets, so the first poll also races the
    /// shutdown. The future never completes: the task must end cancelled, unlisted and freed.
    #[test]
    fn bind_and_poll_vs_shutdown() {
        model(|| {
            let sched = TestSched::with_owned();
            let futures = Tracker::default();
            let s = sched.clone();
            let f = futures.clone();
            let t1 = thread::spawn(move || {
                let owned = s.owned.as_ref().unwrap();
                let (jh, notified) = owned.bind(
                    future(&f, |_| Poll::<()>::Pending),
                    s.clone(),
                    Id::next(),
                    meta(),
                );
                if let Some(notified) = notified {
                    notified.run();
                }
                jh
            });
            sched.owned.as_ref().unwrap().close_and_shutdown_all();
            let mut jh = t1.join().unwrap();

            assert_eq!(futures.live(), 0, "shutdown did not cancel the task");
            let w = StdArc::new(FlagWaker::default());
            assert!(matches!(poll_join_with(&mut jh, &w), Poll::Ready(Err(e)) if e.is_cancelled()));
            drop(jh);
            assert_no_leaks(&sched);
        });
    }
}
