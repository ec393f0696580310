//! Markdown (GitHub-flavoured): a comparison, an analysis or a CI verdict as a pull-request
//! comment or a CI job summary. The comparison's writer is [`super::compare::write_markdown`];
//! the analysis and the verdict are written here: the verdict, the totals, the CI rules, and
//! every finding in a table (severity, id, bytes, layer and line, sentence).
//!
//! A pull-request comment holds at most [`LIMIT`] characters (a job summary 1 MiB): rows that
//! would pass it are left out, and the last line says how many.
//!
//! Everything from the image is escaped where it lands in a cell: controls spelled out as
//! everywhere ([`escape::text`]), `|` escaped (GitHub splits cells at it, even in code spans),
//! and outside code spans every character Markdown or HTML would act on (`<`, `&`, `*`, `_`,
//! `[`, backticks, …); a `@` gets a zero-width space after it, so that a path never mentions
//! anyone. A sentence keeps its code spans (words.rs writes commands and fixes in backticks).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use super::{CiReport, Printer, Report, escape, stored_name, unsupported, words};
use crate::analysis::{Analysis, Finding, Severity};
use crate::ci::Status;
use crate::units::{count, percent, size};

/// GitHub-flavoured Markdown: comparisons, analyses and CI verdicts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

/// The most characters the analysis and the CI verdict take: a GitHub comment's limit.
pub const LIMIT: usize = 65_536;

/// A sentence longer than this is cut in its cell (its paths come from the image).
const MESSAGE_CHARS: usize = 1_000;

impl Printer for Markdown {
    fn name(&self) -> &'static str {
        "markdown"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::Compare {
                comparison,
                options,
            } => super::compare::write_markdown(out, comparison, options.top),
            Report::Analysis { analysis, .. } => {
                out.write_all(document(analysis, None, LIMIT).as_bytes())
            }
            Report::Ci(r) => out.write_all(document(r.analysis, Some(r), LIMIT).as_bytes()),
            Report::History(h) => super::history::write_markdown(out, h),
            Report::Verify(_) => Err(unsupported(self, report)),
        }
    }
}

/// Text outside a code span: nothing Markdown or HTML acts on survives.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape::text(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '@' => out.push_str("@\u{200b}"),
            '\\' | '*' | '_' | '[' | ']' | '~' | '`' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span: literal but for `|`; it cannot hold a backtick.
fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let inner = escape::text(s).replace('|', "\\|").replace('`', "'");
    format!("`{inner}`")
}

/// A sentence whose backticks open and close code spans: each span kept as code, the text
/// between made [`plain`]. An unpaired backtick is text.
fn sentence(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let paired = if parts.len().is_multiple_of(2) {
        parts.len() - 1
    } else {
        parts.len()
    };
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i >= paired {
            out.push_str(&plain(&format!("`{part}")));
        } else if i % 2 == 1 {
            out.push_str(&code(part));
        } else {
            out.push_str(&plain(part));
        }
    }
    out
}

/// `s` cut to `n` characters with an ellipsis.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `2 warnings, 5 notes`, most severe first (`no finding`).
fn severities(findings: &[Finding]) -> String {
    let parts: Vec<String> = [Severity::Error, Severity::Warning, Severity::Note]
        .into_iter()
        .filter_map(|s| {
            let n = findings.iter().filter(|f| f.severity == s).count() as u64;
            (n > 0).then(|| match s {
                Severity::Error => count(n, "error", "errors"),
                Severity::Warning => count(n, "warning", "warnings"),
                Severity::Note => count(n, "note", "notes"),
            })
        })
        .collect();
    if parts.is_empty() {
        "no finding".into()
    } else {
        parts.join(", ")
    }
}

/// The layer a finding names and its Dockerfile line: `3 · ``Dockerfile:12```.
fn layer_cell(a: &Analysis, f: &Finding) -> String {
    let Some(k) = f.layer() else {
        return "image".into();
    };
    match a.layers.get(k).and_then(|l| l.source.as_ref()) {
        Some(s) => {
            let name = Path::new(&s.file)
                .file_name()
                .map_or_else(|| s.file.clone(), |n| n.to_string_lossy().into_owned());
            format!("{k} · {}", code(&format!("{name}:{}", s.line)))
        }
        None => k.to_string(),
    }
}

/// The analysis (and for `ci` the verdict, the rules and the gate) in at most `limit`
/// characters.
fn document(a: &Analysis, ci: Option<&CiReport<'_>>, limit: usize) -> String {
    let mut head = String::new();
    let source = code(&cut(&a.image.identity.source, 300));
    match ci {
        Some(r) => {
            let verdict = if r.passed() { "✅ PASS" } else { "❌ FAIL" };
            let _ = writeln!(head, "### strata ci: {verdict}");
        }
        None => {
            let _ = writeln!(head, "### strata analyze");
        }
    }
    let _ = writeln!(head);
    let _ = writeln!(
        head,
        "**{} {}** in {source}",
        count(a.findings.len() as u64, "finding", "findings"),
        if a.findings.is_empty() {
            String::new()
        } else {
            format!("({})", severities(&a.findings))
        }
    );
    let _ = writeln!(head);
    let _ = writeln!(head, "| | |");
    let _ = writeln!(head, "|---|---|");
    let _ = writeln!(
        head,
        "| Size | {} {}, {} uncompressed in {} |",
        size(a.image.compressed_bytes),
        stored_name(&a.image),
        size(a.image.shipped_bytes),
        count(a.image.layer_count as u64, "layer", "layers")
    );
    let _ = writeln!(
        head,
        "| Efficiency | {} ({} wasted; user wasted {}) |",
        percent(a.waste.efficiency),
        size(a.waste.wasted_bytes),
        percent(a.waste.user_wasted_ratio)
    );
    if let Some(r) = ci {
        let _ = writeln!(head);
        let _ = writeln!(head, "| Rule | Result | |");
        let _ = writeln!(head, "|---|---|---|");
        for o in r.outcomes {
            let result = match o.status {
                Status::Pass => "✅ pass",
                Status::Fail => "❌ fail",
                Status::Disabled => "skipped",
            };
            let _ = writeln!(
                head,
                "| `{}` | {result} | {} |",
                o.rule.dive_name(),
                plain(&words::rule_outcome(o))
            );
        }
        let gate = r.gate;
        let allowed = gate.findings.iter().filter(|j| j.allowed.is_some()).count();
        let allowed = if allowed > 0 {
            format!("; {} allowed", count(allowed as u64, "finding", "findings"))
        } else {
            String::new()
        };
        match gate.fail_on {
            Some(s) => {
                let failed = gate.failed();
                let result = if failed == 0 { "✅ pass" } else { "❌ fail" };
                let _ = writeln!(
                    head,
                    "| `--fail-on {}` | {result} | {} at or above {}, not allowed{allowed} |",
                    s.as_str(),
                    count(failed as u64, "finding", "findings"),
                    s.as_str()
                );
            }
            None => {
                let _ = writeln!(
                    head,
                    "| `--fail-on` | skipped | findings judge nothing without it{allowed} |"
                );
            }
        }
    }
    if a.findings.is_empty() {
        return head;
    }
    let _ = writeln!(head);
    let _ = writeln!(head, "#### Findings");
    let _ = writeln!(head);
    let gate = ci.map(|r| r.gate);
    if gate.is_some() {
        let _ = writeln!(
            head,
            "| Severity | Finding | Bytes | Layer | Gate | Message |"
        );
        let _ = writeln!(head, "|---|---|---:|---|---|---|");
    } else {
        let _ = writeln!(head, "| Severity | Finding | Bytes | Layer | Message |");
        let _ = writeln!(head, "|---|---|---:|---|---|");
    }
    let sentences = words::every_finding(a);
    let mut out = head;
    let mut chars = out.chars().count();
    // Room for the closing line, whatever the count in it.
    let reserve = 200;
    let mut shown = 0;
    for (i, (f, s)) in a.findings.iter().zip(&sentences).enumerate() {
        let bytes = if f.bytes > 0 {
            size(f.bytes)
        } else {
            String::new()
        };
        let gate_cell = gate.map(|g| {
            let judged = g.judged(i);
            match g.allowed_by(i) {
                Some(allow) => format!(
                    "allowed: {} ({})",
                    plain(&cut(&allow.reason, 200)),
                    plain(&allow.to_string())
                ),
                None if judged.failed() => "❌ fails".into(),
                None => String::new(),
            }
        });
        let gate_cell = gate_cell.map_or_else(String::new, |c| format!(" {c} |"));
        let row = format!(
            "| {} | {} | {bytes} | {} |{gate_cell} {} |\n",
            f.severity.as_str(),
            code(f.kind.id()),
            layer_cell(a, f),
            sentence(&cut(s, MESSAGE_CHARS)),
        );
        let n = row.chars().count();
        if chars + n + reserve > limit {
            break;
        }
        out.push_str(&row);
        chars += n;
        shown += 1;
    }
    let left = a.findings.len() - shown;
    if left > 0 {
        let _ = writeln!(
            out,
            "\n*{} more not shown: a comment holds at most {LIMIT} characters; `--format json` \
             or `--format sarif` lists every finding.*",
            count(left as u64, "finding", "findings")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing from the image opens a cell, a tag, a link, emphasis or a mention.
    #[test]
    fn cells_escape_what_markdown_acts_on() {
        assert_eq!(
            plain("a|b <img src=x> *c* _d_ [e](f) @g \\ ~h~ #1\nx"),
            "a\\|b &lt;img src=x&gt; \\*c\\* \\_d\\_ \\[e\\](f) @\u{200b}g \\\\ \\~h\\~ \\#1\\\\nx"
        );
        assert_eq!(code("a|b`c\n"), "`a\\|b'c\\n`");
        // Code spans stay code; text between them is escaped; an odd backtick is text.
        assert_eq!(
            sentence("layer 1 (`RUN a|b`) deletes /x_y: add `USER`"),
            "layer 1 (`RUN a\\|b`) deletes /x\\_y: add `USER`"
        );
        assert_eq!(sentence("a `b` c `d"), "a `b` c \\`d");
    }

    #[test]
    fn long_sentences_are_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
