//! End-to-end tests of the pipeline on captures built byte by byte, with
//! IKE messages emitted by `yadokari-wire`.

use std::net::Ipv6Addr;

use yadokari_wire::payload::{
    chain_to_vec, Id, Ke, Nonce, Notify, Payload, Proposal, Sa, Transform,
};
use yadokari_wire::registry::{
    EncrId, ExchangeType, IdType, IntegId, KeMethod, NotifyType, PayloadType, PrfId, ProtocolId,
    TransformType,
};
use yadokari_wire::{emit_encrypted, EncryptedKind, Flags, Header, Message};

use super::inspect;
use crate::capture::packet::tests::{ethernet, ipv4, ipv6, sll, sll2, udp};
use crate::capture::tests::{pcap, Ng};
use crate::capture::CaptureErrorKind;
use crate::ike::sk_open::tests::{keys, seal};
use crate::keys::{EncrAlg, IntegAlg, KeyTable};
use crate::record::Body;

const SPI_I: u64 = 0x1122_3344_5566_7788;
const SPI_R: u64 = 0x99aa_bbcc_ddee_ff00;

fn sa_init_request() -> Vec<u8> {
    let h = Header::new(
        SPI_I,
        0,
        ExchangeType::IKE_SA_INIT,
        Flags::new(true, false),
        0,
    );
    let sa = Sa::new(vec![Proposal::new(
        1,
        ProtocolId::IKE,
        Vec::new(),
        vec![
            Transform::with_key_length(TransformType::ENCR, EncrId::ENCR_AES_CBC, 256),
            Transform::new(TransformType::PRF, PrfId::PRF_HMAC_SHA2_256),
            Transform::new(TransformType::INTEG, IntegId::AUTH_HMAC_SHA2_256_128),
            Transform::new(TransformType::KE, KeMethod::CURVE25519),
        ],
    )]);
    Message::new(
        h,
        vec![
            Payload::Sa(sa),
            Payload::Ke(Ke::new(KeMethod::CURVE25519, vec![7u8; 32])),
            Payload::Nonce(Nonce::new(vec![9u8; 32])),
            Payload::Notify(Notify::nat_detection_source_ip([1; 20])),
            Payload::Notify(Notify::status(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)),
        ],
    )
    .to_vec()
    .unwrap()
}

fn v4_frame(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    ethernet(
        0x0800,
        &ipv4(
            [192, 0, 2, 1],
            [192, 0, 2, 2],
            17,
            &udp(sport, dport, payload),
            None,
        ),
    )
}

fn a6() -> Ipv6Addr {
    "2001:db8::1".parse().unwrap()
}
fn b6() -> Ipv6Addr {
    "2001:db8::2".parse().unwrap()
}

#[test]
fn lists_ike_on_500_and_4500_and_skips_the_rest() {
    let ike = sa_init_request();
    let mut marked = vec![0, 0, 0, 0];
    marked.extend_from_slice(&ike);
    let frames: Vec<Vec<u8>> = vec![
        ethernet(0x0806, &[0; 28]),                                  // 1 ARP
        v4_frame(500, 500, &ike),                                    // 2 IKE
        v4_frame(4500, 4500, &[0xFF]),                               // 3 keepalive
        v4_frame(4500, 4500, &[0, 0, 1, 2, 0, 0, 0, 1, 0xAA, 0xBB]), // 4 ESP
        v4_frame(53, 53, &ike),                                      // 5 DNS port
        v4_frame(4500, 4500, &marked),                               // 6 IKE after marker
    ];
    let recs: Vec<(u32, u32, &[u8])> = frames
        .iter()
        .map(|f| (1_700_000_000, 250_000, &f[..]))
        .collect();
    let r = inspect(&pcap(1, false, false, &recs), None);
    assert_eq!(r.error, None);
    assert_eq!(r.summary.frames, 6);
    assert_eq!((r.summary.esp, r.summary.keepalives), (1, 1));
    let m: Vec<_> = r
        .messages
        .iter()
        .map(|m| (m.frame, m.non_esp_marker))
        .collect();
    assert_eq!(m, vec![(2, false), (6, true)]);
    let first = &r.messages[0];
    assert_eq!(first.time.as_deref(), Some("2023-11-14T22:13:20.250000Z"));
    assert_eq!(first.src, "192.0.2.1:500");
    assert_eq!(first.ispi.as_deref(), Some("1122334455667788"));
    assert_eq!(first.rspi.as_deref(), Some("0000000000000000"));
    assert_eq!(first.exchange.as_deref(), Some("IKE_SA_INIT"));
    assert_eq!((first.initiator, first.response), (Some(true), Some(false)));
    assert_eq!(first.error, None);
    let names: Vec<&str> = first.payloads.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["SA", "KE", "Nonce", "Notify", "Notify"]);
    let v = serde_json::to_value(first).unwrap();
    assert_eq!(
        v["payloads"][0]["proposals"][0]["transforms"][0]["name"],
        "ENCR_AES_CBC"
    );
    assert_eq!(
        v["payloads"][0]["proposals"][0]["transforms"][0]["key_length"],
        256
    );
    assert_eq!(v["payloads"][1]["group"], 31);
    assert_eq!(v["payloads"][1]["data"], "07".repeat(32));
    assert_eq!(v["payloads"][3]["notify_name"], "NAT_DETECTION_SOURCE_IP");
    assert_eq!(v["payloads"][3]["decoded"]["hash"], "01".repeat(20));
}

#[test]
fn every_link_type_and_ipv6() {
    let ike = sa_init_request();
    let u = udp(500, 500, &ike);
    let ip4 = ipv4([192, 0, 2, 1], [192, 0, 2, 2], 17, &u, None);
    let ip6 = ipv6(a6(), b6(), 17, &[(0, vec![0, 0, 1, 4, 0, 0, 0, 0])], &u);
    for (link, frame, src) in [
        (1u32, ethernet(0x86DD, &ip6), "[2001:db8::1]:500"),
        (113, sll(0x0800, &ip4), "192.0.2.1:500"),
        (276, sll2(0x86DD, &ip6), "[2001:db8::1]:500"),
        (101, ip6.clone(), "[2001:db8::1]:500"),
        (228, ip4.clone(), "192.0.2.1:500"),
        (229, ip6.clone(), "[2001:db8::1]:500"),
        (12, ip4.clone(), "192.0.2.1:500"),
        (14, ip6.clone(), "[2001:db8::1]:500"),
    ] {
        let r = inspect(&pcap(link, true, true, &[(1, 2, &frame)]), None);
        assert_eq!(r.error, None, "link {link}");
        assert_eq!(r.messages.len(), 1, "link {link}");
        assert_eq!(r.messages[0].src, src);
        assert_eq!(
            r.messages[0].time.as_deref(),
            Some("1970-01-01T00:00:01.000000002Z")
        );
        assert_eq!(r.messages[0].payloads.len(), 5);
    }
}

#[test]
fn pcapng_two_interfaces_frame_numbers() {
    let ike = sa_init_request();
    let u = udp(500, 500, &ike);
    let mut ng = Ng::new(false);
    ng.idb(1, None);
    ng.idb(101, Some(9));
    ng.epb(0, 5, &ethernet(0x0806, &[0; 28]));
    ng.epb(1, 1_000_000_007, &ipv6(a6(), b6(), 17, &[], &u));
    ng.epb(0, 3_000_000, &v4_frame(500, 500, &ike));
    let r = inspect(&ng.bytes, None);
    assert_eq!(r.error, None);
    let f: Vec<_> = r
        .messages
        .iter()
        .map(|m| (m.frame, m.time.clone().unwrap()))
        .collect();
    assert_eq!(
        f,
        vec![
            (2, "1970-01-01T00:00:01.000000007Z".to_string()),
            (3, "1970-01-01T00:00:03.000000Z".to_string())
        ]
    );
}

#[test]
fn damaged_ike_is_an_error_object_and_listing_goes_on() {
    let good = sa_init_request();
    let mut bad = good.clone();
    // Corrupt the SA payload length (bytes 30..32 after the header).
    bad[30] = 0xFF;
    let short = &good[..20];
    let frames = [
        v4_frame(500, 500, &bad),
        v4_frame(500, 500, short),
        v4_frame(500, 500, &good),
    ];
    let recs: Vec<(u32, u32, &[u8])> = frames.iter().map(|f| (1, 0, &f[..])).collect();
    let r = inspect(&pcap(1, false, false, &recs), None);
    assert_eq!(r.error, None);
    assert_eq!(r.messages.len(), 3);
    let e0 = r.messages[0].error.as_deref().unwrap();
    assert!(e0.contains("payload_length"), "{e0}");
    assert_eq!(r.messages[0].ispi.as_deref(), Some("1122334455667788"));
    let e1 = r.messages[1].error.as_deref().unwrap();
    assert!(e1.starts_with("Header."), "{e1}");
    assert_eq!(r.messages[1].ispi, None);
    assert_eq!(r.messages[2].error, None);
    let v = serde_json::to_value(&r.messages[0]).unwrap();
    assert!(v["error"].is_string());
}

#[test]
fn damaged_file_keeps_what_was_read() {
    let f = v4_frame(500, 500, &sa_init_request());
    let file = pcap(1, false, false, &[(1, 0, &f), (2, 0, &f)]);
    let r = inspect(&file[..file.len() - 5], None);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.error.unwrap().kind, CaptureErrorKind::Truncated);
    let r = inspect(b"this is not a capture file at all", None);
    assert_eq!(r.error.unwrap().kind, CaptureErrorKind::NotACapture);
}

#[test]
fn ip_fragments_are_reassembled() {
    let ike = sa_init_request();
    let u = udp(500, 500, &ike);
    let (a, b) = ([192, 0, 2, 1], [192, 0, 2, 2]);
    let f1 = ethernet(0x0800, &ipv4(a, b, 17, &u[..64], Some((77, 0, true))));
    let f2 = ethernet(0x0800, &ipv4(a, b, 17, &u[64..], Some((77, 64, false))));
    // A lone first fragment whose other parts never come.
    let lone = ethernet(0x0800, &ipv4(a, b, 17, &u[..64], Some((78, 0, true))));
    let r = inspect(
        &pcap(1, false, false, &[(1, 0, &lone), (2, 0, &f1), (3, 0, &f2)]),
        None,
    );
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.messages[0].frame, 1);
    assert!(r.messages[0]
        .error
        .as_deref()
        .unwrap()
        .starts_with("IP-fragmented"));
    assert_eq!(
        r.messages[0].time.as_deref(),
        Some("1970-01-01T00:00:01.000000Z")
    );
    assert_eq!(r.messages[0].ispi.as_deref(), Some("1122334455667788"));
    assert_eq!(r.messages[1].frame, 3);
    assert_eq!(r.messages[1].ip_fragments, Some(vec![2, 3]));
    assert_eq!(r.messages[1].error, None);
    assert_eq!(r.messages[1].payloads.len(), 5);
    // IPv6 fragments too.
    let frag = |off: u16, more: bool| {
        vec![
            0,
            0,
            ((off / 8) >> 5) as u8,
            (((off / 8) << 3) as u8) | u8::from(more),
            0,
            0,
            0,
            5,
        ]
    };
    let g1 = ipv6(a6(), b6(), 17, &[(44, frag(0, true))], &u[..64]);
    let g2 = ipv6(a6(), b6(), 17, &[(44, frag(64, false))], &u[64..]);
    let r = inspect(&pcap(101, false, false, &[(1, 0, &g1), (2, 0, &g2)]), None);
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].frame, 2);
    assert_eq!(r.messages[0].payloads.len(), 5);
}

#[test]
fn truncated_capture_is_flagged() {
    let f = v4_frame(500, 500, &sa_init_request());
    let cut = &f[..f.len() - 10];
    let mut file = pcap(1, false, false, &[(1, 0, cut)]);
    // Original length says 10 more bytes were on the wire.
    let orig_at = 24 + 12;
    file[orig_at..orig_at + 4].copy_from_slice(&(f.len() as u32).to_le_bytes());
    let r = inspect(&file, None);
    assert_eq!(r.messages.len(), 1);
    assert!(r.messages[0].truncated);
    assert!(r.messages[0].error.is_some());
}

/// An IKE_AUTH request whose SK payload is sealed with `k`.
fn sk_message(
    k: &crate::keys::SaKeys,
    from_i: bool,
    kind: EncryptedKind,
    inner: &[u8],
    first: PayloadType,
    mid: u32,
) -> Vec<u8> {
    let h = Header::new(
        SPI_I,
        SPI_R,
        ExchangeType::IKE_AUTH,
        Flags::new(from_i, !from_i),
        mid,
    );
    let body_len = seal(k, from_i, &[0u8; 40], inner).len();
    let mut out = Vec::new();
    let layout = emit_encrypted(&h, &[], kind, first, body_len, &mut out).unwrap();
    let body = seal(k, from_i, &out[..layout.body.start], inner);
    out[layout.body.clone()].copy_from_slice(&body);
    out
}

fn table_for(k: &crate::keys::SaKeys) -> KeyTable {
    KeyTable::parse(&format!(
        "{:016x},{:016x},{},{},\"{}\",{},{},\"{}\"\n",
        k.spi_i,
        k.spi_r,
        hex::encode(&*k.sk_ei),
        hex::encode(&*k.sk_er),
        k.encr,
        hex::encode(&*k.sk_ai),
        hex::encode(&*k.sk_ar),
        k.integ
    ))
    .unwrap()
}

#[test]
fn sk_payloads_are_decrypted_with_keys() {
    for (e, i) in [
        (EncrAlg::AesCbc { bits: 256 }, IntegAlg::HmacSha256_128),
        (EncrAlg::AesGcm { bits: 256, icv: 16 }, IntegAlg::None),
        (EncrAlg::ChaCha20Poly1305, IntegAlg::None),
    ] {
        let k = keys(e, i);
        let (first, inner) = chain_to_vec(&[
            Payload::IdI(Id::new(IdType::ID_FQDN, b"carol.example".to_vec())),
            Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT)),
        ])
        .unwrap();
        let req = sk_message(&k, true, EncryptedKind::Sk, &inner, first, 1);
        let (first_r, inner_r) = chain_to_vec(&[Payload::Notify(Notify::new(
            NotifyType::AUTHENTICATION_FAILED,
            Vec::new(),
        ))])
        .unwrap();
        let resp = sk_message(&k, false, EncryptedKind::Sk, &inner_r, first_r, 1);
        let file = pcap(
            1,
            false,
            false,
            &[
                (1, 0, &v4_frame(4500, 4500, &[&[0u8; 4][..], &req].concat())),
                (2, 0, &v4_frame(500, 500, &resp)),
            ],
        );
        // Without keys: SK is listed, nothing inside.
        let r = inspect(&file, None);
        let Body::Encrypted(enc) = &r.messages[0].payloads[0].body else {
            panic!()
        };
        assert_eq!(enc.inner, None);
        assert_eq!(enc.decrypt_error, None);
        assert_eq!(r.messages[0].payloads[0].name, "SK");
        // With keys.
        let t = table_for(&k);
        let r = inspect(&file, Some(&t));
        assert_eq!(r.messages[0].error, None, "{e}");
        let Body::Encrypted(enc) = &r.messages[0].payloads[0].body else {
            panic!()
        };
        assert_eq!(enc.integrity_checked, Some(true));
        let inner: Vec<&str> = enc
            .inner
            .as_ref()
            .unwrap()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(inner, ["IDi", "Notify"], "{e}");
        let v = serde_json::to_value(&r.messages[0]).unwrap();
        assert_eq!(v["payloads"][0]["inner"][0]["id"], "carol.example");
        assert_eq!(v["payloads"][0]["inner"][0]["id_type_name"], "ID_FQDN");
        let v = serde_json::to_value(&r.messages[1]).unwrap();
        assert_eq!(
            v["payloads"][0]["inner"][0]["notify_name"],
            "AUTHENTICATION_FAILED"
        );
        // Wrong keys: an error on the SK payload, not a crash.
        let mut wrong = keys(e, i);
        wrong.sk_ei[0] ^= 1;
        wrong.sk_er[0] ^= 1;
        wrong.sk_ai.iter_mut().for_each(|b| *b ^= 1);
        wrong.sk_ar.iter_mut().for_each(|b| *b ^= 1);
        let r = inspect(&file, Some(&table_for(&wrong)));
        let Body::Encrypted(enc) = &r.messages[0].payloads[0].body else {
            panic!()
        };
        assert!(enc.decrypt_error.is_some(), "{e}");
    }
}

#[test]
fn skf_fragments_are_decrypted_and_reassembled() {
    let k = keys(EncrAlg::AesGcm { bits: 128, icv: 16 }, IntegAlg::None);
    let (first, inner) = chain_to_vec(&[
        Payload::IdI(Id::new(
            IdType::ID_FQDN,
            b"a-rather-long-identity.example".to_vec(),
        )),
        Payload::Nonce(Nonce::new(vec![3u8; 40])),
    ])
    .unwrap();
    let cut = inner.len() / 2;
    let f1 = sk_message(
        &k,
        true,
        EncryptedKind::Skf {
            fragment_number: 1,
            total_fragments: 2,
        },
        &inner[..cut],
        first,
        1,
    );
    let f2 = sk_message(
        &k,
        true,
        EncryptedKind::Skf {
            fragment_number: 2,
            total_fragments: 2,
        },
        &inner[cut..],
        PayloadType::NO_NEXT_PAYLOAD,
        1,
    );
    // Out of order: fragment 2 first.
    let file = pcap(
        1,
        false,
        false,
        &[
            (1, 0, &v4_frame(500, 500, &f2)),
            (2, 0, &v4_frame(500, 500, &f1)),
        ],
    );
    let t = table_for(&k);
    let r = inspect(&file, Some(&t));
    assert_eq!(r.messages.len(), 2);
    let Body::Encrypted(e2) = &r.messages[0].payloads[0].body else {
        panic!()
    };
    assert_eq!((e2.fragment_number, e2.total_fragments), (Some(2), Some(2)));
    assert_eq!(
        e2.decrypted.as_deref(),
        Some(hex::encode(&inner[cut..]).as_str())
    );
    assert_eq!(e2.reassembled, None);
    let Body::Encrypted(e1) = &r.messages[1].payloads[0].body else {
        panic!()
    };
    let names: Vec<&str> = e1
        .reassembled
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["IDi", "Nonce"]);
    assert_eq!(r.messages[1].payloads[0].name, "SKF");
    let v = serde_json::to_value(&r.messages[1]).unwrap();
    assert_eq!(v["payloads"][0]["fragment_number"], 1);
    assert_eq!(v["payloads"][0]["total_fragments"], 2);
}
