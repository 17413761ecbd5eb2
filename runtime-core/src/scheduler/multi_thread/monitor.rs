//! The monitor: the runtime's one driver thread, which also watches the workers.
//!
//! Loop: park on the driver stack for one monitor tick, then check each worker's published
//! poll sequence. A worker whose sequence is odd (inside a poll) and unchanged for
//! `handoff_threshold` is stuck: its next-slot task goes to the injector and an idle worker
//! is woken to run it (and to steal its local queue). Unchanged for `stall_threshold`: a stall
//! is reported (tracing warning + a [`StallReport`]). The worker completes the report with the
//! final duration when that poll ends.
//!
//! The tick depends on what the workers do, so that watching costs CPU only when it can help:
//! * some worker busy and some parked: the *fast* tick (`handoff_threshold`, >= 50 us): a
//!   stuck worker's woken task can go to the parked one.
//! * every worker busy: the *slow* tick (a quarter of `stall_threshold`, at most 2.5 ms): only
//!   stall detection. Waking every 100 us here would preempt the busy workers on a machine
//!   with as many cores as workers (measured: +50 % on `spawn_many_remote_busy`). Busy workers
//!   hand stuck next-slot tasks to each other instead (worker.rs, `check_peers`). The first
//!   worker to park wakes the monitor back into the fast tick.
//! * every worker parked: no tick at all (an idle runtime costs nothing); the first worker to
//!   be unparked wakes the monitor.
//!
//! Both wake-ups use a flag (`sleeping`, `slow`) paired SeqCst with the idle counters: either
//! the monitor sees the new counter value before it parks, or the worker sees the flag and
//! unparks the driver.

use super::Handle;
use crate::context;
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use crate::loom::sync::Mutex;
use crate::park::{Park, Unpark};
use crate::scheduler;
use crate::task::Id;
use std::collections::VecDeque;
use std::num::NonZeroU64;
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stall reports kept per runtime (the oldest go first).
const MAX_REPORTS: usize = 64;
const MIN_TICK: Duration = Duration::from_micros(50);
const MAX_SLOW_TICK: Duration = Duration::from_micros(2500);

/// A poll that ran longer than the stall threshold, as seen by the monitor.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     runtime::spawn(async { /* a long poll here would be reported */ }).await.unwrap();
/// });
/// for stall in rt.handle().stall_reports() {
///     eprintln!("task {} ({:?}) blocked worker {} for {:?}", stall.task_id, stall.task_name, stall.worker, stall.duration);
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StallReport {
    /// The task that was being polled.
    pub task_id: Id,
    /// Its name, if it was spawned with `task::Builder::name`.
    pub task_name: Option<String>,
    /// Where it was spawned.
    pub spawned_at: Option<&'static Location<'static>>,
    /// The worker it blocked.
    pub worker: usize,
    /// How long the poll lasted (at least; exact once `finished`). Measured from the first
    /// monitor tick that saw the poll, so it may be short by up to one tick.
    pub duration: Duration,
    /// Whether the poll has returned. Set by the worker right after the poll returns, so it
    /// can lag the task's `JoinHandle` resolving (the task completes inside its last poll) by
    /// a few microseconds, and by at most one monitor tick in the worst case.
    pub finished: bool,
    seq: u64,
    /// When the monitor first saw the poll: the start of `duration`.
    since: Instant,
}

pub(crate) struct Monitor {
    sleeping: AtomicBool,
    slow: AtomicBool,
    unpark: Arc<dyn Unpark>,
    handoffs: AtomicU64,
    reports: Mutex<VecDeque<StallReport>>,
}

impl Monitor {
    pub(crate) fn new(unpark: Arc<dyn Unpark>) -> Monitor {
        Monitor {
            sleeping: AtomicBool::new(false),
            slow: AtomicBool::new(false),
            unpark,
            handoffs: AtomicU64::new(0),
            reports: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn unpark(&self) {
        self.unpark.unpark();
    }

    /// Called after a worker was counted unparked: wakes the monitor if it sleeps untimed.
    pub(crate) fn worker_unparked(&self) {
        if self.sleeping.load(SeqCst) && self.sleeping.swap(false, SeqCst) {
            self.unpark.unpark();
        }
    }

    /// Called after a worker was counted parked: wakes the monitor out of its slow tick.
    pub(crate) fn worker_parked(&self) {
        if self.slow.load(SeqCst) && self.slow.swap(false, SeqCst) {
            self.unpark.unpark();
        }
    }

    pub(crate) fn count_handoff(&self) {
        self.handoffs.fetch_add(1, Relaxed);
    }

    pub(crate) fn handoff_count(&self) -> u64 {
        self.handoffs.load(Relaxed)
    }

    pub(crate) fn stall_reports(&self) -> Vec<StallReport> {
        self.reports.lock().iter().cloned().collect()
    }

    /// The reported poll `seq` of `worker` ended at (or before) `end`: record the final
    /// duration. Called by the worker at the end of the poll (exact) and by the monitor's
    /// sweep (at most one tick late) in case the worker missed the report; first one wins.
    pub(crate) fn finish_stall(&self, worker: usize, seq: u64, end: Instant) {
        let mut reports = self.reports.lock();
        if let Some(report) = reports
            .iter_mut()
            .rev()
            .find(|r| r.worker == worker && r.seq == seq && !r.finished)
        {
            report.duration = end
                .saturating_duration_since(report.since)
                .max(report.duration);
            report.finished = true;
            tracing::warn!(
                task.id = report.task_id.as_u64(),
                task.name = report.task_name.as_deref().unwrap_or(""),
                worker,
                duration_ms = report.duration.as_secs_f64() * 1e3,
                "stalled poll finished"
            );
        }
    }
}

/// What the monitor remembers about one worker between ticks.
#[derive(Clone, Copy)]
struct WorkerView {
    seq: u64,
    since: Instant,
    reported: bool,
}

pub(crate) fn spawn_thread(handle: &Arc<Handle>, driver: Box<dyn Park>) -> std::io::Result<()> {
    let config = handle.config();
    let mut builder =
        std::thread::Builder::new().name(format!("{}-monitor", (config.thread_name)()));
    if let Some(size) = config.thread_stack_size {
        builder = builder.stack_size(size);
    }
    let thread_handle = handle.clone();
    match handle
        .shared
        .threads
        .spawn(builder, move || run(thread_handle, driver))
    {
        Ok(()) => Ok(()),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("failed to spawn the runtime monitor thread: {e}"),
        )),
    }
}

fn run(handle: Arc<Handle>, mut driver: Box<dyn Park>) {
    let _life = super::ThreadLife::start(&handle);
    let config = handle.config();
    let sched_handle = scheduler::Handle {
        inner: scheduler::Kind::MultiThread(handle.clone()),
    };
    let _current = context::set_current(&sched_handle);

    let fast_tick = config.handoff_threshold.max(MIN_TICK);
    let slow_tick = (config.stall_threshold / 4)
        .min(MAX_SLOW_TICK)
        .max(fast_tick);
    let num_workers = handle.shared.remotes.len();
    let now = Instant::now();
    let mut views = vec![
        WorkerView {
            seq: 0,
            since: now,
            reported: false,
        };
        num_workers
    ];
    let monitor = &handle.shared.monitor;
    // Reports whose poll may have ended without the worker completing them.
    let mut unfinished: Vec<(usize, u64)> = Vec::new();
    while !handle.is_shutdown() {
        let unparked = handle.shared.idle.num_unparked();
        if unparked > 0 || !unfinished.is_empty() {
            check_workers(&handle, &mut views, &mut unfinished);
            if unparked < num_workers {
                driver.park_timeout(fast_tick);
            } else {
                monitor.slow.store(true, SeqCst);
                if handle.shared.idle.num_unparked() == num_workers {
                    driver.park_timeout(slow_tick);
                }
                monitor.slow.store(false, SeqCst);
            }
        } else {
            monitor.sleeping.store(true, SeqCst);
            if handle.shared.idle.num_unparked() == 0 && !handle.is_shutdown() {
                driver.park();
            }
            monitor.sleeping.store(false, SeqCst);
        }
    }
    driver.shutdown();
}

fn check_workers(handle: &Handle, views: &mut [WorkerView], unfinished: &mut Vec<(usize, u64)>) {
    let config = handle.config();
    let now = Instant::now();
    unfinished.retain(|&(worker, seq)| {
        if handle.shared.remotes[worker].poll_seq.load(Acquire) == seq {
            return true;
        }
        handle.shared.monitor.finish_stall(worker, seq, now);
        false
    });
    for (index, view) in views.iter_mut().enumerate() {
        let remote = &handle.shared.remotes[index];
        let seq = remote.poll_seq.load(Acquire);
        if seq & 1 == 0 || seq != view.seq {
            // Idle, or a new poll since the last tick.
            *view = WorkerView {
                seq,
                since: now,
                reported: false,
            };
            continue;
        }
        let stuck_for = now.saturating_duration_since(view.since);
        if stuck_for >= config.handoff_threshold {
            hand_off(handle, index);
        }
        if stuck_for >= config.stall_threshold && !view.reported {
            view.reported = true;
            if report_stall(handle, index, seq, view.since, stuck_for) {
                unfinished.push((index, seq));
            }
        }
    }
}

/// Moves a stuck worker's next-slot task to the injector and wakes a worker for its work.
fn hand_off(handle: &Handle, index: usize) {
    let remote = &handle.shared.remotes[index];
    let moved = match remote.next.take() {
        Some(task) => {
            handle.push_remote(task);
            handle.shared.monitor.count_handoff();
            true
        }
        None => false,
    };
    if moved || !remote.stealer.is_empty() {
        handle.notify_parked();
    }
}

/// Files a stall report; false if the poll ended before it could be attributed.
fn report_stall(
    handle: &Handle,
    worker: usize,
    seq: u64,
    since: Instant,
    stuck_for: Duration,
) -> bool {
    let remote = &handle.shared.remotes[worker];
    let raw_id = remote.task_id.load(Relaxed);
    // The poll may have ended between our loads; then the id is of a later poll: check again.
    if remote.poll_seq.load(Acquire) != seq {
        return false;
    }
    let Some(task_id) = NonZeroU64::new(raw_id).map(Id) else {
        return false;
    };
    let (task_name, spawned_at) = match handle.shared.owned.describe(task_id) {
        Some((name, location)) => (name, Some(location)),
        None => (None, None),
    };
    tracing::warn!(
        task.id = task_id.as_u64(),
        task.name = task_name.as_deref().unwrap_or(""),
        spawned_at = %spawned_at.map_or_else(|| "unknown".to_string(), |l| l.to_string()),
        worker,
        elapsed_ms = stuck_for.as_secs_f64() * 1e3,
        "a task has been inside one poll for too long and is blocking its worker; \
         move blocking work to runtime::task::spawn_blocking or block_in_place"
    );
    let report = StallReport {
        task_id,
        task_name,
        spawned_at,
        worker,
        duration: stuck_for,
        finished: false,
        seq,
        since,
    };
    {
        let mut reports = handle.shared.monitor.reports.lock();
        if reports.len() == MAX_REPORTS {
            reports.pop_front();
        }
        reports.push_back(report);
    }
    remote.stall_seq.store(seq, Release);
    true
}
