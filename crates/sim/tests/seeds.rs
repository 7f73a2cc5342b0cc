//! Thousands of seeded runs through a lossy, duplicating, reordering
//! network: establish, then a random script of CHILD and IKE rekeys (often
//! simultaneous, to force §2.8.1 collisions), extra children and deletes;
//! then the network heals and both sides must agree on every CHILD SA;
//! one run in five then loses its peer, and DPD must clear both sides.
//! One run in four reauthenticates the IKE SA periodically throughout.
//!
//! `YADOKARI_SIM_SEEDS=n` sets the number of seeds (default 2000, a few
//! seconds even in debug builds); `YADOKARI_SIM_SEED=s` runs one.

use std::time::Duration;

use yadokari_ike::{Command, ConnId, DpdAction};
use yadokari_sim::config::{pair, PairOptions};
use yadokari_sim::{Faults, Pair, Side, SimRng};

fn seeds() -> Vec<u64> {
    if let Some(s) = std::env::var("YADOKARI_SIM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return vec![s];
    }
    let default = 2000;
    let n = std::env::var("YADOKARI_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    (0..n).collect()
}

#[derive(Debug, Clone, Copy)]
enum Op {
    RekeyChild(Side),
    RekeyChildBoth,
    RekeyIke(Side),
    RekeyIkeBoth,
    NewChild(Side),
    DeleteChild(Side),
    Dpd(Side),
}

fn pick(r: &mut SimRng) -> Op {
    let side = if r.next_u64() % 2 == 0 {
        Side::A
    } else {
        Side::B
    };
    match r.next_u64() % 10 {
        0 | 1 => Op::RekeyChild(side),
        2 | 3 => Op::RekeyChildBoth,
        4 => Op::RekeyIke(side),
        5 => Op::RekeyIkeBoth,
        6 | 7 => Op::NewChild(side),
        8 => Op::DeleteChild(side),
        _ => Op::Dpd(side),
    }
}

fn apply(p: &mut Pair, op: Op, r: &mut SimRng) {
    let child_of = |p: &mut Pair, s: Side, r: &mut SimRng| {
        let spis: Vec<u32> = p.peer(s).installed.keys().copied().collect();
        (!spis.is_empty()).then(|| spis[(r.next_u64() as usize) % spis.len()])
    };
    let ike_of = |p: &mut Pair, s: Side| p.peer(s).live_ike_sas().first().map(|v| v.id);
    match op {
        Op::RekeyChild(s) => {
            if let Some(spi) = child_of(p, s, r) {
                p.command(s, Command::RekeyChild { spi_in: spi });
            }
        }
        Op::RekeyChildBoth => {
            // The same pair from both ends at the same instant: a collision.
            if let Some(spi) = child_of(p, Side::A, r) {
                let out = p.a.installed[&spi].spi_out;
                p.command(Side::A, Command::RekeyChild { spi_in: spi });
                if p.b.installed.contains_key(&out) {
                    p.command(Side::B, Command::RekeyChild { spi_in: out });
                }
            }
        }
        Op::RekeyIke(s) => {
            if let Some(ike) = ike_of(p, s) {
                p.command(s, Command::RekeyIke { ike });
            }
        }
        Op::RekeyIkeBoth => {
            for s in [Side::A, Side::B] {
                if let Some(ike) = ike_of(p, s) {
                    p.command(s, Command::RekeyIke { ike });
                }
            }
        }
        Op::NewChild(s) => {
            if let Some(ike) = ike_of(p, s) {
                p.command(s, Command::CreateChild { ike, child: 0 });
            }
        }
        Op::DeleteChild(s) => {
            if let Some(spi) = child_of(p, s, r) {
                p.command(s, Command::DeleteChild { spi_in: spi });
            }
        }
        Op::Dpd(s) => {
            if let Some(ike) = ike_of(p, s) {
                p.command(s, Command::Dpd { ike });
            }
        }
    }
}

fn run(seed: u64) -> Result<String, String> {
    let mut r = SimRng::new(seed);
    let pfs = r.chance(0.3);
    let o = PairOptions {
        esp_a: vec![if pfs {
            "aes128gcm16-x25519"
        } else {
            "aes128gcm16"
        }],
        esp_b: vec![if pfs {
            "aes128gcm16-x25519"
        } else {
            "aes128gcm16"
        }],
        window: if r.chance(0.3) { 4 } else { 1 },
        force_encap_a: r.chance(0.2),
        dpd: Some(Duration::from_secs(30)),
        dpd_action: DpdAction::Clear,
        ..Default::default()
    };
    // One run in four: A reauthenticates (§2.8.3) every ~30 s instead of
    // rekeying, so reauthentications overlap the scripted operations.
    let o = if r.chance(0.25) {
        PairOptions {
            reauth: true,
            ike_lifetime: yadokari_ike::Lifetime::new(
                Duration::from_secs(30),
                Duration::from_secs(3),
                Duration::from_secs(120),
            ),
            ..o
        }
    } else {
        o
    };
    let (a, b) = pair(&o);
    let drop = r.unit() * 0.2;
    let dup = r.unit() * 0.1;
    let mut p = Pair::new(a, b, seed, Faults::lossy(drop, dup));
    p.nat = r.chance(0.2);
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    p.drive_until(Duration::from_secs(60), 20_000, |p| {
        !p.a.installed.is_empty() && !p.b.installed.is_empty()
    });
    let mut t = p.elapsed();
    let n_ops = 1 + r.next_u64() % 5;
    let mut ops = Vec::new();
    for _ in 0..n_ops {
        t += Duration::from_millis(r.next_u64() % 8000);
        if !p.drive_bounded(t, 50_000) {
            return Err("step budget exhausted".into());
        }
        let op = pick(&mut r);
        ops.push(op);
        apply(&mut p, op, &mut r);
    }
    // Let everything in flight finish, then settle on a clean network long
    // enough for DPD to clear anything half-dead.
    let t1 = p.elapsed() + Duration::from_secs(120);
    if !p.drive_bounded(t1, 200_000) {
        return Err(format!("step budget exhausted (ops {ops:?})"));
    }
    p.heal();
    let t2 = p.elapsed() + Duration::from_secs(300);
    if !p.drive_bounded(t2, 200_000) {
        return Err(format!("step budget exhausted (ops {ops:?})"));
    }
    // A run that reauthenticates is never quiet for long: t2 may fall
    // between the responder completing IKE_AUTH and the initiator reading
    // the answer. A leak persists; an exchange in flight ends within a
    // round trip or a few retransmissions, so give it that long.
    p.drive_until(t2 + Duration::from_secs(20), 20_000, |p| {
        p.check_consistent().is_ok()
    });
    if let Err(e) = p.check_consistent() {
        if std::env::var("YADOKARI_SIM_VERBOSE").is_ok() {
            for (n, peer) in [("A", &p.a), ("B", &p.b)] {
                for ev in &peer.events {
                    eprintln!("{n}: {ev:?}");
                }
                eprintln!(
                    "{n} sas: {:?}\n{n} counters {:?}",
                    peer.ep.ike_sas(),
                    peer.ep.counters()
                );
            }
        }
        return Err(format!(
            "{e}\n  ops {ops:?} drop={drop:.2} dup={dup:.2} nat={} window={} reauth={}",
            p.nat, o.window, o.reauth
        ));
    }
    // Some runs end with the peer dying: DPD on both sides must clear everything.
    if r.chance(0.2) {
        p.net.cut = true;
        let t3 = p.elapsed() + Duration::from_secs(400);
        if !p.drive_bounded(t3, 200_000) {
            return Err(format!("step budget exhausted after cut (ops {ops:?})"));
        }
        for (name, peer) in [("A", &p.a), ("B", &p.b)] {
            if !peer.installed.is_empty() || !peer.ep.ike_sas().is_empty() {
                return Err(format!("{name} kept SAs after its peer died (ops {ops:?})"));
            }
        }
        return Ok("0 children".into());
    }
    Ok(format!("{} children", p.a.installed.len()))
}

#[test]
fn seeded_runs_end_consistent() {
    let seeds = seeds();
    let mut failures = Vec::new();
    let mut with_children = 0;
    for &s in &seeds {
        match run(s) {
            Ok(desc) => with_children += usize::from(desc != "0 children"),
            Err(e) => {
                eprintln!("seed {s} FAILED: {e}\n  replay: YADOKARI_SIM_SEED={s} cargo test -p yadokari-sim --test seeds");
                failures.push(s);
            }
        }
    }
    eprintln!(
        "{} seeds, {} ended with CHILD SAs, {} failed",
        seeds.len(),
        with_children,
        failures.len()
    );
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
    // Most runs must actually end with working SAs, or the test proves little.
    assert!(
        with_children * 10 >= seeds.len() * 5,
        "only {with_children} of {} runs had CHILD SAs",
        seeds.len()
    );
}
