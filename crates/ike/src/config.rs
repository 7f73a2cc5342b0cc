//! Typed configuration of an [`crate::IkeEndpoint`]: connections (peers,
//! identities, PSKs, proposals, children), lifetimes, retransmission, DPD,
//! cookie and window settings. Plain data; validation of files lives in the
//! config crate.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::proposal::{ChildProposal, IkeProposal};
use crate::ts::TrafficSelector;

/// Index of a connection in [`Config::connections`]. A slot is never reused
/// for another connection ([`crate::IkeEndpoint::set_connections`]), so an
/// SA's `ConnId` always names the connection it was authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub usize);

/// IPsec mode of a CHILD SA (RFC 4301 §4.1): the one mode type, shared
/// with the ESP core (it lives in `yadokari-policy`, below both).
pub use yadokari_policy::Mode;

/// An IKE identity (RFC 7296 §3.5). Compared as typed data, never as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Ipv4([u8; 4]),
    Ipv6([u8; 16]),
    Fqdn(String),
    Rfc822(String),
    KeyId(Vec<u8>),
    /// A distinguished name in text form (`C=CH, O=Example, CN=moon`; a
    /// value `*` matches anything), only as a configured remote ID: it
    /// matches a peer's ID_DER_ASN1_DN (RFC 4945 §3.1.5) by attribute.
    /// Never sent.
    DnPattern(String),
    /// Any other ID type with its raw body (DER_ASN1_DN, …).
    Other {
        id_type: u8,
        data: Vec<u8>,
    },
}

impl Identity {
    pub fn from_ip(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Identity::Ipv4(v4.octets()),
            IpAddr::V6(v6) => Identity::Ipv6(v6.octets()),
        }
    }

    /// ID type number of RFC 7296 §3.5.
    pub fn id_type(&self) -> u8 {
        match self {
            Identity::Ipv4(_) => 1,
            Identity::Fqdn(_) => 2,
            Identity::Rfc822(_) => 3,
            Identity::Ipv6(_) => 5,
            Identity::KeyId(_) => 11,
            Identity::DnPattern(_) => 9,
            Identity::Other { id_type, .. } => *id_type,
        }
    }

    /// Identification data as it goes on the wire.
    pub fn data(&self) -> &[u8] {
        match self {
            Identity::Ipv4(a) => a,
            Identity::Ipv6(a) => a,
            Identity::Fqdn(s) | Identity::Rfc822(s) | Identity::DnPattern(s) => s.as_bytes(),
            Identity::KeyId(d) => d,
            Identity::Other { data, .. } => data,
        }
    }

    /// Whether this is a pattern (a DN in text, or a `*` in an FQDN or
    /// e-mail ID) rather than one identity: patterns are matched with
    /// [`Identity::matches`] and never sent as IDr.
    pub fn is_pattern(&self) -> bool {
        match self {
            Identity::DnPattern(_) => true,
            Identity::Fqdn(s) | Identity::Rfc822(s) => s.contains('*'),
            _ => false,
        }
    }

    /// Whether the peer's identity `peer` is accepted by this configured
    /// remote ID: equality, a DN pattern against ID_DER_ASN1_DN, or a
    /// `*` glob (any run of characters, case-insensitive) over FQDN and
    /// e-mail IDs.
    pub fn matches(&self, peer: &Identity) -> bool {
        match (self, peer) {
            (Identity::DnPattern(p), Identity::Other { id_type: 9, data }) => {
                yadokari_crypto::cert::dn_matches(p, data)
            }
            (Identity::Fqdn(p), Identity::Fqdn(s)) | (Identity::Rfc822(p), Identity::Rfc822(s))
                if p.contains('*') =>
            {
                glob(&p.to_ascii_lowercase(), &s.to_ascii_lowercase())
            }
            (Identity::Fqdn(p), Identity::Fqdn(s)) | (Identity::Rfc822(p), Identity::Rfc822(s)) => {
                p.eq_ignore_ascii_case(s)
            }
            _ => self == peer,
        }
    }

    pub fn from_wire(id_type: u8, data: &[u8]) -> Self {
        match (id_type, data.len()) {
            (1, 4) => {
                let mut a = [0u8; 4];
                a.copy_from_slice(data);
                Identity::Ipv4(a)
            }
            (5, 16) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(data);
                Identity::Ipv6(a)
            }
            (2, _) | (3, _) => match std::str::from_utf8(data) {
                Ok(s) if id_type == 2 => Identity::Fqdn(s.to_owned()),
                Ok(s) => Identity::Rfc822(s.to_owned()),
                Err(_) => Identity::Other {
                    id_type,
                    data: data.to_vec(),
                },
            },
            (11, _) => Identity::KeyId(data.to_vec()),
            _ => Identity::Other {
                id_type,
                data: data.to_vec(),
            },
        }
    }
}

/// `*` matches any run of characters (also none).
fn glob(p: &str, s: &str) -> bool {
    match p.split_once('*') {
        None => p == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

/// How a side proves its identity (the AUTH code dispatches on this enum
/// only). `Psk` serves either side; `Cert` is how *we* prove ourselves
/// with a signature, `Ca` how we check a *peer* that signs.
#[derive(Clone)]
pub enum AuthConfig {
    /// Shared key of RFC 7296 §2.15 (auth method 2).
    Psk(PskKey),
    /// Our certificate chain and a handle to its private key (RFC 7296
    /// §3.6/§3.8, RFC 7427).
    Cert(Arc<LocalCert>),
    /// Trust anchors for a peer that signs with a certificate.
    Ca(Arc<yadokari_crypto::cert::TrustStore>),
}

/// Our certificate side: the chain we send and the signing handle. The
/// key itself stays behind [`SignHandle`](yadokari_crypto::signature::SignHandle).
pub struct LocalCert {
    /// End-entity certificate first, then intermediates (DER).
    pub chain: Vec<Vec<u8>>,
    /// The end-entity certificate's details.
    pub info: yadokari_crypto::cert::CertInfo,
    /// Signs with the certificate's private key.
    pub signer: Arc<dyn yadokari_crypto::signature::SignHandle>,
}

impl std::fmt::Debug for LocalCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCert")
            .field("subject", &self.info.subject)
            .field("key", &self.signer.kind())
            .finish_non_exhaustive()
    }
}

impl AuthConfig {
    /// Whether this side uses public-key signatures.
    pub fn is_pubkey(&self) -> bool {
        !matches!(self, AuthConfig::Psk(_))
    }

    /// Same credentials: PSK bytes, or the same certificates/anchors.
    fn same(&self, other: &AuthConfig) -> bool {
        match (self, other) {
            (AuthConfig::Psk(a), AuthConfig::Psk(b)) => a.expose() == b.expose(),
            // The key was checked to belong to the certificate, so the
            // same chain means the same key: a reload that reads the same
            // files again (new objects) changes nothing.
            (AuthConfig::Cert(a), AuthConfig::Cert(b)) => a.chain == b.chain,
            (AuthConfig::Ca(a), AuthConfig::Ca(b)) => a
                .anchors()
                .iter()
                .map(|x| &x.der)
                .eq(b.anchors().iter().map(|x| &x.der)),
            _ => false,
        }
    }
}

/// A pre-shared key, shared by reference: the daemon hands over its own
/// secret memory (pages left out of core dumps) instead of a heap copy.
#[derive(Clone)]
pub struct PskKey(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl PskKey {
    /// A key held in ordinary (wiped on drop) heap memory.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        PskKey(Arc::new(Zeroizing::new(bytes)))
    }

    /// A key kept where `bytes` keeps it.
    #[must_use]
    pub fn shared(bytes: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Self {
        PskKey(bytes)
    }

    /// The key bytes.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        (*self.0).as_ref()
    }
}

/// Whether IKE_AUTH carries the first CHILD SA (RFC 6023).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Childless {
    /// Never announce childless IKE SAs; refuse nothing either.
    Never,
    /// Announce CHILDLESS_IKEV2_SUPPORTED and accept childless IKE_AUTH,
    /// but initiate with the first CHILD SA in IKE_AUTH.
    #[default]
    Allow,
    /// Initiate without a CHILD SA when the peer supports it, then create
    /// the CHILD SAs with CREATE_CHILD_SA.
    Prefer,
    /// Always initiate without a CHILD SA; a peer without RFC 6023 fails.
    Force,
}

/// A post-quantum preshared key (RFC 8784): mixed into SK_d, SK_pi and
/// SK_pr after IKE_SA_INIT, so a later quantum computer that breaks the
/// key exchange still does not learn the keys.
#[derive(Clone)]
pub struct PpkConfig {
    /// The PPK_ID both sides name the key by.
    pub id: Vec<u8>,
    pub key: PskKey,
    /// Refuse a peer that cannot use it (else fall back to the keys
    /// without PPK, authenticated by NO_PPK_AUTH).
    pub required: bool,
}

impl std::fmt::Debug for PpkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PpkConfig")
            .field("id", &String::from_utf8_lossy(&self.id))
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthConfig::Psk(_) => f.write_str("Psk(<redacted>)"),
            AuthConfig::Cert(c) => write!(f, "Cert({:?})", c.info.subject),
            AuthConfig::Ca(t) => write!(f, "Ca({t:?})"),
        }
    }
}

/// Soft and hard lifetimes (RFC 7296 §2.8: each side enforces its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// Start a rekey this long after the SA came up …
    pub rekey: Duration,
    /// … minus a random part of up to this much, so both peers rarely rekey
    /// at the same instant.
    pub jitter: Duration,
    /// Delete the SA this long after it came up if no rekey succeeded.
    pub hard: Duration,
}

impl Lifetime {
    pub const NEVER: Lifetime = Lifetime {
        rekey: Duration::MAX,
        jitter: Duration::ZERO,
        hard: Duration::MAX,
    };

    pub fn new(rekey: Duration, jitter: Duration, hard: Duration) -> Self {
        Self {
            rekey,
            jitter,
            hard,
        }
    }
}

/// What DPD does when the peer stops answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DpdAction {
    /// Remove the SAs.
    Clear,
    /// Remove the SAs and initiate the connection again.
    Restart,
    /// Remove the SAs; the driver keeps its trap policies (reported as a Failure).
    Hold,
}

/// One CHILD SA template of a connection.
#[derive(Debug, Clone)]
pub struct ChildConfig {
    pub name: String,
    pub ts_local: Vec<TrafficSelector>,
    pub ts_remote: Vec<TrafficSelector>,
    /// Our proposals in preference order. A KE transform here means PFS on rekey
    /// and on extra CHILD SAs (never on the first child, §1.2).
    pub proposals: Vec<ChildProposal>,
    pub mode: Mode,
    pub lifetime: Lifetime,
}

/// One peer relationship.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    pub name: String,
    /// Address we use; `None` = whatever the driver says in the path.
    pub local_addr: Option<SocketAddr>,
    /// Peer address for initiation; when responding, `None` accepts anyone.
    pub remote_addr: Option<SocketAddr>,
    pub local_id: Identity,
    /// `None` accepts any identity the PSK authenticates.
    pub remote_id: Option<Identity>,
    pub local_auth: AuthConfig,
    pub remote_auth: AuthConfig,
    /// Our IKE proposals in preference order.
    pub ike_proposals: Vec<IkeProposal>,
    pub children: Vec<ChildConfig>,
    pub ike_lifetime: Lifetime,
    /// Idle time after which a liveness check is sent (§2.4).
    pub dpd_delay: Option<Duration>,
    pub dpd_action: DpdAction,
    /// Pretend a NAT sits in front of us (strongSwan's `encap = yes`), so
    /// ESP is UDP-encapsulated even without a NAT.
    pub force_encap: bool,
    /// At the IKE SA's soft lifetime, reauthenticate (RFC 7296 §2.8.3: a
    /// new IKE SA through IKE_SA_INIT and IKE_AUTH, the CHILD SAs created
    /// again in it, then the old IKE SA deleted) instead of rekeying it.
    /// Needs `remote_addr`; otherwise the SA is rekeyed.
    pub reauth: bool,
    /// Requests the peer may have outstanding with us at once, announced
    /// with SET_WINDOW_SIZE (RFC 7296 §2.3) when above 1.
    pub window: u32,
    /// Whether and how the connection is kept up after failures.
    pub retry: RetryConfig,
    /// Post-quantum preshared key (RFC 8784), if any.
    pub ppk: Option<PpkConfig>,
    /// Childless IKE SAs (RFC 6023).
    pub childless: Childless,
    /// IKE fragmentation (RFC 7383): announced, and used with a peer that
    /// announces it too, for messages larger than this IP datagram size;
    /// `None` turns it off.
    pub fragment_size: Option<u16>,
}

/// Keeping a connection up (see [`crate::retry`]): after a failed attempt
/// the next one starts after `initial * 2^(n-1)` (capped at `max_interval`,
/// minus up to a fifth of random jitter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Keep the connection up: once the driver has initiated it, start it
    /// again after every failed attempt or lost SA that was not asked for
    /// locally, until [`crate::Command::Close`] (strongSwan's
    /// `start_action = start` with `keyingtries`).
    pub keep_up: bool,
    /// Attempts in a row before giving up; 0 means forever.
    pub keyingtries: u32,
    /// Back-off after the first failure.
    pub initial: Duration,
    /// Longest back-off.
    pub max_interval: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            keep_up: false,
            keyingtries: 0,
            initial: Duration::from_secs(1),
            max_interval: Duration::from_secs(60),
        }
    }
}

impl ConnConfig {
    /// Whether `other` proves and accepts the same identities with the same
    /// credentials between the same addresses: only then may SAs made under
    /// one live on under the other.
    pub fn same_credentials(&self, other: &ConnConfig) -> bool {
        // Borrowed, not copied: the keys stay on their protected pages.
        self.local_id == other.local_id
            && self.remote_id == other.remote_id
            && self.local_addr == other.local_addr
            && self.remote_addr == other.remote_addr
            && self.local_auth.same(&other.local_auth)
            && self.remote_auth.same(&other.remote_auth)
            && match (&self.ppk, &other.ppk) {
                (None, None) => true,
                (Some(a), Some(b)) => {
                    a.id == b.id && a.required == b.required && a.key.expose() == b.key.expose()
                }
                _ => false,
            }
    }
}

/// Why [`crate::IkeEndpoint::set_connections`] refused a new table. Nothing
/// of the table was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnTableError {
    /// The new table is shorter than the old one: existing `ConnId`s would
    /// dangle or name another connection.
    Shrunk { old: usize, new: usize },
    /// A removed connection's slot was filled again; a new connection gets
    /// a new slot at the end, so an old `ConnId` never names it.
    Revived(ConnId),
    /// A kept slot changed its identities, credentials or addresses; a
    /// changed connection must be removed and added at a new slot, so that
    /// SAs made with the old credentials cannot continue under it.
    ChangedInPlace(ConnId),
    /// A slot past the old table's end holds no connection.
    EmptyNewSlot(ConnId),
}

impl std::fmt::Display for ConnTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnTableError::Shrunk { old, new } => write!(
                f,
                "the connection table would shrink from {old} to {new} entries"
            ),
            ConnTableError::Revived(c) => {
                write!(
                    f,
                    "connection slot {} was removed and cannot be reused",
                    c.0
                )
            }
            ConnTableError::ChangedInPlace(c) => write!(
                f,
                "connection slot {} changed its identities, keys or addresses in place",
                c.0
            ),
            ConnTableError::EmptyNewSlot(c) => {
                write!(f, "new connection slot {} holds no connection", c.0)
            }
        }
    }
}

impl std::error::Error for ConnTableError {}

/// Retransmission schedule (RFC 7296 §2.1): `initial * factor^n`, at most
/// `tries` retransmissions, give up after `total` at the latest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetransmitConfig {
    pub initial: Duration,
    pub factor: f64,
    pub max_interval: Duration,
    pub tries: u32,
    pub total: Duration,
}

impl Default for RetransmitConfig {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(1000),
            factor: 1.8,
            max_interval: Duration::from_secs(30),
            tries: 5,
            total: Duration::from_secs(90),
        }
    }
}

/// Endpoint-wide settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub connections: Vec<ConnConfig>,
    pub retransmit: RetransmitConfig,
    /// Half-open IKE SAs above which new IKE_SA_INIT requests must carry a
    /// COOKIE (§2.6). `0` demands cookies always.
    pub cookie_threshold: usize,
    /// Half-open IKE SAs above which new IKE_SA_INIT requests are dropped
    /// even with a cookie (unless a source over its fair share gives one up,
    /// see `half_open_per_source`).
    pub max_half_open: usize,
    /// Half-open IKE SAs one source may hold at once: one IPv4 address, or
    /// one IPv6 /64 (what one host or site can cheaply vary). `0` = no limit.
    pub half_open_per_source: usize,
    /// How often the cookie secret changes; the previous one stays valid for
    /// one more period.
    pub cookie_rotation: Duration,
    /// A responder drops an IKE SA that has not authenticated after this long.
    pub half_open_timeout: Duration,
    /// Port of plain IKE (no non-ESP marker); every other local port is a NAT-T port.
    pub ike_port: u16,
    /// Port IKE and ESP float to after NAT detection (RFC 3948).
    pub natt_port: u16,
    /// How long an initiator keeps the old IKE/CHILD SA after a rekey it lost
    /// or won before deleting it (§2.8).
    pub rekey_delete_delay: Duration,
    /// Maximum unauthenticated error answers (INVALID_IKE_SPI …) per second.
    pub error_reply_rate: u32,
    /// Report every IKE message we send or accept, in plaintext, as
    /// [`crate::Event::MessageTrace`] (for a debugging pcap).
    pub trace_messages: bool,
    /// Connections removed by a reload ([`crate::IkeEndpoint::set_connections`]):
    /// their slots stay so no `ConnId` is reused, but every lookup
    /// ([`Config::connection`]) treats them as absent.
    pub retired: std::collections::BTreeSet<ConnId>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connections: Vec::new(),
            retransmit: RetransmitConfig::default(),
            cookie_threshold: 64,
            max_half_open: 4096,
            half_open_per_source: 16,
            cookie_rotation: Duration::from_secs(60),
            half_open_timeout: Duration::from_secs(30),
            ike_port: 500,
            natt_port: 4500,
            rekey_delete_delay: Duration::ZERO,
            error_reply_rate: 20,
            trace_messages: false,
            retired: std::collections::BTreeSet::new(),
        }
    }
}

impl Config {
    /// The live connection `id`; `None` for unknown and removed ones, so
    /// nothing (candidate choice, AUTH, rekeys) finds a removed connection.
    pub fn connection(&self, id: ConnId) -> Option<&ConnConfig> {
        if self.retired.contains(&id) {
            return None;
        }
        self.connections.get(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_id_patterns() {
        let fqdn = |s: &str| Identity::Fqdn(s.into());
        assert!(fqdn("*.example.org").matches(&fqdn("GW1.example.org")));
        assert!(!fqdn("*.example.org").matches(&fqdn("example.org")));
        assert!(!fqdn("*.example.org").matches(&fqdn("gw.example.org.evil")));
        assert!(fqdn("gw.example.org").matches(&fqdn("GW.example.org")));
        assert!(fqdn("*").matches(&fqdn("anything")));
        let mail = |s: &str| Identity::Rfc822(s.into());
        assert!(mail("*@example.org").matches(&mail("alice@example.org")));
        assert!(!mail("*@example.org").matches(&fqdn("alice@example.org")));
        assert!(fqdn("*.example.org").is_pattern() && !fqdn("a.example.org").is_pattern());
        // CN=moon as DER.
        let der = vec![
            0x30, 0x0f, 0x31, 0x0d, 0x30, 0x0b, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x04, b'm',
            b'o', b'o', b'n',
        ];
        let peer = Identity::Other {
            id_type: 9,
            data: der,
        };
        assert!(Identity::DnPattern("CN=moon".into()).matches(&peer));
        assert!(Identity::DnPattern("cn=*".into()).matches(&peer));
        assert!(!Identity::DnPattern("CN=sun".into()).matches(&peer));
        assert!(!Identity::DnPattern("CN=moon".into()).matches(&fqdn("moon")));
        let ip = Identity::Ipv4([192, 0, 2, 1]);
        assert!(ip.matches(&Identity::Ipv4([192, 0, 2, 1])));
        assert!(!ip.matches(&Identity::Ipv4([192, 0, 2, 2])));
    }
}
