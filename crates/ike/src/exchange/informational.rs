//! INFORMATIONAL (RFC 7296 §1.4): Delete of CHILD SAs and of the IKE SA in
//! both directions (§1.4.1), liveness checks (§2.4), and authenticated
//! error notifications (§2.21.2). Unauthenticated notifies never reach
//! this module: they are dropped (and counted) before decryption succeeds.

use crate::child::{self, ChildState};
use crate::cx::Cx;
use crate::error::{FailureReason, IkeError};
use crate::event::{DownReason, Event};
use crate::msg::{Delete, Message, Payload};
use crate::reg::{exchange as xt, notify, protocol};
use crate::sa::{IkeRekey, IkeSa, Pending, Phase, Queued};
use crate::timer::IkeTimer;

/// Sends a Delete for one CHILD SA pair (our inbound SPI on the wire).
pub fn start_delete_child(cx: &mut Cx<'_>, sa: &mut IkeSa, spi_in: u32) -> Result<(), IkeError> {
    if let Some(c) = cx.children.get_mut(spi_in) {
        c.state = ChildState::Deleting;
        c.timers = Default::default();
    }
    let payloads = vec![Payload::Delete(Delete {
        protocol: protocol::ESP,
        spis: vec![spi_in],
    })];
    sa.send_request(
        cx,
        xt::INFORMATIONAL,
        payloads,
        Pending::DeleteChildren(vec![spi_in]),
    )?;
    Ok(())
}

/// Sends a Delete for the IKE SA itself.
pub fn start_delete_ike(cx: &mut Cx<'_>, sa: &mut IkeSa) -> Result<(), IkeError> {
    if let Some(e) = sa.phase.established_mut() {
        e.deleting = true;
    }
    for t in [IkeTimer::Dpd, IkeTimer::Rekey, IkeTimer::Expire] {
        sa.timers.stop(t.idx());
    }
    let payloads = vec![Payload::Delete(Delete {
        protocol: protocol::IKE,
        spis: Vec::new(),
    })];
    sa.send_request(cx, xt::INFORMATIONAL, payloads, Pending::DeleteIke)?;
    Ok(())
}

/// Sends an empty INFORMATIONAL as a liveness check.
pub fn start_dpd(cx: &mut Cx<'_>, sa: &mut IkeSa) -> Result<(), IkeError> {
    sa.send_request(cx, xt::INFORMATIONAL, Vec::new(), Pending::Dpd)?;
    Ok(())
}

/// Tears the IKE SA down locally: children first, then the SA.
pub fn close(cx: &mut Cx<'_>, sa: &mut IkeSa, reason: DownReason) {
    // A Delete of an SA whose colliding rekey we answered means the peer's
    // new SA won (§2.8.2): the children live on there.
    if let Some(IkeRekey::Rekeying { peer: Some(p) }) = sa.phase.established().map(|e| &e.rekey) {
        if reason == DownReason::PeerDeleted {
            let to = p.new_sa;
            cx.follow_ups
                .push(crate::cx::FollowUp::Adopt { from: sa.id, to });
            sa.successor = Some(to);
            cx.event(Event::IkeSaRekeyed {
                old: sa.id,
                new: to,
                spi_i: 0,
                spi_r: 0,
            });
            if let Some(e) = sa.phase.established_mut() {
                e.rekey = IkeRekey::Replaced { by: to };
            }
        }
    }
    let replaced = matches!(
        sa.phase.established().map(|e| &e.rekey),
        Some(IkeRekey::Replaced { .. })
    );
    // Child work still pending on a replaced SA continues on its successor:
    // a Delete the peer may not have seen must be sent again there.
    let mut moved = Vec::new();
    for (_, o) in sa.requests.clear() {
        if let Pending::DeleteChildren(spis) = o.exchange {
            moved.extend(
                spis.into_iter()
                    .map(|spi_in| Queued::DeleteChild { spi_in }),
            );
        }
    }
    moved.extend(sa.queue.drain(..).filter(|q| {
        matches!(
            q,
            Queued::DeleteChild { .. }
                | Queued::DeleteExpired { .. }
                | Queued::RekeyChild { .. }
                | Queued::CreateChild { .. }
        )
    }));
    for op in moved {
        match (sa.successor, &op) {
            (Some(to), _) => cx.follow_ups.push(crate::cx::FollowUp::Queue(to, op)),
            (None, Queued::DeleteChild { spi_in }) => {
                child::remove(cx, *spi_in, DownReason::Local);
            }
            (None, _) => {}
        }
    }
    match sa.successor {
        // Children that arrived late on a replaced SA belong to its successor.
        Some(to) => cx
            .follow_ups
            .push(crate::cx::FollowUp::Adopt { from: sa.id, to }),
        None => child::remove_all_of(cx, sa.id, reason),
    }
    if matches!(sa.phase, Phase::Established(_)) {
        let reason = if replaced {
            DownReason::Rekeyed
        } else {
            reason
        };
        cx.event(Event::IkeSaDown {
            ike: sa.id,
            conn: sa.conn,
            reason,
        });
    }
    sa.requests.clear();
    sa.queue.clear();
    sa.phase = Phase::Gone;
}

/// Initiator: the response to one of our INFORMATIONAL requests.
pub fn on_response(cx: &mut Cx<'_>, sa: &mut IkeSa, pending: Pending, msg: &Message) {
    match pending {
        Pending::DeleteChildren(spis) => {
            for s in spis {
                child::remove(cx, s, DownReason::Local);
            }
        }
        Pending::DeleteIke => close(cx, sa, DownReason::Local),
        Pending::Dpd => {}
        _ => {}
    }
    for n in msg.notifies().filter(|n| notify::is_error(n.ty)) {
        cx.failure(Some(sa.id), Some(sa.conn), FailureReason::PeerError(n.ty));
    }
}

/// Responder: an INFORMATIONAL request (Deletes, notifies, or empty).
pub fn respond(cx: &mut Cx<'_>, sa: &mut IkeSa, msg: &Message) {
    let mid = msg.header.message_id;
    if msg.deletes().any(|d| d.protocol == protocol::IKE) {
        // §1.4.1: answer with an empty INFORMATIONAL, then drop everything.
        let _ = sa.send_response(cx, xt::INFORMATIONAL, mid, Vec::new());
        close(cx, sa, DownReason::PeerDeleted);
        return;
    }
    let mut ours = Vec::new();
    let ikes = sa.related();
    for d in msg
        .deletes()
        .filter(|d| d.protocol == protocol::ESP || d.protocol == protocol::AH)
    {
        for &spi_out in &d.spis {
            let Some(spi_in) = cx.children.find_by_out(spi_out, &ikes) else {
                if let Some(e) = sa.phase.established_mut() {
                    if e.unknown_deletes.len() >= crate::sa::UNKNOWN_DELETES_MAX {
                        e.unknown_deletes.remove(0);
                    }
                    e.unknown_deletes.push(spi_out);
                }
                continue;
            };
            let deleting = cx
                .children
                .get(spi_in)
                .is_some_and(|c| c.state == ChildState::Deleting);
            // §1.4.1: a child we are deleting ourselves is not listed again.
            if !deleting {
                ours.push(spi_in);
            }
            child::remove(cx, spi_in, DownReason::PeerDeleted);
        }
    }
    for n in msg.notifies().filter(|n| notify::is_error(n.ty)) {
        // Authenticated error notifies in a request are logged, not acted on (§2.21.2).
        tracing::warn!(
            ike = sa.id.0,
            "the peer reported an error: {}",
            crate::error::peer_error_words(n.ty)
        );
    }
    let payloads = if ours.is_empty() {
        Vec::new()
    } else {
        vec![Payload::Delete(Delete {
            protocol: protocol::ESP,
            spis: ours,
        })]
    };
    let _ = sa.send_response(cx, xt::INFORMATIONAL, mid, payloads);
}
