//! Cooperative budgeting: every task poll gets [`INITIAL_BUDGET`] units; each leaf resource
//! (JoinHandle, channel receive, timer, socket readiness) spends one per poll through
//! [`poll_proceed`]. When the budget is gone the resource returns `Pending` after waking the
//! task, so a task whose resources are always ready still yields to its neighbours.
//!
//! The self-wake happens while the task is RUNNING, so the scheduler re-queues it at the back
//! of its queue (never the next slot): budget exhaustion behaves exactly like `yield_now`.
//!
//! Outside a runtime (and inside [`unconstrained`](crate::task::unconstrained)) the budget is
//! unlimited. Other crates of the workspace (time, I/O) use [`poll_proceed`] on their leaves.

use crate::context;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

/// Units of work a task may do in one poll before it is made to yield.
pub const INITIAL_BUDGET: u8 = 128;

/// The budget of the current poll: `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget(Option<u8>);

impl Budget {
    pub(crate) const fn initial() -> Budget {
        Budget(Some(INITIAL_BUDGET))
    }

    pub(crate) const fn unconstrained() -> Budget {
        Budget(None)
    }

    fn has_remaining(self) -> bool {
        self.0.is_none_or(|n| n > 0)
    }
}

/// Runs `f` (one task poll) with a fresh budget, restoring the previous one afterwards.
pub(crate) fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::initial(), f)
}

/// Runs `f` without any budget limit.
pub(crate) fn with_unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_budget(Budget::unconstrained(), f)
}

fn with_budget<R>(budget: Budget, f: impl FnOnce() -> R) -> R {
    struct Reset(Budget);
    impl Drop for Reset {
        fn drop(&mut self) {
            context::set_budget(self.0);
        }
    }
    let _reset = Reset(context::replace_budget(budget));
    f()
}

/// Whether the current task still has budget left in this poll.
///
/// # Examples
///
/// ```
/// // Outside a runtime the budget is unlimited.
/// assert!(runtime_core::coop::has_budget_remaining());
/// ```
pub fn has_budget_remaining() -> bool {
    context::budget().has_remaining()
}

/// Spends one unit of budget, or returns `Pending` (after waking the task) when it is gone.
///
/// Call [`RestoreOnPending::made_progress`] once the resource actually produced something;
/// otherwise the unit is given back when the guard drops (the poll was Pending anyway).
///
/// # Examples
///
/// ```
/// use std::task::{Context, Poll, Waker};
/// let mut cx = Context::from_waker(Waker::noop());
/// match runtime_core::coop::poll_proceed(&mut cx) {
///     Poll::Ready(guard) => guard.made_progress(),
///     Poll::Pending => unreachable!("unlimited outside a runtime"),
/// }
/// ```
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let budget = context::budget();
    match budget.0 {
        None => Poll::Ready(RestoreOnPending(Cell::new(budget))),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            context::set_budget(Budget(Some(n - 1)));
            Poll::Ready(RestoreOnPending(Cell::new(budget)))
        }
    }
}

/// Gives the spent budget unit back unless [`made_progress`](Self::made_progress) was called.
#[derive(Debug)]
pub struct RestoreOnPending(Cell<Budget>);

impl RestoreOnPending {
    /// The resource produced a value: keep the unit spent.
    pub fn made_progress(&self) {
        self.0.set(Budget::unconstrained());
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        let budget = self.0.get();
        if budget.0.is_some() {
            context::set_budget(budget);
        }
    }
}

/// Spends one unit of budget, yielding to the scheduler if the budget is used up.
///
/// Use it in loops that do work without touching any runtime resource.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let big_vec = vec![3u64; 100_000];
/// let mut total = 0;
/// for item in &big_vec {
///     total += item;
///     // Yields to other tasks now and then, as a leaf resource would.
///     runtime::task::consume_budget().await;
/// }
/// assert_eq!(total, 300_000);
/// # });
/// ```
pub async fn consume_budget() {
    let mut done = false;
    std::future::poll_fn(|cx| {
        if done {
            return Poll::Ready(());
        }
        let restore = ready!(poll_proceed(cx));
        restore.made_progress();
        done = true;
        Poll::Ready(())
    })
    .await
}

/// Future returned by [`unconstrained`](crate::task::unconstrained).
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    inner: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `inner` is structurally pinned: it is never moved out of `self`, and
        // `Unconstrained` has neither a Drop impl nor an unconditional Unpin impl.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.inner) };
        with_unconstrained(|| inner.poll(cx))
    }
}

pub(crate) fn unconstrained<F: Future>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}
