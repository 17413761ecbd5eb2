//! [`Timeout`]: runs a future with a deadline; [`timeout`] and [`timeout_at`] make one.
//!
//! The deadline is a lazy [`Sleep`]: a future that completes at its first poll never touches
//! the timer wheel, so wrapping quick operations in a timeout costs a clock read.

use crate::context;
use crate::error::Elapsed;
use crate::instant::Instant;
use crate::sleep::Sleep;
use runtime_core::coop;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Requires `future` to complete before `duration` has elapsed.
///
/// Resolves to `Ok(output)` if the future completes first, or `Err(Elapsed)` once the
/// deadline passes (the future is then dropped with the `Timeout`). The future is polled
/// before the deadline is checked, so a future that is ready at once wins even with a zero
/// duration. A duration too large to represent means no deadline in practice (~30 years).
/// The deadline check spends one unit of the task's cooperative budget when it fires (the
/// future spends its own); if the future used up the budget, the deadline is still checked.
///
/// Cancel safety: dropping the `Timeout` drops the future; it is as cancel safe as the future.
///
/// # Panics
///
/// Outside a runtime, or on a runtime built without the time driver.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::sync::oneshot;
/// use runtime::time::{timeout, Duration};
///
/// let (_tx, rx) = oneshot::channel::<u32>();
/// // Nobody sends: the timeout fires.
/// assert!(timeout(Duration::from_millis(10), rx).await.is_err());
/// assert_eq!(timeout(Duration::from_secs(1), async { 7 }).await, Ok(7));
/// # });
/// ```
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    let delay = Sleep::after(context::current("runtime::time::timeout"), duration);
    Timeout::new(future.into_future(), delay)
}

/// Requires `future` to complete before `deadline`. See [`timeout`].
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{timeout_at, Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(5);
/// let result = timeout_at(deadline, std::future::pending::<()>()).await;
/// assert!(result.is_err());
/// assert!(Instant::now() >= deadline);
/// # });
/// ```
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    let delay = Sleep::new(context::current("runtime::time::timeout_at"), deadline);
    Timeout::new(future.into_future(), delay)
}

/// Future returned by [`timeout`] and [`timeout_at`].
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{timeout, Duration};
///
/// let t = timeout(Duration::from_secs(1), async { "done" });
/// assert_eq!(t.await, Ok("done"));
///
/// // Or take the future back out and run it without a deadline:
/// let t = timeout(Duration::from_millis(1), async { "no deadline" });
/// assert_eq!(t.into_inner().await, "no deadline");
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<T> {
    value: T,
    delay: Sleep,
}

impl<T> Timeout<T> {
    pub(crate) fn new(value: T, delay: Sleep) -> Timeout<T> {
        Timeout { value, delay }
    }

    /// The wrapped future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The wrapped future, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// Removes the timeout, returning the future.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let had_budget_before = coop::has_budget_remaining();
        // Pinning: `value` is structurally pinned. It is never moved out of a pinned `Timeout`
        // (`into_inner` takes `self` by value, which requires `Timeout: Unpin` once pinned,
        // i.e. `T: Unpin`), and `Timeout` has no `Drop` impl that could move it. `delay` is
        // not structurally pinned (`Sleep: Unpin`).
        // SAFETY: nothing is moved out of `self` (see the pinning note above).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.value` stays where it is for as long as `self` is pinned.
        let value = unsafe { Pin::new_unchecked(&mut this.value) };
        // A ready future wins without touching the budget or the clock: the future spends
        // its own budget, as Tokio's `Timeout` does.
        if let Poll::Ready(output) = value.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if had_budget_before && !coop::has_budget_remaining() {
            // The future used the last unit: check the deadline without spending more, so a
            // timeout around a budget-hungry future still fires.
            ready!(this.delay.poll_elapsed(cx));
            return Poll::Ready(Err(Elapsed::new()));
        }
        // The deadline check spends one unit when it completes, like a `Sleep` poll.
        let coop = ready!(coop::poll_proceed(cx));
        ready!(this.delay.poll_elapsed(cx));
        coop.made_progress();
        Poll::Ready(Err(Elapsed::new()))
    }
}

impl<T: fmt::Debug> fmt::Debug for Timeout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("delay", &self.delay)
            .finish()
    }
}
