//! CHILD SAs (RFC 7296 §1.3, §2.8, §2.17): the endpoint-wide table keyed by
//! our inbound SPI, each entry's small lifecycle enum, and its timers.
//!
//! The table is endpoint-wide rather than per IKE SA because an IKE SA
//! rekey (§2.18) moves children to the new IKE SA: that is one field
//! update here, and a late Delete arriving on the old IKE SA still finds
//! the child.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::Lifetime;
use crate::cx::Cx;
use crate::event::{ChildSaInfo, ChildSaKeys, DownReason, Event, IkeSaId};
use crate::timer::{ChildTimer, ChildTimers};

/// A colliding rekey the peer ran on a child we were rekeying (§2.8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerChildRekey {
    /// Inbound SPI of the child the peer's exchange created.
    pub new_spi_in: u32,
    pub ni: Vec<u8>,
    pub nr: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildState {
    Installed,
    /// Our CREATE_CHILD_SA with REKEY_SA for this child is outstanding.
    Rekeying {
        peer: Option<PeerChildRekey>,
    },
    /// Replaced by a newer child; waits for its Delete (ours or the peer's).
    Rekeyed {
        by: u32,
    },
    /// Our Delete is outstanding (or queued).
    Deleting,
}

#[derive(Debug, Clone)]
pub struct ChildSa {
    pub info: ChildSaInfo,
    pub state: ChildState,
    pub timers: ChildTimers,
    pub installed_at: Instant,
}

impl ChildSa {
    pub fn ike(&self) -> IkeSaId {
        self.info.ike
    }
}

/// All CHILD SAs of an endpoint, by inbound SPI.
#[derive(Debug, Default)]
pub struct Children {
    by_spi_in: BTreeMap<u32, ChildSa>,
    /// The earliest child timer, computed on demand and forgotten whenever a
    /// child may change: the driver asks after every datagram, children
    /// change only in CHILD SA exchanges and lifetimes.
    next: std::cell::Cell<Option<Option<Instant>>>,
}

/// Soft deadline: `rekey - random(0..=jitter)`; hard: `hard`.
pub fn lifetime_deadlines(
    now: Instant,
    lt: &Lifetime,
    jitter: Duration,
) -> (Option<Instant>, Option<Instant>) {
    let soft = lt
        .rekey
        .checked_sub(jitter.min(lt.rekey))
        .and_then(|d| now.checked_add(d));
    let hard = if lt.hard == Duration::MAX {
        None
    } else {
        now.checked_add(lt.hard)
    };
    let soft = if lt.rekey == Duration::MAX {
        None
    } else {
        soft
    };
    (soft, hard)
}

impl Children {
    pub fn get(&self, spi_in: u32) -> Option<&ChildSa> {
        self.by_spi_in.get(&spi_in)
    }

    pub fn get_mut(&mut self, spi_in: u32) -> Option<&mut ChildSa> {
        self.next.set(None);
        self.by_spi_in.get_mut(&spi_in)
    }

    pub fn contains(&self, spi_in: u32) -> bool {
        self.by_spi_in.contains_key(&spi_in)
    }

    /// The child whose outbound SPI is `spi_out` under one of these IKE SAs.
    pub fn find_by_out(&self, spi_out: u32, ikes: &[IkeSaId]) -> Option<u32> {
        self.by_spi_in
            .values()
            .find(|c| c.info.spi_out == spi_out && ikes.contains(&c.info.ike))
            .map(|c| c.info.spi_in)
    }

    pub fn of_ike(&self, ike: IkeSaId) -> Vec<u32> {
        self.by_spi_in
            .values()
            .filter(|c| c.info.ike == ike)
            .map(|c| c.info.spi_in)
            .collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ChildSa> {
        self.by_spi_in.values()
    }

    pub fn len(&self) -> usize {
        self.by_spi_in.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_spi_in.is_empty()
    }

    /// Moves every child of `from` to `to` (IKE SA rekey, §2.18).
    pub fn retarget(&mut self, from: IkeSaId, to: IkeSaId) {
        for c in self.by_spi_in.values_mut().filter(|c| c.info.ike == from) {
            c.info.ike = to;
        }
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        if let Some(t) = self.next.get() {
            return t;
        }
        let t = self
            .by_spi_in
            .values()
            .filter_map(|c| c.timers.next())
            .min();
        self.next.set(Some(t));
        t
    }

    /// Children with an expired timer, with the timer kind (cleared).
    pub fn take_expired(&mut self, now: Instant) -> Vec<(u32, ChildTimer)> {
        if self.next_timeout().is_none_or(|t| t > now) {
            return Vec::new();
        }
        self.next.set(None);
        let mut v = Vec::new();
        for c in self.by_spi_in.values_mut() {
            for t in ChildTimer::ALL {
                if c.timers.take_expired(t.idx(), now) {
                    v.push((c.info.spi_in, t));
                }
            }
        }
        v
    }

    /// Whether an SPI is free for a new inbound SA.
    pub fn spi_free(&self, spi: u32) -> bool {
        !self.by_spi_in.contains_key(&spi)
    }

    pub fn insert(&mut self, c: ChildSa) {
        self.next.set(None);
        self.by_spi_in.insert(c.info.spi_in, c);
    }

    pub fn take(&mut self, spi_in: u32) -> Option<ChildSa> {
        self.next.set(None);
        self.by_spi_in.remove(&spi_in)
    }
}

/// Allocates an unused inbound SPI.
pub fn alloc_spi(cx: &mut Cx<'_>) -> u32 {
    loop {
        let s = cx.rng.child_spi();
        if cx.children.spi_free(s) {
            return s;
        }
    }
}

/// Installs a new child, arms its lifetimes and emits the event
/// (`ChildSaReplaced` when it replaces `replaces`; `responder`: we answered
/// that rekey). The keys move into the event: the table keeps `info` only.
pub fn install(
    cx: &mut Cx<'_>,
    info: ChildSaInfo,
    keys: ChildSaKeys,
    lifetime: &Lifetime,
    replaces: Option<u32>,
    responder: bool,
) {
    let jitter = Duration::from_nanos(
        cx.rng
            .below(u64::try_from(lifetime.jitter.as_nanos()).unwrap_or(u64::MAX)),
    );
    let (soft, hard) = lifetime_deadlines(cx.now, lifetime, jitter);
    let mut timers = ChildTimers::default();
    if let Some(s) = soft {
        timers.set(ChildTimer::Rekey.idx(), s);
    }
    if let Some(h) = hard {
        timers.set(ChildTimer::Expire.idx(), h);
    }
    cx.counters.child_sas_installed += 1;
    let ev = match replaces.and_then(|old| cx.children.get(old)) {
        Some(old) => Event::ChildSaReplaced {
            old_spi_in: old.info.spi_in,
            old_spi_out: old.info.spi_out,
            new: info.clone(),
            keys,
            responder,
        },
        None => Event::ChildSaInstalled {
            info: info.clone(),
            keys,
        },
    };
    cx.children.insert(ChildSa {
        info,
        state: ChildState::Installed,
        timers,
        installed_at: cx.now,
    });
    cx.event(ev);
}

/// Removes a child and tells the driver.
pub fn remove(cx: &mut Cx<'_>, spi_in: u32, reason: DownReason) -> Option<ChildSa> {
    let c = cx.children.take(spi_in)?;
    cx.event(Event::ChildSaRemoved {
        ike: c.info.ike,
        spi_in: c.info.spi_in,
        spi_out: c.info.spi_out,
        reason,
    });
    Some(c)
}

/// Removes every child of an IKE SA (it is going away).
pub fn remove_all_of(cx: &mut Cx<'_>, ike: IkeSaId, reason: DownReason) {
    for spi in cx.children.of_ike(ike) {
        remove(cx, spi, reason);
    }
}
