//! Two data planes in two network namespaces (testbed's direct topology:
//! outer 192.0.2.1 ⇄ 192.0.2.2 on a veth, sites 198.51.100.0/24 +
//! 2001:db8:a::/64 and 203.0.113.0/24 + 2001:db8:b::/64 routed into each
//! TUN), joined by manually keyed AES-GCM SAs. Checks ping (v4 and v6) and a
//! bounded TCP transfer through the tunnel, a table of bad datagrams that
//! must be counted and dropped, that a garbage flood to UDP 4500 does
//! not stop traffic, and that a packet too big for its SA is answered with
//! an ICMP error through the TUN.
//!
//! Needs root, `ip`, `ping` and /dev/net/tun; otherwise it prints
//! `skipped: REASON` (or panics with `YK_TESTBED_REQUIRED=1`).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket as StdUdp};
use std::time::{Duration, Instant};

use yadokari_dataplane::transform::aead_outbound;
use yadokari_dataplane::{
    tunnel_mtu, AeadAlgorithm, Channels, Config, DataPlane, Direction, EspEncap, ManualSa,
    TrafficSelector,
};
use yadokari_esp::{Mode, OutboundConfig, OutboundSa as EspOutbound};
use yadokari_sys::netcfg::{IpTool, Prefix};
use yadokari_sys::netns::run_in;
use yadokari_sys::tun::{Tun, TunConfig};
use yadokari_sys::udp::{UdpConfig, UdpSocket};
use yadokari_testbed::{Side, Topology};

const TUN: &str = "ykdp0";
const SPI_L: u32 = 0x0000_1001; // inbound on the left
const SPI_R: u32 = 0x0000_2002; // inbound on the right
const SPI_PROBE: u32 = 0x0000_5005; // extra inbound SA on the right for crafted packets

fn skip_reason() -> Option<String> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|v| v.split_whitespace().next() == Some("0"))
        })
        .unwrap_or(false);
    let reason = if !root {
        Some("needs root (network namespaces)".to_owned())
    } else if !std::path::Path::new("/dev/net/tun").exists() {
        Some("/dev/net/tun missing".to_owned())
    } else {
        ["ip", "ping"]
            .iter()
            .find(|p| !yadokari_testbed::topology::have_program(p))
            .map(|p| format!("program {p} not found"))
    };
    if let Some(r) = &reason {
        assert!(
            std::env::var("YK_TESTBED_REQUIRED").map_or(true, |v| v != "1"),
            "test bed unusable: {r}"
        );
    }
    reason
}

fn ts(s: &str) -> TrafficSelector {
    s.parse().expect("cidr")
}

fn key(b: u8) -> Vec<u8> {
    (0..20).map(|i| b.wrapping_add(i)).collect()
}

fn left_sa(topo: &Topology) -> ManualSa {
    let r = topo.addrs(Side::Right);
    ManualSa {
        spi_in: SPI_L,
        spi_out: SPI_R,
        algorithm: AeadAlgorithm::AesGcm128,
        key_in: key(0x40).into(),
        key_out: key(0x80).into(),
        peer: SocketAddr::new(r.outer4, 4500),
        local_ts: vec![ts("198.51.100.0/24"), ts("2001:db8:a::/64")],
        remote_ts: vec![ts("203.0.113.0/24"), ts("2001:db8:b::/64")],
    }
}

struct Peer {
    dp: DataPlane,
    ch: Channels,
}

fn start_peer(topo: &Topology, side: Side, sa: &ManualSa, activity: Option<Duration>) -> Peer {
    let ns = topo.ns(side).name().to_owned();
    let a = topo.addrs(side);
    let b = topo.addrs(side.peer());
    let mtu = tunnel_mtu(1500, false);
    let bind = SocketAddr::new(a.outer4, 4500);
    let (tun, sock) = run_in(&ns, move || {
        let tun = Tun::open(&TunConfig {
            name: TUN.into(),
            mtu,
            offload: true,
            multi_queue: false,
        })?;
        let sock = UdpSocket::bind(&UdpConfig::new(bind))?;
        Ok((tun, sock))
    })
    .expect("open TUN and socket in namespace");
    let ip = IpTool::in_netns(&ns);
    ip.link_up(TUN, mtu).expect("link up");
    for (net, src) in [(b.net4, a.site4), (b.net6, a.site6)] {
        let (addr, len) = net.split_once('/').expect("cidr");
        let p = Prefix {
            addr: addr.parse().expect("addr"),
            len: len.parse().expect("len"),
        };
        ip.route_replace(p, TUN, Some(src)).expect("route");
    }
    let cfg = Config {
        keepalive_interval: Some(Duration::from_millis(300)),
        activity_interval: activity,
        ..Config::default()
    };
    let (dp, ch) = DataPlane::start(cfg, vec![tun], vec![sock]).expect("start data plane");
    dp.install_manual(sa).expect("install SA");
    dp.sync(Duration::from_secs(2)).expect("SAs applied");
    Peer { dp, ch }
}

fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// IPv4 ICMP echo request `src` → `dst` with valid checksums.
fn icmp_echo(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; 28 + 16];
    p[0] = 0x45;
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p[8] = 64;
    p[9] = 1;
    p[12..16].copy_from_slice(&src);
    p[16..20].copy_from_slice(&dst);
    let c = yadokari_dataplane::ip::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20] = 8;
    p[24..26].copy_from_slice(&0x7777u16.to_be_bytes());
    let c = yadokari_dataplane::ip::checksum(&p[20..]);
    p[22..24].copy_from_slice(&c.to_be_bytes());
    p
}

fn seal(e: &mut dyn EspEncap, inner: &[u8], nh: u8) -> Vec<u8> {
    let h = e.header_len();
    let mut b = vec![0u8; h + inner.len() + e.trailer_len(inner.len())];
    b[h..h + inner.len()].copy_from_slice(inner);
    let r = e.encap(&mut b, h..h + inner.len(), nh).expect("seal");
    b[r].to_vec()
}

fn tcp_transfer(topo: &Topology, bytes: usize) -> usize {
    let server_addr = SocketAddr::new(topo.addrs(Side::Right).site4, 5001);
    let listener = run_in(topo.right.name(), move || TcpListener::bind(server_addr))
        .expect("listen in right namespace");
    let server = std::thread::spawn(move || -> usize {
        let Ok((mut s, _)) = listener.accept() else {
            return 0;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = vec![0u8; 65536];
        let mut total = 0;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    });
    let client = run_in(topo.left.name(), move || {
        TcpStream::connect_timeout(&server_addr, Duration::from_secs(3))
    });
    if let Ok(mut c) = client {
        let _ = c.set_write_timeout(Some(Duration::from_secs(5)));
        let chunk = vec![0x5au8; 64 * 1024];
        let mut sent = 0;
        while sent < bytes {
            let n = chunk.len().min(bytes - sent);
            if c.write_all(&chunk[..n]).is_err() {
                break;
            }
            sent += n;
        }
        let _ = c.shutdown(std::net::Shutdown::Write);
    } else {
        // Unblock the accept so the server thread ends.
        let _ = run_in(topo.right.name(), move || TcpStream::connect(server_addr));
    }
    server.join().unwrap_or(0)
}

#[test]
fn two_data_planes_in_namespaces() {
    if let Some(r) = skip_reason() {
        eprintln!("skipped: {r}");
        return;
    }
    let topo = Topology::direct("dataplane").expect("topology");
    let sa_l = left_sa(&topo);
    let sa_r = sa_l.mirrored(SocketAddr::new(topo.addrs(Side::Left).outer4, 4500));
    let left = start_peer(&topo, Side::Left, &sa_l, None);
    let right = start_peer(&topo, Side::Right, &sa_r, Some(Duration::from_millis(200)));
    let r = topo.addrs(Side::Right);

    // 1. Ping through the tunnel, both families.
    assert!(
        topo.ping(Side::Left, r.site4).expect("ping v4"),
        "IPv4 ping through the tunnel failed"
    );
    assert!(
        topo.ping(Side::Left, r.site6).expect("ping v6"),
        "IPv6 ping through the tunnel failed"
    );
    let c = right.dp.counters();
    assert!(
        c.sa(Direction::Inbound, SPI_R)
            .is_some_and(|s| s.packets >= 6),
        "{c:?}"
    );
    assert!(left
        .dp
        .counters()
        .sa(Direction::Outbound, SPI_R)
        .is_some_and(|s| s.packets >= 6));
    // The inbound SA reported the authenticated traffic (for DPD), with
    // the time it arrived, at most once per 200 ms: 6 pings over ~0.6 s.
    let seen: Vec<_> = right.ch.events.try_iter().collect();
    let traffic: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            yadokari_dataplane::Event::Traffic { spi, at } if *spi == SPI_R => Some(*at),
            _ => None,
        })
        .collect();
    assert!(!traffic.is_empty() && traffic.len() <= 6, "{seen:?}");
    assert!(traffic
        .iter()
        .all(|t| t.elapsed() < Duration::from_secs(10)));
    assert!(traffic
        .windows(2)
        .all(|w| w[1].duration_since(w[0]) >= Duration::from_millis(200)));

    // 2. Keepalives flow (interval 300 ms).
    assert!(wait_for(Duration::from_secs(3), || right
        .dp
        .counters()
        .global
        .rx_keepalives
        >= 1));

    // 3. Bounded TCP transfer.
    let n = 8 << 20;
    assert_eq!(
        tcp_transfer(&topo, n),
        n,
        "TCP transfer through the tunnel incomplete"
    );

    // 4. Crafted datagrams, each counted under its reason and dropped.
    let probe_keys = key(0x10);
    let probe = ManualSa {
        spi_in: SPI_PROBE,
        spi_out: 0x0000_6006,
        key_in: probe_keys.clone().into(),
        ..sa_r.clone()
    };
    let (probe_in, _) = probe.build().expect("probe SA");
    right
        .dp
        .install_inbound(probe_in)
        .expect("install probe SA");
    right
        .dp
        .sync(Duration::from_secs(2))
        .expect("workers applied the install");
    let mut enc = aead_outbound(AeadAlgorithm::AesGcm128, SPI_PROBE, &probe_keys).expect("key");
    // Transport mode lets us seal a Next Header a tunnel-mode SA refuses.
    let mut raw_enc = EspOutbound::new(
        OutboundConfig::new(SPI_PROBE, AeadAlgorithm::AesGcm128.suite(), Mode::Transport),
        &probe_keys,
        &[],
    )
    .expect("key");
    let echo = icmp_echo([198, 51, 100, 1], [203, 0, 113, 1]);
    let mut bad_icv = seal(&mut enc, &echo, 4); // seq 1
    if let Some(b) = bad_icv.last_mut() {
        *b ^= 0x01;
    }
    let valid = seal(&mut enc, &echo, 4); // seq 2
    let off_selector = seal(&mut enc, &icmp_echo([192, 0, 2, 99], [203, 0, 113, 1]), 4);
    let dummy = seal(&mut enc, &[0u8; 8], 59);
    // Sequence numbers 1..=4 are used above; move the transport SA past them.
    for _ in 0..4 {
        let _ = seal(&mut raw_enc, &echo, 99);
    }
    let bad_nh = seal(&mut raw_enc, &echo, 99);
    let mut ike = vec![0u8, 0, 0, 0];
    // A header the data plane's first check accepts (RFC 7296 §3.1: major
    // version 2, Length = the message's 28 bytes); junk behind the marker
    // is dropped before it is copied.
    let mut header = [0x11u8; 28];
    header[17] = 0x20;
    header[24..].copy_from_slice(&28u32.to_be_bytes());
    ike.extend_from_slice(&header);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "unknown spi",
            [&0xdead_beefu32.to_be_bytes()[..], &[0u8; 36]].concat(),
        ),
        (
            "truncated esp",
            [&SPI_PROBE.to_be_bytes()[..], &[0u8; 6]].concat(),
        ),
        ("short junk", vec![1, 2]),
        ("bad icv", bad_icv),
        ("valid", valid.clone()),
        ("replay", valid),
        ("outside selectors", off_selector),
        ("unknown next header", bad_nh),
        ("dummy", dummy),
        ("keepalive", vec![0xff]),
        // Behind the marker but no IKE message (version 1, Length wrong).
        ("ike junk", [&[0u8; 4][..], &[0x11; 28]].concat()),
        // Last: its arrival on the IKE channel means all before it were handled
        // (one socket, one worker, processed in order).
        ("ike", ike),
    ];
    let before = right.dp.counters();
    let peer_addr = SocketAddr::new(r.outer4, 4500);
    let raw = run_in(topo.left.name(), || StdUdp::bind("192.0.2.1:0")).expect("raw socket");
    for (_, d) in &cases {
        raw.send_to(d, peer_addr).expect("send crafted");
    }
    let got = right
        .ch
        .ike
        .recv_timeout(Duration::from_secs(3))
        .expect("IKE datagram forwarded");
    // Handed over as received: the IKE core strips the marker it frames.
    assert_eq!(
        got.payload,
        [&[0u8; 4][..], &header[..]].concat(),
        "the UDP payload, non-ESP marker included"
    );
    assert_eq!(got.from.ip(), IpAddr::from([192, 0, 2, 1]));
    let after = right.dp.counters();
    let d = |f: fn(&yadokari_dataplane::DropCounts) -> u64| {
        f(&after.global.drops) - f(&before.global.drops)
    };
    assert_eq!(d(|x| x.unknown_spi), 1, "unknown spi");
    assert_eq!(
        d(|x| x.malformed),
        3,
        "truncated + short junk + unknown next header"
    );
    assert_eq!(d(|x| x.bad_icv), 1, "bad icv");
    assert_eq!(d(|x| x.replay), 1, "replay");
    assert_eq!(d(|x| x.ts_mismatch), 1, "outside selectors");
    assert_eq!(d(|x| x.dummy), 1, "dummy");
    assert_eq!(d(|x| x.ike_malformed), 1, "ike junk");
    assert!(after.global.rx_keepalives > before.global.rx_keepalives);
    let probe_counts = after
        .sa(Direction::Inbound, SPI_PROBE)
        .expect("probe counters");
    assert_eq!(
        probe_counts.packets, 1,
        "only the one valid crafted packet is accepted"
    );

    // 5. A bounded garbage flood does not stop traffic.
    let mut x: u32 = 0x1234_5678;
    let mut buf = vec![0u8; 1500];
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let len = 1 + (x as usize % 1400);
        for b in buf.iter_mut().take(len) {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            *b = (x >> 24) as u8;
        }
        let _ = raw.send_to(&buf[..len], peer_addr);
    }
    assert!(
        topo.ping(Side::Left, r.site4).expect("ping after flood"),
        "traffic stopped after garbage flood"
    );
    let c = right.dp.counters();
    assert!(
        c.global.drops.unknown_spi + c.global.drops.malformed > 1000,
        "{c:?}"
    );

    // 6. No SA: a destination outside every selector raises Acquire once.
    left.dp
        .remove_outbound(SPI_R, None)
        .expect("remove outbound");
    left.dp
        .sync(Duration::from_secs(2))
        .expect("workers applied the removal");
    let _ = topo
        .left
        .exec(&["ping", "-c", "1", "-W", "1", &r.site4.to_string()]);
    let ev = left
        .ch
        .events
        .recv_timeout(Duration::from_secs(2))
        .expect("acquire event");
    assert!(
        matches!(ev, yadokari_dataplane::Event::Acquire { dst, protocol: 1, .. } if dst == r.site4),
        "{ev:?}"
    );
    assert!(left.dp.counters().global.drops.no_sa >= 1);

    // 7. An outbound SA past its soft sequence-number limit asks for a
    //    rekey of its pair, named by the pair's inbound SPI (the key
    //    manager's name for it), once.
    const SPI_SOFT_OUT: u32 = 0x0000_6006;
    const SPI_SOFT_IN: u32 = 0x0000_7007;
    let mut ocfg =
        OutboundConfig::new(SPI_SOFT_OUT, AeadAlgorithm::AesGcm128.suite(), Mode::Tunnel);
    ocfg.seq_soft_limit = Some(2);
    let encap = EspOutbound::new(ocfg, &key(0x90), &[]).expect("outbound SA");
    left.dp
        .install_outbound(yadokari_dataplane::OutboundSa {
            spi: SPI_SOFT_OUT,
            spi_in: SPI_SOFT_IN,
            peer: yadokari_dataplane::EspTransport::Udp(SocketAddr::new(r.outer4, 4500)),
            local_ts: sa_l.local_ts.clone(),
            remote_ts: sa_l.remote_ts.clone(),
            mode: yadokari_dataplane::SaMode::Tunnel,
            encap: Box::new(encap),
            standby: None,
        })
        .expect("install outbound");
    left.dp.sync(Duration::from_secs(2)).expect("installed");
    while left.ch.events.try_recv().is_ok() {}
    let _ = topo.left.exec(&[
        "ping",
        "-c",
        "4",
        "-i",
        "0.2",
        "-W",
        "1",
        &r.site4.to_string(),
    ]);
    let rekeys: Vec<_> =
        std::iter::from_fn(|| left.ch.events.recv_timeout(Duration::from_millis(500)).ok())
            .filter(|e| {
                matches!(
                    e,
                    yadokari_dataplane::Event::RekeyNeeded { .. }
                        | yadokari_dataplane::Event::SequenceExhausted { .. }
                )
            })
            .collect();
    assert_eq!(
        rekeys,
        vec![yadokari_dataplane::Event::RekeyNeeded {
            spi_in: SPI_SOFT_IN
        }],
        "one rekey request, by the pair's inbound SPI"
    );

    // 8. Too big: an SA with an IPv6 outer header carries 1,418 inner bytes
    // while the TUN takes 1,438, so a 1,428-byte ping with DF is dropped and
    // answered with ICMP "fragmentation needed" (RFC 1191 §4), written to
    // the offloading TUN in one writev with its virtio-net header.
    let narrow = "203.0.113.77";
    let mut v6_outer = left_sa(&topo);
    v6_outer.spi_out = 0x0000_8008;
    v6_outer.peer = SocketAddr::new(r.outer6, 4500);
    v6_outer.remote_ts = vec![ts(&format!("{narrow}/32"))];
    let (_, out) = v6_outer.build().expect("keys");
    left.dp.install_outbound(out).expect("install v6-outer SA");
    left.dp.sync(Duration::from_secs(2)).expect("applied");
    let out = topo
        .left
        .exec(&[
            "ping", "-M", "do", "-s", "1400", "-c", "1", "-W", "1", narrow,
        ])
        .expect("ping");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("mtu = 1418"), "{text}");
    assert_eq!(left.dp.counters().global.drops.too_big, 1);

    left.dp.shutdown();
    right.dp.shutdown();
}
