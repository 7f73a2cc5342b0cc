//! Host names in the configuration (a peer's `address`, our
//! `local_address`, selector hosts) are resolved at start and again when
//! their DNS TTL runs out, so a peer on a dynamic address is followed
//! without a reload (racoon2 resolved names only once, at load).
//!
//! Lookups go through hickory's stub resolver, which reports each answer's
//! TTL (the system's getaddrinfo does not); `/etc/resolv.conf` and
//! `/etc/hosts` configure it as they do the rest of the system. The engine
//! runs the lookups on a task and applies the answers: a name whose
//! address changed changes its connections as a reload would.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use yadokari_config::address::{Address, AddressSpec};
use yadokari_config::Config;

/// Never look a name up more often than this, whatever its TTL (a TTL of
/// zero would otherwise mean a query per engine wake-up).
pub const MIN_REFRESH: Duration = Duration::from_secs(2);
/// Look again at least this often, so a long TTL or a failed lookup does
/// not pin an address forever.
pub const MAX_REFRESH: Duration = Duration::from_secs(3600);
/// After a failed lookup, keep the last address and try again this soon.
pub const RETRY: Duration = Duration::from_secs(30);

/// Every host name the configuration uses as an address.
pub fn names(config: &Config) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |a: &Address| {
        if let Address::Fqdn(n) = a {
            out.insert(n.clone());
        }
    };
    for r in config.remotes.values() {
        add(&r.address);
        if let Some(a) = &r.local_address {
            add(a);
        }
    }
    for s in config.selectors.values() {
        for spec in [&s.src, &s.dst] {
            if let AddressSpec::Host(a) = spec {
                add(a);
            }
        }
    }
    out
}

/// One name's answer: its address, and until when it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub ip: IpAddr,
    pub valid_until: Instant,
}

/// The resolver; cheap to clone into lookup tasks.
#[derive(Clone)]
pub struct Resolver {
    inner: TokioResolver,
}

impl Resolver {
    /// A resolver configured like the system (`/etc/resolv.conf`). Its own
    /// cache is off: the engine keeps the answers and asks again exactly
    /// when their TTL says.
    pub fn system() -> anyhow::Result<Resolver> {
        let mut b = TokioResolver::builder_tokio()?;
        b.options_mut().cache_size = 0;
        Ok(Resolver { inner: b.build() })
    }

    /// Looks `name` up: the first address of the answer and its expiry,
    /// clamped to [`MIN_REFRESH`, `MAX_REFRESH`] from `now`.
    pub async fn lookup(&self, name: &str, now: Instant) -> anyhow::Result<Answer> {
        // A trailing dot makes the name absolute: no search-domain guesses.
        let fqdn = format!("{name}.");
        let l = self.inner.lookup_ip(fqdn.as_str()).await?;
        let ip = l
            .iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("`{name}` has no address"))?;
        Ok(Answer {
            ip,
            valid_until: clamp(now, l.valid_until()),
        })
    }

    /// Looks every name up; failures are reported per name.
    pub async fn lookup_all(&self, names: Vec<String>) -> Vec<(String, anyhow::Result<Answer>)> {
        let now = Instant::now();
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            let r = self.lookup(&n, now).await;
            out.push((n, r));
        }
        out
    }
}

fn clamp(now: Instant, until: Instant) -> Instant {
    until.clamp(now + MIN_REFRESH, now + MAX_REFRESH)
}

/// What the engine knows about the names: the addresses in use and when
/// each must be looked up again.
#[derive(Debug, Default)]
pub struct Names {
    pub answers: HashMap<String, Answer>,
}

impl Names {
    /// The addresses, for translating the configuration.
    pub fn addresses(&self) -> crate::translate::Resolved {
        self.answers
            .iter()
            .map(|(n, a)| (n.clone(), a.ip))
            .collect()
    }

    /// When the next lookup is due.
    pub fn next_refresh(&self) -> Option<Instant> {
        self.answers.values().map(|a| a.valid_until).min()
    }

    /// Names due for a lookup at `now`.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.answers
            .iter()
            .filter(|(_, a)| a.valid_until <= now)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Takes lookup results in; returns the names whose address changed.
    /// A failed lookup keeps the old address and retries after [`RETRY`].
    pub fn update(
        &mut self,
        now: Instant,
        results: Vec<(String, anyhow::Result<Answer>)>,
    ) -> Vec<(String, Option<IpAddr>, IpAddr)> {
        let mut changed = Vec::new();
        for (name, r) in results {
            match r {
                Ok(a) => {
                    let old = self.answers.insert(name.clone(), a).map(|o| o.ip);
                    if old != Some(a.ip) {
                        changed.push((name, old, a.ip));
                    }
                }
                Err(e) => {
                    crate::internal_warn!(%name, "cannot resolve: {e:#}; keeping the last address");
                    if let Some(a) = self.answers.get_mut(&name) {
                        a.valid_until = now + RETRY;
                    }
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(ip: &str, secs: u64, now: Instant) -> anyhow::Result<Answer> {
        Ok(Answer {
            ip: ip.parse().unwrap(),
            valid_until: now + Duration::from_secs(secs),
        })
    }

    #[test]
    fn changes_are_reported_and_failures_keep_the_address() {
        let now = Instant::now();
        let mut n = Names::default();
        let c = n.update(
            now,
            vec![("vpn.example.test".into(), answer("192.0.2.1", 60, now))],
        );
        assert_eq!(c.len(), 1, "the first answer is a change from nothing");
        assert_eq!(n.next_refresh(), Some(now + Duration::from_secs(60)));
        assert!(n.due(now).is_empty());
        let later = now + Duration::from_secs(61);
        assert_eq!(n.due(later), vec!["vpn.example.test".to_owned()]);
        // Same address again: no change.
        let c = n.update(
            later,
            vec![("vpn.example.test".into(), answer("192.0.2.1", 60, later))],
        );
        assert!(c.is_empty());
        // A failure keeps it and retries soon.
        let c = n.update(
            later,
            vec![("vpn.example.test".into(), Err(anyhow::anyhow!("SERVFAIL")))],
        );
        assert!(c.is_empty());
        assert_eq!(
            n.addresses()["vpn.example.test"],
            "192.0.2.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(n.next_refresh(), Some(later + RETRY));
        // A new address is a change.
        let c = n.update(
            later,
            vec![("vpn.example.test".into(), answer("192.0.2.7", 60, later))],
        );
        assert_eq!(c[0].2, "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn refresh_is_clamped() {
        let now = Instant::now();
        assert_eq!(clamp(now, now), now + MIN_REFRESH);
        assert_eq!(
            clamp(now, now + Duration::from_secs(86_400)),
            now + MAX_REFRESH
        );
        let mid = now + Duration::from_secs(300);
        assert_eq!(clamp(now, mid), mid);
    }

    #[test]
    fn names_come_from_peers_and_selectors() {
        let c = yadokari_config::parse_str(
            "n.toml",
            r#"
[tunnel.t]
remote = "vpn.example.test"
local_id = "me.example.test"
psk = "a-long-enough-pre-shared-key-for-tests"
local_ts = "203.0.113.0/24"
remote_ts = "198.51.100.0/24"
"#,
            &yadokari_config::LoadOptions {
                base_dir: "/nonexistent".into(),
            },
        )
        .unwrap();
        assert_eq!(
            names(&c).into_iter().collect::<Vec<_>>(),
            ["vpn.example.test"]
        );
    }
}
