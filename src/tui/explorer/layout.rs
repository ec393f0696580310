//! Where the explorer's panes go, and what follows from it: the areas for the terminal's size
//! and the focus, how many rows each list shows (the selections are kept on screen and a page
//! is that many rows), and which pane a click lands in. The state keeps the areas and the
//! drawing draws into them, so neither owns this.

use ratatui::layout::{Constraint, Layout, Rect};

use super::state::{App, Pane};

/// The explorer's areas.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub layers: Rect,
    pub details: Rect,
    pub image: Rect,
    pub wasted: Rect,
    pub tree: Rect,
    pub status: Rect,
}

/// Splits the explorer's screen: layers, layer details, image and wasted paths on the left; the
/// tree on the right; one status line at the bottom. On a short screen (under 32 rows) the
/// wasted list, focused and holding more paths than it shows, takes the room of the two
/// details panes (which show nothing about the selected path): at 80x24, 12 paths instead of 1.
pub fn areas(size: Rect, wasted_focused: bool, wasted_paths: usize) -> Areas {
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
    Areas {
        layers,
        details,
        image,
        wasted,
        tree,
        status,
    }
}

impl App {
    /// The terminal changed size.
    pub fn resize(&mut self, size: Rect) {
        self.size = size;
        self.relayout();
    }

    /// The areas for the size and the focus (a focused wasted list may take more room).
    pub(super) fn relayout(&mut self) {
        self.areas = areas(
            self.size,
            self.focus == Pane::Wasted,
            self.analysis.waste.paths.len(),
        );
        self.clamp_all();
    }

    pub(super) fn set_focus(&mut self, pane: Pane) {
        self.focus = pane;
        self.relayout();
    }

    pub(super) fn tree_height(&self) -> usize {
        usize::from(self.areas.tree.height.saturating_sub(3))
    }

    pub(super) fn list_height(&self, pane: Pane) -> usize {
        let r = match pane {
            Pane::Layers => self.areas.layers,
            Pane::Wasted => self.areas.wasted,
            Pane::Tree => return self.tree_height(),
        };
        usize::from(r.height.saturating_sub(3))
    }

    pub(super) fn clamp_all(&mut self) {
        let (nl, nw, nr) = (
            self.analysis.layers.len(),
            self.analysis.waste.paths.len(),
            self.tree.rows.len(),
        );
        let (hl, hw, hr) = (
            self.list_height(Pane::Layers),
            self.list_height(Pane::Wasted),
            self.tree_height(),
        );
        self.layers.clamp(nl, hl);
        self.wasted.clamp(nw, hw);
        self.rows.clamp(nr, hr);
    }

    /// A page of the focused list: the rows it shows.
    pub(super) fn page(&self) -> isize {
        let h = match self.focus {
            Pane::Tree => self.tree_height(),
            p => self.list_height(p),
        };
        h.max(1) as isize
    }

    /// The pane under a click, if any.
    pub(super) fn pane_at(&self, column: u16, row: u16) -> Option<Pane> {
        let inside =
            |r: Rect| column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height;
        if inside(self.areas.layers) {
            Some(Pane::Layers)
        } else if inside(self.areas.wasted) {
            Some(Pane::Wasted)
        } else if inside(self.areas.tree) {
            Some(Pane::Tree)
        } else {
            None
        }
    }
}
