//! Traffic selectors are `yadokari-policy`'s one type (RFC 7296 §3.13.1),
//! re-exported; so are the packet matching ([`yadokari_policy::FlowKey`])
//! and the outbound lookup ([`yadokari_policy::OutboundTable`]). What is
//! left here is the data plane's side of the match: a parsed packet.

pub use yadokari_policy::TrafficSelector;

use crate::ip::FiveTuple;

/// Whether a packet's source matches one of `src_side` and its destination
/// one of `dst_side`: (local, remote) for a packet going out, (remote,
/// local) for one that came out of an inbound SA.
#[must_use]
pub fn tuple_matches(
    t: &FiveTuple,
    src_side: &[TrafficSelector],
    dst_side: &[TrafficSelector],
) -> bool {
    t.flow().matches(src_side, dst_side)
}
