//! X.509 certificates for IKE (RFC 7296 §3.6/§3.7, RFC 4945): loading PEM
//! or DER, trust anchors and their CERTREQ hashes, path validation through
//! rustls-webpki (aws-lc-rs verifies every signature), and the binding of
//! an IKE ID to a certificate (RFC 4945 §3.1). Failures carry the reason in
//! words (expired, untrusted issuer with its DN, …) for logs and the control
//! API.

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, ExtendedKeyUsageValidator, KeyPurposeId, KeyPurposeIdIter};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

use crate::hash::sha1;
use crate::signature::{pem_blocks, KeyKind, PublicKey};

/// Why a certificate or chain is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// Not DER X.509.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// Past notAfter.
    #[error("certificate `{subject}` expired on {not_after}")]
    Expired {
        /// Subject DN.
        subject: String,
        /// notAfter, as text.
        not_after: String,
    },
    /// Before notBefore.
    #[error("certificate `{subject}` is not valid before {not_before}")]
    NotYetValid {
        /// Subject DN.
        subject: String,
        /// notBefore.
        not_before: String,
    },
    /// No path to a configured trust anchor.
    #[error("certificate `{subject}` has an untrusted issuer `{issuer}` (no path to a configured `ca` verifies)")]
    UntrustedIssuer {
        /// Subject DN.
        subject: String,
        /// Issuer DN.
        issuer: String,
    },
    /// EKU present without an IKE-usable purpose.
    #[error("certificate `{0}` has an extended key usage that allows neither IKE, serverAuth, clientAuth nor any purpose")]
    BadKeyUsage(String),
    /// Some other validation error.
    #[error("certificate `{subject}` is not valid: {reason}")]
    Invalid {
        /// Subject DN.
        subject: String,
        /// What webpki said, in words.
        reason: String,
    },
    /// A key type we cannot use for AUTH.
    #[error("certificate `{0}` has a public key type that is not supported")]
    UnsupportedKey(String),
}

/// Reads certificates from PEM (`CERTIFICATE` blocks, in order) or one DER.
pub fn load_certs(bytes: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    let blocks = pem_blocks(bytes);
    let ders: Vec<Vec<u8>> = if blocks.is_empty() {
        vec![bytes.to_vec()]
    } else {
        blocks
            .into_iter()
            .filter(|(l, _)| l == "CERTIFICATE" || l == "X509 CERTIFICATE")
            .map(|(_, d)| d)
            .collect()
    };
    if ders.is_empty() {
        return Err(CertError::Malformed("no CERTIFICATE in the file".into()));
    }
    for d in &ders {
        CertInfo::parse(d)?;
    }
    Ok(ders)
}

/// What we show and match of one certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// The DER certificate.
    pub der: Vec<u8>,
    /// Subject DN (RFC 4514-like text).
    pub subject: String,
    /// Subject DN, DER (what ID_DER_ASN1_DN carries).
    pub subject_der: Vec<u8>,
    /// Issuer DN text.
    pub issuer: String,
    /// SAN dNSNames.
    pub dns: Vec<String>,
    /// SAN rfc822Names.
    pub email: Vec<String>,
    /// SAN iPAddresses.
    pub ips: Vec<IpAddr>,
    /// The certificate's public key.
    pub key: PublicKey,
    /// SubjectPublicKeyInfo DER.
    pub spki: Vec<u8>,
    /// notBefore / notAfter as seconds since the epoch.
    pub not_before: i64,
    /// See `not_before`.
    pub not_after: i64,
    /// notAfter as text.
    pub not_after_text: String,
    /// Whether basicConstraints says CA.
    pub is_ca: bool,
}

impl fmt::Debug for CertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertInfo")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

fn key_kind(c: &X509Certificate<'_>) -> Option<KeyKind> {
    let spki = c.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        "1.2.840.113549.1.1.1" => match spki.parsed().ok()? {
            x509_parser::public_key::PublicKey::RSA(k) => Some(KeyKind::Rsa(k.key_size() as u32)),
            _ => None,
        },
        "1.2.840.10045.2.1" => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()?
                .as_oid()
                .ok()?
                .to_id_string();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => Some(KeyKind::EcP256),
                "1.3.132.0.34" => Some(KeyKind::EcP384),
                "1.3.132.0.35" => Some(KeyKind::EcP521),
                _ => None,
            }
        }
        "1.3.101.112" => Some(KeyKind::Ed25519),
        _ => None,
    }
}

/// Renders a DER Name as text, e.g. `C=CH, O=Example, CN=moon`.
#[must_use]
pub fn dn_text(der: &[u8]) -> Option<String> {
    let (_, n) = X509Name::from_der(der).ok()?;
    Some(n.to_string())
}

/// Whether a DN in text form (`CN=moon, O=Example`; a value `*` matches
/// any value) names the DER DN `der`: the same attributes in the same
/// order, values compared without regard to case.
#[must_use]
pub fn dn_matches(pattern: &str, der: &[u8]) -> bool {
    let Ok((_, name)) = X509Name::from_der(der) else {
        return false;
    };
    let ours: Vec<(String, String)> = name
        .iter_attributes()
        .map(|a| {
            let reg = x509_parser::objects::oid_registry();
            let k = x509_parser::objects::oid2abbrev(a.attr_type(), reg)
                .map(str::to_owned)
                .unwrap_or_else(|_| a.attr_type().to_id_string());
            (k, a.as_str().unwrap_or("").to_owned())
        })
        .collect();
    let want: Vec<(String, String)> = split_dn(pattern);
    ours.len() == want.len()
        && ours.iter().zip(&want).all(|((k, v), (pk, pv))| {
            k.eq_ignore_ascii_case(pk) && (pv == "*" || v.eq_ignore_ascii_case(pv))
        })
}

/// Splits `A=b, C=d` (also `/`-separated) into pairs; `\,` escapes a comma.
fn split_dn(s: &str) -> Vec<(String, String)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut esc = false;
    let sep = if s.trim_start().starts_with('/') {
        '/'
    } else {
        ','
    };
    for ch in s.chars() {
        if esc {
            cur.push(ch);
            esc = false;
        } else if ch == '\\' {
            esc = true;
        } else if ch == sep {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    parts.push(cur);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().to_owned()),
            None => (p.trim().to_owned(), String::new()),
        })
        .collect()
}

impl CertInfo {
    /// Parses one DER certificate.
    pub fn parse(der: &[u8]) -> Result<Self, CertError> {
        let (rest, c) = X509Certificate::from_der(der)
            .map_err(|e| CertError::Malformed(format!("not a DER X.509 certificate ({e})")))?;
        if !rest.is_empty() {
            return Err(CertError::Malformed(
                "trailing bytes after the certificate".into(),
            ));
        }
        let subject = c.subject().to_string();
        let kind = key_kind(&c).ok_or_else(|| CertError::UnsupportedKey(subject.clone()))?;
        let (mut dns, mut email, mut ips) = (Vec::new(), Vec::new(), Vec::new());
        if let Ok(Some(san)) = c.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => dns.push((*d).to_owned()),
                    GeneralName::RFC822Name(e) => email.push((*e).to_owned()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default())),
                        16 => ips.push(IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default())),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        let v = c.validity();
        Ok(CertInfo {
            der: der.to_vec(),
            subject,
            subject_der: c.subject().as_raw().to_vec(),
            issuer: c.issuer().to_string(),
            dns,
            email,
            ips,
            key: PublicKey {
                kind,
                bits: c.public_key().subject_public_key.data.to_vec(),
            },
            spki: c.public_key().raw.to_vec(),
            not_before: v.not_before.timestamp(),
            not_after: v.not_after.timestamp(),
            not_after_text: v.not_after.to_string(),
            is_ca: c.is_ca(),
        })
    }

    /// Whether the certificate is inside its validity period at `now`.
    #[must_use]
    pub fn valid_at(&self, now: SystemTime) -> bool {
        let t = unix(now) as i64;
        self.not_before <= t && t <= self.not_after
    }

    /// The SANs as text, for messages: `DNS:a, email:b, IP:c`.
    #[must_use]
    pub fn sans_text(&self) -> String {
        let v: Vec<String> = self
            .dns
            .iter()
            .map(|d| format!("DNS:{d}"))
            .chain(self.email.iter().map(|e| format!("email:{e}")))
            .chain(self.ips.iter().map(|i| format!("IP:{i}")))
            .collect();
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }

    /// RFC 4945 §3.1: whether an IKE ID (type, data) names this
    /// certificate: the subject DN, or a SAN of the ID's kind. An IP ID
    /// also matches a dNSName SAN holding the address as text (what
    /// Windows requires of gateways).
    #[must_use]
    pub fn binds_id(&self, id_type: u8, data: &[u8]) -> bool {
        use yadokari_wire::registry::IdType as T;
        let text = || std::str::from_utf8(data).ok();
        match T(id_type) {
            T::ID_DER_ASN1_DN => {
                data == self.subject_der.as_slice()
                    || dn_text(data).is_some_and(|t| dn_matches(&t, &self.subject_der))
            }
            T::ID_FQDN => {
                text().is_some_and(|t| self.dns.iter().any(|d| d.eq_ignore_ascii_case(t)))
            }
            T::ID_RFC822_ADDR => {
                text().is_some_and(|t| self.email.iter().any(|e| e.eq_ignore_ascii_case(t)))
            }
            T::ID_IPV4_ADDR | T::ID_IPV6_ADDR => {
                let ip = match data.len() {
                    4 => IpAddr::from(<[u8; 4]>::try_from(data).unwrap_or_default()),
                    16 => IpAddr::from(<[u8; 16]>::try_from(data).unwrap_or_default()),
                    _ => return false,
                };
                self.ips.contains(&ip) || self.dns.iter().any(|d| d.parse::<IpAddr>() == Ok(ip))
            }
            _ => false,
        }
    }
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

/// Trust anchors for one peer (`ca`): the certificates and the SHA-1
/// hashes of their SubjectPublicKeyInfo that go into CERTREQ (§3.7).
#[derive(Clone, Default)]
pub struct TrustStore {
    anchors: Vec<CertInfo>,
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.anchors.iter().map(|a| &a.subject))
            .finish()
    }
}

impl TrustStore {
    /// A store of these DER certificates.
    pub fn new(ders: &[Vec<u8>]) -> Result<Self, CertError> {
        let anchors = ders
            .iter()
            .map(|d| CertInfo::parse(d))
            .collect::<Result<Vec<_>, _>>()?;
        for a in &anchors {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(a.der.as_slice())).map_err(
                |e| CertError::Invalid {
                    subject: a.subject.clone(),
                    reason: format!("unusable as a trust anchor ({e})"),
                },
            )?;
        }
        Ok(Self { anchors })
    }

    /// The anchors.
    #[must_use]
    pub fn anchors(&self) -> &[CertInfo] {
        &self.anchors
    }

    /// Concatenated SHA-1 hashes of the anchors' SubjectPublicKeyInfo: the
    /// Certification Authority field of an X.509 CERTREQ (RFC 7296 §3.7).
    #[must_use]
    pub fn certreq_data(&self) -> Vec<u8> {
        self.anchors.iter().flat_map(|a| sha1(&[&a.spki])).collect()
    }

    /// Validates `chain` (end entity first, then intermediates in any
    /// order) at `now` against these anchors. EKU: none, anyExtendedKeyUsage,
    /// serverAuth, clientAuth or ipsecIKE; basic and name constraints as
    /// webpki checks them. Returns the end entity's details.
    #[allow(deprecated)] // the old unit variants are still produced
    pub fn validate(&self, chain: &[Vec<u8>], now: SystemTime) -> Result<CertInfo, CertError> {
        let ee_der = chain
            .first()
            .ok_or_else(|| CertError::Malformed("no certificate".into()))?;
        let info = CertInfo::parse(ee_der)?;
        // Validity first, with the dates in the message.
        let t = unix(now) as i64;
        if t > info.not_after {
            return Err(CertError::Expired {
                subject: info.subject.clone(),
                not_after: info.not_after_text.clone(),
            });
        }
        let anchors_der: Vec<CertificateDer<'_>> = self
            .anchors
            .iter()
            .map(|a| CertificateDer::from(a.der.as_slice()))
            .collect();
        let anchors = anchors_der
            .iter()
            .filter_map(|d| webpki::anchor_from_trusted_cert(d).ok())
            .collect::<Vec<_>>();
        let inter: Vec<CertificateDer<'_>> = chain[1..]
            .iter()
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        let ee_cd = CertificateDer::from(ee_der.as_slice());
        let ee = EndEntityCert::try_from(&ee_cd).map_err(|e| CertError::Invalid {
            subject: info.subject.clone(),
            reason: webpki_words(&e),
        })?;
        let time = UnixTime::since_unix_epoch(Duration::from_secs(unix(now)));
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &inter,
            time,
            IkeEku,
            None,
            None,
        )
        .map_err(|e| match e {
            // A signature that fails against an anchor of the issuer's
            // name is another CA of the same name: no trusted path either.
            webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
                CertError::UntrustedIssuer {
                    subject: info.subject.clone(),
                    issuer: info.issuer.clone(),
                }
            }
            webpki::Error::CertExpired { .. } => CertError::Expired {
                subject: info.subject.clone(),
                not_after: info.not_after_text.clone(),
            },
            webpki::Error::CertNotValidYet { .. } => CertError::NotYetValid {
                subject: info.subject.clone(),
                not_before: format!("{} (seconds since 1970)", info.not_before),
            },
            webpki::Error::RequiredEkuNotFound | webpki::Error::RequiredEkuNotFoundContext(_) => {
                CertError::BadKeyUsage(info.subject.clone())
            }
            other => CertError::Invalid {
                subject: info.subject.clone(),
                reason: webpki_words(&other),
            },
        })?;
        Ok(info)
    }
}

/// webpki's error in words (its Display is a Debug rendering).
#[allow(deprecated)] // the old unit variants are still produced
fn webpki_words(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::BadDer | E::BadDerTime | E::TrailingData(_) => "malformed DER".into(),
        E::CaUsedAsEndEntity => "a CA certificate is used as an end entity".into(),
        E::EndEntityUsedAsCa => "an end-entity certificate is used as a CA".into(),
        E::InvalidSignatureForPublicKey => "a signature in the chain does not verify".into(),
        E::NameConstraintViolation => "a CA's name constraints forbid this name".into(),
        E::PathLenConstraintViolated => "the chain is longer than a CA allows".into(),
        E::UnsupportedSignatureAlgorithm
        | E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "the chain uses a signature algorithm that is not accepted (SHA-1, RSA below 2048 bits, …)".into()
        }
        E::UnsupportedCertVersion => "only X.509 v3 certificates are accepted".into(),
        E::MaximumPathDepthExceeded | E::MaximumPathBuildCallsExceeded => {
            "the chain is too long".into()
        }
        E::UnknownIssuer => "untrusted issuer".into(),
        other => format!("rejected by path validation ({other})"),
    }
}

/// ipsecIKE (RFC 4945 §5.1.3.12), DER OID body.
const EKU_IPSEC_IKE: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x11];
const EKU_SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
const EKU_CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
/// anyExtendedKeyUsage 2.5.29.37.0.
const EKU_ANY: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// RFC 4945 §5.1.3.12 as deployments use it: no EKU, or one of
/// anyExtendedKeyUsage, serverAuth, clientAuth, ipsecIKE.
struct IkeEku;

impl ExtendedKeyUsageValidator for IkeEku {
    #[allow(deprecated)] // the context variant's fields are private
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let mut empty = true;
        for id in iter {
            empty = false;
            let id = id?;
            if [EKU_IPSEC_IKE, EKU_SERVER_AUTH, EKU_CLIENT_AUTH, EKU_ANY]
                .iter()
                .any(|o| KeyPurposeId::new(o) == id)
            {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, SanType,
    };

    pub struct Ca {
        pub issuer: Issuer<'static, KeyPair>,
        pub der: Vec<u8>,
    }

    pub fn ca(name: &str) -> Ca {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let c = p.self_signed(&k).unwrap();
        Ca {
            der: c.der().to_vec(),
            issuer: Issuer::new(p, k),
        }
    }

    pub fn leaf(
        issuer: &Ca,
        cn: &str,
        sans: Vec<SanType>,
        alg: &'static rcgen::SignatureAlgorithm,
        eku: Vec<ExtendedKeyUsagePurpose>,
        expired: bool,
    ) -> (Vec<u8>, KeyPair) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = sans;
        p.extended_key_usages = eku;
        if expired {
            p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
            p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        }
        let k = KeyPair::generate_for(alg).unwrap();
        let c = p.signed_by(&k, &issuer.issuer).unwrap();
        (c.der().to_vec(), k)
    }

    fn dns(s: &str) -> SanType {
        SanType::DnsName(s.try_into().unwrap())
    }

    #[test]
    fn valid_chain_and_binding() {
        let ca = ca("Test CA");
        let (ee, _) = leaf(
            &ca,
            "moon",
            vec![
                dns("moon.example.test"),
                SanType::IpAddress("192.0.2.1".parse().unwrap()),
            ],
            &rcgen::PKCS_ECDSA_P256_SHA256,
            vec![],
            false,
        );
        let ts = TrustStore::new(std::slice::from_ref(&ca.der)).unwrap();
        let info = ts.validate(&[ee], SystemTime::now()).unwrap();
        assert_eq!(info.subject, "CN=moon");
        assert_eq!(info.issuer, "CN=Test CA");
        assert_eq!(info.key.kind, KeyKind::EcP256);
        assert!(info.binds_id(2, b"MOON.example.test"));
        assert!(info.binds_id(1, &[192, 0, 2, 1]));
        assert!(!info.binds_id(2, b"sun.example.test"));
        assert!(info.binds_id(9, &info.subject_der.clone()));
        assert_eq!(ts.certreq_data().len(), 20);
        assert_eq!(
            ts.certreq_data(),
            sha1(&[&CertInfo::parse(&ca.der).unwrap().spki]).to_vec()
        );
    }

    #[test]
    fn expired_unknown_ca_and_eku() {
        let ca1 = ca("Test CA");
        let other = ca("Other CA");
        let ts = TrustStore::new(std::slice::from_ref(&ca1.der)).unwrap();
        let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
        let (old, _) = leaf(&ca1, "old", vec![dns("a.test")], alg, vec![], true);
        let e = ts.validate(&[old], SystemTime::now()).unwrap_err();
        assert!(matches!(e, CertError::Expired { .. }), "{e}");
        assert!(e.to_string().contains("expired"));

        let (stranger, _) = leaf(&other, "x", vec![dns("a.test")], alg, vec![], false);
        let e = ts.validate(&[stranger], SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("CN=Other CA"), "{e}");

        let (code, _) = leaf(
            &ca1,
            "c",
            vec![dns("a.test")],
            alg,
            vec![ExtendedKeyUsagePurpose::CodeSigning],
            false,
        );
        let e = ts.validate(&[code], SystemTime::now()).unwrap_err();
        assert!(matches!(e, CertError::BadKeyUsage(_)), "{e}");

        for eku in [
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
            ExtendedKeyUsagePurpose::Any,
            ExtendedKeyUsagePurpose::Other(vec![1, 3, 6, 1, 5, 5, 7, 3, 17]),
        ] {
            let (c, _) = leaf(&ca1, "c", vec![dns("a.test")], alg, vec![eku], false);
            ts.validate(&[c], SystemTime::now()).unwrap();
        }
    }

    #[test]
    fn intermediate_chain_and_key_types() {
        let root = ca("Root");
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "Intermediate");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ik = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
        let ic = p.signed_by(&ik, &root.issuer).unwrap();
        let inter = Ca {
            der: ic.der().to_vec(),
            issuer: Issuer::new(p, ik),
        };
        let ts = TrustStore::new(std::slice::from_ref(&root.der)).unwrap();
        for (alg, kind) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, KeyKind::EcP256),
            (&rcgen::PKCS_ECDSA_P384_SHA384, KeyKind::EcP384),
            (&rcgen::PKCS_ECDSA_P521_SHA512, KeyKind::EcP521),
            (&rcgen::PKCS_ED25519, KeyKind::Ed25519),
            (&rcgen::PKCS_RSA_SHA256, KeyKind::Rsa(2048)),
        ] {
            let (ee, _) = leaf(&inter, "leaf", vec![dns("l.test")], alg, vec![], false);
            // Without the intermediate there is no path.
            assert!(matches!(
                ts.validate(std::slice::from_ref(&ee), SystemTime::now()),
                Err(CertError::UntrustedIssuer { .. })
            ));
            let info = ts
                .validate(&[ee, inter.der.clone()], SystemTime::now())
                .unwrap();
            match (info.key.kind, kind) {
                (KeyKind::Rsa(_), KeyKind::Rsa(_)) => {}
                (a, b) => assert_eq!(a, b),
            }
        }
    }

    /// A CA limited to `example.test` cannot vouch for `other.test`; an
    /// end-entity certificate cannot act as a CA.
    #[test]
    fn name_and_basic_constraints() {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "Constrained CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.test".into())],
            excluded_subtrees: vec![],
        });
        let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let c = p.self_signed(&k).unwrap();
        let nc = Ca {
            der: c.der().to_vec(),
            issuer: Issuer::new(p, k),
        };
        let ts = TrustStore::new(std::slice::from_ref(&nc.der)).unwrap();
        let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
        let (ok, _) = leaf(&nc, "in", vec![dns("gw.example.test")], alg, vec![], false);
        ts.validate(&[ok], SystemTime::now()).unwrap();
        let (out, _) = leaf(&nc, "out", vec![dns("gw.other.test")], alg, vec![], false);
        let e = ts.validate(&[out], SystemTime::now()).unwrap_err();
        assert!(e.to_string().contains("name constraints"), "{e}");

        // A leaf (no CA flag) used as an intermediate.
        let root = ca("Root");
        let (mid_der, mid_key) = leaf(&root, "not a CA", vec![], alg, vec![], false);
        let mut mp = CertificateParams::new(Vec::<String>::new()).unwrap();
        mp.distinguished_name.push(DnType::CommonName, "not a CA");
        let fake = Ca {
            der: mid_der.clone(),
            issuer: Issuer::new(mp, mid_key),
        };
        let (ee, _) = leaf(&fake, "ee", vec![dns("a.test")], alg, vec![], false);
        let ts = TrustStore::new(std::slice::from_ref(&root.der)).unwrap();
        assert!(ts.validate(&[ee, mid_der], SystemTime::now()).is_err());
    }

    #[test]
    fn dn_patterns() {
        let ca = ca("Test CA");
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CountryName, "CH");
        p.distinguished_name
            .push(DnType::OrganizationName, "Example");
        p.distinguished_name.push(DnType::CommonName, "moon");
        let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let c = p.signed_by(&k, &ca.issuer).unwrap();
        let info = CertInfo::parse(c.der()).unwrap();
        // rcgen orders the attributes its own way; match whatever it wrote.
        let text = dn_text(&info.subject_der).unwrap();
        assert_eq!(text.split(", ").count(), 3);
        assert!(dn_matches(&text, &info.subject_der));
        assert!(dn_matches(
            &text.to_lowercase().replace(", ", ","),
            &info.subject_der
        ));
        assert!(dn_matches(&text.replace("moon", "*"), &info.subject_der));
        assert!(!dn_matches(&text.replace("moon", "sun"), &info.subject_der));
        assert!(!dn_matches("C=CH, CN=moon", &info.subject_der));
    }
}

/// Peer-supplied bytes never panic the parsers (a proptest stand-in for a
/// fuzz target over CERT and AUTH contents).
#[cfg(test)]
mod never_panics {
    use super::*;
    use crate::signature::{PrivateKey, SigScheme};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = CertInfo::parse(&data);
            let _ = load_certs(&data);
            let _ = SigScheme::parse_rfc7427(&data);
            let _ = PrivateKey::from_pem_or_der(&data);
            let _ = dn_text(&data);
            let _ = dn_matches("CN=*", &data);
            let ts = TrustStore::default();
            let _ = ts.validate(std::slice::from_ref(&data), SystemTime::now());
        }

        /// Flipping a byte of a real certificate: parse or refuse, never panic.
        #[test]
        fn on_mutated_certificates(pos in 0usize..400, byte in any::<u8>()) {
            let ca = tests::ca("Fuzz CA");
            let mut der = ca.der.clone();
            let i = pos % der.len();
            der[i] = byte;
            let _ = CertInfo::parse(&der);
            if let Ok(ts) = TrustStore::new(std::slice::from_ref(&ca.der)) {
                let _ = ts.validate(&[der], SystemTime::now());
            }
        }
    }
}
