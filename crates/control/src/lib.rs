//! The control API between `yadokarid` and `yadokari` (and any other client).
//!
//! Transport: a Unix stream socket (path from the daemon's configuration or
//! command line, so several daemons can run side by side, one per network
//! namespace). Framing: one JSON object per line in each direction. A client
//! sends one [`Request`] and reads [`Response`] lines: exactly one for most
//! commands, a stream of [`Response::Log`] lines for `logs --follow`.
//!
//! The JSON shapes are a contract documented in `docs/control-api.md`; field
//! names here are the wire names.
#![forbid(unsafe_code)]

mod client;
pub mod time;
mod types;

pub use client::{Client, ClientError};
pub use types::*;
