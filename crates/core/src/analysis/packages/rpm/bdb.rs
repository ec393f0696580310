//! rpm's BerkeleyDB `Packages` (rpm < 4.16: RHEL and CentOS ≤ 8, Amazon Linux 2): a Berkeley
//! DB hash database whose keys are package numbers and whose values are [headers](super::header).
//!
//! The layout is libdb's `db_page.h`, as go-rpmdb reads it: page 0 is the hash metadata (magic
//! `0x061561`, page size, last page), hash pages hold an index of item offsets in key/value
//! pairs, and a value too large for its page is an `H_OFFPAGE` item naming the first of a chain
//! of overflow pages, each holding its share of the bytes. The byte order is the magic's.
//!
//! Every offset is checked against its page and every page number against the file; the pages
//! all chains visit together are bounded by the file's page count, so a chain that loops or
//! pages shared between values end the read with an error, not a loop.

use super::header::{BadHeader, parse_header};
use super::sqlite::{Database, DbError, MAX_PACKAGES};

const MAGIC: u32 = 0x0006_1561;
/// Page types (`P_*`) and item types (`H_*`).
const META: u8 = 8;
const HASH: u8 = 13;
const HASH_UNSORTED: u8 = 2;
const OVERFLOW: u8 = 7;
const KEYDATA: u8 = 1;
const OFFPAGE: u8 = 3;
/// Every page starts with this many bytes of header.
const PAGE_HEADER: usize = 26;

/// A database's pages, read in its byte order.
struct Pages<'a> {
    bytes: &'a [u8],
    size: usize,
    count: usize,
    big_endian: bool,
}

impl<'a> Pages<'a> {
    fn page(&self, n: u32) -> Option<&'a [u8]> {
        let n = n as usize;
        (n < self.count).then(|| &self.bytes[n * self.size..(n + 1) * self.size])
    }

    fn u16(&self, p: &[u8], at: usize) -> Option<u16> {
        let b: [u8; 2] = p.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }

    fn u32(&self, p: &[u8], at: usize) -> Option<u32> {
        let b: [u8; 4] = p.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
}

/// Every package header of a BerkeleyDB `Packages` (`files`: with its file list).
pub fn read_bdb(bytes: &[u8], files: bool) -> Result<Database, DbError> {
    let pages = open(bytes)?;
    let mut db = Database::default();
    // Overflow pages left to visit: each belongs to one value, so all chains together visit
    // at most every page once.
    let mut budget = pages.count;
    for n in 1..pages.count as u32 {
        let Some(page) = pages.page(n) else { break };
        if !matches!(page[25], HASH | HASH_UNSORTED) {
            continue;
        }
        for item in items(&pages, page) {
            if db.headers.len() + db.bad >= MAX_PACKAGES {
                db.truncated = true;
                return Ok(db);
            }
            let (hnum, value) = match item {
                Ok(Item::Record(hnum, value)) => (hnum, value),
                Ok(Item::Counter) => continue,
                Err(why) => {
                    db.bad += 1;
                    db.first_bad.get_or_insert((-1, why));
                    continue;
                }
            };
            let blob = match value {
                Value::Inline(b) => Ok(b.to_vec()),
                Value::Chain { first, len } => chain(&pages, first, len, &mut budget)?,
            };
            match blob.and_then(|b| parse_header(&b, files)) {
                Ok(h) => db.headers.push(h),
                Err(why) => {
                    db.bad += 1;
                    db.first_bad.get_or_insert((i64::from(hnum), why));
                }
            }
        }
    }
    Ok(db)
}

/// The metadata page checked: a hash database, unencrypted, of a page size libdb writes.
fn open(bytes: &[u8]) -> Result<Pages<'_>, DbError> {
    let word = |at: usize, big: bool| {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let big_endian = match (word(12, false), word(12, true)) {
        (Some(MAGIC), _) => false,
        (_, Some(MAGIC)) => true,
        _ => return Err(DbError::NotBerkeley),
    };
    let size = word(20, big_endian).unwrap_or(0) as usize;
    if !size.is_power_of_two() || !(512..=65536).contains(&size) || bytes.len() < size {
        return Err(DbError::Berkeley("its page size is not one libdb writes"));
    }
    if bytes[24] != 0 {
        return Err(DbError::Berkeley("it is encrypted"));
    }
    if bytes[25] != META {
        return Err(DbError::NotBerkeley);
    }
    let last = word(32, big_endian).unwrap_or(0) as usize;
    Ok(Pages {
        bytes,
        size,
        count: (bytes.len() / size).min(last.saturating_add(1)),
        big_endian,
    })
}

enum Item<'a> {
    /// rpm's record 0: the last package number given, no package.
    Counter,
    Record(u32, Value<'a>),
}

enum Value<'a> {
    Inline(&'a [u8]),
    Chain { first: u32, len: u32 },
}

/// The key/value pairs of a hash page: its index holds the items' offsets, keys at even
/// positions; items fill the page from its end, so an item ends where the one before it
/// starts.
fn items<'a>(
    pages: &'a Pages<'a>,
    page: &'a [u8],
) -> impl Iterator<Item = Result<Item<'a>, BadHeader>> + 'a {
    let entries = pages.u16(page, 20).unwrap_or(0) as usize;
    let broken = !entries.is_multiple_of(2) || PAGE_HEADER + 2 * entries > pages.size;
    let pairs = if broken { 1 } else { entries / 2 };
    (0..pairs).map(move |k| {
        if broken {
            return Err(BadHeader::Index);
        }
        let offset = |i: usize| pages.u16(page, PAGE_HEADER + 2 * i).map(usize::from);
        let end = |i: usize| {
            if i == 0 {
                Some(pages.size)
            } else {
                offset(i - 1)
            }
        };
        let item = |i: usize| -> Option<&'a [u8]> {
            let (start, end) = (offset(i)?, end(i)?);
            (start < end && end <= page.len()).then(|| &page[start..end])
        };
        let (key, value) = (
            item(2 * k).ok_or(BadHeader::Index)?,
            item(2 * k + 1).ok_or(BadHeader::Index)?,
        );
        if key[0] != KEYDATA || key.len() < 5 {
            return Err(BadHeader::Index);
        }
        let hnum = pages.u32(key, 1).ok_or(BadHeader::Index)?;
        if hnum == 0 {
            return Ok(Item::Counter);
        }
        let value = match value[0] {
            KEYDATA => Value::Inline(&value[1..]),
            OFFPAGE if value.len() >= 12 => Value::Chain {
                first: pages.u32(value, 4).ok_or(BadHeader::Index)?,
                len: pages.u32(value, 8).ok_or(BadHeader::Index)?,
            },
            _ => return Err(BadHeader::Index),
        };
        Ok(Item::Record(hnum, value))
    })
}

/// The `len` bytes of a value held in overflow pages from `first` on. A chain broken or
/// longer than it says is the header's fault; one past the pages left in `budget` (a loop,
/// or pages shared between values) is the database's.
fn chain(
    pages: &Pages<'_>,
    first: u32,
    len: u32,
    budget: &mut usize,
) -> Result<Result<Vec<u8>, BadHeader>, DbError> {
    let len = len as usize;
    if len > pages.bytes.len() {
        return Ok(Err(BadHeader::Chain));
    }
    let mut out = Vec::with_capacity(len);
    let mut n = first;
    while n != 0 {
        *budget = budget
            .checked_sub(1)
            .ok_or(DbError::Berkeley("its overflow pages loop or are shared"))?;
        let Some(page) = pages.page(n).filter(|p| p[25] == OVERFLOW) else {
            return Ok(Err(BadHeader::Chain));
        };
        let here = pages.u16(page, 22).unwrap_or(0) as usize;
        if PAGE_HEADER + here > page.len() || out.len() + here > len {
            return Ok(Err(BadHeader::Chain));
        }
        out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + here]);
        n = pages.u32(page, 16).unwrap_or(0);
    }
    Ok(if out.len() == len {
        Ok(out)
    } else {
        Err(BadHeader::Chain)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::super::dpkg::tests::fixture;
    use super::*;
    use proptest::prelude::*;
    use std::path::PathBuf;

    /// testdata/rpm/bdb-SIZE/: rpm-oci's final headers in a `Packages` libdb's db_load wrote
    /// (4 KiB pages: headers in overflow chains; 16 KiB: inline), and what rpm's own reader
    /// (bdb_ro) lists for it (testdata/build.sh).
    fn testdata(size: u32, file: &str) -> Vec<u8> {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/rpm")
            .join(format!("bdb-{size}"))
            .join(file);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// (name, version as `rpm -q` prints it, arch, paths that are no directory), sorted.
    type Listing = Vec<(String, String, String, Vec<String>)>;

    fn rpm_lists(text: &[u8]) -> Listing {
        let mut out: Listing = Vec::new();
        for line in String::from_utf8(text.to_vec()).unwrap().lines() {
            let f: Vec<&str> = line.split('\t').collect();
            if f[0] == "P" {
                let epoch = if f[2] == "(none)" {
                    String::new()
                } else {
                    format!("{}:", f[2])
                };
                let evr = format!("{epoch}{}-{}", f[3], f[4]);
                out.push((f[1].into(), evr, f[5].into(), Vec::new()));
            } else if u32::from_str_radix(f[1], 8).unwrap() & 0o170000 != 0o040000 {
                out.last_mut().unwrap().3.push(f[2].into());
            }
        }
        for p in &mut out {
            p.3.sort();
        }
        out.sort();
        out
    }

    fn strata_lists(db: &Database) -> Listing {
        let mut out: Listing = db
            .headers
            .iter()
            .map(|h| {
                let mut paths: Vec<String> = h
                    .files
                    .iter()
                    .filter(|f| !f.is_dir())
                    .map(|f| String::from_utf8(f.path.clone()).unwrap())
                    .collect();
                paths.sort();
                (h.name.clone(), h.evr(), h.arch.clone().unwrap(), paths)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn reads_what_rpms_own_reader_lists() {
        for size in [4096, 16384] {
            let db = read_bdb(&testdata(size, "Packages"), true).unwrap();
            assert_eq!((db.bad, db.truncated), (0, false), "{size}");
            let want = rpm_lists(&testdata(size, "rpm-qa.txt"));
            assert_eq!(want.len(), 3);
            assert_eq!(strata_lists(&db), want, "{size}");
        }
    }

    /// go-rpmdb's BerkeleyDB fixture, a real RHEL 8 database: the package `rpm -qa` lists
    /// (the fixture's README derived the TSV) and its seven files as go-rpmdb reads them.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn reads_the_libuuid_database_as_rpm_and_go_rpmdb_do() {
        let db = read_bdb(&fixture("rpm/go-rpmdb/libuuid/Packages"), true).unwrap();
        assert_eq!((db.headers.len(), db.bad), (1, 0));
        let h = &db.headers[0];
        let tsv = String::from_utf8(fixture("rpm/go-rpmdb/libuuid/expected-rpm-qa.tsv")).unwrap();
        let row: Vec<&str> = tsv.lines().nth(1).unwrap().split('\t').collect();
        assert_eq!(
            (
                h.name.as_str(),
                h.epoch,
                h.version.as_str(),
                h.release.as_str()
            ),
            (row[0], None, row[2], row[3])
        );
        assert_eq!(
            (h.arch.as_deref(), h.size),
            (Some(row[4]), row[5].parse().ok())
        );
        let want: serde_json::Value =
            serde_json::from_slice(&fixture("rpm/go-rpmdb/libuuid/expected-go-rpmdb.json"))
                .unwrap();
        let text = want.to_string();
        assert_eq!(h.files.len(), 7);
        for f in &h.files {
            let path = String::from_utf8(f.path.clone()).unwrap();
            assert!(text.contains(&format!("\"{path}\"")), "{path}");
        }
    }

    /// The page numbers of a file's pages of one type.
    fn pages_of(bytes: &[u8], size: usize, kind: u8) -> Vec<usize> {
        (0..bytes.len() / size)
            .filter(|n| bytes[n * size + 25] == kind)
            .collect()
    }

    /// Offsets and chains that lie: the record is counted as unreadable, or the read ends with
    /// an error, and nothing loops.
    #[test]
    fn a_database_that_lies_is_refused_or_counted() {
        let good = testdata(4096, "Packages");
        let overflow = pages_of(&good, 4096, OVERFLOW);
        let hash = pages_of(&good, 4096, HASH);
        assert!(!overflow.is_empty() && !hash.is_empty());
        let set = |b: &mut Vec<u8>, at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);

        // An overflow page naming itself as the next, holding nothing: the chain loops.
        let mut looped = good.clone();
        let o = overflow[0];
        set(&mut looped, o * 4096 + 16, &(o as u32).to_le_bytes());
        set(&mut looped, o * 4096 + 22, &0u16.to_le_bytes());
        assert!(matches!(
            read_bdb(&looped, true),
            Err(DbError::Berkeley("its overflow pages loop or are shared"))
        ));

        // The same page holding its bytes again and again: more than the value's length.
        let mut longer = good.clone();
        set(&mut longer, o * 4096 + 16, &(o as u32).to_le_bytes());
        let db = read_bdb(&longer, true).unwrap();
        assert_eq!((db.headers.len(), db.bad), (2, 1));
        assert_eq!(db.first_bad.unwrap().1, BadHeader::Chain);

        // A hash page with an odd count of index entries.
        let mut odd = good.clone();
        set(&mut odd, hash[0] * 4096 + 20, &3u16.to_le_bytes());
        let db = read_bdb(&odd, true).unwrap();
        assert!(db.bad >= 1 && db.headers.len() < 3, "{db:?}");
        assert_eq!(db.first_bad.unwrap(), (-1, BadHeader::Index));

        // Index offsets past the page.
        let mut past = good.clone();
        set(
            &mut past,
            hash[0] * 4096 + PAGE_HEADER + 2,
            &0xffffu16.to_le_bytes(),
        );
        let db = read_bdb(&past, true).unwrap();
        assert_eq!(db.first_bad.unwrap().1, BadHeader::Index);

        // Cut short: the chains into the missing pages are broken.
        let cut = &good[..hash.iter().max().unwrap() * 4096 + 4096];
        let db = read_bdb(cut, true).unwrap();
        assert!(db.bad > 0 && db.headers.len() + db.bad == 3, "{db:?}");

        // Not a hash database, an odd page size, encryption.
        assert!(matches!(
            read_bdb(&[0; 8192], true),
            Err(DbError::NotBerkeley)
        ));
        let mut page_size = good.clone();
        set(&mut page_size, 20, &1000u32.to_le_bytes());
        assert!(matches!(
            read_bdb(&page_size, true),
            Err(DbError::Berkeley(_))
        ));
        let mut encrypted = good.clone();
        encrypted[24] = 1;
        assert!(matches!(
            read_bdb(&encrypted, true),
            Err(DbError::Berkeley("it is encrypted"))
        ));
    }

    proptest! {
        /// Any change to a real database: a result, never a panic or a hang.
        #[test]
        fn any_database_bytes_give_a_result(
            changes in proptest::collection::vec((0usize..49152, any::<u8>()), 1..8),
            cut in 0usize..49152,
        ) {
            for size in [4096, 16384] {
                let mut b = testdata(size, "Packages");
                for &(at, v) in &changes {
                    let at = at % b.len();
                    b[at] = v;
                }
                let _ = read_bdb(&b, true);
                b.truncate(cut % b.len());
                let _ = read_bdb(&b, true);
            }
        }
    }
}
