//! The multi-thread, work-stealing scheduler.
//!
//! Shape (docs/architecture.md has the full map):
//! * N workers, each with a crossbeam FIFO deque (stealable) and a [`NextSlot`] (not stolen,
//!   but the monitor may hand it over), sharing one crossbeam `Injector` for work that comes
//!   from outside the runtime, from the monitor, or from the driver thread.
//! * Parking follows the protocol in [`idle`]: no lost wake-ups, at most half the workers
//!   searching, the last searcher wakes the next.
//! * A monitor thread runs the driver stack (timers, I/O) and watches the workers: it hands
//!   the next slot of a worker stuck in one poll to an idle worker and reports stalls.
//!
//! Shutdown: set the flag, wake everyone, cancel every listed task, wait for the threads,
//! drain the injector. Pushes to the injector are fenced against the final drain by
//! `remote_pushers`, so no notification (and no task) leaks.

pub(crate) mod idle;
pub(crate) mod monitor;
pub(crate) mod next_slot;
pub(crate) mod worker;

pub use monitor::StallReport;

use self::idle::Idle;
use self::monitor::Monitor;
use self::next_slot::NextSlot;
use super::{Common, Config};
use crate::blocking;
use crate::loom::deque::{Injector, Steal, Stealer};
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use crate::loom::sync::{Condvar, Mutex};
use crate::park::{Park, Parker};
use crate::task::core::TaskMeta;
use crate::task::list::OwnedTasks;
use crate::task::{self, Id, JoinHandle, Schedule};
use crossbeam_utils::CachePadded;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) type Notified = task::Notified<Arc<Handle>>;

pub(crate) struct Handle {
    pub(crate) shared: Shared,
    pub(crate) common: Common,
}

pub(crate) struct Shared {
    pub(crate) remotes: Box<[CachePadded<Remote>]>,
    pub(crate) injector: Injector<Notified>,
    pub(crate) idle: Idle,
    pub(crate) owned: OwnedTasks<Arc<Handle>>,
    is_shutdown: AtomicBool,
    /// Threads inside `push_remote`; the final drain waits for them (see module doc).
    remote_pushers: AtomicUsize,
    pub(crate) monitor: Monitor,
    /// Worker and monitor threads still running.
    pub(crate) threads: ThreadCount,
    /// Runtime start, the epoch of the monitor's timestamps.
    pub(crate) epoch: Instant,
}

/// The part of a worker other threads see.
pub(crate) struct Remote {
    pub(crate) stealer: Stealer<Notified>,
    pub(crate) next: NextSlot<Arc<Handle>>,
    pub(crate) unpark: Parker,
    /// Odd while the worker is inside a poll; +1 at each poll start and end (owner writes).
    pub(crate) poll_seq: AtomicU64,
    /// Id of the task being polled (valid while `poll_seq` is odd).
    pub(crate) task_id: AtomicU64,
    /// The `poll_seq` the monitor reported as a stall, and when it first saw that poll
    /// (nanoseconds since `epoch`), so the worker can complete the report.
    pub(crate) stall_seq: AtomicU64,
    pub(crate) stall_since: AtomicU64,
}

/// Counts live threads; shutdown waits (with an optional deadline) for zero.
pub(crate) struct ThreadCount {
    count: Mutex<usize>,
    zero: Condvar,
}

impl ThreadCount {
    fn new() -> ThreadCount {
        ThreadCount {
            count: Mutex::new(0),
            zero: Condvar::new(),
        }
    }

    pub(crate) fn enter(&self) {
        *self.count.lock() += 1;
    }

    pub(crate) fn exit(&self) {
        let mut count = self.count.lock();
        *count -= 1;
        if *count == 0 {
            self.zero.notify_all();
        }
    }

    /// True if every thread exited before the deadline.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut count = self.count.lock();
        while *count > 0 {
            match deadline {
                None => count = self.zero.wait(count),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    count = self.zero.wait_timeout(count, deadline - now).0;
                }
            }
        }
        true
    }
}

/// The owner side of a multi-thread scheduler (held by `Runtime`).
pub(crate) struct MultiThread {
    handle: Arc<Handle>,
}

impl MultiThread {
    /// Starts the workers and the monitor thread (which parks on `driver`).
    pub(crate) fn new(config: Config, driver: Box<dyn Park>) -> std::io::Result<(MultiThread, Arc<Handle>)> {
        let n = config.worker_threads;
        assert!(n > 0, "worker_threads must be at least 1");
        let mut cores = Vec::with_capacity(n);
        let mut remotes = Vec::with_capacity(n);
        for index in 0..n {
            let (core, remote) = worker::Core::new(index);
            cores.push(core);
            remotes.push(CachePadded::new(remote));
        }
        let blocking = blocking::Spawner::new(&config);
        let handle = Arc::new(Handle {
            shared: Shared {
                remotes: remotes.into_boxed_slice(),
                injector: Injector::new(),
                idle: Idle::new(n),
                owned: OwnedTasks::new(n * 4),
                is_shutdown: AtomicBool::new(false),
                remote_pushers: AtomicUsize::new(0),
                monitor: Monitor::new(driver.unparker()),
                threads: ThreadCount::new(),
                epoch: Instant::now(),
            },
            common: Common { config, blocking },
        });
        let rt = MultiThread { handle: handle.clone() };
        monitor::spawn_thread(&handle, driver)?;
        for core in cores {
            if let Err((e, core)) = worker::spawn_thread(&handle, core) {
                drop(core);
                rt.shutdown(None);
                return Err(e);
            }
        }
        Ok((rt, handle))
    }

    /// Shuts the scheduler down; true if every thread exited before the deadline.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        let handle = &self.handle;
        if handle.shared.is_shutdown.swap(true, SeqCst) {
            // Somebody else shut down already; wait like they did.
            return handle.shared.threads.wait(deadline);
        }
        for (index, remote) in handle.shared.remotes.iter().enumerate() {
            handle.shared.idle.unpark_worker_by_id(index);
            remote.unpark.unpark();
        }
        handle.shared.monitor.unpark();
        // Cancel every task: idle ones here, running ones by their worker after the poll.
        {
            let scheduler_handle = super::Handle {
                inner: super::Kind::MultiThread(handle.clone()),
            };
            let _enter = crate::context::set_current(&scheduler_handle);
            handle.shared.owned.close_and_shutdown_all();
        }
        let all_exited = handle.shared.threads.wait(deadline);
        handle.drain_injector();
        all_exited
    }
}

impl Handle {
    pub(crate) fn spawn<F>(me: &Arc<Handle>, future: F, id: Id, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = me.shared.owned.bind(future, me.clone(), id, meta);
        if let Some(notified) = notified {
            me.schedule_task(notified, false);
        }
        join
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shared.is_shutdown.load(Acquire)
    }

    fn schedule_task(self: &Arc<Self>, task: Notified, is_yield: bool) {
        let task = worker::with_local_core(self, |core| match core {
            Some(core) => {
                core.schedule_local(self, task, is_yield);
                None
            }
            None => Some(task),
        });
        if let Some(task) = task {
            self.push_remote(task);
            self.notify_parked();
        }
    }

    /// Pushes to the injector; after shutdown the notification is dropped instead.
    pub(crate) fn push_remote(&self, task: Notified) {
        self.shared.remote_pushers.fetch_add(1, SeqCst);
        if self.shared.is_shutdown.load(SeqCst) {
            drop(task);
        } else {
            self.shared.injector.push(task);
        }
        self.shared.remote_pushers.fetch_sub(1, Release);
    }

    /// Drops every queued notification; called once all threads are gone (or timed out).
    fn drain_injector(&self) {
        while self.shared.remote_pushers.load(SeqCst) != 0 {
            crate::loom::thread::yield_now();
        }
        loop {
            match self.shared.injector.steal() {
                Steal::Success(task) => drop(task),
                Steal::Empty => break,
                Steal::Retry => {}
            }
        }
    }

    /// Wakes a parked worker if nobody is searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(index) = self.shared.idle.worker_to_notify() {
            self.shared.monitor.worker_unparked();
            self.shared.remotes[index].unpark.unpark();
        }
    }

    /// Called by the last searcher before it parks: wakes a worker if any queue has work.
    pub(crate) fn notify_if_work_pending(&self) {
        let pending = self.shared.remotes.iter().any(|r| !r.stealer.is_empty())
            || !self.shared.injector.is_empty();
        if pending {
            self.notify_parked();
        }
    }

    pub(crate) fn stall_reports(&self) -> Vec<StallReport> {
        self.shared.monitor.stall_reports()
    }

    pub(crate) fn handoff_count(&self) -> u64 {
        self.shared.monitor.handoff_count()
    }

    pub(crate) fn config(&self) -> &Config {
        &self.common.config
    }

    pub(crate) fn since_epoch(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.shared.epoch).as_nanos() as u64
    }

    pub(crate) fn from_epoch(&self, nanos: u64) -> Instant {
        self.shared.epoch + Duration::from_nanos(nanos)
    }
}

impl Schedule for Arc<Handle> {
    fn release(&self, task: &task::Task<Self>) -> Option<task::Task<Self>> {
        self.shared.owned.remove(task)
    }

    fn schedule(&self, task: Notified) {
        self.schedule_task(task, false);
    }

    fn yield_now(&self, task: Notified) {
        self.schedule_task(task, true);
    }
}
