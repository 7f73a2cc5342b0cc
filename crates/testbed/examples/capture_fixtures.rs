//! Captures real strongSwan ⇄ strongSwan sessions as test fixtures (run by
//! `scripts/capture-fixtures.sh`, needs root).
//!
//! For each scenario it writes into OUTDIR:
//! - `NAME.pcap`: the left peer's outer interface, UDP 500/4500 only
//!   (IKE, IKE in UDP 4500 after the non-ESP marker, ESP in UDP, NAT-T
//!   keepalives);
//! - `NAME.keys`: Wireshark's `ikev2_decryption_table` for every IKE SA;
//! - `NAME.esp_sa`: Wireshark's `esp_sa` for every CHILD SA;
//! - `NAME.sk.txt`: the secrets of every IKE SA and CHILD SA (format in
//!   `tests/fixtures/README.md`), from charon's debug log, with the nonces
//!   taken from the decrypted capture and SKEYSEED re-derived with openssl
//!   as a check;
//! - `NAME.tshark.json`: `tshark -T json` of the decrypted IKE packets;
//! - `NAME.summary.txt`: tshark's one-line-per-packet view, decrypted.
//!
//! Usage: `capture_fixtures OUTDIR [SCENARIO...]`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use yadokari_testbed::charon_log::LogKeys;
use yadokari_testbed::swanctl_conf::child_name;
use yadokari_testbed::topology::OUTER_IF;
use yadokari_testbed::wireshark::{self, to_hex};
use yadokari_testbed::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum AuthKind {
    Psk,
    Ecdsa,
    Rsa,
}

#[derive(Clone, Copy)]
enum Step {
    Initiate,
    Ping,
    RekeyChild(Side),
    RekeyIke(Side),
    Idle(Duration),
    TerminateChild(Side),
    TerminateIke(Side),
}

struct Scenario {
    name: &'static str,
    kind: TopologyKind,
    outer: Family,
    inner: Family,
    auth: AuthKind,
    /// IKE and ESP proposals, if not the preset's.
    proposals: Option<(&'static str, &'static str)>,
    fragment_size: Option<u32>,
    keep_alive: Option<Duration>,
    dpd_delay: Option<Duration>,
    fragmentation: Option<Fragmentation>,
    /// Also capture `-i any` (LINUX_SLL2) and convert to pcapng.
    link_variants: bool,
    steps: &'static [Step],
}

const BASIC: &[Step] = &[Step::Initiate, Step::Ping, Step::TerminateIke(Side::Left)];
/// Idle long enough for NAT-T keepalives (1 s) and DPD (2 s) to show.
const NAT_STEPS: &[Step] = &[
    Step::Initiate,
    Step::Ping,
    Step::Idle(Duration::from_millis(4500)),
    Step::Ping,
    Step::TerminateIke(Side::Right),
];

fn scenarios() -> Vec<Scenario> {
    let base = |name, steps| Scenario {
        name,
        kind: TopologyKind::Direct,
        outer: Family::V4,
        inner: Family::V4,
        auth: AuthKind::Psk,
        proposals: None,
        fragment_size: None,
        keep_alive: None,
        dpd_delay: None,
        fragmentation: None,
        link_variants: false,
        steps,
    };
    vec![
        Scenario {
            link_variants: true,
            ..base("psk-gcm-x25519-v4", BASIC)
        },
        Scenario {
            outer: Family::V6,
            inner: Family::V6,
            ..base("psk-gcm-x25519-v6", BASIC)
        },
        Scenario {
            proposals: Some(("aes256-sha256-modp2048", "aes256-sha256-modp2048")),
            ..base(
                "psk-cbc-sha256-modp2048-v4",
                &[
                    Step::Initiate,
                    Step::Ping,
                    Step::RekeyChild(Side::Left),
                    Step::Ping,
                    Step::TerminateIke(Side::Left),
                ],
            )
        },
        Scenario {
            auth: AuthKind::Ecdsa,
            ..base("cert-ecdsa-v4", BASIC)
        },
        Scenario {
            kind: TopologyKind::Nat,
            keep_alive: Some(Duration::from_secs(1)),
            dpd_delay: Some(Duration::from_secs(2)),
            ..base("nat-keepalive-dpd-v4", NAT_STEPS)
        },
        Scenario {
            auth: AuthKind::Rsa,
            fragment_size: Some(512),
            fragmentation: Some(Fragmentation::Force),
            ..base("ikefrag-rsa-v4", BASIC)
        },
        base(
            "rekey-delete-v4",
            &[
                Step::Initiate,
                Step::Ping,
                Step::RekeyChild(Side::Left),
                Step::Ping,
                Step::RekeyIke(Side::Right),
                Step::Ping,
                Step::RekeyIke(Side::Left),
                Step::RekeyChild(Side::Right),
                Step::Ping,
                Step::TerminateChild(Side::Left),
                Step::TerminateIke(Side::Left),
            ],
        ),
    ]
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        bail!("usage: capture_fixtures OUTDIR [SCENARIO...]");
    };
    if let Some(why) = require_root_and_tools() {
        bail!("cannot capture: {why}");
    }
    let out = PathBuf::from(out);
    fs::create_dir_all(&out)?;
    let wanted: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let work = tempfile::Builder::new().prefix("yk-fixtures-").tempdir()?;
    for sc in scenarios() {
        if !wanted.is_empty() && !wanted.contains(&sc.name) {
            continue;
        }
        eprintln!("=== {}", sc.name);
        capture(&sc, &out, work.path()).with_context(|| format!("scenario {}", sc.name))?;
    }
    Ok(())
}

fn conf_for(sc: &Scenario, topo: &Topology, side: Side) -> SwanctlConf {
    let mut conf = site_to_site(topo, side, sc.outer, &[sc.inner]);
    if let Some((ike, esp)) = sc.proposals {
        conf = conf.with_proposals(ike, esp);
    }
    if sc.auth != AuthKind::Psk {
        conf = conf.with_certs(&format!("{}.crt", side.as_str()));
    }
    let c = conf.conn_mut();
    c.fragmentation = sc.fragmentation;
    c.dpd_delay = sc.dpd_delay;
    conf
}

fn wait_for(sw: &StrongSwan, what: &str, pred: impl Fn(&[IkeSaInfo]) -> bool) -> Result<()> {
    ensure!(
        sw.wait_sas(Duration::from_secs(10), pred),
        "timed out waiting for {what}"
    );
    Ok(())
}

fn capture(sc: &Scenario, out: &Path, work: &Path) -> Result<()> {
    let topo = Topology::new(sc.name, sc.kind)?;
    let pki = match sc.auth {
        AuthKind::Psk => None,
        AuthKind::Ecdsa => Some(Pki::create(
            &work.join(format!("{}-pki", sc.name)),
            KeyType::EcdsaP256,
        )?),
        AuthKind::Rsa => Some(Pki::create(
            &work.join(format!("{}-pki", sc.name)),
            KeyType::Rsa(2048),
        )?),
    };
    let opts = |side: Side| CharonOptions {
        fragment_size: sc.fragment_size,
        keep_alive: sc.keep_alive,
        credentials: pki
            .as_ref()
            .map(|p| p.credentials(side))
            .unwrap_or_default(),
        ..CharonOptions::default()
    };
    let left = StrongSwan::start(
        &topo.left,
        "left",
        &conf_for(sc, &topo, Side::Left),
        &opts(Side::Left),
    )?;
    let right = StrongSwan::start(
        &topo.right,
        "right",
        &conf_for(sc, &topo, Side::Right),
        &opts(Side::Right),
    )?;
    let sw = |s: Side| if s == Side::Left { &left } else { &right };

    let filter = Some("udp port 500 or udp port 4500");
    let pcap = out.join(format!("{}.pcap", sc.name));
    let cap = Capture::start(&topo.left, OUTER_IF, &pcap, filter)?;
    let sll2 = out.join(format!("{}-sll2.pcap", sc.name));
    let cap_any = if sc.link_variants {
        Some(Capture::start(&topo.left, "any", &sll2, filter)?)
    } else {
        None
    };

    let child = child_name(sc.inner);
    let dst = topo.addrs(Side::Right).site(sc.inner);
    for step in sc.steps {
        match *step {
            Step::Initiate => left.initiate(child)?,
            Step::Ping => ensure!(
                topo.ping(Side::Left, dst)?,
                "ping {dst} through the tunnel failed"
            ),
            Step::Idle(d) => std::thread::sleep(d),
            Step::RekeyChild(s) => {
                let before = sw(s).list_sas()?;
                let old: Vec<u32> = before
                    .iter()
                    .flat_map(|i| i.children.iter().map(|c| c.spi_in))
                    .collect();
                sw(s).rekey_child(child)?;
                for x in [&left, &right] {
                    wait_for(x, "CHILD rekey", |sas| {
                        sas.len() == 1
                            && sas[0].children.len() == 1
                            && sas[0].children[0].state == "INSTALLED"
                            && !old.contains(&sas[0].children[0].spi_in)
                            && !old.contains(&sas[0].children[0].spi_out)
                    })?;
                }
            }
            Step::RekeyIke(s) => {
                let old = sw(s).list_sas()?.first().map(|i| i.spi_i).unwrap_or(0);
                sw(s).rekey_ike("yk")?;
                for x in [&left, &right] {
                    wait_for(x, "IKE rekey", |sas| {
                        sas.len() == 1 && sas[0].spi_i != old && sas[0].state == "ESTABLISHED"
                    })?;
                }
            }
            Step::TerminateChild(s) => {
                sw(s).terminate_child(child)?;
                for x in [&left, &right] {
                    wait_for(x, "CHILD delete", |sas| {
                        sas.len() == 1 && sas[0].children.is_empty()
                    })?;
                }
            }
            Step::TerminateIke(s) => {
                sw(s).terminate_ike("yk")?;
                for x in [&left, &right] {
                    wait_for(x, "IKE delete", <[IkeSaInfo]>::is_empty)?;
                }
            }
        }
    }
    // Let the last INFORMATIONAL response reach the capture.
    std::thread::sleep(Duration::from_millis(300));
    let n = cap.stop()?;
    eprintln!("  {n} packets in {}", pcap.display());
    let lkeys = left.keys()?;
    let rkeys = right.keys()?;
    check_sides_agree(&lkeys, &rkeys)?;

    let ws = work.join(format!("{}-ws", sc.name));
    wireshark::write_tables(&ws, &lkeys, sc.outer)?;
    let table = fs::read_to_string(ws.join("ikev2_decryption_table"))?;
    ensure!(
        table.lines().count() == lkeys.ike_sas.len(),
        "an IKE SA lacks SPIs or a known algorithm: {lkeys:#?}"
    );
    fs::write(out.join(format!("{}.keys", sc.name)), &table)?;
    fs::copy(ws.join("esp_sa"), out.join(format!("{}.esp_sa", sc.name)))?;

    let nonces = tshark_nonces(&pcap, &ws)?;
    let sk = sk_txt(sc, &lkeys, &nonces)?;
    fs::write(out.join(format!("{}.sk.txt", sc.name)), sk)?;
    let json = tshark(
        &pcap,
        &ws,
        &["-T", "json", "--no-duplicate-keys", "-J", "frame isakmp"],
    )?;
    fs::write(out.join(format!("{}.tshark.json", sc.name)), json)?;
    let summary = tshark(&pcap, &ws, &[])?;
    fs::write(out.join(format!("{}.summary.txt", sc.name)), &summary)?;
    ensure!(
        !summary.contains("Malformed"),
        "tshark reports malformed packets:\n{summary}"
    );

    if let Some(c) = cap_any {
        let n = c.stop()?;
        eprintln!("  {n} packets in {}", sll2.display());
        fs::write(out.join(format!("{}-sll2.keys", sc.name)), &table)?;
        let ng = out.join(format!("{}-ng.pcapng", sc.name));
        netns::run(
            Command::new("editcap")
                .args(["-F", "pcapng"])
                .arg(&pcap)
                .arg(&ng),
        )?;
        fs::write(out.join(format!("{}-ng.keys", sc.name)), &table)?;
    }
    Ok(())
}

/// Both charons must have derived the same secrets for the same SPIs.
fn check_sides_agree(l: &LogKeys, r: &LogKeys) -> Result<()> {
    ensure!(
        l.ike_sas.len() == r.ike_sas.len(),
        "IKE SA count differs between the logs"
    );
    for a in &l.ike_sas {
        let b = r
            .ike_sas
            .iter()
            .find(|b| b.spi_i == a.spi_i && b.spi_r == a.spi_r)
            .with_context(|| format!("right log lacks IKE SA {:?}", a.spi_i))?;
        ensure!(
            a.skeyseed == b.skeyseed && a.sk_d == b.sk_d && a.sk_ei == b.sk_ei,
            "IKE keys differ"
        );
    }
    ensure!(
        l.child_sas.len() == r.child_sas.len(),
        "CHILD SA count differs between the logs"
    );
    for a in &l.child_sas {
        let b = r
            .child_sas
            .iter()
            .find(|b| b.spi_in == a.spi_out)
            .context("right log lacks a CHILD SA")?;
        ensure!(
            a.encr_i == b.encr_i && a.encr_r == b.encr_r,
            "CHILD keys differ"
        );
    }
    Ok(())
}

fn tshark(pcap: &Path, ws: &Path, args: &[&str]) -> Result<String> {
    let out = netns::run(
        Command::new("tshark")
            .env("WIRESHARK_CONFIG_DIR", ws)
            .args(["-o", "esp.enable_encryption_decode:TRUE", "-r"])
            .arg(pcap)
            .args(args),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// (SPIi, SPIr) of an IKE SA.
type IkeSpis = (u64, u64);

/// Nonces per exchange, from the decrypted capture.
#[derive(Debug, Default)]
struct Nonces {
    /// (SPIi, SPIr) of the IKE SA the nonces key → (Ni, Nr).
    ike: Vec<(IkeSpis, Vec<u8>, Vec<u8>)>,
    /// Every nonce in the capture.
    all: Vec<Vec<u8>>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.replace(':', "");
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn tshark_nonces(pcap: &Path, ws: &Path) -> Result<Nonces> {
    let text = tshark(
        pcap,
        ws,
        &[
            "-Y",
            "isakmp.nonce",
            "-T",
            "fields",
            "-e",
            "isakmp.ispi",
            "-e",
            "isakmp.rspi",
            "-e",
            "isakmp.exchangetype",
            "-e",
            "isakmp.flag_r",
            "-e",
            "isakmp.messageid",
            "-e",
            "isakmp.spi",
            "-e",
            "isakmp.nonce",
        ],
    )?;
    // IKE_SA_INIT: request (Ni) then response (Nr, SPIr). CREATE_CHILD_SA
    // rekeying an IKE SA: the proposal carries an 8-byte SPI (the new SPIi
    // in the request, the new SPIr in the response).
    let mut pending: Vec<(String, Vec<u8>, Option<u64>)> = Vec::new();
    let mut n = Nonces::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let [ispi, rspi, exch, resp, mid, spis, nonce] = f[..] else {
            continue;
        };
        let Some(nonce) = unhex(nonce) else { continue };
        n.all.push(nonce.clone());
        let ispi = u64::from_str_radix(ispi, 16).unwrap_or(0);
        let rspi = u64::from_str_radix(rspi, 16).unwrap_or(0);
        let is_resp = resp == "1" || resp == "True";
        let ike_spi = spis
            .split(',')
            .find(|s| s.len() == 16)
            .and_then(|s| u64::from_str_radix(s, 16).ok());
        let key = format!("{ispi:016x}/{mid}/{exch}");
        if !is_resp {
            pending.push((key, nonce, ike_spi));
            continue;
        }
        let Some(pos) = pending.iter().position(|(k, _, _)| *k == key) else {
            continue;
        };
        let (_, ni, new_i) = pending.remove(pos);
        match exch {
            "34" => n.ike.push(((ispi, rspi), ni, nonce)),
            "36" => {
                if let (Some(i), Some(r)) = (new_i, ike_spi) {
                    n.ike.push(((i, r), ni, nonce));
                }
            }
            _ => {}
        }
    }
    Ok(n)
}

/// HMAC-SHA-256 via the openssl command line, as an independent check of
/// what charon logged.
fn hmac_sha256(key: &[u8], data: &[u8], work: &Path) -> Result<Vec<u8>> {
    let f = work.join("hmac.in");
    fs::write(&f, data)?;
    let out = netns::run(
        Command::new("openssl")
            .args(["mac", "-digest", "SHA256", "-macopt"])
            .arg(format!("hexkey:{}", to_hex(key)))
            .arg("-in")
            .arg(&f)
            .arg("HMAC"),
    )?;
    unhex(String::from_utf8_lossy(&out.stdout).trim()).context("openssl mac output")
}

/// prf+ (RFC 7296 §2.13) with HMAC-SHA-256: T1 = prf(K, S | 0x01),
/// Tn = prf(K, Tn-1 | S | n).
fn prf_plus(key: &[u8], seed: &[u8], len: usize, work: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut t = Vec::new();
    let mut n = 1u8;
    while out.len() < len {
        t = hmac_sha256(key, &[t.as_slice(), seed, &[n]].concat(), work)?;
        out.extend_from_slice(&t);
        n = n.checked_add(1).context("prf+ output too long")?;
    }
    out.truncate(len);
    Ok(out)
}

fn sk_txt(sc: &Scenario, k: &LogKeys, nonces: &Nonces) -> Result<String> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}: secrets logged by strongSwan (left side, charon ike 4 / chd 4 / mgr 2)",
        sc.name
    );
    let _ = writeln!(
        s,
        "# format: tests/fixtures/README.md; hex is lowercase, empty = absent"
    );
    let work = tempfile::tempdir()?;
    let mut prev_sk_d: Vec<(u64, Vec<u8>)> = Vec::new();
    for (i, a) in k.ike_sas.iter().enumerate() {
        let spis = (a.spi_i.unwrap_or(0), a.spi_r.unwrap_or(0));
        let (ni, nr) = nonces
            .ike
            .iter()
            .find(|(sp, _, _)| *sp == spis)
            .map(|(_, a, b)| (a.clone(), b.clone()))
            .with_context(|| format!("no nonces in the capture for IKE SA {spis:x?}"))?;
        if let Some((li, lr)) = &a.nonces {
            ensure!(
                *li == ni && *lr == nr,
                "nonces from the log and the capture differ"
            );
        }
        let proposal = a.proposal.clone().unwrap_or_default();
        // SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14), or for a rekey
        // prf(SK_d (old), g^ir (new) | Ni | Nr) (§2.18).
        let rekey_of = if a.exchange.as_deref() == Some("CREATE_CHILD_SA") {
            prev_sk_d.last().cloned()
        } else {
            None
        };
        if proposal.contains("PRF_HMAC_SHA2_256") {
            let want = match &rekey_of {
                None => hmac_sha256(
                    &[ni.clone(), nr.clone()].concat(),
                    &a.shared_secret,
                    work.path(),
                )?,
                Some((_, skd)) => hmac_sha256(
                    skd,
                    &[a.shared_secret.clone(), ni.clone(), nr.clone()].concat(),
                    work.path(),
                )?,
            };
            ensure!(
                want == a.skeyseed,
                "SKEYSEED of IKE SA {} does not re-derive",
                i + 1
            );
            // {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
            //   = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
            let parts = [
                &a.sk_d, &a.sk_ai, &a.sk_ar, &a.sk_ei, &a.sk_er, &a.sk_pi, &a.sk_pr,
            ]
            .map(Vec::as_slice);
            let total = parts.iter().map(|p| p.len()).sum();
            let seed = [
                ni.as_slice(),
                &nr,
                &spis.0.to_be_bytes(),
                &spis.1.to_be_bytes(),
            ]
            .concat();
            let keymat = prf_plus(&a.skeyseed, &seed, total, work.path())?;
            ensure!(
                keymat == parts.concat(),
                "SK_* of IKE SA {} do not re-derive",
                i + 1
            );
        }
        let _ = writeln!(s, "\n[ike {}]", i + 1);
        let _ = writeln!(s, "exchange = {}", a.exchange.as_deref().unwrap_or(""));
        if let Some((old, _)) = &rekey_of {
            let _ = writeln!(s, "rekeys = {old:016x}");
        }
        let _ = writeln!(
            s,
            "original_initiator = {}",
            match a.original_initiator {
                Some(true) => "left",
                Some(false) => "right",
                None => "",
            }
        );
        let _ = writeln!(s, "proposal = {proposal}");
        let _ = writeln!(s, "spi_i = {:016x}", spis.0);
        let _ = writeln!(s, "spi_r = {:016x}", spis.1);
        for (name, v) in [
            ("ni", &ni),
            ("nr", &nr),
            ("g_ir", &a.shared_secret),
            ("skeyseed", &a.skeyseed),
            ("sk_d", &a.sk_d),
            ("sk_ai", &a.sk_ai),
            ("sk_ar", &a.sk_ar),
            ("sk_ei", &a.sk_ei),
            ("sk_er", &a.sk_er),
            ("sk_pi", &a.sk_pi),
            ("sk_pr", &a.sk_pr),
        ] {
            let _ = writeln!(s, "{name} = {}", to_hex(v));
        }
        prev_sk_d.push((spis.0, a.sk_d.clone()));
    }
    let mut verified_children = 0;
    for (i, c) in k.child_sas.iter().enumerate() {
        let initiator = c.initiator.context("CHILD SA without a known role")?;
        // SPIs named after who chose them: the exchange initiator's SPI is
        // where the responder sends (with the responder keys).
        let (spi_i, spi_r) = if initiator {
            (c.spi_in, c.spi_out)
        } else {
            (c.spi_out, c.spi_in)
        };
        let (ni, nr) = c.nonces().unwrap_or_default();
        ensure!(
            nonces.all.contains(&ni) && nonces.all.contains(&nr),
            "CHILD SA {} nonces (from the log's seed) not in the capture",
            i + 1
        );
        // KEYMAT = prf+ (SK_d, [g^ir (new)] | Ni | Nr), laid out as
        // encr_i | integ_i | encr_r | integ_r (RFC 7296 §2.17), with SK_d of
        // the IKE SA that ran the exchange.
        let sk_d = k
            .ike_sas
            .iter()
            .find(|a| a.unique_id.is_some() && a.unique_id == c.ike_unique_id)
            .map(|a| a.sk_d.clone());
        if let (Some(sk_d), true) = (sk_d, c.proposal.is_some()) {
            let parts = [&c.encr_i, &c.integ_i, &c.encr_r, &c.integ_r].map(Vec::as_slice);
            let total = parts.iter().map(|p| p.len()).sum();
            let keymat = prf_plus(&sk_d, &c.seed, total, work.path())?;
            ensure!(
                keymat == parts.concat(),
                "KEYMAT of CHILD SA {} does not re-derive",
                i + 1
            );
            verified_children += 1;
        }
        let _ = writeln!(s, "\n[child {}]", i + 1);
        let _ = writeln!(s, "name = {}", c.name);
        let _ = writeln!(s, "exchange = {}", c.exchange.as_deref().unwrap_or(""));
        let _ = writeln!(
            s,
            "initiator = {}",
            if initiator { "left" } else { "right" }
        );
        let _ = writeln!(s, "proposal = {}", c.proposal.as_deref().unwrap_or(""));
        let _ = writeln!(s, "spi_i = {:08x}", spi_i.unwrap_or(0));
        let _ = writeln!(s, "spi_r = {:08x}", spi_r.unwrap_or(0));
        for (name, v) in [
            ("ni", &ni),
            ("nr", &nr),
            ("g_ir", c.dh_secret.as_ref().unwrap_or(&Vec::new())),
            ("encr_i", &c.encr_i),
            ("encr_r", &c.encr_r),
            ("integ_i", &c.integ_i),
            ("integ_r", &c.integ_r),
        ] {
            let _ = writeln!(s, "{name} = {}", to_hex(v));
        }
    }
    ensure!(
        verified_children == k.child_sas.len(),
        "only {verified_children} of {} CHILD SAs could be re-derived",
        k.child_sas.len()
    );
    Ok(s)
}
