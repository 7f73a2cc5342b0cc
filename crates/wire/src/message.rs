//! A whole IKE message: the header (RFC 7296 §3.1) and its payload chain
//! (§3.2), plus the layout of the Encrypted payload that the IKE core needs
//! to encrypt and integrity-protect a message in place (§3.14; RFC 5282
//! §5.1 for the AEAD associated data; RFC 7383 §2.5 for SKF).

use core::ops::Range;

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireErrorKind};
use crate::header::{Header, HEADER_LEN};
use crate::payload::{
    decode_chain, emit_chain, unsupported_critical, Notify, Payload, PayloadIter, RawPayload,
    GENERIC_HEADER_LEN,
};
use crate::registry::{NotifyType, PayloadType};

/// A parsed or to-be-emitted IKE message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// The header. On emit, `next_payload` and `length` are recomputed.
    pub header: Header,
    /// The payload chain in order (an SK or SKF payload, if any, is last).
    pub payloads: Vec<Payload<'a>>,
}

impl<'a> Message<'a> {
    /// A message.
    pub fn new(header: Header, payloads: Vec<Payload<'a>>) -> Self {
        Self { header, payloads }
    }

    /// Parses a datagram holding exactly one IKE message (no non-ESP marker).
    /// The header Length must equal the datagram length.
    ///
    /// Unknown payload types become [`Payload::Other`]; check
    /// [`Message::unsupported_critical`] before acting on the message.
    /// Plaintext inside an SK payload is decoded separately, after
    /// decryption, with [`crate::payload::decode_chain`].
    pub fn parse(buf: &'a [u8]) -> Result<Self> {
        let mut r = Reader::new(buf, 0, Context::Header);
        let header = Header::read(&mut r)?;
        if header.length as usize != buf.len() {
            return Err(r.err_at(
                "length",
                24,
                WireErrorKind::BadLength {
                    value: header.length as usize,
                },
            ));
        }
        let payloads = decode_chain(header.next_payload, r.rest(), HEADER_LEN)?;
        Ok(Self { header, payloads })
    }

    /// Walks the payload chain of a datagram without decoding bodies (for
    /// the raw bytes AUTH is computed over, and for inspection).
    pub fn raw_payloads(buf: &[u8]) -> Result<Vec<RawPayload<'_>>> {
        let header = Header::parse(buf)?;
        let end = (header.length as usize).min(buf.len());
        let chain = buf.get(HEADER_LEN..end).unwrap_or(&[]);
        PayloadIter::new(header.next_payload, chain, HEADER_LEN).collect()
    }

    /// Appends the encoded message to `out`, computing the header's Next
    /// Payload and Length and every payload length.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let mut w = Writer::new(out, Context::Message);
        let mut h = self.header;
        h.next_payload = self
            .payloads
            .first()
            .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type);
        h.write(&mut w);
        emit_chain(&self.payloads, &mut w)?;
        let total = w.len() - start;
        let len = u32::try_from(total).map_err(|_| {
            w.err(
                "length",
                WireErrorKind::Overflow {
                    value: total,
                    max: u32::MAX as usize,
                },
            )
        })?;
        out[start + 24..start + 28].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// The encoded message.
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.emit(&mut v)?;
        Ok(v)
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Message<'static> {
        Message {
            header: self.header,
            payloads: self.payloads.into_iter().map(Payload::into_owned).collect(),
        }
    }

    /// The first payload of a type this crate does not decode that has the
    /// critical bit set: the type to report in UNSUPPORTED_CRITICAL_PAYLOAD.
    pub fn unsupported_critical(&self) -> Option<PayloadType> {
        unsupported_critical(&self.payloads)
    }

    /// The Notify payloads, in order.
    pub fn notifies(&self) -> impl Iterator<Item = &Notify<'a>> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Notify(n) => Some(n),
            _ => None,
        })
    }

    /// The first Notify of this type.
    pub fn notify(&self, t: NotifyType) -> Option<&Notify<'a>> {
        self.notifies().find(|n| n.notify_type == t)
    }

    /// The first payload of this type.
    pub fn find(&self, t: PayloadType) -> Option<&Payload<'a>> {
        self.payloads.iter().find(|p| p.payload_type() == t)
    }
}

/// Where an Encrypted (SK or SKF) payload sits in an emitted or received
/// message. All ranges are byte offsets into that message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedLayout {
    /// Offset of the SK/SKF generic header.
    pub payload_offset: usize,
    /// The body: IV ‖ ciphertext ‖ ICV.
    pub body: Range<usize>,
    /// Total message length.
    pub message_len: usize,
}

impl EncryptedLayout {
    /// The AEAD associated data (RFC 5282 §5.1): from the first byte of the
    /// IKE header to the last byte of the SK generic header (for SKF, up to
    /// and including Total Fragments, RFC 7383 §2.5.3).
    pub fn aad(&self) -> Range<usize> {
        0..self.body.start
    }

    /// The IV.
    pub fn iv(&self, iv_len: usize) -> Range<usize> {
        self.body.start..(self.body.start + iv_len).min(self.body.end)
    }

    /// The ciphertext (encrypted inner payloads, padding, pad length).
    pub fn ciphertext(&self, iv_len: usize, icv_len: usize) -> Range<usize> {
        let s = (self.body.start + iv_len).min(self.body.end);
        let e = self.body.end.saturating_sub(icv_len).max(s);
        s..e
    }

    /// The Integrity Checksum Data (the last `icv_len` bytes of the message).
    pub fn icv(&self, icv_len: usize) -> Range<usize> {
        self.body.end.saturating_sub(icv_len).max(self.body.start)..self.body.end
    }

    /// What a non-AEAD integrity algorithm covers: "the entire message
    /// starting with the first octet of the fixed header through the last
    /// octet of the Padding/Pad Length" (RFC 7296 §3.14), i.e. all but the ICV.
    pub fn integrity(&self, icv_len: usize) -> Range<usize> {
        0..self.icv(icv_len).start
    }

    /// Finds the SK or SKF payload in a received datagram.
    pub fn locate(buf: &[u8]) -> Result<Option<EncryptedLayout>> {
        let header = Header::parse(buf)?;
        if header.length as usize != buf.len() {
            return Err(crate::error::WireError::new(
                Context::Header,
                "length",
                24,
                WireErrorKind::BadLength {
                    value: header.length as usize,
                },
            ));
        }
        for raw in PayloadIter::new(header.next_payload, &buf[HEADER_LEN..], HEADER_LEN) {
            let raw = raw?;
            let extra = match raw.payload_type {
                PayloadType::SK => 0,
                PayloadType::SKF => 4,
                _ => continue,
            };
            let start = raw.body_offset() + extra;
            let end = raw.body_offset() + raw.body.len();
            if start > end {
                return Err(crate::error::WireError::new(
                    Context::Payload(raw.payload_type),
                    "total_fragments",
                    raw.body_offset(),
                    WireErrorKind::Truncated {
                        needed: extra,
                        available: raw.body.len(),
                    },
                ));
            }
            return Ok(Some(EncryptedLayout {
                payload_offset: raw.offset,
                body: start..end,
                message_len: buf.len(),
            }));
        }
        Ok(None)
    }
}

/// What goes in front of the encrypted body: SK, or SKF with its numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptedKind {
    /// An SK payload.
    Sk,
    /// An SKF payload (RFC 7383).
    Skf {
        /// Fragment Number (1-based).
        fragment_number: u16,
        /// Total Fragments.
        total_fragments: u16,
    },
}

/// Emits a message whose last payload is SK (or SKF) with a body of
/// `body_len` zero bytes for the caller to fill, after any unencrypted
/// `outer` payloads. `first_inner` is the first encrypted payload's type
/// (the SK generic header's Next Payload; zero for SKF fragments after the
/// first). Appends to `out` and returns the layout (offsets relative to the
/// message start, which is `out.len()` at call time).
///
/// Typical use: `(first, plain) = chain_to_vec(inner)`; pad and encrypt to
/// get `iv ‖ ct`; call this with `body_len = iv.len() + ct.len() + icv_len`;
/// copy IV and ciphertext into `layout.iv()`/`layout.ciphertext()`; compute
/// the ICV over `layout.integrity(icv_len)` (or use `layout.aad()` as AEAD
/// associated data) and write it to `layout.icv(icv_len)`.
pub fn emit_encrypted(
    header: &Header,
    outer: &[Payload<'_>],
    kind: EncryptedKind,
    first_inner: PayloadType,
    body_len: usize,
    out: &mut Vec<u8>,
) -> Result<EncryptedLayout> {
    let base = out.len();
    let mut w = Writer::new(out, Context::Message);
    let mut h = *header;
    h.next_payload = outer.first().map_or(
        match kind {
            EncryptedKind::Sk => PayloadType::SK,
            EncryptedKind::Skf { .. } => PayloadType::SKF,
        },
        Payload::payload_type,
    );
    h.write(&mut w);
    let pt = match kind {
        EncryptedKind::Sk => PayloadType::SK,
        EncryptedKind::Skf { .. } => PayloadType::SKF,
    };
    // Outer payloads chain into the encrypted one.
    if !outer.is_empty() {
        if outer
            .iter()
            .any(|p| matches!(p, Payload::Sk(_) | Payload::Skf(_)))
        {
            return Err(w.err("next_payload", WireErrorKind::NotLast));
        }
        let mark = w.len();
        emit_chain(outer, &mut w)?;
        // Re-point the last outer payload's Next Payload at SK/SKF: walk the
        // chain we just wrote to find the last generic header.
        let mut off = mark;
        let mut last = mark;
        let bytes = w.as_slice();
        while off + GENERIC_HEADER_LEN <= bytes.len() {
            last = off;
            let l = u16::from_be_bytes([bytes[off + 2], bytes[off + 3]]) as usize;
            off += l.max(GENERIC_HEADER_LEN);
        }
        w.as_mut_slice()[last] = pt.0;
    }
    w.set_context(Context::GenericHeader(pt));
    let payload_offset = w.len() - base;
    let start = w.len();
    w.u8(first_inner.0);
    w.u8(0);
    let m = w.reserve_u16();
    if let EncryptedKind::Skf {
        fragment_number,
        total_fragments,
    } = kind
    {
        if fragment_number == 0 || fragment_number > total_fragments {
            return Err(w.err(
                "fragment_number",
                WireErrorKind::InvalidValue {
                    value: fragment_number.into(),
                },
            ));
        }
        w.u16(fragment_number);
        w.u16(total_fragments);
    }
    let body_start = w.len() - base;
    w.zeros(body_len);
    w.patch_len_u16(m, start, "payload_length")?;
    let total = w.len() - base;
    let len = u32::try_from(total).map_err(|_| {
        w.err(
            "length",
            WireErrorKind::Overflow {
                value: total,
                max: u32::MAX as usize,
            },
        )
    })?;
    out[base + 24..base + 28].copy_from_slice(&len.to_be_bytes());
    Ok(EncryptedLayout {
        payload_offset,
        body: body_start..body_start + body_len,
        message_len: total,
    })
}
