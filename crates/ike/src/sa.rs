//! One IKE SA: its lifecycle enum (RFC 7296 §1.2, §2.18), the typed state
//! each phase owns, the exchanges in flight keyed by message ID, and the
//! send path shared by every exchange (encode, protect, window, cache).
//!
//! Data lives only where it is valid (style guide §d): the KE private
//! value only in `InitSent`, SK_* from `AuthSent`/`InitAnswered` on, peer
//! identities only once `Established`.

use std::collections::VecDeque;
use std::time::Instant;

use zeroize::Zeroizing;

use crate::codec;
use crate::config::{ConnId, Identity};
use crate::cx::Cx;
use crate::error::IkeError;
use crate::event::{IkeSaId, Path};
use crate::exchange::create_child::{ChildInit, IkeRekeyInit};
use crate::exchange::intermediate::IntAuth;
use crate::ext::nat_t::NatState;
use crate::msg::{Header, Message, Notify, Payload};
use crate::proposal::Proposal;
use crate::suite::{IkeKeys, KeSecret};
use crate::timer::{IkeTimer, IkeTimers};
use crate::window::{RequestWindow, ResponseWindow};

/// Which end of the IKE SA we are (the I flag, §3.1), as opposed to which
/// end of one exchange (the R flag).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    OriginalInitiator,
    OriginalResponder,
}

/// Initiator after sending IKE_SA_INIT: no SK_* yet.
pub struct InitSent {
    pub ke: KeSecret,
    pub ke_group: u16,
    pub ni: Zeroizing<Vec<u8>>,
    pub offered: Vec<Proposal>,
    pub cookie: Option<Vec<u8>>,
    /// Groups we already retried with after INVALID_KE_PAYLOAD.
    pub ke_retries: u8,
    pub cookie_retries: u8,
}

/// The CHILD SA request that rides in IKE_AUTH (initiator side).
pub struct FirstChild {
    pub child: usize,
    pub spi_in: u32,
    pub offered: Vec<Proposal>,
    pub ts_i: Vec<crate::ts::TrafficSelector>,
    pub ts_r: Vec<crate::ts::TrafficSelector>,
    pub transport: bool,
}

/// Initiator after sending IKE_AUTH: SK_* known, KE private value dropped.
pub struct AuthSent {
    pub keys: IkeKeys,
    pub ni: Zeroizing<Vec<u8>>,
    pub nr: Zeroizing<Vec<u8>>,
    /// The responder's IKE_SA_INIT message, signed by its AUTH (§2.15).
    pub init_response: Vec<u8>,
    pub first_child: Option<FirstChild>,
    /// The keys with our PPK mixed in (RFC 8784), when we offered one: the
    /// responder's PPK_IDENTITY says which set the SA goes on with.
    pub ppk_keys: Option<IkeKeys>,
}

/// Initiator between IKE_SA_INIT and IKE_AUTH, running the additional key
/// exchanges of RFC 9370 §2.2.1 in IKE_INTERMEDIATE exchanges (RFC 9242),
/// one at a time, ADDKE1 first.
pub struct IntermediateSent {
    /// The keys in force (updated after each exchange, RFC 9370 §2.2.2).
    pub keys: IkeKeys,
    pub ni: Zeroizing<Vec<u8>>,
    pub nr: Zeroizing<Vec<u8>>,
    pub init_request: Vec<u8>,
    pub init_response: Vec<u8>,
    /// Methods still to run; the front one is in flight.
    pub remaining: VecDeque<u16>,
    /// Our half of the exchange in flight.
    pub ke: KeSecret,
    pub int_auth: IntAuth,
}

/// Responder after answering IKE_SA_INIT: waiting for IKE_AUTH.
pub struct InitAnswered {
    pub keys: IkeKeys,
    pub ni: Zeroizing<Vec<u8>>,
    pub nr: Zeroizing<Vec<u8>>,
    /// The initiator's IKE_SA_INIT message, signed by its AUTH.
    pub init_request: Vec<u8>,
    /// Our IKE_SA_INIT response, signed by our AUTH.
    pub init_response: Vec<u8>,
    /// Connections that matched the addresses and the chosen proposal.
    pub candidates: Vec<ConnId>,
    /// RFC 9370 additional key exchanges still to run before IKE_AUTH.
    pub additional: VecDeque<u16>,
    pub int_auth: IntAuth,
    /// The keys before the last IKE_INTERMEDIATE exchange updated them: a
    /// retransmitted request is protected with these and must still get
    /// its cached response.
    pub prev_keys: Option<IkeKeys>,
}

/// A peer's rekey of an SA we were rekeying too (§2.8.1 collision).
#[derive(Debug, Clone)]
pub struct PeerRekey {
    /// New IKE SA the peer's exchange created.
    pub new_sa: IkeSaId,
    pub ni: Vec<u8>,
    pub nr: Vec<u8>,
}

/// Where an established IKE SA stands with respect to its replacement.
#[derive(Debug, Clone)]
pub enum IkeRekey {
    /// Normal operation.
    None,
    /// Our CREATE_CHILD_SA for the IKE SA is outstanding; `peer` records a
    /// colliding rekey we answered meanwhile.
    Rekeying { peer: Option<PeerRekey> },
    /// Replaced by `by`; the old SA only waits for its Delete.
    Replaced { by: IkeSaId },
}

/// An authenticated IKE SA.
pub struct Established {
    pub keys: IkeKeys,
    pub local_id: Identity,
    pub remote_id: Identity,
    pub rekey: IkeRekey,
    /// We sent (or are about to send) a Delete for this IKE SA.
    pub deleting: bool,
    /// Peer SPIs named in Deletes that matched no CHILD SA of ours: a child
    /// whose CREATE_CHILD_SA response is still on its way (the peer created
    /// it, then deleted it before our response arrived). Bounded.
    pub unknown_deletes: Vec<u32>,
}

/// How many unmatched Delete SPIs an IKE SA remembers.
pub const UNKNOWN_DELETES_MAX: usize = 32;

/// The lifecycle enum.
pub enum Phase {
    InitSent(Box<InitSent>),
    IntermediateSent(Box<IntermediateSent>),
    AuthSent(Box<AuthSent>),
    InitAnswered(Box<InitAnswered>),
    Established(Box<Established>),
    /// Removed at the end of the current input.
    Gone,
}

impl Phase {
    pub fn keys(&self) -> Option<&IkeKeys> {
        match self {
            Phase::InitSent(_) | Phase::Gone => None,
            Phase::IntermediateSent(s) => Some(&s.keys),
            Phase::AuthSent(s) => Some(&s.keys),
            Phase::InitAnswered(s) => Some(&s.keys),
            Phase::Established(s) => Some(&s.keys),
        }
    }

    /// Keys that protected the peer's previous request, when an
    /// IKE_INTERMEDIATE exchange has just replaced them.
    pub fn prev_keys(&self) -> Option<&IkeKeys> {
        match self {
            Phase::InitAnswered(s) => s.prev_keys.as_ref(),
            _ => None,
        }
    }

    pub fn established(&self) -> Option<&Established> {
        match self {
            Phase::Established(e) => Some(e),
            _ => None,
        }
    }

    pub fn established_mut(&mut self) -> Option<&mut Established> {
        match self {
            Phase::Established(e) => Some(e),
            _ => None,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Phase::InitSent(_) => "InitSent",
            Phase::IntermediateSent(_) => "IntermediateSent",
            Phase::AuthSent(_) => "AuthSent",
            Phase::InitAnswered(_) => "InitAnswered",
            Phase::Established(_) => "Established",
            Phase::Gone => "Gone",
        }
    }
}

/// A request of ours in flight: the typed machine waiting for its response.
pub enum Pending {
    /// Data lives in `Phase::InitSent`.
    IkeSaInit,
    /// Data lives in `Phase::IntermediateSent`.
    IkeIntermediate,
    /// Data lives in `Phase::AuthSent`.
    IkeAuth,
    CreateChild(Box<ChildInit>),
    RekeyIke(Box<IkeRekeyInit>),
    /// Delete of these CHILD SAs (our inbound SPIs).
    DeleteChildren(Vec<u32>),
    DeleteIke,
    /// Liveness check (§2.4): an empty INFORMATIONAL.
    Dpd,
}

impl Pending {
    /// The exchange type the response must carry.
    pub fn exchange_type(&self) -> u8 {
        use crate::reg::exchange as xt;
        match self {
            Pending::IkeSaInit => xt::IKE_SA_INIT,
            Pending::IkeIntermediate => xt::IKE_INTERMEDIATE,
            Pending::IkeAuth => xt::IKE_AUTH,
            Pending::CreateChild(_) | Pending::RekeyIke(_) => xt::CREATE_CHILD_SA,
            Pending::DeleteChildren(_) | Pending::DeleteIke | Pending::Dpd => xt::INFORMATIONAL,
        }
    }
}

/// An operation waiting for a free slot in the peer's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Queued {
    CreateChild { child: usize },
    RekeyChild { spi_in: u32 },
    RekeyIke,
    DeleteChild { spi_in: u32 },
    // A Delete for a CHILD SA already removed at its hard lifetime: the
    // peer must still be told, though the table no longer has it.
    DeleteExpired { spi_in: u32 },
    DeleteIke,
    Dpd,
}

pub struct IkeSa {
    pub id: IkeSaId,
    pub conn: ConnId,
    pub role: Role,
    pub spi_i: u64,
    pub spi_r: u64,
    pub path: Path,
    pub nat: NatState,
    pub requests: RequestWindow<Pending>,
    pub responses: ResponseWindow,
    pub queue: VecDeque<Queued>,
    pub timers: IkeTimers,
    pub phase: Phase,
    /// Last time an authenticated message from the peer arrived (DPD).
    pub last_heard: Instant,
    /// When this SA was created (its IKE_SA_INIT sent or received).
    pub created: Instant,
    /// When an unauthenticated INVALID_IKE_SPI last made us check (§1.5).
    pub last_hint: Option<Instant>,
    /// When the SA became established (lifetimes count from here).
    pub established_at: Option<Instant>,
    /// Successor after a rekey, for late messages about moved children.
    pub successor: Option<IkeSaId>,
    /// The SA this one replaced: until a rekey collision is resolved its
    /// children may still sit there, so lookups by SPI include it.
    pub predecessor: Option<IkeSaId>,
    /// This SA reauthenticates that one (§2.8.3): once up, the old one goes.
    pub reauth_of: Option<IkeSaId>,
    /// A reauthentication of this SA is under way in that SA.
    pub reauth_by: Option<IkeSaId>,
    /// As initiator: send INITIAL_CONTACT in IKE_AUTH (RFC 7296 §2.4), set
    /// when the SA started while no other IKE SA between the same two
    /// identities existed here.
    pub initial_contact: bool,
    /// IKE fragmentation (RFC 7383): whether in use, and partial messages.
    pub frag: crate::frag::FragState,
    /// Both sides announced USE_PPK (RFC 8784 §3).
    pub use_ppk: bool,
    /// Both sides announced CHILDLESS_IKEV2_SUPPORTED (RFC 6023 §3).
    pub childless: bool,
    /// Public-key authentication state (RFC 7427 hashes, the peer's
    /// certificate once verified).
    pub pubkey: crate::auth::PubkeyState,
}

impl IkeSa {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: IkeSaId,
        conn: ConnId,
        role: Role,
        spi_i: u64,
        spi_r: u64,
        path: Path,
        now: Instant,
        window: u32,
    ) -> Self {
        Self {
            id,
            conn,
            role,
            spi_i,
            spi_r,
            path,
            nat: NatState::default(),
            requests: RequestWindow::new(0),
            responses: ResponseWindow::new(0, window),
            queue: VecDeque::new(),
            timers: IkeTimers::default(),
            phase: Phase::Gone,
            last_heard: now,
            created: now,
            last_hint: None,
            established_at: None,
            successor: None,
            predecessor: None,
            reauth_of: None,
            reauth_by: None,
            initial_contact: false,
            frag: crate::frag::FragState::default(),
            use_ppk: false,
            childless: false,
            pubkey: crate::auth::PubkeyState::default(),
        }
    }

    /// The SPI the peer addresses us with.
    pub fn local_spi(&self) -> u64 {
        match self.role {
            Role::OriginalInitiator => self.spi_i,
            Role::OriginalResponder => self.spi_r,
        }
    }

    pub fn is_initiator(&self) -> bool {
        self.role == Role::OriginalInitiator
    }

    pub fn header(&self, exchange: u8, response: bool, message_id: u32) -> Header {
        Header {
            spi_i: self.spi_i,
            spi_r: self.spi_r,
            exchange,
            initiator: self.is_initiator(),
            response,
            message_id,
        }
    }

    /// Encodes `msg`, protected with SK when keys exist (all exchanges after IKE_SA_INIT).
    pub fn encode(&self, cx: &mut Cx<'_>, msg: &Message) -> Result<Vec<u8>, IkeError> {
        crate::ext::trace::sent(cx, self.path, msg);
        match self.phase.keys() {
            Some(keys) if msg.header.exchange != crate::reg::exchange::IKE_SA_INIT => {
                codec::encode_protected(msg, keys, self.is_initiator(), cx.rng)
            }
            _ => codec::encode_plain(msg),
        }
    }

    /// Encodes `msg` as the datagrams it goes out in: protected messages
    /// larger than the path takes become IKE fragments once both sides
    /// announced them (RFC 7383).
    pub fn encode_datagrams(
        &self,
        cx: &mut Cx<'_>,
        msg: &Message,
    ) -> Result<Vec<Vec<u8>>, IkeError> {
        match self.phase.keys() {
            Some(keys) if msg.header.exchange != crate::reg::exchange::IKE_SA_INIT => {
                crate::ext::trace::sent(cx, self.path, msg);
                let limit = self.fragment_limit(cx);
                codec::encode_protected_datagrams(msg, keys, self.is_initiator(), cx.rng, limit)
            }
            _ => Ok(vec![self.encode(cx, msg)?]),
        }
    }

    /// The largest IKE message that fits one fragment on this path: the
    /// configured datagram size less the IP and UDP headers and the
    /// non-ESP marker; `None` when fragmentation is not in use.
    fn fragment_limit(&self, cx: &Cx<'_>) -> Option<usize> {
        if !self.frag.enabled {
            return None;
        }
        let size = usize::from(cx.cfg.connection(self.conn)?.fragment_size?);
        let ip = if self.path.remote.is_ipv4() { 20 } else { 40 };
        let marker = if self.path.local.port() == cx.cfg.ike_port {
            0
        } else {
            4
        };
        Some(size.saturating_sub(ip + 8 + marker))
    }

    /// Queues the IKE message on the SA's current path (framed for a
    /// NAT-T port when the driver polls it).
    pub fn transmit(&self, cx: &mut Cx<'_>, packet: &[u8]) {
        cx.transmit(self.path, packet.to_vec());
    }

    /// Sends a new request and tracks it in the window.
    pub fn send_request(
        &mut self,
        cx: &mut Cx<'_>,
        exchange: u8,
        payloads: Vec<Payload>,
        pending: Pending,
    ) -> Result<u32, IkeError> {
        let id = self.requests.next_id();
        let mut msg = Message::new(self.header(exchange, false, id));
        msg.payloads = payloads;
        let packets = self.encode_datagrams(cx, &msg)?;
        for p in &packets {
            self.transmit(cx, p);
        }
        let pushed = self
            .requests
            .push(cx.now, packets, pending, &cx.cfg.retransmit);
        debug_assert_eq!(pushed, id);
        self.arm_retransmit();
        Ok(id)
    }

    /// Sends (and caches, §2.1) the response to request `message_id`.
    pub fn send_response(
        &mut self,
        cx: &mut Cx<'_>,
        exchange: u8,
        message_id: u32,
        payloads: Vec<Payload>,
    ) -> Result<(), IkeError> {
        let mut msg = Message::new(self.header(exchange, true, message_id));
        msg.payloads = payloads;
        let packets = self.encode_datagrams(cx, &msg)?;
        for p in &packets {
            self.transmit(cx, p);
        }
        self.responses.answered(message_id, packets);
        Ok(())
    }

    /// A response holding only an error notify.
    pub fn send_error_response(
        &mut self,
        cx: &mut Cx<'_>,
        exchange: u8,
        message_id: u32,
        notify: u16,
        data: Vec<u8>,
    ) -> Result<(), IkeError> {
        self.send_response(
            cx,
            exchange,
            message_id,
            vec![Payload::Notify(Notify::new(notify, data))],
        )
    }

    pub fn arm_retransmit(&mut self) {
        match self.requests.next_deadline() {
            Some(t) => self.timers.set(IkeTimer::Retransmit.idx(), t),
            None => self.timers.stop(IkeTimer::Retransmit.idx()),
        }
    }

    /// Re-arms the DPD timer after traffic from the peer (at `cx.now`):
    /// the liveness check is due `dpd_delay` after the last sign of life,
    /// never later (RFC 7296 §2.4). A report older than the last one heard
    /// changes nothing.
    pub fn heard(&mut self, cx: &Cx<'_>) {
        if cx.now < self.last_heard {
            return;
        }
        self.last_heard = cx.now;
        if let (Some(conn), Phase::Established(e)) = (cx.cfg.connection(self.conn), &self.phase) {
            if let (Some(d), false) = (conn.dpd_delay, e.deleting) {
                self.timers.set(IkeTimer::Dpd.idx(), cx.now + d);
            }
        }
    }

    /// IKE SAs whose children requests on this SA may name.
    pub fn related(&self) -> Vec<IkeSaId> {
        std::iter::once(self.id)
            .chain(self.successor)
            .chain(self.predecessor)
            .collect()
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }
}
