//! Integration tests of `runtime::time` misuse: timers created outside a runtime (the panic
//! names the function and how to enter a runtime), on a runtime built without the time driver
//! (the panic names `Builder::enable_time`), a `Sleep` polled after its runtime shut down
//! (panics with the shutdown message instead of hanging, also when it was already being
//! waited on), and dropping a runtime with 10k pending sleeps (returns promptly, cancels their
//! tasks). Both runtime flavors where it matters.

mod support;

use futures::FutureExt;
use runtime::time::{self, sleep, sleep_until, timeout, Duration, Instant, Sleep};
use runtime::{Builder, Runtime};
use std::future::pending;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use support::{build_timed, panic_payload_str, watchdog, yield_until, CountDrop, Flavor};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The message of the panic `f` raises (nothing `f` touches is used after a panic).
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map(drop)
        .expect_err("expected a panic");
    panic_payload_str(&*err).unwrap().to_string()
}

/// Asserts the message of an outside-a-runtime panic of `function`.
fn assert_outside_runtime(msg: &str, function: &str) {
    assert!(msg.contains(function), "names {function}: {msg}");
    assert!(msg.contains("outside of a runtime"), "{msg}");
    assert!(
        msg.contains("Runtime::enter()"),
        "says how to enter one: {msg}"
    );
    assert!(msg.contains("block_on"), "{msg}");
}

#[test]
fn timers_outside_a_runtime_panic_naming_the_function() {
    let msg = panic_message(|| sleep(ms(1)));
    assert_outside_runtime(&msg, "runtime::time::sleep");
    let msg = panic_message(|| sleep_until(Instant::now()));
    assert_outside_runtime(&msg, "runtime::time::sleep_until");
    let msg = panic_message(|| time::interval(ms(1)));
    assert_outside_runtime(&msg, "runtime::time::");
    let msg = panic_message(time::pause);
    assert_outside_runtime(&msg, "runtime::time::pause");
    let msg = panic_message(time::resume);
    assert_outside_runtime(&msg, "runtime::time::resume");
    let msg = panic_message(|| time::advance(ms(1)));
    assert_outside_runtime(&msg, "runtime::time::advance");
    let msg = panic_message(|| timeout(ms(1), pending::<()>()));
    assert_outside_runtime(&msg, "runtime::time::");
    // Outside a runtime `Instant::now` is the system's monotonic clock: no panic.
    let before = std::time::Instant::now();
    assert!(Instant::now().into_std() >= before);
}

#[test]
fn timeout_and_interval_panics_name_themselves() {
    let msg = panic_message(|| timeout(ms(1), pending::<()>()));
    assert!(msg.contains("runtime::time::timeout"), "{msg}");
    let msg = panic_message(|| time::timeout_at(Instant::now(), pending::<()>()));
    assert!(msg.contains("runtime::time::timeout_at"), "{msg}");
    let msg = panic_message(|| time::interval(ms(1)));
    assert!(msg.contains("runtime::time::interval"), "{msg}");
}

#[test]
fn timers_on_a_runtime_without_the_time_driver_name_enable_time() {
    for builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
        let rt = { builder }.build().unwrap();
        let _enter = rt.enter();
        for msg in [
            panic_message(|| sleep(ms(1))),
            panic_message(|| timeout(ms(1), pending::<()>())),
            panic_message(time::pause),
        ] {
            assert!(msg.contains("Builder::enable_time()"), "{msg}");
            assert!(msg.contains("without it"), "{msg}");
        }
        drop(_enter);
        // From a task too: the task fails with that panic.
        let err = rt
            .block_on(async { runtime::spawn(async { sleep(ms(1)).await }).await })
            .unwrap_err();
        let payload = err.into_panic();
        let msg = panic_payload_str(&*payload).unwrap();
        assert!(msg.contains("Builder::enable_time()"), "{msg}");
    }
}

/// Creates a sleep of `d` in `rt`, polled once (registered) if `register`.
fn sleep_in(rt: &Runtime, d: Duration, register: bool) -> Sleep {
    let _enter = rt.enter();
    let mut s = sleep(d);
    if register {
        assert!((&mut s).now_or_never().is_none());
    }
    s
}

const SHUTDOWN: &str = "polled after its runtime shut down";

#[test]
fn sleep_polled_after_shutdown_panics_instead_of_hanging() {
    watchdog("sleep after shutdown", 30, || {
        for flavor in Flavor::BOTH {
            for register in [false, true] {
                let rt = build_timed(flavor);
                let s = sleep_in(&rt, Duration::from_secs(3600), register);
                drop(rt);
                let msg = panic_message(move || futures::executor::block_on(s));
                assert!(
                    msg.contains(SHUTDOWN),
                    "{flavor:?} registered={register}: {msg}"
                );
                assert!(msg.contains("Keep the runtime alive"), "{msg}");
            }
            // Shut down with a timeout / in the background: the same.
            let rt = build_timed(flavor);
            let s = sleep_in(&rt, Duration::from_secs(3600), true);
            rt.shutdown_timeout(Duration::from_secs(5));
            let msg = panic_message(move || futures::executor::block_on(s));
            assert!(msg.contains(SHUTDOWN), "{flavor:?}: {msg}");

            // A sleep whose deadline has passed still completes: it needs no driver.
            let rt = build_timed(flavor);
            let s = sleep_in(&rt, ms(1), true);
            drop(rt);
            std::thread::sleep(ms(5));
            futures::executor::block_on(s);
        }
    });
}

#[test]
fn sleep_waited_on_when_its_runtime_shuts_down_panics_instead_of_hanging() {
    watchdog("waiting sleep at shutdown", 30, || {
        for flavor in Flavor::BOTH {
            let rt = build_timed(flavor);
            let s = sleep_in(&rt, Duration::from_secs(3600), false);
            let waiter =
                std::thread::spawn(move || panic_message(move || futures::executor::block_on(s)));
            std::thread::sleep(ms(30));
            if flavor == Flavor::Multi {
                rt.shutdown_background();
            } else {
                drop(rt);
            }
            let msg = waiter.join().unwrap();
            assert!(msg.contains(SHUTDOWN), "{flavor:?}: {msg}");
        }
    });
}

#[test]
fn dropping_a_runtime_with_10k_pending_sleeps_is_prompt_and_cancels_them() {
    const TASKS: usize = 10_000;
    watchdog("drop with 10k sleeps", 60, || {
        for flavor in Flavor::BOTH {
            let rt = build_timed(flavor);
            let dropped = Arc::new(AtomicUsize::new(0));
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..TASKS {
                let guard = CountDrop(dropped.clone());
                let started = started.clone();
                rt.spawn(async move {
                    let _guard = guard;
                    let mut s = sleep(Duration::from_secs(3600));
                    // Registered before it counts as started.
                    assert!((&mut s).now_or_never().is_none());
                    started.fetch_add(1, SeqCst);
                    s.await;
                    unreachable!("an hour passed");
                });
            }
            rt.block_on(yield_until(|| started.load(SeqCst) == TASKS));
            assert_eq!(dropped.load(SeqCst), 0);
            let real = std::time::Instant::now();
            drop(rt);
            let took = real.elapsed();
            assert!(
                took < Duration::from_secs(5),
                "{flavor:?}: drop took {took:?}"
            );
            assert_eq!(
                dropped.load(SeqCst),
                TASKS,
                "{flavor:?}: tasks not cancelled"
            );
        }
    });
}
