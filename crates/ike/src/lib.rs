//! Sans-IO IKEv2 protocol core (RFC 7296): IKE SA and CHILD SA state
//! machines, one module per exchange, retransmission and windows, COOKIEs,
//! NAT-T as an extension on the message bus.
//!
//! The core owns no socket, thread, clock or entropy source (style guide
//! §b). A driver feeds it datagrams ([`IkeEndpoint::handle_datagram`]),
//! commands ([`IkeEndpoint::handle_command`]) and timer ticks
//! ([`IkeEndpoint::handle_timeout`]), each with the current [`Instant`]
//! (std::time::Instant), and drains [`IkeEndpoint::poll_transmit`],
//! [`IkeEndpoint::poll_event`] and [`IkeEndpoint::poll_timeout`].
//!
//! Layout: [`endpoint`] (demultiplexing, admission, windows), `sa` (the IKE
//! SA lifecycle enum and send path), `child` (CHILD SA table), `exchange::*`
//! (IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL), `ext::*`
//! (extensions per stage: NAT-T), [`timer`] (timer tables), [`window`]
//! (message IDs, retransmission), `codec` (wire adapter), `suite` (crypto
//! adapter). See `docs/design/ike-core.md`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod child;
pub mod codec;
pub mod config;
pub mod cookie;
pub mod cx;
pub mod endpoint;
pub mod error;
pub mod event;
pub mod exchange;
pub mod ext;
pub mod frag;
pub mod msg;
pub mod proposal;
pub mod reg;
pub mod retry;
pub mod rng;
pub mod sa;
pub mod suite;
pub mod timer;
pub mod ts;
pub mod window;

pub use config::{
    AuthConfig, ChildConfig, Childless, Config, ConnConfig, ConnId, ConnTableError, DpdAction,
    Identity, Lifetime, LocalCert, Mode, PpkConfig, PskKey, RetransmitConfig, RetryConfig,
};
pub use endpoint::{ChildSaView, IkeEndpoint, IkeSaLifecycle, IkeSaView, SaCounts};
pub use error::{
    Counters, DropReason, FailureReason, IkeError, Malformed, PeerIncompatible, PeerMisbehaved,
};
pub use event::{
    ChildKeys, ChildSaInfo, ChildSaKeys, Command, DownReason, Event, IkeSaId, Path, Transmit,
    UdpEncap,
};
pub use proposal::{ChildAlgorithms, ChildProposal, IkeProposal, Transform};
pub use retry::{LastError, RetryStatus};
pub use rng::{DeterministicRandom, Rng, SecureRandom};
pub use ts::TrafficSelector;
