//! `runtime::Builder`: every setter is accepted, rejects impossible values with a panic naming
//! the setting, and has its effect where observable: thread names (`thread_name`,
//! `thread_name_fn`, monitor `<name>-monitor`), `thread_stack_size`, `max_blocking_threads`,
//! `thread_keep_alive`, park/unpark callbacks, `stall_threshold`, `handoff_threshold`, and the
//! flavor reported by `runtime_flavor`.
//!
//! Thread counts read `/proc/self/task/*/comm` (Linux), with unique names of at most 7 chars.

mod support;

use futures::channel::oneshot;
use runtime::{Builder, Handle, Runtime, RuntimeFlavor};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{occupy_blocking_threads, spin_for, threads_named, wait_until, watchdog};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn thread_name() -> Option<String> {
    std::thread::current().name().map(String::from)
}

// ---------------------------------------------------------------------------------------------
// Flavors
// ---------------------------------------------------------------------------------------------

#[test]
fn runtime_flavor_matches_the_builder() {
    let mt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    assert_eq!(mt.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
    let inside = mt.block_on(async {
        let from_block_on = Handle::current().runtime_flavor();
        let from_task = runtime::spawn(async { Handle::current().runtime_flavor() })
            .await
            .unwrap();
        (from_block_on, from_task)
    });
    assert_eq!(
        inside,
        (RuntimeFlavor::MultiThread, RuntimeFlavor::MultiThread)
    );

    let ct = Builder::new_current_thread().build().unwrap();
    assert_eq!(ct.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    let inside = ct.block_on(async {
        let from_block_on = Handle::current().runtime_flavor();
        let from_task = runtime::spawn(async { Handle::current().runtime_flavor() })
            .await
            .unwrap();
        (from_block_on, from_task)
    });
    assert_eq!(
        inside,
        (RuntimeFlavor::CurrentThread, RuntimeFlavor::CurrentThread)
    );

    // worker_threads is accepted (and ignored) by a current-thread builder.
    let ct = Builder::new_current_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    assert_eq!(ct.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
    assert_eq!(ct.block_on(async { 7 }), 7);

    let default = Runtime::new().unwrap();
    assert_eq!(
        default.handle().runtime_flavor(),
        RuntimeFlavor::MultiThread
    );
    assert!(
        Handle::try_current().is_err(),
        "no runtime is entered outside block_on"
    );
}

#[test]
fn every_setter_is_accepted_and_the_runtime_works() {
    for multi in [true, false] {
        let mut b = if multi {
            Builder::new_multi_thread()
        } else {
            Builder::new_current_thread()
        };
        b.worker_threads(2)
            .max_blocking_threads(3)
            .thread_name("bld-all")
            .thread_name_fn(|| "bld-all2".to_string())
            .thread_stack_size(1 << 20)
            .thread_keep_alive(Duration::from_secs(1))
            .on_thread_start(|| {})
            .on_thread_stop(|| {})
            .on_thread_park(|| {})
            .on_thread_unpark(|| {})
            .event_interval(7)
            .global_queue_interval(11)
            .stall_threshold(Duration::from_millis(50))
            .handoff_threshold(Duration::from_micros(200));
        let dbg = format!("{b:?}");
        assert!(dbg.contains("Builder"), "{dbg}");
        assert!(
            dbg.contains("event_interval: 7"),
            "Debug shows the settings: {dbg}"
        );
        let rt = b.build().unwrap();
        let out = rt.block_on(async {
            let a = runtime::spawn(async { 20 });
            let b = runtime::task::spawn_blocking(|| 22);
            a.await.unwrap() + b.await.unwrap()
        });
        assert_eq!(out, 42, "multi={multi}");
    }
}

// Invalid values (0 workers, 0 blocking threads, 0 intervals): tests/misuse.rs.

// ---------------------------------------------------------------------------------------------
// Thread names
// ---------------------------------------------------------------------------------------------

#[test]
fn thread_name_names_workers_blocking_threads_and_monitor() {
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bld-nm")
        .build()
        .unwrap();
    let (task, blocking) = rt.block_on(async {
        let task = runtime::spawn(async { thread_name() }).await.unwrap();
        let blocking = runtime::task::spawn_blocking(thread_name).await.unwrap();
        (task, blocking)
    });
    assert_eq!(task.as_deref(), Some("bld-nm"), "worker thread name");
    assert_eq!(blocking.as_deref(), Some("bld-nm"), "blocking thread name");
    wait_until("the monitor is named", Duration::from_secs(5), || {
        threads_named("bld-nm-monitor") == 1
    });
    drop(rt);

    let ct = Builder::new_current_thread()
        .thread_name("bld-nmc")
        .build()
        .unwrap();
    let blocking = ct.block_on(async { runtime::task::spawn_blocking(thread_name).await.unwrap() });
    assert_eq!(
        blocking.as_deref(),
        Some("bld-nmc"),
        "current-thread blocking thread name"
    );
}

#[test]
fn default_thread_name() {
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let name = rt.block_on(async { runtime::spawn(async { thread_name() }).await.unwrap() });
    assert_eq!(name.as_deref(), Some("runtime-worker"));
}

#[test]
fn thread_name_fn_is_called_for_each_thread() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name_fn(move || format!("bfn-{}", c.fetch_add(1, SeqCst)))
        .build()
        .unwrap();
    let names = Arc::new(Mutex::new(HashSet::new()));
    let n = names.clone();
    rt.block_on(async move {
        let hs: Vec<_> = (0..100)
            .map(|_| {
                let n = n.clone();
                runtime::spawn(async move {
                    spin_for(Duration::from_micros(50));
                    n.lock().unwrap().insert(thread_name().unwrap_or_default());
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        let blocking = runtime::task::spawn_blocking(thread_name).await.unwrap();
        n.lock().unwrap().insert(blocking.unwrap_or_default());
    });
    // Two workers + the monitor + one blocking thread, each named once.
    assert_eq!(calls.load(SeqCst), 4, "thread_name_fn calls");
    let names = names.lock().unwrap();
    assert!(!names.is_empty());
    for name in names.iter() {
        assert!(
            name.starts_with("bfn-"),
            "thread named {name:?}, not by thread_name_fn"
        );
    }
    // The monitor is `<fn()>-monitor`: exactly one of bfn-0..3 gets the suffix.
    let monitors: usize = (0..4)
        .map(|i| threads_named(&format!("bfn-{i}-monitor")))
        .sum();
    assert_eq!(monitors, 1, "one monitor thread named by thread_name_fn");
}

// ---------------------------------------------------------------------------------------------
// Stack size
// ---------------------------------------------------------------------------------------------

/// Uses `depth` frames of about 2 KiB each (debug build: the buffer plus its `black_box` copy).
#[inline(never)]
fn recurse(depth: usize) -> usize {
    let buf = std::hint::black_box([depth as u8; 1024]);
    if depth == 0 {
        return 0;
    }
    let below = recurse(depth - 1);
    below + usize::from(std::hint::black_box(&buf)[1023] > 0)
}

/// About 2.5 MiB of recursion in a debug build: more than std's 2 MiB default, fine with 4 MiB.
/// (If the setting were ignored the process would abort on a stack overflow.)
#[test]
fn thread_stack_size_allows_deep_recursion() {
    const DEPTH: usize = 1200;
    let expected = (1..=DEPTH).filter(|d| d % 256 != 0).count();
    let rt = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_stack_size(4 << 20)
        .build()
        .unwrap();
    let (in_task, in_blocking) = rt.block_on(async {
        let a = runtime::spawn(async { recurse(DEPTH) }).await.unwrap();
        let b = runtime::task::spawn_blocking(|| recurse(DEPTH))
            .await
            .unwrap();
        (a, b)
    });
    assert_eq!(in_task, expected);
    assert_eq!(in_blocking, in_task);

    let ct = Builder::new_current_thread()
        .thread_stack_size(4 << 20)
        .build()
        .unwrap();
    let in_blocking = ct.block_on(async {
        runtime::task::spawn_blocking(|| recurse(DEPTH))
            .await
            .unwrap()
    });
    assert_eq!(in_blocking, in_task);
}

// ---------------------------------------------------------------------------------------------
// Blocking pool settings
// ---------------------------------------------------------------------------------------------

/// Runs 4 blocking closures of 30 ms; returns (max concurrency, distinct threads).
fn blocking_concurrency(max_blocking_threads: usize) -> (usize, usize) {
    let rt = Builder::new_current_thread()
        .max_blocking_threads(max_blocking_threads)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let threads = Arc::new(Mutex::new(HashSet::new()));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (running, max, threads) = (running.clone(), max.clone(), threads.clone());
            rt.spawn_blocking(move || {
                let now = running.fetch_add(1, SeqCst) + 1;
                max.fetch_max(now, SeqCst);
                threads.lock().unwrap().insert(std::thread::current().id());
                std::thread::sleep(Duration::from_millis(30));
                running.fetch_sub(1, SeqCst);
            })
        })
        .collect();
    rt.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    let distinct = threads.lock().unwrap().len();
    (max.load(SeqCst), distinct)
}

#[test]
fn max_blocking_threads_1_serializes_spawn_blocking() {
    let (max, threads) = watchdog("max_blocking_threads(1)", 10, || blocking_concurrency(1));
    assert_eq!(
        max, 1,
        "two blocking closures overlapped with max_blocking_threads(1)"
    );
    assert_eq!(threads, 1, "one blocking thread ran everything");
    // Control: with 2 allowed the same workload does overlap.
    let (max, _) = watchdog("max_blocking_threads(2)", 10, || blocking_concurrency(2));
    assert_eq!(max, 2, "4 x 30 ms closures with 2 threads allowed");
}

#[test]
fn thread_keep_alive_lets_idle_blocking_threads_exit() {
    // Current-thread: the only threads named bld-ka are blocking threads.
    let rt = Builder::new_current_thread()
        .thread_name("bld-ka")
        .thread_keep_alive(Duration::from_millis(50))
        .build()
        .unwrap();
    occupy_blocking_threads(&rt, 3);
    assert!(
        threads_named("bld-ka") >= 1,
        "blocking threads exist while busy or just after"
    );
    wait_until(
        "idle blocking threads exited",
        Duration::from_secs(3),
        || threads_named("bld-ka") == 0,
    );
    // The pool starts new threads afterwards.
    let v = rt.block_on(async { runtime::task::spawn_blocking(|| 5).await.unwrap() });
    assert_eq!(v, 5);

    // Control: with the default keep-alive (10 s) idle threads stay.
    let rt = Builder::new_current_thread()
        .thread_name("bld-kad")
        .build()
        .unwrap();
    occupy_blocking_threads(&rt, 3);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        threads_named("bld-kad"),
        3,
        "idle blocking threads kept by the default keep-alive"
    );
}

// ---------------------------------------------------------------------------------------------
// Park / unpark callbacks
// ---------------------------------------------------------------------------------------------

struct ParkCounts {
    park: Arc<AtomicUsize>,
    unpark: Arc<AtomicUsize>,
    names: Arc<Mutex<HashSet<String>>>,
}

fn park_counts(b: &mut Builder) -> ParkCounts {
    let pc = ParkCounts {
        park: Arc::new(AtomicUsize::new(0)),
        unpark: Arc::new(AtomicUsize::new(0)),
        names: Arc::new(Mutex::new(HashSet::new())),
    };
    let (p, n) = (pc.park.clone(), pc.names.clone());
    let u = pc.unpark.clone();
    b.on_thread_park(move || {
        p.fetch_add(1, SeqCst);
        n.lock().unwrap().insert(thread_name().unwrap_or_default());
    })
    .on_thread_unpark(move || {
        u.fetch_add(1, SeqCst);
    });
    pc
}

#[test]
fn on_thread_park_and_unpark_multi_thread() {
    let mut b = Builder::new_multi_thread();
    b.worker_threads(2).thread_name("bld-pk");
    let pc = park_counts(&mut b);
    let rt = b.build().unwrap();
    // Idle workers park.
    wait_until("both workers parked", Duration::from_secs(5), || {
        pc.park.load(SeqCst) >= 2
    });
    let unparks_before = pc.unpark.load(SeqCst);
    // Waking one up for a task unparks it.
    let handle = rt.handle().clone();
    std::thread::spawn(move || {
        let (tx, rx) = mpsc::channel();
        handle.spawn(async move { tx.send(()).unwrap() });
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    })
    .join()
    .unwrap();
    wait_until("a worker unparked", Duration::from_secs(5), || {
        pc.unpark.load(SeqCst) > unparks_before
    });
    drop(rt);
    let (park, unpark) = (pc.park.load(SeqCst), pc.unpark.load(SeqCst));
    assert!(
        park >= unpark && park - unpark <= 2,
        "unbalanced: {park} parks, {unpark} unparks"
    );
    let names = pc.names.lock().unwrap();
    assert!(
        names.iter().all(|n| n == "bld-pk"),
        "only workers call on_thread_park: {names:?}"
    );
}

#[test]
fn on_thread_park_and_unpark_current_thread() {
    let mut b = Builder::new_current_thread();
    let pc = park_counts(&mut b);
    let rt = b.build().unwrap();
    let (tx, rx) = oneshot::channel::<u32>();
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        tx.send(9).unwrap();
    });
    let v = rt.block_on(async { rx.await.unwrap() });
    sender.join().unwrap();
    assert_eq!(v, 9);
    let (park, unpark) = (pc.park.load(SeqCst), pc.unpark.load(SeqCst));
    assert!(park >= 1, "block_on waited 20 ms: the thread parked");
    assert_eq!(
        park, unpark,
        "block_on returned: every park was followed by an unpark"
    );
}

// ---------------------------------------------------------------------------------------------
// Monitor thresholds
// ---------------------------------------------------------------------------------------------

/// Spawns a task that sleeps 30 ms inside one poll; returns how many stall reports name it.
fn stalls_of_a_30ms_poll(b: &mut Builder) -> usize {
    let rt = b.worker_threads(2).build().unwrap();
    let h = rt.spawn(async { std::thread::sleep(Duration::from_millis(30)) });
    let id = h.id();
    rt.block_on(h).unwrap();
    rt.handle()
        .stall_reports()
        .iter()
        .filter(|r| r.task_id == id)
        .count()
}

#[test]
fn stall_threshold_is_respected() {
    let high =
        stalls_of_a_30ms_poll(Builder::new_multi_thread().stall_threshold(Duration::from_secs(10)));
    assert_eq!(
        high, 0,
        "a 30 ms poll is no stall with stall_threshold(10s)"
    );
    let low = stalls_of_a_30ms_poll(
        Builder::new_multi_thread().stall_threshold(Duration::from_millis(5)),
    );
    assert_eq!(low, 1, "a 30 ms poll is a stall with stall_threshold(5ms)");
}

/// With a hand-off threshold far above the poll length, a task woken into the stuck worker's
/// next slot waits for that poll to end (the converse of the monitor's hand-off test).
#[test]
fn handoff_threshold_is_respected() {
    watchdog("handoff_threshold(10s)", 20, || {
        let rt = Builder::new_multi_thread()
            .worker_threads(2)
            .handoff_threshold(Duration::from_secs(10))
            .build()
            .unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let waiting = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let w = waiting.clone();
        let b = rt.spawn(async move {
            w.store(true, SeqCst);
            rx.await.unwrap();
            Instant::now()
        });
        wait_until("B waits", Duration::from_secs(5), || waiting.load(SeqCst));
        std::thread::sleep(Duration::from_millis(10));
        let a = rt.spawn(async move {
            tx.send(()).unwrap();
            spin_for(Duration::from_millis(50));
            Instant::now()
        });
        let (b_start, a_end) = rt.block_on(async { (b.await.unwrap(), a.await.unwrap()) });
        assert!(
            b_start >= a_end,
            "B ran before A's poll ended although no hand-off was due"
        );
        assert_eq!(rt.handle().handoff_count(), 0);
    });
}
