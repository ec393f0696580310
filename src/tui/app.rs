//! The explorer's state and how actions change it. Drawing ([`super::view`]) only reads it;
//! what a key asks of the world (the clipboard, an export) is returned to the runtime as an
//! [`Effect`], and an export's end comes back as a [`WorkerEvent`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::crossterm::event::{MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::export::{self, Destination, Outcome};
use super::keymap::{Action, Bar, Key, Keymap};
use super::layout::{self, Areas};
use super::runtime::{Effect, WorkerEvent};
use super::tree::{Filter, Mode, Sort, Tree, slot};
use super::widgets::help;
use super::widgets::list::ListState;
use crate::analysis::{Analysis, Cause, waste};
use crate::engine::Loaded;
use crate::overlay::{Change, Meta, NodeId};

/// The focusable panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Wasted,
    Tree,
}

impl Pane {
    /// The pane's status bar, whose context is the pane's keymap context.
    pub fn bar(self) -> Bar {
        match self {
            Pane::Layers => Bar::Layers,
            Pane::Wasted => Bar::Wasted,
            Pane::Tree => Bar::Tree,
        }
    }
}

/// A line the user is typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Export,
}

#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
}

/// What covers the panes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    History(History),
    /// An export target exists: overwrite it?
    ConfirmOverwrite(PathBuf),
}

/// A path's history, taken from the model when the popup opens: drawing reads only this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub node: NodeId,
    pub path: String,
    /// One per layer that touched the path, lowest first.
    pub rows: Vec<HistoryRow>,
}

/// What one layer did to the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRow {
    pub layer: u16,
    pub change: Change,
    /// The path after the layer (`None`: gone).
    pub state: Option<Meta>,
    /// For a regular file: whether its bytes are in the final image or wasted, and why.
    pub content: Option<Content>,
}

/// The fate of the bytes a layer shipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Visible,
    Wasted(Cause),
}

impl History {
    fn of(loaded: &Loaded, node: NodeId) -> History {
        let fs = &loaded.fs;
        let rows = fs
            .events(node)
            .iter()
            .map(|e| {
                let state = fs.event_state(e).copied();
                let content = state.and_then(|m| m.object()).map(|o| {
                    let object = fs.object(o);
                    if object.visible() {
                        Content::Visible
                    } else {
                        Content::Wasted(waste::cause_of(fs, object))
                    }
                });
                HistoryRow {
                    layer: e.layer,
                    change: e.change,
                    state,
                    content,
                }
            })
            .collect();
        History {
            node,
            path: fs.path(node),
            rows,
        }
    }
}

/// An export the runtime runs on a worker thread.
#[derive(Debug)]
pub struct Exporting {
    /// The file as the user would spell it.
    pub shown: PathBuf,
    pub total: u64,
    written: Arc<AtomicU64>,
}

impl Exporting {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

/// The explorer.
pub struct App {
    /// Shared with an export's worker thread.
    loaded: Arc<Loaded>,
    analysis: Analysis,
    tree: Tree,
    keymap: Keymap,
    focus: Pane,
    layers: ListState,
    wasted: ListState,
    rows: ListState,
    show_attributes: bool,
    input: Option<Input>,
    popup: Option<Popup>,
    /// A one-line message in the status bar (errors, results of export and copy).
    message: Option<String>,
    quit: bool,
    areas: Areas,
    /// The terminal's size, which the areas are computed from.
    size: Rect,
    /// The first line of the help shown, when it scrolls.
    help_scroll: usize,
    /// The file the last export prompt was about.
    export_node: Option<NodeId>,
    /// Where it goes, kept while the user confirms an overwrite.
    export_dest: Option<Destination>,
    /// The export running, if any (one at a time).
    exporting: Option<Exporting>,
    filter_text: String,
    /// Why `filter_text` is no filter (a regex that does not compile); the tree keeps the
    /// last good one meanwhile.
    filter_error: Option<String>,
    /// Where typed export directories start (the current directory unless set).
    export_base: PathBuf,
}

impl App {
    pub fn new(loaded: Loaded, keymap: Keymap, size: Rect) -> App {
        let analysis = Analysis::new(&loaded);
        let tree = Tree::new(&loaded.fs);
        let mut app = App {
            loaded: Arc::new(loaded),
            analysis,
            tree,
            keymap,
            focus: Pane::Layers,
            layers: ListState::default(),
            wasted: ListState::default(),
            rows: ListState::default(),
            show_attributes: true,
            input: None,
            popup: None,
            message: None,
            quit: false,
            areas: Areas::default(),
            size,
            help_scroll: 0,
            export_node: None,
            export_dest: None,
            exporting: None,
            filter_text: String::new(),
            filter_error: None,
            export_base: PathBuf::from("."),
        };
        app.resize(size);
        app
    }

    /// Exports typed as relative directories start in `dir` instead of the current directory
    /// (a host embedding the explorer, or tests sharing one process).
    pub fn with_export_base(mut self, dir: impl Into<PathBuf>) -> App {
        self.export_base = dir.into();
        self
    }

    /// The image as read.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    /// The file tree pane's model.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// The layer list's selection (the layer the tree shows).
    pub fn layers(&self) -> ListState {
        self.layers
    }

    pub fn wasted(&self) -> ListState {
        self.wasted
    }

    /// The tree pane's selection.
    pub fn rows(&self) -> ListState {
        self.rows
    }

    /// Selects tree row `i` (clamped to the rows), as a click would without moving the focus.
    pub fn select_row(&mut self, i: usize) {
        self.rows.selected = i;
        self.clamp_all();
    }

    pub fn show_attributes(&self) -> bool {
        self.show_attributes
    }

    /// The line being typed, if any.
    pub fn input(&self) -> Option<&Input> {
        self.input.as_ref()
    }

    pub fn popup(&self) -> Option<&Popup> {
        self.popup.as_ref()
    }

    /// The status bar's message (errors, results of export and copy).
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The export running, if any.
    pub fn exporting(&self) -> Option<&Exporting> {
        self.exporting.as_ref()
    }

    pub fn areas(&self) -> Areas {
        self.areas
    }

    /// The first line of the help shown.
    pub fn help_scroll(&self) -> usize {
        self.help_scroll
    }

    /// Whether the user quit.
    pub fn quit(&self) -> bool {
        self.quit
    }

    pub fn resize(&mut self, size: Rect) {
        self.size = size;
        self.relayout();
    }

    /// The areas for the size and the focus (a focused wasted list may take more room).
    fn relayout(&mut self) {
        self.areas = layout::explorer(
            self.size,
            self.focus == Pane::Wasted,
            self.analysis.waste.paths.len(),
        );
        self.clamp_all();
    }

    fn set_focus(&mut self, pane: Pane) {
        self.focus = pane;
        self.relayout();
    }

    fn tree_height(&self) -> usize {
        usize::from(self.areas.tree.height.saturating_sub(3))
    }

    fn list_height(&self, pane: Pane) -> usize {
        let r = match pane {
            Pane::Layers => self.areas.layers,
            Pane::Wasted => self.areas.wasted,
            Pane::Tree => return self.tree_height(),
        };
        usize::from(r.height.saturating_sub(3))
    }

    fn clamp_all(&mut self) {
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

    /// The node of the selected tree row.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.tree.rows.get(self.rows.selected).map(|r| r.node)
    }

    /// Handles a key: typed text goes to an open prompt, everything else through the keymap.
    /// Returns what the runtime is to do for it.
    pub fn key(&mut self, key: Key) -> Vec<Effect> {
        use ratatui::crossterm::event::KeyCode;
        if let Some(Popup::ConfirmOverwrite(_)) = self.popup {
            self.popup = None;
            if matches!(key.code, KeyCode::Char('y' | 'Y'))
                && let Some(dest) = self.export_dest.take()
            {
                return self.export_to(dest, true);
            }
            self.message = Some("export cancelled".into());
            return Vec::new();
        }
        // Many terminals send backspace as BS, which is ctrl+h.
        let key = if key == Key::ctrl('h') {
            Key::plain(KeyCode::Backspace)
        } else {
            key
        };
        if self.input.is_some() && !key.ctrl {
            match key.code {
                KeyCode::Char(c) => {
                    if let Some(i) = &mut self.input {
                        i.text.push(c);
                    }
                    self.input_changed();
                    return Vec::new();
                }
                KeyCode::Backspace => {
                    if let Some(i) = &mut self.input {
                        i.text.pop();
                    }
                    self.input_changed();
                    return Vec::new();
                }
                KeyCode::Enter => return self.input_done(),
                KeyCode::Esc => {
                    self.input_cancel();
                    return Vec::new();
                }
                _ => {}
            }
        }
        match self.keymap.action(self.focus.bar().context(), key) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    fn input_changed(&mut self) {
        if let Some(Input {
            kind: InputKind::Filter,
            text,
        }) = &self.input
        {
            let text = text.clone();
            self.set_filter(&text);
        }
    }

    fn input_done(&mut self) -> Vec<Effect> {
        let Some(input) = self.input.take() else {
            return Vec::new();
        };
        match input.kind {
            // A regex that does not compile is not taken: the prompt stays, with its error.
            InputKind::Filter if self.filter_error.is_some() => self.input = Some(input),
            InputKind::Filter => self.set_focus(Pane::Tree),
            InputKind::Export => match Destination::parse(&input.text, &self.export_base) {
                Ok(dest) => return self.export_to(dest, false),
                Err(e) => self.message = Some(format!("export failed: {e}")),
            },
        }
        Vec::new()
    }

    fn input_cancel(&mut self) {
        if let Some(input) = self.input.take()
            && input.kind == InputKind::Filter
        {
            self.set_filter("");
        }
    }

    fn set_filter(&mut self, text: &str) {
        self.filter_text = text.to_string();
        match Filter::parse(text) {
            Ok(f) => {
                self.tree.options.filter = f;
                self.filter_error = None;
                self.message = None;
                self.refresh_tree();
            }
            Err(e) => self.filter_error = Some(format!("regex: {e}")),
        }
    }

    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }

    /// Why the filter typed is not applied, if it is not.
    pub fn filter_error(&self) -> Option<&str> {
        self.filter_error.as_deref()
    }

    /// Rebuilds the tree rows, keeping the selection on the same path when it still shows.
    fn refresh_tree(&mut self) {
        let keep = self.selected_node();
        self.tree.refresh(&self.loaded.fs);
        if let Some(node) = keep
            && let Some(i) = self.tree.rows.iter().position(|r| r.node == node)
        {
            self.rows.selected = i;
        }
        self.clamp_all();
    }

    fn select_layer(&mut self, k: usize) {
        self.layers.selected = k;
        self.tree.options.layer = k;
        self.refresh_tree();
        if self.focus != Pane::Tree {
            // Browsing layers shows each tree from its top.
            self.rows = ListState::default();
        }
    }

    fn move_selection(&mut self, delta: isize) {
        let page = match self.focus {
            Pane::Tree => self.tree_height(),
            p => self.list_height(p),
        };
        match self.focus {
            Pane::Layers => {
                self.layers.step(delta, self.analysis.layers.len(), page);
                let k = self.layers.selected;
                if k != self.tree.options.layer {
                    self.select_layer(k);
                }
            }
            Pane::Wasted => self
                .wasted
                .step(delta, self.analysis.waste.paths.len(), page),
            Pane::Tree => self.rows.step(delta, self.tree.rows.len(), page),
        }
    }

    fn page(&self) -> isize {
        let h = match self.focus {
            Pane::Tree => self.tree_height(),
            p => self.list_height(p),
        };
        h.max(1) as isize
    }

    /// Applies one action; returns what the runtime is to do for it.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        if self.popup == Some(Popup::Help) && self.scroll_help(action) {
            return Vec::new();
        }
        if self.popup.is_some() && !matches!(action, Action::Quit) {
            // Any key closes a popup.
            self.popup = None;
            return Vec::new();
        }
        match action {
            Action::Quit => self.quit = true,
            Action::SwitchPane => {
                self.set_focus(match self.focus {
                    Pane::Layers => Pane::Tree,
                    Pane::Tree if !self.analysis.waste.paths.is_empty() => Pane::Wasted,
                    Pane::Tree | Pane::Wasted => Pane::Layers,
                });
            }
            Action::Filter => {
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    text: self.filter_text.clone(),
                });
            }
            Action::Escape => {
                if self.input.is_some() {
                    self.input_cancel();
                } else if self.tree.options.filter.is_some() {
                    self.set_filter("");
                }
                self.message = None;
            }
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-self.page()),
            Action::PageDown => self.move_selection(self.page()),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::ShowAggregated => self.set_mode(Mode::Aggregated),
            Action::ShowLayer => self.set_mode(Mode::Layer),
            Action::ToggleCollapse => {
                if let Some(row) = self.tree.rows.get(self.rows.selected).copied()
                    && row.is_dir
                {
                    self.tree.toggle_collapse(&self.loaded.fs, row.node);
                    self.clamp_all();
                }
            }
            Action::ToggleCollapseAll => {
                let keep = self.selected_node();
                self.tree.toggle_collapse_all(&self.loaded.fs);
                self.rows.selected = keep
                    .and_then(|n| self.tree.rows.iter().position(|r| r.node == n))
                    .unwrap_or(0);
                self.clamp_all();
            }
            Action::Left => self.left(),
            Action::Right => {
                if let Some(row) = self.tree.rows.get(self.rows.selected).copied()
                    && row.is_dir
                    && row.collapsed
                {
                    self.tree.toggle_collapse(&self.loaded.fs, row.node);
                    self.clamp_all();
                }
            }
            Action::ToggleSort => {
                self.tree.options.sort = match self.tree.options.sort {
                    Sort::Name => Sort::SizeDesc,
                    Sort::SizeDesc => Sort::Name,
                };
                let keep = self.selected_node();
                self.tree.rebuild_rows(&self.loaded.fs);
                if let Some(i) = keep.and_then(|n| self.tree.rows.iter().position(|r| r.node == n))
                {
                    self.rows.selected = i;
                }
                self.clamp_all();
            }
            Action::ToggleAttributes => self.show_attributes = !self.show_attributes,
            Action::HideAdded => self.toggle_hidden(Change::Added),
            Action::HideRemoved => self.toggle_hidden(Change::Removed),
            Action::HideModified => self.toggle_hidden(Change::Modified),
            Action::HideUnmodified => self.toggle_hidden(Change::Unchanged),
            Action::HideMetadata => self.toggle_hidden(Change::Metadata),
            Action::Help => {
                self.popup = Some(Popup::Help);
                self.help_scroll = 0;
            }
            Action::History => {
                let node = match self.focus {
                    Pane::Wasted => self
                        .analysis
                        .waste
                        .paths
                        .get(self.wasted.selected)
                        .map(|p| p.node),
                    _ => self.selected_node(),
                };
                if let Some(n) = node {
                    self.popup = Some(Popup::History(History::of(&self.loaded, n)));
                }
            }
            Action::Export => self.start_export(),
            Action::CopyPath => {
                if let Some(n) = self.selected_node() {
                    // Escaped like everything shown: a name holding a line feed, pasted into
                    // a shell, would otherwise run what follows it.
                    let path = crate::report::escape::text(&self.loaded.fs.path(n)).into_owned();
                    self.message = Some(format!("copied {path}"));
                    return vec![Effect::Clipboard(path)];
                }
            }
            Action::Jump => self.jump(),
        }
        Vec::new()
    }

    /// The movement keys scroll a help taller than the screen; returns whether `action` did.
    fn scroll_help(&mut self, action: Action) -> bool {
        let max = help::scroll_max(self.size, &self.keymap);
        if max == 0 {
            return false;
        }
        let page = usize::from(self.size.height.saturating_sub(4)).max(1);
        let now = self.help_scroll.min(max);
        self.help_scroll = match action {
            Action::Up => now.saturating_sub(1),
            Action::Down => now + 1,
            Action::PageUp => now.saturating_sub(page),
            Action::PageDown => now + page,
            Action::Top => 0,
            Action::Bottom => max,
            _ => return false,
        }
        .min(max);
        true
    }

    fn set_mode(&mut self, mode: Mode) {
        self.tree.options.mode = mode;
        self.refresh_tree();
    }

    fn toggle_hidden(&mut self, change: Change) {
        let i = slot(change);
        self.tree.options.hidden[i] = !self.tree.options.hidden[i];
        self.refresh_tree();
    }

    fn left(&mut self) {
        let Some(row) = self.tree.rows.get(self.rows.selected).copied() else {
            return;
        };
        if row.is_dir && !row.collapsed {
            self.tree.toggle_collapse(&self.loaded.fs, row.node);
        } else {
            let parent = self.loaded.fs.parent(row.node);
            if let Some(i) = self.tree.rows.iter().position(|r| r.node == parent) {
                self.rows.selected = i;
            }
        }
        self.clamp_all();
    }

    /// From a wasted path: the layer that shipped the wasted copy, its changes, the path.
    fn jump(&mut self) {
        let Some(p) = self.analysis.waste.paths.get(self.wasted.selected) else {
            return;
        };
        let (node, layer) = (p.node, p.layers.first().copied().unwrap_or(0));
        self.tree.options.mode = Mode::Layer;
        self.tree.options.filter = None;
        self.filter_text.clear();
        self.filter_error = None;
        self.tree.options.hidden = [false; 5];
        self.layers.selected = layer;
        self.tree.options.layer = layer;
        self.tree.refresh(&self.loaded.fs);
        if let Some(i) = self.tree.reveal(&self.loaded.fs, node) {
            self.rows.selected = i;
        }
        self.set_focus(Pane::Tree);
    }

    fn start_export(&mut self) {
        let Some(node) = self.selected_node() else {
            return;
        };
        if self.exporting.is_some() {
            self.message = Some("an export is running: wait for it to finish".into());
            return;
        }
        let k = self.tree.options.layer;
        match self.loaded.fs.state_at(node, k) {
            Some(m) if m.object().is_some() => {
                self.export_node = Some(node);
                self.input = Some(Input {
                    kind: InputKind::Export,
                    text: String::new(),
                });
            }
            _ => {
                self.message =
                    Some("only regular files present in this layer can be exported".into());
            }
        }
    }

    /// Asks the runtime for the export of the prompted file to `dest`; what needs no I/O is
    /// checked here, at once.
    fn export_to(&mut self, dest: Destination, overwrite: bool) -> Vec<Effect> {
        let Some(node) = self.export_node else {
            return Vec::new();
        };
        let k = self.tree.options.layer;
        match export::Request::new(&self.loaded, node, k, dest.clone(), overwrite) {
            Ok(request) => {
                self.exporting = Some(Exporting {
                    shown: request.shown().to_path_buf(),
                    total: request.size(),
                    written: request.written(),
                });
                // Kept for the question, should the name exist.
                self.export_dest = Some(dest);
                vec![Effect::Export(request)]
            }
            Err(e) => {
                self.message = Some(format!("export failed: {e}"));
                Vec::new()
            }
        }
    }

    /// A worker's result.
    pub fn worker(&mut self, event: WorkerEvent) {
        match event {
            WorkerEvent::Export(outcome) => self.export_done(outcome),
        }
    }

    /// An export's end, from the worker.
    fn export_done(&mut self, outcome: Outcome) {
        self.exporting = None;
        match outcome {
            Outcome::Exists(path) => self.popup = Some(Popup::ConfirmOverwrite(path)),
            Outcome::Done(result) => {
                self.export_dest = None;
                self.message = Some(match result {
                    Ok((path, bytes)) => format!("wrote {} ({bytes} bytes)", path.display()),
                    Err(e) => format!("export failed: {e}"),
                });
            }
        }
    }

    /// A click or the wheel.
    pub fn mouse(&mut self, event: MouseEvent) {
        match event.kind {
            MouseEventKind::Down(_) => self.click(event.column, event.row),
            MouseEventKind::ScrollDown => self.scroll(event.column, event.row, 3),
            MouseEventKind::ScrollUp => self.scroll(event.column, event.row, -3),
            _ => {}
        }
    }

    /// A click selects the row under it, in the pane it focuses.
    pub fn click(&mut self, column: u16, row: u16) {
        let inside =
            |r: Rect| column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height;
        if inside(self.areas.layers) {
            self.focus = Pane::Layers;
            let first = self.areas.layers.y + 2;
            if row >= first {
                let i = self.layers.offset + usize::from(row - first);
                if i < self.analysis.layers.len() {
                    self.layers.selected = i;
                    self.select_layer(i);
                }
            }
        } else if inside(self.areas.wasted) {
            self.focus = Pane::Wasted;
            let first = self.areas.wasted.y + 2;
            if row >= first {
                let i = self.wasted.offset + usize::from(row - first);
                if i < self.analysis.waste.paths.len() {
                    self.wasted.selected = i;
                }
            }
        } else if inside(self.areas.tree) {
            self.focus = Pane::Tree;
            let first = self.areas.tree.y + 2;
            if row >= first {
                let i = self.rows.offset + usize::from(row - first);
                if i < self.tree.rows.len() {
                    self.rows.selected = i;
                }
            }
        }
        // The row was picked on the screen clicked; the new focus may lay it out anew.
        self.relayout();
    }

    /// Mouse wheel over a pane.
    pub fn scroll(&mut self, column: u16, row: u16, delta: isize) {
        let before = self.focus;
        self.click_focus(column, row);
        self.move_selection(delta);
        if self.focus != before {
            self.focus = before;
        }
    }

    fn click_focus(&mut self, column: u16, row: u16) {
        let inside =
            |r: Rect| column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height;
        if inside(self.areas.layers) {
            self.focus = Pane::Layers;
        } else if inside(self.areas.wasted) {
            self.focus = Pane::Wasted;
        } else if inside(self.areas.tree) {
            self.focus = Pane::Tree;
        }
    }
}
