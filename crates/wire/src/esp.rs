//! ESP packet format (RFC 4303 §2): the cleartext header (SPI, Sequence
//! Number, §2.1–§2.2), the payload that follows it, and the trailer that
//! sits at the end of the *decrypted* payload (Padding, Pad Length, Next
//! Header, §2.4–§2.6).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |               Security Parameters Index (SPI)                 |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                      Sequence Number                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |        IV (optional) ‖ Payload Data ‖ TFC padding             ~
//! +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~               |     Padding (0-255 bytes)                     |
//! +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                               |  Pad Length   | Next Header   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |         Integrity Check Value (ICV), variable                 ~
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! The view here knows only the 8-byte cleartext header: where the IV ends
//! and the ICV starts depends on the SA's algorithms, which `wire` does not
//! know. The trailer helpers ([`Trailer`], [`pad_len`]) work on the plaintext
//! after decryption (or before encryption), because the trailer is inside the
//! ciphertext.
//!
//! This module also defines [`HeaderError`], the error type shared by the
//! ESP, UDP-encapsulation and EtherIP views: every failure names the header,
//! the field and its byte offset.

use core::fmt;

/// Length of the cleartext ESP header (SPI + Sequence Number).
pub const HEADER_LEN: usize = 8;
/// Length of the fixed trailer fields (Pad Length + Next Header).
pub const TRAILER_LEN: usize = 2;
/// Largest value of the Pad Length field (RFC 4303 §2.5: 0–255).
pub const MAX_PAD_LEN: usize = 255;
/// IP protocol number of ESP.
pub const IP_PROTOCOL: u8 = 50;
/// Next Header value of an IPv4 packet in tunnel mode (RFC 4303 §2.6).
pub const NEXT_HEADER_IPV4: u8 = 4;
/// Next Header value of an IPv6 packet in tunnel mode.
pub const NEXT_HEADER_IPV6: u8 = 41;
/// Next Header value of a dummy packet (RFC 4303 §2.6, §2.7): "No Next
/// Header"; the receiver MUST discard it.
pub const NEXT_HEADER_NONE: u8 = 59;

/// Byte ranges of the header fields.
mod field {
    use core::ops::{Range, RangeFrom};
    pub const SPI: Range<usize> = 0..4;
    pub const SEQUENCE_NUMBER: Range<usize> = 4..8;
    pub const PAYLOAD: RangeFrom<usize> = 8..;
}

/// Which header a [`HeaderError`] concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Header {
    /// The ESP header (RFC 4303 §2.1–§2.2).
    Esp,
    /// The decrypted ESP trailer (RFC 4303 §2.4–§2.6).
    EspTrailer,
    /// A UDP-encapsulated IKE/ESP datagram on port 4500 (RFC 3948 §2).
    UdpEncap,
    /// The EtherIP header (RFC 3378 §3).
    EtherIp,
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Header::Esp => "ESP",
            Header::EspTrailer => "ESP.Trailer",
            Header::UdpEncap => "UDP-encap",
            Header::EtherIp => "EtherIP",
        })
    }
}

/// Why a header could not be parsed or emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderErrorKind {
    /// Fewer bytes are present than the field needs.
    Truncated {
        /// Bytes needed (counted from the start of the buffer).
        needed: usize,
        /// Bytes present.
        available: usize,
    },
    /// The field holds a value the format forbids.
    InvalidValue {
        /// The value found.
        value: u64,
    },
    /// A padding byte differs from the monotonic 1, 2, 3, … pattern of
    /// RFC 4303 §2.4.
    BadPadding {
        /// The byte the default scheme puts there.
        expected: u8,
        /// The byte found.
        found: u8,
    },
    /// When emitting: a value does not fit its field.
    Overflow {
        /// The value that did not fit.
        value: usize,
        /// The largest value the field holds.
        max: usize,
    },
}

impl fmt::Display for HeaderErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderErrorKind::Truncated { needed, available } => {
                write!(f, "truncated: need {needed} bytes, {available} available")
            }
            HeaderErrorKind::InvalidValue { value } => write!(f, "invalid value {value}"),
            HeaderErrorKind::BadPadding { expected, found } => {
                write!(f, "padding byte {found} where {expected} is due")
            }
            HeaderErrorKind::Overflow { value, max } => {
                write!(f, "value {value} exceeds field maximum {max}")
            }
        }
    }
}

/// A parse or emit failure of the ESP, UDP-encap or EtherIP views.
///
/// Display reads like `ESP.spi at byte 0: truncated: need 8 bytes, 3 available`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{header}.{field} at byte {offset}: {kind}")]
pub struct HeaderError {
    /// The header being parsed or emitted.
    pub header: Header,
    /// The field (RFC name in snake case).
    pub field: &'static str,
    /// Byte offset of the field from the start of the buffer.
    pub offset: usize,
    /// What went wrong.
    pub kind: HeaderErrorKind,
}

impl HeaderError {
    /// Builds an error.
    pub const fn new(
        header: Header,
        field: &'static str,
        offset: usize,
        kind: HeaderErrorKind,
    ) -> Self {
        Self {
            header,
            field,
            offset,
            kind,
        }
    }

    pub(crate) const fn truncated(
        header: Header,
        field: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    ) -> Self {
        Self::new(
            header,
            field,
            offset,
            HeaderErrorKind::Truncated { needed, available },
        )
    }
}

/// A zero-copy view of an ESP packet (header + opaque remainder).
///
/// After [`Packet::new_checked`] no accessor panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it; accessors may panic on a short
    /// buffer. Use [`Packet::new_checked`] on untrusted input.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after checking that it holds the 8-byte header.
    pub fn new_checked(buffer: T) -> Result<Self, HeaderError> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the whole header.
    pub fn check_len(&self) -> Result<(), HeaderError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            let field = if len < field::SPI.end {
                "spi"
            } else {
                "sequence_number"
            };
            let offset = if len < field::SPI.end {
                0
            } else {
                field::SEQUENCE_NUMBER.start
            };
            return Err(HeaderError::truncated(
                Header::Esp,
                field,
                offset,
                HEADER_LEN,
                len,
            ));
        }
        Ok(())
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Security Parameters Index (RFC 4303 §2.1).
    pub fn spi(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[field::SPI])
    }

    /// Low-order 32 bits of the sequence number (RFC 4303 §2.2).
    pub fn sequence_number(&self) -> u32 {
        read_u32(&self.buffer.as_ref()[field::SEQUENCE_NUMBER])
    }

    /// Everything after the header: IV, ciphertext and ICV.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }

    /// Length of the whole packet.
    pub fn total_len(&self) -> usize {
        self.buffer.as_ref().len()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the SPI.
    pub fn set_spi(&mut self, spi: u32) {
        self.buffer.as_mut()[field::SPI].copy_from_slice(&spi.to_be_bytes());
    }

    /// Sets the (low-order 32 bits of the) sequence number.
    pub fn set_sequence_number(&mut self, seq: u32) {
        self.buffer.as_mut()[field::SEQUENCE_NUMBER].copy_from_slice(&seq.to_be_bytes());
    }

    /// Mutable access to everything after the header.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// The meaning of an ESP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Security Parameters Index.
    pub spi: u32,
    /// Low-order 32 bits of the sequence number.
    pub sequence_number: u32,
}

impl Repr {
    /// Parses a checked packet. RFC 4303 §2.1: "The SPI value of zero (0) is
    /// reserved for local, implementation-specific use and MUST NOT be sent
    /// on the wire", so SPI 0 is rejected.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self, HeaderError> {
        packet.check_len()?;
        let spi = packet.spi();
        if spi == 0 {
            return Err(HeaderError::new(
                Header::Esp,
                "spi",
                field::SPI.start,
                HeaderErrorKind::InvalidValue { value: 0 },
            ));
        }
        Ok(Self {
            spi,
            sequence_number: packet.sequence_number(),
        })
    }

    /// Bytes [`Repr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header into the first 8 bytes of `packet`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_spi(self.spi);
        packet.set_sequence_number(self.sequence_number);
    }

    /// Writes the header into the start of `buf`, checking its length.
    pub fn emit_into(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        let mut packet = Packet::new_checked(buf)?;
        self.emit(&mut packet);
        Ok(())
    }
}

/// Smallest number of padding bytes so that payload + padding + the 2
/// trailer bytes is a multiple of both the cipher block size and 4
/// (RFC 4303 §2.4: the ciphertext must fill whole cipher blocks and "the
/// Pad Length and Next Header fields must be right aligned within a 4-byte
/// word").
///
/// `block_size` 0 or 1 means a stream cipher (or no cipher). The result is
/// below `max(block_size, 4)`; a block size above 256 is clamped to 256 so
/// the result always fits the 8-bit Pad Length field.
pub const fn pad_len(payload_len: usize, block_size: usize) -> usize {
    let align = alignment(block_size);
    let used = (payload_len + TRAILER_LEN) % align;
    if used == 0 {
        0
    } else {
        align - used
    }
}

/// The alignment the ciphertext must have: lcm(block size, 4), clamped so
/// a pad always fits the 8-bit Pad Length field.
pub const fn alignment(block_size: usize) -> usize {
    let b = if block_size == 0 { 1 } else { block_size };
    let l = lcm(b, 4);
    if l > MAX_PAD_LEN + 1 {
        // Only reachable with absurd block sizes; 256 still keeps
        // alignment to 4 and any power-of-two block up to 256.
        MAX_PAD_LEN + 1
    } else {
        l
    }
}

const fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

const fn lcm(a: usize, b: usize) -> usize {
    a / gcd(a, b) * b
}

/// The decrypted ESP trailer (RFC 4303 §2.4–§2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Trailer {
    /// Length of the payload that precedes the padding (including any TFC
    /// padding, which only the inner protocol can tell apart).
    pub payload_len: usize,
    /// Number of padding bytes.
    pub pad_len: u8,
    /// Next Header: the protocol of the payload (4/41 in tunnel mode).
    pub next_header: u8,
}

impl Trailer {
    /// Parses and validates the trailer at the end of `plaintext` (the
    /// decrypted ESP payload, without IV and ICV).
    ///
    /// RFC 4303 §2.4: when the default padding scheme is used, "the
    /// receiver SHOULD inspect the Padding field"; every padding byte must
    /// be its 1-based index. Offsets in errors are relative to `plaintext`.
    pub fn parse(plaintext: &[u8]) -> Result<Self, HeaderError> {
        let len = plaintext.len();
        if len < TRAILER_LEN {
            return Err(HeaderError::truncated(
                Header::EspTrailer,
                "pad_length",
                0,
                TRAILER_LEN,
                len,
            ));
        }
        let pad_len = plaintext[len - 2];
        let next_header = plaintext[len - 1];
        let pad = usize::from(pad_len);
        if pad + TRAILER_LEN > len {
            return Err(HeaderError::new(
                Header::EspTrailer,
                "pad_length",
                len - 2,
                HeaderErrorKind::InvalidValue {
                    value: u64::from(pad_len),
                },
            ));
        }
        let payload_len = len - TRAILER_LEN - pad;
        let padding = &plaintext[payload_len..len - TRAILER_LEN];
        // Accumulate instead of returning at the first bad byte, so the
        // time taken does not say where the padding went wrong.
        let mut bad: Option<(usize, u8, u8)> = None;
        for (i, &b) in padding.iter().enumerate() {
            // `i < 255`, so the index fits a byte.
            let expected = (i + 1) as u8;
            if b != expected && bad.is_none() {
                bad = Some((payload_len + i, expected, b));
            }
        }
        if let Some((offset, expected, found)) = bad {
            return Err(HeaderError::new(
                Header::EspTrailer,
                "padding",
                offset,
                HeaderErrorKind::BadPadding { expected, found },
            ));
        }
        Ok(Self {
            payload_len,
            pad_len,
            next_header,
        })
    }

    /// Bytes [`Trailer::emit`] writes: padding plus Pad Length and Next Header.
    pub const fn buffer_len(&self) -> usize {
        self.pad_len as usize + TRAILER_LEN
    }

    /// Builds the trailer for a payload of `payload_len` bytes and a cipher
    /// of `block_size`, with the minimal padding of [`pad_len`].
    pub const fn for_payload(payload_len: usize, block_size: usize, next_header: u8) -> Self {
        // `pad_len` is below 256 by construction (see `alignment`).
        let pad_len = pad_len(payload_len, block_size) as u8;
        Self {
            payload_len,
            pad_len,
            next_header,
        }
    }

    /// Writes padding (1, 2, 3, …), Pad Length and Next Header into the
    /// first [`Trailer::buffer_len`] bytes of `buf`, which must start right
    /// after the payload.
    pub fn emit(&self, buf: &mut [u8]) -> Result<(), HeaderError> {
        let need = self.buffer_len();
        if buf.len() < need {
            return Err(HeaderError::truncated(
                Header::EspTrailer,
                "padding",
                0,
                need,
                buf.len(),
            ));
        }
        let pad = usize::from(self.pad_len);
        for (i, b) in buf[..pad].iter_mut().enumerate() {
            *b = (i + 1) as u8;
        }
        buf[pad] = self.pad_len;
        buf[pad + 1] = self.next_header;
        Ok(())
    }
}

fn read_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    u32::from_be_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // SPI 0x4321, seq 1, followed by the first bytes of an IV.
    static PACKET_BYTES: [u8; 12] = [
        0x00, 0x00, 0x43, 0x21, 0x00, 0x00, 0x00, 0x01, 0xe9, 0x6e, 0x8c, 0x08,
    ];

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(packet.spi(), 0x4321);
        assert_eq!(packet.sequence_number(), 1);
        assert_eq!(packet.payload(), &[0xe9, 0x6e, 0x8c, 0x08]);
        assert_eq!(packet.total_len(), 12);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 12];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_spi(0x4321);
        packet.set_sequence_number(1);
        packet
            .payload_mut()
            .copy_from_slice(&[0xe9, 0x6e, 0x8c, 0x08]);
        assert_eq!(&bytes, &PACKET_BYTES);
    }

    #[test]
    fn truncated() {
        for len in 0..HEADER_LEN {
            let err = Packet::new_checked(&PACKET_BYTES[..len]).unwrap_err();
            assert_eq!(err.header, Header::Esp);
            assert_eq!(
                err.kind,
                HeaderErrorKind::Truncated {
                    needed: 8,
                    available: len
                }
            );
            if len < 4 {
                assert_eq!((err.field, err.offset), ("spi", 0));
            } else {
                assert_eq!((err.field, err.offset), ("sequence_number", 4));
            }
        }
    }

    #[test]
    fn parse() {
        let packet = Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(
            Repr::parse(&packet).unwrap(),
            Repr {
                spi: 0x4321,
                sequence_number: 1
            }
        );
        let zero = [0u8; 8];
        let err = Repr::parse(&Packet::new_unchecked(&zero[..])).unwrap_err();
        assert_eq!((err.field, err.offset), ("spi", 0));
        assert_eq!(err.to_string(), "ESP.spi at byte 0: invalid value 0");
    }

    #[test]
    fn emit() {
        // Pre-filled with a marker so an unwritten byte would show.
        let mut bytes = [0xa5u8; 8];
        Repr {
            spi: 0x0102_0304,
            sequence_number: 5,
        }
        .emit_into(&mut bytes)
        .unwrap();
        assert_eq!(bytes, [1, 2, 3, 4, 0, 0, 0, 5]);
        assert!(Repr {
            spi: 1,
            sequence_number: 1
        }
        .emit_into(&mut [0u8; 7])
        .is_err());
    }

    #[test]
    fn buffer_len() {
        assert_eq!(
            Repr {
                spi: 1,
                sequence_number: 1
            }
            .buffer_len(),
            8
        );
        assert_eq!(
            Trailer {
                payload_len: 0,
                pad_len: 14,
                next_header: 1
            }
            .buffer_len(),
            16
        );
    }

    #[test]
    fn padding_lengths() {
        // RFC 7634 Appendix A: 84-byte packet, stream cipher -> 2 pad bytes.
        assert_eq!(pad_len(84, 1), 2);
        // RFC 3602 case 5: 64-byte ICMP, AES -> 14 pad bytes.
        assert_eq!(pad_len(64, 16), 14);
        // RFC 3602 case 6: 28-byte ICMP, AES -> 2 pad bytes.
        assert_eq!(pad_len(28, 16), 2);
        assert_eq!(pad_len(2, 4), 0);
        assert_eq!(pad_len(0, 0), 2);
        assert_eq!(pad_len(3, 8), 3);
        assert_eq!(alignment(16), 16);
        assert_eq!(alignment(1), 4);
        assert_eq!(alignment(6), 12);
        assert_eq!(alignment(1 << 20), 256);
    }

    #[test]
    fn trailer_emit_parse() {
        let mut buf = [0xa5u8; 20];
        let t = Trailer::for_payload(4, 16, 41);
        assert_eq!(t.pad_len, 10);
        t.emit(&mut buf[4..]).unwrap();
        assert_eq!(&buf[4..16], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 41]);
        assert_eq!(Trailer::parse(&buf[..16]).unwrap(), t);
    }

    #[test]
    fn trailer_errors() {
        let err = Trailer::parse(&[4]).unwrap_err();
        assert_eq!(
            (err.header, err.field, err.offset),
            (Header::EspTrailer, "pad_length", 0)
        );
        // Pad Length larger than what precedes it.
        let err = Trailer::parse(&[1, 2, 3, 4]).unwrap_err();
        assert_eq!(err.kind, HeaderErrorKind::InvalidValue { value: 3 });
        assert_eq!(err.offset, 2);
        // Non-monotonic padding.
        let err = Trailer::parse(&[9, 1, 3, 2, 4]).unwrap_err();
        assert_eq!(err.field, "padding");
        assert_eq!(err.offset, 2);
        assert_eq!(
            err.kind,
            HeaderErrorKind::BadPadding {
                expected: 2,
                found: 3
            }
        );
        // Emitting into too small a buffer.
        let t = Trailer {
            payload_len: 0,
            pad_len: 3,
            next_header: 4,
        };
        assert!(t.emit(&mut [0u8; 4]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = Packet::new_checked(&bytes[..]) {
                let _ = (p.spi(), p.sequence_number(), p.payload().len());
                let _ = Repr::parse(&p);
            }
            let _ = Trailer::parse(&bytes);
        }

        #[test]
        fn header_emit_parse_identity(spi in 1u32.., seq: u32, tail in proptest::collection::vec(any::<u8>(), 0..16)) {
            let mut buf = vec![0u8; HEADER_LEN + tail.len()];
            buf[HEADER_LEN..].copy_from_slice(&tail);
            let repr = Repr { spi, sequence_number: seq };
            repr.emit_into(&mut buf).unwrap();
            let packet = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&packet).unwrap(), repr);
            prop_assert_eq!(packet.payload(), &tail[..]);
        }

        #[test]
        fn trailer_emit_parse_identity(payload_len in 0usize..600, block in prop::sample::select(vec![0usize, 1, 4, 8, 16, 32]), nh: u8) {
            let t = Trailer::for_payload(payload_len, block, nh);
            let total = payload_len + t.buffer_len();
            prop_assert_eq!(total % alignment(block), 0);
            prop_assert_eq!(total % 4, 0);
            let mut buf = vec![0xa5u8; total];
            t.emit(&mut buf[payload_len..]).unwrap();
            prop_assert_eq!(Trailer::parse(&buf).unwrap(), t);
        }

        #[test]
        fn every_truncation_is_an_error(len in 0usize..HEADER_LEN) {
            prop_assert!(Packet::new_checked(&PACKET_BYTES[..len]).is_err());
        }
    }
}
