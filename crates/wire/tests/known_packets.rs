//! Byte-exact messages built by hand from the RFC 7296 §3 layouts: parse
//! them, check every field, build the same message with the API and compare
//! bytes.

mod common;

use std::net::{IpAddr, Ipv4Addr};

use yadokari_wire::message::{emit_encrypted, EncryptedKind, EncryptedLayout};
use yadokari_wire::payload::*;
use yadokari_wire::registry::*;
use yadokari_wire::{Header, Message, WireErrorKind};

#[test]
fn ike_sa_init_request_parse() {
    let bytes = common::ike_sa_init_request_bytes();
    assert_eq!(bytes.len(), 240);
    let m = Message::parse(&bytes).unwrap();
    assert_eq!(m.header.spi_i, 0x0011223344556677);
    assert_eq!(m.header.exchange_type, ExchangeType::IKE_SA_INIT);
    assert!(m.header.flags.initiator());
    assert_eq!(m.header.length, 240);
    assert_eq!(m.payloads.len(), 5);
    let Payload::Sa(sa) = &m.payloads[0] else {
        panic!("not SA: {:?}", m.payloads[0])
    };
    assert_eq!(sa.proposals.len(), 1);
    let p = &sa.proposals[0];
    assert_eq!(
        (p.number, p.protocol_id, p.spi.len()),
        (1, ProtocolId::IKE, 0)
    );
    assert_eq!(p.transforms.len(), 4);
    assert_eq!(p.transforms[0].transform_type, TransformType::ENCR);
    assert_eq!(p.transforms[0].transform_id, EncrId::ENCR_AES_CBC.0);
    assert_eq!(p.transforms[0].key_length(), Some(128));
    assert_eq!(p.transforms[0].id_name(), Some("ENCR_AES_CBC"));
    assert_eq!(p.transforms[3].id_name(), Some("256-bit random ECP group"));
    let Payload::Ke(ke) = &m.payloads[1] else {
        panic!()
    };
    assert_eq!(ke.group, KeMethod::ECP_256);
    assert_eq!(ke.data.len(), 64);
    let Payload::Nonce(n) = &m.payloads[2] else {
        panic!()
    };
    assert_eq!(&n.data[..], &[0xa5; 32]);
    let nat_s = m.notify(NotifyType::NAT_DETECTION_SOURCE_IP).unwrap();
    assert_eq!(nat_s.body().unwrap(), NotifyBody::NatDetection([0x11; 20]));
    let nat_d = m.notify(NotifyType::NAT_DETECTION_DESTINATION_IP).unwrap();
    assert_eq!(nat_d.body().unwrap(), NotifyBody::NatDetection([0x22; 20]));
    assert_eq!(m.unsupported_critical(), None);
}

#[test]
fn ike_sa_init_request_emit_is_byte_exact() {
    assert_eq!(
        common::ike_sa_init_request().to_vec().unwrap(),
        common::ike_sa_init_request_bytes()
    );
}

#[test]
fn parse_emit_reproduces_input() {
    for s in common::samples() {
        let m = Message::parse(&s).unwrap();
        assert_eq!(m.to_vec().unwrap(), s);
    }
}

#[test]
fn raw_payload_offsets() {
    let bytes = common::ike_sa_init_request_bytes();
    let raw = Message::raw_payloads(&bytes).unwrap();
    let offsets: Vec<usize> = raw.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, [28, 76, 148, 184, 212]);
    assert_eq!(raw[1].payload_type, PayloadType::KE);
    assert_eq!(raw[1].next_payload, PayloadType::NONCE);
    assert_eq!(raw[1].body.len(), 68);
}

#[test]
fn error_names_field_and_offset() {
    let mut bytes = common::ike_sa_init_request_bytes();
    // Make the first transform claim 64 bytes: it now overruns its proposal.
    bytes[28 + 4 + 8 + 3] = 0x40;
    let e = Message::parse(&bytes).unwrap_err();
    assert_eq!(e.field, "transform_length");
    assert_eq!(e.offset, 28 + 4 + 8 + 2);
    assert_eq!(e.payload_type(), Some(PayloadType::SA));
    assert!(
        e.to_string()
            .starts_with("SA.Transform.transform_length at byte 42: "),
        "{e}"
    );
}

#[test]
fn notify_error_display() {
    // A Notify whose SPI size says 4 but only 2 bytes follow.
    let mut m = Message::new(
        Header::new(1, 2, ExchangeType::INFORMATIONAL, Default::default(), 0),
        vec![Payload::Notify(Notify::new(
            NotifyType::INVALID_SPI,
            Vec::new(),
        ))],
    )
    .to_vec()
    .unwrap();
    m[28 + 5] = 4;
    m.extend_from_slice(&[0xaa, 0xbb]);
    m[31] = 10; // payload length 10
    m[27] = 38; // message length
    let e = Message::parse(&m).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Notify.spi at byte 36: truncated: need 4 bytes, 2 available"
    );
}

#[test]
fn unknown_critical_payload_is_reported_with_its_type() {
    let m = Message::new(
        Header::new(1, 2, ExchangeType::INFORMATIONAL, Default::default(), 0),
        vec![
            Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT)),
            Payload::Other {
                payload_type: PayloadType(99),
                critical: true,
                body: vec![1].into(),
            },
        ],
    );
    let bytes = m.to_vec().unwrap();
    assert_eq!(bytes[28 + 8 + 1], 0x80, "critical bit emitted");
    let parsed = Message::parse(&bytes).unwrap();
    assert_eq!(parsed.unsupported_critical(), Some(PayloadType(99)));
    let e = decode_chain_strict(PayloadType::NOTIFY, &bytes[28..], 28).unwrap_err();
    assert_eq!(
        e.kind,
        WireErrorKind::UnsupportedCriticalPayload(PayloadType(99))
    );
    assert_eq!(e.unsupported_critical_payload(), Some(PayloadType(99)));
    assert_eq!(e.offset, 28 + 8 + 1);
}

#[test]
fn sk_emit_layout_and_locate() {
    let inner = common::ike_auth_inner();
    let (first, plain) = chain_to_vec(&inner).unwrap();
    assert_eq!(first, PayloadType::IDI);
    assert_eq!(decode_chain(first, &plain, 0).unwrap(), inner);

    let header = Header::new(
        9,
        10,
        ExchangeType::IKE_AUTH,
        yadokari_wire::Flags::new(true, false),
        1,
    );
    let (iv_len, icv_len) = (16, 16);
    let ct_len = plain.len().div_ceil(16) * 16;
    let mut out = vec![0xff; 3]; // emitting after existing bytes
    let l = emit_encrypted(
        &header,
        &[],
        EncryptedKind::Sk,
        first,
        iv_len + ct_len + icv_len,
        &mut out,
    )
    .unwrap();
    let msg = &mut out[3..];
    assert_eq!(l.message_len, msg.len());
    assert_eq!(l.payload_offset, 28);
    assert_eq!(l.aad(), 0..32);
    assert_eq!(l.iv(iv_len), 32..48);
    assert_eq!(l.ciphertext(iv_len, icv_len), 48..48 + ct_len);
    assert_eq!(l.icv(icv_len), 48 + ct_len..msg.len());
    assert_eq!(l.integrity(icv_len), 0..48 + ct_len);
    msg[l.body.clone()].fill(0x33);
    assert_eq!(EncryptedLayout::locate(msg).unwrap(), Some(l.clone()));
    let m = Message::parse(msg).unwrap();
    assert_eq!(m.header.next_payload, PayloadType::SK);
    let Payload::Sk(sk) = &m.payloads[0] else {
        panic!()
    };
    assert_eq!(sk.first_inner, PayloadType::IDI);
    let parts = sk.split(iv_len, icv_len).unwrap();
    assert_eq!(
        (parts.iv.len(), parts.ciphertext.len(), parts.icv.len()),
        (16, ct_len, 16)
    );
    assert!(sk.split(200, 200).is_err());
}

#[test]
fn skf_emit_with_outer_payload() {
    let header = Header::new(
        9,
        10,
        ExchangeType::IKE_AUTH,
        yadokari_wire::Flags::new(true, false),
        1,
    );
    let outer = [Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT))];
    let kind = EncryptedKind::Skf {
        fragment_number: 2,
        total_fragments: 3,
    };
    let mut out = Vec::new();
    let l = emit_encrypted(
        &header,
        &outer,
        kind,
        PayloadType::NO_NEXT_PAYLOAD,
        40,
        &mut out,
    )
    .unwrap();
    assert_eq!(l.payload_offset, 36);
    assert_eq!(l.aad(), 0..44);
    assert_eq!(EncryptedLayout::locate(&out).unwrap(), Some(l));
    let m = Message::parse(&out).unwrap();
    assert_eq!(m.payloads.len(), 2);
    let Payload::Skf(f) = &m.payloads[1] else {
        panic!()
    };
    assert_eq!(
        (f.fragment_number, f.total_fragments, f.body.len()),
        (2, 3, 40)
    );
    let bad = EncryptedKind::Skf {
        fragment_number: 4,
        total_fragments: 3,
    };
    assert!(emit_encrypted(&header, &[], bad, PayloadType::IDI, 8, &mut Vec::new()).is_err());
}

#[test]
fn sk_must_be_last() {
    let m = Message::new(
        Header::new(1, 2, ExchangeType::INFORMATIONAL, Default::default(), 0),
        vec![
            Payload::Sk(Sk::new(PayloadType::NOTIFY, vec![0; 8])),
            Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT)),
        ],
    );
    assert_eq!(m.to_vec().unwrap_err().kind, WireErrorKind::NotLast);
    // Hand-build: SK followed by a Notify.
    let mut ok = Message::new(m.header, vec![m.payloads[1].clone(), m.payloads[0].clone()])
        .to_vec()
        .unwrap();
    // Swap order by re-emitting the SK first and appending the notify bytes.
    let notify = ok[28..36].to_vec();
    let sk = ok[36..].to_vec();
    ok.truncate(28);
    ok[16] = PayloadType::SK.0;
    ok.extend_from_slice(&sk);
    ok.extend_from_slice(&notify);
    let e = Message::parse(&ok).unwrap_err();
    assert_eq!(e.kind, WireErrorKind::NotLast);
}

#[test]
fn typed_views() {
    let id = Id::ipv4(Ipv4Addr::new(192, 0, 2, 1));
    assert_eq!(id.value(), IdValue::Ipv4(Ipv4Addr::new(192, 0, 2, 1)));
    assert_eq!(id.body_bytes(), [1, 0, 0, 0, 192, 0, 2, 1]);
    assert_eq!(Id::fqdn("a.example").value(), IdValue::Fqdn("a.example"));
    assert_eq!(
        Id::new(IdType::ID_IPV4_ADDR, vec![1, 2, 3]).value(),
        IdValue::Other(&[1, 2, 3])
    );

    let a = Auth::digital_signature(&[0x30, 0x0a], &[1, 2, 3]).unwrap();
    assert_eq!(&a.data[..], &[2, 0x30, 0x0a, 1, 2, 3]);
    let s = a.signature_data(0).unwrap();
    assert_eq!(
        (s.algorithm_identifier, s.signature),
        (&[0x30, 0x0a][..], &[1, 2, 3][..])
    );
    assert!(Auth::new(AuthMethod::DIGITAL_SIGNATURE, vec![9, 1])
        .signature_data(0)
        .is_err());

    let ts = TsRange::icmp(
        58,
        (128, 0),
        (129, 255),
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V4(Ipv4Addr::BROADCAST),
    );
    assert_eq!(ts.icmp_start(), Some((128, 0)));
    assert_eq!(ts.icmp_end(), Some((129, 255)));
    assert_eq!(TsRange::all_v4().icmp_start(), None);

    let d = Delete::child(ProtocolId::ESP, &[1, 2]);
    assert_eq!(d.spis_u32(), Some(vec![1, 2]));
    assert_eq!(Notify::rekey_sa(ProtocolId::ESP, 77).spi_u32(), Some(77));
    assert_eq!(
        Notify::invalid_ke_payload(KeMethod::CURVE25519)
            .body()
            .unwrap(),
        NotifyBody::InvalidKePayload(KeMethod::CURVE25519)
    );
    assert_eq!(
        Notify::set_window_size(5).body().unwrap(),
        NotifyBody::SetWindowSize(5)
    );
    let r = Notify::redirect(GatewayIdType::IPV4_ADDR, &[192, 0, 2, 9], &[1; 16]).unwrap();
    assert_eq!(
        r.body().unwrap(),
        NotifyBody::Redirect {
            gw_type: GatewayIdType::IPV4_ADDR,
            gw: &[192, 0, 2, 9],
            nonce: &[1; 16]
        }
    );
    assert_eq!(
        NotifyBody::Redirect {
            gw_type: GatewayIdType::IPV4_ADDR,
            gw: &[192, 0, 2, 9],
            nonce: &[1; 16]
        }
        .to_data(),
        &r.data[..]
    );
    let rf = Notify::redirected_from(GatewayIdType::FQDN, b"gw").unwrap();
    assert_eq!(
        rf.body().unwrap(),
        NotifyBody::RedirectedFrom {
            gw_type: GatewayIdType::FQDN,
            gw: b"gw"
        }
    );
    assert_eq!(
        Notify::signature_hash_algorithms(&[HashAlgorithm::SHA2_384])
            .body()
            .unwrap(),
        NotifyBody::SignatureHashAlgorithms(vec![HashAlgorithm::SHA2_384])
    );
    assert_eq!(
        Notify::status(NotifyType::MOBIKE_SUPPORTED).body().unwrap(),
        NotifyBody::Empty
    );
    assert!(Notify::new(NotifyType::MOBIKE_SUPPORTED, vec![1])
        .body()
        .is_err());
    assert!(Notify::new(NotifyType::COOKIE, Vec::new()).body().is_err());
    assert!(Notify::new(NotifyType::COOKIE, vec![0; 65]).body().is_err());
    assert_eq!(
        Notify::cookie(vec![1; 8]).body().unwrap(),
        NotifyBody::Cookie(&[1; 8])
    );
    assert_eq!(
        Notify::new(NotifyType(40000), vec![5]).body().unwrap(),
        NotifyBody::Opaque(&[5])
    );
    assert_eq!(
        Notify::additional_ip4(Ipv4Addr::new(198, 51, 100, 7))
            .body()
            .unwrap(),
        NotifyBody::AdditionalIp4(Ipv4Addr::new(198, 51, 100, 7))
    );
    let e = Notify::new(NotifyType::NAT_DETECTION_SOURCE_IP, vec![0; 19])
        .body_at(100)
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Notify(NAT_DETECTION_SOURCE_IP).notification_data at byte 100: bad length 19"
    );

    let c = ConfigAttribute::ipv6_prefix(
        ConfigAttributeType::INTERNAL_IP6_ADDRESS,
        "2001:db8::1".parse().unwrap(),
        64,
    );
    assert_eq!(
        c.as_ipv6_prefix(),
        Some(("2001:db8::1".parse().unwrap(), 64))
    );
}

#[test]
fn registry_names() {
    assert_eq!(
        NotifyType::USE_ASSIGNED_HoA.name(),
        Some("USE_ASSIGNED_HoA")
    );
    assert_eq!(
        NotifyType(16430).name(),
        Some("IKEV2_FRAGMENTATION_SUPPORTED")
    );
    assert_eq!(NotifyType(16441), NotifyType::ADDITIONAL_KEY_EXCHANGE);
    assert_eq!(format!("{:?}", NotifyType(12345)), "NotifyType(12345)");
    assert_eq!(format!("{:?}", ExchangeType::IKE_AUTH), "IKE_AUTH(35)");
    assert_eq!(ExchangeType::IKE_INTERMEDIATE.0, 43);
    assert_eq!(ExchangeType::IKE_FOLLOWUP_KE.0, 44);
    assert_eq!(PayloadType::SKF.0, 53);
    assert_eq!(PayloadType::IDI.name(), Some("IDi"));
    assert_eq!(AuthMethod(14).name(), Some("Digital Signature"));
    assert_eq!(KeMethod::ML_KEM_768.0, 36);
    assert_eq!(TsType::TS_IPV6_ADDR_RANGE.0, 8);
    assert_eq!(ConfigAttributeType::INTERNAL_DNS_DOMAIN.0, 25);
    assert!(NotifyType::TS_UNACCEPTABLE.is_error());
    assert!(NotifyType::COOKIE.is_status());
    assert_eq!(TransformType::ADDKE7.0, 12);
    assert_eq!(TransformType::ADDKE3.id_name(37), Some("ml-kem-1024"));
    // KNOWN lists every named value exactly once and in ascending order.
    for w in NotifyType::KNOWN.windows(2) {
        assert!(w[0].0 < w[1].0, "{:?} {:?}", w[0], w[1]);
    }
}
