//! Outbound worker: TUN → SA lookup → ESP encapsulation (RFC 4303 §3.1,
//! tunnel mode, or transport mode with the IP header stripped first,
//! §3.1.1) → UDP encapsulation (RFC 3948 §2.1) → peer.
//!
//! Pipeline per wake-up: read super-packets until the queue is empty or the
//! batch is full (each is split into MTU-sized packets by the TUN layer),
//! seal every packet in place in its own buffer, then send runs of
//! consecutive packets to one peer with equal length as one UDP_SEGMENT
//! (GSO) send; raw ESP (IP protocol 50, no NAT in the way) goes out one
//! packet per `sendto` on the raw socket instead. Order within an SA is kept
//! because one worker owns each outbound SA and sends in read order.
//!
//! The worker is generic over its TUN queue, UDP socket and raw socket
//! ([`crate::io`]); `worker_tests.rs` runs it over [`crate::fake`]. Every
//! buffer is allocated in `new_state`: sealing, sending and every drop
//! (counted by [`DropReason`], logged at most once a second per reason)
//! allocate nothing — ICMP "too big" errors are built in a reused buffer,
//! the Acquire rate limiter's map is sized for its bound up front.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::ops::Range;
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use tracing::{debug, warn};
use yadokari_sys::poll::{wait_readable, Waker};
use yadokari_sys::tun::MAX_SUPER_PACKET;

use crate::counters::{DropReason, LogLimiter, Traffic};
use crate::engine::{Event, OutCtl, Shared};
use crate::io::{RawEspIo, TunQueue, UdpIo};
use crate::ip;
use crate::sa::{EspTransport, OutTable};
use crate::transform::EncapError;
use crate::transport::{self, SaMode, TransportError};

/// Room in front of each packet for the ESP header and IV.
pub(crate) const HEADROOM: usize = 64;
/// Room after each packet for padding, trailer and ICV.
const TAILROOM: usize = 64;
/// Largest inner packet a buffer takes (jumbo TUN MTUs included).
const MAX_PKT: usize = 9216;
/// Packet buffers per batch.
const BATCH: usize = 256;
/// Free buffers needed before another read: a 64 KiB super-packet at the
/// smallest sensible MSS splits into this many segments.
const MIN_ROOM: usize = 128;
/// Reads per batch at most, so control messages and timers are not starved.
const MAX_READS: usize = 64;
/// Largest UDP GSO send (total payload bytes).
const MAX_GSO_BYTES: usize = 65_000;
/// Destinations remembered for Acquire rate limiting, at most.
const ACQUIRE_MAX: usize = 4096;

/// Generic over its I/O ([`crate::io`]): `Tun`, `UdpSocket` and
/// `RawEspSocket` in the daemon, [`crate::fake`] types in tests.
pub(crate) struct OutboundWorker<T, U, R> {
    shared: Arc<Shared<R>>,
    tun: Arc<T>,
    sock: Arc<U>,
    rx: Receiver<OutCtl>,
    waker: Arc<Waker>,
    keepalives: bool,
}

struct Pending {
    buf: usize,
    range: Range<usize>,
    peer: EspTransport,
}

impl<T: TunQueue, U: UdpIo, R: RawEspIo> OutboundWorker<T, U, R> {
    pub(crate) fn new(
        shared: Arc<Shared<R>>,
        tun: Arc<T>,
        sock: Arc<U>,
        rx: Receiver<OutCtl>,
        waker: Arc<Waker>,
        keepalives: bool,
    ) -> Self {
        Self {
            shared,
            tun,
            sock,
            rx,
            waker,
            keepalives,
        }
    }

    /// The worker's buffers and tables, all allocated here: the packet
    /// path reuses them.
    pub(crate) fn new_state(&self) -> State {
        State {
            table: OutTable::default(),
            bufs: vec![vec![0u8; HEADROOM + MAX_PKT + TAILROOM]; BATCH],
            sizes: vec![0usize; BATCH],
            scratch: vec![0u8; MAX_SUPER_PACKET],
            pending: Vec::with_capacity(BATCH),
            sendbuf: Vec::with_capacity(MAX_GSO_BYTES + MAX_PKT),
            // Sized for its bound up front: a miss never allocates.
            acquire_last: HashMap::with_capacity(ACQUIRE_MAX),
            icmp: Vec::with_capacity(ip::TOO_BIG_MAX),
            logs: LogLimiter::new(Duration::from_secs(1)),
            max_segments: self.sock.max_gso_segments().max(1),
        }
    }

    pub(crate) fn run(self) {
        let mut st = self.new_state();
        if let Err(e) = self.tun.set_nonblocking(true) {
            warn!(error = %e, "TUN queue cannot be made non-blocking; outbound worker stops");
            return;
        }
        let mut next_keepalive = self
            .shared
            .cfg
            .keepalive_interval
            .map(|i| Instant::now() + i);
        while !self.shared.stop.load(Ordering::Relaxed) {
            let timeout = next_keepalive
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(500))
                .min(Duration::from_millis(500));
            let ready = match wait_readable(&[self.tun.as_fd(), self.waker.as_fd()], Some(timeout))
            {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "poll failed in outbound worker");
                    std::thread::yield_now();
                    continue;
                }
            };
            if ready.is_ready(1) {
                self.waker.drain();
            }
            while let Ok(msg) = self.rx.try_recv() {
                self.apply(&mut st, msg);
            }
            if let (Some(t), Some(iv)) = (next_keepalive, self.shared.cfg.keepalive_interval) {
                if Instant::now() >= t {
                    if self.keepalives {
                        self.send_keepalives(&st);
                    }
                    next_keepalive = Some(Instant::now() + iv);
                }
            }
            if ready.is_ready(0) {
                self.batch(&mut st);
            }
        }
    }

    pub(crate) fn apply(&self, st: &mut State, msg: OutCtl) {
        match msg {
            OutCtl::Install(sa, c) => {
                debug!(spi = format_args!("{:08x}", sa.spi), peer = %sa.peer, "outbound SA installed");
                st.table.install(*sa, c, self.shared.cfg.path_mtu);
            }
            OutCtl::Remove { spi, peer } => {
                if st.table.remove(spi, peer) {
                    debug!(spi = format_args!("{spi:08x}"), "outbound SA removed");
                }
            }
            OutCtl::UpdatePeer { old, new } => st.table.update_peer(old, new),
            OutCtl::Barrier(done) => {
                let _ = done.send(());
            }
        }
    }

    pub(crate) fn send_keepalives(&self, st: &State) {
        // RFC 3948 §2.3: a one-byte payload 0xFF keeps NAT mappings alive.
        for p in st.table.peers() {
            if self.sock.send(p, &[0xff], None).is_ok() {
                self.shared.counters.add(Traffic::TxKeepalives, 1);
            }
        }
    }

    fn count_drop(&self, st: &mut State, r: DropReason, detail: &dyn std::fmt::Display) {
        self.shared.counters.drop(r, 1);
        if let Some(suppressed) = st.logs.allow(r, Instant::now()) {
            debug!(reason = r.name(), suppressed, "outbound drop: {detail}");
        }
    }

    pub(crate) fn batch(&self, st: &mut State) {
        let mut used = 0;
        for _ in 0..MAX_READS {
            if BATCH - used < MIN_ROOM {
                break;
            }
            match self.tun.recv_batch(
                &mut st.scratch,
                &mut st.bufs[used..],
                &mut st.sizes[used..],
                HEADROOM,
            ) {
                Ok(n) => used += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.count_drop(st, DropReason::TunError, &e),
            }
        }
        if used == 0 {
            return;
        }
        self.shared.counters.add(Traffic::TunRx, used as u64);
        st.pending.clear();
        for i in 0..used {
            self.seal_one(st, i);
        }
        self.flush(st);
    }

    fn seal_one(&self, st: &mut State, i: usize) {
        let len = st.sizes[i];
        let cfg = &self.shared.cfg;
        let Some(t) = ip::five_tuple(&st.bufs[i][HEADROOM..HEADROOM + len]) else {
            self.count_drop(st, DropReason::Malformed, &"unparsable IP header from TUN");
            return;
        };
        let Some(idx) = st.table.lookup(&t) else {
            self.count_drop(
                st,
                DropReason::NoSa,
                &format_args!("{} -> {}", t.src, t.dst),
            );
            self.acquire(st, t.src, t.dst, t.protocol);
            return;
        };
        let Some(e) = st.table.get_mut(idx) else {
            return;
        };
        let max_inner = e.max_inner;
        let mode = e.sa.mode;
        let buf = &mut st.bufs[i];
        if cfg.mss_clamp && t.protocol == ip::PROTO_TCP {
            // Tunnel mode carries the IP header inside ESP, transport mode
            // only the TCP header.
            let overhead = match (mode, t.dst.is_ipv4()) {
                (SaMode::Transport(_), _) => 20,
                (SaMode::Tunnel, true) => 40,
                (SaMode::Tunnel, false) => 60,
            };
            let mss = max_inner
                .saturating_sub(overhead)
                .min(usize::from(u16::MAX)) as u16;
            ip::clamp_mss(&mut buf[HEADROOM..HEADROOM + len], mss);
        }
        // What goes inside ESP: the whole packet (tunnel) or its upper-layer
        // payload (transport, RFC 4303 §3.1.1), and the bytes of IP header
        // left outside it.
        let (payload, nh, ip_hdr) = match mode {
            SaMode::Tunnel => (
                HEADROOM..HEADROOM + len,
                if t.dst.is_ipv4() { 4 } else { 41 },
                0,
            ),
            SaMode::Transport(addrs) => {
                match transport::strip(&buf[HEADROOM..HEADROOM + len], &addrs) {
                    Ok(s) => (
                        HEADROOM + s.payload.start..HEADROOM + s.payload.end,
                        s.protocol,
                        s.payload.start,
                    ),
                    Err(err) => {
                        let reason = match err {
                            TransportError::Fragment | TransportError::ExtensionHeader(_) => {
                                DropReason::TransportUnsupported
                            }
                            TransportError::Addresses { .. } => DropReason::TsMismatch,
                            _ => DropReason::Malformed,
                        };
                        e.counters.error();
                        self.count_drop(st, reason, &format_args!("transport mode: {err}"));
                        return;
                    }
                }
            }
        };
        if payload.len() > max_inner {
            let pkt = &buf[HEADROOM..HEADROOM + len];
            let icmp_ok = t.dst.is_ipv6() || ip::ipv4_dont_fragment(pkt);
            let from = if t.dst.is_ipv4() {
                cfg.icmp_source_v4
            } else {
                cfg.icmp_source_v6
            };
            let fits = (max_inner + ip_hdr).min(usize::from(u16::MAX)) as u16;
            if icmp_ok && ip::too_big_into(pkt, fits, from, &mut st.icmp) {
                let _ = self.tun.send_one(&st.icmp);
            }
            self.count_drop(st, DropReason::TooBig, &format_args!("{len} > {fits}"));
            return;
        }
        let carried = payload.len();
        let peer = e.sa.peer;
        match e.sa.encap.encap(buf, payload, nh) {
            Ok(range) => {
                e.counters.add(1, carried as u64);
                if !e.rekey_signalled && e.sa.encap.rekey_needed() {
                    // Refused (queue full): the next packet asks again.
                    e.rekey_signalled = self.shared.handoff.event(Event::RekeyNeeded {
                        spi_in: e.sa.spi_in,
                    });
                }
                st.pending.push(Pending {
                    buf: i,
                    range,
                    peer,
                });
            }
            Err(EncapError::SequenceExhausted) => {
                let spi = e.sa.spi;
                e.counters.error();
                let _ = self.shared.handoff.event(Event::SequenceExhausted {
                    spi_in: e.sa.spi_in,
                });
                self.count_drop(
                    st,
                    DropReason::SequenceExhausted,
                    &format_args!("spi {spi:08x}"),
                );
            }
            Err(EncapError::Invalid(why)) => {
                e.counters.error();
                self.count_drop(st, DropReason::Malformed, &why);
            }
        }
    }

    fn acquire(&self, st: &mut State, src: IpAddr, dst: IpAddr, protocol: u8) {
        // Link-scoped and multicast traffic the kernel emits on any link
        // (router solicitations, MLD) is never tunnelled: no key manager
        // request for it.
        let local_only = match dst {
            IpAddr::V4(a) => {
                a.is_multicast() || a.is_broadcast() || a.is_link_local() || a.is_unspecified()
            }
            IpAddr::V6(a) => {
                a.is_multicast() || a.is_unspecified() || (a.segments()[0] & 0xffc0) == 0xfe80
            }
        };
        if local_only {
            return;
        }
        let now = Instant::now();
        let iv = self.shared.cfg.acquire_interval;
        if st
            .acquire_last
            .get(&dst)
            .is_some_and(|t| now.duration_since(*t) < iv)
        {
            return;
        }
        // Bound the memory an address scan can pin here.
        if st.acquire_last.len() >= ACQUIRE_MAX {
            st.acquire_last.retain(|_, t| now.duration_since(*t) < iv);
            if st.acquire_last.len() >= ACQUIRE_MAX {
                return;
            }
        }
        st.acquire_last.insert(dst, now);
        let _ = self
            .shared
            .handoff
            .event(Event::Acquire { src, dst, protocol });
    }

    /// Sends pending ESP packets in order, one GSO send per run of packets to
    /// one peer whose sizes are equal (the last of a run may be shorter).
    fn flush(&self, st: &mut State) {
        let mut k = 0;
        while k < st.pending.len() {
            let first = &st.pending[k];
            let peer = match first.peer {
                EspTransport::Udp(a) => a,
                EspTransport::Raw(ip) => {
                    k = self.flush_raw(st, k, ip);
                    continue;
                }
            };
            let seg = first.range.len();
            let mut j = k + 1;
            let mut total = seg;
            while j < st.pending.len()
                && j - k < st.max_segments
                && st.pending[j].peer == EspTransport::Udp(peer)
                && st.pending[j].range.len() <= seg
                && total + st.pending[j].range.len() <= MAX_GSO_BYTES
            {
                total += st.pending[j].range.len();
                j += 1;
                if st.pending[j - 1].range.len() < seg {
                    break;
                }
            }
            let res = if j - k == 1 {
                let p = &st.pending[k];
                self.sock.send(peer, &st.bufs[p.buf][p.range.clone()], None)
            } else {
                st.sendbuf.clear();
                for p in &st.pending[k..j] {
                    st.sendbuf
                        .extend_from_slice(&st.bufs[p.buf][p.range.clone()]);
                }
                self.sock.send(peer, &st.sendbuf, Some(seg))
            };
            match res {
                Ok(()) => self
                    .shared
                    .counters
                    .add(Traffic::TxDatagrams, (j - k) as u64),
                Err(e) => {
                    self.shared
                        .counters
                        .drop(DropReason::SendError, (j - k) as u64);
                    if let Some(suppressed) = st.logs.allow(DropReason::SendError, Instant::now()) {
                        warn!(error = %e, %peer, suppressed, "UDP send failed");
                    }
                }
            }
            k = j;
        }
    }
}

impl<T: TunQueue, U: UdpIo, R: RawEspIo> OutboundWorker<T, U, R> {
    /// Sends the run of pending raw-ESP packets to `ip` starting at `k`;
    /// returns the index after it.
    fn flush_raw(&self, st: &mut State, k: usize, ip: IpAddr) -> usize {
        let mut j = k;
        while j < st.pending.len() && st.pending[j].peer == EspTransport::Raw(ip) {
            j += 1;
        }
        let Some(raw) = self.shared.raw.get(ip.is_ipv6()) else {
            // Installation opens the socket first; nothing to send on.
            self.shared
                .counters
                .drop(DropReason::SendError, (j - k) as u64);
            return j;
        };
        let mut sent = 0u64;
        for p in &st.pending[k..j] {
            match raw.send(ip, &st.bufs[p.buf][p.range.clone()]) {
                Ok(()) => sent += 1,
                Err(e) => {
                    self.shared.counters.drop(DropReason::SendError, 1);
                    if let Some(suppressed) = st.logs.allow(DropReason::SendError, Instant::now()) {
                        warn!(error = %e, %ip, suppressed, "raw ESP send failed");
                    }
                }
            }
        }
        self.shared.counters.add(Traffic::TxDatagrams, sent);
        j
    }
}

pub(crate) struct State {
    table: OutTable,
    bufs: Vec<Vec<u8>>,
    sizes: Vec<usize>,
    scratch: Vec<u8>,
    pending: Vec<Pending>,
    sendbuf: Vec<u8>,
    acquire_last: HashMap<IpAddr, Instant>,
    /// Where ICMP "too big" errors are built.
    icmp: Vec<u8>,
    logs: LogLimiter,
    max_segments: usize,
}
