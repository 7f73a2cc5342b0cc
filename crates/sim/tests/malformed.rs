//! Malformed and unauthenticated input, as a table: each row is a datagram
//! built from a real session (or from nothing) and delivered to an
//! established responder. Every row must end in the RFC's answer or a
//! counted drop, never a panic, and never a changed SA; afterwards the SAs
//! must still work (a CHILD SA rekey through them succeeds).

use std::net::SocketAddr;
use std::time::Duration;

use yadokari_ike::{Command, ConnId, DropReason, IkeEndpoint, Path};
use yadokari_sim::config::{pair, PairOptions};
use yadokari_sim::{Faults, Pair, Side, ADDR_A, ADDR_B};

fn established() -> Pair {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 77, Faults::none());
    p.command(Side::A, Command::Initiate { conn: ConnId(0) });
    assert!(
        p.drive_until(Duration::from_secs(5), 1000, |p| p.a.installed.len() == 1
            && p.b.installed.len() == 1)
    );
    p
}

fn path_to_b() -> Path {
    Path::new(SocketAddr::new(ADDR_B, 500), SocketAddr::new(ADDR_A, 500))
}

/// What the responder looks like from outside.
fn snapshot(ep: &IkeEndpoint) -> (Vec<yadokari_ike::IkeSaView>, Vec<(u32, u32)>) {
    let mut c: Vec<(u32, u32)> = ep.child_sas().map(|c| (c.spi_in, c.spi_out)).collect();
    c.sort_unstable();
    (ep.ike_sas(), c)
}

/// A real, protected request from A to B (a DPD), captured before delivery.
fn captured_request(p: &mut Pair) -> Vec<u8> {
    let ike = p.a.live_ike_sas()[0].id;
    let now = p.now;
    p.a.ep.handle_command(now, Command::Dpd { ike });
    let t = p.a.ep.poll_transmit().expect("DPD request");
    t.bytes
}

fn header(spi_i: u64, spi_r: u64, exchange: u8, flags: u8, mid: u32, len: u32) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&spi_i.to_be_bytes());
    v.extend_from_slice(&spi_r.to_be_bytes());
    v.extend_from_slice(&[0, 0x20, exchange, flags]);
    v.extend_from_slice(&mid.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

/// A notify payload chain: one Notify of `ty` (protocol 0, no SPI), as first payload 41.
fn with_notify(mut h: Vec<u8>, ty: u16, critical_unknown: bool) -> Vec<u8> {
    h[16] = 41;
    let next = if critical_unknown { 200 } else { 0 };
    h.extend_from_slice(&[next, 0, 0, 8, 0, 0]);
    h.extend_from_slice(&ty.to_be_bytes());
    if critical_unknown {
        h.extend_from_slice(&[0, 0x80, 0, 4]);
    }
    let len = h.len() as u32;
    h[24..28].copy_from_slice(&len.to_be_bytes());
    h
}

/// Builds the datagram of one row from a real request and the SA's SPIs.
type Build = fn(&mut Pair, &[u8], (u64, u64)) -> Vec<u8>;

struct Case {
    name: &'static str,
    build: Build,
    /// Drop reason that must be counted (None: the row checks a reply instead).
    drop: Option<DropReason>,
    /// Whether B must answer.
    reply: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "empty datagram",
        build: |_, _, _| Vec::new(),
        drop: Some(DropReason::NotIke),
        reply: false,
    },
    Case {
        name: "shorter than a header",
        build: |_, r, _| r[..27].to_vec(),
        drop: Some(DropReason::NotIke),
        reply: false,
    },
    Case {
        name: "length field beyond datagram",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v.truncate(v.len() - 5);
            v
        },
        drop: Some(DropReason::Malformed),
        reply: false,
    },
    Case {
        name: "length field below datagram",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v.extend_from_slice(&[0; 7]);
            v
        },
        drop: Some(DropReason::Malformed),
        reply: false,
    },
    Case {
        name: "major version 3",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[17] = 0x30;
            v
        },
        drop: Some(DropReason::BadVersion),
        reply: false,
    },
    Case {
        name: "unknown SPI request: INVALID_IKE_SPI, no larger than the request",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[0] ^= 0xff;
            v[8] ^= 0xff;
            v
        },
        drop: Some(DropReason::UnknownSpi),
        reply: true,
    },
    Case {
        name: "unknown SPI response: never answered",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[8] ^= 0xff;
            v[19] |= 0x20;
            v
        },
        drop: Some(DropReason::UnknownSpi),
        reply: false,
    },
    Case {
        name: "message ID beyond the window",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[20..24].copy_from_slice(&1000u32.to_be_bytes());
            v
        },
        drop: Some(DropReason::BadMessageId),
        reply: false,
    },
    Case {
        name: "old message ID, response no longer cached",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[20..24].copy_from_slice(&0u32.to_be_bytes());
            v
        },
        drop: Some(DropReason::StaleRetransmit),
        reply: false,
    },
    Case {
        name: "bad ICV",
        build: |_, r, _| {
            let mut v = r.to_vec();
            let n = v.len();
            v[n - 1] ^= 1;
            v
        },
        drop: Some(DropReason::BadIcv),
        reply: false,
    },
    Case {
        name: "flipped ciphertext bit",
        build: |_, r, _| {
            let mut v = r.to_vec();
            let n = v.len();
            v[n - 20] ^= 0x10;
            v
        },
        drop: Some(DropReason::BadIcv),
        reply: false,
    },
    Case {
        name: "unprotected Delete-looking INFORMATIONAL",
        build: |_, _, (i, r)| with_notify(header(i, r, 37, 0x08, 2, 0), 24, false),
        drop: Some(DropReason::Unprotected),
        reply: false,
    },
    Case {
        name: "unauthenticated AUTHENTICATION_FAILED response",
        build: |_, _, (i, r)| with_notify(header(i, r, 37, 0x28, 7, 0), 24, false),
        drop: Some(DropReason::UnexpectedResponse),
        reply: false,
    },
    Case {
        name: "IKE_SA_INIT on an established SA",
        build: |_, _, (i, r)| with_notify(header(i, r, 34, 0x08, 2, 0), 16390, false),
        drop: Some(DropReason::WrongExchange),
        reply: false,
    },
    Case {
        name: "IKE_SA_INIT missing SA/KE/Ni",
        build: |_, _, _| with_notify(header(0x1111, 0, 34, 0x08, 0, 0), 16388, false),
        drop: Some(DropReason::MissingPayload),
        reply: false,
    },
    Case {
        name: "IKE_SA_INIT with an unknown critical payload",
        build: |_, _, _| with_notify(header(0x2222, 0, 34, 0x08, 0, 0), 16388, true),
        drop: Some(DropReason::Malformed),
        reply: false,
    },
    Case {
        name: "unknown exchange type",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[18] = 99;
            v
        },
        drop: Some(DropReason::BadIcv),
        reply: false,
    },
    Case {
        name: "response flag on a request the peer never got",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[19] |= 0x20;
            v
        },
        drop: Some(DropReason::UnexpectedResponse),
        reply: false,
    },
    Case {
        name: "I flag wrong for this SA",
        build: |_, r, _| {
            let mut v = r.to_vec();
            v[19] &= !0x08;
            v
        },
        // Read as addressed to an SA whose SPIi is ours: unknown, so §2.21.4.
        drop: Some(DropReason::UnknownSpi),
        reply: true,
    },
];

#[test]
fn malformed_table() {
    let mut p = established();
    let real = captured_request(&mut p);
    let sa = p.b.live_ike_sas()[0].clone();
    let spis = (sa.spi_i, sa.spi_r);
    for c in CASES {
        let before = snapshot(&p.b.ep);
        let counted = c.drop.map(|d| p.b.ep.counters().drop_count(d));
        let dgram = (c.build)(&mut p, &real, spis);
        let now = p.now;
        p.b.ep.handle_datagram(now, path_to_b(), &dgram);
        let reply = p.b.ep.poll_transmit();
        assert_eq!(reply.is_some(), c.reply, "{}: reply {:?}", c.name, reply);
        if let Some(r) = &reply {
            assert!(r.bytes.len() <= dgram.len(), "{}: amplification", c.name);
        }
        if let (Some(d), Some(n)) = (c.drop, counted) {
            assert_eq!(
                p.b.ep.counters().drop_count(d),
                n + 1,
                "{}: {:?} not counted ({:?})",
                c.name,
                d,
                p.b.ep.counters()
            );
        }
        assert_eq!(snapshot(&p.b.ep), before, "{}: state changed", c.name);
        assert!(p.b.ep.poll_event().is_none(), "{}: event emitted", c.name);
    }
    // The real request still works afterwards, and its retransmission is
    // answered from the cache with the same bytes.
    let now = p.now;
    p.b.ep.handle_datagram(now, path_to_b(), &real);
    let first = p.b.ep.poll_transmit().expect("response").bytes;
    p.b.ep.handle_datagram(now, path_to_b(), &real);
    let again = p.b.ep.poll_transmit().expect("cached response").bytes;
    assert_eq!(first, again);
    assert_eq!(p.b.ep.counters().drop_count(DropReason::Retransmit), 1);
    // Unknown-SPI answers are rate limited.
    let mut answered = 0;
    for i in 0..100u64 {
        let mut v = real.clone();
        v[8..16].copy_from_slice(&(0xdead_0000 + i).to_be_bytes());
        p.b.ep.handle_datagram(now, path_to_b(), &v);
        answered += usize::from(p.b.ep.poll_transmit().is_some());
    }
    assert!(
        answered <= 20,
        "{answered} INVALID_IKE_SPI answers in one second"
    );
    assert!(p.b.ep.counters().drop_count(DropReason::RateLimited) >= 80);
    // Deliver A's response so A is not left waiting, then rekey through the SAs.
    p.a.ep.handle_datagram(
        now,
        Path::new(SocketAddr::new(ADDR_A, 500), SocketAddr::new(ADDR_B, 500)),
        &first,
    );
    p.flush();
    let spi = *p.a.installed.keys().next().expect("child");
    p.command(Side::A, Command::RekeyChild { spi_in: spi });
    assert!(
        p.drive_until(Duration::from_secs(10), 1000, |p| p.a.installed.len() == 1
            && !p.a.installed.contains_key(&spi))
    );
    p.check_consistent().unwrap();
}

/// Every truncation and every single-bit flip of real messages: no panic,
/// no state change on the established responder.
#[test]
fn truncation_and_bitflip_sweep() {
    let mut p = established();
    let real = captured_request(&mut p);
    let before = snapshot(&p.b.ep);
    let now = p.now;
    for n in 0..real.len() {
        p.b.ep.handle_datagram(now, path_to_b(), &real[..n]);
    }
    for i in 0..real.len() * 8 {
        let mut v = real.clone();
        v[i / 8] ^= 1 << (i % 8);
        p.b.ep.handle_datagram(now, path_to_b(), &v);
        while p.b.ep.poll_transmit().is_some() {}
    }
    assert_eq!(snapshot(&p.b.ep), before);
    assert!(p.b.ep.poll_event().is_none());
    // Every truncation at least was dropped and counted.
    assert!(p.b.ep.counters().total_drops() >= real.len() as u64);
}

/// The same sweep on a fresh responder with a real IKE_SA_INIT: flips may
/// create half-open SAs (the message is unauthenticated), but never panic.
#[test]
fn init_request_sweep() {
    let (a, b) = pair(&PairOptions::default());
    let mut p = Pair::new(a, b, 78, Faults::none());
    let now = p.now;
    p.a.ep
        .handle_command(now, Command::Initiate { conn: ConnId(0) });
    let init = p.a.ep.poll_transmit().expect("IKE_SA_INIT").bytes;
    for n in 0..init.len() {
        p.b.ep.handle_datagram(now, path_to_b(), &init[..n]);
    }
    assert_eq!(p.b.ep.half_open_count(), 0, "truncated requests made state");
    for i in 0..init.len() * 8 {
        let mut v = init.clone();
        v[i / 8] ^= 1 << (i % 8);
        p.b.ep.handle_datagram(now, path_to_b(), &v);
        while p.b.ep.poll_transmit().is_some() {}
    }
    assert!(p.b.installed.is_empty());
}
