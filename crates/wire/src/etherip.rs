//! EtherIP header (RFC 3378 §3): two bytes in front of a tunnelled
//! Ethernet frame, carried as IP protocol 97.
//!
//! ```text
//!  0                   1
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |VERSION|       RESERVED        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! RFC 3378 §3: the version "MUST be set to 3" and the reserved field
//! "MUST be set to zero"; a receiver "MUST discard" a packet with another
//! version. This view also rejects a non-zero reserved field, so a future
//! version that repurposes it is never misread as an Ethernet frame.

use crate::esp::{Header, HeaderError, HeaderErrorKind};

/// IP protocol number of EtherIP.
pub const IP_PROTOCOL: u8 = 97;
/// Length of the EtherIP header.
pub const HEADER_LEN: usize = 2;
/// The only version defined.
pub const VERSION: u8 = 3;

mod field {
    use core::ops::{Range, RangeFrom};
    pub const VERSION_RESERVED: Range<usize> = 0..2;
    pub const PAYLOAD: RangeFrom<usize> = 2..;
}

/// A zero-copy view of an EtherIP packet. After [`Packet::new_checked`]
/// no accessor panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after checking its length (only the length: version
    /// and reserved are checked by [`Repr::parse`]).
    pub fn new_checked(buffer: T) -> Result<Self, HeaderError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the header is present.
    pub fn check_len(&self) -> Result<(), HeaderError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(HeaderError::new(
                Header::EtherIp,
                "version",
                0,
                HeaderErrorKind::Truncated {
                    needed: HEADER_LEN,
                    available: len,
                },
            ));
        }
        Ok(())
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn word(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::VERSION_RESERVED];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// The 4-bit version.
    pub fn version(&self) -> u8 {
        (self.word() >> 12) as u8
    }

    /// The 12-bit reserved field.
    pub fn reserved(&self) -> u16 {
        self.word() & 0x0fff
    }

    /// The encapsulated Ethernet frame.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets version and reserved; values wider than their fields are
    /// masked.
    pub fn set_version_reserved(&mut self, version: u8, reserved: u16) {
        let word = (u16::from(version & 0x0f) << 12) | (reserved & 0x0fff);
        self.buffer.as_mut()[field::VERSION_RESERVED].copy_from_slice(&word.to_be_bytes());
    }

    /// Mutable access to the Ethernet frame.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// A valid EtherIP header. It has no free fields, so the representation is
/// a unit: parsing it proves version 3 and reserved 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Repr;

impl Repr {
    /// Checks length, version and reserved field.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self, HeaderError> {
        packet.check_len()?;
        let version = packet.version();
        if version != VERSION {
            return Err(HeaderError::new(
                Header::EtherIp,
                "version",
                0,
                HeaderErrorKind::InvalidValue {
                    value: u64::from(version),
                },
            ));
        }
        let reserved = packet.reserved();
        if reserved != 0 {
            return Err(HeaderError::new(
                Header::EtherIp,
                "reserved",
                0,
                HeaderErrorKind::InvalidValue {
                    value: u64::from(reserved),
                },
            ));
        }
        Ok(Repr)
    }

    /// Bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes version 3, reserved 0.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_version_reserved(VERSION, 0);
    }

    /// Writes the header into the first two bytes of `buf` (the headroom
    /// in front of the Ethernet frame).
    pub fn emit_into(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        let mut packet = Packet::new_checked(buf)?;
        self.emit(&mut packet);
        Ok(())
    }
}

/// Parses an EtherIP packet and returns the Ethernet frame it carries.
pub fn parse(packet: &[u8]) -> Result<&[u8], HeaderError> {
    let p = Packet::new_checked(packet)?;
    Repr::parse(&p)?;
    Ok(&packet[HEADER_LEN..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    static PACKET_BYTES: [u8; 6] = [0x30, 0x00, 0xde, 0xad, 0xbe, 0xef];

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.version(), 3);
        assert_eq!(p.reserved(), 0);
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 6];
        let mut p = Packet::new_unchecked(&mut bytes[..]);
        p.set_version_reserved(3, 0);
        p.payload_mut().copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(bytes, PACKET_BYTES);
    }

    #[test]
    fn truncated() {
        for len in 0..HEADER_LEN {
            let err = parse(&PACKET_BYTES[..len]).unwrap_err();
            assert_eq!(
                (err.header, err.field, err.offset),
                (Header::EtherIp, "version", 0)
            );
            assert_eq!(
                err.kind,
                HeaderErrorKind::Truncated {
                    needed: 2,
                    available: len
                }
            );
        }
    }

    #[test]
    fn parse_checks_fields() {
        assert_eq!(parse(&PACKET_BYTES).unwrap(), &PACKET_BYTES[2..]);
        assert_eq!(parse(&[0x30, 0x00]).unwrap(), &[] as &[u8]);
        let err = parse(&[0x20, 0x00, 1]).unwrap_err();
        assert_eq!(err.field, "version");
        assert_eq!(err.kind, HeaderErrorKind::InvalidValue { value: 2 });
        let err = parse(&[0x30, 0x01]).unwrap_err();
        assert_eq!(err.field, "reserved");
        assert_eq!(
            err.to_string(),
            "EtherIP.reserved at byte 0: invalid value 1"
        );
    }

    #[test]
    fn emit() {
        let mut buf = [0xa5u8; 2];
        Repr.emit_into(&mut buf).unwrap();
        assert_eq!(buf, [0x30, 0x00]);
        assert!(Repr.emit_into(&mut [0u8; 1]).is_err());
        assert_eq!(Repr.buffer_len(), 2);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            match parse(&bytes) {
                Ok(frame) => {
                    prop_assert_eq!(&bytes[..2], &[0x30, 0x00]);
                    prop_assert_eq!(frame, &bytes[2..]);
                }
                Err(_) => prop_assert!(bytes.len() < 2 || bytes[..2] != [0x30, 0x00]),
            }
        }

        #[test]
        fn emit_parse_identity(frame in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut buf = vec![0u8; HEADER_LEN + frame.len()];
            buf[HEADER_LEN..].copy_from_slice(&frame);
            Repr.emit_into(&mut buf).unwrap();
            prop_assert_eq!(parse(&buf).unwrap(), &frame[..]);
        }
    }
}
