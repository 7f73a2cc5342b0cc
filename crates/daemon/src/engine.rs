//! The engine: the one owner of protocol state. It holds the configuration
//! and (once wired) the IKE endpoint and the data plane, answers control
//! requests, and turns IKE events into SA installs.

use std::path::PathBuf;
use std::time::Instant;

use yadokari_config::{Config, Policy};
use yadokari_control::{ConnectionStatus, ReloadReport, Request, Response, Status};

pub struct Engine {
    config_path: PathBuf,
    config: Config,
    started: Instant,
}

impl Engine {
    pub async fn start(config_path: PathBuf, config: Config) -> anyhow::Result<Engine> {
        Ok(Engine {
            config_path,
            config,
            started: Instant::now(),
        })
    }

    /// Waits for the next protocol input and processes it.
    pub async fn drive(&mut self) -> anyhow::Result<()> {
        std::future::pending().await
    }

    pub async fn handle(&mut self, request: Request) -> Response {
        match request {
            Request::Status => Response::Status(self.status()),
            Request::ListSas => Response::Sas {
                ike_sas: Vec::new(),
            },
            Request::Up { name } | Request::Down { name }
                if !self.config.policies.contains_key(&name) =>
            {
                Response::Error {
                    error: format!("no connection named `{name}`"),
                }
            }
            Request::Up { name } | Request::Down { name } => Response::Error {
                error: format!("connection `{name}`: this build has no IKE engine"),
            },
            Request::Reload => match yadokari_config::load_file(&self.config_path) {
                Ok(new) => Response::Reloaded(self.apply(new)),
                Err(d) => Response::Error {
                    error: format!("configuration not reloaded:\n{d}"),
                },
            },
            Request::Logs { .. } => Response::Error {
                error: "logs are served by the control socket".into(),
            },
        }
    }

    pub async fn reload(&mut self) -> Result<ReloadReport, String> {
        match yadokari_config::load_file(&self.config_path) {
            Ok(new) => Ok(self.apply(new)),
            Err(d) => {
                crate::internal_warn!("configuration not reloaded:\n{d}");
                Err(d.to_string())
            }
        }
    }

    fn apply(&mut self, new: Config) -> ReloadReport {
        let report = diff(&self.config, &new);
        self.config = new;
        report
    }

    pub async fn shutdown(&mut self) {}

    fn status(&self) -> Status {
        Status {
            version: env!("CARGO_PKG_VERSION").into(),
            pid: std::process::id(),
            uptime_secs: self.started.elapsed().as_secs(),
            config_file: self.config_path.display().to_string(),
            ike_sas: 0,
            child_sas: 0,
            connections: self
                .config
                .policies
                .iter()
                .filter_map(|(name, p)| match p {
                    Policy::Protect { remote, .. } => Some(ConnectionStatus {
                        name: name.clone(),
                        state: "down".into(),
                        remote: self
                            .config
                            .remotes
                            .get(remote)
                            .map(|r| r.address.to_string())
                            .unwrap_or_default(),
                    }),
                    _ => None,
                })
                .collect(),
        }
    }
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

fn bundle(c: &Config, policy: &str) -> String {
    let p = &c.policies[policy];
    let mut s = format!("{p:?}");
    if let Policy::Protect { remote, ipsec } = p {
        s += &format!("{:?}", c.remotes.get(remote));
        if let Some(i) = c.ipsec.get(ipsec) {
            s += &format!("{i:?}");
            for sa in &i.sa {
                s += &format!("{:?}", c.sa.get(sa));
            }
        }
    }
    for (name, sel) in c.selectors.iter().filter(|(_, s)| s.policy == policy) {
        s += &format!("{name}{sel:?}");
    }
    s
}
