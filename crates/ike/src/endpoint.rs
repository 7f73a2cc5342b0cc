//! The sans-IO endpoint (style guide §b): owns every IKE SA and CHILD SA,
//! demultiplexes datagrams by SPI (RFC 7296 §2.21.4 for unknown ones),
//! makes the admission decision for new IKE_SA_INITs (answer, demand a
//! COOKIE §2.6, refuse, ignore), checks message IDs against the windows
//! (§2.1–§2.3), and drains outputs through the `poll_*` calls.
//!
//! Driving order, per input: call `handle_datagram`/`handle_command`/
//! `handle_timeout`, then drain `poll_transmit` and `poll_event`, then sleep
//! until `poll_timeout` or the next datagram.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use crate::child::{ChildSa, Children};
use crate::config::{Config, ConnConfig, ConnId, ConnTableError};
use crate::cookie::CookieJar;
use crate::cx::Outgoing;
use crate::cx::{Cx, FollowUp};
use crate::error::{Counters, DropReason, FailureReason};
use crate::event::{ChildSaInfo, Command, Event, IkeSaId, Path, Transmit};
use crate::exchange::{self, ike_sa_init};
use crate::msg::{Header, Message, Notify, Payload};
use crate::reg::{exchange as xt, notify};
use crate::retry::{ConnRetry, LastError, RetryStatus};
use crate::rng::Rng;
use crate::sa::{IkeSa, Pending, Phase, Queued};
use crate::timer::ChildTimer;
use crate::window::RequestCheck;

/// How long a half-open SA is treated as an exchange in flight before a
/// newer attempt from the same source at its quota may replace it: a round
/// trip and a retransmission or two.
const HALF_OPEN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A sans-IO IKEv2 endpoint: any number of IKE SAs, both roles.
pub struct IkeEndpoint {
    cfg: Config,
    rng: Rng,
    sas: HashMap<IkeSaId, IkeSa>,
    /// Our SPI → SA.
    by_spi: HashMap<u64, IkeSaId>,
    /// Responder half-open SAs by (SPIi, peer address), for IKE_SA_INIT retransmits.
    half_open: HashMap<(u64, SocketAddr), IkeSaId>,
    /// The `half_open` key each half-open SA was filed under (its path may
    /// change before it leaves the table).
    half_open_key: HashMap<IkeSaId, (u64, SocketAddr)>,
    /// Half-open SAs per source (an IPv4 address or an IPv6 /64), oldest
    /// first, for the per-source limit and fair admission.
    half_open_by_source: HashMap<IpAddr, BTreeSet<IkeSaId>>,
    /// Every SA's next timer deadline, ordered, so the next wake-up and the
    /// due SAs are found without visiting every SA.
    deadlines: BTreeSet<(Instant, IkeSaId)>,
    deadline_of: HashMap<IkeSaId, Instant>,
    children: Children,
    cookies: CookieJar,
    cookie_rotate_at: Option<Instant>,
    out: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    counters: Counters,
    next_sa_id: u64,
    /// Token bucket for unauthenticated error replies: (window start, used).
    error_budget: (Option<Instant>, u32),
    /// Per connection: kept up? back-off, last error (see [`crate::retry`]).
    retry: HashMap<ConnId, ConnRetry>,
    /// IKE SAs we started (attempts): only their failures count for the
    /// back-off, so a stranger failing to authenticate to us cannot delay
    /// our retries.
    attempts: std::collections::HashSet<IkeSaId>,
}

impl std::fmt::Debug for IkeEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IkeEndpoint")
            .field("ike_sas", &self.sas.len())
            .field("child_sas", &self.children.len())
            .finish()
    }
}

/// A read-only view of one IKE SA, for drivers and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaView {
    pub id: IkeSaId,
    pub conn: ConnId,
    pub initiator: bool,
    pub spi_i: u64,
    pub spi_r: u64,
    pub state: &'static str,
    pub path: Path,
    pub rekeyed: bool,
    /// Known once the SA is established.
    pub algorithms: Option<crate::suite::IkeSaAlgorithms>,
    /// Where the SA stands, in the words of `docs/control-api.md`.
    pub lifecycle: IkeSaLifecycle,
    /// When the soft lifetime starts a rekey (§2.18), if scheduled.
    pub rekey_at: Option<Instant>,
    /// When the hard lifetime deletes the SA, if scheduled.
    pub expire_at: Option<Instant>,
    /// The peer's certificate (subject and issuer), when it signed with one.
    pub peer_cert: Option<crate::auth::PeerCert>,
}

/// The lifecycle of an IKE SA as an operator sees it; the phases of the
/// core's own state machine collapse into these four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IkeSaLifecycle {
    /// IKE_SA_INIT or IKE_AUTH still under way (half-open on the responder).
    Connecting,
    Established,
    /// Our rekey of it is outstanding, or it was replaced and waits for its Delete.
    Rekeying,
    /// Our Delete for it is outstanding.
    Deleting,
}

impl IkeSaLifecycle {
    pub const fn as_str(self) -> &'static str {
        match self {
            IkeSaLifecycle::Connecting => "connecting",
            IkeSaLifecycle::Established => "established",
            IkeSaLifecycle::Rekeying => "rekeying",
            IkeSaLifecycle::Deleting => "deleting",
        }
    }
}

impl std::fmt::Display for IkeSaLifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// See [`IkeEndpoint::sa_counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SaCounts {
    pub ike_sas: usize,
    pub child_sas: usize,
    /// IKE SAs still in IKE_SA_INIT or IKE_AUTH, either role.
    pub connecting: usize,
}

/// A read-only view of one CHILD SA: what was installed, plus its timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaView {
    pub info: ChildSaInfo,
    /// Replaced by a rekey; stays installed only until its Delete (§2.8).
    pub replaced: bool,
    /// When the soft lifetime starts a rekey (§2.8), if scheduled.
    pub rekey_at: Option<Instant>,
    /// When the hard lifetime deletes it, if scheduled.
    pub expire_at: Option<Instant>,
}

impl IkeEndpoint {
    /// An endpoint with `config` and randomness from `rng` (a `u64` seed for
    /// tests and simulation, or `Rng::new(Box::new(SystemRandom))`).
    pub fn new(config: Config, rng: impl Into<Rng>) -> Self {
        let mut rng = rng.into();
        let cookies = CookieJar::new(&mut rng);
        Self {
            cfg: config,
            rng,
            sas: HashMap::new(),
            by_spi: HashMap::new(),
            half_open: HashMap::new(),
            half_open_key: HashMap::new(),
            half_open_by_source: HashMap::new(),
            deadlines: BTreeSet::new(),
            deadline_of: HashMap::new(),
            children: Children::default(),
            cookies,
            cookie_rotate_at: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
            counters: Counters::default(),
            next_sa_id: 0,
            error_budget: (None, 0),
            retry: HashMap::new(),
            attempts: std::collections::HashSet::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Every IKE SA, sorted by id.
    pub fn ike_sas(&self) -> Vec<IkeSaView> {
        let mut v: Vec<IkeSaView> = self
            .sas
            .values()
            .map(|s| IkeSaView {
                id: s.id,
                conn: s.conn,
                initiator: s.is_initiator(),
                spi_i: s.spi_i,
                spi_r: s.spi_r,
                state: s.phase.name(),
                path: s.path,
                rekeyed: s.successor.is_some(),
                algorithms: match &s.phase {
                    crate::sa::Phase::Established(e) => Some(e.keys.algorithms()),
                    _ => None,
                },
                lifecycle: match &s.phase {
                    crate::sa::Phase::Established(e) if e.deleting => IkeSaLifecycle::Deleting,
                    crate::sa::Phase::Established(e) => match e.rekey {
                        crate::sa::IkeRekey::None => IkeSaLifecycle::Established,
                        _ => IkeSaLifecycle::Rekeying,
                    },
                    crate::sa::Phase::Gone => IkeSaLifecycle::Deleting,
                    _ => IkeSaLifecycle::Connecting,
                },
                rekey_at: s.timers.get(crate::timer::IkeTimer::Rekey.idx()),
                expire_at: s.timers.get(crate::timer::IkeTimer::Expire.idx()),
                peer_cert: s.pubkey.peer_cert.clone(),
            })
            .collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Every CHILD SA (as the data plane should have them installed), by
    /// inbound SPI. Borrowed, and without keys: the core has none to give
    /// (they went to the driver in the install event).
    pub fn child_sas(&self) -> impl Iterator<Item = &ChildSaInfo> {
        self.children.iter().map(|c: &ChildSa| &c.info)
    }

    /// The CHILD SA whose inbound SPI is `spi_in`, if the core has it.
    pub fn child_sa(&self, spi_in: u32) -> Option<&ChildSaInfo> {
        self.children.get(spi_in).map(|c| &c.info)
    }

    /// Every CHILD SA with its rekey and expiry deadlines.
    pub fn child_sa_views(&self) -> Vec<ChildSaView> {
        self.children
            .iter()
            .map(|c: &ChildSa| ChildSaView {
                info: c.info.clone(),
                replaced: matches!(c.state, crate::child::ChildState::Rekeyed { .. }),
                rekey_at: c.timers.get(ChildTimer::Rekey.idx()),
                expire_at: c.timers.get(ChildTimer::Expire.idx()),
            })
            .collect()
    }

    /// The SAs that carry traffic, as an operator counts them: IKE SAs past
    /// IKE_AUTH that are not replaced by a rekey (§2.18; the old one only
    /// waits for its Delete), and their CHILD SAs that are not replaced by
    /// a rekey (§2.8). Half-open and other unauthenticated SAs, which a
    /// flood of IKE_SA_INITs can create by the thousand, count apart.
    pub fn sa_counts(&self) -> SaCounts {
        let live: std::collections::HashSet<IkeSaId> = self
            .sas
            .values()
            .filter(|s| {
                matches!(s.phase, crate::sa::Phase::Established(_)) && s.successor.is_none()
            })
            .map(|s| s.id)
            .collect();
        SaCounts {
            ike_sas: live.len(),
            child_sas: self
                .children
                .iter()
                .filter(|c| {
                    live.contains(&c.info.ike)
                        && !matches!(c.state, crate::child::ChildState::Rekeyed { .. })
                })
                .count(),
            connecting: self
                .sas
                .values()
                .filter(|s| !matches!(s.phase, crate::sa::Phase::Established(_)))
                .count(),
        }
    }

    /// Number of half-open (responder, pre-IKE_AUTH) SAs.
    pub fn half_open_count(&self) -> usize {
        self.half_open.len()
    }

    /// The next datagram to send, written into `buf` (its old contents
    /// replaced; a driver reuses one buffer for every datagram, as with
    /// quinn-proto's `poll_transmit`): the complete UDP payload, with the
    /// non-ESP marker in front on a NAT-T path (RFC 3948 §2.2), to be sent
    /// unchanged from `path.local` to `path.remote`.
    #[must_use]
    pub fn poll_transmit_into(&mut self, buf: &mut Vec<u8>) -> Option<Path> {
        let o = self.out.pop_front()?;
        crate::codec::frame_into(buf, &o.message, o.path, self.cfg.ike_port);
        Some(o.path)
    }

    /// The next datagram to send, in a buffer of its own (tests, the
    /// simulator); see [`IkeEndpoint::poll_transmit_into`].
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let mut bytes = Vec::new();
        let path = self.poll_transmit_into(&mut bytes)?;
        Some(Transmit { path, bytes })
    }

    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let sa = self.deadlines.first().map(|(t, _)| *t);
        let retry = self.retry.values().filter_map(ConnRetry::timer).min();
        [
            sa,
            self.children.next_timeout(),
            self.cookie_rotate_at,
            retry,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs `f` on one SA with a context, then files the SA (and any SAs it
    /// created) back and applies follow-ups.
    fn with_sa<R>(
        &mut self,
        now: Instant,
        id: IkeSaId,
        f: impl FnOnce(&mut Cx<'_>, &mut IkeSa) -> R,
    ) -> Option<R> {
        let mut sa = self.sas.remove(&id)?;
        let mut new_sas = Vec::new();
        let mut follow = Vec::new();
        let r = {
            let mut cx = self.cx(now, &mut new_sas, &mut follow);
            f(&mut cx, &mut sa)
        };
        self.file(sa);
        for n in new_sas {
            retired_successor(&self.cfg, &n, &mut follow);
            self.file(n);
        }
        self.follow_ups(now, follow);
        Some(r)
    }

    fn cx<'a>(
        &'a mut self,
        now: Instant,
        new_sas: &'a mut Vec<IkeSa>,
        follow: &'a mut Vec<FollowUp>,
    ) -> Cx<'a> {
        Cx {
            now,
            cfg: &self.cfg,
            rng: &mut self.rng,
            children: &mut self.children,
            out: &mut self.out,
            events: &mut self.events,
            counters: &mut self.counters,
            new_sas,
            next_sa_id: &mut self.next_sa_id,
            follow_ups: follow,
        }
    }

    /// Puts an SA (back) into the tables, or forgets it if it is gone.
    fn file(&mut self, sa: IkeSa) {
        let local = sa.local_spi();
        let gone = matches!(sa.phase, Phase::Gone);
        if let Some(t) = self.deadline_of.remove(&sa.id) {
            self.deadlines.remove(&(t, sa.id));
        }
        if !gone && matches!(sa.phase, Phase::InitAnswered(_)) {
            let key = (sa.spi_i, sa.path.remote);
            if let Some(old) = self.half_open_key.insert(sa.id, key) {
                self.half_open.remove(&old);
                self.forget_source(old.1, sa.id);
            }
            self.half_open.insert(key, sa.id);
            self.half_open_by_source
                .entry(source_of(key.1.ip()))
                .or_default()
                .insert(sa.id);
        } else if let Some(old) = self.half_open_key.remove(&sa.id) {
            if self.half_open.get(&old) == Some(&sa.id) {
                self.half_open.remove(&old);
            }
            self.forget_source(old.1, sa.id);
        }
        if gone {
            if self.by_spi.get(&local) == Some(&sa.id) {
                self.by_spi.remove(&local);
            }
            return;
        }
        if local != 0 {
            self.by_spi.insert(local, sa.id);
        }
        if let Some(t) = sa.next_timeout() {
            self.deadlines.insert((t, sa.id));
            self.deadline_of.insert(sa.id, t);
        }
        self.sas.insert(sa.id, sa);
    }

    fn follow_ups(&mut self, now: Instant, mut list: Vec<FollowUp>) {
        // Follow-ups may create more follow-ups; bound the work per input.
        let mut rounds = 0;
        while !list.is_empty() && rounds < 16 {
            rounds += 1;
            let mut next = Vec::new();
            for f in list {
                match f {
                    FollowUp::Initiate(conn) => self.initiate(now, conn),
                    FollowUp::InitialContact(keep) => self.initial_contact(now, keep),
                    FollowUp::DeleteIke(id) => {
                        let _ = self.with_sa_collect(now, id, &mut next, |cx, sa| {
                            exchange::enqueue(sa, Queued::DeleteIke);
                            exchange::kick(cx, sa);
                        });
                    }
                    FollowUp::Adopt { from, to } => self.adopt(now, from, to),
                    FollowUp::Reauth(old) => self.reauth(now, old),
                    FollowUp::ReauthDone { old, new } => self.reauth_done(old, new, &mut next),
                    FollowUp::Queue(id, op) => {
                        let _ = self.with_sa_collect(now, id, &mut next, |cx, sa| {
                            exchange::enqueue(sa, op);
                            exchange::kick(cx, sa);
                        });
                    }
                }
            }
            list = next;
        }
    }

    /// Moves children along the successor chain; orphans (the chain ends in
    /// nothing) are removed.
    fn adopt(&mut self, now: Instant, from: IkeSaId, to: IkeSaId) {
        let mut to = to;
        let mut hops = 0;
        while let Some(next) = self.sas.get(&to).and_then(|s| s.successor) {
            to = next;
            hops += 1;
            if hops > 64 {
                break;
            }
        }
        if self.sas.contains_key(&to) {
            self.children.retarget(from, to);
        } else {
            let mut ns = Vec::new();
            let mut fu = Vec::new();
            let mut cx = self.cx(now, &mut ns, &mut fu);
            crate::child::remove_all_of(&mut cx, from, crate::event::DownReason::Failed);
        }
    }

    fn with_sa_collect(
        &mut self,
        now: Instant,
        id: IkeSaId,
        follow_out: &mut Vec<FollowUp>,
        f: impl FnOnce(&mut Cx<'_>, &mut IkeSa),
    ) -> Option<()> {
        let mut sa = self.sas.remove(&id)?;
        let mut new_sas = Vec::new();
        let mut follow = Vec::new();
        {
            let mut cx = self.cx(now, &mut new_sas, &mut follow);
            f(&mut cx, &mut sa);
        }
        self.file(sa);
        for n in new_sas {
            retired_successor(&self.cfg, &n, &mut follow);
            self.file(n);
        }
        follow_out.extend(follow);
        Some(())
    }

    fn drop_input(&mut self, r: DropReason) {
        // A flood must not become a flood of log lines: the 1st, 2nd, 4th,
        // 8th … drop of each reason is logged (no clock in a sans-IO core).
        let n = self.counters.count_drop(r);
        if n.is_power_of_two() {
            tracing::debug!(reason = ?r, total = n, "dropped datagram");
        }
    }

    /// Handles one received UDP payload.
    pub fn handle_datagram(&mut self, now: Instant, path: Path, dgram: &[u8]) {
        let mark = self.events.len();
        self.datagram(now, path, dgram);
        self.settle(now, mark);
    }

    fn datagram(&mut self, now: Instant, path: Path, dgram: &[u8]) {
        self.counters.datagrams_in += 1;
        let packet = match crate::codec::unframe(dgram, path, self.cfg.ike_port) {
            Ok(p) => p,
            Err(r) => return self.drop_input(r),
        };
        let (hdr, major) = match crate::codec::peek_header(packet) {
            Ok(h) => h,
            Err(r) => return self.drop_input(r),
        };
        if major != 2 {
            return self.drop_input(DropReason::BadVersion);
        }
        if hdr.exchange == xt::IKE_SA_INIT && !hdr.response && hdr.spi_r == 0 && hdr.initiator {
            return self.init_request(now, path, &hdr, packet);
        }
        // The I flag says whose SPI is ours (§3.1).
        let ours = if hdr.initiator { hdr.spi_r } else { hdr.spi_i };
        let Some(&id) = self.by_spi.get(&ours) else {
            return self.unknown_spi(now, path, &hdr);
        };
        let Some(sa) = self.sas.get(&id) else {
            return self.drop_input(DropReason::UnknownSpi);
        };
        // Both SPIs must match once known; the initiator learns SPIr from the first response.
        let spi_ok =
            hdr.spi_i == sa.spi_i && (hdr.spi_r == sa.spi_r || (sa.spi_r == 0 && !hdr.initiator));
        if !spi_ok || hdr.initiator == sa.is_initiator() {
            return self.drop_input(DropReason::UnknownSpi);
        }
        let _ = self.with_sa(now, id, |cx, sa| {
            if let Err(r) = on_message(cx, sa, &hdr, packet, path) {
                cx.drop_input(r);
            }
        });
    }

    /// §2.21.4: answer a request for an unknown SPI with INVALID_IKE_SPI,
    /// unprotected, rate-limited, never larger than the request.
    fn unknown_spi(&mut self, now: Instant, path: Path, hdr: &Header) {
        self.drop_input(DropReason::UnknownSpi);
        if hdr.response || hdr.exchange == xt::IKE_SA_INIT || !self.error_budget_ok(now) {
            return;
        }
        let mut m = Message::new(Header {
            response: true,
            initiator: !hdr.initiator,
            ..*hdr
        });
        m.push(Payload::Notify(Notify::new(
            notify::INVALID_IKE_SPI,
            Vec::new(),
        )));
        if let Ok(b) = crate::codec::encode_plain(&m) {
            self.counters.datagrams_out += 1;
            self.out.push_back(Outgoing { path, message: b });
        }
    }

    fn error_budget_ok(&mut self, now: Instant) -> bool {
        let (start, used) = &mut self.error_budget;
        match start {
            Some(s) if now.duration_since(*s) < std::time::Duration::from_secs(1) => {}
            _ => {
                *start = Some(now);
                *used = 0;
            }
        }
        if *used >= self.cfg.error_reply_rate {
            self.counters.count_drop(DropReason::RateLimited);
            return false;
        }
        *used += 1;
        true
    }

    /// A new IKE_SA_INIT request: retransmit, cookie, refuse, or create.
    fn init_request(&mut self, now: Instant, path: Path, hdr: &Header, packet: &[u8]) {
        // A retransmission of a request we answered: same response (§2.1).
        if let Some(id) = self.half_open.get(&(hdr.spi_i, path.remote)).copied() {
            if let Some(sa) = self.sas.get(&id) {
                if let Some(resp) = sa.responses.cached(0).and_then(|c| c.first()).cloned() {
                    self.counters.count_drop(DropReason::Retransmit);
                    self.counters.datagrams_out += 1;
                    self.out.push_back(Outgoing {
                        path,
                        message: resp,
                    });
                }
            }
            return;
        }
        let msg = match crate::codec::decode_plain(packet) {
            Ok(m) => m,
            Err(_) => return self.drop_input(DropReason::Malformed),
        };
        let source = source_of(path.remote.ip());
        let held = self
            .half_open_by_source
            .get(&source)
            .map_or(0, BTreeSet::len);
        let at_quota = self.cfg.half_open_per_source > 0 && held >= self.cfg.half_open_per_source;
        // A full table admits only a source holding fewer than the largest
        // holder, which gives up its oldest (checked before any work).
        let full = self.half_open.len() >= self.cfg.max_half_open;
        if full && !at_quota && self.largest_source(held).is_none() {
            return self.drop_input(DropReason::TooManyHalfOpen);
        }
        // §2.6: past the threshold, only requests with a valid cookie make
        // state. A source at its quota must prove it receives our answers
        // too, so a spoofer cannot use up a real peer's quota.
        if self.half_open.len() >= self.cfg.cookie_threshold || at_quota {
            if self.cookie_rotate_at.is_none() {
                self.cookie_rotate_at = Some(now + self.cfg.cookie_rotation);
            }
            let Some(ni) = msg.nonce() else {
                return self.drop_input(DropReason::MissingPayload);
            };
            let presented = match msg.payloads.first() {
                Some(Payload::Notify(n)) if n.ty == notify::COOKIE => Some(n.data.clone()),
                _ => None,
            };
            match presented {
                Some(c) if self.cookies.verify(&c, ni, path.remote.ip(), hdr.spi_i) => {}
                Some(_) => {
                    self.counters.count_drop(DropReason::BadCookie);
                    return self.send_cookie(path, hdr, ni);
                }
                None => return self.send_cookie(path, hdr, ni),
            }
        }
        if at_quota {
            // A source that answers COOKIEs still never holds more than its
            // quota: its newest attempt replaces its oldest — unless that one
            // is young enough to be an honest exchange whose IKE_AUTH is on
            // its way. Then the new request waits for its retransmission, so
            // a burst of real set-ups from one address (many tunnels, many
            // clients behind one NAT) completes instead of each attempt
            // cancelling one that was about to.
            self.counters.count_drop(DropReason::HalfOpenPerSource);
            if !self.oldest_half_open_is_stale(source, now) {
                return;
            }
            self.evict_oldest(source);
        } else if full {
            match self.largest_source(held) {
                Some(big) => {
                    self.counters.count_drop(DropReason::TooManyHalfOpen);
                    self.evict_oldest(big);
                }
                None => return self.drop_input(DropReason::TooManyHalfOpen),
            }
        }
        let cands = ike_sa_init::candidates(&self.cfg, &path);
        let mut new_sas = Vec::new();
        let mut follow = Vec::new();
        let answer = {
            let mut cx = self.cx(now, &mut new_sas, &mut follow);
            ike_sa_init::respond(&mut cx, path, &msg, packet, cands)
        };
        match answer {
            ike_sa_init::Answer::Created(sa) => self.file(*sa),
            ike_sa_init::Answer::Refused(bytes) => {
                self.counters.datagrams_out += 1;
                self.out.push_back(Outgoing {
                    path,
                    message: bytes,
                });
            }
            ike_sa_init::Answer::Drop(r) => self.drop_input(r),
        }
    }

    fn send_cookie(&mut self, path: Path, hdr: &Header, ni: &[u8]) {
        self.counters.count_drop(DropReason::CookieRequired);
        let cookie = self.cookies.make(ni, path.remote.ip(), hdr.spi_i);
        let mut m = Message::new(Header {
            spi_r: 0,
            response: true,
            initiator: false,
            message_id: 0,
            ..*hdr
        });
        m.push(Payload::Notify(Notify::new(notify::COOKIE, cookie)));
        if let Ok(b) = crate::codec::encode_plain(&m) {
            self.counters.datagrams_out += 1;
            self.out.push_back(Outgoing { path, message: b });
        }
    }

    fn forget_source(&mut self, addr: SocketAddr, id: IkeSaId) {
        let src = source_of(addr.ip());
        if let Some(set) = self.half_open_by_source.get_mut(&src) {
            set.remove(&id);
            if set.is_empty() {
                self.half_open_by_source.remove(&src);
            }
        }
    }

    /// The source holding the most half-open SAs, if it holds more than
    /// `held + 1` (admitting one more for a source holding `held` must not
    /// merely swap the two). Runs only when the table is full.
    fn largest_source(&self, held: usize) -> Option<IpAddr> {
        self.half_open_by_source
            .iter()
            .max_by_key(|(_, set)| set.len())
            .filter(|(_, set)| set.len() > held + 1)
            .map(|(src, _)| *src)
    }

    /// Whether the oldest half-open SA of `source` has waited for its
    /// IKE_AUTH longer than an honest initiator takes
    /// ([`HALF_OPEN_GRACE`]).
    fn oldest_half_open_is_stale(&self, source: IpAddr, now: Instant) -> bool {
        self.half_open_by_source
            .get(&source)
            .and_then(|set| set.first())
            .and_then(|id| self.sas.get(id))
            .is_none_or(|sa| now.saturating_duration_since(sa.created) >= HALF_OPEN_GRACE)
    }

    /// Forgets the oldest half-open SA of `source` (it never came up: no event).
    fn evict_oldest(&mut self, source: IpAddr) {
        let Some(id) = self
            .half_open_by_source
            .get(&source)
            .and_then(|set| set.first().copied())
        else {
            return;
        };
        if let Some(mut sa) = self.sas.remove(&id) {
            sa.phase = Phase::Gone;
            self.file(sa);
        } else {
            self.half_open_by_source.remove(&source);
        }
    }

    /// Half-open SAs of one source (see [`Config::half_open_per_source`]).
    pub fn half_open_from(&self, ip: IpAddr) -> usize {
        self.half_open_by_source
            .get(&source_of(ip))
            .map_or(0, BTreeSet::len)
    }

    /// Handles a command from the driver.
    pub fn handle_command(&mut self, now: Instant, cmd: Command) {
        let mark = self.events.len();
        self.command(now, cmd);
        self.settle(now, mark);
    }

    fn command(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Initiate { conn } => {
                let keep_up = self.cfg.connection(conn).is_some_and(|c| c.retry.keep_up);
                let st = self.retry.entry(conn).or_default();
                st.want_up = keep_up;
                st.reset();
                self.initiate(now, conn);
            }
            Command::Acquire { conn } => {
                let wait = self.retry.get(&conn).and_then(|r| r.retry_at);
                let has_peer = self
                    .cfg
                    .connection(conn)
                    .is_some_and(|c| c.remote_addr.is_some());
                if has_peer && !self.conn_alive(conn) && wait.is_none_or(|t| t <= now) {
                    tracing::debug!(conn = conn.0, "traffic needs the connection: initiating");
                    self.initiate(now, conn);
                }
            }
            Command::Close { conn } => {
                if let Some(st) = self.retry.get_mut(&conn) {
                    st.want_up = false;
                    st.restart = false;
                    st.reset();
                }
                let ids: Vec<IkeSaId> = self
                    .sas
                    .values()
                    .filter(|s| s.conn == conn)
                    .map(|s| s.id)
                    .collect();
                for id in ids {
                    self.delete_ike(now, id);
                }
            }
            Command::CreateChild { ike, child } => {
                self.queue(now, ike, Queued::CreateChild { child })
            }
            Command::RekeyChild { spi_in } => match self.children.get(spi_in).map(ChildSa::ike) {
                Some(ike) => self.queue(now, ike, Queued::RekeyChild { spi_in }),
                None => self.command_failed("no such CHILD SA"),
            },
            Command::DeleteChild { spi_in } => match self.children.get(spi_in).map(ChildSa::ike) {
                Some(ike) => self.queue(now, ike, Queued::DeleteChild { spi_in }),
                None => self.command_failed("no such CHILD SA"),
            },
            Command::RekeyIke { ike } => self.queue(now, ike, Queued::RekeyIke),
            Command::DeleteIke { ike } => self.delete_ike(now, ike),
            Command::Dpd { ike } => self.queue(now, ike, Queued::Dpd),
            Command::Terminate => {
                let ids: Vec<IkeSaId> = self.sas.keys().copied().collect();
                for id in ids {
                    self.delete_ike(now, id);
                }
            }
        }
    }

    fn command_failed(&mut self, what: &'static str) {
        self.events.push_back(Event::Failure {
            ike: None,
            conn: None,
            reason: FailureReason::Command(what),
        });
    }

    fn delete_ike(&mut self, now: Instant, ike: IkeSaId) {
        let r = self.with_sa(now, ike, |cx, sa| match sa.phase {
            Phase::Established(_) => {
                sa.queue.clear();
                exchange::enqueue(sa, Queued::DeleteIke);
                exchange::kick(cx, sa);
                // Deleting is our decision, not the peer's: its CHILD SAs
                // stop carrying traffic now, whether or not the peer ever
                // answers the Delete (a dead peer would hold them for the
                // whole retransmission budget, RFC 7296 §1.4.1).
                if sa.successor.is_none() {
                    crate::child::remove_all_of(cx, sa.id, crate::event::DownReason::Local);
                }
            }
            _ => exchange::informational::close(cx, sa, crate::event::DownReason::Local),
        });
        if r.is_none() {
            self.command_failed("no such IKE SA");
        }
    }

    fn queue(&mut self, now: Instant, ike: IkeSaId, op: Queued) {
        let r = self.with_sa(now, ike, |cx, sa| {
            if sa.phase.established().is_none() {
                return false;
            }
            exchange::enqueue(sa, op);
            exchange::kick(cx, sa);
            true
        });
        if r != Some(true) {
            self.command_failed("IKE SA not established");
        }
    }

    fn initiate(&mut self, now: Instant, conn: ConnId) {
        self.start_sa(now, conn);
    }

    /// Starts a new IKE SA for `old`'s connection that replaces it once up
    /// (RFC 7296 §2.8.3: make before break), unless one is under way or
    /// `old` is already on its way out.
    fn reauth(&mut self, now: Instant, old: IkeSaId) {
        let Some(sa) = self.sas.get(&old) else {
            return;
        };
        let live = sa.phase.established().is_some_and(|e| !e.deleting) && sa.successor.is_none();
        let busy = sa.reauth_by.is_some_and(|n| self.sas.contains_key(&n));
        if !live || busy {
            return;
        }
        let conn = sa.conn;
        tracing::info!(ike = old.0, "reauthenticating the IKE SA");
        if let Some(new) = self.start_sa(now, conn) {
            if let Some(n) = self.sas.get_mut(&new) {
                n.reauth_of = Some(old);
            }
            if let Some(o) = self.sas.get_mut(&old) {
                o.reauth_by = Some(new);
            }
        }
    }

    /// The reauthenticated SA is up: its first CHILD SA came with
    /// IKE_AUTH; the old SA's other children are created again in it, and
    /// the old SA is deleted (its children with it, §1.4.1).
    fn reauth_done(&self, old: IkeSaId, new: IkeSaId, next: &mut Vec<FollowUp>) {
        let mut others: Vec<usize> = self
            .children
            .iter()
            .filter(|c| c.ike() == old && c.info.child != 0)
            .map(|c| c.info.child)
            .collect();
        others.sort_unstable();
        others.dedup();
        for child in others {
            next.push(FollowUp::Queue(new, Queued::CreateChild { child }));
        }
        next.push(FollowUp::DeleteIke(old));
        tracing::info!(old = old.0, new = new.0, "IKE SA reauthenticated");
    }

    /// Starts IKE_SA_INIT for `conn`; the new SA's id, or `None` (reported
    /// as a failure event).
    fn start_sa(&mut self, now: Instant, conn: ConnId) -> Option<IkeSaId> {
        let Some(c) = self.cfg.connection(conn) else {
            self.command_failed("unknown connection");
            return None;
        };
        let Some(remote) = c.remote_addr else {
            self.command_failed("connection has no remote address");
            return None;
        };
        let local = c.local_addr.unwrap_or_else(|| {
            let ip: std::net::IpAddr = if remote.is_ipv4() {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            };
            SocketAddr::new(ip, self.cfg.ike_port)
        });
        // RFC 7296 §2.4: INITIAL_CONTACT asserts that this is the only IKE
        // SA between the two identities, and the peer deletes the others.
        // With another one here, up or on its way (a burst of connections
        // between the same identities, a make-before-break renegotiation),
        // it would tear that one down.
        let ids = (&c.local_id, &c.remote_id);
        let initial_contact = !self.sas.values().any(|s| {
            !matches!(s.phase, Phase::Gone)
                && self
                    .cfg
                    .connection(s.conn)
                    .is_some_and(|o| (&o.local_id, &o.remote_id) == ids)
        });
        let path = Path::new(local, remote);
        let mut new_sas = Vec::new();
        let mut follow = Vec::new();
        let r = {
            let mut cx = self.cx(now, &mut new_sas, &mut follow);
            ike_sa_init::start(&mut cx, conn, path)
        };
        match r {
            Ok(mut sa) => {
                sa.initial_contact = initial_contact;
                let id = sa.id;
                self.file(sa);
                self.attempts.insert(id);
                Some(id)
            }
            Err(e) => {
                self.events.push_back(Event::Failure {
                    ike: None,
                    conn: Some(conn),
                    reason: FailureReason::Protocol(e),
                });
                None
            }
        }
    }

    /// Fires every expired timer. Spurious calls are no-ops.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mark = self.events.len();
        self.timeout(now);
        self.retry_due(now);
        self.settle(now, mark);
    }

    fn timeout(&mut self, now: Instant) {
        if self.cookie_rotate_at.is_some_and(|t| t <= now) {
            self.cookies.rotate(&mut self.rng);
            self.cookie_rotate_at = Some(now + self.cfg.cookie_rotation);
        }
        let due: Vec<IkeSaId> = self
            .deadlines
            .range(..=(now, IkeSaId(u64::MAX)))
            .map(|(_, id)| *id)
            .collect();
        for id in due {
            let _ = self.with_sa(now, id, exchange::on_timeout);
        }
        for (spi, t) in self.children.take_expired(now) {
            let Some(ike) = self.children.get(spi).map(ChildSa::ike) else {
                continue;
            };
            let _ = self.with_sa(now, ike, |cx, sa| {
                match t {
                    ChildTimer::Rekey => exchange::enqueue(sa, Queued::RekeyChild { spi_in: spi }),
                    // Past the hard lifetime the SA carries nothing (RFC 7296
                    // §2.8, RFC 4301 §4.4.2.1): out of the data plane now,
                    // whatever exchange is outstanding; the peer hears of it
                    // by a Delete once the window allows.
                    ChildTimer::Expire => {
                        crate::child::remove(cx, spi, crate::event::DownReason::Expired);
                        exchange::enqueue(sa, Queued::DeleteExpired { spi_in: spi });
                    }
                }
                exchange::kick(cx, sa);
            });
        }
    }
}

/// One datagram for an existing SA: window check, decryption, dispatch.
fn on_message(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    hdr: &Header,
    packet: &[u8],
    path: Path,
) -> Result<(), DropReason> {
    let mid = hdr.message_id;
    if hdr.response {
        let Some(o) = sa.requests.get(mid) else {
            return Err(DropReason::UnexpectedResponse);
        };
        if o.exchange.exchange_type() != hdr.exchange {
            return Err(DropReason::WrongExchange);
        }
        if matches!(o.exchange, Pending::IkeSaInit) {
            let msg = crate::codec::decode_plain(packet).map_err(|_| DropReason::Malformed)?;
            return match ike_sa_init::on_response(cx, sa, &msg, packet) {
                ike_sa_init::InitResult::Ignored(r) => Err(r),
                _ => Ok(()),
            };
        }
        if sa.phase.keys().is_none() {
            return Err(DropReason::UnexpectedResponse);
        }
        if let Some(r) = invalid_spi_hint(cx, sa, packet) {
            return Err(r);
        }
        let keys = sa.phase.keys().ok_or(DropReason::UnexpectedResponse)?;
        let decoded = crate::codec::decode_protected_or_fragment(packet, keys, !sa.is_initiator());
        let msg = match reassemble(cx, sa, hdr, decoded) {
            Ok(Some(m)) => m,
            // A fragment kept: the response is not complete yet.
            Ok(None) => return Ok(()),
            Err(crate::codec::DecodeError::Drop(r)) => return Err(r),
            // Authentic but broken: nothing to answer to a response; count it.
            Err(crate::codec::DecodeError::Inner(_)) => return Err(DropReason::Malformed),
        };
        sa.heard(cx);
        crate::ext::on_recv_on(cx, sa, crate::ext::RecvStage::Response, &msg, path)?;
        let Some(o) = sa.requests.complete(mid) else {
            return Err(DropReason::UnexpectedResponse);
        };
        sa.arm_retransmit();
        exchange::handle_response(cx, sa, o.exchange, &msg);
        return Ok(());
    }
    // A request from the peer.
    if hdr.exchange == xt::IKE_SA_INIT {
        return Err(DropReason::WrongExchange);
    }
    let keys = sa.phase.keys().ok_or(DropReason::WrongExchange)?;
    let from_initiator = sa.role == crate::sa::Role::OriginalResponder;
    let decoded = match crate::codec::decode_protected_or_fragment(packet, keys, from_initiator) {
        // A retransmitted IKE_INTERMEDIATE request still carries the keys
        // its exchange replaced (RFC 9370 §2.2.2).
        Err(crate::codec::DecodeError::Drop(DropReason::BadIcv))
            if sa.phase.prev_keys().is_some() =>
        {
            let prev = sa.phase.prev_keys().ok_or(DropReason::BadIcv)?;
            crate::codec::decode_protected_or_fragment(packet, prev, from_initiator)
        }
        d => d,
    };
    match sa.responses.check(mid) {
        RequestCheck::Retransmit(cached) => {
            // Only an authentic retransmission gets the cached answer back;
            // of a fragmented one, only its first fragment (RFC 7383
            // §2.6.1), so one request cannot draw many answers.
            let answer = match &decoded {
                Ok(crate::codec::Protected::Message(_)) => true,
                Ok(crate::codec::Protected::Fragment(f)) => f.number == 1,
                Err(_) => return Err(DropReason::BadIcv),
            };
            if answer {
                let c = cached.to_vec();
                for d in c {
                    cx.transmit(path, d);
                }
            }
            cx.counters.count_drop(DropReason::Retransmit);
            return Ok(());
        }
        RequestCheck::Stale => return Err(DropReason::StaleRetransmit),
        RequestCheck::OutOfWindow => return Err(DropReason::BadMessageId),
        RequestCheck::New => {}
    }
    let msg = match reassemble(cx, sa, hdr, decoded) {
        Ok(Some(m)) => m,
        // A fragment kept: the request is not complete yet.
        Ok(None) => return Ok(()),
        Err(crate::codec::DecodeError::Drop(r)) => return Err(r),
        Err(crate::codec::DecodeError::Inner(e)) => {
            // §2.21.2: an authentic request we cannot parse gets an error answer.
            let ty = e.notify().unwrap_or(notify::INVALID_SYNTAX);
            let data = match e {
                crate::error::IkeError::PeerIncompatible(
                    crate::error::PeerIncompatible::UnsupportedCriticalPayload(t),
                ) => vec![t],
                _ => Vec::new(),
            };
            let _ = sa.send_error_response(cx, hdr.exchange, mid, ty, data);
            return Err(DropReason::Malformed);
        }
    };
    sa.heard(cx);
    crate::ext::on_recv_on(cx, sa, crate::ext::RecvStage::Request, &msg, path)?;
    exchange::handle_request(cx, sa, &msg)
}

/// A whole message, or a fragment (RFC 7383) that is kept until its
/// message is complete (`None` meanwhile).
fn reassemble(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    hdr: &Header,
    decoded: Result<crate::codec::Protected, crate::codec::DecodeError>,
) -> Result<Option<crate::msg::Message>, crate::codec::DecodeError> {
    use crate::codec::{DecodeError, Protected};
    let f = match decoded? {
        Protected::Message(m) => return Ok(Some(m)),
        Protected::Fragment(f) => f,
    };
    // Fragments are only ours to take once both sides announced them.
    if !sa.frag.enabled {
        return Err(DecodeError::Drop(DropReason::BadFragment));
    }
    match sa.frag.add(cx.now, hdr.message_id, hdr.response, f) {
        Ok(None) => Ok(None),
        Ok(Some(whole)) => {
            crate::codec::decode_inner(*hdr, whole.first_inner, &whole.plain, 0).map(Some)
        }
        Err(r) => Err(DecodeError::Drop(r)),
    }
}

/// How often an IKE SA acts on an unauthenticated INVALID_IKE_SPI hint.
const HINT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// RFC 7296 §1.5: an unprotected INVALID_IKE_SPI answering one of our
/// requests on an established SA says the peer may have lost its state
/// (it restarted). It MUST NOT change the SA, but is a hint to check: we
/// start a new IKE SA beside the old one (make-before-break, as a
/// reauthentication does, §2.8.3). If the peer really restarted, the new
/// SA comes up in one round trip instead of after the whole retransmission
/// budget, and replaces the old one; if the hint was forged, the old SA is
/// replaced by an equally good one. At most once per [`HINT_INTERVAL`].
fn invalid_spi_hint(cx: &mut Cx<'_>, sa: &mut IkeSa, packet: &[u8]) -> Option<DropReason> {
    let msg = crate::codec::decode_plain(packet).ok()?;
    if !matches!(msg.payloads.first(), Some(Payload::Notify(n)) if n.ty == notify::INVALID_IKE_SPI)
    {
        return None;
    }
    let live = sa
        .phase
        .established()
        .is_some_and(|e| !e.deleting && matches!(e.rekey, crate::sa::IkeRekey::None));
    let recent = sa
        .last_hint
        .is_some_and(|t| cx.now.saturating_duration_since(t) < HINT_INTERVAL);
    if live && !recent && sa.successor.is_none() {
        sa.last_hint = Some(cx.now);
        tracing::info!(
            ike = sa.id.0,
            "the peer does not know this IKE SA (restarted?): negotiating a new one beside it"
        );
        cx.follow_ups.push(FollowUp::Reauth(sa.id));
    }
    Some(DropReason::Unprotected)
}

impl IkeEndpoint {
    /// Traffic arrived on the CHILD SA whose inbound SPI is `spi_in` (the
    /// data plane counted authenticated ESP). RFC 7296 §2.4: a fresh
    /// protected message on any CHILD SA proves the peer alive, so the IKE
    /// SA's liveness check starts over instead of probing a busy peer.
    /// Unknown SPIs are ignored (the SA may have gone meanwhile).
    ///
    /// `now` is when the traffic arrived, which may be a little before the
    /// instant of the call (the data plane reports it through a queue); an
    /// older report than what the SA already heard changes nothing.
    pub fn child_traffic_seen(&mut self, now: Instant, spi_in: u32) {
        if let Some(ike) = self.children.get(spi_in).map(ChildSa::ike) {
            let _ = self.with_sa(now, ike, |cx, sa| sa.heard(cx));
        }
    }

    /// The data plane says the CHILD SA pair whose inbound SPI is `spi_in`
    /// must be rekeyed before its lifetime says so: its outbound SA nears
    /// the end of its sequence numbers (RFC 4303 §3.3.3: a counter must
    /// not cycle; a new SA is needed), or has reached it. Rekeys it now
    /// (RFC 7296 §2.8) unless a rekey or delete of it is under way. The
    /// soft-lifetime timer stays armed: should this rekey fail, it tries
    /// again; once the pair is replaced it finds nothing to do. Unknown
    /// SPIs are ignored (the SA may have gone meanwhile).
    pub fn child_rekey_needed(&mut self, now: Instant, spi_in: u32) {
        let Some(c) = self.children.get(spi_in) else {
            return;
        };
        if c.state != crate::child::ChildState::Installed {
            return;
        }
        let ike = c.ike();
        tracing::info!(
            spi_in = %format_args!("{spi_in:08x}"),
            "the data plane asks for a rekey (sequence numbers running out)"
        );
        let mark = self.events.len();
        let _ = self.with_sa(now, ike, |cx, sa| {
            exchange::enqueue(sa, crate::sa::Queued::RekeyChild { spi_in });
            exchange::kick(cx, sa);
        });
        self.settle(now, mark);
    }

    /// Retry state of a connection, for the driver's status display.
    pub fn retry_status(&self, conn: ConnId) -> RetryStatus {
        self.retry
            .get(&conn)
            .map(RetryStatus::from)
            .unwrap_or(RetryStatus {
                keep_up: false,
                failures: 0,
                retry_at: None,
                last_error: None,
                gave_up: false,
            })
    }

    /// Whether an IKE SA of `conn` is alive: negotiating, or established
    /// and neither being deleted nor replaced.
    fn conn_alive(&self, conn: ConnId) -> bool {
        self.sas.values().any(|s| {
            s.conn == conn
                && s.successor.is_none()
                && match &s.phase {
                    Phase::Gone => false,
                    Phase::Established(e) => !e.deleting,
                    _ => true,
                }
        })
    }

    /// Starts the attempts whose back-off ran out.
    fn retry_due(&mut self, now: Instant) {
        let due: Vec<ConnId> = self
            .retry
            .iter()
            .filter(|(_, r)| r.timer().is_some_and(|t| t <= now))
            .map(|(c, _)| *c)
            .collect();
        for conn in due {
            if let Some(r) = self.retry.get_mut(&conn) {
                r.retry_at = None;
            }
            if !self.conn_alive(conn) {
                let name = self.cfg.connection(conn).map_or("?", |c| c.name.as_str());
                tracing::info!(
                    conn = name,
                    "back-off over: negotiating the connection again"
                );
                self.initiate(now, conn);
            }
        }
    }

    /// After an input: looks at what it did to each connection (the events
    /// it queued from `mark` on) and keeps connections up that should be —
    /// a lost SA is negotiated again at once, a failed attempt again after
    /// back-off (RFC 7296 §2.4: after a peer is found dead or restarted,
    /// new SAs are the driver's business; here it is the core's).
    fn settle(&mut self, now: Instant, mut mark: usize) {
        // Attempts started here can fail at once and queue more events.
        for _ in 0..4 {
            let end = self.events.len();
            if mark >= end {
                return;
            }
            #[derive(Default)]
            struct Seen {
                up: bool,
                lost: Option<crate::event::DownReason>,
                failed: Option<FailureReason>,
            }
            let mut seen: Vec<(ConnId, Seen)> = Vec::new();
            let at = |seen: &mut Vec<(ConnId, Seen)>, c: ConnId| -> usize {
                match seen.iter().position(|(x, _)| *x == c) {
                    Some(i) => i,
                    None => {
                        seen.push((c, Seen::default()));
                        seen.len() - 1
                    }
                }
            };
            for e in self.events.range(mark..end) {
                use crate::event::DownReason as D;
                match e {
                    Event::ChildSaInstalled { info, .. } => {
                        let i = at(&mut seen, info.conn);
                        seen[i].1.up = true;
                    }
                    Event::IkeSaDown { conn, reason, .. }
                        if matches!(reason, D::PeerDead | D::PeerDeleted | D::Expired) =>
                    {
                        let i = at(&mut seen, *conn);
                        seen[i].1.lost = Some(*reason);
                    }
                    Event::Failure {
                        conn: Some(conn),
                        reason,
                        ike,
                    } if ike.is_none_or(|id| self.attempts.contains(&id)) => {
                        let i = at(&mut seen, *conn);
                        seen[i].1.failed = Some(reason.clone());
                    }
                    _ => {}
                }
            }
            mark = end;
            let sas = &self.sas;
            self.attempts.retain(|id| sas.contains_key(id));
            for (conn, s) in seen {
                let dpd_action = self.cfg.connection(conn).map(|c| c.dpd_action);
                let restart = self.cfg.connection(conn).is_some_and(|c| {
                    c.dpd_action == crate::config::DpdAction::Restart && c.remote_addr.is_some()
                });
                let retry_cfg = self
                    .cfg
                    .connection(conn)
                    .map(|c| c.retry)
                    .unwrap_or_default();
                let alive = self.conn_alive(conn);
                let random = self.rng.u64();
                let st = self.retry.entry(conn).or_default();
                if s.up {
                    st.succeeded();
                }
                if alive {
                    continue;
                }
                if let Some(reason) = s.lost {
                    let dead = reason == crate::event::DownReason::PeerDead;
                    if dead && restart {
                        st.restart = true;
                    }
                    // `clear` and `hold` say what to do with a dead peer's
                    // connection: leave it down (until the operator, or for
                    // `hold` traffic, starts it), even if it is kept up.
                    let leave_down = dead
                        && matches!(
                            dpd_action,
                            Some(crate::config::DpdAction::Clear | crate::config::DpdAction::Hold)
                        );
                    st.last_error = Some(LastError::Lost(reason));
                    st.retry_at = None;
                    if st.automatic() && !leave_down {
                        let name = self.cfg.connection(conn).map_or("?", |c| c.name.as_str());
                        tracing::info!(conn = name, "the IKE SA was lost: negotiating it again");
                        self.initiate(now, conn);
                    }
                } else if let Some(f) = s.failed {
                    if st.failed(now, &retry_cfg, f, random) && (st.want_up || st.restart) {
                        let name = self.cfg.connection(conn).map_or("?", |c| c.name.as_str());
                        tracing::warn!(
                            conn = name,
                            tries = retry_cfg.keyingtries,
                            "giving up on the connection after keyingtries failed attempts"
                        );
                    }
                }
            }
        }
    }

    /// RFC 7296 §2.4: the peer said INITIAL_CONTACT when it authenticated
    /// `keep`, so any other IKE SA between the same two identities is left
    /// over from before it restarted: remove those (and their CHILD SAs)
    /// now instead of waiting for DPD. An SA the peer proved alive after
    /// `keep` began is not stale (both sides initiating at once) and stays.
    fn initial_contact(&mut self, now: Instant, keep: IkeSaId) {
        let Some((ids, began)) = self.sas.get(&keep).and_then(|s| {
            let e = s.phase.established()?;
            Some(((e.local_id.clone(), e.remote_id.clone()), s.created))
        }) else {
            return;
        };
        let stale: Vec<IkeSaId> = self
            .sas
            .values()
            .filter(|s| s.id != keep && s.last_heard < began)
            .filter(|s| {
                s.phase
                    .established()
                    .is_some_and(|e| (e.local_id.clone(), e.remote_id.clone()) == ids)
            })
            .map(|s| s.id)
            .collect();
        for id in stale {
            tracing::info!(
                ike = id.0,
                "the peer restarted (INITIAL_CONTACT): removing its old IKE SA"
            );
            let _ = self.with_sa(now, id, |cx, sa| {
                exchange::informational::close(cx, sa, crate::event::DownReason::PeerDead)
            });
        }
    }
}

impl IkeEndpoint {
    /// Replaces the connection table (a configuration reload). `table[i]`
    /// is the connection at `ConnId(i)`, or `None` for one that is removed.
    ///
    /// IKE SAs keep the `ConnId` they were made with, so a slot is never
    /// reused for another connection: a kept slot must keep its identities,
    /// keys and addresses ([`ConnConfig::same_credentials`]; other settings
    /// may change), a changed connection is removed and added at a new slot
    /// at the end, and a removed slot stays removed. Anything else is
    /// refused with nothing applied.
    ///
    /// A removed connection is dead from this call on: no IKE_SA_INIT or
    /// IKE_AUTH selects it, its SAs that are still half-open or in IKE_AUTH
    /// are dropped (a responder's half-open SA that could still become
    /// another connection keeps only those), and its established IKE SAs
    /// are deleted with the peer (their CHILD SAs with them, §1.4.1).
    pub fn set_connections(
        &mut self,
        now: Instant,
        table: Vec<Option<ConnConfig>>,
    ) -> Result<(), ConnTableError> {
        let old = self.cfg.connections.len();
        if table.len() < old {
            return Err(ConnTableError::Shrunk {
                old,
                new: table.len(),
            });
        }
        let mut retire = Vec::new();
        for (i, new) in table.iter().enumerate().take(old) {
            let id = ConnId(i);
            match (self.cfg.connection(id), new) {
                (None, Some(_)) => return Err(ConnTableError::Revived(id)),
                (Some(cur), Some(n)) if !cur.same_credentials(n) => {
                    return Err(ConnTableError::ChangedInPlace(id))
                }
                (Some(_), None) => retire.push(id),
                _ => {}
            }
        }
        if let Some(i) = (old..table.len()).find(|&i| table[i].is_none()) {
            return Err(ConnTableError::EmptyNewSlot(ConnId(i)));
        }
        let mut connections = Vec::with_capacity(table.len());
        for (i, new) in table.into_iter().enumerate() {
            match (new, self.cfg.connections.get(i)) {
                (Some(c), _) => connections.push(c),
                (None, Some(cur)) if self.cfg.retired.contains(&ConnId(i)) => {
                    connections.push(cur.clone())
                }
                (None, Some(cur)) => {
                    // The slot keeps a placeholder whose keys nobody knows,
                    // in case a lookup ever bypasses `Config::connection`.
                    let mut c = cur.clone();
                    let dead = crate::config::PskKey::new(self.rng.bytes(32));
                    c.local_auth = crate::config::AuthConfig::Psk(dead.clone());
                    c.remote_auth = crate::config::AuthConfig::Psk(dead);
                    connections.push(c);
                }
                (None, None) => {}
            }
        }
        self.cfg.connections = connections;
        // A connection removed, no longer configured to stay up, or without
        // a peer address to start it with stops its retries (before its SAs
        // are closed below, which would otherwise count as a loss).
        for (i, c) in self.cfg.connections.iter().enumerate() {
            let id = ConnId(i);
            if let Some(r) = self.retry.get_mut(&id) {
                let gone = retire.contains(&id) || self.cfg.retired.contains(&id);
                if gone || !c.retry.keep_up || c.remote_addr.is_none() {
                    r.want_up = false;
                }
                if gone || c.remote_addr.is_none() {
                    r.restart = false;
                }
            }
        }
        self.cfg.retired.extend(retire.iter().copied());
        if !retire.is_empty() {
            self.close_retired(now);
        }
        Ok(())
    }

    /// Changes the admission settings of new IKE_SA_INITs (a reload):
    /// [`Config::cookie_threshold`], [`Config::max_half_open`],
    /// [`Config::half_open_per_source`]. Half-open SAs already admitted stay.
    pub fn set_admission(
        &mut self,
        cookie_threshold: usize,
        max_half_open: usize,
        half_open_per_source: usize,
    ) {
        self.cfg.cookie_threshold = cookie_threshold;
        self.cfg.max_half_open = max_half_open;
        self.cfg.half_open_per_source = half_open_per_source;
    }

    /// Ends every SA that still depends on a removed connection. Its CHILD
    /// SAs leave the data plane at once: a removed tunnel carries nothing,
    /// even while the Delete of its IKE SA waits for an answer.
    fn close_retired(&mut self, now: Instant) {
        let dead: Vec<u32> = self
            .children
            .iter()
            .filter(|c| self.cfg.retired.contains(&c.info.conn))
            .map(|c| c.info.spi_in)
            .collect();
        {
            let (mut ns, mut fu) = (Vec::new(), Vec::new());
            let mut cx = self.cx(now, &mut ns, &mut fu);
            for spi in dead {
                crate::child::remove(&mut cx, spi, crate::event::DownReason::Local);
            }
        }
        let mut ids: Vec<IkeSaId> = self.sas.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            let _ = self.with_sa(now, id, |cx, sa| {
                let cfg = cx.cfg;
                let retired = |c: &ConnId| cfg.retired.contains(c);
                if let Phase::InitAnswered(st) = &mut sa.phase {
                    // Still unauthenticated: it may become only a live connection.
                    st.candidates.retain(|c| !retired(c));
                    match st.candidates.first() {
                        Some(&c) => sa.conn = c,
                        None => sa.phase = Phase::Gone,
                    }
                    return;
                }
                if !retired(&sa.conn) {
                    return;
                }
                match &sa.phase {
                    Phase::Established(e) => {
                        if !e.deleting {
                            sa.queue.clear();
                            exchange::enqueue(sa, Queued::DeleteIke);
                            exchange::kick(cx, sa);
                        }
                    }
                    Phase::Gone => {}
                    _ => {
                        // Our IKE_SA_INIT or IKE_AUTH is out: it must not
                        // complete with keys that are no longer configured.
                        cx.failure(
                            Some(sa.id),
                            Some(sa.conn),
                            FailureReason::Command("the connection was removed or changed"),
                        );
                        crate::child::remove_all_of(cx, sa.id, crate::event::DownReason::Local);
                        sa.phase = Phase::Gone;
                    }
                }
            });
        }
    }
}

/// An IKE rekey that completes on a removed connection's SA (it was under
/// way when the connection went) makes a successor that must go too.
fn retired_successor(cfg: &Config, n: &IkeSa, follow: &mut Vec<FollowUp>) {
    if cfg.retired.contains(&n.conn) {
        follow.push(FollowUp::DeleteIke(n.id));
    }
}

/// The unit of the per-source half-open limit: an IPv4 address (also when
/// written IPv4-mapped), or the /64 of an IPv6 address, since one host can
/// pick any address of its /64 at will.
fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::source_of;
    use std::net::IpAddr;

    #[test]
    fn sources_are_ipv4_addresses_and_ipv6_64s() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(source_of(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(source_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(source_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            source_of(ip("2001:db8:1:2::1")),
            source_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            source_of(ip("2001:db8:1:2::1")),
            source_of(ip("2001:db8:1:3::1"))
        );
    }
}
