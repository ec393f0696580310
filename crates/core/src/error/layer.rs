//! What can be wrong with one layer: its blob (missing, misnamed, repeated, unverifiable) or
//! its stream (compression, tar).

use std::fmt;

/// Why a layer could not be read; [`super::Error::Layer`] names the layer and its blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerError {
    /// A docker save's manifest.json lists a layer the archive does not hold.
    NotInArchive { store: String },
    /// The blob a manifest names is not in the store.
    MissingBlob { store: String },
    /// The manifest names the blob by a malformed digest; `fault` says how.
    MalformedDigest { fault: String },
    /// A streamed archive went by without this layer.
    NotRead { store: String },
    /// The image lists one blob more times than strata applies.
    Repeats {
        first: usize,
        times: usize,
        limit: u64,
    },
    /// A digest could not be checked; `kind` is `blob digest` or `diff_id`.
    NotVerified {
        kind: super::Hashed,
        digest: String,
        why: String,
    },
    /// The stream is broken (compression, tar) or breaks a limit; the message says how.
    Stream(String),
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::NotInArchive { store } => {
                write!(f, "listed in manifest.json but missing from {store}")
            }
            LayerError::MissingBlob { store } => write!(f, "blob is missing from {store}"),
            LayerError::MalformedDigest { fault } => {
                write!(f, "the manifest names it by a {fault}")
            }
            LayerError::NotRead { store } => write!(f, "not read from {store}"),
            LayerError::Repeats {
                first,
                times,
                limit,
            } => write!(
                f,
                "repeats layer {first}, which the image lists {times} times: applying it each \
                 time exceeds strata's limit of {limit} repeated entries"
            ),
            LayerError::NotVerified { kind, digest, why } => {
                write!(f, "{kind} {digest} NOT verified: {why}")
            }
            LayerError::Stream(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for LayerError {}
