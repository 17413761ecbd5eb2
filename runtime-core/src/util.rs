//! Small helpers: a fast non-cryptographic RNG, used by the workers for victim selection and,
//! through the per-thread `thread_rng_n`, by the facade's `select!` to pick the branch it
//! polls first.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher};

/// xorshift64*: good enough to spread steal attempts, one multiply per number.
#[derive(Debug, Clone)]
pub(crate) struct FastRand(u64);

impl FastRand {
    pub(crate) fn new(seed: u64) -> FastRand {
        // Never zero (xorshift's fixed point).
        FastRand(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32
    }

    /// Uniform-ish in `0..n` (Lemire's multiply-shift).
    pub(crate) fn next_n(&mut self, n: u32) -> u32 {
        ((u64::from(self.next_u32()) * u64::from(n)) >> 32) as u32
    }
}

std::thread_local! {
    /// This thread's generator; `None` until first used (seeding costs a `RandomState`).
    static THREAD_RNG: Cell<Option<FastRand>> = const { Cell::new(None) };
}

/// A seed that differs between threads and between processes: `RandomState` keys are random
/// per process and incremented per call.
fn random_seed() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5E1E_C7ED);
    hasher.finish()
}

/// A pseudo-random number in `0..n` from this thread's generator (`0` when `n` is 0).
///
/// Not cryptographic: one xorshift step and a multiply. Support for the facade's `select!`
/// (random first branch); not public API.
///
/// # Examples
///
/// ```
/// let n = runtime_core::util::thread_rng_n(4);
/// assert!(n < 4);
/// ```
pub fn thread_rng_n(n: u32) -> u32 {
    THREAD_RNG
        .try_with(|cell| {
            let mut rng = cell.take().unwrap_or_else(|| FastRand::new(random_seed()));
            let value = rng.next_n(n);
            cell.set(Some(rng));
            value
        })
        // Called from a TLS destructor: any value in range will do.
        .unwrap_or(0)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::{thread_rng_n, FastRand};

    #[test]
    fn thread_rng_covers_the_range_and_differs_between_threads() {
        let mut seen = [false; 3];
        for _ in 0..1000 {
            seen[thread_rng_n(3) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(thread_rng_n(1), 0);
        assert_eq!(thread_rng_n(0), 0);

        let draw = || (0..32).map(|_| thread_rng_n(1 << 16)).collect::<Vec<_>>();
        let here = draw();
        let there = std::thread::spawn(draw).join().unwrap();
        assert_ne!(here, there, "two threads drew the same sequence");
    }

    #[test]
    fn covers_the_range() {
        let mut r = FastRand::new(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            seen[r.next_n(5) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }
}
