//! The receivers waiting for the next message of a broadcast channel: a slab of wakers that
//! is emptied all at once.
//!
//! Lives inside the channel's tail mutex; every method is called with that lock held. A
//! waiting `Recv` future holds a [`WaiterKey`]: its slot index plus the *epoch* in which it
//! registered. [`Waiters::take_all`] (a send, or the last sender dropping) hands every waker
//! out and starts a new epoch, so a key from an older epoch means "you were woken, your slot
//! is gone" and needs no generation per slot. Registration, re-registration and removal are
//! O(1); freed slots are reused and the slab is emptied whenever nobody waits.

use std::task::Waker;

/// Where a waiting `Recv` future's waker is, valid while the epoch has not moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WaiterKey {
    epoch: u64,
    index: usize,
}

#[derive(Debug, Default)]
pub(super) struct Waiters {
    wakers: Vec<Option<Waker>>,
    /// Indices of `None` entries of `wakers`, for reuse.
    holes: Vec<usize>,
    /// `Some` entries of `wakers`.
    live: usize,
    /// Bumped by every `take_all` that took something.
    epoch: u64,
}

impl Waiters {
    pub(super) fn new() -> Waiters {
        Waiters::default()
    }

    /// Registers `waker` for the holder of `key`: refreshes its entry if `key` is still
    /// registered in this epoch, else adds a new one and updates `key`. Returns a replaced
    /// waker, to be dropped once the lock is released.
    pub(super) fn register(&mut self, key: &mut Option<WaiterKey>, waker: &Waker) -> Option<Waker> {
        if let Some(k) = *key {
            if k.epoch == self.epoch {
                let entry = self.wakers[k.index]
                    .as_mut()
                    .expect("broadcast: a registered waiter's entry is empty");
                if entry.will_wake(waker) {
                    return None;
                }
                return Some(std::mem::replace(entry, waker.clone()));
            }
        }
        let index = match self.holes.pop() {
            Some(index) => {
                self.wakers[index] = Some(waker.clone());
                index
            }
            None => {
                self.wakers.push(Some(waker.clone()));
                self.wakers.len() - 1
            }
        };
        self.live += 1;
        *key = Some(WaiterKey {
            epoch: self.epoch,
            index,
        });
        None
    }

    /// Removes the entry of `key` if it is still registered; returns its waker, to be dropped
    /// once the lock is released.
    pub(super) fn remove(&mut self, key: WaiterKey) -> Option<Waker> {
        if key.epoch != self.epoch {
            return None; // already taken by `take_all`
        }
        let waker = self.wakers[key.index].take();
        debug_assert!(waker.is_some(), "broadcast: waiter removed twice");
        self.live -= 1;
        if self.live == 0 {
            self.wakers.clear();
            self.holes.clear();
        } else {
            self.holes.push(key.index);
        }
        waker
    }

    /// Takes every waker (to be woken once the lock is released) and invalidates every key.
    /// Does not allocate when nobody waits.
    pub(super) fn take_all(&mut self) -> Vec<Option<Waker>> {
        if self.live == 0 {
            return Vec::new();
        }
        self.epoch = self.epoch.wrapping_add(1);
        self.live = 0;
        self.holes.clear();
        std::mem::take(&mut self.wakers)
    }

    /// Whether nobody waits.
    #[cfg(all(test, not(loom)))]
    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }
}

/// Wakes the wakers returned by [`Waiters::take_all`].
pub(super) fn wake_all(wakers: Vec<Option<Waker>>) {
    for waker in wakers.into_iter().flatten() {
        waker.wake();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::test_util::counting_waker;

    #[test]
    fn take_all_wakes_everyone_and_invalidates_keys() {
        let mut waiters = Waiters::new();
        let (w, count) = counting_waker();
        let mut keys = [None; 3];
        for key in &mut keys {
            assert!(waiters.register(key, &w).is_none());
        }
        let mut removed = keys[1];
        assert!(waiters.remove(removed.take().unwrap()).is_some());
        wake_all(waiters.take_all());
        assert_eq!(count.count(), 2);
        assert!(waiters.is_empty());
        // Stale keys: removal is a no-op, registration starts afresh.
        assert!(waiters.remove(keys[0].unwrap()).is_none());
        let stale = keys[2];
        assert!(waiters.register(&mut keys[2], &w).is_none());
        assert_ne!(keys[2], stale);
        assert!(!waiters.is_empty());
    }

    #[test]
    fn reregistering_replaces_only_a_different_waker() {
        let mut waiters = Waiters::new();
        let (w1, c1) = counting_waker();
        let (w2, c2) = counting_waker();
        let mut key = None;
        assert!(waiters.register(&mut key, &w1).is_none());
        let first = key;
        assert!(waiters.register(&mut key, &w1).is_none(), "same waker");
        let old = waiters.register(&mut key, &w2).expect("replaced");
        assert_eq!(key, first, "same slot");
        drop(old);
        wake_all(waiters.take_all());
        assert_eq!((c1.count(), c2.count()), (0, 1));
    }

    #[test]
    fn slots_are_reused_and_the_slab_shrinks_when_idle() {
        let mut waiters = Waiters::new();
        let w = std::task::Waker::noop();
        let mut keep = None;
        waiters.register(&mut keep, w);
        for _ in 0..100 {
            let mut key = None;
            waiters.register(&mut key, w);
            waiters.remove(key.unwrap());
        }
        assert!(waiters.wakers.len() <= 2);
        waiters.remove(keep.unwrap());
        assert!(waiters.wakers.is_empty() && waiters.holes.is_empty());
        assert!(waiters.take_all().is_empty());
    }
}
