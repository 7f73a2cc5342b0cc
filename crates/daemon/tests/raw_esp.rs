//! Two yadokarid without NAT and without `encap`: ESP must travel as IP
//! protocol 50 (RFC 4303; RFC 7296 §2.23 moves it into UDP only when a NAT
//! is detected), which nftables counters in each namespace prove. Needs
//! root, `ip`, `ping` and `nft`; without them the tests skip.

use yadokari_testbed::yadokarid::{pair_config, site_selectors, start_pair};
use yadokari_testbed::{Family, Netns, Side, Topology};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "ping", "nft"])
}

/// A site-to-site tunnel over `family` between the topology's site
/// networks, no `encap`; the left side initiates.
fn config(topo: &Topology, side: Side, family: Family) -> String {
    pair_config(
        topo,
        side,
        family,
        "ykr0",
        "",
        &site_selectors(topo, side, family),
    )
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
    let (l, r) = start_pair(
        &topo,
        BIN,
        &config(&topo, Side::Left, family),
        &config(&topo, Side::Right, family),
    )
    .unwrap();
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
