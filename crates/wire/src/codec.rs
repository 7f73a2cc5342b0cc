//! Bounded reading and length-patching writing of big-endian wire data.
//!
//! A [`Reader`] walks a byte slice and knows its absolute offset in the
//! original datagram, so every error names the byte where a field starts.
//! Structures with a length field are read by carving a sub-reader of
//! exactly that length ([`Reader::sub`]): the inner parser can never run
//! past its container, and leftover bytes are detected at the end.
//!
//! A [`Writer`] appends to a `Vec<u8>`; length fields are reserved with
//! [`Writer::reserve_u16`] and patched with [`Writer::patch_len_u16`] once the
//! structure is complete, so every emitted length is computed, never trusted
//! from the caller (RFC 7296 §3.2, "Payload Length").

use crate::error::{Context, Result, WireError, WireErrorKind};

/// A bounds-checked cursor over a byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
    ctx: Context,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose first byte is at absolute offset `base`.
    pub fn new(buf: &'a [u8], base: usize, ctx: Context) -> Self {
        Self {
            buf,
            pos: 0,
            base,
            ctx,
        }
    }

    /// The context errors are reported in.
    pub fn context(&self) -> Context {
        self.ctx
    }

    /// Changes the context errors are reported in.
    pub fn set_context(&mut self, ctx: Context) {
        self.ctx = ctx;
    }

    /// Absolute offset of the next unread byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn peek_rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// An error at the current position.
    pub fn err(&self, field: &'static str, kind: WireErrorKind) -> WireError {
        WireError::new(self.ctx, field, self.offset(), kind)
    }

    /// An error at an absolute offset.
    pub fn err_at(&self, field: &'static str, offset: usize, kind: WireErrorKind) -> WireError {
        WireError::new(self.ctx, field, offset, kind)
    }

    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(
                field,
                WireErrorKind::Truncated {
                    needed: n,
                    available: self.remaining(),
                },
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        let s = self.take(N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads one byte.
    pub fn u8(&mut self, field: &'static str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    /// Skips `n` bytes (RESERVED fields, which receivers MUST ignore).
    pub fn skip(&mut self, n: usize, field: &'static str) -> Result<()> {
        self.take(n, field).map(|_| ())
    }

    /// Carves a sub-reader of exactly `n` bytes, reporting in `ctx`.
    pub fn sub(&mut self, n: usize, field: &'static str, ctx: Context) -> Result<Reader<'a>> {
        let base = self.offset();
        let s = self.take(n, field)?;
        Ok(Reader::new(s, base, ctx))
    }

    /// Fails if any byte is left.
    pub fn finish(&self, field: &'static str) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.err(
                field,
                WireErrorKind::TrailingData {
                    len: self.remaining(),
                },
            ))
        }
    }
}

/// A position in a [`Writer`] holding a 16-bit length placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a reserved length must be patched"]
pub struct LengthMark {
    at: usize,
}

/// An appending writer with back-patched length fields.
#[derive(Debug)]
pub struct Writer<'v> {
    out: &'v mut Vec<u8>,
    ctx: Context,
}

impl<'v> Writer<'v> {
    /// A writer appending to `out`; errors are reported in `ctx`.
    pub fn new(out: &'v mut Vec<u8>, ctx: Context) -> Self {
        Self { out, ctx }
    }

    /// Changes the context errors are reported in.
    pub fn set_context(&mut self, ctx: Context) {
        self.ctx = ctx;
    }

    /// The context errors are reported in.
    pub fn context(&self) -> Context {
        self.ctx
    }

    /// Current length of the output (offset of the next byte).
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        self.out
    }

    /// Mutable access to bytes already written (for patching).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.out
    }

    /// An error at the current output offset.
    pub fn err(&self, field: &'static str, kind: WireErrorKind) -> WireError {
        WireError::new(self.ctx, field, self.out.len(), kind)
    }

    /// Appends one byte.
    pub fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    /// Appends `n` zero bytes (RESERVED fields, which senders MUST zero).
    pub fn zeros(&mut self, n: usize) {
        self.out.resize(self.out.len() + n, 0);
    }

    /// Converts a length or count to `u8`, or reports which field overflowed.
    pub fn fit_u8(&self, v: usize, field: &'static str) -> Result<u8> {
        u8::try_from(v).map_err(|_| self.err(field, WireErrorKind::Overflow { value: v, max: 255 }))
    }

    /// Converts a length or count to `u16`, or reports which field overflowed.
    pub fn fit_u16(&self, v: usize, field: &'static str) -> Result<u16> {
        u16::try_from(v).map_err(|_| {
            self.err(
                field,
                WireErrorKind::Overflow {
                    value: v,
                    max: 65535,
                },
            )
        })
    }

    /// Reserves a 16-bit length field at the current position.
    pub fn reserve_u16(&mut self) -> LengthMark {
        let at = self.out.len();
        self.u16(0);
        LengthMark { at }
    }

    /// Patches `mark` with the number of bytes written since `from`.
    pub fn patch_len_u16(
        &mut self,
        mark: LengthMark,
        from: usize,
        field: &'static str,
    ) -> Result<()> {
        let len = self.out.len() - from;
        let v = u16::try_from(len).map_err(|_| {
            WireError::new(
                self.ctx,
                field,
                mark.at,
                WireErrorKind::Overflow {
                    value: len,
                    max: 65535,
                },
            )
        })?;
        self.out[mark.at..mark.at + 2].copy_from_slice(&v.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_truncated_names_offset() {
        let mut r = Reader::new(&[1, 2, 3], 10, Context::Header);
        assert_eq!(r.u16("a").unwrap(), 0x0102);
        let e = r.u16("b").unwrap_err();
        assert_eq!(e.offset, 12);
        assert_eq!(e.field, "b");
        assert_eq!(
            e.kind,
            WireErrorKind::Truncated {
                needed: 2,
                available: 1
            }
        );
    }

    #[test]
    fn sub_reader_is_bounded() {
        let mut r = Reader::new(&[0, 0, 5, 6, 7], 0, Context::Chain);
        r.skip(2, "x").unwrap();
        let mut s = r.sub(2, "y", Context::Chain).unwrap();
        assert_eq!(s.offset(), 2);
        assert_eq!(s.u16("z").unwrap(), 0x0506);
        assert!(s.u8("w").is_err());
        assert_eq!(r.u8("v").unwrap(), 7);
    }

    #[test]
    fn writer_patches_length() {
        let mut v = vec![0xAA];
        let mut w = Writer::new(&mut v, Context::Chain);
        let start = w.len();
        let m = w.reserve_u16();
        w.bytes(&[1, 2, 3]);
        w.patch_len_u16(m, start, "len").unwrap();
        assert_eq!(v, [0xAA, 0, 5, 1, 2, 3]);
    }

    #[test]
    fn writer_length_overflow() {
        let mut v = Vec::new();
        let mut w = Writer::new(&mut v, Context::Chain);
        let m = w.reserve_u16();
        w.zeros(70000);
        let e = w.patch_len_u16(m, 0, "len").unwrap_err();
        assert!(matches!(e.kind, WireErrorKind::Overflow { .. }));
    }
}
