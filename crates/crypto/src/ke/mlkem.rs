//! ML-KEM (FIPS 203) as an IKEv2 key exchange method, as
//! draft-ietf-ipsecme-ikev2-mlkem uses it: the initiator's Key Exchange
//! Data is its encapsulation key (§7.2 of FIPS 203, `ek`), the responder's
//! is the ciphertext (`c`), and both sides feed the 32-byte shared secret
//! to the key schedule where a Diffie-Hellman group would feed g^ir.
//!
//! Lengths are checked before AWS-LC sees the bytes, and AWS-LC performs
//! the encapsulation key check of FIPS 203 §7.2 (modulus check); a
//! malformed ciphertext cannot be detected (ML-KEM's implicit rejection
//! yields an unrelated secret, and the AUTH exchange then fails).

use aws_lc_rs::kem::{
    Algorithm, AlgorithmId, Ciphertext, DecapsulationKey, EncapsulationKey, ML_KEM_1024,
    ML_KEM_512, ML_KEM_768,
};

use super::{check_len, invalid, KeyExchange, SharedSecret};
use crate::error::{CryptoError, Result};
use crate::ids::KeGroup;
use crate::secret::SecretBytes;

fn algorithm(group: KeGroup) -> Result<&'static Algorithm<AlgorithmId>> {
    match group {
        KeGroup::MlKem512 => Ok(&ML_KEM_512),
        KeGroup::MlKem768 => Ok(&ML_KEM_768),
        KeGroup::MlKem1024 => Ok(&ML_KEM_1024),
        other => Err(CryptoError::UnsupportedGroup(other.iana())),
    }
}

/// The initiator's half: a decapsulation key, and its encapsulation key as
/// our public value.
pub(super) struct MlKemInitiator {
    group: KeGroup,
    dk: DecapsulationKey<AlgorithmId>,
    ek: Vec<u8>,
}

impl MlKemInitiator {
    pub(super) fn generate(group: KeGroup) -> Result<Self> {
        let dk = DecapsulationKey::generate(algorithm(group)?)
            .map_err(|_| CryptoError::Internal("ML-KEM key generation failed"))?;
        let ek = dk
            .encapsulation_key()
            .and_then(|ek| ek.key_bytes())
            .map_err(|_| CryptoError::Internal("ML-KEM encapsulation key unavailable"))?
            .as_ref()
            .to_vec();
        Ok(Self { group, dk, ek })
    }
}

impl KeyExchange for MlKemInitiator {
    fn group(&self) -> KeGroup {
        self.group
    }

    fn public_value(&self) -> &[u8] {
        &self.ek
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret> {
        if peer.len() != self.group.response_len() {
            return Err(invalid(self.group, "wrong ciphertext length for ML-KEM"));
        }
        let ss = self
            .dk
            .decapsulate(Ciphertext::from(peer))
            .map_err(|_| invalid(self.group, "ML-KEM decapsulation failed"))?;
        Ok(SecretBytes::new(ss.as_ref().to_vec()))
    }
}

/// The responder's side: encapsulates to the initiator's key; returns the
/// ciphertext and the shared secret.
pub(super) fn encapsulate(group: KeGroup, peer: &[u8]) -> Result<(Vec<u8>, SharedSecret)> {
    check_len(group, peer)?;
    let ek = EncapsulationKey::new(algorithm(group)?, peer)
        .map_err(|_| invalid(group, "not a valid ML-KEM encapsulation key"))?;
    let (ct, ss) = ek
        .encapsulate()
        .map_err(|_| invalid(group, "ML-KEM encapsulation failed"))?;
    Ok((ct.as_ref().to_vec(), SecretBytes::new(ss.as_ref().to_vec())))
}
