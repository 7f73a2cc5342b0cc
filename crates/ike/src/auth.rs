//! AUTH payload computation and verification (RFC 7296 §2.15).
//!
//! The signed octets are `RealMessage | Nonce | prf(SK_p, RestOfIDPayload)`;
//! only the last step depends on the method. Today that is the shared key
//! (`prf(prf(PSK, "Key Pad for IKEv2"), octets)`) or a signature over
//! the octets with our certificate's key (RFC 7427 method 14, or the
//! classic RFC 4754 ECDSA methods for peers without SIGNATURE_HASH_ALGORITHMS).
//! The key sits behind a `SignHandle`, so a separate-process signer takes
//! the same octets (style guide §b NeedAuth/AuthComputed).

use yadokari_crypto::auth::{PskAuth, SignedOctets};
use yadokari_crypto::cert::TrustStore;
use yadokari_crypto::keys::Role as KeyRole;
use yadokari_crypto::signature::{KeyKind, SigScheme};
use yadokari_wire::registry::{AuthMethod, HashAlgorithm};

use crate::config::{AuthConfig, Identity, LocalCert};
use crate::error::IkeError;
use crate::reg::auth_method;
use crate::suite::IkeKeys;

/// `ID Type | RESERVED | Identification Data`: the ID payload body
/// (§2.15 "RestOfInitIDPayload").
pub fn id_body(id: &Identity) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + id.data().len());
    v.push(id.id_type());
    v.extend_from_slice(&[0, 0, 0]);
    v.extend_from_slice(id.data());
    v
}

/// Whose AUTH: the initiator's uses SK_pi, the responder's SK_pr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    Initiator,
    Responder,
}

/// The octets an AUTH covers: the signer's IKE_SA_INIT message, the other
/// side's nonce, and the MACed ID of the signer.
pub fn signed_octets<'a>(
    keys: &'a IkeKeys,
    signer: Signer,
    message: &'a [u8],
    peer_nonce: &'a [u8],
    id: &Identity,
) -> Result<SignedOctets<'a>, IkeError> {
    let role = match signer {
        Signer::Initiator => KeyRole::Initiator,
        Signer::Responder => KeyRole::Responder,
    };
    Ok(
        SignedOctets::new(keys.raw(), role, message, peer_nonce, &id_body(id))?
            // RFC 9242 §3.3.2: empty unless IKE_INTERMEDIATE exchanges took place.
            .with_int_auth(keys.int_auth()),
    )
}

/// The hash algorithms we announce in SIGNATURE_HASH_ALGORITHMS (RFC 7427
/// §4; Identity for Ed25519, RFC 8420). SHA-1 is left out on purpose.
pub fn our_hashes() -> [u16; 4] {
    [
        HashAlgorithm::SHA2_256.0,
        HashAlgorithm::SHA2_384.0,
        HashAlgorithm::SHA2_512.0,
        HashAlgorithm::IDENTITY.0,
    ]
}

/// The SIGNATURE_HASH_ALGORITHMS notify data: 16-bit numbers.
pub fn hashes_notify_data() -> Vec<u8> {
    our_hashes().iter().flat_map(|h| h.to_be_bytes()).collect()
}

/// Parses SIGNATURE_HASH_ALGORITHMS data (an odd trailing byte is ignored).
pub fn parse_hashes(data: &[u8]) -> Vec<u16> {
    data.chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect()
}

/// Public-key authentication state of one IKE SA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PubkeyState {
    /// Hashes the peer announced (RFC 7427 §4); `None`: no notify, so the
    /// peer only knows the classic methods 1 and 9–11.
    pub peer_hashes: Option<Vec<u16>>,
    /// The peer's certificate, once AUTH verified with it.
    pub peer_cert: Option<PeerCert>,
}

/// What we keep of a verified peer certificate (for `list-sas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCert {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
}

/// Computes our AUTH payload (method, data). With a certificate, the
/// method is RFC 7427's Digital Signature (14) when the peer announced
/// hash algorithms, else the key's classic method (RFC 4754 ECDSA 9–11).
pub fn compute(
    cfg: &AuthConfig,
    keys: &IkeKeys,
    octets: &SignedOctets<'_>,
    peer_hashes: Option<&[u16]>,
) -> Result<(u8, Vec<u8>), IkeError> {
    match cfg {
        AuthConfig::Psk(psk) => {
            let a = PskAuth::new(keys.prf(), psk.expose())?;
            Ok((
                auth_method::SHARED_KEY_MESSAGE_INTEGRITY_CODE,
                a.compute(octets)?.expose().to_vec(),
            ))
        }
        AuthConfig::Cert(c) => sign(c, octets, peer_hashes),
        AuthConfig::Ca(_) => Err(IkeError::ApiMisuse("trust anchors cannot sign")),
    }
}

fn sign(
    c: &LocalCert,
    octets: &SignedOctets<'_>,
    peer_hashes: Option<&[u16]>,
) -> Result<(u8, Vec<u8>), IkeError> {
    let msg = octets.to_vec();
    let failed = |e: yadokari_crypto::signature::SignatureError| {
        IkeError::Internal(format!("signing AUTH failed: {e}"))
    };
    // RFC 7427 when the peer announced a hash our key signs with;
    // otherwise the classic method of the key, if it has one.
    let rfc7427 = peer_hashes.and_then(|hashes| {
        c.signer
            .schemes()
            .into_iter()
            .find(|s| hashes.contains(&s.hash_algorithm()))
    });
    if let Some(scheme) = rfc7427 {
        let alg = scheme.algorithm_identifier();
        tracing::debug!(
            "signing our AUTH as `{}` with {scheme} (Digital Signature, RFC 7427)",
            c.info.subject
        );
        let sig = c.signer.sign(scheme, false, &msg).map_err(failed)?;
        // RFC 7427 §3: 1-octet length, AlgorithmIdentifier, signature.
        let mut data = Vec::with_capacity(1 + alg.len() + sig.len());
        data.push(u8::try_from(alg.len()).map_err(|_| IkeError::Internal("AlgId".into()))?);
        data.extend_from_slice(&alg);
        data.extend_from_slice(&sig);
        return Ok((auth_method::DIGITAL_SIGNATURE, data));
    }
    let (method, scheme) = match c.signer.kind() {
        KeyKind::EcP256 => (auth_method::ECDSA_SHA256_P256, SigScheme::EcdsaP256Sha256),
        KeyKind::EcP384 => (auth_method::ECDSA_SHA384_P384, SigScheme::EcdsaP384Sha384),
        KeyKind::EcP521 => (auth_method::ECDSA_SHA512_P521, SigScheme::EcdsaP521Sha512),
        k if peer_hashes.is_some() => {
            return Err(IkeError::AuthRejected(format!(
                "the peer accepts none of the hash algorithms our {k} key signs with"
            )))
        }
        k => {
            return Err(IkeError::AuthRejected(format!(
                "the peer does not support RFC 7427 signatures (no SIGNATURE_HASH_ALGORITHMS), \
                 and a {k} key has no classic method we sign with"
            )))
        }
    };
    tracing::debug!(
        "signing our AUTH as `{}` with {scheme} ({}: the peer announced no RFC 7427 hash our key signs with)",
        c.info.subject,
        AuthMethod(method)
    );
    let sig = c.signer.sign(scheme, true, &msg).map_err(failed)?;
    Ok((method, sig))
}

/// Verifies the peer's AUTH payload: constant time for a shared key; for
/// a signature, first the certificate chain (`certs`, end entity first)
/// against the trust anchors, then the binding of `peer_id` to the
/// certificate (RFC 4945 §3.1), then the signature. Returns the verified
/// certificate's names.
pub fn verify(
    cfg: &AuthConfig,
    keys: &IkeKeys,
    octets: &SignedOctets<'_>,
    method: u8,
    data: &[u8],
    certs: &[Vec<u8>],
    peer_id: &Identity,
) -> Result<Option<PeerCert>, IkeError> {
    match cfg {
        AuthConfig::Psk(psk) => {
            if method != auth_method::SHARED_KEY_MESSAGE_INTEGRITY_CODE {
                return Err(IkeError::AuthRejected(format!(
                    "the peer authenticated with {}, but this connection expects a pre-shared key",
                    AuthMethod(method)
                )));
            }
            if PskAuth::new(keys.prf(), psk.expose()).is_ok_and(|a| a.check(octets, data).is_ok()) {
                Ok(None)
            } else {
                Err(IkeError::AuthenticationFailed)
            }
        }
        AuthConfig::Cert(_) => Err(IkeError::ApiMisuse("our certificate cannot verify a peer")),
        AuthConfig::Ca(store) => verify_signature(store, octets, method, data, certs, peer_id)
            .map(Some)
            .map_err(IkeError::AuthRejected),
    }
}

fn verify_signature(
    store: &TrustStore,
    octets: &SignedOctets<'_>,
    method: u8,
    data: &[u8],
    certs: &[Vec<u8>],
    peer_id: &Identity,
) -> Result<PeerCert, String> {
    if method == auth_method::SHARED_KEY_MESSAGE_INTEGRITY_CODE {
        return Err(
            "the peer authenticated with a pre-shared key, but this connection expects a certificate"
                .into(),
        );
    }
    if certs.is_empty() {
        return Err("the peer sent no X.509 certificate".into());
    }
    // Path building costs grow with the candidates; real chains are short.
    if certs.len() > MAX_PEER_CERTS {
        return Err(format!(
            "the peer sent {} certificates; at most {MAX_PEER_CERTS} are accepted",
            certs.len()
        ));
    }
    // Validity is a wall-clock matter; the sans-IO core's `now` is a
    // monotonic instant, so this one check reads the system clock.
    let info = store
        .validate(certs, std::time::SystemTime::now())
        .map_err(|e| e.to_string())?;
    if !info.binds_id(peer_id.id_type(), peer_id.data()) {
        return Err(format!(
            "the peer's ID {} is not in its certificate (subject `{}`, subjectAltNames: {})",
            id_text(peer_id),
            info.subject,
            info.sans_text()
        ));
    }
    let (scheme, fixed, sig) = match method {
        auth_method::DIGITAL_SIGNATURE => {
            let (s, sig) = SigScheme::parse_rfc7427(data).map_err(|e| e.to_string())?;
            if s == SigScheme::RsaPkcs1Sha1 {
                return Err("signature algorithm not accepted: RSA with SHA-1".into());
            }
            (s, false, sig)
        }
        auth_method::RSA_DIGITAL_SIGNATURE => (SigScheme::RsaPkcs1Sha1, false, data),
        auth_method::ECDSA_SHA256_P256 => (SigScheme::EcdsaP256Sha256, true, data),
        auth_method::ECDSA_SHA384_P384 => (SigScheme::EcdsaP384Sha384, true, data),
        auth_method::ECDSA_SHA512_P521 => (SigScheme::EcdsaP521Sha512, true, data),
        m => {
            return Err(format!(
                "signature algorithm not accepted: authentication method {}",
                AuthMethod(m)
            ))
        }
    };
    // The classic ECDSA methods name the curve (RFC 4754 §3).
    if fixed
        && !matches!(
            (scheme, info.key.kind),
            (SigScheme::EcdsaP256Sha256, KeyKind::EcP256)
                | (SigScheme::EcdsaP384Sha384, KeyKind::EcP384)
                | (SigScheme::EcdsaP521Sha512, KeyKind::EcP521)
        )
    {
        return Err(format!(
            "signature algorithm not accepted: {scheme} with a {} key",
            info.key.kind
        ));
    }
    info.key
        .verify(scheme, fixed, &octets.to_vec(), sig)
        .map_err(|e| match e {
            yadokari_crypto::signature::SignatureError::Invalid => format!(
                "the AUTH signature ({scheme}) does not verify with the key of `{}`",
                info.subject
            ),
            other => other.to_string(),
        })?;
    tracing::info!(
        "the peer authenticated as {} with certificate `{}` issued by `{}` ({scheme}; method: {})",
        id_text(peer_id),
        info.subject,
        info.issuer,
        AuthMethod(method)
    );
    Ok(PeerCert {
        subject: info.subject,
        issuer: info.issuer,
    })
}

/// CERT payloads accepted from a peer: the end entity and intermediates.
pub const MAX_PEER_CERTS: usize = 8;

/// An identity as the operator writes it.
pub fn id_text(id: &Identity) -> String {
    match id {
        Identity::Ipv4(a) => std::net::Ipv4Addr::from(*a).to_string(),
        Identity::Ipv6(a) => std::net::Ipv6Addr::from(*a).to_string(),
        Identity::Fqdn(s) | Identity::Rfc822(s) => format!("`{s}`"),
        Identity::DnPattern(s) => format!("`{s}`"),
        Identity::KeyId(k) => format!(
            "keyid:{}",
            k.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
        Identity::Other { id_type: 9, data } => format!(
            "`{}`",
            yadokari_crypto::cert::dn_text(data).unwrap_or_else(|| "<malformed DN>".into())
        ),
        Identity::Other { id_type, .. } => format!("of type {id_type}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
    use yadokari_crypto::ids::PrfAlgorithm;
    use yadokari_crypto::signature::{LocalSigner, PrivateKey, SignHandle};

    struct Pki {
        store: TrustStore,
        leaf: Vec<u8>,
        signer: LocalSigner,
    }

    fn pki(alg: &'static rcgen::SignatureAlgorithm) -> Pki {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, "Unit CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ck = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let ca = p.self_signed(&ck).unwrap();
        let issuer = Issuer::new(p, ck);
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name.push(DnType::CommonName, "peer");
        p.subject_alt_names = vec![SanType::DnsName("peer.example".try_into().unwrap())];
        let k = KeyPair::generate_for(alg).unwrap();
        let leaf = p.signed_by(&k, &issuer).unwrap();
        Pki {
            store: TrustStore::new(&[ca.der().to_vec()]).unwrap(),
            leaf: leaf.der().to_vec(),
            signer: LocalSigner::new(PrivateKey::from_der(&k.serialize_der()).unwrap()),
        }
    }

    fn octets() -> SignedOctets<'static> {
        SignedOctets::with_sk_p(
            PrfAlgorithm::HmacSha2_256,
            &[7; 32],
            b"IKE_SA_INIT",
            b"nonce",
            b"\x02\0\0\0peer.example",
        )
        .unwrap()
    }

    fn rfc7427(s: SigScheme, sig: &[u8]) -> Vec<u8> {
        let alg = s.algorithm_identifier();
        [&[alg.len() as u8][..], &alg, sig].concat()
    }

    fn check(p: &Pki, method: u8, data: &[u8], certs: &[Vec<u8>]) -> Result<PeerCert, String> {
        let id = Identity::Fqdn("peer.example".into());
        verify_signature(&p.store, &octets(), method, data, certs, &id)
    }

    #[test]
    fn signatures_accepted_and_refused_in_words() {
        let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let msg = octets().to_vec();
        let leaf = std::slice::from_ref(&p.leaf);
        let s = SigScheme::EcdsaP256Sha256;
        // RFC 7427 and RFC 4754 forms verify.
        let der = p.signer.sign(s, false, &msg).unwrap();
        let pc = check(&p, auth_method::DIGITAL_SIGNATURE, &rfc7427(s, &der), leaf).unwrap();
        assert_eq!(
            (pc.subject.as_str(), pc.issuer.as_str()),
            ("CN=peer", "CN=Unit CA")
        );
        let fixed = p.signer.sign(s, true, &msg).unwrap();
        check(&p, auth_method::ECDSA_SHA256_P256, &fixed, leaf).unwrap();
        // The wrong curve for a classic method, an unknown method.
        let e = check(&p, auth_method::ECDSA_SHA384_P384, &fixed, leaf).unwrap_err();
        assert!(e.contains("signature algorithm not accepted"), "{e}");
        let e = check(&p, 3, &fixed, leaf).unwrap_err();
        assert!(e.contains("signature algorithm not accepted"), "{e}");
        // SHA-1 inside RFC 7427.
        let e = check(
            &p,
            auth_method::DIGITAL_SIGNATURE,
            &rfc7427(SigScheme::RsaPkcs1Sha1, &der),
            leaf,
        )
        .unwrap_err();
        assert!(e.contains("RSA with SHA-1"), "{e}");
        // Another key's signature.
        let other = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let bad = other.signer.sign(s, false, &msg).unwrap();
        let e = check(&p, auth_method::DIGITAL_SIGNATURE, &rfc7427(s, &bad), leaf).unwrap_err();
        assert!(
            e.contains("does not verify with the key of `CN=peer`"),
            "{e}"
        );
        // No certificate, too many, a PSK where a signature is expected.
        let data = rfc7427(s, &der);
        let e = check(&p, auth_method::DIGITAL_SIGNATURE, &data, &[]).unwrap_err();
        assert!(e.contains("no X.509 certificate"), "{e}");
        let many = vec![p.leaf.clone(); MAX_PEER_CERTS + 1];
        let e = check(&p, auth_method::DIGITAL_SIGNATURE, &data, &many).unwrap_err();
        assert!(e.contains("at most"), "{e}");
        let e = check(&p, auth_method::SHARED_KEY_MIC, &data, leaf).unwrap_err();
        assert!(e.contains("expects a certificate"), "{e}");
        // The ID must be in the certificate.
        let id = Identity::Fqdn("other.example".into());
        let e = verify_signature(&p.store, &octets(), 14, &data, leaf, &id).unwrap_err();
        assert!(
            e.contains("`other.example` is not in its certificate")
                && e.contains("DNS:peer.example"),
            "{e}"
        );
    }

    /// Our signer picks RFC 7427 when the peer's hashes allow, else the
    /// classic method; an RSA key has no classic method we sign with.
    #[test]
    fn method_choice() {
        let p = pki(&rcgen::PKCS_ECDSA_P256_SHA256);
        let lc = LocalCert {
            chain: vec![p.leaf.clone()],
            info: yadokari_crypto::cert::CertInfo::parse(&p.leaf).unwrap(),
            signer: std::sync::Arc::new(p.signer),
        };
        let o = octets();
        let all = our_hashes();
        assert_eq!(
            sign(&lc, &o, Some(&all)).unwrap().0,
            auth_method::DIGITAL_SIGNATURE
        );
        assert_eq!(
            sign(&lc, &o, None).unwrap().0,
            auth_method::ECDSA_SHA256_P256
        );
        // Only SHA-512 announced: ECDSA P-256 falls back to method 9.
        let m = sign(&lc, &o, Some(&[HashAlgorithm::SHA2_512.0])).unwrap().0;
        assert_eq!(m, auth_method::ECDSA_SHA256_P256);
        let r = pki(&rcgen::PKCS_RSA_SHA256);
        let lc = LocalCert {
            chain: vec![r.leaf.clone()],
            info: yadokari_crypto::cert::CertInfo::parse(&r.leaf).unwrap(),
            signer: std::sync::Arc::new(r.signer),
        };
        assert_eq!(
            sign(&lc, &o, Some(&all)).unwrap().0,
            auth_method::DIGITAL_SIGNATURE
        );
        let e = sign(&lc, &o, None).unwrap_err().to_string();
        assert!(e.contains("does not support RFC 7427"), "{e}");
        assert_eq!(parse_hashes(&hashes_notify_data()), all.to_vec());
    }
}
