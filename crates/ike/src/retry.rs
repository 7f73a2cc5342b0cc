//! Keeping connections up: per-connection retry state with exponential
//! back-off and jitter (strongSwan's `keyingtries`).
//!
//! The back-off lives in the core, not the driver, because the core is
//! where an attempt is known to have failed (retransmissions ran out, the
//! peer refused, AUTH failed) and where an SA is known to be lost (DPD,
//! the peer's Delete, INITIAL_CONTACT, RFC 7296 §2.4). The core stays
//! sans-IO: the retry deadline is one more timer in `poll_timeout`, and the
//! jitter comes from the endpoint's RNG.
//!
//! Which connections are kept up:
//! - `RetryConfig::keep_up` (the daemon sets it for `start = "initiate"`),
//!   from the start and again after an operator's `Initiate`, until the
//!   operator's `Close`;
//! - a connection whose DPD found the peer dead with `DpdAction::Restart`,
//!   until an attempt succeeds;
//! - connections started by traffic (`Command::Acquire`) are not retried by
//!   timer: the next packet retries them, but not before the back-off ends.

use std::time::{Duration, Instant};

use crate::config::RetryConfig;
use crate::error::FailureReason;
use crate::event::DownReason;

/// Retry state of one connection.
#[derive(Debug, Clone, Default)]
pub struct ConnRetry {
    /// The operator or the configuration wants the connection up.
    pub want_up: bool,
    /// DPD restart in progress: retried until an attempt succeeds.
    pub restart: bool,
    /// Consecutive failed attempts since the last success.
    pub failures: u32,
    /// No attempt before this instant; with `want_up` or `restart`, the
    /// next attempt starts then.
    pub retry_at: Option<Instant>,
    /// Why the last attempt failed, or why the SA was lost.
    pub last_error: Option<LastError>,
    /// `keyingtries` attempts failed: no more automatic attempts.
    pub gave_up: bool,
}

impl ConnRetry {
    /// Whether the core itself starts the next attempt.
    pub fn automatic(&self) -> bool {
        (self.want_up || self.restart) && !self.gave_up
    }

    /// The retry deadline that drives a timer, if any.
    pub fn timer(&self) -> Option<Instant> {
        self.retry_at.filter(|_| self.automatic())
    }

    /// An attempt succeeded (a CHILD SA is installed): back-off starts over.
    pub fn succeeded(&mut self) {
        self.restart = false;
        self.failures = 0;
        self.retry_at = None;
        self.last_error = None;
        self.gave_up = false;
    }

    /// An attempt failed at `now`. Returns `true` if the retries are used up
    /// (`keyingtries` attempts in a row failed).
    pub fn failed(
        &mut self,
        now: Instant,
        cfg: &RetryConfig,
        reason: FailureReason,
        random: u64,
    ) -> bool {
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(LastError::Failed(reason));
        // Even after giving up, traffic (`Acquire`) waits out the back-off.
        self.retry_at = Some(now + backoff(cfg, self.failures, random));
        if cfg.keyingtries != 0 && self.failures >= cfg.keyingtries {
            self.gave_up = true;
        }
        self.gave_up
    }

    /// The operator (or a reload) starts the connection afresh.
    pub fn reset(&mut self) {
        self.failures = 0;
        self.retry_at = None;
        self.gave_up = false;
    }
}

/// Delay before the attempt after `failures` failed ones: `initial`
/// doubled per failure, capped at `max_interval`, minus a random part of up
/// to a fifth, so peers that failed together do not retry in lockstep.
/// `random` is any uniformly distributed `u64`.
pub fn backoff(cfg: &RetryConfig, failures: u32, random: u64) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let full = cfg
        .initial
        .checked_mul(1u32 << exp)
        .unwrap_or(cfg.max_interval)
        .min(cfg.max_interval);
    let fifth = u64::try_from((full / 5).as_nanos()).unwrap_or(u64::MAX);
    let jitter = if fifth == 0 { 0 } else { random % fifth };
    full.saturating_sub(Duration::from_nanos(jitter))
}

/// Why a connection is not up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastError {
    /// An attempt failed.
    Failed(FailureReason),
    /// An established IKE SA went away (the peer deleted it, DPD found the
    /// peer dead, the peer restarted and said INITIAL_CONTACT).
    Lost(DownReason),
}

/// What a driver shows about a connection's retries (`yadokari status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryStatus {
    /// The core keeps the connection up (configured, or DPD restart).
    pub keep_up: bool,
    /// Consecutive failed attempts.
    pub failures: u32,
    /// When the next attempt starts (automatic ones), or may start (traffic).
    pub retry_at: Option<Instant>,
    /// Why the last attempt failed, or why the SA was lost.
    pub last_error: Option<LastError>,
    /// `keyingtries` ran out.
    pub gave_up: bool,
}

impl From<&ConnRetry> for RetryStatus {
    fn from(r: &ConnRetry) -> Self {
        Self {
            keep_up: r.automatic(),
            failures: r.failures,
            retry_at: r.retry_at,
            last_error: r.last_error.clone(),
            gave_up: r.gave_up,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(tries: u32) -> RetryConfig {
        RetryConfig {
            keep_up: true,
            keyingtries: tries,
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(30),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = cfg(0);
        assert_eq!(backoff(&c, 1, 0), Duration::from_secs(1));
        assert_eq!(backoff(&c, 2, 0), Duration::from_secs(2));
        assert_eq!(backoff(&c, 5, 0), Duration::from_secs(16));
        assert_eq!(backoff(&c, 6, 0), Duration::from_secs(30));
        assert_eq!(backoff(&c, 1000, 0), Duration::from_secs(30));
    }

    #[test]
    fn jitter_takes_at_most_a_fifth() {
        let c = cfg(0);
        for r in [1u64, 7, 1 << 40, u64::MAX] {
            let d = backoff(&c, 6, r);
            assert!(
                d <= Duration::from_secs(30) && d > Duration::from_secs(24),
                "{d:?}"
            );
        }
    }

    #[test]
    fn keyingtries_ends_the_retries() {
        let c = cfg(3);
        let t0 = Instant::now();
        let mut r = ConnRetry {
            want_up: true,
            ..Default::default()
        };
        assert!(!r.failed(t0, &c, FailureReason::Timeout, 0));
        assert_eq!(r.timer(), Some(t0 + Duration::from_secs(1)));
        assert!(!r.failed(t0, &c, FailureReason::Timeout, 0));
        assert!(r.failed(t0, &c, FailureReason::Timeout, 0));
        assert!(r.gave_up && r.timer().is_none());
        // Traffic still waits for the back-off.
        assert_eq!(r.retry_at, Some(t0 + Duration::from_secs(4)));
        r.reset();
        assert!(r.automatic());
    }

    #[test]
    fn forever_by_default() {
        let c = cfg(0);
        let t0 = Instant::now();
        let mut r = ConnRetry {
            want_up: true,
            ..Default::default()
        };
        for _ in 0..100 {
            assert!(!r.failed(t0, &c, FailureReason::Timeout, 0));
        }
        assert_eq!(r.timer(), Some(t0 + Duration::from_secs(30)));
        r.succeeded();
        assert_eq!((r.failures, r.timer()), (0, None));
    }
}
