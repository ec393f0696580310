//! The same bytes at several paths of the final filesystem: copies a hard link or a single
//! copy would spare. Files are told the same by their size and xxh3 (the hash every object
//! carries), not compared byte by byte: at 64 bits, two files of equal size colliding by
//! chance is not a practical concern for advice.

use hashbrown::HashMap;

use super::{Finding, FindingKind, Severity};
use crate::overlay::Fs;

/// Files smaller than this are not looked at: small duplicates (licences, `__init__.py`) are
/// everywhere and spare little.
pub const MIN_FILE: u64 = 64 << 10;
/// A set of copies is reported when a single copy would spare at least this.
pub const MIN_SAVED: u64 = 1 << 20;
/// Copies sparing this much or more are a warning.
pub const WARN_SAVED: u64 = 10 << 20;
/// At most this many sets are reported, those sparing most first.
pub const MAX_SETS: usize = 10;

/// One finding per set of identical visible files (at least [`MIN_FILE`] each) whose copies
/// beyond the first weigh at least [`MIN_SAVED`]; `bytes` is what one copy would spare,
/// `files` the copies, `paths` up to three of them.
#[must_use]
pub fn duplicates(fs: &Fs) -> Vec<Finding> {
    // (size, hash) → the objects holding it; a hard-linked file is one object.
    let mut sets: HashMap<(u64, u64), Vec<u32>> = HashMap::new();
    for (i, o) in fs.objects().iter().enumerate() {
        let (size, hash) = (o.size, o.hash);
        if size >= MIN_FILE && o.visible() {
            sets.entry((size, hash))
                .or_default()
                .push(u32::try_from(i).unwrap_or(u32::MAX));
        }
    }
    let mut out: Vec<Finding> = sets
        .into_iter()
        .filter(|((size, _), objects)| {
            objects.len() > 1 && size * (objects.len() as u64 - 1) >= MIN_SAVED
        })
        .map(|((size, _), objects)| {
            let saved = size * (objects.len() as u64 - 1);
            let objects_of = fs.objects();
            let mut paths: Vec<String> = objects
                .iter()
                .filter_map(|&i| objects_of.get(i as usize))
                .map(|o| fs.path(o.node))
                .collect();
            paths.sort();
            let layers: Vec<usize> = objects
                .iter()
                .filter_map(|&i| objects_of.get(i as usize))
                .map(|o| usize::from(o.layer))
                .collect();
            Finding {
                bytes: saved,
                files: objects.len() as u64,
                paths: paths.into_iter().take(3).collect(),
                shipped_by: layers.iter().max().copied(),
                ..Finding::new(
                    FindingKind::Duplicate,
                    if saved >= WARN_SAVED {
                        Severity::Warning
                    } else {
                        Severity::Note
                    },
                )
            }
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.paths.cmp(&b.paths)));
    out.truncate(MAX_SETS);
    out
}
