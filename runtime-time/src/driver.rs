//! The time driver: a [`Park`] layer that fires timers, and the shared state timers register in.
//!
//! [`TimeDriver`] wraps the layer below it (the thread parker, later the I/O driver). Parking
//! on it parks the inner layer for at most the time until the next deadline, then fires every
//! timer that is due. In the multi-thread flavor the monitor thread parks on it; in the
//! current-thread flavor the `block_on` thread does.
//!
//! Shared state ([`Handle`], one `Arc` per runtime): the clock (`clock.rs`), and behind one
//! mutex the wheel (`wheel/`) of registered deadlines (payload: the waiting task's waker), the
//! deadline the driver is asleep towards (`sleeping_until`) and the shutdown flag.
//!
//! Protocol:
//! * The driver reads the wheel's next deadline and stores `sleeping_until` under the lock, then
//!   parks. A registration (or `reset`) whose deadline is earlier than `sleeping_until` unparks
//!   the inner layer after releasing the lock. A registration before the driver took the lock
//!   is in the deadline it read; one after it sees `sleeping_until`; the inner parker remembers
//!   an unpark that lands before the driver is asleep. `sleeping_until` is 0 while the driver is
//!   awake (nobody needs to wake it: it reads the wheel again before it parks) and `u64::MAX`
//!   while it sleeps without a deadline.
//! * Firing: `process` advances the wheel to the clock's `now` under the lock, collecting the
//!   expired wakers, and wakes them after releasing it, as one batch.
//! * Precision: the wheel's slots are 1 ms wide, but entries carry exact nanosecond deadlines;
//!   entries of the current millisecond sit in the wheel's pending list, and
//!   `next_deadline_ns` is their exact earliest deadline. The driver therefore sleeps until the
//!   exact deadline (not the next whole millisecond) and never fires an entry early.
//! * Paused clock: time does not pass while the driver waits, so waiting for a deadline is
//!   pointless. An untimed `park` (the scheduler has nothing to run) with timers pending asks
//!   the scheduler whether the runtime is idle ([`can_auto_advance`]) and, if so, moves the
//!   clock to the next deadline and fires. A timed `park_timeout` (the monitor's tick while
//!   workers run) waits for real time and never advances the clock. An untimed park that
//!   cannot advance sleeps with `sleeping_until = u64::MAX`, so a timer registered from
//!   outside the runtime's threads still wakes it.
//! * Shutdown: every registered waker is woken, and later registrations panic with a message
//!   saying the runtime is gone (a `Sleep` of a shut-down runtime can never complete).
//!
//! [`can_auto_advance`]: runtime_core::scheduler::Handle::can_auto_advance

use crate::clock::Clock;
use crate::wheel::{Key, Wheel};
use runtime_core::loom::sync::Mutex;
use runtime_core::park::{Park, Unpark};
use std::fmt;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

/// `sleeping_until` while the driver is awake.
const AWAKE: u64 = 0;
/// `sleeping_until` while the driver sleeps with no deadline.
const NO_DEADLINE: u64 = u64::MAX;

pub(crate) const SHUTDOWN_MESSAGE: &str =
    "a runtime::time timer was polled after its runtime shut \
down: the timer driver is gone, so the timer could never fire. Keep the runtime alive while its \
timers are in use";

/// A [`Park`] layer that fires the runtime's timers; see the [module docs](self).
///
/// # Examples
///
/// The facade's `Builder::enable_time` stacks it over the layers below:
///
/// ```
/// use runtime_core::park::{Park, ThreadPark};
/// use runtime_time::driver::TimeDriver;
/// use std::time::Duration;
///
/// let mut driver = TimeDriver::new(Box::new(ThreadPark::new()), false);
/// let handle = driver.handle();
/// driver.park_timeout(Duration::from_millis(1));
/// assert!(!handle.is_shutdown());
/// driver.shutdown();
/// assert!(handle.is_shutdown());
/// ```
pub struct TimeDriver {
    park: Box<dyn Park>,
    handle: Handle,
    /// Wakers fired by one `process` call; kept to reuse its allocation.
    fired: Vec<Waker>,
}

/// The shared side of a [`TimeDriver`]: what timers register in and what the test clock
/// functions act on. Cheap to clone.
///
/// # Examples
///
/// ```
/// use runtime_core::park::ThreadPark;
/// use runtime_time::driver::TimeDriver;
///
/// let driver = TimeDriver::new(Box::new(ThreadPark::new()), true);
/// let handle = driver.handle();
/// let provider = handle.context_provider(); // what the facade registers with core
/// drop(provider);
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) clock: Clock,
    state: Mutex<State>,
    unpark: Arc<dyn Unpark>,
}

struct State {
    wheel: Wheel<Waker>,
    sleeping_until: u64,
    shutdown: bool,
}

impl TimeDriver {
    /// Stacks a time driver over `park`; `start_paused` starts the clock paused.
    pub fn new(park: Box<dyn Park>, start_paused: bool) -> TimeDriver {
        let unpark = park.unparker();
        TimeDriver {
            park,
            handle: Handle {
                inner: Arc::new(Inner {
                    clock: Clock::new(start_paused),
                    state: Mutex::new(State {
                        wheel: Wheel::new(),
                        sleeping_until: AWAKE,
                        shutdown: false,
                    }),
                    unpark,
                }),
            },
            fired: Vec::new(),
        }
    }

    /// The shared handle timers register with.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    fn park_internal(&mut self, timeout: Option<Duration>) {
        let inner = &self.handle.inner;
        if inner.clock.is_paused() {
            let next = {
                let mut state = inner.state.lock();
                // An untimed park may end up waiting for good (no timer, or a busy blocking
                // pool): a timer registered from now on must wake it. Set before the wheel is
                // read, so no registration falls between the two.
                if timeout.is_none() {
                    state.sleeping_until = NO_DEADLINE;
                }
                state.wheel.next_deadline_ns()
            };
            match (timeout, next) {
                (None, Some(mut next)) if can_auto_advance() => {
                    // Let the layers below deliver what is ready without waiting.
                    self.park.park_timeout(Duration::ZERO);
                    // The wheel's next deadline may be the start of a higher-level slot, which
                    // only cascades: jump on until a timer fires.
                    while inner.clock.advance_to_ns(next) && inner.process(&mut self.fired) == 0 {
                        match inner.state.lock().wheel.next_deadline_ns() {
                            Some(later) => next = later,
                            None => break,
                        }
                    }
                }
                (None, _) => self.park.park(),
                (Some(timeout), _) => self.park.park_timeout(timeout),
            }
        } else {
            let now = inner.clock.now_ns();
            let wait = {
                let mut state = inner.state.lock();
                let until_timer = state.wheel.next_deadline_ns();
                let until_timeout = timeout
                    .map(|t| now.saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)));
                let until = match (until_timer, until_timeout) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                match until {
                    Some(until) if until <= now => {
                        state.sleeping_until = AWAKE;
                        Some(Duration::ZERO)
                    }
                    Some(until) => {
                        state.sleeping_until = until;
                        Some(Duration::from_nanos(until - now))
                    }
                    None => {
                        state.sleeping_until = NO_DEADLINE;
                        None
                    }
                }
            };
            match wait {
                None => self.park.park(),
                Some(wait) => self.park.park_timeout(wait),
            }
        }
        self.handle.inner.process(&mut self.fired);
    }
}

/// Asks the runtime entered on this thread whether it is idle (see the module docs).
fn can_auto_advance() -> bool {
    runtime_core::scheduler::Handle::try_current().map_or(true, |rt| rt.can_auto_advance())
}

impl Park for TimeDriver {
    fn unparker(&self) -> Arc<dyn Unpark> {
        self.handle.inner.unpark.clone()
    }

    fn park(&mut self) {
        self.park_internal(None);
    }

    fn park_timeout(&mut self, duration: Duration) {
        self.park_internal(Some(duration));
    }

    fn shutdown(&mut self) {
        {
            let mut state = self.handle.inner.state.lock();
            state.shutdown = true;
            let fired = &mut self.fired;
            state.wheel.drain(|waker| fired.push(waker));
        }
        for waker in self.fired.drain(..) {
            waker.wake();
        }
        self.park.shutdown();
    }
}

impl Inner {
    /// Registers a timer for `deadline_ns`, waking the driver if it sleeps towards a later
    /// deadline.
    ///
    /// # Panics
    ///
    /// After the runtime shut down.
    #[track_caller]
    pub(crate) fn register(&self, deadline_ns: u64, waker: Waker) -> Key {
        let (key, wake_driver) = {
            let mut state = self.state.lock();
            if state.shutdown {
                drop(state);
                panic!("{SHUTDOWN_MESSAGE}");
            }
            let key = state.wheel.insert(deadline_ns, waker);
            (key, deadline_ns < state.sleeping_until)
        };
        if wake_driver {
            self.unpark.unpark();
        }
        key
    }

    /// Replaces the waker of a registered timer unless it would wake the same task. False if
    /// the timer is no longer registered (it fired, or the runtime shut down).
    pub(crate) fn update_waker(&self, key: Key, waker: &Waker) -> bool {
        let mut state = self.state.lock();
        match state.wheel.get_mut(key) {
            Some(registered) => {
                if !registered.will_wake(waker) {
                    registered.clone_from(waker);
                }
                true
            }
            None => false,
        }
    }

    /// Moves a registered timer's deadline. False if it is no longer registered.
    pub(crate) fn reset(&self, key: Key, deadline_ns: u64) -> bool {
        let (registered, wake_driver) = {
            let mut state = self.state.lock();
            let registered = state.wheel.reset(key, deadline_ns);
            (registered, registered && deadline_ns < state.sleeping_until)
        };
        if wake_driver {
            self.unpark.unpark();
        }
        registered
    }

    /// Unregisters a timer (no-op if it already fired). The waker is dropped after unlocking.
    pub(crate) fn deregister(&self, key: Key) {
        let waker = self.state.lock().wheel.remove(key);
        drop(waker);
    }

    /// Fires every timer due at the clock's current time; wakes them after unlocking. Returns
    /// how many fired.
    pub(crate) fn process(&self, fired: &mut Vec<Waker>) -> usize {
        let now = self.clock.now_ns();
        {
            let mut state = self.state.lock();
            state.sleeping_until = AWAKE;
            state.wheel.advance(now, |waker| fired.push(waker));
        }
        let count = fired.len();
        for waker in fired.drain(..) {
            waker.wake();
        }
        count
    }

    /// Wakes the thread parked on the driver (the clock changed under it).
    pub(crate) fn unpark_driver(&self) {
        self.unpark.unpark();
    }
}

impl Handle {
    /// True once the driver has shut down (its runtime is gone or shutting down).
    pub fn is_shutdown(&self) -> bool {
        self.inner.state.lock().shutdown
    }

    /// A [`ContextProvider`](runtime_core::context::ContextProvider) that makes this driver the
    /// current one on every thread of the runtime, so that `sleep` and friends find it.
    pub fn context_provider(&self) -> runtime_core::context::ContextProvider {
        let handle = self.clone();
        Arc::new(move || crate::context::enter(handle.clone()))
    }
}

impl fmt::Debug for TimeDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeDriver")
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.lock();
        f.debug_struct("Handle")
            .field("timers", &state.wheel.len())
            .field("paused", &self.inner.clock.is_paused())
            .field("shutdown", &state.shutdown)
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::instant::Instant;
    use crate::sleep::Sleep;
    use runtime_core::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use runtime_core::park::ThreadPark;
    use std::task::{Context, Poll, Wake};

    struct CountWakes(AtomicUsize);

    impl Wake for CountWakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// The driver's side of a race: on its own thread, advance the paused clock by `by` and
    /// fire what is due.
    fn advance_and_fire_on_a_thread(handle: &Handle, by: Duration) -> loom::thread::JoinHandle<()> {
        let handle = handle.clone();
        loom::thread::spawn(move || {
            handle.inner.clock.advance(by).unwrap();
            handle.inner.process(&mut Vec::new());
        })
    }

    fn paused_driver() -> (TimeDriver, Handle) {
        let driver = TimeDriver::new(Box::new(ThreadPark::new()), true);
        let handle = driver.handle();
        (driver, handle)
    }

    /// The driver thread advances past the deadline and fires while a worker registers a
    /// sleep (first poll) and then drops it: the waker is woken at most once, only if the
    /// sleep was registered, and nothing stays in the wheel.
    #[test]
    fn register_fire_cancel() {
        runtime_core::loom::model(|| {
            let (_driver, handle) = paused_driver();
            let deadline = Instant::from_std(handle.inner.clock.now()) + Duration::from_millis(1);
            let fire = advance_and_fire_on_a_thread(&handle, Duration::from_millis(2));

            let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
            let waker = Waker::from(wakes.clone());
            let mut sleep = Sleep::new(handle.clone(), deadline);
            let polled = sleep.poll_elapsed(&mut Context::from_waker(&waker));
            drop(sleep);
            fire.join().unwrap();

            assert_eq!(handle.inner.state.lock().wheel.len(), 0);
            let woken = wakes.0.load(SeqCst);
            match polled {
                Poll::Pending => assert!(woken <= 1),
                Poll::Ready(()) => assert_eq!(woken, 0),
            }
        });
    }

    /// With a paused clock, the driver parks without a timeout (no timer yet) while a thread
    /// registers a sleep: the registration must wake it (else loom reports a deadlock), and
    /// the woken driver then jumps to the deadline and fires.
    #[test]
    fn paused_park_vs_register() {
        runtime_core::loom::model(|| {
            let (mut driver, handle) = paused_driver();
            let deadline = Instant::from_std(handle.inner.clock.now()) + Duration::from_secs(60);
            let driver_thread = loom::thread::spawn(move || {
                driver.park();
                driver
            });

            let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
            let waker = Waker::from(wakes.clone());
            let mut sleep = Sleep::new(handle.clone(), deadline);
            assert!(sleep
                .poll_elapsed(&mut Context::from_waker(&waker))
                .is_pending());
            let mut driver = driver_thread.join().unwrap();
            if wakes.0.load(SeqCst) == 0 {
                // The driver parked first and was woken by the registration: its next untimed
                // park finds the timer and jumps to it (through the wheel's levels).
                driver.park();
            }
            assert_eq!(wakes.0.load(SeqCst), 1);
            assert!(sleep.is_elapsed());
        });
    }

    /// A registered sleep is reset to a later deadline while the driver fires the old one:
    /// either the entry fired (the reset sees a stale key and the sleep registers again) or it
    /// moved; after the drop the wheel is empty and the waker was woken at most once.
    #[test]
    fn reset_races_fire() {
        runtime_core::loom::model(|| {
            let (_driver, handle) = paused_driver();
            let start = Instant::from_std(handle.inner.clock.now());
            let wakes = Arc::new(CountWakes(AtomicUsize::new(0)));
            let waker = Waker::from(wakes.clone());
            let mut sleep = Sleep::new(handle.clone(), start + Duration::from_millis(1));
            assert!(sleep
                .poll_elapsed(&mut Context::from_waker(&waker))
                .is_pending());

            let fire = advance_and_fire_on_a_thread(&handle, Duration::from_millis(2));
            sleep.reset_to(start + Duration::from_millis(10));
            fire.join().unwrap();
            // Not due yet: the poll (re-)registers it, it does not complete.
            assert!(sleep
                .poll_elapsed(&mut Context::from_waker(&waker))
                .is_pending());
            assert_eq!(handle.inner.state.lock().wheel.len(), 1);
            drop(sleep);
            assert_eq!(handle.inner.state.lock().wheel.len(), 0);
            assert!(wakes.0.load(SeqCst) <= 1);
        });
    }
}
