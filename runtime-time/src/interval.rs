//! [`Interval`]: ticks at a fixed period; [`interval`] and [`interval_at`] make one.
//!
//! An `Interval` is a [`Sleep`] that is reset to the next tick each time it completes; the
//! reset keeps the wheel entry when there is one (a later deadline is not relinked). When a
//! tick is more than 5 ms late (the task was busy, or the runtime stalled), the
//! [`MissedTickBehavior`] decides when the following ticks happen.

use crate::context;
use crate::instant::Instant;
use crate::sleep::Sleep;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

/// How late a tick may be before it counts as missed (as in Tokio).
const MISSED_THRESHOLD: Duration = Duration::from_millis(5);

/// Creates an interval whose first tick completes at once and whose later ticks are `period`
/// apart.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime with the time driver.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{interval, Duration, Instant};
///
/// let start = Instant::now();
/// let mut ticks = interval(Duration::from_millis(2));
/// ticks.tick().await; // at once
/// ticks.tick().await; // 2 ms later
/// ticks.tick().await; // 4 ms after the start
/// assert!(start.elapsed() >= Duration::from_millis(4));
/// # });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "runtime::time::interval: `period` must be non-zero"
    );
    let handle = context::current("runtime::time::interval");
    let start = Instant::from_std(handle.inner.clock.now());
    Interval::new(Sleep::new(handle, start), period)
}

/// Creates an interval whose first tick completes at `start` and whose later ticks are
/// `period` apart.
///
/// # Panics
///
/// If `period` is zero, or outside a runtime with the time driver.
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{interval_at, Duration, Instant};
///
/// let start = Instant::now() + Duration::from_millis(3);
/// let mut ticks = interval_at(start, Duration::from_millis(3));
/// assert_eq!(ticks.tick().await, start);
/// # });
/// ```
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "runtime::time::interval_at: `period` must be non-zero"
    );
    let delay = Sleep::new(context::current("runtime::time::interval_at"), start);
    Interval::new(delay, period)
}

/// What an [`Interval`] does when it misses ticks (a tick completes more than 5 ms late).
///
/// Example, period 10 ms, ticks expected at 0, 10, 20, 30, ...; the task is busy from 12 to
/// 34 ms and polls the interval at 34 ms:
///
/// * `Burst` (the default): the missed ticks of 20 and 30 ms complete at once, one per
///   `tick()`, then 40, 50, ... as scheduled.
/// * `Delay`: one tick at 34 ms, then every period from there: 44, 54, ...
/// * `Skip`: one tick at 34 ms, then the next tick of the original schedule: 40, 50, ...
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{interval, Duration, MissedTickBehavior};
///
/// let mut ticks = interval(Duration::from_millis(50));
/// ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
/// assert_eq!(ticks.missed_tick_behavior(), MissedTickBehavior::Delay);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks as fast as they are polled, until caught up.
    #[default]
    Burst,
    /// Restart the schedule from the late tick: the next tick is a period after it.
    Delay,
    /// Drop the missed ticks: the next tick is the next one of the original schedule.
    Skip,
}

impl MissedTickBehavior {
    /// The deadline after a tick scheduled at `scheduled` completed late at `now`.
    fn next_timeout(self, scheduled: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => Instant::after(scheduled, period),
            MissedTickBehavior::Delay => Instant::after(now, period),
            MissedTickBehavior::Skip => {
                let late = (now - scheduled).as_nanos();
                let into_period = late % period.as_nanos();
                let into_period = u64::try_from(into_period).expect("less than one period");
                Instant::after(now, period - Duration::from_nanos(into_period))
            }
        }
    }
}

/// Ticks at a fixed period; see [`interval`].
///
/// # Examples
///
/// ```
/// # runtime::Runtime::new().unwrap().block_on(async {
/// use runtime::time::{interval, Duration};
///
/// let mut ticks = interval(Duration::from_millis(1));
/// for _ in 0..3 {
///     ticks.tick().await;
/// }
/// assert_eq!(ticks.period(), Duration::from_millis(1));
/// # });
/// ```
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    fn new(delay: Sleep, period: Duration) -> Interval {
        Interval {
            delay,
            period,
            missed_tick_behavior: MissedTickBehavior::default(),
        }
    }

    /// Completes at the next tick and returns its scheduled instant.
    ///
    /// Cancel safety: cancel safe. A dropped `tick()` future consumes no tick.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{interval, Duration};
    ///
    /// let mut ticks = interval(Duration::from_millis(3));
    /// let first = ticks.tick().await;
    /// let second = ticks.tick().await;
    /// assert_eq!(second - first, Duration::from_millis(3));
    /// # });
    /// ```
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick; on `Ready` the tick is consumed. Spends one unit of the task's
    /// cooperative budget.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{interval, Duration};
    /// use std::future::poll_fn;
    ///
    /// let mut ticks = interval(Duration::from_millis(1));
    /// poll_fn(|cx| ticks.poll_tick(cx)).await;
    /// # });
    /// ```
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        ready!(Pin::new(&mut self.delay).poll(cx));
        let scheduled = self.delay.deadline();
        let now = self.delay.clock_now();
        let next = if now.saturating_duration_since(scheduled) > MISSED_THRESHOLD {
            self.missed_tick_behavior
                .next_timeout(scheduled, now, self.period)
        } else {
            Instant::after(scheduled, self.period)
        };
        self.delay.reset_to(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{interval, Duration, Instant};
    ///
    /// let mut ticks = interval(Duration::from_millis(2));
    /// ticks.tick().await;
    /// ticks.reset();
    /// let before = Instant::now();
    /// ticks.tick().await;
    /// assert!(before.elapsed() >= Duration::from_millis(1));
    /// # });
    /// ```
    pub fn reset(&mut self) {
        let now = self.delay.clock_now();
        self.delay.reset_to(Instant::after(now, self.period));
    }

    /// The next tick completes at once; the schedule continues from there.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{interval, Duration};
    /// let mut ticks = interval(Duration::from_secs(3600));
    /// ticks.tick().await;
    /// ticks.reset_immediately();
    /// ticks.tick().await; // does not wait an hour
    /// # });
    /// ```
    pub fn reset_immediately(&mut self) {
        let now = self.delay.clock_now();
        self.delay.reset_to(now);
    }

    /// The next tick completes `after` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{interval, Duration};
    /// let mut ticks = interval(Duration::from_secs(3600));
    /// ticks.tick().await;
    /// ticks.reset_after(Duration::from_millis(1));
    /// ticks.tick().await;
    /// # });
    /// ```
    pub fn reset_after(&mut self, after: Duration) {
        let now = self.delay.clock_now();
        self.delay.reset_to(Instant::after(now, after));
    }

    /// The next tick completes at `deadline`.
    ///
    /// # Examples
    ///
    /// ```
    /// # runtime::Runtime::new().unwrap().block_on(async {
    /// use runtime::time::{interval, Duration, Instant};
    /// let mut ticks = interval(Duration::from_secs(3600));
    /// ticks.tick().await;
    /// let at = Instant::now() + Duration::from_millis(1);
    /// ticks.reset_at(at);
    /// assert_eq!(ticks.tick().await, at);
    /// # });
    /// ```
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.reset_to(deadline);
    }

    /// The behavior for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the behavior for missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}
