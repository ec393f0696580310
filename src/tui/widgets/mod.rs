//! What both screens draw with: the bordered block, lists with a selection, the status bar, the
//! help, popups and the loading gauges. Each is a ratatui widget (or builds the lines of one)
//! that reads only what it is given, so it is tested by rendering into a `Buffer`.

pub mod help;
pub mod list;
pub mod loading;
pub mod popup;
pub mod status_bar;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders};

/// A bordered pane, its border and title bold light blue while it has the focus.
pub fn block(title: String, focused: bool) -> Block<'static> {
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

#[cfg(test)]
pub(crate) mod testing {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Modifier, Style};

    /// A blank buffer of `width` x `height`.
    pub fn buffer(width: u16, height: u16) -> Buffer {
        Buffer::empty(Rect::new(0, 0, width, height))
    }

    /// Row `y` of a buffer as text, trailing spaces trimmed.
    pub fn row(buf: &Buffer, y: u16) -> String {
        let mut s: String = (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect();
        s.truncate(s.trim_end().len());
        s
    }

    /// The style of the cell at (x, y).
    pub fn style(buf: &Buffer, x: u16, y: u16) -> Style {
        buf[(x, y)].style()
    }

    /// Whether the cell at (x, y) is drawn reversed.
    pub fn reversed(buf: &Buffer, x: u16, y: u16) -> bool {
        style(buf, x, y).add_modifier.contains(Modifier::REVERSED)
    }
}
