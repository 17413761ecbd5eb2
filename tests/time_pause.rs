//! Integration tests of the paused clock (`runtime::time::{pause, resume, advance}`,
//! `Builder::start_paused`, `#[runtime::test(start_paused = true)]`) on both runtime flavors:
//! virtual days of sleeping finish in real milliseconds with exact virtual times, the same on
//! every run; `pause` then `resume`; `advance` fires the timers it passes and no later ones;
//! misuse panics (`advance` / `resume` on a running clock, `pause` twice) and `start_paused`
//! without `enable_time`; auto-advance waits for a running `spawn_blocking` closure.
//!
//! Most paused tests run their body as a spawned task (`support::run_paused`); the last two
//! tests cover a multi-thread runtime's `block_on` thread itself: its timers wake the idle
//! driver, and the clock does not move while its future runs.

mod support;

use runtime::time::{self, sleep, Duration, Instant};
use runtime::{spawn, Builder};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::task::Context;
use support::{
    build_paused, build_timed, counting_waker, panic_payload_str, run_paused, watchdog, Flavor, Rng,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const MINUTE: u64 = 60_000;
const DAY: u64 = 24 * 60 * MINUTE;

/// 1000 tasks, each sleeping a pseudo-random, distinct duration between a minute and three
/// days; returns `(task, virtual completion offset)` in completion order.
async fn thousand_sleepers(seed: u64) -> Vec<(usize, Duration)> {
    let mut rng = Rng::new(seed);
    // Distinct durations (ms, plus the task index in ns) so the completion order is unique.
    let durations: Vec<Duration> = (0..1000)
        .map(|i| ms(rng.in_range(MINUTE..=3 * DAY)) + Duration::from_nanos(i))
        .collect();
    let base = Instant::now();
    let log = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = durations
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let log = log.clone();
            spawn(async move {
                let start = Instant::now();
                sleep(d).await;
                assert_eq!(start.elapsed(), d, "task {i}: inexact virtual sleep");
                log.lock().unwrap().push((i, Instant::now() - base));
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let mut expected: Vec<(usize, Duration)> = durations.into_iter().enumerate().collect();
    expected.sort_by_key(|&(_, d)| d);
    let log = log.lock().unwrap().clone();
    assert_eq!(log, expected, "completion order or instants");
    log
}

#[test]
fn virtual_days_finish_in_real_milliseconds_deterministically() {
    watchdog("virtual days", 120, || {
        let mut runs = Vec::new();
        for flavor in Flavor::BOTH {
            for _ in 0..3 {
                let real = std::time::Instant::now();
                runs.push(run_paused(flavor, thousand_sleepers(42)));
                let took = real.elapsed();
                assert!(took < Duration::from_secs(20), "{flavor:?}: took {took:?}");
            }
        }
        assert!(runs.windows(2).all(|w| w[0] == w[1]), "runs differ");
    });
}

#[test]
fn pause_then_resume() {
    watchdog("pause/resume", 60, || {
        for flavor in Flavor::BOTH {
            let rt = build_timed(flavor);
            rt.block_on(async {
                time::pause();
                let frozen = Instant::now();
                std::thread::sleep(ms(20));
                assert_eq!(Instant::now(), frozen, "{flavor:?}: the paused clock moved");
                time::advance(Duration::from_secs(1)).await;
                assert_eq!(Instant::now(), frozen + Duration::from_secs(1));
                time::resume();
                std::thread::sleep(ms(10));
                let now = Instant::now();
                assert!(
                    now >= frozen + Duration::from_secs(1) + ms(10),
                    "{flavor:?}"
                );
                assert!(now < frozen + Duration::from_secs(30), "{flavor:?}");
                // Running again: a sleep takes real time.
                let real = std::time::Instant::now();
                sleep(ms(10)).await;
                assert!(real.elapsed() >= ms(10), "{flavor:?}");
                // And it can be paused again.
                time::pause();
                let frozen = Instant::now();
                time::advance(ms(5)).await;
                assert_eq!(Instant::now(), frozen + ms(5));
            });
        }
    });
}

#[test]
fn advance_fires_due_timers_and_not_later_ones() {
    watchdog("advance", 60, || {
        for flavor in Flavor::BOTH {
            run_paused(flavor, async move {
                let start = Instant::now();
                let mut sleeps: Vec<_> = [10, 20, 30].map(|n| sleep(ms(n))).into();
                let wakers: Vec<_> = (0..3).map(|_| counting_waker()).collect();
                for (s, (waker, _)) in sleeps.iter_mut().zip(&wakers) {
                    assert!(Pin::new(s)
                        .poll(&mut Context::from_waker(waker))
                        .is_pending());
                }
                let woken = || {
                    wakers
                        .iter()
                        .map(|(_, n)| n.load(SeqCst))
                        .collect::<Vec<_>>()
                };

                time::advance(ms(15)).await;
                assert_eq!(Instant::now() - start, ms(15));
                assert_eq!(woken(), [1, 0, 0], "{flavor:?}");
                assert!(sleeps[0].is_elapsed() && !sleeps[1].is_elapsed());

                time::advance(ms(5)).await; // exactly the second deadline
                assert_eq!(woken(), [1, 1, 0], "{flavor:?}");

                time::advance(ms(9)).await;
                assert_eq!(woken(), [1, 1, 0], "{flavor:?}");
                time::advance(Duration::from_nanos(1_000_000)).await;
                assert_eq!(woken(), [1, 1, 1], "{flavor:?}");
            });
        }
    });
}

/// Runs `f` inside a current-thread runtime with the time driver and returns its panic message.
fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let rt = build_timed(Flavor::Current);
    let _enter = rt.enter();
    let err = std::panic::catch_unwind(f).expect_err("expected a panic");
    panic_payload_str(&*err).unwrap().to_string()
}

#[test]
fn clock_misuse_panics_with_clear_messages() {
    let msg = panic_message(|| drop(time::advance(ms(1))));
    assert!(msg.contains("runtime::time::advance"), "{msg}");
    assert!(msg.contains("not paused"), "{msg}");
    assert!(msg.contains("start_paused"), "{msg}");

    let msg = panic_message(time::resume);
    assert!(msg.contains("runtime::time::resume"), "{msg}");
    assert!(msg.contains("not paused"), "{msg}");

    let msg = panic_message(|| {
        time::pause();
        time::pause();
    });
    assert!(msg.contains("runtime::time::pause"), "{msg}");
    assert!(msg.contains("already paused"), "{msg}");
    assert!(msg.contains("resume"), "{msg}");
}

#[test]
fn auto_advance_waits_for_a_running_blocking_closure() {
    watchdog("auto-advance vs spawn_blocking", 60, || {
        for flavor in Flavor::BOTH {
            run_paused(flavor, async move {
                let blocking = runtime::task::spawn_blocking(|| {
                    std::thread::sleep(ms(50));
                    std::time::Instant::now()
                });
                let start = Instant::now();
                sleep(Duration::from_secs(3600)).await;
                let slept_until = std::time::Instant::now();
                assert_eq!(start.elapsed(), Duration::from_secs(3600), "{flavor:?}");
                let blocking_done = blocking.await.unwrap();
                assert!(
                    slept_until >= blocking_done,
                    "{flavor:?}: the clock jumped while a blocking closure ran"
                );
            });
        }
    });
}

#[runtime::test(start_paused = true)]
async fn test_macro_start_paused_current_thread() {
    let real = std::time::Instant::now();
    let start = Instant::now();
    sleep(Duration::from_secs(7 * 24 * 3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(7 * 24 * 3600));
    assert!(real.elapsed() < Duration::from_secs(10));
    // `time::resume` works: the clock was paused.
    time::resume();
}

#[runtime::test(flavor = "multi_thread", start_paused = true)]
async fn test_macro_start_paused_multi_thread() {
    let real = std::time::Instant::now();
    let start = Instant::now();
    std::thread::sleep(ms(5));
    assert_eq!(Instant::now(), start, "the clock is not paused");
    // In the body (the block_on thread) and in a task.
    sleep(Duration::from_secs(3600)).await;
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
    let slept = spawn(async {
        let start = Instant::now();
        sleep(Duration::from_secs(3 * 3600)).await;
        start.elapsed()
    })
    .await
    .unwrap();
    assert_eq!(slept, Duration::from_secs(3 * 3600));
    assert!(real.elapsed() < Duration::from_secs(10));
}

#[test]
fn start_paused_needs_enable_time() {
    for mut builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
        let err = builder.start_paused(true).build().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("enable_time"), "{err}");
        // With the time driver it builds, paused.
        let rt = builder.enable_time().build().unwrap();
        rt.block_on(async {
            let start = Instant::now();
            std::thread::sleep(ms(2));
            assert_eq!(Instant::now(), start);
        });
    }
}

#[test]
fn sleeping_in_block_on_of_a_paused_multi_thread_runtime() {
    // What `#[runtime::test(flavor = "multi_thread", start_paused = true)]` bodies do.
    watchdog("sleep in block_on, paused multi-thread", 20, || {
        let rt = build_paused(Flavor::Multi);
        rt.block_on(async {
            for round in 0..20u32 {
                let start = Instant::now();
                sleep(Duration::from_secs(1)).await;
                assert_eq!(start.elapsed(), Duration::from_secs(1), "round {round}");
            }
        });
    });
}

#[test]
fn no_auto_advance_while_the_block_on_future_runs() {
    watchdog("auto-advance vs busy block_on", 20, || {
        let rt = build_paused(Flavor::Multi);
        rt.block_on(async {
            let start = Instant::now();
            let sleeper = spawn(sleep(Duration::from_secs(3600)));
            // The block_on future is busy (it has not yielded): the runtime is not idle.
            std::thread::sleep(ms(100));
            assert_eq!(
                Instant::now(),
                start,
                "the clock jumped while the block_on future was running"
            );
            sleeper.abort();
        });
    });
}
