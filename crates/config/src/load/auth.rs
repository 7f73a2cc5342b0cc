//! Authentication: PSKs, post-quantum preshared keys (RFC 8784), our
//! certificate and key, and the trust anchors for the peer's.

use super::*;

impl Loader<'_, '_> {
    /// `local_auth`, `remote_auth`, and the PSK or certificate settings
    /// each needs (issue 11): everything is read and checked here, so a
    /// bad key or an expired certificate fails the load with its position.
    pub(super) fn auth(
        &mut self,
        t: &mut TableReader<'_, '_>,
        fragmentation: bool,
    ) -> Option<Auth> {
        let sink = &mut self.sink;
        let cert_key = t.str(sink, "local_cert");
        let key_key = t.str(sink, "local_key");
        let ca_key = t.str_list(sink, "ca");
        let default = if cert_key.is_some() { "pubkey" } else { "psk" };
        let mut method = |t: &mut TableReader<'_, '_>, key: &'static str| match t.str(sink, key) {
            None => Some(default == "pubkey"),
            Some(("psk", _)) => Some(false),
            Some(("pubkey", _)) => Some(true),
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown authentication `{s}` for `{}`", t.qualified(key)),
                    "use psk or pubkey",
                );
                None
            }
        };
        let local_pk = method(t, "local_auth");
        let remote_pk = method(t, "remote_auth");
        let (local_pk, remote_pk) = (local_pk?, remote_pk?);
        // A PSK given beside two certificates is checked and kept (a
        // template may carry one for all tunnels), not refused.
        let has_psk = t.value("psk").is_some() || t.value("psk_file").is_some();
        let psk = if !local_pk || !remote_pk || has_psk {
            Some(self.psk(t)?)
        } else {
            None
        };
        let sink = &mut self.sink;
        let local_cert = if local_pk {
            let Some((cert, cert_span)) = cert_key else {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` authenticates with a certificate but has no `local_cert`", t.path),
                    "set local_cert = \"/etc/yadokari/NAME.crt\" and local_key, or local_auth = \"psk\"",
                );
                return None;
            };
            let Some((key, key_span)) = key_key else {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has `local_cert` but no `local_key`", t.path),
                    "set local_key = \"/etc/yadokari/NAME.key\" (the certificate's private key)",
                );
                return None;
            };
            let cert_file = self.opts.base_dir.join(cert);
            let key_file = self.opts.base_dir.join(key);
            let chain = match read_cert_file(&cert_file) {
                Ok(c) => c,
                Err(e) => {
                    sink.error(cert_span, e);
                    return None;
                }
            };
            let info = match yadokari_crypto::cert::CertInfo::parse(&chain[0]) {
                Ok(i) => i,
                Err(e) => {
                    sink.error(cert_span, format!("{}: {e}", cert_file.display()));
                    return None;
                }
            };
            if !info.valid_at(std::time::SystemTime::now()) {
                sink.error_hint(
                    cert_span,
                    format!(
                        "the certificate `{}` in {} is not valid now (valid until {})",
                        info.subject,
                        cert_file.display(),
                        info.not_after_text
                    ),
                    "renew the certificate",
                );
                return None;
            }
            let key = match secret::read_secret_file(&key_file).and_then(|s| {
                yadokari_crypto::signature::PrivateKey::from_pem_or_der(s.expose())
                    .map_err(|e| format!("{}: {e}", key_file.display()))
            }) {
                Ok(k) => k,
                Err(e) => {
                    sink.error(key_span, e);
                    return None;
                }
            };
            if key.public_key_bits() != info.key.bits {
                sink.error_hint(
                    key_span,
                    format!(
                        "the private key in {} does not belong to the certificate `{}` in {}",
                        key_file.display(),
                        info.subject,
                        cert_file.display()
                    ),
                    "give the key the certificate was issued for",
                );
                return None;
            }
            // IKE_AUTH carries the chain and a signature; with IKE
            // fragmentation (RFC 7383) turned off it must fit one datagram.
            let chain_len: usize = chain.iter().map(Vec::len).sum();
            let sig_len = match key.kind() {
                yadokari_crypto::signature::KeyKind::Rsa(bits) => bits as usize / 8,
                _ => 140,
            };
            if !fragmentation && chain_len + sig_len > IKE_AUTH_CERT_BUDGET {
                self.warnings.push(sink.warning(
                    cert_span.clone(),
                    format!(
                        "the chain in {} ({chain_len} bytes) and its {}-byte signature make IKE_AUTH larger than a 1500-byte path carries, and `fragmentation = false`",
                        cert_file.display(),
                        sig_len
                    ),
                    Some("turn IKE fragmentation on, or use an ECDSA key, RSA-2048 or fewer intermediates".into()),
                ));
            }
            Some(LocalCert {
                cert_file,
                key_file,
                cert: std::sync::Arc::new(yadokari_ike::LocalCert {
                    chain,
                    info,
                    signer: std::sync::Arc::new(yadokari_crypto::signature::LocalSigner::new(key)),
                }),
            })
        } else {
            None
        };
        let ca = if remote_pk {
            let Some(list) = ca_key else {
                sink.error_hint(
                    t.span.clone(),
                    format!(
                        "`{}` expects the peer to authenticate with a certificate but has no `ca`",
                        t.path
                    ),
                    "set ca = \"/etc/yadokari/ca.crt\" (a file, a directory of PEM files, or a list), or remote_auth = \"psk\"",
                );
                return None;
            };
            let mut ders = Vec::new();
            let mut sources = Vec::new();
            for (p, span) in list {
                let path = self.opts.base_dir.join(p);
                match read_ca(&path) {
                    Ok(mut d) => ders.append(&mut d),
                    Err(e) => {
                        sink.error(span, e);
                        return None;
                    }
                }
                sources.push(path);
            }
            match yadokari_crypto::cert::TrustStore::new(&ders) {
                Ok(store) => Some(TrustAnchors {
                    sources,
                    store: std::sync::Arc::new(store),
                }),
                Err(e) => {
                    sink.error(t.span.clone(), format!("`{}`: ca: {e}", t.path));
                    return None;
                }
            }
        } else {
            None
        };
        Some(Auth {
            psk,
            local_cert,
            ca,
        })
    }

    /// The PSK of a side that uses one.
    /// `ppk_id` with `ppk` or `ppk_file`, and `ppk_required` (RFC 8784).
    /// `None` on an error (reported), `Some(None)` without a PPK.
    pub(super) fn ppk(&mut self, t: &mut TableReader<'_, '_>) -> Option<Option<Ppk>> {
        let sink = &mut self.sink;
        let id = t.str(sink, "ppk_id");
        let inline = t.str(sink, "ppk");
        let file = t.str(sink, "ppk_file");
        let required = t.bool(sink, "ppk_required");
        let (id, id_span) = match (id, &inline, &file) {
            (None, None, None) => {
                if let (Some(true), Some(v)) = (required, t.value("ppk_required")) {
                    sink.error_hint(
                        v.span(),
                        format!("`{}` requires a PPK but has no `ppk_id`", t.path),
                        "set ppk_id and ppk_file (RFC 8784)",
                    );
                    return None;
                }
                return Some(None);
            }
            (None, _, _) => {
                sink.error_hint(
                    t.span.clone(),
                    format!(
                        "`{}` has a post-quantum preshared key but no `ppk_id`",
                        t.path
                    ),
                    "name it: ppk_id = \"...\", the same on both sides",
                );
                return None;
            }
            (Some((id, span)), _, _) => (id.to_owned(), span),
        };
        let secret = self.secret(
            t,
            Key {
                inline,
                file,
                names: ("ppk", "ppk_file"),
                what: "post-quantum preshared key",
                min: MIN_PPK_LEN,
            },
            (
                id_span,
                format!("`{}` names a PPK but gives no key", t.path),
                "set ppk_file = \"/etc/yadokari/NAME.ppk\"",
            ),
        )?;
        Some(Some(Ppk {
            id,
            secret,
            required: required.unwrap_or(false),
        }))
    }

    pub(super) fn psk(&mut self, t: &mut TableReader<'_, '_>) -> Option<Secret> {
        let sink = &mut self.sink;
        let inline = t.str(sink, "psk");
        let file = t.str(sink, "psk_file");
        let missing = (
            t.span.clone(),
            format!("`{}` has no authentication", t.path),
            "set psk_file = \"/etc/yadokari/NAME.psk\"",
        );
        self.secret(
            t,
            Key {
                inline,
                file,
                names: ("psk", "psk_file"),
                what: "pre-shared key",
                min: MIN_PSK_LEN,
            },
            missing,
        )
    }

    /// A key given inline (for tests) or in a secrets file, long enough;
    /// `missing` is the error when neither is given.
    fn secret(
        &mut self,
        t: &TableReader<'_, '_>,
        k: Key<'_>,
        missing: (Range<usize>, String, &'static str),
    ) -> Option<Secret> {
        let sink = &mut self.sink;
        let (inline_name, file_name) = k.names;
        let (secret, span): (Secret, Range<usize>) = match (k.inline, k.file) {
            (Some(_), Some((_, span))) => {
                sink.error_hint(
                    span,
                    format!("`{}` sets both `{inline_name}` and `{file_name}`", t.path),
                    format!("keep `{file_name}`; inline keys are for tests"),
                );
                return None;
            }
            (Some((s, span)), None) => (Secret::new(s.as_bytes().to_vec()), span),
            (None, Some((p, span))) => {
                let path = self.opts.base_dir.join(p);
                match secret::read_secret_file(&path) {
                    Ok(s) => (s, span),
                    Err(e) => {
                        sink.error(span, e);
                        return None;
                    }
                }
            }
            (None, None) => {
                sink.error_hint(missing.0, missing.1, missing.2);
                return None;
            }
        };
        if secret.expose().len() < k.min {
            sink.error_hint(
                span,
                format!(
                    "the {} of `{}` is too short ({} bytes; at least {})",
                    k.what,
                    t.path,
                    secret.expose().len(),
                    k.min
                ),
                "generate one: head -c 32 /dev/urandom | base64",
            );
            return None;
        }
        Some(secret)
    }
}

/// Where a key may be written: inline or as a file, and its rules.
pub(super) struct Key<'a> {
    inline: Option<(&'a str, Range<usize>)>,
    file: Option<(&'a str, Range<usize>)>,
    names: (&'static str, &'static str),
    what: &'static str,
    min: usize,
}

/// Bytes of certificates plus signature that still leave IKE_AUTH (IDs,
/// SA, TS, notifies, SK overhead, IP/UDP headers: about 250 bytes) under
/// 1500 bytes.
pub(super) const IKE_AUTH_CERT_BUDGET: usize = 1250;

/// The largest certificate file read: a chain is a few kilobytes.
pub(super) const MAX_CERT_FILE: u64 = 1024 * 1024;

/// Certificates of a PEM or DER file, in order.
pub(super) fn read_cert_file(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_CERT_FILE {
        return Err(format!(
            "{} is too large for a certificate file",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    yadokari_crypto::cert::load_certs(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// A `ca` entry: one file, or every `.pem`/`.crt`/`.cer`/`.der` file of a
/// directory (sorted, so the order is stable).
pub(super) fn read_ca(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    if !path.is_dir() {
        return read_cert_file(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read directory {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "pem" | "crt" | "cer" | "der"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "directory {} holds no certificate files (*.pem, *.crt, *.cer, *.der)",
            path.display()
        ));
    }
    let mut out = Vec::new();
    for f in files {
        out.append(&mut read_cert_file(&f)?);
    }
    Ok(out)
}
