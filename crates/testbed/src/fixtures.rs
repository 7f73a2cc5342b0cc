//! Access to the committed capture fixtures (`tests/fixtures/pcap/`) and a
//! reader for their `NAME.sk.txt` files: the secrets strongSwan logged for
//! every IKE SA (RFC 7296 §2.14, §2.18) and CHILD SA (§2.17) of a capture,
//! usable as known answers.
//!
//! Format (see `tests/fixtures/README.md`): `#` comments, blocks opened by
//! `[ike N]` or `[child N]`, then `key = value` lines; hex values are
//! lowercase and may be empty.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};

/// `tests/fixtures/pcap/` of the workspace.
#[must_use]
pub fn pcap_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pcap")
}

/// One `[ike N]` or `[child N]` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkBlock {
    /// `ike` or `child`.
    pub kind: String,
    /// N (1-based, in derivation order).
    pub index: u32,
    /// `key = value` pairs in file order.
    pub fields: Vec<(String, String)>,
}

impl SkBlock {
    /// The value of `key`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` decoded from hex (empty value → empty vector).
    pub fn hex(&self, key: &str) -> Result<Vec<u8>> {
        let v = self
            .get(key)
            .ok_or_else(|| anyhow!("[{} {}] has no {key}", self.kind, self.index))?;
        if v.len() % 2 != 0 {
            bail!(
                "[{} {}] {key}: odd number of hex digits",
                self.kind,
                self.index
            );
        }
        (0..v.len())
            .step_by(2)
            .map(|i| {
                v.get(i..i + 2)
                    .and_then(|b| u8::from_str_radix(b, 16).ok())
                    .ok_or_else(|| anyhow!("[{} {}] {key}: bad hex at {i}", self.kind, self.index))
            })
            .collect()
    }
}

/// Parses a `NAME.sk.txt`.
pub fn parse_sk_txt(text: &str) -> Result<Vec<SkBlock>> {
    let mut blocks: Vec<SkBlock> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (kind, index) = head
                .split_once(' ')
                .ok_or_else(|| anyhow!("line {}: block header without index", n + 1))?;
            let index = index
                .parse()
                .map_err(|_| anyhow!("line {}: bad block index {index:?}", n + 1))?;
            blocks.push(SkBlock {
                kind: kind.to_owned(),
                index,
                fields: Vec::new(),
            });
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| anyhow!("line {}: expected key = value", n + 1))?;
        let block = blocks
            .last_mut()
            .ok_or_else(|| anyhow!("line {}: field before the first block", n + 1))?;
        block
            .fields
            .push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_blocks() {
        let b = parse_sk_txt("# c\n\n[ike 1]\nspi_i = 0a0b\nsk_ai = \n[child 1]\nname = site4\n")
            .unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].hex("spi_i").unwrap(), vec![10, 11]);
        assert_eq!(b[0].hex("sk_ai").unwrap(), Vec::<u8>::new());
        assert_eq!(b[1].get("name"), Some("site4"));
        assert!(b[0].hex("missing").is_err());
        assert!(parse_sk_txt("x = 1\n").is_err());
        assert!(parse_sk_txt("[ike]\n").is_err());
        assert!(parse_sk_txt("[ike 1]\nnoequals\n").is_err());
    }
}
