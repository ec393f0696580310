//! Archives that can be read only once, front to back: `docker save` from a pipe or from an
//! engine's `GET /images/{name}/get`, and gzip- or zstd-compressed archives (decompressed on
//! the way). `manifest.json` usually comes last, so every member is
//! judged as it passes: a layer (by name, or by its first bytes: tar, gzip or zstd) is read
//! by [`layer::read_layer`] there and then, small JSON members are kept in memory, and the
//! image is resolved at the end from what was kept, as from a seekable archive.

use std::collections::{HashMap, HashSet};
use std::io::{self, BufReader, Cursor, Read};
use std::sync::Arc;

use super::blob::JSON_LIMIT;
use super::location::LocalKind;
use super::opened::{Layers, Opened};
use super::sniff::{check_head, is_tar_header};
use super::store::{BlobStore, normalise};
use super::want::Want;
use super::{docker, oci};
use crate::error::{Codec, Corrupt, Error, NotAnImage, Result, TooLarge};
use crate::image::Format;
use crate::layer::decode::{Algorithm, Decoder, Hashing, ZSTD_WINDOW_LOG_MAX, drain};
use crate::layer::gzip::GzipReader;
use crate::layer::tar::{TarError, TarWalker};
use crate::layer::{self, Compression, Kind, LayerScan, ScanOptions, TarEntry};

/// The most bytes of small members (JSON) kept from one stream.
const KEPT_LIMIT: u64 = 64 << 20;
/// The read buffer over the stream (a layer's reader takes its content from it).
const STREAM_BUFFER: usize = 256 * 1024;
/// How many symlinks one lookup may follow.
const MAX_HOPS: usize = 16;

/// What was kept of a streamed archive: its small members and its links; its layers are
/// read as they pass and only their names are kept here.
#[derive(Debug)]
pub struct StreamStore {
    name: String,
    files: HashMap<String, Vec<u8>>,
    /// Symlinks and hard links: member → target member (normalised).
    links: HashMap<String, String>,
    layers: HashSet<String>,
    /// Members neither kept nor read as layers (too large for JSON), for messages.
    skipped: HashSet<String>,
}

impl StreamStore {
    /// The member a path names once links are followed.
    fn resolve(&self, location: &str) -> String {
        let mut path = normalise(location);
        for _ in 0..MAX_HOPS {
            match self.links.get(&path) {
                Some(target) => path = target.clone(),
                None => break,
            }
        }
        path
    }

    fn has(&self, location: &str) -> bool {
        let path = self.resolve(location);
        self.files.contains_key(&path) || self.layers.contains(&path)
    }
}

impl BlobStore for StreamStore {
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)> {
        let path = self.resolve(location);
        if let Some(bytes) = self.files.get(&path) {
            return Ok((Box::new(Cursor::new(bytes.as_slice())), bytes.len() as u64));
        }
        let what = format!("{}: {location}", self.name);
        if self.layers.contains(&path) {
            return Err(Error::NotAnImage {
                what,
                why: NotAnImage::ReadOnce,
            });
        }
        if self.skipped.contains(&path) {
            return Err(Error::TooLarge {
                what,
                limit: TooLarge::SkippedMember { limit: JSON_LIMIT },
            });
        }
        Err(Error::io(
            what,
            io::Error::new(io::ErrorKind::NotFound, "not in the archive"),
        ))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn exists(&self, location: &str) -> Result<bool> {
        Ok(self.has(location))
    }
}

/// Whether a member's first bytes (up to 512) begin a layer: a tar header, gzip, zstd, or an
/// empty tar's zero blocks.
fn looks_like_layer(head: &[u8], size: u64) -> bool {
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return true;
    }
    match <&[u8; 512]>::try_from(head) {
        Ok(block) => is_tar_header(block) || (size >= 1024 && block.iter().all(|&b| b == 0)),
        Err(_) => false,
    }
}

/// How to hash a layer read before `manifest.json` names its digests: a member of an OCI
/// layout (`blobs/sha512/…`, Docker 25+) says its blob's algorithm in its path; everything
/// else is SHA-256, as `docker save` writes it. (An uncompressed member's tar is its blob.)
fn blob_hashing(path: &str) -> Hashing {
    let blob = path
        .strip_prefix("blobs/")
        .and_then(|rest| Algorithm::of(rest.replacen('/', ":", 1).as_str()).ok())
        .unwrap_or(Algorithm::Sha256);
    Hashing {
        blob,
        tar: Algorithm::Sha256,
    }
}

/// Reads up to `buf.len()` bytes; fewer only at the end of the reader.
fn fill(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The layers of a stream, read as it passed, by member name.
pub(crate) type Scans = HashMap<String, Arc<LayerScan>>;

/// Reads a whole archive stream once: layers are scanned as they pass, small members kept.
/// A gzip- or zstd-compressed archive (`docker save | gzip`, `image.tar.gz`, as trivy and
/// snyk read them) is decompressed on the way, with the layers' decoders: the same checks
/// (every gzip member's CRC-32 and length, zstd windows up to containerd's limit), and the
/// compressed stream is read to its end, so a damaged trailer is found.
///
/// # Errors
/// A stream that is not a tar (xz and bzip2 get a hint), a broken tar or compressed stream,
/// or a layer that cannot be read (naming the member).
pub(crate) fn read(
    reader: impl Read,
    name: &str,
    options: ScanOptions,
) -> Result<(StreamStore, Scans)> {
    let mut reader = reader;
    let mut head = [0u8; 512];
    let n = fill(&mut reader, &mut head).map_err(|e| Error::read(name, e))?;
    let whole = Cursor::new(head).take(n as u64).chain(reader);
    let compression = Compression::sniff(&head[..n]);
    let codec = match compression {
        Compression::None => return read_tar(whole, name, options, None),
        Compression::Gzip => Codec::Gzip,
        Compression::Zstd => Codec::Zstd,
    };
    let compressed = BufReader::with_capacity(STREAM_BUFFER, whole);
    let decoder = match codec {
        Codec::Zstd => {
            let broken = |e: io::Error| Error::Corrupt {
                what: name.to_string(),
                why: Corrupt::Decoder {
                    codec,
                    cause: e.to_string(),
                },
            };
            let mut zstd = zstd::stream::read::Decoder::with_buffer(compressed).map_err(broken)?;
            zstd.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(broken)?;
            Decoder::Zstd(Box::new(zstd))
        }
        Codec::Gzip => Decoder::Gzip(Box::new(GzipReader::new(compressed))),
    };
    read_tar(Outer { decoder, codec }, name, options, Some(codec))
}

/// The decompressor of a whole archive: its errors say so, since a layer read from it reports
/// them as its own ("corrupt tar stream: incomplete frame" would blame the layer).
struct Outer<R: io::BufRead> {
    decoder: Decoder<R>,
    codec: Codec,
}

impl<R: io::BufRead> Read for Outer<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.decoder.read(buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("the archive's {} stream: {e}", self.codec),
            )
        })
    }
}

/// [`read`] of the tar itself; `compressed` names the compression it came out of.
fn read_tar<R: Read>(
    reader: R,
    name: &str,
    options: ScanOptions,
    compressed: Option<Codec>,
) -> Result<(StreamStore, Scans)> {
    let mut walker = walker(reader, name, compressed)?;
    let broken = |e: TarError| Error::Corrupt {
        what: name.to_string(),
        why: Corrupt::Tar {
            codec: compressed,
            cause: e.to_string(),
        },
    };
    let mut kept = Kept {
        store: StreamStore {
            name: name.to_string(),
            files: HashMap::new(),
            links: HashMap::new(),
            layers: HashSet::new(),
            skipped: HashSet::new(),
        },
        scans: HashMap::new(),
        bytes: 0,
    };
    let mut entry = TarEntry::default();
    while walker.next_into(&mut entry).map_err(broken)? {
        let path = normalise(&String::from_utf8_lossy(&entry.path));
        if matches!(entry.kind, Kind::Symlink | Kind::Hardlink) {
            let target = link_target(&entry, &path);
            kept.store.links.insert(path, target);
        } else if entry.kind == Kind::File && walker.raw_type() != b'S' {
            kept.member(path, entry.size, walker.content(), options)?;
        }
    }
    if let Some(c) = compressed {
        // The tar's end is not the stream's: the padding after it and the compression's
        // trailer (gzip's CRC-32 and length, zstd's checksum) are checked too.
        drain(&mut walker.into_inner()).map_err(|e| Error::Corrupt {
            what: name.to_string(),
            why: Corrupt::AfterTarEnd {
                codec: c,
                cause: e.to_string(),
            },
        })?;
    }
    Ok(kept.finish())
}

/// The walker over a stream whose first block is checked to begin a tar (a foreign
/// compression gets the command that decompresses it). The same walker as layers': extension
/// headers capped, header-only types without data.
fn walker<R: Read>(
    mut reader: R,
    name: &str,
    compressed: Option<Codec>,
) -> Result<TarWalker<impl io::BufRead>> {
    let mut head = [0u8; 512];
    let n = fill(&mut reader, &mut head).map_err(|e| match compressed {
        Some(codec) => Error::Corrupt {
            what: name.to_string(),
            why: Corrupt::Stream {
                codec,
                cause: e.to_string(),
            },
        },
        None => Error::read(name, e),
    })?;
    check_head(&head, n, name, true, compressed)?;
    let stream = Cursor::new(head).take(n as u64).chain(reader);
    Ok(TarWalker::new(BufReader::with_capacity(
        STREAM_BUFFER,
        stream,
    )))
}

/// The member a link names: a symlink's target is relative to its own directory; a hard
/// link's is a member's path.
fn link_target(entry: &TarEntry, path: &str) -> String {
    let target = String::from_utf8_lossy(entry.link.as_deref().unwrap_or_default());
    if entry.kind == Kind::Symlink && !target.starts_with('/') {
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
        normalise(&format!("{dir}/{target}"))
    } else {
        normalise(&target)
    }
}

/// What a stream keeps as it passes: the store, the layers' scans, and how many bytes of
/// small members are held.
struct Kept {
    store: StreamStore,
    scans: Scans,
    bytes: u64,
}

impl Kept {
    /// Takes one regular member: a layer (by its name or first bytes) is read now; a small
    /// member is kept; anything else is only named.
    fn member(
        &mut self,
        path: String,
        size: u64,
        mut content: impl Read,
        options: ScanOptions,
    ) -> Result<()> {
        let name = &self.store.name;
        let mut first = vec![0u8; usize::try_from(size.min(512)).unwrap_or(512)];
        let got = fill(&mut content, &mut first).map_err(|e| Error::Corrupt {
            what: name.clone(),
            why: Corrupt::Tar {
                codec: None,
                cause: e.to_string(),
            },
        })?;
        first.truncate(got);
        let what = || format!("{name}: {path}");
        if path.ends_with("layer.tar") || looks_like_layer(&first, size) {
            let hashing = options.verify.then(|| blob_hashing(&path));
            let scan = layer::read_layer_batched(
                Cursor::new(first).chain(content),
                0,
                hashing,
                None,
                None,
            )
            .map_err(|m| Error::Corrupt {
                what: what(),
                why: Corrupt::Layer(m),
            })?;
            self.store.layers.insert(path.clone());
            self.scans.insert(path, Arc::new(scan));
        } else if size <= JSON_LIMIT && self.bytes + size <= KEPT_LIMIT {
            let mut bytes = first;
            content
                .read_to_end(&mut bytes)
                .map_err(|e| Error::read(what(), e))?;
            self.bytes += bytes.len() as u64;
            self.store.files.insert(path, bytes);
        } else {
            self.store.skipped.insert(path);
        }
        Ok(())
    }

    /// Every link that leads to a layer names it too, sharing its scan (200 links to one
    /// layer hold it once).
    fn finish(mut self) -> (StreamStore, Scans) {
        for link in self.store.links.keys() {
            let target = self.store.resolve(link);
            if let Some(scan) = self.scans.get(&target) {
                let scan = Arc::clone(scan);
                self.scans.insert(link.clone(), scan);
            }
        }
        (self.store, self.scans)
    }
}

/// Reads an archive stream and resolves its image: `manifest.json` (`docker save`) or, without
/// one, `index.json` (an oci-archive). A prefix forces one: `oci-archive:` the OCI layout
/// (Docker 25+ archives have both), `docker-archive:` `manifest.json`.
pub(crate) fn load(
    reader: impl Read,
    name: &str,
    want: &Want<'_>,
    options: ScanOptions,
    forced: Option<LocalKind>,
) -> Result<Opened> {
    let (store, scans) = read(reader, name, options)?;
    let (docker, oci) = (store.has("manifest.json"), store.has("index.json"));
    let not = |why| {
        Err(Error::NotAnImage {
            what: name.to_string(),
            why,
        })
    };
    let mut opened = match (forced, docker, oci) {
        (Some(LocalKind::OciArchive), _, true)
        | (None | Some(LocalKind::OciLayout), false, true) => {
            oci::load(Arc::new(store), Format::OciArchive, want)?
        }
        (Some(LocalKind::OciArchive), _, false) => return not(NotAnImage::NotOciArchive),
        (Some(LocalKind::DockerArchive), false, _) => return not(NotAnImage::NotDockerArchive),
        (_, true, _) => docker::load(Arc::new(store), want)?,
        _ => return not(NotAnImage::NoManifestNorIndex { stream: true }),
    };
    opened.layers = Layers::Read(scans);
    Ok(opened)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_member_path_names_its_blob_algorithm() {
        assert_eq!(blob_hashing("blobs/sha512/ab").blob, Algorithm::Sha512);
        assert_eq!(blob_hashing("blobs/sha256/ab").blob, Algorithm::Sha256);
        assert_eq!(blob_hashing("abc/layer.tar").blob, Algorithm::Sha256);
        assert_eq!(blob_hashing("blobs/blake3/ab").blob, Algorithm::Sha256);
    }

    #[test]
    fn layer_sniffing() {
        assert!(looks_like_layer(&[0x1f, 0x8b, 8], 10));
        assert!(looks_like_layer(&[0x28, 0xb5, 0x2f, 0xfd], 10));
        assert!(looks_like_layer(&[0u8; 512], 1024));
        assert!(!looks_like_layer(&[0u8; 512], 512));
        assert!(!looks_like_layer(b"{\"a\": 1}", 8));
    }
}
