//! A box over the middle of the screen: the explorer's history and overwrite question, the
//! compare screen's help.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::block;

/// A titled box of `width` columns and as many rows as its lines (or [`Popup::height`]) plus
/// its borders, centred in the area it is rendered into and kept inside it; lines longer than
/// the box wrap.
pub struct Popup<'a> {
    title: &'a str,
    lines: Vec<Line<'static>>,
    width: u16,
    height: Option<u16>,
}

impl<'a> Popup<'a> {
    pub fn new(title: &'a str, lines: Vec<Line<'static>>, width: u16) -> Self {
        Popup {
            title,
            lines,
            width,
            height: None,
        }
    }

    /// Room for `rows` rows inside, whatever the count of lines (for lines that may wrap).
    pub fn height(mut self, rows: u16) -> Self {
        self.height = Some(rows);
        self
    }

    /// Where a box of `width` x `height` (borders included) goes on `area`, for a caller
    /// drawing its own widget there.
    pub fn area(area: Rect, width: u16, height: u16) -> Rect {
        Popup::rect(area, width, height).intersection(area)
    }

    /// Where the box goes on `area`: at most `width` x `height` plus the borders, one column
    /// and one row from each edge, at least 10 x 3.
    fn rect(area: Rect, width: u16, height: u16) -> Rect {
        let w = width.min(area.width.saturating_sub(2)).max(10);
        let h = height
            .saturating_add(2)
            .min(area.height.saturating_sub(2))
            .max(3);
        Rect {
            x: area.x + (area.width.saturating_sub(w)) / 2,
            y: area.y + (area.height.saturating_sub(h)) / 2,
            width: w,
            height: h,
        }
    }
}

impl Widget for Popup<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let height = self
            .height
            .unwrap_or_else(|| u16::try_from(self.lines.len()).unwrap_or(u16::MAX));
        let rect = Popup::rect(area, self.width, height).intersection(area);
        Clear.render(rect, buf);
        Paragraph::new(self.lines)
            .block(block(format!(" {} ", self.title), true))
            .wrap(Wrap { trim: false })
            .render(rect, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::testing::{buffer, row, style};
    use ratatui::style::{Color, Modifier};

    fn render(width: u16, height: u16, lines: &[&str], box_width: u16) -> Buffer {
        let mut buf = buffer(width, height);
        // Something under the popup, which it must clear.
        for y in 0..height {
            buf.set_string(
                0,
                y,
                "x".repeat(usize::from(width)),
                ratatui::style::Style::new(),
            );
        }
        let lines = lines.iter().map(|l| Line::from(l.to_string())).collect();
        let area = buf.area;
        Popup::new("Export", lines, box_width).render(area, &mut buf);
        buf
    }

    #[test]
    fn a_popup_is_centred_cleared_and_focused() {
        let buf = render(30, 8, &["a.txt exists.", "Overwrite it? y / n"], 24);
        // 24 x 4 in 30 x 8: three columns and two rows from the edges.
        assert_eq!(row(&buf, 1), "x".repeat(30));
        assert_eq!(row(&buf, 2), format!("xxx┌ Export {}┐xxx", "─".repeat(14)));
        assert_eq!(row(&buf, 3), format!("xxx│{:<22}│xxx", "a.txt exists."));
        assert_eq!(row(&buf, 5), format!("xxx└{}┘xxx", "─".repeat(22)));
        assert_eq!(style(&buf, 3, 2).fg, Some(Color::LightBlue));
        assert!(style(&buf, 3, 2).add_modifier.contains(Modifier::BOLD));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn a_popup_may_keep_room_for_lines_that_wrap() {
        let mut buf = buffer(30, 10);
        let area = buf.area;
        Popup::new("Q", vec![Line::from("one")], 20)
            .height(4)
            .render(area, &mut buf);
        // 20 x 6 in 30 x 10: columns 5 to 24, rows 2 to 7, 18 x 4 inside.
        assert_eq!(row(&buf, 2), format!("     ┌ Q {}┐", "─".repeat(15)));
        assert_eq!(row(&buf, 3), format!("     │{:<18}│", "one"));
        assert_eq!(row(&buf, 6), format!("     │{:<18}│", ""));
        assert_eq!(row(&buf, 7), format!("     └{}┘", "─".repeat(18)));
    }

    #[test]
    fn a_popup_larger_than_the_screen_stays_inside_and_wraps() {
        let buf = render(14, 5, &["a line longer than the box"], 60);
        // 12 columns (14 less one each side), 3 rows (5 less one each side).
        assert_eq!(row(&buf, 1), "x┌ Export ──┐x");
        assert_eq!(row(&buf, 2), format!("x│{:<10}│x", "a line"));
        assert_eq!(row(&buf, 3), format!("x└{}┘x", "─".repeat(10)));
        insta::assert_snapshot!(format!("{buf:?}"));
    }
}
