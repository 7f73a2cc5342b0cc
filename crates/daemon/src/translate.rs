//! From the validated configuration to the IKE core's connection table.
//!
//! One protect policy is one IKE connection with one CHILD SA template: its
//! remote gives the peer, identities, credentials and IKE proposals; its
//! selectors give the traffic selectors; its ipsec and sa templates give the
//! mode, lifetimes and ESP proposals. Names that need the host (FQDNs, the
//! `MY_IP…` macros) are resolved here, so the IKE core only sees addresses.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use yadokari_config::address::{AddrMacro, Address, AddressSpec};
use yadokari_config::{self as cfg, Auth, Config, Policy};
use yadokari_ike as ike;
use yadokari_policy::{AddrRange, IpProtocol, PortRange, TrafficSelector};

/// One connection as the daemon knows it, beside the IKE core's `ConnConfig`.
#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    pub start: cfg::StartAction,
    pub conn: ike::ConnConfig,
    /// Removed or replaced by a reload: its slot stays (the IKE core never
    /// reuses a `ConnId`) so SAs still being deleted keep a name, but it no
    /// longer answers to its name and the core authenticates nothing with it.
    pub retired: bool,
}

/// Host names already resolved by the daemon's DNS refresher (with their
/// TTLs); names not in here are resolved by the system resolver.
pub type Resolved = std::collections::HashMap<String, IpAddr>;

pub fn connections(
    config: &Config,
    ike_port: u16,
    names: &Resolved,
) -> anyhow::Result<Vec<Connection>> {
    let mut out = Vec::new();
    for (name, policy) in &config.policies {
        let Policy::Protect { remote, ipsec } = policy else {
            continue;
        };
        let r = &config.remotes[remote];
        let tpl = &config.ipsec[ipsec];
        let conn = connection(config, name, r, tpl, ike_port, names)
            .with_context(|| format!("connection `{name}`"))?;
        out.push(Connection {
            name: name.clone(),
            start: r.start,
            conn,
            retired: false,
        });
    }
    Ok(out)
}

/// What a bypass or discard policy does with the traffic its selectors
/// name (RFC 4301 §4.4.1: BYPASS and DISCARD entries of the SPD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainAction {
    Bypass,
    Discard,
}

/// The destinations of every bypass and discard policy's selectors.
pub fn plain_policies(
    config: &Config,
    names: &Resolved,
) -> anyhow::Result<Vec<(PlainAction, TrafficSelector)>> {
    let mut out = Vec::new();
    for (name, policy) in &config.policies {
        let action = match policy {
            Policy::Bypass => PlainAction::Bypass,
            Policy::Discard => PlainAction::Discard,
            Policy::Protect { .. } => continue,
        };
        for sel in config.selectors.values().filter(|s| &s.policy == name) {
            let ts = selector(&sel.dst, sel.protocol, sel.dst_ports, None, names)
                .with_context(|| format!("policy `{name}`"))?;
            out.push((action, ts));
        }
    }
    Ok(out)
}

fn connection(
    config: &Config,
    name: &str,
    r: &cfg::Remote,
    tpl: &cfg::IpsecTemplate,
    ike_port: u16,
    names: &Resolved,
) -> anyhow::Result<ike::ConnConfig> {
    let remote_ip = resolve_peer(&r.address, names)?;
    let local_ip = match &r.local_address {
        Some(a) => resolve_local(a, names)?,
        None => None,
    };
    let local_id = match &r.local_id {
        Some(id) => identity(id)?,
        None => match local_ip {
            Some(ip) => ike::Identity::from_ip(ip),
            None => bail!("set `local_id` (or a literal local address to use as the identity)"),
        },
    };
    let remote_id = r.remote_id.as_ref().map(identity).transpose()?;
    let (local_auth, remote_auth, local_id) = auth(&r.auth, local_id)?;
    let mut ts_local = Vec::new();
    let mut ts_remote = Vec::new();
    for sel in config.selectors.values().filter(|s| s.policy == name) {
        ts_local.push(selector(
            &sel.src,
            sel.protocol,
            sel.src_ports,
            local_ip,
            names,
        )?);
        ts_remote.push(selector(
            &sel.dst,
            sel.protocol,
            sel.dst_ports,
            remote_ip,
            names,
        )?);
    }
    let mut esp = Vec::new();
    for sa in &tpl.sa {
        esp.extend(
            config.sa[sa]
                .proposals
                .iter()
                .map(cfg::proposal::EspProposal::to_core),
        );
    }
    let child = ike::ChildConfig {
        name: name.to_owned(),
        ts_local,
        ts_remote,
        proposals: esp,
        mode: tpl.mode,
        lifetime: lifetime(&tpl.lifetime),
    };
    Ok(ike::ConnConfig {
        name: name.to_owned(),
        local_addr: local_ip.map(|ip| SocketAddr::new(ip, ike_port)),
        remote_addr: remote_ip.map(|ip| SocketAddr::new(ip, ike_port)),
        local_id,
        remote_id,
        local_auth,
        remote_auth,
        ike_proposals: r
            .ike_proposals
            .iter()
            .map(cfg::proposal::IkeProposal::to_core)
            .collect(),
        children: vec![child],
        ike_lifetime: lifetime(&r.ike_lifetime),
        dpd_delay: r.dpd.map(|d| d.delay),
        // Without `dpd` the action never runs; restart is the documented default.
        dpd_action: r.dpd.map_or(ike::DpdAction::Restart, |d| d.action),
        force_encap: r.encap,
        reauth: r.reauth,
        window: r.window,
        fragment_size: r.fragment_size,
        childless: r.childless,
        ppk: r.ppk.as_ref().map(|p| ike::PpkConfig {
            id: p.id.as_bytes().to_vec(),
            key: ike::PskKey::shared(p.secret.shared()),
            required: p.required,
        }),
        retry: ike::RetryConfig {
            keep_up: r.start == cfg::StartAction::Initiate,
            keyingtries: r.keyingtries,
            max_interval: r.retry_max_interval,
            ..ike::RetryConfig::default()
        },
    })
}

fn lifetime(l: &cfg::Lifetime) -> ike::Lifetime {
    ike::Lifetime::new(l.rekey, l.jitter, l.rekey + l.margin)
}

fn identity(id: &cfg::identity::Identity) -> anyhow::Result<ike::Identity> {
    use cfg::identity::Identity as I;
    Ok(match id {
        I::Ip(ip) => ike::Identity::from_ip(*ip),
        I::Fqdn(s) => ike::Identity::Fqdn(s.clone()),
        I::Rfc822(s) => ike::Identity::Rfc822(s.clone()),
        I::KeyId(k) => ike::Identity::KeyId(k.clone()),
        // A DN is matched by attribute against the peer's ID_DER_ASN1_DN;
        // as our own ID it becomes our certificate's subject (see `auth`).
        I::DerAsn1Dn(dn) => ike::Identity::DnPattern(dn.clone()),
    })
}

/// Each side's credentials (issue 11: mixed PSK and certificates), and our
/// ID: a `dn:` local_id must be our certificate's subject, sent as its DER.
fn auth(
    a: &Auth,
    local_id: ike::Identity,
) -> anyhow::Result<(ike::AuthConfig, ike::AuthConfig, ike::Identity)> {
    let psk = || {
        a.psk
            .as_ref()
            .map(|s| ike::AuthConfig::Psk(ike::PskKey::shared(s.shared())))
            .ok_or_else(|| anyhow::anyhow!("no pre-shared key"))
    };
    let local = match &a.local_cert {
        Some(c) => ike::AuthConfig::Cert(c.cert.clone()),
        None => psk()?,
    };
    let remote = match &a.ca {
        Some(t) => ike::AuthConfig::Ca(t.store.clone()),
        None => psk()?,
    };
    let local_id = match (local_id, &a.local_cert) {
        (ike::Identity::DnPattern(dn), Some(c))
            if yadokari_crypto::cert::dn_matches(&dn, &c.cert.info.subject_der) =>
        {
            ike::Identity::Other {
                id_type: 9,
                data: c.cert.info.subject_der.clone(),
            }
        }
        (ike::Identity::DnPattern(dn), Some(c)) => bail!(
            "local_id `dn:{dn}` is not the subject of local_cert (`{}`)",
            c.cert.info.subject
        ),
        (ike::Identity::DnPattern(dn), None) => {
            bail!("local_id `dn:{dn}`: a distinguished name needs local_cert")
        }
        (id, _) => id,
    };
    Ok((local, remote, local_id))
}

/// The peer's address; `None` (IP_ANY) means any peer may connect.
fn resolve_peer(a: &Address, names: &Resolved) -> anyhow::Result<Option<IpAddr>> {
    match a {
        Address::Ip(ip) => Ok(Some(*ip)),
        Address::Fqdn(name) if names.contains_key(name) => Ok(names.get(name).copied()),
        Address::Fqdn(name) => {
            let ip = (name.as_str(), 0)
                .to_socket_addrs()
                .with_context(|| format!("cannot resolve `{name}`"))?
                .next()
                .ok_or_else(|| anyhow!("`{name}` has no address"))?
                .ip();
            Ok(Some(ip))
        }
        Address::Macro {
            kind: AddrMacro::IpAny,
            ..
        } => Ok(None),
        Address::Macro { kind, .. } => {
            bail!("{} names one of our own addresses, not a peer", kind.name())
        }
    }
}

/// One of our addresses; `None` means any.
pub fn resolve_local(a: &Address, names: &Resolved) -> anyhow::Result<Option<IpAddr>> {
    match a {
        Address::Ip(ip) => Ok(Some(*ip)),
        Address::Fqdn(_) => resolve_peer(a, names),
        Address::Macro {
            kind: AddrMacro::IpAny,
            ..
        } => Ok(None),
        Address::Macro { kind, ifname } => {
            let want = |ip: &IpAddr| match kind {
                AddrMacro::MyIpv4 => ip.is_ipv4(),
                AddrMacro::MyIpv6 => ip.is_ipv6(),
                AddrMacro::MyIpv6Global => ip.is_ipv6() && !is_link_local(ip),
                AddrMacro::MyIpv6LinkLocal => is_link_local(ip),
                _ => true,
            };
            let found = nix::ifaddrs::getifaddrs()
                .context("cannot list interface addresses")?
                .filter(|i| ifname.as_deref().is_none_or(|n| i.interface_name == n))
                .filter_map(|i| i.address)
                .filter_map(|s| {
                    s.as_sockaddr_in()
                        .map(|v4| IpAddr::V4(v4.ip()))
                        .or_else(|| s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
                })
                .filter(|ip| !ip.is_loopback())
                .find(|ip| want(ip));
            match found {
                Some(ip) => Ok(Some(ip)),
                None => bail!(
                    "{} matches no address{}",
                    kind.name(),
                    ifname
                        .as_ref()
                        .map(|i| format!(" on {i}"))
                        .unwrap_or_default()
                ),
            }
        }
    }
}

fn is_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

fn selector(
    spec: &AddressSpec,
    proto: IpProtocol,
    ports: PortRange,
    host: Option<IpAddr>,
    names: &Resolved,
) -> anyhow::Result<TrafficSelector> {
    let addrs = match spec {
        AddressSpec::Prefix(ip, len) => {
            let p = yadokari_policy::IpPrefix::new(*ip, *len).map_err(|e| anyhow!("{e}"))?;
            p.range()
        }
        AddressSpec::Range(a, b) => AddrRange::new(*a, *b).map_err(|e| anyhow!("{e}"))?,
        AddressSpec::Host(Address::Macro {
            kind: AddrMacro::IpAny,
            ..
        }) => {
            bail!("IP_ANY in a selector: write the prefix (0.0.0.0/0 or ::/0) to say which family")
        }
        AddressSpec::Host(Address::Macro {
            kind: AddrMacro::MyIp,
            ifname: None,
        }) => match host {
            Some(ip) => AddrRange::single(ip),
            None => {
                bail!("the selector names our address, but the connection has none; set `local`")
            }
        },
        AddressSpec::Host(a) => match resolve_local(a, names)? {
            Some(ip) => AddrRange::single(ip),
            None => bail!("cannot use `{a}` as a selector address"),
        },
    };
    Ok(TrafficSelector::new(addrs, proto, ports))
}

/// The endpoint-wide admission settings of `[daemon]` (RFC 7296 §2.6
/// COOKIE threshold, half-open limits) onto the core's configuration.
pub fn admission(d: &cfg::DaemonSettings, c: &mut ike::Config) {
    c.cookie_threshold = d.cookie_threshold;
    c.max_half_open = d.max_half_open;
    c.half_open_per_source = d.half_open_per_source;
}

/// The time after which an idle `up` request gives up waiting.
pub const UP_TIMEOUT: Duration = Duration::from_secs(30);
