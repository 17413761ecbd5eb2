//! Integration tests of `runtime::time::timeout` / `timeout_at` (`Timeout`) and
//! `runtime::time::error::Elapsed`, on both runtime flavors: a timeout that elapses and one
//! that does not, a zero duration with a ready future, past and future deadlines with
//! `timeout_at`, the error's `Display` / `Error` / `io::Error` conversion, `get_ref` /
//! `get_mut` / `into_inner`, a timeout around a future that exhausts the cooperative budget
//! still fires, and `Duration::MAX` does not overflow.

mod support;

use futures::poll;
use runtime::spawn;
use runtime::sync::oneshot;
use runtime::time::error::Elapsed;
use runtime::time::{self, timeout, timeout_at, Duration, Instant};
use std::future::{pending, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use support::{build_timed, run_paused, watchdog, Flavor};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `f` with a timed runtime of each flavor, under a watchdog.
fn each_flavor(what: &'static str, f: impl Fn(Flavor) + Send + 'static) {
    watchdog(what, 60, move || {
        for flavor in Flavor::BOTH {
            f(flavor);
        }
    });
}

#[test]
fn timeout_elapses_and_drops_the_future() {
    each_flavor("timeout elapses", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            let (guard, dropped) = support::drop_flag();
            let start = std::time::Instant::now();
            let result = timeout(ms(10), async move {
                let _guard = guard;
                pending::<()>().await
            })
            .await;
            assert!(result.is_err(), "{flavor:?}: {result:?}");
            assert!(start.elapsed() >= ms(10), "{flavor:?}: fired early");
            assert!(
                dropped.load(SeqCst),
                "{flavor:?}: the future outlived its timeout"
            );
        });
    });
}

#[test]
fn timeout_does_not_elapse_when_the_future_completes_first() {
    each_flavor("timeout not elapsed", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            let (tx, rx) = oneshot::channel();
            spawn(async move {
                time::sleep(ms(5)).await;
                tx.send(42).unwrap();
            });
            let result = timeout(Duration::from_secs(10), rx).await;
            assert_eq!(result.expect("no timeout").unwrap(), 42, "{flavor:?}");
            // Immediately ready: no timer involved.
            assert_eq!(timeout(ms(1), async { 7 }).await, Ok(7));
        });
    });
}

#[test]
fn zero_duration() {
    for flavor in Flavor::BOTH {
        let rt = build_timed(flavor);
        rt.block_on(async {
            assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
            assert_eq!(
                timeout(Duration::ZERO, std::future::ready("x")).await,
                Ok("x")
            );
            let mut t = timeout(Duration::ZERO, pending::<()>());
            // `Timeout<Pending>` is Unpin: polled once, the deadline has already passed.
            assert!(matches!(poll!(&mut t), Poll::Ready(Err(_))), "{flavor:?}");
        });
    }
}

/// An `Elapsed` obtained the only public way.
fn elapsed() -> Elapsed {
    let rt = build_timed(Flavor::Current);
    rt.block_on(async { timeout(Duration::ZERO, pending::<()>()).await })
        .unwrap_err()
}

#[test]
fn timeout_at_past_and_future_deadlines() {
    each_flavor("timeout_at", |flavor| {
        let rt = build_timed(flavor);
        rt.block_on(async {
            let now = Instant::now();
            let past = now.checked_sub(ms(100)).unwrap_or(now);
            assert_eq!(timeout_at(past, async { 1 }).await, Ok(1));
            assert!(timeout_at(past, pending::<()>()).await.is_err());

            let deadline = Instant::now() + ms(15);
            assert!(timeout_at(deadline, pending::<()>()).await.is_err());
            assert!(Instant::now() >= deadline, "{flavor:?}: fired early");

            let deadline = Instant::now() + Duration::from_secs(10);
            assert_eq!(timeout_at(deadline, time::sleep(ms(2))).await, Ok(()));
        });
    });
}

#[test]
fn timeout_with_paused_clock_is_exact() {
    watchdog("paused timeouts", 60, || {
        for flavor in Flavor::BOTH {
            run_paused(flavor, async move {
                let start = Instant::now();
                assert!(timeout(Duration::from_secs(30), pending::<()>())
                    .await
                    .is_err());
                assert_eq!(start.elapsed(), Duration::from_secs(30), "{flavor:?}");
                // The inner sleep is shorter: it wins, exactly at its own deadline.
                let start = Instant::now();
                let r = timeout(ms(100), time::sleep(ms(99))).await;
                assert_eq!(r, Ok(()));
                assert_eq!(start.elapsed(), ms(99), "{flavor:?}");
            });
        }
    });
}

#[test]
fn elapsed_error_traits() {
    let err = elapsed();
    assert_eq!(err.to_string(), "deadline has elapsed");
    assert_eq!(err, err.clone());
    assert!(format!("{err:?}").contains("Elapsed"));
    let dyn_err: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(dyn_err.source().is_none());
    let io: std::io::Error = err.into();
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    // `?` converts it in functions returning io::Result.
    fn with_question_mark(e: Elapsed) -> std::io::Result<()> {
        Err(e)?
    }
    assert_eq!(
        with_question_mark(err).unwrap_err().kind(),
        std::io::ErrorKind::TimedOut
    );
}

/// A future with observable state, to check the accessors.
#[derive(Debug)]
struct Countdown(u32);

impl Future for Countdown {
    type Output = &'static str;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        if self.0 == 0 {
            return Poll::Ready("liftoff");
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn get_ref_get_mut_into_inner() {
    let rt = build_timed(Flavor::Current);
    rt.block_on(async {
        let mut t = timeout(Duration::from_secs(10), Countdown(3));
        assert_eq!(t.get_ref().0, 3);
        assert!(poll!(&mut t).is_pending());
        assert_eq!(t.get_ref().0, 2);
        t.get_mut().0 = 0;
        assert_eq!(poll!(&mut t), Poll::Ready(Ok("liftoff")));
        assert!(format!("{t:?}").contains("Countdown"));

        // Taken back out, the future runs without a deadline.
        let t = timeout(ms(1), async {
            time::sleep(ms(20)).await;
            "late but fine"
        });
        let inner = t.into_inner();
        assert_eq!(inner.await, "late but fine");
    });
}

#[test]
fn timeout_fires_even_when_the_future_exhausts_the_budget() {
    each_flavor("timeout under exhausted budget", |flavor| {
        let rt = build_timed(flavor);
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let result = rt.block_on(async move {
            spawn(async move {
                // Spends every unit of budget it gets, forever (consume_budget returns Pending
                // once the budget is spent, and the task is polled again later).
                let busy = async move {
                    loop {
                        counted.fetch_add(1, SeqCst);
                        runtime::task::consume_budget().await;
                    }
                };
                let start = std::time::Instant::now();
                let r: Result<(), Elapsed> = timeout(ms(20), busy).await;
                (r, start.elapsed())
            })
            .await
            .unwrap()
        });
        let (r, took) = result;
        assert!(r.is_err(), "{flavor:?}");
        assert!(took >= ms(20), "{flavor:?}: {took:?}");
        assert!(
            polls.load(SeqCst) > 128,
            "{flavor:?}: the future was barely polled"
        );
    });
}

#[test]
fn duration_max_does_not_panic() {
    for flavor in Flavor::BOTH {
        let rt = build_timed(flavor);
        rt.block_on(async {
            assert_eq!(timeout(Duration::MAX, async { 1 }).await, Ok(1));
            let mut t = timeout(Duration::MAX, pending::<()>());
            assert!(poll!(&mut t).is_pending());
            // It registered a timer far in the future; that is dropped with it.
            drop(t);
            let mut s = time::sleep(Duration::MAX);
            assert!(poll!(&mut s).is_pending());
            assert!(!s.is_elapsed());
            assert!(s.deadline() > Instant::now() + Duration::from_secs(365 * 24 * 3600));
            // The runtime still works afterwards.
            time::sleep(ms(1)).await;
        });
    }
}
