//! The client's bounded response decoders (ApiVersions, Metadata,
//! FindCoordinator): the first byte picks the API version, the rest is the
//! response body as a broker would send it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrokafka::net::fuzzing::fuzz_responses(data);
});
