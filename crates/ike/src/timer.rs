//! Timers as a table (style guide §d): one enum of timer kinds indexing
//! optional deadlines. The endpoint's `poll_timeout` is the minimum over all
//! tables; `handle_timeout` fires every expired entry once and clears it, so
//! spurious calls are no-ops.

use std::time::Instant;

/// Timers of one IKE SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IkeTimer {
    /// Earliest retransmission or give-up deadline of an outstanding request (§2.1).
    Retransmit,
    /// Idle time passed: send an empty INFORMATIONAL (§2.4).
    Dpd,
    /// Soft lifetime: start an IKE SA rekey (§2.18).
    Rekey,
    /// Hard lifetime: delete the IKE SA.
    Expire,
    /// A responder's half-open SA that never authenticated (§2.6).
    HalfOpen,
    /// Delete the old IKE SA after a rekey, once the delay has passed.
    DeleteAfterRekey,
}

impl IkeTimer {
    pub const COUNT: usize = 6;
    pub const ALL: [IkeTimer; Self::COUNT] = [
        IkeTimer::Retransmit,
        IkeTimer::Dpd,
        IkeTimer::Rekey,
        IkeTimer::Expire,
        IkeTimer::HalfOpen,
        IkeTimer::DeleteAfterRekey,
    ];
}

/// Timers of one CHILD SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildTimer {
    /// Soft lifetime: rekey the CHILD SA (§2.8).
    Rekey,
    /// Hard lifetime: delete it.
    Expire,
}

impl ChildTimer {
    pub const COUNT: usize = 2;
    pub const ALL: [ChildTimer; Self::COUNT] = [ChildTimer::Rekey, ChildTimer::Expire];
}

/// Endpoint-wide timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointTimer {
    /// Replace the cookie secret (§2.6).
    CookieRotation,
}

impl EndpointTimer {
    pub const COUNT: usize = 1;
}

/// A fixed table of optional deadlines indexed by a timer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerTable<const N: usize> {
    deadlines: [Option<Instant>; N],
}

impl<const N: usize> Default for TimerTable<N> {
    fn default() -> Self {
        Self {
            deadlines: [None; N],
        }
    }
}

impl<const N: usize> TimerTable<N> {
    pub fn set(&mut self, idx: usize, at: Instant) {
        self.deadlines[idx] = Some(at);
    }

    pub fn stop(&mut self, idx: usize) {
        self.deadlines[idx] = None;
    }

    pub fn get(&self, idx: usize) -> Option<Instant> {
        self.deadlines[idx]
    }

    /// Earliest deadline of the table.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Clears and returns whether the timer at `idx` has expired at `now`.
    pub fn take_expired(&mut self, idx: usize, now: Instant) -> bool {
        match self.deadlines[idx] {
            Some(t) if t <= now => {
                self.deadlines[idx] = None;
                true
            }
            _ => false,
        }
    }
}

/// Timers of one IKE SA.
pub type IkeTimers = TimerTable<{ IkeTimer::COUNT }>;
/// Timers of one CHILD SA.
pub type ChildTimers = TimerTable<{ ChildTimer::COUNT }>;

impl IkeTimer {
    pub fn idx(self) -> usize {
        self as usize
    }
}

impl ChildTimer {
    pub fn idx(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn next_is_minimum_and_expiry_clears() {
        let t0 = Instant::now();
        let mut t = IkeTimers::default();
        assert_eq!(t.next(), None);
        t.set(IkeTimer::Dpd.idx(), t0 + Duration::from_secs(5));
        t.set(IkeTimer::Rekey.idx(), t0 + Duration::from_secs(3));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(3)));
        assert!(!t.take_expired(IkeTimer::Rekey.idx(), t0));
        assert!(t.take_expired(IkeTimer::Rekey.idx(), t0 + Duration::from_secs(3)));
        // A second (spurious) call is a no-op.
        assert!(!t.take_expired(IkeTimer::Rekey.idx(), t0 + Duration::from_secs(3)));
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(5)));
    }
}
