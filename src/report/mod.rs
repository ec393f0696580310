//! Printers: every output strata writes goes through one [`Printer`], which reads a
//! [`Report`] (the data of one command) and writes it in one format.
//!
//! The data comes from the analysis; the sentences from [`words`]; units from
//! [`crate::units`]; text taken from the image is escaped by [`escape`] where it is printed.
//! The formats: [`Text`] (a terminal or a CI log), [`Json`] (the `strata.analysis/v1`,
//! `strata.compare/v1` and `strata.verify/v1` documents), [`CiJson`] (the `strata.ci/v1`
//! contract), [`Markdown`] (a comparison, an analysis or a CI verdict for a pull request or a
//! job summary), [`Html`] (one page of an analysis or a comparison, with a treemap of the
//! filesystem), and for CI systems [`Sarif`] (GitHub code scanning), [`CodeQuality`] (GitLab)
//! and [`Junit`] (test reports). [`emit`] sends them (and the warnings, the error line) to
//! stdout, stderr or `--json FILE`.

pub mod codequality;
pub mod compare;
pub mod emit;
pub mod escape;
pub mod history;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;
pub mod verify;
pub mod words;

use std::io::{self, Write};
use std::path::Path;

use crate::analysis::Analysis;
use crate::analysis::compare::Comparison;
use crate::analysis::verify::Verification;
use crate::analysis::{Finding, LayerSummary};
use crate::ci::{Gate, MetricsKind, RuleOutcome};
use crate::overlay::Fs;
use crate::units::percent;
pub use codequality::CodeQuality;
pub use html::Html;
pub use json::{CiJson, Json};
pub use junit::Junit;
pub use markdown::Markdown;
pub use sarif::Sarif;
pub use text::Text;

/// The result of one command, as a printer reads it.
#[derive(Debug, Clone, Copy)]
pub enum Report<'a> {
    /// `strata analyze`: the text lists the `top` most wasteful paths and findings (0: all
    /// the analysis holds). `fs` is the image's filesystem, for the formats that draw it (the
    /// HTML treemap); `None` where the caller no longer has it (`--json FILE`).
    Analysis {
        analysis: &'a Analysis,
        top: usize,
        fs: Option<&'a Fs>,
    },
    /// `strata ci`: the rules judged on an image.
    Ci(CiReport<'a>),
    /// `strata compare`; the text shows the group tree as `options` say, Markdown the
    /// `options.top` directories.
    Compare {
        comparison: &'a Comparison,
        options: compare::TextOptions,
    },
    /// `strata verify`.
    Verify(&'a Verification),
    /// `strata history`.
    History(&'a crate::analysis::history::History),
}

/// What `strata ci` prints: the outcomes of the rules and the analysis they judged.
#[derive(Debug, Clone, Copy)]
pub struct CiReport<'a> {
    pub analysis: &'a Analysis,
    /// In the order of [`crate::ci::Rule::ALL`].
    pub outcomes: &'a [RuleOutcome],
    /// The numbers the rules judged.
    pub metrics: MetricsKind,
    /// The CI config file read, as the user named it (`None`: defaults and flags only).
    pub config: Option<&'a Path>,
    /// `.strata.yaml`, when one was read.
    pub strata_file: Option<&'a Path>,
    /// The findings judged by `--fail-on` and the allow-list.
    pub gate: &'a Gate,
    /// Wasted paths listed when a rule failed.
    pub top: usize,
}

impl CiReport<'_> {
    /// Every rule passed and no finding failed the gate.
    #[must_use]
    pub fn passed(&self) -> bool {
        crate::ci::all_passed(self.outcomes) && self.gate.passed()
    }
}

impl Report<'_> {
    /// What the report is of, for messages: `analysis`, `ci`, `compare` or `verify`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Report::Analysis { .. } => "analysis",
            Report::Ci(_) => "ci",
            Report::Compare { .. } => "compare",
            Report::Verify(_) => "verify",
            Report::History(_) => "history",
        }
    }
}

/// One output format.
///
/// `cli.rs` chooses a printer from `--format`, and [`emit`] calls [`Printer::print`] once;
/// nothing else writes a report. A new format (SARIF, JUnit, GitLab Code Quality, HTML) is one
/// more implementation in its own file under `report/` (a unit struct, like [`Markdown`]),
/// reading the data the [`Report`] holds and taking its sentences from [`words`], so that every
/// format says the same thing; then a variant of the command's `--format` enum in `cli.rs`,
/// mapped to it there. A format that has nothing to say about a kind of report (Markdown of
/// `verify`) returns [`unsupported`].
pub trait Printer {
    /// The format's name, as `--format` spells it.
    fn name(&self) -> &'static str;

    /// Writes `report` to `out`, escaped for the format; the caller flushes.
    ///
    /// # Errors
    /// The writer's (a closed pipe is a `BrokenPipe` `io::Error`, JSON's included), or
    /// [`unsupported`].
    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The error of a printer asked for a report it does not print.
#[must_use]
pub fn unsupported(printer: &dyn Printer, report: &Report<'_>) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!(
            "the {} format does not print {} reports",
            printer.name(),
            report.name()
        ),
    )
}

/// Where a report for a CI system points a finding (SARIF, Code Quality, JUnit, Markdown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place<'a> {
    /// The Dockerfile lines that made the finding's layer ([`Finding::layer`]), or when no
    /// line is known for it, another layer of the finding (the one that shipped the bytes, the
    /// one that triggers it).
    Line {
        layer: usize,
        file: &'a str,
        line: usize,
        end_line: usize,
    },
    /// The Dockerfile is known but not the finding's line (a finding of the whole image, such
    /// as who it runs as, or a layer no line matched): its `FROM` line, else its first line.
    Dockerfile { file: &'a str, line: usize },
    /// No Dockerfile: the image, as the user named it.
    Image(&'a str),
}

/// Where `f` is fixed, as far as the analysis knows.
#[must_use]
pub fn place<'a>(a: &'a Analysis, f: &Finding) -> Place<'a> {
    let source = |l: &'a LayerSummary| l.source.as_ref();
    let layers = [f.layer(), f.shipped_by, f.trigger, f.hidden_by];
    let known = layers
        .into_iter()
        .flatten()
        .find_map(|k| a.layers.get(k).and_then(source).map(|s| (k, s)));
    if let Some((layer, s)) = known {
        return Place::Line {
            layer,
            file: &s.file,
            line: s.line,
            end_line: s.end_line.max(s.line),
        };
    }
    let Some(file) = a.layers.iter().find_map(source).map(|s| s.file.as_str()) else {
        return Place::Image(&a.image.identity.source);
    };
    // The base layers carry the FROM line of the stage the image is.
    let from = a
        .layers
        .iter()
        .rev()
        .filter(|l| l.base == Some(true))
        .find_map(source)
        .filter(|s| s.file == file)
        .map_or(1, |s| s.line);
    Place::Dockerfile { file, line: from }
}

/// A file's path as CI systems want it, relative to the working directory (the repository's
/// root, where CI runs): a relative path as given, without a leading `./`; an absolute one
/// below the working directory made relative to it; `None` for any other absolute path.
#[must_use]
pub fn repo_path(file: &str) -> Option<String> {
    let path = Path::new(file);
    if path.is_absolute() {
        let cwd = std::env::current_dir().ok()?;
        return path
            .strip_prefix(&cwd)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
    }
    let mut rest = file;
    while let Some(r) = rest.strip_prefix("./") {
        rest = r.trim_start_matches('/');
    }
    Some(rest.to_string())
}

/// A finding's identity across runs on the same image, as a hex SHA-256: its id, the diff_ids
/// of its layers, its cache directory, paths and packages (sorted); never its byte counts or
/// the sentence, which change with the numbers. SARIF's `partialFingerprints` and Code
/// Quality's `fingerprint`.
#[must_use]
pub fn fingerprint(a: &Analysis, f: &Finding) -> String {
    fingerprint_with(f, &|k| a.layers.get(k).and_then(|l| l.diff_id.clone()))
}

/// [`fingerprint`], with each layer's diff_id from `diff_id`.
fn fingerprint_with(f: &Finding, diff_id: &dyn Fn(usize) -> Option<String>) -> String {
    use sha2::Digest as _;
    let layer = |k: Option<usize>| match k {
        Some(k) => diff_id(k).unwrap_or_else(|| format!("layer {k}")),
        None => String::new(),
    };
    let mut paths = f.paths.clone();
    paths.sort();
    let mut packages = f.packages.clone();
    packages.sort();
    let mut h = sha2::Sha256::new();
    let mut part = |label: &str, text: &str| {
        h.update(label.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    };
    part("id", f.kind.id());
    part("shipped", &layer(f.shipped_by));
    part("hidden", &layer(f.hidden_by));
    part("trigger", &layer(f.trigger));
    part("cache", f.cache.map_or("", |c| c.dir()));
    for p in &paths {
        part("path", p);
    }
    for p in &packages {
        part("package", p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What the layer blobs' size is called: "compressed" when every blob is, "stored" when some
/// blob is a plain tar (a `docker save`), whose size is larger than the files in it.
pub fn stored_name(image: &crate::analysis::ImageSummary) -> &'static str {
    if image.all_compressed {
        "compressed"
    } else {
        "stored"
    }
}

/// dive's user wasted percent for people: a percentage, or dive's `+Inf` / `NaN` with what
/// it means (the layers above the base hold no bytes) and what dive's rule then does.
pub fn dive_user_wasted(d: &crate::analysis::DiveMetrics) -> String {
    match d.user_wasted_nonfinite() {
        None => percent(d.user_wasted_ratio()),
        Some("NaN") => "NaN (nothing above the base layer, nothing wasted: dive passes)".into(),
        Some(go) => format!("{go} (wasted, but nothing above the base layer: dive fails)"),
    }
}

/// A layer's command for one line: the Dockerfile line that made it when known
/// (`Dockerfile:12 RUN apt-get …`, the file by its name alone), else its `created_by`
/// shortened; at most `width` characters.
pub fn layer_command(l: &crate::analysis::LayerSummary, width: usize) -> String {
    match &l.source {
        Some(s) => {
            let name = Path::new(&s.file)
                .file_name()
                .map_or_else(|| s.file.clone(), |n| n.to_string_lossy().into_owned());
            short_command(&format!("{name}:{} {}", s.line, s.instruction), width)
        }
        None => l
            .created_by
            .as_deref()
            .map_or_else(|| "(no history)".to_string(), |c| short_command(c, width)),
    }
}

/// Shortens a command for one line: collapses whitespace, drops buildah's `/bin/sh -c`
/// prefix, and cuts at `width` characters with an ellipsis.
pub fn short_command(cmd: &str, width: usize) -> String {
    let mut s: String = cmd.split_whitespace().collect::<Vec<_>>().join(" ");
    for prefix in ["/bin/sh -c #(nop) ", "/bin/sh -c "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.to_string();
            break;
        }
    }
    if s.chars().count() > width {
        let cut: String = s.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fingerprint follows what the finding is about (its kind, layers, paths), not its
    /// numbers or its severity, and not the order of its paths.
    #[test]
    fn fingerprints_ignore_the_numbers() {
        use crate::analysis::{FindingKind, Severity};
        let ids = |k: usize| Some(format!("sha256:{k}"));
        let f = Finding {
            bytes: 10,
            files: 2,
            shipped_by: Some(0),
            hidden_by: Some(2),
            paths: vec!["/a".into(), "/b".into()],
            ..Finding::new(FindingKind::DeletedLater, Severity::Note)
        };
        let print = |f: &Finding| fingerprint_with(f, &ids);
        let same = [
            Finding {
                bytes: 2_000_000,
                files: 9,
                severity: Severity::Warning,
                value: Some("x".into()),
                ..f.clone()
            },
            Finding {
                paths: vec!["/b".into(), "/a".into()],
                ..f.clone()
            },
        ];
        for g in &same {
            assert_eq!(print(g), print(&f), "{g:?}");
        }
        let other = [
            Finding {
                paths: vec!["/a".into()],
                ..f.clone()
            },
            Finding {
                hidden_by: Some(1),
                ..f.clone()
            },
            Finding {
                kind: FindingKind::Overwritten,
                ..f.clone()
            },
        ];
        for g in &other {
            assert_ne!(print(g), print(&f), "{g:?}");
        }
        // Another diff_id for the same layer index: another image, another fingerprint.
        assert_ne!(
            fingerprint_with(&f, &|k| Some(format!("sha256:other{k}"))),
            print(&f)
        );
        assert_eq!(print(&f).len(), 64);
    }

    #[test]
    fn commands_are_shortened_for_one_line() {
        assert_eq!(
            short_command("/bin/sh -c #(nop)  ADD file:abc in / ", 40),
            "ADD file:abc in /"
        );
        assert_eq!(
            short_command("/bin/sh -c apt-get   update", 40),
            "apt-get update"
        );
        assert_eq!(short_command("abcdefghij", 5), "abcd…");
    }

    #[test]
    fn dive_user_wasted_spells_inf_and_nan_as_dive() {
        let d = |r: Option<f64>| crate::analysis::DiveMetrics {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted_percent: r,
        };
        assert_eq!(dive_user_wasted(&d(Some(0.915_328))), "91.5%");
        assert!(dive_user_wasted(&d(Some(f64::INFINITY))).starts_with("+Inf ("));
        assert!(dive_user_wasted(&d(None)).starts_with("NaN ("));
    }
}
