//! The JSON documents: views of the analysis that add the words (each finding's `message`,
//! the comparison's `verdict`, each CI rule's `message`), serialised field by field in the
//! order the schema has always had, through [`escape::write_json`] (pretty, every control
//! character escaped), one document and a line break per run.
//!
//! The views borrow the data; only the sentences are made here. The documents are versioned
//! (`schema`): a field that changes name, order or meaning is a new version.

use std::io::{self, Write};

use serde::Serialize;

use super::{CiReport, Printer, Report, escape, unsupported, words};
use crate::analysis::compare::packages::PackageChange;
use crate::analysis::compare::{
    BaseChange, CacheMiss, Comparison, FileTotals, Group, LayerRow, LimitOutcome, Pull, Side,
    Totals,
};
use crate::analysis::packages::{Package, Unowned};
use crate::analysis::{
    Analysis, DiveMetrics, Finding, FindingKind, ImageSummary, LayerSummary, Severity, WasteSummary,
};
use crate::ci::{Gate, RuleOutcome, Status};

/// The schema name and version of the CI document ([`CiJson`]).
pub const CI_SCHEMA: &str = "strata.ci/v1";

/// The JSON document of each report: `strata.analysis/v1`, `strata.compare/v1`,
/// `strata.verify/v1`, and for `ci` the `strata.ci/v1` contract of [`CiJson`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

/// The `strata.ci/v1` contract: whether the image passed, each rule's outcome, and the
/// analysis judged. Prints CI reports only.
#[derive(Debug, Clone, Copy, Default)]
pub struct CiJson;

impl Printer for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::Analysis { analysis, .. } => write(out, &AnalysisJson::new(analysis)),
            Report::Ci(_) => CiJson.print(report, out),
            Report::Compare { comparison, .. } => write(out, &ComparisonJson::new(comparison)),
            Report::Verify(v) => write(out, v),
            Report::History(h) => write(out, h),
        }
    }
}

impl Printer for CiJson {
    fn name(&self) -> &'static str {
        "json"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::Ci(r) => write(out, &CiDocument::new(r)),
            _ => Err(unsupported(self, report)),
        }
    }
}

/// One document and its line break. serde_json's errors become `io::Error`s keeping the
/// writer's own (a closed pipe stays `BrokenPipe`).
fn write<T: Serialize + ?Sized>(out: &mut dyn Write, document: &T) -> io::Result<()> {
    escape::write_json(&mut *out, document).map_err(io::Error::from)?;
    writeln!(out)
}

/// `strata.ci/v1`.
#[derive(Serialize)]
struct CiDocument<'a> {
    schema: &'static str,
    pass: bool,
    rules: Vec<RuleJson>,
    gate: GateJson<'a>,
    analysis: AnalysisJson<'a>,
}

/// `--fail-on` and the allow-list: whether the findings passed, and every finding at or above
/// the severity (those that failed it, and those allowed).
#[derive(Serialize)]
struct GateJson<'a> {
    fail_on: Option<Severity>,
    pass: bool,
    failed: usize,
    allowed: usize,
    findings: Vec<FindingJson<'a>>,
}

/// An allow-list entry that allows a finding: its reason and `file:line`.
#[derive(Serialize)]
struct AllowedJson {
    reason: String,
    at: String,
}

impl<'a> GateJson<'a> {
    fn new(a: &'a Analysis, gate: &Gate) -> GateJson<'a> {
        let sentences = words::every_finding(a);
        GateJson {
            fail_on: gate.fail_on,
            pass: gate.passed(),
            failed: gate.failed(),
            allowed: gate.findings.iter().filter(|j| j.allowed.is_some()).count(),
            findings: a
                .findings
                .iter()
                .zip(sentences)
                .enumerate()
                .filter(|(i, _)| gate.judged(*i).at_gate)
                .map(|(i, (f, message))| FindingJson::judged(f, message, gate, i))
                .collect(),
        }
    }
}

/// One rule of `strata.ci/v1`: thresholds and metrics as the text prints them (`0.9`,
/// `20000000 bytes (20.0 MB)`, `NaN`).
#[derive(Serialize)]
struct RuleJson {
    rule: &'static str,
    status: Status,
    threshold: Option<String>,
    actual: String,
    message: String,
}

impl<'a> CiDocument<'a> {
    fn new(r: &CiReport<'a>) -> CiDocument<'a> {
        CiDocument {
            schema: CI_SCHEMA,
            pass: r.passed(),
            rules: r.outcomes.iter().map(RuleJson::new).collect(),
            gate: GateJson::new(r.analysis, r.gate),
            analysis: AnalysisJson::judged(r.analysis, Some(r.gate)),
        }
    }
}

impl RuleJson {
    fn new(o: &RuleOutcome) -> RuleJson {
        RuleJson {
            rule: o.rule.dive_name(),
            status: o.status,
            threshold: o.threshold.map(|t| t.to_string()),
            actual: o.actual.to_string(),
            message: words::rule_outcome(o),
        }
    }
}

/// `strata.analysis/v1`: the analysis, with the findings the faces show and their sentences.
#[derive(Serialize)]
struct AnalysisJson<'a> {
    schema: &'static str,
    image: &'a ImageSummary,
    waste: &'a WasteSummary,
    dive: &'a DiveMetrics,
    layers: &'a [LayerSummary],
    findings: Vec<FindingJson<'a>>,
    packages: &'a [Package],
    unowned: &'a [Unowned],
    warnings: &'a [String],
}

/// One finding of `strata.analysis/v1`.
#[derive(Serialize)]
struct FindingJson<'a> {
    id: &'static str,
    kind: FindingKind,
    severity: Severity,
    bytes: u64,
    shipped_by: Option<usize>,
    hidden_by: Option<usize>,
    paths: &'a [String],
    files: u64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    packages: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    trigger: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a crate::analysis::findings::Secret>,
    message: String,
    /// `ci`: the allow-list entry that allows the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed: Option<AllowedJson>,
    /// `ci --fail-on`: whether the finding fails the gate.
    #[serde(skip_serializing_if = "Option::is_none")]
    fails: Option<bool>,
}

impl<'a> AnalysisJson<'a> {
    fn new(a: &'a Analysis) -> AnalysisJson<'a> {
        AnalysisJson::judged(a, None)
    }

    /// The analysis; for `ci`, each finding marked as the gate judged it.
    fn judged(a: &'a Analysis, gate: Option<&Gate>) -> AnalysisJson<'a> {
        AnalysisJson {
            schema: a.schema,
            image: &a.image,
            waste: &a.waste,
            dive: &a.dive,
            layers: &a.layers,
            findings: words::findings(a)
                .into_iter()
                .map(|(f, message)| {
                    let index = a.findings.iter().position(|g| std::ptr::eq(g, f));
                    match (gate, index) {
                        (Some(gate), Some(i)) => FindingJson::judged(f, message, gate, i),
                        _ => FindingJson::new(f, message),
                    }
                })
                .collect(),
            packages: &a.packages,
            unowned: &a.unowned,
            warnings: &a.warnings,
        }
    }
}

impl<'a> FindingJson<'a> {
    fn new(f: &'a Finding, message: String) -> FindingJson<'a> {
        FindingJson {
            id: f.kind.id(),
            kind: f.kind,
            severity: f.severity,
            bytes: f.bytes,
            shipped_by: f.shipped_by,
            hidden_by: f.hidden_by,
            paths: &f.paths,
            files: f.files,
            packages: &f.packages,
            trigger: f.trigger,
            value: f.value.as_deref(),
            secret: f.secret.as_ref(),
            message,
            allowed: None,
            fails: None,
        }
    }

    /// The `i`th finding, with the gate's judgement.
    fn judged(f: &'a Finding, message: String, gate: &Gate, i: usize) -> FindingJson<'a> {
        FindingJson {
            allowed: gate.allowed_by(i).map(|a| AllowedJson {
                reason: a.reason.clone(),
                at: a.to_string(),
            }),
            fails: gate.fail_on.map(|_| gate.judged(i).failed()),
            ..FindingJson::new(f, message)
        }
    }
}

/// `strata.compare/v1`: the comparison, with its verdict in words.
#[derive(Serialize)]
struct ComparisonJson<'a> {
    schema: &'static str,
    a: &'a Side,
    b: &'a Side,
    totals: &'a Totals,
    shared_layers: usize,
    layers: &'a [LayerRow],
    pull: Pull,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_miss: Option<&'a CacheMiss>,
    files: &'a FileTotals,
    groups: &'a [Group],
    packages: &'a [PackageChange],
    #[serde(skip_serializing_if = "Option::is_none")]
    base: Option<&'a BaseChange>,
    verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<LimitOutcome>,
    warnings: &'a [String],
}

impl<'a> ComparisonJson<'a> {
    fn new(c: &'a Comparison) -> ComparisonJson<'a> {
        ComparisonJson {
            schema: c.schema,
            a: &c.a,
            b: &c.b,
            totals: &c.totals,
            shared_layers: c.shared_layers,
            layers: &c.layers,
            pull: c.pull,
            cache_miss: c.cache_miss.as_ref(),
            files: &c.files,
            groups: &c.groups,
            packages: &c.packages,
            base: c.base.as_ref(),
            verdict: words::verdict(&c.verdict),
            limit: c.limit,
            warnings: &c.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::verify::Verification;
    use crate::report::{Markdown, Text};

    fn verification() -> Verification {
        Verification {
            schema: crate::analysis::verify::SCHEMA,
            identity: crate::image::Identity {
                source: "img\u{1b}".into(),
                format: crate::image::Format::OciLayout,
                reference: None,
                platform: None,
                manifest_digest: None,
                config_digest: None,
                annotations: std::collections::BTreeMap::new(),
            },
            ok: true,
            documents: Vec::new(),
            layers: Vec::new(),
            problems: 0,
        }
    }

    /// The status was `format!("{:?}").to_lowercase()` of the enum; serde says the same.
    #[test]
    fn statuses_serialise_as_they_always_did() {
        for status in [Status::Pass, Status::Fail, Status::Disabled] {
            let json = serde_json::to_string(&status).unwrap_or_default();
            assert_eq!(
                json,
                format!("\"{}\"", format!("{status:?}").to_lowercase())
            );
        }
    }

    /// A closed stdout must reach `main` as a `BrokenPipe` `io::Error`, JSON's included: that
    /// is how a `| head` ends quietly.
    #[test]
    fn a_closed_pipe_stays_a_broken_pipe() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let v = verification();
        for printer in [&Json as &dyn Printer, &Text] {
            let e = printer.print(&Report::Verify(&v), &mut Closed);
            assert_eq!(
                e.map_err(|e| e.kind()),
                Err(io::ErrorKind::BrokenPipe),
                "{}",
                printer.name()
            );
        }
    }

    /// One document, escaped, and a line break.
    #[test]
    fn a_document_is_escaped_and_ends_with_a_line_break() {
        let mut out = Vec::new();
        Json.print(&Report::Verify(&verification()), &mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8(out).unwrap_or_default();
        assert!(text.ends_with("}\n") && !text.ends_with("\n\n"), "{text}");
        assert!(text.contains("\"source\": \"img\\u001b\""), "{text}");
        assert!(!text.contains('\u{1b}'));
    }

    #[test]
    fn a_format_asked_for_a_report_it_does_not_print_says_so() {
        let v = verification();
        for printer in [&Markdown as &dyn Printer, &CiJson] {
            let e = printer
                .print(&Report::Verify(&v), &mut Vec::new())
                .expect_err("not printed");
            assert_eq!(e.kind(), io::ErrorKind::Unsupported);
            assert_eq!(
                e.to_string(),
                format!(
                    "the {} format does not print verify reports",
                    printer.name()
                )
            );
        }
    }
}
