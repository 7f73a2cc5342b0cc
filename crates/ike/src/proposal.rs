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

/// Transform IDs used by the built-in suites (IANA "IKEv2 Parameters").
pub mod ids {
    pub const ENCR_AES_CBC: u16 = 12;
    pub const ENCR_AES_CTR: u16 = 13;
    pub const ENCR_AES_GCM_8: u16 = 18;
    pub const ENCR_AES_GCM_12: u16 = 19;
    pub const ENCR_AES_GCM_16: u16 = 20;
    pub const ENCR_CHACHA20_POLY1305: u16 = 28;

    pub const PRF_HMAC_SHA1: u16 = 2;
    pub const PRF_AES128_XCBC: u16 = 4;
    pub const PRF_HMAC_SHA2_256: u16 = 5;
    pub const PRF_HMAC_SHA2_384: u16 = 6;
    pub const PRF_HMAC_SHA2_512: u16 = 7;
    pub const PRF_AES128_CMAC: u16 = 8;

    pub const AUTH_NONE: u16 = 0;
    pub const AUTH_HMAC_SHA1_96: u16 = 2;
    pub const AUTH_AES_XCBC_96: u16 = 5;
    pub const AUTH_AES_CMAC_96: u16 = 8;
    pub const AUTH_HMAC_SHA2_256_128: u16 = 12;
    pub const AUTH_HMAC_SHA2_384_192: u16 = 13;
    pub const AUTH_HMAC_SHA2_512_256: u16 = 14;

    pub const MODP_2048: u16 = 14;
    pub const MODP_3072: u16 = 15;
    pub const MODP_4096: u16 = 16;
    pub const ECP_256: u16 = 19;
    pub const ECP_384: u16 = 20;
    pub const ECP_521: u16 = 21;
    pub const CURVE25519: u16 = 31;
    pub const CURVE448: u16 = 32;

    pub const NO_ESN: u16 = 0;
    pub const ESN: u16 = 1;
}

/// A proposal as configured: several transforms per type, in preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposalConfig {
    pub transforms: Vec<Transform>,
}

/// Configured IKE SA proposal (ENCR, PRF, INTEG unless AEAD, KE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal(pub ProposalConfig);
/// Configured CHILD SA proposal (ENCR, INTEG unless AEAD, optional KE, ESN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProposal(pub ProposalConfig);

/// Names accepted by [`IkeProposal::parse`]/[`ChildProposal::parse`], in
/// strongSwan's spelling so configs carry over.
fn parse_token(tok: &str, ike: bool) -> Option<Transform> {
    use ids::*;
    let t = |ty, id, kl| Some(Transform::new(ty, id, kl));
    match tok {
        "aes128" => t(tt::ENCR, ENCR_AES_CBC, Some(128)),
        "aes192" => t(tt::ENCR, ENCR_AES_CBC, Some(192)),
        "aes256" => t(tt::ENCR, ENCR_AES_CBC, Some(256)),
        "aes128ctr" => t(tt::ENCR, ENCR_AES_CTR, Some(128)),
        "aes256ctr" => t(tt::ENCR, ENCR_AES_CTR, Some(256)),
        "aes128gcm16" | "aes128gcm128" => t(tt::ENCR, ENCR_AES_GCM_16, Some(128)),
        "aes256gcm16" | "aes256gcm128" => t(tt::ENCR, ENCR_AES_GCM_16, Some(256)),
        "chacha20poly1305" => t(tt::ENCR, ENCR_CHACHA20_POLY1305, None),
        "prfsha1" => t(tt::PRF, PRF_HMAC_SHA1, None),
        "prfsha256" => t(tt::PRF, PRF_HMAC_SHA2_256, None),
        "prfsha384" => t(tt::PRF, PRF_HMAC_SHA2_384, None),
        "prfsha512" => t(tt::PRF, PRF_HMAC_SHA2_512, None),
        "prfaesxcbc" => t(tt::PRF, PRF_AES128_XCBC, None),
        "prfaescmac" => t(tt::PRF, PRF_AES128_CMAC, None),
        "sha1" => t(tt::INTEG, AUTH_HMAC_SHA1_96, None),
        "sha256" => t(tt::INTEG, AUTH_HMAC_SHA2_256_128, None),
        "sha384" => t(tt::INTEG, AUTH_HMAC_SHA2_384_192, None),
        "sha512" => t(tt::INTEG, AUTH_HMAC_SHA2_512_256, None),
        "aesxcbc" => t(tt::INTEG, AUTH_AES_XCBC_96, None),
        "aescmac" => t(tt::INTEG, AUTH_AES_CMAC_96, None),
        "modp2048" => t(tt::KE, MODP_2048, None),
        "modp3072" => t(tt::KE, MODP_3072, None),
        "modp4096" => t(tt::KE, MODP_4096, None),
        "ecp256" => t(tt::KE, ECP_256, None),
        "ecp384" => t(tt::KE, ECP_384, None),
        "ecp521" => t(tt::KE, ECP_521, None),
        "x25519" | "curve25519" => t(tt::KE, CURVE25519, None),
        "x448" | "curve448" => t(tt::KE, CURVE448, None),
        "esn" if !ike => t(tt::ESN, ESN, None),
        "noesn" if !ike => t(tt::ESN, NO_ESN, None),
        _ => None,
    }
}

fn parse_list(s: &str, ike: bool) -> Result<Vec<Transform>, String> {
    let mut out = Vec::new();
    for tok in s.split('-').filter(|t| !t.is_empty()) {
        let t = parse_token(tok, ike).ok_or_else(|| format!("unknown algorithm `{tok}`"))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn has_aead(ts: &[Transform]) -> bool {
    ts.iter().any(|t| t.ty == tt::ENCR && is_aead(t.id))
}

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

impl IkeProposal {
    /// Parses `aes256gcm16-prfsha256-x25519`. AEAD proposals without a PRF
    /// get PRF_HMAC_SHA2_256; non-AEAD without a PRF derive it from the INTEG.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ts = parse_list(s, true)?;
        if !ts.iter().any(|t| t.ty == tt::ENCR) {
            return Err("IKE proposal without encryption algorithm".into());
        }
        if !ts.iter().any(|t| t.ty == tt::KE) {
            return Err("IKE proposal without key exchange method".into());
        }
        if !ts.iter().any(|t| t.ty == tt::PRF) {
            let prfs: Vec<Transform> = ts
                .iter()
                .filter(|t| t.ty == tt::INTEG)
                .map(|t| {
                    let id = match t.id {
                        ids::AUTH_HMAC_SHA1_96 => ids::PRF_HMAC_SHA1,
                        ids::AUTH_HMAC_SHA2_384_192 => ids::PRF_HMAC_SHA2_384,
                        ids::AUTH_HMAC_SHA2_512_256 => ids::PRF_HMAC_SHA2_512,
                        ids::AUTH_AES_XCBC_96 => ids::PRF_AES128_XCBC,
                        _ => ids::PRF_HMAC_SHA2_256,
                    };
                    Transform::new(tt::PRF, id, None)
                })
                .collect();
            if prfs.is_empty() {
                ts.push(Transform::new(tt::PRF, ids::PRF_HMAC_SHA2_256, None));
            } else {
                for p in prfs {
                    if !ts.contains(&p) {
                        ts.push(p);
                    }
                }
            }
        }
        if !has_aead(&ts) && !ts.iter().any(|t| t.ty == tt::INTEG) {
            return Err("non-AEAD IKE proposal without integrity algorithm".into());
        }
        Ok(IkeProposal(ProposalConfig { transforms: ts }))
    }
}

impl ChildProposal {
    /// Parses `aes128gcm16-x25519-esn`; a KE method means PFS.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut ts = parse_list(s, false)?;
        if !ts.iter().any(|t| t.ty == tt::ENCR) {
            return Err("ESP proposal without encryption algorithm".into());
        }
        if !has_aead(&ts) && !ts.iter().any(|t| t.ty == tt::INTEG) {
            return Err("non-AEAD ESP proposal without integrity algorithm".into());
        }
        if !ts.iter().any(|t| t.ty == tt::ESN) {
            ts.push(Transform::new(tt::ESN, ids::NO_ESN, None));
        }
        Ok(ChildProposal(ProposalConfig { transforms: ts }))
    }

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
    let bits = usize::from(t.key_len?);
    match t.id {
        ids::ENCR_AES_CBC => Some(bits / 8),
        ids::ENCR_AES_CTR | ids::ENCR_AES_GCM_8 | ids::ENCR_AES_GCM_12 | ids::ENCR_AES_GCM_16 => {
            Some(bits / 8 + 4)
        }
        _ => None,
    }
    .or(match t.id {
        ids::ENCR_CHACHA20_POLY1305 => Some(36),
        _ => None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(s: &str) -> ProposalConfig {
        IkeProposal::parse(s)
            .map(|p| p.0)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn responder_prefers_its_own_order() {
        let init = offer(
            &[
                &cfg("aes128-sha256-modp2048"),
                &cfg("aes256gcm16-prfsha256-x25519"),
            ],
            1,
            &[],
            false,
        );
        let ours = [
            &cfg("aes256gcm16-prfsha256-x25519"),
            &cfg("aes128-sha256-modp2048"),
        ];
        let chosen = select(&ours, &init, 1, false).expect("a match");
        assert_eq!(chosen.number, 2);
        assert_eq!(chosen.get(tt::KE).map(|t| t.id), Some(ids::CURVE25519));
        assert!(verify_choice(&init, std::slice::from_ref(&chosen)).is_some());
    }

    #[test]
    fn picks_our_preferred_transform_inside_a_proposal() {
        let init = offer(&[&cfg("aes128-aes256-sha256-ecp256-x25519")], 1, &[], false);
        let ours = [&cfg("aes256-sha256-x25519-ecp256")];
        let chosen = select(&ours, &init, 1, false).expect("a match");
        assert_eq!(chosen.get(tt::ENCR).and_then(|t| t.key_len), Some(256));
        assert_eq!(chosen.get(tt::KE).map(|t| t.id), Some(ids::CURVE25519));
    }

    #[test]
    fn no_overlap_is_none() {
        let init = offer(&[&cfg("aes128-sha256-modp2048")], 1, &[], false);
        assert!(select(&[&cfg("aes256gcm16-prfsha256-x25519")], &init, 1, false).is_none());
    }

    #[test]
    fn initiator_rejects_unoffered_or_multiple() {
        let offered = offer(&[&cfg("aes128-sha256-x25519")], 1, &[], false);
        let mut bad = offered[0].clone();
        bad.transforms = vec![
            Transform::new(tt::ENCR, ids::ENCR_AES_CBC, Some(256)),
            Transform::new(tt::PRF, ids::PRF_HMAC_SHA2_256, None),
            Transform::new(tt::INTEG, ids::AUTH_HMAC_SHA2_256_128, None),
            Transform::new(tt::KE, ids::CURVE25519, None),
        ];
        assert!(verify_choice(&offered, &[bad]).is_none());
        // The full offer (two of nothing, but answered as-is) is fine; two proposals are not.
        assert!(verify_choice(&offered, &[offered[0].clone(), offered[0].clone()]).is_none());
    }

    #[test]
    fn child_ke_stripped_in_ike_auth() {
        let c = ChildProposal::parse("aes128gcm16-x25519").expect("parse").0;
        let init = offer(&[&c], 3, &[1, 2, 3, 4], true);
        assert!(init[0].get(tt::KE).is_none());
        let ours = ChildProposal::parse("aes128gcm16").expect("parse").0;
        let chosen = select(&[&ours], &init, 3, true).expect("match");
        assert_eq!(chosen.spi, vec![1, 2, 3, 4]);
        let alg = ChildAlgorithms::from_proposal(&chosen).expect("algs");
        assert_eq!(alg.encr_key_len(), Some(20));
        assert!(!alg.esn);
    }
}
