//! The ESP transform the workers drive, behind two small traits
//! ([`EspEncap`], [`EspDecap`]), implemented for `yadokari-esp`'s
//! [`yadokari_esp::OutboundSa`] / [`yadokari_esp::InboundSa`] (RFC 4303 §3.3
//! encapsulation and §3.4 decapsulation in place, anti-replay, ESN).
//!
//! The traits keep the engine independent of how an SA is built (manual
//! keys, IKE KEYMAT, a future kernel-offload handle) and let tests plug in
//! fakes; the error types fold the ESP crate's detailed reasons into the
//! data plane's drop counters, carrying the ESP crate's typed error along
//! (for the rate-limited log line) rather than a formatted string: a
//! refused packet costs no allocation.

use std::ops::Range;

use yadokari_esp::{InboundConfig, Mode, OutboundConfig, SaError, Suite};

/// Why an inbound packet was refused (mapped onto drop counters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecapError {
    /// Too short, bad trailer, bad Next Header, bad inner packet (the ESP
    /// crate's reason).
    #[error(transparent)]
    Malformed(yadokari_esp::DecapError),
    /// Sequence number already seen or left of the window (RFC 4303 §3.4.3).
    #[error("replayed or too old sequence number {0}")]
    Replay(u64),
    /// ICV check failed (RFC 4303 §3.4.4).
    #[error("integrity check failed for sequence number {0}")]
    BadIcv(u64),
}

/// Why an outbound packet could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncapError {
    /// Headroom, tailroom or range unusable (a caller bug), as the ESP
    /// crate reports it.
    #[error("cannot seal: {0}")]
    Invalid(yadokari_esp::EncapError),
    /// The sequence number space is used up: the SA must be rekeyed
    /// (RFC 4303 §3.3.3).
    #[error("sequence number exhausted")]
    SequenceExhausted,
}

/// Outbound half of an SA: seals one payload in place.
pub trait EspEncap: Send {
    /// Bytes needed in front of the payload (ESP header + IV).
    fn header_len(&self) -> usize;
    /// Bytes needed after a payload of `payload_len` bytes.
    fn trailer_len(&self, payload_len: usize) -> usize;
    /// Seals `buf[payload]` in place (tunnel mode: `next_header` 4 or 41).
    /// Returns where the ESP packet (SPI … ICV) now lies.
    fn encap(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
        next_header: u8,
    ) -> Result<Range<usize>, EncapError>;
    /// The soft sequence limit was reached: IKE should rekey.
    fn rekey_needed(&self) -> bool;
}

/// Inbound half of an SA: checks and opens one ESP packet in place.
pub trait EspDecap: Send {
    /// Verifies replay window and ICV of `pkt` (starting with the SPI),
    /// decrypts it in place and returns the payload range and Next Header.
    fn decap(&mut self, pkt: &mut [u8]) -> Result<(Range<usize>, u8), DecapError>;
}

impl EspEncap for yadokari_esp::OutboundSa {
    fn header_len(&self) -> usize {
        self.headroom()
    }

    fn trailer_len(&self, payload_len: usize) -> usize {
        self.tailroom(payload_len)
    }

    fn encap(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
        next_header: u8,
    ) -> Result<Range<usize>, EncapError> {
        match yadokari_esp::OutboundSa::encap(self, buf, payload, next_header) {
            Ok(e) => Ok(e.packet),
            Err(yadokari_esp::EncapError::SequenceExhausted) => Err(EncapError::SequenceExhausted),
            Err(e) => Err(EncapError::Invalid(e)),
        }
    }

    fn rekey_needed(&self) -> bool {
        yadokari_esp::OutboundSa::rekey_needed(self)
    }
}

impl EspDecap for yadokari_esp::InboundSa {
    fn decap(&mut self, pkt: &mut [u8]) -> Result<(Range<usize>, u8), DecapError> {
        use yadokari_esp::DecapError as E;
        match yadokari_esp::InboundSa::decap(self, pkt) {
            Ok(d) => Ok((d.payload, d.next_header)),
            // Exhaustive on purpose: a reason the ESP crate adds must be
            // given its data-plane counter here, not fall into one silently.
            Err(E::Replayed { seq } | E::TooOld { seq }) => Err(DecapError::Replay(seq)),
            Err(E::Integrity { seq }) => Err(DecapError::BadIcv(seq)),
            Err(
                e @ (E::Malformed(_)
                | E::SpiMismatch { .. }
                | E::BadTrailer(_)
                | E::NextHeader(_)
                | E::InnerPacket(_)),
            ) => Err(DecapError::Malformed(e)),
        }
    }
}

/// AEAD transforms for manually keyed SAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeadAlgorithm {
    /// ENCR_AES_GCM_16, 128-bit key (RFC 4106).
    AesGcm128,
    /// ENCR_AES_GCM_16, 256-bit key.
    AesGcm256,
    /// ENCR_CHACHA20_POLY1305 (RFC 7634).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// The ESP suite.
    #[must_use]
    pub const fn suite(self) -> Suite {
        match self {
            Self::AesGcm128 => Suite::AES_GCM_128,
            Self::AesGcm256 => Suite::AES_GCM_256,
            Self::ChaCha20Poly1305 => Suite::CHACHA20_POLY1305,
        }
    }

    /// Key material bytes: key ‖ 4-byte salt.
    #[must_use]
    pub const fn keymat_len(self) -> usize {
        match self {
            Self::AesGcm128 => 20,
            Self::AesGcm256 | Self::ChaCha20Poly1305 => 36,
        }
    }
}

/// A tunnel-mode outbound SA with AEAD key material (key ‖ salt).
pub fn aead_outbound(
    alg: AeadAlgorithm,
    spi: u32,
    keymat: &[u8],
) -> Result<yadokari_esp::OutboundSa, SaError> {
    yadokari_esp::OutboundSa::new(
        OutboundConfig::new(spi, alg.suite(), Mode::Tunnel),
        keymat,
        &[],
    )
}

/// A tunnel-mode inbound SA with AEAD key material (key ‖ salt) and the
/// default 1024-packet replay window.
pub fn aead_inbound(
    alg: AeadAlgorithm,
    spi: u32,
    keymat: &[u8],
) -> Result<yadokari_esp::InboundSa, SaError> {
    yadokari_esp::InboundSa::new(
        InboundConfig::new(spi, alg.suite(), Mode::Tunnel),
        keymat,
        &[],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_through_traits() {
        let km: Vec<u8> = (0u8..20).collect();
        let mut e: Box<dyn EspEncap> =
            Box::new(aead_outbound(AeadAlgorithm::AesGcm128, 0x1234, &km).expect("sa"));
        let mut d: Box<dyn EspDecap> =
            Box::new(aead_inbound(AeadAlgorithm::AesGcm128, 0x1234, &km).expect("sa"));
        let mut inner = vec![0u8; 28];
        inner[0] = 0x45;
        inner[2..4].copy_from_slice(&28u16.to_be_bytes());
        let h = e.header_len();
        let mut buf = vec![0u8; h + inner.len() + e.trailer_len(inner.len())];
        buf[h..h + inner.len()].copy_from_slice(&inner);
        let r = e.encap(&mut buf, h..h + inner.len(), 4).expect("seal");
        let mut pkt = buf[r].to_vec();
        let mut again = pkt.clone();
        let (p, nh) = d.decap(&mut pkt).expect("open");
        assert_eq!(nh, 4);
        assert_eq!(&pkt[p], &inner[..]);
        assert!(matches!(d.decap(&mut again), Err(DecapError::Replay(1))));
        assert!(!e.rekey_needed());
    }

    #[test]
    fn bad_key_length() {
        assert!(aead_outbound(AeadAlgorithm::AesGcm128, 1, &[0u8; 16]).is_err());
        assert!(aead_inbound(AeadAlgorithm::AesGcm256, 1, &[0u8; 36]).is_ok());
    }
}
