//! The client's frame reader: arbitrary bytes as a broker's response stream,
//! read in chunks (the first byte sets their size), each frame's header
//! stripped. Oversized, negative and truncated size prefixes must be errors.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrokafka::net::fuzzing::fuzz_frames(data);
});
