//! Loading whole files: the compact form, the linked form, and a file full
//! of mistakes that must all be reported in one run with their positions.

use std::path::PathBuf;

use yadokari_config::*;

fn opts() -> LoadOptions {
    LoadOptions {
        base_dir: PathBuf::from("/nonexistent"),
    }
}

const SITE: &str = r#"
[daemon]
control_socket = "/run/yk-test/right.sock"

[tunnel.site]
local = "192.0.2.2"
remote = "192.0.2.1"
local_id = "right.example.org"
remote_id = "left.example.org"
psk = "yadokari-interop-test-only-psk-0123456789"
local_ts = ["203.0.113.0/24", "2001:db8:b::/64"]
remote_ts = ["198.51.100.0/24", "2001:db8:a::/64"]
ike = "aes256gcm16-prfsha256-x25519"
esp = "aes256gcm16"
encap = true
start = "initiate"
dpd = "30s"
"#;

#[test]
fn compact_tunnel_expands_into_the_linked_model() {
    let c = parse_str("site.toml", SITE, &opts()).unwrap();
    let r = &c.remotes["site"];
    assert_eq!(
        r.address,
        address::Address::Ip("192.0.2.1".parse().unwrap())
    );
    assert_eq!(
        r.remote_id,
        Some(identity::Identity::Fqdn("left.example.org".into()))
    );
    assert_eq!(r.start, StartAction::Initiate);
    assert!(r.encap);
    assert_eq!(r.dpd.unwrap().action, DpdAction::Restart);
    assert_eq!(r.ike_proposals[0].ke, vec![31]);
    assert_eq!(
        c.policies["site"],
        Policy::Protect {
            remote: "site".into(),
            ipsec: "site".into()
        }
    );
    assert_eq!(c.ipsec["site"].mode, Mode::Tunnel);
    assert_eq!(c.sa["site"].proposals.len(), 1);
    // one selector per address family, never mixing families
    assert_eq!(c.selectors.len(), 2);
    for s in c.selectors.values() {
        assert_eq!(s.src.family(), s.dst.family());
        assert_eq!(s.policy, "site");
    }
    assert_eq!(
        c.daemon.control_socket,
        PathBuf::from("/run/yk-test/right.sock")
    );
    assert_eq!(c.interface.name, "yk0");
}

#[test]
fn linked_model_with_macros() {
    let text = r#"
[remote.hq]
address = "vpn.example.org"
local_id = "branch.example.org"
local_address = "MY_IPV4%eth0"
psk = "a-long-enough-pre-shared-key-for-tests"

[sa.gcm]
proposals = ["aes128gcm16"]

[ipsec.tun]
mode = "tunnel"
sa = "gcm"
rekey = "30m"

[policy.to-hq]
action = "protect"
remote = "hq"
ipsec = "tun"

[policy.local]
action = "bypass"

[selector.out]
src = "198.51.100.0/24"
dst = "203.0.113.0/24"
protocol = "tcp"
dst_port = "1024-65535"
src_port = "443"
policy = "to-hq"
"#;
    let c = parse_str("linked.toml", text, &opts()).unwrap();
    assert_eq!(
        c.remotes["hq"].address,
        address::Address::Fqdn("vpn.example.org".into())
    );
    assert_eq!(c.ipsec["tun"].lifetime.rekey.as_secs(), 1800);
    assert_eq!(c.selectors["out"].protocol, IpProtocol::TCP);
    assert_eq!(
        c.selectors["out"].dst_ports,
        PortRange::new(1024, 65535).unwrap()
    );
    // A quoted single port reads like a quoted range.
    assert_eq!(c.selectors["out"].src_ports, PortRange::single(443));
    assert_eq!(c.policies["local"], Policy::Bypass);
}

#[test]
fn every_error_is_reported_at_once_with_positions() {
    let text = r#"[daemon]
log_levl = "info"

[tunnel.a]
remote = "192.0.2.1"
local = "2001:db8::1"
psk = "short"
local_ts = "198.51.100.0/24"
remote_ts = "2001:db8:b::/64"
ike = "aes128-sha1-modp1024"

[selector.s]
src = "198.51.100.0/24"
dst = "203.0.113.0/24"
policy = "nosuch"
"#;
    let err = parse_str("bad.toml", text, &opts()).unwrap_err();
    let all = err.to_string();
    let lines: Vec<&str> = all.lines().collect();
    // unknown key, with the typo's correction
    assert!(
        all.contains(
            "bad.toml:2:1: error: unknown key `daemon.log_levl` (hint: did you mean `log_level`?)"
        ),
        "{all}"
    );
    // mismatched families of the peer and local address
    assert!(
        all.contains(
            "bad.toml:5:10: error: `tunnel.a`: remote and local are of different address families"
        ),
        "{all}"
    );
    // PSK too short
    assert!(
        all.contains("bad.toml:7:7: error: the pre-shared key of `tunnel.a` is too short"),
        "{all}"
    );
    // TS families that cannot pair
    assert!(all.contains("bad.toml:8:12:"), "{all}");
    assert!(all.contains("bad.toml:9:13:"), "{all}");
    // unsafe algorithm
    assert!(
        all.contains("bad.toml:10:7: error: unsafe algorithm"),
        "{all}"
    );
    // dangling reference
    assert!(
        all.contains("bad.toml:15:10: error: no `[policy.nosuch]` is defined"),
        "{all}"
    );
    assert_eq!(lines.len(), err.0.len());
    assert!(err.0.len() >= 7, "{all}");
    // sorted by position
    let positions: Vec<(usize, usize)> = err.0.iter().map(|d| (d.line, d.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted);
}

#[test]
fn syntax_errors_are_located() {
    let err = parse_str("syn.toml", "[tunnel.a]\nremote = \n", &opts()).unwrap_err();
    assert_eq!(err.0[0].file, "syn.toml");
    assert_eq!(err.0[0].line, 2);
}

#[test]
fn legacy_needs_opt_in() {
    let base = r#"
[tunnel.old]
remote = "192.0.2.1"
local_id = "old.example.org"
psk = "a-long-enough-pre-shared-key-for-tests"
local_ts = "198.51.100.0/24"
remote_ts = "203.0.113.0/24"
ike = "aes128-sha1-modp1024"
"#;
    assert!(parse_str("l.toml", base, &opts()).is_err());
    let ok = format!("{base}allow_legacy = true\n");
    assert!(parse_str("l.toml", &ok, &opts()).is_ok());
}

#[cfg(unix)]
#[test]
fn secret_files_must_be_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("yk-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let psk = dir.join("site.psk");
    std::fs::write(&psk, "a-long-enough-pre-shared-key-for-tests\n").unwrap();
    let text = r#"
[tunnel.t]
remote = "192.0.2.1"
local_id = "t.example.org"
psk_file = "site.psk"
local_ts = "198.51.100.0/24"
remote_ts = "203.0.113.0/24"
"#;
    let o = LoadOptions {
        base_dir: dir.clone(),
    };
    std::fs::set_permissions(&psk, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = parse_str("s.toml", text, &o).unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");
    std::fs::set_permissions(&psk, std::fs::Permissions::from_mode(0o600)).unwrap();
    let c = parse_str("s.toml", text, &o).unwrap();
    let s = c.remotes["t"].auth.psk.as_ref().unwrap();
    assert_eq!(s.expose(), b"a-long-enough-pre-shared-key-for-tests");
    assert!(c.remotes["t"].auth.local_cert.is_none() && c.remotes["t"].auth.ca.is_none());
    // a secret never shows in debug output
    assert!(!format!("{c:?}").contains("a-long-enough"));
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest::proptest! {
    /// Whatever the text, loading returns a config or diagnostics; it never panics.
    #[test]
    fn never_panics(text in "\\PC{0,400}") {
        let _ = parse_str("p.toml", &text, &opts());
    }

    /// Structured-looking garbage, which gets past the TOML parser more often.
    #[test]
    fn never_panics_on_tables(keys in proptest::collection::vec(("[a-z_]{1,12}", "[ -~]{0,30}"), 0..12),
                              section in "(tunnel|remote|selector|policy|ipsec|sa)\\.[a-z]{1,4}") {
        let mut text = format!("[{section}]\n");
        for (k, v) in keys {
            text.push_str(&format!("{k} = {v:?}\n"));
        }
        let _ = parse_str("p.toml", &text, &opts());
    }
}

#[test]
fn reauth_replaces_the_ike_rekey() {
    let text = SITE.replace("dpd = \"30s\"", "reauth = \"2h\"");
    let c = parse_str("r.toml", &text, &opts()).unwrap();
    let r = &c.remotes["site"];
    assert!(r.reauth);
    assert_eq!(r.ike_lifetime.rekey, std::time::Duration::from_secs(7200));
    // Without it: rekeyed, at the default time.
    let c = parse_str("s.toml", SITE, &opts()).unwrap();
    assert!(!c.remotes["site"].reauth);
    // Both at once is ambiguous.
    let both = SITE.replace("dpd = \"30s\"", "reauth = \"2h\"\nike_rekey = \"1h\"");
    let err = parse_str("b.toml", &both, &opts()).unwrap_err().to_string();
    assert!(
        err.contains(
            "b.toml:17:10: error: `tunnel.site.reauth` and `tunnel.site.ike_rekey` are both set"
        ),
        "{err}"
    );
}

#[test]
fn unimplemented_features_are_errors_not_no_ops() {
    let text = r#"
[tunnel.h]
remote = "192.0.2.1"
local_id = "h.example.org"
psk = "a-long-enough-pre-shared-key-for-tests"
mode = "tunnel"
mobike = true
"#;
    let err = parse_str("u.toml", text, &opts()).unwrap_err().to_string();
    assert!(
        err.contains("u.toml:7:10: error: `tunnel.h.mobike` is not supported yet"),
        "{err}"
    );
}

#[test]
fn transport_mode_between_the_two_hosts() {
    // Compact form: the selectors default to the two hosts.
    let text = r#"
[tunnel.h]
local = "192.0.2.1"
remote = "192.0.2.2"
psk = "a-long-enough-pre-shared-key-for-tests"
mode = "transport"
"#;
    let c = parse_str("t.toml", text, &opts()).unwrap();
    assert_eq!(c.ipsec["h"].mode, Mode::Transport);
    let sel: Vec<_> = c.selectors.values().collect();
    assert_eq!(sel.len(), 1);
    assert_eq!(
        sel[0].dst,
        address::AddressSpec::Host(address::Address::Ip("192.0.2.2".parse().unwrap()))
    );

    // Explicit /32 and /128 host selectors are fine too.
    let text = r#"
[tunnel.h]
local = "2001:db8::1"
remote = "2001:db8::2"
psk = "a-long-enough-pre-shared-key-for-tests"
mode = "transport"
local_ts = ["2001:db8::1/128"]
remote_ts = ["2001:db8::2/128"]
"#;
    let c = parse_str("t6.toml", text, &opts()).unwrap();
    assert_eq!(c.ipsec["h"].mode, Mode::Transport);

    // Networks, another host, and NAT-T encapsulation are refused.
    let text = r#"
[tunnel.h]
local = "192.0.2.1"
remote = "192.0.2.2"
psk = "a-long-enough-pre-shared-key-for-tests"
mode = "transport"
local_ts = ["198.51.100.0/24"]
remote_ts = ["192.0.2.3"]
encap = true
"#;
    let err = parse_str("bad.toml", text, &opts())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("source `198.51.100.0/24` is not a single host"),
        "{err}"
    );
    assert!(
        err.contains("destination 192.0.2.3 is not the peer's address 192.0.2.2"),
        "{err}"
    );
    assert!(
        err.contains("transport mode cannot be combined with `encap = true`"),
        "{err}"
    );

    // Linked form: tunnel endpoints make no sense in transport mode.
    let text = r#"
[remote.peer]
address = "192.0.2.2"
local_address = "192.0.2.1"
psk = "a-long-enough-pre-shared-key-for-tests"

[selector.out]
src = "192.0.2.1"
dst = "192.0.2.2"
policy = "p"

[policy.p]
action = "protect"
remote = "peer"
ipsec = "host"

[ipsec.host]
mode = "transport"
sa = "esp"
tunnel_remote = "192.0.2.9"

[sa.esp]
proposals = ["aes256gcm16"]
"#;
    let err = parse_str("linked.toml", text, &opts())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("transport mode has no tunnel endpoints"),
        "{err}"
    );
    let ok = text.replace("tunnel_remote = \"192.0.2.9\"\n", "");
    let c = parse_str("linked.toml", &ok, &opts()).unwrap();
    assert_eq!(c.ipsec["host"].mode, Mode::Transport);
}

/// A name the parser knows but nothing in yadokari can run is refused at
/// load, where it is written, instead of being negotiated with the peer and
/// failing when the SA is installed.
#[test]
fn algorithms_that_cannot_run_are_refused_at_load() {
    let text = r#"
[tunnel.pq]
remote = "192.0.2.1"
local_id = "pq.example.org"
psk = "a-long-enough-pre-shared-key-for-tests"
ike = "aes128gcm8-prfsha384-x25519"
esp = "aes128ctr-sha256"
"#;
    let err = parse_str("pq.toml", text, &opts()).unwrap_err().to_string();
    assert!(
        err.contains("pq.toml:6:7: error:") && err.contains("`aes128gcm8` (ENCR_AES_GCM_8)"),
        "{err}"
    );
    assert!(
        err.contains("pq.toml:7:7: error:") && err.contains("`aes128ctr` (ENCR_AES_CTR)"),
        "{err}"
    );
    assert!(err.contains("not supported for ESP"), "{err}");
}

/// Issue 18, item 18: what fails at run time fails the load.
fn errors_of(text: &str) -> Vec<String> {
    match parse_str("t.toml", text, &opts()) {
        Ok(_) => Vec::new(),
        Err(d) => d.0.iter().map(ToString::to_string).collect(),
    }
}

const TUNNEL: &str = r#"
[tunnel.a]
remote = "192.0.2.1"
local_id = "a.example.org"
psk = "a-long-enough-pre-shared-key-for-tests"
local_ts = "203.0.113.0/24"
remote_ts = "198.51.100.0/24"
"#;

#[test]
fn ike_port_and_nat_port_must_differ() {
    let e = errors_of(&format!(
        "[daemon]\nike_port = 4500\nnat_port = 4500\n{TUNNEL}"
    ));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(
            "t.toml:3:12: error: `daemon.ike_port` and `daemon.nat_port` are both 4500"
        ),
        "{e:?}"
    );
    // The default NAT-T port counts too.
    let e = errors_of(&format!("[daemon]\nike_port = 4500\n{TUNNEL}"));
    assert!(e[0].contains("are both 4500"), "{e:?}");
    assert!(errors_of(&format!(
        "[daemon]\nike_port = 500\nnat_port = 4501\n{TUNNEL}"
    ))
    .is_empty());
}

#[test]
fn more_than_255_transforms_or_proposals_is_an_error() {
    // 256 transforms in one proposal (1 + 1 + 254 KE methods): "Num
    // Transforms" is one octet.
    let groups = vec!["x25519"; 254].join("-");
    let text = format!("{TUNNEL}ike = \"aes256gcm16-prfsha256-{groups}\"\n");
    let e = errors_of(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("has 256 transforms; a proposal carries at most 255"),
        "{e:?}"
    );
    assert!(e[0].starts_with("t.toml:8:"), "{e:?}");
    // 255 is fine.
    let groups = vec!["x25519"; 253].join("-");
    assert!(errors_of(&format!(
        "{TUNNEL}ike = \"aes256gcm16-prfsha256-{groups}\"\n"
    ))
    .is_empty());

    let list = vec!["\"aes256gcm16\""; 256].join(", ");
    let e = errors_of(&format!("{TUNNEL}esp = [{list}]\n"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("256 proposals; an SA payload carries at most 255"),
        "{e:?}"
    );
}

#[test]
fn more_than_255_selectors_per_policy_is_an_error() {
    let prefixes = |n: usize| {
        (0..n)
            .map(|i| format!("\"2001:db8:{i:x}::/64\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let text = |n| {
        format!(
            "[tunnel.a]\nremote = \"192.0.2.1\"\nlocal_id = \"a.example.org\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"\nlocal_ts = \"2001:db8:ffff::/64\"\nremote_ts = [{}]\n",
            prefixes(n)
        )
    };
    let e = errors_of(&text(256));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("policy `a` has more than 255 selectors; a TS payload carries at most 255"),
        "{e:?}"
    );
    assert!(errors_of(&text(255)).is_empty());
}

const SECOND: &str = r#"
[tunnel.b]
remote = "192.0.2.9"
local_id = "a.example.org"
psk = "another-long-enough-pre-shared-key"
"#;

#[test]
fn equal_selectors_of_two_peers_are_refused_naming_both() {
    let text =
        format!("{TUNNEL}{SECOND}local_ts = \"203.0.113.0/25\"\nremote_ts = \"198.51.100.0/24\"\n");
    let e = errors_of(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("selector `a/1` (203.0.113.0/24 === 198.51.100.0/24, peer `a`) and selector `b/1` (203.0.113.0/25 === 198.51.100.0/24, peer `b`) overlap, and neither remote selector is more specific"),
        "{e:?}"
    );
    // Disjoint remote selectors, or other ports, do not overlap.
    let ok =
        format!("{TUNNEL}{SECOND}local_ts = \"203.0.113.0/24\"\nremote_ts = \"198.51.101.0/24\"\n");
    let c = parse_str("t.toml", &ok, &opts()).unwrap();
    assert!(c.warnings.is_empty());
}

#[test]
fn nested_selectors_of_two_peers_load_with_a_warning_naming_the_winner() {
    let text = format!(
        "{TUNNEL}{SECOND}local_ts = \"203.0.113.0/24\"\nremote_ts = \"198.51.100.128/25\"\n"
    );
    let c = parse_str("t.toml", &text, &opts()).unwrap();
    assert_eq!(c.warnings.len(), 1);
    let w = c.warnings[0].to_string();
    assert!(w.starts_with("t.toml:2:"), "{w}");
    assert!(w.contains(": warning: selector `a/1`"), "{w}");
    assert!(
        w.contains("traffic in the overlap goes to peer `b`, whose remote selector (in `b/1`) is the more specific"),
        "{w}"
    );
}

#[test]
fn admission_keepalive_and_window_settings() {
    use std::time::Duration;
    // Defaults.
    let c = parse_str("d.toml", SITE, &opts()).unwrap();
    assert_eq!(c.daemon.nat_keepalive, Some(Duration::from_secs(20)));
    assert_eq!(c.daemon.cookie_threshold, 64);
    assert_eq!(c.daemon.max_half_open, 4096);
    assert_eq!(c.daemon.half_open_per_source, 16);
    assert_eq!(c.remotes["site"].window, 1);
    // Set.
    let text = SITE
        .replace(
            "control_socket = \"/run/yk-test/right.sock\"",
            "control_socket = \"/run/yk-test/right.sock\"\nnat_keepalive = \"45s\"\ncookie_threshold = 0\nmax_half_open = 512\nhalf_open_per_source = 4",
        )
        .replace("dpd = \"30s\"", "window = 8");
    let c = parse_str("s.toml", &text, &opts()).unwrap();
    assert_eq!(c.daemon.nat_keepalive, Some(Duration::from_secs(45)));
    assert_eq!(c.daemon.cookie_threshold, 0);
    assert_eq!(c.daemon.max_half_open, 512);
    assert_eq!(c.daemon.half_open_per_source, 4);
    assert_eq!(c.remotes["site"].window, 8);
    // Keepalives off.
    for off in ["\"off\"", "0"] {
        let text = SITE.replace(
            "control_socket = \"/run/yk-test/right.sock\"",
            &format!("control_socket = \"/run/yk-test/right.sock\"\nnat_keepalive = {off}"),
        );
        let c = parse_str("o.toml", &text, &opts()).unwrap();
        assert_eq!(c.daemon.nat_keepalive, None);
    }
    // Out of range.
    let bad = SITE
        .replace(
            "control_socket = \"/run/yk-test/right.sock\"",
            "control_socket = \"/run/yk-test/right.sock\"\nmax_half_open = 0\nnat_keepalive = \"soon\"",
        )
        .replace("dpd = \"30s\"", "window = 65");
    let err = parse_str("b.toml", &bad, &opts()).unwrap_err().to_string();
    assert!(
        err.contains("`daemon.max_half_open` must be 1 to 1048576"),
        "{err}"
    );
    assert!(err.contains("`daemon.nat_keepalive`"), "{err}");
    assert!(
        err.contains("`tunnel.site.window` must be 1 to 64"),
        "{err}"
    );
}

#[test]
fn retry_settings_and_plain_policies() {
    let text = r#"
[tunnel.t]
local = "192.0.2.1"
remote = "192.0.2.2"
local_id = "a.example.org"
psk = "a-long-enough-pre-shared-key-for-tests"
start = "initiate"
keyingtries = 5
retry_max_interval = "2m"

[policy.pass]
action = "bypass"
[selector.pass]
src = "198.51.100.0/24"
dst = "203.0.113.7/32"
policy = "pass"
"#;
    let c = parse_str("ok.toml", text, &opts()).unwrap();
    assert_eq!(c.remotes["t"].keyingtries, 5);
    assert_eq!(
        c.remotes["t"].retry_max_interval,
        std::time::Duration::from_secs(120)
    );
    // Defaults: forever, at most a minute apart.
    let plain = text
        .replace("keyingtries = 5\n", "")
        .replace("retry_max_interval = \"2m\"\n", "");
    let c = parse_str("ok.toml", &plain, &opts()).unwrap();
    assert_eq!(c.remotes["t"].keyingtries, 0);
    assert_eq!(
        c.remotes["t"].retry_max_interval,
        std::time::Duration::from_secs(60)
    );
    // Bypass and discard are routes: no ports or protocol.
    let bad = text.replace(
        "policy = \"pass\"",
        "policy = \"pass\"\nprotocol = \"tcp\"\ndst_port = \"22\"",
    );
    let err = parse_str("bad.toml", &bad, &opts())
        .unwrap_err()
        .to_string();
    assert!(err.contains("restricts the protocol or ports"), "{err}");
}

/// The hard lifetimes can be set; they must come after the rekey time.
#[test]
fn hard_lifetimes_are_settings() {
    use std::time::Duration;
    let base = "[tunnel.h]\nremote = \"192.0.2.1\"\nlocal_id = \"h.example.org\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"\n";
    let c = parse_str(
        "h.toml",
        &format!("{base}rekey = \"10s\"\nike_rekey = \"20s\"\n"),
        &opts(),
    )
    .unwrap();
    assert_eq!(
        c.ipsec["h"].lifetime.margin,
        Duration::from_secs(1),
        "10 % by default"
    );
    let c = parse_str(
        "h.toml",
        &format!("{base}rekey = \"10s\"\nlifetime = \"30s\"\nike_rekey = \"20s\"\nike_lifetime = \"25s\"\n"),
        &opts(),
    )
    .unwrap();
    assert_eq!(c.ipsec["h"].lifetime.margin, Duration::from_secs(20));
    assert_eq!(c.remotes["h"].ike_lifetime.margin, Duration::from_secs(5));
    let err = parse_str(
        "h.toml",
        &format!("{base}rekey = \"10s\"\nlifetime = \"10s\"\n"),
        &opts(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("h.toml:6:12: error: `tunnel.h.lifetime` (10 s) must be longer than the rekey time (10 s)"),
        "{err}"
    );
}

/// RFC 7383 settings: fragmentation is on by default with 1280-byte
/// fragments, can be turned off, and the size is checked.
#[test]
fn fragmentation_settings() {
    let base = "[tunnel.t]\nremote = \"192.0.2.1\"\nlocal_id = \"t.example.org\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"\n";
    let c = parse_str("f.toml", base, &opts()).unwrap();
    assert_eq!(c.remotes["t"].fragment_size, Some(1280));
    let c = parse_str("f.toml", &format!("{base}fragment_size = 576\n"), &opts()).unwrap();
    assert_eq!(c.remotes["t"].fragment_size, Some(576));
    let c = parse_str("f.toml", &format!("{base}fragmentation = false\n"), &opts()).unwrap();
    assert_eq!(c.remotes["t"].fragment_size, None);
    let e = parse_str("f.toml", &format!("{base}fragment_size = 100\n"), &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("f.toml:5:17") && e.contains("576 to 9000"),
        "{e}"
    );
}

/// RFC 8784 post-quantum preshared keys: `ppk_id` with `ppk`/`ppk_file`,
/// `ppk_required`; incomplete or short keys are located errors.
#[test]
fn post_quantum_preshared_key_settings() {
    let base = "[tunnel.t]\nremote = \"192.0.2.1\"\nlocal_id = \"t.example.org\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"\n";
    let c = parse_str("p.toml", base, &opts()).unwrap();
    assert!(c.remotes["t"].ppk.is_none());
    let c = parse_str(
        "p.toml",
        &format!("{base}ppk_id = \"q\"\nppk = \"a-post-quantum-preshared-key-of-32-bytes\"\nppk_required = true\n"),
        &opts(),
    )
    .unwrap();
    let p = c.remotes["t"].ppk.as_ref().unwrap();
    assert_eq!((p.id.as_str(), p.required), ("q", true));
    let e = parse_str("p.toml", &format!("{base}ppk_id = \"q\"\n"), &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p.toml:5:10") && e.contains("gives no key"),
        "{e}"
    );
    let e = parse_str(
        "p.toml",
        &format!("{base}ppk_id = \"q\"\nppk = \"short\"\n"),
        &opts(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("p.toml:6:7") && e.contains("too short"), "{e}");
    let e = parse_str("p.toml", &format!("{base}ppk_required = true\n"), &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p.toml:5:16") && e.contains("no `ppk_id`"),
        "{e}"
    );
}

#[test]
fn childless_setting() {
    let base = "[tunnel.t]\nremote = \"192.0.2.1\"\nlocal_id = \"t.example.org\"\npsk = \"a-long-enough-pre-shared-key-for-tests\"\n";
    let c = parse_str("c.toml", base, &opts()).unwrap();
    assert_eq!(
        c.remotes["t"].childless,
        yadokari_config::model::Childless::Allow
    );
    let c = parse_str("c.toml", &format!("{base}childless = \"force\"\n"), &opts()).unwrap();
    assert_eq!(
        c.remotes["t"].childless,
        yadokari_config::model::Childless::Force
    );
    let e = parse_str("c.toml", &format!("{base}childless = \"maybe\"\n"), &opts())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.toml:5:13") && e.contains("allow, prefer, force or never"),
        "{e}"
    );
}
