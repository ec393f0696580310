//! The engine: read every layer once, in parallel (largest first), and apply them in order on
//! one thread as they arrive.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use crate::error::{Error, Result};
use crate::image::Image;
use crate::layer::{self, LayerScan, ScanOptions};
use crate::overlay::Fs;

/// How to load an image.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub scan: ScanOptions,
    /// Turn digest and size mismatches into warnings (`--ignore-errors`).
    pub ignore_errors: bool,
    /// Worker threads; 0 means one per core.
    pub threads: usize,
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

/// Reads all layers of `image` and rebuilds its filesystem.
pub fn load(image: Image, options: &LoadOptions, progress: &Progress) -> Result<Loaded> {
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
    let mut fs = Fs::new();
    let mut scans: Vec<Option<LayerScan>> = vec![None; n];
    let mut warnings = image.warnings.clone();
    let mut errors: Vec<(usize, Error)> = Vec::new();

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Result<LayerScan>)>();
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, cancel, order, image) = (&next, &cancel, &order, &image);
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
                    let layer = &image.layers[i];
                    let result = layer::scan(
                        image.store.as_ref(),
                        layer,
                        options.scan,
                        Some(Arc::clone(&counter)),
                    );
                    if tx.send((i, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);

        let mut pending: Vec<Option<LayerScan>> = vec![None; n];
        let mut applied = 0;
        for (i, result) in rx {
            match result {
                Ok(scan) => {
                    for e in scan.verify(&image.layers[i]) {
                        if options.ignore_errors {
                            warnings.push(e.to_string());
                        } else {
                            errors.push((i, e));
                            cancel.store(true, Ordering::Relaxed);
                        }
                    }
                    pending[i] = Some(scan);
                }
                Err(e) => {
                    errors.push((i, e));
                    cancel.store(true, Ordering::Relaxed);
                }
            }
            if !errors.is_empty() {
                continue;
            }
            while applied < n {
                let Some(mut scan) = pending[applied].take() else {
                    break;
                };
                fs.apply(&scan);
                for w in &fs.layer(applied).warnings {
                    warnings.push(format!("layer {applied}: {w}"));
                }
                if scan.skipped_entries > 0 {
                    warnings.push(format!(
                        "layer {applied}: {} entries of tar types strata does not model were skipped",
                        scan.skipped_entries
                    ));
                }
                scan.entries = Vec::new();
                scans[applied] = Some(scan);
                applied += 1;
                progress.layers_done.store(applied, Ordering::Relaxed);
            }
        }
    });

    if let Some((_, e)) = errors.into_iter().min_by_key(|(i, _)| *i) {
        return Err(e);
    }
    fs.finish();
    let scans = scans
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| Error::format(format!("layer {i}"), "was not read")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Loaded {
        image,
        scans,
        fs,
        warnings,
    })
}
