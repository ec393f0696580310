//! An rpm header, as rpm's databases store one per installed package: the count of index
//! entries and the length of the data (big-endian u32 each), the index (16 bytes per entry:
//! tag, type, offset into the data, count), then the data. The format is rpm's `header.c`
//! (and go-rpmdb's `headerImport`, which reads it the same way).
//!
//! Every count and offset is checked against the blob before anything is read or allocated for
//! it, and the file paths built from it are bounded by its size: a header that lies is a
//! [`BadHeader`], never a panic.

/// The most index entries of one header (rpm's own bound, `hdrchkTags`).
const MAX_ENTRIES: usize = 0xffff;
/// A header's file paths may take at most this many times its own bytes: the paths repeat
/// their directory, which the header stores once (a real header's paths take less than its
/// bytes: it carries digests, sizes, modes and owners besides), and a header of one long
/// directory and many one-byte names must not grow into gigabytes of paths.
const PATH_BYTES_PER_HEADER_BYTE: usize = 4;
/// What a path costs besides its bytes (its `Vec`), counted against that budget.
const PATH_OVERHEAD: usize = 32;

/// One installed package, as its header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: Option<String>,
    /// The installed size the package declares (`SIZE`, or `LONGSIZE` past 4 GiB).
    pub size: Option<u64>,
    /// Its files, directories and symlinks (`DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`); empty
    /// when read without them.
    pub files: Vec<File>,
}

/// One path an installed package lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Absolute, as rpm lists it.
    pub path: Vec<u8>,
    /// `st_mode` (type and permission bits), when the header has them for every file.
    pub mode: Option<u16>,
    /// The size rpm recorded, when the header has them for every file.
    pub size: Option<u64>,
}

impl File {
    /// rpm lists the directories a package owns; only files and symlinks are its bytes.
    pub fn is_dir(&self) -> bool {
        self.mode.is_some_and(|m| m & 0o170000 == 0o040000)
    }
}

impl Header {
    /// The version as `rpm -q` prints it: `[epoch:]version-release`.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(e) => format!("{e}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

/// Why a header could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadHeader {
    #[error("{0} bytes are too few for a header")]
    Short(usize),
    #[error("its index of {0} entries is empty or larger than rpm allows")]
    Entries(u32),
    #[error("its index and data ({needed} bytes) overrun the {len} bytes it has")]
    Overrun { needed: u64, len: usize },
    #[error("tag {tag}: type {found} where rpm writes {expected}")]
    Type { tag: u32, found: u32, expected: u32 },
    #[error("tag {tag}: its data lies outside the header")]
    Outside { tag: u32 },
    #[error("it has no {0}")]
    Missing(&'static str),
    #[error("its file lists disagree (names, directories, indexes)")]
    Files,
    #[error("its file paths would take over {0} bytes")]
    TooManyPaths(usize),
    #[error("its database page's index is broken")]
    Index,
    #[error("the chain of pages holding it is broken")]
    Chain,
}

/// rpm's tags and types read here (rpm's `rpmtag.h`).
mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SIZE: u32 = 1009;
    pub const ARCH: u32 = 1022;
    pub const OLDFILENAMES: u32 = 1027;
    pub const FILESIZES: u32 = 1028;
    pub const FILEMODES: u32 = 1030;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGFILESIZES: u32 = 5008;
    pub const LONGSIZE: u32 = 5009;
    /// Every tag read, so that the index keeps only these.
    pub const READ: [u32; 14] = [
        NAME,
        VERSION,
        RELEASE,
        EPOCH,
        SIZE,
        ARCH,
        OLDFILENAMES,
        FILESIZES,
        FILEMODES,
        DIRINDEXES,
        BASENAMES,
        DIRNAMES,
        LONGFILESIZES,
        LONGSIZE,
    ];
    pub const INT16: u32 = 3;
    pub const INT32: u32 = 4;
    pub const INT64: u32 = 5;
    pub const STRING: u32 = 6;
    pub const STRING_ARRAY: u32 = 8;
}

/// One index entry: its tag's type, where its data starts (in the data part) and its count.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    kind: u32,
    offset: u32,
    count: u32,
}

/// A header's index (the entries read here) over its data part.
struct Blob<'a> {
    entries: [Option<Entry>; tag::READ.len()],
    data: &'a [u8],
}

/// Parses an rpm header as the database stores it: entry count and data length (big-endian
/// u32 each), the index (16 bytes per entry: tag, type, offset, count), then the data.
pub fn parse_header(blob: &[u8], files: bool) -> Result<Header, BadHeader> {
    let b = Blob::new(blob)?;
    let name = b.string(tag::NAME)?.ok_or(BadHeader::Missing("name"))?;
    let version = b
        .string(tag::VERSION)?
        .ok_or(BadHeader::Missing("version"))?;
    let release = b
        .string(tag::RELEASE)?
        .ok_or(BadHeader::Missing("release"))?;
    let epoch = b
        .ints(tag::EPOCH, tag::INT32)?
        .and_then(|v| v.first().copied());
    let size = match b.ints(tag::LONGSIZE, tag::INT64)? {
        Some(v) => v.first().copied(),
        None => b
            .ints(tag::SIZE, tag::INT32)?
            .and_then(|v| v.first().copied()),
    };
    let files = if files {
        b.files(blob.len().saturating_mul(PATH_BYTES_PER_HEADER_BYTE))?
    } else {
        Vec::new()
    };
    Ok(Header {
        name,
        epoch: epoch.map(|e| e as u32),
        version,
        release,
        arch: b.string(tag::ARCH)?,
        size,
        files,
    })
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

impl<'a> Blob<'a> {
    fn new(blob: &'a [u8]) -> Result<Blob<'a>, BadHeader> {
        if blob.len() < 8 {
            return Err(BadHeader::Short(blob.len()));
        }
        let (il, dl) = (be32(blob, 0), be32(blob, 4));
        if il == 0 || il as usize > MAX_ENTRIES {
            return Err(BadHeader::Entries(il));
        }
        let start = 8 + 16 * il as usize;
        let needed = start as u64 + u64::from(dl);
        if needed > blob.len() as u64 {
            return Err(BadHeader::Overrun {
                needed,
                len: blob.len(),
            });
        }
        let mut entries = [None; tag::READ.len()];
        for i in 0..il as usize {
            let at = 8 + 16 * i;
            let t = be32(blob, at);
            // A tag may come twice: rpm adds install-time entries after the signed region,
            // and the later one is the one rpm reads.
            if let Some(slot) = tag::READ.iter().position(|&r| r == t) {
                entries[slot] = Some(Entry {
                    tag: t,
                    kind: be32(blob, at + 4),
                    offset: be32(blob, at + 8),
                    count: be32(blob, at + 12),
                });
            }
        }
        Ok(Blob {
            entries,
            data: &blob[start..start + dl as usize],
        })
    }

    /// The entry of `tag` if the header has one, its type checked, and the data from its offset.
    fn entry(&self, t: u32, kind: u32) -> Result<Option<(Entry, &'a [u8])>, BadHeader> {
        let slot = tag::READ.iter().position(|&r| r == t);
        let Some(e) = slot.and_then(|s| self.entries[s]) else {
            return Ok(None);
        };
        if e.kind != kind {
            return Err(BadHeader::Type {
                tag: e.tag,
                found: e.kind,
                expected: kind,
            });
        }
        let rest = self
            .data
            .get(e.offset as usize..)
            .ok_or(BadHeader::Outside { tag: e.tag })?;
        Ok(Some((e, rest)))
    }

    fn string(&self, t: u32) -> Result<Option<String>, BadHeader> {
        Ok(self
            .strings(t, tag::STRING)?
            .and_then(|v| v.into_iter().next())
            .map(|s| String::from_utf8_lossy(s).into_owned()))
    }

    /// The `count` NUL-terminated strings of an entry (one for a STRING).
    fn strings(&self, t: u32, kind: u32) -> Result<Option<Vec<&'a [u8]>>, BadHeader> {
        let Some((e, mut rest)) = self.entry(t, kind)? else {
            return Ok(None);
        };
        let count = if kind == tag::STRING { 1 } else { e.count };
        // Each string takes at least its NUL: a count the data cannot hold is refused before
        // anything is allocated for it.
        if count as usize > rest.len() {
            return Err(BadHeader::Outside { tag: e.tag });
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let end = memchr::memchr(0, rest).ok_or(BadHeader::Outside { tag: e.tag })?;
            out.push(&rest[..end]);
            rest = &rest[end + 1..];
        }
        Ok(Some(out))
    }

    /// The integers of an INT16, INT32 or INT64 entry.
    fn ints(&self, t: u32, kind: u32) -> Result<Option<Vec<u64>>, BadHeader> {
        let Some((e, rest)) = self.entry(t, kind)? else {
            return Ok(None);
        };
        let width = match kind {
            tag::INT16 => 2,
            tag::INT32 => 4,
            _ => 8,
        };
        let len = (e.count as usize)
            .checked_mul(width)
            .filter(|&n| n <= rest.len())
            .ok_or(BadHeader::Outside { tag: e.tag })?;
        Ok(Some(
            rest[..len]
                .chunks_exact(width)
                .map(|c| c.iter().fold(0u64, |v, &b| v << 8 | u64::from(b)))
                .collect(),
        ))
    }

    /// The files: `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]` (or the `OLDFILENAMES` of headers
    /// older than rpm 4), with their modes and sizes when the header has one per file.
    fn files(&self, budget: usize) -> Result<Vec<File>, BadHeader> {
        let paths = match self.strings(tag::BASENAMES, tag::STRING_ARRAY)? {
            Some(base) => {
                let dirs = self
                    .strings(tag::DIRNAMES, tag::STRING_ARRAY)?
                    .ok_or(BadHeader::Files)?;
                let index = self
                    .ints(tag::DIRINDEXES, tag::INT32)?
                    .ok_or(BadHeader::Files)?;
                if index.len() != base.len() {
                    return Err(BadHeader::Files);
                }
                let mut total = 0usize;
                let mut paths = Vec::with_capacity(base.len());
                for (name, &i) in base.iter().zip(&index) {
                    let dir = dirs.get(i as usize).ok_or(BadHeader::Files)?;
                    total += dir.len() + name.len() + PATH_OVERHEAD;
                    if total > budget {
                        return Err(BadHeader::TooManyPaths(budget));
                    }
                    paths.push([*dir, *name].concat());
                }
                paths
            }
            None => match self.strings(tag::OLDFILENAMES, tag::STRING_ARRAY)? {
                Some(old) => old.into_iter().map(<[u8]>::to_vec).collect(),
                None => Vec::new(),
            },
        };
        let per_file = |v: Option<Vec<u64>>| v.filter(|v| v.len() == paths.len());
        let modes = per_file(self.ints(tag::FILEMODES, tag::INT16)?);
        let sizes = match self.ints(tag::LONGFILESIZES, tag::INT64)? {
            Some(v) => per_file(Some(v)),
            None => per_file(self.ints(tag::FILESIZES, tag::INT32)?),
        };
        Ok(paths
            .into_iter()
            .enumerate()
            .map(|(i, path)| File {
                path,
                mode: modes.as_ref().map(|m| m[i] as u16),
                size: sizes.as_ref().map(|s| s[i]),
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One entry of a hand-made header: tag, type, count and its data.
    pub(crate) struct E(pub u32, pub u32, pub u32, pub Vec<u8>);

    pub(crate) fn s(tag: u32, v: &str) -> E {
        E(tag, tag::STRING, 1, [v.as_bytes(), b"\0"].concat())
    }

    pub(crate) fn strs(tag: u32, v: &[&str]) -> E {
        let data = v
            .iter()
            .flat_map(|x| [x.as_bytes(), b"\0"].concat())
            .collect();
        E(tag, tag::STRING_ARRAY, v.len() as u32, data)
    }

    pub(crate) fn i32s(tag: u32, v: &[u32]) -> E {
        let data = v.iter().flat_map(|x| x.to_be_bytes()).collect();
        E(tag, tag::INT32, v.len() as u32, data)
    }

    pub(crate) fn i16s(tag: u32, v: &[u16]) -> E {
        let data = v.iter().flat_map(|x| x.to_be_bytes()).collect();
        E(tag, tag::INT16, v.len() as u32, data)
    }

    /// A header as rpm lays it out: counts, index, data (each entry's data aligned to 4).
    pub(crate) fn header(entries: &[E]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for E(t, kind, count, bytes) in entries {
            while data.len() % 4 != 0 {
                data.push(0);
            }
            for w in [*t, *kind, data.len() as u32, *count] {
                index.extend_from_slice(&w.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    /// A small package: two files and the directory it owns, with an epoch.
    pub(crate) fn tool_header() -> Vec<u8> {
        header(&[
            s(tag::NAME, "tool"),
            s(tag::VERSION, "1.2"),
            s(tag::RELEASE, "3.el9"),
            i32s(tag::EPOCH, &[2]),
            s(tag::ARCH, "x86_64"),
            i32s(tag::SIZE, &[1234]),
            strs(
                tag::DIRNAMES,
                &["/usr/bin/", "/usr/share/doc/tool/", "/usr/share/doc/"],
            ),
            i32s(tag::DIRINDEXES, &[0, 1, 2]),
            strs(tag::BASENAMES, &["tool", "README", "tool"]),
            i16s(tag::FILEMODES, &[0o100755, 0o100644, 0o040755]),
            i32s(tag::FILESIZES, &[1000, 234, 4096]),
        ])
    }

    /// The header of a package with these files (absolute paths, with their modes).
    pub(crate) fn package(
        name: &str,
        epoch: Option<u32>,
        version: &str,
        files: &[(&str, u16)],
    ) -> Vec<u8> {
        let mut dirs: Vec<&str> = Vec::new();
        let mut index = Vec::new();
        let mut base = Vec::new();
        for (path, _) in files {
            let at = path.rfind('/').unwrap() + 1;
            let (dir, name) = path.split_at(at);
            let i = dirs.iter().position(|d| *d == dir).unwrap_or_else(|| {
                dirs.push(dir);
                dirs.len() - 1
            });
            index.push(i as u32);
            base.push(name);
        }
        let modes: Vec<u16> = files.iter().map(|f| f.1).collect();
        let mut entries = vec![
            s(tag::NAME, name),
            s(tag::VERSION, version),
            s(tag::RELEASE, "1"),
            s(tag::ARCH, "x86_64"),
            strs(tag::DIRNAMES, &dirs),
            i32s(tag::DIRINDEXES, &index),
            strs(tag::BASENAMES, &base),
            i16s(tag::FILEMODES, &modes),
        ];
        entries.extend(epoch.map(|e| i32s(tag::EPOCH, &[e])));
        header(&entries)
    }

    #[test]
    fn a_header_gives_its_package_and_files() {
        let h = parse_header(&tool_header(), true).unwrap();
        assert_eq!(
            (h.name.as_str(), h.evr(), h.arch.as_deref(), h.size),
            (
                "tool",
                "2:1.2-3.el9".to_string(),
                Some("x86_64"),
                Some(1234)
            )
        );
        let files: Vec<(&[u8], bool, Option<u64>)> = h
            .files
            .iter()
            .map(|f| (f.path.as_slice(), f.is_dir(), f.size))
            .collect();
        assert_eq!(
            files,
            [
                (&b"/usr/bin/tool"[..], false, Some(1000)),
                (b"/usr/share/doc/tool/README", false, Some(234)),
                (b"/usr/share/doc/tool", true, Some(4096)),
            ]
        );
        // Without files, and without an epoch: `version-release`.
        let plain = header(&[
            s(tag::NAME, "a"),
            s(tag::VERSION, "1"),
            s(tag::RELEASE, "2"),
        ]);
        let h = parse_header(&plain, false).unwrap();
        assert_eq!((h.evr(), h.arch, h.files.len()), ("1-2".into(), None, 0));
    }

    /// Counts and offsets that lie are refused, each with its reason.
    #[test]
    fn a_header_that_lies_is_refused() {
        let good = tool_header();
        let with = |at: usize, v: u32| {
            let mut b = good.clone();
            b[at..at + 4].copy_from_slice(&v.to_be_bytes());
            b
        };
        let entry = |i: usize, field: usize| 8 + 16 * i + 4 * field;
        let cases: Vec<(Vec<u8>, BadHeader)> = vec![
            (good[..5].to_vec(), BadHeader::Short(5)),
            (with(0, 0), BadHeader::Entries(0)),
            (with(0, 0x10000), BadHeader::Entries(0x10000)),
            (
                with(4, u32::MAX),
                BadHeader::Overrun {
                    needed: 8 + 16 * 11 + u64::from(u32::MAX),
                    len: good.len(),
                },
            ),
            // NAME's offset past the data.
            (
                with(entry(0, 2), 1 << 30),
                BadHeader::Outside { tag: tag::NAME },
            ),
            // NAME claiming the INT32 type.
            (
                with(entry(0, 1), tag::INT32),
                BadHeader::Type {
                    tag: tag::NAME,
                    found: tag::INT32,
                    expected: tag::STRING,
                },
            ),
            // More basenames than the data holds.
            (
                with(entry(8, 3), u32::MAX),
                BadHeader::Outside {
                    tag: tag::BASENAMES,
                },
            ),
            // More sizes than the data holds (the count times 8 overflows nothing).
            (
                with(entry(10, 3), u32::MAX),
                BadHeader::Outside {
                    tag: tag::FILESIZES,
                },
            ),
            // A directory index past the directories (the second index, in DIRINDEXES' data).
            (
                with(8 + 16 * 11 + be32(&good, entry(7, 2)) as usize + 4, 7),
                BadHeader::Files,
            ),
        ];
        for (bytes, why) in cases {
            assert_eq!(parse_header(&bytes, true), Err(why));
        }
        // A header missing its name.
        let nameless = header(&[s(tag::VERSION, "1"), s(tag::RELEASE, "1")]);
        assert_eq!(
            parse_header(&nameless, true),
            Err(BadHeader::Missing("name"))
        );
    }

    /// One long directory named by many one-byte file names would make paths far larger than
    /// the header: refused, not built.
    #[test]
    fn paths_are_bounded_by_the_header() {
        let dir = format!("/{}/", "d".repeat(4000));
        let names: Vec<&str> = vec!["a"; 2000];
        let h = header(&[
            s(tag::NAME, "big"),
            s(tag::VERSION, "1"),
            s(tag::RELEASE, "1"),
            strs(tag::DIRNAMES, &[&dir]),
            i32s(tag::DIRINDEXES, &vec![0; names.len()]),
            strs(tag::BASENAMES, &names),
        ]);
        assert!(matches!(
            parse_header(&h, true),
            Err(BadHeader::TooManyPaths(_))
        ));
        // The same header read without its files is a package.
        assert_eq!(parse_header(&h, false).unwrap().name, "big");
    }

    proptest! {
        /// Any bytes, and any change to a good header: a result, never a panic.
        #[test]
        fn any_header_bytes_give_a_result(
            noise in proptest::collection::vec(any::<u8>(), 0..300),
            at in 0usize..400,
            byte in any::<u8>(),
        ) {
            let _ = parse_header(&noise, true);
            let mut h = tool_header();
            let i = at % h.len();
            h[i] = byte;
            let _ = parse_header(&h, true);
            h.truncate(i);
            let _ = parse_header(&h, true);
        }
    }
}
