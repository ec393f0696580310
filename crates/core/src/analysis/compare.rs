//! Two images side by side: their totals, the shared base and the layers aligned by command,
//! and their final filesystems file by file, grouped by directory ([`Comparison`]).
//!
//! Pure: it reads two [`Loaded`] images and their [`Analysis`] and returns plain data a face
//! prints or a TUI expands (the groups are a tree). Sizes are uncompressed unless named
//! `compressed`; "the size" of an image is its shipped bytes, what `analyze` calls uncompressed.

pub mod align;
pub mod files;
pub mod packages;
pub mod update;

use std::fmt;

use serde::Serialize;

use crate::analysis::{Analysis, ImageSummary};
use crate::engine::{self, LoadOptions, Loaded, Progress};
use crate::error::{Error, Result};
use crate::source::Opened;
use crate::units::{self, as_signed};
pub use align::Alignment;
pub use files::{CountBytes, FileChange, FileDiff, FileTotals, Group};
pub use update::{CacheMiss, MissCause, Pull};

/// The JSON schema name and version of [`Comparison`].
pub const SCHEMA: &str = "strata.compare/v1";

/// One image of the pair: the engine's summary and its waste.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    #[serde(flatten)]
    pub image: ImageSummary,
    pub wasted_bytes: u64,
    pub efficiency: f64,
}

/// One number in A and in B.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delta {
    pub a: u64,
    pub b: u64,
    /// b − a.
    pub delta: i64,
    /// (b − a) / a × 100; absent when a is 0.
    pub percent: Option<f64>,
}

impl Delta {
    pub fn new(a: u64, b: u64) -> Delta {
        #[allow(clippy::cast_precision_loss)]
        let percent = (a > 0).then(|| (b as f64 - a as f64) / a as f64 * 100.0);
        Delta {
            a,
            b,
            delta: as_signed(b) - as_signed(a),
            percent,
        }
    }
}

/// The totals side by side.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub layers: Delta,
    pub compressed_bytes: Delta,
    /// Shipped bytes: what the layers unpack to (the image's size).
    pub uncompressed_bytes: Delta,
    pub visible_bytes: Delta,
    pub wasted_bytes: Delta,
    /// Efficiency (a ratio, 1.0 is no waste).
    pub efficiency: RatioDelta,
    /// Every layer blob of both images is compressed: `compressed_bytes` are compressed sizes
    /// (otherwise some are plain tars, and faces say "stored").
    #[serde(skip)]
    pub all_compressed: bool,
}

/// A ratio in A and in B.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatioDelta {
    pub a: f64,
    pub b: f64,
    /// b − a.
    pub delta: f64,
}

/// One layer in a row of the alignment.
#[derive(Debug, Clone, Serialize)]
pub struct LayerInfo {
    pub index: usize,
    pub diff_id: Option<String>,
    pub created_by: Option<String>,
    pub shipped_bytes: u64,
    pub compressed_bytes: u64,
}

/// A row of the layer alignment, bottom to top.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    pub alignment: Alignment,
    pub a: Option<LayerInfo>,
    pub b: Option<LayerInfo>,
    /// B's shipped bytes − A's (a missing side counts 0): "this RUN grew by 40 MB".
    pub delta_bytes: i64,
}

/// How much larger B may be than A (`--fail-if-larger`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// At most this percent of A's size (`5%`).
    Percent(f64),
    /// At most this many bytes (`20MB`, `20MiB`, `1500B`).
    Bytes(u64),
}

impl Limit {
    /// `5%`, `0.5 %`, or a size as the CI rules take it (`20MB` = 20·10⁶, `20MiB` = 20·2²⁰,
    /// `1500B`); `disabled` is no limit (`None`), as in the CI rules.
    pub fn parse(text: &str) -> Result<Option<Limit>, LimitError> {
        let text = text.trim();
        if let Some(p) = text.strip_suffix('%') {
            return match p.trim_end().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(Some(Limit::Percent(v))),
                _ => Err(LimitError::NotAPercentage {
                    text: text.to_string(),
                }),
            };
        }
        units::parse_bytes(text, units::Written::Flag)
            .map(|n| n.map(Limit::Bytes))
            .map_err(LimitError::Size)
    }
}

/// Why a `--fail-if-larger` value cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LimitError {
    /// A value ending in `%` whose number is not a finite, non-negative one.
    #[error(
        "`{text}` is not a percentage; expected a percentage (5%) or a size (20MB, 20MiB, 1500B)"
    )]
    NotAPercentage { text: String },
    /// A size that cannot be read.
    #[error("{0} (or a percentage such as 5%)")]
    Size(units::ParseError),
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Percent(p) => write!(f, "{p}%"),
            Limit::Bytes(n) => write!(f, "{}", units::bytes_text(*n)),
        }
    }
}

/// The verdict of a [`Limit`] on the pair.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LimitOutcome {
    pub limit: Limit,
    /// B's size − A's size (uncompressed bytes).
    pub growth_bytes: i64,
    /// Whether B exceeds A by strictly more than the limit.
    pub exceeded: bool,
}

impl Limit {
    /// Judges the growth from `a` to `b` bytes: exceeded when strictly more than allowed.
    pub fn judge(self, a: u64, b: u64) -> LimitOutcome {
        let growth = as_signed(b) - as_signed(a);
        #[allow(clippy::cast_precision_loss)]
        let exceeded = growth > 0
            && match self {
                Limit::Bytes(n) => growth.unsigned_abs() > n,
                Limit::Percent(p) => growth as f64 > a as f64 * p / 100.0,
            };
        LimitOutcome {
            limit: self,
            growth_bytes: growth,
            exceeded,
        }
    }
}

/// Everything `strata compare` reports. The `strata.compare/v1` document is the report
/// module's `json::ComparisonJson`, which words the verdict.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub schema: &'static str,
    pub a: Side,
    pub b: Side,
    pub totals: Totals,
    /// Leading layers with the same diff_id.
    pub shared_layers: usize,
    /// Both stacks aligned, bottom to top.
    pub layers: Vec<LayerRow>,
    /// What a host holding A downloads to get B.
    pub pull: Pull,
    /// Where B stopped reusing A's layers, and why; `None` when all are shared.
    pub cache_miss: Option<CacheMiss>,
    /// The final filesystems' differing files, by kind of change.
    pub files: FileTotals,
    /// The differing files by directory, a tree, largest difference first.
    pub groups: Vec<Group>,
    /// The packages that differ (added, removed, another version, other bytes), largest
    /// change first; empty when neither image has a package database.
    pub packages: Vec<packages::PackageChange>,
    /// The base images A and B were built on, when either says (`--base`, a Dockerfile's
    /// FROM, the builder's annotations).
    pub base: Option<BaseChange>,
    /// Which is smaller, by how much, and where.
    pub verdict: Verdict,
    /// `--fail-if-larger`, when given.
    pub limit: Option<LimitOutcome>,
    /// Warnings of either load, prefixed `A: ` or `B: `.
    pub warnings: Vec<String>,
}

/// The base images of A and B.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseChange {
    pub a: Option<BaseRef>,
    pub b: Option<BaseRef>,
    /// They differ: another name, or the same name at another digest (an update of the base).
    pub changed: bool,
}

/// A base image as an image names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaseRef {
    pub name: Option<String>,
    pub digest: Option<String>,
}

impl BaseRef {
    /// What `a` says of its base: what the analysis found (`--base`, `--dockerfile`), else
    /// the builder's annotations.
    fn of(a: &Analysis) -> Option<BaseRef> {
        let noted = |key: &str| a.image.identity.annotations.get(key).cloned();
        let found = a.image.base.as_ref();
        let name = found
            .and_then(|b| b.name.clone())
            .or_else(|| noted(crate::image::BASE_NAME));
        let digest = found
            .and_then(|b| b.digest.clone())
            .or_else(|| noted(crate::image::BASE_DIGEST));
        (name.is_some() || digest.is_some()).then_some(BaseRef { name, digest })
    }
}

impl BaseChange {
    fn of(a: &Analysis, b: &Analysis) -> Option<BaseChange> {
        let (a, b) = (BaseRef::of(a), BaseRef::of(b));
        if a.is_none() && b.is_none() {
            return None;
        }
        // Digests decide when both have one; names otherwise.
        let changed = match (&a, &b) {
            (Some(x), Some(y)) => match (&x.digest, &y.digest) {
                (Some(dx), Some(dy)) => dx != dy,
                _ => x.name != y.name,
            },
            _ => true,
        };
        Some(BaseChange { a, b, changed })
    }
}

fn keys(x: &Analysis) -> Vec<align::Key<'_>> {
    x.layers
        .iter()
        .map(|l| align::Key {
            diff_id: l.diff_id.as_deref(),
            command: l.created_by.as_deref(),
        })
        .collect()
}

fn side(a: &Analysis) -> Side {
    Side {
        image: a.image.clone(),
        wasted_bytes: a.waste.wasted_bytes,
        efficiency: a.waste.efficiency,
    }
}

fn layer_info(a: &Analysis, k: usize) -> Option<LayerInfo> {
    a.layers.get(k).map(|l| LayerInfo {
        index: l.index,
        diff_id: l.diff_id.clone(),
        created_by: l.created_by.clone(),
        shipped_bytes: l.shipped_bytes,
        compressed_bytes: l.compressed_bytes,
    })
}

impl Comparison {
    /// Compares image A (the baseline) with image B. `aa` and `ba` are their analyses.
    pub fn new(a: &Loaded, aa: &Analysis, b: &Loaded, ba: &Analysis) -> Comparison {
        let rows = align::align(&keys(aa), &keys(ba));
        let shared_layers = rows.iter().filter(|r| r.2 == Alignment::Shared).count();
        let layers = rows
            .into_iter()
            .map(|(i, j, alignment)| {
                let la = i.and_then(|k| layer_info(aa, k));
                let lb = j.and_then(|k| layer_info(ba, k));
                let bytes =
                    |l: &Option<LayerInfo>| as_signed(l.as_ref().map_or(0, |l| l.shipped_bytes));
                LayerRow {
                    alignment,
                    delta_bytes: bytes(&lb) - bytes(&la),
                    a: la,
                    b: lb,
                }
            })
            .collect();
        let layers: Vec<LayerRow> = layers;
        let pull = Pull::of(aa, ba);
        let cache_miss = CacheMiss::find(&layers, &a.fs, &b.fs, ba);
        let diffs = files::diff(&a.fs, &b.fs);
        let file_totals = files::totals(&diffs);
        let groups = files::group(&diffs);
        let (sa, sb) = (&aa.image, &ba.image);
        let totals = Totals {
            layers: Delta::new(sa.layer_count as u64, sb.layer_count as u64),
            compressed_bytes: Delta::new(sa.compressed_bytes, sb.compressed_bytes),
            uncompressed_bytes: Delta::new(sa.shipped_bytes, sb.shipped_bytes),
            visible_bytes: Delta::new(sa.visible_bytes, sb.visible_bytes),
            wasted_bytes: Delta::new(aa.waste.wasted_bytes, ba.waste.wasted_bytes),
            efficiency: RatioDelta {
                a: aa.waste.efficiency,
                b: ba.waste.efficiency,
                delta: ba.waste.efficiency - aa.waste.efficiency,
            },
            all_compressed: sa.all_compressed && sb.all_compressed,
        };
        let packages = packages::diff(&aa.packages, &ba.packages);
        let verdict = Verdict::new(totals.uncompressed_bytes, &groups).with_packages(&packages);
        let warnings = aa
            .warnings
            .iter()
            .map(|w| format!("A: {w}"))
            .chain(ba.warnings.iter().map(|w| format!("B: {w}")))
            .collect();
        Comparison {
            schema: SCHEMA,
            a: side(aa),
            b: side(ba),
            totals,
            shared_layers,
            layers,
            pull,
            cache_miss,
            files: file_totals,
            groups,
            packages,
            base: BaseChange::of(aa, ba),
            verdict,
            limit: None,
            warnings,
        }
    }

    /// Judges `limit` on the pair's sizes and keeps the outcome in [`Comparison::limit`].
    pub fn judge(&mut self, limit: Limit) -> LimitOutcome {
        let size = &self.totals.uncompressed_bytes;
        let outcome = limit.judge(size.a, size.b);
        self.limit = Some(outcome);
        outcome
    }
}

/// One image of a pair to [`load_pair`]: opened, with the name its errors give it and the
/// counters its reading advances (a progress bar or a loading screen reads them meanwhile).
pub struct PairSide<'a> {
    pub opened: Opened,
    pub name: &'a str,
    pub progress: &'a Progress,
}

/// Reads two opened images at once (B on a second thread: the pair takes as long as the
/// slower), then analyses and compares them; `loaded` is called between the two, when both
/// have been read. A side that cannot be read fails as "cannot read NAME: why", A's error
/// first when both fail.
///
/// # Errors
/// The first side that cannot be read, as an [`Error::Unread`] (or [`Error::ReaderStopped`]).
pub fn load_pair(
    a: PairSide<'_>,
    b: PairSide<'_>,
    options: &LoadOptions,
    loaded: impl FnOnce(),
) -> Result<Comparison> {
    let named = |name: &str, r: Result<Loaded>| {
        r.map_err(|e| Error::Unread {
            name: name.into(),
            error: Box::new(e),
        })
    };
    let (la, lb) = std::thread::scope(|s| {
        let other = s.spawn(|| engine::load(b.opened, options, b.progress));
        let la = engine::load(a.opened, options, a.progress);
        let lb = other.join().map_err(|_| Error::ReaderStopped {
            name: b.name.into(),
        });
        (la, lb)
    });
    let la = named(a.name, la)?;
    let lb = named(b.name, lb?)?;
    loaded();
    let (aa, ba) = (Analysis::new(&la), Analysis::new(&lb));
    Ok(Comparison::new(&la, &aa, &lb, &ba))
}

/// What `compare` concludes: which image is smaller, by how much, and where
/// ("B is 25.4% smaller: 678.23 kB less, mostly /opt/toolchain" in words).
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// A's and B's size (uncompressed bytes).
    pub size: Delta,
    /// The directories that moved the way B did and weigh at least a tenth of the difference,
    /// at most three, largest first; empty when the sizes are equal.
    pub mostly: Vec<String>,
    /// How many top-level directories hold files that differ.
    pub directories: usize,
    /// The packages that moved the way B did and weigh at least a tenth of the difference, at
    /// most three, largest first, with their change in bytes (B − A).
    pub packages: Vec<(String, i64)>,
}

/// Whether a part that moved by `delta` is behind a difference of `total`: it moved the same
/// way and weighs at least a tenth of it.
fn behind(total: i64, delta: i64) -> bool {
    delta.signum() == total.signum() && delta.unsigned_abs() >= (total.unsigned_abs() / 10).max(1)
}

impl Verdict {
    /// The verdict on sizes `size` whose differing files are grouped as `groups` (largest
    /// difference first).
    #[must_use]
    pub fn new(size: Delta, groups: &[Group]) -> Verdict {
        let mostly = if size.delta == 0 {
            Vec::new()
        } else {
            groups
                .iter()
                .filter(|g| behind(size.delta, g.delta_bytes))
                .take(3)
                .map(|g| g.path.clone())
                .collect()
        };
        Verdict {
            size,
            mostly,
            directories: groups.len(),
            packages: Vec::new(),
        }
    }

    /// The verdict naming the packages behind the difference, from `changes` (largest first).
    #[must_use]
    pub fn with_packages(mut self, changes: &[packages::PackageChange]) -> Verdict {
        if self.size.delta != 0 {
            self.packages = changes
                .iter()
                .filter(|c| behind(self.size.delta, c.delta_bytes))
                .take(3)
                .map(|c| (c.name.clone(), c.delta_bytes))
                .collect();
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side that cannot be read fails the pair as "cannot read NAME: " and the line reading
    /// it alone gives; A's error comes first when both fail.
    #[test]
    #[allow(clippy::unwrap_used)]
    fn a_side_that_cannot_be_read_is_named() {
        use crate::source::{self, Input, OpenOptions};
        let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/images/overlay-oci");
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("corrupt");
        std::fs::create_dir_all(bad.join("blobs/sha256")).unwrap();
        std::fs::copy(good.join("index.json"), bad.join("index.json")).unwrap();
        std::fs::copy(good.join("oci-layout"), bad.join("oci-layout")).unwrap();
        let mut largest = (0, std::path::PathBuf::new());
        for entry in std::fs::read_dir(good.join("blobs/sha256")).unwrap() {
            let from = entry.unwrap().path();
            let to = bad.join("blobs/sha256").join(from.file_name().unwrap());
            let len = std::fs::copy(&from, &to).unwrap();
            if len > largest.0 {
                largest = (len, to);
            }
        }
        // The largest blob is a layer: change bytes in its middle, not its size.
        let mut bytes = std::fs::read(&largest.1).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&largest.1, bytes).unwrap();

        let open = |path: &std::path::Path| {
            let input = Input::parse(&path.to_string_lossy(), None).unwrap();
            source::open(&input, &OpenOptions::default()).unwrap()
        };
        let options = LoadOptions::default();
        let alone = engine::load(open(&bad), &options, &Progress::default())
            .err()
            .unwrap()
            .to_string();
        let (pa, pb) = (Progress::default(), Progress::default());
        let pair = |a: &std::path::Path, b: &std::path::Path| {
            let side = |path, name, progress| PairSide {
                opened: open(path),
                name,
                progress,
            };
            load_pair(
                side(a, "A.oci", &pa),
                side(b, "B.oci", &pb),
                &options,
                || {},
            )
            .err()
        };
        for (a, b, name) in [
            (&bad, &good, "A.oci"),
            (&good, &bad, "B.oci"),
            (&bad, &bad, "A.oci"),
        ] {
            let err = pair(a, b).unwrap();
            assert_eq!(err.to_string(), format!("cannot read {name}: {alone}"));
            let Error::Unread { name: got, .. } = err else {
                panic!("{err:?}");
            };
            assert_eq!(got, name);
        }
    }

    #[test]
    fn limits_parse() {
        let cases: &[(&str, Option<Option<Limit>>)] = &[
            ("5%", Some(Some(Limit::Percent(5.0)))),
            ("0.5 %", Some(Some(Limit::Percent(0.5)))),
            ("0%", Some(Some(Limit::Percent(0.0)))),
            ("20MB", Some(Some(Limit::Bytes(20_000_000)))),
            ("20MiB", Some(Some(Limit::Bytes(20 << 20)))),
            ("1500", Some(Some(Limit::Bytes(1500)))),
            ("disabled", Some(None)),
            ("-5%", None),
            ("x%", None),
            ("inf%", None),
            ("20 MX", None),
            ("-1", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let got = Limit::parse(text);
            match expected {
                Some(l) => assert_eq!(got.as_ref(), Ok(l), "{text}"),
                None => assert!(got.is_err(), "{text} gave {got:?}"),
            }
        }
        let err = Limit::parse("20 MX").expect_err("bad unit");
        assert!(matches!(err, LimitError::Size(_)), "{err:?}");
        let line = err.to_string();
        assert!(line.contains("MX") && line.contains("5%"), "{line}");
        assert!(matches!(
            Limit::parse("x%"),
            Err(LimitError::NotAPercentage { text }) if text == "x%"
        ));
    }

    #[test]
    fn limits_are_strict() {
        let judge = |l: Limit, a, b| l.judge(a, b).exceeded;
        assert!(!judge(Limit::Percent(5.0), 1000, 1050), "exactly 5% passes");
        assert!(judge(Limit::Percent(5.0), 1000, 1051));
        assert!(!judge(Limit::Percent(5.0), 1000, 10), "smaller passes");
        assert!(!judge(Limit::Bytes(50), 1000, 1050));
        assert!(judge(Limit::Bytes(50), 1000, 1051));
        assert!(judge(Limit::Percent(0.0), 0, 1), "from nothing, any growth");
        assert!(!judge(Limit::Bytes(0), 7, 7));
        assert_eq!(Limit::Bytes(10).judge(100, 40).growth_bytes, -60);
    }

    #[test]
    fn deltas() {
        let d = Delta::new(200, 150);
        assert_eq!((d.delta, d.percent), (-50, Some(-25.0)));
        assert_eq!(Delta::new(0, 5).percent, None);
    }

    fn group(path: &str, delta: i64) -> Group {
        let mut g = files::group(&[FileDiff {
            path: format!("{path}/f"),
            change: if delta < 0 {
                FileChange::Removed
            } else {
                FileChange::Added
            },
            a_bytes: (delta < 0).then_some(delta.unsigned_abs()),
            b_bytes: (delta >= 0).then_some(delta.unsigned_abs()),
            delta_bytes: delta,
        }]);
        g.remove(0)
    }

    #[test]
    fn verdicts_name_the_groups_that_weigh() {
        let groups = [
            group("/usr/lib", -400_000),
            group("/usr/libexec/gcc", -100_000),
            group("/etc", 20),
            group("/tiny", -5),
        ];
        let mostly = |a, b, groups: &[Group]| Verdict::new(Delta::new(a, b), groups).mostly;
        // Smaller by 500 kB: the shrinking groups of 50 kB or more.
        assert_eq!(
            mostly(1_000_000, 500_000, &groups),
            ["/usr/lib", "/usr/libexec/gcc"]
        );
        // Larger by 20 B: the growing groups of 2 B or more.
        assert_eq!(mostly(1000, 1020, &groups), ["/etc"]);
        assert!(mostly(0, 20, &[]).is_empty());
        // The same size: no direction, nothing named.
        let same = Verdict::new(Delta::new(10, 10), &groups[..1]);
        assert_eq!((same.mostly.len(), same.directories), (0, 1));
        // At most three.
        let many: Vec<Group> = ["/a", "/b", "/c", "/d"]
            .iter()
            .map(|p| group(p, 100))
            .collect();
        assert_eq!(mostly(0, 400, &many), ["/a", "/b", "/c"]);
    }
}
