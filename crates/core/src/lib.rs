//! strata's core: what is inside a container image, layer by layer, and where its bytes are
//! wasted, as data.
//!
//! It reads an image ([`source`]: the input parsed once into a [`source::Location`], opened into
//! an image and a blob store), streams each layer once ([`layer`]), rebuilds the union filesystem
//! as a container runtime would ([`overlay`]) on reader threads and one applier ([`engine`]),
//! and computes diffs, waste, efficiency, findings, comparisons and CI rule outcomes
//! ([`analysis`], [`ci`]); [`dockerfile`] names the Dockerfile line of each layer. Nothing here prints or draws: no terminal, command-line or progress
//! crate is in this crate's dependency tree. The words and the screens are the `strata` crate's.

pub mod analysis;
pub mod cache;
pub mod ci;
pub mod dockerfile;
pub mod engine;
pub mod error;
pub mod image;
pub mod layer;
pub mod overlay;
pub mod source;
pub mod trace;
pub mod units;

pub use error::{Error, Result};
