//! `strata history REPO`: a registry's tags side by side, newest first: each one's size,
//! compressed size, efficiency and waste, and what grew since the tag before it.
//!
//! The tags are listed by the distribution API; each candidate's manifest and config are read
//! to order them by the config's `created` date (the tag list has none), then the newest are
//! read whole, oldest first, each compared with the one before. Layers the tags share are read
//! once when a layer cache is given ([`LoadOptions::cache`]; the command makes a private one).

use serde::Serialize;

use super::Analysis;
use super::compare::Comparison;
use crate::engine::{self, LoadOptions, Loaded, Progress};
use crate::error::{Error, Result};
use crate::source::{self, Input, Location, OpenOptions};

/// The JSON schema name and version of [`History`].
pub const SCHEMA: &str = "strata.history/v1";

/// The most tags whose dates are read to order them (two small requests each); beyond, the
/// last ones the registry lists are taken, and a warning says so.
pub const MAX_DATED: usize = 500;

/// What to read of a repository.
#[derive(Debug, Clone)]
pub struct Want<'a> {
    /// How many tags, newest first.
    pub tags: usize,
    /// Only tags this glob matches (`v1.*`), when given.
    pub pattern: Option<&'a globset::GlobMatcher>,
}

/// A repository's tags, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    pub schema: &'static str,
    /// `HOST/REPO` as named.
    pub repository: String,
    /// How many tags the registry lists (before the pattern).
    pub tags_listed: usize,
    pub tags: Vec<TagRow>,
    pub warnings: Vec<String>,
}

/// One tag of the history.
#[derive(Debug, Clone, Serialize)]
pub struct TagRow {
    pub tag: String,
    /// The config's `created`, as written (RFC 3339).
    pub created: Option<String>,
    pub manifest_digest: Option<String>,
    pub layers: usize,
    /// What the layers unpack to (the image's size, as `analyze` says it).
    pub shipped_bytes: u64,
    pub compressed_bytes: u64,
    pub efficiency: f64,
    pub wasted_bytes: u64,
    /// Against the tag before it (the next row), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_previous: Option<Growth>,
}

/// What changed from the tag before.
#[derive(Debug, Clone, Serialize)]
pub struct Growth {
    /// The tag compared with.
    pub tag: String,
    /// Shipped bytes, this tag's minus that one's.
    pub delta_bytes: i64,
    /// The compressed bytes a host holding that tag downloads for this one.
    pub pull_bytes: u64,
    /// The directories most of the difference is in (at most three, largest first).
    pub mostly: Vec<String>,
    /// The comparison's verdict, as data (words are the printers').
    #[serde(skip)]
    pub verdict: super::compare::Verdict,
}

/// A tag with its date, opened (manifest and config) but its layers not read yet; only the
/// newest [`Want::tags`] seen so far stay open (each holds a registry client).
struct Dated {
    tag: String,
    created: Option<String>,
    opened: Option<source::Opened>,
}

/// Newest first; undated last, by name.
fn newest_first(a: &Dated, b: &Dated) -> std::cmp::Ordering {
    match (&a.created, &b.created) {
        (Some(x), Some(y)) => y.cmp(x).then_with(|| a.tag.cmp(&b.tag)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.tag.cmp(&b.tag),
    }
}

/// Reads the history of the repository `input` names (`docker://HOST/REPO`; its tag is
/// ignored). `progress` is called with each tag as it starts to be read.
///
/// # Errors
/// `input` names no registry; the tags cannot be listed; a tag cannot be read (named).
pub fn read(
    input: &Input,
    open: &OpenOptions,
    load: &LoadOptions,
    want: &Want<'_>,
    mut progress: impl FnMut(&str, usize, usize),
) -> Result<History> {
    let Location::Registry(reference) = &input.location else {
        return Err(Error::Usage(format!(
            "{}: history reads a registry's tags (docker://HOST/REPO)",
            input.typed
        )));
    };
    let repository = format!("{}/{}", reference.registry, reference.repository);
    let listed = source::list_tags(input, open)?;
    let mut warnings = Vec::new();
    let mut candidates: Vec<String> = listed
        .iter()
        .filter(|t| want.pattern.is_none_or(|p| p.is_match(t.as_str())))
        .cloned()
        .collect();
    if candidates.len() > MAX_DATED {
        warnings.push(format!(
            "{} tags match; the dates of the last {MAX_DATED} the registry lists are read",
            candidates.len()
        ));
        candidates.drain(..candidates.len() - MAX_DATED);
    }
    // Dates, from each config; a name the registry lists that is no tag is skipped.
    let mut dated = Vec::with_capacity(candidates.len());
    let mut invalid = 0usize;
    for tag in candidates {
        let Ok(input) = Input::parse(&format!("docker://{repository}:{tag}"), None) else {
            invalid += 1;
            continue;
        };
        let opened = source::open(&input, open).map_err(|e| unread(&tag, e))?;
        let created = opened
            .image
            .config
            .get("created")
            .and_then(serde_json::Value::as_str)
            .map(str::to_string);
        dated.push(Dated {
            tag,
            created,
            opened: Some(opened),
        });
        // A tag older than `want.tags` others already seen is never read: close it.
        if dated.iter().filter(|d| d.opened.is_some()).count() > want.tags
            && let Some(oldest) = dated
                .iter_mut()
                .filter(|d| d.opened.is_some())
                .max_by(|a, b| newest_first(a, b))
        {
            oldest.opened = None;
        }
    }
    if invalid > 0 {
        warnings.push(format!(
            "{invalid} names the registry lists are no valid tag and were skipped"
        ));
    }
    dated.sort_by(newest_first);
    dated.truncate(want.tags);
    // Oldest first, each compared with the one before.
    let mut rows: Vec<TagRow> = Vec::with_capacity(dated.len());
    let mut previous: Option<(String, Loaded, Analysis)> = None;
    let total = dated.len();
    for (i, d) in dated.into_iter().rev().enumerate() {
        progress(&d.tag, i, total);
        // The newest `want.tags` are the ones left open.
        let Some(opened) = d.opened else {
            continue;
        };
        let loaded =
            engine::load(opened, load, &Progress::default()).map_err(|e| unread(&d.tag, e))?;
        let analysis = Analysis::with_top(&loaded, Some(0));
        let since_previous = previous.as_ref().map(|(tag, pl, pa)| {
            let c = Comparison::new(pl, pa, &loaded, &analysis);
            Growth {
                tag: tag.clone(),
                delta_bytes: c.totals.uncompressed_bytes.delta,
                pull_bytes: c.pull.bytes,
                mostly: c.verdict.mostly.clone(),
                verdict: c.verdict,
            }
        });
        rows.push(TagRow {
            tag: d.tag.clone(),
            created: d.created.clone(),
            manifest_digest: loaded.image.manifest_digest.clone(),
            layers: analysis.layers.len(),
            shipped_bytes: analysis.image.shipped_bytes,
            compressed_bytes: analysis.image.compressed_bytes,
            efficiency: analysis.waste.efficiency,
            wasted_bytes: analysis.waste.wasted_bytes,
            since_previous,
        });
        warnings.extend(analysis.warnings.iter().map(|w| format!("{}: {w}", d.tag)));
        previous = Some((d.tag.clone(), loaded, analysis));
    }
    rows.reverse();
    Ok(History {
        schema: SCHEMA,
        repository,
        tags_listed: listed.len(),
        tags: rows,
        warnings,
    })
}

/// A tag that could not be read, named.
fn unread(tag: &str, e: Error) -> Error {
    Error::Unread {
        name: tag.into(),
        error: Box::new(e),
    }
}
