//! [`Sleep`]: a future that completes at a deadline; [`sleep`] and [`sleep_until`] make one.
//!
//! A `Sleep` is small (its deadline, the driver handle and a wheel key) and lazy: creating it
//! only reads the clock; the first poll that finds the deadline in the future registers it in
//! the driver's wheel; dropping a registered, unfired `Sleep` removes it in O(1). A poll
//! compares the deadline with the clock first, so a `Sleep` whose deadline passed completes
//! even before the driver got round to firing it, and never earlier than its deadline.
//!
//! A `Sleep` that already returned `Ready` does not take the wheel lock on drop: its entry is
//! either gone (fired) or due, and the driver fires it shortly (a harmless wake of a waker the
//! task may no longer wait on).

use crate::context;
use crate::driver::{Handle, SHUTDOWN_MESSAGE};
use crate::instant::Instant;
use crate::wheel::Key;
use runtime_core::coop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// Waits until `duration` has elapsed.
///
/// Equivalent to `sleep_until(Instant::now() + duration)`. The sleep never completes early;
/// on an idle machine it completes within a fraction of a millisecond after its deadline (no
/// rounding to whole milliseconds). A duration too large to represent sleeps for about 30
/// years. `Sleep` polls spend one unit of the task's cooperative budget.
///
/// Cancel safety: dropping the `Sleep` just stops waiting.
///
/// # Panics
///
/// Outside a runtime, or on a runtime built without the time driver (the message names
/// `Builder::enable_time`).
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{sleep, Duration, Instant};
///
/// let start = Instant::now();
/// sleep(Duration::from_millis(10)).await;
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// # });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after(context::current("runtime::time::sleep"), duration)
}

/// Waits until `deadline` is reached.
///
/// A deadline in the past completes at the first poll. See [`sleep`] for precision, budget and
/// panics.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{sleep_until, Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(5);
/// sleep_until(deadline).await;
/// assert!(Instant::now() >= deadline);
/// # });
/// ```
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(context::current("runtime::time::sleep_until"), deadline)
}

/// Future returned by [`sleep`] and [`sleep_until`].
///
/// It is `Unpin` (unlike Tokio's): it can be polled through `&mut` without pinning, and code
/// that pins it (`runtime::pin!`, `Box::pin`) works unchanged.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{sleep, Duration, Instant};
///
/// let mut sleep = sleep(Duration::from_secs(3600));
/// assert!(!sleep.is_elapsed());
/// // Move the deadline to now: the next poll completes.
/// std::pin::Pin::new(&mut sleep).reset(Instant::now());
/// sleep.await;
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    handle: Handle,
    deadline: Instant,
    deadline_ns: u64,
    /// The wheel entry, from the first pending poll until drop / reset.
    key: Option<Key>,
    /// This sleep returned `Ready` since its last reset.
    completed: bool,
}

impl Sleep {
    /// A sleep of `duration` from the handle's clock's `now`.
    pub(crate) fn after(handle: Handle, duration: Duration) -> Sleep {
        let deadline = Instant::after(Instant::from_std(handle.inner.clock.now()), duration);
        Sleep::new(handle, deadline)
    }

    pub(crate) fn new(handle: Handle, deadline: Instant) -> Sleep {
        let deadline_ns = handle.inner.clock.to_ns(deadline.into_std());
        Sleep {
            handle,
            deadline,
            deadline_ns,
            key: None,
            completed: false,
        }
    }

    /// The instant at which this sleep completes.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{sleep_until, Duration, Instant};
    /// let deadline = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(sleep_until(deadline).deadline(), deadline);
    /// # });
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// True once the deadline has been reached (by the runtime's clock).
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{sleep, Duration};
    /// assert!(sleep(Duration::ZERO).is_elapsed());
    /// assert!(!sleep(Duration::from_secs(60)).is_elapsed());
    /// # });
    /// ```
    pub fn is_elapsed(&self) -> bool {
        self.handle.inner.clock.now_ns() >= self.deadline_ns
    }

    /// Moves the deadline (earlier or later), even after the sleep completed; the next poll
    /// waits for the new deadline. Moving a registered deadline later does not relink its
    /// wheel entry.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{sleep, Duration, Instant};
    /// let mut sleep = Box::pin(sleep(Duration::from_millis(1)));
    /// (&mut sleep).await;
    /// let again = Instant::now() + Duration::from_millis(2);
    /// sleep.as_mut().reset(again);
    /// (&mut sleep).await;
    /// assert!(Instant::now() >= again);
    /// # });
    /// ```
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().reset_to(deadline);
    }

    pub(crate) fn reset_to(&mut self, deadline: Instant) {
        self.deadline = deadline;
        self.deadline_ns = self.handle.inner.clock.to_ns(deadline.into_std());
        self.completed = false;
        if let Some(key) = self.key {
            if !self.handle.inner.reset(key, self.deadline_ns) {
                // It fired meanwhile: register again at the next pending poll.
                self.key = None;
            }
        }
    }

    /// Polls without spending cooperative budget (used by `Timeout` for its own deadline).
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let inner = &self.handle.inner;
        if inner.clock.now_ns() >= self.deadline_ns {
            self.completed = true;
            return Poll::Ready(());
        }
        match self.key {
            Some(key) if inner.update_waker(key, cx.waker()) => {}
            Some(_) if self.handle.is_shutdown() => panic!("{SHUTDOWN_MESSAGE}"),
            _ => self.key = Some(inner.register(self.deadline_ns, cx.waker().clone())),
        }
        Poll::Pending
    }

    /// The runtime clock's `now`.
    pub(crate) fn clock_now(&self) -> Instant {
        Instant::from_std(self.handle.inner.clock.now())
    }
}

impl Future for Sleep {
    type Output = ();

    /// # Panics
    ///
    /// When polled (before its deadline) after its runtime shut down: it could never fire.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = ready!(coop::poll_proceed(cx));
        ready!(self.get_mut().poll_elapsed(cx));
        coop.made_progress();
        Poll::Ready(())
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            if !self.completed {
                self.handle.inner.deregister(key);
            }
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .finish()
    }
}
