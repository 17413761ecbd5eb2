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

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::park::Parker;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

const WOKEN: usize = 1;
const DONE: usize = 2;

struct Call {
    state: AtomicUsize,
    busy: Arc<AtomicUsize>,
    parker: Parker,
}

impl Wake for Call {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.busy.fetch_add(1, SeqCst);
        let prev = self.state.fetch_or(WOKEN, SeqCst);
        if prev != 0 {
            // Already woken (its token is counted) or finished: take ours back.
            self.busy.fetch_sub(1, SeqCst);
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
        self.0.busy.fetch_sub(tokens, SeqCst);
    }
}

/// Polls `future` to completion on this thread, keeping `busy` up to date (see module docs).
pub(crate) fn block_on_counted<F: Future>(future: F, busy: &Arc<AtomicUsize>) -> F::Output {
    let call = Arc::new(Call {
        state: AtomicUsize::new(0),
        busy: busy.clone(),
        parker: super::cached_parker(),
    });
    let waker = Waker::from(call.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    busy.fetch_add(1, SeqCst);
    let _running = Running(&call);
    loop {
        if let Poll::Ready(v) = crate::coop::budget(|| future.as_mut().poll(&mut cx)) {
            return v;
        }
        if call.state.fetch_and(!WOKEN, SeqCst) & WOKEN != 0 {
            // Woken while polling: its token joins the running one.
            busy.fetch_sub(1, SeqCst);
            continue;
        }
        busy.fetch_sub(1, SeqCst);
        call.parker.park();
        if call.state.fetch_and(!WOKEN, SeqCst) & WOKEN == 0 {
            busy.fetch_add(1, SeqCst);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::poll_fn;

    #[test]
    fn busy_while_running_and_woken_and_never_after() {
        let busy = Arc::new(AtomicUsize::new(0));
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
            &busy,
        );
        assert_eq!(out, 7);
        assert_eq!(busy.load(SeqCst), 0);
        // A stale waker fired after the call leaves the counter alone.
        stale.unwrap().wake();
        assert_eq!(busy.load(SeqCst), 0);
    }

    #[test]
    fn woken_from_another_thread_counts_before_the_thread_runs() {
        let busy = Arc::new(AtomicUsize::new(0));
        let (waker_tx, waker_rx) = std::sync::mpsc::channel::<Waker>();
        let (checked_tx, checked_rx) = std::sync::mpsc::channel::<()>();
        let observer = {
            let busy = busy.clone();
            std::thread::spawn(move || {
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
            &busy,
        );
        observer.join().unwrap();
        assert_eq!(busy.load(SeqCst), 0);
    }

    #[test]
    fn unwinding_gives_the_token_back() {
        let busy = Arc::new(AtomicUsize::new(0));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on_counted(poll_fn(|_| -> Poll<()> { panic!("boom") }), &busy)
        }));
        assert!(result.is_err());
        assert_eq!(busy.load(SeqCst), 0);
    }
}
