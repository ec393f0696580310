//! The frames shown while images are read: a gauge per image over its bytes, with its layers.

use std::sync::atomic::Ordering::Relaxed;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Gauge, Paragraph, Widget};

use super::block;
use crate::engine::Progress;
use crate::report::escape::text;
use crate::units::size;

/// One image being read: its name (after a label when there are two), counters and layer count.
pub struct Side<'a> {
    pub label: Option<&'static str>,
    pub source: &'a str,
    pub progress: &'a Progress,
    pub layers: usize,
}

/// The loading screen: one image's gauge (the explorer), or two and a line once they are read
/// and compared (the compare screen).
pub struct Loading<'a> {
    sides: &'a [Side<'a>],
    comparing: bool,
}

impl<'a> Loading<'a> {
    pub fn one(side: &'a Side<'a>) -> Self {
        Loading {
            sides: std::slice::from_ref(side),
            comparing: false,
        }
    }

    /// Both images of a comparison; `comparing` once both are read.
    pub fn two(sides: &'a [Side<'a>; 2], comparing: bool) -> Self {
        Loading { sides, comparing }
    }
}

/// A side's gauge: bytes read of the total, layers done of all.
fn gauge(side: &Side<'_>) -> Gauge<'static> {
    let (done, total) = (
        side.progress.bytes.load(Relaxed),
        side.progress.total.load(Relaxed),
    );
    #[allow(clippy::cast_precision_loss)]
    let ratio = if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    };
    let title = match side.label {
        Some(label) => format!(" Reading {label}: {} ", text(side.source)),
        None => format!(" Reading {} ", text(side.source)),
    };
    Gauge::default()
        .block(block(title, true))
        .gauge_style(Style::new().fg(Color::LightBlue))
        .ratio(ratio)
        .label(format!(
            "{} of {} — layer {} of {}",
            size(done),
            size(total),
            side.progress.layers_done.load(Relaxed),
            side.layers
        ))
}

impl Widget for Loading<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if let [side] = self.sides {
            let [_, mid, _] = Layout::vertical([
                Constraint::Percentage(40),
                Constraint::Length(4),
                Constraint::Min(0),
            ])
            .areas(area);
            gauge(side).render(mid, buf);
            return;
        }
        let [_, first, second, note, _] = Layout::vertical([
            Constraint::Percentage(35),
            Constraint::Length(3),
            Constraint::Length(3),
            Constraint::Length(1),
            Constraint::Min(0),
        ])
        .areas(area);
        for (side, rect) in self.sides.iter().zip([first, second]) {
            gauge(side).render(rect, buf);
        }
        if self.comparing {
            Paragraph::new(Line::from("Comparing the final filesystems…").dim()).render(note, buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::widgets::testing::{buffer, row, style};

    fn progress(bytes: u64, total: u64, layers_done: usize) -> Progress {
        let p = Progress::default();
        p.bytes.store(bytes, Relaxed);
        p.total.store(total, Relaxed);
        p.layers_done.store(layers_done, Relaxed);
        p
    }

    #[test]
    fn one_image_shows_its_bytes_and_layers_with_its_name_escaped() {
        let p = progress(500_000, 1_000_000, 1);
        let side = Side {
            label: None,
            source: "img\u{1b}[2J",
            progress: &p,
            layers: 4,
        };
        let mut buf = buffer(60, 10);
        let area = buf.area;
        Loading::one(&side).render(area, &mut buf);
        // 40% of 10 rows above: the gauge's box is rows 4 to 7, its label on the lower of the
        // two inner rows.
        assert_eq!(row(&buf, 3), "");
        assert!(
            row(&buf, 4).starts_with("┌ Reading img\\x1b[2J ─"),
            "{}",
            row(&buf, 4)
        );
        assert!(
            row(&buf, 6).contains("500 kB of 1 MB — layer 1 of 4"),
            "{}",
            row(&buf, 6)
        );
        // Half of the 58 inner columns filled, in light blue.
        assert_eq!(row(&buf, 5), format!("│{:<58}│", "█".repeat(29)));
        assert_eq!(style(&buf, 1, 5).fg, Some(Color::LightBlue));
        insta::assert_snapshot!(format!("{buf:?}"));
    }

    #[test]
    fn two_images_show_a_gauge_each_then_the_comparison() {
        let (a, b) = (progress(10, 10, 2), progress(0, 0, 0));
        let sides = [
            Side {
                label: Some("A"),
                source: "a",
                progress: &a,
                layers: 2,
            },
            Side {
                label: Some("B"),
                source: "b",
                progress: &b,
                layers: 3,
            },
        ];
        let mut buf = buffer(50, 12);
        let area = buf.area;
        Loading::two(&sides, true).render(area, &mut buf);
        // A box of three rows each, one under the other, then the note.
        let top = (0..12)
            .find(|&y| row(&buf, y).starts_with("┌ Reading A: a ─"))
            .expect("A's gauge");
        assert!(row(&buf, top + 1).contains("10 B of 10 B — layer 2 of 2"));
        assert!(row(&buf, top + 3).starts_with("┌ Reading B: b ─"));
        assert!(row(&buf, top + 4).contains("0 B of 0 B — layer 0 of 3"));
        assert_eq!(row(&buf, top + 6), "Comparing the final filesystems…");
        insta::assert_snapshot!(format!("{buf:?}"));
    }
}
