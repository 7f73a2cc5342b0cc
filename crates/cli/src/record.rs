//! What `inspect` reports about each IKE message: one [`MessageRecord`] per
//! message, serialised as one JSON object per line (`--json`) or rendered
//! as a table. The key names are a public contract documented in
//! `docs/inspect.md`; change them only together with that page.

use serde::Serialize;

/// One IKE message found in a capture (or a damaged one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MessageRecord {
    /// 1-based frame number, counting every record in the file.
    pub frame: u64,
    /// RFC 3339 UTC capture time; `null` for pcapng Simple Packet Blocks.
    pub time: Option<String>,
    /// `address:port`, IPv6 in brackets.
    pub src: String,
    pub dst: String,
    /// Carried after a non-ESP marker on port 4500 (RFC 3948).
    pub non_esp_marker: bool,
    /// Frames whose IP fragments were reassembled into this datagram, in
    /// offset order; absent when the datagram was not IP-fragmented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_fragments: Option<Vec<u64>>,
    /// The capture holds fewer bytes than the packet had on the wire.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ispi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rspi: Option<String>,
    /// First payload type from the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_payload: Option<u8>,
    /// `"2.0"` for IKEv2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// The raw flags octet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flags: Option<u8>,
    /// I flag: sent by the original initiator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiator: Option<bool>,
    /// R flag: a response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<bool>,
    /// V flag: the sender speaks a higher major version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub higher_version: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u32>,
    /// The header's Length field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    pub payloads: Vec<PayloadRecord>,
    /// Why the message could not be decoded completely.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl MessageRecord {
    /// A record with only the capture-level fields set.
    #[must_use]
    pub fn new(frame: u64, time: Option<String>, src: String, dst: String) -> Self {
        MessageRecord {
            frame,
            time,
            src,
            dst,
            non_esp_marker: false,
            ip_fragments: None,
            truncated: false,
            ispi: None,
            rspi: None,
            next_payload: None,
            version: None,
            exchange_type: None,
            exchange: None,
            flags: None,
            initiator: None,
            response: None,
            higher_version: None,
            message_id: None,
            length: None,
            payloads: Vec::new(),
            error: None,
        }
    }
}

/// One payload of a chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PayloadRecord {
    /// IANA payload type number.
    #[serde(rename = "type")]
    pub payload_type: u8,
    /// Readable name from the wire crate ("SA", "Nonce", "Notify", …).
    pub name: String,
    pub critical: bool,
    /// Payload Length from the generic header.
    pub length: u16,
    #[serde(flatten)]
    pub body: Body,
}

/// The decoded body of a payload; its fields are merged into the payload
/// object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Body {
    Sa {
        proposals: Vec<ProposalRecord>,
    },
    Ke {
        group: u16,
        #[serde(skip_serializing_if = "Option::is_none")]
        group_name: Option<String>,
        data: String,
    },
    Id {
        id_type: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        id_type_name: Option<String>,
        id: String,
    },
    Cert {
        encoding: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        encoding_name: Option<String>,
        data: String,
    },
    Auth {
        method: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        method_name: Option<String>,
        data: String,
    },
    Notify(NotifyRecord),
    Delete {
        protocol_id: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        protocol: Option<String>,
        spi_size: u8,
        spis: Vec<String>,
    },
    Ts {
        selectors: Vec<SelectorRecord>,
    },
    Cp {
        cfg_type: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        cfg_type_name: Option<String>,
        attributes: Vec<ConfigAttributeRecord>,
    },
    Eap {
        code: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        code_name: Option<String>,
        identifier: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        eap_type: Option<u8>,
        data: String,
    },
    Encrypted(EncryptedRecord),
    /// Nonce, Vendor ID and payloads without a typed form: the body in hex.
    Data {
        data: String,
    },
    /// The body could not be decoded; the chain may still go on.
    Error {
        data: String,
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProposalRecord {
    pub number: u8,
    pub protocol_id: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub spi: String,
    pub transforms: Vec<TransformRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransformRecord {
    /// Transform type number (1 ENCR, 2 PRF, 3 INTEG, 4 KE, 5 ESN, …).
    #[serde(rename = "type")]
    pub transform_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    pub id: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_length: Option<u16>,
    pub attributes: Vec<AttributeRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeRecord {
    #[serde(rename = "type")]
    pub attribute_type: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// TV attributes: the 16-bit value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<u16>,
    /// TLV attributes: the value in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotifyRecord {
    pub notify_type: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_name: Option<String>,
    pub protocol_id: u8,
    pub spi: String,
    pub data: String,
    /// Typed reading of `data` for notifications the wire crate knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectorRecord {
    pub ts_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ts_type_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_protocol: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_address: Option<String>,
    /// Selector types without address ranges: the body in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigAttributeRecord {
    #[serde(rename = "type")]
    pub attribute_type: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub length: usize,
    /// Readable value where the type has one (addresses, prefixes, text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub data: String,
}

/// SK (RFC 7296 §3.14) and SKF (RFC 7383 §2.5).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncryptedRecord {
    /// Type of the first inner payload (SK's Next Payload field; for SKF
    /// only meaningful in fragment 1).
    pub inner_first_payload: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fragment_number: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_fragments: Option<u16>,
    /// Bytes of IV, ciphertext and ICV together.
    pub encrypted_length: usize,
    /// SK only: the decrypted payload chain, when keys were given and
    /// worked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner: Option<Vec<PayloadRecord>>,
    /// SKF only: this fragment's decrypted bytes (padding removed), in hex;
    /// a fragment alone is not a whole chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<String>,
    /// SKF only: the chain of the whole message, decoded from all
    /// fragments, on the fragment that completed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reassembled: Option<Vec<PayloadRecord>>,
    /// Integrity was verified (`true`), failed (not set: see
    /// `decrypt_error`), or could not be checked (`false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity_checked: Option<bool>,
    /// Why decryption failed, when keys were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypt_error: Option<String>,
    /// The decrypted (or reassembled) chain is damaged: where and how.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inner_error: Option<String>,
}

/// Lowercase hex of a byte string.
#[must_use]
pub fn hex(b: &[u8]) -> String {
    hex::encode(b)
}

/// An SPI as 16 lowercase hex digits.
#[must_use]
pub fn spi_hex(spi: u64) -> String {
    format!("{spi:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_fields_are_flattened() {
        let p = PayloadRecord {
            payload_type: 40,
            name: "Nonce".into(),
            critical: false,
            length: 36,
            body: Body::Data {
                data: "00ff".into(),
            },
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type": 40, "name": "Nonce", "critical": false, "length": 36, "data": "00ff"})
        );
        let mut m = MessageRecord::new(3, None, "192.0.2.1:500".into(), "[2001:db8::1]:500".into());
        m.ispi = Some(spi_hex(1));
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["frame"], 3);
        assert_eq!(v["time"], serde_json::Value::Null);
        assert_eq!(v["ispi"], "0000000000000001");
        assert!(v.get("rspi").is_none());
        assert!(v.get("truncated").is_none());
        assert_eq!(v["payloads"], serde_json::json!([]));
    }
}
