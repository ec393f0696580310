//! Findings: where the waste comes from in Dockerfile terms, and how to fix it.
//!
//! Wasted bytes are grouped by the layer that shipped them and the layer that hid them (a later
//! `RUN rm`, `chmod`, or rewrite); visible bytes in well-known cache directories are reported
//! too, since a rebuild can drop them.

use hashbrown::HashMap;
use serde::Serialize;

use super::waste::Cause;
use crate::image::LayerRef;
use crate::layer::Kind;
use crate::overlay::{Fs, Object, ROOT};
use crate::report::short_command;
use crate::units::{count, size};

/// What kind of problem a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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
}

/// One finding, most bytes first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub bytes: u64,
    /// The layer that shipped the bytes.
    pub shipped_by: Option<usize>,
    /// The layer that hid them (deleted, copied up, rewrote).
    pub hidden_by: Option<usize>,
    /// A few of the paths involved, largest first.
    pub paths: Vec<String>,
    /// Files involved.
    pub files: u64,
    /// What happened and what to change, in one paragraph.
    pub message: String,
}

/// Directories that hold caches builders leave behind, with the fix for each.
const CACHES: &[(&str, &str)] = &[
    (
        "/var/lib/apt/lists",
        "add `&& rm -rf /var/lib/apt/lists/*` to the RUN that runs `apt-get update`",
    ),
    (
        "/var/cache/apt/archives",
        "add `&& apt-get clean` to the RUN that installs packages",
    ),
    ("/var/cache/apk", "use `apk add --no-cache`"),
    (
        "/var/cache/dnf",
        "add `&& dnf clean all` to the RUN that installs packages",
    ),
    (
        "/var/cache/yum",
        "add `&& yum clean all` to the RUN that installs packages",
    ),
    ("/root/.cache/pip", "use `pip install --no-cache-dir`"),
    (
        "/root/.npm",
        "add `&& npm cache clean --force`, or use a build stage",
    ),
    (
        "/usr/local/share/.cache/yarn",
        "add `&& yarn cache clean`, or use a build stage",
    ),
    (
        "/root/.cache/go-build",
        "build in a separate stage and COPY the binary",
    ),
    (
        "/root/.cargo/registry",
        "build in a separate stage and COPY the binary",
    ),
    (
        "/tmp",
        "remove temporary files in the RUN that creates them",
    ),
    (
        "/var/tmp",
        "remove temporary files in the RUN that creates them",
    ),
];

fn layer_name(layers: &[LayerRef], k: usize) -> String {
    match layers.get(k).and_then(|l| l.created_by.as_deref()) {
        Some(c) => format!("layer {k} (`{}`)", short_command(c, 60)),
        None => format!("layer {k}"),
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

/// Computes the findings of a filesystem, largest first, at most `limit`.
pub fn compute(fs: &Fs, layers: &[LayerRef], limit: usize) -> Vec<Finding> {
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
        .map(|((kind, shipped, hidden), g)| {
            let paths: Vec<String> = g
                .largest
                .iter()
                .flatten()
                .map(|&(_, _, n)| fs.path(n))
                .collect();
            let what = if g.files == 1 {
                paths.first().cloned().unwrap_or_default()
            } else if g.files > paths.len() as u64 {
                format!("{} files ({}, …)", g.files, paths.join(", "))
            } else {
                format!("{} files ({})", g.files, paths.join(", "))
            };
            let (s, h) = (layer_name(layers, shipped), layer_name(layers, hidden));
            let b = size(g.bytes);
            let message = match kind {
                _ if shipped == hidden => format!(
                    "{s} ships {what} twice in the same layer ({b} lost): write each file once"
                ),
                FindingKind::DeletedLater => format!(
                    "{h} deletes {what}, {b} that {s} shipped: delete them in the same RUN that \
                     creates them, or create them in a build stage and COPY only what is needed"
                ),
                FindingKind::MetadataCopy => format!(
                    "{h} ships {what} again with the same content ({b}), only to change \
                     metadata: set mode and owner where the files are created \
                     (COPY --chmod/--chown, or chmod/chown in the same RUN)"
                ),
                FindingKind::Overwritten => format!(
                    "{h} rewrites {what} that {s} shipped ({b} lost): produce the final content \
                     in one step"
                ),
                FindingKind::CacheLeft => String::new(),
            };
            Finding {
                kind,
                bytes: g.bytes,
                shipped_by: Some(shipped),
                hidden_by: Some(hidden),
                paths,
                files: g.files,
                message,
            }
        })
        .collect();
    out.extend(cache_findings(fs, layers));
    out.sort_by(|a, b| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.message.cmp(&b.message))
    });
    out.truncate(limit);
    out
}

/// Visible bytes under the known cache directories of the final filesystem.
fn cache_findings(fs: &Fs, layers: &[LayerRef]) -> Vec<Finding> {
    let mut out = Vec::new();
    for &(dir, fix) in CACHES {
        let Some(node) = fs.lookup(dir) else {
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
        let layer = by_layer.iter().max_by_key(|(_, b)| **b).map(|(k, _)| *k);
        let from = layer.map_or(String::new(), |k| {
            format!(", mostly from {}", layer_name(layers, k))
        });
        out.push(Finding {
            kind: FindingKind::CacheLeft,
            bytes,
            shipped_by: layer,
            hidden_by: None,
            paths: biggest.iter().take(3).map(|&(_, n)| fs.path(n)).collect(),
            files,
            message: format!(
                "{dir} holds {} in {} in the final image{from}: {fix}",
                size(bytes),
                count(files, "file", "files")
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::testkit::{E, build};

    fn refs(commands: &[&str]) -> Vec<LayerRef> {
        commands
            .iter()
            .enumerate()
            .map(|(index, c)| LayerRef {
                index,
                location: format!("blob{index}"),
                digest: None,
                diff_id: None,
                size: None,
                media_type: None,
                created_by: Some((*c).to_string()),
                comment: None,
                created: None,
            })
            .collect()
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
        let layers = refs(&["ADD rootfs.tar /", "RUN rm -rf /d"]);
        let found = compute(&fs, &layers, 20);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::DeletedLater);
        assert_eq!((f.bytes, f.files), (29, 5));
        assert_eq!((f.shipped_by, f.hidden_by), (Some(0), Some(1)));
        // Largest first; of two of the same size, the one shipped first.
        assert_eq!(f.paths, ["/d/b", "/d/d", "/d/a"]);
        assert!(
            f.message.starts_with(
                "layer 1 (`RUN rm -rf /d`) deletes 5 files (/d/b, /d/d, /d/a, …), 29 B that layer 0"
            ),
            "{}",
            f.message
        );
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
        let found = compute(&fs, &refs(&["COPY . /", "RUN fix"]), 20);
        let kinds: Vec<(FindingKind, u64, Vec<String>)> = found
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
        assert!(found[1].message.contains("only to change metadata"));
        assert_eq!(compute(&fs, &refs(&["COPY . /", "RUN fix"]), 2).len(), 2);
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
        let layers = refs(&["ADD rootfs.tar /", "RUN chmod 600 /f", "RUN rm /f"]);
        let mut found: Vec<(FindingKind, Option<usize>, Option<usize>, u64)> =
            compute(&fs, &layers, 20)
                .iter()
                .map(|f| (f.kind, f.shipped_by, f.hidden_by, f.bytes))
                .collect();
        found.sort_by_key(|f| f.1);
        assert_eq!(
            found,
            [
                (FindingKind::MetadataCopy, Some(0), Some(1), 10),
                (FindingKind::DeletedLater, Some(1), Some(2), 10),
            ]
        );
        let messages: Vec<String> = compute(&fs, &layers, 20)
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("layer 2 (`RUN rm /f`) deletes /f, 10 B that layer 1")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .all(|m| !m.starts_with("layer 1 (`RUN chmod 600 /f`) deletes")),
            "{messages:#?}"
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
        let layers = refs(&[
            "ADD rootfs.tar /",
            "RUN chmod 600 /d/f",
            "RUN rm -r /d",
            "COPY f /d/f",
        ]);
        let mut found: Vec<(FindingKind, Option<usize>, Option<usize>, u64)> =
            compute(&fs, &layers, 20)
                .iter()
                .map(|f| (f.kind, f.shipped_by, f.hidden_by, f.bytes))
                .collect();
        found.sort_by_key(|f| f.1);
        assert_eq!(
            found,
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
        let layers = refs(&["ADD rootfs.tar /", "RUN rm /f", "RUN rm /g", "COPY f /f"]);
        let found: Vec<(FindingKind, Option<usize>, Option<usize>, u64)> =
            compute(&fs, &layers, 20)
                .iter()
                .map(|f| (f.kind, f.shipped_by, f.hidden_by, f.bytes))
                .collect();
        assert_eq!(found, [(FindingKind::DeletedLater, Some(0), Some(2), 10)]);
    }

    /// The list of a finding's paths ends with "…" only when files are left out of it.
    #[test]
    fn an_ellipsis_only_when_files_are_left_out() {
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
        let found = compute(
            &fs,
            &refs(&["ADD / /", "RUN rm -r /two", "RUN rm -r /four"]),
            20,
        );
        let message = |hidden: usize| {
            found
                .iter()
                .find(|f| f.hidden_by == Some(hidden))
                .map(|f| f.message.clone())
                .unwrap_or_default()
        };
        assert!(
            message(1).contains("deletes 2 files (/two/a, /two/b), 3 B"),
            "{}",
            message(1)
        );
        assert!(
            message(2).contains("deletes 4 files (/four/a, /four/b, /four/c, …), 10 B"),
            "{}",
            message(2)
        );
    }

    #[test]
    fn a_cache_left_in_the_final_image_is_reported_with_its_fix() {
        let fs = build(&[
            &[E::File("bin/sh", "shell")],
            &[
                E::File("var/lib/apt/lists/a_Packages", "0123456789"),
                E::File("var/lib/apt/lists/b_Packages", "01234"),
            ],
        ]);
        let found = compute(&fs, &refs(&["ADD rootfs.tar /", "RUN apt-get update"]), 20);
        assert_eq!(found.len(), 1, "{found:#?}");
        let f = &found[0];
        assert_eq!(f.kind, FindingKind::CacheLeft);
        assert_eq!((f.bytes, f.files, f.shipped_by), (15, 2, Some(1)));
        assert_eq!(
            f.paths,
            [
                "/var/lib/apt/lists/a_Packages",
                "/var/lib/apt/lists/b_Packages"
            ]
        );
        assert!(
            f.message.contains("rm -rf /var/lib/apt/lists/*"),
            "{}",
            f.message
        );
        assert!(f.message.contains(" in 2 files in "), "{}", f.message);
        // One file is "1 file".
        let fs = build(&[
            &[E::File("bin/sh", "shell")],
            &[E::File("var/cache/apk/APKINDEX.tar.gz", "0123")],
        ]);
        let found = compute(&fs, &refs(&["ADD rootfs.tar /", "RUN apk add x"]), 20);
        assert!(
            found[0].message.contains(" holds 4 B in 1 file in "),
            "{}",
            found[0].message
        );
    }
}
