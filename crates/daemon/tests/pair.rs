//! Two yadokarid talking to each other in network namespaces: behaviour
//! that needs a yadokari peer on the other side (strongSwan interop lives
//! in `interop.rs`). Needs root; without it the tests skip.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use yadokari_testbed::yadokarid::{
    has_child_sa as child_up, pair_config, site_selectors, start_pair,
};
use yadokari_testbed::{Family, Side, Topology, Yadokarid};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "ping"])
}

/// One side's config: a site-to-site tunnel over IPv4 between the
/// topology's site networks; the left side initiates.
fn config(topo: &Topology, side: Side, daemon: &str, tunnel: &str) -> String {
    let sel = site_selectors(topo, side, Family::V4);
    pair_config(
        topo,
        side,
        Family::V4,
        "ykt0",
        daemon,
        &format!("{sel}\n{tunnel}"),
    )
}

fn up(topo: &Topology, left: &str, right: &str) -> (Yadokarid, Yadokarid) {
    start_pair(topo, BIN, left, right).unwrap()
}

/// Both sides' configs, the left one writing its IKE pcap into `pcap`.
fn with_pcap(topo: &Topology, pcap: &Path, tunnel: &str) -> (String, String) {
    (
        config(
            topo,
            Side::Left,
            &format!("ike_pcap = \"{}\"", pcap.display()),
            tunnel,
        ),
        config(topo, Side::Right, "", tunnel),
    )
}

fn site(topo: &Topology, side: Side) -> IpAddr {
    topo.addrs(side).site(Family::V4)
}

/// The exchanges in an IKE pcap, as (exchange name, response, payload names).
fn exchanges(pcap: &Path) -> Vec<(String, bool, Vec<String>)> {
    let data = std::fs::read(pcap).unwrap();
    let found = yadokari::inspect::inspect(&data, None);
    assert!(found.error.is_none(), "{:?}", found.error);
    found
        .messages
        .iter()
        .map(|m| {
            (
                m.exchange.clone().unwrap_or_default(),
                m.response.unwrap_or(false),
                m.payloads.iter().map(|p| p.name.clone()).collect(),
            )
        })
        .collect()
}

#[test]
fn ike_pcap_holds_the_exchanges_decrypted() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykpcap").unwrap();
    let out = tempfile::tempdir().unwrap();
    let pcap = out.path().join("ike.pcap");
    let (left, right) = with_pcap(&topo, &pcap, "");
    let (_l, _r) = up(&topo, &left, &right);
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());

    let x = exchanges(&pcap);
    let names: Vec<(&str, bool)> = x.iter().map(|(e, r, _)| (e.as_str(), *r)).collect();
    assert_eq!(
        names[..4],
        [
            ("IKE_SA_INIT", false),
            ("IKE_SA_INIT", true),
            ("IKE_AUTH", false),
            ("IKE_AUTH", true)
        ],
        "{x:?}"
    );
    // The IKE_AUTH request is readable without keys: IDi, AUTH, SA, TSi/TSr
    // at the top level, no SK payload.
    let auth = &x[2].2;
    for p in ["IDi", "AUTH", "SA", "TSi", "TSr"] {
        assert!(auth.iter().any(|n| n == p), "no {p} in {auth:?}");
    }
    assert!(
        !x.iter().any(|(_, _, p)| p.iter().any(|n| n == "SK")),
        "{x:?}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&pcap).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the pcap holds identities: owner only");
}

/// RFC 7296 §2.4: ESP arriving on a CHILD SA proves the peer alive, so
/// no liveness check is sent while traffic flows; once it stops, one is.
#[test]
fn dpd_stays_quiet_while_esp_flows() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykdpd").unwrap();
    let out = tempfile::tempdir().unwrap();
    let pcap = out.path().join("ike.pcap");
    let (left, right) = with_pcap(&topo, &pcap, "dpd = \"2s\"");
    let (l, r) = up(&topo, &left, &right);
    let informational = || {
        exchanges(&pcap)
            .iter()
            .filter(|(e, _, _)| e == "INFORMATIONAL")
            .count()
    };
    let before = informational();
    // 6 s of pings (3 DPD periods), bounded: 30 echo requests.
    let dst = site(&topo, Side::Right).to_string();
    let ping = topo
        .ns(Side::Left)
        .exec(&["ping", "-c", "30", "-i", "0.2", "-W", "1", "-q", &dst])
        .unwrap();
    assert!(ping.status.success(), "{ping:?}");
    assert_eq!(
        informational(),
        before,
        "a DPD probe went out while ESP was arriving\n{}",
        l.log()
    );
    // Silence: within two periods (plus slack) somebody probes.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        informational() > before,
        "no DPD probe after 5 s without traffic\n{}\n{}",
        l.log(),
        r.log()
    );
}

/// `reauth`: the IKE SA is replaced by a freshly authenticated one, the
/// CHILD SA with it, make-before-break: pings across it are not lost.
#[test]
fn reauthentication_replaces_the_sas_without_loss() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykreauth").unwrap();
    let left = config(&topo, Side::Left, "", "reauth = \"5s\"");
    let right = config(&topo, Side::Right, "", "");
    let (l, r) = up(&topo, &left, &right);
    let first = l.sas().unwrap()[0].clone();
    // 8 s of pings (50 echo requests) span at least one reauthentication.
    let dst = site(&topo, Side::Right).to_string();
    let ping = topo
        .ns(Side::Left)
        .exec(&["ping", "-c", "40", "-i", "0.2", "-W", "1", "-q", &dst])
        .unwrap();
    let out = String::from_utf8_lossy(&ping.stdout).into_owned();
    let now = l.sas().unwrap();
    assert_eq!(now.len(), 1, "old IKE SA not deleted: {now:?}");
    assert_ne!(
        (now[0].ispi.as_str(), now[0].rspi.as_str()),
        (first.ispi.as_str(), first.rspi.as_str()),
        "no new IKE SA\n{}",
        l.log()
    );
    assert_ne!(now[0].children[0].spi_in, first.children[0].spi_in);
    assert!(
        r.wait(Duration::from_secs(3), |s| s.len() == 1
            && s[0].ispi == now[0].ispi),
        "the responder kept another IKE SA: {:?}",
        r.sas()
    );
    assert!(
        out.contains(" 40 received"),
        "pings lost across the reauthentication: {out}"
    );
    assert!(l.log().contains("reauthenticat"), "{}", l.log());
}

/// A DNS server on 127.0.0.1:53 inside a namespace, answering A queries
/// for any name with the address in `answer` (TTL 1 s) and nothing else.
/// `ip netns exec` gives the namespace's processes `/etc/netns/NAME/*` in
/// place of `/etc/*`, so the daemon there uses it through resolv.conf.
struct FakeDns {
    answer: std::sync::Arc<std::sync::Mutex<std::net::Ipv4Addr>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    etc: std::path::PathBuf,
}

impl FakeDns {
    fn start(ns: &yadokari_testbed::Netns, first: std::net::Ipv4Addr) -> FakeDns {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let etc = std::path::PathBuf::from("/etc/netns").join(ns.name());
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        std::fs::write(etc.join("hosts"), "127.0.0.1 localhost\n").unwrap();
        let answer = Arc::new(Mutex::new(first));
        let stop = Arc::new(AtomicBool::new(false));
        let netns = std::fs::File::open(format!("/run/netns/{}", ns.name())).unwrap();
        let (a, s) = (answer.clone(), stop.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            // This thread alone moves into the namespace.
            nix::sched::setns(&netns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let sock = std::net::UdpSocket::bind("127.0.0.1:53").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            ready_tx.send(()).unwrap();
            let mut buf = [0u8; 512];
            // Bounded: the test stops it, and it never runs past 2 minutes.
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while !s.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(r) = dns_answer(&buf[..n], *a.lock().unwrap()) {
                    let _ = sock.send_to(&r, from);
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        FakeDns {
            answer,
            stop,
            thread: Some(thread),
            etc,
        }
    }

    fn set(&self, ip: std::net::Ipv4Addr) {
        *self.answer.lock().unwrap() = ip;
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.etc);
    }
}

/// A response to one query (RFC 1035 §4.1): the question echoed, and for
/// type A one answer with TTL 1 s.
fn dns_answer(q: &[u8], ip: std::net::Ipv4Addr) -> Option<Vec<u8>> {
    let mut i = 12;
    while *q.get(i)? != 0 {
        i += 1 + usize::from(*q.get(i)?);
    }
    let qend = i + 5;
    let qtype = u16::from_be_bytes([*q.get(i + 1)?, *q.get(i + 2)?]);
    let a = qtype == 1;
    let mut r = Vec::with_capacity(qend + 16);
    r.extend_from_slice(q.get(..2)?);
    r.extend_from_slice(&[0x81, 0x80, 0, 1, 0, u8::from(a), 0, 0, 0, 0]);
    r.extend_from_slice(q.get(12..qend)?);
    if a {
        r.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    Some(r)
}

/// A peer named by a host name is looked up again when the answer's TTL
/// runs out; when the name moves to another address, the connection
/// follows without a reload.
#[test]
fn peer_host_name_is_followed_when_its_address_changes() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykdns").unwrap();
    // Nobody answers at 192.0.2.250 at first.
    let dns = FakeDns::start(topo.ns(Side::Left), "192.0.2.250".parse().unwrap());
    let right_ip = topo.addrs(Side::Right).public(Family::V4);
    let left = config(&topo, Side::Left, "", "").replace(
        &format!("remote = \"{right_ip}\""),
        "remote = \"peer.example.test\"",
    );
    let right = config(&topo, Side::Right, "", "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !child_up(&l.sas().unwrap()),
        "up before the name pointed at the peer"
    );
    let IpAddr::V4(v4) = right_ip else {
        unreachable!()
    };
    dns.set(v4);
    assert!(
        l.wait(Duration::from_secs(20), child_up),
        "the connection did not follow the new address\n{}",
        l.log()
    );
    assert!(r.wait(Duration::from_secs(5), child_up));
    let log = l.log();
    assert!(log.contains("resolves to another address"), "{log}");
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
}

/// Post-quantum key exchange between two yadokarid: ML-KEM-768 for the IKE
/// SA and ML-KEM-1024 as the CHILD SAs' PFS group; traffic flows, and the
/// CHILD SA rekey (a fresh ML-KEM exchange, `rekey = "3s"`) and IKE SA
/// rekey keep it flowing.
#[test]
fn ml_kem_tunnel_carries_traffic_and_rekeys() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykmlkem").unwrap();
    let tunnel = "ike = \"aes256gcm16-prfsha384-mlkem768\"\nesp = \"aes256gcm16-mlkem1024\"\nrekey = \"3s\"\nike_rekey = \"4s\"";
    let (l, r) = (
        config(&topo, Side::Left, "", tunnel),
        config(&topo, Side::Right, "", tunnel),
    );
    let (left, _right) = up(&topo, &l, &r);
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
    let sas = left.sas().unwrap();
    assert_eq!(
        sas[0].algorithms.ke, "ml-kem-768",
        "{:?}",
        sas[0].algorithms
    );
    // The first CHILD SA comes with IKE_AUTH, without a KE of its own
    // (RFC 7296 §1.2); its rekeys run ML-KEM-1024.
    let child = &sas[0].children[0];
    assert_eq!(child.algorithms.ke, None);
    let (old_child, old_ike) = (child.spi_in.clone(), sas[0].ispi.clone());
    assert!(
        left.wait(Duration::from_secs(15), |sas| sas.len() == 1
            && sas[0].ispi != old_ike
            && sas[0].children.iter().any(
                |c| c.spi_in != old_child && c.algorithms.ke.as_deref() == Some("ml-kem-1024")
            )),
        "{}",
        left.log()
    );
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
}

/// RFC 9370 hybrid between two yadokarid: X25519 in IKE_SA_INIT and
/// ML-KEM-768 as ADDKE1 in an IKE_INTERMEDIATE exchange (RFC 9242); the
/// IKE pcap shows the exchange, and traffic flows.
#[test]
fn hybrid_x25519_mlkem768_tunnel_carries_traffic() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykhybrid").unwrap();
    let out = tempfile::tempdir().unwrap();
    let pcap = out.path().join("ike.pcap");
    let (left, right) = with_pcap(
        &topo,
        &pcap,
        "ike = \"aes256gcm16-prfsha384-x25519-ke1_mlkem768\"",
    );
    let (l, _r) = up(&topo, &left, &right);
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
    assert_eq!(l.sas().unwrap()[0].algorithms.ke, "Curve25519");
    let x = exchanges(&pcap);
    let names: Vec<(&str, bool)> = x.iter().map(|(e, r, _)| (e.as_str(), *r)).collect();
    assert_eq!(
        names[..6],
        [
            ("IKE_SA_INIT", false),
            ("IKE_SA_INIT", true),
            ("IKE_INTERMEDIATE", false),
            ("IKE_INTERMEDIATE", true),
            ("IKE_AUTH", false),
            ("IKE_AUTH", true)
        ],
        "{x:?}"
    );
    assert!(x[2].2.iter().any(|p| p == "KE"), "{x:?}");
    // `yadokari inspect` names the additional key exchange transform.
    let found = yadokari::inspect::inspect(&std::fs::read(&pcap).unwrap(), None);
    let init = serde_json::to_string(&found.messages[0]).unwrap();
    assert!(
        init.contains(r#""type_name":"ADDKE1""#) && init.contains("ml-kem-768"),
        "{init}"
    );
}

/// IKE fragmentation (RFC 7383) on a path that drops every IP fragment
/// (an nftables rule ahead of reassembly on both sides): a hybrid with
/// ML-KEM-1024, whose IKE_INTERMEDIATE messages carry 1,568-byte KE
/// payloads, comes up with 576-byte IKE fragments, and not without them.
#[test]
fn ike_fragments_cross_a_path_that_drops_ip_fragments() {
    if yadokari_testbed::skip_without(&["ip", "ping", "nft"]) {
        return;
    }
    let topo = Topology::direct("ykfrag").unwrap();
    for side in [Side::Left, Side::Right] {
        topo.ns(side)
            .run(&[
                "nft",
                "add table ip ykfrag; \
                 add chain ip ykfrag pre { type filter hook prerouting priority -500; }; \
                 add rule ip ykfrag pre ip frag-off & 0x3fff != 0 counter drop",
            ])
            .unwrap();
    }
    let ike = "ike = \"aes256gcm16-prfsha384-x25519-ke1_mlkem1024\"";
    // Without fragmentation the IKE_INTERMEDIATE request never arrives.
    let off = format!("{ike}\nfragmentation = false");
    let (l, r) = (
        config(&topo, Side::Left, "", &off),
        config(&topo, Side::Right, "", &off),
    );
    let left = Yadokarid::start(topo.ns(Side::Left), BIN, "left-off", &l).unwrap();
    let right = Yadokarid::start(topo.ns(Side::Right), BIN, "right-off", &r).unwrap();
    assert!(
        !left.wait(Duration::from_secs(3), |sas| sas
            .iter()
            .any(|s| !s.children.is_empty())),
        "came up although IP fragments are dropped"
    );
    drop((left, right));
    let on = format!("{ike}\nfragment_size = 576");
    let (l, r) = (
        config(&topo, Side::Left, "", &on),
        config(&topo, Side::Right, "", &on),
    );
    let (left, _right) = up(&topo, &l, &r);
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
    let dropped = topo
        .ns(Side::Right)
        .run(&["nft", "list chain ip ykfrag pre"])
        .unwrap();
    assert!(dropped.contains("counter packets"), "{dropped}");
    assert_eq!(left.sas().unwrap()[0].algorithms.ke, "Curve25519");
}
