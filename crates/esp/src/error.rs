//! Errors of SA setup, encapsulation and decapsulation.
//!
//! Every dropped inbound packet has a [`DropReason`] (and a counter per
//! reason, see [`crate::InboundCounters`]), following RFC 4303 §3.4's list
//! of reasons to discard: replay (§3.4.3), integrity failure (§3.4.4),
//! and malformed packets. RFC 4303 §3.4.3/§3.4.4 call these "auditable
//! events"; they are counted, never logged per packet.

use yadokari_wire::esp::HeaderError;

/// Why an SA could not be set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SaError {
    /// The encryption/integrity combination is not allowed.
    #[error("unsupported suite: {0}")]
    UnsupportedSuite(&'static str),
    /// A key has the wrong length for the suite.
    #[error("{which} key is {got} bytes, the suite needs {expected}")]
    KeyLength {
        /// "encryption" or "integrity".
        which: &'static str,
        /// Bytes the suite needs.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// The SPI is 0, which RFC 4303 §2.1 reserves.
    #[error("SPI 0 is reserved")]
    ZeroSpi,
    /// The replay window size is outside 64..=MAX_REPLAY_WINDOW.
    #[error("replay window {0} is outside 64..={max}", max = crate::replay::MAX_WINDOW)]
    ReplayWindow(u32),
    /// The crypto library refused the key or could not produce randomness.
    #[error("crypto library failure: {0}")]
    Crypto(&'static str),
}

/// Why an outbound packet could not be encapsulated. None of these is the
/// peer's fault; the packet is dropped and counted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncapError {
    /// Not enough room in front of the payload for the ESP header and IV.
    #[error("need {needed} bytes of headroom, have {available}")]
    Headroom {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// Not enough room after the payload for padding, trailer and ICV.
    #[error("need {needed} bytes of tailroom, have {available}")]
    Tailroom {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The payload range lies outside the buffer.
    #[error("payload range {start}..{end} outside a buffer of {len} bytes")]
    BadRange {
        /// Start of the range.
        start: usize,
        /// End of the range.
        end: usize,
        /// Buffer length.
        len: usize,
    },
    /// A tunnel-mode SA carries only IPv4 (4), IPv6 (41) or dummy (59)
    /// packets (RFC 4303 §2.6).
    #[error("next header {0} is not allowed in tunnel mode")]
    NextHeader(u8),
    /// RFC 4303 §3.3.3: the counter "MUST NOT be allowed to cycle"; the SA
    /// has sent its last sequence number and must be replaced.
    #[error("sequence numbers exhausted; the SA must be rekeyed")]
    SequenceExhausted,
    /// The crypto library failed (should not happen with valid keys).
    #[error("crypto library failure")]
    Crypto,
}

/// Why an inbound packet was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecapError {
    /// Too short, ciphertext not a multiple of the block size, … — found
    /// before any cryptography.
    #[error("malformed ESP packet: {0}")]
    Malformed(HeaderError),
    /// The SPI is not this SA's (the caller dispatched it wrongly).
    #[error("SPI {found:#010x} is not this SA's {expected:#010x}")]
    SpiMismatch {
        /// This SA's SPI.
        expected: u32,
        /// The packet's SPI.
        found: u32,
    },
    /// The sequence number was already received (RFC 4303 §3.4.3).
    #[error("sequence number {seq} replayed")]
    Replayed {
        /// The (ESN-expanded) sequence number.
        seq: u64,
    },
    /// The sequence number lies left of the replay window, or is 0.
    #[error("sequence number {seq} left of the replay window")]
    TooOld {
        /// The (ESN-expanded) sequence number.
        seq: u64,
    },
    /// The ICV did not verify (RFC 4303 §3.4.4): forged, corrupted, or
    /// (with ESN) its high-order bits were inferred wrongly.
    #[error("integrity check failed for sequence number {seq}")]
    Integrity {
        /// The (ESN-expanded) sequence number tried.
        seq: u64,
    },
    /// The packet authenticated but its decrypted trailer is invalid
    /// (Pad Length beyond the payload, non-default padding bytes).
    #[error("bad ESP trailer: {0}")]
    BadTrailer(HeaderError),
    /// The Next Header is not allowed for this SA's mode.
    #[error("next header {0} not allowed in tunnel mode")]
    NextHeader(u8),
    /// In tunnel mode the inner IP header is missing, or its length field
    /// disagrees with the payload.
    #[error("inner packet: {0}")]
    InnerPacket(&'static str),
}

/// The reason behind a dropped inbound packet, for counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum DropReason {
    /// [`DecapError::Malformed`].
    Malformed,
    /// [`DecapError::SpiMismatch`].
    SpiMismatch,
    /// [`DecapError::Replayed`].
    Replayed,
    /// [`DecapError::TooOld`].
    TooOld,
    /// [`DecapError::Integrity`].
    Integrity,
    /// [`DecapError::BadTrailer`].
    BadTrailer,
    /// [`DecapError::NextHeader`].
    NextHeader,
    /// [`DecapError::InnerPacket`].
    InnerPacket,
}

impl DropReason {
    /// Number of reasons (length of the counter array).
    pub const COUNT: usize = 8;
    /// All reasons, in counter-array order.
    pub const ALL: [DropReason; Self::COUNT] = [
        Self::Malformed,
        Self::SpiMismatch,
        Self::Replayed,
        Self::TooOld,
        Self::Integrity,
        Self::BadTrailer,
        Self::NextHeader,
        Self::InnerPacket,
    ];

    /// A stable snake-case name, for metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::SpiMismatch => "spi_mismatch",
            Self::Replayed => "replayed",
            Self::TooOld => "too_old",
            Self::Integrity => "integrity",
            Self::BadTrailer => "bad_trailer",
            Self::NextHeader => "next_header",
            Self::InnerPacket => "inner_packet",
        }
    }
}

impl DecapError {
    /// The counter this drop is accounted under.
    pub const fn reason(&self) -> DropReason {
        match self {
            Self::Malformed(_) => DropReason::Malformed,
            Self::SpiMismatch { .. } => DropReason::SpiMismatch,
            Self::Replayed { .. } => DropReason::Replayed,
            Self::TooOld { .. } => DropReason::TooOld,
            Self::Integrity { .. } => DropReason::Integrity,
            Self::BadTrailer(_) => DropReason::BadTrailer,
            Self::NextHeader(_) => DropReason::NextHeader,
            Self::InnerPacket(_) => DropReason::InnerPacket,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_index_their_array_slot() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
