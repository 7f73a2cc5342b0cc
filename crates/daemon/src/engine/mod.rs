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

mod commands;
mod names;
mod reload;
mod status;

use commands::{WaitFor, Waiter};
use reload::same_addresses;
use status::nat_words;

/// How long `down` waits for the peer to acknowledge the Delete.
const DOWN_WAIT: Duration = Duration::from_secs(1);

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
}
