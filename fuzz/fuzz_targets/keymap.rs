//! Fuzz target: see `strata::fuzzing::keymap`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::keymap(data));
