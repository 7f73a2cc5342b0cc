//! Encrypted and Authenticated payload SK (RFC 7296 §3.14) and its
//! fragment form SKF (RFC 7383 §2.5).
//!
//! The wire layer cannot split IV ‖ ciphertext ‖ ICV without knowing the
//! negotiated algorithm, so both payloads keep the raw body; the IKE core
//! calls [`split_encrypted`] with the IV and ICV lengths of its transform.
//! The SK generic header's Next Payload field names the *first inner*
//! payload, not a following one: SK is always the last payload.

use std::borrow::Cow;

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireError, WireErrorKind};
use crate::payload::{own, Bytes};
use crate::registry::PayloadType;

/// SK payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sk<'a> {
    /// Type of the first payload inside the encrypted data (the generic
    /// header's Next Payload field).
    pub first_inner: PayloadType,
    /// IV ‖ encrypted (inner payloads ‖ padding ‖ pad length) ‖ ICV.
    pub body: Bytes<'a>,
}

/// SKF payload (RFC 7383).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skf<'a> {
    /// First inner payload type in fragment 1; zero in the others.
    pub first_inner: PayloadType,
    /// Fragment Number, starting at 1.
    pub fragment_number: u16,
    /// Total Fragments.
    pub total_fragments: u16,
    /// IV ‖ encrypted content ‖ ICV.
    pub body: Bytes<'a>,
}

/// The parts of an encrypted body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncryptedParts<'b> {
    /// Initialization Vector.
    pub iv: &'b [u8],
    /// Encrypted inner payloads, padding and pad length.
    pub ciphertext: &'b [u8],
    /// Integrity Checksum Data (or AEAD tag).
    pub icv: &'b [u8],
}

/// Splits an SK/SKF body given the transform's IV and ICV lengths.
pub fn split_encrypted(body: &[u8], iv_len: usize, icv_len: usize) -> Result<EncryptedParts<'_>> {
    let need = iv_len.saturating_add(icv_len);
    if body.len() < need {
        return Err(WireError::new(
            Context::Payload(PayloadType::SK),
            "encrypted_body",
            0,
            WireErrorKind::Truncated {
                needed: need,
                available: body.len(),
            },
        ));
    }
    let (iv, rest) = body.split_at(iv_len);
    let (ciphertext, icv) = rest.split_at(rest.len() - icv_len);
    Ok(EncryptedParts {
        iv,
        ciphertext,
        icv,
    })
}

/// Appends Padding and Pad Length to SK plaintext (RFC 7296 §3.14) so that
/// plaintext ‖ padding ‖ pad length is a multiple of `block_size` (use 1
/// for AEAD modes with no block alignment, which still carry Pad Length).
/// The padding octets are zero; RFC 7296 lets them hold any value.
pub fn append_padding(plaintext: &mut Vec<u8>, block_size: usize) {
    let block = block_size.clamp(1, 256);
    let pad = (block - (plaintext.len() + 1) % block) % block;
    plaintext.resize(plaintext.len() + pad, 0);
    // `pad` < block <= 256, so it fits the one-octet Pad Length.
    plaintext.push(u8::try_from(pad).unwrap_or(u8::MAX));
}

/// Removes Padding and Pad Length from decrypted SK content, returning the
/// inner payload chain. Fails if Pad Length claims more bytes than exist.
pub fn strip_padding(decrypted: &[u8]) -> Result<&[u8]> {
    let err = |kind| {
        WireError::new(
            Context::Payload(PayloadType::SK),
            "pad_length",
            decrypted.len().saturating_sub(1),
            kind,
        )
    };
    let (&pad, rest) = decrypted.split_last().ok_or_else(|| {
        err(WireErrorKind::Truncated {
            needed: 1,
            available: 0,
        })
    })?;
    let pad = pad as usize;
    if pad > rest.len() {
        return Err(err(WireErrorKind::BadLength { value: pad }));
    }
    Ok(&rest[..rest.len() - pad])
}

impl<'a> Sk<'a> {
    /// An SK payload.
    pub fn new(first_inner: PayloadType, body: impl Into<Bytes<'a>>) -> Self {
        Self {
            first_inner,
            body: body.into(),
        }
    }

    /// [`split_encrypted`] on this payload's body.
    pub fn split(&self, iv_len: usize, icv_len: usize) -> Result<EncryptedParts<'_>> {
        split_encrypted(&self.body, iv_len, icv_len)
    }

    /// Parses an SK body; `first_inner` comes from the generic header.
    pub fn parse(first_inner: PayloadType, r: &mut Reader<'a>) -> Result<Self> {
        Ok(Self {
            first_inner,
            body: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits an SK body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.bytes(&self.body);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Sk<'static> {
        Sk {
            first_inner: self.first_inner,
            body: own(self.body),
        }
    }
}

impl<'a> Skf<'a> {
    /// An SKF payload.
    pub fn new(
        first_inner: PayloadType,
        fragment_number: u16,
        total_fragments: u16,
        body: impl Into<Bytes<'a>>,
    ) -> Self {
        Self {
            first_inner,
            fragment_number,
            total_fragments,
            body: body.into(),
        }
    }

    /// [`split_encrypted`] on this payload's body.
    pub fn split(&self, iv_len: usize, icv_len: usize) -> Result<EncryptedParts<'_>> {
        split_encrypted(&self.body, iv_len, icv_len)
    }

    /// Parses an SKF body. RFC 7383 §2.5: Fragment Number starts at 1 and
    /// "MUST be less than or equal to" Total Fragments.
    pub fn parse(first_inner: PayloadType, r: &mut Reader<'a>) -> Result<Self> {
        let at = r.offset();
        let fragment_number = r.u16("fragment_number")?;
        let total_fragments = r.u16("total_fragments")?;
        if fragment_number == 0 || fragment_number > total_fragments {
            return Err(r.err_at(
                "fragment_number",
                at,
                WireErrorKind::InvalidValue {
                    value: fragment_number.into(),
                },
            ));
        }
        Ok(Self {
            first_inner,
            fragment_number,
            total_fragments,
            body: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits an SKF body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.fragment_number == 0 || self.fragment_number > self.total_fragments {
            return Err(w.err(
                "fragment_number",
                WireErrorKind::InvalidValue {
                    value: self.fragment_number.into(),
                },
            ));
        }
        w.u16(self.fragment_number);
        w.u16(self.total_fragments);
        w.bytes(&self.body);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Skf<'static> {
        Skf {
            first_inner: self.first_inner,
            fragment_number: self.fragment_number,
            total_fragments: self.total_fragments,
            body: own(self.body),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        let body: Vec<u8> = (0..40).collect();
        let p = split_encrypted(&body, 8, 16).unwrap();
        assert_eq!(
            (p.iv, p.ciphertext.len(), p.icv),
            (&body[..8], 16, &body[24..])
        );
        assert!(split_encrypted(&body, 30, 16).is_err());
        assert!(split_encrypted(&body, usize::MAX, 1).is_err());
    }

    #[test]
    fn padding() {
        for block in [1, 4, 8, 16] {
            for len in 0..40 {
                let mut v = vec![0xab; len];
                append_padding(&mut v, block);
                assert_eq!(v.len() % block, 0, "{block} {len}");
                assert!(v.len() - len <= block);
                assert_eq!(strip_padding(&v).unwrap(), &vec![0xab; len][..]);
            }
        }
        assert!(strip_padding(&[]).is_err());
        assert!(strip_padding(&[1, 2, 5]).is_err());
        assert_eq!(strip_padding(&[9, 0, 1]).unwrap(), &[9]);
    }

    #[test]
    fn skf_deconstruct_construct() {
        let b = [0x00, 0x02, 0x00, 0x05, 0xaa, 0xbb];
        let mut r = Reader::new(&b, 0, Context::Payload(PayloadType::SKF));
        let f = Skf::parse(PayloadType::NO_NEXT_PAYLOAD, &mut r).unwrap();
        assert_eq!(
            (f.fragment_number, f.total_fragments, &f.body[..]),
            (2, 5, &[0xaa, 0xbb][..])
        );
        let mut v = Vec::new();
        f.emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::SKF)))
            .unwrap();
        assert_eq!(v, b);
    }

    #[test]
    fn skf_numbers_checked() {
        for b in [[0u8, 0, 0, 5], [0, 6, 0, 5]] {
            let mut r = Reader::new(&b, 0, Context::Payload(PayloadType::SKF));
            let e = Skf::parse(PayloadType::IDI, &mut r).unwrap_err();
            assert_eq!(e.field, "fragment_number");
        }
        for n in 0..4 {
            let b = [0u8, 1, 0, 1];
            let mut r = Reader::new(&b[..n], 0, Context::Payload(PayloadType::SKF));
            assert!(Skf::parse(PayloadType::IDI, &mut r).is_err());
        }
    }
}
