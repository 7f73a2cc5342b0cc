//! IKE_AUTH (RFC 7296 §1.2, §2.15, §2.9 narrowing of the first CHILD SA).
//!
//! The IKE SA is established when AUTH verifies, whatever happens to the
//! CHILD SA riding in the same exchange: NO_PROPOSAL_CHOSEN or
//! TS_UNACCEPTABLE for the child leave the IKE SA up (§1.2, §2.21.3) for
//! the exchange; both sides then delete it, since it carries nothing
//! ([`delete_childless`]).

use zeroize::Zeroizing;

use crate::auth::{self, Signer};
use crate::child;
use crate::config::{AuthConfig, ConnId, Identity};
use crate::cx::Cx;
use crate::error::{DropReason, FailureReason, IkeError, PeerIncompatible, PeerMisbehaved};
use crate::event::Event;
use crate::exchange::{self, child_nego};
use crate::ext::{self, RecvStage};
use crate::msg::{Message, Notify, Payload};
use crate::reg::{cert_encoding, exchange as xt, notify};
use crate::sa::{AuthSent, Established, FirstChild, IkeRekey, IkeSa, InitAnswered, Pending, Phase};
use crate::suite::IkeKeys;

/// Initiator: send IKE_AUTH right after a good IKE_SA_INIT response.
pub fn start(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    keys: IkeKeys,
    ni: Zeroizing<Vec<u8>>,
    nr: Zeroizing<Vec<u8>>,
    init_request: Vec<u8>,
    init_response: Vec<u8>,
) -> Result<(), IkeError> {
    let conn = cx
        .cfg
        .connection(sa.conn)
        .ok_or(IkeError::ApiMisuse("unknown connection"))?;
    // RFC 8784 §3: with a PPK, AUTH is computed with SK_pi' (and, if the
    // PPK is optional, once more without it for NO_PPK_AUTH).
    let ppk = conn.ppk.as_ref().filter(|_| sa.use_ppk);
    if let (Some(p), None) = (&conn.ppk, ppk) {
        if p.required {
            return Err(IkeError::AuthRejected(
                "this connection requires a post-quantum preshared key (ppk_required), and \
                 the peer does not offer to use one (no USE_PPK, RFC 8784)"
                    .into(),
            ));
        }
    }
    let ppk_keys = match ppk {
        Some(p) => Some(keys.with_ppk(p.key.expose())?),
        None => None,
    };
    let auth_keys = ppk_keys.as_ref().unwrap_or(&keys);
    let octets = auth::signed_octets(
        auth_keys,
        Signer::Initiator,
        &init_request,
        &nr,
        &conn.local_id,
    )?;
    let (method, data) = auth::compute(
        &conn.local_auth,
        auth_keys,
        &octets,
        sa.pubkey.peer_hashes.as_deref(),
    )?;
    let mut payloads = vec![Payload::IdI(conn.local_id.clone())];
    // §3.6: our chain, also to a peer that sent no CERTREQ (Apple clients).
    push_certs(&mut payloads, &conn.local_auth);
    // §3.7: ask for the peer's certificate under our trust anchors.
    if let AuthConfig::Ca(store) = &conn.remote_auth {
        payloads.push(Payload::CertReq {
            encoding: cert_encoding::X509_CERTIFICATE_SIGNATURE,
            data: store.certreq_data(),
        });
    }
    if let Some(r) = conn.remote_id.as_ref().filter(|r| !r.is_pattern()) {
        payloads.push(Payload::IdR(r.clone()));
    }
    payloads.push(Payload::Auth { method, data });
    if let Some(p) = ppk {
        payloads.push(Payload::Notify(Notify::new(
            notify::PPK_IDENTITY,
            ppk_identity(&p.id),
        )));
        if !p.required {
            let o =
                auth::signed_octets(&keys, Signer::Initiator, &init_request, &nr, &conn.local_id)?;
            let (_, plain) = auth::compute(
                &conn.local_auth,
                &keys,
                &o,
                sa.pubkey.peer_hashes.as_deref(),
            )?;
            payloads.push(Payload::Notify(Notify::new(notify::NO_PPK_AUTH, plain)));
        }
    }
    // §2.8.3: a reauthentication keeps the old SAs until the new ones are
    // up, so it must not tell the peer to drop every other SA with us; nor
    // may any SA that started beside another between the same identities.
    if sa.reauth_of.is_none() && sa.initial_contact {
        payloads.push(Payload::Notify(Notify::new(
            notify::INITIAL_CONTACT,
            Vec::new(),
        )));
    }
    if conn.window > 1 {
        payloads.push(Payload::Notify(Notify::new(
            notify::SET_WINDOW_SIZE,
            conn.window.to_be_bytes().to_vec(),
        )));
    }
    // RFC 6023: an IKE SA without its first CHILD SA, which then comes with
    // CREATE_CHILD_SA. Not for a reauthentication, which moves its
    // children itself.
    let childless = match conn.childless {
        crate::config::Childless::Force if !sa.childless => {
            return Err(IkeError::AuthRejected(
                "childless = \"force\", and the peer does not support childless IKE SAs \
                 (no CHILDLESS_IKEV2_SUPPORTED, RFC 6023)"
                    .into(),
            ))
        }
        crate::config::Childless::Force | crate::config::Childless::Prefer => {
            sa.childless && sa.reauth_of.is_none()
        }
        _ => false,
    };
    let mut first_child = None;
    if !conn.children.is_empty() && !childless {
        let spi_in = child::alloc_spi(cx);
        let (offer, pl) = child_nego::offer(cx, conn, 0, spi_in, false)?;
        payloads.extend(pl);
        first_child = Some(FirstChild {
            child: 0,
            spi_in,
            offered: offer.offered,
            ts_i: offer.ts_i,
            ts_r: offer.ts_r,
            transport: offer.transport,
        });
    }
    sa.phase = Phase::AuthSent(Box::new(AuthSent {
        keys,
        ni,
        nr,
        init_response,
        first_child,
        ppk_keys,
    }));
    sa.send_request(cx, xt::IKE_AUTH, payloads, Pending::IkeAuth)?;
    Ok(())
}

/// PPK_IDENTITY data (RFC 8784 §3): PPK_ID_FIXED (2), then the ID.
fn ppk_identity(id: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + id.len());
    v.push(2);
    v.extend_from_slice(id);
    v
}

/// The PPK_ID of a PPK_IDENTITY notify (OPAQUE 1 or FIXED 2).
fn parse_ppk_identity(data: &[u8]) -> Option<&[u8]> {
    match data {
        [1 | 2, id @ ..] if !id.is_empty() => Some(id),
        _ => None,
    }
}

/// CERT payloads of our chain, end entity first (RFC 7296 §3.6; RFC 4945
/// §3.2: the intermediates up to, not including, the trust anchor).
fn push_certs(payloads: &mut Vec<Payload>, local: &AuthConfig) {
    if let AuthConfig::Cert(c) = local {
        payloads.extend(c.chain.iter().map(|d| Payload::Cert {
            encoding: cert_encoding::X509_CERTIFICATE_SIGNATURE,
            data: d.clone(),
        }));
    }
}

fn set_window(sa: &mut IkeSa, msg: &Message) {
    if let Some(n) = msg.notify(notify::SET_WINDOW_SIZE) {
        if let [a, b, c, d] = n.data.as_slice() {
            // Cap what we believe: more than 64 in flight buys nothing.
            sa.requests
                .set_peer_window(u32::from_be_bytes([*a, *b, *c, *d]).clamp(1, 64));
        }
    }
}

/// Common tail of both roles: the SA is up.
fn established(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    keys: IkeKeys,
    local_id: Identity,
    remote_id: Identity,
) {
    sa.phase = Phase::Established(Box::new(Established {
        keys,
        local_id,
        remote_id,
        rekey: IkeRekey::None,
        deleting: false,
        unknown_deletes: Vec::new(),
    }));
    exchange::on_established(cx, sa);
    cx.counters.ike_sas_established += 1;
    cx.event(Event::IkeSaUp {
        ike: sa.id,
        conn: sa.conn,
        spi_i: sa.spi_i,
        spi_r: sa.spi_r,
        path: sa.path,
    });
}

/// What authentication of an IKE_AUTH request yields.
struct Authenticated {
    conn: ConnId,
    id_i: Identity,
    method: u8,
    data: Vec<u8>,
    peer_cert: Option<auth::PeerCert>,
    /// The keys with the PPK mixed in, when one was used (RFC 8784).
    ppk_keys: Option<IkeKeys>,
}

/// Checks IDi/IDr/AUTH; errors carry the notify to answer with.
fn authenticate(
    cx: &Cx<'_>,
    st: &InitAnswered,
    msg: &Message,
    peer_hashes: Option<&[u16]>,
    use_ppk: bool,
) -> Result<Authenticated, (u16, IkeError)> {
    let (Some(id_i), Some((method, auth_data))) = (msg.id_i(), msg.auth()) else {
        return Err((
            notify::INVALID_SYNTAX,
            PeerMisbehaved::MissingPayload("IDi/AUTH").into(),
        ));
    };
    let id_r = msg.id_r();
    // Pick the connection by identities (§2.15: the responder looks up the peer by IDi).
    let conn_id = st
        .candidates
        .iter()
        .copied()
        .find(|c| {
            cx.cfg.connection(*c).is_some_and(|cc| {
                cc.remote_id.as_ref().is_none_or(|r| r.matches(id_i))
                    && id_r.is_none_or(|r| *r == cc.local_id)
            })
        })
        .ok_or((
            notify::AUTHENTICATION_FAILED,
            PeerIncompatible::NoMatchingConnection.into(),
        ))?;
    let conn = cx
        .cfg
        .connection(conn_id)
        .ok_or((notify::AUTHENTICATION_FAILED, IkeError::ApiMisuse("conn")))?;
    let certs = msg.certs(cert_encoding::X509_CERTIFICATE_SIGNATURE);
    // RFC 8784 §3: which keys AUTH was made with.
    let fail = |why: String| (notify::AUTHENTICATION_FAILED, IkeError::AuthRejected(why));
    let their_ppk = msg
        .notify(notify::PPK_IDENTITY)
        .and_then(|n| parse_ppk_identity(&n.data));
    let (ppk_keys, auth_data) = match (&conn.ppk, their_ppk) {
        (Some(p), Some(id)) if use_ppk && id == p.id.as_slice() => (
            Some(
                st.keys
                    .with_ppk(p.key.expose())
                    .map_err(|e| (notify::AUTHENTICATION_FAILED, e))?,
            ),
            auth_data,
        ),
        (Some(p), theirs) if p.required => {
            return Err(fail(match theirs {
                Some(id) => format!(
                    "the peer used PPK_ID {}, not this connection's {} (ppk_required)",
                    String::from_utf8_lossy(id),
                    String::from_utf8_lossy(&p.id)
                ),
                None => "this connection requires a post-quantum preshared key \
                         (ppk_required) and the peer used none"
                    .into(),
            }))
        }
        // The peer used a PPK we do not share: its AUTH without one.
        (_, Some(id)) => match msg.notify(notify::NO_PPK_AUTH) {
            Some(n) => (None, n.data.as_slice()),
            None => {
                return Err(fail(format!(
                    "the peer requires PPK_ID {}, which this connection does not have",
                    String::from_utf8_lossy(id)
                )))
            }
        },
        _ => (None, auth_data),
    };
    let keys = ppk_keys.as_ref().unwrap_or(&st.keys);
    let peer_cert = auth::signed_octets(keys, Signer::Initiator, &st.init_request, &st.nr, id_i)
        .and_then(|octets| {
            auth::verify(
                &conn.remote_auth,
                keys,
                &octets,
                method,
                auth_data,
                &certs,
                id_i,
            )
        })
        .map_err(|e| (notify::AUTHENTICATION_FAILED, e))?;
    let (method, data) = auth::signed_octets(
        keys,
        Signer::Responder,
        &st.init_response,
        &st.ni,
        &conn.local_id,
    )
    .and_then(|o| auth::compute(&conn.local_auth, keys, &o, peer_hashes))
    .map_err(|e| (notify::AUTHENTICATION_FAILED, e))?;
    Ok(Authenticated {
        conn: conn_id,
        id_i: id_i.clone(),
        method,
        data,
        peer_cert,
        ppk_keys,
    })
}

/// Responder: IKE_AUTH request in `InitAnswered`.
pub fn respond(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) -> Result<(), DropReason> {
    let mid = msg.header.message_id;
    let Phase::InitAnswered(st) = std::mem::replace(&mut sa.phase, Phase::Gone) else {
        return Err(DropReason::WrongExchange);
    };
    let hashes = sa.pubkey.peer_hashes.clone();
    let a = match authenticate(cx, &st, msg, hashes.as_deref(), sa.use_ppk) {
        Ok(a) => a,
        Err((ty, reason)) => {
            // The error response is protected with the SA's keys (§2.21.2).
            sa.phase = Phase::InitAnswered(st);
            let _ = sa.send_error_response(cx, xt::IKE_AUTH, mid, ty, Vec::new());
            cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Protocol(reason));
            sa.phase = Phase::Gone;
            return Ok(());
        }
    };
    let Some(conn) = cx.cfg.connection(a.conn) else {
        return Err(DropReason::NoConnection);
    };
    sa.conn = a.conn;
    sa.pubkey.peer_cert = a.peer_cert;
    set_window(sa, msg);
    ext::on_recv(cx, sa, RecvStage::AuthRequest, msg)?;
    let mut payloads = vec![Payload::IdR(conn.local_id.clone())];
    push_certs(&mut payloads, &conn.local_auth);
    payloads.push(Payload::Auth {
        method: a.method,
        data: a.data,
    });
    if a.ppk_keys.is_some() {
        // RFC 8784 §3: the PPK is in use (no data from the responder).
        payloads.push(Payload::Notify(Notify::new(
            notify::PPK_IDENTITY,
            Vec::new(),
        )));
    }
    // From here on the SA runs on the keys AUTH was made with.
    let st = match a.ppk_keys {
        Some(k) => InitAnswered { keys: k, ..*st },
        None => *st,
    };
    // Our window is the chosen connection's, announced here (§2.3).
    sa.responses.set_window(conn.window);
    if conn.window > 1 {
        payloads.push(Payload::Notify(Notify::new(
            notify::SET_WINDOW_SIZE,
            conn.window.to_be_bytes().to_vec(),
        )));
    }
    // The first CHILD SA (§1.2); its failure does not fail the IKE SA, but
    // an IKE SA left without the child it was made for is deleted at once
    // (see `childless`).
    let mut install = None;
    let mut childless = false;
    if msg.sa().is_some() {
        let spi_in = child::alloc_spi(cx);
        let ki = child_nego::KeyInput {
            ike_keys: &st.keys,
            ni: &st.ni,
            nr: &st.nr,
        };
        match child_nego::respond(cx, sa, a.conn, msg, &ki, None, false, spi_in) {
            Ok(acc) => {
                payloads.extend(acc.payloads);
                install = Some((acc.info, acc.keys, acc.child));
            }
            Err(refusal) => {
                cx.failure(
                    Some(sa.id),
                    Some(a.conn),
                    FailureReason::Protocol(refused(refusal.notify)),
                );
                payloads.push(refusal.payload());
                childless = true;
            }
        }
    }
    established(cx, sa, st.keys, conn.local_id.clone(), a.id_i);
    if sa.send_response(cx, xt::IKE_AUTH, mid, payloads).is_err() {
        sa.phase = Phase::Gone;
        return Ok(());
    }
    if let Some((info, keys, idx)) = install {
        if let Some(cc) = conn.children.get(idx) {
            child::install(cx, info, keys, &cc.lifetime, None, false);
        }
    }
    if msg.notify(notify::INITIAL_CONTACT).is_some() {
        cx.follow_ups
            .push(crate::cx::FollowUp::InitialContact(sa.id));
    }
    if childless {
        delete_childless(sa);
    }
    exchange::kick(cx, sa);
    Ok(())
}

/// RFC 7296 §1.2 and §2.21.2 keep the IKE SA when the CHILD SA riding in
/// IKE_AUTH is refused, and so do we: the answer is sent as usual. But an
/// IKE SA without the child it was made for carries nothing, and repeated
/// attempts (a peer with the wrong selectors, a tunnel removed on one side)
/// would pile such SAs up without end. So both sides delete it right after
/// IKE_AUTH with an INFORMATIONAL Delete (§1.4.1); the initiator's driver
/// learns of the refusal from the failure event, and a later attempt starts
/// from scratch. A reauthentication whose child is refused thus leaves the
/// old IKE SA alone and retries later (docs/design/ike-core.md).
fn delete_childless(sa: &mut IkeSa) {
    sa.queue.clear();
    exchange::enqueue(sa, crate::sa::Queued::DeleteIke);
}

fn refused(notify_ty: u16) -> IkeError {
    match notify_ty {
        notify::TS_UNACCEPTABLE => PeerIncompatible::TsUnacceptable.into(),
        notify::NO_PROPOSAL_CHOSEN => PeerIncompatible::NoProposalChosen.into(),
        n => PeerIncompatible::PeerRefused(n).into(),
    }
}

/// Initiator: IKE_AUTH response in `AuthSent`.
pub fn on_response(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) {
    let Phase::AuthSent(st) = std::mem::replace(&mut sa.phase, Phase::Gone) else {
        return;
    };
    let st = *st;
    let Some(conn) = cx.cfg.connection(sa.conn) else {
        return;
    };
    if msg.auth().is_none() {
        let reason = match msg.error_notify() {
            Some(n) => FailureReason::PeerError(n.ty),
            None => FailureReason::Protocol(PeerMisbehaved::MissingPayload("AUTH").into()),
        };
        cx.failure(Some(sa.id), Some(sa.conn), reason);
        return;
    }
    let (Some(id_r), Some((method, data))) = (msg.id_r(), msg.auth()) else {
        cx.failure(
            Some(sa.id),
            Some(sa.conn),
            FailureReason::Protocol(PeerMisbehaved::MissingPayload("IDr").into()),
        );
        return;
    };
    if let Some(r) = conn.remote_id.as_ref().filter(|r| !r.matches(id_r)) {
        cx.failure(
            Some(sa.id),
            Some(sa.conn),
            FailureReason::Protocol(IkeError::AuthRejected(format!(
                "the peer's ID {} is not the configured remote_id {}",
                auth::id_text(id_r),
                auth::id_text(r)
            ))),
        );
        return;
    }
    // RFC 8784 §3: the responder's PPK_IDENTITY says it used our PPK;
    // without it the SA goes on without one, unless that is refused.
    let mut st = st;
    let used_ppk = msg.notify(notify::PPK_IDENTITY).is_some();
    match (used_ppk, st.ppk_keys.take()) {
        (true, Some(k)) => st.keys = k,
        (true, None) => {
            cx.failure(
                Some(sa.id),
                Some(sa.conn),
                FailureReason::Protocol(IkeError::AuthRejected(
                    "the peer claims a post-quantum preshared key we did not offer".into(),
                )),
            );
            return;
        }
        (false, Some(_)) if conn.ppk.as_ref().is_some_and(|p| p.required) => {
            cx.failure(
                Some(sa.id),
                Some(sa.conn),
                FailureReason::Protocol(IkeError::AuthRejected(
                    "the peer did not use the post-quantum preshared key this connection \
                     requires (ppk_required)"
                        .into(),
                )),
            );
            return;
        }
        _ => {}
    }
    let certs = msg.certs(cert_encoding::X509_CERTIFICATE_SIGNATURE);
    let verified =
        auth::signed_octets(&st.keys, Signer::Responder, &st.init_response, &st.ni, id_r).and_then(
            |o| auth::verify(&conn.remote_auth, &st.keys, &o, method, data, &certs, id_r),
        );
    match verified {
        Ok(pc) => sa.pubkey.peer_cert = pc,
        Err(e) => {
            cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Protocol(e));
            return;
        }
    }
    set_window(sa, msg);
    let id_r = id_r.clone();
    let AuthSent {
        keys,
        ni,
        nr,
        first_child,
        ..
    } = st;
    let first_child_none = first_child.is_none() && !conn.children.is_empty();
    // Child result before moving the keys into the established state.
    let mut outcome = None;
    if let Some(fc) = &first_child {
        let mut offer = child_nego::ChildOffer {
            child: fc.child,
            spi_in: fc.spi_in,
            offered: fc.offered.clone(),
            ts_i: fc.ts_i.clone(),
            ts_r: fc.ts_r.clone(),
            transport: fc.transport,
            ke: None,
        };
        outcome = Some(match child_nego::refusal(msg) {
            Some(n) => Err((n, false)),
            None => {
                let ki = child_nego::KeyInput {
                    ike_keys: &keys,
                    ni: &ni,
                    nr: &nr,
                };
                child_nego::complete(cx, sa, &mut offer, msg, &ki)
                    .map_err(|e| (e.notify().unwrap_or(notify::INVALID_SYNTAX), true))
            }
        });
    }
    established(cx, sa, keys, conn.local_id.clone(), id_r);
    // A reauthentication whose CHILD SA failed keeps the old SA (and its
    // traffic) rather than trade it for an SA that carries nothing.
    let replaces_old = !matches!(outcome, Some(Err(_)));
    match (outcome, first_child) {
        (Some(Ok((info, keys))), _) => {
            if let Some(cc) = conn.children.get(info.child) {
                child::install(cx, info, keys, &cc.lifetime, None, false);
            }
        }
        (Some(Err((n, installed_by_peer))), Some(_)) => {
            let reason = if installed_by_peer {
                FailureReason::Protocol(refused(n))
            } else {
                FailureReason::PeerError(n)
            };
            cx.failure(Some(sa.id), Some(sa.conn), reason);
            // §2.9: an unacceptable answer means deleting the child the
            // peer created; deleting the IKE SA deletes it too (§1.4.1).
            delete_childless(sa);
        }
        _ => {}
    }
    if first_child_none && sa.reauth_of.is_none() {
        // Childless (RFC 6023): the CHILD SAs follow in CREATE_CHILD_SA.
        for child in 0..conn.children.len() {
            exchange::enqueue(sa, crate::sa::Queued::CreateChild { child });
        }
    }
    if let (Some(old), true) = (sa.reauth_of, replaces_old) {
        cx.follow_ups
            .push(crate::cx::FollowUp::ReauthDone { old, new: sa.id });
    }
    exchange::kick(cx, sa);
}
