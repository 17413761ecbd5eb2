//! Task ids: process-global, unique, never 0. Each thread reserves ids in blocks from one
//! global counter, so concurrent spawns on different workers do not contend on a cache line.

use std::cell::Cell;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// An opaque id, unique among all tasks of the process for its lifetime.
///
/// # Examples
///
/// ```
/// # let rt = runtime::Runtime::new().unwrap();
/// # rt.block_on(async {
/// let handle = runtime::spawn(async { runtime::task::id() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), id);
/// # });
/// ```
#[derive(Clone, Copy, Debug, Hash, Eq, PartialEq, Ord, PartialOrd)]
pub struct Id(pub(crate) NonZeroU64);

const BLOCK: u64 = 1024;
static NEXT_BLOCK: AtomicU64 = AtomicU64::new(1);

std::thread_local! {
    /// [next, end) of this thread's reserved block.
    static RESERVED: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

impl Id {
    pub(crate) fn next() -> Id {
        let next = RESERVED
            .try_with(|r| {
                let (mut next, mut end) = r.get();
                if next == end {
                    next = NEXT_BLOCK.fetch_add(BLOCK, Relaxed);
                    end = next + BLOCK;
                }
                r.set((next + 1, end));
                next
            })
            // In a TLS destructor: take a one-element block.
            .unwrap_or_else(|_| NEXT_BLOCK.fetch_add(1, Relaxed));
        Id(NonZeroU64::new(next).expect("task id space exhausted"))
    }

    /// The id as an integer (never 0).
    pub fn as_u64(&self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_unique_across_threads_and_nonzero() {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| (0..3000).map(|_| Id::next().as_u64()).collect::<Vec<_>>())
            })
            .collect();
        let mut all = HashSet::new();
        for h in handles {
            for id in h.join().unwrap() {
                assert_ne!(id, 0);
                assert!(all.insert(id), "duplicate id {id}");
            }
        }
    }
}
