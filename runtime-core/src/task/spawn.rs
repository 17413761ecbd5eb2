//! The free functions of the task API: `spawn`, `spawn_blocking`, `block_in_place`, `id`,
//! `try_id`, `yield_now`.

use super::core::TaskMeta;
use super::{Id, JoinHandle};
use crate::context;
use std::future::Future;
use std::task::Poll;

/// Panics with a message naming `function` and saying how to enter a runtime.
#[track_caller]
pub(crate) fn outside_runtime(function: &str) -> ! {
    panic!(
        "{function} called outside of a runtime: call it from within Runtime::block_on, a spawned task \
         or a #[runtime::main] function, or enter a runtime first with Runtime::enter() / Handle::enter()"
    )
}

/// Spawns a task onto the current runtime and returns its [`JoinHandle`].
///
/// The task starts running in the background right away; awaiting the handle is optional.
/// On a multi-thread runtime a task spawned from a worker runs next on that worker (the
/// "next slot"), unless the worker is stuck, in which case the monitor hands it to another.
///
/// # Panics
///
/// Outside a runtime, with a message that says how to enter one.
///
/// # Examples
///
/// ```
/// #[runtime::main]
/// async fn main() {
///     let handle = runtime::spawn(async { 40 + 2 });
///     assert_eq!(handle.await.unwrap(), 42);
/// }
/// ```
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let meta = TaskMeta::unnamed();
    match context::with_current(|h| h.spawn_with(future, meta)) {
        Ok(join) => join,
        Err(_) => outside_runtime("runtime::spawn"),
    }
}

/// Runs a blocking closure on the current runtime's blocking pool.
///
/// Queued closures are cancelled at shutdown; a running one cannot be stopped (its
/// `JoinHandle::abort` has no effect once it started).
///
/// # Panics
///
/// Outside a runtime.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let len = runtime::task::spawn_blocking(|| std::fs::read("Cargo.toml").map(|b| b.len()))
///     .await
///     .expect("the closure panicked")?;
/// assert!(len > 0);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let meta = TaskMeta::unnamed();
    match context::with_current(|h| h.spawn_blocking_with(f, meta)) {
        Ok(join) => join,
        Err(_) => outside_runtime("runtime::task::spawn_blocking"),
    }
}

/// Runs blocking code on the current worker thread after handing the worker's queued tasks to
/// a new thread, so they keep running meanwhile.
///
/// Outside a runtime, or from a multi-thread runtime's `block_on` thread, `f` simply runs.
///
/// # Panics
///
/// On a current-thread runtime, which has no other thread to take over: use
/// [`spawn_blocking`] there.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// runtime::spawn(async {
///     // Blocks this worker, but its queued tasks move to another thread meanwhile.
///     let v = runtime::task::block_in_place(|| (1..=10u64).product::<u64>());
///     assert_eq!(v, 3_628_800);
/// })
/// .await
/// .unwrap();
/// # });
/// ```
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    crate::scheduler::multi_thread::worker::block_in_place(f)
}

/// The id of the task currently running.
///
/// # Panics
///
/// Outside a task; use [`try_id`] to get `None` instead.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let handle = runtime::spawn(async { runtime::task::id() });
/// assert_eq!(handle.id(), handle.await.unwrap());
/// # });
/// ```
#[track_caller]
pub fn id() -> Id {
    context::current_task_id()
        .expect("runtime::task::id() called outside of a task: use runtime::task::try_id() where there may be none")
}

/// The id of the task currently running, or `None` outside a task.
pub fn try_id() -> Option<Id> {
    context::current_task_id()
}

/// Yields to the scheduler: the task goes to the back of its worker's queue and the others
/// run first.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let work = vec![1u64; 10_000];
/// let mut sum = 0;
/// for chunk in work.chunks(1000) {
///     sum += chunk.iter().sum::<u64>();
///     runtime::task::yield_now().await;
/// }
/// assert_eq!(sum, 10_000);
/// # });
/// ```
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        // Woken while running: the scheduler re-queues the task at the back after this poll.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}
