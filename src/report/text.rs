//! The text faces: the analysis summary and the CI verdict here, the comparison and the
//! verification in their own modules; [`Text`] prints each.

use std::io::{self, Write};

use super::escape::text;
use super::{
    CiReport, Printer, Report, dive_user_wasted, layer_command, short_command, stored_name,
};
use crate::analysis::{Analysis, LayerSummary};
use crate::ci::Status;
use crate::image::BASE_NAME;
use crate::units::{bytes_text, count, percent, size};

/// Text for a terminal or a CI log, every string from the image escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl Printer for Text {
    fn name(&self) -> &'static str {
        "text"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::Analysis { analysis, top, .. } => write_summary(out, analysis, *top),
            Report::Ci(ci) => write_ci(out, ci),
            Report::Compare {
                comparison,
                options,
            } => super::compare::write_text(out, comparison, options),
            Report::Verify(v) => super::verify::write_text(out, v),
            Report::History(h) => super::history::write_text(out, h),
        }
    }
}

/// Writes the summary: image, layers, efficiency, waste by cause, top wasted paths.
pub fn write_summary(w: &mut dyn Write, a: &Analysis, top: usize) -> io::Result<()> {
    write_header(w, a)?;
    writeln!(w)?;
    write_layers(w, a)?;
    writeln!(w)?;
    write_waste(w, a)?;
    writeln!(w)?;
    write_packages(w, a, top)?;
    write_paths(w, a, top)?;
    write_findings(w, a, top)
}

/// The packages, largest first, and the bytes no package owns (nothing without a package
/// database).
fn write_packages(w: &mut dyn Write, a: &Analysis, top: usize) -> io::Result<()> {
    if a.packages.is_empty() {
        return Ok(());
    }
    let owned: u64 = a.packages.iter().map(|p| p.visible_bytes).sum();
    let unowned: u64 = a.unowned.iter().map(|u| u.bytes).sum();
    let mut managers: Vec<&str> = a.packages.iter().map(|p| p.manager.as_str()).collect();
    managers.sort_unstable();
    managers.dedup();
    writeln!(
        w,
        "Packages     {} ({}): {} of the visible bytes; no package owns {}",
        count(a.packages.len() as u64, "package", "packages"),
        managers.join(", "),
        size(owned),
        size(unowned),
    )?;
    let shown = if top == 0 {
        a.packages.len()
    } else {
        top.min(a.packages.len())
    };
    writeln!(
        w,
        "{:>10}  {:>10}  {:>5}  Package ({shown} of {})",
        "Visible",
        "Wasted",
        "Layer",
        a.packages.len()
    )?;
    for p in a.packages.iter().take(shown) {
        let layer = p.layer.map_or_else(|| "-".to_string(), |l| l.to_string());
        let build = if p.build_time { "  (build-time)" } else { "" };
        writeln!(
            w,
            "{:>10}  {:>10}  {:>5}  {} {}{build}",
            size(p.visible_bytes),
            size(p.wasted_bytes),
            layer,
            text(&p.name),
            text(&p.version),
        )?;
    }
    if !a.unowned.is_empty() {
        let dirs: Vec<String> = a
            .unowned
            .iter()
            .take(5)
            .map(|u| format!("{} {}", text(&u.dir), size(u.bytes)))
            .collect();
        let more = if a.unowned.len() > 5 { ", …" } else { "" };
        writeln!(w, "Not owned    {}{more}", dirs.join(", "))?;
    }
    writeln!(w)
}

fn write_findings(w: &mut dyn Write, a: &Analysis, top: usize) -> io::Result<()> {
    if a.findings.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "Findings")?;
    let findings = super::words::findings(a);
    let shown = if top == 0 {
        findings.len()
    } else {
        top.min(findings.len())
    };
    for (f, sentence) in findings.iter().take(shown) {
        let bytes = if f.bytes > 0 {
            size(f.bytes)
        } else {
            String::new()
        };
        writeln!(
            w,
            "  {:<7}  {bytes:>10}  {}",
            f.severity.as_str(),
            text(sentence)
        )?;
    }
    Ok(())
}

fn write_header(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let img = &a.image.identity;
    let mut source = format!("{} ({}", img.source, img.format);
    if let Some(r) = &img.reference {
        source.push_str(&format!(", {r}"));
    }
    source.push(')');
    writeln!(w, "Image        {}", text(&source))?;
    if let Some(p) = &img.platform {
        writeln!(w, "Platform     {}", text(p))?;
    }
    if let Some(d) = &img.manifest_digest {
        writeln!(w, "Manifest     {}", text(d))?;
    }
    writeln!(
        w,
        "Size         {} {}, {} uncompressed in {}; {}, {}, {}",
        size(a.image.compressed_bytes),
        stored_name(&a.image),
        size(a.image.shipped_bytes),
        count(a.image.layer_count as u64, "layer", "layers"),
        count(a.image.final_files, "file", "files"),
        count(a.image.final_dirs, "directory", "directories"),
        count(a.image.final_symlinks, "symlink", "symlinks"),
    )
}

fn write_layers(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let stored = if a.image.all_compressed {
        "Compressed"
    } else {
        "Stored"
    };
    writeln!(
        w,
        "{:>3}  {:>10}  {:>10}  {:>10}  {:>10}  {:>5} {:>5} {:>5}  Command",
        "#", "Size", stored, "Wastes", "Hides", "+add", "~mod", "-del"
    )?;
    for l in &a.layers {
        let command = layer_command(l, 50);
        writeln!(
            w,
            "{:>3}  {:>10}  {:>10}  {:>10}  {:>10}  {:>5} {:>5} {:>5}  {}",
            l.index,
            size(l.shipped_bytes),
            size(l.compressed_bytes),
            size(l.wasted_bytes),
            size(l.hidden_lower_bytes),
            l.added,
            l.modified + l.metadata_only,
            l.removed,
            text(&command),
        )?;
    }
    writeln!(
        w,
        "Wastes: bytes the layer ships that no final path reaches. Hides: lower-layer bytes it makes unreachable."
    )?;
    if !a.image.all_compressed {
        writeln!(
            w,
            "Stored: the layer blob as stored; an uncompressed tar counts its headers and padding too."
        )?;
    }
    write_attribution(w, a)
}

/// With a Dockerfile or `--base`: which layers are the base image's, and how many of the
/// others matched a line; without, the base image the annotations name, if they do.
fn write_attribution(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    if a.layers.iter().all(|l| l.base.is_none()) {
        let annotated = a.image.identity.annotations.get(BASE_NAME);
        if let Some(name) = annotated {
            writeln!(
                w,
                "Base image: {}, by the image's annotation (--base IMAGE tells which layers are its)",
                text(name)
            )?;
        }
        return Ok(());
    }
    let base: Vec<&LayerSummary> = a.layers.iter().filter(|l| l.base == Some(true)).collect();
    let ours: Vec<&LayerSummary> = a.layers.iter().filter(|l| l.base == Some(false)).collect();
    let unknown = a.layers.iter().filter(|l| l.base.is_none()).count();
    // The FROM line, else the base image's name (`--base`, annotations).
    let from = base
        .first()
        .and_then(|l| l.source.as_ref())
        .map(|s| short_command(&s.instruction, 60))
        .or_else(|| a.image.base.as_ref().and_then(|b| b.name.clone()));
    match (base.first(), base.last(), from) {
        (Some(first), Some(last), Some(from)) => {
            let ours_bytes: u64 = ours.iter().map(|l| l.shipped_bytes).sum();
            let weight = a.image.base.as_ref().map_or_else(String::new, |b| {
                format!(
                    ": {} in {}; yours {} in {}",
                    size(b.bytes),
                    count(b.layers as u64, "layer", "layers"),
                    size(ours_bytes),
                    count(ours.len() as u64, "layer", "layers"),
                )
            });
            writeln!(
                w,
                "Base image: {} ({}){weight}",
                layer_range(first.index, last.index),
                text(&from),
            )?;
        }
        _ if unknown > 0 => writeln!(
            w,
            "Base image: not known ({} below the first matched line)",
            count(unknown as u64, "layer", "layers"),
        )?,
        _ => writeln!(w, "Base image: no layer (FROM scratch)")?,
    }
    let matched = ours.iter().filter(|l| l.source.is_some()).count();
    let file = ours.iter().find_map(|l| l.source.as_ref()).map(|s| &s.file);
    if let Some(file) = file {
        writeln!(
            w,
            "Dockerfile: {matched} of the {} it made matched to a line of {}",
            count(ours.len() as u64, "layer", "layers"),
            text(file),
        )?;
    }
    Ok(())
}

/// `layer 3` or `layers 0–2`.
fn layer_range(first: usize, last: usize) -> String {
    if first == last {
        format!("layer {first}")
    } else {
        format!("layers {first}–{last}")
    }
}

fn write_waste(w: &mut dyn Write, a: &Analysis) -> io::Result<()> {
    let waste = &a.waste;
    let c = &waste.by_cause;
    writeln!(
        w,
        "Efficiency   {}  ({} visible of {} shipped)",
        percent(waste.efficiency),
        size(a.image.visible_bytes),
        size(a.image.shipped_bytes)
    )?;
    writeln!(
        w,
        "Wasted       {}  (deleted {}, overwritten {}, metadata-only {})",
        size(waste.wasted_bytes),
        size(c.deleted),
        size(c.overwritten),
        size(c.metadata_only)
    )?;
    writeln!(
        w,
        "User wasted  {} of the bytes shipped above the base layer",
        percent(waste.user_wasted_ratio)
    )?;
    writeln!(
        w,
        "dive 0.13    efficiency {}, wasted {}, user wasted {}",
        percent(a.dive.efficiency),
        size(a.dive.wasted_bytes),
        dive_user_wasted(&a.dive)
    )
}

fn write_paths(w: &mut dyn Write, a: &Analysis, top: usize) -> io::Result<()> {
    let waste = &a.waste;
    if waste.paths.is_empty() {
        return writeln!(w, "No wasted paths.");
    }
    let shown = if top == 0 {
        waste.paths.len()
    } else {
        top.min(waste.paths.len())
    };
    writeln!(w, "Top wasted paths ({shown} of {})", waste.paths_total)?;
    writeln!(
        w,
        "{:>10}  {:>6}  {:<13}  {:<8}  Path",
        "Wasted", "Copies", "Cause", "Layers"
    )?;
    for p in waste.paths.iter().take(shown) {
        let layers = layer_span(&p.layers, &p.hidden_by);
        writeln!(
            w,
            "{:>10}  {:>6}  {:<13}  {:<8}  {}",
            size(p.wasted_bytes),
            p.copies,
            p.cause.as_str(),
            layers,
            text(&p.path)
        )?;
    }
    Ok(())
}

/// `2→19`: shipped in layer 2, made unreachable by layer 19 (lists joined with commas).
fn layer_span(shipped: &[usize], hidden_by: &[usize]) -> String {
    let join = |v: &[usize]| {
        v.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    if hidden_by.is_empty() {
        join(shipped)
    } else {
        format!("{}→{}", join(shipped), join(hidden_by))
    }
}

/// Writes the CI verdict: the metrics judged, each rule's result, the top offenders.
pub fn write_ci(w: &mut dyn Write, r: &CiReport<'_>) -> io::Result<()> {
    let (a, outcomes, top) = (r.analysis, r.outcomes, r.top);
    writeln!(
        w,
        "Image: {} ({})",
        text(&a.image.identity.source),
        count(a.image.layer_count as u64, "layer", "layers")
    )?;
    match r.config {
        Some(p) => writeln!(w, "Rules: {}", text(&p.display().to_string()))?,
        None => writeln!(w, "Rules: defaults (no .dive-ci)")?,
    }
    if !r.gate.allow.is_empty() {
        let mut files: Vec<String> = r
            .gate
            .allow
            .iter()
            .map(|a| a.file.display().to_string())
            .collect();
        files.dedup();
        writeln!(
            w,
            "Allowed: {} ({})",
            count(r.gate.allow.len() as u64, "entry", "entries"),
            text(&files.join(", "))
        )?;
    }
    writeln!(w, "Metrics: {}", super::words::metrics(r.metrics))?;
    writeln!(
        w,
        "  efficiency: {}   wasted: {}   user wasted: {}",
        percent(a.waste.efficiency),
        bytes_text(a.waste.wasted_bytes),
        percent(a.waste.user_wasted_ratio)
    )?;
    writeln!(
        w,
        "  dive 0.13:  {}   wasted: {}   user wasted: {}",
        percent(a.dive.efficiency),
        bytes_text(a.dive.wasted_bytes),
        dive_user_wasted(&a.dive)
    )?;
    writeln!(w, "Results:")?;
    let (mut pass, mut fail, mut skip) = (0, 0, 0);
    for o in outcomes {
        let tag = match o.status {
            Status::Pass => {
                pass += 1;
                "PASS"
            }
            Status::Fail => {
                fail += 1;
                "FAIL"
            }
            Status::Disabled => {
                skip += 1;
                "SKIP"
            }
        };
        writeln!(
            w,
            "  {tag}: {}: {}",
            o.rule.dive_name(),
            text(&super::words::rule_outcome(o))
        )?;
    }
    let gate = r.gate;
    if let Some(fail_on) = gate.fail_on {
        writeln!(w, "Findings at or above {}:", fail_on.as_str())?;
        let sentences = super::words::every_finding(a);
        let mut any = false;
        for (i, (f, sentence)) in a.findings.iter().zip(&sentences).enumerate() {
            if !gate.judged(i).at_gate {
                continue;
            }
            any = true;
            match gate.allowed_by(i) {
                Some(allow) => writeln!(
                    w,
                    "  ALLOWED: {} {}: {} (allowed at {}: {})",
                    f.severity.as_str(),
                    f.kind.id(),
                    text(sentence),
                    text(&allow.to_string()),
                    text(&allow.reason)
                )?,
                None => writeln!(
                    w,
                    "  FAIL: {} {}: {}",
                    f.severity.as_str(),
                    f.kind.id(),
                    text(sentence)
                )?,
            }
        }
        if !any {
            writeln!(w, "  none")?;
        }
    }
    if fail > 0 && !a.waste.paths.is_empty() {
        writeln!(w, "Top offenders:")?;
        for p in a.waste.paths.iter().take(top.max(1)) {
            writeln!(
                w,
                "  {:>10}  {:<13}  {}",
                size(p.wasted_bytes),
                p.cause.as_str(),
                text(&p.path)
            )?;
        }
    }
    let verdict = if r.passed() { "PASS" } else { "FAIL" };
    let findings = if gate.fail_on.is_some() {
        let allowed = gate.findings.iter().filter(|j| j.allowed.is_some()).count();
        format!(" [Findings failed:{}] [Allowed:{allowed}]", gate.failed())
    } else {
        String::new()
    };
    writeln!(
        w,
        "Result: {verdict} [Total:{}] [Passed:{pass}] [Failed:{fail}] [Skipped:{skip}]{findings}",
        outcomes.len()
    )
}
