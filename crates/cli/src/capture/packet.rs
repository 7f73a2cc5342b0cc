//! Link-layer, IP and UDP decoding down to the bytes of an IKE message.
//!
//! Link types: Ethernet (with 802.1Q/802.1ad tags), Linux cooked capture v1
//! and v2, BSD/OpenBSD loopback, and raw IP (101, 228, 229, 12, 14).
//! IPv4 (RFC 791) with options and fragments; IPv6 (RFC 8200 §4) walking
//! Hop-by-Hop, Routing, Destination Options, Fragment, AH (RFC 4302 §2.2)
//! and the other RFC 7045 extension headers, with a cap on their number.
//! UDP (RFC 768) with the declared length checked against what was captured.
//! On port 4500 the RFC 3948 §2.2 non-ESP marker separates IKE from ESP, and
//! a single 0xFF byte is a NAT-keepalive (RFC 3948 §2.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::LinkType;

/// What was wrong with a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PacketErrorKind {
    #[error("truncated")]
    Truncated,
    #[error("bad value")]
    BadValue,
    #[error("too many extension headers")]
    TooManyHeaders,
}

/// A lower-layer decoding error: which header, which field, where in the
/// frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{layer}.{field} at byte {offset}: {kind}")]
pub struct PacketError {
    pub layer: &'static str,
    pub field: &'static str,
    pub offset: usize,
    pub kind: PacketErrorKind,
}

fn trunc(layer: &'static str, field: &'static str, offset: usize) -> PacketError {
    PacketError {
        layer,
        field,
        offset,
        kind: PacketErrorKind::Truncated,
    }
}

fn bad(layer: &'static str, field: &'static str, offset: usize) -> PacketError {
    PacketError {
        layer,
        field,
        offset,
        kind: PacketErrorKind::BadValue,
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    let b = d.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    let b = d.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// An IP fragment's identity and place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// IPv4 Identification or IPv6 Fragment Identification.
    pub id: u32,
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: usize,
    /// The More Fragments flag.
    pub more: bool,
}

/// One IP packet, its addresses, upper-layer protocol and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The upper-layer protocol (after IPv6 extension headers). For a
    /// fragment, the protocol named in its header.
    pub protocol: u8,
    /// Bytes after the IP header(s) that were captured. For an IPv6
    /// fragment, the fragmentable part after the Fragment header.
    pub payload: &'a [u8],
    /// Payload length the IP header declares; more than `payload.len()`
    /// when the snap length cut the packet.
    pub declared_len: usize,
    pub fragment: Option<Fragment>,
}

impl IpPacket<'_> {
    /// Whether the capture holds every byte the IP header announces.
    #[must_use]
    pub fn complete(&self) -> bool {
        self.payload.len() >= self.declared_len
    }
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86DD;
const ETHERTYPE_VLAN: [u16; 3] = [0x8100, 0x88A8, 0x9100];
/// At most this many VLAN tags (QinQ and a bit more) are peeled.
const MAX_VLAN_TAGS: usize = 4;
/// At most this many IPv6 extension headers are walked: RFC 8200 §4.1
/// expects a handful; a long chain is an attack on middleboxes.
const MAX_IPV6_EXTENSIONS: usize = 16;

pub const IPPROTO_UDP: u8 = 17;

/// Finds the IP packet in a frame. `Ok(None)` means the frame carries
/// something other than IP (ARP, LLDP, an unknown link type).
pub fn decode_link(link: LinkType, data: &[u8]) -> Result<Option<IpPacket<'_>>, PacketError> {
    let (ethertype, at) = match link {
        LinkType::ETHERNET => {
            let mut at = 12;
            let mut ty = be16(data, at).ok_or(trunc("ethernet", "type", at))?;
            let mut tags = 0;
            while ETHERTYPE_VLAN.contains(&ty) && tags < MAX_VLAN_TAGS {
                at += 4;
                tags += 1;
                ty = be16(data, at).ok_or(trunc("ethernet", "vlan type", at))?;
            }
            (Some(ty), at + 2)
        }
        LinkType::LINUX_SLL => (
            Some(be16(data, 14).ok_or(trunc("sll", "protocol", 14))?),
            16,
        ),
        LinkType::LINUX_SLL2 => {
            if data.len() < 20 {
                return Err(trunc("sll2", "header", 0));
            }
            (be16(data, 0), 20)
        }
        LinkType::NULL | LinkType::LOOP => {
            let raw = be32(data, 0).ok_or(trunc("loopback", "family", 0))?;
            // DLT_NULL stores the family in the writer's byte order; a
            // family is small, so whichever order gives a small number wins.
            let family = if link == LinkType::NULL && raw > 0xFFFF {
                raw.swap_bytes()
            } else {
                raw
            };
            let ty = match family {
                2 => ETHERTYPE_IPV4,
                10 | 24 | 28 | 30 => ETHERTYPE_IPV6,
                _ => return Ok(None),
            };
            (Some(ty), 4)
        }
        LinkType::RAW | LinkType::RAW_12 | LinkType::RAW_14 => {
            let v = data.first().ok_or(trunc("raw ip", "version", 0))? >> 4;
            let ty = match v {
                4 => ETHERTYPE_IPV4,
                6 => ETHERTYPE_IPV6,
                _ => return Ok(None),
            };
            (Some(ty), 0)
        }
        LinkType::IPV4 => (Some(ETHERTYPE_IPV4), 0),
        LinkType::IPV6 => (Some(ETHERTYPE_IPV6), 0),
        _ => (None, 0),
    };
    let rest = data.get(at..).unwrap_or_default();
    match ethertype {
        Some(ETHERTYPE_IPV4) => decode_ipv4(rest, at).map(Some),
        Some(ETHERTYPE_IPV6) => decode_ipv6(rest, at).map(Some),
        _ => Ok(None),
    }
}

/// RFC 791 §3.1. `base` is the header's offset in the frame, for errors.
pub fn decode_ipv4(d: &[u8], base: usize) -> Result<IpPacket<'_>, PacketError> {
    const L: &str = "ipv4";
    if d.len() < 20 {
        return Err(trunc(L, "header", base));
    }
    if d[0] >> 4 != 4 {
        return Err(bad(L, "version", base));
    }
    let ihl = usize::from(d[0] & 0x0F) * 4;
    if ihl < 20 {
        return Err(bad(L, "ihl", base));
    }
    if d.len() < ihl {
        return Err(trunc(L, "options", base + 20));
    }
    let total = usize::from(u16::from_be_bytes([d[2], d[3]]));
    // TSO/GSO captures show total length 0; take what was captured.
    let total = if total == 0 { d.len() } else { total };
    if total < ihl {
        return Err(bad(L, "total length", base + 2));
    }
    let flags_frag = u16::from_be_bytes([d[6], d[7]]);
    let more = flags_frag & 0x2000 != 0;
    let offset = usize::from(flags_frag & 0x1FFF) * 8;
    let fragment = (more || offset != 0).then_some(Fragment {
        id: u32::from(u16::from_be_bytes([d[4], d[5]])),
        offset,
        more,
    });
    // Ethernet pads short frames: the total length says where IP ends.
    let end = total.min(d.len());
    Ok(IpPacket {
        src: IpAddr::V4(Ipv4Addr::new(d[12], d[13], d[14], d[15])),
        dst: IpAddr::V4(Ipv4Addr::new(d[16], d[17], d[18], d[19])),
        protocol: d[9],
        payload: d.get(ihl..end).unwrap_or_default(),
        declared_len: total - ihl,
        fragment,
    })
}

fn ipv6_addr(d: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    if let Some(s) = d.get(at..at + 16) {
        a.copy_from_slice(s);
    }
    Ipv6Addr::from(a)
}

/// RFC 8200 §3 and §4. `base` is the header's offset in the frame.
pub fn decode_ipv6(d: &[u8], base: usize) -> Result<IpPacket<'_>, PacketError> {
    const L: &str = "ipv6";
    if d.len() < 40 {
        return Err(trunc(L, "header", base));
    }
    if d[0] >> 4 != 6 {
        return Err(bad(L, "version", base));
    }
    let plen = usize::from(u16::from_be_bytes([d[4], d[5]]));
    // Payload length 0 means a jumbogram (RFC 2675) or a GSO capture.
    let plen = if plen == 0 { d.len() - 40 } else { plen };
    let end = (40 + plen).min(d.len());
    let body = &d[40..end];
    let src = IpAddr::V6(ipv6_addr(d, 8));
    let dst = IpAddr::V6(ipv6_addr(d, 24));
    let (nh, skipped, fragment) = walk_ipv6_extensions(d[6], body, base + 40)?;
    let payload = body.get(skipped..).unwrap_or_default();
    Ok(IpPacket {
        src,
        dst,
        protocol: nh,
        payload,
        declared_len: plen.saturating_sub(skipped),
        fragment,
    })
}

/// Walks IPv6 extension headers from `next` over `d`. Returns the final
/// next-header value, how many bytes were headers, and the Fragment header
/// if one was met (the walk stops after it: what follows is the
/// fragmentable part, which is only whole after reassembly).
pub fn walk_ipv6_extensions(
    mut next: u8,
    d: &[u8],
    base: usize,
) -> Result<(u8, usize, Option<Fragment>), PacketError> {
    const L: &str = "ipv6 extension";
    let mut at = 0usize;
    for _ in 0..MAX_IPV6_EXTENSIONS {
        let len = match next {
            // Hop-by-Hop, Routing, Destination Options, HIP, Shim6, and the
            // experimental 253/254 all share the (len + 1) * 8 layout.
            0 | 43 | 60 | 139 | 140 | 253 | 254 => {
                let l = *d
                    .get(at + 1)
                    .ok_or(trunc(L, "hdr ext len", base + at + 1))?;
                (usize::from(l) + 1) * 8
            }
            // AH counts 4-octet units minus 2 (RFC 4302 §2.2).
            51 => {
                let l = *d
                    .get(at + 1)
                    .ok_or(trunc(L, "payload len", base + at + 1))?;
                (usize::from(l) + 2) * 4
            }
            44 => {
                let h = d
                    .get(at..at + 8)
                    .ok_or(trunc("ipv6 fragment", "header", base + at))?;
                let off_m = u16::from_be_bytes([h[2], h[3]]);
                let frag = Fragment {
                    id: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    offset: usize::from(off_m >> 3) * 8,
                    more: off_m & 1 != 0,
                };
                // An atomic fragment (RFC 6946) is a whole packet.
                if frag.offset == 0 && !frag.more {
                    next = h[0];
                    at += 8;
                    continue;
                }
                return Ok((h[0], at + 8, Some(frag)));
            }
            _ => return Ok((next, at, None)),
        };
        if d.len() < at + len {
            return Err(trunc(L, "header", base + at));
        }
        next = d[at];
        at += len;
    }
    Err(PacketError {
        layer: L,
        field: "next header",
        offset: base + at,
        kind: PacketErrorKind::TooManyHeaders,
    })
}

/// A UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    /// Payload bytes captured (at most what the UDP length declares).
    pub payload: &'a [u8],
    /// Payload length the UDP header declares.
    pub declared_len: usize,
}

impl UdpDatagram<'_> {
    #[must_use]
    pub fn truncated(&self) -> bool {
        self.payload.len() < self.declared_len
    }
}

/// RFC 768. `d` is everything after the IP header(s).
pub fn decode_udp(d: &[u8], base: usize) -> Result<UdpDatagram<'_>, PacketError> {
    const L: &str = "udp";
    if d.len() < 8 {
        return Err(trunc(L, "header", base));
    }
    let len = usize::from(u16::from_be_bytes([d[4], d[5]]));
    // Length 0 is an IPv6 jumbogram (RFC 2675 §4) or a GSO capture.
    let len = if len == 0 { d.len() } else { len };
    if len < 8 {
        return Err(bad(L, "length", base + 4));
    }
    let end = len.min(d.len());
    Ok(UdpDatagram {
        src_port: u16::from_be_bytes([d[0], d[1]]),
        dst_port: u16::from_be_bytes([d[2], d[3]]),
        payload: &d[8..end],
        declared_len: len - 8,
    })
}

pub const IKE_PORT: u16 = 500;
pub const NAT_T_PORT: u16 = 4500;

/// What a UDP datagram on the IKE ports holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UdpContent<'a> {
    /// An IKE message (after the non-ESP marker on 4500).
    Ike { message: &'a [u8], marker: bool },
    /// RFC 3948 §2.3 NAT-keepalive.
    Keepalive,
    /// UDP-encapsulated ESP (RFC 3948 §2.1).
    Esp,
    /// Not on port 500 or 4500, or empty.
    Other,
}

/// Sorts a UDP payload the way Wireshark's port table does: port 500 is
/// IKE; otherwise port 4500 is UDP encapsulation.
#[must_use]
pub fn classify_udp<'a>(src_port: u16, dst_port: u16, payload: &'a [u8]) -> UdpContent<'a> {
    if payload.is_empty() {
        return UdpContent::Other;
    }
    if src_port == IKE_PORT || dst_port == IKE_PORT {
        return UdpContent::Ike {
            message: payload,
            marker: false,
        };
    }
    if src_port != NAT_T_PORT && dst_port != NAT_T_PORT {
        return UdpContent::Other;
    }
    if payload == [0xFF] {
        return UdpContent::Keepalive;
    }
    match payload.split_first_chunk::<4>() {
        Some(([0, 0, 0, 0], rest)) => UdpContent::Ike {
            message: rest,
            marker: true,
        },
        _ => UdpContent::Esp,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&sport.to_be_bytes());
        v.extend_from_slice(&dport.to_be_bytes());
        v.extend_from_slice(&((payload.len() + 8) as u16).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(payload);
        v
    }

    /// An IPv4 header around `payload`; `frag` = (id, offset bytes, more).
    pub(crate) fn ipv4(
        src: [u8; 4],
        dst: [u8; 4],
        proto: u8,
        payload: &[u8],
        frag: Option<(u16, usize, bool)>,
    ) -> Vec<u8> {
        let mut v = vec![0x45, 0];
        v.extend_from_slice(&((payload.len() + 20) as u16).to_be_bytes());
        let (id, off, more) = frag.unwrap_or((0x1234, 0, false));
        v.extend_from_slice(&id.to_be_bytes());
        let ff = ((off / 8) as u16) | if more { 0x2000 } else { 0 };
        v.extend_from_slice(&ff.to_be_bytes());
        v.extend_from_slice(&[64, proto, 0, 0]);
        v.extend_from_slice(&src);
        v.extend_from_slice(&dst);
        v.extend_from_slice(payload);
        v
    }

    /// An IPv6 header; `ext` are (next-header-type, body) pairs written
    /// in order between the fixed header and `payload`.
    pub(crate) fn ipv6(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        proto: u8,
        ext: &[(u8, Vec<u8>)],
        payload: &[u8],
    ) -> Vec<u8> {
        let mut exts = Vec::new();
        let first = ext.first().map_or(proto, |e| e.0);
        for (i, (_, body)) in ext.iter().enumerate() {
            let next = ext.get(i + 1).map_or(proto, |e| e.0);
            let mut b = body.clone();
            b[0] = next;
            exts.extend_from_slice(&b);
        }
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&((exts.len() + payload.len()) as u16).to_be_bytes());
        v.push(first);
        v.push(64);
        v.extend_from_slice(&src.octets());
        v.extend_from_slice(&dst.octets());
        v.extend_from_slice(&exts);
        v.extend_from_slice(payload);
        v
    }

    pub(crate) fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    pub(crate) fn sll(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        v.extend_from_slice(&ethertype.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    pub(crate) fn sll2(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut v = ethertype.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        v.extend_from_slice(payload);
        v
    }

    const A4: [u8; 4] = [192, 0, 2, 1];
    const B4: [u8; 4] = [198, 51, 100, 2];

    fn a6() -> Ipv6Addr {
        "2001:db8::1".parse().unwrap()
    }
    fn b6() -> Ipv6Addr {
        "2001:db8::2".parse().unwrap()
    }

    #[test]
    fn deconstruct_every_link_type() {
        let ip4 = ipv4(A4, B4, 17, &udp(500, 500, b"ike"), None);
        let ip6 = ipv6(a6(), b6(), 17, &[], &udp(500, 500, b"ike"));
        let cases: Vec<(LinkType, Vec<u8>, bool)> = vec![
            (LinkType::ETHERNET, ethernet(0x0800, &ip4), true),
            (LinkType::ETHERNET, ethernet(0x86DD, &ip6), false),
            (LinkType::LINUX_SLL, sll(0x0800, &ip4), true),
            (LinkType::LINUX_SLL, sll(0x86DD, &ip6), false),
            (LinkType::LINUX_SLL2, sll2(0x0800, &ip4), true),
            (LinkType::LINUX_SLL2, sll2(0x86DD, &ip6), false),
            (LinkType::RAW, ip4.clone(), true),
            (LinkType::RAW, ip6.clone(), false),
            (LinkType::RAW_12, ip4.clone(), true),
            (LinkType::RAW_14, ip6.clone(), false),
            (LinkType::IPV4, ip4.clone(), true),
            (LinkType::IPV6, ip6.clone(), false),
            (
                LinkType::NULL,
                [&2u32.to_le_bytes()[..], &ip4].concat(),
                true,
            ),
            (
                LinkType::NULL,
                [&30u32.to_be_bytes()[..], &ip6].concat(),
                false,
            ),
            (
                LinkType::LOOP,
                [&24u32.to_be_bytes()[..], &ip6].concat(),
                false,
            ),
        ];
        for (link, frame, v4) in cases {
            let ip = decode_link(link, &frame).unwrap().unwrap();
            if v4 {
                assert_eq!(ip.src, IpAddr::V4(A4.into()), "{link:?}");
            } else {
                assert_eq!(ip.dst, IpAddr::V6(b6()), "{link:?}");
            }
            assert_eq!(ip.protocol, IPPROTO_UDP);
            let u = decode_udp(ip.payload, 0).unwrap();
            assert_eq!((u.src_port, u.dst_port, u.payload), (500, 500, &b"ike"[..]));
            assert!(!u.truncated());
        }
    }

    #[test]
    fn non_ip_frames_are_skipped() {
        assert_eq!(
            decode_link(LinkType::ETHERNET, &ethernet(0x0806, &[0; 28])),
            Ok(None)
        );
        assert_eq!(decode_link(LinkType(147), &[0; 40]), Ok(None));
        assert_eq!(decode_link(LinkType::RAW, &[0x50; 40]), Ok(None));
    }

    #[test]
    fn vlan_tags_and_ethernet_padding() {
        let ip4 = ipv4(A4, B4, 17, &udp(500, 500, b"x"), None);
        let mut inner = vec![0, 5, 0x08, 0x00];
        inner.extend_from_slice(&ip4);
        inner.extend_from_slice(&[0xEE; 12]); // padding after IP
        let f = ethernet(0x8100, &inner);
        let ip = decode_link(LinkType::ETHERNET, &f).unwrap().unwrap();
        assert_eq!(ip.payload.len(), 9);
        assert_eq!(decode_udp(ip.payload, 0).unwrap().payload, b"x");
    }

    #[test]
    fn ipv6_extension_headers() {
        let hbh = vec![0, 0, 1, 4, 0, 0, 0, 0];
        let dst = vec![0, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let ah = vec![
            0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let atomic_frag = vec![0, 0, 0, 0, 0, 0, 0, 9];
        let p = ipv6(
            a6(),
            b6(),
            17,
            &[(0, hbh), (60, dst), (51, ah), (44, atomic_frag)],
            &udp(4500, 4500, &[0, 0, 0, 0, 1]),
        );
        let ip = decode_ipv6(&p, 0).unwrap();
        assert_eq!(ip.protocol, 17);
        assert_eq!(ip.fragment, None);
        let u = decode_udp(ip.payload, 0).unwrap();
        assert_eq!(
            classify_udp(u.src_port, u.dst_port, u.payload),
            UdpContent::Ike {
                message: &[1],
                marker: true
            }
        );
        // A routing header cut short is an error, not a panic.
        let p = ipv6(a6(), b6(), 17, &[(43, vec![0, 9, 0, 0, 0, 0, 0, 0])], &[]);
        assert_eq!(
            decode_ipv6(&p, 0).unwrap_err().kind,
            PacketErrorKind::Truncated
        );
        // A loop of Destination Options headers is bounded.
        let many: Vec<(u8, Vec<u8>)> = (0..20).map(|_| (60, vec![0; 8])).collect();
        let p = ipv6(a6(), b6(), 17, &many, &[]);
        assert_eq!(
            decode_ipv6(&p, 0).unwrap_err().kind,
            PacketErrorKind::TooManyHeaders
        );
    }

    #[test]
    fn fragments() {
        let p = ipv4(A4, B4, 17, &[0; 16], Some((7, 0, true)));
        assert_eq!(
            decode_ipv4(&p, 0).unwrap().fragment,
            Some(Fragment {
                id: 7,
                offset: 0,
                more: true
            })
        );
        let p = ipv4(A4, B4, 17, &[0; 16], Some((7, 1480, false)));
        assert_eq!(
            decode_ipv4(&p, 0).unwrap().fragment,
            Some(Fragment {
                id: 7,
                offset: 1480,
                more: false
            })
        );
        let frag = vec![0, 0, 0x05, 0xC9, 0, 0, 0, 42]; // offset 185*8, M=1
        let p = ipv6(a6(), b6(), 17, &[(44, frag)], &[1, 2, 3]);
        let ip = decode_ipv6(&p, 0).unwrap();
        assert_eq!(
            ip.fragment,
            Some(Fragment {
                id: 42,
                offset: 1480,
                more: true
            })
        );
        assert_eq!(ip.payload, &[1, 2, 3]);
    }

    #[test]
    fn truncated_headers() {
        let ip4 = ipv4(A4, B4, 17, &udp(500, 500, b"abcdef"), None);
        for n in 0..20 {
            assert_eq!(
                decode_ipv4(&ip4[..n], 0).unwrap_err().kind,
                PacketErrorKind::Truncated
            );
        }
        // Snap length cut the UDP payload: not an error, but flagged.
        let ip = decode_ipv4(&ip4[..ip4.len() - 2], 0).unwrap();
        assert!(!ip.complete());
        let u = decode_udp(ip.payload, 20).unwrap();
        assert!(u.truncated());
        assert_eq!(u.payload, b"abcd");
        assert_eq!(
            decode_udp(&[0, 1, 0, 2, 0, 3, 0, 0], 0).unwrap_err().field,
            "length"
        );
        for n in 0..14 {
            assert!(decode_link(LinkType::ETHERNET, &ethernet(0x0800, &ip4)[..n]).is_err());
        }
    }

    #[test]
    fn classify_ports_4500_and_500() {
        assert_eq!(classify_udp(4500, 4500, &[0xFF]), UdpContent::Keepalive);
        assert_eq!(
            classify_udp(4500, 4500, &[0, 0, 0, 1, 9, 9]),
            UdpContent::Esp
        );
        assert_eq!(classify_udp(4500, 4500, &[0, 0]), UdpContent::Esp);
        assert_eq!(
            classify_udp(1234, 4500, &[0, 0, 0, 0, 7]),
            UdpContent::Ike {
                message: &[7],
                marker: true
            }
        );
        assert_eq!(
            classify_udp(500, 4500, &[0, 0, 0, 0, 7]),
            UdpContent::Ike {
                message: &[0, 0, 0, 0, 7],
                marker: false
            }
        );
        assert_eq!(
            classify_udp(500, 500, &[0xFF]),
            UdpContent::Ike {
                message: &[0xFF],
                marker: false
            }
        );
        assert_eq!(classify_udp(53, 53, &[1]), UdpContent::Other);
        assert_eq!(classify_udp(500, 500, &[]), UdpContent::Other);
    }
}
