//! Small helpers: a fast non-cryptographic RNG for victim selection.

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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::FastRand;

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
