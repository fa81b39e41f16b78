//! The compression codecs of Kafka record batches, with Kafka's framings:
//! gzip, snappy (xerial framing on encode; xerial or raw on decode), lz4 (the
//! LZ4 frame format of KIP-57, independent 64 KiB blocks; the pre-KIP-57
//! header checksum is accepted on decode) and zstd.
//!
//! Decompression output is always bounded by a caller-given limit, so a small
//! hostile input cannot make us allocate without end.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::str::FromStr;

use crate::error::{Error, ErrorCode, Result};

/// A record batch compression codec (`compression.codec` / `compression.type`).
///
/// Parses from librdkafka's names: `none`, `gzip`, `snappy`, `lz4`, `zstd`.
///
/// ```
/// use ferrokafka::record::Compression;
/// assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// No compression.
    #[default]
    None,
    /// gzip (DEFLATE), levels 0-9.
    Gzip,
    /// snappy; has no levels.
    Snappy,
    /// LZ4 frame format, levels 0-12.
    Lz4,
    /// Zstandard, levels -131072..=22 (0 and -1 mean the default).
    Zstd,
}

/// Sentinel level meaning "the codec's default", as in librdkafka.
pub const DEFAULT_LEVEL: i32 = -1;

impl Compression {
    /// The codec's name, as librdkafka spells it.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }

    /// Checks `level` against the codec's valid range. `-1` (the default
    /// level) is valid for every codec; codecs without levels (none, snappy)
    /// accept and ignore any level.
    pub fn validate_level(self, level: i32) -> Result<()> {
        let ok = level == DEFAULT_LEVEL
            || match self {
                Compression::None | Compression::Snappy => true,
                Compression::Gzip => (0..=9).contains(&level),
                Compression::Lz4 => (0..=12).contains(&level),
                Compression::Zstd => (-131_072..=22).contains(&level),
            };
        if ok {
            Ok(())
        } else {
            let allowed = match self {
                Compression::Gzip => "0..=9",
                Compression::Lz4 => "0..=12",
                _ => "-131072..=22",
            };
            Err(Error::new(
                ErrorCode::InvalidArg,
                format!(
                    "compression.level: {level} is out of range for {}: allowed -1 (default) or {allowed}",
                    self.name()
                ),
            ))
        }
    }

    /// The codec id in the low 3 bits of a batch's attributes.
    pub(crate) fn attribute_bits(self) -> i16 {
        match self {
            Compression::None => 0,
            Compression::Gzip => 1,
            Compression::Snappy => 2,
            Compression::Lz4 => 3,
            Compression::Zstd => 4,
        }
    }

    /// The codec named by the low 3 bits of batch or message attributes.
    pub(crate) fn from_attributes(attributes: i16) -> Result<Self> {
        Ok(match attributes & 0x07 {
            0 => Compression::None,
            1 => Compression::Gzip,
            2 => Compression::Snappy,
            3 => Compression::Lz4,
            4 => Compression::Zstd,
            other => {
                return Err(Error::new(
                    ErrorCode::BadMsg,
                    format!("unknown compression codec id {other} in batch attributes"),
                ))
            }
        })
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "none" => Compression::None,
            "gzip" => Compression::Gzip,
            "snappy" => Compression::Snappy,
            "lz4" => Compression::Lz4,
            "zstd" => Compression::Zstd,
            _ => {
                return Err(Error::new(
                    ErrorCode::InvalidArg,
                    format!(
                    "compression.codec: unknown codec {s:?}: allowed none, gzip, snappy, lz4, zstd"
                ),
                ))
            }
        })
    }
}

fn codec_err(codec: Compression, e: impl fmt::Display) -> Error {
    Error::new(
        ErrorCode::BadMsg,
        format!("{} decompression failed: {e}", codec.name()),
    )
}

fn encode_err(codec: Compression, e: impl fmt::Display) -> Error {
    Error::new(
        ErrorCode::InvalidArg,
        format!("{} compression failed: {e}", codec.name()),
    )
}

/// The xerial snappy-java stream header: magic, then version 1 and
/// minimum-compatible version 1 as big-endian int32s.
const XERIAL_MAGIC: [u8; 8] = [0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0];
const XERIAL_HEADER_LEN: usize = 16;
/// Uncompressed bytes per xerial chunk; snappy-java's default block size.
const XERIAL_CHUNK: usize = 32 * 1024;

const LZ4_MAGIC: [u8; 4] = [0x04, 0x22, 0x4d, 0x18];

/// Compresses `input` with `codec`, appending to `out`. `level` of `None` or
/// `-1` means the codec's default.
pub(crate) fn compress(
    codec: Compression,
    level: Option<i32>,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let level = level.unwrap_or(DEFAULT_LEVEL);
    codec.validate_level(level)?;
    let custom = (level != DEFAULT_LEVEL).then_some(level);
    match codec {
        Compression::None => out.extend_from_slice(input),
        Compression::Gzip => {
            let lvl = custom.map_or(flate2::Compression::default(), |l| {
                flate2::Compression::new(l as u32)
            });
            let mut enc = flate2::write::GzEncoder::new(out, lvl);
            enc.write_all(input).map_err(|e| encode_err(codec, e))?;
            enc.finish().map_err(|e| encode_err(codec, e))?;
        }
        Compression::Snappy => {
            out.extend_from_slice(&XERIAL_MAGIC);
            out.extend_from_slice(&1i32.to_be_bytes());
            out.extend_from_slice(&1i32.to_be_bytes());
            let mut enc = snap::raw::Encoder::new();
            for chunk in input.chunks(XERIAL_CHUNK) {
                let start = out.len();
                out.resize(start + 4 + snap::raw::max_compress_len(chunk.len()), 0);
                let n = enc
                    .compress(chunk, &mut out[start + 4..])
                    .map_err(|e| encode_err(codec, e))?;
                out[start..start + 4].copy_from_slice(&(n as u32).to_be_bytes());
                out.truncate(start + 4 + n);
            }
        }
        Compression::Lz4 => lz4_compress(input, out).map_err(|e| encode_err(codec, e))?,
        Compression::Zstd => {
            let lvl = match custom {
                None | Some(0) => zstd::DEFAULT_COMPRESSION_LEVEL,
                Some(l) => l,
            };
            zstd_compress(lvl, input, out)
                .map_err(|code| encode_err(codec, zstd::zstd_safe::get_error_name(code)))?;
        }
    }
    Ok(())
}

/// Largest LZ4 block: Kafka (KIP-57) uses independent 64 KiB blocks.
const LZ4_BLOCK: usize = 64 * 1024;

/// Appends one LZ4 frame of `input` to `out`: FLG = version 01 with
/// independent blocks, BD = 64 KiB blocks, no content size, no checksums
/// (the framing Kafka's Java client writes). Blocks are compressed straight
/// from `input` into `out`; one that would not shrink is stored raw.
///
/// lz4_flex has a single (fast) compression level, so `compression.level`
/// is validated for lz4 but cannot change the output.
fn lz4_compress(input: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), String> {
    const FLG: u8 = 0x60;
    const BD: u8 = 0x40;
    out.extend_from_slice(&LZ4_MAGIC);
    out.extend_from_slice(&[FLG, BD, (xxh32_small(&[FLG, BD]) >> 8) as u8]);
    for chunk in input.chunks(LZ4_BLOCK) {
        let start = out.len();
        out.resize(
            start + 4 + lz4_flex::block::get_maximum_output_size(chunk.len()),
            0,
        );
        let n = lz4_flex::block::compress_into(chunk, &mut out[start + 4..])
            .map_err(|e| e.to_string())?;
        if n < chunk.len() {
            out.truncate(start + 4 + n);
            out[start..start + 4].copy_from_slice(&(n as u32).to_le_bytes());
        } else {
            // High bit of the block size: stored uncompressed.
            out.truncate(start + 4);
            out.extend_from_slice(chunk);
            let size = chunk.len() as u32 | 0x8000_0000;
            out[start..start + 4].copy_from_slice(&size.to_le_bytes());
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes()); // end mark
    Ok(())
}

thread_local! {
    /// One zstd compression context per thread, reused across batches:
    /// creating one costs tens of microseconds, more than compressing a small
    /// batch. It holds the memory of the last level used.
    static ZSTD_CCTX: RefCell<Option<zstd::zstd_safe::CCtx<'static>>> = const { RefCell::new(None) };
}

/// Appends one zstd frame of `input` (with its content size, so readers can
/// size their output once) to `out`.
fn zstd_compress(level: i32, input: &[u8], out: &mut Vec<u8>) -> std::result::Result<(), usize> {
    use zstd::zstd_safe::{
        zstd_sys::ZSTD_EndDirective, CCtx, CParameter, InBuffer, OutBuffer, ResetDirective,
    };
    ZSTD_CCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let cctx = slot.get_or_insert_with(CCtx::create);
        let result = (|| {
            cctx.reset(ResetDirective::SessionAndParameters)?;
            cctx.set_parameter(CParameter::CompressionLevel(level))?;
            cctx.set_pledged_src_size(Some(input.len() as u64))?;
            out.reserve(zstd::zstd_safe::compress_bound(input.len()));
            let mut src = InBuffer::around(input);
            // With a compress_bound-sized output one call ends the frame; the
            // loop only guards against a short output buffer.
            for _ in 0..64 {
                let pos = out.len();
                let remaining = {
                    let mut dst = OutBuffer::around_pos(out, pos);
                    cctx.compress_stream2(&mut dst, &mut src, ZSTD_EndDirective::ZSTD_e_end)?
                };
                if remaining == 0 {
                    return Ok(());
                }
                out.reserve(remaining.max(4096));
            }
            Err(0)
        })();
        if result.is_err() {
            // A context in an unknown state is not reused.
            *slot = None;
        }
        result
    })
}

/// Decompresses `input` (a batch's records section or a legacy wrapper's
/// value), failing if the output would exceed `limit` bytes.
pub(crate) fn decompress(codec: Compression, input: &[u8], limit: usize) -> Result<Vec<u8>> {
    match codec {
        Compression::None => {
            if input.len() > limit {
                return Err(too_large(codec, limit));
            }
            Ok(input.to_vec())
        }
        Compression::Gzip => read_bounded(
            codec,
            flate2::read::MultiGzDecoder::new(input),
            input.len(),
            limit,
        ),
        Compression::Snappy => snappy_decompress(input, limit),
        Compression::Lz4 => {
            let header = lz4_fixed_header(input)?;
            let reader = io::Read::chain(&header[..], &input[header.len()..]);
            read_bounded(
                codec,
                lz4_flex::frame::FrameDecoder::new(reader),
                input.len(),
                limit,
            )
        }
        Compression::Zstd => zstd_decompress(input, limit),
    }
}

thread_local! {
    /// One zstd decompression context per thread, reused across batches:
    /// a new one per batch allocated (and freed) its workspace and window
    /// every time.
    static ZSTD_DCTX: RefCell<Option<zstd::zstd_safe::DCtx<'static>>> = const { RefCell::new(None) };
}

/// Decompresses the zstd frames of `input`, at most `limit` bytes. A frame
/// that states its size (Kafka's clients write it) is decoded in one call
/// straight into an output sized once; others, or input holding more than
/// that frame, are streamed.
fn zstd_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    use zstd::zstd_safe::{get_frame_content_size, DCtx, InBuffer, OutBuffer, ResetDirective};
    let codec = Compression::Zstd;
    let err = |code: usize| codec_err(codec, zstd::zstd_safe::get_error_name(code));
    if input.is_empty() {
        return Ok(Vec::new());
    }
    ZSTD_DCTX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let dctx = slot.get_or_insert_with(DCtx::create);
        let result = (|| {
            dctx.reset(ResetDirective::SessionOnly).map_err(err)?;
            if let Ok(Some(size)) = get_frame_content_size(input) {
                if size > limit as u64 {
                    return Err(too_large(codec, limit));
                }
                let mut out = Vec::with_capacity(size as usize);
                // Fails (dstSize_tooSmall) when more frames follow: those
                // are streamed below.
                if dctx.decompress(&mut out, input).is_ok() {
                    return Ok(out);
                }
                dctx.reset(ResetDirective::SessionOnly).map_err(err)?;
            }
            let mut out: Vec<u8> = Vec::with_capacity(input.len().saturating_mul(4).min(limit));
            let mut src = InBuffer::around(input);
            loop {
                if out.len() == out.capacity() {
                    // Room up to one byte past the limit, to see it crossed.
                    let room = (limit + 1).saturating_sub(out.len());
                    if room == 0 {
                        return Err(too_large(codec, limit));
                    }
                    out.reserve(out.len().max(64 * 1024).min(room));
                }
                let (in_before, out_before) = (src.pos(), out.len());
                let hint = {
                    let pos = out.len();
                    let mut dst = OutBuffer::around_pos(&mut out, pos);
                    dctx.decompress_stream(&mut dst, &mut src).map_err(err)?
                };
                if out.len() > limit {
                    return Err(too_large(codec, limit));
                }
                if hint == 0 && src.pos() == input.len() {
                    return Ok(out);
                }
                if src.pos() == in_before && out.len() == out_before && out.len() < out.capacity() {
                    return Err(codec_err(codec, "truncated zstd frame"));
                }
            }
        })();
        if result.is_err() {
            // A context in an unknown state is not reused.
            *slot = None;
        }
        result
    })
}

fn too_large(codec: Compression, limit: usize) -> Error {
    Error::new(
        ErrorCode::BadMsg,
        format!(
            "{} decompressed size exceeds the limit of {limit} bytes",
            codec.name()
        ),
    )
}

fn read_bounded(
    codec: Compression,
    reader: impl Read,
    input_len: usize,
    limit: usize,
) -> Result<Vec<u8>> {
    // A guess at the ratio to avoid the first few regrowths; never more than
    // the limit, so the guess cannot be used to force a large allocation.
    let mut out = Vec::with_capacity(input_len.saturating_mul(4).min(limit).min(1 << 24));
    reader
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| codec_err(codec, e))?;
    if out.len() > limit {
        return Err(too_large(codec, limit));
    }
    Ok(out)
}

fn snappy_decompress(input: &[u8], limit: usize) -> Result<Vec<u8>> {
    let codec = Compression::Snappy;
    let mut dec = snap::raw::Decoder::new();
    if input.len() >= XERIAL_HEADER_LEN && input[..8] == XERIAL_MAGIC {
        let mut out = Vec::new();
        let mut rest = &input[XERIAL_HEADER_LEN..];
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(codec_err(codec, "truncated xerial chunk length"));
            }
            let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            rest = &rest[4..];
            if n > rest.len() {
                return Err(codec_err(
                    codec,
                    format!("xerial chunk of {n} bytes but only {} remain", rest.len()),
                ));
            }
            let (block, tail) = rest.split_at(n);
            rest = tail;
            let len = snap::raw::decompress_len(block).map_err(|e| codec_err(codec, e))?;
            if len > limit - out.len() {
                return Err(too_large(codec, limit));
            }
            let start = out.len();
            out.resize(start + len, 0);
            let written = dec
                .decompress(block, &mut out[start..])
                .map_err(|e| codec_err(codec, e))?;
            out.truncate(start + written);
        }
        Ok(out)
    } else {
        let len = snap::raw::decompress_len(input).map_err(|e| codec_err(codec, e))?;
        if len > limit {
            return Err(too_large(codec, limit));
        }
        let mut out = vec![0u8; len];
        let written = dec
            .decompress(input, &mut out)
            .map_err(|e| codec_err(codec, e))?;
        out.truncate(written);
        Ok(out)
    }
}

/// Returns the LZ4 frame header of `input`, with its checksum byte corrected
/// when it was written by pre-KIP-57 Kafka (which hashed the magic number
/// too), so the frame decoder accepts both framings.
fn lz4_fixed_header(input: &[u8]) -> Result<Vec<u8>> {
    let codec = Compression::Lz4;
    if input.len() < 7 || input[..4] != LZ4_MAGIC {
        // Let the frame decoder produce its own error (or handle a legacy
        // frame); we only patch headers we understand.
        return Ok(Vec::new());
    }
    let flg = input[4];
    let mut len = 7;
    if flg & 0x08 != 0 {
        len += 8; // content size
    }
    if flg & 0x01 != 0 {
        len += 4; // dictionary id
    }
    if input.len() < len {
        return Err(codec_err(codec, "truncated LZ4 frame header"));
    }
    let mut header = input[..len].to_vec();
    let hc = header[len - 1];
    let correct = (xxh32_small(&header[4..len - 1]) >> 8) as u8;
    // Old Kafka never wrote content size or dictionary id, so its broken
    // checksum covers at most 6 bytes; longer headers are left alone.
    if hc != correct && len - 1 < 16 && hc == (xxh32_small(&header[..len - 1]) >> 8) as u8 {
        header[len - 1] = correct;
    }
    Ok(header)
}

/// XXH32 with seed 0 of an input shorter than 16 bytes (a frame header),
/// which never reaches XXH32's four-lane stripe loop.
fn xxh32_small(data: &[u8]) -> u32 {
    const P1: u32 = 2_654_435_761;
    const P2: u32 = 2_246_822_519;
    const P3: u32 = 3_266_489_917;
    const P4: u32 = 668_265_263;
    const P5: u32 = 374_761_393;
    // Longer input would need XXH32's stripe loop; callers never pass it.
    let data = &data[..data.len().min(15)];
    let mut h = P5.wrapping_add(data.len() as u32);
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        let v = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
        h = h
            .wrapping_add(v.wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
    }
    for &b in words.remainder() {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Compression; 5] = [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];

    fn sample() -> Vec<u8> {
        (0..200_000u32)
            .map(|i| (i % 251) as u8 ^ (i / 997) as u8)
            .collect()
    }

    #[test]
    fn xxh32_reference_values() {
        // Published XXH32 test vectors, seed 0.
        assert_eq!(xxh32_small(b""), 0x02cc_5d05);
        assert_eq!(xxh32_small(b"a"), 0x550d_7456);
        assert_eq!(xxh32_small(b"abc"), 0x32d1_53ff);
    }

    #[test]
    fn every_codec_round_trips() {
        let data = sample();
        for codec in ALL {
            let mut out = Vec::new();
            compress(codec, None, &data, &mut out).unwrap();
            assert_eq!(
                decompress(codec, &out, data.len()).unwrap(),
                data,
                "{codec}"
            );
            if codec != Compression::None {
                assert!(out.len() < data.len(), "{codec} did not compress");
            }
        }
    }

    #[test]
    fn decompression_is_bounded() {
        let data = vec![0u8; 1 << 20];
        for codec in ALL {
            let mut out = Vec::new();
            compress(codec, None, &data, &mut out).unwrap();
            let err = decompress(codec, &out, 1000).unwrap_err();
            assert!(
                err.message().contains("exceeds the limit"),
                "{codec}: {err}"
            );
        }
    }

    #[test]
    fn snappy_uses_xerial_framing_and_reads_raw() {
        let data = b"hello hello hello hello snappy".repeat(100);
        let mut out = Vec::new();
        compress(Compression::Snappy, None, &data, &mut out).unwrap();
        assert_eq!(out[..8], XERIAL_MAGIC);
        assert_eq!(out[8..16], [0, 0, 0, 1, 0, 0, 0, 1]);
        let raw = snap::raw::Encoder::new().compress_vec(&data).unwrap();
        assert_eq!(
            decompress(Compression::Snappy, &raw, usize::MAX).unwrap(),
            data
        );
    }

    #[test]
    fn lz4_frame_is_kip57_and_old_checksum_accepted() {
        let data = sample();
        let mut out = Vec::new();
        compress(Compression::Lz4, None, &data, &mut out).unwrap();
        assert_eq!(out[..4], LZ4_MAGIC);
        let flg = out[4];
        assert_ne!(flg & 0x20, 0, "blocks must be independent");
        assert_eq!(out[5] >> 4 & 0x07, 4, "64 KiB blocks");
        // Re-stamp the header checksum the pre-KIP-57 way (over the magic too).
        assert_eq!(flg & 0x09, 0, "no content size or dictionary id");
        let mut broken = out.clone();
        broken[6] = (xxh32_small(&broken[..6]) >> 8) as u8;
        assert_ne!(broken[6], out[6]);
        assert_eq!(
            decompress(Compression::Lz4, &broken, usize::MAX).unwrap(),
            data
        );
    }

    #[test]
    fn lz4_stores_incompressible_blocks_raw() {
        // A xorshift stream: incompressible, crosses two block boundaries.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..150_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut out = Vec::new();
        compress(Compression::Lz4, None, &data, &mut out).unwrap();
        assert_eq!(out[7..11], (LZ4_BLOCK as u32 | 0x8000_0000).to_le_bytes());
        assert_eq!(
            decompress(Compression::Lz4, &out, data.len()).unwrap(),
            data
        );
        let mut empty = Vec::new();
        compress(Compression::Lz4, None, &[], &mut empty).unwrap();
        assert!(decompress(Compression::Lz4, &empty, 10).unwrap().is_empty());
    }

    #[test]
    fn levels_are_validated_and_honoured() {
        let data = sample();
        assert!(Compression::Gzip.validate_level(10).is_err());
        assert!(Compression::Lz4.validate_level(13).is_err());
        assert!(Compression::Zstd.validate_level(23).is_err());
        assert!(Compression::Zstd.validate_level(-5).is_ok());
        assert!(Compression::Snappy.validate_level(7).is_ok());
        let mut fast = Vec::new();
        let mut best = Vec::new();
        compress(Compression::Gzip, Some(0), &data, &mut fast).unwrap();
        compress(Compression::Gzip, Some(9), &data, &mut best).unwrap();
        assert!(best.len() < fast.len());
        let err = compress(Compression::Gzip, Some(12), &data, &mut Vec::new()).unwrap_err();
        assert!(err.message().contains("compression.level"), "{err}");
    }

    #[test]
    fn names_parse() {
        for codec in ALL {
            assert_eq!(codec.name().parse::<Compression>().unwrap(), codec);
        }
        assert_eq!("LZ4".parse::<Compression>().unwrap(), Compression::Lz4);
        let err = "brotli".parse::<Compression>().unwrap_err();
        assert!(err.message().contains("brotli"));
    }

    #[test]
    fn zstd_reads_frames_without_a_size_and_several_frames_and_refuses_a_cut_one() {
        let data = sample();
        let (a, b) = data.split_at(70_000);
        // A frame that states its size, then one written by a stream that
        // does not know it.
        let mut two = Vec::new();
        compress(Compression::Zstd, None, a, &mut two).unwrap();
        let no_size = zstd::stream::encode_all(b, 3).unwrap();
        assert!(matches!(
            zstd::zstd_safe::get_frame_content_size(&no_size),
            Ok(None)
        ));
        two.extend_from_slice(&no_size);
        assert_eq!(decompress(Compression::Zstd, &no_size, 1 << 20).unwrap(), b);
        assert_eq!(decompress(Compression::Zstd, &two, 1 << 20).unwrap(), data);
        let err = decompress(Compression::Zstd, &two, data.len() - 1).unwrap_err();
        assert!(err.message().contains("exceeds the limit"), "{err}");
        // The context survives errors: a good frame decodes after a bad one.
        for cut in [&two[..two.len() / 2], &no_size[..no_size.len() - 3]] {
            let err = decompress(Compression::Zstd, cut, 1 << 20).unwrap_err();
            assert_eq!(err.code(), ErrorCode::BadMsg, "{err}");
            assert_eq!(decompress(Compression::Zstd, &two, 1 << 20).unwrap(), data);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let inputs: [&[u8]; 6] = [
            b"",
            // LZ4 header with content size and dictionary id: a 19-byte header.
            b"\x04\x22\x4d\x18\x69\x40\x01\x02\x03\x04\x05\x06\x07\x08\x01\x02\x03\x04\x55\x00",
            b"\x1f\x8b\x08garbage",
            b"\x04\x22\x4d\x18\x68",
            b"\x82SNAPPY\x00\x00\x00\x00\x01\x00\x00\x00\x01\xff\xff\xff\xff",
            b"\x28\xb5\x2f\xfd\x00\x00",
        ];
        for codec in ALL {
            for input in inputs {
                let _ = decompress(codec, input, 1 << 20);
            }
        }
    }
}
