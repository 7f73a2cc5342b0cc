//! IKEv2 payloads: the generic payload header (RFC 7296 §3.2), the payload
//! chain, and one typed representation per payload type (§3.3–§3.16,
//! RFC 7383 SKF).
//!
//! Parsing goes in two steps. [`PayloadIter`] walks the chain using only the
//! generic headers, carving each body out of its Payload Length, and yields
//! [`RawPayload`]s (type, critical bit, body bytes, offset). [`Payload::parse`]
//! then decodes one body into its typed form, borrowing from the input.
//! [`decode_chain`] does both. Payload types this crate does not decode
//! become [`Payload::Other`] with their critical bit, so the caller can
//! answer UNSUPPORTED_CRITICAL_PAYLOAD (§2.5); [`decode_chain_strict`] makes
//! that an error carrying the type.

use std::borrow::Cow;

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireError, WireErrorKind};
use crate::registry::PayloadType;

mod basic;
mod cp;
mod eap;
mod notify;
mod sa;
mod sk;
mod ts;

pub use basic::{
    Auth, Cert, CertReq, Delete, Id, IdValue, Ke, Nonce, SignatureData, VendorId, NONCE_MAX_LEN,
    NONCE_MIN_LEN,
};
pub use cp::{ConfigAttribute, Cp, MAX_CONFIG_ATTRIBUTES};
pub use eap::Eap;
pub use notify::{Notify, NotifyBody, MAX_SIGNATURE_HASH_ALGORITHMS, NAT_DETECTION_HASH_LEN};
pub use sa::{
    AttributeValue, Proposal, Sa, Transform, TransformAttribute, MAX_PROPOSALS, MAX_TRANSFORMS,
    MAX_TRANSFORM_ATTRIBUTES,
};
pub use sk::{append_padding, split_encrypted, strip_padding, EncryptedParts, Sk, Skf};
pub use ts::{
    TrafficSelector, TrafficSelectors, TsRange, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_MH,
};

/// Bytes that are borrowed from the parsed datagram, or owned when built
/// locally or kept in state ([`Payload::into_owned`]).
pub type Bytes<'a> = Cow<'a, [u8]>;

pub(crate) fn own(b: Bytes<'_>) -> Bytes<'static> {
    Cow::Owned(b.into_owned())
}

/// Length of the generic payload header.
pub const GENERIC_HEADER_LEN: usize = 4;
/// Most payloads accepted in one chain (allocation bound).
pub const MAX_PAYLOADS: usize = 512;

const CRITICAL: u8 = 0x80;

/// One payload as found in a chain, before its body is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawPayload<'a> {
    /// This payload's type (from the previous header's Next Payload field).
    pub payload_type: PayloadType,
    /// The Next Payload field of this payload's generic header. For SK and
    /// SKF it is the first inner payload's type.
    pub next_payload: PayloadType,
    /// The critical bit.
    pub critical: bool,
    /// The 7 RESERVED bits (MUST be ignored on receipt; kept for inspection).
    pub reserved: u8,
    /// Absolute offset of the generic header.
    pub offset: usize,
    /// The body (after the 4-byte generic header).
    pub body: &'a [u8],
}

impl<'a> RawPayload<'a> {
    /// Absolute offset of the body.
    pub fn body_offset(&self) -> usize {
        self.offset + GENERIC_HEADER_LEN
    }

    /// Decodes the body.
    pub fn decode(&self) -> Result<Payload<'a>> {
        Payload::parse(self)
    }
}

/// Walks a payload chain by its generic headers.
///
/// Stops after a payload whose Next Payload is zero, or after SK/SKF (whose
/// Next Payload names an inner payload); bytes left over after that are an
/// error. Yields at most one error, then ends.
#[derive(Debug, Clone)]
pub struct PayloadIter<'a> {
    r: Reader<'a>,
    next: PayloadType,
    count: usize,
    done: bool,
}

impl<'a> PayloadIter<'a> {
    /// Walks `buf` (whose first byte is at absolute offset `base`), the first
    /// payload being of type `first` (the IKE header's Next Payload, or SK's).
    pub fn new(first: PayloadType, buf: &'a [u8], base: usize) -> Self {
        Self {
            r: Reader::new(buf, base, Context::Chain),
            next: first,
            count: 0,
            done: false,
        }
    }

    fn step(&mut self) -> Result<Option<RawPayload<'a>>> {
        let payload_type = self.next;
        if payload_type == PayloadType::NO_NEXT_PAYLOAD {
            self.r.finish("next_payload")?;
            return Ok(None);
        }
        if self.count == MAX_PAYLOADS {
            return Err(self
                .r
                .err("payloads", WireErrorKind::TooMany { max: MAX_PAYLOADS }));
        }
        let offset = self.r.offset();
        let mut h = self.r.clone();
        h.set_context(Context::GenericHeader(payload_type));
        let next_payload = PayloadType(h.u8("next_payload")?);
        let flags = h.u8("critical")?;
        let len_at = h.offset();
        let len = h.u16("payload_length")? as usize;
        if len < GENERIC_HEADER_LEN {
            return Err(h.err_at(
                "payload_length",
                len_at,
                WireErrorKind::BadLength { value: len },
            ));
        }
        if len > self.r.remaining() {
            return Err(h.err_at(
                "payload_length",
                len_at,
                WireErrorKind::Truncated {
                    needed: len,
                    available: self.r.remaining(),
                },
            ));
        }
        let mut p = self
            .r
            .sub(len, "payload", Context::GenericHeader(payload_type))?;
        p.skip(GENERIC_HEADER_LEN, "header")?;
        self.count += 1;
        if matches!(payload_type, PayloadType::SK | PayloadType::SKF) {
            // "the Encrypted payload MUST be the last payload in the message"
            if !self.r.is_empty() {
                return Err(WireError::new(
                    Context::Payload(payload_type),
                    "next_payload",
                    offset,
                    WireErrorKind::NotLast,
                ));
            }
            self.next = PayloadType::NO_NEXT_PAYLOAD;
        } else {
            self.next = next_payload;
        }
        Ok(Some(RawPayload {
            payload_type,
            next_payload,
            critical: flags & CRITICAL != 0,
            reserved: flags & !CRITICAL,
            offset,
            body: p.rest(),
        }))
    }
}

impl<'a> Iterator for PayloadIter<'a> {
    type Item = Result<RawPayload<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(p)) => Some(Ok(p)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A typed payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload<'a> {
    /// SA (33).
    Sa(Sa<'a>),
    /// KE (34).
    Ke(Ke<'a>),
    /// IDi (35).
    IdI(Id<'a>),
    /// IDr (36).
    IdR(Id<'a>),
    /// CERT (37).
    Cert(Cert<'a>),
    /// CERTREQ (38).
    CertReq(CertReq<'a>),
    /// AUTH (39).
    Auth(Auth<'a>),
    /// Ni/Nr (40).
    Nonce(Nonce<'a>),
    /// N (41).
    Notify(Notify<'a>),
    /// D (42).
    Delete(Delete<'a>),
    /// V (43).
    VendorId(VendorId<'a>),
    /// TSi (44).
    TsI(TrafficSelectors<'a>),
    /// TSr (45).
    TsR(TrafficSelectors<'a>),
    /// SK (46); must be last.
    Sk(Sk<'a>),
    /// CP (47).
    Cp(Cp<'a>),
    /// EAP (48).
    Eap(Eap<'a>),
    /// SKF (53); must be last.
    Skf(Skf<'a>),
    /// Any other type (GSPM, IDg, GSA, KD, PS, unassigned), body kept opaque.
    Other {
        /// The payload type.
        payload_type: PayloadType,
        /// The critical bit as received / to send.
        critical: bool,
        /// The body.
        body: Bytes<'a>,
    },
}

impl<'a> Payload<'a> {
    /// The payload type number.
    pub fn payload_type(&self) -> PayloadType {
        match self {
            Payload::Sa(_) => PayloadType::SA,
            Payload::Ke(_) => PayloadType::KE,
            Payload::IdI(_) => PayloadType::IDI,
            Payload::IdR(_) => PayloadType::IDR,
            Payload::Cert(_) => PayloadType::CERT,
            Payload::CertReq(_) => PayloadType::CERTREQ,
            Payload::Auth(_) => PayloadType::AUTH,
            Payload::Nonce(_) => PayloadType::NONCE,
            Payload::Notify(_) => PayloadType::NOTIFY,
            Payload::Delete(_) => PayloadType::DELETE,
            Payload::VendorId(_) => PayloadType::VENDOR_ID,
            Payload::TsI(_) => PayloadType::TSI,
            Payload::TsR(_) => PayloadType::TSR,
            Payload::Sk(_) => PayloadType::SK,
            Payload::Cp(_) => PayloadType::CP,
            Payload::Eap(_) => PayloadType::EAP,
            Payload::Skf(_) => PayloadType::SKF,
            Payload::Other { payload_type, .. } => *payload_type,
        }
    }

    /// The critical bit this payload is emitted with. Payloads defined in
    /// RFC 7296 are sent with it clear (§2.5: it "applies only to payloads
    /// of types the recipient doesn't understand").
    pub fn critical(&self) -> bool {
        match self {
            Payload::Other { critical, .. } => *critical,
            _ => false,
        }
    }

    /// Decodes a raw payload's body.
    pub fn parse(raw: &RawPayload<'a>) -> Result<Self> {
        let pt = raw.payload_type;
        let mut r = Reader::new(raw.body, raw.body_offset(), Context::Payload(pt));
        let p = match pt {
            PayloadType::SA => Payload::Sa(Sa::parse(&mut r)?),
            PayloadType::KE => Payload::Ke(Ke::parse(&mut r)?),
            PayloadType::IDI => Payload::IdI(Id::parse(&mut r)?),
            PayloadType::IDR => Payload::IdR(Id::parse(&mut r)?),
            PayloadType::CERT => Payload::Cert(Cert::parse(&mut r)?),
            PayloadType::CERTREQ => Payload::CertReq(CertReq::parse(&mut r)?),
            PayloadType::AUTH => Payload::Auth(Auth::parse(&mut r)?),
            PayloadType::NONCE => Payload::Nonce(Nonce::parse(&mut r)?),
            PayloadType::NOTIFY => Payload::Notify(Notify::parse(&mut r)?),
            PayloadType::DELETE => Payload::Delete(Delete::parse(&mut r)?),
            PayloadType::VENDOR_ID => Payload::VendorId(VendorId::parse(&mut r)?),
            PayloadType::TSI => Payload::TsI(TrafficSelectors::parse(&mut r)?),
            PayloadType::TSR => Payload::TsR(TrafficSelectors::parse(&mut r)?),
            PayloadType::SK => Payload::Sk(Sk::parse(raw.next_payload, &mut r)?),
            PayloadType::CP => Payload::Cp(Cp::parse(&mut r)?),
            PayloadType::EAP => Payload::Eap(Eap::parse(&mut r)?),
            PayloadType::SKF => Payload::Skf(Skf::parse(raw.next_payload, &mut r)?),
            _ => Payload::Other {
                payload_type: pt,
                critical: raw.critical,
                body: Cow::Borrowed(r.rest()),
            },
        };
        r.finish("payload_length")?;
        Ok(p)
    }

    /// Emits this payload's body (without the generic header).
    pub fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        let ctx = w.context();
        w.set_context(Context::Payload(self.payload_type()));
        match self {
            Payload::Sa(p) => p.emit(w)?,
            Payload::Ke(p) => p.emit(w)?,
            Payload::IdI(p) | Payload::IdR(p) => p.emit(w)?,
            Payload::Cert(p) => p.emit(w)?,
            Payload::CertReq(p) => p.emit(w)?,
            Payload::Auth(p) => p.emit(w)?,
            Payload::Nonce(p) => p.emit(w)?,
            Payload::Notify(p) => p.emit(w)?,
            Payload::Delete(p) => p.emit(w)?,
            Payload::VendorId(p) => p.emit(w)?,
            Payload::TsI(p) | Payload::TsR(p) => p.emit(w)?,
            Payload::Sk(p) => p.emit(w)?,
            Payload::Cp(p) => p.emit(w)?,
            Payload::Eap(p) => p.emit(w)?,
            Payload::Skf(p) => p.emit(w)?,
            Payload::Other { body, .. } => w.bytes(body),
        }
        w.set_context(ctx);
        Ok(())
    }

    /// The body bytes as this payload would emit them.
    pub fn body_bytes(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        let mut w = Writer::new(&mut v, Context::Payload(self.payload_type()));
        self.emit_body(&mut w)?;
        Ok(v)
    }

    /// Converts into a form that owns its bytes (for keeping in state).
    pub fn into_owned(self) -> Payload<'static> {
        match self {
            Payload::Sa(p) => Payload::Sa(p.into_owned()),
            Payload::Ke(p) => Payload::Ke(p.into_owned()),
            Payload::IdI(p) => Payload::IdI(p.into_owned()),
            Payload::IdR(p) => Payload::IdR(p.into_owned()),
            Payload::Cert(p) => Payload::Cert(p.into_owned()),
            Payload::CertReq(p) => Payload::CertReq(p.into_owned()),
            Payload::Auth(p) => Payload::Auth(p.into_owned()),
            Payload::Nonce(p) => Payload::Nonce(p.into_owned()),
            Payload::Notify(p) => Payload::Notify(p.into_owned()),
            Payload::Delete(p) => Payload::Delete(p.into_owned()),
            Payload::VendorId(p) => Payload::VendorId(p.into_owned()),
            Payload::TsI(p) => Payload::TsI(p.into_owned()),
            Payload::TsR(p) => Payload::TsR(p.into_owned()),
            Payload::Sk(p) => Payload::Sk(p.into_owned()),
            Payload::Cp(p) => Payload::Cp(p.into_owned()),
            Payload::Eap(p) => Payload::Eap(p.into_owned()),
            Payload::Skf(p) => Payload::Skf(p.into_owned()),
            Payload::Other {
                payload_type,
                critical,
                body,
            } => Payload::Other {
                payload_type,
                critical,
                body: own(body),
            },
        }
    }
}

/// Walks and decodes a whole chain. `base` is the absolute offset of
/// `buf[0]` (28 for a chain right after the IKE header).
pub fn decode_chain(first: PayloadType, buf: &[u8], base: usize) -> Result<Vec<Payload<'_>>> {
    let mut out = Vec::new();
    for raw in PayloadIter::new(first, buf, base) {
        out.push(raw?.decode()?);
    }
    Ok(out)
}

/// Like [`decode_chain`], but an undecoded payload with the critical bit set
/// is an error of kind [`WireErrorKind::UnsupportedCriticalPayload`]
/// (RFC 7296 §2.5). The chain is still walked to the end first, so a
/// syntax error anywhere wins over an unsupported critical payload.
pub fn decode_chain_strict(
    first: PayloadType,
    buf: &[u8],
    base: usize,
) -> Result<Vec<Payload<'_>>> {
    let mut out = Vec::new();
    let mut critical = None;
    for raw in PayloadIter::new(first, buf, base) {
        let raw = raw?;
        let p = raw.decode()?;
        if critical.is_none() && matches!(p, Payload::Other { critical: true, .. }) {
            critical = Some(WireError::new(
                Context::GenericHeader(raw.payload_type),
                "critical",
                raw.offset + 1,
                WireErrorKind::UnsupportedCriticalPayload(raw.payload_type),
            ));
        }
        out.push(p);
    }
    match critical {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The first undecoded payload with the critical bit set, if any.
pub fn unsupported_critical(payloads: &[Payload<'_>]) -> Option<PayloadType> {
    payloads.iter().find_map(|p| match p {
        Payload::Other {
            payload_type,
            critical: true,
            ..
        } => Some(*payload_type),
        _ => None,
    })
}

/// Emits a chain of payloads (generic headers with computed Next Payload
/// and Payload Length). Returns the type of the first payload (for the IKE
/// header's or SK's Next Payload field), `NO_NEXT_PAYLOAD` when empty.
///
/// SK and SKF must be last; their Next Payload is their `first_inner`.
pub fn emit_chain(payloads: &[Payload<'_>], w: &mut Writer<'_>) -> Result<PayloadType> {
    for (i, p) in payloads.iter().enumerate() {
        let pt = p.payload_type();
        w.set_context(Context::GenericHeader(pt));
        // An opaque payload must not masquerade as "no next payload" (it
        // would cut the chain) or as a typed payload (it would not decode
        // back to itself).
        if let Payload::Other { payload_type, .. } = p {
            if payload_type.0 == 0 || payload_type.is_typed() {
                return Err(w.err(
                    "payload_type",
                    WireErrorKind::InvalidValue {
                        value: payload_type.0.into(),
                    },
                ));
            }
        }
        let next = match p {
            Payload::Sk(sk) => {
                if i + 1 != payloads.len() {
                    return Err(w.err("next_payload", WireErrorKind::NotLast));
                }
                sk.first_inner
            }
            Payload::Skf(skf) => {
                if i + 1 != payloads.len() {
                    return Err(w.err("next_payload", WireErrorKind::NotLast));
                }
                skf.first_inner
            }
            _ => payloads
                .get(i + 1)
                .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type),
        };
        let start = w.len();
        w.u8(next.0);
        w.u8(if p.critical() { CRITICAL } else { 0 });
        let m = w.reserve_u16();
        p.emit_body(w)?;
        w.set_context(Context::GenericHeader(pt));
        w.patch_len_u16(m, start, "payload_length")?;
    }
    Ok(payloads
        .first()
        .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type))
}

/// [`emit_chain`] into a fresh vector: the plaintext an SK payload encrypts
/// (before padding). Returns (first payload type, bytes).
pub fn chain_to_vec(payloads: &[Payload<'_>]) -> Result<(PayloadType, Vec<u8>)> {
    let mut v = Vec::new();
    let mut w = Writer::new(&mut v, Context::Chain);
    let first = emit_chain(payloads, &mut w)?;
    Ok((first, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::NotifyType;

    // N(INITIAL_CONTACT) then a critical unknown payload 0x99 with RESERVED bits set.
    static CHAIN: [u8; 14] = [
        0x99, 0x00, 0x00, 0x08, 0x00, 0x00, 0x40, 0x00, // Notify, next 0x99
        0x00, 0x85, 0x00, 0x06, 0xab, 0xcd, // type 0x99, C=1, reserved=5
    ];

    #[test]
    fn deconstruct() {
        let raw: Vec<_> = PayloadIter::new(PayloadType::NOTIFY, &CHAIN, 28)
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(raw.len(), 2);
        assert_eq!(
            (raw[0].payload_type, raw[0].next_payload, raw[0].offset),
            (PayloadType::NOTIFY, PayloadType(0x99), 28)
        );
        assert!(!raw[0].critical);
        assert_eq!(
            (
                raw[1].critical,
                raw[1].reserved,
                raw[1].body,
                raw[1].body_offset()
            ),
            (true, 5, &[0xab, 0xcd][..], 40)
        );
        let ps = decode_chain(PayloadType::NOTIFY, &CHAIN, 28).unwrap();
        assert_eq!(
            ps[0],
            Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT))
        );
        assert_eq!(unsupported_critical(&ps), Some(PayloadType(0x99)));
    }

    #[test]
    fn construct() {
        let ps = [
            Payload::Notify(Notify::status(NotifyType::INITIAL_CONTACT)),
            Payload::Other {
                payload_type: PayloadType(0x99),
                critical: true,
                body: Cow::Borrowed(&[0xab, 0xcd]),
            },
        ];
        let (first, v) = chain_to_vec(&ps).unwrap();
        assert_eq!(first, PayloadType::NOTIFY);
        let mut expect = CHAIN;
        expect[9] = 0x80; // RESERVED is sent as zero
        assert_eq!(v, expect);
    }

    #[test]
    fn truncated() {
        for n in 0..CHAIN.len() {
            let e = decode_chain(PayloadType::NOTIFY, &CHAIN[..n], 0).unwrap_err();
            assert!(
                matches!(e.kind, WireErrorKind::Truncated { .. }),
                "{n}: {e}"
            );
        }
    }

    #[test]
    fn strict_reports_critical_type() {
        let e = decode_chain_strict(PayloadType::NOTIFY, &CHAIN, 0).unwrap_err();
        assert_eq!(
            e.kind,
            WireErrorKind::UnsupportedCriticalPayload(PayloadType(0x99))
        );
        assert_eq!((e.offset, e.field), (9, "critical"));
        // Non-critical unknown payloads pass.
        let mut c = CHAIN;
        c[9] = 0;
        assert_eq!(
            decode_chain_strict(PayloadType::NOTIFY, &c, 0)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn bad_lengths() {
        let mut c = CHAIN;
        c[3] = 3; // below the generic header
        let e = decode_chain(PayloadType::NOTIFY, &c, 0).unwrap_err();
        assert_eq!(
            (e.context, e.field, e.offset),
            (
                Context::GenericHeader(PayloadType::NOTIFY),
                "payload_length",
                2
            )
        );
        let mut c = CHAIN.to_vec();
        c.push(0); // trailing byte after the last payload
        let e = decode_chain(PayloadType::NOTIFY, &c, 0).unwrap_err();
        assert_eq!(e.kind, WireErrorKind::TrailingData { len: 1 });
        // A longer Notify simply carries more data.
        let mut c = CHAIN;
        c[0] = 0;
        c[3] = 9;
        let p = decode_chain(PayloadType::NOTIFY, &c[..9], 0).unwrap();
        assert!(matches!(&p[0], Payload::Notify(n) if n.data.len() == 1));
    }

    #[test]
    fn payload_count_cap() {
        let mut c = Vec::new();
        for _ in 0..=MAX_PAYLOADS {
            c.extend_from_slice(&[PayloadType::VENDOR_ID.0, 0, 0, 4]);
        }
        let e = decode_chain(PayloadType::VENDOR_ID, &c, 0).unwrap_err();
        assert_eq!(e.kind, WireErrorKind::TooMany { max: MAX_PAYLOADS });
    }

    #[test]
    fn opaque_payload_cannot_fake_a_type() {
        for t in [0u8, 33, 41] {
            let p = [Payload::Other {
                payload_type: PayloadType(t),
                critical: false,
                body: Cow::Borrowed(&[]),
            }];
            assert!(chain_to_vec(&p).is_err(), "{t}");
        }
    }
}
