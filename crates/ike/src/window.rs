//! Message IDs, windows and retransmission (RFC 7296 §2.1, §2.2, §2.3).
//!
//! Each IKE SA has two independent sequences: requests *we* send
//! ([`RequestWindow`]: next ID, outstanding requests with their retransmit
//! schedule, the peer's window size) and requests the *peer* sends
//! ([`ResponseWindow`]: which IDs were answered, the cached responses that
//! answer retransmissions byte for byte, §2.1 "MUST retransmit the response").

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::RetransmitConfig;

/// One request of ours awaiting its response.
#[derive(Debug)]
pub struct Outstanding<X> {
    /// The encoded message as its datagrams: one, or its IKE fragments
    /// (RFC 7383), all resent on retransmission (without the non-ESP
    /// marker, which depends on the path).
    pub packets: Vec<Vec<u8>>,
    pub first_sent: Instant,
    pub next_retransmit: Instant,
    pub retransmits: u32,
    /// The typed exchange machine waiting for the response.
    pub exchange: X,
}

/// What a retransmission check found for one request.
#[derive(Debug, PartialEq, Eq)]
pub enum RetransmitAction {
    Resend(u32),
    GiveUp(u32),
}

/// Requests we send.
#[derive(Debug)]
pub struct RequestWindow<X> {
    next_id: u32,
    /// Window size the peer announced (SET_WINDOW_SIZE), 1 by default.
    peer_window: u32,
    outstanding: BTreeMap<u32, Outstanding<X>>,
}

impl<X> RequestWindow<X> {
    pub fn new(first_id: u32) -> Self {
        Self {
            next_id: first_id,
            peer_window: 1,
            outstanding: BTreeMap::new(),
        }
    }

    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    pub fn set_peer_window(&mut self, w: u32) {
        self.peer_window = w.max(1);
    }

    pub fn peer_window(&self) -> u32 {
        self.peer_window
    }

    /// Whether a new request may go out now: fewer than `window` outstanding
    /// and the new ID within `window` of the oldest unanswered one (§2.3).
    pub fn can_send(&self) -> bool {
        match self.outstanding.keys().next() {
            None => true,
            Some(&oldest) => self.next_id < oldest.saturating_add(self.peer_window),
        }
    }

    pub fn is_idle(&self) -> bool {
        self.outstanding.is_empty()
    }

    pub fn len(&self) -> usize {
        self.outstanding.len()
    }

    pub fn is_empty(&self) -> bool {
        self.outstanding.is_empty()
    }

    /// Reserves the next message ID and records the request.
    pub fn push(
        &mut self,
        now: Instant,
        packets: Vec<Vec<u8>>,
        exchange: X,
        cfg: &RetransmitConfig,
    ) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.outstanding.insert(
            id,
            Outstanding {
                packets,
                first_sent: now,
                next_retransmit: now + cfg.initial,
                retransmits: 0,
                exchange,
            },
        );
        id
    }

    pub fn get(&self, id: u32) -> Option<&Outstanding<X>> {
        self.outstanding.get(&id)
    }

    pub fn get_mut(&mut self, id: u32) -> Option<&mut Outstanding<X>> {
        self.outstanding.get_mut(&id)
    }

    /// Removes the request a response answers.
    pub fn complete(&mut self, id: u32) -> Option<Outstanding<X>> {
        self.outstanding.remove(&id)
    }

    /// Earliest retransmission deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.outstanding.values().map(|o| o.next_retransmit).min()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&u32, &Outstanding<X>)> {
        self.outstanding.iter()
    }

    /// Drops all outstanding requests (SA gone).
    pub fn clear(&mut self) -> Vec<(u32, Outstanding<X>)> {
        std::mem::take(&mut self.outstanding).into_iter().collect()
    }

    /// Advances the schedule of every due request: exponential back-off,
    /// capped, and give up after `tries` retransmissions or `total` time.
    pub fn due(&mut self, now: Instant, cfg: &RetransmitConfig) -> Vec<RetransmitAction> {
        let mut out = Vec::new();
        for (id, o) in self.outstanding.iter_mut() {
            if o.next_retransmit > now {
                continue;
            }
            if o.retransmits >= cfg.tries || now.duration_since(o.first_sent) >= cfg.total {
                out.push(RetransmitAction::GiveUp(*id));
                continue;
            }
            o.retransmits += 1;
            let interval = backoff(cfg, o.retransmits);
            // The last interval waits for the final answer, but never past `total`.
            let give_up_at = o.first_sent + cfg.total;
            o.next_retransmit = (now + interval).min(give_up_at.max(now));
            out.push(RetransmitAction::Resend(*id));
        }
        out
    }
}

/// `initial * factor^n`, capped at `max_interval`.
pub fn backoff(cfg: &RetransmitConfig, n: u32) -> Duration {
    let secs = cfg.initial.as_secs_f64() * cfg.factor.powi(i32::try_from(n).unwrap_or(i32::MAX));
    if !secs.is_finite() || secs >= cfg.max_interval.as_secs_f64() {
        cfg.max_interval
    } else {
        Duration::from_secs_f64(secs)
    }
}

/// Classification of an incoming request's message ID.
#[derive(Debug, PartialEq, Eq)]
pub enum RequestCheck<'a> {
    /// New request inside the window: process it.
    New,
    /// Already answered: send these cached datagrams again.
    Retransmit(&'a [Vec<u8>]),
    /// Already answered long ago (response no longer cached), or being processed.
    Stale,
    /// Beyond our window (§2.3): drop.
    OutOfWindow,
}

/// Requests the peer sends.
#[derive(Debug)]
pub struct ResponseWindow {
    /// Lowest ID not yet answered.
    lowest_open: u32,
    /// Our window size (what we announce).
    window: u32,
    /// Answered IDs at or above `lowest_open` (only with window > 1).
    answered_ahead: BTreeMap<u32, ()>,
    /// Cached responses by ID, at most `window` of the newest.
    cache: BTreeMap<u32, Vec<Vec<u8>>>,
}

impl ResponseWindow {
    pub fn new(first_id: u32, window: u32) -> Self {
        Self {
            lowest_open: first_id,
            window: window.max(1),
            answered_ahead: BTreeMap::new(),
            cache: BTreeMap::new(),
        }
    }

    pub fn check(&self, id: u32) -> RequestCheck<'_> {
        if let Some(c) = self.cache.get(&id) {
            return RequestCheck::Retransmit(c);
        }
        if id < self.lowest_open || self.answered_ahead.contains_key(&id) {
            return RequestCheck::Stale;
        }
        if id >= self.lowest_open.saturating_add(self.window) {
            return RequestCheck::OutOfWindow;
        }
        RequestCheck::New
    }

    /// Records the response to request `id` (already sent by the caller).
    pub fn answered(&mut self, id: u32, response: Vec<Vec<u8>>) {
        self.cache.insert(id, response);
        if id == self.lowest_open {
            self.lowest_open = self.lowest_open.wrapping_add(1);
            while self.answered_ahead.remove(&self.lowest_open).is_some() {
                self.lowest_open = self.lowest_open.wrapping_add(1);
            }
        } else if id > self.lowest_open {
            self.answered_ahead.insert(id, ());
        }
        // Keep the responses of the last `window` IDs only.
        while self.cache.len() > self.window as usize {
            let Some((&k, _)) = self.cache.iter().next() else {
                break;
            };
            self.cache.remove(&k);
        }
    }

    /// The cached response for `id`, if still cached.
    pub fn cached(&self, id: u32) -> Option<&[Vec<u8>]> {
        self.cache.get(&id).map(|v| v.as_slice())
    }

    pub fn lowest_open(&self) -> u32 {
        self.lowest_open
    }

    /// Our window size (what we announce).
    pub fn window(&self) -> u32 {
        self.window
    }

    /// Sets our window once the connection is known (a responder learns it
    /// in IKE_AUTH); only before the announcement is sent.
    pub fn set_window(&mut self, window: u32) {
        self.window = window.max(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RetransmitConfig {
        RetransmitConfig {
            initial: Duration::from_secs(1),
            factor: 2.0,
            max_interval: Duration::from_secs(5),
            tries: 3,
            total: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_grows_and_caps() {
        let c = cfg();
        assert_eq!(backoff(&c, 0), Duration::from_secs(1));
        assert_eq!(backoff(&c, 1), Duration::from_secs(2));
        assert_eq!(backoff(&c, 2), Duration::from_secs(4));
        assert_eq!(backoff(&c, 3), Duration::from_secs(5));
        assert_eq!(backoff(&c, 1000), Duration::from_secs(5));
    }

    #[test]
    fn retransmits_then_gives_up() {
        let c = cfg();
        let t0 = Instant::now();
        let mut w: RequestWindow<()> = RequestWindow::new(0);
        let id = w.push(t0, vec![vec![1]], (), &c);
        assert_eq!(w.due(t0, &c), vec![]);
        let mut t;
        let mut resends = 0;
        loop {
            t = w.next_deadline().expect("outstanding");
            match w.due(t, &c).as_slice() {
                [RetransmitAction::Resend(i)] => {
                    assert_eq!(*i, id);
                    resends += 1
                }
                [RetransmitAction::GiveUp(i)] => {
                    assert_eq!(*i, id);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(resends, 3);
        // 1 + 2 + 4 + 5 seconds of waiting.
        assert_eq!(t - t0, Duration::from_secs(12));
    }

    #[test]
    fn window_limits_outstanding() {
        let c = cfg();
        let t0 = Instant::now();
        let mut w: RequestWindow<()> = RequestWindow::new(2);
        assert!(w.can_send());
        w.push(t0, vec![vec![]], (), &c);
        assert!(!w.can_send());
        w.set_peer_window(3);
        assert!(w.can_send());
        w.push(t0, vec![vec![]], (), &c);
        w.push(t0, vec![vec![]], (), &c);
        assert!(!w.can_send());
        // Answering a later one does not open the window; the oldest does.
        w.complete(4);
        assert!(!w.can_send());
        w.complete(2);
        assert!(w.can_send());
    }

    #[test]
    fn response_window_caches_and_classifies() {
        let mut r = ResponseWindow::new(1, 2);
        assert_eq!(r.check(0), RequestCheck::Stale);
        assert_eq!(r.check(1), RequestCheck::New);
        assert_eq!(r.check(2), RequestCheck::New);
        assert_eq!(r.check(3), RequestCheck::OutOfWindow);
        r.answered(2, vec![vec![2]]);
        assert_eq!(r.check(2), RequestCheck::Retransmit(&[vec![2]]));
        assert_eq!(r.lowest_open(), 1);
        r.answered(1, vec![vec![1]]);
        assert_eq!(r.lowest_open(), 3);
        assert_eq!(r.check(1), RequestCheck::Retransmit(&[vec![1]]));
        r.answered(3, vec![vec![3]]);
        // Only the last two responses stay cached.
        assert_eq!(r.check(1), RequestCheck::Stale);
        assert_eq!(r.check(3), RequestCheck::Retransmit(&[vec![3]]));
    }
}
