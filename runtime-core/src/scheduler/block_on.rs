//! `Handle::block_on` on a thread that does not drive the runtime: poll the future on a thread
//! parker, and count the thread as *busy* while it runs or has been woken, so that a paused
//! clock does not jump ahead while the `block_on` future still has work to do
//! ([`Handle::can_auto_advance`](super::Handle::can_auto_advance)).
//!
//! Protocol: the runtime's `busy` counter holds one token per `block_on` thread that is
//! polling, plus one per woken-but-not-yet-running `block_on`. Each call has a state word
//! (`WOKEN`, `DONE`):
//! * wake: add a token, then set `WOKEN`; if it was already set (or the call is `DONE`), take
//!   the token back. Adding first means the counter can only over-count for a moment, never
//!   under-count: a wake from the driver is visible in `busy` before the driver asks again.
//! * before parking: if `WOKEN` is set, clear it and merge its token into the running one (poll
//!   again); else give the running token back and park.
//! * after parking: clear `WOKEN` and keep its token as the running token (or take a new one if
//!   the parker returned for another reason).
//! * done (ready or unwinding): set `DONE`, give back the running token and, if `WOKEN` was set,
//!   its token too. A stale waker fired later finds `DONE` and leaves the counter alone.
//!
//! A driver that declined to advance because the count was not zero must hear when it drops
//! to zero (it may be parked without a timeout): it sets `idle_waiter` before reading the
//! count a second time, and whoever takes the count to zero reads `idle_waiter` afterwards
//! (each side's write and read separated by a `SeqCst` fence), so either the driver sees zero
//! or the releaser sees the flag and unparks the driver.

use crate::loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::SeqCst};
use crate::park::{Parker, Unpark};
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

const WOKEN: usize = 1;
const DONE: usize = 2;

/// The busy `block_on` calls of one runtime (see the module docs).
pub(crate) struct BlockOnCount {
    busy: AtomicUsize,
    idle_waiter: AtomicBool,
    driver: Arc<dyn Unpark>,
}

impl BlockOnCount {
    /// `driver` wakes the thread parked on the runtime's driver stack.
    pub(crate) fn new(driver: Arc<dyn Unpark>) -> BlockOnCount {
        BlockOnCount {
            busy: AtomicUsize::new(0),
            idle_waiter: AtomicBool::new(false),
            driver,
        }
    }

    /// True if no `block_on` call is running or woken. Otherwise false, and the driver is
    /// unparked once the count drops to zero.
    pub(crate) fn is_idle_or_notify(&self) -> bool {
        if self.busy.load(SeqCst) == 0 {
            return true;
        }
        self.idle_waiter.store(true, SeqCst);
        // Store-load ordering against `release`'s RMW-then-load (a fence on both sides: the
        // pattern loom checks, since it models SeqCst accesses as acquire/release only).
        fence(SeqCst);
        self.busy.load(SeqCst) == 0
    }

    fn acquire(&self, tokens: usize) {
        self.busy.fetch_add(tokens, SeqCst);
    }

    fn release(&self, tokens: usize) {
        if self.busy.fetch_sub(tokens, SeqCst) != tokens {
            return;
        }
        fence(SeqCst);
        if self.idle_waiter.load(SeqCst) && self.idle_waiter.swap(false, SeqCst) {
            self.driver.unpark();
        }
    }
}

struct Call {
    state: AtomicUsize,
    count: Arc<BlockOnCount>,
    parker: Parker,
}

impl Wake for Call {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.acquire(1);
        let prev = self.state.fetch_or(WOKEN, SeqCst);
        if prev != 0 {
            // Already woken (its token is counted) or finished: take ours back.
            self.count.release(1);
        }
        if prev & DONE == 0 {
            self.parker.unpark();
        }
    }
}

/// Gives back the running token (and a pending wake's) when the call ends, also on unwind.
struct Running<'a>(&'a Call);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let prev = self.0.state.swap(DONE, SeqCst);
        let tokens = if prev & WOKEN != 0 { 2 } else { 1 };
        self.0.count.release(tokens);
    }
}

/// Polls `future` to completion on this thread, keeping `count` up to date (see module docs).
pub(crate) fn block_on_counted<F: Future>(future: F, count: &Arc<BlockOnCount>) -> F::Output {
    let call = Arc::new(Call {
        state: AtomicUsize::new(0),
        count: count.clone(),
        parker: super::cached_parker(),
    });
    let waker = Waker::from(call.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    count.acquire(1);
    let _running = Running(&call);
    loop {
        if let Poll::Ready(v) = crate::coop::budget(|| future.as_mut().poll(&mut cx)) {
            return v;
        }
        if call.state.fetch_and(!WOKEN, SeqCst) & WOKEN != 0 {
            // Woken while polling: its token joins the running one (this cannot reach zero).
            count.release(1);
            continue;
        }
        count.release(1);
        call.parker.park();
        if call.state.fetch_and(!WOKEN, SeqCst) & WOKEN == 0 {
            count.acquire(1);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;
    use std::future::poll_fn;

    /// A count whose driver unparks are counted.
    fn count() -> (Arc<BlockOnCount>, Arc<crate::test_util::CountingWaker>) {
        struct WakeDriver(Waker);
        impl Unpark for WakeDriver {
            fn unpark(&self) {
                self.0.wake_by_ref();
            }
        }
        let (waker, unparks) = counting_waker();
        (
            Arc::new(BlockOnCount::new(Arc::new(WakeDriver(waker)))),
            unparks,
        )
    }

    #[test]
    fn busy_while_running_and_woken_and_never_after() {
        let (count, _) = count();
        let busy = &count.busy;
        let mut stale = None;
        let mut polls = 0;
        let out = block_on_counted(
            poll_fn(|cx| {
                polls += 1;
                assert_eq!(busy.load(SeqCst), 1, "counted while polling");
                stale = Some(cx.waker().clone());
                if polls < 3 {
                    cx.waker().wake_by_ref();
                    // Woken: still one token for this thread (the wake's is merged later).
                    assert!(busy.load(SeqCst) >= 1);
                    Poll::Pending
                } else {
                    Poll::Ready(7)
                }
            }),
            &count,
        );
        assert_eq!(out, 7);
        assert_eq!(busy.load(SeqCst), 0);
        // A stale waker fired after the call leaves the counter alone.
        stale.unwrap().wake();
        assert_eq!(busy.load(SeqCst), 0);
    }

    #[test]
    fn woken_from_another_thread_counts_before_the_thread_runs() {
        let (count, _) = count();
        let (waker_tx, waker_rx) = std::sync::mpsc::channel::<Waker>();
        let (checked_tx, checked_rx) = std::sync::mpsc::channel::<()>();
        let observer = {
            let count = count.clone();
            std::thread::spawn(move || {
                let busy = &count.busy;
                let waker = waker_rx.recv().unwrap();
                // Wait until the block_on thread parked (gave its token back)...
                while busy.load(SeqCst) != 0 {
                    std::thread::yield_now();
                }
                // ...then the wake itself makes it busy again, before it runs (and it stays
                // busy until its next poll, which waits for this check, has finished).
                waker.wake_by_ref();
                assert!(busy.load(SeqCst) >= 1);
                checked_tx.send(()).unwrap();
            })
        };
        let mut first = true;
        block_on_counted(
            poll_fn(|cx| {
                if std::mem::take(&mut first) {
                    waker_tx.send(cx.waker().clone()).unwrap();
                    Poll::Pending
                } else {
                    checked_rx.recv().unwrap();
                    Poll::Ready(())
                }
            }),
            &count,
        );
        observer.join().unwrap();
        assert_eq!(count.busy.load(SeqCst), 0);
    }

    #[test]
    fn unwinding_gives_the_token_back() {
        let (count, _) = count();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on_counted(poll_fn(|_| -> Poll<()> { panic!("boom") }), &count)
        }));
        assert!(result.is_err());
        assert_eq!(count.busy.load(SeqCst), 0);
    }

    #[test]
    fn a_driver_that_saw_a_busy_block_on_is_unparked_when_it_goes_idle() {
        let (count, unparks) = count();
        let mut checked = false;
        block_on_counted(
            poll_fn(|_| {
                // The driver asks while this call runs: busy, so it will be told.
                assert!(!count.is_idle_or_notify());
                checked = true;
                Poll::Ready(())
            }),
            &count,
        );
        assert!(checked);
        assert_eq!(unparks.count(), 1);
        assert!(count.is_idle_or_notify());
        // Nobody asked since: the next call going idle does not unpark.
        block_on_counted(std::future::ready(()), &count);
        assert_eq!(unparks.count(), 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;

    /// A driver that finds a `block_on` busy parks until it is told the count dropped to
    /// zero: the release must never miss the driver's flag (loom reports a lost unpark as a
    /// deadlock).
    #[test]
    fn driver_hears_when_the_last_block_on_goes_idle() {
        crate::loom::model(|| {
            let driver = Parker::new();
            let count = Arc::new(BlockOnCount::new(Arc::new(driver.clone())));
            let caller = {
                let count = count.clone();
                loom::thread::spawn(move || block_on_counted(std::future::ready(()), &count))
            };
            while !count.is_idle_or_notify() {
                driver.park();
            }
            caller.join().unwrap();
        });
    }
}
