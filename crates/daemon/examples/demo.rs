//! The README's demo: a live tunnel between two network namespaces.
//!
//! Left: strongSwan (charon with kernel-libipsec), or a second yadokarid if
//! strongSwan is not installed. Right: yadokarid, which initiates. Then a
//! ping and a short iperf3 run between the two site networks, through the
//! tunnel, `yadokari list-sas`, and everything is torn down (also on error
//! or Ctrl-C: the namespaces and every process in them go away).
//!
//! Run it with `sudo scripts/demo.sh`, which builds the release binaries
//! first and passes their paths in `YK_BIN_DIR`.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use yadokari_testbed::{site_to_site, CharonOptions, Family, Side, StrongSwan, Topology, TEST_PSK};

fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("YK_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release"));
    dir.join(name)
}

struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // SIGTERM first: the daemon deletes its SAs with the peer.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(side: Side, topo: &Topology, initiate: bool) -> String {
    let me = topo.addrs(side);
    let peer = topo.addrs(side.peer());
    let id = |s: Side| format!("{}.example.org", s.as_str());
    format!(
        r#"# yadokari demo: {side} side
[interface]
name = "ykt0"

[tunnel.demo]
local = "{local}"
remote = "{remote}"
local_id = "{lid}"
remote_id = "{rid}"
psk = "{TEST_PSK}"
local_ts = "{lts}"
remote_ts = "{rts}"
ike = "aes256gcm16-prfsha256-x25519"
esp = "aes256gcm16"
encap = true
start = "{start}"
dpd = "30s"
"#,
        side = side.as_str(),
        local = me.outer(Family::V4),
        remote = peer.public(Family::V4),
        lid = id(side),
        rid = id(side.peer()),
        lts = me.net(Family::V4),
        rts = peer.net(Family::V4),
        start = if initiate { "initiate" } else { "respond" },
    )
}

fn start_daemon(topo: &Topology, side: Side, dir: &Path, initiate: bool) -> anyhow::Result<Daemon> {
    let cfg = dir.join(format!("{}.toml", side.as_str()));
    std::fs::write(&cfg, config(side, topo, initiate))?;
    let socket = dir.join(format!("{}.sock", side.as_str()));
    let log = std::fs::File::create(dir.join(format!("{}.log", side.as_str())))?;
    let child = topo
        .ns(side)
        .command(bin("yadokarid").to_str().context("path")?)
        .arg("--config")
        .arg(&cfg)
        .arg("--socket")
        .arg(&socket)
        .arg("--state-dir")
        .arg(dir.join(format!("{}-state", side.as_str())))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot start yadokarid (build it first: cargo build --release)")?;
    Ok(Daemon { child, socket })
}

fn yadokari(topo: &Topology, side: Side, d: &Daemon, args: &[&str]) -> anyhow::Result<String> {
    let out = topo
        .ns(side)
        .command(bin("yadokari").to_str().context("path")?)
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .output()?;
    if !out.status.success() {
        bail!(
            "yadokari {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn step(s: &str) {
    println!("\n==> {s}");
}

fn main() -> anyhow::Result<()> {
    if let Some(reason) = yadokari_testbed::require(&["ip", "ping", "iperf3"]) {
        bail!("the demo cannot run here: {reason}");
    }
    let dir = tempfile::Builder::new()
        .prefix("yadokari-demo-")
        .tempdir()?;
    step("two network namespaces: left (198.51.100.0/24 behind 192.0.2.1) and right (203.0.113.0/24 behind 192.0.2.2)");
    let topo = Topology::direct("demo")?;
    println!(
        "    namespaces {} and {}",
        topo.left.name(),
        topo.right.name()
    );

    let have_swan = yadokari_testbed::strongswan::charon_path().is_some()
        && yadokari_testbed::require(&["swanctl"]).is_none();
    let mut _swan = None;
    let mut _left = None;
    if have_swan {
        step("left: strongSwan (charon + kernel-libipsec), responding");
        let conf = site_to_site(&topo, Side::Left, Family::V4, &[Family::V4])
            .with_proposals("aes256gcm16-prfsha256-x25519", "aes256gcm16");
        _swan = Some(StrongSwan::start(
            topo.ns(Side::Left),
            "left",
            &conf,
            &CharonOptions::default(),
        )?);
    } else {
        step("left: strongSwan is not installed, so a second yadokarid plays the peer");
        _left = Some(start_daemon(&topo, Side::Left, dir.path(), false)?);
    }
    step("right: yadokarid, initiating");
    let right = start_daemon(&topo, Side::Right, dir.path(), true)?;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(out) = yadokari(&topo, Side::Right, &right, &["--json", "list-sas"]) {
            if out.contains("\"children\":[{") {
                break;
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("right.log")).unwrap_or_default();
            bail!("the tunnel did not come up within 20 s; yadokarid's log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("    tunnel up");

    let left_site = topo.addrs(Side::Left).site(Family::V4);
    let right_site = topo.addrs(Side::Right).site(Family::V4);
    step(&format!(
        "ping {left_site} (left site) from the right site, through the tunnel"
    ));
    let out = topo
        .ns(Side::Right)
        .command("ping")
        .args([
            "-c",
            "3",
            "-W",
            "1",
            "-I",
            &right_site.to_string(),
            &left_site.to_string(),
        ])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!("ping through the tunnel failed");
    }

    step("iperf3, 3 seconds of TCP from left to right through the tunnel");
    let mut server = topo
        .ns(Side::Right)
        .command("iperf3")
        .args(["-s", "-1", "-B", &right_site.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    std::thread::sleep(Duration::from_millis(500));
    let out = topo
        .ns(Side::Left)
        .command("iperf3")
        .args([
            "-c",
            &right_site.to_string(),
            "-B",
            &left_site.to_string(),
            "-t",
            "3",
            "-f",
            "m",
        ])
        .output()?;
    let _ = server.kill();
    let _ = server.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text
        .lines()
        .filter(|l| l.contains("sender") || l.contains("receiver"))
    {
        println!("    {}", line.trim());
    }
    if !out.status.success() {
        bail!("iperf3 failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    step("yadokari list-sas (right side)");
    print!("{}", yadokari(&topo, Side::Right, &right, &["list-sas"])?);

    step("tearing down: yadokarid deletes its SAs, the namespaces are removed");
    drop(right);
    drop(_left);
    drop(_swan);
    drop(topo);
    println!("\ndemo finished: the tunnel carried ping and TCP traffic.");
    Ok(())
}
