//! Inbound worker: UDP (RFC 3948 §2.2 classification: keepalive, IKE with
//! non-ESP marker, ESP) → SPI lookup → ESP decapsulation with replay and
//! ICV checks (RFC 4303 §3.4) → selector check of the inner packet (RFC 4301
//! §5.2 step 4) → TUN. Transport-mode payloads (RFC 4303 §3.1.1) get their
//! IP header rebuilt from the SA's hosts before the selector check.
//!
//! Datagrams arrive as `recvmmsg` batches whose messages may be UDP_GRO runs
//! of equal-sized ESP packets; each is opened in place and its inner packet
//! is queued for one batched TUN write, where packets of one TCP flow are
//! coalesced back into a super-packet.
//!
//! Raw ESP (IP protocol 50, RFC 4303 §2 without RFC 3948) arrives on the raw
//! sockets worker 0 polls besides its UDP socket; the IPv4 header is cut off
//! (its IHL says where ESP starts) and the rest takes the same path.
//!
//! The worker is generic over its TUN queue, UDP socket and raw sockets
//! ([`crate::io`]); `worker_tests.rs` runs it over [`crate::fake`]. Buffers
//! are allocated in `new_state`; a receive, and every drop before the TUN
//! (counted by [`DropReason`], the ESP crate's typed error kept for the
//! rate-limited log line), allocates nothing.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use tracing::{debug, warn};
use yadokari_sys::poll::{wait_readable, Waker};

use yadokari_wire::udp_encap::Datagram;

use crate::counters::{Counters, DropReason, LogLimiter, Traffic};
use crate::engine::{Event, IkeDatagram, InCtl, Shared};
use crate::io::{RawEspIo, RecvMeta, TunGro, TunQueue, UdpIo, RECV_BATCH};
use crate::ip;
use crate::sa::{InEntry, InTable};
use crate::selector::tuple_matches;
use crate::transform::DecapError;
use crate::transport::{self, SaMode};

/// Bytes per receive buffer: one GRO run of up to 64 KiB.
const RECV_BUF: usize = 65_536;
/// Room in front of each TUN packet for the virtio-net header.
const TUN_OFFSET: usize = 16;
/// Inner packets per TUN write batch (GRO runs of 64 × 1.4 kB, times a few).
const TUN_BATCH: usize = 512;

/// Generic over its I/O ([`crate::io`]): `Tun`, `UdpSocket` and
/// `RawEspSocket` in the daemon, [`crate::fake`] types in tests.
pub(crate) struct InboundWorker<T, U, R> {
    shared: Arc<Shared<R>>,
    tun: Arc<T>,
    sock: Arc<U>,
    rx: Receiver<InCtl>,
    waker: Arc<Waker>,
    /// This worker's index among the inbound workers.
    index: usize,
    /// Every inbound worker's control channel, when this one reads the raw
    /// ESP sockets (worker 0); empty otherwise.
    peers: Vec<(Sender<InCtl>, Arc<Waker>)>,
}

/// Raw ESP packets queued for another inbound worker, at most.
pub(crate) const RAW_HANDOFF_MAX: usize = 4096;

/// Raw datagrams read per wake-up and socket at most.
const RAW_BURST: usize = 64;

/// Where ESP starts in what a raw socket delivered: after the IPv4 header
/// (RFC 791: IHL in 32-bit words) and up to the IP total length, or from
/// byte 0 for IPv6 (its raw sockets strip the header). `None` for a header
/// that is not IPv4, too short, or contradicts the datagram's length.
pub(crate) fn raw_esp_range(p: &[u8], ip_header: bool) -> Option<Range<usize>> {
    if !ip_header {
        return Some(0..p.len());
    }
    let first = *p.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*p.get(2)?, *p.get(3)?]));
    if ihl < 20 || ihl > p.len() || total < ihl {
        return None;
    }
    // The kernel delivers the reassembled datagram; trust the shorter of
    // what arrived and what the header claims.
    Some(ihl..total.min(p.len()))
}

/// What the first bytes of a UDP payload on port 4500 say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// RFC 3948 §2.3 NAT-keepalive (one byte 0xFF).
    Keepalive,
    /// Non-ESP marker (four zero bytes) then IKE.
    Ike,
    /// Anything else long enough to hold an SPI: ESP.
    Esp(u32),
    /// Too short to be either.
    Malformed,
}

/// RFC 3948 §2.2 via `yadokari-wire`: a zero SPI field marks IKE (at least
/// an IKE header must follow); the one-byte 0xFF payload is a keepalive;
/// ESP needs at least the SPI and sequence number.
pub(crate) fn classify(p: &[u8]) -> Class {
    match Datagram::classify(p) {
        Ok(Datagram::NatKeepalive) => Class::Keepalive,
        Ok(Datagram::Ike(_)) => Class::Ike,
        Ok(Datagram::Esp(esp)) => match esp {
            [a, b, c, d, ..] => Class::Esp(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => Class::Malformed,
        },
        Err(_) => Class::Malformed,
    }
}

/// Counts a drop and logs it when the limiter allows (the batch's clock, not
/// a read per datagram: a flood of garbage costs a counter increment and a
/// comparison each).
pub(crate) fn count_drop(
    counters: &Counters,
    logs: &mut LogLimiter,
    r: DropReason,
    from: SocketAddr,
    detail: &dyn std::fmt::Display,
) {
    counters.drop(r, 1);
    if r == DropReason::Dummy {
        return;
    }
    if let Some(suppressed) = logs.allow(r, logs.now) {
        debug!(reason = r.name(), %from, suppressed, "inbound drop: {detail}");
    }
}

/// What the checks before any allocation, decryption or log formatting
/// decide for one UDP payload on port 4500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Front {
    Keepalive,
    /// A plausible IKE message (`yadokari_wire::header::plausible`) behind
    /// the non-ESP marker: copied, as received, to the daemon's [`crate::Handoff`].
    Ike,
    /// ESP with this SPI: looked up next.
    Esp(u32),
    /// Garbage, dropped with this reason.
    Drop(DropReason),
}

pub(crate) fn front(p: &[u8]) -> Front {
    match classify(p) {
        Class::Keepalive => Front::Keepalive,
        Class::Ike if yadokari_wire::header::plausible(&p[4..]) => Front::Ike,
        Class::Ike => Front::Drop(DropReason::IkeMalformed),
        Class::Esp(spi) => Front::Esp(spi),
        Class::Malformed => Front::Drop(DropReason::Malformed),
    }
}

impl<T: TunQueue, U: UdpIo, R: RawEspIo> InboundWorker<T, U, R> {
    pub(crate) fn new(
        shared: Arc<Shared<R>>,
        tun: Arc<T>,
        sock: Arc<U>,
        rx: Receiver<InCtl>,
        waker: Arc<Waker>,
        index: usize,
        peers: Vec<(Sender<InCtl>, Arc<Waker>)>,
    ) -> Self {
        Self {
            shared,
            tun,
            sock,
            rx,
            waker,
            index,
            peers,
        }
    }

    /// The worker's buffers and tables, all allocated here: the packet
    /// path reuses them.
    pub(crate) fn new_state(&self) -> State {
        State {
            table: InTable::default(),
            storage: vec![0u8; RECV_BUF * RECV_BATCH],
            meta: vec![RecvMeta::default(); RECV_BATCH],
            out: (0..TUN_BATCH)
                .map(|_| Vec::with_capacity(RECV_BUF + 2 * TUN_OFFSET))
                .collect(),
            n_out: 0,
            gro: TunGro::default(),
            logs: LogLimiter::new(Duration::from_secs(1)),
            now: Instant::now(),
        }
    }

    pub(crate) fn run(self) {
        let mut st = self.new_state();
        while !self.shared.stop.load(Ordering::Relaxed) {
            // The raw sockets appear when the first raw-ESP SA is installed
            // (the waker fires then), so the set is rebuilt every round, on
            // the stack.
            let mut raws: [Option<&Arc<R>>; 2] = [None, None];
            let mut fds: [BorrowedFd<'_>; 4] = [self.sock.as_fd(); 4];
            fds[1] = self.waker.as_fd();
            let mut n_fds = 2;
            if !self.peers.is_empty() {
                for v6 in [false, true] {
                    if let Some(r) = self.shared.raw.get(v6) {
                        raws[n_fds - 2] = Some(r);
                        fds[n_fds] = r.as_fd();
                        n_fds += 1;
                    }
                }
            }
            let ready = match wait_readable(&fds[..n_fds], Some(Duration::from_millis(500))) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "poll failed in inbound worker");
                    std::thread::yield_now();
                    continue;
                }
            };
            if ready.is_ready(1) {
                self.waker.drain();
            }
            self.apply_control(&mut st);
            if ready.is_ready(0) {
                // Drain a few batches per wake-up; control messages are
                // applied between batches so an install takes effect for
                // every datagram read after it was queued and processed.
                for _ in 0..8 {
                    if !self.batch(&mut st) {
                        break;
                    }
                    self.apply_control(&mut st);
                }
            }
            for (k, raw) in raws.iter().flatten().enumerate() {
                if ready.is_ready(2 + k) {
                    self.raw_burst(&mut st, raw.as_ref());
                    self.apply_control(&mut st);
                }
            }
        }
    }

    /// Reads up to [`RAW_BURST`] datagrams from a raw ESP socket.
    pub(crate) fn raw_burst(&self, st: &mut State, raw: &R) {
        st.n_out = 0;
        let now = Instant::now();
        st.logs.now = now;
        st.now = now;
        let mut datagrams = 0u64;
        for _ in 0..RAW_BURST {
            let (n, from) = match raw.recv(&mut st.storage[..RECV_BUF]) {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.shared.counters.drop(DropReason::RecvError, 1);
                    if let Some(suppressed) = st.logs.allow(DropReason::RecvError, Instant::now()) {
                        warn!(error = %e, suppressed, "raw ESP receive failed");
                    }
                    break;
                }
            };
            datagrams += 1;
            let from_sa = SocketAddr::new(from, 0);
            let Some(r) = raw_esp_range(&st.storage[..n], raw.includes_ip_header()) else {
                self.count_drop(
                    &mut st.logs,
                    DropReason::Malformed,
                    from_sa,
                    &format_args!("raw ESP: bad IP header, {n} bytes"),
                );
                continue;
            };
            self.raw_esp(st, r, from);
            if st.n_out == TUN_BATCH {
                self.flush_tun(st);
            }
        }
        self.shared.counters.add(Traffic::RxDatagrams, datagrams);
        self.flush_tun(st);
    }

    /// One raw ESP packet at `st.storage[r]`: processed here, or handed to
    /// the worker that owns its SPI.
    fn raw_esp(&self, st: &mut State, r: Range<usize>, from: IpAddr) {
        let from_sa = SocketAddr::new(from, 0);
        // RFC 4303 §2: SPI and sequence number at least; SPI 0 is reserved.
        let spi = match st.storage.get(r.clone()) {
            Some([a, b, c, d, _, _, _, _, ..]) => u32::from_be_bytes([*a, *b, *c, *d]),
            _ => {
                self.count_drop(
                    &mut st.logs,
                    DropReason::Malformed,
                    from_sa,
                    &format_args!("raw ESP: {} bytes", r.len()),
                );
                return;
            }
        };
        let n = self.peers.len();
        let owner = if n > 1 { spi as usize % n } else { self.index };
        if owner != self.index {
            if let Some((tx, waker)) = self.peers.get(owner) {
                // The channel also carries SA installs, so it has no bound
                // of its own; raw packets get one, checked before the copy.
                if tx.len() >= RAW_HANDOFF_MAX {
                    self.count_drop(
                        &mut st.logs,
                        DropReason::RawHandoffFull,
                        from_sa,
                        &format_args!("raw ESP for worker {owner}"),
                    );
                    return;
                }
                let packet = st.storage[r].to_vec();
                if tx.send(InCtl::RawEsp { from, packet }).is_ok() {
                    waker.wake();
                }
            }
            return;
        }
        self.esp(st, r, spi, from_sa);
    }

    pub(crate) fn apply_control(&self, st: &mut State) {
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                InCtl::Install(sa, counters) => {
                    debug!(spi = format_args!("{:08x}", sa.spi), "inbound SA installed");
                    st.table.map.insert(
                        sa.spi,
                        InEntry {
                            sa: *sa,
                            counters,
                            last_reported: None,
                        },
                    );
                }
                InCtl::Remove { spi } => {
                    st.table.map.remove(&spi);
                }
                InCtl::Barrier(done) => {
                    let _ = done.send(());
                }
                InCtl::RawEsp { from, packet } => {
                    // Storage is free between batches; the packet was read
                    // into a buffer of the same size, so it fits.
                    let len = packet.len().min(RECV_BUF);
                    st.storage[..len].copy_from_slice(&packet[..len]);
                    st.n_out = 0;
                    st.now = Instant::now();
                    self.raw_esp(st, 0..len, from);
                    self.flush_tun(st);
                }
            }
        }
    }

    fn count_drop(
        &self,
        logs: &mut LogLimiter,
        r: DropReason,
        from: SocketAddr,
        detail: &dyn std::fmt::Display,
    ) {
        count_drop(&self.shared.counters, logs, r, from, detail);
    }

    /// One `recvmmsg` and its processing; false when the socket was empty.
    pub(crate) fn batch(&self, st: &mut State) -> bool {
        let n = {
            // On the stack: one receive costs no allocation.
            let mut chunks = st.storage.chunks_mut(RECV_BUF);
            let mut slices: [IoSliceMut<'_>; RECV_BATCH] =
                std::array::from_fn(|_| IoSliceMut::new(chunks.next().unwrap_or_default()));
            match self.sock.recv(&mut slices, &mut st.meta) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => return true,
                Err(e) => {
                    self.shared.counters.drop(DropReason::RecvError, 1);
                    if let Some(suppressed) = st.logs.allow(DropReason::RecvError, Instant::now()) {
                        warn!(error = %e, suppressed, "UDP receive failed");
                    }
                    return false;
                }
            }
        };
        st.n_out = 0;
        let now = Instant::now();
        st.logs.now = now;
        st.now = now;
        let mut datagrams = 0u64;
        for m in 0..n {
            let meta = st.meta[m];
            let stride = meta.stride.max(1);
            let base = m * RECV_BUF;
            let mut off = 0;
            while off < meta.len {
                let seg_len = stride.min(meta.len - off);
                let start = base + off;
                self.handle(st, start..start + seg_len, &meta);
                datagrams += 1;
                off += seg_len;
                if st.n_out == TUN_BATCH {
                    self.flush_tun(st);
                }
            }
        }
        // One shared-counter update per batch: the outbound worker's
        // counters share the cache line.
        self.shared.counters.add(Traffic::RxDatagrams, datagrams);
        self.flush_tun(st);
        true
    }

    fn handle(&self, st: &mut State, r: Range<usize>, meta: &RecvMeta) {
        let from = meta.addr;
        let dgram = &mut st.storage[r.clone()];
        match front(dgram) {
            Front::Keepalive => self.shared.counters.add(Traffic::RxKeepalives, 1),
            Front::Drop(reason) => {
                let len = dgram.len();
                self.count_drop(&mut st.logs, reason, from, &format_args!("{len} bytes"));
            }
            Front::Ike => {
                // Checked before the copy: a full queue costs no allocation.
                // The one copy is the datagram as received, marker and all
                // (the IKE core strips it).
                let taken = !self.shared.handoff.ike_full()
                    && self.shared.handoff.ike(IkeDatagram {
                        from,
                        local: meta.dst_ip,
                        payload: dgram.to_vec(),
                    });
                if taken {
                    self.shared.counters.add(Traffic::IkeIn, 1);
                } else {
                    self.count_drop(
                        &mut st.logs,
                        DropReason::IkeQueueFull,
                        from,
                        &"IKE queue full",
                    );
                }
            }
            // The SPI lookup (and the unknown-SPI drop) is the first step there.
            Front::Esp(spi) => self.esp(st, r, spi, from),
        }
    }

    /// The ESP packet at `st.storage[r]` (from the SPI on), UDP or raw:
    /// SPI lookup, replay and ICV check, selector check, queued for TUN.
    fn esp(&self, st: &mut State, r: Range<usize>, spi: u32, from: SocketAddr) {
        let dgram = &mut st.storage[r];
        let Some(e) = st.table.map.get_mut(&spi) else {
            self.count_drop(
                &mut st.logs,
                DropReason::UnknownSpi,
                from,
                &format_args!("spi {spi:08x}"),
            );
            return;
        };
        let (range, nh) = match e.sa.decap.decap(dgram) {
            Ok(x) => x,
            Err(err) => {
                e.counters.error();
                let reason = match err {
                    DecapError::Malformed(_) => DropReason::Malformed,
                    DecapError::Replay(_) => DropReason::Replay,
                    DecapError::BadIcv(_) => DropReason::BadIcv,
                };
                self.count_drop(
                    &mut st.logs,
                    reason,
                    from,
                    &format_args!("spi {spi:08x}: {err}"),
                );
                return;
            }
        };
        // Authentic: the peer has this SA, so an outbound SA standing by for
        // it may take over (sa::Standby). Once per SA.
        if let Some(ready) = e.sa.activates.take() {
            ready.store(true, std::sync::atomic::Ordering::Release);
        }
        if nh == 59 {
            // RFC 4303 §2.6: dummy packets are discarded silently.
            self.count_drop(&mut st.logs, DropReason::Dummy, from, &"");
            return;
        }
        if let SaMode::Transport(addrs) = e.sa.mode {
            // RFC 4303 §3.1.1: the payload is the upper-layer protocol;
            // the IP header comes back from the SA's two hosts.
            let out = &mut st.out[st.n_out];
            out.clear();
            out.resize(TUN_OFFSET, 0);
            if let Err(err) = transport::rebuild(out, &addrs, nh, &dgram[range]) {
                e.counters.error();
                self.count_drop(
                    &mut st.logs,
                    DropReason::Malformed,
                    from,
                    &format_args!("spi {spi:08x}: transport mode: {err}"),
                );
                return;
            }
            let Some(t) = ip::five_tuple(&out[TUN_OFFSET..]) else {
                e.counters.error();
                self.count_drop(&mut st.logs, DropReason::Malformed, from, &"rebuilt header");
                return;
            };
            // Ports and protocol still have to match narrowed selectors.
            if !tuple_matches(&t, &e.sa.remote_ts, &e.sa.local_ts) {
                e.counters.error();
                self.count_drop(
                    &mut st.logs,
                    DropReason::TsMismatch,
                    from,
                    &format_args!("{} -> {} protocol {}", t.src, t.dst, t.protocol),
                );
                return;
            }
            e.counters
                .add(1, (out.len() - TUN_OFFSET - t.l4_offset) as u64);
            st.n_out += 1;
            return;
        }
        let inner = &dgram[range];
        let version_ok = match nh {
            4 => inner.first().is_some_and(|b| b >> 4 == 4),
            41 => inner.first().is_some_and(|b| b >> 4 == 6),
            _ => false,
        };
        // RFC 4303 §2.7: TFC padding may follow the inner packet; trust the
        // inner IP length, but never beyond what was decrypted.
        let inner_len = ip::total_len(inner).filter(|&l| l <= inner.len() && l >= 20);
        let tuple = ip::five_tuple(inner);
        let (Some(inner_len), Some(t), true) = (inner_len, tuple, version_ok) else {
            e.counters.error();
            self.count_drop(
                &mut st.logs,
                DropReason::Malformed,
                from,
                &format_args!("bad inner packet, next header {nh}"),
            );
            return;
        };
        // Inbound: the inner source is on the peer's side.
        if !tuple_matches(&t, &e.sa.remote_ts, &e.sa.local_ts) {
            e.counters.error();
            self.count_drop(
                &mut st.logs,
                DropReason::TsMismatch,
                from,
                &format_args!("{} -> {}", t.src, t.dst),
            );
            return;
        }
        e.counters.add(1, inner_len as u64);
        // Proof of life for the peer's DPD (RFC 7296 §2.4), reported with
        // the time it arrived and at most once per interval per SA, so the
        // daemon's liveness timer is at most one interval early and never
        // late. Not sent when the channel is full: the next packet retries.
        if let Some(iv) = self.shared.cfg.activity_interval {
            let now = st.now;
            if e.last_reported.is_none_or(|t| now.duration_since(t) >= iv)
                && self.shared.handoff.event(Event::Traffic { spi, at: now })
            {
                e.last_reported = Some(now);
            }
        }
        let out = &mut st.out[st.n_out];
        out.clear();
        out.resize(TUN_OFFSET, 0);
        out.extend_from_slice(&inner[..inner_len]);
        st.n_out += 1;
    }

    fn flush_tun(&self, st: &mut State) {
        if st.n_out == 0 {
            return;
        }
        let n = st.n_out;
        st.n_out = 0;
        self.shared.counters.add(Traffic::TunTx, n as u64);
        if let Err(e) = self
            .tun
            .send_batch(&mut st.gro, &mut st.out[..n], TUN_OFFSET)
        {
            self.shared.counters.drop(DropReason::TunError, 1);
            if let Some(suppressed) = st.logs.allow(DropReason::TunError, Instant::now()) {
                warn!(error = %e, suppressed, "TUN write failed");
            }
        }
    }
}

pub(crate) struct State {
    table: InTable,
    storage: Vec<u8>,
    meta: Vec<RecvMeta>,
    out: Vec<Vec<u8>>,
    n_out: usize,
    gro: TunGro,
    logs: LogLimiter,
    /// The time of the batch being processed (read once per batch).
    now: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_v4_header_is_cut_by_ihl() {
        // 20-byte header, total length 28: ESP is bytes 20..28.
        let mut p = vec![0u8; 28];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&28u16.to_be_bytes());
        p[9] = 50;
        assert_eq!(raw_esp_range(&p, true), Some(20..28));
        // Options: IHL 6 (24 bytes).
        p[0] = 0x46;
        assert_eq!(raw_esp_range(&p, true), Some(24..28));
        // Trailing bytes past the total length are not ESP.
        let mut q = p.clone();
        q.extend_from_slice(&[9, 9]);
        assert_eq!(raw_esp_range(&q, true), Some(24..28));
        // A total length beyond what arrived is capped at what arrived.
        p[2..4].copy_from_slice(&100u16.to_be_bytes());
        assert_eq!(raw_esp_range(&p, true), Some(24..28));
        // IPv6 raw sockets deliver ESP from byte 0.
        assert_eq!(raw_esp_range(&p, false), Some(0..28));
    }

    #[test]
    fn raw_v4_bad_headers_are_refused() {
        assert_eq!(raw_esp_range(&[], true), None);
        assert_eq!(raw_esp_range(&[0x45], true), None);
        assert_eq!(raw_esp_range(&[0x45, 0, 0], true), None);
        let mut p = vec![0u8; 20];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&20u16.to_be_bytes());
        // A bare header: an empty ESP range, which the caller counts as
        // malformed (shorter than SPI and sequence number).
        assert_eq!(raw_esp_range(&p, true), Some(20..20));
        p[0] = 0x44; // IHL below the minimum
        assert_eq!(raw_esp_range(&p, true), None);
        p[0] = 0x4f; // IHL 60 bytes, more than arrived
        assert_eq!(raw_esp_range(&p, true), None);
        p[0] = 0x65; // not IPv4
        assert_eq!(raw_esp_range(&p, true), None);
        p[0] = 0x45;
        p[2..4].copy_from_slice(&10u16.to_be_bytes()); // total < IHL
        assert_eq!(raw_esp_range(&p, true), None);
    }

    #[test]
    fn front_drops_implausible_ike_before_any_copy() {
        let mut ike = vec![0u8; 4 + 28];
        ike[4 + 17] = 0x20;
        ike[4 + 24..].copy_from_slice(&28u32.to_be_bytes());
        assert_eq!(front(&ike), Front::Ike);
        ike[4 + 17] = 0x10;
        assert_eq!(front(&ike), Front::Drop(DropReason::IkeMalformed));
        ike[4 + 17] = 0x20;
        ike.push(0);
        assert_eq!(front(&ike), Front::Drop(DropReason::IkeMalformed));
        assert_eq!(front(&[1, 2, 3]), Front::Drop(DropReason::Malformed));
        assert_eq!(front(&[0xff]), Front::Keepalive);
        assert_eq!(front(&[0, 0, 0, 9, 0, 0, 0, 1]), Front::Esp(9));
    }

    #[test]
    fn classify_rfc3948() {
        assert_eq!(classify(&[0xff]), Class::Keepalive);
        let mut ike = vec![0u8; 4 + 28];
        ike[4] = 0x11;
        assert_eq!(classify(&ike), Class::Ike);
        assert_eq!(
            classify(&ike[..31]),
            Class::Malformed,
            "IKE shorter than its header"
        );
        assert_eq!(classify(&[0, 0, 0, 0]), Class::Malformed);
        assert_eq!(classify(&[0, 0, 1, 0, 0, 0, 0, 1, 9]), Class::Esp(0x100));
        assert_eq!(classify(&[1, 2, 3]), Class::Malformed);
        assert_eq!(classify(&[]), Class::Malformed);
        assert_eq!(classify(&[0xfe]), Class::Malformed);
    }
}
