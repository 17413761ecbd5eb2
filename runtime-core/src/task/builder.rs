//! `task::Builder`: spawn with a name (stable API, unlike Tokio's unstable one).

use super::core::TaskMeta;
use super::JoinHandle;
use crate::context::{self, TryCurrentError};
use crate::scheduler::Handle;
use std::future::Future;
use std::io;
use std::panic::Location;

/// Configures a task before spawning it. The name shows up in stall reports and
/// diagnostics.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let handle = runtime::task::Builder::new()
///     .name("accept-loop")
///     .spawn(async { 7 })?;
/// assert_eq!(handle.await.unwrap(), 7);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder<'a> {
    name: Option<&'a str>,
}

impl<'a> Builder<'a> {
    /// A builder with no name.
    pub fn new() -> Builder<'a> {
        Builder { name: None }
    }

    /// Names the task.
    pub fn name(self, name: &'a str) -> Builder<'a> {
        Builder { name: Some(name) }
    }

    fn meta(&self, location: &'static Location<'static>) -> TaskMeta {
        TaskMeta {
            name: self.name.map(Box::from),
            location,
        }
    }

    /// Spawns onto the current runtime; an error (not a panic) outside a runtime.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let meta = self.meta(Location::caller());
        context::with_current(|h| h.spawn_with(future, meta)).map_err(not_in_runtime)
    }

    /// Spawns onto the runtime of `handle`.
    #[track_caller]
    pub fn spawn_on<F>(self, future: F, handle: &Handle) -> io::Result<JoinHandle<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Ok(handle.spawn_with(future, self.meta(Location::caller())))
    }

    /// Runs a blocking closure on the current runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(self, f: F) -> io::Result<JoinHandle<R>>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let meta = self.meta(Location::caller());
        context::with_current(|h| h.spawn_blocking_with(f, meta)).map_err(not_in_runtime)
    }
}

fn not_in_runtime(e: TryCurrentError) -> io::Error {
    io::Error::other(format!("task::Builder::spawn: {e}"))
}
