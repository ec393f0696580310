//! strata: what is inside a container image, layer by layer, and where its bytes are wasted.
//!
//! The library reads an image ([`source`]), streams each layer once ([`layer`]), rebuilds the
//! union filesystem as a container runtime would ([`overlay`]), and computes diffs, waste and
//! efficiency ([`analysis`]), which is data; [`ci`] judges it against dive's rules. The
//! printers ([`report`]: text, JSON, Markdown, behind one trait) and the explorer ([`tui`])
//! only read the result and word it; [`units`] prints and reads sizes and ratios for all.

pub mod analysis;
pub mod cache;
pub mod ci;
pub mod engine;
pub mod error;
pub mod fuzzing;
pub mod image;
pub mod layer;
pub mod overlay;
pub mod report;
pub mod source;
pub mod trace;
pub mod tui;
pub mod units;

pub use error::{Error, Result};
