//! The test bed against itself: namespaces come up and go away, two
//! strongSwan charons build a PSK tunnel that carries pings, and the keys
//! charon logs match what VICI reports and let tshark decrypt the capture.

use std::time::Duration;

use yadokari_testbed::*;

#[test]
fn namespaces_are_created_and_removed() {
    skip_unless_testbed!();
    let names;
    let mut sleeper;
    {
        let topo = Topology::direct("ns_lifecycle").expect("topology");
        names = [topo.left.name().to_owned(), topo.right.name().to_owned()];
        for n in &names {
            assert!(netns::exists(n), "{n} missing");
        }
        // The outer link works, the sites are unreachable without a tunnel.
        assert!(topo
            .ping(Side::Left, topo.addrs(Side::Right).outer4)
            .unwrap());
        assert!(topo
            .ping(Side::Left, topo.addrs(Side::Right).outer6)
            .unwrap());
        assert!(!topo
            .ping(Side::Left, topo.addrs(Side::Right).site4)
            .unwrap());
        // A process left running inside must not keep the namespace alive.
        sleeper = topo
            .left
            .command("sleep")
            .arg("60")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(netns::wait_until(Duration::from_secs(2), || !topo
            .left
            .pids()
            .is_empty()));
    }
    for n in &names {
        assert!(!netns::exists(n), "{n} not removed");
    }
    let status = sleeper.wait().unwrap();
    assert!(!status.success(), "sleep was killed, not left to finish");
}

#[test]
fn namespaces_are_removed_after_a_panic() {
    skip_unless_testbed!();
    let (tx, rx) = std::sync::mpsc::channel();
    let r = std::thread::spawn(move || {
        let topo = Topology::nat("ns_panic").expect("topology");
        tx.send(vec![
            topo.left.name().to_owned(),
            topo.right.name().to_owned(),
            topo.nat.as_ref().unwrap().name().to_owned(),
        ])
        .unwrap();
        panic!("deliberate");
    })
    .join();
    assert!(r.is_err());
    for n in rx.recv().unwrap() {
        assert!(!netns::exists(&n), "{n} survived the panic");
    }
}

#[test]
fn nat_topology_masquerades() {
    skip_unless_testbed!();
    let topo = Topology::nat("nat_masq").expect("topology");
    let right = topo.addrs(Side::Right);
    assert!(topo.ping(Side::Left, right.outer4).unwrap());
    assert!(topo.ping(Side::Left, right.outer6).unwrap());
    // Right cannot reach left's private side: no route and no port mapping.
    assert!(!topo
        .ping(Side::Right, topo.addrs(Side::Left).outer4)
        .unwrap());
}

fn check_tunnel(topo: &Topology, outer: Family, inner: Family) {
    let opts = CharonOptions::default();
    let lconf = site_to_site(topo, Side::Left, outer, &[inner]);
    let rconf = site_to_site(topo, Side::Right, outer, &[inner]);
    let left = StrongSwan::start(&topo.left, "left", &lconf, &opts).expect("left charon");
    let right = StrongSwan::start(&topo.right, "right", &rconf, &opts).expect("right charon");
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let cap = Capture::start(
        &topo.left,
        topology::OUTER_IF,
        &pcap,
        Some("udp port 500 or udp port 4500"),
    )
    .expect("tcpdump");

    let child = swanctl_conf::child_name(inner);
    left.initiate(child).expect("initiate");
    let dst = topo.addrs(Side::Right).site(inner);
    assert!(
        topo.ping(Side::Left, dst).unwrap(),
        "ping {dst} through the tunnel"
    );

    let lsas = left.list_sas().unwrap();
    let rsas = right.list_sas().unwrap();
    assert_eq!(lsas.len(), 1);
    assert_eq!(rsas.len(), 1);
    let (l, r) = (&lsas[0], &rsas[0]);
    assert_eq!(l.state, "ESTABLISHED");
    assert!(l.initiator && !r.initiator);
    assert_eq!((l.spi_i, l.spi_r), (r.spi_i, r.spi_r));
    assert_eq!(l.local_port, 4500, "encap=yes floats to 4500");
    let (lc, rc) = (&l.children[0], &r.children[0]);
    assert_eq!((lc.spi_in, lc.spi_out), (rc.spi_out, rc.spi_in));
    assert!(lc.encap);
    assert!(lc.packets_out >= 3 && rc.packets_in >= 3);

    // Keys from both logs agree with each other and with VICI.
    let lk = left.keys().unwrap();
    let rk = right.keys().unwrap();
    assert_eq!(lk.ike_sas.len(), 1, "{lk:#?}");
    let (a, b) = (&lk.ike_sas[0], &rk.ike_sas[0]);
    assert_eq!((a.spi_i, a.spi_r), (Some(l.spi_i), Some(l.spi_r)));
    assert_eq!((b.spi_i, b.spi_r), (Some(l.spi_i), Some(l.spi_r)));
    assert_eq!(a.original_initiator, Some(true));
    assert_eq!(b.original_initiator, Some(false));
    assert_eq!(a.shared_secret.len(), 32);
    assert_eq!(a.skeyseed.len(), 32);
    assert_eq!(a.sk_ei.len(), 36, "AES-256 key + 4-byte GCM salt");
    for (x, y) in [
        (&a.shared_secret, &b.shared_secret),
        (&a.skeyseed, &b.skeyseed),
        (&a.sk_d, &b.sk_d),
        (&a.sk_ei, &b.sk_ei),
        (&a.sk_er, &b.sk_er),
        (&a.sk_pi, &b.sk_pi),
        (&a.sk_pr, &b.sk_pr),
    ] {
        assert_eq!(x, y);
    }
    let (ni, nr) = a.nonces.clone().expect("nonces from the first CHILD seed");
    assert_eq!((ni.len(), nr.len()), (32, 32));
    assert_eq!(a.nonces, b.nonces);
    let (c, d) = (&lk.child_sas[0], &rk.child_sas[0]);
    assert_eq!((c.spi_in, c.spi_out), (Some(lc.spi_in), Some(lc.spi_out)));
    assert_eq!(c.initiator, Some(true));
    assert_eq!(d.initiator, Some(false));
    assert_eq!(c.outbound_keys(), d.inbound_keys());
    assert_eq!(c.encr_i.len(), 36);

    // tshark decrypts IKE_AUTH and the ESP packets with the tables.
    let wsdir = dir.path().join("ws");
    left.write_wireshark_tables(&wsdir, outer).unwrap();
    left.terminate_ike("yk").unwrap();
    assert_eq!(left.list_sas().unwrap().len(), 0);
    let n = cap.stop().unwrap();
    assert!(n >= 4 + 6 + 2, "captured {n}");
    let out = std::process::Command::new("tshark")
        .env("WIRESHARK_CONFIG_DIR", &wsdir)
        .args(["-o", "esp.enable_encryption_decode:TRUE", "-r"])
        .arg(&pcap)
        .args([
            "-T",
            "fields",
            "-e",
            "isakmp.exchangetype",
            "-e",
            "isakmp.id.type",
            "-e",
            "icmp.type",
            "-e",
            "icmpv6.type",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decrypted_ids = text
        .lines()
        .filter(|l| l.split('\t').nth(1).is_some_and(|f| !f.is_empty()))
        .count();
    assert_eq!(decrypted_ids, 2, "IDi and IDr decrypted:\n{text}");
    let icmp = text
        .lines()
        .filter(|l| l.split('\t').skip(2).any(|f| !f.is_empty()))
        .count();
    assert_eq!(icmp, 6, "3 echo requests and 3 replies decrypted:\n{text}");
}

#[test]
fn strongswan_psk_tunnel_v4() {
    skip_unless_testbed!();
    let topo = Topology::direct("ss_v4").expect("topology");
    check_tunnel(&topo, Family::V4, Family::V4);
}

#[test]
fn strongswan_psk_tunnel_v6_behind_nat() {
    skip_unless_testbed!();
    let topo = Topology::nat("ss_v6nat").expect("topology");
    check_tunnel(&topo, Family::V6, Family::V6);
}

#[test]
fn strongswan_rekeys_are_logged() {
    skip_unless_testbed!();
    let topo = Topology::direct("ss_rekey").expect("topology");
    let opts = CharonOptions::default();
    let left = StrongSwan::start(
        &topo.left,
        "left",
        &site_to_site(&topo, Side::Left, Family::V4, &[Family::V4]),
        &opts,
    )
    .unwrap();
    let right = StrongSwan::start(
        &topo.right,
        "right",
        &site_to_site(&topo, Side::Right, Family::V4, &[Family::V4]),
        &opts,
    )
    .unwrap();
    left.initiate("site4").unwrap();
    let first = left.list_sas().unwrap()[0].clone();
    left.rekey_ike("yk").unwrap();
    assert!(left.wait_sas(Duration::from_secs(10), |s| s.len() == 1
        && s[0].unique_id != first.unique_id
        && s[0].state == "ESTABLISHED"));
    right.rekey_child("site4").unwrap();
    assert!(right.wait_sas(Duration::from_secs(10), |s| s.len() == 1
        && s[0].children.len() == 1
        && s[0].children[0].spi_in != first.children[0].spi_out));
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site4)
        .unwrap());
    let now = left.list_sas().unwrap()[0].clone();

    for (sw, initiated_ike_rekey, initiated_child_rekey) in
        [(&left, true, false), (&right, false, true)]
    {
        let k = sw.keys().unwrap();
        assert_eq!(k.ike_sas.len(), 2, "{k:#?}");
        let new = &k.ike_sas[1];
        assert_eq!(new.exchange.as_deref(), Some("CREATE_CHILD_SA"));
        assert_eq!((new.spi_i, new.spi_r), (Some(now.spi_i), Some(now.spi_r)));
        assert_eq!(new.original_initiator, Some(initiated_ike_rekey));
        assert_eq!(k.child_sas.len(), 2);
        let c = &k.child_sas[1];
        assert_eq!(c.exchange.as_deref(), Some("CREATE_CHILD_SA"));
        assert_eq!(c.initiator, Some(initiated_child_rekey));
        assert_eq!(
            c.dh_secret.as_ref().map(Vec::len),
            Some(32),
            "PFS with X25519"
        );
        assert_eq!(c.seed.len(), 32 + 64);
    }
    let lk = left.keys().unwrap();
    let rk = right.keys().unwrap();
    assert_eq!(lk.ike_sas[1].sk_d, rk.ike_sas[1].sk_d);
    assert_eq!(
        lk.child_sas[1].outbound_keys(),
        rk.child_sas[1].inbound_keys()
    );
}
