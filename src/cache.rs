//! The layer cache (`--cache`): what reading a layer produced ([`LayerScan`]: entry metadata,
//! sizes, digests), stored under its diff_id once that diff_id was verified, so images sharing
//! a base skip reading those layers again.
//!
//! Where: `$STRATA_CACHE_DIR`, else `$XDG_CACHE_HOME/strata`, else `~/.cache/strata`; one file
//! per layer, `layers-v1/sha256-<hex>`. The format is compact, versioned and checksummed
//! (xxh3-64 of everything before it); a file that does not parse is ignored (the caller reads
//! the layer again and warns). Writers write a temporary file and rename it into place, so
//! concurrent runs never see half a file: the last rename wins, and every candidate is whole.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use twox_hash::XxHash3_64;

use crate::layer::{Compression, Kind, LayerScan, RawEntry};

const MAGIC: &[u8; 8] = b"STRATAL\0";
const VERSION: u32 = 1;
const SUBDIR: &str = "layers-v1";

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

/// A layer cache rooted at a directory (created on first write).
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Cache {
    pub fn new(root: impl Into<PathBuf>) -> Cache {
        Cache {
            dir: root.into().join(SUBDIR),
        }
    }

    /// The file for a diff_id; `None` unless it is `sha256:` and 64 lowercase hex digits (the
    /// diff_id comes from the image: it must never name a path of its own choosing).
    fn path(&self, diff_id: &str) -> Option<PathBuf> {
        let hex = diff_id.strip_prefix("sha256:")?;
        let ok = hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| self.dir.join(format!("sha256-{hex}")))
    }

    /// The scan stored for `diff_id`. `Ok(None)`: not cached. `Err`: an entry exists but is
    /// corrupt or from another version (the caller reads the layer again).
    pub fn get(&self, diff_id: &str, index: usize) -> Result<Option<LayerScan>, String> {
        let Some(path) = self.path(diff_id) else {
            return Ok(None);
        };
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let mut scan = decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if scan.diff_id.as_deref() != Some(diff_id) {
            return Err(format!("{}: holds another layer", path.display()));
        }
        scan.index = index;
        Ok(Some(scan))
    }

    /// Stores a scan under its diff_id (a no-op without one). Call only once the diff_id was
    /// checked against the image's config.
    pub fn put(&self, scan: &LayerScan) -> io::Result<()> {
        let Some(path) = scan.diff_id.as_deref().and_then(|d| self.path(d)) else {
            return Ok(());
        };
        fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = write_file(&tmp, &encode(scan)).and_then(|()| fs::rename(&tmp, &path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // No fsync: a file torn by a crash fails its checksum and is read again.
    fs::File::create(path)?.write_all(bytes)
}

fn encode(scan: &LayerScan) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + scan.entries.len() * 48 + scan.names.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
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

fn decode(bytes: &[u8]) -> Result<LayerScan, String> {
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
    // Each entry takes 54 bytes: a count the rest cannot hold is corrupt, not an allocation.
    const ENTRY: u64 = 54;
    if count > c.0.len() as u64 / ENTRY {
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
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::TarEntry;

    const DIFF: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn sample() -> LayerScan {
        let mut scan = LayerScan::new(3);
        scan.compression = Compression::Gzip;
        scan.compressed_size = 1234;
        scan.tar_size = 10240;
        scan.skipped_entries = 2;
        scan.blob_digest = Some("sha256:beef".into());
        scan.diff_id = Some(DIFF.into());
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

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        assert!(cache.get(DIFF, 0).unwrap().is_none());
        let scan = sample();
        cache.put(&scan).unwrap();
        let back = cache.get(DIFF, 9).unwrap().unwrap();
        assert_eq!(back.index, 9);
        same(&scan, &back);
    }

    #[test]
    fn corrupt_entries_are_errors_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        cache.put(&sample()).unwrap();
        let path = cache.path(DIFF).unwrap();
        let good = fs::read(&path).unwrap();
        // Every single-byte flip and every truncation is caught (checksum or structure).
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x41;
            fs::write(&path, &bad).unwrap();
            assert!(cache.get(DIFF, 0).is_err(), "flip at {i}");
        }
        for n in 0..good.len() {
            fs::write(&path, &good[..n]).unwrap();
            assert!(cache.get(DIFF, 0).is_err(), "truncated to {n}");
        }
        // Structure is checked even when the checksum is right: a lying entry count.
        let mut body = MAGIC.to_vec();
        body.extend_from_slice(&VERSION.to_le_bytes());
        body.push(1);
        body.extend_from_slice(&[0u8; 24 + 4 + 4 + 8]);
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        let sum = XxHash3_64::oneshot(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        let err = decode(&body).err().unwrap();
        assert!(err.contains("entry count"), "{err}");
        assert!(decode(&[0u8; 3]).is_err());
        // A rewrite repairs it.
        cache.put(&sample()).unwrap();
        same(&sample(), &cache.get(DIFF, 0).unwrap().unwrap());
    }

    #[test]
    fn an_entry_under_the_wrong_name_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        cache.put(&sample()).unwrap();
        let other = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
        fs::copy(cache.path(DIFF).unwrap(), cache.path(other).unwrap()).unwrap();
        assert!(cache.get(other, 0).is_err());
    }

    #[test]
    fn hostile_diff_ids_name_no_file() {
        let cache = Cache::new("/nonexistent");
        for d in ["sha256:../../etc/passwd", "sha512:00", "", "sha256:ABCDEF"] {
            assert!(cache.path(d).is_none(), "{d}");
            assert!(cache.get(d, 0).unwrap().is_none());
        }
        let mut scan = sample();
        scan.diff_id = Some("sha256:../x".into());
        cache.put(&scan).unwrap();
    }

    #[test]
    fn concurrent_writers_and_readers_see_whole_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let scan = sample();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50 {
                        cache.put(&scan).unwrap();
                    }
                });
            }
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..200 {
                        if let Some(got) = cache.get(DIFF, 0).unwrap() {
                            same(&scan, &got);
                        }
                    }
                });
            }
        });
        same(&scan, &cache.get(DIFF, 0).unwrap().unwrap());
        // No temporary files left behind.
        let names: Vec<_> = fs::read_dir(&cache.dir).unwrap().collect();
        assert_eq!(names.len(), 1);
    }
}
