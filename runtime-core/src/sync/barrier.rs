//! [`Barrier`]: lets `n` tasks wait until all of them have reached a point, generation after
//! generation.
//!
//! # Protocol
//!
//! A mutex-protected pair (`arrived`, `generation`) plus a [`Notify`]. A caller of
//! [`Barrier::wait`] locks, counts itself in and remembers the generation. The `n`th arrival
//! is the leader: it resets `arrived`, advances `generation`, unlocks and calls
//! [`Notify::notify_waiters`]. The others create their [`Notified`](super::Notified) future
//! *while holding the lock*, so it exists before the leader's `notify_waiters` (which runs
//! after the leader's own lock), and cannot miss it. A waiter woken by the broadcast of an
//! earlier generation (possible when it joined between that leader's unlock and its
//! broadcast) locks again, sees its generation unchanged, and waits again.

use super::Notify;
use crate::loom::sync::Mutex;
use std::fmt;

/// A barrier that makes `n` tasks wait for each other; reusable.
///
/// Each call to [`wait`](Barrier::wait) waits until `n` calls (this one included) have
/// been made in the current *generation*; then all of them return, and exactly one of them
/// is the leader ([`BarrierWaitResult::is_leader`]). The barrier then starts the next
/// generation.
///
/// # Examples
///
/// ```
/// use runtime::sync::Barrier;
/// use std::sync::Arc;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let barrier = Arc::new(Barrier::new(10));
///     let mut handles = Vec::new();
///     for _ in 0..10 {
///         let barrier = barrier.clone();
///         handles.push(runtime::spawn(async move { barrier.wait().await.is_leader() }));
///     }
///     let mut leaders = 0;
///     for handle in handles {
///         leaders += handle.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug)]
struct State {
    /// Calls counted in the current generation.
    arrived: usize,
    generation: usize,
}

/// What [`Barrier::wait`] returns: whether this caller was the generation's leader.
///
/// # Examples
///
/// ```
/// use runtime::sync::Barrier;
///
/// let rt = runtime::Runtime::new().unwrap();
/// rt.block_on(async {
///     let barrier = Barrier::new(1);
///     assert!(barrier.wait().await.is_leader());
/// });
/// ```
#[derive(Debug, Clone)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this caller was the leader: exactly one caller per generation is (the last
    /// to arrive).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Barrier;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let barrier = Barrier::new(1);
    ///     let result = barrier.wait().await;
    ///     assert!(result.is_leader());
    /// });
    /// ```
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// Creates a barrier that releases its waiters in groups of `n`.
    ///
    /// `Barrier::new(0)` behaves as `Barrier::new(1)` (as Tokio's): every `wait` returns at
    /// once, as leader.
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Barrier;
    ///
    /// let barrier = Barrier::new(3);
    /// ```
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
            }),
            notify: Notify::new(),
        }
    }

    /// Waits until all `n` tasks of the current generation have called `wait`.
    ///
    /// Spends no cooperative budget.
    ///
    /// # Cancel safety
    ///
    /// This method is not cancel safe: the call counts as an arrival as soon as it is first
    /// polled, and cancelling it afterwards does not take that back (the generation may then
    /// complete with one task fewer actually waiting).
    ///
    /// # Examples
    ///
    /// ```
    /// use runtime::sync::Barrier;
    /// use std::sync::Arc;
    ///
    /// let rt = runtime::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let barrier = Arc::new(Barrier::new(2));
    ///     let other = runtime::spawn({
    ///         let barrier = barrier.clone();
    ///         async move { barrier.wait().await.is_leader() }
    ///     });
    ///     let me = barrier.wait().await.is_leader();
    ///     assert!(me ^ other.await.unwrap(), "exactly one leader");
    /// });
    /// ```
    pub async fn wait(&self) -> BarrierWaitResult {
        let (mut notified, generation) = {
            let mut state = self.state.lock();
            let generation = state.generation;
            state.arrived += 1;
            if state.arrived == self.n {
                state.arrived = 0;
                state.generation = generation.wrapping_add(1);
                drop(state);
                self.notify.notify_waiters();
                return BarrierWaitResult(true);
            }
            // Created under the lock: it exists before the leader's broadcast.
            (self.notify.notified(), generation)
        };
        loop {
            notified.await;
            let state = self.state.lock();
            if state.generation != generation {
                return BarrierWaitResult(false);
            }
            // An earlier generation's broadcast: wait for ours.
            notified = self.notify.notified();
            drop(state);
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &state.arrived)
            .field("generation", &state.generation)
            .finish()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    use crate::test_util::block_on;

    /// Two threads pass a 2-barrier twice: nobody hangs (a waiter of the second generation
    /// may see the first generation's broadcast) and each generation has exactly one leader.
    #[test]
    fn two_generations() {
        crate::loom::model(|| {
            let barrier = Arc::new(Barrier::new(2));
            let other = {
                let barrier = barrier.clone();
                thread::spawn(move || {
                    let a = block_on(barrier.wait()).is_leader();
                    let b = block_on(barrier.wait()).is_leader();
                    (a, b)
                })
            };
            let a = block_on(barrier.wait()).is_leader();
            let b = block_on(barrier.wait()).is_leader();
            let (oa, ob) = other.join().unwrap();
            assert!(a ^ oa, "one leader in generation 0");
            assert!(b ^ ob, "one leader in generation 1");
        });
    }
}
