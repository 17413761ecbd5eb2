//! Timers for the `runtime` async runtime.
//!
//! * `wheel`: the hierarchical timer wheel (6 levels x 64 slots, 1 ms slots at level 0) that
//!   holds every registered deadline.

#![warn(missing_docs)]

mod wheel;
