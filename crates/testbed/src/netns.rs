//! Network namespaces owned by a test: uniquely named, removed on drop
//! (after killing whatever still runs inside), even when the test panics.
//!
//! Everything goes through `ip netns` / `ip -n`, so nothing here needs
//! unsafe code; the price is one process per operation, which is fine for
//! set-up and tear-down.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A prefix unique to this process and call: up to 6 characters of
/// `test_name` (lowercase letters and digits only), the PID and a
/// per-process counter, e.g. `ykping-4711-3`. Appending `-l`/`-r`/`-n`
/// keeps namespace names at most 23 characters; interface names inside
/// the namespaces are fixed and short, so they never hit IFNAMSIZ.
#[must_use]
pub fn unique_prefix(test_name: &str) -> String {
    let short: String = test_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(6)
        .collect();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("yk{short}-{}-{n}", std::process::id())
}

/// Runs `cmd`, returning its output; fails (with stderr in the message)
/// when it cannot be started or exits non-zero.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("spawn {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
    Ok(out)
}

/// Runs `program args...` and returns stdout as text (see [`run`]).
pub fn run_args(program: &str, args: &[&str]) -> Result<String> {
    let out = run(Command::new(program).args(args))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Polls `check` every 50 ms until it returns true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One network namespace, deleted on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace `name` (fails if it exists), with loopback up,
    /// IPv6 enabled without DAD and rp_filter off, so addresses are usable
    /// at once and packets from a TUN with remote sources are accepted.
    pub fn create(name: &str) -> Result<Netns> {
        if Path::new("/run/netns").join(name).exists() {
            bail!("network namespace {name} already exists");
        }
        run_args("ip", &["netns", "add", name])?;
        let ns = Netns {
            name: name.to_owned(),
        };
        ns.sysctl(&[
            "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
            "net.ipv6.conf.all.dad_transmits=0",
            "net.ipv6.conf.default.dad_transmits=0",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ])?;
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name (for `ip netns exec NAME`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `Command` that runs `program` inside the namespace.
    #[must_use]
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `args[0] args[1..]` inside the namespace and returns its output
    /// whatever the exit status.
    pub fn exec(&self, args: &[&str]) -> Result<Output> {
        let (program, rest) = args.split_first().context("exec: empty command")?;
        let mut c = self.command(program);
        c.args(rest).stdin(Stdio::null());
        c.output().with_context(|| format!("spawn {c:?}"))
    }

    /// Runs a command inside the namespace; fails on a non-zero exit.
    /// Returns stdout.
    pub fn run(&self, args: &[&str]) -> Result<String> {
        let (program, rest) = args.split_first().context("run: empty command")?;
        let out = run(self.command(program).args(rest))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `ip -n NAME args...`; fails on a non-zero exit.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut full = vec!["-n", self.name.as_str()];
        full.extend_from_slice(args);
        run_args("ip", &full)
    }

    /// Sets sysctls (`key=value`) inside the namespace.
    pub fn sysctl(&self, settings: &[&str]) -> Result<()> {
        let mut args = vec!["sysctl", "-qw"];
        args.extend_from_slice(settings);
        self.run(&args).map(drop)
    }

    /// Brings `dev` up with DAD and rp_filter off for it.
    pub fn link_up(&self, dev: &str) -> Result<()> {
        let dad = format!("net.ipv6.conf.{dev}.accept_dad=0");
        let tx = format!("net.ipv6.conf.{dev}.dad_transmits=0");
        let rp = format!("net.ipv4.conf.{dev}.rp_filter=0");
        self.sysctl(&[&dad, &tx, &rp])?;
        self.ip(&["link", "set", dev, "up"]).map(drop)
    }

    /// Adds `cidr` to `dev` (IPv6 with `nodad`, so it is usable at once).
    pub fn add_addr(&self, dev: &str, cidr: &str) -> Result<()> {
        if cidr.contains(':') {
            self.ip(&["-6", "addr", "add", cidr, "dev", dev, "nodad"])
                .map(drop)
        } else {
            self.ip(&["-4", "addr", "add", cidr, "dev", dev]).map(drop)
        }
    }

    /// A counter of the namespace's `/proc/net/snmp` (or `snmp6` for
    /// fields such as `Udp6RcvbufErrors`), e.g. `("Udp", "RcvbufErrors")`:
    /// datagrams the kernel dropped because a socket's buffer was full.
    pub fn snmp_counter(&self, proto: &str, field: &str) -> Result<u64> {
        let text = self.run(&["cat", "/proc/net/snmp", "/proc/net/snmp6"])?;
        parse_snmp(&text, proto, field)
            .with_context(|| format!("no {proto} {field} in /proc/net/snmp of {}", self.name))
    }

    /// PIDs of processes whose network namespace is this one.
    #[must_use]
    pub fn pids(&self) -> Vec<u32> {
        Command::new("ip")
            .args(["netns", "pids", &self.name])
            .stderr(Stdio::null())
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sends TERM to everything inside, waits up to 2 s, then KILLs what is
    /// left. Only PIDs that `ip netns pids` reports for this namespace are
    /// touched.
    pub fn kill_all(&self) {
        let pids = self.pids();
        if pids.is_empty() {
            return;
        }
        signal(&pids, "TERM");
        if !wait_until(Duration::from_secs(2), || self.pids().is_empty()) {
            signal(&self.pids(), "KILL");
            wait_until(Duration::from_secs(2), || self.pids().is_empty());
        }
    }
}

/// Finds `field` of `proto` in the text of `/proc/net/snmp` (a header
/// line `Proto: names...` followed by `Proto: values...`) or of
/// `/proc/net/snmp6` (one `NameValue` pair per line, where `proto` is
/// ignored and `field` is the whole name).
#[must_use]
pub fn parse_snmp(text: &str, proto: &str, field: &str) -> Option<u64> {
    let prefix = format!("{proto}:");
    let mut lines = text.lines().filter(|l| l.starts_with(&prefix));
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        let names = names[prefix.len()..].split_whitespace();
        let values = values[prefix.len()..].split_whitespace();
        if let Some((_, v)) = names.zip(values).find(|(n, _)| *n == field) {
            return v.parse().ok();
        }
    }
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some(field))
            .then(|| it.next().and_then(|v| v.parse().ok()))
            .flatten()
    })
}

/// Sends `sig` (a name such as `TERM`) to `pids` with kill(1).
pub fn signal(pids: &[u32], sig: &str) {
    if pids.is_empty() {
        return;
    }
    let mut c = Command::new("kill");
    c.arg(format!("-{sig}"));
    for p in pids {
        c.arg(p.to_string());
    }
    let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// Whether a namespace of that name exists.
#[must_use]
pub fn exists(name: &str) -> bool {
    Path::new("/run/netns").join(name).exists()
}

impl Drop for Netns {
    fn drop(&mut self) {
        self.kill_all();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Creates a veth pair `ifa` (in `a`) ⇄ `ifb` (in `b`, which may be `a`),
/// made directly inside the namespaces so nothing appears in the root
/// namespace, and brings both ends up.
pub fn veth(a: &Netns, ifa: &str, b: &Netns, ifb: &str) -> Result<()> {
    a.ip(&[
        "link", "add", ifa, "type", "veth", "peer", "name", ifb, "netns", &b.name,
    ])?;
    a.link_up(ifa)?;
    b.link_up(ifb)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP: &str = "\
Ip: Forwarding DefaultTTL InReceives
Ip: 2 64 123
Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
Udp: 127 0 45 129 44 0
UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors
UdpLite: 0 0 0 0 0 0
Udp6InDatagrams                 \t17
Udp6RcvbufErrors                 \t3
";

    #[test]
    fn parse_snmp_fields() {
        assert_eq!(parse_snmp(SNMP, "Udp", "RcvbufErrors"), Some(44));
        assert_eq!(parse_snmp(SNMP, "Udp", "InDatagrams"), Some(127));
        assert_eq!(parse_snmp(SNMP, "UdpLite", "RcvbufErrors"), Some(0));
        assert_eq!(parse_snmp(SNMP, "Ip", "InReceives"), Some(123));
        assert_eq!(parse_snmp(SNMP, "Udp6", "Udp6RcvbufErrors"), Some(3));
        assert_eq!(parse_snmp(SNMP, "Udp", "NoSuchField"), None);
        assert_eq!(parse_snmp(SNMP, "Tcp", "RcvbufErrors"), None);
        assert_eq!(parse_snmp("", "Udp", "RcvbufErrors"), None);
        // a header without its value line
        assert_eq!(
            parse_snmp("Udp: RcvbufErrors\n", "Udp", "RcvbufErrors"),
            None
        );
    }
}
