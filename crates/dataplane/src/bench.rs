//! For `benches/drop.rs` only (not an API): the inbound worker's drop path
//! without its sockets, built from the very functions the worker calls
//! (`inbound::front`, the SPI table, `inbound::count_drop`
//! with the shared counters and the rate-limited log), so the benchmark
//! measures what a garbage datagram costs in user space once the kernel
//! has delivered it.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::counters::{Counters, DropReason, LogLimiter, SaCounters};
use crate::inbound::{count_drop, front, Front};
use crate::sa::{InEntry, InTable};
use crate::transform::{DecapError, EspDecap};
use crate::transport::SaMode;
use crate::InboundSa;

/// Never reached: the benchmark sends only SPIs the table lacks.
struct Unreachable;

impl EspDecap for Unreachable {
    fn decap(&mut self, _: &mut [u8]) -> Result<(Range<usize>, u8), DecapError> {
        Err(DecapError::Malformed(
            yadokari_esp::DecapError::InnerPacket("benchmark"),
        ))
    }
}

/// One inbound worker's drop path with `sas` SAs installed.
pub struct DropPath {
    table: InTable,
    counters: Counters,
    logs: LogLimiter,
    from: SocketAddr,
}

impl DropPath {
    /// SPIs `0x1000_0000 ..` are installed; send others to be dropped.
    #[must_use]
    pub fn new(sas: u32) -> Self {
        let mut table = InTable::default();
        for i in 0..sas {
            let spi = 0x1000_0000 + i;
            table.map.insert(
                spi,
                InEntry {
                    sa: InboundSa {
                        spi,
                        local_ts: Vec::new(),
                        remote_ts: Vec::new(),
                        mode: SaMode::Tunnel,
                        decap: Box::new(Unreachable),
                        activates: None,
                    },
                    counters: Arc::new(SaCounters::default()),
                    last_reported: None,
                },
            );
        }
        DropPath {
            table,
            counters: Counters::default(),
            logs: LogLimiter::new(Duration::from_secs(1)),
            from: "192.0.2.1:4500".parse().expect("address"),
        }
    }

    /// One receive batch, as `InboundWorker::batch` sees it: the clock is
    /// read once, then each datagram takes the worker's path until it is
    /// dropped. Returns how many were dropped.
    pub fn batch(&mut self, dgrams: &mut [Vec<u8>]) -> u64 {
        self.logs.now = Instant::now();
        let mut dropped = 0;
        for d in dgrams.iter_mut() {
            let reason = match front(d) {
                Front::Drop(r) => r,
                Front::Esp(spi) => match self.table.map.get_mut(&spi) {
                    None => DropReason::UnknownSpi,
                    Some(_) => continue,
                },
                Front::Ike | Front::Keepalive => continue,
            };
            let len = d.len();
            count_drop(
                &self.counters,
                &mut self.logs,
                reason,
                self.from,
                &format_args!("{len} bytes"),
            );
            dropped += 1;
        }
        dropped
    }

    /// Drops counted so far.
    #[must_use]
    pub fn drops(&self) -> u64 {
        let s = self.counters.snapshot();
        DropReason::ALL.iter().map(|r| s.drops.get(*r)).sum()
    }
}
