//! Longest-prefix-match table from destination address to outbound CHILD SA
//! handle, for the route-based data plane.
//!
//! A packet read from the TUN device is sent on the SA whose remote traffic
//! selector holds its destination; where selectors nest (a /16 on one SA, a
//! /24 carved out of it on another) the most specific wins, as in a routing
//! table. Negotiated selectors are ranges (RFC 7296 §3.13.1), so
//! [`LpmTable::insert_range`] splits them into prefixes first.
//!
//! Layout: per family, one sorted table of networks for each prefix length
//! in use, probed from the longest length down. A lookup is a mask and a
//! binary search per populated length, with no allocation and no pointer
//! chasing; SA tables hold few distinct lengths, so this beats a bit-trie on
//! the hot path. Writes are O(n) vector inserts — they happen on the control
//! plane, and the data plane is expected to swap in a rebuilt table (e.g.
//! through `arc-swap`) rather than write in place.
//!
//! Protocol and port parts of a selector are not consulted here; a data
//! plane that needs them checks the SA's full selector after the lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::prefix::{from_raw, IpPrefix};
use crate::set::TsSet;
use crate::ts::AddrRange;

/// An unsigned integer holding an address of one family.
trait Key: Copy + Ord + std::ops::BitAnd<Output = Self> {
    fn mask(len: u8) -> Self;
    fn to_u128(self) -> u128;
    /// Narrows a value known to fit the family.
    fn from_wide(v: u128) -> Self;
    /// The largest address of the family, widened.
    fn full() -> u128;
}

impl Key for u32 {
    fn mask(len: u8) -> Self {
        u32::MAX.checked_shl(u32::from(32 - len)).unwrap_or(0)
    }
    fn to_u128(self) -> u128 {
        u128::from(self)
    }
    fn from_wide(v: u128) -> Self {
        v as u32
    }
    fn full() -> u128 {
        u128::from(u32::MAX)
    }
}

impl Key for u128 {
    fn mask(len: u8) -> Self {
        u128::MAX.checked_shl(u32::from(128 - len)).unwrap_or(0)
    }
    fn to_u128(self) -> u128 {
        self
    }
    fn from_wide(v: u128) -> Self {
        v
    }
    fn full() -> u128 {
        u128::MAX
    }
}

/// All prefixes of one length, sorted by network.
#[derive(Debug, Clone)]
struct Level<K, T> {
    len: u8,
    mask: K,
    nets: Vec<K>,
    vals: Vec<T>,
}

/// One family's levels, longest length first.
#[derive(Debug, Clone)]
struct Family<K, T> {
    levels: Vec<Level<K, T>>,
}

impl<K: Key, T: Copy + PartialEq> Family<K, T> {
    const fn new() -> Self {
        Self { levels: Vec::new() }
    }

    #[inline]
    fn lookup(&self, addr: K) -> Option<T> {
        for l in &self.levels {
            let net = addr & l.mask;
            if let Ok(i) = l.nets.binary_search(&net) {
                return l.vals.get(i).copied();
            }
        }
        None
    }

    fn lookup_prefix(&self, addr: K) -> Option<(u8, K, T)> {
        for l in &self.levels {
            let net = addr & l.mask;
            if let Ok(i) = l.nets.binary_search(&net) {
                return l.vals.get(i).map(|v| (l.len, net, *v));
            }
        }
        None
    }

    fn level_index(&self, len: u8) -> Result<usize, usize> {
        // Levels are sorted by descending length.
        self.levels.binary_search_by(|l| len.cmp(&l.len))
    }

    fn insert(&mut self, net: K, len: u8, val: T) -> Option<T> {
        let li = match self.level_index(len) {
            Ok(i) => i,
            Err(i) => {
                self.levels.insert(
                    i,
                    Level {
                        len,
                        mask: K::mask(len),
                        nets: Vec::new(),
                        vals: Vec::new(),
                    },
                );
                i
            }
        };
        let l = &mut self.levels[li];
        match l.nets.binary_search(&net) {
            Ok(i) => Some(std::mem::replace(&mut l.vals[i], val)),
            Err(i) => {
                l.nets.insert(i, net);
                l.vals.insert(i, val);
                None
            }
        }
    }

    fn get(&self, net: K, len: u8) -> Option<T> {
        let l = &self.levels[self.level_index(len).ok()?];
        l.vals.get(l.nets.binary_search(&net).ok()?).copied()
    }

    fn remove(&mut self, net: K, len: u8) -> Option<T> {
        let li = self.level_index(len).ok()?;
        let l = &mut self.levels[li];
        let i = l.nets.binary_search(&net).ok()?;
        l.nets.remove(i);
        let v = l.vals.remove(i);
        if l.nets.is_empty() {
            self.levels.remove(li);
        }
        Some(v)
    }

    fn retain(&mut self, mut keep: impl FnMut(&mut T) -> bool) -> usize {
        let mut dropped = 0;
        for l in &mut self.levels {
            let mut i = 0;
            while i < l.nets.len() {
                if keep(&mut l.vals[i]) {
                    i += 1;
                } else {
                    l.nets.remove(i);
                    l.vals.remove(i);
                    dropped += 1;
                }
            }
        }
        self.levels.retain(|l| !l.nets.is_empty());
        dropped
    }

    fn len(&self) -> usize {
        self.levels.iter().map(|l| l.nets.len()).sum()
    }

    fn iter(&self, v6: bool) -> impl Iterator<Item = (IpPrefix, T)> + '_ {
        self.levels.iter().flat_map(move |l| {
            l.nets.iter().zip(&l.vals).map(move |(n, v)| {
                (
                    IpPrefix::new(from_raw(v6, n.to_u128()), l.len)
                        .unwrap_or_else(|_| IpPrefix::host(from_raw(v6, n.to_u128()))),
                    *v,
                )
            })
        })
    }
}

/// Longest-prefix-match table over IPv4 and IPv6 prefixes, mapping to an SA
/// handle `T` (an index or id chosen by the data plane).
///
/// One prefix maps to one handle: inserting a prefix already present
/// replaces its handle and returns the old one. During a rekey the new SA
/// takes over with [`LpmTable::replace_handle`].
#[derive(Debug, Clone)]
pub struct LpmTable<T> {
    v4: Family<u32, T>,
    v6: Family<u128, T>,
}

/// The outbound SA table of the route-based data plane.
pub type OutboundSaTable<T> = LpmTable<T>;

impl<T: Copy + PartialEq> Default for LpmTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + PartialEq> LpmTable<T> {
    pub const fn new() -> Self {
        Self {
            v4: Family::new(),
            v6: Family::new(),
        }
    }

    /// Inserts one prefix; returns the handle it replaced.
    pub fn insert(&mut self, prefix: IpPrefix, handle: T) -> Option<T> {
        match prefix.addr() {
            IpAddr::V4(a) => self.v4.insert(u32::from(a), prefix.prefix_len(), handle),
            IpAddr::V6(a) => self.v6.insert(u128::from(a), prefix.prefix_len(), handle),
        }
    }

    /// Inserts the minimal prefix cover of an address range; returns the
    /// number of prefixes inserted (replacing any equal ones).
    pub fn insert_range(&mut self, range: &AddrRange, handle: T) -> usize {
        let prefixes = range.to_prefixes();
        for p in &prefixes {
            self.insert(*p, handle);
        }
        prefixes.len()
    }

    /// Inserts the address ranges of every selector of a CHILD SA's remote
    /// traffic selectors (its TSr as initiator, TSi as responder).
    pub fn insert_ts_set(&mut self, remote_ts: &TsSet, handle: T) -> usize {
        remote_ts
            .iter()
            .map(|t| self.insert_range(&t.addrs, handle))
            .sum()
    }

    /// Removes one exact prefix; returns its handle.
    pub fn remove(&mut self, prefix: IpPrefix) -> Option<T> {
        match prefix.addr() {
            IpAddr::V4(a) => self.v4.remove(u32::from(a), prefix.prefix_len()),
            IpAddr::V6(a) => self.v6.remove(u128::from(a), prefix.prefix_len()),
        }
    }

    /// Removes every prefix pointing at `handle`; returns how many.
    pub fn remove_handle(&mut self, handle: T) -> usize {
        self.v4.retain(|v| *v != handle) + self.v6.retain(|v| *v != handle)
    }

    /// Points every prefix of `old` at `new` (rekey); returns how many.
    pub fn replace_handle(&mut self, old: T, new: T) -> usize {
        let mut n = 0;
        let mut swap = |v: &mut T| {
            if *v == old {
                *v = new;
                n += 1;
            }
            true
        };
        self.v4.retain(&mut swap);
        self.v6.retain(&mut swap);
        n
    }

    /// The handle stored for exactly this prefix.
    pub fn get(&self, prefix: IpPrefix) -> Option<T> {
        match prefix.addr() {
            IpAddr::V4(a) => self.v4.get(u32::from(a), prefix.prefix_len()),
            IpAddr::V6(a) => self.v6.get(u128::from(a), prefix.prefix_len()),
        }
    }

    /// Longest-prefix match.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Option<T> {
        match addr {
            IpAddr::V4(a) => self.lookup_v4(a),
            IpAddr::V6(a) => self.lookup_v6(a),
        }
    }

    #[inline]
    pub fn lookup_v4(&self, addr: Ipv4Addr) -> Option<T> {
        self.v4.lookup(u32::from(addr))
    }

    #[inline]
    pub fn lookup_v6(&self, addr: Ipv6Addr) -> Option<T> {
        self.v6.lookup(u128::from(addr))
    }

    /// Longest-prefix match that also says which prefix matched.
    pub fn lookup_prefix(&self, addr: IpAddr) -> Option<(IpPrefix, T)> {
        let (v6, len, net, val) = match addr {
            IpAddr::V4(a) => {
                let (l, n, v) = self.v4.lookup_prefix(u32::from(a))?;
                (false, l, n.to_u128(), v)
            }
            IpAddr::V6(a) => {
                let (l, n, v) = self.v6.lookup_prefix(u128::from(a))?;
                (true, l, n, v)
            }
        };
        let p = IpPrefix::new(from_raw(v6, net), len).ok()?;
        Some((p, val))
    }

    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.v4.levels.clear();
        self.v6.levels.clear();
    }

    /// All entries, IPv4 first, longest prefixes first within a family.
    pub fn iter(&self) -> impl Iterator<Item = (IpPrefix, T)> + '_ {
        self.v4.iter(false).chain(self.v6.iter(true))
    }

    /// Flattens the table into a read-only [`CompiledLpm`] whose lookup is
    /// one binary search. Build it on the control plane after a batch of
    /// changes and hand it to the data plane workers.
    pub fn compile(&self) -> CompiledLpm<T> {
        CompiledLpm {
            v4: self.v4.flatten(),
            v6: self.v6.flatten(),
        }
    }
}

impl<K: Key, T: Copy + PartialEq> Family<K, T> {
    /// Elementary intervals of this family: each start address paired with
    /// the handle of the longest prefix covering it, up to the next start.
    ///
    /// Prefixes either nest or are disjoint, so a sweep in address order
    /// with a stack of open prefixes (outermost at the bottom) assigns every
    /// address to its innermost open prefix.
    fn flatten(&self) -> Flat<K, T> {
        // (first, last, handle), outer prefixes before inner ones at a tie.
        let mut spans: Vec<(u128, u128, u8, T)> = Vec::with_capacity(self.len());
        for l in &self.levels {
            let host = !l.mask.to_u128() & K::full();
            for (n, v) in l.nets.iter().zip(&l.vals) {
                let lo = n.to_u128();
                spans.push((lo, lo | host, l.len, *v));
            }
        }
        spans.sort_unstable_by_key(|&(lo, _, len, _)| (lo, len));

        let mut flat = Flat {
            starts: Vec::new(),
            vals: Vec::new(),
        };
        let mut emit = |start: u128, val: Option<T>| {
            if flat.vals.last() != Some(&val) {
                flat.starts.push(K::from_wide(start));
                flat.vals.push(val);
            }
        };
        let mut open: Vec<(u128, T)> = Vec::new();
        // `None` once the sweep has passed the last address of the family.
        let mut cur: Option<u128> = Some(0);
        for &(lo, hi, _, v) in &spans {
            while let Some(&(top_hi, top_v)) = open.last() {
                if top_hi >= lo {
                    break;
                }
                if let Some(c) = cur {
                    if c <= top_hi {
                        emit(c, Some(top_v));
                        cur = top_hi.checked_add(1);
                    }
                }
                open.pop();
            }
            if let Some(c) = cur {
                if c < lo {
                    emit(c, open.last().map(|o| o.1));
                }
            }
            cur = Some(lo);
            open.push((hi, v));
        }
        while let Some((top_hi, top_v)) = open.pop() {
            if let Some(c) = cur {
                if c <= top_hi {
                    emit(c, Some(top_v));
                    cur = top_hi.checked_add(1);
                }
            }
        }
        if let Some(c) = cur {
            if c <= K::full() {
                emit(c, None);
            }
        }
        flat
    }
}

/// One family of a [`CompiledLpm`]: sorted interval starts (the first is 0)
/// and the handle for each interval.
#[derive(Debug, Clone)]
struct Flat<K, T> {
    starts: Vec<K>,
    vals: Vec<Option<T>>,
}

impl<K: Key, T: Copy> Flat<K, T> {
    #[inline]
    fn lookup(&self, addr: K) -> Option<T> {
        let i = self.starts.partition_point(|s| *s <= addr);
        // The first start is 0, so `i >= 1` whenever the table is non-empty.
        self.vals.get(i.checked_sub(1)?).copied().flatten()
    }
}

/// A read-only longest-prefix table built by [`LpmTable::compile`]: every
/// lookup is a single binary search over disjoint intervals, with no
/// per-length loop, so a miss costs the same as a hit. Meant to be
/// published to data-plane workers (e.g. behind `arc-swap`) and replaced
/// wholesale when the SA set changes.
#[derive(Debug, Clone)]
pub struct CompiledLpm<T> {
    v4: Flat<u32, T>,
    v6: Flat<u128, T>,
}

impl<T: Copy + PartialEq> Default for CompiledLpm<T> {
    fn default() -> Self {
        LpmTable::new().compile()
    }
}

impl<T: Copy> CompiledLpm<T> {
    /// Longest-prefix match.
    #[inline]
    pub fn lookup(&self, addr: IpAddr) -> Option<T> {
        match addr {
            IpAddr::V4(a) => self.lookup_v4(a),
            IpAddr::V6(a) => self.lookup_v6(a),
        }
    }

    #[inline]
    pub fn lookup_v4(&self, addr: Ipv4Addr) -> Option<T> {
        self.v4.lookup(u32::from(addr))
    }

    #[inline]
    pub fn lookup_v6(&self, addr: Ipv6Addr) -> Option<T> {
        self.v6.lookup(u128::from(addr))
    }

    /// Number of elementary intervals (memory footprint indicator).
    pub fn intervals(&self) -> usize {
        self.v4.starts.len() + self.v6.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpPrefix {
        s.parse().unwrap()
    }
    fn a(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn masks() {
        assert_eq!(<u32 as Key>::mask(0), 0);
        assert_eq!(<u32 as Key>::mask(24), 0xffff_ff00);
        assert_eq!(<u32 as Key>::mask(32), u32::MAX);
        assert_eq!(<u128 as Key>::mask(128), u128::MAX);
        assert_eq!(<u128 as Key>::mask(1), 1u128 << 127);
    }

    #[test]
    fn longest_match_wins() {
        let mut t = LpmTable::new();
        assert_eq!(t.insert(p("198.51.100.0/24"), 1u32), None);
        assert_eq!(t.insert(p("198.51.100.128/25"), 2), None);
        assert_eq!(t.insert(p("198.51.100.200/32"), 3), None);
        assert_eq!(t.insert(p("0.0.0.0/0"), 4), None);
        assert_eq!(t.insert(p("2001:db8::/32"), 5), None);
        assert_eq!(t.insert(p("2001:db8:1::/48"), 6), None);
        assert_eq!(t.lookup(a("198.51.100.1")), Some(1));
        assert_eq!(t.lookup(a("198.51.100.129")), Some(2));
        assert_eq!(t.lookup(a("198.51.100.200")), Some(3));
        assert_eq!(t.lookup(a("203.0.113.1")), Some(4));
        assert_eq!(t.lookup(a("2001:db8:1::9")), Some(6));
        assert_eq!(t.lookup(a("2001:db8:2::9")), Some(5));
        assert_eq!(t.lookup(a("2001:db9::")), None);
        assert_eq!(
            t.lookup_prefix(a("198.51.100.130")),
            Some((p("198.51.100.128/25"), 2))
        );
        assert_eq!(t.len(), 6);
        // Replace on equal prefix.
        assert_eq!(t.insert(p("198.51.100.0/24"), 7), Some(1));
        assert_eq!(t.get(p("198.51.100.0/24")), Some(7));
        assert_eq!(t.remove(p("198.51.100.128/25")), Some(2));
        assert_eq!(t.remove(p("198.51.100.128/25")), None);
        assert_eq!(t.lookup(a("198.51.100.129")), Some(7));
        assert_eq!(t.remove(p("0.0.0.0/0")), Some(4));
        assert_eq!(t.lookup(a("203.0.113.1")), None);
    }

    #[test]
    fn ranges_and_handles() {
        let mut t = LpmTable::new();
        let r: AddrRange = "198.51.100.3..198.51.100.17".parse().unwrap();
        assert_eq!(t.insert_range(&r, 10u16), 4);
        assert_eq!(t.lookup(a("198.51.100.2")), None);
        assert_eq!(t.lookup(a("198.51.100.3")), Some(10));
        assert_eq!(t.lookup(a("198.51.100.17")), Some(10));
        assert_eq!(t.lookup(a("198.51.100.18")), None);
        let ts: TsSet = "2001:db8::/64, 203.0.113.0/24[tcp/22]".parse().unwrap();
        assert_eq!(t.insert_ts_set(&ts, 11), 2);
        assert_eq!(t.lookup(a("203.0.113.77")), Some(11));
        assert_eq!(t.replace_handle(11, 12), 2);
        assert_eq!(t.lookup(a("2001:db8::1")), Some(12));
        assert_eq!(t.remove_handle(10), 4);
        assert_eq!(t.lookup(a("198.51.100.3")), None);
        assert_eq!(t.len(), 2);
        let mut all: Vec<_> = t.iter().map(|(p, h)| (p.to_string(), h)).collect();
        all.sort();
        assert_eq!(
            all,
            [
                ("2001:db8::/64".to_string(), 12),
                ("203.0.113.0/24".to_string(), 12)
            ]
        );
        t.clear();
        assert!(t.is_empty());
    }

    #[test]
    fn compiled_matches_levels() {
        let mut t = LpmTable::new();
        let c = t.compile();
        assert_eq!(c.lookup(a("198.51.100.1")), None);
        assert_eq!(c.intervals(), 2, "one empty interval per family");
        t.insert(p("0.0.0.0/0"), 1u8);
        t.insert(p("198.51.100.0/24"), 2);
        t.insert(p("198.51.100.0/25"), 3);
        t.insert(p("198.51.100.255/32"), 4);
        t.insert(p("255.255.255.255/32"), 5);
        t.insert(p("::/0"), 6);
        t.insert(p("2001:db8::/32"), 7);
        t.insert(p("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 8);
        let c = t.compile();
        for (ad, want) in [
            ("0.0.0.0", 1),
            ("198.51.99.255", 1),
            ("198.51.100.0", 3),
            ("198.51.100.127", 3),
            ("198.51.100.128", 2),
            ("198.51.100.254", 2),
            ("198.51.100.255", 4),
            ("198.51.101.0", 1),
            ("255.255.255.254", 1),
            ("255.255.255.255", 5),
            ("::", 6),
            ("2001:db8::", 7),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 7),
            ("2001:db9::", 6),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 6),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 8),
        ] {
            assert_eq!(c.lookup(a(ad)), Some(want), "{ad}");
            assert_eq!(t.lookup(a(ad)), Some(want), "{ad}");
        }
    }
}
