//! Traffic selectors: one address range, one IP protocol and one port range
//! (RFC 7296 §3.13.1), with the set algebra that narrowing needs.
//!
//! Semantics follow RFC 4301 §4.4.1.1:
//! - IP protocol 0 means ANY protocol;
//! - ports `0..=65535` mean ANY, and ANY includes OPAQUE (ports that cannot
//!   be seen, e.g. in non-initial fragments); OPAQUE alone is sent as start
//!   port 65535 and end port 0 (RFC 7296 §3.13.1);
//! - for ICMP, ICMPv6 and the Mobility Header the 16-bit "port" carries the
//!   message type in its most significant byte and the code (ICMP) in its
//!   least significant byte, so a range can say "type 8, any code".
//!
//! Internally each selector is a box in three dimensions (address, protocol,
//! port). ANY protocol is the interval `0..=255` and ports are intervals over
//! `0..=65536`, where the extra value 65536 stands for OPAQUE; ANY is then
//! `0..=65536` and OPAQUE `65536..=65536`. With that encoding intersection and
//! containment are plain interval arithmetic, and ANY ∩ OPAQUE = OPAQUE
//! falls out for free.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

pub use crate::ports::{IpProtocol, PortRange};
use crate::prefix::{self, IpPrefix};

/// Errors building selectors from configuration or from decoded payloads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TsError {
    #[error("address range {start} - {end} mixes IPv4 and IPv6")]
    FamilyMismatch { start: IpAddr, end: IpAddr },
    #[error("address range start {start} is above its end {end}")]
    AddrRangeInverted { start: IpAddr, end: IpAddr },
    #[error(
        "port range start {start} is above its end {end} (only 65535-0, OPAQUE, may be inverted)"
    )]
    PortRangeInverted { start: u16, end: u16 },
    #[error("prefix length {len} is too long for {addr}")]
    PrefixTooLong { addr: IpAddr, len: u8 },
    #[error("unknown TS Type {0}")]
    UnknownTsType(u8),
    #[error("{field}: TS Type needs {expected} address bytes, got {got}")]
    AddrLength {
        field: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("cannot parse {what} from {input:?}")]
    Parse { what: &'static str, input: String },
}

/// TS Type (RFC 7296 §3.13.1); only the two address-range types exist for
/// IKEv2 CHILD SAs, so this is a closed enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TsType {
    Ipv4AddrRange,
    Ipv6AddrRange,
}

impl TsType {
    pub const TS_IPV4_ADDR_RANGE: u8 = 7;
    pub const TS_IPV6_ADDR_RANGE: u8 = 8;

    /// The IANA value carried in the TS Type field.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Ipv4AddrRange => Self::TS_IPV4_ADDR_RANGE,
            Self::Ipv6AddrRange => Self::TS_IPV6_ADDR_RANGE,
        }
    }

    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            Self::TS_IPV4_ADDR_RANGE => Some(Self::Ipv4AddrRange),
            Self::TS_IPV6_ADDR_RANGE => Some(Self::Ipv6AddrRange),
            _ => None,
        }
    }

    /// Length of each of the two address fields on the wire.
    pub const fn addr_len(self) -> usize {
        match self {
            Self::Ipv4AddrRange => 4,
            Self::Ipv6AddrRange => 16,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Repr {
    V4(u32, u32),
    V6(u128, u128),
}

/// An inclusive address range of one family (`start <= end`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddrRange(Repr);

impl AddrRange {
    pub const ALL_V4: Self = Self(Repr::V4(0, u32::MAX));
    pub const ALL_V6: Self = Self(Repr::V6(0, u128::MAX));

    pub fn new(start: IpAddr, end: IpAddr) -> Result<Self, TsError> {
        match (start, end) {
            (IpAddr::V4(s), IpAddr::V4(e)) => Self::v4(s, e),
            (IpAddr::V6(s), IpAddr::V6(e)) => Self::v6(s, e),
            _ => Err(TsError::FamilyMismatch { start, end }),
        }
    }

    pub fn v4(start: Ipv4Addr, end: Ipv4Addr) -> Result<Self, TsError> {
        if start > end {
            return Err(TsError::AddrRangeInverted {
                start: start.into(),
                end: end.into(),
            });
        }
        Ok(Self(Repr::V4(start.into(), end.into())))
    }

    pub fn v6(start: Ipv6Addr, end: Ipv6Addr) -> Result<Self, TsError> {
        if start > end {
            return Err(TsError::AddrRangeInverted {
                start: start.into(),
                end: end.into(),
            });
        }
        Ok(Self(Repr::V6(start.into(), end.into())))
    }

    pub fn single(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(a) => Self(Repr::V4(a.into(), a.into())),
            IpAddr::V6(a) => Self(Repr::V6(a.into(), a.into())),
        }
    }

    /// Everything of the given family.
    pub fn all(ts_type: TsType) -> Self {
        match ts_type {
            TsType::Ipv4AddrRange => Self::ALL_V4,
            TsType::Ipv6AddrRange => Self::ALL_V6,
        }
    }

    /// `lo..=hi` as raw integers; the caller guarantees `lo <= hi` and that
    /// both fit the family.
    pub(crate) fn from_raw(v6: bool, lo: u128, hi: u128) -> Self {
        if v6 {
            Self(Repr::V6(lo, hi))
        } else {
            Self(Repr::V4(lo as u32, hi as u32))
        }
    }

    /// `(is_ipv6, start, end)` as raw integers.
    pub(crate) fn raw(&self) -> (bool, u128, u128) {
        match self.0 {
            Repr::V4(s, e) => (false, u128::from(s), u128::from(e)),
            Repr::V6(s, e) => (true, s, e),
        }
    }

    pub fn start(&self) -> IpAddr {
        match self.0 {
            Repr::V4(s, _) => IpAddr::V4(s.into()),
            Repr::V6(s, _) => IpAddr::V6(s.into()),
        }
    }

    pub fn end(&self) -> IpAddr {
        match self.0 {
            Repr::V4(_, e) => IpAddr::V4(e.into()),
            Repr::V6(_, e) => IpAddr::V6(e.into()),
        }
    }

    pub fn ts_type(&self) -> TsType {
        match self.0 {
            Repr::V4(..) => TsType::Ipv4AddrRange,
            Repr::V6(..) => TsType::Ipv6AddrRange,
        }
    }

    pub fn is_ipv4(&self) -> bool {
        matches!(self.0, Repr::V4(..))
    }

    /// A range of exactly one address.
    pub fn is_single(&self) -> bool {
        let (_, s, e) = self.raw();
        s == e
    }

    #[inline]
    pub fn contains_addr(&self, addr: IpAddr) -> bool {
        match (self.0, addr) {
            (Repr::V4(s, e), IpAddr::V4(a)) => (s..=e).contains(&u32::from(a)),
            (Repr::V6(s, e), IpAddr::V6(a)) => (s..=e).contains(&u128::from(a)),
            _ => false,
        }
    }

    pub fn intersect(&self, other: &Self) -> Option<Self> {
        match (self.0, other.0) {
            (Repr::V4(a, b), Repr::V4(c, d)) => {
                let (lo, hi) = (a.max(c), b.min(d));
                (lo <= hi).then_some(Self(Repr::V4(lo, hi)))
            }
            (Repr::V6(a, b), Repr::V6(c, d)) => {
                let (lo, hi) = (a.max(c), b.min(d));
                (lo <= hi).then_some(Self(Repr::V6(lo, hi)))
            }
            _ => None,
        }
    }

    pub fn is_subset_of(&self, other: &Self) -> bool {
        match (self.0, other.0) {
            (Repr::V4(a, b), Repr::V4(c, d)) => c <= a && b <= d,
            (Repr::V6(a, b), Repr::V6(c, d)) => c <= a && b <= d,
            _ => false,
        }
    }

    /// The minimal list of prefixes covering exactly this range, ascending.
    pub fn to_prefixes(&self) -> Vec<IpPrefix> {
        let (v6, lo, hi) = self.raw();
        let mut out = Vec::new();
        prefix::decompose(v6, lo, hi, &mut out);
        out
    }

    /// The range as one prefix, when it is one.
    pub fn as_prefix(&self) -> Option<IpPrefix> {
        let (v6, lo, hi) = self.raw();
        let mut out = Vec::with_capacity(1);
        prefix::decompose(v6, lo, hi, &mut out);
        match out.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }
}

impl From<IpPrefix> for AddrRange {
    fn from(p: IpPrefix) -> Self {
        p.range()
    }
}

impl fmt::Display for AddrRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_prefix() {
            Some(p) => write!(f, "{p}"),
            None => write!(f, "{}..{}", self.start(), self.end()),
        }
    }
}

impl FromStr for AddrRange {
    type Err = TsError;
    /// `198.51.100.0/24`, a bare address, or `start..end` (inclusive).
    fn from_str(s: &str) -> Result<Self, TsError> {
        match s.split_once("..") {
            Some((a, b)) => {
                let bad = || TsError::Parse {
                    what: "address range",
                    input: s.to_owned(),
                };
                Self::new(
                    a.trim().parse().map_err(|_| bad())?,
                    b.trim().parse().map_err(|_| bad())?,
                )
            }
            None => Ok(s.parse::<IpPrefix>()?.range()),
        }
    }
}

/// One traffic selector (RFC 7296 §3.13.1): the fields of a TS substructure
/// in validated form. Every field is a validated type, so they are public.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrafficSelector {
    pub addrs: AddrRange,
    pub ip_protocol: IpProtocol,
    pub ports: PortRange,
}

impl TrafficSelector {
    pub const fn new(addrs: AddrRange, ip_protocol: IpProtocol, ports: PortRange) -> Self {
        Self {
            addrs,
            ip_protocol,
            ports,
        }
    }

    /// All protocols and ports for the addresses of a prefix.
    pub fn from_prefix(prefix: IpPrefix) -> Self {
        Self::new(prefix.range(), IpProtocol::ANY, PortRange::ANY)
    }

    /// All protocols and ports for one address.
    pub fn host(addr: IpAddr) -> Self {
        Self::new(AddrRange::single(addr), IpProtocol::ANY, PortRange::ANY)
    }

    /// Everything of one family (`0.0.0.0/0` or `::/0`).
    pub fn all(ts_type: TsType) -> Self {
        Self::new(AddrRange::all(ts_type), IpProtocol::ANY, PortRange::ANY)
    }

    #[must_use]
    pub fn with_protocol(self, ip_protocol: IpProtocol) -> Self {
        Self {
            ip_protocol,
            ..self
        }
    }

    #[must_use]
    pub fn with_ports(self, ports: PortRange) -> Self {
        Self { ports, ..self }
    }

    /// Builds a selector from the raw fields of a decoded TS substructure.
    /// Address slices must have the length that `ts_type` implies.
    pub fn from_wire(
        ts_type: u8,
        ip_protocol: u8,
        start_port: u16,
        end_port: u16,
        start_addr: &[u8],
        end_addr: &[u8],
    ) -> Result<Self, TsError> {
        let ty = TsType::from_u8(ts_type).ok_or(TsError::UnknownTsType(ts_type))?;
        let ports = PortRange::new(start_port, end_port)?;
        let want = ty.addr_len();
        let check = |field: &'static str, b: &[u8]| {
            if b.len() == want {
                Ok(())
            } else {
                Err(TsError::AddrLength {
                    field,
                    expected: want,
                    got: b.len(),
                })
            }
        };
        check("Starting Address", start_addr)?;
        check("Ending Address", end_addr)?;
        let addr = |b: &[u8]| -> IpAddr {
            let mut v = [0u8; 16];
            v[..b.len()].copy_from_slice(b);
            match ty {
                TsType::Ipv4AddrRange => IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3])),
                TsType::Ipv6AddrRange => IpAddr::V6(Ipv6Addr::from(v)),
            }
        };
        let addrs = AddrRange::new(addr(start_addr), addr(end_addr))?;
        Ok(Self::new(addrs, IpProtocol(ip_protocol), ports))
    }

    pub fn ts_type(&self) -> TsType {
        self.addrs.ts_type()
    }

    pub fn start_port(&self) -> u16 {
        self.ports.start()
    }

    pub fn end_port(&self) -> u16 {
        self.ports.end()
    }

    pub fn start_addr(&self) -> IpAddr {
        self.addrs.start()
    }

    pub fn end_addr(&self) -> IpAddr {
        self.addrs.end()
    }

    /// Does one side of a packet match this selector? `port` is the port (or
    /// ICMP type/code value) on that side, `None` when not available.
    #[inline]
    pub fn matches(&self, addr: IpAddr, proto: IpProtocol, port: Option<u16>) -> bool {
        self.addrs.contains_addr(addr)
            && self.ip_protocol.matches(proto)
            && self.ports.matches(port)
    }

    /// Exact intersection of address range, protocol and ports; `None` when
    /// empty (including different address families).
    pub fn intersect(&self, other: &Self) -> Option<Self> {
        Some(Self::new(
            self.addrs.intersect(&other.addrs)?,
            self.ip_protocol.intersect(other.ip_protocol)?,
            self.ports.intersect(other.ports)?,
        ))
    }

    /// Every packet this selector matches is matched by `other`.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.addrs.is_subset_of(&other.addrs)
            && self.ip_protocol.is_subset_of(other.ip_protocol)
            && self.ports.is_subset_of(other.ports)
    }

    /// `other` is a subset of `self`.
    pub fn contains(&self, other: &Self) -> bool {
        other.is_subset_of(self)
    }

    /// The selector as an axis-aligned box (see the module docs).
    pub(crate) fn cell(&self) -> Cell {
        let (v6, lo, hi) = self.addrs.raw();
        let (plo, phi) = self.ip_protocol.interval();
        Cell {
            v6,
            addr: (lo, hi),
            proto: (u32::from(plo), u32::from(phi)),
            port: self.ports.interval(),
        }
    }
}

impl From<IpPrefix> for TrafficSelector {
    fn from(p: IpPrefix) -> Self {
        Self::from_prefix(p)
    }
}

impl fmt::Display for TrafficSelector {
    /// `198.51.100.0/24`, `198.51.100.0/24[tcp/443]`, `2001:db8::/32[icmpv6]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.addrs)?;
        match (self.ip_protocol.is_any(), self.ports.is_any()) {
            (true, true) => Ok(()),
            (false, true) => write!(f, "[{}]", self.ip_protocol),
            _ => write!(f, "[{}/{}]", self.ip_protocol, self.ports),
        }
    }
}

impl FromStr for TrafficSelector {
    type Err = TsError;
    /// Inverse of `Display`: `addrs[proto/ports]` with the bracket optional.
    fn from_str(s: &str) -> Result<Self, TsError> {
        let s = s.trim();
        let Some((addr, rest)) = s.split_once('[') else {
            return Ok(Self::new(s.parse()?, IpProtocol::ANY, PortRange::ANY));
        };
        let inner = rest.strip_suffix(']').ok_or_else(|| TsError::Parse {
            what: "traffic selector",
            input: s.to_owned(),
        })?;
        let (proto, ports) = match inner.split_once('/') {
            Some((p, r)) => (p.parse()?, r.parse()?),
            None => (inner.parse()?, PortRange::ANY),
        };
        Ok(Self::new(addr.parse()?, proto, ports))
    }
}

/// A selector as a box: address × protocol × port intervals, all inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cell {
    pub v6: bool,
    pub addr: (u128, u128),
    pub proto: (u32, u32),
    pub port: (u32, u32),
}

impl Cell {
    fn overlaps(&self, o: &Cell) -> bool {
        fn ov<T: Ord>(a: &(T, T), b: &(T, T)) -> bool {
            a.0 <= b.1 && b.0 <= a.1
        }
        self.v6 == o.v6
            && ov(&self.addr, &o.addr)
            && ov(&self.proto, &o.proto)
            && ov(&self.port, &o.port)
    }

    /// Pushes `self \ cut` as disjoint boxes onto `out`.
    pub(crate) fn subtract(mut self, cut: &Cell, out: &mut Vec<Cell>) {
        if !self.overlaps(cut) {
            out.push(self);
            return;
        }
        // Peel off the slabs below and above the cut on each axis in turn;
        // what is left after the last axis lies inside `cut` and vanishes.
        if self.addr.0 < cut.addr.0 {
            out.push(Cell {
                addr: (self.addr.0, cut.addr.0 - 1),
                ..self
            });
            self.addr.0 = cut.addr.0;
        }
        if self.addr.1 > cut.addr.1 {
            out.push(Cell {
                addr: (cut.addr.1 + 1, self.addr.1),
                ..self
            });
            self.addr.1 = cut.addr.1;
        }
        if self.proto.0 < cut.proto.0 {
            out.push(Cell {
                proto: (self.proto.0, cut.proto.0 - 1),
                ..self
            });
            self.proto.0 = cut.proto.0;
        }
        if self.proto.1 > cut.proto.1 {
            out.push(Cell {
                proto: (cut.proto.1 + 1, self.proto.1),
                ..self
            });
            self.proto.1 = cut.proto.1;
        }
        if self.port.0 < cut.port.0 {
            out.push(Cell {
                port: (self.port.0, cut.port.0 - 1),
                ..self
            });
        }
        if self.port.1 > cut.port.1 {
            out.push(Cell {
                port: (cut.port.1 + 1, self.port.1),
                ..self
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> TrafficSelector {
        s.parse().unwrap()
    }

    #[test]
    fn display_roundtrip() {
        for s in [
            "198.51.100.0/24",
            "198.51.100.0/24[tcp/443]",
            "198.51.100.3..198.51.100.17[udp/500-4500]",
            "2001:db8::/32[icmpv6]",
            "2001:db8::1/128[icmpv6/32768-33023]",
            "203.0.113.0/24[tcp/opaque]",
            "0.0.0.0/0[99]",
        ] {
            assert_eq!(ts(s).to_string(), s);
        }
        assert!("198.51.100.0/24[tcp/443"
            .parse::<TrafficSelector>()
            .is_err());
        assert!("198.51.100.0/24[bogus]".parse::<TrafficSelector>().is_err());
        assert!("198.51.100.0/24[tcp/9-8]"
            .parse::<TrafficSelector>()
            .is_err());
        assert!("198.51.100.9..2001:db8::"
            .parse::<TrafficSelector>()
            .is_err());
    }

    #[test]
    fn from_wire_validates() {
        let t = TrafficSelector::from_wire(7, 6, 80, 80, &[198, 51, 100, 0], &[198, 51, 100, 255])
            .unwrap();
        assert_eq!(t, ts("198.51.100.0/24[tcp/80]"));
        assert_eq!(t.ts_type().to_u8(), 7);
        assert_eq!(
            TrafficSelector::from_wire(9, 0, 0, 65535, &[0; 4], &[0; 4]),
            Err(TsError::UnknownTsType(9))
        );
        assert!(matches!(
            TrafficSelector::from_wire(8, 0, 0, 65535, &[0; 4], &[0; 16]),
            Err(TsError::AddrLength {
                field: "Starting Address",
                expected: 16,
                got: 4
            })
        ));
        assert!(matches!(
            TrafficSelector::from_wire(7, 0, 0, 65535, &[198, 51, 100, 9], &[198, 51, 100, 8]),
            Err(TsError::AddrRangeInverted { .. })
        ));
        assert_eq!(
            TrafficSelector::from_wire(7, 6, 90, 80, &[0; 4], &[0; 4]),
            Err(TsError::PortRangeInverted { start: 90, end: 80 })
        );
        let o = TrafficSelector::from_wire(7, 17, 65535, 0, &[0; 4], &[255; 4]).unwrap();
        assert!(o.ports.is_opaque());
    }

    #[test]
    fn intersect_dimensions() {
        let a = ts("198.51.100.0/24");
        let b = ts("198.51.100.128..198.51.101.10[tcp/1000-2000]");
        assert_eq!(
            a.intersect(&b),
            Some(ts("198.51.100.128/25[tcp/1000-2000]"))
        );
        assert_eq!(
            ts("198.51.100.0/24[tcp]").intersect(&ts("198.51.100.0/24[udp]")),
            None
        );
        assert_eq!(
            ts("198.51.100.0/24[tcp/1-10]").intersect(&ts("198.51.100.0/24[tcp/11-20]")),
            None
        );
        assert_eq!(ts("198.51.100.0/24").intersect(&ts("2001:db8::/32")), None);
        // ANY ports include OPAQUE; OPAQUE and a concrete range are disjoint.
        assert_eq!(
            ts("198.51.100.0/24[udp]").intersect(&ts("198.51.100.0/24[udp/opaque]")),
            Some(ts("198.51.100.0/24[udp/opaque]"))
        );
        assert_eq!(
            ts("198.51.100.0/24[udp/1-65535]").intersect(&ts("198.51.100.0/24[udp/opaque]")),
            None
        );
        assert!(ts("198.51.100.0/24[udp/opaque]").is_subset_of(&ts("198.51.100.0/16")));
        assert!(
            !ts("198.51.100.0/24[udp/opaque]").is_subset_of(&ts("198.51.100.0/24[udp/0-65534]"))
        );
    }

    #[test]
    fn icmp_type_code_helpers() {
        // Echo request (type 8), any code.
        let echo = TrafficSelector::all(TsType::Ipv4AddrRange)
            .with_protocol(IpProtocol::ICMP)
            .with_ports(PortRange::icmp_type(8));
        assert_eq!((echo.start_port(), echo.end_port()), (0x0800, 0x08ff));
        assert_eq!(echo.ports.type_code_bounds(), ((8, 0), (8, 255)));
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(echo.matches(a, IpProtocol::ICMP, Some(PortRange::type_code(8, 0))));
        assert!(!echo.matches(a, IpProtocol::ICMP, Some(PortRange::type_code(0, 0))));
        assert!(!echo.matches(a, IpProtocol::TCP, Some(0x0800)));
        // Destination unreachable, codes 0..=3.
        let unreach = PortRange::icmp_type_codes(3, 0, 3).unwrap();
        assert!(unreach.matches(Some(PortRange::type_code(3, 3))));
        assert!(!unreach.matches(Some(PortRange::type_code(3, 4))));
        assert!(PortRange::icmp_type_codes(3, 4, 3).is_err());
        assert_eq!(PortRange::icmp_type_code(128, 0), PortRange::single(0x8000));
        assert_eq!(PortRange::mh_type(5).type_code_bounds().0, (5, 0));
        assert!(IpProtocol::MH.ports_are_type_code());
        assert!(!IpProtocol::UDP.ports_are_type_code());
    }

    #[test]
    fn packet_matching_opaque() {
        let a: IpAddr = "203.0.113.5".parse().unwrap();
        assert!(ts("203.0.113.0/24[udp]").matches(a, IpProtocol::UDP, None));
        assert!(ts("203.0.113.0/24[udp/opaque]").matches(a, IpProtocol::UDP, None));
        assert!(!ts("203.0.113.0/24[udp/opaque]").matches(a, IpProtocol::UDP, Some(53)));
        assert!(!ts("203.0.113.0/24[udp/53]").matches(a, IpProtocol::UDP, None));
        assert!(!ts("203.0.113.0/25").matches(
            "2001:db8::5".parse().unwrap(),
            IpProtocol::UDP,
            None
        ));
    }

    #[test]
    fn protocol_names() {
        assert_eq!(
            "ipv6-icmp".parse::<IpProtocol>().unwrap(),
            IpProtocol::ICMPV6
        );
        assert_eq!("TCP".parse::<IpProtocol>().unwrap(), IpProtocol::TCP);
        assert_eq!("253".parse::<IpProtocol>().unwrap(), IpProtocol(253));
        assert!("256".parse::<IpProtocol>().is_err());
    }
}
