//! Integration tests of `runtime::time::sleep` / `sleep_until` (`Sleep`), on both runtime
//! flavors (multi-thread with 2 workers) where it matters: many sleeps complete in deadline
//! order, a sleep never completes early (0 to 30 ms, sub-millisecond included), past
//! deadlines complete at once, `Sleep::reset` earlier / later before and after registration
//! and after completion, `is_elapsed` and `deadline`, 100k concurrent sleeps, cancellation
//! (dropping a registered sleep) leaves nothing behind in the driver, a `Sleep` belongs to the
//! runtime it was created in (polled from another runtime or from `futures::executor`),
//! sleeping inside `spawn_blocking`, and the cooperative budget of `sleep(Duration::ZERO)`.

mod support;

use futures::poll;
use runtime::time::{self, sleep, sleep_until, Duration, Instant, Sleep};
use runtime::{spawn, Handle};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use support::{build_paused, build_timed, counting_waker, watchdog, Flavor, Rng};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `f` for each flavor, under a watchdog (a lost wake-up is a hang), one test at a time
/// (see [`timing_lock`]).
fn each_flavor(what: &'static str, f: impl Fn(Flavor) + Send + 'static) {
    let _timing = timing_lock();
    watchdog(what, 60, move || {
        for flavor in Flavor::BOTH {
            f(flavor);
        }
    });
}

/// Polls `sleep` once with a no-op waker; true if it completed.
fn poll_once(sleep: &mut Sleep) -> bool {
    let waker = futures::task::noop_waker();
    Pin::new(sleep)
        .poll(&mut Context::from_waker(&waker))
        .is_ready()
}

/// Serializes the tests of this file: they measure real time, which tests running beside them
/// on the same (small) machine would distort.
static TIMING: Mutex<()> = Mutex::new(());

fn timing_lock() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forwards wakes to `inner` and records when the last one happened.
struct RecordingWaker {
    inner: Waker,
    woken_at: Arc<Mutex<Option<std::time::Instant>>>,
}

impl futures::task::ArcWake for RecordingWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        *arc_self.woken_at.lock().unwrap() = Some(std::time::Instant::now());
        arc_self.inner.wake_by_ref();
    }
}

/// Awaits `s`, returning when its (last) wake happened: the instant the driver fired it.
async fn sleep_recording_wake(mut s: Sleep) -> Option<std::time::Instant> {
    let woken_at = Arc::new(Mutex::new(None));
    std::future::poll_fn(|cx| {
        let waker = futures::task::waker(Arc::new(RecordingWaker {
            inner: cx.waker().clone(),
            woken_at: woken_at.clone(),
        }));
        Pin::new(&mut s).poll(&mut Context::from_waker(&waker))
    })
    .await;
    let at = *woken_at.lock().unwrap();
    at
}

#[test]
fn many_sleeps_complete_in_deadline_order() {
    // 200 deadlines 2 ms apart, registered in shuffled order. The driver fires what is due as
    // one batch, in no particular order within the batch (several deadlines are in one batch
    // when the driver woke late): so the wake instants must be in deadline order except within
    // a batch (wakes microseconds apart, unless the driver thread is preempted mid-batch, which
    // `BATCH` allows for on a busy machine), and the tasks'
    // completions (which two workers race on) in deadline order within a lateness tolerance.
    const TASKS: u64 = 200;
    const GAP: Duration = Duration::from_millis(2);
    const BATCH: Duration = Duration::from_millis(25);
    const TOLERANCE: Duration = Duration::from_millis(50);
    each_flavor("200 ordered sleeps", |flavor| {
        let rt = build_timed(flavor);
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut order: Vec<u64> = (0..TASKS).collect();
        Rng::new(7).shuffle(&mut order);
        let base = rt.block_on(async { Instant::now() }) + ms(50);
        let deadline = |i: u64| base + GAP * i as u32;
        rt.block_on(async {
            let handles: Vec<_> = order
                .iter()
                .map(|&i| {
                    let log = log.clone();
                    let d = deadline(i);
                    spawn(async move {
                        let woken_at = sleep_recording_wake(sleep_until(d)).await;
                        let now = std::time::Instant::now();
                        log.lock().unwrap().push((i, woken_at, now));
                    })
                })
                .collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        let log = log.lock().unwrap().clone();
        assert_eq!(log.len(), TASKS as usize);
        for &(i, _, at) in &log {
            assert!(
                at >= deadline(i).into_std(),
                "{flavor:?}: sleep {i} completed early"
            );
        }
        // (A sleep whose deadline passed before its task first polled it was never fired.)
        let wakes: Vec<(u64, std::time::Instant)> =
            log.iter().filter_map(|&(i, w, _)| Some((i, w?))).collect();
        assert!(
            wakes.len() > TASKS as usize / 2,
            "{flavor:?}: few sleeps were fired"
        );
        let dones: Vec<(u64, std::time::Instant)> = log.iter().map(|&(i, _, d)| (i, d)).collect();
        for &(a, wake_a) in &wakes {
            for &(b, wake_b) in &wakes {
                if a < b && wake_a > wake_b {
                    assert!(
                        wake_a - wake_b <= BATCH,
                        "{flavor:?}: sleep {a} was fired {:?} after sleep {b}, whose deadline \
                         is {:?} later",
                        wake_a - wake_b,
                        deadline(b) - deadline(a),
                    );
                }
            }
        }
        for &(a, done_a) in &dones {
            for &(b, done_b) in &dones {
                if a < b && done_a > done_b {
                    let gap = deadline(b) - deadline(a);
                    assert!(
                        gap <= TOLERANCE,
                        "{flavor:?}: sleep {b} completed before sleep {a}, whose deadline is \
                         {gap:?} earlier"
                    );
                }
            }
        }
    });
}

#[test]
fn paused_clock_fires_sleeps_in_exact_deadline_order() {
    // With the clock paused, the idle runtime jumps to one deadline at a time: the order is
    // exact, and so is each completion instant.
    const TASKS: u64 = 200;
    each_flavor("200 ordered sleeps, paused", |flavor| {
        let rt = build_paused(flavor);
        let mut order: Vec<u64> = (0..TASKS).collect();
        Rng::new(8).shuffle(&mut order);
        let log = rt.block_on(async move {
            // Spawned from a task, so the runtime is busy until every sleep is registered.
            spawn(async move {
                let base = Instant::now();
                let log = Arc::new(Mutex::new(Vec::new()));
                let handles: Vec<_> = order
                    .into_iter()
                    .map(|i| {
                        let log = log.clone();
                        spawn(async move {
                            sleep_until(base + ms(1 + 3 * i)).await;
                            log.lock().unwrap().push((i, Instant::now() - base));
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
                let log = log.lock().unwrap().clone();
                log
            })
            .await
            .unwrap()
        });
        let expected: Vec<(u64, Duration)> = (0..TASKS).map(|i| (i, ms(1 + 3 * i))).collect();
        assert_eq!(log, expected, "{flavor:?}");
    });
}

/// The durations the never-early tests use: 0 to 30 ms, sub-millisecond ones included.
fn durations() -> Vec<Duration> {
    vec![
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_micros(10),
        Duration::from_micros(100),
        Duration::from_micros(500),
        Duration::from_micros(999),
        ms(1),
        Duration::from_micros(1_001),
        Duration::from_micros(1_500),
        ms(2),
        Duration::from_micros(2_999),
        ms(5),
        Duration::from_micros(7_300),
        ms(10),
        Duration::from_micros(17_300),
        ms(25),
        ms(30),
    ]
}

#[test]
fn sleep_is_never_early() {
    each_flavor("never early", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            // One at a time, from the block_on future ...
            for d in durations() {
                let start = std::time::Instant::now();
                sleep(d).await;
                let took = start.elapsed();
                assert!(took >= d, "{flavor:?}: sleep({d:?}) took {took:?}");
            }
            // ... and all at once, from spawned tasks, several rounds.
            for _ in 0..5 {
                let handles: Vec<_> = durations()
                    .into_iter()
                    .map(|d| {
                        spawn(async move {
                            let start = std::time::Instant::now();
                            sleep(d).await;
                            (d, start.elapsed())
                        })
                    })
                    .collect();
                for h in handles {
                    let (d, took) = h.await.unwrap();
                    assert!(
                        took >= d,
                        "{flavor:?}: concurrent sleep({d:?}) took {took:?}"
                    );
                }
            }
        });
    });
}

#[test]
fn sleep_until_past_deadline_completes_at_once() {
    each_flavor("past deadline", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            let now = Instant::now();
            let past = now.checked_sub(ms(1000)).unwrap_or(now);
            let mut s = sleep_until(past);
            assert!(s.is_elapsed());
            assert!(poll!(&mut s).is_ready(), "{flavor:?}");
            let mut s = sleep_until(Instant::now());
            assert!(poll!(&mut s).is_ready(), "{flavor:?}");
        });
    });
}

#[test]
fn reset_earlier_before_and_after_registration() {
    each_flavor("reset earlier", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            for registered in [false, true] {
                let mut s = sleep(Duration::from_secs(3600));
                if registered {
                    assert!(poll!(&mut s).is_pending());
                }
                let start = std::time::Instant::now();
                let new = Instant::now() + ms(10);
                Pin::new(&mut s).reset(new);
                assert_eq!(s.deadline(), new);
                s.await;
                let took = start.elapsed();
                assert!(
                    took >= ms(10),
                    "{flavor:?} registered={registered}: {took:?}"
                );
                assert!(Instant::now() >= new);
            }
        });
    });
}

#[test]
fn reset_later_before_and_after_registration() {
    each_flavor("reset later", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            for registered in [false, true] {
                let start = std::time::Instant::now();
                let mut s = sleep(ms(2));
                if registered {
                    assert!(poll!(&mut s).is_pending());
                }
                Pin::new(&mut s).reset(Instant::now() + ms(40));
                s.await;
                let took = start.elapsed();
                assert!(
                    took >= ms(40),
                    "{flavor:?} registered={registered}: {took:?}"
                );
            }
        });
    });
}

#[test]
fn reset_after_completion_and_after_firing_unpolled() {
    each_flavor("reset after completion", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            // Completed: the next poll waits for the new deadline.
            let mut s = sleep(ms(1));
            (&mut s).await;
            assert!(s.is_elapsed());
            let again = Instant::now() + ms(20);
            Pin::new(&mut s).reset(again);
            assert!(!s.is_elapsed());
            assert!(poll!(&mut s).is_pending());
            (&mut s).await;
            assert!(Instant::now() >= again);
            // A deadline in the past completes at the next poll.
            Pin::new(&mut s).reset(Instant::now());
            assert!(poll!(&mut s).is_ready());

            // Registered, then its deadline passes without a poll (the driver may have fired
            // it meanwhile): a reset registers it again.
            let mut s = sleep(ms(2));
            assert!(poll!(&mut s).is_pending());
            std::thread::sleep(ms(10));
            let again = Instant::now() + ms(20);
            Pin::new(&mut s).reset(again);
            assert!(poll!(&mut s).is_pending());
            s.await;
            assert!(Instant::now() >= again);
        });
    });
}

#[test]
fn is_elapsed_and_deadline() {
    for flavor in Flavor::BOTH {
        let rt = build_paused(flavor);
        rt.block_on(async {
            let start = Instant::now();
            assert!(sleep(Duration::ZERO).is_elapsed());
            let s = sleep(ms(10));
            assert_eq!(s.deadline(), start + ms(10));
            assert!(!s.is_elapsed());
            time::advance(ms(9)).await;
            assert!(!s.is_elapsed());
            time::advance(ms(1)).await;
            assert!(s.is_elapsed(), "{flavor:?}");
            let at = start + ms(500);
            assert_eq!(sleep_until(at).deadline(), at);
        });
        // And with the clock running.
        let rt = build_timed(flavor);
        rt.block_on(async {
            let mut s = sleep(ms(5));
            assert!(!s.is_elapsed());
            (&mut s).await;
            assert!(s.is_elapsed());
        });
    }
}

#[test]
fn hundred_thousand_concurrent_sleeps_complete() {
    const TASKS: u64 = 100_000;
    let _timing = timing_lock();
    watchdog("100k sleeps", 120, || {
        let rt = build_timed(Flavor::Multi);
        let done = Arc::new(AtomicUsize::new(0));
        let early = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let (done, early) = (done.clone(), early.clone());
            // Spawned from a task: a worker spawns as fast as it can.
            spawn(async move {
                let handles: Vec<_> = (0..TASKS)
                    .map(|i| {
                        let (done, early) = (done.clone(), early.clone());
                        spawn(async move {
                            let d = ms(1 + i % 20);
                            let start = std::time::Instant::now();
                            sleep(d).await;
                            if start.elapsed() < d {
                                early.fetch_add(1, SeqCst);
                            }
                            done.fetch_add(1, SeqCst);
                        })
                    })
                    .collect();
                for h in handles {
                    h.await.unwrap();
                }
            })
            .await
            .unwrap();
        });
        assert_eq!(done.load(SeqCst), TASKS as usize);
        assert_eq!(early.load(SeqCst), 0, "sleeps completed early");
    });
}

#[test]
fn cancelled_sleep_does_not_wake_its_task() {
    each_flavor("cancelled sleep", |flavor| {
        let rt = build_timed(flavor);
        // The driver must be running for the deadline to be fired: keep block_on busy.
        rt.block_on(async {
            let (waker, wakes) = counting_waker();
            let mut s = sleep(ms(5));
            assert!(Pin::new(&mut s)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            drop(s);
            // A later timer that does fire, so the driver passes the cancelled deadline.
            sleep(ms(20)).await;
            assert_eq!(wakes.load(SeqCst), 0, "{flavor:?}: a dropped sleep woke");
        });
    });
}

#[test]
fn register_cancel_churn_leaves_nothing_behind() {
    each_flavor("register/cancel churn", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            let mut rng = Rng::new(11);
            for i in 0..20_000u64 {
                let d = match i % 4 {
                    0 => Duration::from_secs(3600),
                    _ => Duration::from_micros(rng.in_range(100..=30_000)),
                };
                let mut s = sleep(d);
                if !poll_once(&mut s) {
                    // Sometimes poll twice (re-registration of the waker only).
                    if i % 3 == 0 {
                        poll_once(&mut s);
                    }
                }
                drop(s);
            }
            // The cancelled deadlines pass; a later sleep still works.
            let start = std::time::Instant::now();
            sleep(ms(40)).await;
            assert!(start.elapsed() >= ms(40));
        });
    });
    // With a paused clock, a leftover entry would show: the idle runtime would jump the clock
    // to its deadline. Nothing must move the clock after the churn.
    watchdog("churn, paused clock", 60, || {
        for flavor in Flavor::BOTH {
            let rt = build_paused(flavor);
            let start = rt.block_on(async {
                // In a task, so a multi-thread runtime is busy (not idle) during the churn.
                spawn(async {
                    let start = Instant::now();
                    for i in 0..10_000u64 {
                        let mut s = sleep(ms(1 + i % 1000));
                        assert!(!poll_once(&mut s));
                    }
                    start
                })
                .await
                .unwrap()
            });
            rt.block_on(async {
                // Idle for a while: wait on a real-time event from a std thread.
                let (tx, rx) = runtime::sync::oneshot::channel();
                std::thread::spawn(move || {
                    std::thread::sleep(ms(50));
                    tx.send(()).unwrap();
                });
                rx.await.unwrap();
                assert_eq!(
                    Instant::now(),
                    start,
                    "{flavor:?}: the paused clock moved: a cancelled timer was left behind"
                );
            });
        }
    });
}

#[test]
fn sleep_belongs_to_the_runtime_it_was_created_in() {
    watchdog("cross-runtime sleep", 60, || {
        let timed = build_timed(Flavor::Multi);
        // Polled from a task of a runtime without a time driver: `timed`'s driver fires it.
        let plain = runtime::Builder::new_current_thread().build().unwrap();
        let s = {
            let _enter = timed.enter();
            sleep(ms(20))
        };
        let start = std::time::Instant::now();
        plain.block_on(async move { plain_spawn(s).await });
        assert!(start.elapsed() >= ms(20));

        // Polled from another runtime whose clock is paused: it still waits real time.
        let paused = build_paused(Flavor::Multi);
        let s = {
            let _enter = timed.enter();
            sleep(ms(20))
        };
        let start = std::time::Instant::now();
        paused.block_on(async move { spawn(s).await.unwrap() });
        assert!(start.elapsed() >= ms(20));

        // Polled by `futures::executor::block_on` inside `Handle::enter`.
        let _enter = timed.handle().enter();
        let start = std::time::Instant::now();
        futures::executor::block_on(sleep(ms(15)));
        assert!(start.elapsed() >= ms(15));
    });
}

/// Awaits `s` in a task of the current runtime.
async fn plain_spawn(s: Sleep) {
    spawn(s).await.unwrap();
}

#[test]
fn sleep_inside_spawn_blocking() {
    each_flavor("sleep in spawn_blocking", |flavor| {
        let rt = build_timed(flavor);
        let took = rt.block_on(async {
            runtime::task::spawn_blocking(|| {
                let handle = Handle::current();
                let start = std::time::Instant::now();
                handle.block_on(sleep(ms(10)));
                start.elapsed()
            })
            .await
            .unwrap()
        });
        assert!(took >= ms(10), "{flavor:?}: {took:?}");
    });
}

#[test]
fn zero_sleep_loop_does_not_starve_other_tasks() {
    watchdog("coop with sleep(ZERO)", 30, || {
        let rt = build_timed(Flavor::Current);
        let flag = Arc::new(AtomicBool::new(false));
        let loops = rt.block_on(async {
            let spinner = spawn({
                let flag = flag.clone();
                async move {
                    let mut loops = 0u64;
                    while !flag.load(SeqCst) {
                        sleep(Duration::ZERO).await;
                        loops += 1;
                    }
                    loops
                }
            });
            let setter = spawn({
                let flag = flag.clone();
                async move { flag.store(true, SeqCst) }
            });
            setter.await.unwrap();
            spinner.await.unwrap()
        });
        assert!(flag.load(SeqCst));
        assert!(loops > 0);
    });
}

#[test]
fn ready_sleeps_spend_the_cooperative_budget() {
    for flavor in Flavor::BOTH {
        let rt = build_timed(flavor);
        let (constrained, unconstrained) = rt.block_on(async {
            spawn(async {
                // 1000 polls of elapsed sleeps within one task poll (`poll!` does not yield).
                async fn ready_polls() -> usize {
                    let mut n = 0;
                    for _ in 0..1_000 {
                        let mut s = sleep(Duration::ZERO);
                        if let Poll::Ready(()) = poll!(&mut s) {
                            n += 1;
                        }
                    }
                    n
                }
                let constrained = ready_polls().await;
                let unconstrained = runtime::task::unconstrained(ready_polls()).await;
                (constrained, unconstrained)
            })
            .await
            .unwrap()
        });
        assert!(
            constrained < 1_000,
            "{flavor:?}: the budget never ran out ({constrained} ready)"
        );
        assert!(constrained > 0, "{flavor:?}");
        assert_eq!(unconstrained, 1_000, "{flavor:?}");
    }
}
