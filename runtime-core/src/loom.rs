//! The loom facade: every concurrency primitive the runtime's protocols use comes from here.
//!
//! Under `cfg(loom)` the atomics, cells, mutexes, condition variables and threads are loom's, so
//! the model checker can explore every interleaving of the task state machine, the parking
//! protocol and the next-slot hand-off. Otherwise they are std's (atomics, threads) and
//! parking_lot's (mutexes, reader-writer locks, condvars; no poisoning). Both variants expose one
//! shape: a mutex whose `lock` (an rwlock whose `read`/`write`) returns the guard directly and a
//! condvar whose `wait` takes and returns the guard.
//!
//! crossbeam-deque is invisible to loom (std atomics, epoch GC), so under loom [`deque`] is a small
//! mutex-backed queue with the subset of crossbeam's interface the scheduler uses.
//!
//! The module is public but hidden: the driver crates (`runtime-time`, `runtime-io`) write their
//! protocols against the same facade, so one `--cfg loom` build checks them all.

pub mod sync {
    pub mod atomic {
        #[cfg(not(loom))]
        pub use std::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
        };

        #[cfg(loom)]
        pub use loom::sync::atomic::{
            fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
        };
    }

    pub use super::mutex::{Condvar, Mutex, RwLock, RwLockReadGuard};
}

#[cfg(not(loom))]
mod mutex {
    use std::time::Duration;

    /// A non-poisoning mutex (parking_lot).
    #[derive(Debug, Default)]
    pub struct Mutex<T>(parking_lot::Mutex<T>);

    pub type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub const fn new(value: T) -> Self {
            Mutex(parking_lot::const_mutex(value))
        }

        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock()
        }
    }

    /// A non-poisoning reader-writer lock (parking_lot).
    #[derive(Debug, Default)]
    pub struct RwLock<T>(parking_lot::RwLock<T>);

    pub type RwLockReadGuard<'a, T> = parking_lot::RwLockReadGuard<'a, T>;
    pub type RwLockWriteGuard<'a, T> = parking_lot::RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        pub const fn new(value: T) -> Self {
            RwLock(parking_lot::const_rwlock(value))
        }

        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read()
        }

        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write()
        }
    }

    /// A condition variable paired with [`Mutex`].
    #[derive(Debug, Default)]
    pub struct Condvar(parking_lot::Condvar);

    impl Condvar {
        pub const fn new() -> Self {
            Condvar(parking_lot::Condvar::new())
        }

        pub fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(&mut guard);
            guard
        }

        /// Waits at most `timeout`; the flag says whether the wait timed out.
        pub fn wait_timeout<'a, T>(
            &self,
            mut guard: MutexGuard<'a, T>,
            timeout: Duration,
        ) -> (MutexGuard<'a, T>, bool) {
            let res = self.0.wait_for(&mut guard, timeout);
            (guard, res.timed_out())
        }

        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

#[cfg(loom)]
mod mutex {
    use std::time::Duration;

    /// loom's mutex with the non-poisoning shape of the std build.
    #[derive(Debug)]
    pub struct Mutex<T>(loom::sync::Mutex<T>);

    pub type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub fn lock(&self) -> MutexGuard<'_, T> {
            self.0.lock().unwrap()
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Mutex::new(T::default())
        }
    }

    /// loom's reader-writer lock with the non-poisoning shape of the std build.
    #[derive(Debug)]
    pub struct RwLock<T>(loom::sync::RwLock<T>);

    pub type RwLockReadGuard<'a, T> = loom::sync::RwLockReadGuard<'a, T>;
    pub type RwLockWriteGuard<'a, T> = loom::sync::RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        pub fn new(value: T) -> Self {
            RwLock(loom::sync::RwLock::new(value))
        }

        pub fn read(&self) -> RwLockReadGuard<'_, T> {
            self.0.read().unwrap()
        }

        pub fn write(&self) -> RwLockWriteGuard<'_, T> {
            self.0.write().unwrap()
        }
    }

    #[derive(Debug, Default)]
    pub struct Condvar(loom::sync::Condvar);

    impl Condvar {
        pub fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
            self.0.wait(guard).unwrap()
        }

        /// loom has no time: a timed wait is modelled as a wait that may return at once.
        pub fn wait_timeout<'a, T>(
            &self,
            guard: MutexGuard<'a, T>,
            _timeout: Duration,
        ) -> (MutexGuard<'a, T>, bool) {
            // Returning without waiting is a legal (spurious) outcome of a timed wait; it
            // keeps loom from reporting a deadlock where real code would time out.
            (guard, true)
        }

        pub fn notify_one(&self) {
            self.0.notify_one();
        }

        pub fn notify_all(&self) {
            self.0.notify_all();
        }
    }
}

pub mod cell {
    /// An `UnsafeCell` with loom's closure-based access API, so that loom can check every
    /// access for data races.
    #[cfg(not(loom))]
    #[derive(Debug)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    #[cfg(not(loom))]
    impl<T> UnsafeCell<T> {
        pub const fn new(data: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(data))
        }

        #[inline(always)]
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline(always)]
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    #[cfg(loom)]
    pub use loom::cell::UnsafeCell;
}

/// The work-stealing deques: crossbeam's, or a loom-visible mutex-backed stand-in.
pub mod deque {
    #[cfg(not(loom))]
    pub use crossbeam_deque::{Injector, Steal, Stealer, Worker};

    #[cfg(loom)]
    pub use super::loom_deque::{Injector, Steal, Stealer, Worker};
}

#[cfg(loom)]
mod loom_deque {
    //! A mutex-backed deque with the subset of crossbeam-deque's interface the scheduler uses.
    use super::sync::Mutex;
    use std::collections::VecDeque;
    use std::sync::Arc;

    pub enum Steal<T> {
        Empty,
        Success(T),
        /// Never produced by the mutex-backed queue; kept so callers match crossbeam's enum.
        #[allow(dead_code)]
        Retry,
    }

    pub struct Worker<T>(Arc<Mutex<VecDeque<T>>>);
    pub struct Stealer<T>(Arc<Mutex<VecDeque<T>>>);
    pub struct Injector<T>(Mutex<VecDeque<T>>);

    impl<T> Worker<T> {
        pub fn new_fifo() -> Self {
            Worker(Arc::new(Mutex::new(VecDeque::new())))
        }
        pub fn push(&self, t: T) {
            self.0.lock().push_back(t);
        }
        pub fn pop(&self) -> Option<T> {
            self.0.lock().pop_front()
        }
        pub fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub fn stealer(&self) -> Stealer<T> {
            Stealer(self.0.clone())
        }
    }

    fn steal_half<T>(src: &Mutex<VecDeque<T>>, dest: &Worker<T>) -> Steal<T> {
        let mut batch: VecDeque<T> = {
            let mut src = src.lock();
            let n = src.len().div_ceil(2);
            src.drain(..n).collect()
        };
        match batch.pop_front() {
            None => Steal::Empty,
            Some(first) => {
                for t in batch {
                    dest.push(t);
                }
                Steal::Success(first)
            }
        }
    }

    impl<T> Stealer<T> {
        pub fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
        pub fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.0, dest)
        }
    }

    impl<T> Injector<T> {
        pub fn new() -> Self {
            Injector(Mutex::new(VecDeque::new()))
        }
        pub fn push(&self, t: T) {
            self.0.lock().push_back(t);
        }
        pub fn steal(&self) -> Steal<T> {
            match self.0.lock().pop_front() {
                Some(t) => Steal::Success(t),
                None => Steal::Empty,
            }
        }
        pub fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
            steal_half(&self.0, dest)
        }
        pub fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }
    }
}

/// `loom::model`, reporting how many executions it explored (seen with `--nocapture`).
#[cfg(loom)]
pub fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let executions = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = executions.clone();
    loom::model(move || {
        counter.fetch_add(1, SeqCst);
        f();
    });
    eprintln!("loom explored {} executions", executions.load(SeqCst));
}
