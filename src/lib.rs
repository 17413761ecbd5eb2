//! # runtime
//!
//! A work-stealing async runtime for Rust with a Tokio-shaped API and a monitor thread that
//! keeps one long poll from holding other tasks hostage.
//!
//! * Worker threads run tasks from local queues and steal from each other; a task woken or
//!   spawned on a worker runs next on it (the *next slot*), for message-passing locality.
//! * One monitor/driver thread watches the workers: when a worker has been inside one poll
//!   for more than ~100 us and has a task waiting in its next slot, the monitor hands that
//!   task to an idle worker. Polls longer than the stall threshold (10 ms) are reported with
//!   the task's id, name and spawn location ([`Handle::stall_reports`], `tracing` warnings).
//! * A current-thread flavor runs everything on the thread that calls `block_on`.
//!
//! ```
//! #[runtime::main(flavor = "current_thread")]
//! async fn main() {
//!     let handle = runtime::spawn(async { 6 * 7 });
//!     assert_eq!(handle.await.unwrap(), 42);
//! }
//! ```
//!
//! Moving from Tokio: replace `tokio::` by `runtime::` and `tokio::runtime::Builder` by
//! `runtime::Builder`. Timers and I/O arrive in `runtime::time` / `runtime::net` with their
//! own issues; see `docs/architecture.md` for the map of the code.

mod builder;
#[doc(hidden)]
pub mod macros;
mod runtime;

pub use builder::{Builder, WORKER_THREADS_ENV};
pub use runtime::Runtime;
pub use runtime_core::context::TryCurrentError;
pub use runtime_core::scheduler::{EnterGuard, Handle, RuntimeFlavor, StallReport};
pub use runtime_core::task::{spawn, JoinHandle};
pub use runtime_macros::{main, test};

/// Tasks: spawning, joining, aborting, yielding, blocking sections.
pub mod task {
    pub use runtime_core::task::{
        block_in_place, consume_budget, id, spawn, spawn_blocking, try_id, unconstrained,
        yield_now, AbortHandle, Builder, Id, JoinError, JoinHandle, JoinSet, Unconstrained,
    };
}

/// Timers: sleeping, timeouts, intervals, and a test clock that works on every flavor.
///
/// Needs a runtime built with the time driver (`Builder::enable_time` / `enable_all`;
/// `Runtime::new` and `#[runtime::main]` enable it).
pub mod time {
    pub use runtime_time::{
        advance, error, interval, interval_at, pause, resume, sleep, sleep_until, timeout,
        timeout_at, Duration, Instant, Interval, MissedTickBehavior, Sleep, Timeout,
    };
}

/// Async synchronization primitives.
pub mod sync {
    pub use runtime_core::sync::*;
}
