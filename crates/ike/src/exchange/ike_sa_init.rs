//! IKE_SA_INIT (RFC 7296 §1.2, §2.6, §2.7, §1.3 INVALID_KE_PAYLOAD).
//!
//! Initiator: build the request (`start`), then `on_response` either
//! retries (COOKIE, INVALID_KE_PAYLOAD), fails, or derives SK_* and sends
//! IKE_AUTH. Responder: `respond` is called by the endpoint after its
//! admission decision (cookie/half-open checks) and either creates the
//! half-open SA or answers statelessly with an error.

use std::net::IpAddr;
use zeroize::Zeroizing;

use crate::config::{ConnConfig, ConnId};
use crate::cx::Cx;
use crate::error::{DropReason, FailureReason, IkeError, PeerIncompatible, PeerMisbehaved};
use crate::event::Path;
use crate::exchange::{ike_auth, intermediate};
use crate::ext::{self, RecvStage, SendStage};
use crate::msg::{Message, Notify, Payload};
use crate::proposal::{self, Proposal};
use crate::reg::{exchange, notify, protocol, transform_type as tt};
use crate::sa::{IkeSa, InitAnswered, InitSent, Pending, Phase, Role};
use crate::suite::{self, IkeSuite};
use crate::timer::IkeTimer;

/// Nonce length we send: 32 bytes, at least half the PRF key size for every PRF (§2.10).
pub const NONCE_LEN: usize = 32;
/// INVALID_KE_PAYLOAD and COOKIE retries before giving up.
const MAX_RETRIES: u8 = 3;

fn ike_proposals(conn: &ConnConfig) -> Vec<&crate::proposal::ProposalConfig> {
    conn.ike_proposals.iter().map(|p| &p.0).collect()
}

/// Our preferred KE group: the first KE transform of the first proposal.
fn first_group(conn: &ConnConfig) -> Option<u16> {
    conn.ike_proposals
        .iter()
        .flat_map(|p| p.0.transforms.iter())
        .find(|t| t.ty == tt::KE)
        .map(|t| t.id)
}

/// Whether every proposal needs ML-KEM, as the primary key exchange or an
/// additional one (a "strict" post-quantum connection).
fn all_post_quantum(offered: &[Proposal]) -> bool {
    let pq = |t: &crate::proposal::Transform| {
        (t.ty == tt::KE || crate::proposal::is_additional_ke(t.ty))
            && yadokari_crypto::KeGroup::from_iana(t.id).is_some_and(|g| g.is_kem())
    };
    !offered.is_empty()
        && offered.iter().all(|p| {
            let kes: Vec<_> = p.transforms.iter().filter(|t| t.ty == tt::KE).collect();
            // Every primary choice is ML-KEM, or an additional one is required.
            (!kes.is_empty() && kes.iter().all(|t| pq(t)))
                || p.transforms
                    .iter()
                    .any(|t| crate::proposal::is_additional_ke(t.ty) && pq(t))
                    && !p
                        .transforms
                        .iter()
                        .any(|t| crate::proposal::is_additional_ke(t.ty) && t.id == 0)
        })
}

fn nonce_ok(n: &[u8]) -> bool {
    (16..=256).contains(&n.len())
}

/// Creates an initiator SA and sends IKE_SA_INIT.
pub fn start(cx: &mut Cx<'_>, conn_id: ConnId, path: Path) -> Result<IkeSa, IkeError> {
    let conn = cx
        .cfg
        .connection(conn_id)
        .ok_or(IkeError::ApiMisuse("unknown connection"))?;
    let group = first_group(conn).ok_or(IkeError::ApiMisuse("connection has no KE method"))?;
    let id = cx.alloc_sa_id();
    let spi_i = cx.rng.ike_spi();
    let mut sa = IkeSa::new(
        id,
        conn_id,
        Role::OriginalInitiator,
        spi_i,
        0,
        path,
        cx.now,
        conn.window,
    );
    let ke = suite::ke_generate(group, cx.rng)?;
    let ni = Zeroizing::new(cx.rng.bytes(NONCE_LEN));
    let offered = proposal::offer(&ike_proposals(conn), protocol::IKE, &[], false);
    sa.phase = Phase::InitSent(Box::new(InitSent {
        ke,
        ke_group: group,
        ni,
        offered,
        cookie: None,
        ke_retries: 0,
        cookie_retries: 0,
    }));
    send_request(cx, &mut sa)?;
    Ok(sa)
}

/// (Re)builds and sends the IKE_SA_INIT request from the `InitSent` state.
fn send_request(cx: &mut Cx<'_>, sa: &mut IkeSa) -> Result<(), IkeError> {
    let Phase::InitSent(st) = &sa.phase else {
        return Err(IkeError::ApiMisuse("not in InitSent"));
    };
    let mut payloads = Vec::new();
    if let Some(c) = &st.cookie {
        // §2.6: the COOKIE notify MUST be the first payload.
        payloads.push(Payload::Notify(Notify::new(notify::COOKIE, c.clone())));
    }
    payloads.push(Payload::Sa(st.offered.clone()));
    payloads.push(Payload::Ke {
        group: st.ke_group,
        data: st.ke.public().to_vec(),
    });
    payloads.push(Payload::Nonce(st.ni.to_vec()));
    if cx
        .cfg
        .connection(sa.conn)
        .is_some_and(|c| c.fragment_size.is_some())
    {
        // RFC 7383 §2.3.
        payloads.push(Payload::Notify(Notify::new(
            notify::IKEV2_FRAGMENTATION_SUPPORTED,
            Vec::new(),
        )));
    }
    if cx.cfg.connection(sa.conn).is_some_and(|c| c.ppk.is_some()) {
        // RFC 8784 §3.
        payloads.push(Payload::Notify(Notify::new(notify::USE_PPK, Vec::new())));
    }
    if intermediate::offers_additional(&st.offered) {
        // RFC 9242 §3.1: additional key exchanges need IKE_INTERMEDIATE.
        payloads.push(Payload::Notify(Notify::new(
            notify::INTERMEDIATE_EXCHANGE_SUPPORTED,
            Vec::new(),
        )));
    }
    let mut msg = Message::new(sa.header(exchange::IKE_SA_INIT, false, 0));
    msg.payloads = payloads;
    ext::on_send(cx, sa, SendStage::InitRequest, &mut msg);
    let packet = sa.encode(cx, &msg)?;
    sa.requests.clear();
    // Message ID 0 again: a retry is a new first message (§2.6, §1.3).
    sa.requests = crate::window::RequestWindow::new(0);
    sa.transmit(cx, &packet);
    sa.requests
        .push(cx.now, vec![packet], Pending::IkeSaInit, &cx.cfg.retransmit);
    sa.arm_retransmit();
    Ok(())
}

/// Outcome of an IKE_SA_INIT response for the endpoint.
pub enum InitResult {
    /// Retried (new request sent) or moved on to IKE_AUTH.
    Continue,
    /// The SA failed; remove it.
    Failed,
    /// Unusable response: dropped, keep waiting (§2.21.1: unauthenticated).
    Ignored(DropReason),
}

/// Initiator: handle the IKE_SA_INIT response (message ID 0).
pub fn on_response(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message, raw: &[u8]) -> InitResult {
    let Phase::InitSent(st) = &mut sa.phase else {
        return InitResult::Ignored(DropReason::UnexpectedResponse);
    };
    // COOKIE demand (§2.6): retry with all other payloads unchanged.
    if let Some(c) = msg.notify(notify::COOKIE) {
        if st.cookie_retries >= MAX_RETRIES || c.data.is_empty() || c.data.len() > 64 {
            return InitResult::Ignored(DropReason::BadInitResponse);
        }
        st.cookie_retries += 1;
        st.cookie = Some(c.data.clone());
        return match send_request(cx, sa) {
            Ok(()) => InitResult::Continue,
            Err(e) => fail(cx, sa, FailureReason::Protocol(e)),
        };
    }
    if let Some(n) = msg.notify(notify::INVALID_KE_PAYLOAD) {
        let wanted = match n.data.as_slice() {
            [a, b] => u16::from_be_bytes([*a, *b]),
            _ => return InitResult::Ignored(DropReason::BadInitResponse),
        };
        let conn = cx.cfg.connection(sa.conn);
        let acceptable = conn
            .map(|c| {
                c.ike_proposals
                    .iter()
                    .flat_map(|p| p.0.transforms.iter())
                    .any(|t| t.ty == tt::KE && t.id == wanted)
            })
            .unwrap_or(false);
        // §1.3: retry once with the group the responder asked for, if we offered it.
        if !acceptable || wanted == st.ke_group || st.ke_retries >= 1 {
            return fail(
                cx,
                sa,
                FailureReason::Protocol(IkeError::PeerIncompatible(
                    PeerIncompatible::InvalidKePayload {
                        wanted_group: wanted,
                    },
                )),
            );
        }
        match suite::ke_generate(wanted, cx.rng) {
            Ok(ke) => {
                st.ke = ke;
                st.ke_group = wanted;
                st.ke_retries += 1;
            }
            Err(e) => return fail(cx, sa, FailureReason::Protocol(e)),
        }
        return match send_request(cx, sa) {
            Ok(()) => InitResult::Continue,
            Err(e) => fail(cx, sa, FailureReason::Protocol(e)),
        };
    }
    if let Some(n) = msg.error_notify() {
        // Unauthenticated, but nothing else can come of this SA (§2.21.1).
        let ty = n.ty;
        if ty == notify::NO_PROPOSAL_CHOSEN && all_post_quantum(&st.offered) {
            return fail(
                cx,
                sa,
                FailureReason::Protocol(IkeError::PeerIncompatible(
                    PeerIncompatible::PostQuantumRefused,
                )),
            );
        }
        return fail(cx, sa, FailureReason::PeerError(ty));
    }
    let (Some(sa_pl), Some((group, ke_data)), Some(nr)) = (msg.sa(), msg.ke(), msg.nonce()) else {
        return InitResult::Ignored(DropReason::MissingPayload);
    };
    let Some(chosen) = proposal::verify_choice(&st.offered, sa_pl) else {
        return InitResult::Ignored(DropReason::BadInitResponse);
    };
    if chosen.get(tt::KE).map(|t| t.id) != Some(st.ke_group)
        || group != st.ke_group
        || !nonce_ok(nr)
        || msg.header.spi_r == 0
    {
        return InitResult::Ignored(DropReason::BadInitResponse);
    }
    let Ok(suite) = IkeSuite::from_proposal(&chosen) else {
        return InitResult::Ignored(DropReason::BadInitResponse);
    };
    let shared = match st.ke.agree(ke_data) {
        Ok(s) => s,
        Err(e) => return fail(cx, sa, FailureReason::Protocol(e)),
    };
    let spi_r = msg.header.spi_r;
    let keys =
        match suite::derive_ike_keys(suite, None, &st.ni, nr, shared.expose(), sa.spi_i, spi_r) {
            Ok(k) => k,
            Err(e) => return fail(cx, sa, FailureReason::Protocol(e)),
        };
    let ni = std::mem::take(&mut st.ni);
    sa.spi_r = spi_r;
    if let Err(d) = ext::on_recv(cx, sa, RecvStage::InitResponse, msg) {
        return InitResult::Ignored(d);
    }
    let init_request = sa
        .requests
        .complete(0)
        .and_then(|o| o.packets.into_iter().next())
        .unwrap_or_default();
    let nr = Zeroizing::new(nr.to_vec());
    let init_response = raw.to_vec();
    sa.childless = msg.notify(notify::CHILDLESS_IKEV2_SUPPORTED).is_some()
        && cx
            .cfg
            .connection(sa.conn)
            .is_some_and(|c| c.childless != crate::config::Childless::Never);
    sa.use_ppk = msg.notify(notify::USE_PPK).is_some()
        && cx.cfg.connection(sa.conn).is_some_and(|c| c.ppk.is_some());
    sa.frag.enabled = msg.notify(notify::IKEV2_FRAGMENTATION_SUPPORTED).is_some()
        && cx
            .cfg
            .connection(sa.conn)
            .is_some_and(|c| c.fragment_size.is_some());
    let additional = intermediate::additional_of(&chosen);
    if !additional.is_empty() {
        if msg
            .notify(notify::INTERMEDIATE_EXCHANGE_SUPPORTED)
            .is_none()
        {
            return fail(
                cx,
                sa,
                FailureReason::Protocol(IkeError::PeerMisbehaved(
                    PeerMisbehaved::ChoseUnofferedProposal,
                )),
            );
        }
        return match intermediate::start(
            cx,
            sa,
            keys,
            ni,
            nr,
            init_request,
            init_response,
            additional,
        ) {
            Ok(()) => InitResult::Continue,
            Err(e) => fail(cx, sa, FailureReason::Protocol(e)),
        };
    }
    match ike_auth::start(cx, sa, keys, ni, nr, init_request, init_response) {
        Ok(()) => InitResult::Continue,
        Err(e) => fail(cx, sa, FailureReason::Protocol(e)),
    }
}

fn fail(cx: &mut Cx<'_>, sa: &mut IkeSa, reason: FailureReason) -> InitResult {
    cx.failure(Some(sa.id), Some(sa.conn), reason);
    sa.phase = Phase::Gone;
    InitResult::Failed
}

/// Responder: what to answer an acceptable IKE_SA_INIT request with.
pub enum Answer {
    /// A new half-open SA (response already sent).
    Created(Box<IkeSa>),
    /// A stateless error response (NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD …).
    Refused(Vec<u8>),
    Drop(DropReason),
}

/// Responder: handle a (cookie-checked) IKE_SA_INIT request.
pub fn respond(
    cx: &mut Cx<'_>,
    path: Path,
    msg: &Message,
    raw: &[u8],
    candidates: Vec<ConnId>,
) -> Answer {
    let (Some(sa_pl), Some((group, ke_data)), Some(ni)) = (msg.sa(), msg.ke(), msg.nonce()) else {
        return Answer::Drop(DropReason::MissingPayload);
    };
    if !nonce_ok(ni) {
        return Answer::Drop(DropReason::Malformed);
    }
    let refuse = |cx: &mut Cx<'_>, ty: u16, data: Vec<u8>| -> Answer {
        let mut m = Message::new(crate::msg::Header {
            spi_i: msg.header.spi_i,
            spi_r: 0,
            exchange: exchange::IKE_SA_INIT,
            initiator: false,
            response: true,
            message_id: 0,
        });
        m.push(Payload::Notify(Notify::new(ty, data)));
        match crate::codec::encode_plain(&m) {
            Ok(b) => {
                cx.counters.count_drop(DropReason::NoConnection);
                Answer::Refused(b)
            }
            Err(_) => Answer::Drop(DropReason::Malformed),
        }
    };
    let Some(&first) = candidates.first() else {
        return refuse(cx, notify::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    let Some(conn) = cx.cfg.connection(first) else {
        return Answer::Drop(DropReason::NoConnection);
    };
    let window = conn.window;
    let conn_frag = conn.fragment_size.is_some();
    let conn_childless = conn.childless;
    let Some(chosen) = proposal::select(&ike_proposals(conn), sa_pl, protocol::IKE, false) else {
        return refuse(cx, notify::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    let Some(want) = chosen.get(tt::KE).map(|t| t.id) else {
        return refuse(cx, notify::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    if group != want {
        // §1.3: stateless, tell the initiator which group we want.
        return refuse(cx, notify::INVALID_KE_PAYLOAD, want.to_be_bytes().to_vec());
    }
    let Ok(suite) = IkeSuite::from_proposal(&chosen) else {
        return refuse(cx, notify::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    // RFC 9370 §2.2.1: additional key exchanges run in IKE_INTERMEDIATE,
    // which the initiator must have announced (RFC 9242 §3.1).
    let intermediate_ok = msg
        .notify(notify::INTERMEDIATE_EXCHANGE_SUPPORTED)
        .is_some();
    let additional = intermediate::additional_of(&chosen);
    if !additional.is_empty() && !intermediate_ok {
        return refuse(cx, notify::NO_PROPOSAL_CHOSEN, Vec::new());
    }
    let (ke_public, shared) = match suite::ke_respond(group, ke_data, cx.rng) {
        Ok(r) => r,
        Err(IkeError::PeerIncompatible(_)) => return Answer::Drop(DropReason::Malformed),
        Err(_) => return refuse(cx, notify::INVALID_SYNTAX, Vec::new()),
    };
    let spi_r = cx.rng.ike_spi();
    let nr = Zeroizing::new(cx.rng.bytes(NONCE_LEN));
    let Ok(keys) = suite::derive_ike_keys(
        suite,
        None,
        ni,
        &nr,
        shared.expose(),
        msg.header.spi_i,
        spi_r,
    ) else {
        return Answer::Drop(DropReason::Malformed);
    };
    // Narrow the candidates to those whose proposals contain the choice.
    let candidates: Vec<ConnId> = candidates
        .into_iter()
        .filter(|c| {
            cx.cfg.connection(*c).is_some_and(|cc| {
                proposal::select(
                    &ike_proposals(cc),
                    std::slice::from_ref(&chosen),
                    protocol::IKE,
                    false,
                )
                .is_some()
            })
        })
        .collect();
    let id = cx.alloc_sa_id();
    let mut sa = IkeSa::new(
        id,
        first,
        Role::OriginalResponder,
        msg.header.spi_i,
        spi_r,
        path,
        cx.now,
        window,
    );
    if let Err(d) = ext::on_recv(cx, &mut sa, RecvStage::InitRequest, msg) {
        return Answer::Drop(d);
    }
    let mut resp = Message::new(sa.header(exchange::IKE_SA_INIT, true, 0));
    resp.push(Payload::Sa(vec![Proposal {
        spi: Vec::new(),
        ..chosen
    }]));
    resp.push(Payload::Ke {
        group,
        data: ke_public,
    });
    resp.push(Payload::Nonce(nr.to_vec()));
    if intermediate_ok {
        resp.push(Payload::Notify(Notify::new(
            notify::INTERMEDIATE_EXCHANGE_SUPPORTED,
            Vec::new(),
        )));
    }
    // RFC 6023 §3: the responder says it accepts childless IKE_AUTH; the
    // initiator decides.
    if conn_childless != crate::config::Childless::Never {
        sa.childless = true;
        resp.push(Payload::Notify(Notify::new(
            notify::CHILDLESS_IKEV2_SUPPORTED,
            Vec::new(),
        )));
    }
    // RFC 8784 §3: we can use a PPK if a connection for this peer has one
    // (which one is known from IDi in IKE_AUTH).
    let ppk_here = candidates
        .iter()
        .any(|c| cx.cfg.connection(*c).is_some_and(|cc| cc.ppk.is_some()));
    if msg.notify(notify::USE_PPK).is_some() && ppk_here {
        sa.use_ppk = true;
        resp.push(Payload::Notify(Notify::new(notify::USE_PPK, Vec::new())));
    }
    // RFC 7383 §2.3: answer the announcement when the connection (the
    // first candidate, as for every other IKE_SA_INIT choice) allows it.
    if msg.notify(notify::IKEV2_FRAGMENTATION_SUPPORTED).is_some() && conn_frag {
        sa.frag.enabled = true;
        resp.push(Payload::Notify(Notify::new(
            notify::IKEV2_FRAGMENTATION_SUPPORTED,
            Vec::new(),
        )));
    }
    ext::on_send(cx, &mut sa, SendStage::InitResponse, &mut resp);
    ext::trace::sent(cx, sa.path, &resp);
    let Ok(packet) = crate::codec::encode_plain(&resp) else {
        return Answer::Drop(DropReason::Malformed);
    };
    sa.transmit(cx, &packet);
    sa.responses.answered(0, vec![packet.clone()]);
    sa.timers
        .set(IkeTimer::HalfOpen.idx(), cx.now + cx.cfg.half_open_timeout);
    sa.phase = Phase::InitAnswered(Box::new(InitAnswered {
        keys,
        ni: Zeroizing::new(ni.to_vec()),
        nr,
        init_request: raw.to_vec(),
        init_response: packet,
        candidates,
        additional,
        int_auth: intermediate::IntAuth::default(),
        prev_keys: None,
    }));
    Answer::Created(Box::new(sa))
}

/// Connections a responder may use for a request on `path` (by address).
pub fn candidates(cfg: &crate::config::Config, path: &Path) -> Vec<ConnId> {
    let ip_ok = |want: Option<std::net::SocketAddr>, got: IpAddr| {
        want.is_none_or(|w| w.ip() == got || w.ip().is_unspecified())
    };
    // Removed connections are skipped (`connection` answers `None`): their
    // keys must authenticate nothing, and must not shadow a newer
    // connection with the same identity.
    cfg.connections
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            cfg.connection(ConnId(*i)).is_some()
                && ip_ok(c.local_addr, path.local.ip())
                && ip_ok(c.remote_addr, path.remote.ip())
        })
        .map(|(i, _)| ConnId(i))
        .collect()
}

/// Removes a half-open SA whose timer ran out (no events: it never came up).
pub fn half_open_expired(cx: &mut Cx<'_>, sa: &mut IkeSa) {
    cx.counters.count_drop(DropReason::TooManyHalfOpen);
    sa.phase = Phase::Gone;
}
