//! A flood of garbage datagrams to yadokarid's UDP port 4500 while the
//! tunnel carries traffic and is rekeyed: the tunnel must keep passing
//! traffic, and a CHILD SA rekey and an IKE SA rekey (RFC 7296 §1.3.2,
//! §1.3.3, §2.8) must complete while the flood is still running.
//!
//! yadokarid runs as the responder against strongSwan (charon with
//! kernel-libipsec) in network namespaces, strongSwan starts the rekeys over
//! VICI so they happen at known moments. The garbage comes from the
//! strongSwan namespace (same address as the peer, another port: what an
//! off-path attacker who spoofs the peer's address can do) and mixes what
//! a receiver has to tell apart from real traffic (RFC 3948 §2.2, RFC 4303
//! §3.4.3–3.4.4, RFC 7296 §2.5 and §3.14):
//!
//! - ESP with random SPIs (no such SA),
//! - ESP with the live inbound SPI and random sequence numbers: an ICV
//!   that fails, so the replay window must not move, or the real packets
//!   that follow would be dropped as replays,
//! - IKE with the live IKE SPIs, random message IDs and an SK payload that
//!   fails its integrity check: it must be dropped without a reply and
//!   without touching the message-ID window,
//! - IKE-marked junk (truncated and nonsense headers) and one-byte junk.
//!
//! Bounded in count, rate of one thread and time. The daemon's drop
//! counters are not in the control API (`list-sas` shows per-SA counters
//! only), so the test checks that the garbage did not count as traffic
//! rather than reading a drop counter.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use yadokari_control::IkeSaInfo;
use yadokari_testbed::netns::wait_until;
use yadokari_testbed::yadokarid::TunnelConfig;
use yadokari_testbed::{
    site_to_site, skip_unless_testbed, CharonOptions, Family, IperfServer, Side, StrongSwan,
    Topology, UdpClient, UdpStream, Yadokarid,
};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

/// At most this many garbage datagrams per flood.
const FLOOD_MAX_DATAGRAMS: u64 = 3_000_000;
/// At most this long per flood.
const FLOOD_MAX_TIME: Duration = Duration::from_secs(12);

/// The IKE and ESP SPIs the flood aims at; updated as rekeys replace them.
#[derive(Default)]
struct Targets {
    esp_spi: AtomicU32,
    ispi: AtomicU64,
    rspi: AtomicU64,
}

impl Targets {
    fn set(&self, sas: &[IkeSaInfo]) {
        let Some(sa) = sas.iter().find(|sa| !sa.children.is_empty()) else {
            return;
        };
        let hex64 = |s: &str| u64::from_str_radix(s, 16).unwrap_or(0);
        self.ispi.store(hex64(&sa.ispi), Ordering::Relaxed);
        self.rspi.store(hex64(&sa.rspi), Ordering::Relaxed);
        let spi = u32::from_str_radix(&sa.children[0].spi_in, 16).unwrap_or(0);
        self.esp_spi.store(spi, Ordering::Relaxed);
    }
}

/// xorshift64*: fast, seeded, good enough to make garbage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let r = self.next().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
    }
}

/// The kinds of garbage, in the order of [`FloodReport::by_kind`].
const KINDS: [&str; 5] = [
    "esp random spi",
    "esp live spi, bad icv",
    "ike live spis, bad integrity",
    "ike junk",
    "short junk",
];

/// Writes one garbage datagram of `kind` into `buf`; returns its length.
fn craft(rng: &mut Rng, kind: usize, t: &Targets, buf: &mut [u8; 1400]) -> usize {
    match kind {
        0 => {
            let len = 8 + rng.below(1392) as usize;
            rng.fill(&mut buf[..len]);
            // A zero SPI is the non-ESP marker (IKE), not ESP.
            let spi = (rng.next() as u32).max(1);
            buf[..4].copy_from_slice(&spi.to_be_bytes());
            len
        }
        1 => {
            // SPI, sequence number, an IV-and-ciphertext-sized body and a
            // 16-byte ICV, all but the SPI random.
            let len = 8 + 8 + 16 + 16 + rng.below(1300) as usize;
            rng.fill(&mut buf[..len]);
            buf[..4].copy_from_slice(&t.esp_spi.load(Ordering::Relaxed).max(1).to_be_bytes());
            len
        }
        2 => {
            // Non-ESP marker, IKE header with the live SPIs, an SK payload.
            let len = 4 + 28 + 4 + 16 + 16 + rng.below(600) as usize;
            rng.fill(&mut buf[..len]);
            buf[..4].copy_from_slice(&[0; 4]);
            buf[4..12].copy_from_slice(&t.ispi.load(Ordering::Relaxed).to_be_bytes());
            buf[12..20].copy_from_slice(&t.rspi.load(Ordering::Relaxed).to_be_bytes());
            buf[20] = 46; // next payload: SK
            buf[21] = 0x20; // version 2.0
            buf[22] = if rng.below(2) == 0 { 36 } else { 37 }; // CREATE_CHILD_SA, INFORMATIONAL
                                                               // Initiator or responder, request or response.
            buf[23] = [0x00, 0x08, 0x20, 0x28][rng.below(4) as usize];
            // bytes 24..28: random message ID
            let ike_len = (len - 4) as u32;
            buf[28..32].copy_from_slice(&ike_len.to_be_bytes());
            buf[32] = 0; // SK: next payload none
            buf[33] = 0;
            buf[34..36].copy_from_slice(&((len - 32) as u16).to_be_bytes());
            len
        }
        3 => {
            let len = 4 + rng.below(200) as usize;
            rng.fill(&mut buf[..len]);
            buf[..4].copy_from_slice(&[0; 4]);
            len
        }
        _ => {
            let len = 1 + rng.below(7) as usize;
            rng.fill(&mut buf[..len]);
            len
        }
    }
}

#[derive(Debug, Default)]
struct FloodReport {
    sent: u64,
    send_errors: u64,
    by_kind: [u64; KINDS.len()],
    elapsed: Duration,
    /// Whether it ended because it was told to (not on its own bounds).
    stopped: bool,
}

/// A garbage flood from one thread until told to stop, or its bounds.
struct Flood {
    stop: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
    handle: Option<JoinHandle<FloodReport>>,
}

impl Flood {
    /// Starts sending from a socket in namespace `ns` to `to`.
    fn start(ns: &str, from: IpAddr, to: SocketAddr, targets: Arc<Targets>, seed: u64) -> Flood {
        let sock = yadokari_sys::netns::run_in(ns, move || UdpSocket::bind((from, 0)))
            .expect("flood socket in the namespace");
        let stop = Arc::new(AtomicBool::new(false));
        let running = Arc::new(AtomicBool::new(true));
        let (s, r) = (stop.clone(), running.clone());
        let handle = std::thread::spawn(move || {
            let mut rng = Rng(seed.max(1));
            let mut buf = [0u8; 1400];
            let mut rep = FloodReport::default();
            let t0 = Instant::now();
            while rep.sent < FLOOD_MAX_DATAGRAMS {
                // Reading the clock and the flag every datagram would cost
                // more than making the datagram.
                if rep.sent % 256 == 0 {
                    if s.load(Ordering::Relaxed) {
                        rep.stopped = true;
                        break;
                    }
                    if t0.elapsed() >= FLOOD_MAX_TIME {
                        break;
                    }
                }
                let kind = rng.below(KINDS.len() as u64) as usize;
                let len = craft(&mut rng, kind, &targets, &mut buf);
                rep.sent += 1;
                rep.by_kind[kind] += 1;
                if sock.send_to(&buf[..len], to).is_err() {
                    rep.send_errors += 1;
                }
            }
            rep.elapsed = t0.elapsed();
            r.store(false, Ordering::Relaxed);
            rep
        });
        Flood {
            stop,
            running,
            handle: Some(handle),
        }
    }

    fn running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }

    fn finish(mut self) -> FloodReport {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .expect("finish once")
            .join()
            .expect("flood thread")
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The floods of this file run one at a time: two at once on a two-core
/// machine measure the machine, not the daemon.
static ONE_FLOOD_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    // A test that failed while holding the lock must not fail the others.
    ONE_FLOOD_AT_A_TIME
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Most of the stream the flood may cost, per direction, in percent, when
/// the kernel dropped nothing for a full socket buffer in yadokari's
/// namespace. Measured loss is 0 % on a quiet machine; the bound leaves
/// room for a machine busy with other work (iperf3 itself and charon lose
/// datagrams when starved of CPU), since what is tested is that the tunnel
/// keeps carrying the stream and the rekeys complete.
const FLOOD_MAX_LOSS_PERCENT: f64 = 5.0;

/// The bound when the kernel did drop datagrams for a full buffer: the
/// flood (~100 k datagrams/s from one thread) can outrun a daemon that
/// shares two cores with it, charon and iperf3, and then ESP and garbage
/// are dropped alike before the daemon sees them. Which datagrams were
/// dropped is then up to the kernel, so the bound only says the tunnel
/// kept carrying most of the stream.
const FLOOD_MAX_LOSS_PERCENT_SATURATED: f64 = 25.0;

fn yadokari_config(topo: &Topology, yk_initiates: bool, extra: &str) -> String {
    let (me, peer) = (topo.addrs(Side::Right), topo.addrs(Side::Left));
    TunnelConfig {
        side: Side::Right,
        family: Family::V4,
        ifname: "ykt0",
        name: "yk",
        initiate: yk_initiates,
        // charon, flooded with forged IKE on live SPIs that it must check
        // one by one, can take over 2 s to answer a Delete; running out of
        // retransmissions then declares it dead, which is not what these
        // tests are about.
        daemon: "retransmit_timeout = \"8s\"",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = \"aes256gcm16-prfsha256-x25519\"\nesp = \"aes256gcm16\"\nencap = true\n{extra}",
            me.net4, peer.net4
        ),
    }
    .render(topo)
}

fn child_spis(sas: &[IkeSaInfo]) -> Vec<String> {
    sas.iter()
        .flat_map(|sa| &sa.children)
        .map(|c| c.spi_in.clone())
        .collect()
}

/// strongSwan on the left, yadokarid on the right, one tunnel up.
struct Bed {
    // Fields drop in this order: the daemons before their namespaces.
    yk: Yadokarid,
    swan: StrongSwan,
    topo: Topology,
    /// yadokari's SAs once the tunnel was up.
    before: Vec<IkeSaInfo>,
    targets: Arc<Targets>,
}

impl Bed {
    fn up(name: &str, yk_initiates: bool, extra: &str) -> Bed {
        let topo = Topology::direct(name).unwrap();
        let conf = site_to_site(&topo, Side::Left, Family::V4, &[Family::V4])
            .with_proposals("aes256gcm16-prfsha256-x25519", "aes256gcm16");
        let swan = StrongSwan::start(
            topo.ns(Side::Left),
            "left",
            &conf,
            &CharonOptions::default(),
        )
        .unwrap();
        let config = yadokari_config(&topo, yk_initiates, extra);
        let yk = Yadokarid::start(topo.ns(Side::Right), BIN, "right", &config).unwrap();
        if !yk_initiates {
            swan.initiate(yadokari_testbed::swanctl_conf::child_name(Family::V4))
                .expect("strongSwan initiates");
        }
        let child_up = |sas: &[IkeSaInfo]| sas.iter().any(|sa| !sa.children.is_empty());
        assert!(
            yk.wait(Duration::from_secs(20), child_up),
            "no CHILD SA:\n{}",
            yk.log()
        );
        assert!(
            topo.ping(Side::Left, topo.addrs(Side::Right).site4)
                .unwrap(),
            "no traffic before the flood"
        );
        let before = yk.sas().unwrap();
        let targets = Arc::new(Targets::default());
        targets.set(&before);
        Bed {
            yk,
            swan,
            topo,
            before,
            targets,
        }
    }

    /// Starts a 10 Mbit/s iperf3 stream both ways for 6 s, and half a
    /// second later the flood.
    fn load(&self) -> Load {
        let right = self.topo.addrs(Side::Right);
        let left = self.topo.addrs(Side::Left);
        let spec = UdpStream {
            bitrate: 10_000_000,
            duration: Duration::from_secs(6),
            bidir: true,
            ..UdpStream::default()
        };
        let server = IperfServer::start(self.topo.ns(Side::Right), right.site4, spec.port).unwrap();
        let client =
            UdpClient::spawn(self.topo.ns(Side::Left), left.site4, right.site4, &spec).unwrap();
        let rcvbuf_before = self
            .topo
            .right
            .snmp_counter("Udp", "RcvbufErrors")
            .expect("Udp RcvbufErrors");
        let t0 = Instant::now();
        sleep_until(t0, Duration::from_millis(500));
        let seed = (u64::from(std::process::id()) << 16) ^ 0x5eed;
        let flood = Flood::start(
            self.topo.left.name(),
            left.outer4,
            SocketAddr::new(right.outer4, 4500),
            self.targets.clone(),
            seed,
        );
        Load {
            flood,
            client,
            _server: server,
            spec,
            t0,
            seed,
            ns: self.topo.right.name().to_owned(),
            rcvbuf_before,
        }
    }

    /// After the flood: both sides agree on SAs that replaced the first
    /// ones, traffic flows both ways, and the forged ESP aimed at the live
    /// CHILD SA was not counted as its traffic.
    fn check_after(&self, flood: &FloodReport) {
        let (yk, swan) = (&self.yk, &self.swan);
        assert!(
            wait_until(Duration::from_secs(10), || sides_agree(swan, yk)),
            "the two sides disagree after the flood:\nyadokari: {:#?}\nstrongSwan: {:#?}\n{}",
            yk.sas(),
            swan.list_sas(),
            yk.log()
        );
        let (before, after) = (&self.before[0], &yk.sas().unwrap()[0]);
        assert_ne!(after.ispi, before.ispi);
        assert_ne!(after.rspi, before.rspi);
        assert_ne!(after.children[0].spi_in, before.children[0].spi_in);
        assert_ne!(after.children[0].spi_out, before.children[0].spi_out);
        let right = self.topo.addrs(Side::Right);
        let left = self.topo.addrs(Side::Left);
        assert!(
            self.topo.ping(Side::Left, right.site4).unwrap(),
            "no traffic left → right after the flood"
        );
        assert!(
            self.topo.ping(Side::Right, left.site4).unwrap(),
            "no traffic right → left after the flood"
        );
        // Had any forged ESP been accepted, yadokari would count more
        // packets in than strongSwan sent on the same SA. (The flood aimed
        // at the CHILD SA live at the time, the last one only once
        // yadokari's rekeys were seen; what it took counts either way.)
        let (ours, theirs) = (yk.sas().unwrap(), swan.list_sas().unwrap());
        let oc = &ours[0].children[0];
        let tc = theirs[0]
            .children
            .iter()
            .find(|c| c.state == "INSTALLED")
            .expect("strongSwan's CHILD SA");
        println!(
            "  CHILD SA {}: strongSwan sent {} packets, yadokari took {} ({} forged ESP datagrams aimed at live SPIs)",
            oc.spi_in, tc.packets_out, oc.packets_in, flood.by_kind[1]
        );
        assert!(
            oc.packets_in <= tc.packets_out,
            "yadokari counted {} packets in, strongSwan sent {}",
            oc.packets_in,
            tc.packets_out
        );
    }
}

/// The stream and the flood running together.
struct Load {
    flood: Flood,
    client: UdpClient,
    _server: IperfServer,
    spec: UdpStream,
    t0: Instant,
    seed: u64,
    /// yadokari's namespace, for its UDP socket-buffer drop counter.
    ns: String,
    rcvbuf_before: u64,
}

impl Load {
    /// Datagrams the kernel dropped in yadokari's namespace because a UDP
    /// socket's buffer was full (`/proc/net/snmp` Udp RcvbufErrors).
    fn rcvbuf_errors(ns: &str) -> u64 {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", ns, "cat", "/proc/net/snmp"])
            .output()
            .expect("read /proc/net/snmp");
        yadokari_testbed::netns::parse_snmp(
            &String::from_utf8_lossy(&out.stdout),
            "Udp",
            "RcvbufErrors",
        )
        .expect("Udp RcvbufErrors in /proc/net/snmp")
    }

    /// Ends the stream and the flood, prints what they did, and checks
    /// the stream's loss and that the flood was big enough to mean
    /// something.
    fn finish(self, label: &str, rekeys: &str) -> FloodReport {
        let Load {
            flood,
            client,
            _server,
            spec,
            seed,
            ns,
            rcvbuf_before,
            ..
        } = self;
        let report = client
            .finish()
            .unwrap_or_else(|e| panic!("{label}: no iperf3 report: {e:#}"));
        let flood = flood.finish();
        let rcvbuf_drops = Self::rcvbuf_errors(&ns) - rcvbuf_before;
        let secs = flood.elapsed.as_secs_f64();
        println!(
            "{label}: {}, {report} across {rekeys}, under a garbage flood of {} datagrams in {secs:.1} s ({:.0}/s from one thread, seed {:#x}, {} send errors; kernel dropped {} for full socket buffers)",
            spec.describe(),
            flood.sent,
            flood.sent as f64 / secs.max(0.001),
            seed,
            flood.send_errors,
            rcvbuf_drops,
        );
        println!(
            "  flood mix: {}",
            KINDS
                .iter()
                .zip(flood.by_kind)
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(
            flood.sent > 10_000,
            "too small a flood to mean anything: {flood:?}"
        );
        let bound = if rcvbuf_drops == 0 {
            FLOOD_MAX_LOSS_PERCENT
        } else {
            FLOOD_MAX_LOSS_PERCENT_SATURATED
        };
        assert!(
            report.received() > 0 && report.worst_lost_percent() <= bound,
            "{label}: the tunnel lost {report} (bound {bound} %)"
        );
        flood
    }
}

/// Whether both sides name the same SPIs for one IKE SA and one installed
/// CHILD SA.
fn sides_agree(swan: &StrongSwan, yk: &Yadokarid) -> bool {
    let (Ok(ours), Ok(theirs)) = (yk.sas(), swan.list_sas()) else {
        return false;
    };
    let ([o], [t]) = (ours.as_slice(), theirs.as_slice()) else {
        return false;
    };
    // charon keeps a rekeyed CHILD SA's inbound half for a few seconds
    // (state DELETED) so late packets still arrive.
    let installed: Vec<_> = t
        .children
        .iter()
        .filter(|c| c.state == "INSTALLED")
        .collect();
    let ([oc], [tc]) = (o.children.as_slice(), installed.as_slice()) else {
        return false;
    };
    o.ispi == format!("{:016x}", t.spi_i)
        && o.rspi == format!("{:016x}", t.spi_r)
        && oc.spi_in == format!("{:08x}", tc.spi_out)
        && oc.spi_out == format!("{:08x}", tc.spi_in)
}

/// Sleeps until `at` after `t0`.
fn sleep_until(t0: Instant, at: Duration) {
    std::thread::sleep(at.saturating_sub(t0.elapsed()));
}

/// strongSwan rekeys the CHILD SA, then the IKE SA, while garbage floods
/// yadokari's port 4500 and an iperf3 stream runs both ways; both rekeys
/// complete before the flood ends, and the tunnel carries traffic
/// throughout.
#[test]
fn flood_rekeys_started_by_strongswan() {
    skip_unless_testbed!();
    let _serial = one_at_a_time();
    let bed = Bed::up("flood_swan", false, "");
    let (swan, yk) = (&bed.swan, &bed.yk);
    let load = bed.load();
    let t0 = load.t0;

    sleep_until(t0, Duration::from_millis(2000));
    let first = child_spis(&bed.before);
    swan.rekey_child(yadokari_testbed::swanctl_conf::child_name(Family::V4))
        .unwrap();
    assert!(
        yk.wait(Duration::from_secs(15), |sas| child_spis(sas)
            .iter()
            .any(|s| !first.contains(s))),
        "CHILD SA not rekeyed under the flood:\n{}",
        yk.log()
    );
    let child_done = t0.elapsed();
    bed.targets.set(&yk.sas().unwrap());

    sleep_until(t0, Duration::from_millis(4000));
    swan.rekey_ike("yk").unwrap();
    assert!(
        yk.wait(Duration::from_secs(15), |sas| sas.iter().any(|sa| sa.ispi
            != bed.before[0].ispi
            && !sa.children.is_empty())),
        "IKE SA not rekeyed under the flood:\n{}",
        yk.log()
    );
    let ike_done = t0.elapsed();
    bed.targets.set(&yk.sas().unwrap());
    assert!(
        load.flood.running(),
        "the flood ended before the rekeys completed; raise its bounds"
    );
    let ping_during = bed
        .topo
        .ping(Side::Left, bed.topo.addrs(Side::Right).site4)
        .unwrap();
    let flood = load.finish(
        "flood-rekeys-by-strongswan",
        &format!(
            "1 CHILD rekey (done at {:.1} s) and 1 IKE rekey (done at {:.1} s)",
            child_done.as_secs_f64(),
            ike_done.as_secs_f64()
        ),
    );
    assert!(
        ping_during,
        "ping through the tunnel failed during the flood"
    );
    bed.check_after(&flood);
}

/// yadokari rekeys on its own short lifetimes, CHILD SA and IKE SA, while
/// the flood runs: its requests go out and the answers get through.
#[test]
fn flood_rekeys_started_by_yadokari() {
    skip_unless_testbed!();
    let _serial = one_at_a_time();
    // CHILD SA at ~2.7–3 s, IKE SA at ~3.6–4 s after the tunnel is up,
    // and again later; the flood starts about 1 s after it is up.
    // The hard lifetimes leave the rekeys time to finish while the flood
    // competes with them for the two cores (10 % of 3 s would be 0.3 s).
    let bed = Bed::up(
        "flood_yk",
        true,
        "rekey = \"3s\"\nlifetime = \"20s\"\nike_rekey = \"4s\"\nike_lifetime = \"20s\"\n",
    );
    let yk = &bed.yk;
    let load = bed.load();
    let (mut children, mut ikes) = (child_spis(&bed.before), vec![bed.before[0].ispi.clone()]);
    let mut both_during_flood = false;
    let deadline = load.t0 + load.spec.duration + load.spec.grace;
    while Instant::now() < deadline && load.flood.running() {
        let sas = yk.sas().unwrap();
        for spi in child_spis(&sas) {
            if !children.contains(&spi) {
                children.push(spi);
            }
        }
        for sa in sas.iter().filter(|sa| !sa.children.is_empty()) {
            if !ikes.contains(&sa.ispi) {
                ikes.push(sa.ispi.clone());
            }
        }
        bed.targets.set(&sas);
        if children.len() >= 2 && ikes.len() >= 2 {
            both_during_flood = true;
            if load.t0.elapsed() >= load.spec.duration {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let flood = load.finish(
        "flood-rekeys-by-yadokari",
        &format!(
            "{} CHILD rekeys and {} IKE rekeys",
            children.len() - 1,
            ikes.len() - 1
        ),
    );
    assert!(
        both_during_flood,
        "no CHILD and IKE rekey while the flood ran: CHILD SPIs {children:?}, IKE SPIs {ikes:?}\n{}",
        yk.log()
    );
    bed.check_after(&flood);
}
