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

/// The string value of the first `"key":"value"` in `ip -json` output
/// (plain names, no escapes: enough for link kinds and types).
fn json_str(json: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = json.find(&pat)? + pat.len();
    let len = json[start..].find('"')?;
    Some(json[start..start + len].to_owned())
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

    /// What kind of interface `dev` is — the kernel's link kind (`veth`,
    /// `bridge`, `tun`, `wireguard`…), or the link type (`ether`,
    /// `loopback`…) for a device without one — or `None` when no interface
    /// has that name. Used to explain a name clash before creating a TUN.
    /// Asked of `ip` (netlink, in our own namespace) rather than read from
    /// `/sys/class/net`, which shows the namespace sysfs was mounted in.
    pub fn link_kind(&self, dev: &str) -> io::Result<Option<String>> {
        let mut cmd = Command::new("ip");
        if let Some(ns) = &self.netns {
            cmd.arg("-n").arg(ns);
        }
        let out = cmd
            .args(["-details", "-json", "link", "show", "dev", dev])
            .output()?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("does not exist") {
                return Ok(None);
            }
            return Err(io::Error::other(format!(
                "ip link show dev {dev}: {}",
                err.trim()
            )));
        }
        let json = String::from_utf8_lossy(&out.stdout);
        Ok(Some(
            json_str(&json, "info_kind")
                .or_else(|| json_str(&json, "link_type"))
                .unwrap_or_else(|| "unknown".to_owned()),
        ))
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

#[cfg(test)]
mod tests {
    use super::json_str;

    #[test]
    fn link_kind_from_ip_json() {
        let veth =
            r#"[{"ifindex":3,"ifname":"yk0","link_type":"ether","linkinfo":{"info_kind":"veth"}}]"#;
        assert_eq!(json_str(veth, "info_kind").as_deref(), Some("veth"));
        let lo = r#"[{"ifindex":1,"ifname":"lo","link_type":"loopback"}]"#;
        assert_eq!(json_str(lo, "info_kind"), None);
        assert_eq!(json_str(lo, "link_type").as_deref(), Some("loopback"));
    }
}
