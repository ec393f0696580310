//! The final filesystems of two images, file by file, and the differences grouped by directory.
//!
//! A "file" is any path that is not a directory (regular files, hard links, symlinks, devices);
//! its bytes are its size, counted once per content as the image totals count them: names
//! hard-linked to one file (busybox's hundreds of applets) count its bytes at the first of them
//! in path order and 0 at the others, so the differences add up to the difference of the
//! images' visible bytes. Directories only group: a group's numbers sum the files below it.

use serde::Serialize;

use crate::layer::Kind;
use crate::overlay::{Fs, Meta, NodeId, ROOT};
use crate::units::as_signed;

/// How a file differs between A and B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileChange {
    /// Only in B.
    Added,
    /// Only in A.
    Removed,
    /// In both, other content: another kind, size, content hash or link target; or the same
    /// content whose bytes are counted at this name in one image and at another of its
    /// hard-linked names in the other.
    Changed,
    /// In both with the same content, but another mode, uid or gid.
    MetadataOnly,
}

/// One file that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileDiff {
    pub path: String,
    pub change: FileChange,
    /// Its bytes in A (absent: not in A): its size, or 0 where a hard link's bytes are
    /// counted at an earlier name (in path order) of the same file.
    pub a_bytes: Option<u64>,
    /// Its bytes in B, counted as in A.
    pub b_bytes: Option<u64>,
    /// `b_bytes − a_bytes`, a missing side counting 0.
    pub delta_bytes: i64,
}

/// How many files changed one way and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CountBytes {
    pub count: u64,
    /// Added: the size in B; removed: the size in A; changed: the new size (B);
    /// metadata only: the size (the same in both).
    pub bytes: u64,
    /// What these files add to B's file bytes (negative: they shrink it).
    pub delta_bytes: i64,
}

impl CountBytes {
    fn add(&mut self, bytes: u64, delta: i64) {
        self.count += 1;
        self.bytes += bytes;
        self.delta_bytes += delta;
    }

    fn merge(&mut self, other: &CountBytes) {
        self.count += other.count;
        self.bytes += other.bytes;
        self.delta_bytes += other.delta_bytes;
    }
}

/// The files that differ, by kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileTotals {
    pub added: CountBytes,
    pub removed: CountBytes,
    pub changed: CountBytes,
    pub metadata_only: CountBytes,
    /// Σ of the four `delta_bytes`: how much B's files outweigh A's.
    pub delta_bytes: i64,
}

impl FileTotals {
    fn count(&mut self, f: &FileDiff) {
        let slot = match f.change {
            FileChange::Added => &mut self.added,
            FileChange::Removed => &mut self.removed,
            FileChange::Changed => &mut self.changed,
            FileChange::MetadataOnly => &mut self.metadata_only,
        };
        let bytes = match f.change {
            FileChange::Removed => f.a_bytes,
            _ => f.b_bytes,
        };
        slot.add(bytes.unwrap_or(0), f.delta_bytes);
        self.delta_bytes += f.delta_bytes;
    }

    fn merge(&mut self, other: &FileTotals) {
        self.added.merge(&other.added);
        self.removed.merge(&other.removed);
        self.changed.merge(&other.changed);
        self.metadata_only.merge(&other.metadata_only);
        self.delta_bytes += other.delta_bytes;
    }

    /// Files counted.
    pub fn files(&self) -> u64 {
        self.added.count + self.removed.count + self.changed.count + self.metadata_only.count
    }

    /// Bytes touched in either image (what ranks groups after the net difference).
    fn touched(&self) -> u64 {
        self.added.bytes + self.removed.bytes + self.changed.bytes + self.metadata_only.bytes
    }
}

/// A directory holding differences: a node of the tree a face expands.
///
/// Chains of directories that hold nothing but one subdirectory are folded into it (`/opt`
/// holding only `/opt/toolchain` is the group `/opt/toolchain`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The directory (`/usr/lib/gcc`); `/` for files at the root.
    pub path: String,
    /// How much B's files below outweigh A's (`totals.delta_bytes`).
    pub delta_bytes: i64,
    pub added: CountBytes,
    pub removed: CountBytes,
    pub changed: CountBytes,
    pub metadata_only: CountBytes,
    /// Subdirectories holding differences, largest difference first.
    pub groups: Vec<Group>,
    /// The files that differ directly in this directory, largest difference first.
    pub files: Vec<FileDiff>,
}

impl Group {
    /// Every differing file below this group (its own, then its subgroups', depth first).
    pub fn all_files(&self) -> Vec<&FileDiff> {
        let mut out: Vec<&FileDiff> = self.files.iter().collect();
        for g in &self.groups {
            out.extend(g.all_files());
        }
        out
    }

    /// The totals of this group as one value.
    pub fn totals(&self) -> FileTotals {
        FileTotals {
            added: self.added,
            removed: self.removed,
            changed: self.changed,
            metadata_only: self.metadata_only,
            delta_bytes: self.delta_bytes,
        }
    }
}

/// The files of the two final filesystems that differ, in path order.
pub fn diff(a: &Fs, b: &Fs) -> Vec<FileDiff> {
    let mut out = Vec::new();
    let mut counted = Counted {
        a: vec![false; a.objects().len()],
        b: vec![false; b.objects().len()],
    };
    walk(a, Some(ROOT), b, Some(ROOT), "", &mut counted, &mut out);
    out
}

/// Per image, the files (objects) whose bytes a name has already been charged with. The walk
/// visits each image's paths in path order, so a file's bytes go to the first of its names.
struct Counted {
    a: Vec<bool>,
    b: Vec<bool>,
}

/// The bytes a name is charged with: its size, or 0 when its file was charged to an earlier
/// name (a hard link).
fn charge(m: &Meta, counted: &mut [bool]) -> u64 {
    // Only regular files (and the hard links sharing them) have an object.
    let Some(seen) = m.object().and_then(|o| counted.get_mut(o as usize)) else {
        return m.size;
    };
    if std::mem::replace(seen, true) {
        0
    } else {
        m.size
    }
}

/// A child present in the final filesystem: its name, node and state.
type Entry<'a> = (&'a [u8], NodeId, Meta);

/// The children of `node` present in the final filesystem.
fn present_children(fs: &Fs, node: NodeId) -> Vec<Entry<'_>> {
    fs.children(node)
        .filter_map(|c| fs.final_state(c).map(|m| (fs.name(c), c, m)))
        .collect()
}

/// Compares the directories `a` and `b` (either may be missing) at `path`.
fn walk(
    a: &Fs,
    na: Option<NodeId>,
    b: &Fs,
    nb: Option<NodeId>,
    path: &str,
    counted: &mut Counted,
    out: &mut Vec<FileDiff>,
) {
    let mut left = na.map(|n| present_children(a, n)).unwrap_or_default();
    let mut right = nb.map(|n| present_children(b, n)).unwrap_or_default();
    left.sort_unstable_by(|x, y| x.0.cmp(y.0));
    right.sort_unstable_by(|x, y| x.0.cmp(y.0));
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let order = match (left.get(i), right.get(j)) {
            (Some(l), Some(r)) => l.0.cmp(r.0),
            (Some(_), None) => std::cmp::Ordering::Less,
            _ => std::cmp::Ordering::Greater,
        };
        let (l, r) = match order {
            std::cmp::Ordering::Less => (left.get(i).copied(), None),
            std::cmp::Ordering::Greater => (None, right.get(j).copied()),
            std::cmp::Ordering::Equal => (left.get(i).copied(), right.get(j).copied()),
        };
        if l.is_some() {
            i += 1;
        }
        if r.is_some() {
            j += 1;
        }
        let name = l
            .or(r)
            .map(|e| String::from_utf8_lossy(e.0))
            .unwrap_or_default();
        let child = format!("{path}/{name}");
        let dir = |e: Option<Entry<'_>>| e.filter(|e| e.2.is_dir()).map(|e| e.1);
        let (da, db) = (dir(l), dir(r));
        if da.is_some() || db.is_some() {
            walk(a, da, b, db, &child, counted, out);
        }
        let (fa, fb) = (
            l.as_ref().filter(|e| !e.2.is_dir()).map(|e| &e.2),
            r.as_ref().filter(|e| !e.2.is_dir()).map(|e| &e.2),
        );
        let bytes = (
            fa.map(|m| charge(m, &mut counted.a)),
            fb.map(|m| charge(m, &mut counted.b)),
        );
        if let Some(f) = file_diff(a, fa, b, fb, bytes, child) {
            out.push(f);
        }
    }
}

/// How the file at one path differs; `bytes` are what each image charges it with.
fn file_diff(
    a: &Fs,
    ma: Option<&Meta>,
    b: &Fs,
    mb: Option<&Meta>,
    bytes: (Option<u64>, Option<u64>),
    path: String,
) -> Option<FileDiff> {
    let (a_bytes, b_bytes) = bytes;
    let change = match (ma, mb) {
        (None, None) => return None,
        (None, Some(_)) => FileChange::Added,
        (Some(_), None) => FileChange::Removed,
        (Some(x), Some(y)) => {
            if !same_content(a, x, b, y) {
                FileChange::Changed
            } else if x.mode & 0o7777 != y.mode & 0o7777 || x.uid != y.uid || x.gid != y.gid {
                FileChange::MetadataOnly
            } else if a_bytes != b_bytes {
                // The same file, its bytes counted at another of its names in one image.
                FileChange::Changed
            } else {
                return None;
            }
        }
    };
    Some(FileDiff {
        path,
        change,
        a_bytes,
        b_bytes,
        delta_bytes: as_signed(b_bytes.unwrap_or(0)) - as_signed(a_bytes.unwrap_or(0)),
    })
}

fn same_content(a: &Fs, x: &Meta, b: &Fs, y: &Meta) -> bool {
    let file = |k: Kind| matches!(k, Kind::File | Kind::Hardlink);
    match (x.kind, y.kind) {
        (kx, ky) if file(kx) && file(ky) => x.size == y.size && x.hash == y.hash,
        (Kind::Symlink, Kind::Symlink) => a.link_target(x) == b.link_target(y),
        (kx, ky) => kx == ky,
    }
}

/// The totals over all differing files.
pub fn totals(files: &[FileDiff]) -> FileTotals {
    let mut t = FileTotals::default();
    for f in files {
        t.count(f);
    }
    t
}

/// Groups differing files by directory: the top-level groups, largest difference first.
pub fn group(files: &[FileDiff]) -> Vec<Group> {
    let mut root = Group::empty(String::new());
    for f in files {
        let dir = f.path.rsplit_once('/').map_or("", |(d, _)| d);
        let mut node = &mut root;
        let mut prefix = String::new();
        for part in dir.split('/').filter(|p| !p.is_empty()) {
            prefix.push('/');
            prefix.push_str(part);
            let pos = match node.groups.iter().position(|g| g.path == prefix) {
                Some(pos) => pos,
                None => {
                    node.groups.push(Group::empty(prefix.clone()));
                    node.groups.len() - 1
                }
            };
            node = &mut node.groups[pos];
        }
        node.files.push(f.clone());
    }
    root.finish();
    let mut top = root.groups;
    if !root.files.is_empty() {
        let mut files_at_root = Group::empty("/".to_string());
        files_at_root.files = root.files;
        files_at_root.finish();
        top.push(files_at_root);
        sort_groups(&mut top);
    }
    top
}

impl Group {
    fn empty(path: String) -> Group {
        Group {
            path,
            delta_bytes: 0,
            added: CountBytes::default(),
            removed: CountBytes::default(),
            changed: CountBytes::default(),
            metadata_only: CountBytes::default(),
            groups: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Sums, folds single-subdirectory chains and sorts, bottom up.
    fn finish(&mut self) {
        let mut t = totals(&self.files);
        for g in &mut self.groups {
            g.finish();
            t.merge(&g.totals());
        }
        self.added = t.added;
        self.removed = t.removed;
        self.changed = t.changed;
        self.metadata_only = t.metadata_only;
        self.delta_bytes = t.delta_bytes;
        for g in &mut self.groups {
            while g.files.is_empty() && g.groups.len() == 1 {
                let only = g.groups.remove(0);
                *g = only;
            }
        }
        sort_groups(&mut self.groups);
        self.files.sort_by(|x, y| {
            y.delta_bytes
                .unsigned_abs()
                .cmp(&x.delta_bytes.unsigned_abs())
                .then_with(|| x.path.cmp(&y.path))
        });
    }
}

fn sort_groups(groups: &mut [Group]) {
    groups.sort_by(|x, y| {
        y.delta_bytes
            .unsigned_abs()
            .cmp(&x.delta_bytes.unsigned_abs())
            .then_with(|| y.totals().touched().cmp(&x.totals().touched()))
            .then_with(|| x.path.cmp(&y.path))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::{LayerScan, TarEntry};

    fn diff_of(path: &str, change: FileChange, a: Option<u64>, b: Option<u64>) -> FileDiff {
        FileDiff {
            path: path.to_string(),
            change,
            a_bytes: a,
            b_bytes: b,
            delta_bytes: b.unwrap_or(0) as i64 - a.unwrap_or(0) as i64,
        }
    }

    #[test]
    fn groups_fold_chains_sum_below_and_sort_by_difference() {
        use FileChange::{Added, Changed, MetadataOnly, Removed};
        let files = vec![
            diff_of("/etc/deps.list", Changed, Some(30), Some(46)),
            diff_of("/opt/toolchain/bin/cc", Removed, Some(150), None),
            diff_of("/opt/toolchain/lib/libc.a", Removed, Some(120), None),
            diff_of("/opt/toolchain/libexec/cc1", Removed, Some(250), None),
            diff_of("/usr/lib/deps/libicu.so", Added, None, Some(40)),
            diff_of("/usr/lib/deps/libssl.so", Changed, Some(60), Some(65)),
            diff_of("/usr/local/bin/program", MetadataOnly, Some(12), Some(12)),
            diff_of("/README", Added, None, Some(3)),
        ];
        let groups = group(&files);
        let paths: Vec<&str> = groups.iter().map(|g| g.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/opt/toolchain", "/usr", "/etc", "/",],
            "largest |difference| first; /opt folds into /opt/toolchain"
        );
        let opt = &groups[0];
        assert_eq!(opt.delta_bytes, -520);
        assert_eq!(
            opt.removed,
            CountBytes {
                count: 3,
                bytes: 520,
                delta_bytes: -520
            }
        );
        assert_eq!(
            opt.groups
                .iter()
                .map(|g| g.path.as_str())
                .collect::<Vec<_>>(),
            [
                "/opt/toolchain/libexec",
                "/opt/toolchain/bin",
                "/opt/toolchain/lib"
            ]
        );
        assert_eq!(opt.all_files().len(), 3);
        // /usr holds two subtrees, so it stays; both are chains that fold.
        let usr = &groups[1];
        assert_eq!(usr.delta_bytes, 45);
        assert_eq!(
            usr.groups
                .iter()
                .map(|g| g.path.as_str())
                .collect::<Vec<_>>(),
            ["/usr/lib/deps", "/usr/local/bin"]
        );
        assert_eq!(
            usr.metadata_only,
            CountBytes {
                count: 1,
                bytes: 12,
                delta_bytes: 0
            }
        );
        assert_eq!(usr.added.count + usr.changed.count, 2);
        let deps = &usr.groups[0];
        assert_eq!(
            deps.files[0].path, "/usr/lib/deps/libicu.so",
            "largest first"
        );
        assert_eq!(groups[3].files[0].path, "/README");
        let t = totals(&files);
        assert_eq!(
            t.delta_bytes,
            groups.iter().map(|g| g.delta_bytes).sum::<i64>()
        );
        assert_eq!(t.files(), 8);
        assert_eq!(
            t.changed,
            CountBytes {
                count: 2,
                bytes: 111,
                delta_bytes: 21
            }
        );
    }

    #[test]
    fn no_differences_no_groups() {
        assert!(group(&[]).is_empty());
        assert_eq!(totals(&[]), FileTotals::default());
    }

    /// A filesystem of one layer: `(path, kind, size, content, mode, uid, link)`.
    fn fs(entries: &[(&str, Kind, &str, u32, u64, &str)]) -> Fs {
        let mut scan = LayerScan::new(0);
        for &(path, kind, content, mode, uid, link) in entries {
            let t = TarEntry {
                path: path.as_bytes().to_vec(),
                link: (!link.is_empty()).then(|| link.as_bytes().to_vec()),
                kind,
                mode,
                uid,
                gid: 0,
                mtime: 1,
                size: if kind == Kind::File {
                    content.len() as u64
                } else {
                    0
                },
            };
            scan.push(&t, xxhash_rust::xxh3::xxh3_64(content.as_bytes()))
                .expect("entry");
        }
        let mut fs = Fs::new();
        fs.apply(&scan);
        fs.finish();
        fs
    }

    #[test]
    fn files_differ_by_content_metadata_or_presence() {
        use Kind::{Dir, File, Symlink};
        let a = fs(&[
            ("same", File, "abc", 0o644, 0, ""),
            ("touched", File, "abc", 0o644, 0, ""),
            ("chmod", File, "abc", 0o644, 0, ""),
            ("chown", File, "abc", 0o644, 0, ""),
            ("content", File, "abc", 0o644, 0, ""),
            ("grows", File, "abc", 0o644, 0, ""),
            ("link", Symlink, "", 0o777, 0, "same"),
            ("kind", File, "abc", 0o644, 0, ""),
            ("gone/x", File, "12345", 0o644, 0, ""),
            ("dir2file/y", File, "1", 0o644, 0, ""),
            ("emptydir", Dir, "", 0o755, 0, ""),
        ]);
        let b = fs(&[
            ("same", File, "abc", 0o644, 0, ""),
            ("touched", File, "abc", 0o100644, 0, ""), // type bits only: the same
            ("chmod", File, "abc", 0o600, 0, ""),
            ("chown", File, "abc", 0o644, 1000, ""),
            ("content", File, "xyz", 0o644, 0, ""),
            ("grows", File, "abcdef", 0o644, 0, ""),
            ("link", Symlink, "", 0o777, 0, "grows"),
            ("kind", Symlink, "", 0o777, 0, "same"),
            ("dir2file", File, "22", 0o644, 0, ""),
            ("new/dir/z", File, "1234567", 0o644, 0, ""),
            ("otherdir", Dir, "", 0o755, 0, ""),
        ]);
        let got: Vec<(String, FileChange, i64)> = diff(&a, &b)
            .into_iter()
            .map(|f| (f.path, f.change, f.delta_bytes))
            .collect();
        use FileChange::{Added, Changed, MetadataOnly, Removed};
        let expected: Vec<(String, FileChange, i64)> = [
            ("/chmod", MetadataOnly, 0),
            ("/chown", MetadataOnly, 0),
            ("/content", Changed, 0),
            ("/dir2file/y", Removed, -1),
            ("/dir2file", Added, 2),
            ("/gone/x", Removed, -5),
            ("/grows", Changed, 3),
            ("/kind", Changed, -3),
            ("/link", Changed, 0),
            ("/new/dir/z", Added, 7),
        ]
        .into_iter()
        .map(|(p, c, d)| (p.to_string(), c, d))
        .collect();
        assert_eq!(got, expected);
    }
}

#[cfg(test)]
mod hard_link_tests {
    use super::*;
    use crate::layer::{LayerScan, TarEntry};

    /// One layer of `(path, content or hard-link target, is a hard link)`.
    fn fs(entries: &[(&str, &str, bool)]) -> Fs {
        let mut scan = LayerScan::new(0);
        for &(path, content, link) in entries {
            let t = TarEntry {
                path: path.as_bytes().to_vec(),
                link: link.then(|| content.as_bytes().to_vec()),
                kind: if link { Kind::Hardlink } else { Kind::File },
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: 1,
                size: if link { 0 } else { content.len() as u64 },
            };
            scan.push(&t, xxhash_rust::xxh3::xxh3_64(content.as_bytes()))
                .expect("entry");
        }
        let mut fs = Fs::new();
        fs.apply(&scan);
        fs.finish();
        fs
    }

    fn changes(a: &Fs, b: &Fs) -> Vec<(String, FileChange, Option<u64>, Option<u64>)> {
        diff(a, b)
            .into_iter()
            .map(|f| (f.path, f.change, f.a_bytes, f.b_bytes))
            .collect()
    }

    /// busybox: one binary, many names. Its bytes count once, at the first name in path order
    /// (`[` sorts before letters), so the difference is the binary's growth, not its growth
    /// (or size) times the names.
    #[test]
    fn a_hard_linked_file_counts_once() {
        let names = ["bin/cat", "bin/ls", "bin/[", "sbin/init"];
        let image = |binary: &'static str| {
            let mut entries = vec![("bin/busybox", binary, false)];
            entries.extend(names.iter().map(|&n| (n, "bin/busybox", true)));
            fs(&entries)
        };
        let (a, b) = (image("0123456789"), image("0123456789ab"));
        use FileChange::Changed;
        assert_eq!(
            changes(&a, &b),
            [
                ("/bin/[".to_string(), Changed, Some(10), Some(12)),
                ("/bin/busybox".to_string(), Changed, Some(0), Some(0)),
                ("/bin/cat".to_string(), Changed, Some(0), Some(0)),
                ("/bin/ls".to_string(), Changed, Some(0), Some(0)),
                ("/sbin/init".to_string(), Changed, Some(0), Some(0)),
            ]
        );
        let groups = group(&diff(&a, &b));
        assert_eq!(groups.iter().map(|g| g.delta_bytes).sum::<i64>(), 12 - 10);
    }

    /// The same file, hard-linked differently: where its bytes are counted moves, and both
    /// names say so, so the differences still add up (to 0 here).
    #[test]
    fn bytes_counted_at_another_name_are_a_difference() {
        let a = fs(&[("x", "abc", false), ("y", "x", true)]);
        let b = fs(&[("y", "abc", false)]);
        use FileChange::{Changed, Removed};
        assert_eq!(
            changes(&a, &b),
            [
                ("/x".to_string(), Removed, Some(3), None),
                ("/y".to_string(), Changed, Some(0), Some(3)),
            ]
        );
        assert_eq!(totals(&diff(&a, &b)).delta_bytes, 0);
        // Unchanged names stay out: the same links in both, nothing differs.
        assert!(diff(&a, &a).is_empty());
    }
}
