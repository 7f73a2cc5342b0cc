//! Request and response types of the control API.

use serde::{Deserialize, Serialize};

/// One request, tagged by `command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Daemon-wide status.
    Status,
    /// Every IKE SA with its CHILD SAs.
    ListSas,
    /// Bring up the named connection (a `tunnel` or `policy` name).
    Up { name: String },
    /// Delete the named connection's SAs, with the peer.
    Down { name: String },
    /// Re-read the configuration; SAs whose configuration did not change stay up.
    Reload,
    /// Recent log lines; with `follow`, keep streaming new ones.
    Logs {
        #[serde(default)]
        follow: bool,
    },
}

/// One response line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Response {
    Status(Status),
    Sas {
        ike_sas: Vec<IkeSaInfo>,
    },
    /// A command that has no result beyond success, with a human message.
    Done {
        message: String,
    },
    Reloaded(ReloadReport),
    Log(LogLine),
    Error {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub version: String,
    pub pid: u32,
    pub uptime_secs: u64,
    pub config_file: String,
    pub ike_sas: usize,
    pub child_sas: usize,
    /// Packets a protect policy routed into the tunnel while no CHILD SA
    /// could carry them: dropped, never sent in clear.
    #[serde(default)]
    pub dropped_without_sa: u64,
    pub connections: Vec<ConnectionStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStatus {
    pub name: String,
    /// `up`, `connecting`, `down`.
    pub state: String,
    pub remote: String,
    /// While a connection that is kept up waits out its back-off after a
    /// failed attempt: seconds until the next attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_in_secs: Option<u64>,
    /// Why the last attempt failed or the SA was lost, in words (cleared
    /// when the connection comes up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Failed attempts in a row.
    #[serde(default)]
    pub failed_attempts: u32,
    /// `keyingtries` attempts failed: no more automatic attempts until
    /// `up` (or traffic, for an on-demand connection).
    #[serde(default)]
    pub gave_up: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IkeSaInfo {
    /// The connection it belongs to.
    pub name: String,
    /// `connecting`, `established`, `rekeying`, `deleting`.
    pub state: String,
    /// Whether we were the original initiator.
    pub initiator: bool,
    /// `address:port`, IPv6 in brackets.
    pub local: String,
    pub remote: String,
    pub local_id: String,
    pub remote_id: String,
    /// 16 lowercase hex digits each.
    pub ispi: String,
    pub rspi: String,
    pub algorithms: IkeAlgorithms,
    /// Seconds since the SA was established.
    pub established_secs: u64,
    /// Seconds until it is rekeyed; `None` while none is scheduled (not
    /// yet established, rekey under way, or no soft lifetime).
    pub rekey_in_secs: Option<u64>,
    /// Seconds until the hard lifetime deletes it; `None` when it has none.
    #[serde(default)]
    pub expire_in_secs: Option<u64>,
    /// The certificate the peer authenticated with; absent for a PSK peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_cert: Option<PeerCertInfo>,
    pub children: Vec<ChildSaInfo>,
}

/// A peer's verified certificate, as `list-sas` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCertInfo {
    /// Subject DN, e.g. `CN=moon.example.org, O=Example`.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IkeAlgorithms {
    pub encryption: String,
    pub integrity: Option<String>,
    pub prf: String,
    pub ke: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChildSaInfo {
    pub name: String,
    /// `tunnel` or `transport`.
    pub mode: String,
    /// `udp` (UDP-encapsulated, RFC 3948) or `esp` (IP protocol 50).
    pub encapsulation: String,
    /// 8 lowercase hex digits each.
    pub spi_in: String,
    pub spi_out: String,
    pub local_ts: Vec<String>,
    pub remote_ts: Vec<String>,
    pub algorithms: ChildAlgorithms,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub established_secs: u64,
    /// Seconds until it is rekeyed; `None` while none is scheduled (rekey
    /// under way, replaced and waiting for its Delete, or no soft lifetime).
    pub rekey_in_secs: Option<u64>,
    /// Seconds until the hard lifetime deletes it; `None` when it has none.
    pub expire_in_secs: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildAlgorithms {
    pub encryption: String,
    pub integrity: Option<String>,
    pub esn: bool,
    /// The group used for PFS on the last rekey, if any.
    pub ke: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// RFC 3339.
    pub time: String,
    /// racoon2's categories: `critical`, `protocol-error`, `protocol-warning`,
    /// `internal-error`, `internal-warning`, `info`, `debug`.
    pub category: String,
    pub message: String,
}

impl Request {
    /// Parses one request line; the error is meant for the peer.
    pub fn from_line(line: &str) -> Result<Request, String> {
        serde_json::from_str(line.trim()).map_err(|e| format!("bad request: {e}"))
    }

    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("requests always serialize");
        s.push('\n');
        s
    }
}

impl Response {
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).expect("responses always serialize");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_wire_names() {
        assert_eq!(Request::ListSas.to_line(), "{\"command\":\"list-sas\"}\n");
        assert_eq!(
            Request::from_line("{\"command\":\"up\",\"name\":\"site\"}").unwrap(),
            Request::Up {
                name: "site".into()
            }
        );
        assert_eq!(
            Request::from_line("{\"command\":\"logs\"}").unwrap(),
            Request::Logs { follow: false }
        );
        assert!(Request::from_line("{\"command\":\"explode\"}")
            .unwrap_err()
            .starts_with("bad request"));
        assert!(Request::from_line("not json").is_err());
        assert!(Request::from_line("{\"command\":\"up\"}").is_err());
    }

    #[test]
    fn responses_round_trip() {
        let r = Response::Error {
            error: "no such connection `x`".into(),
        };
        let back: Response = serde_json::from_str(&r.to_line()).unwrap();
        assert_eq!(back, r);
    }
}
