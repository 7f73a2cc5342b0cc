//! The engine: the one owner of protocol state.
//!
//! It holds the IKE endpoint (sans-IO) and the ESP data plane, feeds the
//! endpoint every IKE datagram as it came off the wire (port 500 from our
//! own sockets, port 4500 from the data plane, which owns that socket and
//! queues what carries the non-ESP marker straight to us), timer ticks,
//! data-plane reports (traffic seen, rekey needed: by inbound SPI) and
//! operator commands; sends what it transmits, from one reused buffer and
//! unchanged (the endpoint frames the marker); and turns its events into SA
//! installs, whose keys move on into the data plane. Nothing else touches
//! that state, so nothing locks it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{mpsc, oneshot};
use yadokari_config::Config;
use yadokari_control::{ConnectionStatus, ReloadReport, Request, Response, Status};
use yadokari_ike::{self as ike, Command, ConnId, Event, IkeEndpoint, Path};

use crate::net::{Input, Net};
use crate::translate::{self, Connection};
use crate::{dns, routes, sa_install, sas_view};

/// How long `down` waits for the peer to acknowledge the Delete.
const DOWN_WAIT: Duration = Duration::from_secs(1);

/// An operator request that is answered later (once the SA is up or gone).
struct Waiter {
    conn: ConnId,
    kind: WaitFor,
    reply: oneshot::Sender<Response>,
    deadline: Instant,
}

#[derive(PartialEq, Eq)]
enum WaitFor {
    ChildUp,
    AllDown,
}

pub struct Engine {
    config_path: PathBuf,
    config: Config,
    conns: Vec<Connection>,
    started: Instant,
    ike: IkeEndpoint,
    net: Net,
    inputs: mpsc::Receiver<Input>,
    /// Data-plane events (a queue apart from IKE's, so neither fills the
    /// other's).
    dp_events: mpsc::Receiver<Input>,
    /// The one buffer every outgoing IKE datagram is written into.
    tx_buf: Vec<u8>,
    waiters: Vec<Waiter>,
    /// When each IKE and CHILD SA came up, for `list-sas`.
    pub(crate) ike_since: HashMap<ike::IkeSaId, Instant>,
    pub(crate) child_since: HashMap<u32, Instant>,
    /// `daemon.ike_pcap`, when configured and writable.
    ike_pcap: Option<crate::ike_pcap::IkePcap>,
    /// Host names of the configuration, their addresses and TTLs.
    dns: dns::Names,
    resolver: Option<dns::Resolver>,
    dns_tx: mpsc::Sender<DnsResults>,
    dns_rx: mpsc::Receiver<DnsResults>,
    /// A lookup task is running.
    dns_pending: bool,
    /// Applies route changes after start-up, off the event loop.
    routes: routes::Syncer,
}

type DnsResults = Vec<(String, anyhow::Result<dns::Answer>)>;

impl Engine {
    pub async fn start(config_path: PathBuf, config: Config) -> anyhow::Result<Engine> {
        let ike_port = config.daemon.ike_port;
        let mut names = dns::Names::default();
        let wanted: Vec<String> = dns::names(&config).into_iter().collect();
        let resolver = if wanted.is_empty() {
            None
        } else {
            match dns::Resolver::system() {
                Ok(r) => {
                    let results = r.lookup_all(wanted).await;
                    for (name, _, ip) in names.update(Instant::now(), results) {
                        tracing::info!(%name, address = %ip, "host name resolved");
                    }
                    Some(r)
                }
                Err(e) => {
                    crate::internal_warn!(
                        "no DNS resolver ({e:#}): host names are resolved once, without TTLs"
                    );
                    None
                }
            }
        };
        let conns = translate::connections(&config, ike_port, &names.addresses())?;
        let mut ike_cfg = ike::Config {
            connections: conns.iter().map(|c| c.conn.clone()).collect(),
            ike_port,
            natt_port: config.daemon.nat_port,
            retransmit: ike::RetransmitConfig {
                total: config.daemon.retransmit_timeout,
                // Enough tries that the total time, not the count, ends them.
                tries: 16,
                ..ike::RetransmitConfig::default()
            },
            trace_messages: config.daemon.ike_pcap.is_some(),
            ..ike::Config::default()
        };
        translate::admission(&config.daemon, &mut ike_cfg);
        let ike_pcap = match &config.daemon.ike_pcap {
            Some(p) => Some(
                crate::ike_pcap::IkePcap::create(p)
                    .with_context(|| format!("cannot create the IKE pcap {}", p.display()))?,
            ),
            None => None,
        };
        let rng = ike::Rng::new(Box::new(yadokari_crypto::rand::SystemRandom));
        let endpoint = IkeEndpoint::new(ike_cfg, rng);
        let (tx, inputs) = mpsc::channel(1024);
        let (dp_tx, dp_events) = mpsc::channel(1024);
        let (dns_tx, dns_rx) = mpsc::channel(4);
        let net = Net::open(&config, &conns, tx, dp_tx)
            .await
            .context("cannot set up the network side")?;
        let routes = routes::Syncer::start(net.ip.clone(), net.tun_name.clone())
            .context("cannot start the route thread")?;
        let mut engine = Engine {
            config_path,
            config,
            conns,
            started: Instant::now(),
            ike: endpoint,
            net,
            inputs,
            dp_events,
            tx_buf: Vec::with_capacity(2048),
            waiters: Vec::new(),
            ike_since: HashMap::new(),
            child_since: HashMap::new(),
            ike_pcap,
            dns: names,
            resolver,
            dns_tx,
            dns_rx,
            dns_pending: false,
            routes,
        };
        // Before the first negotiation: from now on protected traffic goes
        // into the TUN (or is dropped), never out in clear; whatever a
        // previous run left is replaced or removed.
        let plain = translate::plain_policies(&engine.config, &engine.dns.addresses())?;
        let wanted = routes::wanted(&engine.conns, &plain);
        routes::apply(&engine.net.ip, &engine.net.tun_name, &wanted)?;
        let now = Instant::now();
        for (i, c) in engine.conns.iter().enumerate() {
            if c.start == yadokari_config::StartAction::Initiate {
                tracing::info!(conn = %c.name, "initiating");
                engine
                    .ike
                    .handle_command(now, Command::Initiate { conn: ConnId(i) });
            }
        }
        engine.flush().await;
        Ok(engine)
    }

    /// Waits for the next input (a datagram, a data-plane event, a timer)
    /// and processes it. Cancel-safe: nothing is lost if another branch of
    /// the caller's `select!` wins.
    pub async fn drive(&mut self) -> anyhow::Result<()> {
        let refresh = match (&self.resolver, self.dns_pending) {
            (Some(_), false) => self.dns.next_refresh(),
            _ => None,
        };
        let deadline = [
            self.ike.poll_timeout(),
            self.waiters.iter().map(|w| w.deadline).min(),
            refresh,
        ]
        .into_iter()
        .flatten()
        .min();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        // Unbiased: under a flood of IKE input, timers (retransmissions,
        // DPD, rekeys) and data-plane reports still get their turn.
        let input = tokio::select! {
            i = self.inputs.recv() => i,
            Some(e) = self.dp_events.recv() => Some(e),
            Some(r) = self.dns_rx.recv() => {
                self.dns_pending = false;
                self.on_resolved(r).await;
                return Ok(());
            }
            _ = sleep => None,
        };
        let now = Instant::now();
        self.refresh_names(now);
        match input {
            Some(Input::Ike {
                from,
                local,
                payload,
            }) => {
                let local = SocketAddr::new(
                    local.unwrap_or_else(|| self.net.local_ip_for(from.ip())),
                    self.net.natt_port(),
                );
                self.ike
                    .handle_datagram(now, Path::new(local, from), &payload);
            }
            Some(Input::Ike500 {
                from,
                local,
                payload,
            }) => {
                // A wildcard socket does not know which of our addresses was
                // used; the route back to the sender does (cached).
                let local = match local.ip().is_unspecified() {
                    true => SocketAddr::new(self.net.local_ip_for(from.ip()), local.port()),
                    false => local,
                };
                self.ike
                    .handle_datagram(now, Path::new(local, from), &payload);
            }
            Some(Input::Acquire { dst }) => self.acquire(now, dst),
            // The time the packet arrived, not now: the DPD timer counts
            // from there (RFC 7296 §2.4).
            Some(Input::Traffic { spi, at }) => self.ike.child_traffic_seen(at.min(now), spi),
            Some(Input::Rekey { spi_in }) => self.ike.child_rekey_needed(now, spi_in),
            None => self.ike.handle_timeout(now),
        }
        self.expire_waiters(now);
        self.flush().await;
        Ok(())
    }

    /// Starts a lookup of the names whose TTL ran out (on a task: the
    /// engine keeps serving IKE meanwhile).
    fn refresh_names(&mut self, now: Instant) {
        let Some(r) = &self.resolver else {
            return;
        };
        if self.dns_pending {
            return;
        }
        let due = self.dns.due(now);
        if due.is_empty() {
            return;
        }
        self.dns_pending = true;
        let (r, tx) = (r.clone(), self.dns_tx.clone());
        tokio::spawn(async move {
            let _ = tx.send(r.lookup_all(due).await).await;
        });
    }

    /// New answers: connections whose addresses changed are rebuilt as a
    /// reload rebuilds changed ones (their SAs go, and they start again if
    /// they initiate); the others keep their SAs.
    async fn on_resolved(&mut self, results: DnsResults) {
        let now = Instant::now();
        let changed = self.dns.update(now, results);
        if changed.is_empty() {
            return;
        }
        for (name, old, new) in &changed {
            tracing::info!(%name, old = %old.map_or("none".into(), |a| a.to_string()), %new, "host name now resolves to another address");
        }
        let conns = match translate::connections(
            &self.config,
            self.config.daemon.ike_port,
            &self.dns.addresses(),
        ) {
            Ok(c) => c,
            Err(e) => {
                crate::internal_warn!("addresses not updated: {e:#}");
                return;
            }
        };
        let moved: Vec<String> = conns
            .iter()
            .filter(|n| {
                self.conns
                    .iter()
                    .find(|c| c.name == n.name && !c.retired)
                    .is_some_and(|c| !same_addresses(&c.conn, &n.conn))
            })
            .map(|n| n.name.clone())
            .collect();
        let report = ReloadReport {
            added: Vec::new(),
            removed: Vec::new(),
            changed: moved,
            unchanged: Vec::new(),
        };
        let config = self.config.clone();
        if let Err(e) = self.apply(config, conns, &report).await {
            crate::internal_warn!("addresses not updated: {e}");
            return;
        }
        tracing::info!(changed = %report.changed.join(", "), "connections follow the new addresses");
    }

    /// Traffic with no SA: start the connection whose remote selectors cover
    /// it, if it is configured to start on demand (racoon2's ACQUIRE). The
    /// core ignores it while an attempt runs or its back-off lasts.
    fn acquire(&mut self, now: Instant, dst: IpAddr) {
        for (i, c) in self.conns.iter().enumerate() {
            let covers = c
                .conn
                .children
                .iter()
                .any(|ch| ch.ts_remote.iter().any(|t| t.addrs.contains_addr(dst)));
            // `dpd_action = "hold"`: a dead peer's connection comes back
            // when traffic needs it, as an on-demand one does.
            let on_traffic = c.start == yadokari_config::StartAction::OnDemand
                || c.conn.dpd_action == ike::DpdAction::Hold;
            if covers && on_traffic {
                let before = self.ike.ike_sas().len();
                self.ike
                    .handle_command(now, Command::Acquire { conn: ConnId(i) });
                if self.ike.ike_sas().len() > before {
                    tracing::info!(conn = %c.name, %dst, "traffic needs the tunnel: initiating");
                }
            }
        }
    }

    /// Has the policy routes of the current configuration put in place
    /// (protect into the TUN, bypass and discard, stale ones removed) by
    /// the route thread; the event loop does not wait for `ip`.
    fn sync_routes(&mut self) -> anyhow::Result<()> {
        let plain = translate::plain_policies(&self.config, &self.dns.addresses())?;
        self.routes.submit(routes::wanted(&self.conns, &plain));
        Ok(())
    }

    /// Sends what the endpoint wants sent and applies its events.
    ///
    /// Events first: a CREATE_CHILD_SA response or IKE_AUTH response lets
    /// the peer send on the new SA at once, so the new inbound SA must be
    /// on its way to the data plane before that message leaves; the other
    /// order loses the peer's first packets as "unknown SPI".
    async fn flush(&mut self) {
        while let Some(ev) = self.ike.poll_event() {
            self.on_event(ev);
        }
        while let Some(path) = self.ike.poll_transmit_into(&mut self.tx_buf) {
            if let Err(e) = self.net.send(path, &self.tx_buf).await {
                crate::internal_warn!(to = %path.remote, "cannot send IKE message: {e}");
            }
        }
        // Handling events may have produced more (a command's answer).
        while let Some(ev) = self.ike.poll_event() {
            self.on_event(ev);
        }
    }

    fn conn_name(&self, id: ConnId) -> &str {
        self.conns.get(id.0).map_or("?", |c| c.name.as_str())
    }

    fn on_event(&mut self, ev: Event) {
        let now = Instant::now();
        match ev {
            Event::IkeSaUp {
                ike,
                conn,
                spi_i,
                spi_r,
                path,
            } => {
                tracing::info!(conn = %self.conn_name(conn), ispi = %format!("{spi_i:016x}"), rspi = %format!("{spi_r:016x}"), remote = %path.remote, "IKE SA established");
                self.ike_since.insert(ike, now);
            }
            Event::IkeSaRekeyed {
                old,
                new,
                spi_i,
                spi_r,
            } => {
                tracing::info!(ispi = %format!("{spi_i:016x}"), rspi = %format!("{spi_r:016x}"), "IKE SA rekeyed");
                self.ike_since.remove(&old);
                self.ike_since.insert(new, now);
            }
            Event::IkeSaDown { ike, conn, reason } => {
                tracing::info!(conn = %self.conn_name(conn), "IKE SA down: {reason}");
                self.ike_since.remove(&ike);
                self.answer(conn, WaitFor::ChildUp, |_| Response::Error {
                    error: format!("the IKE SA went down: {reason}"),
                });
                if !self.ike.ike_sas().iter().any(|s| s.conn == conn) {
                    let name = self.conn_name(conn).to_owned();
                    self.answer(conn, WaitFor::AllDown, |_| Response::Done {
                        message: format!("connection `{name}` is down"),
                    });
                }
            }
            Event::ChildSaInstalled { info, keys } => {
                let conn = info.conn;
                let name = self.conn_name(conn).to_owned();
                tracing::info!(conn = %name, spi_in = %format!("{:08x}", info.spi_in), spi_out = %format!("{:08x}", info.spi_out), "CHILD SA installed");
                self.child_since.insert(info.spi_in, now);
                if let Err(e) = sa_install::install(&self.net, &info, keys, None) {
                    crate::internal_error!(conn = %name, "cannot install the CHILD SA: {e:#}");
                }
                self.answer(conn, WaitFor::ChildUp, |_| Response::Done {
                    message: format!("connection `{name}` is up"),
                });
            }
            Event::ChildSaReplaced {
                old_spi_in,
                old_spi_out,
                new,
                keys,
                responder,
            } => {
                tracing::info!(old_spi_in = %format!("{old_spi_in:08x}"), old_spi_out = %format!("{old_spi_out:08x}"), spi_in = %format!("{:08x}", new.spi_in), spi_out = %format!("{:08x}", new.spi_out), "CHILD SA rekeyed");
                self.child_since.insert(new.spi_in, now);
                let standby = responder.then_some(old_spi_out);
                if let Err(e) = sa_install::install(&self.net, &new, keys, standby) {
                    crate::internal_error!("cannot install the rekeyed CHILD SA: {e:#}");
                }
            }
            Event::ChildSaRemoved {
                spi_in,
                spi_out,
                reason,
                ..
            } => {
                tracing::info!(spi_in = %format!("{spi_in:08x}"), spi_out = %format!("{spi_out:08x}"), "CHILD SA removed: {reason}");
                self.child_since.remove(&spi_in);
                sa_install::remove(&self.net, spi_in, spi_out);
            }
            Event::NatDetected {
                local_behind_nat,
                remote_behind_nat,
                forced_by_config,
                path,
                ..
            } => {
                let why = nat_words(local_behind_nat, remote_behind_nat, forced_by_config);
                tracing::info!(remote = %path.remote, "{why}: using UDP encapsulation on port {}", path.local.port());
            }
            Event::MessageTrace {
                outbound,
                path,
                message,
            } => {
                if let Some(w) = &mut self.ike_pcap {
                    let t = std::time::SystemTime::now();
                    if let Err(e) = w.write(t, outbound, path.local, path.remote, &message) {
                        crate::internal_warn!("IKE pcap disabled: cannot write: {e}");
                        self.ike_pcap = None;
                    }
                }
            }
            Event::Failure { conn, reason, .. } => {
                crate::proto_error!(
                    conn = %conn.map_or("-", |c| self.conn_name(c)),
                    "negotiation failed: {reason}"
                );
                if let Some(conn) = conn {
                    self.answer(conn, WaitFor::ChildUp, |_| Response::Error {
                        error: format!("negotiation failed: {reason}"),
                    });
                }
            }
        }
    }

    fn answer(&mut self, conn: ConnId, kind: WaitFor, make: impl Fn(&Waiter) -> Response) {
        let mut keep = Vec::new();
        for w in self.waiters.drain(..) {
            if w.conn == conn && w.kind == kind {
                let r = make(&w);
                let _ = w.reply.send(r);
            } else {
                keep.push(w);
            }
        }
        self.waiters = keep;
    }

    fn expire_waiters(&mut self, now: Instant) {
        let (done, keep): (Vec<_>, Vec<_>) =
            self.waiters.drain(..).partition(|w| w.deadline <= now);
        self.waiters = keep;
        for w in done {
            let r = match w.kind {
                // Down already: only the peer's acknowledgement is missing.
                WaitFor::AllDown => Response::Done {
                    message: format!(
                        "connection `{}` is down (the peer has not acknowledged the Delete)",
                        self.conn_name(w.conn)
                    ),
                },
                WaitFor::ChildUp => Response::Error {
                    error: "timed out waiting for the peer".into(),
                },
            };
            let _ = w.reply.send(r);
        }
    }

    fn conn_id(&self, name: &str) -> Option<ConnId> {
        self.conns
            .iter()
            .position(|c| c.name == name && !c.retired)
            .map(ConnId)
    }

    /// Answers a control request now, or registers it to be answered when
    /// the SAs it waits for are up or gone.
    pub async fn handle(&mut self, request: Request, reply: oneshot::Sender<Response>) {
        let now = Instant::now();
        let response = match request {
            Request::Status => Response::Status(self.status()),
            Request::ListSas => Response::Sas {
                ike_sas: sas_view::list(self, now),
            },
            Request::Up { name } => match self.conn_id(&name) {
                None => Response::Error {
                    error: format!("no connection named `{name}`"),
                },
                Some(conn) => {
                    if self.ike.child_sas().any(|c| c.conn == conn) {
                        Response::Done {
                            message: format!("connection `{name}` is already up"),
                        }
                    } else {
                        // Whatever state it is in (an attempt retransmitting
                        // to a dead peer, waiting out a back-off, an IKE SA
                        // without CHILD SA): start over, now.
                        self.ike.handle_command(now, Command::Close { conn });
                        self.ike.handle_command(now, Command::Initiate { conn });
                        self.waiters.push(Waiter {
                            conn,
                            kind: WaitFor::ChildUp,
                            reply,
                            deadline: now + translate::UP_TIMEOUT,
                        });
                        self.flush().await;
                        return;
                    }
                }
            },
            Request::Down { name } => match self.conn_id(&name) {
                None => Response::Error {
                    error: format!("no connection named `{name}`"),
                },
                Some(conn) => {
                    let had = self.ike.ike_sas().iter().any(|s| s.conn == conn);
                    // Stops retries too, SAs or not. The CHILD SAs go at
                    // once; the Delete to the peer goes on in the
                    // background, answered or not.
                    self.ike.handle_command(now, Command::Close { conn });
                    self.flush().await;
                    self.answer(conn, WaitFor::ChildUp, |_| Response::Error {
                        error: format!("connection `{name}` was taken down"),
                    });
                    if !had {
                        Response::Done {
                            message: format!("connection `{name}` is not up"),
                        }
                    } else if !self.ike.ike_sas().iter().any(|s| s.conn == conn) {
                        Response::Done {
                            message: format!("connection `{name}` is down"),
                        }
                    } else {
                        // A live peer acknowledges within a round trip;
                        // a dead one must not hold the operator up.
                        self.waiters.push(Waiter {
                            conn,
                            kind: WaitFor::AllDown,
                            reply,
                            deadline: now + DOWN_WAIT,
                        });
                        return;
                    }
                }
            },
            Request::Reload => match self.reload().await {
                Ok(r) => Response::Reloaded(r),
                Err(e) => Response::Error { error: e },
            },
            Request::Logs { .. } => Response::Error {
                error: "logs are served by the control socket".into(),
            },
        };
        let _ = reply.send(response);
    }

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
    async fn apply(
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

    /// Deletes every SA with its peer (bounded wait), removes routes.
    pub async fn shutdown(&mut self) {
        self.ike.handle_command(Instant::now(), Command::Terminate);
        self.flush().await;
        let deadline = Instant::now() + Duration::from_secs(3);
        while !self.ike.ike_sas().is_empty() && Instant::now() < deadline {
            let _ = tokio::time::timeout(Duration::from_millis(200), self.drive()).await;
        }
        for c in self.ike.child_sas() {
            sa_install::remove(&self.net, c.spi_in, c.spi_out);
        }
        // A clean unload: the policies go with the daemon, after any
        // change still queued (which would otherwise put them back).
        self.routes.finish();
        routes::remove_all(&self.net.ip);
        self.net.shutdown();
    }

    pub(crate) fn endpoint(&self) -> &IkeEndpoint {
        &self.ike
    }

    pub(crate) fn connection(&self, id: ConnId) -> Option<&Connection> {
        self.conns.get(id.0)
    }

    pub(crate) fn network(&self) -> &Net {
        &self.net
    }

    fn status(&self) -> Status {
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

/// Why IKE and ESP moved to the NAT-T port, in words: a NAT found by
/// RFC 7296 §2.23 detection, or `encap = true` forcing it (RFC 3948) when
/// there is none. Forcing makes the peer see us "behind a NAT", and a peer
/// that forces too looks to us as if it were behind one.
fn nat_words(local: bool, remote: bool, forced: bool) -> &'static str {
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
fn describe(e: &ike::LastError) -> String {
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

/// Which connections a reload adds, removes, changes or leaves alone. A
/// connection is everything one protect policy pulls in: its remote, its
/// ipsec and sa templates, and the selectors that name it.
/// Whether two versions of a connection name the same addresses and
/// selectors (what a DNS change can alter).
fn same_addresses(a: &ike::ConnConfig, b: &ike::ConnConfig) -> bool {
    a.remote_addr == b.remote_addr
        && a.local_addr == b.local_addr
        && a.children.len() == b.children.len()
        && a.children
            .iter()
            .zip(&b.children)
            .all(|(x, y)| x.ts_local == y.ts_local && x.ts_remote == y.ts_remote)
}

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
struct Bundle<'c> {
    policy: &'c yadokari_config::Policy,
    remote: Option<&'c yadokari_config::Remote>,
    ipsec: Option<&'c yadokari_config::IpsecTemplate>,
    sa: Vec<Option<&'c yadokari_config::SaTemplate>>,
    selectors: Vec<(&'c String, &'c yadokari_config::Selector)>,
}

fn bundle<'c>(c: &'c Config, policy: &str) -> Bundle<'c> {
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
    fn a_changed_secret_is_a_change() {
        let old = load("first-long-enough-pre-shared-key", "198.51.100.0/25");
        let new = load("second-long-enough-pre-shared-key", "198.51.100.0/25");
        let r = diff(&old, &new);
        assert_eq!(r.changed, vec!["a".to_string()]);
        assert_eq!(r.unchanged, vec!["b".to_string()]);
    }

    #[test]
    fn a_changed_selector_is_a_change() {
        let old = load("first-long-enough-pre-shared-key", "198.51.100.0/25");
        let new = load("first-long-enough-pre-shared-key", "198.51.100.0/26");
        assert_eq!(diff(&old, &new).changed, vec!["a".to_string()]);
        assert!(diff(&old, &old).changed.is_empty());
    }
}
