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

mod auth;
mod checks;
mod daemon;
mod fields;
mod linked;
mod proposals;
mod remote;

pub use checks::locate_key;
use checks::*;
use fields::*;

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
}
