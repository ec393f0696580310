//! The union filesystem, rebuilt as a container runtime builds it, with every path's history.
//!
//! One arena of path nodes (name, parent, children). Each node keeps its short list of
//! [`Event`]s — the layers that added, changed or removed it, with the state it had after each.
//! That answers the three questions every face asks without rebuilding trees:
//! - the filesystem as of layer k: a binary search in each node's events ([`Fs::state_at`]);
//! - what layer k changed: the nodes listed in [`LayerFacts::nodes`], with [`Fs::event_at`];
//! - where bytes went: every regular-file entry is an [`Object`]; hard links share it, and its
//!   reference count says whether any path of the final filesystem still reaches it.

mod apply;
mod base;
pub mod intern;
mod lookup;
pub mod path;
mod resolve;
mod state;
mod stored;
pub mod whiteout;

#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
#[cfg(test)]
mod tests;

use hashbrown::{DefaultHashBuilder, HashTable};
use smallvec::SmallVec;

use crate::layer::Kind;
pub use base::BaseLayer;
pub use intern::{Interner, Sym};
use stored::Stored;

/// Index of a path node. The root is [`ROOT`].
pub type NodeId = u32;
/// The root directory.
pub const ROOT: NodeId = 0;
/// Index of an [`Object`].
pub type ObjectId = u32;
const NONE: u32 = u32::MAX;

/// How a layer changed a path, compared with the layer below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The path did not exist below.
    Added,
    /// Different content: another kind, other bytes, another link target.
    Modified,
    /// Same content, other metadata, or the same bytes shipped again (copy-up).
    Metadata,
    /// The layer carries the path but nothing about it changed (a parent directory repeated).
    Unchanged,
    /// Removed by a whiteout, an opaque directory or a replacement of a parent.
    Removed,
}

/// A node's state after one layer touched it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub layer: u16,
    pub change: Change,
    state: u32,
}

/// The metadata of a path in one state. Content is named by `object` (regular files). Built on
/// demand from the packed state the filesystem keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// `File` for regular files and hard links alike (see `hardlink`).
    pub kind: Kind,
    /// Created by a hard-link entry (shares its object with the target).
    pub hardlink: bool,
    /// A parent directory the layer did not carry, created implicitly (0755).
    pub implicit: bool,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// Content bytes (regular files).
    pub size: u64,
    /// xxh3 of the content (regular files).
    pub hash: u64,
    object: ObjectId,
    link: u32,
}

impl Meta {
    /// The object holding this file's content.
    pub fn object(self) -> Option<ObjectId> {
        (self.object != NONE).then_some(self.object)
    }

    pub fn is_dir(self) -> bool {
        self.kind == Kind::Dir
    }
}

/// Bytes shipped by one regular-file entry. Packed to 28 bytes (a million files are a million
/// of these): read its fields by value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C, packed(4))]
pub struct Object {
    pub size: u64,
    pub hash: u64,
    /// The path it was shipped at.
    pub node: NodeId,
    refs: u32,
    /// The layer that shipped it.
    pub layer: u16,
    killed_by: u16,
}

const _: () = assert!(std::mem::size_of::<Object>() == 28);

impl Object {
    /// Whether some path of the final filesystem reaches these bytes.
    pub fn visible(&self) -> bool {
        self.refs > 0
    }

    /// The layer that made these bytes unreachable, if one did.
    pub fn killed_by(&self) -> Option<u16> {
        (self.killed_by != u16::MAX).then_some(self.killed_by)
    }
}

/// A whiteout applied by a layer: what it removed, measured before the removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhiteoutFact {
    pub node: NodeId,
    /// The path held a directory.
    pub was_dir: bool,
    /// Regular-file bytes below (or at) the path before the removal.
    pub bytes: u64,
}

/// What applying one layer did.
#[derive(Debug, Clone, Default)]
pub struct LayerFacts {
    /// Tar entries, whiteout markers included.
    pub entries: u64,
    /// Σ content sizes of all entries (dive's layer size).
    pub tar_bytes: u64,
    /// Σ sizes of the regular files the layer ships (hard links excluded).
    pub shipped: u64,
    /// `.wh.NAME` markers that removed an existing path.
    pub whiteouts: Vec<WhiteoutFact>,
    /// Directories an opaque marker emptied of their lower contents.
    pub opaque_dirs: Vec<NodeId>,
    /// Nodes with an event at this layer, in node order (filled when all layers are applied).
    pub nodes: Vec<NodeId>,
    /// Those events by kind of change (filled with `nodes`).
    pub changes: ChangeCounts,
    /// Entries the layer carries that a runtime would refuse (with the reason).
    pub warnings: Vec<String>,
}

/// How many paths a layer changed, by kind of change ([`Change::Unchanged`] is not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeCounts {
    pub added: u64,
    pub modified: u64,
    pub metadata: u64,
    pub removed: u64,
}

impl ChangeCounts {
    fn count(&mut self, change: Change) {
        match change {
            Change::Added => self.added += 1,
            Change::Modified => self.modified += 1,
            Change::Metadata => self.metadata += 1,
            Change::Removed => self.removed += 1,
            Change::Unchanged => {}
        }
    }
}

/// The paths of the final filesystem by kind, the root excluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinalCounts {
    /// Regular files, hard links included.
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    /// Every path, whatever its kind.
    pub paths: u64,
}

impl FinalCounts {
    fn count(&mut self, kind: Kind) {
        self.paths += 1;
        match kind {
            Kind::File | Kind::Hardlink => self.files += 1,
            Kind::Dir => self.dirs += 1,
            Kind::Symlink => self.symlinks += 1,
            Kind::CharDevice | Kind::BlockDevice | Kind::Fifo => {}
        }
    }
}

/// 28 bytes: a million paths are a million of these. Children form a circular list through
/// `next_sibling`, entered at `last_child`, so appending keeps first-seen order in O(1)
/// without a vector per directory. Nearly every node has one event, kept inline; a node that
/// gets a second keeps them all in [`Fs::spilled`].
#[derive(Debug, Clone)]
struct Node {
    /// Where the name starts in [`Fs::names`]; it ends where the next node's starts.
    name_at: u32,
    parent: NodeId,
    /// The child added last (`NONE`: no children); its `next_sibling` is the first child.
    last_child: NodeId,
    /// The next child of the same parent, wrapping from the last to the first.
    next_sibling: NodeId,
    /// The only event while `spill` is `NONE` ([`NO_EVENT`]: none yet).
    event: Event,
    /// The node's events in [`Fs::spilled`] once it has had two (`NONE`: inline).
    spill: u32,
}

const _: () = assert!(std::mem::size_of::<Node>() == 28);

/// No layer has this number ([`crate::engine::MAX_LAYERS`] keeps them below it): an empty
/// inline event slot.
const NO_EVENT: Event = Event {
    layer: u16::MAX,
    change: Change::Unchanged,
    state: NONE,
};

/// The events of nodes that have more than one.
type Spilled = Vec<SmallVec<[Event; 3]>>;

impl Node {
    fn new(name_at: u32, parent: NodeId) -> Node {
        Node {
            name_at,
            parent,
            last_child: NONE,
            next_sibling: NONE,
            event: NO_EVENT,
            spill: NONE,
        }
    }

    /// The node's events, oldest first.
    fn events<'a>(&'a self, spilled: &'a Spilled) -> &'a [Event] {
        if self.spill != NONE {
            &spilled[self.spill as usize]
        } else if self.event.layer == NO_EVENT.layer {
            &[]
        } else {
            std::slice::from_ref(&self.event)
        }
    }
}

/// The children of a node, in the order they first appeared.
#[derive(Clone)]
pub struct Children<'a> {
    nodes: &'a [Node],
    next: NodeId,
    last: NodeId,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        if self.next == NONE {
            return None;
        }
        let cur = self.next;
        self.next = if cur == self.last {
            NONE
        } else {
            self.nodes[cur as usize].next_sibling
        };
        Some(cur)
    }
}

/// The union filesystem of an image and the history of every path in it.
#[derive(Debug, Clone)]
pub struct Fs {
    /// Every node's name, in node order (a node's name is written once, when it is created).
    /// Names are not interned: the child index finds a (parent, name) pair in one probe, where
    /// an interner took a second probe for every entry and a table as large as the index.
    names: Vec<u8>,
    /// Symlink targets.
    links: Interner,
    nodes: Vec<Node>,
    /// The events of every node that has more than one.
    spilled: Spilled,
    /// The child of a parent by name: node ids hashed by (parent, name bytes), each with 32
    /// bits of that hash so that growing the table never reads the nodes again.
    index: HashTable<(NodeId, u32)>,
    hasher: DefaultHashBuilder,
    /// Every state any event left, packed.
    metas: Vec<Stored>,
    objects: Vec<Object>,
    layers: Vec<LayerFacts>,
    /// Counted by [`Fs::finish`].
    finals: FinalCounts,
    /// Reuse the previous entry's parent directory (off only in tests that compare both ways).
    parent_cache: bool,
    /// Symlinks resolved to the directory they lead to, with the hops that took; forgotten
    /// whenever a path is removed or changes kind, or a symlink is set.
    link_memo: hashbrown::HashMap<NodeId, (NodeId, u32)>,
}

impl Default for Fs {
    fn default() -> Self {
        Fs::new()
    }
}

impl Fs {
    /// An empty filesystem: only the root directory.
    pub fn new() -> Self {
        Fs {
            names: Vec::new(),
            links: Interner::default(),
            nodes: vec![Node::new(0, ROOT)],
            spilled: Vec::new(),
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            metas: Vec::new(),
            objects: Vec::new(),
            layers: Vec::new(),
            finals: FinalCounts::default(),
            parent_cache: true,
            link_memo: hashbrown::HashMap::new(),
        }
    }

    /// Layers applied so far.
    pub fn layer_count(&self) -> usize {
        self.layers.len()
    }

    /// What applying layer `k` did.
    pub fn layer(&self, k: usize) -> &LayerFacts {
        &self.layers[k]
    }

    pub fn layers(&self) -> &[LayerFacts] {
        &self.layers
    }

    /// The final filesystem's paths by kind (counted by [`Fs::finish`]).
    pub fn final_counts(&self) -> FinalCounts {
        self.finals
    }

    /// Every path node ever seen (present or not at any given layer).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// All node ids.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        (0..self.nodes.len()).map(|i| i as NodeId)
    }

    pub fn objects(&self) -> &[Object] {
        &self.objects
    }

    pub fn object(&self, id: ObjectId) -> &Object {
        &self.objects[id as usize]
    }

    pub fn name(&self, node: NodeId) -> &[u8] {
        let i = node as usize;
        let start = self.nodes[i].name_at as usize;
        let end = self
            .nodes
            .get(i + 1)
            .map_or(self.names.len(), |n| n.name_at as usize);
        &self.names[start..end]
    }

    pub fn parent(&self, node: NodeId) -> NodeId {
        self.nodes[node as usize].parent
    }

    /// Children ever seen under `node`, in the order they first appeared.
    pub fn children(&self, node: NodeId) -> Children<'_> {
        let last = self.nodes[node as usize].last_child;
        Children {
            nodes: &self.nodes,
            next: if last == NONE {
                NONE
            } else {
                self.nodes[last as usize].next_sibling
            },
            last,
        }
    }

    /// The node's history, oldest first.
    pub fn events(&self, node: NodeId) -> &[Event] {
        self.nodes[node as usize].events(&self.spilled)
    }

    /// The metadata an event left (`None` when it removed the path).
    pub fn event_state(&self, event: &Event) -> Option<Meta> {
        self.stored(event).map(|s| s.view(&self.objects))
    }

    fn stored(&self, event: &Event) -> Option<&Stored> {
        (event.state != NONE).then(|| &self.metas[event.state as usize])
    }

    /// The path's state after layer `k` was applied (`None`: absent). The root is always a
    /// directory; it has a state only if a layer carried an entry for it.
    pub fn state_at(&self, node: NodeId, k: usize) -> Option<Meta> {
        let events = self.events(node);
        let after = events.partition_point(|e| usize::from(e.layer) <= k);
        after
            .checked_sub(1)
            .and_then(|i| self.event_state(&events[i]))
    }

    /// The event layer `k` left on the node, if it touched it.
    pub fn event_at(&self, node: NodeId, k: usize) -> Option<&Event> {
        let events = self.events(node);
        events
            .binary_search_by_key(&k, |e| usize::from(e.layer))
            .ok()
            .map(|i| &events[i])
    }

    /// The path's state in the final filesystem.
    pub fn final_state(&self, node: NodeId) -> Option<Meta> {
        self.events(node).last().and_then(|e| self.event_state(e))
    }

    /// Whether the node exists after layer `k` (the root always does).
    pub fn exists_at(&self, node: NodeId, k: usize) -> bool {
        let events = self.events(node);
        let after = events.partition_point(|e| usize::from(e.layer) <= k);
        node == ROOT
            || after
                .checked_sub(1)
                .is_some_and(|i| events[i].state != NONE)
    }

    /// A symlink's target.
    pub fn link_target(&self, meta: &Meta) -> Option<&[u8]> {
        (meta.link != NONE).then(|| self.links.get(Sym::from_raw(meta.link)))
    }

    /// The child of `parent` called `name`, if one was ever seen.
    pub fn child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.find_child_hashed(parent, name, self.child_hash(parent, name))
    }

    fn child_hash(&self, parent: NodeId, name: &[u8]) -> u32 {
        use std::hash::BuildHasher;
        intern::short_hash(self.hasher.hash_one((parent, name)))
    }

    /// [`Fs::child`] with the (parent, name) hash already computed.
    fn find_child_hashed(&self, parent: NodeId, name: &[u8], h: u32) -> Option<NodeId> {
        self.index
            .find(intern::table_hash(h), |&(id, sh)| {
                sh == h && self.nodes[id as usize].parent == parent && self.name(id) == name
            })
            .map(|&(id, _)| id)
    }

    /// The node at a `/`-separated path, looked up literally (no symlinks followed).
    pub fn lookup(&self, path: &str) -> Option<NodeId> {
        let mut node = ROOT;
        for part in path::components(path.as_bytes()) {
            node = self.child(node, part)?;
        }
        Some(node)
    }

    /// The absolute path of a node (`/usr/bin/env`), lossy where names are not UTF-8.
    pub fn path(&self, node: NodeId) -> String {
        let mut parts: SmallVec<[&[u8]; 16]> = SmallVec::new();
        let mut n = node;
        while n != ROOT {
            parts.push(self.name(n));
            n = self.parent(n);
        }
        parts.reverse();
        path::display(&parts)
    }

    /// Approximate heap bytes held by the model.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let spilled_heap: usize = self
            .spilled
            .iter()
            .filter(|e| e.spilled())
            .map(|e| e.capacity() * size_of::<Event>())
            .sum();
        self.nodes.capacity() * size_of::<Node>()
            + self.spilled.capacity() * size_of::<SmallVec<[Event; 3]>>()
            + spilled_heap
            + self.index.capacity() * (size_of::<(NodeId, u32)>() + 1)
            + self.metas.capacity() * size_of::<Stored>()
            + self.objects.capacity() * size_of::<Object>()
            + self.names.capacity()
            + self.links.heap_bytes()
    }
}
