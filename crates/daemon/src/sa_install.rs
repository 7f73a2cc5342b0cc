//! Installs IKE-negotiated CHILD SAs into the data plane. Routing is not
//! per SA: the policy routes into the TUN are in place from load to unload
//! ([`crate::routes`]), so traffic with no SA is dropped by the data plane,
//! never sent in clear; this module only adds and removes the SAs the data
//! plane picks by selector.
//!
//! Transport mode (RFC 4303 §3.1.1) protects traffic to the peer's own
//! address, which is also where the IKE and ESP datagrams go: its host
//! route is one of the policy routes, which the daemon's marked sockets
//! never consult ([`crate::net::FWMARK`]).

use std::net::{IpAddr, SocketAddr};

use anyhow::{anyhow, bail, Context as _};
use yadokari_dataplane::{self as dp};
use yadokari_esp::{Encryption, InboundConfig, Integrity, Mode, OutboundConfig, Suite};
use yadokari_ike::{ChildSaInfo, ChildSaKeys, TrafficSelector};

use crate::net::Net;

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

/// Installs a CHILD SA pair with the keys its install event carried: they
/// become the ESP transforms' key schedules and are wiped when `keys` is
/// dropped here (the IKE core kept none). `standby_for`: the outbound SPI
/// of the SA this one replaces when we answered the rekey; the new
/// outbound SA then waits until the peer uses the new inbound one or
/// deletes the old pair ([`dp::Standby`], RFC 7296 §2.8).
pub fn install(
    net: &Net,
    info: &ChildSaInfo,
    keys: ChildSaKeys,
    standby_for: Option<u32>,
) -> anyhow::Result<()> {
    // One mode type from IKE to ESP; the data plane's also carries the
    // transport-mode hosts.
    let esp_mode = info.mode;
    let mode = match info.mode {
        Mode::Tunnel => dp::SaMode::Tunnel,
        Mode::Transport => {
            // Fail closed: the peer's host route into the TUN is in place
            // since load, so if this SA is refused traffic to the peer is
            // dropped, not sent in clear.
            let a = transport_hosts(net, info);
            check_transport(info, &a)?;
            warn_strict_rp_filter(a.remote);
            dp::SaMode::Transport(a)
        }
    };
    let dpl = net.dataplane()?;
    let suite = suite(info)?;
    let mut icfg = InboundConfig::new(info.spi_in, suite, esp_mode);
    icfg.esn = info.algorithms.esn;
    let mut ocfg = OutboundConfig::new(info.spi_out, suite, esp_mode);
    ocfg.esn = info.algorithms.esn;
    let (kin, kout) = (&keys.inbound, &keys.outbound);
    let inbound = yadokari_esp::InboundSa::new(icfg, kin.encr.expose(), kin.integ.expose())
        .context("inbound SA")?;
    let outbound = yadokari_esp::OutboundSa::new(ocfg, kout.encr.expose(), kout.integ.expose())
        .context("outbound SA")?;
    drop(keys);
    // ESP follows the IKE SA's path: inside UDP on the NAT-T ports when
    // encapsulation was agreed (RFC 3948; a NAT was detected or it is
    // forced), otherwise as IP protocol 50 (RFC 4303, RFC 7296 §2.23).
    let peer = match info.encap {
        Some(e) => dp::EspTransport::Udp(SocketAddr::new(info.path.remote.ip(), e.remote_port)),
        None => dp::EspTransport::Raw(crate::net::canonical(info.path.remote.ip())),
    };
    let local_ts = info.ts_local.clone();
    let remote_ts = info.ts_remote.clone();
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
        spi_in: info.spi_in,
        peer,
        local_ts,
        remote_ts,
        mode,
        encap: Box::new(outbound),
        standby,
    })?;

    Ok(())
}

/// The reverse-path check looks up the peer's address without our mark,
/// finds the TUN, and drops ESP arriving from a transport-mode peer on the
/// outer interface when the check is strict. Said once per run.
fn warn_strict_rp_filter(peer: IpAddr) {
    static SAID: std::sync::Once = std::sync::Once::new();
    let strict = std::fs::read_to_string("/proc/sys/net/ipv4/conf/all/rp_filter")
        .is_ok_and(|v| v.trim() == "1");
    if peer.is_ipv4() && strict {
        SAID.call_once(|| {
            tracing::warn!(
                "net.ipv4.conf.all.rp_filter is 1 (strict): ESP from transport-mode peers \
                 will fail the reverse-path check; set it to 2 (loose)"
            );
        });
    }
}

/// Removes an SA pair from the data plane (its routes stay: they belong
/// to the policy, not the SA).
pub fn remove(net: &Net, spi_in: u32, spi_out: u32) {
    if let Ok(d) = net.dataplane() {
        let _ = d.remove_inbound(spi_in);
        let _ = d.remove_outbound(spi_out, None);
    }
}

/// Selectors as the operator writes them: `203.0.113.0/24, 198.51.100.7`.
fn join(ts: &[TrafficSelector]) -> String {
    ts.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
