//! Fuzz target: see `strata::fuzzing::layers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::layers(data));
