//! The core's own view of an IKE message: header fields plus an owned list
//! of the payloads the state machines decide on (RFC 7296 §3). `codec`
//! converts between this and the wire crate, so protocol code never touches
//! bytes and the wire crate stays free of decisions (style guide §c).

use crate::config::Identity;
use crate::proposal::Proposal;
use crate::reg::{exchange, notify};
use crate::ts::TrafficSelector;

/// Header fields the core sets or checks (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub spi_i: u64,
    pub spi_r: u64,
    pub exchange: u8,
    /// I flag: the sender is the original initiator.
    pub initiator: bool,
    /// R flag.
    pub response: bool,
    pub message_id: u32,
}

/// A Notify payload (§3.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub protocol: u8,
    pub spi: Vec<u8>,
    pub ty: u16,
    pub data: Vec<u8>,
}

impl Notify {
    pub fn new(ty: u16, data: Vec<u8>) -> Self {
        Self {
            protocol: 0,
            spi: Vec::new(),
            ty,
            data,
        }
    }

    pub fn with_spi(protocol: u8, spi: Vec<u8>, ty: u16, data: Vec<u8>) -> Self {
        Self {
            protocol,
            spi,
            ty,
            data,
        }
    }
}

/// A Delete payload (§3.11): protocol and the SPIs (empty for IKE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delete {
    pub protocol: u8,
    pub spis: Vec<u32>,
}

/// The payloads the core understands; everything else is `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Sa(Vec<Proposal>),
    Ke {
        group: u16,
        data: Vec<u8>,
    },
    Nonce(Vec<u8>),
    IdI(Identity),
    IdR(Identity),
    Auth {
        method: u8,
        data: Vec<u8>,
    },
    Notify(Notify),
    /// CERT (§3.6): encoding and data.
    Cert {
        encoding: u8,
        data: Vec<u8>,
    },
    /// CERTREQ (§3.7): encoding and Certification Authority data.
    CertReq {
        encoding: u8,
        data: Vec<u8>,
    },
    Delete(Delete),
    TsI(Vec<TrafficSelector>),
    TsR(Vec<TrafficSelector>),
    Vendor(Vec<u8>),
    /// A payload we skip (non-critical, or critical but handled by the codec).
    Other {
        ty: u8,
    },
}

/// A decoded (or to-be-encoded) message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub header: Header,
    pub payloads: Vec<Payload>,
}

impl Message {
    pub fn new(header: Header) -> Self {
        Self {
            header,
            payloads: Vec::new(),
        }
    }

    pub fn push(&mut self, p: Payload) -> &mut Self {
        self.payloads.push(p);
        self
    }

    pub fn sa(&self) -> Option<&[Proposal]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Sa(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn ke(&self) -> Option<(u16, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Ke { group, data } => Some((*group, data.as_slice())),
            _ => None,
        })
    }

    pub fn nonce(&self) -> Option<&[u8]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Nonce(n) => Some(n.as_slice()),
            _ => None,
        })
    }

    pub fn id_i(&self) -> Option<&Identity> {
        self.payloads.iter().find_map(|p| match p {
            Payload::IdI(i) => Some(i),
            _ => None,
        })
    }

    pub fn id_r(&self) -> Option<&Identity> {
        self.payloads.iter().find_map(|p| match p {
            Payload::IdR(i) => Some(i),
            _ => None,
        })
    }

    pub fn auth(&self) -> Option<(u8, &[u8])> {
        self.payloads.iter().find_map(|p| match p {
            Payload::Auth { method, data } => Some((*method, data.as_slice())),
            _ => None,
        })
    }

    /// CERT payloads with this encoding, in order.
    pub fn certs(&self, encoding: u8) -> Vec<Vec<u8>> {
        self.payloads
            .iter()
            .filter_map(|p| match p {
                Payload::Cert { encoding: e, data } if *e == encoding => Some(data.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn ts_i(&self) -> Option<&[TrafficSelector]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsI(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn ts_r(&self) -> Option<&[TrafficSelector]> {
        self.payloads.iter().find_map(|p| match p {
            Payload::TsR(v) => Some(v.as_slice()),
            _ => None,
        })
    }

    pub fn notifies(&self) -> impl Iterator<Item = &Notify> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Notify(n) => Some(n),
            _ => None,
        })
    }

    pub fn notify(&self, ty: u16) -> Option<&Notify> {
        self.notifies().find(|n| n.ty == ty)
    }

    pub fn has_notify(&self, ty: u16) -> bool {
        self.notify(ty).is_some()
    }

    /// The first error notify (type < 16384), if any (§3.10.1).
    pub fn error_notify(&self) -> Option<&Notify> {
        self.notifies().find(|n| notify::is_error(n.ty))
    }

    pub fn deletes(&self) -> impl Iterator<Item = &Delete> {
        self.payloads.iter().filter_map(|p| match p {
            Payload::Delete(d) => Some(d),
            _ => None,
        })
    }

    /// Whether the exchange type is one RFC 7296 defines.
    pub fn known_exchange(&self) -> bool {
        matches!(
            self.header.exchange,
            exchange::IKE_SA_INIT
                | exchange::IKE_AUTH
                | exchange::CREATE_CHILD_SA
                | exchange::INFORMATIONAL
        )
    }
}
