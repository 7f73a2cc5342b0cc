//! X25519 (RFC 8031) and ECP groups 19–21 (RFC 5903) over aws-lc-rs.
//!
//! IKEv2 carries an ECP point as x ‖ y without SEC1's 0x04 prefix
//! (RFC 5903 §7), and the shared secret is the x coordinate alone; AWS-LC
//! speaks SEC1, so the prefix is stripped and added here. AWS-LC checks that
//! peer points lie on the curve.

use aws_lc_rs::agreement::{self, PrivateKey, UnparsedPublicKey};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::{check_len, invalid, KeyExchange, SharedSecret};
use crate::error::{CryptoError, Result};
use crate::ids::KeGroup;
use crate::rand::SecureRandom;
use crate::secret::SecretBytes;

/// 0x04 ‖ x ‖ y for P-521.
const MAX_SEC1_LEN: usize = 1 + 2 * 66;
/// Rejection sampling of ECP scalars fails with probability < 2^-32 per try
/// for these curves; 64 tries never all fail with a working RNG.
const MAX_TRIES: usize = 64;

pub(super) struct Ecdh {
    group: KeGroup,
    private: PrivateKey,
    /// The KE payload encoding (SEC1 prefix already stripped for ECP).
    public: [u8; MAX_SEC1_LEN],
    public_len: usize,
}

fn algorithm(group: KeGroup) -> Result<&'static agreement::Algorithm> {
    Ok(match group {
        KeGroup::Curve25519 => &agreement::X25519,
        KeGroup::Ecp256 => &agreement::ECDH_P256,
        KeGroup::Ecp384 => &agreement::ECDH_P384,
        KeGroup::Ecp521 => &agreement::ECDH_P521,
        other => return Err(CryptoError::UnsupportedGroup(other.iana())),
    })
}

fn private_len(group: KeGroup) -> usize {
    match group {
        KeGroup::Ecp521 => 66,
        KeGroup::Ecp384 => 48,
        _ => 32,
    }
}

impl Ecdh {
    pub(super) fn generate(group: KeGroup, rng: &mut dyn SecureRandom) -> Result<Self> {
        let mut scalar = [0u8; 66];
        let n = private_len(group);
        for _ in 0..MAX_TRIES {
            rng.fill(&mut scalar[..n])?;
            if group == KeGroup::Ecp521 {
                // A 521-bit scalar: clear the 7 excess bits so most draws
                // fall below the group order.
                scalar[0] &= 0x01;
            }
            match Self::from_private(group, &scalar[..n]) {
                Ok(k) => {
                    scalar.zeroize();
                    return Ok(k);
                }
                // Zero or ≥ order: draw again.
                Err(CryptoError::InvalidKeyLength { .. }) => continue,
                Err(e) => {
                    scalar.zeroize();
                    return Err(e);
                }
            }
        }
        scalar.zeroize();
        Err(CryptoError::Rng)
    }

    pub(super) fn from_private(group: KeGroup, private: &[u8]) -> Result<Self> {
        let alg = algorithm(group)?;
        let bad = || CryptoError::InvalidKeyLength {
            what: "KE private value",
            expected: private_len(group),
            got: private.len(),
        };
        if private.len() != private_len(group) {
            return Err(bad());
        }
        let private = PrivateKey::from_private_key(alg, private).map_err(|_| bad())?;
        let public = private
            .compute_public_key()
            .map_err(|_| CryptoError::Internal("public key computation"))?;
        let bytes = public.as_ref();
        let encoded = if group == KeGroup::Curve25519 {
            bytes
        } else {
            match bytes.split_first() {
                Some((0x04, xy)) => xy,
                _ => return Err(CryptoError::Internal("AWS-LC returned a non-SEC1 point")),
            }
        };
        if encoded.len() != group.public_len() {
            return Err(CryptoError::Internal("unexpected public key length"));
        }
        let mut buf = [0u8; MAX_SEC1_LEN];
        buf[..encoded.len()].copy_from_slice(encoded);
        Ok(Self {
            group,
            private,
            public: buf,
            public_len: encoded.len(),
        })
    }
}

impl KeyExchange for Ecdh {
    fn group(&self) -> KeGroup {
        self.group
    }

    fn public_value(&self) -> &[u8] {
        &self.public[..self.public_len]
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret> {
        let group = self.group;
        check_len(group, peer)?;
        let alg = algorithm(group)?;
        let mut sec1 = [0u8; MAX_SEC1_LEN];
        let encoded: &[u8] = if group == KeGroup::Curve25519 {
            peer
        } else {
            sec1[0] = 0x04;
            sec1[1..=peer.len()].copy_from_slice(peer);
            &sec1[..=peer.len()]
        };
        let secret = agreement::agree(
            &self.private,
            UnparsedPublicKey::new(alg, encoded),
            invalid(group, "not a valid point for the group"),
            |s| Ok(SecretBytes::from_slice(s)),
        )?;
        if group == KeGroup::Curve25519 {
            // RFC 8031 §2.3: an all-zero result means a low-order peer point.
            if bool::from(secret.expose().ct_eq(&[0u8; 32])) {
                return Err(invalid(group, "low-order point (all-zero shared secret)"));
            }
        }
        if secret.len() != group.shared_secret_len() {
            return Err(CryptoError::Internal("unexpected shared secret length"));
        }
        Ok(secret)
    }
}
