//! The simple payloads of RFC 7296 §3: Key Exchange (§3.4), Identification
//! (§3.5), Certificate (§3.6), Certificate Request (§3.7), Authentication
//! (§3.8, with RFC 7427 Digital Signature), Nonce (§3.9), Delete (§3.11)
//! and Vendor ID (§3.12).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireError, WireErrorKind};
use crate::payload::{own, Bytes};
use crate::registry::{AuthMethod, CertEncoding, IdType, KeMethod, PayloadType, ProtocolId};

/// Smallest nonce RFC 7296 §3.9 allows ("at least 128 bits").
pub const NONCE_MIN_LEN: usize = 16;
/// Largest nonce RFC 7296 §3.9 allows.
pub const NONCE_MAX_LEN: usize = 256;

/// Key Exchange payload (§3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ke<'a> {
    /// Key Exchange Method (Diffie-Hellman group) number.
    pub group: KeMethod,
    /// The public value / KEM ciphertext.
    pub data: Bytes<'a>,
}

impl<'a> Ke<'a> {
    /// A KE payload.
    pub fn new(group: KeMethod, data: impl Into<Bytes<'a>>) -> Self {
        Self {
            group,
            data: data.into(),
        }
    }

    /// Parses a KE body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let group = KeMethod(r.u16("group")?);
        r.skip(2, "reserved")?;
        Ok(Self {
            group,
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits a KE body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u16(self.group.0);
        w.u16(0);
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Ke<'static> {
        Ke {
            group: self.group,
            data: own(self.data),
        }
    }
}

/// Identification payload, IDi or IDr (§3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id<'a> {
    /// ID type.
    pub id_type: IdType,
    /// Identification data, interpreted per `id_type` (see [`Id::value`]).
    pub data: Bytes<'a>,
}

/// A typed view of identification data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdValue<'b> {
    /// ID_IPV4_ADDR.
    Ipv4(Ipv4Addr),
    /// ID_IPV6_ADDR.
    Ipv6(Ipv6Addr),
    /// ID_FQDN (ASCII; not validated beyond UTF-8).
    Fqdn(&'b str),
    /// ID_RFC822_ADDR.
    Rfc822(&'b str),
    /// ID_DER_ASN1_DN: a DER-encoded X.500 Name.
    DerAsn1Dn(&'b [u8]),
    /// ID_DER_ASN1_GN: a DER-encoded GeneralName.
    DerAsn1Gn(&'b [u8]),
    /// ID_KEY_ID: opaque octets.
    KeyId(&'b [u8]),
    /// ID_NULL (RFC 7619): the data is empty.
    Null,
    /// Any other type, or data that did not decode.
    Other(&'b [u8]),
}

impl<'a> Id<'a> {
    /// An ID payload.
    pub fn new(id_type: IdType, data: impl Into<Bytes<'a>>) -> Self {
        Self {
            id_type,
            data: data.into(),
        }
    }

    /// ID_IPV4_ADDR.
    pub fn ipv4(a: Ipv4Addr) -> Id<'static> {
        Id {
            id_type: IdType::ID_IPV4_ADDR,
            data: Cow::Owned(a.octets().to_vec()),
        }
    }

    /// ID_IPV6_ADDR.
    pub fn ipv6(a: Ipv6Addr) -> Id<'static> {
        Id {
            id_type: IdType::ID_IPV6_ADDR,
            data: Cow::Owned(a.octets().to_vec()),
        }
    }

    /// ID_FQDN.
    pub fn fqdn(name: &'a str) -> Self {
        Self {
            id_type: IdType::ID_FQDN,
            data: Cow::Borrowed(name.as_bytes()),
        }
    }

    /// ID_RFC822_ADDR.
    pub fn rfc822(addr: &'a str) -> Self {
        Self {
            id_type: IdType::ID_RFC822_ADDR,
            data: Cow::Borrowed(addr.as_bytes()),
        }
    }

    /// The data decoded per the ID type; malformed data (a 3-byte IPv4
    /// address, non-UTF-8 FQDN) decodes to [`IdValue::Other`].
    pub fn value(&self) -> IdValue<'_> {
        let d: &[u8] = &self.data;
        match self.id_type {
            IdType::ID_IPV4_ADDR => match <[u8; 4]>::try_from(d) {
                Ok(a) => IdValue::Ipv4(Ipv4Addr::from(a)),
                Err(_) => IdValue::Other(d),
            },
            IdType::ID_IPV6_ADDR => match <[u8; 16]>::try_from(d) {
                Ok(a) => IdValue::Ipv6(Ipv6Addr::from(a)),
                Err(_) => IdValue::Other(d),
            },
            IdType::ID_FQDN => core::str::from_utf8(d).map_or(IdValue::Other(d), IdValue::Fqdn),
            IdType::ID_RFC822_ADDR => {
                core::str::from_utf8(d).map_or(IdValue::Other(d), IdValue::Rfc822)
            }
            IdType::ID_DER_ASN1_DN => IdValue::DerAsn1Dn(d),
            IdType::ID_DER_ASN1_GN => IdValue::DerAsn1Gn(d),
            IdType::ID_KEY_ID => IdValue::KeyId(d),
            IdType::ID_NULL if d.is_empty() => IdValue::Null,
            _ => IdValue::Other(d),
        }
    }

    /// Parses an ID body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let id_type = IdType(r.u8("id_type")?);
        r.skip(3, "reserved")?;
        Ok(Self {
            id_type,
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits an ID body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.id_type.0);
        w.zeros(3);
        w.bytes(&self.data);
        Ok(())
    }

    /// The body bytes as sent (ID type, three zero bytes, data): the
    /// `RestOfInitIDPayload` / `RestOfRespIDPayload` that AUTH signs
    /// (RFC 7296 §2.15) when the payload was built locally. For a received
    /// payload, sign/verify over the received body bytes instead
    /// ([`crate::payload::RawPayload::body`]), since RESERVED may be non-zero.
    pub fn body_bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(4 + self.data.len());
        v.push(self.id_type.0);
        v.extend_from_slice(&[0, 0, 0]);
        v.extend_from_slice(&self.data);
        v
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Id<'static> {
        Id {
            id_type: self.id_type,
            data: own(self.data),
        }
    }
}

/// Certificate payload (§3.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cert<'a> {
    /// Certificate encoding.
    pub encoding: CertEncoding,
    /// Certificate data.
    pub data: Bytes<'a>,
}

impl<'a> Cert<'a> {
    /// A CERT payload.
    pub fn new(encoding: CertEncoding, data: impl Into<Bytes<'a>>) -> Self {
        Self {
            encoding,
            data: data.into(),
        }
    }

    /// Parses a CERT or CERTREQ body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let encoding = CertEncoding(r.u8("cert_encoding")?);
        Ok(Self {
            encoding,
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits a CERT or CERTREQ body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.encoding.0);
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Cert<'static> {
        Cert {
            encoding: self.encoding,
            data: own(self.data),
        }
    }
}

/// Certificate Request payload (§3.7); same layout as CERT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertReq<'a> {
    /// Requested certificate encoding.
    pub encoding: CertEncoding,
    /// Certification Authority data; for X.509 a concatenation of SHA-1
    /// hashes of trusted CA public keys (see [`CertReq::ca_hashes`]).
    pub data: Bytes<'a>,
}

impl<'a> CertReq<'a> {
    /// A CERTREQ payload.
    pub fn new(encoding: CertEncoding, data: impl Into<Bytes<'a>>) -> Self {
        Self {
            encoding,
            data: data.into(),
        }
    }

    /// The 20-byte SHA-1 key hashes of an X.509 request, or `None` if the
    /// data is not a multiple of 20 bytes.
    pub fn ca_hashes(&self) -> Option<impl Iterator<Item = &[u8]>> {
        (self.data.len() % 20 == 0).then(|| self.data.chunks_exact(20))
    }

    /// Parses a CERTREQ body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let c = Cert::parse(r)?;
        Ok(Self {
            encoding: c.encoding,
            data: c.data,
        })
    }

    /// Emits a CERTREQ body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.encoding.0);
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> CertReq<'static> {
        CertReq {
            encoding: self.encoding,
            data: own(self.data),
        }
    }
}

/// Authentication payload (§3.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Auth<'a> {
    /// Authentication method.
    pub method: AuthMethod,
    /// Authentication data; for [`AuthMethod::DIGITAL_SIGNATURE`] see
    /// [`Auth::digital_signature`].
    pub data: Bytes<'a>,
}

/// The parts of RFC 7427 Digital Signature authentication data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureData<'b> {
    /// DER-encoded ASN.1 AlgorithmIdentifier.
    pub algorithm_identifier: &'b [u8],
    /// The signature value.
    pub signature: &'b [u8],
}

impl<'a> Auth<'a> {
    /// An AUTH payload.
    pub fn new(method: AuthMethod, data: impl Into<Bytes<'a>>) -> Self {
        Self {
            method,
            data: data.into(),
        }
    }

    /// An RFC 7427 Digital Signature AUTH payload: one-octet length of the
    /// AlgorithmIdentifier, the AlgorithmIdentifier, the signature.
    pub fn digital_signature(
        algorithm_identifier: &[u8],
        signature: &[u8],
    ) -> Result<Auth<'static>> {
        let len = u8::try_from(algorithm_identifier.len()).map_err(|_| {
            WireError::new(
                Context::Payload(PayloadType::AUTH),
                "asn1_length",
                0,
                WireErrorKind::Overflow {
                    value: algorithm_identifier.len(),
                    max: 255,
                },
            )
        })?;
        let mut v = Vec::with_capacity(1 + algorithm_identifier.len() + signature.len());
        v.push(len);
        v.extend_from_slice(algorithm_identifier);
        v.extend_from_slice(signature);
        Ok(Auth {
            method: AuthMethod::DIGITAL_SIGNATURE,
            data: Cow::Owned(v),
        })
    }

    /// Splits RFC 7427 authentication data. `offset` is where the data
    /// starts in the message, for error reporting (0 if unknown).
    pub fn signature_data(&self, offset: usize) -> Result<SignatureData<'_>> {
        let mut r = Reader::new(&self.data, offset, Context::Payload(PayloadType::AUTH));
        let len = r.u8("asn1_length")? as usize;
        let algorithm_identifier = r.take(len, "algorithm_identifier")?;
        Ok(SignatureData {
            algorithm_identifier,
            signature: r.rest(),
        })
    }

    /// Parses an AUTH body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let method = AuthMethod(r.u8("auth_method")?);
        r.skip(3, "reserved")?;
        Ok(Self {
            method,
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits an AUTH body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.method.0);
        w.zeros(3);
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Auth<'static> {
        Auth {
            method: self.method,
            data: own(self.data),
        }
    }
}

/// Nonce payload, Ni or Nr (§3.9): 16 to 256 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce<'a> {
    /// Nonce data.
    pub data: Bytes<'a>,
}

impl<'a> Nonce<'a> {
    /// A Nonce payload (length checked when emitted).
    pub fn new(data: impl Into<Bytes<'a>>) -> Self {
        Self { data: data.into() }
    }

    /// Parses a Nonce body; "The size of the Nonce Data MUST be between 16
    /// and 256 octets, inclusive" (§3.9).
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let n = r.remaining();
        if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&n) {
            return Err(r.err("nonce_data", WireErrorKind::BadLength { value: n }));
        }
        Ok(Self {
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits a Nonce body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        if !(NONCE_MIN_LEN..=NONCE_MAX_LEN).contains(&self.data.len()) {
            return Err(w.err(
                "nonce_data",
                WireErrorKind::BadLength {
                    value: self.data.len(),
                },
            ));
        }
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Nonce<'static> {
        Nonce {
            data: own(self.data),
        }
    }
}

/// Delete payload (§3.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete<'a> {
    /// IKE (SPI size 0, no SPIs), AH or ESP (SPI size 4).
    pub protocol_id: ProtocolId,
    /// Length of each SPI.
    pub spi_size: u8,
    /// The SPIs (each `spi_size` long) of the SAs the sender will no longer use for inbound traffic.
    pub spis: Vec<Bytes<'a>>,
}

impl<'a> Delete<'a> {
    /// Delete of the IKE SA the message is protected by.
    pub fn ike() -> Delete<'static> {
        Delete {
            protocol_id: ProtocolId::IKE,
            spi_size: 0,
            spis: Vec::new(),
        }
    }

    /// Delete of ESP (or AH) SAs with 4-byte SPIs.
    pub fn child(protocol_id: ProtocolId, spis: &[u32]) -> Delete<'static> {
        Delete {
            protocol_id,
            spi_size: 4,
            spis: spis
                .iter()
                .map(|s| Cow::Owned(s.to_be_bytes().to_vec()))
                .collect(),
        }
    }

    /// The SPIs as u32 when `spi_size` is 4.
    pub fn spis_u32(&self) -> Option<Vec<u32>> {
        if self.spi_size != 4 {
            return None;
        }
        self.spis
            .iter()
            .map(|s| <[u8; 4]>::try_from(&s[..]).ok().map(u32::from_be_bytes))
            .collect()
    }

    /// Parses a Delete body. The SPI count is checked against the payload
    /// length before anything is allocated, so the list is bounded by the
    /// bytes actually present.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        let protocol_id = ProtocolId(r.u8("protocol_id")?);
        let spi_size = r.u8("spi_size")?;
        let count_at = r.offset();
        let num = r.u16("num_spis")? as usize;
        let size = spi_size as usize;
        let need = num * size;
        if (size == 0 && num != 0) || need != r.remaining() {
            return Err(r.err_at(
                "num_spis",
                count_at,
                WireErrorKind::CountMismatch {
                    declared: num,
                    found: r.remaining().checked_div(size).unwrap_or(0),
                },
            ));
        }
        let mut spis = Vec::with_capacity(num);
        for _ in 0..num {
            spis.push(Cow::Borrowed(r.take(size, "spi")?));
        }
        Ok(Self {
            protocol_id,
            spi_size,
            spis,
        })
    }

    /// Emits a Delete body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.u8(self.protocol_id.0);
        w.u8(self.spi_size);
        let n = w.fit_u16(self.spis.len(), "num_spis")?;
        w.u16(n);
        for s in &self.spis {
            if s.len() != self.spi_size as usize {
                return Err(w.err("spi", WireErrorKind::BadLength { value: s.len() }));
            }
            w.bytes(s);
        }
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> Delete<'static> {
        Delete {
            protocol_id: self.protocol_id,
            spi_size: self.spi_size,
            spis: self.spis.into_iter().map(own).collect(),
        }
    }
}

/// Vendor ID payload (§3.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorId<'a> {
    /// Vendor ID data.
    pub data: Bytes<'a>,
}

impl<'a> VendorId<'a> {
    /// A Vendor ID payload.
    pub fn new(data: impl Into<Bytes<'a>>) -> Self {
        Self { data: data.into() }
    }

    /// Parses a Vendor ID body.
    pub fn parse(r: &mut Reader<'a>) -> Result<Self> {
        Ok(Self {
            data: Cow::Borrowed(r.rest()),
        })
    }

    /// Emits a Vendor ID body.
    pub fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        w.bytes(&self.data);
        Ok(())
    }

    /// Converts into a form that owns its bytes.
    pub fn into_owned(self) -> VendorId<'static> {
        VendorId {
            data: own(self.data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd(b: &[u8], pt: PayloadType) -> Reader<'_> {
        Reader::new(b, 0, Context::Payload(pt))
    }

    fn emitted(f: impl FnOnce(&mut Writer<'_>) -> Result<()>) -> Vec<u8> {
        let mut v = Vec::new();
        f(&mut Writer::new(&mut v, Context::Chain)).unwrap();
        v
    }

    #[test]
    fn ke() {
        let b = [0x00, 0x1f, 0x00, 0x00, 9, 9];
        let ke = Ke::parse(&mut rd(&b, PayloadType::KE)).unwrap();
        assert_eq!(
            (ke.group, &ke.data[..]),
            (KeMethod::CURVE25519, &[9, 9][..])
        );
        assert_eq!(emitted(|w| ke.emit(w)), b);
        for n in 0..4 {
            assert!(Ke::parse(&mut rd(&b[..n], PayloadType::KE)).is_err());
        }
    }

    #[test]
    fn id() {
        let b = [0x02, 0x00, 0x00, 0x00, b'a', b'.', b'b'];
        let id = Id::parse(&mut rd(&b, PayloadType::IDI)).unwrap();
        assert_eq!(id.value(), IdValue::Fqdn("a.b"));
        assert_eq!(emitted(|w| id.emit(w)), b);
        assert_eq!(id.body_bytes(), b);
        for n in 0..4 {
            assert!(Id::parse(&mut rd(&b[..n], PayloadType::IDI)).is_err());
        }
        // RESERVED is ignored on receipt.
        let r = [0x02, 0xff, 0xff, 0xff, b'a'];
        assert_eq!(
            Id::parse(&mut rd(&r, PayloadType::IDI)).unwrap().value(),
            IdValue::Fqdn("a")
        );
        let v6 = Id::ipv6("2001:db8::1".parse().unwrap());
        assert_eq!(v6.value(), IdValue::Ipv6("2001:db8::1".parse().unwrap()));
        assert_eq!(Id::new(IdType::ID_NULL, Vec::new()).value(), IdValue::Null);
        assert_eq!(
            Id::new(IdType::ID_KEY_ID, vec![1]).value(),
            IdValue::KeyId(&[1])
        );
        assert_eq!(
            Id::rfc822("u@example.org").value(),
            IdValue::Rfc822("u@example.org")
        );
    }

    #[test]
    fn cert_and_certreq() {
        let b = [0x04, 0x30, 0x03];
        let c = Cert::parse(&mut rd(&b, PayloadType::CERT)).unwrap();
        assert_eq!(c.encoding, CertEncoding::X509_CERTIFICATE_SIGNATURE);
        assert_eq!(emitted(|w| c.emit(w)), b);
        assert!(Cert::parse(&mut rd(&[], PayloadType::CERT)).is_err());
        let req = CertReq::new(CertEncoding::X509_CERTIFICATE_SIGNATURE, vec![1; 40]);
        assert_eq!(req.ca_hashes().unwrap().count(), 2);
        assert!(
            CertReq::new(CertEncoding::X509_CERTIFICATE_SIGNATURE, vec![1; 21])
                .ca_hashes()
                .is_none()
        );
    }

    #[test]
    fn auth() {
        let b = [0x02, 0x00, 0x00, 0x00, 1, 2, 3];
        let a = Auth::parse(&mut rd(&b, PayloadType::AUTH)).unwrap();
        assert_eq!(
            (a.method, &a.data[..]),
            (AuthMethod::SHARED_KEY_MIC, &[1, 2, 3][..])
        );
        assert_eq!(emitted(|w| a.emit(w)), b);
        for n in 0..4 {
            assert!(Auth::parse(&mut rd(&b[..n], PayloadType::AUTH)).is_err());
        }
        assert!(Auth::digital_signature(&[0; 256], &[]).is_err());
    }

    #[test]
    fn nonce_bounds() {
        for (n, ok) in [(15, false), (16, true), (256, true), (257, false)] {
            let b = vec![7; n];
            assert_eq!(
                Nonce::parse(&mut rd(&b, PayloadType::NONCE)).is_ok(),
                ok,
                "{n}"
            );
            let mut v = Vec::new();
            assert_eq!(
                Nonce::new(b.clone())
                    .emit(&mut Writer::new(&mut v, Context::Chain))
                    .is_ok(),
                ok
            );
        }
    }

    #[test]
    fn delete() {
        let b = [0x03, 0x04, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2];
        let d = Delete::parse(&mut rd(&b, PayloadType::DELETE)).unwrap();
        assert_eq!(d, Delete::child(ProtocolId::ESP, &[1, 2]));
        assert_eq!(emitted(|w| d.emit(w)), b);
        for n in 0..b.len() {
            assert!(
                Delete::parse(&mut rd(&b[..n], PayloadType::DELETE)).is_err(),
                "{n}"
            );
        }
        let ike = [0x01, 0x00, 0x00, 0x00];
        assert_eq!(
            Delete::parse(&mut rd(&ike, PayloadType::DELETE)).unwrap(),
            Delete::ike()
        );
        // A huge count with no bytes behind it is rejected before allocating.
        let e = Delete::parse(&mut rd(&[0x03, 0x04, 0xff, 0xff], PayloadType::DELETE)).unwrap_err();
        assert_eq!((e.field, e.offset), ("num_spis", 2));
        assert!(Delete::parse(&mut rd(&[0x01, 0x00, 0x00, 0x05], PayloadType::DELETE)).is_err());
        let bad = Delete {
            protocol_id: ProtocolId::ESP,
            spi_size: 4,
            spis: vec![Cow::Borrowed(&[1, 2])],
        };
        let mut v = Vec::new();
        assert!(bad.emit(&mut Writer::new(&mut v, Context::Chain)).is_err());
    }

    #[test]
    fn vendor_id() {
        let v = VendorId::parse(&mut rd(b"xyz", PayloadType::VENDOR_ID)).unwrap();
        assert_eq!(emitted(|w| v.emit(w)), b"xyz");
    }
}
