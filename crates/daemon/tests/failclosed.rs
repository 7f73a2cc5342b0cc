//! Fail-closed routing and keeping tunnels up, between two yadokarid in
//! network namespaces (issue 18, items 0, 2, 3, 12 and 18):
//!
//! - protected traffic never leaves the outer interface in clear: before
//!   the first SA, after the peer deleted it, while the daemon is dead
//!   after kill -9, after it restarts (tcpdump on the outer interface, with
//!   a default route that would carry it); bypass and discard policies;
//! - `start = "on-demand"` negotiates when traffic comes;
//! - DPD detects a dead peer within `dpd` + `retransmit_timeout` (+ its
//!   error) while traffic flows;
//! - a connection that should be up retries with back-off and comes back
//!   soon after its peer does (DPD restart, the peer's clean shutdown);
//! - `down` and `up` do what they say while the peer is dead.
//!
//! Needs root; without it the tests skip.

use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use yadokari_control::{ConnectionStatus, Request, Response};
use yadokari_testbed::netns::signal;
use yadokari_testbed::yadokarid::{has_child_sa as child_up, site_selectors, TunnelConfig};
use yadokari_testbed::{Capture, Family, Netns, Side, Topology, Yadokarid};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");
const TUN: &str = "ykfc0";
/// Short retransmission budget, so a dead peer is a dead peer in seconds.
const FAST: &str = "retransmit_timeout = \"2s\"";

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "ping", "tcpdump"])
}

/// One side's configuration: a tunnel between the site networks.
fn config(topo: &Topology, side: Side, initiate: bool, daemon: &str, tunnel: &str) -> String {
    let sel = site_selectors(topo, side, Family::V4);
    TunnelConfig {
        side,
        family: Family::V4,
        ifname: TUN,
        name: "t",
        initiate,
        daemon,
        tunnel: &format!("{sel}\n{tunnel}"),
    }
    .render(topo)
}

fn site(topo: &Topology, side: Side) -> IpAddr {
    topo.addrs(side).site(Family::V4)
}

/// Pings `dst` from the left namespace (3 echo requests) while tcpdump
/// watches the outer interface; the number of ICMP packets that left in
/// clear.
fn cleartext(topo: &Topology, dir: &Path, tag: &str, dst: IpAddr) -> u64 {
    let pcap = dir.join(format!("outer-{tag}.pcap"));
    // ICMPv6 also carries neighbour discovery: count echo requests only.
    let filter = match dst {
        IpAddr::V4(_) => "icmp",
        IpAddr::V6(_) => "icmp6 and ip6[40] == 128",
    };
    let cap = Capture::start(topo.ns(Side::Left), "yk0", &pcap, Some(filter)).unwrap();
    let _ = topo.ns(Side::Left).exec(&[
        "ping",
        "-c",
        "3",
        "-i",
        "0.2",
        "-W",
        "1",
        "-q",
        &dst.to_string(),
    ]);
    cap.stop().unwrap()
}

/// Copies of our policy rule in a namespace.
fn rules(ns: &Netns) -> usize {
    ns.ip(&["-4", "rule", "show"])
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("lookup 31083"))
        .count()
}

fn table(ns: &Netns) -> String {
    ns.ip(&["-4", "route", "show", "table", "31083"])
        .unwrap_or_default()
}

/// Waits until a starting daemon has its policy routes in place (its
/// control socket opens a little earlier).
fn wait_routes(ns: &Netns) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !table(ns).contains(&format!("dev {TUN}")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn kill9(y: &Yadokarid, ns: &Netns) {
    signal(&[y.pid()], "KILL");
    // The TUN goes with the process.
    let deadline = Instant::now() + Duration::from_secs(5);
    while ns.ip(&["link", "show", TUN]).is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn status(y: &Yadokarid) -> ConnectionStatus {
    match y.call(&Request::Status).unwrap() {
        Response::Status(s) => s.connections[0].clone(),
        other => panic!("status answered {other:?}"),
    }
}

fn done(r: Response) -> String {
    match r {
        Response::Done { message } => message,
        other => panic!("expected done, got {other:?}"),
    }
}

/// Item 0: from load on, protected traffic never leaves in clear, whatever
/// the SA state, even with a default route that would carry it and while
/// the daemon is dead; only an explicit `--cleanup` lets it go again.
/// Item 18: a restart after kill -9 leaves exactly one rule.
#[test]
fn protected_traffic_never_leaves_in_clear() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcleak").unwrap();
    topo.left
        .ip(&["route", "add", "default", "via", "192.0.2.2"])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dst = site(&topo, Side::Right);
    let left = config(&topo, Side::Left, false, FAST, "");
    let right = config(&topo, Side::Right, true, FAST, "");

    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    wait_routes(topo.ns(Side::Left));
    assert_eq!(
        cleartext(&topo, dir.path(), "1", dst),
        0,
        "before the first SA"
    );

    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    assert!(l.wait(Duration::from_secs(20), child_up), "{}", l.log());
    assert!(
        topo.ping(Side::Left, dst).unwrap(),
        "no traffic through the tunnel"
    );
    done(r.call(&Request::Down { name: "t".into() }).unwrap());
    assert!(l.wait(Duration::from_secs(5), |s| !child_up(s)));
    assert_eq!(
        cleartext(&topo, dir.path(), "2", dst),
        0,
        "after the peer deleted the SA"
    );
    // Dropped and counted, before the first SA and after it went.
    match l.call(&Request::Status).unwrap() {
        Response::Status(s) => assert!(s.dropped_without_sa >= 6, "{s:?}"),
        other => panic!("{other:?}"),
    }

    kill9(&l, topo.ns(Side::Left));
    assert_eq!(
        cleartext(&topo, dir.path(), "3", dst),
        0,
        "while the daemon is dead (kill -9)\n{}",
        table(topo.ns(Side::Left))
    );
    assert_eq!(rules(topo.ns(Side::Left)), 1);
    drop(l);

    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left2", &left).unwrap();
    wait_routes(topo.ns(Side::Left));
    assert_eq!(rules(topo.ns(Side::Left)), 1, "the rule doubled up");
    assert_eq!(cleartext(&topo, dir.path(), "4", dst), 0, "after a restart");
    kill9(&l, topo.ns(Side::Left));
    drop(l);

    // The explicit command lets traffic go the ordinary way again, and the
    // capture does see it (the zeros above are real).
    let out = topo
        .ns(Side::Left)
        .exec(&[BIN, "--cleanup"])
        .expect("yadokarid --cleanup");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(rules(topo.ns(Side::Left)), 0);
    assert_eq!(table(topo.ns(Side::Left)), "");
    assert!(
        cleartext(&topo, dir.path(), "5", dst) > 0,
        "capture saw nothing"
    );
}

/// Item 0 for IPv6 inside the tunnel: no SA, then the daemon killed; an
/// explicit `--cleanup` shows the capture would have seen a leak.
#[test]
fn protected_ipv6_traffic_never_leaves_in_clear() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcleak6").unwrap();
    topo.left
        .ip(&["-6", "route", "add", "default", "via", "2001:db8::2"])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dst = topo.addrs(Side::Right).site(Family::V6);
    let left = TunnelConfig {
        side: Side::Left,
        family: Family::V4,
        ifname: TUN,
        name: "t",
        initiate: false,
        daemon: FAST,
        tunnel: &site_selectors(&topo, Side::Left, Family::V6),
    }
    .render(&topo);
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !topo
        .left
        .ip(&["-6", "route", "show", "table", "31083"])
        .unwrap_or_default()
        .contains(TUN)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(cleartext(&topo, dir.path(), "1", dst), 0, "no SA yet");
    kill9(&l, topo.ns(Side::Left));
    drop(l);
    assert_eq!(cleartext(&topo, dir.path(), "2", dst), 0, "daemon killed");
    let out = topo.ns(Side::Left).exec(&[BIN, "--cleanup"]).unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        cleartext(&topo, dir.path(), "3", dst) > 0,
        "capture saw nothing"
    );
}

/// Bypass traffic leaves the way the main table says, discard traffic is
/// dropped, both winning over a protect policy of the same network.
#[test]
fn bypass_and_discard_do_what_they_say() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcpol").unwrap();
    topo.left
        .ip(&["route", "add", "default", "via", "192.0.2.2"])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let extra = "
[policy.pass]
action = \"bypass\"
[selector.pass]
src = \"198.51.100.0/24\"
dst = \"203.0.113.7/32\"
policy = \"pass\"

[policy.drop]
action = \"discard\"
[selector.drop]
src = \"198.51.100.0/24\"
dst = \"203.0.113.8/32\"
policy = \"drop\"
";
    let left = format!("{}{extra}", config(&topo, Side::Left, false, FAST, ""));
    let _l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    wait_routes(topo.ns(Side::Left));
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        cleartext(&topo, dir.path(), "p", ip("203.0.113.1")),
        0,
        "{}\n{}\n{}",
        table(topo.ns(Side::Left)),
        topo.ns(Side::Left).ip(&["rule"]).unwrap_or_default(),
        String::from_utf8_lossy(
            &std::process::Command::new("tcpdump")
                .args(["-nn", "-r"])
                .arg(dir.path().join("outer-p.pcap"))
                .output()
                .unwrap()
                .stdout
        )
    );
    assert_eq!(cleartext(&topo, dir.path(), "d", ip("203.0.113.8")), 0);
    assert_eq!(
        cleartext(&topo, dir.path(), "b", ip("203.0.113.7")),
        3,
        "bypass traffic did not leave: {}",
        table(topo.ns(Side::Left))
    );
}

/// Item 0: `start = "on-demand"` negotiates when traffic needs the tunnel.
#[test]
fn on_demand_negotiates_on_traffic() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcdemand").unwrap();
    let left = config(&topo, Side::Left, false, FAST, "")
        .replace("start = \"respond\"", "start = \"on-demand\"");
    let right = config(&topo, Side::Right, false, FAST, "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(l.sas().unwrap().is_empty(), "negotiated without traffic");
    let dst = site(&topo, Side::Right);
    let _ = topo.ping(Side::Left, dst);
    assert!(
        l.wait(Duration::from_secs(5), child_up),
        "traffic did not start the tunnel\n{}",
        l.log()
    );
    assert!(r.wait(Duration::from_secs(2), child_up));
    assert!(topo.ping(Side::Left, dst).unwrap());
}

/// A ping running in the background (bounded), killed on drop.
struct Pinger(Child);

impl Pinger {
    fn start(ns: &Netns, dst: IpAddr) -> Pinger {
        let child = ns
            .command("ping")
            .args(["-c", "300", "-i", "0.1", "-W", "1", "-q", &dst.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Pinger(child)
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Item 2: with traffic flowing, the DPD timer counts from the last ESP
/// the peer sent, so a peer killed just after a DPD period began is found
/// dead within `dpd` + `retransmit_timeout` + the timer's error (0.3 s
/// here), not a whole period later.
#[test]
fn dpd_finds_a_dead_peer_in_time_while_traffic_flows() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcdpd").unwrap();
    let daemon = "retransmit_timeout = \"3s\"";
    let left = config(&topo, Side::Left, true, daemon, "dpd = \"3s\"");
    let right = config(&topo, Side::Right, false, daemon, "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    assert!(l.wait(Duration::from_secs(10), child_up));
    let up = Instant::now();
    let _ping = Pinger::start(topo.ns(Side::Left), site(&topo, Side::Right));
    // Just past the first DPD period: the old code noticed the ESP only
    // when that timer fired and then waited a whole period more.
    std::thread::sleep(Duration::from_millis(3400).saturating_sub(up.elapsed()));
    assert!(child_up(&l.sas().unwrap()), "lost while traffic flowed");
    kill9(&r, topo.ns(Side::Right));
    let killed = Instant::now();
    assert!(
        l.wait(Duration::from_secs(15), |s| !child_up(s)),
        "never found dead"
    );
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_millis(3000 + 3000 + 300 + 700),
        "dead peer found after {took:?} (dpd 3 s + retransmit 3 s + error)\n{}",
        l.log()
    );
}

/// Waits until a daemon has exited after SIGTERM (it removes its socket).
fn wait_exit(y: &Yadokarid) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while y.socket().exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!y.socket().exists(), "did not exit\n{}", y.log());
}

/// Time until `y` has a CHILD SA again (at most `within`).
fn time_to_up(y: &Yadokarid, within: Duration) -> Option<Duration> {
    let t = Instant::now();
    y.wait(within, child_up).then(|| t.elapsed())
}

/// Item 3: `dpd_action = "restart"` (the default) goes on retrying with
/// back-off while the peer is away longer than the retransmission budget,
/// `status` says so, and the tunnel is back within one back-off interval
/// (plus the attempt's retransmission interval) of the peer's return.
#[test]
fn dpd_restart_retries_until_the_peer_is_back() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcretry").unwrap();
    let left = config(
        &topo,
        Side::Left,
        true,
        FAST,
        "dpd = \"2s\"\nretry_max_interval = \"2s\"",
    );
    let right = config(&topo, Side::Right, false, FAST, "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    assert!(l.wait(Duration::from_secs(10), child_up));
    kill9(&r, topo.ns(Side::Right));
    drop(r);
    // DPD (2 s) + retransmissions (2 s), then attempts of 2 s each with
    // back-off between them: 10 s is several attempts.
    std::thread::sleep(Duration::from_secs(10));
    assert!(!child_up(&l.sas().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(5);
    let st = loop {
        let st = status(&l);
        if st.retry_in_secs.is_some() || Instant::now() > deadline {
            break st;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(st.retry_in_secs.is_some_and(|n| n <= 2), "{st:?}");
    assert!(st.failed_attempts >= 2, "{st:?}");
    assert!(
        st.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no answer")),
        "{st:?}"
    );
    // What `yadokari status` prints.
    let (mut out, mut err) = (Vec::new(), Vec::new());
    yadokari::control_cmd::run(
        l.socket(),
        false,
        &yadokari::cli::Command::Status,
        &mut out,
        &mut err,
    );
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("last error: no answer"), "{text}");

    let _r = Yadokarid::start(topo.ns(Side::Right), BIN, "right2", &right).unwrap();
    let took = time_to_up(&l, Duration::from_secs(15)).expect("never came back");
    assert!(
        took <= Duration::from_secs(5),
        "back after {took:?}, more than one back-off interval (2 s) and attempt\n{}",
        l.log()
    );
}

/// Item 12: a clean shutdown of the responder (it deletes its SAs) does
/// not leave the initiator down for good: it negotiates again, and is up
/// within seconds of the responder's return. The clean shutdown also
/// removed the responder's routes and rule.
#[test]
fn initiator_comes_back_after_the_responder_restarts() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcterm").unwrap();
    let left = config(&topo, Side::Left, true, FAST, "retry_max_interval = \"2s\"");
    let right = config(&topo, Side::Right, false, FAST, "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    assert!(l.wait(Duration::from_secs(10), child_up));
    assert_eq!(rules(topo.ns(Side::Right)), 1);
    signal(&[r.pid()], "TERM");
    wait_exit(&r);
    assert!(l.wait(Duration::from_secs(5), |s| !child_up(s)));
    assert_eq!(rules(topo.ns(Side::Right)), 0, "rule left after SIGTERM");
    assert_eq!(table(topo.ns(Side::Right)), "", "routes left after SIGTERM");
    drop(r);
    std::thread::sleep(Duration::from_secs(4));
    let _r = Yadokarid::start(topo.ns(Side::Right), BIN, "right2", &right).unwrap();
    let took = time_to_up(&l, Duration::from_secs(15)).expect("never came back");
    assert!(
        took <= Duration::from_secs(5),
        "back after {took:?}\n{}",
        l.log()
    );
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
}

/// Item 12: with the peer dead, `down` answers at once and really takes
/// the connection down (no retries behind the operator's back), and `up`
/// really brings it up once the peer is back.
#[test]
fn down_and_up_do_what_they_say_with_a_dead_peer() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcdown").unwrap();
    // A long budget: a Delete to the dead peer would be retransmitted 6 s.
    let daemon = "retransmit_timeout = \"6s\"";
    let left = config(
        &topo,
        Side::Left,
        true,
        daemon,
        "retry_max_interval = \"2s\"",
    );
    let right = config(&topo, Side::Right, false, daemon, "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    assert!(l.wait(Duration::from_secs(10), child_up));
    kill9(&r, topo.ns(Side::Right));
    drop(r);
    let t = Instant::now();
    let msg = done(l.call(&Request::Down { name: "t".into() }).unwrap());
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "down took {:?}",
        t.elapsed()
    );
    assert!(msg.contains("down"), "{msg}");
    assert!(!child_up(&l.sas().unwrap()));
    let _r = Yadokarid::start(topo.ns(Side::Right), BIN, "right2", &right).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !child_up(&l.sas().unwrap()),
        "came back up after `down`\n{}",
        l.log()
    );
    let t = Instant::now();
    let msg = done(l.call(&Request::Up { name: "t".into() }).unwrap());
    assert!(msg.contains("is up"), "{msg}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
}

/// Item 12: after a kill -9 and restart of the responder, the initiator
/// does not wait out its whole retransmission budget (30 s here): the
/// restarted peer answers the DPD probe with INVALID_IKE_SPI, a hint
/// (RFC 7296 §1.5) on which the initiator negotiates a new SA beside the
/// old one, so the tunnel is back about `dpd` after the restart.
#[test]
fn initiator_recovers_quickly_from_a_responder_killed_and_restarted() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfckill").unwrap();
    let daemon = "retransmit_timeout = \"30s\"";
    let left = config(&topo, Side::Left, true, daemon, "dpd = \"2s\"");
    let right = config(&topo, Side::Right, false, daemon, "");
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();
    assert!(l.wait(Duration::from_secs(10), child_up));
    kill9(&r, topo.ns(Side::Right));
    drop(r);
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right2", &right).unwrap();
    let took = time_to_up(&r, Duration::from_secs(20)).expect("never came back");
    assert!(
        took <= Duration::from_secs(5),
        "back after {took:?} (dpd 2 s)\n{}",
        l.log()
    );
    assert!(topo.ping(Side::Left, site(&topo, Side::Right)).unwrap());
}

/// A reload changes the routes without a restart (the route thread applies
/// them after the reply): a discard policy added by reload drops its
/// traffic, and removed by the next reload it is gone from our table.
#[test]
fn reload_changes_the_policy_routes() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykfcreload").unwrap();
    let base = config(&topo, Side::Left, false, FAST, "");
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &base).unwrap();
    wait_routes(topo.ns(Side::Left));
    assert!(!table(topo.ns(Side::Left)).contains("203.0.113.8"));
    let extra = "
[policy.drop]
action = \"discard\"
[selector.drop]
src = \"198.51.100.0/24\"
dst = \"203.0.113.8/32\"
policy = \"drop\"
";
    let reload = |text: &str| {
        std::fs::write(l.dir().join("yadokari.toml"), text).unwrap();
        match l.call(&Request::Reload).unwrap() {
            Response::Reloaded(_) => {}
            other => panic!("reload: {other:?}\n{}", l.log()),
        }
    };
    let wait_for = |present: bool| {
        let deadline = Instant::now() + Duration::from_secs(5);
        while table(topo.ns(Side::Left)).contains("blackhole 203.0.113.8") != present
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        table(topo.ns(Side::Left))
    };
    reload(&format!("{base}{extra}"));
    let t = wait_for(true);
    assert!(t.contains("blackhole 203.0.113.8"), "{t}\n{}", l.log());
    assert!(t.contains(&format!("dev {TUN}")), "{t}");
    reload(&base);
    let t = wait_for(false);
    assert!(!t.contains("203.0.113.8"), "{t}\n{}", l.log());
    assert!(t.contains(&format!("dev {TUN}")), "{t}");
}
