//! Traffic Selector payloads TSi/TSr (RFC 7296 §3.13) and individual
//! selectors (§3.13.1): IPv4/IPv6 address ranges, RFC 9478 security labels,
//! and anything else kept opaque.
//!
//! For ICMP (1), ICMPv6 (58) and the Mobility Header (135) the 16-bit port
//! fields carry type and code instead (RFC 4301 §4.4.1.1): the high byte is
//! the type, the low byte the code; see [`TsRange::icmp_start`].

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireErrorKind};
use crate::payload::{own, Bytes};
use crate::registry::TsType;

/// IP protocol numbers whose "ports" are type/code pairs.
pub const IPPROTO_ICMP: u8 = 1;
/// ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;
/// IPv6 Mobility Header.
pub const IPPROTO_MH: u8 = 135;

/// TSi or TSr payload body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrafficSelectors<'a> {
    /// The selectors (the count field is one octet, so at most 255).
    pub selectors: Vec<TrafficSelector<'a>>,
}

/// One traffic selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficSelector<'a> {
    /// TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE (both addresses of one family).
    Range(TsRange),
    /// TS_SECLABEL (RFC 9478): an opaque security label.
    SecLabel(Bytes<'a>),
    /// Another selector type, kept as the bytes after its 4-byte header.
    Other {
        /// Selector type.
        ts_type: TsType,
        /// The octet after the type (IP protocol ID for range types).
        second_octet: u8,
        /// The rest of the selector.
        data: Bytes<'a>,
    },
}

/// An address range selector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TsRange {
    /// IP protocol ID, 0 for any.
    pub ip_protocol: u8,
    /// Start port (or ICMP type/code), 0 for any.
    pub start_port: u16,
    /// End port (or ICMP type/code), 65535 for any.
    pub end_port: u16,
    /// First address.
    pub start_addr: IpAddr,
    /// Last address (same family as `start_addr`).
    pub end_addr: IpAddr,
}

impl TsRange {
    /// All ports and protocols between two addresses.
    pub const fn any(start_addr: IpAddr, end_addr: IpAddr) -> Self {
        Self {
            ip_protocol: 0,
            start_port: 0,
            end_port: 65535,
            start_addr,
            end_addr,
        }
    }

    /// Everything of one address family (0.0.0.0–255.255.255.255 or ::–ff..ff).
    pub const fn all_v4() -> Self {
        Self::any(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::BROADCAST),
        )
    }

    /// All of IPv6.
    pub const fn all_v6() -> Self {
        Self::any(
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            IpAddr::V6(Ipv6Addr::from_bits(u128::MAX)),
        )
    }

    /// The selector type its addresses call for.
    pub fn ts_type(&self) -> TsType {
        match self.start_addr {
            IpAddr::V4(_) => TsType::TS_IPV4_ADDR_RANGE,
            IpAddr::V6(_) => TsType::TS_IPV6_ADDR_RANGE,
        }
    }

    /// Whether the port fields carry ICMP/ICMPv6/MH type and code.
    pub const fn ports_are_type_code(&self) -> bool {
        matches!(self.ip_protocol, IPPROTO_ICMP | IPPROTO_ICMPV6 | IPPROTO_MH)
    }

    /// (type, code) of the start "port" for ICMP/ICMPv6/MH selectors.
    pub fn icmp_start(&self) -> Option<(u8, u8)> {
        self.ports_are_type_code().then(|| split(self.start_port))
    }

    /// (type, code) of the end "port" for ICMP/ICMPv6/MH selectors.
    pub fn icmp_end(&self) -> Option<(u8, u8)> {
        self.ports_are_type_code().then(|| split(self.end_port))
    }

    /// A selector for an ICMP-like protocol and a type/code range.
    pub fn icmp(
        ip_protocol: u8,
        start: (u8, u8),
        end: (u8, u8),
        start_addr: IpAddr,
        end_addr: IpAddr,
    ) -> Self {
        Self {
            ip_protocol,
            start_port: u16::from_be_bytes([start.0, start.1]),
            end_port: u16::from_be_bytes([end.0, end.1]),
            start_addr,
            end_addr,
        }
    }
}

fn split(v: u16) -> (u8, u8) {
    let [t, c] = v.to_be_bytes();
    (t, c)
}

impl<'a> TrafficSelector<'a> {
    /// The selector's type.
    pub fn ts_type(&self) -> TsType {
        match self {
            TrafficSelector::Range(r) => r.ts_type(),
            TrafficSelector::SecLabel(_) => TsType::TS_SECLABEL,
            TrafficSelector::Other { ts_type, .. } => *ts_type,
        }
    }

    fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let mut h = r.clone();
        let ts_type = TsType(h.u8("ts_type")?);
        let second_octet = h.u8("ip_protocol_id")?;
        let len_at = h.offset();
        let len = h.u16("selector_length")? as usize;
        let expect = match ts_type {
            TsType::TS_IPV4_ADDR_RANGE => Some(16),
            TsType::TS_IPV6_ADDR_RANGE => Some(40),
            _ => None,
        };
        if len < 4 || expect.is_some_and(|e| e != len) {
            return Err(h.err_at(
                "selector_length",
                len_at,
                WireErrorKind::BadLength { value: len },
            ));
        }
        if len > r.remaining() {
            return Err(h.err_at(
                "selector_length",
                len_at,
                WireErrorKind::Truncated {
                    needed: len,
                    available: r.remaining(),
                },
            ));
        }
        let mut s = r.sub(len, "selector", Context::TrafficSelector)?;
        s.skip(4, "header")?;
        Ok(match ts_type {
            TsType::TS_IPV4_ADDR_RANGE | TsType::TS_IPV6_ADDR_RANGE => {
                let start_port = s.u16("start_port")?;
                let end_port = s.u16("end_port")?;
                let (start_addr, end_addr) = if ts_type == TsType::TS_IPV4_ADDR_RANGE {
                    (
                        IpAddr::V4(Ipv4Addr::from(s.array::<4>("starting_address")?)),
                        IpAddr::V4(Ipv4Addr::from(s.array::<4>("ending_address")?)),
                    )
                } else {
                    (
                        IpAddr::V6(Ipv6Addr::from(s.array::<16>("starting_address")?)),
                        IpAddr::V6(Ipv6Addr::from(s.array::<16>("ending_address")?)),
                    )
                };
                TrafficSelector::Range(TsRange {
                    ip_protocol: second_octet,
                    start_port,
                    end_port,
                    start_addr,
                    end_addr,
                })
            }
            TsType::TS_SECLABEL => TrafficSelector::SecLabel(Cow::Borrowed(s.rest())),
            _ => TrafficSelector::Other {
                ts_type,
                second_octet,
                data: Cow::Borrowed(s.rest()),
            },
        })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let start = w.len();
        match self {
            TrafficSelector::Range(t) => {
                w.u8(t.ts_type().0);
                w.u8(t.ip_protocol);
                let m = w.reserve_u16();
                w.u16(t.start_port);
                w.u16(t.end_port);
                match (t.start_addr, t.end_addr) {
                    (IpAddr::V4(a), IpAddr::V4(b)) => {
                        w.bytes(&a.octets());
                        w.bytes(&b.octets());
                    }
                    (IpAddr::V6(a), IpAddr::V6(b)) => {
                        w.bytes(&a.octets());
                        w.bytes(&b.octets());
                    }
                    _ => {
                        return Err(
                            w.err("ending_address", WireErrorKind::InvalidValue { value: 0 })
                        )
                    }
                }
                w.patch_len_u16(m, start, "selector_length")
            }
            TrafficSelector::SecLabel(l) => {
                w.u8(TsType::TS_SECLABEL.0);
                w.u8(0);
                let m = w.reserve_u16();
                w.bytes(l);
                w.patch_len_u16(m, start, "selector_length")
            }
            TrafficSelector::Other {
                ts_type,
                second_octet,
                data,
            } => {
                w.u8(ts_type.0);
                w.u8(*second_octet);
                let m = w.reserve_u16();
                w.bytes(data);
                w.patch_len_u16(m, start, "selector_length")
            }
        }
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> TrafficSelector<'static> {
        match self {
            TrafficSelector::Range(r) => TrafficSelector::Range(r),
            TrafficSelector::SecLabel(l) => TrafficSelector::SecLabel(own(l)),
            TrafficSelector::Other {
                ts_type,
                second_octet,
                data,
            } => TrafficSelector::Other {
                ts_type,
                second_octet,
                data: own(data),
            },
        }
    }
}

impl<'a> TrafficSelectors<'a> {
    /// A TS payload body.
    pub fn new(selectors: Vec<TrafficSelector<'a>>) -> Self {
        Self { selectors }
    }

    /// A TS payload body of address ranges.
    pub fn ranges(r: impl IntoIterator<Item = TsRange>) -> Self {
        Self {
            selectors: r.into_iter().map(TrafficSelector::Range).collect(),
        }
    }

    /// The address-range selectors, skipping other types.
    pub fn iter_ranges(&self) -> impl Iterator<Item = &TsRange> {
        self.selectors.iter().filter_map(|s| match s {
            TrafficSelector::Range(r) => Some(r),
            _ => None,
        })
    }

    /// Parses a TSi/TSr body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let count_at = r.offset();
        let num = r.u8("number_of_tss")? as usize;
        r.skip(3, "reserved")?;
        let mut selectors = Vec::with_capacity(num.min(16));
        r.set_context(Context::TrafficSelector);
        while !r.is_empty() {
            if selectors.len() == num {
                return Err(r.err(
                    "selector",
                    WireErrorKind::TrailingData { len: r.remaining() },
                ));
            }
            selectors.push(TrafficSelector::parse(r)?);
        }
        if selectors.len() != num {
            return Err(r.err_at(
                "number_of_tss",
                count_at,
                WireErrorKind::CountMismatch {
                    declared: num,
                    found: selectors.len(),
                },
            ));
        }
        Ok(Self { selectors })
    }

    /// Emits a TSi/TSr body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let n = w.fit_u8(self.selectors.len(), "number_of_tss")?;
        w.u8(n);
        w.zeros(3);
        let ctx = w.context();
        w.set_context(Context::TrafficSelector);
        for s in &self.selectors {
            s.emit(w)?;
        }
        w.set_context(ctx);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> TrafficSelectors<'static> {
        TrafficSelectors {
            selectors: self
                .selectors
                .into_iter()
                .map(TrafficSelector::into_owned)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PayloadType;

    // Two selectors: TCP 192.0.2.0-192.0.2.255 port 443, and ICMPv6 echo.
    static BODY: [u8; 60] = [
        0x02, 0x00, 0x00, 0x00, // 2 TSs
        0x07, 0x06, 0x00, 0x10, 0x01, 0xbb, 0x01, 0xbb, 192, 0, 2, 0, 192, 0, 2, 255, //
        0x08, 0x3a, 0x00, 0x28, 0x80, 0x00, 0x81, 0x00, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
    ];

    fn parse(b: &[u8]) -> Result<TrafficSelectors<'_>> {
        TrafficSelectors::parse(&mut Reader::new(b, 0, Context::Payload(PayloadType::TSI)))
    }

    fn repr() -> TrafficSelectors<'static> {
        TrafficSelectors::ranges([
            TsRange {
                ip_protocol: 6,
                start_port: 443,
                end_port: 443,
                start_addr: "192.0.2.0".parse().unwrap(),
                end_addr: "192.0.2.255".parse().unwrap(),
            },
            TsRange::icmp(
                IPPROTO_ICMPV6,
                (128, 0),
                (129, 0),
                "2001:db8::".parse().unwrap(),
                "2001:db8::ff".parse().unwrap(),
            ),
        ])
    }

    #[test]
    fn deconstruct() {
        let ts = parse(&BODY).unwrap();
        assert_eq!(ts, repr());
        let r: Vec<_> = ts.iter_ranges().collect();
        assert_eq!(r[0].ts_type(), TsType::TS_IPV4_ADDR_RANGE);
        assert_eq!(r[0].icmp_start(), None);
        assert_eq!(r[1].icmp_start(), Some((128, 0)));
        assert_eq!(r[1].icmp_end(), Some((129, 0)));
    }

    #[test]
    fn construct() {
        let mut v = Vec::new();
        repr()
            .emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::TSI)))
            .unwrap();
        assert_eq!(v, BODY);
    }

    #[test]
    fn truncated() {
        for n in 0..BODY.len() {
            assert!(parse(&BODY[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn selector_length_must_fit_type() {
        let mut b = BODY;
        b[7] = 0x11;
        let e = parse(&b).unwrap_err();
        assert_eq!((e.field, e.offset), ("selector_length", 6));
        let mut b = BODY;
        b[0] = 3;
        let e = parse(&b).unwrap_err();
        assert_eq!(
            e.kind,
            WireErrorKind::CountMismatch {
                declared: 3,
                found: 2
            }
        );
        let mut b = BODY;
        b[0] = 1;
        assert!(matches!(
            parse(&b).unwrap_err().kind,
            WireErrorKind::TrailingData { .. }
        ));
    }

    #[test]
    fn mixed_families_rejected_on_emit() {
        let bad = TrafficSelectors::ranges([TsRange::any(
            "192.0.2.1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        )]);
        let mut v = Vec::new();
        assert!(bad
            .emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::TSI)))
            .is_err());
    }

    #[test]
    fn seclabel_and_unknown_round_trip() {
        let ts = TrafficSelectors::new(vec![
            TrafficSelector::SecLabel(Cow::Borrowed(b"label")),
            TrafficSelector::Other {
                ts_type: TsType(9),
                second_octet: 4,
                data: Cow::Borrowed(&[1, 2]),
            },
        ]);
        let mut v = Vec::new();
        ts.emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::TSR)))
            .unwrap();
        assert_eq!(&v[4..8], &[10, 0, 0, 9]);
        assert_eq!(parse(&v).unwrap(), ts);
    }
}
