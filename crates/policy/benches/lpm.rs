//! Longest-prefix lookup cost on the outbound hot path.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{criterion_group, criterion_main, Criterion};
use yadokari_policy::{IpPrefix, LpmTable};

/// Deterministic xorshift so runs compare.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn table(n: usize, seed: u64) -> LpmTable<u32> {
    let mut s = seed;
    let mut t = LpmTable::new();
    let lens4 = [8u8, 16, 20, 24, 28, 32];
    let lens6 = [32u8, 48, 56, 64, 128];
    for i in 0..n {
        let r = rng(&mut s);
        let l4 = lens4[(r % lens4.len() as u64) as usize];
        let _ = t.insert(
            IpPrefix::new(IpAddr::V4(Ipv4Addr::from(r as u32)), l4).unwrap(),
            i as u32,
        );
        let r6 = (u128::from(rng(&mut s)) << 64) | u128::from(rng(&mut s));
        let l6 = lens6[(r % lens6.len() as u64) as usize];
        let _ = t.insert(
            IpPrefix::new(IpAddr::V6(Ipv6Addr::from(r6)), l6).unwrap(),
            i as u32,
        );
    }
    t
}

fn bench(c: &mut Criterion) {
    for n in [16usize, 1024, 65536] {
        let t = table(n, 0x5eed);
        // Half of the probes hit inserted prefixes, half are random.
        let mut s = 0xfeed;
        let probes4: Vec<Ipv4Addr> = t
            .iter()
            .filter(|(p, _)| p.is_ipv4())
            .map(|(p, _)| p.addr())
            .filter_map(|a| match a {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            })
            .take(512)
            .chain((0..512).map(|_| Ipv4Addr::from(rng(&mut s) as u32)))
            .collect();
        let probes6: Vec<Ipv6Addr> = (0..1024)
            .map(|_| Ipv6Addr::from((u128::from(rng(&mut s)) << 64) | u128::from(rng(&mut s))))
            .collect();
        let mut i = 0usize;
        c.bench_function(&format!("lpm_v4_lookup/{n}"), |b| {
            b.iter(|| {
                i = (i + 1) % probes4.len();
                black_box(t.lookup_v4(black_box(probes4[i])))
            })
        });
        let mut j = 0usize;
        c.bench_function(&format!("lpm_v6_lookup/{n}"), |b| {
            b.iter(|| {
                j = (j + 1) % probes6.len();
                black_box(t.lookup_v6(black_box(probes6[j])))
            })
        });
        let compiled = t.compile();
        let mut k = 0usize;
        c.bench_function(&format!("compiled_v4_lookup/{n}"), |b| {
            b.iter(|| {
                k = (k + 1) % probes4.len();
                black_box(compiled.lookup_v4(black_box(probes4[k])))
            })
        });
        let mut m = 0usize;
        c.bench_function(&format!("compiled_v6_lookup/{n}"), |b| {
            b.iter(|| {
                m = (m + 1) % probes6.len();
                black_box(compiled.lookup_v6(black_box(probes6[m])))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
