//! Time from the operator's command to the CHILD SA being up.

use super::*;

pub(crate) fn timed(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// Milliseconds for each of `reps` bring-ups: `up` must return once the
/// CHILD SA is established, `down` must take the tunnel away again.
pub(crate) fn up_loop(
    reps: usize,
    mut up: impl FnMut() -> anyhow::Result<()>,
    mut down: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Vec<f64>> {
    let mut v = Vec::new();
    for _ in 0..reps {
        v.push(timed(&mut up)?);
        down()?;
        // Let both sides forget the old SAs before the next round.
        std::thread::sleep(Duration::from_millis(300));
    }
    Ok(v)
}

pub(crate) fn yk_down_wait(d: &Ykd) -> anyhow::Result<()> {
    if !wait_until(Duration::from_secs(10), || {
        d.status().is_ok_and(|(ike, _)| ike == 0)
    }) {
        bail!("yadokari peer still has SAs after `down`");
    }
    Ok(())
}

pub(crate) fn swan_down_wait(sw: &StrongSwan) -> anyhow::Result<()> {
    if !wait_until(Duration::from_secs(10), || charon_ike_sas(sw) == 0) {
        bail!("charon still has SAs after the delete");
    }
    Ok(())
}

pub(crate) fn run_up(opts: &Opts, raw: &Path) -> anyhow::Result<Series<f64>> {
    let mut out = Vec::new();
    let n = opts.up_reps;

    say("== tunnel up: yadokari → yadokari (`yadokari up`)");
    let r = (|| {
        let topo = Topology::direct("bkuy")?;
        let dir = raw.join("up-yk");
        let lc = yk_config(&topo, Side::Left, false, false);
        let rc = yk_config(&topo, Side::Right, false, false);
        let l = Ykd::start(opts, topo.ns(Side::Left), &dir, "left", &lc)?;
        let r = Ykd::start(opts, topo.ns(Side::Right), &dir, "right", &rc)?;
        up_loop(
            n,
            || l.cli(opts, &["up", "yk"]).map(drop),
            || {
                l.cli(opts, &["down", "yk"])?;
                yk_down_wait(&r)
            },
        )
    })();
    record(&mut out, "yadokari → yadokari", r);

    say("== tunnel up: yadokari → strongSwan (`yadokari up`)");
    let r = (|| {
        let topo = Topology::direct("bkuys")?;
        let dir = raw.join("up-yk-ss");
        let sw = swan(&topo, Side::Left)?;
        let rc = yk_config(&topo, Side::Right, false, true);
        let y = Ykd::start(opts, topo.ns(Side::Right), &dir, "right", &rc)?;
        up_loop(
            n,
            || y.cli(opts, &["up", "yk"]).map(drop),
            || {
                y.cli(opts, &["down", "yk"])?;
                swan_down_wait(&sw)
            },
        )
    })();
    record(&mut out, "yadokari → strongSwan", r);

    say("== tunnel up: strongSwan → yadokari (`swanctl --initiate`)");
    let r = (|| {
        let topo = Topology::direct("bkusy")?;
        let dir = raw.join("up-ss-yk");
        let sw = swan(&topo, Side::Left)?;
        let rc = yk_config(&topo, Side::Right, false, true);
        let y = Ykd::start(opts, topo.ns(Side::Right), &dir, "right", &rc)?;
        up_loop(
            n,
            || {
                sw.swanctl(&["--initiate", "--child", "site4", "--timeout", "10"])
                    .map(drop)
            },
            || {
                sw.swanctl(&["--terminate", "--ike", "yk", "--timeout", "5"])?;
                yk_down_wait(&y)
            },
        )
    })();
    record(&mut out, "strongSwan → yadokari", r);

    say("== tunnel up: strongSwan → strongSwan (`swanctl --initiate`)");
    let r = (|| {
        let topo = Topology::direct("bkuss")?;
        let l = swan(&topo, Side::Left)?;
        let r = swan(&topo, Side::Right)?;
        up_loop(
            n,
            || {
                l.swanctl(&["--initiate", "--child", "site4", "--timeout", "10"])
                    .map(drop)
            },
            || {
                l.swanctl(&["--terminate", "--ike", "yk", "--timeout", "5"])?;
                swan_down_wait(&r)
            },
        )
    })();
    record(&mut out, "strongSwan → strongSwan", r);

    let mut tsv = String::from("pair\trep\tms\n");
    for (pair, v) in &out {
        for (i, ms) in v.iter().enumerate() {
            let _ = writeln!(tsv, "{pair}\t{}\t{ms:.2}", i + 1);
        }
    }
    std::fs::write(opts.out.join("up.tsv"), tsv)?;
    Ok(out)
}

pub(crate) fn record(out: &mut Series<f64>, pair: &str, r: anyhow::Result<Vec<f64>>) {
    match r {
        Ok(v) => {
            say(&format!("    ms: {v:.1?}, median {:.1}", median(&v)));
            out.push((pair.to_owned(), v));
        }
        Err(e) => say(&format!("    failed: {e:#}")),
    }
}
