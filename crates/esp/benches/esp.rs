//! Encapsulation and decapsulation throughput per algorithm and packet
//! size, next to the raw aws-lc-rs AEAD seal speed (the ceiling an AEAD
//! SA can reach).
//!
//! Run briefly with
//! `cargo bench -p yadokari-esp --bench esp -- --warm-up-time 1 --measurement-time 2`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use yadokari_esp::{
    Encryption, InboundConfig, InboundSa, Integrity, Mode, OutboundConfig, OutboundSa, Suite,
};

const SIZES: [usize; 4] = [64, 512, 1400, 8900];

const SUITES: [(&str, Encryption, Integrity); 6] = [
    ("aes128gcm", Encryption::AesGcm128, Integrity::None),
    ("aes256gcm", Encryption::AesGcm256, Integrity::None),
    (
        "chacha20poly1305",
        Encryption::ChaCha20Poly1305,
        Integrity::None,
    ),
    (
        "aes128cbc-sha256",
        Encryption::AesCbc128,
        Integrity::HmacSha256_128,
    ),
    (
        "aes256cbc-sha512",
        Encryption::AesCbc256,
        Integrity::HmacSha512_256,
    ),
    ("null-sha256", Encryption::Null, Integrity::HmacSha256_128),
];

fn sa_pair(enc: Encryption, integ: Integrity) -> (OutboundSa, InboundSa) {
    let suite = Suite::new(enc, integ).expect("valid suite");
    let ek = vec![0x42u8; suite.encryption_key_len()];
    let ak = vec![0x24u8; suite.integrity_key_len()];
    let out = OutboundSa::new(
        OutboundConfig::new(0x1000, suite, Mode::Transport),
        &ek,
        &ak,
    )
    .expect("outbound SA");
    let inb = InboundSa::new(InboundConfig::new(0x1000, suite, Mode::Transport), &ek, &ak)
        .expect("inbound SA");
    (out, inb)
}

fn bench_encap(c: &mut Criterion) {
    let mut g = c.benchmark_group("encap");
    for (name, enc, integ) in SUITES {
        for size in SIZES {
            let (mut out, _) = sa_pair(enc, integ);
            let head = out.headroom();
            let mut buf = vec![0x17u8; head + size + out.max_tailroom()];
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
                b.iter(|| {
                    let r = out.encap(black_box(&mut buf), head..head + size, 6);
                    black_box(r.expect("room and sequence numbers suffice"))
                })
            });
        }
    }
    g.finish();
}

fn bench_decap(c: &mut Criterion) {
    let mut g = c.benchmark_group("decap");
    for (name, enc, integ) in SUITES {
        for size in SIZES {
            let (mut out, mut inb) = sa_pair(enc, integ);
            let head = out.headroom();
            let mut buf = vec![0x17u8; head + size + out.max_tailroom()];
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
                // Each decap needs a fresh sequence number, so packets are
                // made (untimed) in the setup step.
                b.iter_batched_ref(
                    || {
                        let r = out.encap(&mut buf, head..head + size, 6).expect("encap");
                        buf[r.packet].to_vec()
                    },
                    |packet| black_box(inb.decap(packet).expect("authentic packet")),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

fn bench_raw_aead(c: &mut Criterion) {
    use aws_lc_rs::aead::{
        Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM, CHACHA20_POLY1305,
    };
    let mut g = c.benchmark_group("raw_aead_seal");
    for (name, alg) in [
        ("aes128gcm", &AES_128_GCM),
        ("aes256gcm", &AES_256_GCM),
        ("chacha20poly1305", &CHACHA20_POLY1305),
    ] {
        let key =
            LessSafeKey::new(UnboundKey::new(alg, &vec![0x42u8; alg.key_len()]).expect("key"));
        for size in SIZES {
            let mut buf = vec![0x17u8; size];
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter(|| {
                    let tag = key
                        .seal_in_place_separate_tag(
                            Nonce::assume_unique_for_key([7; 12]),
                            Aad::from([1u8; 8]),
                            black_box(&mut buf),
                        )
                        .expect("seal");
                    black_box(tag)
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_raw_aead, bench_encap, bench_decap);
criterion_main!(benches);
