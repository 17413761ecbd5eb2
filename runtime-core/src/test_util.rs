//! Helpers shared by the unit tests of several modules (not compiled outside `cfg(test)`).

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
