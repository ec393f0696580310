//! Applying one layer, as containerd's and moby's appliers do (OCI image spec `layer.md`):
//! whiteouts and opaque markers first, against the layers below only; then the entries in tar
//! order, the last one for a path winning. Paths are resolved in `resolve.rs`, states recorded
//! in `state.rs`; `base.rs` applies the base layer while it is read.

use super::base::BaseMarkers;
use super::path::components;
use super::resolve::{ParentCache, ParentHit};
use super::stored::Stored;
use super::whiteout::{self, Marker};
use super::{
    ChangeCounts, FinalCounts, Fs, LayerFacts, Meta, NONE, NodeId, ObjectId, ROOT, WhiteoutFact,
};
use crate::error::layer::ApplyError;
use crate::layer::{Kind, LayerScan, RawEntry};

/// The longest symlink target Linux can create (`PATH_MAX` less its NUL): a runtime fails to
/// unpack a longer one, and strata would spend time and memory expanding it.
pub(super) const MAX_TARGET: usize = 4095;

impl Fs {
    /// Applies the next layer on top of the filesystem.
    ///
    /// Entries a runtime would refuse (a parent that is a file, a hard link to nothing) are
    /// skipped and reported in [`LayerFacts::warnings`]; nothing here fails.
    pub fn apply(&mut self, scan: &LayerScan) {
        let layer = u16::try_from(self.layers.len()).unwrap_or(u16::MAX);
        self.layers.push(LayerFacts::default());
        let mut facts = LayerFacts {
            entries: scan.entries.len() as u64,
            ..LayerFacts::default()
        };
        self.reserve(scan.entries.len());
        self.apply_markers(scan, layer, &mut facts);
        // Pass 2: the entries, in order.
        let mut cache = ParentCache::default();
        self.apply_entries(scan, layer, &mut facts, &mut cache, None);
        let k = usize::from(layer);
        self.layers[k] = facts;
    }

    /// Pass 1: whiteouts and opaque markers hide lower layers only, wherever they sit in the
    /// tar.
    fn apply_markers(&mut self, scan: &LayerScan, layer: u16, facts: &mut LayerFacts) {
        for entry in &scan.entries {
            let name = scan.name(entry);
            // Most entries are not markers: skip them without splitting the name.
            if !contains(name, whiteout::PREFIX) {
                continue;
            }
            let comps = components(name);
            let Some((last, dirs)) = comps.split_last() else {
                continue;
            };
            let marker = whiteout::classify(last);
            if marker == Marker::None {
                continue;
            }
            let dir = match self.resolve_dir(dirs, layer, false) {
                Ok(Some(d)) => d,
                Ok(None) | Err(_) => continue,
            };
            match marker {
                Marker::Opaque => {
                    let kids: Vec<NodeId> = self
                        .children(dir)
                        .filter(|&c| self.current(c).is_some())
                        .collect();
                    for kid in kids {
                        self.remove_subtree(kid, layer);
                    }
                    facts.opaque_dirs.push(dir);
                }
                Marker::Remove(target) => {
                    let Some(node) = self.child(dir, target) else {
                        continue;
                    };
                    let Some(meta) = self.current(node) else {
                        continue;
                    };
                    let bytes = self.subtree_bytes(node);
                    facts.whiteouts.push(WhiteoutFact {
                        node,
                        was_dir: meta.is_dir(),
                        bytes,
                    });
                    self.remove_subtree(node, layer);
                }
                Marker::Invalid => facts.warnings.push(invalid_marker(name)),
                Marker::AufsMeta | Marker::None => {}
            }
        }
    }

    /// Pass 2 over `scan`'s entries: everything but whiteout markers, in tar order. `base`
    /// collects what pass 1 would have recorded for the markers of a streamed base layer.
    pub(super) fn apply_entries(
        &mut self,
        scan: &LayerScan,
        layer: u16,
        facts: &mut LayerFacts,
        cache: &mut ParentCache,
        mut base: Option<&mut BaseMarkers>,
    ) {
        for entry in &scan.entries {
            facts.tar_bytes += entry.size;
            let name = scan.name(entry);
            let (last, prefix) = match split_last(name) {
                Some((prefix, last)) => (Some(last), prefix),
                // `.`, `..`, the root: split it whole.
                None => match components(name).last() {
                    Some(last) => (Some(*last), parent_prefix(name, last)),
                    None => (None, &name[..0]),
                },
            };
            if let Some(last) = last {
                let marker = whiteout::classify(last);
                if marker != Marker::None {
                    if let Some(base) = base.as_deref_mut() {
                        base.note(marker, &components(prefix), name);
                    }
                    continue;
                }
            }
            if let Err(why) = self.apply_entry(scan, entry, last, prefix, layer, facts, cache) {
                facts.warnings.push(format!(
                    "{}: {why}; entry skipped",
                    super::path::display(&components(name))
                ));
            }
        }
    }

    /// Room for `entries` more paths in the tables, grown once per layer: growing them by
    /// doubling re-hashed every name and child several times over (12% of the CPU on a
    /// million paths).
    pub(super) fn reserve(&mut self, entries: usize) {
        self.index
            .reserve(entries, |&(_, sh)| super::intern::table_hash(sh));
    }

    /// Fills [`LayerFacts::nodes`] and [`LayerFacts::changes`] for every layer and counts the
    /// final filesystem's paths, in one pass over the nodes. Call once all layers are applied.
    pub fn finish(&mut self) {
        for facts in &mut self.layers {
            facts.nodes.clear();
            facts.changes = ChangeCounts::default();
        }
        let mut finals = FinalCounts::default();
        for (id, node) in self.nodes.iter().enumerate() {
            let events = node.events(&self.spilled);
            for e in events {
                if let Some(facts) = self.layers.get_mut(usize::from(e.layer)) {
                    facts.nodes.push(id as NodeId);
                    facts.changes.count(e.change);
                }
            }
            if id != ROOT as usize
                && let Some(state) = events.last().map(|e| e.state)
                && state != NONE
            {
                finals.count(self.metas[state as usize].kind());
            }
        }
        self.finals = finals;
    }

    /// Applies one entry that is not a whiteout marker, named `prefix` + `last` (`last` is
    /// `None` for the root itself). An entry a runtime would refuse is left out, and the error
    /// says why.
    #[allow(clippy::too_many_arguments)]
    fn apply_entry(
        &mut self,
        scan: &LayerScan,
        entry: &RawEntry,
        last: Option<&[u8]>,
        prefix: &[u8],
        layer: u16,
        facts: &mut LayerFacts,
        cache: &mut ParentCache,
    ) -> Result<(), ApplyError> {
        let Some(last) = last else {
            // The root itself: only its metadata can change.
            if entry.kind() == Kind::Dir {
                let meta = self.meta_for(entry, NONE, NONE);
                self.set_state(ROOT, layer, Some(Stored::pack(&meta)));
            }
            return Ok(());
        };
        if !self.parent_cache {
            cache.clear();
        }
        let parent = self.parent_dir(prefix, layer, cache)?;
        let meta = Stored::pack(&self.entry_meta(scan, entry, layer, facts)?);
        let node = self.child_or_create(parent, last)?;
        self.place(node, meta, layer, cache);
        Ok(())
    }

    /// The directory whose raw name is `prefix`, its missing components created: straight from
    /// `cache` when the previous entry resolved it, or resolved from the cached directory when
    /// it lies below that one.
    #[inline]
    fn parent_dir(
        &mut self,
        prefix: &[u8],
        layer: u16,
        cache: &mut ParentCache,
    ) -> Result<NodeId, ApplyError> {
        // The symlinks followed to the cached directory count towards the limit as if the
        // whole name were resolved from the root.
        let (start, comps, mut hops) = match cache.lookup(prefix) {
            Some(ParentHit::Exact(node)) => return Ok(node),
            Some(ParentHit::Below(node, hops, rest)) => (node, components(rest), hops),
            None => (ROOT, components(prefix), 0),
        };
        let parent = self
            .walk_dirs(start, &comps, layer, true, &mut hops)?
            .ok_or(ApplyError::ParentMissing)?;
        cache.store(prefix, parent, hops);
        Ok(parent)
    }

    /// The state `entry` gives its path: a regular file's content becomes a new object, a hard
    /// link takes its target's state, a symlink's target is interned.
    #[inline]
    fn entry_meta(
        &mut self,
        scan: &LayerScan,
        entry: &RawEntry,
        layer: u16,
        facts: &mut LayerFacts,
    ) -> Result<Meta, ApplyError> {
        Ok(match entry.kind() {
            Kind::File => {
                facts.shipped += entry.size;
                let object = self.objects.len() as ObjectId;
                self.objects.push(super::Object {
                    size: entry.size,
                    hash: entry.hash,
                    layer,
                    node: NONE,
                    refs: 0,
                    killed_by: u16::MAX,
                });
                self.meta_for(entry, object, NONE)
            }
            Kind::Hardlink => {
                let target = scan.link(entry).unwrap_or_default();
                let node = self.resolve_existing(target, layer).ok_or_else(|| {
                    ApplyError::HardlinkMissing {
                        target: String::from_utf8_lossy(target).into_owned(),
                    }
                })?;
                let existing = self
                    .final_state(node)
                    .ok_or(ApplyError::HardlinkToNothing)?;
                if existing.is_dir() {
                    return Err(ApplyError::HardlinkToDir);
                }
                Meta {
                    hardlink: true,
                    implicit: false,
                    ..existing
                }
            }
            Kind::Symlink => {
                let target = scan.link(entry).unwrap_or_default();
                if target.len() > MAX_TARGET {
                    return Err(ApplyError::SymlinkTarget {
                        len: target.len(),
                        limit: MAX_TARGET,
                    });
                }
                let link = self.links.intern(target)?.raw();
                self.meta_for(entry, NONE, link)
            }
            _ => self.meta_for(entry, NONE, NONE),
        })
    }

    /// Gives `node` the state `meta` at `layer`: a file's object learns its first path, and a
    /// directory replaced by anything else loses its subtree.
    #[inline]
    fn place(&mut self, node: NodeId, meta: Stored, layer: u16, cache: &mut ParentCache) {
        // A new symlink, or a path changing kind (a directory replaced, so its subtree removed),
        // can change how later names resolve: forget the cached parent.
        let current = self.current(node);
        if meta.kind() == Kind::Symlink || current.is_some_and(|c| c.kind() != meta.kind()) {
            cache.clear();
        }
        if let Some(object) = meta.object()
            && self.objects[object as usize].node == NONE
        {
            self.objects[object as usize].node = node;
        }
        if let Some(cur) = current
            && cur.is_dir()
            && !meta.is_dir()
        {
            // Anything but a directory over a directory replaces the whole subtree.
            let kids: Vec<NodeId> = self.children(node).collect();
            for kid in kids {
                if self.current(kid).is_some() {
                    self.remove_subtree(kid, layer);
                }
            }
        }
        self.set_state(node, layer, Some(meta));
    }

    fn meta_for(&self, entry: &RawEntry, object: ObjectId, link: u32) -> Meta {
        Meta {
            kind: entry.kind(),
            hardlink: false,
            implicit: false,
            mode: entry.mode(),
            uid: entry.uid,
            gid: entry.gid,
            mtime: entry.mtime,
            size: if entry.kind() == Kind::File {
                entry.size
            } else {
                0
            },
            hash: entry.hash,
            object,
            link,
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// A name's parent prefix (its raw bytes before the last component) and last component, when
/// that component is a plain name; `None` when it is empty, `.` or `..` (the root, or a name
/// that [`components`] must normalise whole). The parent's components are then exactly
/// `components(prefix)`, so entries whose parent was resolved just before need no split.
fn split_last(name: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = name.iter().rposition(|&b| b != b'/')? + 1;
    let at = memchr::memrchr(b'/', &name[..end]).map_or(0, |i| i + 1);
    let last = &name[at..end];
    (last != b"." && last != b"..").then_some((&name[..at], last))
}

/// The bytes of `name` before its last component (`last` is a slice of `name`). The parent
/// components of `name` are exactly the components of this prefix.
fn parent_prefix<'a>(name: &'a [u8], last: &[u8]) -> &'a [u8] {
    let at = (last.as_ptr() as usize).saturating_sub(name.as_ptr() as usize);
    &name[..at.min(name.len())]
}

pub(super) fn invalid_marker(name: &[u8]) -> String {
    format!(
        "{}: a bare whiteout marker names nothing; ignored",
        String::from_utf8_lossy(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The fast split agrees with the general one on every name it accepts, and declines
        /// only names whose last component is `.`, `..` or nothing.
        #[test]
        fn split_last_agrees_with_components(name in "[ab./]{0,12}") {
            let name = name.as_bytes();
            let comps = components(name);
            match split_last(name) {
                Some((prefix, last)) => {
                    let mut joined = components(prefix);
                    joined.push(last);
                    prop_assert_eq!(&joined, &comps);
                    let general = comps.last().copied().unwrap_or_default();
                    prop_assert_eq!(parent_prefix(name, general), prefix);
                }
                None => {
                    let raw_last = name
                        .split(|&b| b == b'/')
                        .rfind(|c| !c.is_empty())
                        .unwrap_or_default();
                    prop_assert!(matches!(raw_last, b"" | b"." | b".."), "{:?}", raw_last);
                }
            }
        }
    }
}
