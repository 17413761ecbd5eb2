//! The capacity of a bounded channel: a counting semaphore whose waiters are served strictly
//! first-in, first-out, and which can be closed.
//!
//! # Protocol
//!
//! One atomic word plus a mutex-protected queue of waiting acquirers:
//!
//! ```text
//!  bit:  0       1        2..
//!        CLOSED  WAITERS  available permits
//! ```
//!
//! * `CLOSED` is set once, under the lock, by [`Semaphore::close`]; acquires fail from then on.
//! * `WAITERS` is set iff the waiter queue is non-empty, and changes only under the lock.
//! * Invariant: while `WAITERS` is set, the permit count is 0. Releases never add to the count
//!   while somebody waits; they hand the permits to the oldest waiters instead (under the
//!   lock). So a newcomer can never overtake a queued waiter: that is the fairness guarantee.
//!
//! The fast paths are single compare-and-swaps on the word and never lock: an acquire
//! decrements a non-zero count (which implies nobody waits), a release adds to the count
//! while `WAITERS` is clear. An acquire that finds no permit locks, re-reads the word and
//! either takes a permit released meanwhile or sets `WAITERS` by CAS and queues; a release
//! that finds `WAITERS` set locks and serves the queue. Because both sides CAS the one word,
//! either the release comes first in its modification order (the acquirer then sees the
//! permit) or the `WAITERS` flag does (the releaser then locks and finds the waiter).
//!
//! Every waiter gets a ticket from an increasing counter, and the queue is sorted by ticket.
//! Waiters leave it only from the front (granted a permit) or by their own cancellation, so
//! a queued waiter knows its state under the lock without any flag of its own: it was
//! rejected if its ticket is at least `closed_from` (the first ticket that `close` turned
//! away), granted if the queue's front has a larger ticket (or the queue is empty), and is
//! still waiting otherwise. A waiter that is cancelled after being granted gives its permit
//! back through the release path, so a permit is never lost.
//!
//! The word's RMWs are `AcqRel` and its loads `Acquire`; waiter wakers are woken after the
//! lock is released.

use crate::loom::sync::atomic::{
    AtomicUsize,
    Ordering::{AcqRel, Acquire},
};
use crate::loom::sync::Mutex;
use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

const CLOSED: usize = 0b01;
const WAITERS: usize = 0b10;
/// One permit, as an addend to the state word.
const ONE: usize = 0b100;

/// The largest capacity a bounded channel can have.
pub(super) const MAX_PERMITS: usize = usize::MAX >> 3;

fn permits(state: usize) -> usize {
    state / ONE
}

/// Why an acquire without waiting failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TryAcquireError {
    Closed,
    NoPermits,
}

/// The semaphore was closed before a permit was granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Closed;

pub(super) struct Semaphore {
    state: AtomicUsize,
    bound: usize,
    waiters: Mutex<Waiters>,
}

struct Waiters {
    /// Queued acquirers, oldest first (sorted by ticket).
    queue: VecDeque<Waiter>,
    next_ticket: u64,
    /// Tickets from this one on were turned away by `close` (`u64::MAX`: open).
    closed_from: u64,
}

struct Waiter {
    ticket: u64,
    waker: Waker,
}

/// Where a ticket stands, as seen under the lock.
enum TicketState {
    Granted,
    Rejected,
    Queued(usize),
}

impl Waiters {
    fn state_of(&self, ticket: u64) -> TicketState {
        if ticket >= self.closed_from {
            return TicketState::Rejected;
        }
        match self.queue.binary_search_by_key(&ticket, |w| w.ticket) {
            Ok(index) => TicketState::Queued(index),
            Err(_) => TicketState::Granted,
        }
    }
}

impl Semaphore {
    pub(super) fn new(bound: usize) -> Semaphore {
        assert!(
            bound <= MAX_PERMITS,
            "mpsc bounded channel capacity {bound} is too large: the maximum is {MAX_PERMITS}"
        );
        Semaphore {
            state: AtomicUsize::new(bound * ONE),
            bound,
            waiters: Mutex::new(Waiters {
                queue: VecDeque::new(),
                next_ticket: 0,
                closed_from: u64::MAX,
            }),
        }
    }

    pub(super) fn bound(&self) -> usize {
        self.bound
    }

    pub(super) fn available(&self) -> usize {
        permits(self.state.load(Acquire))
    }

    /// Every permit is back (none held by a permit, a waiter or a buffered message).
    pub(super) fn is_idle(&self) -> bool {
        self.available() == self.bound
    }

    /// Takes a permit if one is available right now.
    pub(super) fn try_acquire(&self) -> Result<(), TryAcquireError> {
        let mut curr = self.state.load(Acquire);
        loop {
            if curr & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if permits(curr) == 0 {
                return Err(TryAcquireError::NoPermits);
            }
            match self
                .state
                .compare_exchange_weak(curr, curr - ONE, AcqRel, Acquire)
            {
                Ok(_) => return Ok(()),
                Err(actual) => curr = actual,
            }
        }
    }

    /// Acquires one permit, queueing behind earlier waiters. `ticket` is the caller's queue
    /// position: `None` before the first `Pending`, and it must be handed to [`cancel`]
    /// if the caller gives up while it is `Some`. It is `None` again after `Ready`.
    ///
    /// [`cancel`]: Semaphore::cancel
    pub(super) fn poll_acquire(
        &self,
        cx: &mut Context<'_>,
        ticket: &mut Option<u64>,
    ) -> Poll<Result<(), Closed>> {
        let Some(t) = *ticket else {
            return match self.try_acquire() {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TryAcquireError::Closed) => Poll::Ready(Err(Closed)),
                Err(TryAcquireError::NoPermits) => self.acquire_slow(cx, ticket),
            };
        };
        let mut waiters = self.waiters.lock();
        match waiters.state_of(t) {
            TicketState::Granted => {
                *ticket = None;
                Poll::Ready(Ok(()))
            }
            TicketState::Rejected => {
                *ticket = None;
                Poll::Ready(Err(Closed))
            }
            TicketState::Queued(index) => {
                let waiter = &mut waiters.queue[index];
                if !waiter.waker.will_wake(cx.waker()) {
                    let old = std::mem::replace(&mut waiter.waker, cx.waker().clone());
                    drop(waiters);
                    drop(old);
                }
                Poll::Pending
            }
        }
    }

    fn acquire_slow(
        &self,
        cx: &mut Context<'_>,
        ticket: &mut Option<u64>,
    ) -> Poll<Result<(), Closed>> {
        let mut waiters = self.waiters.lock();
        let mut curr = self.state.load(Acquire);
        loop {
            if curr & CLOSED != 0 {
                return Poll::Ready(Err(Closed));
            }
            let (next, took) = if permits(curr) > 0 {
                // A release came in between; WAITERS is clear (the invariant), so nobody is
                // queued ahead of us.
                (curr - ONE, true)
            } else {
                (curr | WAITERS, false)
            };
            if next == curr {
                break; // WAITERS already set
            }
            match self
                .state
                .compare_exchange_weak(curr, next, AcqRel, Acquire)
            {
                Ok(_) if took => return Poll::Ready(Ok(())),
                Ok(_) => break,
                Err(actual) => curr = actual,
            }
        }
        let t = waiters.next_ticket;
        waiters.next_ticket += 1;
        waiters.queue.push_back(Waiter {
            ticket: t,
            waker: cx.waker().clone(),
        });
        *ticket = Some(t);
        Poll::Pending
    }

    /// Gives up a wait. Returns `true` if the waiter had already been granted its permit: it
    /// is released again (to the next waiter, or to the count).
    pub(super) fn cancel(&self, ticket: u64) -> bool {
        let mut waiters = self.waiters.lock();
        match waiters.state_of(ticket) {
            TicketState::Rejected => false,
            TicketState::Queued(index) => {
                waiters.queue.remove(index);
                if waiters.queue.is_empty() {
                    self.state.fetch_and(!WAITERS, AcqRel);
                }
                false
            }
            TicketState::Granted => {
                let woken = self.release_locked(&mut waiters, 1);
                drop(waiters);
                woken.into_iter().for_each(Waker::wake);
                true
            }
        }
    }

    /// Returns `n` permits: to the oldest waiters first, the rest to the count.
    pub(super) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut curr = self.state.load(Acquire);
        while curr & WAITERS == 0 {
            match self
                .state
                .compare_exchange_weak(curr, curr + n * ONE, AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => curr = actual,
            }
        }
        let mut waiters = self.waiters.lock();
        let woken = self.release_locked(&mut waiters, n);
        drop(waiters);
        woken.into_iter().for_each(Waker::wake);
    }

    /// Hands `n` permits to queued waiters (oldest first) and adds the rest to the count;
    /// returns the wakers to wake once the lock is released.
    fn release_locked(&self, waiters: &mut Waiters, mut n: usize) -> Vec<Waker> {
        let mut woken = Vec::new();
        while n > 0 {
            match waiters.queue.pop_front() {
                Some(waiter) => {
                    woken.push(waiter.waker);
                    n -= 1;
                }
                None => break,
            }
        }
        if waiters.queue.is_empty() {
            // We hold the lock and (if WAITERS was set) the count is 0, so only `try_acquire`
            // can race with us, and it fails while the count is 0: clear the flag and add the
            // leftover permits in one step.
            let mut curr = self.state.load(Acquire);
            loop {
                let next = (curr & !WAITERS) + n * ONE;
                match self
                    .state
                    .compare_exchange_weak(curr, next, AcqRel, Acquire)
                {
                    Ok(_) => break,
                    Err(actual) => curr = actual,
                }
            }
        }
        woken
    }

    /// Closes the semaphore: acquires fail from now on and every queued waiter is woken to
    /// fail. Permits already handed out stay valid and may still be released.
    pub(super) fn close(&self) {
        let mut waiters = self.waiters.lock();
        if self.state.load(Acquire) & CLOSED != 0 {
            return;
        }
        waiters.closed_from = waiters
            .queue
            .front()
            .map_or(waiters.next_ticket, |w| w.ticket);
        let queue = std::mem::take(&mut waiters.queue);
        self.state.fetch_and(!WAITERS, AcqRel);
        self.state.fetch_or(CLOSED, AcqRel);
        drop(waiters);
        for waiter in queue {
            waiter.waker.wake();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;

    #[test]
    fn fifo_waiters_and_cancel_of_granted_waiter_passes_permit_on() {
        let sem = Semaphore::new(1);
        sem.try_acquire().unwrap();
        assert_eq!(sem.try_acquire(), Err(TryAcquireError::NoPermits));
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let (mut t1, mut t2) = (None, None);
        assert!(sem
            .poll_acquire(&mut Context::from_waker(&w1), &mut t1)
            .is_pending());
        assert!(sem
            .poll_acquire(&mut Context::from_waker(&w2), &mut t2)
            .is_pending());
        sem.release(1);
        assert_eq!((c1.count(), c2.count()), (1, 0), "oldest waiter first");
        // A newcomer cannot take the permit granted to the first waiter.
        assert_eq!(sem.try_acquire(), Err(TryAcquireError::NoPermits));
        // The first waiter gives up: its permit goes to the second.
        assert!(sem.cancel(t1.unwrap()));
        assert_eq!(c2.count(), 1);
        assert_eq!(
            sem.poll_acquire(&mut Context::from_waker(&w2), &mut t2),
            Poll::Ready(Ok(()))
        );
        assert_eq!(t2, None);
        sem.release(1);
        assert!(sem.is_idle());
    }

    #[test]
    fn close_rejects_queued_waiters() {
        let sem = Semaphore::new(1);
        sem.try_acquire().unwrap();
        let (w, c) = counting_waker();
        let mut t = None;
        assert!(sem
            .poll_acquire(&mut Context::from_waker(&w), &mut t)
            .is_pending());
        sem.close();
        assert_eq!(c.count(), 1);
        assert_eq!(
            sem.poll_acquire(&mut Context::from_waker(&w), &mut t),
            Poll::Ready(Err(Closed))
        );
        assert_eq!(sem.try_acquire(), Err(TryAcquireError::Closed));
        sem.release(1);
        assert!(sem.is_idle());
    }
}
