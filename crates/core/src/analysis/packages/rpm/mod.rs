//! rpm's packages: the databases the final filesystem shows, `rpmdb.sqlite` ([`sqlite`], rpm ≥
//! 4.16) or BerkeleyDB `Packages` ([`bdb`], older), one [header](header) per package with its
//! files. NDB `Packages.db` (SUSE) is not read: a warning says so.

pub mod bdb;
pub mod header;
pub mod sqlite;

use std::collections::{HashMap, HashSet};

use super::{Listed, Manager, copies, final_node, new_package};
use crate::layer::LayerScan;
use crate::layer::capture::{self, Captured, Database};
use crate::overlay::{Fs, NodeId};
pub use bdb::read_bdb;
pub use header::{BadHeader, File, Header, parse_header};
pub use sqlite::{DbError, MAX_PACKAGES, read_sqlite};

/// A reader of one database format: its headers, with their files or not.
type Reader = fn(&[u8], bool) -> Result<sqlite::Database, DbError>;

/// The formats read, newest first: where rpm converted its database to SQLite it may leave the
/// old BerkeleyDB file behind, which then is not read.
const FORMATS: [(Database, Reader); 2] = [
    (Database::RpmSqlite, read_sqlite),
    (Database::RpmBerkeley, read_bdb),
];

/// Packages found so far, by name and arch (one name may be installed at several versions).
#[derive(Default)]
struct Found {
    listed: Vec<Listed>,
    by_name: HashMap<(String, Option<String>), Vec<usize>>,
}

/// rpm's installed packages, from the databases the final filesystem shows, each with its
/// files and symlinks (not the directories it lists: they hold other packages' files too). A
/// database that cannot be read, or only in part, and one in a format not read are said in a
/// warning each.
pub(super) fn packages(fs: &Fs, scans: &[LayerScan], warnings: &mut Vec<String>) -> Vec<Listed> {
    let mut found = Found::default();
    let (mut kept, mut read) = (HashSet::new(), false);
    for (kind, _) in FORMATS {
        for (layer, c) in copies(fs, scans, kind, true) {
            kept.extend(final_node(fs, layer, c));
        }
    }
    for (kind, reader) in FORMATS {
        if read {
            break;
        }
        for (layer, c) in copies(fs, scans, kind, true) {
            let at = format!("layer {layer}: /{}", String::from_utf8_lossy(&c.path));
            match reader(&c.bytes, true) {
                Ok(db) => {
                    read = true;
                    problems(fs, c, &at, &db, warnings);
                    found.add(db.headers);
                }
                Err(e) => warnings.push(format!("{at}: {e}; its packages are not counted")),
            }
        }
    }
    unread(fs, &kept, read, warnings);
    let Found {
        mut listed,
        by_name,
    } = found;
    if listed.is_empty() {
        return listed;
    }
    // The first layer whose database lists each package (by name and arch, any version).
    for (kind, reader) in FORMATS {
        for (layer, c) in copies(fs, scans, kind, false) {
            let Ok(db) = reader(&c.bytes, false) else {
                continue;
            };
            for h in db.headers {
                for &i in by_name.get(&(h.name, h.arch)).into_iter().flatten() {
                    let first = &mut listed[i].package.layer;
                    *first = Some(first.map_or(layer, |f| f.min(layer)));
                }
            }
        }
    }
    listed
}

impl Found {
    /// Each header's package, once (two databases reached under two names are one).
    fn add(&mut self, headers: Vec<Header>) {
        for h in headers {
            let (evr, key) = (h.evr(), (h.name.clone(), h.arch.clone()));
            let same = self.by_name.get(&key).into_iter().flatten();
            if same.clone().any(|&i| self.listed[i].package.version == evr) {
                continue;
            }
            self.by_name.entry(key).or_default().push(self.listed.len());
            self.listed.push(Listed {
                package: new_package(Manager::Rpm, h.name, evr, h.arch),
                paths: h
                    .files
                    .into_iter()
                    .filter(|f| !f.is_dir())
                    .map(|f| f.path)
                    .collect(),
                dir: None,
                db: None,
            });
        }
    }
}

/// What a database read (at `at`, the copy `c`) lacks: headers that could not be read, rows
/// past the bound, changes still in SQLite's write-ahead log.
fn problems(fs: &Fs, c: &Captured, at: &str, db: &sqlite::Database, warnings: &mut Vec<String>) {
    let wal = [c.path.as_slice(), b"-wal"].concat();
    if let Some(size) = fs
        .resolve_final(&wal)
        .and_then(|n| fs.final_state(n)?.object())
        .map(|o| fs.object(o).size)
        .filter(|&size| size > 0)
    {
        warnings.push(format!(
            "{at}: its write-ahead log (-wal, {size} bytes) is not read: the last changes rpm \
             made may be missing"
        ));
    }
    if let Some((hnum, why)) = &db.first_bad {
        let first = if *hnum >= 0 {
            format!("record {hnum}")
        } else {
            "one".to_string()
        };
        warnings.push(format!(
            "{at}: {} package header(s) unreadable (the first, {first}: {why}); their packages \
             are not counted",
            db.bad
        ));
    }
    if db.truncated {
        warnings.push(format!(
            "{at}: more than {MAX_PACKAGES} packages; the rest are not counted"
        ));
    }
}

/// A warning for each rpm database of the final filesystem that is not read: one too large to
/// keep (`kept` holds the nodes of those that were), or one in a format not read (NDB). Where
/// an `rpmdb.sqlite` was `read`, the others are what rpm left behind when it converted them.
fn unread(fs: &Fs, kept: &HashSet<NodeId>, read: bool, warnings: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for dir in capture::RPM_DIRS {
        let older = capture::RPM_UNREAD
            .iter()
            .map(|&(name, format)| (name, Some(format)))
            .chain([("Packages", None)])
            .filter(|_| !read);
        let unread = [("rpmdb.sqlite", None)]
            .into_iter()
            .chain(older)
            .map(|(name, format)| (format!("{dir}/{name}"), format));
        for (path, format) in unread {
            let Some(node) = fs.resolve_final(path.as_bytes()) else {
                continue;
            };
            if fs.final_state(node).and_then(|m| m.object()).is_none()
                || kept.contains(&node)
                || !seen.insert(node)
            {
                continue;
            }
            warnings.push(match format {
                Some(format) => format!(
                    "/{path}: an rpm database in {format} format, which strata does not read; \
                     its packages' files count as owned by no package"
                ),
                None => format!(
                    "/{path}: an rpm database too large to keep (over {} MiB, or past {} MiB \
                     of databases in its layer); its packages' files count as owned by no \
                     package",
                    capture::MAX_FILE >> 20,
                    capture::MAX_LAYER >> 20
                ),
            });
        }
    }
}
