//! Security Association payload (RFC 7296 §3.3): proposals (§3.3.1),
//! transforms (§3.3.2) and transform attributes (§3.3.5).
//!
//! "When parsing an SA, an implementation MUST check that the total Payload
//! Length is consistent with the payload's internal lengths and counts" —
//! each proposal and transform is read through a sub-reader carved from its
//! own length field, the Num Transforms count is checked against what was
//! found, and the Last Substruc octet must agree with the position.

use std::borrow::Cow;

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireErrorKind};
use crate::payload::{own, Bytes};
use crate::registry::{ProtocolId, TransformAttributeType, TransformType};

/// Most proposals accepted in one SA payload (allocation bound).
pub const MAX_PROPOSALS: usize = 64;
/// Most transforms accepted in one proposal (the count field is one octet).
pub const MAX_TRANSFORMS: usize = 255;
/// Most attributes accepted in one transform (allocation bound).
pub const MAX_TRANSFORM_ATTRIBUTES: usize = 16;

const LAST_PROPOSAL_MORE: u8 = 2;
const LAST_TRANSFORM_MORE: u8 = 3;

/// SA payload: proposals in order of preference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sa<'a> {
    /// Proposals, most preferred first.
    pub proposals: Vec<Proposal<'a>>,
}

/// One proposal (RFC 7296 §3.3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal<'a> {
    /// Proposal Num: 1 for the first, +1 for each following; a responder
    /// echoes the number of the proposal it chose.
    pub number: u8,
    /// IKE, AH or ESP.
    pub protocol_id: ProtocolId,
    /// The sending entity's SPI: empty in the initial IKE_SA_INIT, 8 bytes
    /// when rekeying the IKE SA, 4 bytes for AH/ESP.
    pub spi: Bytes<'a>,
    /// The transforms offered.
    pub transforms: Vec<Transform<'a>>,
}

/// One transform (RFC 7296 §3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transform<'a> {
    /// ENCR, PRF, INTEG, KE, ESN, ADDKEn.
    pub transform_type: TransformType,
    /// Algorithm ID within the type's registry (see [`TransformType::id_name`]).
    pub transform_id: u16,
    /// Attributes; in practice only Key Length.
    pub attributes: Vec<TransformAttribute<'a>>,
}

/// One transform attribute (RFC 7296 §3.3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformAttribute<'a> {
    /// Attribute type without the AF bit.
    pub attribute_type: TransformAttributeType,
    /// TV (AF=1) or TLV (AF=0) value.
    pub value: AttributeValue<'a>,
}

/// An attribute value: two bytes inline (TV) or length-prefixed (TLV).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue<'a> {
    /// Type/Value format (AF bit set).
    Tv(u16),
    /// Type/Length/Value format (AF bit clear).
    Tlv(Bytes<'a>),
}

impl<'a> Sa<'a> {
    /// An SA payload with these proposals.
    pub fn new(proposals: Vec<Proposal<'a>>) -> Self {
        Self { proposals }
    }

    /// Parses an SA payload body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let mut proposals = Vec::new();
        while !r.is_empty() {
            if proposals.len() == MAX_PROPOSALS {
                return Err(r.err("proposals", WireErrorKind::TooMany { max: MAX_PROPOSALS }));
            }
            let start = r.offset();
            let mut hdr = r.clone();
            hdr.set_context(Context::Proposal);
            let last = hdr.u8("last_substruc")?;
            hdr.skip(1, "reserved")?;
            let len_at = hdr.offset();
            let len = hdr.u16("proposal_length")? as usize;
            if len < 8 {
                return Err(hdr.err_at(
                    "proposal_length",
                    len_at,
                    WireErrorKind::BadLength { value: len },
                ));
            }
            if len > r.remaining() {
                return Err(hdr.err_at(
                    "proposal_length",
                    len_at,
                    WireErrorKind::Truncated {
                        needed: len,
                        available: r.remaining(),
                    },
                ));
            }
            let mut p = r.sub(len, "proposal", Context::Proposal)?;
            let is_last = r.is_empty();
            let want = if is_last { 0 } else { LAST_PROPOSAL_MORE };
            if last != want {
                return Err(p.err_at(
                    "last_substruc",
                    start,
                    WireErrorKind::InvalidValue { value: last.into() },
                ));
            }
            p.skip(4, "header")?;
            proposals.push(Proposal::parse(&mut p)?);
        }
        Ok(Sa { proposals })
    }

    /// Emits the SA payload body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let n = self.proposals.len();
        for (i, p) in self.proposals.iter().enumerate() {
            w.set_context(Context::Proposal);
            let start = w.len();
            w.u8(if i + 1 == n { 0 } else { LAST_PROPOSAL_MORE });
            w.u8(0);
            let m = w.reserve_u16();
            p.emit(w)?;
            w.set_context(Context::Proposal);
            w.patch_len_u16(m, start, "proposal_length")?;
        }
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Sa<'static> {
        Sa {
            proposals: self
                .proposals
                .into_iter()
                .map(Proposal::into_owned)
                .collect(),
        }
    }
}

impl<'a> Proposal<'a> {
    /// A proposal; `spi` may be empty.
    pub fn new(
        number: u8,
        protocol_id: ProtocolId,
        spi: impl Into<Bytes<'a>>,
        transforms: Vec<Transform<'a>>,
    ) -> Self {
        Self {
            number,
            protocol_id,
            spi: spi.into(),
            transforms,
        }
    }

    /// Parses the part after the 4-byte substructure header.
    fn parse(p: &mut Reader<'a>) -> Result<Self> {
        let count_at = p.offset() + 3;
        let number = p.u8("proposal_num")?;
        let protocol_id = ProtocolId(p.u8("protocol_id")?);
        let spi_size = p.u8("spi_size")? as usize;
        let num_transforms = p.u8("num_transforms")? as usize;
        let spi = p.take(spi_size, "spi")?;
        let mut transforms = Vec::with_capacity(num_transforms.min(32));
        while !p.is_empty() {
            if transforms.len() == MAX_TRANSFORMS {
                return Err(p.err(
                    "transforms",
                    WireErrorKind::TooMany {
                        max: MAX_TRANSFORMS,
                    },
                ));
            }
            let start = p.offset();
            let mut hdr = p.clone();
            hdr.set_context(Context::Transform);
            let last = hdr.u8("last_substruc")?;
            hdr.skip(1, "reserved")?;
            let len_at = hdr.offset();
            let len = hdr.u16("transform_length")? as usize;
            if len < 8 {
                return Err(hdr.err_at(
                    "transform_length",
                    len_at,
                    WireErrorKind::BadLength { value: len },
                ));
            }
            if len > p.remaining() {
                return Err(hdr.err_at(
                    "transform_length",
                    len_at,
                    WireErrorKind::Truncated {
                        needed: len,
                        available: p.remaining(),
                    },
                ));
            }
            let mut t = p.sub(len, "transform", Context::Transform)?;
            let want = if p.is_empty() { 0 } else { LAST_TRANSFORM_MORE };
            if last != want {
                return Err(t.err_at(
                    "last_substruc",
                    start,
                    WireErrorKind::InvalidValue { value: last.into() },
                ));
            }
            t.skip(4, "header")?;
            transforms.push(Transform::parse(&mut t)?);
        }
        if transforms.len() != num_transforms {
            return Err(p.err_at(
                "num_transforms",
                count_at,
                WireErrorKind::CountMismatch {
                    declared: num_transforms,
                    found: transforms.len(),
                },
            ));
        }
        Ok(Proposal {
            number,
            protocol_id,
            spi: Cow::Borrowed(spi),
            transforms,
        })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.number);
        w.u8(self.protocol_id.0);
        let spi_size = w.fit_u8(self.spi.len(), "spi_size")?;
        w.u8(spi_size);
        let nt = w.fit_u8(self.transforms.len(), "num_transforms")?;
        w.u8(nt);
        w.bytes(&self.spi);
        let n = self.transforms.len();
        for (i, t) in self.transforms.iter().enumerate() {
            w.set_context(Context::Transform);
            let start = w.len();
            w.u8(if i + 1 == n { 0 } else { LAST_TRANSFORM_MORE });
            w.u8(0);
            let m = w.reserve_u16();
            t.emit(w)?;
            w.set_context(Context::Transform);
            w.patch_len_u16(m, start, "transform_length")?;
        }
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Proposal<'static> {
        Proposal {
            number: self.number,
            protocol_id: self.protocol_id,
            spi: own(self.spi),
            transforms: self
                .transforms
                .into_iter()
                .map(Transform::into_owned)
                .collect(),
        }
    }

    /// The transforms of one type, in order.
    pub fn transforms_of(&self, ty: TransformType) -> impl Iterator<Item = &Transform<'a>> {
        self.transforms
            .iter()
            .filter(move |t| t.transform_type == ty)
    }
}

impl<'a> Transform<'a> {
    /// A transform without attributes.
    pub fn new(transform_type: TransformType, transform_id: impl Into<u16>) -> Self {
        Self {
            transform_type,
            transform_id: transform_id.into(),
            attributes: Vec::new(),
        }
    }

    /// A transform with a Key Length attribute (bits), as AES-CBC/CTR/GCM need.
    pub fn with_key_length(
        transform_type: TransformType,
        transform_id: impl Into<u16>,
        bits: u16,
    ) -> Self {
        Self {
            transform_type,
            transform_id: transform_id.into(),
            attributes: vec![TransformAttribute {
                attribute_type: TransformAttributeType::KEY_LENGTH,
                value: AttributeValue::Tv(bits),
            }],
        }
    }

    /// The Key Length attribute, in bits, if present in TV form.
    pub fn key_length(&self) -> Option<u16> {
        self.attributes
            .iter()
            .find_map(|a| match (a.attribute_type, &a.value) {
                (TransformAttributeType::KEY_LENGTH, AttributeValue::Tv(v)) => Some(*v),
                _ => None,
            })
    }

    /// The IANA name of the transform ID.
    pub fn id_name(&self) -> Option<&'static str> {
        self.transform_type.id_name(self.transform_id)
    }

    fn parse(t: &mut Reader<'a>) -> Result<Self> {
        let transform_type = TransformType(t.u8("transform_type")?);
        t.skip(1, "reserved")?;
        let transform_id = t.u16("transform_id")?;
        let mut attributes = Vec::new();
        t.set_context(Context::TransformAttribute);
        while !t.is_empty() {
            if attributes.len() == MAX_TRANSFORM_ATTRIBUTES {
                return Err(t.err(
                    "attributes",
                    WireErrorKind::TooMany {
                        max: MAX_TRANSFORM_ATTRIBUTES,
                    },
                ));
            }
            let ty = t.u16("attribute_type")?;
            let attribute_type = TransformAttributeType(ty & 0x7fff);
            let value = if ty & 0x8000 != 0 {
                AttributeValue::Tv(t.u16("attribute_value")?)
            } else {
                let len = t.u16("attribute_length")? as usize;
                AttributeValue::Tlv(Cow::Borrowed(t.take(len, "attribute_value")?))
            };
            attributes.push(TransformAttribute {
                attribute_type,
                value,
            });
        }
        Ok(Transform {
            transform_type,
            transform_id,
            attributes,
        })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.transform_type.0);
        w.u8(0);
        w.u16(self.transform_id);
        w.set_context(Context::TransformAttribute);
        for a in &self.attributes {
            if a.attribute_type.0 > 0x7fff {
                return Err(w.err(
                    "attribute_type",
                    WireErrorKind::Overflow {
                        value: a.attribute_type.0.into(),
                        max: 0x7fff,
                    },
                ));
            }
            match &a.value {
                AttributeValue::Tv(v) => {
                    w.u16(0x8000 | a.attribute_type.0);
                    w.u16(*v);
                }
                AttributeValue::Tlv(b) => {
                    w.u16(a.attribute_type.0);
                    let len = w.fit_u16(b.len(), "attribute_length")?;
                    w.u16(len);
                    w.bytes(b);
                }
            }
        }
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Transform<'static> {
        Transform {
            transform_type: self.transform_type,
            transform_id: self.transform_id,
            attributes: self
                .attributes
                .into_iter()
                .map(|a| TransformAttribute {
                    attribute_type: a.attribute_type,
                    value: match a.value {
                        AttributeValue::Tv(v) => AttributeValue::Tv(v),
                        AttributeValue::Tlv(b) => AttributeValue::Tlv(own(b)),
                    },
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{EncrId, EsnId, PayloadType};

    // One ESP proposal: SPI c0010203, AES-GCM-16/256 and no ESN.
    static BODY: [u8; 32] = [
        0x00, 0x00, 0x00, 0x20, 0x01, 0x03, 0x04, 0x02, 0xc0, 0x01, 0x02, 0x03, // proposal
        0x03, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x14, 0x80, 0x0e, 0x01, 0x00, // ENCR
        0x00, 0x00, 0x00, 0x08, 0x05, 0x00, 0x00, 0x00, // ESN
    ];

    fn parse(b: &[u8]) -> Result<Sa<'_>> {
        Sa::parse(&mut Reader::new(b, 100, Context::Payload(PayloadType::SA)))
    }

    fn repr() -> Sa<'static> {
        Sa::new(vec![Proposal::new(
            1,
            ProtocolId::ESP,
            vec![0xc0, 0x01, 0x02, 0x03],
            vec![
                Transform::with_key_length(TransformType::ENCR, EncrId::ENCR_AES_GCM_16, 256),
                Transform::new(TransformType::ESN, EsnId::NO_ESN),
            ],
        )])
    }

    #[test]
    fn deconstruct() {
        let sa = parse(&BODY).unwrap();
        assert_eq!(sa, repr());
        let p = &sa.proposals[0];
        assert_eq!(p.transforms_of(TransformType::ENCR).count(), 1);
        assert_eq!(p.transforms[0].key_length(), Some(256));
        assert_eq!(p.transforms[1].key_length(), None);
    }

    #[test]
    fn construct() {
        let mut v = vec![0xee; 3];
        repr()
            .emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::SA)))
            .unwrap();
        assert_eq!(&v[..3], &[0xee; 3]);
        assert_eq!(&v[3..], &BODY);
    }

    #[test]
    fn truncated() {
        assert_eq!(parse(&[]).unwrap(), Sa::default());
        for n in 1..BODY.len() {
            assert!(parse(&BODY[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn last_substruc_checked() {
        let mut b = BODY;
        b[0] = 2; // claims more proposals follow
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.context, e.field, e.offset),
            (Context::Proposal, "last_substruc", 100)
        );
        let mut b = BODY;
        b[12] = 0; // first transform claims to be last
        let e = parse(&b).unwrap_err();
        assert_eq!(
            (e.context, e.field, e.offset),
            (Context::Transform, "last_substruc", 112)
        );
    }

    #[test]
    fn num_transforms_checked() {
        let mut b = BODY;
        b[7] = 3;
        let e = parse(&b).unwrap_err();
        assert_eq!(e.field, "num_transforms");
        assert_eq!(e.offset, 107);
        assert_eq!(
            e.kind,
            WireErrorKind::CountMismatch {
                declared: 3,
                found: 2
            }
        );
    }

    #[test]
    fn tlv_attribute() {
        let t = Transform {
            transform_type: TransformType(200),
            transform_id: 7,
            attributes: vec![TransformAttribute {
                attribute_type: TransformAttributeType(0x1234),
                value: AttributeValue::Tlv(Cow::Borrowed(&[1, 2, 3])),
            }],
        };
        let sa = Sa::new(vec![Proposal::new(1, ProtocolId::IKE, Vec::new(), vec![t])]);
        let mut v = Vec::new();
        sa.emit(&mut Writer::new(&mut v, Context::Payload(PayloadType::SA)))
            .unwrap();
        assert_eq!(&v[16..], &[0x12, 0x34, 0x00, 0x03, 1, 2, 3]);
        assert_eq!(parse(&v).unwrap(), sa);
    }

    #[test]
    fn proposal_cap() {
        let one = [0u8, 0, 0, 8, 1, 1, 0, 0];
        let mut b = Vec::new();
        for _ in 0..=MAX_PROPOSALS {
            b.extend_from_slice(&one);
            let at = b.len() - 8;
            b[at] = LAST_PROPOSAL_MORE;
        }
        let l = b.len();
        b[l - 8] = 0;
        assert_eq!(
            parse(&b).unwrap_err().kind,
            WireErrorKind::TooMany { max: MAX_PROPOSALS }
        );
    }
}
