//! Timers for the `runtime` async runtime, re-exported by the facade as `runtime::time`.
//!
//! * [`sleep`], [`sleep_until`] ([`Sleep`]), [`timeout`], [`timeout_at`] ([`Timeout`]),
//!   [`interval`], [`interval_at`] ([`Interval`], [`MissedTickBehavior`]) and [`Instant`]:
//!   the Tokio-shaped API.
//! * [`pause`], [`resume`], [`advance`]: the test clock, on every runtime flavor.
//! * [`driver::TimeDriver`]: the `Park` layer that fires timers. The facade stacks it over the
//!   layers below when the runtime is built with `enable_time`; in the multi-thread flavor the
//!   monitor thread parks on it, in the current-thread flavor the `block_on` thread.
//!
//! Inside: `wheel` (the hierarchical timer wheel, 6 levels x 64 slots of 1 ms, exact
//! nanosecond deadlines), `clock` (real or paused time), `context` (the driver current on this
//! thread). See `docs/architecture.md` for how the layers fit.
//!
//! # Examples
//!
//! ```
//! use runtime::time::{sleep, timeout, Duration};
//!
//! # runtime::Runtime::new().unwrap().block_on(async {
//! sleep(Duration::from_millis(1)).await;
//! let result = timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
//! assert!(result.is_err());
//! # });
//! ```

#![warn(missing_docs)]

mod clock;
mod context;
pub mod driver;
pub mod error;
mod instant;
mod interval;
mod sleep;
mod test_clock;
mod timeout;
mod wheel;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Duration;
pub use test_clock::{advance, pause, resume};
pub use timeout::{timeout, timeout_at, Timeout};
