//! IKE identities as written in the configuration (RFC 7296 §3.5).
//!
//! The form of the text picks the ID type, as in strongSwan, with explicit
//! prefixes for the ambiguous cases: `192.0.2.1` (ID_IPV4_ADDR), `2001:db8::1`
//! (ID_IPV6_ADDR), `user@example.org` (ID_RFC822_ADDR), `vpn.example.org` or
//! `fqdn:name` (ID_FQDN), `dn:CN=vpn, O=Example` (ID_DER_ASN1_DN),
//! `keyid:0a1b2c` (ID_KEY_ID, hex).

use std::net::IpAddr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Ip(IpAddr),
    Fqdn(String),
    Rfc822(String),
    /// A distinguished name in its RFC 4514 text form; the IKE layer encodes it.
    DerAsn1Dn(String),
    KeyId(Vec<u8>),
}

pub fn parse_identity(text: &str) -> Result<Identity, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an identity may not be empty".into());
    }
    if let Some(dn) = text.strip_prefix("dn:") {
        if !dn.contains('=') {
            return Err(format!(
                "`{dn}` is not a distinguished name (expected e.g. `CN=vpn, O=Example`)"
            ));
        }
        return Ok(Identity::DerAsn1Dn(dn.trim().to_owned()));
    }
    if let Some(hex) = text.strip_prefix("keyid:") {
        return decode_hex(hex)
            .filter(|b| !b.is_empty())
            .map(Identity::KeyId)
            .ok_or_else(|| format!("`{hex}` is not an even number of hex digits"));
    }
    if let Some(name) = text.strip_prefix("fqdn:") {
        return Ok(Identity::Fqdn(name.to_owned()));
    }
    if let Ok(ip) = text.parse() {
        return Ok(Identity::Ip(ip));
    }
    if let Some((user, domain)) = text.split_once('@') {
        if user.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(format!("`{text}` is not an e-mail style identity"));
        }
        return Ok(Identity::Rfc822(text.to_owned()));
    }
    if text.contains('=') {
        return Err(format!(
            "`{text}` looks like a distinguished name; write it as `dn:{text}`"
        ));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(format!(
            "`{text}` contains spaces; use `dn:` or `keyid:` for such identities"
        ));
    }
    Ok(Identity::Fqdn(text.to_owned()))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_picks_type() {
        assert_eq!(
            parse_identity("192.0.2.1").unwrap(),
            Identity::Ip("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_identity("left.example.org").unwrap(),
            Identity::Fqdn("left.example.org".into())
        );
        assert_eq!(
            parse_identity("a@example.org").unwrap(),
            Identity::Rfc822("a@example.org".into())
        );
        assert_eq!(
            parse_identity("dn:CN=x, O=y").unwrap(),
            Identity::DerAsn1Dn("CN=x, O=y".into())
        );
        assert_eq!(
            parse_identity("keyid:0a0B").unwrap(),
            Identity::KeyId(vec![0x0a, 0x0b])
        );
        assert!(parse_identity("CN=x").unwrap_err().contains("dn:CN=x"));
        assert!(parse_identity("keyid:abc").is_err());
        assert!(parse_identity("").is_err());
    }
}
