//! Certificate authentication against strongSwan (issue 11): charon with
//! kernel-libipsec on the left, yadokarid on the right, in namespaces.
//! Every run makes a throw-away PKI with strongSwan's `pki` (nothing is
//! committed), signs with it on both sides (RFC 7427 Digital Signature)
//! or on one side only (mixed auth), and checks that the CHILD SA carries
//! traffic and that `list-sas` names the peer's certificate.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use yadokari_control::IkeSaInfo;
use yadokari_testbed::yadokarid::TunnelConfig;
use yadokari_testbed::{
    site_to_site, skip_unless_testbed, CharonOptions, Family, KeyType, Pki, Side, StrongSwan,
    Topology, Yadokarid,
};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");
const IKE: &str = "aes256gcm16-prfsha256-x25519";
const ESP: &str = "aes256gcm16";

/// Removes the PKI directory however the test ends.
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(name: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!(
        "yk-certs-{name}-{}",
        yadokari_testbed::unique_prefix(name)
    ));
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

/// How each side authenticates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mix {
    /// Both sign.
    Both,
    /// yadokari signs, strongSwan uses the PSK.
    YkSigns,
    /// strongSwan signs, yadokari uses the PSK.
    SwanSigns,
}

struct Case {
    key: KeyType,
    family: Family,
    yk_initiates: bool,
    mix: Mix,
    /// strongSwan signs RSA with RSASSA-PSS (`charon.rsa_pss`).
    rsa_pss: bool,
    /// An intermediate CA between the root and the end entities.
    intermediate: bool,
    /// Both sides use their certificate's subject DN as IKE ID
    /// (ID_DER_ASN1_DN); yadokari's remote_id is a DN pattern.
    dn_ids: bool,
    /// strongSwan without RFC 7427 (`signature_authentication = no`): the
    /// classic ECDSA methods (RFC 4754) both ways.
    classic: bool,
    /// Reload the unchanged configuration once the tunnel is up.
    reload: bool,
    /// The path drops every IP fragment and both sides send 576-byte IKE
    /// fragments (RFC 7383).
    fragments: bool,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            key: KeyType::EcdsaP256,
            family: Family::V4,
            yk_initiates: true,
            mix: Mix::Both,
            rsa_pss: false,
            intermediate: false,
            dn_ids: false,
            classic: false,
            reload: false,
            fragments: false,
        }
    }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn net(f: Family, side: Side) -> &'static str {
    yadokari_testbed::topology::addrs(yadokari_testbed::TopologyKind::Direct, side).net(f)
}

fn run(name: &str, c: Case) {
    skip_unless_testbed!();
    let dir = temp_dir(name);
    let pki = Pki::create(&dir.0, c.key).expect("pki");
    if c.intermediate {
        add_intermediate(&dir.0, &pki, c.key);
    }
    chmod(&pki.key(Side::Right), 0o600);
    let topo = Topology::direct(name).unwrap();
    if c.fragments {
        // Ahead of reassembly (priority -500): no IP fragment gets through.
        for side in [Side::Left, Side::Right] {
            let (fam, rule) = match c.family {
                Family::V4 => ("ip", "ip frag-off & 0x3fff != 0 counter drop"),
                Family::V6 => ("ip6", "exthdr frag exists counter drop"),
            };
            topo.ns(side)
                .run(&[
                    "nft",
                    &format!(
                        "add table {fam} ykfrag; \
                         add chain {fam} ykfrag pre {{ type filter hook prerouting priority -500; }}; \
                         add rule {fam} ykfrag pre {rule}"
                    ),
                ])
                .unwrap();
        }
    }

    // strongSwan, left.
    let mut conf = site_to_site(&topo, Side::Left, c.family, &[c.family]).with_proposals(IKE, ESP);
    let psk = conf.psks.clone();
    if c.mix != Mix::YkSigns {
        conf = conf.with_certs("left.crt");
    }
    {
        let conn = conf.conn_mut();
        if c.dn_ids {
            conn.local.id = dn_of(Side::Left);
            conn.remote.id = dn_of(Side::Right);
        }
        match c.mix {
            Mix::Both => {}
            Mix::SwanSigns => {
                conn.remote.method = yadokari_testbed::swanctl_conf::AuthMethod::Psk;
            }
            Mix::YkSigns => {
                conn.remote.method =
                    yadokari_testbed::swanctl_conf::AuthMethod::Pubkey { certs: Vec::new() };
            }
        }
    }
    if c.mix != Mix::Both {
        conf.psks = psk;
    }
    let mut opts = CharonOptions {
        credentials: pki.credentials(Side::Left),
        ..CharonOptions::default()
    };
    if c.intermediate {
        opts.credentials.ca_certs.push(dir.0.join("inter.crt"));
    }
    if c.rsa_pss {
        opts.extra.push("rsa_pss = yes".into());
    }
    if c.classic {
        opts.extra.push("signature_authentication = no".into());
    }
    if c.fragments {
        opts.extra.push("fragment_size = 576".into());
    }
    let swan = StrongSwan::start(topo.ns(Side::Left), "left", &conf, &opts).unwrap();

    // yadokari, right.
    let d = dir.0.display();
    let auth = match c.mix {
        Mix::Both => format!(
            "local_cert = \"{d}/right.chain\"\nlocal_key = \"{d}/right.key\"\nca = \"{d}/ca.crt\"\n"
        ),
        Mix::YkSigns => format!(
            "local_cert = \"{d}/right.chain\"\nlocal_key = \"{d}/right.key\"\nremote_auth = \"psk\"\n"
        ),
        Mix::SwanSigns => format!("remote_auth = \"pubkey\"\nca = \"{d}/ca.crt\"\n"),
    };
    // Our chain: the end entity, then the intermediate if there is one.
    let mut chain = std::fs::read(pki.cert(Side::Right)).unwrap();
    if c.intermediate {
        chain.extend(std::fs::read(dir.0.join("inter.crt")).unwrap());
    }
    std::fs::write(dir.0.join("right.chain"), chain).unwrap();
    let mut config = TunnelConfig {
        side: Side::Right,
        family: c.family,
        ifname: "ykt0",
        name: "yk",
        initiate: c.yk_initiates,
        daemon: "retransmit_timeout = \"6s\"",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = \"{IKE}\"\nesp = \"{ESP}\"\nencap = true\n{auth}{frag}",
            net(c.family, Side::Right),
            net(c.family, Side::Left),
            frag = if c.fragments { "fragment_size = 576\n" } else { "" },
        ),
    }
    .render(&topo);
    if c.dn_ids {
        config = config
            .replace(
                "local_id = \"right.example.org\"",
                &format!("local_id = \"dn:{}\"", dn_of(Side::Right)),
            )
            .replace(
                "remote_id = \"left.example.org\"",
                "remote_id = \"dn:C=XX, O=yadokari testbed, CN=*\"",
            );
    }
    let yk = Yadokarid::start(&topo.right, BIN, "yadokari", &config).unwrap();
    if !c.yk_initiates {
        swan.initiate(yadokari_testbed::swanctl_conf::child_name(c.family))
            .expect("strongSwan initiates");
    }
    let up = |sas: &[IkeSaInfo]| sas.iter().any(|sa| !sa.children.is_empty());
    assert!(
        yk.wait(Duration::from_secs(15), up),
        "no CHILD SA on the yadokari side:\n{}",
        yk.log()
    );
    let sas = yk.sas().unwrap();
    let pc = sas[0].peer_cert.as_ref();
    if c.mix == Mix::YkSigns {
        assert!(pc.is_none(), "{pc:?}");
    } else {
        let pc = pc.expect("list-sas names the peer certificate");
        assert_eq!(pc.subject, "C=XX, O=yadokari testbed, CN=left.example.org");
        let want_issuer = if c.intermediate {
            "C=XX, O=yadokari testbed, CN=yadokari testbed intermediate"
        } else {
            "C=XX, O=yadokari testbed, CN=yadokari testbed CA"
        };
        assert_eq!(pc.issuer, want_issuer);
    }
    if c.rsa_pss {
        // strongSwan signed with RSASSA-PSS and we verified that.
        assert!(
            yk.log()
                .contains("(RSASSA-PSS with SHA-256; method: Digital Signature)"),
            "{}",
            yk.log()
        );
    }
    if c.classic {
        let method = match c.key {
            KeyType::Rsa(_) => "(RSA PKCS#1 v1.5 with SHA-1; method: RSA Digital Signature)",
            KeyType::EcdsaP384 => "method: ECDSA with SHA-384 on the P-384 curve",
            KeyType::EcdsaP521 => "method: ECDSA with SHA-512 on the P-521 curve",
            _ => "method: ECDSA with SHA-256 on the P-256 curve",
        };
        assert!(yk.log().contains(method), "{}", yk.log());
    } else if c.mix != Mix::YkSigns {
        assert!(
            yk.log().contains("method: Digital Signature"),
            "{}",
            yk.log()
        );
    }
    let theirs = swan.list_sas().unwrap();
    assert_eq!(sas[0].ispi, format!("{:016x}", theirs[0].spi_i));
    if c.fragments {
        // Both directions went as IKE fragments: strongSwan reassembled
        // ours and split its own.
        let log = swan.log_text().unwrap();
        assert!(log.contains("received fragment #"), "{log}");
        assert!(log.contains("splitting IKE message"), "{log}");
    }
    let right_site = topo.addrs(Side::Right).site(c.family);
    let left_site = topo.addrs(Side::Left).site(c.family);
    assert!(topo.ping(Side::Left, right_site).unwrap(), "left → right");
    assert!(topo.ping(Side::Right, left_site).unwrap(), "right → left");
    if c.mix != Mix::YkSigns {
        // Our CERTREQ named strongSwan's trust anchor by the SHA-1 of its
        // public key (RFC 7296 §3.7), and strongSwan recognised it.
        let log = swan.log_text().unwrap();
        assert!(
            log.contains(
                "received cert request for \"C=XX, O=yadokari testbed, CN=yadokari testbed CA\""
            ),
            "{}",
            log.lines()
                .filter(|l| l.contains("cert"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    if c.reload {
        // What `yadokari list-sas` prints.
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = yadokari::control_cmd::run(
            yk.socket(),
            false,
            &yadokari::cli::Command::ListSas,
            &mut out,
            &mut err,
        );
        let out = String::from_utf8_lossy(&out);
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains(
                "peer certificate: C=XX, O=yadokari testbed, CN=left.example.org, \
                 issued by C=XX, O=yadokari testbed, CN=yadokari testbed CA"
            ),
            "{out}"
        );
        // Reading the same files again is no change: the SAs stay.
        let r = match yk.call(&yadokari_control::Request::Reload).unwrap() {
            yadokari_control::Response::Reloaded(r) => r,
            other => panic!("reload: {other:?}\n{}", yk.log()),
        };
        assert_eq!(r.unchanged, vec!["yk".to_owned()], "{r:?}");
        let after = yk.sas().unwrap();
        assert_eq!(after.len(), 1, "{after:?}");
        assert_eq!(after[0].ispi, sas[0].ispi);
        assert_eq!(after[0].children[0].spi_in, sas[0].children[0].spi_in);
    }
}

/// The subject DN the testbed PKI gives `side`'s certificate.
fn dn_of(side: Side) -> String {
    format!("C=XX, O=yadokari testbed, CN={}.example.org", side.as_str())
}

/// Re-issues both end entities under an intermediate CA (signed by the
/// root), so the chain is root → intermediate → end entity.
fn add_intermediate(dir: &Path, pki: &Pki, key: KeyType) {
    let conf = dir.join("pki.conf");
    let t = match key {
        KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => "ecdsa",
        KeyType::Rsa(_) => "rsa",
        KeyType::Ed25519 => "ed25519",
    };
    let run = |args: &[&str], stdin: Option<&Path>| -> Vec<u8> {
        let mut c = std::process::Command::new("pki");
        c.env("STRONGSWAN_CONF", &conf).args(args);
        if let Some(p) = stdin {
            c.stdin(std::fs::File::open(p).unwrap());
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "pki {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let ikey = dir.join("inter.key");
    std::fs::write(
        &ikey,
        run(&["--gen", "--type", t, "--outform", "pem"], None),
    )
    .unwrap();
    let ipub = dir.join("inter.pub");
    std::fs::write(
        &ipub,
        run(&["--pub", "--in", &s(&ikey), "--type", "priv"], None),
    )
    .unwrap();
    let inter = dir.join("inter.crt");
    std::fs::write(
        &inter,
        run(
            &[
                "--issue",
                "--ca",
                "--lifetime",
                "30",
                "--cacert",
                &s(&pki.ca_cert),
                "--cakey",
                &s(&dir.join("ca.key")),
                "--dn",
                "C=XX, O=yadokari testbed, CN=yadokari testbed intermediate",
                "--outform",
                "pem",
            ],
            Some(&ipub),
        ),
    )
    .unwrap();
    for side in [Side::Left, Side::Right] {
        let id = format!("{}.example.org", side.as_str());
        let pubf = dir.join(format!("{}.pub", side.as_str()));
        std::fs::write(
            &pubf,
            run(
                &["--pub", "--in", &s(&pki.key(side)), "--type", "priv"],
                None,
            ),
        )
        .unwrap();
        let cert = run(
            &[
                "--issue",
                "--lifetime",
                "30",
                "--cacert",
                &s(&inter),
                "--cakey",
                &s(&ikey),
                "--dn",
                &format!("C=XX, O=yadokari testbed, CN={id}"),
                "--san",
                &id,
                "--outform",
                "pem",
            ],
            Some(&pubf),
        );
        std::fs::write(pki.cert(side), cert).unwrap();
    }
}

#[test]
fn ecdsa_p256_yk_initiator() {
    run(
        "cert_p256_i",
        Case {
            reload: true,
            ..Case::default()
        },
    );
}

#[test]
fn ecdsa_p256_yk_responder() {
    run(
        "cert_p256_r",
        Case {
            yk_initiates: false,
            ..Case::default()
        },
    );
}

/// RSA-3072 with an intermediate CA makes IKE_AUTH several kilobytes: it
/// crosses a path that drops every IP fragment as 576-byte IKE fragments
/// (RFC 7383), both ways, with strongSwan's `fragment_size = 576`.
#[test]
fn rsa3072_intermediate_fragments_yk_initiator() {
    run(
        "cert_frag_i",
        Case {
            key: KeyType::Rsa(3072),
            intermediate: true,
            fragments: true,
            ..Case::default()
        },
    );
}

#[test]
fn rsa3072_fragments_ipv6_yk_responder() {
    run(
        "cert_frag_r6",
        Case {
            key: KeyType::Rsa(3072),
            family: Family::V6,
            yk_initiates: false,
            fragments: true,
            ..Case::default()
        },
    );
}

#[test]
fn rsa2048_pkcs1_yk_initiator() {
    run(
        "cert_rsa_i",
        Case {
            key: KeyType::Rsa(2048),
            ..Case::default()
        },
    );
}

#[test]
fn rsa2048_pss_yk_responder() {
    run(
        "cert_pss_r",
        Case {
            key: KeyType::Rsa(2048),
            rsa_pss: true,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn ed25519_yk_initiator() {
    run(
        "cert_ed_i",
        Case {
            key: KeyType::Ed25519,
            ..Case::default()
        },
    );
}

#[test]
fn intermediate_ca_yk_responder() {
    run(
        "cert_inter_r",
        Case {
            intermediate: true,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn mixed_yk_signs_swan_psk_yk_initiator() {
    run(
        "cert_mix_yk",
        Case {
            mix: Mix::YkSigns,
            ..Case::default()
        },
    );
}

#[test]
fn mixed_swan_signs_yk_psk_yk_responder() {
    run(
        "cert_mix_sw",
        Case {
            mix: Mix::SwanSigns,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn ecdsa_p256_ipv6_yk_initiator() {
    run(
        "cert_v6_i",
        Case {
            family: Family::V6,
            ..Case::default()
        },
    );
}

/// strongSwan presents a certificate from a CA yadokari does not trust
/// (a second throw-away PKI): yadokari, initiating or responding, refuses
/// it, says why in its log and in the connection's `last_error`, and
/// installs nothing.
#[test]
fn untrusted_peer_certificate_is_refused_yk_initiator() {
    refused("cert_untr_i", true, false);
}

#[test]
fn untrusted_peer_certificate_is_refused_yk_responder() {
    refused("cert_untr_r", false, false);
}

/// strongSwan presents a certificate of our CA that expired in 2020.
#[test]
fn expired_peer_certificate_is_refused_yk_initiator() {
    refused("cert_exp_i", true, true);
}

fn refused(name: &str, yk_initiates: bool, expired: bool) {
    skip_unless_testbed!();
    let dir = temp_dir(name);
    let ours = Pki::create(&dir.0.join("ours"), KeyType::EcdsaP256).expect("pki");
    let theirs = if expired {
        // Re-issue the left certificate under our CA, long expired.
        let conf = ours.dir.join("pki.conf");
        let s = |p: &Path| p.to_string_lossy().into_owned();
        let public = std::process::Command::new("pki")
            .env("STRONGSWAN_CONF", &conf)
            .args(["--pub", "--in", &s(&ours.key(Side::Left)), "--type", "priv"])
            .output()
            .unwrap();
        let pubf = ours.dir.join("left.pub");
        std::fs::write(&pubf, &public.stdout).unwrap();
        let out = std::process::Command::new("pki")
            .env("STRONGSWAN_CONF", &conf)
            .stdin(std::fs::File::open(&pubf).unwrap())
            .args([
                "--issue",
                "--cacert",
                &s(&ours.ca_cert),
                "--cakey",
                &s(&ours.dir.join("ca.key")),
                "--dn",
                "C=XX, O=yadokari testbed, CN=left.example.org",
                "--san",
                "left.example.org",
                "--not-before",
                "2020-01-01 00:00:00",
                "--not-after",
                "2020-02-01 00:00:00",
                "--dateform",
                "%Y-%m-%d %H:%M:%S",
                "--outform",
                "pem",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(ours.cert(Side::Left), &out.stdout).unwrap();
        ours.clone()
    } else {
        Pki::create(&dir.0.join("theirs"), KeyType::EcdsaP256).expect("pki")
    };
    chmod(&ours.key(Side::Right), 0o600);
    let topo = Topology::direct(name).unwrap();
    let conf = site_to_site(&topo, Side::Left, Family::V4, &[Family::V4])
        .with_proposals(IKE, ESP)
        .with_certs("left.crt");
    // strongSwan trusts our CA, but signs with a certificate of its own CA.
    let opts = CharonOptions {
        credentials: yadokari_testbed::Credentials {
            ca_certs: vec![ours.ca_cert.clone()],
            certs: vec![theirs.cert(Side::Left)],
            keys: vec![theirs.key(Side::Left)],
        },
        ..CharonOptions::default()
    };
    let swan = StrongSwan::start(topo.ns(Side::Left), "left", &conf, &opts).unwrap();
    let d = ours.dir.display();
    let config = TunnelConfig {
        side: Side::Right,
        family: Family::V4,
        ifname: "ykt0",
        name: "yk",
        initiate: yk_initiates,
        daemon: "retransmit_timeout = \"6s\"",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = \"{IKE}\"\nesp = \"{ESP}\"\nencap = true\n\
             local_cert = \"{d}/right.crt\"\nlocal_key = \"{d}/right.key\"\nca = \"{d}/ca.crt\"\n",
            net(Family::V4, Side::Right),
            net(Family::V4, Side::Left),
        ),
    }
    .render(&topo);
    let yk = Yadokarid::start(&topo.right, BIN, "yadokari", &config).unwrap();
    if !yk_initiates {
        // Refused, so the initiation itself reports an error.
        let _ = swan.initiate(yadokari_testbed::swanctl_conf::child_name(Family::V4));
    }
    let want = if expired {
        "certificate `C=XX, O=yadokari testbed, CN=left.example.org` expired on"
    } else {
        "certificate `C=XX, O=yadokari testbed, CN=left.example.org` has an untrusted issuer \
         `C=XX, O=yadokari testbed, CN=yadokari testbed CA`"
    };
    let refused = |e: &str| e.contains(want) && e.contains("AUTHENTICATION_FAILED");
    // The log says why, in words, in both roles.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !yk.log().lines().any(refused) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(yk.log().lines().any(refused), "{}", yk.log());
    if yk_initiates {
        // `last_error` follows our own attempts (a peer's failed attempts
        // do not count against our connection: crates/ike/src/retry.rs).
        let status = || match yk.call(&yadokari_control::Request::Status).unwrap() {
            yadokari_control::Response::Status(s) => s.connections[0].clone(),
            other => panic!("status answered {other:?}"),
        };
        let mut st = status();
        while !st.last_error.as_deref().is_some_and(refused)
            && std::time::Instant::now() < deadline + Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(100));
            st = status();
        }
        assert!(
            st.last_error.as_deref().is_some_and(refused),
            "{st:?}\n{}",
            yk.log()
        );
    }
    assert!(yk.sas().unwrap().iter().all(|sa| sa.children.is_empty()));
}

#[test]
fn dn_identities_yk_initiator() {
    run(
        "cert_dn_i",
        Case {
            dn_ids: true,
            ..Case::default()
        },
    );
}

#[test]
fn dn_identities_yk_responder() {
    run(
        "cert_dn_r",
        Case {
            dn_ids: true,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn classic_ecdsa_methods_yk_initiator() {
    run(
        "cert_classic_i",
        Case {
            classic: true,
            ..Case::default()
        },
    );
}

#[test]
fn classic_ecdsa_methods_yk_responder() {
    run(
        "cert_classic_r",
        Case {
            classic: true,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn ecdsa_p384_yk_responder() {
    run(
        "cert_p384_r",
        Case {
            key: KeyType::EcdsaP384,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn ecdsa_p521_classic_yk_initiator() {
    run(
        "cert_p521_ci",
        Case {
            key: KeyType::EcdsaP521,
            classic: true,
            ..Case::default()
        },
    );
}

#[test]
fn ecdsa_p384_classic_yk_responder() {
    run(
        "cert_p384_cr",
        Case {
            key: KeyType::EcdsaP384,
            classic: true,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn ed25519_yk_responder() {
    run(
        "cert_ed_r",
        Case {
            key: KeyType::Ed25519,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn ecdsa_p256_ipv6_yk_responder() {
    run(
        "cert_v6_r",
        Case {
            family: Family::V6,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn intermediate_ca_yk_initiator() {
    run(
        "cert_inter_i",
        Case {
            intermediate: true,
            ..Case::default()
        },
    );
}

#[test]
fn mixed_yk_signs_swan_psk_yk_responder() {
    run(
        "cert_mix_yk_r",
        Case {
            mix: Mix::YkSigns,
            yk_initiates: false,
            ..Case::default()
        },
    );
}

#[test]
fn mixed_swan_signs_yk_psk_yk_initiator() {
    run(
        "cert_mix_sw_i",
        Case {
            mix: Mix::SwanSigns,
            ..Case::default()
        },
    );
}

/// A peer without RFC 7427 signs RSA with the classic method 1 (PKCS#1
/// v1.5, SHA-1); we verify it. (We cannot answer in kind: aws-lc-rs has no
/// SHA-1 RSA signing, so our side uses the PSK here.)
#[test]
fn classic_rsa_method_from_swan_yk_responder() {
    run(
        "cert_rsa_classic",
        Case {
            key: KeyType::Rsa(2048),
            classic: true,
            mix: Mix::SwanSigns,
            yk_initiates: false,
            ..Case::default()
        },
    );
}
