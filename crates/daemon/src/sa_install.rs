//! Installs IKE-negotiated CHILD SAs into the data plane, and routes their
//! remote traffic selectors into the TUN device (route-based VPN: the
//! routing table picks the tunnel, the data plane picks the SA).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use anyhow::{anyhow, bail, Context as _};
use yadokari_dataplane::{self as dp};
use yadokari_esp::{Encryption, InboundConfig, Integrity, Mode, OutboundConfig, Suite};
use yadokari_ike::{ChildSaInfo, TrafficSelector};
use yadokari_sys::netcfg::Prefix;

use crate::net::Net;

/// Routes we added, with how many installed SAs need each.
#[derive(Default)]
pub struct Routes {
    refs: HashMap<(IpAddr, u8), usize>,
    by_sa: HashMap<u32, Vec<(IpAddr, u8)>>,
}

fn suite(info: &ChildSaInfo) -> anyhow::Result<Suite> {
    let a = &info.algorithms;
    let enc = Encryption::from_transform(a.encr.id, a.encr.key_len).ok_or_else(|| {
        anyhow!(
            "ESP encryption {} ({:?} bits) is not supported by the data plane",
            a.encr.id,
            a.encr.key_len
        )
    })?;
    let integ = match a.integ {
        None => Integrity::None,
        Some(t) => Integrity::from_transform(t.id)
            .ok_or_else(|| anyhow!("ESP integrity {} is not supported", t.id))?,
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

pub fn install(net: &Net, routes: &mut Routes, info: &ChildSaInfo) -> anyhow::Result<()> {
    if info.mode != yadokari_ike::Mode::Tunnel {
        bail!("transport mode needs policy routing that the TUN data plane does not do yet");
    }
    let dpl = net.dataplane()?;
    let suite = suite(info)?;
    let mut icfg = InboundConfig::new(info.spi_in, suite, Mode::Tunnel);
    icfg.esn = info.algorithms.esn;
    let mut ocfg = OutboundConfig::new(info.spi_out, suite, Mode::Tunnel);
    ocfg.esn = info.algorithms.esn;
    let inbound = yadokari_esp::InboundSa::new(icfg, &info.keys_in.encr, &info.keys_in.integ)
        .context("inbound SA")?;
    let outbound = yadokari_esp::OutboundSa::new(ocfg, &info.keys_out.encr, &info.keys_out.integ)
        .context("outbound SA")?;
    // ESP follows the IKE SA's path; when UDP encapsulation is in use its
    // ports are the NAT-T ports (RFC 3948).
    let peer = match info.encap {
        Some(e) => SocketAddr::new(info.path.remote.ip(), e.remote_port),
        None => SocketAddr::new(info.path.remote.ip(), net.natt_port()),
    };
    let local_ts = dp_selectors(&info.ts_local);
    let remote_ts = dp_selectors(&info.ts_remote);
    dpl.install_inbound(dp::InboundSa {
        spi: info.spi_in,
        local_ts: local_ts.clone(),
        remote_ts: remote_ts.clone(),
        decap: Box::new(inbound),
    })?;
    dpl.install_outbound(dp::OutboundSa {
        spi: info.spi_out,
        peer,
        local_ts,
        remote_ts,
        encap: Box::new(outbound),
    })?;

    // Route the peer's networks into the TUN, with one of our addresses
    // inside our selectors as the source so locally generated traffic
    // matches them too.
    let mut added = Vec::new();
    for ts in &info.ts_remote {
        let src = info
            .ts_local
            .iter()
            .filter(|l| l.addrs.is_ipv4() == ts.addrs.is_ipv4())
            .find_map(host_address_in);
        for p in ts.addrs.to_prefixes() {
            let key = (p.addr(), p.prefix_len());
            let n = routes.refs.entry(key).or_insert(0);
            if *n == 0 {
                net.ip
                    .route_replace(
                        Prefix {
                            addr: p.addr(),
                            len: p.prefix_len(),
                        },
                        &net.tun_name,
                        src,
                    )
                    .with_context(|| {
                        format!(
                            "cannot route {}/{} into {}",
                            p.addr(),
                            p.prefix_len(),
                            net.tun_name
                        )
                    })?;
            }
            *n += 1;
            added.push(key);
        }
    }
    routes.by_sa.insert(info.spi_in, added);
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
                let _ = net.ip.route_delete(
                    Prefix {
                        addr: key.0,
                        len: key.1,
                    },
                    &net.tun_name,
                );
            }
        }
    }
}
