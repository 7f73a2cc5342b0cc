//! Issue 18 item 1 between two yadokarid: a tunnel removed from the
//! responder's configuration by `reload` authenticates nothing any more,
//! and a new tunnel with the same remote identity and a new key works at
//! once. Needs root; without it the test skips.

use std::time::Duration;

use yadokari_control::{Request, Response};
use yadokari_testbed::yadokarid::has_child_sa;
use yadokari_testbed::{Family, Side, Topology, Yadokarid};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

const KEEP_PSK: &str = "the-keep-tunnel-pre-shared-key-0123456789";
const OLD_PSK: &str = "the-gone-tunnel-first-pre-shared-key-0123";
const NEW_PSK: &str = "the-gone-tunnel-second-pre-shared-key-456";

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip"])
}

/// A tunnel between the two sides' outer IPv4 addresses. `keep` carries the
/// IPv4 site networks, the `gone` tunnels the IPv6 ones; the left side
/// proves `gone.left.example.org` on them.
fn tunnel(topo: &Topology, side: Side, name: &str, psk: &str, initiate: bool) -> String {
    let me = topo.addrs(side);
    let peer = topo.addrs(side.peer());
    let fam = if name == "keep" {
        Family::V4
    } else {
        Family::V6
    };
    let gone_id = "gone.left.example.org";
    let (local_id, remote_id) = match (side, name == "keep") {
        (_, true) => (
            format!("{}.example.org", side.as_str()),
            format!("{}.example.org", side.peer().as_str()),
        ),
        (Side::Left, false) => (gone_id.to_owned(), "right.example.org".to_owned()),
        (Side::Right, false) => ("right.example.org".to_owned(), gone_id.to_owned()),
    };
    format!(
        r#"
[tunnel.{name}]
local = "{local}"
remote = "{remote}"
local_id = "{local_id}"
remote_id = "{remote_id}"
psk = "{psk}"
local_ts = "{lts}"
remote_ts = "{rts}"
start = "{start}"
"#,
        local = me.outer(Family::V4),
        remote = peer.public(Family::V4),
        lts = me.net(fam),
        rts = peer.net(fam),
        start = if initiate { "initiate" } else { "respond" },
    )
}

fn config(tunnels: &[String]) -> String {
    format!(
        "[daemon]\nretransmit_timeout = \"6s\"\n\n[interface]\nname = \"ykt0\"\n{}",
        tunnels.concat()
    )
}

fn reload(d: &Yadokarid, text: &str) -> yadokari_control::ReloadReport {
    std::fs::write(d.dir().join("yadokari.toml"), text).unwrap();
    match d.call(&Request::Reload).unwrap() {
        Response::Reloaded(r) => r,
        other => panic!("reload: {other:?}\n{}", d.log()),
    }
}

fn up(d: &Yadokarid, name: &str) -> Response {
    d.call(&Request::Up { name: name.into() }).unwrap()
}

/// IKE SAs the responder established for connection `name`, per its log.
fn established(d: &Yadokarid, name: &str) -> usize {
    let conn = format!("conn={name} ");
    d.log()
        .lines()
        .filter(|l| l.contains("IKE SA established") && l.contains(&conn))
        .count()
}

#[test]
fn a_removed_tunnel_key_is_dead_at_once_and_its_identity_can_be_reused() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykreloadid").unwrap();
    let right_cfg = |gone: &[String]| {
        let mut t = vec![tunnel(&topo, Side::Right, "keep", KEEP_PSK, false)];
        t.extend_from_slice(gone);
        config(&t)
    };
    let left_cfg = |gone_psk: &str| {
        config(&[
            tunnel(&topo, Side::Left, "keep", KEEP_PSK, true),
            tunnel(&topo, Side::Left, "gone", gone_psk, false),
        ])
    };
    let right = Yadokarid::start(
        topo.ns(Side::Right),
        BIN,
        "right",
        &right_cfg(&[tunnel(&topo, Side::Right, "gone", OLD_PSK, false)]),
    )
    .unwrap();
    let left = Yadokarid::start(topo.ns(Side::Left), BIN, "left", &left_cfg(OLD_PSK)).unwrap();
    assert!(left.wait(Duration::from_secs(15), has_child_sa));

    // `gone` works, and is taken down again.
    assert!(
        matches!(up(&left, "gone"), Response::Done { .. }),
        "{}",
        right.log()
    );
    assert!(matches!(
        left.call(&Request::Down {
            name: "gone".into()
        })
        .unwrap(),
        Response::Done { .. }
    ));
    assert!(right.wait(Duration::from_secs(5), |s| s.len() == 1));
    let before = established(&right, "gone");
    assert_eq!(before, 1, "{}", right.log());

    // The responder drops `gone`: its key must authenticate nothing.
    let r = reload(&right, &right_cfg(&[]));
    assert_eq!(r.removed, vec!["gone".to_string()]);
    for _ in 0..3 {
        let answer = up(&left, "gone");
        assert!(
            matches!(answer, Response::Error { .. }),
            "{answer:?}\n{}",
            right.log()
        );
    }
    assert_eq!(
        established(&right, "gone"),
        before,
        "the removed tunnel still authenticates:\n{}",
        right.log()
    );
    let sas = right.sas().unwrap();
    assert_eq!(sas.len(), 1, "{sas:?}");
    assert_eq!(sas[0].name, "keep");

    // A new tunnel for the same identity with a new key: the old key fails,
    // the new one works at once (before the fix, the removed tunnel
    // shadowed it until a restart).
    let r = reload(
        &right,
        &right_cfg(&[tunnel(&topo, Side::Right, "again", NEW_PSK, false)]),
    );
    assert_eq!(r.added, vec!["again".to_string()]);
    assert!(matches!(up(&left, "gone"), Response::Error { .. }));
    assert_eq!(established(&right, "again"), 0);
    let r = reload(&left, &left_cfg(NEW_PSK));
    assert_eq!(r.changed, vec!["gone".to_string()]);
    let answer = up(&left, "gone");
    assert!(
        matches!(answer, Response::Done { .. }),
        "{answer:?}\n{}",
        right.log()
    );
    assert_eq!(established(&right, "again"), 1, "{}", right.log());
    let sas = right.sas().unwrap();
    let mut names: Vec<&str> = sas.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["again", "keep"], "{sas:?}");
    // The unchanged tunnel kept its SA through all three reloads.
    assert!(has_child_sa(&left.sas().unwrap()));
}
