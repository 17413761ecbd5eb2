//! Integration tests of `runtime::time::interval` / `interval_at` (`Interval`,
//! `MissedTickBehavior`), on both runtime flavors: the first tick is immediate, ticks are a
//! period apart (exactly, on a paused clock; never early, on a running one), `interval_at`,
//! a zero period panics with its message, `Burst` / `Delay` / `Skip` after a stall (the
//! paused clock and `time::advance` make the expected instants exact, as in Tokio's tests),
//! `reset`, `reset_immediately`, `reset_after`, `reset_at`, and cancel safety of `tick()`
//! (a dropped pending `tick()` future consumes no tick).
//!
//! Paused-clock tests run their body as a spawned task (`support::run_paused`).

mod support;

use futures::poll;
use runtime::time::{self, interval, interval_at, timeout, Duration, Instant, MissedTickBehavior};
use std::pin::pin;
use support::{build_timed, panic_payload_str, run_paused, watchdog, Flavor};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs the paused-clock test body `f` (given the flavor) as a task of a paused runtime of each
/// flavor, under a watchdog.
fn paused_on_both<F, Fut>(what: &'static str, f: F)
where
    F: Fn(Flavor) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    watchdog(what, 60, move || {
        for flavor in Flavor::BOTH {
            run_paused(flavor, f(flavor));
        }
    });
}

/// The offsets from `start` of the next `n` ticks of `i` (the scheduled instants `tick`
/// returns), checking that none completes before its instant.
async fn next_ticks(i: &mut time::Interval, start: Instant, n: usize) -> Vec<Duration> {
    let mut offsets = Vec::new();
    for _ in 0..n {
        let at = i.tick().await;
        assert!(Instant::now() >= at, "tick returned before its instant");
        offsets.push(at - start);
    }
    offsets
}

#[test]
fn first_tick_is_immediate() {
    watchdog("first tick", 60, || {
        for flavor in Flavor::BOTH {
            let rt = build_timed(flavor);
            rt.block_on(async {
                let before = Instant::now();
                let mut i = interval(Duration::from_secs(3600));
                let first = i.tick().await;
                assert!(first >= before);
                assert!(before.elapsed() < Duration::from_secs(1), "{flavor:?}");
                // The second tick is an hour away.
                let mut second = pin!(i.tick());
                assert!(poll!(second.as_mut()).is_pending());
            });
        }
    });
}

#[test]
fn ticks_are_a_period_apart() {
    paused_on_both("paused period", |flavor| async move {
        let start = Instant::now();
        let mut i = interval(ms(10));
        for k in 0..6u32 {
            let at = i.tick().await;
            assert_eq!(at, start + ms(10) * k, "{flavor:?}");
            assert_eq!(Instant::now(), at, "{flavor:?}");
        }
        assert_eq!(i.period(), ms(10));
        assert_eq!(i.missed_tick_behavior(), MissedTickBehavior::Burst);
    });
    // A running clock: the scheduled instants are a period apart and none completes early.
    watchdog("real period", 60, || {
        for flavor in Flavor::BOTH {
            let rt = build_timed(flavor);
            rt.block_on(async {
                let mut i = interval(ms(5));
                let first = i.tick().await;
                for k in 1..=5u32 {
                    let at = i.tick().await;
                    assert_eq!(at, first + ms(5) * k, "{flavor:?}");
                    assert!(Instant::now() >= at, "{flavor:?}: early tick");
                }
            });
        }
    });
}

#[test]
fn interval_at_starts_at_its_start() {
    paused_on_both("interval_at", |flavor| async move {
        let now = Instant::now();
        let mut i = interval_at(now + ms(25), ms(10));
        assert_eq!(next_ticks(&mut i, now, 3).await, [ms(25), ms(35), ms(45)]);
        assert_eq!(Instant::now(), now + ms(45), "{flavor:?}");

        // A start in the past ticks at once, with that start.
        let now = Instant::now();
        let past = now.checked_sub(ms(1)).unwrap();
        let mut i = interval_at(past, ms(100));
        assert_eq!(i.tick().await, past);
        assert_eq!(Instant::now(), now, "{flavor:?}");
    });
}

#[test]
fn zero_period_panics() {
    let rt = build_timed(Flavor::Current);
    let _enter = rt.enter();
    let err = std::panic::catch_unwind(|| interval(Duration::ZERO)).unwrap_err();
    let msg = panic_payload_str(&*err).unwrap();
    assert!(msg.contains("`period` must be non-zero"), "{msg}");
    assert!(msg.contains("interval"), "{msg}");
    let err = std::panic::catch_unwind(|| interval_at(Instant::now(), Duration::ZERO)).unwrap_err();
    let msg = panic_payload_str(&*err).unwrap();
    assert!(
        msg.contains("interval_at: `period` must be non-zero"),
        "{msg}"
    );
}

/// Period 10 ms; the first tick at 0, then a 35 ms stall; returns the next `n` tick offsets.
async fn after_stall(behavior: MissedTickBehavior, n: usize) -> Vec<Duration> {
    let start = Instant::now();
    let mut i = interval(ms(10));
    i.set_missed_tick_behavior(behavior);
    assert_eq!(i.missed_tick_behavior(), behavior);
    assert_eq!(i.tick().await, start);
    time::advance(ms(35)).await;
    next_ticks(&mut i, start, n).await
}

#[test]
fn missed_ticks_burst() {
    paused_on_both("burst", |flavor| async move {
        let start = Instant::now();
        let ticks = after_stall(MissedTickBehavior::Burst, 5).await;
        // 10, 20, 30 are missed and fire at once (at 35); then 40 and 50 on schedule.
        assert_eq!(
            ticks,
            [ms(10), ms(20), ms(30), ms(40), ms(50)],
            "{flavor:?}"
        );
        assert_eq!(Instant::now() - start, ms(50), "{flavor:?}");
    });
}

#[test]
fn missed_ticks_delay() {
    paused_on_both("delay", |flavor| async move {
        let start = Instant::now();
        let ticks = after_stall(MissedTickBehavior::Delay, 3).await;
        // The late tick (scheduled at 10) completes at 35; the schedule restarts from 35.
        assert_eq!(ticks, [ms(10), ms(45), ms(55)], "{flavor:?}");
        assert_eq!(Instant::now() - start, ms(55), "{flavor:?}");
    });
}

#[test]
fn missed_ticks_skip() {
    paused_on_both("skip", |flavor| async move {
        let start = Instant::now();
        let ticks = after_stall(MissedTickBehavior::Skip, 3).await;
        // The late tick completes at 35; 20 and 30 are dropped; the schedule continues at 40.
        assert_eq!(ticks, [ms(10), ms(40), ms(50)], "{flavor:?}");
        assert_eq!(Instant::now() - start, ms(50), "{flavor:?}");
    });
}

#[test]
fn a_late_tick_within_the_threshold_is_not_missed() {
    // At most 5 ms late counts as on time for every behavior: the schedule is unchanged.
    paused_on_both("within threshold", |flavor| async move {
        for behavior in [
            MissedTickBehavior::Burst,
            MissedTickBehavior::Delay,
            MissedTickBehavior::Skip,
        ] {
            let start = Instant::now();
            let mut i = interval(ms(10));
            i.set_missed_tick_behavior(behavior);
            i.tick().await;
            time::advance(ms(15)).await;
            let ticks = next_ticks(&mut i, start, 2).await;
            assert_eq!(ticks, [ms(10), ms(20)], "{flavor:?} {behavior:?}");
        }
    });
}

#[test]
fn reset_restarts_the_schedule_from_now() {
    paused_on_both("reset", |flavor| async move {
        let start = Instant::now();
        let mut i = interval(ms(10));
        i.tick().await;
        time::advance(ms(5)).await;
        i.reset();
        assert_eq!(
            next_ticks(&mut i, start, 2).await,
            [ms(15), ms(25)],
            "{flavor:?}"
        );
        // Before the first tick too: the first tick is then a period away.
        let start = Instant::now();
        let mut i = interval(ms(10));
        i.reset();
        assert_eq!(next_ticks(&mut i, start, 1).await, [ms(10)], "{flavor:?}");
    });
}

#[test]
fn reset_immediately_ticks_now() {
    paused_on_both("reset_immediately", |flavor| async move {
        let start = Instant::now();
        let mut i = interval(ms(10));
        i.tick().await;
        time::advance(ms(3)).await;
        i.reset_immediately();
        assert_eq!(i.tick().await - start, ms(3), "{flavor:?}");
        assert_eq!(Instant::now() - start, ms(3), "{flavor:?}: it waited");
        assert_eq!(next_ticks(&mut i, start, 1).await, [ms(13)], "{flavor:?}");
    });
}

#[test]
fn reset_after_and_reset_at() {
    paused_on_both("reset_after/at", |flavor| async move {
        let start = Instant::now();
        let mut i = interval(ms(10));
        i.tick().await;
        time::advance(ms(2)).await;
        i.reset_after(ms(20));
        assert_eq!(
            next_ticks(&mut i, start, 2).await,
            [ms(22), ms(32)],
            "{flavor:?}"
        );

        let start = Instant::now();
        let mut i = interval(ms(10));
        i.tick().await;
        i.reset_at(start + ms(7));
        assert_eq!(
            next_ticks(&mut i, start, 2).await,
            [ms(7), ms(17)],
            "{flavor:?}"
        );
        // A deadline in the past ticks at once with that instant.
        let now = Instant::now();
        i.reset_at(now.checked_sub(ms(1)).unwrap());
        assert_eq!(i.tick().await, now.checked_sub(ms(1)).unwrap());
        assert_eq!(Instant::now(), now, "{flavor:?}");
    });
}

#[test]
fn dropping_a_pending_tick_consumes_no_tick() {
    paused_on_both("tick cancel safety", |flavor| async move {
        let start = Instant::now();
        let mut i = interval(ms(10));
        i.tick().await;
        {
            let mut tick = pin!(i.tick());
            assert!(poll!(tick.as_mut()).is_pending());
        }
        time::advance(ms(10)).await;
        // Due now but never polled to completion: still there.
        {
            let _unpolled = i.tick();
        }
        assert_eq!(i.tick().await - start, ms(10), "{flavor:?}");
        // Lost in a timeout: the interrupted tick is the next one.
        assert!(timeout(ms(5), i.tick()).await.is_err());
        assert_eq!(Instant::now() - start, ms(15), "{flavor:?}");
        assert_eq!(i.tick().await - start, ms(20), "{flavor:?}");
        assert_eq!(Instant::now() - start, ms(20), "{flavor:?}");
    });
}
