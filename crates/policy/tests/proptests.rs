//! Property tests: selector algebra, narrowing bounds, range → prefix
//! decomposition and the outbound SA table against a brute-force scan of
//! every entry (the approach of wireguard-go's randomised allowed-IPs test).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use yadokari_policy::{
    narrow_responder, range_to_prefixes, verify_response, AddrRange, EntryId, FlowKey, IpPrefix,
    IpProtocol, NarrowMode, OutboundTable, PortRange, TrafficSelector, TsPolicy, TsSet,
};

// Small universes so random selectors overlap often.
const V4_BASE: u32 = 0xc633_6400; // 198.51.100.0
const V6_BASE: u128 = 0x2001_0db8_0000_0000_0000_0000_0000_0000;

fn addr(v6: bool, off: u32) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(V6_BASE + u128::from(off)))
    } else {
        IpAddr::V4(Ipv4Addr::from(V4_BASE + off))
    }
}

fn arb_ports() -> impl Strategy<Value = PortRange> {
    prop_oneof![
        Just(PortRange::ANY),
        Just(PortRange::OPAQUE),
        (0u16..40, 0u16..40).prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap()),
        (65500u16..=65535, 65500u16..=65535)
            .prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap()),
    ]
}

fn arb_proto() -> impl Strategy<Value = IpProtocol> {
    prop_oneof![
        Just(IpProtocol::ANY),
        Just(IpProtocol::TCP),
        Just(IpProtocol::UDP)
    ]
}

fn arb_ts() -> impl Strategy<Value = TrafficSelector> {
    (
        prop::bool::weighted(0.3),
        0u32..600,
        0u32..600,
        arb_proto(),
        arb_ports(),
    )
        .prop_map(|(v6, a, b, p, ports)| {
            let r = AddrRange::new(addr(v6, a.min(b)), addr(v6, a.max(b))).unwrap();
            TrafficSelector::new(r, p, ports)
        })
}

/// Selectors as SAs carry them: mostly nested prefixes of the universe
/// (a /0 down to hosts), sometimes an arbitrary range.
fn arb_route_ts() -> impl Strategy<Value = TrafficSelector> {
    prop_oneof![
        3 => (prop::bool::weighted(0.3), 0u32..600, 0u8..=10, arb_proto(), arb_ports()).prop_map(
            |(v6, off, host_bits, p, ports)| {
                let a = addr(v6, off);
                let width = if v6 { 128 } else { 32 };
                // Every fourth one is the whole family.
                let len = if off % 4 == 0 { 0 } else { width - host_bits };
                let pfx = IpPrefix::new(a, len).unwrap_or_else(|_| IpPrefix::host(a));
                TrafficSelector::new(pfx.range(), p, ports)
            }
        ),
        1 => arb_ts(),
    ]
}

/// Width of a port range on the selector's own scale: OPAQUE narrowest,
/// ANY (which includes OPAQUE) widest.
fn port_width(p: PortRange) -> u32 {
    if p.is_any() {
        65536
    } else if p.is_opaque() {
        0
    } else {
        u32::from(p.end() - p.start())
    }
}

fn arb_set(max: usize) -> impl Strategy<Value = TsSet> {
    prop::collection::vec(arb_ts(), 1..=max).prop_map(TsSet::from)
}

/// A random packet side in the same universe.
fn arb_point() -> impl Strategy<Value = (IpAddr, IpProtocol, Option<u16>)> {
    (
        prop::bool::weighted(0.3),
        0u32..640,
        prop_oneof![
            Just(IpProtocol::TCP),
            Just(IpProtocol::UDP),
            Just(IpProtocol::ICMP)
        ],
        prop_oneof![
            Just(None),
            (0u16..45).prop_map(Some),
            (65495u16..=65535).prop_map(Some)
        ],
    )
        .prop_map(|(v6, off, p, port)| (addr(v6, off), p, port))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn intersect_commutes_and_is_within_both(a in arb_ts(), b in arb_ts(), pts in prop::collection::vec(arb_point(), 32)) {
        let ab = a.intersect(&b);
        prop_assert_eq!(ab, b.intersect(&a));
        if let Some(c) = ab {
            prop_assert!(c.is_subset_of(&a) && c.is_subset_of(&b));
            prop_assert!(a.contains(&c));
        }
        // Exact: a packet matches the intersection iff it matches both.
        for (ad, p, port) in pts {
            let both = a.matches(ad, p, port) && b.matches(ad, p, port);
            prop_assert_eq!(ab.is_some_and(|c| c.matches(ad, p, port)), both);
        }
    }

    #[test]
    fn set_intersect_is_exact(a in arb_set(4), b in arb_set(4), pts in prop::collection::vec(arb_point(), 32)) {
        let ab = a.intersect(&b);
        prop_assert!(ab.is_subset_of(&a));
        prop_assert!(ab.is_subset_of(&b));
        for (ad, p, port) in pts {
            prop_assert_eq!(ab.matches(ad, p, port), a.matches(ad, p, port) && b.matches(ad, p, port));
        }
    }

    #[test]
    fn subset_is_sound(a in arb_set(3), b in arb_set(5), pts in prop::collection::vec(arb_point(), 64)) {
        if a.is_subset_of(&b) {
            for (ad, p, port) in pts {
                if a.matches(ad, p, port) {
                    prop_assert!(b.matches(ad, p, port));
                }
            }
        }
        // A set always covers any split of itself.
        let split: TsSet = a.iter().flat_map(|t| {
            t.addrs.to_prefixes().into_iter().map(move |p| TrafficSelector { addrs: p.range(), ..*t })
        }).collect();
        prop_assert!(a.is_subset_of(&split));
        prop_assert!(split.is_subset_of(&a));
    }

    #[test]
    fn narrowing_stays_inside_proposal_and_policy(
        ts_i in arb_set(4), ts_r in arb_set(4), remote in arb_set(3), local in arb_set(3), single in any::<bool>(),
    ) {
        let mode = if single { NarrowMode::SinglePair } else { NarrowMode::Intersect };
        let policy = TsPolicy::new(local.clone(), remote.clone()).with_mode(mode);
        match narrow_responder(&ts_i, &ts_r, &policy) {
            Ok(n) => {
                prop_assert!(!n.ts_i.is_empty() && !n.ts_r.is_empty());
                prop_assert!(n.ts_i.is_subset_of(&ts_i) && n.ts_i.is_subset_of(&remote));
                prop_assert!(n.ts_r.is_subset_of(&ts_r) && n.ts_r.is_subset_of(&local));
                let check = verify_response(&ts_i, &ts_r, &n.ts_i, &n.ts_r);
                prop_assert!(check.is_ok());
                prop_assert_eq!(check.unwrap().narrowed, n.narrowed);
                // RFC 7296 §2.9: first choices kept when the policy accepts them.
                let (fi, fr) = (ts_i.as_slice()[0], ts_r.as_slice()[0]);
                if remote.covers(&fi) && local.covers(&fr) {
                    prop_assert!(n.ts_i.covers(&fi) && n.ts_r.covers(&fr));
                }
                if !single {
                    prop_assert!(ts_i.intersect(&remote).is_subset_of(&n.ts_i));
                }
            }
            Err(_) => {
                // Refusal is only allowed when the policy shares nothing, or
                // in single-pair mode.
                prop_assert!(single || !ts_i.overlaps(&remote) || !ts_r.overlaps(&local));
            }
        }
    }

    #[test]
    fn range_decomposition_is_exact_and_minimal(v6 in any::<bool>(), a in any::<u128>(), b in any::<u128>(), shift in 0u32..128) {
        let (a, b) = if v6 { (a >> shift, b >> shift) } else { ((a >> 96) >> (shift % 32), (b >> 96) >> (shift % 32)) };
        let (lo, hi) = (a.min(b), a.max(b));
        let mk = |v: u128| if v6 { IpAddr::V6(Ipv6Addr::from(v)) } else { IpAddr::V4(Ipv4Addr::from(v as u32)) };
        let ps = range_to_prefixes(mk(lo), mk(hi)).unwrap();
        let raw = |ip: IpAddr| match ip { IpAddr::V4(x) => u128::from(u32::from(x)), IpAddr::V6(x) => u128::from(x) };
        // Contiguous, in order, from lo to hi.
        let mut next = lo;
        for (i, p) in ps.iter().enumerate() {
            let r = p.range();
            prop_assert_eq!(raw(r.start()), next);
            prop_assert_eq!(raw(p.addr()), raw(r.start()), "prefix is aligned");
            if i + 1 == ps.len() {
                prop_assert_eq!(raw(r.end()), hi);
            } else {
                next = raw(r.end()) + 1;
            }
            // Maximal: the enclosing prefix one bit shorter would leave the range.
            if p.prefix_len() > 0 {
                let parent = IpPrefix::new(p.addr(), p.prefix_len() - 1).unwrap().range();
                prop_assert!(raw(parent.start()) < lo || raw(parent.end()) > hi);
            }
        }
        let width = if v6 { 128 } else { 32 };
        prop_assert!(ps.len() <= 2 * width);
    }

    #[test]
    fn outbound_table_agrees_with_brute_force(
        entries in prop::collection::vec(
            (prop::collection::vec(arb_ts(), 1..=2), prop::collection::vec(arb_route_ts(), 1..=3)),
            0..40,
        ),
        removals in prop::collection::vec(0usize..40, 0..8),
        standby in 0usize..7,
        flows in prop::collection::vec((arb_point(), arb_point()), 64),
    ) {
        let mut table = OutboundTable::new();
        // The reference: every live entry with its order of insertion.
        let mut live: Vec<(EntryId, usize, Vec<TrafficSelector>, Vec<TrafficSelector>)> = Vec::new();
        for (n, (local, remote)) in entries.into_iter().enumerate() {
            let id = table.insert(local.clone(), remote.clone(), n);
            live.push((id, n, local, remote));
            // Removals interleave with inserts, so ids get reused.
            if let Some(&r) = removals.get(n) {
                if r < live.len() {
                    let (id, n, ..) = live.remove(r);
                    prop_assert_eq!(table.remove(id), Some(n));
                }
            }
        }
        prop_assert_eq!(table.len(), live.len());
        // Entries whose number is a multiple of `standby` are passed over,
        // as the data plane passes over an SA standing by.
        let accept = |n: &usize| standby == 0 || n % standby != 0;
        for ((src, proto, sport), (dst, _, dport)) in flows {
            let flow = FlowKey { src, dst, ip_protocol: proto, src_port: sport, dst_port: dport };
            let want = live
                .iter()
                .filter(|(_, n, local, _)| accept(n) && local.iter().any(|t| flow.src_matches(t)))
                .flat_map(|(_, n, _, remote)| {
                    remote.iter().filter(|t| flow.dst_matches(t)).map(move |t| {
                        let len = t.addrs.to_prefixes().into_iter().find(|p| p.contains(dst)).map(|p| p.prefix_len());
                        ((len, !t.ip_protocol.is_any(), std::cmp::Reverse(port_width(t.ports)), *n), *n)
                    })
                })
                .max()
                .map(|(_, n)| n);
            let got = table.lookup(&flow, accept).and_then(|id| table.get(id).copied());
            prop_assert_eq!(got, want, "{:?}", flow);
        }
    }
}

// Exhaustive oracle on a tiny universe: every elementary region of the
// selector space has a representative point, so "subset" can be decided by
// enumeration and compared with the geometric answer in both directions.
fn tiny_ts() -> impl Strategy<Value = TrafficSelector> {
    (
        prop::bool::weighted(0.2),
        0u32..7,
        0u32..7,
        arb_proto(),
        prop_oneof![
            Just(PortRange::ANY),
            Just(PortRange::OPAQUE),
            (0u16..5, 0u16..5).prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap()),
        ],
    )
        .prop_map(|(v6, a, b, p, ports)| {
            let r = AddrRange::new(addr(v6, a.min(b)), addr(v6, a.max(b))).unwrap();
            TrafficSelector::new(r, p, ports)
        })
}

fn tiny_points() -> Vec<(IpAddr, IpProtocol, Option<u16>)> {
    let mut v = Vec::new();
    for v6 in [false, true] {
        for off in 0..8 {
            for p in [IpProtocol::TCP, IpProtocol::UDP, IpProtocol(99)] {
                for port in [None, Some(0), Some(1), Some(2), Some(3), Some(4), Some(5)] {
                    v.push((addr(v6, off), p, port));
                }
            }
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn subset_matches_exhaustive_oracle(
        a in prop::collection::vec(tiny_ts(), 1..4),
        b in prop::collection::vec(tiny_ts(), 1..6),
    ) {
        let (a, b) = (TsSet::from(a), TsSet::from(b));
        let oracle = tiny_points()
            .into_iter()
            .all(|(ad, p, port)| !a.matches(ad, p, port) || b.matches(ad, p, port));
        prop_assert_eq!(a.is_subset_of(&b), oracle);
    }
}
