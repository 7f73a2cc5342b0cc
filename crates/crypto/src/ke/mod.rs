//! Key exchange (RFC 7296 §1.2, §2.7 and the KE payload of §3.4) behind an
//! object-safe [`KeyExchange`]: ephemeral X25519 and Curve448 (RFC 8031),
//! ECP groups 19–21 (RFC 5903), the MODP groups 2, 5 and 14–18
//! (RFC 2409, RFC 3526), and ML-KEM-512/768/1024 (FIPS 203, transform IDs
//! 35–37 of draft-ietf-ipsecme-ikev2-mlkem).
//!
//! A Diffie-Hellman exchange is symmetric; a KEM is not: the initiator
//! sends an encapsulation key and the responder answers with a ciphertext.
//! So the initiator [`start`]s and later [`KeyExchange::complete`]s with
//! the peer's value, while the responder, who always has the initiator's
//! value first, makes its own and the shared secret at once with
//! [`respond`].
//!
//! Private values come from the caller's [`SecureRandom`], so a seeded
//! simulation is reproducible. Every peer value is validated before use:
//! length (RFC 7296 §3.4), point on curve (RFC 5903 §7, by AWS-LC),
//! 1 < y < p−1 (RFC 6989 §2.1), and a non-zero X25519/X448 result
//! (RFC 8031 §2.3).

mod ecdh;
mod mlkem;
mod modp;
mod modp_primes;
#[cfg(feature = "x448")]
mod x448;

use crate::error::{CryptoError, Result};
use crate::ids::KeGroup;
use crate::rand::SecureRandom;
use crate::secret::SecretBytes;

/// The shared secret g^ir, in the encoding IKEv2 feeds to SKEYSEED: MODP
/// left-padded to the modulus length, ECP the x coordinate only (RFC 5903
/// §7), X25519/X448 the raw 32/56 bytes (RFC 8031 §3.1).
pub type SharedSecret = SecretBytes;

/// One side of an ephemeral key exchange.
///
/// Object safe: the IKE core keeps a `Box<dyn KeyExchange>` in the state
/// that waits for the peer's KE payload, and `complete` consumes it so the
/// private value is gone once g^ir exists.
pub trait KeyExchange: Send {
    /// The group.
    fn group(&self) -> KeGroup;
    /// Our public value, exactly as the KE payload's Key Exchange Data
    /// carries it ([`KeGroup::public_len`] bytes).
    fn public_value(&self) -> &[u8];
    /// Validates the peer's Key Exchange Data and derives g^ir.
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret>;
}

impl core::fmt::Debug for dyn KeyExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group())
            .finish_non_exhaustive()
    }
}

/// Starts a key exchange in `group` as the initiator, with a fresh private
/// value from `rng` (ML-KEM draws from AWS-LC's own DRBG: its API takes no
/// caller randomness).
pub fn start(group: KeGroup, rng: &mut dyn SecureRandom) -> Result<Box<dyn KeyExchange>> {
    match group {
        KeGroup::MlKem512 | KeGroup::MlKem768 | KeGroup::MlKem1024 => {
            Ok(Box::new(mlkem::MlKemInitiator::generate(group)?))
        }
        KeGroup::Curve25519 | KeGroup::Ecp256 | KeGroup::Ecp384 | KeGroup::Ecp521 => {
            Ok(Box::new(ecdh::Ecdh::generate(group, rng)?))
        }
        KeGroup::Curve448 => start_x448(rng),
        KeGroup::Modp1024
        | KeGroup::Modp1536
        | KeGroup::Modp2048
        | KeGroup::Modp3072
        | KeGroup::Modp4096
        | KeGroup::Modp6144
        | KeGroup::Modp8192 => Ok(Box::new(modp::Modp::generate(group, rng)?)),
    }
}

/// The responder's side: from the initiator's Key Exchange Data, our own
/// (a fresh public value, or for ML-KEM the ciphertext) and the shared
/// secret.
pub fn respond(
    group: KeGroup,
    peer: &[u8],
    rng: &mut dyn SecureRandom,
) -> Result<(Vec<u8>, SharedSecret)> {
    if group.is_kem() {
        return mlkem::encapsulate(group, peer);
    }
    let ke = start(group, rng)?;
    let public = ke.public_value().to_vec();
    Ok((public, ke.complete(peer)?))
}

/// A key exchange from a known private value, for known-answer tests and
/// replaying captured handshakes. `private` is the X25519/X448 scalar
/// (32/56 bytes), the ECP scalar (big-endian, field length), or the MODP
/// exponent (big-endian, any length up to the modulus).
pub fn from_private(group: KeGroup, private: &[u8]) -> Result<Box<dyn KeyExchange>> {
    match group {
        KeGroup::Curve25519 | KeGroup::Ecp256 | KeGroup::Ecp384 | KeGroup::Ecp521 => {
            Ok(Box::new(ecdh::Ecdh::from_private(group, private)?))
        }
        KeGroup::Curve448 => from_private_x448(private),
        // AWS-LC takes ML-KEM keys only from its own generator.
        KeGroup::MlKem512 | KeGroup::MlKem768 | KeGroup::MlKem1024 => {
            Err(CryptoError::UnsupportedGroup(group.iana()))
        }
        _ => Ok(Box::new(modp::Modp::from_exponent(group, private)?)),
    }
}

#[cfg(feature = "x448")]
fn start_x448(rng: &mut dyn SecureRandom) -> Result<Box<dyn KeyExchange>> {
    Ok(Box::new(x448::X448::generate(rng)?))
}

#[cfg(feature = "x448")]
fn from_private_x448(private: &[u8]) -> Result<Box<dyn KeyExchange>> {
    Ok(Box::new(x448::X448::from_private(private)?))
}

#[cfg(not(feature = "x448"))]
fn start_x448(_rng: &mut dyn SecureRandom) -> Result<Box<dyn KeyExchange>> {
    Err(CryptoError::UnsupportedGroup(KeGroup::Curve448.iana()))
}

#[cfg(not(feature = "x448"))]
fn from_private_x448(_private: &[u8]) -> Result<Box<dyn KeyExchange>> {
    Err(CryptoError::UnsupportedGroup(KeGroup::Curve448.iana()))
}

pub(crate) fn invalid(group: KeGroup, reason: &'static str) -> CryptoError {
    CryptoError::InvalidPeerPublicValue { group, reason }
}

pub(crate) fn check_len(group: KeGroup, peer: &[u8]) -> Result<()> {
    if peer.len() == group.public_len() {
        Ok(())
    } else {
        Err(invalid(group, "wrong length for the group"))
    }
}

#[cfg(test)]
mod tests;
