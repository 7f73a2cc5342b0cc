//! Installs IKE-negotiated CHILD SAs into the data plane, and routes their
//! remote traffic selectors into the TUN device (route-based VPN: the
//! routing table picks the tunnel, the data plane picks the SA).
//!
//! Transport mode (RFC 4303 §3.1.1) protects traffic to the peer's own
//! address, which is also where the IKE and ESP datagrams go. Its host route
//! therefore lives in a table of its own that only unmarked traffic consults
//! ([`crate::net::TRANSPORT_TABLE`], reached through an `ip rule` added with
//! the first transport SA of a family and removed with the last); the
//! daemon's sockets carry [`crate::net::FWMARK`] and keep using the main
//! table.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use anyhow::{anyhow, bail, Context as _};
use yadokari_dataplane::{self as dp};
use yadokari_esp::{Encryption, InboundConfig, Integrity, Mode, OutboundConfig, Suite};
use yadokari_ike::{ChildSaInfo, TrafficSelector};
use yadokari_sys::netcfg::Prefix;

use crate::net::Net;

/// A route we added: destination prefix, and the table (`None`: main).
type RouteKey = (IpAddr, u8, Option<u32>);

/// Routes we added, with how many installed SAs need each.
#[derive(Default)]
pub struct Routes {
    refs: HashMap<RouteKey, usize>,
    by_sa: HashMap<u32, Vec<RouteKey>>,
    /// Transport-mode SAs per family (IPv4, IPv6): the policy rule stays
    /// while this is non-zero.
    transport: [usize; 2],
    /// Inbound SPIs of transport-mode SAs, with their family.
    transport_sas: HashMap<u32, bool>,
}

fn suite(info: &ChildSaInfo) -> anyhow::Result<Suite> {
    let a = &info.algorithms;
    let enc = Encryption::from_transform(a.encr.id, a.encr.key_len).ok_or_else(|| {
        anyhow!(
            "ESP encryption {} is not supported by the data plane",
            crate::sas_view::encr_name(a.encr.id, a.encr.key_len)
        )
    })?;
    let integ = match a.integ {
        None => Integrity::None,
        Some(t) => Integrity::from_transform(t.id).ok_or_else(|| {
            anyhow!(
                "ESP integrity {} is not supported",
                crate::sas_view::integ_name(t.id)
            )
        })?,
    };
    if enc.is_aead() {
        Ok(Suite::new(enc, Integrity::None)?)
    } else {
        Ok(Suite::new(enc, integ)?)
    }
}

fn dp_selectors(ts: &[TrafficSelector]) -> Vec<dp::TrafficSelector> {
    ts.iter()
        .map(|t| dp::TrafficSelector {
            start: t.addrs.start(),
            end: t.addrs.end(),
            protocol: t.ip_protocol.0,
            start_port: t.ports.start(),
            end_port: t.ports.end(),
        })
        .collect()
}

/// The two hosts of a transport-mode SA: the IKE SA's addresses.
fn transport_hosts(net: &Net, info: &ChildSaInfo) -> dp::TransportAddrs {
    let remote = crate::net::canonical(info.path.remote.ip());
    let mut local = crate::net::canonical(info.path.local.ip());
    if local.is_unspecified() {
        local = net.local_ip_for(remote);
    }
    dp::TransportAddrs { local, remote }
}

/// Whether the SA can carry transport mode between `a`'s hosts.
fn check_transport(info: &ChildSaInfo, a: &dp::TransportAddrs) -> anyhow::Result<()> {
    // RFC 3948 §3.1.2 would let us fix TCP/UDP checksums behind a NAT with
    // the peer's NAT-OA, which we do not exchange; without it every segment
    // would arrive with a bad checksum, so refuse loudly instead.
    if info.encap.is_some() {
        bail!(
            "transport mode over NAT-T (a NAT was detected, or encap is forced) is refused: \
             the TCP/UDP checksum fix-up of RFC 3948 §3.1.2 is not implemented; use tunnel \
             mode. Traffic to {} is dropped, not sent in clear",
            a.remote
        );
    }
    let has = |ts: &[TrafficSelector], x: IpAddr| ts.iter().any(|t| t.addrs.contains_addr(x));
    if !has(&info.ts_local, a.local) || !has(&info.ts_remote, a.remote) {
        bail!(
            "transport mode needs selectors covering the two hosts {} and {}; negotiated \
             {} <-> {}. Traffic to {} is dropped, not sent in clear",
            a.local,
            a.remote,
            join(&info.ts_local),
            join(&info.ts_remote),
            a.remote
        );
    }
    Ok(())
}

/// Routes the peer's own address into the TUN for everything but our own
/// IKE/ESP datagrams (marking those first, so none can take the route).
fn transport_route(
    net: &Net,
    routes: &mut Routes,
    spi_in: u32,
    a: &dp::TransportAddrs,
) -> anyhow::Result<()> {
    let v6 = a.remote.is_ipv6();
    net.enable_transport_routing(v6)?;
    routes.transport[usize::from(v6)] += 1;
    routes.transport_sas.insert(spi_in, v6);
    let len = if v6 { 128 } else { 32 };
    let key = (a.remote, len, Some(crate::net::TRANSPORT_TABLE));
    routes.by_sa.insert(spi_in, vec![key]);
    add_route(net, routes, key, Some(a.local))
}

/// Installs a CHILD SA pair. `standby_for`: the outbound SPI of the SA this
/// one replaces when we answered the rekey; the new outbound SA then waits
/// until the peer uses the new inbound one or deletes the old pair
/// ([`dp::Standby`], RFC 7296 §2.8).
pub fn install(
    net: &Net,
    routes: &mut Routes,
    info: &ChildSaInfo,
    standby_for: Option<u32>,
) -> anyhow::Result<()> {
    let (mode, esp_mode) = match info.mode {
        yadokari_ike::Mode::Tunnel => (dp::SaMode::Tunnel, Mode::Tunnel),
        yadokari_ike::Mode::Transport => {
            let a = transport_hosts(net, info);
            // Fail closed: the route goes in first, so if this SA is refused
            // (or fails below) traffic to the peer ends in the TUN without
            // an SA and is dropped, instead of leaving in clear. It goes
            // with the CHILD SA's removal.
            transport_route(net, routes, info.spi_in, &a)?;
            check_transport(info, &a)?;
            (dp::SaMode::Transport(a), Mode::Transport)
        }
    };
    let dpl = net.dataplane()?;
    let suite = suite(info)?;
    let mut icfg = InboundConfig::new(info.spi_in, suite, esp_mode);
    icfg.esn = info.algorithms.esn;
    let mut ocfg = OutboundConfig::new(info.spi_out, suite, esp_mode);
    ocfg.esn = info.algorithms.esn;
    let inbound = yadokari_esp::InboundSa::new(icfg, &info.keys_in.encr, &info.keys_in.integ)
        .context("inbound SA")?;
    let outbound = yadokari_esp::OutboundSa::new(ocfg, &info.keys_out.encr, &info.keys_out.integ)
        .context("outbound SA")?;
    // ESP follows the IKE SA's path: inside UDP on the NAT-T ports when
    // encapsulation was agreed (RFC 3948; a NAT was detected or it is
    // forced), otherwise as IP protocol 50 (RFC 4303, RFC 7296 §2.23).
    let peer = match info.encap {
        Some(e) => dp::EspTransport::Udp(SocketAddr::new(info.path.remote.ip(), e.remote_port)),
        None => dp::EspTransport::Raw(crate::net::canonical(info.path.remote.ip())),
    };
    let local_ts = dp_selectors(&info.ts_local);
    let remote_ts = dp_selectors(&info.ts_remote);
    let standby = standby_for.map(|replaces| dp::Standby {
        replaces,
        ready: std::sync::Arc::default(),
    });
    dpl.install_inbound(dp::InboundSa {
        spi: info.spi_in,
        local_ts: local_ts.clone(),
        remote_ts: remote_ts.clone(),
        mode,
        decap: Box::new(inbound),
        activates: standby.as_ref().map(|s| s.ready.clone()),
    })?;
    dpl.install_outbound(dp::OutboundSa {
        spi: info.spi_out,
        peer,
        local_ts,
        remote_ts,
        mode,
        encap: Box::new(outbound),
        standby,
    })?;

    if matches!(mode, dp::SaMode::Transport(_)) {
        // Routed above; the data plane refuses anything but the two hosts.
        return Ok(());
    }

    // Route the peer's networks into the TUN, with one of our addresses
    // inside our selectors as the source so locally generated traffic
    // matches them too.
    let mut added = Vec::new();
    for ts in &info.ts_remote {
        let prefixes = ts.addrs.to_prefixes();
        // Listing the host's addresses is costly (a netlink dump); only a
        // route that does not exist yet needs its source.
        let new_route = prefixes.iter().any(|p| {
            routes
                .refs
                .get(&(p.addr(), p.prefix_len(), None))
                .is_none_or(|n| *n == 0)
        });
        let src = if new_route {
            info.ts_local
                .iter()
                .filter(|l| l.addrs.is_ipv4() == ts.addrs.is_ipv4())
                .find_map(host_address_in)
        } else {
            None
        };
        for p in prefixes {
            let key = (p.addr(), p.prefix_len(), None);
            add_route(net, routes, key, src)?;
            added.push(key);
        }
    }
    routes.by_sa.insert(info.spi_in, added);
    Ok(())
}

/// Adds the route (once; later users only count).
fn add_route(
    net: &Net,
    routes: &mut Routes,
    key: RouteKey,
    src: Option<IpAddr>,
) -> anyhow::Result<()> {
    let n = routes.refs.entry(key).or_insert(0);
    if *n == 0 {
        let dst = Prefix {
            addr: key.0,
            len: key.1,
        };
        let res = match key.2 {
            None => net.ip.route_replace(dst, &net.tun_name, src),
            Some(table) => net.route_replace_table(dst, src, table),
        };
        res.with_context(|| format!("cannot route {dst} into {}", net.tun_name))?;
    }
    *n += 1;
    Ok(())
}

/// One of this host's addresses inside `ts`, if any.
fn host_address_in(ts: &TrafficSelector) -> Option<IpAddr> {
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    addrs
        .filter_map(|i| i.address)
        .filter_map(|s| {
            s.as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .find(|ip| ts.addrs.contains_addr(*ip))
}

/// Removes an SA pair; routes go when no installed SA needs them.
pub fn remove(
    net: &Net,
    routes: &mut Routes,
    spi_in: u32,
    spi_out: u32,
    _remaining: &[ChildSaInfo],
) {
    if let Ok(d) = net.dataplane() {
        let _ = d.remove_inbound(spi_in);
        let _ = d.remove_outbound(spi_out, None);
    }
    for key in routes.by_sa.remove(&spi_in).unwrap_or_default() {
        if let Some(n) = routes.refs.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                routes.refs.remove(&key);
                let dst = Prefix {
                    addr: key.0,
                    len: key.1,
                };
                let _ = match key.2 {
                    None => net.ip.route_delete(dst, &net.tun_name),
                    Some(table) => net.route_delete_table(dst, table),
                };
            }
        }
    }
    if let Some(v6) = routes.transport_sas.remove(&spi_in) {
        let fam = usize::from(v6);
        routes.transport[fam] = routes.transport[fam].saturating_sub(1);
        if routes.transport[fam] == 0 {
            net.disable_transport_routing(v6);
        }
    }
}

/// Selectors as the operator writes them: `203.0.113.0/24, 198.51.100.7`.
fn join(ts: &[TrafficSelector]) -> String {
    ts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
