//! Fuzz the port-4500 path: the RFC 3948 classifier, then every ESP
//! datagram through inbound SAs of each algorithm family (fixed test
//! keys, both modes, ESN on and off). Nothing may panic, every packet is
//! either accepted or counted as exactly one drop, and an accepted
//! payload range lies inside the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yadokari_esp::{Encryption, InboundConfig, InboundSa, Integrity, Mode, Suite};
use yadokari_wire::esp;
use yadokari_wire::udp_encap::Datagram;

const SPI: u32 = 0x0102_0304;

fn sa(selector: u8) -> InboundSa {
    let (enc, integ) = match selector % 6 {
        0 => (Encryption::AesGcm128, Integrity::None),
        1 => (Encryption::AesGcm256, Integrity::None),
        2 => (Encryption::ChaCha20Poly1305, Integrity::None),
        3 => (Encryption::AesCbc128, Integrity::HmacSha256_128),
        4 => (Encryption::AesCbc256, Integrity::HmacSha1_96),
        _ => (Encryption::Null, Integrity::HmacSha512_256),
    };
    let suite = Suite::new(enc, integ).expect("the table holds valid suites");
    let mode = if selector & 0x10 != 0 {
        Mode::Tunnel
    } else {
        Mode::Transport
    };
    let mut cfg = InboundConfig::new(SPI, suite, mode);
    cfg.esn = selector & 0x20 != 0;
    let ek: Vec<u8> = (0..suite.encryption_key_len()).map(|i| i as u8).collect();
    let ak: Vec<u8> = (0..suite.integrity_key_len()).map(|i| !(i as u8)).collect();
    InboundSa::new(cfg, &ek, &ak).expect("fixed test keys have the right lengths")
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(Datagram::Esp(packet)) = Datagram::classify(rest) else {
        return;
    };
    if let Ok(p) = esp::Packet::new_checked(packet) {
        let _ = esp::Repr::parse(&p);
    }
    let mut sa = sa(selector);
    // Force the SA's SPI on half of the inputs so the deeper stages run.
    let mut buf = packet.to_vec();
    if selector & 0x40 != 0 {
        buf[..4].copy_from_slice(&SPI.to_be_bytes());
    }
    let _ = sa.precheck(&buf);
    match sa.decap(&mut buf) {
        Ok(d) => {
            assert!(d.payload.start <= d.payload.end && d.payload.end <= buf.len());
            assert_eq!(sa.counters().packets, 1);
        }
        Err(_) => assert_eq!(sa.counters().total_drops(), 1),
    }
    let _ = esp::Trailer::parse(&buf);
});
