//! The layer cache (`--cache`): what reading a layer produced ([`LayerScan`]: entry metadata,
//! sizes, digests), kept so that images sharing layers need not decompress and walk them again.
//!
//! Where: `$STRATA_CACHE_DIR`, else `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`; one file
//! per layer blob, `layers-v2/sha256-<hex>`, named by the digest the image gives the blob: its
//! manifest's, or where there is none (a legacy `docker save`, whose layers are uncompressed
//! tars named by path) the diff_id, which is then the blob's own digest too. The format is
//! compact, versioned and checksummed (xxh3-64 of everything before it); a file that does not
//! parse is ignored (the caller reads the layer again and warns). Entries of older formats
//! (`layers-v1`) are left alone and unused.
//!
//! # What a hit trusts, and what it checks again
//! A cold read streams the blob through SHA-256 (the manifest's digest must match), and the tar
//! inside it (the config's diff_id must match) while it walks the tar. An entry is written only
//! after such a read passed both checks, and records the digest of the blob it was read from.
//! A hit streams the image's blob through SHA-256 again (no decompression, no tar, no file
//! hashes) and is taken only when that digest is the recorded one; otherwise the layer is read
//! cold. So a hit's scan is the scan of these very bytes (SHA-256 being collision-resistant),
//! and it goes through the checks a cold scan goes through ([`LayerScan::verify`]): the blob's
//! digest and size, just computed, against the manifest; the recorded diff_id, the SHA-256 of
//! this blob's tar when it was read, against this image's config. The same bytes give the
//! same scan and meet the same checks: the same verdict, the same error (a blob replaced by
//! other bytes of the same size misses, and its cold read refuses it), with `--ignore-errors`
//! the same warnings, and the same digests in the output. Under `--no-verify` a hit still
//! hashes the blob (that is how it knows the bytes) and then drops the digests, as a cold read
//! under `--no-verify` has none; such a run stores nothing.
//!
//! What the cache trusts:
//! - that an entry was written by strata from a real read: nobody but the user (and root) can
//!   write the directory (below), and either could as well change what the user runs. The
//!   checksum finds torn or damaged files, not forgeries.
//! - that the reader which wrote it reads as this one does: an entry records a fingerprint of
//!   the layer reader's source and of `Cargo.lock` (the decompressors), and an entry of another
//!   build is unused (and replaced), so a fix to the tar walker is never hidden by what an
//!   older walker cached.
//!
//! # The directory and its files
//! The root is created with mode 0700 where missing (the XDG rule); it may be a symlink (a
//! `~/.cache` on another disk is common): it is the user's choice. `layers-v2` is strata's own.
//! It is created 0700, opened without following a link, and used only if it is a directory
//! owned by the effective user that nobody else may write, as ssh's `StrictModes` checks
//! `~/.ssh` and git refuses a repository another user owns (`sudo strata` on a user's cache
//! too). Anything else: the run warns once and goes on without the cache. Every file is then
//! reached relative to that open directory (`openat`), so swapping the path after the check
//! changes nothing.
//! - Reads open an entry with `O_NOFOLLOW | O_NONBLOCK` (a link is refused, a FIFO neither
//!   blocks nor is read), take it only as a regular file of the user's of at most
//!   [`MAX_ENTRY`] bytes, and read no more than that.
//! - Writes create `.tmp-<64 random bits>` with `O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600,
//!   and rename it into place, so concurrent runs never see half a file: the last rename wins,
//!   and every candidate is whole. A temporary file older than an hour was left by a writer
//!   that was killed; the first write of a run removes those.
//!
//! # Cost
//! The hash is what a hit pays over trusting the name. bench/gen.py's `small` image (200,000
//! files; a 24 MB gzip base layer) and `small-b` (its base, other layers), CPU seconds, medians
//! of five: `small-b` after `small` took 0.37 s (0.35 s when a hit hashed nothing; 0.77 s
//! uncached), `small` again 0.27 s (0.24 s). An uncompressed blob is as long as its tar, and
//! hashing it is most of what a cold read costs: `small`'s 327 MB `docker save` again took
//! 0.59 s (0.25 s when a hit hashed nothing; 0.63 s uncached): there a hit saves the tar walk
//! only. SHA-256 runs at about 1 GB/s here (SHA-NI), as OpenSSL's does.
//!
//! # Files
//! This file opens the directory and reads and writes entries; `format.rs` is an entry's
//! bytes, `files.rs` the temporary files and their sweep, `error.rs` why a cache or an entry is
//! unused, `tests.rs` the tests.

mod error;
mod files;
mod format;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::layer::LayerScan;
pub use error::{CacheError, Malformed, Problem};
use format::{decode, encode};

/// strata's own directory under the root, one per format version.
const SUBDIR: &str = "layers-v2";

/// The largest entry read or written: 1 GiB. An entry takes 54 bytes per tar entry plus its
/// names (a layer of a million files with 60-byte names: 114 MB), so this holds a layer of
/// about ten million files; a larger one is simply not cached. A cold read of such a layer
/// holds as much in memory (48 bytes per entry plus the names), so the bound costs a real
/// entry nothing; it stops a planted or damaged file from taking more.
pub const MAX_ENTRY: u64 = 1 << 30;

/// The cache directory from the environment (`None` when no home can be found).
pub fn default_dir() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("STRATA_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("strata")))
        .or_else(|| env("HOME").map(|h| h.join(".cache").join("strata")))
}

/// The file name of the entry for a blob digest; `None` unless it is `sha256:` and 64
/// lowercase hex digits (the digest comes from the image: it must never name a path of its
/// own choosing).
fn entry_name(digest: &str) -> Option<String> {
    let hex = digest.strip_prefix("sha256:")?;
    let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| format!("sha256-{hex}"))
}

/// A layer cache: the `layers-v2` directory of a root, opened and checked.
#[derive(Debug)]
pub struct Cache {
    /// The directory, open: every file is reached relative to it.
    dir: File,
    /// Its path, for messages.
    path: PathBuf,
    /// The effective user, who must own the directory and every entry.
    uid: u32,
    /// Whether this process looked for stale temporary files yet.
    swept: AtomicBool,
}

impl Cache {
    /// Opens (creating where missing) the cache under `root`.
    ///
    /// # Errors
    /// Why the cache cannot be used: it cannot be created, or its directory is a symlink, not
    /// a directory, another user's, or writable by others.
    pub fn open(root: &Path) -> Result<Cache, CacheError> {
        let at_root = |e: io::Error| CacheError {
            path: root.to_path_buf(),
            why: Problem::Io(e),
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(at_root)?;
        let root_fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| at_root(e.into()))?;
        let path = root.join(SUBDIR);
        let (dir, uid) = match open_own_dir(&root_fd) {
            Ok(opened) => opened,
            Err(why) => return Err(CacheError { path, why }),
        };
        Ok(Cache {
            dir,
            path,
            uid,
            swept: AtomicBool::new(false),
        })
    }

    /// The scan stored for the blob the image names `digest`. `Ok(None)`: not cached (or
    /// cached by another build of the reader). `Err`: an entry exists but is unusable (the
    /// caller reads the layer again). The scan still has to be matched to the blob's bytes
    /// (its `blob_digest`).
    ///
    /// # Errors
    /// Why the entry is unusable: not a regular file of this user's, too large, unreadable or
    /// [`Malformed`].
    pub fn get(&self, digest: &str, index: usize) -> Result<Option<LayerScan>, CacheError> {
        let Some(name) = entry_name(digest) else {
            return Ok(None);
        };
        let bytes = match self.read_entry(&name) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(None),
            Err(why) => {
                return Err(CacheError {
                    path: self.path.join(&name),
                    why,
                });
            }
        };
        let scan = decode(&bytes, digest).map_err(|e| CacheError {
            path: self.path.join(&name),
            why: e.into(),
        })?;
        Ok(scan.map(|mut scan| {
            scan.index = index;
            scan
        }))
    }

    /// The bytes of the entry `name` (`None`: there is none), read only from a regular file of
    /// this user's of at most [`MAX_ENTRY`] bytes; the open neither follows a link nor waits
    /// for a FIFO's writer.
    fn read_entry(&self, name: &str) -> Result<Option<Vec<u8>>, Problem> {
        let file = match rustix::fs::openat(
            &self.dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err(Problem::Symlink),
            Err(e) => return Err(Problem::Io(e.into())),
        };
        let meta = file.metadata().map_err(Problem::Io)?;
        if !meta.is_file() {
            return Err(Problem::NotAFile);
        }
        if meta.uid() != self.uid {
            return Err(Problem::EntryOwner { owner: meta.uid() });
        }
        if meta.len() > MAX_ENTRY {
            return Err(Problem::TooLarge { size: meta.len() });
        }
        // The size was checked, but a file can grow: read one byte past the bound at most.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_ENTRY + 1)
            .read_to_end(&mut bytes)
            .map_err(Problem::Io)?;
        if bytes.len() as u64 > MAX_ENTRY {
            return Err(Problem::Grew);
        }
        Ok(Some(bytes))
    }

    /// Stores a scan under the digest the image gives its blob (a no-op for a digest that
    /// names no entry, or a scan too large to cache). Call only once the scan was checked
    /// against the image's manifest and config.
    pub fn put(&self, digest: &str, scan: &LayerScan) -> io::Result<()> {
        let Some(name) = entry_name(digest) else {
            return Ok(());
        };
        // A hit is proven against the recorded blob digest: it must be one (a hash thread that
        // failed leaves `sha256:unavailable`).
        if scan.blob_digest.as_deref().and_then(entry_name).is_none() {
            return Ok(());
        }
        if !self.swept.swap(true, Ordering::Relaxed) {
            self.sweep(SystemTime::now());
        }
        let bytes = encode(digest, scan);
        if bytes.len() as u64 > MAX_ENTRY {
            return Ok(());
        }
        let (tmp, mut file) = self.create_tmp()?;
        // No fsync: a file torn by a crash fails its checksum and is read again.
        let result = file.write_all(&bytes).and_then(|()| {
            rustix::fs::renameat(&self.dir, &tmp, &self.dir, &name).map_err(io::Error::from)
        });
        if result.is_err() {
            let _ = rustix::fs::unlinkat(&self.dir, &tmp, AtFlags::empty());
        }
        result
    }
}

/// Opens strata's own directory under the open root (creating it 0700 where missing) without
/// following a link, and returns it with the effective user if that user owns it and nobody
/// else may write it.
fn open_own_dir(root: &OwnedFd) -> Result<(File, u32), Problem> {
    match rustix::fs::mkdirat(root, SUBDIR, Mode::from_raw_mode(0o700)) {
        Ok(()) | Err(Errno::EXIST) => {}
        Err(e) => return Err(Problem::Io(e.into())),
    }
    let dir = match rustix::fs::openat(
        root,
        SUBDIR,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => File::from(fd),
        Err(Errno::LOOP | Errno::NOTDIR) => {
            let link =
                rustix::fs::statat(root, SUBDIR, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
                    rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink
                });
            return Err(if link {
                Problem::Symlink
            } else {
                Problem::NotADirectory
            });
        }
        Err(e) => return Err(Problem::Io(e.into())),
    };
    let meta = dir.metadata().map_err(Problem::Io)?;
    let user = rustix::process::geteuid().as_raw();
    if meta.uid() != user {
        return Err(Problem::DirectoryOwner {
            owner: meta.uid(),
            user,
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Problem::WritableByOthers {
            mode: meta.mode() & 0o7777,
        });
    }
    Ok((dir, user))
}

#[cfg(test)]
mod tests;
