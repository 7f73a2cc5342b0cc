//! IKEv2 transform identifiers that this crate implements, with their IANA
//! numbers (IKEv2 "Transform Type Values" registries, RFC 7296 §3.3.2 and
//! updates: RFC 4434, 4615, 5282, 5903, 5930, 7634, 8031).
//!
//! These are closed enums of what we *support*: the numbers and IANA names
//! live in one place, the wire crate's registry newtypes, and each variant
//! here takes its value from there; `from_iana` returning `None` means "not
//! implemented here, so neither offered nor acceptable".

use crate::error::{CryptoError, Result};
use yadokari_wire::registry::{
    AuthMethod as WireAuth, EncrId, IntegId, KeMethod, PrfId, TransformType,
};

macro_rules! iana_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every variant, in IANA order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The variant with this IANA transform ID, if we implement it.
            #[must_use]
            pub const fn from_iana(id: u16) -> Option<Self> {
                $( if id == $value { return Some($name::$variant); } )+
                None
            }

            /// Like [`Self::from_iana`], with an error naming the transform type.
            pub fn try_from_iana(id: u16) -> Result<Self> {
                Self::from_iana(id).ok_or(CryptoError::UnsupportedTransform {
                    transform: $kind,
                    id,
                })
            }

            /// The IANA transform ID.
            #[must_use]
            pub const fn iana(self) -> u16 {
                self as u16
            }
        }
    };
}

iana_enum! {
    /// Transform Type 1, Encryption Algorithm (ENCR).
    EncrAlgorithm, "ENCR" {
        /// ENCR_AES_CBC (RFC 3602), Key Length 128/192/256.
        AesCbc = EncrId::ENCR_AES_CBC.0,
        /// ENCR_AES_CTR (RFC 5930), Key Length 128/192/256; keymat has a 4-byte nonce.
        AesCtr = EncrId::ENCR_AES_CTR.0,
        /// ENCR_AES_GCM_16 (RFC 5282), Key Length 128/192/256; keymat has a 4-byte salt.
        AesGcm16 = EncrId::ENCR_AES_GCM_16.0,
        /// ENCR_CHACHA20_POLY1305 (RFC 7634), no Key Length; keymat has a 4-byte salt.
        ChaCha20Poly1305 = EncrId::ENCR_CHACHA20_POLY1305.0,
    }
}

iana_enum! {
    /// Transform Type 2, Pseudorandom Function (PRF).
    PrfAlgorithm, "PRF" {
        /// PRF_HMAC_SHA1 (RFC 2104).
        HmacSha1 = PrfId::PRF_HMAC_SHA1.0,
        /// PRF_AES128_XCBC (RFC 4434).
        Aes128Xcbc = PrfId::PRF_AES128_XCBC.0,
        /// PRF_HMAC_SHA2_256 (RFC 4868).
        HmacSha2_256 = PrfId::PRF_HMAC_SHA2_256.0,
        /// PRF_HMAC_SHA2_384 (RFC 4868).
        HmacSha2_384 = PrfId::PRF_HMAC_SHA2_384.0,
        /// PRF_HMAC_SHA2_512 (RFC 4868).
        HmacSha2_512 = PrfId::PRF_HMAC_SHA2_512.0,
        /// PRF_AES128_CMAC (RFC 4615).
        Aes128Cmac = PrfId::PRF_AES128_CMAC.0,
    }
}

iana_enum! {
    /// Transform Type 3, Integrity Algorithm (INTEG). AUTH_NONE (0) is not a
    /// member: an AEAD suite has `Option::None` instead.
    IntegAlgorithm, "INTEG" {
        /// AUTH_HMAC_SHA1_96 (RFC 2404).
        HmacSha1_96 = IntegId::AUTH_HMAC_SHA1_96.0,
        /// AUTH_AES_XCBC_96 (RFC 3566).
        AesXcbc96 = IntegId::AUTH_AES_XCBC_96.0,
        /// AUTH_AES_CMAC_96 (RFC 4494).
        AesCmac96 = IntegId::AUTH_AES_CMAC_96.0,
        /// AUTH_HMAC_SHA2_256_128 (RFC 4868).
        HmacSha2_256_128 = IntegId::AUTH_HMAC_SHA2_256_128.0,
        /// AUTH_HMAC_SHA2_384_192 (RFC 4868).
        HmacSha2_384_192 = IntegId::AUTH_HMAC_SHA2_384_192.0,
        /// AUTH_HMAC_SHA2_512_256 (RFC 4868).
        HmacSha2_512_256 = IntegId::AUTH_HMAC_SHA2_512_256.0,
    }
}

iana_enum! {
    /// Transform Type 4, Key Exchange Method (KE; "Diffie-Hellman Group" in RFC 7296).
    KeGroup, "KE" {
        /// 1024-bit MODP Group (RFC 2409 §6.2). Legacy; off by default in policy.
        Modp1024 = KeMethod::MODP_1024.0,
        /// 1536-bit MODP Group (RFC 3526 §2). Legacy.
        Modp1536 = KeMethod::MODP_1536.0,
        /// 2048-bit MODP Group (RFC 3526 §3).
        Modp2048 = KeMethod::MODP_2048.0,
        /// 3072-bit MODP Group (RFC 3526 §4).
        Modp3072 = KeMethod::MODP_3072.0,
        /// 4096-bit MODP Group (RFC 3526 §5).
        Modp4096 = KeMethod::MODP_4096.0,
        /// 6144-bit MODP Group (RFC 3526 §6).
        Modp6144 = KeMethod::MODP_6144.0,
        /// 8192-bit MODP Group (RFC 3526 §7).
        Modp8192 = KeMethod::MODP_8192.0,
        /// 256-bit random ECP group (RFC 5903).
        Ecp256 = KeMethod::ECP_256.0,
        /// 384-bit random ECP group (RFC 5903).
        Ecp384 = KeMethod::ECP_384.0,
        /// 521-bit random ECP group (RFC 5903).
        Ecp521 = KeMethod::ECP_521.0,
        /// Curve25519 (RFC 8031).
        Curve25519 = KeMethod::CURVE25519.0,
        /// Curve448 (RFC 8031).
        Curve448 = KeMethod::CURVE448.0,
        /// ML-KEM-512 (FIPS 203; draft-ietf-ipsecme-ikev2-mlkem).
        MlKem512 = KeMethod::ML_KEM_512.0,
        /// ML-KEM-768 (FIPS 203; draft-ietf-ipsecme-ikev2-mlkem).
        MlKem768 = KeMethod::ML_KEM_768.0,
        /// ML-KEM-1024 (FIPS 203; draft-ietf-ipsecme-ikev2-mlkem).
        MlKem1024 = KeMethod::ML_KEM_1024.0,
    }
}

impl KeGroup {
    /// Length in bytes of the initiator's Key Exchange Data for this group
    /// (RFC 7296 §3.4, RFC 5903 §7, RFC 8031 §3.1; for ML-KEM the
    /// encapsulation key, FIPS 203 §8); a value of any other length is
    /// INVALID_SYNTAX. The responder's is [`Self::response_len`].
    #[must_use]
    pub const fn public_len(self) -> usize {
        match self {
            KeGroup::MlKem512 => 800,
            KeGroup::MlKem768 => 1184,
            KeGroup::MlKem1024 => 1568,
            KeGroup::Modp1024 => 128,
            KeGroup::Modp1536 => 192,
            KeGroup::Modp2048 => 256,
            KeGroup::Modp3072 => 384,
            KeGroup::Modp4096 => 512,
            KeGroup::Modp6144 => 768,
            KeGroup::Modp8192 => 1024,
            KeGroup::Ecp256 => 64,
            KeGroup::Ecp384 => 96,
            KeGroup::Ecp521 => 132,
            KeGroup::Curve25519 => 32,
            KeGroup::Curve448 => 56,
        }
    }

    /// Length in bytes of the responder's Key Exchange Data: the same as
    /// the initiator's for Diffie-Hellman groups, the ciphertext for ML-KEM
    /// (FIPS 203 §8).
    #[must_use]
    pub const fn response_len(self) -> usize {
        match self {
            KeGroup::MlKem512 => 768,
            KeGroup::MlKem768 => 1088,
            KeGroup::MlKem1024 => 1568,
            other => other.public_len(),
        }
    }

    /// Whether the method is a key encapsulation mechanism: the responder
    /// answers the initiator's public key with a ciphertext instead of a
    /// public value of its own.
    #[must_use]
    pub const fn is_kem(self) -> bool {
        matches!(
            self,
            KeGroup::MlKem512 | KeGroup::MlKem768 | KeGroup::MlKem1024
        )
    }

    /// Length in bytes of the shared secret g^ir.
    #[must_use]
    pub const fn shared_secret_len(self) -> usize {
        match self {
            KeGroup::MlKem512 | KeGroup::MlKem768 | KeGroup::MlKem1024 => 32,
            KeGroup::Ecp256 => 32,
            KeGroup::Ecp384 => 48,
            KeGroup::Ecp521 => 66,
            other => other.public_len(),
        }
    }

    /// Whether this build implements the group.
    #[must_use]
    pub const fn is_supported(self) -> bool {
        cfg!(feature = "x448") || !matches!(self, KeGroup::Curve448)
    }
}

impl EncrAlgorithm {
    /// Whether this is a combined-mode (AEAD) cipher, which is negotiated
    /// without an INTEG transform (RFC 5282 §8).
    #[must_use]
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            EncrAlgorithm::AesGcm16 | EncrAlgorithm::ChaCha20Poly1305
        )
    }

    /// Whether the transform needs a Key Length attribute (RFC 7296 §3.3.5).
    #[must_use]
    pub const fn needs_key_length(self) -> bool {
        !matches!(self, EncrAlgorithm::ChaCha20Poly1305)
    }
}

iana_enum! {
    /// IKEv2 Authentication Method (RFC 7296 §3.8 and the IANA registry).
    AuthMethod, "AUTH" {
        /// RSA Digital Signature (PKCS#1 v1.5 over SHA-1).
        RsaSig = WireAuth::RSA_DIGITAL_SIGNATURE.0 as u16,
        /// Shared Key Message Integrity Code (RFC 7296 §2.15).
        SharedKeyMic = WireAuth::SHARED_KEY_MIC.0 as u16,
        /// DSS Digital Signature.
        DssSig = WireAuth::DSS_DIGITAL_SIGNATURE.0 as u16,
        /// ECDSA with SHA-256 on the P-256 curve (RFC 4754).
        EcdsaSha256P256 = WireAuth::ECDSA_SHA256_P256.0 as u16,
        /// ECDSA with SHA-384 on the P-384 curve (RFC 4754).
        EcdsaSha384P384 = WireAuth::ECDSA_SHA384_P384.0 as u16,
        /// ECDSA with SHA-512 on the P-521 curve (RFC 4754).
        EcdsaSha512P521 = WireAuth::ECDSA_SHA512_P521.0 as u16,
        /// NULL Authentication (RFC 7619).
        NullAuth = WireAuth::NULL_AUTHENTICATION.0 as u16,
        /// Digital Signature (RFC 7427).
        DigitalSignature = WireAuth::DIGITAL_SIGNATURE.0 as u16,
    }
}

/// Whether this build can run the transform for an IKE SA — SK payload
/// encryption with its key length, integrity, PRF, key exchange method: the
/// IKE half of the one capability table (`yadokari_esp::can_run` is the ESP
/// half). The configuration asks this at load.
#[must_use]
pub fn ike_can_run(ty: TransformType, id: u16, key_bits: Option<u16>) -> bool {
    match ty {
        TransformType::ENCR => EncrAlgorithm::from_iana(id)
            .is_some_and(|a| crate::sk::EncrTransform::new(a, key_bits).is_ok()),
        TransformType::PRF => key_bits.is_none() && PrfAlgorithm::from_iana(id).is_some(),
        TransformType::INTEG => key_bits.is_none() && IntegAlgorithm::from_iana(id).is_some(),
        TransformType::KE => {
            key_bits.is_none() && KeGroup::from_iana(id).is_some_and(KeGroup::is_supported)
        }
        // RFC 9370 additional key exchanges; NONE (0) makes one optional.
        t if t.is_key_exchange() => {
            key_bits.is_none()
                && (id == 0 || KeGroup::from_iana(id).is_some_and(KeGroup::is_supported))
        }
        _ => false,
    }
}

#[cfg(test)]
mod capability_tests {
    use super::*;

    #[test]
    fn what_the_ike_side_can_run() {
        assert!(ike_can_run(
            TransformType::ENCR,
            EncrId::ENCR_AES_GCM_16.0,
            Some(256)
        ));
        assert!(!ike_can_run(
            TransformType::ENCR,
            EncrId::ENCR_AES_GCM_16.0,
            None
        ));
        assert!(!ike_can_run(
            TransformType::ENCR,
            EncrId::ENCR_AES_GCM_8.0,
            Some(128)
        ));
        assert!(ike_can_run(TransformType::KE, KeMethod::CURVE25519.0, None));
        assert!(ike_can_run(TransformType::KE, KeMethod::ML_KEM_768.0, None));
        // A KE method with a number that nothing here runs.
        assert!(!ike_can_run(
            TransformType::KE,
            KeMethod::BRAINPOOL_P256R1.0,
            None
        ));
        assert!(ike_can_run(
            TransformType::PRF,
            PrfId::PRF_AES128_CMAC.0,
            None
        ));
        assert!(!ike_can_run(TransformType::ESN, 0, None));
    }
}
