//! The base layer (layer 0) applied in batches while it is read: nothing lies below it, so its
//! whiteouts hide nothing and its entries need not wait for the end of its tar. The result
//! equals [`Fs::apply`] on the whole layer.

use super::apply::invalid_marker;
use super::resolve::ParentCache;
use super::whiteout::Marker;
use super::{Fs, LayerFacts, NodeId, ROOT};
use crate::layer::LayerScan;

impl Fs {
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
pub(super) struct BaseMarkers {
    opaque_dirs: Vec<NodeId>,
    warnings: Vec<String>,
}

impl BaseMarkers {
    pub(super) fn note(&mut self, marker: Marker, dirs: &[&[u8]], name: &[u8]) {
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
