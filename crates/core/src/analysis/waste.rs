//! Wasted bytes, exactly: shipped bytes that no path of the final filesystem reaches.
//!
//! - shipped = Σ sizes of all regular-file entries of all layers (hard links ship nothing);
//! - visible = the shipped bytes some final path still reaches (through hard links too);
//! - wasted = shipped − visible; efficiency = visible / shipped (1.0 when nothing is shipped).
//!
//! Each wasted entry gets a cause from what its path holds at the end: `deleted` (no regular
//! file there), `overwritten` (a regular file with other content) or `metadata_only` (the same
//! content: a chmod/chown/touch copy-up, or the same bytes shipped again).

use serde::Serialize;

use crate::layer::Kind;
use crate::overlay::{Fs, Meta, NodeId, Object};

/// Why shipped bytes are not visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Deleted,
    Overwritten,
    MetadataOnly,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Deleted => "deleted",
            Cause::Overwritten => "overwritten",
            Cause::MetadataOnly => "metadata_only",
        }
    }
}

/// Wasted bytes split by cause.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ByCause {
    pub deleted: u64,
    pub overwritten: u64,
    pub metadata_only: u64,
}

impl ByCause {
    fn add(&mut self, cause: Cause, bytes: u64) {
        match cause {
            Cause::Deleted => self.deleted += bytes,
            Cause::Overwritten => self.overwritten += bytes,
            Cause::MetadataOnly => self.metadata_only += bytes,
        }
    }
}

/// One path that wasted bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WastedPath {
    pub path: String,
    #[serde(skip)]
    pub node: NodeId,
    pub wasted_bytes: u64,
    /// Regular-file entries shipped at this path, over all layers.
    pub copies: u32,
    /// Layers that shipped the wasted copies.
    pub layers: Vec<usize>,
    /// Layers that made those copies unreachable (removed, replaced or re-shipped them).
    pub hidden_by: Vec<usize>,
    /// `deleted` when the path holds no regular file at the end; otherwise `overwritten` if
    /// any wasted copy differs from the final content, else `metadata_only`.
    pub cause: Cause,
}

/// The waste of a whole filesystem.
#[derive(Debug, Clone, Default)]
pub struct WasteFacts {
    pub shipped: u64,
    pub visible: u64,
    pub wasted: u64,
    pub by_cause: ByCause,
    /// Per layer: bytes it ships that end up invisible.
    pub layer_wasted: Vec<u64>,
    /// Per layer: bytes of lower layers it makes invisible.
    pub layer_hidden_lower: Vec<u64>,
    /// The paths with wasted bytes, most wasted first (then by path): all of them, or the
    /// top ones [`compute_top`] was asked for.
    pub paths: Vec<WastedPath>,
    /// How many paths waste bytes.
    pub paths_total: usize,
}

/// The cause of one wasted object, from the final state of the path it was shipped at.
pub fn cause_of(fs: &Fs, object: &Object) -> Cause {
    cause_from(fs.final_state(object.node), object)
}

/// What a state of the path an object was shipped at makes of it: the same content is a
/// metadata copy, other content an overwrite, anything else (nothing, a directory, a link) a
/// deletion.
pub fn cause_from(state: Option<Meta>, object: &Object) -> Cause {
    match state {
        Some(m) if m.kind == Kind::File => {
            if m.size == object.size && m.hash == object.hash {
                Cause::MetadataOnly
            } else {
                Cause::Overwritten
            }
        }
        _ => Cause::Deleted,
    }
}

/// Computes shipped, visible and wasted bytes, per layer and per path.
pub fn compute(fs: &Fs) -> WasteFacts {
    compute_top(fs, None)
}

/// [`compute`], listing only the `top` most wasteful paths when given (and non-zero): the
/// others' path strings are never built nor sorted (53,000 of them on the `small` bench
/// image, for the 20 a report shows).
///
/// Two passes over the objects: the first (`tally`) sums the bytes and gives each wasted
/// path its bytes and cause, the second (`count_copies`) its copies and layers, for the
/// listed paths only.
pub fn compute_top(fs: &Fs, top: Option<usize>) -> WasteFacts {
    let n = fs.layer_count();
    let mut facts = WasteFacts {
        layer_wasted: vec![0; n],
        layer_hidden_lower: vec![0; n],
        ..WasteFacts::default()
    };
    let mut slots = Slots::new(fs.node_count());
    let mut accs = tally(fs, &mut facts, &mut slots);
    facts.wasted = facts.shipped - facts.visible;
    accs.retain(|acc| acc.wasted > 0);
    facts.paths_total = accs.len();
    let top = top.filter(|&n| n > 0 && n < accs.len());
    if let Some(n) = top {
        keep_top(&mut accs, n);
    }
    // The cut reordered and dropped accumulators: point the slots at the ones kept.
    slots.point_at(&accs);
    count_copies(fs, &slots, &mut accs);
    drop(slots);
    facts.paths = wasted_paths(fs, accs);
    // Paths are distinct, so an unstable sort gives the one order, without a buffer.
    facts.paths.sort_unstable_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.path.cmp(&b.path))
    });
    if let Some(n) = top {
        facts.paths.truncate(n);
    }
    facts
}

/// A wasted path. Its bytes and cause come from the first pass over the objects; its copies
/// and layers from a second one, for the listed paths only. Two small vectors for each of the
/// 53,000 wasted paths of the small bench image, to list 20, kept this pass at 34-40 ms inside
/// a full run; without them it takes 15-20 ms there.
struct Acc {
    node: NodeId,
    wasted: u64,
    copies: u32,
    layers: Vec<usize>,
    hidden_by: Vec<usize>,
    cause: Cause,
}

/// Per node, the index of its accumulator: a flat table, not a map (hashing was most of this
/// pass on images with tens of thousands of wasted paths).
struct Slots(Vec<u32>);

impl Slots {
    const NONE: u32 = u32::MAX;

    fn new(nodes: usize) -> Slots {
        Slots(vec![Slots::NONE; nodes])
    }

    /// The accumulator of `node`, if it has one.
    fn get(&self, node: NodeId) -> Option<usize> {
        match self.0.get(node as usize) {
            Some(&i) if i != Slots::NONE => Some(i as usize),
            _ => None,
        }
    }

    /// Points every node at its accumulator in `accs`, and the others at none.
    fn point_at(&mut self, accs: &[Acc]) {
        self.0.fill(Slots::NONE);
        for (i, acc) in accs.iter().enumerate() {
            self.0[acc.node as usize] = i as u32;
        }
    }
}

/// The first pass: shipped, visible and per-layer bytes into `facts`, and an accumulator with
/// its bytes and cause for every node that some invisible object was shipped at (its bytes
/// may be 0: a wasted empty file).
fn tally(fs: &Fs, facts: &mut WasteFacts, slots: &mut Slots) -> Vec<Acc> {
    let n = fs.layer_count();
    let mut accs: Vec<Acc> = Vec::new();
    for object in fs.objects() {
        facts.shipped += object.size;
        if object.visible() {
            facts.visible += object.size;
            continue;
        }
        let cause = cause_of(fs, object);
        facts.by_cause.add(cause, object.size);
        let layer = usize::from(object.layer);
        facts.layer_wasted[layer] += object.size;
        if let Some(k) = object.killed_by().map(usize::from)
            && k > layer
            && k < n
        {
            facts.layer_hidden_lower[k] += object.size;
        }
        let Some(i) = slots.0.get_mut(object.node as usize) else {
            continue;
        };
        if *i == Slots::NONE {
            *i = accs.len() as u32;
            accs.push(Acc {
                node: object.node,
                wasted: 0,
                copies: 0,
                layers: Vec::new(),
                hidden_by: Vec::new(),
                cause,
            });
        }
        let acc = &mut accs[*i as usize];
        acc.wasted += object.size;
        // Overwritten outranks metadata_only: some wasted copy had other content.
        acc.cause = acc.cause.min(cause);
    }
    accs
}

/// Keeps the `n` most wasteful accumulators (`0 < n < accs.len()`), and every one tied with
/// the n-th: among those wasting exactly as much, the path order decides, and paths are not
/// built yet. Linear: no sort.
fn keep_top(accs: &mut Vec<Acc>, n: usize) {
    // Every path wasting more than the n-th largest amount is in the top n.
    let (_, nth, _) = accs.select_nth_unstable_by(n - 1, |a, b| b.wasted.cmp(&a.wasted));
    let threshold = nth.wasted;
    accs.retain(|acc| acc.wasted >= threshold);
}

/// The second pass: every copy shipped at a listed path, and the layers that shipped the
/// wasted ones and that hid them.
fn count_copies(fs: &Fs, slots: &Slots, accs: &mut [Acc]) {
    for object in fs.objects() {
        let Some(i) = slots.get(object.node) else {
            continue;
        };
        let acc = &mut accs[i];
        acc.copies += 1;
        if object.visible() {
            continue;
        }
        let layer = usize::from(object.layer);
        if !acc.layers.contains(&layer) {
            acc.layers.push(layer);
        }
        if let Some(k) = object.killed_by().map(usize::from)
            && !acc.hidden_by.contains(&k)
        {
            acc.hidden_by.push(k);
        }
    }
}

/// The listed paths, unsorted: tens of thousands of path strings are built on two threads.
fn wasted_paths(fs: &Fs, mut accs: Vec<Acc>) -> Vec<WastedPath> {
    if accs.len() < 8192 {
        return build_paths(fs, accs);
    }
    let second = accs.split_off(accs.len() / 2);
    std::thread::scope(|s| {
        let other = s.spawn(|| build_paths(fs, second));
        let mut paths = build_paths(fs, accs);
        match other.join() {
            Ok(mut rest) => paths.append(&mut rest),
            Err(e) => std::panic::resume_unwind(e),
        }
        paths
    })
}

fn build_paths(fs: &Fs, accs: Vec<Acc>) -> Vec<WastedPath> {
    accs.into_iter()
        .map(|mut acc| {
            acc.layers.sort_unstable();
            acc.hidden_by.sort_unstable();
            WastedPath {
                path: fs.path(acc.node),
                node: acc.node,
                wasted_bytes: acc.wasted,
                copies: acc.copies,
                layers: acc.layers,
                hidden_by: acc.hidden_by,
                cause: acc.cause,
            }
        })
        .collect()
}
