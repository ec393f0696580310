//! The faces of a [`Comparison`]: text for a terminal, Markdown for a pull-request comment or
//! a CI job summary. (The JSON view is in [`super::json`].)

use std::io::{self, Write};

use super::escape::text;
use super::short_command;
use crate::analysis::compare::{
    Alignment, BaseChange, BaseRef, CacheMiss, Comparison, CountBytes, Delta, FileChange, FileDiff,
    Group, LayerRow, MissCause,
};
use crate::units::{percent, signed_size, size};

/// What the text face shows of the group tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Levels of directories to show (1: the top groups only).
    pub depth: usize,
    /// Groups per level and files per group (0: all).
    pub top: usize,
    /// List the files under the groups shown.
    pub files: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            depth: 1,
            top: 10,
            files: false,
        }
    }
}

/// A difference with its percentage (`-678.23 kB (-25.4%)`).
pub fn delta_text(d: &Delta, bytes: bool) -> String {
    let amount = if bytes {
        signed_size(d.delta)
    } else if d.delta > 0 {
        format!("+{}", d.delta)
    } else {
        d.delta.to_string()
    };
    match d.percent {
        Some(p) if d.delta != 0 => format!("{amount} ({p:+.1}%)"),
        _ => amount,
    }
}

pub fn efficiency_delta(points: f64) -> String {
    format!("{:+.1} pts", points * 100.0)
}

/// `n` of `items`, or all when `n` is 0.
fn take<T>(items: &[T], n: usize) -> &[T] {
    if n == 0 || n >= items.len() {
        items
    } else {
        &items[..n]
    }
}

pub fn change_name(c: FileChange) -> &'static str {
    match c {
        FileChange::Added => "added",
        FileChange::Removed => "removed",
        FileChange::Changed => "changed",
        FileChange::MetadataOnly => "metadata only",
    }
}

pub fn image_line(s: &crate::analysis::compare::Side) -> String {
    let img = &s.image.identity;
    let mut line = format!("{} ({}", img.source, img.format);
    if let Some(r) = &img.reference {
        line.push_str(&format!(", {r}"));
    }
    line.push(')');
    line
}

/// The command of an alignment row: B's when it has one (the newer spelling), else A's.
pub fn row_command(row: &LayerRow) -> Option<&str> {
    row.b
        .as_ref()
        .and_then(|l| l.created_by.as_deref())
        .or_else(|| row.a.as_ref().and_then(|l| l.created_by.as_deref()))
}

pub fn row_difference(row: &LayerRow) -> String {
    match row.alignment {
        Alignment::Shared => "shared".to_string(),
        Alignment::Matched if row.delta_bytes == 0 => "same size".to_string(),
        _ => signed_size(row.delta_bytes),
    }
}

/// A base image as named: `name@digest`, the digest cut to 12 hex digits.
fn base_ref(r: Option<&BaseRef>) -> String {
    let Some(r) = r else {
        return "not known".into();
    };
    let digest = r.digest.as_deref().map(|d| {
        let hex = d.split_once(':').map_or(d, |(_, h)| h);
        hex.chars().take(12).collect::<String>()
    });
    match (&r.name, digest) {
        (Some(n), Some(d)) => format!("{n}@{d}"),
        (Some(n), None) => n.clone(),
        (None, Some(d)) => d,
        (None, None) => "not known".into(),
    }
}

/// What a host holding A downloads to get B, in one line.
pub fn pull_line(c: &Comparison) -> String {
    let p = &c.pull;
    if p.layers == 0 {
        return format!(
            "a host holding A has every layer of B ({} shared)",
            size(p.shared_bytes)
        );
    }
    format!(
        "a host holding A downloads {} in {} to get B ({} of B it has)",
        size(p.bytes),
        crate::units::count(p.layers as u64, "layer", "layers"),
        size(p.shared_bytes)
    )
}

/// Where B stopped reusing A's layers and why, in one line (plain text: escape to print).
pub fn cache_line(m: &CacheMiss) -> String {
    let at = match (m.a_layer, m.b_layer) {
        (_, Some(j)) => format!("layer {j}"),
        (Some(i), None) => format!("A's layer {i}"),
        (None, None) => "a layer".into(),
    };
    let command = m
        .command
        .as_deref()
        .map_or(String::new(), |c| format!(" (`{}`)", short_command(c, 48)));
    let why = match m.cause {
        MissCause::Content if m.changed > 0 => {
            let more = if m.changed > m.changed_paths.len() as u64 {
                ", …"
            } else {
                ""
            };
            format!(
                "the same command made other files: {} ({}{more})",
                crate::units::count(m.changed, "path differs", "paths differ"),
                m.changed_paths.join(", ")
            )
        }
        MissCause::Content => "the same command, other content".into(),
        MissCause::Command => "the instruction differs".into(),
    };
    format!(
        "B stops reusing A at {at}{command}: {why}; {} from there up, {} for every host to download again",
        crate::units::count(m.rebuilt_layers as u64, "layer", "layers"),
        size(m.reshipped_bytes)
    )
}

/// Whether A and B were built on the same base image, and which. Another digest is another
/// base manifest, which need not be other layers (a base re-stored by the builder): the
/// layers A and B share at the bottom are said beside it.
pub fn base_line(b: &BaseChange, shared_layers: usize) -> String {
    if b.changed {
        let shared = match shared_layers {
            0 => String::new(),
            n => format!(
                " ({} at the bottom are the same)",
                crate::units::count(n as u64, "layer", "layers")
            ),
        };
        format!(
            "changed: {} → {}{shared}",
            base_ref(b.a.as_ref()),
            base_ref(b.b.as_ref())
        )
    } else {
        format!("the same: {}", base_ref(b.a.as_ref()))
    }
}

fn layer_summary(c: &Comparison) -> String {
    let count = |a: Alignment| c.layers.iter().filter(|r| r.alignment == a).count();
    format!(
        "{} shared (same diff_id), {} matched by command, {} only in A, {} only in B",
        c.shared_layers,
        count(Alignment::Matched),
        count(Alignment::OnlyA),
        count(Alignment::OnlyB)
    )
}

/// Writes the comparison as text.
pub fn write_text(w: &mut dyn Write, c: &Comparison, opt: &TextOptions) -> io::Result<()> {
    text_totals(w, c)?;
    text_layers(w, c)?;
    text_files(w, c)?;
    text_groups(w, c, opt)?;
    text_packages(w, c, opt.top)?;
    text_verdict(w, c)
}

/// The packages that differ, largest change first (nothing when neither image has a package
/// database).
fn text_packages(w: &mut dyn Write, c: &Comparison, top: usize) -> io::Result<()> {
    use crate::analysis::compare::packages::PackageChangeKind as K;
    if c.packages.is_empty() {
        return Ok(());
    }
    let n = |k: K| c.packages.iter().filter(|p| p.change == k).count();
    let total: i64 = c.packages.iter().map(|p| p.delta_bytes).sum();
    writeln!(
        w,
        "Packages: {} added, {} removed, {} another version, {} other bytes: {}",
        n(K::Added),
        n(K::Removed),
        n(K::Version),
        n(K::Bytes),
        signed_size(total)
    )?;
    writeln!(w, "  {:>11}  {:<15}  Package", "Difference", "Change")?;
    let shown = take(&c.packages, top);
    for p in shown {
        let version = |v: &Option<String>| v.as_deref().unwrap_or("-").to_string();
        let versions = match p.change {
            K::Removed => version(&p.a_version),
            K::Version => format!("{} -> {}", version(&p.a_version), version(&p.b_version)),
            K::Added | K::Bytes => version(&p.b_version),
        };
        let change = p.change.as_str();
        let build = if p.build_time { "  (build-time)" } else { "" };
        writeln!(
            w,
            "  {:>11}  {:<15}  {} {}{build}",
            signed_size(p.delta_bytes),
            change,
            text(&p.name),
            text(&versions)
        )?;
    }
    if shown.len() < c.packages.len() {
        writeln!(w, "  … {} more", c.packages.len() - shown.len())?;
    }
    writeln!(w)
}

/// A and B, and the table of totals.
fn text_totals(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    writeln!(w, "A  {}", text(&image_line(&c.a)))?;
    writeln!(w, "B  {}", text(&image_line(&c.b)))?;
    if let Some(base) = &c.base {
        writeln!(w, "Base {}", text(&base_line(base, c.shared_layers)))?;
    }
    writeln!(w)?;
    writeln!(w, "{:<14}{:>12}  {:>12}  Difference", "", "A", "B")?;
    for [name, a, b, d] in totals_rows(&c.totals) {
        writeln!(w, "{name:<14}{a:>12}  {b:>12}  {d}")?;
    }
    writeln!(w)
}

/// The aligned layers, one row each.
fn text_layers(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    writeln!(w, "Layers: {}", layer_summary(c))?;
    writeln!(
        w,
        "{:>3} {:>3}  {:>10}  {:>10}  {:>11}  Command",
        "A", "B", "A size", "B size", "Difference"
    )?;
    for row in &c.layers {
        let idx = |l: &Option<crate::analysis::compare::LayerInfo>| {
            l.as_ref().map_or("-".to_string(), |l| l.index.to_string())
        };
        let sz = |l: &Option<crate::analysis::compare::LayerInfo>| {
            l.as_ref()
                .map_or("-".to_string(), |l| size(l.shipped_bytes))
        };
        let cmd =
            row_command(row).map_or_else(|| "(no history)".to_string(), |s| short_command(s, 56));
        writeln!(
            w,
            "{:>3} {:>3}  {:>10}  {:>10}  {:>11}  {}",
            idx(&row.a),
            idx(&row.b),
            sz(&row.a),
            sz(&row.b),
            row_difference(row),
            text(&cmd)
        )?;
    }
    writeln!(w, "Pull: {}", pull_line(c))?;
    if let Some(m) = &c.cache_miss {
        writeln!(w, "Cache: {}", text(&cache_line(m)))?;
    }
    writeln!(w)
}

/// The files of the final filesystems that differ, counted by kind of change.
fn text_files(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    let f = &c.files;
    writeln!(
        w,
        "Files of the final filesystems ({} {})",
        f.files(),
        if f.files() == 1 { "differs" } else { "differ" }
    )?;
    writeln!(
        w,
        "  {:<14}{:>7}  {:>11}  {:>11}",
        "", "Files", "Bytes", "Difference"
    )?;
    for (name, cb) in [
        ("added", &f.added),
        ("removed", &f.removed),
        ("changed", &f.changed),
        ("metadata only", &f.metadata_only),
    ] {
        writeln!(
            w,
            "  {name:<14}{:>7}  {:>11}  {:>11}",
            cb.count,
            size(cb.bytes),
            signed_size(cb.delta_bytes)
        )?;
    }
    writeln!(w)
}

/// The directories, largest difference first, as deep and as many as `opt` says.
fn text_groups(w: &mut dyn Write, c: &Comparison, opt: &TextOptions) -> io::Result<()> {
    if c.groups.is_empty() {
        writeln!(w, "No file differs.")?;
    } else {
        writeln!(w, "By directory, largest difference first")?;
        writeln!(
            w,
            "  {:>11}  {:>5} {:>5} {:>5} {:>5}  Directory",
            "Difference", "+add", "-del", "~chg", "~meta"
        )?;
        write_groups(w, &c.groups, opt, 1)?;
        writeln!(
            w,
            "+add added, -del removed, ~chg content changed, ~meta mode or owner changed"
        )?;
    }
    writeln!(w)
}

/// The verdict, the limit's outcome and the warnings.
fn text_verdict(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    writeln!(w, "Verdict: {}", text(&super::words::verdict(&c.verdict)))?;
    if let Some(l) = &c.limit {
        writeln!(
            w,
            "Limit: B may exceed A by at most {}: B {} by {}: {}",
            l.limit,
            if l.growth_bytes > 0 { "grew" } else { "shrank" },
            size(l.growth_bytes.unsigned_abs()),
            if l.exceeded { "FAIL" } else { "PASS" }
        )?;
    }
    for warning in &c.warnings {
        writeln!(w, "warning: {}", text(warning))?;
    }
    Ok(())
}

fn group_counts(g: &Group) -> [u64; 4] {
    [
        g.added.count,
        g.removed.count,
        g.changed.count,
        g.metadata_only.count,
    ]
}

fn write_groups(
    w: &mut dyn Write,
    groups: &[Group],
    opt: &TextOptions,
    level: usize,
) -> io::Result<()> {
    let indent = "  ".repeat(level - 1);
    let shown = take(groups, opt.top);
    for g in shown {
        let [a, r, ch, m] = group_counts(g);
        writeln!(
            w,
            "  {:>11}  {a:>5} {r:>5} {ch:>5} {m:>5}  {indent}{}",
            signed_size(g.delta_bytes),
            text(&g.path)
        )?;
        let deepest = level >= opt.depth || g.groups.is_empty();
        if !deepest {
            write_groups(w, &g.groups, opt, level + 1)?;
        }
        if opt.files {
            // At the deepest level shown, every file below; above it, the group's own files.
            let files: Vec<&FileDiff> = if deepest {
                let mut all = g.all_files();
                all.sort_by(|x, y| {
                    y.delta_bytes
                        .unsigned_abs()
                        .cmp(&x.delta_bytes.unsigned_abs())
                        .then_with(|| x.path.cmp(&y.path))
                });
                all
            } else {
                g.files.iter().collect()
            };
            for file in take(&files, opt.top) {
                writeln!(
                    w,
                    "  {:>11}  {:<23}  {indent}  {}",
                    signed_size(file.delta_bytes),
                    change_name(file.change),
                    text(&file.path)
                )?;
            }
            if files.len() > take(&files, opt.top).len() {
                writeln!(
                    w,
                    "  {:>11}  {:<23}  {indent}  … {} more file{}",
                    "",
                    "",
                    files.len() - opt.top,
                    if files.len() - opt.top == 1 { "" } else { "s" }
                )?;
            }
        }
    }
    if groups.len() > shown.len() {
        let rest = &groups[shown.len()..];
        let delta: i64 = rest.iter().map(|g| g.delta_bytes).sum();
        writeln!(
            w,
            "  {:>11}  {:>23}  {indent}… {} more director{}",
            signed_size(delta),
            "",
            rest.len(),
            if rest.len() == 1 { "y" } else { "ies" }
        )?;
    }
    Ok(())
}

/// Escapes text for a Markdown table cell: controls spelled out as everywhere ([`text`]);
/// GitHub splits cells at `|` even inside code spans unless it is escaped (and drops the
/// backslash there too); a code span cannot hold a backtick.
fn cell(s: &str) -> String {
    text(s).replace('|', "\\|").replace('`', "'")
}

fn code(s: &str) -> String {
    format!("`{}`", cell(s))
}

fn count_cell(cb: &CountBytes) -> String {
    if cb.count == 0 {
        "0".to_string()
    } else {
        format!("{} ({})", cb.count, size(cb.bytes))
    }
}

/// Writes the comparison as GitHub-flavoured Markdown: a heading with the verdict, the totals
/// table, the layers and the files in collapsed sections, and the directories (top `top`, 0: all).
pub fn write_markdown(w: &mut dyn Write, c: &Comparison, top: usize) -> io::Result<()> {
    markdown_totals(w, c)?;
    markdown_layers(w, c)?;
    markdown_files(w, c, top)?;
    markdown_packages(w, c, top)
}

/// The packages that differ, in a collapsed section (nothing without a package database).
fn markdown_packages(w: &mut dyn Write, c: &Comparison, top: usize) -> io::Result<()> {
    if c.packages.is_empty() {
        return Ok(());
    }
    let total: i64 = c.packages.iter().map(|p| p.delta_bytes).sum();
    writeln!(w)?;
    writeln!(
        w,
        "<details><summary>Packages: {} differ ({})</summary>",
        c.packages.len(),
        signed_size(total)
    )?;
    writeln!(w)?;
    writeln!(w, "| Package | Change | A | B | Difference |")?;
    writeln!(w, "|---|---|---|---|---:|")?;
    let shown = take(&c.packages, top);
    for p in shown {
        let change = p.change.as_str();
        let version = |v: &Option<String>| v.as_deref().map_or("-".to_string(), code);
        writeln!(
            w,
            "| {}{} | {change} | {} | {} | {} |",
            code(&p.name),
            if p.build_time { " (build-time)" } else { "" },
            version(&p.a_version),
            version(&p.b_version),
            signed_size(p.delta_bytes)
        )?;
    }
    if c.packages.len() > shown.len() {
        writeln!(w, "| … {} more | | | | |", c.packages.len() - shown.len())?;
    }
    writeln!(w)?;
    writeln!(w, "</details>")
}

/// The verdict, the limit's outcome and the table of totals.
fn markdown_totals(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    writeln!(w, "### strata compare")?;
    writeln!(w)?;
    writeln!(w, "**{}**", cell(&super::words::verdict(&c.verdict)))?;
    if let Some(l) = &c.limit {
        writeln!(w)?;
        if l.exceeded {
            writeln!(
                w,
                "❌ B grew by {}, more than the {} allowed.",
                size(l.growth_bytes.unsigned_abs()),
                l.limit
            )?;
        } else {
            writeln!(w, "✅ Within the limit ({}).", l.limit)?;
        }
    }
    writeln!(w)?;
    writeln!(w, "| | A | B | Difference |")?;
    writeln!(w, "|---|---:|---:|---:|")?;
    writeln!(
        w,
        "| Image | {} | {} | |",
        code(&c.a.image.identity.source),
        code(&c.b.image.identity.source)
    )?;
    let t = &c.totals;
    if let Some(base) = &c.base {
        writeln!(
            w,
            "| Base image | {} | {} | {} |",
            code(&base_ref(base.a.as_ref())),
            code(&base_ref(base.b.as_ref())),
            if base.changed { "changed" } else { "" }
        )?;
    }
    for [name, a, b, d] in totals_rows(t) {
        writeln!(w, "| {name} | {a} | {b} | {d} |")?;
    }
    writeln!(w)?;
    writeln!(w, "**Pull:** {}.", cell(&pull_line(c)))?;
    if let Some(m) = &c.cache_miss {
        writeln!(w)?;
        writeln!(w, "**Cache:** {}.", cell(&cache_line(m)))?;
    }
    writeln!(w)?;
    Ok(())
}

/// The aligned layers, folded in a `<details>`.
fn markdown_layers(w: &mut dyn Write, c: &Comparison) -> io::Result<()> {
    writeln!(
        w,
        "<details><summary>Layers: {}</summary>",
        layer_summary(c)
    )?;
    writeln!(w)?;
    writeln!(w, "| A | B | A size | B size | Difference | Command |")?;
    writeln!(w, "|---:|---:|---:|---:|---:|---|")?;
    for row in &c.layers {
        let idx = |l: &Option<crate::analysis::compare::LayerInfo>| {
            l.as_ref().map_or(String::new(), |l| l.index.to_string())
        };
        let sz = |l: &Option<crate::analysis::compare::LayerInfo>| {
            l.as_ref().map_or(String::new(), |l| size(l.shipped_bytes))
        };
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            idx(&row.a),
            idx(&row.b),
            sz(&row.a),
            sz(&row.b),
            row_difference(row),
            row_command(row).map_or_else(String::new, |s| code(&short_command(s, 80)))
        )?;
    }
    writeln!(w)?;
    writeln!(w, "</details>")?;
    writeln!(w)?;
    Ok(())
}

/// The file counts, the directories that differ most and their files (at most 200).
fn markdown_files(w: &mut dyn Write, c: &Comparison, top: usize) -> io::Result<()> {
    let f = &c.files;
    writeln!(
        w,
        "**Files**: {} added, {} removed, {} changed, {} metadata only ({} in all)",
        count_cell(&f.added),
        count_cell(&f.removed),
        count_cell(&f.changed),
        count_cell(&f.metadata_only),
        signed_size(f.delta_bytes)
    )?;
    writeln!(w)?;
    if c.groups.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        "| Directory | Difference | Added | Removed | Changed | Metadata only |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|")?;
    let shown = take(&c.groups, top);
    for g in shown {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} |",
            code(&g.path),
            signed_size(g.delta_bytes),
            count_cell(&g.added),
            count_cell(&g.removed),
            count_cell(&g.changed),
            count_cell(&g.metadata_only)
        )?;
    }
    if c.groups.len() > shown.len() {
        let rest = &c.groups[shown.len()..];
        writeln!(
            w,
            "| … {} more | {} | | | | |",
            rest.len(),
            signed_size(rest.iter().map(|g| g.delta_bytes).sum())
        )?;
    }
    writeln!(w)?;
    let files: Vec<&FileDiff> = shown.iter().flat_map(|g| g.all_files()).collect();
    const MAX_FILES: usize = 200;
    writeln!(w, "<details><summary>Files ({})</summary>", files.len())?;
    writeln!(w)?;
    writeln!(w, "| Path | Change | A | B | Difference |")?;
    writeln!(w, "|---|---|---:|---:|---:|")?;
    for file in take(&files, MAX_FILES) {
        let sz = |b: Option<u64>| b.map_or(String::new(), size);
        writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            code(&file.path),
            change_name(file.change),
            sz(file.a_bytes),
            sz(file.b_bytes),
            signed_size(file.delta_bytes)
        )?;
    }
    if files.len() > MAX_FILES {
        writeln!(w, "| … {} more | | | | |", files.len() - MAX_FILES)?;
    }
    writeln!(w)?;
    writeln!(w, "</details>")
}

/// The totals table, one `[name, A, B, difference]` row per measure, for every printer.
pub fn totals_rows(t: &crate::analysis::compare::Totals) -> Vec<[String; 4]> {
    let mut rows = vec![[
        "Layers".to_string(),
        t.layers.a.to_string(),
        t.layers.b.to_string(),
        delta_text(&t.layers, false),
    ]];
    let stored = if t.all_compressed {
        "Compressed"
    } else {
        "Stored"
    };
    for (name, d) in [
        (stored, &t.compressed_bytes),
        ("Uncompressed", &t.uncompressed_bytes),
        ("Visible", &t.visible_bytes),
        ("Wasted", &t.wasted_bytes),
    ] {
        rows.push([name.to_string(), size(d.a), size(d.b), delta_text(d, true)]);
    }
    rows.push([
        "Efficiency".to_string(),
        percent(t.efficiency.a),
        percent(t.efficiency.b),
        efficiency_delta(t.efficiency.delta),
    ]);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_with_percentages() {
        assert_eq!(delta_text(&Delta::new(200, 150), true), "-50 B (-25.0%)");
        assert_eq!(delta_text(&Delta::new(5, 2), false), "-3 (-60.0%)");
        assert_eq!(delta_text(&Delta::new(0, 2), false), "+2");
        assert_eq!(delta_text(&Delta::new(7, 7), true), "0 B");
    }

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(cell("head -c 1 | tr '\\0' x"), "head -c 1 \\| tr '\\0' x");
        assert_eq!(code("a`b"), "`a'b`");
    }
}
