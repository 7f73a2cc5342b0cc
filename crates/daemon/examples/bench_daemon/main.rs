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

mod configs;
mod flood;
mod logs;
mod procs;
mod report;
mod setups;
mod throughput;
mod up;

use configs::*;
use flood::*;
use logs::*;
use procs::*;
use report::*;
use setups::*;
use throughput::*;
use up::*;

/// Named measurements: (what was measured, one value per run).
pub(crate) type Series<T> = Vec<(String, Vec<T>)>;

pub(crate) const IKE: &str = "aes128gcm16-prfsha256-x25519";
pub(crate) const ESP: &str = "aes128gcm16";
/// The post-quantum hybrid of the `setup-pq` part (RFC 9370): X25519, then
/// ML-KEM-768 in IKE_INTERMEDIATE.
const IKE_PQ: &str = "aes128gcm16-prfsha256-x25519-ke1_mlkem768";
/// How long a burst of set-ups may take before the run counts as failed.
pub(crate) const BURST_LIMIT: Duration = Duration::from_secs(90);
/// First UDP port of the per-SA selectors in the set-up bursts.
pub(crate) const PORT_BASE: u32 = 20000;

pub(crate) struct Opts {
    pub(crate) bin_dir: PathBuf,
    pub(crate) out: PathBuf,
    pub(crate) sizes: Vec<usize>,
    pub(crate) reps: usize,
    pub(crate) up_reps: usize,
    pub(crate) seconds: u32,
    pub(crate) runs: usize,
    /// Garbage datagrams per second of the flood part.
    pub(crate) flood_rate: u64,
    pub(crate) parts: Vec<String>,
}

pub(crate) fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Opts {
    pub(crate) fn from_env() -> anyhow::Result<Opts> {
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
            if !["setup", "setup-pq", "up", "throughput", "flood"].contains(&p.as_str()) {
                bail!("unknown part `{p}` (setup, setup-pq, up, throughput, flood)");
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

    pub(crate) fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    pub(crate) fn wants(&self, part: &str) -> bool {
        self.parts.iter().any(|p| p == part)
    }
}

pub(crate) fn say(s: &str) {
    eprintln!("{s}");
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
    let setups = if opts.wants("setup") || opts.wants("setup-pq") {
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
