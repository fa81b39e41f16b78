//! The client's response decoding for one family of APIs (`transaction`, as
//! ferrokafka-wire groups them): the first byte picks the API, the second
//! its version, the rest is the body; it goes through the shape guard and
//! then the decoder. A narrower target than `any_response`, so each
//! family's schemas get the fuzzer's full attention.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrokafka::net::fuzzing::fuzz_family_response(ferrokafka::net::fuzzing::Family::Transaction, data);
});
