//! What the operator reads, checked against two live yadokarid in network
//! namespaces: `list-sas --json` against the example in
//! `docs/control-api.md` (field by field, JSON types included), refusals
//! and their log lines in words, and a TUN name that is already taken.
//! Needs root; without it the tests skip.

use std::time::Duration;

use serde_json::Value;
use yadokari::cli::Command;
use yadokari::control_cmd;
use yadokari_testbed::yadokarid::{pair_config, site_selectors, start_pair, TunnelConfig};
use yadokari_testbed::{Family, Side, Topology, Yadokarid};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip"])
}

/// Runs a CLI control command against `y`: (exit status, stdout, stderr).
fn cli(y: &Yadokarid, json: bool, command: &Command) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = control_cmd::run(y.socket(), json, command, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

/// The IKE SA example of `docs/control-api.md`: the JSON block of the
/// `list-sas` section.
fn documented_ike_sa() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/control-api.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let section = &doc[doc.find("## IKE SA objects").expect("list-sas section")..];
    let start = section.find("```json\n").expect("a JSON example") + "```json\n".len();
    let len = section[start..].find("```").unwrap();
    serde_json::from_str(&section[start..start + len]).expect("the documented example parses")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() => "unsigned integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The same keys at every level, each of the same JSON type as in the
/// documentation (array elements against the documented first element).
fn same_shape(path: &str, doc: &Value, live: &Value) {
    assert_eq!(
        kind(doc),
        kind(live),
        "{path}: documented {doc}, the daemon printed {live}"
    );
    match (doc, live) {
        (Value::Object(d), Value::Object(l)) => {
            let dk: Vec<&String> = d.keys().collect();
            let lk: Vec<&String> = l.keys().collect();
            assert_eq!(dk, lk, "{path}: keys differ");
            for (k, dv) in d {
                same_shape(&format!("{path}.{k}"), dv, &l[k]);
            }
        }
        (Value::Array(d), Value::Array(l)) => {
            assert!(!l.is_empty(), "{path}: the daemon printed an empty list");
            for (i, lv) in l.iter().enumerate() {
                same_shape(&format!("{path}[{i}]"), &d[0], lv);
            }
        }
        _ => {}
    }
}

fn secs(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{v} is not a number of seconds"))
}

/// Item 4 of issue 18: the documented example and the daemon's output
/// agree key by key and type by type, the states and algorithm names are
/// the documented ones, and the timers are real numbers.
#[test]
fn list_sas_json_matches_the_documented_example() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykwlist").unwrap();
    let tunnel = |side| format!("{}\nencap = true", site_selectors(&topo, side, Family::V4));
    let left = pair_config(
        &topo,
        Side::Left,
        Family::V4,
        "ykw0",
        "",
        &tunnel(Side::Left),
    );
    let right = pair_config(
        &topo,
        Side::Right,
        Family::V4,
        "ykw0",
        "",
        &tunnel(Side::Right),
    );
    let (l, r) = start_pair(&topo, BIN, &left, &right).unwrap();

    let (code, out, err) = cli(&l, true, &Command::ListSas);
    assert_eq!(code, 0, "{err}");
    let live: Value = serde_json::from_str(out.trim()).unwrap();
    let sas = live["ike_sas"].as_array().expect("ike_sas list");
    assert_eq!(sas.len(), 1, "{out}");
    let (doc, sa) = (documented_ike_sa(), &sas[0]);
    same_shape("ike_sas[0]", &doc, sa);

    // The values the documentation spells out, for what both sides
    // negotiate by default (aes256gcm16-prfsha256-x25519, AEAD ESP).
    for key in ["state", "initiator"] {
        assert_eq!(sa[key], doc[key], "{key}");
    }
    assert_eq!(sa["algorithms"], doc["algorithms"]);
    let (dc, lc) = (&doc["children"][0], &sa["children"][0]);
    for key in ["mode", "encapsulation", "algorithms"] {
        assert_eq!(lc[key], dc[key], "children[0].{key}");
    }
    assert_eq!(sa["ispi"].as_str().unwrap().len(), 16);
    assert_eq!(lc["spi_in"].as_str().unwrap().len(), 8);

    // Default lifetimes: IKE SA rekey after 4 h (hard 10 % later), CHILD SA
    // after 1 h, each minus up to 10 % jitter.
    let (ike_rekey, ike_expire) = (secs(&sa["rekey_in_secs"]), secs(&sa["expire_in_secs"]));
    assert!(
        (4 * 3600 * 9 / 10 - 60..=4 * 3600).contains(&ike_rekey),
        "{ike_rekey}"
    );
    assert!(ike_rekey < ike_expire && ike_expire <= 4 * 3600 * 11 / 10);
    let (rekey, expire) = (secs(&lc["rekey_in_secs"]), secs(&lc["expire_in_secs"]));
    assert!((3600 * 9 / 10 - 60..=3600).contains(&rekey), "{rekey}");
    assert!(rekey < expire && expire <= 3600 * 11 / 10, "{expire}");

    // The right side responded: same shape from the other role.
    let (_, out, _) = cli(&r, true, &Command::ListSas);
    let right_sas: Value = serde_json::from_str(out.trim()).unwrap();
    same_shape("right.ike_sas[0]", &doc, &right_sas["ike_sas"][0]);
    assert_eq!(right_sas["ike_sas"][0]["initiator"], Value::Bool(false));

    // status counts the one live IKE SA and its CHILD SA.
    let (_, out, _) = cli(&l, true, &Command::Status);
    let status: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (status["ike_sas"].as_u64(), status["child_sas"].as_u64()),
        (Some(1), Some(1))
    );

    // Item 6: encapsulation forced without a NAT is logged as such, not as
    // a NAT on both sides.
    let log = l.log();
    assert!(
        log.contains("UDP encapsulation forced by the configuration (encap = true)"),
        "{log}"
    );
    assert!(!log.contains("NAT detected"), "{log}");
}

/// Lines an operator reads at the default level: info, warn, error.
fn operator_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            [" INFO ", " WARN ", " ERROR "]
                .iter()
                .any(|lv| l.contains(lv))
        })
        .collect()
}

fn no_debug_text(who: &str, lines: &[&str]) {
    for l in lines {
        for debug in [
            "Some(",
            "None",
            "ConnId(",
            "IkeSaId(",
            "PeerError(",
            "Protocol(",
        ] {
            assert!(
                !l.contains(debug),
                "{who} logged Rust Debug text `{debug}`: {l}"
            );
        }
    }
}

/// Item 5 of issue 18: a TS_UNACCEPTABLE refusal reads in words in the
/// CLI's `up` error and in both daemons' logs.
#[test]
fn refused_selectors_read_in_words() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykwts").unwrap();
    let left = TunnelConfig {
        side: Side::Left,
        family: Family::V4,
        ifname: "ykw0",
        name: "t",
        initiate: false,
        daemon: "retransmit_timeout = \"6s\"",
        tunnel: &site_selectors(&topo, Side::Left, Family::V4),
    }
    .render(&topo);
    // The right side wants other traffic from the left than the left offers.
    let right = TunnelConfig {
        side: Side::Right,
        family: Family::V4,
        ifname: "ykw0",
        name: "t",
        initiate: false,
        daemon: "retransmit_timeout = \"6s\"",
        tunnel: "local_ts = \"203.0.113.0/25\"\nremote_ts = \"203.0.113.128/25\"",
    }
    .render(&topo);
    let r = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &right).unwrap();
    let l = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left).unwrap();

    let (code, _, err) = cli(&l, false, &Command::Up { name: "t".into() });
    assert_eq!(code, control_cmd::EXIT_DAEMON_ERROR, "{err}");
    assert_eq!(
        err.trim(),
        "yadokari: negotiation failed: the peer refused our traffic selectors (TS_UNACCEPTABLE)"
    );
    // The logs are written as the events happen; give the responder's a moment.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !r.log().contains("TS_UNACCEPTABLE") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let (ll, rl) = (l.log(), r.log());
    assert!(
        operator_lines(&ll).iter().any(|line| line.contains(
            "negotiation failed: the peer refused our traffic selectors (TS_UNACCEPTABLE)"
        )),
        "{ll}"
    );
    assert!(
        operator_lines(&rl).iter().any(|line| line.contains(
            "negotiation failed: the peer's traffic selectors match none of ours (TS_UNACCEPTABLE)"
        ) && line.contains("conn=t")),
        "{rl}"
    );
    no_debug_text("left", &operator_lines(&ll));
    no_debug_text("right", &operator_lines(&rl));
}

/// Item 6 of issue 18: a TUN name taken by another interface is reported
/// as such, with the kind of interface that holds it.
#[test]
fn tun_name_taken_by_a_veth_says_so() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykwtun").unwrap();
    let ns = topo.ns(Side::Left);
    ns.ip(&[
        "link",
        "add",
        "ykwclash",
        "type",
        "veth",
        "peer",
        "name",
        "ykwclash1",
    ])
    .unwrap();
    let cfg = pair_config(
        &topo,
        Side::Left,
        Family::V4,
        "ykwclash",
        "",
        &site_selectors(&topo, Side::Left, Family::V4),
    );
    // The control socket comes up before the network side, so the daemon
    // may start and then exit: read what it said either way.
    let err = match Yadokarid::start(ns, BIN, "left", &cfg) {
        Ok(y) => {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !y.log().contains("TUN device") && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            y.log()
        }
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains(
            "cannot create TUN device ykwclash: the name is taken by an existing veth interface"
        ),
        "{err}"
    );
    assert!(!err.contains("Invalid argument"), "{err}");
}

fn check(config: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("y.toml");
    std::fs::write(&path, config).unwrap();
    let out = std::process::Command::new(BIN)
        .arg("--check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).replace(&path.display().to_string(), "y.toml");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

const TUNNEL: &str = "[tunnel.a]\nremote = \"192.0.2.1\"\nlocal_id = \"a.example.org\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"\nlocal_ts = \"203.0.113.0/24\"\nremote_ts = \"198.51.100.0/24\"\n";

/// Item 18 of issue 18: `--check` fails on what would fail at start, each
/// error located, and says which peer wins where selectors nest.
#[test]
fn check_fails_on_what_fails_at_start() {
    let (code, _, err) = check(&format!(
        "[daemon]\ncontrol_socket = \"/nonexistent/y.sock\"\ncontrol_group = \"yk-no-such-group\"\n{TUNNEL}"
    ));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("y.toml:3:17: error: no such group `yk-no-such-group` (daemon.control_group)"),
        "{err}"
    );

    let (code, _, err) = check(&format!("[daemon]\nike_port = 4500\n{TUNNEL}"));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("y.toml:2:12: error: `daemon.ike_port` and `daemon.nat_port` are both 4500"),
        "{err}"
    );

    let second = "[tunnel.b]\nremote = \"192.0.2.9\"\nlocal_id = \"a.example.org\"\npsk = \"another-long-enough-pre-shared-key\"\nlocal_ts = \"203.0.113.0/24\"\n";
    let (code, out, err) = check(&format!(
        "{TUNNEL}{second}remote_ts = \"198.51.100.0/24\"\n"
    ));
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        err.contains("nothing decides which peer gets the traffic"),
        "{err}"
    );

    let (code, out, err) = check(&format!(
        "{TUNNEL}{second}remote_ts = \"198.51.100.0/25\"\n"
    ));
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("warning: selector `a/1`")
            && out.contains("traffic in the overlap goes to peer `b`"),
        "{out}"
    );
}
