//! Addresses as written in the configuration: literals, prefixes, ranges,
//! FQDNs, and racoon2's macros (`MY_IP`, `MY_IPV4`, `MY_IPV6`,
//! `MY_IPV6_GLOBAL`, `MY_IPV6_LINKLOCAL`, each with an optional `%ifname`,
//! and `IP_ANY`). FQDNs and macros are resolved by the daemon, not here: the
//! config crate does no I/O.

use std::fmt;
use std::net::IpAddr;

/// Which address family a value can take, when the text alone says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrMacro {
    MyIp,
    MyIpv4,
    MyIpv6,
    MyIpv6Global,
    MyIpv6LinkLocal,
    IpAny,
}

impl AddrMacro {
    const ALL: [(&'static str, AddrMacro); 6] = [
        ("MY_IP", AddrMacro::MyIp),
        ("MY_IPV4", AddrMacro::MyIpv4),
        ("MY_IPV6", AddrMacro::MyIpv6),
        ("MY_IPV6_GLOBAL", AddrMacro::MyIpv6Global),
        ("MY_IPV6_LINKLOCAL", AddrMacro::MyIpv6LinkLocal),
        ("IP_ANY", AddrMacro::IpAny),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, m)| *m == self)
            .map_or("?", |(n, _)| n)
    }

    pub fn family(self) -> Option<Family> {
        match self {
            AddrMacro::MyIpv4 => Some(Family::V4),
            AddrMacro::MyIpv6 | AddrMacro::MyIpv6Global | AddrMacro::MyIpv6LinkLocal => {
                Some(Family::V6)
            }
            AddrMacro::MyIp | AddrMacro::IpAny => None,
        }
    }
}

/// One host address: a peer, a listening address, a tunnel endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Ip(IpAddr),
    Fqdn(String),
    Macro {
        kind: AddrMacro,
        ifname: Option<String>,
    },
}

impl Address {
    pub fn family(&self) -> Option<Family> {
        match self {
            Address::Ip(ip) => Some(family_of(ip)),
            Address::Fqdn(_) => None,
            Address::Macro { kind, .. } => kind.family(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Ip(ip) => write!(f, "{ip}"),
            Address::Fqdn(name) => f.write_str(name),
            Address::Macro { kind, ifname: None } => f.write_str(kind.name()),
            Address::Macro {
                kind,
                ifname: Some(i),
            } => write!(f, "{}%{i}", kind.name()),
        }
    }
}

/// A set of addresses in a selector: a prefix, an inclusive range, or a
/// single address, FQDN or macro.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressSpec {
    Prefix(IpAddr, u8),
    Range(IpAddr, IpAddr),
    Host(Address),
}

impl AddressSpec {
    pub fn family(&self) -> Option<Family> {
        match self {
            AddressSpec::Prefix(ip, _) | AddressSpec::Range(ip, _) => Some(family_of(ip)),
            AddressSpec::Host(a) => a.family(),
        }
    }
}

impl fmt::Display for AddressSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AddressSpec::Prefix(ip, len) => write!(f, "{ip}/{len}"),
            AddressSpec::Range(a, b) => write!(f, "{a}-{b}"),
            AddressSpec::Host(a) => write!(f, "{a}"),
        }
    }
}

pub fn family_of(ip: &IpAddr) -> Family {
    match ip {
        IpAddr::V4(_) => Family::V4,
        IpAddr::V6(_) => Family::V6,
    }
}

/// Why a text is not an address; the message is meant for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressError(pub String);

pub fn parse_address(text: &str) -> Result<Address, AddressError> {
    let text = text.trim();
    if let Some(m) = parse_macro(text)? {
        return Ok(m);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(Address::Ip(ip));
    }
    if text.contains('/') {
        return Err(AddressError(format!(
            "`{text}` is a prefix; a single address is needed here"
        )));
    }
    if is_fqdn(text) {
        return Ok(Address::Fqdn(text.trim_end_matches('.').to_owned()));
    }
    Err(AddressError(format!(
        "`{text}` is not an IP address, a host name, or one of MY_IP, MY_IPV4, MY_IPV6, MY_IPV6_GLOBAL, MY_IPV6_LINKLOCAL, IP_ANY"
    )))
}

pub fn parse_address_spec(text: &str) -> Result<AddressSpec, AddressError> {
    let text = text.trim();
    if let Some((addr, len)) = text.split_once('/') {
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| AddressError(format!("`{addr}` in `{text}` is not an IP address")))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| AddressError(format!("prefix length `{len}` must be 0 to {max}")))?;
        if !host_bits_zero(&ip, len) {
            return Err(AddressError(format!(
                "`{text}` has host bits set; the network is {}/{len}",
                mask(&ip, len)
            )));
        }
        return Ok(AddressSpec::Prefix(ip, len));
    }
    if let Some((a, b)) = text
        .split_once('-')
        .filter(|(a, _)| a.parse::<IpAddr>().is_ok())
    {
        let start: IpAddr = a
            .parse()
            .map_err(|_| AddressError(format!("`{a}` is not an IP address")))?;
        let end: IpAddr = b
            .parse()
            .map_err(|_| AddressError(format!("`{b}` is not an IP address")))?;
        if family_of(&start) != family_of(&end) {
            return Err(AddressError(format!("range `{text}` mixes IPv4 and IPv6")));
        }
        if start > end {
            return Err(AddressError(format!(
                "range `{text}` ends before it starts"
            )));
        }
        return Ok(AddressSpec::Range(start, end));
    }
    parse_address(text).map(AddressSpec::Host)
}

fn parse_macro(text: &str) -> Result<Option<Address>, AddressError> {
    let (name, ifname) = match text.split_once('%') {
        Some((n, i)) => (n, Some(i)),
        None => (text, None),
    };
    let Some((_, kind)) = AddrMacro::ALL.iter().find(|(n, _)| *n == name) else {
        if name.starts_with("MY_") || name.starts_with("IP_") {
            return Err(AddressError(format!(
                "unknown macro `{name}`; known: MY_IP, MY_IPV4, MY_IPV6, MY_IPV6_GLOBAL, MY_IPV6_LINKLOCAL, IP_ANY"
            )));
        }
        return Ok(None);
    };
    if let Some(i) = ifname {
        if i.is_empty() || i.len() > 15 || i.contains(['/', ' ']) {
            return Err(AddressError(format!("`{i}` is not an interface name")));
        }
        if *kind == AddrMacro::IpAny {
            return Err(AddressError("IP_ANY takes no interface".into()));
        }
    }
    Ok(Some(Address::Macro {
        kind: *kind,
        ifname: ifname.map(str::to_owned),
    }))
}

/// RFC 1123 host name syntax, with at least one dot so that a misspelt
/// keyword is not mistaken for a name.
fn is_fqdn(text: &str) -> bool {
    let t = text.trim_end_matches('.');
    t.len() <= 253
        && t.contains('.')
        && t.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && !t
            .split('.')
            .next_back()
            .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
}

fn host_bits_zero(ip: &IpAddr, len: u8) -> bool {
    mask(ip, len) == *ip
}

fn mask(ip: &IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::V4((u32::from(*a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::V6((u128::from(*a) & m).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(
            parse_address("192.0.2.1").unwrap(),
            Address::Ip("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            parse_address("vpn.example.org").unwrap(),
            Address::Fqdn("vpn.example.org".into())
        );
        assert_eq!(
            parse_address("MY_IPV6_GLOBAL%eth0").unwrap(),
            Address::Macro {
                kind: AddrMacro::MyIpv6Global,
                ifname: Some("eth0".into())
            }
        );
        assert_eq!(
            parse_address_spec("198.51.100.0/24").unwrap(),
            AddressSpec::Prefix("198.51.100.0".parse().unwrap(), 24)
        );
        assert_eq!(
            parse_address_spec("2001:db8::1-2001:db8::9").unwrap(),
            AddressSpec::Range(
                "2001:db8::1".parse().unwrap(),
                "2001:db8::9".parse().unwrap()
            )
        );
        assert_eq!(parse_address_spec("IP_ANY").unwrap().family(), None);
    }

    #[test]
    fn rejects_with_reasons() {
        assert!(parse_address_spec("198.51.100.1/24")
            .unwrap_err()
            .0
            .contains("198.51.100.0/24"));
        assert!(parse_address_spec("198.51.100.0/33").is_err());
        assert!(parse_address("MY_IPV5")
            .unwrap_err()
            .0
            .contains("unknown macro"));
        assert!(parse_address("not an address").is_err());
        assert!(parse_address("1.2.3").is_err());
        assert!(parse_address_spec("192.0.2.9-192.0.2.1").is_err());
        assert!(parse_address_spec("192.0.2.1-2001:db8::1").is_err());
    }
}
