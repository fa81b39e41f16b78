//! Decodes the same LZ4 blocks N times with one decoder, named on the
//! command line (`flex` or `c`), so that callgrind's instruction count of
//! a run with N and with 2N rounds gives the cost per decoded byte.
//!
//! The data is what a Kafka consumer decompresses: the records section of
//! batches of 100-byte values with a counter and a fixed tail, in 64 KiB
//! blocks (the block size Kafka's framing uses).

use std::hint::black_box;

fn records(n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..n {
        // A record as the v2 format lays it out: length, attributes,
        // deltas, key length (-1), value, header count.
        out.extend_from_slice(&[0xd2, 0x01, 0x00]);
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.push(0x01);
        out.push(0xc8);
        out.push(0x01);
        out.extend_from_slice(format!("{i:08}").as_bytes());
        out.extend_from_slice(b"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrst");
        out.push(0x00);
    }
    out
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().expect("decoder: flex or c");
    let rounds: usize = args
        .next()
        .expect("rounds")
        .parse()
        .expect("rounds: a number");
    let data = records(20_000);
    let blocks: Vec<(Vec<u8>, usize)> = data
        .chunks(64 * 1024)
        .map(|c| (lz4_flex::block::compress(c), c.len()))
        .collect();
    let mut out = vec![0u8; 64 * 1024];
    let mut total = 0usize;
    for _ in 0..rounds {
        for (block, len) in &blocks {
            let n = match which.as_str() {
                "flex" => lz4_flex::block::decompress_into(block, &mut out).expect("lz4_flex"),
                "c" => {
                    // SAFETY: both buffers are valid for the lengths given.
                    let n = unsafe {
                        lz4_sys::LZ4_decompress_safe(
                            block.as_ptr().cast(),
                            out.as_mut_ptr().cast(),
                            block.len() as i32,
                            out.len() as i32,
                        )
                    };
                    assert!(n >= 0, "C lz4 failed");
                    n as usize
                }
                other => panic!("unknown decoder {other}"),
            };
            assert_eq!(n, *len);
            total += black_box(&out[..n]).len();
        }
    }
    println!("{which}: {total} bytes decoded, {} per round", data.len());
}
