//! Drawing: reads `&App`, changes nothing, and touches only the rows on screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::app::{App, InputKind, Pane, Popup};
use super::keymap::Action;
use super::tree::{Diff, Mode, Row, Sort};
use crate::layer::Kind;
use crate::overlay::{Change, Meta};
use crate::report::escape::{self, text};
use crate::report::{percent, short_command, size};

/// Splits the screen: layers, layer details, image and wasted paths on the left; the tree on
/// the right; one status line at the bottom.
pub fn areas(size: Rect) -> super::app::Areas {
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(size);
    let left_width = (size.width * 2 / 5).clamp(34.min(size.width), 90);
    let [left, tree] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(10)]).areas(main);
    // Small terminals get shorter detail panes so the lists keep some rows.
    let (details_h, image_h) = if size.height < 32 { (7, 4) } else { (9, 5) };
    let [layers, details, image, wasted] = Layout::vertical([
        Constraint::Percentage(35),
        Constraint::Length(details_h),
        Constraint::Length(image_h),
        Constraint::Min(4),
    ])
    .areas(left);
    super::app::Areas {
        layers,
        details,
        image,
        wasted,
        tree,
        status,
    }
}

fn diff_style(d: Diff) -> Style {
    match d {
        Diff::Added => Style::new().fg(Color::Green),
        Diff::Modified => Style::new().fg(Color::Yellow),
        Diff::Metadata => Style::new().fg(Color::Cyan),
        Diff::Removed => Style::new().fg(Color::Red),
        Diff::Unchanged => Style::new(),
    }
}

pub(crate) fn block(title: String, focused: bool) -> Block<'static> {
    let style = if focused {
        Style::new()
            .fg(Color::LightBlue)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    Block::new()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(title, style))
}

/// Draws the whole explorer.
pub fn draw(frame: &mut Frame, app: &App) {
    let a = &app.areas;
    draw_layers(frame, app, a.layers);
    draw_details(frame, app, a.details);
    draw_image(frame, app, a.image);
    draw_wasted(frame, app, a.wasted);
    draw_tree(frame, app, a.tree);
    draw_status(frame, app, a.status);
    match &app.popup {
        Some(Popup::Help) => draw_help(frame, app),
        Some(Popup::History(node)) => draw_history(frame, app, *node),
        Some(Popup::ConfirmOverwrite(path)) => {
            let text = vec![
                Line::from(format!("{} exists.", text(&path.display().to_string()))),
                Line::from("Overwrite it? y / n"),
            ];
            popup(frame, "Export", text, 60, 4);
        }
        None => {}
    }
}

fn draw_layers(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Pane::Layers;
    let b = block(" Layers ".into(), focused);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    // The bars draw the Size column beside them (what each layer ships), not the tar's size,
    // which counts headers and padding: a layer of symlinks ships nothing and has no bar.
    let max = app
        .analysis
        .layers
        .iter()
        .map(|l| l.shipped_bytes)
        .max()
        .unwrap_or(1)
        .max(1);
    let mut lines =
        vec![Line::from(format!("{:>3} {:>10} {:<8} {}", "#", "Size", "", "Command")).bold()];
    let height = usize::from(inner.height.saturating_sub(1));
    for l in app
        .analysis
        .layers
        .iter()
        .skip(app.layers.offset)
        .take(height)
    {
        let bar_len = (u128::from(l.shipped_bytes) * 8).div_ceil(u128::from(max)) as usize;
        let bar: String = "█".repeat(bar_len.min(8));
        let cmd = l
            .created_by
            .as_deref()
            .map_or_else(|| "(no history)".to_string(), |c| short_command(c, 200));
        let cmd = text(&cmd).into_owned();
        let mut style = Style::new();
        if l.index == app.layers.selected {
            style = style.add_modifier(Modifier::REVERSED);
            if !focused {
                style = Style::new()
                    .add_modifier(Modifier::BOLD)
                    .fg(Color::LightBlue);
            }
        }
        let wasted = if l.wasted_bytes + l.hidden_lower_bytes > 0 {
            Span::styled("▲", Style::new().fg(Color::Red))
        } else {
            Span::raw(" ")
        };
        lines.push(
            Line::from(vec![
                Span::raw(format!("{:>3} {:>10} ", l.index, size(l.shipped_bytes))),
                Span::styled(format!("{bar:<8}"), Style::new().fg(Color::Blue)),
                wasted,
                Span::raw(cmd),
            ])
            .style(style),
        );
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn draw_details(frame: &mut Frame, app: &App, area: Rect) {
    let b = block(" Layer details ".into(), false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let Some(l) = app.analysis.layers.get(app.layers.selected) else {
        return;
    };
    let short = |d: &Option<String>| {
        d.as_deref().map_or("-".to_string(), |d| {
            text(&d.chars().take(7 + 12).collect::<String>()).into_owned()
        })
    };
    let compression = match l.compression {
        crate::layer::Compression::None => "uncompressed",
        crate::layer::Compression::Gzip => "gzip",
        crate::layer::Compression::Zstd => "zstd",
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(format!("+{} add", l.added), diff_style(Diff::Added)),
            Span::raw(" "),
            Span::styled(format!("~{} mod", l.modified), diff_style(Diff::Modified)),
            Span::raw(" "),
            Span::styled(
                format!("≈{} meta", l.metadata_only),
                diff_style(Diff::Metadata),
            ),
            Span::raw(" "),
            Span::styled(format!("-{} del", l.removed), diff_style(Diff::Removed)),
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
        Line::from(format!(
            "Command: {}",
            text(l.created_by.as_deref().unwrap_or("(no history)").trim())
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_image(frame: &mut Frame, app: &App, area: Rect) {
    let b = block(" Image details ".into(), false);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let a = &app.analysis;
    let c = &a.waste.by_cause;
    let lines = vec![
        Line::from(format!(
            "Efficiency {}  Total {} ({} compressed)",
            percent(a.waste.efficiency),
            size(a.image.shipped_bytes),
            size(a.image.compressed_bytes),
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
    let focused = app.focus == Pane::Wasted;
    let total = app.analysis.waste.paths_total;
    let b = block(format!(" Wasted paths ({total}) "), focused);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let mut lines = vec![
        Line::from(format!(
            "{:>10} {:<9} {:<6} Path",
            "Wasted", "Cause", "Layers"
        ))
        .bold(),
    ];
    let height = usize::from(inner.height.saturating_sub(1));
    for (i, p) in app
        .analysis
        .waste
        .paths
        .iter()
        .enumerate()
        .skip(app.wasted.offset)
        .take(height)
    {
        let cause = match p.cause {
            crate::analysis::Cause::Deleted => "deleted",
            crate::analysis::Cause::Overwritten => "overwrite",
            crate::analysis::Cause::MetadataOnly => "metadata",
        };
        let layers: Vec<String> = p.layers.iter().map(ToString::to_string).collect();
        let mut line = Line::from(format!(
            "{:>10} {:<9} {:<6} {}",
            size(p.wasted_bytes),
            cause,
            layers.join(","),
            text(&p.path)
        ));
        if i == app.wasted.selected && focused {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
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
    app.areas.tree.width >= 70
}

fn tree_line(app: &App, row: &Row) -> Line<'static> {
    let fs = &app.loaded.fs;
    let meta = app.tree.meta(fs, row.node);
    let mut spans = Vec::new();
    if app.show_attributes {
        let (mode, owner) = meta.map_or_else(
            || ("----------".to_string(), String::new()),
            |m| (mode_string(m), format!("{}:{}", m.uid, m.gid)),
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
            && let Some(t) = fs.link_target(m)
        {
            spans.push(Span::raw(format!(" → {}", escape::bytes(t))));
        }
        if m.hardlink {
            spans.push(Span::raw(" (hard link)").dim());
        }
    }
    Line::from(spans)
}

fn draw_tree(frame: &mut Frame, app: &App, area: Rect) {
    let focused = app.focus == Pane::Tree;
    let opts = &app.tree.options;
    let mode = match opts.mode {
        Mode::Layer => format!("layer {} changes", opts.layer),
        Mode::Aggregated => format!("merged as of layer {}", opts.layer),
    };
    let sort = match opts.sort {
        Sort::Name => "",
        Sort::SizeDesc => ", by size",
    };
    let mut legend = vec![Span::raw(" ")];
    for (i, d) in Diff::ALL.iter().enumerate() {
        let mut st = diff_style(*d);
        if opts.hidden[i] {
            st = st.add_modifier(Modifier::CROSSED_OUT).dim();
        }
        legend.push(Span::styled(d.label(), st));
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
            app.tree.match_count
        )
    };
    let b =
        block(format!(" Files — {mode}{sort}{filter} "), focused).title_bottom(Line::from(legend));
    let inner = b.inner(area);
    frame.render_widget(b, area);
    let mut header = Vec::new();
    if app.show_attributes {
        let cols = if wide_tree(app) {
            format!("{:<10} {:>9} {:>9}  ", "Permission", "UID:GID", "Size")
        } else {
            format!("{:<10} {:>9} ", "Permission", "Size")
        };
        header.push(Span::raw(cols).bold());
    }
    header.push(Span::raw("Name").bold());
    let mut lines = vec![Line::from(header)];
    let height = usize::from(inner.height.saturating_sub(1));
    for (i, row) in app
        .tree
        .rows
        .iter()
        .enumerate()
        .skip(app.rows.offset)
        .take(height)
    {
        let mut line = tree_line(app, row);
        if i == app.rows.selected && focused {
            line = line.style(Style::new().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    if app.tree.rows.is_empty() {
        lines.push(Line::from("(nothing to show: no changes, or everything is filtered)").dim());
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The keys that matter in the focused pane, from the keymap.
fn status_keys(app: &App) -> Vec<(String, &'static str)> {
    let ctx = app.focus.context();
    let wanted: &[(Action, &str)] = match app.focus {
        Pane::Layers => &[
            (Action::SwitchPane, "pane"),
            (Action::ShowLayer, "layer changes"),
            (Action::ShowAggregated, "aggregated"),
            (Action::Filter, "filter"),
        ],
        Pane::Wasted => &[
            (Action::SwitchPane, "pane"),
            (Action::Jump, "jump"),
            (Action::History, "history"),
        ],
        Pane::Tree => &[
            (Action::SwitchPane, "pane"),
            (Action::ToggleCollapse, "collapse"),
            (Action::ToggleCollapseAll, "all"),
            (Action::ToggleSort, "sort"),
            (Action::HideAdded, "added"),
            (Action::HideRemoved, "removed"),
            (Action::HideModified, "modified"),
            (Action::HideUnmodified, "unmodified"),
            (Action::Filter, "filter"),
            (Action::Export, "export"),
        ],
    };
    let mut out = Vec::new();
    for &(action, label) in wanted
        .iter()
        .chain(&[(Action::Help, "help"), (Action::Quit, "quit")])
    {
        if let Some(k) = app.keymap.first_key(ctx, action) {
            out.push((k.to_string(), label));
        }
    }
    out
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let line = if let Some(input) = &app.input {
        // The filter's count as it is typed, or why it is no filter (a regex that does not
        // compile), so the count of the last good one never stands for it.
        let extra = match (&input.kind, app.filter_error()) {
            (InputKind::Filter, Some(e)) => {
                Span::styled(format!("  {}", text(e)), Style::new().fg(Color::LightRed))
            }
            (InputKind::Filter, None) => {
                Span::raw(format!("  {} matches", app.tree.match_count)).dim()
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
    } else if let Some(x) = &app.exporting {
        Line::from(format!(
            "exporting {}: {} of {}",
            text(&x.shown.display().to_string()),
            size(x.written()),
            size(x.total)
        ))
        .fg(Color::Yellow)
    } else if let Some(msg) = &app.message {
        Line::from(text(msg).into_owned()).fg(Color::Yellow)
    } else {
        let mut spans = Vec::new();
        for (key, label) in status_keys(app) {
            spans.push(Span::styled(key, Style::new().bold()));
            spans.push(Span::raw(format!(" {label}  ")));
        }
        if !app.filter_text().is_empty() {
            spans.push(Span::styled(
                format!(
                    "filter: {} ({} matches)",
                    text(app.filter_text()),
                    app.tree.match_count
                ),
                Style::new().fg(Color::Yellow),
            ));
        }
        Line::from(spans)
    };
    frame.render_widget(
        Paragraph::new(line).style(Style::new().bg(Color::DarkGray)),
        area,
    );
}

fn popup(frame: &mut Frame, title: &str, lines: Vec<Line<'static>>, width: u16, height: u16) {
    let area = frame.area();
    let w = width.min(area.width.saturating_sub(2)).max(10);
    let h = (height + 2).min(area.height.saturating_sub(2)).max(3);
    let rect = Rect {
        x: area.x + (area.width.saturating_sub(w)) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    let b = block(format!(" {title} "), true);
    frame.render_widget(
        Paragraph::new(lines).block(b).wrap(Wrap { trim: false }),
        rect,
    );
}

fn draw_help(frame: &mut Frame, app: &App) {
    // One line per binding group, laid out in as many columns as the screen needs.
    let mut items: Vec<Line<'static>> = Vec::new();
    let mut last_ctx = None;
    for (ctx, action, keys) in app.keymap.entries() {
        if last_ctx != Some(ctx) {
            items.push(Line::from(format!("[{}]", ctx.name())).bold());
            last_ctx = Some(ctx);
        }
        let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        items.push(Line::from(vec![
            Span::styled(
                format!("{:<13}", text(&keys.join(", "))),
                Style::new().bold(),
            ),
            Span::raw(format!(" {}", action.describe())),
        ]));
    }
    let area = frame.area();
    let rect = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    frame.render_widget(Clear, rect);
    let b = block(
        " Keys — any key closes; ~/.config/strata/keys.conf ".into(),
        true,
    );
    let inner = b.inner(rect);
    frame.render_widget(b, rect);
    let rows = usize::from(inner.height).max(1);
    let columns = items.len().div_ceil(rows).max(1);
    let width = inner.width / columns as u16;
    for (c, chunk) in items.chunks(rows).enumerate() {
        let col = Rect {
            x: inner.x + width * c as u16,
            y: inner.y,
            width,
            height: inner.height,
        };
        frame.render_widget(Paragraph::new(chunk.to_vec()), col);
    }
}

fn draw_history(frame: &mut Frame, app: &App, node: crate::overlay::NodeId) {
    let fs = &app.loaded.fs;
    let mut lines = vec![Line::from(text(&fs.path(node)).into_owned()).bold()];
    lines.push(
        Line::from(format!(
            "{:>5}  {:<10} {:>10}  {}",
            "Layer", "Change", "Size", "State"
        ))
        .bold(),
    );
    for e in fs.events(node) {
        let change = match e.change {
            Change::Added => Diff::Added,
            Change::Modified => Diff::Modified,
            Change::Metadata => Diff::Metadata,
            Change::Removed => Diff::Removed,
            Change::Unchanged => Diff::Unchanged,
        };
        let state = fs.event_state(e);
        let detail = state.map_or_else(
            || "gone".to_string(),
            |m| {
                let mut d = format!("{} {}:{}", mode_string(m), m.uid, m.gid);
                if let Some(o) = m.object() {
                    let obj = fs.object(o);
                    if obj.visible() {
                        d.push_str("  visible");
                    } else {
                        let cause = crate::analysis::waste::cause_of(fs, obj);
                        d.push_str(&format!("  wasted ({})", cause.as_str()));
                    }
                }
                d
            },
        );
        lines.push(Line::from(vec![
            Span::raw(format!("{:>5}  ", e.layer)),
            Span::styled(format!("{:<10}", change.label()), diff_style(change)),
            Span::raw(format!(
                " {:>10}  {detail}",
                state.map_or(String::new(), |m| size(m.size))
            )),
        ]));
    }
    let h = lines.len() as u16;
    popup(frame, "History", lines, 76, h);
}

/// The first frame while layers are read.
pub fn draw_loading(
    frame: &mut Frame,
    source: &str,
    done: u64,
    total: u64,
    layers: (usize, usize),
) {
    let area = frame.area();
    let [_, mid, _] = Layout::vertical([
        Constraint::Percentage(40),
        Constraint::Length(4),
        Constraint::Min(0),
    ])
    .areas(area);
    let ratio = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let gauge = Gauge::default()
        .block(block(format!(" Reading {} ", text(source)), true))
        .gauge_style(Style::new().fg(Color::LightBlue))
        .ratio(ratio)
        .label(format!(
            "{} of {} — layer {} of {}",
            size(done),
            size(total),
            layers.0,
            layers.1
        ));
    frame.render_widget(gauge, mid);
}
