//! ESP transport mode (RFC 4303 §3.1.1) over a TUN device: the IP header of
//! a packet read from the TUN is taken off and only the upper-layer payload
//! is protected, with the IP protocol as ESP Next Header; on receipt the IP
//! header is rebuilt from the SA's two host addresses.
//!
//! A TUN data plane sees whole IP packets, so "inserting ESP after the IP
//! header" becomes strip-then-seal here, and the receiver writes a fresh
//! header. What cannot be carried that way is refused and counted, never
//! passed on damaged:
//!
//! - IPv4 fragments: RFC 4301 §4.1 applies transport mode to whole
//!   datagrams only, and a fragment's payload without its offset would be
//!   delivered as a complete datagram.
//! - IPv6 extension headers (RFC 4303 §3.1.1 places ESP after hop-by-hop,
//!   routing and fragment headers; rebuilding them on the far side is not
//!   done here), and jumbograms.
//! - Packets whose addresses are not the SA's two hosts: the receiver
//!   rebuilds the header from the SA, so anything else would be delivered
//!   under the wrong addresses.
//!
//! IPv4 options are dropped with the header; the receiver writes a plain
//! 20-byte header (TTL and hop limit 64, DSCP/ECN and flow label zero, DF
//! set, ID 0 as RFC 6864 allows for atomic datagrams).
//!
//! TCP/UDP checksums cover the pseudo-header (RFC 793 §3.1, RFC 8200 §8.1),
//! so they stay valid exactly when both ends use the addresses the sender
//! used: true without NAT, which is why the daemon refuses transport mode
//! once NAT-T is in use (RFC 3948 §3.1.2's checksum fix-up needs NAT-OA,
//! which we do not negotiate).

use std::net::IpAddr;
use std::ops::Range;

/// How an SA carries traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SaMode {
    /// Whole IP packets (next header 4 or 41).
    Tunnel,
    /// Upper-layer payloads between two hosts.
    Transport(TransportAddrs),
}

/// The two hosts of a transport-mode SA, as seen from this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransportAddrs {
    /// Our address: the source of outbound and destination of inbound packets.
    pub local: IpAddr,
    /// The peer's address.
    pub remote: IpAddr,
}

/// Why a packet cannot go through a transport-mode SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// A header or length field is cut short or inconsistent.
    #[error("{field} at byte {offset}: truncated or inconsistent")]
    Truncated {
        /// The field that did not fit.
        field: &'static str,
        /// Where it starts.
        offset: usize,
    },
    /// Not the IP version of the SA's addresses.
    #[error("IP version {0} does not match the SA's addresses")]
    Version(u8),
    /// An IPv4 fragment (RFC 4301 §4.1: whole datagrams only).
    #[error("IPv4 fragment")]
    Fragment,
    /// An IPv6 extension header (or jumbogram) we do not carry.
    #[error("IPv6 extension header {0}")]
    ExtensionHeader(u8),
    /// Source or destination is not one of the SA's two hosts.
    #[error("{src} -> {dst} is not between the SA's hosts")]
    Addresses {
        /// Source of the packet.
        src: IpAddr,
        /// Destination of the packet.
        dst: IpAddr,
    },
    /// The rebuilt packet would exceed the IP length field.
    #[error("payload of {0} bytes does not fit one IP packet")]
    TooLong(usize),
}

/// The upper-layer part of a packet read from the TUN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// Where the upper-layer payload lies in the packet.
    pub payload: Range<usize>,
    /// The IP protocol: ESP's Next Header.
    pub protocol: u8,
}

/// IPv6 Next Header values that are extension headers (RFC 8200 §4,
/// RFC 7045's list) rather than an upper-layer protocol.
fn is_ipv6_extension(nh: u8) -> bool {
    matches!(nh, 0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254)
}

fn be16(b: &[u8], at: usize, field: &'static str) -> Result<u16, TransportError> {
    match b.get(at..at + 2) {
        Some(&[hi, lo]) => Ok(u16::from_be_bytes([hi, lo])),
        _ => Err(TransportError::Truncated { field, offset: at }),
    }
}

/// Checks an outbound packet against `addrs` and finds its payload.
pub fn strip(pkt: &[u8], addrs: &TransportAddrs) -> Result<Stripped, TransportError> {
    let first = *pkt.first().ok_or(TransportError::Truncated {
        field: "version",
        offset: 0,
    })?;
    let version = first >> 4;
    let (hdr, total, protocol, src, dst) = match (version, addrs.local) {
        (4, IpAddr::V4(_)) => {
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < 20 || pkt.len() < ihl {
                return Err(TransportError::Truncated {
                    field: "IPv4 header (IHL)",
                    offset: 0,
                });
            }
            let total = usize::from(be16(pkt, 2, "IPv4 total length")?);
            let frag = be16(pkt, 6, "IPv4 flags/fragment offset")?;
            // MF set or a non-zero offset: part of a larger datagram.
            if frag & 0x3fff != 0 {
                return Err(TransportError::Fragment);
            }
            let src = IpAddr::from([pkt[12], pkt[13], pkt[14], pkt[15]]);
            let dst = IpAddr::from([pkt[16], pkt[17], pkt[18], pkt[19]]);
            (ihl, total, pkt[9], src, dst)
        }
        (6, IpAddr::V6(_)) => {
            if pkt.len() < 40 {
                return Err(TransportError::Truncated {
                    field: "IPv6 header",
                    offset: 0,
                });
            }
            let plen = usize::from(be16(pkt, 4, "IPv6 payload length")?);
            let nh = pkt[6];
            // Payload length 0 with a hop-by-hop header is a jumbogram;
            // that and every other extension header are refused.
            if is_ipv6_extension(nh) {
                return Err(TransportError::ExtensionHeader(nh));
            }
            let mut s = [0u8; 16];
            s.copy_from_slice(&pkt[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&pkt[24..40]);
            (40, 40 + plen, nh, IpAddr::from(s), IpAddr::from(d))
        }
        (v, _) => return Err(TransportError::Version(v)),
    };
    if total < hdr || total > pkt.len() {
        return Err(TransportError::Truncated {
            field: "IP length",
            offset: if version == 4 { 2 } else { 4 },
        });
    }
    if src != addrs.local || dst != addrs.remote {
        return Err(TransportError::Addresses { src, dst });
    }
    Ok(Stripped {
        payload: hdr..total,
        protocol,
    })
}

/// Appends the rebuilt inbound packet — a header from `addrs.remote` to
/// `addrs.local` carrying `protocol`, then `payload` — to `out`. On error
/// `out` is unchanged.
pub fn rebuild(
    out: &mut Vec<u8>,
    addrs: &TransportAddrs,
    protocol: u8,
    payload: &[u8],
) -> Result<(), TransportError> {
    match (addrs.remote, addrs.local) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let total = 20 + payload.len();
            let Ok(total16) = u16::try_from(total) else {
                return Err(TransportError::TooLong(payload.len()));
            };
            let mut h = [0u8; 20];
            h[0] = 0x45;
            h[2..4].copy_from_slice(&total16.to_be_bytes());
            h[6] = 0x40; // DF
            h[8] = 64;
            h[9] = protocol;
            h[12..16].copy_from_slice(&src.octets());
            h[16..20].copy_from_slice(&dst.octets());
            let c = crate::ip::checksum(&h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
            out.reserve(total);
            out.extend_from_slice(&h);
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let Ok(plen) = u16::try_from(payload.len()) else {
                return Err(TransportError::TooLong(payload.len()));
            };
            let mut h = [0u8; 40];
            h[0] = 0x60;
            h[4..6].copy_from_slice(&plen.to_be_bytes());
            h[6] = protocol;
            h[7] = 64;
            h[8..24].copy_from_slice(&src.octets());
            h[24..40].copy_from_slice(&dst.octets());
            out.reserve(40 + payload.len());
            out.extend_from_slice(&h);
        }
        (r, l) => {
            return Err(TransportError::Addresses { src: r, dst: l });
        }
    }
    out.extend_from_slice(payload);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ip::{checksum, five_tuple, total_len, PROTO_TCP, PROTO_UDP};

    const A4: [u8; 4] = [192, 0, 2, 1];
    const B4: [u8; 4] = [192, 0, 2, 2];

    fn v4_addrs() -> TransportAddrs {
        TransportAddrs {
            local: IpAddr::from(A4),
            remote: IpAddr::from(B4),
        }
    }

    fn v6_addrs() -> TransportAddrs {
        TransportAddrs {
            local: "2001:db8::1".parse().expect("addr"),
            remote: "2001:db8::2".parse().expect("addr"),
        }
    }

    /// Sum over the pseudo-header and segment; 0 when the checksum is right.
    fn l4_check(pkt: &[u8]) -> u16 {
        let t = five_tuple(pkt).expect("parse");
        let seg = &pkt[t.l4_offset..];
        let mut pseudo = Vec::new();
        match (t.src, t.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&[0, t.protocol]);
                pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&(seg.len() as u32).to_be_bytes());
                pseudo.extend_from_slice(&[0, 0, 0, t.protocol]);
            }
            _ => unreachable!("same family"),
        }
        pseudo.extend_from_slice(seg);
        checksum(&pseudo)
    }

    /// A UDP datagram from `src` to `dst` with IPv4 options of `opt_words`
    /// 32-bit words and a valid UDP checksum.
    fn v4_udp(src: [u8; 4], dst: [u8; 4], opt_words: usize, body: &[u8]) -> Vec<u8> {
        let ihl = 20 + 4 * opt_words;
        let total = ihl + 8 + body.len();
        let mut p = vec![0u8; total];
        p[0] = 0x40 | (ihl / 4) as u8;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[8] = 17;
        p[9] = PROTO_UDP;
        p[12..16].copy_from_slice(&src);
        p[16..20].copy_from_slice(&dst);
        // Options: NOPs then End of List.
        for b in &mut p[20..ihl] {
            *b = 1;
        }
        if ihl > 20 {
            p[ihl - 1] = 0;
        }
        let c = checksum(&p[..ihl]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[ihl..ihl + 2].copy_from_slice(&40000u16.to_be_bytes());
        p[ihl + 2..ihl + 4].copy_from_slice(&53u16.to_be_bytes());
        p[ihl + 4..ihl + 6].copy_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        p[ihl + 8..].copy_from_slice(body);
        let c = {
            let mut q = p.clone();
            q[ihl + 6] = 0;
            q[ihl + 7] = 0;
            l4_check(&q)
        };
        p[ihl + 6..ihl + 8].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn v6_tcp(src: IpAddr, dst: IpAddr, body: &[u8]) -> Vec<u8> {
        let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
            unreachable!("v6 only")
        };
        let plen = 20 + body.len();
        let mut p = vec![0u8; 40 + plen];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
        p[6] = PROTO_TCP;
        p[7] = 3;
        p[8..24].copy_from_slice(&s.octets());
        p[24..40].copy_from_slice(&d.octets());
        p[40..42].copy_from_slice(&40000u16.to_be_bytes());
        p[42..44].copy_from_slice(&5201u16.to_be_bytes());
        p[52] = 5 << 4;
        p[53] = 0x18;
        p[60..].copy_from_slice(body);
        let c = l4_check(&p);
        p[56..58].copy_from_slice(&c.to_be_bytes());
        p
    }

    /// Strip on one side, rebuild on the other (addresses mirrored).
    fn roundtrip(pkt: &[u8], ours: &TransportAddrs) -> Vec<u8> {
        let s = strip(pkt, ours).expect("strip");
        let theirs = TransportAddrs {
            local: ours.remote,
            remote: ours.local,
        };
        let mut out = vec![0xaa; 3]; // rebuild appends after what is there
        rebuild(&mut out, &theirs, s.protocol, &pkt[s.payload]).expect("rebuild");
        assert_eq!(&out[..3], &[0xaa; 3]);
        out.split_off(3)
    }

    #[test]
    fn v4_roundtrip_keeps_protocol_length_and_checksums() {
        let p = v4_udp(A4, B4, 0, b"hello transport");
        assert_eq!(l4_check(&p), 0, "test packet itself is valid");
        let s = strip(&p, &v4_addrs()).expect("strip");
        assert_eq!(s.protocol, PROTO_UDP);
        assert_eq!(s.payload, 20..p.len());
        let q = roundtrip(&p, &v4_addrs());
        assert_eq!(q.len(), p.len());
        assert_eq!(total_len(&q), Some(p.len()));
        assert_eq!(q[9], PROTO_UDP);
        assert_eq!(checksum(&q[..20]), 0, "IPv4 header checksum");
        assert_eq!(&q[12..16], &A4);
        assert_eq!(&q[16..20], &B4);
        assert_eq!(&q[20..], &p[20..]);
        assert_eq!(l4_check(&q), 0, "UDP checksum still valid");
    }

    #[test]
    fn v4_options_are_stripped() {
        let p = v4_udp(A4, B4, 3, b"opt");
        let s = strip(&p, &v4_addrs()).expect("strip");
        assert_eq!(s.payload.start, 32);
        let q = roundtrip(&p, &v4_addrs());
        assert_eq!(q[0], 0x45, "rebuilt without options");
        assert_eq!(q.len(), p.len() - 12);
        assert_eq!(checksum(&q[..20]), 0);
        assert_eq!(l4_check(&q), 0);
    }

    #[test]
    fn v4_padding_after_total_length_is_not_carried() {
        let mut p = v4_udp(A4, B4, 0, b"x");
        let n = p.len();
        p.extend_from_slice(&[0; 7]);
        assert_eq!(strip(&p, &v4_addrs()).expect("strip").payload, 20..n);
    }

    #[test]
    fn v6_roundtrip() {
        let a = v6_addrs();
        let p = v6_tcp(a.local, a.remote, &[7u8; 100]);
        assert_eq!(l4_check(&p), 0);
        let s = strip(&p, &a).expect("strip");
        assert_eq!(s.protocol, PROTO_TCP);
        assert_eq!(s.payload, 40..p.len());
        let q = roundtrip(&p, &a);
        assert_eq!(q.len(), p.len());
        assert_eq!(total_len(&q), Some(p.len()));
        assert_eq!(q[6], PROTO_TCP);
        assert_eq!(q[7], 64);
        assert_eq!(&q[8..40], &p[8..40]);
        assert_eq!(l4_check(&q), 0, "TCP checksum still valid");
    }

    #[test]
    fn v6_extension_headers_refused() {
        let a = v6_addrs();
        for nh in [0u8, 43, 44, 60] {
            let mut p = v6_tcp(a.local, a.remote, b"x");
            p[6] = nh;
            assert_eq!(strip(&p, &a), Err(TransportError::ExtensionHeader(nh)));
        }
    }

    #[test]
    fn v4_fragments_refused() {
        let mut p = v4_udp(A4, B4, 0, b"frag");
        p[6] = 0x20; // MF
        assert_eq!(strip(&p, &v4_addrs()), Err(TransportError::Fragment));
        p[6] = 0x00;
        p[7] = 0x10; // offset
        assert_eq!(strip(&p, &v4_addrs()), Err(TransportError::Fragment));
        p[6] = 0x40;
        p[7] = 0x00; // DF only: fine
        assert!(strip(&p, &v4_addrs()).is_ok());
    }

    #[test]
    fn foreign_addresses_and_versions_refused() {
        let p = v4_udp(A4, [192, 0, 2, 3], 0, b"x");
        assert!(matches!(
            strip(&p, &v4_addrs()),
            Err(TransportError::Addresses { .. })
        ));
        let p = v4_udp(B4, A4, 0, b"x");
        assert!(matches!(
            strip(&p, &v4_addrs()),
            Err(TransportError::Addresses { .. })
        ));
        let p = v4_udp(A4, B4, 0, b"x");
        assert_eq!(strip(&p, &v6_addrs()), Err(TransportError::Version(4)));
        let mut out = Vec::new();
        let mixed = TransportAddrs {
            local: IpAddr::from(A4),
            remote: "2001:db8::2".parse().expect("addr"),
        };
        assert!(rebuild(&mut out, &mixed, 6, b"x").is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let a4 = v4_addrs();
        let a6 = v6_addrs();
        let p4 = v4_udp(A4, B4, 2, b"abcdefgh");
        let p6 = v6_tcp(a6.local, a6.remote, b"abcdefgh");
        for n in 0..p4.len() {
            assert!(strip(&p4[..n], &a4).is_err(), "v4 cut at {n}");
        }
        for n in 0..p6.len() {
            assert!(strip(&p6[..n], &a6).is_err(), "v6 cut at {n}");
        }
        // Lengths that lie: shorter than the header, longer than the buffer.
        let mut bad = p4.clone();
        bad[2..4].copy_from_slice(&10u16.to_be_bytes());
        assert!(matches!(
            strip(&bad, &a4),
            Err(TransportError::Truncated { .. })
        ));
        let mut bad = p4.clone();
        bad[0] = 0x44; // IHL 16 bytes
        assert!(strip(&bad, &a4).is_err());
        // Every single-byte value at every position: an error or a payload
        // range inside the buffer.
        for p in [&p4, &p6] {
            for i in 0..p.len() {
                for v in [0u8, 0x0f, 0x45, 0x60, 0xff] {
                    let mut q = p.clone();
                    q[i] = v;
                    for a in [&a4, &a6] {
                        if let Ok(s) = strip(&q, a) {
                            assert!(s.payload.start <= s.payload.end && s.payload.end <= q.len());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn rebuild_refuses_oversized() {
        let big = vec![0u8; 65_535 - 19];
        let mut out = Vec::new();
        assert_eq!(
            rebuild(&mut out, &v4_addrs(), 17, &big),
            Err(TransportError::TooLong(big.len()))
        );
        assert!(out.is_empty());
        assert!(rebuild(&mut out, &v4_addrs(), 17, &big[1..]).is_ok());
        assert_eq!(total_len(&out), Some(65_535));
        let big6 = vec![0u8; 65_536];
        let mut out = Vec::new();
        assert!(rebuild(&mut out, &v6_addrs(), 17, &big6).is_err());
    }
}
