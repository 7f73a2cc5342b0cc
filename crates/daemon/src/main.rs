//! `yadokarid`: the yadokari daemon.
//!
//! One process, one configuration file. It runs in the foreground and logs
//! to stderr (so systemd and journald need nothing special), serves the
//! control API on a Unix socket, reloads on SIGHUP or `yadokari reload`, and
//! on SIGTERM deletes its SAs with the peers before it exits.
//!
//! Privileges (a first step towards privilege separation): before anything
//! else the process stops being dumpable (no core file can carry a key),
//! sets no-new-privileges and keeps only the capabilities start-up needs;
//! once the sockets, the TUN device and the control socket exist it keeps
//! CAP_NET_ADMIN (routes and rules through `ip`, SO_MARK, socket buffers)
//! and CAP_NET_RAW (raw ESP sockets, opened with the first plain-ESP SA)
//! on the main thread only. Every other thread holds no capability at all.
#![forbid(unsafe_code)]

mod control;
mod dns;
mod engine;
mod ike_pcap;
mod logging;
mod net;
mod routes;
mod sa_install;
mod sas_view;
mod translate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use yadokari_sys::privs::{self, Cap};

/// The yadokari IKEv2/IPsec daemon.
///
/// Runs in the foreground, logs to stderr, and is controlled with `yadokari`
/// over a Unix socket. Several instances can run on one machine (one per
/// network namespace), each with its own --socket and --state-dir.
#[derive(Parser, Debug)]
#[command(name = "yadokarid", version, about, long_about)]
struct Args {
    /// Configuration file.
    #[arg(
        short,
        long,
        value_name = "FILE",
        default_value = "/etc/yadokari/yadokari.toml"
    )]
    config: PathBuf,
    /// Validate the configuration, print every error with file:line:col, and exit
    /// (status 0 if it is valid, 1 if not).
    #[arg(long)]
    check: bool,
    /// Remove the policy routes and rules a yadokarid left in this network
    /// namespace (after a crash or kill -9 they keep protected traffic
    /// blocked on purpose), then exit. Needs no configuration.
    #[arg(long, conflicts_with = "check")]
    cleanup: bool,
    /// Control socket (overrides `daemon.control_socket`).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Directory for runtime state (overrides `daemon.state_dir`).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `info,yadokari::protocol=debug`
    /// (overrides `daemon.log_level`; the RUST_LOG syntax).
    #[arg(long, value_name = "FILTER")]
    log: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Before the configuration (and so the keys) is read, and before any
    // thread exists, so every thread inherits it.
    if let Err(e) = harden_start() {
        eprintln!("yadokarid: cannot restrict the process's privileges: {e}");
        return ExitCode::from(2);
    }
    if args.cleanup {
        let n = routes::remove_all(&yadokari_sys::netcfg::IpTool::current());
        println!(
            "removed {n} route(s) and rule(s) of routing table {}",
            routes::TABLE
        );
        return ExitCode::SUCCESS;
    }
    let config = match yadokari_config::load_file(&args.config).and_then(|c| {
        // What the text alone cannot tell: checked here so that --check
        // fails on what would fail at start.
        let found = system_checks(&args.config, &c);
        if found.is_empty() {
            Ok(c)
        } else {
            Err(yadokari_config::Diagnostics(found))
        }
    }) {
        Ok(c) => c,
        Err(diags) => {
            eprintln!("{diags}");
            eprintln!(
                "yadokarid: {} error(s) in {}",
                diags.0.len(),
                args.config.display()
            );
            return ExitCode::from(1);
        }
    };
    if args.check {
        for w in &config.warnings {
            println!("{w}");
        }
        println!(
            "{}: configuration is valid ({} connection(s))",
            args.config.display(),
            config.policies.len()
        );
        return ExitCode::SUCCESS;
    }
    let hub = logging::LogHub::default();
    let filter = args
        .log
        .clone()
        .unwrap_or_else(|| format!("{:?}", config.daemon.log_level).to_lowercase());
    if let Err(e) = logging::init(&filter, hub.clone()) {
        eprintln!("yadokarid: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Blocking-pool threads (name lookups) need no privilege.
        .on_thread_start(|| {
            let _ = privs::clear_thread_capabilities();
        })
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("yadokarid: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args, config, hub)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            critical!("{e:#}");
            eprintln!("yadokarid: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Checks against the running system, each located in the file: the
/// control socket's group must exist (the socket is chowned to it at start).
fn system_checks(
    path: &std::path::Path,
    config: &yadokari_config::Config,
) -> Vec<yadokari_config::Diagnostic> {
    let mut found = Vec::new();
    if let Some(group) = &config.daemon.control_group {
        let exists = match nix::unistd::Group::from_name(group) {
            Ok(g) => g.is_some(),
            // Cannot tell (NSS failure): leave it to the start to report.
            Err(_) => true,
        };
        if !exists {
            found.push(yadokari_config::locate_key(
                path,
                &["daemon", "control_group"],
                format!("no such group `{group}` (daemon.control_group)"),
                Some("create it (groupadd) or name an existing group".into()),
            ));
        }
    }
    found
}

async fn run(
    args: Args,
    config: yadokari_config::Config,
    hub: logging::LogHub,
) -> anyhow::Result<()> {
    // Before anything is visible from outside (the control socket), so a
    // SIGTERM that comes early still means a clean shutdown.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let socket = control::socket_path(args.socket.as_deref(), &config);
    let state_dir = args
        .state_dir
        .clone()
        .unwrap_or_else(|| config.daemon.state_dir.clone());
    std::fs::create_dir_all(&state_dir).map_err(|e| {
        anyhow::anyhow!("cannot create state directory {}: {e}", state_dir.display())
    })?;
    let listener = control::bind(&socket, config.daemon.control_group.as_deref()).await?;
    let (calls_tx, calls_rx) = mpsc::channel(64);
    let limits = control_limits(&config);
    tokio::spawn(control::serve(listener, calls_tx, hub, limits));

    let config_warnings = config.warnings.clone();
    let mut engine = match engine::Engine::start(args.config.clone(), config).await {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&socket);
            return Err(e);
        }
    };
    // Start-up is over: what binding port 500 and chown needed goes.
    privs::limit_capabilities(RUN_CAPS)
        .map_err(|e| anyhow::anyhow!("cannot drop capabilities after start-up: {e}"))?;
    // This thread parses unauthenticated IKE; the data-plane workers,
    // started above at nice 0, get the larger share of a contended CPU.
    if let Err(e) = privs::set_thread_nice(net::IKE_NICE) {
        tracing::debug!("cannot lower the engine thread's priority: {e}");
    }
    tracing::info!(socket = %socket.display(), "yadokarid {} running", env!("CARGO_PKG_VERSION"));
    for w in &config_warnings {
        tracing::warn!("{w}");
    }
    tracing::debug!(
        "privileges: CAP_NET_ADMIN and CAP_NET_RAW kept, no new privileges, not dumpable, \
         at most {} control clients",
        limits.max_clients
    );

    let mut calls_rx = calls_rx;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                // Errors are logged by `reload` itself; the old configuration stays.
                let _ = engine.reload().await;
            }
            Some(call) = calls_rx.recv() => {
                engine.handle(call.request, call.reply).await;
            }
            r = engine.drive() => r?,
        }
    }
    tracing::info!("shutting down: deleting SAs with the peers");
    engine.shutdown().await;
    let _ = std::fs::remove_file(&socket);
    Ok(())
}

/// What the running daemon keeps: routes, rules, SO_MARK and forced socket
/// buffers (CAP_NET_ADMIN; also for the `ip` it runs), raw ESP sockets
/// (CAP_NET_RAW).
const RUN_CAPS: &[Cap] = &[Cap::NET_ADMIN, Cap::NET_RAW];

/// What start-up needs on top: port 500 (CAP_NET_BIND_SERVICE), the control
/// socket's group (CAP_CHOWN), and CAP_SETPCAP to shrink the bounding set
/// when [`RUN_CAPS`] are taken.
const START_CAPS: &[Cap] = &[
    Cap::NET_ADMIN,
    Cap::NET_RAW,
    Cap::NET_BIND_SERVICE,
    Cap::CHOWN,
    Cap::SETPCAP,
];

/// File descriptors kept away from control clients: sockets, TUN queues,
/// raw sockets, the pcap, `ip`'s pipes, name lookups.
const FD_RESERVE: u64 = 512;

/// Not dumpable, no new privileges, [`START_CAPS`] only, more descriptors.
fn harden_start() -> std::io::Result<()> {
    privs::set_dumpable(false)?;
    privs::set_no_new_privs()?;
    privs::limit_capabilities(START_CAPS)?;
    // The usual soft limit of 1,024 is low for a VPN gateway; the hard one
    // is what the administrator allows.
    let _ = privs::raise_nofile_limit();
    Ok(())
}

/// The control socket's limits, the client cap lowered if the descriptor
/// limit would not leave [`FD_RESERVE`] for everything else.
fn control_limits(config: &yadokari_config::Config) -> control::Limits {
    let mut max = config.daemon.control_clients;
    if let Ok((soft, _)) = privs::raise_nofile_limit() {
        let room = usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
        if room < max {
            tracing::warn!(
                "the open-file limit ({soft}) leaves room for {} control clients only",
                room.max(1)
            );
            max = room.max(1);
        }
    }
    control::Limits {
        max_clients: max,
        idle: config.daemon.control_idle_timeout,
    }
}
