//! `Runtime`: the object `#[runtime::main]` builds; owns the scheduler, its threads and (as
//! their issues land) the drivers.

use crate::{Builder, EnterGuard, Handle, JoinHandle};
use runtime_core::scheduler;
use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;

/// An async runtime: worker threads (or the current thread), a monitor/driver thread, and a
/// blocking pool.
///
/// Dropping it cancels every task (their futures are dropped and their `JoinHandle`s resolve
/// to a cancelled `JoinError`), then waits for the runtime's threads. Dropped from inside
/// async code it shuts down in the background instead of blocking.
///
/// # Examples
///
/// ```
/// let rt = runtime::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let a = runtime::spawn(async { 1 });
///     let b = runtime::spawn(async { 2 });
///     a.await.unwrap() + b.await.unwrap()
/// });
/// assert_eq!(sum, 3);
/// ```
pub struct Runtime {
    pub(crate) inner: scheduler::Runtime,
}

impl Runtime {
    /// A multi-thread runtime with default settings and every driver enabled.
    ///
    /// # Errors
    ///
    /// See [`Builder::build`].
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().enable_all().build()
    }

    /// Runs `future` to completion on this thread.
    ///
    /// On a current-thread runtime this thread also runs every spawned task meanwhile.
    ///
    /// # Panics
    ///
    /// When called from async code (a task or another `block_on`): it would block a thread
    /// that drives tasks. The message points at `spawn_blocking` / `block_in_place`.
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Spawns a task onto this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(future)
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// The runtime's handle.
    pub fn handle(&self) -> &Handle {
        self.inner.handle()
    }

    /// Enters the runtime on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard<'_> {
        self.inner.enter()
    }

    /// Shuts down and waits at most `timeout` for the runtime's threads (a blocking closure
    /// that does not return is left running in the background).
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.inner.shutdown_timeout(timeout);
    }

    /// Shuts down without waiting for the runtime's threads.
    pub fn shutdown_background(self) {
        self.inner.shutdown_background();
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}
