//! Integrity transforms (RFC 7296 §3.3.2 Transform Type 3) for the SK
//! payload and for ESP: HMAC-SHA1-96 (RFC 2404), HMAC-SHA2-256-128,
//! -384-192, -512-256 (RFC 4868), AES-XCBC-MAC-96 (RFC 3566) and
//! AES-CMAC-96 (RFC 4494). Each computes the full MAC and keeps the leading
//! `icv_len()` bytes; verification compares in constant time.

use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;

use crate::error::{CryptoError, Result};
use crate::ids::IntegAlgorithm;
use crate::mac::{MacKey, MAX_MAC_LEN};

/// Largest truncated ICV (HMAC-SHA2-512-256).
pub const MAX_ICV_LEN: usize = 32;

impl IntegAlgorithm {
    /// Key length in bytes (RFC 2404 §2, RFC 4868 §2.1.1, RFC 3566 §2.1,
    /// RFC 4494 §2).
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            IntegAlgorithm::HmacSha1_96 => 20,
            IntegAlgorithm::HmacSha2_256_128 => 32,
            IntegAlgorithm::HmacSha2_384_192 => 48,
            IntegAlgorithm::HmacSha2_512_256 => 64,
            IntegAlgorithm::AesXcbc96 | IntegAlgorithm::AesCmac96 => 16,
        }
    }

    /// Truncated ICV (checksum) length in bytes.
    #[must_use]
    pub const fn icv_len(self) -> usize {
        match self {
            IntegAlgorithm::HmacSha1_96 | IntegAlgorithm::AesXcbc96 | IntegAlgorithm::AesCmac96 => {
                12
            }
            IntegAlgorithm::HmacSha2_256_128 => 16,
            IntegAlgorithm::HmacSha2_384_192 => 24,
            IntegAlgorithm::HmacSha2_512_256 => 32,
        }
    }
}

/// An integrity transform with its key expanded.
pub struct Integ {
    alg: IntegAlgorithm,
    key: MacKey,
}

impl core::fmt::Debug for Integ {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Integ")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Integ {
    /// Keys `alg`; the key must be exactly [`IntegAlgorithm::key_len`] bytes.
    pub fn new(alg: IntegAlgorithm, key: &[u8]) -> Result<Self> {
        if key.len() != alg.key_len() {
            return Err(CryptoError::InvalidKeyLength {
                what: "integrity key",
                expected: alg.key_len(),
                got: key.len(),
            });
        }
        let key = match alg {
            IntegAlgorithm::HmacSha1_96 => MacKey::hmac(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key),
            IntegAlgorithm::HmacSha2_256_128 => MacKey::hmac(hmac::HMAC_SHA256, key),
            IntegAlgorithm::HmacSha2_384_192 => MacKey::hmac(hmac::HMAC_SHA384, key),
            IntegAlgorithm::HmacSha2_512_256 => MacKey::hmac(hmac::HMAC_SHA512, key),
            IntegAlgorithm::AesXcbc96 => MacKey::xcbc(key)?,
            IntegAlgorithm::AesCmac96 => MacKey::cmac(key)?,
        };
        Ok(Self { alg, key })
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> IntegAlgorithm {
        self.alg
    }

    /// ICV length in bytes.
    #[must_use]
    pub fn icv_len(&self) -> usize {
        self.alg.icv_len()
    }

    /// Writes the truncated ICV over the concatenation of `parts` into
    /// `icv`, which must be exactly [`Self::icv_len`] bytes.
    pub fn compute(&self, parts: &[&[u8]], icv: &mut [u8]) -> Result<()> {
        if icv.len() != self.icv_len() {
            return Err(CryptoError::BufferTooSmall {
                what: "ICV",
                need: self.icv_len(),
                have: icv.len(),
            });
        }
        self.key.compute(parts, icv)
    }

    /// Checks `icv` against the concatenation of `parts` in constant time.
    /// A wrong-length `icv` fails like a wrong value.
    pub fn verify(&self, parts: &[&[u8]], icv: &[u8]) -> Result<()> {
        let n = self.icv_len();
        let mut want = [0u8; MAX_MAC_LEN];
        self.key.compute(parts, &mut want[..n])?;
        let ok = icv.len() == n && bool::from(want[..n].ct_eq(icv));
        zeroize::Zeroize::zeroize(&mut want);
        if ok {
            Ok(())
        } else {
            Err(CryptoError::IntegrityCheckFailed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn icv(alg: IntegAlgorithm, key: &[u8], msg: &[u8]) -> String {
        let i = Integ::new(alg, key).unwrap();
        let mut out = vec![0u8; i.icv_len()];
        i.compute(&[msg], &mut out).unwrap();
        i.verify(&[msg], &out).unwrap();
        hex::encode(out)
    }

    /// RFC 4868 §2.7.2.1-3 use RFC 4231 case 2 with key length equal to the
    /// hash output; these are RFC 4231 test case 1 values truncated, with the
    /// keys padded to the transform's key length per RFC 4868 §2.7.2.
    #[test]
    fn hmac_truncations_rfc4868() {
        // RFC 4868 §2.7.2.1 Test Case AUTH256-1: key 0x0b × 32, "Hi There".
        assert_eq!(
            icv(IntegAlgorithm::HmacSha2_256_128, &[0x0b; 32], b"Hi There"),
            "198a607eb44bfbc69903a0f1cf2bbdc5"
        );
        // AUTH384-1: key 0x0b × 48.
        assert_eq!(
            icv(IntegAlgorithm::HmacSha2_384_192, &[0x0b; 48], b"Hi There"),
            "b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973"
        );
        // AUTH512-1: key 0x0b × 64.
        assert_eq!(
            icv(IntegAlgorithm::HmacSha2_512_256, &[0x0b; 64], b"Hi There"),
            "637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8"
        );
    }

    /// RFC 2202 test case 1 truncated to 96 bits (RFC 2404).
    #[test]
    fn hmac_sha1_96() {
        assert_eq!(
            icv(IntegAlgorithm::HmacSha1_96, &[0x0b; 20], b"Hi There"),
            "b617318655057264e28bc0b6"
        );
    }

    /// RFC 3566 §4.6 test case 4, 96-bit output.
    #[test]
    fn aes_xcbc_96() {
        assert_eq!(
            icv(
                IntegAlgorithm::AesXcbc96,
                &h("000102030405060708090a0b0c0d0e0f"),
                &h("000102030405060708090a0b0c0d0e0f10111213")
            ),
            "47f51b4564966215b8985c63"
        );
    }

    /// RFC 4494 §4 (NIST SP 800-38B AES-128 examples), 96-bit outputs.
    #[test]
    fn aes_cmac_96_rfc4494() {
        let key = h("2b7e151628aed2a6abf7158809cf4f3c");
        let a = IntegAlgorithm::AesCmac96;
        assert_eq!(icv(a, &key, b""), "bb1d6929e95937287fa37d12");
        assert_eq!(
            icv(a, &key, &h("6bc1bee22e409f96e93d7e117393172a")),
            "070a16b46b4d4144f79bdd9d"
        );
        assert_eq!(
            icv(
                a,
                &key,
                &h(
                    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                    30c81c46a35ce411"
                )
            ),
            "dfa66747de9ae63030ca3261"
        );
        assert_eq!(
            icv(
                a,
                &key,
                &h(
                    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                    30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
                )
            ),
            "51f0bebf7e3b9d92fc497417"
        );
    }

    #[test]
    fn verify_rejects_flips_and_wrong_lengths() {
        for &alg in IntegAlgorithm::ALL {
            let i = Integ::new(alg, &vec![0x33; alg.key_len()]).unwrap();
            let msg = b"message under test";
            let mut tag = vec![0u8; i.icv_len()];
            i.compute(&[msg], &mut tag).unwrap();
            i.verify(&[&msg[..5], &msg[5..]], &tag).unwrap();
            for bit in 0..tag.len() * 8 {
                let mut bad = tag.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(
                    i.verify(&[msg], &bad),
                    Err(CryptoError::IntegrityCheckFailed)
                );
            }
            assert_eq!(
                i.verify(&[msg], &tag[..tag.len() - 1]),
                Err(CryptoError::IntegrityCheckFailed)
            );
            assert!(Integ::new(alg, &vec![0; alg.key_len() + 1]).is_err());
        }
    }
}
