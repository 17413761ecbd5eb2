//! Helpers shared by the integration tests in `tests/*.rs`: hang detection (`watchdog`),
//! polling (`wait_until`, `yield_until`), busy polls (`spin_for`), thread counting through
//! `/proc/self/task/*/comm` (Linux only), building runtimes of each flavor (with or without
//! the time driver, clock running or paused), drop observers, a counting waker, a seeded
//! pseudo-random generator, panic payloads and environment-variable guards.
//!
//! Each test file is its own crate and includes this module with `mod support;` (a file in a
//! subdirectory, so Cargo does not build it as a test binary of its own).

// Each test binary uses only a subset of these helpers; the rest would be reported as unused.
#![allow(dead_code)]

use runtime::{Builder, Runtime, RuntimeFlavor};
use std::any::Any;
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier};
use std::task::Waker;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Hangs, waiting and busy polls
// ---------------------------------------------------------------------------------------------

/// Runs `f` on its own thread and returns its result; fails the test if `f` does not return
/// within `secs` (a hang detector: the hung thread is leaked and the test fails with a message
/// naming `what` instead of hanging). A panic in `f` is propagated as is.
pub fn watchdog<T: Send + 'static>(
    what: &str,
    secs: u64,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let _tx = tx; // dropped when `f` returns or panics: the receiver sees Disconnected
        f()
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) | Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(RecvTimeoutError::Timeout) => {
            panic!("watchdog: {what} did not finish within {secs} s (deadlock or starvation?)")
        }
    }
}

/// Polls `cond` every millisecond until it holds; panics naming `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Yields (to the runtime and to the OS) until `cond` holds. For conditions the runtime is
/// guaranteed to make true shortly; a hang here is the failure mode.
pub async fn yield_until(mut cond: impl FnMut() -> bool) {
    while !cond() {
        runtime::task::yield_now().await;
        std::thread::yield_now();
    }
}

/// Busy-waits for `d` without yielding: inside a task, a poll that does not return.
pub fn spin_for(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

// ---------------------------------------------------------------------------------------------
// Threads (Linux `/proc`)
// ---------------------------------------------------------------------------------------------

/// Linux thread ids of this process's threads whose name (`comm`, at most 15 bytes) is exactly
/// `name`. A thread that exits between listing and reading its name is skipped.
pub fn tids_named(name: &str) -> Vec<String> {
    let mut tids = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").expect("/proc/self/task (Linux only)") {
        let entry = entry.unwrap();
        if let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) {
            if comm.trim_end_matches('\n') == name {
                tids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    tids
}

/// Number of this process's threads named exactly `name` (see [`tids_named`]).
pub fn threads_named(name: &str) -> usize {
    tids_named(name).len()
}

/// Runs `n` blocking closures of `rt` at once (a barrier keeps them all in flight) and waits
/// for them, so that the blocking pool has at least `n` threads afterwards.
pub fn occupy_blocking_threads(rt: &Runtime, n: usize) {
    let barrier = Arc::new(Barrier::new(n + 1));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let b = barrier.clone();
            rt.spawn_blocking(move || {
                b.wait();
            })
        })
        .collect();
    barrier.wait();
    for h in handles {
        futures::executor::block_on(h).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Runtimes
// ---------------------------------------------------------------------------------------------

/// A multi-thread runtime with `workers` worker threads.
pub fn multi_thread(workers: usize) -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
        .expect("building a multi-thread runtime")
}

/// A current-thread runtime.
pub fn current_thread() -> Runtime {
    Builder::new_current_thread()
        .build()
        .expect("building a current-thread runtime")
}

/// Runs `f` with a fresh 2-worker multi-thread runtime, then with a fresh current-thread
/// runtime (each dropped after its call). The flavor is passed along so that failures say
/// which one broke.
pub fn on_both_flavors(f: impl Fn(&Runtime, RuntimeFlavor)) {
    on_both_flavors_owned(|rt, flavor| f(&rt, flavor));
}

/// [`on_both_flavors`] under a 60 s [`watchdog`] named `what`: a hang fails the test.
pub fn both_flavors_watched(
    what: &'static str,
    f: impl Fn(&Runtime, RuntimeFlavor) + Send + 'static,
) {
    watchdog(what, 60, move || on_both_flavors(f));
}

/// Like [`on_both_flavors`], but hands over ownership of the runtime (for tests that drop or
/// shut it down themselves).
pub fn on_both_flavors_owned(f: impl Fn(Runtime, RuntimeFlavor)) {
    f(multi_thread(2), RuntimeFlavor::MultiThread);
    f(current_thread(), RuntimeFlavor::CurrentThread);
}

/// A runtime flavor for tests that loop over both and build their runtimes with
/// [`build`] / [`build_named`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Multi,
    Current,
}

impl Flavor {
    /// Both flavors, multi-thread first.
    pub const BOTH: [Flavor; 2] = [Flavor::Multi, Flavor::Current];

    /// A builder of this flavor; the multi-thread one has 2 worker threads (set explicitly, so
    /// `RUNTIME_WORKER_THREADS` does not apply).
    pub fn builder(self) -> Builder {
        match self {
            Flavor::Multi => {
                let mut b = Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
            Flavor::Current => Builder::new_current_thread(),
        }
    }
}

/// A runtime of `flavor` (see [`Flavor::builder`]).
pub fn build(flavor: Flavor) -> Runtime {
    flavor.builder().build().unwrap()
}

/// A runtime of `flavor` with the time driver (see [`Flavor::builder`]).
pub fn build_timed(flavor: Flavor) -> Runtime {
    flavor.builder().enable_time().build().unwrap()
}

/// A runtime of `flavor` with the time driver and its clock paused from the start.
pub fn build_paused(flavor: Flavor) -> Runtime {
    flavor
        .builder()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Runs `future` as a spawned task of a fresh paused-clock runtime of `flavor` (see
/// [`build_paused`]) and returns its output.
///
/// A task rather than the `block_on` future itself, so that the body runs on a runtime thread
/// of either flavor (the `block_on` thread's own case is covered in `tests/time_pause.rs`).
pub fn run_paused<F>(flavor: Flavor, future: F) -> F::Output
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = build_paused(flavor);
    rt.block_on(async move { runtime::spawn(future).await.unwrap() })
}

/// A runtime of `flavor` whose threads are named `name` (see [`Flavor::builder`]).
pub fn build_named(flavor: Flavor, name: &str) -> Runtime {
    flavor.builder().thread_name(name).build().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Drop observers, panics, environment
// ---------------------------------------------------------------------------------------------

/// Increments its counter when dropped (one per guard): observes a task's future being dropped.
pub struct CountDrop(pub Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Sets its flag when dropped: observes that a task's future was dropped.
pub struct DropFlag(pub Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// A [`DropFlag`] guard and the flag it sets (initially false).
pub fn drop_flag() -> (DropFlag, Arc<AtomicBool>) {
    let flag = Arc::new(AtomicBool::new(false));
    (DropFlag(flag.clone()), flag)
}

/// A waker that counts its wakes, and the counter.
pub fn counting_waker() -> (Waker, Arc<AtomicUsize>) {
    struct Counter(Arc<AtomicUsize>);
    impl futures::task::ArcWake for Counter {
        fn wake_by_ref(arc_self: &Arc<Self>) {
            arc_self.0.fetch_add(1, SeqCst);
        }
    }
    let count = Arc::new(AtomicUsize::new(0));
    (
        futures::task::waker(Arc::new(Counter(count.clone()))),
        count,
    )
}

/// A small seeded pseudo-random generator (SplitMix64): the same seed gives the same sequence,
/// so randomized tests are reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `range` (inclusive), nearly uniform.
    pub fn in_range(&mut self, range: std::ops::RangeInclusive<u64>) -> u64 {
        let span = range.end() - range.start() + 1;
        range.start() + self.next_u64() % span
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.in_range(0..=i as u64) as usize;
            items.swap(i, j);
        }
    }
}

/// The message of a panic payload, if it is a `&str` or a `String` (what `panic!` produces).
pub fn panic_payload_str(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Restores an environment variable to the value it had when the guard was made (or unsets
/// it) when dropped, even if the test fails. Environment variables are process-global: tests
/// that change one must also serialize among themselves.
pub struct EnvVarGuard {
    name: &'static str,
    saved: Option<OsString>,
}

impl EnvVarGuard {
    /// Remembers the current value of `name`, to be restored on drop.
    pub fn save(name: &'static str) -> EnvVarGuard {
        EnvVarGuard {
            name,
            saved: std::env::var_os(name),
        }
    }

    /// Sets `name` to `value` until the guard is dropped.
    pub fn set(name: &'static str, value: &str) -> EnvVarGuard {
        let guard = EnvVarGuard::save(name);
        std::env::set_var(name, value);
        guard
    }
}

impl Drop for EnvVarGuard {
    fn drop(&mut self) {
        match self.saved.take() {
            Some(v) => std::env::set_var(self.name, v),
            None => std::env::remove_var(self.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Futures for the macro tests
// ---------------------------------------------------------------------------------------------

/// Returns `Pending` (waking itself) `pending_polls` times, recording `id` in `log` on every
/// poll, then completes with `id`.
pub struct Recorder {
    id: usize,
    pending_polls: usize,
    log: std::rc::Rc<std::cell::RefCell<Vec<usize>>>,
}

impl std::future::Future for Recorder {
    type Output = usize;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<usize> {
        self.log.borrow_mut().push(self.id);
        if self.pending_polls == 0 {
            return std::task::Poll::Ready(self.id);
        }
        self.pending_polls -= 1;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

pub fn recorder(
    id: usize,
    pending_polls: usize,
    log: &std::rc::Rc<std::cell::RefCell<Vec<usize>>>,
) -> Recorder {
    Recorder {
        id,
        pending_polls,
        log: log.clone(),
    }
}
