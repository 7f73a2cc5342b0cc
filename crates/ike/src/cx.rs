//! The context every exchange handler gets: the current instant, config,
//! RNG, the CHILD SA table, and the output queues. Handlers work on one
//! IKE SA at a time (taken out of the endpoint's table); effects on other
//! SAs are recorded as [`FollowUp`]s and applied by the endpoint afterwards.

use std::collections::VecDeque;
use std::time::Instant;

use crate::child::Children;
use crate::config::{Config, ConnId};
use crate::error::{Counters, DropReason, FailureReason};
use crate::event::{Event, IkeSaId, Path};
use crate::rng::Rng;
use crate::sa::{IkeSa, Queued};

/// An IKE message waiting for [`crate::IkeEndpoint::poll_transmit_into`]:
/// not yet framed, since the non-ESP marker is added in one place only,
/// on the way out ([`crate::codec::frame_into`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub path: Path,
    pub message: Vec<u8>,
}

/// Work for the endpoint after the current SA has been put back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// Initiate a connection again.
    Initiate(ConnId),
    /// The peer authenticated this IKE SA with INITIAL_CONTACT (RFC 7296
    /// §2.4): its other IKE SAs with the same identities are stale.
    InitialContact(IkeSaId),
    /// Delete another IKE SA (the redundant one of a rekey collision).
    DeleteIke(IkeSaId),
    /// Move the children of `from` to `to`, or to whatever replaced `to`.
    Adopt { from: IkeSaId, to: IkeSaId },
    /// Queue an operation on another IKE SA (a child moved by a rekey).
    Queue(IkeSaId, Queued),
    /// Reauthenticate this IKE SA (§2.8.3) unless that is under way.
    Reauth(IkeSaId),
    /// `new` (a reauthentication of `old`) is up with its first CHILD SA:
    /// create `old`'s other children in it, then delete `old`.
    ReauthDone { old: IkeSaId, new: IkeSaId },
}

pub struct Cx<'a> {
    pub now: Instant,
    pub cfg: &'a Config,
    pub rng: &'a mut Rng,
    pub children: &'a mut Children,
    pub out: &'a mut VecDeque<Outgoing>,
    pub events: &'a mut VecDeque<Event>,
    pub counters: &'a mut Counters,
    /// IKE SAs created while handling this input (IKE SA rekey).
    pub new_sas: &'a mut Vec<IkeSa>,
    pub next_sa_id: &'a mut u64,
    pub follow_ups: &'a mut Vec<FollowUp>,
}

impl Cx<'_> {
    /// Queues the IKE message `message` (unframed) for `path`.
    pub fn transmit(&mut self, path: Path, message: Vec<u8>) {
        self.counters.datagrams_out += 1;
        self.out.push_back(Outgoing { path, message });
    }

    pub fn event(&mut self, e: Event) {
        self.events.push_back(e);
    }

    pub fn drop_input(&mut self, r: DropReason) {
        // Forged input for a live SA (a bad ICV, say) can come in floods:
        // log the 1st, 2nd, 4th … of each reason only.
        let n = self.counters.count_drop(r);
        if n.is_power_of_two() {
            tracing::debug!(reason = ?r, total = n, "dropped input");
        }
    }

    pub fn failure(&mut self, ike: Option<IkeSaId>, conn: Option<ConnId>, reason: FailureReason) {
        // The driver reports failures to the operator (with connection
        // names); this is the core's own trace of it.
        let name = conn
            .and_then(|c| self.cfg.connection(c))
            .map(|c| c.name.as_str());
        tracing::debug!(
            ike = ike.map_or(0, |i| i.0),
            conn = name.unwrap_or("-"),
            "negotiation failed: {reason}"
        );
        self.events.push_back(Event::Failure { ike, conn, reason });
    }

    pub fn alloc_sa_id(&mut self) -> IkeSaId {
        *self.next_sa_id += 1;
        IkeSaId(*self.next_sa_id)
    }
}
