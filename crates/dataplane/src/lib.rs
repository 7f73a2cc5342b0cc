//! User-space ESP data plane over TUN: route-based, one multipoint TUN
//! device shared by all peers, ESP in UDP (RFC 4303 tunnel mode, RFC 3948
//! UDP encapsulation on port 4500, or raw ESP as IP protocol 50 when no
//! NAT is in the way), and transport mode between two hosts
//! (RFC 4303 §3.1.1, see [`transport`]).
//!
//! Outbound: TUN read (super-packets split) → SA lookup over the installed
//! CHILD SAs' traffic selectors → ESP encapsulation in place → batched UDP
//! send with GSO. Inbound: batched UDP receive with GRO → classification
//! (NAT keepalive / IKE with non-ESP marker → the daemon, unchanged / ESP) → SPI
//! lookup → replay and ICV check → selector check of the inner packet →
//! batched TUN write with GRO coalescing.
//!
//! The daemon drives it through [`DataPlane`]: install/remove SAs (manual or
//! from IKE), take [`IkeDatagram`]s and [`Event`]s through its [`Handoff`]
//! (or read them from [`Channels`]), send IKE with [`DataPlane::send_ike`],
//! and read [`CountersSnapshot`]s. The non-ESP marker is only read here, to
//! tell IKE from ESP: IKE datagrams pass through as UDP payloads, and the
//! IKE core adds and strips the marker.
//!
//! The workers are generic over the I/O traits of [`io`] (TUN queue, UDP
//! socket, raw ESP socket), monomorphized for the `yadokari-sys` types in
//! [`DataPlane`] and for the in-memory [`fake`]s in the unit tests, which
//! run the workers' batching, GSO grouping, GRO splitting and TUN
//! coalescing without root. Every dropped packet is counted under a
//! [`DropReason`]; no drop path allocates.
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod bench;
pub mod counters;
mod engine;
#[doc(hidden)]
pub mod fake;
mod inbound;
pub mod io;
pub mod ip;
mod outbound;
pub mod sa;
pub mod selector;
pub mod transform;
pub mod transport;
#[cfg(test)]
mod worker_tests;

pub use counters::{DropCounts, DropReason, GlobalCounts, SaCounts};
pub use engine::{
    Channels, Config, CountersSnapshot, DataPlane, DataPlaneError, Direction, Event, Handoff,
    IkeDatagram,
};
pub use sa::{tunnel_mtu, EspTransport, InboundSa, ManualSa, OutboundSa, Standby};
pub use selector::TrafficSelector;
pub use transform::{AeadAlgorithm, EspDecap, EspEncap};
pub use transport::{SaMode, TransportAddrs};
