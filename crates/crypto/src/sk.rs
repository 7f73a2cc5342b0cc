//! The Encrypted (SK) payload's protection, applied in place to a whole IKE
//! message buffer (RFC 7296 §3.14; RFC 5282 §3–§5 for AES-GCM in IKEv2;
//! RFC 5930 for AES-CTR; RFC 7634 for ChaCha20-Poly1305; RFC 7383 §2.5 for
//! the Encrypted Fragment (SKF) payload, which has the same body).
//!
//! # Byte ranges
//!
//! Every function takes the message from the first byte of the IKE header
//! (after the 4-byte non-ESP marker on port 4500) and the offset `sk_body` of
//! the first byte after the SK/SKF payload header, i.e. of the IV:
//!
//! ```text
//! 0                                  sk_body
//! | IKE header | [payloads] | SK hdr | IV | inner payloads | padding | pad len | ICV |
//! |<------ aad (AEAD only) --------->|    |<------------ ciphertext ---------->|     |
//! |<--------------- integrity-protected (non-AEAD) ------------------------->|     |
//!                                                                               msg.len()
//! ```
//!
//! The SK payload is always the last payload (RFC 7296 §3.14), so the buffer
//! must end exactly where it ends: pass `&mut datagram[..ike_length]`.
//! For AEAD ciphers the associated data is everything before the IV
//! (RFC 5282 §5.1); for the others the ICV covers everything before the ICV
//! (RFC 7296 §3.14). Both therefore cover the length fields, which must hold
//! their final values before [`SkCipher::encrypt`] runs.
//!
//! # Sending
//!
//! 1. Write the IKE header, any payloads, and the SK header; note
//!    `sk_body = buf.len()`.
//! 2. Reserve [`SkCipher::iv_len`] bytes, then write the inner payloads;
//!    `plaintext_len` is their length.
//! 3. `let l = sk.layout(plaintext_len)`; set the IKE header Length to
//!    `sk_body + l.body_len()` and the SK Payload Length to
//!    `4 + l.body_len()` (8 + for SKF); grow the buffer to
//!    `sk_body + l.body_len()`.
//! 4. [`SkCipher::encrypt`] fills the IV, padding and Pad Length, encrypts
//!    and writes the ICV. [`SkCipher::encrypt_vec`] does steps 3–4 for a
//!    `Vec`, calling back to patch the lengths.
//!
//! # Receiving
//!
//! [`SkCipher::decrypt_verify`] checks the ICV (before decrypting anything,
//! for non-AEAD), decrypts in place, checks the Pad Length, and returns the
//! range of `msg` that holds the inner payloads. On error the message must
//! be dropped (RFC 7296 §2.21.1); the ciphertext may have been overwritten.

use core::ops::Range;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128,
    AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;

use crate::error::{CryptoError, Result};
use crate::ids::{EncrAlgorithm, IntegAlgorithm};
use crate::integ::Integ;
use crate::rand::SecureRandom;

/// Length of the salt (GCM, ChaCha20-Poly1305) or nonce (CTR) taken from
/// the end of each encryption key's keying material (RFC 5282 §7.1,
/// RFC 7634 §4, RFC 5930 §2).
pub const SALT_LEN: usize = 4;

/// AEAD tag length: only the 16-octet ICV variants are implemented
/// (aws-lc-rs cannot open truncated tags).
pub const AEAD_TAG_LEN: usize = 16;

const AES_BLOCK: usize = 16;
const COUNTER_IV_LEN: usize = 8;

/// An encryption transform with its Key Length attribute checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncrTransform {
    alg: EncrAlgorithm,
    /// Cipher key length in bytes, without salt.
    key_len: u8,
}

impl EncrTransform {
    /// Checks the Key Length attribute (bits) against the algorithm:
    /// AES transforms need 128, 192 or 256; ChaCha20-Poly1305 takes none
    /// (256 is tolerated).
    pub fn new(alg: EncrAlgorithm, key_bits: Option<u16>) -> Result<Self> {
        let bad = CryptoError::UnsupportedKeyLength {
            id: alg.iana(),
            key_bits: key_bits.unwrap_or(0),
        };
        let key_len = match (alg, key_bits) {
            (EncrAlgorithm::ChaCha20Poly1305, None | Some(256)) => 32,
            (EncrAlgorithm::ChaCha20Poly1305, Some(_)) => return Err(bad),
            (_, Some(128)) => 16,
            (_, Some(192)) => 24,
            (_, Some(256)) => 32,
            (_, _) => return Err(bad),
        };
        Ok(Self { alg, key_len })
    }

    /// The algorithm.
    #[must_use]
    pub const fn algorithm(self) -> EncrAlgorithm {
        self.alg
    }

    /// The Key Length attribute to put in a proposal, if the algorithm has one.
    #[must_use]
    pub const fn key_bits(self) -> Option<u16> {
        if self.alg.needs_key_length() {
            Some(self.key_len as u16 * 8)
        } else {
            None
        }
    }

    /// Cipher key length in bytes, without salt.
    #[must_use]
    pub const fn key_len(self) -> usize {
        self.key_len as usize
    }

    /// Bytes of salt/nonce appended to the key in the keying material.
    #[must_use]
    pub const fn salt_len(self) -> usize {
        match self.alg {
            EncrAlgorithm::AesCbc => 0,
            _ => SALT_LEN,
        }
    }

    /// Length of SK_ei / SK_er (and of each CHILD SA encryption key): cipher
    /// key plus salt.
    #[must_use]
    pub const fn keymat_len(self) -> usize {
        self.key_len() + self.salt_len()
    }

    /// IV length in the SK payload: 16 for CBC, 8 otherwise.
    #[must_use]
    pub const fn iv_len(self) -> usize {
        match self.alg {
            EncrAlgorithm::AesCbc => AES_BLOCK,
            _ => COUNTER_IV_LEN,
        }
    }

    /// The alignment that padding must reach: the AES block for CBC, 1 for
    /// the stream-like modes (RFC 5282 §3, RFC 5930 §2, RFC 7634 §3).
    #[must_use]
    pub const fn block_len(self) -> usize {
        match self.alg {
            EncrAlgorithm::AesCbc => AES_BLOCK,
            _ => 1,
        }
    }

    /// The AEAD tag length, or 0 for a cipher that needs an INTEG transform.
    #[must_use]
    pub const fn aead_tag_len(self) -> usize {
        if self.alg.is_aead() {
            AEAD_TAG_LEN
        } else {
            0
        }
    }

    fn aes(self) -> &'static aws_lc_rs::cipher::Algorithm {
        match self.key_len {
            16 => &AES_128,
            24 => &AES_192,
            _ => &AES_256,
        }
    }
}

/// Where each part of an SK payload body lies for a given inner-payload
/// length; offsets are relative to `sk_body`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkLayout {
    /// IV length.
    pub iv_len: usize,
    /// Inner payloads (the plaintext proper).
    pub plaintext_len: usize,
    /// Padding bytes, excluding the Pad Length byte.
    pub pad_len: usize,
    /// ICV or AEAD tag length.
    pub icv_len: usize,
}

impl SkLayout {
    /// Length of the encrypted part: inner payloads, padding, Pad Length.
    #[must_use]
    pub const fn ciphertext_len(&self) -> usize {
        self.plaintext_len + self.pad_len + 1
    }

    /// Length of the whole SK payload body (the SK Payload Length minus its
    /// 4-byte generic header).
    #[must_use]
    pub const fn body_len(&self) -> usize {
        self.iv_len + self.ciphertext_len() + self.icv_len
    }

    /// Offset of the inner payloads relative to `sk_body`.
    #[must_use]
    pub const fn plaintext_offset(&self) -> usize {
        self.iv_len
    }
}

// Inline for the same reason as `MacKey`: one per SA direction, built once.
#[allow(clippy::large_enum_variant)]
enum Cipher {
    Cbc {
        enc: EncryptingKey,
        dec: DecryptingKey,
    },
    Ctr {
        key: EncryptingKey,
        nonce: [u8; SALT_LEN],
    },
    Aead {
        key: LessSafeKey,
        salt: [u8; SALT_LEN],
    },
}

/// One direction of SK payload protection: an encryption key and, for
/// non-AEAD ciphers, an integrity key. An IKE SA has two (SK_ei/SK_ai and
/// SK_er/SK_ar); see [`crate::keys::IkeSaKeys::sk_ciphers`].
pub struct SkCipher {
    encr: EncrTransform,
    cipher: Cipher,
    integ: Option<Integ>,
}

impl core::fmt::Debug for SkCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SkCipher")
            .field("encr", &self.encr)
            .field("integ", &self.integ.as_ref().map(Integ::algorithm))
            .finish_non_exhaustive()
    }
}

fn malformed(field: &'static str, offset: usize, reason: &'static str) -> CryptoError {
    CryptoError::SkMalformed {
        field,
        offset,
        reason,
    }
}

impl SkCipher {
    /// Builds one direction. `encr_key` is the full keying material
    /// ([`EncrTransform::keymat_len`]: key then salt); `integ` must be `None`
    /// exactly when the cipher is an AEAD, and `integ_key` is then empty.
    pub fn new(
        encr: EncrTransform,
        integ: Option<IntegAlgorithm>,
        encr_key: &[u8],
        integ_key: &[u8],
    ) -> Result<Self> {
        if encr_key.len() != encr.keymat_len() {
            return Err(CryptoError::InvalidKeyLength {
                what: "encryption keying material",
                expected: encr.keymat_len(),
                got: encr_key.len(),
            });
        }
        let integ = match (encr.alg.is_aead(), integ) {
            (true, None) => {
                if !integ_key.is_empty() {
                    return Err(CryptoError::InvalidKeyLength {
                        what: "integrity key with an AEAD",
                        expected: 0,
                        got: integ_key.len(),
                    });
                }
                None
            }
            (false, Some(alg)) => Some(Integ::new(alg, integ_key)?),
            (true, Some(_)) => {
                return Err(CryptoError::InvalidSuite(
                    "combined-mode cipher with an integrity transform",
                ))
            }
            (false, None) => {
                return Err(CryptoError::InvalidSuite(
                    "non-AEAD cipher without an integrity transform",
                ))
            }
        };
        let (key, salt_bytes) = encr_key.split_at(encr.key_len());
        let mut salt = [0u8; SALT_LEN];
        if encr.salt_len() == SALT_LEN {
            salt.copy_from_slice(salt_bytes);
        }
        let unbound = || {
            UnboundCipherKey::new(encr.aes(), key)
                .map_err(|_| CryptoError::Internal("AES key setup"))
        };
        let cipher = match encr.alg {
            EncrAlgorithm::AesCbc => Cipher::Cbc {
                enc: EncryptingKey::cbc(unbound()?)
                    .map_err(|_| CryptoError::Internal("AES-CBC key setup"))?,
                dec: DecryptingKey::cbc(unbound()?)
                    .map_err(|_| CryptoError::Internal("AES-CBC key setup"))?,
            },
            EncrAlgorithm::AesCtr => Cipher::Ctr {
                key: EncryptingKey::ctr(unbound()?)
                    .map_err(|_| CryptoError::Internal("AES-CTR key setup"))?,
                nonce: salt,
            },
            EncrAlgorithm::AesGcm16 | EncrAlgorithm::ChaCha20Poly1305 => {
                let alg = match (encr.alg, encr.key_len) {
                    (EncrAlgorithm::ChaCha20Poly1305, _) => &aead::CHACHA20_POLY1305,
                    (_, 16) => &aead::AES_128_GCM,
                    (_, 24) => &aead::AES_192_GCM,
                    _ => &aead::AES_256_GCM,
                };
                let k = UnboundKey::new(alg, key)
                    .map_err(|_| CryptoError::Internal("AEAD key setup"))?;
                Cipher::Aead {
                    key: LessSafeKey::new(k),
                    salt,
                }
            }
        };
        Ok(Self {
            encr,
            cipher,
            integ,
        })
    }

    /// [`Self::new`] from IANA numbers, for tools that read transform IDs
    /// off the wire (`yadokari inspect --keys`): `integ_id` 0 is AUTH_NONE.
    pub fn from_iana(
        encr_id: u16,
        key_bits: Option<u16>,
        integ_id: u16,
        encr_key: &[u8],
        integ_key: &[u8],
    ) -> Result<Self> {
        let encr = EncrTransform::new(EncrAlgorithm::try_from_iana(encr_id)?, key_bits)?;
        let integ = match integ_id {
            0 => None,
            id => Some(IntegAlgorithm::try_from_iana(id)?),
        };
        Self::new(encr, integ, encr_key, integ_key)
    }

    /// The encryption transform.
    #[must_use]
    pub fn encr(&self) -> EncrTransform {
        self.encr
    }

    /// The integrity transform (`None` for an AEAD).
    #[must_use]
    pub fn integ(&self) -> Option<IntegAlgorithm> {
        self.integ.as_ref().map(Integ::algorithm)
    }

    /// IV length.
    #[must_use]
    pub fn iv_len(&self) -> usize {
        self.encr.iv_len()
    }

    /// ICV length: the integrity transform's checksum, or the AEAD tag.
    #[must_use]
    pub fn icv_len(&self) -> usize {
        match &self.integ {
            Some(i) => i.icv_len(),
            None => self.encr.aead_tag_len(),
        }
    }

    /// Padding alignment.
    #[must_use]
    pub fn block_len(&self) -> usize {
        self.encr.block_len()
    }

    /// The most bytes that protection adds to `plaintext_len` (IV, maximal
    /// padding, Pad Length, ICV) — for fragmentation budgets.
    #[must_use]
    pub fn max_overhead(&self) -> usize {
        self.iv_len() + self.block_len() + self.icv_len()
    }

    /// The layout for `plaintext_len` bytes of inner payloads, with minimal
    /// padding.
    #[must_use]
    pub fn layout(&self, plaintext_len: usize) -> SkLayout {
        let b = self.block_len();
        let pad_len = (b - (plaintext_len + 1) % b) % b;
        SkLayout {
            iv_len: self.iv_len(),
            plaintext_len,
            pad_len,
            icv_len: self.icv_len(),
        }
    }

    /// Encrypts in place with a fresh IV from `rng` (random for CBC, as
    /// RFC 7296 §3.14 requires; random for the counter modes too, so that
    /// two `SkCipher`s made from the same keys can never repeat a nonce).
    ///
    /// Preconditions (see the module docs): `msg[..sk_body]` is final,
    /// `msg[sk_body + iv_len..][..plaintext_len]` holds the inner payloads,
    /// and `msg.len() == sk_body + self.layout(plaintext_len).body_len()`.
    pub fn encrypt(
        &self,
        msg: &mut [u8],
        sk_body: usize,
        plaintext_len: usize,
        rng: &mut dyn SecureRandom,
    ) -> Result<()> {
        let mut iv = [0u8; AES_BLOCK];
        let iv = &mut iv[..self.iv_len()];
        rng.fill(iv)?;
        self.encrypt_with_iv(msg, sk_body, plaintext_len, iv)
    }

    /// [`Self::encrypt`] with a caller-chosen IV, for known-answer tests and
    /// replaying captures. The IV must never repeat under one key (and be
    /// unpredictable for CBC); prefer [`Self::encrypt`].
    pub fn encrypt_with_iv(
        &self,
        msg: &mut [u8],
        sk_body: usize,
        plaintext_len: usize,
        iv: &[u8],
    ) -> Result<()> {
        let l = self.layout(plaintext_len);
        let end = sk_body
            .checked_add(l.body_len())
            .ok_or(CryptoError::Internal("SK length overflow"))?;
        if msg.len() != end {
            return Err(CryptoError::BufferTooSmall {
                what: "SK message buffer (must be exactly sk_body + body_len)",
                need: end,
                have: msg.len(),
            });
        }
        if iv.len() != l.iv_len {
            return Err(CryptoError::InvalidKeyLength {
                what: "IV",
                expected: l.iv_len,
                got: iv.len(),
            });
        }
        let ct_start = sk_body + l.iv_len;
        let pad_start = ct_start + l.plaintext_len;
        let icv_start = end - l.icv_len;
        msg[sk_body..ct_start].copy_from_slice(iv);
        // Any padding value is allowed (RFC 7296 §3.14); zeros leak nothing.
        msg[pad_start..pad_start + l.pad_len].fill(0);
        msg[icv_start - 1] =
            u8::try_from(l.pad_len).map_err(|_| CryptoError::Internal("pad length over 255"))?;

        match &self.cipher {
            Cipher::Cbc { enc, .. } => {
                let iv16 = <[u8; AES_BLOCK]>::try_from(iv)
                    .map_err(|_| CryptoError::Internal("CBC IV length"))?;
                enc.less_safe_encrypt(
                    &mut msg[ct_start..icv_start],
                    EncryptionContext::Iv128(FixedLength::from(iv16)),
                )
                .map_err(|_| CryptoError::Internal("AES-CBC encrypt"))?;
            }
            Cipher::Ctr { key, nonce } => {
                key.less_safe_encrypt(
                    &mut msg[ct_start..icv_start],
                    EncryptionContext::Iv128(FixedLength::from(ctr_block(nonce, iv)?)),
                )
                .map_err(|_| CryptoError::Internal("AES-CTR encrypt"))?;
            }
            Cipher::Aead { key, salt } => {
                let nonce = aead_nonce(salt, iv)?;
                let (aad, rest) = msg.split_at_mut(sk_body);
                let (ct, tag_out) = rest[l.iv_len..].split_at_mut(l.ciphertext_len());
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(&*aad), ct)
                    .map_err(|_| CryptoError::Internal("AEAD seal"))?;
                tag_out.copy_from_slice(tag.as_ref());
                return Ok(());
            }
        }
        let integ = self
            .integ
            .as_ref()
            .ok_or(CryptoError::Internal("non-AEAD cipher without integrity"))?;
        let (covered, icv) = msg.split_at_mut(icv_start);
        integ.compute(&[covered], icv)
    }

    /// Grows `msg` (IKE header … SK header, IV space, inner payloads) to its
    /// final length, calls `fix_lengths(msg)` so the caller can write the IKE
    /// Length and SK Payload Length (the buffer already has its final size,
    /// so `msg.len()` is the IKE Length), then encrypts.
    pub fn encrypt_vec(
        &self,
        msg: &mut Vec<u8>,
        sk_body: usize,
        rng: &mut dyn SecureRandom,
        fix_lengths: impl FnOnce(&mut [u8]),
    ) -> Result<()> {
        let plaintext_len =
            msg.len()
                .checked_sub(sk_body + self.iv_len())
                .ok_or(CryptoError::BufferTooSmall {
                    what: "SK message buffer (IV space not reserved)",
                    need: sk_body + self.iv_len(),
                    have: msg.len(),
                })?;
        let l = self.layout(plaintext_len);
        msg.resize(sk_body + l.body_len(), 0);
        fix_lengths(msg);
        self.encrypt(msg, sk_body, plaintext_len, rng)
    }

    /// Verifies and decrypts the SK payload body `msg[sk_body..]` in place;
    /// returns the range of `msg` holding the inner payloads.
    pub fn decrypt_verify(&self, msg: &mut [u8], sk_body: usize) -> Result<Range<usize>> {
        let iv_len = self.iv_len();
        let icv_len = self.icv_len();
        let min_ct = self.block_len().max(1);
        if sk_body > msg.len() || msg.len() - sk_body < iv_len + min_ct + icv_len {
            return Err(malformed(
                "body",
                sk_body,
                "shorter than IV + one block + ICV",
            ));
        }
        let icv_start = msg.len() - icv_len;
        let ct_start = sk_body + iv_len;
        let ct_len = icv_start - ct_start;
        if ct_len % self.block_len() != 0 {
            return Err(malformed(
                "ciphertext",
                ct_start,
                "not a multiple of the cipher block size",
            ));
        }
        let mut iv = [0u8; AES_BLOCK];
        iv[..iv_len].copy_from_slice(&msg[sk_body..ct_start]);
        let iv = &iv[..iv_len];

        match &self.cipher {
            Cipher::Aead { key, salt } => {
                let nonce = aead_nonce(salt, iv)?;
                let (aad, rest) = msg.split_at_mut(sk_body);
                let (ct, tag) = rest[iv_len..].split_at_mut(ct_len);
                key.open_in_place_separate_tag(nonce, Aad::from(&*aad), tag, ct)
                    .map_err(|_| CryptoError::IntegrityCheckFailed)?;
            }
            Cipher::Cbc { dec, .. } => {
                self.verify_icv(msg, icv_start)?;
                let iv16 = <[u8; AES_BLOCK]>::try_from(iv)
                    .map_err(|_| CryptoError::Internal("CBC IV length"))?;
                dec.decrypt(
                    &mut msg[ct_start..icv_start],
                    DecryptionContext::Iv128(FixedLength::from(iv16)),
                )
                .map_err(|_| CryptoError::Internal("AES-CBC decrypt"))?;
            }
            Cipher::Ctr { key, nonce } => {
                self.verify_icv(msg, icv_start)?;
                // CTR decryption is encryption of the same keystream.
                key.less_safe_encrypt(
                    &mut msg[ct_start..icv_start],
                    EncryptionContext::Iv128(FixedLength::from(ctr_block(nonce, iv)?)),
                )
                .map_err(|_| CryptoError::Internal("AES-CTR decrypt"))?;
            }
        }
        let pad_len = usize::from(msg[icv_start - 1]);
        if pad_len + 1 > ct_len {
            return Err(malformed(
                "pad_length",
                icv_start - 1,
                "Pad Length exceeds the encrypted data",
            ));
        }
        Ok(ct_start..icv_start - 1 - pad_len)
    }

    fn verify_icv(&self, msg: &[u8], icv_start: usize) -> Result<()> {
        let integ = self
            .integ
            .as_ref()
            .ok_or(CryptoError::Internal("non-AEAD cipher without integrity"))?;
        let (covered, icv) = msg.split_at(icv_start);
        integ.verify(&[covered], icv)
    }
}

/// RFC 3686 §4 counter block: nonce ‖ IV ‖ 32-bit block counter starting at 1.
fn ctr_block(nonce: &[u8; SALT_LEN], iv: &[u8]) -> Result<[u8; AES_BLOCK]> {
    if iv.len() != COUNTER_IV_LEN {
        return Err(CryptoError::Internal("CTR IV length"));
    }
    let mut b = [0u8; AES_BLOCK];
    b[..SALT_LEN].copy_from_slice(nonce);
    b[SALT_LEN..SALT_LEN + COUNTER_IV_LEN].copy_from_slice(iv);
    b[AES_BLOCK - 1] = 1;
    Ok(b)
}

/// RFC 5282 §4 / RFC 7634 §2: nonce = salt ‖ IV.
fn aead_nonce(salt: &[u8; SALT_LEN], iv: &[u8]) -> Result<Nonce> {
    if iv.len() != COUNTER_IV_LEN {
        return Err(CryptoError::Internal("AEAD IV length"));
    }
    let mut n = [0u8; SALT_LEN + COUNTER_IV_LEN];
    n[..SALT_LEN].copy_from_slice(salt);
    n[SALT_LEN..].copy_from_slice(iv);
    Ok(Nonce::assume_unique_for_key(n))
}

#[cfg(test)]
mod tests;
