//! The workers' real code against the in-memory fakes of [`crate::fake`]:
//! TUN super-packets split and sealed into GSO runs, GRO runs opened and
//! coalesced into one TUN write, drops counted by typed reason — and the
//! drop paths checked to allocate nothing. No root, no sockets.
//!
//! Most tests drive one worker step by step (`batch`, `apply`) for exact
//! assertions; two run the worker threads' own `run` loops, which wait on
//! the fakes' descriptors with `poll` as they wait on real ones.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use yadokari_sys::poll::Waker;

use crate::counters::{Counters, GlobalCounts, SaCounters};
use crate::engine::{
    ChannelHandoff, Config, Event, IkeDatagram, InCtl, OutCtl, RawSockets, Shared,
};
use crate::fake::{FakeRaw, FakeTun, FakeUdp, Incoming, TunFrame};
use crate::inbound::InboundWorker;
use crate::outbound::OutboundWorker;
use crate::sa::{EspTransport, InboundSa, ManualSa, OutboundSa};
use crate::selector::TrafficSelector;
use crate::transform::{AeadAlgorithm, EspEncap};

// --- Allocation counting: the drop paths must not allocate. ---

#[global_allocator]
static ALLOC: yadokari_sys::alloc_count::CountingAlloc = yadokari_sys::alloc_count::CountingAlloc;

/// Allocations `f` made on this thread, outside the fakes (which record
/// what they are handed in untracked sections).
fn allocations(f: impl FnOnce()) -> u64 {
    let before = yadokari_sys::alloc_count::allocations();
    f();
    yadokari_sys::alloc_count::allocations() - before
}

// --- Packets and SAs. ---

const LEFT: &str = "198.51.100.1";
const RIGHT: &str = "203.0.113.1";
const MSS: usize = 1000;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn peer() -> SocketAddr {
    "192.0.2.2:4500".parse().expect("address")
}

fn us() -> SocketAddr {
    "192.0.2.1:4500".parse().expect("address")
}

/// The one place selectors are built: all of `addr/len`.
fn ts(addr: &str, len: u8) -> Vec<TrafficSelector> {
    vec![TrafficSelector::from_prefix(
        yadokari_policy::IpPrefix::new(ip(addr), len).expect("prefix"),
    )]
}

/// Our manual SA pair toward `peer()`: inbound SPI 0x100, outbound 0x200.
fn manual() -> ManualSa {
    ManualSa {
        spi_in: 0x100,
        spi_out: 0x200,
        algorithm: AeadAlgorithm::AesGcm128,
        key_in: vec![0x11; 20].into(),
        key_out: vec![0x22; 20].into(),
        peer: peer(),
        local_ts: ts("198.51.100.0", 24),
        remote_ts: ts("203.0.113.0", 24),
    }
}

/// (our inbound SA, our outbound SA)
fn our_sas() -> (InboundSa, OutboundSa) {
    manual().build().expect("keys")
}

/// (the peer's inbound SA, the peer's outbound SA): what opens our ESP and
/// what seals ESP for our inbound SA.
fn peer_sas() -> (InboundSa, OutboundSa) {
    manual().mirrored(us()).build().expect("keys")
}

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
        acc += u32::from(w);
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// An IPv4 TCP packet `src:40000 → dst:5201` with `payload` (byte `i` of
/// the stream is `(seq + i) as u8`), flags ACK (| PSH), checksums valid.
fn tcp4(src: &str, dst: &str, seq: u32, payload: usize, psh: bool) -> Vec<u8> {
    let total = 40 + payload;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    let (IpAddr::V4(s), IpAddr::V4(d)) = (ip(src), ip(dst)) else {
        panic!("IPv4 only");
    };
    p[12..16].copy_from_slice(&s.octets());
    p[16..20].copy_from_slice(&d.octets());
    let c = crate::ip::checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&40000u16.to_be_bytes());
    p[22..24].copy_from_slice(&5201u16.to_be_bytes());
    p[24..28].copy_from_slice(&seq.to_be_bytes());
    p[28..32].copy_from_slice(&7u32.to_be_bytes()); // ack
    p[32] = 5 << 4;
    p[33] = 0x10 | if psh { 0x08 } else { 0 };
    p[34..36].copy_from_slice(&512u16.to_be_bytes());
    for (i, b) in p[40..].iter_mut().enumerate() {
        *b = seq.wrapping_add(i as u32) as u8;
    }
    let mut acc = sum16(&p[12..20], 0) + 6 + (total - 20) as u32;
    acc = sum16(&p[20..], acc);
    let c = fold(acc);
    p[36..38].copy_from_slice(&c.to_be_bytes());
    p
}

/// Whether the TCP checksum of an IPv4 packet verifies.
fn tcp4_checksum_ok(p: &[u8]) -> bool {
    let acc = sum16(&p[12..20], 0) + 6 + (p.len() - 20) as u32;
    fold(sum16(&p[20..], acc)) == 0
}

fn tcp_seq(p: &[u8]) -> u32 {
    u32::from_be_bytes([p[24], p[25], p[26], p[27]])
}

/// The ESP packet (SPI … ICV) `e` makes of `inner`.
fn seal(e: &mut dyn EspEncap, inner: &[u8]) -> Vec<u8> {
    let h = e.header_len();
    let mut b = vec![0u8; h + inner.len() + e.trailer_len(inner.len())];
    b[h..h + inner.len()].copy_from_slice(inner);
    let r = e.encap(&mut b, h..h + inner.len(), 4).expect("seal");
    b[r].to_vec()
}

/// The inner packet and ESP sequence number of `esp`, opened by `sa`.
fn open(sa: &mut InboundSa, esp: &[u8]) -> (Vec<u8>, u32) {
    let mut b = esp.to_vec();
    let seq = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    let (r, nh) = sa.decap.decap(&mut b).expect("open");
    assert_eq!(nh, 4);
    (b[r].to_vec(), seq)
}

/// Size of an AES-GCM tunnel-mode ESP packet carrying `inner` bytes
/// (RFC 4303 §2 / RFC 4106 §3): SPI and sequence number (8), IV (8), the
/// payload padded so payload + pad length + next header is a multiple of
/// four, ICV (16).
fn esp_len(inner: usize) -> usize {
    8 + 8 + (inner + 2).div_ceil(4) * 4 + 16
}

// --- Workers over fakes. ---

struct Plane {
    shared: Arc<Shared<FakeRaw>>,
    events: Receiver<Event>,
    _ike: Receiver<IkeDatagram>,
}

fn plane(cfg: Config) -> Plane {
    let (ev_tx, events) = bounded(64);
    let (ike_tx, ike) = bounded(cfg.ike_queue.max(1));
    let shared = Arc::new(Shared {
        cfg,
        counters: Counters::default(),
        stop: AtomicBool::new(false),
        handoff: Arc::new(ChannelHandoff {
            ike: ike_tx,
            events: ev_tx,
        }),
        raw: RawSockets::default(),
    });
    Plane {
        shared,
        events,
        _ike: ike,
    }
}

impl Plane {
    fn counts(&self) -> GlobalCounts {
        self.shared.counters.snapshot()
    }
}

struct Out {
    w: OutboundWorker<FakeTun, FakeUdp, FakeRaw>,
    st: crate::outbound::State,
    tun: Arc<FakeTun>,
    udp: Arc<FakeUdp>,
    _ctl: Sender<OutCtl>,
}

fn outbound(p: &Plane, max_segments: usize) -> Out {
    let tun = Arc::new(FakeTun::new(true).expect("eventfd"));
    let udp = Arc::new(FakeUdp::new(max_segments).expect("eventfd"));
    let (tx, rx) = unbounded();
    let w = OutboundWorker::new(
        p.shared.clone(),
        tun.clone(),
        udp.clone(),
        rx,
        Arc::new(Waker::new().expect("eventfd")),
        false,
    );
    let st = w.new_state();
    Out {
        w,
        st,
        tun,
        udp,
        _ctl: tx,
    }
}

impl Out {
    fn install(&mut self, sa: OutboundSa) -> Arc<SaCounters> {
        let c = Arc::new(SaCounters::default());
        self.w
            .apply(&mut self.st, OutCtl::Install(Box::new(sa), c.clone()));
        c
    }
}

struct In {
    w: InboundWorker<FakeTun, FakeUdp, FakeRaw>,
    st: crate::inbound::State,
    tun: Arc<FakeTun>,
    udp: Arc<FakeUdp>,
    ctl: Sender<InCtl>,
}

fn inbound(p: &Plane) -> In {
    let tun = Arc::new(FakeTun::new(true).expect("eventfd"));
    let udp = Arc::new(FakeUdp::new(64).expect("eventfd"));
    let (tx, rx) = unbounded();
    let waker = Arc::new(Waker::new().expect("eventfd"));
    let w = InboundWorker::new(
        p.shared.clone(),
        tun.clone(),
        udp.clone(),
        rx,
        waker.clone(),
        0,
        // Worker 0 of one: it reads the raw sockets and owns every SPI.
        vec![(tx.clone(), waker)],
    );
    let st = w.new_state();
    In {
        w,
        st,
        tun,
        udp,
        ctl: tx,
    }
}

impl In {
    fn install(&mut self, sa: InboundSa) -> Arc<SaCounters> {
        let c = Arc::new(SaCounters::default());
        self.ctl
            .send(InCtl::Install(Box::new(sa), c.clone()))
            .expect("control channel");
        self.w.apply_control(&mut self.st);
        c
    }
}

// --- Outbound: TUN → ESP → UDP. ---

#[test]
fn a_tso_super_packet_leaves_as_one_gso_send_of_mss_sized_esp() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    let sa = o.install(our_sas().1);
    let (mut peer_in, _) = peer_sas();

    // 5 full segments and a 500-byte tail, as TSO hands a 5,500-byte write.
    let seq0 = 1_000_000;
    let sp = tcp4(LEFT, RIGHT, seq0, 5 * MSS + 500, true);
    o.tun.push_super_packet(sp.clone(), MSS as u16);
    o.w.batch(&mut o.st);

    let sent = o.udp.take_sent();
    assert_eq!(sent.len(), 1, "one GSO send for the whole super-packet");
    let s = &sent[0];
    assert_eq!(s.to, peer());
    assert_eq!(esp_len(40 + MSS), 1076);
    assert_eq!(s.segment_size, Some(1076));
    assert_eq!(s.contents.len(), 5 * 1076 + esp_len(40 + 500));
    let dgrams = s.datagrams();
    assert_eq!(dgrams.len(), 6);
    for (i, d) in dgrams.iter().enumerate() {
        let (inner, esp_seq) = open(&mut peer_in, d);
        assert_eq!(esp_seq, i as u32 + 1, "ESP sequence numbers in read order");
        let want = if i < 5 { MSS } else { 500 };
        assert_eq!(inner.len(), 40 + want, "segment {i}");
        assert_eq!(crate::ip::total_len(&inner), Some(40 + want));
        assert_eq!(tcp_seq(&inner), seq0 + (i * MSS) as u32);
        assert_eq!(&inner[40..], &sp[40 + i * MSS..40 + i * MSS + want]);
        assert!(tcp4_checksum_ok(&inner), "segment {i} checksum");
        assert_eq!(crate::ip::checksum(&inner[..20]), 0);
    }
    let c = p.counts();
    assert_eq!((c.tun_rx_packets, c.tx_datagrams), (6, 6));
    assert_eq!(sa.snapshot().packets, 6);
    assert_eq!(sa.snapshot().bytes, (6 * 40 + 5 * MSS + 500) as u64);
}

#[test]
fn a_short_segment_ends_a_gso_run_and_runs_stop_at_the_segment_limit() {
    let p = plane(Config::default());
    // The socket takes at most 5 segments per send.
    let mut o = outbound(&p, 5);
    o.install(our_sas().1);
    let (mut peer_in, _) = peer_sas();

    // Read in one batch: F F F S (3 full segments, a 300-byte tail), then
    // F F F F F F from the next write.
    o.tun
        .push_super_packet(tcp4(LEFT, RIGHT, 1, 3 * MSS + 300, true), MSS as u16);
    o.tun
        .push_super_packet(tcp4(LEFT, RIGHT, 3301, 6 * MSS, true), MSS as u16);
    o.w.batch(&mut o.st);
    assert_eq!(o.tun.pending_input(), 0, "both read in one batch");

    let sent = o.udp.take_sent();
    let shape: Vec<(usize, Option<usize>, usize)> = sent
        .iter()
        .map(|s| (s.datagrams().len(), s.segment_size, s.contents.len()))
        .collect();
    let full = esp_len(40 + MSS);
    let short = esp_len(40 + 300);
    assert_eq!(
        shape,
        vec![
            // The short segment may end a run, never sit inside one.
            (4, Some(full), 3 * full + short),
            // Five full segments: the socket's limit.
            (5, Some(full), 5 * full),
            // The one left over goes alone, without UDP_SEGMENT.
            (1, None, full),
        ]
    );
    // Every datagram opens, in order.
    let seqs: Vec<u32> = sent
        .iter()
        .flat_map(|s| s.datagrams().into_iter().map(<[u8]>::to_vec))
        .map(|d| open(&mut peer_in, &d).1)
        .collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<u32>>());
}

#[test]
fn runs_split_where_the_peer_changes_and_order_is_kept() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    // A second SA, to another peer, for 203.0.113.128/25 (narrower: wins).
    let other: SocketAddr = "192.0.2.3:4500".parse().expect("address");
    let mut m = manual();
    m.spi_out = 0x300;
    m.peer = other;
    m.remote_ts = ts("203.0.113.128", 25);
    o.install(m.build().expect("keys").1);

    for dst in ["203.0.113.1", "203.0.113.2", "203.0.113.200", "203.0.113.3"] {
        o.tun.push_packet(tcp4(LEFT, dst, 1, 100, true));
    }
    o.w.batch(&mut o.st);
    let sent = o.udp.take_sent();
    let shape: Vec<(SocketAddr, usize)> =
        sent.iter().map(|s| (s.to, s.datagrams().len())).collect();
    assert_eq!(shape, vec![(peer(), 2), (other, 1), (peer(), 1)]);
    assert_eq!(sent[0].segment_size, Some(esp_len(140)));
    assert_eq!(sent[1].segment_size, None);
}

#[test]
fn a_packet_without_sa_is_a_typed_drop_and_one_acquire() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    // 192.0.2.99 is outside every SA's remote selectors.
    o.tun.push_packet(tcp4(LEFT, "192.0.2.99", 1, 100, true));
    o.tun.push_packet(tcp4(LEFT, "192.0.2.99", 101, 100, true));
    o.w.batch(&mut o.st);
    assert!(o.udp.take_sent().is_empty());
    let c = p.counts();
    assert_eq!(c.drops.no_sa, 2);
    assert_eq!(c.tun_rx_packets, 2);
    let events: Vec<Event> = p.events.try_iter().collect();
    assert_eq!(
        events,
        vec![Event::Acquire {
            src: ip(LEFT),
            dst: ip("192.0.2.99"),
            protocol: 6,
        }],
        "one Acquire per destination and interval"
    );
}

#[test]
fn an_oversized_packet_is_dropped_with_an_icmp_error_back() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    // 1,500 bytes with DF: the tunnel carries 1,438 (IPv4 outer, AES-GCM).
    o.tun.push_packet(tcp4(LEFT, RIGHT, 1, 1460, true));
    o.w.batch(&mut o.st);
    assert!(o.udp.take_sent().is_empty());
    assert_eq!(p.counts().drops.too_big, 1);
    let icmp = o.tun.take_singles();
    assert_eq!(icmp.len(), 1);
    let e = &icmp[0];
    assert_eq!((e[9], e[20], e[21]), (1, 3, 4), "ICMP fragmentation needed");
    assert_eq!(&e[16..20], &[198, 51, 100, 1], "back to the sender");
    assert_eq!(u16::from_be_bytes([e[26], e[27]]), 1438);
}

#[test]
fn raw_esp_goes_out_one_packet_per_send_on_the_raw_socket() {
    let p = plane(Config::default());
    let raw = Arc::new(FakeRaw::new(true).expect("eventfd"));
    assert!(p.shared.raw.v4.set(raw.clone()).is_ok());
    let mut o = outbound(&p, 64);
    let mut sa = our_sas().1;
    sa.peer = EspTransport::Raw(ip("192.0.2.2"));
    o.install(sa);
    let (mut peer_in, _) = peer_sas();
    for i in 0..3 {
        o.tun.push_packet(tcp4(LEFT, RIGHT, 1 + 100 * i, 100, true));
    }
    o.w.batch(&mut o.st);
    assert!(o.udp.take_sent().is_empty());
    let sent = raw.take_sent();
    assert_eq!(sent.len(), 3);
    for (i, (to, esp)) in sent.iter().enumerate() {
        assert_eq!(*to, ip("192.0.2.2"));
        assert_eq!(esp.len(), esp_len(140));
        assert_eq!(open(&mut peer_in, esp).1, i as u32 + 1);
    }
    assert_eq!(p.counts().tx_datagrams, 3);
}

// --- Inbound: UDP → ESP → TUN. ---

/// `n` segments of one TCP flow, `MSS` bytes each but the last (`last`
/// bytes), sealed by the peer.
fn sealed_flow(peer_out: &mut OutboundSa, seq0: u32, n: usize, last: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = if i + 1 == n { last } else { MSS };
            let inner = tcp4(RIGHT, LEFT, seq0 + (i * MSS) as u32, len, i + 1 == n);
            seal(peer_out.encap.as_mut(), &inner)
        })
        .collect()
}

#[test]
fn a_gro_run_of_esp_is_opened_and_written_as_one_coalesced_tun_write() {
    let p = plane(Config::default());
    let mut i = inbound(&p);
    let sa = i.install(our_sas().0);
    let (_, mut peer_out) = peer_sas();

    // Seven full segments and a 400-byte tail: eight datagrams in one GRO
    // message, the last shorter than the stride.
    let seq0 = 5_000;
    let dgrams = sealed_flow(&mut peer_out, seq0, 8, 400);
    assert_eq!(dgrams[0].len(), esp_len(40 + MSS));
    assert_eq!(dgrams[7].len(), esp_len(40 + 400));
    i.udp.push_batch(vec![Incoming::gro(peer(), &dgrams)]);
    assert!(i.w.batch(&mut i.st));

    let batches = i.tun.take_batches();
    assert_eq!(batches.len(), 1, "one TUN write batch per receive");
    let frames = &batches[0];
    assert_eq!(frames.len(), 1, "one flow, one coalesced write");
    let TunFrame { gso, packet } = &frames[0];
    // VIRTIO_NET_HDR_GSO_TCPV4, segments of the flow's MSS.
    assert_eq!(*gso, Some((1, MSS as u16)));
    assert_eq!(packet.len(), 40 + 7 * MSS + 400);
    assert_eq!(crate::ip::total_len(packet), Some(packet.len()));
    assert_eq!(tcp_seq(packet), seq0);
    let want: Vec<u8> = (0..7 * MSS + 400)
        .map(|k| seq0.wrapping_add(k as u32) as u8)
        .collect();
    assert_eq!(&packet[40..], &want[..], "payloads in order, none lost");

    let c = p.counts();
    assert_eq!((c.rx_datagrams, c.tun_tx_packets), (8, 8));
    assert_eq!(sa.snapshot().packets, 8);
    assert_eq!(sa.snapshot().bytes, (8 * 40 + 7 * MSS + 400) as u64);
}

#[test]
fn bad_icv_unknown_spi_and_replay_are_typed_drops_and_the_rest_gets_through() {
    let p = plane(Config::default());
    let mut i = inbound(&p);
    let sa = i.install(our_sas().0);
    let (_, mut peer_out) = peer_sas();

    let mut run = sealed_flow(&mut peer_out, 1, 3, MSS);
    let replay = run[0].clone();
    // Flip one ICV bit of the middle datagram.
    let last = run[1].len() - 1;
    run[1][last] ^= 1;
    let mut forged = run[2].clone();
    forged[..4].copy_from_slice(&0xdead_beefu32.to_be_bytes());
    // Two messages in one receive: the GRO run, then the forged SPI.
    i.udp.push_batch(vec![
        Incoming::gro(peer(), &run),
        Incoming::single(peer(), forged),
    ]);
    assert!(i.w.batch(&mut i.st));

    let c = p.counts();
    assert_eq!(c.drops.bad_icv, 1);
    assert_eq!(c.drops.unknown_spi, 1);
    assert_eq!(c.rx_datagrams, 4);
    assert_eq!(c.tun_tx_packets, 2);
    assert_eq!(sa.snapshot().errors, 1);
    let batches = i.tun.take_batches();
    assert_eq!(batches.len(), 1, "both messages' packets in one TUN batch");
    let seqs: Vec<u32> = batches[0].iter().map(|f| tcp_seq(&f.packet)).collect();
    // Segments 1 and 3 (a gap between them: not coalesced).
    assert_eq!(seqs, vec![1, 1 + 2 * MSS as u32]);

    i.udp.push_batch(vec![Incoming::single(peer(), replay)]);
    assert!(i.w.batch(&mut i.st));
    assert_eq!(p.counts().drops.replay, 1);
    assert!(i.tun.take_batches().is_empty());
    assert_eq!(sa.snapshot().errors, 2);
}

#[test]
fn raw_esp_loses_its_ipv4_header_and_takes_the_esp_path() {
    let p = plane(Config::default());
    let raw = Arc::new(FakeRaw::new(true).expect("eventfd"));
    assert!(p.shared.raw.v4.set(raw.clone()).is_ok());
    let mut i = inbound(&p);
    i.install(our_sas().0);
    let (_, mut peer_out) = peer_sas();
    let esp = seal(peer_out.encap.as_mut(), &tcp4(RIGHT, LEFT, 9, 100, true));
    // What an IPv4 raw socket delivers: the IP header, then ESP.
    let mut d = vec![0u8; 20];
    d[0] = 0x45;
    d[2..4].copy_from_slice(&((20 + esp.len()) as u16).to_be_bytes());
    d[9] = 50;
    d.extend_from_slice(&esp);
    raw.push(ip("192.0.2.2"), d);
    raw.push(ip("192.0.2.2"), vec![0x45, 0, 0]);
    i.w.raw_burst(&mut i.st, &raw);

    let batches = i.tun.take_batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].len(), 1);
    assert_eq!(tcp_seq(&batches[0][0].packet), 9);
    let c = p.counts();
    assert_eq!((c.rx_datagrams, c.drops.malformed), (2, 1));
}

// --- Drop paths allocate nothing. ---

#[test]
fn inbound_drop_paths_allocate_nothing() {
    let p = plane(Config::default());
    let mut i = inbound(&p);
    i.install(our_sas().0);
    let (_, mut peer_out) = peer_sas();

    // Every drop an inbound datagram can meet before the TUN.
    let garbage = |peer_out: &mut OutboundSa, spi_salt: u32| {
        let good = sealed_flow(peer_out, 1, 2, MSS);
        let mut bad_icv = good[0].clone();
        let l = bad_icv.len() - 1;
        bad_icv[l] ^= 0x80;
        let mut forged = good[1].clone();
        forged[..4].copy_from_slice(&(0x7000_0000 + spi_salt).to_be_bytes());
        let mut ike_junk = vec![0u8; 40];
        ike_junk[4] = 0xaa;
        vec![
            Incoming::single(peer(), vec![1, 2, 3]),
            Incoming::single(peer(), ike_junk),
            Incoming::single(peer(), forged),
            Incoming::single(peer(), bad_icv),
            // SPI and sequence number but nothing after: malformed ESP.
            Incoming::single(peer(), good[1][..12].to_vec()),
            Incoming::single(peer(), vec![0xff]),
        ]
    };
    // Once to warm up whatever is lazily set up, then counted.
    i.udp.push_batch(garbage(&mut peer_out, 1));
    assert!(i.w.batch(&mut i.st));
    let before = p.counts().drops;
    i.udp.push_batch(garbage(&mut peer_out, 2));
    let n = allocations(|| {
        assert!(i.w.batch(&mut i.st));
    });
    let after = p.counts().drops;
    assert_eq!(after.malformed - before.malformed, 2, "runt and short ESP");
    assert_eq!(after.ike_malformed - before.ike_malformed, 1);
    assert_eq!(after.unknown_spi - before.unknown_spi, 1);
    assert_eq!(after.bad_icv - before.bad_icv, 1);
    assert_eq!(p.counts().rx_keepalives, 2);
    assert!(i.tun.take_batches().is_empty());
    assert_eq!(n, 0, "allocations on the inbound drop paths");
}

#[test]
fn outbound_drop_paths_allocate_nothing() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    let script = |o: &Out, k: u8| {
        // No SA (new destinations: Acquire bookkeeping), too big (ICMP
        // error), unparsable.
        o.tun
            .push_packet(tcp4(LEFT, &format!("192.0.2.{k}"), 1, 100, true));
        o.tun
            .push_packet(tcp4(LEFT, &format!("192.0.2.{}", k + 1), 1, 100, true));
        o.tun.push_packet(tcp4(LEFT, RIGHT, 1, 1460, true));
        o.tun.push_packet(vec![0x00; 30]);
    };
    script(&o, 10);
    o.w.batch(&mut o.st);
    script(&o, 20);
    let n = allocations(|| o.w.batch(&mut o.st));
    let c = p.counts();
    assert_eq!(c.drops.no_sa, 4);
    assert_eq!(c.drops.too_big, 2);
    assert_eq!(c.drops.malformed, 2);
    assert_eq!(o.tun.take_singles().len(), 2);
    assert_eq!(p.events.try_iter().count(), 4);
    assert_eq!(n, 0, "allocations on the outbound drop paths");
}

// --- The worker threads' own loops, waiting on the fakes' descriptors. ---

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_outbound_thread_wakes_for_control_and_for_tun_input() {
    let p = plane(Config::default());
    let tun = Arc::new(FakeTun::new(true).expect("eventfd"));
    let udp = Arc::new(FakeUdp::new(64).expect("eventfd"));
    let (tx, rx) = unbounded();
    let waker = Arc::new(Waker::new().expect("eventfd"));
    let w = OutboundWorker::new(
        p.shared.clone(),
        tun.clone(),
        udp.clone(),
        rx,
        waker.clone(),
        false,
    );
    let t = std::thread::spawn(move || w.run());
    let (done_tx, done_rx) = bounded(1);
    tx.send(OutCtl::Install(Box::new(our_sas().1), Arc::default()))
        .expect("send");
    tx.send(OutCtl::Barrier(done_tx)).expect("send");
    waker.wake();
    let synced = done_rx.recv_timeout(Duration::from_secs(5));
    tun.push_super_packet(tcp4(LEFT, RIGHT, 1, 3 * MSS, true), MSS as u16);
    let mut sent = Vec::new();
    wait_for("the GSO send", || {
        sent.extend(udp.take_sent());
        !sent.is_empty()
    });
    p.shared.stop.store(true, Ordering::SeqCst);
    waker.wake();
    t.join().expect("worker thread");
    assert!(synced.is_ok(), "barrier answered");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].segment_size, Some(esp_len(40 + MSS)));
    assert_eq!(sent[0].datagrams().len(), 3);
}

#[test]
fn the_inbound_thread_reads_a_gro_batch_and_writes_the_tun() {
    let p = plane(Config::default());
    let tun = Arc::new(FakeTun::new(true).expect("eventfd"));
    let udp = Arc::new(FakeUdp::new(64).expect("eventfd"));
    let (tx, rx) = unbounded();
    let waker = Arc::new(Waker::new().expect("eventfd"));
    let w = InboundWorker::new(
        p.shared.clone(),
        tun.clone(),
        udp.clone(),
        rx,
        waker.clone(),
        0,
        Vec::new(),
    );
    let t = std::thread::spawn(move || w.run());
    let (done_tx, done_rx) = bounded(1);
    tx.send(InCtl::Install(Box::new(our_sas().0), Arc::default()))
        .expect("send");
    tx.send(InCtl::Barrier(done_tx)).expect("send");
    waker.wake();
    let synced = done_rx.recv_timeout(Duration::from_secs(5));
    let (_, mut peer_out) = peer_sas();
    udp.push_batch(vec![Incoming::gro(
        peer(),
        &sealed_flow(&mut peer_out, 1, 4, MSS),
    )]);
    let mut batches = Vec::new();
    wait_for("the TUN write", || {
        batches.extend(tun.take_batches());
        !batches.is_empty()
    });
    p.shared.stop.store(true, Ordering::SeqCst);
    waker.wake();
    t.join().expect("worker thread");
    assert!(synced.is_ok(), "barrier answered");
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].len(), 1);
    assert_eq!(batches[0][0].packet.len(), 40 + 4 * MSS);
}

#[test]
fn keepalives_go_to_each_udp_peer_once_and_never_to_raw_peers() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    let mut m = manual();
    m.spi_out = 0x300;
    m.remote_ts = ts("203.0.113.128", 25);
    // A second SA to the same UDP peer, and one sending raw ESP.
    o.install(m.build().expect("keys").1);
    let mut raw = our_sas().1;
    raw.spi = 0x400;
    raw.peer = EspTransport::Raw(ip("192.0.2.9"));
    o.install(raw);
    o.w.send_keepalives(&o.st);
    let sent = o.udp.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].to, &sent[0].contents[..]), (peer(), &[0xff][..]));
    assert_eq!(p.counts().tx_keepalives, 1);
}

#[test]
fn raw_esp_for_another_workers_spi_is_handed_over_and_bounded() {
    let p = plane(Config::default());
    let raw = Arc::new(FakeRaw::new(false).expect("eventfd"));
    assert!(p.shared.raw.v6.set(raw.clone()).is_ok());
    // Two inbound workers: SPI 0x101 is odd, so worker 1 owns it.
    let (tx0, rx0) = unbounded();
    let (tx1, rx1) = unbounded();
    let (w0k, w1k) = (
        Arc::new(Waker::new().expect("eventfd")),
        Arc::new(Waker::new().expect("eventfd")),
    );
    let peers = vec![(tx0, w0k.clone()), (tx1.clone(), w1k.clone())];
    let tun0 = Arc::new(FakeTun::new(true).expect("eventfd"));
    let tun1 = Arc::new(FakeTun::new(true).expect("eventfd"));
    let udp = Arc::new(FakeUdp::new(64).expect("eventfd"));
    let w0 = InboundWorker::new(
        p.shared.clone(),
        tun0.clone(),
        udp.clone(),
        rx0,
        w0k,
        0,
        peers,
    );
    let w1 = InboundWorker::new(p.shared.clone(), tun1.clone(), udp, rx1, w1k, 1, Vec::new());
    let (mut st0, mut st1) = (w0.new_state(), w1.new_state());
    let mut m = manual();
    m.spi_in = 0x101;
    let (sa, _) = m.build().expect("keys");
    tx1.send(InCtl::Install(Box::new(sa), Arc::default()))
        .expect("send");
    w1.apply_control(&mut st1);
    let (_, mut peer_out) = m.mirrored(us()).build().expect("keys");
    // IPv6 raw sockets deliver ESP from byte 0.
    let esp = seal(peer_out.encap.as_mut(), &tcp4(RIGHT, LEFT, 3, 100, true));
    raw.push(ip("2001:db8::2"), esp.clone());
    w0.raw_burst(&mut st0, &raw);
    assert!(tun0.take_batches().is_empty(), "not worker 0's SA");
    w1.apply_control(&mut st1);
    let b = tun1.take_batches();
    assert_eq!(b.len(), 1);
    assert_eq!(tcp_seq(&b[0][0].packet), 3);

    // A backlog of RAW_HANDOFF_MAX is the limit: the next one is a typed
    // drop, not another queued copy.
    for _ in 0..crate::inbound::RAW_HANDOFF_MAX {
        tx1.send(InCtl::Remove { spi: 0x999 }).expect("send");
    }
    raw.push(ip("2001:db8::2"), esp);
    w0.raw_burst(&mut st0, &raw);
    assert_eq!(p.counts().drops.raw_handoff_full, 1);
}

#[test]
fn without_offload_the_tun_gets_every_packet_as_it_is() {
    let p = plane(Config::default());
    let tun = Arc::new(FakeTun::new(false).expect("eventfd"));
    let udp = Arc::new(FakeUdp::new(64).expect("eventfd"));
    let (tx, rx) = unbounded();
    let w = InboundWorker::new(
        p.shared.clone(),
        tun.clone(),
        udp.clone(),
        rx,
        Arc::new(Waker::new().expect("eventfd")),
        0,
        Vec::new(),
    );
    let mut st = w.new_state();
    tx.send(InCtl::Install(Box::new(our_sas().0), Arc::default()))
        .expect("send");
    w.apply_control(&mut st);
    let (_, mut peer_out) = peer_sas();
    udp.push_batch(vec![Incoming::gro(
        peer(),
        &sealed_flow(&mut peer_out, 1, 4, MSS),
    )]);
    assert!(w.batch(&mut st));
    let b = tun.take_batches();
    assert_eq!(b.len(), 1, "still one batched write call");
    let lens: Vec<(Option<(u8, u16)>, usize)> =
        b[0].iter().map(|f| (f.gso, f.packet.len())).collect();
    assert_eq!(lens, vec![(None, 40 + MSS); 4]);
}

#[test]
fn io_failures_are_typed_drops_counted_per_lost_datagram() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    // A failed TUN read is counted and the next read goes on.
    o.tun.push_error(std::io::ErrorKind::Other);
    o.tun
        .push_super_packet(tcp4(LEFT, RIGHT, 1, 4 * MSS, true), MSS as u16);
    // The GSO send of all four fails: four datagrams lost.
    o.udp.fail_sends(Some(std::io::ErrorKind::OutOfMemory));
    o.w.batch(&mut o.st);
    let c = p.counts();
    assert_eq!(c.drops.tun_error, 1);
    assert_eq!(c.drops.send_error, 4);
    assert_eq!((c.tun_rx_packets, c.tx_datagrams), (4, 0));

    let mut i = inbound(&p);
    i.udp.push_error(std::io::ErrorKind::ConnectionRefused);
    assert!(!i.w.batch(&mut i.st), "a failed receive ends the drain");
    assert_eq!(p.counts().drops.recv_error, 1);
}

#[test]
fn reads_stop_while_a_super_packet_might_not_fit_and_gso_runs_stay_under_64k() {
    let p = plane(Config::default());
    let mut o = outbound(&p, 64);
    o.install(our_sas().1);
    // Four 64-segment super-packets; the batch has 256 buffers and reads
    // only while 128 are free, so three are read and one waits.
    for k in 0..4u32 {
        let seq = 1 + k * 64 * MSS as u32;
        o.tun
            .push_super_packet(tcp4(LEFT, RIGHT, seq, 64 * MSS, false), MSS as u16);
    }
    o.w.batch(&mut o.st);
    assert_eq!(o.tun.pending_input(), 1);
    let runs: Vec<usize> = o
        .udp
        .take_sent()
        .iter()
        .map(|s| s.datagrams().len())
        .collect();
    // 60 × 1,076 bytes is the most under the 65,000-byte GSO cap.
    assert_eq!(runs, vec![60, 60, 60, 12]);
    o.w.batch(&mut o.st);
    assert_eq!(o.tun.pending_input(), 0);
    let runs: Vec<usize> = o
        .udp
        .take_sent()
        .iter()
        .map(|s| s.datagrams().len())
        .collect();
    assert_eq!(runs, vec![60, 4]);
    assert_eq!(p.counts().tx_datagrams, 256);
}

#[test]
fn a_receive_of_more_inner_packets_than_a_tun_batch_is_written_in_two() {
    let p = plane(Config::default());
    let mut i = inbound(&p);
    i.install(our_sas().0);
    let (_, mut peer_out) = peer_sas();
    // Ten GRO messages of 60 small datagrams: 600 inner packets, more
    // than the 512 one TUN batch holds.
    let messages: Vec<Incoming> = (0..10u32)
        .map(|m| {
            let run: Vec<Vec<u8>> = (0..60u32)
                .map(|k| {
                    let seq = 1 + (m * 60 + k) * 100;
                    seal(peer_out.encap.as_mut(), &tcp4(RIGHT, LEFT, seq, 100, false))
                })
                .collect();
            Incoming::gro(peer(), &run)
        })
        .collect();
    i.udp.push_batch(messages);
    assert!(i.w.batch(&mut i.st));
    let batches = i.tun.take_batches();
    let packets: Vec<usize> = batches
        .iter()
        .map(|b| {
            b.iter()
                .map(|f| f.packet.len().saturating_sub(40) / 100)
                .sum()
        })
        .collect();
    assert_eq!(packets, vec![512, 88], "inner packets per TUN write batch");
    assert_eq!(p.counts().tun_tx_packets, 600);
}
