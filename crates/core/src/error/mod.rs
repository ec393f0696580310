//! Errors of the library: each names the file, blob or layer it is about and what was wrong.
//!
//! Every error is data: a variant says what kind of thing went wrong and carries the values
//! (sizes, limits, statuses, digests) a caller may act on; its `Display` is the one line users
//! see. The families live beside this file: [`image`] (inputs that are not images, or are
//! broken or unsafe), [`remote`] (registries and engines), [`layer`] (a layer's stream) and
//! [`dockerfile`] (the Dockerfile given to attribute layers to its lines).

use std::fmt;
use std::path::PathBuf;

pub mod dockerfile;
pub mod image;
pub mod layer;
pub mod remote;

pub use dockerfile::DockerfileError;
pub use image::{
    BadDigest, Codec, Corrupt, FileKind, LayoutSign, Malformed, MemberKind, NotAnImage, Unsafe,
};
pub use layer::LayerError;
pub use remote::{Credentials, Remote};

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
    /// Reading `what` (a member, a blob, an answer) failed part-way.
    #[error("{what}: read failed: {source}")]
    Read {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// `what` is not valid JSON; [`Error::json_position`] gives the line and column.
    #[error("{what}: invalid JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// `what` is over one of strata's size limits.
    #[error("{what}: {limit}")]
    TooLarge { what: String, limit: TooLarge },
    /// `what` holds more of something than strata follows.
    #[error("{what}: {limit}")]
    TooMany { what: String, limit: TooMany },
    /// The input is not an image strata reads.
    #[error("{what}: {why}")]
    NotAnImage { what: String, why: NotAnImage },
    /// The input is an image but its bytes are broken (truncated, corrupt, not a tar).
    #[error("{what}: {why}")]
    Corrupt { what: String, why: Corrupt },
    /// The input tries something strata refuses (a path out of the image, a link loop).
    #[error("{what}: {why}")]
    Unsafe { what: String, why: Unsafe },
    /// A registry or an engine refused, failed or could not be reached.
    #[error("{what}: {why}")]
    Remote { what: String, why: Remote },
    /// Credentials (a docker config, a helper) could not be used.
    #[error("{what}: {why}")]
    Credentials { what: String, why: Credentials },
    /// A layer could not be read; `layer` is its index from the bottom (0).
    #[error("layer {layer} ({blob}): {source}")]
    Layer {
        layer: usize,
        blob: String,
        #[source]
        source: LayerError,
    },
    /// Layer `layer` broke an invariant of the engine (a bug in strata, not bad input).
    #[error("layer {layer}: {broken}")]
    Invariant {
        layer: usize,
        broken: layer::Invariant,
    },
    /// A digest did not match what the manifest or config promised.
    #[error("{what}: {kind} mismatch: expected {expected}, found {found}")]
    Digest {
        what: String,
        kind: Hashed,
        expected: String,
        found: String,
    },
    /// A digest strata cannot use: an unknown algorithm, or a malformed encoding.
    #[error("{what}: {why}")]
    BadDigest { what: String, why: BadDigest },
    /// A blob or document is not the size its descriptor gives.
    #[error("{what}: {of} mismatch: expected {expected}, found {found}")]
    SizeMismatch {
        what: String,
        of: Sized,
        expected: u64,
        found: u64,
    },
    /// The user asked for something the image does not have (a platform, a tag, a reference);
    /// the message lists what there is.
    #[error("{0}")]
    NotFound(String),
    /// A bad command-line value or configuration file.
    #[error("{0}")]
    Usage(String),
    /// One image of a compared pair (`name`, as the user gave it) could not be read. Its own
    /// error is a field, not the `source()`: the line already holds it, and a caller walking
    /// the chain for a broken pipe on stdout must not take a failed read for one.
    #[error("cannot read {name}: {error}")]
    Unread { name: String, error: Box<Error> },
    /// The thread reading an image of a compared pair panicked (the panic said why).
    #[error("cannot read {name}: the reader stopped")]
    ReaderStopped { name: String },
    /// The Dockerfile given with `--dockerfile` (`path`, as the user named it) cannot be read
    /// or parsed; `line` (from 1) is where, when the problem has a place.
    #[error("{}{}: {why}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Dockerfile {
        path: PathBuf,
        line: Option<usize>,
        why: DockerfileError,
    },
}

impl Error {
    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::Read`].
    pub fn read(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Read {
            what: what.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::Json`].
    pub fn json(what: impl Into<String>, source: serde_json::Error) -> Self {
        Error::Json {
            what: what.into(),
            source,
        }
    }

    /// The line and column (from 1) where an [`Error::Json`] found the document invalid.
    pub fn json_position(&self) -> Option<(usize, usize)> {
        match self {
            Error::Json { source, .. } => Some((source.line(), source.column())),
            _ => None,
        }
    }
}

/// Which hash of a blob did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashed {
    /// The digest a descriptor gives (a manifest, an index, a config).
    Digest,
    /// A layer's compressed blob against the manifest's digest.
    BlobDigest,
    /// A layer's uncompressed tar against the config's `diff_id`.
    DiffId,
}

impl fmt::Display for Hashed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hashed::Digest => "digest",
            Hashed::BlobDigest => "blob digest",
            Hashed::DiffId => "diff_id",
        })
    }
}

/// Whose size did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sized {
    /// A document (index, manifest, config) against its descriptor.
    Document,
    /// A layer's compressed blob against the manifest's size.
    Blob,
}

impl fmt::Display for Sized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sized::Document => "size",
            Sized::Blob => "blob size",
        })
    }
}

/// A size limit that was passed, with the numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooLarge {
    /// A JSON document (index, manifest, config): `size` when known before reading it.
    JsonDocument { size: Option<u64>, limit: u64 },
    /// A member of a streamed archive that is neither a layer nor a small JSON document, so
    /// it was not kept.
    SkippedMember { limit: u64 },
    /// A manifest whose descriptor gives a size over the limit.
    DescribedManifest { size: u64, limit: u64 },
    /// A manifest answer whose `Content-Length` is over its descriptor's size or the limit.
    ManifestLength {
        length: u64,
        described: Option<u64>,
        limit: u64,
    },
    /// A manifest answer that ran past the limit.
    Manifest { limit: u64 },
    /// A token service's answer over the limit.
    TokenAnswer { status: String, limit: u64 },
}

impl fmt::Display for TooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TooLarge::JsonDocument {
                size: Some(size),
                limit,
            } => write!(
                f,
                "{size} bytes is too large for a JSON document (limit {limit})"
            ),
            TooLarge::JsonDocument { size: None, .. } => {
                f.write_str("too large for a JSON document")
            }
            TooLarge::SkippedMember { limit } => {
                write!(f, "neither a layer nor a JSON document under {limit} bytes")
            }
            TooLarge::DescribedManifest { size, limit } => write!(
                f,
                "its descriptor gives {size} bytes, over the {limit}-byte limit"
            ),
            TooLarge::ManifestLength {
                length,
                described: Some(size),
                ..
            } => write!(
                f,
                "Content-Length {length} is over the {size} bytes its descriptor gives"
            ),
            TooLarge::ManifestLength {
                length,
                described: None,
                limit,
            } => write!(
                f,
                "Content-Length {length}: a manifest over the {limit}-byte limit"
            ),
            TooLarge::Manifest { limit } => write!(f, "a manifest over the {limit}-byte limit"),
            TooLarge::TokenAnswer { status, limit } => {
                write!(f, "{status}: an answer over {} KiB", limit >> 10)
            }
        }
    }
}

/// A count limit that was passed, with the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooMany {
    /// An image with more layers than strata reads.
    Layers { count: usize, limit: usize },
    /// An index listing more manifests than strata considers.
    Manifests { limit: usize },
    /// Indexes nested deeper than strata follows.
    IndexDepth { limit: usize },
    /// More nested indexes than strata reads in all.
    Indexes { limit: usize },
    /// A chain of links in an archive longer than strata follows.
    LinkHops { limit: usize },
    /// More HTTP redirects than strata follows.
    Redirects { limit: usize },
    /// A tag list in more pages than strata follows.
    TagPages { limit: usize },
}

impl fmt::Display for TooMany {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TooMany::Layers { count, limit } => write!(
                f,
                "{count} layers; strata reads at most {limit} (Docker refuses more than 125, \
                 overlayfs stacks at most 500)"
            ),
            TooMany::Manifests { limit } => write!(f, "lists more than {limit} manifests"),
            TooMany::IndexDepth { limit } => write!(f, "indexes nested more than {limit} deep"),
            TooMany::Indexes { limit } => write!(f, "more than {limit} nested indexes to read"),
            TooMany::TagPages { limit } => write!(f, "tags listed in more than {limit} pages"),
            TooMany::LinkHops { limit } => {
                write!(f, "more than {limit} links to follow (a link loop?)")
            }
            TooMany::Redirects { limit } => write!(f, "more than {limit} redirects"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compared image whose reader panicked is named once, as every other line names its
    /// file once (it used to read "cannot read a.tar: a.tar: the reader stopped").
    #[test]
    fn a_stopped_reader_names_its_image_once() {
        let e = Error::ReaderStopped {
            name: "a.tar".into(),
        };
        assert_eq!(e.to_string(), "cannot read a.tar: the reader stopped");
    }
}
