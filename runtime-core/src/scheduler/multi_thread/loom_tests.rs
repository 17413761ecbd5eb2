//! Loom models of the multi-thread scheduler's cross-thread protocols:
//!
//! * the next slot hand-off between its owner worker and the monitor ([`NextSlot`]);
//! * the parking protocol ([`Idle`] + [`Parker`]): a remote spawn must never be stranded in
//!   the injector while every worker sleeps.
//!
//! Run with `.ci/loom.sh`. Bookkeeping counters are std atomics: they are not part of the
//! protocols under test and loom runs every model thread on one OS thread.

use super::idle::Idle;
use super::next_slot::NextSlot;
use crate::loom::deque::Injector;
use crate::loom::model;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::park::Parker;
use crate::task::core::TaskMeta;
use crate::task::{new_task, Id, JoinHandle, Notified, Schedule, Task};
use loom::sync::Arc;
use loom::thread;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll};

/// Tasks of the next-slot models are moved around and run, never woken: `schedule` is never
/// called, and `release` finds no owned list.
struct TestSched;

impl Schedule for Arc<TestSched> {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }

    fn schedule(&self, _task: Notified<Self>) {
        unreachable!("next-slot test tasks are never woken");
    }
}

/// Ready on its first poll; counts its polls.
struct CountPolls(StdArc<StdAtomicUsize>);

impl Future for CountPolls {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        let prev = self.0.fetch_add(1, SeqCst);
        assert_eq!(prev, 0, "a task was polled twice");
        Poll::Ready(())
    }
}

struct TestTask {
    task: Task<Arc<TestSched>>,
    join: JoinHandle<()>,
    polls: StdArc<StdAtomicUsize>,
}

#[track_caller]
fn test_task(sched: &Arc<TestSched>) -> (TestTask, Notified<Arc<TestSched>>) {
    let polls = StdArc::new(StdAtomicUsize::new(0));
    let meta = TaskMeta {
        name: None,
        location: Location::caller(),
    };
    let (task, notified, join) =
        new_task(CountPolls(polls.clone()), sched.clone(), Id::next(), meta);
    (TestTask { task, join, polls }, notified)
}

impl TestTask {
    fn id(&self) -> Id {
        self.task.id()
    }

    /// Ran exactly once; then releases the test's references.
    fn finish(self) {
        assert_eq!(
            self.polls.load(SeqCst),
            1,
            "the notification was lost or duplicated"
        );
        assert!(self.join.is_finished());
        drop(self.join);
        drop(self.task);
    }
}

/// Runs a notification taken from the slot (as the worker, or whoever the monitor hands it
/// to, would); returns its task id.
fn run(task: Notified<Arc<TestSched>>) -> Id {
    let id = task.id();
    task.run();
    id
}

/// The owner puts a task in its next slot and takes it back, while the monitor takes it
/// concurrently: exactly one of them gets it (and runs it, which also checks the task's data
/// is visible to the taker), and the task is freed.
#[test]
fn next_slot_put_take_vs_monitor_take() {
    model(|| {
        let sched = Arc::new(TestSched);
        let slot = Arc::new(NextSlot::<Arc<TestSched>>::new());
        let monitor_slot = slot.clone();
        let monitor = thread::spawn(move || monitor_slot.take().map(run));

        // Created after the monitor started: only the slot orders its creation before the
        // monitor's poll.
        let (task, notified) = test_task(&sched);

        assert!(slot.put(notified).is_none(), "the slot was empty");
        let owner_took = slot.take().map(run);
        let monitor_took = monitor.join().unwrap();

        assert_eq!(
            usize::from(owner_took.is_some()) + usize::from(monitor_took.is_some()),
            1,
            "owner {owner_took:?}, monitor {monitor_took:?}"
        );
        assert_eq!(owner_took.or(monitor_took), Some(task.id()));
        assert!(slot.is_empty());
        task.finish();
        drop(slot);
        assert_eq!(Arc::strong_count(&sched), 1, "a task was leaked");
    });
}

/// The owner puts two tasks (the second displaces the first, which the owner then runs, as
/// `schedule_local` pushes it to the local queue) and takes, while the monitor takes: each
/// task is obtained (and run) exactly once, by exactly one party.
#[test]
fn next_slot_displacing_put_vs_monitor_take() {
    model(|| {
        let sched = Arc::new(TestSched);
        let slot = Arc::new(NextSlot::<Arc<TestSched>>::new());
        let monitor_slot = slot.clone();
        let monitor = thread::spawn(move || monitor_slot.take().map(run));

        let (t1, n1) = test_task(&sched);
        let (t2, n2) = test_task(&sched);

        let mut got = Vec::new();
        assert!(slot.put(n1).is_none(), "the slot was empty");
        got.extend(slot.put(n2).map(run));
        got.extend(slot.take().map(run));
        got.extend(monitor.join().unwrap());
        // Whatever is left is dropped with the slot in the real scheduler; run it here so
        // every task is accounted for.
        got.extend(slot.take().map(run));

        got.sort();
        let mut want = vec![t1.id(), t2.id()];
        want.sort();
        assert_eq!(got, want, "a task was lost or obtained twice");
        t1.finish();
        t2.finish();
        drop(slot);
        assert_eq!(Arc::strong_count(&sched), 1, "a task was leaked");
    });
}

const WORKERS: usize = 2;

/// What two workers and a remote spawner share: the real idle protocol and parkers, and an
/// injector of work items.
struct Shared {
    idle: Idle,
    parkers: [Parker; WORKERS],
    injector: Injector<usize>,
    /// Set by the worker that consumed the item; every worker then exits (like shutdown).
    done: AtomicBool,
    consumed: StdAtomicUsize,
}

impl Shared {
    /// `Handle::notify_parked`.
    fn notify_parked(&self) {
        if let Some(index) = self.idle.worker_to_notify() {
            self.parkers[index].unpark();
        }
    }

    /// `Core::pull_injector` (the local queue is always empty here, so a batch steal of the
    /// injector is a plain steal).
    fn pull_injector(&self) -> Option<usize> {
        if self.injector.is_empty() {
            return None;
        }
        match self.injector.steal() {
            crate::loom::deque::Steal::Success(item) => Some(item),
            _ => None,
        }
    }

    /// The consumer ends the model: like `MultiThread::shutdown`, set the flag, then take
    /// every worker off the sleeper list and unpark it.
    fn finish(&self) {
        self.done.store(true, SeqCst);
        for (index, parker) in self.parkers.iter().enumerate() {
            self.idle.unpark_worker_by_id(index);
            parker.unpark();
        }
    }
}

/// The search/park sequence of `worker::Context::run` / `park`, with the local queue, the
/// next slot and the other worker's stealer always empty (the only work is the item the
/// remote spawner pushes to the injector).
fn worker_loop(shared: &Shared, index: usize) {
    let mut is_searching = false;
    loop {
        if shared.done.load(SeqCst) {
            return;
        }
        // next_task: next slot and local queue are empty; then the injector.
        let mut item = shared.pull_injector();
        if item.is_none() {
            // steal_work: only a searcher looks further (other workers, then the injector).
            if !is_searching {
                is_searching = shared.idle.transition_worker_to_searching();
            }
            if is_searching {
                item = shared.pull_injector();
            }
        }
        if item.is_some() {
            // run_task: stop searching; the last searcher wakes the next worker.
            if is_searching && shared.idle.transition_worker_from_searching() {
                shared.notify_parked();
            }
            shared.consumed.fetch_add(1, SeqCst);
            shared.finish();
            return;
        }
        // park -> transition_to_parked: the last searcher re-checks the queues.
        let last_searcher = shared.idle.transition_worker_to_parked(index, is_searching);
        // (`is_searching` is now false; the wake-up below sets it again.)
        if last_searcher && !shared.injector.is_empty() {
            // notify_if_work_pending
            shared.notify_parked();
        }
        loop {
            shared.parkers[index].park();
            if shared.done.load(SeqCst) {
                return;
            }
            // transition_from_parked: off the sleeper list means a notification, and the
            // notifier counted us as searching.
            if !shared.idle.is_parked(index) {
                is_searching = true;
                break;
            }
        }
    }
}

/// No lost wake-up: two workers run the real search/park protocol while the main thread
/// (a remote spawn) pushes one item to the injector and calls `worker_to_notify` + unpark.
/// The item must be consumed exactly once; if every worker could end up asleep with the item
/// still queued, loom reports the deadlock.
#[test]
fn idle_park_no_lost_wakeup_remote_spawn() {
    model(|| {
        let shared = Arc::new(Shared {
            idle: Idle::new(WORKERS),
            parkers: [Parker::new(), Parker::new()],
            injector: Injector::new(),
            done: AtomicBool::new(false),
            consumed: StdAtomicUsize::new(0),
        });

        let workers: Vec<_> = (0..WORKERS)
            .map(|index| {
                let shared = shared.clone();
                thread::spawn(move || worker_loop(&shared, index))
            })
            .collect();

        // Handle::schedule_task from outside the runtime: push_remote + notify_parked.
        shared.injector.push(0);
        shared.notify_parked();

        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(shared.consumed.load(SeqCst), 1);
        assert!(shared.injector.is_empty());
    });
}
