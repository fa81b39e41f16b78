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
#[inline]
pub(crate) fn crc32c_combine(crc_a: u32, crc_b: u32, len_b: usize) -> u32 {
    crc32c::crc32c_combine(crc_a, crc_b, len_b)
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
