//! dive 0.13.1's metrics, computed with its formulas (`dive/filetree/efficiency.go`) on the
//! correct filesystem, for teams comparing with what dive printed.
//!
//! For every layer, dive visits the leaves of the tree of that layer's own entries (files,
//! symlinks, empty directories, whiteouts). Per path it adds the leaf's size to `cum` and keeps
//! the smallest size seen as `min`; a whiteout counts 0 for a file and, for a directory, the
//! size of the subtree it deletes. efficiency = Σ min / Σ cum; wasted bytes = Σ cum over the
//! paths seen at least twice (the copy kept included); user wasted percent = wasted bytes /
//! Σ sizes of layers 1..n. Opaque whiteouts are ignored, as dive ignores them.

use hashbrown::HashSet;
use serde::Serialize;

use crate::layer::Kind;
use crate::overlay::{Change, Fs, NodeId};

/// dive's three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiveMetrics {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// `None` where dive computes NaN (no bytes in layers above the first).
    pub user_wasted_percent: Option<f64>,
}

/// Per path, over the layers where it is a leaf: Σ sizes, the smallest size, and how often
/// (saturating at 2, all the formulas ask).
#[derive(Clone, Copy, Default)]
struct PathAcc {
    cum: u64,
    min: u64,
    seen: u8,
}

impl PathAcc {
    fn add(&mut self, size: u64) {
        self.min = if self.seen == 0 {
            size
        } else {
            self.min.min(size)
        };
        self.cum += size;
        self.seen = self.seen.saturating_add(1).min(2);
    }
}

/// The three sums the formulas take, over every path that was a leaf at least once.
#[derive(Default)]
struct Sums {
    min: u64,
    cum: u64,
    wasted: u64,
}

impl Sums {
    fn add(&mut self, acc: &PathAcc) {
        if acc.seen > 0 {
            self.min += acc.min;
            self.cum += acc.cum;
            if acc.seen >= 2 {
                self.wasted += acc.cum;
            }
        }
    }

    /// dive's formulas; the user size is Σ sizes of the layers above the first.
    fn metrics(&self, fs: &Fs) -> DiveMetrics {
        let user: u64 = fs.layers().iter().skip(1).map(|l| l.tar_bytes).sum();
        DiveMetrics {
            efficiency: if self.cum == 0 {
                1.0
            } else {
                self.min as f64 / self.cum as f64
            },
            wasted_bytes: self.wasted,
            user_wasted_percent: (user > 0).then(|| self.wasted as f64 / user as f64),
        }
    }
}

/// The layers in which some child of a node is in the layer's tree: a bit per layer below 64,
/// a set beyond (images have at most 127 layers; most have far fewer than 64).
struct ChildMarks {
    low: Vec<u64>,
    high: HashSet<(NodeId, usize)>,
}

impl ChildMarks {
    fn new(nodes: usize) -> Self {
        ChildMarks {
            low: vec![0; nodes],
            high: HashSet::new(),
        }
    }

    fn mark(&mut self, node: NodeId, layer: usize) {
        if layer < 64 {
            self.low[node as usize] |= 1 << layer;
        } else {
            self.high.insert((node, layer));
        }
    }

    fn has(&self, node: NodeId, layer: usize) -> bool {
        if layer < 64 {
            self.low[node as usize] & (1 << layer) != 0
        } else {
            self.high.contains(&(node, layer))
        }
    }
}

/// One pass over the nodes, children before parents (a child's id is always larger than its
/// parent's): when a node is reached, its children have marked the layers in which it has
/// one, so its leaves are known without building any layer's tree. Sums are taken per path as
/// it is left behind; no per-path table is kept.
pub fn compute(fs: &Fs) -> DiveMetrics {
    // Whiteouts are leaves too: a file's counts 0, a directory's the size of what it deleted.
    // Sorted by node, and taken from the end as the nodes are visited.
    let mut whiteouts: Vec<(NodeId, usize, u64)> = Vec::new();
    for (k, facts) in fs.layers().iter().enumerate() {
        for w in &facts.whiteouts {
            whiteouts.push((w.node, k, if w.was_dir { w.bytes } else { 0 }));
        }
    }
    whiteouts.sort_unstable();
    let mut marks = ChildMarks::new(fs.node_count());
    let mut sums = Sums::default();
    for node in (1..fs.node_count() as NodeId).rev() {
        // The layers whose tree holds this path: its entries (removals aside) and whiteouts.
        // It is a leaf of those where no child marked it; its size is read only then.
        let parent = fs.parent(node);
        let mut acc = PathAcc::default();
        for e in fs.events(node) {
            if e.change == Change::Removed {
                continue;
            }
            let k = usize::from(e.layer);
            if !marks.has(node, k) {
                acc.add(
                    fs.event_state(e)
                        .filter(|m| m.kind == Kind::File && !m.hardlink)
                        .map_or(0, |m| m.size),
                );
            }
            marks.mark(parent, k);
        }
        while let Some(&(n, k, size)) = whiteouts.last().filter(|w| w.0 >= node) {
            if n == node {
                if !marks.has(node, k) {
                    acc.add(size);
                }
                marks.mark(parent, k);
            }
            whiteouts.pop();
        }
        sums.add(&acc);
    }
    sums.metrics(fs)
}

/// The first implementation, kept as the tests' reference for how leaves are found: each
/// layer's leaves by stamping the parents of that layer's entries, per-path sums in a table
/// by node. The sums and formulas are shared with [`compute`].
#[cfg(test)]
pub(crate) fn reference(fs: &Fs) -> DiveMetrics {
    let count = fs.node_count();
    // Marks stamped with the layer number + 1, so one allocation serves all layers.
    let mut has_child = vec![0u32; count];
    let mut acc = vec![PathAcc::default(); count];
    for (k, facts) in fs.layers().iter().enumerate() {
        let stamp = k as u32 + 1;
        // The layer's tree: every entry it carries (removals aside) and every whiteout.
        let entries = facts.nodes.iter().filter_map(|&node| {
            let event = fs.event_at(node, k)?;
            if event.change == Change::Removed {
                return None;
            }
            let size = fs
                .event_state(event)
                .filter(|m| m.kind == Kind::File && !m.hardlink)
                .map_or(0, |m| m.size);
            Some((node, size))
        });
        let whiteouts = facts
            .whiteouts
            .iter()
            .map(|w| (w.node, if w.was_dir { w.bytes } else { 0 }));
        let leaves = entries.chain(whiteouts);
        for (node, _) in leaves.clone() {
            if node != 0 {
                has_child[fs.parent(node) as usize] = stamp;
            }
        }
        for (node, size) in leaves {
            if has_child[node as usize] == stamp || node == 0 {
                continue;
            }
            acc[node as usize].add(size);
        }
    }
    let mut sums = Sums::default();
    for a in &acc {
        sums.add(a);
    }
    sums.metrics(fs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::testkit::{E, build};

    /// Past 64 layers the child marks leave the bit set: the same numbers as the reference.
    #[test]
    fn more_than_64_layers() {
        const SIZES: [&str; 3] = ["a", "bb", "ccc"];
        let layers: Vec<Vec<E>> = (0..70)
            .map(|k| match k {
                66 => vec![E::Wh("d/g")],
                67 => vec![E::Wh("e")],
                _ => vec![
                    E::File("d/f", SIZES[k % 3]),
                    E::File(if k % 2 == 0 { "d/g" } else { "e/h" }, "xy"),
                ],
            })
            .collect();
        let refs: Vec<&[E]> = layers.iter().map(Vec::as_slice).collect();
        let fs = build(&refs);
        let d = compute(&fs);
        assert_eq!(d, reference(&fs));
        // Leaves: d/f in 68 layers (136 bytes), d/g in 34 layers and as a whiteout of a file
        // (68 bytes, min 0), e/h in 34 layers (68 bytes, min 2), e once as the whiteout of a
        // directory holding 2 bytes. Wasted: every path seen twice or more, copies kept
        // included; user size: the layers above the first (269 bytes of content).
        assert_eq!(d.wasted_bytes, 136 + 68 + 68);
        assert_eq!(
            d.efficiency,
            // Σ min: d/f 1, d/g 0, e/h 2, e 2.
            5.0 / (136 + 68 + 68 + 2) as f64
        );
        assert_eq!(d.user_wasted_percent, Some(272.0 / 269.0));
    }
}
