//! Curve448 (IKE group 32, RFC 8031) through the RustCrypto `x448`
//! pre-release, pinned exactly because its API still moves. AWS-LC has no
//! X448.

use zeroize::Zeroize;

use super::{check_len, invalid, KeyExchange, SharedSecret};
use crate::error::{CryptoError, Result};
use crate::ids::KeGroup;
use crate::rand::SecureRandom;
use crate::secret::SecretBytes;

const LEN: usize = 56;

pub(super) struct X448 {
    scalar: [u8; LEN],
    public: [u8; LEN],
}

impl X448 {
    pub(super) fn generate(rng: &mut dyn SecureRandom) -> Result<Self> {
        let mut scalar = [0u8; LEN];
        rng.fill(&mut scalar)?;
        let r = Self::from_private(&scalar);
        scalar.zeroize();
        r
    }

    pub(super) fn from_private(private: &[u8]) -> Result<Self> {
        let scalar: [u8; LEN] = private
            .try_into()
            .map_err(|_| CryptoError::InvalidKeyLength {
                what: "X448 private value",
                expected: LEN,
                got: private.len(),
            })?;
        // The base point is not of low order, so this cannot be `None`.
        let public = ::x448::x448(scalar, ::x448::X448_BASEPOINT_BYTES)
            .ok_or(CryptoError::Internal("X448 base point multiplication"))?;
        Ok(Self { scalar, public })
    }
}

impl Drop for X448 {
    fn drop(&mut self) {
        self.scalar.zeroize();
    }
}

impl KeyExchange for X448 {
    fn group(&self) -> KeGroup {
        KeGroup::Curve448
    }

    fn public_value(&self) -> &[u8] {
        &self.public
    }

    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret> {
        check_len(KeGroup::Curve448, peer)?;
        let mut point = [0u8; LEN];
        point.copy_from_slice(peer);
        // `x448` refuses low-order points, which would give an all-zero
        // result (RFC 8031 §2.3).
        let mut shared = ::x448::x448(self.scalar, point).ok_or(invalid(
            KeGroup::Curve448,
            "low-order point (all-zero shared secret)",
        ))?;
        let out = SecretBytes::from_slice(&shared);
        shared.zeroize();
        Ok(out)
    }
}
