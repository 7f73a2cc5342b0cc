//! ESP algorithm suites: which encryption and integrity transforms an SA
//! uses, with their IKEv2 transform IDs (RFC 7296 §3.3.2, IANA "IKEv2
//! Transform Type 1/3" registries) and wire sizes.
//!
//! Supported (RFC 8221 §5/§6 MUST/SHOULD list):
//! - ENCR_AES_GCM_16 with 128/256-bit keys (RFC 4106): key ‖ 4-byte salt,
//!   8-byte IV, 16-byte ICV, no separate integrity.
//! - ENCR_CHACHA20_POLY1305 (RFC 7634): 32-byte key ‖ 4-byte salt, 8-byte
//!   IV, 16-byte ICV.
//! - ENCR_AES_CBC with 128/256-bit keys (RFC 3602): 16-byte IV, with
//!   AUTH_HMAC_SHA2_256_128 / _384_192 / _512_256 (RFC 4868) or
//!   AUTH_HMAC_SHA1_96 (RFC 2404).
//! - ENCR_NULL (RFC 2410) with one of those integrity transforms.
//!
//! Combinations RFC 8221 forbids are refused by [`Suite::new`]: an AEAD
//! with a separate integrity transform, and confidentiality without
//! integrity.

use crate::error::SaError;

/// An encryption transform (IKEv2 Transform Type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encryption {
    /// ENCR_AES_GCM_16, 128-bit key (RFC 4106).
    AesGcm128,
    /// ENCR_AES_GCM_16, 256-bit key (RFC 4106).
    AesGcm256,
    /// ENCR_CHACHA20_POLY1305 (RFC 7634).
    ChaCha20Poly1305,
    /// ENCR_AES_CBC, 128-bit key (RFC 3602).
    AesCbc128,
    /// ENCR_AES_CBC, 256-bit key (RFC 3602).
    AesCbc256,
    /// ENCR_NULL (RFC 2410): authentication only.
    Null,
}

/// IKEv2 transform IDs of Transform Type 1 used here (the numbers live in
/// the wire crate's registry; these are the `match`-able integers).
pub mod encr_id {
    use yadokari_wire::registry::EncrId;
    /// ENCR_NULL.
    pub const ENCR_NULL: u16 = EncrId::ENCR_NULL.0;
    /// ENCR_AES_CBC.
    pub const ENCR_AES_CBC: u16 = EncrId::ENCR_AES_CBC.0;
    /// ENCR_AES_GCM_16.
    pub const ENCR_AES_GCM_16: u16 = EncrId::ENCR_AES_GCM_16.0;
    /// ENCR_CHACHA20_POLY1305.
    pub const ENCR_CHACHA20_POLY1305: u16 = EncrId::ENCR_CHACHA20_POLY1305.0;
}

/// IKEv2 transform IDs of Transform Type 3 used here.
pub mod auth_id {
    use yadokari_wire::registry::IntegId;
    /// NONE (AEAD ciphers).
    pub const NONE: u16 = IntegId::NONE.0;
    /// AUTH_HMAC_SHA1_96.
    pub const AUTH_HMAC_SHA1_96: u16 = IntegId::AUTH_HMAC_SHA1_96.0;
    /// AUTH_HMAC_SHA2_256_128.
    pub const AUTH_HMAC_SHA2_256_128: u16 = IntegId::AUTH_HMAC_SHA2_256_128.0;
    /// AUTH_HMAC_SHA2_384_192.
    pub const AUTH_HMAC_SHA2_384_192: u16 = IntegId::AUTH_HMAC_SHA2_384_192.0;
    /// AUTH_HMAC_SHA2_512_256.
    pub const AUTH_HMAC_SHA2_512_256: u16 = IntegId::AUTH_HMAC_SHA2_512_256.0;
}

/// Whether an ESP SA can run this transform: the ESP half of the one
/// capability table (`yadokari_crypto::ids::ike_can_run` is the IKE half).
/// The configuration asks this at load, so a proposal that names something
/// the data plane cannot install is refused there, never after the peer
/// believes the CHILD SA is up. Key exchange methods (PFS) are IKE's
/// business and answer `false` here.
#[must_use]
pub fn can_run(ty: yadokari_wire::registry::TransformType, id: u16, key_bits: Option<u16>) -> bool {
    use yadokari_wire::registry::{EsnId, TransformType};
    match ty {
        TransformType::ENCR => Encryption::from_transform(id, key_bits).is_some(),
        TransformType::INTEG => key_bits.is_none() && Integrity::from_transform(id).is_some(),
        TransformType::ESN => key_bits.is_none() && (id == EsnId::NO_ESN.0 || id == EsnId::ESN.0),
        _ => false,
    }
}

impl Encryption {
    /// Maps an IKEv2 transform ID plus Key Length attribute (bits) to an
    /// encryption transform. ChaCha20-Poly1305 and NULL take no key length
    /// (RFC 7634 §4: the attribute MUST NOT be sent).
    pub fn from_transform(id: u16, key_bits: Option<u16>) -> Option<Self> {
        use encr_id::*;
        match (id, key_bits) {
            (ENCR_AES_GCM_16, Some(128)) => Some(Self::AesGcm128),
            (ENCR_AES_GCM_16, Some(256)) => Some(Self::AesGcm256),
            (ENCR_CHACHA20_POLY1305, None) => Some(Self::ChaCha20Poly1305),
            (ENCR_AES_CBC, Some(128)) => Some(Self::AesCbc128),
            (ENCR_AES_CBC, Some(256)) => Some(Self::AesCbc256),
            (ENCR_NULL, None) => Some(Self::Null),
            _ => None,
        }
    }

    /// The IKEv2 transform ID and Key Length attribute (bits).
    pub const fn transform(self) -> (u16, Option<u16>) {
        use encr_id::*;
        match self {
            Self::AesGcm128 => (ENCR_AES_GCM_16, Some(128)),
            Self::AesGcm256 => (ENCR_AES_GCM_16, Some(256)),
            Self::ChaCha20Poly1305 => (ENCR_CHACHA20_POLY1305, None),
            Self::AesCbc128 => (ENCR_AES_CBC, Some(128)),
            Self::AesCbc256 => (ENCR_AES_CBC, Some(256)),
            Self::Null => (ENCR_NULL, None),
        }
    }

    /// Whether this is a combined-mode (AEAD) transform.
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            Self::AesGcm128 | Self::AesGcm256 | Self::ChaCha20Poly1305
        )
    }

    /// Bytes of keying material (RFC 7296 §2.17 KEYMAT), salt included for
    /// the AEADs (RFC 4106 §8.1, RFC 7634 §2).
    pub const fn key_len(self) -> usize {
        match self {
            Self::AesGcm128 => 16 + 4,
            Self::AesGcm256 | Self::ChaCha20Poly1305 => 32 + 4,
            Self::AesCbc128 => 16,
            Self::AesCbc256 => 32,
            Self::Null => 0,
        }
    }

    /// Bytes of explicit IV on the wire.
    pub const fn iv_len(self) -> usize {
        match self {
            Self::AesGcm128 | Self::AesGcm256 | Self::ChaCha20Poly1305 => 8,
            Self::AesCbc128 | Self::AesCbc256 => 16,
            Self::Null => 0,
        }
    }

    /// Cipher block size for padding (1 for stream-like modes).
    pub const fn block_size(self) -> usize {
        match self {
            Self::AesCbc128 | Self::AesCbc256 => 16,
            _ => 1,
        }
    }

    /// ICV length of the AEADs (16: the "_16" of ENCR_AES_GCM_16), 0 for
    /// the others.
    pub const fn aead_icv_len(self) -> usize {
        if self.is_aead() {
            16
        } else {
            0
        }
    }
}

/// An integrity transform (IKEv2 Transform Type 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Integrity {
    /// NONE: only with an AEAD.
    None,
    /// AUTH_HMAC_SHA1_96 (RFC 2404): 20-byte key, 12-byte ICV.
    HmacSha1_96,
    /// AUTH_HMAC_SHA2_256_128 (RFC 4868): 32-byte key, 16-byte ICV.
    HmacSha256_128,
    /// AUTH_HMAC_SHA2_384_192 (RFC 4868): 48-byte key, 24-byte ICV.
    HmacSha384_192,
    /// AUTH_HMAC_SHA2_512_256 (RFC 4868): 64-byte key, 32-byte ICV.
    HmacSha512_256,
}

impl Integrity {
    /// Maps an IKEv2 transform ID.
    pub fn from_transform(id: u16) -> Option<Self> {
        use auth_id::*;
        match id {
            NONE => Some(Self::None),
            AUTH_HMAC_SHA1_96 => Some(Self::HmacSha1_96),
            AUTH_HMAC_SHA2_256_128 => Some(Self::HmacSha256_128),
            AUTH_HMAC_SHA2_384_192 => Some(Self::HmacSha384_192),
            AUTH_HMAC_SHA2_512_256 => Some(Self::HmacSha512_256),
            _ => None,
        }
    }

    /// The IKEv2 transform ID.
    pub const fn transform(self) -> u16 {
        use auth_id::*;
        match self {
            Self::None => NONE,
            Self::HmacSha1_96 => AUTH_HMAC_SHA1_96,
            Self::HmacSha256_128 => AUTH_HMAC_SHA2_256_128,
            Self::HmacSha384_192 => AUTH_HMAC_SHA2_384_192,
            Self::HmacSha512_256 => AUTH_HMAC_SHA2_512_256,
        }
    }

    /// Bytes of keying material (RFC 4868 §2.1.1: the key is as long as
    /// the hash output; RFC 2404: 160 bits).
    pub const fn key_len(self) -> usize {
        match self {
            Self::None => 0,
            Self::HmacSha1_96 => 20,
            Self::HmacSha256_128 => 32,
            Self::HmacSha384_192 => 48,
            Self::HmacSha512_256 => 64,
        }
    }

    /// Bytes of the truncated ICV.
    pub const fn icv_len(self) -> usize {
        match self {
            Self::None => 0,
            Self::HmacSha1_96 => 12,
            Self::HmacSha256_128 => 16,
            Self::HmacSha384_192 => 24,
            Self::HmacSha512_256 => 32,
        }
    }
}

/// A validated encryption + integrity pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Suite {
    encryption: Encryption,
    integrity: Integrity,
}

impl Suite {
    /// AES-GCM-16 with a 128-bit key.
    pub const AES_GCM_128: Suite = Suite::aead(Encryption::AesGcm128);
    /// AES-GCM-16 with a 256-bit key.
    pub const AES_GCM_256: Suite = Suite::aead(Encryption::AesGcm256);
    /// ChaCha20-Poly1305.
    pub const CHACHA20_POLY1305: Suite = Suite::aead(Encryption::ChaCha20Poly1305);

    const fn aead(encryption: Encryption) -> Self {
        Self {
            encryption,
            integrity: Integrity::None,
        }
    }

    /// Validates a pair. RFC 4303 §3.2 / RFC 8221 §5: an AEAD carries its
    /// own integrity (a separate one is refused); a non-AEAD cipher needs
    /// an integrity transform (confidentiality-only ESP is refused).
    pub fn new(encryption: Encryption, integrity: Integrity) -> Result<Self, SaError> {
        match (encryption.is_aead(), integrity) {
            (true, Integrity::None) => Ok(Self {
                encryption,
                integrity,
            }),
            (true, _) => Err(SaError::UnsupportedSuite(
                "an AEAD takes no integrity transform",
            )),
            (false, Integrity::None) => Err(SaError::UnsupportedSuite(
                "a non-AEAD cipher needs an integrity transform",
            )),
            (false, _) => Ok(Self {
                encryption,
                integrity,
            }),
        }
    }

    /// The encryption transform.
    pub const fn encryption(&self) -> Encryption {
        self.encryption
    }

    /// The integrity transform.
    pub const fn integrity(&self) -> Integrity {
        self.integrity
    }

    /// Bytes of explicit IV on the wire.
    pub const fn iv_len(&self) -> usize {
        self.encryption.iv_len()
    }

    /// Bytes of ICV on the wire.
    pub const fn icv_len(&self) -> usize {
        self.encryption.aead_icv_len() + self.integrity.icv_len()
    }

    /// Cipher block size used for padding.
    pub const fn block_size(&self) -> usize {
        self.encryption.block_size()
    }

    /// Encryption keying material needed (bytes).
    pub const fn encryption_key_len(&self) -> usize {
        self.encryption.key_len()
    }

    /// Integrity keying material needed (bytes).
    pub const fn integrity_key_len(&self) -> usize {
        self.integrity.key_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_validation() {
        assert!(Suite::new(Encryption::AesGcm128, Integrity::None).is_ok());
        assert!(Suite::new(Encryption::AesGcm128, Integrity::HmacSha256_128).is_err());
        assert!(Suite::new(Encryption::AesCbc128, Integrity::None).is_err());
        assert!(Suite::new(Encryption::Null, Integrity::None).is_err());
        let s = Suite::new(Encryption::AesCbc256, Integrity::HmacSha512_256).unwrap();
        assert_eq!((s.iv_len(), s.icv_len(), s.block_size()), (16, 32, 16));
        assert_eq!((s.encryption_key_len(), s.integrity_key_len()), (32, 64));
        let s = Suite::CHACHA20_POLY1305;
        assert_eq!(
            (
                s.iv_len(),
                s.icv_len(),
                s.block_size(),
                s.encryption_key_len()
            ),
            (8, 16, 1, 36)
        );
    }

    #[test]
    fn transform_ids_round_trip() {
        for e in [
            Encryption::AesGcm128,
            Encryption::AesGcm256,
            Encryption::ChaCha20Poly1305,
            Encryption::AesCbc128,
            Encryption::AesCbc256,
            Encryption::Null,
        ] {
            let (id, bits) = e.transform();
            assert_eq!(Encryption::from_transform(id, bits), Some(e));
        }
        for i in [
            Integrity::None,
            Integrity::HmacSha1_96,
            Integrity::HmacSha256_128,
            Integrity::HmacSha384_192,
            Integrity::HmacSha512_256,
        ] {
            assert_eq!(Integrity::from_transform(i.transform()), Some(i));
        }
        assert_eq!(
            Encryption::from_transform(encr_id::ENCR_AES_GCM_16, Some(192)),
            None
        );
        assert_eq!(
            Encryption::from_transform(encr_id::ENCR_CHACHA20_POLY1305, Some(256)),
            None
        );
        assert_eq!(Integrity::from_transform(5), None);
    }
}
