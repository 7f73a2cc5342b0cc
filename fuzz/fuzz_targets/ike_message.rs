//! Fuzz the IKEv2 decoder: whole messages, bare payload chains (as found
//! inside a decrypted SK payload), every typed notification body, the SK
//! layout helpers. Whatever parses must re-emit, and the re-emitted bytes
//! must parse to the same message (with recomputed header length / next
//! payload) and re-emit to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yadokari_wire::payload::{chain_to_vec, decode_chain, decode_chain_strict, Payload};
use yadokari_wire::registry::PayloadType;
use yadokari_wire::{EncryptedLayout, Header, Message};

fn exercise(payloads: &[Payload<'_>]) {
    for p in payloads {
        match p {
            Payload::Notify(n) => {
                let _ = n.body();
                let _ = n.spi_u32();
            }
            Payload::Auth(a) => {
                let _ = a.signature_data(0);
            }
            Payload::IdI(id) | Payload::IdR(id) => {
                let _ = id.value();
            }
            Payload::Sk(sk) => {
                let _ = sk.split(16, 16);
            }
            Payload::Skf(skf) => {
                let _ = skf.split(8, 12);
            }
            Payload::TsI(ts) | Payload::TsR(ts) => {
                for r in ts.iter_ranges() {
                    let _ = r.icmp_start();
                }
            }
            Payload::Cp(cp) => {
                for a in &cp.attributes {
                    let _ = (
                        a.as_ipv4(),
                        a.as_ipv6_prefix(),
                        a.as_ipv4_subnet(),
                        a.as_str(),
                    );
                }
            }
            Payload::Delete(d) => {
                let _ = d.spis_u32();
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // 1. A whole message.
    let _ = Header::parse(data);
    let _ = Message::raw_payloads(data);
    if let Ok(Some(l)) = EncryptedLayout::locate(data) {
        assert!(l.body.end <= data.len());
        let _ = (
            l.aad(),
            l.iv(16),
            l.ciphertext(16, 16),
            l.icv(16),
            l.integrity(16),
        );
    }
    if let Ok(m) = Message::parse(data) {
        exercise(&m.payloads);
        let bytes = m.to_vec().expect("a parsed message re-emits");
        let again = Message::parse(&bytes).expect("re-emitted bytes parse");
        let mut expect = m.clone();
        expect.header.length = bytes.len() as u32;
        expect.header.next_payload = m
            .payloads
            .first()
            .map_or(PayloadType::NO_NEXT_PAYLOAD, Payload::payload_type);
        assert_eq!(again, expect);
        assert_eq!(again.to_vec().expect("re-emit"), bytes);
    }

    // 2. A bare payload chain: first byte = first payload type.
    if let Some((&first, rest)) = data.split_first() {
        let first = PayloadType(first);
        let _ = decode_chain_strict(first, rest, 1);
        if let Ok(ps) = decode_chain(first, rest, 1) {
            exercise(&ps);
            let (f, bytes) = chain_to_vec(&ps).expect("a parsed chain re-emits");
            let again = decode_chain(f, &bytes, 0).expect("re-emitted chain parses");
            assert_eq!(again, ps);
        }
    }
});
