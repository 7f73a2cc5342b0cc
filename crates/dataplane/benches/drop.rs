//! What one garbage datagram costs the inbound worker in user space once
//! the kernel has delivered it: forged-SPI ESP (the SPI lookup misses),
//! junk behind a non-ESP marker (the IKE header check fails before any
//! copy), runt datagrams, all counted and log-limited as the worker does.
//! Batches of 64 (one `recvmmsg`), 64 SAs installed.
//!
//! Run briefly with
//! `cargo bench -p yadokari-dataplane --bench drop -- --warm-up-time 1 --measurement-time 3`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use yadokari_dataplane::bench::DropPath;

const BATCH: usize = 64;

/// xorshift64*: garbage, reproducible.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
        })
        .collect()
}

fn cases() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let forged_spi = (0..BATCH as u64)
        .map(|i| {
            let mut d = garbage(i + 1, 1400);
            // Never zero (that is the non-ESP marker) and never installed.
            d[..4].copy_from_slice(&(0x2000_0000u32 + i as u32).to_be_bytes());
            d
        })
        .collect();
    let ike_junk = (0..BATCH as u64)
        .map(|i| {
            let mut d = garbage(i + 100, 300);
            d[..4].fill(0);
            d
        })
        .collect();
    let runts = (0..BATCH as u64).map(|i| garbage(i + 200, 5)).collect();
    vec![
        ("forged_spi_esp_1400B", forged_spi),
        ("ike_junk_300B", ike_junk),
        ("runt_5B", runts),
    ]
}

fn drop_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("inbound_drop");
    g.throughput(Throughput::Elements(BATCH as u64));
    for (name, mut dgrams) in cases() {
        let mut path = DropPath::new(64);
        assert_eq!(path.batch(&mut dgrams), BATCH as u64, "{name}: all dropped");
        g.bench_function(name, |b| {
            b.iter(|| black_box(path.batch(black_box(&mut dgrams))))
        });
        assert!(path.drops() > BATCH as u64);
    }
    g.finish();
}

criterion_group!(benches, drop_path);
criterion_main!(benches);
