//! Transport mode host-to-host (RFC 4303 §3.1.1) between two yadokarid, over
//! IPv4 and over IPv6: the IKE peers protect their own traffic to each
//! other. strongSwan's kernel-libipsec only does tunnel mode, so the peer
//! here is a second yadokarid.
//!
//! Each test checks that ping and a TCP transfer to the peer's own address
//! work, that the CHILD SA says `transport`, that the traffic really went
//! through ESP (the CHILD SA's counters cover the transferred bytes: the two
//! namespaces share a link, so plain routing would deliver it too), and that
//! a clean shutdown removes the policy rule. Needs root; without it the
//! tests skip.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use yadokari_control::{ChildSaInfo, IkeSaInfo};
use yadokari_sys::netns::run_in;
use yadokari_testbed::yadokarid::{pair_config, start_pair};
use yadokari_testbed::{Family, Netns, Side, Topology, Yadokarid};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

/// Bytes sent over TCP (several hundred full-sized segments).
const TRANSFER: usize = 2 << 20;

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "ping"])
}

/// A transport-mode connection between the two outer addresses; no
/// selectors, so they default to the two hosts. Left initiates.
fn config(topo: &Topology, side: Side, family: Family) -> String {
    pair_config(topo, side, family, "yktr0", "", "mode = \"transport\"")
}

fn child(sas: &[IkeSaInfo]) -> Option<&ChildSaInfo> {
    sas.iter().flat_map(|s| s.children.iter()).next()
}

fn up(topo: &Topology, family: Family) -> (Yadokarid, Yadokarid) {
    start_pair(
        topo,
        BIN,
        &config(topo, Side::Left, family),
        &config(topo, Side::Right, family),
    )
    .unwrap()
}

/// Sends `TRANSFER` bytes of a known pattern from the left namespace to a
/// listener in the right one; returns what arrived intact. Every step is
/// bounded by a timeout.
fn tcp_transfer(topo: &Topology, to: IpAddr) -> usize {
    let server_addr = SocketAddr::new(to, 5299);
    let listener = run_in(topo.right.name(), move || TcpListener::bind(server_addr))
        .expect("listen in the right namespace");
    let server = std::thread::spawn(move || -> usize {
        let Ok((mut s, _)) = listener.accept() else {
            return 0;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = vec![0u8; 65536];
        let mut good = 0;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            for &b in &buf[..n] {
                if b != pattern(good) {
                    return good;
                }
                good += 1;
            }
        }
        good
    });
    let client = run_in(topo.left.name(), move || {
        TcpStream::connect_timeout(&server_addr, Duration::from_secs(3))
    });
    if let Ok(mut c) = client {
        let _ = c.set_write_timeout(Some(Duration::from_secs(5)));
        let data: Vec<u8> = (0..TRANSFER).map(pattern).collect();
        let _ = c.write_all(&data);
        let _ = c.shutdown(std::net::Shutdown::Write);
    }
    server.join().unwrap_or(0)
}

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

fn rules(ns: &Netns, family: Family) -> String {
    let fam = match family {
        Family::V4 => "-4",
        Family::V6 => "-6",
    };
    ns.ip(&[fam, "rule", "show"]).unwrap_or_default()
}

fn host_to_host(name: &str, family: Family) {
    if skip() {
        return;
    }
    let topo = Topology::direct(name).unwrap();
    let peer = topo.addrs(Side::Right).outer(family);
    let (l, r) = up(&topo, family);

    // The peer's address is routed into the TUN for user traffic only.
    assert!(
        rules(topo.ns(Side::Left), family).contains("not from all fwmark 0x796b lookup 31083"),
        "{}",
        rules(topo.ns(Side::Left), family)
    );
    let route = topo
        .ns(Side::Left)
        .ip(&["route", "get", &peer.to_string()])
        .unwrap();
    assert!(route.contains("dev yktr0"), "{route}");

    assert!(
        topo.ping(Side::Left, peer).unwrap(),
        "ping to the peer failed\n--- left ---\n{}\n--- right ---\n{}",
        l.log(),
        r.log()
    );
    let got = tcp_transfer(&topo, peer);
    assert_eq!(
        got,
        TRANSFER,
        "TCP transfer incomplete\n--- left ---\n{}\n--- right ---\n{}",
        l.log(),
        r.log()
    );

    // Both sides report transport mode, and the bytes went through ESP:
    // the transfer alone is TRANSFER payload bytes plus TCP headers.
    let ls = l.sas().unwrap();
    let rs = r.sas().unwrap();
    let (lc, rc) = (child(&ls).unwrap(), child(&rs).unwrap());
    eprintln!("left CHILD SA: {lc:?}\nright CHILD SA: {rc:?}");
    assert_eq!(lc.mode, "transport", "{lc:?}");
    assert_eq!(rc.mode, "transport", "{rc:?}");
    assert!(lc.packets_out > 0 && lc.packets_in > 0, "{lc:?}");
    assert!(lc.bytes_out >= TRANSFER as u64, "{lc:?}");
    assert!(rc.bytes_in >= TRANSFER as u64, "{rc:?}");
    assert!(rc.packets_out > 0, "{rc:?}");

    // SIGTERM: SAs deleted, the rule and the table's route removed.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(l.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while rules(topo.ns(Side::Left), family).contains("0x796b") {
        assert!(
            Instant::now() < deadline,
            "policy rule left behind after SIGTERM\n{}",
            l.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let route = topo
        .ns(Side::Left)
        .ip(&["route", "get", &peer.to_string()])
        .unwrap();
    assert!(!route.contains("yktr0"), "{route}");
}

#[test]
fn transport_mode_ipv4() {
    host_to_host("yktrv4", Family::V4);
}

#[test]
fn transport_mode_ipv6() {
    host_to_host("yktrv6", Family::V6);
}
