//! Differential test against Wireshark: for every capture in
//! `tests/fixtures/pcap/`, `yadokari inspect --json` must list every IKE
//! message tshark lists, in the same frame, with the same SPIs, exchange
//! type, I/R flags, message ID and payload type chain, and, where tshark
//! decrypted an SK payload or reassembled SKF fragments, the same inner
//! chain.
//!
//! tshark is run on the capture when it is installed (with the capture's
//! `.keys` table as `ikev2_decryption_table` in a private configuration
//! directory); otherwise (or with `YADOKARI_DIFF_COMMITTED=1`) the
//! committed `NAME.tshark.json` is used. A capture with neither is reported
//! and skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/pcap")
}

/// One IKE message as either decoder saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    ispi: String,
    rspi: String,
    exchange_type: u64,
    initiator: bool,
    response: bool,
    message_id: u64,
    payloads: Vec<u64>,
    /// Per position in `payloads`: the decrypted (SK) or reassembled (SKF)
    /// inner chain, where the decoder produced one.
    inner: BTreeMap<usize, Vec<u64>>,
}

/// tshark merges repeated keys into arrays; a single occurrence is a bare
/// value.
fn items(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(x) => vec![x],
    }
}

fn num(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_default();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap_or_else(|_| panic!("not a number: {v}")),
    }
}

fn types(obj: &Value) -> Vec<u64> {
    items(obj.get("isakmp.typepayload"))
        .into_iter()
        .map(num)
        .collect()
}

fn tshark_messages(json: &Value) -> BTreeMap<u64, Seen> {
    let mut out = BTreeMap::new();
    for pkt in json.as_array().expect("tshark JSON is an array") {
        let layers = &pkt["_source"]["layers"];
        let frame = num(&layers["frame"]["frame.number"]);
        for ik in items(layers.get("isakmp")) {
            let payloads = types(ik);
            let trees = items(ik.get("isakmp.typepayload_tree"));
            let mut inner = BTreeMap::new();
            for (i, (t, tree)) in payloads.iter().zip(&trees).enumerate() {
                match t {
                    46 => {
                        if let Some(c) = tree
                            .get("isakmp.enc.decrypted")
                            .map(|d| &d["isakmp.enc.contained"])
                        {
                            inner.insert(i, types(c));
                        }
                    }
                    53 if tree.get("isakmp.typepayload").is_some() => {
                        inner.insert(i, types(tree));
                    }
                    _ => {}
                }
            }
            let flags = &ik["isakmp.flags_tree"];
            let seen = Seen {
                ispi: ik["isakmp.ispi"].as_str().unwrap().replace(':', ""),
                rspi: ik["isakmp.rspi"].as_str().unwrap().replace(':', ""),
                exchange_type: num(&ik["isakmp.exchangetype"]),
                initiator: flags["isakmp.flag_i"] == "1",
                response: flags["isakmp.flag_r"] == "1",
                message_id: num(&ik["isakmp.messageid"]),
                payloads,
                inner,
            };
            assert!(
                out.insert(frame, seen).is_none(),
                "two IKE messages in frame {frame}"
            );
        }
    }
    out
}

fn chain_types(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| p["type"].as_u64().unwrap())
        .collect()
}

fn yadokari_messages(
    pcap: &Path,
    keys: Option<&Path>,
) -> (BTreeMap<u64, Seen>, BTreeMap<u64, String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yadokari"));
    cmd.arg("inspect").arg("--json");
    if let Some(k) = keys {
        cmd.arg("--keys").arg(k);
    }
    let o = cmd.arg(pcap).output().unwrap();
    assert!(
        o.status.success(),
        "{}: {}",
        pcap.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut out = BTreeMap::new();
    let mut errors = BTreeMap::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        let frame = m["frame"].as_u64().unwrap();
        if let Some(e) = m.get("error") {
            errors.insert(frame, e.as_str().unwrap().to_owned());
        }
        let payloads = chain_types(&m["payloads"]);
        let mut inner = BTreeMap::new();
        for (i, p) in m["payloads"].as_array().unwrap().iter().enumerate() {
            if let Some(c) = p.get("inner").or_else(|| p.get("reassembled")) {
                inner.insert(i, chain_types(c));
            }
        }
        out.insert(
            frame,
            Seen {
                ispi: m["ispi"].as_str().unwrap_or_default().to_owned(),
                rspi: m["rspi"].as_str().unwrap_or_default().to_owned(),
                exchange_type: m["exchange_type"].as_u64().unwrap_or(999),
                initiator: m["initiator"].as_bool().unwrap_or_default(),
                response: m["response"].as_bool().unwrap_or_default(),
                message_id: m["message_id"].as_u64().unwrap_or(u64::MAX),
                payloads,
                inner,
            },
        );
    }
    (out, errors)
}

fn tshark_available() -> bool {
    Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs tshark with `keys` installed as its IKEv2 decryption table.
fn run_tshark(pcap: &Path, keys: Option<&Path>, scratch: &Path) -> Value {
    let conf = scratch.join("wireshark");
    std::fs::create_dir_all(&conf).unwrap();
    let table = conf.join("ikev2_decryption_table");
    match keys {
        Some(k) => std::fs::copy(k, &table).map(|_| ()).unwrap(),
        None => std::fs::write(&table, b"").unwrap(),
    }
    let o = Command::new("tshark")
        .env("WIRESHARK_CONFIG_DIR", &conf)
        .env("HOME", scratch)
        .args([
            "-n",
            "-T",
            "json",
            "--no-duplicate-keys",
            "-J",
            "frame isakmp",
            "-r",
        ])
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tshark on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn agrees_with_tshark_on_every_fixture() {
    let dir = fixtures();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no fixtures at {}: nothing to compare", dir.display());
        return;
    };
    let mut captures: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("pcap" | "pcapng")
            )
        })
        .collect();
    captures.sort();
    let scratch =
        std::env::temp_dir().join(format!("yadokari-differential-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    // YADOKARI_DIFF_COMMITTED=1 forces the committed JSON even with tshark.
    let live = tshark_available() && std::env::var_os("YADOKARI_DIFF_COMMITTED").is_none();
    let mut compared = 0;
    let mut failures = Vec::new();
    for pcap in &captures {
        let stem = pcap.with_extension("");
        let keys = stem.with_extension("keys");
        let keys = keys.exists().then_some(keys.as_path());
        let reference = if live {
            run_tshark(pcap, keys, &scratch)
        } else {
            let committed = stem.with_extension("tshark.json");
            match std::fs::read(&committed) {
                Ok(b) => serde_json::from_slice(&b).unwrap(),
                Err(_) => {
                    eprintln!(
                        "skip {}: no tshark and no {}",
                        pcap.display(),
                        committed.display()
                    );
                    continue;
                }
            }
        };
        let theirs = tshark_messages(&reference);
        let (ours, errors) = yadokari_messages(pcap, keys);
        let name = pcap.file_name().unwrap().to_string_lossy();
        for (frame, t) in &theirs {
            match ours.get(frame) {
                None => failures.push(format!(
                    "{name}: frame {frame}: tshark lists an IKE message, yadokari does not"
                )),
                Some(o) if o != t => failures.push(format!(
                    "{name}: frame {frame}:\n  tshark   {t:?}\n  yadokari {o:?}"
                )),
                Some(_) => {}
            }
            if let Some(e) = errors.get(frame) {
                failures.push(format!(
                    "{name}: frame {frame}: yadokari reports an error tshark does not: {e}"
                ));
            }
        }
        for frame in ours.keys().filter(|f| !theirs.contains_key(f)) {
            // An extra listing is only acceptable when it explains itself.
            if !errors.contains_key(frame) {
                failures.push(format!(
                    "{name}: frame {frame}: yadokari lists a message tshark does not"
                ));
            }
        }
        let inner: usize = theirs.values().map(|t| t.inner.len()).sum();
        eprintln!(
            "{name}: {} IKE messages, {inner} decrypted inner chains compared ({})",
            theirs.len(),
            if live { "tshark" } else { "committed JSON" }
        );
        compared += 1;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!("{compared} captures compared");
}
