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

use std::fs::File;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use twox_hash::XxHash3_64;

use crate::layer::{Compression, Kind, LayerScan, RawEntry};

const MAGIC: &[u8; 8] = b"STRATAL\0";
const VERSION: u32 = 2;
const SUBDIR: &str = "layers-v2";
const TMP_PREFIX: &str = ".tmp-";

/// The largest entry read or written: 1 GiB. An entry takes 54 bytes per tar entry plus its
/// names (a layer of a million files with 60-byte names: 114 MB), so this holds a layer of
/// about ten million files; a larger one is simply not cached. A cold read of such a layer
/// holds as much in memory (48 bytes per entry plus the names), so the bound costs a real
/// entry nothing; it stops a planted or damaged file from taking more.
pub const MAX_ENTRY: u64 = 1 << 30;

/// How old a temporary file must be to be taken for one a killed writer left: a write takes
/// well under a second (an entry is at most [`MAX_ENTRY`]), so an hour is never a live one.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// What decides a scan besides the blob's bytes: the reader's source and the crates it uses.
/// A file added to `src/layer/` must be added here (a test checks).
const READER_SOURCES: [(&str, &[u8]); 5] = [
    ("layer/mod.rs", include_bytes!("layer/mod.rs")),
    ("layer/tar.rs", include_bytes!("layer/tar.rs")),
    ("layer/decode.rs", include_bytes!("layer/decode.rs")),
    ("layer/gzip.rs", include_bytes!("layer/gzip.rs")),
    ("../../../Cargo.lock", include_bytes!("../../../Cargo.lock")),
];

/// FNV-1a 64 of the reader's sources and the crate's version, computed by the compiler (the
/// sources are not kept in the binary).
const READER: u64 = {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut p = 0;
    while p <= READER_SOURCES.len() {
        let bytes = if p < READER_SOURCES.len() {
            READER_SOURCES[p].1
        } else {
            env!("CARGO_PKG_VERSION").as_bytes()
        };
        let mut i = 0;
        while i < bytes.len() {
            h = (h ^ bytes[i] as u64).wrapping_mul(0x100_0000_01b3);
            i += 1;
        }
        // The length ends each part, so that no two lists of parts hash alike by concatenation.
        h = (h ^ bytes.len() as u64).wrapping_mul(0x100_0000_01b3);
        p += 1;
    }
    h
};

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
    /// One line saying why the cache cannot be used: it cannot be created, or its directory is
    /// a symlink, not a directory, another user's, or writable by others.
    pub fn open(root: &Path) -> Result<Cache, String> {
        let path = root.join(SUBDIR);
        let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root)
            .map_err(|e| format!("{}: {e}", root.display()))?;
        let root_fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("{}: {}", root.display(), io::Error::from(e)))?;
        match rustix::fs::mkdirat(&root_fd, SUBDIR, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(fail(&io::Error::from(e))),
        }
        let dir = match rustix::fs::openat(
            &root_fd,
            SUBDIR,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => File::from(fd),
            Err(Errno::LOOP | Errno::NOTDIR) => {
                let link = rustix::fs::statat(&root_fd, SUBDIR, AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| {
                        rustix::fs::FileType::from_raw_mode(st.st_mode)
                            == rustix::fs::FileType::Symlink
                    });
                return Err(fail(if link {
                    &"is a symbolic link"
                } else {
                    &"is not a directory"
                }));
            }
            Err(e) => return Err(fail(&io::Error::from(e))),
        };
        let meta = dir.metadata().map_err(|e| fail(&e))?;
        let uid = rustix::process::geteuid().as_raw();
        if meta.uid() != uid {
            return Err(fail(&format_args!(
                "is owned by uid {}, not by this user (uid {uid})",
                meta.uid()
            )));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(fail(&format_args!(
                "is writable by others (mode {:o}); `chmod go-w` it",
                meta.mode() & 0o7777
            )));
        }
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
    pub fn get(&self, digest: &str, index: usize) -> Result<Option<LayerScan>, String> {
        let Some(name) = entry_name(digest) else {
            return Ok(None);
        };
        let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", self.path.join(&name).display());
        let file = match rustix::fs::openat(
            &self.dir,
            &name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => File::from(fd),
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP) => return Err(fail(&"is a symbolic link")),
            Err(e) => return Err(fail(&io::Error::from(e))),
        };
        let meta = file.metadata().map_err(|e| fail(&e))?;
        if !meta.is_file() {
            return Err(fail(&"is not a regular file"));
        }
        if meta.uid() != self.uid {
            return Err(fail(&format_args!("is owned by uid {}", meta.uid())));
        }
        if meta.len() > MAX_ENTRY {
            return Err(fail(&format_args!(
                "{} bytes, over the {} MiB an entry may hold",
                meta.len(),
                MAX_ENTRY >> 20
            )));
        }
        // The size was checked, but a file can grow: read one byte past the bound at most.
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.take(MAX_ENTRY + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(&e))?;
        if bytes.len() as u64 > MAX_ENTRY {
            return Err(fail(&"grew over the size an entry may hold"));
        }
        let Some(mut scan) = decode(&bytes, digest).map_err(|e| fail(&e))? else {
            return Ok(None);
        };
        scan.index = index;
        Ok(Some(scan))
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

    /// A new temporary file of this process alone: a name nobody can guess, created only if
    /// nothing (not even a dangling link) is there.
    fn create_tmp(&self) -> io::Result<(String, File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            // SipHash under std's per-process random keys: 64 bits nobody else can predict.
            let n = std::hash::RandomState::new().hash_one((
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                SystemTime::now(),
            ));
            let name = format!("{TMP_PREFIX}{n:016x}");
            match self.create_exclusive(&name) {
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                r => return r.map(|f| (name, f)),
            }
        }
    }

    /// Creates `name` (mode 0600) unless anything is there; never follows a link.
    fn create_exclusive(&self, name: &str) -> io::Result<File> {
        let fd = rustix::fs::openat(
            &self.dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )?;
        Ok(File::from(fd))
    }

    /// Removes the temporary files last changed over [`STALE_TMP`] before `now` (best effort).
    fn sweep(&self, now: SystemTime) {
        let Ok(dir) = rustix::fs::Dir::read_from(&self.dir) else {
            return;
        };
        let Some(limit) = now
            .checked_sub(STALE_TMP)
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        else {
            return;
        };
        for entry in dir.flatten() {
            let name = entry.file_name();
            if !name.to_bytes().starts_with(TMP_PREFIX.as_bytes()) {
                continue;
            }
            let stale = rustix::fs::statat(&self.dir, name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| i128::from(st.st_mtime) < i128::from(limit.as_secs()));
            if stale {
                let _ = rustix::fs::unlinkat(&self.dir, name, AtFlags::empty());
            }
        }
    }
}

/// The entry for the blob the image names `digest`.
fn encode(digest: &str, scan: &LayerScan) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + scan.entries.len() * ENTRY + scan.names.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&READER.to_le_bytes());
    out.extend_from_slice(&(digest.len() as u32).to_le_bytes());
    out.extend_from_slice(digest.as_bytes());
    out.push(match scan.compression {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Zstd => 2,
    });
    for n in [scan.compressed_size, scan.tar_size, scan.skipped_entries] {
        out.extend_from_slice(&n.to_le_bytes());
    }
    for s in [&scan.blob_digest, &scan.diff_id] {
        let s = s.as_deref().unwrap_or("");
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&(scan.names.len() as u64).to_le_bytes());
    out.extend_from_slice(&scan.names);
    out.extend_from_slice(&(scan.entries.len() as u64).to_le_bytes());
    for e in &scan.entries {
        let (ns, nl) = e.name_range();
        out.extend_from_slice(&ns.to_le_bytes());
        out.extend_from_slice(&nl.to_le_bytes());
        let (has, (ls, ll)) = e.link_range().map_or((0u8, (0, 0)), |l| (1, l));
        out.push(has);
        out.extend_from_slice(&ls.to_le_bytes());
        out.extend_from_slice(&ll.to_le_bytes());
        out.push(e.kind().code());
        for n in [e.mode(), e.uid, e.gid] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(&e.mtime.to_le_bytes());
        out.extend_from_slice(&e.size.to_le_bytes());
        out.extend_from_slice(&e.hash.to_le_bytes());
    }
    let sum = XxHash3_64::oneshot(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A bounds-checked reader over the file's bytes.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err("truncated".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn len(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.0.len())
            .ok_or_else(|| "a length past the end".to_string())
    }
    fn string(&mut self) -> Result<Option<String>, String> {
        let n = self.u32()? as usize;
        let s = std::str::from_utf8(self.take(n)?).map_err(|e| e.to_string())?;
        Ok((!s.is_empty()).then(|| s.to_string()))
    }
}

/// Bytes of one tar entry in a file.
const ENTRY: usize = 54;

/// The scan in an entry that must be the one of the blob the image names `digest`. `None`:
/// the entry was written by another build of the reader.
fn decode(bytes: &[u8], digest: &str) -> Result<Option<LayerScan>, String> {
    let Some((body, sum)) = bytes.split_last_chunk::<8>() else {
        return Err("truncated".into());
    };
    if !body.starts_with(MAGIC) {
        return Err("not a strata cache file".into());
    }
    if XxHash3_64::oneshot(body) != u64::from_le_bytes(*sum) {
        return Err("checksum mismatch".into());
    }
    let mut c = Cursor(&body[MAGIC.len()..]);
    let version = c.u32()?;
    if version != VERSION {
        return Err(format!("format version {version}, not {VERSION}"));
    }
    if c.u64()? != READER {
        return Ok(None);
    }
    if c.string()?.as_deref() != Some(digest) {
        return Err("holds another layer".into());
    }
    let mut scan = LayerScan::new(0);
    scan.compression = match c.u8()? {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        x => return Err(format!("unknown compression {x}")),
    };
    scan.compressed_size = c.u64()?;
    scan.tar_size = c.u64()?;
    scan.skipped_entries = c.u64()?;
    scan.blob_digest = c.string()?;
    scan.diff_id = c.string()?;
    let n = c.len()?;
    scan.names = c.take(n)?.to_vec();
    let count = c.u64()?;
    // A count the rest cannot hold is corrupt, not an allocation.
    if count > (c.0.len() / ENTRY) as u64 {
        return Err("an entry count past the end".into());
    }
    scan.entries.reserve_exact(count as usize);
    let names_len = scan.names.len() as u64;
    let in_names = |(s, l): (u32, u32)| -> Result<(u32, u32), String> {
        if u64::from(s) + u64::from(l) > names_len {
            return Err("a name past the name buffer".into());
        }
        Ok((s, l))
    };
    for _ in 0..count {
        let name = in_names((c.u32()?, c.u32()?))?;
        let has_link = c.u8()?;
        let link = (c.u32()?, c.u32()?);
        let link_len = match has_link {
            0 => None,
            // A scan stores a link target right after its name.
            1 if u64::from(link.0) == u64::from(name.0) + u64::from(name.1) => {
                Some(in_names(link)?.1)
            }
            1 => return Err("a link target away from its name".into()),
            x => return Err(format!("bad link flag {x}")),
        };
        let code = c.u8()?;
        let kind = Kind::from_code(code).ok_or_else(|| format!("unknown entry kind {code}"))?;
        scan.entries.push(RawEntry::new(
            name,
            link_len,
            kind,
            c.u32()?,
            c.u32()?,
            c.u32()?,
            c.u64()? as i64,
            c.u64()?,
            c.u64()?,
        ));
    }
    if !c.0.is_empty() {
        return Err("trailing bytes".into());
    }
    Ok(Some(scan))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::layer::TarEntry;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    const DIGEST: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn sample() -> LayerScan {
        let mut scan = LayerScan::new(3);
        scan.compression = Compression::Gzip;
        scan.compressed_size = 1234;
        scan.tar_size = 10240;
        scan.skipped_entries = 2;
        scan.blob_digest = Some(DIGEST.into());
        scan.diff_id = Some("sha256:beef".into());
        let entries = [
            ("usr/bin/env", None, Kind::File, 42),
            ("lib", Some("usr/lib"), Kind::Symlink, 0),
            ("usr/share/\u{e9}t\u{e9}/", None, Kind::Dir, 0),
            ("usr/bin/hard", Some("usr/bin/env"), Kind::Hardlink, 0),
            ("dev/null", None, Kind::CharDevice, 0),
        ];
        for (i, (path, link, kind, size)) in entries.into_iter().enumerate() {
            let e = TarEntry {
                path: path.as_bytes().to_vec(),
                link: link.map(|l: &str| l.as_bytes().to_vec()),
                kind,
                mode: 0o755,
                uid: 1000 + i as u64,
                gid: 7,
                mtime: -5 + i as i64,
                size,
            };
            scan.push(&e, 0xdead_beef + i as u64).unwrap();
        }
        scan
    }

    fn same(a: &LayerScan, b: &LayerScan) {
        assert_eq!(a.compression, b.compression);
        assert_eq!(
            (a.compressed_size, a.tar_size, a.skipped_entries),
            (b.compressed_size, b.tar_size, b.skipped_entries)
        );
        assert_eq!((&a.blob_digest, &a.diff_id), (&b.blob_digest, &b.diff_id));
        assert_eq!(a.entries, b.entries);
        for (x, y) in a.entries.iter().zip(&b.entries) {
            assert_eq!(a.name(x), b.name(y));
            assert_eq!(a.link(x), b.link(y));
        }
    }

    /// A cache in a fresh directory, with its entry for `DIGEST` written.
    fn filled() -> (tempfile::TempDir, Cache, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        cache.put(DIGEST, &sample()).unwrap();
        let path = cache.path.join(entry_name(DIGEST).unwrap());
        (dir, cache, path)
    }

    /// The names in the cache's directory, sorted.
    fn names(cache: &Cache) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&cache.path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Bytes this thread read through read(2) and its kin, from the kernel's count.
    fn bytes_read_by_this_thread() -> u64 {
        let io = fs::read_to_string("/proc/thread-self/io").unwrap();
        let line = io.lines().find(|l| l.starts_with("rchar:")).unwrap();
        line["rchar:".len()..].trim().parse().unwrap()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        assert!(cache.get(DIGEST, 0).unwrap().is_none());
        let scan = sample();
        cache.put(DIGEST, &scan).unwrap();
        let back = cache.get(DIGEST, 9).unwrap().unwrap();
        assert_eq!(back.index, 9);
        same(&scan, &back);
    }

    #[test]
    fn corrupt_entries_are_errors_never_panics() {
        let (_dir, cache, path) = filled();
        let good = fs::read(&path).unwrap();
        // Every single-byte flip and every truncation is caught (checksum or structure).
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            fs::write(&path, &bad).unwrap();
            assert!(cache.get(DIGEST, 0).is_err(), "flip at {i}");
        }
        for n in 0..good.len() {
            fs::write(&path, &good[..n]).unwrap();
            assert!(cache.get(DIGEST, 0).is_err(), "truncated to {n}");
        }
        // Structure is checked even when the checksum is right: a lying entry count.
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&VERSION.to_le_bytes());
        body.extend_from_slice(&READER.to_le_bytes());
        body.extend_from_slice(&(DIGEST.len() as u32).to_le_bytes());
        body.extend_from_slice(DIGEST.as_bytes());
        body.push(1);
        body.extend_from_slice(&[0u8; 24 + 4 + 4 + 8]);
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        let sum = XxHash3_64::oneshot(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        let err = decode(&body, DIGEST).err().unwrap();
        assert!(err.contains("entry count"), "{err}");
        assert!(decode(&[0u8; 3], DIGEST).is_err());
        // A rewrite repairs it.
        cache.put(DIGEST, &sample()).unwrap();
        same(&sample(), &cache.get(DIGEST, 0).unwrap().unwrap());
    }

    #[test]
    fn an_entry_under_the_wrong_name_is_refused() {
        let (_dir, cache, path) = filled();
        let other = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        fs::copy(&path, cache.path.join(entry_name(other).unwrap())).unwrap();
        let err = cache.get(other, 0).unwrap_err();
        assert!(err.contains("holds another layer"), "{err}");
    }

    /// An entry written by another build of the layer reader is not used (and not an error):
    /// what an older tar walker made of a blob is not what this one makes of it.
    #[test]
    fn an_entry_of_another_reader_is_unused() {
        let (_dir, cache, path) = filled();
        let mut bytes = fs::read(&path).unwrap();
        let at = MAGIC.len() + 4;
        assert_eq!(bytes[at..at + 8], READER.to_le_bytes());
        bytes[at..at + 8].copy_from_slice(&(READER ^ 1).to_le_bytes());
        let n = bytes.len() - 8;
        let sum = XxHash3_64::oneshot(&bytes[..n]);
        bytes[n..].copy_from_slice(&sum.to_le_bytes());
        fs::write(&path, &bytes).unwrap();
        assert!(cache.get(DIGEST, 0).unwrap().is_none());
    }

    /// Every source file of the layer reader is in its fingerprint, byte for byte.
    #[test]
    fn the_reader_fingerprint_covers_every_reader_source() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found: Vec<String> = fs::read_dir(src.join("layer"))
            .unwrap()
            .map(|e| format!("layer/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        found.push("../../../Cargo.lock".into());
        found.sort();
        let mut listed: Vec<String> = READER_SOURCES.iter().map(|(n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(listed, found);
        for (name, bytes) in READER_SOURCES {
            assert_eq!(fs::read(src.join(name)).unwrap(), bytes, "{name}");
        }
    }

    #[test]
    fn hostile_digests_name_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        for d in ["sha256:../../etc/passwd", "sha512:00", "", "sha256:ABCDEF"] {
            assert!(entry_name(d).is_none(), "{d}");
            assert!(cache.get(d, 0).unwrap().is_none());
            cache.put(d, &sample()).unwrap();
        }
        assert!(names(&cache).is_empty());
        // Nor does a scan without a real blob digest to prove a hit against.
        for found in [None, Some("sha256:unavailable")] {
            let mut scan = sample();
            scan.blob_digest = found.map(str::to_string);
            cache.put(DIGEST, &scan).unwrap();
            assert!(names(&cache).is_empty(), "{found:?}");
        }
    }

    #[test]
    fn concurrent_writers_and_readers_see_whole_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let scan = sample();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        cache.put(DIGEST, &scan).unwrap();
                    }
                });
            }
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..200 {
                        if let Some(got) = cache.get(DIGEST, 0).unwrap() {
                            same(&scan, &got);
                        }
                    }
                });
            }
        });
        same(&scan, &cache.get(DIGEST, 0).unwrap().unwrap());
        // No temporary files left behind.
        assert_eq!(names(&cache), [entry_name(DIGEST).unwrap()]);
    }

    /// Directories are created 0700, entries 0600: what was read is nobody else's business.
    #[test]
    fn the_cache_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b/strata");
        let cache = Cache::open(&root).unwrap();
        cache.put(DIGEST, &sample()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&cache.path), 0o700);
        assert_eq!(
            mode(&cache.path.join(entry_name(DIGEST).unwrap())) & 0o077,
            0
        );
    }

    /// The cache's own directory is used only if it is a real directory of this user that
    /// nobody else may write; otherwise nothing is read or written there.
    #[test]
    fn a_cache_directory_that_is_not_ours_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        let root = dir.path().join("root");
        fs::create_dir(&root).unwrap();
        let sub = root.join(SUBDIR);

        std::os::unix::fs::symlink(&elsewhere, &sub).unwrap();
        let err = Cache::open(&root).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
        fs::remove_file(&sub).unwrap();

        fs::write(&sub, b"").unwrap();
        let err = Cache::open(&root).unwrap_err();
        assert!(err.contains("not a directory"), "{err}");
        fs::remove_file(&sub).unwrap();

        fs::create_dir(&sub).unwrap();
        for mode in [0o777, 0o720, 0o702] {
            fs::set_permissions(&sub, fs::Permissions::from_mode(mode)).unwrap();
            let err = Cache::open(&root).unwrap_err();
            assert!(err.contains("writable by others"), "{mode:o}: {err}");
        }
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
        Cache::open(&root).unwrap();

        // Another user's directory (only root can make one): as git refuses a repository
        // another user owns, `sudo strata` does not read a user's cache.
        if rustix::process::geteuid().is_root() {
            rustix::fs::chown(&sub, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
            let err = Cache::open(&root).unwrap_err();
            assert!(err.contains("owned by uid 4242"), "{err}");
        }
    }

    /// A FIFO planted as an entry neither blocks nor is read: the open does not wait for a
    /// writer, and the entry is refused as not a regular file.
    #[test]
    fn a_fifo_entry_does_not_block() {
        let (_dir, cache, path) = filled();
        fs::remove_file(&path).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let cache = std::sync::Arc::new(cache);
        let reader = std::sync::Arc::clone(&cache);
        std::thread::spawn(move || {
            let _ = tx.send(reader.get(DIGEST, 0));
        });
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reading a FIFO entry blocked");
        let err = got.unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        // A write replaces it.
        cache.put(DIGEST, &sample()).unwrap();
        same(&sample(), &cache.get(DIGEST, 0).unwrap().unwrap());
    }

    /// An entry path that is a symlink is not followed, neither to read (a whole entry lies at
    /// the target) nor to write (the target keeps its bytes).
    #[test]
    fn a_symlink_entry_is_not_followed() {
        let (dir, cache, path) = filled();
        let target = dir.path().join("target");
        fs::rename(&path, &target).unwrap();
        let before = fs::read(&target).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = cache.get(DIGEST, 0).unwrap_err();
        assert!(err.contains("symbolic link"), "{err}");
        let mut other = sample();
        other.tar_size += 1;
        cache.put(DIGEST, &other).unwrap();
        assert_eq!(fs::read(&target).unwrap(), before);
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
        same(&other, &cache.get(DIGEST, 0).unwrap().unwrap());
    }

    /// A symlink planted where a temporary file is created is not written through: names are
    /// not guessable (links at the names the old scheme used, `.tmp-PID-N`, catch nothing),
    /// and a file is created only where nothing is.
    #[test]
    fn a_symlink_at_a_temporary_path_is_not_followed() {
        let (dir, cache, _) = filled();
        let target = dir.path().join("target");
        fs::write(&target, b"precious").unwrap();
        for n in 0..1000 {
            let link = cache.path.join(format!(".tmp-{}-{n}", std::process::id()));
            std::os::unix::fs::symlink(&target, link).unwrap();
        }
        for _ in 0..10 {
            cache.put(DIGEST, &sample()).unwrap();
        }
        assert_eq!(fs::read(&target).unwrap(), b"precious");
        let name = ".tmp-planted";
        std::os::unix::fs::symlink(&target, cache.path.join(name)).unwrap();
        let err = cache.create_exclusive(name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        // Even a dangling one.
        fs::remove_file(&target).unwrap();
        let err = cache.create_exclusive(name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(!target.exists());
    }

    /// An entry over the size cap is refused from its size: its bytes are never read.
    #[test]
    fn an_oversized_entry_is_not_read() {
        let (_dir, cache, path) = filled();
        let good = fs::read(&path).unwrap();
        // A whole entry at the start, then a hole up to one byte past the cap.
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.set_len(MAX_ENTRY + 1).unwrap();
        drop(file);
        assert_eq!(fs::read(&path).unwrap()[..good.len()], good[..]);
        let before = bytes_read_by_this_thread();
        let err = cache.get(DIGEST, 0).unwrap_err();
        let read = bytes_read_by_this_thread() - before;
        assert!(err.contains("over the 1024 MiB"), "{err}");
        assert!(read < 1 << 20, "{read} bytes read");
        // The count sees reads: one byte longer than a whole entry, a file is read (and
        // fails its checksum).
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(good.len() as u64 + 1)
            .unwrap();
        let before = bytes_read_by_this_thread();
        let err = cache.get(DIGEST, 0).unwrap_err();
        assert!(bytes_read_by_this_thread() - before > good.len() as u64);
        assert!(err.contains("checksum"), "{err}");
    }

    /// Only root can give a file to another user: an entry not owned by this user is refused.
    #[test]
    fn an_entry_of_another_user_is_refused() {
        if !rustix::process::geteuid().is_root() {
            return;
        }
        let (_dir, cache, path) = filled();
        rustix::fs::chown(&path, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
        let err = cache.get(DIGEST, 0).unwrap_err();
        assert!(err.contains("owned by uid 4242"), "{err}");
    }

    /// Temporary files older than an hour are a killed writer's: the first write of a run
    /// removes them, and nothing else (fresh temporary files, entries).
    #[test]
    fn stale_temporary_files_are_removed() {
        let (_dir, cache, path) = filled();
        let cache = Cache::open(cache.path.parent().unwrap()).unwrap();
        let age = |name: &str, secs: u64| {
            let p = cache.path.join(name);
            let f = fs::File::create(&p).unwrap();
            f.set_modified(SystemTime::now() - Duration::from_secs(secs))
                .unwrap();
        };
        age(".tmp-0123456789abcdef", 2 * 3600);
        age(".tmp-12345-0", 3 * 3600);
        age(".tmp-fresh", 60);
        age("sha256-old-entry-like", 5 * 3600);
        fs::File::open(&path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(9 * 3600))
            .unwrap();
        let mut expected = vec![
            ".tmp-fresh".to_string(),
            entry_name(DIGEST).unwrap(),
            "sha256-old-entry-like".into(),
        ];
        expected.sort();
        let other = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        cache.put(other, &sample()).unwrap();
        expected.push(entry_name(other).unwrap());
        expected.sort();
        assert_eq!(names(&cache), expected);
    }
}
