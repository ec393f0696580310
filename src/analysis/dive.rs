//! dive 0.13.1's metrics, computed with its formulas (`dive/filetree/efficiency.go`) on the
//! correct filesystem, for teams comparing with what dive printed.
//!
//! For every layer, dive visits the leaves of the tree of that layer's own entries (files,
//! symlinks, empty directories, whiteouts). Per path it adds the leaf's size to `cum` and keeps
//! the smallest size seen as `min`; a whiteout counts 0 for a file and, for a directory, the
//! size of the subtree it deletes. efficiency = Σ min / Σ cum; wasted bytes = Σ cum over the
//! paths seen at least twice (the copy kept included); user wasted percent = wasted bytes /
//! Σ sizes of layers 1..n. Opaque whiteouts are ignored, as dive ignores them.

use serde::Serialize;

use crate::layer::Kind;
use crate::overlay::{Change, Fs};

/// dive's three numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiveMetrics {
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// `None` where dive computes NaN (no bytes in layers above the first).
    pub user_wasted_percent: Option<f64>,
}

/// Per path: Σ sizes, the smallest size and how often it was a leaf (saturating at 2, all the
/// formulas ask). Flat and indexed by node: a hash map here was a third of the peak memory on
/// a million paths.
#[derive(Clone, Copy)]
struct PathAcc {
    cum: u64,
    min: u64,
    seen: u8,
}

pub fn compute(fs: &Fs) -> DiveMetrics {
    let count = fs.node_count();
    // Marks stamped with the layer number + 1, so one allocation serves all layers.
    let mut has_child = vec![0u32; count];
    let mut acc = vec![
        PathAcc {
            cum: 0,
            min: 0,
            seen: 0
        };
        count
    ];
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
            let a = &mut acc[node as usize];
            a.min = if a.seen == 0 { size } else { a.min.min(size) };
            a.cum += size;
            a.seen = a.seen.saturating_add(1).min(2);
        }
    }
    let (mut min_sum, mut cum_sum, mut wasted) = (0u64, 0u64, 0u64);
    for a in acc.iter().filter(|a| a.seen > 0) {
        min_sum += a.min;
        cum_sum += a.cum;
        if a.seen >= 2 {
            wasted += a.cum;
        }
    }
    let user: u64 = fs.layers().iter().skip(1).map(|l| l.tar_bytes).sum();
    DiveMetrics {
        efficiency: if cum_sum == 0 {
            1.0
        } else {
            min_sum as f64 / cum_sum as f64
        },
        wasted_bytes: wasted,
        user_wasted_percent: (user > 0).then(|| wasted as f64 / user as f64),
    }
}
