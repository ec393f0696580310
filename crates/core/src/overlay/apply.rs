//! Applying one layer, as containerd's and moby's appliers do (OCI image spec `layer.md`):
//! whiteouts and opaque markers first, against the layers below only; then the entries in tar
//! order, the last one for a path winning.

use smallvec::SmallVec;

use super::path::components;
use super::whiteout::{self, Marker};
use super::{
    Change, ChangeCounts, Event, FinalCounts, Fs, LayerFacts, Meta, NONE, Node, NodeId, ObjectId,
    ROOT, WhiteoutFact,
};
use crate::error::layer::ApplyError;
use crate::layer::{Kind, LayerScan, RawEntry};

/// Symlinks followed while resolving one path before giving up (Linux's limit).
const MAX_SYMLINK_HOPS: u32 = 40;
/// The longest symlink target Linux can create (`PATH_MAX` less its NUL): a runtime fails to
/// unpack a longer one, and strata would spend time and memory expanding it.
pub(super) const MAX_TARGET: usize = 4095;

fn check_hops(hops: u32) -> Result<(), ApplyError> {
    if hops > MAX_SYMLINK_HOPS {
        Err(ApplyError::SymlinkHops {
            limit: MAX_SYMLINK_HOPS,
        })
    } else {
        Ok(())
    }
}

/// The result of resolving one parent component.
enum Step {
    Dir(NodeId),
    Missing,
    Symlink(NodeId),
}

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

        // Pass 1: whiteouts hide lower layers only, wherever they sit in the tar.
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
                    let Some(meta) = self.current(node).copied() else {
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

        // Pass 2: the entries, in order.
        let mut cache = ParentCache::default();
        self.apply_entries(scan, layer, &mut facts, &mut cache, None);
        let k = usize::from(layer);
        self.layers[k] = facts;
    }

    /// Pass 2 over `scan`'s entries: everything but whiteout markers, in tar order. `base`
    /// collects what pass 1 would have recorded for the markers of a streamed base layer.
    fn apply_entries(
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

    /// Starts applying the base layer (layer 0) in batches, as it is read: nothing lies below
    /// it, so its whiteout markers hide nothing and pass 1 has nothing to do first. `None`
    /// when a layer was applied already.
    pub fn begin_base(&mut self) -> Option<BaseLayer> {
        if !self.layers.is_empty() {
            return None;
        }
        self.layers.push(LayerFacts::default());
        Some(BaseLayer {
            facts: LayerFacts::default(),
            markers: BaseMarkers::default(),
            cache: ParentCache::default(),
        })
    }

    /// Applies the next entries of the base layer, in tar order.
    pub fn apply_base_batch(&mut self, base: &mut BaseLayer, batch: &LayerScan) {
        base.facts.entries += batch.entries.len() as u64;
        self.reserve(batch.entries.len());
        let BaseLayer {
            facts,
            markers,
            cache,
        } = base;
        self.apply_entries(batch, 0, facts, cache, Some(markers));
    }

    /// Ends the base layer: the result equals [`Fs::apply`] on all its entries at once.
    pub fn end_base(&mut self, base: BaseLayer) {
        let BaseLayer {
            mut facts, markers, ..
        } = base;
        facts.opaque_dirs = markers.opaque_dirs;
        // Pass 1's warnings come first, as when the layer is applied whole.
        let mut warnings = markers.warnings;
        warnings.append(&mut facts.warnings);
        facts.warnings = warnings;
        self.layers[0] = facts;
    }

    /// Room for `entries` more paths in the tables, grown once per layer: growing them by
    /// doubling re-hashed every name and child several times over (12% of the CPU on a
    /// million paths).
    fn reserve(&mut self, entries: usize) {
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
            for e in &node.events {
                if let Some(facts) = self.layers.get_mut(usize::from(e.layer)) {
                    facts.nodes.push(id as NodeId);
                    facts.changes.count(e.change);
                }
            }
            if id != ROOT as usize
                && let Some(state) = node.events.last().map(|e| e.state)
                && state != NONE
            {
                finals.count(self.metas[state as usize].kind);
            }
        }
        self.finals = finals;
    }

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
                self.set_state(ROOT, layer, Some(meta));
            }
            return Ok(());
        };
        if !self.parent_cache {
            cache.clear();
        }
        let parent = match cache.lookup(prefix) {
            Some(ParentHit::Exact(node)) => node,
            Some(ParentHit::Below(node, rest)) => {
                let rest = components(rest);
                let p = self
                    .resolve_dir_from(node, &rest, layer, true)?
                    .ok_or(ApplyError::ParentMissing)?;
                cache.store(prefix, p);
                p
            }
            None => {
                let p = self
                    .resolve_dir(&components(prefix), layer, true)?
                    .ok_or(ApplyError::ParentMissing)?;
                cache.store(prefix, p);
                p
            }
        };
        let meta = match entry.kind() {
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
                    .current(node)
                    .copied()
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
        };
        let node = self.child_or_create(parent, last)?;
        // A new symlink, or a path changing kind (a directory replaced, so its subtree removed),
        // can change how later names resolve: forget the cached parent.
        if meta.kind == Kind::Symlink || self.current(node).is_some_and(|c| c.kind != meta.kind) {
            cache.clear();
        }
        if let Some(object) = meta.object()
            && self.objects[object as usize].node == NONE
        {
            self.objects[object as usize].node = node;
        }
        if let Some(cur) = self.current(node).copied()
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
        Ok(())
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

    /// The node's current state (after the layers applied so far).
    pub(super) fn current(&self, node: NodeId) -> Option<&Meta> {
        self.final_state(node)
    }

    fn child_or_create(&mut self, parent: NodeId, name: &[u8]) -> Result<NodeId, ApplyError> {
        let h = self.child_hash(parent, name);
        if let Some(n) = self.find_child_hashed(parent, name, h) {
            return Ok(n);
        }
        let id = NodeId::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id != NONE)
            .ok_or(ApplyError::TooManyPaths)?;
        let name_at = u32::try_from(self.names.len())
            .ok()
            .filter(|at| u64::from(*at) + name.len() as u64 <= u64::from(u32::MAX))
            .ok_or(ApplyError::NamesOver4GiB)?;
        self.names.extend_from_slice(name);
        let mut node = Node::new(name_at, parent);
        let last = self.nodes[parent as usize].last_child;
        if last == NONE {
            node.next_sibling = id;
        } else {
            // Into the circle after the last child, before the first.
            node.next_sibling = self.nodes[last as usize].next_sibling;
            self.nodes[last as usize].next_sibling = id;
        }
        self.nodes[parent as usize].last_child = id;
        self.nodes.push(node);
        self.index
            .insert_unique(super::intern::table_hash(h), (id, h), |&(_, sh)| {
                super::intern::table_hash(sh)
            });
        Ok(id)
    }

    /// One component: the child of `dir` called `name`, created as an implicit directory when
    /// missing and `create` is set.
    fn step(
        &mut self,
        dir: NodeId,
        name: &[u8],
        layer: u16,
        create: bool,
    ) -> Result<Step, ApplyError> {
        let existing = self.child(dir, name);
        let state = existing.and_then(|n| self.current(n).copied());
        match (existing, state) {
            (Some(n), Some(m)) => match m.kind {
                Kind::Dir => Ok(Step::Dir(n)),
                Kind::Symlink => Ok(Step::Symlink(n)),
                _ => Err(ApplyError::ParentNotDir {
                    name: String::from_utf8_lossy(name).into_owned(),
                }),
            },
            _ if !create => Ok(Step::Missing),
            (existing, _) => {
                let n = match existing {
                    Some(n) => n,
                    None => self.child_or_create(dir, name)?,
                };
                let meta = Meta {
                    kind: Kind::Dir,
                    hardlink: false,
                    implicit: true,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                    size: 0,
                    hash: 0,
                    object: NONE,
                    link: NONE,
                };
                self.set_state(n, layer, Some(meta));
                Ok(Step::Dir(n))
            }
        }
    }

    /// Resolves directory components from the root, following symlinks inside the image as a
    /// runtime does for parents (merged `/usr`: `lib/x` over `lib -> usr/lib` is `usr/lib/x`).
    /// `Ok(None)`: a component is missing and `create` is off.
    pub(super) fn resolve_dir(
        &mut self,
        comps: &[&[u8]],
        layer: u16,
        create: bool,
    ) -> Result<Option<NodeId>, ApplyError> {
        self.resolve_dir_from(ROOT, comps, layer, create)
    }

    /// [`Fs::resolve_dir`] from a directory already resolved (`comps` hold no `..`).
    fn resolve_dir_from(
        &mut self,
        start: NodeId,
        comps: &[&[u8]],
        layer: u16,
        create: bool,
    ) -> Result<Option<NodeId>, ApplyError> {
        let mut hops = 0;
        self.walk_dirs(start, comps, layer, create, &mut hops)
    }

    /// Walks `comps` from `start`: `..` climbs to the physical parent (the directory a symlink
    /// led to, as Linux resolves it), a symlink is followed ([`Fs::follow`]). `hops` counts
    /// the symlinks followed for the whole path.
    fn walk_dirs(
        &mut self,
        start: NodeId,
        comps: &[&[u8]],
        layer: u16,
        create: bool,
        hops: &mut u32,
    ) -> Result<Option<NodeId>, ApplyError> {
        let mut cur = start;
        for name in comps {
            match *name {
                b"" | b"." => continue,
                b".." => {
                    cur = self.parent(cur);
                    continue;
                }
                _ => {}
            }
            cur = match self.step(cur, name, layer, create)? {
                Step::Dir(n) => n,
                Step::Missing => return Ok(None),
                Step::Symlink(link) => match self.follow(link, layer, create, hops)? {
                    Some(n) => n,
                    None => return Ok(None),
                },
            };
        }
        Ok(Some(cur))
    }

    /// The directory a symlink leads to. Each resolution is remembered (with the hops it took)
    /// until something changes how paths resolve ([`Fs::set_state`] forgets them all), so that
    /// 20,000 entries below one chain of long symlinks expand it once, not 20,000 times.
    fn follow(
        &mut self,
        link: NodeId,
        layer: u16,
        create: bool,
        hops: &mut u32,
    ) -> Result<Option<NodeId>, ApplyError> {
        // Off with the parent cache, so the tests that compare both ways cover it too.
        if let Some(&(dir, taken)) = self.link_memo.get(&link).filter(|_| self.parent_cache) {
            *hops += taken;
            return check_hops(*hops).map(|()| Some(dir));
        }
        let before = *hops;
        *hops += 1;
        check_hops(*hops)?;
        // Targets are at most MAX_TARGET bytes (longer ones are refused when applied).
        let target = self
            .current(link)
            .and_then(|m| self.link_target(m))
            .unwrap_or_default()
            .to_vec();
        let start = if target.first() == Some(&b'/') {
            ROOT
        } else {
            self.parent(link)
        };
        let comps: SmallVec<[&[u8]; 16]> = target.split(|&b| b == b'/').collect();
        let dir = self.walk_dirs(start, &comps, layer, create, hops)?;
        if let Some(dir) = dir.filter(|_| self.parent_cache) {
            self.link_memo.insert(link, (dir, *hops - before));
        }
        Ok(dir)
    }

    /// A path named by a hard link (relative to the archive root): parents resolved, the last
    /// component taken as it is.
    fn resolve_existing(&mut self, target: &[u8], layer: u16) -> Option<NodeId> {
        let comps = components(target);
        let (last, dirs) = comps.split_last()?;
        let dir = self.resolve_dir(dirs, layer, false).ok()??;
        let node = self.child(dir, last)?;
        self.current(node).is_some().then_some(node)
    }

    /// Regular-file bytes at or below `node` in the current state.
    fn subtree_bytes(&self, node: NodeId) -> u64 {
        let mut total = 0;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            let Some(meta) = self.current(n) else {
                continue;
            };
            match meta.kind {
                Kind::File if !meta.hardlink => total += meta.size,
                Kind::Dir => stack.extend(self.children(n)),
                _ => {}
            }
        }
        total
    }

    /// Removes `node` and everything present below it.
    fn remove_subtree(&mut self, node: NodeId, layer: u16) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if self.current(n).is_none() {
                continue;
            }
            stack.extend(self.children(n));
            self.set_state(n, layer, None);
        }
    }

    /// Records the node's new state at `layer`, keeping one event per layer, classifying the
    /// change against the state below the layer, and keeping object reference counts.
    fn set_state(&mut self, node: NodeId, layer: u16, new: Option<Meta>) {
        let events = &self.nodes[node as usize].events;
        let last = events.last().copied();
        let (prev_state, replace) = match last {
            Some(e) if e.layer == layer => {
                let below = events.len().checked_sub(2).map(|i| events[i]);
                (below.map_or(NONE, |b| b.state), true)
            }
            Some(e) => (e.state, false),
            None => (NONE, false),
        };
        let cur_state = last.map_or(NONE, |e| e.state);
        if let Some(obj) = (cur_state != NONE)
            .then(|| self.metas[cur_state as usize].object())
            .flatten()
        {
            let o = &mut self.objects[obj as usize];
            o.refs -= 1;
            if o.refs == 0 {
                o.killed_by = layer;
            }
        }
        if let Some(obj) = new.and_then(|m| m.object()) {
            self.objects[obj as usize].refs += 1;
        }
        // A removal, a symlink or a change of kind can change how paths resolve; a path
        // created where nothing was cannot (no remembered resolution went through it).
        if !self.link_memo.is_empty() {
            let cur_kind = (cur_state != NONE).then(|| self.metas[cur_state as usize].kind);
            let changes_resolution = new
                .is_none_or(|m| m.kind == Kind::Symlink || cur_kind.is_some_and(|k| k != m.kind));
            if changes_resolution {
                self.link_memo.clear();
            }
        }
        let prev = (prev_state != NONE).then(|| self.metas[prev_state as usize]);
        let change = match (&prev, &new) {
            (None, None) => None,
            (Some(_), None) => Some(Change::Removed),
            (None, Some(_)) => Some(Change::Added),
            (Some(p), Some(n)) => Some(classify(p, n)),
        };
        let state = match new {
            Some(m) => {
                let i = self.metas.len() as u32;
                self.metas.push(m);
                i
            }
            None => NONE,
        };
        let events = &mut self.nodes[node as usize].events;
        if replace {
            events.pop();
        }
        if let Some(change) = change {
            events.push(Event {
                layer,
                change,
                state,
            });
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

/// The base layer while it is applied batch by batch ([`Fs::begin_base`]).
pub struct BaseLayer {
    facts: LayerFacts,
    markers: BaseMarkers,
    cache: ParentCache,
}

/// What pass 1 records for the base layer's markers. Over an empty filesystem only a marker at
/// the root finds its directory: an opaque one lists the root as emptied (of nothing), a bare
/// `.wh.` is reported; every other marker finds nothing and does nothing.
#[derive(Default)]
struct BaseMarkers {
    opaque_dirs: Vec<NodeId>,
    warnings: Vec<String>,
}

impl BaseMarkers {
    fn note(&mut self, marker: Marker, dirs: &[&[u8]], name: &[u8]) {
        if !dirs.is_empty() {
            return;
        }
        match marker {
            Marker::Opaque => self.opaque_dirs.push(ROOT),
            Marker::Invalid => self.warnings.push(invalid_marker(name)),
            Marker::Remove(_) | Marker::AufsMeta | Marker::None => {}
        }
    }
}

fn invalid_marker(name: &[u8]) -> String {
    format!(
        "{}: a bare whiteout marker names nothing; ignored",
        String::from_utf8_lossy(name)
    )
}

/// The parent directory resolved for the previous entry, keyed by the raw bytes of its name
/// before the last component. Tars list a directory's files together, so most entries resolve
/// their parent with one comparison instead of a hash lookup per component. Cleared whenever an
/// entry could change how a path resolves (a symlink, a kind change, a subtree removed).
#[derive(Default)]
struct ParentCache {
    prefix: Vec<u8>,
    node: Option<NodeId>,
}

enum ParentHit<'a> {
    /// The same parent.
    Exact(NodeId),
    /// Below the cached directory: resolve the rest from it.
    Below(NodeId, &'a [u8]),
}

impl ParentCache {
    fn lookup<'a>(&self, prefix: &'a [u8]) -> Option<ParentHit<'a>> {
        let node = self.node?;
        if prefix == self.prefix.as_slice() {
            return Some(ParentHit::Exact(node));
        }
        let rest = prefix.strip_prefix(self.prefix.as_slice())?;
        // Only at a component boundary, and never with `..` (it could climb above the cached
        // directory, and through a symlink `..` means the link's parent, not the target's).
        let boundary = self.prefix.is_empty() || self.prefix.last() == Some(&b'/');
        (boundary && !rest.split(|&b| b == b'/').any(|c| c == b".."))
            .then_some(ParentHit::Below(node, rest))
    }

    fn store(&mut self, prefix: &[u8], node: NodeId) {
        self.prefix.clear();
        self.prefix.extend_from_slice(prefix);
        self.node = Some(node);
    }

    fn clear(&mut self) {
        self.node = None;
    }
}

/// How `new` differs from `prev`, both present.
fn classify(prev: &Meta, new: &Meta) -> Change {
    if prev.kind != new.kind {
        return Change::Modified;
    }
    let owner_mode = prev.mode != new.mode || prev.uid != new.uid || prev.gid != new.gid;
    match new.kind {
        Kind::File => {
            let same_object = prev.object == new.object;
            let same_content = same_object || (prev.size == new.size && prev.hash == new.hash);
            if !same_content {
                Change::Modified
            } else if !same_object || owner_mode || prev.mtime != new.mtime {
                Change::Metadata
            } else {
                Change::Unchanged
            }
        }
        Kind::Symlink if prev.link != new.link => Change::Modified,
        // Directory mtimes move whenever a child changes; only owner and mode count.
        Kind::Dir => {
            if owner_mode {
                Change::Metadata
            } else {
                Change::Unchanged
            }
        }
        _ if owner_mode || prev.mtime != new.mtime => Change::Metadata,
        _ => Change::Unchanged,
    }
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
