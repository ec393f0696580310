//! The engine: read every layer once, in parallel (largest first), and apply them in order on
//! one thread as they arrive. The base layer is applied while it is read, in batches: nothing
//! lies below it for its whiteouts to hide, so its entries need not wait for the end of its tar
//! (other layers must, since their whiteouts apply before their entries wherever they sit).
//! Streamed sources read their layers while they are opened ([`Layers::Read`]); their scans go
//! through the same verification and applying. `read.rs` reads one layer, from the cache or
//! the store.

mod read;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use crate::cache::Cache;
use crate::error::layer::Invariant;
use crate::error::{Error, LayerError, Result, TooMany};
use crate::image::{Format, Image, LayerRef};
use crate::layer::{self, Batches, LayerScan, ScanOptions};
use crate::overlay::{BaseLayer, Fs};
use crate::source::{BlobStore, Layers, Opened};

/// The most layers an image may have. Layer indexes are 16-bit in the filesystem model; no
/// runtime comes near it (Docker refuses more than 125 layers, overlayfs stacks at most 500).
pub const MAX_LAYERS: usize = u16::MAX as usize;

/// The most entries applied again for layers that repeat an earlier layer's blob. A blob
/// listed many times would otherwise cost memory with every listing (one 20,000-path blob
/// listed 2,000 times is 40 million entries), not with the image's distinct content.
pub const MAX_REPEATED_ENTRIES: u64 = 1_000_000;

/// For each layer, the first layer whose blob is at the same location.
fn first_of(image: &Image) -> Vec<usize> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    image
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| *first.entry(l.location.as_str()).or_insert(i))
        .collect()
}

/// For each layer, the earlier layer with the same content, if any: the same diff_id (the
/// uncompressed tar's digest), or without one the same blob. Links to one member of a
/// `docker save` have different names but one diff_id.
fn repeats(image: &Image) -> Vec<Option<usize>> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    image
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let key = l.diff_id.as_deref().unwrap_or(&l.location);
            let f = *first.entry(key).or_insert(i);
            (f != i).then_some(f)
        })
        .collect()
}

fn repeated_error(image: &Image, layer: usize, first: usize) -> Error {
    let key = |l: &LayerRef| l.diff_id.clone().unwrap_or(l.location.clone());
    let mine = key(&image.layers[layer]);
    let times = image.layers.iter().filter(|l| key(l) == mine).count();
    let location = &image.layers[layer].location;
    Error::Layer {
        layer,
        blob: image.layers[layer]
            .digest
            .clone()
            .unwrap_or_else(|| location.clone()),
        source: LayerError::Repeats {
            first,
            times,
            limit: MAX_REPEATED_ENTRIES,
        },
    }
}

/// Refuses an image with more layers than [`MAX_LAYERS`].
fn check_layer_count(image: &Image) -> Result<()> {
    let n = image.layers.len();
    if n > MAX_LAYERS {
        return Err(Error::TooMany {
            what: image.source.clone(),
            limit: TooMany::Layers {
                count: n,
                limit: MAX_LAYERS,
            },
        });
    }
    Ok(())
}

/// How to load an image.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub scan: ScanOptions,
    /// Turn digest and size mismatches into warnings (`--ignore-errors`).
    pub ignore_errors: bool,
    /// The cores to use (reader threads, at most one per layer); 0 means all of them.
    pub threads: usize,
    /// The layer cache's directory (`--cache`); `None`: no cache.
    pub cache: Option<PathBuf>,
    /// Entries per batch when the base layer is applied while it is read; 0: [`layer::BATCH`];
    /// `usize::MAX`: apply it whole once it is read, like the other layers.
    pub base_batch: usize,
    /// Go on past every problem (`strata verify`): a layer that cannot be read is applied as
    /// empty, and each problem is listed in [`Loaded::problems`] instead of failing the load.
    pub keep_going: bool,
}

/// A problem [`LoadOptions::keep_going`] went past: the layer (its index; `None` for the index,
/// manifest or config) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub layer: Option<usize>,
    pub message: String,
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
    /// Where the image's blobs are (the explorer exports files from the layers through it).
    pub store: Arc<dyn BlobStore>,
    /// What was read of each layer (entries dropped once applied).
    pub scans: Vec<LayerScan>,
    pub fs: Fs,
    /// Problems that did not stop the analysis.
    pub warnings: Vec<String>,
    /// With [`LoadOptions::keep_going`], every error gone past, by layer; empty otherwise.
    pub problems: Vec<Problem>,
}

/// Verifies scans as they arrive, in any order, and applies them bottom to top.
struct Applier<'a> {
    image: &'a Image,
    options: &'a LoadOptions,
    progress: &'a Progress,
    fs: Fs,
    /// For each layer, the first layer with the same blob: a blob listed several times is
    /// read once and its scan shared by every layer that lists it.
    first_of: Vec<usize>,
    pending: Vec<Option<Arc<LayerScan>>>,
    scans: Vec<Option<LayerScan>>,
    /// For each layer that repeats an earlier one's content (the same diff_id, or the same
    /// blob when there is none), that earlier layer.
    repeats: Vec<Option<usize>>,
    /// Entries applied again for those layers.
    repeated_entries: u64,
    /// The base layer while its batches are applied as it is read.
    base: Option<BaseLayer>,
    applied: usize,
    warnings: Vec<String>,
    errors: Vec<(usize, Error)>,
    problems: Vec<Problem>,
}

impl<'a> Applier<'a> {
    fn new(image: &'a Image, options: &'a LoadOptions, progress: &'a Progress) -> Self {
        let n = image.layers.len();
        Applier {
            image,
            options,
            progress,
            fs: Fs::new(),
            first_of: first_of(image),
            repeats: repeats(image),
            pending: vec![None; n],
            scans: vec![None; n],
            repeated_entries: 0,
            base: None,
            applied: 0,
            warnings: image.warnings.clone(),
            errors: Vec::new(),
            problems: Vec::new(),
        }
        .with_integrity()
    }

    /// The index's, manifest's or config's mismatches the source went past: problems when
    /// going on past everything (`strata verify`), warnings otherwise (`--ignore-errors`).
    fn with_integrity(mut self) -> Self {
        for message in &self.image.integrity {
            if self.options.keep_going {
                self.problems.push(Problem {
                    layer: None,
                    message: message.clone(),
                });
            } else {
                self.warnings.push(message.clone());
            }
        }
        self
    }

    /// An error about layer `i`: fatal, or with `keep_going` one more problem gone past.
    fn fail(&mut self, i: usize, e: Error) {
        if self.options.keep_going {
            self.problems.push(Problem {
                layer: Some(i),
                message: e.to_string(),
            });
        } else {
            self.errors.push((i, e));
        }
    }

    /// Applies the next entries of the base layer while it is still being read: nothing lies
    /// below it, so they need not wait for its whiteouts (see [`Fs::begin_base`]).
    fn batch(&mut self, batch: LayerScan) {
        if !self.errors.is_empty() {
            return;
        }
        if self.base.is_none() {
            match self.fs.begin_base() {
                Some(base) => self.base = Some(base),
                None => {
                    self.errors.push((
                        0,
                        Error::Invariant {
                            layer: 0,
                            broken: Invariant::BatchedAfterOthers,
                        },
                    ));
                    return;
                }
            }
        }
        if let Some(base) = self.base.as_mut() {
            self.fs.apply_base_batch(base, &batch);
        }
    }

    /// Takes the result of reading layer `i`; returns false once an error means the remaining
    /// layers need not be read.
    fn receive(&mut self, i: usize, result: Result<Arc<LayerScan>>) -> bool {
        match result {
            Ok(scan) => self.verify(i, &scan),
            Err(e) => {
                self.fail(i, e);
                // Going on: the layer (and those listing its blob) are applied as empty.
                if self.options.keep_going {
                    for j in i..self.first_of.len() {
                        if self.first_of[j] == i {
                            self.pending[j] = Some(Arc::new(LayerScan::new(j)));
                        }
                    }
                }
            }
        }
        if !self.errors.is_empty() {
            return false;
        }
        self.apply_pending()
    }

    /// Checks the scan read for layer `i` against what the manifest and the config promise
    /// for it and for every later layer listing the same blob, and makes it pending for each.
    fn verify(&mut self, i: usize, scan: &Arc<LayerScan>) {
        for j in i..self.first_of.len() {
            if self.first_of[j] != i {
                continue;
            }
            for e in scan.verify(&read::expected(&self.image.layers[j])) {
                if self.options.ignore_errors {
                    self.warnings.push(e.to_string());
                } else {
                    self.fail(j, e);
                }
            }
            self.pending[j] = Some(Arc::clone(scan));
        }
    }

    /// Applies the pending layers from the lowest not yet applied, up to the first one still
    /// being read; false when one of them is fatal.
    fn apply_pending(&mut self) -> bool {
        let n = self.pending.len();
        while self.applied < n {
            let applied = self.applied;
            let Some(mut shared) = self.pending[applied].take() else {
                break;
            };
            if let Some(first) = self.repeats[applied] {
                self.repeated_entries += shared.entries.len() as u64;
                if self.repeated_entries > MAX_REPEATED_ENTRIES {
                    self.fail(applied, repeated_error(self.image, applied, first));
                    if !self.options.keep_going {
                        return false;
                    }
                    shared = Arc::new(shared.without_entries());
                }
            }
            self.apply_next(shared);
        }
        true
    }

    /// Applies the next layer, whose scan `shared` may be shared with later layers listing the
    /// same blob, and keeps what remains of the scan once applied.
    fn apply_next(&mut self, shared: Arc<LayerScan>) {
        let applied = self.applied;
        crate::trace::mark(|| format!("apply layer {applied} start"));
        match self.base.take() {
            Some(mut base) if applied == 0 => {
                self.fs.apply_base_batch(&mut base, &shared);
                self.fs.end_base(base);
            }
            _ => self.fs.apply(&shared),
        }
        // The last layer to use a scan takes it; the others copy all but its entries.
        let mut scan = Arc::try_unwrap(shared).unwrap_or_else(|s| s.without_entries());
        scan.index = applied;
        for w in &self.fs.layer(applied).warnings {
            self.warnings.push(format!("layer {applied}: {w}"));
        }
        if scan.skipped_entries > 0 {
            self.warnings.push(match scan.skipped_entries {
                1 => format!(
                    "layer {applied}: 1 entry of a tar type strata does not model was skipped"
                ),
                n => format!(
                    "layer {applied}: {n} entries of tar types strata does not model were \
                     skipped"
                ),
            });
        }
        // The entries and their names are in the filesystem now; only sizes and digests
        // stay (a million-path layer holds ~100 MB of them).
        scan.entries = Vec::new();
        scan.names = Vec::new();
        crate::trace::mark(|| format!("apply layer {applied} done"));
        self.scans[applied] = Some(scan);
        self.applied += 1;
        self.progress
            .layers_done
            .store(self.applied, Ordering::Relaxed);
    }

    /// The first error by layer index, or the filesystem, the scans, the warnings and the
    /// problems gone past.
    fn finish(mut self) -> Result<Finished> {
        if let Some((_, e)) = self.errors.into_iter().min_by_key(|(i, _)| *i) {
            return Err(e);
        }
        crate::trace::mark(|| "finish start".into());
        self.fs.finish();
        crate::trace::mark(|| "finish done".into());
        let scans = self
            .scans
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.ok_or(Error::Invariant {
                    layer: i,
                    broken: Invariant::NotRead,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.problems.sort_by_key(|p| p.layer);
        Ok(Finished {
            fs: self.fs,
            scans,
            warnings: self.warnings,
            problems: self.problems,
        })
    }
}

/// What the applier hands back.
struct Finished {
    fs: Fs,
    scans: Vec<LayerScan>,
    warnings: Vec<String>,
    problems: Vec<Problem>,
}

impl Finished {
    fn loaded(self, image: Image, store: Arc<dyn BlobStore>) -> Loaded {
        Loaded {
            image,
            store,
            scans: self.scans,
            fs: self.fs,
            warnings: self.warnings,
            problems: self.problems,
        }
    }
}

/// What a reader thread sends the applier.
enum Msg {
    /// Entries of the base layer, read so far.
    Batch(LayerScan),
    /// Layer `i` read (its last entries, sizes and digests), with notes about the cache.
    Done(usize, Result<LayerScan>, Vec<String>),
}

/// Reads all layers of an opened image and rebuilds its filesystem. Layers a streamed source
/// read while it was opened ([`Layers::Read`]) are verified and applied as the others are.
///
/// # Errors
/// Too many layers, a layer that cannot be read or does not match what the manifest and the
/// config promise (unless [`LoadOptions`] says to go past it), or a layer a stream did not hold.
pub fn load(opened: Opened, options: &LoadOptions, progress: &Progress) -> Result<Loaded> {
    let Opened {
        image,
        store,
        layers,
    } = opened;
    check_layer_count(&image)?;
    match layers {
        Layers::ToRead => read_and_apply(image, store, options, progress),
        Layers::Read(scans) => apply_read(image, store, scans, options, progress),
    }
}

/// Reads every layer from `store` on worker threads (largest first) and applies them in order
/// as they arrive.
fn read_and_apply(
    image: Image,
    store: Arc<dyn BlobStore>,
    options: &LoadOptions,
    progress: &Progress,
) -> Result<Loaded> {
    let mut applier = Applier::new(&image, options, progress);
    let order = read_order(&image, store.as_ref(), &applier.first_of, progress);
    let cores = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |p| p.get()),
        t => t,
    };
    let threads = cores.clamp(1, order.len().max(1));
    let cache = open_cache(options, &mut applier.warnings);
    // The base layer is applied as it is read, unless the cache needs it whole. A base layer
    // whose blob a later layer lists again is read whole, to be applied again.
    let base_repeats = applier.first_of.iter().skip(1).any(|&f| f == 0);
    let stream_base = cache.is_none() && options.base_batch != usize::MAX && !base_repeats;
    let lent = (stream_base && apply_base_on_reader(cores)).then(|| {
        let base = applier.fs.begin_base();
        Mutex::new(Some(Lent {
            base,
            fs: std::mem::take(&mut applier.fs),
        }))
    });
    let readers = Readers {
        image: &image,
        store: store.as_ref(),
        options,
        cache,
        order,
        next: AtomicUsize::new(0),
        cancel: AtomicBool::new(false),
        base_batch: stream_base.then_some(match options.base_batch {
            0 => layer::BATCH,
            b => b,
        }),
        lent,
    };
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Msg>();
        for _ in 0..threads {
            let (tx, readers) = (tx.clone(), &readers);
            let counter = Arc::clone(&progress.bytes);
            scope.spawn(move || readers.run(&tx, &counter));
        }
        drop(tx);
        for msg in rx {
            match msg {
                Msg::Batch(batch) => applier.batch(batch),
                Msg::Done(i, result, notes) => {
                    if i == 0 {
                        readers.give_back(&mut applier);
                    }
                    applier.warnings.extend(notes);
                    if !applier.receive(i, result.map(Arc::new)) {
                        readers.cancel.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    readers.give_back(&mut applier);
    Ok(applier.finish()?.loaded(image, store))
}

/// The layers to read, largest blob first; a blob listed by several layers is read once, for
/// the first of them (`first_of`). The sum of their sizes goes to `progress`.
fn read_order(
    image: &Image,
    store: &dyn BlobStore,
    first_of: &[usize],
    progress: &Progress,
) -> Vec<usize> {
    // Blob sizes for progress and scheduling; formats without them (docker save) ask the store.
    let sizes: Vec<u64> = image
        .layers
        .iter()
        .map(|l| {
            l.size
                .or_else(|| store.open(&l.location).ok().map(|(_, len)| len))
                .unwrap_or(0)
        })
        .collect();
    let mut order: Vec<usize> = (0..image.layers.len())
        .filter(|&i| first_of[i] == i)
        .collect();
    let total: u64 = order.iter().map(|&i| sizes[i]).sum();
    progress.total.store(total, Ordering::Relaxed);
    order.sort_by_key(|&i| std::cmp::Reverse(sizes[i]));
    order
}

/// The layer cache `options` names, if any and if it opens; otherwise why not, in `warnings`.
fn open_cache(options: &LoadOptions, warnings: &mut Vec<String>) -> Option<Cache> {
    let root = options.cache.as_deref()?;
    match Cache::open(root) {
        Ok(cache) => Some(cache),
        Err(e) => {
            warnings.push(format!("layer cache not used: {e}"));
            None
        }
    }
}

/// What the reader threads share: the layers to read and how.
struct Readers<'a> {
    image: &'a Image,
    store: &'a dyn BlobStore,
    options: &'a LoadOptions,
    cache: Option<Cache>,
    /// The layers to read, in this order; `next` is the slot the next free thread takes.
    order: Vec<usize>,
    next: AtomicUsize,
    /// Set once an error means the remaining layers need not be read.
    cancel: AtomicBool,
    /// Entries per batch when the base layer is applied as it is read; `None`: it is read
    /// whole, like the others.
    base_batch: Option<usize>,
    /// The filesystem, lent to the base layer's reader to apply its batches itself (`None`:
    /// they are sent to the loading thread). See [`apply_base_on_reader`].
    lent: Option<Mutex<Option<Lent>>>,
}

/// The filesystem and the base layer begun on it, while the base layer's reader holds them.
struct Lent {
    fs: Fs,
    base: Option<BaseLayer>,
}

/// Whether the base layer's reader applies its batches itself rather than sending them to the
/// loading thread. A large base layer keeps three threads busy: inflating and walking it,
/// hashing it, applying it. With fewer cores than that, a third thread only takes turns with
/// the other two, and the hash thread (the longest of them, on a path-heavy layer) waits
/// while it runs: on two cores, a million-path base layer loaded 10-15% faster applied on its
/// reader. With three cores or more, each keeps one.
fn apply_base_on_reader(cores: usize) -> bool {
    cores < 3
}

impl Readers<'_> {
    /// One reader thread: reads the next layer in `order` until none is left or the load is
    /// cancelled, and sends each (and the base layer's batches) to the applier through `tx`.
    /// `counter` receives compressed bytes as they are read.
    fn run(&self, tx: &mpsc::Sender<Msg>, counter: &Arc<AtomicU64>) {
        loop {
            if self.cancel.load(Ordering::Relaxed) {
                return;
            }
            let slot = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = self.order.get(slot) else {
                return;
            };
            let mut send = |batch| {
                let _ = tx.send(Msg::Batch(batch));
            };
            let mut apply = |batch: LayerScan| self.apply_lent(&batch);
            let sink: &mut dyn FnMut(LayerScan) = match self.lent {
                Some(_) => &mut apply,
                None => &mut send,
            };
            let batches = self
                .base_batch
                .filter(|_| i == 0)
                .map(|size| Batches { size, sink });
            crate::trace::mark(|| format!("read {i} start"));
            let span = crate::trace::Span::start();
            let (result, notes) = read::read_one(
                self.image,
                self.store,
                i,
                self.options.scan,
                self.cache.as_ref(),
                counter,
                batches,
            );
            crate::trace::mark(|| format!("read {i} done"));
            span.end(|| format!("read {i}"));
            if tx.send(Msg::Done(i, result, notes)).is_err() {
                return;
            }
        }
    }
}

impl Readers<'_> {
    /// Applies a batch of the base layer on the lent filesystem (nothing once the load is
    /// cancelled: it fails).
    fn apply_lent(&self, batch: &LayerScan) {
        if self.cancel.load(Ordering::Relaxed) {
            return;
        }
        let Some(lent) = &self.lent else {
            return;
        };
        let mut lent = lent.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(Lent {
            fs,
            base: Some(base),
        }) = lent.as_mut()
        {
            fs.apply_base_batch(base, batch);
        }
    }

    /// Gives the lent filesystem back to the applier, with the base layer as far as it was
    /// applied, once the base layer is read (or the readers are done).
    fn give_back(&self, applier: &mut Applier<'_>) {
        let Some(lent) = &self.lent else {
            return;
        };
        if let Some(Lent { fs, base }) = lent.lock().unwrap_or_else(PoisonError::into_inner).take()
        {
            applier.fs = fs;
            applier.base = base;
        }
    }
}

/// Verifies and applies layers that were already read, keyed by their
/// [`LayerRef::location`]: a streamed `docker save` is read once, as it arrives, before its
/// `manifest.json` says which member is which layer. A location used by several layers is
/// applied for each.
///
/// # Errors
/// A layer whose location has no scan, and the same verification errors as [`load`].
fn apply_read(
    image: Image,
    store: Arc<dyn BlobStore>,
    mut scans: HashMap<String, Arc<LayerScan>>,
    options: &LoadOptions,
    progress: &Progress,
) -> Result<Loaded> {
    // Links share their target's scan: count each scan once.
    let mut seen = std::collections::HashSet::new();
    let total: u64 = scans
        .values()
        .filter(|s| seen.insert(Arc::as_ptr(s)))
        .map(|s| s.compressed_size)
        .sum();
    progress.total.store(total, Ordering::Relaxed);
    progress.bytes.store(total, Ordering::Relaxed);
    let mut applier = Applier::new(&image, options, progress);
    for (i, layer) in image.layers.iter().enumerate() {
        if applier.first_of[i] != i {
            continue; // applied with the first layer that lists its blob
        }
        // Links to one member share its scan (each of them keeps only its sizes and digests
        // once applied).
        let result = scans.remove(&layer.location).ok_or_else(|| Error::Layer {
            layer: i,
            blob: layer.location.clone(),
            source: LayerError::NotRead {
                store: store.name().to_string(),
            },
        });
        if !applier.receive(i, result) {
            break;
        }
    }
    Ok(applier.finish()?.loaded(image, store))
}

/// The store of a [`Loaded::synthetic`] image, which has no blobs.
#[derive(Debug)]
struct NoBlobs;

impl BlobStore for NoBlobs {
    fn open(&self, location: &str) -> Result<(Box<dyn std::io::Read + Send + '_>, u64)> {
        Err(Error::io(
            location,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "a synthetic image has no blobs",
            ),
        ))
    }

    fn name(&self) -> &str {
        "synthetic"
    }
}

impl Loaded {
    /// A loaded image made of scans built by hand and the filesystem they were applied to
    /// (benchmarks, tests): one layer per scan, with no blobs behind them, named `source`.
    #[doc(hidden)]
    pub fn synthetic(source: &str, scans: Vec<LayerScan>, fs: Fs) -> Loaded {
        let layers = (0..scans.len())
            .map(|index| LayerRef::at(index, format!("blobs/sha256/layer{index}")))
            .collect();
        let image = Image {
            source: source.to_string(),
            format: Format::OciLayout,
            reference: None,
            platform: None,
            manifest_digest: None,
            config_digest: None,
            config: serde_json::Value::Null,
            layers,
            warnings: Vec::new(),
            integrity: Vec::new(),
            annotations: std::collections::BTreeMap::new(),
            provenance: None,
        };
        Loaded {
            image,
            store: Arc::new(NoBlobs),
            scans,
            fs,
            warnings: Vec::new(),
            problems: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::source::{self, Input, OpenOptions};

    fn analysis(name: &str, base_batch: usize) -> String {
        analysis_with(name, base_batch, 0)
    }

    fn analysis_with(name: &str, base_batch: usize, threads: usize) -> String {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/images")
            .join(name);
        let input = Input::parse(&dir.to_string_lossy(), None).unwrap();
        let image = source::open(&input, &OpenOptions::default()).unwrap();
        let options = LoadOptions {
            base_batch,
            threads,
            ..LoadOptions::default()
        };
        let loaded = load(image, &options, &Progress::default()).unwrap();
        let mut json = serde_json::to_string(&Analysis::new(&loaded)).unwrap();
        // Node order is part of what must not change: the tree as the explorer lists it.
        for n in loaded.fs.node_ids() {
            json.push_str(&loaded.fs.path(n));
        }
        json
    }

    /// A compressed archive is read once, as a stream, while it is opened: the engine applies
    /// the layers it read, reads none from the store, and the store the explorer exports
    /// through says that a layer cannot be read again. The same archive uncompressed is a
    /// seekable tar whose layers the engine reads from the store.
    #[test]
    fn a_streamed_archive_is_read_once() {
        use std::io::Write as _;
        let tar = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/images/overlay-docker.tar");
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("overlay-docker.tar.gz");
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&std::fs::read(&tar).unwrap()).unwrap();
        std::fs::write(&gz, encoder.finish().unwrap()).unwrap();

        let open = |path: &std::path::Path| {
            let input = Input::parse(&path.to_string_lossy(), None).unwrap();
            source::open(&input, &OpenOptions::default()).unwrap()
        };
        let streamed = open(&gz);
        assert!(matches!(streamed.layers, Layers::Read(_)));
        let plain = open(&tar);
        assert!(matches!(plain.layers, Layers::ToRead));

        let loaded = load(streamed, &LoadOptions::default(), &Progress::default()).unwrap();
        let from_tar = load(plain, &LoadOptions::default(), &Progress::default()).unwrap();
        let analysis = |loaded: &Loaded| serde_json::to_string(&Analysis::new(loaded)).unwrap();
        let named_as_tar = Loaded {
            image: Image {
                source: from_tar.image.source.clone(),
                ..loaded.image.clone()
            },
            ..loaded.clone()
        };
        // The same image, named by the file it came from.
        assert_eq!(analysis(&named_as_tar), analysis(&from_tar));
        let location = &loaded.image.layers[0].location;
        let err = loaded.store.open(location).err().unwrap().to_string();
        assert!(err.contains("a stream cannot be read again"), "{err}");
        assert!(from_tar.store.open(location).is_ok());
    }

    /// The base layer applied in batches as it is read gives the analysis of applying it whole,
    /// on every format of the test images, batches of one entry included.
    #[test]
    fn streaming_the_base_layer_changes_nothing() {
        for name in [
            "overlay-oci",
            "overlay-zstd",
            "overlay-plain",
            "overlay-docker.tar",
            "overlay.oci.tar",
            "overlayfs-oci",
            "docker25-graphdriver.tar",
            "docker25-containerd.tar",
            "compare-program-single",
            "compare-service-day2",
        ] {
            let whole = analysis(name, usize::MAX);
            // Applied by the base layer's reader (1 or 2 cores), or sent to the loading thread.
            assert!(apply_base_on_reader(2) && !apply_base_on_reader(3));
            for threads in [1, 2, 4] {
                for batch in [1, 2, 7, 0] {
                    assert_eq!(
                        analysis_with(name, batch, threads),
                        whole,
                        "{name}, batches of {batch}, {threads} threads"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod limits {
    use super::*;
    use crate::analysis::Analysis;
    use crate::source::testutil::{Layout, TarBuilder, config};
    use crate::source::{self, Input, OpenOptions};
    use serde_json::json;

    fn load_layout(root: &std::path::Path) -> Result<Loaded> {
        let input = Input::parse(&root.to_string_lossy(), None)?;
        let image = source::open(&input, &OpenOptions::default())?;
        load(image, &LoadOptions::default(), &Progress::default())
    }

    /// A layout whose manifest lists `order` of `blobs` (by index), each blob written once.
    fn layout(root: &std::path::Path, blobs: &[Vec<u8>], order: &[usize]) {
        let l = Layout::new(root);
        let descs: Vec<_> = blobs
            .iter()
            .map(|b| l.blob("application/vnd.oci.image.layer.v1.tar", b))
            .collect();
        let layers: Vec<&[u8]> = order.iter().map(|&i| blobs[i].as_slice()).collect();
        let cfg = l.blob(
            "application/vnd.oci.image.config.v1+json",
            config(&layers, json!([])).to_string().as_bytes(),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cfg,
            "layers": order.iter().map(|&i| descs[i].clone()).collect::<Vec<_>>(),
        });
        let m = l.blob(
            "application/vnd.oci.image.manifest.v1+json",
            manifest.to_string().as_bytes(),
        );
        l.write_index(vec![m]);
    }

    /// A blob listed twice is read once and applied twice: the result is what applying two
    /// copies gives, worked out here: the second listing re-ships `f` (waste), `g` once.
    #[test]
    fn a_blob_listed_twice_is_applied_twice() {
        let dir = tempfile::tempdir().unwrap();
        let a = TarBuilder::new().file("f", &[1u8; 1000]).bytes();
        let b = TarBuilder::new().file("g", &[2u8; 300]).bytes();
        layout(dir.path(), &[a, b], &[0, 1, 0]);
        let loaded = load_layout(dir.path()).unwrap();
        let analysis = Analysis::new(&loaded);
        assert_eq!(analysis.layers.len(), 3);
        let shipped: Vec<u64> = analysis.layers.iter().map(|l| l.shipped_bytes).collect();
        assert_eq!(shipped, [1000, 300, 1000]);
        assert_eq!(analysis.waste.wasted_bytes, 1000);
        let digests: Vec<_> = loaded.scans.iter().map(|s| s.blob_digest.clone()).collect();
        assert_eq!(digests[0], digests[2]);
        assert!(digests[0].is_some());
    }

    /// A blob of 1,000 entries listed 1,001 times repeats exactly the limit's 1,000,000
    /// entries and is read; once more is refused with one line naming the layer.
    #[test]
    fn repeated_layers_stop_at_the_entry_limit() {
        let mut t = TarBuilder::new();
        for i in 0..1000 {
            t = t.dir(&format!("d{i}"));
        }
        let blob = t.bytes();
        let per_repeat = 1000u64;
        let ok_times = usize::try_from(MAX_REPEATED_ENTRIES / per_repeat).unwrap() + 1;
        let dir = tempfile::tempdir().unwrap();
        layout(dir.path(), std::slice::from_ref(&blob), &vec![0; ok_times]);
        assert_eq!(load_layout(dir.path()).unwrap().scans.len(), ok_times);
        let dir = tempfile::tempdir().unwrap();
        layout(dir.path(), &[blob], &vec![0; ok_times + 1]);
        let err = load_layout(dir.path()).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Layer {
                    layer,
                    blob,
                    source: LayerError::Repeats {
                        first: 0,
                        times,
                        limit: MAX_REPEATED_ENTRIES,
                    },
                } if *layer == ok_times && *times == ok_times + 1 && blob.starts_with("sha256:")
            ),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    /// More layers than the model's 16-bit index holds are refused before any is read.
    #[test]
    fn too_many_layers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let empty = TarBuilder::new().bytes();
        layout(dir.path(), &[empty], &vec![0; MAX_LAYERS + 1]);
        let err = load_layout(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooMany {
                    limit: TooMany::Layers { count, limit },
                    ..
                } if count == MAX_LAYERS + 1 && limit == MAX_LAYERS
            ),
            "{err}"
        );
    }
}
