//! The mock cluster's request path: arbitrary bytes as one request frame
//! (size prefix removed) through header and body decoding and dispatch of
//! an in-memory three-broker cluster. No input may panic or wedge it.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrokafka_mock::fuzz_handle_frame(data);
});
