//! Counters: one per drop reason (every dropped input has a reason, as
//! iked's `ikev2_recv` counts each), traffic counters, and per-SA counters.
//! Workers add with relaxed atomics — the drop counters are an array
//! indexed by [`DropReason`], so counting a drop is one `fetch_add` and no
//! allocation; [`crate::DataPlane::counters`] takes a plain-data snapshot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

macro_rules! drop_reasons {
    ($($(#[$m:meta])* $name:ident => $field:ident,)*) => {
        /// Why a packet was dropped.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum DropReason { $($(#[$m])* $name,)* }

        impl DropReason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$name,)*];
            /// A stable snake_case name for logs and metrics.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(DropReason::$name => stringify!($field),)* }
            }
        }

        /// Drop counts by reason.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct DropCounts { $($(#[$m])* pub $field: u64,)* }

        impl DropCounts {
            fn from_array(a: &[u64]) -> Self {
                let mut it = a.iter().copied();
                Self { $($field: it.next().unwrap_or(0),)* }
            }
            /// The count for `r`.
            #[must_use]
            pub fn get(&self, r: DropReason) -> u64 {
                match r { $(DropReason::$name => self.$field,)* }
            }
        }
    };
}

drop_reasons! {
    /// ESP with an SPI we have no inbound SA for (RFC 4303 §3.4.2).
    UnknownSpi => unknown_spi,
    /// ICV verification failed (RFC 4303 §3.4.4).
    BadIcv => bad_icv,
    /// Sequence number replayed or left of the window (RFC 4303 §3.4.3).
    Replay => replay,
    /// Too short, bad trailer, unknown next header, bad inner IP header
    /// (inbound: every `yadokari_esp::DropReason` but replay and integrity,
    /// which have their own counters here).
    Malformed => malformed,
    /// Outbound packet matched no SA.
    NoSa => no_sa,
    /// Decrypted packet outside the SA's traffic selectors (RFC 4301 §5.2).
    TsMismatch => ts_mismatch,
    /// Inner packet larger than the tunnel MTU (an ICMP error was sent back
    /// when the packet allowed it).
    TooBig => too_big,
    /// The daemon's IKE queue was full (the hand-off refused the datagram).
    IkeQueueFull => ike_queue_full,
    /// Behind a non-ESP marker, something that cannot be an IKE message
    /// (wrong major version, Length not the datagram's): dropped before
    /// anything is allocated for it.
    IkeMalformed => ike_malformed,
    /// Raw ESP for another worker's SA while that worker had a backlog of
    /// 4,096 such packets (a forged-SPI flood
    /// must not grow its queue without bound).
    RawHandoffFull => raw_handoff_full,
    /// Outbound sequence number space exhausted; the SA needs a rekey.
    SequenceExhausted => sequence_exhausted,
    /// UDP send failed.
    SendError => send_error,
    /// A UDP or raw ESP receive failed with something other than "no data"
    /// (counted once per failed call; what it would have read is lost).
    RecvError => recv_error,
    /// TUN read or write failed.
    TunError => tun_error,
    /// A packet a transport-mode SA cannot carry intact: an IPv4 fragment
    /// or an IPv6 extension header (RFC 4303 §3.1.1).
    TransportUnsupported => transport_unsupported,
    /// A TFC dummy packet (Next Header 59, RFC 4303 §2.6) — not an error.
    Dummy => dummy,
}

const N: usize = DropReason::ALL.len();

/// Shared counters of one data plane.
#[derive(Debug)]
pub struct Counters {
    drops: [AtomicU64; N],
    rx_datagrams: AtomicU64,
    tx_datagrams: AtomicU64,
    rx_keepalives: AtomicU64,
    tx_keepalives: AtomicU64,
    ike_in: AtomicU64,
    tun_rx_packets: AtomicU64,
    tun_tx_packets: AtomicU64,
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            drops: std::array::from_fn(|_| AtomicU64::new(0)),
            rx_datagrams: AtomicU64::new(0),
            tx_datagrams: AtomicU64::new(0),
            rx_keepalives: AtomicU64::new(0),
            tx_keepalives: AtomicU64::new(0),
            ike_in: AtomicU64::new(0),
            tun_rx_packets: AtomicU64::new(0),
            tun_tx_packets: AtomicU64::new(0),
        }
    }
}

/// Which traffic counter to bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Traffic {
    RxDatagrams,
    TxDatagrams,
    RxKeepalives,
    TxKeepalives,
    IkeIn,
    TunRx,
    TunTx,
}

impl Counters {
    pub(crate) fn drop(&self, r: DropReason, n: u64) {
        self.drops[r as usize].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add(&self, t: Traffic, n: u64) {
        let c = match t {
            Traffic::RxDatagrams => &self.rx_datagrams,
            Traffic::TxDatagrams => &self.tx_datagrams,
            Traffic::RxKeepalives => &self.rx_keepalives,
            Traffic::TxKeepalives => &self.tx_keepalives,
            Traffic::IkeIn => &self.ike_in,
            Traffic::TunRx => &self.tun_rx_packets,
            Traffic::TunTx => &self.tun_tx_packets,
        };
        c.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> GlobalCounts {
        let a: Vec<u64> = self
            .drops
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect();
        GlobalCounts {
            drops: DropCounts::from_array(&a),
            rx_datagrams: self.rx_datagrams.load(Ordering::Relaxed),
            tx_datagrams: self.tx_datagrams.load(Ordering::Relaxed),
            rx_keepalives: self.rx_keepalives.load(Ordering::Relaxed),
            tx_keepalives: self.tx_keepalives.load(Ordering::Relaxed),
            ike_in: self.ike_in.load(Ordering::Relaxed),
            tun_rx_packets: self.tun_rx_packets.load(Ordering::Relaxed),
            tun_tx_packets: self.tun_tx_packets.load(Ordering::Relaxed),
        }
    }
}

/// Data-plane-wide counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GlobalCounts {
    /// Drops by reason.
    pub drops: DropCounts,
    /// UDP datagrams received (after GRO splitting).
    pub rx_datagrams: u64,
    /// UDP datagrams sent (ESP and keepalives; GSO segments counted singly).
    pub tx_datagrams: u64,
    /// NAT keepalives received (RFC 3948 §2.3).
    pub rx_keepalives: u64,
    /// NAT keepalives sent.
    pub tx_keepalives: u64,
    /// IKE messages (non-ESP marker) passed to the daemon.
    pub ike_in: u64,
    /// Packets read from the TUN (after super-packet splitting).
    pub tun_rx_packets: u64,
    /// Packets written to the TUN (before GRO coalescing).
    pub tun_tx_packets: u64,
}

/// Counters of one SA (one direction).
#[derive(Debug, Default)]
pub struct SaCounters {
    packets: AtomicU64,
    bytes: AtomicU64,
    errors: AtomicU64,
}

impl SaCounters {
    pub(crate) fn add(&self, packets: u64, bytes: u64) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
    pub(crate) fn error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn snapshot(&self) -> SaCounts {
        SaCounts {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// Counts of one SA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SaCounts {
    /// Packets protected (outbound) or accepted (inbound).
    pub packets: u64,
    /// Inner bytes.
    pub bytes: u64,
    /// Packets refused on this SA (bad ICV, replay, selector mismatch).
    pub errors: u64,
}

/// At most one log line per reason per interval, with the number suppressed.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    last: [Option<Instant>; N],
    suppressed: [u64; N],
    interval: Duration,
    /// The time of the current batch: one clock read per batch, not per
    /// dropped datagram.
    pub(crate) now: Instant,
}

impl LogLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            last: [None; N],
            suppressed: [0; N],
            interval,
            now: Instant::now(),
        }
    }

    /// Returns `Some(suppressed_since_last)` when a line may be logged now.
    pub(crate) fn allow(&mut self, r: DropReason, now: Instant) -> Option<u64> {
        let i = r as usize;
        match self.last[i] {
            Some(t) if now.duration_since(t) < self.interval => {
                self.suppressed[i] += 1;
                None
            }
            _ => {
                self.last[i] = Some(now);
                Some(std::mem::take(&mut self.suppressed[i]))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_counts_by_reason() {
        let c = Counters::default();
        c.drop(DropReason::Replay, 2);
        c.drop(DropReason::NoSa, 1);
        let s = c.snapshot();
        assert_eq!(s.drops.replay, 2);
        assert_eq!(s.drops.get(DropReason::NoSa), 1);
        assert_eq!(s.drops.bad_icv, 0);
        assert_eq!(DropReason::UnknownSpi.name(), "unknown_spi");
    }

    #[test]
    fn limiter_suppresses_within_interval() {
        let mut l = LogLimiter::new(Duration::from_secs(1));
        let t = Instant::now();
        assert_eq!(l.allow(DropReason::Replay, t), Some(0));
        assert_eq!(l.allow(DropReason::Replay, t), None);
        assert_eq!(l.allow(DropReason::BadIcv, t), Some(0));
        assert_eq!(
            l.allow(DropReason::Replay, t + Duration::from_secs(2)),
            Some(1)
        );
    }
}
