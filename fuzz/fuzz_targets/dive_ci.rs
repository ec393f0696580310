//! Fuzz target: see `strata::fuzzing::dive_ci`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::dive_ci(data));
