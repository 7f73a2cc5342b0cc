//! Property tests: emit→parse is the identity for every payload type and
//! for whole messages; parse never panics on arbitrary or mutated bytes;
//! every truncation of a valid message is an error; parse→emit→parse is
//! stable.

mod common;

use proptest::prelude::*;
use yadokari_wire::codec::Writer;
use yadokari_wire::payload::*;
use yadokari_wire::registry::PayloadType;
use yadokari_wire::{Context, Message};

/// Emits one payload as a single-element chain and decodes it back.
fn one(p: &Payload<'static>) -> Payload<'static> {
    let mut v = Vec::new();
    let mut w = Writer::new(&mut v, Context::Chain);
    let first = emit_chain(std::slice::from_ref(p), &mut w).unwrap();
    let mut out = decode_chain(first, &v, 0).unwrap();
    assert_eq!(out.len(), 1);
    out.remove(0).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn payload_emit_parse_identity(p in common::inner_payload()) {
        prop_assert_eq!(one(&p), p);
    }

    #[test]
    fn encrypted_payload_emit_parse_identity(p in common::encrypted_payload()) {
        prop_assert_eq!(one(&p), p);
    }

    #[test]
    fn message_emit_parse_identity(m in common::message()) {
        let bytes = m.to_vec().unwrap();
        let parsed = Message::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &common::normalized(&m, bytes.len()));
        // Emission is deterministic and parse→emit reproduces the bytes.
        prop_assert_eq!(parsed.to_vec().unwrap(), bytes);
    }

    #[test]
    fn every_truncation_errors(m in common::message()) {
        let bytes = m.to_vec().unwrap();
        for n in 0..bytes.len() {
            prop_assert!(Message::parse(&bytes[..n]).is_err());
            if n >= 28 && !m.payloads.is_empty() {
                // Even with the header length made consistent, the chain is short.
                let mut t = bytes[..n].to_vec();
                t[24..28].copy_from_slice(&(n as u32).to_be_bytes());
                prop_assert!(Message::parse(&t).is_err(), "truncated to {} parsed", n);
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..512)) {
        check_any(&b);
    }

    #[test]
    fn arbitrary_chain_never_panics(first in any::<u8>(), b in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(ps) = decode_chain(PayloadType(first), &b, 0) {
            let (f, v) = chain_to_vec(&ps).unwrap();
            prop_assert_eq!(decode_chain(f, &v, 0).unwrap(), ps);
        }
    }

    #[test]
    fn mutated_messages_never_panic(
        m in common::message(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = m.to_vec().unwrap();
        for (i, v) in edits {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        check_any(&bytes);
    }
}

/// Parses arbitrary bytes; if that works, re-emit, re-parse and compare,
/// and decode every notify body.
fn check_any(b: &[u8]) {
    let _ = yadokari_wire::Header::parse(b);
    let _ = Message::raw_payloads(b);
    let _ = yadokari_wire::EncryptedLayout::locate(b);
    if let Ok(m) = Message::parse(b) {
        for n in m.notifies() {
            let _ = n.body();
        }
        for p in &m.payloads {
            if let Payload::Auth(a) = p {
                let _ = a.signature_data(0);
            }
            if let Payload::Sk(sk) = p {
                let _ = sk.split(16, 16);
            }
        }
        if let Ok(v) = m.to_vec() {
            let again = Message::parse(&v).unwrap();
            assert_eq!(again, common::normalized(&m, v.len()));
        }
    }
}
