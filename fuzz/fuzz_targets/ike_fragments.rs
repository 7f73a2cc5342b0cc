//! Fuzz IKE fragment reassembly (RFC 7383): random fragment sets —
//! duplicates, gaps, overlapping numbering, changing totals, several
//! messages at once — never panic, never hold more than the caps, and
//! only a complete message comes out, as long as its parts.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use yadokari_ike::frag::{FragState, Fragment, MAX_FRAGMENTS, MAX_MESSAGE};

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut s = FragState::default();
    let mut rest = data;
    // Records: message id (1), flags (1), number (2), total (2), length (2).
    while let [mid, flags, n0, n1, t0b, t1, l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*l0, *l1])) % 2048;
        let take = len.min(tail.len());
        let (plain, next) = tail.split_at(take);
        rest = next;
        let now = t0 + Duration::from_secs(u64::from(flags >> 2));
        let f = Fragment {
            number: u16::from_be_bytes([*n0, *n1]) % (MAX_FRAGMENTS + 2),
            total: u16::from_be_bytes([*t0b, *t1]) % (MAX_FRAGMENTS + 2),
            first_inner: *mid,
            plain: plain.to_vec(),
        };
        if let Ok(Some(m)) = s.add(now, u32::from(*mid % 4), flags & 1 == 1, f) {
            assert!(m.plain.len() <= MAX_MESSAGE);
        }
        assert!(s.held() <= 2 * MAX_MESSAGE);
    }
});
