//! The one error type of this crate.
//!
//! Variants say who is at fault: a peer-supplied value that fails a check
//! (`InvalidPeerPublicValue`, `IntegrityCheckFailed`, `SkMalformed`,
//! `AuthenticationFailed`), a transform we do not implement
//! (`Unsupported*`), or a caller bug (`InvalidKeyLength`, `BufferTooSmall`,
//! `OutputTooLong`). None of them carries secret material.

use crate::ids::KeGroup;

/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A transform ID of the given type that this crate does not implement.
    #[error("unsupported {transform} transform ID {id}")]
    UnsupportedTransform {
        /// "ENCR", "PRF", "INTEG", "KE" (IANA transform type names).
        transform: &'static str,
        /// The IANA transform ID.
        id: u16,
    },
    /// The encryption transform exists but not with this Key Length attribute.
    #[error("unsupported key length {key_bits} bits for ENCR transform {id}")]
    UnsupportedKeyLength {
        /// The IANA ENCR transform ID.
        id: u16,
        /// The Key Length attribute, in bits (0 when absent but required).
        key_bits: u16,
    },
    /// A KE group this build does not implement (e.g. Curve448 without the
    /// `x448` feature).
    #[error("unsupported key exchange group {0}")]
    UnsupportedGroup(u16),
    /// A key of the wrong length was handed in by our caller.
    #[error("{what}: key length {got}, expected {expected}")]
    InvalidKeyLength {
        /// Which key.
        what: &'static str,
        /// Expected length in bytes.
        expected: usize,
        /// Length given.
        got: usize,
    },
    /// The combination of transforms cannot work (an AEAD with an integrity
    /// transform, a plain cipher without one).
    #[error("invalid transform combination: {0}")]
    InvalidSuite(&'static str),
    /// The peer's KE public value failed validation (RFC 6989, RFC 5903 §7,
    /// RFC 8031 §2).
    #[error("invalid peer public value for group {group:?}: {reason}")]
    InvalidPeerPublicValue {
        /// The group.
        group: KeGroup,
        /// What was wrong.
        reason: &'static str,
    },
    /// prf+ was asked for more than 255 blocks (RFC 7296 §2.13).
    #[error("prf+ output of {requested} bytes exceeds the maximum {max}")]
    OutputTooLong {
        /// Bytes requested.
        requested: usize,
        /// Maximum for this PRF.
        max: usize,
    },
    /// The SK/SKF payload body is malformed (before or after decryption).
    #[error("SK payload {field} at byte {offset}: {reason}")]
    SkMalformed {
        /// The part of the Encrypted payload at fault ("iv", "ciphertext", "icv", "pad_length").
        field: &'static str,
        /// Offset in the message buffer.
        offset: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The ICV or AEAD tag did not verify. RFC 7296 §2.21.1: drop silently.
    #[error("integrity check failed")]
    IntegrityCheckFailed,
    /// The AUTH payload did not verify (RFC 7296 §2.15).
    #[error("AUTH payload did not verify")]
    AuthenticationFailed,
    /// The caller's buffer cannot hold the output.
    #[error("{what}: buffer of {have} bytes, need {need}")]
    BufferTooSmall {
        /// Which buffer.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A counter-based IV space is exhausted; rekey the SA.
    #[error("IV counter exhausted")]
    IvExhausted,
    /// The random source failed.
    #[error("random number generator failed")]
    Rng,
    /// The crypto library reported an error that our checks should have
    /// ruled out.
    #[error("internal crypto error: {0}")]
    Internal(&'static str),
}

/// Shorthand for this crate's results.
pub type Result<T, E = CryptoError> = core::result::Result<T, E>;
