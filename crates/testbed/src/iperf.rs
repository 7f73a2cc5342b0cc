//! Bounded iperf3 UDP streams between two namespaces, and the parsing of
//! iperf3's `--json` report into sent/lost datagram counts.
//!
//! Used to measure what a tunnel loses while something happens to it (a
//! CHILD SA or IKE SA rekey per RFC 7296 §2.8 and §1.3.2–1.3.3, a garbage
//! flood): the server runs in one namespace with `--one-off`, the client in
//! the other, both bound to the inner (site) addresses so the datagrams
//! match the tunnel's traffic selectors. iperf3 numbers every datagram, so
//! the receiver counts the gaps; with `--bidir` both directions are counted.
//!
//! Everything is bounded: the server exits after one client (or after an
//! idle timeout if none comes), the client is killed if it overruns its
//! duration by more than [`UdpStream::grace`], and both die with their
//! namespace.

use std::fmt;
use std::net::IpAddr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::netns::{wait_until, Netns};

/// The port the helpers use unless told otherwise (iperf3's default).
pub const DEFAULT_PORT: u16 = 5201;

/// What stream to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpStream {
    /// Target rate per direction, bits per second.
    pub bitrate: u64,
    /// How long the client sends.
    pub duration: Duration,
    /// Datagram payload length (bytes); keep it under the tunnel's MTU so
    /// no datagram is fragmented inside the tunnel.
    pub length: usize,
    /// Server (control and data) port.
    pub port: u16,
    /// Also send from the server to the client (`--bidir`).
    pub bidir: bool,
    /// How long past `duration` the client may take before it is killed
    /// (connection set-up and the final exchange of results).
    pub grace: Duration,
}

impl Default for UdpStream {
    /// 20 Mbit/s, 8 s, 1200-byte datagrams, one direction.
    fn default() -> Self {
        UdpStream {
            bitrate: 20_000_000,
            duration: Duration::from_secs(8),
            length: 1200,
            port: DEFAULT_PORT,
            bidir: false,
            grace: Duration::from_secs(15),
        }
    }
}

impl UdpStream {
    /// Whole seconds to send (iperf3 takes no fractions; at least 1).
    #[must_use]
    pub fn seconds(&self) -> u64 {
        self.duration.as_secs().max(1)
    }

    /// `iperf3 UDP 20 Mbit/s, 8 s` (plus `, both ways` with `bidir`).
    #[must_use]
    pub fn describe(&self) -> String {
        let rate = if self.bitrate % 1_000_000 == 0 {
            format!("{} Mbit/s", self.bitrate / 1_000_000)
        } else {
            format!("{} kbit/s", self.bitrate / 1000)
        };
        format!(
            "iperf3 UDP {rate}, {} s{}",
            self.seconds(),
            if self.bidir { ", both ways" } else { "" }
        )
    }
}

/// An `iperf3 --server --one-off` inside a namespace; killed on drop.
#[derive(Debug)]
pub struct IperfServer {
    child: Child,
}

impl IperfServer {
    /// Starts a server bound to `bind` (an address in `ns`) on `port` and
    /// waits (up to 5 s) until it listens. It exits after one client, or
    /// after 60 s if no client comes.
    pub fn start(ns: &Netns, bind: IpAddr, port: u16) -> Result<IperfServer> {
        let child = ns
            .command("iperf3")
            .args(["--server", "--one-off", "--idle-timeout", "60"])
            .args(["--bind", &bind.to_string()])
            .args(["--port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn iperf3 server")?;
        let mut server = IperfServer { child };
        let wanted = format!(":{port}");
        let listening = wait_until(Duration::from_secs(5), || {
            ns.run(&["ss", "-Hltn"])
                .is_ok_and(|out| out.lines().any(|l| l.contains(&wanted)))
        });
        if !listening {
            let status = server.child.try_wait().ok().flatten();
            bail!(
                "iperf3 server in {} not listening on {port} after 5 s (exit: {status:?})",
                ns.name()
            );
        }
        Ok(server)
    }
}

impl Drop for IperfServer {
    fn drop(&mut self) {
        // `ip netns exec` execs iperf3, so this PID is the server itself.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running iperf3 client; [`UdpClient::finish`] waits for its report.
/// Killed on drop if still running.
#[derive(Debug)]
pub struct UdpClient {
    child: Child,
    out: tempfile::NamedTempFile,
    started: Instant,
    deadline: Instant,
}

impl UdpClient {
    /// Starts sending `stream` from `from` (an address in `ns`) to the
    /// server at `to`, in the background.
    pub fn spawn(ns: &Netns, from: IpAddr, to: IpAddr, stream: &UdpStream) -> Result<UdpClient> {
        let out = tempfile::Builder::new()
            .prefix("yk-iperf-")
            .suffix(".json")
            .tempfile()
            .context("iperf3 output file")?;
        let mut cmd = ns.command("iperf3");
        cmd.args(["--client", &to.to_string()])
            .args(["--bind", &from.to_string()])
            .args(["--port", &stream.port.to_string()])
            .arg("--udp")
            .args(["--bitrate", &stream.bitrate.to_string()])
            .args(["--length", &stream.length.to_string()])
            .args(["--time", &stream.seconds().to_string()])
            .args(["--connect-timeout", "10000"])
            .arg("--json");
        if stream.bidir {
            cmd.arg("--bidir");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.reopen().context("reopen iperf3 output file")?)
            .stderr(Stdio::null())
            .spawn()
            .context("spawn iperf3 client")?;
        let started = Instant::now();
        Ok(UdpClient {
            child,
            out,
            started,
            deadline: started + stream.duration + stream.grace,
        })
    }

    /// Time since the client was started.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Whether the client has exited.
    pub fn is_done(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the client (killing it past its deadline) and parses its
    /// report.
    pub fn finish(mut self) -> Result<UdpReport> {
        loop {
            if self.child.try_wait().context("wait for iperf3")?.is_some() {
                break;
            }
            if Instant::now() >= self.deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("iperf3 client overran its duration; killed");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let text = std::fs::read_to_string(self.out.path()).context("read iperf3 output")?;
        parse_udp_report(&text)
    }
}

impl Drop for UdpClient {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Datagram counts of one direction, as the receiver saw them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UdpCounts {
    /// Datagrams the sender sent.
    pub sent: u64,
    /// Datagrams the receiver expected (highest sequence number seen).
    pub packets: u64,
    /// Datagrams missing at the receiver (gaps in the sequence numbers).
    pub lost: u64,
    /// Seconds the receiver measured.
    pub seconds: f64,
    /// Received bits per second.
    pub bits_per_second: f64,
}

impl UdpCounts {
    /// Lost datagrams as a percentage of those expected (0 if none were).
    #[must_use]
    pub fn lost_percent(&self) -> f64 {
        if self.packets == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.packets as f64
        }
    }
}

impl fmt::Display for UdpCounts {
    /// `lost 3/16600 (0.02%)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "lost {}/{} ({:.2}%)",
            self.lost,
            self.packets,
            self.lost_percent()
        )
    }
}

/// What an iperf3 UDP client reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UdpReport {
    /// Client → server.
    pub forward: UdpCounts,
    /// Server → client (with `--bidir` only).
    pub reverse: Option<UdpCounts>,
}

impl UdpReport {
    /// The larger loss percentage of the directions measured.
    #[must_use]
    pub fn worst_lost_percent(&self) -> f64 {
        self.reverse
            .map_or(0.0, |r| r.lost_percent())
            .max(self.forward.lost_percent())
    }

    /// Datagrams received over all directions (expected minus lost).
    #[must_use]
    pub fn received(&self) -> u64 {
        let one = |c: &UdpCounts| c.packets.saturating_sub(c.lost);
        one(&self.forward) + self.reverse.as_ref().map_or(0, one)
    }
}

impl fmt::Display for UdpReport {
    /// `lost 3/16600 (0.02%)`, or `lost 3/8300 (0.04%) →, lost 0/8300
    /// (0.00%) ←` with both directions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reverse {
            None => write!(f, "{}", self.forward),
            Some(r) => write!(f, "{} →, {r} ←", self.forward),
        }
    }
}

/// Parses the `--json` output of an iperf3 UDP client.
///
/// The receiver's view comes from `end.sum_received` (iperf 3.10 and
/// later) or, in older versions, `end.sum`; the sender's count from
/// `end.sum_sent` when present. An `error` member (refused connection,
/// timeout) is returned as the error.
pub fn parse_udp_report(json: &str) -> Result<UdpReport> {
    let v: Value = serde_json::from_str(json).context("iperf3 output is not JSON")?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        bail!("iperf3: {e}");
    }
    let end = v.get("end").context("iperf3 output: no `end` object")?;
    let forward = counts(end, "sum_received", "sum_sent")
        .or_else(|_| counts(end, "sum", "sum_sent"))
        .context("iperf3 output: client → server")?;
    let reverse = if end.get("sum_received_bidir_reverse").is_some() {
        Some(
            counts(end, "sum_received_bidir_reverse", "sum_sent_bidir_reverse")
                .context("iperf3 output: server → client")?,
        )
    } else {
        None
    };
    Ok(UdpReport { forward, reverse })
}

fn counts(end: &Value, received: &str, sent: &str) -> Result<UdpCounts> {
    let r = end
        .get(received)
        .with_context(|| format!("no `end.{received}`"))?;
    let int = |o: &Value, k: &str| {
        o.get(k)
            .and_then(Value::as_u64)
            .with_context(|| format!("`{k}` missing or not a count"))
    };
    let float = |o: &Value, k: &str| o.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let packets = int(r, "packets").with_context(|| format!("end.{received}"))?;
    let lost = int(r, "lost_packets").with_context(|| format!("end.{received}"))?;
    if lost > packets {
        bail!("end.{received}: {lost} lost of {packets}");
    }
    let sent = match end.get(sent) {
        Some(s) => int(s, "packets").with_context(|| format!("end.{sent}"))?,
        None => packets,
    };
    Ok(UdpCounts {
        sent,
        packets,
        lost,
        seconds: float(r, "seconds"),
        bits_per_second: float(r, "bits_per_second"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `end` part of an iperf 3.12 client's report, one direction.
    const ONE_WAY: &str = r#"{
        "start": {"version": "iperf 3.12"},
        "intervals": [],
        "end": {
            "streams": [{"udp": {}}],
            "sum": {"seconds": 8.0, "bytes": 19920000, "bits_per_second": 19920000.0,
                    "jitter_ms": 0.01, "lost_packets": 0, "packets": 16600,
                    "lost_percent": 0, "sender": true},
            "sum_sent": {"seconds": 8.0, "bytes": 19920000, "bits_per_second": 19920000.0,
                    "jitter_ms": 0, "lost_packets": 0, "packets": 16600,
                    "lost_percent": 0, "sender": true},
            "sum_received": {"seconds": 8.001, "bytes": 19916400, "bits_per_second": 19914000.5,
                    "jitter_ms": 0.02, "lost_packets": 3, "packets": 16600,
                    "lost_percent": 0.018, "sender": false}
        }
    }"#;

    #[test]
    fn parse_one_way() {
        let r = parse_udp_report(ONE_WAY).unwrap();
        assert_eq!(r.forward.sent, 16600);
        assert_eq!(r.forward.packets, 16600);
        assert_eq!(r.forward.lost, 3);
        assert!((r.forward.seconds - 8.001).abs() < 1e-9);
        assert!(r.reverse.is_none());
        assert_eq!(r.received(), 16597);
        assert_eq!(r.to_string(), "lost 3/16600 (0.02%)");
        assert!((r.worst_lost_percent() - 3.0 * 100.0 / 16600.0).abs() < 1e-9);
    }

    #[test]
    fn parse_bidir() {
        let json = r#"{"end": {
            "sum_sent": {"packets": 1041, "lost_packets": 0},
            "sum_received": {"packets": 1041, "lost_packets": 0, "seconds": 1.0},
            "sum_sent_bidir_reverse": {"packets": 1042, "lost_packets": 0},
            "sum_received_bidir_reverse": {"packets": 1042, "lost_packets": 21, "seconds": 1.0}
        }}"#;
        let r = parse_udp_report(json).unwrap();
        assert_eq!(r.forward.lost, 0);
        let back = r.reverse.unwrap();
        assert_eq!((back.sent, back.packets, back.lost), (1042, 1042, 21));
        assert_eq!(r.received(), 1041 + 1021);
        assert_eq!(
            r.to_string(),
            "lost 0/1041 (0.00%) →, lost 21/1042 (2.02%) ←"
        );
        assert!((r.worst_lost_percent() - 2100.0 / 1042.0).abs() < 1e-9);
    }

    /// Before iperf 3.10 a UDP client had only `end.sum`, carrying the
    /// server's loss count.
    #[test]
    fn parse_old_sum_only() {
        let json = r#"{"end": {"sum": {"packets": 500, "lost_packets": 7}}}"#;
        let r = parse_udp_report(json).unwrap();
        assert_eq!(
            (r.forward.sent, r.forward.packets, r.forward.lost),
            (500, 500, 7)
        );
    }

    #[test]
    fn parse_error_member() {
        let json = r#"{"start": {"connected": []}, "intervals": [], "end": {},
                       "error": "unable to connect to server: Connection refused"}"#;
        let e = parse_udp_report(json).unwrap_err().to_string();
        assert!(e.contains("Connection refused"), "{e}");
    }

    #[test]
    fn parse_rejects_bad_reports() {
        assert!(parse_udp_report("").is_err());
        assert!(parse_udp_report("not json").is_err());
        assert!(parse_udp_report("{}").is_err());
        assert!(parse_udp_report(r#"{"end": {}}"#).is_err());
        // counts of the wrong type
        assert!(
            parse_udp_report(r#"{"end": {"sum": {"packets": "5", "lost_packets": 0}}}"#).is_err()
        );
        assert!(
            parse_udp_report(r#"{"end": {"sum": {"packets": -1, "lost_packets": 0}}}"#).is_err()
        );
        // more lost than expected is not a report to trust
        assert!(
            parse_udp_report(r#"{"end": {"sum": {"packets": 5, "lost_packets": 6}}}"#).is_err()
        );
    }

    #[test]
    fn describe_stream() {
        assert_eq!(UdpStream::default().describe(), "iperf3 UDP 20 Mbit/s, 8 s");
        let s = UdpStream {
            bitrate: 500_000,
            duration: Duration::from_millis(2500),
            bidir: true,
            ..UdpStream::default()
        };
        assert_eq!(s.describe(), "iperf3 UDP 500 kbit/s, 2 s, both ways");
    }
}
