//! IKE message decoding for `inspect`: the header (RFC 7296 §3.1) and the
//! payload chain (§3.2–§3.16) through `yadokari-wire`, turned into
//! [`MessageRecord`]s. With a key table, Encrypted payloads (§3.14) are
//! opened and their inner chain decoded; Encrypted Fragments (RFC 7383
//! §2.5) are each opened on their own and, once every fragment of a
//! message has been seen, reassembled (§2.6) and decoded on the record of
//! the fragment that completed the message, as Wireshark does.

pub mod body;
mod dn;
pub mod sk_open;

use std::collections::BTreeMap;

use yadokari_wire::payload::{Payload, PayloadIter, RawPayload};
use yadokari_wire::registry::PayloadType;
use yadokari_wire::{Context, Header, WireError, WireErrorKind, HEADER_LEN};

use crate::keys::KeyTable;
use crate::record::{hex, spi_hex, Body, EncryptedRecord, MessageRecord, PayloadRecord};
use body::body_of;

/// Messages whose SKF fragments are being collected at once; the oldest is
/// dropped beyond this.
const MAX_SKF_MESSAGES: usize = 64;
/// Total Fragments values above this are not collected (RFC 7383 leaves
/// the count to the sender; a hostile capture could claim 65535).
const MAX_SKF_FRAGMENTS: u16 = 1024;
/// Most decrypted bytes kept for one fragmented message.
const MAX_SKF_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SkfKey {
    spi_i: u64,
    spi_r: u64,
    message_id: u32,
    /// I and R flags: the two directions of one exchange differ.
    flags: u8,
}

#[derive(Debug)]
struct SkfMessage {
    key: SkfKey,
    total: u16,
    first_inner: Option<PayloadType>,
    parts: BTreeMap<u16, Vec<u8>>,
    bytes: usize,
}

/// Decodes IKE messages, keeping what spans messages (SKF fragments).
#[derive(Debug)]
pub struct Decoder<'k> {
    keys: Option<&'k KeyTable>,
    skf: Vec<SkfMessage>,
}

/// The readable name of a payload type, from the wire crate's table.
fn payload_name(t: PayloadType) -> String {
    t.label().map_or_else(|| t.0.to_string(), str::to_owned)
}

impl<'k> Decoder<'k> {
    #[must_use]
    pub fn new(keys: Option<&'k KeyTable>) -> Self {
        Decoder {
            keys,
            skf: Vec::new(),
        }
    }

    fn header(msg: &[u8], rec: &mut MessageRecord) -> Option<Header> {
        let h = match Header::parse(msg) {
            Ok(h) => h,
            Err(e) => {
                rec.error = Some(e.to_string());
                return None;
            }
        };
        rec.ispi = Some(spi_hex(h.spi_i));
        rec.rspi = Some(spi_hex(h.spi_r));
        rec.next_payload = Some(h.next_payload.0);
        rec.version = Some(format!("{}.{}", h.major_version, h.minor_version));
        rec.exchange_type = Some(h.exchange_type.0);
        if h.major_version == 2 {
            rec.exchange = h.exchange_type.name().map(str::to_owned);
        }
        rec.flags = Some(h.flags.0);
        rec.initiator = Some(h.flags.initiator());
        rec.response = Some(h.flags.response());
        rec.higher_version = Some(h.flags.version());
        rec.message_id = Some(h.message_id);
        rec.length = Some(h.length);
        Some(h)
    }

    /// Fills only the header fields of `rec`, for a message known to be
    /// incomplete.
    pub fn decode_header_only(&mut self, msg: &[u8], rec: &mut MessageRecord) {
        let _ = Self::header(msg, rec);
    }

    /// Fills `rec` from the IKE message bytes (after any non-ESP marker).
    /// Never fails: what cannot be decoded ends up in `rec.error` (the
    /// wire crate's error, naming structure, field and byte offset).
    pub fn decode(&mut self, msg: &[u8], rec: &mut MessageRecord) {
        let Some(h) = Self::header(msg, rec) else {
            return;
        };
        if h.major_version != 2 {
            rec.error = Some(format!(
                "IKE version {}.{} is not decoded (only IKEv2)",
                h.major_version, h.minor_version
            ));
            return;
        }
        let declared = h.length as usize;
        let end = declared.min(msg.len());
        let chain = msg.get(HEADER_LEN..end).unwrap_or_default();
        let (payloads, chain_error) =
            self.walk(h.next_payload, chain, HEADER_LEN, Some((&h, &msg[..end])));
        rec.payloads = payloads;
        let length_error = (declared != msg.len()).then(|| {
            let e = WireError::new(
                Context::Message,
                "length",
                24,
                WireErrorKind::BadLength { value: declared },
            );
            format!("{e} (the datagram holds {} bytes)", msg.len())
        });
        rec.error = chain_error.or(length_error).or_else(|| {
            // A damaged inner chain damages the message.
            rec.payloads.iter().find_map(|p| match &p.body {
                Body::Encrypted(e) => e.inner_error.clone(),
                _ => None,
            })
        });
    }

    /// Walks a chain, decoding each payload. `outer` is the header and the
    /// whole message when the chain is the message's own (so SK/SKF can be
    /// opened); `None` inside decrypted data.
    fn walk(
        &mut self,
        first: PayloadType,
        buf: &[u8],
        base: usize,
        outer: Option<(&Header, &[u8])>,
    ) -> (Vec<PayloadRecord>, Option<String>) {
        let mut out = Vec::new();
        for raw in PayloadIter::new(first, buf, base) {
            let raw = match raw {
                Ok(r) => r,
                Err(e) => return (out, Some(e.to_string())),
            };
            let body = match (raw.decode(), outer) {
                (Ok(Payload::Sk(_)), Some((h, msg))) => {
                    Body::Encrypted(self.encrypted(&raw, h, msg, None))
                }
                (Ok(Payload::Skf(skf)), Some((h, msg))) => Body::Encrypted(self.encrypted(
                    &raw,
                    h,
                    msg,
                    Some((skf.fragment_number, skf.total_fragments)),
                )),
                (Ok(p), _) => body_of(&p),
                (Err(e), _) => Body::Error {
                    data: hex(raw.body),
                    error: e.to_string(),
                },
            };
            out.push(PayloadRecord {
                payload_type: raw.payload_type.0,
                name: payload_name(raw.payload_type),
                critical: raw.critical,
                length: u16::try_from(raw.body.len() + 4).unwrap_or(u16::MAX),
                body,
            });
        }
        (out, None)
    }

    fn encrypted(
        &mut self,
        raw: &RawPayload<'_>,
        h: &Header,
        msg: &[u8],
        skf: Option<(u16, u16)>,
    ) -> EncryptedRecord {
        let start = raw.body_offset() + if skf.is_some() { 4 } else { 0 };
        let end = raw.body_offset() + raw.body.len();
        let mut rec = EncryptedRecord {
            inner_first_payload: raw.next_payload.0,
            fragment_number: skf.map(|f| f.0),
            total_fragments: skf.map(|f| f.1),
            encrypted_length: end.saturating_sub(start),
            inner: None,
            decrypted: None,
            reassembled: None,
            integrity_checked: None,
            decrypt_error: None,
            inner_error: None,
        };
        let Some(table) = self.keys else {
            return rec;
        };
        let Some(keys) = table.get(h.spi_i, h.spi_r) else {
            rec.decrypt_error = Some("no keys for this IKE SA in the key table".into());
            return rec;
        };
        let opened = match sk_open::open(keys, h.flags.initiator(), msg, start..end) {
            Ok(o) => o,
            Err(e) => {
                rec.decrypt_error = Some(e.to_string());
                return rec;
            }
        };
        rec.integrity_checked = Some(opened.integrity_checked);
        match skf {
            None => {
                let (inner, err) = self.walk(raw.next_payload, &opened.plaintext, 0, None);
                rec.inner = Some(inner);
                rec.inner_error = err.map(|e| format!("decrypted SK: {e}"));
            }
            Some((number, total)) => {
                rec.decrypted = Some(hex(&opened.plaintext));
                let key = SkfKey {
                    spi_i: h.spi_i,
                    spi_r: h.spi_r,
                    message_id: h.message_id,
                    flags: h.flags.0 & 0x28,
                };
                if let Some((first, whole)) =
                    self.collect_fragment(key, number, total, raw.next_payload, opened.plaintext)
                {
                    let (chain, err) = self.walk(first, &whole, 0, None);
                    rec.reassembled = Some(chain);
                    rec.inner_error = err.map(|e| format!("reassembled SKF: {e}"));
                }
            }
        }
        rec
    }

    /// Stores one decrypted fragment; returns the first inner payload type
    /// and the whole plaintext when this fragment completes its message.
    fn collect_fragment(
        &mut self,
        key: SkfKey,
        number: u16,
        total: u16,
        next_payload: PayloadType,
        plain: Vec<u8>,
    ) -> Option<(PayloadType, Vec<u8>)> {
        // RFC 7383 §2.5: Fragment Number starts at 1 and is at most Total.
        if number == 0 || number > total || total > MAX_SKF_FRAGMENTS {
            return None;
        }
        let idx = match self.skf.iter().position(|m| m.key == key) {
            Some(i) => i,
            None => {
                if self.skf.len() >= MAX_SKF_MESSAGES {
                    self.skf.remove(0);
                }
                self.skf.push(SkfMessage {
                    key,
                    total,
                    first_inner: None,
                    parts: BTreeMap::new(),
                    bytes: 0,
                });
                self.skf.len() - 1
            }
        };
        let m = &mut self.skf[idx];
        if m.total != total {
            // §2.6: a different Total Fragments means the sender
            // re-fragmented (e.g. after a PMTU change); start over.
            m.total = total;
            m.parts.clear();
            m.bytes = 0;
            m.first_inner = None;
        }
        if m.bytes + plain.len() > MAX_SKF_BYTES {
            return None;
        }
        if number == 1 {
            m.first_inner = Some(next_payload);
        }
        m.bytes += plain.len();
        if let Some(old) = m.parts.insert(number, plain) {
            m.bytes -= old.len();
        }
        if m.parts.len() != usize::from(m.total) {
            return None;
        }
        let m = self.skf.remove(idx);
        let first = m.first_inner?;
        Some((first, m.parts.into_values().flatten().collect()))
    }
}
