//! What an update from A to B costs: the compressed bytes a host holding A downloads to get B
//! (the layers of B whose blob A lacks), and why the build cache missed: the first layer of the
//! alignment that is not shared, and what changed in it.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{Alignment, LayerRow};
use crate::analysis::Analysis;
use crate::layer::Kind;
use crate::overlay::Fs;

/// What a host holding A pulls to run B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pull {
    /// Σ compressed sizes of B's layers whose blob A does not have.
    pub bytes: u64,
    /// How many of B's layers those are.
    pub layers: usize,
    /// Σ compressed sizes of B's layers A has (by blob digest, or by diff_id when a side has no
    /// blob digest).
    pub shared_bytes: u64,
}

impl Pull {
    /// A host holding A, pulling B: a layer is there when A has its blob digest (registries
    /// and runtimes store layers by it); where either side has none (an archive's plain tar),
    /// by diff_id.
    #[must_use]
    pub fn of(a: &Analysis, b: &Analysis) -> Pull {
        let digests: HashSet<&str> = a
            .layers
            .iter()
            .filter_map(|l| l.digest.as_deref())
            .collect();
        let diff_ids: HashSet<&str> = a
            .layers
            .iter()
            .filter_map(|l| l.diff_id.as_deref())
            .collect();
        let mut pull = Pull {
            bytes: 0,
            layers: 0,
            shared_bytes: 0,
        };
        // A layer B lists twice is pulled once.
        let mut seen: HashSet<&str> = HashSet::new();
        for l in &b.layers {
            let key = l.digest.as_deref().or(l.diff_id.as_deref());
            if key.is_some_and(|k| !seen.insert(k)) {
                continue;
            }
            let held = l.digest.as_deref().is_some_and(|d| digests.contains(d))
                || l.diff_id.as_deref().is_some_and(|d| diff_ids.contains(d));
            if held {
                pull.shared_bytes += l.compressed_bytes;
            } else {
                pull.bytes += l.compressed_bytes;
                pull.layers += 1;
            }
        }
        pull
    }
}

/// Why B did not reuse A's layers from some point up: the first row of the alignment that is
/// not shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheMiss {
    /// The row's layer in A and in B (one is absent when the instruction is new or gone).
    pub a_layer: Option<usize>,
    pub b_layer: Option<usize>,
    /// B's command there (A's when B has none).
    pub command: Option<String>,
    pub cause: MissCause,
    /// Paths whose content or metadata the layer made differently (by B's layer against A's),
    /// the first few by path.
    pub changed_paths: Vec<String>,
    /// How many paths differ.
    pub changed: u64,
    /// B's layers from this row up: all rebuilt, none reused.
    pub rebuilt_layers: usize,
    /// Their compressed bytes: what every host downloads again.
    pub reshipped_bytes: u64,
}

/// What differs at the row where the cache missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissCause {
    /// The same command made other files: a `COPY` of changed sources, or a `RUN` whose output
    /// changed (new packages, timestamps).
    Content,
    /// The command itself differs, or one side has a layer the other lacks.
    Command,
}

/// How many changed paths a miss names.
const NAMED: usize = 5;

impl CacheMiss {
    /// The first row of `rows` not shared, with what changed in it, B's side read from `fb`
    /// and `b`, A's from `fa`; `None` when every layer of both is shared.
    #[must_use]
    pub fn find(rows: &[LayerRow], fa: &Fs, fb: &Fs, b: &Analysis) -> Option<CacheMiss> {
        let at = rows.iter().position(|r| r.alignment != Alignment::Shared)?;
        let row = &rows[at];
        let (ka, kb) = (
            row.a.as_ref().map(|l| l.index),
            row.b.as_ref().map(|l| l.index),
        );
        let cause = if row.alignment == Alignment::Matched {
            MissCause::Content
        } else {
            MissCause::Command
        };
        let (changed_paths, changed) = match (ka, kb) {
            (Some(i), Some(j)) => layer_diff(fa, i, fb, j),
            _ => (Vec::new(), 0),
        };
        let first_b = rows[at..]
            .iter()
            .find_map(|r| r.b.as_ref().map(|l| l.index));
        let (rebuilt_layers, reshipped_bytes) = first_b.map_or((0, 0), |k| {
            let above = &b.layers[k.min(b.layers.len())..];
            (above.len(), above.iter().map(|l| l.compressed_bytes).sum())
        });
        Some(CacheMiss {
            a_layer: ka,
            b_layer: kb,
            command: row
                .b
                .as_ref()
                .and_then(|l| l.created_by.clone())
                .or_else(|| row.a.as_ref().and_then(|l| l.created_by.clone())),
            cause,
            changed_paths,
            changed,
            rebuilt_layers,
            reshipped_bytes,
        })
    }
}

/// What one layer's entries say of a path: its kind, mode, owner, size and content hash
/// (`None`: the layer removed it).
type Said = Option<(Kind, u32, u32, u32, u64, u64)>;

/// The entries of layer `k` of `fs`, by path.
fn layer_entries(fs: &Fs, k: usize) -> HashMap<String, Said> {
    let Some(facts) = fs.layers().get(k) else {
        return HashMap::new();
    };
    facts
        .nodes
        .iter()
        .filter_map(|&n| {
            let e = fs.event_at(n, k)?;
            let said = fs
                .event_state(e)
                .map(|m| (m.kind, m.mode, m.uid, m.gid, m.size, m.hash));
            Some((fs.path(n), said))
        })
        .collect()
}

/// The paths layer `i` of `fa` and layer `j` of `fb` make differently (one has it and the
/// other not, or another kind, mode, owner or content): the first [`NAMED`] by path, and how
/// many. Modification times are not compared: a rebuild changes them all.
fn layer_diff(fa: &Fs, i: usize, fb: &Fs, j: usize) -> (Vec<String>, u64) {
    let (a, b) = (layer_entries(fa, i), layer_entries(fb, j));
    let mut differ: Vec<&String> = b
        .iter()
        .filter(|(p, said)| a.get(*p) != Some(said))
        .map(|(p, _)| p)
        .chain(a.keys().filter(|p| !b.contains_key(*p)))
        .collect();
    differ.sort();
    let n = differ.len() as u64;
    (differ.into_iter().take(NAMED).cloned().collect(), n)
}
