//! Async synchronization primitives, re-exported as `runtime::sync`.
//!
//! They work with any executor's wakers (no dependency on this crate's schedulers) and spend
//! cooperative budget where a Tokio user would expect it (receives, acquires).

pub mod broadcast;
pub mod mpsc;
mod notify;
pub mod oneshot;
pub mod watch;

pub use notify::*;
