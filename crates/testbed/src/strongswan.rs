//! One strongSwan charon per network namespace, driven over VICI.
//!
//! Each instance owns a private directory with a self-contained
//! `strongswan.conf` (explicit plugin list, `kernel-libipsec` before
//! `kernel-netlink` so ESP runs in user space over the `ipsec0` TUN, VICI
//! socket and file log inside the directory) and `swanctl/`. charon
//! 5.9.x hard-codes its PID file as `/var/run/charon.pid` and refuses to
//! start while it names a live process, so each charon runs in its own
//! mount namespace with the directory's `run/` bind-mounted over `/run`.
//! `ip netns exec` and `unshare` (without `--fork`) both `exec`, so the
//! PID of the spawned process is charon's.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::charon_log::{self, LogKeys};
use crate::netns::{run, signal, wait_until, Netns};
use crate::swanctl_conf::SwanctlConf;
use crate::topology::Family;
use crate::vici::{Client, Section};
use crate::wireshark;

/// Plugins every instance loads. `openssl` first so AES-GCM and
/// ChaCha20-Poly1305 come from OpenSSL; no plugin with machine-wide side
/// effects (`resolve`, `updown`, `farp`, `stroke`, ...).
pub const PLUGINS: &str = "random nonce openssl aes sha1 sha2 hmac gcm chapoly curve25519 gmp pem pkcs1 pkcs8 x509 pubkey revocation constraints kdf kernel-libipsec kernel-netlink socket-default vici";

/// Plugin files [`PLUGINS`] needs beyond the basics; missing ones are a
/// skip reason (Debian: `libstrongswan-standard-plugins`,
/// `libcharon-extra-plugins`).
pub const REQUIRED_PLUGIN_FILES: &[&str] =
    &["openssl", "gcm", "kernel-libipsec", "vici", "curve25519"];

/// Where charon usually lives; `YK_CHARON` overrides.
#[must_use]
pub fn charon_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("YK_CHARON") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/lib/ipsec/charon",
        "/usr/libexec/ipsec/charon",
        "/usr/local/libexec/ipsec/charon",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// charon's settings for one instance.
#[derive(Debug, Clone)]
pub struct CharonOptions {
    /// File-log levels (`default`, `ike`, `chd`, ...). The default,
    /// [`CharonOptions::key_log_levels`], logs every key.
    pub log_levels: Vec<(String, i32)>,
    /// Plugin list ([`PLUGINS`]).
    pub plugins: String,
    /// `charon.fragment_size` (IKE fragmentation threshold, RFC 7383).
    pub fragment_size: Option<u32>,
    /// NAT-T keepalive interval (`charon.keep_alive`).
    pub keep_alive: Option<Duration>,
    /// Extra raw lines for the `charon { }` section.
    pub extra: Vec<String>,
    /// Credentials copied into `swanctl/` before loading.
    pub credentials: Credentials,
}

/// Files copied into an instance's `swanctl/` tree.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// CA certificates → `x509ca/`.
    pub ca_certs: Vec<PathBuf>,
    /// End-entity certificates → `x509/`.
    pub certs: Vec<PathBuf>,
    /// Private keys → `private/`.
    pub keys: Vec<PathBuf>,
}

impl CharonOptions {
    /// Levels that make charon log every secret the tests need: `ike 4`
    /// (g^ir, SKEYSEED, SK_*), `chd 4` (CHILD seed and keys), `mgr 2` (IKE
    /// SPIs), `cfg 2` (selected proposals).
    #[must_use]
    pub fn key_log_levels() -> Vec<(String, i32)> {
        [
            ("default", 1),
            ("ike", 4),
            ("chd", 4),
            ("mgr", 2),
            ("cfg", 2),
            ("knl", 2),
            ("net", 2),
            ("enc", 1),
            ("esp", 1),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect()
    }
}

impl Default for CharonOptions {
    fn default() -> Self {
        CharonOptions {
            log_levels: Self::key_log_levels(),
            plugins: PLUGINS.to_owned(),
            fragment_size: None,
            keep_alive: None,
            extra: Vec::new(),
            credentials: Credentials::default(),
        }
    }
}

/// State of an IKE SA as `list-sas` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkeSaInfo {
    /// Connection name.
    pub name: String,
    /// charon's unique ID.
    pub unique_id: u32,
    /// `ESTABLISHED`, `CONNECTING`, `REKEYED`, ...
    pub state: String,
    /// Whether this side is the original initiator.
    pub initiator: bool,
    /// Initiator's SPI.
    pub spi_i: u64,
    /// Responder's SPI.
    pub spi_r: u64,
    /// Local address.
    pub local_host: String,
    /// Local port (4500 once NAT-T floated).
    pub local_port: u16,
    /// Remote address.
    pub remote_host: String,
    /// Remote port.
    pub remote_port: u16,
    /// Encryption algorithm (`AES_GCM_16`).
    pub encr_alg: Option<String>,
    /// Encryption key size in bits.
    pub encr_keysize: Option<u32>,
    /// Integrity algorithm, if not AEAD.
    pub integ_alg: Option<String>,
    /// PRF.
    pub prf_alg: Option<String>,
    /// Key exchange group.
    pub dh_group: Option<String>,
    /// CHILD SAs.
    pub children: Vec<ChildSaInfo>,
    /// The whole VICI section, for anything not modelled.
    pub raw: Section,
}

/// State of a CHILD SA as `list-sas` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildSaInfo {
    /// Config name.
    pub name: String,
    /// charon's unique ID.
    pub unique_id: u32,
    /// `INSTALLED`, `REKEYED`, ...
    pub state: String,
    /// `TUNNEL` or `TRANSPORT`.
    pub mode: String,
    /// `ESP` or `AH`.
    pub protocol: String,
    /// UDP-encapsulated.
    pub encap: bool,
    /// Inbound SPI.
    pub spi_in: u32,
    /// Outbound SPI.
    pub spi_out: u32,
    /// Encryption algorithm.
    pub encr_alg: Option<String>,
    /// Key size.
    pub encr_keysize: Option<u32>,
    /// Integrity algorithm.
    pub integ_alg: Option<String>,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Packets received.
    pub packets_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Local traffic selectors.
    pub local_ts: Vec<String>,
    /// Remote traffic selectors.
    pub remote_ts: Vec<String>,
}

fn num<T: std::str::FromStr>(s: &Section, key: &str) -> Option<T> {
    s.str(key).and_then(|v| v.parse().ok())
}

fn hex_u64(s: &Section, key: &str) -> u64 {
    s.str(key)
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .unwrap_or(0)
}

fn hex_u32(s: &Section, key: &str) -> u32 {
    s.str(key)
        .and_then(|v| u32::from_str_radix(v, 16).ok())
        .unwrap_or(0)
}

impl IkeSaInfo {
    fn from_vici(name: &str, s: &Section) -> IkeSaInfo {
        let children = s
            .sub("child-sas")
            .map(|cs| {
                cs.subsections()
                    .map(|(_, c)| ChildSaInfo {
                        name: c.str("name").unwrap_or_default().to_owned(),
                        unique_id: num(c, "uniqueid").unwrap_or(0),
                        state: c.str("state").unwrap_or_default().to_owned(),
                        mode: c.str("mode").unwrap_or_default().to_owned(),
                        protocol: c.str("protocol").unwrap_or_default().to_owned(),
                        encap: c.str("encap") == Some("yes"),
                        spi_in: hex_u32(c, "spi-in"),
                        spi_out: hex_u32(c, "spi-out"),
                        encr_alg: c.str("encr-alg").map(str::to_owned),
                        encr_keysize: num(c, "encr-keysize"),
                        integ_alg: c.str("integ-alg").map(str::to_owned),
                        bytes_in: num(c, "bytes-in").unwrap_or(0),
                        bytes_out: num(c, "bytes-out").unwrap_or(0),
                        packets_in: num(c, "packets-in").unwrap_or(0),
                        packets_out: num(c, "packets-out").unwrap_or(0),
                        local_ts: c.items("local-ts"),
                        remote_ts: c.items("remote-ts"),
                    })
                    .collect()
            })
            .unwrap_or_default();
        IkeSaInfo {
            name: name.to_owned(),
            unique_id: num(s, "uniqueid").unwrap_or(0),
            state: s.str("state").unwrap_or_default().to_owned(),
            initiator: s.str("initiator") == Some("yes"),
            spi_i: hex_u64(s, "initiator-spi"),
            spi_r: hex_u64(s, "responder-spi"),
            local_host: s.str("local-host").unwrap_or_default().to_owned(),
            local_port: num(s, "local-port").unwrap_or(0),
            remote_host: s.str("remote-host").unwrap_or_default().to_owned(),
            remote_port: num(s, "remote-port").unwrap_or(0),
            encr_alg: s.str("encr-alg").map(str::to_owned),
            encr_keysize: num(s, "encr-keysize"),
            integ_alg: s.str("integ-alg").map(str::to_owned),
            prf_alg: s.str("prf-alg").map(str::to_owned),
            dh_group: s.str("dh-group").map(str::to_owned),
            children,
            raw: s.clone(),
        }
    }
}

/// A running charon in a namespace. Dropping it stops charon; the
/// directory is removed unless the thread is panicking or `YK_KEEP` is
/// set (then its path is printed, for the log).
pub struct StrongSwan {
    label: String,
    ns: String,
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    child: Option<Child>,
}

const LAUNCH: &str =
    "mount --bind \"$1/run\" /run && exec env STRONGSWAN_CONF=\"$1/strongswan.conf\" \"$2\"";

impl StrongSwan {
    /// Writes the configuration, starts charon in `ns`, waits until VICI
    /// answers (10 s at most) and loads `conf` with `swanctl --load-all`.
    /// `label` names the instance in messages (`left`, `right`).
    pub fn start(
        ns: &Netns,
        label: &str,
        conf: &SwanctlConf,
        opts: &CharonOptions,
    ) -> Result<StrongSwan> {
        let charon = charon_path().context("charon binary not found (set YK_CHARON)")?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("yk-charon-{label}-"))
            .tempdir()?;
        let path = dir.path().to_owned();
        for sub in [
            "run",
            "swanctl/x509",
            "swanctl/x509ca",
            "swanctl/private",
            "swanctl/pubkey",
        ] {
            fs::create_dir_all(path.join(sub))?;
        }
        fs::write(path.join("strongswan.conf"), strongswan_conf(&path, opts))?;
        fs::write(path.join("swanctl/swanctl.conf"), conf.render())?;
        let creds = &opts.credentials;
        for (files, sub) in [
            (&creds.ca_certs, "x509ca"),
            (&creds.certs, "x509"),
            (&creds.keys, "private"),
        ] {
            for f in files {
                let name = f.file_name().context("credential path without file name")?;
                fs::copy(f, path.join("swanctl").join(sub).join(name))
                    .with_context(|| format!("copy {}", f.display()))?;
            }
        }
        let out = fs::File::create(path.join("charon.stdout"))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            ns.name(),
            "unshare",
            "-m",
            "--propagation",
            "private",
        ])
        .args(["sh", "-c", LAUNCH, "sh"])
        .arg(&path)
        .arg(&charon)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
        // Own process group: a Ctrl-C meant for the test runner must not
        // take charon down before the test has cleaned up.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().context("spawn charon")?;
        let sw = StrongSwan {
            label: label.to_owned(),
            ns: ns.name().to_owned(),
            dir: Some(dir),
            path,
            child: Some(child),
        };
        let sock = sw.vici_path();
        let up = wait_until(Duration::from_secs(10), || {
            sock.exists()
                && Client::connect(&sock, Duration::from_secs(2))
                    .and_then(|mut c| c.call("version", &Section::new()))
                    .is_ok()
        });
        if !up {
            let stdout = fs::read_to_string(sw.path.join("charon.stdout")).unwrap_or_default();
            let log = sw.log_text().unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            bail!(
                "charon {} in {} did not come up\nstdout: {stdout}\nlog tail:\n{}",
                sw.label,
                sw.ns,
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        sw.load()?;
        Ok(sw)
    }

    /// The instance directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// The namespace charon runs in.
    #[must_use]
    pub fn ns_name(&self) -> &str {
        &self.ns
    }

    /// charon's PID while it runs.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Path of the VICI socket.
    #[must_use]
    pub fn vici_path(&self) -> PathBuf {
        self.path.join("charon.vici")
    }

    /// Path of charon's file log.
    #[must_use]
    pub fn log_path(&self) -> PathBuf {
        self.path.join("charon.log")
    }

    /// The log so far.
    pub fn log_text(&self) -> Result<String> {
        Ok(String::from_utf8_lossy(&fs::read(self.log_path())?).into_owned())
    }

    /// A fresh VICI connection (15 s read timeout; `initiate` itself is
    /// bounded to 10 s).
    pub fn vici(&self) -> Result<Client> {
        Client::connect(&self.vici_path(), Duration::from_secs(15))
    }

    /// Runs `swanctl ARGS` against this instance and returns stdout.
    pub fn swanctl(&self, args: &[&str]) -> Result<String> {
        let uri = format!("unix://{}", self.vici_path().display());
        let out = run(Command::new("swanctl")
            .env("STRONGSWAN_CONF", self.path.join("strongswan.conf"))
            .env("SWANCTL_DIR", self.path.join("swanctl"))
            .args(args)
            .args(["--uri", &uri]))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Replaces `swanctl.conf` (call [`StrongSwan::load`] afterwards).
    pub fn write_conf(&self, conf: &SwanctlConf) -> Result<()> {
        fs::write(self.path.join("swanctl/swanctl.conf"), conf.render())?;
        Ok(())
    }

    /// `swanctl --load-all`: connections, secrets, certificates, keys.
    pub fn load(&self) -> Result<()> {
        self.swanctl(&["--load-all", "--noprompt"])
            .with_context(|| format!("load config into charon {}", self.label))
            .map(drop)
    }

    /// Initiates CHILD SA `child` (and its IKE SA if needed); returns once
    /// it is up or failed (10 s at most).
    pub fn initiate(&self, child: &str) -> Result<()> {
        let msg = Section::new().kv("child", child).kv("timeout", "10000");
        self.vici()?
            .call_ok("initiate", &msg)
            .with_context(|| format!("{}: initiate {child}", self.label))
            .map(drop)
    }

    /// Deletes IKE SA(s) of connection `ike` (INFORMATIONAL with DELETE),
    /// waiting up to 5 s for the peer's answer.
    pub fn terminate_ike(&self, ike: &str) -> Result<()> {
        let msg = Section::new().kv("ike", ike).kv("timeout", "5000");
        self.vici()?.call_ok("terminate", &msg).map(drop)
    }

    /// Deletes CHILD SA(s) named `child`.
    pub fn terminate_child(&self, child: &str) -> Result<()> {
        let msg = Section::new().kv("child", child).kv("timeout", "5000");
        self.vici()?.call_ok("terminate", &msg).map(drop)
    }

    /// Starts a rekey of IKE SA(s) of connection `ike` (CREATE_CHILD_SA).
    /// Asynchronous: poll [`StrongSwan::list_sas`] for the result.
    pub fn rekey_ike(&self, ike: &str) -> Result<()> {
        let msg = Section::new().kv("ike", ike);
        self.vici()?.call_ok("rekey", &msg).map(drop)
    }

    /// Starts a rekey of CHILD SA(s) named `child`. Asynchronous.
    pub fn rekey_child(&self, child: &str) -> Result<()> {
        let msg = Section::new().kv("child", child);
        self.vici()?.call_ok("rekey", &msg).map(drop)
    }

    /// All IKE SAs with their CHILD SAs.
    pub fn list_sas(&self) -> Result<Vec<IkeSaInfo>> {
        let (_, events) =
            self.vici()?
                .call_streamed("list-sas", &Section::new(), Some("list-sa"))?;
        Ok(events
            .iter()
            .flat_map(|e| e.subsections().map(|(n, s)| IkeSaInfo::from_vici(n, s)))
            .collect())
    }

    /// Polls [`StrongSwan::list_sas`] until `pred` holds (true) or
    /// `timeout` passes (false).
    pub fn wait_sas(&self, timeout: Duration, pred: impl Fn(&[IkeSaInfo]) -> bool) -> bool {
        wait_until(timeout, || self.list_sas().is_ok_and(|s| pred(&s)))
    }

    /// Keys charon has logged so far (see [`charon_log`]).
    pub fn keys(&self) -> Result<LogKeys> {
        Ok(charon_log::parse(&self.log_text()?))
    }

    /// Writes Wireshark's `ikev2_decryption_table` and `esp_sa` for every
    /// SA logged so far into `dir`; `outer` is the family of the outer
    /// (UDP) addresses.
    pub fn write_wireshark_tables(&self, dir: &Path, outer: Family) -> Result<LogKeys> {
        let keys = self.keys()?;
        wireshark::write_tables(dir, &keys, outer)?;
        Ok(keys)
    }

    /// Stops charon (TERM, then KILL after 5 s). Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                signal(&[child.id()], "TERM");
                let exited = wait_until(Duration::from_secs(5), || {
                    !matches!(child.try_wait(), Ok(None))
                });
                if !exited {
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
        }
    }
}

impl Drop for StrongSwan {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() || std::env::var_os("YK_KEEP").is_some() {
            if let Some(dir) = self.dir.take() {
                let p = dir.keep();
                eprintln!("kept charon {} directory: {}", self.label, p.display());
            }
        }
    }
}

fn strongswan_conf(dir: &Path, opts: &CharonOptions) -> String {
    let d = dir.display();
    let mut levels = String::new();
    for (k, v) in &opts.log_levels {
        levels.push_str(&format!("            {k} = {v}\n"));
    }
    let mut extra = String::new();
    if let Some(f) = opts.fragment_size {
        extra.push_str(&format!("    fragment_size = {f}\n"));
    }
    if let Some(k) = opts.keep_alive {
        extra.push_str(&format!("    keep_alive = {}s\n", k.as_secs().max(1)));
    }
    for l in &opts.extra {
        extra.push_str(&format!("    {l}\n"));
    }
    format!(
        "# generated by yadokari-testbed; self-contained (no include of /etc)
charon {{
    load_modular = no
    load = {plugins}
    # routes to the peer's selectors go to table 220 via ipsec0 (libipsec)
    install_routes = yes
    routing_table = 220
    routing_table_prio = 220
    port = 500
    port_nat_t = 4500
    # fail fast in tests instead of retrying for minutes
    retransmit_tries = 3
    retransmit_timeout = 1.0
    retransmit_base = 1.4
{extra}    plugins {{
        vici {{
            socket = unix://{d}/charon.vici
        }}
    }}
    filelog {{
        yk {{
            path = {d}/charon.log
            time_format = %H:%M:%S
            time_add_ms = yes
            ike_name = yes
            append = no
            flush_line = yes
{levels}        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
    }}
}}
swanctl {{
    load = random nonce openssl aes sha1 sha2 hmac pem pkcs1 pkcs8 x509 pubkey curve25519 gmp
}}
",
        plugins = opts.plugins
    )
}
