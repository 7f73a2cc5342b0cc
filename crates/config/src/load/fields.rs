//! Typed fields shared by every section: counts, ports, protocols, modes,
//! durations, addresses, identities and selector lists.

use super::*;

/// An integer setting within `min..=max`.
pub(super) fn count(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    min: usize,
    max: usize,
) -> Option<usize> {
    let (n, span) = t.u64(sink, key)?;
    match usize::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            sink.error(
                span,
                format!("`{}` must be {min} to {max}", t.qualified(key)),
            );
            None
        }
    }
}

pub(super) fn port(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<u16> {
    let (n, span) = t.u64(sink, key)?;
    match u16::try_from(n) {
        Ok(p) if p != 0 => Some(p),
        _ => {
            sink.error(span, format!("`{}` must be 1 to 65535", t.qualified(key)));
            None
        }
    }
}

pub(super) fn ports(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> PortRange {
    let Some(v) = t.value(key) else {
        return PortRange::ANY;
    };
    let parsed = match v.get_ref() {
        DeValue::Integer(n) => n.as_str().parse::<u16>().ok().map(PortRange::single),
        DeValue::String(s) if s == "any" => Some(PortRange::ANY),
        DeValue::String(s) => match s.split_once('-') {
            Some((a, b)) => (|| {
                let (a, b) = (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?);
                (a <= b).then(|| PortRange::new(a, b).ok()).flatten()
            })(),
            // A quoted single port, "443", reads like the quoted ranges.
            None => s.trim().parse::<u16>().ok().map(PortRange::single),
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        sink.error_hint(
            v.span(),
            format!("`{}` is not a port or port range", t.qualified(key)),
            "e.g. 443, \"1024-65535\" or \"any\"",
        );
        PortRange::ANY
    })
}

pub(super) fn protocol(sink: &mut Sink<'_>, t: &mut TableReader<'_, '_>) -> IpProtocol {
    let Some(v) = t.value("protocol") else {
        return IpProtocol::ANY;
    };
    let p = match v.get_ref() {
        DeValue::Integer(n) => n.as_str().parse::<u8>().ok().map(IpProtocol),
        // The selector crate's names (any, tcp, udp, icmp, icmpv6 or
        // ipv6-icmp, sctp, gre, esp, ah, mh, udplite).
        DeValue::String(s) if s.as_ref() == "mobility-header" => Some(IpProtocol::MH),
        DeValue::String(s) => s.parse().ok(),
        _ => None,
    };
    p.unwrap_or_else(|| {
        sink.error_hint(
            v.span(),
            format!("`{}` is not a protocol", t.qualified("protocol")),
            "any, tcp, udp, icmp, icmpv6, sctp, gre, mh, or a number 0-255",
        );
        IpProtocol::ANY
    })
}

pub(super) fn mode(sink: &mut Sink<'_>, t: &mut TableReader<'_, '_>) -> Option<Mode> {
    match t.str(sink, "mode")? {
        ("tunnel", _) => Some(Mode::Tunnel),
        ("transport", _) => Some(Mode::Transport),
        (s, span) => {
            sink.error_hint(
                span,
                format!("unknown mode `{s}`"),
                "use tunnel or transport",
            );
            None
        }
    }
}

pub(super) fn duration(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<Duration> {
    let v = t.value(key)?;
    let r = match v.get_ref() {
        DeValue::Integer(n) => n
            .as_str()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| "must not be negative".to_owned()),
        DeValue::String(s) => parse_duration(s),
        other => Err(format!("must be a duration, not {}", other.type_str())),
    };
    match r {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            sink.error(
                v.span(),
                format!("`{}` must be longer than zero", t.qualified(key)),
            );
            None
        }
        Err(e) => {
            sink.error_hint(
                v.span(),
                format!("`{}`: {e}", t.qualified(key)),
                "e.g. 30s, 15m, 4h",
            );
            None
        }
    }
}

pub(super) fn ip(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<std::net::IpAddr> {
    let (s, span) = t.str(sink, key)?;
    s.parse()
        .map_err(|_| sink.error(span, format!("`{s}` is not an IP address")))
        .ok()
}

pub(super) fn identity(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<Identity> {
    let (s, span) = t.str(sink, key)?;
    parse_identity(s).map_err(|e| sink.error(span, e)).ok()
}

pub(super) fn spec(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<(AddressSpec, Range<usize>)> {
    let (s, span) = t.str(sink, key)?;
    match address::parse_address_spec(s) {
        Ok(a) => Some((a, span)),
        Err(e) => {
            sink.error(span, e.0);
            None
        }
    }
}

pub(super) fn ts_list(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<Vec<(AddressSpec, Range<usize>)>> {
    let list = t.str_list(sink, key)?;
    let mut out = Vec::new();
    for (s, span) in list {
        match address::parse_address_spec(s) {
            Ok(a) => out.push((a, span)),
            Err(e) => sink.error(span, e.0),
        }
    }
    Some(out)
}
