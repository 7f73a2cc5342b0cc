//! IKEv2/ESP cryptographic transforms over aws-lc-rs: PRF and prf+, integrity,
//! ciphers for the SK payload, key derivation, AUTH for shared keys, and the
//! key-exchange groups (RFC 7296 §2.13–§2.18, §3.14); signatures behind a
//! signing handle (`signature`, RFC 7427) and X.509 certificates (`cert`:
//! parsing with x509-parser, path validation with rustls-webpki).
//!
//! Everything hot goes through aws-lc-rs; the only hand-written primitive is
//! AES-XCBC (RFC 3566) over single-block AES, and MODP exponentiation uses
//! the pure-Rust, constant-time `crypto-bigint`. Secrets are wiped on drop
//! and never printed by `Debug`; MAC and AUTH comparisons are constant time.
//! Randomness is injected through [`rand::SecureRandom`] so the sans-IO IKE
//! core can run deterministically in simulation.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod cert;
pub mod error;
pub mod hash;
pub mod ids;
pub mod integ;
pub mod ke;
pub mod keys;
mod mac;
pub mod prf;
pub mod rand;
pub mod secret;
pub mod signature;
pub mod sk;

pub use auth::{AuthSigner, AuthVerifier, PskAuth, SignedOctets};
pub use error::{CryptoError, Result};
pub use ids::{AuthMethod, EncrAlgorithm, IntegAlgorithm, KeGroup, PrfAlgorithm};
pub use integ::Integ;
pub use ke::{KeyExchange, SharedSecret};
pub use keys::{ChildSaKeys, IkeSaKeys, IkeSuite, Role, SkCipherPair};
pub use prf::Prf;
pub use rand::{DeterministicRandom, SecureRandom, SystemRandom};
pub use secret::{PrfOutput, SecretBytes};
pub use sk::{EncrTransform, SkCipher, SkLayout};
