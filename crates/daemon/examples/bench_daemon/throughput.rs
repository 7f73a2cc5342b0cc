//! iperf3 TCP through each tunnel pairing and over the plain veth.

use super::*;

/// Busy and total jiffies of the whole machine.
pub(crate) fn cpu_sample() -> (f64, f64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

/// iperf3 TCP from `bind` (left) to `server` (right): (Gbit/s, busy cores) per run.
pub(crate) fn iperf(
    opts: &Opts,
    topo: &Topology,
    server: &str,
    bind: &str,
) -> anyhow::Result<Vec<(f64, f64)>> {
    let mut srv = topo
        .ns(Side::Right)
        .command("iperf3")
        .args(["-s", "-B", server, "-p", "5201"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let listening = wait_until(Duration::from_secs(5), || {
        topo.ns(Side::Right)
            .exec(&["ss", "-ltn"])
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(":5201"))
    });
    let mut res = Vec::new();
    if listening {
        let cores = std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64);
        for run in 1..=opts.runs {
            let (b0, t0) = cpu_sample();
            let secs = opts.seconds.to_string();
            let limit = (opts.seconds + 15).to_string();
            let out = topo.ns(Side::Left).exec(&[
                "timeout", &limit, "iperf3", "-c", server, "-B", bind, "-p", "5201", "-t", &secs,
                "-J",
            ])?;
            let (b1, t1) = cpu_sample();
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            let bps = v["end"]["sum_received"]["bits_per_second"]
                .as_f64()
                .unwrap_or(0.0);
            let busy = (b1 - b0) / (t1 - t0).max(1.0) * cores;
            say(&format!(
                "    run {run}: {:.3} Gbit/s, {busy:.2} cores busy",
                bps / 1e9
            ));
            res.push((bps / 1e9, busy));
        }
    }
    let _ = srv.kill();
    let _ = srv.wait();
    if !listening {
        bail!("iperf3 server did not start");
    }
    Ok(res)
}

pub(crate) fn ping_through(topo: &Topology) -> anyhow::Result<()> {
    let dst = topo.addrs(Side::Right).site(Family::V4).to_string();
    let src = topo.addrs(Side::Left).site(Family::V4).to_string();
    let ok = wait_until(Duration::from_secs(5), || {
        topo.ns(Side::Left)
            .exec(&["ping", "-c", "1", "-W", "1", "-I", &src, &dst])
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        bail!("the tunnel does not pass ping");
    }
    Ok(())
}

pub(crate) fn run_throughput(opts: &Opts, raw: &Path) -> anyhow::Result<Series<(f64, f64)>> {
    let mut out = Vec::new();
    let site = |topo: &Topology, s: Side| topo.addrs(s).site(Family::V4).to_string();

    say("== throughput: plain veth");
    let r = (|| {
        let topo = Topology::direct("bktp")?;
        let l = topo.addrs(Side::Left).outer(Family::V4).to_string();
        let r = topo.addrs(Side::Right).outer(Family::V4).to_string();
        iperf(opts, &topo, &r, &l)
    })();
    record_tp(&mut out, "plain veth", r);

    // UDP-encapsulated like the strongSwan rows (and like the manually
    // keyed data-plane benchmark), then plain ESP (IP protocol 50).
    for (encap, label) in [
        (true, "yadokari ⇄ yadokari"),
        (false, "yadokari ⇄ yadokari, plain ESP"),
    ] {
        say(&format!("== throughput: {label}"));
        let r = (|| {
            let topo = Topology::direct("bkty")?;
            let dir = raw.join(if encap { "tp-yk-udp" } else { "tp-yk-esp" });
            let lc = yk_config(&topo, Side::Left, true, encap);
            let rc = yk_config(&topo, Side::Right, false, encap);
            let _r = Ykd::start(opts, topo.ns(Side::Right), &dir, "right", &rc)?;
            let l = Ykd::start(opts, topo.ns(Side::Left), &dir, "left", &lc)?;
            if !wait_until(Duration::from_secs(20), || {
                l.status().is_ok_and(|(_, c)| c >= 1)
            }) {
                bail!("no CHILD SA:\n{}", l.log_text());
            }
            ping_through(&topo)?;
            iperf(
                opts,
                &topo,
                &site(&topo, Side::Right),
                &site(&topo, Side::Left),
            )
        })();
        record_tp(&mut out, label, r);
    }

    say("== throughput: strongSwan (left) ⇄ yadokari (right)");
    let r = (|| {
        let topo = Topology::direct("bktys")?;
        let dir = raw.join("tp-ss-yk");
        let _sw = swan(&topo, Side::Left)?;
        let rc = yk_config(&topo, Side::Right, true, true);
        let y = Ykd::start(opts, topo.ns(Side::Right), &dir, "right", &rc)?;
        if !wait_until(Duration::from_secs(20), || {
            y.status().is_ok_and(|(_, c)| c >= 1)
        }) {
            bail!("no CHILD SA:\n{}", y.log_text());
        }
        ping_through(&topo)?;
        iperf(
            opts,
            &topo,
            &site(&topo, Side::Right),
            &site(&topo, Side::Left),
        )
    })();
    record_tp(&mut out, "yadokari ⇄ strongSwan", r);

    say("== throughput: strongSwan ⇄ strongSwan");
    let r = (|| {
        let topo = Topology::direct("bktss")?;
        let l = swan(&topo, Side::Left)?;
        let _r = swan(&topo, Side::Right)?;
        l.initiate("site4")?;
        ping_through(&topo)?;
        iperf(
            opts,
            &topo,
            &site(&topo, Side::Right),
            &site(&topo, Side::Left),
        )
    })();
    record_tp(&mut out, "strongSwan ⇄ strongSwan", r);

    let mut tsv = String::from("path\trun\tgbps\tcores_busy\n");
    for (path, v) in &out {
        for (i, (g, c)) in v.iter().enumerate() {
            let _ = writeln!(tsv, "{path}\t{}\t{g:.3}\t{c:.2}", i + 1);
        }
    }
    std::fs::write(opts.out.join("throughput.tsv"), tsv)?;
    Ok(out)
}

pub(crate) fn record_tp(
    out: &mut Series<(f64, f64)>,
    path: &str,
    r: anyhow::Result<Vec<(f64, f64)>>,
) {
    match r {
        Ok(v) => out.push((path.to_owned(), v)),
        Err(e) => say(&format!("    failed: {e:#}")),
    }
}
