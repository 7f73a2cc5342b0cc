//! One side of a manually keyed yadokari tunnel, for benchmarks and manual
//! tests: opens a TUN, routes the remote networks into it, binds the NAT-T
//! socket and runs the data plane with one AES-GCM SA pair until killed
//! (or until stdin closes, with `--until-eof`).
//!
//! ```text
//! ip netns exec L ykdp-peer --local 192.0.2.1:4500 --peer 192.0.2.2:4500 \
//!     --local-net 198.51.100.0/24 --remote-net 203.0.113.0/24 --src 198.51.100.1 \
//!     --spi-in 1001 --spi-out 2002 --key-in HEX40 --key-out HEX40 [--tun ykdp0] \
//!     [--no-offload] [--workers N] [--stats SECS]
//! ```
//! Keys are hex of key ‖ 4-byte salt (20 bytes for AES-128-GCM, 36 for
//! AES-256-GCM).

use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use yadokari_dataplane::{tunnel_mtu, AeadAlgorithm, Config, DataPlane, ManualSa, TrafficSelector};
use yadokari_sys::netcfg::{IpTool, Prefix};
use yadokari_sys::tun::{Tun, TunConfig};
use yadokari_sys::udp::{UdpConfig, UdpSocket};

fn hex(s: &str) -> Result<Vec<u8>> {
    if s.len() % 2 != 0 {
        bail!("odd-length hex");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).context("bad hex"))
        .collect()
}

fn prefix(s: &str) -> Result<Prefix> {
    let (a, l) = s.split_once('/').context("expected ADDR/LEN")?;
    Ok(Prefix {
        addr: a.parse()?,
        len: l.parse()?,
    })
}

#[derive(Default)]
struct Args {
    tun: String,
    local: Option<SocketAddr>,
    peer: Option<SocketAddr>,
    local_nets: Vec<Prefix>,
    remote_nets: Vec<Prefix>,
    src: Vec<IpAddr>,
    spi_in: u32,
    spi_out: u32,
    key_in: Vec<u8>,
    key_out: Vec<u8>,
    offload: bool,
    workers: usize,
    stats: Option<u64>,
    until_eof: bool,
}

fn parse() -> Result<Args> {
    let mut a = Args {
        tun: "ykdp0".into(),
        offload: true,
        workers: 1,
        ..Args::default()
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().with_context(|| format!("{k} needs a value"));
        match k.as_str() {
            "--tun" => a.tun = v()?,
            "--local" => a.local = Some(v()?.parse()?),
            "--peer" => a.peer = Some(v()?.parse()?),
            "--local-net" => a.local_nets.push(prefix(&v()?)?),
            "--remote-net" => a.remote_nets.push(prefix(&v()?)?),
            "--src" => a.src.push(v()?.parse()?),
            "--spi-in" => a.spi_in = u32::from_str_radix(&v()?, 16)?,
            "--spi-out" => a.spi_out = u32::from_str_radix(&v()?, 16)?,
            "--key-in" => a.key_in = hex(&v()?)?,
            "--key-out" => a.key_out = hex(&v()?)?,
            "--no-offload" => a.offload = false,
            "--workers" => a.workers = v()?.parse()?,
            "--stats" => a.stats = Some(v()?.parse()?),
            "--until-eof" => a.until_eof = true,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn main() -> Result<()> {
    let a = parse()?;
    let local = a.local.context("--local required")?;
    let peer = a.peer.context("--peer required")?;
    let alg = match a.key_in.len() {
        20 => AeadAlgorithm::AesGcm128,
        36 => AeadAlgorithm::AesGcm256,
        n => bail!("key of {n} bytes: expected 20 (AES-128-GCM) or 36 (AES-256-GCM)"),
    };
    let mtu = tunnel_mtu(1500, peer.is_ipv6());
    let tun = Tun::open(&TunConfig {
        name: a.tun.clone(),
        mtu,
        offload: a.offload,
        multi_queue: false,
    })?;
    let mut sockets = Vec::new();
    for _ in 0..a.workers.max(1) {
        let mut cfg = UdpConfig::new(local);
        cfg.reuse_port = a.workers > 1;
        cfg.recv_buffer = 16 << 20;
        cfg.send_buffer = 16 << 20;
        sockets.push(UdpSocket::bind(&cfg)?);
    }
    let info = sockets[0].info()?;
    eprintln!(
        "ykdp-peer: tun {} mtu {mtu} offload {} (udp {}), socket {local} {info:?}",
        a.tun,
        tun.offload(),
        tun.udp_offload()
    );
    let ip = IpTool::current();
    ip.link_up(&a.tun, mtu)?;
    for n in &a.remote_nets {
        let src = a
            .src
            .iter()
            .copied()
            .find(|s| s.is_ipv4() == n.addr.is_ipv4());
        ip.route_replace(*n, &a.tun, src)?;
    }
    let ts = |v: &[Prefix]| {
        v.iter()
            .map(|p| {
                yadokari_policy::IpPrefix::new(p.addr, p.len)
                    .map(TrafficSelector::from_prefix)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .collect::<Result<Vec<_>>>()
    };
    let sa = ManualSa {
        spi_in: a.spi_in,
        spi_out: a.spi_out,
        algorithm: alg,
        key_in: a.key_in.clone().into(),
        key_out: a.key_out.clone().into(),
        peer,
        local_ts: ts(&a.local_nets)?,
        remote_ts: ts(&a.remote_nets)?,
    };
    let cfg = Config {
        keepalive_interval: None,
        ..Config::default()
    };
    let (dp, _ch) = DataPlane::start(cfg, vec![tun], sockets)?;
    dp.install_manual(&sa)?;
    dp.sync(Duration::from_secs(2))?;
    eprintln!("ykdp-peer: running");
    if a.until_eof {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
        eprintln!("ykdp-peer: {:?}", dp.counters());
        return Ok(());
    }
    loop {
        std::thread::sleep(Duration::from_secs(a.stats.unwrap_or(3600)));
        if a.stats.is_some() {
            eprintln!("ykdp-peer: {:?}", dp.counters());
        }
    }
}
