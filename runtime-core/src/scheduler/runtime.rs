//! `Runtime`: owns a scheduler of either flavor plus its blocking pool, and shuts both down.
//!
//! Shutdown order: the scheduler first (close the task list, cancel every task, stop the
//! workers and the monitor, which shuts the driver down), then the blocking pool (queued
//! closures are cancelled, running ones waited for until the deadline).

use super::current_thread::CurrentThread;
use super::multi_thread::MultiThread;
use super::{Config, EnterGuard, Handle, Kind};
use crate::context;
use crate::park::Park;
use crate::task::JoinHandle;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

/// A running scheduler with its threads (the facade's `Runtime` wraps this).
///
/// # Examples
///
/// ```
/// use runtime_core::park::ThreadPark;
/// use runtime_core::scheduler::{Config, Runtime};
///
/// let config = Config { worker_threads: 2, ..Config::default() };
/// let rt = Runtime::new_multi_thread(config, Box::new(ThreadPark::new())).unwrap();
/// let out = rt.block_on(async { runtime_core::task::spawn(async { 21 * 2 }).await.unwrap() });
/// assert_eq!(out, 42);
/// ```
pub struct Runtime {
    handle: Handle,
    scheduler: Option<Flavor>,
}

enum Flavor {
    MultiThread(MultiThread),
    CurrentThread(CurrentThread),
}

impl Runtime {
    /// Starts a multi-thread runtime whose monitor thread parks on `driver`.
    pub fn new_multi_thread(config: Config, driver: Box<dyn Park>) -> std::io::Result<Runtime> {
        let (scheduler, handle) = MultiThread::new(config, driver)?;
        Ok(Runtime {
            handle: Handle {
                inner: Kind::MultiThread(handle),
            },
            scheduler: Some(Flavor::MultiThread(scheduler)),
        })
    }

    /// Creates a current-thread runtime; `block_on` callers park on `driver`.
    pub fn new_current_thread(config: Config, driver: Box<dyn Park>) -> Runtime {
        let (scheduler, handle) = CurrentThread::new(config, driver);
        Runtime {
            handle: Handle {
                inner: Kind::CurrentThread(handle),
            },
            scheduler: Some(Flavor::CurrentThread(scheduler)),
        }
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `future` to completion on this thread, driving the runtime's tasks on a
    /// current-thread runtime (on a multi-thread runtime the workers run them).
    ///
    /// # Panics
    ///
    /// Inside a runtime (a task, another `block_on`): see [`Handle::block_on`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.scheduler {
            Some(Flavor::CurrentThread(ct)) => ct.block_on(future),
            _ => self.handle.block_on(future),
        }
    }

    /// Spawns a task onto the runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs a blocking closure on the runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// Enters the runtime on this thread (see [`Handle::enter`]).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// Shuts down, waiting at most `timeout` for worker and blocking threads. Threads still
    /// busy then (a poll or a blocking closure that does not return) are left to finish in the
    /// background; every task is cancelled either way.
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        // A timeout too large to represent as an Instant means: wait as long as it takes.
        self.shutdown(Instant::now().checked_add(timeout));
    }

    /// Shuts down without waiting for any thread.
    pub fn shutdown_background(mut self) {
        self.shutdown(Some(Instant::now()));
    }

    fn shutdown(&mut self, deadline: Option<Instant>) {
        let Some(scheduler) = self.scheduler.take() else {
            return;
        };
        match scheduler {
            Flavor::MultiThread(mt) => {
                mt.shutdown(deadline);
            }
            Flavor::CurrentThread(ct) => ct.shutdown(),
        }
        self.handle.common().blocking.shutdown(deadline);
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if context::is_runtime_entered() {
            // Dropped from async context (a task, a block_on): waiting for threads here could
            // deadlock (it may be one of them), so shut down in the background instead.
            self.shutdown(Some(Instant::now()));
        } else {
            self.shutdown(None);
        }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("flavor", &self.handle.runtime_flavor())
            .finish()
    }
}
