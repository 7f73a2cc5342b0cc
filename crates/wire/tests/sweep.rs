//! Deterministic corruption sweeps over sample messages, in the manner of
//! a parser regression suite: flip every bit, overwrite every byte with
//! boundary values, and cut at every length. Nothing may panic; whatever
//! still parses must re-emit and re-parse to the same message; every cut
//! must be an error.

mod common;

use yadokari_wire::payload::{decode_chain, Payload};
use yadokari_wire::{EncryptedLayout, Message};

fn reparse_stable(b: &[u8]) -> bool {
    let _ = Message::raw_payloads(b);
    let _ = EncryptedLayout::locate(b);
    match Message::parse(b) {
        Ok(m) => {
            for n in m.notifies() {
                let _ = n.body();
            }
            if let Ok(v) = m.to_vec() {
                assert_eq!(Message::parse(&v).unwrap(), common::normalized(&m, v.len()));
            }
            true
        }
        Err(e) => {
            // Errors always point inside (or just past) the input.
            assert!(e.offset <= b.len(), "{e} for a {}-byte input", b.len());
            false
        }
    }
}

#[test]
fn bit_flip_sweep() {
    for s in common::samples() {
        let mut accepted = 0;
        for i in 0..s.len() {
            for bit in 0..8 {
                let mut b = s.clone();
                b[i] ^= 1 << bit;
                accepted += usize::from(reparse_stable(&b));
            }
        }
        // Flips inside opaque data stay valid; flips in lengths must not.
        assert!(accepted > 0 && accepted < s.len() * 8);
    }
}

#[test]
fn byte_overwrite_sweep() {
    for s in common::samples() {
        for i in 0..s.len() {
            for v in [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff] {
                let mut b = s.clone();
                b[i] = v;
                reparse_stable(&b);
            }
        }
    }
}

#[test]
fn truncation_sweep() {
    for s in common::samples() {
        for n in 0..s.len() {
            assert!(Message::parse(&s[..n]).is_err());
            if n >= 28 {
                let mut t = s[..n].to_vec();
                t[24..28].copy_from_slice(&(n as u32).to_be_bytes());
                assert!(Message::parse(&t).is_err(), "cut at {n} parsed");
            }
        }
        assert!(Message::parse(&s).is_ok());
        // Extra bytes after the message are rejected too.
        let mut long = s.clone();
        long.push(0);
        assert!(Message::parse(&long).is_err());
    }
}

#[test]
fn inner_chain_truncation_sweep() {
    let inner = common::ike_auth_inner();
    let (first, plain) = yadokari_wire::payload::chain_to_vec(&inner).unwrap();
    let decoded: Vec<Payload<'_>> = decode_chain(first, &plain, 0).unwrap();
    assert_eq!(decoded, inner);
    for n in 0..plain.len() {
        assert!(decode_chain(first, &plain[..n], 0).is_err(), "cut at {n}");
    }
}
