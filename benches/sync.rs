//! Sync primitive benchmarks: `runtime::sync` against `tokio::sync`, same workload code, same
//! thread count.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench sync                          # every group
//! cargo bench --bench sync -- mpsc_                 # some groups (criterion filter, a regex)
//! cargo bench --bench sync -- /runtime              # only the `runtime` side of every group
//! # smoke run: every workload through, on both runtimes
//! cargo bench --bench sync -- --warm-up-time 1 --measurement-time 2 --sample-size 10
//! ```
//!
//! Every group has two functions, `<group>/runtime` and `<group>/tokio`. The code of each
//! workload is written once, inside the `workloads!` macro, and expanded twice: once with
//! `runtime::sync::{mpsc, oneshot, broadcast, watch, Mutex, Semaphore, Notify}`,
//! `runtime::{spawn, task::yield_now, Builder, Runtime}` in scope and once with the same names
//! taken from `tokio`: each side runs its own primitives on its own scheduler. Every runtime is
//! a multi-thread runtime with 2 worker threads and no drivers
//! (`Builder::new_multi_thread().worker_threads(2).build()`), built once per group outside the
//! timed closure and dropped before the other runtime's side runs. Every task of a workload is
//! spawned (so it runs on the 2 workers); `block_on` only spawns them and awaits their
//! `JoinHandle`s. Workloads assert their results (message counts, sums) so that a broken
//! primitive fails the bench instead of measuring nothing.
//!
//! # Workloads
//!
//! * `mpsc_bounded_contention`: 4 producer tasks each send 25 000 `u64`s into one
//!   `mpsc::channel(1024)`; one consumer task receives all 100 000 (until `None`). Contended
//!   sends, the bounded channel's permit semaphore, sender parking when the buffer is full.
//! * `mpsc_unbounded_contention`: the same with `mpsc::unbounded_channel()`.
//! * `oneshot_request_reply`: a server task owns the receiver of `mpsc::channel(10)` of
//!   `(u64, oneshot::Sender<u64>)` and replies `n + 1`; a client task sends 1 000 requests one
//!   after the other, awaiting each reply. Round-trip latency through mpsc + oneshot between two
//!   tasks. When the group runs, `RTT_RUNS` more client runs are made afterwards with each round
//!   trip timed, and the percentiles printed:
//!   `oneshot_request_reply runtime: rtt p50=... p90=... p99=... max=... (n=...)`.
//! * `oneshot_ping_pong`: the shape of Tokio's `ping_pong` scheduler bench, with each runtime's own
//!   oneshot: one task spawns 1 000 tasks; each creates two oneshots, spawns a partner that
//!   awaits the ping and sends the pong, sends the ping and awaits the pong. An atomic counts the
//!   finished pairs; the last one completes a oneshot that `block_on` awaits.
//! * `semaphore_contention`: 6 tasks each acquire a permit of `Semaphore::new(2)` 10 000 times,
//!   hold it across a trivial computation (an atomic add) and release it; each task calls
//!   `yield_now` every 64 iterations so the tasks interleave on the 2 workers.
//! * `mutex_contention`: 6 tasks each increment a `Mutex<u64>` 10 000 times; the final value is
//!   checked.
//! * `notify_one_100_waiters`: 100 waiter tasks each await `notify.notified()` 100 times and
//!   decrement a shared counter of outstanding wake-ups (10 000) after each; a driver task calls
//!   `notify_one()` and `yield_now()` until that counter reaches 0. It cannot deadlock: while a
//!   waiter has rounds left the counter is positive and the driver keeps notifying, and each
//!   `notify_one` either wakes a waiting task or stores the permit the next `notified()` takes.
//!   (The driver may notify a few times more than 10 000 while woken waiters have not run yet:
//!   the extra calls coalesce into the one stored permit, dropped with the `Notify`.)
//! * `broadcast_fanout`: 1 sender task, 10 receiver tasks on `broadcast::channel(1024)`,
//!   10 000 messages; the sender yields every 64 sends. A receiver counts values received and
//!   values reported lost by `RecvError::Lagged(n)` and stops at `Closed`; the sum must be
//!   10 000 per receiver (the same handling on both runtimes). Lagging makes a run cheaper, so
//!   when the group runs the share of lost deliveries over all its iterations is printed:
//!   `broadcast_fanout runtime: lagged 0.00% of deliveries (...)`.
//! * `watch_fanout`: 1 sender task sends 1..=10 000 into `watch::channel(0)` (yielding every
//!   64 sends), 10 receiver tasks loop on `changed()` + `borrow_and_update()` until the sender is
//!   dropped and check they saw the last value. Watch coalesces, so the printed line gives how
//!   many of the 10 000 values a receiver observed on average:
//!   `watch_fanout runtime: a receiver observed ... of 10000 values on average (...)`.
//!
//! The configuration (`sample_size(20)`, 3 s measurement, 0.5 s warm-up) suits a 2-core CI
//! box; the usual criterion flags override it. Absolute numbers on a shared 2-core machine are
//! noisy: compare the two functions of a group measured in the same run, on a quiet machine.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Worker threads of every runtime.
const WORKERS: usize = 2;
/// `mpsc_*_contention`: producers, messages per producer, bounded capacity.
const MPSC_PRODUCERS: u64 = 4;
const MPSC_PER_PRODUCER: u64 = 25_000;
const MPSC_CAPACITY: usize = 1024;
/// `oneshot_request_reply`: sequential requests per run, capacity of the request channel, and
/// timed runs behind the printed round-trip percentiles.
const NUM_REQUESTS: u64 = 1_000;
const REQUEST_CAPACITY: usize = 10;
const RTT_RUNS: usize = 5;
/// `oneshot_ping_pong`: pairs.
const NUM_PINGS: usize = 1_000;
/// `semaphore_contention` and `mutex_contention`: tasks, and acquisitions per task.
const LOCK_TASKS: u64 = 6;
const LOCKS_PER_TASK: u64 = 10_000;
/// `semaphore_contention`: permits, and how often a task yields.
const SEM_PERMITS: usize = 2;
const YIELD_EVERY: u64 = 64;
/// `notify_one_100_waiters`: waiter tasks, and rounds per waiter.
const NOTIFY_WAITERS: u64 = 100;
const NOTIFY_ROUNDS: u64 = 100;
/// `broadcast_fanout` / `watch_fanout`: receivers, messages, broadcast capacity.
const FANOUT_RECEIVERS: u64 = 10;
const FANOUT_MESSAGES: u64 = 10_000;
const BROADCAST_CAPACITY: usize = 1024;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Expands the workloads into a module `$module` whose functions register themselves as
/// `$label` in a group. `$glue` brings the sync primitives, `spawn`, `yield_now`, `Builder` and
/// `Runtime` into scope; nothing else differs between the two expansions.
macro_rules! workloads {
    ($module:ident, $label:literal, { $($glue:item)* }) => {
        mod $module {
            use super::*;
            $($glue)*

            const NAME: &str = $label;

            fn runtime() -> Runtime {
                Builder::new_multi_thread().worker_threads(WORKERS).build().unwrap()
            }

            /// Expected sum of the values every `mpsc_*_contention` iteration receives.
            const MPSC_SUM: u64 = MPSC_PRODUCERS * MPSC_PER_PRODUCER * (MPSC_PER_PRODUCER - 1) / 2;

            pub fn mpsc_bounded_contention(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let (tx, mut rx) = mpsc::channel::<u64>(MPSC_CAPACITY);
                            let consumer = spawn(async move {
                                let (mut count, mut sum) = (0u64, 0u64);
                                while let Some(v) = rx.recv().await {
                                    count += 1;
                                    sum += v;
                                }
                                (count, sum)
                            });
                            let producers: Vec<_> = (0..MPSC_PRODUCERS)
                                .map(|_| {
                                    let tx = tx.clone();
                                    spawn(async move {
                                        for i in 0..MPSC_PER_PRODUCER {
                                            tx.send(i).await.unwrap();
                                        }
                                    })
                                })
                                .collect();
                            drop(tx);
                            for producer in producers {
                                producer.await.unwrap();
                            }
                            let (count, sum) = consumer.await.unwrap();
                            assert_eq!(count, MPSC_PRODUCERS * MPSC_PER_PRODUCER);
                            assert_eq!(sum, MPSC_SUM);
                        })
                    })
                });
            }

            pub fn mpsc_unbounded_contention(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
                            let consumer = spawn(async move {
                                let (mut count, mut sum) = (0u64, 0u64);
                                while let Some(v) = rx.recv().await {
                                    count += 1;
                                    sum += v;
                                }
                                (count, sum)
                            });
                            let producers: Vec<_> = (0..MPSC_PRODUCERS)
                                .map(|_| {
                                    let tx = tx.clone();
                                    spawn(async move {
                                        for i in 0..MPSC_PER_PRODUCER {
                                            tx.send(i).unwrap();
                                        }
                                    })
                                })
                                .collect();
                            drop(tx);
                            for producer in producers {
                                producer.await.unwrap();
                            }
                            let (count, sum) = consumer.await.unwrap();
                            assert_eq!(count, MPSC_PRODUCERS * MPSC_PER_PRODUCER);
                            assert_eq!(sum, MPSC_SUM);
                        })
                    })
                });
            }

            /// One `oneshot_request_reply` run; with `timed`, the round-trip time of every
            /// request (nothing is timed otherwise, so the criterion loop stays clean).
            fn request_reply_once(rt: &Runtime, timed: bool) -> Vec<Duration> {
                rt.block_on(async move {
                    let (tx, mut rx) =
                        mpsc::channel::<(u64, oneshot::Sender<u64>)>(REQUEST_CAPACITY);
                    let server = spawn(async move {
                        while let Some((n, reply)) = rx.recv().await {
                            // The client always waits for the reply, so this cannot fail.
                            reply.send(n + 1).unwrap();
                        }
                    });
                    let client = spawn(async move {
                        let mut rtts = Vec::with_capacity(if timed { NUM_REQUESTS as usize } else { 0 });
                        for n in 0..NUM_REQUESTS {
                            let start = timed.then(Instant::now);
                            let (reply_tx, reply_rx) = oneshot::channel();
                            tx.send((n, reply_tx)).await.unwrap();
                            assert_eq!(reply_rx.await.unwrap(), n + 1);
                            if let Some(start) = start {
                                rtts.push(start.elapsed());
                            }
                        }
                        rtts
                        // `tx` drops here: the server's `recv` returns `None`.
                    });
                    let rtts = client.await.unwrap();
                    server.await.unwrap();
                    rtts
                })
            }

            /// Registers the criterion function; if it ran (the filter selected it), returns
            /// the round trips of `RTT_RUNS` more timed runs.
            pub fn oneshot_request_reply(group: &mut Group<'_>) -> Option<Vec<Duration>> {
                let rt = runtime();
                let mut ran = false;
                group.bench_function(NAME, |b| {
                    ran = true;
                    b.iter(|| request_reply_once(&rt, false))
                });
                ran.then(|| (0..RTT_RUNS).flat_map(|_| request_reply_once(&rt, true)).collect())
            }

            pub fn oneshot_ping_pong(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let (done_tx, done_rx) = oneshot::channel::<()>();
                            // Taken by the pair that finishes last.
                            let done_tx = Arc::new(std::sync::Mutex::new(Some(done_tx)));
                            let rem = Arc::new(AtomicUsize::new(NUM_PINGS));
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
                                            let tx = done_tx.lock().unwrap().take().unwrap();
                                            tx.send(()).unwrap();
                                        }
                                    });
                                }
                            });
                            done_rx.await.unwrap();
                        })
                    })
                });
            }

            pub fn semaphore_contention(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let sem = Arc::new(Semaphore::new(SEM_PERMITS));
                            let work = Arc::new(AtomicU64::new(0));
                            let tasks: Vec<_> = (0..LOCK_TASKS)
                                .map(|_| {
                                    let sem = sem.clone();
                                    let work = work.clone();
                                    spawn(async move {
                                        for i in 0..LOCKS_PER_TASK {
                                            let permit = sem.acquire().await.unwrap();
                                            work.fetch_add(black_box(1), Ordering::Relaxed);
                                            drop(permit);
                                            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                                                yield_now().await;
                                            }
                                        }
                                    })
                                })
                                .collect();
                            for task in tasks {
                                task.await.unwrap();
                            }
                            assert_eq!(work.load(Ordering::Relaxed), LOCK_TASKS * LOCKS_PER_TASK);
                            assert_eq!(sem.available_permits(), SEM_PERMITS);
                        })
                    })
                });
            }

            pub fn mutex_contention(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let counter = Arc::new(Mutex::new(0u64));
                            let tasks: Vec<_> = (0..LOCK_TASKS)
                                .map(|_| {
                                    let counter = counter.clone();
                                    spawn(async move {
                                        for _ in 0..LOCKS_PER_TASK {
                                            *counter.lock().await += 1;
                                        }
                                    })
                                })
                                .collect();
                            for task in tasks {
                                task.await.unwrap();
                            }
                            assert_eq!(*counter.lock().await, LOCK_TASKS * LOCKS_PER_TASK);
                        })
                    })
                });
            }

            pub fn notify_one_100_waiters(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let notify = Arc::new(Notify::new());
                            // Wake-ups still owed to the waiters (see the module docs).
                            let owed = Arc::new(AtomicU64::new(NOTIFY_WAITERS * NOTIFY_ROUNDS));
                            let waiters: Vec<_> = (0..NOTIFY_WAITERS)
                                .map(|_| {
                                    let notify = notify.clone();
                                    let owed = owed.clone();
                                    spawn(async move {
                                        for _ in 0..NOTIFY_ROUNDS {
                                            notify.notified().await;
                                            owed.fetch_sub(1, Ordering::AcqRel);
                                        }
                                    })
                                })
                                .collect();
                            let driver = spawn(async move {
                                let mut calls = 0u64;
                                while owed.load(Ordering::Acquire) > 0 {
                                    notify.notify_one();
                                    calls += 1;
                                    yield_now().await;
                                }
                                calls
                            });
                            for waiter in waiters {
                                waiter.await.unwrap();
                            }
                            let calls = driver.await.unwrap();
                            assert!(calls >= NOTIFY_WAITERS * NOTIFY_ROUNDS);
                        })
                    })
                });
            }

            /// One `broadcast_fanout` iteration: (values received, values lost to lagging),
            /// summed over the receivers.
            fn broadcast_once(rt: &Runtime) -> (u64, u64) {
                rt.block_on(async {
                    let (tx, rx) = broadcast::channel::<u64>(BROADCAST_CAPACITY);
                    // Every receiver subscribes before the first send.
                    let receivers: Vec<_> = (0..FANOUT_RECEIVERS)
                        .map(|_| {
                            let mut rx = rx.resubscribe();
                            spawn(async move {
                                let (mut received, mut lost) = (0u64, 0u64);
                                loop {
                                    match rx.recv().await {
                                        Ok(v) => {
                                            black_box(v);
                                            received += 1;
                                        }
                                        Err(broadcast::error::RecvError::Lagged(n)) => lost += n,
                                        Err(broadcast::error::RecvError::Closed) => break,
                                    }
                                }
                                (received, lost)
                            })
                        })
                        .collect();
                    drop(rx);
                    let sender = spawn(async move {
                        for i in 0..FANOUT_MESSAGES {
                            tx.send(i).unwrap();
                            if i % YIELD_EVERY == YIELD_EVERY - 1 {
                                yield_now().await;
                            }
                        }
                    });
                    sender.await.unwrap();
                    let (mut received, mut lost) = (0, 0);
                    for receiver in receivers {
                        let (r, l) = receiver.await.unwrap();
                        assert_eq!(r + l, FANOUT_MESSAGES);
                        received += r;
                        lost += l;
                    }
                    (received, lost)
                })
            }

            /// Registers the criterion function; if it ran, returns the (received, lost) totals
            /// over every iteration criterion made (warm-up included).
            pub fn broadcast_fanout(group: &mut Group<'_>) -> Option<(u64, u64)> {
                let rt = runtime();
                let mut totals = None;
                group.bench_function(NAME, |b| {
                    let (received, lost) = totals.get_or_insert((0, 0));
                    b.iter(|| {
                        let (r, l) = broadcast_once(&rt);
                        *received += r;
                        *lost += l;
                    })
                });
                totals
            }

            /// One `watch_fanout` iteration: values observed, summed over the receivers.
            fn watch_once(rt: &Runtime) -> u64 {
                rt.block_on(async {
                    let (tx, rx) = watch::channel(0u64);
                    let receivers: Vec<_> = (0..FANOUT_RECEIVERS)
                        .map(|_| {
                            let mut rx = rx.clone();
                            spawn(async move {
                                let (mut observed, mut last) = (0u64, 0u64);
                                while rx.changed().await.is_ok() {
                                    last = *rx.borrow_and_update();
                                    observed += 1;
                                }
                                assert_eq!(last, FANOUT_MESSAGES);
                                observed
                            })
                        })
                        .collect();
                    drop(rx);
                    let sender = spawn(async move {
                        for i in 1..=FANOUT_MESSAGES {
                            tx.send(i).unwrap();
                            if i % YIELD_EVERY == 0 {
                                yield_now().await;
                            }
                        }
                        // `tx` drops here: `changed` fails once the last value was seen.
                    });
                    sender.await.unwrap();
                    let mut observed = 0;
                    for receiver in receivers {
                        observed += receiver.await.unwrap();
                    }
                    observed
                })
            }

            /// Registers the criterion function; if it ran, returns (values observed,
            /// iterations) over every iteration criterion made (warm-up included).
            pub fn watch_fanout(group: &mut Group<'_>) -> Option<(u64, u64)> {
                let rt = runtime();
                let mut totals = None;
                group.bench_function(NAME, |b| {
                    let (observed, iterations) = totals.get_or_insert((0, 0));
                    b.iter(|| {
                        *observed += watch_once(&rt);
                        *iterations += 1;
                    })
                });
                totals
            }
        }
    };
}

workloads!(on_runtime, "runtime", {
    use runtime::sync::{broadcast, mpsc, oneshot, watch, Mutex, Notify, Semaphore};
    use runtime::task::yield_now;
    use runtime::{spawn, Builder, Runtime};
});

workloads!(on_tokio, "tokio", {
    use tokio::runtime::{Builder, Runtime};
    use tokio::spawn;
    use tokio::sync::{broadcast, mpsc, oneshot, watch, Mutex, Notify, Semaphore};
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
    mpsc_bounded_contention,
    mpsc_unbounded_contention,
    oneshot_ping_pong,
    semaphore_contention,
    mutex_contention,
    notify_one_100_waiters,
);

fn oneshot_request_reply(c: &mut Criterion) {
    let mut group = c.benchmark_group("oneshot_request_reply");
    let runtime_rtts = on_runtime::oneshot_request_reply(&mut group);
    let tokio_rtts = on_tokio::oneshot_request_reply(&mut group);
    group.finish();
    for (label, rtts) in [("runtime", runtime_rtts), ("tokio", tokio_rtts)] {
        if let Some(rtts) = rtts {
            print_rtt_percentiles(label, rtts);
        }
    }
}

/// Prints one line: `oneshot_request_reply <label>: rtt p50=... p90=... p99=... max=... (n=...)`.
fn print_rtt_percentiles(label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    // Nearest rank: the smallest sample with at least p% of the samples at or below it.
    let rank = |p: usize| samples[(samples.len() * p).div_ceil(100).max(1) - 1];
    println!(
        "oneshot_request_reply {label}: rtt p50={:?} p90={:?} p99={:?} max={:?} (n={})",
        rank(50),
        rank(90),
        rank(99),
        samples[samples.len() - 1],
        samples.len(),
    );
}

fn broadcast_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast_fanout");
    let runtime_totals = on_runtime::broadcast_fanout(&mut group);
    let tokio_totals = on_tokio::broadcast_fanout(&mut group);
    group.finish();
    for (label, totals) in [("runtime", runtime_totals), ("tokio", tokio_totals)] {
        if let Some((received, lost)) = totals {
            let deliveries = received + lost;
            let share = 100.0 * lost as f64 / deliveries.max(1) as f64;
            println!(
                "broadcast_fanout {label}: lagged {share:.2}% of deliveries \
                 ({lost} lost, {received} received)"
            );
        }
    }
}

fn watch_fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("watch_fanout");
    let runtime_totals = on_runtime::watch_fanout(&mut group);
    let tokio_totals = on_tokio::watch_fanout(&mut group);
    group.finish();
    for (label, totals) in [("runtime", runtime_totals), ("tokio", tokio_totals)] {
        if let Some((observed, iterations)) = totals {
            let per_receiver = observed as f64 / (iterations * FANOUT_RECEIVERS).max(1) as f64;
            println!(
                "watch_fanout {label}: a receiver observed {per_receiver:.1} of \
                 {FANOUT_MESSAGES} values on average ({iterations} iterations)"
            );
        }
    }
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
    targets = mpsc_bounded_contention,
        mpsc_unbounded_contention,
        oneshot_request_reply,
        oneshot_ping_pong,
        semaphore_contention,
        mutex_contention,
        notify_one_100_waiters,
        broadcast_fanout,
        watch_fanout,
}
criterion_main!(benches);
