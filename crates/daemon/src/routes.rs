//! Fail-closed routing: what the configuration's policies do with traffic,
//! expressed as routes in a table of our own, in place from load to
//! unload whatever the SAs do (RFC 4301 §4.4.1: the SPD, not the SAD,
//! decides whether traffic is protected, bypassed or discarded).
//!
//! Everything lives in routing table [`TABLE`], consulted before `main`
//! through one rule per address family, `not fwmark FWMARK lookup TABLE`.
//! The daemon's IKE and ESP sockets carry [`crate::net::FWMARK`], so the
//! datagrams that carry the tunnel never take these routes (as wg-quick
//! does for a default route); every other packet, local or forwarded, does.
//!
//! - **protect**: each remote selector's prefixes go into the TUN
//!   (`PREFIX dev TUN metric 100`); without an SA the data plane drops
//!   such packets, counts them (`no_sa`) and asks for an SA (ACQUIRE).
//!   Beside each, a `blackhole PREFIX metric 31083`: it loses to the TUN
//!   route while the TUN exists, and when the daemon dies (kill -9, crash)
//!   the kernel removes the TUN and its routes, but not the blackhole or
//!   the rule, so the traffic is dropped, never sent in clear, until the
//!   daemon is back or `yadokarid --cleanup` removes them.
//! - **discard**: `blackhole PREFIX metric 50`.
//! - **bypass**: `throw PREFIX metric 50`: the lookup leaves our table and
//!   continues in `main`, as if yadokari were not there.
//!
//! Routing decides by destination: the longest prefix wins, and for the
//! same prefix discard and bypass (metric 50) win over protect (100).
//!
//! At start the table and rules are brought to what the configuration
//! says: fresh routes replace old ones first (so a restart never opens a
//! window in which protected traffic could leave in clear), then whatever
//! a previous run left that is no longer wanted goes, and duplicate rules
//! are removed. A clean shutdown removes the table's routes and the rules.

use std::collections::BTreeSet;
use std::net::IpAddr;

use yadokari_ike::TrafficSelector;
use yadokari_sys::netcfg::IpTool;

use crate::translate::{Connection, PlainAction};

/// Our routing table ("yk").
pub const TABLE: u32 = 0x796b;
const PROTECT_METRIC: u32 = 100;
const POLICY_METRIC: u32 = 50;
const BACKSTOP_METRIC: u32 = 0x796b;

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Into the TUN (protect).
    Tunnel,
    /// Drop when the TUN is gone (protect, after a crash).
    Backstop,
    /// Drop (discard).
    Discard,
    /// Leave our table (bypass).
    Bypass,
}

impl Kind {
    /// The route type as `ip` names it, and the metric.
    fn ip_type(self) -> (&'static str, u32) {
        match self {
            Kind::Tunnel => ("unicast", PROTECT_METRIC),
            Kind::Backstop => ("blackhole", BACKSTOP_METRIC),
            Kind::Discard => ("blackhole", POLICY_METRIC),
            Kind::Bypass => ("throw", POLICY_METRIC),
        }
    }
}

/// One route of our table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub addr: IpAddr,
    pub len: u8,
    pub kind: Kind,
    /// Source address hint (protect: one of our addresses inside the local
    /// selectors, so locally generated traffic matches them).
    pub src: Option<IpAddr>,
}

impl Route {
    /// What identifies the route in the kernel: type, destination, metric.
    fn key(&self) -> (String, String, u32) {
        let (ty, metric) = self.kind.ip_type();
        (ty.to_owned(), format!("{}/{}", self.addr, self.len), metric)
    }
}

/// The routes the policies want.
pub fn wanted(conns: &[Connection], plain: &[(PlainAction, TrafficSelector)]) -> Vec<Route> {
    let mut out = BTreeSet::new();
    for c in conns {
        for child in &c.conn.children {
            for ts in &child.ts_remote {
                // Listing the host's addresses is a netlink dump: once per
                // selector, not per prefix.
                let src = child
                    .ts_local
                    .iter()
                    .filter(|l| l.addrs.is_ipv4() == ts.addrs.is_ipv4())
                    .find_map(host_address_in);
                for p in ts.addrs.to_prefixes() {
                    for kind in [Kind::Tunnel, Kind::Backstop] {
                        out.insert(Route {
                            addr: p.addr(),
                            len: p.prefix_len(),
                            kind,
                            src: src.filter(|_| kind == Kind::Tunnel),
                        });
                    }
                }
            }
        }
    }
    for (action, ts) in plain {
        let kind = match action {
            PlainAction::Bypass => Kind::Bypass,
            PlainAction::Discard => Kind::Discard,
        };
        for p in ts.addrs.to_prefixes() {
            out.insert(Route {
                addr: p.addr(),
                len: p.prefix_len(),
                kind,
                src: None,
            });
        }
    }
    out.into_iter().collect()
}

/// One of this host's addresses inside `ts`, if any.
fn host_address_in(ts: &TrafficSelector) -> Option<IpAddr> {
    let addrs = nix::ifaddrs::getifaddrs().ok()?;
    addrs
        .filter_map(|i| i.address)
        .filter_map(|s| {
            s.as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| s.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .find(|ip| ts.addrs.contains_addr(*ip))
}

fn replace_line(r: &Route, tun: &str) -> String {
    let (ty, metric) = r.kind.ip_type();
    let dst = format!("{}/{}", r.addr, r.len);
    match r.kind {
        Kind::Tunnel => {
            let src = r.src.map(|s| format!(" src {s}")).unwrap_or_default();
            format!("route replace {dst} dev {tun}{src} metric {metric} table {TABLE}")
        }
        _ => format!("route replace {ty} {dst} metric {metric} table {TABLE}"),
    }
}

/// The routes now in our table: (type, destination with length, metric).
fn current(ip: &IpTool) -> Vec<(String, String, u32)> {
    let mut out = Vec::new();
    for (fam, host) in [("-4", 32), ("-6", 128)] {
        let table = TABLE.to_string();
        let Ok(text) = ip.output(&["-j", fam, "route", "show", "table", &table]) else {
            continue;
        };
        let Ok(serde_json::Value::Array(list)) = serde_json::from_str(&text) else {
            continue;
        };
        for r in list {
            let ty = r["type"].as_str().unwrap_or("unicast").to_owned();
            let Some(dst) = r["dst"].as_str() else {
                continue;
            };
            let dst = match (dst, dst.contains('/')) {
                ("default", _) if host == 32 => "0.0.0.0/0".to_owned(),
                ("default", _) => "::/0".to_owned(),
                (d, true) => d.to_owned(),
                (d, false) => format!("{d}/{host}"),
            };
            let metric = r["metric"].as_u64().unwrap_or(0) as u32;
            out.push((ty, dst, metric));
        }
    }
    out
}

/// How many copies of our rule a family has.
fn rules(ip: &IpTool, fam: &str) -> usize {
    let Ok(text) = ip.output(&["-j", fam, "rule", "show"]) else {
        return 0;
    };
    let Ok(serde_json::Value::Array(list)) = serde_json::from_str(&text) else {
        return 0;
    };
    let table = TABLE.to_string();
    list.iter()
        .filter(|r| r["table"].as_str() == Some(table.as_str()))
        .count()
}

fn rule(ip: &IpTool, fam: &str, op: &str) -> std::io::Result<()> {
    let mark = format!("{:#x}", crate::net::FWMARK);
    let table = TABLE.to_string();
    ip.run(&[fam, "rule", op, "not", "fwmark", &mark, "table", &table])
}

/// Brings our table and rules to `wanted`: new routes first, then the rule
/// of each family in use (exactly one), then stale routes out.
pub fn apply(ip: &IpTool, tun: &str, wanted: &[Route]) -> anyhow::Result<()> {
    let lines: Vec<String> = wanted.iter().map(|r| replace_line(r, tun)).collect();
    let mut result = ip
        .batch(&lines)
        .map_err(|e| anyhow::anyhow!("cannot install the policy routes: {e}"));
    for (fam, v6) in [("-4", false), ("-6", true)] {
        let used = wanted.iter().any(|r| r.addr.is_ipv6() == v6);
        let n = rules(ip, fam);
        if used && n == 0 {
            if let Err(e) = rule(ip, fam, "add") {
                result = Err(anyhow::anyhow!("cannot add the policy rule: {e}"));
            }
        }
        // A rule left by a run that died doubles up: keep one (or none).
        let keep = usize::from(used);
        for _ in keep..n.max(keep) {
            let _ = rule(ip, fam, "del");
        }
    }
    let want: BTreeSet<(String, String, u32)> = wanted.iter().map(Route::key).collect();
    let stale: Vec<String> = current(ip)
        .into_iter()
        .filter(|k| !want.contains(k))
        .map(|(ty, dst, metric)| {
            tracing::info!(%dst, r#type = %ty, "removing a stale route");
            format!("route del {ty} {dst} metric {metric} table {TABLE}")
        })
        .collect();
    if let Err(e) = ip.batch(&stale) {
        tracing::warn!("cannot remove stale routes: {e}");
    }
    result
}

/// Removes every route of our table and our rules (clean shutdown, or
/// `yadokarid --cleanup` after a crash). Returns how many were removed.
pub fn remove_all(ip: &IpTool) -> usize {
    let routes = current(ip).len();
    let table = TABLE.to_string();
    for fam in ["-4", "-6"] {
        let _ = ip.run(&[fam, "route", "flush", "table", &table]);
    }
    let mut n = routes;
    for fam in ["-4", "-6"] {
        for _ in 0..rules(ip, fam) {
            if rule(ip, fam, "del").is_ok() {
                n += 1;
            }
        }
    }
    n
}
