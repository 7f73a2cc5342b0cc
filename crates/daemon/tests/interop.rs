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

use std::time::{Duration, Instant};

use yadokari_control::{IkeSaInfo, Request, Response};
use yadokari_testbed::netns::wait_until;
use yadokari_testbed::yadokarid::TunnelConfig;
use yadokari_testbed::{
    site_to_site, skip_unless_testbed, CharonOptions, Family, IperfServer, Side, StrongSwan,
    Topology, UdpClient, UdpReport, UdpStream, Yadokarid,
};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

/// yadokarid on the right side; killed on drop (its log printed if the
/// test fails).
struct Yadokari(Yadokarid);

impl Yadokari {
    fn start(topo: &Topology, config: &str) -> Yadokari {
        Yadokari(Yadokarid::start(&topo.right, BIN, "yadokari", config).unwrap())
    }

    fn log(&self) -> String {
        self.0.log()
    }

    fn call(&self, r: Request) -> Response {
        self.0.call(&r).unwrap()
    }

    fn sas(&self) -> Vec<IkeSaInfo> {
        self.0.sas().unwrap()
    }

    fn wait(&self, within: Duration, pred: impl FnMut(&[IkeSaInfo]) -> bool) -> bool {
        self.0.wait(within, pred)
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
    TunnelConfig {
        side: Side::Right,
        family: s.outer,
        ifname: "ykt0",
        name: "yk",
        initiate: s.yk_initiates,
        daemon: "retransmit_timeout = \"6s\"",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = \"{}\"\nesp = \"{}\"\nencap = true\n{extra}",
            net(s.inner, Side::Right),
            net(s.inner, Side::Left),
            s.ike,
            s.esp
        ),
    }
    .render(topo)
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
            "2048-bit MODP Group"
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

// ---- Rekeys under load -------------------------------------------------
//
// Each rekey scenario runs a bounded iperf3 UDP stream between the two site
// networks, both ways, across the rekeys and reports what was lost. The
// bound is 1 % per direction: a rekey done right (RFC 7296 §2.8: the new
// inbound SA is installed before the new outbound one is used, the old
// inbound SA lives until the peer deletes it) loses nothing, so what the
// bound leaves room for is the test bed itself, two daemons and iperf3
// sharing two cores, which now and then overflows a socket buffer. The
// one loss a rekey itself used to cause — yadokari, answering strongSwan's
// CHILD rekey, sealing on the new SA before strongSwan had installed it —
// is held at exactly zero in `rekey_child_by_strongswan`.

/// Most loss a rekey scenario accepts, per direction, in percent.
const REKEY_MAX_LOSS_PERCENT: f64 = 1.0;

/// 20 Mbit/s of 1200-byte datagrams each way for 6 s: long enough for two
/// rekeys, short enough to keep the suite quick.
fn rekey_stream() -> UdpStream {
    UdpStream {
        bitrate: 20_000_000,
        duration: Duration::from_secs(6),
        length: 1200,
        bidir: true,
        ..UdpStream::default()
    }
}

/// An iperf3 stream from the left site (strongSwan) to the right site
/// (yadokari) and back, running while the test rekeys.
struct Stream {
    label: &'static str,
    spec: UdpStream,
    // Declared before `_server` so the client is stopped first on drop.
    client: Option<UdpClient>,
    _server: IperfServer,
}

impl Stream {
    fn start(label: &'static str, topo: &Topology, f: Family) -> Stream {
        let spec = rekey_stream();
        let right = topo.addrs(Side::Right).site(f);
        let left = topo.addrs(Side::Left).site(f);
        let server = IperfServer::start(topo.ns(Side::Right), right, spec.port)
            .expect("iperf3 server on the yadokari side");
        let client = UdpClient::spawn(topo.ns(Side::Left), left, right, &spec)
            .expect("iperf3 client on the strongSwan side");
        Stream {
            label,
            spec,
            client: Some(client),
            _server: server,
        }
    }

    /// Sleeps until `at` after the stream started (returns at once if that
    /// is past).
    fn at(&self, at: Duration) {
        let elapsed = self.client.as_ref().map_or(at, UdpClient::elapsed);
        std::thread::sleep(at.saturating_sub(elapsed));
    }

    fn running(&mut self) -> bool {
        self.client.as_mut().is_some_and(|c| !c.is_done())
    }

    /// Waits for the report, prints the loss line and checks the bound.
    fn finish(mut self, rekeys: usize, what: &str) -> UdpReport {
        let client = self.client.take().expect("finish once");
        let report = client
            .finish()
            .unwrap_or_else(|e| panic!("{}: no iperf3 report: {e:#}", self.label));
        println!(
            "{}: {}, {report} across {rekeys} {what}",
            self.label,
            self.spec.describe()
        );
        assert!(
            report.received() > 0,
            "{}: nothing went through the tunnel",
            self.label
        );
        assert!(
            report.worst_lost_percent() <= REKEY_MAX_LOSS_PERCENT,
            "{}: {report} is more than {REKEY_MAX_LOSS_PERCENT} % lost",
            self.label
        );
        report
    }
}

/// Whether both sides name the same IKE SPIs and CHILD SPIs, and there is
/// exactly one of each in use (the rekeyed ones deleted).
fn sides_agree(swan: &StrongSwan, yk: &Yadokari) -> bool {
    let ours = yk.sas();
    let Ok(theirs) = swan.list_sas() else {
        return false;
    };
    let (
        [IkeSaInfo {
            ispi,
            rspi,
            children: ours_children,
            ..
        }],
        [t],
    ) = (ours.as_slice(), theirs.as_slice())
    else {
        return false;
    };
    let [o] = ours_children.as_slice() else {
        return false;
    };
    // charon keeps a rekeyed CHILD SA's inbound half for a few seconds
    // (state DELETED) so late packets still arrive; only the installed one
    // counts.
    let installed: Vec<_> = t
        .children
        .iter()
        .filter(|c| c.state == "INSTALLED")
        .collect();
    let [tc] = installed.as_slice() else {
        return false;
    };
    *ispi == format!("{:016x}", t.spi_i)
        && *rspi == format!("{:016x}", t.spi_r)
        && o.spi_in == format!("{:08x}", tc.spi_out)
        && o.spi_out == format!("{:08x}", tc.spi_in)
}

/// Waits (up to 10 s) until both sides agree on one IKE SA and one CHILD
/// SA, and returns yadokari's view.
fn settled(swan: &StrongSwan, yk: &Yadokari) -> Vec<IkeSaInfo> {
    assert!(
        wait_until(Duration::from_secs(10), || sides_agree(swan, yk)),
        "the two sides disagree after the rekeys:\nyadokari: {:#?}\nstrongSwan: {:#?}\n{}",
        yk.sas(),
        swan.list_sas(),
        yk.log()
    );
    yk.sas()
}

fn child_spis(sas: &[IkeSaInfo]) -> Vec<String> {
    sas.iter()
        .flat_map(|sa| &sa.children)
        .map(|c| c.spi_in.clone())
        .collect()
}

/// strongSwan rekeys the CHILD SA four times while an iperf3 stream runs; each
/// time yadokari shows a new inbound SPI, both sides end on the same new
/// SPIs, and the stream loses (almost) nothing.
#[test]
fn rekey_child_by_strongswan() {
    skip_unless_testbed!();
    let s = SCENARIOS[0].1;
    let topo = Topology::direct("rk_child_swan").unwrap();
    let (swan, yk) = establish(&topo, &s, "");
    let mut seen = child_spis(&yk.sas());
    let stream = Stream::start("rekey-child-by-strongswan", &topo, s.inner);
    for at in [1000, 2000, 3000, 4000] {
        stream.at(Duration::from_millis(at));
        swan.rekey_child(child_name(s.inner)).unwrap();
        let mut fresh = None;
        assert!(
            yk.wait(Duration::from_secs(10), |sas| {
                fresh = child_spis(sas).into_iter().find(|spi| !seen.contains(spi));
                fresh.is_some()
            }),
            "CHILD SA not rekeyed:\n{}",
            yk.log()
        );
        seen.extend(fresh);
    }
    let report = stream.finish(4, "CHILD rekeys");
    // As the rekey's responder yadokari keeps sealing with the old SA until
    // strongSwan is seen using the new one (or deletes the old): nothing it
    // sends may arrive before strongSwan has the SA to open it.
    let back = report.reverse.expect("a two-way stream");
    assert_eq!(
        back.lost, 0,
        "yadokari -> strongSwan lost {back} across strongSwan's CHILD rekeys"
    );
    let end = settled(&swan, &yk);
    assert_eq!(end[0].children[0].spi_in, seen[seen.len() - 1]);
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// strongSwan rekeys the IKE SA twice while an iperf3 stream runs; the
/// CHILD SA moves to each new IKE SA and the stream goes on.
#[test]
fn rekey_ike_by_strongswan() {
    skip_unless_testbed!();
    let s = SCENARIOS[0].1;
    let topo = Topology::direct("rk_ike_swan").unwrap();
    let (swan, yk) = establish(&topo, &s, "");
    let first = yk.sas();
    let mut seen = vec![first[0].ispi.clone()];
    let stream = Stream::start("rekey-ike-by-strongswan", &topo, s.inner);
    for at in [1500, 3500] {
        stream.at(Duration::from_millis(at));
        swan.rekey_ike("yk").unwrap();
        let mut fresh = None;
        assert!(
            yk.wait(Duration::from_secs(10), |sas| {
                fresh = sas
                    .iter()
                    .find(|sa| !seen.contains(&sa.ispi) && !sa.children.is_empty())
                    .map(|sa| sa.ispi.clone());
                fresh.is_some()
            }),
            "IKE SA not rekeyed:\n{}",
            yk.log()
        );
        seen.extend(fresh);
    }
    stream.finish(2, "IKE rekeys");
    let end = settled(&swan, &yk);
    assert_eq!(end[0].ispi, seen[2]);
    // An IKE rekey moves the CHILD SA without rekeying it (§2.8).
    assert_eq!(end[0].children[0].spi_in, first[0].children[0].spi_in);
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// Watches yadokari's SAs while the stream runs and returns every
/// distinct value `key` took (in order of appearance).
fn watch(
    stream: &mut Stream,
    yk: &Yadokari,
    key: impl Fn(&[IkeSaInfo]) -> Vec<String>,
) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + stream.spec.duration + stream.spec.grace;
    while stream.running() && Instant::now() < deadline {
        for v in key(&yk.sas()) {
            if !seen.contains(&v) {
                seen.push(v);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    seen
}

/// yadokari rekeys the CHILD SA on its own (short) lifetime, twice or
/// more during the stream.
#[test]
fn rekey_child_by_yadokari() {
    skip_unless_testbed!();
    let s = SCENARIOS[1].1;
    let topo = Topology::direct("rk_child_yk").unwrap();
    let (swan, yk) = establish(&topo, &s, "rekey = \"3s\"\n");
    let mut stream = Stream::start("rekey-child-by-yadokari", &topo, s.inner);
    let seen = watch(&mut stream, &yk, child_spis);
    // Within 6 s a 3 s lifetime (minus up to 10 % jitter) rekeys at least
    // once even when the first rekey fell just before the stream began.
    assert!(
        seen.len() >= 2,
        "no CHILD rekey during the stream: {seen:?}\n{}",
        yk.log()
    );
    stream.finish(seen.len() - 1, "CHILD rekeys");
    let end = settled(&swan, &yk);
    assert!(!end[0].children[0].spi_in.is_empty());
    assert!(topo
        .ping(Side::Left, topo.addrs(Side::Right).site(Family::V4))
        .unwrap());
}

/// yadokari rekeys the IKE SA on its own (short) lifetime; the CHILD SA
/// moves along and keeps its SPIs.
#[test]
fn rekey_ike_by_yadokari() {
    skip_unless_testbed!();
    let s = SCENARIOS[1].1;
    let topo = Topology::direct("rk_ike_yk").unwrap();
    let (swan, yk) = establish(&topo, &s, "ike_rekey = \"3s\"\n");
    let child = yk.sas()[0].children[0].spi_in.clone();
    let mut stream = Stream::start("rekey-ike-by-yadokari", &topo, s.inner);
    let seen = watch(&mut stream, &yk, |sas| {
        sas.iter()
            .filter(|sa| !sa.children.is_empty())
            .map(|sa| sa.ispi.clone())
            .collect()
    });
    assert!(
        seen.len() >= 2,
        "no IKE rekey during the stream: {seen:?}\n{}",
        yk.log()
    );
    stream.finish(seen.len() - 1, "IKE rekeys");
    let end = settled(&swan, &yk);
    assert_eq!(
        end[0].children[0].spi_in, child,
        "the CHILD SA moved, not rekeyed"
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
    let cfg = yk.0.dir().join("yadokari.toml");
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

/// strongSwan (classic GCM proposals) on the left and yadokari on the
/// right, initiating with the IKE proposal list `ike` (TOML).
fn classic_swan_and_yadokari(name: &str, ike: &str) -> (StrongSwan, Yadokari, Topology) {
    let topo = Topology::direct(name).unwrap();
    let conf =
        site_to_site(&topo, Side::Left, Family::V4, &[Family::V4]).with_proposals(GCM.0, GCM.1);
    let swan = StrongSwan::start(
        topo.ns(Side::Left),
        "left",
        &conf,
        &CharonOptions::default(),
    )
    .unwrap();
    let cfg = TunnelConfig {
        side: Side::Right,
        family: Family::V4,
        ifname: "ykt0",
        name: "yk",
        initiate: true,
        daemon: "retransmit_timeout = \"6s\"",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = {ike}\nesp = \"{}\"\nencap = true\n",
            net(Family::V4, Side::Right),
            net(Family::V4, Side::Left),
            GCM.1
        ),
    }
    .render(&topo);
    let yk = Yadokari::start(&topo, &cfg);
    (swan, yk, topo)
}

/// A yadokari that proposes ML-KEM-768 first and a classic proposal second
/// comes up with the classic one against strongSwan 5.9.8, which has no
/// ML-KEM: strongSwan chooses the second proposal and asks for its group
/// (INVALID_KE_PAYLOAD, RFC 7296 §1.3), and yadokari starts again with
/// X25519.
#[test]
fn ml_kem_first_falls_back_to_classic_with_strongswan_5() {
    skip_unless_testbed!();
    let (swan, yk, topo) = classic_swan_and_yadokari(
        "ykmlkemfb",
        &format!("[\"aes256gcm16-prfsha384-mlkem768\", \"{}\"]", GCM.0),
    );
    assert!(
        yk.wait(Duration::from_secs(20), |sas| sas
            .iter()
            .any(|sa| !sa.children.is_empty())),
        "no CHILD SA:\n{}\n{}",
        yk.log(),
        swan.log_text().unwrap_or_default()
    );
    let sa = &yk.sas()[0];
    assert_eq!(sa.algorithms.ke, "Curve25519", "{:?}", sa.algorithms);
    assert!(topo
        .ping(Side::Right, topo.addrs(Side::Left).site(Family::V4))
        .unwrap());
}

/// A "strict" post-quantum connection (every proposal needs ML-KEM) does
/// not come up against strongSwan 5.9.8, which has no ML-KEM, and says
/// why in its status instead of a bare NO_PROPOSAL_CHOSEN.
#[test]
fn strict_post_quantum_refuses_a_classic_peer_and_says_why() {
    skip_unless_testbed!();
    let (_swan, yk, _topo) = classic_swan_and_yadokari(
        "ykpqstrict",
        "\"aes256gcm16-prfsha384-x25519-ke1_mlkem768\"",
    );
    let mut why = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Response::Status(s) = yk.call(Request::Status) {
            if let Some(e) = s.connections.iter().find_map(|c| c.last_error.clone()) {
                why = e;
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        why.contains("post-quantum") && why.contains("NO_PROPOSAL_CHOSEN"),
        "{why}\n{}",
        yk.log()
    );
    assert!(yk.sas().iter().all(|sa| sa.children.is_empty()));
}

/// RFC 8784 post-quantum preshared keys against strongSwan: both sides
/// require the PPK, the tunnel comes up with it mixed into the keys (so
/// traffic flows only if both derived the same SK_d'), and strongSwan says
/// it used it.
fn ppk(name: &str, yk_initiates: bool) {
    skip_unless_testbed!();
    let topo = Topology::direct(name).unwrap();
    let ppk = "a-post-quantum-preshared-key-of-at-least-32-bytes";
    let mut conf =
        site_to_site(&topo, Side::Left, Family::V4, &[Family::V4]).with_proposals(GCM.0, GCM.1);
    conf.conn_mut()
        .extra
        .extend(["ppk_id = ykppk".to_owned(), "ppk_required = yes".to_owned()]);
    conf.ppks.push(yadokari_testbed::swanctl_conf::Psk {
        ids: vec!["ykppk".into()],
        secret: ppk.into(),
    });
    let swan = StrongSwan::start(
        topo.ns(Side::Left),
        "left",
        &conf,
        &CharonOptions::default(),
    )
    .unwrap();
    let s = Scenario {
        outer: Family::V4,
        inner: Family::V4,
        ike: GCM.0,
        esp: GCM.1,
        yk_initiates,
    };
    let extra = format!("ppk_id = \"ykppk\"\nppk = \"{ppk}\"\nppk_required = true\n");
    let yk = Yadokari::start(&topo, &yadokari_config(&topo, &s, &extra));
    if !yk_initiates {
        swan.initiate(child_name(Family::V4))
            .expect("strongSwan initiates");
    }
    assert!(
        yk.wait(Duration::from_secs(20), |sas| sas
            .iter()
            .any(|sa| !sa.children.is_empty())),
        "no CHILD SA:\n{}\n{}",
        yk.log(),
        swan.log_text().unwrap_or_default()
    );
    let left = topo.addrs(Side::Left).site(Family::V4);
    assert!(topo.ping(Side::Right, left).unwrap(), "traffic with SK_d'");
    let log = swan.log_text().unwrap();
    assert!(log.contains("using PPK for PPK_ID 'ykppk'"), "{log}");
}

#[test]
fn ppk_required_yk_initiator() {
    ppk("ykppk_i", true);
}

#[test]
fn ppk_required_yk_responder() {
    ppk("ykppk_r", false);
}

/// RFC 6023 childless IKE SAs with strongSwan, each side forcing it in
/// turn: IKE_AUTH carries no CHILD SA, the CHILD SA follows in
/// CREATE_CHILD_SA, and traffic flows.
fn childless(name: &str, yk_initiates: bool) {
    skip_unless_testbed!();
    let topo = Topology::direct(name).unwrap();
    let mut conf =
        site_to_site(&topo, Side::Left, Family::V4, &[Family::V4]).with_proposals(GCM.0, GCM.1);
    if !yk_initiates {
        conf.conn_mut().extra.push("childless = force".to_owned());
    }
    let swan = StrongSwan::start(
        topo.ns(Side::Left),
        "left",
        &conf,
        &CharonOptions::default(),
    )
    .unwrap();
    let s = Scenario {
        outer: Family::V4,
        inner: Family::V4,
        ike: GCM.0,
        esp: GCM.1,
        yk_initiates,
    };
    let extra = if yk_initiates {
        "childless = \"force\"\n"
    } else {
        ""
    };
    let yk = Yadokari::start(&topo, &yadokari_config(&topo, &s, extra));
    if !yk_initiates {
        if let Err(e) = swan.initiate(child_name(Family::V4)) {
            panic!(
                "strongSwan initiates: {e:#}\n{}\n{}",
                yk.log(),
                swan.log_text().unwrap_or_default()
            );
        }
    }
    assert!(
        yk.wait(Duration::from_secs(20), |sas| sas
            .iter()
            .any(|sa| !sa.children.is_empty())),
        "no CHILD SA:\n{}\n{}",
        yk.log(),
        swan.log_text().unwrap_or_default()
    );
    let left = topo.addrs(Side::Left).site(Family::V4);
    assert!(topo.ping(Side::Right, left).unwrap());
    // The CHILD SA came in CREATE_CHILD_SA, not in IKE_AUTH.
    let log = swan.log_text().unwrap();
    assert!(log.contains("CREATE_CHILD_SA request"), "{log}");
}

#[test]
fn childless_forced_by_yadokari() {
    childless("ykchildless_i", true);
}

#[test]
fn childless_forced_by_strongswan() {
    childless("ykchildless_r", false);
}
