//! The Security Policy Database (RFC 4301 §4.4.1): an ordered list of
//! entries, each a pair of selector sets and an action — PROTECT (with the
//! CHILD SA configuration it needs, by reqid), BYPASS or DISCARD.
//!
//! Lookup is first match in order, as RFC 4301 §4.4.1 requires for an
//! ordered SPD ("the first entry that matches"). Selectors are written from
//! this host's point of view (local, remote); the direction of a packet says
//! which of its addresses is local. Traffic that matches nothing is
//! discarded (RFC 4301 §5.1 and §5.2: "If no match is found, the packet is
//! discarded"). The SPD-S/-O/-I caches and decorrelation of RFC 4301 §4.4.1
//! are not modelled; with route-based forwarding the outbound hot path uses
//! [`crate::LpmTable`] instead.

use std::net::IpAddr;

use crate::set::TsSet;
use crate::ts::{IpProtocol, PortRange};

/// Links an SPD entry to its CHILD SA configuration and to the SAs that
/// serve it (the "reqid" of Linux XFRM and strongSwan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReqId(pub u32);

/// What to do with matching traffic (RFC 4301 §4.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Send through (or expect from) a CHILD SA of this policy.
    Protect(ReqId),
    Bypass,
    Discard,
}

/// Which way a packet is going, relative to this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Outbound,
    Inbound,
}

/// The selector fields of one packet: addresses, protocol and ports as seen
/// in the packet (source/destination, not local/remote).
///
/// A port is `None` when not available (non-initial fragment, or a protocol
/// without ports): only ANY and OPAQUE selectors match it. For ICMP, ICMPv6
/// and MH both port fields carry the type/code value (see
/// [`FlowKey::icmp`]), so a selector on either side can restrict it.
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

    /// `(local addr, local port, remote addr, remote port)` for a direction.
    fn sides(&self, dir: Direction) -> (IpAddr, Option<u16>, IpAddr, Option<u16>) {
        match dir {
            Direction::Outbound => (self.src, self.src_port, self.dst, self.dst_port),
            Direction::Inbound => (self.dst, self.dst_port, self.src, self.src_port),
        }
    }
}

/// One SPD entry: traffic between any `local` and any `remote` selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpdEntry {
    pub local: TsSet,
    pub remote: TsSet,
    pub action: Action,
}

impl SpdEntry {
    pub fn new(local: TsSet, remote: TsSet, action: Action) -> Self {
        Self {
            local,
            remote,
            action,
        }
    }

    pub fn matches(&self, dir: Direction, flow: &FlowKey) -> bool {
        let (la, lp, ra, rp) = flow.sides(dir);
        self.local.matches(la, flow.ip_protocol, lp)
            && self.remote.matches(ra, flow.ip_protocol, rp)
    }
}

/// An ordered SPD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spd {
    entries: Vec<SpdEntry>,
}

impl Spd {
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// Appends an entry at the lowest priority.
    pub fn push(&mut self, entry: SpdEntry) {
        self.entries.push(entry);
    }

    /// Inserts at `index` (0 = highest priority); past the end appends.
    pub fn insert(&mut self, index: usize, entry: SpdEntry) {
        let i = index.min(self.entries.len());
        self.entries.insert(i, entry);
    }

    /// Removes the entry at `index`.
    pub fn remove(&mut self, index: usize) -> Option<SpdEntry> {
        (index < self.entries.len()).then(|| self.entries.remove(index))
    }

    /// Removes every PROTECT entry of `reqid`; returns how many.
    pub fn remove_reqid(&mut self, reqid: ReqId) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.action != Action::Protect(reqid));
        before - self.entries.len()
    }

    pub fn entries(&self) -> &[SpdEntry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first matching entry and its index.
    pub fn lookup_entry(&self, dir: Direction, flow: &FlowKey) -> Option<(usize, &SpdEntry)> {
        self.entries
            .iter()
            .enumerate()
            .find(|(_, e)| e.matches(dir, flow))
    }

    /// The action for a packet; DISCARD when nothing matches.
    pub fn lookup(&self, dir: Direction, flow: &FlowKey) -> Action {
        self.lookup_entry(dir, flow)
            .map_or(Action::Discard, |(_, e)| e.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> TsSet {
        s.parse().unwrap()
    }
    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn spd() -> Spd {
        let mut spd = Spd::new();
        // IKE itself must bypass (RFC 4301 §4.4.1: the SPD must not capture
        // IKE traffic that would set up the SA).
        spd.push(SpdEntry::new(
            set("192.0.2.1[udp/500], 192.0.2.1[udp/4500]"),
            set("0.0.0.0/0[udp]"),
            Action::Bypass,
        ));
        spd.push(SpdEntry::new(
            set("198.51.100.0/24"),
            set("203.0.113.128/25[tcp/22]"),
            Action::Discard,
        ));
        spd.push(SpdEntry::new(
            set("198.51.100.0/24, 2001:db8:1::/48"),
            set("203.0.113.0/24, 2001:db8:2::/48"),
            Action::Protect(ReqId(1)),
        ));
        spd.push(SpdEntry::new(
            set("0.0.0.0/0[icmp/768-1023]"),
            set("0.0.0.0/0"),
            Action::Bypass,
        ));
        spd
    }

    #[test]
    fn first_match_in_order() {
        let spd = spd();
        let ike = FlowKey::new(a("192.0.2.1"), a("192.0.2.2"), IpProtocol::UDP, 500, 500);
        assert_eq!(spd.lookup(Direction::Outbound, &ike), Action::Bypass);
        let ike_in = FlowKey::new(a("192.0.2.2"), a("192.0.2.1"), IpProtocol::UDP, 4500, 4500);
        assert_eq!(spd.lookup(Direction::Inbound, &ike_in), Action::Bypass);

        let web = FlowKey::new(
            a("198.51.100.5"),
            a("203.0.113.200"),
            IpProtocol::TCP,
            40000,
            443,
        );
        assert_eq!(
            spd.lookup(Direction::Outbound, &web),
            Action::Protect(ReqId(1))
        );
        let ssh = FlowKey::new(
            a("198.51.100.5"),
            a("203.0.113.200"),
            IpProtocol::TCP,
            40000,
            22,
        );
        assert_eq!(
            spd.lookup_entry(Direction::Outbound, &ssh).map(|(i, _)| i),
            Some(1)
        );
        assert_eq!(spd.lookup(Direction::Outbound, &ssh), Action::Discard);
        // The reply of the same flow: selectors are local/remote, so the
        // remote port is its source port, 22, and the same rule applies.
        let back = FlowKey::new(
            a("203.0.113.200"),
            a("198.51.100.5"),
            IpProtocol::TCP,
            22,
            40000,
        );
        assert_eq!(spd.lookup(Direction::Inbound, &back), Action::Discard);
        let v6 = FlowKey::new(
            a("2001:db8:1::1"),
            a("2001:db8:2::1"),
            IpProtocol::UDP,
            1,
            2,
        );
        assert_eq!(
            spd.lookup(Direction::Outbound, &v6),
            Action::Protect(ReqId(1))
        );
        let stray = FlowKey::new(a("198.51.100.5"), a("192.0.2.77"), IpProtocol::TCP, 1, 2);
        assert_eq!(spd.lookup(Direction::Outbound, &stray), Action::Discard);
        assert_eq!(spd.lookup_entry(Direction::Outbound, &stray), None);
    }

    #[test]
    fn icmp_and_opaque() {
        let spd = spd();
        // Destination unreachable (type 3) anywhere bypasses; echo does not.
        let unreach = FlowKey::icmp(a("192.0.2.9"), a("192.0.2.10"), 3, 4);
        assert_eq!(spd.lookup(Direction::Outbound, &unreach), Action::Bypass);
        let echo = FlowKey::icmp(a("192.0.2.9"), a("192.0.2.10"), 8, 0);
        assert_eq!(spd.lookup(Direction::Outbound, &echo), Action::Discard);
        let echo_tunnel = FlowKey::icmp(a("198.51.100.1"), a("203.0.113.1"), 8, 0);
        assert_eq!(
            spd.lookup(Direction::Outbound, &echo_tunnel),
            Action::Protect(ReqId(1))
        );
        // A non-initial fragment to the SSH host: ports OPAQUE, so the
        // port-specific DISCARD rule cannot match; the PROTECT rule (ANY
        // ports) does.
        let frag = FlowKey::opaque(a("198.51.100.5"), a("203.0.113.200"), IpProtocol::TCP);
        assert_eq!(
            spd.lookup(Direction::Outbound, &frag),
            Action::Protect(ReqId(1))
        );
        let mh = FlowKey::mh(a("2001:db8:1::1"), a("2001:db8:2::1"), 5);
        assert_eq!(mh.src_port, Some(0x0500));
        assert_eq!(
            FlowKey::icmp(a("2001:db8::1"), a("2001:db8::2"), 128, 0).ip_protocol,
            IpProtocol::ICMPV6
        );
    }

    #[test]
    fn edit() {
        let mut spd = spd();
        spd.insert(
            0,
            SpdEntry::new(set("0.0.0.0/0"), set("0.0.0.0/0"), Action::Discard),
        );
        let web = FlowKey::new(
            a("198.51.100.5"),
            a("203.0.113.200"),
            IpProtocol::TCP,
            40000,
            443,
        );
        assert_eq!(spd.lookup(Direction::Outbound, &web), Action::Discard);
        assert!(spd.remove(0).is_some());
        assert!(spd.remove(99).is_none());
        assert_eq!(spd.remove_reqid(ReqId(1)), 1);
        assert_eq!(spd.lookup(Direction::Outbound, &web), Action::Discard);
        assert_eq!(spd.len(), 3);
        spd.insert(
            usize::MAX,
            SpdEntry::new(set("::/0"), set("::/0"), Action::Bypass),
        );
        assert_eq!(spd.entries().last().map(|e| e.action), Some(Action::Bypass));
    }
}
