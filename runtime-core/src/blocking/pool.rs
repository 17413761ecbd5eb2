//! The blocking pool's threads and queue.
//!
//! State under one mutex: the FIFO queue, thread counts (`num_th`, `num_idle`), pending
//! wake-ups (`num_notify`, so a spurious condvar wake-up is told apart from a real one), the
//! shutdown flag, how many closures are running (`running`) and whether the time driver waits for
//! the pool to go quiet (`idle_waiter`: a paused clock may only jump ahead while no blocking
//! closure can still wake a task). A spawn wakes an idle thread if there is one, else starts a thread if under
//! the cap, else leaves the task queued for the next free thread.
//!
//! Shutdown: set the flag and wake everyone; threads finish the closure they run (it cannot be
//! interrupted), cancel what is still queued, and exit. The caller waits for them up to its
//! deadline and detaches the rest.

use super::BlockingSchedule;
use crate::context;
use crate::loom::sync::{Condvar, Mutex};
use crate::scheduler::{self, Callback, Config, ThreadNameFn};
use crate::task::UnownedTask;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

type Task = UnownedTask<BlockingSchedule>;

/// Spawns onto the pool; cloned into every runtime handle.
#[derive(Clone)]
pub(crate) struct Spawner {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Mutex<Shared>,
    condvar: Condvar,
    /// Signalled when `num_th` drops to zero.
    all_exited: Condvar,
    thread_name: ThreadNameFn,
    stack_size: Option<usize>,
    after_start: Option<Callback>,
    before_stop: Option<Callback>,
    thread_cap: usize,
    keep_alive: Duration,
}

#[derive(Default)]
struct Shared {
    queue: VecDeque<Task>,
    num_th: usize,
    num_idle: usize,
    num_notify: usize,
    /// Closures taken off the queue and not finished yet.
    running: usize,
    /// Someone asked [`Spawner::is_idle_or_notify`] while the pool was busy: unpark the
    /// runtime's driver when it becomes idle.
    idle_waiter: bool,
    shutdown: bool,
    next_thread_id: usize,
    threads: HashMap<usize, std::thread::JoinHandle<()>>,
}

impl Spawner {
    pub(crate) fn new(config: &Config) -> Spawner {
        assert!(
            config.max_blocking_threads > 0,
            "max_blocking_threads must be at least 1"
        );
        Spawner {
            inner: Arc::new(Inner {
                shared: Mutex::new(Shared::default()),
                condvar: Condvar::new(),
                all_exited: Condvar::new(),
                thread_name: config.thread_name.clone(),
                stack_size: config.thread_stack_size,
                after_start: config.on_thread_start.clone(),
                before_stop: config.on_thread_stop.clone(),
                thread_cap: config.max_blocking_threads,
                keep_alive: config.thread_keep_alive,
            }),
        }
    }

    /// Queues `task`; after shutdown it is cancelled instead (its JoinHandle resolves
    /// `Cancelled`).
    ///
    /// # Panics
    ///
    /// If the pool has no thread at all and the OS refuses to start one: the closure could
    /// never run, and hanging its JoinHandle forever would hide the cause.
    pub(crate) fn spawn_task(&self, task: Task, rt: &scheduler::Handle) {
        let mut shared = self.inner.shared.lock();
        if shared.shutdown {
            drop(shared);
            task.shutdown();
            return;
        }
        shared.queue.push_back(task);
        if shared.num_idle > 0 {
            shared.num_idle -= 1;
            shared.num_notify += 1;
            self.inner.condvar.notify_one();
            return;
        }
        if shared.num_th >= self.inner.thread_cap {
            // Every thread is busy and no more may start: the task waits its turn.
            return;
        }
        let id = shared.next_thread_id;
        shared.next_thread_id += 1;
        match self.spawn_thread(id, rt) {
            Ok(handle) => {
                shared.num_th += 1;
                shared.threads.insert(id, handle);
            }
            Err(e) if shared.num_th == 0 => {
                let task = shared.queue.pop_back();
                drop(shared);
                drop(task);
                panic!("failed to start a blocking-pool thread and the pool has none to run spawn_blocking: {e}");
            }
            Err(e) => {
                // A running thread will pick the task up when it is done.
                tracing::warn!(error = %e, "could not start an extra blocking-pool thread");
            }
        }
    }

    fn spawn_thread(
        &self,
        id: usize,
        rt: &scheduler::Handle,
    ) -> std::io::Result<std::thread::JoinHandle<()>> {
        let mut builder = std::thread::Builder::new().name((self.inner.thread_name)());
        if let Some(size) = self.inner.stack_size {
            builder = builder.stack_size(size);
        }
        let inner = self.inner.clone();
        let rt = rt.clone();
        builder.spawn(move || inner.run(id, rt))
    }

    /// True if no closure is queued or running. Otherwise false, and the runtime's driver is
    /// unparked once the pool becomes idle (so a paused clock that waits for the pool to go
    /// quiet gets another chance to auto-advance).
    pub(crate) fn is_idle_or_notify(&self) -> bool {
        let mut shared = self.inner.shared.lock();
        let idle = shared.queue.is_empty() && shared.running == 0;
        if !idle {
            shared.idle_waiter = true;
        }
        idle
    }

    /// Stops the pool; waits for running closures until `deadline` (forever if `None`).
    /// True if every thread exited in time.
    pub(crate) fn shutdown(&self, deadline: Option<Instant>) -> bool {
        let mut shared = self.inner.shared.lock();
        shared.shutdown = true;
        self.inner.condvar.notify_all();
        while shared.num_th > 0 {
            match deadline {
                None => shared = self.inner.all_exited.wait(shared),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    shared = self.inner.all_exited.wait_timeout(shared, deadline - now).0;
                }
            }
        }
        let all_exited = shared.num_th == 0;
        let threads = std::mem::take(&mut shared.threads);
        drop(shared);
        if all_exited {
            for (_, thread) in threads {
                let _ = thread.join();
            }
        }
        // Otherwise the remaining threads are detached: they exit when their closure returns.
        all_exited
    }
}

impl Inner {
    fn run(&self, id: usize, rt: scheduler::Handle) {
        if let Some(cb) = &self.after_start {
            cb();
        }
        {
            let _current = context::set_current(&rt);
            self.work(id, &rt);
        }
        if let Some(cb) = &self.before_stop {
            cb();
        }
        let mut shared = self.shared.lock();
        shared.num_th -= 1;
        if shared.num_th == 0 {
            self.all_exited.notify_all();
        }
    }

    fn work(&self, id: usize, rt: &scheduler::Handle) {
        let mut shared = self.shared.lock();
        'main: loop {
            // Busy: run what is queued.
            while !shared.shutdown {
                let Some(task) = shared.queue.pop_front() else {
                    break;
                };
                shared.running += 1;
                drop(shared);
                task.run();
                shared = self.shared.lock();
                shared.running -= 1;
                if shared.idle_waiter && shared.running == 0 && shared.queue.is_empty() {
                    shared.idle_waiter = false;
                    drop(shared);
                    rt.unpark_driver();
                    shared = self.shared.lock();
                }
            }
            if shared.shutdown {
                break 'main;
            }
            // Idle: wait for a notification, shutdown or the keep-alive timeout.
            shared.num_idle += 1;
            loop {
                let (s, timed_out) = self.condvar.wait_timeout(shared, self.keep_alive);
                shared = s;
                if shared.num_notify > 0 {
                    // A real wake-up: the notifier already took us off the idle count.
                    shared.num_notify -= 1;
                    continue 'main;
                }
                if shared.shutdown {
                    shared.num_idle -= 1;
                    break 'main;
                }
                if timed_out {
                    shared.num_idle -= 1;
                    // Idle too long: leave. Dropping our JoinHandle detaches this thread.
                    let me = shared.threads.remove(&id);
                    drop(shared);
                    drop(me);
                    return;
                }
            }
        }
        // Shutdown: cancel whatever is still queued.
        while let Some(task) = shared.queue.pop_front() {
            drop(shared);
            task.shutdown();
            shared = self.shared.lock();
        }
    }
}
