//! Full IKE_SA_INIT (+ IKE_INTERMEDIATE for hybrids) + IKE_AUTH handshakes
//! (PSK, AES-GCM, first CHILD SA)
//! between two in-memory endpoints on one thread, plus the same handshake's
//! crypto alone (KE, SKEYSEED/SK_*, AUTH, SK protection, KEYMAT) so the
//! difference is the cost of everything else (parsing, state, events).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use yadokari_ike::msg::{Header, Message, Payload};
use yadokari_ike::proposal::Proposal;
use yadokari_ike::{
    AuthConfig, ChildConfig, Command, Config, ConnConfig, ConnId, DpdAction, Event, Identity,
    IkeEndpoint, Lifetime, Mode, Path, PskKey, Rng,
};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));

/// Through the one proposal parser, as the daemon does.
fn ike_proposal(text: &str) -> yadokari_ike::IkeProposal {
    yadokari_config::proposal::parse_ike_proposal(text)
        .expect("proposal")
        .to_core()
}

fn conn(me: &str, peer: &str, local: IpAddr, remote: IpAddr, ike: &str) -> ConnConfig {
    let psk = AuthConfig::Psk(PskKey::new(b"benchmark pre-shared key".to_vec()));
    ConnConfig {
        name: me.into(),
        local_addr: Some(SocketAddr::new(local, 500)),
        remote_addr: Some(SocketAddr::new(remote, 500)),
        local_id: Identity::Fqdn(format!("{me}.example")),
        remote_id: Some(Identity::Fqdn(format!("{peer}.example"))),
        local_auth: psk.clone(),
        remote_auth: psk,
        ike_proposals: vec![ike_proposal(ike)],
        children: vec![ChildConfig {
            name: "net".into(),
            ts_local: vec!["198.51.100.0/24".parse().expect("ts")],
            ts_remote: vec!["203.0.113.0/24".parse().expect("ts")],
            proposals: vec![yadokari_config::proposal::parse_esp_proposal("aes128gcm16")
                .expect("proposal")
                .to_core()],
            mode: Mode::Tunnel,
            lifetime: Lifetime::NEVER,
        }],
        ike_lifetime: Lifetime::NEVER,
        dpd_delay: None,
        dpd_action: DpdAction::Clear,
        force_encap: false,
        retry: yadokari_ike::RetryConfig::default(),
        fragment_size: Some(yadokari_ike::frag::DEFAULT_FRAGMENT_SIZE),
        ppk: None,
        childless: yadokari_ike::Childless::Allow,
        reauth: false,
        window: 1,
    }
}

fn configs(ike: &str) -> (Config, Config) {
    let a = Config {
        connections: vec![conn("a", "b", A, B, ike)],
        ..Config::default()
    };
    let mut cb = conn("b", "a", B, A, ike);
    cb.children[0].ts_local = vec!["203.0.113.0/24".parse().expect("ts")];
    cb.children[0].ts_remote = vec!["198.51.100.0/24".parse().expect("ts")];
    let b = Config {
        connections: vec![cb],
        ..Config::default()
    };
    (a, b)
}

/// One complete handshake; returns the number of datagrams exchanged.
fn handshake(ca: &Config, cb: &Config, seed: u64, now: Instant) -> usize {
    let mut a = IkeEndpoint::new(ca.clone(), seed);
    let mut b = IkeEndpoint::new(cb.clone(), seed ^ 0xffff);
    a.handle_command(now, Command::Initiate { conn: ConnId(0) });
    let mut n = 0;
    let mut a_up = false;
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, Path::new(t.path.remote, t.path.local), &t.bytes);
            n += 1;
            moved = true;
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_datagram(now, Path::new(t.path.remote, t.path.local), &t.bytes);
            n += 1;
            moved = true;
        }
        while let Some(e) = a.poll_event() {
            a_up |= matches!(e, Event::ChildSaInstalled { .. });
        }
        while b.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
    assert!(a_up, "handshake did not complete");
    n
}

/// The crypto of one handshake, both sides, in the order the core does it.
fn crypto_only(ike: &str, rng: &mut Rng) {
    use yadokari_ike::auth::{self, Signer};
    use yadokari_ike::suite;
    let p = ike_proposal(ike);
    let prop = Proposal {
        number: 1,
        protocol: 1,
        spi: Vec::new(),
        transforms: p.0.transforms.clone(),
    };
    let s = suite::IkeSuite::from_proposal(&prop).expect("suite");
    let ni = rng.bytes(32);
    let nr = rng.bytes(32);
    let mut ka = suite::ke_generate(s.ke, rng).expect("ke");
    let mut kb = suite::ke_generate(s.ke, rng).expect("ke");
    let (pa, pb) = (ka.public().to_vec(), kb.public().to_vec());
    let ga = ka.agree(&pb).expect("agree");
    let gb = kb.agree(&pa).expect("agree");
    let keys_a = suite::derive_ike_keys(s, None, &ni, &nr, ga.expose(), 1, 2).expect("keys");
    let keys_b = suite::derive_ike_keys(s, None, &ni, &nr, gb.expose(), 1, 2).expect("keys");
    let msg1 = vec![0u8; 300];
    let msg2 = vec![0u8; 300];
    let psk = AuthConfig::Psk(PskKey::new(b"benchmark pre-shared key".to_vec()));
    let ida = Identity::Fqdn("a.example".into());
    let idb = Identity::Fqdn("b.example".into());
    // Initiator computes, responder verifies and computes, initiator verifies.
    for (keys, signer, m, n, id) in [
        (&keys_a, Signer::Initiator, &msg1, &nr, &ida),
        (&keys_b, Signer::Initiator, &msg1, &nr, &ida),
        (&keys_b, Signer::Responder, &msg2, &ni, &idb),
        (&keys_a, Signer::Responder, &msg2, &ni, &idb),
    ] {
        let o = auth::signed_octets(keys, signer, m, n, id).expect("octets");
        black_box(auth::compute(&psk, keys, &o, None).expect("auth"));
    }
    // IKE_AUTH request and response: protect and verify+decrypt each.
    let hdr = Header {
        spi_i: 1,
        spi_r: 2,
        exchange: 35,
        initiator: true,
        response: false,
        message_id: 1,
    };
    let mut m = Message::new(hdr);
    m.push(Payload::Vendor(vec![0u8; 180]));
    for (from, to, init) in [(&keys_a, &keys_b, true), (&keys_b, &keys_a, false)] {
        let bytes = yadokari_ike::codec::encode_protected(&m, from, init, rng).expect("encode");
        black_box(yadokari_ike::codec::decode_protected(&bytes, to, init).expect("decode"));
    }
    for keys in [&keys_a, &keys_b] {
        black_box(suite::child_keymat(keys, None, &ni, &nr, 20, 0).expect("keymat"));
    }
}

fn bench(c: &mut Criterion) {
    let now = Instant::now();
    let mut g = c.benchmark_group("handshake");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    for (name, ike) in [
        ("x25519", "aes256gcm16-prfsha256-x25519"),
        ("ecp256", "aes256gcm16-prfsha256-ecp256"),
        // RFC 9370 hybrid: ML-KEM-768 in one IKE_INTERMEDIATE exchange.
        (
            "x25519+mlkem768",
            "aes256gcm16-prfsha256-x25519-ke1_mlkem768",
        ),
        ("mlkem768", "aes256gcm16-prfsha256-mlkem768"),
    ] {
        let (ca, cb) = configs(ike);
        let mut seed = 0u64;
        g.bench_function(format!("full/{name}"), |bch| {
            bch.iter(|| {
                seed += 1;
                black_box(handshake(&ca, &cb, seed, now))
            })
        });
        // The crypto-only path models a symmetric Diffie-Hellman exchange.
        if name.contains("mlkem") {
            continue;
        }
        let mut rng = Rng::seeded(7);
        g.bench_function(format!("crypto_only/{name}"), |bch| {
            bch.iter(|| crypto_only(ike, &mut rng))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
