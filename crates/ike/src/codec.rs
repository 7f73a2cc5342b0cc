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

/// The non-ESP marker (RFC 3948 §2.2), as the wire crate defines it.
pub use yadokari_wire::udp_encap::NON_ESP_MARKER;

/// Whether datagrams on this path carry the non-ESP marker: every port
/// but the IKE port is a NAT-T port (RFC 7296 §2.23, RFC 3948 §2.2).
pub fn has_marker(path: Path, ike_port: u16) -> bool {
    path.local.port() != ike_port
}

/// Writes the UDP payload for the IKE message `packet` on `path` into
/// `buf` (replacing its contents): the message, behind the non-ESP marker
/// on a NAT-T path. This and [`unframe`] are the only places in the
/// project that add or strip the marker; the data plane and the daemon
/// move the UDP payload unchanged.
pub fn frame_into(buf: &mut Vec<u8>, packet: &[u8], path: Path, ike_port: u16) {
    buf.clear();
    if has_marker(path, ike_port) {
        buf.extend_from_slice(&NON_ESP_MARKER);
    }
    buf.extend_from_slice(packet);
}

/// The IKE message inside a UDP payload received on `path`.
pub fn unframe(dgram: &[u8], path: Path, ike_port: u16) -> Result<&[u8], DropReason> {
    if !has_marker(path, ike_port) {
        return Ok(dgram);
    }
    dgram
        .strip_prefix(&NON_ESP_MARKER[..])
        .ok_or(DropReason::NoNonEspMarker)
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

/// What a protected datagram held: a whole message (SK), or one fragment
/// of one (SKF, RFC 7383 §2.5), each verified on its own.
pub enum Protected {
    Message(Message),
    Fragment(crate::frag::Fragment),
}

/// Verifies and decrypts an SK-protected message (§3.14) sent by the
/// original initiator (`from_initiator`) or responder.
pub fn decode_protected(
    packet: &[u8],
    keys: &IkeKeys,
    from_initiator: bool,
) -> Result<Message, DecodeError> {
    match decode_protected_or_fragment(packet, keys, from_initiator)? {
        Protected::Message(m) => Ok(m),
        Protected::Fragment(_) => Err(DecodeError::Drop(DropReason::Unprotected)),
    }
}

/// As [`decode_protected`], accepting an SKF fragment too: its ICV is
/// checked and its plaintext returned for reassembly.
pub fn decode_protected_or_fragment(
    packet: &[u8],
    keys: &IkeKeys,
    from_initiator: bool,
) -> Result<Protected, DecodeError> {
    let outer = yadokari_wire::Message::parse(packet)
        .map_err(|_| DecodeError::Drop(DropReason::Malformed))?;
    let header = from_wire_header(&outer.header);
    let (first_inner, fragment) = outer
        .payloads
        .iter()
        .find_map(|p| match p {
            wp::Payload::Sk(sk) => Some((sk.first_inner, None)),
            wp::Payload::Skf(f) => {
                Some((f.first_inner, Some((f.fragment_number, f.total_fragments))))
            }
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
    if let Some((number, total)) = fragment {
        return Ok(Protected::Fragment(crate::frag::Fragment {
            number,
            total,
            first_inner: first_inner.0,
            plain: plain.to_vec(),
        }));
    }
    decode_inner(header, first_inner.0, plain, range.start).map(Protected::Message)
}

/// Parses the inner payloads of a decrypted (or reassembled) message.
pub fn decode_inner(
    header: Header,
    first_inner: u8,
    plain: &[u8],
    offset: usize,
) -> Result<Message, DecodeError> {
    let inner = wp::decode_chain(PayloadType(first_inner), plain, offset)
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

/// Reads the header of a received datagram (for a reassembled message).
pub fn header_of(packet: &[u8]) -> Option<Header> {
    WireHeader::parse(packet).ok().map(|h| from_wire_header(&h))
}

/// What an IKE_INTERMEDIATE message contributes to IntAuth (RFC 9242
/// §3.3.2): its IKE header and Encrypted payload header with the lengths
/// they would have if the SK payload held only the plaintext inner
/// payloads (IntAuth_A), followed by those payloads (IntAuth_P). Built from
/// the message's payloads, for a message sent or received alike.
pub fn int_auth_octets(msg: &Message) -> Result<Vec<u8>, IkeError> {
    let (first, plain) = inner_plaintext(msg)?;
    let mut out = Vec::with_capacity(28 + 4 + plain.len());
    yadokari_wire::emit_encrypted(
        &to_wire_header(&msg.header),
        &[],
        EncryptedKind::Sk,
        first,
        plain.len(),
        &mut out,
    )
    .map_err(malformed)?;
    out.truncate(28 + 4);
    out.extend_from_slice(&plain);
    Ok(out)
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

/// Encodes a protected message as datagrams of at most `max_len` bytes of
/// IKE message each: one SK message when it fits, else SKF fragments
/// (RFC 7383 §2.5), each with its own IV and ICV, the first naming the
/// first inner payload. `None` never fragments.
pub fn encode_protected_datagrams(
    msg: &Message,
    keys: &IkeKeys,
    as_initiator: bool,
    rng: &mut Rng,
    max_len: Option<usize>,
) -> Result<Vec<Vec<u8>>, IkeError> {
    let (first, plain) = inner_plaintext(msg)?;
    let sk = keys.sk_cipher(as_initiator);
    // The whole message's size is known before sealing: serialize and
    // encrypt once, as one SK message or as fragments.
    let whole_len = 28 + 4 + sk.layout(plain.len()).body_len();
    let Some(max_len) = max_len.filter(|m| whole_len > *m) else {
        let header = to_wire_header(&msg.header);
        return Ok(vec![seal(
            &header,
            EncryptedKind::Sk,
            first,
            &plain,
            sk,
            rng,
        )?]);
    };
    // IKE header (28) and SKF header (8) around each encrypted chunk.
    let fits = |n: usize| 28 + 8 + sk.layout(n).body_len() <= max_len;
    let mut chunk = max_len.saturating_sub(28 + 8 + sk.layout(0).body_len());
    while chunk > 0 && !fits(chunk) {
        chunk -= 1;
    }
    if chunk == 0 {
        return Err(IkeError::Internal(
            "fragment size too small for the cipher".into(),
        ));
    }
    let total = plain.len().div_ceil(chunk);
    let total = u16::try_from(total)
        .ok()
        .filter(|t| *t <= crate::frag::MAX_FRAGMENTS)
        .ok_or(IkeError::Internal(
            "message needs too many fragments".into(),
        ))?;
    let header = to_wire_header(&msg.header);
    let mut out = Vec::with_capacity(usize::from(total));
    for (i, part) in plain.chunks(chunk).enumerate() {
        let number = u16::try_from(i + 1).unwrap_or(u16::MAX);
        let d = seal(
            &header,
            EncryptedKind::Skf {
                fragment_number: number,
                total_fragments: total,
            },
            if number == 1 { first } else { PayloadType(0) },
            part,
            sk,
            rng,
        )?;
        out.push(d);
    }
    Ok(out)
}

/// Encodes a message with all payloads inside SK, protected in the
/// direction of the sender (`as_initiator`: SK_ei/SK_ai).
pub fn encode_protected(
    msg: &Message,
    keys: &IkeKeys,
    as_initiator: bool,
    rng: &mut Rng,
) -> Result<Vec<u8>, IkeError> {
    let (first, plain) = inner_plaintext(msg)?;
    seal(
        &to_wire_header(&msg.header),
        EncryptedKind::Sk,
        first,
        &plain,
        keys.sk_cipher(as_initiator),
        rng,
    )
}

/// The inner payload chain of `msg` as plaintext, with its first type.
fn inner_plaintext(msg: &Message) -> Result<(PayloadType, Vec<u8>), IkeError> {
    let inner = msg
        .payloads
        .iter()
        .map(to_wire)
        .collect::<Result<Vec<_>, _>>()?;
    wp::chain_to_vec(&inner).map_err(malformed)
}

/// One protected datagram: the header, an SK or SKF payload around
/// `plain`, encrypted and authenticated in place (RFC 7296 §3.14, RFC 7383
/// §2.5).
fn seal(
    header: &WireHeader,
    kind: EncryptedKind,
    first: PayloadType,
    plain: &[u8],
    sk: &yadokari_crypto::sk::SkCipher,
    rng: &mut Rng,
) -> Result<Vec<u8>, IkeError> {
    let l = sk.layout(plain.len());
    let mut out = Vec::with_capacity(28 + 8 + l.body_len());
    let layout = yadokari_wire::emit_encrypted(header, &[], kind, first, l.body_len(), &mut out)
        .map_err(malformed)?;
    let start = layout.body.start + l.iv_len;
    out.get_mut(start..start + plain.len())
        .ok_or(IkeError::Internal("SK layout".into()))?
        .copy_from_slice(plain);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn path(local_port: u16) -> Path {
        Path::new(
            std::net::SocketAddr::new([192, 0, 2, 1].into(), local_port),
            "198.51.100.1:4500".parse().unwrap(),
        )
    }

    #[test]
    fn marker_framed_on_natt_port_and_stripped_again() {
        let ike = [0x11u8; 28];
        let mut buf = vec![0xaa; 100];
        frame_into(&mut buf, &ike, path(4500), 500);
        assert_eq!(buf[..4], NON_ESP_MARKER, "marker in front on port 4500");
        assert_eq!(buf[4..], ike);
        assert_eq!(unframe(&buf, path(4500), 500), Ok(&ike[..]));
        // Without the marker a NAT-T datagram is not IKE (it would be ESP).
        assert_eq!(
            unframe(&ike, path(4500), 500),
            Err(DropReason::NoNonEspMarker)
        );
    }

    #[test]
    fn no_marker_on_the_ike_port() {
        let ike = [0x11u8; 28];
        let mut buf = vec![0xaa; 3];
        frame_into(&mut buf, &ike, path(500), 500);
        assert_eq!(buf, ike, "port 500 carries the bare message");
        assert_eq!(unframe(&buf, path(500), 500), Ok(&ike[..]));
    }
}
