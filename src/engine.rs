//! The engine: read every layer once, in parallel (largest first), and apply them in order on
//! one thread as they arrive. Streamed sources read their layers while they are opened; their
//! scans go through the same verification and applying ([`load_scanned`]).

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::image::Image;
use crate::layer::{self, Compression, LayerScan, ScanOptions};
use crate::overlay::Fs;

/// How to load an image.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub scan: ScanOptions,
    /// Turn digest and size mismatches into warnings (`--ignore-errors`).
    pub ignore_errors: bool,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// The layer cache's directory (`--cache`); `None`: no cache.
    pub cache: Option<PathBuf>,
}

/// Counters a face can poll to show progress while [`load`] runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Compressed bytes read so far, over all layers.
    pub bytes: Arc<AtomicU64>,
    /// Σ of the blobs' sizes, once known.
    pub total: AtomicU64,
    /// Layers read and applied.
    pub layers_done: AtomicUsize,
}

/// An image read and its filesystem rebuilt.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub image: Image,
    /// What was read of each layer (entries dropped once applied).
    pub scans: Vec<LayerScan>,
    pub fs: Fs,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<String>,
}

/// Verifies scans as they arrive, in any order, and applies them bottom to top.
struct Applier<'a> {
    image: &'a Image,
    options: &'a LoadOptions,
    progress: &'a Progress,
    fs: Fs,
    pending: Vec<Option<LayerScan>>,
    scans: Vec<Option<LayerScan>>,
    applied: usize,
    warnings: Vec<String>,
    errors: Vec<(usize, Error)>,
}

impl<'a> Applier<'a> {
    fn new(image: &'a Image, options: &'a LoadOptions, progress: &'a Progress) -> Self {
        let n = image.layers.len();
        Applier {
            image,
            options,
            progress,
            fs: Fs::new(),
            pending: vec![None; n],
            scans: vec![None; n],
            applied: 0,
            warnings: image.warnings.clone(),
            errors: Vec::new(),
        }
    }

    /// Takes the result of reading layer `i`; returns false once an error means the remaining
    /// layers need not be read.
    fn receive(&mut self, i: usize, result: Result<LayerScan>) -> bool {
        match result {
            Ok(scan) => {
                for e in scan.verify(&self.image.layers[i]) {
                    if self.options.ignore_errors {
                        self.warnings.push(e.to_string());
                    } else {
                        self.errors.push((i, e));
                    }
                }
                self.pending[i] = Some(scan);
            }
            Err(e) => self.errors.push((i, e)),
        }
        if !self.errors.is_empty() {
            return false;
        }
        let n = self.pending.len();
        while self.applied < n {
            let applied = self.applied;
            let Some(mut scan) = self.pending[applied].take() else {
                break;
            };
            self.fs.apply(&scan);
            for w in &self.fs.layer(applied).warnings {
                self.warnings.push(format!("layer {applied}: {w}"));
            }
            if scan.skipped_entries > 0 {
                self.warnings.push(format!(
                    "layer {applied}: {} entries of tar types strata does not model were skipped",
                    scan.skipped_entries
                ));
            }
            // The entries and their names are in the filesystem now; only sizes and digests
            // stay (a million-path layer holds ~100 MB of them).
            scan.entries = Vec::new();
            scan.names = Vec::new();
            self.scans[applied] = Some(scan);
            self.applied += 1;
            self.progress
                .layers_done
                .store(self.applied, Ordering::Relaxed);
        }
        true
    }

    /// The first error by layer index, or the filesystem, the scans and the warnings.
    fn finish(mut self) -> Result<(Fs, Vec<LayerScan>, Vec<String>)> {
        if let Some((_, e)) = self.errors.into_iter().min_by_key(|(i, _)| *i) {
            return Err(e);
        }
        self.fs.finish();
        let scans = self
            .scans
            .into_iter()
            .enumerate()
            .map(|(i, s)| s.ok_or_else(|| Error::format(format!("layer {i}"), "was not read")))
            .collect::<Result<Vec<_>>>()?;
        Ok((self.fs, scans, self.warnings))
    }
}

/// Reads layer `i`, or takes it from the cache; stores what was read and verified. Returns
/// warnings about the cache alongside.
fn read_one(
    image: &Image,
    i: usize,
    options: &LoadOptions,
    cache: Option<&Cache>,
    counter: &Arc<AtomicU64>,
) -> (Result<LayerScan>, Vec<String>) {
    let layer = &image.layers[i];
    let mut notes = Vec::new();
    if let (Some(cache), Some(diff_id)) = (cache, layer.diff_id.as_deref()) {
        match cache.get(diff_id, i) {
            Ok(Some(scan)) => return (describe_blob(image, i, scan, counter), notes),
            Ok(None) => {}
            Err(e) => notes.push(format!(
                "layer {i}: layer cache entry ignored ({e}); the layer was read again"
            )),
        }
    }
    let result = layer::scan(
        image.store.as_ref(),
        layer,
        options.scan,
        Some(Arc::clone(counter)),
    );
    if let (Some(cache), Ok(scan)) = (cache, &result) {
        // Only a diff_id checked against the config names a cache entry.
        let verified = scan.diff_id.is_some()
            && scan.diff_id == layer.diff_id
            && scan.verify(layer).is_empty();
        if verified && let Err(e) = cache.put(scan) {
            notes.push(format!("layer {i}: cannot write the layer cache: {e}"));
        }
    }
    (result, notes)
}

/// A cached scan describes the layer's tar; the blob is this image's own (it may be compressed
/// differently): take its size and compression from the store, and leave its digest unread.
fn describe_blob(
    image: &Image,
    i: usize,
    mut scan: LayerScan,
    counter: &Arc<AtomicU64>,
) -> Result<LayerScan> {
    let (mut raw, len) = image.store.open(&image.layers[i].location)?;
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        match raw.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(&image.layers[i].location, e)),
        }
    }
    scan.compression = Compression::sniff(&head[..got]);
    scan.compressed_size = len;
    scan.blob_digest = None;
    counter.fetch_add(len, Ordering::Relaxed);
    Ok(scan)
}

/// Reads all layers of `image` and rebuilds its filesystem. A store that read its layers
/// while it was opened (a streamed archive) hands its scans to [`load_scanned`].
pub fn load(image: Image, options: &LoadOptions, progress: &Progress) -> Result<Loaded> {
    if let Some(scans) = image.store.take_scans() {
        return load_scanned(image, scans, options, progress);
    }
    let n = image.layers.len();
    // Blob sizes for progress and scheduling; formats without them (docker save) ask the store.
    let sizes: Vec<u64> = image
        .layers
        .iter()
        .map(|l| {
            l.size
                .or_else(|| image.store.open(&l.location).ok().map(|(_, len)| len))
                .unwrap_or(0)
        })
        .collect();
    let total: u64 = sizes.iter().sum();
    progress.total.store(total, Ordering::Relaxed);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |p| p.get()),
        t => t,
    }
    .clamp(1, n.max(1));

    let next = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let mut applier = Applier::new(&image, options, progress);
    let cache = options.cache.as_ref().map(Cache::new);

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<LayerScan>, Vec<String>)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, cancel, order, image, cache) = (&next, &cancel, &order, &image, &cache);
            let counter = Arc::clone(&progress.bytes);
            scope.spawn(move || {
                loop {
                    if cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let slot = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&i) = order.get(slot) else {
                        return;
                    };
                    let (result, notes) = read_one(image, i, options, cache.as_ref(), &counter);
                    if tx.send((i, result, notes)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for (i, result, notes) in rx {
            applier.warnings.extend(notes);
            if !applier.receive(i, result) {
                cancel.store(true, Ordering::Relaxed);
            }
        }
    });
    let (fs, scans, warnings) = applier.finish()?;
    Ok(Loaded {
        image,
        scans,
        fs,
        warnings,
    })
}

/// Verifies and applies layers that were already read, keyed by their
/// [`LayerRef::location`](crate::image::LayerRef::location): a streamed `docker save` is read
/// once, as it arrives, before its `manifest.json` says which member is which layer. A
/// location used by several layers is applied for each.
///
/// # Errors
/// A layer whose location has no scan, and the same verification errors as [`load`].
pub fn load_scanned(
    image: Image,
    mut scans: HashMap<String, LayerScan>,
    options: &LoadOptions,
    progress: &Progress,
) -> Result<Loaded> {
    let total: u64 = scans.values().map(|s| s.compressed_size).sum();
    progress.total.store(total, Ordering::Relaxed);
    progress.bytes.store(total, Ordering::Relaxed);
    let mut applier = Applier::new(&image, options, progress);
    let layers = &image.layers;
    for (i, layer) in layers.iter().enumerate() {
        let used_later = layers[i + 1..].iter().any(|l| l.location == layer.location);
        let scan = if used_later {
            scans.get(&layer.location).cloned()
        } else {
            scans.remove(&layer.location)
        };
        let result = scan
            .map(|mut s| {
                s.index = i;
                s
            })
            .ok_or_else(|| Error::Layer {
                layer: i,
                blob: layer.location.clone(),
                message: format!("not read from {}", image.store.name()),
            });
        if !applier.receive(i, result) {
            break;
        }
    }
    let (fs, scans, warnings) = applier.finish()?;
    Ok(Loaded {
        image,
        scans,
        fs,
        warnings,
    })
}
