//! The monitor thread of the multi-thread runtime (the runtime's distinctive feature):
//! * hand-off: a task woken into the next slot of a worker stuck in a long poll is handed to
//!   an idle worker and runs long before that poll ends (`Handle::handoff_count`);
//! * stall reports: a poll longer than `stall_threshold` is reported with the task's id,
//!   name, spawn location, worker and duration, and marked finished when the poll returns;
//!   short polls and `block_in_place` sections are not reported;
//! * an idle runtime's monitor sleeps (no CPU, no periodic wake-ups);
//! * current-thread runtimes have no monitor: no reports, no hand-offs.
//!
//! Bounds are generous (CI has 2 cores); the wall-clock ones only catch a missing hand-off.

mod support;

use futures::channel::oneshot;
use runtime::{Builder, Runtime, StallReport};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use support::{spin_for, tids_named, wait_until};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn multi_thread(name: &str, stall_threshold: Option<Duration>) -> Runtime {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(2).thread_name(name);
    if let Some(t) = stall_threshold {
        b.stall_threshold(t);
    }
    b.build().unwrap()
}

/// The tests of this file run one at a time: they measure wall-clock reactions of the monitor,
/// and a neighbour test spinning on both cores of a small CI machine would starve it.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`support::watchdog`] serialized with the other tests of this file (see [`SERIAL`]): runs
/// `f` on its own thread; fails the test if it does not return within `secs`.
fn watchdog<T: Send + 'static>(what: &str, secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let _serial = serial();
    support::watchdog(what, secs, f)
}

fn reports_for(rt: &Runtime, id: runtime::task::Id) -> Vec<StallReport> {
    rt.handle()
        .stall_reports()
        .into_iter()
        .filter(|r| r.task_id == id)
        .collect()
}

/// CPU time (utime + stime, from `/proc/self/task/<tid>/stat`) and context switches (voluntary +
/// involuntary, from `status`) of a thread.
fn thread_usage(tid: &str) -> (Duration, u64) {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // Fields after the `(comm)`, which may itself contain spaces: state is field 3, utime 14,
    // stime 15 (1-based), i.e. indexes 11 and 12 after the closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // USER_HZ is 100 on every Linux ABI Rust supports.
    let cpu = Duration::from_millis(ticks * 10);
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).unwrap();
    let switches = status
        .lines()
        .filter(|l| {
            l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches")
        })
        .map(|l| l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    (cpu, switches)
}

// ---------------------------------------------------------------------------------------------
// Hand-off
// ---------------------------------------------------------------------------------------------

/// A woken consumer B lands in the next slot of producer A's worker while A spins 50 ms in the
/// same poll: the monitor must hand B to the idle worker.
#[test]
fn monitor_hands_off_next_slot_of_a_stuck_worker() {
    watchdog("hand-off", 30, || {
        let rt = multi_thread("mo-hand", None);
        for i in 0..5 {
            let handoffs_before = rt.handle().handoff_count();
            let (tx, rx) = oneshot::channel::<Instant>();
            let waiting = Arc::new(AtomicBool::new(false));
            let w = waiting.clone();
            let b = rt.spawn(async move {
                w.store(true, SeqCst);
                let woken_at = rx.await.unwrap();
                (woken_at, Instant::now(), std::thread::current().id())
            });
            // B must be parked on the oneshot (pending) before A wakes it.
            wait_until("B is waiting", Duration::from_secs(5), || {
                waiting.load(SeqCst)
            });
            std::thread::sleep(Duration::from_millis(10));
            let a = rt.spawn(async move {
                // Wakes B from inside this poll, on this worker: B goes to our next slot.
                tx.send(Instant::now()).unwrap();
                spin_for(Duration::from_millis(50));
                (Instant::now(), std::thread::current().id())
            });
            let ((woken_at, b_start, b_thread), (a_end, a_thread)): (
                (Instant, Instant, ThreadId),
                _,
            ) = rt.block_on(async { (b.await.unwrap(), a.await.unwrap()) });
            let latency = b_start.saturating_duration_since(woken_at);
            assert!(
                b_start < a_end,
                "iteration {i}: B only ran after A's 50 ms poll ended (waited {latency:?}): not handed off"
            );
            assert!(
                latency < Duration::from_millis(25),
                "iteration {i}: B started {latency:?} after its wake-up"
            );
            assert_ne!(
                b_thread, a_thread,
                "iteration {i}: B must run on the other worker"
            );
            assert!(
                rt.handle().handoff_count() > handoffs_before,
                "iteration {i}: handoff_count did not grow ({handoffs_before})"
            );
        }
        assert!(rt.handle().handoff_count() >= 5);
    });
}

/// Without a long poll there is nothing to hand off: ping-pong stays on its worker's next
/// slot and the counter does not move much (never once per message).
#[test]
fn no_handoff_without_long_polls() {
    watchdog("short polls", 20, || {
        let rt = multi_thread("mo-noh", None);
        rt.block_on(async {
            runtime::spawn(async {
                for _ in 0..1000 {
                    let (tx, rx) = oneshot::channel::<()>();
                    let b = runtime::spawn(rx);
                    tx.send(()).unwrap();
                    b.await.unwrap().unwrap();
                }
            })
            .await
            .unwrap()
        });
        let n = rt.handle().handoff_count();
        // A worker preempted by the OS for > 100 us can legitimately trigger a few.
        assert!(n < 100, "{n} hand-offs for 1000 short polls");
    });
}

// ---------------------------------------------------------------------------------------------
// Stall reports
// ---------------------------------------------------------------------------------------------

#[test]
fn stall_report_names_the_stuck_task() {
    watchdog("stall report", 20, || {
        let rt = multi_thread("mo-stall", Some(Duration::from_millis(5)));
        let (id, spawn_line) = rt.block_on(async {
            let spawn_line = line!() + 1;
            let h = runtime::task::Builder::new().name("stuck").spawn(async {
                spin_for(Duration::from_millis(50));
            });
            let h = h.unwrap();
            let id = h.id();
            h.await.unwrap();
            (id, spawn_line)
        });
        // The worker completes the report right after the poll returns (see the stricter test
        // below): give it a moment.
        wait_until("the report is finished", Duration::from_secs(5), || {
            reports_for(&rt, id).iter().any(|r| r.finished)
        });
        let reports = reports_for(&rt, id);
        assert_eq!(reports.len(), 1, "one report per stalled poll: {reports:?}");
        let r = &reports[0];
        assert_eq!(r.task_name.as_deref(), Some("stuck"));
        let at = r.spawned_at.expect("spawn location recorded");
        assert!(at.file().ends_with("monitor.rs"), "spawned_at = {at}");
        assert_eq!(at.line(), spawn_line, "spawned_at = {at}");
        assert!(r.worker < 2, "worker index {} of 2", r.worker);
        assert!(
            r.duration >= Duration::from_millis(5),
            "duration {:?}",
            r.duration
        );
        // Once finished the duration covers the whole 50 ms poll (the monitor saw it start
        // within one 100 us tick; 20 ms leaves room for a slow CI).
        assert!(
            r.duration >= Duration::from_millis(20),
            "finished duration {:?} for a 50 ms poll",
            r.duration
        );
        assert!(
            r.duration < Duration::from_secs(5),
            "duration {:?}",
            r.duration
        );
        assert!(r.finished);
    });
}

/// Once a task's output is observable its stalled poll is over, so its report should say so.
/// The JoinHandle's waker (which fires when the output becomes readable) snapshots the
/// report: deterministic, unlike checking after `.await` (which races with the worker).
#[test]
fn stall_report_exists_when_output_is_observable_and_finishes_right_after() {
    struct Snapshot {
        handle: runtime::Handle,
        id: Mutex<Option<runtime::task::Id>>,
        /// `finished` of the task's report (None: no report) when the JoinHandle was woken.
        at_wake: Mutex<Option<Option<bool>>>,
    }
    impl Wake for Snapshot {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let id = self
                .id
                .lock()
                .unwrap()
                .expect("id set before the first poll");
            let finished = self
                .handle
                .stall_reports()
                .iter()
                .find(|r| r.task_id == id)
                .map(|r| r.finished);
            *self.at_wake.lock().unwrap() = Some(finished);
        }
    }
    watchdog("stall report race", 20, || {
        let rt = multi_thread("mo-race", Some(Duration::from_millis(5)));
        for i in 0..3 {
            let snap = Arc::new(Snapshot {
                handle: rt.handle().clone(),
                id: Mutex::new(None),
                at_wake: Mutex::new(None),
            });
            let mut h = rt.spawn(async { spin_for(Duration::from_millis(30)) });
            *snap.id.lock().unwrap() = Some(h.id());
            let waker = Waker::from(snap.clone());
            let poll = Pin::new(&mut h).poll(&mut Context::from_waker(&waker));
            assert!(poll.is_pending(), "the task spins for 30 ms");
            wait_until("the JoinHandle is woken", Duration::from_secs(5), || {
                snap.at_wake.lock().unwrap().is_some()
            });
            let at_wake = snap.at_wake.lock().unwrap().unwrap();
            // The task completes (and wakes its JoinHandle) inside its last poll; the worker
            // completes the report right after that poll returns (documented on
            // `StallReport::finished`). So at wake time the report exists, finished or not...
            assert!(
                at_wake.is_some(),
                "iteration {i}: no stall report existed when the task's output became readable"
            );
            rt.block_on(h).unwrap();
            // ...and it is finished shortly after, with the full duration.
            let id = snap.id.lock().unwrap().unwrap();
            wait_until("the report is finished", Duration::from_secs(5), || {
                rt.handle().stall_reports().iter().any(|r| {
                    r.task_id == id && r.finished && r.duration >= Duration::from_millis(25)
                })
            });
        }
    });
}

#[test]
fn stall_report_appears_while_the_poll_is_still_running() {
    watchdog("live stall report", 20, || {
        let rt = multi_thread("mo-live", Some(Duration::from_millis(5)));
        let release = Arc::new(AtomicBool::new(false));
        let r = release.clone();
        let h = rt.spawn(async move {
            let start = Instant::now();
            while !r.load(SeqCst) && start.elapsed() < Duration::from_secs(10) {
                std::hint::spin_loop();
            }
        });
        let id = h.id();
        wait_until(
            "a stall report for the spinning task",
            Duration::from_secs(5),
            || !reports_for(&rt, id).is_empty(),
        );
        let live = reports_for(&rt, id);
        let still_running = !h.is_finished();
        release.store(true, SeqCst);
        assert!(still_running);
        assert_eq!(live.len(), 1);
        assert!(!live[0].finished, "reported while stuck: not finished yet");
        assert!(live[0].duration >= Duration::from_millis(5));
        assert_eq!(live[0].task_name, None, "unnamed task");
        let at = live[0].spawned_at.expect("spawn location");
        assert!(at.file().ends_with("monitor.rs"), "spawned_at = {at}");
        rt.block_on(h).unwrap();
        wait_until("the report is finished", Duration::from_secs(5), || {
            reports_for(&rt, id).iter().any(|r| r.finished)
        });
        assert_eq!(
            reports_for(&rt, id).len(),
            1,
            "finishing updates the report, it adds none"
        );
    });
}

/// 1000 tasks that yield: no poll comes near the default 10 ms threshold. The monitor measures
/// wall-clock time, so an OS preemption of a worker mid-poll on a loaded machine can look like a
/// stall: the workload gets three chances, a monitor that misjudges short polls fails all three.
#[test]
fn short_polls_produce_no_stall_reports() {
    let mut last = Vec::new();
    for _attempt in 0..3 {
        last = watchdog("short polls", 20, || {
            // Default stall threshold (10 ms).
            let rt = multi_thread("mo-short", None);
            rt.block_on(async {
                let handles: Vec<_> = (0..1000)
                    .map(|_| {
                        runtime::spawn(async {
                            for _ in 0..5 {
                                runtime::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            });
            rt.handle().stall_reports()
        });
        if last.is_empty() {
            return;
        }
    }
    panic!("false stall reports in three runs out of three; the last: {last:?}");
}

#[test]
fn block_in_place_is_not_a_stall() {
    watchdog("block_in_place", 20, || {
        let rt = multi_thread("mo-bip", Some(Duration::from_millis(5)));
        let in_place = rt.spawn(async {
            runtime::task::block_in_place(|| std::thread::sleep(Duration::from_millis(30)));
        });
        let in_place_id = in_place.id();
        rt.block_on(in_place).unwrap();
        // Control: the same sleep directly in the poll is a stall on this runtime.
        let direct = rt.spawn(async { std::thread::sleep(Duration::from_millis(30)) });
        let direct_id = direct.id();
        rt.block_on(direct).unwrap();
        wait_until(
            "the control stall is reported",
            Duration::from_secs(5),
            || !reports_for(&rt, direct_id).is_empty(),
        );
        let bad = reports_for(&rt, in_place_id);
        assert!(
            bad.is_empty(),
            "block_in_place section reported as a stall: {bad:?}"
        );
    });
}

/// A poll reported as a stall that then enters `block_in_place` does return (on the thread
/// that gave its core away): its report must end up finished.
#[test]
fn stall_report_finished_after_block_in_place() {
    watchdog("stall then block_in_place", 20, || {
        let rt = multi_thread("mo-sbip", Some(Duration::from_millis(5)));
        let h = rt.spawn(async {
            spin_for(Duration::from_millis(30));
            runtime::task::block_in_place(|| std::thread::sleep(Duration::from_millis(1)));
        });
        let id = h.id();
        rt.block_on(h).unwrap();
        assert_eq!(reports_for(&rt, id).len(), 1, "the 30 ms spin is reported");
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline && !reports_for(&rt, id)[0].finished {
            std::thread::sleep(Duration::from_millis(5));
        }
        let r = reports_for(&rt, id).remove(0);
        assert!(
            r.finished,
            "the poll returned long ago but its report is still unfinished: {r:?}"
        );
    });
}

#[test]
fn stall_reports_are_oldest_first() {
    watchdog("report order", 20, || {
        let rt = multi_thread("mo-order", Some(Duration::from_millis(5)));
        let names = ["first", "second", "third"];
        rt.block_on(async {
            for name in names {
                runtime::task::Builder::new()
                    .name(name)
                    .spawn(async { spin_for(Duration::from_millis(20)) })
                    .unwrap()
                    .await
                    .unwrap();
            }
        });
        let reports = rt.handle().stall_reports();
        let seen: Vec<_> = reports
            .iter()
            .filter_map(|r| r.task_name.as_deref())
            .collect();
        assert_eq!(
            seen, names,
            "one report per stalled task, oldest first: {reports:?}"
        );
    });
}

/// Tasks spawned by a task that then blocks its worker all run on the other worker (the
/// first one through the monitor's hand-off of the next slot, the others by stealing).
#[test]
fn tasks_spawned_by_a_stuck_task_run_meanwhile() {
    watchdog("spawned by a stuck task", 20, || {
        let rt = multi_thread("mo-spwn", None);
        let (end, done) = rt.block_on(async {
            runtime::spawn(async {
                let children: Vec<_> = (0..10)
                    .map(|_| runtime::spawn(async { Instant::now() }))
                    .collect();
                spin_for(Duration::from_millis(50));
                (Instant::now(), children)
            })
            .await
            .unwrap()
        });
        let done = rt.block_on(async {
            let mut out = Vec::new();
            for h in done {
                out.push(h.await.unwrap());
            }
            out
        });
        let late = done.iter().filter(|&&t| t >= end).count();
        assert_eq!(
            late, 0,
            "{late} of 10 children waited for their parent's 50 ms poll to end"
        );
    });
}

#[test]
fn current_thread_has_no_monitor() {
    let _serial = serial();
    let rt = Builder::new_current_thread()
        .stall_threshold(Duration::from_millis(5))
        .handoff_threshold(Duration::from_micros(50))
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel::<()>();
        let b = runtime::spawn(rx);
        runtime::spawn(async move {
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(30));
        })
        .await
        .unwrap();
        b.await.unwrap().unwrap();
    });
    assert!(rt.handle().stall_reports().is_empty());
    assert_eq!(rt.handle().handoff_count(), 0);
}

// ---------------------------------------------------------------------------------------------
// Idle monitor
// ---------------------------------------------------------------------------------------------

/// Hang/spin detector: an idle runtime's monitor (and workers) sleep instead of ticking.
#[test]
fn idle_runtime_monitor_sleeps() {
    let _serial = serial();
    let rt = multi_thread("mo-idle", None);
    // Run something first so every thread has started and gone back to sleep.
    rt.block_on(async {
        runtime::spawn(async { runtime::task::yield_now().await })
            .await
            .unwrap()
    });
    wait_until("monitor thread named", Duration::from_secs(5), || {
        tids_named("mo-idle-monitor").len() == 1
    });
    wait_until("workers named", Duration::from_secs(5), || {
        tids_named("mo-idle").len() == 2
    });
    std::thread::sleep(Duration::from_millis(50));
    let monitor = tids_named("mo-idle-monitor").remove(0);
    let workers = tids_named("mo-idle");
    let before: Vec<_> = std::iter::once(&monitor)
        .chain(&workers)
        .map(|t| thread_usage(t))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let after: Vec<_> = std::iter::once(&monitor)
        .chain(&workers)
        .map(|t| thread_usage(t))
        .collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let who = if i == 0 {
            "monitor".to_string()
        } else {
            format!("worker {i}")
        };
        let cpu = a.0 - b.0;
        let switches = a.1 - b.1;
        assert!(
            cpu < Duration::from_millis(20),
            "idle {who} used {cpu:?} of CPU in 200 ms"
        );
        // A 100 us tick would be ~2000 wake-ups in 200 ms.
        assert!(
            switches < 50,
            "idle {who} woke up {switches} times in 200 ms"
        );
    }
    drop(rt);
}

/// A stalled poll that ends while the monitor is still writing its report must still get its
/// report finished. Probabilistic: a thread hammering `stall_reports()` (64 reports with 8 KiB
/// names to clone each time) keeps the report list locked most of the time, so the monitor is
/// slow to publish a report, and 200 polls end around the moment they are reported.
#[test]
fn stall_report_finished_when_the_poll_ends_during_the_report() {
    watchdog("stall report race", 60, || {
        let rt = multi_thread("mo-rrace", Some(Duration::from_millis(1)));
        let name = "n".repeat(8192);
        let stop = Arc::new(AtomicBool::new(false));
        let hammer = {
            let (handle, stop) = (rt.handle().clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(SeqCst) {
                    std::hint::black_box(handle.stall_reports());
                }
            })
        };
        let mut reported = Vec::new();
        for k in 0..300u64 {
            let h = runtime::task::Builder::new()
                .name(&name)
                .spawn_on(
                    async move { spin_for(Duration::from_micros(1000 + (k % 40) * 5)) },
                    rt.handle(),
                )
                .unwrap();
            let id = h.id();
            rt.block_on(h).unwrap();
            if !reports_for(&rt, id).is_empty() {
                reported.push(id);
            }
        }
        stop.store(true, SeqCst);
        hammer.join().unwrap();
        // Every poll returned long ago; give the workers ample time anyway.
        std::thread::sleep(Duration::from_millis(100));
        let all = rt.handle().stall_reports();
        let judged: Vec<_> = all
            .iter()
            .filter(|r| reported.contains(&r.task_id))
            .collect();
        assert!(!judged.is_empty(), "no poll was reported at all");
        let unfinished: Vec<_> = judged
            .iter()
            .filter(|r| !r.finished)
            .map(|r| r.duration)
            .collect();
        assert!(
            unfinished.is_empty(),
            "{} of {} stall reports never became finished although their polls returned \
             (durations frozen at the monitor's first sighting: {unfinished:?})",
            unfinished.len(),
            judged.len()
        );
    });
}
