//! Property tests for `inspect`: no input makes it panic, and any UDP
//! payload on port 500/4500 inside a valid capture is listed exactly once.

use proptest::prelude::*;
use yadokari::inspect::inspect;
use yadokari::keys::KeyTable;
use yadokari::output::{write_json, write_table};

fn pcap(link: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    for x in [0u32, 0, 65535, link] {
        v.extend_from_slice(&x.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        for x in [i as u32, 0, f.len() as u32, f.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(f);
    }
    v
}

/// Raw IPv4 + UDP around `payload`.
fn ipv4_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut v = vec![0x45, 0];
    v.extend_from_slice(&(total as u16).to_be_bytes());
    v.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn render(data: &[u8], keys: Option<&KeyTable>) -> yadokari::inspect::Inspection {
    let r = inspect(data, keys);
    write_json(&r.messages, &mut std::io::sink()).unwrap();
    write_table(&r.messages, &r.summary, true, &mut std::io::sink()).unwrap();
    r
}

/// An IKE-looking message: a header with the given fields and a length
/// that matches, followed by `chain`.
fn ike(first: u8, exch: u8, flags: u8, chain: &[u8]) -> Vec<u8> {
    let mut m = vec![
        1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1, first, 0x20, exch, flags, 0, 0, 0, 1,
    ];
    m.extend_from_slice(&((28 + chain.len()) as u32).to_be_bytes());
    m.extend_from_slice(chain);
    m
}

fn keys() -> KeyTable {
    KeyTable::parse(concat!(
        "0102030405060708,0807060504030201,",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223,",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223,",
        "\"AES-GCM-256 with 16 octet ICV [RFC5282]\",,,\"NONE [RFC4306]\"\n"
    ))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = render(&data, None);
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(
        magic in prop::sample::select(vec![
            vec![0xd4, 0xc3, 0xb2, 0xa1], vec![0xa1, 0xb2, 0xc3, 0xd4],
            vec![0x4d, 0x3c, 0xb2, 0xa1], vec![0x0a, 0x0d, 0x0d, 0x0a],
        ]),
        rest in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut data = magic;
        data.extend_from_slice(&rest);
        let _ = render(&data, None);
    }

    #[test]
    fn ike_ish_udp_payloads_are_listed(
        port in prop::sample::select(vec![500u16, 4500]),
        first in prop::sample::select(vec![0u8, 33, 34, 35, 40, 41, 44, 46, 47, 48, 53, 99]),
        exch in any::<u8>(),
        flags in any::<u8>(),
        chain in proptest::collection::vec(any::<u8>(), 0..300),
        raw in any::<bool>(),
    ) {
        let msg = if raw { chain.clone() } else { ike(first, exch, flags, &chain) };
        let payload = if port == 4500 { [&[0u8; 4][..], &msg].concat() } else { msg.clone() };
        let data = pcap(101, &[ipv4_udp(port, port, &payload)]);
        let k = keys();
        for table in [None, Some(&k)] {
            let r = render(&data, table);
            prop_assert_eq!(r.error, None);
            if msg.is_empty() && port == 500 {
                prop_assert!(r.messages.is_empty());
                continue;
            }
            prop_assert_eq!(r.messages.len(), 1);
            let m = &r.messages[0];
            prop_assert_eq!(m.frame, 1);
            // Either it decoded or it says why.
            if m.error.is_none() {
                prop_assert!(m.ispi.is_some());
            }
        }
    }

    #[test]
    fn mutated_chains_never_panic(
        chain in proptest::collection::vec(any::<u8>(), 0..200),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
    ) {
        // A plausible chain: SA-looking payload header then random body.
        let mut c = vec![0x28, 0, 0, (chain.len() + 4).min(255) as u8];
        c.extend_from_slice(&chain);
        for (at, x) in flips {
            let n = c.len();
            c[at % n] ^= x;
        }
        let data = pcap(101, &[ipv4_udp(500, 500, &ike(33, 34, 8, &c))]);
        let r = render(&data, None);
        prop_assert_eq!(r.messages.len(), 1);
    }
}
