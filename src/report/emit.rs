//! Where the words go: a [`Report`] on stdout through its [`Printer`], the JSON analysis to
//! `--json FILE`, the image's and the rules' warnings and the one error line on stderr, a
//! replayed screen on stdout. `main` runs a command and hands its result here. The rest is not
//! strata's words: clap writes its help, completions and usage errors, the explorer draws on the
//! terminal and the progress bar on stderr.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use super::{CiReport, Json, Printer, Report, compare::TextOptions, escape};
use crate::analysis::Analysis;
use crate::analysis::compare::Comparison;
use crate::ci::{Gate, MetricsKind, RuleOutcome, Rules};
use crate::overlay::Fs;

/// What `analyze` and `ci` print and write.
pub struct Output {
    pub printer: &'static dyn Printer,
    /// `--json FILE`.
    pub json_file: Option<PathBuf>,
    /// Wasted paths the analysis lists (`None`: all).
    pub listed: Option<usize>,
    /// Wasted paths the JSON shows.
    pub json_top: usize,
    /// Wasted paths stdout shows.
    pub shown: usize,
}

/// Prints `report` on stdout and flushes.
///
/// # Errors
/// The printer's (a closed stdout is a `BrokenPipe`: see [`is_broken_pipe`]).
pub fn stdout(printer: &dyn Printer, report: &Report<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    printer.print(report, &mut out)?;
    out.flush()
}

/// Writes a replayed screen (`--keys SCRIPT --print`) on stdout.
///
/// # Errors
/// The writer's.
pub fn screen(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Each warning on stderr as `strata: warning: …`, escaped. A closed stderr loses them
/// rather than stopping the command.
pub fn warnings(list: &[String]) {
    let mut err = io::stderr().lock();
    for w in list {
        let _ = writeln!(err, "strata: warning: {}", escape::text(w));
    }
}

/// `strata: error: …` on stderr, as [`error_line`] spells it.
pub fn error(e: &anyhow::Error) {
    let _ = writeln!(io::stderr(), "strata: error: {}", error_line(e));
}

/// `analyze`: the warnings on stderr, `--json FILE`, the report on stdout; `fs`, the image's
/// filesystem, is drawn by the formats that draw it (HTML).
///
/// # Errors
/// `--json FILE` that cannot be written (named), or stdout's.
pub fn analysis(a: &Analysis, fs: &Fs, output: &Output) -> anyhow::Result<()> {
    warnings(&a.warnings);
    json_file(a, output)?;
    let report = Report::Analysis {
        analysis: a,
        top: output.shown,
        fs: Some(fs),
    };
    Ok(stdout(output.printer, &report)?)
}

/// `ci`: the rules judged, printed as [`analysis`] prints; JSON of a CI report is the
/// `strata.ci/v1` contract.
///
/// # Errors
/// As [`analysis`].
pub fn ci(
    a: &Analysis,
    output: &Output,
    outcomes: &[RuleOutcome],
    metrics: MetricsKind,
    rules: &Rules,
    gate: &Gate,
) -> anyhow::Result<()> {
    warnings(&a.warnings);
    json_file(a, output)?;
    let report = Report::Ci(CiReport {
        analysis: a,
        outcomes,
        metrics,
        config: rules.config_file.as_deref(),
        strata_file: rules.strata_file.as_deref(),
        gate,
        top: output.shown,
    });
    Ok(stdout(output.printer, &report)?)
}

/// `compare` printed; `warn` also lists the warnings on stderr (the text lists them; JSON
/// holds them too, but a person reads stderr).
///
/// # Errors
/// As [`stdout`].
pub fn comparison(
    c: &Comparison,
    printer: &dyn Printer,
    options: TextOptions,
    warn: bool,
) -> io::Result<()> {
    if warn {
        warnings(&c.warnings);
    }
    let report = Report::Compare {
        comparison: c,
        options,
    };
    stdout(printer, &report)
}

/// Writes the JSON analysis to `--json FILE` if asked.
fn json_file(a: &Analysis, output: &Output) -> anyhow::Result<()> {
    if let Some(path) = &output.json_file {
        let mut text = Vec::new();
        let report = Report::Analysis {
            analysis: a,
            top: output.json_top,
            fs: None,
        };
        Json.print(&report, &mut text)?;
        std::fs::write(path, text).with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// The error and its context as one line, every control character from an image (or from the
/// user's arguments) escaped: a line break in a message never starts a new line.
#[must_use]
pub fn error_line(e: &anyhow::Error) -> String {
    // The library's errors already name the thing; context adds where it came from.
    let mut out: Vec<String> = Vec::new();
    for part in e.chain().map(ToString::to_string) {
        if !out.iter().any(|o| o.contains(&part)) {
            out.push(part);
        }
    }
    escape::text(&out.join(": ")).into_owned()
}

/// A closed stdout (`strata analyze IMG | head`): printers return the writer's `io::Error`,
/// JSON's included.
#[must_use]
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context is kept once when the error below already says it, and a line break from an
    /// image is spelled out: the line stays one line.
    #[test]
    fn an_error_is_one_line_without_repeats() {
        let inner = anyhow::anyhow!("blob sha256:ab is missing");
        let e = inner
            .context("layer 2")
            .context("layer 2: blob sha256:ab is missing");
        assert_eq!(error_line(&e), "layer 2: blob sha256:ab is missing");
        let e = anyhow::anyhow!("bad\nname").context("image x");
        assert_eq!(error_line(&e), "image x: bad\\nname");
    }

    #[test]
    fn a_broken_pipe_is_found_under_context() {
        let pipe = io::Error::new(io::ErrorKind::BrokenPipe, "closed");
        assert!(is_broken_pipe(&anyhow::Error::new(pipe).context("stdout")));
        let other = io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        assert!(!is_broken_pipe(
            &anyhow::Error::new(other).context("stdout")
        ));
    }
}
