//! Exchanges, one module each (style guide §d), and the per-SA glue: which
//! module a decrypted request or response goes to, the queue of operations
//! waiting for window space (§2.3), SA timers, and the "peer is dead" path
//! after retransmissions run out (§2.1, §2.4).

pub mod child_nego;
pub mod create_child;
pub mod ike_auth;
pub mod ike_sa_init;
pub mod informational;
pub mod intermediate;

use std::time::Duration;

use crate::child;
use crate::cx::{Cx, FollowUp};
use crate::error::{DropReason, FailureReason, IkeError};
use crate::event::DownReason;
use crate::msg::Message;
use crate::reg::{exchange as xt, notify};
use crate::sa::{IkeRekey, IkeSa, Pending, Phase, Queued};
use crate::timer::IkeTimer;
use crate::window::RetransmitAction;

/// How long a reauthentication may take before another attempt starts.
const REAUTH_RETRY: Duration = Duration::from_secs(30);

/// Arms lifetimes and DPD of a freshly established IKE SA.
pub fn on_established(cx: &mut Cx<'_>, sa: &mut IkeSa) {
    sa.established_at = Some(cx.now);
    sa.timers.stop(IkeTimer::HalfOpen.idx());
    if let Some(conn) = cx.cfg.connection(sa.conn) {
        let lt = conn.ike_lifetime;
        let jitter = Duration::from_nanos(
            cx.rng
                .below(u64::try_from(lt.jitter.as_nanos()).unwrap_or(u64::MAX)),
        );
        let (soft, hard) = child::lifetime_deadlines(cx.now, &lt, jitter);
        if let Some(s) = soft {
            sa.timers.set(IkeTimer::Rekey.idx(), s);
        }
        if let Some(h) = hard {
            sa.timers.set(IkeTimer::Expire.idx(), h);
        }
        if let Some(d) = conn.dpd_delay {
            sa.timers.set(IkeTimer::Dpd.idx(), cx.now + d);
        }
    }
}

/// Adds an operation unless an equal one is already waiting.
pub fn enqueue(sa: &mut IkeSa, op: Queued) {
    if !sa.queue.contains(&op) {
        sa.queue.push_back(op);
    }
}

/// Starts queued operations while the peer's window has room.
pub fn kick(cx: &mut Cx<'_>, sa: &mut IkeSa) {
    loop {
        let Some(est) = sa.phase.established() else {
            return;
        };
        if est.deleting {
            sa.queue.clear();
            return;
        }
        let Some(op) = sa.queue.front().cloned() else {
            return;
        };
        let rekeying = !matches!(est.rekey, IkeRekey::None);
        let replaced = matches!(est.rekey, IkeRekey::Replaced { .. });
        // Child work waits out an IKE rekey; on a replaced SA it moves on.
        let child_op = matches!(
            op,
            Queued::CreateChild { .. } | Queued::RekeyChild { .. } | Queued::RekeyIke
        );
        if child_op && replaced {
            sa.queue.pop_front();
            if let (Some(to), Queued::CreateChild { .. } | Queued::RekeyChild { .. }) =
                (sa.successor, &op)
            {
                cx.follow_ups.push(FollowUp::Queue(to, op));
            }
            continue;
        }
        if child_op && rekeying {
            return;
        }
        let needs_idle = matches!(op, Queued::RekeyIke | Queued::DeleteIke);
        if (needs_idle && !sa.requests.is_idle()) || !sa.requests.can_send() {
            return;
        }
        sa.queue.pop_front();
        if let Err(e) = start_op(cx, sa, op) {
            cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Protocol(e));
        }
    }
}

fn start_op(cx: &mut Cx<'_>, sa: &mut IkeSa, op: Queued) -> Result<(), IkeError> {
    let child_here = |cx: &Cx<'_>, spi: u32| {
        cx.children
            .get(spi)
            .filter(|c| c.ike() == sa.id)
            .map(|c| (c.info.child, c.state.clone()))
    };
    match op {
        Queued::CreateChild { child } => create_child::start_child(cx, sa, child, None, None),
        Queued::RekeyChild { spi_in } => match child_here(cx, spi_in) {
            Some((idx, child::ChildState::Installed)) => {
                create_child::start_child(cx, sa, idx, Some(spi_in), None)
            }
            _ => Ok(()),
        },
        Queued::RekeyIke => match sa.phase.established().map(|e| &e.rekey) {
            Some(IkeRekey::None) => create_child::start_ike_rekey(cx, sa, None),
            _ => Ok(()),
        },
        Queued::DeleteChild { spi_in } => match child_here(cx, spi_in) {
            Some(_) => informational::start_delete_child(cx, sa, spi_in),
            None => Ok(()),
        },
        Queued::DeleteExpired { spi_in } => informational::start_delete_child(cx, sa, spi_in),
        Queued::DeleteIke => informational::start_delete_ike(cx, sa),
        Queued::Dpd => informational::start_dpd(cx, sa),
    }
}

/// A decrypted, window-checked request for this SA.
pub fn handle_request(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) -> Result<(), DropReason> {
    let mid = msg.header.message_id;
    match (&sa.phase, msg.header.exchange) {
        // IKE_AUTH only once the additional key exchanges are done.
        (Phase::InitAnswered(s), xt::IKE_AUTH) if s.additional.is_empty() => {
            ike_auth::respond(cx, sa, msg)?
        }
        (Phase::InitAnswered(_), xt::IKE_INTERMEDIATE) => intermediate::respond(cx, sa, msg)?,
        (Phase::Established(_), xt::CREATE_CHILD_SA) => create_child::respond(cx, sa, msg),
        (Phase::Established(_), xt::INFORMATIONAL) => informational::respond(cx, sa, msg),
        (Phase::Established(_), _) => {
            // Authenticated but wrong for the state: answer, keep the SA (§2.21.2).
            let _ = sa.send_error_response(
                cx,
                msg.header.exchange,
                mid,
                notify::INVALID_SYNTAX,
                Vec::new(),
            );
            cx.counters.count_drop(DropReason::WrongExchange);
        }
        _ => return Err(DropReason::WrongExchange),
    }
    kick(cx, sa);
    Ok(())
}

/// A decrypted response to our request `pending`.
pub fn handle_response(cx: &mut Cx<'_>, sa: &mut IkeSa, pending: Pending, msg: &Message) {
    match pending {
        Pending::IkeSaInit => {}
        Pending::IkeIntermediate => intermediate::on_response(cx, sa, msg),
        Pending::IkeAuth => ike_auth::on_response(cx, sa, msg),
        Pending::CreateChild(init) => create_child::on_child_response(cx, sa, *init, msg),
        Pending::RekeyIke(init) => create_child::on_ike_rekey_response(cx, sa, *init, msg),
        p @ (Pending::DeleteChildren(_) | Pending::DeleteIke | Pending::Dpd) => {
            informational::on_response(cx, sa, p, msg)
        }
    }
    kick(cx, sa);
}

/// Retransmissions ran out: the peer is gone (§2.4). No Delete is sent.
pub fn peer_dead(cx: &mut Cx<'_>, sa: &mut IkeSa) {
    match &sa.phase {
        Phase::Established(e) => {
            let replaced = matches!(e.rekey, IkeRekey::Replaced { .. });
            let deleting = e.deleting;
            // An SA we were deleting anyway went as we asked, answered or
            // not: that is no reason to negotiate again.
            let reason = match deleting {
                true => DownReason::Local,
                false => DownReason::PeerDead,
            };
            informational::close(cx, sa, reason);
            if !replaced && !deleting {
                // The endpoint restarts the connection (after this input)
                // if it is kept up or its `dpd_action` is restart.
                cx.failure(Some(sa.id), Some(sa.conn), FailureReason::PeerDead);
            }
        }
        Phase::Gone => {}
        _ => {
            cx.failure(Some(sa.id), Some(sa.conn), FailureReason::Timeout);
            child::remove_all_of(cx, sa.id, DownReason::Failed);
            sa.phase = Phase::Gone;
        }
    }
}

/// Fires this SA's expired timers.
pub fn on_timeout(cx: &mut Cx<'_>, sa: &mut IkeSa) {
    let now = cx.now;
    if sa.timers.take_expired(IkeTimer::Retransmit.idx(), now) {
        for a in sa.requests.due(now, &cx.cfg.retransmit) {
            match a {
                RetransmitAction::Resend(id) => {
                    if let Some(o) = sa.requests.get(id) {
                        // Every fragment again (RFC 7383 §2.6).
                        let ps = o.packets.clone();
                        cx.counters.retransmits_sent += 1;
                        for p in &ps {
                            sa.transmit(cx, p);
                        }
                    }
                }
                RetransmitAction::GiveUp(_) => {
                    peer_dead(cx, sa);
                    return;
                }
            }
        }
        sa.arm_retransmit();
    }
    if sa.timers.take_expired(IkeTimer::HalfOpen.idx(), now)
        && matches!(sa.phase, Phase::InitAnswered(_))
    {
        ike_sa_init::half_open_expired(cx, sa);
        return;
    }
    if sa.timers.take_expired(IkeTimer::Expire.idx(), now) {
        // Hard lifetime: its CHILD SAs carry nothing from now on, whatever
        // exchange is outstanding; the IKE SA is deleted as soon as the
        // window allows (or closed when the outstanding request times out).
        child::remove_all_of(cx, sa.id, DownReason::Expired);
        sa.queue.clear();
        sa.queue.push_back(Queued::DeleteIke);
    }
    if sa.timers.take_expired(IkeTimer::Rekey.idx(), now) {
        let reauth = cx
            .cfg
            .connection(sa.conn)
            .is_some_and(|c| c.reauth && c.remote_addr.is_some());
        if reauth {
            cx.follow_ups.push(FollowUp::Reauth(sa.id));
            // Look again later: if this attempt fails, the next one starts
            // then (the old SA lives until its hard lifetime).
            sa.timers.set(IkeTimer::Rekey.idx(), now + REAUTH_RETRY);
        } else {
            enqueue(sa, Queued::RekeyIke);
        }
    }
    if sa.timers.take_expired(IkeTimer::Dpd.idx(), now) {
        let delay = cx.cfg.connection(sa.conn).and_then(|c| c.dpd_delay);
        if sa.requests.is_idle() && sa.queue.is_empty() {
            enqueue(sa, Queued::Dpd);
        }
        // Outstanding requests are liveness checks already; look again later.
        if let Some(d) = delay {
            sa.timers.set(IkeTimer::Dpd.idx(), now + d);
        }
    }
    if sa
        .timers
        .take_expired(IkeTimer::DeleteAfterRekey.idx(), now)
    {
        enqueue(sa, Queued::DeleteIke);
    }
    kick(cx, sa);
}
