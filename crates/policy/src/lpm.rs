//! The outbound SA table of the route-based data plane: from a packet read
//! from the TUN device to the CHILD SA that carries it, by longest-prefix
//! match on the destination, with the protocol, port and source parts of
//! the selectors checked on the way.
//!
//! # Which SA carries a packet
//!
//! Each entry is one outbound CHILD SA with its local and remote traffic
//! selectors (TSi/TSr as negotiated, RFC 7296 §2.9). The entry can carry a
//! packet when the packet's destination, protocol and destination port
//! match one of its remote selectors, its source, protocol and source port
//! match one of its local selectors (RFC 4301 §4.4.1.1, [`FlowKey`]), and
//! the caller accepts it (the data plane passes over an SA standing by for
//! a rekey). Of those, the entry whose matching remote selector is the most
//! specific wins — RFC 4301 §4.4.1's ordered SPD reduced to a routing
//! table's order, which is what a route-based tunnel needs:
//!
//! 1. the longest prefix holding the destination. A selector's address
//!    range counts as its minimal prefix cover
//!    ([`AddrRange::to_prefixes`]); negotiated selectors are nearly always
//!    prefixes, and then this is the plain longest-prefix match of a
//!    routing table (a /24 carved out of a /16 takes its /24);
//! 2. a named protocol before ANY;
//! 3. the narrower port range (OPAQUE narrowest, ANY widest);
//! 4. the newer entry: a rekeyed SA with the same selectors takes over at
//!    once (make-before-break, RFC 7296 §2.8).
//!
//! So an SA for `203.0.113.0/24[tcp/22]` beside one for `203.0.113.0/24`
//! gets the SSH traffic whichever was installed (or rekeyed) last, and a
//! packet the narrower entry cannot carry (another port, another source)
//! falls back to a wider one rather than being dropped.
//!
//! # Layout and cost
//!
//! Per family, one level per prefix length in use, longest first; a level
//! is a sorted vector of networks, each with a bucket of candidates sorted
//! by rules 2–4. A lookup probes the levels from the longest down — a mask
//! and a binary search each — and takes the first acceptable candidate of
//! the first bucket that has one. It allocates nothing and costs
//! O(L · log n) for L distinct prefix lengths in use (at most 33 or 129, a
//! handful in practice), plus the scan of buckets, which only hold more
//! than one candidate when SAs share a prefix (a rekey's two SAs, per-port
//! SAs). A table with one SA is one level with one network.
//!
//! Inserting and removing are O(n) vector moves on the control path; entry
//! ids stay valid until their entry is removed, so a caller may keep one
//! (the data plane caches the last lookup's).

use std::cmp::Reverse;
use std::net::IpAddr;

use crate::flow::FlowKey;
use crate::prefix::IpPrefix;
use crate::ts::{IpProtocol, PortRange, TrafficSelector};

#[cfg(doc)]
use crate::ts::AddrRange;

/// Names one entry of an [`OutboundTable`] until it is removed. Ids of
/// removed entries are reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(u32);

/// An unsigned integer holding an address of one family.
trait Key: Copy + Ord + std::ops::BitAnd<Output = Self> {
    fn mask(len: u8) -> Self;
}

impl Key for u32 {
    fn mask(len: u8) -> Self {
        u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0)
    }
}

impl Key for u128 {
    fn mask(len: u8) -> Self {
        u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0)
    }
}

/// One remote selector of one entry, filed under one prefix of its cover.
#[derive(Debug, Clone, Copy)]
struct Cand {
    id: u32,
    protocol: IpProtocol,
    ports: PortRange,
    seq: u64,
}

impl Cand {
    /// Rules 2–4 of the module docs: smaller sorts first.
    fn rank(&self) -> (bool, u32, Reverse<u64>) {
        let (lo, hi) = self.ports.interval();
        (self.protocol.is_any(), hi - lo, Reverse(self.seq))
    }
}

/// Levels with at most this many networks are searched linearly.
const SHORT_LEVEL: usize = 4;

/// All prefixes of one length, sorted by network, each with its bucket.
#[derive(Debug, Clone)]
struct Level<K> {
    len: u8,
    mask: K,
    nets: Vec<K>,
    buckets: Vec<Bucket>,
}

/// The candidates under one network, sorted by rank. The first is held
/// inline: nearly every bucket has one, and the lookup then follows one
/// pointer fewer.
#[derive(Debug, Clone)]
struct Bucket {
    first: Cand,
    rest: Vec<Cand>,
}

impl Bucket {
    #[inline]
    fn find(&self, mut accept: impl FnMut(&Cand) -> bool) -> Option<&Cand> {
        if accept(&self.first) {
            return Some(&self.first);
        }
        self.rest.iter().find(|c| accept(c))
    }

    fn insert(&mut self, cand: Cand) {
        if cand.rank() < self.first.rank() {
            let old = std::mem::replace(&mut self.first, cand);
            self.rest.insert(0, old);
        } else {
            let at = self.rest.partition_point(|c| c.rank() <= cand.rank());
            self.rest.insert(at, cand);
        }
    }

    /// Drops `id`'s candidates; `false` when none is left.
    fn remove(&mut self, id: u32) -> bool {
        self.rest.retain(|c| c.id != id);
        if self.first.id == id {
            if self.rest.is_empty() {
                return false;
            }
            self.first = self.rest.remove(0);
        }
        true
    }
}

/// One family's levels, longest length first.
#[derive(Debug, Clone)]
struct Family<K> {
    levels: Vec<Level<K>>,
}

impl<K: Key> Family<K> {
    const fn new() -> Self {
        Self { levels: Vec::new() }
    }

    #[inline]
    fn find(&self, addr: K, mut accept: impl FnMut(&Cand) -> bool) -> Option<u32> {
        for l in &self.levels {
            let net = addr & l.mask;
            // A few SAs (one tunnel, a handful of sites): comparing each
            // network beats the branches of a binary search.
            let at = if l.nets.len() <= SHORT_LEVEL {
                l.nets.iter().position(|n| *n == net)
            } else {
                l.nets.binary_search(&net).ok()
            };
            if let Some(c) = at
                .and_then(|i| l.buckets.get(i))
                .and_then(|b| b.find(&mut accept))
            {
                return Some(c.id);
            }
        }
        None
    }

    fn insert(&mut self, net: K, len: u8, cand: Cand) {
        // Levels are sorted by descending length.
        let li = match self.levels.binary_search_by(|l| len.cmp(&l.len)) {
            Ok(i) => i,
            Err(i) => {
                self.levels.insert(
                    i,
                    Level {
                        len,
                        mask: K::mask(len),
                        nets: Vec::new(),
                        buckets: Vec::new(),
                    },
                );
                i
            }
        };
        let l = &mut self.levels[li];
        match l.nets.binary_search(&net) {
            Ok(i) => l.buckets[i].insert(cand),
            Err(i) => {
                l.nets.insert(i, net);
                l.buckets.insert(
                    i,
                    Bucket {
                        first: cand,
                        rest: Vec::new(),
                    },
                );
            }
        }
    }

    fn remove(&mut self, net: K, len: u8, id: u32) {
        let Ok(li) = self.levels.binary_search_by(|l| len.cmp(&l.len)) else {
            return;
        };
        let l = &mut self.levels[li];
        let Ok(i) = l.nets.binary_search(&net) else {
            return;
        };
        if !l.buckets[i].remove(id) {
            l.nets.remove(i);
            l.buckets.remove(i);
        }
        if l.nets.is_empty() {
            self.levels.remove(li);
        }
    }
}

#[derive(Debug, Clone)]
struct Slot<V> {
    local: Vec<TrafficSelector>,
    remote: Vec<TrafficSelector>,
    value: V,
}

/// Outbound CHILD SAs by their selectors, for the per-packet lookup of a
/// route-based data plane (see the module docs for the order). `V` is
/// whatever the caller keeps per SA.
#[derive(Debug, Clone)]
pub struct OutboundTable<V> {
    slots: Vec<Option<Slot<V>>>,
    free: Vec<u32>,
    v4: Family<u32>,
    v6: Family<u128>,
    next_seq: u64,
    len: usize,
}

impl<V> Default for OutboundTable<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> OutboundTable<V> {
    pub const fn new() -> Self {
        Self {
            slots: Vec::new(),
            free: Vec::new(),
            v4: Family::new(),
            v6: Family::new(),
            next_seq: 0,
            len: 0,
        }
    }

    /// Adds an SA with its local (inner sources) and remote (inner
    /// destinations) selectors. It is newer than every entry already here.
    pub fn insert(
        &mut self,
        local: Vec<TrafficSelector>,
        remote: Vec<TrafficSelector>,
        value: V,
    ) -> EntryId {
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.next_seq += 1;
        for ts in &remote {
            let cand = Cand {
                id,
                protocol: ts.ip_protocol,
                ports: ts.ports,
                seq: self.next_seq,
            };
            for p in ts.addrs.to_prefixes() {
                self.file(p, cand);
            }
        }
        if let Some(s) = self.slots.get_mut(id as usize) {
            *s = Some(Slot {
                local,
                remote,
                value,
            });
        }
        self.len += 1;
        EntryId(id)
    }

    fn file(&mut self, p: IpPrefix, cand: Cand) {
        match p.addr() {
            IpAddr::V4(a) => self.v4.insert(u32::from(a), p.prefix_len(), cand),
            IpAddr::V6(a) => self.v6.insert(u128::from(a), p.prefix_len(), cand),
        }
    }

    /// Removes an entry; returns its value.
    pub fn remove(&mut self, id: EntryId) -> Option<V> {
        let slot = self.slots.get_mut(id.0 as usize)?.take()?;
        for ts in &slot.remote {
            for p in ts.addrs.to_prefixes() {
                match p.addr() {
                    IpAddr::V4(a) => self.v4.remove(u32::from(a), p.prefix_len(), id.0),
                    IpAddr::V6(a) => self.v6.remove(u128::from(a), p.prefix_len(), id.0),
                }
            }
        }
        self.free.push(id.0);
        self.len -= 1;
        Some(slot.value)
    }

    /// Removes every entry for which `keep` says no; returns how many.
    pub fn retain(&mut self, mut keep: impl FnMut(&V) -> bool) -> usize {
        let gone: Vec<EntryId> = self
            .iter()
            .filter(|(_, v)| !keep(v))
            .map(|(id, _)| id)
            .collect();
        for id in &gone {
            self.remove(*id);
        }
        gone.len()
    }

    pub fn get(&self, id: EntryId) -> Option<&V> {
        self.slot(id).map(|s| &s.value)
    }

    pub fn get_mut(&mut self, id: EntryId) -> Option<&mut V> {
        self.slots
            .get_mut(id.0 as usize)
            .and_then(Option::as_mut)
            .map(|s| &mut s.value)
    }

    /// An entry's (local, remote) selectors.
    pub fn selectors(&self, id: EntryId) -> Option<(&[TrafficSelector], &[TrafficSelector])> {
        self.slot(id)
            .map(|s| (s.local.as_slice(), s.remote.as_slice()))
    }

    #[inline]
    fn slot(&self, id: EntryId) -> Option<&Slot<V>> {
        self.slots.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (EntryId, &V)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((EntryId(i as u32), &s.as_ref()?.value)))
    }

    /// Every entry's value, mutable (the selectors are not).
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.slots.iter_mut().flatten().map(|s| &mut s.value)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entry that carries `flow` (module docs), among those `accept`
    /// takes; `None` when no entry can.
    #[inline]
    pub fn lookup(&self, flow: &FlowKey, mut accept: impl FnMut(&V) -> bool) -> Option<EntryId> {
        let id = match flow.dst {
            IpAddr::V4(a) => self
                .v4
                .find(u32::from(a), |c| self.carries(c, flow, &mut accept)),
            IpAddr::V6(a) => self
                .v6
                .find(u128::from(a), |c| self.carries(c, flow, &mut accept)),
        }?;
        Some(EntryId(id))
    }

    /// Whether the candidate's entry carries `flow`; the destination
    /// address is already known to be inside its selector.
    // Always inlined: it is the whole per-candidate cost, and a call per
    // candidate showed up as a fifth of a one-SA lookup.
    #[inline(always)]
    fn carries(&self, c: &Cand, flow: &FlowKey, accept: &mut impl FnMut(&V) -> bool) -> bool {
        c.protocol.matches(flow.ip_protocol)
            && c.ports.matches(flow.dst_port)
            && self
                .slot(EntryId(c.id))
                .is_some_and(|s| s.local.iter().any(|t| flow.src_matches(t)) && accept(&s.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn ts(s: &str) -> Vec<TrafficSelector> {
        s.split(',').map(|t| t.parse().unwrap()).collect()
    }
    fn udp(src: &str, dst: &str, dport: u16) -> FlowKey {
        FlowKey::new(a(src), a(dst), IpProtocol::UDP, 40000, dport)
    }
    fn tcp(src: &str, dst: &str, dport: u16) -> FlowKey {
        FlowKey::new(a(src), a(dst), IpProtocol::TCP, 40000, dport)
    }

    /// The value (a name) of the entry that carries `f`.
    fn via(t: &OutboundTable<&'static str>, f: &FlowKey) -> Option<&'static str> {
        t.lookup(f, |_| true).and_then(|id| t.get(id).copied())
    }

    #[test]
    fn longest_prefix_wins_whatever_the_order() {
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let sas = [
                ("wide", "0.0.0.0/0"),
                ("site", "203.0.113.0/24"),
                ("host", "203.0.113.77/32"),
            ];
            let mut t = OutboundTable::new();
            for i in order {
                t.insert(ts("198.51.100.0/24"), ts(sas[i].1), sas[i].0);
            }
            assert_eq!(
                via(&t, &udp("198.51.100.1", "203.0.113.77", 53)),
                Some("host")
            );
            assert_eq!(
                via(&t, &udp("198.51.100.1", "203.0.113.78", 53)),
                Some("site")
            );
            assert_eq!(via(&t, &udp("198.51.100.1", "192.0.2.1", 53)), Some("wide"));
            // No entry has this source.
            assert_eq!(via(&t, &udp("192.0.2.9", "203.0.113.77", 53)), None);
            assert_eq!(via(&t, &udp("2001:db8::1", "2001:db8::2", 53)), None);
        }
    }

    #[test]
    fn protocol_and_ports_are_honoured_and_fall_back() {
        let mut t = OutboundTable::new();
        t.insert(ts("198.51.100.0/24"), ts("203.0.113.0/24[tcp/22]"), "ssh");
        t.insert(ts("198.51.100.0/24"), ts("203.0.113.0/24[udp]"), "udp");
        // Installed last, so the newest: still only what the narrower
        // selectors leave.
        t.insert(ts("198.51.100.0/24"), ts("203.0.113.0/24"), "any");
        t.insert(ts("198.51.100.0/24"), ts("203.0.113.9/32[tcp/443]"), "web9");
        let src = "198.51.100.1";
        assert_eq!(via(&t, &tcp(src, "203.0.113.5", 22)), Some("ssh"));
        assert_eq!(via(&t, &tcp(src, "203.0.113.5", 23)), Some("any"));
        assert_eq!(via(&t, &udp(src, "203.0.113.5", 22)), Some("udp"));
        // A longer prefix wins, but only for what it carries.
        assert_eq!(via(&t, &tcp(src, "203.0.113.9", 443)), Some("web9"));
        assert_eq!(via(&t, &tcp(src, "203.0.113.9", 22)), Some("ssh"));
        assert_eq!(via(&t, &tcp(src, "203.0.113.9", 80)), Some("any"));
        // No ports visible (a fragment): only ANY-port selectors match.
        let frag = FlowKey::opaque(a(src), a("203.0.113.9"), IpProtocol::TCP);
        assert_eq!(via(&t, &frag), Some("any"));
        let icmp = FlowKey::opaque(a(src), a("203.0.113.9"), IpProtocol::ICMP);
        assert_eq!(via(&t, &icmp), Some("any"));
    }

    #[test]
    fn local_selectors_and_source_ports_are_honoured() {
        let mut t = OutboundTable::new();
        t.insert(ts("198.51.100.0/25"), ts("203.0.113.0/24"), "low");
        t.insert(ts("198.51.100.128/25"), ts("203.0.113.0/24"), "high");
        t.insert(ts("198.51.100.7/32[udp/53]"), ts("203.0.113.0/24"), "dns");
        assert_eq!(via(&t, &udp("198.51.100.1", "203.0.113.1", 9)), Some("low"));
        assert_eq!(
            via(&t, &udp("198.51.100.200", "203.0.113.1", 9)),
            Some("high")
        );
        let from53 = FlowKey::new(a("198.51.100.7"), a("203.0.113.1"), IpProtocol::UDP, 53, 9);
        // All three share the remote selector: the newest that carries it.
        assert_eq!(via(&t, &from53), Some("dns"));
        assert_eq!(via(&t, &udp("198.51.100.7", "203.0.113.1", 9)), Some("low"));
    }

    #[test]
    fn newest_wins_ties_and_accept_filters() {
        let mut t = OutboundTable::new();
        let old = t.insert(ts("0.0.0.0/0"), ts("203.0.113.0/24"), "old");
        let new = t.insert(ts("0.0.0.0/0"), ts("203.0.113.0/24"), "new");
        let f = udp("198.51.100.1", "203.0.113.1", 1);
        assert_eq!(t.lookup(&f, |_| true), Some(new));
        // A caller may pass over an entry (a standby SA): the next one wins.
        assert_eq!(t.lookup(&f, |v| *v != "new"), Some(old));
        assert_eq!(t.remove(new), Some("new"));
        assert_eq!(t.remove(new), None);
        assert_eq!(t.lookup(&f, |_| true), Some(old));
        assert_eq!(t.len(), 1);
        // Ids are reused, and a reused id is a fresh (newest) entry.
        let again = t.insert(ts("0.0.0.0/0"), ts("203.0.113.0/24"), "again");
        assert_eq!(again, new);
        assert_eq!(via(&t, &f), Some("again"));
        assert_eq!(t.retain(|v| *v != "again"), 1);
        assert_eq!(via(&t, &f), Some("old"));
        assert_eq!(t.retain(|_| false), 1);
        assert!(t.is_empty());
        assert_eq!(via(&t, &f), None);
        assert!(t.v4.levels.is_empty(), "empty levels are dropped");
    }

    #[test]
    fn ranges_and_ipv6() {
        let mut t = OutboundTable::new();
        t.insert(ts("::/0"), ts("2001:db8::/32"), "v6");
        t.insert(ts("::/0"), ts("2001:db8:1::/48, 2001:db8:2::/48"), "two");
        t.insert(ts("0.0.0.0/0"), ts("203.0.113.3..203.0.113.17"), "range");
        assert_eq!(
            via(&t, &udp("2001:db8:9::1", "2001:db8:2::1", 1)),
            Some("two")
        );
        assert_eq!(
            via(&t, &udp("2001:db8:9::1", "2001:db8:3::1", 1)),
            Some("v6")
        );
        assert_eq!(via(&t, &udp("2001:db8:9::1", "2001:db9::1", 1)), None);
        for (d, want) in [
            ("203.0.113.2", None),
            ("203.0.113.3", Some("range")),
            ("203.0.113.17", Some("range")),
            ("203.0.113.18", None),
        ] {
            assert_eq!(via(&t, &udp("198.51.100.1", d, 1)), want, "{d}");
        }
        let id = t
            .lookup(&udp("198.51.100.1", "203.0.113.9", 1), |_| true)
            .unwrap();
        let (local, remote) = t.selectors(id).unwrap();
        assert_eq!((local.len(), remote.len()), (1, 1));
    }
}
