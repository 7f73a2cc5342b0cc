//! Outbound SA lookup cost on the data plane's hot path: one site-to-site
//! tunnel, a few, and a hub with thousands of spokes (a /48 each, plus a
//! default SA), for hits and misses.
use std::hint::black_box;
use std::net::{IpAddr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use yadokari_policy::{FlowKey, IpPrefix, IpProtocol, OutboundTable, TrafficSelector};

/// Deterministic xorshift so runs compare.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// An address under 2001:db8::/32: the spoke number in bits 80..96.
fn v6(spoke: u32, host: u32) -> IpAddr {
    IpAddr::V6(Ipv6Addr::from(
        0x2001_0db8_u128 << 96 | u128::from(spoke) << 80 | u128::from(host),
    ))
}

/// `n` SAs from 2001:db8::/48 to one /48 spoke each.
fn table(n: u32) -> OutboundTable<u32> {
    let mut t = OutboundTable::new();
    let local = vec![TrafficSelector::from_prefix(
        IpPrefix::new(v6(0, 0), 48).unwrap(),
    )];
    for i in 0..n {
        let remote = IpPrefix::new(v6(i + 1, 0), 48).unwrap();
        t.insert(local.clone(), vec![TrafficSelector::from_prefix(remote)], i);
    }
    t
}

fn bench(c: &mut Criterion) {
    for n in [1u32, 4, 1024, 10_000] {
        let mut t = table(n);
        let mut s = 0xfeed;
        let flows: Vec<FlowKey> = (0..1024)
            .map(|_| {
                let r = rng(&mut s) as u32;
                let dst = v6(r % n + 1, r >> 16);
                FlowKey::new(v6(0, 1), dst, IpProtocol::UDP, 4000, 53)
            })
            .collect();
        let mut i = 0usize;
        c.bench_function(&format!("outbound_lookup_hit/{n}"), |b| {
            b.iter(|| {
                i = (i + 1) % flows.len();
                black_box(t.lookup(black_box(&flows[i]), |_| true))
            })
        });
        let miss = FlowKey::new(v6(0, 1), v6(0xffff, 1), IpProtocol::UDP, 4000, 53);
        c.bench_function(&format!("outbound_lookup_miss/{n}"), |b| {
            b.iter(|| black_box(t.lookup(black_box(&miss), |_| true)))
        });
        // A default SA under the spokes: misses become hits one level down.
        t.insert(
            vec![TrafficSelector::from_prefix(
                IpPrefix::new(v6(0, 0), 0).unwrap(),
            )],
            vec![TrafficSelector::from_prefix(
                IpPrefix::new(v6(0, 0), 0).unwrap(),
            )],
            u32::MAX,
        );
        c.bench_function(&format!("outbound_lookup_default/{n}"), |b| {
            b.iter(|| black_box(t.lookup(black_box(&miss), |_| true)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
