//! How the explorer's state changes: a key goes to an open prompt or popup, or through the
//! keymap to an [`Action`], which [`App::update`] hands to the pane, popup or prompt it is
//! about; the mouse picks panes and rows; a worker's result ends an export. What a key asks of
//! the world (the clipboard, an export) is returned to the runtime as an [`Effect`], and an
//! export's end comes back as a [`WorkerEvent`]: nothing here does I/O.

use ratatui::crossterm::event::{KeyCode, MouseEvent, MouseEventKind};

use super::state::{App, Exporting, History, Input, InputKind, Pane, Popup};
use crate::overlay::{Change, NodeId};
use crate::tui::export::{self, Destination, Outcome};
use crate::tui::keymap::{Action, Key};
use crate::tui::runtime::{Effect, WorkerEvent};
use crate::tui::tree::{Filter, Mode, Sort, slot};
use crate::tui::widgets::help;
use crate::tui::widgets::list::ListState;

/// Keys, and the prompts they type into.
impl App {
    /// Handles a key: typed text goes to an open prompt, everything else through the keymap.
    /// Returns what the runtime is to do for it.
    pub fn key(&mut self, key: Key) -> Vec<Effect> {
        if key == Key::plain(KeyCode::Enter) {
            match self.popup {
                Some(Popup::Packages(list)) => {
                    self.popup = None;
                    if let Some(p) = self.analysis.packages.get(list.selected) {
                        let name = p.name.clone();
                        self.show_package(&name);
                    }
                    return Vec::new();
                }
                Some(Popup::Findings(list)) => {
                    self.popup = None;
                    self.show_finding(list.selected);
                    return Vec::new();
                }
                _ => {}
            }
        }
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
        let filter = match text.strip_prefix(PACKAGE_FILTER) {
            Some(name) => self.package_filter(name),
            None => Filter::parse(text),
        };
        match filter {
            Ok(f) => {
                self.tree.options.filter = f;
                self.filter_error = None;
                self.message = None;
                self.refresh_tree();
            }
            Err(e) => self.filter_error = Some(format!("regex: {e}")),
        }
    }
}

/// What the filter prompt takes for a package's files: `pkg:NAME`.
const PACKAGE_FILTER: &str = "pkg:";

/// Packages: the popup listing them, and the tree filtered to one's files.
impl App {
    fn open_packages(&mut self) {
        if self.analysis.packages.is_empty() {
            self.message = Some("no package database in this image".into());
        } else {
            self.popup = Some(Popup::Packages(ListState::default()));
        }
    }

    /// The rows the packages popup shows at once (its box less borders and header).
    pub(super) fn packages_height(&self) -> usize {
        usize::from(self.size.height.saturating_sub(8)).max(1)
    }

    /// The filter keeping the files packages named `name` own (every manager's: dpkg and
    /// Python may both have a `six`), with the directories above them.
    fn package_filter(&self, name: &str) -> Result<Option<Filter>, String> {
        let wanted: Vec<bool> = self
            .analysis
            .packages
            .iter()
            .map(|p| p.name == name)
            .collect();
        if !wanted.contains(&true) {
            return Err(format!(
                "no package named {}",
                crate::report::escape::text(name)
            ));
        }
        let keep: std::sync::Arc<[bool]> = self
            .analysis
            .owners
            .iter()
            .map(|&o| wanted.get(o as usize).copied().unwrap_or(false))
            .collect();
        Ok(Some(Filter::Nodes(keep)))
    }

    /// The final filesystem, filtered to the files of the packages named `name`.
    fn show_package(&mut self, name: &str) {
        let last = self.analysis.layers.len().saturating_sub(1);
        self.layers.selected = last;
        self.tree.options.layer = last;
        self.tree.options.mode = Mode::Aggregated;
        self.tree.options.hidden = [false; 5];
        self.rows = ListState::default();
        self.set_filter(&format!("{PACKAGE_FILTER}{name}"));
        self.set_focus(Pane::Tree);
        if let Some(p) = self.analysis.packages.iter().find(|p| p.name == name) {
            self.message = Some(format!(
                "{} files of {} ({}); esc shows all",
                p.files,
                crate::report::escape::text(name),
                crate::units::size(p.visible_bytes)
            ));
        }
    }
}

/// Findings: the popup listing them, and the tree showing one's layer and paths.
impl App {
    fn open_findings(&mut self) {
        if self.findings.is_empty() {
            self.message = Some("no findings".into());
        } else {
            self.popup = Some(Popup::Findings(ListState::default()));
        }
    }

    /// Finding `i`'s paths in the tree (with what is below a directory) and its sentence in
    /// the status bar: the final filesystem when every path is in it, else the layer that
    /// shipped them (a deleted file shows there, as added). A finding without paths (root,
    /// the health check, a layer's size) selects its layer.
    fn show_finding(&mut self, i: usize) {
        let Some((f, sentence)) = self.findings.get(i).cloned() else {
            return;
        };
        let fs = &self.loaded.fs;
        let nodes: Vec<NodeId> = f.paths.iter().filter_map(|p| fs.lookup(p)).collect();
        let last = self.analysis.layers.len().saturating_sub(1);
        let in_final = nodes.iter().all(|&n| fs.final_state(n).is_some());
        let (mode, layer) = match f.layer() {
            Some(k) if !in_final => (Mode::Layer, f.shipped_by.unwrap_or(k)),
            Some(k) if nodes.is_empty() => (Mode::Layer, k),
            _ => (Mode::Aggregated, last),
        };
        let layer = layer.min(last);
        self.tree.options.mode = mode;
        self.tree.options.hidden = [false; 5];
        self.layers.selected = layer;
        self.tree.options.layer = layer;
        if nodes.is_empty() {
            self.tree.options.filter = None;
            self.filter_text.clear();
        } else {
            let mut keep = vec![false; fs.node_count()];
            let mut stack = nodes;
            while let Some(n) = stack.pop() {
                if let Some(k) = keep.get_mut(n as usize)
                    && !*k
                {
                    *k = true;
                    stack.extend(fs.children(n));
                }
            }
            self.tree.options.filter = Some(Filter::Nodes(keep.into()));
            self.filter_text = format!("finding {}", f.kind.id());
        }
        self.filter_error = None;
        self.rows = ListState::default();
        self.refresh_tree();
        self.set_focus(if f.paths.is_empty() {
            Pane::Layers
        } else {
            Pane::Tree
        });
        self.message = Some(crate::report::escape::text(&sentence).into_owned());
    }
}

/// Actions, each handed to what it is about.
impl App {
    /// Applies one action; returns what the runtime is to do for it.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        if self.popup_takes(action) {
            return Vec::new();
        }
        match action {
            Action::Quit => self.quit = true,
            Action::SwitchPane => self.switch_pane(),
            Action::Filter => {
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    text: self.filter_text.clone(),
                });
            }
            Action::Escape => self.escape(),
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-self.page()),
            Action::PageDown => self.move_selection(self.page()),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::ShowAggregated => self.set_mode(Mode::Aggregated),
            Action::ShowLayer => self.set_mode(Mode::Layer),
            Action::ToggleCollapse => self.toggle_collapse(),
            Action::ToggleCollapseAll => self.toggle_collapse_all(),
            Action::Left => self.left(),
            Action::Right => self.right(),
            Action::ToggleSort => self.toggle_sort(),
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
            Action::History => self.open_history(),
            Action::Export => self.start_export(),
            Action::CopyPath => return self.copy_path(),
            Action::Jump => self.jump(),
            Action::Packages => self.open_packages(),
            Action::Findings => self.open_findings(),
        }
        Vec::new()
    }

    fn switch_pane(&mut self) {
        self.set_focus(match self.focus {
            Pane::Layers => Pane::Tree,
            Pane::Tree if !self.analysis.waste.paths.is_empty() => Pane::Wasted,
            Pane::Tree | Pane::Wasted => Pane::Layers,
        });
    }

    /// Closes the prompt, else drops the filter; clears the message either way.
    fn escape(&mut self) {
        if self.input.is_some() {
            self.input_cancel();
        } else if self.tree.options.filter.is_some() {
            self.set_filter("");
        }
        self.message = None;
    }

    /// The selected path, escaped like everything shown, for the clipboard: a name holding a
    /// line feed, pasted into a shell, would otherwise run what follows it.
    fn copy_path(&mut self) -> Vec<Effect> {
        let Some(n) = self.selected_node() else {
            return Vec::new();
        };
        let path = crate::report::escape::text(&self.loaded.fs.path(n)).into_owned();
        self.message = Some(format!("copied {path}"));
        vec![Effect::Clipboard(path)]
    }
}

/// The popups.
impl App {
    /// What an open popup does with an action; returns whether it took it. The movement keys
    /// scroll a help taller than the screen; any other key but quit closes a popup.
    fn popup_takes(&mut self, action: Action) -> bool {
        if self.popup == Some(Popup::Help) && self.scroll_help(action) {
            return true;
        }
        let page = self.packages_height();
        let len = match self.popup {
            Some(Popup::Packages(_)) => self.analysis.packages.len(),
            Some(Popup::Findings(_)) => self.findings.len(),
            _ => 0,
        };
        if let Some(Popup::Packages(list) | Popup::Findings(list)) = &mut self.popup {
            let delta = match action {
                Action::Up => -1,
                Action::Down => 1,
                Action::PageUp => -(page as isize),
                Action::PageDown => page as isize,
                Action::Top => isize::MIN / 2,
                Action::Bottom => isize::MAX / 2,
                _ => 0,
            };
            if delta != 0 {
                list.step(delta, len, page);
                return true;
            }
        }
        if self.popup.is_some() && !matches!(action, Action::Quit) {
            self.popup = None;
            return true;
        }
        false
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

    /// The history of the selected wasted path, or else of the selected tree row.
    fn open_history(&mut self) {
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
}

/// The panes: selections, and what the tree shows.
impl App {
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

    /// Folds or unfolds the selected directory.
    fn toggle_collapse(&mut self) {
        if let Some(row) = self.tree.rows.get(self.rows.selected).copied()
            && row.is_dir
        {
            self.tree.toggle_collapse(&self.loaded.fs, row.node);
            self.clamp_all();
        }
    }

    /// Folds or unfolds every directory, keeping the selected path when it still shows.
    fn toggle_collapse_all(&mut self) {
        let keep = self.selected_node();
        self.tree.toggle_collapse_all(&self.loaded.fs);
        self.rows.selected = keep
            .and_then(|n| self.tree.rows.iter().position(|r| r.node == n))
            .unwrap_or(0);
        self.clamp_all();
    }

    /// Unfolds the selected directory if it is folded.
    fn right(&mut self) {
        if let Some(row) = self.tree.rows.get(self.rows.selected).copied()
            && row.is_dir
            && row.collapsed
        {
            self.tree.toggle_collapse(&self.loaded.fs, row.node);
            self.clamp_all();
        }
    }

    fn toggle_sort(&mut self) {
        self.tree.options.sort = match self.tree.options.sort {
            Sort::Name => Sort::SizeDesc,
            Sort::SizeDesc => Sort::Name,
        };
        let keep = self.selected_node();
        self.tree.rebuild_rows(&self.loaded.fs);
        if let Some(i) = keep.and_then(|n| self.tree.rows.iter().position(|r| r.node == n)) {
            self.rows.selected = i;
        }
        self.clamp_all();
    }
}

/// Exports: the prompt, the request to the runtime, the worker's result.
impl App {
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
}

/// The mouse.
impl App {
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
        if let Some(pane) = self.pane_at(column, row) {
            self.focus = pane;
            match pane {
                Pane::Layers => {
                    if let Some(i) = list_row(
                        row,
                        self.areas.layers.y,
                        self.layers,
                        self.analysis.layers.len(),
                    ) {
                        self.layers.selected = i;
                        self.select_layer(i);
                    }
                }
                Pane::Wasted => {
                    if let Some(i) = list_row(
                        row,
                        self.areas.wasted.y,
                        self.wasted,
                        self.analysis.waste.paths.len(),
                    ) {
                        self.wasted.selected = i;
                    }
                }
                Pane::Tree => {
                    if let Some(i) =
                        list_row(row, self.areas.tree.y, self.rows, self.tree.rows.len())
                    {
                        self.rows.selected = i;
                    }
                }
            }
        }
        // The row was picked on the screen clicked; the new focus may lay it out anew.
        self.relayout();
    }

    /// Mouse wheel over a pane.
    pub fn scroll(&mut self, column: u16, row: u16, delta: isize) {
        let before = self.focus;
        if let Some(pane) = self.pane_at(column, row) {
            self.focus = pane;
        }
        self.move_selection(delta);
        if self.focus != before {
            self.focus = before;
        }
    }
}

/// The item at screen row `row` of a list whose pane starts at `top` (under its border and
/// header), if there is one.
fn list_row(row: u16, top: u16, list: ListState, len: usize) -> Option<usize> {
    let first = top + 2;
    let i = list.offset + usize::from(row.checked_sub(first)?);
    (i < len).then_some(i)
}
