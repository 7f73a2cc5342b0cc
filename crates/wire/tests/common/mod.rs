//! Shared test support: proptest strategies for every IKEv2 payload and a
//! few hand-built sample messages.
#![allow(dead_code)]

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::collection::vec;
use proptest::prelude::*;
use yadokari_wire::payload::*;
use yadokari_wire::registry::*;
use yadokari_wire::{Flags, Header, Message};

pub fn bytes(max: usize) -> impl Strategy<Value = Bytes<'static>> {
    vec(any::<u8>(), 0..=max).prop_map(Cow::Owned)
}

fn bytes_range(min: usize, max: usize) -> impl Strategy<Value = Bytes<'static>> {
    vec(any::<u8>(), min..=max).prop_map(Cow::Owned)
}

pub fn attribute() -> impl Strategy<Value = TransformAttribute<'static>> {
    (
        0u16..=0x7fff,
        prop_oneof![
            any::<u16>().prop_map(AttributeValue::Tv),
            bytes(8).prop_map(AttributeValue::Tlv)
        ],
    )
        .prop_map(|(t, value)| TransformAttribute {
            attribute_type: TransformAttributeType(t),
            value,
        })
}

pub fn transform() -> impl Strategy<Value = Transform<'static>> {
    (any::<u8>(), any::<u16>(), vec(attribute(), 0..3)).prop_map(|(t, id, attributes)| Transform {
        transform_type: TransformType(t),
        transform_id: id,
        attributes,
    })
}

pub fn proposal() -> impl Strategy<Value = Proposal<'static>> {
    (any::<u8>(), any::<u8>(), bytes(8), vec(transform(), 0..6)).prop_map(
        |(n, p, spi, transforms)| Proposal {
            number: n,
            protocol_id: ProtocolId(p),
            spi,
            transforms,
        },
    )
}

pub fn sa() -> impl Strategy<Value = Sa<'static>> {
    vec(proposal(), 0..4).prop_map(|proposals| Sa { proposals })
}

fn ip_pair() -> impl Strategy<Value = (IpAddr, IpAddr)> {
    prop_oneof![
        (any::<u32>(), any::<u32>())
            .prop_map(|(a, b)| (IpAddr::V4(Ipv4Addr::from(a)), IpAddr::V4(Ipv4Addr::from(b)))),
        (any::<u128>(), any::<u128>())
            .prop_map(|(a, b)| (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))),
    ]
}

pub fn selector() -> impl Strategy<Value = TrafficSelector<'static>> {
    prop_oneof![
        4 => (any::<u8>(), any::<u16>(), any::<u16>(), ip_pair()).prop_map(|(p, s, e, (a, b))| {
            TrafficSelector::Range(TsRange { ip_protocol: p, start_port: s, end_port: e, start_addr: a, end_addr: b })
        }),
        1 => bytes(16).prop_map(TrafficSelector::SecLabel),
        1 => (any::<u8>().prop_filter("typed", |t| !matches!(t, 7 | 8 | 10)), any::<u8>(), bytes(12))
            .prop_map(|(t, s, data)| TrafficSelector::Other { ts_type: TsType(t), second_octet: s, data }),
    ]
}

pub fn selectors() -> impl Strategy<Value = TrafficSelectors<'static>> {
    vec(selector(), 0..5).prop_map(|selectors| TrafficSelectors { selectors })
}

pub fn notify() -> impl Strategy<Value = Notify<'static>> {
    (any::<u8>(), bytes(8), any::<u16>(), bytes(40)).prop_map(|(p, spi, t, data)| Notify {
        protocol_id: ProtocolId(p),
        spi,
        notify_type: NotifyType(t),
        data,
    })
}

pub fn delete() -> impl Strategy<Value = Delete<'static>> {
    prop_oneof![
        any::<u8>().prop_map(|p| Delete {
            protocol_id: ProtocolId(p),
            spi_size: 0,
            spis: Vec::new()
        }),
        (any::<u8>(), 1u8..=8).prop_flat_map(|(p, size)| {
            vec(vec(any::<u8>(), size as usize).prop_map(Cow::Owned), 0..6).prop_map(move |spis| {
                Delete {
                    protocol_id: ProtocolId(p),
                    spi_size: size,
                    spis,
                }
            })
        }),
    ]
}

pub fn config_attribute() -> impl Strategy<Value = ConfigAttribute<'static>> {
    (0u16..=0x7fff, bytes(20)).prop_map(|(t, value)| ConfigAttribute {
        attribute_type: ConfigAttributeType(t),
        value,
    })
}

pub fn eap() -> impl Strategy<Value = Eap<'static>> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u8>(), bytes(30)).prop_map(|(c, id, t, data)| Eap {
            code: EapCode(c),
            identifier: id,
            eap_type: Some(t),
            data,
        }),
        (
            any::<u8>().prop_filter("needs type", |c| !matches!(c, 1 | 2)),
            any::<u8>()
        )
            .prop_map(|(c, id)| Eap {
                code: EapCode(c),
                identifier: id,
                eap_type: None,
                data: Cow::Borrowed(&[]),
            }),
    ]
}

/// Every payload type except SK/SKF (which must be last).
pub fn inner_payload() -> impl Strategy<Value = Payload<'static>> {
    prop_oneof![
        sa().prop_map(Payload::Sa),
        (any::<u16>(), bytes(40)).prop_map(|(g, data)| Payload::Ke(Ke {
            group: KeMethod(g),
            data
        })),
        (any::<u8>(), bytes(24)).prop_map(|(t, data)| Payload::IdI(Id {
            id_type: IdType(t),
            data
        })),
        (any::<u8>(), bytes(24)).prop_map(|(t, data)| Payload::IdR(Id {
            id_type: IdType(t),
            data
        })),
        (any::<u8>(), bytes(40)).prop_map(|(e, data)| Payload::Cert(Cert {
            encoding: CertEncoding(e),
            data
        })),
        (any::<u8>(), bytes(40)).prop_map(|(e, data)| Payload::CertReq(CertReq {
            encoding: CertEncoding(e),
            data
        })),
        (any::<u8>(), bytes(40)).prop_map(|(m, data)| Payload::Auth(Auth {
            method: AuthMethod(m),
            data
        })),
        bytes_range(NONCE_MIN_LEN, NONCE_MAX_LEN).prop_map(|data| Payload::Nonce(Nonce { data })),
        notify().prop_map(Payload::Notify),
        delete().prop_map(Payload::Delete),
        bytes(20).prop_map(|data| Payload::VendorId(VendorId { data })),
        selectors().prop_map(Payload::TsI),
        selectors().prop_map(Payload::TsR),
        (any::<u8>(), vec(config_attribute(), 0..5)).prop_map(|(t, attributes)| Payload::Cp(Cp {
            cfg_type: CfgType(t),
            attributes
        })),
        eap().prop_map(Payload::Eap),
        (
            any::<u8>().prop_filter("typed", |t| !PayloadType(*t).is_typed() && *t != 0),
            any::<bool>(),
            bytes(20)
        )
            .prop_map(|(t, critical, body)| Payload::Other {
                payload_type: PayloadType(t),
                critical,
                body
            }),
    ]
}

/// SK or SKF.
pub fn encrypted_payload() -> impl Strategy<Value = Payload<'static>> {
    prop_oneof![
        (any::<u8>(), bytes(64)).prop_map(|(f, body)| Payload::Sk(Sk {
            first_inner: PayloadType(f),
            body
        })),
        (any::<u8>(), 1u16..=u16::MAX, bytes(64)).prop_flat_map(|(f, total, body)| {
            (1..=total).prop_map(move |n| {
                Payload::Skf(Skf {
                    first_inner: PayloadType(f),
                    fragment_number: n,
                    total_fragments: total,
                    body: body.clone(),
                })
            })
        }),
    ]
}

pub fn payload_list() -> impl Strategy<Value = Vec<Payload<'static>>> {
    (
        vec(inner_payload(), 0..6),
        proptest::option::of(encrypted_payload()),
    )
        .prop_map(|(mut v, e)| {
            v.extend(e);
            v
        })
}

pub fn header() -> impl Strategy<Value = Header> {
    (
        any::<u64>(),
        any::<u64>(),
        0u8..16,
        0u8..16,
        any::<u8>(),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(|(i, r, mj, mn, x, f, id)| Header {
            spi_i: i,
            spi_r: r,
            next_payload: PayloadType::NO_NEXT_PAYLOAD,
            major_version: mj,
            minor_version: mn,
            exchange_type: ExchangeType(x),
            flags: Flags(f),
            message_id: id,
            length: 0,
        })
}

pub fn message() -> impl Strategy<Value = Message<'static>> {
    (header(), payload_list()).prop_map(|(header, payloads)| Message { header, payloads })
}

/// What a message looks like after emit→parse: header fields recomputed.
pub fn normalized(m: &Message<'_>, wire_len: usize) -> Message<'static> {
    let mut n = m.clone().into_owned();
    n.header.next_payload = m
        .payloads
        .first()
        .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type);
    n.header.length = wire_len as u32;
    n
}

/// The IKE_SA_INIT request of `tests/known_packets.rs`, built by hand from
/// the RFC 7296 §3 layouts (SA with AES-CBC-128/SHA2-256/SHA2-256-128/ECP-256,
/// KE, Nonce, two NAT-D notifies).
pub fn ike_sa_init_request_bytes() -> Vec<u8> {
    let mut v = Vec::new();
    // IKE header: SPIi, SPIr, SA, 2.0, IKE_SA_INIT, I, msgid 0, len 240.
    v.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]);
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&[0x21, 0x20, 0x22, 0x08, 0, 0, 0, 0, 0, 0, 0, 0xf0]);
    // SA: next KE, len 48; proposal: last, len 44, #1, IKE, spi 0, 4 transforms.
    v.extend_from_slice(&[0x22, 0x00, 0x00, 0x30]);
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x04]);
    v.extend_from_slice(&[
        0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x0c, 0x80, 0x0e, 0x00, 0x80,
    ]);
    v.extend_from_slice(&[0x03, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x05]);
    v.extend_from_slice(&[0x03, 0x00, 0x00, 0x08, 0x03, 0x00, 0x00, 0x0c]);
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x08, 0x04, 0x00, 0x00, 0x13]);
    // KE: next Nonce, len 72, group 19, 64 bytes.
    v.extend_from_slice(&[0x28, 0x00, 0x00, 0x48, 0x00, 0x13, 0x00, 0x00]);
    v.extend((1..=64u8).collect::<Vec<_>>());
    // Nonce: next N, len 36, 32 bytes.
    v.extend_from_slice(&[0x29, 0x00, 0x00, 0x24]);
    v.extend([0xa5; 32]);
    // N(NAT_DETECTION_SOURCE_IP): next N, len 28.
    v.extend_from_slice(&[0x29, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x04]);
    v.extend([0x11; 20]);
    // N(NAT_DETECTION_DESTINATION_IP): last, len 28.
    v.extend_from_slice(&[0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x05]);
    v.extend([0x22; 20]);
    v
}

/// The same message built with the API.
pub fn ike_sa_init_request() -> Message<'static> {
    let header = Header::new(
        0x0011223344556677,
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
            Transform::with_key_length(TransformType::ENCR, EncrId::ENCR_AES_CBC, 128),
            Transform::new(TransformType::PRF, PrfId::PRF_HMAC_SHA2_256),
            Transform::new(TransformType::INTEG, IntegId::AUTH_HMAC_SHA2_256_128),
            Transform::new(TransformType::KE, KeMethod::ECP_256),
        ],
    )]);
    Message::new(
        header,
        vec![
            Payload::Sa(sa),
            Payload::Ke(Ke::new(KeMethod::ECP_256, (1..=64u8).collect::<Vec<_>>())),
            Payload::Nonce(Nonce::new(vec![0xa5; 32])),
            Payload::Notify(Notify::nat_detection_source_ip([0x11; 20])),
            Payload::Notify(Notify::nat_detection_destination_ip([0x22; 20])),
        ],
    )
}

/// A plaintext IKE_AUTH request chain (as it would sit inside SK).
pub fn ike_auth_inner() -> Vec<Payload<'static>> {
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
        Payload::Sa(Sa::new(vec![Proposal::new(
            1,
            ProtocolId::ESP,
            vec![0xc0, 0x01, 0x02, 0x03],
            vec![
                Transform::with_key_length(TransformType::ENCR, EncrId::ENCR_AES_GCM_16, 256),
                Transform::new(TransformType::ESN, EsnId::NO_ESN),
            ],
        )])),
        Payload::TsI(TrafficSelectors::ranges([TsRange::any(
            v4([192, 0, 2, 0]),
            v4([192, 0, 2, 255]),
        )])),
        Payload::TsR(TrafficSelectors::ranges([
            TsRange::any(v4([198, 51, 100, 0]), v4([198, 51, 100, 255])),
            TsRange::icmp(
                1,
                (8, 0),
                (8, 0),
                v4([203, 0, 113, 1]),
                v4([203, 0, 113, 1]),
            ),
        ])),
        Payload::Notify(Notify::status(NotifyType::MOBIKE_SUPPORTED)),
        Payload::Notify(Notify::status(NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED)),
        Payload::Notify(Notify::status(NotifyType::NON_FIRST_FRAGMENTS_ALSO)),
    ]
}

/// An INFORMATIONAL message with Delete, CERTREQ, CERT, EAP, VendorID, an
/// unknown non-critical payload and a REDIRECT notify.
pub fn mixed_message() -> Message<'static> {
    let header = Header::new(
        1,
        2,
        ExchangeType::INFORMATIONAL,
        Flags::new(false, true),
        7,
    );
    Message::new(
        header,
        vec![
            Payload::Delete(Delete::child(ProtocolId::ESP, &[0xdeadbeef, 0x01020304])),
            Payload::Delete(Delete::ike()),
            Payload::CertReq(CertReq::new(
                CertEncoding::X509_CERTIFICATE_SIGNATURE,
                vec![7; 40],
            )),
            Payload::Cert(Cert::new(
                CertEncoding::X509_CERTIFICATE_SIGNATURE,
                vec![0x30, 0x82, 0x01, 0x00],
            )),
            Payload::Eap(Eap::new(EapCode::REQUEST, 3, Some(1), b"id".to_vec())),
            Payload::Eap(Eap::new(EapCode::SUCCESS, 3, None, Vec::new())),
            Payload::VendorId(VendorId::new(b"yadokari".to_vec())),
            Payload::Other {
                payload_type: PayloadType(200),
                critical: false,
                body: Cow::Owned(vec![1, 2, 3]),
            },
            Payload::Notify(
                Notify::redirect(GatewayIdType::FQDN, b"gw2.example.net", &[9; 16]).unwrap(),
            ),
            Payload::Notify(Notify::signature_hash_algorithms(&[
                HashAlgorithm::SHA2_256,
                HashAlgorithm::SHA2_512,
            ])),
            Payload::Notify(Notify::rekey_sa(ProtocolId::ESP, 0x11223344)),
            Payload::TsI(TrafficSelectors::new(vec![
                TrafficSelector::Range(TsRange::all_v6()),
                TrafficSelector::SecLabel(Cow::Owned(b"system_u:object_r".to_vec())),
            ])),
            Payload::Skf(Skf::new(PayloadType::IDI, 1, 3, vec![0xee; 48])),
        ],
    )
}

/// Sample messages for sweeps: the SA_INIT request, an IKE_AUTH plaintext
/// message, an SK-wrapped IKE_AUTH and the mixed message.
pub fn samples() -> Vec<Vec<u8>> {
    let mut auth_plain = Message::new(
        Header::new(5, 6, ExchangeType::IKE_AUTH, Flags::new(true, false), 1),
        ike_auth_inner(),
    );
    let plain = auth_plain.to_vec().unwrap();
    auth_plain.payloads = vec![Payload::Sk(Sk::new(PayloadType::IDI, vec![0x42; 96]))];
    vec![
        ike_sa_init_request_bytes(),
        plain,
        auth_plain.to_vec().unwrap(),
        mixed_message().to_vec().unwrap(),
    ]
}
