//! Issue 18 item 7 between two yadokarid: the settings that used to be
//! fixed (`window`, `cookie_threshold`, the half-open limits,
//! `nat_keepalive`) are accepted by the configuration and reach the wire.
//! Needs root; without it the test skips.

use std::path::Path;

use yadokari_testbed::yadokarid::{pair_config, site_selectors, start_pair};
use yadokari_testbed::{Family, Side, Topology};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "tcpdump"])
}

/// Every IKE message of a pcap as (exchange, response, JSON text).
fn messages(pcap: &Path) -> Vec<(String, bool, String)> {
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
                serde_json::to_string(m).unwrap(),
            )
        })
        .collect()
}

#[test]
fn window_cookie_and_keepalive_settings_run_end_to_end() {
    if skip() {
        return;
    }
    let topo = Topology::direct("yksettings").unwrap();
    let out = tempfile::tempdir().unwrap();
    let pcap = out.path().join("ike.pcap");
    let side = |s: Side, daemon: &str, extra: &str| {
        let sel = site_selectors(&topo, s, Family::V4);
        pair_config(
            &topo,
            s,
            Family::V4,
            "ykt0",
            daemon,
            &format!("{sel}\nencap = true\n{extra}"),
        )
    };
    let left = side(
        Side::Left,
        &format!("ike_pcap = \"{}\"\nnat_keepalive = \"off\"", pcap.display()),
        "window = 4",
    );
    let right = side(
        Side::Right,
        "cookie_threshold = 0\nmax_half_open = 8\nhalf_open_per_source = 2\nnat_keepalive = \"2s\"",
        "window = 2",
    );
    let (_l, _r) = start_pair(&topo, BIN, &left, &right).unwrap();
    // NAT keepalives (one 0xFF byte in UDP: UDP length 9) for 5 s: every
    // 2 s from the right, none from the left (`off`).
    let keepalives_from = |s: Side, file: &str| {
        let filter = format!(
            "udp and src host {} and udp[4:2] = 9",
            topo.addrs(s).outer(Family::V4)
        );
        yadokari_testbed::capture::Capture::start(
            topo.ns(Side::Right),
            "yk0",
            &out.path().join(file),
            Some(&filter),
        )
        .unwrap()
    };
    let from_right = keepalives_from(Side::Right, "right.pcap");
    let from_left = keepalives_from(Side::Left, "left.pcap");
    std::thread::sleep(std::time::Duration::from_secs(5));
    let (right_sent, left_sent) = (from_right.stop().unwrap(), from_left.stop().unwrap());
    assert!(right_sent >= 2, "right sent {right_sent} keepalives");
    assert_eq!(left_sent, 0, "left sent keepalives although they are off");
    let m = messages(&pcap);
    let find = |exchange: &str, response: bool| -> Vec<&String> {
        m.iter()
            .filter(|(e, r, _)| e == exchange && *r == response)
            .map(|(_, _, j)| j)
            .collect()
    };
    // cookie_threshold = 0: the responder demands a COOKIE before any state,
    // so the initiator's second IKE_SA_INIT carries it (RFC 7296 §2.6).
    let init = find("IKE_SA_INIT", false);
    assert_eq!(init.len(), 2, "{init:?}");
    assert!(!init[0].contains("\"COOKIE\""), "{}", init[0]);
    assert!(init[1].contains("\"COOKIE\""), "{}", init[1]);
    // Each side announces its window (RFC 7296 §2.3) in IKE_AUTH.
    let auth_req = find("IKE_AUTH", false);
    let auth_resp = find("IKE_AUTH", true);
    assert!(
        auth_req[0].contains("SET_WINDOW_SIZE") && auth_req[0].contains("\"window_size\":4"),
        "{}",
        auth_req[0]
    );
    assert!(
        auth_resp[0].contains("SET_WINDOW_SIZE") && auth_resp[0].contains("\"window_size\":2"),
        "{}",
        auth_resp[0]
    );
}
