//! IP prefixes (CIDR blocks) and the decomposition of an address range into
//! the minimal list of prefixes that covers it exactly.
//!
//! IKEv2 traffic selectors carry address *ranges* (RFC 7296 §3.13.1,
//! TS_IPV4_ADDR_RANGE / TS_IPV6_ADDR_RANGE), while routing tables and the
//! data plane's longest-prefix table work on prefixes, so a negotiated range
//! such as `198.51.100.3 - 198.51.100.17` has to be split into blocks
//! (`.3/32 .4/30 .8/29 .16/31`) before it can be installed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::ts::{AddrRange, TsError};

/// An address prefix: `addr/len` with all host bits of `addr` zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpPrefix {
    addr: IpAddr,
    len: u8,
}

impl IpPrefix {
    /// Builds a prefix, clearing host bits (`198.51.100.7/24` becomes
    /// `198.51.100.0/24`). Fails when `len` exceeds the family's width.
    pub fn new(addr: IpAddr, len: u8) -> Result<Self, TsError> {
        let width = family_width(&addr);
        if len > width {
            return Err(TsError::PrefixTooLong { addr, len });
        }
        let masked = from_raw(addr.is_ipv6(), to_raw(&addr) & mask(width, len));
        Ok(Self { addr: masked, len })
    }

    /// The host prefix (`/32` or `/128`) of one address.
    pub fn host(addr: IpAddr) -> Self {
        Self {
            addr,
            len: family_width(&addr),
        }
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Prefix length in bits.
    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// `true` for the zero-length prefix (`0.0.0.0/0`, `::/0`).
    pub fn is_default(&self) -> bool {
        self.len == 0
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether `addr` lies inside this prefix (always `false` across families).
    pub fn contains(&self, addr: IpAddr) -> bool {
        addr.is_ipv6() == self.addr.is_ipv6()
            && to_raw(&addr) & mask(family_width(&addr), self.len) == to_raw(&self.addr)
    }

    /// The first and last address of the prefix as a range.
    pub fn range(&self) -> AddrRange {
        let width = family_width(&self.addr);
        let lo = to_raw(&self.addr);
        let hi = lo | !mask(width, self.len) & full(width);
        AddrRange::from_raw(self.addr.is_ipv6(), lo, hi)
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl FromStr for IpPrefix {
    type Err = TsError;

    /// Parses `addr/len`, or a bare address as a host prefix.
    fn from_str(s: &str) -> Result<Self, TsError> {
        let bad = || TsError::Parse {
            what: "prefix",
            input: s.to_owned(),
        };
        match s.split_once('/') {
            Some((a, l)) => {
                let addr: IpAddr = a.trim().parse().map_err(|_| bad())?;
                let len: u8 = l.trim().parse().map_err(|_| bad())?;
                Self::new(addr, len)
            }
            None => Ok(Self::host(s.trim().parse().map_err(|_| bad())?)),
        }
    }
}

impl From<IpAddr> for IpPrefix {
    fn from(addr: IpAddr) -> Self {
        Self::host(addr)
    }
}

/// Splits the inclusive range `start..=end` into the minimal list of
/// prefixes whose union is exactly that range, in ascending address order.
///
/// Fails on mixed families or `start > end`.
pub fn range_to_prefixes(start: IpAddr, end: IpAddr) -> Result<Vec<IpPrefix>, TsError> {
    Ok(AddrRange::new(start, end)?.to_prefixes())
}

/// Raw-integer worker behind [`AddrRange::to_prefixes`]; `lo <= hi` and both
/// fit in `width` bits.
pub(crate) fn decompose(v6: bool, lo: u128, hi: u128, out: &mut Vec<IpPrefix>) {
    let width: u8 = if v6 { 128 } else { 32 };
    let mut cur = lo;
    loop {
        // The block starting at `cur` may be as large as the alignment of
        // `cur` allows and must not run past `hi`; greedy from the left gives
        // the minimal cover because every chosen block is maximal.
        let align = if cur == 0 {
            u32::from(width)
        } else {
            cur.trailing_zeros().min(u32::from(width))
        };
        let span = hi - cur; // number of addresses left, minus one
        let fit = if span == u128::MAX {
            128
        } else {
            127 - (span + 1).leading_zeros()
        };
        let k = align.min(fit);
        // k <= width <= 128, so the subtraction cannot underflow.
        let len = width - k as u8;
        out.push(IpPrefix {
            addr: from_raw(v6, cur),
            len,
        });
        let last = if k == 128 {
            u128::MAX
        } else {
            cur + ((1u128 << k) - 1)
        };
        if last >= hi {
            break;
        }
        cur = last + 1;
    }
}

pub(crate) fn family_width(addr: &IpAddr) -> u8 {
    if addr.is_ipv6() {
        128
    } else {
        32
    }
}

pub(crate) fn to_raw(addr: &IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(*a)),
        IpAddr::V6(a) => u128::from(*a),
    }
}

pub(crate) fn from_raw(v6: bool, raw: u128) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(raw))
    } else {
        // Callers only pass values that came from a 32-bit address.
        IpAddr::V4(Ipv4Addr::from(raw as u32))
    }
}

fn full(width: u8) -> u128 {
    if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    }
}

/// Network mask of `len` leading ones within a `width`-bit address.
pub(crate) fn mask(width: u8, len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        full(width) & !full(width).checked_shr(u32::from(len)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }
    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parse_masks_host_bits() {
        assert_eq!(p("198.51.100.77/24").to_string(), "198.51.100.0/24");
        assert_eq!(p("2001:db8::1/32").to_string(), "2001:db8::/32");
        assert_eq!(p("203.0.113.9").prefix_len(), 32);
        assert!("198.51.100.0/33".parse::<IpPrefix>().is_err());
        assert!("2001:db8::/129".parse::<IpPrefix>().is_err());
        assert!("nonsense/8".parse::<IpPrefix>().is_err());
    }

    #[test]
    fn contains_and_range() {
        let n = p("198.51.100.0/25");
        assert!(n.contains(a("198.51.100.127")));
        assert!(!n.contains(a("198.51.100.128")));
        assert!(!n.contains(a("2001:db8::1")));
        let r = n.range();
        assert_eq!(r.start(), a("198.51.100.0"));
        assert_eq!(r.end(), a("198.51.100.127"));
        let d = p("::/0").range();
        assert_eq!(d.end(), a("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_eq!(p("0.0.0.0/0").range().end(), a("255.255.255.255"));
    }

    fn split(lo: &str, hi: &str) -> Vec<String> {
        range_to_prefixes(a(lo), a(hi))
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn decompose_known_ranges() {
        assert_eq!(
            split("198.51.100.3", "198.51.100.17"),
            [
                "198.51.100.3/32",
                "198.51.100.4/30",
                "198.51.100.8/29",
                "198.51.100.16/31"
            ]
        );
        assert_eq!(split("198.51.100.0", "198.51.100.255"), ["198.51.100.0/24"]);
        assert_eq!(split("0.0.0.0", "255.255.255.255"), ["0.0.0.0/0"]);
        assert_eq!(
            split("255.255.255.255", "255.255.255.255"),
            ["255.255.255.255/32"]
        );
        assert_eq!(
            split("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
            ["::/0"]
        );
        assert_eq!(
            split("2001:db8::", "2001:db8::2"),
            ["2001:db8::/127", "2001:db8::2/128"]
        );
        assert_eq!(
            split("0.0.0.1", "255.255.255.255").len(),
            32,
            "one block per bit position"
        );
        assert!(range_to_prefixes(a("198.51.100.9"), a("198.51.100.8")).is_err());
        assert!(range_to_prefixes(a("198.51.100.9"), a("2001:db8::")).is_err());
    }
}
