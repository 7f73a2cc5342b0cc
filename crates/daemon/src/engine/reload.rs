//! `reload`: the new configuration compared with the running one, and the
//! connection table replaced without reusing a slot (changed or removed
//! connections are retired, their SAs deleted; unchanged ones keep theirs).

use super::*;

/// Whether two versions of a connection name the same addresses and
/// selectors (what a DNS change can alter).
pub(super) fn same_addresses(a: &ike::ConnConfig, b: &ike::ConnConfig) -> bool {
    a.remote_addr == b.remote_addr
        && a.local_addr == b.local_addr
        && a.children.len() == b.children.len()
        && a.children
            .iter()
            .zip(&b.children)
            .all(|(x, y)| x.ts_local == y.ts_local && x.ts_remote == y.ts_remote)
}

/// Which connections a reload adds, removes, changes or leaves alone. A
/// connection is everything one protect policy pulls in: its remote, its
/// ipsec and sa templates, and the selectors that name it.
pub fn diff(old: &Config, new: &Config) -> ReloadReport {
    let mut r = ReloadReport {
        added: vec![],
        removed: vec![],
        changed: vec![],
        unchanged: vec![],
    };
    for name in new.policies.keys() {
        match old.policies.contains_key(name) {
            false => r.added.push(name.clone()),
            true if bundle(old, name) == bundle(new, name) => r.unchanged.push(name.clone()),
            true => r.changed.push(name.clone()),
        }
    }
    r.removed = old
        .policies
        .keys()
        .filter(|n| !new.policies.contains_key(*n))
        .cloned()
        .collect();
    r
}

/// Everything one protect policy pulls in, compared as values: `Debug`
/// text would not do, since secrets print redacted and a changed PSK would
/// look unchanged.
#[derive(PartialEq)]
pub(super) struct Bundle<'c> {
    policy: &'c yadokari_config::Policy,
    remote: Option<&'c yadokari_config::Remote>,
    ipsec: Option<&'c yadokari_config::IpsecTemplate>,
    sa: Vec<Option<&'c yadokari_config::SaTemplate>>,
    selectors: Vec<(&'c String, &'c yadokari_config::Selector)>,
}

pub(super) fn bundle<'c>(c: &'c Config, policy: &str) -> Bundle<'c> {
    use yadokari_config::Policy;
    let p = &c.policies[policy];
    let (remote, ipsec) = match p {
        Policy::Protect { remote, ipsec } => (c.remotes.get(remote), c.ipsec.get(ipsec)),
        _ => (None, None),
    };
    Bundle {
        policy: p,
        remote,
        ipsec,
        sa: ipsec
            .map(|i| i.sa.iter().map(|n| c.sa.get(n)).collect())
            .unwrap_or_default(),
        selectors: c
            .selectors
            .iter()
            .filter(|(_, s)| s.policy == policy)
            .collect(),
    }
}

impl Engine {
    /// Re-reads the configuration. Connections whose configuration did not
    /// change keep their SAs; changed and removed ones are torn down (and
    /// changed ones restarted if they initiate); new ones start.
    pub async fn reload(&mut self) -> Result<ReloadReport, String> {
        let new = match yadokari_config::load_file(&self.config_path) {
            Ok(c) => c,
            Err(d) => {
                crate::internal_warn!("configuration not reloaded:\n{d}");
                return Err(format!("configuration not reloaded:\n{d}"));
            }
        };
        for w in &new.warnings {
            tracing::warn!("{w}");
        }
        let report = diff(&self.config, &new);
        let conns = match translate::connections(&new, new.daemon.ike_port, &self.dns.addresses()) {
            Ok(c) => c,
            Err(e) => return Err(format!("configuration not reloaded: {e:#}")),
        };
        let d = &new.daemon;
        self.ike
            .set_admission(d.cookie_threshold, d.max_half_open, d.half_open_per_source);
        if d.nat_keepalive != self.config.daemon.nat_keepalive {
            crate::internal_warn!(
                "daemon.nat_keepalive changed: the new interval takes effect at the next start"
            );
        }
        self.apply(new, conns, &report)
            .await
            .map_err(|e| format!("configuration not reloaded: {e}"))?;
        tracing::info!(added = %report.added.join(", "), removed = %report.removed.join(", "), changed = %report.changed.join(", "), unchanged = %report.unchanged.join(", "), "configuration reloaded");
        Ok(report)
    }

    /// Puts a new connection table in place. Unchanged connections keep
    /// their slot (`ConnId`) and their SAs. A changed connection is retired
    /// and added again at a new slot, a removed one is retired: the IKE
    /// core never reuses a slot, so an SA made with old keys can never
    /// continue under new ones, and from this call on a retired
    /// connection's keys authenticate nothing (its half-open SAs cannot
    /// complete, its established ones are deleted with the peer). New and
    /// changed connections that initiate start.
    pub(super) async fn apply(
        &mut self,
        new: Config,
        conns: Vec<Connection>,
        report: &ReloadReport,
    ) -> Result<(), ike::ConnTableError> {
        let now = Instant::now();
        let gone = |name: &String| report.changed.contains(name) || report.removed.contains(name);
        let mut table: Vec<Connection> = self.conns.clone();
        for c in table.iter_mut().filter(|c| !c.retired) {
            // "Unchanged" with other keys or addresses (an interface
            // address behind a macro moved) is a change all the same.
            match conns.iter().find(|n| n.name == c.name) {
                Some(n) if !gone(&c.name) && c.conn.same_credentials(&n.conn) => *c = n.clone(),
                _ => {
                    c.retired = true;
                    c.start = yadokari_config::StartAction::Respond;
                }
            }
        }
        let mut fresh = Vec::new();
        for n in &conns {
            if !table.iter().any(|c| !c.retired && c.name == n.name) {
                fresh.push(ConnId(table.len()));
                table.push(n.clone());
            }
        }
        let slots = table
            .iter()
            .map(|c| (!c.retired).then(|| c.conn.clone()))
            .collect();
        self.ike.set_connections(now, slots)?;
        self.conns = table;
        self.config = new;
        self.flush().await;
        if let Err(e) = self.sync_routes() {
            crate::internal_error!("policy routes not updated: {e:#}");
        }
        for i in fresh {
            if self.conns[i.0].start == yadokari_config::StartAction::Initiate {
                self.ike.handle_command(now, Command::Initiate { conn: i });
            }
        }
        self.flush().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::diff;

    fn load(psk: &str, rts: &str) -> yadokari_config::Config {
        let text = format!(
            "[tunnel.a]\nremote = \"192.0.2.1\"\nlocal_id = \"a.example.org\"\npsk = \"{psk}\"\nlocal_ts = \"203.0.113.0/24\"\nremote_ts = \"{rts}\"\n\
             [tunnel.b]\nremote = \"192.0.2.9\"\nlocal_id = \"a.example.org\"\npsk = \"another-long-enough-pre-shared-key\"\nlocal_ts = \"203.0.113.0/24\"\nremote_ts = \"198.51.100.128/25\"\n"
        );
        let opts = yadokari_config::LoadOptions {
            base_dir: std::path::PathBuf::new(),
        };
        yadokari_config::parse_str("t.toml", &text, &opts).unwrap()
    }

    #[test]
    pub(super) fn a_changed_secret_is_a_change() {
        let old = load("first-long-enough-pre-shared-key", "198.51.100.0/25");
        let new = load("second-long-enough-pre-shared-key", "198.51.100.0/25");
        let r = diff(&old, &new);
        assert_eq!(r.changed, vec!["a".to_string()]);
        assert_eq!(r.unchanged, vec!["b".to_string()]);
    }

    #[test]
    pub(super) fn a_changed_selector_is_a_change() {
        let old = load("first-long-enough-pre-shared-key", "198.51.100.0/25");
        let new = load("first-long-enough-pre-shared-key", "198.51.100.0/26");
        assert_eq!(diff(&old, &new).changed, vec!["a".to_string()]);
        assert!(diff(&old, &old).changed.is_empty());
    }
}
