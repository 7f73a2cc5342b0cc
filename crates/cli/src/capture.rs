//! Capture files: pcap and pcapng records, and the frame numbers and
//! timestamps Wireshark would show for them.
//!
//! Formats: classic pcap in both byte orders with micro- or nanosecond
//! timestamps (and the rare "modified" Kuznetzov variant), and pcapng
//! (draft-ietf-opsawg-pcapng) with any number of sections, either byte order
//! per section, and any number of interfaces per section, each with its own
//! link type and `if_tsresol`/`if_tsoffset`. Block framing is delegated to
//! the `pcap-parser` crate; everything it returns is re-checked here and
//! mapped to a [`CaptureError`] naming the block and its file offset.
//!
//! Frame numbers count every packet record, IKE or not, starting at 1, the
//! way Wireshark numbers frames: pcap records, and pcapng Enhanced, Simple
//! and obsolete Packet Blocks and systemd Journal Export Blocks.

pub mod packet;
pub mod reassembly;

use pcap_parser::nom;
use pcap_parser::pcapng::Block;
use pcap_parser::{
    parse_block_be, parse_block_le, parse_pcap_frame, parse_pcap_frame_be,
    parse_pcap_frame_modified, parse_pcap_header, parse_sectionheaderblock, PcapError,
};

/// A link-layer header type from the tcpdump.org LINKTYPE registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the writer's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// IEEE 802.3 Ethernet.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP as some BSDs number it (`DLT_RAW` is 12 or 14 depending on OS).
    pub const RAW_12: LinkType = LinkType(12);
    /// Raw IP as OpenBSD numbers it.
    pub const RAW_14: LinkType = LinkType(14);
    /// Raw IP, version taken from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// A capture timestamp: seconds since the Unix epoch plus nanoseconds, and
/// how many fractional digits the file's resolution justifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
    /// 6 for microsecond files, 9 for nanosecond (or finer/odd) resolution.
    pub digits: u8,
}

impl Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-23T15:54:01.123456Z`.
    #[must_use]
    pub fn rfc3339(&self) -> String {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let frac = match self.digits {
            0 => String::new(),
            6 => format!(".{:06}", self.nanos / 1_000),
            3 => format!(".{:03}", self.nanos / 1_000_000),
            _ => format!(".{:09}", self.nanos),
        };
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{frac}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); the
/// era-based algorithm popularised by Howard Hinnant, valid for every i64
/// day count that fits a year in i64.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era.saturating_mul(400);
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = if m <= 2 { y.saturating_add(1) } else { y };
    // Both casts are bounded by the ranges noted above.
    (y, m as u32, d as u32)
}

/// One packet record of a capture file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<'a> {
    /// 1-based, counting every packet record in the file.
    pub number: u64,
    /// Byte offset of the record in the file.
    pub offset: usize,
    /// `None` for pcapng Simple Packet Blocks, which carry no time.
    pub timestamp: Option<Timestamp>,
    pub link_type: LinkType,
    /// The captured bytes (at most the snap length).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
}

/// Which container the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Pcap { big_endian: bool, nanosecond: bool },
    PcapNg,
}

/// What went wrong reading the container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CaptureErrorKind {
    #[error("not a pcap or pcapng file")]
    NotACapture,
    #[error("file ends in the middle of it")]
    Truncated,
    #[error("malformed")]
    Malformed,
    #[error("names interface {id}, but its section describes only {count}")]
    UnknownInterface { id: u32, count: usize },
    #[error("unsupported timestamp resolution {0:#04x}")]
    BadTimestampResolution(u8),
}

/// A container-level error: which structure, where, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {offset}: {kind}")]
pub struct CaptureError {
    pub what: &'static str,
    pub offset: usize,
    pub kind: CaptureErrorKind,
}

impl CaptureError {
    fn new(what: &'static str, offset: usize, kind: CaptureErrorKind) -> Self {
        CaptureError { what, offset, kind }
    }

    fn from_nom(what: &'static str, offset: usize, e: &nom::Err<PcapError<&[u8]>>) -> Self {
        let kind = match e {
            nom::Err::Incomplete(_) => CaptureErrorKind::Truncated,
            nom::Err::Error(PcapError::Incomplete(_) | PcapError::UnexpectedEof)
            | nom::Err::Failure(PcapError::Incomplete(_) | PcapError::UnexpectedEof) => {
                CaptureErrorKind::Truncated
            }
            _ => CaptureErrorKind::Malformed,
        };
        CaptureError::new(what, offset, kind)
    }
}

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
/// Obsolete pcapng Packet Block (pcap-parser reports it as unknown).
const PCAPNG_PB: u32 = 0x0000_0002;
const PCAPNG_SJE: u32 = 0x0000_0009;

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// Timestamp units per second.
    units_per_sec: u64,
    offset_secs: i64,
    digits: u8,
}

#[derive(Debug)]
enum Kind {
    Legacy {
        big_endian: bool,
        nanosecond: bool,
        modified: bool,
        link_type: LinkType,
    },
    Ng {
        big_endian: bool,
        interfaces: Vec<Interface>,
    },
}

/// Upper bound on interfaces per pcapng section: each costs a few bytes, but
/// a hostile file could otherwise make us keep millions.
const MAX_INTERFACES: usize = 65_536;

/// Iterates over the packet records of a capture held in memory. After the
/// first error it yields nothing more.
#[derive(Debug)]
pub struct CaptureReader<'a> {
    data: &'a [u8],
    pos: usize,
    kind: Kind,
    frames: u64,
    done: bool,
}

impl<'a> CaptureReader<'a> {
    /// Recognises the file header (pcap global header or first pcapng
    /// Section Header Block).
    pub fn new(data: &'a [u8]) -> Result<Self, CaptureError> {
        let Some(magic) = data.get(..4) else {
            return Err(CaptureError::new(
                "file header",
                0,
                if data.is_empty() {
                    CaptureErrorKind::NotACapture
                } else {
                    CaptureErrorKind::Truncated
                },
            ));
        };
        let magic = u32::from_le_bytes([magic[0], magic[1], magic[2], magic[3]]);
        if magic == PCAPNG_SHB {
            let (rest, shb) = parse_sectionheaderblock(data)
                .map_err(|e| CaptureError::from_nom("pcapng section header block", 0, &e))?;
            return Ok(CaptureReader {
                data,
                pos: data.len() - rest.len(),
                kind: Kind::Ng {
                    big_endian: shb.big_endian(),
                    interfaces: Vec::new(),
                },
                frames: 0,
                done: false,
            });
        }
        match magic {
            0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34 | 0xd4c3_b2a1 | 0x4d3c_b2a1 | 0x34cd_b2a1 => {}
            _ => {
                return Err(CaptureError::new(
                    "file header",
                    0,
                    CaptureErrorKind::NotACapture,
                ))
            }
        }
        let (rest, hdr) = parse_pcap_header(data)
            .map_err(|e| CaptureError::from_nom("pcap global header", 0, &e))?;
        let modified = hdr.is_modified_format() || hdr.magic_number == 0x34cd_b2a1;
        if modified && hdr.is_bigendian() {
            // pcap-parser only reads the modified record header little-endian.
            return Err(CaptureError::new(
                "pcap global header",
                0,
                CaptureErrorKind::Malformed,
            ));
        }
        Ok(CaptureReader {
            data,
            pos: data.len() - rest.len(),
            kind: Kind::Legacy {
                big_endian: hdr.is_bigendian(),
                nanosecond: hdr.is_nanosecond_precision(),
                modified,
                // The upper 16 bits of the field carry FCS flags (pcap 2.4
                // "LinkType and additional information").
                link_type: LinkType(hdr.network.0 as u32 & 0x0FFF_FFFF),
            },
            frames: 0,
            done: false,
        })
    }

    #[must_use]
    pub fn format(&self) -> FileFormat {
        match self.kind {
            Kind::Legacy {
                big_endian,
                nanosecond,
                ..
            } => FileFormat::Pcap {
                big_endian,
                nanosecond,
            },
            Kind::Ng { .. } => FileFormat::PcapNg,
        }
    }

    fn next_legacy(
        &mut self,
        big_endian: bool,
        nanosecond: bool,
        modified: bool,
        link_type: LinkType,
    ) -> Result<Option<Frame<'a>>, CaptureError> {
        let Some(input) = self.data.get(self.pos..) else {
            return Ok(None);
        };
        if input.is_empty() {
            return Ok(None);
        }
        let parsed = if modified {
            parse_pcap_frame_modified(input)
        } else if big_endian {
            parse_pcap_frame_be(input)
        } else {
            parse_pcap_frame(input)
        };
        let (rest, rec) =
            parsed.map_err(|e| CaptureError::from_nom("pcap record", self.pos, &e))?;
        let offset = self.pos;
        self.pos = self.data.len() - rest.len();
        self.frames += 1;
        let (nanos, digits) = if nanosecond {
            (rec.ts_usec, 9)
        } else {
            (rec.ts_usec.saturating_mul(1_000), 6)
        };
        // Writers sometimes store a fraction of one second or more; carry it
        // into the seconds rather than print an impossible time.
        let secs = i64::from(rec.ts_sec) + i64::from(nanos / 1_000_000_000);
        Ok(Some(Frame {
            number: self.frames,
            offset,
            timestamp: Some(Timestamp {
                secs,
                nanos: nanos % 1_000_000_000,
                digits,
            }),
            link_type,
            data: rec.data,
            orig_len: rec.origlen,
        }))
    }

    fn next_ng(&mut self) -> Result<Option<Frame<'a>>, CaptureError> {
        loop {
            let Some(input) = self.data.get(self.pos..) else {
                return Ok(None);
            };
            if input.is_empty() {
                return Ok(None);
            }
            let offset = self.pos;
            let Kind::Ng {
                big_endian,
                interfaces,
            } = &mut self.kind
            else {
                return Ok(None);
            };
            let parsed = if *big_endian {
                parse_block_be(input)
            } else {
                parse_block_le(input)
            };
            let (rest, block) =
                parsed.map_err(|e| CaptureError::from_nom("pcapng block", offset, &e))?;
            self.pos = self.data.len() - rest.len();
            match block {
                Block::SectionHeader(shb) => {
                    *big_endian = shb.big_endian();
                    interfaces.clear();
                }
                Block::InterfaceDescription(idb) => {
                    if interfaces.len() >= MAX_INTERFACES {
                        return Err(CaptureError::new(
                            "pcapng interface description block",
                            offset,
                            CaptureErrorKind::Malformed,
                        ));
                    }
                    let (units_per_sec, digits) =
                        ts_resolution(idb.if_tsresol).ok_or(CaptureError::new(
                            "pcapng interface description block",
                            offset,
                            CaptureErrorKind::BadTimestampResolution(idb.if_tsresol),
                        ))?;
                    interfaces.push(Interface {
                        link_type: LinkType(u32::from(idb.linktype.0 as u16)),
                        units_per_sec,
                        offset_secs: idb.if_tsoffset,
                        digits,
                    });
                }
                Block::EnhancedPacket(epb) => {
                    let what = "pcapng enhanced packet block";
                    let iface = lookup(interfaces, epb.if_id, what, offset)?;
                    let data = epb
                        .data
                        .get(..epb.caplen as usize)
                        .ok_or(CaptureError::new(what, offset, CaptureErrorKind::Malformed))?;
                    let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                    self.frames += 1;
                    return Ok(Some(Frame {
                        number: self.frames,
                        offset,
                        timestamp: Some(iface.timestamp(ts)),
                        link_type: iface.link_type,
                        data,
                        orig_len: epb.origlen,
                    }));
                }
                Block::SimplePacket(spb) => {
                    let iface = lookup(interfaces, 0, "pcapng simple packet block", offset)?;
                    let len = (spb.origlen as usize).min(spb.data.len());
                    self.frames += 1;
                    return Ok(Some(Frame {
                        number: self.frames,
                        offset,
                        timestamp: None,
                        link_type: iface.link_type,
                        data: spb.data.get(..len).unwrap_or(spb.data),
                        orig_len: spb.origlen,
                    }));
                }
                Block::Unknown(ub) if ub.block_type == PCAPNG_PB => {
                    return self.obsolete_packet_block(ub.data, offset).map(Some);
                }
                Block::SystemdJournalExport(_) => {
                    // Wireshark shows journal entries as frames; count them so
                    // later frame numbers agree, but they carry no packet.
                    self.frames += 1;
                    return Ok(Some(Frame {
                        number: self.frames,
                        offset,
                        timestamp: None,
                        link_type: LinkType(u32::MAX),
                        data: &[],
                        orig_len: 0,
                    }));
                }
                Block::Unknown(ub) if ub.block_type == PCAPNG_SJE => {}
                _ => {}
            }
        }
    }

    /// The obsolete Packet Block (type 2): interface id (16 bits), drops
    /// count (16), timestamp high/low, captured and original length, data.
    fn obsolete_packet_block(
        &mut self,
        body: &'a [u8],
        offset: usize,
    ) -> Result<Frame<'a>, CaptureError> {
        let what = "pcapng packet block";
        let Kind::Ng {
            big_endian,
            interfaces,
        } = &self.kind
        else {
            return Err(CaptureError::new(what, offset, CaptureErrorKind::Malformed));
        };
        let bad = CaptureError::new(what, offset, CaptureErrorKind::Malformed);
        let u16_at = |i: usize| -> Result<u16, CaptureError> {
            let b = body.get(i..i + 2).ok_or(bad)?;
            let a = [b[0], b[1]];
            Ok(if *big_endian {
                u16::from_be_bytes(a)
            } else {
                u16::from_le_bytes(a)
            })
        };
        let u32_at = |i: usize| -> Result<u32, CaptureError> {
            let b = body.get(i..i + 4).ok_or(bad)?;
            let a = [b[0], b[1], b[2], b[3]];
            Ok(if *big_endian {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            })
        };
        let if_id = u16_at(0)?;
        let ts = (u64::from(u32_at(4)?) << 32) | u64::from(u32_at(8)?);
        let caplen = u32_at(12)? as usize;
        let orig_len = u32_at(16)?;
        let data = body.get(20..20usize.saturating_add(caplen)).ok_or(bad)?;
        let iface = lookup(interfaces, u32::from(if_id), what, offset)?;
        self.frames += 1;
        Ok(Frame {
            number: self.frames,
            offset,
            timestamp: Some(iface.timestamp(ts)),
            link_type: iface.link_type,
            data,
            orig_len,
        })
    }
}

fn lookup(
    interfaces: &[Interface],
    id: u32,
    what: &'static str,
    offset: usize,
) -> Result<Interface, CaptureError> {
    interfaces
        .get(id as usize)
        .copied()
        .ok_or(CaptureError::new(
            what,
            offset,
            CaptureErrorKind::UnknownInterface {
                id,
                count: interfaces.len(),
            },
        ))
}

/// `if_tsresol`: high bit clear means 10^-n seconds, set means 2^-n.
/// Returns units per second and the fractional digits worth printing.
fn ts_resolution(tsresol: u8) -> Option<(u64, u8)> {
    let n = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 == 0 {
        let units = 10u64.checked_pow(n)?;
        // Whole-second resolution still prints a fraction: consumers of the
        // JSON may expect one.
        let digits = match n {
            0..=3 => 3,
            4..=6 => 6,
            _ => 9,
        };
        Some((units, digits))
    } else {
        let units = 1u64.checked_shl(n).filter(|_| n < 64)?;
        Some((units, if n == 0 { 3 } else { 9 }))
    }
}

impl Interface {
    fn timestamp(&self, ts: u64) -> Timestamp {
        let units = self.units_per_sec.max(1);
        let whole = ts / units;
        let frac = ts % units;
        // frac < units ≤ 2^63, so frac * 1e9 fits in u128 and the quotient
        // is below 1e9.
        let nanos = (u128::from(frac) * 1_000_000_000 / u128::from(units)) as u32;
        let secs = i64::try_from(whole)
            .unwrap_or(i64::MAX)
            .saturating_add(self.offset_secs);
        Timestamp {
            secs,
            nanos,
            digits: self.digits,
        }
    }
}

impl<'a> Iterator for CaptureReader<'a> {
    type Item = Result<Frame<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = match self.kind {
            Kind::Legacy {
                big_endian,
                nanosecond,
                modified,
                link_type,
            } => self.next_legacy(big_endian, nanosecond, modified, link_type),
            Kind::Ng { .. } => self.next_ng(),
        };
        match r {
            Ok(Some(f)) => Some(Ok(f)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
