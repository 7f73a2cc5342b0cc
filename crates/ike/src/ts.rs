//! Traffic selectors come from `yadokari-policy` (RFC 7296 §3.13.1), as
//! does narrowing (§2.9, `yadokari_policy::narrow`). The data plane still
//! keeps a per-packet selector type of its own (`yadokari_dataplane::
//! TrafficSelector`), filled from these at SA install.

pub use yadokari_policy::{TrafficSelector, TsSet};
