//! The commands that talk to a running `yadokarid` over its control socket
//! (`yadokari-control`): status, list-sas, up, down, reload, logs.
//!
//! Every failure is one line on stderr: the daemon's own error (exit 1), or
//! that it cannot be reached (exit 3), e.g. because it is not running or the
//! socket path is wrong.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use yadokari_control::{Client, ClientError, IkeSaInfo, Request, Response};

use crate::cli::Command;

/// The daemon reported an error, or the output could not be written.
pub const EXIT_DAEMON_ERROR: u8 = 1;
/// The daemon could not be reached.
pub const EXIT_UNREACHABLE: u8 = 3;

/// `up` waits for the peer: allow more than the daemon's own 30 s limit.
const TIMEOUT: Duration = Duration::from_secs(40);

pub fn run(
    socket: &Path,
    json: bool,
    command: &Command,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    let request = match command {
        Command::Status => Request::Status,
        Command::ListSas => Request::ListSas,
        Command::Up { name } => Request::Up { name: name.clone() },
        Command::Down { name } => Request::Down { name: name.clone() },
        Command::Reload => Request::Reload,
        Command::Logs { follow } => Request::Logs { follow: *follow },
        Command::Inspect(_) => unreachable!("inspect runs without the daemon"),
    };
    let mut client = match Client::connect(socket, Some(TIMEOUT)) {
        Ok(c) => c,
        Err(e) => {
            let _ = writeln!(stderr, "yadokari: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    if let Request::Logs { follow } = request {
        return logs(&mut client, follow, json, stdout, stderr);
    }
    match client.call(&request) {
        Ok(response) => print(&response, json, stdout, stderr),
        Err(e) => fail(&e, stderr),
    }
}

fn fail(e: &ClientError, stderr: &mut dyn Write) -> u8 {
    let _ = writeln!(stderr, "yadokari: {e}");
    match e {
        ClientError::Connect { .. } | ClientError::Closed | ClientError::Io(_) => EXIT_UNREACHABLE,
        ClientError::Malformed(_) => EXIT_DAEMON_ERROR,
    }
}

fn logs(
    client: &mut Client,
    follow: bool,
    json: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> u8 {
    if follow {
        // Lines come whenever the daemon logs; never time out.
        if let Err(e) = client.set_timeout(None) {
            return fail(&e, stderr);
        }
    }
    if let Err(e) = client.send(&Request::Logs { follow }) {
        return fail(&e, stderr);
    }
    loop {
        match client.recv() {
            Ok(Response::Done { .. }) => return 0,
            Ok(Response::Log(l)) => {
                let r = if json {
                    writeln!(stdout, "{}", serde_json::to_string(&l).unwrap_or_default())
                } else {
                    writeln!(stdout, "{} {:<16} {}", l.time, l.category, l.message)
                };
                if r.and_then(|_| stdout.flush()).is_err() {
                    return EXIT_DAEMON_ERROR;
                }
            }
            Ok(other) => return print(&other, json, stdout, stderr),
            Err(e) => return fail(&e, stderr),
        }
    }
}

fn print(response: &Response, json: bool, stdout: &mut dyn Write, stderr: &mut dyn Write) -> u8 {
    if let Response::Error { error } = response {
        let first = error.lines().next().unwrap_or_default();
        let _ = writeln!(stderr, "yadokari: {first}");
        for more in error.lines().skip(1) {
            let _ = writeln!(stderr, "  {more}");
        }
        return EXIT_DAEMON_ERROR;
    }
    let written = if json {
        json_of(response).and_then(|v| writeln!(stdout, "{v}").map_err(|e| e.to_string()))
    } else {
        table(response, stdout).map_err(|e| e.to_string())
    };
    match written {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(stderr, "yadokari: cannot write the output: {e}");
            EXIT_DAEMON_ERROR
        }
    }
}

/// The JSON form: the response's own object, without the `type` tag for
/// the commands whose shape is documented on its own (`list-sas` prints
/// `{"ike_sas": [...]}`, `status` the status object).
fn json_of(response: &Response) -> Result<String, String> {
    let v = match response {
        Response::Status(s) => serde_json::to_value(s),
        Response::Sas { ike_sas } => Ok(serde_json::json!({ "ike_sas": ike_sas })),
        Response::Reloaded(r) => serde_json::to_value(r),
        Response::Done { message } => Ok(serde_json::json!({ "message": message })),
        other => serde_json::to_value(other),
    };
    v.map(|v| v.to_string()).map_err(|e| e.to_string())
}

fn table(response: &Response, out: &mut dyn Write) -> std::io::Result<()> {
    match response {
        Response::Status(s) => {
            writeln!(
                out,
                "yadokarid {} (pid {}), up {}s, config {}",
                s.version, s.pid, s.uptime_secs, s.config_file
            )?;
            writeln!(
                out,
                "{} IKE SA(s) established, {} CHILD SA(s) installed, {} packet(s) dropped for want of an SA",
                s.ike_sas, s.child_sas, s.dropped_without_sa
            )?;
            for c in &s.connections {
                write!(out, "  {:<20} {:<11} {}", c.name, c.state, c.remote)?;
                match (c.retry_in_secs, c.gave_up) {
                    (_, true) => {
                        write!(out, ", gave up after {} failed attempts", c.failed_attempts)?
                    }
                    (Some(n), false) => write!(out, ", retrying in {n} s")?,
                    (None, false) => {}
                }
                if let Some(e) = &c.last_error {
                    write!(out, ", last error: {e}")?;
                }
                writeln!(out)?;
            }
        }
        Response::Sas { ike_sas } => {
            if ike_sas.is_empty() {
                writeln!(out, "no SAs")?;
            }
            for sa in ike_sas {
                ike_sa(sa, out)?;
            }
        }
        Response::Reloaded(r) => {
            writeln!(
                out,
                "reloaded: added {}; removed {}; changed {}; unchanged {}",
                names(&r.added),
                names(&r.removed),
                names(&r.changed),
                names(&r.unchanged)
            )?;
        }
        Response::Done { message } => writeln!(out, "{message}")?,
        Response::Log(l) => writeln!(out, "{} {:<16} {}", l.time, l.category, l.message)?,
        Response::Error { error } => writeln!(out, "error: {error}")?,
    }
    Ok(())
}

/// Connection names for people: `a, b`, or `none`.
fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

fn ike_sa(sa: &IkeSaInfo, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: {}, {} {} === {} {}, {}_i {}_r{}",
        sa.name,
        sa.state,
        sa.local,
        sa.local_id,
        sa.remote,
        sa.remote_id,
        sa.ispi,
        sa.rspi,
        if sa.initiator { " (we initiated)" } else { "" }
    )?;
    if let Some(c) = &sa.peer_cert {
        writeln!(
            out,
            "  peer certificate: {}, issued by {}",
            c.subject, c.issuer
        )?;
    }
    for c in &sa.children {
        let integ = c
            .algorithms
            .integrity
            .as_deref()
            .map(|i| format!("/{i}"))
            .unwrap_or_default();
        let rekey = c
            .rekey_in_secs
            .map(|r| format!(", rekey in {r}s"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {}: {} {}, {}{}, up {}s{}",
            c.name,
            c.mode,
            c.encapsulation,
            c.algorithms.encryption,
            integ,
            c.established_secs,
            rekey
        )?;
        writeln!(
            out,
            "    in  {}  {:>12} bytes {:>10} packets",
            c.spi_in, c.bytes_in, c.packets_in
        )?;
        writeln!(
            out,
            "    out {}  {:>12} bytes {:>10} packets",
            c.spi_out, c.bytes_out, c.packets_out
        )?;
        writeln!(
            out,
            "    {} === {}",
            c.local_ts.join(", "),
            c.remote_ts.join(", ")
        )?;
    }
    Ok(())
}
