//! Record batches: encode and decode, CRC-32C and compression codecs.
//!
//! Placeholder; the codec lands with the foundation issue.
