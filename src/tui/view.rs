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
use crate::report::short_command;
use crate::units::{percent, size};

/// Splits the screen: layers, layer details, image and wasted paths on the left; the tree on
/// the right; one status line at the bottom. On a short screen (under 32 rows) the wasted
/// list, focused and holding more paths than it shows, takes the room of the two details
/// panes (which show nothing about the selected path): at 80x24, 12 paths instead of 1.
pub fn areas(size: Rect, wasted_focused: bool, wasted_paths: usize) -> super::app::Areas {
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(size);
    let left_width = (size.width * 2 / 5).clamp(34.min(size.width), 90);
    let [left, tree] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(10)]).areas(main);
    let short = size.height < 32;
    // Small terminals get shorter detail panes so the lists keep some rows.
    let (details_h, image_h) = if short { (7, 4) } else { (9, 5) };
    let [layers, details, image, wasted] = Layout::vertical([
        Constraint::Percentage(35),
        Constraint::Length(details_h),
        Constraint::Length(image_h),
        Constraint::Min(4),
    ])
    .areas(left);
    let fits = wasted_paths <= usize::from(wasted.height.saturating_sub(3));
    let (details, image, wasted) = if short && wasted_focused && !fits {
        let [_, wasted] =
            Layout::vertical([Constraint::Percentage(35), Constraint::Min(4)]).areas(left);
        let folded = Rect::new(wasted.x, wasted.y, wasted.width, 0);
        (folded, folded, wasted)
    } else {
        (details, image, wasted)
    };
    super::app::Areas {
        layers,
        details,
        image,
        wasted,
        tree,
        status,
    }
}

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
    if a.details.height > 0 {
        draw_details(frame, app, a.details);
    }
    if a.image.height > 0 {
        draw_image(frame, app, a.image);
    }
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
        // The blob is the tar itself: its size counts headers and padding, no compression.
        crate::layer::Compression::None => "stored as tar",
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
    let focused = app.focus == Pane::Wasted;
    let total = app.analysis.waste.paths_total;
    let b = block(format!(" Wasted paths ({total}) "), focused);
    let inner = b.inner(area);
    frame.render_widget(b, area);
    // Narrow (under 52 columns: 24 for the path beside the wide columns), the causes are
    // shortened and the layers left to the history (H) and the jump (enter).
    let narrow = inner.width < 52;
    let mut lines = vec![
        if narrow {
            Line::from(format!("{:>9} {:<5} Path", "Wasted", "Cause"))
        } else {
            Line::from(format!(
                "{:>10} {:<9} {:<6} Path",
                "Wasted", "Cause", "Layers"
            ))
        }
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
        let mut line = Line::from(format!("{prefix}{}", fit_path(&text(&p.path), room)));
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

/// The help's lines: a `[context]` heading, then one line per action with its keys.
fn help_lines(keymap: &super::keymap::Keymap) -> Vec<Line<'static>> {
    let entries = keymap.entries();
    let keys_of = |keys: &[super::keymap::Key]| {
        let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        text(&keys.join(", ")).into_owned()
    };
    let key_width = entries
        .iter()
        .map(|(_, _, k)| Span::raw(keys_of(k)).width())
        .max()
        .unwrap_or(0)
        .clamp(12, 24);
    let mut items: Vec<Line<'static>> = Vec::new();
    let mut last_ctx = None;
    for (ctx, action, keys) in entries {
        if last_ctx != Some(ctx) {
            items.push(Line::from(format!("[{}]", ctx.name())).bold());
            last_ctx = Some(ctx);
        }
        items.push(Line::from(vec![
            Span::styled(
                format!("{:<key_width$}", keys_of(&keys)),
                Style::new().bold(),
            ),
            Span::raw(format!("  {}", action.describe())),
        ]));
    }
    items
}

/// How the help sits on a screen of `size`: its box, and as many columns as its lines need
/// when they fit side by side whole, else one column that scrolls.
struct HelpLayout {
    rect: Rect,
    inner: Rect,
    columns: usize,
    column_width: u16,
    rows: usize,
}

fn help_layout(size: Rect, lines: &[Line<'static>]) -> HelpLayout {
    let rect = Rect {
        x: size.x + 1,
        y: size.y + 1,
        width: size.width.saturating_sub(2),
        height: size.height.saturating_sub(2),
    };
    let inner = Block::new().borders(Borders::ALL).inner(rect);
    let rows = usize::from(inner.height).max(1);
    // Columns two spaces apart, the last one needing no gap after it.
    let widest = lines.iter().map(Line::width).max().unwrap_or(0);
    let column_width = u16::try_from(widest + 2).unwrap_or(u16::MAX);
    let columns = lines.len().div_ceil(rows).max(1);
    if (widest + 2) * columns - 2 <= usize::from(inner.width) {
        HelpLayout {
            rect,
            inner,
            columns,
            column_width,
            rows,
        }
    } else {
        HelpLayout {
            rect,
            inner,
            columns: 1,
            column_width: inner.width,
            rows,
        }
    }
}

/// The highest first line the help can be scrolled to on a screen of `size` (0 when it fits).
pub fn help_scroll_max(size: Rect, keymap: &super::keymap::Keymap) -> usize {
    let lines = help_lines(keymap);
    let layout = help_layout(size, &lines);
    if layout.columns > 1 {
        0
    } else {
        lines.len().saturating_sub(layout.rows)
    }
}

fn draw_help(frame: &mut Frame, app: &App) {
    let lines = help_lines(&app.keymap);
    let layout = help_layout(frame.area(), &lines);
    frame.render_widget(Clear, layout.rect);
    let scroll = app
        .help_scroll
        .min(help_scroll_max(frame.area(), &app.keymap));
    let shown = lines
        .len()
        .saturating_sub(scroll)
        .min(layout.rows * layout.columns);
    let key = |action| {
        app.keymap
            .first_key(super::keymap::Context::Global, action)
            .map_or_else(String::new, |k| k.to_string())
    };
    let bottom = if shown < lines.len() {
        format!(
            " {}–{} of {}: {} {} {} {} to scroll, any other key closes ",
            scroll + 1,
            scroll + shown,
            lines.len(),
            key(Action::Up),
            key(Action::Down),
            key(Action::PageUp),
            key(Action::PageDown),
        )
    } else {
        " any key closes ".to_string()
    };
    let b = block(" Keys — ~/.config/strata/keys.conf ".into(), true)
        .title_bottom(Line::from(text(&bottom).into_owned()));
    frame.render_widget(b, layout.rect);
    let inner = layout.inner;
    for (c, chunk) in lines[scroll..]
        .chunks(layout.rows)
        .take(layout.columns)
        .enumerate()
    {
        let x = u16::try_from(c)
            .unwrap_or(u16::MAX)
            .saturating_mul(layout.column_width);
        let col = Rect {
            x: inner.x + x,
            y: inner.y,
            width: layout.column_width.min(inner.width.saturating_sub(x)),
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
