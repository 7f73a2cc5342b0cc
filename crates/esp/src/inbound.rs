//! Inbound ESP SA: decapsulation in place (RFC 4303 §3.4).
//!
//! Order of checks, cheapest and least informative first:
//! 1. length and block alignment (§3.4.2 "… MUST be discarded");
//! 2. SPI, and the sequence number against the replay window (§3.4.3:
//!    "duplicates are rejected … before the ICV verification");
//! 3. ICV / AEAD tag (§3.4.4), with the ESN high-order bits inferred from
//!    the window (§2.2.1, Appendix A2.2) — then decryption;
//! 4. only now the window is updated (§3.4.3);
//! 5. the decrypted trailer (§2.4–§2.6) and, in tunnel mode, the inner IP
//!    header, whose length strips any TFC padding (§2.7).
//!
//! Every drop is counted by [`DropReason`].

use core::ops::Range;

use yadokari_wire::esp::{self as wire, Header, HeaderError, HeaderErrorKind, Trailer};

use crate::error::{DecapError, DropReason, SaError};
use crate::replay::{ReplayError, ReplayWindow, DEFAULT_WINDOW};
use crate::suite::{Encryption, Suite};
use crate::transform::{aead_aad, Aead, CbcDecrypt, Integ, AEAD_IV_LEN, AES_BLOCK};
use crate::Mode;

/// Settings of an inbound SA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboundConfig {
    /// The SPI we chose for this SA.
    pub spi: u32,
    /// Algorithms.
    pub suite: Suite,
    /// Tunnel or transport mode.
    pub mode: Mode,
    /// Extended (64-bit) sequence numbers negotiated (RFC 4303 §2.2.1).
    pub esn: bool,
    /// Anti-replay window size in packets (64..=65536, rounded up to a
    /// multiple of 64).
    pub replay_window: u32,
}

impl InboundConfig {
    /// A configuration without ESN and with the default 1024-packet window.
    pub const fn new(spi: u32, suite: Suite, mode: Mode) -> Self {
        Self {
            spi,
            suite,
            mode,
            esn: false,
            replay_window: DEFAULT_WINDOW,
        }
    }
}

/// The result of a successful decapsulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decapsulated {
    /// Where the inner payload lies in the packet buffer (decrypted in
    /// place). In tunnel mode it is exactly the inner IP packet.
    pub payload: Range<usize>,
    /// The Next Header field: 4/41 in tunnel mode; 59
    /// ([`yadokari_wire::esp::NEXT_HEADER_NONE`]) marks a dummy packet
    /// (RFC 4303 §2.7), which the caller MUST discard.
    pub next_header: u8,
    /// The full (ESN-expanded) sequence number.
    pub seq: u64,
}

/// Per-SA inbound counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboundCounters {
    /// Packets accepted (dummy packets included).
    pub packets: u64,
    /// Inner payload bytes accepted.
    pub bytes: u64,
    /// Dummy packets (Next Header 59) accepted.
    pub dummy: u64,
    drops: [u64; DropReason::COUNT],
}

impl InboundCounters {
    /// Packets dropped for `reason`.
    pub fn drops(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// Packets dropped for any reason.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }
}

enum Cipher {
    Aead(Aead),
    Cbc(Box<(CbcDecrypt, Integ)>),
    Null(Box<Integ>),
}

/// An inbound ESP SA.
pub struct InboundSa {
    spi: u32,
    suite: Suite,
    mode: Mode,
    esn: bool,
    window: ReplayWindow,
    cipher: Cipher,
    counters: InboundCounters,
}

impl core::fmt::Debug for InboundSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InboundSa")
            .field("spi", &format_args!("{:#010x}", self.spi))
            .field("suite", &self.suite)
            .field("mode", &self.mode)
            .field("esn", &self.esn)
            .field("highest_seq", &self.window.top())
            .finish_non_exhaustive()
    }
}

fn malformed(field: &'static str, offset: usize, kind: HeaderErrorKind) -> DecapError {
    DecapError::Malformed(HeaderError::new(Header::Esp, field, offset, kind))
}

impl InboundSa {
    /// Sets up the SA; keys as for [`crate::OutboundSa::new`].
    pub fn new(
        config: InboundConfig,
        encryption_key: &[u8],
        integrity_key: &[u8],
    ) -> Result<Self, SaError> {
        if config.spi == 0 {
            return Err(SaError::ZeroSpi);
        }
        let window = ReplayWindow::new(config.replay_window)
            .ok_or(SaError::ReplayWindow(config.replay_window))?;
        let suite = config.suite;
        let enc = suite.encryption();
        let cipher = if enc.is_aead() {
            if !integrity_key.is_empty() {
                return Err(SaError::KeyLength {
                    which: "integrity",
                    expected: 0,
                    got: integrity_key.len(),
                });
            }
            Cipher::Aead(Aead::new(enc, encryption_key)?)
        } else {
            let integ = Integ::new(suite.integrity(), integrity_key)?;
            if enc == Encryption::Null {
                if !encryption_key.is_empty() {
                    return Err(SaError::KeyLength {
                        which: "encryption",
                        expected: 0,
                        got: encryption_key.len(),
                    });
                }
                Cipher::Null(Box::new(integ))
            } else {
                Cipher::Cbc(Box::new((CbcDecrypt::new(enc, encryption_key)?, integ)))
            }
        };
        Ok(Self {
            spi: config.spi,
            suite,
            mode: config.mode,
            esn: config.esn,
            window,
            cipher,
            counters: InboundCounters::default(),
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

    /// The highest sequence number accepted (0 before the first).
    pub fn highest_seq(&self) -> u64 {
        self.window.top()
    }

    /// The replay window.
    pub fn replay_window(&self) -> &ReplayWindow {
        &self.window
    }

    /// Counters.
    pub fn counters(&self) -> &InboundCounters {
        &self.counters
    }

    /// Test hook: direct access to the window.
    #[cfg(test)]
    pub(crate) fn window_mut(&mut self) -> &mut ReplayWindow {
        &mut self.window
    }

    /// Smallest valid ESP packet for this suite.
    pub fn min_packet_len(&self) -> usize {
        let min_ct = wire::alignment(self.suite.block_size());
        wire::HEADER_LEN + self.suite.iv_len() + min_ct + self.suite.icv_len()
    }

    /// The cheap checks of steps 1–2 alone (length, SPI, replay window),
    /// without cryptography or state change. Returns the inferred 64-bit
    /// sequence number. Not counted.
    pub fn precheck(&self, packet: &[u8]) -> Result<u64, DecapError> {
        let min = self.min_packet_len();
        if packet.len() < min {
            let field = if packet.len() < wire::HEADER_LEN {
                "spi"
            } else {
                "payload"
            };
            return Err(malformed(
                field,
                0,
                HeaderErrorKind::Truncated {
                    needed: min,
                    available: packet.len(),
                },
            ));
        }
        let header = wire::Packet::new_checked(packet).map_err(DecapError::Malformed)?;
        let ct_len = packet.len() - wire::HEADER_LEN - self.suite.iv_len() - self.suite.icv_len();
        if ct_len % self.suite.block_size() != 0 {
            return Err(malformed(
                "payload",
                wire::HEADER_LEN + self.suite.iv_len(),
                HeaderErrorKind::InvalidValue {
                    value: ct_len as u64,
                },
            ));
        }
        let found = header.spi();
        if found != self.spi {
            return Err(DecapError::SpiMismatch {
                expected: self.spi,
                found,
            });
        }
        let seq_lo = header.sequence_number();
        let seq = if self.esn {
            self.window.infer_esn(seq_lo)
        } else {
            u64::from(seq_lo)
        };
        match self.window.check(seq) {
            Ok(()) => Ok(seq),
            Err(ReplayError::Replayed) => Err(DecapError::Replayed { seq }),
            Err(ReplayError::TooOld) => Err(DecapError::TooOld { seq }),
        }
    }

    /// Decapsulates the ESP packet `packet` (SPI … ICV) in place.
    ///
    /// On success the inner payload is at `packet[result.payload]`. On
    /// error the packet must be dropped; its bytes may have been changed
    /// (decrypted) if the error came after authentication.
    pub fn decap(&mut self, packet: &mut [u8]) -> Result<Decapsulated, DecapError> {
        match self.decap_inner(packet) {
            Ok(d) => {
                self.counters.packets += 1;
                self.counters.bytes += d.payload.len() as u64;
                if d.next_header == wire::NEXT_HEADER_NONE {
                    self.counters.dummy += 1;
                }
                Ok(d)
            }
            Err(e) => {
                self.counters.drops[e.reason() as usize] += 1;
                Err(e)
            }
        }
    }

    fn decap_inner(&mut self, packet: &mut [u8]) -> Result<Decapsulated, DecapError> {
        let seq = self.precheck(packet)?;
        let iv_end = wire::HEADER_LEN + self.suite.iv_len();
        let ct_end = packet.len() - self.suite.icv_len();
        let seq_hi = self.esn.then_some((seq >> 32) as u32);

        match &self.cipher {
            Cipher::Aead(aead) => {
                let mut iv = [0u8; AEAD_IV_LEN];
                iv.copy_from_slice(&packet[wire::HEADER_LEN..iv_end]);
                let (aad, aad_len) = aead_aad(self.spi, seq, self.esn);
                aead.open(&iv, &aad[..aad_len], &mut packet[iv_end..])
                    .map_err(|_| DecapError::Integrity { seq })?;
            }
            Cipher::Cbc(cbc) => {
                let (cbc, integ) = &**cbc;
                let (authed, icv) = packet.split_at(ct_end);
                if !integ.verify(authed, seq_hi, icv) {
                    return Err(DecapError::Integrity { seq });
                }
                let mut iv = [0u8; AES_BLOCK];
                iv.copy_from_slice(&packet[wire::HEADER_LEN..iv_end]);
                // Authenticated ciphertext of whole blocks cannot fail to
                // decrypt; treat a library failure as malformed anyway.
                cbc.decrypt(iv, &mut packet[iv_end..ct_end]).map_err(|_| {
                    malformed(
                        "payload",
                        iv_end,
                        HeaderErrorKind::InvalidValue { value: 0 },
                    )
                })?;
            }
            Cipher::Null(integ) => {
                let (authed, icv) = packet.split_at(ct_end);
                if !integ.verify(authed, seq_hi, icv) {
                    return Err(DecapError::Integrity { seq });
                }
            }
        }

        // Authentic: now (and only now) the window moves. The check cannot
        // fail here, as `precheck` passed and nothing ran in between.
        self.window
            .check_and_update(seq)
            .map_err(|_| DecapError::Replayed { seq })?;

        let plaintext = &packet[iv_end..ct_end];
        let trailer = Trailer::parse(plaintext).map_err(|e| {
            DecapError::BadTrailer(HeaderError {
                offset: e.offset + iv_end,
                ..e
            })
        })?;
        let mut payload = iv_end..iv_end + trailer.payload_len;
        let nh = trailer.next_header;
        if self.mode == Mode::Tunnel {
            match nh {
                wire::NEXT_HEADER_IPV4 | wire::NEXT_HEADER_IPV6 => {
                    let inner_len = inner_ip_len(nh, &packet[payload.clone()])
                        .map_err(DecapError::InnerPacket)?;
                    // Strip TFC padding (RFC 4303 §2.7).
                    payload.end = payload.start + inner_len;
                }
                wire::NEXT_HEADER_NONE => {}
                other => return Err(DecapError::NextHeader(other)),
            }
        }
        Ok(Decapsulated {
            payload,
            next_header: nh,
            seq,
        })
    }
}

/// The length the inner IP header claims, checked against what is there.
fn inner_ip_len(next_header: u8, inner: &[u8]) -> Result<usize, &'static str> {
    let version = inner.first().map(|b| b >> 4);
    let len = if next_header == wire::NEXT_HEADER_IPV4 {
        if version != Some(4) {
            return Err("IPv4 next header without an IPv4 packet");
        }
        let Some(&[hi, lo]) = inner.get(2..4) else {
            return Err("IPv4 header truncated");
        };
        let total = usize::from(u16::from_be_bytes([hi, lo]));
        if total < 20 {
            return Err("IPv4 total length below the header size");
        }
        total
    } else {
        if version != Some(6) {
            return Err("IPv6 next header without an IPv6 packet");
        }
        let Some(&[hi, lo]) = inner.get(4..6) else {
            return Err("IPv6 header truncated");
        };
        let plen = usize::from(u16::from_be_bytes([hi, lo]));
        if plen == 0 {
            // A jumbogram (RFC 2675) carries its length elsewhere; keep
            // the whole payload.
            return if inner.len() >= 40 {
                Ok(inner.len())
            } else {
                Err("IPv6 header truncated")
            };
        }
        40 + plen
    };
    if len > inner.len() {
        return Err("inner IP length exceeds the ESP payload");
    }
    Ok(len)
}
