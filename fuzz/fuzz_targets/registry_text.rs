//! Fuzz target: see `strata::fuzzing::registry_text`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::registry_text(data));
