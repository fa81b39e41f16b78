//! The record batch decoder (RecordBatch v2, legacy MessageSet v0/v1, every
//! codec) over arbitrary bytes, as if they were a fetched partition's records.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ferrokafka::record::fuzzing::fuzz_decode(data);
});
