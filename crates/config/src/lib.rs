//! yadokari's configuration: one TOML file, validated as a whole at load.
//!
//! The model is racoon2's (`selector` → `policy` → `ipsec` → `sa`, and
//! `remote` for the peer), plus a compact `[tunnel.NAME]` form for the common
//! site-to-site and host-to-host cases. Every problem in a file is reported in
//! one run, each with file:line:column and, where one helps, a hint
//! ([`Diagnostics`]). Defaults are a modern suite; legacy algorithms need an
//! explicit `allow_legacy = true`. The crate does no I/O besides reading the
//! file and its secret files: FQDNs and address macros are resolved by the
//! daemon. The format is documented in `docs/config.md`.
#![forbid(unsafe_code)]

pub mod address;
mod diag;
pub mod duration;
pub mod identity;
mod load;
pub mod model;
pub mod proposal;
mod reader;
pub mod secret;

pub use diag::{Diagnostic, Diagnostics, Warning};
pub use load::{load_file, locate_key, parse_str, LoadOptions};
pub use model::*;
