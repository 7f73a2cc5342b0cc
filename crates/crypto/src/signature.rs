//! Public-key signatures for IKE AUTH (RFC 7296 §2.15 and §3.8, RFC 4754,
//! RFC 7427, RFC 8420): private-key loading, signing behind a narrow
//! [`SignHandle`], and verification with a peer's public key. All math is
//! aws-lc-rs.
//!
//! A private key never leaves its [`PrivateKey`]: the IKE core only holds a
//! `dyn SignHandle` that signs octets with a named [`SigScheme`], so the
//! key can later live in another process without the core changing.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, KeyPair};
use yadokari_wire::registry::HashAlgorithm;

/// What went wrong with a key or a signature, in words for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The key file holds nothing we can use.
    #[error("{0}")]
    BadKey(String),
    /// The scheme does not fit the key (ECDSA with an RSA key, …).
    #[error("signature scheme {0} does not fit this key")]
    SchemeMismatch(SigScheme),
    /// The signature did not verify.
    #[error("the signature does not verify with the certificate's public key")]
    Invalid,
    /// The peer used an algorithm we do not accept.
    #[error("signature algorithm not accepted: {0}")]
    NotAccepted(String),
    /// aws-lc-rs refused to sign.
    #[error("signing failed")]
    SignFailed,
}

/// The kind of public key, enough to choose schemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// ECDSA on P-521.
    EcP521,
    /// RSA with a modulus of this many bits.
    Rsa(u32),
    /// Ed25519 (RFC 8420).
    Ed25519,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyKind::EcP256 => f.write_str("ECDSA P-256"),
            KeyKind::EcP384 => f.write_str("ECDSA P-384"),
            KeyKind::EcP521 => f.write_str("ECDSA P-521"),
            KeyKind::Rsa(b) => write!(f, "RSA-{b}"),
            KeyKind::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

/// A signature scheme: key type, hash and encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigScheme {
    /// ECDSA P-256 / SHA-256.
    EcdsaP256Sha256,
    /// ECDSA P-384 / SHA-384.
    EcdsaP384Sha384,
    /// ECDSA P-521 / SHA-512.
    EcdsaP521Sha512,
    /// RSASSA-PKCS1-v1_5 with SHA-1 (AUTH method 1; verify only).
    RsaPkcs1Sha1,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RsaPkcs1Sha384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RsaPkcs1Sha512,
    /// RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32.
    RsaPssSha256,
    /// RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48.
    RsaPssSha384,
    /// RSASSA-PSS, SHA-512, MGF1-SHA-512, salt 64.
    RsaPssSha512,
    /// Ed25519 (pure, RFC 8420 "Identity" hash).
    Ed25519,
}

impl fmt::Display for SigScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SigScheme::EcdsaP256Sha256 => "ECDSA P-256 with SHA-256",
            SigScheme::EcdsaP384Sha384 => "ECDSA P-384 with SHA-384",
            SigScheme::EcdsaP521Sha512 => "ECDSA P-521 with SHA-512",
            SigScheme::RsaPkcs1Sha1 => "RSA PKCS#1 v1.5 with SHA-1",
            SigScheme::RsaPkcs1Sha256 => "RSA PKCS#1 v1.5 with SHA-256",
            SigScheme::RsaPkcs1Sha384 => "RSA PKCS#1 v1.5 with SHA-384",
            SigScheme::RsaPkcs1Sha512 => "RSA PKCS#1 v1.5 with SHA-512",
            SigScheme::RsaPssSha256 => "RSASSA-PSS with SHA-256",
            SigScheme::RsaPssSha384 => "RSASSA-PSS with SHA-384",
            SigScheme::RsaPssSha512 => "RSASSA-PSS with SHA-512",
            SigScheme::Ed25519 => "Ed25519",
        })
    }
}

// RFC 7427 Appendix A: the AlgorithmIdentifier DER blobs, byte for byte.
const ALG_SHA1_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
];
const ALG_SHA256_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
];
const ALG_SHA384_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c, 0x05, 0x00,
];
const ALG_SHA512_RSA: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d, 0x05, 0x00,
];
const ALG_ECDSA_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
const ALG_ECDSA_SHA384: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
];
const ALG_ECDSA_SHA512: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04,
];
/// id-Ed25519 (RFC 8410), no parameters (RFC 8420 §2).
const ALG_ED25519: &[u8] = &[0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
/// id-RSASSA-PSS OID body.
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/// id-mgf1 OID body.
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];

fn sha2_oid(bits: u16) -> &'static [u8] {
    match bits {
        256 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01],
        384 => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02],
        _ => &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03],
    }
}

/// DER TLV with a short or one/two-byte long length.
fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = body.len();
    if n < 0x80 {
        v.push(n as u8);
    } else if n < 0x100 {
        v.extend_from_slice(&[0x81, n as u8]);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(body);
    v
}

/// RSASSA-PSS AlgorithmIdentifier (RFC 4055 §3.1) with explicit hash,
/// MGF1 with the same hash, salt length = hash length, trailer field
/// default (omitted), hash AlgorithmIdentifiers with NULL parameters as in
/// RFC 7427 Appendix A.4.3.
fn pss_alg_id(bits: u16) -> Vec<u8> {
    let hash_alg = tlv(
        0x30,
        &[tlv(0x06, sha2_oid(bits)), vec![0x05, 0x00]].concat(),
    );
    let mgf = tlv(0x30, &[tlv(0x06, OID_MGF1), hash_alg.clone()].concat());
    let salt = tlv(0x02, &[(bits / 8) as u8]);
    let params = tlv(
        0x30,
        &[tlv(0xa0, &hash_alg), tlv(0xa1, &mgf), tlv(0xa2, &salt)].concat(),
    );
    tlv(0x30, &[tlv(0x06, OID_RSASSA_PSS), params].concat())
}

impl SigScheme {
    /// The AlgorithmIdentifier that prefixes an RFC 7427 AUTH (§3).
    #[must_use]
    pub fn algorithm_identifier(self) -> Vec<u8> {
        match self {
            SigScheme::EcdsaP256Sha256 => ALG_ECDSA_SHA256.to_vec(),
            SigScheme::EcdsaP384Sha384 => ALG_ECDSA_SHA384.to_vec(),
            SigScheme::EcdsaP521Sha512 => ALG_ECDSA_SHA512.to_vec(),
            SigScheme::RsaPkcs1Sha1 => ALG_SHA1_RSA.to_vec(),
            SigScheme::RsaPkcs1Sha256 => ALG_SHA256_RSA.to_vec(),
            SigScheme::RsaPkcs1Sha384 => ALG_SHA384_RSA.to_vec(),
            SigScheme::RsaPkcs1Sha512 => ALG_SHA512_RSA.to_vec(),
            SigScheme::RsaPssSha256 => pss_alg_id(256),
            SigScheme::RsaPssSha384 => pss_alg_id(384),
            SigScheme::RsaPssSha512 => pss_alg_id(512),
            SigScheme::Ed25519 => ALG_ED25519.to_vec(),
        }
    }

    /// The RFC 7427 §4 hash number this scheme needs the peer to announce
    /// (IANA "IKEv2 Hash Algorithms"; Identity for Ed25519, RFC 8420).
    #[must_use]
    pub fn hash_algorithm(self) -> u16 {
        match self {
            SigScheme::RsaPkcs1Sha1 => HashAlgorithm::SHA1.0,
            SigScheme::EcdsaP256Sha256 | SigScheme::RsaPkcs1Sha256 | SigScheme::RsaPssSha256 => {
                HashAlgorithm::SHA2_256.0
            }
            SigScheme::EcdsaP384Sha384 | SigScheme::RsaPkcs1Sha384 | SigScheme::RsaPssSha384 => {
                HashAlgorithm::SHA2_384.0
            }
            SigScheme::EcdsaP521Sha512 | SigScheme::RsaPkcs1Sha512 | SigScheme::RsaPssSha512 => {
                HashAlgorithm::SHA2_512.0
            }
            SigScheme::Ed25519 => HashAlgorithm::IDENTITY.0,
        }
    }

    /// Parses the AlgorithmIdentifier at the start of RFC 7427 AUTH data
    /// (`len | AlgorithmIdentifier | signature`), returning the scheme and
    /// the signature. PSS is accepted with SHA-2, MGF1 of the same hash and
    /// a salt as long as the hash (what aws-lc-rs verifies, and what
    /// strongSwan sends).
    pub fn parse_rfc7427(auth_data: &[u8]) -> Result<(SigScheme, &[u8]), SignatureError> {
        let (&len, rest) = auth_data
            .split_first()
            .ok_or_else(|| SignatureError::NotAccepted("empty AUTH data".into()))?;
        let len = usize::from(len);
        if rest.len() < len {
            return Err(SignatureError::NotAccepted(
                "AlgorithmIdentifier longer than the AUTH data".into(),
            ));
        }
        let (alg, sig) = rest.split_at(len);
        let scheme = match alg {
            ALG_ECDSA_SHA256 => SigScheme::EcdsaP256Sha256,
            ALG_ECDSA_SHA384 => SigScheme::EcdsaP384Sha384,
            ALG_ECDSA_SHA512 => SigScheme::EcdsaP521Sha512,
            ALG_SHA1_RSA => SigScheme::RsaPkcs1Sha1,
            ALG_SHA256_RSA => SigScheme::RsaPkcs1Sha256,
            ALG_SHA384_RSA => SigScheme::RsaPkcs1Sha384,
            ALG_SHA512_RSA => SigScheme::RsaPkcs1Sha512,
            ALG_ED25519 => SigScheme::Ed25519,
            other => parse_pss(other).ok_or_else(|| {
                SignatureError::NotAccepted(format!(
                    "unknown AlgorithmIdentifier {}",
                    hex_short(other)
                ))
            })?,
        };
        Ok((scheme, sig))
    }
}

fn hex_short(b: &[u8]) -> String {
    b.iter().take(24).map(|x| format!("{x:02x}")).collect()
}

/// RSASSA-PSS parameters through x509-parser's RFC 4055 decoder.
fn parse_pss(alg: &[u8]) -> Option<SigScheme> {
    use x509_parser::prelude::FromDer;
    use x509_parser::signature_algorithm::SignatureAlgorithm;
    use x509_parser::x509::AlgorithmIdentifier;
    let (rest, ai) = AlgorithmIdentifier::from_der(alg).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let SignatureAlgorithm::RSASSA_PSS(p) = SignatureAlgorithm::try_from(&ai).ok()? else {
        return None;
    };
    let hash = p.hash_algorithm_oid().as_bytes().to_vec();
    let mgf_hash = p.mask_gen_algorithm().ok()?.hash.as_bytes().to_vec();
    let salt = p.salt_length();
    let scheme = [
        (256u16, SigScheme::RsaPssSha256),
        (384, SigScheme::RsaPssSha384),
        (512, SigScheme::RsaPssSha512),
    ]
    .into_iter()
    .find(|(b, _)| sha2_oid(*b) == hash.as_slice())?;
    (mgf_hash == hash && salt == u32::from(scheme.0 / 8)).then_some(scheme.1)
}

/// A loaded private key. Only [`LocalSigner`] holds one; nothing prints or
/// exports its bytes.
pub enum PrivateKey {
    /// ECDSA key of the given curve.
    Ecdsa(KeyKind, sig::EcdsaKeyPair, sig::EcdsaKeyPair),
    /// RSA key.
    Rsa(sig::RsaKeyPair),
    /// Ed25519 key.
    Ed25519(sig::Ed25519KeyPair),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrivateKey({}, <redacted>)", self.kind())
    }
}

/// Decodes PEM blocks (`-----BEGIN …-----`) into (label, DER) pairs.
pub fn pem_blocks(text: &[u8]) -> Vec<(String, Vec<u8>)> {
    x509_parser::pem::Pem::iter_from_buffer(text)
        .filter_map(|p| p.ok())
        .map(|p| (p.label, p.contents))
        .collect()
}

impl PrivateKey {
    /// Loads a key from PEM (PKCS#8 "PRIVATE KEY", SEC1 "EC PRIVATE KEY",
    /// PKCS#1 "RSA PRIVATE KEY") or DER (any of those encodings).
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, SignatureError> {
        let blocks = pem_blocks(bytes);
        if blocks.is_empty() {
            return Self::from_der(bytes);
        }
        let mut last = SignatureError::BadKey("no private key in the file".into());
        for (label, der) in blocks {
            match label.as_str() {
                "PRIVATE KEY" | "EC PRIVATE KEY" | "RSA PRIVATE KEY" => {
                    return Self::from_der(&der);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    last = SignatureError::BadKey(
                        "encrypted private keys are not supported yet; decrypt it with `openssl pkey`"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        Err(last)
    }

    /// Loads a DER key: PKCS#8 of any supported type, SEC1 EC or PKCS#1 RSA.
    pub fn from_der(der: &[u8]) -> Result<Self, SignatureError> {
        for (kind, asn1, fixed) in [
            (
                KeyKind::EcP256,
                &sig::ECDSA_P256_SHA256_ASN1_SIGNING,
                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
            ),
            (
                KeyKind::EcP384,
                &sig::ECDSA_P384_SHA384_ASN1_SIGNING,
                &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
            ),
            (
                KeyKind::EcP521,
                &sig::ECDSA_P521_SHA512_ASN1_SIGNING,
                &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
            ),
        ] {
            if let (Ok(a), Ok(f)) = (
                sig::EcdsaKeyPair::from_private_key_der(asn1, der),
                sig::EcdsaKeyPair::from_private_key_der(fixed, der),
            ) {
                return Ok(PrivateKey::Ecdsa(kind, a, f));
            }
        }
        if let Ok(k) = sig::RsaKeyPair::from_pkcs8(der).or_else(|_| sig::RsaKeyPair::from_der(der))
        {
            return Ok(PrivateKey::Rsa(k));
        }
        if let Ok(k) = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            return Ok(PrivateKey::Ed25519(k));
        }
        Err(SignatureError::BadKey(
            "not a PKCS#8, SEC1 or PKCS#1 private key of a supported type (ECDSA P-256/P-384/P-521, RSA, Ed25519)"
                .into(),
        ))
    }

    /// The key's type.
    #[must_use]
    pub fn kind(&self) -> KeyKind {
        match self {
            PrivateKey::Ecdsa(k, ..) => *k,
            PrivateKey::Rsa(k) => KeyKind::Rsa((k.public_modulus_len() * 8) as u32),
            PrivateKey::Ed25519(_) => KeyKind::Ed25519,
        }
    }

    /// The public key in the form of an X.509 SubjectPublicKeyInfo's BIT
    /// STRING (EC point, PKCS#1 RSAPublicKey, raw Ed25519 key), to check
    /// that a certificate belongs to this key.
    #[must_use]
    pub fn public_key_bits(&self) -> Vec<u8> {
        match self {
            PrivateKey::Ecdsa(_, a, _) => a.public_key().as_ref().to_vec(),
            PrivateKey::Rsa(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Ed25519(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// The schemes this key can sign with, best first. RSA signs PKCS#1
    /// v1.5 first (what every peer verifies; strongSwan needs `rsa_pss`
    /// for PSS).
    #[must_use]
    pub fn schemes(&self) -> Vec<SigScheme> {
        match self.kind() {
            KeyKind::EcP256 => vec![SigScheme::EcdsaP256Sha256],
            KeyKind::EcP384 => vec![SigScheme::EcdsaP384Sha384],
            KeyKind::EcP521 => vec![SigScheme::EcdsaP521Sha512],
            KeyKind::Rsa(_) => vec![
                SigScheme::RsaPkcs1Sha256,
                SigScheme::RsaPkcs1Sha384,
                SigScheme::RsaPkcs1Sha512,
                SigScheme::RsaPssSha256,
                SigScheme::RsaPssSha384,
                SigScheme::RsaPssSha512,
            ],
            KeyKind::Ed25519 => vec![SigScheme::Ed25519],
        }
    }

    /// Signs `msg`. ECDSA signatures are DER (RFC 7427) unless `fixed`
    /// asks for the `r | s` form of RFC 4754 (AUTH methods 9–11).
    pub fn sign(
        &self,
        scheme: SigScheme,
        fixed: bool,
        msg: &[u8],
    ) -> Result<Vec<u8>, SignatureError> {
        let rng = SystemRandom::new();
        match (self, scheme) {
            (PrivateKey::Ecdsa(k, asn1, fix), s)
                if matches!(
                    (k, s),
                    (KeyKind::EcP256, SigScheme::EcdsaP256Sha256)
                        | (KeyKind::EcP384, SigScheme::EcdsaP384Sha384)
                        | (KeyKind::EcP521, SigScheme::EcdsaP521Sha512)
                ) =>
            {
                let kp = if fixed { fix } else { asn1 };
                kp.sign(&rng, msg)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| SignatureError::SignFailed)
            }
            (PrivateKey::Rsa(k), s) => {
                let enc: &'static dyn sig::RsaEncoding = match s {
                    SigScheme::RsaPkcs1Sha256 => &sig::RSA_PKCS1_SHA256,
                    SigScheme::RsaPkcs1Sha384 => &sig::RSA_PKCS1_SHA384,
                    SigScheme::RsaPkcs1Sha512 => &sig::RSA_PKCS1_SHA512,
                    SigScheme::RsaPssSha256 => &sig::RSA_PSS_SHA256,
                    SigScheme::RsaPssSha384 => &sig::RSA_PSS_SHA384,
                    SigScheme::RsaPssSha512 => &sig::RSA_PSS_SHA512,
                    _ => return Err(SignatureError::SchemeMismatch(s)),
                };
                let mut out = vec![0u8; k.public_modulus_len()];
                k.sign(enc, &rng, msg, &mut out)
                    .map_err(|_| SignatureError::SignFailed)?;
                Ok(out)
            }
            (PrivateKey::Ed25519(k), SigScheme::Ed25519) => Ok(k.sign(msg).as_ref().to_vec()),
            (_, s) => Err(SignatureError::SchemeMismatch(s)),
        }
    }
}

/// The narrow signing interface the IKE core holds instead of a key
/// (architecture: secrets behind a handle). A handle in another process
/// implements the same three calls.
pub trait SignHandle: Send + Sync {
    /// The key's type.
    fn kind(&self) -> KeyKind;
    /// Schemes the key signs with, best first.
    fn schemes(&self) -> Vec<SigScheme>;
    /// Signs `msg` (the AUTH signed octets); `fixed` selects RFC 4754's
    /// `r | s` ECDSA encoding.
    fn sign(&self, scheme: SigScheme, fixed: bool, msg: &[u8]) -> Result<Vec<u8>, SignatureError>;
}

/// A [`SignHandle`] over a key held in this process.
#[derive(Debug)]
pub struct LocalSigner(PrivateKey);

impl LocalSigner {
    /// Wraps a loaded key.
    #[must_use]
    pub fn new(key: PrivateKey) -> Self {
        Self(key)
    }
}

impl SignHandle for LocalSigner {
    fn kind(&self) -> KeyKind {
        self.0.kind()
    }
    fn schemes(&self) -> Vec<SigScheme> {
        self.0.schemes()
    }
    fn sign(&self, scheme: SigScheme, fixed: bool, msg: &[u8]) -> Result<Vec<u8>, SignatureError> {
        self.0.sign(scheme, fixed, msg)
    }
}

/// A peer's public key as taken from its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Type of the key.
    pub kind: KeyKind,
    /// The SubjectPublicKeyInfo BIT STRING contents.
    pub bits: Vec<u8>,
}

impl PublicKey {
    /// Verifies `sig` over `msg` with `scheme`; `fixed` = RFC 4754 ECDSA.
    pub fn verify(
        &self,
        scheme: SigScheme,
        fixed: bool,
        msg: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        use SigScheme as S;
        let alg: &'static dyn sig::VerificationAlgorithm = match (self.kind, scheme, fixed) {
            (KeyKind::EcP256, S::EcdsaP256Sha256, false) => &sig::ECDSA_P256_SHA256_ASN1,
            (KeyKind::EcP256, S::EcdsaP256Sha256, true) => &sig::ECDSA_P256_SHA256_FIXED,
            (KeyKind::EcP256, S::EcdsaP384Sha384, false) => &sig::ECDSA_P256_SHA384_ASN1,
            (KeyKind::EcP256, S::EcdsaP521Sha512, false) => &sig::ECDSA_P256_SHA512_ASN1,
            (KeyKind::EcP384, S::EcdsaP256Sha256, false) => &sig::ECDSA_P384_SHA256_ASN1,
            (KeyKind::EcP384, S::EcdsaP384Sha384, false) => &sig::ECDSA_P384_SHA384_ASN1,
            (KeyKind::EcP384, S::EcdsaP384Sha384, true) => &sig::ECDSA_P384_SHA384_FIXED,
            (KeyKind::EcP384, S::EcdsaP521Sha512, false) => &sig::ECDSA_P384_SHA512_ASN1,
            (KeyKind::EcP521, S::EcdsaP256Sha256, false) => &sig::ECDSA_P521_SHA256_ASN1,
            (KeyKind::EcP521, S::EcdsaP384Sha384, false) => &sig::ECDSA_P521_SHA384_ASN1,
            (KeyKind::EcP521, S::EcdsaP521Sha512, false) => &sig::ECDSA_P521_SHA512_ASN1,
            (KeyKind::EcP521, S::EcdsaP521Sha512, true) => &sig::ECDSA_P521_SHA512_FIXED,
            (KeyKind::Rsa(_), S::RsaPkcs1Sha1, _) => {
                &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
            }
            (KeyKind::Rsa(_), S::RsaPkcs1Sha256, _) => &sig::RSA_PKCS1_2048_8192_SHA256,
            (KeyKind::Rsa(_), S::RsaPkcs1Sha384, _) => &sig::RSA_PKCS1_2048_8192_SHA384,
            (KeyKind::Rsa(_), S::RsaPkcs1Sha512, _) => &sig::RSA_PKCS1_2048_8192_SHA512,
            (KeyKind::Rsa(_), S::RsaPssSha256, _) => &sig::RSA_PSS_2048_8192_SHA256,
            (KeyKind::Rsa(_), S::RsaPssSha384, _) => &sig::RSA_PSS_2048_8192_SHA384,
            (KeyKind::Rsa(_), S::RsaPssSha512, _) => &sig::RSA_PSS_2048_8192_SHA512,
            (KeyKind::Ed25519, S::Ed25519, _) => &sig::ED25519,
            (k, s, _) => return Err(SignatureError::NotAccepted(format!("{s} with a {k} key"))),
        };
        sig::UnparsedPublicKey::new(alg, &self.bits)
            .verify(msg, signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rcgen_key(alg: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        rcgen::KeyPair::generate_for(alg).unwrap().serialize_der()
    }

    fn pub_of(k: &PrivateKey) -> PublicKey {
        PublicKey {
            kind: k.kind(),
            bits: k.public_key_bits(),
        }
    }

    #[test]
    fn every_key_type_signs_and_verifies() {
        for (alg, kind) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, KeyKind::EcP256),
            (&rcgen::PKCS_ECDSA_P384_SHA384, KeyKind::EcP384),
            (&rcgen::PKCS_ECDSA_P521_SHA512, KeyKind::EcP521),
            (&rcgen::PKCS_ED25519, KeyKind::Ed25519),
        ] {
            let k = PrivateKey::from_der(&rcgen_key(alg)).unwrap();
            assert_eq!(k.kind(), kind);
            let p = pub_of(&k);
            for s in k.schemes() {
                let sig = k.sign(s, false, b"octets").unwrap();
                p.verify(s, false, b"octets", &sig).unwrap();
                assert_eq!(
                    p.verify(s, false, b"octetz", &sig),
                    Err(SignatureError::Invalid)
                );
                if kind != KeyKind::Ed25519 {
                    let f = k.sign(s, true, b"octets").unwrap();
                    p.verify(s, true, b"octets", &f).unwrap();
                }
            }
        }
    }

    #[test]
    fn rsa_pkcs1_and_pss() {
        let der = rcgen_key(&rcgen::PKCS_RSA_SHA256);
        let k = PrivateKey::from_der(&der).unwrap();
        assert!(matches!(k.kind(), KeyKind::Rsa(2048 | 3072 | 4096)));
        let p = pub_of(&k);
        for s in k.schemes() {
            let sig = k.sign(s, false, b"m").unwrap();
            p.verify(s, false, b"m", &sig).unwrap();
            // Wrap and unwrap as RFC 7427 AUTH data.
            let alg = s.algorithm_identifier();
            let mut data = vec![alg.len() as u8];
            data.extend_from_slice(&alg);
            data.extend_from_slice(&sig);
            let (s2, sig2) = SigScheme::parse_rfc7427(&data).unwrap();
            assert_eq!((s2, sig2), (s, &sig[..]));
        }
        assert!(k.sign(SigScheme::EcdsaP256Sha256, false, b"m").is_err());
    }

    #[test]
    fn pem_forms_load() {
        let kp = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let k = PrivateKey::from_pem_or_der(kp.serialize_pem().as_bytes()).unwrap();
        assert_eq!(k.kind(), KeyKind::EcP256);
        assert!(PrivateKey::from_pem_or_der(b"garbage").is_err());
        let enc =
            b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = PrivateKey::from_pem_or_der(enc).unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");
    }

    /// Our PSS AlgorithmIdentifier parses back; junk does not.
    #[test]
    fn rfc7427_pss_blob() {
        let ours = SigScheme::RsaPssSha256.algorithm_identifier();
        assert_eq!(ours[0], 0x30);
        let mut data = vec![ours.len() as u8];
        data.extend_from_slice(&ours);
        assert_eq!(
            SigScheme::parse_rfc7427(&data).unwrap().0,
            SigScheme::RsaPssSha256
        );
        let mut bad = vec![3, 0x30, 0x01, 0x00];
        bad.push(0);
        assert!(SigScheme::parse_rfc7427(&bad).is_err());
    }
}
