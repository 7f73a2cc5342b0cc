//! Issue 18 item 16 between two yadokarid: a CHILD SA past its hard
//! lifetime carries nothing, even while an exchange (its rekey) is still
//! outstanding because the peer stopped answering. Needs root; without it
//! the test skips.

use std::time::{Duration, Instant};

use yadokari_testbed::yadokarid::{has_child_sa, site_selectors, start_pair, TunnelConfig};
use yadokari_testbed::{Family, Side, Topology};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "kill"])
}

fn config(topo: &Topology, side: Side) -> String {
    TunnelConfig {
        side,
        family: Family::V4,
        ifname: "ykt0",
        name: "t",
        initiate: side == Side::Left,
        // Retransmissions would give up only after a minute.
        daemon: "retransmit_timeout = \"60s\"",
        tunnel: &format!("{}\nrekey = \"8s\"", site_selectors(topo, side, Family::V4)),
    }
    .render(topo)
}

/// Sends SIGCONT on drop, so a failing test never leaves a stopped daemon.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &self.0.to_string()])
            .status();
    }
}

#[test]
fn child_sa_past_its_hard_lifetime_is_gone_with_its_rekey_outstanding() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykhardlt").unwrap();
    let (left, right) = start_pair(
        &topo,
        BIN,
        &config(&topo, Side::Left),
        &config(&topo, Side::Right),
    )
    .unwrap();
    let up_at = Instant::now();
    // The responder stops answering: the initiator's rekey (at 7.2–8 s)
    // stays outstanding; the hard lifetime is 8.8 s.
    let status = std::process::Command::new("kill")
        .args(["-STOP", &right.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _resume = Resume(right.pid());
    assert!(
        left.wait(Duration::from_secs(14), |s| !has_child_sa(s)),
        "{}",
        left.log()
    );
    let gone_after = up_at.elapsed();
    assert!(
        gone_after < Duration::from_secs(12),
        "the CHILD SA lived {gone_after:?}\n{}",
        left.log()
    );
    // The IKE SA is still there, its request still being retransmitted:
    // the removal did not wait for the exchange.
    let sas = left.sas().unwrap();
    assert_eq!(sas.len(), 1, "{sas:?}");
    assert!(left.log().contains("CHILD SA removed"), "{}", left.log());
}
