//! Inputs that are not images strata reads, images whose bytes are broken, images that try
//! something strata refuses, and digests strata cannot use.
//!
//! Text that came from the input (a media type, a digest) is kept as the message shows it:
//! where today's line escapes it, the value here is already escaped, so that no variant can put
//! a raw control character on the terminal.

use std::fmt;

use super::LayerError;

/// A compression strata reads itself, of a layer or of a whole archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
        })
    }
}

/// What makes a directory without `index.json` an OCI layout that lost it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutSign {
    /// It holds `oci-layout` and `blobs/`.
    OciLayoutAndBlobs,
    /// It holds `oci-layout`.
    OciLayout,
    /// It holds `blobs/`.
    Blobs,
    /// It was named with `oci:`.
    NamedOci,
}

impl fmt::Display for LayoutSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LayoutSign::OciLayoutAndBlobs => "the directory has oci-layout and blobs/",
            LayoutSign::OciLayout => "the directory has oci-layout",
            LayoutSign::Blobs => "the directory has blobs/",
            LayoutSign::NamedOci => "it was named with oci:",
        })
    }
}

/// Why an input is not an image strata reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnImage {
    /// An index or a docker save's manifest that lists no image.
    NoImages,
    /// An archive compressed in a way strata does not read (`compression`: xz, bzip2, …),
    /// possibly inside a compression it does read; `command` decompresses it.
    ForeignCompression {
        compression: String,
        inside: Option<Codec>,
        command: String,
    },
    /// A file that is no tar (what came out of `inside`, when it was compressed).
    NotContainerImage { inside: Option<Codec> },
    /// A directory meant as an OCI layout (`sign` says why) without `index.json`.
    MissingIndex { sign: LayoutSign },
    /// A directory that is no layout strata knows.
    NotImageDirectory,
    /// `docker-archive:` named a tar without `manifest.json`.
    NotDockerArchive,
    /// `oci-archive:` named a tar without `index.json`.
    NotOciArchive,
    /// A tar (a file, or a `stream`) with neither `manifest.json` nor `index.json`.
    NoManifestNorIndex { stream: bool },
    /// `dir:` named a directory without `manifest.json`.
    NotDirLayout,
    /// A `dir:` layout's `manifest.json` that is no JSON object.
    DirManifestNotObject,
    /// A document that must be a JSON object (an index, a manifest) but is a list.
    JsonList,
    /// A config that is no JSON object.
    ConfigNotObject,
    /// An OCI artifact, not an image: `artifact_type` as shown (escaped), and what that type
    /// is in words when it is a common one.
    Artifact {
        artifact_type: String,
        known: Option<&'static str>,
    },
    /// No manifest of an image under the chosen entries; `absent_indexes` lists (short, cut)
    /// the nested indexes whose blobs are not there.
    NoManifest { absent_indexes: Option<String> },
    /// A Docker schema 1 manifest, by its media type or its `schemaVersion`.
    Schema1 { media_type: Option<String> },
    /// A manifest whose media type is neither an image manifest nor an artifact's.
    UnsupportedMediaType { media_type: String },
    /// A manifest without a config.
    NoConfig,
    /// A document of the image that went by as a layer: a stream is read once.
    ReadOnce,
}

impl fmt::Display for NotAnImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAnImage::NoImages => f.write_str("lists no images"),
            NotAnImage::ForeignCompression {
                compression,
                inside,
                command,
            } => {
                f.write_str("the archive is ")?;
                if let Some(c) = inside {
                    write!(f, "{c}-compressed, and inside ")?;
                }
                write!(
                    f,
                    "{compression}-compressed; strata reads tar archives, plain or gzip- or \
                     zstd-compressed: decompress it first ({command})"
                )
            }
            NotAnImage::NotContainerImage { inside } => {
                f.write_str("not a container image: ")?;
                if let Some(c) = inside {
                    write!(f, "{c}-compressed data that is not a tar archive; ")?;
                }
                f.write_str(
                    "expected an OCI layout directory, or a tar archive from docker save, podman \
                     save or skopeo (oci-archive / docker-archive), plain or gzip- or \
                     zstd-compressed",
                )
            }
            NotAnImage::MissingIndex { sign } => write!(
                f,
                "missing; {sign}, so it is meant to be an OCI layout, and a layout lists its \
                 images in index.json"
            ),
            NotAnImage::NotImageDirectory => f.write_str(
                "not an image directory: expected an OCI layout (oci-layout and index.json), a \
                 skopeo dir: layout or an extracted docker save (manifest.json)",
            ),
            NotAnImage::NotDockerArchive => {
                f.write_str("not a docker-archive: the tar has no manifest.json")
            }
            NotAnImage::NotOciArchive => f.write_str("not an oci-archive: the tar has no index.json"),
            NotAnImage::NoManifestNorIndex { stream } => write!(
                f,
                "a tar {}, but not an image: it has neither manifest.json (docker save) nor \
                 index.json (oci-archive)",
                if *stream { "stream" } else { "archive" }
            ),
            NotAnImage::NotDirLayout => f.write_str(
                "not a dir: layout: it has no manifest.json (skopeo copy IMAGE dir:PATH writes one)",
            ),
            NotAnImage::DirManifestNotObject => f.write_str(
                "not an image manifest or index (a docker save has a list here; read the \
                 directory without dir:)",
            ),
            NotAnImage::JsonList => f.write_str("not a JSON object but a list"),
            NotAnImage::ConfigNotObject => f.write_str("config is not a JSON object"),
            NotAnImage::Artifact {
                artifact_type,
                known,
            } => {
                write!(f, "an OCI artifact of type {artifact_type}")?;
                if let Some(k) = known {
                    write!(f, " ({k})")?;
                }
                f.write_str(", not a container image: it has no filesystem layers for strata to read")
            }
            NotAnImage::NoManifest { absent_indexes } => {
                f.write_str("no image manifest found")?;
                match absent_indexes {
                    Some(list) => write!(f, " (indexes absent from the layout: {list})"),
                    None => Ok(()),
                }
            }
            NotAnImage::Schema1 { media_type } => match media_type {
                Some(m) => write!(f, "Docker schema 1 manifests ({m}) are not supported"),
                None => f.write_str("Docker schema 1 manifests are not supported"),
            },
            NotAnImage::UnsupportedMediaType { media_type } => {
                write!(f, "unsupported manifest media type {media_type}")
            }
            NotAnImage::NoConfig => f.write_str("manifest has no config"),
            NotAnImage::ReadOnce => f.write_str(
                "a layer, read once as the stream went by; a stream cannot be read again",
            ),
        }
    }
}

/// How an image's bytes are broken. `cause` is the decoder's or the tar walker's own words.
#[derive(Debug)]
pub enum Corrupt {
    /// An archive member that runs past the archive's end.
    Truncated { member: String },
    /// A manifest an index lists whose blob is not in the layout.
    ManifestNotInLayout,
    /// A file that does not walk as a tar.
    NotTar { cause: String },
    /// A whole archive's decompressor could not be set up.
    Decoder { codec: Codec, cause: String },
    /// A whole archive's compressed stream broke before its tar began.
    Stream { codec: Codec, cause: String },
    /// A streamed archive's tar broke (`codec`: the compression it came out of).
    Tar { codec: Option<Codec>, cause: String },
    /// A compressed archive broke after its tar's end (padding, trailer, checksum).
    AfterTarEnd { codec: Codec, cause: String },
    /// A member of a streamed archive, taken for a layer, could not be read as one.
    Layer(LayerError),
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Corrupt::Truncated { member } => {
                write!(f, "archive is truncated: member {member} runs past the end")
            }
            Corrupt::ManifestNotInLayout => {
                f.write_str("listed in the index but its blob is not in the layout")
            }
            Corrupt::NotTar { cause } => write!(f, "not a valid tar archive: {cause}"),
            Corrupt::Decoder { codec, cause } => write!(f, "{codec} stream: {cause}"),
            Corrupt::Stream { codec, cause } => write!(f, "broken {codec} stream: {cause}"),
            Corrupt::Tar {
                codec: Some(codec),
                cause,
            } => write!(f, "broken {codec}-compressed tar stream: {cause}"),
            Corrupt::Tar { codec: None, cause } => write!(f, "broken tar stream: {cause}"),
            Corrupt::AfterTarEnd { codec, cause } => {
                write!(f, "corrupt {codec} stream after the tar's end: {cause}")
            }
            Corrupt::Layer(e) => e.fmt(f),
        }
    }
}

/// What kind of file stands where a regular one must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    /// None of the above (the system knows more kinds).
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Socket => "a socket",
            FileKind::Other => "not a file",
        })
    }
}

/// What an archive member that cannot be read as a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberKind {
    SparseFile,
    SymlinkWithoutTarget,
    HardlinkWithoutTarget,
    Directory,
    /// A device or a FIFO.
    NotRegular,
}

impl fmt::Display for MemberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemberKind::SparseFile => "a sparse file (unsupported)",
            MemberKind::SymlinkWithoutTarget => "symlink without a valid target",
            MemberKind::HardlinkWithoutTarget => "hard link without a valid target",
            MemberKind::Directory => "a directory",
            MemberKind::NotRegular => "not a regular file",
        })
    }
}

/// What an image tried that strata refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsafe {
    /// A blob path that leaves the image directory.
    LeavesImage,
    /// A digest outside the OCI grammar, which as a path could name anything.
    InvalidDigest { digest: String },
    /// A device, FIFO, socket or directory where a blob belongs (a FIFO would block a read).
    NotRegularFile { kind: FileKind },
    /// An archive member that cannot be read as a file.
    Unreadable { kind: MemberKind },
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsafe::LeavesImage => f.write_str("path leaves the image directory"),
            Unsafe::InvalidDigest { digest } => write!(f, "invalid digest {digest:?}"),
            Unsafe::NotRegularFile { kind } => write!(f, "not a regular file ({kind})"),
            Unsafe::Unreadable { kind } => write!(f, "cannot be read: {kind}"),
        }
    }
}

/// A digest of a known algorithm whose encoding is not the spec's (`sha256:xyz`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    /// `sha256`, `sha384` or `sha512`.
    pub algorithm: &'static str,
    /// How many lowercase hex digits that algorithm's digest has.
    pub digits: usize,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed digest: a {} digest is {} lowercase hex digits",
            self.algorithm, self.digits
        )
    }
}

/// A digest strata cannot use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadDigest {
    /// An algorithm strata does not compute, so the content cannot be verified: `digest` and
    /// `algorithm` as shown (escaped, cut), `verifies` the algorithms strata computes.
    UnknownAlgorithm {
        digest: String,
        algorithm: String,
        verifies: &'static str,
    },
    /// An index lists a manifest by a malformed digest (and no blob has that name).
    Listed(Malformed),
    /// A manifest names its config by a malformed digest (and no blob has that name).
    Named(Malformed),
}

impl fmt::Display for BadDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadDigest::UnknownAlgorithm {
                digest,
                algorithm,
                verifies,
            } => write!(
                f,
                "digest {digest} cannot be verified: unknown digest algorithm {algorithm} \
                 (strata verifies {verifies})"
            ),
            BadDigest::Listed(m) => write!(f, "listed in the index with a {m}"),
            BadDigest::Named(m) => write!(f, "the manifest names it by a {m}"),
        }
    }
}
