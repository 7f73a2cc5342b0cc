//! Two yadokarid without NAT and without `encap`: ESP must travel as IP
//! protocol 50 (RFC 4303; RFC 7296 §2.23 moves it into UDP only when a NAT
//! is detected), which nftables counters in each namespace prove. Needs
//! root, `ip`, `ping` and `nft`; without them the tests skip.

use std::time::Duration;

use yadokari_control::IkeSaInfo;
use yadokari_testbed::{Family, Netns, Side, Topology, Yadokarid, TEST_PSK};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

fn skip() -> bool {
    match yadokari_testbed::require(&["ip", "ping", "nft"]) {
        Some(reason) => {
            eprintln!("skipped: {reason}");
            true
        }
        None => false,
    }
}

/// A site-to-site tunnel over `family` between the topology's site
/// networks, no `encap`; the left side initiates.
fn config(topo: &Topology, side: Side, family: Family) -> String {
    let me = topo.addrs(side);
    let peer = topo.addrs(side.peer());
    format!(
        r#"
[daemon]
retransmit_timeout = "6s"

[interface]
name = "ykr0"

[tunnel.t]
local = "{local}"
remote = "{remote}"
local_id = "{me_name}.example.org"
remote_id = "{peer_name}.example.org"
psk = "{TEST_PSK}"
local_ts = "{lts}"
remote_ts = "{rts}"
start = "{start}"
"#,
        local = me.outer(family),
        remote = peer.public(family),
        me_name = side.as_str(),
        peer_name = side.peer().as_str(),
        lts = me.net(family),
        rts = peer.net(family),
        start = if side == Side::Left {
            "initiate"
        } else {
            "respond"
        },
    )
}

fn child_up(sas: &[IkeSaInfo]) -> bool {
    sas.iter().any(|s| !s.children.is_empty())
}

/// Counts what arrives in `ns`: ESP (IP protocol 50) and UDP to port 4500.
fn add_counters(ns: &Netns) {
    let rules = "table inet ykraw {
  counter proto50 { }
  counter natt { }
  chain input {
    type filter hook input priority 0; policy accept;
    meta l4proto esp counter name \"proto50\"
    udp dport 4500 counter name \"natt\"
  }
}
";
    let path = std::env::temp_dir().join(format!("ykraw-{}-{}.nft", std::process::id(), ns.name()));
    std::fs::write(&path, rules).unwrap();
    let res = ns.run(&["nft", "-f", &path.display().to_string()]);
    let _ = std::fs::remove_file(&path);
    res.unwrap();
}

fn counter(ns: &Netns, name: &str) -> u64 {
    let out = ns
        .run(&["nft", "list", "counter", "inet", "ykraw", name])
        .unwrap();
    // "packets N bytes M"
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "packets" {
            return words.next().and_then(|n| n.parse().ok()).unwrap();
        }
    }
    panic!("no packet count in {out:?}");
}

fn raw_esp_tunnel(test: &str, family: Family) {
    if skip() {
        return;
    }
    let topo = Topology::direct(test).unwrap();
    for side in [Side::Left, Side::Right] {
        add_counters(topo.ns(side));
    }
    let r = Yadokarid::start(
        topo.ns(Side::Right),
        BIN,
        "right",
        &config(&topo, Side::Right, family),
    )
    .unwrap();
    let l = Yadokarid::start(
        topo.ns(Side::Left),
        BIN,
        "left",
        &config(&topo, Side::Left, family),
    )
    .unwrap();
    assert!(
        l.wait(Duration::from_secs(20), child_up) && r.wait(Duration::from_secs(5), child_up),
        "tunnel did not come up\n--- left ---\n{}\n--- right ---\n{}",
        l.log(),
        r.log()
    );
    let dst = topo.addrs(Side::Right).site(family);
    assert!(
        topo.ping(Side::Left, dst).unwrap(),
        "no ping through the tunnel\n--- left ---\n{}\n--- right ---\n{}",
        l.log(),
        r.log()
    );
    for (side, d) in [(Side::Left, &l), (Side::Right, &r)] {
        let ns = topo.ns(side);
        let esp = counter(ns, "proto50");
        let natt = counter(ns, "natt");
        // Three echo requests one way, three replies the other.
        assert!(esp >= 3, "{side:?}: {esp} ESP packets arrived");
        assert_eq!(natt, 0, "{side:?}: UDP 4500 carried {natt} datagrams");
        let sas = d.sas().unwrap();
        let child = sas
            .iter()
            .flat_map(|s| &s.children)
            .next()
            .expect("a CHILD SA");
        assert_eq!(child.encapsulation, "esp", "{side:?}: {child:?}");
        assert!(child.packets_in >= 3, "{side:?}: {child:?}");
        assert!(child.packets_out >= 3, "{side:?}: {child:?}");
    }
}

#[test]
fn esp_is_ip_protocol_50_without_nat_v4() {
    raw_esp_tunnel("ykrawesp4", Family::V4);
}

#[test]
fn esp_is_ip_protocol_50_without_nat_v6() {
    raw_esp_tunnel("ykrawesp6", Family::V6);
}
