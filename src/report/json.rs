//! The JSON documents: views of the analysis that add the words (each finding's `message`,
//! the comparison's `verdict`), serialised field by field in the order the schema has always
//! had.
//!
//! The views borrow the data; only the sentences are made here. The documents are versioned
//! (`schema`): a field that changes name, order or meaning is a new version.

use serde::Serialize;

use super::words;
use crate::analysis::compare::{
    Comparison, FileTotals, Group, LayerRow, LimitOutcome, Side, Totals,
};
use crate::analysis::{
    Analysis, DiveMetrics, Finding, FindingKind, ImageSummary, LayerSummary, WasteSummary,
};

/// `strata.analysis/v1`: the analysis, with the findings the faces show and their sentences.
#[derive(Serialize)]
pub struct AnalysisJson<'a> {
    schema: &'static str,
    image: &'a ImageSummary,
    waste: &'a WasteSummary,
    dive: &'a DiveMetrics,
    layers: &'a [LayerSummary],
    findings: Vec<FindingJson<'a>>,
    warnings: &'a [String],
}

/// One finding of `strata.analysis/v1`.
#[derive(Serialize)]
struct FindingJson<'a> {
    kind: FindingKind,
    bytes: u64,
    shipped_by: Option<usize>,
    hidden_by: Option<usize>,
    paths: &'a [String],
    files: u64,
    message: String,
}

impl<'a> AnalysisJson<'a> {
    #[must_use]
    pub fn new(a: &'a Analysis) -> AnalysisJson<'a> {
        AnalysisJson {
            schema: a.schema,
            image: &a.image,
            waste: &a.waste,
            dive: &a.dive,
            layers: &a.layers,
            findings: words::findings(a)
                .into_iter()
                .map(|(f, message)| FindingJson::new(f, message))
                .collect(),
            warnings: &a.warnings,
        }
    }
}

impl<'a> FindingJson<'a> {
    fn new(f: &'a Finding, message: String) -> FindingJson<'a> {
        FindingJson {
            kind: f.kind,
            bytes: f.bytes,
            shipped_by: f.shipped_by,
            hidden_by: f.hidden_by,
            paths: &f.paths,
            files: f.files,
            message,
        }
    }
}

/// `strata.compare/v1`: the comparison, with its verdict in words.
#[derive(Serialize)]
pub struct ComparisonJson<'a> {
    schema: &'static str,
    a: &'a Side,
    b: &'a Side,
    totals: &'a Totals,
    shared_layers: usize,
    layers: &'a [LayerRow],
    files: &'a FileTotals,
    groups: &'a [Group],
    verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<LimitOutcome>,
    warnings: &'a [String],
}

impl<'a> ComparisonJson<'a> {
    #[must_use]
    pub fn new(c: &'a Comparison) -> ComparisonJson<'a> {
        ComparisonJson {
            schema: c.schema,
            a: &c.a,
            b: &c.b,
            totals: &c.totals,
            shared_layers: c.shared_layers,
            layers: &c.layers,
            files: &c.files,
            groups: &c.groups,
            verdict: words::verdict(&c.verdict),
            limit: c.limit,
            warnings: &c.warnings,
        }
    }
}
