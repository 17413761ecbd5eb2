//! The runtime's clock: real time, or a paused (virtual) clock for tests.
//!
//! Every runtime with the time driver owns one `Clock`. Its `origin` (the real instant the
//! runtime was built) is the zero of the nanosecond deadlines the wheel works in.
//!
//! * Running (the default): `now()` is `std::time::Instant::now()`; one relaxed load decides
//!   that, so a runtime that never pauses pays nothing else.
//! * Paused ([`pause`](crate::pause)): time stands still at `base` and moves only when
//!   [`advance`](crate::advance) adds to it or when the driver auto-advances an idle runtime to
//!   its next timer.
//! * Resumed: time runs again from where the paused clock stood: `now = base + (real time
//!   since resume)`, so `Instant`s taken while paused stay comparable with later ones and the
//!   clock never goes back.
//!
//! The state sits behind one mutex; only a clock that was paused at least once takes it on
//! `now()`.

use runtime_core::loom::sync::atomic::{AtomicBool, Ordering};
use runtime_core::loom::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Clock {
    /// The zero of deadline nanoseconds.
    origin: Instant,
    /// False until the first `pause`: `now()` is then the real time without taking the lock.
    ever_paused: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// What the clock read at the last pause, resume or advance.
    base: Instant,
    /// The real instant of the last resume; `None` while paused.
    unfrozen: Option<Instant>,
}

impl State {
    fn now(&self) -> Instant {
        match self.unfrozen {
            Some(since) => self.base + since.elapsed(),
            None => self.base,
        }
    }
}

impl Clock {
    pub(crate) fn new(start_paused: bool) -> Clock {
        let origin = Instant::now();
        let clock = Clock {
            origin,
            ever_paused: AtomicBool::new(false),
            state: Mutex::new(State {
                base: origin,
                unfrozen: Some(origin),
            }),
        };
        if start_paused {
            clock
                .pause()
                .expect("a new clock is running, so pausing it cannot fail");
        }
        clock
    }

    /// The current time of this clock.
    pub(crate) fn now(&self) -> Instant {
        if !self.ever_paused.load(Ordering::Acquire) {
            return Instant::now();
        }
        self.state.lock().now()
    }

    /// `now()` as nanoseconds since the origin.
    pub(crate) fn now_ns(&self) -> u64 {
        self.to_ns(self.now())
    }

    /// Nanoseconds since the origin of `instant` (0 for instants before the origin, `u64::MAX`
    /// for ones beyond ~584 years).
    pub(crate) fn to_ns(&self, instant: Instant) -> u64 {
        let since = instant.saturating_duration_since(self.origin);
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` nanoseconds after the origin.
    pub(crate) fn instant_at_ns(&self, ns: u64) -> Instant {
        self.origin + Duration::from_nanos(ns)
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.ever_paused.load(Ordering::Acquire) && self.state.lock().unfrozen.is_none()
    }

    /// Freezes the clock. Errors if it is already paused.
    pub(crate) fn pause(&self) -> Result<(), &'static str> {
        let mut state = self.state.lock();
        if state.unfrozen.is_none() {
            return Err("the clock is already paused");
        }
        state.base = state.now();
        state.unfrozen = None;
        self.ever_paused.store(true, Ordering::Release);
        Ok(())
    }

    /// Lets the clock run again from where it stood. Errors if it is not paused.
    pub(crate) fn resume(&self) -> Result<(), &'static str> {
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            return Err("the clock is not paused");
        }
        state.unfrozen = Some(Instant::now());
        Ok(())
    }

    /// Moves a paused clock forward by `duration`. Errors if it is not paused.
    pub(crate) fn advance(&self, duration: Duration) -> Result<(), &'static str> {
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            return Err("the clock is not paused");
        }
        state.base += duration;
        Ok(())
    }

    /// Moves a paused clock forward to `ns` (since the origin) if it is behind it. Returns false
    /// (and does nothing) if the clock runs.
    pub(crate) fn advance_to_ns(&self, ns: u64) -> bool {
        let target = self.instant_at_ns(ns);
        let mut state = self.state.lock();
        if state.unfrozen.is_some() {
            return false;
        }
        if state.base < target {
            state.base = target;
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn running_clock_follows_real_time() {
        let clock = Clock::new(false);
        let before = Instant::now();
        let now = clock.now();
        assert!(now >= before);
        assert!(!clock.is_paused());
        assert_eq!(
            clock.advance(Duration::from_secs(1)),
            Err("the clock is not paused")
        );
        assert_eq!(clock.resume(), Err("the clock is not paused"));
    }

    #[test]
    fn paused_clock_stands_still_and_advances() {
        let clock = Clock::new(true);
        assert!(clock.is_paused());
        let t0 = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), t0);
        clock.advance(Duration::from_secs(3600)).unwrap();
        assert_eq!(clock.now(), t0 + Duration::from_secs(3600));
        assert!(clock.advance_to_ns(clock.to_ns(t0 + Duration::from_secs(7200))));
        assert_eq!(clock.now(), t0 + Duration::from_secs(7200));
        // Never backwards.
        assert!(clock.advance_to_ns(0));
        assert_eq!(clock.now(), t0 + Duration::from_secs(7200));
        assert_eq!(clock.pause(), Err("the clock is already paused"));
    }

    #[test]
    fn resume_continues_from_the_virtual_time() {
        let clock = Clock::new(true);
        clock.advance(Duration::from_secs(60)).unwrap();
        let frozen = clock.now();
        clock.resume().unwrap();
        assert!(!clock.is_paused());
        let later = clock.now();
        assert!(later >= frozen);
        assert!(later < frozen + Duration::from_secs(30));
        assert!(!clock.advance_to_ns(u64::MAX / 2));
    }

    #[test]
    fn nanosecond_conversions_saturate() {
        let clock = Clock::new(false);
        let before_origin = clock.instant_at_ns(0) - Duration::from_secs(1);
        assert_eq!(clock.to_ns(before_origin), 0);
        assert_eq!(clock.to_ns(clock.instant_at_ns(1_500)), 1_500);
    }
}
