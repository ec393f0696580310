//! Findings: what to change in the image's build, each measured on the image.
//!
//! Wasted bytes are grouped by the layer that shipped them and the layer that hid them (a later
//! `RUN rm`, `chmod`, or rewrite); visible bytes in well-known cache directories are reported
//! too, since a rebuild can drop them (here). The rest of the catalogue reads the final
//! filesystem, the config and the packages: `findings/build.rs` (build tools left in, cache
//! order, the build context copied in), `findings/duplicates.rs` (the same bytes at several
//! paths), `findings/config.rs` (root, setuid, world-writable, health check, layer sizes and
//! count), `findings/secrets.rs` (secrets in any layer, found as the layers were read, and in
//! the config's `Env`, labels and history).
//!
//! A finding is data: its kind (whose [`FindingKind::id`] is stable, for allow-lists and code
//! scanning), a severity, what happened, how many bytes and files, which layers and paths.
//! What it means and how to fix it, in words, is the printers' (`words::finding` in the report
//! module).

mod build;
#[cfg(test)]
mod catalogue_tests;
mod config;
mod duplicates;
mod secrets;

pub use build::{Leak, build_toolchain, cache_order, context_leaked, context_stage};
pub use config::{LARGE_LAYER, MANY_LAYERS, config_findings};
pub use duplicates::duplicates;
pub use secrets::{Place, Secret, config_secrets, file_secrets};

use hashbrown::HashMap;
use serde::Serialize;

use super::waste::Cause;
use crate::layer::Kind;
use crate::overlay::{Fs, Object, ROOT};

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Files shipped by one layer and deleted by a later one.
    DeletedLater,
    /// Files shipped again by a later layer only to change metadata (or with the same bytes).
    MetadataCopy,
    /// Files rewritten with other content by a later layer.
    Overwritten,
    /// A cache directory left in the final image.
    CacheLeft,
    /// Build-time packages (compilers, headers, build tools) in the final image.
    BuildToolchain,
    /// A broad `COPY .` before a dependency install: every source change reinstalls.
    CacheOrder,
    /// Files of the build context that belong in `.dockerignore` (`.git`, a host
    /// `node_modules`, `.env`, the Dockerfile).
    ContextLeaked,
    /// The same bytes at several paths.
    Duplicate,
    /// The image runs as root (no `USER`, or `USER root`/`0`).
    RunsAsRoot,
    /// Files with the setuid or setgid bit.
    SetuidFile,
    /// Files or directories anyone may write, outside the temporary directories.
    WorldWritable,
    /// No `HEALTHCHECK` in the config.
    NoHealthcheck,
    /// A layer larger than [`config::LARGE_LAYER`].
    LargeLayer,
    /// More layers than [`MANY_LAYERS`].
    ManyLayers,
    /// A secret in a file some layer ships, whether a later layer deletes it or not.
    Secret,
    /// A secret in the config: an `Env` value, a label, a build argument or command in the
    /// history.
    SecretInConfig,
}

impl FindingKind {
    /// Every kind, in the order rule lists show them.
    pub const ALL: [FindingKind; 16] = [
        FindingKind::DeletedLater,
        FindingKind::MetadataCopy,
        FindingKind::Overwritten,
        FindingKind::CacheLeft,
        FindingKind::BuildToolchain,
        FindingKind::CacheOrder,
        FindingKind::ContextLeaked,
        FindingKind::Duplicate,
        FindingKind::RunsAsRoot,
        FindingKind::SetuidFile,
        FindingKind::WorldWritable,
        FindingKind::NoHealthcheck,
        FindingKind::LargeLayer,
        FindingKind::ManyLayers,
        FindingKind::Secret,
        FindingKind::SecretInConfig,
    ];

    /// The stable id (allow-lists, SARIF rule ids, GitLab check names): the JSON `kind`,
    /// with dashes.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            FindingKind::DeletedLater => "deleted-later",
            FindingKind::MetadataCopy => "metadata-copy",
            FindingKind::Overwritten => "overwritten",
            FindingKind::CacheLeft => "cache-left",
            FindingKind::BuildToolchain => "build-toolchain",
            FindingKind::CacheOrder => "cache-order",
            FindingKind::ContextLeaked => "context-leaked",
            FindingKind::Duplicate => "duplicate",
            FindingKind::RunsAsRoot => "runs-as-root",
            FindingKind::SetuidFile => "setuid-file",
            FindingKind::WorldWritable => "world-writable",
            FindingKind::NoHealthcheck => "no-healthcheck",
            FindingKind::LargeLayer => "large-layer",
            FindingKind::ManyLayers => "many-layers",
            FindingKind::Secret => "secret",
            FindingKind::SecretInConfig => "secret-in-config",
        }
    }

    /// The kind an id names.
    #[must_use]
    pub fn from_id(id: &str) -> Option<FindingKind> {
        FindingKind::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Whether the finding is about bytes (size rules: no security severity in SARIF).
    #[must_use]
    pub fn is_size(self) -> bool {
        !matches!(
            self,
            FindingKind::RunsAsRoot
                | FindingKind::SetuidFile
                | FindingKind::WorldWritable
                | FindingKind::NoHealthcheck
                | FindingKind::ContextLeaked
                | FindingKind::Secret
                | FindingKind::SecretInConfig
        )
    }
}

/// How much a finding matters: `error` is a leak or a hole, `warning` what a reviewer should
/// not let through, `note` what is worth knowing. A tidy image (multi-stage, a small base, a
/// `USER`) has nothing at warning or above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Note, Severity::Warning, Severity::Error];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// The severity `text` names (`note`, `warning`, `error`; any case).
    #[must_use]
    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(text))
    }
}

/// Waste below this many bytes is a note, at or above it a warning: a megabyte is what a
/// reviewer would ask to be fixed; less is the noise of any build.
pub const WASTE_WARNING: u64 = 1 << 20;

/// The severity of bytes wasted or left: [`WASTE_WARNING`] decides.
#[must_use]
pub fn waste_severity(bytes: u64) -> Severity {
    if bytes >= WASTE_WARNING {
        Severity::Warning
    } else {
        Severity::Note
    }
}

/// One finding.
///
/// For the first three kinds both layers are given (the same layer when it ships a path twice)
/// and `cache` is `None`; for [`FindingKind::CacheLeft`], `cache` is the directory,
/// `shipped_by` the layer that shipped most of its bytes and `hidden_by` is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    pub bytes: u64,
    /// The layer that shipped the bytes (for the setuid and world-writable findings: the layer
    /// that set most of their modes).
    pub shipped_by: Option<usize>,
    /// The layer that hid them (deleted, copied up, rewrote).
    pub hidden_by: Option<usize>,
    /// A few of the paths involved, largest first.
    pub paths: Vec<String>,
    /// Files involved.
    pub files: u64,
    /// The cache directory a [`FindingKind::CacheLeft`] is about.
    pub cache: Option<Cache>,
    /// The packages a [`FindingKind::BuildToolchain`] is about, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    /// The layer whose change causes the finding: a [`FindingKind::CacheOrder`]'s broad
    /// `COPY`, which every source change rebuilds with the install above it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trigger: Option<usize>,
    /// What the config says, for a config finding: the `USER`, the layer count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What a [`FindingKind::Secret`] or [`FindingKind::SecretInConfig`] knows of its
    /// secret: the rule, where, its length and masked prefix, never the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
}

impl Finding {
    /// A finding of `kind` with no layer, path or byte yet.
    #[must_use]
    pub fn new(kind: FindingKind, severity: Severity) -> Finding {
        Finding {
            kind,
            severity,
            bytes: 0,
            shipped_by: None,
            hidden_by: None,
            paths: Vec::new(),
            files: 0,
            cache: None,
            packages: Vec::new(),
            trigger: None,
            value: None,
            secret: None,
        }
    }

    /// The layer a reader should look at: the one that hid the bytes (the line to change),
    /// else the one that shipped them, else the trigger.
    #[must_use]
    pub fn layer(&self) -> Option<usize> {
        self.hidden_by.or(self.shipped_by).or(self.trigger)
    }
}

/// Directories that hold caches builders leave behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cache {
    AptLists,
    AptArchives,
    Apk,
    Dnf,
    Yum,
    Pip,
    Npm,
    Yarn,
    GoBuild,
    CargoRegistry,
    Tmp,
    VarTmp,
}

impl Cache {
    /// Every cache directory, in the order they are looked for.
    pub const ALL: [Cache; 12] = [
        Cache::AptLists,
        Cache::AptArchives,
        Cache::Apk,
        Cache::Dnf,
        Cache::Yum,
        Cache::Pip,
        Cache::Npm,
        Cache::Yarn,
        Cache::GoBuild,
        Cache::CargoRegistry,
        Cache::Tmp,
        Cache::VarTmp,
    ];

    /// The directory's absolute path.
    #[must_use]
    pub fn dir(self) -> &'static str {
        match self {
            Cache::AptLists => "/var/lib/apt/lists",
            Cache::AptArchives => "/var/cache/apt/archives",
            Cache::Apk => "/var/cache/apk",
            Cache::Dnf => "/var/cache/dnf",
            Cache::Yum => "/var/cache/yum",
            Cache::Pip => "/root/.cache/pip",
            Cache::Npm => "/root/.npm",
            Cache::Yarn => "/usr/local/share/.cache/yarn",
            Cache::GoBuild => "/root/.cache/go-build",
            Cache::CargoRegistry => "/root/.cargo/registry",
            Cache::Tmp => "/tmp",
            Cache::VarTmp => "/var/tmp",
        }
    }
}

/// What layer `hidden` did to the path a wasted object was shipped at: removed it (or put
/// something other than a regular file there), shipped its bytes again with other metadata,
/// or other bytes. The finding blames that layer for that, whatever later layers did to the
/// path: a chmod copy deleted later is the chmod layer's metadata copy, and the deleting
/// layer's deletion of the copy. When the layer did not touch that path (the bytes were
/// reached through another hard-linked name, which it removed or replaced), the path's state
/// after that layer decides, not what a still later layer put there.
fn hidden_how(fs: &Fs, object: &Object, hidden: usize) -> Cause {
    let state = match fs.event_at(object.node, hidden) {
        Some(event) => fs.event_state(event),
        None => fs.state_at(object.node, hidden),
    };
    super::waste::cause_from(state, object)
}

/// Computes every finding of a filesystem, most bytes first (equal sizes by kind, then by
/// layers). Printers show the first few; how they order equal sizes is theirs (the text and
/// JSON faces sort them by their sentences).
pub fn compute(fs: &Fs) -> Vec<Finding> {
    /// A group's totals and its three largest files (by size, then first shipped): all that
    /// is shown of the tens of thousands a group may hold.
    struct Group {
        bytes: u64,
        files: u64,
        /// (size, position among the objects, node), largest first.
        largest: [Option<(u64, usize, crate::overlay::NodeId)>; 3],
    }
    let mut groups: HashMap<(FindingKind, usize, usize), Group> = HashMap::new();
    for (seq, object) in fs.objects().iter().enumerate() {
        if object.visible() || object.size == 0 {
            continue;
        }
        let Some(hidden) = object.killed_by().map(usize::from) else {
            continue;
        };
        let shipped = usize::from(object.layer);
        let kind = match hidden_how(fs, object, hidden) {
            Cause::Deleted => FindingKind::DeletedLater,
            Cause::MetadataOnly => FindingKind::MetadataCopy,
            Cause::Overwritten => FindingKind::Overwritten,
        };
        let g = groups.entry((kind, shipped, hidden)).or_insert(Group {
            bytes: 0,
            files: 0,
            largest: [None; 3],
        });
        g.bytes += object.size;
        g.files += 1;
        // Larger first; of equal sizes, the one shipped first (objects are in that order).
        if let Some(at) = g.largest.iter().position(|slot| {
            slot.is_none_or(|(size, at, _)| object.size > size || (object.size == size && seq < at))
        }) {
            g.largest[at..].rotate_right(1);
            g.largest[at] = Some((object.size, seq, object.node));
        }
    }
    let mut out: Vec<Finding> = groups
        .into_iter()
        .map(|((kind, shipped, hidden), g)| Finding {
            bytes: g.bytes,
            shipped_by: Some(shipped),
            hidden_by: Some(hidden),
            paths: g
                .largest
                .iter()
                .flatten()
                .map(|&(_, _, n)| fs.path(n))
                .collect(),
            files: g.files,
            ..Finding::new(kind, waste_severity(g.bytes))
        })
        .collect();
    out.extend(cache_findings(fs));
    sort(&mut out);
    out
}

/// One walk of the final filesystem for the findings that read it path by path: the modes
/// (setuid, world-writable) and the paths named as build-context files are.
#[must_use]
pub fn final_walk(fs: &Fs) -> (Vec<Finding>, Vec<Leak>) {
    let mut modes = config::Modes::new(fs);
    let mut leaks: Vec<Leak> = Vec::new();
    // (node, the leak it is at or below); the root has a state only when a layer carries `./`.
    let mut stack: Vec<(crate::overlay::NodeId, Option<usize>)> =
        fs.children(ROOT).map(|n| (n, None)).collect();
    while let Some((node, mut inside)) = stack.pop() {
        let Some(m) = fs.final_state(node) else {
            continue;
        };
        if inside.is_none()
            && let Some(leak) = build::leak_at(fs, node, &m)
        {
            inside = Some(leaks.len());
            leaks.push(leak);
        }
        // A leak's files and bytes are counted as the walk passes them, not by a walk of its own.
        if let Some(leak) = inside.and_then(|i| leaks.get_mut(i))
            && m.kind == crate::layer::Kind::File
        {
            leak.files += 1;
            if !m.hardlink {
                leak.bytes += m.size;
            }
        }
        if modes.visit(fs, node, &m) {
            stack.extend(fs.children(node).map(|c| (c, inside)));
        }
    }
    (modes.finish(), leaks)
}

/// Orders findings as every face lists them: most severe first, then most bytes, then by
/// kind and layers (a stable order for equal sizes).
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.bytes.cmp(&a.bytes))
            .then_with(|| {
                (a.kind, a.cache, a.shipped_by, a.hidden_by, &a.paths).cmp(&(
                    b.kind,
                    b.cache,
                    b.shipped_by,
                    b.hidden_by,
                    &b.paths,
                ))
            })
    });
}

/// Visible bytes under the known cache directories of the final filesystem.
fn cache_findings(fs: &Fs) -> Vec<Finding> {
    let mut out = Vec::new();
    for cache in Cache::ALL {
        let Some(node) = fs.lookup(cache.dir()) else {
            continue;
        };
        if !fs.final_state(node).is_some_and(|m| m.is_dir()) {
            continue;
        }
        // Σ of final regular files below, and the layer that shipped most of them.
        let (mut bytes, mut files) = (0u64, 0u64);
        let mut by_layer: HashMap<usize, u64> = HashMap::new();
        let mut biggest: Vec<(u64, crate::overlay::NodeId)> = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let Some(m) = fs.final_state(n) else {
                continue;
            };
            match m.kind {
                Kind::Dir => stack.extend(fs.children(n)),
                Kind::File if !m.hardlink => {
                    bytes += m.size;
                    files += 1;
                    if let Some(o) = m.object() {
                        *by_layer.entry(usize::from(fs.object(o).layer)).or_default() += m.size;
                    }
                    biggest.push((m.size, n));
                }
                _ => {}
            }
        }
        if bytes == 0 || node == ROOT {
            continue;
        }
        biggest.sort_by_key(|p| std::cmp::Reverse(p.0));
        out.push(Finding {
            bytes,
            // Of layers that shipped as many bytes, the first: the map's order is the hasher's,
            // which is seeded per process, and the same image must name the same layer.
            shipped_by: by_layer
                .iter()
                .max_by_key(|&(k, b)| (*b, std::cmp::Reverse(*k)))
                .map(|(k, _)| *k),
            hidden_by: None,
            paths: biggest.iter().take(3).map(|&(_, n)| fs.path(n)).collect(),
            files,
            cache: Some(cache),
            ..Finding::new(FindingKind::CacheLeft, waste_severity(bytes))
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::testkit::{E, build};

    type Blame = (FindingKind, Option<usize>, Option<usize>, u64);

    fn blames(fs: &Fs) -> Vec<Blame> {
        let mut found: Vec<Blame> = compute(fs)
            .iter()
            .map(|f| (f.kind, f.shipped_by, f.hidden_by, f.bytes))
            .collect();
        found.sort_by_key(|f| f.1);
        found
    }

    /// Layers that left as many bytes in a cache: the first of them is named, every time (the
    /// choice once followed the hash map's per-process order).
    #[test]
    fn a_cache_filled_equally_by_several_layers_names_the_first() {
        let layers: Vec<Vec<E>> = (0..6)
            .map(|k| {
                let name: &'static str = Box::leak(format!("tmp/f{k}").into_boxed_str());
                vec![E::Dir("tmp"), E::File(name, "same size")]
            })
            .collect();
        let refs: Vec<&[E]> = layers.iter().map(Vec::as_slice).collect();
        for _ in 0..32 {
            let fs = build(&refs);
            let caches: Vec<Option<usize>> = compute(&fs)
                .iter()
                .filter(|f| f.kind == FindingKind::CacheLeft)
                .map(|f| f.shipped_by)
                .collect();
            assert_eq!(caches, [Some(0)]);
        }
    }

    #[test]
    fn groups_by_cause_and_layers_with_the_three_largest_paths() {
        let fs = build(&[
            &[
                E::File("d/a", "xxxxx"),
                E::File("d/b", "xxxxxxxxx"),
                E::File("d/c", "yyyyy"),
                E::File("d/d", "yyyyyyyyy"),
                E::File("d/e", "z"),
                E::File("keep", "kept"),
            ],
            &[E::Wh("d")],
        ]);
        let found = compute(&fs);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::DeletedLater);
        assert_eq!((f.bytes, f.files), (29, 5));
        assert_eq!(
            (f.shipped_by, f.hidden_by, f.cache),
            (Some(0), Some(1), None)
        );
        // Largest first; of two of the same size, the one shipped first.
        assert_eq!(f.paths, ["/d/b", "/d/d", "/d/a"]);
    }

    #[test]
    fn each_cause_is_its_own_finding_largest_first() {
        let fs = build(&[
            &[
                E::File("gone", "0123456789"),
                E::File("rewritten", "old"),
                E::File("chmodded", "same bytes"),
            ],
            &[
                E::Wh("gone"),
                E::File("rewritten", "new content"),
                E::FileMode("chmodded", "same bytes", 0o600),
            ],
        ]);
        let kinds: Vec<(FindingKind, u64, Vec<String>)> = compute(&fs)
            .iter()
            .map(|f| (f.kind, f.bytes, f.paths.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                (FindingKind::DeletedLater, 10, vec!["/gone".to_string()]),
                (FindingKind::MetadataCopy, 10, vec!["/chmodded".to_string()]),
                (FindingKind::Overwritten, 3, vec!["/rewritten".to_string()]),
            ]
        );
    }

    /// A chmod layer copies a file up, a later layer deletes it: the chmod layer wasted the
    /// first copy by copying it (a metadata copy), the later layer wasted the copy by deleting
    /// it. Each layer is blamed for what it did, not for what became of the path in the end.
    #[test]
    fn a_chmod_copy_deleted_later_is_two_findings_each_on_its_own_layer() {
        let fs = build(&[
            &[E::File("f", "0123456789"), E::File("keep", "k")],
            &[E::FileMode("f", "0123456789", 0o600)],
            &[E::Wh("f")],
        ]);
        assert_eq!(
            blames(&fs),
            [
                (FindingKind::MetadataCopy, Some(0), Some(1), 10),
                (FindingKind::DeletedLater, Some(1), Some(2), 10),
            ]
        );
    }

    /// The same when the later layer deletes the file's directory and a still later one puts
    /// other bytes at the path: the deleting layer deleted the copy; what the path holds at the
    /// end was not its doing.
    #[test]
    fn a_chmod_copy_whose_directory_is_deleted_is_blamed_on_the_deleting_layer() {
        let fs = build(&[
            &[E::File("d/f", "0123456789"), E::File("keep", "k")],
            &[E::FileMode("d/f", "0123456789", 0o600)],
            &[E::Wh("d")],
            &[E::File("d/f", "other")],
        ]);
        assert_eq!(
            blames(&fs),
            [
                (FindingKind::MetadataCopy, Some(0), Some(1), 10),
                (FindingKind::DeletedLater, Some(1), Some(2), 10),
            ]
        );
    }

    /// Bytes kept alive by a hard link after their first name was deleted are hidden when the
    /// link goes: that layer deletes them, even if a still later layer writes other bytes at
    /// the first name.
    #[test]
    fn bytes_hidden_through_a_hard_link_are_blamed_on_what_that_layer_did() {
        let fs = build(&[
            &[
                E::File("f", "0123456789"),
                E::Hard("g", "f"),
                E::File("keep", "k"),
            ],
            &[E::Wh("f")],
            &[E::Wh("g")],
            &[E::File("f", "other")],
        ]);
        assert_eq!(
            blames(&fs),
            [(FindingKind::DeletedLater, Some(0), Some(2), 10)]
        );
    }

    /// A finding keeps its three largest paths and counts every file.
    #[test]
    fn at_most_three_paths_and_every_file_counted() {
        let fs = build(&[
            &[
                E::File("two/a", "aa"),
                E::File("two/b", "b"),
                E::File("four/a", "aaaa"),
                E::File("four/b", "bbb"),
                E::File("four/c", "cc"),
                E::File("four/d", "d"),
            ],
            &[E::Wh("two")],
            &[E::Wh("four")],
        ]);
        let found: Vec<(Option<usize>, u64, Vec<String>)> = compute(&fs)
            .into_iter()
            .map(|f| (f.hidden_by, f.files, f.paths))
            .collect();
        let paths = |p: &[&str]| p.iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(
            found,
            [
                (Some(2), 4, paths(&["/four/a", "/four/b", "/four/c"])),
                (Some(1), 2, paths(&["/two/a", "/two/b"])),
            ]
        );
    }

    #[test]
    fn a_cache_left_in_the_final_image_is_found() {
        let fs = build(&[
            &[E::File("bin/sh", "shell")],
            &[
                E::File("var/lib/apt/lists/a_Packages", "0123456789"),
                E::File("var/lib/apt/lists/b_Packages", "01234"),
            ],
        ]);
        let found = compute(&fs);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::CacheLeft);
        assert_eq!(f.cache, Some(Cache::AptLists));
        assert_eq!(
            (f.bytes, f.files, f.shipped_by, f.hidden_by),
            (15, 2, Some(1), None)
        );
        assert_eq!(
            f.paths,
            [
                "/var/lib/apt/lists/a_Packages",
                "/var/lib/apt/lists/b_Packages"
            ]
        );
    }

    /// Equal sizes come in a fixed order whatever the hash map's: by kind, then by layers.
    #[test]
    fn equal_sizes_are_ordered_by_kind_then_layers() {
        let fs = build(&[
            &[
                E::File("a", "0123456789"),
                E::File("b", "0123456789"),
                E::File("c", "0123456789"),
                E::File("keep", "k"),
            ],
            &[E::Wh("c"), E::FileMode("b", "0123456789", 0o600)],
            &[E::Wh("a")],
        ]);
        let found: Vec<Blame> = compute(&fs)
            .iter()
            .map(|f| (f.kind, f.shipped_by, f.hidden_by, f.bytes))
            .collect();
        assert_eq!(
            found,
            [
                (FindingKind::DeletedLater, Some(0), Some(1), 10),
                (FindingKind::DeletedLater, Some(0), Some(2), 10),
                (FindingKind::MetadataCopy, Some(0), Some(1), 10),
            ]
        );
    }
}
