//! The configurations of both peers (yadokari and strongSwan) for each scenario.

use super::*;

/// yadokari's IKE proposal for the next scenario: [`IKE`], or the hybrid
/// [`IKE_PQ`] while the `setup-pq` part runs.
static YK_IKE: std::sync::Mutex<&'static str> = std::sync::Mutex::new(IKE);

pub(crate) fn set_yk_ike(ike: &'static str) {
    *YK_IKE.lock().unwrap_or_else(|e| e.into_inner()) = ike;
}

pub(crate) fn yk_ike() -> &'static str {
    *YK_IKE.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn id(side: Side) -> String {
    format!("{}.example.org", side.as_str())
}

/// A whole config: the daemon part and a compact-form tunnel `yk` between
/// the two site networks.
pub(crate) fn yk_config(topo: &Topology, side: Side, initiate: bool, encap: bool) -> String {
    let me = topo.addrs(side);
    let peer = topo.addrs(side.peer());
    TunnelConfig {
        side,
        family: Family::V4,
        // Not `yk0`: that is the topology's outer veth.
        ifname: "ykt0",
        name: "yk",
        initiate,
        // The burst's responder: see `yk_head` on the per-source limit.
        daemon: "log_level = \"info\"\nretransmit_timeout = \"20s\"\nhalf_open_per_source = 0",
        tunnel: &format!(
            "local_ts = \"{}\"\nremote_ts = \"{}\"\nike = \"{ike}\"\nesp = \"{ESP}\"\nencap = {encap}",
            me.net(Family::V4),
            peer.net(Family::V4),
            ike = yk_ike(),
        ),
    }
    .render(topo)
}

/// The daemon-wide part. The TUN must not be called `yk0`: that is the
/// topology's outer veth. A burst of N set-ups comes from one address,
/// which the per-source half-open limit (16 by default) would treat as a
/// flood; strongSwan's responder gets its per-IP limit lifted too (below).
/// The COOKIE threshold keeps its default.
pub(crate) fn yk_head(log_level: &str) -> String {
    format!(
        "[daemon]\nlog_level = \"{log_level}\"\nretransmit_timeout = \"20s\"\nhalf_open_per_source = 0\n\n[interface]\nname = \"ykt0\"\n"
    )
}

/// The set-up burst's initiator: one remote, then N protect policies, each
/// its own IKE connection whose selector is the two site networks narrowed
/// to UDP port PORT_BASE + i. All selectors share one address prefix per
/// side, so one route serves every CHILD SA.
pub(crate) fn yk_burst_initiator(topo: &Topology, n: usize) -> String {
    let me = topo.addrs(Side::Left);
    let peer = topo.addrs(Side::Right);
    let mut s = yk_head("info");
    let _ = write!(
        s,
        r#"
[remote.peer]
address = "{remote}"
local_address = "{local}"
local_id = "{lid}"
remote_id = "{rid}"
psk = "{TEST_PSK}"
ike = "{ike}"
start = "initiate"

[sa.gcm]
proposals = ["{ESP}"]

[ipsec.tun]
mode = "tunnel"
sa = "gcm"
"#,
        remote = peer.outer(Family::V4),
        local = me.outer(Family::V4),
        lid = id(Side::Left),
        rid = id(Side::Right),
        ike = yk_ike(),
    );
    for i in 1..=n {
        let port = PORT_BASE + i as u32;
        let _ = write!(
            s,
            r#"
[policy.y{i}]
action = "protect"
remote = "peer"
ipsec = "tun"

[selector.s{i}]
src = "{src}"
dst = "{dst}"
protocol = "udp"
src_port = {port}
dst_port = {port}
policy = "y{i}"
"#,
            src = me.net(Family::V4),
            dst = peer.net(Family::V4),
        );
    }
    s
}

/// charon settings for the set-up bursts: no DoS protection on the
/// responder (cookies, per-IP blocking, half-open limits) and room for many
/// IKE SAs, so the burst measures the daemons and not their DoS limits;
/// `reuse_ikesa = no` so the initiator makes one IKE SA per connection
/// instead of piling CHILD SAs into the first.
pub(crate) fn charon_burst_opts() -> CharonOptions {
    CharonOptions {
        log_levels: vec![("default".into(), 0)],
        extra: [
            "reuse_ikesa = no",
            "ikesa_table_size = 1024",
            "ikesa_table_segments = 16",
            "dos_protection = no",
            "cookie_threshold = 1000000",
            "block_threshold = 1000000",
            "init_limit_half_open = 0",
            "retransmit_timeout = 2.0",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
        ..CharonOptions::default()
    }
}

/// Quiet logging for the other scenarios (the default logs every key).
pub(crate) fn charon_quiet() -> CharonOptions {
    CharonOptions {
        log_levels: vec![("default".into(), 0)],
        ..CharonOptions::default()
    }
}

/// A quiet charon on `side` with the plain site-to-site tunnel.
pub(crate) fn swan(topo: &Topology, side: Side) -> anyhow::Result<StrongSwan> {
    StrongSwan::start(
        topo.ns(side),
        side.as_str(),
        &swan_conf(topo, side),
        &charon_quiet(),
    )
}

pub(crate) fn swan_conf(topo: &Topology, side: Side) -> SwanctlConf {
    site_to_site(topo, side, Family::V4, &[Family::V4]).with_proposals(IKE, ESP)
}

/// The strongSwan initiator of a burst: N connections y1..yN like the
/// responder's one, each child narrowed to one UDP port and started on load.
pub(crate) fn swan_burst_initiator(topo: &Topology, n: usize) -> SwanctlConf {
    let mut conf = swan_conf(topo, Side::Left);
    let base = conf.conn_mut().clone();
    conf.connections.clear();
    let me = topo.addrs(Side::Left);
    let peer = topo.addrs(Side::Right);
    for i in 1..=n {
        let port = PORT_BASE + i as u32;
        let mut c = base.clone();
        c.name = format!("y{i}");
        for ch in &mut c.children {
            ch.name = format!("c{i}");
            ch.local_ts = vec![format!("{}[udp/{port}]", me.net(Family::V4))];
            ch.remote_ts = vec![format!("{}[udp/{port}]", peer.net(Family::V4))];
            ch.start_action = "start".into();
        }
        conf.connections.push(c);
    }
    conf
}
