//! Fuzz what a peer's CERT, CERTREQ and AUTH payloads feed into: X.509
//! parsing (CertInfo, PEM/DER loading, DN text), path validation with the
//! input as both anchor and chain, and the RFC 7427 AlgorithmIdentifier in
//! AUTH data. Nothing may panic; every refusal is a typed error.
#![no_main]

use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use yadokari_crypto::cert::{dn_text, load_certs, CertInfo, TrustStore};
use yadokari_crypto::signature::SigScheme;

fuzz_target!(|data: &[u8]| {
    let _ = CertInfo::parse(data);
    let _ = load_certs(data);
    let _ = dn_text(data);
    if let Ok((_, rest)) = SigScheme::parse_rfc7427(data) {
        assert!(rest.len() <= data.len());
    }
    // A CERTREQ names anchors by SHA-1 of their keys; a CERT chain is
    // validated against them.
    if let Ok(ts) = TrustStore::new(&[data.to_vec()]) {
        let _ = ts.certreq_data();
        let _ = ts.validate(&[data.to_vec()], SystemTime::now());
    }
});
