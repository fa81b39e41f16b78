//! Every response the client decodes with `kafka-protocol`, each family in
//! turn: the first byte picks the API, the second its version, the rest is
//! the body; it goes through the shape guard and then the decoder.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrokafka::net::fuzzing::fuzz_any_response(data);
});
