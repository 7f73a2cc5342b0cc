//! Property tests: selector algebra, narrowing bounds, range → prefix
//! decomposition and the LPM table against a naive linear scan (the
//! approach of wireguard-go's randomised allowed-IPs test).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use yadokari_policy::{
    narrow_responder, range_to_prefixes, verify_response, AddrRange, IpPrefix, IpProtocol,
    LpmTable, NarrowMode, PortRange, TrafficSelector, TsPolicy, TsSet,
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
    fn lpm_agrees_with_linear_scan(
        entries in prop::collection::vec((prop::bool::weighted(0.3), any::<u128>(), 0u8..=128, 0u16..50), 0..60),
        removals in prop::collection::vec(0usize..60, 0..10),
        probes in prop::collection::vec((prop::bool::weighted(0.3), any::<u128>()), 64),
    ) {
        // Addresses share their top bits so prefixes nest and collide.
        let mk = |v6: bool, x: u128| if v6 {
            IpAddr::V6(Ipv6Addr::from(V6_BASE | (x >> 100)))
        } else {
            IpAddr::V4(Ipv4Addr::from(V4_BASE | ((x >> 118) as u32)))
        };
        let mut table = LpmTable::new();
        let mut naive: Vec<(IpPrefix, u16)> = Vec::new();
        for (v6, x, len, h) in entries {
            let len = if v6 { len } else { len % 33 };
            let p = IpPrefix::new(mk(v6, x), len).unwrap();
            let old = table.insert(p, h);
            let prev = naive.iter().position(|(q, _)| *q == p);
            prop_assert_eq!(old, prev.map(|i| naive[i].1));
            match prev {
                Some(i) => naive[i].1 = h,
                None => naive.push((p, h)),
            }
        }
        for r in removals {
            if r < naive.len() {
                let (p, h) = naive.remove(r);
                prop_assert_eq!(table.remove(p), Some(h));
            }
        }
        prop_assert_eq!(table.len(), naive.len());
        // The reference: sort by length, longest first; first match wins.
        naive.sort_by_key(|(p, _)| std::cmp::Reverse(p.prefix_len()));
        let compiled = table.compile();
        for (v6, x) in probes {
            let ad = mk(v6, x);
            let want = naive.iter().find(|(p, _)| p.contains(ad)).map(|(_, h)| *h);
            prop_assert_eq!(table.lookup(ad), want);
            prop_assert_eq!(compiled.lookup(ad), want);
            let want_prefix = naive.iter().find(|(p, _)| p.contains(ad)).map(|(p, _)| p.prefix_len());
            prop_assert_eq!(table.lookup_prefix(ad).map(|(p, _)| p.prefix_len()), want_prefix);
        }
        // Edges of every stored prefix, where off-by-one errors live.
        for (p, _) in &naive {
            let r = p.range();
            for ad in [r.start(), r.end()] {
                let want = naive.iter().find(|(q, _)| q.contains(ad)).map(|(_, h)| *h);
                prop_assert_eq!(table.lookup(ad), want);
                prop_assert_eq!(compiled.lookup(ad), want);
            }
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
