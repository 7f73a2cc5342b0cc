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
//!
//! `ip` runs as a child process, which takes milliseconds: after start-up
//! a [`Syncer`] thread applies route sets, so the event loop that answers
//! IKE never waits for it. Only the newest set matters; older ones that
//! have not been applied yet are skipped.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

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
    let table = TABLE.to_string();
    [("-4", false), ("-6", true)]
        .into_iter()
        .filter_map(|(fam, v6)| {
            let text = ip
                .output(&["-j", fam, "route", "show", "table", &table])
                .ok()?;
            Some(parse_routes(&text, v6))
        })
        .flatten()
        .collect()
}

/// `ip -j route show` output as (type, destination with length, metric).
fn parse_routes(text: &str, v6: bool) -> Vec<(String, String, u32)> {
    let Ok(serde_json::Value::Array(list)) = serde_json::from_str(text) else {
        return Vec::new();
    };
    let host = if v6 { 128 } else { 32 };
    list.iter()
        .filter_map(|r| {
            let ty = r["type"].as_str().unwrap_or("unicast").to_owned();
            let dst = r["dst"].as_str()?;
            let dst = match (dst, dst.contains('/')) {
                ("default", _) if v6 => "::/0".to_owned(),
                ("default", _) => "0.0.0.0/0".to_owned(),
                (d, true) => d.to_owned(),
                (d, false) => format!("{d}/{host}"),
            };
            let metric = u32::try_from(r["metric"].as_u64().unwrap_or(0)).unwrap_or(u32::MAX);
            Some((ty, dst, metric))
        })
        .collect()
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
    let mut result = Ok(());
    if let Err(e) = ip.batch(&lines) {
        // A source hint the kernel refuses (an IPv6 address still in DAD,
        // say) must not leave a prefix unrouted: again without hints.
        tracing::warn!("policy routes: {e}; installing them without source addresses");
        let plain: Vec<String> = wanted
            .iter()
            .map(|r| {
                replace_line(
                    &Route {
                        src: None,
                        ..r.clone()
                    },
                    tun,
                )
            })
            .collect();
        if let Err(e) = ip.batch(&plain) {
            result = Err(anyhow::anyhow!("cannot install the policy routes: {e}"));
        }
    }
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

/// Applies route sets off the event loop, newest first (see the module
/// documentation). Start-up applies its set directly, before this exists,
/// so the first negotiation never precedes the routes.
pub struct Syncer {
    tx: Option<mpsc::Sender<Vec<Route>>>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the thread that runs `ip` for route changes.
    pub fn start(ip: IpTool, tun: String) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Vec<Route>>();
        let thread = std::thread::Builder::new()
            .name("yk-routes".into())
            .spawn(move || {
                // This thread only runs `ip`, which needs CAP_NET_ADMIN;
                // it keeps that and nothing else, and reads nothing from
                // the network.
                if let Err(e) =
                    yadokari_sys::privs::limit_capabilities(&[yadokari_sys::privs::Cap::NET_ADMIN])
                {
                    crate::internal_warn!("route thread keeps its start-up capabilities: {e}");
                }
                while let Ok(mut wanted) = rx.recv() {
                    // Sets that arrived meanwhile are superseded by the last.
                    while let Ok(newer) = rx.try_recv() {
                        wanted = newer;
                    }
                    if let Err(e) = apply(&ip, &tun, &wanted) {
                        crate::internal_error!("policy routes not updated: {e:#}");
                    }
                }
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Asks for `wanted` to become the table; returns at once.
    pub fn submit(&self, wanted: Vec<Route>) {
        if let Some(tx) = &self.tx {
            // The thread only ends when `finish` drops the sender.
            let _ = tx.send(wanted);
        }
    }

    /// Lets the thread apply what is queued, then ends it: after this, no
    /// route change can race a clean unload's removal.
    pub fn finish(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.finish();
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> yadokari_config::Config {
        let text = r#"
[tunnel.t]
local = "192.0.2.1"
remote = "192.0.2.2"
local_id = "a.example.org"
psk = "a-long-enough-pre-shared-key-for-tests"
local_ts = ["198.51.100.0/24", "2001:db8:a::/64"]
remote_ts = ["203.0.113.0/24", "2001:db8:b::/64"]

[policy.pass]
action = "bypass"
[selector.pass]
src = "198.51.100.0/24"
dst = "203.0.113.7/32"
policy = "pass"

[policy.drop]
action = "discard"
[selector.drop]
src = "198.51.100.0/24"
dst = "203.0.113.8-203.0.113.9"
policy = "drop"
"#;
        let opts = yadokari_config::LoadOptions {
            base_dir: std::path::PathBuf::new(),
        };
        yadokari_config::parse_str("t.toml", text, &opts).unwrap()
    }

    #[test]
    fn every_policy_becomes_routes() {
        let c = config();
        let names = Default::default();
        let conns = crate::translate::connections(&c, 500, &names).unwrap();
        let plain = crate::translate::plain_policies(&c, &names).unwrap();
        let keys: Vec<(String, String, u32)> =
            wanted(&conns, &plain).iter().map(Route::key).collect();
        let k = |t: &str, d: &str, m: u32| (t.to_owned(), d.to_owned(), m);
        for want in [
            k("unicast", "203.0.113.0/24", 100),
            k("blackhole", "203.0.113.0/24", 31083),
            k("unicast", "2001:db8:b::/64", 100),
            k("blackhole", "2001:db8:b::/64", 31083),
            k("throw", "203.0.113.7/32", 50),
            k("blackhole", "203.0.113.8/31", 50),
        ] {
            assert!(keys.contains(&want), "{want:?} not in {keys:?}");
        }
        assert_eq!(keys.len(), 6, "{keys:?}");
    }

    #[test]
    fn ip_json_parses_to_the_same_keys() {
        let v4 = r#"[{"dst":"203.0.113.0/24","dev":"ykt0","scope":"link","metric":100,"flags":[]},
            {"type":"blackhole","dst":"203.0.113.0/24","metric":31083,"flags":[]},
            {"type":"throw","dst":"203.0.113.7","metric":50,"flags":[]},
            {"type":"blackhole","dst":"default","metric":31083,"flags":[]}]"#;
        assert_eq!(
            parse_routes(v4, false),
            vec![
                ("unicast".into(), "203.0.113.0/24".into(), 100),
                ("blackhole".into(), "203.0.113.0/24".into(), 31083),
                ("throw".into(), "203.0.113.7/32".into(), 50),
                ("blackhole".into(), "0.0.0.0/0".into(), 31083),
            ]
        );
        let v6 = r#"[{"type":"blackhole","dst":"2001:db8:b::/64","dev":"lo","metric":31083,"flags":[],"pref":"medium"}]"#;
        assert_eq!(
            parse_routes(v6, true),
            vec![("blackhole".into(), "2001:db8:b::/64".into(), 31083)]
        );
        assert!(parse_routes("not json", false).is_empty());
    }
}
