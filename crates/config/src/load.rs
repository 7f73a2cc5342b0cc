//! Loading: walk the spanned TOML tree section by section, collect every
//! problem with its position, expand the compact `[tunnel.NAME]` form into
//! the linked model, then check what spans sections (references, address
//! families).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use crate::address::{self, Address, AddressSpec, Family};
use crate::diag::{Diagnostics, Sink, Source};
use crate::duration::parse_duration;
use crate::identity::{parse_identity, Identity};
use crate::model::*;
use crate::proposal::{self, EspProposal, IkeProposal};
use crate::reader::TableReader;
use crate::secret::{self, Secret, MIN_PSK_LEN};

/// Where relative paths (secret files) are resolved from.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub base_dir: PathBuf,
}

/// Reads and validates a configuration file.
pub fn load_file(path: &Path) -> Result<Config, Diagnostics> {
    let name = path.display().to_string();
    // Bounded, and a FIFO is refused instead of blocking `--check` forever.
    let text = secret::read_text_file(path, 16 << 20).map_err(|e| {
        Diagnostics(vec![crate::Diagnostic {
            file: name.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read the configuration: {e}"),
            hint: None,
        }])
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_str(&name, &text, &LoadOptions { base_dir })
}

/// Validates configuration text; `name` is used in messages.
pub fn parse_str(name: &str, text: &str, opts: &LoadOptions) -> Result<Config, Diagnostics> {
    let source = Source::new(name, text);
    let mut sink = Sink::new(&source);
    let (root, errors) = DeTable::parse_recoverable(text);
    for e in errors {
        let span = e.span().unwrap_or(0..0);
        sink.error(span, e.message().trim().to_owned());
    }
    if !sink.is_empty() {
        // A syntax error can leave the tree half-built; checking it would
        // only add confusing follow-up errors.
        return Err(sink.finish());
    }
    let mut loader = Loader {
        sink,
        opts,
        raw: Raw::default(),
        warnings: Vec::new(),
    };
    let mut top = TableReader::new(root.get_ref(), root.span(), "");
    let config = loader.root(&mut top);
    top.finish(&mut loader.sink);
    if loader.sink.is_empty() {
        Ok(config)
    } else {
        Err(loader.sink.finish())
    }
}

/// A reference to another section: its name, where it is written, and the
/// kind of section it names.
type Reference = (String, Range<usize>, &'static str);
type RawPolicy = (String, Range<usize>, Policy, Vec<Reference>);
type RawIpsec = (String, Range<usize>, IpsecTemplate, Vec<Range<usize>>);

/// Parsed sections with the spans needed for cross-section checks.
#[derive(Default)]
struct Raw {
    remotes: Vec<(String, Range<usize>, Remote)>,
    selectors: Vec<(String, Range<usize>, Selector, Range<usize>)>,
    policies: Vec<RawPolicy>,
    ipsec: Vec<RawIpsec>,
    sa: Vec<(String, Range<usize>, SaTemplate)>,
}

struct Loader<'s, 'o> {
    sink: Sink<'s>,
    opts: &'o LoadOptions,
    raw: Raw,
    /// Warnings found while reading sections (see `Config::warnings`).
    warnings: Vec<crate::Warning>,
}

/// Counts the wire keeps in one octet: transforms per proposal, proposals
/// per SA payload (RFC 7296 §3.3.1), selectors per TS payload (§3.13).
const MAX_ON_THE_WIRE: usize = 255;

const DEFAULT_SOCKET: &str = "/run/yadokari/yadokari.sock";
const DEFAULT_STATE: &str = "/var/lib/yadokari";
const CHILD_REKEY: Duration = Duration::from_secs(3600);
const IKE_REKEY: Duration = Duration::from_secs(4 * 3600);
/// RFC 3948 §4 suggests 20 s: below the UDP mapping lifetime of most NATs.
/// Shortest PPK accepted, in bytes (RFC 8784 §5: 256 bits of entropy).
const MIN_PPK_LEN: usize = 32;
/// IKE fragments at most this large (IP datagram), RFC 7383 §2.5.1.
const FRAGMENT_SIZE: u16 = 1280;
const NAT_KEEPALIVE: Duration = Duration::from_secs(20);

fn lifetime(rekey: Duration) -> Lifetime {
    // Hard expiry 10 % after the rekey time, and up to 10 % of random jitter
    // before it, as strongSwan does by default.
    Lifetime {
        rekey,
        margin: rekey / 10,
        jitter: rekey / 10,
    }
}

/// The lifetime of SAs renewed every `renew`: `hard_key` (`lifetime` for
/// CHILD SAs, `ike_lifetime` for IKE SAs) sets the hard expiry; without it
/// the hard expiry is 10 % after the renewal. A rekey that has not finished
/// by then leaves the SA carrying nothing, so short renewal times on a busy
/// or lossy path want a longer margin.
fn lifetime_of(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    renew: Duration,
    hard_key: &'static str,
) -> Lifetime {
    let span = t.value(hard_key).map(|v| v.span());
    let mut l = lifetime(renew);
    if let (Some(hard), Some(span)) = (duration(sink, t, hard_key), span) {
        if hard <= renew {
            sink.error_hint(
                span,
                format!(
                    "`{}` ({} s) must be longer than the rekey time ({} s)",
                    t.qualified(hard_key),
                    hard.as_secs(),
                    renew.as_secs()
                ),
                "the hard lifetime ends an SA whose rekey has not finished; leave it out for 10 % more than the rekey time",
            );
        } else {
            l.margin = hard - renew;
        }
    }
    l
}

impl<'s> Loader<'s, '_> {
    fn root(&mut self, top: &mut TableReader<'_, '_>) -> Config {
        let daemon = match top.table(&mut self.sink, "daemon") {
            Some(mut t) => {
                let d = self.daemon(&mut t);
                t.finish(&mut self.sink);
                d
            }
            None => self.daemon_defaults(),
        };
        let interface = match top.table(&mut self.sink, "interface") {
            Some(mut t) => {
                let i = self.interface(&mut t);
                t.finish(&mut self.sink);
                i
            }
            None => InterfaceSettings {
                name: "yk0".into(),
                mtu: Mtu::Auto,
                mss_clamp: true,
                workers: None,
            },
        };
        for (name, span, mut t) in top.named_tables(&mut self.sink, "sa") {
            if let Some(sa) = self.sa(&mut t) {
                self.raw.sa.push((name, span, sa));
            }
            t.finish(&mut self.sink);
        }
        for (name, span, mut t) in top.named_tables(&mut self.sink, "ipsec") {
            if let Some((ipsec, sa_spans)) = self.ipsec(&mut t) {
                self.raw.ipsec.push((name, span, ipsec, sa_spans));
            }
            t.finish(&mut self.sink);
        }
        for (name, span, mut t) in top.named_tables(&mut self.sink, "remote") {
            if let Some(r) = self.remote(&mut t) {
                self.raw.remotes.push((name, span, r));
            }
            t.finish(&mut self.sink);
        }
        for (name, span, mut t) in top.named_tables(&mut self.sink, "policy") {
            if let Some((p, refs)) = self.policy(&mut t) {
                self.raw.policies.push((name, span, p, refs));
            }
            t.finish(&mut self.sink);
        }
        for (name, span, mut t) in top.named_tables(&mut self.sink, "selector") {
            if let Some((s, policy_span)) = self.selector(&mut t) {
                self.raw.selectors.push((name, span, s, policy_span));
            }
            t.finish(&mut self.sink);
        }
        for (name, span, mut t) in top.named_tables(&mut self.sink, "tunnel") {
            self.tunnel(&name, span, &mut t);
            t.finish(&mut self.sink);
        }
        self.link(daemon, interface)
    }

    fn daemon_defaults(&self) -> DaemonSettings {
        DaemonSettings {
            control_socket: DEFAULT_SOCKET.into(),
            control_group: None,
            control_clients: 64,
            control_idle_timeout: Duration::from_secs(60),
            state_dir: DEFAULT_STATE.into(),
            log_level: LogLevel::Info,
            ike_pcap: None,
            ike_port: 500,
            nat_port: 4500,
            listen: Vec::new(),
            retransmit_timeout: Duration::from_secs(90),
            nat_keepalive: Some(NAT_KEEPALIVE),
            cookie_threshold: 64,
            max_half_open: 4096,
            half_open_per_source: 16,
        }
    }

    fn daemon(&mut self, t: &mut TableReader<'_, '_>) -> DaemonSettings {
        let mut d = self.daemon_defaults();
        let sink = &mut self.sink;
        if let Some((s, _)) = t.str(sink, "control_socket") {
            d.control_socket = s.into();
        }
        if let Some((s, _)) = t.str(sink, "control_group") {
            d.control_group = Some(s.to_owned());
        }
        if let Some((n, span)) = t.u64(sink, "control_clients") {
            match usize::try_from(n) {
                Ok(n @ 1..=4096) => d.control_clients = n,
                _ => sink.error(
                    span,
                    format!("`{}` must be 1 to 4096", t.qualified("control_clients")),
                ),
            }
        }
        if let Some(timeout) = duration(sink, t, "control_idle_timeout") {
            d.control_idle_timeout = timeout;
        }
        if let Some((s, _)) = t.str(sink, "state_dir") {
            d.state_dir = s.into();
        }
        if let Some((s, span)) = t.str(sink, "log_level") {
            d.log_level = match s {
                "error" => LogLevel::Error,
                "warn" => LogLevel::Warn,
                "info" => LogLevel::Info,
                "debug" => LogLevel::Debug,
                "trace" => LogLevel::Trace,
                _ => {
                    sink.error_hint(
                        span,
                        format!("unknown log level `{s}`"),
                        "use error, warn, info, debug or trace",
                    );
                    LogLevel::Info
                }
            };
        }
        if let Some((s, _)) = t.str(sink, "ike_pcap") {
            d.ike_pcap = Some(s.into());
        }
        if let Some(p) = port(sink, t, "ike_port") {
            d.ike_port = p;
        }
        if let Some(p) = port(sink, t, "nat_port") {
            d.nat_port = p;
        }
        if d.ike_port == d.nat_port {
            // Both sockets would bind the same port: the second bind fails
            // at start, and IKE on the NAT-T port needs the non-ESP marker
            // (RFC 3948 §2.2) that plain IKE does not carry.
            let span = t
                .value("nat_port")
                .or_else(|| t.value("ike_port"))
                .map_or(t.span.clone(), |v| v.span());
            sink.error_hint(
                span,
                format!(
                    "`daemon.ike_port` and `daemon.nat_port` are both {}",
                    d.ike_port
                ),
                "IKE and NAT-T need two different ports (default 500 and 4500)",
            );
        }
        if let Some(timeout) = duration(sink, t, "retransmit_timeout") {
            d.retransmit_timeout = timeout;
        }
        // "off" (or 0) turns keepalives off; otherwise a duration.
        match t.value("nat_keepalive").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) if s.as_ref() == "off" => d.nat_keepalive = None,
            Some(DeValue::Integer(n)) if n.as_str() == "0" => d.nat_keepalive = None,
            Some(_) => {
                if let Some(k) = duration(sink, t, "nat_keepalive") {
                    d.nat_keepalive = Some(k);
                }
            }
            None => {}
        }
        if let Some(n) = count(sink, t, "cookie_threshold", 0, 1 << 20) {
            d.cookie_threshold = n;
        }
        if let Some(n) = count(sink, t, "max_half_open", 1, 1 << 20) {
            d.max_half_open = n;
        }
        if let Some(n) = count(sink, t, "half_open_per_source", 0, 1 << 20) {
            d.half_open_per_source = n;
        }
        if let Some(list) = t.str_list(sink, "listen") {
            for (s, span) in list {
                match address::parse_address(s) {
                    Ok(a) => d.listen.push(a),
                    Err(e) => sink.error(span, e.0),
                }
            }
        }
        d
    }

    fn interface(&mut self, t: &mut TableReader<'_, '_>) -> InterfaceSettings {
        let sink = &mut self.sink;
        let mut i = InterfaceSettings {
            name: "yk0".into(),
            mtu: Mtu::Auto,
            mss_clamp: true,
            workers: None,
        };
        if let Some((s, span)) = t.str(sink, "name") {
            if s.is_empty() || s.len() > 15 || s.contains(['/', ' ', '%']) {
                sink.error_hint(
                    span,
                    format!("`{s}` is not a valid interface name"),
                    "1 to 15 characters, no '/', '%' or spaces",
                );
            } else {
                i.name = s.to_owned();
            }
        }
        if let Some(v) = t.value("mtu") {
            match v.get_ref() {
                DeValue::String(s) if s == "auto" => i.mtu = Mtu::Auto,
                DeValue::Integer(n) => match n.as_str().parse::<u16>() {
                    Ok(m) if (1280..=9000).contains(&m) => i.mtu = Mtu::Fixed(m),
                    _ => sink.error_hint(
                        v.span(),
                        "`interface.mtu` is out of range",
                        "use 1280 to 9000, or \"auto\"",
                    ),
                },
                _ => sink.error_hint(
                    v.span(),
                    "`interface.mtu` must be a number or \"auto\"",
                    "e.g. mtu = 1400",
                ),
            }
        }
        if let Some(b) = t.bool(sink, "mss_clamp") {
            i.mss_clamp = b;
        }
        if let Some((n, span)) = t.u64(sink, "workers") {
            match u16::try_from(n) {
                Ok(w) if (1..=256).contains(&w) => i.workers = Some(w),
                _ => sink.error(span, "`interface.workers` must be 1 to 256"),
            }
        }
        i
    }

    fn sa(&mut self, t: &mut TableReader<'_, '_>) -> Option<SaTemplate> {
        let legacy = t.bool(&mut self.sink, "allow_legacy").unwrap_or(false);
        let proposals = match t.str_list(&mut self.sink, "proposals") {
            Some(list) => self.esp_proposals(&list, legacy),
            None => {
                self.sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has no `proposals`", t.path),
                    "e.g. proposals = [\"aes256gcm16\"]",
                );
                return None;
            }
        };
        Some(SaTemplate { proposals })
    }

    fn ipsec(&mut self, t: &mut TableReader<'_, '_>) -> Option<(IpsecTemplate, Vec<Range<usize>>)> {
        let sink = &mut self.sink;
        let mode = mode(sink, t).unwrap_or(Mode::Tunnel);
        let rekey = duration(sink, t, "rekey").unwrap_or(CHILD_REKEY);
        let tunnel_local = ip(sink, t, "tunnel_local");
        let tunnel_remote = ip(sink, t, "tunnel_remote");
        let Some(list) = t.str_list(sink, "sa") else {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` names no `sa`", t.path),
                "e.g. sa = \"esp-gcm\"",
            );
            return None;
        };
        let (sa, spans) = list
            .into_iter()
            .map(|(s, span)| (s.to_owned(), span))
            .unzip();
        Some((
            IpsecTemplate {
                mode,
                sa,
                lifetime: lifetime_of(sink, t, rekey, "lifetime"),
                tunnel_local,
                tunnel_remote,
            },
            spans,
        ))
    }

    fn policy(&mut self, t: &mut TableReader<'_, '_>) -> Option<(Policy, Vec<Reference>)> {
        let sink = &mut self.sink;
        let action = t.str(sink, "action");
        let remote = t.str(sink, "remote");
        let ipsec = t.str(sink, "ipsec");
        match action {
            None if remote.is_none() => {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has no `action`", t.path),
                    "use protect, bypass or discard",
                );
                None
            }
            None | Some(("protect", _)) => {
                let (Some((r, rs)), Some((i, is))) = (remote, ipsec) else {
                    sink.error_hint(
                        t.span.clone(),
                        format!(
                            "`{}` protects traffic but lacks `remote` or `ipsec`",
                            t.path
                        ),
                        "a protect policy names the peer (`remote`) and the SA template (`ipsec`)",
                    );
                    return None;
                };
                let refs = vec![(r.to_owned(), rs, "remote"), (i.to_owned(), is, "ipsec")];
                Some((
                    Policy::Protect {
                        remote: r.to_owned(),
                        ipsec: i.to_owned(),
                    },
                    refs,
                ))
            }
            Some(("bypass", _)) => Some((Policy::Bypass, vec![])),
            Some(("discard", _)) => Some((Policy::Discard, vec![])),
            Some((other, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown action `{other}`"),
                    "use protect, bypass or discard",
                );
                None
            }
        }
    }

    fn selector(&mut self, t: &mut TableReader<'_, '_>) -> Option<(Selector, Range<usize>)> {
        let sink = &mut self.sink;
        let src = spec(sink, t, "src");
        let dst = spec(sink, t, "dst");
        let protocol = protocol(sink, t);
        let src_ports = ports(sink, t, "src_port");
        let dst_ports = ports(sink, t, "dst_port");
        let policy = t.str(sink, "policy");
        let (Some((src, src_span)), Some((dst, _))) = (src, dst) else {
            sink.error(
                t.span.clone(),
                format!("`{}` needs both `src` and `dst`", t.path),
            );
            return None;
        };
        let Some((policy, policy_span)) = policy else {
            sink.error(t.span.clone(), format!("`{}` names no `policy`", t.path));
            return None;
        };
        if let (Some(a), Some(b)) = (src.family(), dst.family()) {
            if a != b {
                sink.error_hint(
                    src_span,
                    format!(
                        "`{}`: src and dst are of different address families",
                        t.path
                    ),
                    "a selector is IPv4 or IPv6",
                );
            }
        }
        if (src_ports != PortRange::ANY || dst_ports != PortRange::ANY)
            && !matches!(
                protocol,
                IpProtocol::TCP | IpProtocol::UDP | IpProtocol::SCTP
            )
        {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` has ports but no TCP, UDP or SCTP protocol", t.path),
                "set protocol = \"tcp\" (or udp, sctp)",
            );
        }
        Some((
            Selector {
                src,
                dst,
                protocol,
                src_ports,
                dst_ports,
                policy: policy.to_owned(),
            },
            policy_span,
        ))
    }

    fn remote_common(
        &mut self,
        t: &mut TableReader<'_, '_>,
        address_key: &'static str,
        local_key: &'static str,
    ) -> Option<Remote> {
        let legacy = t.bool(&mut self.sink, "allow_legacy").unwrap_or(false);
        let sink = &mut self.sink;
        let address =
            t.str(sink, address_key)
                .and_then(|(s, span)| match address::parse_address(s) {
                    Ok(a) => Some((a, span)),
                    Err(e) => {
                        sink.error(span, e.0);
                        None
                    }
                });
        let local_address =
            t.str(sink, local_key)
                .and_then(|(s, span)| match address::parse_address(s) {
                    Ok(a) => Some((a, span)),
                    Err(e) => {
                        sink.error(span, e.0);
                        None
                    }
                });
        let local_id = identity(sink, t, "local_id");
        let remote_id = identity(sink, t, "remote_id");
        let start = match t.str(sink, "start") {
            None => StartAction::Respond,
            Some(("initiate", _)) => StartAction::Initiate,
            Some(("respond", _)) => StartAction::Respond,
            Some(("on-demand", _)) => StartAction::OnDemand,
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown start action `{s}`"),
                    "use initiate, respond or on-demand",
                );
                StartAction::Respond
            }
        };
        let encap = t.bool(sink, "encap").unwrap_or(false);
        let window = count(sink, t, "window", 1, 64).unwrap_or(1);
        let dpd_delay = duration(sink, t, "dpd");
        let dpd_action = match t.str(sink, "dpd_action") {
            None | Some(("restart", _)) => DpdAction::Restart,
            Some(("clear", _)) => DpdAction::Clear,
            Some(("hold", _)) => DpdAction::Hold,
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown DPD action `{s}`"),
                    "use clear, restart or hold",
                );
                DpdAction::Restart
            }
        };
        // RFC 6023.
        let childless = match t.str(sink, "childless") {
            None | Some(("allow", _)) => Childless::Allow,
            Some(("never", _)) => Childless::Never,
            Some(("prefer", _)) => Childless::Prefer,
            Some(("force", _)) => Childless::Force,
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown `{}` value `{s}`", t.qualified("childless")),
                    "use allow, prefer, force or never",
                );
                Childless::Allow
            }
        };
        let keyingtries = match t.u64(sink, "keyingtries") {
            None => 0,
            Some((n, span)) => u32::try_from(n).unwrap_or_else(|_| {
                sink.error_hint(
                    span,
                    format!("`{}` is too large", t.qualified("keyingtries")),
                    "0 means forever",
                );
                0
            }),
        };
        // Durations are whole seconds above zero: at least 1 s.
        let retry_max_interval =
            duration(sink, t, "retry_max_interval").unwrap_or(Duration::from_secs(60));
        let ike_rekey = duration(sink, t, "ike_rekey");
        let reauth_span = t.value("reauth").map(|v| v.span());
        let reauth = duration(sink, t, "reauth");
        if let (Some(_), Some(span)) = (ike_rekey, reauth_span) {
            sink.error_hint(
                span,
                format!(
                    "`{}` and `{}` are both set",
                    t.qualified("reauth"),
                    t.qualified("ike_rekey")
                ),
                "set one: a reauthentication also renews the IKE SA's keys",
            );
        }
        // Recognised, but not implemented yet: say so instead of silently
        // ignoring a setting the operator relies on.
        if let Some(v) = t.value("mobike") {
            sink.error_hint(
                v.span(),
                format!("`{}` is not supported yet", t.qualified("mobike")),
                "remove it; IKE runs without MOBIKE (RFC 4555)",
            );
        }
        // RFC 7383: on unless turned off; the size is the IP datagram's.
        let fragmentation = t.bool(sink, "fragmentation").unwrap_or(true);
        let fragment_size = count(sink, t, "fragment_size", 576, 9000)
            .and_then(|n| u16::try_from(n).ok())
            .unwrap_or(FRAGMENT_SIZE);
        let auth = self.auth(t, fragmentation);
        let ppk = self.ppk(t);
        let ike_proposals = match t.str_list(&mut self.sink, "ike") {
            Some(list) => self.ike_proposals(&list, legacy),
            None => proposal::default_ike(),
        };
        let sink = &mut self.sink;
        let Some((address, addr_span)) = address else {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` has no `{address_key}`", t.path),
                "the peer's address, host name or IP_ANY",
            );
            return None;
        };
        // The IKE identity defaults to our literal address; without one
        // there is nothing to send as IDi/IDr.
        if local_id.is_none() && !matches!(local_address, Some((Address::Ip(_), _))) {
            sink.error_hint(
                t.span.clone(),
                format!("`{}` has no `local_id`", t.path),
                format!("set local_id (e.g. \"vpn.example.org\"), or a literal `{local_key}` address to use as the identity"),
            );
        }
        if let (Some(a), Some((l, _))) = (address.family(), &local_address) {
            if l.family().is_some_and(|b| b != a) {
                sink.error(
                    addr_span,
                    format!(
                        "`{}`: {address_key} and {local_key} are of different address families",
                        t.path
                    ),
                );
            }
        }
        Some(Remote {
            address,
            local_address: local_address.map(|(a, _)| a),
            local_id,
            remote_id,
            auth: auth?,
            ike_proposals,
            start,
            encap,
            dpd: dpd_delay.map(|delay| Dpd {
                delay,
                action: dpd_action,
            }),
            ike_lifetime: lifetime_of(
                sink,
                t,
                reauth.or(ike_rekey).unwrap_or(IKE_REKEY),
                "ike_lifetime",
            ),
            reauth: reauth.is_some(),
            window: u32::try_from(window).unwrap_or(1),
            fragment_size: fragmentation.then_some(fragment_size),
            ppk: ppk?,
            childless,
            keyingtries,
            retry_max_interval,
        })
    }

    fn remote(&mut self, t: &mut TableReader<'_, '_>) -> Option<Remote> {
        self.remote_common(t, "address", "local_address")
    }

    /// `local_auth`, `remote_auth`, and the PSK or certificate settings
    /// each needs (issue 11): everything is read and checked here, so a
    /// bad key or an expired certificate fails the load with its position.
    fn auth(&mut self, t: &mut TableReader<'_, '_>, fragmentation: bool) -> Option<Auth> {
        let sink = &mut self.sink;
        let cert_key = t.str(sink, "local_cert");
        let key_key = t.str(sink, "local_key");
        let ca_key = t.str_list(sink, "ca");
        let default = if cert_key.is_some() { "pubkey" } else { "psk" };
        let mut method = |t: &mut TableReader<'_, '_>, key: &'static str| match t.str(sink, key) {
            None => Some(default == "pubkey"),
            Some(("psk", _)) => Some(false),
            Some(("pubkey", _)) => Some(true),
            Some((s, span)) => {
                sink.error_hint(
                    span,
                    format!("unknown authentication `{s}` for `{}`", t.qualified(key)),
                    "use psk or pubkey",
                );
                None
            }
        };
        let local_pk = method(t, "local_auth");
        let remote_pk = method(t, "remote_auth");
        let (local_pk, remote_pk) = (local_pk?, remote_pk?);
        // A PSK given beside two certificates is checked and kept (a
        // template may carry one for all tunnels), not refused.
        let has_psk = t.value("psk").is_some() || t.value("psk_file").is_some();
        let psk = if !local_pk || !remote_pk || has_psk {
            Some(self.psk(t)?)
        } else {
            None
        };
        let sink = &mut self.sink;
        let local_cert = if local_pk {
            let Some((cert, cert_span)) = cert_key else {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` authenticates with a certificate but has no `local_cert`", t.path),
                    "set local_cert = \"/etc/yadokari/NAME.crt\" and local_key, or local_auth = \"psk\"",
                );
                return None;
            };
            let Some((key, key_span)) = key_key else {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has `local_cert` but no `local_key`", t.path),
                    "set local_key = \"/etc/yadokari/NAME.key\" (the certificate's private key)",
                );
                return None;
            };
            let cert_file = self.opts.base_dir.join(cert);
            let key_file = self.opts.base_dir.join(key);
            let chain = match read_cert_file(&cert_file) {
                Ok(c) => c,
                Err(e) => {
                    sink.error(cert_span, e);
                    return None;
                }
            };
            let info = match yadokari_crypto::cert::CertInfo::parse(&chain[0]) {
                Ok(i) => i,
                Err(e) => {
                    sink.error(cert_span, format!("{}: {e}", cert_file.display()));
                    return None;
                }
            };
            if !info.valid_at(std::time::SystemTime::now()) {
                sink.error_hint(
                    cert_span,
                    format!(
                        "the certificate `{}` in {} is not valid now (valid until {})",
                        info.subject,
                        cert_file.display(),
                        info.not_after_text
                    ),
                    "renew the certificate",
                );
                return None;
            }
            let key = match secret::read_secret_file(&key_file).and_then(|s| {
                yadokari_crypto::signature::PrivateKey::from_pem_or_der(s.expose())
                    .map_err(|e| format!("{}: {e}", key_file.display()))
            }) {
                Ok(k) => k,
                Err(e) => {
                    sink.error(key_span, e);
                    return None;
                }
            };
            if key.public_key_bits() != info.key.bits {
                sink.error_hint(
                    key_span,
                    format!(
                        "the private key in {} does not belong to the certificate `{}` in {}",
                        key_file.display(),
                        info.subject,
                        cert_file.display()
                    ),
                    "give the key the certificate was issued for",
                );
                return None;
            }
            // IKE_AUTH carries the chain and a signature; with IKE
            // fragmentation (RFC 7383) turned off it must fit one datagram.
            let chain_len: usize = chain.iter().map(Vec::len).sum();
            let sig_len = match key.kind() {
                yadokari_crypto::signature::KeyKind::Rsa(bits) => bits as usize / 8,
                _ => 140,
            };
            if !fragmentation && chain_len + sig_len > IKE_AUTH_CERT_BUDGET {
                self.warnings.push(sink.warning(
                    cert_span.clone(),
                    format!(
                        "the chain in {} ({chain_len} bytes) and its {}-byte signature make IKE_AUTH larger than a 1500-byte path carries, and `fragmentation = false`",
                        cert_file.display(),
                        sig_len
                    ),
                    Some("turn IKE fragmentation on, or use an ECDSA key, RSA-2048 or fewer intermediates".into()),
                ));
            }
            Some(LocalCert {
                cert_file,
                key_file,
                cert: std::sync::Arc::new(yadokari_ike::LocalCert {
                    chain,
                    info,
                    signer: std::sync::Arc::new(yadokari_crypto::signature::LocalSigner::new(key)),
                }),
            })
        } else {
            None
        };
        let ca = if remote_pk {
            let Some(list) = ca_key else {
                sink.error_hint(
                    t.span.clone(),
                    format!(
                        "`{}` expects the peer to authenticate with a certificate but has no `ca`",
                        t.path
                    ),
                    "set ca = \"/etc/yadokari/ca.crt\" (a file, a directory of PEM files, or a list), or remote_auth = \"psk\"",
                );
                return None;
            };
            let mut ders = Vec::new();
            let mut sources = Vec::new();
            for (p, span) in list {
                let path = self.opts.base_dir.join(p);
                match read_ca(&path) {
                    Ok(mut d) => ders.append(&mut d),
                    Err(e) => {
                        sink.error(span, e);
                        return None;
                    }
                }
                sources.push(path);
            }
            match yadokari_crypto::cert::TrustStore::new(&ders) {
                Ok(store) => Some(TrustAnchors {
                    sources,
                    store: std::sync::Arc::new(store),
                }),
                Err(e) => {
                    sink.error(t.span.clone(), format!("`{}`: ca: {e}", t.path));
                    return None;
                }
            }
        } else {
            None
        };
        Some(Auth {
            psk,
            local_cert,
            ca,
        })
    }

    /// The PSK of a side that uses one.
    /// `ppk_id` with `ppk` or `ppk_file`, and `ppk_required` (RFC 8784).
    /// `None` on an error (reported), `Some(None)` without a PPK.
    fn ppk(&mut self, t: &mut TableReader<'_, '_>) -> Option<Option<Ppk>> {
        let sink = &mut self.sink;
        let id = t.str(sink, "ppk_id");
        let inline = t.str(sink, "ppk");
        let file = t.str(sink, "ppk_file");
        let required = t.bool(sink, "ppk_required");
        let (id, id_span) = match (id, &inline, &file) {
            (None, None, None) => {
                if let (Some(true), Some(v)) = (required, t.value("ppk_required")) {
                    sink.error_hint(
                        v.span(),
                        format!("`{}` requires a PPK but has no `ppk_id`", t.path),
                        "set ppk_id and ppk_file (RFC 8784)",
                    );
                    return None;
                }
                return Some(None);
            }
            (None, _, _) => {
                sink.error_hint(
                    t.span.clone(),
                    format!(
                        "`{}` has a post-quantum preshared key but no `ppk_id`",
                        t.path
                    ),
                    "name it: ppk_id = \"...\", the same on both sides",
                );
                return None;
            }
            (Some((id, span)), _, _) => (id.to_owned(), span),
        };
        let (secret, span) = match (inline, file) {
            (Some(_), Some((_, span))) => {
                sink.error_hint(
                    span,
                    format!("`{}` sets both `ppk` and `ppk_file`", t.path),
                    "keep `ppk_file`; inline keys are for tests",
                );
                return None;
            }
            (Some((s, span)), None) => (Secret::new(s.as_bytes().to_vec()), span),
            (None, Some((p, span))) => {
                let path = self.opts.base_dir.join(p);
                match secret::read_secret_file(&path) {
                    Ok(s) => (s, span),
                    Err(e) => {
                        sink.error(span, e);
                        return None;
                    }
                }
            }
            (None, None) => {
                sink.error_hint(
                    id_span,
                    format!("`{}` names a PPK but gives no key", t.path),
                    "set ppk_file = \"/etc/yadokari/NAME.ppk\"",
                );
                return None;
            }
        };
        // RFC 8784 §5: at least 256 bits of entropy.
        if secret.expose().len() < MIN_PPK_LEN {
            sink.error_hint(
                span,
                format!(
                    "the post-quantum preshared key of `{}` is too short ({} bytes; at least {MIN_PPK_LEN})",
                    t.path,
                    secret.expose().len()
                ),
                "generate one: head -c 32 /dev/urandom | base64",
            );
            return None;
        }
        Some(Some(Ppk {
            id,
            secret,
            required: required.unwrap_or(false),
        }))
    }

    fn psk(&mut self, t: &mut TableReader<'_, '_>) -> Option<Secret> {
        let sink = &mut self.sink;
        let inline = t.str(sink, "psk");
        let file = t.str(sink, "psk_file");
        let (secret, span): (Secret, Range<usize>) = match (inline, file) {
            (Some(_), Some((_, span))) => {
                sink.error_hint(
                    span,
                    format!("`{}` sets both `psk` and `psk_file`", t.path),
                    "keep `psk_file`; inline keys are for tests",
                );
                return None;
            }
            (Some((s, span)), None) => (Secret::new(s.as_bytes().to_vec()), span),
            (None, Some((p, span))) => {
                let path = self.opts.base_dir.join(p);
                match secret::read_secret_file(&path) {
                    Ok(s) => (s, span),
                    Err(e) => {
                        sink.error(span, e);
                        return None;
                    }
                }
            }
            (None, None) => {
                sink.error_hint(
                    t.span.clone(),
                    format!("`{}` has no authentication", t.path),
                    "set psk_file = \"/etc/yadokari/NAME.psk\"",
                );
                return None;
            }
        };
        if secret.expose().len() < MIN_PSK_LEN {
            sink.error_hint(
                span,
                format!(
                    "the pre-shared key of `{}` is too short ({} bytes; at least {MIN_PSK_LEN})",
                    t.path,
                    secret.expose().len()
                ),
                "generate one: head -c 32 /dev/urandom | base64",
            );
            return None;
        }
        Some(secret)
    }

    fn ike_proposals(&mut self, list: &[(&str, Range<usize>)], legacy: bool) -> Vec<IkeProposal> {
        let mut out = Vec::new();
        self.check_proposal_count(list);
        for (text, span) in list {
            match proposal::parse_ike_proposal(text) {
                Ok(p) => {
                    self.check_legacy(text, span, legacy);
                    let n = p.encryption.len() + p.integrity.len() + p.prf.len() + p.ke.len();
                    self.check_transform_count(text, span, n);
                    out.push(p)
                }
                Err(e) => self.sink.error(span.clone(), e),
            }
        }
        out
    }

    fn esp_proposals(&mut self, list: &[(&str, Range<usize>)], legacy: bool) -> Vec<EspProposal> {
        let mut out = Vec::new();
        self.check_proposal_count(list);
        for (text, span) in list {
            match proposal::parse_esp_proposal(text) {
                Ok(p) => {
                    self.check_legacy(text, span, legacy);
                    let n = p.encryption.len() + p.integrity.len() + p.ke.len() + p.esn.len();
                    self.check_transform_count(text, span, n);
                    out.push(p)
                }
                Err(e) => self.sink.error(span.clone(), e),
            }
        }
        out
    }

    /// RFC 7296 §3.3.1: "Num Transforms" is one octet, so a proposal holds
    /// at most 255 transforms; more cannot be put on the wire.
    fn check_transform_count(&mut self, text: &str, span: &Range<usize>, n: usize) {
        if n > MAX_ON_THE_WIRE {
            self.sink.error_hint(
                span.clone(),
                format!(
                    "`{}…` has {n} transforms; a proposal carries at most {MAX_ON_THE_WIRE}",
                    text.chars().take(40).collect::<String>()
                ),
                "split it into several proposals",
            );
        }
    }

    /// RFC 7296 §3.3.1: "Proposal Num" is one octet: at most 255 proposals.
    fn check_proposal_count(&mut self, list: &[(&str, Range<usize>)]) {
        if let Some((_, span)) = list.get(MAX_ON_THE_WIRE) {
            self.sink.error(
                span.clone(),
                format!(
                    "{} proposals; an SA payload carries at most {MAX_ON_THE_WIRE}",
                    list.len()
                ),
            );
        }
    }

    fn check_legacy(&mut self, text: &str, span: &Range<usize>, legacy: bool) {
        if let (Some(reason), false) = (proposal::legacy_reason(text), legacy) {
            self.sink.error_hint(
                span.clone(),
                format!("unsafe algorithm in `{text}`: {reason}"),
                "set allow_legacy = true in this section to accept it anyway",
            );
        }
    }

    /// The compact form: one table that becomes a remote, selectors, a
    /// policy, an ipsec and an sa template, all named after the tunnel.
    fn tunnel(&mut self, name: &str, name_span: Range<usize>, t: &mut TableReader<'_, '_>) {
        let legacy_esp = t.bool(&mut self.sink, "allow_legacy").unwrap_or(false);
        let remote = self.remote_common(t, "remote", "local");
        let sink = &mut self.sink;
        let mode = mode(sink, t).unwrap_or(Mode::Tunnel);
        let rekey = duration(sink, t, "rekey").unwrap_or(CHILD_REKEY);
        let child_lifetime = lifetime_of(sink, t, rekey, "lifetime");
        let protocol = protocol(sink, t);
        let local_ts = ts_list(sink, t, "local_ts");
        let remote_ts = ts_list(sink, t, "remote_ts");
        let esp = match t.str_list(sink, "esp") {
            Some(list) => self.esp_proposals(&list, legacy_esp),
            None => proposal::default_esp(),
        };
        // Check the selectors even when the peer part had errors, so that
        // one run reports everything.
        let Some(remote) = remote else {
            if let (Some(l), Some(r)) = (&local_ts, &remote_ts) {
                self.pair_selectors(name, &name_span, &t.path, l, r, protocol);
            }
            return;
        };
        // Without selectors the tunnel protects the hosts themselves.
        let host = |a: &Address| AddressSpec::Host(a.clone());
        let local_ts = local_ts.unwrap_or_else(|| {
            let me = remote.local_address.clone().unwrap_or(Address::Macro {
                kind: address::AddrMacro::MyIp,
                ifname: None,
            });
            vec![(host(&me), t.span.clone())]
        });
        let remote_ts = remote_ts.unwrap_or_else(|| vec![(host(&remote.address), t.span.clone())]);
        let selectors =
            self.pair_selectors(name, &name_span, &t.path, &local_ts, &remote_ts, protocol);
        self.raw.selectors.extend(selectors);
        self.raw
            .remotes
            .push((name.to_owned(), name_span.clone(), remote));
        self.raw.sa.push((
            name.to_owned(),
            name_span.clone(),
            SaTemplate { proposals: esp },
        ));
        self.raw.ipsec.push((
            name.to_owned(),
            name_span.clone(),
            IpsecTemplate {
                mode,
                sa: vec![name.to_owned()],
                lifetime: child_lifetime,
                tunnel_local: None,
                tunnel_remote: None,
            },
            vec![name_span.clone()],
        ));
        self.raw.policies.push((
            name.to_owned(),
            name_span.clone(),
            Policy::Protect {
                remote: name.to_owned(),
                ipsec: name.to_owned(),
            },
            vec![],
        ));
    }

    /// One selector per (local, remote) pair of the same address family;
    /// a prefix left without a partner of its family is an error.
    fn pair_selectors(
        &mut self,
        name: &str,
        name_span: &Range<usize>,
        path: &str,
        local_ts: &[(AddressSpec, Range<usize>)],
        remote_ts: &[(AddressSpec, Range<usize>)],
        protocol: IpProtocol,
    ) -> Vec<(String, Range<usize>, Selector, Range<usize>)> {
        let mut out = Vec::new();
        for (l, lspan) in local_ts {
            let peers: Vec<_> = remote_ts
                .iter()
                .filter(|(r, _)| same_family(l.family(), r.family()))
                .collect();
            if peers.is_empty() {
                self.sink.error(
                    lspan.clone(),
                    format!("`{path}`: local_ts `{l}` has no remote_ts of the same address family"),
                );
            }
            for (r, _) in peers {
                let sel = Selector {
                    src: l.clone(),
                    dst: r.clone(),
                    protocol,
                    src_ports: PortRange::ANY,
                    dst_ports: PortRange::ANY,
                    policy: name.to_owned(),
                };
                out.push((
                    format!("{name}/{}", out.len() + 1),
                    name_span.clone(),
                    sel,
                    name_span.clone(),
                ));
            }
        }
        for (r, rspan) in remote_ts {
            if !local_ts
                .iter()
                .any(|(l, _)| same_family(l.family(), r.family()))
            {
                self.sink.error(
                    rspan.clone(),
                    format!("`{path}`: remote_ts `{r}` has no local_ts of the same address family"),
                );
            }
        }
        out
    }

    /// Cross-section checks: unique names, and every reference resolves.
    fn link(&mut self, daemon: DaemonSettings, interface: InterfaceSettings) -> Config {
        let raw = std::mem::take(&mut self.raw);
        let early_warnings = std::mem::take(&mut self.warnings);
        let sink = &mut self.sink;
        let remotes = unique(sink, "remote", raw.remotes.into_iter());
        let sa = unique(sink, "sa", raw.sa.into_iter());
        let mut ipsec = BTreeMap::new();
        let mut seen_ipsec: BTreeMap<String, ()> = BTreeMap::new();
        for (name, span, tpl, sa_spans) in raw.ipsec {
            for (s, sspan) in tpl.sa.iter().zip(sa_spans) {
                if !sa.contains_key(s) {
                    dangling(sink, sspan, "sa", s, sa.keys());
                }
            }
            if seen_ipsec.insert(name.clone(), ()).is_some() {
                sink.error(
                    span,
                    format!("`ipsec.{name}` is defined twice (a tunnel defines one of its name)"),
                );
            } else {
                ipsec.insert(name, tpl);
            }
        }
        let mut policies = BTreeMap::new();
        for (name, span, policy, refs) in raw.policies {
            if let Policy::Protect { remote, ipsec: tpl } = &policy {
                if let (Some(r), Some(t)) = (remotes.get(remote), ipsec.get(tpl)) {
                    check_transport_policy(sink, &span, &name, r, t);
                }
            }
            for (target, rspan, kind) in refs {
                let exists = match kind {
                    "remote" => remotes.contains_key(&target),
                    _ => ipsec.contains_key(&target),
                };
                if !exists {
                    match kind {
                        "remote" => dangling(sink, rspan, kind, &target, remotes.keys()),
                        _ => dangling(sink, rspan, kind, &target, ipsec.keys()),
                    }
                }
            }
            if policies.insert(name.clone(), policy).is_some() {
                sink.error(
                    span,
                    format!("`policy.{name}` is defined twice (a tunnel defines one of its name)"),
                );
            }
        }
        let mut selectors = BTreeMap::new();
        let mut per_policy: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, span, sel, _) in &raw.selectors {
            let n = per_policy.entry(sel.policy.as_str()).or_default();
            *n += 1;
            if *n == MAX_ON_THE_WIRE + 1 {
                // Each selector is one TS in TSi and one in TSr; "Number of
                // TSs" is one octet (RFC 7296 §3.13).
                sink.error_hint(
                    span.clone(),
                    format!(
                        "policy `{}` has more than {MAX_ON_THE_WIRE} selectors; a TS payload carries at most {MAX_ON_THE_WIRE}",
                        sel.policy
                    ),
                    "use wider prefixes, or split the traffic over several policies",
                );
            }
        }
        let mut warnings = early_warnings;
        warnings.extend(overlaps(sink, &raw.selectors, &policies));
        for (name, span, sel, pspan) in raw.selectors {
            match policies.get(&sel.policy) {
                None => dangling(sink, pspan, "policy", &sel.policy, policies.keys()),
                Some(Policy::Protect { remote, ipsec: tpl }) => {
                    if let (Some(r), Some(t)) = (remotes.get(remote), ipsec.get(tpl)) {
                        if t.mode == Mode::Transport {
                            check_transport_selector(sink, &span, &name, &sel, r);
                        }
                    }
                }
                Some(_) => {
                    // Bypass and discard are routes, and routes go by
                    // destination only (docs/config.md, Routing).
                    if !sel.protocol.is_any()
                        || sel.src_ports != PortRange::ANY
                        || sel.dst_ports != PortRange::ANY
                    {
                        sink.error_hint(
                            span.clone(),
                            format!(
                                "`selector.{name}` names a bypass or discard policy but restricts \
                                 the protocol or ports"
                            ),
                            "bypass and discard apply to a destination prefix as a whole: \
                             remove `protocol`, `src_port` and `dst_port`",
                        );
                    }
                }
            }
            if selectors.insert(name.clone(), sel).is_some() {
                sink.error(span, format!("`selector.{name}` is defined twice"));
            }
        }
        Config {
            daemon,
            interface,
            remotes,
            selectors,
            policies,
            ipsec,
            sa,
            warnings,
        }
    }
}

/// A selector's addresses as an inclusive interval of one family, when
/// it is written as literal addresses (host names and macros are not
/// known until run time and are left out of the overlap check).
fn interval(a: &AddressSpec) -> Option<(bool, u128, u128)> {
    let wide = |ip: &std::net::IpAddr| match ip {
        std::net::IpAddr::V4(v) => (false, u128::from(u32::from(*v))),
        std::net::IpAddr::V6(v) => (true, u128::from(*v)),
    };
    match a {
        AddressSpec::Prefix(ip, len) => {
            let (v6, x) = wide(ip);
            let bits = if v6 { 128 } else { 32 };
            let host = u32::from(bits - (*len).min(bits));
            let mask = if host == 0 {
                0
            } else {
                u128::MAX >> (128 - host)
            };
            Some((v6, x & !mask, x | mask))
        }
        AddressSpec::Range(a, b) => {
            let ((v6, x), (_, y)) = (wide(a), wide(b));
            Some((v6, x, y))
        }
        AddressSpec::Host(Address::Ip(ip)) => {
            let (v6, x) = wide(ip);
            Some((v6, x, x))
        }
        AddressSpec::Host(_) => None,
    }
}

type Interval = (bool, u128, u128);

fn meet(a: Interval, b: Interval) -> bool {
    a.0 == b.0 && a.1 <= b.2 && b.1 <= a.2
}

fn within(inner: Interval, outer: Interval) -> bool {
    inner.0 == outer.0 && outer.1 <= inner.1 && inner.2 <= outer.2
}

/// Selectors of policies with different peers (`remote` sections) whose
/// traffic overlaps. Nothing decides between two equal (or crossing)
/// remote selectors, so that is an error naming both. When one remote
/// selector lies inside the other, outbound traffic in the overlap goes to
/// the more specific one (the data plane routes by longest prefix on the
/// remote selector): that loads, with a warning that says so.
fn overlaps(
    sink: &mut Sink<'_>,
    sels: &[(String, Range<usize>, Selector, Range<usize>)],
    policies: &BTreeMap<String, Policy>,
) -> Vec<crate::Warning> {
    let peer = |s: &Selector| match policies.get(&s.policy) {
        Some(Policy::Protect { remote, .. }) => Some(remote.clone()),
        _ => None,
    };
    let ports = |a: PortRange, b: PortRange| a.intersect(b).is_some();
    let mut warnings = Vec::new();
    for (i, (an, aspan, a, _)) in sels.iter().enumerate() {
        let (Some(apeer), Some(al), Some(ar)) = (peer(a), interval(&a.src), interval(&a.dst))
        else {
            continue;
        };
        for (bn, _, b, _) in &sels[i + 1..] {
            let (Some(bpeer), Some(bl), Some(br)) = (peer(b), interval(&b.src), interval(&b.dst))
            else {
                continue;
            };
            let same_protocol = a.protocol.intersect(b.protocol).is_some();
            if apeer == bpeer
                || !meet(al, bl)
                || !meet(ar, br)
                || !same_protocol
                || !ports(a.src_ports, b.src_ports)
                || !ports(a.dst_ports, b.dst_ports)
            {
                continue;
            }
            let what = format!(
                "selector `{an}` ({} === {}, peer `{apeer}`) and selector `{bn}` ({} === {}, peer `{bpeer}`) overlap",
                a.src, a.dst, b.src, b.dst
            );
            let winner = match (within(ar, br) && ar != br, within(br, ar) && ar != br) {
                (true, _) => Some((an, &apeer)),
                (_, true) => Some((bn, &bpeer)),
                _ => None,
            };
            match winner {
                Some((w, wpeer)) => warnings.push(sink.warning(
                    aspan.clone(),
                    format!(
                        "{what}: traffic in the overlap goes to peer `{wpeer}`, whose remote selector (in `{w}`) is the more specific"
                    ),
                    Some("make the selectors disjoint if that is not what you mean".into()),
                )),
                None => sink.error_hint(
                    aspan.clone(),
                    format!("{what}, and neither remote selector is more specific: nothing decides which peer gets the traffic"),
                    "make them disjoint, or one narrower than the other",
                ),
            }
        }
    }
    warnings
}

/// A diagnostic located at the value of `keys` (e.g. `["daemon",
/// "control_group"]`) in the configuration file `path`, for checks that
/// need the running system (does a group exist?) and so cannot run while
/// the text is parsed; at 1:1 when the key is not written there.
pub fn locate_key(
    path: &Path,
    keys: &[&str],
    message: String,
    hint: Option<String>,
) -> crate::Diagnostic {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let source = Source::new(&name, &text);
    let (root, _) = DeTable::parse_recoverable(&text);
    let mut table: &DeTable<'_> = root.get_ref();
    let mut offset = 0;
    for (i, key) in keys.iter().enumerate() {
        let Some((_, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == *key) else {
            break;
        };
        offset = v.span().start;
        match v.get_ref() {
            DeValue::Table(t) if i + 1 < keys.len() => table = t,
            _ => break,
        }
    }
    let (line, column) = source.locate(offset);
    crate::Diagnostic {
        file: name,
        line,
        column,
        message,
        hint,
    }
}

/// Transport mode (RFC 4303 §3.1.1) protects traffic between the two IKE
/// hosts themselves: the receiver rebuilds the IP header from them, and
/// checksums only survive without NAT.
fn check_transport_policy(
    sink: &mut Sink<'_>,
    span: &Range<usize>,
    name: &str,
    remote: &Remote,
    tpl: &IpsecTemplate,
) {
    if tpl.mode != Mode::Transport {
        return;
    }
    if remote.encap {
        sink.error_hint(
            span.clone(),
            format!("`{name}`: transport mode cannot be combined with `encap = true`"),
            "transport mode is refused over NAT-T (TCP/UDP checksums would break); use mode = \"tunnel\"",
        );
    }
    if tpl.tunnel_local.is_some() || tpl.tunnel_remote.is_some() {
        sink.error_hint(
            span.clone(),
            format!("`{name}`: transport mode has no tunnel endpoints"),
            "remove tunnel_local/tunnel_remote, or use mode = \"tunnel\"",
        );
    }
}

/// The single address a selector side names, if it names exactly one.
fn single_host(spec: &AddressSpec) -> Option<Address> {
    match spec {
        AddressSpec::Host(Address::Macro {
            kind: address::AddrMacro::IpAny,
            ..
        }) => None,
        AddressSpec::Host(a) => Some(a.clone()),
        AddressSpec::Prefix(ip, len) if u32::from(*len) == ip_bits(ip) => Some(Address::Ip(*ip)),
        AddressSpec::Range(a, b) if a == b => Some(Address::Ip(*a)),
        _ => None,
    }
}

fn ip_bits(ip: &std::net::IpAddr) -> u32 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

/// A transport-mode selector must name the two hosts: our address (or a
/// macro for it) as source, the peer's address as destination.
fn check_transport_selector(
    sink: &mut Sink<'_>,
    span: &Range<usize>,
    name: &str,
    sel: &Selector,
    remote: &Remote,
) {
    let hint = "transport mode protects the two hosts' own traffic; leave local_ts/remote_ts out (they default to the hosts) or use mode = \"tunnel\"";
    let (src, dst) = (single_host(&sel.src), single_host(&sel.dst));
    let mut bad = |what: &str, spec: &AddressSpec| {
        sink.error_hint(
            span.clone(),
            format!(
                "selector `{name}`: {what} `{spec}` is not a single host, as transport mode needs"
            ),
            hint,
        );
    };
    if src.is_none() {
        bad("source", &sel.src);
    }
    if dst.is_none() {
        bad("destination", &sel.dst);
    }
    // Literal addresses on both sides can be compared now; names and macros
    // are resolved (and checked again) when the SA is installed.
    if let (Some(Address::Ip(d)), Address::Ip(peer)) = (&dst, &remote.address) {
        if d != peer {
            sink.error_hint(
                span.clone(),
                format!("selector `{name}`: destination {d} is not the peer's address {peer}"),
                hint,
            );
        }
    }
    if let (Some(Address::Ip(s)), Some(Address::Ip(me))) = (&src, &remote.local_address) {
        if s != me {
            sink.error_hint(
                span.clone(),
                format!("selector `{name}`: source {s} is not our address {me}"),
                hint,
            );
        }
    }
}

fn unique<T>(
    sink: &mut Sink<'_>,
    kind: &str,
    items: impl Iterator<Item = (String, Range<usize>, T)>,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    for (name, span, v) in items {
        match out.entry(name) {
            std::collections::btree_map::Entry::Occupied(e) => sink.error(
                span,
                format!(
                    "`{kind}.{}` is defined twice (a tunnel defines one of its name)",
                    e.key()
                ),
            ),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
    out
}

fn dangling<'k>(
    sink: &mut Sink<'_>,
    span: Range<usize>,
    kind: &str,
    name: &str,
    known: impl Iterator<Item = &'k String>,
) {
    let known: Vec<&str> = known.map(String::as_str).collect();
    let msg = format!("no `[{kind}.{name}]` is defined");
    match crate::reader::nearest(name, &known) {
        Some(best) => sink.error_hint(span, msg, format!("did you mean `{best}`?")),
        None if known.is_empty() => {
            sink.error_hint(span, msg, format!("define a [{kind}.{name}] section"))
        }
        None => sink.error_hint(span, msg, format!("defined: {}", known.join(", "))),
    }
}

fn same_family(a: Option<Family>, b: Option<Family>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// An integer setting within `min..=max`.
fn count(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
    min: usize,
    max: usize,
) -> Option<usize> {
    let (n, span) = t.u64(sink, key)?;
    match usize::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            sink.error(
                span,
                format!("`{}` must be {min} to {max}", t.qualified(key)),
            );
            None
        }
    }
}

fn port(sink: &mut Sink<'_>, t: &mut TableReader<'_, '_>, key: &'static str) -> Option<u16> {
    let (n, span) = t.u64(sink, key)?;
    match u16::try_from(n) {
        Ok(p) if p != 0 => Some(p),
        _ => {
            sink.error(span, format!("`{}` must be 1 to 65535", t.qualified(key)));
            None
        }
    }
}

fn ports(sink: &mut Sink<'_>, t: &mut TableReader<'_, '_>, key: &'static str) -> PortRange {
    let Some(v) = t.value(key) else {
        return PortRange::ANY;
    };
    let parsed = match v.get_ref() {
        DeValue::Integer(n) => n.as_str().parse::<u16>().ok().map(PortRange::single),
        DeValue::String(s) if s == "any" => Some(PortRange::ANY),
        DeValue::String(s) => match s.split_once('-') {
            Some((a, b)) => (|| {
                let (a, b) = (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?);
                (a <= b).then(|| PortRange::new(a, b).ok()).flatten()
            })(),
            // A quoted single port, "443", reads like the quoted ranges.
            None => s.trim().parse::<u16>().ok().map(PortRange::single),
        },
        _ => None,
    };
    parsed.unwrap_or_else(|| {
        sink.error_hint(
            v.span(),
            format!("`{}` is not a port or port range", t.qualified(key)),
            "e.g. 443, \"1024-65535\" or \"any\"",
        );
        PortRange::ANY
    })
}

fn protocol(sink: &mut Sink<'_>, t: &mut TableReader<'_, '_>) -> IpProtocol {
    let Some(v) = t.value("protocol") else {
        return IpProtocol::ANY;
    };
    let p = match v.get_ref() {
        DeValue::Integer(n) => n.as_str().parse::<u8>().ok().map(IpProtocol),
        // The selector crate's names (any, tcp, udp, icmp, icmpv6 or
        // ipv6-icmp, sctp, gre, esp, ah, mh, udplite).
        DeValue::String(s) if s.as_ref() == "mobility-header" => Some(IpProtocol::MH),
        DeValue::String(s) => s.parse().ok(),
        _ => None,
    };
    p.unwrap_or_else(|| {
        sink.error_hint(
            v.span(),
            format!("`{}` is not a protocol", t.qualified("protocol")),
            "any, tcp, udp, icmp, icmpv6, sctp, gre, mh, or a number 0-255",
        );
        IpProtocol::ANY
    })
}

fn mode(sink: &mut Sink<'_>, t: &mut TableReader<'_, '_>) -> Option<Mode> {
    match t.str(sink, "mode")? {
        ("tunnel", _) => Some(Mode::Tunnel),
        ("transport", _) => Some(Mode::Transport),
        (s, span) => {
            sink.error_hint(
                span,
                format!("unknown mode `{s}`"),
                "use tunnel or transport",
            );
            None
        }
    }
}

fn duration(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<Duration> {
    let v = t.value(key)?;
    let r = match v.get_ref() {
        DeValue::Integer(n) => n
            .as_str()
            .parse::<u64>()
            .map(Duration::from_secs)
            .map_err(|_| "must not be negative".to_owned()),
        DeValue::String(s) => parse_duration(s),
        other => Err(format!("must be a duration, not {}", other.type_str())),
    };
    match r {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            sink.error(
                v.span(),
                format!("`{}` must be longer than zero", t.qualified(key)),
            );
            None
        }
        Err(e) => {
            sink.error_hint(
                v.span(),
                format!("`{}`: {e}", t.qualified(key)),
                "e.g. 30s, 15m, 4h",
            );
            None
        }
    }
}

fn ip(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<std::net::IpAddr> {
    let (s, span) = t.str(sink, key)?;
    s.parse()
        .map_err(|_| sink.error(span, format!("`{s}` is not an IP address")))
        .ok()
}

fn identity(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<Identity> {
    let (s, span) = t.str(sink, key)?;
    parse_identity(s).map_err(|e| sink.error(span, e)).ok()
}

fn spec(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<(AddressSpec, Range<usize>)> {
    let (s, span) = t.str(sink, key)?;
    match address::parse_address_spec(s) {
        Ok(a) => Some((a, span)),
        Err(e) => {
            sink.error(span, e.0);
            None
        }
    }
}

fn ts_list(
    sink: &mut Sink<'_>,
    t: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Option<Vec<(AddressSpec, Range<usize>)>> {
    let list = t.str_list(sink, key)?;
    let mut out = Vec::new();
    for (s, span) in list {
        match address::parse_address_spec(s) {
            Ok(a) => out.push((a, span)),
            Err(e) => sink.error(span, e.0),
        }
    }
    Some(out)
}

/// Bytes of certificates plus signature that still leave IKE_AUTH (IDs,
/// SA, TS, notifies, SK overhead, IP/UDP headers: about 250 bytes) under
/// 1500 bytes.
const IKE_AUTH_CERT_BUDGET: usize = 1250;

/// The largest certificate file read: a chain is a few kilobytes.
const MAX_CERT_FILE: u64 = 1024 * 1024;

/// Certificates of a PEM or DER file, in order.
fn read_cert_file(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if meta.len() > MAX_CERT_FILE {
        return Err(format!(
            "{} is too large for a certificate file",
            path.display()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    yadokari_crypto::cert::load_certs(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// A `ca` entry: one file, or every `.pem`/`.crt`/`.cer`/`.der` file of a
/// directory (sorted, so the order is stable).
fn read_ca(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    if !path.is_dir() {
        return read_cert_file(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot read directory {}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| matches!(x, "pem" | "crt" | "cer" | "der"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "directory {} holds no certificate files (*.pem, *.crt, *.cer, *.der)",
            path.display()
        ));
    }
    let mut out = Vec::new();
    for f in files {
        out.append(&mut read_cert_file(&f)?);
    }
    Ok(out)
}
