//! Ready-made configurations for the two simulated peers: A initiates to
//! B with a PSK, one tunnel-mode child between two documentation subnets.

use std::net::SocketAddr;
use std::time::Duration;

use yadokari_ike::{
    AuthConfig, ChildConfig, Config, ConnConfig, DpdAction, Identity, Lifetime, Mode, PskKey,
    RetransmitConfig, TrafficSelector,
};

use crate::{ADDR_A, ADDR_B};

/// Knobs for [`pair`].
#[derive(Debug, Clone)]
pub struct PairOptions {
    pub ike_a: Vec<&'static str>,
    pub ike_b: Vec<&'static str>,
    pub esp_a: Vec<&'static str>,
    pub esp_b: Vec<&'static str>,
    pub psk_a: &'static [u8],
    pub psk_b: &'static [u8],
    pub ike_lifetime: Lifetime,
    pub child_lifetime: Lifetime,
    pub dpd: Option<Duration>,
    pub dpd_action: DpdAction,
    pub mode_a: Mode,
    pub mode_b: Mode,
    pub force_encap_a: bool,
    pub window: u32,
    pub cookie_threshold: usize,
    pub retransmit: RetransmitConfig,
    /// A's selectors (local, remote); B gets them mirrored unless overridden.
    pub ts_a: (&'static str, &'static str),
    pub ts_b: Option<(&'static str, &'static str)>,
    /// Sides that know the peer's address reauthenticate instead of rekeying.
    pub reauth: bool,
}

impl Default for PairOptions {
    fn default() -> Self {
        Self {
            ike_a: vec!["aes256gcm16-prfsha256-x25519"],
            ike_b: vec!["aes256gcm16-prfsha256-x25519"],
            esp_a: vec!["aes256gcm16"],
            esp_b: vec!["aes256gcm16"],
            psk_a: b"correct horse battery staple",
            psk_b: b"correct horse battery staple",
            ike_lifetime: Lifetime::NEVER,
            child_lifetime: Lifetime::NEVER,
            dpd: None,
            dpd_action: DpdAction::Clear,
            mode_a: Mode::Tunnel,
            mode_b: Mode::Tunnel,
            force_encap_a: false,
            window: 1,
            cookie_threshold: 64,
            retransmit: RetransmitConfig {
                initial: Duration::from_millis(500),
                factor: 2.0,
                max_interval: Duration::from_secs(8),
                tries: 6,
                total: Duration::from_secs(60),
            },
            ts_a: ("198.51.100.0/24", "203.0.113.0/24"),
            ts_b: None,
            reauth: false,
        }
    }
}

fn ts(s: &str) -> Vec<TrafficSelector> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse()
                .unwrap_or_else(|e| panic!("selector {x}: {e:?}"))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn conn(
    o: &PairOptions,
    me: &str,
    peer: &str,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    ike: &[&str],
    esp: &[&str],
    psk: &[u8],
    mode: Mode,
    tsl: &str,
    tsr: &str,
    force: bool,
) -> ConnConfig {
    ConnConfig {
        name: format!("{me}-{peer}"),
        local_addr: Some(local),
        remote_addr: remote,
        local_id: Identity::Fqdn(format!("{me}.example")),
        remote_id: Some(Identity::Fqdn(format!("{peer}.example"))),
        local_auth: AuthConfig::Psk(PskKey::new(psk.to_vec())),
        remote_auth: AuthConfig::Psk(PskKey::new(psk.to_vec())),
        ike_proposals: ike
            .iter()
            .map(|p| {
                yadokari_config::proposal::parse_ike_proposal(p)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .to_core()
            })
            .collect(),
        children: vec![ChildConfig {
            name: "net".into(),
            ts_local: ts(tsl),
            ts_remote: ts(tsr),
            proposals: esp
                .iter()
                .map(|p| {
                    yadokari_config::proposal::parse_esp_proposal(p)
                        .unwrap_or_else(|e| panic!("{e}"))
                        .to_core()
                })
                .collect(),
            mode,
            lifetime: o.child_lifetime,
        }],
        ike_lifetime: o.ike_lifetime,
        dpd_delay: o.dpd,
        dpd_action: o.dpd_action,
        force_encap: force,
        reauth: o.reauth && remote.is_some(),
        window: o.window,
        retry: yadokari_ike::RetryConfig::default(),
        fragment_size: Some(yadokari_ike::frag::DEFAULT_FRAGMENT_SIZE),
        ppk: None,
        childless: yadokari_ike::Childless::Allow,
    }
}

/// Configs for A (initiator, conn 0 towards B) and B (responder).
pub fn pair(o: &PairOptions) -> (Config, Config) {
    let a_addr = SocketAddr::new(ADDR_A, 500);
    let b_addr = SocketAddr::new(ADDR_B, 500);
    let (bl, br) = o.ts_b.unwrap_or((o.ts_a.1, o.ts_a.0));
    let base = Config {
        retransmit: o.retransmit,
        cookie_threshold: o.cookie_threshold,
        ..Config::default()
    };
    // Each side's psk_x is the key it uses for both directions.
    let a = Config {
        connections: vec![conn(
            o,
            "a",
            "b",
            a_addr,
            Some(b_addr),
            &o.ike_a,
            &o.esp_a,
            o.psk_a,
            o.mode_a,
            o.ts_a.0,
            o.ts_a.1,
            o.force_encap_a,
        )],
        ..base.clone()
    };
    let b = Config {
        connections: vec![conn(
            o,
            "b",
            "a",
            b_addr,
            Some(a_addr),
            &o.ike_b,
            &o.esp_b,
            o.psk_b,
            o.mode_b,
            bl,
            br,
            false,
        )],
        ..base
    };
    let mut b = b;
    // B accepts A from any address (A may sit behind a NAT).
    b.connections[0].remote_addr = None;
    b.connections[0].reauth = false;
    (a, b)
}
