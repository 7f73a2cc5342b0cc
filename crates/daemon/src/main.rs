//! `yadokarid`: the yadokari daemon.
//!
//! One process, one configuration file. It runs in the foreground and logs
//! to stderr (so systemd and journald need nothing special), serves the
//! control API on a Unix socket, reloads on SIGHUP or `yadokari reload`, and
//! on SIGTERM deletes its SAs with the peers before it exits.
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
    if args.cleanup {
        let n = routes::remove_all(&yadokari_sys::netcfg::IpTool::current());
        println!(
            "removed {n} route(s) and rule(s) of routing table {}",
            routes::TABLE
        );
        return ExitCode::SUCCESS;
    }
    let config = match yadokari_config::load_file(&args.config) {
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
    tokio::spawn(control::serve(listener, calls_tx, hub));

    let mut engine = match engine::Engine::start(args.config.clone(), config).await {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&socket);
            return Err(e);
        }
    };
    tracing::info!(socket = %socket.display(), "yadokarid {} running", env!("CARGO_PKG_VERSION"));

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
