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

/// yadokari: an IKEv2/IPsec VPN. This tool inspects captures and, later,
/// controls the daemon.
#[derive(Debug, Parser)]
#[command(name = "yadokari", version, propagate_version = true)]
pub struct Cli {
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
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The capture file (pcap or pcapng).
    pub file: PathBuf,
    /// Write JSON Lines: one object per IKE message (see docs/inspect.md).
    #[arg(long)]
    pub json: bool,
    /// IKE SA keys in Wireshark's ikev2_decryption_table format (as
    /// strongSwan's save-keys plugin writes it), to decrypt SK/SKF payloads.
    #[arg(long, value_name = "FILE")]
    pub keys: Option<PathBuf>,
    /// In the table, also print every decoded field of every payload.
    #[arg(short, long, conflicts_with = "json")]
    pub verbose: bool,
}

/// Exit status for unusable input.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when the output cannot be written.
pub const EXIT_OUTPUT: u8 = 1;

/// Runs a parsed command line; returns the exit status.
pub fn run(cli: &Cli, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    match &cli.command {
        Command::Inspect(args) => run_inspect(args, stdout, stderr),
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

fn run_inspect(args: &InspectArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
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
    let written = if args.json {
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
