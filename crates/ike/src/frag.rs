//! IKE fragmentation (RFC 7383): splitting our SK-protected messages into
//! SKF fragments that each fit the path, and reassembling the peer's.
//!
//! Both sides announce IKEV2_FRAGMENTATION_SUPPORTED in IKE_SA_INIT
//! (§2.3); from then on any message that carries an Encrypted payload and
//! would not fit in one datagram of the configured size is sent as up to
//! [`MAX_FRAGMENTS`] fragments, each encrypted and authenticated on its
//! own (§2.5), all of them resent on retransmission (§2.6).
//!
//! Reassembly keeps at most one partial message per direction (a request
//! of the peer's, a response to ours) and caps what a peer can make us
//! hold: fragment count, total plaintext, and age. Fragments are only
//! stored after their ICV verified, so an off-path attacker cannot fill
//! the buffers; a bad fragment is a counted drop, never an error for the
//! SA (§2.6.1).

use std::time::{Duration, Instant};

use crate::error::DropReason;

/// Most fragments in one message, either way.
pub const MAX_FRAGMENTS: u16 = 64;
/// Most plaintext bytes a reassembled message may have (the largest IKE
/// message is 64 KiB).
pub const MAX_MESSAGE: usize = 65_535;
/// A partial message older than this is dropped when the next fragment
/// arrives (the peer's retransmission starts it again).
pub const REASSEMBLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The default size of a fragment, IP datagram included: the IPv6
/// minimum MTU, which every IPv4 path in practice carries too (RFC 7383
/// §2.5.1 suggests 1280 for IPv6 and 576 for IPv4 as the safe sizes;
/// `fragment_size` lowers it).
pub const DEFAULT_FRAGMENT_SIZE: u16 = 1280;

/// One decrypted SKF fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// Fragment Number, from 1.
    pub number: u16,
    /// Total Fragments.
    pub total: u16,
    /// The first inner payload's type (fragment 1 only; 0 in the others).
    pub first_inner: u8,
    /// The decrypted inner bytes (padding removed).
    pub plain: Vec<u8>,
}

/// A whole message put back together: its first inner payload type and
/// the concatenated plaintext.
#[derive(Debug, PartialEq, Eq)]
pub struct Reassembled {
    pub first_inner: u8,
    pub plain: Vec<u8>,
}

struct Partial {
    message_id: u32,
    response: bool,
    total: u16,
    first_inner: u8,
    parts: Vec<Option<Vec<u8>>>,
    bytes: usize,
    started: Instant,
}

/// Per-SA fragmentation state.
#[derive(Default)]
pub struct FragState {
    /// Both sides announced support: our large messages go as fragments.
    pub enabled: bool,
    partial: Vec<Partial>,
}

impl FragState {
    /// Adds an authentic fragment of message `message_id` (a `response`
    /// to one of our requests, or a request of the peer's). Returns the
    /// whole message once every fragment is in.
    pub fn add(
        &mut self,
        now: Instant,
        message_id: u32,
        response: bool,
        f: Fragment,
    ) -> Result<Option<Reassembled>, DropReason> {
        if f.total == 0 || f.total > MAX_FRAGMENTS || f.number == 0 || f.number > f.total {
            return Err(DropReason::BadFragment);
        }
        self.partial
            .retain(|p| now.saturating_duration_since(p.started) < REASSEMBLY_TIMEOUT);
        let pos = self
            .partial
            .iter()
            .position(|p| p.message_id == message_id && p.response == response);
        let pos = match pos {
            // §2.6.1: a larger Total Fragments means the sender chose
            // smaller fragments; start over with those.
            Some(i) if f.total > self.partial[i].total => {
                self.partial.remove(i);
                None
            }
            Some(i) if f.total < self.partial[i].total => return Err(DropReason::BadFragment),
            other => other,
        };
        let i = match pos {
            Some(i) => i,
            None => {
                // One message per direction: a newer one replaces the old.
                self.partial.retain(|p| p.response != response);
                self.partial.push(Partial {
                    message_id,
                    response,
                    total: f.total,
                    first_inner: 0,
                    parts: vec![None; usize::from(f.total)],
                    bytes: 0,
                    started: now,
                });
                self.partial.len() - 1
            }
        };
        let p = &mut self.partial[i];
        let slot = &mut p.parts[usize::from(f.number) - 1];
        if slot.is_some() {
            return Err(DropReason::Retransmit);
        }
        if p.bytes + f.plain.len() > MAX_MESSAGE {
            self.partial.remove(i);
            return Err(DropReason::BadFragment);
        }
        if f.number == 1 {
            p.first_inner = f.first_inner;
        }
        p.bytes += f.plain.len();
        *slot = Some(f.plain);
        if p.parts.iter().any(Option::is_none) {
            return Ok(None);
        }
        let p = self.partial.remove(i);
        let mut plain = Vec::with_capacity(p.bytes);
        for part in p.parts.into_iter().flatten() {
            plain.extend_from_slice(&part);
        }
        Ok(Some(Reassembled {
            first_inner: p.first_inner,
            plain,
        }))
    }

    /// Plaintext bytes held for partial messages.
    pub fn held(&self) -> usize {
        self.partial.iter().map(|p| p.bytes).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(number: u16, total: u16, plain: &[u8]) -> Fragment {
        Fragment {
            number,
            total,
            first_inner: if number == 1 { 35 } else { 0 },
            plain: plain.to_vec(),
        }
    }

    #[test]
    fn fragments_in_any_order_make_the_message() {
        let now = Instant::now();
        let mut s = FragState::default();
        assert_eq!(s.add(now, 1, false, frag(3, 3, b"ef")), Ok(None));
        assert_eq!(s.add(now, 1, false, frag(1, 3, b"ab")), Ok(None));
        assert_eq!(
            s.add(now, 1, false, frag(1, 3, b"ab")),
            Err(DropReason::Retransmit)
        );
        let m = s.add(now, 1, false, frag(2, 3, b"cd")).unwrap().unwrap();
        assert_eq!(m.plain, b"abcdef");
        assert_eq!(m.first_inner, 35);
        assert_eq!(s.held(), 0);
    }

    #[test]
    fn limits_hold() {
        let now = Instant::now();
        let mut s = FragState::default();
        assert!(s.add(now, 1, false, frag(1, 65, b"x")).is_err());
        assert!(s.add(now, 1, false, frag(0, 2, b"x")).is_err());
        assert!(s.add(now, 1, false, frag(3, 2, b"x")).is_err());
        let big = vec![0u8; 40_000];
        assert_eq!(s.add(now, 2, false, frag(1, 2, &big)), Ok(None));
        assert!(s.add(now, 2, false, frag(2, 2, &big)).is_err());
        assert_eq!(s.held(), 0, "an oversized message is forgotten");
        // Old partial messages age out.
        assert_eq!(s.add(now, 3, true, frag(1, 2, b"a")), Ok(None));
        let later = now + REASSEMBLY_TIMEOUT;
        assert_eq!(s.add(later, 4, true, frag(1, 2, b"b")), Ok(None));
        assert_eq!(s.held(), 1);
    }

    #[test]
    fn smaller_fragments_restart_and_larger_ones_are_refused() {
        let now = Instant::now();
        let mut s = FragState::default();
        assert_eq!(s.add(now, 5, true, frag(1, 2, b"abc")), Ok(None));
        assert_eq!(s.add(now, 5, true, frag(1, 3, b"ab")), Ok(None));
        assert_eq!(
            s.add(now, 5, true, frag(2, 2, b"cd")),
            Err(DropReason::BadFragment)
        );
        assert_eq!(s.add(now, 5, true, frag(2, 3, b"c")), Ok(None));
        let m = s.add(now, 5, true, frag(3, 3, b"d")).unwrap().unwrap();
        assert_eq!(m.plain, b"abcd");
    }

    proptest::proptest! {
        /// Random fragment sets (duplicates, gaps, overlaps in numbering,
        /// bad totals) never panic, never hold more than the cap, and a
        /// message only comes out whole.
        #[test]
        fn random_fragment_sets_are_safe(
            frags in proptest::collection::vec((0u16..70, 0u16..70, 0usize..3000), 0..200)
        ) {
            let now = Instant::now();
            let mut s = FragState::default();
            for (i, (n, t, len)) in frags.into_iter().enumerate() {
                let mid = u32::try_from(i % 3).unwrap();
                let r = s.add(now, mid, i % 2 == 0, Fragment {
                    number: n,
                    total: t,
                    first_inner: 0,
                    plain: vec![0; len],
                });
                if let Ok(Some(m)) = r {
                    proptest::prop_assert!(m.plain.len() <= MAX_MESSAGE);
                }
                proptest::prop_assert!(s.held() <= 2 * MAX_MESSAGE);
            }
        }
    }
}
