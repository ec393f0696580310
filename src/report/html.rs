//! HTML: one self-contained page per analysis or comparison, to open in a browser or attach to
//! a CI run (`strata analyze IMAGE --format html > report.html`).
//!
//! The page is a template (`html/page.html`) with its style (`html/style.css`) and script
//! (`html/report.js`) inline, and the report's data as one JSON island
//! (`<script type="application/json">`) that the script draws: the summary, a treemap of the
//! final filesystem ([`tree`]), the layers, the wasted paths and the findings; for a
//! comparison, both layer stacks aligned, the grouped file difference as a diverging bar chart,
//! the verdict, the pull and the cache miss. Nothing is fetched: no URL appears outside the
//! data, and the page's Content-Security-Policy (`default-src 'none'`, the script and style
//! allowed by their SHA-256 only) lets the browser load nothing and run nothing else, should
//! anything slip through.
//!
//! Everything from the image (paths, commands, package names) is data: escaped here as the
//! text output escapes it ([`escape::text`]: a control or bidi character is spelled out), then
//! written into the island with every `<`, `>`, `&`, U+2028 and U+2029 as a JSON `\u` escape,
//! so that no string can close the script element or open a comment; the script puts it on the
//! page with `textContent` only.
//!
//! The sentences are the other formats' ([`words`], [`super::compare`]); the numbers are
//! formatted here as the text output formats them, except the treemap's, which the script
//! formats (in the same decimal units) to keep the page small.

pub mod tree;

use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;
use sha2::Digest as _;

use super::compare::{
    cache_line, change_name, image_line, pull_line, row_command, row_difference, totals_rows,
};
use super::{Printer, Report, escape, layer_command, short_command, stored_name, unsupported};
use super::{dive_user_wasted, words};
use crate::analysis::Analysis;
use crate::analysis::compare::{Alignment, Comparison, CountBytes, Group, LayerInfo};
use crate::overlay::Fs;
use crate::units::{count, percent, signed_size, size};

/// The page around the data; `{{CSP}}`, `{{STYLE}}`, `{{DATA}}` and `{{SCRIPT}}` are filled in.
const PAGE: &str = include_str!("html/page.html");
const STYLE: &str = include_str!("html/style.css");
const SCRIPT: &str = include_str!("html/report.js");

/// Wasted paths, findings and packages listed at most, whatever `--top` says: the page lists
/// what a person reads; the JSON has the rest.
const ROWS: usize = 500;

/// Directories of the file difference shown per level (top level first) and files per
/// directory; at most [`GROUP_ROWS`] rows in all.
const GROUPS_PER_LEVEL: [usize; 4] = [40, 12, 8, 6];
const FILES_PER_GROUP: usize = 12;
const GROUP_ROWS: usize = 3000;

/// One self-contained HTML page; prints analyses and comparisons.
#[derive(Debug, Clone, Copy, Default)]
pub struct Html;

impl Printer for Html {
    fn name(&self) -> &'static str {
        "html"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::Analysis { analysis, top, fs } => {
                let page = AnalysisPage::new(analysis, *top, *fs);
                write_page(out, &page)
            }
            Report::Compare { comparison, .. } => write_page(out, &ComparePage::new(comparison)),
            _ => Err(unsupported(self, report)),
        }
    }
}

/// `s` as the text output prints it: control and bidi characters spelled out.
fn escaped(s: &str) -> String {
    escape::text(s).into_owned()
}

/// The page: the template with the policy, the style, the data and the script.
fn write_page<T: Serialize>(out: &mut dyn Write, data: &T) -> io::Result<()> {
    let data = island(data)?;
    let csp = policy();
    let mut rest = PAGE;
    for (marker, value) in [
        ("{{CSP}}", csp.as_str()),
        ("{{STYLE}}", STYLE),
        ("{{DATA}}", data.as_str()),
        ("{{SCRIPT}}", SCRIPT),
    ] {
        let (head, tail) = rest
            .split_once(marker)
            .ok_or_else(|| io::Error::other(format!("the HTML template lacks {marker}")))?;
        out.write_all(head.as_bytes())?;
        out.write_all(value.as_bytes())?;
        rest = tail;
    }
    out.write_all(rest.as_bytes())
}

/// The Content-Security-Policy: nothing may load, and only this script and this style run.
fn policy() -> String {
    let hash = |text: &str| {
        let digest = sha2::Sha256::digest(text.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(digest)
    };
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; img-src 'none'; \
         base-uri 'none'; form-action 'none'",
        hash(SCRIPT),
        hash(STYLE)
    )
}

/// `data` as JSON that may sit inside a `<script>` element: `<`, `>` and `&` as `\u003c`,
/// `\u003e`, `\u0026` (no `</script>`, no `<!--`), U+2028 and U+2029 as `\u2028`, `\u2029`.
/// Outside strings JSON has none of them, so only strings change, and they decode the same.
pub fn island<T: Serialize>(data: &T) -> io::Result<String> {
    let json = serde_json::to_string(data).map_err(io::Error::other)?;
    let mut out = String::with_capacity(json.len() + json.len() / 32);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The analysis.

/// What the analysis page draws.
#[derive(Serialize)]
struct AnalysisPage {
    kind: &'static str,
    version: &'static str,
    /// The image as the user named it.
    title: String,
    /// `[label, value]` rows: the image, platform, digests, base image.
    identity: Vec<[String; 2]>,
    /// The numbers at the top: `{label, value, note}`.
    cards: Vec<Card>,
    efficiency: String,
    shipped_bytes: u64,
    wasted_bytes: u64,
    causes: Vec<CauseRow>,
    /// `Compressed` or `Stored` (a plain tar's blob counts headers and padding).
    stored: &'static str,
    layers: Vec<LayerRow>,
    paths: Vec<WastedRow>,
    paths_total: usize,
    findings: Vec<FindingRow>,
    findings_total: usize,
    packages_line: Option<String>,
    packages: Vec<PackageRow>,
    packages_total: usize,
    warnings: Vec<String>,
    /// `None` when the printer was given no filesystem.
    tree: Option<tree::Tree>,
}

#[derive(Serialize)]
struct Card {
    label: &'static str,
    value: String,
    note: String,
}

#[derive(Serialize)]
struct CauseRow {
    name: &'static str,
    bytes: u64,
    size: String,
}

#[derive(Serialize)]
struct LayerRow {
    index: usize,
    digest: Option<String>,
    diff_id: Option<String>,
    bytes: u64,
    size: String,
    stored: String,
    wasted_bytes: u64,
    wasted: String,
    hides: String,
    added: u64,
    changed: u64,
    removed: u64,
    /// The layer in one line: its Dockerfile line when known, else its command, shortened.
    label: String,
    /// The whole `created_by`.
    command: Option<String>,
    /// `Dockerfile:12 RUN …` (the file by its name alone) and the stage.
    line: Option<String>,
    stage: Option<String>,
    base: Option<bool>,
}

#[derive(Serialize)]
struct WastedRow {
    path: String,
    bytes: u64,
    size: String,
    cause: &'static str,
    layers: String,
    hidden_by: String,
}

#[derive(Serialize)]
struct FindingRow {
    severity: &'static str,
    id: &'static str,
    bytes: u64,
    size: String,
    message: String,
}

#[derive(Serialize)]
struct PackageRow {
    name: String,
    version: String,
    manager: &'static str,
    layer: Option<usize>,
    files: u64,
    visible: String,
    wasted: String,
    build_time: bool,
}

/// `n` of `len` rows: `top` (0: all), never more than [`ROWS`].
fn shown(top: usize, len: usize) -> usize {
    let n = if top == 0 { len } else { top.min(len) };
    n.min(ROWS)
}

fn list(v: &[usize]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl AnalysisPage {
    fn new(a: &Analysis, top: usize, fs: Option<&Fs>) -> AnalysisPage {
        let img = &a.image.identity;
        let mut identity = vec![[
            "Image".to_string(),
            escaped(&format!(
                "{} ({}{})",
                img.source,
                img.format,
                img.reference
                    .as_deref()
                    .map_or(String::new(), |r| format!(", {r}"))
            )),
        ]];
        for (label, value) in [
            ("Platform", &img.platform),
            ("Manifest", &img.manifest_digest),
            ("Config", &img.config_digest),
        ] {
            if let Some(v) = value {
                identity.push([label.to_string(), escaped(v)]);
            }
        }
        if let Some(b) = &a.image.base {
            let name = b.name.as_deref().unwrap_or("not named");
            let digest = b
                .digest
                .as_deref()
                .map_or(String::new(), |d| format!(" ({d})"));
            identity.push([
                "Base image".to_string(),
                escaped(&format!(
                    "{name}{digest}: {}, {} ({} {})",
                    count(b.layers as u64, "layer", "layers"),
                    size(b.bytes),
                    size(b.compressed_bytes),
                    stored_name(&a.image)
                )),
            ]);
        }
        let s = &a.image;
        let w = &a.waste;
        let cards = vec![
            Card {
                label: "Size",
                value: size(s.shipped_bytes),
                note: format!(
                    "uncompressed in {}",
                    count(s.layer_count as u64, "layer", "layers")
                ),
            },
            Card {
                label: if s.all_compressed {
                    "Compressed"
                } else {
                    "Stored"
                },
                value: size(s.compressed_bytes),
                note: "the layer blobs".into(),
            },
            Card {
                label: "Efficiency",
                value: percent(w.efficiency),
                note: "visible / shipped bytes".into(),
            },
            Card {
                label: "Wasted",
                value: size(w.wasted_bytes),
                note: format!(
                    "in {}; above the first layer {}",
                    count(w.paths_total as u64, "path", "paths"),
                    dive_user_wasted(&a.dive)
                ),
            },
            Card {
                label: "Files",
                value: s.final_files.to_string(),
                note: format!(
                    "{}, {}",
                    count(s.final_dirs, "directory", "directories"),
                    count(s.final_symlinks, "symlink", "symlinks")
                ),
            },
        ];
        let causes = [
            ("deleted", w.by_cause.deleted),
            ("overwritten", w.by_cause.overwritten),
            ("metadata only", w.by_cause.metadata_only),
        ]
        .into_iter()
        .map(|(name, bytes)| CauseRow {
            name,
            bytes,
            size: size(bytes),
        })
        .collect();
        let layers = a
            .layers
            .iter()
            .map(|l| LayerRow {
                index: l.index,
                digest: l.digest.as_deref().map(escaped),
                diff_id: l.diff_id.as_deref().map(escaped),
                bytes: l.shipped_bytes,
                size: size(l.shipped_bytes),
                stored: size(l.compressed_bytes),
                wasted_bytes: l.wasted_bytes,
                wasted: size(l.wasted_bytes),
                hides: size(l.hidden_lower_bytes),
                added: l.added,
                changed: l.modified + l.metadata_only,
                removed: l.removed,
                label: escaped(&layer_command(l, 120)),
                command: l
                    .created_by
                    .as_deref()
                    .map(|c| escaped(&short_command(c, 2000))),
                line: l.source.as_ref().map(|_| escaped(&layer_command(l, 2000))),
                stage: l
                    .source
                    .as_ref()
                    .filter(|s| !s.stage.is_empty())
                    .map(|s| escaped(&s.stage)),
                base: l.base,
            })
            .collect();
        let paths = w
            .paths
            .iter()
            .take(shown(top, w.paths.len()))
            .map(|p| WastedRow {
                path: escaped(&p.path),
                bytes: p.wasted_bytes,
                size: size(p.wasted_bytes),
                cause: match p.cause {
                    crate::analysis::Cause::Deleted => "deleted",
                    crate::analysis::Cause::Overwritten => "overwritten",
                    crate::analysis::Cause::MetadataOnly => "metadata only",
                },
                layers: list(&p.layers),
                hidden_by: list(&p.hidden_by),
            })
            .collect();
        // All of them with --top 0, as the explorer lists them; the first `top` otherwise.
        let worded = words::all_findings(a);
        let findings_total = worded.len();
        let findings = worded
            .into_iter()
            .take(shown(top, findings_total))
            .map(|(f, message)| FindingRow {
                severity: f.severity.as_str(),
                id: f.kind.id(),
                bytes: f.bytes,
                size: if f.bytes > 0 {
                    size(f.bytes)
                } else {
                    String::new()
                },
                message: escaped(&message),
            })
            .collect();
        let packages_line = (!a.packages.is_empty()).then(|| {
            let owned: u64 = a.packages.iter().map(|p| p.visible_bytes).sum();
            let unowned: u64 = a.unowned.iter().map(|u| u.bytes).sum();
            let mut managers: Vec<&str> = a.packages.iter().map(|p| p.manager.as_str()).collect();
            managers.sort_unstable();
            managers.dedup();
            format!(
                "{} ({}): {} of the visible bytes; no package owns {}",
                count(a.packages.len() as u64, "package", "packages"),
                managers.join(", "),
                size(owned),
                size(unowned)
            )
        });
        let packages = a
            .packages
            .iter()
            .take(shown(top, a.packages.len()))
            .map(|p| PackageRow {
                name: escaped(&p.name),
                version: escaped(&p.version),
                manager: p.manager.as_str(),
                layer: p.layer,
                files: p.files,
                visible: size(p.visible_bytes),
                wasted: size(p.wasted_bytes),
                build_time: p.build_time,
            })
            .collect();
        AnalysisPage {
            kind: "analysis",
            version: env!("CARGO_PKG_VERSION"),
            title: escaped(&img.source),
            identity,
            cards,
            efficiency: percent(w.efficiency),
            shipped_bytes: s.shipped_bytes,
            wasted_bytes: w.wasted_bytes,
            causes,
            stored: if s.all_compressed {
                "Compressed"
            } else {
                "Stored"
            },
            layers,
            paths,
            paths_total: w.paths_total,
            findings,
            findings_total,
            packages_line,
            packages,
            packages_total: a.packages.len(),
            warnings: a.warnings.iter().map(|w| escaped(w)).collect(),
            tree: fs.map(|fs| tree::build(fs, a)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The comparison.

/// What the comparison page draws.
#[derive(Serialize)]
struct ComparePage {
    kind: &'static str,
    version: &'static str,
    a: String,
    b: String,
    verdict: String,
    /// B's size − A's.
    growth: i64,
    base: Option<String>,
    /// `[name, A, B, difference]`.
    totals: Vec<[String; 4]>,
    layers_line: String,
    layers: Vec<CompareLayer>,
    pull: String,
    pull_bytes: u64,
    pull_shared_bytes: u64,
    cache: Option<String>,
    files_line: String,
    /// `[change, files, bytes, difference]`.
    files: Vec<[String; 4]>,
    groups: Vec<GroupRow>,
    /// Top-level directories not shown, and their difference.
    more_groups: usize,
    packages_line: Option<String>,
    packages: Vec<PackageChangeRow>,
    limit: Option<String>,
    limit_exceeded: bool,
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct CompareLayer {
    alignment: &'static str,
    a: Option<StackLayer>,
    b: Option<StackLayer>,
    delta: i64,
    difference: String,
    command: String,
}

#[derive(Serialize)]
struct StackLayer {
    index: usize,
    bytes: u64,
    size: String,
    diff_id: Option<String>,
}

#[derive(Serialize)]
struct GroupRow {
    path: String,
    delta: i64,
    difference: String,
    /// Files added, removed, changed, metadata only.
    counts: [u64; 4],
    groups: Vec<GroupRow>,
    more_groups: usize,
    files: Vec<FileRow>,
    more_files: usize,
}

#[derive(Serialize)]
struct FileRow {
    path: String,
    change: &'static str,
    delta: i64,
    difference: String,
}

#[derive(Serialize)]
struct PackageChangeRow {
    name: String,
    change: &'static str,
    versions: String,
    delta: i64,
    difference: String,
    build_time: bool,
}

fn alignment_name(a: Alignment) -> &'static str {
    match a {
        Alignment::Shared => "shared",
        Alignment::Matched => "matched",
        Alignment::OnlyA => "only in A",
        Alignment::OnlyB => "only in B",
    }
}

fn stack_layer(l: Option<&LayerInfo>) -> Option<StackLayer> {
    l.map(|l| StackLayer {
        index: l.index,
        bytes: l.shipped_bytes,
        size: size(l.shipped_bytes),
        diff_id: l.diff_id.as_deref().map(escaped),
    })
}

/// The groups of one level, as deep and as many as [`GROUPS_PER_LEVEL`] and `budget` allow.
fn group_rows(groups: &[Group], level: usize, budget: &mut usize) -> (Vec<GroupRow>, usize) {
    let per_level = GROUPS_PER_LEVEL.get(level).copied().unwrap_or(0);
    let mut rows = Vec::new();
    for g in groups.iter().take(per_level) {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let (sub, more_groups) = group_rows(&g.groups, level + 1, budget);
        let take = FILES_PER_GROUP.min(*budget).min(g.files.len());
        *budget -= take;
        let files = g.files[..take]
            .iter()
            .map(|f| FileRow {
                path: escaped(&f.path),
                change: change_name(f.change),
                delta: f.delta_bytes,
                difference: signed_size(f.delta_bytes),
            })
            .collect();
        rows.push(GroupRow {
            path: escaped(&g.path),
            delta: g.delta_bytes,
            difference: signed_size(g.delta_bytes),
            counts: [
                g.added.count,
                g.removed.count,
                g.changed.count,
                g.metadata_only.count,
            ],
            groups: sub,
            more_groups,
            files,
            more_files: g.files.len() - take,
        });
    }
    let more = groups.len() - rows.len();
    (rows, more)
}

impl ComparePage {
    fn new(c: &Comparison) -> ComparePage {
        use crate::analysis::compare::packages::PackageChangeKind as K;
        let layers = c
            .layers
            .iter()
            .map(|row| CompareLayer {
                alignment: alignment_name(row.alignment),
                a: stack_layer(row.a.as_ref()),
                b: stack_layer(row.b.as_ref()),
                delta: row.delta_bytes,
                difference: row_difference(row),
                command: escaped(
                    &row_command(row)
                        .map_or_else(|| "(no history)".to_string(), |s| short_command(s, 200)),
                ),
            })
            .collect();
        let n = |a: Alignment| c.layers.iter().filter(|r| r.alignment == a).count();
        let layers_line = format!(
            "{} shared (same diff_id), {} matched by command, {} only in A, {} only in B",
            c.shared_layers,
            n(Alignment::Matched),
            n(Alignment::OnlyA),
            n(Alignment::OnlyB)
        );
        let f = &c.files;
        let row = |name: &str, cb: &CountBytes| {
            [
                name.to_string(),
                cb.count.to_string(),
                size(cb.bytes),
                signed_size(cb.delta_bytes),
            ]
        };
        let files = vec![
            row("added", &f.added),
            row("removed", &f.removed),
            row("changed", &f.changed),
            row("metadata only", &f.metadata_only),
        ];
        let mut budget = GROUP_ROWS;
        let (groups, more_groups) = group_rows(&c.groups, 0, &mut budget);
        let pn = |k: K| c.packages.iter().filter(|p| p.change == k).count();
        let packages_line = (!c.packages.is_empty()).then(|| {
            format!(
                "{} added, {} removed, {} another version, {} other bytes: {}",
                pn(K::Added),
                pn(K::Removed),
                pn(K::Version),
                pn(K::Bytes),
                signed_size(c.packages.iter().map(|p| p.delta_bytes).sum())
            )
        });
        let packages = c
            .packages
            .iter()
            .take(ROWS)
            .map(|p| {
                let version = |v: &Option<String>| v.as_deref().unwrap_or("-").to_string();
                let versions = match p.change {
                    K::Removed => version(&p.a_version),
                    K::Version => format!("{} → {}", version(&p.a_version), version(&p.b_version)),
                    K::Added | K::Bytes => version(&p.b_version),
                };
                PackageChangeRow {
                    name: escaped(&p.name),
                    change: p.change.as_str(),
                    versions: escaped(&versions),
                    delta: p.delta_bytes,
                    difference: signed_size(p.delta_bytes),
                    build_time: p.build_time,
                }
            })
            .collect();
        let limit = c.limit.map(|l| {
            format!(
                "B may exceed A by at most {}: B {} by {}: {}",
                l.limit,
                if l.growth_bytes > 0 { "grew" } else { "shrank" },
                size(l.growth_bytes.unsigned_abs()),
                if l.exceeded { "FAIL" } else { "PASS" }
            )
        });
        ComparePage {
            kind: "compare",
            version: env!("CARGO_PKG_VERSION"),
            a: escaped(&image_line(&c.a)),
            b: escaped(&image_line(&c.b)),
            verdict: escaped(&words::verdict(&c.verdict)),
            growth: c.verdict.size.delta,
            base: c
                .base
                .as_ref()
                .map(|b| escaped(&super::compare::base_line(b, c.shared_layers))),
            totals: totals_rows(&c.totals),
            layers_line,
            layers,
            pull: pull_line(c),
            pull_bytes: c.pull.bytes,
            pull_shared_bytes: c.pull.shared_bytes,
            cache: c.cache_miss.as_ref().map(|m| escaped(&cache_line(m))),
            files_line: format!(
                "{} {}",
                f.files(),
                if f.files() == 1 { "differs" } else { "differ" }
            ),
            files,
            groups,
            more_groups,
            packages_line,
            packages,
            limit,
            limit_exceeded: c.limit.is_some_and(|l| l.exceeded),
            warnings: c.warnings.iter().map(|w| escaped(w)).collect(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Whatever a string holds, the island holds no character that could end the script
    /// element, open a comment or a tag, or end a line of JavaScript, and decodes the same.
    #[test]
    fn the_island_is_inert_in_a_script_element_and_decodes_the_same() {
        let hostile = vec![
            "</script><img src=x onerror=alert(1)>",
            "</SCRIPT >",
            "<!--<script>",
            "a\u{2028}b\u{2029}c",
            "&lt; &amp;",
            "\"quoted\" \\ back\u{0}slash",
        ];
        let json = island(&hostile).unwrap();
        for c in ['<', '>', '&', '\u{2028}', '\u{2029}', '\u{0}'] {
            assert!(!json.contains(c), "{c:?} in {json}");
        }
        let back: Vec<String> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hostile);
    }

    /// The page is the template with each part in its place, once.
    #[test]
    fn the_template_takes_each_part_once() {
        for marker in ["{{CSP}}", "{{STYLE}}", "{{DATA}}", "{{SCRIPT}}"] {
            assert_eq!(PAGE.matches(marker).count(), 1, "{marker}");
            for part in [STYLE, SCRIPT] {
                assert!(!part.contains(marker), "{marker} inside a part");
            }
        }
        let mut out = Vec::new();
        write_page(&mut out, &vec!["</script>"]).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.contains(&format!("<style>{STYLE}</style>")));
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert!(page.contains(r#"id="data">["\u003c/script\u003e"]</script>"#));
        assert!(!page.contains("{{"));
    }
}
