//! Drawing the explorer: reads `&App`, changes nothing, and touches only the rows on screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::state::{App, Content, History, InputKind, Pane, Popup};
use crate::layer::Kind;
use crate::overlay::{Change, Meta};
use crate::report::escape::{self, text};
use crate::report::layer_command;
use crate::tui::tree::{self, LEGEND, Mode, Row, Sort};
use crate::tui::widgets::help::Help;
use crate::tui::widgets::list::{self, Highlight, List, ListState};
use crate::tui::widgets::popup::Popup as PopupBox;
use crate::tui::widgets::status_bar::{self, StatusBar};
use crate::tui::widgets::{block, loading};
use crate::units::{percent, size};

/// `path` in at most `width` columns: whole if it fits, else its last components behind
/// `…/`, so that the file name stays; a name wider than that keeps its end.
fn fit_path(path: &str, width: usize) -> String {
    let cols = |s: &str| Span::raw(s).width();
    if cols(path) <= width {
        return path.to_string();
    }
    // The longest tail from a `/` that fits beside the `…` (one column).
    if let Some((i, _)) = path
        .match_indices('/')
        .find(|&(i, _)| cols(&path[i..]) < width)
    {
        return format!("…{}", &path[i..]);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 1;
    for c in path.chars().rev() {
        let w = cols(c.encode_utf8(&mut [0; 4]));
        if used + w > width {
            break;
        }
        used += w;
        tail.push(c);
    }
    let tail: String = tail.into_iter().rev().collect();
    format!("…{tail}")
}

fn diff_style(d: Change) -> Style {
    match d {
        Change::Added => Style::new().fg(Color::Green),
        Change::Modified => Style::new().fg(Color::Yellow),
        Change::Metadata => Style::new().fg(Color::Cyan),
        Change::Removed => Style::new().fg(Color::Red),
        Change::Unchanged => Style::new(),
    }
}

/// Draws the whole explorer.
pub fn draw(frame: &mut Frame, app: &App) {
    let a = &app.areas();
    draw_layers(frame, app, a.layers);
    if a.details.height > 0 {
        draw_details(frame, app, a.details);
    }
    if a.image.height > 0 {
        draw_image(frame, app, a.image);
    }
    draw_wasted(frame, app, a.wasted);
    draw_tree(frame, app, a.tree);
    draw_status(frame, app, a.status);
    let area = frame.area();
    match app.popup() {
        Some(Popup::Help) => {
            frame.render_widget(Help::new(app.keymap(), app.help_scroll()), area);
        }
        Some(Popup::History(history)) => draw_history(frame, history),
        Some(Popup::ConfirmOverwrite(path)) => {
            let text = vec![
                Line::from(format!("{} exists.", text(&path.display().to_string()))),
                Line::from("Overwrite it? y / n"),
            ];
            frame.render_widget(PopupBox::new("Export", text, 60).height(4), area);
        }
        Some(Popup::Packages(list)) => draw_packages(frame, app, *list),
        Some(Popup::Findings(list)) => draw_findings(frame, app, *list),
        None => {}
    }
}

fn draw_layers(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus() == Pane::Layers;
    let layers = &app.analysis().layers;
    // The bars draw the Size column beside them (what each layer ships), not the tar's size,
    // which counts headers and padding: a layer of symlinks ships nothing and has no bar.
    let max = layers
        .iter()
        .map(|l| l.shipped_bytes)
        .max()
        .unwrap_or(1)
        .max(1);
    let row = |i: usize| {
        let l = &layers[i];
        let bar_len = (u128::from(l.shipped_bytes) * 8).div_ceil(u128::from(max)) as usize;
        let bar: String = "█".repeat(bar_len.min(8));
        let cmd = layer_command(l, 200);
        let cmd = text(&cmd).into_owned();
        let wasted = if l.wasted_bytes + l.hidden_lower_bytes > 0 {
            Span::styled("▲", Style::new().fg(Color::Red))
        } else {
            Span::raw(" ")
        };
        Line::from(vec![
            Span::raw(format!("{:>3} {:>10} ", l.index, size(l.shipped_bytes))),
            Span::styled(format!("{bar:<8}"), Style::new().fg(Color::Blue)),
            wasted,
            Span::raw(cmd),
        ])
    };
    let list = List::new(
        block(" Layers ".into(), focused),
        focused,
        layers.len(),
        app.layers(),
        row,
    )
    .header(Line::from(format!("{:>3} {:>10} {:<8} {}", "#", "Size", "", "Command")).bold())
    // Unfocused, the selected layer stays marked: it is the one the tree shows.
    .highlight(Highlight::Always(
        Style::new()
            .add_modifier(Modifier::BOLD)
            .fg(Color::LightBlue),
    ));
    frame.render_widget(list, area);
}

fn draw_details(frame: &mut Frame, app: &App, area: Rect) {
    let b = block(" Layer details ".into(), false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let Some(l) = app.analysis().layers.get(app.layers().selected) else {
        return;
    };
    let short = |d: &Option<String>| {
        d.as_deref().map_or("-".to_string(), |d| {
            text(&d.chars().take(7 + 12).collect::<String>()).into_owned()
        })
    };
    let compression = match l.compression {
        // The blob is the tar itself: its size counts headers and padding, no compression.
        crate::layer::Compression::None => "stored as tar",
        crate::layer::Compression::Gzip => "gzip",
        crate::layer::Compression::Zstd => "zstd",
    };
    // The packages it shipped most bytes for, before the command (which wraps).
    let packages = (!l.packages.is_empty()).then(|| {
        let top: Vec<String> = l
            .packages
            .iter()
            .take(3)
            .map(|p| format!("{} {}", text(&p.name), size(p.bytes)))
            .collect();
        let more = l.packages.len().saturating_sub(3);
        let more = if more > 0 {
            format!(", {more} more")
        } else {
            String::new()
        };
        Line::from(format!("Packages: {}{more}", top.join(", ")))
    });
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("+{} add", l.added), diff_style(Change::Added)),
            Span::raw(" "),
            Span::styled(format!("~{} mod", l.modified), diff_style(Change::Modified)),
            Span::raw(" "),
            Span::styled(
                format!("≈{} meta", l.metadata_only),
                diff_style(Change::Metadata),
            ),
            Span::raw(" "),
            Span::styled(format!("-{} del", l.removed), diff_style(Change::Removed)),
        ]),
        Line::from(format!(
            "Size {}, {} {compression}",
            size(l.shipped_bytes),
            size(l.compressed_bytes),
        )),
        Line::from(format!(
            "Wastes {}, hides {}",
            size(l.wasted_bytes),
            size(l.hidden_lower_bytes)
        )),
        Line::from(format!("Digest {}", short(&l.digest))),
        Line::from(format!("DiffID {}", short(&l.diff_id))),
    ];
    if let Some(s) = &l.source {
        let name = std::path::Path::new(&s.file)
            .file_name()
            .map_or_else(|| s.file.clone(), |n| n.to_string_lossy().into_owned());
        let lines_of = if s.end_line > s.line {
            format!("{}-{}", s.line, s.end_line)
        } else {
            s.line.to_string()
        };
        let base = if l.base == Some(true) {
            ", the base image"
        } else {
            ""
        };
        lines.push(Line::from(format!(
            "Line {}:{lines_of}, stage {}{base}",
            text(&name),
            text(&s.stage),
        )));
    }
    lines.extend(packages);
    lines.push(Line::from(format!(
        "Command: {}",
        text(l.created_by.as_deref().unwrap_or("(no history)").trim())
    )));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_image(frame: &mut Frame, app: &App, area: Rect) {
    let b = block(" Image details ".into(), false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let a = app.analysis();
    let c = &a.waste.by_cause;
    let lines = vec![
        Line::from(format!(
            "Efficiency {}  Total {} ({} {})",
            percent(a.waste.efficiency),
            size(a.image.shipped_bytes),
            size(a.image.compressed_bytes),
            crate::report::stored_name(&a.image),
        )),
        Line::from(format!(
            "Wasted {}: deleted {}, overwritten {}, metadata {}",
            size(a.waste.wasted_bytes),
            size(c.deleted),
            size(c.overwritten),
            size(c.metadata_only)
        )),
        Line::from(format!(
            "dive 0.13: efficiency {}, wasted {}",
            percent(a.dive.efficiency),
            size(a.dive.wasted_bytes)
        ))
        .dim(),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_wasted(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus() == Pane::Wasted;
    let waste = &app.analysis().waste;
    let inner = list::inner(area);
    // Narrow (under 52 columns: 24 for the path beside the wide columns), the causes are
    // shortened and the layers left to the history (H) and the jump (enter).
    let narrow = inner.width < 52;
    let header = if narrow {
        Line::from(format!("{:>9} {:<5} Path", "Wasted", "Cause"))
    } else {
        Line::from(format!(
            "{:>10} {:<9} {:<6} Path",
            "Wasted", "Cause", "Layers"
        ))
    }
    .bold();
    let row = |i: usize| {
        let p = &waste.paths[i];
        let (cause, short) = match p.cause {
            crate::analysis::Cause::Deleted => ("deleted", "del"),
            crate::analysis::Cause::Overwritten => ("overwrite", "over"),
            crate::analysis::Cause::MetadataOnly => ("metadata", "meta"),
        };
        let prefix = if narrow {
            format!("{:>9} {short:<5} ", size(p.wasted_bytes))
        } else {
            let layers: Vec<String> = p.layers.iter().map(ToString::to_string).collect();
            format!(
                "{:>10} {cause:<9} {:<6} ",
                size(p.wasted_bytes),
                layers.join(",")
            )
        };
        let room = usize::from(inner.width).saturating_sub(Span::raw(&prefix).width());
        Line::from(format!("{prefix}{}", fit_path(&text(&p.path), room)))
    };
    let title = format!(" Wasted paths ({}) ", waste.paths_total);
    let list = List::new(
        block(title, focused),
        focused,
        waste.paths.len(),
        app.wasted(),
        row,
    )
    .header(header);
    frame.render_widget(list, area);
}

fn mode_string(meta: &Meta) -> String {
    let mut s = String::with_capacity(10);
    s.push(meta.kind.letter());
    let m = meta.mode;
    for (shift, special, special_char) in [(6, 0o4000, 's'), (3, 0o2000, 's'), (0, 0o1000, 't')] {
        let bits = (m >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        let x = bits & 1 != 0;
        s.push(match (m & special != 0, x) {
            (true, true) => special_char,
            (true, false) => special_char.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// Room for the owner column.
fn wide_tree(app: &App) -> bool {
    app.areas().tree.width >= 70
}

fn tree_line(app: &App, row: &Row) -> Line<'static> {
    let fs = &app.loaded().fs;
    let meta = app.tree().meta(fs, row.node);
    let mut spans = Vec::new();
    if app.show_attributes() {
        let (mode, owner) = meta.map_or_else(
            || ("----------".to_string(), String::new()),
            |m| (mode_string(&m), format!("{}:{}", m.uid, m.gid)),
        );
        if wide_tree(app) {
            spans.push(Span::raw(format!(
                "{mode} {owner:>9} {:>9}  ",
                size(row.size)
            )));
        } else {
            spans.push(Span::raw(format!("{mode} {:>9} ", size(row.size))));
        }
    }
    let mut prefix = String::new();
    for d in 0..row.depth {
        let bit = u64::from(d).min(63);
        prefix.push_str(if row.guides & (1 << bit) != 0 {
            "│   "
        } else {
            "    "
        });
    }
    prefix.push_str(if row.last { "└── " } else { "├── " });
    spans.push(Span::raw(prefix));
    let name = escape::bytes(fs.name(row.node));
    let mut style = diff_style(row.diff);
    if row.matched {
        style = style.add_modifier(Modifier::UNDERLINED);
    }
    let mut shown = name;
    if row.is_dir && row.collapsed {
        shown.push_str(" ⊕");
    }
    spans.push(Span::styled(shown, style));
    if let Some(m) = meta {
        if m.kind == Kind::Symlink
            && let Some(t) = fs.link_target(&m)
        {
            spans.push(Span::raw(format!(" → {}", escape::bytes(t))));
        }
        if m.hardlink {
            spans.push(Span::raw(" (hard link)").dim());
        }
    }
    // The owner column: the package whose records list the file.
    if wide_tree(app)
        && let Some(p) = app.analysis().owner(row.node)
    {
        spans.push(Span::raw(format!("  ‹{}›", text(&p.name))).dim());
    }
    Line::from(spans)
}

fn draw_tree(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus() == Pane::Tree;
    let tree = app.tree();
    let opts = &tree.options;
    let mode = match opts.mode {
        Mode::Layer => format!("layer {} changes", opts.layer),
        Mode::Aggregated => format!("merged as of layer {}", opts.layer),
    };
    let sort = match opts.sort {
        Sort::Name => "",
        Sort::SizeDesc => ", by size",
    };
    let mut legend = vec![Span::raw(" ")];
    for (i, d) in LEGEND.iter().enumerate() {
        let mut st = diff_style(*d);
        if opts.hidden[i] {
            st = st.add_modifier(Modifier::CROSSED_OUT).dim();
        }
        legend.push(Span::styled(tree::label(*d), st));
        legend.push(Span::raw(" "));
    }
    let filter = if app.filter_text().is_empty() {
        String::new()
    } else if app.filter_error().is_some() {
        format!(" — filter \"{}\" does not compile", text(app.filter_text()))
    } else {
        format!(
            " — filter \"{}\": {} matches",
            text(app.filter_text()),
            tree.match_count
        )
    };
    let b =
        block(format!(" Files — {mode}{sort}{filter} "), focused).title_bottom(Line::from(legend));
    let mut header = Vec::new();
    if app.show_attributes() {
        let cols = if wide_tree(app) {
            format!("{:<10} {:>9} {:>9}  ", "Permission", "UID:GID", "Size")
        } else {
            format!("{:<10} {:>9} ", "Permission", "Size")
        };
        header.push(Span::raw(cols).bold());
    }
    header.push(Span::raw("Name").bold());
    let list = List::new(b, focused, tree.rows.len(), app.rows(), |i| {
        tree_line(app, &tree.rows[i])
    })
    .header(Line::from(header))
    .empty(Line::from("(nothing to show: no changes, or everything is filtered)").dim());
    frame.render_widget(list, area);
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let line = if let Some(input) = app.input() {
        // The filter's count as it is typed, or why it is no filter (a regex that does not
        // compile), so the count of the last good one never stands for it.
        let extra = match (&input.kind, app.filter_error()) {
            (InputKind::Filter, Some(e)) => {
                Span::styled(format!("  {}", text(e)), Style::new().fg(Color::LightRed))
            }
            (InputKind::Filter, None) => {
                Span::raw(format!("  {} matches", app.tree().match_count)).dim()
            }
            (InputKind::Export, _) => Span::raw(""),
        };
        let label = match input.kind {
            InputKind::Filter => "Filter (re: for regex)",
            InputKind::Export => "Export to directory",
        };
        Line::from(vec![
            Span::styled(format!("{label}: "), Style::new().bold()),
            Span::raw(format!("{}█", text(&input.text))),
            extra,
        ])
    } else if let Some(x) = app.exporting() {
        Line::from(format!(
            "exporting {}: {} of {}",
            text(&x.shown.display().to_string()),
            size(x.written()),
            size(x.total)
        ))
        .fg(Color::Yellow)
    } else if let Some(msg) = app.message() {
        Line::from(text(msg).into_owned()).fg(Color::Yellow)
    } else {
        let mut spans = status_bar::hints(app.keymap(), app.focus().bar());
        if !app.filter_text().is_empty() {
            spans.push(Span::styled(
                format!(
                    "filter: {} ({} matches)",
                    text(app.filter_text()),
                    app.tree().match_count
                ),
                Style::new().fg(Color::Yellow),
            ));
        }
        Line::from(spans)
    };
    frame.render_widget(StatusBar::new(line), area);
}

fn draw_history(frame: &mut Frame, history: &History) {
    let mut lines = vec![Line::from(text(&history.path).into_owned()).bold()];
    lines.push(
        Line::from(format!(
            "{:>5}  {:<10} {:>10}  {}",
            "Layer", "Change", "Size", "State"
        ))
        .bold(),
    );
    for row in &history.rows {
        let detail = row.state.map_or_else(
            || "gone".to_string(),
            |m| {
                let mut d = format!("{} {}:{}", mode_string(&m), m.uid, m.gid);
                match row.content {
                    Some(Content::Visible) => d.push_str("  visible"),
                    Some(Content::Wasted(cause)) => {
                        d.push_str(&format!("  wasted ({})", cause.as_str()));
                    }
                    None => {}
                }
                d
            },
        );
        lines.push(Line::from(vec![
            Span::raw(format!("{:>5}  ", row.layer)),
            Span::styled(
                format!("{:<10}", tree::label(row.change)),
                diff_style(row.change),
            ),
            Span::raw(format!(
                " {:>10}  {detail}",
                row.state.map_or(String::new(), |m| size(m.size))
            )),
        ]));
    }
    frame.render_widget(PopupBox::new("History", lines, 76), frame.area());
}

/// The packages, largest first, over the panes: the selected one's files are what enter
/// shows.
fn draw_packages(frame: &mut Frame, app: &App, state: ListState) {
    let packages = &app.analysis().packages;
    let rows = u16::try_from(app.packages_height().min(packages.len())).unwrap_or(u16::MAX);
    let area = PopupBox::area(frame.area(), 96, rows.saturating_add(1));
    let row = |i: usize| {
        let p = &packages[i];
        let mut name = format!("{} {}", text(&p.name), text(&p.version));
        if p.build_time {
            name.push_str("  (build-time)");
        }
        Line::from(format!(
            "{:>10} {:>10} {:>5}  {:<6} {name}",
            size(p.visible_bytes),
            size(p.wasted_bytes),
            p.layer.map_or_else(|| "—".into(), |k| k.to_string()),
            p.manager.as_str(),
        ))
    };
    let title = format!(" Packages ({}): enter shows its files ", packages.len());
    let list = List::new(block(title, true), true, packages.len(), state, row).header(
        Line::from(format!(
            "{:>10} {:>10} {:>5}  {:<6} {}",
            "Size", "Wasted", "Layer", "From", "Package"
        ))
        .bold(),
    );
    frame.render_widget(ratatui::widgets::Clear, area);
    frame.render_widget(list, area);
}

/// The findings, most severe first: enter shows the selected one's layer and paths.
fn draw_findings(frame: &mut Frame, app: &App, state: ListState) {
    let findings = app.findings();
    let rows = u16::try_from(app.packages_height().min(findings.len())).unwrap_or(u16::MAX);
    let area = PopupBox::area(frame.area(), 120, rows.saturating_add(1));
    let row = |i: usize| {
        let (f, sentence) = &findings[i];
        let style = match f.severity {
            crate::analysis::Severity::Error => Style::new().fg(Color::Red),
            crate::analysis::Severity::Warning => Style::new().fg(Color::Yellow),
            crate::analysis::Severity::Note => Style::new(),
        };
        let bytes = if f.bytes > 0 {
            size(f.bytes)
        } else {
            String::new()
        };
        Line::from(vec![
            Span::styled(format!("{:<8}", f.severity.as_str()), style),
            Span::raw(format!(
                "{bytes:>10}  {:<16} {}",
                f.kind.id(),
                text(sentence)
            )),
        ])
    };
    let title = format!(" Findings ({}): enter shows where ", findings.len());
    let list = List::new(block(title, true), true, findings.len(), state, row).header(
        Line::from(format!(
            "{:<8}{:>10}  {:<16} {}",
            "Severity", "Bytes", "Id", "What to change"
        ))
        .bold(),
    );
    frame.render_widget(ratatui::widgets::Clear, area);
    frame.render_widget(list, area);
}

/// The first frame while layers are read.
pub fn draw_loading(frame: &mut Frame, side: &loading::Side<'_>) {
    frame.render_widget(loading::Loading::one(side), frame.area());
}

#[cfg(test)]
mod tests {
    use super::fit_path;

    #[test]
    fn a_path_too_wide_keeps_its_last_components() {
        let p = "/app/recreate/old2.txt";
        assert_eq!(fit_path(p, 40), p);
        assert_eq!(fit_path(p, p.len()), p);
        // "…/recreate/old2.txt" is 19 columns.
        assert_eq!(fit_path(p, 19), "…/recreate/old2.txt");
        assert_eq!(fit_path(p, 18), "…/old2.txt");
        // A name wider than the room keeps its end, the extension with it.
        let long = "/app/a-name-much-longer-than-the-room.txt";
        let cut = fit_path(long, 12);
        assert_eq!(cut, format!("…{}", &long[long.len() - 11..]));
        // Wide characters count two columns.
        assert_eq!(fit_path("/dir/文件.txt", 10), "…/文件.txt");
    }
}
