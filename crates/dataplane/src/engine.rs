//! The data-plane handle: starts the worker threads, carries SA updates to
//! them as messages, and hands IKE datagrams and events to the daemon.
//!
//! IKE datagrams from the NAT-T port and events go to a [`Handoff`] on the
//! worker thread that has them: the daemon's goes straight into its event
//! loop's queue.
//!
//! Threads: one outbound worker per TUN queue (TUN → ESP → UDP) and one
//! inbound worker per UDP socket (UDP → ESP → TUN). With several sockets on
//! the same port, a reuse-port BPF program steers each datagram by SPI
//! (`yadokari_sys::udp::UdpSocket::attach_spi_steering`), so all packets of
//! one inbound SA meet one replay window in order. Each worker owns its SA
//! table; updates arrive over a channel and an eventfd wakes the worker.
//!
//! Raw ESP (IP protocol 50, RFC 4303 without UDP encapsulation, for peers
//! with no NAT in between) uses one raw socket per address family, opened
//! when the first outbound SA that needs it is installed. The outbound
//! worker sends on it; inbound worker 0 reads it and hands packets whose
//! SPI another inbound worker owns over to that worker.
//!
//! The workers are generic over their I/O ([`crate::io`]); here they are
//! instantiated for `yadokari-sys`'s `Tun`, `UdpSocket` and `RawEspSocket`
//! (`Shared`'s type parameter is the raw socket's).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use yadokari_sys::poll::Waker;
use yadokari_sys::raw::{RawConfig, RawEspSocket};
use yadokari_sys::tun::Tun;
use yadokari_sys::udp::UdpSocket;

use crate::counters::{Counters, GlobalCounts, SaCounters, SaCounts};
use crate::sa::{EspTransport, InboundSa, ManualSa, OutboundSa};
use crate::{inbound, outbound};

/// Knobs of the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Outer path MTU toward peers; inner packets above what fits get an
    /// ICMP error (default 1500).
    pub path_mtu: u16,
    /// Clamp the MSS of TCP SYNs leaving through the tunnel to what fits.
    pub mss_clamp: bool,
    /// Send RFC 3948 NAT keepalives to every peer at this interval.
    pub keepalive_interval: Option<Duration>,
    /// At most one `Acquire` per destination per interval.
    pub acquire_interval: Duration,
    /// Report authenticated inbound traffic per SA ([`Event::Traffic`]) at
    /// most this often; `None` reports nothing.
    pub activity_interval: Option<Duration>,
    /// Source address of generated ICMPv4 errors (default: the original
    /// packet's destination).
    pub icmp_source_v4: Option<IpAddr>,
    /// Source address of generated ICMPv6 errors.
    pub icmp_source_v6: Option<IpAddr>,
    /// Capacity of the IKE channel of [`DataPlane::start`]; beyond it IKE
    /// datagrams are counted and dropped rather than blocking ESP. (With
    /// [`DataPlane::start_with`] the [`Handoff`]'s own queue decides.)
    pub ike_queue: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            path_mtu: 1500,
            mss_clamp: true,
            keepalive_interval: Some(Duration::from_secs(20)),
            acquire_interval: Duration::from_secs(1),
            activity_interval: None,
            icmp_source_v4: None,
            icmp_source_v6: None,
            ike_queue: 256,
        }
    }
}

/// An IKE datagram received on the NAT-T port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeDatagram {
    /// Sender.
    pub from: SocketAddr,
    /// Our address it was sent to (from IP_PKTINFO), if known.
    pub local: Option<IpAddr>,
    /// The UDP payload as received: the non-ESP marker (RFC 3948 §2.2),
    /// then the IKE message. The data plane only looks at the marker to
    /// tell IKE from ESP; the IKE core, which frames what it sends, strips it.
    pub payload: Vec<u8>,
}

/// Where the data plane hands what the daemon must see: IKE datagrams from
/// the NAT-T port and [`Event`]s. Called on worker threads, so it must not
/// block: a full queue refuses (the data plane counts and drops), rather
/// than stall ESP. The daemon's implementation queues straight into its
/// event loop; [`DataPlane::start`] uses bounded channels ([`Channels`]).
pub trait Handoff: Send + Sync + 'static {
    /// Whether an IKE datagram would be refused now; asked before the
    /// datagram is copied, so a full queue costs no allocation.
    fn ike_full(&self) -> bool;
    /// Takes an IKE datagram; `false` if refused.
    fn ike(&self, d: IkeDatagram) -> bool;
    /// Takes an event; `false` if refused.
    fn event(&self, e: Event) -> bool;
}

/// [`Handoff`] into two bounded channels (the receiving ends are [`Channels`]).
pub(crate) struct ChannelHandoff {
    pub(crate) ike: Sender<IkeDatagram>,
    pub(crate) events: Sender<Event>,
}

impl Handoff for ChannelHandoff {
    fn ike_full(&self) -> bool {
        self.ike.is_full()
    }

    fn ike(&self, d: IkeDatagram) -> bool {
        self.ike.try_send(d).is_ok()
    }

    fn event(&self, e: Event) -> bool {
        self.events.try_send(e).is_ok()
    }
}

/// Something the daemon should act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Outbound traffic matched no SA (RFC 4301 §5.1: the SPD entry
    /// "PROTECT" without an SA → the key manager is asked). Rate-limited
    /// per destination.
    Acquire {
        /// Inner source.
        src: IpAddr,
        /// Inner destination.
        dst: IpAddr,
        /// Inner protocol.
        protocol: u8,
    },
    /// Authenticated ESP arrived on the inbound SA `spi` at `at` (with
    /// [`Config::activity_interval`]; at most once per interval per SA).
    /// The daemon's dead-peer detection counts from it.
    Traffic {
        /// The inbound SA's SPI.
        spi: u32,
        /// When the packet was processed.
        at: std::time::Instant,
    },
    /// An outbound SA passed its soft sequence-number limit: rekey its pair.
    RekeyNeeded {
        /// The pair's inbound SPI ([`crate::OutboundSa::spi_in`]), by
        /// which the key manager knows it.
        spi_in: u32,
    },
    /// An outbound SA ran out of sequence numbers and now drops traffic.
    SequenceExhausted {
        /// The pair's inbound SPI, as for `RekeyNeeded`.
        spi_in: u32,
    },
}

/// Direction of an SA in counter snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Decrypting.
    Inbound,
    /// Encrypting.
    Outbound,
}

/// Counters of the whole data plane at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Global counters and drops by reason.
    pub global: GlobalCounts,
    /// Per installed SA: (direction, SPI) → counts.
    pub sas: Vec<((Direction, u32), SaCounts)>,
    /// Datagrams the kernel dropped on our sockets (full buffers).
    pub kernel_rx_drops: u64,
}

impl CountersSnapshot {
    /// Counts of one SA, if installed.
    #[must_use]
    pub fn sa(&self, dir: Direction, spi: u32) -> Option<SaCounts> {
        self.sas
            .iter()
            .find(|(k, _)| *k == (dir, spi))
            .map(|(_, c)| *c)
    }
}

pub(crate) enum OutCtl {
    Install(Box<OutboundSa>, Arc<SaCounters>),
    Barrier(Sender<()>),
    Remove { spi: u32, peer: Option<SocketAddr> },
    UpdatePeer { old: SocketAddr, new: SocketAddr },
}

pub(crate) enum InCtl {
    Install(Box<InboundSa>, Arc<SaCounters>),
    Barrier(Sender<()>),
    Remove {
        spi: u32,
    },
    /// A raw ESP packet (from the SPI on) read by worker 0 for an SPI this
    /// worker owns.
    RawEsp {
        from: IpAddr,
        packet: Vec<u8>,
    },
}

/// The raw ESP sockets, (IPv4, IPv6), each set once when first needed.
pub(crate) struct RawSockets<R = RawEspSocket> {
    pub v4: OnceLock<Arc<R>>,
    pub v6: OnceLock<Arc<R>>,
}

impl<R> Default for RawSockets<R> {
    fn default() -> Self {
        Self {
            v4: OnceLock::new(),
            v6: OnceLock::new(),
        }
    }
}

impl<R> RawSockets<R> {
    pub fn get(&self, v6: bool) -> Option<&Arc<R>> {
        if v6 {
            self.v6.get()
        } else {
            self.v4.get()
        }
    }
}

pub(crate) struct Worker<C> {
    pub tx: Sender<C>,
    pub waker: Arc<Waker>,
}

/// Shared by all workers (`R`: the raw ESP socket type, see [`crate::io`]).
pub(crate) struct Shared<R = RawEspSocket> {
    pub cfg: Config,
    pub counters: Counters,
    pub stop: AtomicBool,
    pub handoff: Arc<dyn Handoff>,
    pub raw: RawSockets<R>,
}

/// A running data plane. Dropping it stops and joins the workers.
pub struct DataPlane {
    shared: Arc<Shared>,
    sockets: Vec<Arc<UdpSocket>>,
    out_workers: Vec<Worker<OutCtl>>,
    in_workers: Vec<Worker<InCtl>>,
    threads: Vec<JoinHandle<()>>,
    sa_counters: Mutex<HashMap<(Direction, u32), Arc<SaCounters>>>,
    /// SO_MARK for sockets opened later (raw ESP); held while opening them.
    mark: Mutex<Option<u32>>,
}

/// The daemon's ends of the data plane's channels.
#[derive(Debug)]
pub struct Channels {
    /// Acquire and SA events.
    pub events: Receiver<Event>,
    /// IKE datagrams from the NAT-T port; read these with priority.
    pub ike: Receiver<IkeDatagram>,
}

/// Errors from [`DataPlane`] calls.
#[derive(Debug, thiserror::Error)]
pub enum DataPlaneError {
    /// An OS call failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Bad manual keys or SA parameters.
    #[error("SA: {0}")]
    Sa(#[from] yadokari_esp::SaError),
    /// The caller passed something unusable.
    #[error("API misuse: {0}")]
    ApiMisuse(&'static str),
    /// A worker is gone (the data plane is shutting down).
    #[error("data plane stopped")]
    Stopped,
}

fn spawn(name: String, f: impl FnOnce() + Send + 'static) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name).spawn(move || {
        // Workers only read and write descriptors opened for them (raw
        // sockets are opened by the caller's thread): they need no
        // capability, so one compromised by a packet holds none.
        let _ = yadokari_sys::privs::clear_thread_capabilities();
        f()
    })
}

impl DataPlane {
    /// Starts workers over `tun_queues` (one outbound worker each) and
    /// `sockets` (one inbound worker each; several sockets must share a port
    /// with SO_REUSEPORT — SPI steering is attached here). IKE datagrams
    /// and events go to bounded channels, read from [`Channels`].
    pub fn start(
        cfg: Config,
        tun_queues: Vec<Tun>,
        sockets: Vec<UdpSocket>,
    ) -> Result<(Self, Channels), DataPlaneError> {
        let (ev_tx, ev_rx) = bounded(1024);
        let (ike_tx, ike_rx) = bounded(cfg.ike_queue.max(1));
        let handoff = Arc::new(ChannelHandoff {
            ike: ike_tx,
            events: ev_tx,
        });
        let dp = Self::start_with(cfg, tun_queues, sockets, handoff)?;
        Ok((
            dp,
            Channels {
                events: ev_rx,
                ike: ike_rx,
            },
        ))
    }

    /// As [`DataPlane::start`], handing IKE datagrams and events to
    /// `handoff` on the worker threads (no thread or copy in between).
    pub fn start_with(
        cfg: Config,
        tun_queues: Vec<Tun>,
        sockets: Vec<UdpSocket>,
        handoff: Arc<dyn Handoff>,
    ) -> Result<Self, DataPlaneError> {
        if tun_queues.is_empty() || sockets.is_empty() {
            return Err(DataPlaneError::ApiMisuse(
                "need at least one TUN queue and one socket",
            ));
        }
        if sockets.len() > 1 {
            sockets[0].attach_spi_steering(sockets.len() as u32)?;
        }
        let shared = Arc::new(Shared {
            cfg,
            counters: Counters::default(),
            stop: AtomicBool::new(false),
            handoff,
            raw: RawSockets::default(),
        });
        let sockets: Vec<Arc<UdpSocket>> = sockets.into_iter().map(Arc::new).collect();
        let tuns: Vec<Arc<Tun>> = tun_queues.into_iter().map(Arc::new).collect();
        let mut dp = DataPlane {
            shared: shared.clone(),
            sockets: sockets.clone(),
            out_workers: Vec::new(),
            in_workers: Vec::new(),
            threads: Vec::new(),
            sa_counters: Mutex::new(HashMap::new()),
            mark: Mutex::new(None),
        };
        for (i, tun) in tuns.iter().enumerate() {
            let (tx, rx) = unbounded();
            let waker = Arc::new(Waker::new()?);
            let w = outbound::OutboundWorker::new(
                shared.clone(),
                tun.clone(),
                sockets[i % sockets.len()].clone(),
                rx,
                waker.clone(),
                i == 0,
            );
            dp.threads
                .push(spawn(format!("yk-out{i}"), move || w.run())?);
            dp.out_workers.push(Worker { tx, waker });
        }
        let in_chans: Vec<_> = sockets
            .iter()
            .map(|_| Ok((unbounded(), Arc::new(Waker::new()?))))
            .collect::<std::io::Result<_>>()?;
        let in_peers: Vec<(Sender<InCtl>, Arc<Waker>)> = in_chans
            .iter()
            .map(|((tx, _), w)| (tx.clone(), w.clone()))
            .collect();
        for (i, (sock, ((tx, rx), waker))) in sockets.iter().zip(in_chans).enumerate() {
            let w = inbound::InboundWorker::new(
                shared.clone(),
                tuns[i % tuns.len()].clone(),
                sock.clone(),
                rx,
                waker.clone(),
                i,
                // Worker 0 reads the raw ESP sockets and forwards to the rest.
                if i == 0 { in_peers.clone() } else { Vec::new() },
            );
            dp.threads
                .push(spawn(format!("yk-in{i}"), move || w.run())?);
            dp.in_workers.push(Worker { tx, waker });
        }
        Ok(dp)
    }

    fn counters_for(&self, dir: Direction, spi: u32) -> Arc<SaCounters> {
        let c = Arc::new(SaCounters::default());
        if let Ok(mut m) = self.sa_counters.lock() {
            m.insert((dir, spi), c.clone());
        }
        c
    }

    fn forget_counters(&self, dir: Direction, spi: u32) {
        if let Ok(mut m) = self.sa_counters.lock() {
            m.remove(&(dir, spi));
        }
    }

    /// Installs an inbound SA (on the worker its SPI steers to). Installing
    /// the new inbound SA before the outbound one on rekey keeps traffic
    /// flowing: the old inbound SA stays until [`DataPlane::remove_inbound`].
    pub fn install_inbound(&self, sa: InboundSa) -> Result<(), DataPlaneError> {
        let idx = (sa.spi as usize) % self.in_workers.len();
        let c = self.counters_for(Direction::Inbound, sa.spi);
        let w = &self.in_workers[idx];
        w.tx.send(InCtl::Install(Box::new(sa), c))
            .map_err(|_| DataPlaneError::Stopped)?;
        w.waker.wake();
        Ok(())
    }

    /// Removes an inbound SA.
    pub fn remove_inbound(&self, spi: u32) -> Result<(), DataPlaneError> {
        let w = &self.in_workers[(spi as usize) % self.in_workers.len()];
        w.tx.send(InCtl::Remove { spi })
            .map_err(|_| DataPlaneError::Stopped)?;
        w.waker.wake();
        self.forget_counters(Direction::Inbound, spi);
        Ok(())
    }

    /// Installs an outbound SA. With equal selectors the newest SA wins, so
    /// installing the rekeyed SA switches traffic to it at once.
    ///
    /// With several TUN queues each outbound worker needs its own sequence
    /// space, so this is only allowed with a single queue for now.
    ///
    /// An SA sending raw ESP opens that family's raw socket first (needs
    /// CAP_NET_RAW), so the peer's answer can be read from then on.
    pub fn install_outbound(&self, mut sa: OutboundSa) -> Result<(), DataPlaneError> {
        if self.out_workers.len() != 1 {
            return Err(DataPlaneError::ApiMisuse(
                "outbound SAs need a single TUN queue",
            ));
        }
        if let EspTransport::Raw(ip) = sa.peer {
            // A v4-mapped address would pick the IPv6 socket, which cannot
            // reach an IPv4 peer.
            let ip = ip.to_canonical();
            sa.peer = EspTransport::Raw(ip);
            self.open_raw(ip.is_ipv6())?;
        }
        let c = self.counters_for(Direction::Outbound, sa.spi);
        let w = &self.out_workers[0];
        w.tx.send(OutCtl::Install(Box::new(sa), c))
            .map_err(|_| DataPlaneError::Stopped)?;
        w.waker.wake();
        Ok(())
    }

    /// Opens the raw ESP socket of one family unless it is open: bound to
    /// the UDP socket's address when that is a specific one of the family,
    /// marked like the UDP sockets. Inbound worker 0 starts reading it.
    fn open_raw(&self, v6: bool) -> Result<(), DataPlaneError> {
        let mark = self.mark.lock().map_err(|_| DataPlaneError::Stopped)?;
        let cell = if v6 {
            &self.shared.raw.v6
        } else {
            &self.shared.raw.v4
        };
        if cell.get().is_some() {
            return Ok(());
        }
        let bind = match self.sockets[0].local_addr() {
            Ok(a) if a.is_ipv6() == v6 && !a.ip().is_unspecified() => a.ip(),
            _ if v6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            _ => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        };
        let sock = RawEspSocket::open(&RawConfig::new(bind))?;
        if let Some(m) = *mark {
            sock.set_mark(m)?;
        }
        // Only this function sets the cell, under the lock: it is empty.
        let _ = cell.set(Arc::new(sock));
        if let Some(w) = self.in_workers.first() {
            w.waker.wake();
        }
        Ok(())
    }

    /// Removes an outbound SA (by SPI, optionally only toward `peer`).
    pub fn remove_outbound(
        &self,
        spi: u32,
        peer: Option<SocketAddr>,
    ) -> Result<(), DataPlaneError> {
        for w in &self.out_workers {
            w.tx.send(OutCtl::Remove { spi, peer })
                .map_err(|_| DataPlaneError::Stopped)?;
            w.waker.wake();
        }
        self.forget_counters(Direction::Outbound, spi);
        Ok(())
    }

    /// Moves every SA toward `old` to `new` (NAT mapping change, MOBIKE).
    pub fn update_peer(&self, old: SocketAddr, new: SocketAddr) -> Result<(), DataPlaneError> {
        for w in &self.out_workers {
            w.tx.send(OutCtl::UpdatePeer { old, new })
                .map_err(|_| DataPlaneError::Stopped)?;
            w.waker.wake();
        }
        Ok(())
    }

    /// Installs both halves of a manually keyed SA.
    pub fn install_manual(&self, sa: &ManualSa) -> Result<(), DataPlaneError> {
        let (i, o) = sa.build()?;
        self.install_inbound(i)?;
        self.install_outbound(o)
    }

    /// Waits until every worker has applied all SA updates queued before
    /// this call (e.g. before answering IKE with SPIs that must already
    /// decrypt). Errors with [`DataPlaneError::Stopped`] after `timeout`.
    pub fn sync(&self, timeout: Duration) -> Result<(), DataPlaneError> {
        let (tx, rx) = bounded(self.out_workers.len() + self.in_workers.len());
        for w in &self.out_workers {
            w.tx.send(OutCtl::Barrier(tx.clone()))
                .map_err(|_| DataPlaneError::Stopped)?;
            w.waker.wake();
        }
        for w in &self.in_workers {
            w.tx.send(InCtl::Barrier(tx.clone()))
                .map_err(|_| DataPlaneError::Stopped)?;
            w.waker.wake();
        }
        let deadline = std::time::Instant::now() + timeout;
        for _ in 0..self.out_workers.len() + self.in_workers.len() {
            rx.recv_deadline(deadline)
                .map_err(|_| DataPlaneError::Stopped)?;
        }
        Ok(())
    }

    /// Sends an IKE datagram to `to` from the NAT-T socket. `payload` is
    /// the complete UDP payload, sent unchanged: the IKE core framed it
    /// with the non-ESP marker (RFC 3948 §2.2). One without the marker
    /// would read as ESP at the peer and is refused.
    pub fn send_ike(&self, to: SocketAddr, payload: &[u8]) -> Result<(), DataPlaneError> {
        if !payload.starts_with(&yadokari_wire::udp_encap::NON_ESP_MARKER) {
            return Err(DataPlaneError::ApiMisuse(
                "an IKE datagram on the NAT-T port must start with the non-ESP marker",
            ));
        }
        self.sockets[0].send(to, payload, None)?;
        Ok(())
    }

    /// Sets SO_MARK on every UDP socket, so policy routing can tell the
    /// tunnel's own datagrams from the user traffic they carry (needed when
    /// a transport-mode peer's host route points into the TUN).
    pub fn set_mark(&self, mark: u32) -> Result<(), DataPlaneError> {
        let mut m = self.mark.lock().map_err(|_| DataPlaneError::Stopped)?;
        for s in &self.sockets {
            s.set_mark(mark)?;
        }
        for r in [self.shared.raw.v4.get(), self.shared.raw.v6.get()]
            .into_iter()
            .flatten()
        {
            r.set_mark(mark)?;
        }
        *m = Some(mark);
        Ok(())
    }

    /// The local address of the (first) socket.
    pub fn local_addr(&self) -> Result<SocketAddr, DataPlaneError> {
        Ok(self.sockets[0].local_addr()?)
    }

    /// A snapshot of all counters.
    #[must_use]
    pub fn counters(&self) -> CountersSnapshot {
        let mut sas: Vec<_> = match self.sa_counters.lock() {
            Ok(m) => m.iter().map(|(k, v)| (*k, v.snapshot())).collect(),
            Err(_) => Vec::new(),
        };
        sas.sort_by_key(|(k, _)| *k);
        let kernel_rx_drops = self
            .sockets
            .iter()
            .filter_map(|s| s.kernel_drops().ok())
            .chain(
                [self.shared.raw.v4.get(), self.shared.raw.v6.get()]
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.kernel_drops().ok()),
            )
            .map(u64::from)
            .sum();
        CountersSnapshot {
            global: self.shared.counters.snapshot(),
            sas,
            kernel_rx_drops,
        }
    }

    /// Stops and joins all workers.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for w in &self.out_workers {
            w.waker.wake();
        }
        for w in &self.in_workers {
            w.waker.wake();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        self.stop_all();
    }
}
