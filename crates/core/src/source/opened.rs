//! What opening an input gives: the image resolved, the store its blobs are read from, and its
//! layers, still to be read or (for a stream, which is read once) already read.

use std::collections::HashMap;
use std::sync::Arc;

use super::store::BlobStore;
use crate::image::Image;
use crate::layer::LayerScan;

/// An image as [`open`](super::open) resolved it, ready for `engine::load`.
#[derive(Debug)]
pub struct Opened {
    pub image: Image,
    /// Where the blobs are: the layers are read from it (unless [`Layers::Read`]), and the
    /// explorer exports files through it.
    pub store: Arc<dyn BlobStore>,
    pub layers: Layers,
}

/// Whether the layers are still to be read, or were read while the input was opened.
#[derive(Debug)]
pub enum Layers {
    /// Read from [`Opened::store`] by the engine.
    ToRead,
    /// Read as a stream went by, before its `manifest.json` said which member is which layer,
    /// keyed by [`LayerRef::location`](crate::image::LayerRef::location): a member under its
    /// own name and under every link that leads to it (links share their target's scan).
    Read(HashMap<String, Arc<LayerScan>>),
}

impl Opened {
    /// An image whose layers the engine reads from `store`.
    pub(crate) fn to_read(image: Image, store: Arc<dyn BlobStore>) -> Opened {
        Opened {
            image,
            store,
            layers: Layers::ToRead,
        }
    }
}
