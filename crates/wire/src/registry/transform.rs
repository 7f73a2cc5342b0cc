//! Transform registries: transform types and the transform IDs of each
//! type (RFC 7296 §3.3.2, RFC 9370 for ADDKE1..7), plus transform
//! attribute types (§3.3.5).

registry! {
    /// Transform Type Values (RFC 7296 §3.3.2; RFC 9370; G-IKEv2).
    pub struct TransformType(u8);
    /// Encryption Algorithm.
    ENCR = 1,
    /// Pseudorandom Function.
    PRF = 2,
    /// Integrity Algorithm.
    INTEG = 3,
    /// Key Exchange Method (was "Diffie-Hellman Group").
    KE = 4,
    /// Sequence Numbers (was "Extended Sequence Numbers").
    ESN = 5,
    ADDKE1 = 6,
    ADDKE2 = 7,
    ADDKE3 = 8,
    ADDKE4 = 9,
    ADDKE5 = 10,
    ADDKE6 = 11,
    ADDKE7 = 12,
    /// Key Wrap Algorithm (G-IKEv2).
    KWA = 13,
    /// Group Controller Authentication Method (G-IKEv2).
    GCAUTH = 14,
}

impl TransformType {
    /// The legacy name "D-H" for type 4.
    pub const DH: Self = Self(4);

    /// Whether IDs of this type are key exchange methods (KE and ADDKE1..7).
    pub const fn is_key_exchange(self) -> bool {
        matches!(self.0, 4 | 6..=12)
    }

    /// The IANA name of `id` within this transform type's registry.
    pub fn id_name(self, id: u16) -> Option<&'static str> {
        match self.0 {
            1 => EncrId(id).name(),
            2 => PrfId(id).name(),
            3 => IntegId(id).name(),
            4 | 6..=12 => KeMethod(id).name(),
            5 => EsnId(id).name(),
            _ => None,
        }
    }
}

registry! {
    /// Transform Type 1 — Encryption Algorithm Transform IDs.
    pub struct EncrId(u16);
    ENCR_DES_IV64 = 1,
    ENCR_DES = 2,
    ENCR_3DES = 3,
    ENCR_RC5 = 4,
    ENCR_IDEA = 5,
    ENCR_CAST = 6,
    ENCR_BLOWFISH = 7,
    ENCR_3IDEA = 8,
    ENCR_DES_IV32 = 9,
    ENCR_NULL = 11,
    ENCR_AES_CBC = 12,
    ENCR_AES_CTR = 13,
    ENCR_AES_CCM_8 = 14,
    ENCR_AES_CCM_12 = 15,
    ENCR_AES_CCM_16 = 16,
    ENCR_AES_GCM_8 = 18,
    ENCR_AES_GCM_12 = 19,
    ENCR_AES_GCM_16 = 20,
    ENCR_NULL_AUTH_AES_GMAC = 21,
    ENCR_CAMELLIA_CBC = 23,
    ENCR_CAMELLIA_CTR = 24,
    ENCR_CAMELLIA_CCM_8_ICV = 25,
    ENCR_CAMELLIA_CCM_12_ICV = 26,
    ENCR_CAMELLIA_CCM_16_ICV = 27,
    ENCR_CHACHA20_POLY1305 = 28,
    ENCR_AES_CCM_8_IIV = 29,
    ENCR_AES_GCM_16_IIV = 30,
    ENCR_CHACHA20_POLY1305_IIV = 31,
    ENCR_KUZNYECHIK_MGM_KTREE = 32,
    ENCR_MAGMA_MGM_KTREE = 33,
    ENCR_KUZNYECHIK_MGM_MAC_KTREE = 34,
    ENCR_MAGMA_MGM_MAC_KTREE = 35,
}

registry! {
    /// Transform Type 2 — Pseudorandom Function Transform IDs.
    pub struct PrfId(u16);
    PRF_HMAC_MD5 = 1,
    PRF_HMAC_SHA1 = 2,
    PRF_HMAC_TIGER = 3,
    PRF_AES128_XCBC = 4,
    PRF_HMAC_SHA2_256 = 5,
    PRF_HMAC_SHA2_384 = 6,
    PRF_HMAC_SHA2_512 = 7,
    PRF_AES128_CMAC = 8,
    PRF_HMAC_STREEBOG_512 = 9,
}

registry! {
    /// Transform Type 3 — Integrity Algorithm Transform IDs.
    pub struct IntegId(u16);
    NONE = 0,
    AUTH_HMAC_MD5_96 = 1,
    AUTH_HMAC_SHA1_96 = 2,
    AUTH_DES_MAC = 3,
    AUTH_KPDK_MD5 = 4,
    AUTH_AES_XCBC_96 = 5,
    AUTH_HMAC_MD5_128 = 6,
    AUTH_HMAC_SHA1_160 = 7,
    AUTH_AES_CMAC_96 = 8,
    AUTH_AES_128_GMAC = 9,
    AUTH_AES_192_GMAC = 10,
    AUTH_AES_256_GMAC = 11,
    AUTH_HMAC_SHA2_256_128 = 12,
    AUTH_HMAC_SHA2_384_192 = 13,
    AUTH_HMAC_SHA2_512_256 = 14,
}

registry! {
    /// Transform Type 4 — Key Exchange Method Transform IDs (also used by
    /// ADDKE1..7, the KE payload's group field and INVALID_KE_PAYLOAD).
    pub struct KeMethod(u16);
    NONE = 0,
    MODP_768 = 1 => "768-bit MODP Group",
    MODP_1024 = 2 => "1024-bit MODP Group",
    MODP_1536 = 5 => "1536-bit MODP Group",
    MODP_2048 = 14 => "2048-bit MODP Group",
    MODP_3072 = 15 => "3072-bit MODP Group",
    MODP_4096 = 16 => "4096-bit MODP Group",
    MODP_6144 = 17 => "6144-bit MODP Group",
    MODP_8192 = 18 => "8192-bit MODP Group",
    ECP_256 = 19 => "256-bit random ECP group",
    ECP_384 = 20 => "384-bit random ECP group",
    ECP_521 = 21 => "521-bit random ECP group",
    MODP_1024_160_POS = 22 => "1024-bit MODP Group with 160-bit Prime Order Subgroup",
    MODP_2048_224_POS = 23 => "2048-bit MODP Group with 224-bit Prime Order Subgroup",
    MODP_2048_256_POS = 24 => "2048-bit MODP Group with 256-bit Prime Order Subgroup",
    ECP_192 = 25 => "192-bit Random ECP Group",
    ECP_224 = 26 => "224-bit Random ECP Group",
    BRAINPOOL_P224R1 = 27 => "brainpoolP224r1",
    BRAINPOOL_P256R1 = 28 => "brainpoolP256r1",
    BRAINPOOL_P384R1 = 29 => "brainpoolP384r1",
    BRAINPOOL_P512R1 = 30 => "brainpoolP512r1",
    CURVE25519 = 31 => "Curve25519",
    CURVE448 = 32 => "Curve448",
    GOST3410_2012_256 = 33,
    GOST3410_2012_512 = 34,
    ML_KEM_512 = 35 => "ml-kem-512",
    ML_KEM_768 = 36 => "ml-kem-768",
    ML_KEM_1024 = 37 => "ml-kem-1024",
}

registry! {
    /// Transform Type 5 — Sequence Numbers (formerly Extended Sequence Numbers) Transform IDs.
    pub struct EsnId(u16);
    NO_ESN = 0 => "No Extended Sequence Numbers",
    ESN = 1 => "Extended Sequence Numbers",
}

registry! {
    /// IKEv2 Transform Attribute Types (RFC 7296 §3.3.5), without the AF bit.
    pub struct TransformAttributeType(u16);
    KEY_LENGTH = 14 => "Key Length",
}
