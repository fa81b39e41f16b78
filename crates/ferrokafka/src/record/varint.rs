//! Kafka's zigzag varints (32-bit) and varlongs (64-bit), as used inside
//! RecordBatch v2 records.
//!
//! Decoding is bounded: a varint may take at most 5 bytes and a varlong at
//! most 10; a longer encoding, or one whose last byte carries bits beyond the
//! type's width, is rejected. Non-minimal encodings within those bounds are
//! accepted, as Kafka's own reader accepts them.

use bytes::BufMut;

use crate::error::{Error, ErrorCode, Result};

/// Maximum encoded length of a 32-bit varint.
pub(crate) const MAX_VARINT_LEN: usize = 5;
/// Maximum encoded length of a 64-bit varlong.
pub(crate) const MAX_VARLONG_LEN: usize = 10;

#[inline]
fn zigzag32(v: i32) -> u64 {
    u64::from(((v << 1) ^ (v >> 31)) as u32)
}

#[inline]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[inline]
fn unsigned_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Encoded length of `v` as a zigzag varint.
#[inline]
pub(crate) fn varint_len(v: i32) -> usize {
    unsigned_len(zigzag32(v))
}

/// Encoded length of `v` as a zigzag varlong.
#[inline]
pub(crate) fn varlong_len(v: i64) -> usize {
    unsigned_len(zigzag64(v))
}

/// Appends `v` as an unsigned varint (LEB128), as the record format and
/// the protocol's compact lengths and tag counts use it.
#[inline]
pub(crate) fn put_unsigned(buf: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Writes `v` as an unsigned varint at `out[at..]`, which must hold
/// [`MAX_VARLONG_LEN`] bytes, and returns the position after it. Encoders
/// assemble a record's fields in a small array this way and append it in
/// one copy: each `BufMut` write checks the capacity again.
#[inline]
pub(crate) fn write_unsigned(out: &mut [u8], at: usize, mut v: u64) -> usize {
    let mut i = at;
    while v >= 0x80 {
        out[i] = (v as u8) | 0x80;
        v >>= 7;
        i += 1;
    }
    out[i] = v as u8;
    i + 1
}

/// [`write_unsigned`] of a zigzag varint.
#[inline]
pub(crate) fn write_varint(out: &mut [u8], at: usize, v: i32) -> usize {
    write_unsigned(out, at, zigzag32(v))
}

/// [`write_unsigned`] of a zigzag varlong.
#[inline]
pub(crate) fn write_varlong(out: &mut [u8], at: usize, v: i64) -> usize {
    write_unsigned(out, at, zigzag64(v))
}

/// Appends `v` as a zigzag varint.
#[inline]
pub(crate) fn put_varint(buf: &mut impl BufMut, v: i32) {
    put_unsigned(buf, zigzag32(v));
}

/// Appends `v` as a zigzag varlong (the encoder writes varlongs with
/// [`write_varlong`]; the tests check one against the other).
#[cfg(test)]
pub(crate) fn put_varlong(buf: &mut impl BufMut, v: i64) {
    put_unsigned(buf, zigzag64(v));
}

/// Reads an unsigned LEB128 value of at most `max_len` bytes holding at most
/// `width` bits, starting at `*pos`; advances `*pos` past it.
///
/// Every record field passes through here several times, so the one- and
/// two-byte encodings (most lengths and deltas: a 100-byte value's length
/// and its record's length take two) are decoded inline, and longer ones,
/// with the errors, out of line: with its error paths inlined this function
/// was too big to inline and cost about 40 instructions per field.
#[inline(always)]
fn read_unsigned(
    buf: &[u8],
    pos: &mut usize,
    max_len: usize,
    width: u32,
    what: &str,
) -> Result<u64> {
    let start = *pos;
    if let Some(rest) = buf.get(start..) {
        // Two bytes carry 14 bits, within every type's width and length
        // bound.
        match *rest {
            [b, ..] if b < 0x80 => {
                *pos = start + 1;
                return Ok(u64::from(b));
            }
            [b0, b1, ..] if b1 < 0x80 && max_len >= 2 => {
                *pos = start + 2;
                return Ok(u64::from(b0 & 0x7f) | (u64::from(b1) << 7));
            }
            _ => {}
        }
    }
    read_unsigned_long(buf, pos, max_len, width, what)
}

/// [`read_unsigned`] for encodings of three bytes and more, and every error.
#[cold]
#[inline(never)]
fn read_unsigned_long(
    buf: &[u8],
    pos: &mut usize,
    max_len: usize,
    width: u32,
    what: &str,
) -> Result<u64> {
    let start = *pos;
    let rest = buf.get(start..).unwrap_or(&[]);
    let mut value = 0u64;
    for (i, &b) in rest.iter().take(max_len).enumerate() {
        let shift = 7 * i as u32;
        if i == max_len - 1 {
            // The last allowed byte may only carry the type's remaining bits.
            let allowed = width - shift;
            if b & 0x80 != 0 || u32::from(b) >> allowed != 0 {
                return Err(Error::new(
                    ErrorCode::BadMsg,
                    format!(
                        "{what}: varint longer than {max_len} bytes or wider than {width} bits"
                    ),
                ));
            }
        }
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            *pos = start + i + 1;
            return Ok(value);
        }
    }
    Err(Error::new(
        ErrorCode::BadMsg,
        format!(
            "{what}: truncated varint ({} bytes remain, no terminating byte)",
            rest.len()
        ),
    ))
}

/// Reads a zigzag varint at `*pos`, advancing `*pos`.
#[inline]
pub(crate) fn read_varint(buf: &[u8], pos: &mut usize, what: &str) -> Result<i32> {
    let n = read_unsigned(buf, pos, MAX_VARINT_LEN, 32, what)? as u32;
    Ok(((n >> 1) as i32) ^ -((n & 1) as i32))
}

/// Reads a zigzag varlong at `*pos`, advancing `*pos`.
#[inline]
pub(crate) fn read_varlong(buf: &[u8], pos: &mut usize, what: &str) -> Result<i64> {
    let n = read_unsigned(buf, pos, MAX_VARLONG_LEN, 64, what)?;
    Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc32(v: i32) -> Vec<u8> {
        let mut b = Vec::new();
        put_varint(&mut b, v);
        b
    }

    #[test]
    fn known_encodings() {
        // Values from Kafka's zigzag definition: 0->0, -1->1, 1->2, -2->3.
        assert_eq!(enc32(0), [0]);
        assert_eq!(enc32(-1), [1]);
        assert_eq!(enc32(1), [2]);
        assert_eq!(enc32(-2), [3]);
        assert_eq!(enc32(63), [0x7e]);
        assert_eq!(enc32(64), [0x80, 0x01]);
        assert_eq!(enc32(i32::MAX), [0xfe, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(enc32(i32::MIN), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn rejects_overlong_and_overflowing() {
        let mut pos = 0;
        assert!(read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00], &mut pos, "x").is_err());
        // Fifth byte carrying a bit beyond 32.
        assert!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f], &mut pos, "x").is_err());
        let eleven = [0x80u8; 10];
        assert!(read_varlong(&eleven, &mut pos, "x").is_err());
        assert!(read_varlong(
            &[0xff; 9].iter().chain(&[0x02]).copied().collect::<Vec<_>>(),
            &mut pos,
            "x"
        )
        .is_err());
        assert!(read_varint(&[0x80], &mut pos, "x").is_err());
        assert!(read_varint(&[], &mut pos, "x").is_err());
        assert_eq!(pos, 0, "failed reads must not advance");
    }

    #[test]
    fn every_one_and_two_byte_value_decodes_in_place() {
        // The one- and two-byte fast paths, read from the middle of a
        // buffer with bytes after the varint (as inside a batch).
        for v in -8192..8192i32 {
            let mut b = vec![0xaa];
            put_varint(&mut b, v);
            let len = b.len() - 1;
            assert!(len <= 2, "{v}");
            b.extend_from_slice(&[0xff, 0x01]);
            let mut pos = 1;
            assert_eq!(read_varint(&b, &mut pos, "x").unwrap(), v);
            assert_eq!(pos, 1 + len);
            let mut pos = 1;
            assert_eq!(read_varlong(&b, &mut pos, "x").unwrap(), i64::from(v));
            assert_eq!(pos, 1 + len);
        }
        // A continuation byte at the end of the buffer is truncation, not a
        // two-byte value.
        let mut pos = 0;
        assert!(read_varint(&[0x80], &mut pos, "x").is_err());
        // Three bytes take the general path.
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x01], &mut pos, "x").unwrap(),
            8192
        );
        assert_eq!(pos, 3);
    }

    #[test]
    fn non_minimal_within_bound_is_accepted() {
        let mut pos = 0;
        assert_eq!(read_varint(&[0x80, 0x00], &mut pos, "x").unwrap(), 0);
        assert_eq!(pos, 2);
    }

    proptest! {
        #[test]
        fn varint_round_trip(v: i32) {
            let b = enc32(v);
            prop_assert_eq!(b.len(), varint_len(v));
            let mut pos = 0;
            prop_assert_eq!(read_varint(&b, &mut pos, "x").unwrap(), v);
            prop_assert_eq!(pos, b.len());
        }

        #[test]
        fn varlong_round_trip(v: i64) {
            let mut b = Vec::new();
            put_varlong(&mut b, v);
            prop_assert_eq!(b.len(), varlong_len(v));
            let mut pos = 0;
            prop_assert_eq!(read_varlong(&b, &mut pos, "x").unwrap(), v);
            prop_assert_eq!(pos, b.len());
        }

        #[test]
        fn writing_into_an_array_gives_the_appended_bytes(a: i32, b: i64, at in 0usize..4) {
            let mut out = [0u8; 4 + MAX_VARINT_LEN + MAX_VARLONG_LEN];
            let mid = write_varint(&mut out, at, a);
            let end = write_varlong(&mut out, mid, b);
            let mut want = Vec::new();
            put_varint(&mut want, a);
            put_varlong(&mut want, b);
            prop_assert_eq!(&out[at..end], &want[..]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(data: Vec<u8>) {
            let mut pos = 0;
            let _ = read_varint(&data, &mut pos, "x");
            prop_assert!(pos <= data.len() && pos <= MAX_VARINT_LEN);
            let mut pos = 0;
            let _ = read_varlong(&data, &mut pos, "x");
            prop_assert!(pos <= data.len() && pos <= MAX_VARLONG_LEN);
        }
    }
}
