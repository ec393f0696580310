//! The file-tree view model: which paths show for a layer and mode, their diff colour and size,
//! collapse, filters and sorting — a plain data structure, tested without a terminal.
//!
//! Per-node arrays are recomputed in one pass over the node ids when the layer or mode changes
//! (parents always have smaller ids than their children, so a descending pass accumulates
//! sizes and marks ancestors). Rows are rebuilt from them when collapse, filter, hidden diff
//! types or the sort change. Drawing then reads only the rows on screen.

use std::collections::HashSet;

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;

use crate::layer::Kind;
use crate::overlay::{Change, Fs, Meta, NodeId, ROOT};

/// Which tree the pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The paths the selected layer changed (and their parents).
    Layer,
    /// The merged filesystem as of the selected layer, coloured against the first layer.
    Aggregated,
}

/// The kinds of change in the order the legend lists them, which is also the order of
/// [`Options::hidden`].
pub const LEGEND: [Change; 5] = [
    Change::Added,
    Change::Modified,
    Change::Metadata,
    Change::Removed,
    Change::Unchanged,
];

/// A change's place in [`LEGEND`].
pub fn slot(change: Change) -> usize {
    match change {
        Change::Added => 0,
        Change::Modified => 1,
        Change::Metadata => 2,
        Change::Removed => 3,
        Change::Unchanged => 4,
    }
}

/// What the legend and the history call a change.
pub fn label(change: Change) -> &'static str {
    match change {
        Change::Added => "added",
        Change::Modified => "modified",
        Change::Metadata => "metadata",
        Change::Removed => "removed",
        Change::Unchanged => "unchanged",
    }
}

/// Sort order of siblings (directories and files mixed, as dive does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    SizeDesc,
}

/// A path filter: substring, or a regular expression when it parses as one and the user asked;
/// or the nodes a package owns (`pkg:NAME`, which the explorer resolves).
#[derive(Debug, Clone)]
pub enum Filter {
    Substring(Box<memchr::memmem::Finder<'static>>),
    Regex(regex::bytes::Regex),
    /// Per node: kept.
    Nodes(std::sync::Arc<[bool]>),
}

impl Filter {
    /// A substring filter, or `re:` followed by a regular expression.
    pub fn parse(text: &str) -> Result<Option<Filter>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        if let Some(re) = text.strip_prefix("re:") {
            return regex::bytes::Regex::new(re)
                .map(|r| Some(Filter::Regex(r)))
                .map_err(|e| {
                    // The crate's message ends with a line `error: what`.
                    let e = e.to_string();
                    let last = e.lines().last().unwrap_or("bad regex");
                    last.strip_prefix("error: ").unwrap_or(last).to_string()
                });
        }
        Ok(Some(Filter::Substring(Box::new(
            memchr::memmem::Finder::new(text.as_bytes()).into_owned(),
        ))))
    }

    fn matches(&self, node: NodeId, path: &[u8]) -> bool {
        match self {
            Filter::Substring(f) => f.find(path).is_some(),
            Filter::Regex(r) => r.is_match(path),
            Filter::Nodes(keep) => keep.get(node as usize).copied().unwrap_or(false),
        }
    }
}

/// One line of the tree pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub node: NodeId,
    pub depth: u16,
    /// How the path differs, for its colour: from the layer below (layer mode) or from the
    /// first layer (aggregated).
    pub diff: Change,
    /// File size, or the sum of the sizes below a directory.
    pub size: u64,
    pub is_dir: bool,
    /// The directory is collapsed (its children are not listed).
    pub collapsed: bool,
    /// This is the last visible child of its parent (`└──`).
    pub last: bool,
    /// Bit d: the ancestor at depth d has siblings below it (draw `│`).
    pub guides: u64,
    /// The row itself matches the filter (parents kept for context do not).
    pub matched: bool,
}

/// Children of every node sorted by name, computed once per image.
#[derive(Debug, Clone)]
pub struct Index {
    offsets: Vec<u32>,
    kids: Vec<NodeId>,
}

impl Index {
    pub fn new(fs: &Fs) -> Index {
        let n = fs.node_count();
        let mut offsets = Vec::with_capacity(n + 1);
        let mut kids = Vec::with_capacity(n);
        for node in fs.node_ids() {
            offsets.push(kids.len() as u32);
            let start = kids.len();
            kids.extend(fs.children(node));
            kids[start..].sort_by(|&a, &b| fs.name(a).cmp(fs.name(b)));
        }
        offsets.push(kids.len() as u32);
        Index { offsets, kids }
    }

    pub fn children(&self, node: NodeId) -> &[NodeId] {
        let i = node as usize;
        &self.kids[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

/// Everything that decides which rows show.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    pub layer: usize,
    /// Per kind of change, in [`LEGEND`] order: its rows are hidden.
    pub hidden: [bool; 5],
    pub sort: Sort,
    pub filter: Option<Filter>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Layer,
            layer: 0,
            hidden: [false; 5],
            sort: Sort::Name,
            filter: None,
        }
    }
}

/// The tree pane's state: per-node facts for the current layer and mode, and the rows.
#[derive(Debug, Clone)]
pub struct Tree {
    index: Index,
    pub options: Options,
    /// Per node: how it differs, `None` when it is not shown in this layer and mode.
    diff: Vec<Option<Change>>,
    size: Vec<u64>,
    /// Per node: kept by the filter and the hidden diff types.
    visible: Vec<bool>,
    matched: Vec<bool>,
    /// Per node: some child is shown in this layer and mode.
    has_kid: Vec<bool>,
    pub collapsed: HashSet<NodeId>,
    pub rows: Vec<Row>,
    /// Rows matching the filter (when one is set).
    pub match_count: usize,
    /// Which (mode, layer) the per-node arrays hold.
    computed: Option<(Mode, usize)>,
}

impl Tree {
    pub fn new(fs: &Fs) -> Tree {
        let n = fs.node_count();
        let mut tree = Tree {
            index: Index::new(fs),
            options: Options::default(),
            diff: vec![None; n],
            size: vec![0; n],
            visible: vec![false; n],
            matched: vec![false; n],
            has_kid: vec![false; n],
            collapsed: HashSet::new(),
            rows: Vec::new(),
            match_count: 0,
            computed: None,
        };
        tree.refresh(fs);
        tree
    }

    /// Recomputes what changed since the last call: per-node facts when the layer or mode
    /// changed, then visibility and rows.
    pub fn refresh(&mut self, fs: &Fs) {
        let key = (self.options.mode, self.options.layer);
        if self.computed != Some(key) {
            self.compute_nodes(fs);
            self.computed = Some(key);
        }
        self.compute_visible(fs);
        self.build_rows(fs);
    }

    /// The displayed state of a node: its metadata at the layer, or before it for removed rows.
    pub fn meta(&self, fs: &Fs, node: NodeId) -> Option<Meta> {
        let k = self.options.layer;
        fs.state_at(node, k)
            .or_else(|| k.checked_sub(1).and_then(|p| fs.state_at(node, p)))
            .or_else(|| fs.state_at(node, 0))
    }

    /// The diff of a node in the current view (None when not shown).
    pub fn diff_of(&self, node: NodeId) -> Option<Change> {
        self.diff[node as usize]
    }

    /// Size shown for a node (sum below for directories).
    pub fn size_of(&self, node: NodeId) -> u64 {
        self.size[node as usize]
    }

    fn compute_nodes(&mut self, fs: &Fs) {
        let k = self.options.layer;
        let n = fs.node_count();
        self.diff.clear();
        self.diff.resize(n, None);
        self.size.clear();
        self.size.resize(n, 0);
        self.has_kid.clear();
        self.has_kid.resize(n, false);
        match self.options.mode {
            Mode::Layer => {
                if let Some(facts) = fs.layers().get(k) {
                    for &node in &facts.nodes {
                        if let Some(e) = fs.event_at(node, k)
                            && e.change != Change::Unchanged
                        {
                            self.diff[node as usize] = Some(e.change);
                        }
                    }
                }
            }
            Mode::Aggregated => {
                for node in fs.node_ids() {
                    let base = fs.state_at(node, 0);
                    let now = fs.state_at(node, k);
                    let d = match (base, now) {
                        (None, None) => continue,
                        (None, Some(_)) => Change::Added,
                        (Some(_), None) => Change::Removed,
                        (Some(a), Some(b)) => compare(fs, &a, &b),
                    };
                    self.diff[node as usize] = Some(d);
                }
            }
        }
        self.diff[ROOT as usize] = Some(Change::Unchanged);
        // Descending ids visit children before parents: mark parents for context and add
        // sizes up.
        for node in (1..n).rev() {
            let Some(d) = self.diff[node] else {
                continue;
            };
            let parent = fs.parent(node as NodeId) as usize;
            self.has_kid[parent] = true;
            if self.diff[parent].is_none() {
                self.diff[parent] = Some(Change::Unchanged);
            }
            let (own, linked) = match self.meta(fs, node as NodeId) {
                Some(m) if m.kind == Kind::File => (m.size, m.hardlink),
                _ => (0, false),
            };
            self.size[node] += own;
            let parent_removed = self.diff[parent] == Some(Change::Removed);
            // A hard link shows its size but adds nothing to its directory: the bytes are
            // counted once, at the name that shipped them.
            if (d != Change::Removed || parent_removed) && !linked {
                self.size[parent] += self.size[node];
            }
        }
    }

    fn compute_visible(&mut self, fs: &Fs) {
        let n = fs.node_count();
        self.visible.clear();
        self.visible.resize(n, false);
        self.matched.clear();
        self.matched.resize(n, false);
        self.match_count = 0;
        // Filter: match full paths, walking shown nodes depth-first with a path buffer.
        if let Some(filter) = &self.options.filter {
            let mut path = Vec::with_capacity(256);
            let mut stack: Vec<(NodeId, usize)> = vec![(ROOT, 0)];
            while let Some((node, len)) = stack.pop() {
                path.truncate(len);
                if node != ROOT {
                    path.push(b'/');
                    path.extend_from_slice(fs.name(node));
                    if filter.matches(node, &path) {
                        self.matched[node as usize] = true;
                        self.match_count += 1;
                    }
                }
                // Only what the rows can list: the children of directories.
                if node != ROOT && !self.meta(fs, node).is_some_and(Meta::is_dir) {
                    continue;
                }
                let here = path.len();
                for &kid in self.index.children(node) {
                    if self.diff[kid as usize].is_some() {
                        stack.push((kid, here));
                    }
                }
            }
        }
        let filtering = self.options.filter.is_some();
        for node in (1..n).rev() {
            let Some(d) = self.diff[node] else {
                continue;
            };
            let own = !self.options.hidden[slot(d)] && (!filtering || self.matched[node]);
            let is_dir = self.meta(fs, node as NodeId).is_some_and(Meta::is_dir);
            // Files show on their own; a directory shows for its visible children, or on its
            // own when it matches the filter or has nothing below it.
            let show = if is_dir {
                self.visible[node] || (own && (filtering || !self.has_kid[node]))
            } else {
                own
            };
            if show {
                self.visible[node] = true;
                self.visible[fs.parent(node as NodeId) as usize] = true;
            }
        }
        self.visible[ROOT as usize] = true;
    }

    /// Rebuilds only the rows (after a sort change): visibility is unchanged.
    pub fn rebuild_rows(&mut self, fs: &Fs) {
        self.build_rows(fs);
    }

    fn build_rows(&mut self, fs: &Fs) {
        let mut rows = Vec::new();
        let mut kids: Vec<NodeId> = Vec::new();
        // (node, depth, guides, last)
        let mut stack: Vec<(NodeId, u16, u64, bool)> = Vec::new();
        self.visible_children(fs, ROOT, &mut kids);
        push_children(&mut stack, &kids, 0, 0);
        while let Some((node, depth, guides, last)) = stack.pop() {
            let i = node as usize;
            let is_dir = self.meta(fs, node).is_some_and(Meta::is_dir);
            let collapsed = is_dir && self.collapsed.contains(&node);
            rows.push(Row {
                node,
                depth,
                diff: self.diff[i].unwrap_or(Change::Unchanged),
                size: self.size[i],
                is_dir,
                collapsed,
                last,
                guides,
                matched: self.matched[i],
            });
            if is_dir && !collapsed {
                self.visible_children(fs, node, &mut kids);
                let child_guides = if last || depth >= 63 {
                    guides
                } else {
                    guides | (1 << depth)
                };
                push_children(&mut stack, &kids, depth + 1, child_guides);
            }
        }
        self.rows = rows;
    }

    fn visible_children(&self, fs: &Fs, node: NodeId, out: &mut Vec<NodeId>) {
        out.clear();
        out.extend(
            self.index
                .children(node)
                .iter()
                .copied()
                .filter(|&k| self.visible[k as usize] && self.diff[k as usize].is_some()),
        );
        if self.options.sort == Sort::SizeDesc {
            out.sort_by(|&a, &b| {
                self.size[b as usize]
                    .cmp(&self.size[a as usize])
                    .then_with(|| fs.name(a).cmp(fs.name(b)))
            });
        }
    }

    /// Collapses every directory, or expands all when no listed directory is expanded.
    pub fn toggle_collapse_all(&mut self, fs: &Fs) {
        if self.rows.iter().any(|r| r.is_dir && !r.collapsed) {
            for node in fs.node_ids().skip(1) {
                if self.diff[node as usize].is_some()
                    && self.meta(fs, node).is_some_and(Meta::is_dir)
                {
                    self.collapsed.insert(node);
                }
            }
        } else {
            self.collapsed.clear();
        }
        self.build_rows(fs);
    }

    /// Collapses or expands one directory.
    pub fn toggle_collapse(&mut self, fs: &Fs, node: NodeId) {
        if !self.collapsed.remove(&node) {
            self.collapsed.insert(node);
        }
        self.build_rows(fs);
    }

    /// Expands the ancestors of `node` so it shows, and returns its row index.
    pub fn reveal(&mut self, fs: &Fs, node: NodeId) -> Option<usize> {
        let mut p = fs.parent(node);
        while p != ROOT {
            self.collapsed.remove(&p);
            p = fs.parent(p);
        }
        self.build_rows(fs);
        self.rows.iter().position(|r| r.node == node)
    }
}

fn push_children(
    stack: &mut Vec<(NodeId, u16, u64, bool)>,
    kids: &[NodeId],
    depth: u16,
    guides: u64,
) {
    // Pushed in reverse so the first child pops first.
    for (i, &kid) in kids.iter().enumerate().rev() {
        stack.push((kid, depth, guides, i + 1 == kids.len()));
    }
}

/// How `b` differs from `a`, both present.
fn compare(fs: &Fs, a: &Meta, b: &Meta) -> Change {
    let content_differs = a.kind != b.kind
        || a.size != b.size
        || a.hash != b.hash
        || fs.link_target(a) != fs.link_target(b);
    if content_differs {
        Change::Modified
    } else if a.mode != b.mode
        || a.uid != b.uid
        || a.gid != b.gid
        || (!a.is_dir() && a.mtime != b.mtime)
    {
        Change::Metadata
    } else {
        Change::Unchanged
    }
}
