//! strata: what is inside a container image, layer by layer, and where its bytes are wasted.
//!
//! The library reads an image ([`source`]), streams each layer once ([`layer`]), rebuilds the
//! union filesystem as a container runtime would ([`overlay`]), and computes diffs, waste and
//! efficiency ([`analysis`]). The faces — text, JSON, CI rules — only read the result.

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
