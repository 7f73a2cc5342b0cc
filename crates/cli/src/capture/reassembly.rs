//! IP fragment reassembly (RFC 791 §3.2 for IPv4, RFC 8200 §4.5 for IPv6),
//! enough to recover IKE messages that were sent without IKE fragmentation
//! and split by IP.
//!
//! Like Wireshark, a reassembled datagram is reported at the frame of the
//! fragment that completed it. Fragments are keyed by source, destination,
//! identification and (IPv4) protocol. Memory is bounded: at most
//! [`MAX_PENDING`] datagrams in progress and [`MAX_DATAGRAM`] bytes each;
//! overlapping fragments are accepted, later bytes overwrite earlier ones.

use std::net::IpAddr;

use super::packet::IpPacket;

/// Datagrams in progress at once; the oldest is abandoned beyond this.
pub const MAX_PENDING: usize = 256;
/// Largest reassembled payload: an IPv6 fragment may start at 65528 and
/// carry up to 65535 bytes, so no legal datagram exceeds this.
pub const MAX_DATAGRAM: usize = 65_528 + 65_535;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    id: u32,
    protocol: u8,
}

#[derive(Debug)]
struct Pending {
    key: Key,
    first_frame: Option<u64>,
    /// (offset, bytes, frame number) per fragment, in arrival order.
    parts: Vec<(usize, Vec<u8>, u64)>,
    total: Option<usize>,
}

/// A datagram put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    /// Frames of the fragments, in offset order (duplicates included).
    pub frames: Vec<u64>,
    pub payload: Vec<u8>,
}

/// A datagram whose fragments never all arrived, reported by
/// [`Reassembler::finish`] if its first fragment was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub protocol: u8,
    pub first_frame: u64,
    /// The bytes of the offset-0 fragment.
    pub first_part: Vec<u8>,
}

/// Collects fragments until a datagram is whole.
#[derive(Debug, Default)]
pub struct Reassembler {
    pending: Vec<Pending>,
    abandoned: Vec<Incomplete>,
}

impl Reassembler {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one fragment (a packet whose `fragment` is set and whose payload
    /// was captured whole). Returns the datagram when this fragment
    /// completes it.
    pub fn push(&mut self, frame: u64, ip: &IpPacket<'_>) -> Option<Reassembled> {
        let frag = ip.fragment?;
        if !ip.complete() {
            // A fragment cut by the snap length can never complete anything.
            return None;
        }
        let end = frag.offset.checked_add(ip.payload.len())?;
        if end > MAX_DATAGRAM {
            return None;
        }
        let key = Key {
            src: ip.src,
            dst: ip.dst,
            id: frag.id,
            protocol: ip.protocol,
        };
        let idx = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.pending.len() >= MAX_PENDING {
                    let old = self.pending.remove(0);
                    self.abandon(old);
                }
                self.pending.push(Pending {
                    key,
                    first_frame: None,
                    parts: Vec::new(),
                    total: None,
                });
                self.pending.len() - 1
            }
        };
        let p = &mut self.pending[idx];
        if frag.offset == 0 {
            p.first_frame = Some(frame);
        }
        if !frag.more {
            p.total = Some(end);
        }
        p.parts.push((frag.offset, ip.payload.to_vec(), frame));
        let total = p.total?;
        let mut covered = 0usize;
        let mut parts: Vec<&(usize, Vec<u8>, u64)> = p.parts.iter().collect();
        parts.sort_by_key(|(o, _, f)| (*o, *f));
        for (o, b, _) in &parts {
            if *o > covered {
                return None;
            }
            covered = covered.max(o + b.len());
        }
        if covered < total {
            return None;
        }
        let frames = parts.iter().map(|(_, _, f)| *f).collect();
        let mut payload = vec![0u8; total];
        for (o, b, _) in &p.parts {
            // Bytes beyond the last fragment's end are dropped: the
            // datagram ends where the fragment without MF says.
            let n = b.len().min(total.saturating_sub(*o));
            if let (Some(dst), Some(src)) = (payload.get_mut(*o..o + n), b.get(..n)) {
                dst.copy_from_slice(src);
            }
        }
        let done = self.pending.remove(idx);
        Some(Reassembled {
            src: done.key.src,
            dst: done.key.dst,
            protocol: done.key.protocol,
            frames,
            payload,
        })
    }

    fn abandon(&mut self, p: Pending) {
        let Some(first_frame) = p.first_frame else {
            return;
        };
        if let Some((_, first, _)) = p.parts.into_iter().find(|(o, _, _)| *o == 0) {
            // Keep only what a UDP and IKE header need: the report is about
            // the first fragment, not a partial datagram.
            let mut first_part = first;
            first_part.truncate(64);
            self.abandoned.push(Incomplete {
                src: p.key.src,
                dst: p.key.dst,
                protocol: p.key.protocol,
                first_frame,
                first_part,
            });
        }
    }

    /// Ends the capture: every datagram still missing fragments whose first
    /// fragment was seen, in order of that first fragment.
    pub fn finish(&mut self) -> Vec<Incomplete> {
        for p in std::mem::take(&mut self.pending) {
            self.abandon(p);
        }
        let mut out = std::mem::take(&mut self.abandoned);
        out.sort_by_key(|i| i.first_frame);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::packet::{decode_ipv4, decode_ipv6, tests as pk};
    use super::*;

    #[test]
    fn reassemble_ipv4_out_of_order() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let a = [192, 0, 2, 1];
        let b = [192, 0, 2, 2];
        let f1 = pk::ipv4(a, b, 17, &data[..1480], Some((9, 0, true)));
        let f2 = pk::ipv4(a, b, 17, &data[1480..2960], Some((9, 1480, true)));
        let f3 = pk::ipv4(a, b, 17, &data[2960..], Some((9, 2960, false)));
        let mut r = Reassembler::new();
        assert_eq!(r.push(1, &decode_ipv4(&f3, 0).unwrap()), None);
        assert_eq!(r.push(2, &decode_ipv4(&f1, 0).unwrap()), None);
        let done = r.push(3, &decode_ipv4(&f2, 0).unwrap()).unwrap();
        assert_eq!(done.payload, data);
        assert_eq!(done.frames, vec![2, 3, 1]);
        assert!(r.finish().is_empty());
    }

    #[test]
    fn reassemble_ipv6_and_report_incomplete() {
        let s = "2001:db8::1".parse().unwrap();
        let d = "2001:db8::2".parse().unwrap();
        let frag = |off: u16, more: bool, id: u8| {
            vec![
                0,
                0,
                ((off / 8) >> 5) as u8,
                (((off / 8) << 3) as u8) | u8::from(more),
                0,
                0,
                0,
                id,
            ]
        };
        let data = [7u8; 24];
        let f1 = pk::ipv6(s, d, 17, &[(44, frag(0, true, 1))], &data[..16]);
        let f2 = pk::ipv6(s, d, 17, &[(44, frag(16, false, 1))], &data[16..]);
        let lone = pk::ipv6(s, d, 17, &[(44, frag(0, true, 2))], &data[..16]);
        let mut r = Reassembler::new();
        assert_eq!(r.push(1, &decode_ipv6(&f1, 0).unwrap()), None);
        assert_eq!(r.push(2, &decode_ipv6(&lone, 0).unwrap()), None);
        let done = r.push(3, &decode_ipv6(&f2, 0).unwrap()).unwrap();
        assert_eq!(done.payload, data);
        assert_eq!(done.protocol, 17);
        let inc = r.finish();
        assert_eq!(inc.len(), 1);
        assert_eq!(inc[0].first_frame, 2);
        assert_eq!(inc[0].first_part, &data[..16]);
    }

    #[test]
    fn bounded_memory() {
        let mut r = Reassembler::new();
        for id in 0..(MAX_PENDING as u16 + 10) {
            let f = pk::ipv4(
                [192, 0, 2, 1],
                [192, 0, 2, 2],
                17,
                &[0; 8],
                Some((id, 0, true)),
            );
            assert_eq!(
                r.push(u64::from(id) + 1, &decode_ipv4(&f, 0).unwrap()),
                None
            );
        }
        assert!(r.pending.len() <= MAX_PENDING);
        assert_eq!(r.finish().len(), MAX_PENDING + 10);
    }
}
