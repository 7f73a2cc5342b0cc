//! EAP payload (RFC 7296 §3.16): one EAP packet (RFC 3748 §4) whose own
//! Length field must equal the payload body length.

use std::borrow::Cow;

use crate::codec::{Reader, Writer};
use crate::error::Result;
use crate::error::WireErrorKind;
use crate::payload::{own, Bytes};
use crate::registry::EapCode;

/// EAP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eap<'a> {
    /// Request, Response, Success, Failure, ….
    pub code: EapCode,
    /// Identifier matching responses to requests.
    pub identifier: u8,
    /// Type octet, present for Request and Response (and any code whose
    /// packet is longer than 4 bytes).
    pub eap_type: Option<u8>,
    /// Type-Data.
    pub data: Bytes<'a>,
}

impl<'a> Eap<'a> {
    /// An EAP payload.
    pub fn new(
        code: EapCode,
        identifier: u8,
        eap_type: Option<u8>,
        data: impl Into<Bytes<'a>>,
    ) -> Self {
        Self {
            code,
            identifier,
            eap_type,
            data: data.into(),
        }
    }

    /// Parses an EAP body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let total = r.remaining();
        let code = EapCode(r.u8("code")?);
        let identifier = r.u8("identifier")?;
        let len_at = r.offset();
        let len = r.u16("length")? as usize;
        if len != total {
            return Err(r.err_at("length", len_at, WireErrorKind::BadLength { value: len }));
        }
        let eap_type = if r.is_empty() {
            None
        } else {
            Some(r.u8("type")?)
        };
        if eap_type.is_none() && matches!(code, EapCode::REQUEST | EapCode::RESPONSE) {
            return Err(r.err(
                "type",
                WireErrorKind::Truncated {
                    needed: 1,
                    available: 0,
                },
            ));
        }
        Ok(Self {
            code,
            identifier,
            eap_type,
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits an EAP body. Data without a type octet cannot be represented.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.eap_type.is_none()
            && (!self.data.is_empty() || matches!(self.code, EapCode::REQUEST | EapCode::RESPONSE))
        {
            return Err(w.err("type", WireErrorKind::InvalidValue { value: 0 }));
        }
        let start = w.len();
        w.u8(self.code.0);
        w.u8(self.identifier);
        let m = w.reserve_u16();
        if let Some(t) = self.eap_type {
            w.u8(t);
        }
        w.bytes(&self.data);
        w.patch_len_u16(m, start, "length")
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Eap<'static> {
        Eap {
            code: self.code,
            identifier: self.identifier,
            eap_type: self.eap_type,
            data: own(self.data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Context;
    use crate::registry::PayloadType;

    const IDENTITY_REQUEST: [u8; 5] = [0x01, 0x07, 0x00, 0x05, 0x01];

    fn parse(b: &[u8]) -> Result<Eap<'_>> {
        Eap::parse(&mut Reader::new(b, 0, Context::Payload(PayloadType::EAP)))
    }

    #[test]
    fn deconstruct() {
        let e = parse(&IDENTITY_REQUEST).unwrap();
        assert_eq!(
            (e.code, e.identifier, e.eap_type, e.data.len()),
            (EapCode::REQUEST, 7, Some(1), 0)
        );
        let s = parse(&[0x03, 0x07, 0x00, 0x04]).unwrap();
        assert_eq!((s.code, s.eap_type), (EapCode::SUCCESS, None));
    }

    #[test]
    fn construct() {
        let mut v = Vec::new();
        Eap::new(EapCode::REQUEST, 7, Some(1), Vec::new())
            .emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::EAP)))
            .unwrap();
        assert_eq!(v, IDENTITY_REQUEST);
        let bad = Eap::new(EapCode::RESPONSE, 1, None, Vec::new());
        assert!(bad
            .emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::EAP)))
            .is_err());
    }

    #[test]
    fn truncated() {
        for n in 0..IDENTITY_REQUEST.len() {
            assert!(parse(&IDENTITY_REQUEST[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn length_must_match_payload() {
        let e = parse(&[0x02, 0x07, 0x00, 0x09, 0x01]).unwrap_err();
        assert_eq!((e.field, e.offset), ("length", 2));
    }
}
