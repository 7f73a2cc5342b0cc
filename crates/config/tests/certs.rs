//! Certificate settings (issue 11): `local_cert`, `local_key`, `ca`,
//! `local_auth`/`remote_auth`, and the load-time errors with positions.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use yadokari_config::*;

struct Dir(PathBuf);
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write(dir: &Path, name: &str, text: &str, mode: u32) {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A CA, a valid leaf, an expired leaf, a second key; all as PEM files.
fn pki(tag: &str) -> Dir {
    let dir = std::env::temp_dir().join(format!("yk-config-certs-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("cas")).unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, "Config CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ck = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let ca = p.self_signed(&ck).unwrap();
    let issuer = Issuer::new(p, ck);
    write(&dir, "ca.pem", &ca.pem(), 0o644);
    write(&dir.join("cas"), "ca.crt", &ca.pem(), 0o644);
    for (name, expired) in [("leaf", false), ("old", true)] {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, "left.example.org");
        p.subject_alt_names = vec![SanType::DnsName("left.example.org".try_into().unwrap())];
        if expired {
            p.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
            p.not_after = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        }
        let k = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let c = p.signed_by(&k, &issuer).unwrap();
        write(&dir, &format!("{name}.pem"), &c.pem(), 0o644);
        write(&dir, &format!("{name}.key"), &k.serialize_pem(), 0o600);
    }
    // A chain too big for one IKE_AUTH datagram: the leaf and the CA
    // certificate three times (the size is what counts).
    let big = format!(
        "{}{}{}{}",
        std::fs::read_to_string(dir.join("leaf.pem")).unwrap(),
        ca.pem(),
        ca.pem(),
        ca.pem()
    );
    write(&dir, "big.pem", &big, 0o644);
    let other = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    write(&dir, "other.key", &other.serialize_pem(), 0o600);
    write(&dir, "garbage.key", "not a key\n", 0o600);
    Dir(dir)
}

fn tunnel(extra: &str) -> String {
    format!(
        r#"
[tunnel.t]
remote = "192.0.2.1"
local_id = "left.example.org"
remote_id = "*.example.org"
local_ts = "198.51.100.0/24"
remote_ts = "203.0.113.0/24"
{extra}
"#
    )
}

fn load(d: &Dir, extra: &str) -> Result<Config, Diagnostics> {
    parse_str(
        "c.toml",
        &tunnel(extra),
        &LoadOptions {
            base_dir: d.0.clone(),
        },
    )
}

#[test]
fn certificate_on_both_sides_by_default() {
    let d = pki("ok");
    let c = load(
        &d,
        "local_cert = \"leaf.pem\"\nlocal_key = \"leaf.key\"\nca = \"ca.pem\"",
    )
    .unwrap();
    let a = &c.remotes["t"].auth;
    assert!(a.psk.is_none());
    assert_eq!(
        a.local_cert.as_ref().unwrap().cert.info.subject,
        "CN=left.example.org"
    );
    assert_eq!(a.ca.as_ref().unwrap().store.anchors().len(), 1);
    // A directory and a list work too.
    let c = load(
        &d,
        "local_cert = \"leaf.pem\"\nlocal_key = \"leaf.key\"\nca = [\"cas\", \"ca.pem\"]",
    )
    .unwrap();
    assert_eq!(
        c.remotes["t"]
            .auth
            .ca
            .as_ref()
            .unwrap()
            .store
            .anchors()
            .len(),
        2
    );
}

#[test]
fn mixed_auth() {
    let d = pki("mixed");
    let psk = "psk = \"a-long-enough-pre-shared-key-for-tests\"";
    let c = load(
        &d,
        &format!(
            "local_cert = \"leaf.pem\"\nlocal_key = \"leaf.key\"\nremote_auth = \"psk\"\n{psk}"
        ),
    )
    .unwrap();
    let a = &c.remotes["t"].auth;
    assert!(a.psk.is_some() && a.local_cert.is_some() && a.ca.is_none());
    let c = load(
        &d,
        &format!("remote_auth = \"pubkey\"\nca = \"ca.pem\"\n{psk}"),
    )
    .unwrap();
    let a = &c.remotes["t"].auth;
    assert!(a.psk.is_some() && a.local_cert.is_none() && a.ca.is_some());
}

fn err(d: &Dir, extra: &str) -> String {
    load(d, extra).unwrap_err().to_string()
}

#[test]
fn errors_at_load_with_positions() {
    let d = pki("err");
    // The key of another certificate.
    let e = err(
        &d,
        "local_cert = \"leaf.pem\"\nlocal_key = \"other.key\"\nca = \"ca.pem\"",
    );
    assert!(e.contains("does not belong to the certificate"), "{e}");
    assert!(e.contains("c.toml:9:"), "{e}");
    // Expired.
    let e = err(
        &d,
        "local_cert = \"old.pem\"\nlocal_key = \"old.key\"\nca = \"ca.pem\"",
    );
    assert!(e.contains("not valid now"), "{e}");
    assert!(e.contains("c.toml:8:"), "{e}");
    // Unreadable and unparsable keys.
    let e = err(
        &d,
        "local_cert = \"leaf.pem\"\nlocal_key = \"missing.key\"\nca = \"ca.pem\"",
    );
    assert!(e.contains("missing.key") && e.contains("c.toml:9:"), "{e}");
    let e = err(
        &d,
        "local_cert = \"leaf.pem\"\nlocal_key = \"garbage.key\"\nca = \"ca.pem\"",
    );
    assert!(e.contains("not a PKCS#8"), "{e}");
    // No trust anchor for a pubkey peer.
    let e = err(&d, "local_cert = \"leaf.pem\"\nlocal_key = \"leaf.key\"");
    assert!(e.contains("has no `ca`"), "{e}");
    // pubkey without a certificate; unknown method.
    let e = err(
        &d,
        "local_auth = \"pubkey\"\nca = \"ca.pem\"\nremote_auth = \"pubkey\"",
    );
    assert!(e.contains("no `local_cert`"), "{e}");
    let e = err(
        &d,
        "local_auth = \"rsa\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"",
    );
    assert!(e.contains("use psk or pubkey"), "{e}");
}

#[test]
fn a_chain_too_big_for_one_datagram_is_a_warning_without_fragmentation() {
    let d = pki("big");
    // With IKE fragmentation (on by default) a long chain is fine.
    let c = load(
        &d,
        "local_cert = \"big.pem\"\nlocal_key = \"leaf.key\"\nca = \"ca.pem\"",
    )
    .unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = load(
        &d,
        "local_cert = \"leaf.pem\"\nlocal_key = \"leaf.key\"\nca = \"ca.pem\"",
    )
    .unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = load(
        &d,
        "local_cert = \"big.pem\"\nlocal_key = \"leaf.key\"\nca = \"ca.pem\"\nfragmentation = false",
    )
    .unwrap();
    assert_eq!(
        c.remotes["t"]
            .auth
            .local_cert
            .as_ref()
            .unwrap()
            .cert
            .chain
            .len(),
        4
    );
    let w = c
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        w.contains("c.toml:8:") && w.contains("`fragmentation = false`"),
        "{w}"
    );
}
