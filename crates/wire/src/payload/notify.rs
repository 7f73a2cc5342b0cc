//! Notify payload (RFC 7296 §3.10) and typed decoding of the notification
//! data of the types the IKE core acts on: COOKIE (§2.6), INVALID_KE_PAYLOAD
//! (§1.3), NAT_DETECTION_* (§2.23), SET_WINDOW_SIZE (§2.3), REKEY_SA
//! (§1.3.3, SPI in the SPI field), IPCOMP_SUPPORTED (§2.22), MOBIKE's
//! ADDITIONAL_IP4/IP6_ADDRESS and COOKIE2 (RFC 4555 §4), REDIRECT and
//! REDIRECTED_FROM (RFC 5685), SIGNATURE_HASH_ALGORITHMS (RFC 7427),
//! AUTH_LIFETIME (RFC 4478), ADDITIONAL_KEY_EXCHANGE (RFC 9370) and the
//! empty capability notifications.
//!
//! Parsing the payload checks only its generic structure; the typed body is
//! decoded on demand by [`Notify::body`], so a malformed status notification
//! that the core would ignore anyway does not reject the whole message.

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireErrorKind};
use crate::payload::{own, Bytes};
use crate::registry::{GatewayIdType, HashAlgorithm, IpcompId, KeMethod, NotifyType, ProtocolId};

/// Length of a NAT_DETECTION_*_IP hash (SHA-1, RFC 7296 §2.23).
pub const NAT_DETECTION_HASH_LEN: usize = 20;
/// Most hash algorithms accepted in SIGNATURE_HASH_ALGORITHMS (allocation bound).
pub const MAX_SIGNATURE_HASH_ALGORITHMS: usize = 64;

/// Notify payload (§3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify<'a> {
    /// Protocol of the SA the SPI names; zero when there is no SPI.
    pub protocol_id: ProtocolId,
    /// SPI (empty for notifications about the IKE SA).
    pub spi: Bytes<'a>,
    /// Notify message type.
    pub notify_type: NotifyType,
    /// Notification data; see [`Notify::body`] for a typed view.
    pub data: Bytes<'a>,
}

/// Typed notification data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyBody<'b> {
    /// A notification whose data is empty by definition (INITIAL_CONTACT,
    /// USE_TRANSPORT_MODE, MOBIKE_SUPPORTED, IKEV2_FRAGMENTATION_SUPPORTED,
    /// REKEY_SA, UPDATE_SA_ADDRESSES, …).
    Empty,
    /// COOKIE: 1 to 64 opaque bytes (RFC 7296 §2.6).
    Cookie(&'b [u8]),
    /// INVALID_KE_PAYLOAD: the group the responder wants.
    InvalidKePayload(KeMethod),
    /// NAT_DETECTION_SOURCE_IP / NAT_DETECTION_DESTINATION_IP: SHA-1 hash.
    NatDetection([u8; NAT_DETECTION_HASH_LEN]),
    /// SET_WINDOW_SIZE: the number of requests the sender can handle.
    SetWindowSize(u32),
    /// IPCOMP_SUPPORTED: CPI and IPComp transform.
    IpcompSupported {
        /// Compression Parameter Index.
        cpi: u16,
        /// IPComp algorithm.
        transform_id: IpcompId,
    },
    /// ADDITIONAL_IP4_ADDRESS.
    AdditionalIp4(Ipv4Addr),
    /// ADDITIONAL_IP6_ADDRESS.
    AdditionalIp6(Ipv6Addr),
    /// COOKIE2: 8 to 64 bytes (RFC 4555 §4.8).
    Cookie2(&'b [u8]),
    /// AUTH_LIFETIME: seconds until re-authentication (RFC 4478).
    AuthLifetime(u32),
    /// REDIRECT: new gateway, plus the initiator's nonce when sent in IKE_SA_INIT.
    Redirect {
        /// How the gateway is identified.
        gw_type: GatewayIdType,
        /// The gateway identity.
        gw: &'b [u8],
        /// Nonce data (may be empty).
        nonce: &'b [u8],
    },
    /// REDIRECTED_FROM: the gateway the client was redirected from.
    RedirectedFrom {
        /// How the gateway is identified.
        gw_type: GatewayIdType,
        /// The gateway identity.
        gw: &'b [u8],
    },
    /// SIGNATURE_HASH_ALGORITHMS: the hashes the sender can verify with.
    SignatureHashAlgorithms(Vec<HashAlgorithm>),
    /// ADDITIONAL_KEY_EXCHANGE: opaque link data (RFC 9370 §2.2.2).
    AdditionalKeyExchange(&'b [u8]),
    /// Any other type: the raw data.
    Opaque(&'b [u8]),
}

/// Status types whose data is empty by definition. Error types are left
/// opaque: some implementations attach diagnostic text to them.
const EMPTY_TYPES: &[NotifyType] = &[
    NotifyType::INITIAL_CONTACT,
    NotifyType::ADDITIONAL_TS_POSSIBLE,
    NotifyType::USE_TRANSPORT_MODE,
    NotifyType::HTTP_CERT_LOOKUP_SUPPORTED,
    NotifyType::REKEY_SA,
    NotifyType::ESP_TFC_PADDING_NOT_SUPPORTED,
    NotifyType::NON_FIRST_FRAGMENTS_ALSO,
    NotifyType::MOBIKE_SUPPORTED,
    NotifyType::NO_ADDITIONAL_ADDRESSES,
    NotifyType::UPDATE_SA_ADDRESSES,
    NotifyType::NO_NATS_ALLOWED,
    NotifyType::MULTIPLE_AUTH_SUPPORTED,
    NotifyType::ANOTHER_AUTH_FOLLOWS,
    NotifyType::REDIRECT_SUPPORTED,
    NotifyType::IKEV2_FRAGMENTATION_SUPPORTED,
    NotifyType::CHILDLESS_IKEV2_SUPPORTED,
    NotifyType::CLONE_IKE_SA_SUPPORTED,
    NotifyType::USE_PPK,
    NotifyType::INTERMEDIATE_EXCHANGE_SUPPORTED,
    NotifyType::IP4_ALLOWED,
    NotifyType::IP6_ALLOWED,
    NotifyType::USE_AGGFRAG,
];

impl<'a> Notify<'a> {
    /// A notification about the IKE SA (no SPI).
    pub fn new(notify_type: NotifyType, data: impl Into<Bytes<'a>>) -> Self {
        Self {
            protocol_id: ProtocolId::NONE,
            spi: Cow::Borrowed(&[]),
            notify_type,
            data: data.into(),
        }
    }

    /// A notification with empty data (capabilities, most errors).
    pub fn status(notify_type: NotifyType) -> Notify<'static> {
        Notify {
            protocol_id: ProtocolId::NONE,
            spi: Cow::Borrowed(&[]),
            notify_type,
            data: Cow::Borrowed(&[]),
        }
    }

    /// A notification concerning a Child SA: REKEY_SA, INVALID_SELECTORS,
    /// CHILD_SA_NOT_FOUND (RFC 7296 §3.10: "the SPI is included only with"
    /// these three).
    pub fn with_spi(
        protocol_id: ProtocolId,
        spi: u32,
        notify_type: NotifyType,
        data: impl Into<Bytes<'a>>,
    ) -> Self {
        Self {
            protocol_id,
            spi: Cow::Owned(spi.to_be_bytes().to_vec()),
            notify_type,
            data: data.into(),
        }
    }

    /// N(REKEY_SA) for the Child SA with this inbound SPI.
    pub fn rekey_sa(protocol_id: ProtocolId, spi: u32) -> Notify<'static> {
        Notify::with_spi(protocol_id, spi, NotifyType::REKEY_SA, Vec::new())
    }

    /// N(COOKIE).
    pub fn cookie(cookie: impl Into<Bytes<'a>>) -> Self {
        Self::new(NotifyType::COOKIE, cookie)
    }

    /// N(INVALID_KE_PAYLOAD) naming the accepted group.
    pub fn invalid_ke_payload(group: KeMethod) -> Notify<'static> {
        Notify::new(
            NotifyType::INVALID_KE_PAYLOAD,
            group.0.to_be_bytes().to_vec(),
        )
    }

    /// N(NAT_DETECTION_SOURCE_IP).
    pub fn nat_detection_source_ip(hash: [u8; NAT_DETECTION_HASH_LEN]) -> Notify<'static> {
        Notify::new(NotifyType::NAT_DETECTION_SOURCE_IP, hash.to_vec())
    }

    /// N(NAT_DETECTION_DESTINATION_IP).
    pub fn nat_detection_destination_ip(hash: [u8; NAT_DETECTION_HASH_LEN]) -> Notify<'static> {
        Notify::new(NotifyType::NAT_DETECTION_DESTINATION_IP, hash.to_vec())
    }

    /// N(SET_WINDOW_SIZE).
    pub fn set_window_size(size: u32) -> Notify<'static> {
        Notify::new(NotifyType::SET_WINDOW_SIZE, size.to_be_bytes().to_vec())
    }

    /// N(SIGNATURE_HASH_ALGORITHMS).
    pub fn signature_hash_algorithms(algs: &[HashAlgorithm]) -> Notify<'static> {
        Notify::new(
            NotifyType::SIGNATURE_HASH_ALGORITHMS,
            algs.iter()
                .flat_map(|a| a.0.to_be_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    /// N(ADDITIONAL_IP4_ADDRESS).
    pub fn additional_ip4(a: Ipv4Addr) -> Notify<'static> {
        Notify::new(NotifyType::ADDITIONAL_IP4_ADDRESS, a.octets().to_vec())
    }

    /// N(ADDITIONAL_IP6_ADDRESS).
    pub fn additional_ip6(a: Ipv6Addr) -> Notify<'static> {
        Notify::new(NotifyType::ADDITIONAL_IP6_ADDRESS, a.octets().to_vec())
    }

    /// N(REDIRECT) (nonce empty outside IKE_SA_INIT).
    pub fn redirect(gw_type: GatewayIdType, gw: &[u8], nonce: &[u8]) -> Result<Notify<'static>> {
        let mut v = Vec::with_capacity(2 + gw.len() + nonce.len());
        let mut w = Writer::new(&mut v, Context::NotifyData(NotifyType::REDIRECT));
        w.u8(gw_type.0);
        let l = w.fit_u8(gw.len(), "gw_ident_len")?;
        w.u8(l);
        w.bytes(gw);
        w.bytes(nonce);
        Ok(Notify::new(NotifyType::REDIRECT, v))
    }

    /// N(REDIRECTED_FROM).
    pub fn redirected_from(gw_type: GatewayIdType, gw: &[u8]) -> Result<Notify<'static>> {
        let mut n = Notify::redirect(gw_type, gw, &[])?;
        n.notify_type = NotifyType::REDIRECTED_FROM;
        Ok(n)
    }

    /// The SPI as u32 when it is 4 bytes long (AH/ESP).
    pub fn spi_u32(&self) -> Option<u32> {
        <[u8; 4]>::try_from(&self.spi[..])
            .ok()
            .map(u32::from_be_bytes)
    }

    /// Decodes the notification data per the notify type. `offset` is the
    /// absolute offset of the data in the message, for error reporting
    /// (pass 0 if unknown).
    pub fn body_at(&self, offset: usize) -> Result<NotifyBody<'_>> {
        let nt = self.notify_type;
        let mut r = Reader::new(&self.data, offset, Context::NotifyData(nt));
        let n = r.remaining();
        let bad_len =
            |r: &Reader<'_>| r.err("notification_data", WireErrorKind::BadLength { value: n });
        let body = match nt {
            NotifyType::COOKIE => {
                if !(1..=64).contains(&n) {
                    return Err(bad_len(&r));
                }
                NotifyBody::Cookie(r.rest())
            }
            NotifyType::COOKIE2 => {
                if !(8..=64).contains(&n) {
                    return Err(bad_len(&r));
                }
                NotifyBody::Cookie2(r.rest())
            }
            NotifyType::INVALID_KE_PAYLOAD => {
                if n != 2 {
                    return Err(bad_len(&r));
                }
                NotifyBody::InvalidKePayload(KeMethod(r.u16("dh_group")?))
            }
            NotifyType::NAT_DETECTION_SOURCE_IP | NotifyType::NAT_DETECTION_DESTINATION_IP => {
                if n != NAT_DETECTION_HASH_LEN {
                    return Err(bad_len(&r));
                }
                NotifyBody::NatDetection(r.array("hash")?)
            }
            NotifyType::SET_WINDOW_SIZE | NotifyType::AUTH_LIFETIME => {
                if n != 4 {
                    return Err(bad_len(&r));
                }
                let v = r.u32("value")?;
                if nt == NotifyType::SET_WINDOW_SIZE {
                    NotifyBody::SetWindowSize(v)
                } else {
                    NotifyBody::AuthLifetime(v)
                }
            }
            NotifyType::IPCOMP_SUPPORTED => {
                if n != 3 {
                    return Err(bad_len(&r));
                }
                let cpi = r.u16("cpi")?;
                NotifyBody::IpcompSupported {
                    cpi,
                    transform_id: IpcompId(r.u8("transform_id")?),
                }
            }
            NotifyType::ADDITIONAL_IP4_ADDRESS => {
                if n != 4 {
                    return Err(bad_len(&r));
                }
                NotifyBody::AdditionalIp4(Ipv4Addr::from(r.array::<4>("address")?))
            }
            NotifyType::ADDITIONAL_IP6_ADDRESS => {
                if n != 16 {
                    return Err(bad_len(&r));
                }
                NotifyBody::AdditionalIp6(Ipv6Addr::from(r.array::<16>("address")?))
            }
            NotifyType::REDIRECT | NotifyType::REDIRECTED_FROM => {
                let gw_type = GatewayIdType(r.u8("gw_ident_type")?);
                let len = r.u8("gw_ident_len")? as usize;
                let gw = r.take(len, "new_responder_gw_identity")?;
                if nt == NotifyType::REDIRECT {
                    NotifyBody::Redirect {
                        gw_type,
                        gw,
                        nonce: r.rest(),
                    }
                } else {
                    r.finish("new_responder_gw_identity")?;
                    NotifyBody::RedirectedFrom { gw_type, gw }
                }
            }
            NotifyType::SIGNATURE_HASH_ALGORITHMS => {
                if n % 2 != 0 {
                    return Err(bad_len(&r));
                }
                if n / 2 > MAX_SIGNATURE_HASH_ALGORITHMS {
                    return Err(r.err(
                        "hash_algorithms",
                        WireErrorKind::TooMany {
                            max: MAX_SIGNATURE_HASH_ALGORITHMS,
                        },
                    ));
                }
                let mut v = Vec::with_capacity(n / 2);
                while !r.is_empty() {
                    v.push(HashAlgorithm(r.u16("hash_algorithm")?));
                }
                NotifyBody::SignatureHashAlgorithms(v)
            }
            NotifyType::ADDITIONAL_KEY_EXCHANGE => NotifyBody::AdditionalKeyExchange(r.rest()),
            t if EMPTY_TYPES.contains(&t) => {
                if n != 0 {
                    return Err(r.err("notification_data", WireErrorKind::TrailingData { len: n }));
                }
                NotifyBody::Empty
            }
            _ => NotifyBody::Opaque(r.rest()),
        };
        Ok(body)
    }

    /// [`Notify::body_at`] with offset 0.
    pub fn body(&self) -> Result<NotifyBody<'_>> {
        self.body_at(0)
    }

    /// Parses a Notify body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let protocol_id = ProtocolId(r.u8("protocol_id")?);
        let spi_size = r.u8("spi_size")? as usize;
        let notify_type = NotifyType(r.u16("notify_message_type")?);
        let spi = r.take(spi_size, "spi")?;
        Ok(Self {
            protocol_id,
            spi: Cow::Borrowed(spi),
            notify_type,
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits a Notify body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.protocol_id.0);
        let s = w.fit_u8(self.spi.len(), "spi_size")?;
        w.u8(s);
        w.u16(self.notify_type.0);
        w.bytes(&self.spi);
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Notify<'static> {
        Notify {
            protocol_id: self.protocol_id,
            spi: own(self.spi),
            notify_type: self.notify_type,
            data: own(self.data),
        }
    }
}

impl NotifyBody<'_> {
    /// Encodes this body as notification data.
    pub fn to_data(&self) -> Vec<u8> {
        match self {
            NotifyBody::Empty => Vec::new(),
            NotifyBody::Cookie(b)
            | NotifyBody::Cookie2(b)
            | NotifyBody::AdditionalKeyExchange(b)
            | NotifyBody::Opaque(b) => b.to_vec(),
            NotifyBody::InvalidKePayload(g) => g.0.to_be_bytes().to_vec(),
            NotifyBody::NatDetection(h) => h.to_vec(),
            NotifyBody::SetWindowSize(v) | NotifyBody::AuthLifetime(v) => v.to_be_bytes().to_vec(),
            NotifyBody::IpcompSupported { cpi, transform_id } => {
                let mut v = cpi.to_be_bytes().to_vec();
                v.push(transform_id.0);
                v
            }
            NotifyBody::AdditionalIp4(a) => a.octets().to_vec(),
            NotifyBody::AdditionalIp6(a) => a.octets().to_vec(),
            NotifyBody::Redirect { gw_type, gw, nonce } => {
                let mut v = vec![gw_type.0, gw.len().min(255) as u8];
                v.extend_from_slice(&gw[..gw.len().min(255)]);
                v.extend_from_slice(nonce);
                v
            }
            NotifyBody::RedirectedFrom { gw_type, gw } => {
                let mut v = vec![gw_type.0, gw.len().min(255) as u8];
                v.extend_from_slice(&gw[..gw.len().min(255)]);
                v
            }
            NotifyBody::SignatureHashAlgorithms(a) => {
                a.iter().flat_map(|h| h.0.to_be_bytes()).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::PayloadType;

    // N(REKEY_SA) for ESP SPI 0x11223344.
    const REKEY: [u8; 8] = [0x03, 0x04, 0x40, 0x09, 0x11, 0x22, 0x33, 0x44];

    fn parse(b: &[u8]) -> Result<Notify<'_>> {
        Notify::parse(&mut Reader::new(
            b,
            0,
            Context::Payload(PayloadType::NOTIFY),
        ))
    }

    #[test]
    fn deconstruct() {
        let n = parse(&REKEY).unwrap();
        assert_eq!(n, Notify::rekey_sa(ProtocolId::ESP, 0x11223344));
        assert_eq!(n.spi_u32(), Some(0x11223344));
        assert_eq!(n.body().unwrap(), NotifyBody::Empty);
    }

    #[test]
    fn construct() {
        let mut v = Vec::new();
        Notify::rekey_sa(ProtocolId::ESP, 0x11223344)
            .emit(&mut Writer::new(
                &mut v,
                Context::Payload(PayloadType::NOTIFY),
            ))
            .unwrap();
        assert_eq!(v, REKEY);
    }

    #[test]
    fn truncated() {
        for n in 0..REKEY.len() {
            assert!(parse(&REKEY[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn typed_bodies_round_trip() {
        let bodies = [
            (NotifyType::COOKIE, NotifyBody::Cookie(&[1, 2, 3])),
            (
                NotifyType::INVALID_KE_PAYLOAD,
                NotifyBody::InvalidKePayload(KeMethod::MODP_2048),
            ),
            (
                NotifyType::NAT_DETECTION_DESTINATION_IP,
                NotifyBody::NatDetection([3; 20]),
            ),
            (NotifyType::SET_WINDOW_SIZE, NotifyBody::SetWindowSize(10)),
            (NotifyType::AUTH_LIFETIME, NotifyBody::AuthLifetime(3600)),
            (
                NotifyType::IPCOMP_SUPPORTED,
                NotifyBody::IpcompSupported {
                    cpi: 0x1234,
                    transform_id: IpcompId::IPCOMP_DEFLATE,
                },
            ),
            (
                NotifyType::ADDITIONAL_IP6_ADDRESS,
                NotifyBody::AdditionalIp6("2001:db8::7".parse().unwrap()),
            ),
            (NotifyType::COOKIE2, NotifyBody::Cookie2(&[9; 8])),
            (
                NotifyType::REDIRECTED_FROM,
                NotifyBody::RedirectedFrom {
                    gw_type: GatewayIdType::IPV4_ADDR,
                    gw: &[192, 0, 2, 1],
                },
            ),
            (
                NotifyType::SIGNATURE_HASH_ALGORITHMS,
                NotifyBody::SignatureHashAlgorithms(vec![HashAlgorithm::SHA2_256]),
            ),
            (
                NotifyType::ADDITIONAL_KEY_EXCHANGE,
                NotifyBody::AdditionalKeyExchange(&[1]),
            ),
            (NotifyType::USE_TRANSPORT_MODE, NotifyBody::Empty),
            (NotifyType::IKEV2_FRAGMENTATION_SUPPORTED, NotifyBody::Empty),
            (NotifyType::UPDATE_SA_ADDRESSES, NotifyBody::Empty),
        ];
        for (t, body) in bodies {
            let n = Notify::new(t, body.to_data());
            assert_eq!(n.body().unwrap(), body, "{t:?}");
        }
    }

    #[test]
    fn typed_body_errors() {
        let cases: [(NotifyType, &[u8]); 8] = [
            (NotifyType::INVALID_KE_PAYLOAD, &[0]),
            (NotifyType::SET_WINDOW_SIZE, &[0, 0, 1]),
            (NotifyType::COOKIE2, &[1; 7]),
            (NotifyType::IPCOMP_SUPPORTED, &[0, 1]),
            (NotifyType::ADDITIONAL_IP4_ADDRESS, &[1, 2, 3]),
            (NotifyType::REDIRECT, &[1, 4, 192, 0]),
            (NotifyType::REDIRECTED_FROM, &[1, 1, 9, 9]),
            (NotifyType::SIGNATURE_HASH_ALGORITHMS, &[0, 2, 0]),
        ];
        for (t, d) in cases {
            let e = Notify::new(t, d.to_vec()).body_at(40).unwrap_err();
            assert_eq!(e.context, Context::NotifyData(t));
            assert!(e.offset >= 40, "{e}");
        }
        let many = vec![0u8; 2 * (MAX_SIGNATURE_HASH_ALGORITHMS + 1)];
        let e = Notify::new(NotifyType::SIGNATURE_HASH_ALGORITHMS, many)
            .body()
            .unwrap_err();
        assert_eq!(
            e.kind,
            WireErrorKind::TooMany {
                max: MAX_SIGNATURE_HASH_ALGORITHMS
            }
        );
    }
}
