//! Fuzz the EtherIP (RFC 3378) view: parsing never panics, what parses
//! re-emits to the same two header bytes, and the frame is the rest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yadokari_wire::etherip::{self, Packet, Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (p.version(), p.reserved(), p.payload().len());
    }
    if let Ok(frame) = etherip::parse(data) {
        assert_eq!(frame, &data[etherip::HEADER_LEN..]);
        let mut out = data.to_vec();
        Repr.emit_into(&mut out)
            .expect("a parsed packet holds the header");
        assert_eq!(out, data);
    }
});
