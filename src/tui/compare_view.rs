//! Drawing the compare screen: reads `&State`, changes nothing. Left, the totals and both layer
//! stacks aligned; right, the grouped file difference as a tree.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::compare::{ACTIONS, Node, Pane, State};
use super::keymap::Context;
use super::layout::totals_lines;
use super::widgets::list::{Highlight, List};
use super::widgets::popup::Popup;
use super::widgets::status_bar::{self, StatusBar};
use super::widgets::{block, help, loading};
use crate::analysis::compare::{Alignment, Comparison, FileChange, Group, LayerRow};
use crate::report::compare::{change_name, row_command, row_difference};
use crate::report::escape::text;
use crate::report::short_command;
use crate::units::{signed_size, size};

const ADDED: Color = Color::Green;
const REMOVED: Color = Color::Red;
const CHANGED: Color = Color::Yellow;
const METADATA: Color = Color::Cyan;

fn change_color(c: FileChange) -> Color {
    match c {
        FileChange::Added => ADDED,
        FileChange::Removed => REMOVED,
        FileChange::Changed => CHANGED,
        FileChange::MetadataOnly => METADATA,
    }
}

/// Draws the whole compare screen.
pub fn draw(frame: &mut Frame, s: &State) {
    let a = &s.areas();
    let b = block(" Compare ".into(), false);
    let lines = totals_lines(s.comparison(), a.totals.width.saturating_sub(2));
    frame.render_widget(Paragraph::new(lines).block(b), a.totals);
    draw_layers(frame, s, a.layers);
    if a.details.height > 0 {
        draw_details(frame, s, a.details);
    }
    draw_files(frame, s, a.files);
    draw_status(frame, s, a.status);
    if s.help() {
        draw_help(frame, s);
    }
}

fn layer_summary(c: &Comparison) -> String {
    let count = |a: Alignment| c.layers.iter().filter(|r| r.alignment == a).count();
    format!(
        " Layers: {} shared, {} matched, {} only A, {} only B ",
        c.shared_layers,
        count(Alignment::Matched),
        count(Alignment::OnlyA),
        count(Alignment::OnlyB)
    )
}

fn row_style(row: &LayerRow) -> Style {
    match row.alignment {
        Alignment::Shared => Style::new().fg(Color::Blue),
        Alignment::Matched if row.delta_bytes != 0 => Style::new().fg(CHANGED),
        Alignment::Matched => Style::new(),
        Alignment::OnlyA => Style::new().fg(REMOVED),
        Alignment::OnlyB => Style::new().fg(ADDED),
    }
}

fn draw_layers(frame: &mut Frame, s: &State, area: Rect) {
    let focused = s.focus() == Pane::Layers;
    let c = s.comparison();
    let cmd_width = usize::from(super::widgets::list::inner(area).width.saturating_sub(38)).max(8);
    let row = |i: usize| {
        let row = &c.layers[i];
        let idx = |l: &Option<crate::analysis::compare::LayerInfo>| {
            l.as_ref().map_or("-".to_string(), |l| l.index.to_string())
        };
        let sz = |l: &Option<crate::analysis::compare::LayerInfo>| {
            l.as_ref()
                .map_or("-".to_string(), |l| size(l.shipped_bytes))
        };
        let cmd = row_command(row).map_or_else(
            || "(no history)".to_string(),
            |c| text(&short_command(c, cmd_width)).into_owned(),
        );
        Line::from(format!(
            "{:>2} {:>2} {:>9} {:>9} {:>10}  {cmd}",
            idx(&row.a),
            idx(&row.b),
            sz(&row.a),
            sz(&row.b),
            row_difference(row)
        ))
        .style(row_style(row))
    };
    let list = List::new(
        block(layer_summary(c), focused),
        focused,
        c.layers.len(),
        s.layers(),
        row,
    )
    .header(
        Line::from(format!(
            "{:>2} {:>2} {:>9} {:>9} {:>10}  Command",
            "A", "B", "A size", "B size", "Difference"
        ))
        .bold(),
    )
    .highlight(Highlight::Always(
        Style::new().add_modifier(ratatui::style::Modifier::BOLD),
    ));
    frame.render_widget(list, area);
}

fn draw_details(frame: &mut Frame, s: &State, area: Rect) {
    let Some(row) = s.comparison().layers.get(s.layers().selected) else {
        frame.render_widget(block(" Layer ".into(), false), area);
        return;
    };
    let how = match row.alignment {
        Alignment::Shared => "shared: the same diff_id",
        Alignment::Matched => "matched by command",
        Alignment::OnlyA => "only in A",
        Alignment::OnlyB => "only in B",
    };
    let b = block(format!(" Layer: {how} "), false);
    let command = |l: &crate::analysis::compare::LayerInfo| {
        l.created_by.as_deref().map_or_else(
            || "(no history)".to_string(),
            |c| text(&short_command(c, 1000)).into_owned(),
        )
    };
    let side = |name: &str, l: &Option<crate::analysis::compare::LayerInfo>| match l {
        Some(l) => Line::from(format!("{name} {}  {}", l.index, command(l))),
        None => Line::from(format!("{name} -")).dim(),
    };
    let lines = match (&row.a, &row.b) {
        // One command for both: say it once.
        (Some(la), Some(lb)) if la.created_by == lb.created_by => vec![Line::from(format!(
            "A {} · B {}  {}",
            la.index,
            lb.index,
            command(la)
        ))],
        _ => vec![side("A", &row.a), side("B", &row.b)],
    };
    frame.render_widget(
        Paragraph::new(lines).block(b).wrap(Wrap { trim: false }),
        area,
    );
}

/// `+add -del ~chg ~meta` as coloured counts.
fn counts(g: &Group) -> Vec<Span<'static>> {
    let cell = |n: u64, width: usize, color: Color| {
        let text = format!("{n:>width$}");
        if n == 0 {
            Span::raw(text).dim()
        } else {
            Span::styled(text, Style::new().fg(color))
        }
    };
    vec![
        cell(g.added.count, 4, ADDED),
        Span::raw(" "),
        cell(g.removed.count, 4, REMOVED),
        Span::raw(" "),
        cell(g.changed.count, 4, CHANGED),
        Span::raw(" "),
        cell(g.metadata_only.count, 5, METADATA),
    ]
}

/// A path below its parent's (`/opt/toolchain/bin` under `/opt/toolchain` is `bin`).
fn relative<'a>(path: &'a str, parent: &str) -> &'a str {
    path.strip_prefix(parent)
        .and_then(|p| p.strip_prefix('/').or((parent == "/").then_some(p)))
        .filter(|p| !p.is_empty())
        .unwrap_or(path)
}

fn tree_line(s: &State, node: &Node, depth: usize) -> Line<'static> {
    let indent = "  ".repeat(depth);
    match node {
        Node::Group(p) => {
            let Some(g) = s.group(p) else {
                return Line::default();
            };
            let name = match p.len() {
                1 => g.path.as_str(),
                n => s
                    .group(&p[..n - 1])
                    .map_or(g.path.as_str(), |parent| relative(&g.path, &parent.path)),
            };
            let marker = if s.is_expanded(p) { "▾" } else { "▸" };
            let mut spans = vec![Span::raw(format!("{:>10}  ", signed_size(g.delta_bytes)))];
            spans.extend(counts(g));
            spans.push(Span::raw(format!("  {indent}{marker} ")));
            spans.push(Span::raw(text(name).into_owned()).bold());
            Line::from(spans)
        }
        Node::File(p, _) => {
            let (Some(g), Some(f)) = (s.group(p), s.file(node)) else {
                return Line::default();
            };
            let style = Style::new().fg(change_color(f.change));
            let extra = match (f.change, f.a_bytes, f.b_bytes) {
                (FileChange::Changed, Some(a), Some(b)) => format!("  {} → {}", size(a), size(b)),
                (FileChange::MetadataOnly, _, Some(b)) => format!("  {}", size(b)),
                _ => String::new(),
            };
            Line::from(vec![
                Span::raw(format!("{:>10}  ", signed_size(f.delta_bytes))),
                Span::styled(format!("{:<20}", change_name(f.change)), style),
                Span::raw(format!("  {indent}  ")),
                Span::styled(text(relative(&f.path, &g.path)).into_owned(), style),
                Span::raw(extra).dim(),
            ])
        }
    }
}

fn draw_files(frame: &mut Frame, s: &State, area: Rect) {
    let focused = s.focus() == Pane::Files;
    let f = &s.comparison().files;
    let title = format!(
        " Files: {} differ, {} ",
        f.files(),
        signed_size(f.delta_bytes)
    );
    let legend = Line::from(vec![
        Span::raw(" "),
        Span::styled("+add added", Style::new().fg(ADDED)),
        Span::raw(" "),
        Span::styled("-del removed", Style::new().fg(REMOVED)),
        Span::raw(" "),
        Span::styled("~chg changed", Style::new().fg(CHANGED)),
        Span::raw(" "),
        Span::styled("~meta mode/owner", Style::new().fg(METADATA)),
        Span::raw(" "),
    ]);
    let rows = s.rows();
    let list = List::new(
        block(title, focused).title_bottom(legend),
        focused,
        rows.len(),
        s.files(),
        |i| tree_line(s, &rows[i].node, rows[i].depth),
    )
    .header(
        Line::from(format!(
            "{:>10}  {:>4} {:>4} {:>4} {:>5}  Directory / file",
            "Difference", "+add", "-del", "~chg", "~meta"
        ))
        .bold(),
    )
    .empty(Line::from("No file differs.").dim());
    frame.render_widget(list, area);
}

fn draw_status(frame: &mut Frame, s: &State, area: Rect) {
    let line = Line::from(status_bar::hints(s.keymap(), s.focus().bar()));
    frame.render_widget(StatusBar::new(line), area);
}

/// The keys of this screen, from the keymap (only the actions it handles).
fn draw_help(frame: &mut Frame, s: &State) {
    let lines = help::compact(
        s.keymap(),
        &ACTIONS,
        |ctx| match ctx {
            Context::Wasted => None,
            Context::Layers => Some("[layers] the aligned layers".to_string()),
            Context::Tree => Some("[tree] the file difference".to_string()),
            c => Some(format!("[{}]", c.name())),
        },
        Line::from("Any key closes this help. Keys: ~/.config/strata/keys.conf").dim(),
    );
    frame.render_widget(Popup::new("Keys", lines, 72), frame.area());
}

/// The frames while both images are read: a gauge each, then a line while they are compared.
pub fn draw_loading(frame: &mut Frame, sides: &[loading::Side<'_>; 2], comparing: bool) {
    frame.render_widget(loading::Loading::two(sides, comparing), frame.area());
}
