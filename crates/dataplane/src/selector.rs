//! Traffic selectors as the data plane needs them (RFC 7296 §3.13.1): an
//! address range, an IP protocol and a port range, matched against the
//! 5-tuple of an inner packet.
//!
//! The IKE side (`yadokari-policy`) owns negotiation and narrowing; here we
//! only match, and order by specificity for the outbound longest-prefix
//! lookup.

use std::net::IpAddr;

use crate::ip::FiveTuple;

/// One traffic selector. `protocol == 0` means any protocol; ports are only
/// compared for TCP, UDP, SCTP and UDP-Lite (others carry no ports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TrafficSelector {
    /// First address of the range (same family as `end`).
    pub start: IpAddr,
    /// Last address of the range, inclusive.
    pub end: IpAddr,
    /// IP protocol number; 0 = any.
    pub protocol: u8,
    /// First port, inclusive.
    pub start_port: u16,
    /// Last port, inclusive.
    pub end_port: u16,
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

impl TrafficSelector {
    /// All addresses of `addr/len`, any protocol and port. A `len` beyond the
    /// family's width is clamped.
    #[must_use]
    pub fn prefix(addr: IpAddr, len: u8) -> Self {
        let (start, end) = match addr {
            IpAddr::V4(v) => {
                let len = u32::from(len.min(32));
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let a = u32::from(v) & mask;
                (IpAddr::V4(a.into()), IpAddr::V4((a | !mask).into()))
            }
            IpAddr::V6(v) => {
                let len = u32::from(len.min(128));
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let a = u128::from(v) & mask;
                (IpAddr::V6(a.into()), IpAddr::V6((a | !mask).into()))
            }
        };
        Self {
            start,
            end,
            protocol: 0,
            start_port: 0,
            end_port: u16::MAX,
        }
    }

    /// Whether `addr` lies in the address range.
    #[must_use]
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        if addr.is_ipv4() != self.start.is_ipv4() || addr.is_ipv4() != self.end.is_ipv4() {
            return false;
        }
        let a = to_u128(addr);
        to_u128(self.start) <= a && a <= to_u128(self.end)
    }

    fn matches_proto_port(&self, proto: u8, port: Option<u16>) -> bool {
        if self.protocol != 0 && self.protocol != proto {
            return false;
        }
        if self.start_port == 0 && self.end_port == u16::MAX {
            return true;
        }
        // RFC 4301 §4.4.1.1: a packet without ports (or a non-first
        // fragment) only matches a selector whose ports are ANY.
        port.is_some_and(|p| self.start_port <= p && p <= self.end_port)
    }

    /// Whether `addr`/`port` (of protocol `proto`) fall in this selector.
    #[must_use]
    pub fn matches(&self, addr: IpAddr, proto: u8, port: Option<u16>) -> bool {
        self.contains_addr(addr) && self.matches_proto_port(proto, port)
    }

    /// Number of addresses minus one: smaller is more specific.
    #[must_use]
    pub fn width(&self) -> u128 {
        to_u128(self.end).saturating_sub(to_u128(self.start))
    }
}

/// Whether a packet's source matches one of `local` and its destination one
/// of `remote` (outbound direction; swap for inbound).
#[must_use]
pub fn tuple_matches(t: &FiveTuple, local: &[TrafficSelector], remote: &[TrafficSelector]) -> bool {
    local
        .iter()
        .any(|s| s.matches(t.src, t.protocol, t.src_port))
        && remote
            .iter()
            .any(|s| s.matches(t.dst, t.protocol, t.dst_port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ranges() {
        let s = TrafficSelector::prefix("198.51.100.77".parse().expect("addr"), 24);
        assert_eq!(s.start, "198.51.100.0".parse::<IpAddr>().expect("addr"));
        assert_eq!(s.end, "198.51.100.255".parse::<IpAddr>().expect("addr"));
        assert!(s.contains_addr("198.51.100.1".parse().expect("addr")));
        assert!(!s.contains_addr("203.0.113.1".parse().expect("addr")));
        assert!(!s.contains_addr("2001:db8::1".parse().expect("addr")));
        let any = TrafficSelector::prefix("0.0.0.0".parse().expect("addr"), 0);
        assert!(any.contains_addr("203.0.113.1".parse().expect("addr")));
        let v6 = TrafficSelector::prefix("2001:db8:a::".parse().expect("addr"), 64);
        assert!(v6.contains_addr("2001:db8:a::1".parse().expect("addr")));
        assert!(!v6.contains_addr("2001:db8:b::1".parse().expect("addr")));
        assert!(v6.width() > s.width());
    }

    #[test]
    fn ports_only_match_packets_with_ports() {
        let mut s = TrafficSelector::prefix("198.51.100.0".parse().expect("addr"), 24);
        s.protocol = 6;
        s.start_port = 80;
        s.end_port = 80;
        let a = "198.51.100.9".parse().expect("addr");
        assert!(s.matches(a, 6, Some(80)));
        assert!(!s.matches(a, 6, Some(81)));
        assert!(!s.matches(a, 6, None));
        assert!(!s.matches(a, 17, Some(80)));
    }
}
