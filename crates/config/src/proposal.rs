//! Algorithm proposals in strongSwan's familiar syntax, e.g.
//! `aes256gcm16-prfsha256-x25519` for IKE or `aes128-sha256-modp2048` for
//! ESP, so that a configuration can be carried over from strongSwan as is.
//!
//! This is yadokari's one proposal parser: the daemon, the simulator and the
//! benchmarks all build their proposals here, and [`IkeProposal::to_core`] /
//! [`EspProposal::to_core`] hand them to the IKE core. The numbers are the
//! IANA "IKEv2 Transform Type" registries (RFC 7296 §3.3.2), taken from the
//! wire crate's registry; what can run is asked of the crates that run it
//! (`yadokari_crypto::ids::ike_can_run` for the IKE SA and key exchanges,
//! `yadokari_esp::can_run` for ESP), so a name that parses but cannot be
//! negotiated and installed is an error here, at load. Algorithms that are
//! no longer safe (MODP groups below 2048 bits, SHA-1 integrity and PRF,
//! NULL encryption) parse, but are reported as unsafe unless the
//! configuration opts in with `allow_legacy = true`.

use yadokari_ike::proposal::{ChildProposal, ProposalConfig, Transform};
use yadokari_wire::registry::{EncrId, IntegId, KeMethod, PrfId, TransformType};

/// An encryption transform: IANA ENCR id and key length in bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encr {
    pub id: u16,
    pub key_bits: Option<u16>,
}

impl Encr {
    pub fn is_aead(self) -> bool {
        matches!(
            self.id,
            ENCR_AES_GCM_8 | ENCR_AES_GCM_12 | ENCR_AES_GCM_16 | ENCR_CHACHA20_POLY1305
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeProposal {
    pub encryption: Vec<Encr>,
    pub integrity: Vec<u16>,
    pub prf: Vec<u16>,
    pub ke: Vec<u16>,
    /// RFC 9370 additional key exchanges: (ADDKE number 1–7, method; 0 is
    /// NONE, which makes that exchange optional).
    pub additional_ke: Vec<(u8, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EspProposal {
    pub encryption: Vec<Encr>,
    pub integrity: Vec<u16>,
    /// Key-exchange groups for PFS on rekey; empty means no PFS.
    pub ke: Vec<u16>,
    /// Extended sequence numbers: `[false]` (no ESN) unless asked.
    pub esn: Vec<bool>,
}

const ENCR_NULL: u16 = EncrId::ENCR_NULL.0;
const ENCR_AES_CBC: u16 = EncrId::ENCR_AES_CBC.0;
const ENCR_AES_CTR: u16 = EncrId::ENCR_AES_CTR.0;
const ENCR_AES_GCM_8: u16 = EncrId::ENCR_AES_GCM_8.0;
const ENCR_AES_GCM_12: u16 = EncrId::ENCR_AES_GCM_12.0;
const ENCR_AES_GCM_16: u16 = EncrId::ENCR_AES_GCM_16.0;
const ENCR_CHACHA20_POLY1305: u16 = EncrId::ENCR_CHACHA20_POLY1305.0;

const PRF_HMAC_SHA1: u16 = PrfId::PRF_HMAC_SHA1.0;
const PRF_AES128_XCBC: u16 = PrfId::PRF_AES128_XCBC.0;
const PRF_HMAC_SHA2_256: u16 = PrfId::PRF_HMAC_SHA2_256.0;
const PRF_HMAC_SHA2_384: u16 = PrfId::PRF_HMAC_SHA2_384.0;
const PRF_HMAC_SHA2_512: u16 = PrfId::PRF_HMAC_SHA2_512.0;
const PRF_AES128_CMAC: u16 = PrfId::PRF_AES128_CMAC.0;

const AUTH_HMAC_SHA1_96: u16 = IntegId::AUTH_HMAC_SHA1_96.0;
const AUTH_AES_XCBC_96: u16 = IntegId::AUTH_AES_XCBC_96.0;
const AUTH_AES_CMAC_96: u16 = IntegId::AUTH_AES_CMAC_96.0;
const AUTH_HMAC_SHA2_256_128: u16 = IntegId::AUTH_HMAC_SHA2_256_128.0;
const AUTH_HMAC_SHA2_384_192: u16 = IntegId::AUTH_HMAC_SHA2_384_192.0;
const AUTH_HMAC_SHA2_512_256: u16 = IntegId::AUTH_HMAC_SHA2_512_256.0;

enum Token {
    Encr(Encr),
    Integ(u16),
    Prf(u16),
    Ke(u16),
    /// An additional key exchange (RFC 9370): `ke1_mlkem768` is ADDKE1.
    AddKe(u8, u16),
    Esn(bool),
}

/// Why a token is unsafe, for the `allow_legacy` check.
pub fn legacy_reason(text: &str) -> Option<&'static str> {
    let t = text.to_ascii_lowercase();
    t.split('-').find_map(|tok| match tok {
        "modp768" | "modp1024" | "modp1536" => Some("MODP groups below 2048 bits are breakable"),
        "sha1" | "sha" | "prfsha1" => {
            Some("SHA-1 is deprecated for IKEv2 and ESP (RFC 8247, RFC 8221)")
        }
        "null" => Some("NULL encryption sends traffic in the clear"),
        "aes128gcm8" | "aes256gcm8" | "aes128gcm12" | "aes256gcm12" => {
            Some("short GCM ICVs are not recommended (RFC 8221)")
        }
        _ => None,
    })
}

fn token(tok: &str) -> Option<Token> {
    // strongSwan's syntax for RFC 9370: `keN_<method>`, `keN_none` (optional).
    if let Some((n, method)) = tok
        .strip_prefix("ke")
        .and_then(|r| r.split_once('_'))
        .and_then(|(n, m)| Some((n.parse::<u8>().ok().filter(|n| (1..=7).contains(n))?, m)))
    {
        return match method {
            "none" => Some(Token::AddKe(n, 0)),
            m => match token(m)? {
                Token::Ke(id) => Some(Token::AddKe(n, id)),
                _ => None,
            },
        };
    }
    let aes = |bits: u16, id: u16| {
        Some(Token::Encr(Encr {
            id,
            key_bits: Some(bits),
        }))
    };
    match tok {
        "aes128" | "aes128cbc" => aes(128, ENCR_AES_CBC),
        "aes192" | "aes192cbc" => aes(192, ENCR_AES_CBC),
        "aes256" | "aes256cbc" => aes(256, ENCR_AES_CBC),
        "aes128ctr" => aes(128, ENCR_AES_CTR),
        "aes192ctr" => aes(192, ENCR_AES_CTR),
        "aes256ctr" => aes(256, ENCR_AES_CTR),
        "aes128gcm8" => aes(128, ENCR_AES_GCM_8),
        "aes256gcm8" => aes(256, ENCR_AES_GCM_8),
        "aes128gcm12" => aes(128, ENCR_AES_GCM_12),
        "aes256gcm12" => aes(256, ENCR_AES_GCM_12),
        "aes128gcm16" | "aes128gcm" => aes(128, ENCR_AES_GCM_16),
        "aes192gcm16" | "aes192gcm" => aes(192, ENCR_AES_GCM_16),
        "aes256gcm16" | "aes256gcm" => aes(256, ENCR_AES_GCM_16),
        "chacha20poly1305" => Some(Token::Encr(Encr {
            id: ENCR_CHACHA20_POLY1305,
            key_bits: None,
        })),
        "null" => Some(Token::Encr(Encr {
            id: ENCR_NULL,
            key_bits: None,
        })),
        "sha1" | "sha" => Some(Token::Integ(AUTH_HMAC_SHA1_96)),
        "sha256" | "sha2_256" => Some(Token::Integ(AUTH_HMAC_SHA2_256_128)),
        "sha384" | "sha2_384" => Some(Token::Integ(AUTH_HMAC_SHA2_384_192)),
        "sha512" | "sha2_512" => Some(Token::Integ(AUTH_HMAC_SHA2_512_256)),
        "aesxcbc" => Some(Token::Integ(AUTH_AES_XCBC_96)),
        "aescmac" => Some(Token::Integ(AUTH_AES_CMAC_96)),
        "prfsha1" => Some(Token::Prf(PRF_HMAC_SHA1)),
        "prfsha256" => Some(Token::Prf(PRF_HMAC_SHA2_256)),
        "prfsha384" => Some(Token::Prf(PRF_HMAC_SHA2_384)),
        "prfsha512" => Some(Token::Prf(PRF_HMAC_SHA2_512)),
        "prfaesxcbc" => Some(Token::Prf(PRF_AES128_XCBC)),
        "prfaescmac" => Some(Token::Prf(PRF_AES128_CMAC)),
        "modp768" => Some(Token::Ke(KeMethod::MODP_768.0)),
        "modp1024" => Some(Token::Ke(KeMethod::MODP_1024.0)),
        "modp1536" => Some(Token::Ke(KeMethod::MODP_1536.0)),
        "modp2048" => Some(Token::Ke(KeMethod::MODP_2048.0)),
        "modp3072" => Some(Token::Ke(KeMethod::MODP_3072.0)),
        "modp4096" => Some(Token::Ke(KeMethod::MODP_4096.0)),
        "modp6144" => Some(Token::Ke(KeMethod::MODP_6144.0)),
        "modp8192" => Some(Token::Ke(KeMethod::MODP_8192.0)),
        "ecp256" => Some(Token::Ke(KeMethod::ECP_256.0)),
        "ecp384" => Some(Token::Ke(KeMethod::ECP_384.0)),
        "ecp521" => Some(Token::Ke(KeMethod::ECP_521.0)),
        "x25519" | "curve25519" => Some(Token::Ke(KeMethod::CURVE25519.0)),
        "x448" | "curve448" => Some(Token::Ke(KeMethod::CURVE448.0)),
        "mlkem512" => Some(Token::Ke(KeMethod::ML_KEM_512.0)),
        "mlkem768" => Some(Token::Ke(KeMethod::ML_KEM_768.0)),
        "mlkem1024" => Some(Token::Ke(KeMethod::ML_KEM_1024.0)),
        "esn" => Some(Token::Esn(true)),
        "noesn" => Some(Token::Esn(false)),
        _ => None,
    }
}

fn integ_to_prf(integ: u16) -> Option<u16> {
    match integ {
        AUTH_HMAC_SHA1_96 => Some(PRF_HMAC_SHA1),
        AUTH_HMAC_SHA2_256_128 => Some(PRF_HMAC_SHA2_256),
        AUTH_HMAC_SHA2_384_192 => Some(PRF_HMAC_SHA2_384),
        AUTH_HMAC_SHA2_512_256 => Some(PRF_HMAC_SHA2_512),
        AUTH_AES_XCBC_96 => Some(PRF_AES128_XCBC),
        AUTH_AES_CMAC_96 => Some(PRF_AES128_CMAC),
        _ => None,
    }
}

struct Parts {
    encryption: Vec<Encr>,
    integrity: Vec<u16>,
    prf: Vec<u16>,
    ke: Vec<u16>,
    addke: Vec<(u8, u16)>,
    esn: Vec<bool>,
}

/// What a proposal is for: the IKE SA, or ESP (whose key exchanges, for
/// PFS, are still computed by IKE).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Ike,
    Esp,
}

impl Token {
    /// The transform as the registry numbers it.
    fn transform(&self) -> (TransformType, u16, Option<u16>) {
        match *self {
            Token::Encr(e) => (TransformType::ENCR, e.id, e.key_bits),
            Token::Integ(i) => (TransformType::INTEG, i, None),
            Token::Prf(i) => (TransformType::PRF, i, None),
            Token::Ke(i) => (TransformType::KE, i, None),
            Token::AddKe(n, i) => (TransformType(TransformType::KE.0 + 1 + n), i, None),
            Token::Esn(b) => (TransformType::ESN, u16::from(b), None),
        }
    }

    /// Whether yadokari can negotiate and run it for `u`.
    fn can_run(&self, u: Use) -> bool {
        let (ty, id, bits) = self.transform();
        match (u, ty) {
            // CHILD SAs would need IKE_FOLLOWUP_KE (RFC 9370 §2.2.4).
            (Use::Esp, ty) if ty.is_key_exchange() && ty != TransformType::KE => false,
            (Use::Ike, _) | (Use::Esp, TransformType::KE) => {
                yadokari_crypto::ids::ike_can_run(ty, id, bits)
            }
            (Use::Esp, _) => yadokari_esp::can_run(ty, id, bits),
        }
    }
}

fn split(text: &str, u: Use) -> Result<Parts, String> {
    let mut p = Parts {
        encryption: vec![],
        integrity: vec![],
        prf: vec![],
        ke: vec![],
        addke: vec![],
        esn: vec![],
    };
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Err("an empty proposal".into());
    }
    for tok in lower.split('-') {
        let t = token(tok);
        if let Some(t) = t.as_ref().filter(|t| !t.can_run(u)) {
            let (ty, id, _) = t.transform();
            let what = match u {
                Use::Ike => "for IKE",
                Use::Esp if ty == TransformType::KE => "for PFS",
                Use::Esp if ty.is_key_exchange() => {
                    "as an additional key exchange of a CHILD SA (RFC 9370 IKE_FOLLOWUP_KE)"
                }
                Use::Esp => "for ESP",
            };
            let iana = ty.id_name(id).unwrap_or("?");
            return Err(format!(
                "`{tok}` ({iana}) is not supported {what} by yadokari yet; `{text}` could \
                 not be negotiated and installed"
            ));
        }
        match t {
            Some(Token::Encr(e)) => p.encryption.push(e),
            Some(Token::Integ(i)) => p.integrity.push(i),
            Some(Token::Prf(i)) => p.prf.push(i),
            Some(Token::Ke(i)) => p.ke.push(i),
            Some(Token::AddKe(n, i)) => p.addke.push((n, i)),
            Some(Token::Esn(b)) => p.esn.push(b),
            None => return Err(format!("unknown algorithm `{tok}` in `{text}`")),
        }
    }
    if p.encryption.is_empty() {
        return Err(format!("`{text}` names no encryption algorithm"));
    }
    let aead = p.encryption.iter().filter(|e| e.is_aead()).count();
    if aead != 0 && aead != p.encryption.len() {
        return Err(format!(
            "`{text}` mixes AEAD and non-AEAD encryption; use two proposals"
        ));
    }
    if aead != 0 && !p.integrity.is_empty() {
        return Err(format!(
            "`{text}`: AEAD algorithms carry their own integrity; remove the integrity algorithm"
        ));
    }
    if aead == 0 && p.integrity.is_empty() {
        return Err(format!(
            "`{text}` needs an integrity algorithm (e.g. sha256) with non-AEAD encryption"
        ));
    }
    Ok(p)
}

pub fn parse_ike_proposal(text: &str) -> Result<IkeProposal, String> {
    let mut p = split(text, Use::Ike)?;
    if !p.esn.is_empty() {
        return Err(format!("`{text}`: esn/noesn apply to ESP, not IKE"));
    }
    if p.ke.is_empty() {
        return Err(format!("`{text}` needs a key-exchange group (e.g. x25519)"));
    }
    // RFC 9370 §2.2.1: the additional exchanges run in order, ADDKE1 first,
    // and none of them may be left out before a later one.
    let mut used: Vec<u8> = p.addke.iter().map(|(n, _)| *n).collect();
    used.sort_unstable();
    used.dedup();
    if used
        .iter()
        .enumerate()
        .any(|(i, n)| usize::from(*n) != i + 1)
    {
        return Err(format!(
            "`{text}`: additional key exchanges are numbered from ke1_ on without gaps"
        ));
    }
    if p.prf.is_empty() {
        // strongSwan's rule: the PRF follows the integrity algorithm, and
        // AEAD proposals get HMAC-SHA2-256.
        p.prf = p
            .integrity
            .iter()
            .filter_map(|i| integ_to_prf(*i))
            .collect();
        if p.prf.is_empty() {
            p.prf.push(PRF_HMAC_SHA2_256);
        }
    }
    Ok(IkeProposal {
        encryption: p.encryption,
        integrity: p.integrity,
        prf: p.prf,
        ke: p.ke,
        additional_ke: p.addke,
    })
}

pub fn parse_esp_proposal(text: &str) -> Result<EspProposal, String> {
    let p = split(text, Use::Esp)?;
    if !p.prf.is_empty() {
        return Err(format!("`{text}`: ESP proposals take no PRF"));
    }
    let esn = if p.esn.is_empty() { vec![false] } else { p.esn };
    Ok(EspProposal {
        encryption: p.encryption,
        integrity: p.integrity,
        ke: p.ke,
        esn,
    })
}

fn encr(e: &Encr) -> Transform {
    Transform::new(TransformType::ENCR.0, e.id, e.key_bits)
}

fn plain(ty: TransformType, ids: &[u16]) -> impl Iterator<Item = Transform> + '_ {
    ids.iter().map(move |id| Transform::new(ty.0, *id, None))
}

impl IkeProposal {
    /// The proposal as the IKE core offers and selects it, transforms in
    /// preference order within each type.
    #[must_use]
    pub fn to_core(&self) -> yadokari_ike::IkeProposal {
        let mut t: Vec<Transform> = self.encryption.iter().map(encr).collect();
        t.extend(plain(TransformType::PRF, &self.prf));
        t.extend(plain(TransformType::INTEG, &self.integrity));
        t.extend(plain(TransformType::KE, &self.ke));
        t.extend(
            self.additional_ke
                .iter()
                .map(|(n, id)| Transform::new(TransformType::KE.0 + 1 + n, *id, None)),
        );
        yadokari_ike::IkeProposal(ProposalConfig { transforms: t })
    }
}

impl EspProposal {
    /// The proposal as the IKE core offers and selects it for a CHILD SA.
    #[must_use]
    pub fn to_core(&self) -> ChildProposal {
        let mut t: Vec<Transform> = self.encryption.iter().map(encr).collect();
        t.extend(plain(TransformType::INTEG, &self.integrity));
        t.extend(plain(TransformType::KE, &self.ke));
        t.extend(
            self.esn
                .iter()
                .map(|on| Transform::new(TransformType::ESN.0, u16::from(*on), None)),
        );
        ChildProposal(ProposalConfig { transforms: t })
    }
}

/// The default IKE proposals: AEAD first, modern groups, no legacy.
pub fn default_ike() -> Vec<IkeProposal> {
    ["aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-x25519-ecp256-ecp384-modp3072",
     "aes256-aes128-sha256-sha384-x25519-ecp256-ecp384-modp3072"]
        .iter()
        .map(|t| parse_ike_proposal(t).expect("built-in proposal parses"))
        .collect()
}

/// The default ESP proposals: AEAD first, then AES-CBC with SHA-2.
pub fn default_esp() -> Vec<EspProposal> {
    [
        "aes256gcm16-aes128gcm16-chacha20poly1305",
        "aes256-aes128-sha256-sha384",
    ]
    .iter()
    .map(|t| parse_esp_proposal(t).expect("built-in proposal parses"))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strongswan_syntax() {
        let p = parse_ike_proposal("aes256gcm16-prfsha256-x25519").unwrap();
        assert_eq!(
            p.encryption,
            vec![Encr {
                id: ENCR_AES_GCM_16,
                key_bits: Some(256)
            }]
        );
        assert_eq!(p.prf, vec![PRF_HMAC_SHA2_256]);
        assert_eq!(p.ke, vec![31]);
        let p = parse_ike_proposal("aes256-sha256-modp2048").unwrap();
        assert_eq!(p.integrity, vec![AUTH_HMAC_SHA2_256_128]);
        assert_eq!(p.prf, vec![PRF_HMAC_SHA2_256], "PRF follows integrity");
        let e = parse_esp_proposal("aes256gcm16").unwrap();
        assert!(e.ke.is_empty());
        assert_eq!(e.esn, vec![false]);
        assert!(parse_esp_proposal("aes256gcm16-sha256").is_err());
        assert!(parse_ike_proposal("aes256gcm16")
            .unwrap_err()
            .contains("key-exchange"));
        assert!(parse_ike_proposal("aes256-x25519")
            .unwrap_err()
            .contains("integrity"));
        assert!(parse_esp_proposal("blowfish")
            .unwrap_err()
            .contains("blowfish"));
        assert_eq!(
            legacy_reason("aes128-sha256-modp1024"),
            Some("MODP groups below 2048 bits are breakable")
        );
        assert!(legacy_reason("aes128-sha1-ecp256")
            .unwrap()
            .contains("SHA-1"));
        assert_eq!(legacy_reason("aes256gcm16-x25519"), None);
        assert_eq!(default_ike().len(), 2);
        // Known names that nothing here can run are refused, with the IANA
        // name, instead of failing after the peer agreed.
        let e = parse_ike_proposal("aes128gcm8-prfsha256-x25519").unwrap_err();
        assert!(e.contains("not supported"), "{e}");
        // ML-KEM runs: as the only key exchange, or as an alternative.
        assert!(parse_ike_proposal("aes256gcm16-prfsha256-mlkem768").is_ok());
        assert!(parse_ike_proposal("aes256gcm16-prfsha384-x25519-mlkem1024").is_ok());
        for esp in [
            "aes128ctr",
            "aes128gcm8",
            "aes192gcm16",
            "aes192-sha256",
            "aes128-aesxcbc",
        ] {
            let e = parse_esp_proposal(esp).unwrap_err();
            assert!(e.contains("for ESP"), "{esp}: {e}");
        }
        assert!(parse_esp_proposal("aes128gcm16-mlkem768").is_ok());
        // RFC 9370 additional key exchanges, strongSwan's `keN_` syntax.
        let h = parse_ike_proposal("aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_none").unwrap();
        assert_eq!(h.additional_ke, vec![(1, KeMethod::ML_KEM_768.0), (2, 0)]);
        let t = h.to_core().0.transforms;
        assert!(t.iter().any(|t| t.ty == 6 && t.id == 36));
        assert!(t.iter().any(|t| t.ty == 7 && t.id == 0));
        let gap = parse_ike_proposal("aes256gcm16-x25519-ke2_mlkem768").unwrap_err();
        assert!(gap.contains("without gaps"), "{gap}");
        assert!(parse_ike_proposal("aes256gcm16-x25519-ke8_mlkem768").is_err());
        let esp = parse_esp_proposal("aes256gcm16-x25519-ke1_mlkem768").unwrap_err();
        assert!(esp.contains("IKE_FOLLOWUP_KE"), "{esp}");
        // What IKE can run, ESP may not, and the other way round.
        assert!(parse_ike_proposal("aes128gcm8-prfsha256-x25519").is_err());
        assert!(parse_ike_proposal("aes192ctr-sha256-x25519").is_ok());
        assert_eq!(default_esp().len(), 2);
    }
}
