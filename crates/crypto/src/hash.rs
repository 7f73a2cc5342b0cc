//! Plain hashes the IKE core needs outside the negotiated transforms: SHA-1
//! for NAT detection (RFC 7296 §2.23) and CERTREQ/hash-and-URL key
//! identifiers (§3.7, §3.6), SHA-256 for stateless cookies (§2.6). Inputs
//! are parts, hashed as their concatenation, so callers build no buffers.

use aws_lc_rs::digest;

fn hash<const N: usize>(alg: &'static digest::Algorithm, parts: &[&[u8]]) -> [u8; N] {
    let mut ctx = digest::Context::new(alg);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; N];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// SHA-1 of the concatenation of `parts`.
#[must_use]
pub fn sha1(parts: &[&[u8]]) -> [u8; 20] {
    hash(&digest::SHA1_FOR_LEGACY_USE_ONLY, parts)
}

/// SHA-256 of the concatenation of `parts`.
#[must_use]
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    hash(&digest::SHA256, parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FIPS 180 "abc" examples, split across parts.
    #[test]
    fn known_answers() {
        assert_eq!(
            hex::encode(sha1(&[b"a", b"bc"])),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex::encode(sha256(&[b"ab", b"", b"c"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
