//! Tasks: one allocation per spawned future, reference counted through its state word.
//!
//! Internally a task is reached through typed owners, each holding one reference:
//! * `Task`: the owned-task list's reference (used to release and to shut down).
//! * `Notified`: a notification: the right to poll, held by a run queue.
//! * `UnownedTask`: a blocking-pool task, not on any list (holds two references).
//! * [`JoinHandle`] / [`AbortHandle`] and wakers.
//!
//! `state.rs` specifies the state word and its transitions, `core.rs` the layout and who may
//! touch which field, `harness.rs` the poll/complete/cancel paths. The public part of the
//! module is the task API re-exported as `runtime::task`.

mod abort;
mod builder;
pub(crate) mod core;
mod error;
mod harness;
mod id;
mod join;
mod join_set;
pub(crate) mod list;
mod raw;
mod spawn;
mod state;
mod waker;

pub use abort::AbortHandle;
pub use builder::Builder;
pub use error::JoinError;
pub use id::Id;
pub use join::JoinHandle;
pub use join_set::JoinSet;
pub use spawn::{block_in_place, id, spawn, spawn_blocking, try_id, yield_now};

pub use crate::coop::{consume_budget, Unconstrained};

use self::core::{Header, TaskMeta};
use raw::RawTask;
use std::future::Future;
use std::marker::PhantomData;
use std::mem;
use std::ptr::NonNull;

/// Makes `inner` exempt from cooperative budgeting: it is never forced to yield.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let value = runtime::task::unconstrained(async { 42 }).await;
/// # });
/// ```
pub fn unconstrained<F: Future>(inner: F) -> Unconstrained<F> {
    crate::coop::unconstrained(inner)
}

/// What a scheduler provides to its tasks.
pub(crate) trait Schedule: Send + Sync + Sized + 'static {
    /// Removes the task from the owned-task list; returns the list's reference if it was there.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// Queues a notified task.
    fn schedule(&self, task: Notified<Self>);

    /// Queues a task that woke itself during its poll (yield, budget exhaustion): at the back.
    fn yield_now(&self, task: Notified<Self>) {
        self.schedule(task);
    }
}

/// The owned-task list's reference to a task.
pub(crate) struct Task<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

/// A notification: the right (and duty) to poll the task once.
pub(crate) struct Notified<S: 'static>(Task<S>);

/// A task run by the blocking pool; holds two references (poller + owner).
pub(crate) struct UnownedTask<S: 'static> {
    raw: RawTask,
    _p: PhantomData<S>,
}

// SAFETY: tasks move between threads by design; the futures they contain are `Send` (enforced
// at spawn) and all shared fields follow the state protocol.
unsafe impl<S> Send for Task<S> {}
// SAFETY: as above; `&Task` only exposes the header (atomics and immutable data).
unsafe impl<S> Sync for Task<S> {}
// SAFETY: as above.
unsafe impl<S> Send for UnownedTask<S> {}

impl<S: 'static> Task<S> {
    /// # Safety
    /// The caller transfers one reference of a task whose scheduler type is `S`.
    pub(super) unsafe fn from_raw(raw: RawTask) -> Task<S> {
        Task {
            raw,
            _p: PhantomData,
        }
    }

    fn into_raw(self) -> RawTask {
        let raw = self.raw;
        mem::forget(self);
        raw
    }

    pub(crate) fn header(&self) -> &Header {
        self.raw.header()
    }

    pub(crate) fn id(&self) -> Id {
        self.header().id
    }

    /// Cancels the task if idle; consumes this reference.
    pub(crate) fn shutdown(self) {
        self.into_raw().shutdown();
    }
}

impl<S: 'static> Drop for Task<S> {
    fn drop(&mut self) {
        self.raw.drop_reference();
    }
}

impl<S: 'static> Notified<S> {
    /// # Safety
    /// The caller transfers one notification reference.
    pub(super) unsafe fn from_raw(raw: RawTask) -> Notified<S> {
        // SAFETY: forwarded contract.
        Notified(unsafe { Task::from_raw(raw) })
    }

    /// Polls the task, consuming the notification.
    pub(crate) fn run(self) {
        self.0.into_raw().poll();
    }

    pub(crate) fn id(&self) -> Id {
        self.0.id()
    }

    /// The task pointer, carrying the notification reference (for atomic slots).
    pub(crate) fn into_header_ptr(self) -> NonNull<Header> {
        self.0.into_raw().header_ptr()
    }

    /// # Safety
    /// `ptr` came from [`into_header_ptr`](Self::into_header_ptr) of a `Notified<S>`.
    pub(crate) unsafe fn from_header_ptr(ptr: NonNull<Header>) -> Notified<S> {
        // SAFETY: forwarded contract: the pointer carries a notification reference.
        unsafe { Notified::from_raw(RawTask::from_raw(ptr)) }
    }
}

impl<S: 'static> UnownedTask<S> {
    pub(crate) fn run(self) {
        let raw = self.raw;
        mem::forget(self);
        // One reference is the poll's notification, the other the owner's, dropped after.
        // SAFETY: this UnownedTask owned two references.
        let owner = unsafe { Task::<S>::from_raw(raw) };
        raw.poll();
        drop(owner);
    }

    /// Cancels the task without running it.
    pub(crate) fn shutdown(self) {
        let raw = self.raw;
        mem::forget(self);
        // Drop the notification's reference; `shutdown` consumes the owner's.
        raw.header().state.ref_dec();
        raw.shutdown();
    }
}

impl<S: 'static> Drop for UnownedTask<S> {
    fn drop(&mut self) {
        if self.raw.header().state.transition_to_terminal(2) {
            self.raw.dealloc();
        }
    }
}

/// Allocates a task: its list reference, its first notification and its join handle.
pub(crate) fn new_task<T, S>(
    future: T,
    scheduler: S,
    id: Id,
    meta: TaskMeta,
) -> (Task<S>, Notified<S>, JoinHandle<T::Output>)
where
    T: Future + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, id, meta);
    // SAFETY: a new task starts with three references: list, notification, JoinHandle.
    unsafe {
        (
            Task::from_raw(raw),
            Notified::from_raw(raw),
            JoinHandle::from_raw(raw),
        )
    }
}

/// Creates a task listed in `owned` and hands its first notification to `scheduler` (if the
/// list is closed the task is cancelled at once instead).
pub(crate) fn spawn_listed<T, S>(
    owned: &list::OwnedTasks<S>,
    scheduler: &S,
    future: T,
    id: Id,
    meta: TaskMeta,
) -> JoinHandle<T::Output>
where
    T: Future + Send + 'static,
    T::Output: Send + 'static,
    S: Schedule + Clone,
{
    let (join, notified) = owned.bind(future, scheduler.clone(), id, meta);
    if let Some(notified) = notified {
        scheduler.schedule(notified);
    }
    join
}

/// Allocates a blocking-pool task.
pub(crate) fn unowned<T, S>(
    future: T,
    scheduler: S,
    id: Id,
    meta: TaskMeta,
) -> (UnownedTask<S>, JoinHandle<T::Output>)
where
    T: Future + Send + 'static,
    T::Output: Send + 'static,
    S: Schedule,
{
    let raw = RawTask::new(future, scheduler, id, meta);
    // The list's and the notification's references both go to the UnownedTask.
    let task = UnownedTask {
        raw,
        _p: PhantomData,
    };
    // SAFETY: the third reference is the JoinHandle's.
    (task, unsafe { JoinHandle::from_raw(raw) })
}

#[cfg(test)]
mod tests;
