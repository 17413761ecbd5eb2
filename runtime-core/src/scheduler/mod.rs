//! The schedulers and the runtime object that owns one.
//!
//! * [`Config`]: everything the facade's `Builder` decides (threads, intervals, callbacks,
//!   monitor thresholds, context providers).
//! * [`Handle`]: a cheap, cloneable reference to a running scheduler (either flavor), used to
//!   spawn, enter, and block on.
//! * [`Runtime`]: owns the scheduler threads, the blocking pool and the driver; `block_on`,
//!   shutdown.
//! * `multi_thread`: work-stealing workers + the monitor/driver thread.
//! * `current_thread`: one thread runs tasks and parks on the driver itself.

mod block_on;
pub(crate) mod current_thread;
pub(crate) mod multi_thread;
mod runtime;

pub use multi_thread::StallReport;
pub use runtime::Runtime;

use crate::blocking;
use crate::context::{self, ContextProvider, SetCurrentGuard, TryCurrentError};
use crate::park::{Parker, Unpark};
use crate::task::core::TaskMeta;
use crate::task::{Id, JoinHandle};
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::task::Context as TaskContext;
use std::time::Duration;

/// A thread lifecycle callback (`on_thread_start`, `on_thread_park`, ...).
pub type Callback = Arc<dyn Fn() + Send + Sync>;

/// Names runtime threads.
pub type ThreadNameFn = Arc<dyn Fn() -> String + Send + Sync>;

/// Scheduler configuration, filled in by the facade's `Builder`.
#[derive(Clone)]
pub struct Config {
    /// Number of worker threads (multi-thread flavor). Must be > 0.
    pub worker_threads: usize,
    /// Cap on blocking-pool threads. Must be > 0.
    pub max_blocking_threads: usize,
    /// Names worker, monitor and blocking threads.
    pub thread_name: ThreadNameFn,
    /// Stack size of runtime threads (`None`: std's default).
    pub thread_stack_size: Option<usize>,
    /// How long an idle blocking thread waits for work before it exits.
    pub thread_keep_alive: Duration,
    /// Runs on every runtime thread after it starts.
    pub on_thread_start: Option<Callback>,
    /// Runs on every runtime thread before it stops.
    pub on_thread_stop: Option<Callback>,
    /// Runs before a worker parks.
    pub on_thread_park: Option<Callback>,
    /// Runs after a worker unparks.
    pub on_thread_unpark: Option<Callback>,
    /// Ticks between polls of the driver (current-thread) / maintenance (multi-thread).
    pub event_interval: u32,
    /// Ticks between checks of the global queue ahead of local work.
    pub global_queue_interval: u32,
    /// A poll longer than this is reported as a stall (multi-thread monitor).
    pub stall_threshold: Duration,
    /// A worker inside one poll longer than this has its waiting work handed to others.
    pub handoff_threshold: Duration,
    /// Driver contexts entered on every runtime thread.
    pub context_providers: Vec<ContextProvider>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            worker_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_blocking_threads: 512,
            thread_name: Arc::new(|| "runtime-worker".to_string()),
            thread_stack_size: None,
            thread_keep_alive: Duration::from_secs(10),
            on_thread_start: None,
            on_thread_stop: None,
            on_thread_park: None,
            on_thread_unpark: None,
            event_interval: 61,
            global_queue_interval: 61,
            stall_threshold: Duration::from_millis(10),
            handoff_threshold: Duration::from_micros(100),
            context_providers: Vec::new(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("worker_threads", &self.worker_threads)
            .field("max_blocking_threads", &self.max_blocking_threads)
            .field("thread_stack_size", &self.thread_stack_size)
            .field("thread_keep_alive", &self.thread_keep_alive)
            .field("event_interval", &self.event_interval)
            .field("global_queue_interval", &self.global_queue_interval)
            .field("stall_threshold", &self.stall_threshold)
            .field("handoff_threshold", &self.handoff_threshold)
            .finish_non_exhaustive()
    }
}

/// State every flavor's handle carries.
pub(crate) struct Common {
    pub(crate) config: Config,
    pub(crate) blocking: blocking::Spawner,
    /// `Handle::block_on` calls (on threads that do not drive the runtime) that are polling
    /// or have been woken: see `block_on.rs`.
    pub(crate) block_on: Arc<block_on::BlockOnCount>,
}

impl Common {
    /// `driver` wakes the thread parked on the runtime's driver stack.
    pub(crate) fn new(
        config: Config,
        blocking: blocking::Spawner,
        driver: Arc<dyn Unpark>,
    ) -> Common {
        Common {
            config,
            blocking,
            block_on: Arc::new(block_on::BlockOnCount::new(driver)),
        }
    }
}

/// The flavor of a runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RuntimeFlavor {
    /// Everything runs on the thread that calls `block_on`.
    CurrentThread,
    /// Work-stealing worker threads plus a monitor/driver thread.
    MultiThread,
}

/// A handle to a running runtime: spawn onto it, enter it, block on it.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let handle = rt.handle().clone();
/// let out = std::thread::spawn(move || {
///     handle.block_on(async { runtime::spawn(async { 1 }).await.unwrap() })
/// })
/// .join()
/// .unwrap();
/// assert_eq!(out, 1);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Kind,
}

#[derive(Clone)]
pub(crate) enum Kind {
    MultiThread(Arc<multi_thread::Handle>),
    CurrentThread(Arc<current_thread::Handle>),
}

/// The scheduler running on this thread (set while a worker or `block_on` core runs).
pub(crate) enum Context {
    MultiThread(multi_thread::worker::Context),
    CurrentThread(current_thread::Context),
}

/// Leaves the runtime context when dropped (see [`Handle::enter`]).
#[must_use = "the runtime is only entered while the guard is alive"]
pub struct EnterGuard<'a> {
    _guard: SetCurrentGuard,
    _handle: std::marker::PhantomData<&'a Handle>,
}

impl fmt::Debug for EnterGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

const CURRENT_OUTSIDE: &str = "Handle::current() called outside of a runtime: call it from within \
Runtime::block_on, a spawned task or a #[runtime::main] function, or enter a runtime first with \
Runtime::enter() / Handle::enter()";

impl Handle {
    /// The handle of the runtime entered on this thread.
    ///
    /// # Panics
    ///
    /// Outside a runtime, with a message saying how to enter one; use
    /// [`try_current`](Self::try_current) to get an error instead.
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(handle) => handle,
            Err(TryCurrentError::NoContext) => panic!("{CURRENT_OUTSIDE}"),
            Err(e) => panic!("Handle::current() failed: {e}"),
        }
    }

    /// The handle of the runtime entered on this thread, or why there is none.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        context::with_current(Handle::clone)
    }

    /// Enters the runtime on this thread until the guard drops, so that `spawn`,
    /// `Handle::current` and the drivers work from plain (non-runtime) code.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard {
            _guard: context::set_current(self),
            _handle: std::marker::PhantomData,
        }
    }

    /// The runtime's flavor.
    pub fn runtime_flavor(&self) -> RuntimeFlavor {
        match self.inner {
            Kind::MultiThread(_) => RuntimeFlavor::MultiThread,
            Kind::CurrentThread(_) => RuntimeFlavor::CurrentThread,
        }
    }

    /// Spawns a future onto this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = TaskMeta::unnamed();
        self.spawn_with(future, meta)
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = TaskMeta::unnamed();
        self.spawn_blocking_with(f, meta)
    }

    pub(crate) fn spawn_with<F>(&self, future: F, meta: TaskMeta) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = Id::next();
        match &self.inner {
            Kind::MultiThread(h) => crate::task::spawn_listed(&h.shared.owned, h, future, id, meta),
            Kind::CurrentThread(h) => crate::task::spawn_listed(&h.owned, h, future, id, meta),
        }
    }

    pub(crate) fn spawn_blocking_with<F, R>(&self, f: F, meta: TaskMeta) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        blocking::spawn_blocking(self, f, meta)
    }

    /// Runs `future` to completion on the current thread, with this runtime entered.
    ///
    /// Unlike [`Runtime::block_on`], on a current-thread runtime this does not drive the
    /// runtime's tasks: some other thread must be inside `Runtime::block_on` for spawned
    /// tasks (and, later, timers and I/O) to make progress.
    ///
    /// # Panics
    ///
    /// When called from inside a runtime (a task or another `block_on`): blocking there would
    /// stall a thread that drives tasks. Use `spawn_blocking` or `block_in_place` instead.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        let _rt = context::enter_runtime();
        let _enter = self.enter();
        block_on::block_on_counted(future, &self.common().block_on)
    }

    /// Recent stalls (polls longer than the stall threshold) seen by the monitor, oldest first.
    /// Always empty on a current-thread runtime, which has no monitor.
    pub fn stall_reports(&self) -> Vec<StallReport> {
        match &self.inner {
            Kind::MultiThread(h) => h.stall_reports(),
            Kind::CurrentThread(_) => Vec::new(),
        }
    }

    /// How many times the monitor moved work away from a worker stuck in a long poll.
    pub fn handoff_count(&self) -> u64 {
        match &self.inner {
            Kind::MultiThread(h) => h.handoff_count(),
            Kind::CurrentThread(_) => 0,
        }
    }

    /// Number of live tasks of this runtime (spawned, not yet completed).
    pub fn num_alive_tasks(&self) -> usize {
        match &self.inner {
            Kind::MultiThread(h) => h.shared.owned.len(),
            Kind::CurrentThread(h) => h.owned.len(),
        }
    }

    /// Whether a paused clock may jump to its next timer now: nothing of this runtime can run
    /// (every worker parked, no queued task, no `Handle::block_on` future running or woken, no
    /// blocking closure queued or running). Called by
    /// the time driver from the thread that parks on it, which on a current-thread runtime
    /// only parks without a timeout when its own queue is empty.
    ///
    /// When only the blocking pool is busy, the driver is unparked as soon as it becomes idle,
    /// so the caller may park without a timeout after a `false`.
    #[doc(hidden)]
    pub fn can_auto_advance(&self) -> bool {
        let quiet = match &self.inner {
            Kind::MultiThread(h) => {
                h.shared.idle.num_unparked() == 0 && h.shared.injector.is_empty()
            }
            Kind::CurrentThread(h) => h.is_quiet(),
        };
        quiet
            && self.common().block_on.is_idle_or_notify()
            && self.common().blocking.is_idle_or_notify()
    }

    /// Wakes the thread parked on the driver stack (the monitor, or a current-thread runtime's
    /// `block_on` thread).
    pub(crate) fn unpark_driver(&self) {
        match &self.inner {
            Kind::MultiThread(h) => h.shared.monitor.unpark(),
            Kind::CurrentThread(h) => h.unpark_driver(),
        }
    }

    pub(crate) fn common(&self) -> &Common {
        match &self.inner {
            Kind::MultiThread(h) => &h.common,
            Kind::CurrentThread(h) => &h.common,
        }
    }

    pub(crate) fn context_providers(&self) -> &[ContextProvider] {
        &self.common().config.context_providers
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("flavor", &self.runtime_flavor())
            .finish()
    }
}

#[cfg(not(loom))]
std::thread_local! {
    static CACHED_PARKER: Parker = Parker::new();
}

/// Polls `future` on this thread, parking between polls (the `block_on` of a thread that is
/// not a current-thread core owner).
/// This thread's parker (a fresh one during thread teardown).
#[cfg(not(loom))]
fn cached_parker() -> Parker {
    CACHED_PARKER
        .try_with(Parker::clone)
        .unwrap_or_else(|_| Parker::new())
}

/// Under loom every model thread shares one OS thread (and its `std` thread-locals), and loom
/// objects must not outlive the execution that created them: always a fresh parker.
#[cfg(loom)]
fn cached_parker() -> Parker {
    Parker::new()
}

pub(crate) fn park_on<F: Future>(future: F) -> F::Output {
    let parker = cached_parker();
    let waker = parker.waker();
    let mut cx = TaskContext::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(v) = crate::coop::budget(|| future.as_mut().poll(&mut cx)) {
            return v;
        }
        parker.park();
    }
}
