//! Helpers shared by the unit tests and loom models of several modules (not compiled outside
//! `cfg(test)`).

use std::future::Future;
use std::task::{Context, Poll};

#[cfg(not(loom))]
pub(crate) use counting::{counting_waker, CountingWaker};

/// Polls `f` to completion on this thread, parking between polls on the runtime's parker
/// (loom-aware: under loom a missed wake-up is reported as a deadlock).
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    let parker = crate::park::Parker::new();
    let waker = parker.waker();
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        parker.park();
    }
}

#[cfg(not(loom))]
mod counting {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    /// A waker that counts how often it was woken.
    #[derive(Default)]
    pub(crate) struct CountingWaker {
        wakes: AtomicUsize,
    }

    impl CountingWaker {
        /// Wake-ups so far.
        pub(crate) fn count(&self) -> usize {
            self.wakes.load(SeqCst)
        }
    }

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.wakes.fetch_add(1, SeqCst);
        }
    }

    /// A waker and the counter behind it.
    pub(crate) fn counting_waker() -> (Waker, Arc<CountingWaker>) {
        let count = Arc::new(CountingWaker::default());
        (Waker::from(count.clone()), count)
    }
}
