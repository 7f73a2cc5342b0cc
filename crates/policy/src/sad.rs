//! Indexes into the Security Association Database (RFC 4301 §4.4.2):
//! inbound ESP SPI → SA handle for the receive path, and reqid → the
//! inbound/outbound pair of a CHILD SA for the control plane.
//!
//! RFC 4301 §4.1: for unicast SAs "the SPI by itself suffices to specify an
//! SA", so inbound lookup keys on the SPI alone; we allocate inbound SPIs
//! ourselves and keep them unique. The SA state lives elsewhere (the ESP
//! crate); this only maps keys to the caller's handles.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::spd::ReqId;

/// Hasher for SPIs and reqids. Inbound SPIs are values this host chose at
/// random, and the table only ever grows on our own decisions, so a peer
/// cannot steer insertions into one bucket; lookups of spoofed SPIs cost
/// one probe. A multiplicative mix spreads the value into the high bits,
/// which the table uses for its control bytes. Faster than SipHash on the
/// per-packet path.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpiHasher(u64);

impl Hasher for SpiHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = (self.0 ^ u64::from(v)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<SpiHasher>>;

/// The two directions of one CHILD SA, as the caller's handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SaPair<T> {
    pub inbound: T,
    pub outbound: T,
}

/// SPI and reqid indexes over SA handles `T`.
#[derive(Debug, Clone)]
pub struct SadIndex<T> {
    inbound: FastMap<u32, T>,
    pairs: FastMap<ReqId, SaPair<T>>,
}

impl<T: Copy> Default for SadIndex<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy> SadIndex<T> {
    pub fn new() -> Self {
        Self {
            inbound: FastMap::default(),
            pairs: FastMap::default(),
        }
    }

    /// Maps an inbound SPI to its SA; returns the handle it replaced.
    pub fn insert_inbound(&mut self, spi: u32, handle: T) -> Option<T> {
        self.inbound.insert(spi, handle)
    }

    pub fn remove_inbound(&mut self, spi: u32) -> Option<T> {
        self.inbound.remove(&spi)
    }

    /// Receive path: the SA for an ESP packet's SPI.
    #[inline]
    pub fn inbound(&self, spi: u32) -> Option<T> {
        self.inbound.get(&spi).copied()
    }

    /// Is this SPI in use (for allocating a fresh inbound SPI)?
    pub fn spi_in_use(&self, spi: u32) -> bool {
        self.inbound.contains_key(&spi)
    }

    /// Records the current SA pair of a reqid; during a rekey the new pair
    /// replaces the old one, which is returned.
    pub fn insert_pair(&mut self, reqid: ReqId, pair: SaPair<T>) -> Option<SaPair<T>> {
        self.pairs.insert(reqid, pair)
    }

    pub fn pair(&self, reqid: ReqId) -> Option<SaPair<T>> {
        self.pairs.get(&reqid).copied()
    }

    pub fn remove_pair(&mut self, reqid: ReqId) -> Option<SaPair<T>> {
        self.pairs.remove(&reqid)
    }

    pub fn inbound_len(&self) -> usize {
        self.inbound.len()
    }

    pub fn pairs_len(&self) -> usize {
        self.pairs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spi_and_reqid_indexes() {
        let mut sad = SadIndex::new();
        assert_eq!(sad.insert_inbound(0xc0ff_ee01, 1usize), None);
        assert_eq!(sad.insert_inbound(0xc0ff_ee02, 2), None);
        assert_eq!(sad.inbound(0xc0ff_ee01), Some(1));
        assert_eq!(sad.inbound(0xdead_beef), None);
        assert!(sad.spi_in_use(0xc0ff_ee02));
        assert_eq!(sad.insert_inbound(0xc0ff_ee02, 3), Some(2));
        assert_eq!(sad.remove_inbound(0xc0ff_ee02), Some(3));
        assert_eq!(sad.inbound(0xc0ff_ee02), None);
        assert_eq!(sad.inbound_len(), 1);

        let old = SaPair {
            inbound: 1,
            outbound: 10,
        };
        let new = SaPair {
            inbound: 4,
            outbound: 40,
        };
        assert_eq!(sad.insert_pair(ReqId(7), old), None);
        assert_eq!(sad.insert_pair(ReqId(7), new), Some(old));
        assert_eq!(sad.pair(ReqId(7)), Some(new));
        assert_eq!(sad.pairs_len(), 1);
        assert_eq!(sad.remove_pair(ReqId(7)), Some(new));
        assert_eq!(sad.pair(ReqId(7)), None);
    }

    #[test]
    fn many_spis() {
        let mut sad = SadIndex::new();
        for i in 0..10_000u32 {
            sad.insert_inbound(i.wrapping_mul(0x9e37_79b9), i);
        }
        for i in 0..10_000u32 {
            assert_eq!(sad.inbound(i.wrapping_mul(0x9e37_79b9)), Some(i));
        }
    }
}
