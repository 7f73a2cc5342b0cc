//! Link, address and route set-up for the TUN device by running `ip`
//! (iproute2). Control path only: called when a device is created or a CHILD
//! SA's routes change, never per packet. An rtnetlink implementation can
//! replace this behind the same functions.

use std::io;
use std::net::IpAddr;
use std::process::Command;

/// Where `ip` runs: the current namespace, or a named one (`ip -n NAME`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpTool {
    netns: Option<String>,
}

/// A route destination: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub len: u8,
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl IpTool {
    /// `ip` in the caller's namespace.
    #[must_use]
    pub fn current() -> Self {
        Self { netns: None }
    }

    /// `ip -n NAME`.
    #[must_use]
    pub fn in_netns(name: &str) -> Self {
        Self {
            netns: Some(name.to_owned()),
        }
    }

    /// Runs `ip [-n NS] ARGS…`, returning an error with its stderr on failure.
    pub fn run(&self, args: &[&str]) -> io::Result<()> {
        let mut cmd = Command::new("ip");
        if let Some(ns) = &self.netns {
            cmd.arg("-n").arg(ns);
        }
        let out = cmd.args(args).output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Runs `ip [-n NS] ARGS…` and returns its standard output.
    pub fn output(&self, args: &[&str]) -> io::Result<String> {
        let mut cmd = Command::new("ip");
        if let Some(ns) = &self.netns {
            cmd.arg("-n").arg(ns);
        }
        let out = cmd.args(args).output()?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(io::Error::other(format!(
                "ip {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Runs many commands in one `ip -force -batch -` (one process for
    /// hundreds of routes). Every line runs even if an earlier one fails;
    /// the error names the failures.
    pub fn batch(&self, lines: &[String]) -> io::Result<()> {
        use std::io::Write as _;
        if lines.is_empty() {
            return Ok(());
        }
        let mut cmd = Command::new("ip");
        if let Some(ns) = &self.netns {
            cmd.arg("-n").arg(ns);
        }
        let mut child = cmd
            .args(["-force", "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(lines.join("\n").as_bytes())?;
            stdin.write_all(b"\n")?;
        }
        let out = child.wait_with_output()?;
        if out.status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "ip -batch: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )))
        }
    }

    /// Sets the MTU and brings the link up.
    pub fn link_up(&self, dev: &str, mtu: u16) -> io::Result<()> {
        self.run(&["link", "set", "dev", dev, "mtu", &mtu.to_string(), "up"])
    }

    /// Adds (or replaces) an address on `dev`; IPv6 addresses skip DAD so they
    /// are usable at once.
    pub fn addr_replace(&self, dev: &str, addr: Prefix) -> io::Result<()> {
        let a = addr.to_string();
        if addr.addr.is_ipv6() {
            self.run(&["-6", "addr", "replace", &a, "dev", dev, "nodad"])
        } else {
            self.run(&["addr", "replace", &a, "dev", dev])
        }
    }

    /// Routes `dst` into `dev`, optionally with a preferred source address.
    pub fn route_replace(&self, dst: Prefix, dev: &str, src: Option<IpAddr>) -> io::Result<()> {
        let d = dst.to_string();
        let fam = if dst.addr.is_ipv6() { "-6" } else { "-4" };
        match src {
            Some(s) => self.run(&[
                fam,
                "route",
                "replace",
                &d,
                "dev",
                dev,
                "src",
                &s.to_string(),
            ]),
            None => self.run(&[fam, "route", "replace", &d, "dev", dev]),
        }
    }

    /// Removes the route to `dst` via `dev`; a missing route is not an error.
    pub fn route_delete(&self, dst: Prefix, dev: &str) -> io::Result<()> {
        let d = dst.to_string();
        let fam = if dst.addr.is_ipv6() { "-6" } else { "-4" };
        match self.run(&[fam, "route", "del", &d, "dev", dev]) {
            Err(e) if e.to_string().contains("No such process") => Ok(()),
            r => r,
        }
    }
}
