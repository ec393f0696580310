//! The bottom line of both screens: the focused pane's keys from the keymap (or whatever the
//! screen has to say instead) on a dark grey bar.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::tui::keymap::{Bar, Keymap};

/// The status bar, holding one line.
pub struct StatusBar<'a> {
    line: Line<'a>,
}

impl<'a> StatusBar<'a> {
    pub fn new(line: Line<'a>) -> Self {
        StatusBar { line }
    }
}

/// A bar's keys as the keymap binds them: each bold, then its label.
pub fn hints(keymap: &Keymap, bar: Bar) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for (key, label) in keymap.hints(bar) {
        spans.push(Span::styled(key.to_string(), Style::new().bold()));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    spans
}

impl Widget for StatusBar<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        Paragraph::new(self.line)
            .style(Style::new().bg(Color::DarkGray))
            .render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::testing::{buffer, row, style};
    use ratatui::style::Modifier;
    use std::path::Path;

    fn render(keymap: &Keymap, bar: Bar, width: u16) -> Buffer {
        let mut buf = buffer(width, 1);
        let area = buf.area;
        StatusBar::new(Line::from(hints(keymap, bar))).render(area, &mut buf);
        buf
    }

    #[test]
    fn the_bar_shows_the_keys_the_keymap_binds() {
        let buf = render(&Keymap::default(), Bar::Wasted, 60);
        // keymap.rs's defaults: tab switches panes, enter jumps and H shows the history in
        // the wasted list; ? and q are global.
        assert_eq!(
            row(&buf, 0),
            "tab pane  enter jump  H history  ? help  q quit"
        );
        // Keys bold, all of it on dark grey to the end of the line.
        assert!(style(&buf, 0, 0).add_modifier.contains(Modifier::BOLD));
        assert!(!style(&buf, 4, 0).add_modifier.contains(Modifier::BOLD));
        assert_eq!(style(&buf, 59, 0).bg, Some(Color::DarkGray));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn a_rebound_key_shows_in_the_bar() {
        let mut keymap = Keymap::default();
        keymap
            .apply_config(
                Path::new("keys.conf"),
                "[global]\nquit = ctrl+q\n[layers]\nswitch-pane = ctrl+n\n",
            )
            .expect("config");
        let buf = render(&keymap, Bar::CompareLayers, 40);
        assert_eq!(row(&buf, 0), "ctrl+n files  ? help  ctrl+q quit");
        insta::assert_snapshot!(format!("{buf:?}"));
    }
}
