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
    #[error("the peer broke the protocol: {0}")]
    PeerMisbehaved(PeerMisbehaved),
    /// Well-formed and legal, but we cannot agree.
    #[error("{0}")]
    PeerIncompatible(PeerIncompatible),
    /// AUTH payload did not verify, or the identity is not acceptable.
    #[error("the peer's authentication did not verify, or its identity is not accepted (AUTHENTICATION_FAILED)")]
    AuthenticationFailed,
    /// Public-key authentication refused, with the reason in words
    /// (expired, untrusted issuer, ID not in the certificate, algorithm).
    #[error("{0} (AUTHENTICATION_FAILED)")]
    AuthRejected(String),
    /// Our caller's bug; never sent.
    #[error("internal error (API misuse): {0}")]
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
    /// NO_PROPOSAL_CHOSEN to a connection whose every IKE proposal needs
    /// ML-KEM: a "strict" post-quantum connection meets a classic peer.
    PostQuantumRefused,
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
            IkeError::AuthenticationFailed | IkeError::AuthRejected(_) => {
                Some(notify::AUTHENTICATION_FAILED)
            }
            IkeError::ApiMisuse(_) | IkeError::Internal(_) => None,
        }
    }
}

impl From<&PeerIncompatible> for u16 {
    fn from(p: &PeerIncompatible) -> u16 {
        match p {
            PeerIncompatible::NoProposalChosen
            | PeerIncompatible::NoMatchingConnection
            | PeerIncompatible::PostQuantumRefused => notify::NO_PROPOSAL_CHOSEN,
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

/// The IANA name of an error or status notify (RFC 7296 §3.10.1), or its
/// number when the registry does not know it.
pub fn notify_name(n: u16) -> String {
    yadokari_wire::registry::NotifyType(n).to_string()
}

/// What an error notify from the peer means, in words, with the IANA name
/// in parentheses: what the operator reads when the peer refused.
pub fn peer_error_words(n: u16) -> String {
    let what = match n {
        notify::UNSUPPORTED_CRITICAL_PAYLOAD => {
            "the peer does not support a critical payload we sent"
        }
        notify::INVALID_IKE_SPI => "the peer does not know this IKE SA",
        notify::INVALID_MAJOR_VERSION => "the peer does not speak IKE version 2",
        notify::INVALID_SYNTAX => "the peer found our message malformed",
        notify::INVALID_MESSAGE_ID => "the peer rejected our message ID",
        notify::INVALID_SPI => "the peer does not know the SPI we used",
        notify::NO_PROPOSAL_CHOSEN => "the peer accepted none of our proposals",
        notify::INVALID_KE_PAYLOAD => "the peer wants another key exchange group",
        notify::AUTHENTICATION_FAILED => "the peer rejected our authentication",
        notify::SINGLE_PAIR_REQUIRED => "the peer accepts only one pair of traffic selectors",
        notify::NO_ADDITIONAL_SAS => "the peer accepts no more CHILD SAs on this IKE SA",
        notify::INTERNAL_ADDRESS_FAILURE => "the peer could not assign an internal address",
        notify::FAILED_CP_REQUIRED => "the peer requires a configuration payload",
        notify::TS_UNACCEPTABLE => "the peer refused our traffic selectors",
        notify::INVALID_SELECTORS => "the peer received ESP that does not match the SA's selectors",
        notify::TEMPORARY_FAILURE => "the peer is busy (temporary failure), try again later",
        notify::CHILD_SA_NOT_FOUND => "the peer does not know the CHILD SA",
        _ if notify::is_error(n) => "the peer refused with an error notify",
        _ => "the peer answered with a status notify",
    };
    format!("{what} ({})", notify_name(n))
}

impl std::fmt::Display for PeerMisbehaved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerMisbehaved::MissingPayload(p) => write!(f, "a required {p} payload is missing"),
            PeerMisbehaved::UnexpectedPayload(p) => {
                write!(f, "a {p} payload is not allowed in this message")
            }
            PeerMisbehaved::WrongExchange(x) => write!(
                f,
                "exchange {} is not allowed in this state",
                yadokari_wire::registry::ExchangeType(*x)
            ),
            PeerMisbehaved::InvalidMessageId(id) => {
                write!(
                    f,
                    "message ID {id} is outside the window (INVALID_MESSAGE_ID)"
                )
            }
            PeerMisbehaved::ChoseUnofferedProposal => {
                f.write_str("the peer chose a proposal we did not offer")
            }
            PeerMisbehaved::TsNotNarrowed => {
                f.write_str("the peer's traffic selectors are not a subset of those we proposed")
            }
            PeerMisbehaved::InvalidKe => {
                f.write_str("a key exchange payload of the wrong size or group")
            }
            PeerMisbehaved::BadNonce => {
                f.write_str("a nonce shorter than 16 or longer than 256 bytes")
            }
            PeerMisbehaved::BadSpi => f.write_str("an SPI of the wrong size, or zero"),
            PeerMisbehaved::BadResponse => {
                f.write_str("the peer's response does not answer our request")
            }
        }
    }
}

impl std::fmt::Display for PeerIncompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerIncompatible::NoProposalChosen => {
                f.write_str("no proposal in common with the peer (NO_PROPOSAL_CHOSEN)")
            }
            PeerIncompatible::InvalidKePayload { wanted_group } => write!(
                f,
                "the peer used another key exchange group than {} (INVALID_KE_PAYLOAD)",
                yadokari_wire::registry::KeMethod(*wanted_group)
            ),
            PeerIncompatible::TsUnacceptable => f.write_str(
                "the peer's traffic selectors match none of ours (TS_UNACCEPTABLE)",
            ),
            PeerIncompatible::NoMatchingConnection => f.write_str(
                "no configured connection matches the peer's address or identity (NO_PROPOSAL_CHOSEN)",
            ),
            PeerIncompatible::ModeMismatch => f.write_str(
                "one side wants transport mode and the other tunnel mode (NO_PROPOSAL_CHOSEN)",
            ),
            PeerIncompatible::PostQuantumRefused => f.write_str(
                "the peer accepted none of our IKE proposals, and every one of them needs a \
                 post-quantum key exchange (ML-KEM); the peer may not support it (strongSwan \
                 before 6.0 does not). List a classic proposal after them to allow a fallback \
                 (NO_PROPOSAL_CHOSEN)",
            ),
            PeerIncompatible::PeerRefused(n) => f.write_str(&peer_error_words(*n)),
            PeerIncompatible::UnsupportedCriticalPayload(t) => write!(
                f,
                "the peer sent a critical payload we do not support: {} (UNSUPPORTED_CRITICAL_PAYLOAD)",
                yadokari_wire::registry::PayloadType(*t)
            ),
        }
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

impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FailureReason::Protocol(e) => write!(f, "{e}"),
            FailureReason::PeerError(n) => f.write_str(&peer_error_words(*n)),
            FailureReason::Timeout => {
                f.write_str("no answer from the peer after all retransmissions")
            }
            FailureReason::PeerDead => {
                f.write_str("the peer stopped answering (dead peer detection)")
            }
            FailureReason::Command(what) => write!(f, "cannot do that: {what}"),
        }
    }
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
    /// Half-open limit reached (or a half-open SA gave way to a source
    /// holding fewer, when the table was full).
    TooManyHalfOpen,
    /// A source at its half-open quota: a COOKIE demanded, or its oldest
    /// half-open SA replaced.
    HalfOpenPerSource,
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
    /// An IKE fragment (RFC 7383) that does not fit its message: bad
    /// numbers, too many, or too large in total.
    BadFragment,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DropReason::Malformed => "malformed message",
            DropReason::NotIke => "not an IKEv2 message",
            DropReason::BadVersion => "unsupported IKE major version",
            DropReason::UnknownSpi => "no IKE SA with this SPI",
            DropReason::BadMessageId => "message ID outside the window",
            DropReason::UnexpectedResponse => "a response to no request of ours",
            DropReason::BadIcv => "integrity check failed",
            DropReason::WrongExchange => "exchange not allowed in this state",
            DropReason::MissingPayload => "a required payload is missing",
            DropReason::TooManyHalfOpen => "too many half-open IKE SAs",
            DropReason::HalfOpenPerSource => "this source holds its quota of half-open IKE SAs",
            DropReason::CookieRequired => "answered with a COOKIE demand",
            DropReason::BadCookie => "a COOKIE that does not verify",
            DropReason::Retransmit => "a retransmitted request, answered from the cache",
            DropReason::StaleRetransmit => "a retransmitted request whose answer is gone",
            DropReason::RateLimited => "error answers rate-limited",
            DropReason::NoConnection => "no configured connection accepts this peer",
            DropReason::Unprotected => "not encrypted although it must be",
            DropReason::UnauthenticatedNotify => "an unauthenticated error notify, ignored",
            DropReason::BadInitResponse => "an IKE_SA_INIT response we cannot use",
            DropReason::NoNonEspMarker => "no non-ESP marker on the NAT-T port",
            DropReason::BadFragment => "an IKE fragment that does not fit its message",
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::DownReason;

    /// Operators read these: words, the IANA name in parentheses, and no
    /// Rust `Debug` spelling anywhere.
    fn words(s: &str) {
        for debug in [
            "Some(",
            "None",
            "PeerError(",
            "Protocol(",
            "ConnId(",
            "IkeSaId(",
        ] {
            assert!(!s.contains(debug), "`{s}` contains `{debug}`");
        }
    }

    #[test]
    fn failure_reasons_in_words() {
        let cases = [
            (
                FailureReason::PeerError(notify::TS_UNACCEPTABLE),
                "the peer refused our traffic selectors (TS_UNACCEPTABLE)",
            ),
            (
                FailureReason::PeerError(notify::NO_PROPOSAL_CHOSEN),
                "the peer accepted none of our proposals (NO_PROPOSAL_CHOSEN)",
            ),
            (
                FailureReason::PeerError(notify::AUTHENTICATION_FAILED),
                "the peer rejected our authentication (AUTHENTICATION_FAILED)",
            ),
            (
                FailureReason::PeerError(9000),
                "the peer refused with an error notify (9000)",
            ),
            (
                FailureReason::Protocol(PeerIncompatible::TsUnacceptable.into()),
                "the peer's traffic selectors match none of ours (TS_UNACCEPTABLE)",
            ),
            (
                FailureReason::Protocol(
                    PeerIncompatible::PeerRefused(notify::TS_UNACCEPTABLE).into(),
                ),
                "the peer refused our traffic selectors (TS_UNACCEPTABLE)",
            ),
            (
                FailureReason::Protocol(PeerMisbehaved::MissingPayload("AUTH").into()),
                "the peer broke the protocol: a required AUTH payload is missing",
            ),
            (
                FailureReason::Protocol(
                    PeerIncompatible::InvalidKePayload { wanted_group: 31 }.into(),
                ),
                "the peer used another key exchange group than Curve25519 (INVALID_KE_PAYLOAD)",
            ),
            (
                FailureReason::Timeout,
                "no answer from the peer after all retransmissions",
            ),
            (
                FailureReason::Command("no such IKE SA"),
                "cannot do that: no such IKE SA",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
            words(text);
        }
    }

    #[test]
    fn every_error_kind_and_drop_reason_in_words() {
        let errors: Vec<IkeError> = vec![
            PeerMisbehaved::WrongExchange(37).into(),
            PeerMisbehaved::InvalidMessageId(7).into(),
            PeerMisbehaved::TsNotNarrowed.into(),
            PeerIncompatible::NoMatchingConnection.into(),
            PeerIncompatible::ModeMismatch.into(),
            PeerIncompatible::UnsupportedCriticalPayload(46).into(),
            IkeError::AuthenticationFailed,
        ];
        for e in errors {
            let s = e.to_string();
            words(&s);
            assert!(
                !s.contains("Incompatible") && !s.contains("Misbehaved"),
                "{s}"
            );
        }
        assert_eq!(
            IkeError::from(PeerMisbehaved::WrongExchange(37)).to_string(),
            "the peer broke the protocol: exchange INFORMATIONAL is not allowed in this state"
        );
        for r in DropReason::ALL {
            let s = r.to_string();
            words(&s);
            assert!(s.contains(' '), "{r:?} reads `{s}`");
        }
        for r in [
            DownReason::Local,
            DownReason::PeerDeleted,
            DownReason::Rekeyed,
            DownReason::Expired,
            DownReason::PeerDead,
            DownReason::Failed,
        ] {
            assert!(r.to_string().contains(' '), "{r:?}");
        }
    }
}
