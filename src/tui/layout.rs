//! Where each pane of the compare screen goes, from the terminal size: the state keeps its
//! areas (page sizes use them) and the view draws into them, so neither the state nor the view
//! owns this. The explorer's are in `explorer/layout.rs`, for the same reason.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Stylize};
use ratatui::text::{Line, Span};

use crate::analysis::compare::{Comparison, Side};
use crate::report::compare::{image_line, totals_rows};
use crate::report::escape::text;
use crate::units::size;

/// The compare screen's areas.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompareAreas {
    pub totals: Rect,
    pub layers: Rect,
    pub details: Rect,
    pub files: Rect,
    pub status: Rect,
}

/// Splits the compare screen: totals, the aligned layers and the selected layer's commands on
/// the left; the file tree on the right; one status line at the bottom.
pub fn compare(size: Rect, c: &Comparison) -> CompareAreas {
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(size);
    let left_width = (size.width * 23 / 50).clamp(34.min(size.width), 100);
    let [left, files] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(10)]).areas(main);
    let totals_h =
        u16::try_from(totals_lines(c, left.width.saturating_sub(2)).len() + 2).unwrap_or(u16::MAX);
    // The layers keep at least a few rows: the totals and details give way first.
    let totals_h = totals_h.min(main.height.saturating_sub(6).max(3));
    // The details take what the layer rows leave, 2 to 6 lines of commands.
    let rest = main.height.saturating_sub(totals_h);
    let layers_need = u16::try_from(c.layers.len() + 3).unwrap_or(u16::MAX);
    let spare = rest.saturating_sub(layers_need);
    let details_h = match (spare, rest) {
        (4.., _) => spare.min(8),
        (_, 16..) => 4,
        _ => 0,
    };
    let [totals, layers, details] = Layout::vertical([
        Constraint::Length(totals_h),
        Constraint::Min(3),
        Constraint::Length(details_h),
    ])
    .areas(left);
    CompareAreas {
        totals,
        layers,
        details,
        files,
        status,
    }
}

/// Greedy word wrap at `width` characters (a word longer than a line is cut).
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let (n, w) = (line.chars().count(), word.chars().count());
        if n > 0 && n + 1 + w > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            let tail: String = line.chars().skip(width).collect();
            out.push(head);
            line = tail;
        }
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
}

/// `label  source (format, ref)`, its start elided to fit one line.
fn image_fit(label: &str, side: &Side, width: usize) -> Line<'static> {
    let line = text(&image_line(side)).into_owned();
    let room = width.saturating_sub(label.len() + 3);
    let n = line.chars().count();
    let shown = if n > room && room > 0 {
        let tail: String = line.chars().skip(n - (room - 1)).collect();
        format!("…{tail}")
    } else {
        line
    };
    Line::from(vec![
        Span::raw(format!("{label}  ")).bold(),
        Span::raw(shown),
    ])
}

/// The compare screen's totals at `width` columns. They are wrapped here, where the layout
/// needs their count to size their pane, and drawn as they are.
pub fn totals_lines(c: &Comparison, width: u16) -> Vec<Line<'static>> {
    let width = usize::from(width);
    let mut lines = vec![
        image_fit("A", &c.a, width),
        image_fit("B", &c.b, width),
        Line::from(format!("{:<12}{:>10}{:>10}  Difference", "", "A", "B")).bold(),
    ];
    for [name, a, b, d] in totals_rows(&c.totals) {
        lines.push(Line::from(format!("{name:<12}{a:>10}{b:>10}  {d}")));
    }
    let verdict = crate::report::words::verdict(&c.verdict);
    for l in wrap_words(&format!("Verdict: {}", text(&verdict)), width) {
        lines.push(Line::from(l).bold());
    }
    if let Some(l) = &c.limit {
        let (word, color) = if l.exceeded {
            ("FAIL (exit 1 on quit)", Color::Red)
        } else {
            ("PASS", Color::Green)
        };
        let text = format!(
            "Limit: B may exceed A by at most {}: B {} by {}: {word}",
            l.limit,
            if l.growth_bytes > 0 { "grew" } else { "shrank" },
            size(l.growth_bytes.unsigned_abs()),
        );
        for l in wrap_words(&text, width) {
            lines.push(Line::from(l).fg(color));
        }
    }
    if let Some(first) = c.warnings.first() {
        let more = match c.warnings.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        for l in wrap_words(&format!("warning: {}{more}", text(first)), width) {
            lines.push(Line::from(l).fg(Color::Yellow));
        }
    }
    lines
}
