//! IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registries.
//!
//! Each registry is a newtype over its wire integer with IANA-named
//! constants, so values this code does not know survive a parse/emit round
//! trip (RFC 7296 §3.2: unknown payload types are skipped unless critical;
//! §3.10.1: unknown status notifications MUST be ignored). `name()` gives the
//! IANA spelling, `Debug` prints `NAME(value)` and `Display` the name alone
//! (or the number when unknown).

#[macro_use]
mod macros;
mod ike;
mod notify;
mod transform;

pub use ike::{
    AuthMethod, CertEncoding, CfgType, ConfigAttributeType, EapCode, ExchangeType, GatewayIdType,
    HashAlgorithm, IdType, IpcompId, PayloadType, ProtocolId, TsType,
};
pub use notify::NotifyType;
pub use transform::{
    EncrId, EsnId, IntegId, KeMethod, PrfId, TransformAttributeType, TransformType,
};
