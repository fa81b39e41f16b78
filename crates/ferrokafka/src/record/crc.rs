//! Checksums of the record formats: CRC-32C (Castagnoli) for RecordBatch v2,
//! computed with the CPU's CRC instructions where present, and CRC-32 (IEEE)
//! for legacy MessageSet v0/v1.

/// CRC-32C of `data`.
#[inline]
pub(crate) fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// CRC-32C of `a ++ b` given `crc_a = crc32c(a)`, `crc_b = crc32c(b)` and
/// `len_b = b.len()`; lets a batch re-stamp its header without re-reading its
/// records.
///
/// `crc_a` is multiplied by x^(8·len_b) modulo the polynomial, using a table
/// of x^(2^k): O(log len_b) carry-less products of 32 steps each, well under
/// a microsecond. (The `crc32c` crate's combine squares 32x32 matrices, which
/// costs several microseconds: more than checksumming a small batch.)
#[inline]
pub(crate) fn crc32c_combine(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    mul_mod_p(x_pow_8n(len_b), crc_a) ^ crc_b
}

/// The Castagnoli polynomial, bit-reflected (bit 31 is x^0).
const POLY: u32 = 0x82f6_3b78;

/// a·b modulo POLY, both reflected.
const fn mul_mod_p(a: u32, mut b: u32) -> u32 {
    let mut product = 0u32;
    let mut bit = 1u32 << 31;
    while bit != 0 {
        if a & bit != 0 {
            product ^= b;
        }
        bit >>= 1;
        b = if b & 1 != 0 { (b >> 1) ^ POLY } else { b >> 1 };
    }
    product
}

/// X_POW_2K[k] = x^(2^k) modulo POLY, reflected; k reaches 3 + 63 for a
/// 64-bit length.
const X_POW_2K: [u32; 67] = {
    let mut table = [0u32; 67];
    let mut p = 1u32 << 30; // x^1
    let mut k = 0;
    while k < 67 {
        table[k] = p;
        p = mul_mod_p(p, p);
        k += 1;
    }
    table
};

/// x^(8·n) modulo POLY, reflected.
fn x_pow_8n(mut n: usize) -> u32 {
    let mut p = 1u32 << 31; // x^0
    let mut k = 3; // 8·n = n·2^3
    while n != 0 {
        if n & 1 != 0 {
            p = mul_mod_p(X_POW_2K[k], p);
        }
        n >>= 1;
        k += 1;
    }
    p
}

/// CRC-32 (IEEE) of `data`, the checksum of MessageSet v0/v1.
#[inline]
pub(crate) fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        // The standard check value of each algorithm over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    proptest::proptest! {
        #[test]
        fn combine_matches_crate_and_whole(
            a in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000),
        ) {
            let whole: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
            let got = crc32c_combine(crc32c(&a), crc32c(&b), b.len());
            proptest::prop_assert_eq!(got, crc32c(&whole));
            proptest::prop_assert_eq!(got, crc32c::crc32c_combine(crc32c(&a), crc32c(&b), b.len()));
        }
    }

    #[test]
    fn combine_large_lengths_match_the_crate() {
        for len in [1usize << 20, (1 << 31) - 1, 123_456_789, usize::MAX / 3] {
            assert_eq!(
                crc32c_combine(0x1234_5678, 0x9abc_def0, len),
                crc32c::crc32c_combine(0x1234_5678, 0x9abc_def0, len),
                "len {len}"
            );
        }
    }

    #[test]
    fn combine_matches_whole() {
        let a = b"partition header bytes";
        let b = b"record bytes that follow, a little longer";
        let whole: Vec<u8> = a.iter().chain(b.iter()).copied().collect();
        assert_eq!(
            crc32c_combine(crc32c(a), crc32c(b), b.len()),
            crc32c(&whole)
        );
    }
}
