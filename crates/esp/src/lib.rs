//! Sans-IO ESP (RFC 4303, ESPv3) security associations: encapsulation and
//! decapsulation in place, anti-replay, extended sequence numbers.
//!
//! - [`OutboundSa::encap`] (RFC 4303 §3.3) turns a payload that sits in a
//!   buffer with [`OutboundSa::headroom`] / [`OutboundSa::tailroom`] spare
//!   bytes into an ESP packet, without copying or allocating.
//! - [`InboundSa::decap`] (RFC 4303 §3.4) checks, authenticates and
//!   decrypts an ESP packet in place and returns where the inner payload
//!   is; every drop has a [`DecapError`] and a per-reason counter.
//! - [`ReplayWindow`]: RFC 4303 §3.4.3 window as an RFC 6479 bitmap, with
//!   ESN inference (RFC 4303 §2.2.1, Appendix A).
//! - Algorithms ([`Suite`]): AES-GCM-16 (RFC 4106), ChaCha20-Poly1305
//!   (RFC 7634), AES-CBC (RFC 3602) with HMAC-SHA2 (RFC 4868) or
//!   HMAC-SHA1-96 (RFC 2404), and ENCR_NULL (RFC 2410) with integrity.
//!
//! No I/O, no clock, no threads: an SA is plain data owned by one data
//! plane worker (`&mut self`). Sending one outbound SA from several
//! workers needs an external sequence-number allocator.
//!
//! Both modes are supported (RFC 4303 §3.1): in tunnel mode the payload is
//! an IP packet (Next Header 4 or 41) and TFC padding (§2.7) may be added;
//! in transport mode it is an upper-layer payload with its protocol number.
#![forbid(unsafe_code)]

mod error;
mod inbound;
mod outbound;
pub mod replay;
mod suite;
mod transform;

pub use error::{DecapError, DropReason, EncapError, SaError};
pub use inbound::{Decapsulated, InboundConfig, InboundCounters, InboundSa};
pub use outbound::{Encapsulated, OutboundConfig, OutboundCounters, OutboundSa};
pub use replay::ReplayWindow;
pub use suite::{auth_id, can_run, encr_id, Encryption, Integrity, Suite};

/// ESP mode (RFC 4303 §3.1): the one IPsec mode type, which the IKE core
/// negotiates too, so it lives in `yadokari-policy` below both.
pub use yadokari_policy::Mode;

#[cfg(test)]
mod tests;
