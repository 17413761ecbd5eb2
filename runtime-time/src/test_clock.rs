//! The test clock: [`pause`], [`resume`] and [`advance`] act on the current runtime's clock.
//!
//! Unlike Tokio's, they work on every runtime flavor. While the clock is paused and the
//! runtime has nothing to run (every worker idle, no task queued, no `spawn_blocking` closure
//! queued or running), the driver moves the clock straight to the next timer, so a test that
//! sleeps for virtual hours finishes in milliseconds, deterministically.

use crate::context;
use std::time::Duration;

/// Pauses the current runtime's clock.
///
/// From now on [`Instant::now`](crate::Instant::now) stands still except when [`advance`] moves
/// it or the idle runtime jumps to its next timer. `Builder::start_paused(true)` and
/// `#[runtime::test(start_paused = true)]` start a runtime paused.
///
/// # Panics
///
/// If the clock is already paused, or outside a runtime with the time driver.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{self, Duration, Instant};
///
/// time::pause();
/// let start = Instant::now();
/// time::sleep(Duration::from_secs(24 * 3600)).await; // returns at once in real time
/// assert_eq!(start.elapsed(), Duration::from_secs(24 * 3600));
/// # });
/// ```
#[track_caller]
pub fn pause() {
    let handle = context::current("runtime::time::pause");
    if let Err(e) = handle.inner.clock.pause() {
        panic!("runtime::time::pause: {e}; call time::resume() before pausing again");
    }
    // The driver may be asleep towards a real deadline that is now meaningless.
    handle.inner.unpark_driver();
}

/// Lets the paused clock run again, from the time it shows.
///
/// # Panics
///
/// If the clock is not paused, or outside a runtime with the time driver.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// use runtime::time::{self, Duration, Instant};
///
/// time::advance(Duration::from_secs(5)).await;
/// let virtual_now = Instant::now();
/// time::resume();
/// assert!(Instant::now() >= virtual_now);
/// # });
/// ```
#[track_caller]
pub fn resume() {
    let handle = context::current("runtime::time::resume");
    if let Err(e) = handle.inner.clock.resume() {
        panic!("runtime::time::resume: {e}; call time::pause() first");
    }
    // The driver may sleep without a deadline (paused): make it compute a real one.
    handle.inner.unpark_driver();
}

/// Moves the paused clock forward by `duration`, fires every timer that is then due, and yields
/// once so the woken tasks can run.
///
/// When this returns, every timer with a deadline up to the new time has been woken.
///
/// # Panics
///
/// If the clock is not paused, or outside a runtime with the time driver.
///
/// # Examples
///
/// ```
/// # runtime::Builder::new_multi_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// use runtime::time::{self, Duration, Instant};
///
/// let start = Instant::now();
/// time::advance(Duration::from_millis(1500)).await;
/// assert_eq!(start.elapsed(), Duration::from_millis(1500));
/// # });
/// ```
#[track_caller]
pub fn advance(duration: Duration) -> impl std::future::Future<Output = ()> {
    let handle = context::current("runtime::time::advance");
    if let Err(e) = handle.inner.clock.advance(duration) {
        panic!(
            "runtime::time::advance: {e}; call time::pause() first or build the runtime with \
             Builder::start_paused(true)"
        );
    }
    handle.inner.process(&mut Vec::new());
    runtime_core::task::yield_now()
}
