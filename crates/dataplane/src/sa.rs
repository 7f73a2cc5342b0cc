//! SAs as the data plane holds them, and the per-worker tables: outbound
//! lookup by traffic selectors in `yadokari-policy`'s [`OutboundTable`]
//! (longest prefix first, then the narrower protocol and ports, then the
//! newest: RFC 4301 §4.4.1 ordering reduced to a routing table's for a
//! route-based tunnel), inbound lookup by SPI (RFC 4303 §3.4.2).
//!
//! Each worker owns its tables outright and changes them only when a control
//! message arrives, so the per-packet path takes no lock.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::counters::SaCounters;
use crate::ip::FiveTuple;
use crate::transform::{aead_inbound, aead_outbound, AeadAlgorithm, EspDecap, EspEncap};
use crate::transport::SaMode;
use yadokari_esp::SaError;
use yadokari_policy::{EntryId, OutboundTable, TrafficSelector};

/// How ESP packets of an outbound SA reach the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EspTransport {
    /// UDP-encapsulated (RFC 3948) to the peer's NAT-T address (port 4500,
    /// or its NAT mapping), batched with GSO.
    Udp(SocketAddr),
    /// Plain ESP as IP protocol 50 (RFC 4303) to the peer's address: what
    /// IPsec uses when no NAT is in the way.
    Raw(IpAddr),
}

impl EspTransport {
    /// The peer's IP address.
    #[must_use]
    pub fn ip(&self) -> IpAddr {
        match self {
            Self::Udp(a) => a.ip(),
            Self::Raw(ip) => *ip,
        }
    }

    /// Whether the outer header is IPv6 (a v4-mapped UDP peer counts as
    /// IPv6, as the dual-stack socket sends it that way).
    #[must_use]
    pub fn is_ipv6(&self) -> bool {
        self.ip().is_ipv6()
    }

    /// Whether this is the peer `addr` names: the same UDP address, or for
    /// raw ESP the same IP (ports mean nothing there).
    #[must_use]
    pub fn matches(&self, addr: SocketAddr) -> bool {
        match self {
            Self::Udp(a) => *a == addr,
            Self::Raw(ip) => *ip == addr.ip(),
        }
    }
}

impl From<SocketAddr> for EspTransport {
    fn from(a: SocketAddr) -> Self {
        Self::Udp(a)
    }
}

impl std::fmt::Display for EspTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Udp(a) => write!(f, "udp:{a}"),
            Self::Raw(ip) => write!(f, "esp:{ip}"),
        }
    }
}

/// Outbound half of a CHILD SA.
pub struct OutboundSa {
    /// SPI the peer chose (written into each packet).
    pub spi: u32,
    /// Inbound SPI of the pair this SA belongs to: the key manager's name
    /// for the pair (RFC 7296 §2.8 rekeys it by that SPI), so
    /// [`crate::Event::RekeyNeeded`] and [`crate::Event::SequenceExhausted`]
    /// carry it and the daemon looks nothing up.
    pub spi_in: u32,
    /// Where and how its packets go: UDP to the peer's NAT-T address, or
    /// raw ESP to the peer's IP.
    pub peer: EspTransport,
    /// Our side's selectors (`TSi` when we initiated): inner sources.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's side: inner destinations.
    pub remote_ts: Vec<TrafficSelector>,
    /// Tunnel or transport mode (RFC 4303 §3.1); the transform must have
    /// been built for the same mode.
    pub mode: SaMode,
    /// The sealing transform.
    pub encap: Box<dyn EspEncap>,
    /// Installed but not yet used: see [`Standby`].
    pub standby: Option<Standby>,
}

/// An outbound SA that waits before it takes traffic over from the SA it
/// replaces.
///
/// The responder of a CHILD SA rekey (RFC 7296 §2.8) installs both new
/// halves when it sends its answer, but cannot know when the initiator has
/// installed the matching inbound SA: sending on the new SA at once loses
/// whatever arrives before that. So the new outbound SA stands by, and the
/// old one keeps sealing, until the peer shows it is ready — its first
/// authenticated packet on the new inbound SA (the `ready` flag, set by the
/// inbound worker) — or deletes the old SA (its removal from the table).
#[derive(Debug, Clone)]
pub struct Standby {
    /// Outbound SPI of the SA being replaced.
    pub replaces: u32,
    /// Set once the paired inbound SA has opened a packet.
    pub ready: Arc<AtomicBool>,
}

impl std::fmt::Debug for OutboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:08x}", self.spi))
            .field("spi_in", &format_args!("{:08x}", self.spi_in))
            .field("peer", &self.peer)
            .field("local_ts", &self.local_ts)
            .field("remote_ts", &self.remote_ts)
            .field("mode", &self.mode)
            .field("standby", &self.standby)
            .finish_non_exhaustive()
    }
}

/// Inbound half of a CHILD SA.
pub struct InboundSa {
    /// SPI we chose.
    pub spi: u32,
    /// Our side's selectors: inner destinations must match.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's side: inner sources must match.
    pub remote_ts: Vec<TrafficSelector>,
    /// Tunnel or transport mode (RFC 4303 §3.1).
    pub mode: SaMode,
    /// The opening transform (with its replay window).
    pub decap: Box<dyn EspDecap>,
    /// Raised on the first packet this SA opens: releases the outbound SA
    /// that stands by for it (see [`Standby`]).
    pub activates: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for InboundSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:08x}", self.spi))
            .field("local_ts", &self.local_ts)
            .field("remote_ts", &self.remote_ts)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// A manually keyed SA pair (static set-ups, tests, interop before IKE).
/// Keys are key ‖ 4-byte salt, as KEYMAT would deliver them.
#[derive(Clone)]
pub struct ManualSa {
    /// SPI of the inbound SA (the peer's `spi_out`).
    pub spi_in: u32,
    /// SPI of the outbound SA (the peer's `spi_in`).
    pub spi_out: u32,
    /// AEAD transform of both directions.
    pub algorithm: AeadAlgorithm,
    /// Inbound key material.
    pub key_in: Zeroizing<Vec<u8>>,
    /// Outbound key material.
    pub key_out: Zeroizing<Vec<u8>>,
    /// Peer's UDP-encapsulation address.
    pub peer: SocketAddr,
    /// Our selectors.
    pub local_ts: Vec<TrafficSelector>,
    /// The peer's selectors.
    pub remote_ts: Vec<TrafficSelector>,
}

impl std::fmt::Debug for ManualSa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys are never printed.
        f.debug_struct("ManualSa")
            .field("spi_in", &format_args!("{:08x}", self.spi_in))
            .field("spi_out", &format_args!("{:08x}", self.spi_out))
            .field("algorithm", &self.algorithm)
            .field("peer", &self.peer)
            .field("local_ts", &self.local_ts)
            .field("remote_ts", &self.remote_ts)
            .finish_non_exhaustive()
    }
}

impl ManualSa {
    /// The mirror image for the peer: SPIs, keys and selectors swapped.
    #[must_use]
    pub fn mirrored(&self, our_addr: SocketAddr) -> Self {
        Self {
            spi_in: self.spi_out,
            spi_out: self.spi_in,
            algorithm: self.algorithm,
            key_in: self.key_out.clone(),
            key_out: self.key_in.clone(),
            peer: our_addr,
            local_ts: self.remote_ts.clone(),
            remote_ts: self.local_ts.clone(),
        }
    }

    /// Builds both halves.
    pub fn build(&self) -> Result<(InboundSa, OutboundSa), SaError> {
        let decap = aead_inbound(self.algorithm, self.spi_in, &self.key_in)?;
        let encap = aead_outbound(self.algorithm, self.spi_out, &self.key_out)?;
        Ok((
            InboundSa {
                spi: self.spi_in,
                local_ts: self.local_ts.clone(),
                remote_ts: self.remote_ts.clone(),
                mode: SaMode::Tunnel,
                decap: Box::new(decap),
                activates: None,
            },
            OutboundSa {
                spi: self.spi_out,
                spi_in: self.spi_in,
                peer: EspTransport::Udp(self.peer),
                local_ts: self.local_ts.clone(),
                remote_ts: self.remote_ts.clone(),
                mode: SaMode::Tunnel,
                encap: Box::new(encap),
                standby: None,
            },
        ))
    }
}

/// Largest inner packet an SA can carry inside `path_mtu` bytes of outer IP.
#[must_use]
pub fn max_inner_len(encap: &dyn EspEncap, path_mtu: u16, outer_v6: bool) -> u16 {
    let outer_hdr = if outer_v6 { 40 } else { 20 } + 8;
    let mut l = usize::from(path_mtu).saturating_sub(outer_hdr + encap.header_len() + 2 + 16);
    while l > 0 && outer_hdr + encap.header_len() + l + encap.trailer_len(l) > usize::from(path_mtu)
    {
        l -= 1;
    }
    l.min(usize::from(u16::MAX)) as u16
}

/// The TUN MTU for AEAD SAs (16-byte header+IV, 16-byte ICV) over a path
/// of `path_mtu`: 1438 for IPv4 and 1418 for IPv6 outer headers at 1500.
#[must_use]
pub fn tunnel_mtu(path_mtu: u16, outer_v6: bool) -> u16 {
    let probe = aead_outbound(AeadAlgorithm::AesGcm128, 1, &[0u8; 20]);
    match probe {
        Ok(p) => max_inner_len(&p, path_mtu, outer_v6),
        Err(_) => path_mtu.saturating_sub(if outer_v6 { 82 } else { 62 }),
    }
}

pub(crate) struct OutEntry {
    pub sa: OutboundSa,
    pub counters: Arc<SaCounters>,
    pub max_inner: usize,
    /// `Event::RekeyNeeded` already raised for this SA.
    pub rekey_signalled: bool,
}

/// Outbound table of one worker: `yadokari-policy`'s [`OutboundTable`],
/// which picks the SA by longest-prefix match on the destination with the
/// protocol, port and source selectors honoured (most specific first, the
/// newest of equals), plus what only the data plane knows — which SAs stand
/// by, and the last lookup.
#[derive(Default)]
pub(crate) struct OutTable {
    table: OutboundTable<OutEntry>,
    /// Last (src, dst) looked up and the entry it found: segments of one
    /// super-packet share it, so most lookups are one comparison.
    cache: Option<(FiveTuple, EntryId)>,
    /// Entries standing by (see [`Standby`]): only while this is non-zero
    /// does a lookup look at their flags, so the usual path pays nothing.
    standing_by: usize,
}

impl OutTable {
    pub fn install(&mut self, sa: OutboundSa, counters: Arc<SaCounters>, path_mtu: u16) {
        let max_inner = usize::from(max_inner_len(
            sa.encap.as_ref(),
            path_mtu,
            sa.peer.is_ipv6(),
        ));
        // Same SPI and peer replaces (re-install); otherwise both coexist and
        // the newer wins ties, which is the make-before-break of a rekey.
        self.table
            .retain(|e| !(e.sa.spi == sa.spi && e.sa.peer == sa.peer));
        // A standby for an SA that is not (or no longer) here has nothing to
        // wait for.
        let mut sa = sa;
        if let Some(s) = &sa.standby {
            if !self.table.iter().any(|(_, e)| e.sa.spi == s.replaces) {
                sa.standby = None;
            }
        }
        let (local, remote) = (sa.local_ts.clone(), sa.remote_ts.clone());
        self.table.insert(
            local,
            remote,
            OutEntry {
                sa,
                counters,
                max_inner,
                rekey_signalled: false,
            },
        );
        self.recount();
        self.cache = None;
    }

    pub fn remove(&mut self, spi: u32, peer: Option<SocketAddr>) -> bool {
        let removed = self
            .table
            .retain(|e| !(e.sa.spi == spi && peer.is_none_or(|p| e.sa.peer.matches(p))));
        // The replaced SA is gone (the peer deleted it, or it expired): its
        // successor takes over now whether or not the peer has used it yet.
        for e in self.table.values_mut() {
            if e.sa.standby.as_ref().is_some_and(|s| s.replaces == spi) {
                e.sa.standby = None;
            }
        }
        self.recount();
        self.cache = None;
        removed != 0
    }

    fn recount(&mut self) {
        self.standing_by = self
            .table
            .iter()
            .filter(|(_, e)| e.sa.standby.is_some())
            .count();
    }

    /// Releases the standing-by entries whose peer has shown it is ready.
    fn release_ready(&mut self) {
        let mut released = false;
        for e in self.table.values_mut() {
            if e.sa
                .standby
                .as_ref()
                .is_some_and(|s| s.ready.load(Ordering::Acquire))
            {
                e.sa.standby = None;
                released = true;
            }
        }
        if released {
            self.recount();
            self.cache = None;
        }
    }

    pub fn update_peer(&mut self, old: SocketAddr, new: SocketAddr) {
        // Only UDP peers move: a NAT mapping or MOBIKE change names a UDP
        // address; raw ESP follows re-installation instead.
        for e in self.table.values_mut() {
            if e.sa.peer == EspTransport::Udp(old) {
                e.sa.peer = EspTransport::Udp(new);
            }
        }
    }

    /// The SA that carries a packet with this 5-tuple; `None` when none
    /// may (the caller drops, counts and asks for one).
    pub fn lookup(&mut self, t: &FiveTuple) -> Option<EntryId> {
        if self.standing_by != 0 {
            self.release_ready();
        }
        if let Some((ct, id)) = &self.cache {
            if ct == t {
                return Some(*id);
            }
        }
        let id = self.table.lookup(&t.flow(), |e| e.sa.standby.is_none())?;
        self.cache = Some((*t, id));
        Some(id)
    }

    pub fn get_mut(&mut self, id: EntryId) -> Option<&mut OutEntry> {
        self.table.get_mut(id)
    }

    #[cfg(test)]
    pub fn get(&self, id: EntryId) -> Option<&OutEntry> {
        self.table.get(id)
    }

    /// UDP peers (NAT keepalives go to these only: raw ESP has no NAT).
    pub fn peers(&self) -> Vec<SocketAddr> {
        let mut v: Vec<SocketAddr> = self
            .table
            .iter()
            .filter_map(|(_, e)| match e.sa.peer {
                EspTransport::Udp(a) => Some(a),
                EspTransport::Raw(_) => None,
            })
            .collect();
        v.sort();
        v.dedup();
        v
    }
}

pub(crate) struct InEntry {
    pub sa: InboundSa,
    pub counters: Arc<SaCounters>,
    /// When [`crate::Event::Traffic`] last went out for this SA.
    pub last_reported: Option<std::time::Instant>,
}

/// Inbound table of one worker: SPI → SA.
#[derive(Default)]
pub(crate) struct InTable {
    pub map: HashMap<u32, InEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(spi: u32, remote: &str, len: u8) -> OutboundSa {
        OutboundSa {
            spi,
            spi_in: spi ^ 1,
            peer: EspTransport::Udp("192.0.2.2:4500".parse().expect("addr")),
            local_ts: vec!["0.0.0.0/0".parse().expect("ts")],
            remote_ts: vec![format!("{remote}/{len}").parse().expect("ts")],
            mode: SaMode::Tunnel,
            encap: Box::new(aead_outbound(AeadAlgorithm::AesGcm128, spi, &[7u8; 20]).expect("key")),
            standby: None,
        }
    }

    fn spi_for(t: &mut OutTable, dst: &str) -> u32 {
        let i = t.lookup(&tuple(dst)).expect("hit");
        t.get(i).expect("e").sa.spi
    }

    #[test]
    fn a_standby_sa_waits_for_the_peers_first_packet() {
        let mut t = OutTable::default();
        t.install(out(1, "203.0.113.0", 24), Arc::default(), 1500);
        let ready = Arc::new(AtomicBool::new(false));
        let mut new = out(2, "203.0.113.0", 24);
        new.standby = Some(Standby {
            replaces: 1,
            ready: ready.clone(),
        });
        t.install(new, Arc::default(), 1500);
        // Newer and as narrow, but the peer may not have its inbound half
        // yet: the old SA keeps sealing.
        assert_eq!(spi_for(&mut t, "203.0.113.5"), 1);
        assert_eq!(spi_for(&mut t, "203.0.113.5"), 1);
        ready.store(true, Ordering::Release);
        assert_eq!(spi_for(&mut t, "203.0.113.5"), 2);
    }

    #[test]
    fn a_standby_sa_takes_over_when_the_old_one_goes() {
        let mut t = OutTable::default();
        t.install(out(1, "203.0.113.0", 24), Arc::default(), 1500);
        let mut new = out(2, "203.0.113.0", 24);
        new.standby = Some(Standby {
            replaces: 1,
            ready: Arc::default(),
        });
        t.install(new, Arc::default(), 1500);
        assert_eq!(spi_for(&mut t, "203.0.113.5"), 1);
        assert!(t.remove(1, None));
        assert_eq!(spi_for(&mut t, "203.0.113.5"), 2);
        // Standing by for an SA that is not installed means nothing.
        let mut orphan = out(3, "198.51.100.0", 24);
        orphan.standby = Some(Standby {
            replaces: 99,
            ready: Arc::default(),
        });
        t.install(orphan, Arc::default(), 1500);
        assert_eq!(spi_for(&mut t, "198.51.100.7"), 3);
    }

    fn tuple(dst: &str) -> FiveTuple {
        FiveTuple {
            src: "198.51.100.1".parse().expect("a"),
            dst: dst.parse().expect("a"),
            protocol: 1,
            src_port: None,
            dst_port: None,
            l4_offset: 20,
        }
    }

    #[test]
    fn narrowest_then_newest_wins() {
        let mut t = OutTable::default();
        t.install(out(1, "203.0.113.0", 24), Arc::default(), 1500);
        t.install(out(2, "203.0.113.128", 25), Arc::default(), 1500);
        let i = t.lookup(&tuple("203.0.113.200")).expect("hit");
        assert_eq!(t.get(i).expect("e").sa.spi, 2);
        let i = t.lookup(&tuple("203.0.113.5")).expect("hit");
        assert_eq!(t.get(i).expect("e").sa.spi, 1);
        // Rekey: a new SA with the same selectors takes over at once.
        t.install(out(3, "203.0.113.0", 24), Arc::default(), 1500);
        let i = t.lookup(&tuple("203.0.113.5")).expect("hit");
        assert_eq!(t.get(i).expect("e").sa.spi, 3);
        assert!(t.remove(1, None));
        assert!(t.lookup(&tuple("198.51.100.9")).is_none());
    }

    fn out_ts(spi: u32, remote: &str) -> OutboundSa {
        let mut sa = out(spi, "0.0.0.0", 0);
        sa.remote_ts = vec![remote.parse().expect("ts")];
        sa
    }

    fn flow(protocol: u8, dst: &str, dst_port: Option<u16>) -> FiveTuple {
        FiveTuple {
            protocol,
            src_port: dst_port.map(|_| 40000),
            dst_port,
            ..tuple(dst)
        }
    }

    #[test]
    fn the_most_specific_sa_wins_with_protocol_and_ports_honoured() {
        let mut t = OutTable::default();
        t.install(out_ts(1, "203.0.113.0/24"), Arc::default(), 1500);
        t.install(out_ts(2, "203.0.113.0/24[tcp/22]"), Arc::default(), 1500);
        t.install(out_ts(3, "203.0.113.128/25"), Arc::default(), 1500);
        // SA 1 rekeyed: newer than the SSH SA, but no more specific, so it
        // takes over SA 1's traffic only.
        t.install(out_ts(4, "203.0.113.0/24"), Arc::default(), 1500);
        let spi = |t: &mut OutTable, f: FiveTuple| {
            let i = t.lookup(&f).expect("hit");
            t.get(i).expect("e").sa.spi
        };
        assert_eq!(spi(&mut t, flow(6, "203.0.113.5", Some(22))), 2);
        assert_eq!(spi(&mut t, flow(6, "203.0.113.5", Some(80))), 4);
        assert_eq!(spi(&mut t, flow(17, "203.0.113.5", Some(22))), 4);
        // A fragment's ports are unknown: not for a port selector.
        assert_eq!(spi(&mut t, flow(6, "203.0.113.5", None)), 4);
        // The longer prefix wins over the port-specific /24.
        assert_eq!(spi(&mut t, flow(6, "203.0.113.200", Some(22))), 3);
        assert!(t.remove(3, None));
        assert_eq!(spi(&mut t, flow(6, "203.0.113.200", Some(22))), 2);
        assert!(t.remove(2, None));
        assert_eq!(spi(&mut t, flow(6, "203.0.113.200", Some(22))), 4);
        // Nothing for other destinations: the caller drops and acquires.
        assert!(t.lookup(&flow(6, "192.0.2.7", Some(22))).is_none());
    }

    #[test]
    fn a_port_only_sa_leaves_other_traffic_without_an_sa() {
        let mut t = OutTable::default();
        t.install(out_ts(7, "203.0.113.0/24[udp/53]"), Arc::default(), 1500);
        assert!(t.lookup(&flow(17, "203.0.113.9", Some(53))).is_some());
        // Fail closed: what the selectors do not cover finds no SA.
        assert!(t.lookup(&flow(17, "203.0.113.9", Some(54))).is_none());
        assert!(t.lookup(&flow(6, "203.0.113.9", Some(53))).is_none());
        assert!(t.lookup(&flow(1, "203.0.113.9", None)).is_none());
    }

    #[test]
    fn thousands_of_sas() {
        // A hub: one SA per /48 spoke and a default SA beneath them.
        let mut t = OutTable::default();
        let v6 = |spi: u32, remote: &str| {
            let mut sa = out_ts(spi, remote);
            sa.local_ts = vec!["2001:db8::/48".parse().expect("ts")];
            sa
        };
        for i in 1..=2000u32 {
            t.install(
                v6(0x100 + i, &format!("2001:db8:{i:x}::/48")),
                Arc::default(),
                1500,
            );
        }
        t.install(v6(1, "::/0"), Arc::default(), 1500);
        let to = |dst: String| {
            FiveTuple {
                src: "2001:db8::1".parse().expect("a"),
                ..flow(17, "2001:db8::2", Some(1))
            }
            .with_dst(&dst)
        };
        for i in [1u32, 2, 999, 2000] {
            let id = t.lookup(&to(format!("2001:db8:{i:x}::77"))).expect("hit");
            assert_eq!(t.get(id).expect("e").sa.spi, 0x100 + i);
        }
        let id = t.lookup(&to("2001:db8:ffff::1".into())).expect("hit");
        assert_eq!(t.get(id).expect("e").sa.spi, 1);
    }

    impl FiveTuple {
        fn with_dst(self, dst: &str) -> Self {
            Self {
                dst: dst.parse().expect("a"),
                ..self
            }
        }
    }

    #[test]
    fn mtu_numbers() {
        assert_eq!(tunnel_mtu(1500, false), 1438);
        assert_eq!(tunnel_mtu(1500, true), 1418);
    }
}
