//! `status`: per connection whether it is up, since when, why not, and
//! the daemon's counters, in words.

use super::*;

/// Why IKE and ESP moved to the NAT-T port, in words: a NAT found by
/// RFC 7296 §2.23 detection, or `encap = true` forcing it (RFC 3948) when
/// there is none. Forcing makes the peer see us "behind a NAT", and a peer
/// that forces too looks to us as if it were behind one.
pub(super) fn nat_words(local: bool, remote: bool, forced: bool) -> &'static str {
    match (forced, local, remote) {
        (true, false, false) => "UDP encapsulation forced by the configuration (encap = true), no NAT detected",
        (true, false, true) => "UDP encapsulation forced by the configuration (encap = true); the peer is behind a NAT or forces it too",
        (true, true, _) => "UDP encapsulation forced by the configuration (encap = true); we are behind a NAT as well",
        (false, true, true) => "NAT detected on both sides",
        (false, true, false) => "NAT detected: we are behind a NAT",
        (false, false, _) => "NAT detected: the peer is behind a NAT",
    }
}

/// Why a connection is not up, in words for `yadokari status`.
pub(super) fn describe(e: &ike::LastError) -> String {
    use ike::{DownReason as D, FailureReason as F, LastError as L};
    match e {
        L::Lost(D::PeerDead) => "the peer stopped answering (dead-peer detection)".into(),
        L::Lost(D::PeerDeleted) => "the peer deleted the IKE SA".into(),
        L::Lost(D::Expired) => "the IKE SA expired".into(),
        L::Lost(_) => "the IKE SA went down".into(),
        L::Failed(F::Timeout) => "no answer from the peer (retransmissions ran out)".into(),
        L::Failed(F::PeerDead) => "the peer stopped answering (dead-peer detection)".into(),
        // Every other reason reads as the core words it (the IANA notify
        // name in parentheses where there is one).
        L::Failed(f) => format!("negotiation failed: {f}"),
    }
}

impl Engine {
    pub(super) fn status(&self) -> Status {
        let now = Instant::now();
        let sas = self.ike.ike_sas();
        let children: Vec<&ike::ChildSaInfo> = self.ike.child_sas().collect();
        // Only what carries traffic: not half-open SAs, nor what a rekey
        // replaced (docs/control-api.md, "status counts").
        let counts = self.ike.sa_counts();
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            uptime_secs: self.started.elapsed().as_secs(),
            config_file: self.config_path.display().to_string(),
            ike_sas: counts.ike_sas,
            child_sas: counts.child_sas,
            dropped_without_sa: self
                .net
                .dataplane()
                .map(|d| d.counters().global.drops.no_sa)
                .unwrap_or(0),
            connections: self
                .conns
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.retired && self.config.policies.contains_key(&c.name))
                .map(|(i, c)| {
                    let id = ConnId(i);
                    let state = if children.iter().any(|ch| ch.conn == id) {
                        "up"
                    } else if sas.iter().any(|s| s.conn == id) {
                        "connecting"
                    } else {
                        "down"
                    };
                    let retry = self.ike.retry_status(id);
                    let waiting = state == "down" && retry.keep_up;
                    ConnectionStatus {
                        name: c.name.clone(),
                        state: state.into(),
                        remote: c
                            .conn
                            .remote_addr
                            .map(|a| a.ip().to_string())
                            .unwrap_or_else(|| "any".into()),
                        retry_in_secs: retry
                            .retry_at
                            .filter(|_| waiting)
                            .map(|t| t.saturating_duration_since(now).as_secs_f64().ceil() as u64),
                        last_error: retry.last_error.as_ref().map(describe),
                        failed_attempts: retry.failures,
                        gave_up: retry.gave_up,
                    }
                })
                .collect(),
        }
    }
}
