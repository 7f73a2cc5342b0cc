//! IKE SA key tables in Wireshark's `ikev2_decryption_table` format, as
//! strongSwan's save-keys plugin writes them:
//!
//! ```text
//! SPIi,SPIr,SK_ei,SK_er,"<encr alg name>",SK_ai,SK_ar,"<integ alg name>"
//! ```
//!
//! SPIs and keys are bare hex (Wireshark's own UAT writer quotes every
//! field; both forms are accepted). Lines starting with `#` and blank lines
//! are ignored. Algorithm names are Wireshark's spellings; for AEAD and CTR
//! ciphers SK_e includes the salt (RFC 5282 §7.1, RFC 5930 §3, RFC 7634 §4).

use std::fmt;

use zeroize::Zeroizing;

/// An SK payload cipher named in a key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncrAlg {
    Null,
    TripleDes,
    AesCbc { bits: u16 },
    AesCtr { bits: u16 },
    AesGcm { bits: u16, icv: u8 },
    AesCcm { bits: u16, icv: u8 },
    ChaCha20Poly1305,
}

impl EncrAlg {
    /// Key length in bytes, including the salt for AEAD and CTR modes.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            EncrAlg::Null => 0,
            EncrAlg::TripleDes => 24,
            EncrAlg::AesCbc { bits } => bits as usize / 8,
            EncrAlg::AesCtr { bits } | EncrAlg::AesGcm { bits, .. } => bits as usize / 8 + 4,
            EncrAlg::AesCcm { bits, .. } => bits as usize / 8 + 3,
            EncrAlg::ChaCha20Poly1305 => 36,
        }
    }

    #[must_use]
    pub const fn is_aead(self) -> bool {
        matches!(
            self,
            EncrAlg::AesGcm { .. } | EncrAlg::AesCcm { .. } | EncrAlg::ChaCha20Poly1305
        )
    }
}

impl fmt::Display for EncrAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncrAlg::Null => f.write_str("NULL [RFC2410]"),
            EncrAlg::TripleDes => f.write_str("3DES [RFC2451]"),
            EncrAlg::AesCbc { bits } => write!(f, "AES-CBC-{bits} [RFC3602]"),
            EncrAlg::AesCtr { bits } => write!(f, "AES-CTR-{bits} [RFC5930]"),
            EncrAlg::AesGcm { bits, icv } => {
                write!(f, "AES-GCM-{bits} with {icv} octet ICV [RFC5282]")
            }
            EncrAlg::AesCcm { bits, icv } => {
                write!(f, "AES-CCM-{bits} with {icv} octet ICV [RFC5282]")
            }
            EncrAlg::ChaCha20Poly1305 => f.write_str("ChaCha20-Poly1305 [RFC7634]"),
        }
    }
}

/// An SK payload integrity algorithm named in a key table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegAlg {
    /// With AEAD ciphers.
    None,
    HmacMd5_96,
    HmacSha1_96,
    HmacMd5_128,
    HmacSha1_160,
    HmacSha256_96,
    HmacSha256_128,
    HmacSha384_192,
    HmacSha512_256,
    AesXcbc96,
    /// Wireshark's "ANY n-bits of Authentication [No Checking]": skip this
    /// many ICV bytes without checking them.
    Unchecked {
        bytes: u8,
    },
}

impl IntegAlg {
    /// Length of the ICV the SK payload carries, in bytes.
    #[must_use]
    pub const fn icv_len(self) -> usize {
        match self {
            IntegAlg::None => 0,
            IntegAlg::HmacMd5_96
            | IntegAlg::HmacSha1_96
            | IntegAlg::HmacSha256_96
            | IntegAlg::AesXcbc96 => 12,
            IntegAlg::HmacMd5_128 | IntegAlg::HmacSha256_128 => 16,
            IntegAlg::HmacSha1_160 => 20,
            IntegAlg::HmacSha384_192 => 24,
            IntegAlg::HmacSha512_256 => 32,
            IntegAlg::Unchecked { bytes } => bytes as usize,
        }
    }
}

impl fmt::Display for IntegAlg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntegAlg::None => f.write_str("NONE [RFC4306]"),
            IntegAlg::HmacMd5_96 => f.write_str("HMAC_MD5_96 [RFC2403]"),
            IntegAlg::HmacSha1_96 => f.write_str("HMAC_SHA1_96 [RFC2404]"),
            IntegAlg::HmacMd5_128 => f.write_str("HMAC_MD5_128 [RFC4595]"),
            IntegAlg::HmacSha1_160 => f.write_str("HMAC_SHA1_160 [RFC4595]"),
            IntegAlg::HmacSha256_96 => {
                f.write_str("HMAC_SHA2_256_96 [draft-ietf-ipsec-ciph-sha-256-00]")
            }
            IntegAlg::HmacSha256_128 => f.write_str("HMAC_SHA2_256_128 [RFC4868]"),
            IntegAlg::HmacSha384_192 => f.write_str("HMAC_SHA2_384_192 [RFC4868]"),
            IntegAlg::HmacSha512_256 => f.write_str("HMAC_SHA2_512_256 [RFC4868]"),
            IntegAlg::AesXcbc96 => f.write_str("AES-XCBC-96 [RFC3566]"),
            IntegAlg::Unchecked { bytes } => write!(
                f,
                "ANY {}-bits of Authentication [No Checking]",
                u16::from(*bytes) * 8
            ),
        }
    }
}

/// Reduces a name to lowercase alphanumerics, without a trailing
/// "[RFC…]" reference, so "AES-CBC-256 [RFC3602]", "aes_cbc_256" and
/// "AES-CBC-256" compare equal.
fn normalise(name: &str) -> String {
    let core = match name.find('[') {
        Some(i) => &name[..i],
        None => name,
    };
    core.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Parses an encryption algorithm name as Wireshark (and strongSwan's
/// save-keys) spell it; lenient about case, punctuation and the reference.
#[must_use]
pub fn parse_encr(name: &str) -> Option<EncrAlg> {
    let n = normalise(name);
    let bits_of = |s: &str| -> Option<u16> {
        match s {
            "128" => Some(128),
            "192" => Some(192),
            "256" => Some(256),
            _ => None,
        }
    };
    match n.as_str() {
        "null" | "encrnull" => return Some(EncrAlg::Null),
        "3des" | "3descbc" | "tripledes" | "tripledescbc" | "encr3des" => {
            return Some(EncrAlg::TripleDes)
        }
        "chacha20poly1305" | "chacha20withpoly1305" | "encrchacha20poly1305" => {
            return Some(EncrAlg::ChaCha20Poly1305)
        }
        _ => {}
    }
    // "aescbc256", "aesctr128", "aesgcm256with16octeticv", "aesccm128with8octeticv"
    let rest = n.strip_prefix("aes")?;
    let (mode, rest) = rest.split_at_checked(3)?;
    let bits = bits_of(rest.get(..3)?)?;
    let tail = &rest[3..];
    match mode {
        "cbc" if tail.is_empty() => Some(EncrAlg::AesCbc { bits }),
        "ctr" if tail.is_empty() => Some(EncrAlg::AesCtr { bits }),
        "gcm" | "ccm" => {
            let icv = match tail {
                "with8octeticv" | "8" | "icv8" => 8,
                "with12octeticv" | "12" | "icv12" => 12,
                "with16octeticv" | "16" | "icv16" => 16,
                _ => return None,
            };
            Some(if mode == "gcm" {
                EncrAlg::AesGcm { bits, icv }
            } else {
                EncrAlg::AesCcm { bits, icv }
            })
        }
        _ => None,
    }
}

/// Parses an integrity algorithm name as Wireshark spells it.
#[must_use]
pub fn parse_integ(name: &str) -> Option<IntegAlg> {
    let n = normalise(name);
    Some(match n.as_str() {
        "none" | "authnone" => IntegAlg::None,
        "hmacmd596" => IntegAlg::HmacMd5_96,
        "hmacsha196" => IntegAlg::HmacSha1_96,
        "hmacmd5128" => IntegAlg::HmacMd5_128,
        "hmacsha1160" => IntegAlg::HmacSha1_160,
        "hmacsha225696" => IntegAlg::HmacSha256_96,
        "hmacsha2256128" => IntegAlg::HmacSha256_128,
        "hmacsha2384192" => IntegAlg::HmacSha384_192,
        "hmacsha2512256" => IntegAlg::HmacSha512_256,
        "aesxcbc96" | "ansix919aesxcbc96" => IntegAlg::AesXcbc96,
        other => {
            // "any96bitsofauthenticationnochecking" (the bracket is gone)
            let bits = other
                .strip_prefix("any")?
                .strip_suffix("bitsofauthentication")?;
            let bits: u16 = bits.parse().ok()?;
            if bits % 8 != 0 || bits == 0 || bits > 512 {
                return None;
            }
            IntegAlg::Unchecked {
                bytes: u8::try_from(bits / 8).ok()?,
            }
        }
    })
}

/// The keys of one IKE SA. Key bytes are wiped when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct SaKeys {
    pub spi_i: u64,
    pub spi_r: u64,
    pub encr: EncrAlg,
    pub sk_ei: Zeroizing<Vec<u8>>,
    pub sk_er: Zeroizing<Vec<u8>>,
    pub integ: IntegAlg,
    pub sk_ai: Zeroizing<Vec<u8>>,
    pub sk_ar: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for SaKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print keys.
        f.debug_struct("SaKeys")
            .field("spi_i", &format_args!("{:016x}", self.spi_i))
            .field("spi_r", &format_args!("{:016x}", self.spi_r))
            .field("encr", &self.encr)
            .field("integ", &self.integ)
            .finish_non_exhaustive()
    }
}

/// Why a key table line was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysErrorKind {
    #[error("expected 8 comma-separated fields, found {0}")]
    FieldCount(usize),
    #[error("{field} is not hex")]
    NotHex { field: &'static str },
    #[error("{field} must be 8 bytes (16 hex digits)")]
    BadSpi { field: &'static str },
    #[error("unknown encryption algorithm {0:?}")]
    UnknownEncr(String),
    #[error("unknown integrity algorithm {0:?}")]
    UnknownInteg(String),
    #[error("{field} is {found} bytes, {alg} needs {needed}")]
    KeyLength {
        field: &'static str,
        found: usize,
        needed: usize,
        alg: String,
    },
}

/// A key table error with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct KeysError {
    pub line: usize,
    pub kind: KeysErrorKind,
}

/// Every IKE SA's keys from one table.
#[derive(Debug, Clone, Default)]
pub struct KeyTable {
    entries: Vec<SaKeys>,
}

impl KeyTable {
    /// Parses a whole table. One bad line fails the table: silently
    /// skipping it would hide why decryption did not happen.
    pub fn parse(text: &str) -> Result<Self, KeysError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let e = parse_line(line).map_err(|kind| KeysError { line: i + 1, kind })?;
            entries.push(e);
        }
        Ok(KeyTable { entries })
    }

    /// The keys for an IKE SA. A later line for the same SPIs wins, as the
    /// save-keys plugin appends.
    #[must_use]
    pub fn get(&self, spi_i: u64, spi_r: u64) -> Option<&SaKeys> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.spi_i == spi_i && e.spi_r == spi_r)
    }

    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

fn hex_field(s: &str, field: &'static str) -> Result<Zeroizing<Vec<u8>>, KeysErrorKind> {
    let s = unquote(s);
    let s = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(s)
        .map(Zeroizing::new)
        .map_err(|_| KeysErrorKind::NotHex { field })
}

fn spi_field(s: &str, field: &'static str) -> Result<u64, KeysErrorKind> {
    let b = hex_field(s, field)?;
    let a: [u8; 8] = b
        .as_slice()
        .try_into()
        .map_err(|_| KeysErrorKind::BadSpi { field })?;
    Ok(u64::from_be_bytes(a))
}

fn parse_line(line: &str) -> Result<SaKeys, KeysErrorKind> {
    let f: Vec<&str> = line.split(',').collect();
    if f.len() != 8 {
        return Err(KeysErrorKind::FieldCount(f.len()));
    }
    let encr_name = unquote(f[4]);
    let encr =
        parse_encr(encr_name).ok_or_else(|| KeysErrorKind::UnknownEncr(encr_name.to_owned()))?;
    let integ_name = unquote(f[7]);
    let integ = parse_integ(integ_name)
        .ok_or_else(|| KeysErrorKind::UnknownInteg(integ_name.to_owned()))?;
    let keys = SaKeys {
        spi_i: spi_field(f[0], "SPIi")?,
        spi_r: spi_field(f[1], "SPIr")?,
        encr,
        sk_ei: hex_field(f[2], "SK_ei")?,
        sk_er: hex_field(f[3], "SK_er")?,
        integ,
        sk_ai: hex_field(f[5], "SK_ai")?,
        sk_ar: hex_field(f[6], "SK_ar")?,
    };
    for (field, k) in [("SK_ei", &keys.sk_ei), ("SK_er", &keys.sk_er)] {
        if k.len() != encr.key_len() {
            return Err(KeysErrorKind::KeyLength {
                field,
                found: k.len(),
                needed: encr.key_len(),
                alg: encr.to_string(),
            });
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_save_keys_lines() {
        let t = KeyTable::parse(concat!(
            "# written by strongSwan\n",
            "\n",
            "0123456789abcdef,fedcba9876543210,",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223,",
            "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40414243,",
            "\"AES-GCM-256 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"\n",
            "\"1111111111111111\",\"2222222222222222\",\"000102030405060708090a0b0c0d0e0f\",",
            "\"000102030405060708090a0b0c0d0e0f\",\"AES-CBC-128 [RFC3602]\",\"aabb\",\"ccdd\",",
            "\"HMAC_SHA2_256_128 [RFC4868]\"\n",
        ))
        .unwrap();
        assert_eq!(t.len(), 2);
        let k = t.get(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210).unwrap();
        assert_eq!(k.encr, EncrAlg::AesGcm { bits: 256, icv: 16 });
        assert_eq!(k.integ, IntegAlg::None);
        assert_eq!(k.sk_ei.len(), 36);
        assert!(k.sk_ai.is_empty());
        let k = t.get(0x1111_1111_1111_1111, 0x2222_2222_2222_2222).unwrap();
        assert_eq!(k.encr, EncrAlg::AesCbc { bits: 128 });
        assert_eq!(k.integ, IntegAlg::HmacSha256_128);
        assert_eq!(*k.sk_ai, vec![0xaa, 0xbb]);
        assert!(t.get(1, 2).is_none());
        // Debug never shows key bytes.
        assert!(!format!("{k:?}").contains("0001020304"));
    }

    #[test]
    fn every_wireshark_spelling_round_trips() {
        let mut encrs = vec![EncrAlg::Null, EncrAlg::TripleDes, EncrAlg::ChaCha20Poly1305];
        for bits in [128, 192, 256] {
            encrs.push(EncrAlg::AesCbc { bits });
            encrs.push(EncrAlg::AesCtr { bits });
            for icv in [8, 12, 16] {
                encrs.push(EncrAlg::AesGcm { bits, icv });
                encrs.push(EncrAlg::AesCcm { bits, icv });
            }
        }
        for e in encrs {
            assert_eq!(parse_encr(&e.to_string()), Some(e), "{e}");
        }
        for i in [
            IntegAlg::None,
            IntegAlg::HmacMd5_96,
            IntegAlg::HmacSha1_96,
            IntegAlg::HmacMd5_128,
            IntegAlg::HmacSha1_160,
            IntegAlg::HmacSha256_96,
            IntegAlg::HmacSha256_128,
            IntegAlg::HmacSha384_192,
            IntegAlg::HmacSha512_256,
            IntegAlg::AesXcbc96,
            IntegAlg::Unchecked { bytes: 12 },
        ] {
            assert_eq!(parse_integ(&i.to_string()), Some(i), "{i}");
        }
        assert_eq!(
            parse_encr("ChaCha20 with Poly1305 [RFC7634]"),
            Some(EncrAlg::ChaCha20Poly1305)
        );
        assert_eq!(parse_encr("AES-CBC-512 [RFC3602]"), None);
        assert_eq!(parse_integ("HMAC_SHA3"), None);
    }

    #[test]
    fn errors_name_the_line() {
        let e = KeyTable::parse("# c\n1,2,3\n").unwrap_err();
        assert_eq!(
            e,
            KeysError {
                line: 2,
                kind: KeysErrorKind::FieldCount(3)
            }
        );
        let e = KeyTable::parse("0123456789abcdef,0000000000000000,zz,00,\"NULL\",,,\"NONE\"")
            .unwrap_err();
        assert_eq!(e.kind, KeysErrorKind::NotHex { field: "SK_ei" });
        let e = KeyTable::parse("0123,0000000000000000,,,\"NULL\",,,\"NONE\"").unwrap_err();
        assert_eq!(e.kind, KeysErrorKind::BadSpi { field: "SPIi" });
        let e = KeyTable::parse(
            "0123456789abcdef,0000000000000000,00,00,\"AES-CBC-128 [RFC3602]\",,,\"NONE\"",
        )
        .unwrap_err();
        assert!(matches!(
            e.kind,
            KeysErrorKind::KeyLength {
                needed: 16,
                found: 1,
                ..
            }
        ));
        let e = KeyTable::parse("0123456789abcdef,0000000000000000,,,\"ROT13\",,,\"NONE\"")
            .unwrap_err();
        assert_eq!(e.kind, KeysErrorKind::UnknownEncr("ROT13".into()));
    }
}
