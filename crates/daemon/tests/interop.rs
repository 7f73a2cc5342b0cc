//! yadokarid ⇄ strongSwan (charon with kernel-libipsec, UDP-encapsulated
//! ESP) in network namespaces: strongSwan on the left, yadokarid on the
//! right, traffic between the two site networks through the tunnel.
//!
//! The scenario matrix is the table in [`SCENARIOS`]; each row runs as its
//! own test so failures are named. Every test makes its own namespaces
//! (unique names), and dropping the topology kills both daemons and deletes
//! the namespaces even when an assertion fails. Without root or strongSwan
//! the tests print why and skip; CI sets `YK_TESTBED_REQUIRED=1` so there a
//! missing tool fails instead.

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use yadokari_control::{Client, IkeSaInfo, Request, Response};
use yadokari_testbed::{
    site_to_site, skip_unless_testbed, CharonOptions, Family, Side, StrongSwan, Topology, TEST_PSK,
};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

/// A yadokarid running in a namespace; killed on drop.
struct Yadokari {
    child: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Yadokari {
    fn start(topo: &Topology, config: &str) -> Yadokari {
        let dir = tempfile::Builder::new()
            .prefix("yk-daemon-")
            .tempdir()
            .unwrap();
        let cfg = dir.path().join("yadokari.toml");
        std::fs::write(&cfg, config).unwrap();
        let socket = dir.path().join("control.sock");
        let log = std::fs::File::create(dir.path().join("yadokarid.log")).unwrap();
        let child = topo
            .right
            .command(BIN)
            .arg("--config")
            .arg(&cfg)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--log")
            .arg("debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let y = Yadokari { child, socket, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Client::connect(&y.socket, None).is_err() {
            assert!(
                Instant::now() < deadline,
                "yadokarid did not start:\n{}",
                y.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        y
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("yadokarid.log")).unwrap_or_default()
    }

    fn call(&self, r: Request) -> Response {
        Client::connect(&self.socket, Some(Duration::from_secs(40)))
            .unwrap()
            .call(&r)
            .unwrap()
    }

    fn sas(&self) -> Vec<IkeSaInfo> {
        match self.call(Request::ListSas) {
            Response::Sas { ike_sas } => ike_sas,
            other => panic!("list-sas: {other:?}"),
        }
    }

    /// Waits until `pred` holds for our SAs.
    fn wait(&self, within: Duration, pred: impl Fn(&[IkeSaInfo]) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if pred(&self.sas()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Yadokari {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- yadokarid log ---\n{}", self.log());
        }
    }
}

#[derive(Clone, Copy)]
struct Scenario {
    outer: Family,
    inner: Family,
    ike: &'static str,
    esp: &'static str,
    /// yadokari initiates (else strongSwan does).
    yk_initiates: bool,
}

fn net(f: Family, side: Side) -> &'static str {
    yadokari_testbed::topology::addrs(yadokari_testbed::TopologyKind::Direct, side).net(f)
}

fn yadokari_config(topo: &Topology, s: &Scenario, extra: &str) -> String {
    let me = topo.addrs(Side::Right);
    let peer = topo.addrs(Side::Left);
    format!(
        r#"
[daemon]
retransmit_timeout = "6s"

[interface]
name = "ykt0"

[tunnel.yk]
local = "{local}"
remote = "{remote}"
local_id = "right.example.org"
remote_id = "left.example.org"
psk = "{psk}"
local_ts = "{lts}"
remote_ts = "{rts}"
ike = "{ike}"
esp = "{esp}"
encap = true
start = "{start}"
{extra}
"#,
        local = me.outer(s.outer),
        remote = peer.public(s.outer),
        psk = TEST_PSK,
        lts = net(s.inner, Side::Right),
        rts = net(s.inner, Side::Left),
        ike = s.ike,
        esp = s.esp,
        start = if s.yk_initiates {
            "initiate"
        } else {
            "respond"
        },
    )
}

fn child_name(f: Family) -> &'static str {
    yadokari_testbed::swanctl_conf::child_name(f)
}

/// Brings the tunnel up as the scenario says and checks that both sides
/// agree on it and that traffic flows both ways.
fn establish(topo: &Topology, s: &Scenario, extra: &str) -> (StrongSwan, Yadokari) {
    let conf = site_to_site(topo, Side::Left, s.outer, &[s.inner]).with_proposals(s.ike, s.esp);
    let swan = StrongSwan::start(
        topo.ns(Side::Left),
        "left",
        &conf,
        &CharonOptions::default(),
    )
    .unwrap();
    let yk = Yadokari::start(topo, &yadokari_config(topo, s, extra));
    if !s.yk_initiates {
        swan.initiate(child_name(s.inner))
            .expect("strongSwan initiates");
    }
    assert!(
        yk.wait(Duration::from_secs(20), |sas| sas
            .iter()
            .any(|sa| !sa.children.is_empty())),
        "no CHILD SA on the yadokari side:\n{}",
        yk.log()
    );
    // Both sides name the same SPIs.
    let ours = yk.sas();
    let theirs = swan.list_sas().unwrap();
    let (o, t) = (&ours[0], &theirs[0]);
    assert_eq!(o.ispi, format!("{:016x}", t.spi_i));
    assert_eq!(o.rspi, format!("{:016x}", t.spi_r));
    assert_eq!(
        o.children[0].spi_in,
        format!("{:08x}", t.children[0].spi_out)
    );
    assert_eq!(
        o.children[0].spi_out,
        format!("{:08x}", t.children[0].spi_in)
    );
    assert_eq!(o.initiator, s.yk_initiates);
    assert!(
        !o.algorithms.encryption.is_empty() && !o.algorithms.prf.is_empty(),
        "{:?}",
        o.algorithms
    );
    assert_eq!(
        o.algorithms.ke,
        if s.ike.contains("x25519") {
            "Curve25519"
        } else {
            "MODP_2048"
        }
    );
    assert_eq!(t.initiator, !s.yk_initiates);
    // Traffic both ways, between the site addresses.
    let right_site = topo.addrs(Side::Right).site(s.inner);
    let left_site = topo.addrs(Side::Left).site(s.inner);
    assert!(
        topo.ping(Side::Left, right_site).unwrap(),
        "left → right through the tunnel"
    );
    assert!(
        topo.ping(Side::Right, left_site).unwrap(),
        "right → left through the tunnel"
    );
    let c = &yk.sas()[0].children[0];
    assert!(c.packets_in >= 3 && c.packets_out >= 3, "counters: {c:?}");
    (swan, yk)
}

const GCM: (&str, &str) = ("aes256gcm16-prfsha256-x25519", "aes256gcm16");
const CBC: (&str, &str) = ("aes256-sha256-modp2048", "aes256-sha256");

const SCENARIOS: &[(&str, Scenario)] = &[
    (
        "v4_gcm_yk_responder",
        Scenario {
            outer: Family::V4,
            inner: Family::V4,
            ike: GCM.0,
            esp: GCM.1,
            yk_initiates: false,
        },
    ),
    (
        "v4_gcm_yk_initiator",
        Scenario {
            outer: Family::V4,
            inner: Family::V4,
            ike: GCM.0,
            esp: GCM.1,
            yk_initiates: true,
        },
    ),
    (
        "v6_in_v6_yk_responder",
        Scenario {
            outer: Family::V6,
            inner: Family::V6,
            ike: GCM.0,
            esp: GCM.1,
            yk_initiates: false,
        },
    ),
    (
        "v6_in_v6_yk_initiator",
        Scenario {
            outer: Family::V6,
            inner: Family::V6,
            ike: GCM.0,
            esp: GCM.1,
            yk_initiates: true,
        },
    ),
    (
        "v4_in_v6_yk_initiator",
        Scenario {
            outer: Family::V6,
            inner: Family::V4,
            ike: GCM.0,
            esp: GCM.1,
            yk_initiates: true,
        },
    ),
    (
        "v4_in_v6_yk_responder",
        Scenario {
            outer: Family::V6,
            inner: Family::V4,
            ike: GCM.0,
            esp: GCM.1,
            yk_initiates: false,
        },
    ),
    (
        "v4_cbc_modp2048_yk_initiator",
        Scenario {
            outer: Family::V4,
            inner: Family::V4,
            ike: CBC.0,
            esp: CBC.1,
            yk_initiates: true,
        },
    ),
    (
        "v4_cbc_modp2048_yk_responder",
        Scenario {
            outer: Family::V4,
            inner: Family::V4,
            ike: CBC.0,
            esp: CBC.1,
            yk_initiates: false,
        },
    ),
];

fn run(name: &str) {
    skip_unless_testbed!();
    let s = SCENARIOS
        .iter()
        .find(|(n, _)| *n == name)
        .expect("scenario in table")
        .1;
    let topo = Topology::direct(name).unwrap();
    let _ = establish(&topo, &s, "");
}

#[test]
fn v4_gcm_yk_responder() {
    run("v4_gcm_yk_responder");
}
#[test]
fn v4_gcm_yk_initiator() {
    run("v4_gcm_yk_initiator");
}
#[test]
fn v6_in_v6_yk_responder() {
    run("v6_in_v6_yk_responder");
}
#[test]
fn v6_in_v6_yk_initiator() {
    run("v6_in_v6_yk_initiator");
}
#[test]
fn v4_in_v6_yk_initiator() {
    run("v4_in_v6_yk_initiator");
}
#[test]
fn v4_in_v6_yk_responder() {
    run("v4_in_v6_yk_responder");
}
#[test]
fn v4_cbc_modp2048_yk_initiator() {
    run("v4_cbc_modp2048_yk_initiator");
}
#[test]
fn v4_cbc_modp2048_yk_responder() {
    run("v4_cbc_modp2048_yk_responder");
}

/// `yadokari down` deletes the SAs on both sides.
#[test]
fn down_deletes_on_both_sides() {
    skip_unless_testbed!();
    let s = SCENARIOS[1].1;
    let topo = Topology::direct("down_both").unwrap();
    let (swan, yk) = establish(&topo, &s, "");
    match yk.call(Request::Down { name: "yk".into() }) {
        Response::Done { .. } => {}
        other => panic!("down: {other:?}\n{}", yk.log()),
    }
    assert!(yk.sas().is_empty());
    assert!(
        swan.wait_sas(Duration::from_secs(10), |sas| sas.is_empty()),
        "strongSwan still has SAs"
    );
    // and up again
    match yk.call(Request::Up { name: "yk".into() }) {
        Response::Done { .. } => {}
        other => panic!("up: {other:?}\n{}", yk.log()),
    }
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// strongSwan rekeys the CHILD SA and then the IKE SA while traffic flows;
/// the new SPIs take over and no ping is lost.
#[test]
fn rekeys_started_by_strongswan() {
    skip_unless_testbed!();
    let s = SCENARIOS[0].1;
    let topo = Topology::direct("rekey_swan").unwrap();
    let (swan, yk) = establish(&topo, &s, "");
    let before = yk.sas();
    swan.rekey_child("site4").unwrap();
    assert!(
        yk.wait(Duration::from_secs(15), |sas| sas
            .iter()
            .flat_map(|sa| &sa.children)
            .any(|c| c.spi_in != before[0].children[0].spi_in)),
        "CHILD SA not rekeyed:\n{}",
        yk.log()
    );
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
    swan.rekey_ike("yk").unwrap();
    assert!(
        yk.wait(Duration::from_secs(15), |sas| sas
            .iter()
            .any(|sa| sa.ispi != before[0].ispi && !sa.children.is_empty())),
        "IKE SA not rekeyed:\n{}",
        yk.log()
    );
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// yadokari rekeys on its own lifetimes (short ones here).
#[test]
fn rekeys_started_by_yadokari() {
    skip_unless_testbed!();
    let s = SCENARIOS[1].1;
    let topo = Topology::direct("rekey_yk").unwrap();
    let (_swan, yk) = establish(&topo, &s, "rekey = \"8s\"\n");
    let first = yk.sas()[0].children[0].spi_in.clone();
    assert!(
        yk.wait(Duration::from_secs(20), |sas| sas
            .iter()
            .flat_map(|sa| &sa.children)
            .any(|c| c.spi_in != first)),
        "no CHILD rekey within 20 s:\n{}",
        yk.log()
    );
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// DPD notices a dead strongSwan; with action restart yadokari brings the
/// tunnel back once strongSwan returns.
#[test]
fn dpd_restart_after_peer_returns() {
    skip_unless_testbed!();
    let s = SCENARIOS[1].1;
    let topo = Topology::direct("dpd_restart").unwrap();
    let (mut swan, yk) = establish(&topo, &s, "dpd = \"2s\"\ndpd_action = \"restart\"\n");
    let old = yk.sas()[0].ispi.clone();
    // A crash, not a shutdown: a stopping charon would delete its SAs.
    let pid = swan.pid().expect("charon pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    swan.stop();
    // The dead peer is noticed: the old IKE SA goes away.
    assert!(
        yk.wait(Duration::from_secs(40), |sas| !sas.iter().any(|sa| sa.ispi
            == old
            && sa.state.eq_ignore_ascii_case("established"))),
        "DPD did not notice the dead peer:\n{}",
        yk.log()
    );
    let conf = site_to_site(&topo, Side::Left, s.outer, &[s.inner]).with_proposals(s.ike, s.esp);
    let _swan2 = StrongSwan::start(
        topo.ns(Side::Left),
        "left2",
        &conf,
        &CharonOptions::default(),
    )
    .unwrap();
    assert!(
        yk.wait(Duration::from_secs(60), |sas| sas
            .iter()
            .any(|sa| sa.ispi != old && !sa.children.is_empty())),
        "not re-established after the peer returned:\n{}",
        yk.log()
    );
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// A reload that adds a connection leaves the established one alone: the
/// same IKE and CHILD SPIs before and after, and traffic still flows.
#[test]
fn reload_keeps_unchanged_sas() {
    skip_unless_testbed!();
    let s = SCENARIOS[1].1;
    let topo = Topology::direct("reload_keep").unwrap();
    let (_swan, yk) = establish(&topo, &s, "");
    let before = yk.sas();
    let cfg = yk.dir.path().join("yadokari.toml");
    let mut text = std::fs::read_to_string(&cfg).unwrap();
    text.push_str(
        "\n[tunnel.other]\nremote = \"192.0.2.77\"\nlocal_id = \"right.example.org\"\npsk = \"another-long-enough-pre-shared-key\"\nlocal_ts = \"203.0.113.128/25\"\nremote_ts = \"198.51.100.128/25\"\n",
    );
    std::fs::write(&cfg, text).unwrap();
    match yk.call(Request::Reload) {
        Response::Reloaded(r) => {
            assert_eq!(r.added, vec!["other".to_string()]);
            assert_eq!(r.unchanged, vec!["yk".to_string()]);
        }
        other => panic!("reload: {other:?}"),
    }
    let after = yk.sas();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].ispi, before[0].ispi);
    assert_eq!(after[0].children[0].spi_in, before[0].children[0].spi_in);
    assert_eq!(after[0].children[0].spi_out, before[0].children[0].spi_out);
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}
