//! AUTH payload computation and verification (RFC 7296 §2.15).
//!
//! The signed octets are `RealMessage | Nonce | prf(SK_p, RestOfIDPayload)`;
//! only the last step depends on the method. Today that is the shared key
//! (`prf(prf(PSK, "Key Pad for IKEv2"), octets)`); a signature or EAP
//! method adds a variant to [`AuthConfig`] and an arm here, and a
//! separate-process signer would take the same octets (style guide §b
//! NeedAuth/AuthComputed).

use yadokari_crypto::auth::{PskAuth, SignedOctets};
use yadokari_crypto::keys::Role as KeyRole;

use crate::config::{AuthConfig, Identity};
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

/// Computes our AUTH payload (method, data).
pub fn compute(
    cfg: &AuthConfig,
    keys: &IkeKeys,
    octets: &SignedOctets<'_>,
) -> Result<(u8, Vec<u8>), IkeError> {
    match cfg {
        AuthConfig::Psk(psk) => {
            let a = PskAuth::new(keys.prf(), psk.expose())?;
            Ok((
                auth_method::SHARED_KEY_MESSAGE_INTEGRITY_CODE,
                a.compute(octets)?.expose().to_vec(),
            ))
        }
    }
}

/// Verifies the peer's AUTH payload (constant time inside the crypto crate).
pub fn verify(
    cfg: &AuthConfig,
    keys: &IkeKeys,
    octets: &SignedOctets<'_>,
    method: u8,
    data: &[u8],
) -> bool {
    match cfg {
        AuthConfig::Psk(psk) => {
            method == auth_method::SHARED_KEY_MESSAGE_INTEGRITY_CODE
                && PskAuth::new(keys.prf(), psk.expose())
                    .is_ok_and(|a| a.check(octets, data).is_ok())
        }
    }
}
