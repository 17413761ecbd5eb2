//! Runtime shutdown: what `drop(Runtime)`, `shutdown_timeout` and `shutdown_background` do to
//! tasks (idle, queued and running futures are dropped, their `JoinHandle`s resolve to
//! cancelled), to blocking closures (queued ones are cancelled, running ones do not hold
//! shutdown hostage past its deadline), to later spawns through a kept `Handle` (cancelled at
//! once), and to the runtime's threads (gone after drop, start/stop callbacks balanced).
//! Also: dropping a runtime from async code (another runtime's task or `block_on`, or one of
//! its own tasks) must not deadlock.
//!
//! Both flavors where meaningful. Thread counts read `/proc/self/task/*/comm` (Linux), so
//! every runtime here gets a unique name of at most 7 characters (`<name>-monitor` must fit
//! the 15 bytes of `comm`).

mod support;

use futures::executor::block_on as fut_block_on;
use runtime::{Builder, Handle, JoinHandle, Runtime};
use std::future::pending;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use support::{
    build_named, occupy_blocking_threads, threads_named, wait_until, watchdog, CountDrop, Flavor,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn assert_cancelled<T: std::fmt::Debug>(what: &str, handle: JoinHandle<T>) {
    match fut_block_on(handle) {
        Err(e) => assert!(
            e.is_cancelled(),
            "{what}: expected a cancelled JoinError, got {e:?}"
        ),
        Ok(v) => panic!("{what}: expected cancellation, the task completed with {v:?}"),
    }
}

/// Spawns `n` tasks that count their first poll, then stay pending forever holding a guard.
fn spawn_pending(
    spawn: impl Fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>) -> JoinHandle<()>,
    n: usize,
    polled: &Arc<AtomicUsize>,
    dropped: &Arc<AtomicUsize>,
) -> Vec<JoinHandle<()>> {
    (0..n)
        .map(|_| {
            let guard = CountDrop(dropped.clone());
            let polled = polled.clone();
            spawn(Box::pin(async move {
                let _guard = guard;
                polled.fetch_add(1, SeqCst);
                pending::<()>().await;
            }))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Dropping the runtime cancels every task
// ---------------------------------------------------------------------------------------------

fn drop_cancels_idle_tasks(flavor: Flavor) {
    const N: usize = 1000;
    let rt = build_named(flavor, "sd-idle");
    let polled = counter();
    let dropped = counter();
    let handles = rt.block_on(async {
        let handles = spawn_pending(|f| runtime::spawn(f), N, &polled, &dropped);
        // Let every task reach its pending point (on current-thread they only run while we
        // yield here).
        while polled.load(SeqCst) < N {
            runtime::task::yield_now().await;
        }
        handles
    });
    assert_eq!(polled.load(SeqCst), N);
    assert_eq!(
        dropped.load(SeqCst),
        0,
        "no future may be dropped while the runtime lives"
    );
    assert_eq!(rt.handle().num_alive_tasks(), N);
    drop(rt);
    assert_eq!(
        dropped.load(SeqCst),
        N,
        "every pending future must be dropped by drop(rt)"
    );
    for (i, h) in handles.into_iter().enumerate() {
        assert_cancelled(&format!("idle task {i}"), h);
    }
}

#[test]
fn drop_cancels_idle_tasks_multi_thread() {
    drop_cancels_idle_tasks(Flavor::Multi);
}

#[test]
fn drop_cancels_idle_tasks_current_thread() {
    drop_cancels_idle_tasks(Flavor::Current);
}

/// One worker: idle tasks (polled, pending), a running task (blocked in a std channel when
/// shutdown starts, released from another thread 100 ms later, then pending) and queued tasks
/// (spawned from outside while the only worker is blocked, so never polled).
#[test]
fn drop_cancels_idle_queued_and_running_tasks_multi_thread() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sd-iqr")
        .build()
        .unwrap();

    let idle_polled = counter();
    let idle_dropped = counter();
    let idle = spawn_pending(|f| rt.spawn(f), 100, &idle_polled, &idle_dropped);
    wait_until("the idle tasks ran", Duration::from_secs(5), || {
        idle_polled.load(SeqCst) == 100
    });

    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let running_dropped = counter();
    let running_resumed = Arc::new(AtomicBool::new(false));
    let running = {
        let guard = CountDrop(running_dropped.clone());
        let resumed = running_resumed.clone();
        rt.spawn(async move {
            let _guard = guard;
            entered_tx.send(()).unwrap();
            // Blocks the only worker until released (deliberately: a "running" task).
            release_rx.recv().unwrap();
            resumed.store(true, SeqCst);
            pending::<()>().await;
        })
    };
    entered_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("running task never started");

    let queued_polled = counter();
    let queued_dropped = counter();
    let queued = spawn_pending(|f| rt.spawn(f), 1000, &queued_polled, &queued_dropped);

    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        release_tx.send(()).unwrap();
    });
    watchdog("drop(rt) with a running task", 10, move || drop(rt));
    releaser.join().unwrap();

    assert!(
        running_resumed.load(SeqCst),
        "the running task was released before drop returned"
    );
    assert_eq!(idle_dropped.load(SeqCst), 100, "idle futures dropped");
    assert_eq!(
        running_dropped.load(SeqCst),
        1,
        "the running future dropped after its poll"
    );
    assert_eq!(queued_dropped.load(SeqCst), 1000, "queued futures dropped");
    assert_eq!(
        queued_polled.load(SeqCst),
        0,
        "queued tasks must not be polled after shutdown started"
    );
    assert_cancelled("running task", running);
    for h in idle.into_iter().chain(queued) {
        assert_cancelled("idle/queued task", h);
    }
}

/// Current-thread: tasks spawned from outside without `block_on` are queued and never run; a
/// drop cancels them (together with idle ones).
#[test]
fn drop_cancels_idle_and_queued_tasks_current_thread() {
    let rt = build_named(Flavor::Current, "sd-ctq");
    let idle_polled = counter();
    let idle_dropped = counter();
    let idle = rt.block_on(async {
        let handles = spawn_pending(|f| runtime::spawn(f), 100, &idle_polled, &idle_dropped);
        while idle_polled.load(SeqCst) < 100 {
            runtime::task::yield_now().await;
        }
        handles
    });
    let queued_polled = counter();
    let queued_dropped = counter();
    let queued = spawn_pending(|f| rt.spawn(f), 1000, &queued_polled, &queued_dropped);
    // And from another thread, through a handle.
    let handle = rt.handle().clone();
    let remote = std::thread::spawn({
        let (p, d) = (queued_polled.clone(), queued_dropped.clone());
        move || spawn_pending(|f| handle.spawn(f), 10, &p, &d)
    })
    .join()
    .unwrap();
    assert_eq!(rt.handle().num_alive_tasks(), 1110);
    drop(rt);
    assert_eq!(idle_dropped.load(SeqCst), 100);
    assert_eq!(queued_dropped.load(SeqCst), 1010);
    assert_eq!(
        queued_polled.load(SeqCst),
        0,
        "nobody drove the runtime: queued tasks never ran"
    );
    for h in idle.into_iter().chain(queued).chain(remote) {
        assert_cancelled("idle/queued task", h);
    }
}

/// A spawn_blocking closure waiting for a free thread (max_blocking_threads(1), the only thread
/// busy) is cancelled by the drop and never runs.
fn drop_cancels_queued_blocking(flavor: Flavor) {
    let rt = match flavor {
        Flavor::Multi => Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap(),
        Flavor::Current => Builder::new_current_thread()
            .max_blocking_threads(1)
            .build()
            .unwrap(),
    };
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let first = rt.spawn_blocking(move || {
        entered_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        1
    });
    entered_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let second = rt.spawn_blocking({
        let ran = ran.clone();
        move || ran.store(true, SeqCst)
    });
    drop(rt);
    assert_eq!(
        fut_block_on(first).unwrap(),
        1,
        "a running closure finishes normally"
    );
    assert_cancelled("queued blocking closure", second);
    assert!(
        !ran.load(SeqCst),
        "a queued blocking closure must not run after shutdown"
    );
}

#[test]
fn drop_cancels_queued_blocking_multi_thread() {
    drop_cancels_queued_blocking(Flavor::Multi);
}

#[test]
fn drop_cancels_queued_blocking_current_thread() {
    drop_cancels_queued_blocking(Flavor::Current);
}

// ---------------------------------------------------------------------------------------------
// shutdown_timeout / shutdown_background
// ---------------------------------------------------------------------------------------------

/// Starts a blocking closure that runs up to 10 s unless `stop` is set; returns once it runs.
fn start_long_blocking(rt: &Runtime, stop: &Arc<AtomicBool>) -> JoinHandle<()> {
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let stop = stop.clone();
    let h = rt.spawn_blocking(move || {
        entered_tx.send(()).unwrap();
        let start = Instant::now();
        while !stop.load(SeqCst) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    entered_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("blocking closure never started");
    h
}

fn shutdown_timeout_with_stuck_blocking(flavor: Flavor) {
    let rt = build_named(flavor, "sd-tmo");
    let stop = Arc::new(AtomicBool::new(false));
    let blocking = start_long_blocking(&rt, &stop);
    let polled = counter();
    let dropped = counter();
    let tasks = rt.block_on(async {
        let hs = spawn_pending(|f| runtime::spawn(f), 10, &polled, &dropped);
        while polled.load(SeqCst) < 10 {
            runtime::task::yield_now().await;
        }
        hs
    });
    let start = Instant::now();
    rt.shutdown_timeout(Duration::from_millis(100));
    let took = start.elapsed();
    let still_running = !blocking.is_finished();
    stop.store(true, SeqCst);
    assert!(
        took < Duration::from_secs(5),
        "shutdown_timeout(100ms) took {took:?}"
    );
    assert!(
        still_running,
        "the blocking closure cannot have finished: it waits for `stop`"
    );
    assert_eq!(
        dropped.load(SeqCst),
        10,
        "tasks are cancelled by shutdown_timeout"
    );
    for h in tasks {
        assert_cancelled("task", h);
    }
    // The detached closure still completes normally in the background.
    watchdog("detached blocking closure", 5, move || {
        fut_block_on(blocking).unwrap()
    });
}

#[test]
fn shutdown_timeout_returns_while_blocking_runs_multi_thread() {
    shutdown_timeout_with_stuck_blocking(Flavor::Multi);
}

#[test]
fn shutdown_timeout_returns_while_blocking_runs_current_thread() {
    shutdown_timeout_with_stuck_blocking(Flavor::Current);
}

fn shutdown_background_with_stuck_blocking(flavor: Flavor) {
    let rt = build_named(flavor, "sd-bg");
    let stop = Arc::new(AtomicBool::new(false));
    let blocking = start_long_blocking(&rt, &stop);
    let polled = counter();
    let dropped = counter();
    let tasks = spawn_pending(|f| rt.spawn(f), 10, &polled, &dropped);
    let start = Instant::now();
    rt.shutdown_background();
    let took = start.elapsed();
    let still_running = !blocking.is_finished();
    stop.store(true, SeqCst);
    assert!(
        took < Duration::from_secs(2),
        "shutdown_background took {took:?}"
    );
    assert!(
        still_running,
        "the blocking closure cannot have finished: it waits for `stop`"
    );
    assert_eq!(
        dropped.load(SeqCst),
        10,
        "tasks are cancelled by shutdown_background"
    );
    for h in tasks {
        assert_cancelled("task", h);
    }
    watchdog("detached blocking closure", 5, move || {
        fut_block_on(blocking).unwrap()
    });
}

#[test]
fn shutdown_background_returns_while_blocking_runs_multi_thread() {
    shutdown_background_with_stuck_blocking(Flavor::Multi);
}

#[test]
fn shutdown_background_returns_while_blocking_runs_current_thread() {
    shutdown_background_with_stuck_blocking(Flavor::Current);
}

/// `shutdown_timeout` with nothing stuck waits for the threads like a drop does.
#[test]
fn shutdown_timeout_without_stuck_work_joins_threads() {
    let rt = build_named(Flavor::Multi, "sd-tmj");
    rt.block_on(async { runtime::task::spawn_blocking(|| ()).await.unwrap() });
    wait_until("threads started", Duration::from_secs(5), || {
        threads_named("sd-tmj") == 3
    });
    rt.shutdown_timeout(Duration::from_secs(5));
    wait_until("threads exited", Duration::from_secs(2), || {
        threads_named("sd-tmj") + threads_named("sd-tmj-monitor") == 0
    });
}

// ---------------------------------------------------------------------------------------------
// Spawning after shutdown
// ---------------------------------------------------------------------------------------------

fn spawn_after_shutdown(flavor: Flavor) {
    let rt = build_named(flavor, "sd-late");
    let handle: Handle = rt.handle().clone();
    drop(rt);

    let polled = Arc::new(AtomicBool::new(false));
    let dropped = counter();
    let h = {
        let guard = CountDrop(dropped.clone());
        let polled = polled.clone();
        handle.spawn(async move {
            let _guard = guard;
            polled.store(true, SeqCst);
        })
    };
    assert_eq!(
        dropped.load(SeqCst),
        1,
        "a future spawned after shutdown is dropped at once"
    );
    assert_cancelled("Handle::spawn after shutdown", h);

    // Through the entered context and task::Builder too.
    {
        let _enter = handle.enter();
        let p = polled.clone();
        assert_cancelled(
            "runtime::spawn after shutdown",
            runtime::spawn(async move { p.store(true, SeqCst) }),
        );
        let p = polled.clone();
        let named = runtime::task::Builder::new()
            .name("late")
            .spawn(async move { p.store(true, SeqCst) })
            .unwrap();
        assert_cancelled("task::Builder::spawn after shutdown", named);
    }
    assert!(
        !polled.load(SeqCst),
        "no future spawned after shutdown may be polled"
    );

    let ran = Arc::new(AtomicBool::new(false));
    let b = handle.spawn_blocking({
        let ran = ran.clone();
        move || ran.store(true, SeqCst)
    });
    assert_cancelled("spawn_blocking after shutdown", b);
    assert!(
        !ran.load(SeqCst),
        "a blocking closure spawned after shutdown must not run"
    );
    assert_eq!(handle.num_alive_tasks(), 0);
}

#[test]
fn spawn_after_shutdown_is_cancelled_multi_thread() {
    spawn_after_shutdown(Flavor::Multi);
}

#[test]
fn spawn_after_shutdown_is_cancelled_current_thread() {
    spawn_after_shutdown(Flavor::Current);
}

// ---------------------------------------------------------------------------------------------
// Dropping a runtime from async code
// ---------------------------------------------------------------------------------------------

/// A runtime with one idle task holding a guard, so the test sees it was cancelled.
fn inner_runtime(flavor: Flavor, dropped: &Arc<AtomicUsize>) -> (Runtime, JoinHandle<()>) {
    let rt = build_named(flavor, "sd-inner");
    let guard = CountDrop(dropped.clone());
    let polled = Arc::new(AtomicBool::new(false));
    let p = polled.clone();
    let h = rt.spawn(async move {
        let _guard = guard;
        p.store(true, SeqCst);
        pending::<()>().await;
    });
    if let Flavor::Current = flavor {
        rt.block_on(async {
            while !polled.load(SeqCst) {
                runtime::task::yield_now().await;
            }
        });
    } else {
        wait_until("inner task polled", Duration::from_secs(5), || {
            polled.load(SeqCst)
        });
    }
    (rt, h)
}

#[test]
fn drop_runtime_inside_task_of_another_runtime() {
    for inner in Flavor::BOTH {
        for outer in Flavor::BOTH {
            watchdog("drop inside another runtime's task", 10, move || {
                let dropped = counter();
                let (inner_rt, inner_task) = inner_runtime(inner, &dropped);
                let outer_rt = build_named(outer, "sd-outer");
                let d = dropped.clone();
                let seen = outer_rt.block_on(async move {
                    runtime::spawn(async move {
                        drop(inner_rt);
                        d.load(SeqCst)
                    })
                    .await
                    .unwrap()
                });
                assert_eq!(
                    seen, 1,
                    "{inner:?} inside {outer:?}: idle task dropped by the drop itself"
                );
                assert_cancelled("inner task", inner_task);
            });
        }
    }
}

#[test]
fn drop_runtime_inside_block_on_of_another_runtime() {
    for inner in Flavor::BOTH {
        for outer in Flavor::BOTH {
            watchdog("drop inside another runtime's block_on", 10, move || {
                let dropped = counter();
                let (inner_rt, inner_task) = inner_runtime(inner, &dropped);
                let outer_rt = build_named(outer, "sd-outer");
                let d = dropped.clone();
                let seen = outer_rt.block_on(async move {
                    drop(inner_rt);
                    d.load(SeqCst)
                });
                assert_eq!(
                    seen, 1,
                    "{inner:?} inside {outer:?}: idle task dropped by the drop itself"
                );
                assert_cancelled("inner task", inner_task);
            });
        }
    }
}

/// The runtime is moved into one of its own tasks (through a std channel) and dropped there.
#[test]
fn drop_multi_thread_runtime_from_its_own_task() {
    watchdog("drop from own task", 10, || {
        let rt = build_named(Flavor::Multi, "sd-self");
        let dropped = counter();
        let other = {
            let guard = CountDrop(dropped.clone());
            rt.spawn(async move {
                let _guard = guard;
                pending::<()>().await;
            })
        };
        let (rt_tx, rt_rx) = mpsc::channel::<Runtime>();
        let (done_tx, done_rx) = mpsc::channel::<usize>();
        let d = dropped.clone();
        let me = rt.spawn(async move {
            let rt = rt_rx.recv().unwrap();
            drop(rt);
            done_tx.send(d.load(SeqCst)).unwrap();
            pending::<()>().await;
        });
        rt_tx.send(rt).unwrap();
        let seen = done_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the task dropping its own runtime never got past the drop");
        assert_eq!(seen, 1, "the other idle task is cancelled by the drop");
        // The dropping task itself is cancelled once its poll returns.
        assert_cancelled("the task that dropped its runtime", me);
        assert_cancelled("other task", other);
        // And the threads go away in the background.
        wait_until("sd-self threads exited", Duration::from_secs(5), || {
            threads_named("sd-self") + threads_named("sd-self-monitor") == 0
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Threads and thread callbacks
// ---------------------------------------------------------------------------------------------

#[test]
fn threads_exit_after_drop_multi_thread() {
    let rt = build_named(Flavor::Multi, "sd-gone");
    occupy_blocking_threads(&rt, 3);
    rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
    wait_until(
        "2 workers + 3 blocking threads named sd-gone",
        Duration::from_secs(5),
        || threads_named("sd-gone") == 5,
    );
    wait_until("one monitor thread", Duration::from_secs(5), || {
        threads_named("sd-gone-monitor") == 1
    });
    drop(rt);
    // Blocking threads are joined; worker and monitor threads may still be unwinding their
    // last thread-locals for a moment after drop returns.
    wait_until(
        "every sd-gone thread exited",
        Duration::from_secs(2),
        || threads_named("sd-gone") + threads_named("sd-gone-monitor") == 0,
    );
}

#[test]
fn threads_exit_after_drop_current_thread() {
    let rt = build_named(Flavor::Current, "sd-gonc");
    occupy_blocking_threads(&rt, 3);
    wait_until("3 blocking threads", Duration::from_secs(5), || {
        threads_named("sd-gonc") == 3
    });
    drop(rt);
    wait_until(
        "every sd-gonc thread exited",
        Duration::from_secs(2),
        || threads_named("sd-gonc") == 0,
    );
}

struct Callbacks {
    started: Arc<AtomicUsize>,
    stopped: Arc<AtomicUsize>,
    start_names: Arc<Mutex<Vec<String>>>,
}

fn with_callbacks(builder: &mut Builder) -> Callbacks {
    let cb = Callbacks {
        started: counter(),
        stopped: counter(),
        start_names: Arc::new(Mutex::new(Vec::new())),
    };
    let (s, names) = (cb.started.clone(), cb.start_names.clone());
    let t = cb.stopped.clone();
    builder
        .on_thread_start(move || {
            let name = std::thread::current()
                .name()
                .unwrap_or("<unnamed>")
                .to_string();
            names.lock().unwrap().push(name);
            s.fetch_add(1, SeqCst);
        })
        .on_thread_stop(move || {
            t.fetch_add(1, SeqCst);
        });
    cb
}

#[test]
fn thread_callbacks_balanced_multi_thread() {
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2).thread_name("sd-cb");
    let cb = with_callbacks(&mut builder);
    let rt = builder.build().unwrap();
    occupy_blocking_threads(&rt, 2);
    // At least 2 workers + 2 blocking threads (+ the monitor, see the next test).
    wait_until("start callbacks ran", Duration::from_secs(5), || {
        cb.started.load(SeqCst) >= 4
    });
    drop(rt);
    let started = cb.started.load(SeqCst);
    assert_eq!(
        cb.stopped.load(SeqCst),
        started,
        "on_thread_stop must run once per on_thread_start by the time drop returns"
    );
}

#[test]
fn thread_callbacks_balanced_current_thread() {
    let mut builder = Builder::new_current_thread();
    builder.thread_name("sd-cbc");
    let cb = with_callbacks(&mut builder);
    let rt = builder.build().unwrap();
    rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
    assert_eq!(
        cb.started.load(SeqCst),
        0,
        "current-thread starts no thread of its own"
    );
    occupy_blocking_threads(&rt, 3);
    assert_eq!(cb.started.load(SeqCst), 3, "one start per blocking thread");
    drop(rt);
    assert_eq!(cb.stopped.load(SeqCst), 3);
}

/// on_thread_start/stop are documented to run on "every runtime thread": workers, the monitor
/// and blocking threads.
#[test]
fn thread_callbacks_count_workers_monitor_and_blocking() {
    let mut builder = Builder::new_multi_thread();
    builder.worker_threads(2).thread_name("sd-cbm");
    let cb = with_callbacks(&mut builder);
    let rt = builder.build().unwrap();
    occupy_blocking_threads(&rt, 2);
    // Give a missing callback time to show up before judging.
    wait_until("start callbacks ran", Duration::from_secs(5), || {
        cb.started.load(SeqCst) >= 4
    });
    std::thread::sleep(Duration::from_millis(50));
    let names = cb.start_names.lock().unwrap().clone();
    assert_eq!(
        cb.started.load(SeqCst),
        2 + 1 + 2,
        "2 workers + 1 monitor + 2 blocking threads; started on: {names:?}"
    );
    assert!(
        names.iter().any(|n| n == "sd-cbm-monitor"),
        "on_thread_start never ran on the monitor thread; started on: {names:?}"
    );
    drop(rt);
    assert_eq!(cb.stopped.load(SeqCst), 5);
}

/// Drop "waits for the runtime's threads": once it returns, no worker or monitor thread may still
/// be running, and nothing the builder captured (callbacks) may still be alive. Repeated, since
/// the window is narrow.
#[test]
fn drop_joins_worker_and_monitor_threads() {
    for i in 0..100 {
        let marker = Arc::new(());
        let m = marker.clone();
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sd-join")
            .on_thread_stop(move || {
                let _ = &m;
            })
            .build()
            .unwrap();
        rt.block_on(async { runtime::spawn(async {}).await.unwrap() });
        drop(rt);
        // What drop(rt) guarantees to the user: every runtime thread was joined, so nothing
        // it owned (here the on_thread_stop closure) is alive any more.
        let refs = Arc::strong_count(&marker);
        assert_eq!(
            refs, 1,
            "iteration {i}: the on_thread_stop closure is still alive after drop(rt) returned"
        );
        // A joined thread can still be listed in /proc/self/task for a moment (pthread_join
        // returns when the thread clears its tid, slightly before the kernel releases the
        // task); a thread that was not joined stays far longer than this grace period.
        wait_until(
            &format!("iteration {i}: sd-join threads gone from /proc after drop(rt)"),
            Duration::from_millis(200),
            || threads_named("sd-join") + threads_named("sd-join-monitor") == 0,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Shutdown meets user code: wakers, Drop impls, concurrent spawns, external waiters
// ---------------------------------------------------------------------------------------------

/// A task's waker kept outside the runtime may be woken (and dropped) after the runtime is gone.
fn wake_after_shutdown(flavor: Flavor) {
    let rt = build_named(flavor, "sd-wake");
    let slot: Arc<Mutex<Option<std::task::Waker>>> = Arc::new(Mutex::new(None));
    let dropped = counter();
    let h = {
        let slot = slot.clone();
        let guard = CountDrop(dropped.clone());
        rt.spawn(std::future::poll_fn(move |cx| {
            let _keep = &guard;
            *slot.lock().unwrap() = Some(cx.waker().clone());
            std::task::Poll::<()>::Pending
        }))
    };
    if let Flavor::Current = flavor {
        rt.block_on(async {
            while slot.lock().unwrap().is_none() {
                runtime::task::yield_now().await;
            }
        });
    } else {
        wait_until("the task stored its waker", Duration::from_secs(5), || {
            slot.lock().unwrap().is_some()
        });
    }
    drop(rt);
    assert_eq!(dropped.load(SeqCst), 1);
    let waker = slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    let second = waker.clone();
    second.wake(); // by value
    drop(waker); // the last reference: frees the task
    assert_cancelled("task woken after shutdown", h);
}

#[test]
fn wake_after_shutdown_is_harmless_multi_thread() {
    wake_after_shutdown(Flavor::Multi);
}

#[test]
fn wake_after_shutdown_is_harmless_current_thread() {
    wake_after_shutdown(Flavor::Current);
}

/// Futures dropped by the shutdown may spawn (cancelled at once) and may panic in Drop (caught:
/// the other tasks are still dropped and drop(rt) does not panic).
fn drop_code_runs_during_shutdown(flavor: Flavor) {
    struct SpawnOnDrop(Arc<Mutex<Vec<JoinHandle<()>>>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let late = runtime::spawn(async {});
            self.0.lock().unwrap().push(late);
        }
    }
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("PanicOnDrop (expected by the test)");
        }
    }
    let rt = build_named(flavor, "sd-dcode");
    let late = Arc::new(Mutex::new(Vec::new()));
    let dropped = counter();
    let polled = counter();
    let mut handles = Vec::new();
    for i in 0..20 {
        let spawn_guard = SpawnOnDrop(late.clone());
        let guard = CountDrop(dropped.clone());
        let panic_guard = if i == 10 { Some(PanicOnDrop) } else { None };
        let p = polled.clone();
        handles.push(rt.spawn(async move {
            let _g = (spawn_guard, guard, panic_guard);
            p.fetch_add(1, SeqCst);
            pending::<()>().await;
        }));
    }
    rt.block_on(async {
        while polled.load(SeqCst) < 20 {
            runtime::task::yield_now().await;
        }
    });
    watchdog(
        "drop(rt) with Drop code spawning and panicking",
        10,
        move || drop(rt),
    );
    assert_eq!(
        dropped.load(SeqCst),
        20,
        "every future dropped despite one panicking Drop"
    );
    let late: Vec<_> = std::mem::take(&mut *late.lock().unwrap());
    assert_eq!(
        late.len(),
        20,
        "every SpawnOnDrop ran (inside the runtime's context)"
    );
    for h in late {
        assert_cancelled("task spawned from a Drop during shutdown", h);
    }
    let mut panicked = 0;
    for h in handles {
        match fut_block_on(h) {
            Err(e) if e.is_cancelled() => {}
            Err(e) if e.is_panic() => panicked += 1,
            other => panic!("expected a JoinError, got {other:?}"),
        }
    }
    assert_eq!(
        panicked, 1,
        "the task whose future panicked in Drop reports the panic"
    );
}

#[test]
fn drop_code_runs_during_shutdown_multi_thread() {
    drop_code_runs_during_shutdown(Flavor::Multi);
}

#[test]
fn drop_code_runs_during_shutdown_current_thread() {
    drop_code_runs_during_shutdown(Flavor::Current);
}

/// Another thread waiting on a JoinHandle (Handle::block_on) is released by the shutdown.
fn external_waiter_released(flavor: Flavor) {
    let rt = build_named(flavor, "sd-waitr");
    let task = rt.spawn(pending::<()>());
    let handle = rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let res = handle.block_on(task);
        tx.send(()).unwrap();
        res
    });
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        rx.try_recv().is_err(),
        "the task is pending: the waiter must still wait"
    );
    drop(rt);
    rx.recv_timeout(Duration::from_secs(5))
        .expect("the waiter was never woken by the shutdown");
    let res = waiter.join().unwrap();
    assert!(res.unwrap_err().is_cancelled());
}

#[test]
fn external_waiter_released_by_shutdown_multi_thread() {
    external_waiter_released(Flavor::Multi);
}

#[test]
fn external_waiter_released_by_shutdown_current_thread() {
    external_waiter_released(Flavor::Current);
}

/// Spawns racing with the drop from other threads: every future is dropped exactly once and
/// every JoinHandle resolves (completed or cancelled).
fn spawns_racing_with_drop(flavor: Flavor) {
    const PER_THREAD: usize = 5000;
    let rt = build_named(flavor, "sd-race");
    let dropped = counter();
    let start = Arc::new(Barrier::new(3));
    let spawners: Vec<_> = (0..2)
        .map(|_| {
            let handle = rt.handle().clone();
            let dropped = dropped.clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                (0..PER_THREAD)
                    .map(|i| {
                        let guard = CountDrop(dropped.clone());
                        handle.spawn(async move {
                            let _guard = guard;
                            if i % 2 == 0 {
                                runtime::task::yield_now().await;
                            } else {
                                pending::<()>().await;
                            }
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    start.wait();
    std::thread::sleep(Duration::from_millis(2));
    watchdog("drop(rt) racing with spawns", 10, move || drop(rt));
    let mut handles = Vec::new();
    for s in spawners {
        handles.extend(s.join().unwrap());
    }
    assert_eq!(
        dropped.load(SeqCst),
        2 * PER_THREAD,
        "every future dropped exactly once"
    );
    let cancelled = watchdog("the JoinHandles after the race", 10, move || {
        let mut cancelled = 0;
        for h in handles {
            match fut_block_on(h) {
                Ok(()) => {}
                Err(e) if e.is_cancelled() => cancelled += 1,
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        cancelled
    });
    assert!(
        cancelled >= PER_THREAD,
        "the forever-pending half (at least) is cancelled: {cancelled}"
    );
}

#[test]
fn spawns_racing_with_drop_multi_thread() {
    spawns_racing_with_drop(Flavor::Multi);
}

#[test]
fn spawns_racing_with_drop_current_thread() {
    spawns_racing_with_drop(Flavor::Current);
}
