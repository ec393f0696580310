//! Errors of the library: each names the file, blob or layer it is about and what was wrong.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading and analysing an image.
///
/// Every variant renders as one line that names the thing (file, blob, layer) and the problem,
/// so the command line can print it as is.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system error on a file the user named (or one inside it).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The input is not something strata can read, or is malformed; `what` names the file or
    /// member (`image.tar: manifest.json`), `message` says what is wrong.
    #[error("{what}: {message}")]
    Format { what: String, message: String },
    /// A layer could not be read; `layer` is its index from the bottom (0).
    #[error("layer {layer} ({blob}): {message}")]
    Layer {
        layer: usize,
        blob: String,
        message: String,
    },
    /// A digest did not match what the manifest or config promised.
    #[error("{what}: {kind} mismatch: expected {expected}, found {found}")]
    Digest {
        what: String,
        kind: &'static str,
        expected: String,
        found: String,
    },
    /// The user asked for something the image does not have (a platform, a tag, a reference);
    /// the message lists what there is.
    #[error("{0}")]
    NotFound(String),
    /// A bad command-line value or configuration file.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Shorthand for a [`Error::Format`].
    pub fn format(what: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Format {
            what: what.into(),
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
