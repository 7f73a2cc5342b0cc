//! Traffic selector narrowing (RFC 7296 §2.9) for both roles of a
//! CREATE_CHILD_SA or IKE_AUTH exchange.
//!
//! The responder intersects the initiator's TSi/TSr with its configured
//! policy: TSi is the initiator's side, so it meets the responder's *remote*
//! selectors; TSr meets its *local* ones. A CHILD SA covers every TSi × TSr
//! pair, so with a policy of the same cross-product shape the two sides
//! narrow independently. RFC 7296 §2.9 rules enforced here:
//!
//! - "If the responder's policy does not allow it to accept any part of the
//!   proposed Traffic Selectors, it responds with a TS_UNACCEPTABLE Notify";
//! - the responder narrows "to some subset of the initiator's proposal"
//!   (never wider), and when its policy accepts the first selector of TSi and
//!   TSr it "MUST narrow the Traffic Selectors to a subset that includes the
//!   initiator's first choices" — so a policy that accepts the first pair is
//!   preferred over one that does not;
//! - a policy that wants one SA per address pair answers SINGLE_PAIR_REQUIRED
//!   when the first selectors do not name a single pair.
//!
//! The initiator checks the reply: selectors outside its proposal are a
//! protocol error (the CHILD SA must be deleted), a strict subset means the
//! responder narrowed.

use crate::set::TsSet;
use crate::ts::AddrRange;

/// Longest TSi/TSr list a responder will narrow. Narrowing is quadratic in
/// the list sizes, and real peers send a handful; longer lists are refused
/// with TS_UNACCEPTABLE rather than spending unbounded work on them.
pub const MAX_PROPOSED_SELECTORS: usize = 128;

/// Notify Message Types this module produces (RFC 7296 §3.10.1).
pub mod notify {
    pub const SINGLE_PAIR_REQUIRED: u16 = 34;
    pub const TS_UNACCEPTABLE: u16 = 38;
    pub const ADDITIONAL_TS_POSSIBLE: u16 = 16386;
}

/// How a responder may narrow with one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NarrowMode {
    /// Return everything the proposal and the policy have in common.
    #[default]
    Intersect,
    /// One CHILD SA per address pair: narrow to the single addresses of the
    /// first selectors of TSi and TSr (the packet that triggered the
    /// request, RFC 7296 §2.9), or refuse with SINGLE_PAIR_REQUIRED.
    SinglePair,
}

/// A responder's configured selectors for one CHILD SA configuration; the
/// SA may carry any `remote × local` pair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TsPolicy {
    /// Our side: meets the proposal's TSr.
    pub local: TsSet,
    /// The peer's side: meets the proposal's TSi.
    pub remote: TsSet,
    pub mode: NarrowMode,
}

impl TsPolicy {
    pub fn new(local: TsSet, remote: TsSet) -> Self {
        Self {
            local,
            remote,
            mode: NarrowMode::Intersect,
        }
    }

    #[must_use]
    pub fn with_mode(self, mode: NarrowMode) -> Self {
        Self { mode, ..self }
    }
}

/// Why a responder refuses a proposal; each maps to one notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NarrowError {
    #[error("no part of the proposed traffic selectors is acceptable (TS_UNACCEPTABLE)")]
    TsUnacceptable,
    #[error("policy needs one address pair per CHILD SA and the proposal names none (SINGLE_PAIR_REQUIRED)")]
    SinglePairRequired,
}

impl NarrowError {
    /// The Notify Message Type to send.
    pub const fn notify_type(self) -> u16 {
        match self {
            Self::TsUnacceptable => notify::TS_UNACCEPTABLE,
            Self::SinglePairRequired => notify::SINGLE_PAIR_REQUIRED,
        }
    }
}

/// What the responder puts in its reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Narrowed {
    pub ts_i: TsSet,
    pub ts_r: TsSet,
    /// The reply is a strict subset of the proposal.
    pub narrowed: bool,
    /// Some proposed traffic was left out that another CHILD SA could carry:
    /// send ADDITIONAL_TS_POSSIBLE (RFC 7296 §2.9, a MAY).
    pub additional_ts_possible: bool,
}

/// Responder narrowing against one policy.
///
/// `ts_i`/`ts_r` are the proposal as received; the result is a subset of
/// both the proposal and the policy, and contains the first selectors of
/// the proposal whenever the policy accepts them.
pub fn narrow_responder(
    ts_i: &TsSet,
    ts_r: &TsSet,
    policy: &TsPolicy,
) -> Result<Narrowed, NarrowError> {
    if ts_i.is_empty()
        || ts_r.is_empty()
        || ts_i.len() > MAX_PROPOSED_SELECTORS
        || ts_r.len() > MAX_PROPOSED_SELECTORS
    {
        return Err(NarrowError::TsUnacceptable);
    }
    let all_i = ts_i.intersect(&policy.remote);
    let all_r = ts_r.intersect(&policy.local);
    if all_i.is_empty() || all_r.is_empty() {
        return Err(NarrowError::TsUnacceptable);
    }
    let (out_i, out_r, additional) = match policy.mode {
        NarrowMode::Intersect => (all_i, all_r, false),
        NarrowMode::SinglePair => {
            let (first_i, first_r) = match (ts_i.first(), ts_r.first()) {
                (Some(i), Some(r)) if i.addrs.is_single() && r.addrs.is_single() => (i, r),
                _ => return Err(NarrowError::SinglePairRequired),
            };
            let out_i = restrict(&all_i, &first_i.addrs);
            let out_r = restrict(&all_r, &first_r.addrs);
            if out_i.is_empty() || out_r.is_empty() {
                return Err(NarrowError::TsUnacceptable);
            }
            let more = !all_i.is_subset_of(&out_i) || !all_r.is_subset_of(&out_r);
            (out_i, out_r, more)
        }
    };
    let narrowed = !ts_i.is_subset_of(&out_i) || !ts_r.is_subset_of(&out_r);
    Ok(Narrowed {
        ts_i: out_i,
        ts_r: out_r,
        narrowed,
        additional_ts_possible: additional,
    })
}

/// Members of `set` cut down to the addresses of `addrs`.
fn restrict(set: &TsSet, addrs: &AddrRange) -> TsSet {
    set.iter()
        .filter_map(|t| {
            let a = t.addrs.intersect(addrs)?;
            Some(crate::TrafficSelector { addrs: a, ..*t })
        })
        .collect::<TsSet>()
        .minimized()
}

/// Responder narrowing over several CHILD SA configurations, in order of
/// preference. Returns the index of the chosen policy and the reply.
///
/// Choice, following RFC 7296 §2.9: the first policy that accepts the whole
/// first selector of TSi and of TSr (so the reply includes the initiator's
/// first choices); failing that, the first policy that accepts any part.
/// `additional_ts_possible` is also set when another policy would accept
/// part of the proposal. Errors are SINGLE_PAIR_REQUIRED if that was the
/// only reason every acceptable policy refused, else TS_UNACCEPTABLE.
pub fn select_and_narrow(
    ts_i: &TsSet,
    ts_r: &TsSet,
    policies: &[TsPolicy],
) -> Result<(usize, Narrowed), NarrowError> {
    let (Some(first_i), Some(first_r)) = (ts_i.first(), ts_r.first()) else {
        return Err(NarrowError::TsUnacceptable);
    };
    let accepts_first = |p: &TsPolicy| p.remote.covers(first_i) && p.local.covers(first_r);
    let mut err = NarrowError::TsUnacceptable;
    let mut chosen = None;
    for pass in [true, false] {
        for (idx, p) in policies.iter().enumerate() {
            if pass && !accepts_first(p) {
                continue;
            }
            match narrow_responder(ts_i, ts_r, p) {
                Ok(n) => {
                    chosen = Some((idx, n));
                    break;
                }
                Err(NarrowError::SinglePairRequired) => err = NarrowError::SinglePairRequired,
                Err(NarrowError::TsUnacceptable) => {}
            }
        }
        if chosen.is_some() {
            break;
        }
    }
    let (idx, mut n) = chosen.ok_or(err)?;
    if n.narrowed && !n.additional_ts_possible {
        n.additional_ts_possible = policies
            .iter()
            .enumerate()
            .any(|(j, p)| j != idx && ts_i.overlaps(&p.remote) && ts_r.overlaps(&p.local));
    }
    Ok((idx, n))
}

/// Which payload of the responder's reply broke the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TsSide {
    TsI,
    TsR,
}

/// The responder's reply is not acceptable to the initiator: a protocol
/// error, after which the initiator deletes the CHILD SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TsViolation {
    #[error("{side:?} in the response is empty")]
    Empty { side: TsSide },
    #[error("{side:?} selector #{index} in the response is outside what was proposed")]
    Widened { side: TsSide, index: usize },
}

/// The initiator's view of an acceptable reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitiatorCheck {
    /// The responder returned less than was proposed.
    pub narrowed: bool,
    /// The reply still covers the first selector of both TSi and TSr (the
    /// triggering packet, if the request came from one).
    pub first_included: bool,
}

/// Initiator-side check of the responder's TSi/TSr against the proposal.
///
/// RFC 7296 §2.9 lets the responder only narrow; a returned selector that
/// is not inside the union of what was proposed is a violation.
pub fn verify_response(
    proposed_i: &TsSet,
    proposed_r: &TsSet,
    returned_i: &TsSet,
    returned_r: &TsSet,
) -> Result<InitiatorCheck, TsViolation> {
    for (side, proposed, returned) in [
        (TsSide::TsI, proposed_i, returned_i),
        (TsSide::TsR, proposed_r, returned_r),
    ] {
        if returned.is_empty() {
            return Err(TsViolation::Empty { side });
        }
        if let Some(index) = returned.iter().position(|t| !proposed.covers(t)) {
            return Err(TsViolation::Widened { side, index });
        }
    }
    let narrowed = !proposed_i.is_subset_of(returned_i) || !proposed_r.is_subset_of(returned_r);
    let first_included = match (proposed_i.first(), proposed_r.first()) {
        (Some(i), Some(r)) => returned_i.covers(i) && returned_r.covers(r),
        _ => false,
    };
    Ok(InitiatorCheck {
        narrowed,
        first_included,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> TsSet {
        s.parse().unwrap()
    }

    struct Case {
        name: &'static str,
        ts_i: &'static str,
        ts_r: &'static str,
        remote: &'static str,
        local: &'static str,
        mode: NarrowMode,
        want: Result<(&'static str, &'static str, bool), NarrowError>,
    }

    const I: NarrowMode = NarrowMode::Intersect;
    const P: NarrowMode = NarrowMode::SinglePair;

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        Case { name: "identical, no narrowing",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/24", local: "203.0.113.0/24", mode: I,
            want: Ok(("198.51.100.0/24", "203.0.113.0/24", false)) },
        Case { name: "policy wider than proposal: return the proposal",
            ts_i: "198.51.100.0/25", ts_r: "203.0.113.7",
            remote: "198.51.100.0/24", local: "203.0.113.0/24", mode: I,
            want: Ok(("198.51.100.0/25", "203.0.113.7/32", false)) },
        Case { name: "narrow the address range",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "198.51.100.64/26", local: "203.0.113.0/24", mode: I,
            want: Ok(("198.51.100.64/26", "203.0.113.0/24", true)) },
        Case { name: "partial range overlap",
            ts_i: "198.51.100.10..198.51.100.200", ts_r: "0.0.0.0/0",
            remote: "198.51.100.0/25", local: "203.0.113.0/24", mode: I,
            want: Ok(("198.51.100.10..198.51.100.127", "203.0.113.0/24", true)) },
        Case { name: "disjoint addresses: TS_UNACCEPTABLE",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "192.0.2.0/24", local: "203.0.113.0/24", mode: I,
            want: Err(NarrowError::TsUnacceptable) },
        Case { name: "only TSr disjoint: TS_UNACCEPTABLE",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/25",
            remote: "198.51.100.0/24", local: "203.0.113.128/25", mode: I,
            want: Err(NarrowError::TsUnacceptable) },
        Case { name: "port narrowing",
            ts_i: "198.51.100.0/24[tcp/1000-3000]", ts_r: "203.0.113.0/24[tcp]",
            remote: "198.51.100.0/24[tcp/2000-65535]", local: "203.0.113.0/24[tcp/443]", mode: I,
            want: Ok(("198.51.100.0/24[tcp/2000-3000]", "203.0.113.0/24[tcp/443]", true)) },
        Case { name: "port ranges disjoint",
            ts_i: "198.51.100.0/24[udp/1-100]", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/24[udp/101-200]", local: "203.0.113.0/24", mode: I,
            want: Err(NarrowError::TsUnacceptable) },
        Case { name: "protocol ANY narrowed to policy protocol",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/24[udp]", local: "203.0.113.0/24[udp/53]", mode: I,
            want: Ok(("198.51.100.0/24[udp]", "203.0.113.0/24[udp/53]", true)) },
        Case { name: "protocol mismatch",
            ts_i: "198.51.100.0/24[tcp]", ts_r: "203.0.113.0/24[tcp]",
            remote: "198.51.100.0/24[udp]", local: "203.0.113.0/24[udp]", mode: I,
            want: Err(NarrowError::TsUnacceptable) },
        Case { name: "IPv4 proposal, IPv6 policy",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "2001:db8:1::/48", local: "2001:db8:2::/48", mode: I,
            want: Err(NarrowError::TsUnacceptable) },
        Case { name: "mixed families: keep only the family the policy has",
            ts_i: "198.51.100.0/24, 2001:db8:1::/48", ts_r: "203.0.113.0/24, 2001:db8:2::/48",
            remote: "2001:db8:1::/64", local: "2001:db8:2::/48", mode: I,
            want: Ok(("2001:db8:1::/64", "2001:db8:2::/48", true)) },
        Case { name: "mixed families both kept",
            ts_i: "198.51.100.0/24, 2001:db8:1::/48", ts_r: "203.0.113.0/24, 2001:db8:2::/48",
            remote: "0.0.0.0/0, ::/0", local: "203.0.113.0/24, 2001:db8::/32", mode: I,
            want: Ok(("198.51.100.0/24, 2001:db8:1::/48", "203.0.113.0/24, 2001:db8:2::/48", false)) },
        Case { name: "policy split in two members covers the proposal",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/25, 198.51.100.128/25", local: "203.0.113.0/24", mode: I,
            want: Ok(("198.51.100.0/25, 198.51.100.128/25", "203.0.113.0/24", false)) },
        Case { name: "ICMP type narrowing",
            ts_i: "198.51.100.0/24[icmp]", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/24[icmp/2048-2303]", local: "203.0.113.0/24[icmp]", mode: I,
            want: Ok(("198.51.100.0/24[icmp/2048-2303]", "203.0.113.0/24[icmp]", true)) },
        Case { name: "OPAQUE meets ANY",
            ts_i: "198.51.100.0/24[udp/opaque]", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/24", local: "203.0.113.0/24", mode: I,
            want: Ok(("198.51.100.0/24[udp/opaque]", "203.0.113.0/24", false)) },
        Case { name: "single pair from triggering packet",
            ts_i: "198.51.100.43[tcp/49152], 198.51.100.0/24", ts_r: "203.0.113.9[tcp/443], 203.0.113.0/24",
            remote: "198.51.100.0/24", local: "203.0.113.0/24", mode: P,
            want: Ok(("198.51.100.43/32", "203.0.113.9/32", true)) },
        Case { name: "single pair without a specific first selector",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "198.51.100.0/24", local: "203.0.113.0/24", mode: P,
            want: Err(NarrowError::SinglePairRequired) },
        Case { name: "single pair outside policy",
            ts_i: "198.51.100.200, 198.51.100.0/24", ts_r: "203.0.113.9, 203.0.113.0/24",
            remote: "198.51.100.0/25", local: "203.0.113.0/24", mode: P,
            want: Err(NarrowError::TsUnacceptable) },
        Case { name: "single pair, nothing acceptable at all",
            ts_i: "198.51.100.0/24", ts_r: "203.0.113.0/24",
            remote: "192.0.2.0/24", local: "203.0.113.0/24", mode: P,
            want: Err(NarrowError::TsUnacceptable) },
    ];

    #[test]
    fn responder_table() {
        for c in CASES {
            let policy = TsPolicy::new(set(c.local), set(c.remote)).with_mode(c.mode);
            let got = narrow_responder(&set(c.ts_i), &set(c.ts_r), &policy);
            match (&got, &c.want) {
                (Ok(n), Ok((wi, wr, narrowed))) => {
                    assert_eq!(n.ts_i.to_string(), *wi, "{}: TSi", c.name);
                    assert_eq!(n.ts_r.to_string(), *wr, "{}: TSr", c.name);
                    assert_eq!(n.narrowed, *narrowed, "{}: narrowed flag", c.name);
                    // Whatever the case, the reply never widens.
                    let v = verify_response(&set(c.ts_i), &set(c.ts_r), &n.ts_i, &n.ts_r)
                        .unwrap_or_else(|e| panic!("{}: {e}", c.name));
                    assert_eq!(v.narrowed, *narrowed, "{}: initiator's view", c.name);
                }
                (Err(e), Err(w)) => assert_eq!(e, w, "{}", c.name),
                _ => panic!("{}: got {got:?}, want {:?}", c.name, c.want),
            }
        }
    }

    /// RFC 7296 §2.9's example: the initiator's policy covers 198.51.100.0/24
    /// and a packet from 198.51.100.43 triggered the request. The responder's
    /// policy splits the /24 into halves, each its own CHILD SA.
    #[test]
    fn rfc7296_section_2_9_example() {
        let ts_i = set("198.51.100.43[tcp/5000], 198.51.100.0/24");
        let ts_r = set("192.0.2.10[tcp/80], 192.0.2.0/24");
        let policies = [
            TsPolicy::new(set("192.0.2.0/24"), set("198.51.100.128/25")),
            TsPolicy::new(set("192.0.2.0/24"), set("198.51.100.0/25")),
        ];
        let (idx, n) = select_and_narrow(&ts_i, &ts_r, &policies).unwrap();
        assert_eq!(idx, 1, "the policy holding the triggering packet wins");
        assert_eq!(n.ts_i.to_string(), "198.51.100.0/25");
        assert_eq!(n.ts_r.to_string(), "192.0.2.0/24");
        assert!(n.narrowed);
        assert!(n.additional_ts_possible, "the other half is another SA");
        let check = verify_response(&ts_i, &ts_r, &n.ts_i, &n.ts_r).unwrap();
        assert!(check.narrowed && check.first_included);

        // "the responder might respond with TSi being (198.51.100.43 -
        // 198.51.100.43) with all ports and IP protocols": one SA per pair.
        let per_pair = [TsPolicy::new(set("192.0.2.0/24"), set("198.51.100.0/24"))
            .with_mode(NarrowMode::SinglePair)];
        let (_, n) = select_and_narrow(&ts_i, &ts_r, &per_pair).unwrap();
        assert_eq!(n.ts_i.to_string(), "198.51.100.43/32");
        assert_eq!(n.ts_r.to_string(), "192.0.2.10/32");
        assert!(n.additional_ts_possible);

        // Started without a packet: no specific first selectors.
        let err = select_and_narrow(&set("198.51.100.0/24"), &set("192.0.2.0/24"), &per_pair)
            .unwrap_err();
        assert_eq!(err, NarrowError::SinglePairRequired);
        assert_eq!(err.notify_type(), 34);
        assert_eq!(NarrowError::TsUnacceptable.notify_type(), 38);
    }

    #[test]
    fn selection_falls_back_to_partial_policy() {
        // Neither policy accepts the first selector; the first that accepts
        // any part wins.
        let ts_i = set("198.51.100.43, 198.51.100.0/24");
        let ts_r = set("192.0.2.10, 192.0.2.0/24");
        let policies = [
            TsPolicy::new(set("203.0.113.0/24"), set("198.51.100.0/24")),
            TsPolicy::new(set("192.0.2.128/25"), set("198.51.100.0/24")),
        ];
        let (idx, n) = select_and_narrow(&ts_i, &ts_r, &policies).unwrap();
        assert_eq!(idx, 1);
        assert_eq!(n.ts_r.to_string(), "192.0.2.128/25");
        let check = verify_response(&ts_i, &ts_r, &n.ts_i, &n.ts_r).unwrap();
        assert!(check.narrowed && !check.first_included);
        assert_eq!(
            select_and_narrow(&ts_i, &ts_r, &policies[..1]).unwrap_err(),
            NarrowError::TsUnacceptable
        );
        assert_eq!(
            select_and_narrow(&TsSet::new(), &ts_r, &policies).unwrap_err(),
            NarrowError::TsUnacceptable
        );
    }

    #[test]
    fn initiator_rejects_widening() {
        let pi = set("198.51.100.0/24[tcp]");
        let pr = set("203.0.113.0/24, 2001:db8::/32");
        // Wider address.
        assert_eq!(
            verify_response(&pi, &pr, &set("198.51.100.0/23[tcp]"), &pr),
            Err(TsViolation::Widened {
                side: TsSide::TsI,
                index: 0
            })
        );
        // Protocol widened from TCP to ANY.
        assert_eq!(
            verify_response(&pi, &pr, &set("198.51.100.0/24"), &pr),
            Err(TsViolation::Widened {
                side: TsSide::TsI,
                index: 0
            })
        );
        // Second TSr member outside.
        assert_eq!(
            verify_response(&pi, &pr, &pi, &set("203.0.113.0/25, 2001:db9::/32")),
            Err(TsViolation::Widened {
                side: TsSide::TsR,
                index: 1
            })
        );
        assert_eq!(
            verify_response(&pi, &pr, &pi, &TsSet::new()),
            Err(TsViolation::Empty { side: TsSide::TsR })
        );
        // Identical reply, reordered and split: not narrowed.
        let ok = verify_response(
            &pi,
            &pr,
            &set("198.51.100.128/25[tcp], 198.51.100.0/25[tcp]"),
            &set("2001:db8::/32, 203.0.113.0/24"),
        )
        .unwrap();
        assert!(!ok.narrowed && ok.first_included);
    }

    #[test]
    fn oversized_proposal_refused() {
        let many: TsSet = (0..=MAX_PROPOSED_SELECTORS as u32)
            .map(|i| crate::TrafficSelector::host(std::net::Ipv4Addr::from(0xc633_6400 + i).into()))
            .collect();
        let p = TsPolicy::new(set("0.0.0.0/0"), set("0.0.0.0/0"));
        assert_eq!(
            narrow_responder(&many, &set("0.0.0.0/0"), &p),
            Err(NarrowError::TsUnacceptable)
        );
    }
}
