//! GitLab Code Quality: a JSON array of issues, each with `description`, `check_name`,
//! `fingerprint`, `severity` and `location.{path, lines.begin}` (what GitLab reads; it ignores
//! the other CodeClimate fields, of which `type` and `categories` are given).
//!
//! The location is the finding's Dockerfile line when known ([`place`]); else the Dockerfile's
//! `FROM` line; else the image as the user named it, at line 1 (a file of the repository when
//! the image is one, such as an OCI layout or a `docker save` tarball, else the reference as
//! text), which GitLab lists without pointing into a file. Severities: note is `info`, warning
//! `major`, error `critical`. For `ci`, a finding the allow-list allows is listed as `info`,
//! its description saying so.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{Place, Printer, Report, escape, fingerprint, place, repo_path, unsupported, words};
use crate::analysis::{Analysis, Severity};
use crate::ci::Gate;

/// GitLab Code Quality of `analyze` and `ci`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeQuality;

impl Printer for CodeQuality {
    fn name(&self) -> &'static str {
        "codequality"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let doc = match report {
            Report::Analysis { analysis, .. } => issues(analysis, None),
            Report::Ci(r) => issues(r.analysis, Some(r.gate)),
            _ => return Err(unsupported(self, report)),
        };
        escape::write_json(&mut *out, &doc).map_err(io::Error::from)?;
        writeln!(out)
    }
}

/// Code Quality's severity of a finding's.
#[must_use]
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Note => "info",
        Severity::Warning => "major",
        Severity::Error => "critical",
    }
}

/// The path and line GitLab shows a finding at.
fn location(place: Place<'_>) -> (String, usize) {
    let path = |file: &str| repo_path(file).unwrap_or_else(|| file.to_string());
    match place {
        Place::Line { file, line, .. } | Place::Dockerfile { file, line } => (path(file), line),
        Place::Image(source) if Path::new(source).exists() => (path(source), 1),
        Place::Image(source) => (source.to_string(), 1),
    }
}

fn issues(a: &Analysis, gate: Option<&Gate>) -> Value {
    let sentences = words::every_finding(a);
    let list: Vec<Value> = a
        .findings
        .iter()
        .zip(sentences)
        .enumerate()
        .map(|(i, (f, sentence))| {
            let (path, line) = location(place(a, f));
            let allowed = gate.and_then(|g| g.allowed_by(i));
            let (description, severity) = match allowed {
                Some(allow) => (
                    format!("Allowed ({}, {allow}): {sentence}", allow.reason),
                    "info",
                ),
                None => (sentence, severity(f.severity)),
            };
            json!({
                "type": "issue",
                "description": description,
                "check_name": f.kind.id(),
                "fingerprint": fingerprint(a, f),
                "severity": severity,
                "categories": [if f.kind.is_size() { "Performance" } else { "Security" }],
                "location": {"path": path, "lines": {"begin": line}},
            })
        })
        .collect();
    Value::Array(list)
}
