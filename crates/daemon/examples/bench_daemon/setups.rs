//! IKE SA + CHILD SA set-ups per second in bursts, with memory per SA (RFC 7296 §1.2).

use super::*;

#[derive(Clone)]
pub(crate) struct SetupRow {
    pub(crate) pair: &'static str,
    pub(crate) n: usize,
    pub(crate) rep: usize,
    pub(crate) established: usize,
    pub(crate) secs: f64,
    pub(crate) responder_sas: usize,
    pub(crate) rss_before: u64,
    pub(crate) rss_after: u64,
    pub(crate) cpu_init: f64,
    pub(crate) cpu_resp: f64,
    pub(crate) retransmits: usize,
    /// Datagrams the responder's outer interface received during the
    /// burst: 2 per SA without cookies or retransmissions.
    pub(crate) responder_rx: u64,
    /// UDP receive-buffer drops (initiator, responder namespace).
    pub(crate) rcvbuf_drops: (u64, u64),
}

impl SetupRow {
    pub(crate) fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.established as f64 / self.secs
        } else {
            f64::NAN
        }
    }

    pub(crate) fn rx_per_sa(&self) -> f64 {
        self.responder_rx as f64 / self.n as f64
    }

    pub(crate) fn kib_per_sa(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.n as f64
    }
}

pub(crate) fn setup_yk(
    opts: &Opts,
    n: usize,
    rep: usize,
    dir: &Path,
    pq: bool,
) -> anyhow::Result<SetupRow> {
    set_yk_ike(if pq { IKE_PQ } else { IKE });
    let topo = Topology::direct("bkys")?;
    let resp_cfg = yk_config(&topo, Side::Right, false, false);
    let resp = Ykd::start(opts, topo.ns(Side::Right), dir, "resp", &resp_cfg)?;
    // Let the freshly started process settle before the baseline.
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = rss_kib(resp.pid())?;
    let cpu_r0 = cpu_secs(resp.pid());
    let rx0 = rx_packets(&topo, Side::Right);
    let perf = perf_start(resp.pid(), &dir.join(format!("perf-yk-{n}-{rep}.data")));
    let init = Ykd::start(
        opts,
        topo.ns(Side::Left),
        dir,
        "init",
        &yk_burst_initiator(&topo, n),
    )?;
    let done = wait_until(BURST_LIMIT, || {
        init.status().is_ok_and(|(_, children)| children >= n)
    });
    if !done {
        say(&format!(
            "    only {:?} (IKE, CHILD) SAs up on the initiator after {BURST_LIMIT:?}",
            init.status().ok()
        ));
    }
    // The last log lines may still be in the pipe.
    wait_until(Duration::from_secs(5), || {
        init.log_text().matches("CHILD SA installed").count() >= n
    });
    // The responder installs its CHILD SA before it answers IKE_AUTH, so
    // it is complete once the initiator is.
    std::thread::sleep(Duration::from_millis(200));
    perf_stop(perf);
    let rss_after = rss_kib(resp.pid())?;
    let responder_rx = rx_packets(&topo, Side::Right) - rx0;
    let (_, responder_sas) = resp.status()?;
    let cpu_resp = cpu_secs(resp.pid()) - cpu_r0;
    let cpu_init = cpu_secs(init.pid());
    let log = init.log_text();
    let (first, last, established) = span(
        &log,
        yk_stamp,
        |l| l.contains("initiating"),
        |l| l.contains("CHILD SA installed"),
    );
    let secs = match (first, last) {
        (Some(a), Some(b)) => secs_between(a, b),
        _ => bail!("no `initiating` / `CHILD SA installed` lines in the initiator's log"),
    };
    let retransmits = log.matches("retransmit").count();
    let tag = if pq { "yk-pq" } else { "yk" };
    std::fs::copy(&init.log, dir.join(format!("{tag}-{n}-{rep}-init.log")))?;
    std::fs::copy(&resp.log, dir.join(format!("{tag}-{n}-{rep}-resp.log")))?;
    set_yk_ike(IKE);
    drop(init);
    drop(resp);
    Ok(SetupRow {
        pair: if pq {
            "yadokari ⇄ yadokari, x25519+ML-KEM-768"
        } else {
            "yadokari ⇄ yadokari"
        },
        n,
        rep,
        established,
        secs,
        responder_sas,
        rss_before,
        rss_after,
        cpu_init,
        cpu_resp,
        retransmits,
        responder_rx,
        rcvbuf_drops: (
            udp_rcvbuf_drops(&topo, Side::Left),
            udp_rcvbuf_drops(&topo, Side::Right),
        ),
    })
}

/// With `YK_BENCH_PERF=1`, records the responder's profile during a burst
/// (`perf record -g`), for finding what limits the rate.
pub(crate) fn perf_start(pid: u32, out: &Path) -> Option<Child> {
    if std::env::var("YK_BENCH_PERF").ok().as_deref() != Some("1") {
        return None;
    }
    let child = Command::new("perf")
        .args(["record", "-g", "-F", "4999", "-o"])
        .arg(out)
        .args(["-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    // perf needs a moment to attach before the burst starts.
    std::thread::sleep(Duration::from_millis(500));
    Some(child)
}

pub(crate) fn perf_stop(child: Option<Child>) {
    if let Some(mut c) = child {
        yadokari_testbed::netns::signal(&[c.id()], "INT");
        let _ = c.wait();
    }
}

/// Packets received on the outer interface of `side`.
pub(crate) fn rx_packets(topo: &Topology, side: Side) -> u64 {
    topo.ns(side)
        .run(&["cat", "/sys/class/net/yk0/statistics/rx_packets"])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// UDP datagrams dropped for a full receive buffer in `side`'s namespace
/// (`RcvbufErrors` of /proc/net/snmp).
pub(crate) fn udp_rcvbuf_drops(topo: &Topology, side: Side) -> u64 {
    udp_stat(topo, side, "RcvbufErrors")
}

/// One `Udp:` field of /proc/net/snmp in `side`'s namespace.
pub(crate) fn udp_stat(topo: &Topology, side: Side, field: &str) -> u64 {
    let text = topo
        .ns(side)
        .run(&["cat", "/proc/net/snmp"])
        .unwrap_or_default();
    let udp: Vec<&str> = text.lines().filter(|l| l.starts_with("Udp:")).collect();
    let (Some(names), Some(values)) = (udp.first(), udp.get(1)) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(k, _)| *k == field)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// `IKE_SAs: 400 total, 0 half-open` from `swanctl --stats`.
pub(crate) fn charon_ike_sas(sw: &StrongSwan) -> usize {
    sw.swanctl(&["--stats"])
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.trim().strip_prefix("IKE_SAs:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

pub(crate) fn setup_swan(n: usize, rep: usize, dir: &Path) -> anyhow::Result<SetupRow> {
    let topo = Topology::direct("bkss")?;
    let mut rconf = swan_conf(&topo, Side::Right);
    // charon deletes older IKE SAs of the same identities when a new one
    // carries INITIAL_CONTACT (every one of a parallel burst does) unless
    // uniqueness is off.
    rconf.conn_mut().extra.push("unique = never".into());
    let opts = charon_burst_opts();
    let resp = StrongSwan::start(topo.ns(Side::Right), "right", &rconf, &opts)?;
    // The initiator starts with secrets only; loading the connections
    // (start_action = start) is what fires the burst.
    let mut secrets_only = swan_conf(&topo, Side::Left);
    secrets_only.connections.clear();
    let init = StrongSwan::start(topo.ns(Side::Left), "left", &secrets_only, &opts)?;
    init.write_conf(&swan_burst_initiator(&topo, n))?;
    let rpid = resp.pid().context("responder pid")?;
    let ipid = init.pid().context("initiator pid")?;
    std::thread::sleep(Duration::from_millis(300));
    let rss_before = rss_kib(rpid)?;
    let (cpu_r0, cpu_i0) = (cpu_secs(rpid), cpu_secs(ipid));
    let rx0 = rx_packets(&topo, Side::Right);
    init.swanctl(&["--load-conns"])?;
    let established = |text: &str| {
        text.lines()
            .filter(|l| l.contains("CHILD_SA") && l.contains("established"))
            .count()
    };
    let done = wait_until(BURST_LIMIT, || {
        init.log_text().is_ok_and(|t| established(&t) >= n)
    });
    if !done {
        say("    not every CHILD SA came up on the strongSwan initiator");
    }
    std::thread::sleep(Duration::from_millis(200));
    let rss_after = rss_kib(rpid)?;
    let responder_rx = rx_packets(&topo, Side::Right) - rx0;
    let responder_sas = charon_ike_sas(&resp);
    let cpu_resp = cpu_secs(rpid) - cpu_r0;
    let cpu_init = cpu_secs(ipid) - cpu_i0;
    let log = init.log_text()?;
    let (first, last, est) = span(
        &log,
        charon_stamp,
        |l| l.contains("initiating IKE_SA"),
        |l| l.contains("CHILD_SA") && l.contains("established"),
    );
    let secs = match (first, last) {
        (Some(a), Some(b)) => secs_between(a, b),
        _ => bail!("no `initiating IKE_SA` / `CHILD_SA … established` lines in charon's log"),
    };
    let retransmits = log.matches("retransmit").count();
    std::fs::write(dir.join(format!("ss-{n}-{rep}-init.log")), &log)?;
    std::fs::write(
        dir.join(format!("ss-{n}-{rep}-resp.log")),
        resp.log_text().unwrap_or_default(),
    )?;
    drop(init);
    drop(resp);
    Ok(SetupRow {
        pair: "strongSwan ⇄ strongSwan",
        n,
        rep,
        established: est,
        secs,
        responder_sas,
        rss_before,
        rss_after,
        cpu_init,
        cpu_resp,
        retransmits,
        responder_rx,
        rcvbuf_drops: (
            udp_rcvbuf_drops(&topo, Side::Left),
            udp_rcvbuf_drops(&topo, Side::Right),
        ),
    })
}

pub(crate) fn run_setups(opts: &Opts, raw: &Path) -> anyhow::Result<Vec<SetupRow>> {
    let mut rows = Vec::new();
    let mut tsv = String::from(
        "pair\tn\trep\testablished\tseconds\tsetups_per_s\tresponder_child_or_ike_sas\trss_before_kib\trss_after_kib\tkib_per_sa\tcpu_initiator_s\tcpu_responder_s\tretransmit_lines\tresponder_rx_datagrams\tudp_rcvbuf_drops_initiator\tudp_rcvbuf_drops_responder\n",
    );
    for &n in &opts.sizes {
        for rep in 1..=opts.reps {
            // `setup`: yadokari and strongSwan; `setup-pq`: yadokari with
            // X25519 alone and with the ML-KEM-768 hybrid, in the same run.
            let mut which: Vec<&str> = Vec::new();
            if opts.wants("setup") {
                which.extend(["yk", "ss"]);
            }
            if opts.wants("setup-pq") {
                which.extend(["yk", "yk-pq"]);
                which.dedup();
            }
            for which in which {
                say(&format!("== set-ups: {which}, N = {n}, rep {rep}"));
                let r = match which {
                    "yk" => setup_yk(opts, n, rep, raw, false),
                    "yk-pq" => setup_yk(opts, n, rep, raw, true),
                    _ => setup_swan(n, rep, raw),
                };
                match r {
                    Ok(r) => {
                        say(&format!(
                            "    {} established in {:.3} s: {:.0}/s; responder {} SAs, {:.1} KiB per SA; CPU s init {:.2} resp {:.2}; responder got {:.2} datagrams per SA; UDP rcvbuf drops {:?}",
                            r.established,
                            r.secs,
                            r.rate(),
                            r.responder_sas,
                            r.kib_per_sa(),
                            r.cpu_init,
                            r.cpu_resp,
                            r.rx_per_sa(),
                            r.rcvbuf_drops
                        ));
                        let _ = writeln!(
                            tsv,
                            "{}\t{}\t{}\t{}\t{:.3}\t{:.1}\t{}\t{}\t{}\t{:.2}\t{:.2}\t{:.2}\t{}\t{}\t{}\t{}",
                            r.pair,
                            r.n,
                            r.rep,
                            r.established,
                            r.secs,
                            r.rate(),
                            r.responder_sas,
                            r.rss_before,
                            r.rss_after,
                            r.kib_per_sa(),
                            r.cpu_init,
                            r.cpu_resp,
                            r.retransmits,
                            r.responder_rx,
                            r.rcvbuf_drops.0,
                            r.rcvbuf_drops.1
                        );
                        rows.push(r);
                    }
                    Err(e) => say(&format!("    failed: {e:#}")),
                }
            }
        }
    }
    std::fs::write(opts.out.join("setups.tsv"), tsv)?;
    Ok(rows)
}
