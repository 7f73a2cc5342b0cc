//! The endpoint's randomness (SPIs, nonces, KE private values, cookie
//! secrets, lifetime jitter). The core owns no entropy source: the driver
//! passes one in, or a seed for deterministic tests and simulation
//! (style guide §b: "seed it from config for tests").
//!
//! The reproducible stream is the crypto crate's [`DeterministicRandom`]
//! (one deterministic generator for the whole workspace): unpredictable to a
//! peer in tests, the same bytes for the same seed across runs.

pub use yadokari_crypto::{DeterministicRandom, SecureRandom};

/// The endpoint's RNG: a seed (tests, simulation) or any [`SecureRandom`]
/// (production: `yadokari_crypto::SystemRandom`).
///
/// Filling never fails towards the core: if the source reports an error,
/// the bytes come from a deterministic stream keyed from the source's
/// first output and the failure is logged, so no code path hands out zeros.
pub struct Rng {
    src: Box<dyn SecureRandom>,
    fallback: DeterministicRandom,
    failures: u64,
}

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(..)")
    }
}

impl Rng {
    pub fn new(mut src: Box<dyn SecureRandom>) -> Self {
        let mut key = [0u8; 32];
        let failures = u64::from(src.fill(&mut key).is_err());
        Rng {
            src,
            fallback: DeterministicRandom::from_seed_bytes(key),
            failures,
        }
    }

    /// Deterministic generator for tests and simulation.
    pub fn seeded(seed: u64) -> Self {
        Rng::new(Box::new(DeterministicRandom::from_seed(seed)))
    }

    /// How often the source failed (the fallback stream was used).
    pub fn failures(&self) -> u64 {
        self.failures
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        if self.src.fill(out).is_err() {
            self.failures += 1;
            tracing::error!("random source failed; using fallback stream");
            // The stream never fails: it is a hash in counter mode.
            let _ = self.fallback.fill(out);
        }
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill(&mut v);
        v
    }

    pub fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    pub fn u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill(&mut b);
        u32::from_le_bytes(b)
    }

    /// A non-zero IKE SPI (§3.1: zero means "unknown").
    pub fn ike_spi(&mut self) -> u64 {
        loop {
            let v = self.u64();
            if v != 0 {
                return v;
            }
        }
    }

    /// A CHILD SA SPI outside 1..=255, which RFC 4303 §2.1 reserves.
    pub fn child_spi(&mut self) -> u32 {
        loop {
            let v = self.u32();
            if v > 255 {
                return v;
            }
        }
    }

    /// A value in `0..=max` (modulo bias is irrelevant for jitter).
    pub fn below(&mut self, max: u64) -> u64 {
        if max == 0 {
            0
        } else {
            self.u64() % max.saturating_add(1).max(1)
        }
    }
}

impl From<u64> for Rng {
    fn from(seed: u64) -> Self {
        Rng::seeded(seed)
    }
}

impl From<Box<dyn SecureRandom>> for Rng {
    fn from(src: Box<dyn SecureRandom>) -> Self {
        Rng::new(src)
    }
}

impl SecureRandom for Rng {
    fn fill(&mut self, dest: &mut [u8]) -> yadokari_crypto::Result<()> {
        Rng::fill(self, dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_reproducible_and_seed_dependent() {
        let a = Rng::from(7).bytes(100);
        let b = Rng::from(7).bytes(100);
        let c = Rng::from(8).bytes(100);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut r = Rng::from(1);
        for _ in 0..1000 {
            assert!(r.child_spi() > 255);
            assert_ne!(r.ike_spi(), 0);
        }
    }
}
