//! The blocking pool: `spawn_blocking` closures run on dedicated threads, created on demand up
//! to `max_blocking_threads`, exiting after `thread_keep_alive` without work.
//!
//! A blocking closure is wrapped in a one-shot future ([`BlockingTask`]) and becomes an
//! ordinary task (so it gets a `JoinHandle`, an id, panic capture) that is never on the owned
//! list and never rescheduled: it is polled exactly once, by a pool thread.

mod pool;

pub(crate) use pool::Spawner;

use crate::coop;
use crate::scheduler;
use crate::task::core::TaskMeta;
use crate::task::{self, Id, JoinHandle, Schedule, Task};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs `f` on `rt`'s blocking pool.
pub(crate) fn spawn_blocking<F, R>(rt: &scheduler::Handle, f: F, meta: TaskMeta) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let (task, join) = task::unowned(
        BlockingTask { func: Some(f) },
        BlockingSchedule,
        Id::next(),
        meta,
    );
    rt.common().blocking.spawn_task(task, rt);
    join
}

/// A closure run as a future that completes on its first poll.
struct BlockingTask<F> {
    func: Option<F>,
}

impl<F> Unpin for BlockingTask<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingTask<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<R> {
        let func = self
            .func
            .take()
            .expect("a blocking task was polled after it completed");
        // Blocking code is not subject to cooperative budgeting.
        Poll::Ready(coop::with_unconstrained(func))
    }
}

/// The "scheduler" of blocking tasks: they are never listed and never woken.
pub(crate) struct BlockingSchedule;

impl Schedule for BlockingSchedule {
    fn release(&self, _task: &Task<Self>) -> Option<Task<Self>> {
        None
    }

    fn schedule(&self, _task: task::Notified<Self>) {
        // A blocking task starts NOTIFIED and is never handed a waker, and aborting a NOTIFIED
        // task only sets CANCELLED: no notification can ever be created for it.
        unreachable!("blocking tasks are never rescheduled");
    }
}
