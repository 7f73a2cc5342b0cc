//! Opening an Encrypted payload (RFC 7296 §3.14) or an Encrypted Fragment
//! (RFC 7383 §2.5) with keys from a key table: integrity check, decryption,
//! and removal of the padding.
//!
//! This is `inspect`'s glue, behind one function. `yadokari-crypto`'s SK
//! cipher now exists but opens only what the IKE core negotiates, and
//! `inspect` must also read what others send (GCM with short ICVs, CCM,
//! NULL), so the two are not yet one. Integrity uses
//! `yadokari_crypto::Integ`; ciphers come from aws-lc-rs directly:
//! AES-CBC (RFC 3602), AES-CTR (RFC 5930, counter block salt ‖ IV ‖ 1),
//! AES-GCM with a 16-octet ICV and ChaCha20-Poly1305 (RFC 5282 §5,
//! RFC 7634 §4: nonce = salt ‖ IV, AAD = IKE header through the SK/SKF
//! generic header). AES-GCM with 8/12-octet ICVs and AES-CCM are decrypted
//! as the CTR streams underneath them without checking the tag (reported
//! as `integrity_checked: false`); 3DES is not supported.

use std::ops::Range;

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, UnboundCipherKey, AES_128, AES_192, AES_256,
};
use aws_lc_rs::iv::FixedLength;
use yadokari_crypto::{Integ, IntegAlgorithm};

use crate::keys::{EncrAlg, IntegAlg, SaKeys};

/// Why an Encrypted payload could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("{0} is not supported for decryption")]
    Unsupported(String),
    #[error("encrypted body is {len} bytes, shorter than IV ({iv}) + ICV ({icv})")]
    TooShort { len: usize, iv: usize, icv: usize },
    #[error("ciphertext length {len} is not a multiple of the {block}-byte block")]
    NotBlockAligned { len: usize, block: usize },
    #[error("integrity check failed (wrong keys?)")]
    IntegrityFailed,
    #[error("AEAD authentication failed (wrong keys?)")]
    AeadFailed,
    #[error("pad length {pad_len} exceeds the {len} decrypted bytes")]
    BadPadding { pad_len: usize, len: usize },
    #[error("cipher error: {0}")]
    Cipher(&'static str),
}

/// A decrypted Encrypted payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The inner payloads, padding removed.
    pub plaintext: Vec<u8>,
    /// Whether the ICV / AEAD tag was verified.
    pub integrity_checked: bool,
}

fn iv_len(e: EncrAlg) -> usize {
    match e {
        EncrAlg::Null => 0,
        EncrAlg::TripleDes => 8,
        EncrAlg::AesCbc { .. } => 16,
        EncrAlg::AesCtr { .. }
        | EncrAlg::AesGcm { .. }
        | EncrAlg::AesCcm { .. }
        | EncrAlg::ChaCha20Poly1305 => 8,
    }
}

fn icv_len(e: EncrAlg, i: IntegAlg) -> usize {
    match e {
        EncrAlg::AesGcm { icv, .. } | EncrAlg::AesCcm { icv, .. } => usize::from(icv),
        EncrAlg::ChaCha20Poly1305 => 16,
        _ => i.icv_len(),
    }
}

fn aes(bits: u16) -> &'static aws_lc_rs::cipher::Algorithm {
    match bits {
        128 => &AES_128,
        192 => &AES_192,
        _ => &AES_256,
    }
}

/// AES in counter mode from `counter_block`, in place.
fn aes_ctr(
    key: &[u8],
    bits: u16,
    counter_block: [u8; 16],
    data: &mut [u8],
) -> Result<(), OpenError> {
    let k = UnboundCipherKey::new(aes(bits), key).map_err(|_| OpenError::Cipher("AES key"))?;
    let k = DecryptingKey::ctr(k).map_err(|_| OpenError::Cipher("AES-CTR"))?;
    k.decrypt(
        data,
        DecryptionContext::Iv128(FixedLength::from(counter_block)),
    )
    .map_err(|_| OpenError::Cipher("AES-CTR"))?;
    Ok(())
}

/// Splits SK_e into the cipher key and the trailing salt.
fn key_and_salt(sk_e: &[u8], salt: usize) -> Result<(&[u8], &[u8]), OpenError> {
    let at = sk_e
        .len()
        .checked_sub(salt)
        .ok_or(OpenError::Cipher("SK_e shorter than its salt"))?;
    Ok(sk_e.split_at(at))
}

fn integ_algorithm(i: IntegAlg) -> Option<IntegAlgorithm> {
    Some(match i {
        IntegAlg::HmacSha1_96 => IntegAlgorithm::HmacSha1_96,
        IntegAlg::HmacSha256_128 => IntegAlgorithm::HmacSha2_256_128,
        IntegAlg::HmacSha384_192 => IntegAlgorithm::HmacSha2_384_192,
        IntegAlg::HmacSha512_256 => IntegAlgorithm::HmacSha2_512_256,
        IntegAlg::AesXcbc96 => IntegAlgorithm::AesXcbc96,
        _ => return None,
    })
}

/// Opens the Encrypted payload whose body (IV ‖ ciphertext ‖ ICV) is
/// `message[body]`. `from_original_initiator` (the I flag) picks SK_ei/SK_ai
/// over SK_er/SK_ar.
pub fn open(
    keys: &SaKeys,
    from_original_initiator: bool,
    message: &[u8],
    body: Range<usize>,
) -> Result<Opened, OpenError> {
    let (sk_e, sk_a) = if from_original_initiator {
        (&keys.sk_ei[..], &keys.sk_ai[..])
    } else {
        (&keys.sk_er[..], &keys.sk_ar[..])
    };
    let encr = keys.encr;
    let iv_n = iv_len(encr);
    let icv_n = icv_len(encr, keys.integ);
    let b = message
        .get(body.clone())
        .ok_or(OpenError::Cipher("body range"))?;
    if b.len() < iv_n + icv_n {
        return Err(OpenError::TooShort {
            len: b.len(),
            iv: iv_n,
            icv: icv_n,
        });
    }
    let iv = &b[..iv_n];
    let icv_start = body.end - icv_n;
    let mut ct = message[body.start + iv_n..icv_start].to_vec();
    let icv = &message[icv_start..body.end];
    let aad = &message[..body.start];
    let mut integrity_checked = false;

    if !encr.is_aead() {
        // NONE with a non-AEAD cipher, the MD5 variants and "ANY n-bits"
        // leave the ICV unchecked.
        if let Some(alg) = integ_algorithm(keys.integ) {
            let integ =
                Integ::new(alg, sk_a).map_err(|_| OpenError::Cipher("integrity key length"))?;
            integ
                .verify(&[&message[..icv_start]], icv)
                .map_err(|_| OpenError::IntegrityFailed)?;
            integrity_checked = true;
        }
    }

    let plain_len = match encr {
        EncrAlg::Null => ct.len(),
        EncrAlg::TripleDes => return Err(OpenError::Unsupported(encr.to_string())),
        EncrAlg::AesCbc { bits } => {
            if ct.len() % 16 != 0 {
                return Err(OpenError::NotBlockAligned {
                    len: ct.len(),
                    block: 16,
                });
            }
            let k =
                UnboundCipherKey::new(aes(bits), sk_e).map_err(|_| OpenError::Cipher("AES key"))?;
            let k = DecryptingKey::cbc(k).map_err(|_| OpenError::Cipher("AES-CBC"))?;
            let mut ivb = [0u8; 16];
            ivb.copy_from_slice(iv);
            k.decrypt(&mut ct, DecryptionContext::Iv128(FixedLength::from(ivb)))
                .map_err(|_| OpenError::Cipher("AES-CBC"))?;
            ct.len()
        }
        EncrAlg::AesCtr { bits } => {
            let (key, salt) = key_and_salt(sk_e, 4)?;
            let mut block = [0u8; 16];
            block[..4].copy_from_slice(salt);
            block[4..12].copy_from_slice(iv);
            block[15] = 1;
            aes_ctr(key, bits, block, &mut ct)?;
            ct.len()
        }
        EncrAlg::AesGcm { bits, icv: 16 } => {
            let (key, salt) = key_and_salt(sk_e, 4)?;
            let alg = match bits {
                128 => &aead::AES_128_GCM,
                192 => &aead::AES_192_GCM,
                _ => &aead::AES_256_GCM,
            };
            aead_open(alg, key, salt, iv, aad, &mut ct, icv)?;
            integrity_checked = true;
            ct.len()
        }
        EncrAlg::ChaCha20Poly1305 => {
            let (key, salt) = key_and_salt(sk_e, 4)?;
            aead_open(&aead::CHACHA20_POLY1305, key, salt, iv, aad, &mut ct, icv)?;
            integrity_checked = true;
            ct.len()
        }
        EncrAlg::AesGcm { bits, .. } => {
            // GCM encrypts with the counter block J0 + 1 = salt ‖ IV ‖ 2.
            let (key, salt) = key_and_salt(sk_e, 4)?;
            let mut block = [0u8; 16];
            block[..4].copy_from_slice(salt);
            block[4..12].copy_from_slice(iv);
            block[15] = 2;
            aes_ctr(key, bits, block, &mut ct)?;
            ct.len()
        }
        EncrAlg::AesCcm { bits, .. } => {
            // RFC 4309 §4 / RFC 3610: A_1 = flags (L-1 = 3) ‖ salt ‖ IV ‖ 1.
            let (key, salt) = key_and_salt(sk_e, 3)?;
            let mut block = [0u8; 16];
            block[0] = 3;
            block[1..4].copy_from_slice(salt);
            block[4..12].copy_from_slice(iv);
            block[15] = 1;
            aes_ctr(key, bits, block, &mut ct)?;
            ct.len()
        }
    };
    ct.truncate(plain_len);
    // RFC 7296 §3.14: the last octet is the Pad Length, preceded by that
    // many padding octets.
    let Some(&pad) = ct.last() else {
        return Err(OpenError::BadPadding { pad_len: 0, len: 0 });
    };
    let pad = usize::from(pad);
    if pad + 1 > ct.len() {
        return Err(OpenError::BadPadding {
            pad_len: pad,
            len: ct.len(),
        });
    }
    ct.truncate(ct.len() - pad - 1);
    Ok(Opened {
        plaintext: ct,
        integrity_checked,
    })
}

fn aead_open(
    alg: &'static aead::Algorithm,
    key: &[u8],
    salt: &[u8],
    iv: &[u8],
    aad: &[u8],
    ct: &mut Vec<u8>,
    tag: &[u8],
) -> Result<(), OpenError> {
    let k = UnboundKey::new(alg, key).map_err(|_| OpenError::Cipher("AEAD key"))?;
    let k = LessSafeKey::new(k);
    let mut n = [0u8; 12];
    n[..salt.len()].copy_from_slice(salt);
    n[salt.len()..].copy_from_slice(iv);
    let nonce = Nonce::assume_unique_for_key(n);
    let len = ct.len();
    ct.extend_from_slice(tag);
    k.open_in_place(nonce, Aad::from(aad), ct)
        .map_err(|_| OpenError::AeadFailed)?;
    ct.truncate(len);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext};
    use zeroize::Zeroizing;

    /// Seals `plain` into an SK body the way a peer would, for tests:
    /// returns IV ‖ ciphertext ‖ ICV given the message prefix (the AAD /
    /// the start of the integrity range).
    pub(crate) fn seal(keys: &SaKeys, from_i: bool, prefix: &[u8], plain: &[u8]) -> Vec<u8> {
        let (sk_e, sk_a) = if from_i {
            (&keys.sk_ei[..], &keys.sk_ai[..])
        } else {
            (&keys.sk_er[..], &keys.sk_ar[..])
        };
        let iv_n = iv_len(keys.encr);
        let icv_n = icv_len(keys.encr, keys.integ);
        let block = match keys.encr {
            EncrAlg::AesCbc { .. } => 16,
            _ => 1,
        };
        let mut p = plain.to_vec();
        let pad = (block - (p.len() + 1) % block) % block;
        p.extend(std::iter::repeat_n(0u8, pad));
        p.push(pad as u8);
        let iv: Vec<u8> = (0..iv_n as u8).map(|i| i.wrapping_mul(7) ^ 0x5a).collect();
        match keys.encr {
            EncrAlg::Null => {}
            EncrAlg::AesCbc { bits } => {
                let k =
                    EncryptingKey::cbc(UnboundCipherKey::new(aes(bits), sk_e).unwrap()).unwrap();
                let mut ivb = [0u8; 16];
                ivb.copy_from_slice(&iv);
                k.less_safe_encrypt(&mut p, EncryptionContext::Iv128(FixedLength::from(ivb)))
                    .unwrap();
            }
            EncrAlg::AesCtr { bits } => {
                let (key, salt) = key_and_salt(sk_e, 4).unwrap();
                let mut b = [0u8; 16];
                b[..4].copy_from_slice(salt);
                b[4..12].copy_from_slice(&iv);
                b[15] = 1;
                let k = EncryptingKey::ctr(UnboundCipherKey::new(aes(bits), key).unwrap()).unwrap();
                k.less_safe_encrypt(&mut p, EncryptionContext::Iv128(FixedLength::from(b)))
                    .unwrap();
            }
            EncrAlg::AesGcm { icv: 16, .. } | EncrAlg::ChaCha20Poly1305 => {
                let alg = match keys.encr {
                    EncrAlg::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
                    EncrAlg::AesGcm { bits: 128, .. } => &aead::AES_128_GCM,
                    EncrAlg::AesGcm { bits: 192, .. } => &aead::AES_192_GCM,
                    _ => &aead::AES_256_GCM,
                };
                let (key, salt) = key_and_salt(sk_e, 4).unwrap();
                let k = LessSafeKey::new(UnboundKey::new(alg, key).unwrap());
                let mut n = [0u8; 12];
                n[..4].copy_from_slice(salt);
                n[4..].copy_from_slice(&iv);
                // The AAD covers the header with its final Length field, so
                // the caller passes the finished prefix.
                k.seal_in_place_append_tag(
                    Nonce::assume_unique_for_key(n),
                    Aad::from(prefix),
                    &mut p,
                )
                .unwrap();
                let mut out = iv.clone();
                out.extend_from_slice(&p);
                return out;
            }
            other => panic!("test sealing for {other} not written"),
        }
        let mut out = iv;
        out.extend_from_slice(&p);
        let mut whole = prefix.to_vec();
        whole.extend_from_slice(&out);
        let mut icv = vec![0u8; icv_n];
        if let Some(alg) = integ_algorithm(keys.integ) {
            Integ::new(alg, sk_a)
                .unwrap()
                .compute(&[&whole], &mut icv)
                .unwrap();
        }
        out.extend_from_slice(&icv);
        out
    }

    pub(crate) fn keys(encr: EncrAlg, integ: IntegAlg) -> SaKeys {
        let ka = match integ {
            IntegAlg::HmacSha256_128 => 32,
            IntegAlg::HmacSha1_96 => 20,
            IntegAlg::HmacSha384_192 => 48,
            IntegAlg::HmacSha512_256 => 64,
            IntegAlg::AesXcbc96 => 16,
            _ => 0,
        };
        let k = |seed: u8, n: usize| {
            Zeroizing::new(
                (0..n)
                    .map(|i| seed ^ (i as u8).wrapping_mul(13))
                    .collect::<Vec<u8>>(),
            )
        };
        SaKeys {
            spi_i: 0x1122_3344_5566_7788,
            spi_r: 0x99aa_bbcc_ddee_ff00,
            encr,
            sk_ei: k(1, encr.key_len()),
            sk_er: k(2, encr.key_len()),
            integ,
            sk_ai: k(3, ka),
            sk_ar: k(4, ka),
        }
    }

    #[test]
    fn open_round_trip_every_supported_suite() {
        let suites = [
            (EncrAlg::AesCbc { bits: 128 }, IntegAlg::HmacSha256_128),
            (EncrAlg::AesCbc { bits: 192 }, IntegAlg::HmacSha1_96),
            (EncrAlg::AesCbc { bits: 256 }, IntegAlg::HmacSha512_256),
            (EncrAlg::AesCtr { bits: 256 }, IntegAlg::HmacSha384_192),
            (EncrAlg::AesCbc { bits: 128 }, IntegAlg::AesXcbc96),
            (EncrAlg::AesGcm { bits: 128, icv: 16 }, IntegAlg::None),
            (EncrAlg::AesGcm { bits: 256, icv: 16 }, IntegAlg::None),
            (EncrAlg::ChaCha20Poly1305, IntegAlg::None),
            (EncrAlg::Null, IntegAlg::HmacSha256_128),
        ];
        let prefix = [0xABu8; 32];
        let plain = b"inner payload bytes, not block aligned";
        for (e, i) in suites {
            let k = keys(e, i);
            for from_i in [true, false] {
                let body = seal(&k, from_i, &prefix, plain);
                let mut msg = prefix.to_vec();
                msg.extend_from_slice(&body);
                let o = open(&k, from_i, &msg, prefix.len()..msg.len()).unwrap();
                assert_eq!(o.plaintext, plain, "{e} {i}");
                assert!(o.integrity_checked);
                // The wrong direction's keys fail.
                assert!(
                    open(&k, !from_i, &msg, prefix.len()..msg.len()).is_err(),
                    "{e} {i}"
                );
                // A flipped bit in the header fails authentication.
                msg[3] ^= 1;
                assert!(
                    open(&k, from_i, &msg, prefix.len()..msg.len()).is_err(),
                    "{e} {i}"
                );
            }
        }
    }

    #[test]
    fn short_bodies_are_errors() {
        let k = keys(EncrAlg::AesCbc { bits: 128 }, IntegAlg::HmacSha256_128);
        for n in 0..40 {
            let msg = vec![0u8; 28 + n];
            assert!(open(&k, true, &msg, 28..msg.len()).is_err());
        }
        let k = keys(EncrAlg::TripleDes, IntegAlg::HmacSha1_96);
        let msg = vec![0u8; 100];
        assert!(matches!(
            open(&k, true, &msg, 28..100),
            Err(OpenError::Unsupported(_)) | Err(OpenError::IntegrityFailed)
        ));
    }
}
