//! Adapter between the core's [`crate::msg`] view and `yadokari-wire`
//! (RFC 7296 §3), plus SK protection through `yadokari-crypto` (§3.14) and
//! the non-ESP marker framing of NAT-T ports (RFC 3948 §2.2).
//!
//! Decoding is strict where the RFC is: an unknown payload with the
//! critical bit rejects the message (§2.5); SK must be last (§3.14).

use std::borrow::Cow;

use yadokari_wire::payload::{self as wp, TsRange};
use yadokari_wire::registry::{
    AuthMethod, CertEncoding, ExchangeType, IdType, KeMethod, NotifyType, PayloadType, ProtocolId,
    TransformType,
};
use yadokari_wire::{EncryptedKind, EncryptedLayout, Flags, Header as WireHeader, WireError};

use crate::config::Identity;
use crate::error::{DropReason, IkeError};
use crate::event::Path;
use crate::msg::{Delete, Header, Message, Notify, Payload};
use crate::proposal::{Proposal, Transform};
use crate::rng::Rng;
use crate::suite::IkeKeys;
use crate::ts::TrafficSelector;

/// The non-ESP marker (RFC 3948 §2.2).
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];

/// Whether datagrams on this path carry the non-ESP marker.
pub fn has_marker(path: Path, ike_port: u16) -> bool {
    path.local.port() != ike_port
}

/// The UDP payload for an IKE message on `path`.
pub fn frame(packet: &[u8], path: Path, ike_port: u16) -> Vec<u8> {
    if has_marker(path, ike_port) {
        let mut v = Vec::with_capacity(packet.len() + 4);
        v.extend_from_slice(&NON_ESP_MARKER);
        v.extend_from_slice(packet);
        v
    } else {
        packet.to_vec()
    }
}

/// The IKE message inside a UDP payload received on `path`.
pub fn unframe(dgram: &[u8], path: Path, ike_port: u16) -> Result<&[u8], DropReason> {
    if !has_marker(path, ike_port) {
        return Ok(dgram);
    }
    match dgram {
        [0, 0, 0, 0, rest @ ..] => Ok(rest),
        _ => Err(DropReason::NoNonEspMarker),
    }
}

fn malformed(e: WireError) -> IkeError {
    IkeError::Malformed(e.into())
}

/// Reads and converts the fixed header only.
pub fn peek_header(packet: &[u8]) -> Result<(Header, u8), DropReason> {
    let h = WireHeader::parse(packet).map_err(|_| DropReason::NotIke)?;
    Ok((from_wire_header(&h), h.major_version))
}

fn from_wire_header(h: &WireHeader) -> Header {
    Header {
        spi_i: h.spi_i,
        spi_r: h.spi_r,
        exchange: h.exchange_type.0,
        initiator: h.flags.initiator(),
        response: h.flags.response(),
        message_id: h.message_id,
    }
}

fn to_wire_header(h: &Header) -> WireHeader {
    WireHeader::new(
        h.spi_i,
        h.spi_r,
        ExchangeType(h.exchange),
        Flags::new(h.initiator, h.response),
        h.message_id,
    )
}

/// Decodes an unprotected message (IKE_SA_INIT).
pub fn decode_plain(packet: &[u8]) -> Result<Message, IkeError> {
    let m = yadokari_wire::Message::parse(packet).map_err(malformed)?;
    if let Some(pt) = m.unsupported_critical() {
        return Err(IkeError::PeerIncompatible(
            crate::error::PeerIncompatible::UnsupportedCriticalPayload(pt.0),
        ));
    }
    let header = from_wire_header(&m.header);
    let payloads = m
        .payloads
        .iter()
        .map(from_wire)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Message { header, payloads })
}

/// Why a protected message was not accepted.
#[derive(Debug)]
pub enum DecodeError {
    /// Not parseable at all, or no SK payload: drop silently.
    Drop(DropReason),
    /// Authentic but the inner payloads are bad: answer with this error.
    Inner(IkeError),
}

/// Verifies and decrypts an SK-protected message (§3.14) sent by the
/// original initiator (`from_initiator`) or responder.
pub fn decode_protected(
    packet: &[u8],
    keys: &IkeKeys,
    from_initiator: bool,
) -> Result<Message, DecodeError> {
    let outer = yadokari_wire::Message::parse(packet)
        .map_err(|_| DecodeError::Drop(DropReason::Malformed))?;
    let header = from_wire_header(&outer.header);
    let first_inner = outer
        .payloads
        .iter()
        .find_map(|p| match p {
            wp::Payload::Sk(sk) => Some(sk.first_inner),
            _ => None,
        })
        .ok_or(DecodeError::Drop(DropReason::Unprotected))?;
    let layout = EncryptedLayout::locate(packet)
        .map_err(|_| DecodeError::Drop(DropReason::Malformed))?
        .ok_or(DecodeError::Drop(DropReason::Unprotected))?;
    let mut buf = packet.to_vec();
    let range = keys
        .sk_cipher(from_initiator)
        .decrypt_verify(&mut buf, layout.body.start)
        .map_err(|_| DecodeError::Drop(DropReason::BadIcv))?;
    let plain = buf
        .get(range.clone())
        .ok_or(DecodeError::Drop(DropReason::BadIcv))?;
    let inner = wp::decode_chain(first_inner, plain, range.start)
        .map_err(|e| DecodeError::Inner(malformed(e)))?;
    if let Some(pt) = wp::unsupported_critical(&inner) {
        return Err(DecodeError::Inner(IkeError::PeerIncompatible(
            crate::error::PeerIncompatible::UnsupportedCriticalPayload(pt.0),
        )));
    }
    let payloads = inner
        .iter()
        .map(from_wire)
        .collect::<Result<Vec<_>, _>>()
        .map_err(DecodeError::Inner)?;
    Ok(Message { header, payloads })
}

/// Encodes an unprotected message.
pub fn encode_plain(msg: &Message) -> Result<Vec<u8>, IkeError> {
    let payloads = msg
        .payloads
        .iter()
        .map(to_wire)
        .collect::<Result<Vec<_>, _>>()?;
    yadokari_wire::Message::new(to_wire_header(&msg.header), payloads)
        .to_vec()
        .map_err(malformed)
}

/// Encodes a message with all payloads inside SK, protected in the
/// direction of the sender (`as_initiator`: SK_ei/SK_ai).
pub fn encode_protected(
    msg: &Message,
    keys: &IkeKeys,
    as_initiator: bool,
    rng: &mut Rng,
) -> Result<Vec<u8>, IkeError> {
    let inner = msg
        .payloads
        .iter()
        .map(to_wire)
        .collect::<Result<Vec<_>, _>>()?;
    let (first, plain) = wp::chain_to_vec(&inner).map_err(malformed)?;
    let sk = keys.sk_cipher(as_initiator);
    let l = sk.layout(plain.len());
    let mut out = Vec::with_capacity(28 + 4 + l.body_len());
    let layout = yadokari_wire::emit_encrypted(
        &to_wire_header(&msg.header),
        &[],
        EncryptedKind::Sk,
        first,
        l.body_len(),
        &mut out,
    )
    .map_err(malformed)?;
    let start = layout.body.start + l.iv_len;
    out.get_mut(start..start + plain.len())
        .ok_or(IkeError::Internal("SK layout".into()))?
        .copy_from_slice(&plain);
    sk.encrypt(&mut out, layout.body.start, plain.len(), rng)
        .map_err(|e| IkeError::Internal(e.to_string()))?;
    Ok(out)
}

fn bytes(b: &[u8]) -> Cow<'static, [u8]> {
    Cow::Owned(b.to_vec())
}

fn from_wire(p: &wp::Payload<'_>) -> Result<Payload, IkeError> {
    Ok(match p {
        wp::Payload::Sa(sa) => Payload::Sa(
            sa.proposals
                .iter()
                .map(|pr| Proposal {
                    number: pr.number,
                    protocol: pr.protocol_id.0,
                    spi: pr.spi.to_vec(),
                    transforms: pr
                        .transforms
                        .iter()
                        // A transform with attributes we do not know is not acceptable (§3.3.6).
                        .filter(|t| t.attributes.len() == usize::from(t.key_length().is_some()))
                        .map(|t| Transform::new(t.transform_type.0, t.transform_id, t.key_length()))
                        .collect(),
                })
                .collect(),
        ),
        wp::Payload::Ke(k) => Payload::Ke {
            group: k.group.0,
            data: k.data.to_vec(),
        },
        wp::Payload::Nonce(n) => Payload::Nonce(n.data.to_vec()),
        wp::Payload::IdI(id) => Payload::IdI(Identity::from_wire(id.id_type.0, &id.data)),
        wp::Payload::IdR(id) => Payload::IdR(Identity::from_wire(id.id_type.0, &id.data)),
        wp::Payload::Auth(a) => Payload::Auth {
            method: a.method.0,
            data: a.data.to_vec(),
        },
        wp::Payload::Cert(c) => Payload::Cert {
            encoding: c.encoding.0,
            data: c.data.to_vec(),
        },
        wp::Payload::CertReq(c) => Payload::CertReq {
            encoding: c.encoding.0,
            data: c.data.to_vec(),
        },
        wp::Payload::Notify(n) => Payload::Notify(Notify {
            protocol: n.protocol_id.0,
            spi: n.spi.to_vec(),
            ty: n.notify_type.0,
            data: n.data.to_vec(),
        }),
        wp::Payload::Delete(d) => Payload::Delete(Delete {
            protocol: d.protocol_id.0,
            spis: if d.protocol_id == ProtocolId::IKE {
                Vec::new()
            } else {
                d.spis_u32().unwrap_or_default()
            },
        }),
        wp::Payload::TsI(ts) => Payload::TsI(ts_from_wire(ts)?),
        wp::Payload::TsR(ts) => Payload::TsR(ts_from_wire(ts)?),
        wp::Payload::VendorId(v) => Payload::Vendor(v.data.to_vec()),
        other => Payload::Other {
            ty: other.payload_type().0,
        },
    })
}

fn ts_from_wire(ts: &wp::TrafficSelectors<'_>) -> Result<Vec<TrafficSelector>, IkeError> {
    ts.iter_ranges()
        .map(|r| {
            let a = |ip: std::net::IpAddr| match ip {
                std::net::IpAddr::V4(v) => v.octets().to_vec(),
                std::net::IpAddr::V6(v) => v.octets().to_vec(),
            };
            TrafficSelector::from_wire(
                r.ts_type().0,
                r.ip_protocol,
                r.start_port,
                r.end_port,
                &a(r.start_addr),
                &a(r.end_addr),
            )
            .map_err(|e| IkeError::Malformed(e.into()))
        })
        .collect()
}

fn ts_to_wire(v: &[TrafficSelector]) -> wp::TrafficSelectors<'static> {
    wp::TrafficSelectors::ranges(v.iter().map(|t| TsRange {
        ip_protocol: t.ip_protocol.0,
        start_port: t.start_port(),
        end_port: t.end_port(),
        start_addr: t.start_addr(),
        end_addr: t.end_addr(),
    }))
}

fn to_wire(p: &Payload) -> Result<wp::Payload<'static>, IkeError> {
    Ok(match p {
        Payload::Sa(props) => wp::Payload::Sa(wp::Sa::new(
            props
                .iter()
                .map(|pr| wp::Proposal {
                    number: pr.number,
                    protocol_id: ProtocolId(pr.protocol),
                    spi: bytes(&pr.spi),
                    transforms: pr
                        .transforms
                        .iter()
                        .map(|t| match t.key_len {
                            Some(kl) => {
                                wp::Transform::with_key_length(TransformType(t.ty), t.id, kl)
                            }
                            None => wp::Transform::new(TransformType(t.ty), t.id),
                        })
                        .collect(),
                })
                .collect(),
        )),
        Payload::Ke { group, data } => wp::Payload::Ke(wp::Ke::new(KeMethod(*group), bytes(data))),
        Payload::Nonce(n) => wp::Payload::Nonce(wp::Nonce::new(bytes(n))),
        Payload::IdI(id) => wp::Payload::IdI(wp::Id::new(IdType(id.id_type()), bytes(id.data()))),
        Payload::IdR(id) => wp::Payload::IdR(wp::Id::new(IdType(id.id_type()), bytes(id.data()))),
        Payload::Auth { method, data } => {
            wp::Payload::Auth(wp::Auth::new(AuthMethod(*method), bytes(data)))
        }
        Payload::Cert { encoding, data } => {
            wp::Payload::Cert(wp::Cert::new(CertEncoding(*encoding), bytes(data)))
        }
        Payload::CertReq { encoding, data } => {
            wp::Payload::CertReq(wp::CertReq::new(CertEncoding(*encoding), bytes(data)))
        }
        Payload::Notify(n) => wp::Payload::Notify(wp::Notify {
            protocol_id: ProtocolId(n.protocol),
            spi: bytes(&n.spi),
            notify_type: NotifyType(n.ty),
            data: bytes(&n.data),
        }),
        Payload::Delete(d) => wp::Payload::Delete(if d.protocol == ProtocolId::IKE.0 {
            wp::Delete::ike()
        } else {
            wp::Delete::child(ProtocolId(d.protocol), &d.spis)
        }),
        Payload::TsI(v) => wp::Payload::TsI(ts_to_wire(v)),
        Payload::TsR(v) => wp::Payload::TsR(ts_to_wire(v)),
        Payload::Vendor(v) => wp::Payload::VendorId(wp::VendorId::new(bytes(v))),
        Payload::Other { ty } => wp::Payload::Other {
            payload_type: PayloadType(*ty),
            critical: false,
            body: bytes(&[]),
        },
    })
}
