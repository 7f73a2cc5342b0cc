//! SPD/SAD as data: traffic selectors, narrowing, longest-prefix lookup.
//!
//! - [`ts`]: one traffic selector (RFC 7296 §3.13.1, RFC 4301 §4.4.1.1) and
//!   its algebra — intersection, containment, packet matching.
//! - [`ports`]: the protocol and port dimensions (ANY, OPAQUE, ICMP/MH
//!   type and code in the port fields).
//! - [`set`]: [`TsSet`], the ordered list carried in a TSi or TSr payload,
//!   with exact union semantics.
//! - [`narrow`]: TS narrowing for responder and initiator (RFC 7296 §2.9).
//! - [`prefix`]: CIDR prefixes and range → minimal prefix list.
//! - [`lpm`]: the longest-prefix-match table from destination to outbound
//!   CHILD SA for the route-based data plane.
//! - [`spd`]: the ordered SPD with PROTECT/BYPASS/DISCARD (RFC 4301 §4.4.1).
//! - [`sad`]: SPI and reqid indexes into the SAD (RFC 4301 §4.4.2).
//!
//! No I/O, no clocks; everything here is plain data and pure functions.
#![forbid(unsafe_code)]

pub mod lpm;
pub mod narrow;
pub mod ports;
pub mod prefix;
pub mod sad;
pub mod set;
pub mod spd;
pub mod ts;

pub use lpm::{CompiledLpm, LpmTable, OutboundSaTable};
pub use narrow::{
    narrow_responder, select_and_narrow, verify_response, InitiatorCheck, NarrowError, NarrowMode,
    Narrowed, TsPolicy, TsSide, TsViolation,
};
pub use prefix::{range_to_prefixes, IpPrefix};
pub use sad::{SaPair, SadIndex};
pub use set::TsSet;
pub use spd::{Action, Direction, FlowKey, ReqId, Spd, SpdEntry};
pub use ts::{AddrRange, IpProtocol, PortRange, TrafficSelector, TsError, TsType};
