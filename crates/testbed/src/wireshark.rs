//! Wireshark/tshark user tables (UAT) that let tshark decrypt IKEv2
//! (RFC 7296 §3.14 Encrypted payload, RFC 7383 fragments) and ESP
//! (RFC 4303, in UDP per RFC 3948) from keys charon logged.
//!
//! Formats accepted by tshark 4.0 (point `WIRESHARK_CONFIG_DIR` at the
//! directory holding the files; no profile needed):
//!
//! - `ikev2_decryption_table`, one IKE SA per line:
//!   `SPIi,SPIr,SK_ei,SK_er,"ENCR",SK_ai,SK_ar,"INTEG"` with SPIs and keys as
//!   bare lowercase hex (quoted hex is rejected) and the algorithm names
//!   spelled as in Wireshark's menus; AEAD rows use `"NONE [RFC4306]"` and
//!   empty SK_a*.
//! - `esp_sa`, one direction per line:
//!   `"IPv4","*","*","0xSPI","ENCR","0xKEY","AUTH","0xKEY"`; the first field
//!   must be `IPv4` or `IPv6`; GCM keys include the 4-byte salt.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use crate::charon_log::{ChildSaKeys, IkeSaKeys, LogKeys};
use crate::topology::Family;

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Splits a charon algorithm token such as `AES_GCM_16_256` into the
/// algorithm and key size (`("AES_GCM_16", Some(256))`).
fn alg_and_size(tok: &str) -> (&str, Option<u32>) {
    match tok.rsplit_once('_') {
        Some((alg, size)) if size.parse::<u32>().is_ok() && alg.starts_with("AES") => {
            (alg, size.parse().ok())
        }
        _ => (tok, None),
    }
}

/// Wireshark's name for an IKEv2 encryption transform, from charon's
/// proposal string (`AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519`).
#[must_use]
pub fn ike_encr_name(proposal: &str) -> Option<String> {
    let tok = proposal.split('/').next()?;
    let (alg, size) = alg_and_size(tok);
    let size = size?;
    Some(match alg {
        "AES_CBC" => format!("AES-CBC-{size} [RFC3602]"),
        "AES_CTR" => format!("AES-CTR-{size} [RFC5930]"),
        "AES_GCM_16" => format!("AES-GCM-{size} with 16 octet ICV [RFC5282]"),
        "AES_GCM_12" => format!("AES-GCM-{size} with 12 octet ICV [RFC5282]"),
        "AES_GCM_8" => format!("AES-GCM-{size} with 8 octet ICV [RFC5282]"),
        _ => return None,
    })
}

/// Wireshark's name for an IKEv2 integrity transform (`NONE` for AEAD).
#[must_use]
pub fn ike_integ_name(proposal: &str) -> String {
    for tok in proposal.split('/') {
        let name = match tok {
            "HMAC_SHA1_96" => "HMAC_SHA1_96 [RFC2404]",
            "HMAC_SHA2_256_128" => "HMAC_SHA2_256_128 [RFC4868]",
            "HMAC_SHA2_384_192" => "HMAC_SHA2_384_192 [RFC4868]",
            "HMAC_SHA2_512_256" => "HMAC_SHA2_512_256 [RFC4868]",
            _ => continue,
        };
        return name.to_owned();
    }
    "NONE [RFC4306]".to_owned()
}

/// Wireshark's name for an ESP encryption algorithm.
#[must_use]
pub fn esp_encr_name(proposal: &str) -> Option<&'static str> {
    let tok = proposal.split('/').next()?;
    Some(match alg_and_size(tok).0 {
        "AES_CBC" => "AES-CBC [RFC3602]",
        "AES_CTR" => "AES-CTR [RFC3686]",
        "AES_GCM_16" => "AES-GCM with 16 octet ICV [RFC4106]",
        "AES_GCM_12" => "AES-GCM with 12 octet ICV [RFC4106]",
        "AES_GCM_8" => "AES-GCM with 8 octet ICV [RFC4106]",
        "CHACHA20_POLY1305" => "ChaCha20/Poly1305",
        _ => return None,
    })
}

/// Wireshark's name for an ESP authentication algorithm (`NULL` for AEAD).
#[must_use]
pub fn esp_auth_name(proposal: &str) -> &'static str {
    for tok in proposal.split('/') {
        return match tok {
            "HMAC_SHA1_96" => "HMAC-SHA-1-96 [RFC2404]",
            "HMAC_SHA2_256_128" => "HMAC-SHA-256-128 [RFC4868]",
            "HMAC_SHA2_384_192" => "HMAC-SHA-384-192 [RFC4868]",
            "HMAC_SHA2_512_256" => "HMAC-SHA-512-256 [RFC4868]",
            _ => continue,
        };
    }
    "NULL"
}

/// One `ikev2_decryption_table` row, or None when SPIs or the proposal
/// are unknown.
#[must_use]
pub fn ike_row(k: &IkeSaKeys) -> Option<String> {
    let proposal = k.proposal.as_deref()?;
    Some(format!(
        "{:016x},{:016x},{},{},\"{}\",{},{},\"{}\"",
        k.spi_i?,
        k.spi_r?,
        hex(&k.sk_ei),
        hex(&k.sk_er),
        ike_encr_name(proposal)?,
        hex(&k.sk_ai),
        hex(&k.sk_ar),
        ike_integ_name(proposal)
    ))
}

/// The two `esp_sa` rows (outbound, inbound) of a CHILD SA.
#[must_use]
pub fn esp_rows(c: &ChildSaKeys, family: Family) -> Vec<String> {
    let fam = match family {
        Family::V4 => "IPv4",
        Family::V6 => "IPv6",
    };
    let Some(proposal) = c.proposal.as_deref() else {
        return Vec::new();
    };
    let Some(encr) = esp_encr_name(proposal) else {
        return Vec::new();
    };
    let auth = esp_auth_name(proposal);
    let mut rows = Vec::new();
    for (spi, keys) in [(c.spi_out, c.outbound_keys()), (c.spi_in, c.inbound_keys())] {
        if let (Some(spi), Some((ek, ak))) = (spi, keys) {
            rows.push(format!(
                "\"{fam}\",\"*\",\"*\",\"0x{spi:08x}\",\"{encr}\",\"0x{}\",\"{auth}\",\"0x{}\"",
                hex(ek),
                hex(ak)
            ));
        }
    }
    rows
}

/// The whole `ikev2_decryption_table` for the SAs in `keys` (one row per
/// IKE SA with known SPIs; duplicates removed).
#[must_use]
pub fn ikev2_decryption_table(keys: &LogKeys) -> String {
    let mut out = String::new();
    for row in keys.ike_sas.iter().filter_map(ike_row) {
        if !out.lines().any(|l| l == row) {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

/// The whole `esp_sa` table for the CHILD SAs in `keys`.
#[must_use]
pub fn esp_sa_table(keys: &LogKeys, family: Family) -> String {
    let mut out = String::new();
    for row in keys.child_sas.iter().flat_map(|c| esp_rows(c, family)) {
        if !out.lines().any(|l| l == row) {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out
}

/// Writes `ikev2_decryption_table` and `esp_sa` into `dir` (created if
/// missing). Use with `WIRESHARK_CONFIG_DIR=dir tshark -o
/// esp.enable_encryption_decode:TRUE ...`.
pub fn write_tables(dir: &Path, keys: &LogKeys, family: Family) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("ikev2_decryption_table"),
        ikev2_decryption_table(keys),
    )?;
    std::fs::write(dir.join("esp_sa"), esp_sa_table(keys, family))?;
    Ok(())
}

/// Lowercase hex of `b` (helper for callers writing their own tables).
#[must_use]
pub fn to_hex(b: &[u8]) -> String {
    hex(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            ike_encr_name("AES_GCM_16_256/PRF_HMAC_SHA2_256/CURVE_25519").as_deref(),
            Some("AES-GCM-256 with 16 octet ICV [RFC5282]")
        );
        assert_eq!(
            ike_encr_name("AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048").as_deref(),
            Some("AES-CBC-256 [RFC3602]")
        );
        assert_eq!(
            ike_integ_name("AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048"),
            "HMAC_SHA2_256_128 [RFC4868]"
        );
        assert_eq!(
            ike_integ_name("AES_GCM_16_256/PRF_HMAC_SHA2_256"),
            "NONE [RFC4306]"
        );
        assert_eq!(esp_auth_name("AES_GCM_16_256/NO_EXT_SEQ"), "NULL");
        assert_eq!(
            esp_encr_name("AES_GCM_16_256/NO_EXT_SEQ"),
            Some("AES-GCM with 16 octet ICV [RFC4106]")
        );
    }

    #[test]
    fn rows() {
        let k = IkeSaKeys {
            spi_i: Some(0x0102_0304_0506_0708),
            spi_r: Some(0xa),
            proposal: Some("AES_GCM_16_128/PRF_HMAC_SHA2_256/CURVE_25519".into()),
            sk_ei: vec![0xab, 0xcd],
            sk_er: vec![0xef],
            ..IkeSaKeys::default()
        };
        assert_eq!(
            ike_row(&k).unwrap(),
            "0102030405060708,000000000000000a,abcd,ef,\"AES-GCM-128 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\""
        );
        let c = ChildSaKeys {
            initiator: Some(false),
            proposal: Some("AES_GCM_16_256/NO_EXT_SEQ".into()),
            encr_i: vec![1],
            encr_r: vec![2],
            spi_in: Some(0x11),
            spi_out: Some(0x22),
            ..ChildSaKeys::default()
        };
        assert_eq!(
            esp_rows(&c, Family::V6),
            vec![
                "\"IPv6\",\"*\",\"*\",\"0x00000022\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x02\",\"NULL\",\"0x\"",
                "\"IPv6\",\"*\",\"*\",\"0x00000011\",\"AES-GCM with 16 octet ICV [RFC4106]\",\"0x01\",\"NULL\",\"0x\""
            ]
        );
    }
}
