//! Ordered lists of traffic selectors, as carried in one TSi or TSr payload
//! (RFC 7296 §3.13), with union semantics: a packet matches the set when it
//! matches any member. IPv4 and IPv6 selectors may be mixed in one set.
//!
//! Order is kept because it means something on the wire: RFC 7296 §2.9 lets
//! the initiator put the selector of the packet that triggered the request
//! first.

use std::fmt;
use std::net::IpAddr;

use crate::ts::{Cell, IpProtocol, TrafficSelector};

/// Work cap for the exact "covered by the union" test. The geometric
/// subtraction can fragment into many boxes when a peer sends many
/// interleaved selectors; past this many live fragments the test gives up
/// and answers conservatively (see [`TsSet::is_subset_of`]).
pub const SUBSET_WORK_LIMIT: usize = 1 << 14;

/// An ordered list of traffic selectors; the union of its members.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TsSet(Vec<TrafficSelector>);

impl TsSet {
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    pub fn push(&mut self, ts: TrafficSelector) {
        self.0.push(ts);
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn first(&self) -> Option<&TrafficSelector> {
        self.0.first()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, TrafficSelector> {
        self.0.iter()
    }

    pub fn as_slice(&self) -> &[TrafficSelector] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<TrafficSelector> {
        self.0
    }

    /// Does one side of a packet match any member?
    pub fn matches(&self, addr: IpAddr, proto: IpProtocol, port: Option<u16>) -> bool {
        self.0.iter().any(|t| t.matches(addr, proto, port))
    }

    /// Pairwise intersection of the members of both sets, with empty results
    /// dropped and redundant ones removed (see [`TsSet::minimized`]). The
    /// result covers exactly `self ∩ other` as sets of packets.
    pub fn intersect(&self, other: &TsSet) -> TsSet {
        let mut out = Vec::new();
        for a in &self.0 {
            for b in &other.0 {
                if let Some(c) = a.intersect(b) {
                    out.push(c);
                }
            }
        }
        TsSet(out).minimized()
    }

    /// The same set of packets with duplicates and members contained in
    /// another member removed; the first of equal members is kept and the
    /// order of survivors is preserved.
    #[must_use]
    pub fn minimized(self) -> TsSet {
        let v = self.0;
        let mut keep = Vec::with_capacity(v.len());
        for (i, t) in v.iter().enumerate() {
            let redundant = v
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && t.is_subset_of(o) && (t != o || j < i));
            if !redundant {
                keep.push(*t);
            }
        }
        TsSet(keep)
    }

    /// Is this one selector covered by the union of the set? Exact: a
    /// selector split across two members counts as covered.
    pub fn covers(&self, ts: &TrafficSelector) -> bool {
        covered(std::slice::from_ref(ts), &self.0) == Some(true)
    }

    /// Is every packet of `self` matched by `other` (as unions)? Exact, not
    /// member-by-member. When the check exceeds [`SUBSET_WORK_LIMIT`] it
    /// answers `false`, the safe side for "did the peer widen?" checks.
    pub fn is_subset_of(&self, other: &TsSet) -> bool {
        covered(&self.0, &other.0) == Some(true)
    }

    /// Like [`TsSet::is_subset_of`] but tells "too complex to decide" apart.
    pub fn try_is_subset_of(&self, other: &TsSet) -> Option<bool> {
        covered(&self.0, &other.0)
    }

    /// Do the two sets share any packet?
    pub fn overlaps(&self, other: &TsSet) -> bool {
        self.0
            .iter()
            .any(|a| other.0.iter().any(|b| a.intersect(b).is_some()))
    }
}

/// `Some(true)` when the union of `target` lies inside the union of `cover`.
fn covered(target: &[TrafficSelector], cover: &[TrafficSelector]) -> Option<bool> {
    // Fast path: each target member inside a single cover member.
    if target
        .iter()
        .all(|t| cover.iter().any(|c| t.is_subset_of(c)))
    {
        return Some(true);
    }
    let cuts: Vec<Cell> = cover.iter().map(TrafficSelector::cell).collect();
    let mut pieces: Vec<Cell> = target.iter().map(TrafficSelector::cell).collect();
    let mut next = Vec::new();
    for cut in &cuts {
        next.clear();
        for p in pieces.drain(..) {
            p.subtract(cut, &mut next);
            if next.len() > SUBSET_WORK_LIMIT {
                return None;
            }
        }
        std::mem::swap(&mut pieces, &mut next);
        if pieces.is_empty() {
            return Some(true);
        }
    }
    Some(pieces.is_empty())
}

impl From<Vec<TrafficSelector>> for TsSet {
    fn from(v: Vec<TrafficSelector>) -> Self {
        Self(v)
    }
}

impl From<TrafficSelector> for TsSet {
    fn from(t: TrafficSelector) -> Self {
        Self(vec![t])
    }
}

impl FromIterator<TrafficSelector> for TsSet {
    fn from_iter<I: IntoIterator<Item = TrafficSelector>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for TsSet {
    type Item = TrafficSelector;
    type IntoIter = std::vec::IntoIter<TrafficSelector>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a TsSet {
    type Item = &'a TrafficSelector;
    type IntoIter = std::slice::Iter<'a, TrafficSelector>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Display for TsSet {
    /// Members separated by `, ` (the form strongSwan logs use).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for TsSet {
    type Err = crate::ts::TsError;
    /// Comma-separated selectors, as printed by `Display`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .filter(|p| !p.trim().is_empty())
            .map(str::parse)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> TsSet {
        s.parse().unwrap()
    }

    #[test]
    fn union_subset_is_exact() {
        let halves = set("198.51.100.0/25, 198.51.100.128/25");
        let whole = set("198.51.100.0/24");
        assert!(
            whole.is_subset_of(&halves),
            "covered by two members together"
        );
        assert!(halves.is_subset_of(&whole));
        let gap = set("198.51.100.0/25, 198.51.100.129..198.51.100.255");
        assert!(!whole.is_subset_of(&gap));
        // Split across protocol and ports.
        let parts = set("198.51.100.0/24[tcp/0-1023], 198.51.100.0/24[tcp/1024-65535], 198.51.100.0/24[tcp/opaque]");
        assert!(set("198.51.100.0/24[tcp]").is_subset_of(&parts));
        assert!(!set("198.51.100.0/24").is_subset_of(&parts));
        assert!(!set("198.51.100.0/24[tcp]").is_subset_of(&set(
            "198.51.100.0/24[tcp/0-1023], 198.51.100.0/24[tcp/1024-65535]"
        )));
        // Mixed families.
        let mixed = set("198.51.100.0/24, 2001:db8::/32");
        assert!(set("2001:db8:1::/48, 198.51.100.7").is_subset_of(&mixed));
        assert!(!set("2001:db9::/32").is_subset_of(&mixed));
        assert!(TsSet::new().is_subset_of(&mixed));
        assert!(!mixed.is_subset_of(&TsSet::new()));
    }

    #[test]
    fn intersect_and_minimize() {
        let a = set("198.51.100.43[tcp/80], 198.51.100.0/24");
        let b = set("198.51.100.0/25");
        assert_eq!(a.intersect(&b), set("198.51.100.0/25"));
        let dup = set("198.51.100.0/24, 198.51.100.0/24, 198.51.100.1");
        assert_eq!(dup.minimized(), set("198.51.100.0/24"));
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&set("2001:db8::/32")));
        assert!(a.intersect(&set("203.0.113.0/24")).is_empty());
    }

    #[test]
    fn display_and_parse() {
        let s = "198.51.100.0/24[tcp/80], 2001:db8::/32";
        assert_eq!(set(s).to_string(), s);
        assert_eq!(set("").len(), 0);
    }
}
