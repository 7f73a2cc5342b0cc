//! Tests of the container layer on pcap and pcapng files built byte by
//! byte; the builders are shared with the other tests of the crate.

use super::*;

/// Builds classic pcap files byte by byte.
pub(crate) fn pcap(
    link: u32,
    big_endian: bool,
    nanos: bool,
    recs: &[(u32, u32, &[u8])],
) -> Vec<u8> {
    let w32 = |v: &mut Vec<u8>, x: u32| {
        if big_endian {
            v.extend_from_slice(&x.to_be_bytes());
        } else {
            v.extend_from_slice(&x.to_le_bytes());
        }
    };
    let w16 = |v: &mut Vec<u8>, x: u16| {
        if big_endian {
            v.extend_from_slice(&x.to_be_bytes());
        } else {
            v.extend_from_slice(&x.to_le_bytes());
        }
    };
    let mut v = Vec::new();
    w32(&mut v, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
    w16(&mut v, 2);
    w16(&mut v, 4);
    w32(&mut v, 0);
    w32(&mut v, 0);
    w32(&mut v, 65535);
    w32(&mut v, link);
    for (sec, frac, data) in recs {
        w32(&mut v, *sec);
        w32(&mut v, *frac);
        w32(&mut v, data.len() as u32);
        w32(&mut v, data.len() as u32);
        v.extend_from_slice(data);
    }
    v
}

/// Builds pcapng blocks (little-endian unless told).
pub(crate) struct Ng {
    pub bytes: Vec<u8>,
    be: bool,
}

impl Ng {
    pub(crate) fn new(be: bool) -> Self {
        let mut ng = Ng {
            bytes: Vec::new(),
            be,
        };
        ng.shb();
        ng
    }
    fn u32b(&self, x: u32) -> [u8; 4] {
        if self.be {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn u16b(&self, x: u16) -> [u8; 2] {
        if self.be {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        }
    }
    fn block(&mut self, ty: u32, body: &[u8]) {
        let len = (12 + body.len()).div_ceil(4) * 4;
        let t = self.u32b(ty);
        let l = self.u32b(len as u32);
        self.bytes.extend_from_slice(&t);
        self.bytes.extend_from_slice(&l);
        self.bytes.extend_from_slice(body);
        self.bytes
            .resize(self.bytes.len() + (len - 12 - body.len()), 0);
        self.bytes.extend_from_slice(&l);
    }
    pub(crate) fn shb(&mut self) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(0x1A2B_3C4D));
        body.extend_from_slice(&self.u16b(1));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&[0xff; 8]);
        self.block(PCAPNG_SHB, &body);
    }
    pub(crate) fn idb(&mut self, link: u16, tsresol: Option<u8>) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u16b(link));
        body.extend_from_slice(&self.u16b(0));
        body.extend_from_slice(&self.u32b(65535));
        if let Some(r) = tsresol {
            body.extend_from_slice(&self.u16b(9));
            body.extend_from_slice(&self.u16b(1));
            body.extend_from_slice(&[r, 0, 0, 0]);
            body.extend_from_slice(&[0, 0, 0, 0]);
        }
        self.block(1, &body);
    }
    pub(crate) fn epb(&mut self, if_id: u32, ts: u64, data: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(if_id));
        body.extend_from_slice(&self.u32b((ts >> 32) as u32));
        body.extend_from_slice(&self.u32b(ts as u32));
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(data);
        while body.len() % 4 != 0 {
            body.push(0);
        }
        self.block(6, &body);
    }
    pub(crate) fn spb(&mut self, data: &[u8]) {
        let mut body = Vec::new();
        body.extend_from_slice(&self.u32b(data.len() as u32));
        body.extend_from_slice(data);
        self.block(3, &body);
    }
    pub(crate) fn other(&mut self, ty: u32, body: &[u8]) {
        self.block(ty, body);
    }
}

fn collect(data: &[u8]) -> (Vec<Frame<'_>>, Option<CaptureError>) {
    let mut frames = Vec::new();
    let reader = match CaptureReader::new(data) {
        Ok(r) => r,
        Err(e) => return (frames, Some(e)),
    };
    for f in reader {
        match f {
            Ok(f) => frames.push(f),
            Err(e) => return (frames, Some(e)),
        }
    }
    (frames, None)
}

#[test]
fn parse_pcap_both_byte_orders_and_resolutions() {
    for be in [false, true] {
        for nanos in [false, true] {
            let f = pcap(
                1,
                be,
                nanos,
                &[(1_700_000_000, 5, b"ab"), (1_700_000_001, 0, b"c")],
            );
            let r = CaptureReader::new(&f).unwrap();
            assert_eq!(
                r.format(),
                FileFormat::Pcap {
                    big_endian: be,
                    nanosecond: nanos
                }
            );
            let (frames, err) = collect(&f);
            assert_eq!(err, None);
            assert_eq!(frames.len(), 2);
            assert_eq!(frames[0].number, 1);
            assert_eq!(frames[1].number, 2);
            assert_eq!(frames[0].data, b"ab");
            assert_eq!(frames[0].link_type, LinkType::ETHERNET);
            let ts = frames[0].timestamp.unwrap();
            assert_eq!(ts.secs, 1_700_000_000);
            if nanos {
                assert_eq!(ts.nanos, 5);
                assert_eq!(ts.rfc3339(), "2023-11-14T22:13:20.000000005Z");
            } else {
                assert_eq!(ts.nanos, 5_000);
                assert_eq!(ts.rfc3339(), "2023-11-14T22:13:20.000005Z");
            }
        }
    }
}

#[test]
fn rfc3339_dates() {
    let t = |secs, nanos, digits| Timestamp {
        secs,
        nanos,
        digits,
    };
    assert_eq!(t(0, 0, 6).rfc3339(), "1970-01-01T00:00:00.000000Z");
    assert_eq!(t(951_782_400, 0, 0).rfc3339(), "2000-02-29T00:00:00Z");
    assert_eq!(t(-1, 500_000_000, 3).rfc3339(), "1969-12-31T23:59:59.500Z");
    assert_eq!(
        t(4_102_444_799, 1, 9).rfc3339(),
        "2099-12-31T23:59:59.000000001Z"
    );
    // Extreme values do not panic.
    let _ = t(i64::MAX, 999_999_999, 9).rfc3339();
    let _ = t(i64::MIN, 0, 9).rfc3339();
}

#[test]
fn parse_pcapng_two_interfaces() {
    for be in [false, true] {
        let mut ng = Ng::new(be);
        ng.idb(1, None); // Ethernet, microseconds
        ng.idb(276, Some(9)); // SLL2, nanoseconds
        ng.epb(0, 1_700_000_000_123_456, b"eth");
        ng.other(0x0BAD, &[0; 8]); // an unknown block: not a frame
        ng.epb(1, 1_700_000_000_123_456_789, b"sll2");
        ng.spb(b"simple");
        let (frames, err) = collect(&ng.bytes);
        assert_eq!(err, None, "be={be}");
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].link_type, LinkType::ETHERNET);
        assert_eq!(frames[0].data, b"eth");
        assert_eq!(
            frames[0].timestamp.unwrap().rfc3339(),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(frames[1].link_type, LinkType::LINUX_SLL2);
        assert_eq!(
            frames[1].timestamp.unwrap().rfc3339(),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(frames[2].number, 3);
        assert_eq!(frames[2].data, b"simple");
        assert_eq!(frames[2].timestamp, None);
    }
}

#[test]
fn pcapng_new_section_resets_interfaces_and_byte_order() {
    let mut ng = Ng::new(false);
    ng.idb(1, None);
    ng.epb(0, 0, b"a");
    let mut ng2 = Ng::new(true);
    ng2.idb(101, Some(0x80 | 20)); // binary resolution 2^-20
    ng2.epb(0, 1 << 19, b"b");
    let mut bytes = ng.bytes;
    bytes.extend_from_slice(&ng2.bytes);
    let (frames, err) = collect(&bytes);
    assert_eq!(err, None);
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].link_type, LinkType::RAW);
    assert_eq!(frames[1].timestamp.unwrap().nanos, 500_000_000);
}

#[test]
fn pcapng_unknown_interface_is_an_error() {
    let mut ng = Ng::new(false);
    ng.idb(1, None);
    ng.epb(3, 0, b"a");
    let (frames, err) = collect(&ng.bytes);
    assert!(frames.is_empty());
    let err = err.unwrap();
    assert_eq!(
        err.kind,
        CaptureErrorKind::UnknownInterface { id: 3, count: 1 }
    );
    assert_eq!(err.what, "pcapng enhanced packet block");
}

#[test]
fn not_a_capture_and_truncated() {
    let (_, e) = collect(b"");
    assert_eq!(e.unwrap().kind, CaptureErrorKind::NotACapture);
    let (_, e) = collect(b"GIF89a not a capture");
    assert_eq!(e.unwrap().kind, CaptureErrorKind::NotACapture);
    let full = pcap(1, false, false, &[(1, 2, b"abcdef")]);
    let (_, e) = collect(&full[..10]);
    assert_eq!(e.unwrap().kind, CaptureErrorKind::Truncated);
    let (frames, e) = collect(&full[..full.len() - 1]);
    assert!(frames.is_empty());
    let e = e.unwrap();
    assert_eq!(
        (e.what, e.offset, e.kind),
        ("pcap record", 24, CaptureErrorKind::Truncated)
    );
    let mut ng = Ng::new(false);
    ng.idb(1, None);
    ng.epb(0, 0, b"abcd");
    let (_, e) = collect(&ng.bytes[..ng.bytes.len() - 2]);
    assert_eq!(e.unwrap().kind, CaptureErrorKind::Truncated);
}

#[test]
fn every_truncation_is_an_error_or_a_prefix() {
    let full = pcap(1, true, true, &[(1, 2, b"abcdef"), (3, 4, b"gh")]);
    for n in 0..full.len() {
        let (frames, e) = collect(&full[..n]);
        assert!(frames.len() < 2);
        if n != 24 && n != 24 + 16 + 6 {
            assert!(e.is_some(), "prefix {n}");
        }
    }
    let mut ng = Ng::new(false);
    ng.idb(1, Some(9));
    ng.epb(0, 7, b"abcdef");
    for n in 0..ng.bytes.len() {
        let _ = collect(&ng.bytes[..n]);
    }
}

#[test]
fn ts_resolutions() {
    assert_eq!(ts_resolution(6), Some((1_000_000, 6)));
    assert_eq!(ts_resolution(0), Some((1, 3)));
    assert_eq!(ts_resolution(9), Some((1_000_000_000, 9)));
    assert_eq!(ts_resolution(20), None);
    assert_eq!(ts_resolution(0x80 | 10), Some((1024, 9)));
    assert_eq!(ts_resolution(0x80 | 64), None);
}
