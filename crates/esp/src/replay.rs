//! Anti-replay window (RFC 4303 §3.4.3) as a bitmap of 64-bit blocks with
//! lazy clearing (RFC 6479 §2), and inference of the high-order 32 bits of
//! extended sequence numbers (RFC 4303 §2.2.1, Appendix A2.2).
//!
//! The bitmap holds `N` blocks (a power of two) and covers `W` sequence
//! numbers, `W <= (N - 1) * 64`: the block holding the highest sequence
//! number never aliases a block still inside the window. Advancing the
//! window clears only the blocks it passes over, so a jump costs at most
//! `N` word writes instead of a shift of the whole bitmap.
//!
//! The receiver checks a packet against the window before decrypting it
//! (a cheap reject) and marks it only after its ICV verified — RFC 4303
//! §3.4.3: "the receive window is updated only if the integrity
//! verification succeeds" — so forged packets cannot move the window.

/// Smallest window size accepted.
pub const MIN_WINDOW: u32 = 64;
/// Largest window size accepted (bounds the bitmap at 8 KiB).
pub const MAX_WINDOW: u32 = 1 << 16;
/// Default window size.
pub const DEFAULT_WINDOW: u32 = 1024;

/// Why the window refuses a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayError {
    /// Already received.
    Replayed,
    /// Left of the window, or 0 (never sent: the first packet is 1).
    TooOld,
}

/// An RFC 6479-style sliding window over 64-bit sequence numbers.
#[derive(Debug, Clone)]
pub struct ReplayWindow {
    /// Highest sequence number accepted so far; 0 before the first.
    top: u64,
    /// Window size in sequence numbers (a multiple of 64).
    size: u64,
    /// `blocks.len() - 1`; `blocks.len()` is a power of two.
    mask: u64,
    blocks: Box<[u64]>,
}

impl ReplayWindow {
    /// A window covering `size` sequence numbers, rounded up to a multiple
    /// of 64. Returns `None` outside `MIN_WINDOW..=MAX_WINDOW`.
    pub fn new(size: u32) -> Option<Self> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&size) {
            return None;
        }
        let size = u64::from(size).div_ceil(64) * 64;
        // One spare block so the top block never aliases one in the window.
        let blocks = (size / 64 + 1).next_power_of_two();
        // `blocks` is at most 2^11 here, so the cast cannot truncate.
        let blocks = vec![0u64; blocks as usize].into_boxed_slice();
        Some(Self {
            top: 0,
            size,
            mask: blocks.len() as u64 - 1,
            blocks,
        })
    }

    /// The window size in sequence numbers.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The highest sequence number accepted so far (0 before the first).
    pub fn top(&self) -> u64 {
        self.top
    }

    /// Heap bytes held by the bitmap.
    pub fn heap_bytes(&self) -> usize {
        self.blocks.len() * 8
    }

    fn slot(&self, seq: u64) -> (usize, u64) {
        // `mask < blocks.len()`, so the index is in bounds.
        (((seq >> 6) & self.mask) as usize, 1u64 << (seq & 63))
    }

    /// Whether `seq` would be accepted; changes nothing.
    pub fn check(&self, seq: u64) -> Result<(), ReplayError> {
        if seq == 0 {
            return Err(ReplayError::TooOld);
        }
        if seq > self.top {
            return Ok(());
        }
        if self.top - seq >= self.size {
            return Err(ReplayError::TooOld);
        }
        let (i, bit) = self.slot(seq);
        if self.blocks[i] & bit != 0 {
            Err(ReplayError::Replayed)
        } else {
            Ok(())
        }
    }

    /// Checks `seq` and marks it received. Call only after the packet
    /// authenticated.
    pub fn check_and_update(&mut self, seq: u64) -> Result<(), ReplayError> {
        self.check(seq)?;
        if seq > self.top {
            let old = self.top >> 6;
            let new = seq >> 6;
            // Clear the blocks the window slides over (lazily: only now,
            // when they come back into use), at most all of them.
            let steps = (new - old).min(self.mask + 1);
            for k in 1..=steps {
                let i = ((old + k) & self.mask) as usize;
                self.blocks[i] = 0;
            }
            self.top = seq;
        }
        let (i, bit) = self.slot(seq);
        self.blocks[i] |= bit;
        Ok(())
    }

    /// Infers the full 64-bit sequence number of a packet carrying the
    /// low-order 32 bits `seq_lo`, per RFC 4303 Appendix A2.2: the value
    /// closest to the window, assuming the window's bottom `B = T - W + 1`
    /// and a packet is either inside the window or ahead of it.
    pub fn infer_esn(&self, seq_lo: u32) -> u64 {
        let w = self.size;
        let t = self.top;
        let th = t >> 32;
        let tl = t & 0xffff_ffff;
        let seq_lo = u64::from(seq_lo);
        let seq_hi = if tl >= w - 1 {
            // Case A: the window lies within one 2^32 subspace.
            if seq_lo >= tl - (w - 1) {
                th
            } else {
                // Below the window: assume it wrapped forward.
                th + 1
            }
        } else {
            // Case B: the window spans two subspaces; its bottom is in
            // the previous one.
            let bottom_lo = (tl + (1 << 32) - (w - 1)) & 0xffff_ffff;
            if seq_lo >= bottom_lo {
                // Upper part of the previous subspace — unless there is
                // none (th == 0), in which case it is ahead in this one.
                th.saturating_sub(1)
            } else {
                th
            }
        };
        // `th + 1` overflows only at the very end of the 64-bit space,
        // where the sender must already have stopped.
        (seq_hi << 32) | seq_lo
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn sizes() {
        assert!(ReplayWindow::new(63).is_none());
        assert!(ReplayWindow::new(MAX_WINDOW + 1).is_none());
        let w = ReplayWindow::new(1024).unwrap();
        assert_eq!(w.size(), 1024);
        assert_eq!(w.blocks.len(), 32);
        let w = ReplayWindow::new(100).unwrap();
        assert_eq!(w.size(), 128);
        assert_eq!(w.blocks.len(), 4);
        let w = ReplayWindow::new(64).unwrap();
        assert_eq!(w.blocks.len(), 2);
    }

    #[test]
    fn basic() {
        let mut w = ReplayWindow::new(64).unwrap();
        assert_eq!(w.check(0), Err(ReplayError::TooOld));
        assert_eq!(w.check_and_update(1), Ok(()));
        assert_eq!(w.check_and_update(1), Err(ReplayError::Replayed));
        assert_eq!(w.check_and_update(100), Ok(()));
        assert_eq!(w.check_and_update(37), Ok(()));
        assert_eq!(w.check_and_update(36), Err(ReplayError::TooOld));
        assert_eq!(w.check_and_update(37), Err(ReplayError::Replayed));
        // A big jump clears everything.
        assert_eq!(w.check_and_update(1_000_000), Ok(()));
        assert_eq!(w.check_and_update(1_000_000 - 63), Ok(()));
        assert_eq!(w.check_and_update(1_000_000 - 64), Err(ReplayError::TooOld));
    }

    #[test]
    fn esn_inference_appendix_a() {
        let mut w = ReplayWindow::new(64).unwrap();
        // Before anything: low numbers are in subspace 0.
        assert_eq!(w.infer_esn(5), 5);
        assert_eq!(w.infer_esn(u32::MAX), u64::from(u32::MAX));
        // Case A: top well inside subspace 3.
        w.check_and_update((3 << 32) | 1000).unwrap();
        assert_eq!(w.infer_esn(990), (3 << 32) | 990);
        assert_eq!(w.infer_esn(2000), (3 << 32) | 2000);
        assert_eq!(w.infer_esn(10), (4 << 32) | 10);
        // Case B: top just past a wrap; the window reaches back into
        // subspace 3.
        let mut w = ReplayWindow::new(64).unwrap();
        w.check_and_update((4 << 32) | 10).unwrap();
        assert_eq!(
            w.infer_esn(u32::MAX - 5),
            (3 << 32) | u64::from(u32::MAX - 5)
        );
        assert_eq!(w.infer_esn(11), (4 << 32) | 11);
        assert_eq!(w.infer_esn(5), (4 << 32) | 5);
    }

    /// The model: a packet is accepted iff non-zero, never seen, and not
    /// left of the window.
    #[derive(Default)]
    struct Model {
        seen: BTreeSet<u64>,
        top: u64,
    }

    impl Model {
        fn accept(&mut self, seq: u64, size: u64) -> Result<(), ReplayError> {
            if seq == 0 || (seq <= self.top && self.top - seq >= size) {
                return Err(ReplayError::TooOld);
            }
            if !self.seen.insert(seq) {
                return Err(ReplayError::Replayed);
            }
            self.top = self.top.max(seq);
            Ok(())
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn matches_set_model(
            size in prop::sample::select(vec![64u32, 128, 1024, 4096]),
            start in 0u64..(1 << 40),
            deltas in proptest::collection::vec(-3000i64..3000, 1..400),
        ) {
            let mut w = ReplayWindow::new(size).unwrap();
            let mut m = Model::default();
            let mut cur = start as i64;
            for d in deltas {
                cur = (cur + d).max(0);
                let seq = cur as u64;
                prop_assert_eq!(w.check(seq), m.accept_peek(seq, w.size()));
                prop_assert_eq!(w.check_and_update(seq), m.accept(seq, w.size()));
                prop_assert_eq!(w.top(), m.top);
            }
        }

        #[test]
        fn accepts_each_in_window_exactly_once(
            size in prop::sample::select(vec![64u32, 1024]),
            perm in Just((1u64..=1024).collect::<Vec<_>>()).prop_shuffle(),
        ) {
            let mut w = ReplayWindow::new(size).unwrap();
            // Deliver a window's worth in any order: all accepted while
            // inside the window, each exactly once.
            let n = w.size();
            let mut m = Model::default();
            for &s in perm.iter().filter(|&&s| s <= n) {
                prop_assert_eq!(w.check_and_update(s), m.accept(s, n));
                prop_assert_eq!(w.check_and_update(s), Err(ReplayError::Replayed));
            }
            for s in 1..=n {
                prop_assert_eq!(w.check(s), Err(ReplayError::Replayed));
            }
        }

        #[test]
        fn esn_inference_recovers_in_window_values(
            top in 1u64..(1 << 40),
            back in 0u64..1024,
            ahead in 0u64..(1 << 31),
        ) {
            let mut w = ReplayWindow::new(1024).unwrap();
            w.check_and_update(top).unwrap();
            // Anything inside the window, and anything up to 2^31 ahead of
            // it, is recovered from its low 32 bits.
            if back < top {
                let s = top - back;
                prop_assert_eq!(w.infer_esn(s as u32), s);
            }
            let s = top + ahead;
            prop_assert_eq!(w.infer_esn(s as u32), s);
        }
    }

    impl Model {
        fn accept_peek(&self, seq: u64, size: u64) -> Result<(), ReplayError> {
            if seq == 0 || (seq <= self.top && self.top - seq >= size) {
                return Err(ReplayError::TooOld);
            }
            if self.seen.contains(&seq) {
                return Err(ReplayError::Replayed);
            }
            Ok(())
        }
    }
}
