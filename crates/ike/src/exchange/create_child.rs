//! CREATE_CHILD_SA (RFC 7296 §1.3): new CHILD SAs, CHILD SA rekey with
//! optional PFS (§1.3.3, §2.8), IKE SA rekey (§1.3.2, §2.18), and the
//! simultaneous-rekey rule of §2.8.1/§2.8.2: "the SA created with the lowest
//! of the four nonces used in the two exchanges SHOULD be closed by the
//! endpoint that created it".

use std::time::Duration;

use zeroize::Zeroizing;

use crate::child::{self, ChildState, PeerChildRekey};
use crate::cx::{Cx, FollowUp};
use crate::error::{FailureReason, IkeError, PeerMisbehaved};
use crate::event::{DownReason, Event};
use crate::exchange::child_nego::{self, ChildOffer, KeyInput};
use crate::exchange::{self, ike_sa_init::NONCE_LEN};
use crate::msg::{Message, Notify, Payload};
use crate::proposal::{self, Proposal};
use crate::reg::{exchange as xt, notify, protocol, transform_type as tt};
use crate::sa::{Established, IkeRekey, IkeSa, PeerRekey, Pending, Phase, Queued, Role};
use crate::suite::{self, IkeSuite, KeSecret};
use crate::timer::{ChildTimer, IkeTimer};

/// Initiator state of a CHILD SA creation or rekey.
pub struct ChildInit {
    pub offer: ChildOffer,
    pub ni: Zeroizing<Vec<u8>>,
    /// Inbound SPI of the child being rekeyed.
    pub rekey_of: Option<u32>,
    pub ke_retried: bool,
}

/// Initiator state of an IKE SA rekey.
pub struct IkeRekeyInit {
    pub spi_i: u64,
    pub ni: Zeroizing<Vec<u8>>,
    pub group: u16,
    pub ke: KeSecret,
    pub offered: Vec<Proposal>,
    pub ke_retried: bool,
}

/// Whether our exchange holds the lowest of the four nonces (§2.8.1), i.e.
/// the SA it created is the redundant one.
pub fn ours_is_lowest(our_ni: &[u8], our_nr: &[u8], peer_ni: &[u8], peer_nr: &[u8]) -> bool {
    let ours = our_ni.min(our_nr);
    let theirs = peer_ni.min(peer_nr);
    ours < theirs
}

/// A random back-off before retrying after TEMPORARY_FAILURE (§2.25).
fn retry_delay(cx: &mut Cx<'_>) -> Duration {
    Duration::from_millis(1000 + cx.rng.below(4000))
}

/// Starts a new CHILD SA (`rekey_of == None`) or a CHILD SA rekey.
pub fn start_child(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    child_idx: usize,
    rekey_of: Option<u32>,
    group: Option<u16>,
) -> Result<(), IkeError> {
    let conn = cx
        .cfg
        .connection(sa.conn)
        .ok_or(IkeError::ApiMisuse("unknown connection"))?;
    let spi_in = child::alloc_spi(cx);
    let ni = Zeroizing::new(cx.rng.bytes(NONCE_LEN));
    let pfs = conn
        .children
        .get(child_idx)
        .is_some_and(|c| c.proposals.iter().any(|p| p.ke_groups().next().is_some()));
    let (mut offer, mut payloads) = child_nego::offer(cx, conn, child_idx, spi_in, pfs)?;
    if let (Some(g), Some((_, _))) = (group, &offer.ke) {
        let ke = suite::ke_generate(g, cx.rng)?;
        offer.ke = Some((g, ke));
        for p in payloads.iter_mut() {
            if let (Payload::Ke { group: pg, data }, Some((_, k))) = (p, &offer.ke) {
                *pg = g;
                *data = k.public().to_vec();
            }
        }
    }
    if let Some(old) = rekey_of.and_then(|s| cx.children.get(s)) {
        // A rekeyed SA keeps its selectors (§2.8).
        offer.ts_i.clone_from(&old.info.ts_local);
        offer.ts_r.clone_from(&old.info.ts_remote);
        for p in payloads.iter_mut() {
            match p {
                Payload::TsI(v) => v.clone_from(&old.info.ts_local),
                Payload::TsR(v) => v.clone_from(&old.info.ts_remote),
                _ => {}
            }
        }
        payloads.insert(
            0,
            Payload::Notify(Notify::with_spi(
                protocol::ESP,
                old.info.spi_in.to_be_bytes().to_vec(),
                notify::REKEY_SA,
                Vec::new(),
            )),
        );
    }
    // Nonce right after SA (§1.3.1 order: SA, Ni, [KEi], TSi, TSr).
    let sa_pos = payloads
        .iter()
        .position(|p| matches!(p, Payload::Sa(_)))
        .unwrap_or(0);
    payloads.insert(sa_pos + 1, Payload::Nonce(ni.to_vec()));
    if let Some(old) = rekey_of.and_then(|s| cx.children.get_mut(s)) {
        old.state = ChildState::Rekeying { peer: None };
    }
    let init = ChildInit {
        offer,
        ni,
        rekey_of,
        ke_retried: group.is_some(),
    };
    sa.send_request(
        cx,
        xt::CREATE_CHILD_SA,
        payloads,
        Pending::CreateChild(Box::new(init)),
    )?;
    Ok(())
}

fn keys_of(sa: &IkeSa) -> Option<&Established> {
    sa.phase.established()
}

/// Initiator: response to a child creation/rekey.
pub fn on_child_response(cx: &mut Cx<'_>, sa: &mut IkeSa, mut init: ChildInit, msg: &Message) {
    let restore_old = |cx: &mut Cx<'_>| {
        if let Some(old) = init.rekey_of.and_then(|s| cx.children.get_mut(s)) {
            if matches!(old.state, ChildState::Rekeying { .. }) {
                old.state = ChildState::Installed;
            }
        }
    };
    if let Some(n) = child_nego::refusal(msg) {
        restore_old(cx);
        match n {
            notify::TEMPORARY_FAILURE => {
                let at = cx.now + retry_delay(cx);
                match init.rekey_of.and_then(|s| cx.children.get_mut(s)) {
                    Some(old) => old.timers.set(ChildTimer::Rekey.idx(), at),
                    None => sa.queue.push_back(Queued::CreateChild {
                        child: init.offer.child,
                    }),
                }
            }
            notify::CHILD_SA_NOT_FOUND => {
                // The peer no longer has it: neither should we.
                if let Some(s) = init.rekey_of {
                    child::remove(cx, s, DownReason::PeerDeleted);
                }
            }
            notify::INVALID_KE_PAYLOAD if !init.ke_retried => {
                let wanted = msg
                    .notify(n)
                    .and_then(|x| <[u8; 2]>::try_from(x.data.as_slice()).ok())
                    .map(u16::from_be_bytes);
                let offered = init.offer.offered.iter().any(|p| {
                    wanted.is_some_and(|w| p.transforms.iter().any(|t| t.ty == tt::KE && t.id == w))
                });
                if offered {
                    if let Err(e) = start_child(cx, sa, init.offer.child, init.rekey_of, wanted) {
                        cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Protocol(e));
                    }
                } else {
                    cx.failure(Some(sa.id), Some(sa.conn), FailureReason::PeerError(n));
                }
            }
            _ => cx.failure(Some(sa.id), Some(sa.conn), FailureReason::PeerError(n)),
        }
        return;
    }
    let Some(nr) = msg.nonce().map(<[u8]>::to_vec) else {
        restore_old(cx);
        cx.failure(
            Some(sa.id),
            Some(sa.conn),
            FailureReason::Protocol(PeerMisbehaved::MissingPayload("Nr").into()),
        );
        return;
    };
    let result = match keys_of(sa) {
        Some(e) => {
            let ki = KeyInput {
                ike_keys: &e.keys,
                ni: &init.ni,
                nr: &nr,
            };
            child_nego::complete(cx, sa, &mut init.offer, msg, &ki)
        }
        None => Err(IkeError::ApiMisuse("no keys")),
    };
    let (info, keys) = match result {
        Ok(i) => i,
        Err(e) => {
            restore_old(cx);
            cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Protocol(e));
            // The peer created the child: delete it (§2.9).
            let _ = sa.send_request(
                cx,
                xt::INFORMATIONAL,
                vec![Payload::Delete(crate::msg::Delete {
                    protocol: protocol::ESP,
                    spis: vec![init.offer.spi_in],
                })],
                Pending::DeleteChildren(vec![]),
            );
            return;
        }
    };
    let Some(conn) = cx.cfg.connection(sa.conn) else {
        return;
    };
    let Some(lifetime) = conn.children.get(info.child).map(|c| c.lifetime) else {
        return;
    };
    // The peer deleted this child before our response arrived: it never was.
    if let Some(e) = sa.phase.established_mut() {
        if let Some(i) = e.unknown_deletes.iter().position(|s| *s == info.spi_out) {
            e.unknown_deletes.swap_remove(i);
            restore_old(cx);
            return;
        }
    }
    let new_spi = info.spi_in;
    let old = init
        .rekey_of
        .and_then(|s| cx.children.get(s))
        .map(|c| (c.info.spi_in, c.state.clone()));
    match old {
        None => child::install(cx, info, keys, &lifetime, None, false),
        Some((old_spi, ChildState::Rekeying { peer: Some(p) }))
            if ours_is_lowest(&init.ni, &nr, &p.ni, &p.nr) =>
        {
            // We lost the collision: our new SA is redundant; the peer deletes the old one.
            child::install(cx, info, keys, &lifetime, None, false);
            if let Some(o) = cx.children.get_mut(old_spi) {
                o.state = ChildState::Rekeyed { by: p.new_spi_in };
            }
            if let Some(n) = cx.children.get_mut(new_spi) {
                n.state = ChildState::Deleting;
                n.timers = Default::default();
            }
            sa.queue.push_front(Queued::DeleteChild { spi_in: new_spi });
        }
        Some((old_spi, _)) => {
            child::install(cx, info, keys, &lifetime, Some(old_spi), false);
            if let Some(o) = cx.children.get_mut(old_spi) {
                o.state = ChildState::Deleting;
                o.timers = Default::default();
            }
            sa.queue.push_front(Queued::DeleteChild { spi_in: old_spi });
        }
    }
}

/// Responder: a CREATE_CHILD_SA request.
pub fn respond(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) {
    let mid = msg.header.message_id;
    if msg
        .sa()
        .is_some_and(|p| p.iter().any(|p| p.protocol == protocol::IKE))
    {
        return respond_ike_rekey(cx, sa, msg);
    }
    let answer = |cx: &mut Cx<'_>, sa: &mut IkeSa, ty: u16, data: Vec<u8>| {
        let _ = sa.send_error_response(cx, xt::CREATE_CHILD_SA, mid, ty, data);
    };
    let Some(est) = sa.phase.established() else {
        return;
    };
    // §2.25.2: no new children while the IKE SA is being rekeyed or deleted.
    if est.deleting || !matches!(est.rekey, IkeRekey::None) {
        return answer(cx, sa, notify::TEMPORARY_FAILURE, Vec::new());
    }
    let Some(ni) = msg.nonce().map(<[u8]>::to_vec) else {
        return answer(cx, sa, notify::INVALID_SYNTAX, Vec::new());
    };
    // Which child does a REKEY_SA name? Its SPI is the peer's inbound one.
    let mut rekey_of = None;
    if let Some(n) = msg.notify(notify::REKEY_SA) {
        let Ok(spi) = <[u8; 4]>::try_from(n.spi.as_slice()).map(u32::from_be_bytes) else {
            return answer(cx, sa, notify::INVALID_SYNTAX, Vec::new());
        };
        let ikes = sa.related();
        let Some(old_spi) = cx.children.find_by_out(spi, &ikes) else {
            // A child we are creating may be that one, its response still in
            // flight to us: ask the peer to retry rather than forget it.
            let creating = sa
                .requests
                .iter()
                .any(|(_, o)| matches!(o.exchange, Pending::CreateChild(_)));
            let ty = if creating {
                notify::TEMPORARY_FAILURE
            } else {
                notify::CHILD_SA_NOT_FOUND
            };
            return answer(cx, sa, ty, Vec::new());
        };
        match cx.children.get(old_spi).map(|c| &c.state) {
            Some(ChildState::Installed) | Some(ChildState::Rekeying { peer: None }) => {
                rekey_of = Some(old_spi)
            }
            _ => return answer(cx, sa, notify::TEMPORARY_FAILURE, Vec::new()),
        }
    }
    let forced = rekey_of
        .and_then(|s| cx.children.get(s))
        .map(|c| c.info.child);
    let spi_in = child::alloc_spi(cx);
    let nr = cx.rng.bytes(NONCE_LEN);
    let accepted = {
        let Some(est) = sa.phase.established() else {
            return;
        };
        let ki = KeyInput {
            ike_keys: &est.keys,
            ni: &ni,
            nr: &nr,
        };
        child_nego::respond(cx, sa, sa.conn, msg, &ki, forced, true, spi_in)
    };
    let acc = match accepted {
        Ok(a) => a,
        Err(r) => return answer(cx, sa, r.notify, r.data),
    };
    let mut payloads = acc.payloads;
    let sa_pos = payloads
        .iter()
        .position(|p| matches!(p, Payload::Sa(_)))
        .unwrap_or(0);
    payloads.insert(sa_pos + 1, Payload::Nonce(nr.clone()));
    if sa
        .send_response(cx, xt::CREATE_CHILD_SA, mid, payloads)
        .is_err()
    {
        return;
    }
    let Some(lifetime) = cx
        .cfg
        .connection(sa.conn)
        .and_then(|c| c.children.get(acc.child))
        .map(|c| c.lifetime)
    else {
        return;
    };
    child::install(cx, acc.info, acc.keys, &lifetime, rekey_of, true);
    if let Some(old) = rekey_of.and_then(|s| cx.children.get_mut(s)) {
        old.timers.stop(ChildTimer::Rekey.idx());
        old.state = match old.state {
            ChildState::Rekeying { peer: None } => ChildState::Rekeying {
                peer: Some(PeerChildRekey {
                    new_spi_in: spi_in,
                    ni,
                    nr,
                }),
            },
            _ => ChildState::Rekeyed { by: spi_in },
        };
    }
}

/// Starts an IKE SA rekey (§1.3.2) with the current suite's KE group.
pub fn start_ike_rekey(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    group: Option<u16>,
) -> Result<(), IkeError> {
    let conn = cx
        .cfg
        .connection(sa.conn)
        .ok_or(IkeError::ApiMisuse("unknown connection"))?;
    let Some(est) = sa.phase.established_mut() else {
        return Err(IkeError::ApiMisuse("not established"));
    };
    let est_group = est.keys.suite().ke;
    let group = group.unwrap_or(est_group);
    let spi_i = cx.rng.ike_spi();
    let primary = rekey_proposals(conn);
    let cfgs: Vec<&proposal::ProposalConfig> = primary.iter().collect();
    let offered = proposal::offer(&cfgs, protocol::IKE, &spi_i.to_be_bytes(), false);
    let ke = suite::ke_generate(group, cx.rng)?;
    let ni = Zeroizing::new(cx.rng.bytes(NONCE_LEN));
    est.rekey = IkeRekey::Rekeying { peer: None };
    let payloads = vec![
        Payload::Sa(offered.clone()),
        Payload::Nonce(ni.to_vec()),
        Payload::Ke {
            group,
            data: ke.public().to_vec(),
        },
    ];
    let ke_retried = group != est_group;
    let init = IkeRekeyInit {
        spi_i,
        ni,
        group,
        ke,
        offered,
        ke_retried,
    };
    sa.send_request(
        cx,
        xt::CREATE_CHILD_SA,
        payloads,
        Pending::RekeyIke(Box::new(init)),
    )?;
    Ok(())
}

/// Builds the successor IKE SA of a rekey (either role).
#[allow(clippy::too_many_arguments)]
fn successor(
    cx: &mut Cx<'_>,
    old: &IkeSa,
    role: Role,
    chosen: &Proposal,
    spi_i: u64,
    spi_r: u64,
    ni: &[u8],
    nr: &[u8],
    shared: &[u8],
) -> Result<IkeSa, IkeError> {
    let est = old
        .phase
        .established()
        .ok_or(IkeError::ApiMisuse("not established"))?;
    let suite = IkeSuite::from_proposal(chosen)?;
    // §2.18: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), the old PRF.
    let keys = suite::derive_ike_keys(suite, Some(&est.keys), ni, nr, shared, spi_i, spi_r)?;
    let id = cx.alloc_sa_id();
    let mut n = IkeSa::new(
        id,
        old.conn,
        role,
        spi_i,
        spi_r,
        old.path,
        cx.now,
        old.responses.window(),
    );
    n.nat = old.nat.clone();
    // A rekeyed IKE SA keeps the authentication of the old one (§2.18).
    n.pubkey = old.pubkey.clone();
    n.predecessor = Some(old.id);
    n.requests.set_peer_window(old.requests.peer_window());
    n.phase = Phase::Established(Box::new(Established {
        keys,
        local_id: est.local_id.clone(),
        remote_id: est.remote_id.clone(),
        rekey: IkeRekey::None,
        deleting: false,
        unknown_deletes: Vec::new(),
    }));
    exchange::on_established(cx, &mut n);
    cx.counters.ike_sas_established += 1;
    cx.event(Event::IkeSaUp {
        ike: n.id,
        conn: n.conn,
        spi_i,
        spi_r,
        path: n.path,
    });
    Ok(n)
}

/// Moves the children of `sa` to `to` and marks `sa` replaced.
fn hand_over(cx: &mut Cx<'_>, sa: &mut IkeSa, to: &IkeSa) {
    cx.children.retarget(sa.id, to.id);
    sa.successor = Some(to.id);
    sa.timers.stop(IkeTimer::Rekey.idx());
    sa.timers.stop(IkeTimer::Dpd.idx());
    if let Some(e) = sa.phase.established_mut() {
        e.rekey = IkeRekey::Replaced { by: to.id };
    }
    cx.event(Event::IkeSaRekeyed {
        old: sa.id,
        new: to.id,
        spi_i: to.spi_i,
        spi_r: to.spi_r,
    });
}

fn ike_spi_of(p: &Proposal) -> Option<u64> {
    <[u8; 8]>::try_from(p.spi.as_slice())
        .ok()
        .map(u64::from_be_bytes)
        .filter(|s| *s != 0)
}

/// Initiator: response to our IKE SA rekey.
pub fn on_ike_rekey_response(
    cx: &mut Cx<'_>,
    sa: &mut IkeSa,
    mut init: IkeRekeyInit,
    msg: &Message,
) {
    let peer = match sa.phase.established_mut() {
        Some(e) => match std::mem::replace(&mut e.rekey, IkeRekey::None) {
            IkeRekey::Rekeying { peer } => peer,
            other => {
                e.rekey = other;
                None
            }
        },
        None => return,
    };
    if let Some(n) = child_nego::refusal(msg) {
        if let Some(p) = peer {
            // Our rekey failed but the peer's succeeded: follow it.
            finish_as_loser(cx, sa, p);
            return;
        }
        match n {
            notify::TEMPORARY_FAILURE => {
                let at = cx.now + retry_delay(cx);
                sa.timers.set(IkeTimer::Rekey.idx(), at);
            }
            notify::INVALID_KE_PAYLOAD if !init.ke_retried => {
                let wanted = msg
                    .notify(n)
                    .and_then(|x| <[u8; 2]>::try_from(x.data.as_slice()).ok())
                    .map(u16::from_be_bytes);
                match wanted.map(|g| start_ike_rekey(cx, sa, Some(g))) {
                    Some(Ok(())) => {}
                    _ => cx.failure(Some(sa.id), Some(sa.conn), FailureReason::PeerError(n)),
                }
            }
            _ => cx.failure(Some(sa.id), Some(sa.conn), FailureReason::PeerError(n)),
        }
        return;
    }
    let parsed = (|| {
        let chosen = proposal::verify_choice(&init.offered, msg.sa()?)?;
        let spi_r = ike_spi_of(&chosen)?;
        let (g, data) = msg.ke()?;
        if g != init.group || chosen.get(tt::KE).map(|t| t.id) != Some(g) {
            return None;
        }
        Some((chosen, spi_r, data.to_vec(), msg.nonce()?.to_vec()))
    })();
    let Some((chosen, spi_r, ke_data, nr)) = parsed else {
        cx.failure(
            Some(sa.id),
            Some(sa.conn),
            FailureReason::Protocol(PeerMisbehaved::BadResponse.into()),
        );
        if let Some(p) = peer {
            finish_as_loser(cx, sa, p);
        }
        return;
    };
    let made = init.ke.agree(&ke_data).and_then(|shared| {
        successor(
            cx,
            sa,
            Role::OriginalInitiator,
            &chosen,
            init.spi_i,
            spi_r,
            &init.ni,
            &nr,
            shared.expose(),
        )
    });
    let new_sa = match made {
        Ok(n) => n,
        Err(e) => {
            cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Protocol(e));
            if let Some(p) = peer {
                finish_as_loser(cx, sa, p);
            }
            return;
        }
    };
    match peer {
        Some(p) if ours_is_lowest(&init.ni, &nr, &p.ni, &p.nr) => {
            // Ours is redundant: delete it; the peer's successor wins (§2.8.2).
            cx.follow_ups.push(FollowUp::DeleteIke(new_sa.id));
            cx.new_sas.push(new_sa);
            finish_as_loser(cx, sa, p);
        }
        _ => {
            hand_over(cx, sa, &new_sa);
            cx.new_sas.push(new_sa);
            // We created the survivor: we delete the old IKE SA.
            exchange::enqueue(sa, Queued::DeleteIke);
        }
    }
}

/// The peer's colliding rekey produced the surviving SA: children go there,
/// and the peer deletes the old SA.
fn finish_as_loser(cx: &mut Cx<'_>, sa: &mut IkeSa, p: PeerRekey) {
    // The winner may itself have been rekeyed meanwhile: the endpoint follows the chain.
    cx.follow_ups.push(FollowUp::Adopt {
        from: sa.id,
        to: p.new_sa,
    });
    sa.successor = Some(p.new_sa);
    sa.timers.stop(IkeTimer::Rekey.idx());
    sa.timers.stop(IkeTimer::Dpd.idx());
    if let Some(e) = sa.phase.established_mut() {
        e.rekey = IkeRekey::Replaced { by: p.new_sa };
    }
    cx.event(Event::IkeSaRekeyed {
        old: sa.id,
        new: p.new_sa,
        spi_i: 0,
        spi_r: 0,
    });
}

/// Responder: the peer rekeys the IKE SA.
fn respond_ike_rekey(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) {
    let mid = msg.header.message_id;
    let answer = |cx: &mut Cx<'_>, sa: &mut IkeSa, ty: u16, data: Vec<u8>| {
        let _ = sa.send_error_response(cx, xt::CREATE_CHILD_SA, mid, ty, data);
    };
    let Some(est) = sa.phase.established() else {
        return;
    };
    let busy = sa
        .requests
        .iter()
        .any(|(_, o)| matches!(o.exchange, Pending::CreateChild(_)));
    let collision = match &est.rekey {
        IkeRekey::None => false,
        IkeRekey::Rekeying { peer: None } => true,
        _ => return answer(cx, sa, notify::TEMPORARY_FAILURE, Vec::new()),
    };
    if est.deleting || busy {
        return answer(cx, sa, notify::TEMPORARY_FAILURE, Vec::new());
    }
    let (Some(sa_pl), Some(ni), Some((group, ke_data))) = (msg.sa(), msg.nonce(), msg.ke()) else {
        return answer(cx, sa, notify::INVALID_SYNTAX, Vec::new());
    };
    let Some(conn) = cx.cfg.connection(sa.conn) else {
        return;
    };
    let primary = rekey_proposals(conn);
    let cfgs: Vec<&proposal::ProposalConfig> = primary.iter().collect();
    let Some(chosen) = proposal::select(&cfgs, sa_pl, protocol::IKE, false) else {
        return answer(cx, sa, notify::NO_PROPOSAL_CHOSEN, Vec::new());
    };
    let Some(spi_i) = ike_spi_of(&chosen) else {
        return answer(cx, sa, notify::INVALID_SYNTAX, Vec::new());
    };
    let want = chosen.get(tt::KE).map(|t| t.id);
    if want != Some(group) {
        let data = want.map(|w| w.to_be_bytes().to_vec()).unwrap_or_default();
        return answer(cx, sa, notify::INVALID_KE_PAYLOAD, data);
    }
    let spi_r = cx.rng.ike_spi();
    let nr = cx.rng.bytes(NONCE_LEN);
    let made = suite::ke_respond(group, ke_data, cx.rng).and_then(|(ke_public, shared)| {
        let n = successor(
            cx,
            sa,
            Role::OriginalResponder,
            &chosen,
            spi_i,
            spi_r,
            ni,
            &nr,
            shared.expose(),
        )?;
        Ok((n, ke_public))
    });
    let (new_sa, ke_pub) = match made {
        Ok(x) => x,
        Err(IkeError::PeerMisbehaved(_)) | Err(IkeError::Malformed(_)) => {
            return answer(cx, sa, notify::INVALID_SYNTAX, Vec::new())
        }
        Err(_) => return answer(cx, sa, notify::NO_PROPOSAL_CHOSEN, Vec::new()),
    };
    let payloads = vec![
        Payload::Sa(vec![Proposal {
            spi: spi_r.to_be_bytes().to_vec(),
            ..chosen
        }]),
        Payload::Nonce(nr.clone()),
        Payload::Ke {
            group,
            data: ke_pub,
        },
    ];
    if sa
        .send_response(cx, xt::CREATE_CHILD_SA, mid, payloads)
        .is_err()
    {
        return;
    }
    if collision {
        if let Some(e) = sa.phase.established_mut() {
            e.rekey = IkeRekey::Rekeying {
                peer: Some(PeerRekey {
                    new_sa: new_sa.id,
                    ni: ni.to_vec(),
                    nr,
                }),
            };
        }
    } else {
        hand_over(cx, sa, &new_sa);
    }
    cx.new_sas.push(new_sa);
}

/// The IKE proposals a rekey offers and accepts: the primary key exchange
/// only. The new SA's keys still derive from SK_d, which the additional
/// exchanges protected (RFC 9370 §2.2.4's IKE_FOLLOWUP_KE is not
/// implemented).
fn rekey_proposals(conn: &crate::config::ConnConfig) -> Vec<proposal::ProposalConfig> {
    conn.ike_proposals
        .iter()
        .map(|p| p.0.without_additional_ke())
        .collect()
}
