//! Reading a blob as a stream: count and hash what passes, and pick the decompressor from the
//! first bytes (never from the media type: podman labels plain tars as gzip).

use std::io::{self, BufRead, BufReader, Read};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use sha2::{Digest as _, Sha256};

/// The compression of a layer blob, as recognised from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognises gzip (`1f 8b`) and zstd (`28 b5 2f fd`); anything else is taken as plain tar.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// SHA-256 of a stream, computed on the reading thread at first and, once the stream proves
/// long, on a thread of its own: SHA-256 runs at ~1.5 GB/s even with the CPU's SHA extensions,
/// slower than inflating most layers, so a large layer's two digests would otherwise serialise
/// behind its decompression on one core.
enum Hasher {
    Inline(Sha256),
    Offloaded(HashThread),
    /// The hash thread ended without an answer (it cannot panic on bytes; kept for safety).
    Failed,
}

/// A hash thread: chunks go to it through a bounded channel and come back to be reused.
struct HashThread {
    chunks: mpsc::SyncSender<Vec<u8>>,
    spare: mpsc::Receiver<Vec<u8>>,
    buffers: usize,
    handle: std::thread::JoinHandle<Sha256>,
}

/// Bytes hashed inline before a stream gets a hash thread (small layers never do).
pub const OFFLOAD_AFTER: u64 = 4 << 20;
/// Chunks in flight to a hash thread: enough to ride out scheduling hiccups, bounded memory.
const IN_FLIGHT: usize = 4;

/// Threads busy reading layers or hashing, across the process: a stream moves its hashing to a
/// thread of its own only while a core is idle, so that several layers read in parallel do not
/// pay for copies and context switches that buy nothing.
static BUSY: AtomicUsize = AtomicUsize::new(0);

/// Counts one busy thread while alive.
pub struct Busy(());

impl Busy {
    pub fn start() -> Busy {
        BUSY.fetch_add(1, Ordering::Relaxed);
        Busy(())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.fetch_sub(1, Ordering::Relaxed);
    }
}

fn core_idle() -> bool {
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    BUSY.load(Ordering::Relaxed) < cores
}

impl HashThread {
    fn spawn(mut sha: Sha256) -> Option<HashThread> {
        let (chunks, rx) = mpsc::sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (back, spare) = mpsc::channel::<Vec<u8>>();
        let handle = std::thread::Builder::new()
            .name("strata-sha256".into())
            .spawn(move || {
                let _busy = Busy::start();
                for chunk in rx {
                    sha.update(&chunk);
                    // The reader may be gone already (an error path): nothing to give back to.
                    let _ = back.send(chunk);
                }
                sha
            })
            .ok()?;
        Some(HashThread {
            chunks,
            spare,
            buffers: 0,
            handle,
        })
    }

    fn send(&mut self, bytes: &[u8]) -> bool {
        let mut chunk = match self.spare.try_recv() {
            Ok(chunk) => chunk,
            Err(_) if self.buffers < IN_FLIGHT + 2 => {
                self.buffers += 1;
                Vec::with_capacity(bytes.len())
            }
            Err(_) => match self.spare.recv() {
                Ok(chunk) => chunk,
                Err(_) => return false,
            },
        };
        chunk.clear();
        chunk.extend_from_slice(bytes);
        self.chunks.send(chunk).is_ok()
    }

    fn finish(self) -> Option<Sha256> {
        drop(self.chunks);
        self.handle.join().ok()
    }
}

impl Hasher {
    fn update(&mut self, bytes: &[u8], hashed_before: u64) {
        match self {
            Hasher::Inline(sha)
                if hashed_before + bytes.len() as u64 > OFFLOAD_AFTER && core_idle() =>
            {
                let sha = std::mem::take(sha);
                *self = match HashThread::spawn(sha.clone()) {
                    Some(mut t) => {
                        if t.send(bytes) {
                            Hasher::Offloaded(t)
                        } else {
                            Hasher::Failed
                        }
                    }
                    None => {
                        let mut sha = sha;
                        sha.update(bytes);
                        Hasher::Inline(sha)
                    }
                };
            }
            Hasher::Inline(sha) => sha.update(bytes),
            Hasher::Offloaded(t) => {
                if !t.send(bytes) {
                    *self = Hasher::Failed;
                }
            }
            Hasher::Failed => {}
        }
    }

    fn finish(self) -> Option<Sha256> {
        match self {
            Hasher::Inline(sha) => Some(sha),
            Hasher::Offloaded(t) => t.finish(),
            Hasher::Failed => None,
        }
    }
}

/// Passes bytes through, counting them, optionally hashing them with SHA-256 and adding them to
/// a shared progress counter.
pub struct HashReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    count: u64,
    progress: Option<Arc<AtomicU64>>,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R, hash: bool, progress: Option<Arc<AtomicU64>>) -> Self {
        HashReader {
            inner,
            hasher: hash.then(|| Hasher::Inline(Sha256::new())),
            count: 0,
            progress,
        }
    }

    /// The inner reader, the bytes read so far and the `sha256:…` digest of them (if hashing).
    /// The digest is `sha256:unavailable` in the one case the hash thread could not deliver it,
    /// so that it never matches and verification fails loudly rather than passing silently.
    pub fn into_parts(self) -> (R, u64, Option<String>) {
        let digest = self.hasher.map(|h| match h.finish() {
            Some(sha) => format!("sha256:{}", hex(sha.finalize().as_slice())),
            None => "sha256:unavailable".to_string(),
        });
        (self.inner, self.count, digest)
    }
    /// Reads everything left, so the count and digest cover the whole stream.
    pub fn drain(&mut self) -> io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut n = 0u64;
        loop {
            let r = self.read(&mut buf)?;
            if r == 0 {
                return Ok(n);
            }
            n += r as u64;
        }
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n], self.count);
        }
        self.count += n as u64;
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A decompressing reader over a buffered blob stream.
pub enum Decoder<R: BufRead> {
    Plain(R),
    Gzip(Box<flate2::bufread::MultiGzDecoder<R>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, R>>),
}

impl<R: BufRead> Decoder<R> {
    /// Peeks at the first bytes of `inner` and wraps it in the matching decompressor.
    pub fn sniff(mut inner: R) -> io::Result<(Compression, Self)> {
        let head = inner.fill_buf()?;
        let compression = Compression::sniff(head);
        let decoder = match compression {
            Compression::None => Decoder::Plain(inner),
            Compression::Gzip => {
                Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(inner)))
            }
            Compression::Zstd => {
                Decoder::Zstd(Box::new(zstd::stream::read::Decoder::with_buffer(inner)?))
            }
        };
        Ok((compression, decoder))
    }

    /// Gives back the compressed stream (to drain what the decompressor left).
    pub fn into_inner(self) -> R {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => (*d).finish(),
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf),
        }
    }
}

/// The buffer size between the blob and the decompressor.
pub const BLOB_BUFFER: usize = 256 * 1024;

/// The buffer size between the decompressor and the tar walker: large, so the decompressor
/// writes long runs (small reads make zlib copy out of its window and checksum tiny slices).
pub const TAR_BUFFER: usize = 256 * 1024;

/// Wraps a raw blob reader: hashing of the compressed bytes, buffering, decompression.
pub fn open_blob<R: Read>(
    raw: R,
    hash: bool,
    progress: Option<Arc<AtomicU64>>,
) -> io::Result<(Compression, Decoder<BufReader<HashReader<R>>>)> {
    let buffered = BufReader::with_capacity(BLOB_BUFFER, HashReader::new(raw, hash, progress));
    Decoder::sniff(buffered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn roundtrip(data: &[u8], compression: Compression) -> Vec<u8> {
        match compression {
            Compression::None => data.to_vec(),
            Compression::Gzip => {
                let mut e =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(data, 3).unwrap(),
        }
    }

    #[test]
    fn sniffs_and_decodes_each_compression() {
        let data = b"some tar-ish bytes".repeat(100);
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let blob = roundtrip(&data, c);
            let (found, mut d) = open_blob(&blob[..], true, None).unwrap();
            assert_eq!(found, c);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
            let (_, count, digest) = d.into_inner().into_inner().into_parts();
            assert_eq!(count, blob.len() as u64);
            assert_eq!(
                digest.unwrap(),
                format!("sha256:{}", hex(Sha256::digest(&blob).as_slice()))
            );
        }
    }

    #[test]
    fn hashing_on_a_thread_gives_the_inline_digest() {
        // Uneven chunks, more of them than buffers in flight, some empty.
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let mut inline = Hasher::Inline(Sha256::new());
        let mut threaded = Hasher::Offloaded(HashThread::spawn(Sha256::new()).unwrap());
        let mut at = 0;
        for (i, len) in [0usize, 1, 4095, 65536, 0, 300_000]
            .iter()
            .cycle()
            .enumerate()
        {
            if at >= data.len() {
                break;
            }
            let end = (at + len + i).min(data.len());
            inline.update(&data[at..end], 0);
            threaded.update(&data[at..end], 0);
            at = end;
        }
        assert!(matches!(threaded, Hasher::Offloaded(_)));
        let a = inline.finish().unwrap().finalize();
        let b = threaded.finish().unwrap().finalize();
        assert_eq!(a, b);
        assert_eq!(a, Sha256::digest(&data));
    }

    #[test]
    fn a_long_stream_is_hashed_whole_across_the_switch_to_a_thread() {
        let data: Vec<u8> = (0..(OFFLOAD_AFTER as usize * 2 + 12345))
            .map(|i| (i % 253) as u8)
            .collect();
        let mut r = HashReader::new(&data[..], true, None);
        let mut buf = vec![0u8; 100_000];
        while r.read(&mut buf).unwrap() > 0 {}
        let (_, count, digest) = r.into_parts();
        assert_eq!(count, data.len() as u64);
        assert_eq!(
            digest.unwrap(),
            format!("sha256:{}", hex(Sha256::digest(&data).as_slice()))
        );
    }

    #[test]
    fn gzip_with_several_members_is_read_to_the_end() {
        let mut blob = roundtrip(b"first ", Compression::Gzip);
        blob.extend(roundtrip(b"second", Compression::Gzip));
        let (_, mut d) = open_blob(&blob[..], false, None).unwrap();
        let mut out = String::new();
        d.read_to_string(&mut out).unwrap();
        assert_eq!(out, "first second");
    }

    #[test]
    fn corrupt_gzip_is_an_error() {
        let mut blob = roundtrip(&[9u8; 5000], Compression::Gzip);
        let mid = blob.len() / 2;
        blob[mid] ^= 0xff;
        blob[mid + 1] ^= 0xff;
        let (_, mut d) = open_blob(&blob[..], false, None).unwrap();
        let mut out = Vec::new();
        assert!(d.read_to_end(&mut out).is_err());
    }
}
