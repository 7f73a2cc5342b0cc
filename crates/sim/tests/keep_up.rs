//! Keeping connections up, in virtual time: retries with back-off after
//! failed attempts, renegotiation after a lost SA (DPD, the peer's Delete,
//! INITIAL_CONTACT from a restarted peer, RFC 7296 §2.4), the operator's
//! Close and Initiate, and ACQUIRE waiting out the back-off.

use std::time::Duration;

use yadokari_ike::{Command, ConnId, DpdAction, Event, IkeEndpoint, LastError, RetryConfig};
use yadokari_sim::config::{pair, PairOptions};
use yadokari_sim::{Faults, Pair, Side};

const CONN: ConnId = ConnId(0);

fn established(p: &Pair) -> bool {
    p.a.installed.len() == 1 && p.b.installed.len() == 1
}

/// A pair whose side A keeps its connection up (back-off capped at
/// `max`), up after the first handshake.
fn up_pair(o: &PairOptions, keep_up: bool, max: Duration, seed: u64) -> Pair {
    let (mut a, b) = pair(o);
    a.connections[0].retry = RetryConfig {
        keep_up,
        max_interval: max,
        ..RetryConfig::default()
    };
    let mut p = Pair::new(a, b, seed, Faults::none());
    p.command(Side::A, Command::Initiate { conn: CONN });
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    p
}

fn init_requests_sent(p: &Pair) -> usize {
    // Every attempt starts with a fresh IKE SA: count the ones A made.
    p.a.events
        .iter()
        .filter(|e| {
            matches!(
                e,
                Event::Failure {
                    reason: yadokari_ike::FailureReason::Timeout,
                    ..
                }
            )
        })
        .count()
}

/// Item: `dpd_action = restart` used to try once and give up. Now the
/// attempts go on with back-off while the peer is away, and the tunnel
/// is back within one back-off interval (plus one retransmission
/// interval) of the peer's return.
#[test]
fn dpd_restart_retries_until_the_peer_returns() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        dpd_action: DpdAction::Restart,
        ..Default::default()
    };
    let max = Duration::from_secs(10);
    let mut p = up_pair(&o, false, max, 21);
    p.net.cut = true;
    // DPD (10 s) + retransmissions (60 s) find the peer dead; then several
    // attempts of 60 s each, with back-off between them.
    let t = p.elapsed() + Duration::from_secs(400);
    assert!(p.drive_bounded(t, 100_000));
    assert!(
        p.a.events.iter().any(|e| matches!(
            e,
            Event::IkeSaDown {
                reason: yadokari_ike::DownReason::PeerDead,
                ..
            }
        )),
        "{:?}",
        p.a.events
    );
    let attempts = init_requests_sent(&p);
    assert!(attempts >= 3, "only {attempts} failed attempts in 400 s");
    let st = p.a.ep.retry_status(CONN);
    assert!(st.keep_up && !st.gave_up, "{st:?}");
    assert!(st.failures >= 3, "{st:?}");
    assert_eq!(
        st.last_error,
        Some(LastError::Failed(yadokari_ike::FailureReason::Timeout))
    );
    // The peer is back.
    p.net.cut = false;
    let back = p.elapsed();
    // B still holds its old SAs (it never saw A go): A's new IKE SA says
    // INITIAL_CONTACT, which clears them.
    assert!(
        p.drive_until(back + max + Duration::from_secs(9), 100_000, |p| {
            !p.a.installed.is_empty() && p.b.installed.len() == 1
        }),
        "not up again within one back-off interval of the peer's return"
    );
    assert!(p.elapsed() - back <= max + Duration::from_secs(9));
    p.check_consistent().unwrap();
    assert_eq!(p.a.ep.retry_status(CONN).failures, 0);
}

/// A connection that is kept up is negotiated again at once when the
/// peer deletes it (a responder shutting down cleanly, then back).
#[test]
fn kept_up_connection_renegotiates_after_the_peer_deletes_it() {
    let mut p = up_pair(&PairOptions::default(), true, Duration::from_secs(10), 22);
    let old = p.a.live_ike_sas()[0].id;
    let ike_b = p.b.live_ike_sas()[0].id;
    p.command(Side::B, Command::DeleteIke { ike: ike_b });
    let t = p.elapsed();
    assert!(
        p.drive_until(t + Duration::from_secs(3), 1000, |p| established(p)
            && p.a.live_ike_sas().iter().all(|s| s.id != old)),
        "not renegotiated: {:?}",
        p.a.events
    );
    p.check_consistent().unwrap();
}

/// Without `keep_up` (a respond-only or on-demand connection) a Delete
/// from the peer is final.
#[test]
fn connection_not_kept_up_stays_down_after_a_delete() {
    let mut p = up_pair(&PairOptions::default(), false, Duration::from_secs(10), 23);
    let ike_b = p.b.live_ike_sas()[0].id;
    p.command(Side::B, Command::DeleteIke { ike: ike_b });
    let t = p.elapsed() + Duration::from_secs(30);
    assert!(p.drive_bounded(t, 10_000));
    assert!(p.a.ep.ike_sas().is_empty() && p.b.ep.ike_sas().is_empty());
}

/// Close: the CHILD SAs go at once even though the peer cannot answer the
/// Delete, and nothing is retried; Initiate brings the retries back.
#[test]
fn close_is_immediate_and_final_until_initiate() {
    let mut p = up_pair(&PairOptions::default(), true, Duration::from_secs(5), 24);
    p.net.cut = true;
    p.command(Side::A, Command::Close { conn: CONN });
    assert!(p.a.installed.is_empty(), "CHILD SA kept after Close");
    let t = p.elapsed() + Duration::from_secs(200);
    assert!(p.drive_bounded(t, 100_000));
    assert!(p.a.ep.ike_sas().is_empty(), "{:?}", p.a.ep.ike_sas());
    assert_eq!(init_requests_sent(&p), 0, "an attempt after Close");
    assert!(!p.a.ep.retry_status(CONN).keep_up);
    p.command(Side::A, Command::Initiate { conn: CONN });
    assert!(p.a.ep.retry_status(CONN).keep_up);
    let t = p.elapsed() + Duration::from_secs(200);
    assert!(p.drive_bounded(t, 100_000));
    assert!(init_requests_sent(&p) >= 2, "no retries after Initiate");
}

/// ACQUIRE starts a connection that is down, but not while an attempt
/// runs nor before the back-off of a failed one has passed; and traffic-
/// started connections are not retried by timer.
#[test]
fn acquire_waits_out_the_backoff() {
    let (mut a, b) = pair(&PairOptions::default());
    a.connections[0].retry.max_interval = Duration::from_secs(20);
    let mut p = Pair::new(a, b, 25, Faults::none());
    p.net.cut = true;
    p.command(Side::A, Command::Acquire { conn: CONN });
    assert_eq!(p.a.ep.ike_sas().len(), 1);
    p.command(Side::A, Command::Acquire { conn: CONN });
    assert_eq!(p.a.ep.ike_sas().len(), 1, "a second attempt in parallel");
    // The attempt gives up when its retransmissions run out.
    let t = p.elapsed() + Duration::from_secs(61);
    assert!(p.drive_until(t, 10_000, |p| p.a.ep.ike_sas().is_empty()));
    let st = p.a.ep.retry_status(CONN);
    assert_eq!(st.failures, 1);
    let wait = st.retry_at.expect("back-off") - p.now;
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
    p.command(Side::A, Command::Acquire { conn: CONN });
    assert!(p.a.ep.ike_sas().is_empty(), "ACQUIRE ignored the back-off");
    // No automatic retry for a connection that traffic started.
    let t = p.elapsed() + Duration::from_secs(30);
    assert!(p.drive_bounded(t, 10_000));
    assert!(p.a.ep.ike_sas().is_empty());
    p.net.cut = false;
    p.command(Side::A, Command::Acquire { conn: CONN });
    let t = p.elapsed() + Duration::from_secs(3);
    assert!(p.drive_until(t, 1000, established));
}

/// RFC 7296 §2.4: a peer that restarted (lost its state) says
/// INITIAL_CONTACT; the SAs it had before are removed at once instead of
/// waiting for DPD.
#[test]
fn initial_contact_clears_a_restarted_peers_old_sas() {
    let (a_cfg, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a_cfg.clone(), b, 26, Faults::none());
    p.command(Side::A, Command::Initiate { conn: CONN });
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    let old = p.b.live_ike_sas()[0].id;
    let t = p.elapsed() + Duration::from_secs(2);
    assert!(p.drive_bounded(t, 1000));
    // A restarts: a fresh endpoint with no memory of its SAs.
    p.a.ep = IkeEndpoint::new(a_cfg, 99);
    p.a.installed.clear();
    p.a.ike_up.clear();
    p.command(Side::A, Command::Initiate { conn: CONN });
    let t = p.elapsed() + Duration::from_secs(5);
    assert!(p.drive_until(t, 1000, |p| established(p)
        && p.b.ep.ike_sas().len() == 1
        && p.b.ep.ike_sas()[0].id != old));
    p.check_consistent().unwrap();
}

/// The DPD timer counts from when traffic arrived, as reported, and a
/// report older than what the SA already heard does not move it back.
#[test]
fn dpd_counts_from_the_reported_arrival_time() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    let (a, b) = pair(&o);
    let mut p = Pair::new(a, b, 27, Faults::none());
    p.command(Side::A, Command::Initiate { conn: CONN });
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    let t0 = p.elapsed();
    let sent = |p: &Pair| p.a.ep.counters().datagrams_out;
    assert!(p.drive_bounded(t0 + Duration::from_secs(8), 1000));
    let spi = *p.a.installed.keys().next().expect("child");
    let spi_b = *p.b.installed.keys().next().expect("child");
    // ESP arrived at t0 + 7 s; the report is handled at t0 + 8 s.
    let arrived = p.start + t0 + Duration::from_secs(7);
    p.a.ep.child_traffic_seen(arrived, spi);
    p.b.ep.child_traffic_seen(arrived, spi_b);
    // An older, delayed report changes nothing.
    p.a.ep
        .child_traffic_seen(p.start + t0 + Duration::from_secs(1), spi);
    let before = sent(&p);
    assert!(p.drive_bounded(t0 + Duration::from_millis(16_900), 1000));
    assert_eq!(sent(&p), before, "probe before 10 s of silence");
    assert!(p.drive_bounded(t0 + Duration::from_millis(17_100), 1000));
    assert!(sent(&p) > before, "no probe 10 s after the last ESP");
}

/// RFC 7296 §1.5: the responder restarted (kill -9) and answers A's DPD
/// probe with an unprotected INVALID_IKE_SPI. That must not change A's SA,
/// but A treats it as a hint and negotiates a new SA beside the old one,
/// so the tunnel is back one round trip after the probe, not after the
/// whole retransmission budget (60 s here).
#[test]
fn invalid_spi_hint_renegotiates_with_a_restarted_responder() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        dpd_action: DpdAction::Restart,
        ..Default::default()
    };
    let (a, b_cfg) = pair(&o);
    let mut p = Pair::new(a, b_cfg.clone(), 28, Faults::none());
    p.command(Side::A, Command::Initiate { conn: CONN });
    assert!(p.drive_until(Duration::from_secs(5), 1000, established));
    let old = p.a.live_ike_sas()[0].id;
    // B restarts: no memory of any SA.
    p.b.ep = IkeEndpoint::new(b_cfg, 77);
    p.b.installed.clear();
    p.b.ike_up.clear();
    let t = p.elapsed();
    assert!(
        p.drive_until(t + Duration::from_secs(15), 10_000, |p| {
            p.b.installed.len() == 1
                && p.a
                    .ep
                    .child_sas()
                    .any(|c| c.ike != old && p.b.installed.contains_key(&c.spi_out))
        }),
        "no new SA within DPD + 5 s: {:?}",
        p.a.events
    );
    // The old SA goes once the new one is up (its Delete is never answered,
    // so it leaves when the retransmissions run out).
    let t = p.elapsed();
    assert!(p.drive_bounded(t + Duration::from_secs(120), 100_000));
    assert_eq!(p.a.ep.ike_sas().len(), 1, "{:?}", p.a.ep.ike_sas());
    assert_ne!(p.a.ep.ike_sas()[0].id, old);
    p.check_consistent().unwrap();
}

/// `dpd_action = clear` means clear, even for a connection kept up: no
/// new attempt after DPD found the peer dead.
#[test]
fn dpd_clear_leaves_a_kept_up_connection_down() {
    let o = PairOptions {
        dpd: Some(Duration::from_secs(10)),
        dpd_action: DpdAction::Clear,
        ..Default::default()
    };
    let mut p = up_pair(&o, true, Duration::from_secs(5), 29);
    p.net.cut = true;
    let t = p.elapsed() + Duration::from_secs(200);
    assert!(p.drive_bounded(t, 100_000));
    assert!(p.a.ep.ike_sas().is_empty(), "{:?}", p.a.ep.ike_sas());
    assert_eq!(init_requests_sent(&p), 0);
}

/// `keyingtries`: after that many failed attempts in a row the connection
/// is given up (no timer), and `Initiate` starts it afresh.
#[test]
fn keyingtries_gives_up_and_initiate_starts_over() {
    let (mut a, b) = pair(&PairOptions::default());
    a.connections[0].retry = RetryConfig {
        keep_up: true,
        keyingtries: 2,
        max_interval: Duration::from_secs(5),
        ..RetryConfig::default()
    };
    let mut p = Pair::new(a, b, 30, Faults::none());
    p.net.cut = true;
    p.command(Side::A, Command::Initiate { conn: CONN });
    let t = p.elapsed() + Duration::from_secs(300);
    assert!(p.drive_bounded(t, 100_000));
    assert_eq!(init_requests_sent(&p), 2);
    let st = p.a.ep.retry_status(CONN);
    assert!(st.gave_up && !st.keep_up && st.failures == 2, "{st:?}");
    assert_eq!(p.a.ep.poll_timeout(), None, "a timer left after giving up");
    p.net.cut = false;
    p.command(Side::A, Command::Initiate { conn: CONN });
    let t = p.elapsed() + Duration::from_secs(3);
    assert!(p.drive_until(t, 1000, established));
    assert!(!p.a.ep.retry_status(CONN).gave_up);
}
