//! The one error type of the IKEv2 codec: what failed (`context.field`),
//! where (byte offset from the start of the buffer handed to the parser),
//! and why (`WireErrorKind`).
//!
//! RFC 7296 §3.3 asks that "an implementation MUST check that the total
//! Payload Length is consistent with the payload's internal lengths and
//! counts"; every such check reports through this type, so a caller can log
//! the exact field and answer INVALID_SYNTAX (or UNSUPPORTED_CRITICAL_PAYLOAD,
//! which carries the payload type).

use core::fmt;

use crate::registry::PayloadType;

/// Which structure was being parsed or emitted when an error happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// The fixed 28-byte IKE header (RFC 7296 §3.1).
    Header,
    /// The 4-byte generic payload header (RFC 7296 §3.2) of a payload of this type.
    GenericHeader(PayloadType),
    /// The body of a payload of this type.
    Payload(PayloadType),
    /// A Proposal substructure inside an SA payload (§3.3.1).
    Proposal,
    /// A Transform substructure inside a Proposal (§3.3.2).
    Transform,
    /// A transform attribute (§3.3.5).
    TransformAttribute,
    /// One traffic selector inside a TS payload (§3.13.1).
    TrafficSelector,
    /// One configuration attribute inside a CP payload (§3.15.1).
    ConfigAttribute,
    /// The typed body of a Notify payload of this type (§3.10.1 and extensions).
    NotifyData(crate::registry::NotifyType),
    /// The payload chain as a whole (ordering, trailing bytes).
    Chain,
    /// The message as a whole (header length versus datagram length).
    Message,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Context::Header => f.write_str("Header"),
            Context::GenericHeader(pt) => match pt.label() {
                Some(l) => write!(f, "{l}(generic header)"),
                None => write!(f, "Payload({})(generic header)", pt.0),
            },
            Context::Payload(pt) => match pt.label() {
                Some(l) => f.write_str(l),
                None => write!(f, "Payload({})", pt.0),
            },
            Context::Proposal => f.write_str("SA.Proposal"),
            Context::Transform => f.write_str("SA.Transform"),
            Context::TransformAttribute => f.write_str("SA.Transform.Attribute"),
            Context::TrafficSelector => f.write_str("TS.Selector"),
            Context::ConfigAttribute => f.write_str("CP.Attribute"),
            Context::NotifyData(nt) => match nt.name() {
                Some(n) => write!(f, "Notify({n})"),
                None => write!(f, "Notify({})", nt.0),
            },
            Context::Chain => f.write_str("Chain"),
            Context::Message => f.write_str("Message"),
        }
    }
}

/// Why parsing or emitting failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireErrorKind {
    /// Fewer bytes are present than the field needs.
    Truncated {
        /// Bytes the field needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A length field holds a value that cannot be right (below the fixed
    /// part, beyond the enclosing structure, or not what the type requires).
    BadLength {
        /// The value found (or, when emitting, computed).
        value: usize,
    },
    /// A count field disagrees with what the enclosing length holds.
    CountMismatch {
        /// What the count field says.
        declared: usize,
        /// What was actually found.
        found: usize,
    },
    /// A list is longer than this implementation accepts (allocation bound).
    TooMany {
        /// The cap.
        max: usize,
    },
    /// Bytes remain after the last element of a structure.
    TrailingData {
        /// How many bytes remain.
        len: usize,
    },
    /// A field holds a value the format forbids.
    InvalidValue {
        /// The value found.
        value: u64,
    },
    /// A payload this parser does not understand has the critical bit set;
    /// RFC 7296 §2.5 requires rejecting the whole message with
    /// UNSUPPORTED_CRITICAL_PAYLOAD carrying this type.
    UnsupportedCriticalPayload(PayloadType),
    /// A payload that must be last (SK, SKF) is followed by another.
    NotLast,
    /// When emitting: a value does not fit its wire field.
    Overflow {
        /// The value that did not fit.
        value: usize,
        /// The largest value the field holds.
        max: usize,
    },
}

impl fmt::Display for WireErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireErrorKind::Truncated { needed, available } => {
                write!(f, "truncated: need {needed} bytes, {available} available")
            }
            WireErrorKind::BadLength { value } => write!(f, "bad length {value}"),
            WireErrorKind::CountMismatch { declared, found } => {
                write!(f, "count says {declared}, found {found}")
            }
            WireErrorKind::TooMany { max } => write!(f, "more than {max} entries"),
            WireErrorKind::TrailingData { len } => write!(f, "{len} trailing bytes"),
            WireErrorKind::InvalidValue { value } => write!(f, "invalid value {value}"),
            WireErrorKind::UnsupportedCriticalPayload(pt) => {
                write!(f, "unsupported critical payload type {}", pt.0)
            }
            WireErrorKind::NotLast => f.write_str("must be the last payload"),
            WireErrorKind::Overflow { value, max } => {
                write!(f, "value {value} exceeds field maximum {max}")
            }
        }
    }
}

/// A parse or emit failure, naming the structure, field and byte offset.
///
/// Display reads like `Notify.spi_size at byte 52: truncated: need 4 bytes, 2 available`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{context}.{field} at byte {offset}: {kind}")]
pub struct WireError {
    /// The structure being parsed or emitted.
    pub context: Context,
    /// The field inside it (RFC field name in snake case).
    pub field: &'static str,
    /// Byte offset of the field from the start of the parsed buffer (or of
    /// the output buffer when emitting).
    pub offset: usize,
    /// What went wrong.
    pub kind: WireErrorKind,
}

impl WireError {
    /// Builds an error.
    pub const fn new(
        context: Context,
        field: &'static str,
        offset: usize,
        kind: WireErrorKind,
    ) -> Self {
        Self {
            context,
            field,
            offset,
            kind,
        }
    }

    /// The payload type the error concerns, if any.
    pub fn payload_type(&self) -> Option<PayloadType> {
        match self.context {
            Context::GenericHeader(pt) | Context::Payload(pt) => Some(pt),
            Context::Proposal | Context::Transform | Context::TransformAttribute => {
                Some(PayloadType::SA)
            }
            Context::TrafficSelector => None,
            Context::ConfigAttribute => Some(PayloadType::CP),
            Context::NotifyData(_) => Some(PayloadType::NOTIFY),
            Context::Header | Context::Chain | Context::Message => None,
        }
    }

    /// For `UnsupportedCriticalPayload`, the type to put in the
    /// UNSUPPORTED_CRITICAL_PAYLOAD notification (RFC 7296 §3.10.1).
    pub fn unsupported_critical_payload(&self) -> Option<PayloadType> {
        match self.kind {
            WireErrorKind::UnsupportedCriticalPayload(pt) => Some(pt),
            _ => None,
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = WireError> = core::result::Result<T, E>;
