//! Scheduler benchmarks: `runtime` against `tokio`, same workload code, same thread count.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench scheduler                      # every group (a few minutes)
//! cargo bench --bench scheduler -- spawn_many_local  # one group (criterion filter, a regex)
//! cargo bench --bench scheduler -- /runtime          # only the `runtime` side of every group
//! # smoke run: every workload once through, on both runtimes
//! cargo bench --bench scheduler -- --warm-up-time 0.1 --measurement-time 0.5 --sample-size 10
//! ```
//!
//! Every group has two functions, `<group>/runtime` and `<group>/tokio`. The code of each
//! workload is written once, inside the `workloads!` macro, and expanded twice: once with
//! `runtime::{spawn, task::yield_now, Builder, Runtime}` in scope and once with the same names
//! taken from `tokio`. Multi-thread runtimes have 2 worker threads
//! (`Builder::new_multi_thread().worker_threads(2).build()`, no Tokio drivers enabled, since
//! `runtime` has no I/O or time driver either). Each runtime is built once per group, outside
//! the timed closure, and dropped before the other runtime's side runs, so only one runtime's
//! threads exist at a time. Message passing uses `futures::channel::oneshot` for both
//! runtimes (`runtime` has no channels of its own yet), or a `std::sync::mpsc::sync_channel`
//! where Tokio's own `benches/rt_multi_threaded.rs` uses one.
//!
//! # Workloads
//!
//! * `spawn_many_local`: inside `block_on`, spawn 10 000 tasks; each decrements a shared
//!   counter and the last one signals a std `sync_channel` that `block_on` waits on (blocking,
//!   as in Tokio's bench). Spawn cost from a non-worker thread plus the workers' throughput on
//!   tiny tasks.
//! * `spawn_many_remote_idle`: from outside the runtime, `rt.spawn` 10 000 empty tasks onto an
//!   idle runtime, then `block_on` awaits every `JoinHandle`. Injector (remote queue) path,
//!   waking parked workers, join-handle completion.
//! * `spawn_many_remote_busy`: the same while 4 tasks spin on `yield_now` until a stop flag is
//!   set, so both workers are busy and the remote tasks compete with yielding tasks. The
//!   spinners are started (and seen running) before the clock starts and stopped and joined
//!   after it stops, every iteration (`iter_custom`): only the spawn + join is timed.
//! * `yield_many`: 200 tasks each doing 1 000 `yield_now().await`, spawned and awaited from
//!   `block_on`. Cost of a yield: re-queue and re-poll.
//! * `ping_pong`: one task spawns 1 000 tasks; each spawns a partner, sends it a oneshot
//!   message and awaits the oneshot reply; the last pair to finish signals a std channel that
//!   `block_on` waits on. Wake-to-run latency between two tasks (the next/LIFO slot path).
//! * `chained_spawn`: a chain of 1 000 tasks, each spawning the next from inside a task; the last
//!   completes a oneshot awaited by `block_on`. Spawn-from-worker latency, one task at a time.
//! * `current_thread_spawn_many`: `new_current_thread()` runtimes; inside `block_on` spawn
//!   10 000 empty tasks and await every handle. Single-thread scheduler overhead, no threads.
//! * `handoff_under_long_poll`: latency, not throughput. A consumer task waits on a oneshot
//!   (it has been polled and registered its waker before anything else happens); a producer
//!   task, spawned from inside a task so that it runs on a worker, takes an `Instant`, sends it
//!   to the consumer (which wakes it from that worker) and keeps spinning in the same poll for
//!   up to 5 ms. The sample is the time from just before the send to the first instruction the
//!   consumer runs after the wake. Tokio keeps the woken task in the producer worker's LIFO
//!   slot until that poll ends (~5 ms); `runtime`'s monitor hands the next-slot task to the idle
//!   worker after its handoff threshold (100 us by default). The producer stops spinning early
//!   once the consumer has demonstrably run (it already has its sample then; without this a
//!   criterion run costs 5 ms of wall time per ~0.1 ms sample). Criterion reports the mean
//!   latency (`iter_custom` returns the summed latencies); when that group runs, 200 extra
//!   samples per runtime are taken afterwards and their percentiles printed on stdout:
//!   `handoff_under_long_poll runtime: p50=... p90=... p99=... max=... (n=200, poll<=5ms)`.
//!
//! The configuration (`sample_size(20)`, 3 s measurement, 0.5 s warm-up) suits a 2-core CI
//! box; the usual criterion flags override it. Absolute numbers on a shared 2-core machine are
//! noisy: compare the two functions of a group measured in the same run, on a quiet machine.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use futures::channel::oneshot;
use futures::FutureExt;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// Worker threads of every multi-thread runtime.
const WORKERS: usize = 2;
/// Tasks spawned by the `spawn_many_*` workloads.
const NUM_SPAWN: usize = 10_000;
/// Spinning tasks kept busy during `spawn_many_remote_busy`.
const NUM_SPINNERS: usize = 4;
/// `yield_many`: tasks, and yields per task.
const YIELD_TASKS: usize = 200;
const NUM_YIELD: usize = 1_000;
/// `ping_pong`: round trips.
const NUM_PINGS: usize = 1_000;
/// `chained_spawn`: length of the chain.
const CHAIN_LEN: usize = 1_000;
/// `handoff_under_long_poll`: how long the producer's poll lasts (at most; see the module docs).
const LONG_POLL: Duration = Duration::from_millis(5);
/// `handoff_under_long_poll`: samples behind the printed percentiles, and discarded warm-up
/// samples taken before them.
const HANDOFF_SAMPLES: usize = 200;
const HANDOFF_WARMUP: usize = 10;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Expands the workloads into a module `$module` whose functions register themselves as
/// `$label` in a group. `$glue` brings `spawn`, `yield_now`, `Builder` and `Runtime` into scope;
/// nothing else differs between the two expansions.
macro_rules! workloads {
    ($module:ident, $label:literal, { $($glue:item)* }) => {
        mod $module {
            use super::*;
            $($glue)*

            const NAME: &str = $label;

            fn multi_thread() -> Runtime {
                Builder::new_multi_thread().worker_threads(WORKERS).build().unwrap()
            }

            fn current_thread() -> Runtime {
                Builder::new_current_thread().build().unwrap()
            }

            pub fn spawn_many_local(group: &mut Group<'_>) {
                let rt = multi_thread();
                let (tx, rx) = mpsc::sync_channel(1);
                let rem = Arc::new(AtomicUsize::new(0));
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rem.store(NUM_SPAWN, Ordering::Relaxed);
                        rt.block_on(async {
                            for _ in 0..NUM_SPAWN {
                                let tx = tx.clone();
                                let rem = rem.clone();
                                spawn(async move {
                                    if rem.fetch_sub(1, Ordering::AcqRel) == 1 {
                                        tx.send(()).unwrap();
                                    }
                                });
                            }
                            rx.recv().unwrap();
                        });
                    })
                });
            }

            pub fn spawn_many_remote_idle(group: &mut Group<'_>) {
                let rt = multi_thread();
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        for _ in 0..NUM_SPAWN {
                            handles.push(rt.spawn(async {}));
                        }
                        rt.block_on(async {
                            for handle in handles.drain(..) {
                                handle.await.unwrap();
                            }
                        });
                    })
                });
            }

            pub fn spawn_many_remote_busy(group: &mut Group<'_>) {
                let rt = multi_thread();
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                group.bench_function(NAME, |b| {
                    b.iter_custom(|iters| {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let stop = Arc::new(AtomicBool::new(false));
                            let running = Arc::new(AtomicUsize::new(0));
                            let spinners: Vec<_> = (0..NUM_SPINNERS)
                                .map(|_| {
                                    let stop = stop.clone();
                                    let running = running.clone();
                                    rt.spawn(async move {
                                        running.fetch_add(1, Ordering::Relaxed);
                                        loop {
                                            yield_now().await;
                                            if stop.load(Ordering::Relaxed) {
                                                break;
                                            }
                                        }
                                    })
                                })
                                .collect();
                            while running.load(Ordering::Relaxed) < NUM_SPINNERS {
                                std::thread::yield_now();
                            }

                            let start = Instant::now();
                            for _ in 0..NUM_SPAWN {
                                handles.push(rt.spawn(async {}));
                            }
                            rt.block_on(async {
                                for handle in handles.drain(..) {
                                    handle.await.unwrap();
                                }
                            });
                            total += start.elapsed();

                            stop.store(true, Ordering::Relaxed);
                            rt.block_on(async {
                                for spinner in spinners {
                                    spinner.await.unwrap();
                                }
                            });
                        }
                        total
                    })
                });
            }

            pub fn yield_many(group: &mut Group<'_>) {
                let rt = multi_thread();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let handles: Vec<_> = (0..YIELD_TASKS)
                                .map(|_| {
                                    spawn(async {
                                        for _ in 0..NUM_YIELD {
                                            yield_now().await;
                                        }
                                    })
                                })
                                .collect();
                            for handle in handles {
                                handle.await.unwrap();
                            }
                        });
                    })
                });
            }

            pub fn ping_pong(group: &mut Group<'_>) {
                let rt = multi_thread();
                let (done_tx, done_rx) = mpsc::sync_channel(1);
                let rem = Arc::new(AtomicUsize::new(0));
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        let done_tx = done_tx.clone();
                        let rem = rem.clone();
                        rem.store(NUM_PINGS, Ordering::Relaxed);
                        rt.block_on(async {
                            spawn(async move {
                                for _ in 0..NUM_PINGS {
                                    let rem = rem.clone();
                                    let done_tx = done_tx.clone();
                                    spawn(async move {
                                        let (ping_tx, ping_rx) = oneshot::channel::<()>();
                                        let (pong_tx, pong_rx) = oneshot::channel::<()>();
                                        spawn(async move {
                                            ping_rx.await.unwrap();
                                            pong_tx.send(()).unwrap();
                                        });
                                        ping_tx.send(()).unwrap();
                                        pong_rx.await.unwrap();
                                        if rem.fetch_sub(1, Ordering::AcqRel) == 1 {
                                            done_tx.send(()).unwrap();
                                        }
                                    });
                                }
                            });
                            done_rx.recv().unwrap();
                        });
                    })
                });
            }

            fn chain(done: oneshot::Sender<()>, n: usize) {
                if n == 0 {
                    done.send(()).unwrap();
                } else {
                    spawn(async move { chain(done, n - 1) });
                }
            }

            pub fn chained_spawn(group: &mut Group<'_>) {
                let rt = multi_thread();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let (done_tx, done_rx) = oneshot::channel();
                            spawn(async move { chain(done_tx, CHAIN_LEN) });
                            done_rx.await.unwrap();
                        });
                    })
                });
            }

            pub fn current_thread_spawn_many(group: &mut Group<'_>) {
                let rt = current_thread();
                let mut handles = Vec::with_capacity(NUM_SPAWN);
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            for _ in 0..NUM_SPAWN {
                                handles.push(spawn(async {}));
                            }
                            for handle in handles.drain(..) {
                                handle.await.unwrap();
                            }
                        });
                    })
                });
            }

            /// One `handoff_under_long_poll` sample (see the module docs).
            fn handoff_sample(rt: &Runtime) -> Duration {
                rt.block_on(async {
                    let (sent_tx, mut sent_rx) = oneshot::channel::<Instant>();
                    let (pending_tx, pending_rx) = oneshot::channel::<()>();
                    let consumer_ran = Arc::new(AtomicBool::new(false));

                    let consumer = spawn({
                        let consumer_ran = consumer_ran.clone();
                        async move {
                            let mut pending_tx = Some(pending_tx);
                            let sent_at = poll_fn(|cx| {
                                let poll = sent_rx.poll_unpin(cx);
                                if poll.is_pending() {
                                    // The waker is registered: the producer may start.
                                    if let Some(tx) = pending_tx.take() {
                                        tx.send(()).unwrap();
                                    }
                                }
                                poll
                            })
                            .await
                            .unwrap();
                            let latency = sent_at.elapsed();
                            consumer_ran.store(true, Ordering::Release);
                            latency
                        }
                    });
                    pending_rx.await.unwrap();

                    // Spawned from a task, so the producer is spawned on (and runs on) a worker;
                    // the launcher then waits for it so no spin overlaps the next sample.
                    let launcher = spawn(async move {
                        let producer = spawn(async move {
                            let sent_at = Instant::now();
                            sent_tx.send(sent_at).unwrap();
                            // Spin in this same poll; stop early once the consumer has run.
                            while sent_at.elapsed() < LONG_POLL
                                && !consumer_ran.load(Ordering::Acquire)
                            {
                                std::hint::spin_loop();
                            }
                        });
                        producer.await.unwrap();
                    });

                    let latency = consumer.await.unwrap();
                    launcher.await.unwrap();
                    latency
                })
            }

            /// Registers the criterion function; if it ran (the filter selected it), returns
            /// `HANDOFF_SAMPLES` more samples for the percentile report.
            pub fn handoff_under_long_poll(group: &mut Group<'_>) -> Option<Vec<Duration>> {
                let rt = multi_thread();
                let mut ran = false;
                group.bench_function(NAME, |b| {
                    ran = true;
                    b.iter_custom(|iters| (0..iters).map(|_| handoff_sample(&rt)).sum())
                });
                if !ran {
                    return None;
                }
                for _ in 0..HANDOFF_WARMUP {
                    handoff_sample(&rt);
                }
                Some((0..HANDOFF_SAMPLES).map(|_| handoff_sample(&rt)).collect())
            }
        }
    };
}

workloads!(on_runtime, "runtime", {
    use runtime::task::yield_now;
    use runtime::{spawn, Builder, Runtime};
});

workloads!(on_tokio, "tokio", {
    use tokio::runtime::{Builder, Runtime};
    use tokio::spawn;
    use tokio::task::yield_now;
});

/// One criterion group per workload, `runtime` first, then `tokio`.
macro_rules! compare {
    ($($workload:ident),* $(,)?) => {
        $(
            fn $workload(c: &mut Criterion) {
                let mut group = c.benchmark_group(stringify!($workload));
                on_runtime::$workload(&mut group);
                on_tokio::$workload(&mut group);
                group.finish();
            }
        )*
    };
}

compare!(
    spawn_many_local,
    spawn_many_remote_idle,
    spawn_many_remote_busy,
    yield_many,
    ping_pong,
    chained_spawn,
    current_thread_spawn_many,
);

fn handoff_under_long_poll(c: &mut Criterion) {
    let mut group = c.benchmark_group("handoff_under_long_poll");
    let runtime_samples = on_runtime::handoff_under_long_poll(&mut group);
    let tokio_samples = on_tokio::handoff_under_long_poll(&mut group);
    group.finish();
    if let Some(samples) = runtime_samples {
        print_handoff_percentiles("runtime", samples);
    }
    if let Some(samples) = tokio_samples {
        print_handoff_percentiles("tokio", samples);
    }
}

/// Prints one line: `handoff_under_long_poll <label>: p50=... p90=... p99=... max=... (n=...)`.
fn print_handoff_percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    // Nearest rank: the smallest sample with at least p% of the samples at or below it.
    let rank = |p: usize| samples[(samples.len() * p).div_ceil(100).max(1) - 1];
    println!(
        "handoff_under_long_poll {label}: p50={:?} p90={:?} p99={:?} max={:?} (n={}, poll<={:?})",
        rank(50),
        rank(90),
        rank(99),
        samples[samples.len() - 1],
        samples.len(),
        LONG_POLL,
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn_many_local,
        spawn_many_remote_idle,
        spawn_many_remote_busy,
        yield_many,
        ping_pong,
        chained_spawn,
        current_thread_spawn_many,
        handoff_under_long_poll,
}
criterion_main!(benches);
