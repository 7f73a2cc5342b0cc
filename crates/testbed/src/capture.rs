//! Packet captures with tcpdump inside a namespace.
//!
//! `--immediate-mode -U` make tcpdump hand every packet to the file as it
//! arrives: without them a capture stopped right after the traffic can
//! come out empty ("N packets received by filter, 0 captured"). `-Z root`
//! keeps tcpdump from dropping to a user that cannot write the file.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::netns::{signal, wait_until, Netns};

/// A running tcpdump writing a pcap file.
pub struct Capture {
    child: Option<Child>,
    pcap: PathBuf,
    stderr: PathBuf,
}

impl Capture {
    /// Starts `tcpdump -i iface` in `ns` writing to `pcap`, with an optional
    /// BPF `filter` (e.g. `udp port 500 or udp port 4500`), and waits (5 s at
    /// most) until it listens. `iface` may be `any` (Linux cooked capture,
    /// LINUX_SLL2).
    pub fn start(ns: &Netns, iface: &str, pcap: &Path, filter: Option<&str>) -> Result<Capture> {
        let stderr = pcap.with_extension("tcpdump.txt");
        let err = fs::File::create(&stderr)?;
        let mut cmd = ns.command("tcpdump");
        cmd.args(["-i", iface, "-U", "--immediate-mode", "-Z", "root", "-w"])
            .arg(pcap);
        if let Some(f) = filter {
            cmd.arg(f);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(err);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().context("spawn tcpdump")?;
        let mut cap = Capture {
            child: Some(child),
            pcap: pcap.to_owned(),
            stderr,
        };
        let listening = wait_until(Duration::from_secs(5), || {
            fs::read_to_string(&cap.stderr).is_ok_and(|s| s.contains("listening on"))
        });
        if !listening {
            let msg = fs::read_to_string(&cap.stderr).unwrap_or_default();
            cap.stop_inner();
            bail!("tcpdump on {iface} in {} did not start: {msg}", ns.name());
        }
        Ok(cap)
    }

    /// The pcap file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.pcap
    }

    fn stop_inner(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGINT makes tcpdump flush and write its statistics.
            signal(&[child.id()], "INT");
            if !wait_until(Duration::from_secs(5), || {
                !matches!(child.try_wait(), Ok(None))
            }) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Stops tcpdump and returns the number of packets it captured.
    pub fn stop(mut self) -> Result<u64> {
        self.stop_inner();
        let text = fs::read_to_string(&self.stderr).unwrap_or_default();
        let captured = text
            .lines()
            .find_map(|l| {
                l.strip_suffix(" packets captured")
                    .or_else(|| l.strip_suffix(" packet captured"))
            })
            .and_then(|n| n.trim().parse().ok())
            .with_context(|| format!("tcpdump statistics missing: {text}"))?;
        Ok(captured)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
