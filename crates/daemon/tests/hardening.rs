//! What an attacker or a careless configuration must not get from the
//! daemon: a hang on a FIFO named as a secrets file, a huge file read into
//! memory, a core dump holding keys, or capabilities beyond what the
//! running daemon needs (capabilities(7), prctl(2) PR_SET_DUMPABLE and
//! PR_SET_NO_NEW_PRIVS). The namespace tests need root; without it they
//! skip.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use yadokari_control::{Request, Response};
use yadokari_testbed::yadokarid::{pair_config, site_selectors, start_pair};
use yadokari_testbed::{Family, Side, Topology};

const BIN: &str = env!("CARGO_BIN_EXE_yadokarid");

const CAP_NET_ADMIN: u64 = 1 << 12;
const CAP_NET_RAW: u64 = 1 << 13;

fn skip() -> bool {
    yadokari_testbed::skip_without(&["ip", "ping", "setpriv"])
}

/// A configuration whose one tunnel takes its key from `psk_file`.
fn config_with_psk_file(psk_file: &Path) -> String {
    format!(
        "[tunnel.site]\nremote = \"192.0.2.1\"\nlocal_id = \"right.example.org\"\n\
         psk_file = \"{}\"\nlocal_ts = \"203.0.113.0/24\"\nremote_ts = \"198.51.100.0/24\"\n",
        psk_file.display()
    )
}

/// `yadokarid --check` on `config`, killed after 10 s: (exit code, stderr,
/// time taken).
fn check(config: &Path) -> (Option<i32>, String, Duration) {
    let t = Instant::now();
    let mut child = Command::new(BIN)
        .arg("--check")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let code = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s.code();
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    (code, err, t.elapsed())
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

#[test]
fn check_refuses_a_fifo_or_a_huge_file_as_psk_file_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("site.psk");
    mkfifo(&fifo);
    let config = dir.path().join("yadokari.toml");
    std::fs::write(&config, config_with_psk_file(&fifo)).unwrap();
    let (code, err, took) = check(&config);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a regular file (it is a FIFO)"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");

    let big = dir.path().join("big.psk");
    std::fs::write(&big, vec![b'k'; 64 * 1024 + 1]).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&config, config_with_psk_file(&big)).unwrap();
    let (code, err, _) = check(&config);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("too large for a secret file"), "{err}");

    // The configuration itself as a FIFO.
    let cfifo = dir.path().join("fifo.toml");
    mkfifo(&cfifo);
    let (code, err, took) = check(&cfifo);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// One thread's capability masks and no-new-privileges flag from
/// /proc/PID/task/TID/status, and its nice value from .../stat.
struct ThreadPrivs {
    name: String,
    nice: i64,
    eff: u64,
    prm: u64,
    bnd: u64,
    amb: u64,
    nnp: bool,
}

fn thread_privs(pid: u32) -> Vec<ThreadPrivs> {
    let mut out = Vec::new();
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().path();
        let Ok(status) = std::fs::read_to_string(t.join("status")) else {
            continue; // the thread ended meanwhile
        };
        let field = |k: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let hex = |k: &str| u64::from_str_radix(&field(k), 16).unwrap();
        let stat = std::fs::read_to_string(t.join("stat")).unwrap_or_default();
        // Field 19, the 17th after the parenthesised command name.
        let nice = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(16))
            .and_then(|n| n.parse().ok())
            .unwrap_or(i64::MIN);
        out.push(ThreadPrivs {
            name: field("Name:"),
            nice,
            eff: hex("CapEff:"),
            prm: hex("CapPrm:"),
            bnd: hex("CapBnd:"),
            amb: hex("CapAmb:"),
            nnp: field("NoNewPrivs:") == "1",
        });
    }
    out
}

/// Whether a root process without CAP_SYS_PTRACE may open `pid`'s memory:
/// the kernel refuses that for a process that is not dumpable (ptrace
/// access mode checks, ptrace(2)). The target's capabilities must be a
/// subset of the caller's for the check to say anything else.
fn readable_without_ptrace_cap(pid: u32) -> bool {
    Command::new("setpriv")
        .args(["--bounding-set", "-sys_ptrace", "--inh-caps", "-all", "--"])
        .args(["dd", "bs=1", "count=0", "status=none"])
        .arg(format!("if=/proc/{pid}/mem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn running_daemon_keeps_only_net_admin_and_net_raw_and_cannot_dump() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykpriv").unwrap();
    let conf = |side: Side| {
        let sel = site_selectors(&topo, side, Family::V4);
        pair_config(&topo, side, Family::V4, "ykt0", "", &sel)
    };
    // Plain ESP (no NAT, no `encap`): the raw ESP socket is opened with the
    // first CHILD SA, after start-up, so it needs CAP_NET_RAW then, and the
    // site route goes in through `ip` with CAP_NET_ADMIN.
    let (l, _r) = start_pair(&topo, BIN, &conf(Side::Left), &conf(Side::Right)).unwrap();
    let dst: IpAddr = topo.addrs(Side::Right).site(Family::V4);
    assert!(topo.ping(Side::Left, dst).unwrap(), "{}", l.log());

    let threads = thread_privs(l.pid());
    assert!(threads.len() > 1, "the data plane runs threads");
    let kept = CAP_NET_ADMIN | CAP_NET_RAW;
    for t in &threads {
        assert!(t.nnp, "thread {} lacks NoNewPrivs", t.name);
        assert_eq!(t.amb, 0, "thread {} has ambient capabilities", t.name);
        if t.name == "yk-routes" {
            // It runs `ip` and nothing else.
            assert_eq!(
                (t.eff, t.prm),
                (CAP_NET_ADMIN, CAP_NET_ADMIN),
                "route thread: {:x} {:x}",
                t.eff,
                t.prm
            );
        } else if t.name == "yadokarid" {
            assert_eq!(
                (t.eff, t.prm, t.bnd),
                (kept, kept, kept),
                "main thread: {:x} {:x} {:x}",
                t.eff,
                t.prm,
                t.bnd
            );
        } else {
            assert_eq!(
                (t.eff, t.prm),
                (0, 0),
                "thread {} holds capabilities",
                t.name
            );
        }
    }
    assert!(threads.iter().any(|t| t.name == "yadokarid"));
    // The thread that takes unauthenticated IKE yields to the ESP workers;
    // IKE from port 4500 reaches it with no thread in between (issue 10).
    assert!(
        !threads.iter().any(|t| t.name == "yk-dp-bridge"),
        "a bridge thread between the data plane and the engine"
    );
    for t in &threads {
        let want = match t.name.as_str() {
            "yadokarid" => 5,
            n if n.starts_with("yk-in") || n.starts_with("yk-out") => 0,
            _ => continue,
        };
        assert_eq!(t.nice, want, "nice of thread {}", t.name);
    }
    assert!(threads.iter().any(|t| t.name.starts_with("yk-in")));

    // Not dumpable: a root process without CAP_SYS_PTRACE is refused its
    // memory. The same check passes on an ordinary process.
    let mut sleeper = Command::new("setpriv")
        .args(["--bounding-set", "-all", "--inh-caps", "-all", "sleep", "5"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let control = readable_without_ptrace_cap(sleeper.id());
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    assert!(control, "the check itself works on a dumpable process");
    assert!(
        !readable_without_ptrace_cap(l.pid()),
        "yadokarid is dumpable"
    );

    // A reload that meets a FIFO as secrets file fails at once, and the
    // daemon keeps answering.
    let fifo = l.dir().join("fifo.psk");
    mkfifo(&fifo);
    let cfg = l.dir().join("yadokari.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let broken = text
        .lines()
        .map(|line| {
            if line.starts_with("psk =") {
                format!("psk_file = \"{}\"", fifo.display())
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&cfg, broken).unwrap();
    let t = Instant::now();
    match l.call(&Request::Reload).unwrap() {
        Response::Error { error } => assert!(error.contains("FIFO"), "{error}"),
        other => panic!("unexpected {other:?}"),
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(matches!(
        l.call(&Request::Status).unwrap(),
        Response::Status(_)
    ));
}

/// Junk on port 500 is dropped before the engine sees it (no IKE-core drop
/// per datagram), with a log line per interval rather than per datagram,
/// and the daemon keeps answering.
#[test]
fn ike_junk_is_dropped_before_the_engine_with_few_log_lines() {
    if skip() {
        return;
    }
    let topo = Topology::direct("ykjunk").unwrap();
    let sel = site_selectors(&topo, Side::Right, Family::V4);
    let conf = pair_config(&topo, Side::Right, Family::V4, "ykt0", "", &sel);
    let r = yadokari_testbed::Yadokarid::start(topo.ns(Side::Right), BIN, "right", &conf).unwrap();
    let dst = std::net::SocketAddr::new(topo.addrs(Side::Right).outer(Family::V4), 500);
    const JUNK: u32 = 2000;
    yadokari_sys::netns::run_in(topo.ns(Side::Left).name(), move || {
        let s = std::net::UdpSocket::bind("0.0.0.0:0")?;
        for i in 0..JUNK {
            // A header's worth and more, but never a plausible IKE message:
            // the Length field (bytes 24..28) never matches.
            let junk = [(i % 251) as u8 | 1; 300];
            s.send_to(&junk, dst)?;
            if i % 200 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        Ok(())
    })
    .unwrap();
    let dropped_line = "that cannot be IKE messages";
    assert!(
        yadokari_testbed::netns::wait_until(Duration::from_secs(5), || r
            .log()
            .contains(dropped_line)),
        "{}",
        r.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let log = r.log();
    assert!(
        log.matches(dropped_line).count() <= 2,
        "one line per 10 s:\n{log}"
    );
    assert!(
        !log.contains("dropped datagram"),
        "the IKE core saw the junk:\n{log}"
    );
    assert!(matches!(
        r.call(&Request::Status).unwrap(),
        Response::Status(_)
    ));
}
