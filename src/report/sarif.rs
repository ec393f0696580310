//! SARIF 2.1.0, as GitHub code scanning reads it: one run per image, one rule per kind of
//! finding (its title, what it is and its fix from [`words::rule`]), one result per finding.
//!
//! What GitHub needs of it, beyond the schema: every result has a physical location, or the
//! whole file is refused ("locationFromSarifResult: expected at least one location"); a rule's
//! `security-severity` makes its alerts security alerts, so only the kinds that are not about
//! bytes carry one; `partialFingerprints` match a result across runs; and
//! `automationDetails.id` keeps one image's alerts apart from another's. A result's location is
//! its layer's Dockerfile lines when known ([`place`]); otherwise the Dockerfile's `FROM` line
//! when the Dockerfile is known; otherwise the image itself as the artifact (its path when it
//! is a file, the reference as given when not), with a logical location naming it.
//!
//! For `ci`, a finding the allow-list allows carries a `suppressions` entry with the reason.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{Place, Printer, Report, escape, fingerprint, place, repo_path, unsupported, words};
use crate::analysis::{Analysis, FindingKind, Severity};
use crate::ci::Gate;

/// SARIF 2.1.0 of `analyze` and `ci`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sarif;

/// The key of the results' `partialFingerprints` ([`super::fingerprint`]).
pub const FINGERPRINT_KEY: &str = "strataFindingHash/v1";

impl Printer for Sarif {
    fn name(&self) -> &'static str {
        "sarif"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let doc = match report {
            Report::Analysis { analysis, .. } => document(analysis, None),
            Report::Ci(r) => document(r.analysis, Some(r.gate)),
            _ => return Err(unsupported(self, report)),
        };
        escape::write_json(&mut *out, &doc).map_err(io::Error::from)?;
        writeln!(out)
    }
}

/// SARIF's level of a severity (the same three words).
fn level(s: Severity) -> &'static str {
    s.as_str()
}

/// GitHub's `security-severity` of a kind's usual severity: high, medium or low on its scale
/// (7.0–8.9, 4.0–6.9, 0.1–3.9).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "8.0",
        Severity::Warning => "5.0",
        Severity::Note => "2.0",
    }
}

/// `deleted-later` → `DeletedLater`, SARIF's rule name.
fn rule_name(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// One rule per kind of finding, in the order of [`FindingKind::ALL`].
fn rules() -> Vec<Value> {
    FindingKind::ALL
        .iter()
        .map(|&kind| {
            let t = words::rule(kind);
            let mut properties = json!({
                "precision": "very-high",
                "tags": if kind.is_size() {
                    ["container-image", "efficiency"]
                } else {
                    ["container-image", "security"]
                },
            });
            if !kind.is_size() {
                properties["security-severity"] = json!(security_severity(t.severity));
            }
            json!({
                "id": kind.id(),
                "name": rule_name(kind.id()),
                "shortDescription": {"text": t.title},
                "fullDescription": {"text": t.what},
                "help": {
                    "text": format!("{}\n\nFix: {}", t.what, t.fix),
                    "markdown": format!("**{}**\n\n{}\n\n**Fix:** {}", t.title, t.what, t.fix),
                },
                "defaultConfiguration": {"level": level(t.severity)},
                "properties": properties,
            })
        })
        .collect()
}

/// Percent-encodes a path for a URI: unreserved characters and `/` stay.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The artifact of a file: relative to the working directory when it can be, else a `file:`
/// URI.
fn artifact(file: &str) -> Value {
    match repo_path(file) {
        Some(rel) => json!({"uri": uri_path(&rel)}),
        None => json!({"uri": format!("file://{}", uri_path(file))}),
    }
}

/// The location of a finding, and what it points at in words.
fn location(a: &Analysis, place: Place<'_>, layer: Option<usize>) -> Value {
    let layer_words = layer.map_or_else(|| "the image".to_string(), |k| format!("layer {k}"));
    match place {
        Place::Line {
            layer,
            file,
            line,
            end_line,
        } => json!({
            "physicalLocation": {
                "artifactLocation": artifact(file),
                "region": {"startLine": line, "endLine": end_line},
            },
            "message": {"text": format!("the instruction that made layer {layer}")},
        }),
        Place::Dockerfile { file, line } => json!({
            "physicalLocation": {
                "artifactLocation": artifact(file),
                "region": {"startLine": line},
            },
            "message": {"text": format!(
                "{layer_words}: no line of the Dockerfile is known for it; the stage's FROM"
            )},
        }),
        Place::Image(source) => {
            let artifact = if Path::new(source).exists() {
                artifact(source)
            } else {
                json!({"uri": uri_path(source)})
            };
            json!({
                "physicalLocation": {
                    "artifactLocation": artifact,
                    "region": {"startLine": 1},
                },
                "logicalLocations": [{
                    "name": &a.image.identity.source,
                    "fullyQualifiedName": &a.image.identity.source,
                    "kind": "module",
                }],
                "message": {"text": format!(
                    "{layer_words} of the image (--dockerfile names the line)"
                )},
            })
        }
    }
}

/// The SARIF log of an analysis; for `ci`, with the gate's allowed findings suppressed.
fn document(a: &Analysis, gate: Option<&Gate>) -> Value {
    let sentences = words::every_finding(a);
    let results: Vec<Value> = a
        .findings
        .iter()
        .zip(&sentences)
        .enumerate()
        .map(|(i, (f, sentence))| {
            let index = FindingKind::ALL.iter().position(|&k| k == f.kind);
            let mut result = json!({
                "ruleId": f.kind.id(),
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": sentence},
                "locations": [location(a, place(a, f), f.layer())],
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint(a, f)},
                "properties": {
                    "bytes": f.bytes,
                    "files": f.files,
                    "layer": f.layer(),
                    "shippedBy": f.shipped_by,
                    "hiddenBy": f.hidden_by,
                    "paths": &f.paths,
                    "packages": &f.packages,
                },
            });
            if let Some(gate) = gate {
                let judged = gate.judged(i);
                result["properties"]["failsGate"] = json!(judged.failed());
                if let Some(allow) = gate.allowed_by(i) {
                    result["suppressions"] = json!([{
                        "kind": "external",
                        "status": "accepted",
                        "justification": format!("{} ({allow})", allow.reason),
                    }]);
                }
            }
            result
        })
        .collect();
    let mut driver = json!({
        "name": "strata",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules(),
    });
    // The project's page once Cargo.toml names one (it names none yet).
    let page = option_env!("CARGO_PKG_HOMEPAGE")
        .filter(|p| !p.is_empty())
        .or(option_env!("CARGO_PKG_REPOSITORY").filter(|p| !p.is_empty()));
    if let Some(page) = page {
        driver["informationUri"] = json!(page);
    }
    let id = &a.image.identity;
    let mut properties = json!({
        "image": &id.source,
        "platform": &id.platform,
        "manifestDigest": &id.manifest_digest,
        "configDigest": &id.config_digest,
    });
    if let Some(gate) = gate {
        properties["failOn"] = json!(gate.fail_on.map(Severity::as_str));
        properties["gatePassed"] = json!(gate.passed());
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "automationDetails": {"id": format!("strata/{}/", id.source)},
            "results": results,
            "properties": properties,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded_for_uris() {
        assert_eq!(uri_path("deploy/Dockerfile"), "deploy/Dockerfile");
        assert_eq!(
            uri_path("docker://host:5000/app:1 x#y?é"),
            "docker%3A//host%3A5000/app%3A1%20x%23y%3F%C3%A9"
        );
    }

    #[test]
    fn rule_names_are_the_ids_in_camel_case() {
        assert_eq!(rule_name("deleted-later"), "DeletedLater");
        assert_eq!(rule_name("runs-as-root"), "RunsAsRoot");
    }

    /// Only the kinds that are not about bytes carry a security severity, as GitHub reads it.
    #[test]
    fn security_severity_only_on_security_rules() {
        for (rule, &kind) in rules().iter().zip(FindingKind::ALL.iter()) {
            let severity = rule["properties"].get("security-severity");
            assert_eq!(severity.is_some(), !kind.is_size(), "{}", kind.id());
            let tags = rule["properties"]["tags"].to_string();
            assert_eq!(tags.contains("\"security\""), !kind.is_size(), "{tags}");
        }
    }
}
