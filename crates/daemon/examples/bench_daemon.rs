//! Daemon-level benchmarks in network namespaces, all from one run:
//!
//! - **set-ups**: IKE SA (+ first CHILD SA, RFC 7296 §1.2) set-ups per
//!   second, N initiated at once, yadokari ⇄ yadokari and strongSwan ⇄
//!   strongSwan, with the responder's memory per established IKE SA + CHILD
//!   SA (VmRSS after minus before, over N);
//! - **up**: time from the command (`yadokari up`, `swanctl --initiate`) to
//!   the CHILD SA being up, for each pairing;
//! - **throughput**: iperf3 TCP through IKE-negotiated AES-GCM-128 tunnels
//!   (ESP in UDP, RFC 3948, wherever strongSwan's kernel-libipsec takes
//!   part; yadokari ⇄ yadokari both in UDP and as plain ESP, RFC 4303), and
//!   over the plain veth as the reference;
//! - **flood**: the yadokari ⇄ yadokari tunnel (ESP in UDP) with and without
//!   a bounded flood of garbage datagrams (forged-SPI ESP, junk behind the
//!   non-ESP marker, junk and runts on port 500, oversized datagrams) sent
//!   to the responder from a third namespace, in the same run on the same
//!   tunnel, so the cost of the drop paths is visible.
//!
//! Run it through `scripts/bench-daemon.sh`, which builds the release
//! binaries, passes their folder in `YK_BIN_DIR` and holds the CPU lock.
//! Raw TSV files and `table.md` go to `YK_BENCH_OUT`. Every scenario makes
//! its own namespaces (unique names, documentation addresses) and drops them
//! before the next, which also kills every process left inside.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use yadokari_control::{Client, Request, Response};
use yadokari_testbed::netns::wait_until;
use yadokari_testbed::yadokarid::TunnelConfig;
use yadokari_testbed::{
    site_to_site, CharonOptions, Family, Netns, Side, StrongSwan, SwanctlConf, Topology, TEST_PSK,
};

/// Named measurements: (what was measured, one value per run).
type Series<T> = Vec<(String, Vec<T>)>;

const IKE: &str = "aes128gcm16-prfsha256-x25519";
const ESP: &str = "aes128gcm16";
/// How long a burst of set-ups may take before the run counts as failed.
const BURST_LIMIT: Duration = Duration::from_secs(90);
/// First UDP port of the per-SA selectors in the set-up bursts.
const PORT_BASE: u32 = 20000;

struct Opts {
    bin_dir: PathBuf,
    out: PathBuf,
    sizes: Vec<usize>,
    reps: usize,
    up_reps: usize,
    seconds: u32,
    runs: usize,
    /// Garbage datagrams per second of the flood part.
    flood_rate: u64,
    parts: Vec<String>,
}

fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Opts {
    fn from_env() -> anyhow::Result<Opts> {
        let sizes = std::env::var("YK_BENCH_N")
            .unwrap_or_else(|_| "100 400".into())
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<Vec<usize>, _>>()
            .context("YK_BENCH_N: numbers separated by spaces")?;
        if sizes.iter().any(|&n| n == 0 || n > 10_000) {
            bail!("YK_BENCH_N: each size must be 1..=10000");
        }
        let mut parts: Vec<String> = std::env::args().skip(1).collect();
        if parts.is_empty() {
            parts = vec![
                "setup".into(),
                "up".into(),
                "throughput".into(),
                "flood".into(),
            ];
        }
        for p in &parts {
            if !["setup", "up", "throughput", "flood"].contains(&p.as_str()) {
                bail!("unknown part `{p}` (setup, up, throughput, flood)");
            }
        }
        let flood_rate = env_or("YK_BENCH_FLOOD_RATE", 20_000u64);
        if !(1..=1_000_000).contains(&flood_rate) {
            bail!("YK_BENCH_FLOOD_RATE: 1..=1000000 datagrams per second");
        }
        Ok(Opts {
            bin_dir: std::env::var_os("YK_BIN_DIR")
                .map_or_else(|| PathBuf::from("target/release"), PathBuf::from),
            out: std::env::var_os("YK_BENCH_OUT")
                .map_or_else(|| PathBuf::from("bench-daemon-out"), PathBuf::from),
            sizes,
            reps: env_or("YK_BENCH_REPS", 3),
            up_reps: env_or("YK_BENCH_UP_REPS", 5),
            seconds: env_or("YK_BENCH_SECONDS", 10),
            runs: env_or("YK_BENCH_RUNS", 3),
            flood_rate,
            parts,
        })
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

fn say(s: &str) {
    eprintln!("{s}");
}

// ---------------------------------------------------------------- processes

/// VmRSS of `pid` in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc/PID/status")
}

/// User + system CPU time of `pid` in seconds.
fn cpu_secs(pid: u32) -> f64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the file, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// A yadokarid in a namespace; SIGKILLed on drop (the namespaces go too).
struct Ykd {
    child: Child,
    socket: PathBuf,
    log: PathBuf,
}

impl Ykd {
    fn start(
        opts: &Opts,
        ns: &Netns,
        dir: &Path,
        label: &str,
        config: &str,
    ) -> anyhow::Result<Ykd> {
        std::fs::create_dir_all(dir)?;
        let cfg = dir.join(format!("{label}.toml"));
        std::fs::write(&cfg, config)?;
        let socket = dir.join(format!("{label}.sock"));
        let log = dir.join(format!("{label}.log"));
        let child = ns
            .command(opts.bin("yadokarid").to_str().context("path")?)
            .arg("--config")
            .arg(&cfg)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.join(format!("{label}-state")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start yadokarid")?;
        let mut d = Ykd { child, socket, log };
        // yadokarid's stderr lines carry no time stamps, so each line is
        // stamped here as it arrives (the pipe adds microseconds).
        let mut file = std::fs::File::create(&d.log)?;
        if let Some(err) = d.child.stderr.take() {
            std::thread::spawn(move || {
                use std::io::{BufRead as _, Write as _};
                for line in std::io::BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    let t = epoch().elapsed().as_secs_f64();
                    if writeln!(file, "{t:.6} {line}").is_err() {
                        break;
                    }
                }
            });
        }
        let up = wait_until(Duration::from_secs(20), || {
            matches!(d.child.try_wait(), Ok(None)) && d.status().is_ok()
        });
        if !up {
            bail!(
                "yadokarid {label} did not start:\n{}",
                std::fs::read_to_string(&d.log).unwrap_or_default()
            );
        }
        Ok(d)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn call(&self, r: &Request) -> anyhow::Result<Response> {
        Ok(Client::connect(&self.socket, Some(Duration::from_secs(40)))?.call(r)?)
    }

    /// (IKE SAs, CHILD SAs).
    fn status(&self) -> anyhow::Result<(usize, usize)> {
        match self.call(&Request::Status)? {
            Response::Status(s) => Ok((s.ike_sas, s.child_sas)),
            other => bail!("status: {other:?}"),
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `yadokari --socket S ARGS`, failing on a non-zero exit.
    fn cli(&self, opts: &Opts, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(opts.bin("yadokari"))
            .arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            bail!(
                "yadokari {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for Ykd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------ configurations

fn id(side: Side) -> String {
    format!("{}.example.org", side.as_str())
}

/// A whole config: the daemon part and a compact-form tunnel `yk` between
/// the two site networks.
fn yk_config(topo: &Topology, side: Side, initiate: bool, encap: bool) -> String {
    let me = topo.addrs(side);
    let peer = topo.addrs(side.peer());
    TunnelConfig {
        side,
        family: Family::V4,
        // Not `yk0`: that is the topology's outer veth.
        ifname: "ykt0",
        name: "yk",
        initiate,
        // The burst's responder: see `yk_head` on the per-source limit.
        daemon: "log_level = \"info\"\nretransmit_timeout = \"20s\"\nhalf_open_per_source = 0",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = \"{IKE}\"\nesp = \"{ESP}\"\nencap = {encap}",
            me.net(Family::V4),
            peer.net(Family::V4)
        ),
    }
    .render(topo)
}

/// The daemon-wide part. The TUN must not be called `yk0`: that is the
/// topology's outer veth. A burst of N set-ups comes from one address,
/// which the per-source half-open limit (16 by default) would treat as a
/// flood; strongSwan's responder gets its per-IP limit lifted too (below).
/// The COOKIE threshold keeps its default.
fn yk_head(log_level: &str) -> String {
    format!(
        "[daemon]\nlog_level = \"{log_level}\"\nretransmit_timeout = \"20s\"\nhalf_open_per_source = 0\n\n[interface]\nname = \"ykt0\"\n"
    )
}

/// The set-up burst's initiator: one remote, then N protect policies, each
/// its own IKE connection whose selector is the two site networks narrowed
/// to UDP port PORT_BASE + i. All selectors share one address prefix per
/// side, so one route serves every CHILD SA.
fn yk_burst_initiator(topo: &Topology, n: usize) -> String {
    let me = topo.addrs(Side::Left);
    let peer = topo.addrs(Side::Right);
    let mut s = yk_head("info");
    let _ = write!(
        s,
        r#"
[remote.peer]
address = "{remote}"
local_address = "{local}"
local_id = "{lid}"
remote_id = "{rid}"
psk = "{TEST_PSK}"
ike = "{IKE}"
start = "initiate"

[sa.gcm]
proposals = ["{ESP}"]

[ipsec.tun]
mode = "tunnel"
sa = "gcm"
"#,
        remote = peer.outer(Family::V4),
        local = me.outer(Family::V4),
        lid = id(Side::Left),
        rid = id(Side::Right),
    );
    for i in 1..=n {
        let port = PORT_BASE + i as u32;
        let _ = write!(
            s,
            r#"
[policy.y{i}]
action = "protect"
remote = "peer"
ipsec = "tun"

[selector.s{i}]
src = "{src}"
dst = "{dst}"
protocol = "udp"
src_port = {port}
dst_port = {port}
policy = "y{i}"
"#,
            src = me.net(Family::V4),
            dst = peer.net(Family::V4),
        );
    }
    s
}

/// charon settings for the set-up bursts: no DoS protection on the
/// responder (cookies, per-IP blocking, half-open limits) and room for many
/// IKE SAs, so the burst measures the daemons and not their DoS limits;
/// `reuse_ikesa = no` so the initiator makes one IKE SA per connection
/// instead of piling CHILD SAs into the first.
fn charon_burst_opts() -> CharonOptions {
    CharonOptions {
        log_levels: vec![("default".into(), 0)],
        extra: [
            "reuse_ikesa = no",
            "ikesa_table_size = 1024",
            "ikesa_table_segments = 16",
            "dos_protection = no",
            "cookie_threshold = 1000000",
            "block_threshold = 1000000",
            "init_limit_half_open = 0",
            "retransmit_timeout = 2.0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        ..CharonOptions::default()
    }
}

/// Quiet logging for the other scenarios (the default logs every key).
fn charon_quiet() -> CharonOptions {
    CharonOptions {
        log_levels: vec![("default".into(), 0)],
        ..CharonOptions::default()
    }
}

/// A quiet charon on `side` with the plain site-to-site tunnel.
fn swan(topo: &Topology, side: Side) -> anyhow::Result<StrongSwan> {
    StrongSwan::start(
        topo.ns(side),
        side.as_str(),
        &swan_conf(topo, side),
        &charon_quiet(),
    )
}

fn swan_conf(topo: &Topology, side: Side) -> SwanctlConf {
    site_to_site(topo, side, Family::V4, &[Family::V4]).with_proposals(IKE, ESP)
}

/// The strongSwan initiator of a burst: N connections y1..yN like the
/// responder's one, each child narrowed to one UDP port and started on load.
fn swan_burst_initiator(topo: &Topology, n: usize) -> SwanctlConf {
    let mut conf = swan_conf(topo, Side::Left);
    let base = conf.conn_mut().clone();
    conf.connections.clear();
    let me = topo.addrs(Side::Left);
    let peer = topo.addrs(Side::Right);
    for i in 1..=n {
        let port = PORT_BASE + i as u32;
        let mut c = base.clone();
        c.name = format!("y{i}");
        for ch in &mut c.children {
            ch.name = format!("c{i}");
            ch.local_ts = vec![format!("{}[udp/{port}]", me.net(Family::V4))];
            ch.remote_ts = vec![format!("{}[udp/{port}]", peer.net(Family::V4))];
            ch.start_action = "start".into();
        }
        conf.connections.push(c);
    }
    conf
}

// ------------------------------------------------------------------- logs

/// Seconds since midnight from `HH:MM:SS.fff` at the start of `s`.
fn tod(s: &str) -> Option<f64> {
    let mut it = s.splitn(3, ':');
    let h: f64 = it.next()?.parse().ok()?;
    let m: f64 = it.next()?.parse().ok()?;
    let rest = it.next()?;
    let sec: f64 = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .parse()
        .ok()?;
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// First time a line matching `start` appears, last time one matching
/// `end` does, and how many `end` lines there are. `stamp` extracts the
/// time of day from a line.
fn span(
    log: &str,
    stamp: impl Fn(&str) -> Option<f64>,
    start: impl Fn(&str) -> bool,
    end: impl Fn(&str) -> bool,
) -> (Option<f64>, Option<f64>, usize) {
    let (mut first, mut last, mut count) = (None, None, 0);
    for l in log.lines() {
        let Some(t) = stamp(l) else { continue };
        if first.is_none() && start(l) {
            first = Some(t);
        }
        if end(l) {
            count += 1;
            last = Some(t);
        }
    }
    (first, last, count)
}

/// The reference point of the stamps on yadokarid's log lines.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// yadokarid's log as [`Ykd`] saves it: `SECONDS  INFO …`, seconds since
/// [`epoch`].
fn yk_stamp(l: &str) -> Option<f64> {
    l.split_whitespace().next()?.parse().ok()
}

/// charon's file log: `17:55:01.123 07[IKE] …`.
fn charon_stamp(l: &str) -> Option<f64> {
    tod(l)
}

fn secs_between(a: f64, b: f64) -> f64 {
    // Across midnight the time of day wraps.
    if b >= a {
        b - a
    } else {
        b + 86_400.0 - a
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

// ------------------------------------------------------------- set-ups/s

#[derive(Clone)]
struct SetupRow {
    pair: &'static str,
    n: usize,
    rep: usize,
    established: usize,
    secs: f64,
    responder_sas: usize,
    rss_before: u64,
    rss_after: u64,
    cpu_init: f64,
    cpu_resp: f64,
    retransmits: usize,
    /// Datagrams the responder's outer interface received during the
    /// burst: 2 per SA without cookies or retransmissions.
    responder_rx: u64,
    /// UDP receive-buffer drops (initiator, responder namespace).
    rcvbuf_drops: (u64, u64),
}

impl SetupRow {
    fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.established as f64 / self.secs
        } else {
            f64::NAN
        }
    }

    fn rx_per_sa(&self) -> f64 {
        self.responder_rx as f64 / self.n as f64
    }

    fn kib_per_sa(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.n as f64
    }
}

fn setup_yk(opts: &Opts, n: usize, rep: usize, dir: &Path) -> anyhow::Result<SetupRow> {
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
    std::fs::copy(&init.log, dir.join(format!("yk-{n}-{rep}-init.log")))?;
    std::fs::copy(&resp.log, dir.join(format!("yk-{n}-{rep}-resp.log")))?;
    drop(init);
    drop(resp);
    Ok(SetupRow {
        pair: "yadokari ⇄ yadokari",
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
fn perf_start(pid: u32, out: &Path) -> Option<Child> {
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

fn perf_stop(child: Option<Child>) {
    if let Some(mut c) = child {
        yadokari_testbed::netns::signal(&[c.id()], "INT");
        let _ = c.wait();
    }
}

/// Packets received on the outer interface of `side`.
fn rx_packets(topo: &Topology, side: Side) -> u64 {
    topo.ns(side)
        .run(&["cat", "/sys/class/net/yk0/statistics/rx_packets"])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// UDP datagrams dropped for a full receive buffer in `side`'s namespace
/// (`RcvbufErrors` of /proc/net/snmp).
fn udp_rcvbuf_drops(topo: &Topology, side: Side) -> u64 {
    udp_stat(topo, side, "RcvbufErrors")
}

/// One `Udp:` field of /proc/net/snmp in `side`'s namespace.
fn udp_stat(topo: &Topology, side: Side, field: &str) -> u64 {
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
fn charon_ike_sas(sw: &StrongSwan) -> usize {
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

fn setup_swan(n: usize, rep: usize, dir: &Path) -> anyhow::Result<SetupRow> {
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

fn run_setups(opts: &Opts, raw: &Path) -> anyhow::Result<Vec<SetupRow>> {
    let mut rows = Vec::new();
    let mut tsv = String::from(
        "pair\tn\trep\testablished\tseconds\tsetups_per_s\tresponder_child_or_ike_sas\trss_before_kib\trss_after_kib\tkib_per_sa\tcpu_initiator_s\tcpu_responder_s\tretransmit_lines\tresponder_rx_datagrams\tudp_rcvbuf_drops_initiator\tudp_rcvbuf_drops_responder\n",
    );
    for &n in &opts.sizes {
        for rep in 1..=opts.reps {
            for which in ["yk", "ss"] {
                say(&format!("== set-ups: {which}, N = {n}, rep {rep}"));
                let r = if which == "yk" {
                    setup_yk(opts, n, rep, raw)
                } else {
                    setup_swan(n, rep, raw)
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

// ------------------------------------------------------------ tunnel up

fn timed(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64() * 1000.0)
}

/// Milliseconds for each of `reps` bring-ups: `up` must return once the
/// CHILD SA is established, `down` must take the tunnel away again.
fn up_loop(
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

fn yk_down_wait(d: &Ykd) -> anyhow::Result<()> {
    if !wait_until(Duration::from_secs(10), || {
        d.status().is_ok_and(|(ike, _)| ike == 0)
    }) {
        bail!("yadokari peer still has SAs after `down`");
    }
    Ok(())
}

fn swan_down_wait(sw: &StrongSwan) -> anyhow::Result<()> {
    if !wait_until(Duration::from_secs(10), || charon_ike_sas(sw) == 0) {
        bail!("charon still has SAs after the delete");
    }
    Ok(())
}

fn run_up(opts: &Opts, raw: &Path) -> anyhow::Result<Series<f64>> {
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

fn record(out: &mut Series<f64>, pair: &str, r: anyhow::Result<Vec<f64>>) {
    match r {
        Ok(v) => {
            say(&format!("    ms: {v:.1?}, median {:.1}", median(&v)));
            out.push((pair.to_owned(), v));
        }
        Err(e) => say(&format!("    failed: {e:#}")),
    }
}

// ------------------------------------------------------------ throughput

/// Busy and total jiffies of the whole machine.
fn cpu_sample() -> (f64, f64) {
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
fn iperf(
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

fn ping_through(topo: &Topology) -> anyhow::Result<()> {
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

fn run_throughput(opts: &Opts, raw: &Path) -> anyhow::Result<Series<(f64, f64)>> {
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

fn record_tp(out: &mut Series<(f64, f64)>, path: &str, r: anyhow::Result<Vec<(f64, f64)>>) {
    match r {
        Ok(v) => out.push((path.to_owned(), v)),
        Err(e) => say(&format!("    failed: {e:#}")),
    }
}

// ------------------------------------------------------------------ flood

/// The flooder's address, on a link of its own to the responder.
const FLOOD_SRC: &str = "192.0.2.200";

/// A third namespace (`PREFIX-f`) with a veth to the right side's: the
/// flooder is neither peer, as an attacker on the Internet is not.
fn flooder_ns(topo: &Topology) -> anyhow::Result<Netns> {
    let f = Netns::create(&format!("{}-f", yadokari_testbed::unique_prefix("bkfl")))?;
    yadokari_testbed::netns::veth(topo.ns(Side::Right), "ykf0", &f, "ykf1")?;
    f.add_addr("ykf1", &format!("{FLOOD_SRC}/32"))?;
    let right = topo.addrs(Side::Right).outer(Family::V4).to_string();
    f.ip(&["-4", "route", "add", &format!("{right}/32"), "dev", "ykf1"])?;
    topo.ns(Side::Right).ip(&[
        "-4",
        "route",
        "add",
        &format!("{FLOOD_SRC}/32"),
        "dev",
        "ykf0",
    ])?;
    Ok(f)
}

/// A flood running on a thread inside the flooder namespace.
struct Flood {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<std::io::Result<(u64, f64)>>,
}

impl Flood {
    /// Sends garbage to `dst` at `rate` datagrams per second, for at most
    /// `limit` and `rate × limit` datagrams, until stopped. Five kinds in
    /// turn: forged-SPI ESP of 1,400 bytes and 300 bytes of junk behind the
    /// non-ESP marker (port 4500), 300 bytes of junk and 7-byte runts (port
    /// 500), and 8,000-byte datagrams (fragmented on the 1,500-byte link).
    fn start(ns: &Netns, dst: std::net::IpAddr, rate: u64, limit: Duration) -> Flood {
        use std::sync::atomic::{AtomicBool, Ordering};
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let name = ns.name().to_owned();
        let thread = std::thread::spawn(move || {
            yadokari_sys::netns::enter(&name)?;
            let sock = std::net::UdpSocket::bind((FLOOD_SRC, 0))?;
            let max = rate.saturating_mul(limit.as_secs().max(1));
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut junk = |buf: &mut [u8]| {
                for b in buf.iter_mut() {
                    x ^= x >> 12;
                    x ^= x << 25;
                    x ^= x >> 27;
                    *b = (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8;
                }
            };
            let mut buf = vec![0u8; 8000];
            let t0 = Instant::now();
            let mut sent = 0u64;
            while !flag.load(Ordering::Relaxed) && sent < max && t0.elapsed() < limit {
                let due = (t0.elapsed().as_secs_f64() * rate as f64) as u64;
                if sent >= due {
                    std::thread::sleep(Duration::from_micros(500));
                    continue;
                }
                let (len, port) = match sent % 5 {
                    0 => (1400, 4500),
                    1 => (300, 4500),
                    2 => (300, 500),
                    3 => (7, 500),
                    _ => (8000, 4500),
                };
                junk(&mut buf[..len]);
                match sent % 5 {
                    0 => buf[0] |= 0x80,   // a forged SPI: never zero
                    1 => buf[..4].fill(0), // the non-ESP marker
                    _ => {}
                }
                // A full socket buffer is the flooder's problem, not ours.
                let _ = sock.send_to(&buf[..len], (dst, port));
                sent += 1;
            }
            Ok((sent, t0.elapsed().as_secs_f64()))
        });
        Flood { stop, thread }
    }

    /// Stops it: (datagrams sent, seconds).
    fn stop(self) -> anyhow::Result<(u64, f64)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the flood thread panicked"))?
            .context("flood")
    }
}

/// Throughput of one yadokari ⇄ yadokari tunnel (ESP in UDP) without and
/// then with a garbage flood against the responder, same tunnel, same run.
fn run_flood(opts: &Opts, raw: &Path) -> anyhow::Result<Series<(f64, f64)>> {
    let mut out = Vec::new();
    say(&format!(
        "== flood: yadokari ⇄ yadokari, without and with {} garbage datagrams/s",
        opts.flood_rate
    ));
    let topo = Topology::direct("bkfl")?;
    let fns = flooder_ns(&topo)?;
    let dir = raw.join("flood");
    let lc = yk_config(&topo, Side::Left, true, true);
    let rc = yk_config(&topo, Side::Right, false, true);
    let r = Ykd::start(opts, topo.ns(Side::Right), &dir, "right", &rc)?;
    let l = Ykd::start(opts, topo.ns(Side::Left), &dir, "left", &lc)?;
    if !wait_until(Duration::from_secs(20), || {
        l.status().is_ok_and(|(_, c)| c >= 1)
    }) {
        bail!("no CHILD SA:\n{}", l.log_text());
    }
    ping_through(&topo)?;
    let site = |s: Side| topo.addrs(s).site(Family::V4).to_string();
    let (server, bind) = (site(Side::Right), site(Side::Left));
    let quiet = iperf(opts, &topo, &server, &bind);
    record_tp(&mut out, "no flood", quiet);

    let dst = topo.addrs(Side::Right).outer(Family::V4);
    let limit = Duration::from_secs(u64::from(opts.seconds + 20) * opts.runs as u64 + 10);
    let cpu0 = cpu_secs(r.pid());
    let arrived = || {
        fns.run(&["cat", "/sys/class/net/ykf1/statistics/tx_packets"])
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let (tx0, rcvbuf0) = (arrived(), udp_rcvbuf_drops(&topo, Side::Right));
    let udp_in0 = udp_stat(&topo, Side::Right, "InDatagrams");
    let flood = Flood::start(&fns, dst, opts.flood_rate, limit);
    let flooded = iperf(opts, &topo, &server, &bind);
    let (sent, secs) = flood.stop()?;
    let cpu = cpu_secs(r.pid()) - cpu0;
    // Link packets count fragments: an 8,000-byte datagram is six.
    say(&format!(
        "    flood: {sent} datagrams in {secs:.1} s ({:.0}/s), {} packets on the flooder's link; \
         responder: {} UDP datagrams in (tunnel included), CPU {cpu:.2} s, \
         UDP receive-buffer drops {}",
        sent as f64 / secs.max(0.001),
        arrived() - tx0,
        udp_stat(&topo, Side::Right, "InDatagrams") - udp_in0,
        udp_rcvbuf_drops(&topo, Side::Right) - rcvbuf0
    ));
    let label = format!("garbage flood, {:.0}/s", sent as f64 / secs.max(0.001));
    record_tp(&mut out, &label, flooded);
    if r.status().is_err() {
        bail!("the responder stopped answering:\n{}", r.log_text());
    }

    let mut tsv = String::from("condition\trun\tgbps\tcores_busy\n");
    for (cond, v) in &out {
        for (i, (g, c)) in v.iter().enumerate() {
            let _ = writeln!(tsv, "{cond}\t{}\t{g:.3}\t{c:.2}", i + 1);
        }
    }
    std::fs::write(opts.out.join("flood.tsv"), tsv)?;
    Ok(out)
}

// ----------------------------------------------------------------- report

fn fmt_rate(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.0}")
    } else {
        "–".into()
    }
}

fn report(
    opts: &Opts,
    setups: &[SetupRow],
    ups: &[(String, Vec<f64>)],
    tps: &[(String, Vec<(f64, f64)>)],
    floods: &[(String, Vec<(f64, f64)>)],
) -> String {
    let mut md = String::new();
    if !setups.is_empty() {
        let _ = writeln!(
            md,
            "### IKE SA set-ups per second (N initiated at once, median of {} reps)\n",
            opts.reps
        );
        let _ = writeln!(
            md,
            "| pair | N | established (min) | set-ups/s (median) | min–max | responder SAs (min) | responder KiB per IKE+CHILD SA (median) | CPU s initiator / responder (median) | datagrams in per SA at the responder (median) |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for &n in &opts.sizes {
            let mut medians = Vec::new();
            for pair in ["yadokari ⇄ yadokari", "strongSwan ⇄ strongSwan"] {
                let rs: Vec<&SetupRow> = setups
                    .iter()
                    .filter(|r| r.n == n && r.pair == pair)
                    .collect();
                if rs.is_empty() {
                    continue;
                }
                let rates: Vec<f64> = rs.iter().map(|r| r.rate()).collect();
                let fin: Vec<f64> = rates.iter().copied().filter(|x| x.is_finite()).collect();
                let lo = fin.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = fin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let med = median(&rates);
                medians.push(med);
                let kib: Vec<f64> = rs.iter().map(|r| r.kib_per_sa()).collect();
                let ci: Vec<f64> = rs.iter().map(|r| r.cpu_init).collect();
                let cr: Vec<f64> = rs.iter().map(|r| r.cpu_resp).collect();
                let rx: Vec<f64> = rs.iter().map(|r| r.rx_per_sa()).collect();
                let _ = writeln!(
                    md,
                    "| {pair} | {n} | {} | **{}** | {}–{} | {} | {:.1} | {:.2} / {:.2} | {:.2} |",
                    rs.iter().map(|r| r.established).min().unwrap_or(0),
                    fmt_rate(med),
                    fmt_rate(lo),
                    fmt_rate(hi),
                    rs.iter().map(|r| r.responder_sas).min().unwrap_or(0),
                    median(&kib),
                    median(&ci),
                    median(&cr),
                    median(&rx)
                );
            }
            if let [yk, ss] = medians[..] {
                let _ = writeln!(
                    md,
                    "| *ratio yadokari / strongSwan* | {n} | | **{:.2}×** | | | | | |",
                    yk / ss
                );
            }
        }
        md.push('\n');
    }
    if !ups.is_empty() {
        let _ = writeln!(
            md,
            "### Time to bring one tunnel up (command → CHILD SA established, median of {})\n",
            opts.up_reps
        );
        let _ = writeln!(md, "| initiator → responder | median ms | min–max ms |");
        let _ = writeln!(md, "|---|---:|---:|");
        for (pair, v) in ups {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let _ = writeln!(md, "| {pair} | **{:.1}** | {lo:.1}–{hi:.1} |", median(v));
        }
        md.push('\n');
    }
    if !tps.is_empty() {
        let _ = writeln!(
            md,
            "### TCP throughput through IKE-negotiated tunnels (iperf3, {} s, median of {}, AES-GCM-128)\n",
            opts.seconds, opts.runs
        );
        let med = |path: &str| -> Option<(f64, f64)> {
            let v = &tps.iter().find(|(p, _)| p == path)?.1;
            let mut s = v.clone();
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            s.get((s.len().max(1) - 1) / 2).copied()
        };
        let veth = med("plain veth").map(|m| m.0);
        let swan = med("strongSwan ⇄ strongSwan").map(|m| m.0);
        let _ = writeln!(
            md,
            "| path | Gbit/s | share of plain veth | × strongSwan ⇄ strongSwan | cores busy |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|");
        for (path, _) in tps {
            let Some((g, c)) = med(path) else { continue };
            let share = veth.map_or("–".into(), |v| format!("{:.1} %", 100.0 * g / v));
            let ratio = swan.map_or("–".into(), |s| format!("{:.1}×", g / s));
            let _ = writeln!(md, "| {path} | **{g:.3}** | {share} | {ratio} | {c:.2} |");
        }
        md.push('\n');
    }
    if !floods.is_empty() {
        let _ = writeln!(
            md,
            "### Throughput under a garbage flood from a third namespace (yadokari ⇄ yadokari, ESP in UDP, iperf3, {} s, median of {}, same tunnel)\n",
            opts.seconds, opts.runs
        );
        let med = |v: &[(f64, f64)]| -> (f64, f64) {
            let mut s = v.to_vec();
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            s.get((s.len().max(1) - 1) / 2)
                .copied()
                .unwrap_or((0.0, 0.0))
        };
        let base = floods.first().map(|(_, v)| med(v).0);
        let _ = writeln!(md, "| condition | Gbit/s | × without flood | cores busy |");
        let _ = writeln!(md, "|---|---:|---:|---:|");
        for (cond, v) in floods {
            let (g, c) = med(v);
            let ratio = base.map_or("–".into(), |b| format!("{:.2}×", g / b.max(1e-9)));
            let _ = writeln!(md, "| {cond} | **{g:.3}** | {ratio} | {c:.2} |");
        }
        md.push('\n');
    }
    md
}

fn main() -> anyhow::Result<()> {
    epoch();
    let opts = Opts::from_env()?;
    if let Some(why) = yadokari_testbed::require(&["ip", "ping", "iperf3", "swanctl", "ss"]) {
        bail!("cannot run here: {why}");
    }
    for b in ["yadokarid", "yadokari"] {
        if !opts.bin(b).exists() {
            bail!(
                "{} missing (build with cargo build --release)",
                opts.bin(b).display()
            );
        }
    }
    std::fs::create_dir_all(&opts.out)?;
    let raw = opts.out.join("logs");
    std::fs::create_dir_all(&raw)?;
    let setups = if opts.wants("setup") {
        run_setups(&opts, &raw)?
    } else {
        Vec::new()
    };
    let ups = if opts.wants("up") {
        run_up(&opts, &raw)?
    } else {
        Vec::new()
    };
    let tps = if opts.wants("throughput") {
        run_throughput(&opts, &raw)?
    } else {
        Vec::new()
    };
    let floods = if opts.wants("flood") {
        run_flood(&opts, &raw)?
    } else {
        Vec::new()
    };
    let md = report(&opts, &setups, &ups, &tps, &floods);
    std::fs::write(opts.out.join("table.md"), &md)?;
    println!("{md}");
    Ok(())
}
