//! Reading one layer for the engine: from the layer cache when an entry stands for its blob,
//! else from the image's store in a single pass ([`layer::read_layer_batched`]), and stored in
//! the cache once checked against the manifest and the config.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::cache::Cache;
use crate::error::{Error, LayerError, Result};
use crate::image::{Image, LayerRef};
use crate::layer::decode::{self, HashBuf};
use crate::layer::{self, Algorithm, Batches, Compression, Expected, LayerScan, ScanOptions};
use crate::source::BlobStore;

/// What the manifest and the config promise about `layer`.
pub(super) fn expected(layer: &LayerRef) -> Expected<'_> {
    Expected {
        index: layer.index,
        location: &layer.location,
        digest: layer.digest.as_deref(),
        diff_id: layer.diff_id.as_deref(),
        size: layer.size,
    }
}

/// Reads layer `i`, or takes it from the cache; stores what was read and verified. Returns
/// notes about the cache alongside.
pub(super) fn read_one(
    image: &Image,
    store: &dyn BlobStore,
    i: usize,
    options: ScanOptions,
    cache: Option<&Cache>,
    counter: &Arc<AtomicU64>,
    batches: Option<Batches<'_>>,
) -> (Result<LayerScan>, Vec<String>) {
    let layer = &image.layers[i];
    let mut notes = Vec::new();
    // The entry is named by the digest the image gives the blob (see crate::cache).
    let key = layer
        .digest
        .as_deref()
        .filter(|d| d.starts_with("sha256:"))
        .or(layer.diff_id.as_deref());
    let cache = cache.zip(key);
    if let Some((cache, key)) = cache {
        match cache.get(key, i) {
            Ok(Some(scan)) => {
                if let Some(scan) = describe_blob(store, layer, scan, options, counter) {
                    crate::trace::mark(|| format!("read {i} cached"));
                    return (Ok(scan), notes);
                }
            }
            Ok(None) => {}
            Err(e) => notes.push(format!(
                "layer {i}: layer cache entry ignored ({e}); the layer was read again"
            )),
        }
    }
    let result = scan(store, layer, options, Some(Arc::clone(counter)), batches);
    if let (Some((cache, key)), Ok(scan)) = (cache, &result) {
        // Only a scan checked against the manifest and the config is stored, with the digest
        // of the blob it was read from.
        let verified = scan.blob_digest.is_some()
            && scan.diff_id.is_some()
            && scan.diff_id == layer.diff_id
            && scan.verify(&expected(layer)).is_empty();
        if verified && let Err(e) = cache.put(key, scan) {
            notes.push(format!("layer {i}: cannot write the layer cache: {e}"));
        }
    }
    (result, notes)
}

/// A cached scan stands for `layer` only if the blob holds the bytes it was read from: the
/// blob is streamed through SHA-256 (no decompression, no tar) and its digest compared with
/// the one the scan recorded. `None`: other bytes, or a blob that cannot be read; the caller
/// reads the layer, and its cold read gives the verdict.
fn describe_blob(
    store: &dyn BlobStore,
    layer: &LayerRef,
    mut scan: LayerScan,
    options: ScanOptions,
    counter: &Arc<AtomicU64>,
) -> Option<LayerScan> {
    let (raw, _) = store.open(&layer.location).ok()?;
    let mut blob = HashBuf::new(raw, decode::BLOB_BUFFER, true, Some(Arc::clone(counter)));
    let read = decode::drain(&mut blob);
    let (_, size, digest) = blob.into_parts();
    if read.is_err() || digest.is_none() || digest != scan.blob_digest {
        // The cold read counts these bytes again.
        counter.fetch_sub(size, Ordering::Relaxed);
        return None;
    }
    scan.compressed_size = size;
    if !options.verify {
        // As a cold read under --no-verify: nothing hashed, nothing to check.
        scan.blob_digest = None;
        scan.diff_id = None;
    }
    Some(scan)
}

/// Reads one layer blob from `store` in a single pass, handing entries over in [`Batches`] as
/// they are read. `progress` receives compressed bytes as they are read.
fn scan(
    store: &dyn BlobStore,
    layer: &LayerRef,
    options: ScanOptions,
    progress: Option<Arc<AtomicU64>>,
    batches: Option<Batches<'_>>,
) -> Result<LayerScan> {
    let (raw, _len) = store.open(&layer.location)?;
    let hashing = options.verify.then(|| expected(layer).hashing());
    layer::read_layer_batched(raw, layer.index, hashing, progress, batches).map_err(|cause| {
        // A corrupt compressed blob often surfaces as a tar error first (deflate checks its
        // CRC only at the end): when the blob's digest is known, say that the blob itself is
        // damaged, which is the cause to report.
        let source = match blob_digest_mismatch(store, layer) {
            Some((kind, found)) => LayerError::CorruptBlob {
                kind,
                cause: Box::new(cause),
                expected: layer.digest.clone().unwrap_or_default(),
                found,
            },
            None => cause,
        };
        Error::Layer {
            layer: layer.index,
            blob: layer
                .digest
                .clone()
                .unwrap_or_else(|| layer.location.clone()),
            source,
        }
    })
}

/// The blob's compression and real digest when it differs from the manifest's.
fn blob_digest_mismatch(store: &dyn BlobStore, layer: &LayerRef) -> Option<(&'static str, String)> {
    let expected = layer.digest.as_deref()?;
    let algorithm = Algorithm::of(expected).ok()?;
    let (raw, _) = store.open(&layer.location).ok()?;
    let mut hashed =
        decode::HashBuf::with_algorithm(raw, decode::BLOB_BUFFER, Some(algorithm), None);
    let head = std::io::BufRead::fill_buf(&mut hashed).ok()?;
    let compression = match Compression::sniff(head) {
        Compression::None => Compression::foreign(head).unwrap_or("tar"),
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
    };
    decode::drain(&mut hashed).ok()?;
    let (_, _, found) = hashed.into_parts();
    let found = found?;
    (!found.eq_ignore_ascii_case(expected)).then_some((compression, found))
}
