//! Blob stores: what every loader reads an image's files through ([`BlobStore`]), and two of
//! them: a directory ([`DirStore`]) or the members of one uncompressed tar file ([`TarStore`]),
//! both opened by a relative path and safe to read from several threads at once.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};

use crate::error::{Corrupt, Error, FileKind, Malformed, MemberKind, Result, TooMany, Unsafe};
use crate::layer::tar::{TarError, TarWalker};
use crate::layer::{Kind, TarEntry};

/// Files of an image source (a directory or the members of a tar file), opened by their path
/// inside the source (`blobs/sha256/ab12…`, `ab12…/layer.tar`).
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Opens a file for streaming and returns it with its length in bytes. Safe to call from
    /// several threads at once; each call returns an independent reader.
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)>;
    /// How to name the source in messages (`image.tar`, `/path/to/layout`).
    fn name(&self) -> &str;
    /// Whether a file is there. The default opens it; a registry answers without a request.
    ///
    /// # Errors
    /// Failures other than "not found".
    fn exists(&self, location: &str) -> Result<bool> {
        match self.open(location) {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }
    /// Where the manifest or index with `digest` is: among the blobs (`blobs/<alg>/<hex>`) in
    /// a layout; apart from them in a registry.
    ///
    /// # Errors
    /// A digest outside the spec's grammar.
    fn manifest_location(&self, digest: &str) -> Result<String> {
        blob_path(digest, self.name())
    }
}

/// Where a blob of an OCI layout lives: `blobs/<alg>/<encoded>`. The digest's characters are
/// checked (the spec's grammar), so a hostile digest cannot name a path outside `blobs/`.
pub(crate) fn blob_path(digest: &str, store: &str) -> Result<String> {
    let bad = || Error::Unsafe {
        what: store.to_string(),
        why: Unsafe::InvalidDigest {
            digest: digest.to_string(),
        },
    };
    let (alg, encoded) = digest.split_once(':').ok_or_else(bad)?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let enc_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    if !alg_ok || !enc_ok {
        return Err(bad());
    }
    Ok(format!("blobs/{alg}/{encoded}"))
}

/// What is malformed in a digest of the grammar [`blob_path`] accepts, for an algorithm whose
/// encoding the OCI spec fixes (`sha256:xyz` is a path, but no sha256): said only where its
/// blob is missing, so that the line says why instead of "missing".
pub(crate) fn malformed_digest(digest: &str) -> Option<Malformed> {
    let (alg, encoded) = digest.split_once(':')?;
    let (algorithm, digits) = match alg {
        "sha256" => ("sha256", 64),
        "sha384" => ("sha384", 96),
        "sha512" => ("sha512", 128),
        _ => return None,
    };
    let hex = encoded
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (encoded.len() != digits || !hex).then_some(Malformed { algorithm, digits })
}

/// How many symlinks or hard links one lookup in a tar may follow.
const MAX_LINK_HOPS: usize = 16;

/// Cleans a path inside a source: drops `/` and `.` components and empty names, resolves `..`
/// (clamped at the root). `./x` and `x` name the same member.
pub(crate) fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Opens a file that must be a regular file, without blocking: a FIFO planted where a blob
/// belongs would block `open` until a writer came, for ever (`O_NONBLOCK` returns at once and
/// does nothing to reads of a regular file). Devices (`/dev/zero`), FIFOs and directories are
/// refused by name.
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::Unsafe {
            what: path.display().to_string(),
            why: Unsafe::NotRegularFile {
                kind: file_kind(&meta),
            },
        });
    }
    Ok(file)
}

/// What kind of file a non-regular file is.
fn file_kind(meta: &std::fs::Metadata) -> FileKind {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        FileKind::Directory
    } else if t.is_fifo() {
        FileKind::Fifo
    } else if t.is_char_device() {
        FileKind::CharDevice
    } else if t.is_block_device() {
        FileKind::BlockDevice
    } else if t.is_socket() {
        FileKind::Socket
    } else {
        FileKind::Other
    }
}

/// The error for a member or file that is not there; [`is_not_found`] recognises it.
fn not_found(store: &str, location: &str, what: &str) -> Error {
    Error::io(
        format!("{store}: {location}"),
        io::Error::new(io::ErrorKind::NotFound, what.to_string()),
    )
}

/// Whether an error from [`BlobStore::open`] means "no such file or member" (a blob of another
/// platform may legitimately be absent) rather than a real failure.
pub(crate) fn is_not_found(error: &Error) -> bool {
    matches!(error, Error::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
}

/// Files under one directory. Locations that leave the directory — `..`, absolute paths, or
/// symlinks pointing outside — are refused.
#[derive(Debug)]
pub struct DirStore {
    root: PathBuf,
    name: String,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let name = root.display().to_string();
        DirStore { root, name }
    }

    fn resolve(&self, location: &str) -> Result<PathBuf> {
        let escape = || Error::Unsafe {
            what: format!("{}: {location}", self.name),
            why: Unsafe::LeavesImage,
        };
        let rel = Path::new(location);
        if rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(escape());
        }
        let full = self.root.join(rel);
        let real = full.canonicalize().map_err(|e| Error::io(&full, e))?;
        let root = self
            .root
            .canonicalize()
            .map_err(|e| Error::io(&self.root, e))?;
        if !real.starts_with(&root) {
            return Err(escape());
        }
        Ok(real)
    }
}

impl BlobStore for DirStore {
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)> {
        let path = self.resolve(location)?;
        let file = open_regular(&path).map_err(|e| match e {
            Error::Io { source, .. } => Error::io(self.root.join(location), source),
            Error::Unsafe { why, .. } => Error::Unsafe {
                what: format!("{}: {location}", self.name),
                why,
            },
            other => other,
        })?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(self.root.join(location), e))?
            .len();
        Ok((Box::new(file), len))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// One member of a tar file, as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    /// Data at `offset`, `size` bytes long.
    File { offset: u64, size: u64 },
    /// A symlink or hard link, with its target already made an archive path.
    Link(String),
    /// Something that cannot be read as a file (a directory, a device, a sparse file).
    Other(MemberKind),
}

/// The members of an uncompressed tar file, indexed once; [`BlobStore::open`] reads a member
/// with positioned reads, so threads reading different members share no cursor.
#[derive(Debug)]
pub struct TarStore {
    file: File,
    name: String,
    members: HashMap<String, Member>,
}

impl TarStore {
    /// Indexes every member of the tar at `path`: one header walk, skipping over the data.
    ///
    /// # Errors
    /// The file cannot be read, is not a tar, or a member runs past its end (truncated).
    pub fn open(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let file = open_regular(path)?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut members = HashMap::new();
        // The same walker as layers: extension headers capped, header-only types without data.
        let mut walker = TarWalker::new(BufReader::new(&file));
        let mut entry = TarEntry::default();
        let bad = |e: TarError| Error::Corrupt {
            what: name.clone(),
            why: Corrupt::NotTar {
                cause: e.to_string(),
            },
        };
        while walker.next_into(&mut entry).map_err(bad)? {
            let Ok(member_path) = std::str::from_utf8(&entry.path) else {
                continue; // strata never looks up a member whose name is not UTF-8
            };
            let member_path = normalise(member_path);
            let link_target = || {
                entry
                    .link
                    .as_deref()
                    .and_then(|t| std::str::from_utf8(t).ok())
            };
            let member = match entry.kind {
                Kind::File if walker.raw_type() == b'S' => Member::Other(MemberKind::SparseFile),
                Kind::File => {
                    let offset = walker.offset();
                    let size = entry.size;
                    if offset.checked_add(size).is_none_or(|end| end > len) {
                        return Err(Error::Corrupt {
                            what: name,
                            why: Corrupt::Truncated {
                                member: member_path,
                            },
                        });
                    }
                    walker
                        .skip_by(|r, n| r.seek_relative(i64::try_from(n).unwrap_or(i64::MAX)))
                        .map_err(bad)?;
                    Member::File { offset, size }
                }
                Kind::Symlink => match link_target() {
                    // A symlink's target is relative to the directory holding it.
                    Some(t) if t.starts_with('/') => Member::Link(normalise(t)),
                    Some(t) => {
                        let dir = member_path.rsplit_once('/').map_or("", |(d, _)| d);
                        Member::Link(normalise(&format!("{dir}/{t}")))
                    }
                    None => Member::Other(MemberKind::SymlinkWithoutTarget),
                },
                // A hard link's target is an archive path.
                Kind::Hardlink => match link_target() {
                    Some(t) => Member::Link(normalise(t)),
                    None => Member::Other(MemberKind::HardlinkWithoutTarget),
                },
                Kind::Dir => Member::Other(MemberKind::Directory),
                Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => {
                    Member::Other(MemberKind::NotRegular)
                }
            };
            if member_path.is_empty() {
                continue;
            }
            // Tar semantics: a later member of the same name replaces the earlier one.
            members.insert(member_path, member);
        }
        Ok(TarStore {
            file,
            name,
            members,
        })
    }

    /// Whether a member of this (normalised) name exists, whatever its kind.
    #[must_use]
    pub fn contains(&self, location: &str) -> bool {
        self.members.contains_key(&normalise(location))
    }

    /// Finds the data of a member, following symlinks and hard links.
    fn locate(&self, location: &str) -> Result<(u64, u64)> {
        let mut current = normalise(location);
        for _ in 0..=MAX_LINK_HOPS {
            match self.members.get(&current) {
                None if current == normalise(location) => {
                    return Err(not_found(
                        &self.name,
                        location,
                        "no such member in the archive",
                    ));
                }
                None => {
                    return Err(not_found(
                        &self.name,
                        location,
                        &format!("link to {current}, which is not in the archive"),
                    ));
                }
                Some(Member::File { offset, size }) => return Ok((*offset, *size)),
                Some(Member::Link(target)) => current.clone_from(target),
                Some(&Member::Other(kind)) => {
                    return Err(Error::Unsafe {
                        what: format!("{}: {location}", self.name),
                        why: Unsafe::Unreadable { kind },
                    });
                }
            }
        }
        Err(Error::TooMany {
            what: format!("{}: {location}", self.name),
            limit: TooMany::LinkHops {
                limit: MAX_LINK_HOPS,
            },
        })
    }
}

impl BlobStore for TarStore {
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)> {
        let (offset, size) = self.locate(location)?;
        let reader = RangeReader {
            file: &self.file,
            pos: offset,
            end: offset + size,
        };
        Ok((Box::new(reader), size))
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// Reads `pos..end` of a file with positioned reads: no shared cursor, no copy.
struct RangeReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end - self.pos;
        if left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let n = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        let got = self.file.read_at(&mut buf[..n], self.pos)?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive ends inside this member",
            ));
        }
        self.pos += got as u64;
        Ok(got)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::source::testutil::{TarBuilder, read_all};

    fn open_err(store: &dyn BlobStore, location: &str) -> Error {
        match store.open(location) {
            Ok(_) => panic!("{location} opened"),
            Err(e) => e,
        }
    }

    #[test]
    fn blob_path_refuses_hostile_digests() {
        assert_eq!(blob_path("sha256:ab12", "s").unwrap(), "blobs/sha256/ab12");
        for bad in [
            "sha256:../../etc",
            "sha256:",
            "noalg",
            "../x:ab",
            "sha256:a/b",
        ] {
            let err = blob_path(bad, "s").unwrap_err();
            assert!(
                matches!(&err, Error::Unsafe { what, why: Unsafe::InvalidDigest { digest } }
                    if what == "s" && digest == bad),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn malformed_digest_checks_the_length_and_hex_of_known_algorithms() {
        let sha256 = format!("sha256:{}", "ab".repeat(32));
        let sha512 = format!("sha512:{}", "0f".repeat(64));
        for good in [sha256.as_str(), sha512.as_str(), "blake3:xyz", "noalg"] {
            assert_eq!(malformed_digest(good), None, "{good}");
        }
        let upper = format!("sha256:{}", "AB".repeat(32));
        let short = format!("sha384:{}", "ab".repeat(32));
        for (bad, algorithm, bits) in [
            ("sha256:xyz", "sha256", 256),
            (upper.as_str(), "sha256", 256),
            (short.as_str(), "sha384", 384),
            ("sha512:", "sha512", 512),
        ] {
            let digits = bits / 4; // one hex digit per 4 bits
            assert_eq!(
                malformed_digest(bad),
                Some(Malformed { algorithm, digits }),
                "{bad}"
            );
        }
    }

    #[test]
    fn normalise_cleans_paths() {
        for (input, want) in [
            ("./x", "x"),
            ("/a//b/./c", "a/b/c"),
            ("a/../../b", "b"),
            ("./", ""),
            ("abc/layer.tar", "abc/layer.tar"),
        ] {
            assert_eq!(normalise(input), want, "{input}");
        }
    }

    #[test]
    fn tar_members_by_normalised_name_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        TarBuilder::new()
            .file("./one/layer.tar", b"first layer")
            .file("two.json", b"{}")
            .symlink("three/layer.tar", "../one/layer.tar")
            .hardlink("four/layer.tar", "one/layer.tar")
            .symlink("loop", "loop")
            .dir("somedir")
            .write(&path);
        let store = TarStore::open(&path).unwrap();
        assert_eq!(read_all(&store, "one/layer.tar"), b"first layer");
        assert_eq!(read_all(&store, "./two.json"), b"{}");
        assert_eq!(read_all(&store, "three/layer.tar"), b"first layer");
        assert_eq!(read_all(&store, "four/layer.tar"), b"first layer");
        let missing = open_err(&store, "nope");
        assert!(is_not_found(&missing));
        assert!(missing.to_string().contains("a.tar: nope"), "{missing}");
        let looped = open_err(&store, "loop");
        assert!(
            matches!(&looped, Error::TooMany { what, limit: TooMany::LinkHops { limit: 16 } }
                if *what == format!("{}: loop", path.display())),
            "{looped:?}"
        );
        let dir_member = open_err(&store, "somedir");
        assert!(
            matches!(
                dir_member,
                Error::Unsafe {
                    why: Unsafe::Unreadable {
                        kind: MemberKind::Directory
                    },
                    ..
                }
            ),
            "{dir_member:?}"
        );
        assert!(!is_not_found(&dir_member));
    }

    #[test]
    fn tar_members_read_concurrently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let a: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = (0..300_000u32).map(|i| (i % 13) as u8).collect();
        TarBuilder::new().file("a", &a).file("b", &b).write(&path);
        let store = TarStore::open(&path).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    assert_eq!(read_all(&store, "a"), a);
                    assert_eq!(read_all(&store, "b"), b);
                });
            }
        });
    }

    #[test]
    fn truncated_tar_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.tar");
        TarBuilder::new().file("big", &[7u8; 10_000]).write(&path);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..4096]).unwrap();
        let err = TarStore::open(&path).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { what, why: Corrupt::Truncated { member } }
                if *what == path.display().to_string() && member == "big"),
            "{err:?}"
        );
    }

    /// The outer archive is walked with the layers' capped walker: a GNU long name that claims
    /// 1.5 GiB is refused at once, with no allocation of its size.
    #[test]
    fn a_huge_long_name_in_the_outer_archive_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.tar");
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(3 << 29);
        h.set_path("././@LongLink").unwrap();
        h.set_cksum();
        std::fs::write(&path, h.as_bytes()).unwrap();
        let err = TarStore::open(&path).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { what, why: Corrupt::NotTar { cause } }
                if *what == path.display().to_string() && cause.contains("limit")),
            "{err:?}"
        );
    }

    /// A member of a header-only type with a size field is followed by the next header, as
    /// every runtime reads it: a member hidden there is found.
    #[test]
    fn a_member_after_a_sized_directory_header_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        let inner = TarBuilder::new().file("manifest.json", b"[]").bytes();
        let inner = &inner[..inner.len() - 1024];
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_path("d/").unwrap();
        h.set_size(inner.len() as u64);
        h.set_cksum();
        let mut bytes = h.as_bytes().to_vec();
        bytes.extend_from_slice(inner);
        bytes.extend_from_slice(&[0u8; 1024]);
        std::fs::write(&path, bytes).unwrap();
        let store = TarStore::open(&path).unwrap();
        assert_eq!(read_all(&store, "manifest.json"), b"[]");
    }

    /// A FIFO or a device planted where a blob belongs is refused at once, never opened for a
    /// blocking read.
    #[test]
    fn dir_store_refuses_fifos_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layout");
        std::fs::create_dir_all(root.join("blobs")).unwrap();
        let fifo = root.join("blobs/fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let store = DirStore::new(&root);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = store.open("blobs/fifo").map(|_| ());
            let _ = tx.send(result);
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("opening a FIFO blocked");
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Unsafe { what, why: Unsafe::NotRegularFile { kind: FileKind::Fifo } }
                if *what == format!("{}: blobs/fifo", root.display())),
            "{err:?}"
        );
        let err = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert!(
            matches!(&err, Error::Unsafe { what, why: Unsafe::NotRegularFile { kind: FileKind::CharDevice } }
                if what == "/dev/zero"),
            "{err:?}"
        );
    }

    #[test]
    fn dir_store_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("layout");
        std::fs::create_dir_all(root.join("blobs")).unwrap();
        std::fs::write(root.join("blobs/ok"), b"fine").unwrap();
        std::fs::write(dir.path().join("secret"), b"no").unwrap();
        std::os::unix::fs::symlink("../../secret", root.join("blobs/out")).unwrap();
        std::os::unix::fs::symlink("ok", root.join("blobs/in")).unwrap();
        let store = DirStore::new(&root);
        assert_eq!(read_all(&store, "blobs/ok"), b"fine");
        assert_eq!(read_all(&store, "./blobs/in"), b"fine");
        for bad in [
            "../secret",
            "/etc/passwd",
            "blobs/out",
            "blobs/../../secret",
        ] {
            let err = open_err(&store, bad);
            assert!(
                matches!(&err, Error::Unsafe { what, why: Unsafe::LeavesImage }
                    if *what == format!("{}: {bad}", root.display())),
                "{bad}: {err:?}"
            );
        }
        assert!(is_not_found(&open_err(&store, "blobs/missing")));
    }
}
