//! Errors sorted by who is at fault (style guide §f), the notify each
//! peer-facing kind puts on the wire (RFC 7296 §3.10.1), and the drop
//! reasons with their counters (every ignored input is counted, §2.21).

use crate::reg::notify;

/// A protocol failure while handling one message or command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IkeError {
    /// The bytes did not parse. Before authentication: silent drop;
    /// inside an authenticated request: INVALID_SYNTAX.
    #[error("malformed message: {0}")]
    Malformed(Malformed),
    /// Parsed, but breaks the protocol rules.
    #[error("peer misbehaved: {0:?}")]
    PeerMisbehaved(PeerMisbehaved),
    /// Well-formed and legal, but we cannot agree.
    #[error("peer incompatible: {0:?}")]
    PeerIncompatible(PeerIncompatible),
    /// AUTH payload did not verify, or the identity is not acceptable.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// Our caller's bug; never sent.
    #[error("API misuse: {0}")]
    ApiMisuse(&'static str),
    /// A crypto primitive failed on our side (RNG, key generation).
    #[error("internal crypto failure: {0}")]
    Internal(String),
}

/// What did not parse, with the wire layer's field and byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("{0}")]
    Wire(#[from] yadokari_wire::WireError),
    #[error("traffic selector: {0}")]
    TrafficSelector(#[from] yadokari_policy::TsError),
}

/// Protocol violations (map to INVALID_SYNTAX and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerMisbehaved {
    /// A payload the exchange requires is absent.
    MissingPayload(&'static str),
    /// A payload appears that the exchange does not allow here.
    UnexpectedPayload(&'static str),
    /// The exchange type is not valid in this state.
    WrongExchange(u8),
    /// Message ID outside the window.
    InvalidMessageId(u32),
    /// The responder chose something we did not offer.
    ChoseUnofferedProposal,
    /// The responder's TS are not a subset of what we proposed.
    TsNotNarrowed,
    /// A KE payload of the wrong size or group.
    InvalidKe,
    /// Nonce shorter than 16 or longer than 256 bytes (§3.9).
    BadNonce,
    /// An SPI of the wrong size or zero.
    BadSpi,
    /// The peer's response to a request made no sense.
    BadResponse,
}

/// Mismatches in configuration (map to NO_PROPOSAL_CHOSEN and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerIncompatible {
    NoProposalChosen,
    /// Carry the group we want (INVALID_KE_PAYLOAD, §1.3).
    InvalidKePayload {
        wanted_group: u16,
    },
    TsUnacceptable,
    /// No connection matches the peer's address or identity.
    NoMatchingConnection,
    /// The peer requires transport mode and we don't (or the reverse).
    ModeMismatch,
    /// The peer refused with this error notify.
    PeerRefused(u16),
    UnsupportedCriticalPayload(u8),
}

impl IkeError {
    /// The error notify that answers this error in a response, if any.
    pub fn notify(&self) -> Option<u16> {
        match self {
            IkeError::Malformed(_) => Some(notify::INVALID_SYNTAX),
            IkeError::PeerMisbehaved(PeerMisbehaved::InvalidMessageId(_)) => {
                Some(notify::INVALID_MESSAGE_ID)
            }
            IkeError::PeerMisbehaved(PeerMisbehaved::InvalidKe) => Some(notify::INVALID_SYNTAX),
            IkeError::PeerMisbehaved(_) => Some(notify::INVALID_SYNTAX),
            IkeError::PeerIncompatible(p) => Some(u16::from(p)),
            IkeError::AuthenticationFailed => Some(notify::AUTHENTICATION_FAILED),
            IkeError::ApiMisuse(_) | IkeError::Internal(_) => None,
        }
    }
}

impl From<&PeerIncompatible> for u16 {
    fn from(p: &PeerIncompatible) -> u16 {
        match p {
            PeerIncompatible::NoProposalChosen | PeerIncompatible::NoMatchingConnection => {
                notify::NO_PROPOSAL_CHOSEN
            }
            PeerIncompatible::InvalidKePayload { .. } => notify::INVALID_KE_PAYLOAD,
            PeerIncompatible::TsUnacceptable => notify::TS_UNACCEPTABLE,
            PeerIncompatible::ModeMismatch => notify::NO_PROPOSAL_CHOSEN,
            PeerIncompatible::PeerRefused(n) => *n,
            PeerIncompatible::UnsupportedCriticalPayload(_) => notify::UNSUPPORTED_CRITICAL_PAYLOAD,
        }
    }
}

impl From<PeerMisbehaved> for IkeError {
    fn from(p: PeerMisbehaved) -> Self {
        IkeError::PeerMisbehaved(p)
    }
}

impl From<PeerIncompatible> for IkeError {
    fn from(p: PeerIncompatible) -> Self {
        IkeError::PeerIncompatible(p)
    }
}

/// What an [`crate::Event::Failure`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// Negotiation failed on our side or the peer's.
    Protocol(IkeError),
    /// The peer answered with this error notify.
    PeerError(u16),
    /// No answer after all retransmissions.
    Timeout,
    /// DPD found the peer dead; `action` tells what was done.
    PeerDead,
    /// A command could not be executed.
    Command(&'static str),
}

macro_rules! drop_reasons {
    ($($(#[$m:meta])* $name:ident,)*) => {
        /// Why an input datagram was ignored.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DropReason { $($(#[$m])* $name,)* }

        impl DropReason {
            /// Every reason, for exporting counters.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
        }
    };
}

drop_reasons! {
    /// Header or payload chain did not parse.
    Malformed,
    /// Shorter than an IKE header, or not IKEv2.
    NotIke,
    /// Major version other than 2 (answered with INVALID_MAJOR_VERSION when allowed).
    BadVersion,
    /// No IKE SA with this SPI.
    UnknownSpi,
    /// Message ID outside the window or not matching an outstanding request.
    BadMessageId,
    /// A response to a request we never sent (or already answered).
    UnexpectedResponse,
    /// The SK payload's ICV did not verify, or decryption failed.
    BadIcv,
    /// The exchange type is not valid in this SA state.
    WrongExchange,
    /// A required payload is missing (unauthenticated message, dropped silently).
    MissingPayload,
    /// Half-open limit reached.
    TooManyHalfOpen,
    /// Answered with a COOKIE demand instead of creating state.
    CookieRequired,
    /// A COOKIE that did not verify.
    BadCookie,
    /// A retransmitted request answered from the cache.
    Retransmit,
    /// A retransmitted request whose response is no longer cached.
    StaleRetransmit,
    /// The error-answer rate limit swallowed a reply.
    RateLimited,
    /// No configured connection accepts this peer.
    NoConnection,
    /// Message not protected although the state requires SK.
    Unprotected,
    /// An unauthenticated error notify that we ignore (§2.21.2).
    UnauthenticatedNotify,
    /// An IKE_SA_INIT response we could not use (bad proposal, bad KE).
    BadInitResponse,
    /// Non-ESP marker missing on a NAT-T port (ESP sent to the IKE core).
    NoNonEspMarker,
}

/// Per-reason drop counters plus a few totals.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    drops: std::collections::HashMap<DropReason, u64>,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    pub retransmits_sent: u64,
    pub ike_sas_established: u64,
    pub child_sas_installed: u64,
}

impl Counters {
    pub fn drop_count(&self, r: DropReason) -> u64 {
        self.drops.get(&r).copied().unwrap_or(0)
    }

    pub fn total_drops(&self) -> u64 {
        self.drops.values().sum()
    }

    /// Counts a drop and returns the new count for its reason.
    pub(crate) fn count_drop(&mut self, r: DropReason) -> u64 {
        let n = self.drops.entry(r).or_insert(0);
        *n += 1;
        *n
    }
}
