//! Runs the `yadokari` binary: exit statuses, one-line errors, help, and
//! the JSON Lines contract on a capture built here.

use std::path::PathBuf;
use std::process::{Command, Output};

use yadokari_wire::payload::{Nonce, Notify, Payload};
use yadokari_wire::registry::{ExchangeType, NotifyType};
use yadokari_wire::{Flags, Header, Message};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_yadokari"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

/// A per-test temporary directory (removed at the end of the test).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("yadokari-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ike_message(mid: u32) -> Vec<u8> {
    let h = Header::new(
        0xabcdef0123456789,
        0,
        ExchangeType::IKE_SA_INIT,
        Flags::new(true, false),
        mid,
    );
    Message::new(
        h,
        vec![
            Payload::Nonce(Nonce::new(vec![5u8; 32])),
            Payload::Notify(Notify::status(NotifyType::IKEV2_FRAGMENTATION_SUPPORTED)),
        ],
    )
    .to_vec()
    .unwrap()
}

/// Raw IPv6 (link type 101) + UDP 500.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[17, 64]);
    let a: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let b: std::net::Ipv6Addr = "2001:db8::2".parse().unwrap();
    v.extend_from_slice(&a.octets());
    v.extend_from_slice(&b.octets());
    v.extend_from_slice(&500u16.to_be_bytes());
    v.extend_from_slice(&500u16.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&0xa1b2_3c4du32.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    v.extend_from_slice(&4u16.to_be_bytes());
    for x in [0u32, 0, 65535, 101] {
        v.extend_from_slice(&x.to_be_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        for x in [
            1_800_000_000 + i as u32,
            123_456_789,
            f.len() as u32,
            f.len() as u32,
        ] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend_from_slice(f);
    }
    v
}

fn one_line(stderr: &[u8]) -> String {
    let s = String::from_utf8_lossy(stderr).into_owned();
    assert_eq!(s.lines().count(), 1, "stderr: {s:?}");
    assert!(s.starts_with("yadokari: "), "{s:?}");
    s
}

#[test]
fn help_lists_inspect_and_its_options() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("inspect"), "{s}");
    let o = run(&["inspect", "--help"]);
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    for opt in [
        "--json",
        "--keys",
        "--verbose",
        "FILE",
        "ikev2_decryption_table",
    ] {
        assert!(s.contains(opt), "missing {opt} in {s}");
    }
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn missing_and_non_pcap_files_exit_2() {
    let o = run(&["inspect", "/nonexistent/definitely-not-here.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o.stderr).contains("cannot read capture"));
    assert!(o.stdout.is_empty());
    let t = TempDir::new("nonpcap");
    let f = t.file("x.pcap", b"GIF89a, clearly not a capture file");
    let o = run(&["inspect", "--json", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o.stderr).contains("not a pcap or pcapng file"));
    let f = t.file("empty.pcap", b"");
    assert_eq!(run(&["inspect", &f]).status.code(), Some(2));
}

#[test]
fn json_lines_contract() {
    let t = TempDir::new("json");
    let f = t.file(
        "ok.pcap",
        &pcap(&[
            frame(&ike_message(0)),
            vec![0x45, 0, 0],
            frame(&ike_message(1)),
        ]),
    );
    let o = run(&["inspect", "--json", &f]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let m = &lines[0];
    assert_eq!(m["frame"], 1);
    assert_eq!(lines[1]["frame"], 3);
    assert_eq!(m["time"], "2027-01-15T08:00:00.123456789Z");
    assert_eq!(m["src"], "[2001:db8::1]:500");
    assert_eq!(m["dst"], "[2001:db8::2]:500");
    assert_eq!(m["ispi"], "abcdef0123456789");
    assert_eq!(m["rspi"], "0000000000000000");
    assert_eq!(m["exchange_type"], 34);
    assert_eq!(m["exchange"], "IKE_SA_INIT");
    assert_eq!(m["initiator"], true);
    assert_eq!(m["response"], false);
    assert_eq!(m["message_id"], 0);
    assert_eq!(lines[1]["message_id"], 1);
    assert!(m["length"].as_u64().unwrap() > 28);
    assert_eq!(m["payloads"][0]["type"], 40);
    assert_eq!(m["payloads"][0]["name"], "Nonce");
    assert_eq!(m["payloads"][0]["critical"], false);
    assert_eq!(m["payloads"][0]["data"], "05".repeat(32));
    assert_eq!(m["payloads"][1]["name"], "Notify");
    assert_eq!(m["payloads"][1]["notify_type"], 16430);
    assert_eq!(
        m["payloads"][1]["notify_name"],
        "IKEV2_FRAGMENTATION_SUPPORTED"
    );
    assert!(m.get("error").is_none());
    // The table names the same messages.
    let o = run(&["inspect", "-v", &f]);
    assert!(o.status.success());
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(table.contains("IKE_SA_INIT"));
    assert!(table.contains("N(IKEV2_FRAGMENTATION_SUPPORTED)"));
    assert!(table.contains("2 IKE message(s) in 3 frame(s)"));
}

#[test]
fn damaged_file_lists_then_exits_2() {
    let t = TempDir::new("damaged");
    let whole = pcap(&[frame(&ike_message(0)), frame(&ike_message(1))]);
    let f = t.file("cut.pcap", &whole[..whole.len() - 3]);
    let o = run(&["inspect", "--json", &f]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 1);
    assert!(one_line(&o.stderr).contains("pcap record at byte"));
}

#[test]
fn damaged_ike_message_is_listed_with_an_error() {
    let t = TempDir::new("badike");
    let mut bad = ike_message(0);
    bad[28 + 2] = 0xEE; // first payload length
    let f = t.file("b.pcap", &pcap(&[frame(&bad), frame(&ike_message(1))]));
    let o = run(&["inspect", "--json", &f]);
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0]["error"].as_str().unwrap().contains("at byte"));
    assert_eq!(lines[0]["ispi"], "abcdef0123456789");
    assert!(lines[1].get("error").is_none());
}

#[test]
fn bad_key_table_exits_2() {
    let t = TempDir::new("badkeys");
    let f = t.file("ok.pcap", &pcap(&[frame(&ike_message(0))]));
    let k = t.file("k.keys", b"# comment\nnot,a,key,table\n");
    let o = run(&["inspect", "--keys", &k, &f]);
    assert_eq!(o.status.code(), Some(2));
    assert!(one_line(&o.stderr).contains("line 2"));
    let o = run(&["inspect", "--keys", "/nonexistent/keys", &f]);
    assert_eq!(o.status.code(), Some(2));
    one_line(&o.stderr);
}

/// A stand-in daemon: answers each request line on `socket` with the next
/// of `answers`, then stops listening.
fn fake_daemon(
    socket: &std::path::Path,
    answers: Vec<yadokari_control::Response>,
) -> std::thread::JoinHandle<()> {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = (&stream).write_all(answer.to_line().as_bytes());
        }
    })
}

/// Issue 18, item 5: what the CLI prints for people is in words, never
/// Rust `Debug` text (lists in brackets and quotes).
#[test]
fn control_answers_print_in_words() {
    use yadokari_control::{ConnectionStatus, ReloadReport, Response, Status};
    let dir = TempDir::new("words");
    let socket = dir.0.join("control.sock");
    let daemon = fake_daemon(
        &socket,
        vec![
            Response::Reloaded(ReloadReport {
                added: vec![],
                removed: vec!["old".into()],
                changed: vec!["site".into(), "branch".into()],
                unchanged: vec![],
            }),
            Response::Status(Status {
                version: "0.1.0".into(),
                pid: 7,
                uptime_secs: 3,
                config_file: "/etc/yadokari/yadokari.toml".into(),
                ike_sas: 1,
                child_sas: 2,
                dropped_without_sa: 0,
                connections: vec![ConnectionStatus {
                    name: "site".into(),
                    state: "up".into(),
                    remote: "192.0.2.1".into(),
                    retry_in_secs: None,
                    last_error: None,
                    failed_attempts: 0,
                    gave_up: false,
                }],
            }),
            Response::Error {
                error:
                    "negotiation failed: the peer refused our traffic selectors (TS_UNACCEPTABLE)"
                        .into(),
            },
        ],
    );
    let s = socket.to_str().unwrap();
    let out = run(&["--socket", s, "reload"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "reloaded: added none; removed old; changed site, branch; unchanged none\n"
    );
    let out = run(&["--socket", s, "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1 IKE SA(s) established, 2 CHILD SA(s) installed"),
        "{text}"
    );
    let out = run(&["--socket", s, "up", "site"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        one_line(&out.stderr).trim_end(),
        "yadokari: negotiation failed: the peer refused our traffic selectors (TS_UNACCEPTABLE)"
    );
    daemon.join().unwrap();
}
