//! Half-open IKE SAs are limited per source (issue 18, item 15): an
//! attacker that answers every COOKIE but never finishes IKE_AUTH holds
//! only its own quota of the responder's half-open table, so a legitimate
//! peer at another address still gets its IKE_SA_INIT answered and its
//! tunnel up during the flood. Needs root; without it the test skips.
//!
//! The attacker is the IKE core itself, run in-process in the left
//! namespace from an address of its own: it starts IKE_SA_INITs as fast as
//! it can, answers COOKIE demands (RFC 7296 §2.6) as any initiator does,
//! and drops every IKE_AUTH it would send, so each SA it gets stays
//! half-open at the responder.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use yadokari_control::{Request, Response};
use yadokari_ike::{Command, ConnId, IkeEndpoint, Path};
use yadokari_sim::config::{pair, PairOptions};
use yadokari_testbed::yadokarid::{has_child_sa, pair_config, site_selectors, start_pair};
use yadokari_testbed::{Family, Side, Topology};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");
/// The attacker's own address on the left side's outer link.
const ATTACKER: &str = "192.0.2.66";
/// IKE SAs the attacker starts at most (bounded in count and in time).
const ATTEMPTS: usize = 3000;
const ATTACK_FOR: Duration = Duration::from_secs(12);
/// IKE exchange types, at byte 18 of the IKE header (RFC 7296 §3.1).
const IKE_SA_INIT: u8 = 34;
const IKE_AUTH: u8 = 35;

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip"])
}

/// What the attacker saw.
#[derive(Default)]
struct Seen {
    /// Datagrams the responder sent it (COOKIE demands, IKE_SA_INIT answers).
    answers: AtomicU64,
    /// IKE_SA_INIT requests it sent.
    inits: AtomicU64,
}

/// Floods `to` from `from` (inside namespace `ns`) until `stop` or
/// [`ATTACK_FOR`].
fn attack(
    ns: String,
    from: IpAddr,
    to: IpAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Seen>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let r = yadokari_sys::netns::run_in(&ns, move || {
            let sock = UdpSocket::bind(SocketAddr::new(from, 0))?;
            sock.set_read_timeout(Some(Duration::from_millis(2)))?;
            let local = sock.local_addr()?;
            let remote = SocketAddr::new(to, 500);
            // Connections as the simulator builds them (the responder's
            // default proposals accept them), all aimed at the responder.
            let (mut cfg, _) = pair(&PairOptions {
                ts_a: ("198.51.100.0/24", "203.0.113.0/24"),
                ..PairOptions::default()
            });
            let base = cfg.connections[0].clone();
            cfg.connections = (0..ATTEMPTS)
                .map(|i| {
                    let mut c = base.clone();
                    c.name = format!("flood{i}");
                    c.local_addr = Some(local);
                    c.remote_addr = Some(remote);
                    c
                })
                .collect();
            // Our port is the IKE port as far as framing goes: plain IKE,
            // no non-ESP marker.
            cfg.ike_port = local.port();
            let mut ep = IkeEndpoint::new(cfg, 0x5eed_f100d_u64);
            let send_all = |ep: &mut IkeEndpoint| {
                while let Some(t) = ep.poll_transmit() {
                    match (t.bytes.get(18), t.bytes.get(19)) {
                        (Some(&IKE_AUTH), _) => continue,
                        // A request (no R flag, §3.1) opening an exchange
                        // of type IKE_SA_INIT.
                        (Some(&IKE_SA_INIT), Some(flags)) if flags & 0x20 == 0 => {
                            seen.inits.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                    let _ = sock.send_to(&t.bytes, t.path.remote);
                }
            };
            let t0 = Instant::now();
            let mut next = 0;
            let mut buf = vec![0u8; 65_536];
            while !stop.load(Ordering::Relaxed) && t0.elapsed() < ATTACK_FOR {
                for _ in 0..10 {
                    if next < ATTEMPTS {
                        ep.handle_command(Instant::now(), Command::Initiate { conn: ConnId(next) });
                        next += 1;
                    }
                }
                send_all(&mut ep);
                let until = Instant::now() + Duration::from_millis(10);
                while Instant::now() < until {
                    if let Ok((n, peer)) = sock.recv_from(&mut buf) {
                        seen.answers.fetch_add(1, Ordering::Relaxed);
                        ep.handle_datagram(Instant::now(), Path::new(local, peer), &buf[..n]);
                        send_all(&mut ep);
                    }
                }
                ep.handle_timeout(Instant::now());
                send_all(&mut ep);
            }
            Ok(())
        });
        if let Err(e) = r {
            eprintln!("attacker: {e}");
        }
    })
}

#[test]
fn a_cookie_answering_flood_from_one_source_leaves_room_for_other_peers() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykhalfo").unwrap();
    topo.ns(Side::Left)
        .add_addr("yk0", &format!("{ATTACKER}/24"))
        .unwrap();
    let left = pair_config(
        &topo,
        Side::Left,
        Family::V4,
        "ykt0",
        "",
        &site_selectors(&topo, Side::Left, Family::V4),
    );
    // A responder that takes peers from any address (a remote-access
    // gateway), with a small half-open table: COOKIEs past 4, at most 8 per
    // source, 64 in all.
    let left_addr = topo.addrs(Side::Left).outer(Family::V4);
    let right = pair_config(
        &topo,
        Side::Right,
        Family::V4,
        "ykt0",
        "cookie_threshold = 4\nhalf_open_per_source = 8\nmax_half_open = 64",
        &site_selectors(&topo, Side::Right, Family::V4),
    )
    .replace(&format!("remote = \"{left_addr}\""), "remote = \"IP_ANY\"");
    assert!(right.contains("IP_ANY"), "{right}");
    let (l, r) = start_pair(&topo, BIN, &left, &right).unwrap();
    match l.call(&Request::Down { name: "t".into() }).unwrap() {
        Response::Done { .. } => {}
        other => panic!("down: {other:?}"),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Seen::default());
    let flood = attack(
        topo.ns(Side::Left).name().to_owned(),
        ATTACKER.parse().unwrap(),
        topo.addrs(Side::Right).outer(Family::V4),
        stop.clone(),
        seen.clone(),
    );
    // Let the flood fill what it can.
    std::thread::sleep(Duration::from_secs(2));
    let t0 = Instant::now();
    let answer = l.call(&Request::Up { name: "t".into() });
    let took = t0.elapsed();
    let (inits, answers) = (
        seen.inits.load(Ordering::Relaxed),
        seen.answers.load(Ordering::Relaxed),
    );
    stop.store(true, Ordering::Relaxed);
    flood.join().unwrap();
    println!(
        "legitimate `up` took {took:?} while one source sent {inits} IKE_SA_INITs \
         and got {answers} answers"
    );
    assert!(
        inits > 200 && answers > 100,
        "the flood did not run: {inits} IKE_SA_INITs sent, {answers} answers"
    );
    assert!(
        matches!(answer, Ok(Response::Done { .. })),
        "up during the flood: {answer:?}\n{}",
        r.log()
    );
    assert!(
        took < Duration::from_secs(3),
        "up took {took:?} during the flood (the attacker's source must be held to its quota)"
    );
    assert!(l.wait(Duration::from_secs(2), has_child_sa));
}
