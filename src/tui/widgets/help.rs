//! The keys, from the keymap: the explorer's help fills the screen in as many columns as fit
//! (one that scrolls when they do not), the compare screen's lists its own actions in a popup.
//! Both group the bindings by context, as the keymap does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use super::block;
use crate::report::escape::text;
use crate::tui::keymap::{Action, Context, Key, Keymap};

/// One action's keys, joined and escaped as shown.
struct Entry {
    context: Context,
    action: Action,
    keys: String,
}

/// The bindings `keep` accepts, grouped by context in the keymap's order.
fn entries(keymap: &Keymap, keep: impl Fn(Context, Action) -> bool) -> Vec<Entry> {
    keymap
        .entries()
        .into_iter()
        .filter(|(c, a, _)| keep(*c, *a))
        .map(|(context, action, keys)| {
            let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
            Entry {
                context,
                action,
                keys: text(&keys.join(", ")).into_owned(),
            }
        })
        .collect()
}

/// `heading(context)` before each context's entries, then `line(entry)` for each.
fn sections(
    entries: &[Entry],
    heading: impl Fn(Context) -> Line<'static>,
    line: impl Fn(&Entry) -> Line<'static>,
) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut last = None;
    for e in entries {
        if last != Some(e.context) {
            lines.push(heading(e.context));
            last = Some(e.context);
        }
        lines.push(line(e));
    }
    lines
}

/// The explorer's help lines: a `[context]` heading, then one line per action, its keys in a
/// bold column as wide as the widest (12 to 24 columns).
fn lines(keymap: &Keymap) -> Vec<Line<'static>> {
    let entries = entries(keymap, |_, _| true);
    let key_width = entries
        .iter()
        .map(|e| Span::raw(e.keys.as_str()).width())
        .max()
        .unwrap_or(0)
        .clamp(12, 24);
    sections(
        &entries,
        |ctx| Line::from(format!("[{}]", ctx.name())).bold(),
        |e| {
            Line::from(vec![
                Span::styled(format!("{:<key_width$}", e.keys), Style::new().bold()),
                Span::raw(format!("  {}", e.action.describe())),
            ])
        },
    )
}

/// How the explorer's help sits on a screen of `size`: its box, and as many columns as its
/// lines need when they fit side by side whole, else one column that scrolls.
struct Layout {
    rect: Rect,
    inner: Rect,
    columns: usize,
    column_width: u16,
    rows: usize,
}

impl Layout {
    fn new(size: Rect, lines: &[Line<'static>]) -> Layout {
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
            Layout {
                rect,
                inner,
                columns,
                column_width,
                rows,
            }
        } else {
            Layout {
                rect,
                inner,
                columns: 1,
                column_width: inner.width,
                rows,
            }
        }
    }

    /// The highest first line the help can scroll to (0 when it fits).
    fn scroll_max(&self, lines: usize) -> usize {
        if self.columns > 1 {
            0
        } else {
            lines.saturating_sub(self.rows)
        }
    }
}

/// The highest first line the explorer's help can be scrolled to on a screen of `size` (0 when
/// it fits).
pub fn scroll_max(size: Rect, keymap: &Keymap) -> usize {
    let lines = lines(keymap);
    Layout::new(size, &lines).scroll_max(lines.len())
}

/// The explorer's help over the whole screen, from its line `scroll` on.
pub struct Help<'a> {
    keymap: &'a Keymap,
    scroll: usize,
}

impl<'a> Help<'a> {
    pub fn new(keymap: &'a Keymap, scroll: usize) -> Self {
        Help { keymap, scroll }
    }
}

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let lines = lines(self.keymap);
        let layout = Layout::new(area, &lines);
        Clear.render(layout.rect, buf);
        let scroll = self.scroll.min(layout.scroll_max(lines.len()));
        let shown = lines
            .len()
            .saturating_sub(scroll)
            .min(layout.rows * layout.columns);
        let key = |action| {
            self.keymap
                .first_key(Context::Global, action)
                .map_or_else(String::new, |k: Key| k.to_string())
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
        block(" Keys — ~/.config/strata/keys.conf ".into(), true)
            .title_bottom(Line::from(text(&bottom).into_owned()))
            .render(layout.rect, buf);
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
            Paragraph::new(chunk.to_vec()).render(col, buf);
        }
    }
}

/// A short help's lines, for a popup: the `actions` listed, each context headed by
/// `heading(context)` (`None` leaves the context out), then `footer`.
pub fn compact(
    keymap: &Keymap,
    actions: &[Action],
    heading: impl Fn(Context) -> Option<String>,
    footer: Line<'static>,
) -> Vec<Line<'static>> {
    let entries = entries(keymap, |c, a| actions.contains(&a) && heading(c).is_some());
    let mut lines = sections(
        &entries,
        |ctx| Line::from(heading(ctx).unwrap_or_default()).bold(),
        |e| Line::from(format!("  {:<18} {}", e.keys, e.action.describe())),
    );
    lines.push(footer);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::testing::{buffer, row, style};
    use ratatui::style::{Color, Modifier};

    fn render(keymap: &Keymap, width: u16, height: u16, scroll: usize) -> Buffer {
        let mut buf = buffer(width, height);
        let area = buf.area;
        Help::new(keymap, scroll).render(area, &mut buf);
        buf
    }

    /// The number of (context, action) pairs the default keymap binds, and of contexts.
    fn default_counts() -> (usize, usize) {
        let entries = Keymap::default().entries();
        let mut contexts: Vec<Context> = entries.iter().map(|(c, _, _)| *c).collect();
        contexts.dedup();
        (entries.len(), contexts.len())
    }

    #[test]
    fn on_a_wide_screen_every_binding_shows_in_columns() {
        let keymap = Keymap::default();
        let buf = render(&keymap, 200, 30, 0);
        let screen: String = (0..30).map(|y| row(&buf, y) + "\n").collect();
        for (ctx, action, _) in keymap.entries() {
            assert!(screen.contains(&format!("[{}]", ctx.name())), "{screen}");
            assert!(screen.contains(action.describe()), "{screen}");
        }
        assert!(row(&buf, 29 - 1).contains(" any key closes "), "{screen}");
        // Headings bold, the box focused.
        let at = |needle: &str| {
            (0..30)
                .find_map(|y| {
                    let r = row(&buf, y);
                    r.find(needle).map(|i| (r[..i].chars().count() as u16, y))
                })
                .expect(needle)
        };
        let (x, y) = at("[global]");
        assert!(style(&buf, x, y).add_modifier.contains(Modifier::BOLD));
        assert_eq!(style(&buf, 1, 1).fg, Some(Color::LightBlue));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn on_a_short_screen_one_column_scrolls() {
        let keymap = Keymap::default();
        let (entries, contexts) = default_counts();
        let total = entries + contexts;
        // 80 x 12: a box of 10 rows, 8 inside.
        let buf = render(&keymap, 80, 12, 3);
        let bottom = row(&buf, 10);
        assert!(
            bottom.contains(&format!(" 4–11 of {total}: ↑ ↓ pgup pgdn to scroll")),
            "{bottom}"
        );
        assert_eq!(scroll_max(Rect::new(0, 0, 80, 12), &keymap), total - 8);
        // Scrolled past the end: the last page.
        let end = render(&keymap, 80, 12, 1000);
        let last = row(&end, 10);
        assert!(
            last.contains(&format!(" {}–{total} of {total}", total - 7)),
            "{last}"
        );
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn a_compact_help_lists_only_its_actions() {
        let keymap = Keymap::default();
        let lines = compact(
            &keymap,
            &[Action::Quit, Action::Help, Action::ToggleCollapse],
            |c| (c != Context::Wasted).then(|| format!("<{}>", c.name())),
            Line::from("end"),
        );
        let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
        // keymap.rs's defaults: q and ctrl+c quit, ? helps (global); space and enter collapse
        // in the tree.
        assert_eq!(
            text,
            [
                "<global>",
                "  q, ctrl+c          quit",
                "  ?                  this help",
                "<tree>",
                "  space, enter       collapse / expand directory",
                "end",
            ]
        );
    }
}
