//! Two peers (and optionally a NAT router) in network namespaces, on
//! documentation addresses only (RFC 5737, RFC 3849).
//!
//! Direct topology:
//!
//! ```text
//! left                                          right
//! site0 198.51.100.1/24 2001:db8:a::1/64        site0 203.0.113.1/24 2001:db8:b::1/64
//! yk0   192.0.2.1/24    2001:db8::1/64  <---->  yk0   192.0.2.2/24   2001:db8::2/64
//! ```
//!
//! NAT topology: left sits behind a router that masquerades (nftables,
//! IPv4 and IPv6) everything leaving on `wan`:
//!
//! ```text
//! left yk0 192.0.2.1/25 2001:db8:0:1::1/64 --- lan 192.0.2.126/25 2001:db8:0:1::fe/64 [nat]
//! [nat] wan 192.0.2.129/25 2001:db8:0:2::fe/64 --- yk0 192.0.2.130/25 2001:db8:0:2::2/64 right
//! ```
//!
//! The site addresses sit on a veth whose peer stays in the same namespace
//! (`site0` ⇄ `site0-peer`): some kernels lack the dummy driver, and a
//! veth has carrier, so its addresses are usable at once. There is no
//! default route in the direct topology, so site-to-site traffic has no
//! path but a tunnel.

use std::io::Write;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::netns::{unique_prefix, veth, Netns};

/// Outer interface name in both peers.
pub const OUTER_IF: &str = "yk0";
/// Site interface name in both peers.
pub const SITE_IF: &str = "site0";

/// Which peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The peer with the 198.51.100.0/24 / 2001:db8:a::/64 site.
    Left,
    /// The peer with the 203.0.113.0/24 / 2001:db8:b::/64 site.
    Right,
}

impl Side {
    /// The other peer.
    #[must_use]
    pub fn peer(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    /// `"left"` or `"right"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

/// Address family of outer or inner traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Direct link or left behind a masquerading router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopologyKind {
    /// left ⇄ right on one veth.
    Direct,
    /// left ⇄ nat ⇄ right, nat masquerades left.
    Nat,
}

/// The addresses of one peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideAddrs {
    /// Address on the outer interface.
    pub outer4: IpAddr,
    /// IPv6 address on the outer interface.
    pub outer6: IpAddr,
    /// What the other peer sees as this peer's address (differs from
    /// `outer4` only for left behind the NAT).
    pub public4: IpAddr,
    /// IPv6 counterpart of `public4`.
    pub public6: IpAddr,
    /// Address on the site interface.
    pub site4: IpAddr,
    /// IPv6 address on the site interface.
    pub site6: IpAddr,
    /// The site network (CIDR).
    pub net4: &'static str,
    /// The IPv6 site network (CIDR).
    pub net6: &'static str,
}

impl SideAddrs {
    /// Outer address of the given family.
    #[must_use]
    pub fn outer(&self, f: Family) -> IpAddr {
        match f {
            Family::V4 => self.outer4,
            Family::V6 => self.outer6,
        }
    }

    /// Address the other peer sees, of the given family.
    #[must_use]
    pub fn public(&self, f: Family) -> IpAddr {
        match f {
            Family::V4 => self.public4,
            Family::V6 => self.public6,
        }
    }

    /// Site address of the given family.
    #[must_use]
    pub fn site(&self, f: Family) -> IpAddr {
        match f {
            Family::V4 => self.site4,
            Family::V6 => self.site6,
        }
    }

    /// Site network of the given family.
    #[must_use]
    pub fn net(&self, f: Family) -> &'static str {
        match f {
            Family::V4 => self.net4,
            Family::V6 => self.net6,
        }
    }
}

fn ip(s: &str) -> IpAddr {
    // The literals below are fixed documentation addresses, so parsing
    // cannot fail; a typo would show in every test at once.
    s.parse().expect("address literal in topology.rs")
}

/// The addresses used for `side` in topology `kind`.
#[must_use]
pub fn addrs(kind: TopologyKind, side: Side) -> SideAddrs {
    let (outer4, outer6, public4, public6) = match (kind, side) {
        (TopologyKind::Direct, Side::Left) => {
            ("192.0.2.1", "2001:db8::1", "192.0.2.1", "2001:db8::1")
        }
        (TopologyKind::Direct, Side::Right) => {
            ("192.0.2.2", "2001:db8::2", "192.0.2.2", "2001:db8::2")
        }
        (TopologyKind::Nat, Side::Left) => (
            "192.0.2.1",
            "2001:db8:0:1::1",
            "192.0.2.129",
            "2001:db8:0:2::fe",
        ),
        (TopologyKind::Nat, Side::Right) => (
            "192.0.2.130",
            "2001:db8:0:2::2",
            "192.0.2.130",
            "2001:db8:0:2::2",
        ),
    };
    let (site4, site6, net4, net6) = match side {
        Side::Left => (
            "198.51.100.1",
            "2001:db8:a::1",
            "198.51.100.0/24",
            "2001:db8:a::/64",
        ),
        Side::Right => (
            "203.0.113.1",
            "2001:db8:b::1",
            "203.0.113.0/24",
            "2001:db8:b::/64",
        ),
    };
    SideAddrs {
        outer4: ip(outer4),
        outer6: ip(outer6),
        public4: ip(public4),
        public6: ip(public6),
        site4: ip(site4),
        site6: ip(site6),
        net4,
        net6,
    }
}

/// Two peers, optionally with a NAT router between them. Dropping it
/// kills every process inside and deletes the namespaces.
#[derive(Debug)]
pub struct Topology {
    /// Direct or NAT.
    pub kind: TopologyKind,
    /// Prefix of the namespace names.
    pub prefix: String,
    /// The left peer's namespace.
    pub left: Netns,
    /// The right peer's namespace.
    pub right: Netns,
    /// The router's namespace (NAT topology only).
    pub nat: Option<Netns>,
}

impl Topology {
    /// Builds the direct topology; namespace names derive from `test_name`.
    pub fn direct(test_name: &str) -> Result<Topology> {
        Self::new(test_name, TopologyKind::Direct)
    }

    /// Builds the NAT topology; namespace names derive from `test_name`.
    pub fn nat(test_name: &str) -> Result<Topology> {
        Self::new(test_name, TopologyKind::Nat)
    }

    /// Builds a topology of the given kind.
    pub fn new(test_name: &str, kind: TopologyKind) -> Result<Topology> {
        let prefix = unique_prefix(test_name);
        let left = Netns::create(&format!("{prefix}-l"))?;
        let right = Netns::create(&format!("{prefix}-r"))?;
        let nat = match kind {
            TopologyKind::Direct => None,
            TopologyKind::Nat => Some(Netns::create(&format!("{prefix}-n"))?),
        };
        // From here on, an early return drops `topo`, which removes the
        // namespaces made so far.
        let topo = Topology {
            kind,
            prefix,
            left,
            right,
            nat,
        };
        topo.build().context("building topology")?;
        Ok(topo)
    }

    fn build(&self) -> Result<()> {
        for side in [Side::Left, Side::Right] {
            let ns = self.ns(side);
            let a = self.addrs(side);
            ns.ip(&[
                "link",
                "add",
                SITE_IF,
                "type",
                "veth",
                "peer",
                "name",
                "site0-peer",
            ])?;
            ns.link_up("site0-peer")?;
            ns.link_up(SITE_IF)?;
            ns.add_addr(SITE_IF, &format!("{}/{}", a.site4, prefix_len(a.net4)))?;
            ns.add_addr(SITE_IF, &format!("{}/{}", a.site6, prefix_len(a.net6)))?;
        }
        let l = addrs(self.kind, Side::Left);
        let r = addrs(self.kind, Side::Right);
        match &self.nat {
            None => {
                veth(&self.left, OUTER_IF, &self.right, OUTER_IF)?;
                self.left.add_addr(OUTER_IF, &format!("{}/24", l.outer4))?;
                self.left.add_addr(OUTER_IF, &format!("{}/64", l.outer6))?;
                self.right.add_addr(OUTER_IF, &format!("{}/24", r.outer4))?;
                self.right.add_addr(OUTER_IF, &format!("{}/64", r.outer6))?;
            }
            Some(nat) => {
                nat.sysctl(&["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"])?;
                veth(&self.left, OUTER_IF, nat, "lan")?;
                veth(nat, "wan", &self.right, OUTER_IF)?;
                self.left.add_addr(OUTER_IF, &format!("{}/25", l.outer4))?;
                self.left.add_addr(OUTER_IF, &format!("{}/64", l.outer6))?;
                nat.add_addr("lan", "192.0.2.126/25")?;
                nat.add_addr("lan", "2001:db8:0:1::fe/64")?;
                nat.add_addr("wan", &format!("{}/25", l.public4))?;
                nat.add_addr("wan", &format!("{}/64", l.public6))?;
                self.right.add_addr(OUTER_IF, &format!("{}/25", r.outer4))?;
                self.right.add_addr(OUTER_IF, &format!("{}/64", r.outer6))?;
                self.left
                    .ip(&["-4", "route", "add", "default", "via", "192.0.2.126"])?;
                self.left
                    .ip(&["-6", "route", "add", "default", "via", "2001:db8:0:1::fe"])?;
                load_nft(nat, NAT_RULES)?;
            }
        }
        Ok(())
    }

    /// The namespace of `side`.
    #[must_use]
    pub fn ns(&self, side: Side) -> &Netns {
        match side {
            Side::Left => &self.left,
            Side::Right => &self.right,
        }
    }

    /// The addresses of `side`.
    #[must_use]
    pub fn addrs(&self, side: Side) -> SideAddrs {
        addrs(self.kind, side)
    }

    /// Pings `dst` from `side` (3 echo requests, 1 s reply timeout each,
    /// 0.2 s apart) and returns whether all three were answered.
    pub fn ping(&self, side: Side, dst: IpAddr) -> Result<bool> {
        let out = self.ns(side).exec(&[
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "1",
            "-q",
            &dst.to_string(),
        ])?;
        Ok(out.status.success() && String::from_utf8_lossy(&out.stdout).contains(" 3 received"))
    }
}

fn prefix_len(cidr: &str) -> &str {
    cidr.rsplit('/').next().unwrap_or("32")
}

const NAT_RULES: &str = "table inet yk_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname \"wan\" masquerade
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname \"lan\" oifname \"wan\" accept
  }
}
";

fn load_nft(ns: &Netns, rules: &str) -> Result<()> {
    let mut child = ns
        .command("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("spawn nft")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(rules.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("nft -f failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Whether `program` can be found on `PATH` (or is an existing path).
#[must_use]
pub fn have_program(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).exists();
    }
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
