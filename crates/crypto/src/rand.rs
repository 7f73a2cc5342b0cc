//! Injectable randomness: the sans-IO IKE core owns no RNG source, it is
//! handed a [`SecureRandom`] (style guide §b). [`SystemRandom`] is AWS-LC's
//! CSPRNG; [`DeterministicRandom`] is a seeded stream for tests and the
//! simulator, never for production.
//!
//! Used for nonces (RFC 7296 §2.10), SPIs, CBC IVs (§3.14) and KE private
//! values.

use aws_lc_rs::digest;

use crate::error::{CryptoError, Result};

/// A source of cryptographically secure random bytes.
///
/// Object safe; `&mut self` so deterministic sources need no interior
/// mutability. `Send` so a core holding a `Box<dyn SecureRandom>` can move
/// between threads.
pub trait SecureRandom: Send {
    /// Fills `dest` entirely with random bytes.
    fn fill(&mut self, dest: &mut [u8]) -> Result<()>;
}

impl<R: SecureRandom + ?Sized> SecureRandom for &mut R {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        (**self).fill(dest)
    }
}

impl<R: SecureRandom + ?Sized> SecureRandom for Box<R> {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        (**self).fill(dest)
    }
}

/// AWS-LC's system CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl SecureRandom for SystemRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        aws_lc_rs::rand::fill(dest).map_err(|_| CryptoError::Rng)
    }
}

/// A reproducible byte stream: block *n* is SHA-256(seed ‖ n). Same seed,
/// same bytes — for tests and the seeded simulator only.
#[derive(Clone)]
pub struct DeterministicRandom {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl DeterministicRandom {
    /// A stream from a 64-bit seed (e.g. a simulator run's seed).
    #[must_use]
    pub fn from_seed(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_be_bytes());
        Self::from_seed_bytes(s)
    }

    /// A stream from 32 seed bytes.
    #[must_use]
    pub fn from_seed_bytes(seed: [u8; 32]) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(&self.seed);
        ctx.update(&self.counter.to_be_bytes());
        self.block.copy_from_slice(ctx.finish().as_ref());
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl Drop for DeterministicRandom {
    // Seeded from the OS it is the IKE core's fallback stream: a secret.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.seed);
        zeroize::Zeroize::zeroize(&mut self.block);
    }
}

impl core::fmt::Debug for DeterministicRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeterministicRandom")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl SecureRandom for DeterministicRandom {
    fn fill(&mut self, dest: &mut [u8]) -> Result<()> {
        let mut off = 0;
        while off < dest.len() {
            if self.used == self.block.len() {
                self.refill();
            }
            let n = (dest.len() - off).min(self.block.len() - self.used);
            dest[off..off + n].copy_from_slice(&self.block[self.used..self.used + n]);
            self.used += n;
            off += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_is_reproducible_and_split_invariant() {
        let mut a = DeterministicRandom::from_seed(7);
        let mut b = DeterministicRandom::from_seed(7);
        let mut whole = [0u8; 100];
        a.fill(&mut whole).unwrap();
        let mut parts = [0u8; 100];
        b.fill(&mut parts[..3]).unwrap();
        b.fill(&mut parts[3..70]).unwrap();
        b.fill(&mut parts[70..]).unwrap();
        assert_eq!(whole, parts);
        let mut c = DeterministicRandom::from_seed(8);
        let mut other = [0u8; 100];
        c.fill(&mut other).unwrap();
        assert_ne!(whole, other);
    }

    #[test]
    fn system_random_fills() {
        let mut r = SystemRandom;
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        r.fill(&mut a).unwrap();
        r.fill(&mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn object_safe() {
        let mut r: Box<dyn SecureRandom> = Box::new(DeterministicRandom::from_seed(1));
        let mut a = [0u8; 4];
        r.fill(&mut a).unwrap();
    }
}
