//! Parse and re-emit a typical IKE_AUTH request: the plaintext payload chain
//! (IDi, N(INITIAL_CONTACT), IDr, AUTH, CP, SA, TSi, TSr, three notifies) as
//! it sits inside SK, and the SK-wrapped message on the wire.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yadokari_wire::message::{emit_encrypted, EncryptedKind};
use yadokari_wire::payload::*;
use yadokari_wire::registry::*;
use yadokari_wire::{Flags, Header, Message};

fn inner() -> Vec<Payload<'static>> {
    let v4 = |a: [u8; 4]| IpAddr::V4(Ipv4Addr::from(a));
    vec![
        Payload::IdI(Id::new(IdType::ID_FQDN, b"client.example.com".to_vec())),
        Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT)),
        Payload::IdR(Id::new(IdType::ID_FQDN, b"gw.example.com".to_vec())),
        Payload::Auth(Auth::new(AuthMethod::SHARED_KEY_MIC, vec![0x5a; 32])),
        Payload::Cp(Cp::new(
            CfgType::CFG_REQUEST,
            vec![
                ConfigAttribute::request(ConfigAttributeType::INTERNAL_IP4_ADDRESS),
                ConfigAttribute::request(ConfigAttributeType::INTERNAL_IP4_DNS),
            ],
        )),
        Payload::Sa(Sa::new(vec![
            Proposal::new(
                1,
                ProtocolId::ESP,
                vec![0xc0, 0x01, 0x02, 0x03],
                vec![
                    Transform::with_key_length(TransformType::ENCR, EncrId::ENCR_AES_GCM_16, 256),
                    Transform::new(TransformType::ESN, EsnId::NO_ESN),
                ],
            ),
            Proposal::new(
                2,
                ProtocolId::ESP,
                vec![0xc0, 0x01, 0x02, 0x03],
                vec![
                    Transform::with_key_length(TransformType::ENCR, EncrId::ENCR_AES_CBC, 128),
                    Transform::new(TransformType::INTEG, IntegId::AUTH_HMAC_SHA2_256_128),
                    Transform::new(TransformType::ESN, EsnId::NO_ESN),
                ],
            ),
        ])),
        Payload::TsI(TrafficSelectors::ranges([TsRange::any(
            v4([192, 0, 2, 0]),
            v4([192, 0, 2, 255]),
        )])),
        Payload::TsR(TrafficSelectors::ranges([TsRange::any(
            v4([198, 51, 100, 0]),
            v4([198, 51, 100, 255]),
        )])),
        Payload::Notify(Notify::status(NotifyType::MOBIKE_SUPPORTED)),
        Payload::Notify(Notify::status(NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED)),
        Payload::Notify(Notify::status(NotifyType::NON_FIRST_FRAGMENTS_ALSO)),
    ]
}

fn bench(c: &mut Criterion) {
    let header = Header::new(
        0x1122334455667788,
        0x99aabbccddeeff00,
        ExchangeType::IKE_AUTH,
        Flags::new(true, false),
        1,
    );
    let plain_msg = Message::new(header, inner()).to_vec().unwrap();
    let (first, chain) = chain_to_vec(&inner()).unwrap();
    let body_len = 16 + chain.len().div_ceil(16) * 16 + 16;
    let mut sk_msg = Vec::new();
    emit_encrypted(
        &header,
        &[],
        EncryptedKind::Sk,
        first,
        body_len,
        &mut sk_msg,
    )
    .unwrap();

    let mut g = c.benchmark_group("ike_auth");
    g.throughput(Throughput::Bytes(plain_msg.len() as u64));
    g.bench_function("parse_plaintext_message", |b| {
        b.iter(|| Message::parse(black_box(&plain_msg)).unwrap())
    });
    let mut out = Vec::with_capacity(1024);
    g.bench_function("parse_emit_plaintext_message", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&plain_msg)).unwrap();
            out.clear();
            m.emit(&mut out).unwrap();
            black_box(out.len())
        })
    });
    g.bench_function("parse_emit_inner_chain", |b| {
        b.iter(|| {
            let ps = decode_chain(first, black_box(&chain), 0).unwrap();
            out.clear();
            let mut w = yadokari_wire::codec::Writer::new(&mut out, yadokari_wire::Context::Chain);
            emit_chain(&ps, &mut w).unwrap();
            black_box(out.len())
        })
    });
    g.throughput(Throughput::Bytes(sk_msg.len() as u64));
    g.bench_function("parse_emit_sk_message", |b| {
        b.iter(|| {
            let m = Message::parse(black_box(&sk_msg)).unwrap();
            let Payload::Sk(sk) = &m.payloads[0] else {
                unreachable!()
            };
            let l = sk.body.len();
            out.clear();
            emit_encrypted(
                &m.header,
                &[],
                EncryptedKind::Sk,
                sk.first_inner,
                l,
                &mut out,
            )
            .unwrap();
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
