//! A throw-away PKI made with strongSwan's `pki` at run time: one CA and a
//! certificate for `left.example.org` and `right.example.org` (subjectAltName
//! = the IKE ID, RFC 7296 §3.5 / §2.15), 30 days valid. Nothing is stored
//! in the repository.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::strongswan::Credentials;
use crate::topology::Side;

/// Key type of the CA and the end entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA P-256.
    EcdsaP256,
    /// ECDSA P-384.
    EcdsaP384,
    /// ECDSA P-521.
    EcdsaP521,
    /// RSA with the given modulus size in bits (big certs, e.g. to force
    /// IKE fragmentation).
    Rsa(u32),
    /// Ed25519.
    Ed25519,
}

impl KeyType {
    fn gen_args(self) -> Vec<String> {
        match self {
            KeyType::EcdsaP256 => vec![
                "--type".into(),
                "ecdsa".into(),
                "--size".into(),
                "256".into(),
            ],
            KeyType::EcdsaP384 => vec![
                "--type".into(),
                "ecdsa".into(),
                "--size".into(),
                "384".into(),
            ],
            KeyType::EcdsaP521 => vec![
                "--type".into(),
                "ecdsa".into(),
                "--size".into(),
                "521".into(),
            ],
            KeyType::Rsa(bits) => vec![
                "--type".into(),
                "rsa".into(),
                "--size".into(),
                bits.to_string(),
            ],
            KeyType::Ed25519 => vec!["--type".into(), "ed25519".into()],
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 | KeyType::EcdsaP384 | KeyType::EcdsaP521 => "ecdsa",
            KeyType::Rsa(_) => "rsa",
            KeyType::Ed25519 => "ed25519",
        }
    }
}

/// Files of the throw-away PKI.
#[derive(Debug, Clone)]
pub struct Pki {
    /// Directory holding everything.
    pub dir: PathBuf,
    /// CA certificate (PEM).
    pub ca_cert: PathBuf,
}

impl Pki {
    /// Makes a CA and left/right certificates under `dir`.
    pub fn create(dir: &Path, key: KeyType) -> Result<Pki> {
        fs::create_dir_all(dir)?;
        // pki's default plugin list includes tpm, which only prints errors.
        let conf = dir.join("pki.conf");
        fs::write(
            &conf,
            "pki {\n    load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey gmp curve25519 sha1 sha2 hmac\n}\n",
        )?;
        let pki = |args: &[&str], stdin: Option<&[u8]>| -> Result<Vec<u8>> {
            let mut c = Command::new("pki");
            c.env("STRONGSWAN_CONF", &conf)
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .stdin(if stdin.is_some() {
                    Stdio::piped()
                } else {
                    Stdio::null()
                });
            let mut child = c.spawn().context("spawn pki")?;
            if let (Some(data), Some(mut s)) = (stdin, child.stdin.take()) {
                std::io::Write::write_all(&mut s, data)?;
            }
            let out = child.wait_with_output()?;
            if !out.status.success() {
                bail!(
                    "pki {args:?} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(out.stdout)
        };
        let gen = key.gen_args();
        let gen: Vec<&str> = gen.iter().map(String::as_str).collect();
        let t = key.type_name();
        let ca_key = dir.join("ca.key");
        let mut args = vec!["--gen"];
        args.extend_from_slice(&gen);
        args.extend_from_slice(&["--outform", "pem"]);
        fs::write(&ca_key, pki(&args, None)?)?;
        let ca_cert = dir.join("ca.crt");
        let ca_key_s = ca_key.to_string_lossy().into_owned();
        fs::write(
            &ca_cert,
            pki(
                &[
                    "--self",
                    "--ca",
                    "--lifetime",
                    "30",
                    "--in",
                    &ca_key_s,
                    "--type",
                    t,
                    "--dn",
                    "C=XX, O=yadokari testbed, CN=yadokari testbed CA",
                    "--outform",
                    "pem",
                ],
                None,
            )?,
        )?;
        let ca_cert_s = ca_cert.to_string_lossy().into_owned();
        for side in [Side::Left, Side::Right] {
            let id = format!("{}.example.org", side.as_str());
            let key_path = dir.join(format!("{}.key", side.as_str()));
            fs::write(&key_path, pki(&args, None)?)?;
            let key_s = key_path.to_string_lossy().into_owned();
            // pki 5.9.8 has no `--pub --type ed25519`; `priv` detects the type.
            let public = pki(&["--pub", "--in", &key_s, "--type", "priv"], None)?;
            let dn = format!("C=XX, O=yadokari testbed, CN={id}");
            let cert = pki(
                &[
                    "--issue",
                    "--lifetime",
                    "30",
                    "--cacert",
                    &ca_cert_s,
                    "--cakey",
                    &ca_key_s,
                    "--dn",
                    &dn,
                    "--san",
                    &id,
                    "--outform",
                    "pem",
                ],
                Some(&public),
            )?;
            fs::write(dir.join(format!("{}.crt", side.as_str())), cert)?;
        }
        Ok(Pki {
            dir: dir.to_owned(),
            ca_cert,
        })
    }

    /// Certificate file of `side` (`left.crt`).
    #[must_use]
    pub fn cert(&self, side: Side) -> PathBuf {
        self.dir.join(format!("{}.crt", side.as_str()))
    }

    /// Private key file of `side`.
    #[must_use]
    pub fn key(&self, side: Side) -> PathBuf {
        self.dir.join(format!("{}.key", side.as_str()))
    }

    /// CA, certificate and key of `side`, ready for
    /// [`crate::strongswan::CharonOptions::credentials`].
    #[must_use]
    pub fn credentials(&self, side: Side) -> Credentials {
        Credentials {
            ca_certs: vec![self.ca_cert.clone()],
            certs: vec![self.cert(side)],
            keys: vec![self.key(side)],
        }
    }
}
