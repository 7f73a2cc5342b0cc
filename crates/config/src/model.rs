//! The validated configuration model.
//!
//! It follows racoon2's linked model: a `selector` picks traffic and names a
//! `policy`; the policy says what to do with it and, to protect it, names the
//! peer (`remote`) and an `ipsec` template (mode, lifetimes), which names the
//! `sa` templates (protocol and algorithms). The compact `[tunnel.NAME]` form
//! expands into one of each, under the tunnel's name. Every reference in a
//! [`Config`] has been checked to exist.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::address::{Address, AddressSpec};
use crate::identity::Identity;
use crate::proposal::{EspProposal, IkeProposal};
use crate::secret::Secret;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub daemon: DaemonSettings,
    pub interface: InterfaceSettings,
    pub remotes: BTreeMap<String, Remote>,
    pub selectors: BTreeMap<String, Selector>,
    pub policies: BTreeMap<String, Policy>,
    pub ipsec: BTreeMap<String, IpsecTemplate>,
    pub sa: BTreeMap<String, SaTemplate>,
    /// What loads but may not do what was meant (selectors of different
    /// peers that nest): `yadokarid --check` prints them, the daemon logs
    /// them when it starts.
    pub warnings: Vec<crate::Warning>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DaemonSettings {
    /// The control API's Unix socket. Several daemons (one per network
    /// namespace) each need their own.
    pub control_socket: PathBuf,
    /// Group allowed to use the control socket besides root.
    pub control_group: Option<String>,
    /// Control clients connected at once, at most.
    pub control_clients: usize,
    /// A control client that sends no request for this long is closed.
    pub control_idle_timeout: Duration,
    pub state_dir: PathBuf,
    pub log_level: LogLevel,
    /// Write every IKE message, in plaintext, to this pcap file.
    pub ike_pcap: Option<PathBuf>,
    pub ike_port: u16,
    pub nat_port: u16,
    /// Local addresses to listen on; empty means all.
    pub listen: Vec<Address>,
    /// How long an IKE request is retransmitted before the peer is given
    /// up as dead (RFC 7296 §2.4); also bounds dead-peer detection.
    pub retransmit_timeout: Duration,
    /// Interval of RFC 3948 NAT keepalives on UDP-encapsulated paths;
    /// `None` sends none.
    pub nat_keepalive: Option<Duration>,
    /// Half-open IKE SAs above which every new IKE_SA_INIT must carry a
    /// COOKIE (RFC 7296 §2.6); 0 demands one always.
    pub cookie_threshold: usize,
    /// Half-open IKE SAs at most, all sources together.
    pub max_half_open: usize,
    /// Half-open IKE SAs one source (an IPv4 address, an IPv6 /64) may
    /// hold; 0 means no per-source limit.
    pub half_open_per_source: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSettings {
    /// The multipoint TUN device shared by every peer.
    pub name: String,
    pub mtu: Mtu,
    /// Clamp the MSS of TCP SYNs entering the tunnel to fit the tunnel MTU.
    pub mss_clamp: bool,
    /// Data-plane worker threads; `None` means one per core.
    pub workers: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mtu {
    /// Derived from the path MTU and the negotiated algorithms' overhead.
    Auto,
    Fixed(u16),
}

/// A peer: where it is, who it is, how to authenticate and which IKE SA
/// parameters to offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    pub address: Address,
    pub local_address: Option<Address>,
    pub local_id: Option<Identity>,
    pub remote_id: Option<Identity>,
    pub auth: Auth,
    pub ike_proposals: Vec<IkeProposal>,
    pub start: StartAction,
    /// Force UDP encapsulation of ESP even without a NAT (strongSwan's
    /// `encap = yes`; needed by peers whose ESP is user space over UDP).
    pub encap: bool,
    pub dpd: Option<Dpd>,
    pub ike_lifetime: Lifetime,
    /// At `ike_lifetime`'s rekey time, reauthenticate (a new IKE SA, RFC
    /// 7296 §2.8.3) instead of rekeying.
    pub reauth: bool,
    /// Requests the peer may have outstanding with us at once (RFC 7296
    /// §2.3 SET_WINDOW_SIZE), 1 to 64.
    /// IKE fragmentation (RFC 7383): the largest IP datagram of a
    /// fragment, or `None` when `fragmentation = false`.
    /// Post-quantum preshared key (RFC 8784), if configured.
    pub ppk: Option<Ppk>,
    /// Childless IKE SAs (RFC 6023): `childless = ...`.
    pub childless: Childless,
    pub fragment_size: Option<u16>,
    pub window: u32,
    /// Failed attempts in a row before a connection that should be up is
    /// given up (strongSwan's `keyingtries`); 0 means forever.
    pub keyingtries: u32,
    /// Longest wait between two attempts (the back-off doubles from 1 s).
    pub retry_max_interval: Duration,
}

/// How each side authenticates (`local_auth`, `remote_auth`); the two may
/// differ (we sign with a certificate, the peer uses the PSK, or the
/// reverse).
/// A post-quantum preshared key (RFC 8784).
#[derive(Debug, Clone, PartialEq)]
pub struct Ppk {
    /// PPK_ID: the name both sides give the key.
    pub id: String,
    pub secret: Secret,
    /// `ppk_required = true`: no fallback to the keys without it.
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    /// The pre-shared key; set whenever a side uses `psk`.
    pub psk: Option<Secret>,
    /// `local_auth = "pubkey"`: our certificate chain and key.
    pub local_cert: Option<LocalCert>,
    /// `remote_auth = "pubkey"`: the trust anchors for the peer (`ca`).
    pub ca: Option<TrustAnchors>,
}

impl Auth {
    /// PSK on both sides (what a config with only `psk`/`psk_file` means).
    pub fn psk(secret: Secret) -> Self {
        Auth {
            psk: Some(secret),
            local_cert: None,
            ca: None,
        }
    }
}

/// Our certificate (`local_cert`, with intermediates) and its private key
/// (`local_key`), loaded and checked to belong together. The key is only
/// reachable through the IKE core's signing handle.
#[derive(Debug, Clone)]
pub struct LocalCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub cert: std::sync::Arc<yadokari_ike::LocalCert>,
}

impl PartialEq for LocalCert {
    fn eq(&self, o: &Self) -> bool {
        self.cert_file == o.cert_file
            && self.key_file == o.key_file
            && self.cert.chain == o.cert.chain
    }
}

/// Trust anchors loaded from `ca` (files or directories of PEM files).
#[derive(Debug, Clone)]
pub struct TrustAnchors {
    pub sources: Vec<PathBuf>,
    pub store: std::sync::Arc<yadokari_crypto::cert::TrustStore>,
}

impl PartialEq for TrustAnchors {
    fn eq(&self, o: &Self) -> bool {
        self.sources == o.sources
            && self.store.anchors().iter().map(|a| &a.der).eq(o
                .store
                .anchors()
                .iter()
                .map(|a| &a.der))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAction {
    /// Bring the tunnel up when the daemon starts.
    Initiate,
    /// Wait for the peer.
    Respond,
    /// Negotiate when traffic first needs the tunnel (racoon2's ACQUIRE).
    OnDemand,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dpd {
    /// Idle time after which liveness is checked.
    pub delay: Duration,
    pub action: DpdAction,
}

/// What DPD does when the peer is dead: the IKE core's own type (one home
/// per concept).
pub use yadokari_ike::{Childless, DpdAction};

/// When to rekey. The hard expiry is `rekey + margin`; each side draws a
/// random jitter of up to `jitter` so peers don't rekey at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub rekey: Duration,
    pub margin: Duration,
    pub jitter: Duration,
}

/// A `selector` section: a traffic selector pair as written. Protocol and
/// ports are already `yadokari-policy`'s selector types; the addresses stay
/// [`AddressSpec`]s because they may name hosts or our own addresses
/// (`MY_IP`, FQDNs), which only the daemon resolves, into the one
/// `TrafficSelector` type (`crates/daemon/src/translate.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub src: AddressSpec,
    pub dst: AddressSpec,
    /// Upper-layer protocol; [`IpProtocol::ANY`] (0) is any.
    pub protocol: IpProtocol,
    pub src_ports: PortRange,
    pub dst_ports: PortRange,
    pub policy: String,
}

/// The protocol and port parts of a selector: `yadokari-policy`'s types.
pub use yadokari_policy::{IpProtocol, PortRange};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    Protect { remote: String, ipsec: String },
    Bypass,
    Discard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsecTemplate {
    pub mode: Mode,
    pub sa: Vec<String>,
    pub lifetime: Lifetime,
    /// Tunnel endpoints when they differ from the IKE peer's addresses.
    pub tunnel_local: Option<IpAddr>,
    pub tunnel_remote: Option<IpAddr>,
}

/// Tunnel or transport mode (RFC 4301 §4.1): the IKE core's own type.
pub use yadokari_ike::Mode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaTemplate {
    pub proposals: Vec<EspProposal>,
}
