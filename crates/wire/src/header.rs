//! The fixed IKE header (RFC 7296 §3.1): 28 bytes in front of every message.
//!
//! ```text
//!  0: IKE SA Initiator's SPI (8)
//!  8: IKE SA Responder's SPI (8)
//! 16: Next Payload (1) | MjVer(4) MnVer(4) | Exchange Type (1) | Flags (1)
//! 20: Message ID (4)
//! 24: Length (4), of the whole message including this header
//! ```

use crate::codec::{Reader, Writer};
use crate::error::{Context, Result, WireErrorKind};
use crate::registry::{ExchangeType, PayloadType};

/// Size of the fixed IKE header.
pub const HEADER_LEN: usize = 28;

/// A first look at a datagram that claims to be an IKE message, cheap
/// enough to come before anything is allocated or queued for it: long
/// enough for the header, major version 2 (RFC 7296 §3.1; the IKE core
/// drops any other), and a Length field equal to the datagram's length (one
/// message per datagram, as [`crate::Message::parse`] demands). Garbage
/// that fails this would be dropped by the full parser anyway.
#[must_use]
pub fn plausible(msg: &[u8]) -> bool {
    match msg.get(..HEADER_LEN) {
        Some(h) => {
            h[17] >> 4 == 2
                && u32::from_be_bytes([h[24], h[25], h[26], h[27]]) as usize == msg.len()
        }
        None => false,
    }
}

/// The header flags octet (RFC 7296 §3.1). Unknown bits are kept so they
/// round-trip; RFC 7296 says they MUST be ignored on receipt.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    /// I(nitiator): set by the original initiator of the IKE SA.
    pub const INITIATOR: u8 = 0x08;
    /// V(ersion): the sender can speak a higher major version.
    pub const VERSION: u8 = 0x10;
    /// R(esponse): this message is a response to a message with this ID.
    pub const RESPONSE: u8 = 0x20;

    /// Builds flags from the I and R bits.
    pub const fn new(initiator: bool, response: bool) -> Self {
        let mut v = 0;
        if initiator {
            v |= Self::INITIATOR;
        }
        if response {
            v |= Self::RESPONSE;
        }
        Self(v)
    }

    /// The I bit: the sender is the original initiator of the IKE SA.
    pub const fn initiator(self) -> bool {
        self.0 & Self::INITIATOR != 0
    }

    /// The V bit.
    pub const fn version(self) -> bool {
        self.0 & Self::VERSION != 0
    }

    /// The R bit: this is a response.
    pub const fn response(self) -> bool {
        self.0 & Self::RESPONSE != 0
    }
}

impl core::fmt::Debug for Flags {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Flags({:#04x}", self.0)?;
        if self.initiator() {
            f.write_str(" I")?;
        }
        if self.version() {
            f.write_str(" V")?;
        }
        if self.response() {
            f.write_str(" R")?;
        }
        f.write_str(")")
    }
}

/// The IKE header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// IKE SA Initiator's SPI.
    pub spi_i: u64,
    /// IKE SA Responder's SPI (zero in the first IKE_SA_INIT request).
    pub spi_r: u64,
    /// Type of the first payload. Recomputed by [`crate::Message::emit`].
    pub next_payload: PayloadType,
    /// Major version (2 for IKEv2).
    pub major_version: u8,
    /// Minor version (0 for IKEv2).
    pub minor_version: u8,
    /// Exchange type.
    pub exchange_type: ExchangeType,
    /// I/V/R flags.
    pub flags: Flags,
    /// Message ID.
    pub message_id: u32,
    /// Total message length. Recomputed by [`crate::Message::emit`].
    pub length: u32,
}

impl Header {
    /// A version 2.0 header with `next_payload` and `length` left at zero
    /// (they are computed when the message is emitted).
    pub const fn new(
        spi_i: u64,
        spi_r: u64,
        exchange_type: ExchangeType,
        flags: Flags,
        message_id: u32,
    ) -> Self {
        Self {
            spi_i,
            spi_r,
            next_payload: PayloadType::NO_NEXT_PAYLOAD,
            major_version: 2,
            minor_version: 0,
            exchange_type,
            flags,
            message_id,
            length: 0,
        }
    }

    /// Parses the header at the start of `buf`. Checks only that 28 bytes
    /// are present and that the length field covers at least the header;
    /// [`crate::Message::parse`] also checks it against the datagram.
    pub fn parse(buf: &[u8]) -> Result<Header> {
        let mut r = Reader::new(buf, 0, Context::Header);
        let h = Self::read(&mut r)?;
        Ok(h)
    }

    pub(crate) fn read(r: &mut Reader<'_>) -> Result<Header> {
        let spi_i = r.u64("spi_i")?;
        let spi_r = r.u64("spi_r")?;
        let next_payload = PayloadType(r.u8("next_payload")?);
        let version = r.u8("version")?;
        let exchange_type = ExchangeType(r.u8("exchange_type")?);
        let flags = Flags(r.u8("flags")?);
        let message_id = r.u32("message_id")?;
        let at = r.offset();
        let length = r.u32("length")?;
        if (length as usize) < HEADER_LEN {
            return Err(r.err_at(
                "length",
                at,
                WireErrorKind::BadLength {
                    value: length as usize,
                },
            ));
        }
        Ok(Header {
            spi_i,
            spi_r,
            next_payload,
            major_version: version >> 4,
            minor_version: version & 0x0f,
            exchange_type,
            flags,
            message_id,
            length,
        })
    }

    /// Writes the header exactly as its fields say (no recomputation).
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out, Context::Header);
        self.write(&mut w);
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.u64(self.spi_i);
        w.u64(self.spi_r);
        w.u8(self.next_payload.0);
        w.u8((self.major_version << 4) | (self.minor_version & 0x0f));
        w.u8(self.exchange_type.0);
        w.u8(self.flags.0);
        w.u32(self.message_id);
        w.u32(self.length);
    }

    /// The 28 header bytes.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut v = Vec::with_capacity(HEADER_LEN);
        self.emit(&mut v);
        let mut a = [0u8; HEADER_LEN];
        a.copy_from_slice(&v);
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: [u8; 28] = [
        0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // SPIi
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // SPIr
        0x21, 0x20, 0x22, 0x08, // SA, 2.0, IKE_SA_INIT, I
        0x00, 0x00, 0x00, 0x00, // message id
        0x00, 0x00, 0x01, 0x2c, // length 300
    ];

    #[test]
    fn deconstruct() {
        let h = Header::parse(&BYTES).unwrap();
        assert_eq!(h.spi_i, 0x0102030405060708);
        assert_eq!(h.spi_r, 0);
        assert_eq!(h.next_payload, PayloadType::SA);
        assert_eq!((h.major_version, h.minor_version), (2, 0));
        let mut msg = h.to_bytes().to_vec();
        msg[24..28].copy_from_slice(&28u32.to_be_bytes());
        assert!(plausible(&msg));
        assert!(!plausible(&msg[..27]), "shorter than a header");
        msg.push(0);
        assert!(!plausible(&msg), "Length disagrees with the datagram");
        msg.pop();
        msg[17] = 0x30;
        assert!(!plausible(&msg), "major version 3");
        assert_eq!(h.exchange_type, ExchangeType::IKE_SA_INIT);
        assert!(h.flags.initiator() && !h.flags.response() && !h.flags.version());
        assert_eq!(h.message_id, 0);
        assert_eq!(h.length, 300);
    }

    #[test]
    fn construct() {
        let mut h = Header::new(
            0x0102030405060708,
            0,
            ExchangeType::IKE_SA_INIT,
            Flags::new(true, false),
            0,
        );
        h.next_payload = PayloadType::SA;
        h.length = 300;
        assert_eq!(h.to_bytes(), BYTES);
    }

    #[test]
    fn truncated() {
        for n in 0..HEADER_LEN {
            let e = Header::parse(&BYTES[..n]).unwrap_err();
            assert_eq!(e.context, Context::Header);
            assert!(
                matches!(e.kind, WireErrorKind::Truncated { .. }),
                "{n}: {e}"
            );
        }
    }

    #[test]
    fn length_below_header() {
        let mut b = BYTES;
        b[27] = 27;
        b[26] = 0;
        let e = Header::parse(&b).unwrap_err();
        assert_eq!((e.field, e.offset), ("length", 24));
    }
}
