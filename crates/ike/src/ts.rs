//! Traffic selectors come from `yadokari-policy` (RFC 7296 §3.13.1), as
//! does narrowing (§2.9, `yadokari_policy::narrow`). It is the one selector
//! type: the data plane installs and looks up CHILD SAs by the same type
//! (`yadokari_policy::OutboundTable`), and the wire's TS payload converts
//! to and from it in one place, this crate's codec.

pub use yadokari_policy::{TrafficSelector, TsSet};
