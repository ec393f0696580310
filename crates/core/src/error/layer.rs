//! What can be wrong with one layer: its blob (missing, misnamed, repeated, unverifiable), its
//! stream (compression, tar: [`TarError`]), or one of its entries, which the overlay skips
//! ([`ApplyError`]). The values that matter (offsets, sizes, limits, codecs) are kept as data,
//! and text is only built when an error is shown: the readers return these types on their hot
//! paths, where a success must cost nothing more than it did with no error type at all.

use std::fmt;
use std::io;

use super::Codec;

/// Why a layer could not be read; [`super::Error::Layer`] names the layer and its blob.
#[derive(Debug)]
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
    /// The blob could not be opened for reading (its first bytes could not be read).
    Open(io::Error),
    /// The blob is compressed in a way runtimes do not read (xz, bzip2, …), and did not read as
    /// a tar either.
    Foreign { name: &'static str },
    /// The decompressor (or, for a plain tar, the blob) refused a feature it does not support;
    /// `after_end` when that was past the tar's end marker.
    Unsupported {
        codec: Option<Codec>,
        after_end: bool,
        source: io::Error,
    },
    /// The compressed stream (or, for a plain tar, the blob) is damaged; `after_end` when that
    /// was past the tar's end marker.
    Corrupt {
        codec: Option<Codec>,
        after_end: bool,
        source: io::Error,
    },
    /// The blob could not be read to its end once the compressed stream had ended.
    BlobEnd(io::Error),
    /// The tar inside is broken.
    Tar(TarError),
    /// The layer's names and link targets together pass 4 GiB.
    NamesOver4GiB,
    /// One name or link target passes 4 GiB.
    NameOver4GiB,
    /// Reading failed, and the blob's digest is not the manifest's: the blob itself is damaged.
    /// `kind` is the compression sniffed from its first bytes (`tar` when none, or the name of
    /// a foreign one).
    CorruptBlob {
        kind: &'static str,
        cause: Box<LayerError>,
        expected: String,
        found: String,
    },
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
            LayerError::Open(e) => write!(f, "cannot read: {e}"),
            LayerError::Foreign { name } => write!(
                f,
                "{name}-compressed layer: strata reads gzip, zstd and uncompressed tar layers, \
                 as containerd does"
            ),
            LayerError::Unsupported {
                codec,
                after_end,
                source,
            } => write!(
                f,
                "{} stream{}: {source}",
                StreamName(*codec),
                after(*after_end)
            ),
            LayerError::Corrupt {
                codec,
                after_end,
                source,
            } => write!(
                f,
                "corrupt {} stream{}: {source}",
                StreamName(*codec),
                after(*after_end)
            ),
            LayerError::BlobEnd(e) => write!(f, "cannot read the blob to its end: {e}"),
            LayerError::Tar(e) => write!(f, "{e}"),
            LayerError::NamesOver4GiB => f.write_str("more than 4 GiB of names in one layer"),
            LayerError::NameOver4GiB => f.write_str("a name over 4 GiB"),
            LayerError::CorruptBlob {
                kind,
                cause,
                expected,
                found,
            } => write!(
                f,
                "corrupt {kind} blob: {cause}; blob digest mismatch: expected {expected}, found \
                 {found}"
            ),
        }
    }
}

/// The stream a layer's tar is read from, as messages name it: its compression, or `tar` when
/// the blob is the tar itself.
struct StreamName(Option<Codec>);

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(codec) => codec.fmt(f),
            None => f.write_str("tar"),
        }
    }
}

fn after(after_end: bool) -> &'static str {
    if after_end {
        " after the tar's end"
    } else {
        ""
    }
}

impl std::error::Error for LayerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LayerError::Open(e)
            | LayerError::BlobEnd(e)
            | LayerError::Unsupported { source: e, .. }
            | LayerError::Corrupt { source: e, .. } => Some(e),
            LayerError::Tar(e) => Some(e),
            LayerError::CorruptBlob { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

/// Why a tar stream could not be walked.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The header at byte `offset` is broken or breaks a limit.
    #[error("bad tar header at byte {offset}: {fault}")]
    Header { offset: u64, fault: HeaderFault },
    /// The stream ends at byte `offset` inside an entry's content, `missing` bytes short.
    #[error(
        "truncated tar: stream ends at byte {offset} inside an entry's content ({missing} bytes \
         missing)"
    )]
    TruncatedContent { offset: u64, missing: u64 },
    /// The stream ends at byte `offset` inside a header block.
    #[error("truncated tar: stream ends at byte {offset} inside a header")]
    TruncatedHeader { offset: u64 },
}

/// What is wrong with one tar header.
#[derive(Debug)]
pub enum HeaderFault {
    /// Fewer than 512 bytes.
    Short,
    /// Neither octal, base-256 nor blank: the size field's bytes.
    UnreadableSize([u8; 12]),
    /// The checksum field is not a number: not a header at all.
    NoChecksum,
    /// The checksum field does not match the header's bytes.
    Checksum { stored: u32, sum: u32 },
    /// An extension header larger than strata reads.
    ExtensionTooLarge {
        extension: Extension,
        size: u64,
        limit: u64,
    },
    /// A zero block followed by more headers.
    LoneZeroBlock,
    /// The PAX extended header before the entry.
    Pax(PaxFault),
}

impl fmt::Display for HeaderFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderFault::Short => f.write_str("short header block"),
            HeaderFault::UnreadableSize(field) => write!(
                f,
                "unreadable size: {:?}",
                String::from_utf8_lossy(field).trim_end_matches('\0')
            ),
            HeaderFault::NoChecksum => f.write_str("not a tar header (unreadable checksum field)"),
            HeaderFault::Checksum { stored, sum } => write!(
                f,
                "checksum {stored} does not match the header's bytes ({sum})"
            ),
            HeaderFault::ExtensionTooLarge {
                extension,
                size,
                limit,
            } => write!(
                f,
                "{extension} claims {size} bytes, over the {limit}-byte limit"
            ),
            HeaderFault::LoneZeroBlock => f.write_str(
                "a lone zero block followed by more headers (runtimes refuse such a tar)",
            ),
            HeaderFault::Pax(fault) => write!(f, "PAX header: {fault}"),
        }
    }
}

/// The kinds of extension header, which carry data for the entry after them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Pax,
    PaxGlobal,
    GnuLongName,
    GnuLongLink,
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Extension::Pax => "PAX extended header",
            Extension::PaxGlobal => "PAX global header",
            Extension::GnuLongName => "GNU long name",
            Extension::GnuLongLink => "GNU long link name",
        })
    }
}

/// What is wrong with a PAX extended header.
#[derive(Debug)]
pub enum PaxFault {
    /// A record is not `LENGTH KEY=VALUE\n`.
    Record(io::Error),
    /// A numeric value is not UTF-8.
    NotUtf8(std::str::Utf8Error),
    /// `size`, `uid` or `gid` is not a decimal number.
    NotANumber { key: &'static str, value: String },
    /// `path` or `linkpath` holds a NUL byte.
    Nul { key: &'static str },
}

impl fmt::Display for PaxFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaxFault::Record(e) => write!(f, "{e}"),
            PaxFault::NotUtf8(e) => write!(f, "{e}"),
            PaxFault::NotANumber { key, value } => write!(f, "{key} is not a number: {value:?}"),
            PaxFault::Nul { key } => write!(f, "{key} holds a NUL byte"),
        }
    }
}

/// Why the overlay skipped one entry of a layer, as a runtime would refuse it (the entry's
/// path and "entry skipped" are added where it is reported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyError {
    /// More symlinks to follow while resolving one path than Linux follows.
    SymlinkHops { limit: u32 },
    /// A parent directory is missing.
    ParentMissing,
    /// A parent is neither a directory nor a symlink.
    ParentNotDir { name: String },
    /// A hard link names a path that does not exist.
    HardlinkMissing { target: String },
    /// A hard link names a path with no current state.
    HardlinkToNothing,
    /// A hard link names a directory.
    HardlinkToDir,
    /// A symlink target longer than Linux can create.
    SymlinkTarget { len: usize, limit: usize },
    /// More paths than node ids.
    TooManyPaths,
    /// More than 4 GiB of names (paths, or distinct link targets).
    NamesOver4GiB,
    /// More distinct link targets than symbols.
    TooManyNames,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Linux's message (ELOOP).
            ApplyError::SymlinkHops { .. } => f.write_str("too many levels of symbolic links"),
            ApplyError::ParentMissing => f.write_str("parent missing"),
            ApplyError::ParentNotDir { name } => write!(f, "parent {name} is not a directory"),
            ApplyError::HardlinkMissing { target } => {
                write!(f, "hard link to {target}, which does not exist")
            }
            ApplyError::HardlinkToNothing => f.write_str("hard link to nothing"),
            ApplyError::HardlinkToDir => f.write_str("hard link to a directory"),
            ApplyError::SymlinkTarget { len, limit } => write!(
                f,
                "symlink target of {len} bytes, over Linux's {limit} (a runtime cannot create it)"
            ),
            ApplyError::TooManyPaths => f.write_str("too many paths"),
            ApplyError::NamesOver4GiB => f.write_str("more than 4 GiB of names"),
            ApplyError::TooManyNames => f.write_str("too many names"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// An invariant of the engine that a layer broke: a bug in strata, not bad input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invariant {
    /// The base layer's batches arrived after another layer was applied.
    BatchedAfterOthers,
    /// The engine finished without this layer's scan.
    NotRead,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invariant::BatchedAfterOthers => "read in batches after other layers",
            Invariant::NotRead => "was not read",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each variant renders the words strata printed before its errors were typed (the strings
    /// below are copied from the `format!` calls they replace).
    #[test]
    fn variants_render_the_words_users_saw() {
        let io = || io::Error::other("boom");
        let cases: Vec<(String, &str)> = vec![
            (LayerError::Open(io()).to_string(), "cannot read: boom"),
            (
                LayerError::Foreign { name: "xz" }.to_string(),
                "xz-compressed layer: strata reads gzip, zstd and uncompressed tar layers, as \
                 containerd does",
            ),
            (
                LayerError::Unsupported {
                    codec: Some(Codec::Zstd),
                    after_end: false,
                    source: io(),
                }
                .to_string(),
                "zstd stream: boom",
            ),
            (
                LayerError::Unsupported {
                    codec: Some(Codec::Gzip),
                    after_end: true,
                    source: io(),
                }
                .to_string(),
                "gzip stream after the tar's end: boom",
            ),
            (
                LayerError::Corrupt {
                    codec: None,
                    after_end: false,
                    source: io(),
                }
                .to_string(),
                "corrupt tar stream: boom",
            ),
            (
                LayerError::Corrupt {
                    codec: Some(Codec::Zstd),
                    after_end: true,
                    source: io(),
                }
                .to_string(),
                "corrupt zstd stream after the tar's end: boom",
            ),
            (
                LayerError::BlobEnd(io()).to_string(),
                "cannot read the blob to its end: boom",
            ),
            (
                LayerError::NamesOver4GiB.to_string(),
                "more than 4 GiB of names in one layer",
            ),
            (LayerError::NameOver4GiB.to_string(), "a name over 4 GiB"),
            (
                LayerError::CorruptBlob {
                    kind: "gzip",
                    cause: Box::new(LayerError::Tar(TarError::TruncatedHeader { offset: 7 })),
                    expected: "sha256:aa".into(),
                    found: "sha256:bb".into(),
                }
                .to_string(),
                "corrupt gzip blob: truncated tar: stream ends at byte 7 inside a header; blob \
                 digest mismatch: expected sha256:aa, found sha256:bb",
            ),
            (
                TarError::TruncatedContent {
                    offset: 1024,
                    missing: 9,
                }
                .to_string(),
                "truncated tar: stream ends at byte 1024 inside an entry's content (9 bytes \
                 missing)",
            ),
            (
                TarError::Header {
                    offset: 0,
                    fault: HeaderFault::Short,
                }
                .to_string(),
                "bad tar header at byte 0: short header block",
            ),
            (
                HeaderFault::UnreadableSize(*b"12x4\0\0\0\0\0\0\0\0").to_string(),
                "unreadable size: \"12x4\"",
            ),
            (
                HeaderFault::NoChecksum.to_string(),
                "not a tar header (unreadable checksum field)",
            ),
            (
                HeaderFault::Checksum { stored: 5, sum: 6 }.to_string(),
                "checksum 5 does not match the header's bytes (6)",
            ),
            (
                HeaderFault::ExtensionTooLarge {
                    extension: Extension::GnuLongLink,
                    size: 2,
                    limit: 1,
                }
                .to_string(),
                "GNU long link name claims 2 bytes, over the 1-byte limit",
            ),
            (
                HeaderFault::LoneZeroBlock.to_string(),
                "a lone zero block followed by more headers (runtimes refuse such a tar)",
            ),
            (
                HeaderFault::Pax(PaxFault::NotANumber {
                    key: "uid",
                    value: "x".into(),
                })
                .to_string(),
                "PAX header: uid is not a number: \"x\"",
            ),
            (
                PaxFault::Nul { key: "linkpath" }.to_string(),
                "linkpath holds a NUL byte",
            ),
            (
                ApplyError::SymlinkHops { limit: 40 }.to_string(),
                "too many levels of symbolic links",
            ),
            (
                ApplyError::ParentNotDir { name: "etc".into() }.to_string(),
                "parent etc is not a directory",
            ),
            (
                ApplyError::HardlinkMissing {
                    target: "a/b".into(),
                }
                .to_string(),
                "hard link to a/b, which does not exist",
            ),
            (
                ApplyError::SymlinkTarget {
                    len: 5000,
                    limit: 4095,
                }
                .to_string(),
                "symlink target of 5000 bytes, over Linux's 4095 (a runtime cannot create it)",
            ),
            (
                Invariant::BatchedAfterOthers.to_string(),
                "read in batches after other layers",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
