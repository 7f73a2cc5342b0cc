//! Known answers from real strongSwan sessions (style guide §g.1): for every
//! `tests/fixtures/pcap/NAME.sk.txt`, derive SK_* (RFC 7296 §2.14, and
//! §2.18 for rekeyed IKE SAs) and every CHILD SA's KEYMAT (§2.17) through
//! the core's own key-schedule path (`suite::derive_ike_keys`,
//! `suite::child_keymat`) from the logged nonces, SPIs and g^ir, and compare
//! with what charon logged.

use std::collections::BTreeMap;
use std::path::PathBuf;

use yadokari_ike::proposal::{ids, ChildAlgorithms, Proposal, Transform};
use yadokari_ike::reg::transform_type as tt;
use yadokari_ike::suite::{self, IkeKeys, IkeSuite};

type Block = BTreeMap<String, String>;

fn parse(text: &str) -> Vec<(String, Block)> {
    let mut out: Vec<(String, Block)> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            out.push((h.to_owned(), Block::new()));
        } else if let (Some((k, v)), Some(last)) = (line.split_once('='), out.last_mut()) {
            last.1.insert(k.trim().to_owned(), v.trim().to_owned());
        }
    }
    out
}

fn hex(b: &Block, k: &str) -> Vec<u8> {
    hex::decode(b.get(k).map(String::as_str).unwrap_or("")).unwrap_or_else(|e| panic!("{k}: {e}"))
}

/// charon's proposal spelling → transforms.
fn transforms(p: &str) -> Vec<Transform> {
    p.split('/')
        .map(|t| match t {
            "AES_GCM_16_128" => Transform::new(tt::ENCR, ids::ENCR_AES_GCM_16, Some(128)),
            "AES_GCM_16_256" => Transform::new(tt::ENCR, ids::ENCR_AES_GCM_16, Some(256)),
            "AES_CBC_128" => Transform::new(tt::ENCR, ids::ENCR_AES_CBC, Some(128)),
            "AES_CBC_256" => Transform::new(tt::ENCR, ids::ENCR_AES_CBC, Some(256)),
            "HMAC_SHA2_256_128" => Transform::new(tt::INTEG, ids::AUTH_HMAC_SHA2_256_128, None),
            "HMAC_SHA2_384_192" => Transform::new(tt::INTEG, ids::AUTH_HMAC_SHA2_384_192, None),
            "PRF_HMAC_SHA2_256" => Transform::new(tt::PRF, ids::PRF_HMAC_SHA2_256, None),
            "PRF_HMAC_SHA2_384" => Transform::new(tt::PRF, ids::PRF_HMAC_SHA2_384, None),
            "CURVE_25519" => Transform::new(tt::KE, ids::CURVE25519, None),
            "ECP_256" => Transform::new(tt::KE, ids::ECP_256, None),
            "MODP_2048" => Transform::new(tt::KE, ids::MODP_2048, None),
            "NO_EXT_SEQ" => Transform::new(tt::ESN, ids::NO_ESN, None),
            "EXT_SEQ" => Transform::new(tt::ESN, ids::ESN, None),
            other => panic!("unknown transform {other}"),
        })
        .collect()
}

fn proposal(p: &str, protocol: u8) -> Proposal {
    Proposal {
        number: 1,
        protocol,
        spi: Vec::new(),
        transforms: transforms(p),
    }
}

fn spi64(b: &Block, k: &str) -> u64 {
    u64::from_str_radix(&b[k], 16).unwrap_or_else(|e| panic!("{k}: {e}"))
}

fn fixtures() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pcap");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(".sk.txt"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn check_ike(name: &str, b: &Block, keys: &IkeKeys) {
    let raw = keys.raw();
    for (k, got) in [
        ("sk_d", &raw.sk_d),
        ("sk_ai", &raw.sk_ai),
        ("sk_ar", &raw.sk_ar),
        ("sk_ei", &raw.sk_ei),
        ("sk_er", &raw.sk_er),
        ("sk_pi", &raw.sk_pi),
        ("sk_pr", &raw.sk_pr),
    ] {
        assert_eq!(hex::encode(got.expose()), b[k], "{name}: {k}");
    }
}

#[test]
fn key_schedule_matches_strongswan_logs() {
    let files = fixtures();
    if files.is_empty() {
        eprintln!("no tests/fixtures/pcap/*.sk.txt: nothing to compare");
        return;
    }
    let (mut n_ike, mut n_child) = (0, 0);
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{name}: {e}"));
        let blocks = parse(&text);
        // IKE SAs by their SPIi, so rekeys find the SA they replace.
        let mut ikes: Vec<(u64, IkeKeys)> = Vec::new();
        for (head, b) in blocks.iter().filter(|(h, _)| h.starts_with("ike")) {
            let suite = IkeSuite::from_proposal(&proposal(&b["proposal"], 1))
                .unwrap_or_else(|e| panic!("{name} {head}: {e}"));
            let old = match b.get("rekeys").filter(|s| !s.is_empty()) {
                Some(r) => {
                    let r = u64::from_str_radix(r, 16).unwrap_or_else(|e| panic!("{e}"));
                    Some(
                        &ikes
                            .iter()
                            .find(|(s, _)| *s == r)
                            .unwrap_or_else(|| panic!("{name} {head}: rekeyed SA"))
                            .1,
                    )
                }
                None => None,
            };
            let keys = suite::derive_ike_keys(
                suite,
                old,
                &hex(b, "ni"),
                &hex(b, "nr"),
                &hex(b, "g_ir"),
                spi64(b, "spi_i"),
                spi64(b, "spi_r"),
            )
            .unwrap_or_else(|e| panic!("{name} {head}: {e}"));
            check_ike(&format!("{name} {head}"), b, &keys);
            ikes.push((spi64(b, "spi_i"), keys));
            n_ike += 1;
        }
        for (head, b) in blocks.iter().filter(|(h, _)| h.starts_with("child")) {
            let p = proposal(&b["proposal"], 3);
            let algs = ChildAlgorithms::from_proposal(&p)
                .unwrap_or_else(|| panic!("{name} {head}: algorithms"));
            let (el, il) = (
                algs.encr_key_len().unwrap_or(0),
                algs.integ_key_len().unwrap_or(0),
            );
            let g = hex(b, "g_ir");
            let want = [
                b["encr_i"].clone(),
                b["integ_i"].clone(),
                b["encr_r"].clone(),
                b["integ_r"].clone(),
            ];
            // The block does not say which IKE SA's SK_d made it: exactly one must.
            let matches = ikes
                .iter()
                .filter(|(_, k)| {
                    let Ok((i, r)) = suite::child_keymat(
                        k,
                        (!g.is_empty()).then_some(&g[..]),
                        &hex(b, "ni"),
                        &hex(b, "nr"),
                        el,
                        il,
                    ) else {
                        return false;
                    };
                    [
                        hex::encode(i.encr.expose()),
                        hex::encode(i.integ.expose()),
                        hex::encode(r.encr.expose()),
                        hex::encode(r.integ.expose()),
                    ] == want
                })
                .count();
            assert_eq!(matches, 1, "{name} {head}: KEYMAT from SK_d");
            n_child += 1;
        }
    }
    eprintln!("{n_ike} IKE SAs and {n_child} CHILD SAs match strongSwan");
    assert!(n_ike >= 5 && n_child >= 5);
}
