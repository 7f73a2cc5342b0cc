//! `yadokari inspect`: lists every IKE message of a capture file.
//!
//! The pipeline is capture file → frames ([`crate::capture`]) → IP and UDP
//! (with IP reassembly) → UDP port 500, or port 4500 behind the RFC 3948
//! non-ESP marker → [`crate::ike::Decoder`] → [`MessageRecord`]s, rendered
//! by [`crate::output`].

use std::net::{IpAddr, SocketAddr};

use crate::capture::packet::{
    classify_udp, decode_link, decode_udp, walk_ipv6_extensions, UdpContent, IPPROTO_UDP,
};
use crate::capture::reassembly::Reassembler;
use crate::capture::{CaptureError, CaptureReader};
use crate::ike::Decoder;
use crate::keys::KeyTable;
use crate::record::MessageRecord;

/// Counts of what the capture held besides IKE messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Packet records in the file.
    pub frames: u64,
    /// IKE messages listed (including damaged ones).
    pub ike_messages: u64,
    /// UDP-encapsulated ESP packets on port 4500.
    pub esp: u64,
    /// NAT-keepalives on port 4500.
    pub keepalives: u64,
    /// Frames whose link, IP or UDP header could not be decoded.
    pub undecodable: u64,
}

/// The result of inspecting a capture: the messages found, counts, and the
/// container error that stopped the listing early, if any.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub messages: Vec<MessageRecord>,
    pub summary: Summary,
    pub error: Option<CaptureError>,
}

/// Inspects a capture held in memory. A container-level error before the
/// first record (not a capture file) or in the middle (damaged, cut short)
/// is returned in `error`, with every message found before it.
#[must_use]
pub fn inspect(data: &[u8], keys: Option<&KeyTable>) -> Inspection {
    let mut out = Inspection {
        messages: Vec::new(),
        summary: Summary::default(),
        error: None,
    };
    let reader = match CaptureReader::new(data) {
        Ok(r) => r,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let mut walker = Walker {
        decoder: Decoder::new(keys),
        reassembler: Reassembler::new(),
        messages: Vec::new(),
        summary: Summary::default(),
        first_fragment_times: std::collections::HashMap::new(),
    };
    for frame in reader {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                out.error = Some(e);
                break;
            }
        };
        walker.summary.frames += 1;
        let time = frame.timestamp.map(|t| t.rfc3339());
        let cut = (frame.data.len() as u64) < u64::from(frame.orig_len);
        walker.frame(frame.number, time, frame.link_type, frame.data, cut);
    }
    walker.finish();
    // Incomplete IP datagrams are reported at their first fragment, which
    // may precede messages already listed.
    walker.messages.sort_by_key(|m| m.frame);
    out.summary = walker.summary;
    out.summary.ike_messages = walker.messages.len() as u64;
    out.messages = walker.messages;
    out
}

struct Walker<'k> {
    decoder: Decoder<'k>,
    reassembler: Reassembler,
    messages: Vec<MessageRecord>,
    summary: Summary,
    /// Capture times of first fragments, for datagrams never completed.
    first_fragment_times: std::collections::HashMap<u64, String>,
}

impl Walker<'_> {
    fn frame(
        &mut self,
        number: u64,
        time: Option<String>,
        link: crate::capture::LinkType,
        data: &[u8],
        cut: bool,
    ) {
        let ip = match decode_link(link, data) {
            Ok(Some(ip)) => ip,
            Ok(None) => return,
            Err(_) => {
                self.summary.undecodable += 1;
                return;
            }
        };
        if let Some(frag) = ip.fragment {
            if let (0, Some(t)) = (frag.offset, &time) {
                self.first_fragment_times.insert(number, t.clone());
            }
            let Some(whole) = self.reassembler.push(number, &ip) else {
                return;
            };
            let (proto, payload) = match whole.src {
                IpAddr::V6(_) => match walk_ipv6_extensions(whole.protocol, &whole.payload, 0) {
                    Ok((p, skip, None)) => (p, whole.payload.get(skip..).unwrap_or_default()),
                    _ => {
                        self.summary.undecodable += 1;
                        return;
                    }
                },
                IpAddr::V4(_) => (whole.protocol, &whole.payload[..]),
            };
            if proto != IPPROTO_UDP {
                return;
            }
            self.udp(
                number,
                time,
                whole.src,
                whole.dst,
                payload,
                false,
                Some(whole.frames),
            );
            return;
        }
        if ip.protocol != IPPROTO_UDP {
            return;
        }
        let cut = cut || !ip.complete();
        self.udp(number, time, ip.src, ip.dst, ip.payload, cut, None);
    }

    #[allow(clippy::too_many_arguments)]
    fn udp(
        &mut self,
        number: u64,
        time: Option<String>,
        src: IpAddr,
        dst: IpAddr,
        l4: &[u8],
        cut: bool,
        fragments: Option<Vec<u64>>,
    ) {
        let udp = match decode_udp(l4, 0) {
            Ok(u) => u,
            Err(_) => {
                self.summary.undecodable += 1;
                return;
            }
        };
        let (message, marker) = match classify_udp(udp.src_port, udp.dst_port, udp.payload) {
            UdpContent::Ike { message, marker } => (message, marker),
            UdpContent::Esp => {
                self.summary.esp += 1;
                return;
            }
            UdpContent::Keepalive => {
                self.summary.keepalives += 1;
                return;
            }
            UdpContent::Other => return,
        };
        let mut rec = MessageRecord::new(
            number,
            time,
            SocketAddr::new(src, udp.src_port).to_string(),
            SocketAddr::new(dst, udp.dst_port).to_string(),
        );
        rec.non_esp_marker = marker;
        rec.ip_fragments = fragments;
        rec.truncated = cut || udp.truncated();
        self.decoder.decode(message, &mut rec);
        if rec.truncated && rec.error.is_none() {
            rec.error = Some("capture truncated (snap length): message incomplete".into());
        }
        self.messages.push(rec);
    }

    /// Reports IP datagrams whose fragments never all arrived, if their
    /// first fragment shows an IKE port.
    fn finish(&mut self) {
        for inc in self.reassembler.finish() {
            if inc.protocol != IPPROTO_UDP {
                continue;
            }
            let Ok(udp) = decode_udp(&inc.first_part, 0) else {
                continue;
            };
            let UdpContent::Ike { message, marker } =
                classify_udp(udp.src_port, udp.dst_port, udp.payload)
            else {
                continue;
            };
            let mut rec = MessageRecord::new(
                inc.first_frame,
                self.first_fragment_times.get(&inc.first_frame).cloned(),
                SocketAddr::new(inc.src, udp.src_port).to_string(),
                SocketAddr::new(inc.dst, udp.dst_port).to_string(),
            );
            rec.non_esp_marker = marker;
            rec.ip_fragments = Some(vec![inc.first_frame]);
            rec.truncated = true;
            self.decoder.decode_header_only(message, &mut rec);
            rec.error = Some(
                "IP-fragmented: other fragments missing from the capture, message not reassembled"
                    .into(),
            );
            self.messages.push(rec);
        }
    }
}

#[cfg(test)]
mod tests;
