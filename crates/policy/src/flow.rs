//! The selector fields of one packet (RFC 4301 §4.4.1.1): what a data
//! plane reads from an IP header and matches against traffic selectors.

use std::net::IpAddr;

use crate::ts::{IpProtocol, PortRange, TrafficSelector};

/// Addresses, protocol and ports of one packet as it travels (source and
/// destination, not local and remote).
///
/// A port is `None` when it cannot be seen (a non-initial fragment, or a
/// protocol without ports): only ANY and OPAQUE selectors match it
/// (RFC 4301 §4.4.1.1). For ICMP, ICMPv6 and MH both port fields carry the
/// type/code value (see [`FlowKey::icmp`]), so a selector on either side
/// can restrict it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ip_protocol: IpProtocol,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
}

impl FlowKey {
    /// A TCP/UDP/SCTP-style packet with both ports visible.
    pub fn new(
        src: IpAddr,
        dst: IpAddr,
        ip_protocol: IpProtocol,
        src_port: u16,
        dst_port: u16,
    ) -> Self {
        Self {
            src,
            dst,
            ip_protocol,
            src_port: Some(src_port),
            dst_port: Some(dst_port),
        }
    }

    /// A packet whose ports cannot be seen (OPAQUE).
    pub fn opaque(src: IpAddr, dst: IpAddr, ip_protocol: IpProtocol) -> Self {
        Self {
            src,
            dst,
            ip_protocol,
            src_port: None,
            dst_port: None,
        }
    }

    /// An ICMP (IPv4) or ICMPv6 (IPv6) message; the protocol follows the
    /// address family of `src`.
    pub fn icmp(src: IpAddr, dst: IpAddr, icmp_type: u8, code: u8) -> Self {
        let proto = if src.is_ipv6() {
            IpProtocol::ICMPV6
        } else {
            IpProtocol::ICMP
        };
        let tc = PortRange::type_code(icmp_type, code);
        Self::new(src, dst, proto, tc, tc)
    }

    /// An IPv6 Mobility Header message (type in the high byte).
    pub fn mh(src: IpAddr, dst: IpAddr, mh_type: u8) -> Self {
        let tc = PortRange::type_code(mh_type, 0);
        Self::new(src, dst, IpProtocol::MH, tc, tc)
    }

    /// Whether the packet's source side matches `ts`.
    #[inline]
    pub fn src_matches(&self, ts: &TrafficSelector) -> bool {
        ts.matches(self.src, self.ip_protocol, self.src_port)
    }

    /// Whether the packet's destination side matches `ts`.
    #[inline]
    pub fn dst_matches(&self, ts: &TrafficSelector) -> bool {
        ts.matches(self.dst, self.ip_protocol, self.dst_port)
    }

    /// Whether a CHILD SA with these selectors carries the packet: its
    /// source matches one of `src_side` and its destination one of
    /// `dst_side` (RFC 7296 §2.9: the SA covers every pair of a TSi and a
    /// TSr selector). Outbound that is (local, remote); for a packet that
    /// came out of an inbound SA, (remote, local).
    #[inline]
    pub fn matches(&self, src_side: &[TrafficSelector], dst_side: &[TrafficSelector]) -> bool {
        src_side.iter().any(|t| self.src_matches(t)) && dst_side.iter().any(|t| self.dst_matches(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn ts(s: &str) -> TrafficSelector {
        s.parse().unwrap()
    }

    #[test]
    fn both_sides_must_match() {
        let local = [ts("198.51.100.0/24")];
        let remote = [ts("203.0.113.0/24[tcp/22]"), ts("2001:db8::/32")];
        let ssh = FlowKey::new(
            a("198.51.100.5"),
            a("203.0.113.9"),
            IpProtocol::TCP,
            40000,
            22,
        );
        assert!(ssh.matches(&local, &remote));
        let web = FlowKey {
            dst_port: Some(443),
            ..ssh
        };
        assert!(!web.matches(&local, &remote));
        let stray = FlowKey {
            src: a("192.0.2.1"),
            ..ssh
        };
        assert!(!stray.matches(&local, &remote));
        // A fragment's ports are OPAQUE: a port-specific selector cannot
        // match it (RFC 4301 §4.4.1.1).
        let frag = FlowKey::opaque(a("198.51.100.5"), a("203.0.113.9"), IpProtocol::TCP);
        assert!(!frag.matches(&local, &remote));
        assert!(frag.matches(&local, &[ts("203.0.113.0/24")]));
        // Inbound: the packet's source is on the remote side.
        let back = FlowKey::new(
            a("203.0.113.9"),
            a("198.51.100.5"),
            IpProtocol::TCP,
            22,
            40000,
        );
        assert!(back.matches(&remote, &local));
        assert!(!back.matches(&local, &remote));
    }

    #[test]
    fn icmp_and_mh_carry_type_code_in_both_ports() {
        let mh = FlowKey::mh(a("2001:db8:1::1"), a("2001:db8:2::1"), 5);
        assert_eq!(mh.src_port, Some(0x0500));
        assert_eq!(mh.dst_port, Some(0x0500));
        assert_eq!(
            FlowKey::icmp(a("2001:db8::1"), a("2001:db8::2"), 128, 0).ip_protocol,
            IpProtocol::ICMPV6
        );
        let echo = FlowKey::icmp(a("198.51.100.1"), a("203.0.113.1"), 8, 0);
        assert!(echo.dst_matches(&ts("203.0.113.0/24[icmp/2048-2303]")));
        assert!(!echo.dst_matches(&ts("203.0.113.0/24[icmp/768-1023]")));
    }
}
