//! Inputs that are not images strata reads, images whose bytes are broken, and images that try
//! something strata refuses.

use std::fmt;

/// Why an input is not an image strata reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnImage {
    /// An index or a docker save's manifest that lists no image.
    NoImages,
}

impl fmt::Display for NotAnImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAnImage::NoImages => f.write_str("lists no images"),
        }
    }
}

/// How an image's bytes are broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corrupt {
    /// An archive member that runs past the archive's end.
    Truncated { member: String },
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corrupt::Truncated { member } => {
                write!(f, "archive is truncated: member {member} runs past the end")
            }
        }
    }
}

/// What an image tried that strata refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsafe {
    /// A blob path that leaves the image directory.
    LeavesImage,
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsafe::LeavesImage => f.write_str("path leaves the image directory"),
        }
    }
}
