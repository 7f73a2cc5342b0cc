//! The keyed MAC primitives underneath both the PRFs and the integrity
//! transforms: HMAC (aws-lc-rs), AES-CMAC (aws-lc-rs), and AES-XCBC-MAC
//! (RFC 3566 §4), which no maintained crate provides and is therefore built
//! here over a single-block AES primitive.
//!
//! Keys are expanded once at construction (HMAC inner/outer pads, AES key
//! schedule, XCBC's K1/K2/K3) so each message costs only the MAC itself.

use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128};
use aws_lc_rs::{cmac, hmac};
use zeroize::Zeroize;

use crate::error::{CryptoError, Result};

const AES_BLOCK: usize = 16;

/// Largest untruncated MAC output (HMAC-SHA2-512).
pub(crate) const MAX_MAC_LEN: usize = 64;

/// AES-XCBC-MAC (RFC 3566 §4) with a 128-bit key.
pub(crate) struct XcbcKey {
    /// AES keyed with K1 = AES(K, 0x01^16).
    k1: EncryptingKey,
    /// K2 = AES(K, 0x02^16), XORed into a final complete block.
    k2: [u8; AES_BLOCK],
    /// K3 = AES(K, 0x03^16), XORed into a final padded block.
    k3: [u8; AES_BLOCK],
}

fn aes128_ecb(key: &[u8]) -> Result<EncryptingKey> {
    let unbound =
        UnboundCipherKey::new(&AES_128, key).map_err(|_| CryptoError::InvalidKeyLength {
            what: "AES-128 key",
            expected: AES_BLOCK,
            got: key.len(),
        })?;
    EncryptingKey::ecb(unbound).map_err(|_| CryptoError::Internal("AES-ECB key setup"))
}

fn encrypt_block(key: &EncryptingKey, block: &mut [u8; AES_BLOCK]) -> Result<()> {
    key.less_safe_encrypt(block, EncryptionContext::None)
        .map(|_| ())
        .map_err(|_| CryptoError::Internal("AES block encryption"))
}

impl XcbcKey {
    pub(crate) fn new(key: &[u8]) -> Result<Self> {
        let k = aes128_ecb(key)?;
        let mut k1 = [0x01u8; AES_BLOCK];
        let mut k2 = [0x02u8; AES_BLOCK];
        let mut k3 = [0x03u8; AES_BLOCK];
        encrypt_block(&k, &mut k1)?;
        encrypt_block(&k, &mut k2)?;
        encrypt_block(&k, &mut k3)?;
        let k1_key = aes128_ecb(&k1);
        k1.zeroize();
        Ok(Self {
            k1: k1_key?,
            k2,
            k3,
        })
    }

    fn context(&self) -> XcbcCtx<'_> {
        XcbcCtx {
            key: self,
            state: [0; AES_BLOCK],
            pending: [0; AES_BLOCK],
            pending_len: 0,
        }
    }
}

impl Drop for XcbcKey {
    fn drop(&mut self) {
        self.k2.zeroize();
        self.k3.zeroize();
    }
}

/// Streaming XCBC: the last block is held back because RFC 3566 §4 treats it
/// differently depending on whether it is complete.
struct XcbcCtx<'k> {
    key: &'k XcbcKey,
    state: [u8; AES_BLOCK],
    pending: [u8; AES_BLOCK],
    pending_len: usize,
}

impl XcbcCtx<'_> {
    fn absorb_pending(&mut self) -> Result<()> {
        for (s, p) in self.state.iter_mut().zip(self.pending.iter()) {
            *s ^= p;
        }
        encrypt_block(&self.key.k1, &mut self.state)?;
        self.pending_len = 0;
        Ok(())
    }

    fn update(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            if self.pending_len == AES_BLOCK {
                // More data follows, so the held block is not the last one.
                self.absorb_pending()?;
            }
            let n = (AES_BLOCK - self.pending_len).min(data.len());
            self.pending[self.pending_len..self.pending_len + n].copy_from_slice(&data[..n]);
            self.pending_len += n;
            data = &data[n..];
        }
        Ok(())
    }

    fn finish(mut self, out: &mut [u8; AES_BLOCK]) -> Result<()> {
        let subkey = if self.pending_len == AES_BLOCK {
            &self.key.k2
        } else {
            // RFC 3566 §4 (b): pad with a single 1 bit then 0 bits; the empty
            // message is one padded block.
            self.pending[self.pending_len] = 0x80;
            self.pending[self.pending_len + 1..].fill(0);
            &self.key.k3
        };
        for ((s, p), k) in self
            .state
            .iter_mut()
            .zip(self.pending.iter())
            .zip(subkey.iter())
        {
            *s ^= p ^ k;
        }
        encrypt_block(&self.key.k1, &mut self.state)?;
        out.copy_from_slice(&self.state);
        Ok(())
    }
}

impl Drop for XcbcCtx<'_> {
    fn drop(&mut self) {
        self.state.zeroize();
        self.pending.zeroize();
    }
}

/// A keyed MAC, untruncated.
// The variants are expanded key schedules kept inline: a key lives as long as
// its SA and is built a handful of times per handshake, so a box per key
// would buy nothing but an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum MacKey {
    Hmac(hmac::Key),
    Cmac(cmac::Key),
    Xcbc(XcbcKey),
}

impl MacKey {
    pub(crate) fn hmac(alg: hmac::Algorithm, key: &[u8]) -> Self {
        MacKey::Hmac(hmac::Key::new(alg, key))
    }

    pub(crate) fn cmac(key: &[u8]) -> Result<Self> {
        cmac::Key::new(cmac::AES_128, key)
            .map(MacKey::Cmac)
            .map_err(|_| CryptoError::InvalidKeyLength {
                what: "AES-CMAC key",
                expected: AES_BLOCK,
                got: key.len(),
            })
    }

    pub(crate) fn xcbc(key: &[u8]) -> Result<Self> {
        XcbcKey::new(key).map(MacKey::Xcbc)
    }

    /// Full (untruncated) output length.
    pub(crate) fn output_len(&self) -> usize {
        match self {
            MacKey::Hmac(k) => k.algorithm().digest_algorithm().output_len(),
            MacKey::Cmac(_) | MacKey::Xcbc(_) => AES_BLOCK,
        }
    }

    /// MAC over the concatenation of `parts`; writes `out.len()` bytes
    /// (at most [`Self::output_len`]), i.e. truncates.
    pub(crate) fn compute(&self, parts: &[&[u8]], out: &mut [u8]) -> Result<()> {
        let mut full = [0u8; MAX_MAC_LEN];
        let n = self.output_len();
        if out.len() > n {
            return Err(CryptoError::Internal("MAC output longer than the MAC"));
        }
        match self {
            MacKey::Hmac(k) => {
                let mut ctx = hmac::Context::with_key(k);
                for p in parts {
                    ctx.update(p);
                }
                full[..n].copy_from_slice(ctx.sign().as_ref());
            }
            MacKey::Cmac(k) => {
                let mut ctx = cmac::Context::with_key(k);
                for p in parts {
                    ctx.update(p)
                        .map_err(|_| CryptoError::Internal("CMAC update"))?;
                }
                let tag = ctx
                    .sign()
                    .map_err(|_| CryptoError::Internal("CMAC finish"))?;
                full[..n].copy_from_slice(tag.as_ref());
            }
            MacKey::Xcbc(k) => {
                let mut ctx = k.context();
                for p in parts {
                    ctx.update(p)?;
                }
                let mut block = [0u8; AES_BLOCK];
                ctx.finish(&mut block)?;
                full[..AES_BLOCK].copy_from_slice(&block);
                block.zeroize();
            }
        }
        out.copy_from_slice(&full[..out.len()]);
        full.zeroize();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xcbc_hex(key: &str, msg: &str) -> String {
        let k = MacKey::xcbc(&hex::decode(key).unwrap()).unwrap();
        let mut out = [0u8; 16];
        k.compute(&[&hex::decode(msg).unwrap()], &mut out).unwrap();
        hex::encode(out)
    }

    /// RFC 3566 §4.6 test cases 1–6 (full 128-bit outputs).
    #[test]
    fn rfc3566_test_cases() {
        let key = "000102030405060708090a0b0c0d0e0f";
        assert_eq!(xcbc_hex(key, ""), "75f0251d528ac01c4573dfd584d79f29");
        assert_eq!(xcbc_hex(key, "000102"), "5b376580ae2f19afe7219ceef172756f");
        assert_eq!(
            xcbc_hex(key, "000102030405060708090a0b0c0d0e0f"),
            "d2a246fa349b68a79998a4394ff7a263"
        );
        assert_eq!(
            xcbc_hex(key, "000102030405060708090a0b0c0d0e0f10111213"),
            "47f51b4564966215b8985c63055ed308"
        );
        assert_eq!(
            xcbc_hex(
                key,
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            ),
            "f54f0ec8d2b9f3d36807734bd5283fd4"
        );
        assert_eq!(
            xcbc_hex(
                key,
                "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021"
            ),
            "becbb3bccdb518a30677d5481fb6b4d8"
        );
    }

    /// RFC 3566 §4.6 test case 7: 1000 zero bytes.
    #[test]
    fn rfc3566_1000_zero_bytes() {
        let k = MacKey::xcbc(&hex::decode("000102030405060708090a0b0c0d0e0f").unwrap()).unwrap();
        let mut out = [0u8; 16];
        k.compute(&[&[0u8; 1000]], &mut out).unwrap();
        assert_eq!(hex::encode(out), "f0dafee895db30253761103b5d84528f");
    }

    #[test]
    fn xcbc_streaming_matches_one_shot() {
        let k = MacKey::xcbc(&[0x2a; 16]).unwrap();
        let msg: Vec<u8> = (0u8..=99).collect();
        let mut whole = [0u8; 16];
        k.compute(&[&msg], &mut whole).unwrap();
        for split in [0, 1, 15, 16, 17, 32, 33, 99, 100] {
            let mut parts = [0u8; 16];
            k.compute(&[&msg[..split], &[], &msg[split..]], &mut parts)
                .unwrap();
            assert_eq!(whole, parts, "split at {split}");
        }
    }
}
