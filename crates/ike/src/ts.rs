//! Traffic selectors come from `yadokari-policy` (RFC 7296 §3.13.1), so the
//! data plane and the core share one type; narrowing (§2.9) is
//! `yadokari_policy::narrow`.

pub use yadokari_policy::{TrafficSelector, TsSet};
