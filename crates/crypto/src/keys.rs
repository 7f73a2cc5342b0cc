//! IKE SA and CHILD SA key derivation (RFC 7296 §2.14, §2.17, §2.18).
//!
//! ```text
//! SKEYSEED = prf(Ni | Nr, g^ir)
//! {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
//!          = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
//! SKEYSEED (rekey) = prf(SK_d (old), g^ir (new) | Ni | Nr)
//! KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)
//! ```
//!
//! For the fixed-key-length PRFs (AES-XCBC, AES-CMAC) SKEYSEED is keyed
//! with the first 64 bits of Ni and of Nr only (RFC 7296 §2.14). The
//! rekey form also serves RFC 9370's additional key exchanges, whose
//! SKEYSEED(n) = prf(SK_d(n-1), SK(n) | Ni | Nr) has the same shape.
//!
//! "i"/"r" in IKE SA keys follow the *original* initiator of the IKE SA; in
//! CHILD SA keys they follow the initiator of the exchange that created the
//! CHILD SA (RFC 7296 §2.17).

use crate::error::{CryptoError, Result};
use crate::ids::{IntegAlgorithm, PrfAlgorithm};
use crate::prf::Prf;
use crate::secret::SecretBytes;
use crate::sk::{EncrTransform, SkCipher};

/// Which end of an exchange (or, for IKE SA keys, of the IKE SA's original
/// IKE_SA_INIT) we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The initiator.
    Initiator,
    /// The responder.
    Responder,
}

impl Role {
    /// The other end.
    #[must_use]
    pub const fn peer(self) -> Role {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }
}

/// The transforms negotiated for an IKE SA, checked for consistency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IkeSuite {
    encr: EncrTransform,
    prf: PrfAlgorithm,
    integ: Option<IntegAlgorithm>,
}

impl IkeSuite {
    /// `integ` must be `None` exactly when `encr` is an AEAD (RFC 5282 §8).
    pub fn new(
        encr: EncrTransform,
        prf: PrfAlgorithm,
        integ: Option<IntegAlgorithm>,
    ) -> Result<Self> {
        match (encr.algorithm().is_aead(), integ.is_some()) {
            (true, true) => Err(CryptoError::InvalidSuite(
                "combined-mode cipher with an integrity transform",
            )),
            (false, false) => Err(CryptoError::InvalidSuite(
                "non-AEAD cipher without an integrity transform",
            )),
            _ => Ok(Self { encr, prf, integ }),
        }
    }

    /// The encryption transform.
    #[must_use]
    pub const fn encr(&self) -> EncrTransform {
        self.encr
    }

    /// The PRF.
    #[must_use]
    pub const fn prf(&self) -> PrfAlgorithm {
        self.prf
    }

    /// The integrity transform (`None` with an AEAD).
    #[must_use]
    pub const fn integ(&self) -> Option<IntegAlgorithm> {
        self.integ
    }

    /// Length of SK_ai / SK_ar (0 with an AEAD).
    #[must_use]
    pub const fn integ_key_len(&self) -> usize {
        match self.integ {
            Some(i) => i.key_len(),
            None => 0,
        }
    }

    /// Total prf+ output for the seven SK_* keys.
    #[must_use]
    pub const fn keymat_len(&self) -> usize {
        3 * self.prf.key_len() + 2 * self.integ_key_len() + 2 * self.encr.keymat_len()
    }
}

/// SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14).
pub fn skeyseed(prf: PrfAlgorithm, ni: &[u8], nr: &[u8], g_ir: &[u8]) -> Result<SecretBytes> {
    let keyed = if prf.has_fixed_key_len() {
        // §2.14: "only the first 64 bits of Ni and the first 64 bits of Nr are
        // used in calculating SKEYSEED" for fixed-key PRFs. Nonces are at
        // least 128 bits (§2.10), so 8 bytes are always there.
        if ni.len() < 8 || nr.len() < 8 {
            return Err(CryptoError::InvalidKeyLength {
                what: "nonce (at least 8 bytes)",
                expected: 8,
                got: ni.len().min(nr.len()),
            });
        }
        Prf::new_concat(prf, &[&ni[..8], &nr[..8]])?
    } else {
        Prf::new_concat(prf, &[ni, nr])?
    };
    Ok(keyed.compute(&[g_ir])?.to_secret())
}

/// SKEYSEED for a rekeyed IKE SA: prf(SK_d (old), g^ir (new) | Ni | Nr)
/// (RFC 7296 §2.18). `old_prf` is the PRF of the IKE SA being rekeyed — "it
/// is the old IKE SA's PRF that is used to generate SKEYSEED". Ni and Nr are
/// the nonces of the CREATE_CHILD_SA exchange.
pub fn skeyseed_rekey(
    old_prf: PrfAlgorithm,
    old_sk_d: &[u8],
    g_ir_new: &[u8],
    ni: &[u8],
    nr: &[u8],
) -> Result<SecretBytes> {
    let prf = Prf::new(old_prf, old_sk_d)?;
    Ok(prf.compute(&[g_ir_new, ni, nr])?.to_secret())
}

/// The seven IKE SA keys. Zeroized on drop; `Debug` shows only lengths.
#[derive(Debug, Clone)]
pub struct IkeSaKeys {
    /// The suite they were derived for.
    pub suite: IkeSuite,
    /// SK_d, for deriving CHILD SA keys and rekeying.
    pub sk_d: SecretBytes,
    /// SK_ai: integrity, original initiator → responder (empty with AEAD).
    pub sk_ai: SecretBytes,
    /// SK_ar: integrity, responder → original initiator (empty with AEAD).
    pub sk_ar: SecretBytes,
    /// SK_ei: encryption key + salt, original initiator → responder.
    pub sk_ei: SecretBytes,
    /// SK_er: encryption key + salt, responder → original initiator.
    pub sk_er: SecretBytes,
    /// SK_pi: for the initiator's AUTH (MACedIDForI).
    pub sk_pi: SecretBytes,
    /// SK_pr: for the responder's AUTH (MACedIDForR).
    pub sk_pr: SecretBytes,
}

/// The two SK payload directions of an IKE SA from one end's point of view.
#[derive(Debug)]
pub struct SkCipherPair {
    /// Protects messages we send.
    pub outbound: SkCipher,
    /// Checks and decrypts messages we receive.
    pub inbound: SkCipher,
}

impl IkeSaKeys {
    /// `{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
    /// = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)`.
    pub fn derive(
        suite: IkeSuite,
        skeyseed: &[u8],
        ni: &[u8],
        nr: &[u8],
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
    ) -> Result<Self> {
        let prf = Prf::new(suite.prf, skeyseed)?;
        let mut keymat = SecretBytes::zeroed(suite.keymat_len());
        prf.prf_plus(&[ni, nr, spi_i, spi_r], keymat.expose_mut())?;
        let mut rest = keymat.expose();
        let mut take = |n: usize| {
            let (a, b) = rest.split_at(n);
            rest = b;
            SecretBytes::from_slice(a)
        };
        let pk = suite.prf.key_len();
        let ik = suite.integ_key_len();
        let ek = suite.encr.keymat_len();
        Ok(Self {
            suite,
            sk_d: take(pk),
            sk_ai: take(ik),
            sk_ar: take(ik),
            sk_ei: take(ek),
            sk_er: take(ek),
            sk_pi: take(pk),
            sk_pr: take(pk),
        })
    }

    /// SKEYSEED from g^ir, then [`Self::derive`]: the IKE_SA_INIT path.
    pub fn from_shared_secret(
        suite: IkeSuite,
        g_ir: &[u8],
        ni: &[u8],
        nr: &[u8],
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
    ) -> Result<Self> {
        let seed = skeyseed(suite.prf, ni, nr, g_ir)?;
        Self::derive(suite, seed.expose(), ni, nr, spi_i, spi_r)
    }

    /// The keys of a new IKE SA created by rekeying this one (RFC 7296
    /// §2.18): SKEYSEED from this SA's SK_d and PRF, the rest with the new
    /// suite, the CREATE_CHILD_SA nonces and the new SPIs (SPIi is the new
    /// SA's initiator's, i.e. the rekey exchange initiator's).
    #[allow(clippy::too_many_arguments)]
    pub fn rekey(
        &self,
        new_suite: IkeSuite,
        g_ir_new: &[u8],
        ni: &[u8],
        nr: &[u8],
        spi_i: &[u8; 8],
        spi_r: &[u8; 8],
    ) -> Result<Self> {
        let seed = skeyseed_rekey(self.suite.prf, self.sk_d.expose(), g_ir_new, ni, nr)?;
        Self::derive(new_suite, seed.expose(), ni, nr, spi_i, spi_r)
    }

    /// The SK payload ciphers for `role` (our role as original initiator or
    /// responder of this IKE SA): the initiator sends with SK_ei/SK_ai.
    pub fn sk_ciphers(&self, role: Role) -> Result<SkCipherPair> {
        let s = &self.suite;
        let i = SkCipher::new(s.encr, s.integ, self.sk_ei.expose(), self.sk_ai.expose())?;
        let r = SkCipher::new(s.encr, s.integ, self.sk_er.expose(), self.sk_ar.expose())?;
        Ok(match role {
            Role::Initiator => SkCipherPair {
                outbound: i,
                inbound: r,
            },
            Role::Responder => SkCipherPair {
                outbound: r,
                inbound: i,
            },
        })
    }

    /// SK_pi or SK_pr, for the AUTH of the given signer (RFC 7296 §2.15).
    #[must_use]
    pub fn sk_p(&self, signer: Role) -> &SecretBytes {
        match signer {
            Role::Initiator => &self.sk_pi,
            Role::Responder => &self.sk_pr,
        }
    }

    /// CHILD SA keying material from this IKE SA's SK_d; see
    /// [`ChildSaKeys::derive`].
    pub fn child_sa_keys(
        &self,
        g_ir_new: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
        encr_key_len: usize,
        integ_key_len: usize,
    ) -> Result<ChildSaKeys> {
        ChildSaKeys::derive(
            self.suite.prf,
            self.sk_d.expose(),
            g_ir_new,
            ni,
            nr,
            encr_key_len,
            integ_key_len,
        )
    }
}

/// Keys for one CHILD SA pair (ESP or AH). "i" is the initiator of the
/// exchange that created it (IKE_AUTH or CREATE_CHILD_SA).
#[derive(Debug, Clone)]
pub struct ChildSaKeys {
    /// Encryption key (+ salt/nonce) for initiator → responder.
    pub encr_i: SecretBytes,
    /// Integrity key for initiator → responder (empty with AEAD).
    pub integ_i: SecretBytes,
    /// Encryption key (+ salt/nonce) for responder → initiator.
    pub encr_r: SecretBytes,
    /// Integrity key for responder → initiator (empty with AEAD).
    pub integ_r: SecretBytes,
}

impl ChildSaKeys {
    /// `KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr)`, split as RFC 7296
    /// §2.17 orders it: initiator→responder encryption then integrity, then
    /// responder→initiator encryption then integrity. `encr_key_len`
    /// includes any salt (see [`EncrTransform::keymat_len`]; 0 for AH);
    /// `integ_key_len` is 0 for an AEAD.
    pub fn derive(
        prf: PrfAlgorithm,
        sk_d: &[u8],
        g_ir_new: Option<&[u8]>,
        ni: &[u8],
        nr: &[u8],
        encr_key_len: usize,
        integ_key_len: usize,
    ) -> Result<Self> {
        let prf = Prf::new(prf, sk_d)?;
        let half = encr_key_len + integ_key_len;
        let mut keymat = SecretBytes::zeroed(2 * half);
        match g_ir_new {
            Some(g) => prf.prf_plus(&[g, ni, nr], keymat.expose_mut())?,
            None => prf.prf_plus(&[ni, nr], keymat.expose_mut())?,
        }
        let k = keymat.expose();
        Ok(Self {
            encr_i: SecretBytes::from_slice(&k[..encr_key_len]),
            integ_i: SecretBytes::from_slice(&k[encr_key_len..half]),
            encr_r: SecretBytes::from_slice(&k[half..half + encr_key_len]),
            integ_r: SecretBytes::from_slice(&k[half + encr_key_len..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EncrAlgorithm;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    // NIST CAVS IKEv2 KDF test data (HMAC-SHA1), as also used by libreswan's
    // self-test: Ni, Nr, SPIs, g^ir, g^ir(new) and the expected outputs.
    const NI: &str = "32b50d5f4a3763f3";
    const NR: &str = "9206a04b26564cb1";
    const SPI_I: &str = "34c9e7c188868785";
    const SPI_R: &str = "3ff77d760d2b2199";
    const GIR: &str = "4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52";
    const GIR_NEW: &str = "863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330";
    const SKEYSEED: &str = "a9a7b222b59f8f48645f28a1db5b5f5d7479cba7";
    const DKM: &str = "a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002\
                       a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a\
                       5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd1119\
                       8af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435\
                       a7a56cc4";
    const DKM_CHILD: &str = "8059e3ee8810e6c3a91bc8bcd2a7a41151b8d0e6ae239c7b38093ad85ef4c581\
                             1a8e7b5d1cdabd9560b2d5e092d1f24e2d4b85eccdf0ad0dc9abd94b51ee7181\
                             4ca6dbc8bb51b6309f5b9545c7eb35cf5580b1e521a8fe20754a2d883ba0c2cf\
                             285f524aea6545b33106bc03e614296d319d41d4b50b3f510b1c0a22f3e66499\
                             4d234cb4";
    const DKM_CHILD_DH: &str = "bb43244c1860ad65ee1e211ffe8bb3661750c8f89cb9f547df7f4fa61d373016\
                                28190e38c66232eab4b3ab14c400a5197dd3730ed4820a8a10394d51e1c04000\
                                52f63ebd36b0e7ef53aaed31eba4a5080d7d4b5666023a8bbb5ffb7857240f9a\
                                05884d1b7d2f933708450b7b3288f1fc863ab49fa901227cffc06e27899c7054\
                                d56fd74c";
    const SKEYSEED_REKEY: &str = "63e81194946ebd05df7df5ebf5d8750056bf1f1d";

    fn spi(s: &str) -> [u8; 8] {
        h(s).try_into().unwrap()
    }

    #[test]
    fn cavs_skeyseed_and_prf_plus() {
        let seed = skeyseed(PrfAlgorithm::HmacSha1, &h(NI), &h(NR), &h(GIR)).unwrap();
        assert_eq!(hex::encode(seed.expose()), SKEYSEED);
        let prf = Prf::new(PrfAlgorithm::HmacSha1, seed.expose()).unwrap();
        let mut dkm = vec![0u8; 132];
        prf.prf_plus(&[&h(NI), &h(NR), &h(SPI_I), &h(SPI_R)], &mut dkm)
            .unwrap();
        assert_eq!(hex::encode(&dkm), DKM);
    }

    #[test]
    fn cavs_ike_sa_keys_split() {
        // HMAC-SHA1 PRF + AES-CBC-128 + HMAC-SHA1-96: 3×20 + 2×20 + 2×16 = 132.
        let suite = IkeSuite::new(
            EncrTransform::new(EncrAlgorithm::AesCbc, Some(128)).unwrap(),
            PrfAlgorithm::HmacSha1,
            Some(IntegAlgorithm::HmacSha1_96),
        )
        .unwrap();
        assert_eq!(suite.keymat_len(), 132);
        let k =
            IkeSaKeys::from_shared_secret(suite, &h(GIR), &h(NI), &h(NR), &spi(SPI_I), &spi(SPI_R))
                .unwrap();
        let dkm = h(DKM);
        let mut off = 0;
        for (key, len) in [
            (&k.sk_d, 20),
            (&k.sk_ai, 20),
            (&k.sk_ar, 20),
            (&k.sk_ei, 16),
            (&k.sk_er, 16),
            (&k.sk_pi, 20),
            (&k.sk_pr, 20),
        ] {
            assert_eq!(key.expose(), &dkm[off..off + len]);
            off += len;
        }
        assert_eq!(off, 132);
        // Rekey SKEYSEED with the old SK_d.
        let rekey = skeyseed_rekey(
            PrfAlgorithm::HmacSha1,
            k.sk_d.expose(),
            &h(GIR_NEW),
            &h(NI),
            &h(NR),
        )
        .unwrap();
        assert_eq!(hex::encode(rekey.expose()), SKEYSEED_REKEY);
        // CHILD SA KEYMAT without and with a new KE, 132 bytes each
        // (split as 2 × (46 + 20) for the check).
        for (g, want) in [(None, DKM_CHILD), (Some(h(GIR_NEW)), DKM_CHILD_DH)] {
            let c = k
                .child_sa_keys(g.as_deref(), &h(NI), &h(NR), 46, 20)
                .unwrap();
            let mut all = Vec::new();
            for part in [&c.encr_i, &c.integ_i, &c.encr_r, &c.integ_r] {
                all.extend_from_slice(part.expose());
            }
            assert_eq!(hex::encode(all), want);
        }
    }

    #[test]
    fn fixed_key_prfs_use_64_bits_of_each_nonce() {
        let ni = [1u8; 32];
        let nr = [2u8; 32];
        for prf in [PrfAlgorithm::Aes128Xcbc, PrfAlgorithm::Aes128Cmac] {
            let a = skeyseed(prf, &ni, &nr, b"g^ir").unwrap();
            let mut ni2 = ni;
            ni2[20] ^= 0xff; // beyond the first 64 bits: no effect
            let b = skeyseed(prf, &ni2, &nr, b"g^ir").unwrap();
            assert_eq!(a.expose(), b.expose());
            let direct = Prf::new(prf, &[[1u8; 8], [2u8; 8]].concat())
                .unwrap()
                .compute(&[b"g^ir"])
                .unwrap();
            assert_eq!(a.expose(), direct.expose());
            assert!(skeyseed(prf, &ni[..7], &nr, b"x").is_err());
        }
        // HMAC PRFs use the whole nonces.
        let a = skeyseed(PrfAlgorithm::HmacSha2_256, &ni, &nr, b"g").unwrap();
        let mut ni2 = ni;
        ni2[20] ^= 0xff;
        let b = skeyseed(PrfAlgorithm::HmacSha2_256, &ni2, &nr, b"g").unwrap();
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn gcm_suite_key_lengths_and_ciphers_pair_up() {
        let suite = IkeSuite::new(
            EncrTransform::new(EncrAlgorithm::AesGcm16, Some(256)).unwrap(),
            PrfAlgorithm::HmacSha2_256,
            None,
        )
        .unwrap();
        let k =
            IkeSaKeys::from_shared_secret(suite, &[7; 32], &[1; 32], &[2; 32], &[3; 8], &[4; 8])
                .unwrap();
        assert_eq!(k.sk_ei.len(), 36);
        assert!(k.sk_ai.is_empty());
        assert_eq!(k.sk_pi.len(), 32);
        let ini = k.sk_ciphers(Role::Initiator).unwrap();
        let res = k.sk_ciphers(Role::Responder).unwrap();
        let mut rng = crate::rand::DeterministicRandom::from_seed(9);
        let mut msg = vec![0u8; 32 + 8];
        msg.extend_from_slice(b"payload");
        ini.outbound
            .encrypt_vec(&mut msg, 32, &mut rng, |_| {})
            .unwrap();
        let r = res.inbound.decrypt_verify(&mut msg.clone(), 32).unwrap();
        assert_eq!(r.len(), 7);
        assert!(ini.inbound.decrypt_verify(&mut msg, 32).is_err());
        assert!(format!("{k:?}").contains("redacted"));
    }

    #[test]
    fn suite_consistency() {
        let gcm = EncrTransform::new(EncrAlgorithm::AesGcm16, Some(128)).unwrap();
        assert!(IkeSuite::new(
            gcm,
            PrfAlgorithm::HmacSha1,
            Some(IntegAlgorithm::HmacSha1_96)
        )
        .is_err());
        let cbc = EncrTransform::new(EncrAlgorithm::AesCbc, Some(128)).unwrap();
        assert!(IkeSuite::new(cbc, PrfAlgorithm::HmacSha1, None).is_err());
    }
}
