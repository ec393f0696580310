//! Fuzz target: see `strata::fuzzing::oci_layout`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| strata::fuzzing::oci_layout(data));
