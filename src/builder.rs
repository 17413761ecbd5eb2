//! `Builder`: configures and builds a [`Runtime`](crate::Runtime).
//!
//! Validation happens where the mistake is made: a setter given an impossible value (0
//! workers, 0 blocking threads, 0 intervals) panics with a message naming the setting;
//! `build` returns an `io::Error` for what it can only see then (an unparsable
//! `RUNTIME_WORKER_THREADS`, a thread the OS refuses to start).

use crate::Runtime;
use runtime_core::park::{Park, ThreadPark};
use runtime_core::scheduler::{self, Callback, Config, ThreadNameFn};
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

/// The environment variable that sets the default number of worker threads.
pub const WORKER_THREADS_ENV: &str = "RUNTIME_WORKER_THREADS";

/// Builds a runtime with custom settings.
///
/// # Examples
///
/// ```
/// let rt = runtime::Builder::new_multi_thread()
///     .worker_threads(2)
///     .thread_name("my-worker")
///     .build()
///     .unwrap();
/// assert_eq!(rt.block_on(async { runtime::spawn(async { 5 }).await.unwrap() }), 5);
/// ```
pub struct Builder {
    kind: Kind,
    worker_threads: Option<usize>,
    enable_time: bool,
    start_paused: bool,
    config: Config,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    CurrentThread,
    MultiThread,
}

impl Builder {
    /// A builder for a multi-thread (work-stealing) runtime: `worker_threads` workers (default:
    /// `RUNTIME_WORKER_THREADS`, else the number of CPUs) plus one monitor/driver thread.
    pub fn new_multi_thread() -> Builder {
        Builder::new(Kind::MultiThread)
    }

    /// A builder for a current-thread runtime: tasks run on the thread calling `block_on`.
    pub fn new_current_thread() -> Builder {
        Builder::new(Kind::CurrentThread)
    }

    fn new(kind: Kind) -> Builder {
        Builder {
            kind,
            worker_threads: None,
            enable_time: false,
            start_paused: false,
            config: Config {
                thread_name: Arc::new(|| "runtime-worker".to_string()),
                ..Config::default()
            },
        }
    }

    /// Number of worker threads of a multi-thread runtime (ignored by current-thread).
    ///
    /// # Panics
    ///
    /// If `val` is 0.
    #[track_caller]
    pub fn worker_threads(&mut self, val: usize) -> &mut Self {
        assert!(
            val > 0,
            "Builder::worker_threads must be at least 1 (got 0); for a single-threaded runtime use Builder::new_current_thread()"
        );
        self.worker_threads = Some(val);
        self
    }

    /// Maximum number of blocking-pool threads (default 512).
    ///
    /// # Panics
    ///
    /// If `val` is 0: `spawn_blocking` could never run anything.
    #[track_caller]
    pub fn max_blocking_threads(&mut self, val: usize) -> &mut Self {
        assert!(
            val > 0,
            "Builder::max_blocking_threads must be at least 1 (got 0): spawn_blocking needs a thread to run on"
        );
        self.config.max_blocking_threads = val;
        self
    }

    /// Name of every thread the runtime starts (monitor: name + `-monitor`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Self {
        let name: String = name.into();
        self.config.thread_name = Arc::new(move || name.clone());
        self
    }

    /// A function naming each thread the runtime starts.
    pub fn thread_name_fn<F>(&mut self, f: F) -> &mut Self
    where
        F: Fn() -> String + Send + Sync + 'static,
    {
        self.config.thread_name = Arc::new(f) as ThreadNameFn;
        self
    }

    /// Stack size of the runtime's threads, in bytes.
    pub fn thread_stack_size(&mut self, val: usize) -> &mut Self {
        self.config.thread_stack_size = Some(val);
        self
    }

    /// How long an idle blocking thread lingers before it exits (default 10 s).
    pub fn thread_keep_alive(&mut self, duration: Duration) -> &mut Self {
        self.config.thread_keep_alive = duration;
        self
    }

    /// Runs `f` on every runtime thread after it starts.
    pub fn on_thread_start<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.config.on_thread_start = Some(Arc::new(f) as Callback);
        self
    }

    /// Runs `f` on every runtime thread before it stops.
    pub fn on_thread_stop<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.config.on_thread_stop = Some(Arc::new(f) as Callback);
        self
    }

    /// Runs `f` before a worker (or the current-thread `block_on` thread) parks.
    pub fn on_thread_park<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.config.on_thread_park = Some(Arc::new(f) as Callback);
        self
    }

    /// Runs `f` after a worker (or the current-thread `block_on` thread) unparks.
    pub fn on_thread_unpark<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        self.config.on_thread_unpark = Some(Arc::new(f) as Callback);
        self
    }

    /// Tasks run between two non-blocking polls of the driver (current-thread) or two
    /// maintenance checks (multi-thread). Default 61.
    ///
    /// # Panics
    ///
    /// If `val` is 0.
    #[track_caller]
    pub fn event_interval(&mut self, val: u32) -> &mut Self {
        assert!(
            val > 0,
            "Builder::event_interval must be at least 1 (got 0)"
        );
        self.config.event_interval = val;
        self
    }

    /// Ticks between two checks of the global queue ahead of local work. Default 61.
    ///
    /// # Panics
    ///
    /// If `val` is 0.
    #[track_caller]
    pub fn global_queue_interval(&mut self, val: u32) -> &mut Self {
        assert!(
            val > 0,
            "Builder::global_queue_interval must be at least 1 (got 0)"
        );
        self.config.global_queue_interval = val;
        self
    }

    /// A poll longer than this is reported as a stall: a `tracing` warning plus a
    /// [`StallReport`](crate::StallReport) (multi-thread). Default 10 ms.
    pub fn stall_threshold(&mut self, duration: Duration) -> &mut Self {
        self.config.stall_threshold = duration;
        self
    }

    /// A worker inside one poll longer than this has its next-slot task handed to an idle
    /// worker by the monitor (multi-thread). Default 100 us; the monitor ticks at this period
    /// while any worker is busy.
    ///
    /// # Panics
    ///
    /// If `duration` is zero.
    #[track_caller]
    pub fn handoff_threshold(&mut self, duration: Duration) -> &mut Self {
        assert!(
            !duration.is_zero(),
            "Builder::handoff_threshold must be greater than zero"
        );
        self.config.handoff_threshold = duration;
        self
    }

    /// Enables every driver: the time driver (`runtime::time`). [`Runtime::new`] and
    /// `#[runtime::main]` do this; a runtime built without it panics in `sleep` and friends,
    /// naming this method.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// rt.block_on(async {
    ///     runtime::time::sleep(std::time::Duration::from_millis(1)).await;
    /// });
    /// ```
    pub fn enable_all(&mut self) -> &mut Self {
        self.enable_time()
    }

    /// Enables the time driver: `runtime::time::{sleep, timeout, interval}` and the test clock.
    ///
    /// # Examples
    ///
    /// ```
    /// let rt = runtime::Builder::new_multi_thread().enable_time().build().unwrap();
    /// let late = rt.block_on(async {
    ///     runtime::time::timeout(
    ///         std::time::Duration::from_millis(1),
    ///         std::future::pending::<()>(),
    ///     )
    ///     .await
    /// });
    /// assert!(late.is_err());
    /// ```
    pub fn enable_time(&mut self) -> &mut Self {
        self.enable_time = true;
        self
    }

    /// Starts the runtime with its clock paused (see `runtime::time::pause`): time moves only
    /// with `time::advance` or when the idle runtime jumps to its next timer. Works on both
    /// flavors. Requires [`enable_time`](Self::enable_time); `build` fails without it.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::time::{sleep, Duration, Instant};
    ///
    /// let rt = runtime::Builder::new_multi_thread()
    ///     .enable_time()
    ///     .start_paused(true)
    ///     .build()
    ///     .unwrap();
    /// let real = std::time::Instant::now();
    /// rt.block_on(async {
    ///     let start = Instant::now();
    ///     sleep(Duration::from_secs(3600)).await;
    ///     assert_eq!(start.elapsed(), Duration::from_secs(3600));
    /// });
    /// assert!(real.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn start_paused(&mut self, start_paused: bool) -> &mut Self {
        self.start_paused = start_paused;
        self
    }

    /// Builds the runtime.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `RUNTIME_WORKER_THREADS` is set but is not a positive integer, or if
    /// `start_paused` is set without `enable_time`; the OS error (with context) if a runtime
    /// thread cannot be started.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let mut config = self.config.clone();
        let mut driver: Box<dyn Park> = Box::new(ThreadPark::new());
        if self.start_paused && !self.enable_time {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Builder::start_paused(true) needs the time driver: also call \
                 Builder::enable_time() or Builder::enable_all()",
            ));
        }
        if self.enable_time {
            let time = runtime_time::driver::TimeDriver::new(driver, self.start_paused);
            config
                .context_providers
                .push(time.handle().context_provider());
            driver = Box::new(time);
        }
        let inner = match self.kind {
            Kind::CurrentThread => scheduler::Runtime::new_current_thread(config, driver),
            Kind::MultiThread => {
                config.worker_threads = match self.worker_threads {
                    Some(n) => n,
                    None => worker_threads_from_env()?.unwrap_or(config.worker_threads),
                };
                scheduler::Runtime::new_multi_thread(config, driver)?
            }
        };
        Ok(Runtime { inner })
    }
}

/// The value of `RUNTIME_WORKER_THREADS`, if set.
fn worker_threads_from_env() -> io::Result<Option<usize>> {
    match std::env::var(WORKER_THREADS_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{WORKER_THREADS_ENV} must be a positive integer, got the non-UTF-8 value {v:?}"
            ),
        )),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{WORKER_THREADS_ENV} must be a positive integer, got {v:?}"),
            )),
        },
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("kind", &self.kind)
            .field("worker_threads", &self.worker_threads)
            .field("enable_time", &self.enable_time)
            .field("start_paused", &self.start_paused)
            .field("config", &self.config)
            .finish()
    }
}
