//! The owned-task list: every live task of a runtime, so shutdown can cancel them all.
//!
//! Sharded by task id, a mutex per shard; each shard is a dense `Vec` and every task knows its
//! index (`Header::owned_index`, touched only under the shard lock), so insert and remove are
//! O(1) (`swap_remove` + fixing the moved task's index). Closing marks every shard under its
//! lock, so a bind that races with shutdown either lands before (and is cancelled with the
//! rest) or sees the closed flag (and is cancelled at once).

use super::core::TaskMeta;
use super::raw::RawTask;
use super::{new_task, Id, JoinHandle, Notified, Schedule, Task};
use crate::loom::sync::Mutex;
use std::future::Future;
use std::marker::PhantomData;

pub(crate) struct OwnedTasks<S: 'static> {
    shards: Box<[Mutex<Shard>]>,
    mask: usize,
    _p: PhantomData<S>,
}

#[derive(Default)]
struct Shard {
    tasks: Vec<RawTask>,
    closed: bool,
}

impl<S: Schedule> OwnedTasks<S> {
    /// A list with a power-of-two number of shards, at least `min_shards`.
    pub(crate) fn new(min_shards: usize) -> OwnedTasks<S> {
        let n = min_shards.clamp(1, 256).next_power_of_two();
        OwnedTasks {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            mask: n - 1,
            _p: PhantomData,
        }
    }

    fn shard(&self, id: Id) -> &Mutex<Shard> {
        &self.shards[(id.as_u64() as usize) & self.mask]
    }

    /// Creates a task and lists it; `None` for the notification if the list is closed (the
    /// task is then already cancelled and its JoinHandle resolves `Cancelled`).
    pub(crate) fn bind<T>(
        &self,
        future: T,
        scheduler: S,
        id: Id,
        meta: TaskMeta,
    ) -> (JoinHandle<T::Output>, Option<Notified<S>>)
    where
        T: Future + Send + 'static,
        T::Output: Send + 'static,
    {
        let (task, notified, join) = new_task(future, scheduler, id, meta);
        let notified = self.bind_inner(task, notified);
        (join, notified)
    }

    fn bind_inner(&self, task: Task<S>, notified: Notified<S>) -> Option<Notified<S>> {
        let mut shard = self.shard(task.id()).lock();
        if shard.closed {
            drop(shard);
            drop(notified);
            task.shutdown();
            return None;
        }
        let index = shard.tasks.len();
        task.header().owned_index.with_mut(|p| {
            // SAFETY: owned_index is only accessed under this shard's lock, which we hold.
            unsafe { *p = index }
        });
        shard.tasks.push(task.into_raw());
        Some(notified)
    }

    /// Unlists the task; returns the list's reference if it was still listed.
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let mut shard = self.shard(task.id()).lock();
        // SAFETY: owned_index is only accessed under this shard's lock, which we hold.
        let index = task.header().owned_index.with(|p| unsafe { *p });
        if shard.tasks.get(index) != Some(&task.raw) {
            // Taken by close_and_shutdown_all, or never listed.
            return None;
        }
        let raw = shard.tasks.swap_remove(index);
        if let Some(moved) = shard.tasks.get(index) {
            // The moved task is listed in this shard, hence live.
            moved.header().owned_index.with_mut(|p| {
                // SAFETY: owned_index is only accessed under this shard's lock, which we hold.
                unsafe { *p = index }
            });
        }
        // SAFETY: the list's reference moves to the returned Task.
        Some(unsafe { Task::from_raw(raw) })
    }

    /// Closes the list (later binds are cancelled at once) and cancels every listed task.
    /// Idle tasks are cancelled here, on this thread; running ones by their poller.
    pub(crate) fn close_and_shutdown_all(&self) {
        for shard in self.shards.iter() {
            let tasks = {
                let mut shard = shard.lock();
                shard.closed = true;
                std::mem::take(&mut shard.tasks)
            };
            for raw in tasks {
                // SAFETY: the list's reference moves to this Task, consumed by shutdown.
                unsafe { Task::<S>::from_raw(raw) }.shutdown();
            }
        }
    }

    /// Name and spawn location of a listed task (diagnostics; O(shard size)).
    pub(crate) fn describe(
        &self,
        id: Id,
    ) -> Option<(Option<String>, &'static std::panic::Location<'static>)> {
        let shard = self.shard(id).lock();
        shard.tasks.iter().find(|t| t.header().id == id).map(|t| {
            let meta = &t.header().meta;
            (meta.name.as_deref().map(String::from), meta.location)
        })
    }

    /// Number of live (listed) tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().tasks.len()).sum()
    }
}
