//! Micro-benchmarks for the per-handshake public-key and key-schedule work:
//! one side's KE (generate + complete) per group, and the symmetric work of
//! one IKE_SA_INIT + IKE_AUTH for one side (SKEYSEED, prf+, two AUTH
//! computations, one SK seal and one SK open).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use yadokari_crypto::auth::{PskAuth, SignedOctets};
use yadokari_crypto::ke;
use yadokari_crypto::keys::{IkeSaKeys, IkeSuite, Role};
use yadokari_crypto::rand::SystemRandom;
use yadokari_crypto::sk::EncrTransform;
use yadokari_crypto::{EncrAlgorithm, KeGroup, PrfAlgorithm};

fn bench_ke(c: &mut Criterion) {
    let mut rng = SystemRandom;
    for group in [
        KeGroup::Curve25519,
        KeGroup::Ecp256,
        KeGroup::Ecp384,
        KeGroup::Curve448,
        KeGroup::Modp2048,
    ] {
        if !group.is_supported() {
            continue;
        }
        let peer = ke::start(group, &mut rng)
            .expect("peer key")
            .public_value()
            .to_vec();
        c.bench_function(&format!("ke/{group:?}/start+complete"), |b| {
            b.iter(|| {
                let k = ke::start(group, &mut rng).expect("start");
                k.complete(&peer).expect("complete")
            });
        });
    }
}

/// The same X25519 work straight on aws-lc-rs, as the yardstick for the
/// wrapper's overhead.
fn bench_raw_x25519(c: &mut Criterion) {
    use aws_lc_rs::agreement::{agree, PrivateKey, UnparsedPublicKey, X25519};
    let peer = PrivateKey::generate(&X25519)
        .and_then(|k| k.compute_public_key())
        .expect("peer");
    let peer = peer.as_ref().to_vec();
    c.bench_function("ke/raw-aws-lc-x25519/generate+agree", |b| {
        b.iter(|| {
            let k = PrivateKey::generate(&X25519).expect("generate");
            let _public = k.compute_public_key().expect("public");
            agree(&k, UnparsedPublicKey::new(&X25519, &peer), (), |s| {
                Ok(s.to_vec())
            })
            .expect("agree")
        });
    });
}

fn bench_handshake_symmetric(c: &mut Criterion) {
    let suite = IkeSuite::new(
        EncrTransform::new(EncrAlgorithm::AesGcm16, Some(256)).expect("encr"),
        PrfAlgorithm::HmacSha2_256,
        None,
    )
    .expect("suite");
    let g_ir = [7u8; 32];
    let ni = [1u8; 32];
    let nr = [2u8; 32];
    let msg1 = vec![0x11u8; 300];
    let psk = PskAuth::new(PrfAlgorithm::HmacSha2_256, b"a pre-shared key").expect("psk");
    let mut rng = SystemRandom;
    c.bench_function("handshake/one-side-symmetric", |b| {
        b.iter_batched(
            || vec![0u8; 32 + 8 + 400],
            |mut msg| {
                let keys = IkeSaKeys::from_shared_secret(suite, &g_ir, &ni, &nr, &[3; 8], &[4; 8])
                    .expect("keys");
                let ours = SignedOctets::new(&keys, Role::Initiator, &msg1, &nr, b"\x02\0\0\0me")
                    .expect("octets");
                let _auth = psk.compute(&ours).expect("auth");
                let theirs =
                    SignedOctets::new(&keys, Role::Responder, &msg1, &ni, b"\x02\0\0\0peer")
                        .expect("octets");
                let _check = psk.compute(&theirs).expect("auth");
                let pair = keys.sk_ciphers(Role::Initiator).expect("ciphers");
                pair.outbound
                    .encrypt_vec(&mut msg, 32, &mut rng, |_| {})
                    .expect("seal");
                let peer = keys.sk_ciphers(Role::Responder).expect("ciphers");
                peer.inbound.decrypt_verify(&mut msg, 32).expect("open")
            },
            BatchSize::SmallInput,
        );
    });
}

criterion_group!(
    benches,
    bench_ke,
    bench_raw_x25519,
    bench_handshake_symmetric
);
criterion_main!(benches);
