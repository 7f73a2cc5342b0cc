//! A `yadokarid` process inside a test namespace: its own config file,
//! control socket, state directory and log in a temporary directory, a
//! control-API client, and waiting on its SA table. Killed on drop; the
//! log is printed when the dropping thread is panicking, so a failed test
//! shows what the daemon saw.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use yadokari_control::{Client, IkeSaInfo, Request, Response};

use crate::Netns;

pub struct Yadokarid {
    child: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
    label: String,
}

impl Yadokarid {
    /// Starts `bin` (the test's `env!("CARGO_BIN_EXE_yadokarid")`) in `ns`
    /// with `config`, at debug log level, and waits up to 20 s for its
    /// control socket.
    pub fn start(ns: &Netns, bin: &str, label: &str, config: &str) -> Result<Yadokarid> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("yk-{label}-"))
            .tempdir()?;
        let cfg = dir.path().join("yadokari.toml");
        std::fs::write(&cfg, config)?;
        let socket = dir.path().join("control.sock");
        let log = std::fs::File::create(dir.path().join("yadokarid.log"))?;
        let child = ns
            .command(bin)
            .arg("--config")
            .arg(&cfg)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--log")
            .arg("debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {bin}"))?;
        let mut y = Yadokarid {
            child,
            socket,
            dir,
            label: label.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Client::connect(&y.socket, None).is_err() {
            if let Some(status) = y.child.try_wait()? {
                bail!("yadokarid ({label}) exited with {status}:\n{}", y.log());
            }
            if Instant::now() > deadline {
                bail!("yadokarid ({label}) did not open its socket:\n{}", y.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The control socket opens before the engine has its IKE sockets
        // and TUN; requests are answered only once the engine runs, so an
        // answered `status` means the daemon is ready for traffic.
        loop {
            if let Ok(Response::Status(_)) = y.call(&Request::Status) {
                break;
            }
            if let Some(status) = y.child.try_wait()? {
                bail!("yadokarid ({label}) exited with {status}:\n{}", y.log());
            }
            if Instant::now() > deadline {
                bail!("yadokarid ({label}) did not answer `status`:\n{}", y.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(y)
    }

    /// The temporary directory holding config, socket, state and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("yadokarid.log")).unwrap_or_default()
    }

    pub fn call(&self, r: &Request) -> Result<Response> {
        Ok(Client::connect(&self.socket, Some(Duration::from_secs(40)))?.call(r)?)
    }

    pub fn sas(&self) -> Result<Vec<IkeSaInfo>> {
        match self.call(&Request::ListSas)? {
            Response::Sas { ike_sas } => Ok(ike_sas),
            other => bail!("list-sas answered {other:?}"),
        }
    }

    /// Polls the SA table every 100 ms until `pred` holds or `within` passes.
    pub fn wait(&self, within: Duration, mut pred: impl FnMut(&[IkeSaInfo]) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.sas().is_ok_and(|s| pred(&s)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }
}

impl Drop for Yadokarid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- yadokarid ({}) log ---\n{}", self.label, self.log());
        }
    }
}

/// Whether any IKE SA has a CHILD SA.
#[must_use]
pub fn has_child_sa(sas: &[IkeSaInfo]) -> bool {
    sas.iter().any(|s| !s.children.is_empty())
}

/// A yadokarid configuration with one compact-form tunnel on one side of
/// a test topology: between the sides' outer addresses over `family`, PSK
/// [`crate::TEST_PSK`], identities `left.example.org`/`right.example.org`.
pub struct TunnelConfig<'a> {
    pub side: crate::Side,
    pub family: crate::Family,
    /// The TUN device.
    pub ifname: &'a str,
    /// The tunnel's name (`[tunnel.NAME]`).
    pub name: &'a str,
    /// `start = "initiate"`, else `"respond"`.
    pub initiate: bool,
    /// Lines for `[daemon]`.
    pub daemon: &'a str,
    /// More lines for the tunnel (selectors, proposals, mode, lifetimes …).
    pub tunnel: &'a str,
}

impl TunnelConfig<'_> {
    #[must_use]
    pub fn render(&self, topo: &crate::Topology) -> String {
        let me = topo.addrs(self.side);
        let peer = topo.addrs(self.side.peer());
        format!(
            r#"
[daemon]
{daemon}

[interface]
name = "{ifname}"

[tunnel.{name}]
local = "{local}"
remote = "{remote}"
local_id = "{me_name}.example.org"
remote_id = "{peer_name}.example.org"
psk = "{psk}"
start = "{start}"
{tunnel}
"#,
            daemon = self.daemon,
            ifname = self.ifname,
            name = self.name,
            local = me.outer(self.family),
            remote = peer.public(self.family),
            me_name = self.side.as_str(),
            peer_name = self.side.peer().as_str(),
            psk = crate::TEST_PSK,
            start = if self.initiate { "initiate" } else { "respond" },
            tunnel = self.tunnel,
        )
    }
}

/// One side's configuration for a yadokarid ⇄ yadokarid test: tunnel `t`,
/// the left side initiates, retransmissions give up after 6 s.
#[must_use]
pub fn pair_config(
    topo: &crate::Topology,
    side: crate::Side,
    family: crate::Family,
    ifname: &str,
    daemon: &str,
    tunnel: &str,
) -> String {
    TunnelConfig {
        side,
        family,
        ifname,
        name: "t",
        initiate: side == crate::Side::Left,
        daemon: &format!("retransmit_timeout = \"6s\"\n{daemon}"),
        tunnel,
    }
    .render(topo)
}

/// `local_ts`/`remote_ts` lines for a tunnel between the sides' site
/// networks of `family`.
#[must_use]
pub fn site_selectors(topo: &crate::Topology, side: crate::Side, family: crate::Family) -> String {
    format!(
        "local_ts = \"{}\"\nremote_ts = \"{}\"",
        topo.addrs(side).net(family),
        topo.addrs(side.peer()).net(family)
    )
}

/// Starts the right side, then the left (so the initiator's first packet
/// is answered), and waits up to 20 s for a CHILD SA on both.
pub fn start_pair(
    topo: &crate::Topology,
    bin: &str,
    left: &str,
    right: &str,
) -> Result<(Yadokarid, Yadokarid)> {
    let r = Yadokarid::start(topo.ns(crate::Side::Right), bin, "right", right)?;
    let l = Yadokarid::start(topo.ns(crate::Side::Left), bin, "left", left)?;
    if !(l.wait(Duration::from_secs(20), has_child_sa)
        && r.wait(Duration::from_secs(5), has_child_sa))
    {
        bail!(
            "no CHILD SA on both sides\n--- left ---\n{}\n--- right ---\n{}",
            l.log(),
            r.log()
        );
    }
    Ok((l, r))
}
