//! The analysis every face reads: image totals, per-layer changes and waste, the exact waste
//! definition ([`waste`]) and dive's metrics beside it ([`dive`]).

pub mod compare;
pub mod dive;
pub mod findings;
pub mod history;
pub mod packages;
pub mod verify;
pub mod waste;

use serde::Serialize;
use std::collections::BTreeMap;

use crate::engine::Loaded;
use crate::layer::Compression;
use crate::layer::secrets::redact;
use crate::overlay::{Change, ChangeCounts, Fs};
pub use dive::DiveMetrics;
pub use findings::{Cache, Finding, FindingKind, Severity};
use waste::WasteFacts;
pub use waste::{ByCause, Cause, WastedPath};

/// The JSON schema name and version of [`Analysis`].
pub const SCHEMA: &str = "strata.analysis/v1";

/// Totals of the image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    /// Which image; its fields sit at the top level of the JSON.
    #[serde(flatten)]
    pub identity: crate::image::Identity,
    pub layer_count: usize,
    /// Σ sizes of all regular-file entries of all layers.
    pub shipped_bytes: u64,
    /// Σ sizes of the layer blobs as stored.
    pub compressed_bytes: u64,
    /// Every layer blob is compressed (gzip or zstd). Otherwise some blob is the plain tar
    /// (`docker save`, uncompressed OCI layers), whose size counts headers and padding beside
    /// the files: `compressed_bytes` is then no compressed size, and faces call it "stored".
    #[serde(skip)]
    pub all_compressed: bool,
    /// Σ sizes of the uncompressed layer tars.
    pub tar_bytes: u64,
    /// The shipped bytes some path of the final filesystem reaches.
    pub visible_bytes: u64,
    /// Regular files (hard links included) in the final filesystem.
    pub final_files: u64,
    pub final_dirs: u64,
    pub final_symlinks: u64,
    /// Every path of the final filesystem, the root excluded.
    pub final_paths: u64,
    /// The base image's share, when the Dockerfile's `FROM` (or the provenance) tells which
    /// layers are its.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<BaseImage>,
}

/// The layers an image took from its base image (`FROM`), and what they weigh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseImage {
    /// The base image's name: as `--base` named it, else as the builder recorded it (the
    /// `org.opencontainers.image.base.name` annotation), else as `FROM` wrote it.
    pub name: Option<String>,
    /// Its manifest's digest: `--base`'s, else the annotation's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Its layers (the bottom ones) and their uncompressed and compressed bytes.
    pub layers: usize,
    pub bytes: u64,
    pub compressed_bytes: u64,
}

impl BaseImage {
    /// The base of an image whose layers say which came from `FROM` (none: not known), named
    /// by the image's annotations when they name it.
    fn of(layers: &[LayerSummary], annotations: &BTreeMap<String, String>) -> Option<BaseImage> {
        if layers.iter().all(|l| l.base.is_none()) {
            return None;
        }
        let base: Vec<&LayerSummary> = layers.iter().filter(|l| l.base == Some(true)).collect();
        let name = annotations
            .get(crate::image::BASE_NAME)
            .cloned()
            .or_else(|| {
                base.first()
                    .and_then(|l| l.source.as_ref())
                    .and_then(|s| from_image(&s.instruction))
            });
        Some(BaseImage {
            name,
            digest: annotations.get(crate::image::BASE_DIGEST).cloned(),
            layers: base.len(),
            bytes: base.iter().map(|l| l.shipped_bytes).sum(),
            compressed_bytes: base.iter().map(|l| l.compressed_bytes).sum(),
        })
    }
}

/// The image a `FROM` instruction names: its first word that is no flag (`--platform=…`).
fn from_image(instruction: &str) -> Option<String> {
    let mut words = instruction.split_whitespace();
    let keyword = words.next()?;
    if !keyword.eq_ignore_ascii_case("FROM") {
        return None;
    }
    words.find(|w| !w.starts_with("--")).map(str::to_string)
}

/// Where the bytes go.
#[derive(Debug, Clone, Serialize)]
pub struct WasteSummary {
    /// shipped − visible.
    pub wasted_bytes: u64,
    /// visible / shipped (1.0 when nothing is shipped).
    pub efficiency: f64,
    /// wasted / shipped bytes of the layers above the first (0 when those ship nothing).
    pub user_wasted_ratio: f64,
    pub by_cause: ByCause,
    /// How many paths waste bytes (`paths` may hold only the top ones).
    pub paths_total: usize,
    pub paths: Vec<WastedPath>,
}

/// One layer.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub index: usize,
    pub digest: Option<String>,
    pub diff_id: Option<String>,
    /// The history's command and comment, secrets masked (`layer::secrets::redact`): every
    /// face prints these.
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub compression: Compression,
    pub compressed_bytes: u64,
    pub tar_bytes: u64,
    /// Σ sizes of the regular files this layer ships.
    pub shipped_bytes: u64,
    /// Of those, the bytes no final path reaches.
    pub wasted_bytes: u64,
    /// Bytes of lower layers this layer makes unreachable.
    pub hidden_lower_bytes: u64,
    pub entries: u64,
    /// Paths the layer added, changed the content of, changed only the metadata of, and
    /// removed; the root is not counted (a layer's `./` entry only sets its metadata).
    pub added: u64,
    pub modified: u64,
    pub metadata_only: u64,
    pub removed: u64,
    /// `.wh.NAME` markers that removed a path of the layers below (a marker naming nothing
    /// there does nothing and is not counted).
    pub whiteouts: usize,
    /// Opaque markers (`.wh..wh..opq`) in a directory of the layers below, which they empty of
    /// its lower contents; like `whiteouts`, a marker whose directory did not exist below
    /// (one the layer itself creates, or a file it replaces) hides nothing and is not counted.
    pub opaque_dirs: usize,
    /// The bytes this layer shipped for each package, most first (empty without a package
    /// database).
    pub packages: Vec<packages::LayerShare>,
    /// The Dockerfile line that made the layer (a base layer's: its FROM), when a Dockerfile
    /// was given ([`Analysis::attribute`]) and a line matches, or the image's BuildKit
    /// provenance records it (without the file's text there, `stage` and `instruction` are
    /// empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::dockerfile::Source>,
    /// Whether the layer came from the base image; absent when not known (no Dockerfile nor
    /// provenance, or none of its first lines matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<bool>,
}

/// Everything strata reports about one image.
///
/// Its `Serialize` is the data (tests compare analyses through it); the `strata.analysis/v1`
/// document strata prints is the report module's `json::AnalysisJson`, which words the
/// findings.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub schema: &'static str,
    pub image: ImageSummary,
    pub waste: WasteSummary,
    pub dive: DiveMetrics,
    pub layers: Vec<LayerSummary>,
    /// Where the waste comes from, most bytes first: every finding (printers show the first
    /// few, worded by the report module's `words`).
    pub findings: Vec<Finding>,
    /// The installed packages the image's databases list, most visible bytes first.
    pub packages: Vec<packages::Package>,
    /// The final filesystem's bytes no package owns, by top directory (empty without a package
    /// database).
    pub unowned: Vec<packages::Unowned>,
    /// For each node, the index in `packages` of its owner ([`packages::NO_OWNER`]: none);
    /// empty without a package database. The explorer's owner column reads it.
    #[serde(skip)]
    pub owners: Vec<u32>,
    /// Paths named as build-context files are, which the findings judge with the layers'
    /// commands (again when a Dockerfile names them better).
    #[serde(skip)]
    leaks: Vec<findings::Leak>,
    /// For each layer, whether the Dockerfile's line for it is a `COPY --from` of a stage that
    /// copied the build context (empty without a Dockerfile).
    #[serde(skip)]
    context_stages: Vec<bool>,
    pub warnings: Vec<String>,
}

impl Analysis {
    /// The package owning `node` in the final filesystem, if a package database says so.
    pub fn owner(&self, node: crate::overlay::NodeId) -> Option<&packages::Package> {
        let i = *self.owners.get(node as usize)?;
        self.packages.get(i as usize)
    }

    /// Analyses a loaded image.
    pub fn new(loaded: &Loaded) -> Analysis {
        Analysis::with_top(loaded, None)
    }

    /// [`Analysis::new`], listing only the `top` most wasteful paths when given and non-zero
    /// (`paths_total` still counts all).
    pub fn with_top(loaded: &Loaded, top: Option<usize>) -> Analysis {
        let (w, dive, (mut found, leaks), owners) = four_passes(loaded, top);
        let mut layers = layer_summaries(loaded, &w);
        for (layer, shares) in layers.iter_mut().zip(owners.by_layer) {
            layer.packages = shares;
        }
        found.extend(findings::build_toolchain(&owners.packages));
        found.extend(findings::config_findings(&loaded.image.config, &layers));
        found.extend(findings::cache_order(&layers));
        found.extend(findings::context_leaked(&leaks, &layers, &[]));
        let (secrets, warnings) = findings::file_secrets(&loaded.fs, &loaded.scans);
        found.extend(secrets);
        let args = loaded
            .image
            .provenance
            .as_ref()
            .map(|p| p.args.as_slice())
            .unwrap_or_default();
        found.extend(findings::config_secrets(
            &loaded.image.config,
            loaded.image.layers.len(),
            args,
        ));
        findings::sort(&mut found);
        let image = image_summary(loaded, &w, &layers);
        let user_shipped: u64 = layers.iter().skip(1).map(|l| l.shipped_bytes).sum();
        let mut analysis = Analysis {
            schema: SCHEMA,
            waste: WasteSummary {
                wasted_bytes: w.wasted,
                efficiency: ratio(w.visible, w.shipped, 1.0),
                user_wasted_ratio: ratio(w.wasted, user_shipped, 0.0),
                by_cause: w.by_cause,
                paths_total: w.paths_total,
                paths: w.paths,
            },
            dive,
            findings: found,
            image,
            layers,
            packages: owners.packages,
            unowned: owners.unowned,
            owners: owners.owners,
            leaks,
            context_stages: Vec::new(),
            warnings: [loaded.warnings.as_slice(), &owners.warnings, &warnings].concat(),
        };
        // BuildKit's provenance names the lines and the base, as a Dockerfile given would.
        if let Some(p) = &loaded.image.provenance {
            analysis.apply(&loaded.image, p.attribute());
            analysis.refresh_build_findings();
        }
        analysis
    }
}

/// What the user said of how the image was built: the Dockerfile and stage (`--dockerfile`,
/// `--target`) and the base image (`--base`, read to its config, and its name as given).
#[derive(Debug, Clone, Default)]
pub struct BuildHints {
    pub dockerfile: Option<crate::dockerfile::Target>,
    pub base: Option<(crate::image::Image, String)>,
}

impl Analysis {
    /// Names the layers' lines and the base image's layers from what the user said of the
    /// build (nothing when `hints` is empty).
    pub fn hint(&mut self, image: &crate::image::Image, hints: &BuildHints) {
        if let Some(target) = &hints.dockerfile {
            self.attribute(image, target);
        }
        if let Some((base, name)) = &hints.base {
            self.base_from(base, name);
        }
        self.refresh_build_findings();
    }

    /// The findings that read the layers' commands and base, computed anew once a Dockerfile
    /// or a base image names them better: the cache order and the build context copied in.
    fn refresh_build_findings(&mut self) {
        self.findings
            .retain(|f| !matches!(f.kind, FindingKind::CacheOrder | FindingKind::ContextLeaked));
        self.findings.extend(findings::cache_order(&self.layers));
        self.findings.extend(findings::context_leaked(
            &self.leaks,
            &self.layers,
            &self.context_stages,
        ));
        findings::sort(&mut self.findings);
    }

    /// Names each layer's Dockerfile line and whether it came from the base image, from the
    /// image's history and the Dockerfile `target` (`--dockerfile`, `--target`); what could
    /// not be matched is said among the warnings. The file given wins over the image's
    /// provenance (which [`Analysis::new`] read): where the two name other lines for a layer,
    /// a warning says so.
    pub fn attribute(&mut self, image: &crate::image::Image, target: &crate::dockerfile::Target) {
        let attributed = target.attribute(&image.config, self.layers.len());
        self.context_stages = attributed
            .layers
            .iter()
            .map(|a| {
                a.source.as_ref().is_some_and(|s| {
                    findings::context_stage(&target.dockerfile, &s.instruction).is_some()
                })
            })
            .collect();
        if let Some(p) = &image.provenance {
            let recorded = p.attribute();
            let differ: Vec<(usize, usize, usize)> = attributed
                .layers
                .iter()
                .zip(&recorded.layers)
                .enumerate()
                .filter_map(|(k, (given, recorded))| {
                    let (g, r) = (given.source.as_ref()?, recorded.source.as_ref()?);
                    (g.line != r.line).then_some((k, g.line, r.line))
                })
                .collect();
            if let Some(&(k, given, recorded)) = differ.first() {
                self.warnings.push(format!(
                    "{}: {} of the layers are at other lines in the image's provenance (layer \
                     {k}: line {given} here, {recorded} there); the lines shown are this file's",
                    target.file,
                    differ.len()
                ));
            }
        }
        self.apply(image, attributed);
    }

    /// Each layer's line and base from `attributed`, and the base image they make.
    fn apply(&mut self, image: &crate::image::Image, attributed: crate::dockerfile::Attributed) {
        for (layer, a) in self.layers.iter_mut().zip(attributed.layers) {
            layer.source = a.source.map(|mut s| {
                s.instruction = redact(&s.instruction).into_owned();
                s
            });
            layer.base = a.base;
        }
        self.image.base = BaseImage::of(&self.layers, &image.annotations);
        self.warnings.extend(attributed.warnings);
    }

    /// Splits the base image's layers from the user's by the base image itself (`--base`,
    /// named `name`): its layers are the image's bottom ones with the diff_ids the base lists,
    /// in its order. This is exact where a Dockerfile's lines are matched through history:
    /// it overrides them (and says so when they disagree). An image that is no base of this
    /// one (its layers are not all this image's bottom ones: another image, another version
    /// of the base, a sibling built on the same base) changes nothing but a warning.
    pub fn base_from(&mut self, base: &crate::image::Image, name: &str) {
        let shared = self
            .layers
            .iter()
            .zip(&base.layers)
            .take_while(|(l, b)| l.diff_id.is_some() && l.diff_id == b.diff_id)
            .count();
        if shared < base.layers.len() || base.layers.len() > self.layers.len() {
            self.warnings.push(format!(
                "--base {name}: not this image's base: {shared} of its {} layers are this image's bottom ones; the base image's layers are not known",
                base.layers.len()
            ));
            return;
        }
        let said: Vec<Option<bool>> = self.layers.iter().map(|l| l.base).collect();
        for (k, layer) in self.layers.iter_mut().enumerate() {
            layer.base = Some(k < shared);
        }
        let differs = said
            .iter()
            .zip(&self.layers)
            .any(|(was, l)| was.is_some() && *was != l.base);
        if differs {
            self.warnings.push(format!(
                "--base {name}: the Dockerfile's FROM was matched to other layers than the base image's {shared}; the base image's are shown"
            ));
        }
        let mut found = BaseImage::of(&self.layers, &BTreeMap::new());
        if let Some(b) = found.as_mut() {
            b.name = Some(name.to_string());
            b.digest.clone_from(&base.manifest_digest);
        }
        self.image.base = found;
    }
}

/// The four passes over the filesystem, waste, dive's metrics, findings and package
/// attribution: they are independent, so they run side by side.
fn four_passes(
    loaded: &Loaded,
    top: Option<usize>,
) -> (
    WasteFacts,
    DiveMetrics,
    (Vec<Finding>, Vec<findings::Leak>),
    packages::Attribution,
) {
    let fs = &loaded.fs;
    let (w, dive, findings, owners) = std::thread::scope(|s| {
        let dive = s.spawn(|| {
            let d = dive::compute(fs);
            crate::trace::mark(|| "dive done".into());
            d
        });
        let findings = s.spawn(|| {
            let mut f = findings::compute(fs);
            f.extend(findings::duplicates(fs));
            crate::trace::mark(|| "findings done".into());
            f
        });
        // Attribution is the shortest pass on most images (measured: done 5-10 ms after the
        // start where the others take 30-60): the walk of the final paths goes beside it.
        let owners = s.spawn(|| {
            let a = packages::attribute(fs, &loaded.scans);
            crate::trace::mark(|| "packages done".into());
            let walked = findings::final_walk(fs);
            crate::trace::mark(|| "final walk done".into());
            (a, walked)
        });
        let w = waste::compute_top(fs, top);
        crate::trace::mark(|| "waste done".into());
        (w, dive.join(), findings.join(), owners.join())
    });
    let dive = dive.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let mut findings = findings.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let (owners, (modes, leaks)) = owners.unwrap_or_else(|e| std::panic::resume_unwind(e));
    findings.extend(modes);
    (w, dive, (findings, leaks), owners)
}

/// Every layer: the digests and sizes its scan and the image give, what it changed, and its
/// share of the waste `w`.
fn layer_summaries(loaded: &Loaded, w: &WasteFacts) -> Vec<LayerSummary> {
    let fs = &loaded.fs;
    loaded
        .scans
        .iter()
        .enumerate()
        .map(|(k, scan)| {
            let facts = fs.layer(k);
            let r = &loaded.image.layers[k];
            let changes = changes_below_root(fs, k);
            LayerSummary {
                index: k,
                digest: r.digest.clone().or_else(|| scan.blob_digest.clone()),
                diff_id: scan.diff_id.clone().or_else(|| r.diff_id.clone()),
                created_by: r.created_by.as_deref().map(redact).map(Into::into),
                comment: r.comment.as_deref().map(redact).map(Into::into),
                compression: scan.compression,
                compressed_bytes: scan.compressed_size,
                tar_bytes: scan.tar_size,
                shipped_bytes: facts.shipped,
                wasted_bytes: w.layer_wasted[k],
                hidden_lower_bytes: w.layer_hidden_lower[k],
                entries: facts.entries,
                added: changes.added,
                modified: changes.modified,
                metadata_only: changes.metadata,
                removed: changes.removed,
                whiteouts: facts.whiteouts.len(),
                opaque_dirs: facts.opaque_dirs.len(),
                packages: Vec::new(),
                source: None,
                base: None,
            }
        })
        .collect()
}

/// The image's totals: what it says of itself, the sums of its `layers`, and what the final
/// filesystem holds.
fn image_summary(loaded: &Loaded, w: &WasteFacts, layers: &[LayerSummary]) -> ImageSummary {
    let image = &loaded.image;
    let finals = loaded.fs.final_counts();
    ImageSummary {
        identity: image.identity(),
        layer_count: layers.len(),
        shipped_bytes: w.shipped,
        compressed_bytes: layers.iter().map(|l| l.compressed_bytes).sum(),
        all_compressed: layers.iter().all(|l| l.compression != Compression::None),
        tar_bytes: layers.iter().map(|l| l.tar_bytes).sum(),
        visible_bytes: w.visible,
        final_files: finals.files,
        final_dirs: finals.dirs,
        final_symlinks: finals.symlinks,
        final_paths: finals.paths,
        base: None,
    }
}

/// Layer `k`'s changes, the root's own excluded: a layer carrying `./` sets the root's
/// metadata, which the overlay counts as the root being added (first layer) or changed; the
/// root is always there, and no face counts it as a path.
fn changes_below_root(fs: &Fs, k: usize) -> ChangeCounts {
    let mut c = fs.layer(k).changes;
    if let Some(e) = fs.event_at(crate::overlay::ROOT, k) {
        let slot = match e.change {
            Change::Added => &mut c.added,
            Change::Modified => &mut c.modified,
            Change::Metadata => &mut c.metadata,
            Change::Removed => &mut c.removed,
            Change::Unchanged => return c,
        };
        *slot = slot.saturating_sub(1);
    }
    c
}

fn ratio(a: u64, b: u64, when_zero: f64) -> f64 {
    if b == 0 {
        when_zero
    } else {
        a as f64 / b as f64
    }
}
