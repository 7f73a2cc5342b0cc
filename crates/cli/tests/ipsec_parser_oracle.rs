//! A second, independent decoder: rusticata's `ipsec-parser` reads every
//! IKE message of the fixture captures (and of messages built here), and
//! its header fields and unencrypted payload chain must match what
//! `inspect` reports for the same frame.

use std::path::Path;

use ipsec_parser::{parse_ikev2_message, IkeV2Payload};
use yadokari::capture::packet::{classify_udp, decode_link, decode_udp, UdpContent, IPPROTO_UDP};
use yadokari::capture::CaptureReader;
use yadokari::inspect::inspect;

/// Payload types of a chain as ipsec-parser lists it: its first element is
/// a placeholder whose "next" is the first payload, and each payload's
/// header names the type of the one after it.
fn chain_types(list: &[IkeV2Payload<'_>]) -> Vec<u64> {
    list.iter()
        .take(list.len().saturating_sub(1))
        .map(|p| u64::from(p.hdr.next_payload_type.0))
        .collect()
}

/// (frame, IKE message bytes) for every unfragmented IKE message.
fn ike_messages(data: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for f in CaptureReader::new(data).unwrap() {
        let f = f.unwrap();
        let Ok(Some(ip)) = decode_link(f.link_type, f.data) else {
            continue;
        };
        if ip.fragment.is_some() || ip.protocol != IPPROTO_UDP {
            continue;
        }
        let Ok(u) = decode_udp(ip.payload, 0) else {
            continue;
        };
        if let UdpContent::Ike { message, .. } = classify_udp(u.src_port, u.dst_port, u.payload) {
            out.push((f.number, message.to_vec()));
        }
    }
    out
}

fn compare(name: &str, data: &[u8]) -> usize {
    let ours = inspect(data, None);
    assert_eq!(ours.error, None, "{name}");
    let mut compared = 0;
    for (frame, msg) in ike_messages(data) {
        let rec = ours.messages.iter().find(|m| m.frame == frame).unwrap();
        let Ok((_, (hdr, payloads))) = parse_ikev2_message(&msg) else {
            // ipsec-parser refused it; ours must have said why too.
            assert!(
                rec.error.is_some(),
                "{name} frame {frame}: ipsec-parser refuses, inspect accepts"
            );
            continue;
        };
        assert_eq!(
            rec.ispi.as_deref(),
            Some(format!("{:016x}", hdr.init_spi).as_str()),
            "{name} {frame}"
        );
        assert_eq!(
            rec.rspi.as_deref(),
            Some(format!("{:016x}", hdr.resp_spi).as_str()),
            "{name} {frame}"
        );
        assert_eq!(rec.exchange_type, Some(hdr.exch_type.0), "{name} {frame}");
        assert_eq!(rec.flags, Some(hdr.flags), "{name} {frame}");
        assert_eq!(rec.message_id, Some(hdr.msg_id), "{name} {frame}");
        assert_eq!(rec.length, Some(hdr.length), "{name} {frame}");
        if let Ok(list) = payloads {
            let theirs = chain_types(&list);
            let mine: Vec<u64> = rec
                .payloads
                .iter()
                .map(|p| u64::from(p.payload_type))
                .collect();
            assert_eq!(mine, theirs, "{name} frame {frame}");
            compared += 1;
        }
    }
    compared
}

#[test]
fn fixtures_agree_with_ipsec_parser() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pcap");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no fixtures at {}", dir.display());
        return;
    };
    let mut total = 0;
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if !matches!(
            p.extension().and_then(|x| x.to_str()),
            Some("pcap" | "pcapng")
        ) {
            continue;
        }
        let n = compare(&p.display().to_string(), &std::fs::read(&p).unwrap());
        eprintln!("{}: {n} chains compared", p.display());
        total += n;
    }
    eprintln!("{total} payload chains compared with ipsec-parser");
}

mod random_chains {
    use super::*;
    use proptest::prelude::*;

    /// A raw-IP (link type 101) pcap with one UDP/500 datagram.
    fn capture(msg: &[u8]) -> Vec<u8> {
        let mut ip = vec![0x45, 0];
        ip.extend_from_slice(&((28 + msg.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[
            0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 1, 244, 1, 244,
        ]);
        ip.extend_from_slice(&((8 + msg.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(msg);
        let mut v = 0xa1b2_c3d4u32.to_le_bytes().to_vec();
        v.extend_from_slice(&[2, 0, 4, 0]);
        for x in [0u32, 0, 65535, 101, 1, 0, ip.len() as u32, ip.len() as u32] {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.extend_from_slice(&ip);
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Chains of opaque payloads (Nonce, Vendor ID, unassigned types)
        /// with correct lengths: both decoders must see the same types.
        #[test]
        fn same_chain_as_ipsec_parser(
            payloads in proptest::collection::vec(
                (prop::sample::select(vec![40u8, 43, 99, 201]), proptest::collection::vec(any::<u8>(), 16..48)),
                1..8,
            ),
        ) {
            let mut chain = Vec::new();
            for (i, (_, body)) in payloads.iter().enumerate() {
                let next = payloads.get(i + 1).map_or(0, |p| p.0);
                chain.extend_from_slice(&[next, 0]);
                chain.extend_from_slice(&((4 + body.len()) as u16).to_be_bytes());
                chain.extend_from_slice(body);
            }
            let mut msg = vec![1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, payloads[0].0, 0x20, 34, 8, 0, 0, 0, 0];
            msg.extend_from_slice(&((28 + chain.len()) as u32).to_be_bytes());
            msg.extend_from_slice(&chain);
            let r = inspect(&capture(&msg), None);
            prop_assert_eq!(r.messages.len(), 1);
            let mine: Vec<u64> = r.messages[0].payloads.iter().map(|p| u64::from(p.payload_type)).collect();
            let (_, (_, list)) = parse_ikev2_message(&msg).unwrap();
            prop_assert_eq!(mine, chain_types(&list.unwrap()));
        }
    }
}
