//! The daemon as a process: `--check`, the control socket's answers to good
//! and bad requests, reload, and a clean exit on SIGTERM. Each daemon runs
//! in a network namespace of its own (it binds the IKE ports and creates
//! its TUN device), so the tests need root; without it they skip.

use std::io::Write as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use yadokari_control::{Client, Request, Response};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

const GOOD: &str = r#"
[daemon]
log_level = "debug"

[tunnel.site]
remote = "192.0.2.1"
local_id = "right.example.org"
psk = "yadokari-interop-test-only-psk-0123456789"
local_ts = "203.0.113.0/24"
remote_ts = "198.51.100.0/24"
"#;

struct Daemon {
    child: Child,
    _ns: yadokari_testbed::Netns,
    socket: PathBuf,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

impl Daemon {
    fn start(config: &str) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("yadokari.toml");
        std::fs::write(&path, config).unwrap();
        let socket = dir.path().join("control.sock");
        let ns = yadokari_testbed::Netns::create(&yadokari_testbed::unique_prefix("ctl")).unwrap();
        let child = ns
            .command(BIN)
            .arg("--config")
            .arg(&path)
            .arg("--socket")
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let d = Daemon {
            child,
            _ns: ns,
            socket,
            _dir: dir,
            config: path,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while UnixStream::connect(&d.socket).is_err() {
            assert!(
                Instant::now() < deadline,
                "daemon did not open its control socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    fn client(&self) -> Client {
        Client::connect(&self.socket, Some(Duration::from_secs(10))).unwrap()
    }

    fn raw(&self, line: &str) -> String {
        let mut s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(line.as_bytes()).unwrap();
        let mut r = std::io::BufReader::new(s);
        let mut out = String::new();
        std::io::BufRead::read_line(&mut r, &mut out).unwrap();
        out
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The daemon needs root (namespaces, TUN); elsewhere these tests skip.
fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip"])
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn check_reports_all_errors_and_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[tunnel.x]\nremote = \"192.0.2.1\"\npsk = \"short\"\nlocal_ts = \"198.51.100.0/24\"\nremote_ts = \"2001:db8::/32\"\ncolour = 1\n").unwrap();
    let out = Command::new(BIN)
        .arg("--check")
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let located = err
        .lines()
        .filter(|l| l.starts_with(&format!("{}:", bad.display())))
        .count();
    assert!(located >= 4, "{err}");
    assert!(
        err.contains(":6:1: error: unknown key `tunnel.x.colour`"),
        "{err}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, GOOD).unwrap();
    let out = Command::new(BIN)
        .arg("--check")
        .arg("--config")
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new(BIN)
        .arg("--check")
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the configuration"));
}

#[test]
fn control_answers_and_rejects() {
    if skip() {
        return;
    }
    let d = Daemon::start(GOOD);
    let mut c = d.client();
    match c.call(&Request::Status).unwrap() {
        Response::Status(s) => {
            assert_eq!(s.pid, d.child.id());
            assert_eq!(s.connections.len(), 1);
            assert_eq!(s.connections[0].name, "site");
        }
        other => panic!("unexpected {other:?}"),
    }
    // several requests on one connection
    assert!(matches!(
        c.call(&Request::ListSas).unwrap(),
        Response::Sas { .. }
    ));
    match c
        .call(&Request::Up {
            name: "nosuch".into(),
        })
        .unwrap()
    {
        Response::Error { error } => assert!(error.contains("nosuch"), "{error}"),
        other => panic!("unexpected {other:?}"),
    }
    // malformed and unknown requests get one-line errors, and the daemon lives on
    assert!(d
        .raw("this is not json\n")
        .contains("\"error\":\"bad request"));
    assert!(d
        .raw("{\"command\":\"explode\"}\n")
        .contains("unknown variant"));
    assert!(d.raw("{\"command\":\"up\"}\n").contains("missing field"));
    assert!(matches!(
        d.client().call(&Request::Status).unwrap(),
        Response::Status(_)
    ));
    // logs without follow end with a Done line
    let mut c = d.client();
    c.send(&Request::Logs { follow: false }).unwrap();
    let mut saw_log = false;
    loop {
        match c.recv().unwrap() {
            Response::Log(l) => saw_log |= l.message.contains("running"),
            Response::Done { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_log, "the start-up message is in the log ring");
}

#[test]
fn reload_reports_changes() {
    if skip() {
        return;
    }
    let d = Daemon::start(GOOD);
    let more = format!(
        "{GOOD}\n[tunnel.second]\nremote = \"192.0.2.9\"\nlocal_id = \"right.example.org\"\npsk = \"another-long-enough-pre-shared-key\"\nlocal_ts = \"203.0.113.0/25\"\nremote_ts = \"198.51.100.128/25\"\n"
    );
    std::fs::write(&d.config, more).unwrap();
    match d.client().call(&Request::Reload).unwrap() {
        Response::Reloaded(r) => {
            assert_eq!(r.added, vec!["second".to_string()]);
            assert_eq!(r.unchanged, vec!["site".to_string()]);
            assert!(r.changed.is_empty() && r.removed.is_empty());
        }
        other => panic!("unexpected {other:?}"),
    }
    // a broken file is refused and the old configuration stays
    std::fs::write(&d.config, "[tunnel.site]\nremote = 1\n").unwrap();
    match d.client().call(&Request::Reload).unwrap() {
        Response::Error { error } => assert!(error.contains("not reloaded"), "{error}"),
        other => panic!("unexpected {other:?}"),
    }
    match d.client().call(&Request::Status).unwrap() {
        Response::Status(s) => assert_eq!(s.connections.len(), 2),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn sigterm_exits_cleanly_and_removes_the_socket() {
    if skip() {
        return;
    }
    let mut d = Daemon::start(GOOD);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(d.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_exit(&mut d.child, Duration::from_secs(10)).expect("daemon exits on SIGTERM");
    assert!(status.success());
    assert!(!Path::new(&d.socket).exists());
}

#[test]
fn second_instance_on_the_same_socket_is_refused() {
    if skip() {
        return;
    }
    let d = Daemon::start(GOOD);
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&d.config)
        .arg("--socket")
        .arg(&d.socket)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another daemon is listening"));
}

/// Reads one line from a raw connection (10 s at most).
fn read_line(s: &UnixStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = std::io::BufReader::new(s);
    let mut out = String::new();
    std::io::BufRead::read_line(&mut r, &mut out).unwrap();
    out
}

#[test]
fn socket_path_naming_a_regular_file_is_refused_and_the_file_kept() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("yadokari.toml");
    std::fs::write(&config, GOOD).unwrap();
    let ns = yadokari_testbed::Netns::create(&yadokari_testbed::unique_prefix("cts")).unwrap();
    // The typo that names the configuration file as the socket.
    let mut child = ns
        .command(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = wait_exit(&mut child, Duration::from_secs(10));
    if status.is_none() {
        let _ = child.kill();
    }
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(2), "{err}");
    assert!(
        err.contains("exists and is a regular file, not a socket"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), GOOD);
}

#[test]
fn stale_socket_is_replaced() {
    if skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join("control.sock");
    // A socket file nobody listens on, as a killed daemon leaves it.
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let config = dir.path().join("yadokari.toml");
    std::fs::write(&config, GOOD).unwrap();
    let ns = yadokari_testbed::Netns::create(&yadokari_testbed::unique_prefix("ctr")).unwrap();
    let mut child = ns
        .command(BIN)
        .arg("--config")
        .arg(&config)
        .arg("--socket")
        .arg(&stale)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answered = loop {
        if let Ok(mut c) = Client::connect(&stale, Some(Duration::from_secs(5))) {
            if let Ok(r) = c.call(&Request::Status) {
                break matches!(r, Response::Status(_));
            }
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered, "the daemon took over the stale socket");
}

#[test]
fn invalid_utf8_gets_an_error_line() {
    if skip() {
        return;
    }
    let d = Daemon::start(GOOD);
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.write_all(b"{\"command\":\"st\xffatus\"}\n").unwrap();
    let line = read_line(&s);
    assert!(
        line.contains("\"error\":\"the request is not valid UTF-8\""),
        "{line}"
    );
    // The connection stays usable.
    s.write_all(b"{\"command\":\"status\"}\n").unwrap();
    assert!(read_line(&s).contains("\"pid\""));
}

#[test]
fn idle_clients_make_room_and_time_out_busy_ones_cap() {
    if skip() {
        return;
    }
    let d = Daemon::start(&GOOD.replace(
        "[daemon]\n",
        "[daemon]\ncontrol_clients = 4\ncontrol_idle_timeout = \"2s\"\n",
    ));
    // Four idle clients take every place ...
    let idle: Vec<UnixStream> = (0..4)
        .map(|_| {
            let s = UnixStream::connect(&d.socket).unwrap();
            std::thread::sleep(Duration::from_millis(30));
            s
        })
        .collect();
    // ... and `status` still works: the longest-idle client makes room.
    match d.client().call(&Request::Status).unwrap() {
        Response::Status(_) => {}
        other => panic!("unexpected {other:?}"),
    }
    let first = read_line(&idle[0]);
    assert!(first.contains("the longest idle"), "{first}");
    // Idle clients are closed after the timeout, with a reason.
    let t = Instant::now();
    let later = read_line(&idle[3]);
    assert!(later.contains("no request for 2 s"), "{later}");
    assert!(t.elapsed() < Duration::from_secs(5));
    drop(idle);
    // Four busy clients (following the log) hold every place: the fifth is
    // refused with a JSON error line, not left hanging.
    let busy: Vec<Client> = (0..4)
        .map(|_| {
            let mut c = d.client();
            c.send(&Request::Logs { follow: true }).unwrap();
            c
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let s = UnixStream::connect(&d.socket).unwrap();
    let refused = read_line(&s);
    assert!(
        refused.contains("\"error\":\"too many control clients (at most 4, all busy)"),
        "{refused}"
    );
    drop(busy);
    std::thread::sleep(Duration::from_millis(200));
    assert!(matches!(
        d.client().call(&Request::Status).unwrap(),
        Response::Status(_)
    ));
}
