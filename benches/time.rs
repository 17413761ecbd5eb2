//! Timer benchmarks: `runtime::time` against `tokio::time`, same workload code, same threads.
//!
//! # Running
//!
//! ```text
//! cargo bench --bench time                    # every group
//! cargo bench --bench time -- sleep_100k      # one group (criterion filter, a regex)
//! # smoke run: every workload through, on both runtimes
//! cargo bench --bench time -- --warm-up-time 1 --measurement-time 2 --sample-size 10
//! ```
//!
//! Every group has two functions, `<group>/runtime` and `<group>/tokio`. The code of each
//! workload is written once, inside the `workloads!` macro, and expanded twice: once with
//! `runtime::{spawn, Builder, Runtime, time::{sleep, timeout}, task::unconstrained}` in scope and
//! once with the same names taken from `tokio`. Every runtime is a multi-thread runtime with 2
//! worker threads and only the time driver enabled
//! (`Builder::new_multi_thread().worker_threads(2).enable_time().build()`), built once per
//! group outside the timed closure and dropped before the other runtime's side runs.
//!
//! # Workloads
//!
//! * `sleep_100k`: a task spawns 100 000 tasks, task `i` sleeping `1 + i % 20` ms, and awaits
//!   them all. Criterion reports the wall time per iteration (at least the 20 ms of the
//!   longest sleep: the rest is spawn, timer registration and firing cost, and how late the
//!   last timers fire). Each task also measures its *lateness* (completion instant minus
//!   `Instant::now() + duration` taken just before `sleep`); when the group runs,
//!   `LATENESS_RUNS` more iterations are made afterwards and their percentiles printed:
//!   `sleep_100k runtime: lateness p50=... p90=... p99=... max=... (n=...)`.
//! * `timeout_churn`: 1 000 000 `timeout(1 s, ready(i))` that complete at once, split across 2
//!   tasks of 500 000 (cost of a timeout around an operation that does not wait: creating the
//!   lazy sleep, a poll, dropping it; the tasks yield when their cooperative budget runs out,
//!   on both runtimes).
//! * `register_cancel`: 2 tasks, each 100 000 times: create `sleep(1 s)`, poll it once
//!   (`futures::poll!`: the first poll registers the timer) and drop it (deregisters). Run
//!   `unconstrained` so that the cooperative budget never makes a poll return early without
//!   registering. Both tasks run at once on the 2 workers: contention on the timer structure.
//! * `sleep_precision` (printed only, no criterion timing): on an otherwise idle runtime, one
//!   task sleeps `PRECISION_SLEEPS` times, one sleep at a time, for 1..=20 ms (sub-millisecond
//!   durations included), measuring each sleep's lateness against its exact deadline:
//!   `sleep_precision runtime: lateness p50=... p90=... p99=... max=... (n=...)`. This is the
//!   precision a lightly loaded service sees; `sleep_100k`'s lateness is dominated by 100 000
//!   tasks competing for 2 workers. The same target prints `size_of::<Sleep>()` of both.
//!
//! The configuration (`sample_size(10)`, 5 s measurement, 1 s warm-up) suits a 2-core CI
//! box; the usual criterion flags override it. Compare the two functions of a group measured
//! in the same run, on a quiet machine.

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Worker threads of every runtime.
const WORKERS: usize = 2;
/// `sleep_100k`: sleeping tasks per iteration; durations are `1..=SLEEP_SPREAD_MS` ms.
const NUM_SLEEPS: u64 = 100_000;
const SLEEP_SPREAD_MS: u64 = 20;
/// `sleep_100k`: iterations whose lateness samples are printed after the criterion run.
const LATENESS_RUNS: usize = 3;
/// `sleep_precision`: sequential sleeps per runtime (about 1 s of sleeping each).
const PRECISION_SLEEPS: u64 = 100;
/// `timeout_churn`: timeouts per iteration, split across `CHURN_TASKS` tasks.
const NUM_TIMEOUTS: u64 = 1_000_000;
const CHURN_TASKS: u64 = 2;
/// `register_cancel`: tasks, and register + cancel cycles per task.
const CANCEL_TASKS: usize = 2;
const CANCELS_PER_TASK: usize = 100_000;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// Expands the workloads into a module `$module` whose functions register themselves as
/// `$label` in a group. `$glue` brings `spawn`, `sleep`, `timeout`, `unconstrained`, `Builder`
/// and `Runtime` into scope; nothing else differs between the two expansions.
macro_rules! workloads {
    ($module:ident, $label:literal, { $($glue:item)* }) => {
        mod $module {
            use super::*;
            $($glue)*

            const NAME: &str = $label;

            fn runtime() -> Runtime {
                Builder::new_multi_thread()
                    .worker_threads(WORKERS)
                    .enable_time()
                    .build()
                    .unwrap()
            }

            /// Lateness of `PRECISION_SLEEPS` sleeps made one at a time on an idle runtime.
            pub fn sleep_precision() -> Vec<Duration> {
                let rt = runtime();
                rt.block_on(async {
                    let mut lateness = Vec::with_capacity(PRECISION_SLEEPS as usize);
                    for i in 0..PRECISION_SLEEPS {
                        let d = Duration::from_micros(1_000 + (i * 7_919) % 19_000);
                        let deadline = Instant::now() + d;
                        sleep(d).await;
                        lateness.push(Instant::now().saturating_duration_since(deadline));
                    }
                    lateness
                })
            }

            /// `size_of` the future `sleep` returns.
            pub fn sleep_size() -> usize {
                let rt = runtime();
                let _enter = rt.enter();
                std::mem::size_of_val(&sleep(Duration::from_secs(1)))
            }

            /// One `sleep_100k` iteration: the lateness of every sleep.
            fn sleep_100k_once(rt: &Runtime) -> Vec<Duration> {
                rt.block_on(async {
                    spawn(async {
                        let handles: Vec<_> = (0..NUM_SLEEPS)
                            .map(|i| {
                                spawn(async move {
                                    let d = Duration::from_millis(1 + i % SLEEP_SPREAD_MS);
                                    let deadline = Instant::now() + d;
                                    sleep(d).await;
                                    Instant::now().saturating_duration_since(deadline)
                                })
                            })
                            .collect();
                        let mut lateness = Vec::with_capacity(handles.len());
                        for handle in handles {
                            lateness.push(handle.await.unwrap());
                        }
                        lateness
                    })
                    .await
                    .unwrap()
                })
            }

            /// Registers the criterion function; if it ran (the filter selected it), returns
            /// the lateness samples of `LATENESS_RUNS` more iterations.
            pub fn sleep_100k(group: &mut Group<'_>) -> Option<Vec<Duration>> {
                let rt = runtime();
                let mut ran = false;
                group.bench_function(NAME, |b| {
                    ran = true;
                    b.iter(|| black_box(sleep_100k_once(&rt)))
                });
                if !ran {
                    return None;
                }
                Some((0..LATENESS_RUNS).flat_map(|_| sleep_100k_once(&rt)).collect())
            }

            pub fn timeout_churn(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let handles: Vec<_> = (0..CHURN_TASKS)
                                .map(|_| {
                                    spawn(async {
                                        let mut sum = 0u64;
                                        for i in 0..NUM_TIMEOUTS / CHURN_TASKS {
                                            let ready = std::future::ready(i);
                                            sum += timeout(Duration::from_secs(1), ready)
                                                .await
                                                .unwrap();
                                        }
                                        sum
                                    })
                                })
                                .collect();
                            for handle in handles {
                                black_box(handle.await.unwrap());
                            }
                        })
                    })
                });
            }

            pub fn register_cancel(group: &mut Group<'_>) {
                let rt = runtime();
                group.bench_function(NAME, |b| {
                    b.iter(|| {
                        rt.block_on(async {
                            let handles: Vec<_> = (0..CANCEL_TASKS)
                                .map(|_| {
                                    spawn(unconstrained(async {
                                        for _ in 0..CANCELS_PER_TASK {
                                            let mut s =
                                                std::pin::pin!(sleep(Duration::from_secs(1)));
                                            let poll = futures::poll!(s.as_mut());
                                            assert!(poll.is_pending());
                                        }
                                    }))
                                })
                                .collect();
                            for handle in handles {
                                handle.await.unwrap();
                            }
                        })
                    })
                });
            }
        }
    };
}

workloads!(on_runtime, "runtime", {
    use runtime::task::unconstrained;
    use runtime::time::{sleep, timeout};
    use runtime::{spawn, Builder, Runtime};
});

workloads!(on_tokio, "tokio", {
    use tokio::runtime::{Builder, Runtime};
    use tokio::spawn;
    use tokio::task::unconstrained;
    use tokio::time::{sleep, timeout};
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

compare!(timeout_churn, register_cancel);

fn sleep_100k(c: &mut Criterion) {
    let mut group = c.benchmark_group("sleep_100k");
    let runtime_samples = on_runtime::sleep_100k(&mut group);
    let tokio_samples = on_tokio::sleep_100k(&mut group);
    group.finish();
    if let Some(samples) = runtime_samples {
        print_lateness("sleep_100k", "runtime", samples);
    }
    if let Some(samples) = tokio_samples {
        print_lateness("sleep_100k", "tokio", samples);
    }
}

fn sleep_precision(_: &mut Criterion) {
    print_lateness("sleep_precision", "runtime", on_runtime::sleep_precision());
    print_lateness("sleep_precision", "tokio", on_tokio::sleep_precision());
    println!(
        "size_of::<Sleep>(): runtime {} bytes, tokio {} bytes",
        on_runtime::sleep_size(),
        on_tokio::sleep_size()
    );
}

/// Prints one line: `<group> <label>: lateness p50=... p90=... p99=... max=... (n=...)`.
fn print_lateness(group: &str, label: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    // Nearest rank: the smallest sample with at least p% of the samples at or below it.
    let rank = |p: usize| samples[(samples.len() * p).div_ceil(100).max(1) - 1];
    println!(
        "{group} {label}: lateness p50={:?} p90={:?} p99={:?} max={:?} (n={})",
        rank(50),
        rank(90),
        rank(99),
        samples[samples.len() - 1],
        samples.len(),
    );
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = sleep_precision, sleep_100k, timeout_churn, register_cancel,
}
criterion_main!(benches);
