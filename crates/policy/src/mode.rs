//! IPsec mode (RFC 4301 §4.1), one of the things an SPD entry says about
//! the SAs that protect its traffic (§4.4.1.2). It lives here, below both
//! protocol cores, because both need it: the IKE core negotiates it
//! (USE_TRANSPORT_MODE, RFC 7296 §1.3.1) and the ESP core seals and opens
//! by it (RFC 4303 §3.1). Both re-export this one type.

/// Tunnel or transport mode (RFC 4301 §4.1, RFC 4303 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The ESP payload is a whole IP packet (Next Header 4 or 41).
    Tunnel,
    /// The ESP payload is an upper-layer protocol's data, between the two
    /// hosts of the SA.
    Transport,
}
