//! The injection queue: a crossbeam `Injector` that can be closed at shutdown without losing
//! (leaking) anything pushed concurrently.
//!
//! Tasks in the queue hold a reference to the scheduler, which owns the queue: a task left in
//! it after shutdown would keep the whole runtime alive forever. Protocol (loom-checked):
//! `push` = push, SeqCst fence, read `closed`; if closed, drain. `close` = set `closed`, SeqCst
//! fence; the shutdown path drains afterwards. With both fences, either the closer's drain
//! sees the pushed task, or the pusher sees `closed` and drains itself.

use crate::loom::deque::{Injector, Steal, Worker};
use crate::loom::sync::atomic::{fence, AtomicBool, Ordering::*};

pub(crate) struct Inject<T> {
    queue: Injector<T>,
    closed: AtomicBool,
}

impl<T> Inject<T> {
    pub(crate) fn new() -> Inject<T> {
        Inject {
            queue: Injector::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// Queues `item`; once closed, the item (and anything else still queued) is dropped.
    pub(crate) fn push(&self, item: T) {
        self.queue.push(item);
        fence(SeqCst);
        if self.closed.load(Relaxed) {
            self.drain();
        }
    }

    /// Refuses later pushes (they drop their item). Call [`drain`](Self::drain) afterwards.
    pub(crate) fn close(&self) {
        self.closed.store(true, Relaxed);
        fence(SeqCst);
    }

    /// Drops everything queued.
    pub(crate) fn drain(&self) {
        loop {
            match self.queue.steal() {
                Steal::Success(item) => drop(item),
                Steal::Empty => break,
                Steal::Retry => {}
            }
        }
    }

    /// Moves a batch into `dest` and pops one of them.
    pub(crate) fn steal_batch_and_pop(&self, dest: &Worker<T>) -> Steal<T> {
        self.queue.steal_batch_and_pop(dest)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::Inject;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;

    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// A push racing shutdown never leaves its item in the queue.
    #[test]
    fn push_vs_close_and_drain_leaks_nothing() {
        loom::model(|| {
            let inject = loom::sync::Arc::new(Inject::new());
            let dropped = Arc::new(AtomicUsize::new(0));
            let (i, d) = (inject.clone(), dropped.clone());
            let pusher = loom::thread::spawn(move || i.push(Counted(d)));
            inject.close();
            inject.drain();
            pusher.join().unwrap();
            assert_eq!(
                dropped.load(SeqCst),
                1,
                "the pushed item stayed queued after shutdown"
            );
            assert!(inject.is_empty());
        });
    }
}
