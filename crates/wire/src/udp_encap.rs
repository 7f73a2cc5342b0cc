//! UDP encapsulation of IKE and ESP on port 4500 (RFC 3948 §2, RFC 7296
//! §2.23): telling apart the three kinds of datagram that share the port.
//!
//! - **NAT-keepalive** (RFC 3948 §2.3): a single octet 0xFF.
//! - **IKE** (RFC 3948 §2.2): the 4-byte non-ESP marker (all zero) — which
//!   sits where an ESP SPI would be, and SPI 0 is never sent (RFC 4303
//!   §2.1) — followed by the IKE message.
//! - **ESP** (RFC 3948 §2.1): anything else; the first four bytes are the
//!   (non-zero) SPI of the ESP header.
//!
//! The UDP header itself (and its checksum, which RFC 3948 §2.1 lets the
//! sender set to zero) is the I/O layer's business, not this module's.

use crate::esp::{Header, HeaderError, HeaderErrorKind};

/// The IKE/ESP NAT-traversal port.
pub const PORT: u16 = 4500;
/// The non-ESP marker that precedes IKE messages on port 4500.
pub const NON_ESP_MARKER: [u8; 4] = [0; 4];
/// Length of [`NON_ESP_MARKER`].
pub const NON_ESP_MARKER_LEN: usize = 4;
/// The single octet of a NAT-keepalive packet.
pub const NAT_KEEPALIVE: u8 = 0xFF;
/// Length of the fixed IKE header (RFC 7296 §3.1); a shorter IKE message
/// cannot be valid.
pub const IKE_HEADER_LEN: usize = 28;

/// What a UDP payload received on port 4500 carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datagram<'a> {
    /// A NAT-keepalive; the receiver ignores it (RFC 3948 §2.3).
    NatKeepalive,
    /// An IKE message, the non-ESP marker removed.
    Ike(&'a [u8]),
    /// An ESP packet (starting at the SPI), unchanged.
    Esp(&'a [u8]),
}

impl<'a> Datagram<'a> {
    /// Classifies a UDP payload received on port 4500.
    ///
    /// Errors: a payload of 1–7 bytes other than a keepalive (an ESP header
    /// alone is 8 bytes), and an IKE message shorter than its header.
    pub fn classify(payload: &'a [u8]) -> Result<Self, HeaderError> {
        match payload {
            [NAT_KEEPALIVE] => Ok(Datagram::NatKeepalive),
            [0, 0, 0, 0, ike @ ..] => {
                if ike.len() < IKE_HEADER_LEN {
                    return Err(HeaderError::new(
                        Header::UdpEncap,
                        "ike_header",
                        NON_ESP_MARKER_LEN,
                        HeaderErrorKind::Truncated {
                            needed: NON_ESP_MARKER_LEN + IKE_HEADER_LEN,
                            available: payload.len(),
                        },
                    ));
                }
                Ok(Datagram::Ike(ike))
            }
            _ => {
                if payload.len() < crate::esp::HEADER_LEN {
                    let field = if payload.len() < 4 {
                        "spi"
                    } else {
                        "sequence_number"
                    };
                    let offset = if payload.len() < 4 { 0 } else { 4 };
                    return Err(HeaderError::new(
                        Header::UdpEncap,
                        field,
                        offset,
                        HeaderErrorKind::Truncated {
                            needed: crate::esp::HEADER_LEN,
                            available: payload.len(),
                        },
                    ));
                }
                Ok(Datagram::Esp(payload))
            }
        }
    }
}

/// Writes a NAT-keepalive into `buf`; returns the length written (1).
pub fn emit_nat_keepalive(buf: &mut [u8]) -> Result<usize, HeaderError> {
    let Some(b) = buf.first_mut() else {
        return Err(HeaderError::new(
            Header::UdpEncap,
            "keepalive",
            0,
            HeaderErrorKind::Truncated {
                needed: 1,
                available: 0,
            },
        ));
    };
    *b = NAT_KEEPALIVE;
    Ok(1)
}

/// Writes the non-ESP marker into the first 4 bytes of `buf`; the IKE
/// message goes right after it. Returns the length written (4).
pub fn emit_non_esp_marker(buf: &mut [u8]) -> Result<usize, HeaderError> {
    let Some(marker) = buf.get_mut(..NON_ESP_MARKER_LEN) else {
        return Err(HeaderError::new(
            Header::UdpEncap,
            "non_esp_marker",
            0,
            HeaderErrorKind::Truncated {
                needed: NON_ESP_MARKER_LEN,
                available: buf.len(),
            },
        ));
    };
    marker.copy_from_slice(&NON_ESP_MARKER);
    Ok(NON_ESP_MARKER_LEN)
}

/// Copies `ike` behind a non-ESP marker into `buf`; returns the length
/// written. For the in-place path, reserve 4 bytes of headroom in front of
/// the IKE message and call [`emit_non_esp_marker`] on them instead.
pub fn emit_ike(ike: &[u8], buf: &mut [u8]) -> Result<usize, HeaderError> {
    let total = NON_ESP_MARKER_LEN + ike.len();
    let Some(out) = buf.get_mut(..total) else {
        return Err(HeaderError::new(
            Header::UdpEncap,
            "ike_message",
            NON_ESP_MARKER_LEN,
            HeaderErrorKind::Truncated {
                needed: total,
                available: buf.len(),
            },
        ));
    };
    out[..NON_ESP_MARKER_LEN].copy_from_slice(&NON_ESP_MARKER);
    out[NON_ESP_MARKER_LEN..].copy_from_slice(ike);
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keepalive() {
        assert_eq!(Datagram::classify(&[0xff]).unwrap(), Datagram::NatKeepalive);
        let mut buf = [0u8; 1];
        assert_eq!(emit_nat_keepalive(&mut buf).unwrap(), 1);
        assert_eq!(buf, [0xff]);
        assert!(emit_nat_keepalive(&mut []).is_err());
    }

    #[test]
    fn ike() {
        let mut msg = [0u8; 4 + IKE_HEADER_LEN];
        msg[4] = 0x11;
        assert_eq!(Datagram::classify(&msg).unwrap(), Datagram::Ike(&msg[4..]));
        let err = Datagram::classify(&msg[..31]).unwrap_err();
        assert_eq!(
            (err.header, err.field, err.offset),
            (Header::UdpEncap, "ike_header", 4)
        );
        assert_eq!(
            err.kind,
            HeaderErrorKind::Truncated {
                needed: 32,
                available: 31
            }
        );
    }

    #[test]
    fn esp() {
        let pkt = [0, 0, 0x43, 0x21, 0, 0, 0, 1];
        assert_eq!(Datagram::classify(&pkt).unwrap(), Datagram::Esp(&pkt));
        // A 1-byte non-keepalive, and 2..7 bytes, are malformed.
        for len in 0..8 {
            let err = Datagram::classify(&[0x01; 8][..len]).unwrap_err();
            assert_eq!(err.header, Header::UdpEncap);
        }
        let err = Datagram::classify(&[1, 2, 3, 4, 5]).unwrap_err();
        assert_eq!((err.field, err.offset), ("sequence_number", 4));
    }

    #[test]
    fn emit() {
        let mut buf = [0xa5u8; 40];
        assert_eq!(emit_non_esp_marker(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], &[0, 0, 0, 0]);
        let ike = [0x42u8; IKE_HEADER_LEN];
        let n = emit_ike(&ike, &mut buf).unwrap();
        assert_eq!(
            Datagram::classify(&buf[..n]).unwrap(),
            Datagram::Ike(&ike[..])
        );
        assert!(emit_ike(&ike, &mut [0u8; 31]).is_err());
        assert!(emit_non_esp_marker(&mut [0u8; 3]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            match Datagram::classify(&bytes) {
                Ok(Datagram::Esp(p)) => {
                    prop_assert!(p.len() >= 8);
                    prop_assert!(p[..4] != [0, 0, 0, 0]);
                }
                Ok(Datagram::Ike(m)) => prop_assert!(m.len() >= IKE_HEADER_LEN),
                Ok(Datagram::NatKeepalive) => prop_assert_eq!(&bytes[..], &[0xff]),
                Err(_) => {}
            }
        }

        #[test]
        fn ike_emit_classify_identity(ike in proptest::collection::vec(any::<u8>(), IKE_HEADER_LEN..100)) {
            let mut buf = vec![0u8; ike.len() + 4];
            let n = emit_ike(&ike, &mut buf).unwrap();
            prop_assert_eq!(Datagram::classify(&buf[..n]).unwrap(), Datagram::Ike(&ike[..]));
        }
    }
}
