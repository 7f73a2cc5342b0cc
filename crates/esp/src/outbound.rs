//! Outbound ESP SA: encapsulation in place (RFC 4303 §3.3).
//!
//! The caller places the inner packet (tunnel mode: the whole IP packet;
//! transport mode: the upper-layer payload) in a buffer with
//! [`OutboundSa::headroom`] free bytes in front and
//! [`OutboundSa::tailroom`] free bytes behind it; [`OutboundSa::encap`]
//! writes header, IV, optional TFC padding (§2.7), padding and trailer
//! (§2.4–§2.6), encrypts, and appends the ICV (§2.8), without copying the
//! payload or allocating.
//!
//! Sequence numbers (§2.2, §3.3.3): the first packet carries 1; the
//! counter is 32 bits, or 64 with ESN (§2.2.1) of which the low half goes
//! on the wire. "The sender's counter … MUST NOT be allowed to cycle": the
//! SA refuses once the last number is used, and reports `rekey_needed`
//! from a soft limit on, so IKE can replace it in time.

use core::ops::Range;

use yadokari_wire::esp::{self as wire, Trailer};

use crate::error::{EncapError, SaError};
use crate::suite::{Encryption, Suite};
use crate::transform::{aead_aad, Aead, CbcEncrypt, Integ, AEAD_IV_LEN, AES_BLOCK};
use crate::Mode;

/// Settings of an outbound SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundConfig {
    /// The SPI the peer chose for this SA.
    pub spi: u32,
    /// Algorithms.
    pub suite: Suite,
    /// Tunnel or transport mode.
    pub mode: Mode,
    /// Extended (64-bit) sequence numbers negotiated (RFC 4303 §2.2.1).
    pub esn: bool,
    /// Tunnel mode only: pad inner packets shorter than this with zero
    /// bytes (TFC padding, RFC 4303 §2.7); the receiver strips them using
    /// the inner IP length. `None` disables TFC padding.
    pub tfc_pad_to: Option<u16>,
    /// Sequence number from which [`Encapsulated::rekey_needed`] is set;
    /// `None` means 15/16 of the sequence space.
    pub seq_soft_limit: Option<u64>,
}

impl OutboundConfig {
    /// A configuration without ESN, TFC padding or custom soft limit.
    pub const fn new(spi: u32, suite: Suite, mode: Mode) -> Self {
        Self {
            spi,
            suite,
            mode,
            esn: false,
            tfc_pad_to: None,
            seq_soft_limit: None,
        }
    }
}

/// The result of a successful encapsulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encapsulated {
    /// Where the ESP packet (SPI … ICV) now lies in the buffer.
    pub packet: Range<usize>,
    /// The full (64-bit) sequence number used.
    pub seq: u64,
    /// The soft limit has been reached: ask IKE to rekey this SA.
    pub rekey_needed: bool,
}

/// Per-SA outbound counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundCounters {
    /// Packets encapsulated.
    pub packets: u64,
    /// Payload bytes encapsulated (inner packets, before ESP overhead).
    pub bytes: u64,
    /// Packets refused for lack of head- or tailroom, a bad range or next
    /// header (caller errors).
    pub dropped_invalid: u64,
    /// Packets refused because the sequence space is exhausted.
    pub dropped_exhausted: u64,
}

enum Cipher {
    Aead(Aead),
    // Boxed: AES key schedules and the HMAC context are large, and most
    // SAs use an AEAD.
    Cbc(Box<(CbcEncrypt, Integ)>),
    Null(Box<Integ>),
}

/// An outbound ESP SA.
pub struct OutboundSa {
    spi: u32,
    suite: Suite,
    mode: Mode,
    esn: bool,
    tfc_pad_to: usize,
    /// Last sequence number used (0: none yet).
    seq: u64,
    seq_soft_limit: u64,
    seq_hard_limit: u64,
    cipher: Cipher,
    counters: OutboundCounters,
}

impl core::fmt::Debug for OutboundSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key material.
        f.debug_struct("OutboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("suite", &self.suite)
            .field("mode", &self.mode)
            .field("esn", &self.esn)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl OutboundSa {
    /// Sets up the SA. `encryption_key` is the encryption KEYMAT (key ‖
    /// salt for AEADs, empty for ENCR_NULL); `integrity_key` the integrity
    /// KEYMAT (empty for AEADs). The caller keeps (and wipes) its copies.
    pub fn new(
        config: OutboundConfig,
        encryption_key: &[u8],
        integrity_key: &[u8],
    ) -> Result<Self, SaError> {
        if config.spi == 0 {
            return Err(SaError::ZeroSpi);
        }
        let suite = config.suite;
        let cipher = build_cipher(suite, encryption_key, integrity_key)?;
        let seq_hard_limit = if config.esn {
            u64::MAX
        } else {
            u64::from(u32::MAX)
        };
        let seq_soft_limit = config
            .seq_soft_limit
            .unwrap_or(seq_hard_limit - seq_hard_limit / 16)
            .min(seq_hard_limit);
        let tfc_pad_to = match config.mode {
            Mode::Tunnel => config.tfc_pad_to.map_or(0, usize::from),
            Mode::Transport => 0,
        };
        Ok(Self {
            spi: config.spi,
            suite,
            mode: config.mode,
            esn: config.esn,
            tfc_pad_to,
            seq: 0,
            seq_soft_limit,
            seq_hard_limit,
            cipher,
            counters: OutboundCounters::default(),
        })
    }

    /// The SPI.
    pub fn spi(&self) -> u32 {
        self.spi
    }

    /// The algorithms.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Tunnel or transport.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether ESN is on.
    pub fn esn(&self) -> bool {
        self.esn
    }

    /// The last sequence number used (0 before the first packet).
    pub fn last_seq(&self) -> u64 {
        self.seq
    }

    /// Sequence numbers left before the SA refuses to send.
    pub fn remaining_seq(&self) -> u64 {
        self.seq_hard_limit - self.seq
    }

    /// Whether the soft limit has been reached (IKE should rekey).
    pub fn rekey_needed(&self) -> bool {
        self.seq >= self.seq_soft_limit
    }

    /// Counters.
    pub fn counters(&self) -> &OutboundCounters {
        &self.counters
    }

    /// Bytes needed in front of the payload: ESP header + IV.
    pub fn headroom(&self) -> usize {
        wire::HEADER_LEN + self.suite.iv_len()
    }

    fn alignment(&self) -> usize {
        wire::alignment(self.suite.block_size())
    }

    fn tfc_len(&self, payload_len: usize) -> usize {
        self.tfc_pad_to.saturating_sub(payload_len)
    }

    /// Bytes needed behind a payload of `payload_len` bytes: TFC padding,
    /// padding, Pad Length, Next Header, ICV.
    pub fn tailroom(&self, payload_len: usize) -> usize {
        let tfc = self.tfc_len(payload_len);
        tfc + wire::pad_len(payload_len + tfc, self.suite.block_size())
            + wire::TRAILER_LEN
            + self.suite.icv_len()
    }

    /// Tailroom that suffices for any payload length (TFC target included).
    pub fn max_tailroom(&self) -> usize {
        self.tfc_pad_to + (self.alignment() - 1) + wire::TRAILER_LEN + self.suite.icv_len()
    }

    /// The most an ESP packet can exceed its payload, for MTU
    /// calculations: headroom + worst-case padding + trailer + ICV (TFC
    /// padding excluded: it never grows a packet beyond its target).
    pub fn overhead(&self) -> usize {
        self.headroom() + (self.alignment() - 1) + wire::TRAILER_LEN + self.suite.icv_len()
    }

    /// The largest payload whose ESP packet fits in `esp_len` bytes
    /// (e.g. path MTU minus outer IP and UDP headers), or 0.
    pub fn max_payload_len(&self, esp_len: usize) -> usize {
        let fixed = self.headroom() + self.suite.icv_len();
        let Some(body) = esp_len.checked_sub(fixed) else {
            return 0;
        };
        let body = body - body % self.alignment();
        body.saturating_sub(wire::TRAILER_LEN)
    }

    /// Encapsulates the payload at `buf[payload]` in place.
    ///
    /// `next_header` is the payload's protocol: 4 (IPv4) or 41 (IPv6) in
    /// tunnel mode (59 for a dummy packet), the upper-layer protocol in
    /// transport mode. On success the ESP packet is at
    /// `buf[result.packet]`, starting `headroom()` bytes before
    /// `payload.start`. On error nothing observable changed except the
    /// counters (no sequence number is consumed).
    pub fn encap(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
        next_header: u8,
    ) -> Result<Encapsulated, EncapError> {
        match self.encap_inner(buf, payload, next_header) {
            Ok(done) => Ok(done),
            Err(e) => {
                match e {
                    EncapError::SequenceExhausted => self.counters.dropped_exhausted += 1,
                    _ => self.counters.dropped_invalid += 1,
                }
                Err(e)
            }
        }
    }

    fn encap_inner(
        &mut self,
        buf: &mut [u8],
        payload: Range<usize>,
        next_header: u8,
    ) -> Result<Encapsulated, EncapError> {
        if payload.start > payload.end || payload.end > buf.len() {
            return Err(EncapError::BadRange {
                start: payload.start,
                end: payload.end,
                len: buf.len(),
            });
        }
        if self.mode == Mode::Tunnel
            && !matches!(
                next_header,
                wire::NEXT_HEADER_IPV4 | wire::NEXT_HEADER_IPV6 | wire::NEXT_HEADER_NONE
            )
        {
            return Err(EncapError::NextHeader(next_header));
        }
        let headroom = self.headroom();
        let Some(start) = payload.start.checked_sub(headroom) else {
            return Err(EncapError::Headroom {
                needed: headroom,
                available: payload.start,
            });
        };
        let payload_len = payload.len();
        let tailroom = self.tailroom(payload_len);
        let available = buf.len() - payload.end;
        if available < tailroom {
            return Err(EncapError::Tailroom {
                needed: tailroom,
                available,
            });
        }
        if self.seq >= self.seq_hard_limit {
            return Err(EncapError::SequenceExhausted);
        }
        let seq = self.seq + 1;

        let icv_len = self.suite.icv_len();
        let end = payload.end + tailroom;
        let packet = &mut buf[start..end];
        let iv_end = headroom;
        let ct_end = packet.len() - icv_len;

        // Header. The low 32 bits go on the wire (§2.2.1).
        packet[0..4].copy_from_slice(&self.spi.to_be_bytes());
        packet[4..8].copy_from_slice(&(seq as u32).to_be_bytes());

        // TFC padding (zeros), then the trailer (§2.4, §2.7).
        let tfc = self.tfc_len(payload_len);
        let body_start = iv_end + payload_len;
        packet[body_start..body_start + tfc].fill(0);
        let trailer = Trailer::for_payload(payload_len + tfc, self.suite.block_size(), next_header);
        trailer
            .emit(&mut packet[body_start + tfc..ct_end])
            .map_err(|_| EncapError::Crypto)?;

        let seq_hi = self.esn.then_some((seq >> 32) as u32);
        match &self.cipher {
            Cipher::Aead(aead) => {
                // RFC 4106 §3.1: the IV must be unique per key; the 64-bit
                // sequence number is (it never repeats within an SA).
                let iv = seq.to_be_bytes();
                packet[wire::HEADER_LEN..iv_end].copy_from_slice(&iv);
                let (aad, aad_len) = aead_aad(self.spi, seq, self.esn);
                let (body, icv) = packet.split_at_mut(ct_end);
                aead.seal(&iv, &aad[..aad_len], &mut body[iv_end..], icv)
                    .map_err(|_| EncapError::Crypto)?;
            }
            Cipher::Cbc(cbc) => {
                let (cbc, integ) = &**cbc;
                let iv = cbc.iv(seq).map_err(|_| EncapError::Crypto)?;
                packet[wire::HEADER_LEN..iv_end].copy_from_slice(&iv);
                cbc.encrypt(iv, &mut packet[iv_end..ct_end])
                    .map_err(|_| EncapError::Crypto)?;
                let (authed, icv) = packet.split_at_mut(ct_end);
                integ.compute(authed, seq_hi, icv);
            }
            Cipher::Null(integ) => {
                let (authed, icv) = packet.split_at_mut(ct_end);
                integ.compute(authed, seq_hi, icv);
            }
        }

        self.seq = seq;
        self.counters.packets += 1;
        self.counters.bytes += payload_len as u64;
        Ok(Encapsulated {
            packet: start..end,
            seq,
            rekey_needed: seq >= self.seq_soft_limit,
        })
    }

    /// Test hook: pretend `n` sequence numbers were used.
    #[cfg(test)]
    pub(crate) fn set_last_seq(&mut self, n: u64) {
        self.seq = n;
    }
}

fn build_cipher(
    suite: Suite,
    encryption_key: &[u8],
    integrity_key: &[u8],
) -> Result<Cipher, SaError> {
    let enc = suite.encryption();
    if enc.is_aead() {
        if !integrity_key.is_empty() {
            return Err(SaError::KeyLength {
                which: "integrity",
                expected: 0,
                got: integrity_key.len(),
            });
        }
        return Ok(Cipher::Aead(Aead::new(enc, encryption_key)?));
    }
    let integ = Integ::new(suite.integrity(), integrity_key)?;
    match enc {
        Encryption::Null => {
            if !encryption_key.is_empty() {
                return Err(SaError::KeyLength {
                    which: "encryption",
                    expected: 0,
                    got: encryption_key.len(),
                });
            }
            Ok(Cipher::Null(Box::new(integ)))
        }
        _ => Ok(Cipher::Cbc(Box::new((
            CbcEncrypt::new(enc, encryption_key)?,
            integ,
        )))),
    }
}

// Keep the IV constants honest against the suite table.
const _: () = assert!(AEAD_IV_LEN == Encryption::AesGcm128.iv_len());
const _: () = assert!(AES_BLOCK == Encryption::AesCbc128.iv_len());
const _: () = assert!(Encryption::AesGcm128.aead_icv_len() == aws_lc_rs::aead::MAX_TAG_LEN);
