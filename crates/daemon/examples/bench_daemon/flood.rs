//! The same tunnel with and without a bounded flood of garbage datagrams.

use super::*;

/// The flooder's address, on a link of its own to the responder.
pub(crate) const FLOOD_SRC: &str = "192.0.2.200";

/// A third namespace (`PREFIX-f`) with a veth to the right side's: the
/// flooder is neither peer, as an attacker on the Internet is not.
pub(crate) fn flooder_ns(topo: &Topology) -> anyhow::Result<Netns> {
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
pub(crate) struct Flood {
    pub(crate) stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(crate) thread: std::thread::JoinHandle<std::io::Result<(u64, f64)>>,
}

impl Flood {
    /// Sends garbage to `dst` at `rate` datagrams per second, for at most
    /// `limit` and `rate × limit` datagrams, until stopped. Five kinds in
    /// turn: forged-SPI ESP of 1,400 bytes and 300 bytes of junk behind the
    /// non-ESP marker (port 4500), 300 bytes of junk and 7-byte runts (port
    /// 500), and 8,000-byte datagrams (fragmented on the 1,500-byte link).
    pub(crate) fn start(ns: &Netns, dst: std::net::IpAddr, rate: u64, limit: Duration) -> Flood {
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
    pub(crate) fn stop(self) -> anyhow::Result<(u64, f64)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the flood thread panicked"))?
            .context("flood")
    }
}

/// Throughput of one yadokari ⇄ yadokari tunnel (ESP in UDP) without and
/// then with a garbage flood against the responder, same tunnel, same run.
pub(crate) fn run_flood(opts: &Opts, raw: &Path) -> anyhow::Result<Series<(f64, f64)>> {
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
