//! Traffic selectors as data: one selector type, narrowing, and the
//! outbound longest-prefix lookup of the data plane.
//!
//! - [`ts`]: one traffic selector (RFC 7296 §3.13.1, RFC 4301 §4.4.1.1) and
//!   its algebra — intersection, containment, packet matching.
//! - [`ports`]: the protocol and port dimensions (ANY, OPAQUE, ICMP/MH
//!   type and code in the port fields).
//! - [`set`]: [`TsSet`], the ordered list carried in a TSi or TSr payload,
//!   with exact union semantics.
//! - [`narrow`]: TS narrowing for responder and initiator (RFC 7296 §2.9).
//! - [`prefix`]: CIDR prefixes and range → minimal prefix list.
//! - [`flow`]: [`FlowKey`], the selector fields of one packet, and
//!   matching it against a CHILD SA's selectors.
//! - [`lpm`]: [`OutboundTable`], the data plane's outbound lookup: packet
//!   to CHILD SA by longest-prefix match on the destination, protocol and
//!   port selectors honoured.
//! - [`mode`]: [`Mode`], tunnel or transport (RFC 4301 §4.1).
//!
//! There is no SPD or SAD type here. The SPD is the configuration, which
//! the daemon turns into routes into the TUN device (fail-closed), IKE
//! connections and bypass/discard routes; the SAD is the data plane's
//! per-worker tables: SPI to inbound SA, and this crate's
//! [`OutboundTable`] for the outbound direction.
//!
//! No I/O, no clocks; everything here is plain data and pure functions.
#![forbid(unsafe_code)]

pub mod flow;
pub mod lpm;
pub mod mode;
pub mod narrow;
pub mod ports;
pub mod prefix;
pub mod set;
pub mod ts;

pub use flow::FlowKey;
pub use lpm::{EntryId, OutboundTable};
pub use mode::Mode;
pub use narrow::{
    narrow_responder, select_and_narrow, verify_response, InitiatorCheck, NarrowError, NarrowMode,
    Narrowed, TsPolicy, TsSide, TsViolation,
};
pub use prefix::{range_to_prefixes, IpPrefix};
pub use set::TsSet;
pub use ts::{AddrRange, IpProtocol, PortRange, TrafficSelector, TsError, TsType};
