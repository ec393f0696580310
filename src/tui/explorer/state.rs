//! The explorer's state: the image as read, its analysis, the tree pane's model and what the
//! user has on screen (focus, selections, prompt, popup, message, the export running). It
//! changes through its methods: [`super::update`]'s for keys, the mouse and workers,
//! [`super::layout`]'s for the terminal's size; [`super::draw`] reads it through the accessors
//! here. The fields are open to those modules, not beyond the explorer.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::layout::Rect;

use super::layout::Areas;
use crate::analysis::{Analysis, Cause, Finding, waste};
use crate::engine::Loaded;
use crate::overlay::{Change, Meta, NodeId};
use crate::tui::export::Destination;
use crate::tui::keymap::{Bar, Keymap};
use crate::tui::tree::Tree;
use crate::tui::widgets::list::ListState;

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
    /// The image's packages, largest first (the analysis' order); enter shows the selected
    /// one's files in the tree.
    Packages(ListState),
    /// The findings, most severe first ([`App::findings`]' order); enter shows the selected
    /// one's layer and files.
    Findings(ListState),
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
    pub(super) fn of(loaded: &Loaded, node: NodeId) -> History {
        let fs = &loaded.fs;
        let rows = fs
            .events(node)
            .iter()
            .map(|e| {
                let state = fs.event_state(e);
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

/// The analysis' findings with their sentences, in the faces' order.
fn worded(a: &Analysis) -> Vec<(Finding, String)> {
    crate::report::words::all_findings(a)
        .into_iter()
        .map(|(f, s)| (f.clone(), s))
        .collect()
}

/// An export the runtime runs on a worker thread.
#[derive(Debug)]
pub struct Exporting {
    /// The file as the user would spell it.
    pub shown: PathBuf,
    pub total: u64,
    pub(super) written: Arc<AtomicU64>,
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
    pub(super) loaded: Arc<Loaded>,
    pub(super) analysis: Analysis,
    pub(super) tree: Tree,
    pub(super) keymap: Keymap,
    pub(super) focus: Pane,
    pub(super) layers: ListState,
    pub(super) wasted: ListState,
    pub(super) rows: ListState,
    pub(super) show_attributes: bool,
    pub(super) input: Option<Input>,
    pub(super) popup: Option<Popup>,
    /// A one-line message in the status bar (errors, results of export and copy).
    pub(super) message: Option<String>,
    pub(super) quit: bool,
    pub(super) areas: Areas,
    /// The terminal's size, which the areas are computed from.
    pub(super) size: Rect,
    /// The first line of the help shown, when it scrolls.
    pub(super) help_scroll: usize,
    /// The file the last export prompt was about.
    pub(super) export_node: Option<NodeId>,
    /// Where it goes, kept while the user confirms an overwrite.
    pub(super) export_dest: Option<Destination>,
    /// The export running, if any (one at a time).
    pub(super) exporting: Option<Exporting>,
    pub(super) filter_text: String,
    /// Why `filter_text` is no filter (a regex that does not compile); the tree keeps the
    /// last good one meanwhile.
    pub(super) filter_error: Option<String>,
    /// Where typed export directories start (the current directory unless set).
    pub(super) export_base: PathBuf,
    /// Every finding with its sentence, as the faces order them (built when the analysis
    /// changes, not per frame).
    pub(super) findings: Vec<(Finding, String)>,
}

impl App {
    pub fn new(loaded: Loaded, keymap: Keymap, size: Rect) -> App {
        let analysis = Analysis::new(&loaded);
        let findings = worded(&analysis);
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
            findings,
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

    /// Names each layer's Dockerfile line and the base image's layers (`--dockerfile`,
    /// `--base`).
    pub fn hint(&mut self, hints: &crate::analysis::BuildHints) {
        self.analysis.hint(&self.loaded.image, hints);
        self.findings = worded(&self.analysis);
    }

    /// Every finding with its sentence, most severe first.
    pub fn findings(&self) -> &[(Finding, String)] {
        &self.findings
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

    /// The node of the selected tree row.
    pub fn selected_node(&self) -> Option<NodeId> {
        self.tree.rows.get(self.rows.selected).map(|r| r.node)
    }

    pub fn filter_text(&self) -> &str {
        &self.filter_text
    }

    /// Why the filter typed is not applied, if it is not.
    pub fn filter_error(&self) -> Option<&str> {
        self.filter_error.as_deref()
    }
}
