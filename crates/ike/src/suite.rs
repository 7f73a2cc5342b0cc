//! Adapter to `yadokari-crypto`: the negotiated IKE suite, the key
//! schedule (RFC 7296 §2.14 SKEYSEED/SK_*, §2.17 KEYMAT, §2.18 rekey),
//! SK ciphers per direction, key exchange, and the two plain hashes the
//! core needs (SHA-1 for NAT-D §2.23, SHA-256 for COOKIEs §2.6), re-exported
//! from the crypto crate.

use yadokari_crypto::ke::{self, KeyExchange};
use yadokari_crypto::keys::{ChildSaKeys, IkeSaKeys, IkeSuite as CryptoSuite};
use yadokari_crypto::sk::{EncrTransform, SkCipher};
use yadokari_crypto::{EncrAlgorithm, IntegAlgorithm, KeGroup, PrfAlgorithm, SecretBytes};

use crate::error::IkeError;
use crate::event::ChildKeys;
use crate::proposal::{ids, Proposal};
use crate::reg::transform_type as tt;
use crate::rng::Rng;

fn crypto_err(e: yadokari_crypto::CryptoError) -> IkeError {
    IkeError::Internal(e.to_string())
}

impl From<yadokari_crypto::CryptoError> for IkeError {
    fn from(e: yadokari_crypto::CryptoError) -> Self {
        match e {
            yadokari_crypto::CryptoError::InvalidPeerPublicValue { .. } => {
                IkeError::PeerMisbehaved(crate::error::PeerMisbehaved::InvalidKe)
            }
            other => crypto_err(other),
        }
    }
}

/// The negotiated IKE SA transforms plus its KE method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IkeSuite {
    pub crypto: CryptoSuite,
    pub ke: u16,
}

impl IkeSuite {
    /// From a chosen proposal (one transform per type).
    pub fn from_proposal(p: &Proposal) -> Result<Self, IkeError> {
        let unsupported =
            || IkeError::PeerIncompatible(crate::error::PeerIncompatible::NoProposalChosen);
        let encr = p.get(tt::ENCR).ok_or_else(unsupported)?;
        let prf = p.get(tt::PRF).ok_or_else(unsupported)?;
        let ke = p.get(tt::KE).ok_or_else(unsupported)?;
        let encr = EncrTransform::new(
            EncrAlgorithm::from_iana(encr.id).ok_or_else(unsupported)?,
            encr.key_len,
        )
        .map_err(|_| unsupported())?;
        let prf = PrfAlgorithm::from_iana(prf.id).ok_or_else(unsupported)?;
        let integ = match p.get(tt::INTEG).filter(|t| t.id != ids::AUTH_NONE) {
            Some(t) => Some(IntegAlgorithm::from_iana(t.id).ok_or_else(unsupported)?),
            None => None,
        };
        let crypto = CryptoSuite::new(encr, prf, integ).map_err(|_| unsupported())?;
        KeGroup::from_iana(ke.id).ok_or_else(unsupported)?;
        Ok(Self { crypto, ke: ke.id })
    }
}

/// The seven SK_* keys with the two SK payload ciphers ready to use.
pub struct IkeKeys {
    keys: IkeSaKeys,
    ke: u16,
    /// Protects original initiator → responder (SK_ei/SK_ai).
    ci: SkCipher,
    /// Protects responder → original initiator (SK_er/SK_ar).
    cr: SkCipher,
    /// RFC 9242 IntAuth (IntAuth_iN | IntAuth_rN | IKE_AUTH_MID) that the
    /// AUTH payloads cover; empty when no IKE_INTERMEDIATE took place.
    int_auth: Vec<u8>,
}

impl std::fmt::Debug for IkeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IkeKeys")
            .field("suite", &self.keys.suite)
            .finish_non_exhaustive()
    }
}

/// The negotiated IKE SA transforms, as IANA numbers (for operators).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IkeSaAlgorithms {
    pub encr: u16,
    pub encr_key_bits: Option<u16>,
    pub prf: u16,
    pub integ: Option<u16>,
    pub ke: u16,
}

impl IkeKeys {
    /// The transforms this SA was keyed with.
    pub fn algorithms(&self) -> IkeSaAlgorithms {
        let s = &self.keys.suite;
        IkeSaAlgorithms {
            encr: s.encr().algorithm().iana(),
            encr_key_bits: s.encr().key_bits(),
            prf: s.prf().iana(),
            integ: s.integ().map(|i| i.iana()),
            ke: self.ke,
        }
    }

    fn new(keys: IkeSaKeys, ke: u16) -> Result<Self, IkeError> {
        let pair = keys.sk_ciphers(yadokari_crypto::keys::Role::Initiator)?;
        Ok(Self {
            keys,
            ke,
            ci: pair.outbound,
            cr: pair.inbound,
            int_auth: Vec::new(),
        })
    }

    /// The IntAuth the AUTH payloads of this SA cover (RFC 9242 §3.3.2).
    pub fn int_auth(&self) -> &[u8] {
        &self.int_auth
    }

    /// Sets the IntAuth once the last IKE_INTERMEDIATE exchange is done.
    pub fn set_int_auth(&mut self, int_auth: Vec<u8>) {
        self.int_auth = int_auth;
    }

    /// The keys with a post-quantum preshared key mixed in (RFC 8784 §3):
    /// `SK_d' = prf+(PPK, SK_d)`, and likewise SK_pi and SK_pr, each as
    /// long as before; the SK payload keys stay as they are.
    pub fn with_ppk(&self, ppk: &[u8]) -> Result<IkeKeys, IkeError> {
        let prf = yadokari_crypto::Prf::new(self.prf(), ppk)?;
        let mix = |k: &SecretBytes| -> Result<SecretBytes, IkeError> {
            let mut out = vec![0u8; k.expose().len()];
            prf.prf_plus(&[k.expose()], &mut out)?;
            Ok(SecretBytes::new(out))
        };
        let mut keys = self.keys.clone();
        keys.sk_d = mix(&self.keys.sk_d)?;
        keys.sk_pi = mix(&self.keys.sk_pi)?;
        keys.sk_pr = mix(&self.keys.sk_pr)?;
        let mut k = IkeKeys::new(keys, self.ke)?;
        k.int_auth = self.int_auth.clone();
        Ok(k)
    }

    /// SK_pi (`initiator`) or SK_pr.
    pub fn sk_p(&self, initiator: bool) -> &[u8] {
        let role = if initiator {
            yadokari_crypto::keys::Role::Initiator
        } else {
            yadokari_crypto::keys::Role::Responder
        };
        self.keys.sk_p(role).expose()
    }

    /// The cipher of messages sent by the original initiator (`true`) or responder.
    pub fn sk_cipher(&self, from_initiator: bool) -> &SkCipher {
        if from_initiator {
            &self.ci
        } else {
            &self.cr
        }
    }

    pub fn suite(&self) -> IkeSuite {
        IkeSuite {
            crypto: self.keys.suite,
            ke: self.ke,
        }
    }

    pub fn prf(&self) -> PrfAlgorithm {
        self.keys.suite.prf()
    }

    /// The crypto crate's key set (AUTH octets, KEYMAT).
    pub fn raw(&self) -> &IkeSaKeys {
        &self.keys
    }
}

/// Derives SK_* for a new IKE SA (§2.14) or a rekeyed one (§2.18, `old`).
pub fn derive_ike_keys(
    suite: IkeSuite,
    old: Option<&IkeKeys>,
    ni: &[u8],
    nr: &[u8],
    g_ir: &[u8],
    spi_i: u64,
    spi_r: u64,
) -> Result<IkeKeys, IkeError> {
    let (si, sr) = (spi_i.to_be_bytes(), spi_r.to_be_bytes());
    let keys = match old {
        None => IkeSaKeys::from_shared_secret(suite.crypto, g_ir, ni, nr, &si, &sr)?,
        Some(o) => o.keys.rekey(suite.crypto, g_ir, ni, nr, &si, &sr)?,
    };
    IkeKeys::new(keys, suite.ke)
}

/// KEYMAT for a CHILD SA (§2.17): (initiator→responder, responder→initiator)
/// of the exchange that created it.
pub fn child_keymat(
    ike: &IkeKeys,
    g_ir: Option<&[u8]>,
    ni: &[u8],
    nr: &[u8],
    encr_len: usize,
    integ_len: usize,
) -> Result<(ChildKeys, ChildKeys), IkeError> {
    // Moved, not copied: these are the only copies of the keys.
    let ChildSaKeys {
        encr_i,
        integ_i,
        encr_r,
        integ_r,
    } = ike.keys.child_sa_keys(g_ir, ni, nr, encr_len, integ_len)?;
    Ok((
        ChildKeys {
            encr: encr_i,
            integ: integ_i,
        },
        ChildKeys {
            encr: encr_r,
            integ: integ_r,
        },
    ))
}

/// Our half of an ephemeral key exchange; the private value is gone after `agree`.
pub struct KeSecret {
    group: u16,
    public: Vec<u8>,
    inner: Option<Box<dyn KeyExchange>>,
}

impl KeSecret {
    pub fn group(&self) -> u16 {
        self.group
    }

    pub fn public(&self) -> &[u8] {
        &self.public
    }

    /// g^ir from the peer's KE data (validated by the crypto crate).
    pub fn agree(&mut self, peer: &[u8]) -> Result<SecretBytes, IkeError> {
        let inner = self
            .inner
            .take()
            .ok_or(IkeError::ApiMisuse("key exchange already completed"))?;
        Ok(inner.complete(peer)?)
    }
}

/// Starts a key exchange in `group`.
pub fn ke_generate(group: u16, rng: &mut Rng) -> Result<KeSecret, IkeError> {
    let g = KeGroup::from_iana(group).ok_or(IkeError::PeerIncompatible(
        crate::error::PeerIncompatible::NoProposalChosen,
    ))?;
    let inner = ke::start(g, rng)?;
    Ok(KeSecret {
        group,
        public: inner.public_value().to_vec(),
        inner: Some(inner),
    })
}

/// The responder's key exchange: our Key Exchange Data (a public value, or
/// for ML-KEM the ciphertext) and the shared secret, from the initiator's
/// data. An unsupported group is `NoProposalChosen`, bad peer data an error
/// from the crypto crate.
pub fn ke_respond(
    group: u16,
    peer: &[u8],
    rng: &mut Rng,
) -> Result<(Vec<u8>, SecretBytes), IkeError> {
    let g = KeGroup::from_iana(group).ok_or(IkeError::PeerIncompatible(
        crate::error::PeerIncompatible::NoProposalChosen,
    ))?;
    Ok(ke::respond(g, peer, rng)?)
}

/// SHA-1 (NAT-D, §2.23) and SHA-256 (COOKIE, §2.6) of concatenated parts:
/// the crypto crate's, the one home of plain hashes.
pub use yadokari_crypto::hash::{sha1, sha256};
