//! Reading a blob as a stream: count and hash what passes, and pick the decompressor from the
//! first bytes (never from the media type: podman labels plain tars as gzip).

use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::gzip::GzipReader;
use super::hash::State;
pub use super::hash::{Busy, HashBuf, HashPool, OFFLOAD_AFTER};
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
    // The blob and the tar stream hash on one thread of the layer's, once they are long.
    let pool = HashPool::new();
    let mut blob = HashBuf::with_algorithm(raw, BLOB_BUFFER, hashing.map(|h| h.blob), progress)
        .pooled(Arc::clone(&pool));
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
        TarStream::Decoded(
            HashBuf::with_algorithm(decoder, TAR_BUFFER, hashing.map(|h| h.tar), None).pooled(pool),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest as _, Sha256};
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
