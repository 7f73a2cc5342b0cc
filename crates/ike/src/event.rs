//! The endpoint's inputs and outputs besides raw datagrams: paths, transmits,
//! commands from the driver and events for it (style guide §b).
//!
//! Everything here is plain data: the daemon turns [`Event`]s into SA installs
//! in the data plane and [`Transmit`]s into `sendto` calls, and the simulator
//! does the same in memory.

use std::net::SocketAddr;

use yadokari_crypto::SecretBytes;

use crate::config::{ConnId, Mode};
use crate::error::FailureReason;
use crate::proposal::ChildAlgorithms;
use crate::ts::TrafficSelector;

/// Local handle of one IKE SA inside one [`crate::IkeEndpoint`]. Never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IkeSaId(pub u64);

/// The two addresses a datagram travelled between, as seen by this endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Path {
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

impl Path {
    pub fn new(local: SocketAddr, remote: SocketAddr) -> Self {
        Self { local, remote }
    }
}

/// One UDP datagram to send, owned (see [`crate::IkeEndpoint::poll_transmit`];
/// a driver that reuses one buffer calls
/// [`crate::IkeEndpoint::poll_transmit_into`] instead). `bytes` is the
/// complete UDP payload: on a NAT-T path (any local port other than the
/// configured IKE port) it starts with the 4-byte non-ESP marker of
/// RFC 3948 §2.2, which the core adds in one place
/// ([`crate::codec::frame_into`]) so the driver sends it unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub path: Path,
    pub bytes: Vec<u8>,
}

/// What the driver asks the endpoint to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Start an IKE SA (and its first CHILD SA) for a configured connection
    /// now. Back-off starts over, and a connection configured to be kept up
    /// ([`crate::RetryConfig::keep_up`]) is kept up again after a `Close`.
    Initiate { conn: ConnId },
    /// Traffic needs the connection (the data plane's ACQUIRE, RFC 4301
    /// §5.1): start it unless an IKE SA of it is alive or its back-off has
    /// not run out. Failures are not retried by timer; the next packet does.
    Acquire { conn: ConnId },
    /// Take the connection down and keep it down: no more retries, every
    /// IKE SA of it deleted (established ones with a Delete to the peer;
    /// their CHILD SAs are removed at once, without waiting for the answer).
    Close { conn: ConnId },
    /// Create one more CHILD SA (by child config index of the connection)
    /// inside an established IKE SA.
    CreateChild { ike: IkeSaId, child: usize },
    /// Rekey the CHILD SA whose inbound SPI is `spi_in` (RFC 7296 §2.8).
    RekeyChild { spi_in: u32 },
    /// Rekey the IKE SA (§2.18), moving its CHILD SAs to the new one.
    RekeyIke { ike: IkeSaId },
    /// Delete one CHILD SA pair with an INFORMATIONAL exchange (§1.4.1).
    DeleteChild { spi_in: u32 },
    /// Delete an IKE SA and with it all its CHILD SAs.
    DeleteIke { ike: IkeSaId },
    /// Run a liveness check on the IKE SA now (§2.4).
    Dpd { ike: IkeSaId },
    /// Delete every IKE SA of the endpoint (shutdown).
    Terminate,
}

/// Direction-specific key material of one CHILD SA (RFC 7296 §2.17).
///
/// Neither `Clone` nor kept by the core: the keys are derived, moved into
/// the install event, and from there into the data plane; every copy that
/// is dropped is wiped ([`SecretBytes`]).
pub struct ChildKeys {
    /// Encryption key, including the salt for AEAD/CTR transforms (RFC 4106 §8.1).
    pub encr: SecretBytes,
    /// Integrity key; empty for AEAD transforms.
    pub integ: SecretBytes,
}

impl PartialEq for ChildKeys {
    /// Constant time in the key bytes (lengths are not secret).
    fn eq(&self, other: &Self) -> bool {
        self.encr.ct_eq(other.encr.expose()) & self.integ.ct_eq(other.integ.expose())
    }
}

impl Eq for ChildKeys {}

impl std::fmt::Debug for ChildKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never log keys (style guide §f).
        write!(
            f,
            "ChildKeys {{ encr: {} bytes, integ: {} bytes }}",
            self.encr.len(),
            self.integ.len()
        )
    }
}

/// UDP encapsulation (RFC 3948) of a CHILD SA's ESP packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpEncap {
    pub local_port: u16,
    pub remote_port: u16,
}

/// The ESP keys of one CHILD SA pair, as the install event hands them to
/// the driver. Not `Clone`: there is one copy, and it moves.
#[derive(Debug, PartialEq, Eq)]
pub struct ChildSaKeys {
    /// Decrypts what the peer sends us (SPI [`ChildSaInfo::spi_in`]).
    pub inbound: ChildKeys,
    /// Encrypts what we send (SPI [`ChildSaInfo::spi_out`]).
    pub outbound: ChildKeys,
}

/// What one CHILD SA pair is, besides its keys: what the core keeps for
/// rekeying and deleting it, and what the data plane needs next to the
/// keys ([`ChildSaKeys`], handed out once in the install event). It holds
/// no key material, so views of the core's table cannot leak any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaInfo {
    pub ike: IkeSaId,
    pub conn: ConnId,
    /// Index of the child config inside the connection.
    pub child: usize,
    /// SPI we chose: peers send to us with it.
    pub spi_in: u32,
    /// SPI the peer chose: we send with it.
    pub spi_out: u32,
    pub algorithms: ChildAlgorithms,
    pub ts_local: Vec<TrafficSelector>,
    pub ts_remote: Vec<TrafficSelector>,
    pub mode: Mode,
    /// Outer addresses of the SA pair.
    pub path: Path,
    pub encap: Option<UdpEncap>,
}

/// What the endpoint tells its driver. Not `Clone`: install events carry
/// the only copy of a CHILD SA's keys.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// An IKE SA finished IKE_AUTH (or replaced another through a rekey).
    IkeSaUp {
        ike: IkeSaId,
        conn: ConnId,
        spi_i: u64,
        spi_r: u64,
        path: Path,
    },
    /// An IKE SA's rekey completed: children moved from `old` to `new` (§2.18).
    IkeSaRekeyed {
        old: IkeSaId,
        new: IkeSaId,
        spi_i: u64,
        spi_r: u64,
    },
    /// An IKE SA is gone; every CHILD SA of it got its own `ChildSaRemoved` first.
    IkeSaDown {
        ike: IkeSaId,
        conn: ConnId,
        reason: DownReason,
    },
    /// A new CHILD SA pair, with its keys (moved to the driver; the core
    /// keeps none).
    ChildSaInstalled {
        info: ChildSaInfo,
        keys: ChildSaKeys,
    },
    /// A rekey produced `new` (keys in `keys`, as for `ChildSaInstalled`); the pair (`old_spi_in`, `old_spi_out`) stays
    /// installed until its own `ChildSaRemoved`, so in-flight packets decrypt.
    ///
    /// `responder`: we answered the rekey. The initiator installs its new
    /// inbound SA only when our answer arrives, so the driver should keep
    /// sending on the old SA until the peer is seen using the new one or
    /// deletes the old one (RFC 7296 §2.8); the initiator of a rekey can
    /// switch at once.
    ChildSaReplaced {
        old_spi_in: u32,
        old_spi_out: u32,
        new: ChildSaInfo,
        keys: ChildSaKeys,
        responder: bool,
    },
    /// The pair (`spi_in`, `spi_out`) is gone; the driver removes both
    /// halves by these SPIs, without looking anything up.
    ChildSaRemoved {
        ike: IkeSaId,
        spi_in: u32,
        spi_out: u32,
        reason: DownReason,
    },
    /// NAT detection (RFC 7296 §2.23) found a NAT, or `encap = yes` faked one:
    /// IKE and ESP move to `path`, whose ports are the NAT-T port.
    NatDetected {
        ike: IkeSaId,
        /// Our NAT_DETECTION_DESTINATION_IP hash did not match: a NAT
        /// rewrote our address. Never set by our own forcing alone.
        local_behind_nat: bool,
        /// The peer's source hash did not match: a NAT in front of the
        /// peer, or a peer that forces encapsulation the same way we do.
        remote_behind_nat: bool,
        /// Our configuration forces UDP encapsulation (`encap = true`):
        /// we sent a source hash that cannot match.
        forced_by_config: bool,
        path: Path,
    },
    /// With [`crate::Config::trace_messages`]: one IKE message we sent or
    /// accepted, re-encoded without encryption (the SK payload's contents
    /// in its place), so a capture of it reads like plaintext IKE. Framed
    /// like the datagram it stands for: `message` is the UDP payload, with
    /// the non-ESP marker on a NAT-T path.
    MessageTrace {
        outbound: bool,
        path: Path,
        message: Vec<u8>,
    },
    /// Something failed that the operator should see.
    Failure {
        ike: Option<IkeSaId>,
        conn: Option<ConnId>,
        reason: FailureReason,
    },
}

/// Why an SA went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownReason {
    /// We asked for it (command or rekey).
    Local,
    /// The peer sent a Delete.
    PeerDeleted,
    /// Replaced by a rekey.
    Rekeyed,
    /// Hard lifetime passed.
    Expired,
    /// Retransmissions ran out or DPD found the peer dead.
    PeerDead,
    /// The negotiation failed.
    Failed,
}

impl std::fmt::Display for DownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DownReason::Local => "deleted on our side",
            DownReason::PeerDeleted => "deleted by the peer",
            DownReason::Rekeyed => "replaced by a rekey",
            DownReason::Expired => "its hard lifetime ran out",
            DownReason::PeerDead => "the peer stopped answering",
            DownReason::Failed => "the negotiation failed",
        })
    }
}
