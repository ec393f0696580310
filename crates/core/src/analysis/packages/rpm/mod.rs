//! rpm's packages: the `rpmdb.sqlite` the final filesystem shows ([`sqlite`]), one
//! [header](header) per package with its files. The older formats, BerkeleyDB `Packages` and
//! NDB `Packages.db`, are not read: where no `rpmdb.sqlite` was, a warning says so.

pub mod header;
pub mod sqlite;

use std::collections::{HashMap, HashSet};

use super::{Listed, Manager, copies, final_node, new_package};
use crate::layer::LayerScan;
use crate::layer::capture::{self, Database};
use crate::overlay::{Fs, NodeId};
pub use header::{BadHeader, File, Header, parse_header};
pub use sqlite::{DbError, MAX_PACKAGES, read_sqlite};

/// rpm's installed packages, from the rpmdb.sqlite files the final filesystem shows, each
/// with its files and symlinks (not the directories it lists: they hold other packages'
/// files too). A database that cannot be read, or only in part, and one in a format not read
/// are said in a warning each.
pub(super) fn packages(fs: &Fs, scans: &[LayerScan], warnings: &mut Vec<String>) -> Vec<Listed> {
    let mut listed: Vec<Listed> = Vec::new();
    let mut by_name: HashMap<(String, Option<String>), Vec<usize>> = HashMap::new();
    let (mut kept, mut read) = (HashSet::new(), false);
    for (layer, c) in copies(fs, scans, Database::RpmSqlite, true) {
        kept.extend(final_node(fs, layer, c));
        let at = format!("layer {layer}: /{}", String::from_utf8_lossy(&c.path));
        let db = match read_sqlite(&c.bytes, true) {
            Ok(db) => db,
            Err(e) => {
                warnings.push(format!("{at}: {e}; its packages are not counted"));
                continue;
            }
        };
        read = true;
        let wal = [c.path.as_slice(), b"-wal"].concat();
        if let Some(size) = fs
            .resolve_final(&wal)
            .and_then(|n| fs.final_state(n)?.object())
            .map(|o| fs.object(o).size)
            .filter(|&size| size > 0)
        {
            warnings.push(format!(
                "{at}: its write-ahead log (-wal, {size} bytes) is not read: the last changes \
                 rpm made may be missing"
            ));
        }
        if let Some((hnum, why)) = &db.first_bad {
            warnings.push(format!(
                "{at}: {} package header(s) unreadable (the first, row {hnum}: {why}); \
                 their packages are not counted",
                db.bad
            ));
        }
        if db.truncated {
            warnings.push(format!(
                "{at}: more than {} packages; the rest are not counted",
                MAX_PACKAGES
            ));
        }
        for h in db.headers {
            let (evr, key) = (h.evr(), (h.name.clone(), h.arch.clone()));
            let same = by_name.get(&key).into_iter().flatten();
            if same.clone().any(|&i| listed[i].package.version == evr) {
                continue;
            }
            by_name.entry(key).or_default().push(listed.len());
            listed.push(Listed {
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
    unread(fs, &kept, read, warnings);
    if listed.is_empty() {
        return listed;
    }
    // The first layer whose database lists each package (by name and arch, any version).
    for (layer, c) in copies(fs, scans, Database::RpmSqlite, false) {
        let Ok(db) = read_sqlite(&c.bytes, false) else {
            continue;
        };
        for h in db.headers {
            for &i in by_name.get(&(h.name, h.arch)).into_iter().flatten() {
                let first = &mut listed[i].package.layer;
                *first = Some(first.map_or(layer, |f| f.min(layer)));
            }
        }
    }
    listed
}

/// A warning for each rpm database of the final filesystem that is not read: an
/// `rpmdb.sqlite` that was too large to keep (`kept` holds the nodes of those that were), or
/// one in a format not read (BerkeleyDB, NDB) unless an `rpmdb.sqlite` was `read` (rpm leaves
/// the old file behind when it converts one).
fn unread(fs: &Fs, kept: &HashSet<NodeId>, read: bool, warnings: &mut Vec<String>) {
    let mut seen = HashSet::new();
    for dir in capture::RPM_DIRS {
        let sqlite = format!("{dir}/rpmdb.sqlite");
        let unread = capture::RPM_UNREAD
            .iter()
            .filter(|_| !read)
            .map(|&(name, format)| (format!("{dir}/{name}"), Some(format)))
            .chain([(sqlite, None)]);
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
