//! Scheduling behaviour: work stealing spreads a burst spawned on one worker, a remote spawn
//! wakes parked workers (no lost wake-ups), message ping-pong / chained spawns / yield-heavy
//! workloads complete on both flavors, a long poll does not stop the other worker, the
//! `global_queue_interval(1)` / `event_interval(1)` extremes work, and
//! `RUNTIME_WORKER_THREADS` sets the default number of workers.
//!
//! Every multi-thread runtime here sets `worker_threads` explicitly except the
//! `RUNTIME_WORKER_THREADS` tests, which take `ENV_LOCK` (the variable is process-global).
//! Thread counts read `/proc/self/task/*/comm` (Linux), with unique names of at most 7 chars.

mod support;

use futures::channel::{mpsc as fmpsc, oneshot};
use futures::StreamExt;
use runtime::{Builder, Runtime};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use support::{build, spin_for, threads_named, wait_until, watchdog, EnvVarGuard, Flavor};

/// Serializes the tests that touch `RUNTIME_WORKER_THREADS`.
static ENV_LOCK: Mutex<()> = Mutex::new(());

// ---------------------------------------------------------------------------------------------
// Work stealing
// ---------------------------------------------------------------------------------------------

#[test]
fn work_stealing_spreads_a_burst_spawned_on_one_worker() {
    watchdog("work stealing", 20, || {
        let rt = build(Flavor::Multi);
        let threads = Arc::new(Mutex::new(Vec::<ThreadId>::new()));
        let t = threads.clone();
        let (spawner, ran) = rt.block_on(async move {
            runtime::spawn(async move {
                let spawner = std::thread::current().id();
                let handles: Vec<_> = (0..1000)
                    .map(|_| {
                        let t = t.clone();
                        runtime::spawn(async move {
                            spin_for(Duration::from_micros(20));
                            t.lock().unwrap().push(std::thread::current().id());
                        })
                    })
                    .collect();
                let n = handles.len();
                for h in handles {
                    h.await.unwrap();
                }
                (spawner, n)
            })
            .await
            .unwrap()
        });
        let threads = threads.lock().unwrap();
        assert_eq!(threads.len(), ran);
        let distinct: HashSet<_> = threads.iter().collect();
        let stolen = threads.iter().filter(|&&t| t != spawner).count();
        assert!(
            distinct.len() >= 2,
            "all 1000 tasks ran on one worker: nothing was stolen (distinct threads: {})",
            distinct.len()
        );
        assert!(stolen > 0, "no task ran away from the spawning worker");
    });
}

// ---------------------------------------------------------------------------------------------
// Remote spawn wakes idle workers (lost wake-up hunt)
// ---------------------------------------------------------------------------------------------

/// `parked` counts threads between on_thread_park and on_thread_unpark.
fn parking_gauge(builder: &mut Builder) -> Arc<AtomicUsize> {
    let parked = Arc::new(AtomicUsize::new(0));
    let (p, u) = (parked.clone(), parked.clone());
    builder
        .on_thread_park(move || {
            p.fetch_add(1, SeqCst);
        })
        .on_thread_unpark(move || {
            u.fetch_sub(1, SeqCst);
        });
    parked
}

#[test]
fn remote_spawn_wakes_parked_workers_multi_thread() {
    watchdog("remote spawn on an idle multi-thread runtime", 30, || {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(2);
        let parked = parking_gauge(&mut builder);
        let rt = builder.build().unwrap();
        let handle = rt.handle().clone();
        let foreign = std::thread::spawn(move || {
            for i in 0..100 {
                // Every worker asleep (the first time, and every 10th, well asleep).
                wait_until("both workers parked", Duration::from_secs(5), || {
                    parked.load(SeqCst) == 2
                });
                let nap = if i % 10 == 0 { 50 } else { 2 };
                std::thread::sleep(Duration::from_millis(nap));
                let (tx, rx) = mpsc::channel();
                handle.spawn(async move { tx.send(()).unwrap() });
                match rx.recv_timeout(Duration::from_secs(5)) {
                    Ok(()) => {}
                    Err(_) => panic!("iteration {i}: a task spawned onto an idle runtime never ran (lost wake-up)"),
                }
            }
        });
        foreign.join().unwrap();
        drop(rt);
    });
}

#[test]
fn remote_spawn_wakes_parked_block_on_current_thread() {
    watchdog("remote spawn on an idle current-thread runtime", 30, || {
        let mut builder = Builder::new_current_thread();
        let parked = parking_gauge(&mut builder);
        let rt = builder.build().unwrap();
        let handle = rt.handle().clone();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        std::thread::scope(|s| {
            s.spawn(|| {
                rt.block_on(async move {
                    stop_rx.await.unwrap();
                })
            });
            for i in 0..100 {
                wait_until("the block_on thread parked", Duration::from_secs(5), || {
                    parked.load(SeqCst) == 1
                });
                let nap = if i % 10 == 0 { 50 } else { 2 };
                std::thread::sleep(Duration::from_millis(nap));
                let (tx, rx) = mpsc::channel();
                handle.spawn(async move { tx.send(()).unwrap() });
                match rx.recv_timeout(Duration::from_secs(5)) {
                    Ok(()) => {}
                    Err(_) => panic!("iteration {i}: a task spawned onto an idle runtime never ran (lost wake-up)"),
                }
            }
            stop_tx.send(()).unwrap();
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Workloads that must complete on both flavors
// ---------------------------------------------------------------------------------------------

#[test]
fn ping_pong_10_000_round_trips() {
    for flavor in Flavor::BOTH {
        let total = watchdog("ping-pong", 20, move || {
            let rt = build(flavor);
            rt.block_on(async {
                let (to_pong, mut pong_rx) = fmpsc::unbounded::<u64>();
                let (to_ping, mut ping_rx) = fmpsc::unbounded::<u64>();
                let pong = runtime::spawn(async move {
                    let mut n = 0u64;
                    while let Some(v) = pong_rx.next().await {
                        n += 1;
                        to_ping.unbounded_send(v + 1).unwrap();
                    }
                    n
                });
                let ping = runtime::spawn(async move {
                    let mut v = 0u64;
                    for _ in 0..10_000 {
                        to_pong.unbounded_send(v).unwrap();
                        v = ping_rx.next().await.unwrap();
                    }
                    v
                });
                let last = ping.await.unwrap();
                (last, pong.await.unwrap())
            })
        });
        assert_eq!(
            total,
            (10_000, 10_000),
            "{flavor:?}: (last value, messages seen by pong)"
        );
    }
}

/// Each task spawns the next one (depth 1000); the last reports through a oneshot.
fn chain(depth: usize, count: Arc<AtomicUsize>, done: oneshot::Sender<usize>) {
    runtime::spawn(async move {
        count.fetch_add(1, SeqCst);
        if depth == 0 {
            done.send(count.load(SeqCst)).unwrap();
        } else {
            chain(depth - 1, count, done);
        }
    });
}

#[test]
fn chained_spawn_depth_1000() {
    for flavor in Flavor::BOTH {
        let seen = watchdog("chained spawn", 20, move || {
            let rt = build(flavor);
            rt.block_on(async {
                let (tx, rx) = oneshot::channel();
                chain(999, Arc::new(AtomicUsize::new(0)), tx);
                rx.await.unwrap()
            })
        });
        assert_eq!(
            seen, 1000,
            "{flavor:?}: every link of the chain ran once before the last"
        );
    }
}

fn yield_workload(rt: &Runtime, tasks: usize, yields: usize) -> usize {
    rt.block_on(async {
        let count = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let count = count.clone();
                runtime::spawn(async move {
                    for _ in 0..yields {
                        runtime::task::yield_now().await;
                        count.fetch_add(1, SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        count.load(SeqCst)
    })
}

#[test]
fn yield_heavy_200_tasks_x_1000_yields() {
    for flavor in Flavor::BOTH {
        let n = watchdog("yield-heavy", 30, move || {
            yield_workload(&build(flavor), 200, 1000)
        });
        assert_eq!(n, 200 * 1000, "{flavor:?}");
    }
}

/// Spawns from inside tasks and from outside, with yields, on a runtime built by `builder`.
fn spawn_yield_workload(builder: &mut Builder) -> (usize, usize) {
    let rt = builder.build().unwrap();
    let inside = yield_workload(&rt, 50, 50);
    // From outside the runtime (injector / remote queue).
    let count = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..200)
        .map(|_| {
            let count = count.clone();
            rt.spawn(async move {
                runtime::task::yield_now().await;
                count.fetch_add(1, SeqCst);
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    (inside, count.load(SeqCst))
}

#[test]
fn global_queue_interval_1_and_event_interval_1() {
    for flavor in Flavor::BOTH {
        for (gqi, ei) in [(1, 61), (61, 1), (1, 1)] {
            let got = watchdog("interval extremes", 20, move || {
                let mut builder = flavor.builder();
                builder.global_queue_interval(gqi).event_interval(ei);
                spawn_yield_workload(&mut builder)
            });
            assert_eq!(
                got,
                (2500, 200),
                "{flavor:?} global_queue_interval={gqi} event_interval={ei}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A long poll does not stop the other worker
// ---------------------------------------------------------------------------------------------

#[test]
fn long_poll_does_not_block_other_tasks_multi_thread() {
    watchdog("long poll", 20, || {
        let rt = build(Flavor::Multi);
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let spinner = rt.spawn(async move {
            started_tx.send(()).unwrap();
            spin_for(Duration::from_millis(200));
            Instant::now()
        });
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let handles: Vec<_> = (0..100)
            .map(|_| {
                rt.spawn(async {
                    runtime::task::yield_now().await;
                    Instant::now()
                })
            })
            .collect();
        let (spin_end, done) = rt.block_on(async move {
            let mut done = Vec::new();
            for h in handles {
                done.push(h.await.unwrap());
            }
            (spinner.await.unwrap(), done)
        });
        let late = done.iter().filter(|&&t| t >= spin_end).count();
        assert_eq!(
            late, 0,
            "{late} of 100 short tasks only completed after the 200 ms poll on the other worker ended"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// RUNTIME_WORKER_THREADS
// ---------------------------------------------------------------------------------------------

fn lock_env() -> std::sync::MutexGuard<'static, ()> {
    ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn worker_threads_env_sets_the_default() {
    let _lock = lock_env();
    assert_eq!(runtime::WORKER_THREADS_ENV, "RUNTIME_WORKER_THREADS");
    let rt = {
        let _env = EnvVarGuard::set(runtime::WORKER_THREADS_ENV, "3");
        Builder::new_multi_thread()
            .thread_name("sc-env")
            .build()
            .unwrap()
    };
    // Threads name themselves as they start (before that they carry the spawner's name), so
    // wait until they all did; a 4th worker would show up within the grace period.
    wait_until("3 workers named sc-env", Duration::from_secs(5), || {
        threads_named("sc-env") >= 3
    });
    wait_until("the monitor", Duration::from_secs(5), || {
        threads_named("sc-env-monitor") == 1
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        threads_named("sc-env"),
        3,
        "RUNTIME_WORKER_THREADS=3 must give 3 worker threads"
    );
    assert_eq!(threads_named("sc-env-monitor"), 1);
    // And they all run tasks.
    assert_eq!(yield_workload(&rt, 10, 10), 100);
    drop(rt);
}

#[test]
fn worker_threads_setter_overrides_env() {
    let _lock = lock_env();
    let rt = {
        let _env = EnvVarGuard::set(runtime::WORKER_THREADS_ENV, "3");
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sc-envo")
            .build()
            .unwrap()
    };
    wait_until("the monitor", Duration::from_secs(5), || {
        threads_named("sc-envo-monitor") == 1
    });
    wait_until("a worker", Duration::from_secs(5), || {
        threads_named("sc-envo") >= 1
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        threads_named("sc-envo"),
        1,
        "worker_threads(1) wins over RUNTIME_WORKER_THREADS=3"
    );
    drop(rt);
}

#[test]
fn worker_threads_env_invalid_is_an_error() {
    let _lock = lock_env();
    for bad in ["0", "abc", "-2", ""] {
        let _env = EnvVarGuard::set(runtime::WORKER_THREADS_ENV, bad);
        let err = Builder::new_multi_thread()
            .build()
            .expect_err("an invalid RUNTIME_WORKER_THREADS must fail build()");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "value {bad:?}"
        );
        assert!(
            err.to_string().contains("RUNTIME_WORKER_THREADS"),
            "the error names the variable: {err}"
        );
    }
    // Current-thread runtimes do not read it.
    let _env = EnvVarGuard::set(runtime::WORKER_THREADS_ENV, "abc");
    Builder::new_current_thread()
        .build()
        .expect("current-thread ignores the variable");
}

// ---------------------------------------------------------------------------------------------
// Fairness: busy tasks do not starve others
// ---------------------------------------------------------------------------------------------

/// One worker (or the current thread) only, so nobody else could pick the victim up.
fn single_threaded(flavor: Flavor) -> Runtime {
    match flavor {
        Flavor::Multi => Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap(),
        Flavor::Current => Builder::new_current_thread().build().unwrap(),
    }
}

/// Two tasks waking each other forever (each wake lands in the next slot) must not starve a
/// third task.
#[test]
fn endless_ping_pong_does_not_starve_other_tasks() {
    for flavor in Flavor::BOTH {
        watchdog("a third task next to an endless ping-pong", 20, move || {
            let rt = single_threaded(flavor);
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let rounds = rt.block_on(async {
                let (a_tx, mut a_rx) = fmpsc::unbounded::<()>();
                let (b_tx, mut b_rx) = fmpsc::unbounded::<()>();
                let s = stop.clone();
                let a = runtime::spawn(async move {
                    let mut rounds = 0u64;
                    while !s.load(SeqCst) {
                        b_tx.unbounded_send(()).unwrap();
                        a_rx.next().await.unwrap();
                        rounds += 1;
                    }
                    drop(b_tx);
                    rounds
                });
                let b = runtime::spawn(async move {
                    while let Some(()) = b_rx.next().await {
                        if a_tx.unbounded_send(()).is_err() {
                            break;
                        }
                    }
                });
                // The victim: spawned while the pair is already going.
                runtime::task::yield_now().await;
                let victim = runtime::spawn(async { 42 });
                assert_eq!(victim.await.unwrap(), 42);
                stop.store(true, SeqCst);
                let rounds = a.await.unwrap();
                b.await.unwrap();
                rounds
            });
            assert!(rounds > 0, "{flavor:?}: the pair did run");
        });
    }
}

/// A task yielding forever keeps the local queue non-empty: tasks spawned from outside (the
/// injector / remote queue) must still get their turn.
#[test]
fn busy_local_queue_does_not_starve_remote_spawns() {
    for flavor in Flavor::BOTH {
        watchdog("remote spawn next to a busy local queue", 20, move || {
            let rt = single_threaded(flavor);
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s = stop.clone();
            let (running_tx, running_rx) = mpsc::channel::<()>();
            let busy = rt.spawn(async move {
                let _ = running_tx.send(());
                let mut spins = 0u64;
                while !s.load(SeqCst) {
                    runtime::task::yield_now().await;
                    spins += 1;
                }
                spins
            });
            let remote = {
                let handle = rt.handle().clone();
                std::thread::spawn(move || {
                    running_rx.recv().unwrap();
                    let (tx, rx) = mpsc::channel();
                    for i in 0..10 {
                        let tx = tx.clone();
                        handle.spawn(async move { tx.send(i).unwrap() });
                    }
                    drop(tx);
                    rx.iter().count()
                })
            };
            let spins = rt.block_on(async move {
                // On current-thread this block_on is what drives `busy` and the remote tasks;
                // it must itself get polled again although `busy` never stops yielding.
                while !remote.is_finished() {
                    runtime::task::yield_now().await;
                }
                assert_eq!(
                    remote.join().unwrap(),
                    10,
                    "{flavor:?}: every remote task ran"
                );
                stop.store(true, SeqCst);
                busy.await.unwrap()
            });
            assert!(spins > 0);
        });
    }
}

/// Two threads in `Runtime::block_on` of one current-thread runtime: the second polls its
/// future on its own thread while the first drives the runtime, then takes the core over when
/// the first returns, and can run spawned tasks.
#[test]
fn current_thread_block_on_from_two_threads_hands_the_core_over() {
    watchdog("two block_on callers", 20, || {
        let rt = Arc::new(Builder::new_current_thread().build().unwrap());
        for _ in 0..50 {
            let (tx, rx) = oneshot::channel::<()>();
            let first = {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    rt.block_on(async move {
                        // Holds the core until the second caller sends.
                        rx.await.unwrap();
                        runtime::spawn(async { 1 }).await.unwrap()
                    })
                })
            };
            let second = {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    rt.block_on(async move {
                        tx.send(()).unwrap();
                        // Needs a thread that drives the runtime: after the first caller
                        // returns, that is this one.
                        runtime::spawn(async { 2 }).await.unwrap()
                    })
                })
            };
            assert_eq!(first.join().unwrap(), 1);
            assert_eq!(second.join().unwrap(), 2);
        }
    });
}
