//! Reading one layer in a single pass: decompress, hash the blob and the tar stream, walk the tar
//! headers and hash each file's content, keeping only metadata, the package databases
//! ([`capture`]) and where secrets are ([`secrets`]).

pub mod capture;
pub mod decode;
pub mod gzip;
pub mod hash;
pub mod secrets;
pub mod tar;
pub mod xxh3;

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use twox_hash::XxHash3_64;

use crate::error::{Error, Hashed, LayerError, Result, Sized};
pub use decode::{Algorithm, Compression, Hashing};
pub use tar::{Kind, TarEntry};
use tar::{TarError, TarWalker};

/// How to read layers.
#[derive(Debug, Clone, Copy)]
pub struct ScanOptions {
    /// Compute SHA-256 of every blob and tar stream to check them against the manifest and the
    /// config. Off only with `--no-verify`.
    pub verify: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions { verify: true }
    }
}

/// What the manifest and the config promise about one layer, to check a read against
/// ([`LayerScan::verify`]) and to choose what to hash ([`Expected::hashing`]).
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// Position from the bottom, 0-based.
    pub index: usize,
    /// Where the blob is in its store, to name it.
    pub location: &'a str,
    /// The blob's digest from the manifest, when the format records one.
    pub digest: Option<&'a str>,
    /// The uncompressed tar's digest from the config's `rootfs.diff_ids`.
    pub diff_id: Option<&'a str>,
    /// The blob's size according to the manifest.
    pub size: Option<u64>,
}

impl Expected<'_> {
    /// What to hash: the blob with the algorithm of its digest, the tar with that of its
    /// diff_id (SHA-256 where none is promised, or one strata cannot compute, which
    /// [`LayerScan::verify`] then reports).
    pub fn hashing(&self) -> Hashing {
        let algorithm = |digest: Option<&str>| {
            digest
                .and_then(|d| Algorithm::of(d).ok())
                .unwrap_or(Algorithm::Sha256)
        };
        Hashing {
            blob: algorithm(self.digest),
            tar: algorithm(self.diff_id),
        }
    }
}

/// One tar entry, metadata only: 48 bytes, since a layer of a million files buffers a million
/// of these while it waits for its turn to be applied. Names live in the owning
/// [`LayerScan`]'s name buffer, the link target (if any) right after the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry {
    name_at: u32,
    name_len: u32,
    /// Bytes of the link target after the name; `NO_LINK` when the entry has none.
    link_len: u32,
    /// Permission bits in the low 12 bits, the kind's code above them.
    mode_kind: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// Content bytes (regular files only).
    pub size: u64,
    /// xxh3 of the content (regular files only).
    pub hash: u64,
}

const NO_LINK: u32 = u32::MAX;
const KIND_SHIFT: u32 = 16;

const _: () = assert!(std::mem::size_of::<RawEntry>() == 48);

impl RawEntry {
    /// An entry whose name (and link target, when `link_len` is given) sit at `name_at` in the
    /// scan's name buffer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        (name_at, name_len): (u32, u32),
        link_len: Option<u32>,
        kind: Kind,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: i64,
        size: u64,
        hash: u64,
    ) -> RawEntry {
        RawEntry {
            name_at,
            name_len,
            link_len: link_len.unwrap_or(NO_LINK),
            mode_kind: (mode & 0o7777) | (u32::from(kind.code()) << KIND_SHIFT),
            uid,
            gid,
            mtime,
            size,
            hash,
        }
    }

    pub fn kind(&self) -> Kind {
        Kind::from_code((self.mode_kind >> KIND_SHIFT) as u8).unwrap_or(Kind::File)
    }

    /// Permission bits (`0o7777`).
    pub fn mode(&self) -> u32 {
        self.mode_kind & 0o7777
    }

    /// Where the name sits in the name buffer: (start, length).
    pub(crate) fn name_range(&self) -> (u32, u32) {
        (self.name_at, self.name_len)
    }

    /// Where the link target sits in the name buffer, right after the name.
    pub(crate) fn link_range(&self) -> Option<(u32, u32)> {
        (self.link_len != NO_LINK)
            .then(|| (self.name_at.wrapping_add(self.name_len), self.link_len))
    }
}

/// Everything strata keeps of one layer after reading it.
#[derive(Debug, Clone)]
pub struct LayerScan {
    pub index: usize,
    pub compression: Compression,
    /// Bytes of the blob as stored.
    pub compressed_size: u64,
    /// Bytes of the uncompressed tar stream.
    pub tar_size: u64,
    /// `alg:…` of the blob, when verifying: with the algorithm of the manifest's digest.
    pub blob_digest: Option<String>,
    /// `alg:…` of the uncompressed tar stream, when verifying: with the algorithm of the
    /// config's diff_id.
    pub diff_id: Option<String>,
    pub entries: Vec<RawEntry>,
    pub(crate) names: Vec<u8>,
    /// Entries of tar types strata does not model (skipped).
    pub skipped_entries: u64,
    /// Package databases kept whole as they were read ([`capture`]), in tar order.
    pub captured: Vec<capture::Captured>,
    /// Σ bytes of `captured`.
    captured_bytes: u64,
    /// Where the layer's files hold secrets ([`secrets`]): never the secrets themselves.
    pub secrets: secrets::Secrets,
}

impl LayerScan {
    /// An empty layer, for building scans by hand (tests, synthetic inputs).
    pub fn new(index: usize) -> Self {
        LayerScan {
            index,
            compression: Compression::None,
            compressed_size: 0,
            tar_size: 0,
            blob_digest: None,
            diff_id: None,
            entries: Vec::new(),
            names: Vec::new(),
            skipped_entries: 0,
            captured: Vec::new(),
            captured_bytes: 0,
            secrets: secrets::Secrets::default(),
        }
    }

    /// The same scan without its entries (sizes, digests and counts only), for a layer whose
    /// entries were applied from a scan another layer shares.
    pub fn without_entries(&self) -> LayerScan {
        LayerScan {
            index: self.index,
            compression: self.compression,
            compressed_size: self.compressed_size,
            tar_size: self.tar_size,
            blob_digest: self.blob_digest.clone(),
            diff_id: self.diff_id.clone(),
            entries: Vec::new(),
            names: Vec::new(),
            skipped_entries: self.skipped_entries,
            captured: self.captured.clone(),
            captured_bytes: self.captured_bytes,
            secrets: self.secrets.clone(),
        }
    }

    /// Whether `entry` is a package database to keep whole ([`capture`]), with room left for
    /// it under the caps.
    fn room_for(&self, entry: &TarEntry) -> bool {
        if capture::database(&entry.path).is_none() || entry.size > capture::MAX_FILE {
            return false;
        }
        self.captured_bytes + entry.size <= capture::MAX_LAYER
    }

    /// Keeps a package database read whole.
    pub fn capture(&mut self, captured: capture::Captured) {
        self.captured_bytes += captured.bytes.len() as u64;
        self.captured.push(captured);
    }

    /// The entry's name as stored in the tar.
    pub fn name(&self, e: &RawEntry) -> &[u8] {
        slice(&self.names, e.name_range())
    }

    /// The entry's link target (symlinks and hard links).
    pub fn link(&self, e: &RawEntry) -> Option<&[u8]> {
        e.link_range().map(|r| slice(&self.names, r))
    }

    fn store(&mut self, bytes: &[u8]) -> Result<(u32, u32), LayerError> {
        let start = u32::try_from(self.names.len()).map_err(|_| LayerError::NamesOver4GiB)?;
        let len = u32::try_from(bytes.len()).map_err(|_| LayerError::NameOver4GiB)?;
        self.names.extend_from_slice(bytes);
        Ok((start, len))
    }

    /// Appends an entry (used by the reader, and by tests building layers by hand).
    pub fn push(&mut self, entry: &TarEntry, hash: u64) -> Result<(), LayerError> {
        let name = self.store(&entry.path)?;
        let link_len = match &entry.link {
            Some(l) => Some(self.store(l)?.1),
            None => None,
        };
        self.entries.push(RawEntry::new(
            name,
            link_len,
            entry.kind,
            entry.mode,
            u32::try_from(entry.uid).unwrap_or(u32::MAX),
            u32::try_from(entry.gid).unwrap_or(u32::MAX),
            entry.mtime,
            entry.size,
            hash,
        ));
        Ok(())
    }

    /// Checks what was read against what the manifest and the config promise. Returns one
    /// error per mismatch (empty when all is well or nothing was promised), and one per digest
    /// that could not be checked: its algorithm is unknown, or the blob was hashed before the
    /// manifest named it (a streamed archive). Under `--ignore-errors` these become warnings,
    /// so each says the digest was not verified.
    pub fn verify(&self, layer: &Expected<'_>) -> Vec<Error> {
        let what = format!("layer {} ({})", layer.index, layer.location);
        let mut errors = Vec::new();
        for (kind, expected, found) in [
            (Hashed::BlobDigest, layer.digest, &self.blob_digest),
            (Hashed::DiffId, layer.diff_id, &self.diff_id),
        ] {
            // Nothing promised, or nothing hashed (`--no-verify`, a cached layer's blob).
            let (Some(expected), Some(found)) = (expected, found) else {
                continue;
            };
            let unverified = |why: String| Error::Layer {
                layer: layer.index,
                blob: layer.location.to_string(),
                source: LayerError::NotVerified {
                    kind,
                    digest: shown(expected).to_string(),
                    why,
                },
            };
            match Algorithm::of(expected) {
                Err(alg) => errors.push(unverified(format!(
                    "unknown digest algorithm {} (strata verifies {})",
                    shown(alg),
                    Algorithm::NAMES
                ))),
                Ok(alg) if Algorithm::of(found) != Ok(alg) => errors.push(unverified(format!(
                    "the layer was hashed with {} before its {} named {} (a streamed archive)",
                    Algorithm::of(found).map_or("another algorithm", Algorithm::name),
                    if kind == Hashed::DiffId {
                        "config"
                    } else {
                        "manifest"
                    },
                    alg.name()
                ))),
                Ok(_) if !expected.eq_ignore_ascii_case(found) => errors.push(Error::Digest {
                    what: what.clone(),
                    kind,
                    expected: expected.to_string(),
                    found: found.clone(),
                }),
                Ok(_) => {}
            }
        }
        if let Some(size) = layer.size
            && size != self.compressed_size
        {
            errors.push(Error::SizeMismatch {
                what,
                of: Sized::Blob,
                expected: size,
                found: self.compressed_size,
            });
        }
        errors
    }
}

/// A digest or algorithm from an image, for a message: control characters escaped and cut
/// at 100 characters (a manifest may say anything there).
pub(crate) fn shown(text: &str) -> String {
    let mut s: String = text
        .chars()
        .take(100)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(100).is_some() {
        s.push('…');
    }
    s
}

fn slice(buf: &[u8], (start, len): (u32, u32)) -> &[u8] {
    let start = start as usize;
    &buf[start..start + len as usize]
}

/// Entries per batch when a layer is handed over while it is read ([`Batches`]). Small enough
/// that a batch (its entries and names, ~100 bytes each) is still in the reader's L2 cache when
/// it is applied, which on two cores happens on the reader itself: with 16k entries a batch
/// was evicted before its apply read its names back, and a million-path base layer's reader
/// spent 850 ms where it now spends 630-710 (bench/ab.sh, 11 runs: million 1.04 -> 0.82-0.88 s
/// with 1,024 or 2,048 against an earlier build, 1.10 -> 1.03 s against a build of the same
/// tree with 16k; 512 was slower again; small and small-zstd unchanged in 21 runs).
pub const BATCH: usize = 2 * 1024;

/// Where a layer's entries go while it is read: every `size` entries, a [`LayerScan`] holding
/// just them (names included) is passed to `sink`, and the scan returned at the end holds the
/// rest. The base layer is applied this way, as it is read, and never held whole.
pub struct Batches<'a> {
    pub size: usize,
    pub sink: &'a mut dyn FnMut(LayerScan),
}

/// The single pass over one blob, on any reader, hashing with SHA-256 (when verifying): a
/// blob read before its manifest, which may name another algorithm for its digest (a streamed
/// archive; [`LayerScan::verify`] says so then).
pub fn read_layer(
    raw: impl Read,
    index: usize,
    options: ScanOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<LayerScan, LayerError> {
    let hashing = options.verify.then_some(Hashing::SHA256);
    read_layer_batched(raw, index, hashing, progress, None)
}

/// [`read_layer`] with the digests' algorithms given (`None`: no hashing), handing entries over
/// in [`Batches`] as they are read.
pub fn read_layer_batched(
    raw: impl Read,
    index: usize,
    hashing: Option<Hashing>,
    progress: Option<Arc<AtomicU64>>,
    mut batches: Option<Batches<'_>>,
) -> Result<LayerScan, LayerError> {
    let _busy = decode::Busy::start();
    let (compression, mut tar_stream) =
        decode::open_layer_hashed(raw, hashing, progress).map_err(LayerError::Open)?;
    // A blob compressed in a way runtimes do not read is not a tar: say so if it fails as one.
    let foreign = match compression {
        Compression::None => std::io::BufRead::fill_buf(&mut tar_stream)
            .ok()
            .and_then(Compression::foreign),
        _ => None,
    };
    let mut walker = TarWalker::new(tar_stream);
    let mut scan = LayerScan::new(index);
    scan.compression = compression;
    let mut seen = 0u64;
    let describe = |e: TarError, seen: u64| match (e, foreign) {
        (_, Some(name)) if seen == 0 => LayerError::Foreign { name },
        (TarError::Io(source), _) if source.kind() == std::io::ErrorKind::Unsupported => {
            LayerError::Unsupported {
                codec: compression.codec(),
                after_end: false,
                source,
            }
        }
        (TarError::Io(source), _) => LayerError::Corrupt {
            codec: compression.codec(),
            after_end: false,
            source,
        },
        (other, _) => LayerError::Tar(other),
    };
    let mut entry = TarEntry::default();
    let mut secrets = secrets::FileScanner::new();
    while walker
        .next_into(&mut entry)
        .map_err(|e| describe(e, seen))?
    {
        let mut hash = 0;
        if entry.kind == Kind::File {
            let mut hasher = ContentHash::new(entry.size);
            let mut kept = scan
                .room_for(&entry)
                .then(|| Vec::with_capacity(entry.size as usize));
            let searched = secrets.start(&entry.path, entry.size);
            walker
                .read_content(|chunk| {
                    hasher.update(chunk);
                    if let Some(kept) = kept.as_mut() {
                        kept.extend_from_slice(chunk);
                    }
                    if searched {
                        secrets.feed(chunk);
                    }
                })
                .map_err(|e| describe(e, seen))?;
            hash = hasher.digest();
            if searched {
                secrets.finish(&entry.path, hash, &mut scan.secrets);
            }
            if let Some(bytes) = kept {
                scan.capture(capture::Captured {
                    path: capture::relative(&entry.path).to_vec(),
                    hash,
                    bytes,
                });
            }
        }
        scan.push(&entry, hash)?;
        seen += 1;
        if let Some(b) = batches.as_mut()
            && scan.entries.len() >= b.size.max(1)
        {
            let mut batch = LayerScan::new(index);
            batch.entries = std::mem::replace(&mut scan.entries, Vec::with_capacity(b.size));
            batch.names = std::mem::take(&mut scan.names);
            (b.sink)(batch);
        }
    }
    secrets.end(&mut scan.secrets);
    // An empty stream is an empty layer, as containerd and moby read it (a zero-byte
    // `layer.tar` is a known case, docker/docker#18170): nothing to refuse.
    scan.skipped_entries = walker.skipped_unknown;
    let digests = walker.into_inner().finish(compression)?;
    scan.tar_size = digests.tar_size;
    scan.compressed_size = digests.compressed_size;
    scan.blob_digest = digests.blob_digest;
    scan.diff_id = digests.diff_id;
    Ok(scan)
}

/// The xxh3 of a file's content as it streams by. Nearly every file arrives in one piece
/// (it lies whole in the reader's buffer): that piece is hashed in one call, without the
/// streaming state, whose setup (a zeroed 256-byte buffer per file) was 1% of a
/// million-file read. Public for the floor bench, which hashes contents as strata does.
pub enum ContentHash {
    /// Nothing seen yet; the content has this many bytes.
    Start(u64),
    Whole(u64),
    Streaming(Box<xxh3::Xxh3>),
}

impl ContentHash {
    /// The hash of a content of `size` bytes, to come.
    pub fn new(size: u64) -> ContentHash {
        ContentHash::Start(size)
    }

    /// The content's next bytes.
    pub fn update(&mut self, chunk: &[u8]) {
        match self {
            ContentHash::Start(size) if chunk.len() as u64 == *size => {
                *self = ContentHash::Whole(XxHash3_64::oneshot(chunk));
            }
            ContentHash::Start(_) => {
                let mut h = Box::new(xxh3::Xxh3::new());
                h.update(chunk);
                *self = ContentHash::Streaming(h);
            }
            ContentHash::Streaming(h) => h.update(chunk),
            // The walker hands over exactly `size` bytes: nothing follows a whole piece.
            ContentHash::Whole(_) => debug_assert!(chunk.is_empty(), "content past its size"),
        }
    }

    /// The xxh3-64 of the bytes given.
    pub fn digest(&self) -> u64 {
        match self {
            ContentHash::Start(_) => XxHash3_64::oneshot(&[]),
            ContentHash::Whole(h) => *h,
            ContentHash::Streaming(h) => h.digest(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_xxh3_however_the_content_arrives() {
        let data: Vec<u8> = (0..(1u32 << 20) + 17)
            .map(|i| (i.wrapping_mul(31) % 251) as u8)
            .collect();
        // Every length class of XXH3 (≤16, ≤128, ≤240, long) and the SIMD stripes of a long one.
        for size in [
            0usize,
            1,
            16,
            17,
            128,
            129,
            240,
            241,
            256,
            1024,
            1025,
            5000,
            data.len(),
        ] {
            let content = &data[..size];
            // xxhash-rust, an implementation of its own, is the reference.
            let want = xxhash_rust::xxh3::xxh3_64(content);
            for piece in [7usize, 64, 256, 4999, 65536, size.max(1)] {
                let mut h = ContentHash::new(size as u64);
                for chunk in content.chunks(piece) {
                    h.update(chunk);
                }
                assert_eq!(h.digest(), want, "{size} bytes in pieces of {piece}");
            }
        }
    }
}
