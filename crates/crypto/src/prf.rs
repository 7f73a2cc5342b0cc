//! IKEv2 pseudorandom functions (RFC 7296 §2.13, §3.3.2 Transform Type 2)
//! and `prf+` (RFC 7296 §2.13).
//!
//! - PRF_HMAC_SHA1, PRF_HMAC_SHA2_256/384/512 (RFC 2104, RFC 4868 §2.1.2):
//!   keys of any length, handled by HMAC itself.
//! - PRF_AES128_XCBC (RFC 4434 §2): a key shorter than 16 bytes is padded
//!   with zeros, a longer one is replaced by AES-XCBC-PRF-128(0¹²⁸, key).
//! - PRF_AES128_CMAC (RFC 4615 §3): a key that is not 16 bytes is replaced
//!   by AES-CMAC(0¹²⁸, key).
//!
//! A [`Prf`] holds the expanded key, so a PRF keyed once (SK_d, SK_pi,
//! SK_pr) costs only the MAC on each use.

use aws_lc_rs::hmac;

use crate::error::{CryptoError, Result};
use crate::ids::PrfAlgorithm;
use crate::mac::MacKey;
use crate::secret::PrfOutput;

/// prf+ produces at most 255 blocks: the counter is a single octet
/// (RFC 7296 §2.13).
pub const PRF_PLUS_MAX_BLOCKS: usize = 255;

impl PrfAlgorithm {
    /// Output length in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            PrfAlgorithm::HmacSha1 => 20,
            PrfAlgorithm::HmacSha2_256 => 32,
            PrfAlgorithm::HmacSha2_384 => 48,
            PrfAlgorithm::HmacSha2_512 => 64,
            PrfAlgorithm::Aes128Xcbc | PrfAlgorithm::Aes128Cmac => 16,
        }
    }

    /// The PRF's preferred key length, which is the length of SK_d, SK_pi
    /// and SK_pr (RFC 7296 §2.14): the output length for HMAC (RFC 4868
    /// §2.1.2), 16 for the AES-based PRFs.
    #[must_use]
    pub const fn key_len(self) -> usize {
        self.output_len()
    }

    /// Whether this PRF needs a fixed-size key, which changes how SKEYSEED is
    /// keyed (RFC 7296 §2.14: only 64 bits of each nonce).
    #[must_use]
    pub const fn has_fixed_key_len(self) -> bool {
        matches!(self, PrfAlgorithm::Aes128Xcbc | PrfAlgorithm::Aes128Cmac)
    }

    /// Largest prf+ output, 255 blocks.
    #[must_use]
    pub const fn prf_plus_max(self) -> usize {
        PRF_PLUS_MAX_BLOCKS * self.output_len()
    }

    pub(crate) fn hmac_algorithm(self) -> Option<hmac::Algorithm> {
        match self {
            PrfAlgorithm::HmacSha1 => Some(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
            PrfAlgorithm::HmacSha2_256 => Some(hmac::HMAC_SHA256),
            PrfAlgorithm::HmacSha2_384 => Some(hmac::HMAC_SHA384),
            PrfAlgorithm::HmacSha2_512 => Some(hmac::HMAC_SHA512),
            PrfAlgorithm::Aes128Xcbc | PrfAlgorithm::Aes128Cmac => None,
        }
    }
}

/// A PRF with its key expanded. Cheap to use repeatedly; not `Clone`
/// (make a new one from the key instead).
pub struct Prf {
    alg: PrfAlgorithm,
    key: MacKey,
}

impl core::fmt::Debug for Prf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Prf")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Prf {
    /// Keys `alg` with `key` of any length, applying the RFC 4434 / RFC 4615
    /// key rules for the AES-based PRFs.
    pub fn new(alg: PrfAlgorithm, key: &[u8]) -> Result<Self> {
        let key = match alg {
            PrfAlgorithm::HmacSha1
            | PrfAlgorithm::HmacSha2_256
            | PrfAlgorithm::HmacSha2_384
            | PrfAlgorithm::HmacSha2_512 => {
                let h = alg
                    .hmac_algorithm()
                    .ok_or(CryptoError::Internal("HMAC PRF without HMAC algorithm"))?;
                MacKey::hmac(h, key)
            }
            PrfAlgorithm::Aes128Xcbc => {
                let mut k = [0u8; 16];
                if key.len() <= 16 {
                    // RFC 4434 §2: "If the key has fewer than 128 bits,
                    // lengthen it to exactly 128 bits by padding it on the
                    // right with zero bits."
                    k[..key.len()].copy_from_slice(key);
                } else {
                    let zero = MacKey::xcbc(&[0u8; 16])?;
                    zero.compute(&[key], &mut k)?;
                }
                let r = MacKey::xcbc(&k);
                zeroize::Zeroize::zeroize(&mut k);
                r?
            }
            PrfAlgorithm::Aes128Cmac => {
                if key.len() == 16 {
                    MacKey::cmac(key)?
                } else {
                    let mut k = [0u8; 16];
                    MacKey::cmac(&[0u8; 16])?.compute(&[key], &mut k)?;
                    let r = MacKey::cmac(&k);
                    zeroize::Zeroize::zeroize(&mut k);
                    r?
                }
            }
        };
        Ok(Self { alg, key })
    }

    /// Keys a PRF with the concatenation of `parts` (e.g. Ni | Nr) without
    /// the caller building the key.
    pub fn new_concat(alg: PrfAlgorithm, parts: &[&[u8]]) -> Result<Self> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut key = Vec::with_capacity(len);
        for p in parts {
            key.extend_from_slice(p);
        }
        let r = Self::new(alg, &key);
        zeroize::Zeroize::zeroize(&mut key);
        r
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> PrfAlgorithm {
        self.alg
    }

    /// Output length in bytes.
    #[must_use]
    pub fn output_len(&self) -> usize {
        self.alg.output_len()
    }

    /// prf(K, parts[0] | parts[1] | …).
    pub fn compute(&self, parts: &[&[u8]]) -> Result<PrfOutput> {
        let mut out = PrfOutput::new(self.output_len());
        self.key.compute(parts, out.as_mut())?;
        Ok(out)
    }

    /// prf+(K, S) into `out` (RFC 7296 §2.13), where S is the concatenation
    /// of `seed`:
    ///
    /// ```text
    /// prf+ (K,S) = T1 | T2 | T3 | T4 | ...
    /// T1 = prf (K, S | 0x01)
    /// T2 = prf (K, T1 | S | 0x02)
    /// ```
    ///
    /// Errors with [`CryptoError::OutputTooLong`] beyond 255 blocks.
    pub fn prf_plus(&self, seed: &[&[u8]], out: &mut [u8]) -> Result<()> {
        let max = self.alg.prf_plus_max();
        if out.len() > max {
            return Err(CryptoError::OutputTooLong {
                requested: out.len(),
                max,
            });
        }
        // Parts: previous block, the seed pieces, the counter. A small fixed
        // array keeps this allocation-free for the seeds IKE uses (≤ 6 parts).
        const MAX_PARTS: usize = 8;
        if seed.len() + 2 > MAX_PARTS {
            return Err(CryptoError::Internal("prf+ seed has too many parts"));
        }
        let mut prev = PrfOutput::new(self.output_len());
        let mut written = 0usize;
        let mut counter: u8 = 1;
        while written < out.len() {
            let ctr = [counter];
            let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
            let mut n = 0;
            if counter > 1 {
                parts[0] = prev.expose();
                n = 1;
            }
            for s in seed {
                parts[n] = s;
                n += 1;
            }
            parts[n] = &ctr;
            n += 1;
            let block = self.compute(&parts[..n])?;
            let take = block.len().min(out.len() - written);
            out[written..written + take].copy_from_slice(&block.expose()[..take]);
            written += take;
            prev = block;
            counter = counter.wrapping_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prf_hex(alg: PrfAlgorithm, key: &[u8], msg: &[u8]) -> String {
        hex::encode(
            Prf::new(alg, key)
                .unwrap()
                .compute(&[msg])
                .unwrap()
                .expose(),
        )
    }

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// RFC 2202 §3, HMAC-SHA-1 test cases 1, 2, 3, 6 (key longer than a block).
    #[test]
    fn rfc2202_hmac_sha1() {
        use PrfAlgorithm::HmacSha1 as A;
        assert_eq!(
            prf_hex(A, &[0x0b; 20], b"Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            prf_hex(A, b"Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            prf_hex(A, &[0xaa; 20], &[0xdd; 50]),
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3"
        );
        assert_eq!(
            prf_hex(
                A,
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    /// RFC 4231 §4.2, §4.3 and §4.7 (test cases 1, 2, 6) for SHA-256/384/512.
    #[test]
    fn rfc4231_hmac_sha2() {
        use PrfAlgorithm::{HmacSha2_256, HmacSha2_384, HmacSha2_512};
        let k1 = [0x0b; 20];
        assert_eq!(
            prf_hex(HmacSha2_256, &k1, b"Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            prf_hex(HmacSha2_384, &k1, b"Hi There"),
            "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c\
             faea9ea9076ede7f4af152e8b2fa9cb6"
        );
        assert_eq!(
            prf_hex(HmacSha2_512, &k1, b"Hi There"),
            "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde\
             daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"
        );
        let msg2 = b"what do ya want for nothing?";
        assert_eq!(
            prf_hex(HmacSha2_256, b"Jefe", msg2),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            prf_hex(HmacSha2_384, b"Jefe", msg2),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e\
             8e2240ca5e69e2c78b3239ecfab21649"
        );
        assert_eq!(
            prf_hex(HmacSha2_512, b"Jefe", msg2),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554\
             9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        let k6 = [0xaa; 131];
        let msg6 = b"Test Using Larger Than Block-Size Key - Hash Key First";
        assert_eq!(
            prf_hex(HmacSha2_256, &k6, msg6),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
        assert_eq!(
            prf_hex(HmacSha2_384, &k6, msg6),
            "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c6\
             0c2ef6ab4030fe8296248df163f44952"
        );
        assert_eq!(
            prf_hex(HmacSha2_512, &k6, msg6),
            "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352\
             6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"
        );
    }

    /// RFC 4434 §4: AES-XCBC-PRF-128 with key lengths 16, 10 and 18.
    #[test]
    fn rfc4434_xcbc_prf_key_lengths() {
        let msg = h("000102030405060708090a0b0c0d0e0f10111213");
        let a = PrfAlgorithm::Aes128Xcbc;
        assert_eq!(
            prf_hex(a, &h("000102030405060708090a0b0c0d0e0f"), &msg),
            "47f51b4564966215b8985c63055ed308"
        );
        assert_eq!(
            prf_hex(a, &h("00010203040506070809"), &msg),
            "0fa087af7d866e7653434e602fdde835"
        );
        assert_eq!(
            prf_hex(a, &h("000102030405060708090a0b0c0d0e0fedcb"), &msg),
            "8cd3c93ae598a9803006ffb67c40e9e4"
        );
    }

    /// RFC 4615 §4: AES-CMAC-PRF-128 with key lengths 18, 16 and 10.
    #[test]
    fn rfc4615_cmac_prf_key_lengths() {
        let msg = h("000102030405060708090a0b0c0d0e0f10111213");
        let a = PrfAlgorithm::Aes128Cmac;
        assert_eq!(
            prf_hex(a, &h("000102030405060708090a0b0c0d0e0fedcb"), &msg),
            "84a348a4a45d235babfffc0d2b4da09a"
        );
        assert_eq!(
            prf_hex(a, &h("000102030405060708090a0b0c0d0e0f"), &msg),
            "980ae87b5f4c9c5214f5b6a8455e4c2d"
        );
        assert_eq!(
            prf_hex(a, &h("00010203040506070809"), &msg),
            "290d9e112edb09ee141fcf64c0b72f3d"
        );
    }

    /// prf+ against a direct transcription of the §2.13 definition, for every
    /// PRF, at lengths around block boundaries.
    #[test]
    fn prf_plus_matches_definition() {
        for &alg in PrfAlgorithm::ALL {
            let prf = Prf::new(alg, b"some key material").unwrap();
            let seed_a = b"nonce-i|nonce-r";
            let seed_b = b"|spi";
            let n = alg.output_len();
            for len in [0, 1, n - 1, n, n + 1, 3 * n + 5] {
                let mut got = vec![0u8; len];
                prf.prf_plus(&[seed_a, seed_b], &mut got).unwrap();
                // Independent computation: build each T_i's input by hand.
                let mut want = Vec::new();
                let mut t: Vec<u8> = Vec::new();
                let mut i = 1u8;
                while want.len() < len {
                    let mut input = t.clone();
                    input.extend_from_slice(seed_a);
                    input.extend_from_slice(seed_b);
                    input.push(i);
                    t = prf.compute(&[&input]).unwrap().expose().to_vec();
                    want.extend_from_slice(&t);
                    i += 1;
                }
                want.truncate(len);
                assert_eq!(got, want, "{alg:?} len {len}");
            }
        }
    }

    #[test]
    fn prf_plus_bound() {
        let prf = Prf::new(PrfAlgorithm::HmacSha2_256, b"k").unwrap();
        let mut ok = vec![0u8; 255 * 32];
        prf.prf_plus(&[b"s"], &mut ok).unwrap();
        let mut too_long = vec![0u8; 255 * 32 + 1];
        assert_eq!(
            prf.prf_plus(&[b"s"], &mut too_long),
            Err(CryptoError::OutputTooLong {
                requested: 255 * 32 + 1,
                max: 255 * 32
            })
        );
    }

    #[test]
    fn multi_part_equals_concatenation() {
        for &alg in PrfAlgorithm::ALL {
            let prf = Prf::new(alg, &[7u8; 16]).unwrap();
            let a = prf
                .compute(&[b"abc", b"", b"defghijklmnopqrstuvwxyz"])
                .unwrap();
            let b = prf.compute(&[b"abcdefghijklmnopqrstuvwxyz"]).unwrap();
            assert_eq!(a.expose(), b.expose(), "{alg:?}");
        }
    }
}
