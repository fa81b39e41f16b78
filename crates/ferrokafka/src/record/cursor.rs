//! A bounds-checked reader over a byte slice: every read checks what remains
//! and fails with an error naming the field, so decoders never index blindly.

use std::ops::Range;

use crate::error::{Error, ErrorCode, Result};
use crate::record::varint;

pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

pub(crate) fn bad(msg: impl Into<String>) -> Error {
    Error::new(ErrorCode::BadMsg, msg)
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Claims the next `n` bytes, returning their range within the buffer.
    #[inline]
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<Range<usize>> {
        if n > self.remaining() {
            return Err(short(what, n, self.remaining()));
        }
        let start = self.pos;
        self.pos += n;
        Ok(start..self.pos)
    }

    #[inline]
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let r = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[r]);
        Ok(out)
    }

    #[inline]
    pub(crate) fn i8(&mut self, what: &str) -> Result<i8> {
        Ok(i8::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn i16(&mut self, what: &str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn i32(&mut self, what: &str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn i64(&mut self, what: &str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }

    #[inline]
    pub(crate) fn varint(&mut self, what: &str) -> Result<i32> {
        varint::read_varint(self.buf, &mut self.pos, what)
    }

    #[inline]
    pub(crate) fn varlong(&mut self, what: &str) -> Result<i64> {
        varint::read_varlong(self.buf, &mut self.pos, what)
    }

    /// A nullable byte field with a varint length (-1 = null).
    #[inline]
    pub(crate) fn varint_bytes(&mut self, what: &str) -> Result<Option<Range<usize>>> {
        let len = self.varint(what)?;
        self.nullable(len, what)
    }

    /// A nullable byte field with an int32 length (-1 = null), as in MessageSet v0/v1.
    #[inline]
    pub(crate) fn i32_bytes(&mut self, what: &str) -> Result<Option<Range<usize>>> {
        let len = self.i32(what)?;
        self.nullable(len, what)
    }

    #[inline]
    fn nullable(&mut self, len: i32, what: &str) -> Result<Option<Range<usize>>> {
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(invalid_length(what, n)),
            n => self.take(n as usize, what).map(Some),
        }
    }
}

// The errors are built out of line, so that the reads, which run for every
// field of every record, stay small enough to inline.

#[cold]
#[inline(never)]
fn short(what: &str, n: usize, remain: usize) -> Error {
    bad(format!("{what}: needs {n} bytes but only {remain} remain"))
}

#[cold]
#[inline(never)]
fn invalid_length(what: &str, n: i32) -> Error {
    bad(format!("{what}: invalid length {n}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_bounded() {
        let data = [0u8, 1, 2, 3, 4, 5];
        let mut c = Cursor::new(&data);
        assert_eq!(c.i32("a").unwrap(), 0x0001_0203);
        assert!(c.i32("b").is_err());
        assert_eq!(c.i16("c").unwrap(), 0x0405);
        assert!(c.i8("d").is_err());
        let mut c = Cursor::new(&[0x03]); // varint -2: invalid length
        assert!(c.varint_bytes("k").is_err());
        let mut c = Cursor::new(&[0x01]); // varint -1: null
        assert_eq!(c.varint_bytes("k").unwrap(), None);
        let mut c = Cursor::new(&[0x7f, 0xff, 0xff, 0xff]); // huge i32 length
        assert!(c.i32_bytes("v").is_err());
    }
}
