//! IKEv2 transform identifiers that this crate implements, with their IANA
//! numbers (IKEv2 "Transform Type Values" registries, RFC 7296 §3.3.2 and
//! updates: RFC 4434, 4615, 5282, 5903, 5930, 7634, 8031).
//!
//! These are closed enums of what we *support*: unknown wire values stay in
//! the wire crate's registry newtypes, and `from_iana` returning `None` means
//! "not offered / not acceptable".

use crate::error::{CryptoError, Result};

macro_rules! iana_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
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
                match id {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
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
        AesCbc = 12,
        /// ENCR_AES_CTR (RFC 5930), Key Length 128/192/256; keymat has a 4-byte nonce.
        AesCtr = 13,
        /// ENCR_AES_GCM_16 (RFC 5282), Key Length 128/192/256; keymat has a 4-byte salt.
        AesGcm16 = 20,
        /// ENCR_CHACHA20_POLY1305 (RFC 7634), no Key Length; keymat has a 4-byte salt.
        ChaCha20Poly1305 = 28,
    }
}

iana_enum! {
    /// Transform Type 2, Pseudorandom Function (PRF).
    PrfAlgorithm, "PRF" {
        /// PRF_HMAC_SHA1 (RFC 2104).
        HmacSha1 = 2,
        /// PRF_AES128_XCBC (RFC 4434).
        Aes128Xcbc = 4,
        /// PRF_HMAC_SHA2_256 (RFC 4868).
        HmacSha2_256 = 5,
        /// PRF_HMAC_SHA2_384 (RFC 4868).
        HmacSha2_384 = 6,
        /// PRF_HMAC_SHA2_512 (RFC 4868).
        HmacSha2_512 = 7,
        /// PRF_AES128_CMAC (RFC 4615).
        Aes128Cmac = 8,
    }
}

iana_enum! {
    /// Transform Type 3, Integrity Algorithm (INTEG). AUTH_NONE (0) is not a
    /// member: an AEAD suite has `Option::None` instead.
    IntegAlgorithm, "INTEG" {
        /// AUTH_HMAC_SHA1_96 (RFC 2404).
        HmacSha1_96 = 2,
        /// AUTH_AES_XCBC_96 (RFC 3566).
        AesXcbc96 = 5,
        /// AUTH_AES_CMAC_96 (RFC 4494).
        AesCmac96 = 8,
        /// AUTH_HMAC_SHA2_256_128 (RFC 4868).
        HmacSha2_256_128 = 12,
        /// AUTH_HMAC_SHA2_384_192 (RFC 4868).
        HmacSha2_384_192 = 13,
        /// AUTH_HMAC_SHA2_512_256 (RFC 4868).
        HmacSha2_512_256 = 14,
    }
}

iana_enum! {
    /// Transform Type 4, Key Exchange Method (KE; "Diffie-Hellman Group" in RFC 7296).
    KeGroup, "KE" {
        /// 1024-bit MODP Group (RFC 2409 §6.2). Legacy; off by default in policy.
        Modp1024 = 2,
        /// 1536-bit MODP Group (RFC 3526 §2). Legacy.
        Modp1536 = 5,
        /// 2048-bit MODP Group (RFC 3526 §3).
        Modp2048 = 14,
        /// 3072-bit MODP Group (RFC 3526 §4).
        Modp3072 = 15,
        /// 4096-bit MODP Group (RFC 3526 §5).
        Modp4096 = 16,
        /// 6144-bit MODP Group (RFC 3526 §6).
        Modp6144 = 17,
        /// 8192-bit MODP Group (RFC 3526 §7).
        Modp8192 = 18,
        /// 256-bit random ECP group (RFC 5903).
        Ecp256 = 19,
        /// 384-bit random ECP group (RFC 5903).
        Ecp384 = 20,
        /// 521-bit random ECP group (RFC 5903).
        Ecp521 = 21,
        /// Curve25519 (RFC 8031).
        Curve25519 = 31,
        /// Curve448 (RFC 8031).
        Curve448 = 32,
    }
}

impl KeGroup {
    /// Length in bytes of a KE payload's Key Exchange Data for this group
    /// (RFC 7296 §3.4, RFC 5903 §7, RFC 8031 §3.1); a peer value of any other
    /// length is INVALID_SYNTAX.
    #[must_use]
    pub const fn public_len(self) -> usize {
        match self {
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

    /// Length in bytes of the shared secret g^ir.
    #[must_use]
    pub const fn shared_secret_len(self) -> usize {
        match self {
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
        RsaSig = 1,
        /// Shared Key Message Integrity Code (RFC 7296 §2.15).
        SharedKeyMic = 2,
        /// DSS Digital Signature.
        DssSig = 3,
        /// ECDSA with SHA-256 on the P-256 curve (RFC 4754).
        EcdsaSha256P256 = 9,
        /// ECDSA with SHA-384 on the P-384 curve (RFC 4754).
        EcdsaSha384P384 = 10,
        /// ECDSA with SHA-512 on the P-521 curve (RFC 4754).
        EcdsaSha512P521 = 11,
        /// NULL Authentication (RFC 7619).
        NullAuth = 13,
        /// Digital Signature (RFC 7427).
        DigitalSignature = 14,
    }
}
