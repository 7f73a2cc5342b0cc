//! Dev-only simulation of two IKE endpoints (style guide §g.4): a virtual
//! clock, a seeded network that drops, duplicates, delays and reorders
//! datagrams (and optionally a NAT in front of peer A), and a [`Pair`]
//! harness in the spirit of quinn's `Pair`/`drive_bounded` that runs both
//! `IkeEndpoint`s until a condition holds, then checks that both sides agree
//! on their CHILD SAs.
//!
//! Everything is deterministic from one `u64` seed, so a failing run prints
//! its seed and replays exactly.
#![forbid(unsafe_code)]

pub mod config;
pub mod net;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use yadokari_ike::{
    ChildSaInfo, ChildSaKeys, Command, Config, Event, IkeEndpoint, IkeSaId, Path, Transmit,
};

pub use net::{Faults, Network, SimRng};

/// Peer A's address (documentation range, RFC 5737).
pub const ADDR_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
/// Peer B's address.
pub const ADDR_B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
/// The public address of the NAT in front of A, when enabled.
pub const ADDR_NAT: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));

/// Which peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    A,
    B,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }
}

/// One endpoint with the data plane's view of it, built from events only.
pub struct Peer {
    pub ep: IkeEndpoint,
    pub addr: IpAddr,
    /// CHILD SAs as a data plane would have them (by inbound SPI).
    pub installed: BTreeMap<u32, ChildSaInfo>,
    /// IKE SAs that reported up and not yet down.
    pub ike_up: BTreeMap<IkeSaId, (u64, u64)>,
    pub events: Vec<Event>,
}

impl Peer {
    fn new(cfg: Config, addr: IpAddr, seed: u64) -> Self {
        Self {
            ep: IkeEndpoint::new(cfg, seed),
            addr,
            installed: BTreeMap::new(),
            ike_up: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn absorb(&mut self, e: Event) -> Result<(), String> {
        let fresh = |m: &mut BTreeMap<u32, ChildSaInfo>, info: &ChildSaInfo| match m
            .insert(info.spi_in, info.clone())
        {
            Some(_) => Err(format!("SPI {:#x} installed twice", info.spi_in)),
            None => Ok(()),
        };
        match &e {
            Event::ChildSaInstalled { info, .. } => fresh(&mut self.installed, info)?,
            Event::ChildSaReplaced { new, .. } => fresh(&mut self.installed, new)?,
            Event::ChildSaRemoved { spi_in, .. } => {
                self.installed
                    .remove(spi_in)
                    .ok_or_else(|| format!("removed unknown SPI {spi_in:#x}"))?;
            }
            Event::IkeSaUp {
                ike, spi_i, spi_r, ..
            } => {
                self.ike_up.insert(*ike, (*spi_i, *spi_r));
            }
            Event::IkeSaDown { ike, .. } => {
                self.ike_up.remove(ike);
            }
            _ => {}
        }
        self.events.push(e);
        Ok(())
    }

    /// The keys the data plane got for the CHILD SA `spi_in`: those of its
    /// install event (the core keeps none).
    pub fn keys_of(&self, spi_in: u32) -> Option<&ChildSaKeys> {
        self.events.iter().rev().find_map(|e| match e {
            Event::ChildSaInstalled { info, keys } if info.spi_in == spi_in => Some(keys),
            Event::ChildSaReplaced { new, keys, .. } if new.spi_in == spi_in => Some(keys),
            _ => None,
        })
    }

    /// Established IKE SAs that are not replaced.
    pub fn live_ike_sas(&self) -> Vec<yadokari_ike::IkeSaView> {
        self.ep
            .ike_sas()
            .into_iter()
            .filter(|s| s.state == "Established" && !s.rekeyed)
            .collect()
    }
}

/// Two endpoints on a simulated network.
pub struct Pair {
    pub start: Instant,
    pub now: Instant,
    pub a: Peer,
    pub b: Peer,
    pub net: Network,
    /// A sits behind a NAT that maps its ports (`port + 10000`) to ADDR_NAT.
    pub nat: bool,
    pub steps: u64,
    /// First inconsistency seen while absorbing events.
    pub error: Option<String>,
    /// What B sent to addresses other than A's (a third party in a test).
    pub stray: Vec<Transmit>,
}

impl Pair {
    pub fn new(cfg_a: Config, cfg_b: Config, seed: u64, faults: Faults) -> Self {
        let start = Instant::now();
        Self {
            start,
            now: start,
            a: Peer::new(cfg_a, ADDR_A, seed.wrapping_mul(2).wrapping_add(1)),
            b: Peer::new(cfg_b, ADDR_B, seed.wrapping_mul(2).wrapping_add(2)),
            net: Network::new(seed ^ 0x5eed_5eed_5eed_5eed, faults),
            nat: false,
            steps: 0,
            error: None,
            stray: Vec::new(),
        }
    }

    pub fn peer(&mut self, s: Side) -> &mut Peer {
        match s {
            Side::A => &mut self.a,
            Side::B => &mut self.b,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    pub fn command(&mut self, s: Side, cmd: Command) {
        let now = self.now;
        self.peer(s).ep.handle_command(now, cmd);
        self.flush();
    }

    /// What B sees as A's address (through the NAT, if any).
    fn translate_from_a(&self, a: SocketAddr) -> SocketAddr {
        if self.nat {
            SocketAddr::new(ADDR_NAT, a.port().wrapping_add(10000))
        } else {
            a
        }
    }

    fn translate_to_a(&self, a: SocketAddr) -> Option<SocketAddr> {
        if !self.nat {
            return Some(a);
        }
        if a.ip() != ADDR_NAT {
            return None;
        }
        Some(SocketAddr::new(ADDR_A, a.port().wrapping_sub(10000)))
    }

    /// Moves transmits into the network and events into the peers' data-plane views.
    pub fn flush(&mut self) {
        for side in [Side::A, Side::B] {
            loop {
                let t = self.peer(side).ep.poll_transmit();
                let Some(t) = t else { break };
                self.route(side, t);
            }
            loop {
                let e = self.peer(side).ep.poll_event();
                let Some(e) = e else { break };
                if let Err(err) = self.peer(side).absorb(e) {
                    self.error.get_or_insert(format!("{side:?}: {err}"));
                }
            }
        }
    }

    fn route(&mut self, from: Side, t: Transmit) {
        let own = self.peer(from).addr;
        // A wildcard local address is what the OS would fill in.
        let src = if t.path.local.ip().is_unspecified() {
            SocketAddr::new(own, t.path.local.port())
        } else {
            t.path.local
        };
        let (to, recv_path) = match from {
            Side::A => {
                if t.path.remote.ip() != self.dst_ip_for_a() {
                    return;
                }
                let seen_src = self.translate_from_a(src);
                (
                    Side::B,
                    Path::new(SocketAddr::new(ADDR_B, t.path.remote.port()), seen_src),
                )
            }
            Side::B => {
                let Some(dst) = self.translate_to_a(t.path.remote) else {
                    return;
                };
                if dst.ip() != ADDR_A {
                    if !self.nat {
                        self.stray.push(t);
                    }
                    return;
                }
                (Side::A, Path::new(dst, src))
            }
        };
        let now = self.now;
        self.net.send(now, to, recv_path, t.bytes);
    }

    fn dst_ip_for_a(&self) -> IpAddr {
        ADDR_B
    }

    /// Earliest thing that will happen.
    pub fn next_event_time(&self) -> Option<Instant> {
        [
            self.net.next_delivery(),
            self.a.ep.poll_timeout(),
            self.b.ep.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Advances to the next delivery or timer and handles it. `false` when nothing is left.
    pub fn step(&mut self) -> bool {
        self.flush();
        let Some(next) = self.next_event_time() else {
            return false;
        };
        self.now = self.now.max(next);
        self.steps += 1;
        let now = self.now;
        while let Some((to, path, bytes)) = self.net.pop_due(now) {
            self.peer(to).ep.handle_datagram(now, path, &bytes);
            self.flush();
        }
        for side in [Side::A, Side::B] {
            if self.peer(side).ep.poll_timeout().is_some_and(|t| t <= now) {
                self.peer(side).ep.handle_timeout(now);
                self.flush();
            }
        }
        true
    }

    /// Steps until `until` (virtual time) or `max_steps`; `false` if the step budget ran out.
    pub fn drive_bounded(&mut self, until: Duration, max_steps: u64) -> bool {
        let deadline = self.start + until;
        let mut n = 0;
        while self.next_event_time().is_some_and(|t| t <= deadline) {
            if n >= max_steps {
                return false;
            }
            if !self.step() {
                break;
            }
            n += 1;
        }
        self.now = self.now.max(deadline);
        true
    }

    /// Steps until `pred` holds (checked after every step), time `until` passes, or the budget ends.
    pub fn drive_until(
        &mut self,
        until: Duration,
        max_steps: u64,
        mut pred: impl FnMut(&Pair) -> bool,
    ) -> bool {
        let deadline = self.start + until;
        for _ in 0..max_steps {
            self.flush();
            if pred(self) {
                return true;
            }
            match self.next_event_time() {
                Some(t) if t <= deadline => {
                    self.step();
                }
                _ => return pred(self),
            }
        }
        pred(self)
    }

    /// Lets the network drain without the fault model (for a final settle).
    pub fn heal(&mut self) {
        self.net.faults = Faults::none();
    }

    /// Both peers agree on every CHILD SA (SPIs mirrored, keys crossed,
    /// algorithms and selectors equal) and each data-plane view matches its
    /// endpoint's table.
    pub fn check_consistent(&self) -> Result<(), String> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        for (p, name) in [(&self.a, "A"), (&self.b, "B")] {
            let table: BTreeMap<u32, &ChildSaInfo> =
                p.ep.child_sas().map(|c| (c.spi_in, c)).collect();
            let t_spis: Vec<u32> = table.keys().copied().collect();
            let i_spis: Vec<u32> = p.installed.keys().copied().collect();
            if t_spis != i_spis {
                return Err(format!(
                    "{name}: events say {i_spis:x?}, table says {t_spis:x?}"
                ));
            }
        }
        let a: Vec<&ChildSaInfo> = self.a.installed.values().collect();
        let b: BTreeMap<u32, &ChildSaInfo> =
            self.b.installed.values().map(|c| (c.spi_in, c)).collect();
        if a.len() != b.len() {
            return Err(format!(
                "A has {} CHILD SAs {:x?}, B has {} {:x?}",
                a.len(),
                a.iter().map(|c| (c.spi_in, c.spi_out)).collect::<Vec<_>>(),
                b.len(),
                b.values()
                    .map(|c| (c.spi_in, c.spi_out))
                    .collect::<Vec<_>>()
            ));
        }
        for ca in a {
            let Some(cb) = b.get(&ca.spi_out) else {
                return Err(format!(
                    "A's CHILD SA in={:#x} out={:#x} has no peer on B",
                    ca.spi_in, ca.spi_out
                ));
            };
            if cb.spi_out != ca.spi_in {
                return Err(format!(
                    "SPI mismatch: A in={:#x} out={:#x}, B in={:#x} out={:#x}",
                    ca.spi_in, ca.spi_out, cb.spi_in, cb.spi_out
                ));
            }
            let (Some(ka), Some(kb)) = (self.a.keys_of(ca.spi_in), self.b.keys_of(cb.spi_in))
            else {
                return Err(format!("no keys handed out for A in={:#x}", ca.spi_in));
            };
            if ka.outbound != kb.inbound || ka.inbound != kb.outbound {
                return Err(format!("keys differ for A in={:#x}", ca.spi_in));
            }
            if ca.algorithms != cb.algorithms || ca.mode != cb.mode {
                return Err(format!("algorithms/mode differ for A in={:#x}", ca.spi_in));
            }
            if ca.ts_local != cb.ts_remote || ca.ts_remote != cb.ts_local {
                return Err(format!("selectors differ for A in={:#x}", ca.spi_in));
            }
            if ca.encap.is_some() != cb.encap.is_some() {
                return Err(format!("encapsulation differs for A in={:#x}", ca.spi_in));
            }
        }
        Ok(())
    }
}
