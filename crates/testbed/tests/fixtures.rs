//! The committed capture fixtures are complete and agree with each other:
//! every capture has its key table, every key-table row matches an IKE SA
//! in the `.sk.txt`, and the set stays small. Needs no root.

use std::collections::BTreeSet;
use std::fs;

use yadokari_testbed::fixtures::{parse_sk_txt, pcap_dir};

fn base_name(stem: &str) -> &str {
    stem.strip_suffix("-sll2")
        .or_else(|| stem.strip_suffix("-ng"))
        .unwrap_or(stem)
}

#[test]
fn fixtures_are_consistent() {
    let dir = pcap_dir();
    let mut captures = BTreeSet::new();
    let mut total = 0;
    for e in fs::read_dir(&dir).expect("tests/fixtures/pcap exists") {
        let e = e.unwrap();
        total += e.metadata().unwrap().len();
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name
            .strip_suffix(".pcapng")
            .or_else(|| name.strip_suffix(".pcap"))
        {
            captures.insert(stem.to_owned());
        }
    }
    assert!(total < 2 * 1024 * 1024, "fixtures are {total} bytes");
    assert!(captures.len() >= 9, "{captures:?}");
    for stem in &captures {
        let keys = fs::read_to_string(dir.join(format!("{stem}.keys")))
            .unwrap_or_else(|_| panic!("{stem}.keys missing"));
        let base = base_name(stem);
        let sk = fs::read_to_string(dir.join(format!("{base}.sk.txt"))).unwrap();
        let blocks = parse_sk_txt(&sk).unwrap();
        let ike: Vec<_> = blocks.iter().filter(|b| b.kind == "ike").collect();
        assert_eq!(
            ike.len(),
            keys.lines().count(),
            "{stem}: one key row per IKE SA"
        );
        for row in keys.lines() {
            let f: Vec<&str> = row.split(',').collect();
            assert_eq!(f.len(), 8, "{stem}: {row}");
            let b = ike
                .iter()
                .find(|b| b.get("spi_i") == Some(f[0]) && b.get("spi_r") == Some(f[1]))
                .unwrap_or_else(|| panic!("{stem}: no sk.txt block for {row}"));
            assert_eq!(b.get("sk_ei"), Some(f[2]));
            assert_eq!(b.get("sk_er"), Some(f[3]));
            assert_eq!(b.get("sk_ai"), Some(f[5]));
            assert_eq!(b.get("sk_ar"), Some(f[6]));
            for k in ["ni", "nr", "g_ir", "skeyseed", "sk_d", "sk_pi", "sk_pr"] {
                assert!(!b.hex(k).unwrap().is_empty(), "{stem}: empty {k}");
            }
        }
        assert!(
            blocks.iter().any(|b| b.kind == "child"),
            "{stem}: no CHILD SA"
        );
    }
}
