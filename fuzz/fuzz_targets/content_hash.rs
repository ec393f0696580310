//! Fuzz target: see `strata::fuzzing::content_hash`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::content_hash(data));
