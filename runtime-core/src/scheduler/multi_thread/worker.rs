//! A worker: the loop that finds a task (next slot, local queue, injector, stealing), runs it
//! under a fresh coop budget, and parks when there is nothing to do.
//!
//! The `Core` (local queue, tick, searching flag) is owned by the thread running the loop; it
//! sits in the thread's scheduler [`Context`] while a task is polled so that wakes from that
//! task reach the local queue, and `block_in_place` can take it and hand it to a new thread.

use super::{Handle, Notified, Remote};
use crate::context;
use crate::coop;
use crate::loom::deque::{Steal, Worker};
use crate::loom::sync::atomic::{AtomicU64, Ordering::*};
use crate::park::Parker;
use crate::scheduler;
use crate::util::FastRand;
use std::cell::RefCell;
use std::sync::Arc;

/// Consecutive polls from the next slot before the local queue gets a turn.
const MAX_NEXT_STREAK: u8 = 3;

/// The worker's scheduler context, installed on its thread.
pub(crate) struct Context {
    pub(crate) handle: Arc<Handle>,
    pub(crate) core: RefCell<Option<Box<Core>>>,
}

pub(crate) struct Core {
    pub(crate) index: usize,
    tick: u32,
    run_queue: Worker<Notified>,
    is_searching: bool,
    is_shutdown: bool,
    next_streak: u8,
    /// A task yielded since the last look at the injector: look there first next time, so
    /// tasks from outside are not starved by tasks that keep yielding to each other.
    injector_first: bool,
    /// The owner's copy of `Remote::poll_seq`.
    poll_seq: u64,
    /// Peers' `poll_seq` at our last maintenance (`check_peers`).
    peer_seqs: Vec<u64>,
    rand: FastRand,
}

impl Core {
    pub(crate) fn new(index: usize, num_workers: usize) -> (Box<Core>, Remote) {
        let run_queue = Worker::new_fifo();
        let remote = Remote {
            stealer: run_queue.stealer(),
            next: super::NextSlot::new(),
            unpark: Parker::new(),
            poll_seq: AtomicU64::new(0),
            task_id: AtomicU64::new(0),
            stall_seq: AtomicU64::new(0),
        };
        let core = Box::new(Core {
            index,
            tick: 0,
            run_queue,
            is_searching: false,
            is_shutdown: false,
            next_streak: 0,
            injector_first: false,
            poll_seq: 0,
            peer_seqs: vec![0; num_workers],
            rand: FastRand::new(index as u64 + 1),
        });
        (core, remote)
    }

    fn remote<'a>(&self, handle: &'a Handle) -> &'a Remote {
        &handle.shared.remotes[self.index]
    }

    /// Queues a task woken or spawned on this worker: the next slot, or the back of the queue
    /// for a yield (never the next slot, so a yielding task cannot monopolise the worker).
    pub(crate) fn schedule_local(&mut self, handle: &Handle, task: Notified, is_yield: bool) {
        let pushed = if is_yield {
            self.run_queue.push(task);
            self.injector_first = true;
            true
        } else if let Some(prev) = self.remote(handle).next.put(task) {
            self.run_queue.push(prev);
            true
        } else {
            false
        };
        if pushed {
            // There is stealable work: make sure somebody may come for it.
            handle.notify_parked();
        }
    }

    fn next_task(&mut self, handle: &Handle) -> Option<Notified> {
        if self.injector_first
            || self
                .tick
                .is_multiple_of(handle.config().global_queue_interval)
        {
            // Fairness: the injector goes first now and then (and after a yield), or a busy
            // worker could starve it. A batch, so the remote tasks queue up behind the yielder.
            self.injector_first = false;
            if let Some(task) = self.pull_injector(handle) {
                return Some(task);
            }
        }
        if let Some(task) = self.remote(handle).next.take() {
            if self.next_streak < MAX_NEXT_STREAK {
                self.next_streak += 1;
                return Some(task);
            }
            // Two tasks waking each other would monopolise the worker: queue it behind the rest.
            self.run_queue.push(task);
        }
        self.next_streak = 0;
        if let Some(task) = self.run_queue.pop() {
            return Some(task);
        }
        self.pull_injector(handle)
    }

    fn pull_injector(&mut self, handle: &Handle) -> Option<Notified> {
        if handle.shared.injector.is_empty() {
            return None;
        }
        loop {
            match handle.shared.injector.steal_batch_and_pop(&self.run_queue) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    fn steal_work(&mut self, handle: &Handle) -> Option<Notified> {
        if !self.transition_to_searching(handle) {
            return None;
        }
        let remotes = &handle.shared.remotes;
        let n = remotes.len();
        let start = self.rand.next_n(n as u32) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            loop {
                match remotes[victim].stealer.steal_batch_and_pop(&self.run_queue) {
                    Steal::Success(task) => return Some(task),
                    Steal::Empty => break,
                    Steal::Retry => {}
                }
            }
        }
        self.pull_injector(handle)
    }

    fn transition_to_searching(&mut self, handle: &Handle) -> bool {
        if !self.is_searching {
            self.is_searching = handle.shared.idle.transition_worker_to_searching();
        }
        self.is_searching
    }

    fn transition_from_searching(&mut self, handle: &Handle) {
        if self.is_searching {
            self.is_searching = false;
            if handle.shared.idle.transition_worker_from_searching() {
                // The last searcher found work: there may be more, wake another worker.
                handle.notify_parked();
            }
        }
    }

    fn has_tasks(&self, handle: &Handle) -> bool {
        !self.run_queue.is_empty() || !self.remote(handle).next.is_empty()
    }

    /// True if the worker should sleep now.
    fn transition_to_parked(&mut self, handle: &Handle) -> bool {
        if self.is_shutdown || self.has_tasks(handle) {
            return false;
        }
        let last_searcher = handle
            .shared
            .idle
            .transition_worker_to_parked(self.index, self.is_searching);
        self.is_searching = false;
        handle.shared.monitor.worker_parked();
        if last_searcher {
            handle.notify_if_work_pending();
        }
        true
    }

    /// Maintenance: takes the next-slot task of a peer that has been inside the same poll
    /// since our previous check (our last `event_interval` polls). The monitor does this when
    /// a worker is idle; when all are busy it ticks slowly and this is how a woken task still
    /// escapes a long poll. One load per peer per `event_interval` polls; no clock reads.
    fn check_peers(&mut self, handle: &Handle) {
        for (index, remote) in handle.shared.remotes.iter().enumerate() {
            if index == self.index {
                continue;
            }
            let seq = remote.poll_seq.load(Acquire);
            if seq & 1 == 1 && seq == self.peer_seqs[index] {
                if let Some(task) = remote.next.take() {
                    self.run_queue.push(task);
                    handle.shared.monitor.count_handoff();
                }
            }
            self.peer_seqs[index] = seq;
        }
    }

    /// True if the wake-up was a notification (the notifier made us a searcher).
    fn transition_from_parked(&mut self, handle: &Handle) -> bool {
        if handle.shared.idle.is_parked(self.index) {
            return false;
        }
        self.is_searching = true;
        true
    }

    fn poll_start(&mut self, handle: &Handle, task: &Notified) {
        let remote = self.remote(handle);
        self.poll_seq += 1;
        remote.task_id.store(task.id().as_u64(), Relaxed);
        remote.poll_seq.store(self.poll_seq, Release);
    }

    /// Marks the end of the poll `poll_start` began; completes its stall report, if the
    /// monitor filed one (one relaxed-ish load per poll).
    fn poll_end(&mut self, handle: &Handle) {
        let seq = self.poll_seq;
        self.poll_seq += 1;
        let remote = self.remote(handle);
        remote.poll_seq.store(self.poll_seq, Release);
        if remote.stall_seq.load(Acquire) == seq {
            handle
                .shared
                .monitor
                .finish_stall(self.index, seq, std::time::Instant::now());
        }
    }

    /// Drops the notifications still queued here; the tasks themselves are cancelled through
    /// the owned-task list.
    fn shutdown_drain(&mut self, handle: &Handle) {
        drop(self.remote(handle).next.take());
        while let Some(task) = self.run_queue.pop() {
            drop(task);
        }
    }
}

/// Starts a thread running the worker loop with `core`; on failure the core comes back.
pub(crate) fn spawn_thread(
    handle: &Arc<Handle>,
    core: Box<Core>,
) -> Result<(), (std::io::Error, Box<Core>)> {
    let config = handle.config();
    let mut builder = std::thread::Builder::new().name((config.thread_name)());
    if let Some(size) = config.thread_stack_size {
        builder = builder.stack_size(size);
    }
    // The core travels through a slot so that a failed spawn (which drops the closure) does
    // not drop the core and the tasks queued on it.
    let slot = Arc::new(std::sync::Mutex::new(Some(core)));
    let thread_slot = slot.clone();
    let thread_handle = handle.clone();
    let spawned = handle.shared.threads.spawn(builder, move || {
        let core = thread_slot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .expect("worker core missing");
        drop(thread_slot);
        run_thread(thread_handle, core);
    });
    match spawned {
        Ok(()) => Ok(()),
        Err(e) => {
            let core = slot
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("worker core missing");
            let err = std::io::Error::new(
                e.kind(),
                format!("failed to spawn a runtime worker thread: {e}"),
            );
            Err((err, core))
        }
    }
}

fn run_thread(handle: Arc<Handle>, core: Box<Core>) {
    let life = super::ThreadLife::start(&handle);
    let _rt = context::enter_runtime();
    let sched_handle = scheduler::Handle {
        inner: scheduler::Kind::MultiThread(handle.clone()),
    };
    let _current = context::set_current(&sched_handle);
    let cx = scheduler::Context::MultiThread(Context {
        handle,
        core: RefCell::new(None),
    });
    context::set_scheduler(&cx, || {
        let scheduler::Context::MultiThread(cx) = &cx else {
            unreachable!()
        };
        cx.run(core);
    });
    drop(life);
}

impl Context {
    fn run(&self, mut core: Box<Core>) {
        let handle = &*self.handle;
        let event_interval = handle.config().event_interval;
        core.is_shutdown = handle.is_shutdown();
        while !core.is_shutdown {
            core.tick = core.tick.wrapping_add(1);
            if core.tick.is_multiple_of(event_interval) {
                core.is_shutdown = handle.is_shutdown();
                if core.is_shutdown {
                    break;
                }
                core.check_peers(handle);
            }
            let task = match core.next_task(handle) {
                Some(task) => Some(task),
                None => core.steal_work(handle),
            };
            match task {
                Some(task) => match self.run_task(task, core) {
                    Some(c) => core = c,
                    // The core moved to another thread (block_in_place): this thread is done.
                    None => return,
                },
                None => core = self.park(core),
            }
        }
        core.shutdown_drain(handle);
    }

    fn run_task(&self, task: Notified, mut core: Box<Core>) -> Option<Box<Core>> {
        let handle = &*self.handle;
        core.transition_from_searching(handle);
        core.poll_start(handle, &task);
        *self.core.borrow_mut() = Some(core);
        coop::budget(|| task.run());
        let mut core = self.core.borrow_mut().take()?;
        core.poll_end(handle);
        Some(core)
    }

    fn park(&self, mut core: Box<Core>) -> Box<Core> {
        let handle = &*self.handle;
        let config = handle.config();
        if let Some(cb) = &config.on_thread_park {
            cb();
        }
        if core.transition_to_parked(handle) {
            while !core.is_shutdown {
                core.remote(handle).unpark.park();
                core.is_shutdown = handle.is_shutdown();
                if core.transition_from_parked(handle) {
                    break;
                }
            }
        }
        if let Some(cb) = &config.on_thread_unpark {
            cb();
        }
        core
    }
}

/// Runs `f` with this thread's worker core if the thread is a worker of `handle` that
/// currently holds its core (i.e. inside a task poll), else with `None`.
pub(crate) fn with_local_core<R>(
    handle: &Arc<Handle>,
    f: impl FnOnce(Option<&mut Core>) -> R,
) -> R {
    context::with_scheduler(|cx| {
        let cx = match cx {
            Some(scheduler::Context::MultiThread(cx)) if Arc::ptr_eq(&cx.handle, handle) => {
                Some(cx)
            }
            _ => None,
        };
        match cx.and_then(|cx| cx.core.try_borrow_mut().ok()) {
            Some(mut core) => match core.as_deref_mut() {
                Some(core) => f(Some(core)),
                None => f(None),
            },
            None => f(None),
        }
    })
}

const BLOCK_IN_PLACE_CURRENT_THREAD: &str = "block_in_place called on a current-thread runtime: there is no \
other worker to take over this thread's tasks. Use runtime::task::spawn_blocking instead, or build the runtime \
with Builder::new_multi_thread()";

/// See [`crate::task::block_in_place`].
#[track_caller]
pub(crate) fn block_in_place<F: FnOnce() -> R, R>(f: F) -> R {
    let taken = context::with_scheduler(|cx| match cx {
        Some(scheduler::Context::CurrentThread(_)) => Err(()),
        Some(scheduler::Context::MultiThread(cx)) => {
            // No core here means we are already inside block_in_place: just run.
            Ok(cx
                .core
                .borrow_mut()
                .take()
                .map(|core| (cx.handle.clone(), core)))
        }
        None => Ok(None),
    });
    let Ok(taken) = taken else {
        panic!("{BLOCK_IN_PLACE_CURRENT_THREAD}");
    };
    if let Some((handle, mut core)) = taken {
        // This poll no longer blocks the core: stop the monitor from counting it as a stall
        // (and complete a stall report it may already have filed for the part before).
        core.poll_end(&handle);
        if let Err((e, mut core)) = spawn_thread(&handle, core) {
            // No replacement thread: keep the core and block this worker instead, so no queued
            // task is lost (they stay stealable by the other workers).
            tracing::error!(error = %e, "block_in_place could not start a replacement worker thread; blocking the worker");
            core.poll_seq += 1;
            core.remote(&handle).poll_seq.store(core.poll_seq, Release);
            context::with_scheduler(|cx| {
                if let Some(scheduler::Context::MultiThread(cx)) = cx {
                    *cx.core.borrow_mut() = Some(core);
                }
            });
        }
    }
    context::exit_runtime(f)
}
