//! The JSON documents: views of the analysis that add the words (each finding's `message`),
//! serialised field by field in the order the schema has always had.
//!
//! The views borrow the data; only the sentences are made here. The documents are versioned
//! (`schema`): a field that changes name, order or meaning is a new version.

use serde::Serialize;

use super::words;
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
