//! Hostile inputs, generated deterministically: hand-made tars ([`tarcraft`]) and the images
//! built from them ([`cases`]), each with the outcome strata must give within its memory and
//! time limits.
#![allow(clippy::unwrap_used)]

pub mod cases;
pub mod tarcraft;
