//! Proposals and transform selection (RFC 7296 §2.7, §3.3, §3.3.6).
//!
//! The responder picks by *its own* preference order: for each of our
//! proposals in turn, the first peer proposal whose every transform type can
//! be matched, taking for each type our most preferred transform that the
//! peer also offered. The initiator checks that the answer is one of the
//! proposals it sent, with exactly one transform per type.

use crate::reg::transform_type as tt;

/// One transform (§3.3.2). `key_len` is the Key Length attribute in bits
/// (§3.3.5), required for variable-length ciphers such as AES.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Transform {
    pub ty: u8,
    pub id: u16,
    pub key_len: Option<u16>,
}

impl Transform {
    pub const fn new(ty: u8, id: u16, key_len: Option<u16>) -> Self {
        Self { ty, id, key_len }
    }
}

/// Transform IDs the core decides on, as `match`-able integers; the numbers
/// and names live in the wire crate's registry.
pub mod ids {
    macro_rules! from_registry {
        ($registry:ident: $($name:ident),* $(,)?) => {
            $( pub const $name: u16 = yadokari_wire::registry::$registry::$name.0; )*
        };
    }
    from_registry!(EncrId: ENCR_AES_CBC, ENCR_AES_CTR, ENCR_AES_GCM_8, ENCR_AES_GCM_12,
        ENCR_AES_GCM_16, ENCR_CHACHA20_POLY1305);
    from_registry!(PrfId: PRF_HMAC_SHA1, PRF_AES128_XCBC, PRF_HMAC_SHA2_256,
        PRF_HMAC_SHA2_384, PRF_HMAC_SHA2_512, PRF_AES128_CMAC);
    from_registry!(IntegId: AUTH_HMAC_SHA1_96, AUTH_AES_XCBC_96, AUTH_AES_CMAC_96,
        AUTH_HMAC_SHA2_256_128, AUTH_HMAC_SHA2_384_192, AUTH_HMAC_SHA2_512_256);
    /// AUTH_NONE: IANA's `NONE` of the integrity registry.
    pub const AUTH_NONE: u16 = yadokari_wire::registry::IntegId::NONE.0;
    from_registry!(KeMethod: MODP_2048, MODP_3072, MODP_4096, ECP_256, ECP_384, ECP_521,
        CURVE25519, CURVE448);
    from_registry!(EsnId: NO_ESN, ESN);
}

/// A proposal as configured: several transforms per type, in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalConfig {
    pub transforms: Vec<Transform>,
}

/// Whether a transform type is one of RFC 9370's ADDKE1–7.
pub fn is_additional_ke(ty: u8) -> bool {
    ty != tt::KE && yadokari_wire::registry::TransformType(ty).is_key_exchange()
}

impl ProposalConfig {
    /// The proposal without its RFC 9370 additional key exchanges
    /// (transform types ADDKE1–7).
    #[must_use]
    pub fn without_additional_ke(&self) -> Self {
        Self {
            transforms: self
                .transforms
                .iter()
                .filter(|t| !is_additional_ke(t.ty))
                .copied()
                .collect(),
        }
    }
}

/// Configured IKE SA proposal (ENCR, PRF, INTEG unless AEAD, KE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal(pub ProposalConfig);
/// Configured CHILD SA proposal (ENCR, INTEG unless AEAD, optional KE, ESN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProposal(pub ProposalConfig);

/// Whether an ENCR transform is a combined-mode cipher (no INTEG, §3.3).
pub fn is_aead(id: u16) -> bool {
    matches!(
        id,
        ids::ENCR_AES_GCM_8
            | ids::ENCR_AES_GCM_12
            | ids::ENCR_AES_GCM_16
            | ids::ENCR_CHACHA20_POLY1305
    )
}

impl ChildProposal {
    /// The KE methods of this proposal (PFS groups).
    pub fn ke_groups(&self) -> impl Iterator<Item = u16> + '_ {
        self.0
            .transforms
            .iter()
            .filter(|t| t.ty == tt::KE)
            .map(|t| t.id)
    }
}

/// A proposal on the wire (§3.3.1): number, protocol, SPI, transforms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    pub number: u8,
    pub protocol: u8,
    pub spi: Vec<u8>,
    pub transforms: Vec<Transform>,
}

impl Proposal {
    /// One transform of type `ty`, as in a chosen proposal.
    pub fn get(&self, ty: u8) -> Option<Transform> {
        self.transforms.iter().find(|t| t.ty == ty).copied()
    }

    fn types(&self) -> Vec<u8> {
        let mut v: Vec<u8> = self.transforms.iter().map(|t| t.ty).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Builds the wire proposals for our configured list (numbered from 1).
pub fn offer(
    configs: &[&ProposalConfig],
    protocol: u8,
    spi: &[u8],
    strip_ke: bool,
) -> Vec<Proposal> {
    configs
        .iter()
        .enumerate()
        .map(|(i, c)| Proposal {
            number: u8::try_from(i + 1).unwrap_or(u8::MAX),
            protocol,
            spi: spi.to_vec(),
            transforms: c
                .transforms
                .iter()
                .filter(|t| !(strip_ke && t.ty == tt::KE))
                .copied()
                .collect(),
        })
        .collect()
}

/// Responder selection (§2.7): our order first, then the peer's order.
/// `strip_ke` ignores KE transforms on both sides (first CHILD SA in IKE_AUTH).
pub fn select(
    ours: &[&ProposalConfig],
    theirs: &[Proposal],
    protocol: u8,
    strip_ke: bool,
) -> Option<Proposal> {
    for our in ours {
        let our_ts: Vec<Transform> = our
            .transforms
            .iter()
            .filter(|t| !(strip_ke && t.ty == tt::KE))
            .copied()
            .collect();
        let mut our_types: Vec<u8> = our_ts.iter().map(|t| t.ty).collect();
        our_types.sort_unstable();
        our_types.dedup();
        for their in theirs.iter().filter(|p| p.protocol == protocol) {
            let their_ts: Vec<Transform> = their
                .transforms
                .iter()
                .filter(|t| !(strip_ke && t.ty == tt::KE))
                .copied()
                .collect();
            let mut their_types: Vec<u8> = their_ts.iter().map(|t| t.ty).collect();
            their_types.sort_unstable();
            their_types.dedup();
            // A peer that omits ESN means "no ESN" only if we offer NO_ESN.
            let mut chosen = Vec::new();
            let mut ok = true;
            for ty in our_types.iter().chain(their_types.iter()) {
                if chosen.iter().any(|t: &Transform| t.ty == *ty) {
                    continue;
                }
                let pick = our_ts
                    .iter()
                    .filter(|t| t.ty == *ty)
                    .find(|t| their_ts.contains(t));
                match pick {
                    Some(t) => chosen.push(*t),
                    None => {
                        // INTEG=NONE offered by the peer with an AEAD is fine to omit.
                        let optional_none = *ty == tt::INTEG
                            && their_ts
                                .iter()
                                .filter(|t| t.ty == tt::INTEG)
                                .all(|t| t.id == ids::AUTH_NONE)
                            && !our_types.contains(&tt::INTEG);
                        let esn_default = *ty == tt::ESN
                            && !their_types.contains(&tt::ESN)
                            && our_ts
                                .iter()
                                .any(|t| t.ty == tt::ESN && t.id == ids::NO_ESN);
                        if !(optional_none || esn_default) {
                            ok = false;
                            break;
                        }
                    }
                }
            }
            if ok {
                chosen.sort_by_key(|t| t.ty);
                return Some(Proposal {
                    number: their.number,
                    protocol,
                    spi: their.spi.clone(),
                    transforms: chosen,
                });
            }
        }
    }
    None
}

/// Initiator check (§2.7): exactly one proposal, one transform per type,
/// and all of them offered together in the proposal with that number.
pub fn verify_choice(offered: &[Proposal], answer: &[Proposal]) -> Option<Proposal> {
    let [chosen] = answer else { return None };
    let types = chosen.types();
    if types.len() != chosen.transforms.len() {
        return None;
    }
    let ours = offered
        .iter()
        .find(|p| p.number == chosen.number && p.protocol == chosen.protocol)?;
    if !chosen
        .transforms
        .iter()
        .all(|t| ours.transforms.contains(t))
    {
        return None;
    }
    // Every type we offered must be answered (ESN may default to none).
    let no_esn_ok = ours
        .transforms
        .contains(&Transform::new(tt::ESN, ids::NO_ESN, None));
    for ty in ours.types() {
        let answered = types.contains(&ty) || (ty == tt::ESN && no_esn_ok);
        if !answered {
            return None;
        }
    }
    Some(chosen.clone())
}

/// The negotiated algorithms of a CHILD SA, as the data plane needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildAlgorithms {
    pub encr: Transform,
    pub integ: Option<Transform>,
    pub ke: Option<u16>,
    pub esn: bool,
}

impl ChildAlgorithms {
    pub fn from_proposal(p: &Proposal) -> Option<Self> {
        let encr = p.get(tt::ENCR)?;
        let integ = p.get(tt::INTEG).filter(|t| t.id != ids::AUTH_NONE);
        if !is_aead(encr.id) && integ.is_none() {
            return None;
        }
        Some(Self {
            encr,
            integ,
            ke: p.get(tt::KE).map(|t| t.id),
            esn: p.get(tt::ESN).is_some_and(|t| t.id == ids::ESN),
        })
    }

    /// ESP encryption key bytes, including the 4-byte salt of GCM/CTR/ChaCha
    /// (RFC 4106 §8.1, RFC 3686 §5.1, RFC 7634 §2).
    pub fn encr_key_len(&self) -> Option<usize> {
        encr_key_len(self.encr)
    }

    pub fn integ_key_len(&self) -> Option<usize> {
        match self.integ {
            None => Some(0),
            Some(t) => integ_key_len(t.id),
        }
    }
}

/// Key bytes of an ENCR transform, salt included.
pub fn encr_key_len(t: Transform) -> Option<usize> {
    // ChaCha20-Poly1305 has no Key Length attribute (RFC 7634 §2): a 32-byte
    // key and a 4-byte salt.
    if t.id == ids::ENCR_CHACHA20_POLY1305 {
        return t.key_len.is_none_or(|b| b == 256).then_some(36);
    }
    let bits = usize::from(t.key_len?);
    match t.id {
        ids::ENCR_AES_CBC => Some(bits / 8),
        ids::ENCR_AES_CTR | ids::ENCR_AES_GCM_8 | ids::ENCR_AES_GCM_12 | ids::ENCR_AES_GCM_16 => {
            Some(bits / 8 + 4)
        }
        _ => None,
    }
    .filter(|n| *n > 0)
}

/// Key bytes of an INTEG transform.
pub fn integ_key_len(id: u16) -> Option<usize> {
    match id {
        ids::AUTH_HMAC_SHA1_96 => Some(20),
        ids::AUTH_AES_XCBC_96 | ids::AUTH_AES_CMAC_96 => Some(16),
        ids::AUTH_HMAC_SHA2_256_128 => Some(32),
        ids::AUTH_HMAC_SHA2_384_192 => Some(48),
        ids::AUTH_HMAC_SHA2_512_256 => Some(64),
        _ => None,
    }
}
