//! The command line: clap definitions and the dispatch of each subcommand.
//!
//! Exit status: 0 on success, 2 when an input cannot be used (missing or
//! unreadable file, not a capture, a damaged capture, a bad key table) or
//! the command line is wrong, 1 when writing the output fails.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::keys::KeyTable;
use crate::output::{write_json, write_table};

/// yadokari: an IKEv2/IPsec VPN. This tool controls a running `yadokarid`
/// over its control socket, and inspects IKE captures.
#[derive(Debug, Parser)]
#[command(
    name = "yadokari",
    version,
    propagate_version = true,
    after_help = "Exit status: 0 on success; 1 when the daemon reports an error or the output \
                  cannot be written; 2 for unusable input (bad command line, capture or key \
                  table); 3 when the daemon cannot be reached."
)]
pub struct Cli {
    /// The daemon's control socket.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "YADOKARI_SOCKET",
        default_value = "/run/yadokari/yadokari.sock"
    )]
    pub socket: PathBuf,
    /// Print the daemon's answer as JSON (for list-sas: one object with
    /// `ike_sas`, documented in docs/control-api.md).
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every IKE message in a pcap or pcapng capture.
    ///
    /// Finds IKE on UDP port 500 and behind the non-ESP marker on port 4500
    /// (ESP and NAT-keepalives there are skipped), over Ethernet, Linux
    /// cooked (SLL, SLL2), loopback and raw-IP link types, IPv4 and IPv6,
    /// reassembling IP fragments. Each message shows time, addresses,
    /// SPIs, exchange, flags, message ID and its payload chain, decoded
    /// fully where not encrypted; with --keys, SK and SKF payloads are
    /// decrypted too. A damaged message is listed with an error and the
    /// listing goes on; a damaged capture file ends the listing with exit
    /// status 2.
    #[command(
        after_help = "Exit status: 0 on success; 2 when the capture or key table is \
                            missing, unreadable, not a capture, or damaged (messages before \
                            the damage are still listed); 1 when the output cannot be written."
    )]
    Inspect(InspectArgs),
    /// Show the daemon's status: version, uptime, SA counts, connections.
    Status,
    /// List IKE SAs and their CHILD SAs: SPIs, algorithms, traffic
    /// selectors, byte and packet counters.
    ListSas,
    /// Bring a connection up and wait until its CHILD SA is installed.
    Up {
        /// The connection (a `[tunnel.NAME]` or `[policy.NAME]` name).
        name: String,
    },
    /// Delete a connection's SAs, with the peer, and wait until they are gone.
    Down {
        /// The connection name.
        name: String,
    },
    /// Re-read the daemon's configuration. Connections whose configuration
    /// did not change keep their SAs.
    Reload,
    /// Print the daemon's recent log lines.
    Logs {
        /// Keep printing new lines as they come (until interrupted).
        #[arg(short, long)]
        follow: bool,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The capture file (pcap or pcapng).
    pub file: PathBuf,
    /// IKE SA keys in Wireshark's ikev2_decryption_table format (as
    /// strongSwan's save-keys plugin writes it), to decrypt SK/SKF payloads.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// In the table, also print every decoded field of every payload.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Exit status for unusable input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the output cannot be written.
pub const EXIT_OUTPUT: u8 = 1;

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    match &cli.command {
        Command::Inspect(args) => run_inspect(args, cli.json, stdout, stderr),
        other => crate::control_cmd::run(&cli.socket, cli.json, other, stdout, stderr),
    }
}

fn read(path: &Path, what: &str, stderr: &mut dyn Write) -> Result<Vec<u8>, u8> {
    std::fs::read(path).map_err(|e| {
        let _ = writeln!(
            stderr,
            "yadokari: cannot read {what} {}: {e}",
            path.display()
        );
        EXIT_BAD_INPUT
    })
}

fn run_inspect(
    args: &InspectArgs,
    json: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let keys = match &args.keys {
        None => None,
        Some(p) => {
            let bytes = match read(p, "key table", stderr) {
                Ok(b) => b,
                Err(code) => return code,
            };
            let text = String::from_utf8_lossy(&bytes);
            match KeyTable::parse(&text) {
                Ok(t) => Some(t),
                Err(e) => {
                    let _ = writeln!(stderr, "yadokari: {}: {e}", p.display());
                    return EXIT_BAD_INPUT;
                }
            }
        }
    };
    let data = match read(&args.file, "capture", stderr) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let result = crate::inspect::inspect(&data, keys.as_ref());
    let written = if json {
        write_json(&result.messages, stdout)
    } else {
        write_table(&result.messages, &result.summary, args.verbose, stdout)
    }
    .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        // `yadokari inspect f | head` is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            let _ = writeln!(stderr, "yadokari: writing output: {e}");
            return EXIT_OUTPUT;
        }
    }
    if let Some(e) = result.error {
        let _ = writeln!(stderr, "yadokari: {}: {e}", args.file.display());
        return EXIT_BAD_INPUT;
    }
    0
}
