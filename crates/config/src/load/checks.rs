//! Checks across sections: overlapping selectors, transport-mode
//! policies, unique and dangling names, address families.

use super::*;

/// A selector's addresses as an inclusive interval of one family, when
/// it is written as literal addresses (host names and macros are not
/// known until run time and are left out of the overlap check).
pub(super) fn interval(a: &AddressSpec) -> Option<(bool, u128, u128)> {
    let wide = |ip: &std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v) => (false, u128::from(u32::from(*v))),
        std::net::IpAddr::V6(v) => (true, u128::from(*v)),
    };
    match a {
        AddressSpec::Prefix(ip, len) => {
            let (v6, x) = wide(ip);
            let bits = if v6 { 128 } else { 32 };
            let host = u32::from(bits - (*len).min(bits));
            let mask = if host == 0 {
                0
            } else {
                u128::MAX >> (128 - host)
            };
            Some((v6, x & !mask, x | mask))
        }
        AddressSpec::Range(a, b) => {
            let ((v6, x), (_, y)) = (wide(a), wide(b));
            Some((v6, x, y))
        }
        AddressSpec::Host(Address::Ip(ip)) => {
            let (v6, x) = wide(ip);
            Some((v6, x, x))
        }
        AddressSpec::Host(_) => None,
    }
}

type Interval = (bool, u128, u128);

pub(super) fn meet(a: Interval, b: Interval) -> bool {
    a.0 == b.0 && a.1 <= b.2 && b.1 <= a.2
}

pub(super) fn within(inner: Interval, outer: Interval) -> bool {
    inner.0 == outer.0 && outer.1 <= inner.1 && inner.2 <= outer.2
}

/// Selectors of policies with different peers (`remote` sections) whose
/// traffic overlaps. Nothing decides between two equal (or crossing)
/// remote selectors, so that is an error naming both. When one remote
/// selector lies inside the other, outbound traffic in the overlap goes to
/// the more specific one (the data plane routes by longest prefix on the
/// remote selector): that loads, with a warning that says so.
pub(super) fn overlaps(
    sink: &mut Sink<'_>,
    sels: &[(String, Range<usize>, Selector, Range<usize>)],
    policies: &BTreeMap<String, Policy>,
) -> Vec<crate::Warning> {
    let peer = |s: &Selector| match policies.get(&s.policy) {
        Some(Policy::Protect { remote, .. }) => Some(remote.clone()),
        _ => None,
    };
    let ports = |a: PortRange, b: PortRange| a.intersect(b).is_some();
    let mut warnings = Vec::new();
    for (i, (an, aspan, a, _)) in sels.iter().enumerate() {
        let (Some(apeer), Some(al), Some(ar)) = (peer(a), interval(&a.src), interval(&a.dst))
        else {
            continue;
        };
        for (bn, _, b, _) in &sels[i + 1..] {
            let (Some(bpeer), Some(bl), Some(br)) = (peer(b), interval(&b.src), interval(&b.dst))
            else {
                continue;
            };
            let same_protocol = a.protocol.intersect(b.protocol).is_some();
            if apeer == bpeer
                || !meet(al, bl)
                || !meet(ar, br)
                || !same_protocol
                || !ports(a.src_ports, b.src_ports)
                || !ports(a.dst_ports, b.dst_ports)
            {
                continue;
            }
            let what = format!(
                "selector `{an}` ({} === {}, peer `{apeer}`) and selector `{bn}` ({} === {}, peer `{bpeer}`) overlap",
                a.src, a.dst, b.src, b.dst
            );
            let winner = match (within(ar, br) && ar != br, within(br, ar) && ar != br) {
                (true, _) => Some((an, &apeer)),
                (_, true) => Some((bn, &bpeer)),
                _ => None,
            };
            match winner {
                Some((w, wpeer)) => warnings.push(sink.warning(
                    aspan.clone(),
                    format!(
                        "{what}: traffic in the overlap goes to peer `{wpeer}`, whose remote selector (in `{w}`) is the more specific"
                    ),
                    Some("make the selectors disjoint if that is not what you mean".into()),
                )),
                None => sink.error_hint(
                    aspan.clone(),
                    format!("{what}, and neither remote selector is more specific: nothing decides which peer gets the traffic"),
                    "make them disjoint, or one narrower than the other",
                ),
            }
        }
    }
    warnings
}

/// A diagnostic located at the value of `keys` (e.g. `["daemon",
/// "control_group"]`) in the configuration file `path`, for checks that
/// need the running system (does a group exist?) and so cannot run while
/// the text is parsed; at 1:1 when the key is not written there.
pub fn locate_key(
    path: &Path,
    keys: &[&str],
    message: String,
    hint: Option<String>,
) -> crate::Diagnostic {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let source = Source::new(&name, &text);
    let (root, _) = DeTable::parse_recoverable(&text);
    let mut table: &DeTable<'_> = root.get_ref();
    let mut offset = 0;
    for (i, key) in keys.iter().enumerate() {
        let Some((_, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *key) else {
            break;
        };
        offset = v.span().start;
        match v.get_ref() {
            DeValue::Table(t) if i + 1 < keys.len() => table = t,
            _ => break,
        }
    }
    let (line, column) = source.locate(offset);
    crate::Diagnostic {
        file: name,
        line,
        column,
        message,
        hint,
    }
}

/// Transport mode (RFC 4303 §3.1.1) protects traffic between the two IKE
/// hosts themselves: the receiver rebuilds the IP header from them, and
/// checksums only survive without NAT.
pub(super) fn check_transport_policy(
    sink: &mut Sink<'_>,
    span: &Range<usize>,
    name: &str,
    remote: &Remote,
    tpl: &IpsecTemplate,
) {
    if tpl.mode != Mode::Transport {
        return;
    }
    if remote.encap {
        sink.error_hint(
            span.clone(),
            format!("`{name}`: transport mode cannot be combined with `encap = true`"),
            "transport mode is refused over NAT-T (TCP/UDP checksums would break); use mode = \"tunnel\"",
        );
    }
    if tpl.tunnel_local.is_some() || tpl.tunnel_remote.is_some() {
        sink.error_hint(
            span.clone(),
            format!("`{name}`: transport mode has no tunnel endpoints"),
            "remove tunnel_local/tunnel_remote, or use mode = \"tunnel\"",
        );
    }
}

/// The single address a selector side names, if it names exactly one.
pub(super) fn single_host(spec: &AddressSpec) -> Option<Address> {
    match spec {
        AddressSpec::Host(Address::Macro {
            kind: address::AddrMacro::IpAny,
            ..
        }) => None,
        AddressSpec::Host(a) => Some(a.clone()),
        AddressSpec::Prefix(ip, len) if u32::from(*len) == ip_bits(ip) => Some(Address::Ip(*ip)),
        AddressSpec::Range(a, b) if a == b => Some(Address::Ip(*a)),
        _ => None,
    }
}

pub(super) fn ip_bits(ip: &std::net::IpAddr) -> u32 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// A transport-mode selector must name the two hosts: our address (or a
/// macro for it) as source, the peer's address as destination.
pub(super) fn check_transport_selector(
    sink: &mut Sink<'_>,
    span: &Range<usize>,
    name: &str,
    sel: &Selector,
    remote: &Remote,
) {
    let hint = "transport mode protects the two hosts' own traffic; leave local_ts/remote_ts out (they default to the hosts) or use mode = \"tunnel\"";
    let (src, dst) = (single_host(&sel.src), single_host(&sel.dst));
    let mut bad = |what: &str, spec: &AddressSpec| {
        sink.error_hint(
            span.clone(),
            format!(
                "selector `{name}`: {what} `{spec}` is not a single host, as transport mode needs"
            ),
            hint,
        );
    };
    if src.is_none() {
        bad("source", &sel.src);
    }
    if dst.is_none() {
        bad("destination", &sel.dst);
    }
    // Literal addresses on both sides can be compared now; names and macros
    // are resolved (and checked again) when the SA is installed.
    if let (Some(Address::Ip(d)), Address::Ip(peer)) = (&dst, &remote.address) {
        if d != peer {
            sink.error_hint(
                span.clone(),
                format!("selector `{name}`: destination {d} is not the peer's address {peer}"),
                hint,
            );
        }
    }
    if let (Some(Address::Ip(s)), Some(Address::Ip(me))) = (&src, &remote.local_address) {
        if s != me {
            sink.error_hint(
                span.clone(),
                format!("selector `{name}`: source {s} is not our address {me}"),
                hint,
            );
        }
    }
}

pub(super) fn unique<T>(
    sink: &mut Sink<'_>,
    kind: &str,
    items: impl Iterator<Item = (String, Range<usize>, T)>,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    for (name, span, v) in items {
        match out.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => sink.error(
                span,
                format!(
                    "`{kind}.{}` is defined twice (a tunnel defines one of its name)",
                    e.key()
                ),
            ),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
    out
}

pub(super) fn dangling<'k>(
    sink: &mut Sink<'_>,
    span: Range<usize>,
    kind: &str,
    name: &str,
    known: impl Iterator<Item = &'k String>,
) {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let msg = format!("no `[{kind}.{name}]` is defined");
    match crate::reader::nearest(name, &known) {
        Some(best) => sink.error_hint(span, msg, format!("did you mean `{best}`?")),
        None if known.is_empty() => {
            sink.error_hint(span, msg, format!("define a [{kind}.{name}] section"))
        }
        None => sink.error_hint(span, msg, format!("defined: {}", known.join(", "))),
    }
}

pub(super) fn same_family(a: Option<Family>, b: Option<Family>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}
