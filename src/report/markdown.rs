//! Markdown: a comparison as a pull-request comment or a CI job summary (GitHub-flavoured;
//! the writer is [`super::compare::write_markdown`]).

use std::io::{self, Write};

use super::{Printer, Report, unsupported};

/// GitHub-flavoured Markdown; prints comparisons only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

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
            _ => Err(unsupported(self, report)),
        }
    }
}
