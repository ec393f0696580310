//! dive 0.13.1's metrics, computed with its formulas (`dive/filetree/efficiency.go`) on the
//! correct filesystem, for teams comparing with what dive printed.
//!
//! For every layer, dive visits the leaves of the tree of that layer's own entries (files,
//! symlinks, empty directories, whiteouts). Per path it adds the leaf's size to `cum` and keeps
//! the smallest size seen as `min`; a whiteout counts 0 for a file and, for a directory, the
//! size of the subtree it deletes. efficiency = Σ min / Σ cum; wasted bytes = Σ cum over the
//! paths seen at least twice (the copy kept included); user wasted percent = wasted bytes /
//! Σ sizes of layers 1..n. Opaque whiteouts are ignored, as dive ignores them.
//!
//! The user wasted percent is a float64 division, as in dive: where the layers above the first
//! hold no bytes it is +Inf when some bytes are wasted (dive's CI rule then fails) and NaN when
//! none are (the rule passes: every comparison with NaN is false).

use hashbrown::HashSet;
use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::layer::Kind;
use crate::overlay::{Change, Fs, NodeId};

/// dive's three numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiveMetrics {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// wasted bytes / bytes of the layers above the first, a ratio (1.0 is 100 %). `None` where
    /// dive computes NaN (0 / 0: those layers hold no bytes and none are wasted);
    /// `Some(f64::INFINITY)` where it computes +Inf (they hold no bytes, some are wasted).
    pub user_wasted_percent: Option<f64>,
}

impl DiveMetrics {
    /// The user wasted ratio as dive holds it: NaN where [`DiveMetrics::user_wasted_percent`]
    /// is `None`.
    pub fn user_wasted_ratio(&self) -> f64 {
        self.user_wasted_percent.unwrap_or(f64::NAN)
    }

    /// How dive prints a user wasted ratio JSON cannot hold (`+Inf`, `NaN`, as Go formats
    /// them); `None` for a finite one.
    pub fn user_wasted_nonfinite(&self) -> Option<&'static str> {
        let r = self.user_wasted_ratio();
        if r.is_nan() {
            Some("NaN")
        } else if r.is_infinite() {
            Some(if r > 0.0 { "+Inf" } else { "-Inf" })
        } else {
            None
        }
    }
}

/// JSON cannot hold +Inf or NaN: `user_wasted_percent` is then `null` and
/// `user_wasted_percent_nonfinite` says which (`"+Inf"` or `"NaN"`, as dive prints them);
/// it is `null` when the number is finite.
impl Serialize for DiveMetrics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("DiveMetrics", 4)?;
        st.serialize_field("efficiency", &self.efficiency)?;
        st.serialize_field("wasted_bytes", &self.wasted_bytes)?;
        st.serialize_field(
            "user_wasted_percent",
            &self.user_wasted_percent.filter(|r| r.is_finite()),
        )?;
        st.serialize_field(
            "user_wasted_percent_nonfinite",
            &self.user_wasted_nonfinite(),
        )?;
        st.end()
    }
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

    /// dive's formulas; the user size is Σ sizes of the layers above the first. The division
    /// is dive's float64 one: x / 0 is +Inf, 0 / 0 is NaN (`None`).
    fn metrics(&self, fs: &Fs) -> DiveMetrics {
        let user: u64 = fs.layers().iter().skip(1).map(|l| l.tar_bytes).sum();
        let user_wasted = self.wasted as f64 / user as f64;
        DiveMetrics {
            efficiency: if self.cum == 0 {
                1.0
            } else {
                self.min as f64 / self.cum as f64
            },
            wasted_bytes: self.wasted,
            user_wasted_percent: (!user_wasted.is_nan()).then_some(user_wasted),
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
#[allow(clippy::unwrap_used)]
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

    /// Layers above the first that hold no bytes: dive divides in float64, so wasted bytes over
    /// them are +Inf (its rule fails) and no wasted bytes are NaN (its rule passes).
    #[test]
    fn user_wasted_over_empty_upper_layers_is_inf_or_nan() {
        // L0 ships a (10 B), L1 only deletes it: `a` is a leaf twice (10 + 0), wasted 10 over 0
        // user bytes.
        let fs = build(&[
            &[E::File("a", "0123456789"), E::File("keep", "k")],
            &[E::Wh("a")],
        ]);
        let d = compute(&fs);
        assert_eq!(d, reference(&fs));
        assert_eq!(d.wasted_bytes, 10);
        assert_eq!(d.user_wasted_percent, Some(f64::INFINITY));
        assert_eq!(d.user_wasted_nonfinite(), Some("+Inf"));
        // L1 only adds a directory: nothing wasted over nothing.
        let fs = build(&[&[E::File("a", "xyz")], &[E::Dir("d")]]);
        let d = compute(&fs);
        assert_eq!((d.wasted_bytes, d.user_wasted_percent), (0, None));
        assert!(d.user_wasted_ratio().is_nan());
        assert_eq!(d.user_wasted_nonfinite(), Some("NaN"));
        // JSON holds neither: the number is null and the spelling says which.
        let json = serde_json::to_value(d).unwrap();
        assert_eq!(json["user_wasted_percent"], serde_json::Value::Null);
        assert_eq!(json["user_wasted_percent_nonfinite"], "NaN");
    }
}
