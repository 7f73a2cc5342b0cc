//! Feeds arbitrary bytes to `yadokari inspect` as a capture file, with and
//! without a key table, and renders both output formats into a sink. Must
//! never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A key table whose SPIs are taken from the input, so SK payloads with
    // matching SPIs go through decryption too.
    let spis = data.get(..16).map(|b| hex_of(b)).unwrap_or_default();
    let table = if spis.len() == 32 {
        yadokari::keys::KeyTable::parse(&format!(
            "{},{},{},{},\"AES-CBC-128 [RFC3602]\",{},{},\"HMAC_SHA2_256_128 [RFC4868]\"\n",
            &spis[..16],
            &spis[16..],
            "00".repeat(16),
            "11".repeat(16),
            "22".repeat(32),
            "33".repeat(32)
        ))
        .ok()
    } else {
        None
    };
    for keys in [None, table.as_ref()] {
        let r = yadokari::inspect::inspect(data, keys);
        let _ = yadokari::output::write_json(&r.messages, &mut std::io::sink());
        let _ = yadokari::output::write_table(&r.messages, &r.summary, true, &mut std::io::sink());
    }
});

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
