//! The bytes of an entry: compact, versioned, checksummed, and read without trusting them.
//!
//! An entry is, in order (integers little-endian):
//! - `MAGIC`, the format `VERSION` (u32) and the `READER` fingerprint (u64);
//! - the digest it is named by (u32 length, bytes), which it must match to be used;
//! - the scan's compression (u8: 0 none, 1 gzip, 2 zstd), its compressed size, tar size and
//!   skipped entries (u64 each), its blob digest and diff_id (u32 length, bytes; empty: none);
//! - the names buffer (u64 length, bytes), the count of tar entries (u64) and each in
//!   `ENTRY` bytes: name start and length, a link flag, link start and length, kind, mode,
//!   uid, gid (u32, u8 for the flag and kind), mtime (i64), size and content hash (u64);
//! - the count of captured package databases (u64) and each as its path (u32 length, bytes),
//!   content hash (u64) and bytes (u64 length, bytes);
//! - the count of secrets found (u64) and each as its path (u32 length, bytes), rule code
//!   (u8), offset (u64), value length and count (u32 each), content hash (u64) and masked
//!   prefix (u8 length, bytes); then the secrets not kept (u64);
//! - the xxh3-64 of everything before it.
//!
//! `decode` checks the magic and the checksum first, then every length and offset against what is left
//! (a count the rest of the file cannot hold is refused before anything is allocated for
//! it): a damaged or planted file is a `Malformed`, never a panic nor an allocation sized
//! by its bytes.

use twox_hash::XxHash3_64;

use super::Malformed;
use crate::layer::capture::Captured;
use crate::layer::secrets::{Hit, Rule};
use crate::layer::{Compression, Kind, LayerScan, RawEntry};

pub(super) const MAGIC: &[u8; 8] = b"STRATAL\0";
pub(super) const VERSION: u32 = 4;

/// What decides a scan besides the blob's bytes: the reader's source and the crates it uses.
/// A file added to `src/layer/` must be added here (a test checks).
pub(super) const READER_SOURCES: [(&str, &[u8]); 9] = [
    ("layer/mod.rs", include_bytes!("../layer/mod.rs")),
    ("layer/capture.rs", include_bytes!("../layer/capture.rs")),
    ("layer/secrets.rs", include_bytes!("../layer/secrets.rs")),
    ("layer/tar.rs", include_bytes!("../layer/tar.rs")),
    ("layer/decode.rs", include_bytes!("../layer/decode.rs")),
    ("layer/gzip.rs", include_bytes!("../layer/gzip.rs")),
    ("layer/hash.rs", include_bytes!("../layer/hash.rs")),
    ("layer/xxh3.rs", include_bytes!("../layer/xxh3.rs")),
    (
        "../../../Cargo.lock",
        include_bytes!("../../../../Cargo.lock"),
    ),
];

/// FNV-1a 64 of the reader's sources and the crate's version, computed by the compiler (the
/// sources are not kept in the binary).
pub(super) const READER: u64 = {
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

/// The entry for the blob the image names `digest`.
pub(super) fn encode(digest: &str, scan: &LayerScan) -> Vec<u8> {
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
    out.extend_from_slice(&(scan.captured.len() as u64).to_le_bytes());
    for c in &scan.captured {
        out.extend_from_slice(&(c.path.len() as u32).to_le_bytes());
        out.extend_from_slice(&c.path);
        out.extend_from_slice(&c.hash.to_le_bytes());
        out.extend_from_slice(&(c.bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&c.bytes);
    }
    let hits = scan.secrets.hits();
    out.extend_from_slice(&(hits.len() as u64).to_le_bytes());
    for h in hits {
        out.extend_from_slice(&(h.path.len() as u32).to_le_bytes());
        out.extend_from_slice(&h.path);
        out.push(h.rule.code());
        out.extend_from_slice(&h.offset.to_le_bytes());
        out.extend_from_slice(&h.len.to_le_bytes());
        out.extend_from_slice(&h.count.to_le_bytes());
        out.extend_from_slice(&h.hash.to_le_bytes());
        out.push(h.prefix().len() as u8);
        out.extend_from_slice(h.prefix().as_bytes());
    }
    out.extend_from_slice(&scan.secrets.dropped.to_le_bytes());
    let sum = XxHash3_64::oneshot(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// A bounds-checked reader over the file's bytes.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.0.len() < n {
            return Err(Malformed::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn len(&mut self) -> Result<usize, Malformed> {
        let n = self.u64()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.0.len())
            .ok_or(Malformed::LengthPastEnd)
    }
    fn string(&mut self) -> Result<Option<String>, Malformed> {
        let n = self.u32()? as usize;
        let s = std::str::from_utf8(self.take(n)?).map_err(Malformed::NotUtf8)?;
        Ok((!s.is_empty()).then(|| s.to_string()))
    }
}

/// Bytes of one tar entry in a file.
pub(super) const ENTRY: usize = 54;

/// The scan in an entry that must be the one of the blob the image names `digest`. `None`:
/// the entry was written by another build of the reader.
pub(super) fn decode(bytes: &[u8], digest: &str) -> Result<Option<LayerScan>, Malformed> {
    let Some((body, sum)) = bytes.split_last_chunk::<8>() else {
        return Err(Malformed::Truncated);
    };
    if !body.starts_with(MAGIC) {
        return Err(Malformed::NotACacheFile);
    }
    if XxHash3_64::oneshot(body) != u64::from_le_bytes(*sum) {
        return Err(Malformed::Checksum);
    }
    let mut c = Cursor(&body[MAGIC.len()..]);
    let version = c.u32()?;
    if version != VERSION {
        return Err(Malformed::Version { found: version });
    }
    if c.u64()? != READER {
        return Ok(None);
    }
    if c.string()?.as_deref() != Some(digest) {
        return Err(Malformed::OtherLayer);
    }
    let mut scan = LayerScan::new(0);
    scan.compression = match c.u8()? {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        x => return Err(Malformed::Compression(x)),
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
        return Err(Malformed::CountPastEnd);
    }
    scan.entries.reserve_exact(count as usize);
    for _ in 0..count {
        let entry = entry(&mut c, scan.names.len() as u64)?;
        scan.entries.push(entry);
    }
    let count = c.u64()?;
    // Each takes at least 20 bytes: a count the rest cannot hold is corrupt.
    if count > (c.0.len() / 20) as u64 {
        return Err(Malformed::CountPastEnd);
    }
    for _ in 0..count {
        let n = c.u32()? as usize;
        let path = c.take(n)?.to_vec();
        let hash = c.u64()?;
        let n = c.len()?;
        let bytes = c.take(n)?.to_vec();
        scan.capture(Captured { path, hash, bytes });
    }
    let count = c.u64()?;
    // Each takes at least 34 bytes: a count the rest cannot hold is corrupt.
    if count > (c.0.len() / 34) as u64 {
        return Err(Malformed::CountPastEnd);
    }
    for _ in 0..count {
        let n = c.u32()? as usize;
        let path = c.take(n)?.to_vec();
        let code = c.u8()?;
        let rule = Rule::from_code(code).ok_or(Malformed::SecretRule(code))?;
        let (offset, len, count, hash) = (c.u64()?, c.u32()?, c.u32()?, c.u64()?);
        let n = usize::from(c.u8()?);
        let prefix = c.take(n)?;
        scan.secrets
            .push(Hit::stored(path, rule, offset, len, count, hash, prefix));
    }
    scan.secrets.dropped = c.u64()?;
    if !c.0.is_empty() {
        return Err(Malformed::TrailingBytes);
    }
    Ok(Some(scan))
}

/// One tar entry, its name and link target checked to lie in the `names_len` bytes of names.
fn entry(c: &mut Cursor<'_>, names_len: u64) -> Result<RawEntry, Malformed> {
    let in_names = |(s, l): (u32, u32)| -> Result<(u32, u32), Malformed> {
        if u64::from(s) + u64::from(l) > names_len {
            return Err(Malformed::NamePastNames);
        }
        Ok((s, l))
    };
    let name = in_names((c.u32()?, c.u32()?))?;
    let has_link = c.u8()?;
    let link = (c.u32()?, c.u32()?);
    let link_len = match has_link {
        0 => None,
        // A scan stores a link target right after its name.
        1 if u64::from(link.0) == u64::from(name.0) + u64::from(name.1) => Some(in_names(link)?.1),
        1 => return Err(Malformed::LinkAwayFromName),
        x => return Err(Malformed::LinkFlag(x)),
    };
    let code = c.u8()?;
    let kind = Kind::from_code(code).ok_or(Malformed::Kind(code))?;
    Ok(RawEntry::new(
        name,
        link_len,
        kind,
        c.u32()?,
        c.u32()?,
        c.u32()?,
        c.u64()? as i64,
        c.u64()?,
        c.u64()?,
    ))
}
