//! strata: what is inside a container image, layer by layer, and where its bytes are wasted.
//!
//! This crate is the program around [`strata_core`], which reads images and computes
//! everything as data: the printers ([`report`]: text, JSON, Markdown, the CI contract) put it
//! into words, and the explorer ([`tui`]) onto the terminal. The core's modules are re-exported
//! here under their own names, so `strata::engine` is `strata_core::engine`.

pub use strata_core::{
    Error, Result, analysis, cache, ci, dockerfile, engine, error, image, layer, overlay, source,
    trace, units,
};

pub mod fuzzing;
pub mod progress;
pub mod report;
pub mod tui;
