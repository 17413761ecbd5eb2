//! The core of the `runtime` async runtime: tasks, the multi-thread (work-stealing) and
//! current-thread schedulers, the monitor, the blocking pool, cooperative budgeting, the
//! per-thread context and the parking abstraction the driver layers plug into.
//!
//! This crate knows nothing about I/O or time. Users depend on the `runtime` facade, which
//! re-exports the public parts of this crate and wires the drivers in.
//!
//! Map: `task` (state word, harness, handles, owned list) -> `scheduler` (`multi_thread`:
//! workers, idle protocol, next slot, monitor; `current_thread`) -> `blocking` (pool) ->
//! `park` (driver layers) -> `context` / `coop` (per-thread state). Every concurrency protocol
//! is written against the `loom` facade and model-checked under `--cfg loom`.

#![warn(missing_docs)]

#[doc(hidden)]
pub mod loom;

mod blocking;
pub mod context;
pub mod coop;
pub mod park;
pub mod scheduler;
pub mod sync;
pub mod task;
#[cfg(test)]
mod test_util;
/// Support for the facade's macros (`select!`'s random start); not public API.
#[doc(hidden)]
pub mod util;
