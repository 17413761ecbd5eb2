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
//! drain the injector ([`inject`] makes sure a push racing that drain leaks nothing).

pub(crate) mod idle;
pub(crate) mod inject;
#[cfg(all(test, loom))]
mod loom_tests;
pub(crate) mod monitor;
pub(crate) mod next_slot;
pub(crate) mod worker;

pub use monitor::StallReport;

use self::idle::Idle;
use self::inject::Inject;
use self::monitor::Monitor;
use self::next_slot::NextSlot;
use super::{Common, Config};
use crate::blocking;
use crate::loom::deque::Stealer;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use crate::loom::sync::{Condvar, Mutex};
use crate::park::{Park, Parker};
use crate::task::list::OwnedTasks;
use crate::task::{self, Schedule};
use crossbeam_utils::CachePadded;
use std::sync::Arc;
use std::time::Instant;

pub(crate) type Notified = task::Notified<Arc<Handle>>;

pub(crate) struct Handle {
    pub(crate) shared: Shared,
    pub(crate) common: Common,
}

pub(crate) struct Shared {
    pub(crate) remotes: Box<[CachePadded<Remote>]>,
    pub(crate) injector: Inject<Notified>,
    pub(crate) idle: Idle,
    pub(crate) owned: OwnedTasks<Arc<Handle>>,
    is_shutdown: AtomicBool,
    pub(crate) monitor: Monitor,
    /// Worker and monitor threads.
    pub(crate) threads: Threads,
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
    /// The `poll_seq` the monitor reported as a stall, so the worker completes the report
    /// when that poll ends.
    pub(crate) stall_seq: AtomicU64,
}

/// The runtime's threads: a live count (decremented as a thread's last act of runtime work)
/// and their join handles, so shutdown can wait with a deadline and then join for real.
pub(crate) struct Threads {
    state: Mutex<ThreadsState>,
    zero: Condvar,
}

struct ThreadsState {
    live: usize,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Threads {
    fn new() -> Threads {
        Threads {
            state: Mutex::new(ThreadsState {
                live: 0,
                handles: Vec::new(),
            }),
            zero: Condvar::new(),
        }
    }

    /// Spawns a runtime thread, counting it and keeping its join handle under one lock, so
    /// a thread that exits at once cannot be missed by `wait`. The thread must call `exit`
    /// as its last act of runtime work. Prunes handles of threads that already ended
    /// (`block_in_place` retires one thread per call).
    pub(crate) fn spawn(
        &self,
        builder: std::thread::Builder,
        f: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        let mut state = self.state.lock();
        let handle = builder.spawn(f)?;
        state.live += 1;
        state.handles.retain(|h| !h.is_finished());
        state.handles.push(handle);
        Ok(())
    }

    pub(crate) fn exit(&self) {
        let mut state = self.state.lock();
        state.live -= 1;
        if state.live == 0 {
            self.zero.notify_all();
        }
    }

    /// Waits until every thread exited (then joins them, so their last drops are done) or
    /// the deadline passed (then they are left running). True if all exited.
    fn wait(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.state.lock();
        while state.live > 0 {
            match deadline {
                None => state = self.zero.wait(state),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    state = self.zero.wait_timeout(state, deadline - now).0;
                }
            }
        }
        let handles = std::mem::take(&mut state.handles);
        drop(state);
        for handle in handles {
            // A live count of zero means none of them is this thread.
            let _ = handle.join();
        }
        true
    }
}

/// Runs `on_thread_start` now; when dropped, runs `on_thread_stop` and counts the thread out.
/// Every worker and the monitor hold one for their whole life (also through a panic).
pub(crate) struct ThreadLife(Arc<Handle>);

impl ThreadLife {
    pub(crate) fn start(handle: &Arc<Handle>) -> ThreadLife {
        if let Some(cb) = &handle.config().on_thread_start {
            cb();
        }
        ThreadLife(handle.clone())
    }
}

impl Drop for ThreadLife {
    fn drop(&mut self) {
        if let Some(cb) = &self.0.config().on_thread_stop {
            cb();
        }
        self.0.shared.threads.exit();
    }
}

/// The owner side of a multi-thread scheduler (held by `Runtime`).
pub(crate) struct MultiThread {
    handle: Arc<Handle>,
}

impl MultiThread {
    /// Starts the workers and the monitor thread (which parks on `driver`).
    pub(crate) fn new(
        config: Config,
        driver: Box<dyn Park>,
    ) -> std::io::Result<(MultiThread, Arc<Handle>)> {
        let n = config.worker_threads;
        assert!(n > 0, "worker_threads must be at least 1");
        let mut cores = Vec::with_capacity(n);
        let mut remotes = Vec::with_capacity(n);
        for index in 0..n {
            let (core, remote) = worker::Core::new(index, n);
            cores.push(core);
            remotes.push(CachePadded::new(remote));
        }
        let blocking = blocking::Spawner::new(&config);
        let driver_unpark = driver.unparker();
        let handle = Arc::new(Handle {
            shared: Shared {
                remotes: remotes.into_boxed_slice(),
                injector: Inject::new(),
                idle: Idle::new(n),
                owned: OwnedTasks::new(n * 4),
                is_shutdown: AtomicBool::new(false),
                monitor: Monitor::new(driver_unpark.clone()),
                threads: Threads::new(),
            },
            common: Common::new(config, blocking, driver_unpark),
        });
        let rt = MultiThread {
            handle: handle.clone(),
        };
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
        handle.shared.injector.close();
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
        handle.shared.injector.drain();
        all_exited
    }
}

impl Handle {
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
        self.shared.injector.push(task);
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
