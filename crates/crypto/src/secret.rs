//! Containers for secret bytes: wiped on drop, redacted in `Debug`, compared
//! in constant time.
//!
//! Keys, SKEYSEED, g^ir and PRF outputs all live in one of these two types,
//! so no `{:?}` in a log line can ever print key material (style guide §f).

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Heap-allocated secret bytes of any length (keys, SKEYSEED, g^ir).
#[derive(Clone, Default)]
pub struct SecretBytes(Box<[u8]>);

impl SecretBytes {
    /// Takes ownership of `bytes`; the vector's spare capacity (if any) is
    /// wiped before it is released.
    #[must_use]
    pub fn new(mut bytes: Vec<u8>) -> Self {
        if bytes.len() == bytes.capacity() {
            return Self(bytes.into_boxed_slice());
        }
        // `into_boxed_slice` would reallocate and leave a copy behind.
        let boxed: Box<[u8]> = bytes.as_slice().into();
        bytes.zeroize();
        Self(boxed)
    }

    /// Takes ownership of a boxed slice without copying.
    #[must_use]
    pub fn from_boxed(bytes: Box<[u8]>) -> Self {
        Self(bytes)
    }

    /// Copies `bytes`.
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    /// A zero-filled secret of `len` bytes, to be filled in place.
    #[must_use]
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0; len].into_boxed_slice())
    }

    /// The secret bytes. The name makes every use greppable.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, mutably.
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes (not secret).
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty (e.g. SK_ai under an AEAD).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality (lengths are not secret).
    #[must_use]
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        bool::from(self.0.as_ref().ct_eq(other))
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl ZeroizeOnDrop for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, redacted)", self.0.len())
    }
}

/// Largest PRF output: HMAC-SHA2-512.
pub const MAX_PRF_OUTPUT_LEN: usize = 64;

/// One PRF output block, on the stack (no allocation on the AUTH and prf+
/// paths). Wiped on drop, redacted in `Debug`.
#[derive(Clone)]
pub struct PrfOutput {
    buf: [u8; MAX_PRF_OUTPUT_LEN],
    len: usize,
}

impl PrfOutput {
    pub(crate) fn new(len: usize) -> Self {
        debug_assert!(len <= MAX_PRF_OUTPUT_LEN);
        Self {
            buf: [0; MAX_PRF_OUTPUT_LEN],
            len: len.min(MAX_PRF_OUTPUT_LEN),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_slice(bytes: &[u8]) -> Self {
        let mut out = Self::new(bytes.len());
        let n = out.len;
        out.buf[..n].copy_from_slice(&bytes[..n]);
        out
    }

    pub(crate) fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf[..self.len]
    }

    /// The output bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Output length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always false for a real PRF; here for clippy's `len_without_is_empty`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Constant-time comparison with a received value (e.g. AUTH data).
    /// Different lengths compare unequal.
    #[must_use]
    pub fn ct_eq(&self, other: &[u8]) -> bool {
        bool::from(self.expose().ct_eq(other))
    }

    /// Copies the output into a heap secret.
    #[must_use]
    pub fn to_secret(&self) -> SecretBytes {
        SecretBytes::from_slice(self.expose())
    }
}

impl Drop for PrfOutput {
    fn drop(&mut self) {
        self.buf.zeroize();
    }
}

impl ZeroizeOnDrop for PrfOutput {}

impl fmt::Debug for PrfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrfOutput({} bytes, redacted)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::from_slice(b"\x41\x42\x43");
        let p = PrfOutput::from_slice(b"\x41\x42\x43");
        assert_eq!(format!("{s:?}"), "SecretBytes(3 bytes, redacted)");
        assert_eq!(format!("{p:?}"), "PrfOutput(3 bytes, redacted)");
    }

    #[test]
    fn ct_eq_respects_length() {
        let s = SecretBytes::from_slice(&[1, 2, 3]);
        assert!(s.ct_eq(&[1, 2, 3]));
        assert!(!s.ct_eq(&[1, 2]));
        assert!(!s.ct_eq(&[1, 2, 4]));
        let p = PrfOutput::from_slice(&[9; 20]);
        assert!(p.ct_eq(&[9; 20]));
        assert!(!p.ct_eq(&[9; 12]));
    }

    #[test]
    fn new_keeps_content_with_spare_capacity() {
        let mut v = Vec::with_capacity(64);
        v.extend_from_slice(&[7; 10]);
        let s = SecretBytes::new(v);
        assert_eq!(s.expose(), &[7; 10]);
    }
}
