//! A bordered list: a title, a bold header line, the rows on screen and the selected one
//! highlighted. The rows are built by the caller one index at a time, only for the rows that
//! show: a tree of 500,000 paths draws 60 of them.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget};

/// A list's selection and scroll.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListState {
    pub selected: usize,
    pub offset: usize,
}

impl ListState {
    /// Keeps the selection inside `len` rows and on screen in a window of `height` rows.
    pub fn clamp(&mut self, len: usize, height: usize) {
        self.selected = self.selected.min(len.saturating_sub(1));
        let height = height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }

    /// Moves the selection by `delta` rows (saturating at both ends).
    pub fn step(&mut self, delta: isize, len: usize, height: usize) {
        let max = isize::try_from(len.saturating_sub(1)).unwrap_or(isize::MAX);
        let now = isize::try_from(self.selected).unwrap_or(isize::MAX);
        self.selected = usize::try_from(now.saturating_add(delta).clamp(0, max)).unwrap_or(0);
        self.clamp(len, height);
    }
}

/// How the selected row stands out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Highlight {
    /// Reversed while the list has the focus; like the others without it.
    Focused,
    /// Reversed while the list has the focus, else this style over the row's: the selection
    /// stays visible (the explorer's layer is what the tree shows).
    Always(Style),
}

/// The rows of a list pane below its header: its area less the borders.
pub fn inner(area: Rect) -> Rect {
    Block::new().borders(Borders::ALL).inner(area)
}

/// A list pane. `row(i)` builds row `i`, for the rows on screen only.
pub struct List<'a, F> {
    block: Block<'a>,
    focused: bool,
    header: Line<'a>,
    len: usize,
    state: ListState,
    highlight: Highlight,
    empty: Option<Line<'a>>,
    row: F,
}

impl<'a, F: FnMut(usize) -> Line<'a>> List<'a, F> {
    /// `len` rows in `block`, scrolled and selected as `state` says.
    pub fn new(block: Block<'a>, focused: bool, len: usize, state: ListState, row: F) -> Self {
        List {
            block,
            focused,
            header: Line::default(),
            len,
            state,
            highlight: Highlight::Focused,
            empty: None,
            row,
        }
    }

    /// The line above the rows (column names).
    pub fn header(mut self, header: Line<'a>) -> Self {
        self.header = header;
        self
    }

    pub fn highlight(mut self, highlight: Highlight) -> Self {
        self.highlight = highlight;
        self
    }

    /// What shows in place of the rows when there are none.
    pub fn empty(mut self, line: Line<'a>) -> Self {
        self.empty = Some(line);
        self
    }
}

impl<'a, F: FnMut(usize) -> Line<'a>> Widget for List<'a, F> {
    fn render(mut self, area: Rect, buf: &mut Buffer) {
        let inner = self.block.inner(area);
        self.block.render(area, buf);
        let height = usize::from(inner.height.saturating_sub(1));
        let mut lines = Vec::with_capacity(height + 1);
        lines.push(self.header);
        let reversed = Style::new().add_modifier(Modifier::REVERSED);
        for i in (self.state.offset..self.len).take(height) {
            let mut line = (self.row)(i);
            if i == self.state.selected {
                line = match (self.focused, self.highlight) {
                    (true, _) => line.patch_style(reversed),
                    (false, Highlight::Always(style)) => line.patch_style(style),
                    (false, Highlight::Focused) => line,
                };
            }
            lines.push(line);
        }
        if self.len == 0
            && let Some(empty) = self.empty
        {
            lines.push(empty);
        }
        Paragraph::new(lines).render(inner, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::block;
    use crate::tui::widgets::testing::{buffer, reversed, row, style};
    use ratatui::style::{Color, Stylize};

    fn render(focused: bool, highlight: Highlight, len: usize, state: ListState) -> Buffer {
        let mut buf = buffer(16, 6);
        let area = buf.area;
        List::new(block(" L ".into(), focused), focused, len, state, |i| {
            Line::from(format!("row {i}")).style(Style::new().fg(Color::Red))
        })
        .header(Line::from("Head").bold())
        .highlight(highlight)
        .empty(Line::from("(none)").dim())
        .render(area, &mut buf);
        buf
    }

    #[test]
    fn shows_the_rows_from_the_offset_and_reverses_the_selection_when_focused() {
        let state = ListState {
            selected: 4,
            offset: 2,
        };
        let buf = render(true, Highlight::Focused, 10, state);
        // 6 rows: a border, the header, three rows (2, 3, 4), a border.
        assert_eq!(row(&buf, 1), "│Head          │");
        assert_eq!(row(&buf, 2), "│row 2         │");
        assert_eq!(row(&buf, 4), "│row 4         │");
        assert!(reversed(&buf, 1, 4) && !reversed(&buf, 1, 3));
        // The row's own colour stays under the highlight.
        assert_eq!(style(&buf, 1, 4).fg, Some(Color::Red));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn unfocused_the_selection_is_plain_or_keeps_its_style() {
        let state = ListState {
            selected: 1,
            offset: 0,
        };
        let buf = render(false, Highlight::Focused, 3, state);
        assert!(!reversed(&buf, 1, 3));
        assert_eq!(style(&buf, 1, 3), style(&buf, 1, 2));
        let bold = Style::new()
            .add_modifier(Modifier::BOLD)
            .fg(Color::LightBlue);
        let buf = render(false, Highlight::Always(bold), 3, state);
        assert!(!reversed(&buf, 1, 3));
        assert_eq!(style(&buf, 1, 3).fg, Some(Color::LightBlue));
        assert!(style(&buf, 1, 3).add_modifier.contains(Modifier::BOLD));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn an_empty_list_says_so() {
        let buf = render(true, Highlight::Focused, 0, ListState::default());
        assert_eq!(row(&buf, 2), "│(none)        │");
        assert!(style(&buf, 1, 2).add_modifier.contains(Modifier::DIM));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn the_selection_stays_inside_the_rows_and_on_screen() {
        let mut s = ListState::default();
        s.step(7, 10, 3);
        assert_eq!((s.selected, s.offset), (7, 5));
        s.step(-100, 10, 3);
        assert_eq!((s.selected, s.offset), (0, 0));
        s.step(isize::MAX / 2, 10, 3);
        assert_eq!((s.selected, s.offset), (9, 7));
        // Fewer rows than before: the selection and the window follow.
        s.clamp(4, 3);
        assert_eq!((s.selected, s.offset), (3, 1));
        s.clamp(0, 3);
        assert_eq!((s.selected, s.offset), (0, 0));
    }
}
