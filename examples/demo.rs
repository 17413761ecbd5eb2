//! The runtime's demo: spawns work across the workers, shows the monitor handing a woken task
//! away from a worker stuck in a long poll, shows a stall being detected and reported, then
//! shows the timers: sub-millisecond precision, a timeout, and a paused clock that runs a day
//! of virtual time on a multi-thread runtime in milliseconds.
//!
//! Run: `cargo run --release --example demo` (exits 0 when every step behaved as expected).

use futures::channel::oneshot;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn main() {
    let rt = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("demo-worker")
        .stall_threshold(Duration::from_millis(10))
        .enable_all()
        .build()
        .expect("failed to build the runtime");
    let mut ok = true;

    // 1. Work spread across the workers.
    let per_thread = rt.block_on(async {
        let seen = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
        let mut set = runtime::task::JoinSet::new();
        for _ in 0..64 {
            let seen = seen.clone();
            set.spawn(async move {
                spin_for(Duration::from_micros(200));
                let name = format!("{:?}", thread::current().id());
                *seen.lock().unwrap().entry(name).or_default() += 1;
            });
        }
        while let Some(res) = set.join_next().await {
            res.expect("task failed");
        }
        Arc::try_unwrap(seen).unwrap().into_inner().unwrap()
    });
    println!(
        "1. 64 tasks ran on {} worker threads: {:?}",
        per_thread.len(),
        per_thread.values().collect::<Vec<_>>()
    );
    ok &= !per_thread.is_empty();

    // 2. Hand-off: a producer wakes a consumer, then keeps its worker busy for 20 ms in the
    //    same poll. The woken consumer sits in that worker's next slot; the monitor sees the
    //    long poll and hands the consumer to the idle worker.
    let handoffs_before = rt.handle().handoff_count();
    let latency = rt.block_on(async {
        let (tx, rx) = oneshot::channel::<Instant>();
        let consumer = runtime::spawn(async move {
            let sent_at = rx.await.expect("producer dropped the sender");
            sent_at.elapsed()
        });
        // Let the consumer reach its await first.
        runtime::task::yield_now().await;
        thread::sleep(Duration::from_millis(5));
        runtime::spawn(async move {
            tx.send(Instant::now()).expect("consumer is gone");
            spin_for(Duration::from_millis(20));
        });
        consumer.await.expect("consumer failed")
    });
    let handoffs = rt.handle().handoff_count() - handoffs_before;
    println!(
        "2. consumer woken by a producer that then spun 20 ms started after {:.3} ms ({} hand-off(s) by the monitor)",
        latency.as_secs_f64() * 1e3,
        handoffs
    );
    if latency >= Duration::from_millis(20) {
        println!("   unexpected: the consumer waited for the producer's poll to end");
        ok = false;
    }

    // 3. Stall detection: a named task blocks its worker for 30 ms.
    rt.block_on(async {
        let stuck = runtime::task::Builder::new()
            .name("sleepy-request-handler")
            .spawn(async { thread::sleep(Duration::from_millis(30)) })
            .expect("spawn failed");
        stuck.await.expect("task failed");
    });
    let reports = rt.handle().stall_reports();
    for r in &reports {
        println!(
            "3. stall detected: task {} {:?} spawned at {} blocked worker {} for {:.1} ms (finished: {})",
            r.task_id,
            r.task_name.as_deref().unwrap_or("<unnamed>"),
            r.spawned_at.map_or_else(|| "?".to_string(), |l| l.to_string()),
            r.worker,
            r.duration.as_secs_f64() * 1e3,
            r.finished
        );
    }
    let found = reports
        .iter()
        .any(|r| r.task_name.as_deref() == Some("sleepy-request-handler"));
    if !found {
        println!("3. unexpected: the 30 ms stall was not reported");
        ok = false;
    }

    // 4. Timers: 200 sleeps of 1..=20 ms (never early; lateness measured against the exact
    //    deadline), and a timeout.
    let (mut lateness, timed_out) = rt.block_on(async {
        let mut set = runtime::task::JoinSet::new();
        for i in 0..200u64 {
            set.spawn(async move {
                let duration = Duration::from_micros(1_000 + (i * 7_919) % 19_000);
                let start = Instant::now();
                runtime::time::sleep(duration).await;
                start.elapsed().checked_sub(duration)
            });
        }
        let mut lateness = Vec::new();
        while let Some(res) = set.join_next().await {
            lateness.push(res.expect("sleep task failed"));
        }
        let timed_out =
            runtime::time::timeout(Duration::from_millis(5), std::future::pending::<()>())
                .await
                .is_err();
        (lateness, timed_out)
    });
    let early = lateness.iter().filter(|l| l.is_none()).count();
    lateness.sort();
    let p = |q: f64| lateness[((lateness.len() - 1) as f64 * q) as usize].unwrap_or_default();
    println!(
        "4. 200 sleeps of 1-20 ms: {early} early, lateness p50 {:.3} ms, p99 {:.3} ms; \
         a 5 ms timeout around a pending future fired: {timed_out}",
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3,
    );
    ok &= early == 0 && timed_out;

    // 5. A paused clock on a multi-thread runtime: 1000 tasks sleep for minutes to hours of
    //    virtual time; the idle runtime jumps from timer to timer.
    let paused = runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .start_paused(true)
        .build()
        .expect("failed to build the paused runtime");
    let real_start = Instant::now();
    let exact = paused.block_on(async {
        let start = runtime::time::Instant::now();
        let mut set = runtime::task::JoinSet::new();
        for i in 0..1000u64 {
            set.spawn(async move {
                let duration = Duration::from_secs(60 + (i * 7_919) % 86_400);
                runtime::time::sleep(duration).await;
                runtime::time::Instant::now() - start == duration
            });
        }
        let mut exact = 0;
        while let Some(res) = set.join_next().await {
            exact += usize::from(res.expect("paused sleep task failed"));
        }
        exact
    });
    println!(
        "5. paused clock: 1000 sleeps over a virtual day finished in {:.1} ms of real time, \
         {exact} of 1000 woke at exactly their virtual deadline",
        real_start.elapsed().as_secs_f64() * 1e3
    );
    ok &= exact == 1000;
    drop(paused);

    drop(rt);
    if ok {
        println!("demo finished: all steps behaved as expected");
    } else {
        println!("demo finished with unexpected results");
        std::process::exit(1);
    }
}
