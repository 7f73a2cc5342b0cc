//! IKEv2, ESP, UDP-encapsulation and EtherIP wire formats: pure parse/emit, no I/O.
//!
//! The IKEv2 part implements RFC 7296 §3 (header, generic payload header,
//! every payload) and the extensions the project needs (RFC 7383 SKF,
//! RFC 7427 signature AUTH, RFC 4555/5685/9370 notifications). Layout:
//!
//! - [`registry`]: IANA registries as newtypes with named constants.
//! - [`header`]: the 28-byte IKE header.
//! - [`payload`]: the chain walker ([`payload::PayloadIter`]) and one typed
//!   representation per payload, borrowing from the input ([`payload::Payload`]).
//! - [`message`]: whole messages, and the SK layout for in-place encryption.
//! - [`codec`]: the bounded reader and length-patching writer underneath.
//! - [`error`]: [`WireError`], naming structure, field and byte offset.
//!
//! See `docs/design/wire-api.md` for the API tour.
#![forbid(unsafe_code)]

pub mod codec;
pub mod error;
pub mod esp;
pub mod etherip;
pub mod header;
pub mod message;
pub mod payload;
pub mod registry;
pub mod udp_encap;

pub use error::{Context, WireError, WireErrorKind};
pub use header::{Flags, Header, HEADER_LEN};
pub use message::{emit_encrypted, EncryptedKind, EncryptedLayout, Message};
pub use payload::Payload;
