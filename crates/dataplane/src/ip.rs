//! Just enough IPv4/IPv6 for the data plane: the 5-tuple of an inner packet
//! (for SA lookup and selector checks), TCP MSS clamping of SYNs, and the
//! ICMP errors a tunnel endpoint sends back for oversized packets —
//! ICMPv4 "fragmentation needed" (RFC 792, RFC 1191 §4) and ICMPv6 "packet
//! too big" (RFC 4443 §3.2). Every reader checks lengths first and returns
//! `None` on anything short or malformed; nothing here panics on input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol numbers used here.
pub const PROTO_ICMP: u8 = 1;
/// TCP.
pub const PROTO_TCP: u8 = 6;
/// UDP.
pub const PROTO_UDP: u8 = 17;
/// ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// Addresses, protocol and ports of a packet (ports `None` when the protocol
/// has none or the packet is a non-first fragment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FiveTuple {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Upper-layer protocol (after IPv6 extension headers we skip).
    pub protocol: u8,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination port.
    pub dst_port: Option<u16>,
    /// Offset of the upper-layer header.
    pub l4_offset: usize,
}

impl FiveTuple {
    /// The selector fields, for matching against traffic selectors.
    #[inline]
    #[must_use]
    pub fn flow(&self) -> yadokari_policy::FlowKey {
        yadokari_policy::FlowKey {
            src: self.src,
            dst: self.dst,
            ip_protocol: yadokari_policy::IpProtocol(self.protocol),
            src_port: self.src_port,
            dst_port: self.dst_port,
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn has_ports(proto: u8) -> bool {
    matches!(proto, PROTO_TCP | PROTO_UDP | 132 | 136)
}

/// Parses the IP header of `pkt`.
#[must_use]
pub fn five_tuple(pkt: &[u8]) -> Option<FiveTuple> {
    match pkt.first()? >> 4 {
        4 => {
            let ihl = usize::from(pkt.first()? & 0x0f) * 4;
            if ihl < 20 || pkt.len() < ihl {
                return None;
            }
            let src = Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]);
            let dst = Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]);
            let protocol = pkt[9];
            let frag_off = be16(pkt, 6)? & 0x1fff;
            let (sp, dp) = if frag_off == 0 && has_ports(protocol) {
                (be16(pkt, ihl), be16(pkt, ihl + 2))
            } else {
                (None, None)
            };
            Some(FiveTuple {
                src: src.into(),
                dst: dst.into(),
                protocol,
                src_port: sp,
                dst_port: dp,
                l4_offset: ihl,
            })
        }
        6 => {
            if pkt.len() < 40 {
                return None;
            }
            let mut s = [0u8; 16];
            s.copy_from_slice(&pkt[8..24]);
            let mut d = [0u8; 16];
            d.copy_from_slice(&pkt[24..40]);
            let mut nh = pkt[6];
            let mut off = 40;
            let mut first_fragment = true;
            // Skip the common extension headers (bounded: each step advances).
            for _ in 0..8 {
                match nh {
                    0 | 43 | 60 => {
                        let len = (usize::from(*pkt.get(off + 1)?) + 1) * 8;
                        nh = *pkt.get(off)?;
                        off += len;
                    }
                    44 => {
                        let fo = be16(pkt, off + 2)? >> 3;
                        first_fragment = fo == 0;
                        nh = *pkt.get(off)?;
                        off += 8;
                    }
                    _ => break,
                }
            }
            let (sp, dp) = if first_fragment && has_ports(nh) {
                (be16(pkt, off), be16(pkt, off + 2))
            } else {
                (None, None)
            };
            Some(FiveTuple {
                src: Ipv6Addr::from(s).into(),
                dst: Ipv6Addr::from(d).into(),
                protocol: nh,
                src_port: sp,
                dst_port: dp,
                l4_offset: off,
            })
        }
        _ => None,
    }
}

/// Length the IP header claims for the whole packet, if well-formed.
#[must_use]
pub fn total_len(pkt: &[u8]) -> Option<usize> {
    match pkt.first()? >> 4 {
        4 => be16(pkt, 2).map(usize::from),
        6 => be16(pkt, 4).map(|l| usize::from(l) + 40),
        _ => None,
    }
}

/// One's-complement sum of `data` (RFC 1071), not folded.
fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc = acc.wrapping_add(u32::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [last] = chunks.remainder() {
        acc = acc.wrapping_add(u32::from(*last) << 8);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Internet checksum of `data`.
#[must_use]
pub fn checksum(data: &[u8]) -> u16 {
    fold(sum16(data, 0))
}

/// Incremental checksum update for a 16-bit field changing `old` → `new`
/// (RFC 1624 eqn. 3).
fn csum_update(csum: u16, old: u16, new: u16) -> u16 {
    let acc = u32::from(!csum) + u32::from(!old) + u32::from(new);
    fold(acc)
}

/// Lowers the MSS option of a TCP SYN to `max_mss`, fixing the checksum.
/// Returns whether the packet changed. Non-SYN, non-TCP and malformed
/// packets are left alone.
pub fn clamp_mss(pkt: &mut [u8], max_mss: u16) -> bool {
    let Some(t) = five_tuple(pkt) else {
        return false;
    };
    if t.protocol != PROTO_TCP || t.src_port.is_none() {
        return false;
    }
    let th = t.l4_offset;
    let Some(&flags) = pkt.get(th + 13) else {
        return false;
    };
    if flags & 0x02 == 0 {
        return false;
    }
    let Some(&doff) = pkt.get(th + 12) else {
        return false;
    };
    let hl = usize::from(doff >> 4) * 4;
    if hl < 20 || pkt.len() < th + hl {
        return false;
    }
    let mut i = th + 20;
    let end = th + hl;
    while i < end {
        match pkt[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = pkt.get(i + 1) else {
                    return false;
                };
                let len = usize::from(len);
                if len < 2 || i + len > end {
                    return false;
                }
                if kind == 2 && len == 4 {
                    let old = u16::from_be_bytes([pkt[i + 2], pkt[i + 3]]);
                    if old <= max_mss {
                        return false;
                    }
                    pkt[i + 2..i + 4].copy_from_slice(&max_mss.to_be_bytes());
                    let c = u16::from_be_bytes([pkt[th + 16], pkt[th + 17]]);
                    let c = csum_update(c, old, max_mss);
                    pkt[th + 16..th + 18].copy_from_slice(&c.to_be_bytes());
                    return true;
                }
                i += len;
            }
        }
    }
    false
}

/// Whether an IPv4 packet has the Don't Fragment bit.
#[must_use]
pub fn ipv4_dont_fragment(pkt: &[u8]) -> bool {
    pkt.get(6).is_some_and(|b| b & 0x40 != 0)
}

/// Builds the ICMP error telling the sender of `orig` that packets above
/// `mtu` do not fit the tunnel: ICMPv4 type 3 code 4 with the next-hop MTU,
/// or ICMPv6 type 2. `from` is the source address of the error (same family
/// as `orig`). Returns `None` for malformed packets and for ICMP errors
/// themselves (RFC 1122 §3.2.2 / RFC 4443 §2.4(e): never answer an error
/// with an error).
#[must_use]
pub fn too_big(orig: &[u8], mtu: u16, from: Option<IpAddr>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    too_big_into(orig, mtu, from, &mut out).then_some(out)
}

/// Longest error [`too_big`] builds: the IPv6 minimum MTU (RFC 4443 §2.4(c)).
pub const TOO_BIG_MAX: usize = 1280;

/// [`too_big`] into `out` (replacing its contents); false when no error is
/// due. Allocates nothing when `out` has room for [`TOO_BIG_MAX`] bytes:
/// the outbound worker answers every oversized packet this way.
pub fn too_big_into(orig: &[u8], mtu: u16, from: Option<IpAddr>, out: &mut Vec<u8>) -> bool {
    too_big_inner(orig, mtu, from, out).is_some()
}

fn too_big_inner(orig: &[u8], mtu: u16, from: Option<IpAddr>, out: &mut Vec<u8>) -> Option<()> {
    let t = five_tuple(orig)?;
    match (t.src, t.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            if t.protocol == PROTO_ICMP {
                let ty = *orig.get(t.l4_offset)?;
                if !matches!(ty, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18) {
                    return None;
                }
            }
            let from = match from {
                Some(IpAddr::V4(f)) => f,
                _ => dst,
            };
            // IP header + 8 bytes of the original datagram (RFC 792); we
            // quote up to 548 bytes as RFC 1812 §4.3.2.3 allows.
            let quote = &orig[..orig.len().min(548)];
            let len = 20 + 8 + quote.len();
            out.clear();
            out.resize(len, 0);
            let p = &mut out[..];
            p[0] = 0x45;
            p[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            p[8] = 64;
            p[9] = PROTO_ICMP;
            p[12..16].copy_from_slice(&from.octets());
            p[16..20].copy_from_slice(&src.octets());
            let c = checksum(&p[..20]);
            p[10..12].copy_from_slice(&c.to_be_bytes());
            p[20] = 3;
            p[21] = 4;
            p[26..28].copy_from_slice(&mtu.to_be_bytes());
            p[28..].copy_from_slice(quote);
            let c = checksum(&p[20..]);
            p[22..24].copy_from_slice(&c.to_be_bytes());
            Some(())
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            if t.protocol == PROTO_ICMPV6 && orig.get(t.l4_offset)? & 0x80 == 0 {
                return None;
            }
            let from = match from {
                Some(IpAddr::V6(f)) => f,
                _ => dst,
            };
            // As much of the packet as fits the minimum MTU (RFC 4443 §3.2).
            let quote = &orig[..orig.len().min(1280 - 48)];
            let plen = 8 + quote.len();
            out.clear();
            out.resize(40 + plen, 0);
            let p = &mut out[..];
            p[0] = 0x60;
            p[4..6].copy_from_slice(&(plen as u16).to_be_bytes());
            p[6] = PROTO_ICMPV6;
            p[7] = 64;
            p[8..24].copy_from_slice(&from.octets());
            p[24..40].copy_from_slice(&src.octets());
            p[40] = 2;
            p[44..48].copy_from_slice(&u32::from(mtu).to_be_bytes());
            p[48..].copy_from_slice(quote);
            // Checksum over the pseudo-header (RFC 8200 §8.1) and the message.
            let mut acc = sum16(&p[8..40], 0);
            acc = acc
                .wrapping_add(plen as u32)
                .wrapping_add(u32::from(PROTO_ICMPV6));
            let c = fold(sum16(&p[40..], acc));
            p[42..44].copy_from_slice(&c.to_be_bytes());
            Some(())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_tcp_syn(mss: u16) -> Vec<u8> {
        let mut p = vec![0u8; 20 + 24];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&44u16.to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = PROTO_TCP;
        p[12..16].copy_from_slice(&[198, 51, 100, 1]);
        p[16..20].copy_from_slice(&[203, 0, 113, 1]);
        let c = checksum(&p[..20]);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p[20..22].copy_from_slice(&40000u16.to_be_bytes());
        p[22..24].copy_from_slice(&5201u16.to_be_bytes());
        p[32] = 6 << 4;
        p[33] = 0x02;
        p[40..44].copy_from_slice(&[2, 4, (mss >> 8) as u8, mss as u8]);
        let c = tcp_checksum_v4(&p);
        p[36..38].copy_from_slice(&c.to_be_bytes());
        p
    }

    fn tcp_checksum_v4(p: &[u8]) -> u16 {
        let mut acc = sum16(&p[12..20], 0);
        acc = acc
            .wrapping_add(u32::from(PROTO_TCP))
            .wrapping_add((p.len() - 20) as u32);
        let mut seg = p[20..].to_vec();
        seg[16] = 0;
        seg[17] = 0;
        fold(sum16(&seg, acc))
    }

    #[test]
    fn parse_five_tuple_v4() {
        let p = v4_tcp_syn(1460);
        let t = five_tuple(&p).expect("parse");
        assert_eq!(t.protocol, PROTO_TCP);
        assert_eq!(t.src_port, Some(40000));
        assert_eq!(t.dst_port, Some(5201));
        assert_eq!(total_len(&p), Some(44));
    }

    #[test]
    fn truncated_never_panics() {
        let p = v4_tcp_syn(1460);
        for n in 0..p.len() {
            let mut q = p[..n].to_vec();
            let _ = five_tuple(&q);
            let _ = clamp_mss(&mut q, 1000);
            let _ = too_big(&q, 1400, None);
        }
    }

    #[test]
    fn mss_clamp_fixes_checksum() {
        let mut p = v4_tcp_syn(1460);
        assert!(clamp_mss(&mut p, 1358));
        assert_eq!(u16::from_be_bytes([p[42], p[43]]), 1358);
        assert_eq!(u16::from_be_bytes([p[36], p[37]]), tcp_checksum_v4(&p));
        assert!(!clamp_mss(&mut p, 1400), "smaller MSS stays");
    }

    #[test]
    fn frag_needed_v4() {
        let p = v4_tcp_syn(1460);
        let e = too_big(&p, 1400, None).expect("icmp");
        assert_eq!(e[9], PROTO_ICMP);
        assert_eq!(&e[16..20], &[198, 51, 100, 1]);
        assert_eq!(checksum(&e[..20]), 0);
        assert_eq!(checksum(&e[20..]), 0);
        assert_eq!(u16::from_be_bytes([e[26], e[27]]), 1400);
        assert!(too_big(&e, 1400, None).is_none(), "no error about an error");
    }

    #[test]
    fn packet_too_big_v6() {
        let mut p = vec![0u8; 40 + 8];
        p[0] = 0x60;
        p[4..6].copy_from_slice(&8u16.to_be_bytes());
        p[6] = PROTO_UDP;
        p[8..24].copy_from_slice(&"2001:db8:a::1".parse::<Ipv6Addr>().expect("a").octets());
        p[24..40].copy_from_slice(&"2001:db8:b::1".parse::<Ipv6Addr>().expect("a").octets());
        let e = too_big(&p, 1380, None).expect("icmp6");
        assert_eq!(e[40], 2);
        assert_eq!(&e[24..40], &p[8..24]);
        let plen = e.len() - 40;
        let mut acc = sum16(&e[8..40], 0);
        acc = acc
            .wrapping_add(plen as u32)
            .wrapping_add(u32::from(PROTO_ICMPV6));
        assert_eq!(fold(sum16(&e[40..], acc)), 0);
    }
}
