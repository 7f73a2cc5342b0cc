//! Algorithm proposals in strongSwan's familiar syntax, e.g.
//! `aes256gcm16-prfsha256-x25519` for IKE or `aes128-sha256-modp2048` for
//! ESP, so that a configuration can be carried over from strongSwan as is.
//!
//! The numbers are the IANA "IKEv2 Transform Type" registries (RFC 7296
//! §3.3.2). Algorithms that are no longer safe (MODP groups below 2048 bits,
//! SHA-1 integrity and PRF, NULL encryption) parse, but are reported as
//! unsafe unless the configuration opts in with `allow_legacy = true`.

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

pub const ENCR_NULL: u16 = 11;
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

pub const AUTH_HMAC_SHA1_96: u16 = 2;
pub const AUTH_AES_XCBC_96: u16 = 5;
pub const AUTH_AES_CMAC_96: u16 = 8;
pub const AUTH_HMAC_SHA2_256_128: u16 = 12;
pub const AUTH_HMAC_SHA2_384_192: u16 = 13;
pub const AUTH_HMAC_SHA2_512_256: u16 = 14;

enum Token {
    Encr(Encr),
    Integ(u16),
    Prf(u16),
    Ke(u16),
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
        "modp768" => Some(Token::Ke(1)),
        "modp1024" => Some(Token::Ke(2)),
        "modp1536" => Some(Token::Ke(5)),
        "modp2048" => Some(Token::Ke(14)),
        "modp3072" => Some(Token::Ke(15)),
        "modp4096" => Some(Token::Ke(16)),
        "modp6144" => Some(Token::Ke(17)),
        "modp8192" => Some(Token::Ke(18)),
        "ecp256" => Some(Token::Ke(19)),
        "ecp384" => Some(Token::Ke(20)),
        "ecp521" => Some(Token::Ke(21)),
        "x25519" | "curve25519" => Some(Token::Ke(31)),
        "x448" | "curve448" => Some(Token::Ke(32)),
        "mlkem512" => Some(Token::Ke(35)),
        "mlkem768" => Some(Token::Ke(36)),
        "mlkem1024" => Some(Token::Ke(37)),
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
    esn: Vec<bool>,
}

fn split(text: &str) -> Result<Parts, String> {
    let mut p = Parts {
        encryption: vec![],
        integrity: vec![],
        prf: vec![],
        ke: vec![],
        esn: vec![],
    };
    let lower = text.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return Err("an empty proposal".into());
    }
    for tok in lower.split('-') {
        match token(tok) {
            Some(Token::Encr(e)) => p.encryption.push(e),
            Some(Token::Integ(i)) => p.integrity.push(i),
            Some(Token::Prf(i)) => p.prf.push(i),
            Some(Token::Ke(i)) => p.ke.push(i),
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
    let mut p = split(text)?;
    if !p.esn.is_empty() {
        return Err(format!("`{text}`: esn/noesn apply to ESP, not IKE"));
    }
    if p.ke.is_empty() {
        return Err(format!("`{text}` needs a key-exchange group (e.g. x25519)"));
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
    })
}

pub fn parse_esp_proposal(text: &str) -> Result<EspProposal, String> {
    let p = split(text)?;
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
        assert_eq!(default_esp().len(), 2);
    }
}
