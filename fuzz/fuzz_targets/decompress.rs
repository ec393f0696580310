//! Fuzz target: see `strata::fuzzing::decompress`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::decompress(data));
