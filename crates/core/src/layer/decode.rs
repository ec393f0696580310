//! Reading a blob as a stream: count and hash what passes, and pick the decompressor from the
//! first bytes (never from the media type: podman labels plain tars as gzip).

use std::io::{self, BufRead, Read};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::gzip::GzipReader;
use crate::error::{Codec, LayerError};

/// The compression of a layer blob, as recognised from its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// Recognises gzip (`1f 8b`) and zstd (`28 b5 2f fd`, or a skippable frame `5? 2a 4d 18`
    /// with its length, which the zstd decoder skips, as containerd's sniffing does); anything
    /// else is taken as plain tar.
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            || (head.len() >= 8 && head[0] & 0xf0 == 0x50 && head[1..4] == [0x2a, 0x4d, 0x18])
        {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The name of a compression runtimes do not unpack, recognised from its magic bytes: such
    /// a blob is not a tar, and saying which it is beats "invalid tar header". containerd reads
    /// only gzip, zstd and plain tar (moby's legacy graph-driver store also reads xz and bzip2;
    /// the OCI image spec defines media types for none of them).
    pub fn foreign(head: &[u8]) -> Option<&'static str> {
        const MAGIC: [(&[u8], &str); 5] = [
            (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
            (b"BZh", "bzip2"),
            (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
            (b"LZIP", "lzip"),
            (&[0x1f, 0x9d], "compress (.Z)"),
        ];
        MAGIC
            .iter()
            .find(|(magic, _)| head.starts_with(magic))
            .map(|&(_, name)| name)
    }

    /// The compression as errors name it; `None` for a plain tar.
    pub fn codec(self) -> Option<Codec> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(Codec::Gzip),
            Compression::Zstd => Some(Codec::Zstd),
        }
    }
}

/// A digest algorithm strata computes: the two the OCI image spec registers (sha256, sha512)
/// and sha384, which go-digest (containerd, moby) verifies too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// Every algorithm strata verifies, for messages.
    pub const NAMES: &str = "sha256, sha384 and sha512";

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The algorithm of a digest `alg:encoded`, or the part before the colon (all of it when
    /// there is none) when strata cannot compute it.
    pub fn of(digest: &str) -> Result<Algorithm, &str> {
        let alg = digest.split_once(':').map_or(digest, |(alg, _)| alg);
        match alg {
            "sha256" => Ok(Algorithm::Sha256),
            "sha384" => Ok(Algorithm::Sha384),
            "sha512" => Ok(Algorithm::Sha512),
            _ => Err(alg),
        }
    }

    /// `alg:hex` of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> String {
        let mut state = State::new(self);
        state.update(bytes);
        state.finish()
    }
}

/// A hash in progress. One match per buffer (256 KiB) is all the dispatch costs: SHA-256 runs
/// the same code as before it had siblings.
#[derive(Clone)]
enum State {
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl State {
    fn new(algorithm: Algorithm) -> State {
        match algorithm {
            Algorithm::Sha256 => State::Sha256(Sha256::new()),
            Algorithm::Sha384 => State::Sha384(Sha384::new()),
            Algorithm::Sha512 => State::Sha512(Sha512::new()),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha384(_) => Algorithm::Sha384,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            State::Sha256(h) => h.update(bytes),
            State::Sha384(h) => h.update(bytes),
            State::Sha512(h) => h.update(bytes),
        }
    }

    /// `alg:hex`.
    fn finish(self) -> String {
        let alg = self.algorithm().name();
        let hash = match self {
            State::Sha256(h) => hex(h.finalize().as_slice()),
            State::Sha384(h) => hex(h.finalize().as_slice()),
            State::Sha512(h) => hex(h.finalize().as_slice()),
        };
        format!("{alg}:{hash}")
    }
}

/// The digest of a stream, computed on the reading thread at first and, once the stream proves
/// long, on a thread of its own: SHA-256 runs at ~1.5 GB/s even with the CPU's SHA extensions
/// (SHA-512 at about half that), slower than inflating most layers, so a large layer's two
/// digests would otherwise serialise behind its decompression on one core.
enum Hasher {
    /// Boxed: SHA-512's state would make every reader 200 bytes larger.
    Inline(Box<State>),
    Offloaded(HashThread),
    /// The hash thread ended without an answer (it cannot panic on bytes; kept for safety).
    Failed,
}

/// A hash thread: it hashes the reader's own buffers, shared, not copies of them. Each filled
/// buffer goes to it through a bounded channel and comes back once hashed, to be filled again.
///
/// A stream dropped before its end (an error path) still joins its thread: no thread outlives
/// the reader that started it, so the count of busy threads stays true and nothing the thread
/// holds is left behind (libFuzzer's leak check caught a detached one mid-exit).
struct HashThread {
    /// `None` once finished or dropped: closing the channel ends the thread.
    chunks: Option<mpsc::SyncSender<(Chunk, usize)>>,
    spare: mpsc::Receiver<Chunk>,
    /// Buffers made for this stream so far (bounded by `IN_FLIGHT + 2`).
    buffers: usize,
    handle: Option<std::thread::JoinHandle<State>>,
}

/// A read buffer, shared with a hash thread while it hashes it.
type Chunk = Arc<Vec<u8>>;

/// Bytes hashed inline before a stream gets a hash thread (small layers never do).
pub const OFFLOAD_AFTER: u64 = 4 << 20;
/// Chunks in flight to a hash thread (8 MiB of 256 KiB buffers, made only as the thread falls
/// behind). A deep queue lets the reader and the hash thread each run long stretches: with 4,
/// on two cores shared with the applier, they woke each other ~2,500 times on a million-path
/// layer and left a core idle 15% of the time; with 32, ~700 wakeups and 10% less wall time.
const IN_FLIGHT: usize = 32;

/// Threads busy reading layers or hashing, across the process: a stream moves its hashing to a
/// thread of its own only while a core is idle, so that several layers read in parallel do not
/// pay for context switches that buy nothing.
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
    fn spawn(mut state: State) -> Option<HashThread> {
        let (chunks, rx) = mpsc::sync_channel::<(Chunk, usize)>(IN_FLIGHT);
        let (back, spare) = mpsc::channel::<Chunk>();
        let handle = std::thread::Builder::new()
            .name("strata-hash".into())
            .spawn(move || {
                let _busy = Busy::start();
                let span = crate::trace::Span::start();
                let mut hashed = 0u64;
                for (chunk, len) in rx {
                    let bytes = &chunk[..len.min(chunk.len())];
                    hashed += bytes.len() as u64;
                    state.update(bytes);
                    // The reader may be gone already (an error path): nothing to give back to.
                    let _ = back.send(chunk);
                }
                span.end(|| format!("hash {} of {hashed} bytes", state.algorithm().name()));
                state
            })
            .ok()?;
        Some(HashThread {
            chunks: Some(chunks),
            spare,
            buffers: 1,
            handle: Some(handle),
        })
    }

    fn send(&mut self, chunk: &Chunk, len: usize) -> bool {
        self.chunks
            .as_ref()
            .is_some_and(|c| c.send((Arc::clone(chunk), len)).is_ok())
    }

    /// A buffer to fill next: one the thread has hashed, or a new one while fewer than
    /// `IN_FLIGHT + 2` exist, or else the next one the thread gives back.
    fn next_buffer(&mut self, capacity: usize) -> Chunk {
        if let Ok(chunk) = self.spare.try_recv() {
            return chunk;
        }
        if self.buffers < IN_FLIGHT + 2 {
            self.buffers += 1;
            return Arc::new(vec![0; capacity]);
        }
        self.spare
            .recv()
            .unwrap_or_else(|_| Arc::new(vec![0; capacity]))
    }

    fn finish(mut self) -> Option<State> {
        self.chunks = None;
        self.handle.take()?.join().ok()
    }
}

impl Drop for HashThread {
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Hasher {
    /// Hashes `chunk[..len]`, the next bytes of the stream after `hashed_before` others.
    fn update(&mut self, chunk: &Chunk, len: usize, hashed_before: u64) {
        let bytes = &chunk[..len.min(chunk.len())];
        match self {
            // Not for the empty read at a stream's end: a thread to hash nothing.
            Hasher::Inline(state)
                if !bytes.is_empty()
                    && hashed_before + bytes.len() as u64 > OFFLOAD_AFTER
                    && core_idle() =>
            {
                match HashThread::spawn((**state).clone()) {
                    Some(mut t) => {
                        *self = if t.send(chunk, len) {
                            Hasher::Offloaded(t)
                        } else {
                            Hasher::Failed
                        };
                    }
                    None => state.update(bytes),
                }
            }
            Hasher::Inline(state) => state.update(bytes),
            Hasher::Offloaded(t) => {
                if !t.send(chunk, len) {
                    *self = Hasher::Failed;
                }
            }
            Hasher::Failed => {}
        }
    }

    fn finish(self) -> Option<State> {
        match self {
            Hasher::Inline(state) => Some(*state),
            Hasher::Offloaded(t) => t.finish(),
            Hasher::Failed => None,
        }
    }
}

/// A buffered reader that counts, optionally hashes (with one [`Algorithm`]), and adds to a
/// shared progress counter every byte it buffers. It hashes its buffer as it fills it, so that bytes
/// are never copied for hashing: once a stream is long, the buffer itself is handed to a hash
/// thread and the next one filled meanwhile.
pub struct HashBuf<R> {
    inner: R,
    buf: Chunk,
    pos: usize,
    filled: usize,
    capacity: usize,
    /// The algorithm `hasher` computes.
    hash: Option<Algorithm>,
    hasher: Option<Hasher>,
    count: u64,
    progress: Option<Arc<AtomicU64>>,
}

impl<R: Read> HashBuf<R> {
    /// A reader hashing with SHA-256 (when `hash`).
    pub fn new(inner: R, capacity: usize, hash: bool, progress: Option<Arc<AtomicU64>>) -> Self {
        let hash = hash.then_some(Algorithm::Sha256);
        Self::with_algorithm(inner, capacity, hash, progress)
    }

    /// A reader hashing with `hash` (when given).
    pub fn with_algorithm(
        inner: R,
        capacity: usize,
        hash: Option<Algorithm>,
        progress: Option<Arc<AtomicU64>>,
    ) -> Self {
        let capacity = capacity.max(1);
        HashBuf {
            inner,
            buf: Arc::new(vec![0; capacity]),
            pos: 0,
            filled: 0,
            capacity,
            hash,
            hasher: hash.map(|alg| Hasher::Inline(Box::new(State::new(alg)))),
            count: 0,
            progress,
        }
    }

    /// The inner reader, the bytes read from it so far and the `alg:hex` digest of them (if
    /// hashing). Bytes buffered but not consumed are counted and hashed already. The digest is
    /// `alg:unavailable` in the one case the hash thread could not deliver it, so that it
    /// never matches and verification fails loudly rather than passing silently.
    pub fn into_parts(self) -> (R, u64, Option<String>) {
        let digest = match (self.hasher, self.hash) {
            (Some(h), Some(alg)) => Some(match h.finish() {
                Some(state) => state.finish(),
                None => format!("{}:unavailable", alg.name()),
            }),
            _ => None,
        };
        (self.inner, self.count, digest)
    }
}

/// A buffer to fill that nobody else reads: the current one unless a hash thread still holds
/// it.
fn writable<'a>(
    buf: &'a mut Chunk,
    hasher: &mut Option<Hasher>,
    capacity: usize,
) -> &'a mut Vec<u8> {
    if Arc::strong_count(buf) > 1 {
        *buf = match hasher {
            Some(Hasher::Offloaded(t)) => t.next_buffer(capacity),
            _ => Arc::new(vec![0; capacity]),
        };
    }
    // The thread gives a buffer back only after hashing it, so it is ours alone now; were it
    // not, this would copy it rather than write under the thread.
    Arc::make_mut(buf)
}

impl<R: Read> BufRead for HashBuf<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            let target = writable(&mut self.buf, &mut self.hasher, self.capacity);
            let n = loop {
                match self.inner.read(target) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            };
            let n = n.min(self.buf.len());
            if let Some(h) = &mut self.hasher {
                h.update(&self.buf, n, self.count);
            }
            self.count += n as u64;
            if let Some(p) = &self.progress {
                p.fetch_add(n as u64, Ordering::Relaxed);
            }
            self.pos = 0;
            self.filled = n;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

impl<R: Read> Read for HashBuf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Reads a buffered stream to its end without copying; returns the bytes skipped.
pub fn drain(r: &mut impl BufRead) -> io::Result<u64> {
    let mut n = 0u64;
    loop {
        let len = r.fill_buf()?.len();
        if len == 0 {
            return Ok(n);
        }
        r.consume(len);
        n += len as u64;
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
    Gzip(Box<GzipReader<R>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, R>>),
    /// A plain tar whose diff_id and blob digest use different algorithms: copied through so
    /// that each buffer hashes it once.
    Plain(R),
}

impl<R: BufRead> Decoder<R> {
    /// Gives back the compressed stream (to drain what the decompressor left).
    pub fn into_inner(self) -> R {
        match self {
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => (*d).finish(),
            Decoder::Plain(r) => r,
        }
    }
}

impl<R: BufRead> Read for Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => d.read(buf),
            Decoder::Zstd(d) => d.read(buf).map_err(zstd_error),
            Decoder::Plain(r) => r.read(buf),
        }
    }
}

/// libzstd's error for a window over the limit, "Frame requires too much memory for
/// decoding", said in terms of the image.
fn zstd_error(e: io::Error) -> io::Error {
    if e.to_string().contains("too much memory") {
        // Unsupported, not InvalidData: the stream is sound, only too demanding.
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "a frame's window is over {} MiB, the most containerd reads",
                (1u64 << ZSTD_WINDOW_LOG_MAX) >> 20
            ),
        )
    } else {
        e
    }
}

/// The largest zstd window read: 512 MiB (window log 29; libzstd's default limit is 128 MiB),
/// the limit of containerd's decoder (klauspost/compress, `MaxWindowSize = 1 << 29` by
/// default), which applies it as libzstd does to a window descriptor and to the whole content
/// of a single-segment frame: zstd `--long=29` layers read, `--long=30` ones (or single-segment
/// frames over 512 MiB, which `zstd --long=30` writes for such files) are refused by both. The
/// price is memory: libzstd allocates the window a frame declares and touches it only as output
/// fills it, so reading one layer can take up to 512 MiB, even for a small blob that expands
/// to that much (zstd needs ~16 KiB for 512 MiB of one byte).
pub const ZSTD_WINDOW_LOG_MAX: u32 = 29;

/// The buffer size between the blob and the decompressor.
pub const BLOB_BUFFER: usize = 256 * 1024;

/// The buffer size between the decompressor and the tar walker: large, so the decompressor
/// writes long runs (small reads make zlib copy out of its window and checksum tiny slices).
pub const TAR_BUFFER: usize = 256 * 1024;

/// A layer's tar stream, buffered once: a plain tar is read straight from the blob's buffer,
/// a compressed one from the decompressor's output buffer.
pub enum TarStream<R: Read> {
    Plain(HashBuf<R>),
    Decoded(HashBuf<Decoder<HashBuf<R>>>),
}

/// What reading a layer blob to its end measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// Bytes of the tar stream.
    pub tar_size: u64,
    /// `alg:…` of the tar stream (a plain tar's is its blob digest when the algorithms agree),
    /// when hashing.
    pub diff_id: Option<String>,
    /// Bytes of the blob as stored.
    pub compressed_size: u64,
    /// `alg:…` of the blob, when hashing.
    pub blob_digest: Option<String>,
}

impl<R: Read> TarStream<R> {
    /// Reads the tar stream and the blob to their ends (padding after the tar's end marker
    /// and bytes after a compressed stream belong to the digests too). `compression` names the
    /// compression in errors.
    pub fn finish(mut self, compression: Compression) -> Result<Digests, LayerError> {
        let codec = compression.codec();
        drain(&mut self).map_err(|source| match source.kind() {
            io::ErrorKind::Unsupported => LayerError::Unsupported {
                codec,
                after_end: true,
                source,
            },
            _ => LayerError::Corrupt {
                codec,
                after_end: true,
                source,
            },
        })?;
        match self {
            TarStream::Plain(blob) => {
                let (_, size, digest) = blob.into_parts();
                Ok(Digests {
                    tar_size: size,
                    diff_id: digest.clone(),
                    compressed_size: size,
                    blob_digest: digest,
                })
            }
            TarStream::Decoded(tar) => {
                let (decoder, tar_size, diff_id) = tar.into_parts();
                let mut blob = decoder.into_inner();
                drain(&mut blob).map_err(LayerError::BlobEnd)?;
                let (_, compressed_size, blob_digest) = blob.into_parts();
                Ok(Digests {
                    tar_size,
                    diff_id,
                    compressed_size,
                    blob_digest,
                })
            }
        }
    }
}

impl<R: Read> BufRead for TarStream<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        match self {
            TarStream::Plain(r) => r.fill_buf(),
            TarStream::Decoded(r) => r.fill_buf(),
        }
    }

    fn consume(&mut self, amt: usize) {
        match self {
            TarStream::Plain(r) => r.consume(amt),
            TarStream::Decoded(r) => r.consume(amt),
        }
    }
}

impl<R: Read> Read for TarStream<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match self {
            TarStream::Plain(r) => r.read(out),
            TarStream::Decoded(r) => r.read(out),
        }
    }
}

/// What to hash while a layer blob is read: the blob with the algorithm of its descriptor's
/// digest, the tar stream with that of its diff_id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hashing {
    pub blob: Algorithm,
    pub tar: Algorithm,
}

impl Hashing {
    /// SHA-256 for both, as nearly every image has it.
    pub const SHA256: Hashing = Hashing {
        blob: Algorithm::Sha256,
        tar: Algorithm::Sha256,
    };
}

/// [`open_layer_hashed`] with SHA-256 for both digests (when `hash`).
pub fn open_layer<R: Read>(
    raw: R,
    hash: bool,
    progress: Option<Arc<AtomicU64>>,
) -> io::Result<(Compression, TarStream<R>)> {
    open_layer_hashed(raw, hash.then_some(Hashing::SHA256), progress)
}

/// Opens a layer blob: the compression from its first bytes (never from the media type:
/// podman labels plain tars as gzip), the blob hashed (when `hashing`) and counted into
/// `progress` as it is read, and the tar stream hashed too when it is not the blob itself or
/// its digest uses another algorithm.
pub fn open_layer_hashed<R: Read>(
    raw: R,
    hashing: Option<Hashing>,
    progress: Option<Arc<AtomicU64>>,
) -> io::Result<(Compression, TarStream<R>)> {
    let mut blob = HashBuf::with_algorithm(raw, BLOB_BUFFER, hashing.map(|h| h.blob), progress);
    let compression = Compression::sniff(blob.fill_buf()?);
    let decoder = match compression {
        Compression::None if hashing.is_none_or(|h| h.blob == h.tar) => {
            return Ok((compression, TarStream::Plain(blob)));
        }
        Compression::None => Decoder::Plain(blob),
        Compression::Gzip => Decoder::Gzip(Box::new(GzipReader::new(blob))),
        Compression::Zstd => {
            let mut zstd = zstd::stream::read::Decoder::with_buffer(blob)?;
            zstd.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
            Decoder::Zstd(Box::new(zstd))
        }
    };
    Ok((
        compression,
        TarStream::Decoded(HashBuf::with_algorithm(
            decoder,
            TAR_BUFFER,
            hashing.map(|h| h.tar),
            None,
        )),
    ))
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

    fn sha(bytes: &[u8]) -> String {
        format!("sha256:{}", hex(Sha256::digest(bytes).as_slice()))
    }

    #[test]
    fn sniffs_and_decodes_each_compression() {
        let data = b"some tar-ish bytes".repeat(100);
        for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let blob = roundtrip(&data, c);
            let (found, mut d) = open_layer(&blob[..], true, None).unwrap();
            assert_eq!(found, c);
            let mut out = Vec::new();
            d.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
            let digests = d.finish(c).unwrap();
            assert_eq!(digests.compressed_size, blob.len() as u64);
            assert_eq!(digests.blob_digest.unwrap(), sha(&blob));
            assert_eq!(digests.tar_size, data.len() as u64);
            assert_eq!(digests.diff_id.unwrap(), sha(&data));
        }
    }

    #[test]
    fn skippable_zstd_frames_are_sniffed_as_containerd_sniffs_them() {
        // RFC 8878 3.1.2: magic 0x184D2A50..=0x184D2A5F, little-endian, then a 4-byte length;
        // containerd wants the 8 bytes before it calls the stream zstd.
        for magic in 0x184D_2A40u32..0x184D_2A70 {
            let mut head = magic.to_le_bytes().to_vec();
            head.extend(3u32.to_le_bytes());
            let skippable = (0x184D_2A50..=0x184D_2A5F).contains(&magic);
            let want = if skippable {
                Compression::Zstd
            } else {
                Compression::None
            };
            assert_eq!(Compression::sniff(&head), want, "{magic:#x}");
            assert_eq!(Compression::sniff(&head[..7]), Compression::None);
        }
    }

    #[test]
    fn finishing_reads_padding_and_trailing_bytes_into_the_digests() {
        let data = b"tar bytes".repeat(50);
        let mut blob = roundtrip(&data, Compression::Gzip);
        // A second gzip member of zeros (tar padding) after the part the walker reads.
        blob.extend(roundtrip(&[0u8; 4096], Compression::Gzip));
        let (_, mut d) = open_layer(&blob[..], true, None).unwrap();
        let mut head = [0u8; 9];
        d.read_exact(&mut head).unwrap();
        let digests = d.finish(Compression::Gzip).unwrap();
        let mut tar = data.clone();
        tar.extend([0u8; 4096]);
        assert_eq!(digests.tar_size, tar.len() as u64);
        assert_eq!(digests.diff_id.unwrap(), sha(&tar));
        assert_eq!(digests.blob_digest.unwrap(), sha(&blob));
    }

    /// Reads in pieces of the lengths given, over and over (a decompressor's uneven output).
    struct Uneven<'a> {
        data: &'a [u8],
        lens: &'a [usize],
        i: usize,
    }

    impl Read for Uneven<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let want = self.lens[self.i % self.lens.len()];
            self.i += 1;
            let n = want.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// `alg:hex` straight from the sha2 crate, without the reader's machinery.
    fn reference(alg: Algorithm, bytes: &[u8]) -> String {
        let hash = match alg {
            Algorithm::Sha256 => hex(Sha256::digest(bytes).as_slice()),
            Algorithm::Sha384 => hex(Sha384::digest(bytes).as_slice()),
            Algorithm::Sha512 => hex(Sha512::digest(bytes).as_slice()),
        };
        format!("{}:{hash}", alg.name())
    }

    const ALGORITHMS: [Algorithm; 3] = [Algorithm::Sha256, Algorithm::Sha384, Algorithm::Sha512];

    #[test]
    fn hashing_on_a_thread_gives_the_inline_digest_with_bounded_buffers() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let lens = [1usize, 4095, 65536, 300_000, 7];
        for alg in ALGORITHMS {
            let mut r = HashBuf::with_algorithm(
                Uneven {
                    data: &data,
                    lens: &lens,
                    i: 0,
                },
                100_000,
                Some(alg),
                None,
            );
            // On a thread from the first byte, whatever the cores are doing.
            r.hasher = Some(Hasher::Offloaded(
                HashThread::spawn(State::new(alg)).unwrap(),
            ));
            let mut seen = Vec::new();
            loop {
                let chunk = r.fill_buf().unwrap();
                if chunk.is_empty() {
                    break;
                }
                // Consume unevenly too: a buffer is refilled only once it is used up.
                let n = chunk.len().min(seen.len() % 50_000 + 1);
                seen.extend_from_slice(&chunk[..n]);
                r.consume(n);
            }
            assert_eq!(seen, data);
            let Some(Hasher::Offloaded(t)) = &r.hasher else {
                panic!("the hash thread was dropped");
            };
            assert!(t.buffers <= IN_FLIGHT + 2, "{} buffers", t.buffers);
            let (_, count, digest) = r.into_parts();
            assert_eq!(count, data.len() as u64);
            assert_eq!(digest.unwrap(), reference(alg, &data));
        }
    }

    #[test]
    fn a_long_stream_is_hashed_whole_across_the_switch_to_a_thread() {
        let data: Vec<u8> = (0..(OFFLOAD_AFTER as usize * 2 + 12345))
            .map(|i| (i % 253) as u8)
            .collect();
        for alg in ALGORITHMS {
            let mut r = HashBuf::with_algorithm(&data[..], 100_000, Some(alg), None);
            let mut buf = vec![0u8; 70_000];
            while r.read(&mut buf).unwrap() > 0 {}
            let (_, count, digest) = r.into_parts();
            assert_eq!(count, data.len() as u64);
            assert_eq!(digest.unwrap(), reference(alg, &data));
        }
    }

    #[test]
    fn gzip_with_several_members_is_read_to_the_end() {
        let mut blob = roundtrip(b"first ", Compression::Gzip);
        blob.extend(roundtrip(b"second", Compression::Gzip));
        let (_, mut d) = open_layer(&blob[..], false, None).unwrap();
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
        let (_, mut d) = open_layer(&blob[..], false, None).unwrap();
        let mut out = Vec::new();
        assert!(d.read_to_end(&mut out).is_err());
    }
}
