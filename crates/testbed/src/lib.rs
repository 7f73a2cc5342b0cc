//! Test support (dev-only): network namespaces with veth links on
//! documentation addresses, strongSwan charons driven over VICI, tcpdump
//! captures, and the keys charon logs turned into Wireshark tables.
//!
//! Used by integration tests of the other crates (yadokari ⇄ strongSwan
//! interop per RFC 7296, ESP in UDP per RFC 4303 / RFC 3948) and by the
//! fixture capture script. Everything needs root and a few tools;
//! [`require_root_and_tools`] says why a test cannot run so it can skip
//! with a one-line reason.
//!
//! ```no_run
//! use yadokari_testbed::*;
//! # fn main() -> anyhow::Result<()> {
//! if let Some(why) = require_root_and_tools() { eprintln!("skipped: {why}"); return Ok(()); }
//! let topo = Topology::direct("my_test")?;
//! let l = StrongSwan::start(&topo.left, "left",
//!     &site_to_site(&topo, Side::Left, Family::V4, &[Family::V4]), &CharonOptions::default())?;
//! let r = StrongSwan::start(&topo.right, "right",
//!     &site_to_site(&topo, Side::Right, Family::V4, &[Family::V4]), &CharonOptions::default())?;
//! l.initiate("site4")?;
//! assert!(topo.ping(Side::Left, topo.addrs(Side::Right).site4)?);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod capture;
pub mod charon_log;
pub mod fixtures;
pub mod iperf;
pub mod netns;
pub mod pki;
pub mod strongswan;
pub mod swanctl_conf;
pub mod topology;
pub mod vici;
pub mod wireshark;
pub mod yadokarid;

pub use capture::Capture;
pub use charon_log::{ChildSaKeys, IkeSaKeys, LogKeys};
pub use iperf::{IperfServer, UdpClient, UdpCounts, UdpReport, UdpStream};
pub use netns::{unique_prefix, Netns};
pub use pki::{KeyType, Pki};
pub use strongswan::{CharonOptions, ChildSaInfo, Credentials, IkeSaInfo, StrongSwan};
pub use swanctl_conf::{
    site_to_site, Auth, AuthMethod, Child, Connection, Fragmentation, Mode, Psk, SwanctlConf,
    TEST_PSK,
};
pub use topology::{Family, Side, SideAddrs, Topology, TopologyKind};
pub use yadokarid::Yadokarid;

use std::path::Path;

/// Programs the full test bed uses.
pub const TOOLS: &[&str] = &[
    "ip", "unshare", "swanctl", "tcpdump", "tshark", "nft", "ping", "pki",
];

/// Why the namespace/strongSwan tests cannot run here, or None if they
/// can: not root, a program missing, charon or one of its plugins
/// missing, no `/dev/net/tun`. Tests print the reason and return.
///
/// With `YK_TESTBED_REQUIRED=1` in the environment (set it in CI, where
/// everything is installed) a missing piece panics instead, so a broken
/// set-up cannot pass as a row of skipped tests.
#[must_use]
pub fn require_root_and_tools() -> Option<String> {
    require(TOOLS)
}

/// Like [`require_root_and_tools`] with an explicit program list (charon
/// and its plugins are always checked).
#[must_use]
pub fn require(tools: &[&str]) -> Option<String> {
    let reason = missing(tools);
    if let Some(r) = &reason {
        if std::env::var("YK_TESTBED_REQUIRED").is_ok_and(|v| v == "1") {
            panic!("YK_TESTBED_REQUIRED=1 but the test bed is unusable: {r}");
        }
    }
    reason
}

/// For the first line of a namespace test: `true` (after saying why on
/// stderr) when the test bed is unusable here — not root, or one of `tools`
/// missing — so the test returns; with `YK_TESTBED_REQUIRED=1` that is a
/// failure instead ([`require`]).
#[must_use]
pub fn skip_without(tools: &[&str]) -> bool {
    match require(tools) {
        Some(reason) => {
            eprintln!("skipped: {reason}");
            true
        }
        None => false,
    }
}

fn missing(tools: &[&str]) -> Option<String> {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        });
    if uid.as_deref() != Some("0") {
        return Some("needs root (network namespaces)".to_owned());
    }
    for t in tools {
        if !topology::have_program(t) {
            return Some(format!("program {t} not found"));
        }
    }
    let Some(charon) = strongswan::charon_path() else {
        return Some("strongSwan charon not found (apt-get install strongswan-charon)".to_owned());
    };
    let plugins = charon.parent().map_or_else(
        || Path::new("/usr/lib/ipsec/plugins").to_owned(),
        |p| p.join("plugins"),
    );
    for p in strongswan::REQUIRED_PLUGIN_FILES {
        if !plugins.join(format!("libstrongswan-{p}.so")).exists() {
            return Some(format!(
                "strongSwan plugin {p} missing in {} (libstrongswan-standard-plugins, libcharon-extra-plugins)",
                plugins.display()
            ));
        }
    }
    if !Path::new("/dev/net/tun").exists() {
        return Some("/dev/net/tun missing".to_owned());
    }
    None
}

/// Skips the calling test (prints `skipped: REASON` and returns) unless
/// the test bed is usable. For tests returning `()`; in a test returning
/// `Result`, use `skip_unless_testbed!(Ok(()))`.
#[macro_export]
macro_rules! skip_unless_testbed {
    () => {
        if let Some(reason) = $crate::require_root_and_tools() {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    ($ret:expr) => {
        if let Some(reason) = $crate::require_root_and_tools() {
            eprintln!("skipped: {reason}");
            return $ret;
        }
    };
}
