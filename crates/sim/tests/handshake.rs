//! Scripted end-to-end scenarios on a perfect network.

use std::time::Duration;

use yadokari_ike::{Command, ConnId, Event};
use yadokari_sim::config::{pair, PairOptions};
use yadokari_sim::{Faults, Pair, Side};

fn established(p: &Pair) -> bool {
    p.a.installed.len() == 1 && p.b.installed.len() == 1
}

#[test]
fn psk_handshake_installs_one_child_on_both_sides() {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 1, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, established),
        "a={:?}\nb={:?}",
        p.a.events,
        p.b.events
    );
    p.check_consistent().unwrap();
    assert_eq!(p.a.ike_up.len(), 1);
    assert_eq!(p.b.ike_up.len(), 1);
    assert!(p
        .a
        .events
        .iter()
        .any(|e| matches!(e, Event::IkeSaUp { .. })));
}

fn up(o: PairOptions, seed: u64) -> Pair {
    let (a, b) = pair(&o);
    let mut p = Pair::new(a, b, seed, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, established),
        "a={:?}\nb={:?}",
        p.a.events,
        p.b.events
    );
    p
}

fn spi_a(p: &Pair) -> u32 {
    *p.a.installed.keys().next().expect("a child")
}

#[test]
fn child_rekey_replaces_the_pair() {
    let mut p = up(PairOptions::default(), 2);
    let old = spi_a(&p);
    p.command(Side::A, Command::RekeyChild { spi_in: old });
    assert!(
        p.drive_until(Duration::from_secs(10), 1000, |p| established(p)
            && !p.a.installed.contains_key(&old))
    );
    p.check_consistent().unwrap();
    assert!(p
        .a
        .events
        .iter()
        .any(|e| matches!(e, Event::ChildSaReplaced { old_spi_in, responder: false, .. } if *old_spi_in == old)));
    // The side that answered is told so: it must keep sending on the old SA
    // until the initiator uses the new one (RFC 7296 §2.8).
    assert!(p.b.events.iter().any(|e| matches!(
        e,
        Event::ChildSaReplaced {
            responder: true,
            ..
        }
    )));
}

#[test]
fn child_rekey_with_pfs() {
    let o = PairOptions {
        esp_a: vec!["aes128gcm16-x25519"],
        esp_b: vec!["aes128gcm16-x25519"],
        ..Default::default()
    };
    let mut p = up(o, 3);
    let old = spi_a(&p);
    p.command(
        Side::B,
        Command::RekeyChild {
            spi_in: *p.b.installed.keys().next().expect("b child"),
        },
    );
    assert!(
        p.drive_until(Duration::from_secs(10), 1000, |p| established(p)
            && !p.a.installed.contains_key(&old))
    );
    p.check_consistent().unwrap();
}

#[test]
fn ike_rekey_moves_children() {
    let mut p = up(PairOptions::default(), 4);
    let ike = p.a.live_ike_sas()[0].id;
    p.command(Side::A, Command::RekeyIke { ike });
    assert!(
        p.drive_until(Duration::from_secs(10), 1000, |p| p.a.ep.ike_sas().len()
            == 1
            && p.b.ep.ike_sas().len() == 1
            && p.a.ep.ike_sas()[0].id != ike)
    );
    p.check_consistent().unwrap();
    let new = p.a.ep.ike_sas()[0].id;
    assert!(p.a.ep.child_sas().all(|c| c.ike == new));
    // The new IKE SA works: rekey the child through it.
    let old = spi_a(&p);
    p.command(Side::A, Command::RekeyChild { spi_in: old });
    assert!(
        p.drive_until(Duration::from_secs(10), 1000, |p| established(p)
            && !p.a.installed.contains_key(&old))
    );
    p.check_consistent().unwrap();
}

#[test]
fn delete_child_and_ike_from_responder() {
    let mut p = up(PairOptions::default(), 5);
    let spi = *p.b.installed.keys().next().expect("child");
    p.command(Side::B, Command::DeleteChild { spi_in: spi });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, |p| p.a.installed.is_empty()
            && p.b.installed.is_empty())
    );
    p.check_consistent().unwrap();
    let ike = p.b.live_ike_sas()[0].id;
    p.command(Side::B, Command::DeleteIke { ike });
    assert!(p.drive_until(Duration::from_secs(5), 1000, |p| p
        .a
        .ep
        .ike_sas()
        .is_empty()
        && p.b.ep.ike_sas().is_empty()));
    assert!(p
        .a
        .events
        .iter()
        .any(|e| matches!(e, Event::IkeSaDown { .. })));
}

#[test]
fn dpd_detects_dead_peer_and_clears() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let mut p = up(o, 6);
    p.net.cut = true;
    assert!(p.drive_until(Duration::from_secs(300), 10_000, |p| p
        .a
        .ep
        .ike_sas()
        .is_empty()));
    assert!(p.a.installed.is_empty());
    assert!(p.a.events.iter().any(|e| matches!(
        e,
        Event::IkeSaDown {
            reason: yadokari_ike::DownReason::PeerDead,
            ..
        }
    )));
}

#[test]
fn esp_traffic_counts_as_liveness() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let mut p = up(o, 8);
    let t0 = p.elapsed();
    let sent = |p: &Pair| p.a.ep.counters().datagrams_out + p.b.ep.counters().datagrams_out;
    let before = sent(&p);
    // At 9 s both data planes report ESP arriving on their CHILD SA.
    assert!(p.drive_bounded(t0 + Duration::from_secs(9), 10_000));
    let now = p.now;
    let (sa, sb) = (spi_a(&p), *p.b.installed.keys().next().expect("b child"));
    p.a.ep.child_traffic_seen(now, sa);
    p.b.ep.child_traffic_seen(now, sb);
    // ...so nobody probes at 10 s: the peer is busy, not dead.
    assert!(p.drive_bounded(t0 + Duration::from_secs(18), 10_000));
    assert_eq!(sent(&p), before, "a DPD probe went out despite ESP traffic");
    // Without further traffic the check runs 10 s after the last sign of life.
    assert!(p.drive_bounded(t0 + Duration::from_secs(25), 10_000));
    assert!(sent(&p) > before, "no DPD probe after 16 s of silence");
    // An unknown SPI is ignored.
    let now = p.now;
    p.a.ep.child_traffic_seen(now, 0xdead_beef);
    assert_eq!(p.a.live_ike_sas().len(), 1);
}

#[test]
fn traced_messages_are_plaintext_ike() {
    use yadokari_wire::registry::PayloadType;
    let (mut a, b) = pair(&PairOptions::default());
    a.trace_messages = true;
    let mut p = Pair::new(a, b, 9, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    let traces: Vec<(bool, Vec<PayloadType>)> =
        p.a.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageTrace {
                    outbound, message, ..
                } => Some((
                    *outbound,
                    yadokari_wire::Message::raw_payloads(message)
                        .expect("a traced message parses")
                        .iter()
                        .map(|r| r.payload_type)
                        .collect(),
                )),
                _ => None,
            })
            .collect();
    // IKE_SA_INIT out and in, IKE_AUTH out and in, in that order.
    let dirs: Vec<bool> = traces.iter().map(|t| t.0).collect();
    assert_eq!(dirs, [true, false, true, false], "{traces:?}");
    for (_, types) in &traces {
        assert!(
            !types.contains(&PayloadType::SK),
            "still encrypted: {types:?}"
        );
    }
    let auth_req = &traces[2].1;
    for t in [
        PayloadType::IDI,
        PayloadType::AUTH,
        PayloadType::SA,
        PayloadType::TSI,
    ] {
        assert!(
            auth_req.contains(&t),
            "IKE_AUTH request lacks {t:?}: {auth_req:?}"
        );
    }
    // The side without tracing reports nothing.
    assert!(!p
        .b
        .events
        .iter()
        .any(|e| matches!(e, Event::MessageTrace { .. })));
}

#[test]
fn dpd_restart_reestablishes() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        dpd_action: yadokari_ike::DpdAction::Restart,
        ..Default::default()
    };
    let mut p = up(o, 7);
    let first = p.a.live_ike_sas()[0].id;
    p.net.cut = true;
    assert!(p.drive_until(Duration::from_secs(300), 10_000, |p| !p
        .a
        .ep
        .ike_sas()
        .iter()
        .any(|s| s.id == first)));
    p.net.cut = false;
    // B still holds its stale SA until its own DPD; A's INITIAL_CONTACT SA comes up alongside.
    assert!(p.drive_until(Duration::from_secs(600), 20_000, |p| p
        .a
        .live_ike_sas()
        .len()
        == 1
        && p.a.installed.len() == 1));
}

#[test]
fn nat_detected_and_floated_to_4500() {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 8, Faults::none());
    p.nat = true;
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, established),
        "a={:?}\nb={:?}",
        p.a.events,
        p.b.events
    );
    p.check_consistent().unwrap();
    let ca = p.a.installed.values().next().expect("child");
    let enc = ca.encap.expect("UDP encapsulation");
    assert_eq!((enc.local_port, enc.remote_port), (4500, 4500));
    let cb = p.b.installed.values().next().expect("child");
    assert_eq!(
        cb.encap.map(|e| e.remote_port),
        Some(14500),
        "B talks to the NAT's mapping"
    );
    assert!(p.a.events.iter().any(|e| matches!(
        e,
        Event::NatDetected {
            local_behind_nat: true,
            ..
        }
    )));
    // The responder's half-open entry went away although the path moved
    // to port 4500 between IKE_SA_INIT and IKE_AUTH.
    assert_eq!(p.b.ep.half_open_count(), 0);
}

#[test]
fn force_encap_without_nat() {
    let o = PairOptions {
        force_encap_a: true,
        ..Default::default()
    };
    let p = up(o, 9);
    p.check_consistent().unwrap();
    let ca = p.a.installed.values().next().expect("child");
    assert_eq!(ca.encap.map(|e| e.local_port), Some(4500));
    // Issue 18: the event says encapsulation was forced, not that A sits
    // behind a NAT (there is none); B sees A's unmatched hash as a NAT.
    assert!(p.a.events.iter().any(|e| matches!(
        e,
        Event::NatDetected {
            local_behind_nat: false,
            remote_behind_nat: false,
            forced_by_config: true,
            ..
        }
    )));
    assert!(p
        .b
        .installed
        .values()
        .next()
        .expect("child")
        .encap
        .is_some());
}

#[test]
fn invalid_ke_payload_retry() {
    let o = PairOptions {
        ike_a: vec!["aes256gcm16-prfsha256-ecp256-x25519"],
        ike_b: vec!["aes256gcm16-prfsha256-x25519"],
        ..Default::default()
    };
    let p = up(o, 10);
    p.check_consistent().unwrap();
}

#[test]
fn cookie_demanded_and_honoured() {
    let o = PairOptions {
        cookie_threshold: 0,
        ..Default::default()
    };
    let p = up(o, 11);
    p.check_consistent().unwrap();
    assert!(
        p.b.ep
            .counters()
            .drop_count(yadokari_ike::DropReason::CookieRequired)
            >= 1
    );
}

#[test]
fn wrong_psk_fails_authentication() {
    let o = PairOptions {
        psk_b: b"another secret",
        ..Default::default()
    };
    let (a, b) = pair(&o);
    let mut p = Pair::new(a, b, 12, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.drive_bounded(Duration::from_secs(10), 1000);
    assert!(p.a.installed.is_empty() && p.b.installed.is_empty());
    assert!(p
        .b
        .events
        .iter()
        .any(|e| matches!(e, Event::Failure { .. })));
    assert!(p.a.events.iter().any(|e| matches!(
        e,
        Event::Failure {
            reason: yadokari_ike::FailureReason::PeerError(24),
            ..
        }
    )));
    assert!(p.a.ep.ike_sas().is_empty() && p.b.ep.ike_sas().is_empty());
}

/// RFC 7296 §1.2: a refused first CHILD SA leaves the IKE SA established
/// (both sides report it up, the initiator reports the refusal), and then
/// both sides delete it at once: it carries nothing (docs/design/ike-core.md).
fn refused_first_child_deletes_the_ike_sa(o: PairOptions, seed: u64, notify: u16) {
    let (a, b) = pair(&o);
    let mut p = Pair::new(a, b, seed, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    let up = |p: &Pair, s: Side| {
        let events = match s {
            Side::A => &p.a.events,
            Side::B => &p.b.events,
        };
        events.iter().any(|e| matches!(e, Event::IkeSaUp { .. }))
    };
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, |p| up(p, Side::A)
            && up(p, Side::B))
    );
    assert!(p.drive_until(Duration::from_secs(10), 1000, |p| p
        .a
        .ep
        .ike_sas()
        .is_empty()
        && p.b.ep.ike_sas().is_empty()));
    assert!(p.a.installed.is_empty() && p.b.installed.is_empty());
    assert!(p.a.ike_up.is_empty() && p.b.ike_up.is_empty());
    assert!(p.a.events.iter().any(|e| matches!(
        e,
        Event::Failure {
            reason: yadokari_ike::FailureReason::PeerError(n),
            ..
        } if *n == notify
    )));
    p.check_consistent().unwrap();
}

#[test]
fn no_child_proposal_deletes_the_childless_ike_sa() {
    let o = PairOptions {
        esp_a: vec!["aes128gcm16"],
        esp_b: vec!["aes256-sha256"],
        ..Default::default()
    };
    refused_first_child_deletes_the_ike_sa(o, 13, 14);
}

#[test]
fn ts_unacceptable_deletes_the_childless_ike_sa() {
    let o = PairOptions {
        ts_b: Some(("192.0.2.128/26", "192.0.2.192/26")),
        ..Default::default()
    };
    refused_first_child_deletes_the_ike_sa(o, 14, 38);
}

#[test]
fn narrowing_and_transport_mode() {
    let o = PairOptions {
        ts_b: Some(("203.0.113.128/25", "198.51.100.0/24")),
        mode_a: yadokari_ike::Mode::Transport,
        mode_b: yadokari_ike::Mode::Transport,
        ..Default::default()
    };
    let p = up(o, 15);
    p.check_consistent().unwrap();
    let ca = p.a.installed.values().next().expect("child");
    assert_eq!(ca.mode, yadokari_ike::Mode::Transport);
    assert_eq!(ca.ts_remote, vec!["203.0.113.128/25".parse().unwrap()]);
}

#[test]
fn lifetimes_drive_rekeys() {
    use yadokari_ike::Lifetime;
    let o = PairOptions {
        ike_lifetime: Lifetime::new(
            Duration::from_secs(300),
            Duration::from_secs(30),
            Duration::from_secs(400),
        ),
        child_lifetime: Lifetime::new(
            Duration::from_secs(100),
            Duration::from_secs(10),
            Duration::from_secs(150),
        ),
        ..Default::default()
    };
    let mut p = up(o, 16);
    p.drive_bounded(Duration::from_secs(1000), 100_000);
    p.check_consistent().unwrap();
    assert_eq!(p.a.installed.len(), 1);
    assert!(
        p.a.ep.counters().child_sas_installed >= 5,
        "{:?}",
        p.a.ep.counters()
    );
    assert!(p.a.ep.counters().ike_sas_established >= 3);
}

#[test]
fn initiator_gives_up_after_total_timeout() {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 17, Faults::none());
    p.net.cut = true;
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.drive_bounded(Duration::from_secs(120), 10_000);
    assert!(p.a.ep.ike_sas().is_empty());
    assert!(p.a.events.iter().any(|e| matches!(
        e,
        Event::Failure {
            reason: yadokari_ike::FailureReason::Timeout,
            ..
        }
    )));
    // 1 request + 6 retransmissions, exponential back-off.
    assert_eq!(p.a.ep.counters().retransmits_sent, 6);
    assert_eq!(p.a.ep.poll_timeout(), None);
}

#[test]
fn half_open_sa_expires_on_responder() {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 18, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    // Deliver only A's IKE_SA_INIT, then cut the link.
    p.drive_until(Duration::from_secs(1), 100, |p| {
        p.b.ep.half_open_count() == 1
    });
    p.net.cut = true;
    p.net.clear();
    p.drive_bounded(Duration::from_secs(200), 10_000);
    assert_eq!(p.b.ep.half_open_count(), 0);
    assert!(p.b.ep.ike_sas().is_empty());
    assert!(
        p.b.ep
            .counters()
            .drop_count(yadokari_ike::DropReason::TooManyHalfOpen)
            >= 1
    );
}

#[test]
fn window_allows_several_requests_in_flight() {
    let o = PairOptions {
        window: 4,
        ..Default::default()
    };
    let mut p = up(o, 19);
    let ike = p.a.live_ike_sas()[0].id;
    let now = p.now;
    for _ in 0..3 {
        p.a.ep
            .handle_command(now, Command::CreateChild { ike, child: 0 });
    }
    let mut sent = 0;
    while let Some(t) = p.a.ep.poll_transmit() {
        sent += 1;
        let dst = Side::B;
        p.net.send(
            now,
            dst,
            yadokari_ike::Path::new(t.path.remote, t.path.local),
            t.bytes,
        );
    }
    assert_eq!(
        sent, 3,
        "three CREATE_CHILD_SA requests before any response"
    );
    assert!(
        p.drive_until(Duration::from_secs(10), 1000, |p| p.a.installed.len() == 4
            && p.b.installed.len() == 4)
    );
    p.check_consistent().unwrap();
}

#[test]
fn window_one_serialises_requests() {
    let mut p = up(PairOptions::default(), 20);
    let ike = p.a.live_ike_sas()[0].id;
    let now = p.now;
    for _ in 0..3 {
        p.a.ep
            .handle_command(now, Command::CreateChild { ike, child: 0 });
    }
    let mut sent = 0;
    while p.a.ep.poll_transmit().is_some() {
        sent += 1;
    }
    assert_eq!(sent, 1);
}

#[test]
fn peer_deletes_child_we_are_rekeying() {
    let mut p = up(PairOptions::default(), 21);
    let a_spi = spi_a(&p);
    let b_spi = *p.b.installed.keys().next().expect("child");
    p.command(Side::A, Command::RekeyChild { spi_in: a_spi });
    p.command(Side::B, Command::DeleteChild { spi_in: b_spi });
    p.drive_bounded(Duration::from_secs(30), 10_000);
    p.check_consistent().unwrap();
    assert!(!p.a.installed.contains_key(&a_spi));
}

#[test]
fn simultaneous_child_rekey_leaves_one_pair() {
    for seed in 0..20 {
        let mut p = up(PairOptions::default(), 100 + seed);
        let a_spi = spi_a(&p);
        let b_spi = *p.b.installed.keys().next().expect("child");
        p.command(Side::A, Command::RekeyChild { spi_in: a_spi });
        p.command(Side::B, Command::RekeyChild { spi_in: b_spi });
        p.drive_bounded(Duration::from_secs(30), 10_000);
        p.check_consistent()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(
            p.a.installed.len(),
            1,
            "seed {seed}: redundant SA left over"
        );
        assert!(!p.a.installed.contains_key(&a_spi));
    }
}

#[test]
fn simultaneous_ike_rekey_leaves_one_ike_sa() {
    for seed in 0..20 {
        let mut p = up(PairOptions::default(), 200 + seed);
        let ia = p.a.live_ike_sas()[0].id;
        let ib = p.b.live_ike_sas()[0].id;
        p.command(Side::A, Command::RekeyIke { ike: ia });
        p.command(Side::B, Command::RekeyIke { ike: ib });
        p.drive_bounded(Duration::from_secs(60), 10_000);
        p.check_consistent()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(
            p.a.ep.ike_sas().len(),
            1,
            "seed {seed}: {:?}",
            p.a.ep.ike_sas()
        );
        assert_eq!(
            p.b.ep.ike_sas().len(),
            1,
            "seed {seed}: {:?}",
            p.b.ep.ike_sas()
        );
        assert_eq!(p.a.ep.ike_sas()[0].spi_i, p.b.ep.ike_sas()[0].spi_i);
        assert_eq!(p.a.installed.len(), 1);
    }
}

/// RFC 7296 §2.8.3: at the soft lifetime A builds a new IKE SA and CHILD SA
/// from scratch (no INITIAL_CONTACT), and only then deletes the old ones;
/// traffic always has an installed CHILD SA on both sides.
#[test]
fn reauthentication_makes_before_it_breaks() {
    let o = PairOptions {
        reauth: true,
        ike_lifetime: yadokari_ike::Lifetime::new(
            Duration::from_secs(60),
            Duration::from_secs(5),
            Duration::from_secs(90),
        ),
        ..Default::default()
    };
    let (mut a, mut b) = pair(&o);
    a.trace_messages = true;
    // B cannot reauthenticate (it does not know A's address) and would
    // rekey instead; whichever side's jittered timer fires first wins, so
    // leave the IKE SA's renewal to A here.
    b.connections[0].ike_lifetime = yadokari_ike::Lifetime::NEVER;
    let mut p = Pair::new(a, b, 21, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    let first = p.a.live_ike_sas()[0].clone();
    let old_child = spi_a(&p);
    let mut gap = false;
    let done = p.drive_until(Duration::from_secs(80), 10_000, |p| {
        gap |= p.a.installed.is_empty() || p.b.installed.is_empty();
        p.a.ep.ike_sas().len() == 1
            && p.b.ep.ike_sas().len() == 1
            && !p.a.ep.ike_sas().iter().any(|s| s.id == first.id)
    });
    assert!(done, "a={:?}\nb={:?}", p.a.events, p.b.events);
    assert!(!gap, "a moment without a CHILD SA");
    p.check_consistent().unwrap();
    let now = p.a.live_ike_sas()[0].clone();
    assert_ne!((now.spi_i, now.spi_r), (first.spi_i, first.spi_r));
    assert!(
        !p.a.installed.contains_key(&old_child),
        "old {old_child:08x}\na={:?}\nb={:?}",
        p.a.events,
        p.b.events
    );
    assert_eq!(p.a.installed.len(), 1);
    // Not a rekey: a fresh IKE_SA_INIT and IKE_AUTH, without INITIAL_CONTACT.
    assert!(!p
        .a
        .events
        .iter()
        .any(|e| matches!(e, Event::IkeSaRekeyed { .. })));
    let auths: Vec<&Vec<u8>> =
        p.a.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageTrace {
                    outbound: true,
                    message,
                    ..
                } if message.get(18) == Some(&35) => Some(message),
                _ => None,
            })
            .collect();
    assert_eq!(auths.len(), 2, "two IKE_AUTH requests");
    let has_initial_contact = |m: &[u8]| {
        yadokari_wire::Message::parse(m)
            .unwrap()
            .notifies()
            .any(|n| n.notify_type == yadokari_wire::registry::NotifyType::INITIAL_CONTACT)
    };
    assert!(has_initial_contact(auths[0]));
    assert!(!has_initial_contact(auths[1]));
    // And it keeps going: the next soft lifetime reauthenticates again.
    let second = now.id;
    assert!(p.drive_until(Duration::from_secs(160), 20_000, |p| p
        .a
        .ep
        .ike_sas()
        .iter()
        .all(|s| s.id != second)
        && p.a.ep.ike_sas().len() == 1));
    p.check_consistent().unwrap();
}

/// The proposals a configuration file names are the ones the simulated
/// peers negotiate: the simulator builds them with the daemon's parser.
#[test]
fn proposals_from_a_config_file_reach_the_handshake() {
    let text = "[tunnel.branch]\n\
                remote = \"192.0.2.1\"\n\
                local_id = \"branch.example.org\"\n\
                psk = \"a-long-enough-pre-shared-key-for-the-test\"\n\
                local_ts = \"203.0.113.0/24\"\n\
                remote_ts = \"198.51.100.0/24\"\n\
                ike = \"aes128gcm16-prfsha384-ecp384\"\n\
                esp = \"chacha20poly1305-esn\"\n";
    let opts = yadokari_config::LoadOptions {
        base_dir: std::path::PathBuf::new(),
    };
    let file =
        yadokari_config::parse_str("branch.toml", text, &opts).unwrap_or_else(|d| panic!("{d}"));
    let ike: Vec<_> = file
        .remotes
        .values()
        .flat_map(|r| r.ike_proposals.iter().map(|p| p.to_core()))
        .collect();
    let esp: Vec<_> = file
        .sa
        .values()
        .flat_map(|s| s.proposals.iter().map(|p| p.to_core()))
        .collect();
    let (mut a, mut b) = pair(&PairOptions::default());
    for c in [&mut a.connections[0], &mut b.connections[0]] {
        c.ike_proposals = ike.clone();
        c.children[0].proposals = esp.clone();
    }
    let mut p = Pair::new(a, b, 7, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, established),
        "a={:?}\nb={:?}",
        p.a.events,
        p.b.events
    );
    let sa = p.a.live_ike_sas()[0].algorithms.expect("established");
    use yadokari_wire::registry::{EncrId, KeMethod, PrfId};
    assert_eq!(
        (sa.encr, sa.encr_key_bits, sa.prf, sa.ke),
        (
            EncrId::ENCR_AES_GCM_16.0,
            Some(128),
            PrfId::PRF_HMAC_SHA2_384.0,
            KeMethod::ECP_384.0
        )
    );
    let child = p.a.installed.values().next().expect("a child");
    assert_eq!(child.algorithms.encr.id, EncrId::ENCR_CHACHA20_POLY1305.0);
    assert!(child.algorithms.esn);
}

/// Issue 18: `status` does not count half-open SAs as SAs; `ike_sas()`
/// still lists them.
#[test]
fn sa_counts_leave_out_half_open_sas() {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 19, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.drive_until(Duration::from_secs(1), 100, |p| {
        p.b.ep.half_open_count() == 1
    });
    assert_eq!(p.b.ep.ike_sas().len(), 1);
    let c = p.b.ep.sa_counts();
    assert_eq!((c.ike_sas, c.child_sas, c.connecting), (0, 0, 1));
    p.drive_until(Duration::from_secs(5), 1_000, |p| {
        !p.a.installed.is_empty() && !p.b.installed.is_empty()
    });
    let c = p.b.ep.sa_counts();
    assert_eq!((c.ike_sas, c.child_sas, c.connecting), (1, 1, 0));
    assert_eq!(p.a.ep.sa_counts(), c);
}

/// RFC 7296 §2.4: INITIAL_CONTACT claims "the only IKE SA between these
/// identities". Two connections between the same identities started at
/// once must not say it both, or the responder deletes the first SA when
/// the second authenticates.
#[test]
fn initial_contact_only_without_another_sa_between_the_identities() {
    let (mut a, b) = pair(&PairOptions::default());
    a.trace_messages = true;
    let second = a.connections[0].clone();
    a.connections.push(second);
    let mut p = Pair::new(a, b, 33, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.command(Side::A, Command::Initiate { conn: ConnId(1) });
    let both = |p: &Pair| p.a.live_ike_sas().len() == 2 && p.b.live_ike_sas().len() == 2;
    assert!(
        p.drive_until(Duration::from_secs(5), 2000, both),
        "a={:?}\nb={:?}",
        p.a.events,
        p.b.events
    );
    let t = p.elapsed() + Duration::from_secs(10);
    p.drive_bounded(t, 5000);
    assert!(both(&p), "an SA was torn down: b={:?}", p.b.events);
    let with_ic =
        p.a.events
            .iter()
            .filter_map(|e| match e {
                Event::MessageTrace {
                    outbound: true,
                    message,
                    ..
                } if message.get(18) == Some(&35) => Some(message),
                _ => None,
            })
            .filter(|m| {
                yadokari_wire::Message::parse(m)
                    .unwrap()
                    .notifies()
                    .any(|n| n.notify_type == yadokari_wire::registry::NotifyType::INITIAL_CONTACT)
            })
            .count();
    assert_eq!(with_ic, 1, "INITIAL_CONTACT in exactly the first IKE_AUTH");
}

/// ML-KEM (FIPS 203) as the key exchange method: ML-KEM-768 for the IKE
/// SA and ML-KEM-1024 for the CHILD SAs' PFS, through set-up, a CHILD SA
/// rekey answered by the other side, and an IKE SA rekey, with seeded loss
/// and duplication. Both roles of the KEM (encapsulation key out,
/// ciphertext back) run in both directions.
#[test]
fn ml_kem_set_up_and_rekeys_under_loss() {
    use yadokari_wire::registry::KeMethod;
    for seed in 0..12u64 {
        let o = PairOptions {
            ike_a: vec!["aes256gcm16-prfsha384-mlkem768"],
            ike_b: vec!["aes256gcm16-prfsha384-mlkem768"],
            esp_a: vec!["aes256gcm16-mlkem1024"],
            esp_b: vec!["aes256gcm16-mlkem1024"],
            ..Default::default()
        };
        let (a, b) = pair(&o);
        let faults = Faults {
            drop: 0.15,
            duplicate: 0.05,
            ..Faults::none()
        };
        let mut p = Pair::new(a, b, 9000 + seed, faults);
        p.command(Side::A, Command::Initiate { conn: ConnId(0) });
        assert!(
            p.drive_until(Duration::from_secs(60), 20_000, established),
            "seed {seed}: a={:?}\nb={:?}",
            p.a.events,
            p.b.events
        );
        let sa = p.a.live_ike_sas()[0].algorithms.expect("established");
        assert_eq!(sa.ke, KeMethod::ML_KEM_768.0);
        let old = spi_a(&p);
        p.command(
            Side::B,
            Command::RekeyChild {
                spi_in: *p.b.installed.keys().next().expect("b child"),
            },
        );
        assert!(
            p.drive_until(Duration::from_secs(60), 20_000, |p| established(p)
                && !p.a.installed.contains_key(&old)),
            "seed {seed}: child rekey"
        );
        let ike = p.a.live_ike_sas()[0].id;
        p.command(Side::A, Command::RekeyIke { ike });
        assert!(
            p.drive_until(Duration::from_secs(60), 20_000, |p| p
                .a
                .live_ike_sas()
                .iter()
                .any(|s| s.id != ike)
                && p.a.live_ike_sas().len() == 1
                && p.b.live_ike_sas().len() == 1),
            "seed {seed}: IKE rekey"
        );
        p.check_consistent().unwrap();
    }
}

/// RFC 9370 hybrid: X25519 in IKE_SA_INIT, then ML-KEM-768 (ADDKE1) and
/// ECP-384 (ADDKE2) in two IKE_INTERMEDIATE exchanges (RFC 9242), each
/// replacing the SA's keys; IKE_AUTH covers them through IntAuth. Set-up,
/// a CHILD SA rekey with ML-KEM PFS and an IKE SA rekey all complete under
/// seeded loss and duplication.
#[test]
fn hybrid_key_exchange_in_ike_intermediate_under_loss() {
    use yadokari_wire::registry::{ExchangeType, KeMethod};
    for seed in 0..12u64 {
        let o = PairOptions {
            ike_a: vec!["aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_ecp384"],
            ike_b: vec!["aes256gcm16-prfsha384-x25519-ke1_mlkem768-ke2_ecp384"],
            esp_a: vec!["aes256gcm16-mlkem768"],
            esp_b: vec!["aes256gcm16-mlkem768"],
            ..Default::default()
        };
        let (mut a, b) = pair(&o);
        a.trace_messages = true;
        let faults = Faults {
            drop: 0.15,
            duplicate: 0.05,
            ..Faults::none()
        };
        let mut p = Pair::new(a, b, 7000 + seed, faults);
        p.command(Side::A, Command::Initiate { conn: ConnId(0) });
        assert!(
            p.drive_until(Duration::from_secs(60), 20_000, established),
            "seed {seed}: a={:?}\nb={:?}",
            p.a.events,
            p.b.events
        );
        assert_eq!(
            p.a.live_ike_sas()[0].algorithms.expect("up").ke,
            KeMethod::CURVE25519.0
        );
        // Two IKE_INTERMEDIATE requests went out (message IDs 1 and 2),
        // then IKE_AUTH with message ID 3.
        let sent: Vec<(u8, u32)> =
            p.a.events
                .iter()
                .filter_map(|e| match e {
                    Event::MessageTrace {
                        outbound: true,
                        message,
                        ..
                    } => {
                        let h = yadokari_wire::Message::parse(message).ok()?.header;
                        (!h.flags.response()).then_some((h.exchange_type.0, h.message_id))
                    }
                    _ => None,
                })
                .collect();
        let inter = ExchangeType::IKE_INTERMEDIATE.0;
        let first = |x: u8| sent.iter().find(|(e, _)| *e == x).map(|(_, m)| *m);
        assert_eq!(first(inter), Some(1), "seed {seed}: {sent:?}");
        assert!(sent.contains(&(inter, 2)), "seed {seed}: {sent:?}");
        assert_eq!(
            first(ExchangeType::IKE_AUTH.0),
            Some(3),
            "seed {seed}: {sent:?}"
        );
        let old = spi_a(&p);
        p.command(Side::A, Command::RekeyChild { spi_in: old });
        assert!(
            p.drive_until(Duration::from_secs(60), 20_000, |p| established(p)
                && !p.a.installed.contains_key(&old)),
            "seed {seed}: child rekey"
        );
        let ike = p.a.live_ike_sas()[0].id;
        p.command(
            Side::B,
            Command::RekeyIke {
                ike: p.b.live_ike_sas()[0].id,
            },
        );
        assert!(
            p.drive_until(Duration::from_secs(60), 20_000, |p| p
                .a
                .live_ike_sas()
                .iter()
                .all(|s| s.id != ike)
                && p.a.live_ike_sas().len() == 1
                && p.b.live_ike_sas().len() == 1),
            "seed {seed}: IKE rekey"
        );
        p.check_consistent().unwrap();
    }
}

/// A peer without RFC 9370 (here: configured with a classic proposal only)
/// gets the classic proposal, and no IKE_INTERMEDIATE takes place.
#[test]
fn hybrid_offer_falls_back_to_a_classic_peer() {
    let o = PairOptions {
        ike_a: vec![
            "aes256gcm16-prfsha384-x25519-ke1_mlkem768",
            "aes128gcm16-prfsha256-ecp256",
        ],
        ike_b: vec!["aes128gcm16-prfsha256-ecp256"],
        ..Default::default()
    };
    let p = up(o, 41);
    let sa = p.a.live_ike_sas()[0].algorithms.expect("up");
    assert_eq!(sa.ke, yadokari_wire::registry::KeMethod::ECP_256.0);
}

/// Issue 10: the keys of a CHILD SA move to the driver in its install event,
/// and nothing the core keeps (its table, the views it hands out) holds any.
#[test]
fn child_keys_move_out_in_the_install_event_and_the_core_keeps_none() {
    let mut p = up(PairOptions::default(), 40);
    let a_spi = spi_a(&p);
    p.command(Side::A, Command::RekeyChild { spi_in: a_spi });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, |p| p.a.installed.len() == 1
            && !p.a.installed.contains_key(&a_spi))
    );
    p.check_consistent().unwrap();
    for peer in [&p.a, &p.b] {
        let mut handed_out = 0;
        for e in &peer.events {
            let (info, keys) = match e {
                Event::ChildSaInstalled { info, keys } => (info, keys),
                Event::ChildSaReplaced { new, keys, .. } => (new, keys),
                _ => continue,
            };
            handed_out += 1;
            assert!(!keys.inbound.encr.is_empty() && !keys.outbound.encr.is_empty());
            assert!(keys.inbound != keys.outbound, "one key per direction");
            // No trace of them in what the core keeps: its table's views
            // print every field, and none is a key.
            let kept = format!("{:?} {:?}", peer.ep.child_sa_views(), info);
            for k in [&keys.inbound, &keys.outbound] {
                let bytes = format!("{:?}", k.encr.expose());
                assert!(!kept.contains(&bytes[1..bytes.len() - 1]));
            }
            assert!(
                !kept.contains("ChildKeys") && !kept.contains("SecretBytes"),
                "the core's CHILD SA table holds keys: {kept}"
            );
        }
        assert_eq!(handed_out, 2, "the first CHILD SA and its rekey");
    }
}

/// Issue 10: the data plane's "this pair needs a rekey" names the pair by
/// its inbound SPI; the core rekeys exactly that pair, once, and ignores an
/// SPI it does not know.
#[test]
fn rekey_needed_by_inbound_spi_rekeys_that_pair_only() {
    let o = PairOptions {
        window: 4,
        ..Default::default()
    };
    let mut p = up(o, 41);
    let ike = p.a.live_ike_sas()[0].id;
    p.command(Side::A, Command::CreateChild { ike, child: 0 });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, |p| p.a.installed.len() == 2
            && p.b.installed.len() == 2)
    );
    let spis: Vec<u32> = p.a.installed.keys().copied().collect();
    let (target, other) = (spis[0], spis[1]);
    let now = p.now;
    let before = p.a.events.len();
    // Unknown SPI: nothing happens, no failure.
    p.a.ep.child_rekey_needed(now, 0x0bad_5eed);
    // Reported twice (two packets crossed the limit): one rekey.
    p.a.ep.child_rekey_needed(now, target);
    p.a.ep.child_rekey_needed(now, target);
    p.flush();
    assert!(p.drive_until(Duration::from_secs(5), 1000, |p| !p
        .a
        .installed
        .contains_key(&target)
        && p.a.installed.len() == 2));
    p.check_consistent().unwrap();
    let new: Vec<_> = p.a.events[before..]
        .iter()
        .filter_map(|e| match e {
            Event::ChildSaReplaced {
                old_spi_in,
                responder,
                ..
            } => Some((*old_spi_in, *responder)),
            _ => None,
        })
        .collect();
    assert_eq!(new, vec![(target, false)], "exactly the named pair, by us");
    assert!(
        p.a.installed.contains_key(&other),
        "the other pair untouched"
    );
    assert!(!p.a.events[before..]
        .iter()
        .any(|e| matches!(e, Event::Failure { .. })));
}

/// Issue 10: `poll_transmit_into` writes each datagram into the caller's
/// (reused) buffer, framed for its path: the non-ESP marker in front on
/// port 4500 (RFC 3948 §2.2), none on port 500; the peer takes it as is.
#[test]
fn poll_into_a_reused_buffer_frames_for_the_path() {
    use yadokari_ike::Path;
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 42, Faults::none());
    p.nat = true;
    let now = p.now;
    p.a.ep
        .handle_command(now, Command::Initiate { conn: ConnId(0) });
    let mut buf = vec![0xee; 4096];
    let path = p.a.ep.poll_transmit_into(&mut buf).expect("IKE_SA_INIT");
    assert_eq!(path.local.port(), 500);
    assert_ne!(buf[..4], [0; 4], "no marker on port 500: SPIi first");
    assert_eq!(
        u32::from_be_bytes(buf[24..28].try_into().unwrap()) as usize,
        buf.len(),
        "exactly the message, the old contents gone"
    );
    p.flush();
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    // Floated to 4500 behind the NAT (RFC 7296 §2.23): a DPD request.
    let ike = p.a.live_ike_sas()[0].id;
    p.a.ep.handle_command(now, Command::Dpd { ike });
    let path = p.a.ep.poll_transmit_into(&mut buf).expect("DPD request");
    assert_eq!(path.local.port(), 4500);
    assert_eq!(buf[..4], [0; 4], "non-ESP marker on port 4500");
    assert_eq!(
        u32::from_be_bytes(buf[28..32].try_into().unwrap()) as usize + 4,
        buf.len()
    );
    // B gets the datagram as the wire carries it and answers.
    let b_path = Path::new(
        std::net::SocketAddr::new(yadokari_sim::ADDR_B, 4500),
        std::net::SocketAddr::new(yadokari_sim::ADDR_NAT, 14500),
    );
    let answered = p.b.ep.counters().datagrams_out;
    p.b.ep.handle_datagram(now, b_path, &buf);
    assert_eq!(p.b.ep.counters().datagrams_out, answered + 1);
    let reply = p.b.ep.poll_transmit().expect("DPD answer");
    assert_eq!(reply.bytes[..4], [0; 4]);
}

/// IKE fragmentation (RFC 7383): with 576-byte fragments, the ML-KEM-1024
/// key exchange in IKE_INTERMEDIATE (1,568-byte KE payloads both ways) and
/// everything after it go as SKF fragments no datagram of which exceeds
/// the size, under seeded loss, duplication and reordering; a CHILD SA
/// rekey with ML-KEM-1024 PFS is fragmented as well.
#[test]
fn ike_fragments_carry_large_messages_under_loss() {
    for seed in 0..10u64 {
        let o = PairOptions {
            ike_a: vec!["aes256gcm16-prfsha384-x25519-ke1_mlkem1024"],
            ike_b: vec!["aes256gcm16-prfsha384-x25519-ke1_mlkem1024"],
            esp_a: vec!["aes256gcm16-mlkem1024"],
            esp_b: vec!["aes256gcm16-mlkem1024"],
            ..Default::default()
        };
        let (mut a, mut b) = pair(&o);
        a.connections[0].fragment_size = Some(576);
        b.connections[0].fragment_size = Some(576);
        let faults = Faults {
            drop: 0.1,
            duplicate: 0.05,
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
        };
        let mut p = Pair::new(a, b, 5000 + seed, faults);
        p.command(Side::A, Command::Initiate { conn: ConnId(0) });
        assert!(
            p.drive_until(Duration::from_secs(60), 40_000, established),
            "seed {seed}: a={:?}\nb={:?}",
            p.a.events,
            p.b.events
        );
        let old = spi_a(&p);
        p.command(
            Side::B,
            Command::RekeyChild {
                spi_in: *p.b.installed.keys().next().expect("b child"),
            },
        );
        assert!(
            p.drive_until(Duration::from_secs(60), 40_000, |p| established(p)
                && !p.a.installed.contains_key(&old)),
            "seed {seed}: child rekey"
        );
        p.check_consistent().unwrap();
        // IPv4 (20) and UDP (8) headers come on top of each datagram.
        assert!(p.net.largest <= 576 - 28, "seed {seed}: {}", p.net.largest);
    }
}

/// Without the peer's IKEV2_FRAGMENTATION_SUPPORTED nothing is fragmented:
/// the same large messages go whole (and IP fragments them).
#[test]
fn no_fragments_unless_both_sides_announce_them() {
    let o = PairOptions {
        ike_a: vec!["aes256gcm16-prfsha384-x25519-ke1_mlkem1024"],
        ike_b: vec!["aes256gcm16-prfsha384-x25519-ke1_mlkem1024"],
        ..Default::default()
    };
    let (mut a, mut b) = pair(&o);
    a.connections[0].fragment_size = Some(576);
    b.connections[0].fragment_size = None;
    let mut p = Pair::new(a, b, 77, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(p.drive_until(Duration::from_secs(10), 2_000, established));
    assert!(p.net.largest > 1568, "{}", p.net.largest);
}

fn ppk_conf(id: &str, key: &[u8], required: bool) -> Option<yadokari_ike::PpkConfig> {
    Some(yadokari_ike::PpkConfig {
        id: id.as_bytes().to_vec(),
        key: yadokari_ike::PskKey::new(key.to_vec()),
        required,
    })
}

fn ppk_pair(
    a: Option<yadokari_ike::PpkConfig>,
    b: Option<yadokari_ike::PpkConfig>,
    seed: u64,
) -> Pair {
    let (mut ca, mut cb) = pair(&PairOptions::default());
    ca.connections[0].ppk = a;
    cb.connections[0].ppk = b;
    let mut p = Pair::new(ca, cb, seed, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.drive_until(Duration::from_secs(5), 1000, established);
    p
}

/// RFC 8784: the PPK changes the keys (a CHILD SA's keys differ from the
/// same handshake's without it, yet both sides agree); an optional PPK
/// that the peer lacks falls back to the keys without it through
/// NO_PPK_AUTH; a required one refuses, and so do different keys.
#[test]
fn post_quantum_preshared_keys() {
    let k = b"a-post-quantum-preshared-key-of-32-bytes!";
    // Both required, same key: up, keys agree (check_consistent).
    let p = ppk_pair(ppk_conf("q", k, true), ppk_conf("q", k, true), 60);
    assert!(established(&p));
    p.check_consistent().unwrap();
    // The same seeds without PPK give other CHILD SA keys.
    let p0 = ppk_pair(None, None, 60);
    assert!(established(&p0));
    assert!(
        p0.a.keys_of(spi_a(&p0)).expect("keys").inbound
            != p.a.keys_of(spi_a(&p)).expect("keys").inbound
    );
    // Optional on the initiator, the responder has none: NO_PPK_AUTH.
    let p = ppk_pair(ppk_conf("q", k, false), None, 61);
    assert!(established(&p));
    p.check_consistent().unwrap();
    // Optional on both, different PPK_IDs: fallback through NO_PPK_AUTH.
    let p = ppk_pair(ppk_conf("q", k, false), ppk_conf("other", k, false), 62);
    assert!(established(&p));
    p.check_consistent().unwrap();
    // Required by the responder, the initiator has none: refused.
    let p = ppk_pair(None, ppk_conf("q", k, true), 63);
    assert!(!established(&p));
    // Required by the initiator, the responder has none: refused.
    let p = ppk_pair(ppk_conf("q", k, true), None, 64);
    assert!(!established(&p));
    let why = format!("{:?}", p.a.events);
    assert!(why.contains("ppk_required"), "{why}");
    // Same ID, other key: AUTH does not verify.
    let p = ppk_pair(
        ppk_conf("q", k, true),
        ppk_conf("q", b"another-post-quantum-preshared-key-here!!", true),
        65,
    );
    assert!(!established(&p));
}

/// RFC 6023 childless IKE SAs: with `force` (or `prefer` against a peer
/// that supports it) IKE_AUTH carries no CHILD SA, the CHILD SA follows in
/// CREATE_CHILD_SA, and a peer without support fails `force` in words.
#[test]
fn childless_ike_sas() {
    use yadokari_ike::Childless;
    use yadokari_wire::registry::ExchangeType;
    for (a_mode, b_mode, expect_childless) in [
        (Childless::Force, Childless::Allow, true),
        (Childless::Prefer, Childless::Allow, true),
        (Childless::Prefer, Childless::Never, false),
        (Childless::Allow, Childless::Allow, false),
    ] {
        let (mut ca, mut cb) = pair(&PairOptions::default());
        ca.connections[0].childless = a_mode;
        cb.connections[0].childless = b_mode;
        ca.trace_messages = true;
        let mut p = Pair::new(ca, cb, 70, Faults::none());
        p.command(Side::A, Command::Initiate { conn: ConnId(0) });
        assert!(
            p.drive_until(Duration::from_secs(5), 1000, established),
            "{a_mode:?}/{b_mode:?}: {:?}",
            p.a.events
        );
        p.check_consistent().unwrap();
        let created_by_exchange: Vec<u8> =
            p.a.events
                .iter()
                .filter_map(|e| match e {
                    Event::MessageTrace {
                        outbound: true,
                        message,
                        ..
                    } => yadokari_wire::Message::parse(message)
                        .ok()
                        .filter(|m| !m.header.flags.response())
                        .map(|m| m.header.exchange_type.0),
                    _ => None,
                })
                .collect();
        let child_via_create = created_by_exchange.contains(&ExchangeType::CREATE_CHILD_SA.0);
        assert_eq!(child_via_create, expect_childless, "{a_mode:?}/{b_mode:?}");
    }
    // `force` against a peer that does not announce RFC 6023.
    let (mut ca, mut cb) = pair(&PairOptions::default());
    ca.connections[0].childless = Childless::Force;
    cb.connections[0].childless = Childless::Never;
    let mut p = Pair::new(ca, cb, 71, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(!p.drive_until(Duration::from_secs(5), 1000, established));
    let why = format!("{:?}", p.a.events);
    assert!(why.contains("childless"), "{why}");
}
