//! The protocol and port dimensions of a traffic selector (RFC 7296
//! §3.13.1, RFC 4301 §4.4.1.1): IP protocol IDs with 0 = ANY, and port
//! ranges with the ANY and OPAQUE conventions, where ICMP, ICMPv6 and the
//! Mobility Header carry message type (and code) in the port fields.
//!
//! See the `ts` module docs for the interval encoding used for set algebra.

use std::fmt;
use std::str::FromStr;

use crate::ts::TsError;

/// IP protocol ID (IANA "Assigned Internet Protocol Numbers"); 0 means ANY
/// in a selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    pub const ANY: Self = Self(0);
    pub const ICMP: Self = Self(1);
    pub const TCP: Self = Self(6);
    pub const UDP: Self = Self(17);
    pub const GRE: Self = Self(47);
    pub const ESP: Self = Self(50);
    pub const AH: Self = Self(51);
    pub const ICMPV6: Self = Self(58);
    pub const SCTP: Self = Self(132);
    pub const MH: Self = Self(135);
    pub const UDPLITE: Self = Self(136);

    #[inline]
    pub const fn is_any(self) -> bool {
        self.0 == 0
    }

    /// Protocols whose selector "ports" hold a message type (and code) per
    /// RFC 4301 §4.4.1.1 rather than transport ports.
    pub const fn ports_are_type_code(self) -> bool {
        matches!(self.0, 1 | 58 | 135)
    }

    pub(crate) fn interval(self) -> (u8, u8) {
        if self.is_any() {
            (0, 255)
        } else {
            (self.0, self.0)
        }
    }

    /// Protocol intersection with 0 = ANY: ANY ∩ p = p, p ∩ p = p, else none.
    pub fn intersect(self, other: Self) -> Option<Self> {
        if self.is_any() {
            Some(other)
        } else if other.is_any() || other == self {
            Some(self)
        } else {
            None
        }
    }

    pub fn is_subset_of(self, other: Self) -> bool {
        other.is_any() || self == other
    }

    /// Does a packet of protocol `proto` match this selector protocol?
    #[inline]
    pub fn matches(self, proto: Self) -> bool {
        self.is_any() || self == proto
    }

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::ANY => "any",
            Self::ICMP => "icmp",
            Self::TCP => "tcp",
            Self::UDP => "udp",
            Self::GRE => "gre",
            Self::ESP => "esp",
            Self::AH => "ah",
            Self::ICMPV6 => "icmpv6",
            Self::SCTP => "sctp",
            Self::MH => "mh",
            Self::UDPLITE => "udplite",
            _ => return None,
        })
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl FromStr for IpProtocol {
    type Err = TsError;
    fn from_str(s: &str) -> Result<Self, TsError> {
        let lower = s.trim().to_ascii_lowercase();
        let named = [
            Self::ANY,
            Self::ICMP,
            Self::TCP,
            Self::UDP,
            Self::GRE,
            Self::ESP,
            Self::AH,
            Self::ICMPV6,
            Self::SCTP,
            Self::MH,
            Self::UDPLITE,
        ];
        if let Some(p) = named.iter().find(|p| p.name() == Some(lower.as_str())) {
            return Ok(*p);
        }
        if lower == "ipv6-icmp" {
            return Ok(Self::ICMPV6);
        }
        lower.parse::<u8>().map(Self).map_err(|_| TsError::Parse {
            what: "IP protocol",
            input: s.to_owned(),
        })
    }
}

/// A selector's port range in wire form (start port, end port).
///
/// Valid values are `start <= end`, or the OPAQUE marker `65535, 0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    start: u16,
    end: u16,
}

/// Stand-in for OPAQUE on the internal port axis (one past the last port).
const OPAQUE_POINT: u32 = 65536;

impl PortRange {
    /// All ports, OPAQUE included.
    pub const ANY: Self = Self {
        start: 0,
        end: 65535,
    };
    /// Only traffic whose ports are not available.
    pub const OPAQUE: Self = Self {
        start: 65535,
        end: 0,
    };

    pub const fn new(start: u16, end: u16) -> Result<Self, TsError> {
        if start <= end || (start == 65535 && end == 0) {
            Ok(Self { start, end })
        } else {
            Err(TsError::PortRangeInverted { start, end })
        }
    }

    pub const fn single(port: u16) -> Self {
        Self {
            start: port,
            end: port,
        }
    }

    /// The 16-bit selector value for an ICMP/ICMPv6 type and code
    /// (type in the most significant byte, RFC 4301 §4.4.1.1).
    pub const fn type_code(icmp_type: u8, code: u8) -> u16 {
        (icmp_type as u16) << 8 | code as u16
    }

    /// One ICMP/ICMPv6 type with any code.
    pub const fn icmp_type(icmp_type: u8) -> Self {
        Self {
            start: Self::type_code(icmp_type, 0),
            end: Self::type_code(icmp_type, 255),
        }
    }

    /// One ICMP/ICMPv6 type and one code.
    pub const fn icmp_type_code(icmp_type: u8, code: u8) -> Self {
        Self::single(Self::type_code(icmp_type, code))
    }

    /// One ICMP/ICMPv6 type with codes `lo..=hi`.
    pub const fn icmp_type_codes(icmp_type: u8, lo: u8, hi: u8) -> Result<Self, TsError> {
        Self::new(
            Self::type_code(icmp_type, lo),
            Self::type_code(icmp_type, hi),
        )
    }

    /// One Mobility Header type: RFC 4301 §4.4.1.1 puts the MH type in the
    /// most significant byte; the low byte is not meaningful, so it spans all.
    pub const fn mh_type(mh_type: u8) -> Self {
        Self::icmp_type(mh_type)
    }

    pub const fn start(self) -> u16 {
        self.start
    }

    pub const fn end(self) -> u16 {
        self.end
    }

    #[inline]
    pub const fn is_any(self) -> bool {
        self.start == 0 && self.end == 65535
    }

    #[inline]
    pub const fn is_opaque(self) -> bool {
        self.start == 65535 && self.end == 0
    }

    /// For ICMP/ICMPv6/MH selectors: the (type, code) bounds of the range.
    pub const fn type_code_bounds(self) -> ((u8, u8), (u8, u8)) {
        (
            ((self.start >> 8) as u8, self.start as u8),
            ((self.end >> 8) as u8, self.end as u8),
        )
    }

    /// Does a packet's port match? `None` means the port is not available
    /// (OPAQUE), which only ANY and OPAQUE selectors accept.
    #[inline]
    pub fn matches(self, port: Option<u16>) -> bool {
        match port {
            Some(p) => !self.is_opaque() && self.start <= p && p <= self.end,
            None => self.is_any() || self.is_opaque(),
        }
    }

    pub(crate) fn interval(self) -> (u32, u32) {
        if self.is_any() {
            (0, OPAQUE_POINT)
        } else if self.is_opaque() {
            (OPAQUE_POINT, OPAQUE_POINT)
        } else {
            (u32::from(self.start), u32::from(self.end))
        }
    }

    fn from_interval(lo: u32, hi: u32) -> Option<Self> {
        if lo > hi {
            return None;
        }
        if lo == 0 && hi == OPAQUE_POINT {
            return Some(Self::ANY);
        }
        if lo == OPAQUE_POINT {
            return Some(Self::OPAQUE);
        }
        // Intersections of valid ranges never produce `lo > 0, hi = OPAQUE`;
        // should one appear, dropping OPAQUE keeps the result a subset.
        let hi = hi.min(65535);
        Some(Self {
            start: lo as u16,
            end: hi as u16,
        })
    }

    pub fn intersect(self, other: Self) -> Option<Self> {
        let (a, b) = (self.interval(), other.interval());
        Self::from_interval(a.0.max(b.0), a.1.min(b.1))
    }

    pub fn is_subset_of(self, other: Self) -> bool {
        let (a, b) = (self.interval(), other.interval());
        b.0 <= a.0 && a.1 <= b.1
    }
}

impl Default for PortRange {
    fn default() -> Self {
        Self::ANY
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            f.write_str("any")
        } else if self.is_opaque() {
            f.write_str("opaque")
        } else if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl FromStr for PortRange {
    type Err = TsError;
    fn from_str(s: &str) -> Result<Self, TsError> {
        let bad = || TsError::Parse {
            what: "port range",
            input: s.to_owned(),
        };
        let t = s.trim();
        match t {
            "any" | "%any" => return Ok(Self::ANY),
            "opaque" | "%opaque" => return Ok(Self::OPAQUE),
            _ => {}
        }
        match t.split_once('-') {
            Some((a, b)) => Self::new(
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            ),
            None => Ok(Self::single(t.parse().map_err(|_| bad())?)),
        }
    }
}
