//! Turns the wire crate's typed payloads into [`Body`] records: names from
//! the IANA registries, addresses and identities in readable form, opaque
//! bytes in hex (RFC 7296 §3.3–§3.16 and the notify extensions the wire
//! crate decodes).

use serde_json::{json, Value};
use yadokari_wire::payload::{
    AttributeValue, ConfigAttribute, IdValue, NotifyBody, Payload, TrafficSelector,
};
use yadokari_wire::registry::{ConfigAttributeType, ProtocolId};

use super::dn::dn_to_string;
use crate::record::{
    hex, AttributeRecord, Body, ConfigAttributeRecord, NotifyRecord, ProposalRecord,
    SelectorRecord, TransformRecord,
};

fn protocol_name(p: ProtocolId) -> Option<String> {
    p.name().map(str::to_owned)
}

/// The body of a decoded payload that is not SK/SKF (those are handled by
/// the decoder, which needs the message bytes and keys).
#[must_use]
pub fn body_of(p: &Payload<'_>) -> Body {
    match p {
        Payload::Sa(sa) => Body::Sa {
            proposals: sa
                .proposals
                .iter()
                .map(|pr| ProposalRecord {
                    number: pr.number,
                    protocol_id: pr.protocol_id.0,
                    protocol: protocol_name(pr.protocol_id),
                    spi: hex(&pr.spi),
                    transforms: pr
                        .transforms
                        .iter()
                        .map(|t| TransformRecord {
                            transform_type: t.transform_type.0,
                            type_name: t.transform_type.name().map(str::to_owned),
                            id: t.transform_id,
                            name: t.transform_type.id_name(t.transform_id).map(str::to_owned),
                            key_length: t.key_length(),
                            attributes: t
                                .attributes
                                .iter()
                                .map(|a| AttributeRecord {
                                    attribute_type: a.attribute_type.0,
                                    name: a.attribute_type.name().map(str::to_owned),
                                    value: match &a.value {
                                        AttributeValue::Tv(v) => Some(*v),
                                        AttributeValue::Tlv(_) => None,
                                    },
                                    data: match &a.value {
                                        AttributeValue::Tv(_) => None,
                                        AttributeValue::Tlv(b) => Some(hex(b)),
                                    },
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        },
        Payload::Ke(ke) => Body::Ke {
            group: ke.group.0,
            group_name: ke.group.name().map(str::to_owned),
            data: hex(&ke.data),
        },
        Payload::IdI(id) | Payload::IdR(id) => Body::Id {
            id_type: id.id_type.0,
            id_type_name: id.id_type.name().map(str::to_owned),
            id: id_text(&id.value()),
        },
        Payload::Cert(c) => Body::Cert {
            encoding: c.encoding.0,
            encoding_name: c.encoding.name().map(str::to_owned),
            data: hex(&c.data),
        },
        Payload::CertReq(c) => Body::Cert {
            encoding: c.encoding.0,
            encoding_name: c.encoding.name().map(str::to_owned),
            data: hex(&c.data),
        },
        Payload::Auth(a) => Body::Auth {
            method: a.method.0,
            method_name: a.method.name().map(str::to_owned),
            data: hex(&a.data),
        },
        Payload::Nonce(n) => Body::Data { data: hex(&n.data) },
        Payload::VendorId(v) => Body::Data { data: hex(&v.data) },
        Payload::Notify(n) => Body::Notify(NotifyRecord {
            notify_type: n.notify_type.0,
            notify_name: n.notify_type.name().map(str::to_owned),
            protocol_id: n.protocol_id.0,
            spi: hex(&n.spi),
            data: hex(&n.data),
            decoded: match n.body() {
                Ok(b) => notify_value(&b),
                Err(e) => Some(json!({ "error": e.to_string() })),
            },
        }),
        Payload::Delete(d) => Body::Delete {
            protocol_id: d.protocol_id.0,
            protocol: protocol_name(d.protocol_id),
            spi_size: d.spi_size,
            spis: d.spis.iter().map(|s| hex(s)).collect(),
        },
        Payload::TsI(ts) | Payload::TsR(ts) => Body::Ts {
            selectors: ts.selectors.iter().map(selector).collect(),
        },
        Payload::Cp(cp) => Body::Cp {
            cfg_type: cp.cfg_type.0,
            cfg_type_name: cp.cfg_type.name().map(str::to_owned),
            attributes: cp.attributes.iter().map(config_attribute).collect(),
        },
        Payload::Eap(e) => Body::Eap {
            code: e.code.0,
            code_name: e.code.name().map(str::to_owned),
            identifier: e.identifier,
            eap_type: e.eap_type,
            data: hex(&e.data),
        },
        Payload::Sk(sk) => Body::Data {
            data: hex(&sk.body),
        },
        Payload::Skf(skf) => Body::Data {
            data: hex(&skf.body),
        },
        Payload::Other { body, .. } => Body::Data { data: hex(body) },
    }
}

fn id_text(v: &IdValue<'_>) -> String {
    match v {
        IdValue::Ipv4(a) => a.to_string(),
        IdValue::Ipv6(a) => a.to_string(),
        IdValue::Fqdn(s) | IdValue::Rfc822(s) => (*s).to_owned(),
        IdValue::DerAsn1Dn(d) => dn_to_string(d).unwrap_or_else(|| hex(d)),
        IdValue::Null => String::new(),
        IdValue::DerAsn1Gn(d) | IdValue::KeyId(d) | IdValue::Other(d) => hex(d),
    }
}

fn selector(s: &TrafficSelector<'_>) -> SelectorRecord {
    let ts_type = s.ts_type();
    let mut r = SelectorRecord {
        ts_type: ts_type.0,
        ts_type_name: ts_type.name().map(str::to_owned),
        ip_protocol: None,
        start_port: None,
        end_port: None,
        start_address: None,
        end_address: None,
        data: None,
    };
    match s {
        TrafficSelector::Range(t) => {
            r.ip_protocol = Some(t.ip_protocol);
            r.start_port = Some(t.start_port);
            r.end_port = Some(t.end_port);
            r.start_address = Some(t.start_addr.to_string());
            r.end_address = Some(t.end_addr.to_string());
        }
        TrafficSelector::SecLabel(b) => r.data = Some(hex(b)),
        TrafficSelector::Other {
            second_octet, data, ..
        } => {
            r.ip_protocol = Some(*second_octet);
            r.data = Some(hex(data));
        }
    }
    r
}

fn config_attribute(a: &ConfigAttribute<'_>) -> ConfigAttributeRecord {
    let t = a.attribute_type;
    let value = if a.value.is_empty() {
        None
    } else {
        match t {
            ConfigAttributeType::INTERNAL_IP4_ADDRESS
            | ConfigAttributeType::INTERNAL_IP4_NETMASK
            | ConfigAttributeType::INTERNAL_IP4_DNS
            | ConfigAttributeType::INTERNAL_IP4_NBNS
            | ConfigAttributeType::INTERNAL_IP4_DHCP
            | ConfigAttributeType::P_CSCF_IP4_ADDRESS => a.as_ipv4().map(|x| x.to_string()),
            ConfigAttributeType::INTERNAL_IP4_SUBNET => {
                a.as_ipv4_subnet().map(|(n, m)| format!("{n}/{m}"))
            }
            ConfigAttributeType::INTERNAL_IP6_ADDRESS
            | ConfigAttributeType::INTERNAL_IP6_SUBNET => {
                a.as_ipv6_prefix().map(|(x, l)| format!("{x}/{l}"))
            }
            ConfigAttributeType::INTERNAL_IP6_DNS
            | ConfigAttributeType::INTERNAL_IP6_DHCP
            | ConfigAttributeType::P_CSCF_IP6_ADDRESS => a.as_ipv6().map(|x| x.to_string()),
            ConfigAttributeType::APPLICATION_VERSION | ConfigAttributeType::INTERNAL_DNS_DOMAIN => {
                a.as_str().map(str::to_owned)
            }
            _ => None,
        }
    };
    ConfigAttributeRecord {
        attribute_type: t.0,
        name: t.name().map(str::to_owned),
        length: a.value.len(),
        value,
        data: hex(&a.value),
    }
}

fn notify_value(b: &NotifyBody<'_>) -> Option<Value> {
    Some(match b {
        NotifyBody::Empty | NotifyBody::Opaque(_) => return None,
        NotifyBody::Cookie(c) => json!({ "cookie": hex(c) }),
        NotifyBody::Cookie2(c) => json!({ "cookie2": hex(c) }),
        NotifyBody::InvalidKePayload(g) => json!({ "group": g.0, "group_name": g.name() }),
        NotifyBody::NatDetection(h) => json!({ "hash": hex(h) }),
        NotifyBody::SetWindowSize(n) => json!({ "window_size": n }),
        NotifyBody::IpcompSupported { cpi, transform_id } => {
            json!({ "cpi": cpi, "transform_id": transform_id.0, "transform_name": transform_id.name() })
        }
        NotifyBody::AdditionalIp4(a) => json!({ "address": a.to_string() }),
        NotifyBody::AdditionalIp6(a) => json!({ "address": a.to_string() }),
        NotifyBody::AuthLifetime(s) => json!({ "lifetime": s }),
        NotifyBody::Redirect { gw_type, gw, nonce } => json!({
            "gw_type": gw_type.0, "gw_type_name": gw_type.name(),
            "gw": gateway_text(gw_type.0, gw), "nonce": hex(nonce),
        }),
        NotifyBody::RedirectedFrom { gw_type, gw } => json!({
            "gw_type": gw_type.0, "gw_type_name": gw_type.name(), "gw": gateway_text(gw_type.0, gw),
        }),
        NotifyBody::SignatureHashAlgorithms(algs) => json!({
            "hash_algorithms": algs.iter().map(|a| json!({"id": a.0, "name": a.name()})).collect::<Vec<_>>(),
        }),
        NotifyBody::AdditionalKeyExchange(d) => json!({ "link": hex(d) }),
    })
}

fn gateway_text(gw_type: u8, gw: &[u8]) -> String {
    match (gw_type, gw.len()) {
        (1, 4) => std::net::Ipv4Addr::from([gw[0], gw[1], gw[2], gw[3]]).to_string(),
        (2, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(gw);
            std::net::Ipv6Addr::from(a).to_string()
        }
        (3, _) => String::from_utf8_lossy(gw).into_owned(),
        _ => hex(gw),
    }
}
