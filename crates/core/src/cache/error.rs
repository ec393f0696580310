//! Why the cache, or one of its entries, cannot be used.
//!
//! Nothing here stops a run: the engine turns a [`CacheError`] from [`super::Cache::open`] into
//! the warning "layer cache not used: …" and one from [`super::Cache::get`] into "layer cache
//! entry ignored (…)", then reads the layer cold. Each renders as the path it is about and the
//! problem (`…/layers-v2: is writable by others (mode 777); `chmod go-w` it`).

use std::fmt;
use std::io;
use std::path::PathBuf;

use super::MAX_ENTRY;

/// The cache directory or an entry of it that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{}: {why}", path.display())]
pub struct CacheError {
    /// The root, the cache's own directory or an entry, whichever is at fault.
    pub path: PathBuf,
    pub why: Problem,
}

/// What is wrong with a [`CacheError`]'s path.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// The system refused (to create, open, stat or read it).
    #[error("{0}")]
    Io(#[source] io::Error),
    /// A symbolic link where strata's own directory or an entry must be: it is not followed.
    #[error("is a symbolic link")]
    Symlink,
    /// Something else than a directory where the cache's directory must be.
    #[error("is not a directory")]
    NotADirectory,
    /// Something else than a regular file (a FIFO, a directory) where an entry must be.
    #[error("is not a regular file")]
    NotAFile,
    /// The cache's directory belongs to another user (`sudo strata` on a user's cache).
    #[error("is owned by uid {owner}, not by this user (uid {user})")]
    DirectoryOwner { owner: u32, user: u32 },
    /// An entry belongs to another user.
    #[error("is owned by uid {owner}")]
    EntryOwner { owner: u32 },
    /// Users other than its owner may write the cache's directory (`mode` is its permissions).
    #[error("is writable by others (mode {mode:o}); `chmod go-w` it")]
    WritableByOthers { mode: u32 },
    /// An entry larger than [`MAX_ENTRY`] (by its size: its bytes are not read).
    #[error("{size} bytes, over the {} MiB an entry may hold", MAX_ENTRY >> 20)]
    TooLarge { size: u64 },
    /// An entry that grew past [`MAX_ENTRY`] while it was read.
    #[error("grew over the size an entry may hold")]
    Grew,
    /// An entry whose bytes are not a whole entry of this format for this layer.
    #[error("{0}")]
    Malformed(#[from] Malformed),
}

/// What is wrong with an entry's bytes (their layout is in `cache/format.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than its fields say.
    Truncated,
    /// No magic at its start.
    NotACacheFile,
    /// The checksum does not match: a torn write or a damaged file.
    Checksum,
    /// Another version of the format.
    Version {
        found: u32,
    },
    /// The entry records another digest than the one it is named by.
    OtherLayer,
    Compression(u8),
    /// A length past the end of the file.
    LengthPastEnd,
    /// A digest that is not UTF-8.
    NotUtf8(std::str::Utf8Error),
    /// More tar entries than the rest of the file holds.
    CountPastEnd,
    /// A tar entry's name outside the names.
    NamePastNames,
    /// A link target that does not follow its entry's name (where a scan puts it).
    LinkAwayFromName,
    LinkFlag(u8),
    Kind(u8),
    /// A secret's rule strata does not know.
    SecretRule(u8),
    /// Bytes after the last tar entry.
    TrailingBytes,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Truncated => f.write_str("truncated"),
            Malformed::NotACacheFile => f.write_str("not a strata cache file"),
            Malformed::Checksum => f.write_str("checksum mismatch"),
            Malformed::Version { found } => {
                write!(f, "format version {found}, not {}", super::format::VERSION)
            }
            Malformed::OtherLayer => f.write_str("holds another layer"),
            Malformed::Compression(x) => write!(f, "unknown compression {x}"),
            Malformed::LengthPastEnd => f.write_str("a length past the end"),
            Malformed::NotUtf8(e) => write!(f, "{e}"),
            Malformed::CountPastEnd => f.write_str("an entry count past the end"),
            Malformed::NamePastNames => f.write_str("a name past the name buffer"),
            Malformed::LinkAwayFromName => f.write_str("a link target away from its name"),
            Malformed::LinkFlag(x) => write!(f, "bad link flag {x}"),
            Malformed::Kind(code) => write!(f, "unknown entry kind {code}"),
            Malformed::SecretRule(code) => write!(f, "unknown secret rule {code}"),
            Malformed::TrailingBytes => f.write_str("trailing bytes"),
        }
    }
}

impl std::error::Error for Malformed {}
