//! Fuzz target: see `strata::fuzzing::archive_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::archive_stream(data));
