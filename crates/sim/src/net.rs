//! The seeded fault-injecting network (after smoltcp's
//! `phy/fault_injector.rs`): each datagram may be dropped, duplicated, and
//! delayed by a random amount, which also reorders it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use yadokari_ike::Path;

use crate::Side;

/// xorshift64* — small, fast, seedable; for fault decisions only.
#[derive(Debug, Clone)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 once so nearby seeds diverge.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        SimRng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }

    pub fn range(&mut self, lo: Duration, hi: Duration) -> Duration {
        if hi <= lo {
            return lo;
        }
        lo + (hi - lo).mul_f64(self.unit())
    }
}

/// Fault probabilities and delay bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    pub min_delay: Duration,
    pub max_delay: Duration,
}

impl Faults {
    /// A perfect network with a fixed 10 ms delay.
    pub fn none() -> Self {
        Self {
            drop: 0.0,
            duplicate: 0.0,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(10),
        }
    }

    /// Loss, duplication, and delay jitter large enough to reorder.
    pub fn lossy(drop: f64, duplicate: f64) -> Self {
        Self {
            drop,
            duplicate,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(400),
        }
    }
}

/// Datagrams in flight.
pub struct Network {
    pub rng: SimRng,
    pub faults: Faults,
    queue: BTreeMap<(Instant, u64), (Side, Path, Vec<u8>)>,
    seq: u64,
    pub sent: u64,
    pub dropped: u64,
    pub duplicated: u64,
    /// The largest datagram sent (non-ESP marker included).
    pub largest: usize,
    /// Everything sent is lost (a dead peer or a cut link).
    pub cut: bool,
}

impl Network {
    pub fn new(seed: u64, faults: Faults) -> Self {
        Self {
            rng: SimRng::new(seed),
            faults,
            queue: BTreeMap::new(),
            seq: 0,
            sent: 0,
            dropped: 0,
            duplicated: 0,
            largest: 0,
            cut: false,
        }
    }

    pub fn send(&mut self, now: Instant, to: Side, path: Path, bytes: Vec<u8>) {
        self.sent += 1;
        self.largest = self.largest.max(bytes.len());
        if self.cut || self.rng.chance(self.faults.drop) {
            self.dropped += 1;
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate) {
            self.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let d = self.rng.range(self.faults.min_delay, self.faults.max_delay);
            self.seq += 1;
            self.queue
                .insert((now + d, self.seq), (to, path, bytes.clone()));
        }
    }

    pub fn next_delivery(&self) -> Option<Instant> {
        self.queue.keys().next().map(|k| k.0)
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<(Side, Path, Vec<u8>)> {
        if self.next_delivery()? > now {
            return None;
        }
        self.queue.pop_first().map(|(_, v)| v)
    }

    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Drops everything in flight (a link cut).
    pub fn clear(&mut self) {
        self.queue.clear();
    }
}
