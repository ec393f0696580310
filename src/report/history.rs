//! `strata history`: a repository's tags as a table (text, Markdown), a document (JSON,
//! `strata.history/v1`) and a page with the trend drawn (HTML: an SVG line of each tag's size,
//! no script, no network).

use std::io::{self, Write};

use super::escape::text;
use super::{Printer, Report, unsupported};
use crate::analysis::history::{History, TagRow};
use crate::units::{percent, signed_size, size};

/// "+55.02 kB, mostly /usr/lib" or "first read" for the oldest row.
fn since(row: &TagRow) -> String {
    match &row.since_previous {
        None => "(oldest read)".into(),
        Some(g) => {
            let mostly = if g.mostly.is_empty() {
                String::new()
            } else {
                format!(", mostly {}", g.mostly.join(", "))
            };
            format!(
                "{}{mostly} since {}; pulls {}",
                signed_size(g.delta_bytes),
                g.tag,
                size(g.pull_bytes)
            )
        }
    }
}

/// A tag's date, to the minute (`2026-12-01 10:04`), or `-`.
fn date(row: &TagRow) -> String {
    row.created.as_deref().map_or_else(
        || "-".to_string(),
        |c| c.get(..16).unwrap_or(c).replace('T', " "),
    )
}

/// The history as text: one row per tag, newest first.
pub fn write_text(w: &mut dyn Write, h: &History) -> io::Result<()> {
    writeln!(
        w,
        "{} ({} of {} tags, newest first)",
        text(&h.repository),
        h.tags.len(),
        h.tags_listed
    )?;
    writeln!(
        w,
        "{:<20} {:<16} {:>11} {:>11} {:>10} {:>11}  Since the tag before",
        "Tag", "Created", "Size", "Compressed", "Efficiency", "Wasted"
    )?;
    for row in &h.tags {
        writeln!(
            w,
            "{:<20} {:<16} {:>11} {:>11} {:>10} {:>11}  {}",
            text(&row.tag),
            text(&date(row)),
            size(row.shipped_bytes),
            size(row.compressed_bytes),
            percent(row.efficiency),
            size(row.wasted_bytes),
            text(&since(row))
        )?;
    }
    Ok(())
}

/// A Markdown cell: escaped, pipes and backticks made harmless.
fn cell(s: &str) -> String {
    text(s)
        .replace('|', "\\|")
        .replace('`', "'")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The history as a Markdown table.
pub fn write_markdown(w: &mut dyn Write, h: &History) -> io::Result<()> {
    writeln!(w, "### strata history: `{}`", cell(&h.repository))?;
    writeln!(w)?;
    writeln!(
        w,
        "| Tag | Created | Size | Compressed | Efficiency | Wasted | Since the tag before |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---:|---|")?;
    for row in &h.tags {
        writeln!(
            w,
            "| `{}` | {} | {} | {} | {} | {} | {} |",
            cell(&row.tag),
            cell(&date(row)),
            size(row.shipped_bytes),
            size(row.compressed_bytes),
            percent(row.efficiency),
            size(row.wasted_bytes),
            cell(&since(row))
        )?;
    }
    Ok(())
}

/// HTML text: `&`, `<`, `>`, quotes escaped, and what [`text`] escapes for a terminal.
fn html(s: &str) -> String {
    text(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The trend as one self-contained page: a table and an SVG line of each tag's size (oldest
/// on the left), compressed size beside it.
pub fn write_html(w: &mut dyn Write, h: &History) -> io::Result<()> {
    let (width, height, pad) = (720.0_f64, 240.0_f64, 40.0_f64);
    let rows: Vec<&TagRow> = h.tags.iter().rev().collect();
    let max = rows
        .iter()
        .map(|r| r.shipped_bytes)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |i: usize| {
        if rows.len() < 2 {
            width / 2.0
        } else {
            pad + (width - 2.0 * pad) * i as f64 / (rows.len() - 1) as f64
        }
    };
    let y = |v: u64| height - pad - (height - 2.0 * pad) * v as f64 / max;
    let line = |f: &dyn Fn(&TagRow) -> u64| -> String {
        rows.iter()
            .enumerate()
            .map(|(i, r)| format!("{:.1},{:.1}", x(i), y(f(r))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(w, "<!DOCTYPE html>")?;
    writeln!(w, "<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    writeln!(w, "<title>strata history: {}</title>", html(&h.repository))?;
    writeln!(
        w,
        "<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222;background:#fff}}\
         table{{border-collapse:collapse}}td,th{{padding:.2em .6em;border-bottom:1px solid #ccc;text-align:right}}\
         td:first-child,th:first-child,td:last-child,th:last-child{{text-align:left}}\
         .size{{stroke:#1f6feb}}.compressed{{stroke:#2da44e}}svg text{{fill:currentColor;font-size:11px}}\
         @media (prefers-color-scheme:dark){{body{{color:#ddd;background:#111}}td,th{{border-color:#444}}}}</style>"
    )?;
    writeln!(w, "</head><body>")?;
    writeln!(
        w,
        "<h1>strata history: <code>{}</code></h1>",
        html(&h.repository)
    )?;
    writeln!(
        w,
        "<svg id=\"trend\" role=\"img\" aria-label=\"Size of each tag, oldest on the left\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">"
    )?;
    writeln!(
        w,
        "<polyline class=\"size\" fill=\"none\" stroke-width=\"2\" points=\"{}\"/>",
        line(&|r| r.shipped_bytes)
    )?;
    writeln!(
        w,
        "<polyline class=\"compressed\" fill=\"none\" stroke-width=\"2\" stroke-dasharray=\"4 3\" points=\"{}\"/>",
        line(&|r| r.compressed_bytes)
    )?;
    for (i, r) in rows.iter().enumerate() {
        writeln!(
            w,
            "<circle class=\"size\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"none\"><title>{}: {}</title></circle>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            y(r.shipped_bytes),
            html(&r.tag),
            size(r.shipped_bytes),
            x(i),
            height - pad / 3.0,
            html(&r.tag)
        )?;
    }
    writeln!(
        w,
        "<text x=\"{pad}\" y=\"{:.1}\">{}</text></svg>",
        pad / 2.0,
        html(&format!(
            "size (solid) and compressed (dashed), up to {}",
            size(max as u64)
        ))
    )?;
    writeln!(
        w,
        "<table><thead><tr><th>Tag</th><th>Created</th><th>Size</th><th>Compressed</th>\
         <th>Efficiency</th><th>Wasted</th><th>Since the tag before</th></tr></thead><tbody>"
    )?;
    for row in &h.tags {
        writeln!(
            w,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(&row.tag),
            html(&date(row)),
            size(row.shipped_bytes),
            size(row.compressed_bytes),
            percent(row.efficiency),
            size(row.wasted_bytes),
            html(&since(row))
        )?;
    }
    writeln!(w, "</tbody></table></body></html>")
}

/// `strata history --format html`: the page; no other report.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryHtml;

impl Printer for HistoryHtml {
    fn name(&self) -> &'static str {
        "html"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::History(h) => write_html(out, h),
            _ => Err(unsupported(self, report)),
        }
    }
}
