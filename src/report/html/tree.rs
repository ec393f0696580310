//! The treemap's data: the final filesystem folded to a budget of nodes, so that the page stays
//! small whatever the image holds.
//!
//! A directory is broken down largest first: the biggest directory not yet broken down gets
//! its [`CHILDREN`] largest entries as nodes and the rest folded into one "N smaller …" node,
//! until [`BUDGET`] nodes are used; the directories left then are single nodes whose contents
//! are not listed. The bytes of every node are exact (the folded ones sum what they fold), so
//! the rectangles add up to the image's visible bytes, and each node carries the layer and the
//! package holding most of its bytes, and the bytes wasted at or below its path.
//!
//! The page reads it as columns (one array per field, one entry per node, parents before
//! their children), which is about half the size of an object per node.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

use serde::Serialize;

use crate::analysis::Analysis;
use crate::analysis::packages::NO_OWNER;
use crate::layer::Kind;
use crate::overlay::{Fs, NodeId, ROOT};

/// Nodes at most: about 40 bytes each in the page, so under a megabyte however many paths the
/// image has.
pub const BUDGET: usize = 20_000;

/// Entries of one directory kept as nodes; the rest fold into one. A treemap cell of the
/// hundredth largest of a directory's entries is rarely wider than a few pixels.
pub const CHILDREN: usize = 100;

/// No node.
const NONE: u32 = u32::MAX;

/// Node kinds, one character each in [`Tree::kind`].
const DIR: u8 = b'd';
const FILE: u8 = b'f';
const LINK: u8 = b'l';
const OTHER: u8 = b'o';
/// A directory whose contents are not listed (the budget ran out).
const UNLISTED: u8 = b'u';
/// The smaller entries of a directory, folded into one node.
const FOLDED: u8 = b'a';

/// The treemap's nodes as columns; node 0 is the root, and every node comes after its parent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Tree {
    /// The entry's name, escaped as the text output escapes it; for a folded node, what it
    /// folds (`37 smaller files`).
    pub name: Vec<String>,
    /// The parent's index (-1 for the root).
    pub parent: Vec<i64>,
    /// One character per node: `d` directory, `f` regular file, `l` symlink, `o` another kind,
    /// `u` a directory whose contents are not listed, `a` smaller entries folded together.
    pub kind: String,
    /// Bytes at or below the path, each file's content counted once (at the first of its
    /// hard-linked names): the root's are the image's visible bytes.
    pub bytes: Vec<u64>,
    /// Regular files (hard links included) at or below it.
    pub files: Vec<u64>,
    /// Bytes shipped at or below the path that no path of the final filesystem reaches.
    pub waste: Vec<u64>,
    /// The layer that shipped most of its bytes (a file's: the layer that shipped it).
    pub layer: Vec<i64>,
    /// The index in [`Tree::packages`] of the package owning most of its bytes (-1: none).
    pub owner: Vec<i64>,
    /// The packages [`Tree::owner`] names: `name version`, escaped.
    pub packages: Vec<String>,
    /// Nodes of the final filesystem, and how many the tree lists one by one.
    pub paths: u64,
    pub listed: u64,
}

/// Bytes, then paths: what makes one layer or package "hold most" of a subtree (paths decide
/// among empty files).
type Weight = (u64, u64);

/// The tree of `fs`'s final filesystem, owners from `a`.
pub fn build(fs: &Fs, a: &Analysis) -> Tree {
    build_with(fs, a, BUDGET, CHILDREN)
}

/// [`build`] with another budget and number of children kept per directory.
pub fn build_with(fs: &Fs, a: &Analysis, budget: usize, children: usize) -> Tree {
    let budget = budget.max(1);
    let children = children.max(1);
    let sizes = Sizes::of(fs);
    let waste = waste_below(fs);
    let mut out = Out::default();
    out.push(Entry {
        node: ROOT,
        parent: -1,
        kind: DIR,
        name: String::new(),
        bytes: sizes.bytes[ROOT as usize],
        files: sizes.files[ROOT as usize],
        waste: waste[ROOT as usize],
    });
    // Where each present path went: its own node, or the folded or unlisted node holding it.
    let mut at: Vec<u32> = vec![NONE; fs.node_count()];
    at[ROOT as usize] = 0;
    let mut folded_of: Vec<u32> = Vec::new(); // per output node: its folded sibling node
    folded_of.push(NONE);
    let mut queue: BinaryHeap<(u64, Reverse<u32>)> = BinaryHeap::new();
    queue.push((sizes.bytes[ROOT as usize], Reverse(0)));
    while let Some((_, Reverse(i))) = queue.pop() {
        let dir = out.entries[i as usize].node;
        let mut kids: Vec<NodeId> = present_children(fs, dir).collect();
        if kids.is_empty() {
            continue;
        }
        let room = budget.saturating_sub(out.entries.len());
        if room < 2 && kids.len() > room {
            out.entries[i as usize].kind = UNLISTED;
            continue;
        }
        kids.sort_by_cached_key(|&k| (Reverse(sizes.bytes[k as usize]), fs.name(k).to_vec()));
        let keep = if kids.len() <= children.min(room) {
            kids.len()
        } else {
            children.min(room - 1)
        };
        for &k in &kids[..keep] {
            let kind = sizes.kind[k as usize];
            let j = out.push(Entry {
                node: k,
                parent: i64::from(i),
                kind,
                name: super::escaped(&String::from_utf8_lossy(fs.name(k))),
                bytes: sizes.bytes[k as usize],
                files: sizes.files[k as usize],
                waste: waste[k as usize],
            });
            at[k as usize] = j;
            folded_of.push(NONE);
            if kind == DIR {
                queue.push((sizes.bytes[k as usize], Reverse(j)));
            }
        }
        let rest = &kids[keep..];
        if !rest.is_empty() {
            let sum = |v: &[u64]| rest.iter().map(|&k| v[k as usize]).sum::<u64>();
            let dirs = rest.iter().any(|&k| sizes.kind[k as usize] == DIR);
            let what = if dirs { "entries" } else { "files" };
            let j = out.push(Entry {
                node: NONE,
                parent: i64::from(i),
                kind: FOLDED,
                name: format!("{} smaller {what}", rest.len()),
                bytes: sum(&sizes.bytes),
                files: sum(&sizes.files),
                waste: rest.iter().map(|&k| waste[k as usize]).sum(),
            });
            folded_of.push(NONE);
            folded_of[i as usize] = j;
        }
    }
    // Every present path's bytes go to the node that shows it; then up the tree.
    let mut layers: Vec<HashMap<u16, Weight>> = vec![HashMap::new(); out.entries.len()];
    let owned = !a.owners.is_empty();
    let mut owners: Vec<HashMap<u32, Weight>> = if owned {
        vec![HashMap::new(); out.entries.len()]
    } else {
        Vec::new()
    };
    for &n in &sizes.order {
        if n == ROOT {
            continue;
        }
        if at[n as usize] == NONE {
            let p = fs.parent(n);
            let pa = at[p as usize];
            let folded = folded_of[pa as usize];
            at[n as usize] = if out.entries[pa as usize].node == p && folded != NONE {
                folded
            } else {
                pa
            };
        }
        if sizes.kind[n as usize] == DIR {
            continue;
        }
        let i = at[n as usize] as usize;
        // A file's own bytes (a directory's are its children's).
        let weight = (sizes.bytes[n as usize], 1);
        add(&mut layers[i], sizes.layer[n as usize], weight);
        if owned {
            let owner = a.owners.get(n as usize).copied().unwrap_or(NO_OWNER);
            add(&mut owners[i], owner, weight);
        }
    }
    for i in (1..out.entries.len()).rev() {
        let p = out.entries[i].parent as usize;
        let child = std::mem::take(&mut layers[i]);
        layers[i] = merge_into(&mut layers[p], child);
        if owned {
            let child = std::mem::take(&mut owners[i]);
            owners[i] = merge_into(&mut owners[p], child);
        }
    }
    let mut tree = Tree {
        paths: sizes.order.len() as u64 - 1,
        listed: out.entries.len() as u64 - 1,
        ..Tree::default()
    };
    let mut package_index: HashMap<u32, i64> = HashMap::new();
    for (i, e) in out.entries.iter().enumerate() {
        let layer = most(&layers[i]).map(i64::from).or_else(|| {
            (e.node != NONE)
                .then(|| fs.events(e.node).last().map(|ev| i64::from(ev.layer)))
                .flatten()
        });
        let owner = if owned { most(&owners[i]) } else { None }
            .filter(|&o| o != NO_OWNER)
            .and_then(|o| {
                let p = a.packages.get(o as usize)?;
                let next = package_index.len() as i64;
                Some(*package_index.entry(o).or_insert_with(|| {
                    tree.packages
                        .push(super::escaped(&format!("{} {}", p.name, p.version)));
                    next
                }))
            });
        tree.name.push(e.name.clone());
        tree.parent.push(e.parent);
        tree.kind.push(char::from(e.kind));
        tree.bytes.push(e.bytes);
        tree.files.push(e.files);
        tree.waste.push(e.waste);
        tree.layer.push(layer.unwrap_or(-1));
        tree.owner.push(owner.unwrap_or(-1));
    }
    tree
}

/// One node of the tree being built.
struct Entry {
    /// The path it shows (`NONE` for a folded node).
    node: NodeId,
    parent: i64,
    kind: u8,
    name: String,
    bytes: u64,
    files: u64,
    waste: u64,
}

#[derive(Default)]
struct Out {
    entries: Vec<Entry>,
}

impl Out {
    fn push(&mut self, e: Entry) -> u32 {
        self.entries.push(e);
        (self.entries.len() - 1) as u32
    }
}

fn add<K: Hash + Eq>(map: &mut HashMap<K, Weight>, key: K, (bytes, paths): Weight) {
    let w = map.entry(key).or_insert((0, 0));
    w.0 += bytes;
    w.1 += paths;
}

/// Adds `child`'s weights into `parent`'s; returns the child's dominant key alone, which is
/// all its node needs once its parent has them (keeps memory to the tree's size).
fn merge_into<K: Hash + Eq + Copy + Ord>(
    parent: &mut HashMap<K, Weight>,
    child: HashMap<K, Weight>,
) -> HashMap<K, Weight> {
    let top = most(&child);
    let mut kept = HashMap::new();
    for (k, w) in child {
        add(parent, k, w);
        if Some(k) == top {
            kept.insert(k, w);
        }
    }
    kept
}

/// The key holding most bytes (then most paths, then the lowest key: the same page for the
/// same image).
fn most<K: Copy + Ord>(map: &HashMap<K, Weight>) -> Option<K> {
    map.iter()
        .max_by(|(ka, wa), (kb, wb)| wa.cmp(wb).then(kb.cmp(ka)))
        .map(|(k, _)| *k)
}

/// The children of `dir` present in the final filesystem.
fn present_children(fs: &Fs, dir: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    fs.children(dir).filter(|&c| fs.final_state(c).is_some())
}

/// Per node of the final filesystem: what it is, its bytes and paths below, the layer that
/// made it; and the present nodes, parents first.
struct Sizes {
    /// Present nodes in depth-first order, the root first.
    order: Vec<NodeId>,
    kind: Vec<u8>,
    /// Bytes at or below the path; a path that is no directory has its own (0 for a link, or
    /// for a hard-linked name whose content is counted at another).
    bytes: Vec<u64>,
    files: Vec<u64>,
    layer: Vec<u16>,
}

impl Sizes {
    fn of(fs: &Fs) -> Sizes {
        let n = fs.node_count();
        let mut s = Sizes {
            order: Vec::new(),
            kind: vec![DIR; n],
            bytes: vec![0; n],
            files: vec![0; n],
            layer: vec![0; n],
        };
        let mut counted = vec![false; fs.objects().len()];
        let mut stack = vec![ROOT];
        while let Some(node) = stack.pop() {
            s.order.push(node);
            let meta = fs.final_state(node);
            if let Some(e) = fs.events(node).last() {
                s.layer[node as usize] = e.layer;
            }
            let kind = match meta.map(|m| m.kind) {
                None | Some(Kind::Dir) => DIR,
                Some(Kind::File | Kind::Hardlink) => FILE,
                Some(Kind::Symlink) => LINK,
                Some(_) => OTHER,
            };
            s.kind[node as usize] = kind;
            if kind == DIR {
                // Reversed, so that the stack pops them in the order they appeared.
                let kids: Vec<NodeId> = present_children(fs, node).collect();
                stack.extend(kids.into_iter().rev());
                continue;
            }
            if kind == FILE {
                s.files[node as usize] = 1;
            }
            if let Some(o) = meta.and_then(|m| m.object()) {
                let object = fs.object(o);
                s.layer[node as usize] = object.layer;
                if !std::mem::replace(&mut counted[o as usize], true) {
                    s.bytes[node as usize] = object.size;
                }
            }
        }
        for &node in s.order.iter().skip(1).rev() {
            let p = fs.parent(node) as usize;
            s.bytes[p] += s.bytes[node as usize];
            s.files[p] += s.files[node as usize];
        }
        s
    }
}

/// Per node: the bytes shipped at or below its path (in any layer) that no final path
/// reaches. A node is created after its parent, so adding each node's sum to its parent's,
/// highest id first, finishes every node before its parent reads it.
fn waste_below(fs: &Fs) -> Vec<u64> {
    let mut waste = vec![0u64; fs.node_count()];
    for o in fs.objects() {
        if !o.visible() {
            waste[o.node as usize] += o.size;
        }
    }
    for node in (1..fs.node_count()).rev() {
        let p = fs.parent(node as NodeId) as usize;
        if p < node {
            waste[p] += waste[node];
        }
    }
    waste
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
