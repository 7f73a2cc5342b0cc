//! The daemon's network side: IKE sockets on port 500, the data plane (which
//! owns the NAT-T socket on port 4500 and the TUN device), and what turns
//! their input into [`Input`]s for the engine.
//!
//! IKE on port 4500 shares the data plane's socket (RFC 3948: the non-ESP
//! marker tells IKE from ESP). The data plane's worker queues those
//! datagrams straight into the engine's input queue ([`ToEngine`]), as
//! received: no thread and no copy in between, and the marker stays on for
//! the IKE core, which is the one place that strips it (and adds it: what
//! the core sends on port 4500 goes out through the data plane's socket
//! unchanged). Data-plane events have a queue of their own, so a flood of
//! one cannot take the other's queue space.
//!
//! The policy routes ([`crate::routes`]) may cover the peers' own addresses
//! (always so in transport mode, RFC 4303 §3.1.1), so the datagrams that
//! carry the tunnel must not follow them. As wg-quick does for a default
//! route, our sockets get [`FWMARK`] from the start, and the rule that
//! sends traffic through the policy table skips marked packets.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use yadokari_config::Config;
use yadokari_dataplane::{self as dp, DataPlane};
use yadokari_ike::Path;
use yadokari_sys::netcfg::IpTool;
use yadokari_sys::tun::{Tun, TunConfig};
use yadokari_sys::udp::{UdpConfig, UdpSocket as DpSocket};

use crate::translate::Connection;

/// Firewall mark of the daemon's IKE and ESP sockets ("yk"): they skip
/// the policy routes.
pub const FWMARK: u32 = 0x796b;
/// Creates the TUN device, or says why not in words. The kernel answers a
/// name taken by another kind of interface with a bare EINVAL, and one
/// taken by a TUN another process holds with EBUSY; both are told apart
/// here from what `ip` reports about the name.
fn open_tun(ip: &IpTool, name: &str, mtu: u16) -> anyhow::Result<Tun> {
    let kind = ip.link_kind(name).ok().flatten();
    if let Some(k) = kind.as_deref().filter(|k| *k != "tun") {
        anyhow::bail!(
            "cannot create TUN device {name}: the name is taken by an existing {k} interface; \
             set interface.name to a free name"
        );
    }
    Tun::open(&TunConfig {
        name: name.to_owned(),
        mtu,
        offload: true,
        multi_queue: false,
    })
    .with_context(|| match kind {
        Some(_) => format!(
            "cannot open TUN device {name}: it exists already and is in use \
             (another yadokarid?), or was created with other flags"
        ),
        None => {
            format!("cannot create TUN device {name} (is /dev/net/tun there, and are we root?)")
        }
    })
}

/// Something for the engine to process.
#[derive(Debug)]
pub enum Input {
    /// IKE on the NAT-T port, from the data plane: the UDP payload as
    /// received, non-ESP marker included (the IKE core strips it).
    Ike {
        from: SocketAddr,
        local: Option<IpAddr>,
        payload: Vec<u8>,
    },
    /// IKE on port 500; `local` is the socket's address, unspecified for a
    /// wildcard socket (the engine resolves it).
    Ike500 {
        from: SocketAddr,
        local: SocketAddr,
        payload: Vec<u8>,
    },
    /// Traffic for which no SA exists (racoon2's ACQUIRE).
    Acquire { dst: IpAddr },
    /// Authenticated ESP arrived on inbound SA `spi` at `at`.
    Traffic { spi: u32, at: std::time::Instant },
    /// The pair whose inbound SPI is `spi_in` must be rekeyed now: its
    /// outbound SA nears (or reached) the end of its sequence numbers.
    Rekey { spi_in: u32 },
}

/// The data plane's [`dp::Handoff`] into the engine, run on its worker
/// threads: IKE joins port 500's IKE in the input queue, events go to their
/// own queue. Both refuse when full rather than block a worker.
struct ToEngine {
    ike: mpsc::Sender<Input>,
    events: mpsc::Sender<Input>,
}

impl dp::Handoff for ToEngine {
    fn ike_full(&self) -> bool {
        self.ike.capacity() == 0
    }

    fn ike(&self, d: dp::IkeDatagram) -> bool {
        self.ike
            .try_send(Input::Ike {
                from: canonical_sa(d.from),
                local: d.local.map(canonical),
                payload: d.payload,
            })
            .is_ok()
    }

    fn event(&self, e: dp::Event) -> bool {
        let input = match e {
            dp::Event::Acquire { dst, .. } => Input::Acquire { dst },
            dp::Event::Traffic { spi, at } => Input::Traffic { spi, at },
            dp::Event::RekeyNeeded { spi_in } | dp::Event::SequenceExhausted { spi_in } => {
                Input::Rekey { spi_in }
            }
        };
        self.events.try_send(input).is_ok()
    }
}

pub struct Net {
    ike500: Vec<Arc<UdpSocket>>,
    pub(crate) dataplane: Option<DataPlane>,
    pub(crate) ip: IpTool,
    pub(crate) tun_name: String,
    natt_port: u16,
    /// Which of our addresses the kernel uses toward a peer (learnt once).
    local_cache: Mutex<HashMap<IpAddr, IpAddr>>,
}

impl Net {
    /// Opens the sockets and starts the data plane. IKE datagrams go to
    /// `inputs`, data-plane events to `dp_events`.
    pub async fn open(
        config: &Config,
        conns: &[Connection],
        inputs: mpsc::Sender<Input>,
        dp_events: mpsc::Sender<Input>,
    ) -> anyhow::Result<Net> {
        let ike_port = config.daemon.ike_port;
        let natt_port = config.daemon.nat_port;
        // The outer address families in use decide which sockets to open.
        let fams: Vec<bool> = conns
            .iter()
            .flat_map(|c| [c.conn.remote_addr, c.conn.local_addr])
            .flatten()
            .map(|a| a.is_ipv6())
            .collect();
        let (v4, v6) = if fams.is_empty() {
            (true, true)
        } else {
            (fams.contains(&false), fams.contains(&true))
        };

        let mut ike500 = Vec::new();
        let locals: Vec<IpAddr> = conns
            .iter()
            .filter_map(|c| c.conn.local_addr.map(|a| a.ip()))
            .collect();
        let mut binds: Vec<SocketAddr> = Vec::new();
        for ip in &locals {
            let a = SocketAddr::new(*ip, ike_port);
            if !binds.contains(&a) {
                binds.push(a);
            }
        }
        // Connections without a local address need the wildcard.
        if conns.iter().any(|c| c.conn.local_addr.is_none()) || binds.is_empty() {
            if v4 {
                binds.push(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), ike_port));
            }
            if v6 {
                binds.push(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), ike_port));
            }
        }
        for a in binds {
            let s = bind_udp(a).with_context(|| format!("cannot bind IKE socket {a}"))?;
            let s = Arc::new(s);
            ike500.push(s.clone());
            tokio::spawn(read_500(s, inputs.clone()));
        }

        // The data plane: one TUN shared by every peer, one NAT-T socket.
        let outer_v6 = v6 && !v4;
        let mtu = match config.interface.mtu {
            yadokari_config::Mtu::Fixed(m) => m,
            yadokari_config::Mtu::Auto => dp::tunnel_mtu(1500, v6),
        };
        let ip = IpTool::current();
        let tun = open_tun(&ip, &config.interface.name, mtu)?;
        ip.link_up(&config.interface.name, mtu)
            .context("cannot bring the TUN device up")?;
        let bind = if outer_v6 || (v4 && v6) {
            SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), natt_port)
        } else {
            SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), natt_port)
        };
        let mut ucfg = UdpConfig::new(bind);
        ucfg.dual_stack = v4 && v6;
        ucfg.recv_buffer = 16 << 20;
        ucfg.send_buffer = 16 << 20;
        let sock =
            DpSocket::bind(&ucfg).with_context(|| format!("cannot bind NAT-T socket {bind}"))?;
        // DPD counts from the last ESP a peer sent (RFC 7296 §2.4): the data
        // plane reports it at most every tenth of the shortest DPD delay
        // (between 100 ms and 1 s), the error the timer may have.
        let activity_interval = conns
            .iter()
            .filter_map(|c| c.conn.dpd_delay)
            .min()
            .map(|d| (d / 10).clamp(Duration::from_millis(100), Duration::from_secs(1)));
        let dcfg = dp::Config {
            mss_clamp: config.interface.mss_clamp,
            keepalive_interval: config.daemon.nat_keepalive,
            activity_interval,
            ..dp::Config::default()
        };
        let handoff = std::sync::Arc::new(ToEngine {
            ike: inputs,
            events: dp_events,
        });
        let dataplane = DataPlane::start_with(dcfg, vec![tun], vec![sock], handoff)
            .context("cannot start the data plane")?;
        // Marked before anything is sent, so no IKE or ESP datagram can take
        // a policy route into the TUN.
        for s in &ike500 {
            yadokari_sys::udp::set_mark(s.as_fd(), FWMARK)
                .context("cannot set SO_MARK on the IKE socket (needs CAP_NET_ADMIN)")?;
        }
        dataplane
            .set_mark(FWMARK)
            .context("cannot set SO_MARK on the NAT-T socket (needs CAP_NET_ADMIN)")?;
        Ok(Net {
            ike500,
            dataplane: Some(dataplane),
            ip,
            tun_name: config.interface.name.clone(),
            natt_port,
            local_cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn natt_port(&self) -> u16 {
        self.natt_port
    }

    pub fn dataplane(&self) -> anyhow::Result<&DataPlane> {
        match &self.dataplane {
            Some(d) => Ok(d),
            None => bail!("the data plane is stopped"),
        }
    }

    /// Our address toward `peer`, as the routing table picks it. A UDP
    /// "connect" sends nothing; it only asks the kernel for the route.
    pub fn local_ip_for(&self, peer: IpAddr) -> IpAddr {
        let peer = canonical(peer);
        if let Some(ip) = self
            .local_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&peer).copied())
        {
            return ip;
        }
        let any: SocketAddr = if peer.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let ip = std::net::UdpSocket::bind(any)
            .and_then(|s| {
                // Ask as our IKE sockets would send, past the policy routes.
                yadokari_sys::udp::set_mark(s.as_fd(), FWMARK)?;
                s.connect((peer, 9)).and_then(|_| s.local_addr())
            })
            .map(|a| a.ip())
            .unwrap_or(any.ip());
        if let Ok(mut c) = self.local_cache.lock() {
            c.insert(peer, ip);
        }
        ip
    }

    /// Sends one IKE datagram (the complete UDP payload, framed by the
    /// endpoint) on the path the endpoint chose: from the NAT-T port through
    /// the data plane's socket, otherwise from an IKE socket.
    pub async fn send(&self, path: Path, payload: &[u8]) -> anyhow::Result<()> {
        let to = path.remote;
        if path.local.port() == self.natt_port {
            self.dataplane()?.send_ike(to, payload)?;
            return Ok(());
        }
        let sock = self
            .ike500
            .iter()
            .find(|s| s.local_addr().is_ok_and(|a| a.ip() == path.local.ip()))
            .or_else(|| {
                self.ike500.iter().find(|s| {
                    s.local_addr()
                        .is_ok_and(|a| a.ip().is_unspecified() && a.is_ipv6() == to.is_ipv6())
                })
            })
            .context("no IKE socket for that address family")?;
        sock.send_to(payload, to).await?;
        Ok(())
    }

    pub fn shutdown(&mut self) {
        if let Some(d) = self.dataplane.take() {
            d.shutdown();
        }
    }
}

pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn canonical_sa(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(canonical(a.ip()), a.port())
}

/// Receive buffer of the IKE (port 500) sockets.
const IKE_RECV_BUFFER: usize = 4 << 20;

fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = if addr.is_ipv6() {
        socket2::Domain::IPV6
    } else {
        socket2::Domain::IPV4
    };
    let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if addr.is_ipv6() {
        // A separate IPv4 socket handles IPv4; without this the two binds clash.
        s.set_only_v6(true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    // Hundreds of peers (or one peer's hundreds of connections) starting at
    // once send their IKE_SA_INITs back to back; the default buffer drops
    // most and they come back only with retransmissions a second later.
    yadokari_sys::udp::force_recv_buffer(&s, IKE_RECV_BUFFER)?;
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

/// Nice value of the thread that takes unauthenticated IKE input (the
/// engine's): under contention the data-plane
/// workers (nice 0) get about three times their CPU share, so a flood of
/// IKE garbage cannot starve established tunnels (sched(7)).
pub const IKE_NICE: i32 = 5;

/// Why a datagram on an IKE socket was dropped before the engine saw it.
#[derive(Debug, Clone, Copy)]
enum IkeDrop {
    /// Not an IKE message (`yadokari_wire::header::plausible`).
    Malformed,
    /// The engine's queue was full.
    QueueFull,
}

/// Counts of [`IkeDrop`]s, logged at most once per interval each.
struct IkeDrops {
    counts: [u64; 2],
    logged: [u64; 2],
    last: [Option<std::time::Instant>; 2],
}

impl IkeDrops {
    const INTERVAL: Duration = Duration::from_secs(10);

    fn new() -> Self {
        IkeDrops {
            counts: [0; 2],
            logged: [0; 2],
            last: [None; 2],
        }
    }

    fn count(&mut self, r: IkeDrop, local: SocketAddr) {
        let i = r as usize;
        self.counts[i] += 1;
        let now = std::time::Instant::now();
        if self.last[i].is_some_and(|t| now.duration_since(t) < Self::INTERVAL) {
            return;
        }
        let n = self.counts[i] - self.logged[i];
        self.logged[i] = self.counts[i];
        self.last[i] = Some(now);
        match r {
            IkeDrop::Malformed => tracing::debug!(
                total = self.counts[i],
                "IKE socket {local}: dropped {n} datagram(s) that cannot be IKE messages"
            ),
            IkeDrop::QueueFull => tracing::warn!(
                total = self.counts[i],
                "IKE socket {local}: dropped {n} datagram(s): the engine is behind"
            ),
        }
    }
}

async fn read_500(sock: Arc<UdpSocket>, inputs: mpsc::Sender<Input>) {
    let mut buf = vec![0u8; 65_536];
    let local = match sock.local_addr() {
        Ok(a) => a,
        Err(_) => return,
    };
    let mut drops = IkeDrops::new();
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, from)) => {
                // Garbage is dropped before it is copied or queued, and a
                // full queue drops instead of stalling this socket.
                if !yadokari_wire::header::plausible(&buf[..n]) {
                    drops.count(IkeDrop::Malformed, local);
                    continue;
                }
                let permit = match inputs.try_reserve() {
                    Ok(p) => p,
                    Err(mpsc::error::TrySendError::Full(())) => {
                        drops.count(IkeDrop::QueueFull, local);
                        continue;
                    }
                    Err(mpsc::error::TrySendError::Closed(())) => return,
                };
                permit.send(Input::Ike500 {
                    from: canonical_sa(from),
                    local,
                    payload: buf[..n].to_vec(),
                });
            }
            Err(e) => {
                tracing::debug!("IKE socket {local}: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}
