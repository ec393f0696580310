//! The compare screen's state (`strata compare A B` in a terminal) and how actions change it:
//! the two layer stacks aligned on the left, the grouped file difference as a tree on the right.
//! Drawing ([`super::compare_view`]) only reads it, so everything here is testable without a
//! terminal.

use std::collections::HashSet;

use ratatui::layout::Rect;

use super::keymap::{Action, Bar, Key, Keymap};
use super::layout::{self, CompareAreas as Areas};
use super::runtime::Effect;
use super::widgets::list::ListState;
use crate::analysis::compare::{Comparison, FileDiff, Group};

/// The focusable panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Layers,
    Files,
}

impl Pane {
    /// The pane's status bar; its keymap context is the explorer's layers for the layer list,
    /// the explorer's tree for the file tree.
    pub fn bar(self) -> Bar {
        match self {
            Pane::Layers => Bar::CompareLayers,
            Pane::Files => Bar::CompareFiles,
        }
    }
}

/// The actions this screen handles (the help lists only these).
pub const ACTIONS: [Action; 13] = [
    Action::Quit,
    Action::SwitchPane,
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::Left,
    Action::Right,
    Action::ToggleCollapse,
    Action::ToggleCollapseAll,
    Action::Help,
];

/// A node of the group tree: a group by its index path from the top level, or a file of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    Group(Vec<usize>),
    File(Vec<usize>, usize),
}

impl Node {
    /// The group holding this node (none for a top-level group).
    pub fn parent(&self) -> Option<Node> {
        match self {
            Node::Group(p) if p.len() > 1 => Some(Node::Group(p[..p.len() - 1].to_vec())),
            Node::Group(_) => None,
            Node::File(p, _) => Some(Node::Group(p.clone())),
        }
    }
}

/// One visible row of the file tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub node: Node,
    /// 0 for the top-level groups.
    pub depth: usize,
}

/// The compare screen.
pub struct State {
    comparison: Comparison,
    keymap: Keymap,
    focus: Pane,
    /// The selected row of `comparison.layers`.
    layers: ListState,
    /// The selected row of [`State::rows`].
    files: ListState,
    /// The file tree as shown: expanded groups open, largest first.
    rows: Vec<Row>,
    /// Groups that are open.
    expanded: HashSet<Vec<usize>>,
    help: bool,
    quit: bool,
    areas: Areas,
}

impl State {
    pub fn new(comparison: Comparison, keymap: Keymap, size: Rect) -> State {
        let mut s = State {
            comparison,
            keymap,
            focus: Pane::Files,
            layers: ListState::default(),
            files: ListState::default(),
            rows: Vec::new(),
            expanded: HashSet::new(),
            help: false,
            quit: false,
            areas: Areas::default(),
        };
        s.build_rows();
        s.resize(size);
        s
    }

    pub fn resize(&mut self, size: Rect) {
        self.areas = layout::compare(size, &self.comparison);
        self.clamp_all();
    }

    /// The comparison shown.
    pub fn comparison(&self) -> &Comparison {
        &self.comparison
    }

    /// Whether the user quit.
    pub fn quit(&self) -> bool {
        self.quit
    }

    /// The comparison, once the screen is done with it.
    pub fn into_comparison(self) -> Comparison {
        self.comparison
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    /// The layer list's selection.
    pub fn layers(&self) -> ListState {
        self.layers
    }

    /// The file tree's selection.
    pub fn files(&self) -> ListState {
        self.files
    }

    /// The file tree as shown.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Whether the group at an index path is open.
    pub fn is_expanded(&self, path: &[usize]) -> bool {
        self.expanded.contains(path)
    }

    /// Whether the help covers the screen.
    pub fn help(&self) -> bool {
        self.help
    }

    pub fn areas(&self) -> Areas {
        self.areas
    }

    /// Rows a list pane shows (its height less the borders and the header).
    fn list_height(&self, pane: Pane) -> usize {
        let r = match pane {
            Pane::Layers => self.areas.layers,
            Pane::Files => self.areas.files,
        };
        usize::from(r.height.saturating_sub(3))
    }

    fn clamp_all(&mut self) {
        let (hl, hf) = (
            self.list_height(Pane::Layers),
            self.list_height(Pane::Files),
        );
        self.layers.clamp(self.comparison.layers.len(), hl);
        self.files.clamp(self.rows.len(), hf);
    }

    /// The group at an index path.
    pub fn group(&self, path: &[usize]) -> Option<&Group> {
        let (first, rest) = path.split_first()?;
        let mut g = self.comparison.groups.get(*first)?;
        for &i in rest {
            g = g.groups.get(i)?;
        }
        Some(g)
    }

    /// The file of a [`Node::File`].
    pub fn file(&self, node: &Node) -> Option<&FileDiff> {
        match node {
            Node::File(p, i) => self.group(p)?.files.get(*i),
            Node::Group(_) => None,
        }
    }

    /// The selected row of the file tree.
    pub fn selected_row(&self) -> Option<&Row> {
        self.rows.get(self.files.selected)
    }

    /// Flattens the tree: each group, then (when open) its subgroups and its files, each list
    /// largest difference first as the comparison sorts them.
    fn build_rows(&mut self) {
        fn walk(
            groups: &[Group],
            prefix: &[usize],
            depth: usize,
            expanded: &HashSet<Vec<usize>>,
            out: &mut Vec<Row>,
        ) {
            for (i, g) in groups.iter().enumerate() {
                let mut path = prefix.to_vec();
                path.push(i);
                let open = expanded.contains(&path);
                out.push(Row {
                    node: Node::Group(path.clone()),
                    depth,
                });
                if open {
                    walk(&g.groups, &path, depth + 1, expanded, out);
                    for f in 0..g.files.len() {
                        out.push(Row {
                            node: Node::File(path.clone(), f),
                            depth: depth + 1,
                        });
                    }
                }
            }
        }
        let mut rows = Vec::new();
        walk(&self.comparison.groups, &[], 0, &self.expanded, &mut rows);
        self.rows = rows;
    }

    /// Rebuilds the rows keeping the selection on the same node, or on its nearest ancestor
    /// still shown.
    fn refresh(&mut self) {
        let keep = self.selected_row().map(|r| r.node.clone());
        self.build_rows();
        let mut node = keep;
        while let Some(n) = node {
            if let Some(i) = self.rows.iter().position(|r| r.node == n) {
                self.files.selected = i;
                break;
            }
            node = n.parent();
        }
        self.clamp_all();
    }

    /// Opens or closes a group.
    pub fn set_expanded(&mut self, path: &[usize], open: bool) {
        if open {
            self.expanded.insert(path.to_vec());
        } else {
            self.expanded.remove(path);
        }
        self.refresh();
    }

    /// Closes every group when one is open, else opens them all.
    pub fn toggle_all(&mut self) {
        if self.expanded.is_empty() {
            fn all(groups: &[Group], prefix: &[usize], out: &mut HashSet<Vec<usize>>) {
                for (i, g) in groups.iter().enumerate() {
                    let mut p = prefix.to_vec();
                    p.push(i);
                    all(&g.groups, &p, out);
                    out.insert(p);
                }
            }
            let mut set = HashSet::new();
            all(&self.comparison.groups, &[], &mut set);
            self.expanded = set;
        } else {
            self.expanded.clear();
        }
        self.refresh();
    }

    /// Handles a key through the keymap (nothing this screen does needs the runtime).
    pub fn key(&mut self, key: Key) -> Vec<Effect> {
        if let Some(action) = self.keymap.action(self.focus.bar().context(), key) {
            self.update(action);
        }
        Vec::new()
    }

    fn page(&self) -> isize {
        isize::try_from(self.list_height(self.focus).max(1)).unwrap_or(1)
    }

    fn move_selection(&mut self, delta: isize) {
        let height = self.list_height(self.focus);
        match self.focus {
            Pane::Layers => self
                .layers
                .step(delta, self.comparison.layers.len(), height),
            Pane::Files => self.files.step(delta, self.rows.len(), height),
        }
    }

    /// Applies one action; the ones this screen does not know do nothing.
    pub fn update(&mut self, action: Action) {
        if self.help && action != Action::Quit {
            // Any key closes the help.
            self.help = false;
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::SwitchPane => {
                self.focus = match self.focus {
                    Pane::Layers => Pane::Files,
                    Pane::Files => Pane::Layers,
                };
            }
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-self.page()),
            Action::PageDown => self.move_selection(self.page()),
            Action::Top => self.move_selection(isize::MIN / 2),
            Action::Bottom => self.move_selection(isize::MAX / 2),
            Action::Help => self.help = true,
            Action::ToggleCollapse | Action::Right | Action::Left if self.focus == Pane::Files => {
                self.tree_action(action);
            }
            Action::ToggleCollapseAll if self.focus == Pane::Files => self.toggle_all(),
            _ => {}
        }
    }

    fn tree_action(&mut self, action: Action) {
        let Some(node) = self.selected_row().map(|r| r.node.clone()) else {
            return;
        };
        match (&node, action) {
            (Node::Group(p), Action::ToggleCollapse) => {
                let open = !self.expanded.contains(p);
                self.set_expanded(&p.clone(), open);
            }
            (Node::Group(p), Action::Right) => self.set_expanded(&p.clone(), true),
            (Node::Group(p), Action::Left) if self.expanded.contains(p) => {
                self.set_expanded(&p.clone(), false);
            }
            (_, Action::Left) => {
                if let Some(parent) = node.parent()
                    && let Some(i) = self.rows.iter().position(|r| r.node == parent)
                {
                    self.files.selected = i;
                    self.clamp_all();
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::engine::{self, LoadOptions, Progress};
    use crate::source::{self, Input, OpenOptions};
    use ratatui::crossterm::event::KeyCode;

    fn comparison(a: &str, b: &str) -> Comparison {
        let load = |name: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/images")
                .join(name);
            let input = Input::parse(&dir.to_string_lossy(), None).expect("parse the test image");
            let image = source::open(&input, &OpenOptions::default()).expect("open the test image");
            engine::load(image, &LoadOptions::default(), &Progress::default())
                .expect("load the test image")
        };
        let (la, lb) = (load(a), load(b));
        Comparison::new(&la, &Analysis::new(&la), &lb, &Analysis::new(&lb))
    }

    fn state(a: &str, b: &str, height: u16) -> State {
        State::new(
            comparison(a, b),
            Keymap::default(),
            Rect::new(0, 0, 120, height),
        )
    }

    fn program() -> State {
        state("compare-program-single", "compare-program-multi", 35)
    }

    /// The shown rows as `depth:path` (groups) or `depth:path (change)` (files).
    fn shown(s: &State) -> Vec<String> {
        s.rows
            .iter()
            .map(|r| match &r.node {
                Node::Group(p) => format!("{}:{}", r.depth, s.group(p).expect("group").path),
                n @ Node::File(..) => {
                    let f = s.file(n).expect("file");
                    format!("{}:{} ({:?})", r.depth, f.path, f.change)
                }
            })
            .collect()
    }

    fn press(s: &mut State, keys: &str) {
        for k in keys.split_whitespace() {
            s.key(Key::parse(k).expect("key"));
        }
    }

    #[test]
    fn starts_with_the_top_groups_largest_first() {
        let s = program();
        assert_eq!(
            shown(&s),
            ["0:/opt/toolchain", "0:/src", "0:/usr/local/bin", "0:/etc"]
        );
        assert_eq!(s.focus, Pane::Files);
        assert_eq!(s.files.selected, 0);
    }

    #[test]
    fn expand_shows_subgroups_then_files_and_collapse_hides_them() {
        let mut s = program();
        press(&mut s, "space");
        let rows = shown(&s);
        assert_eq!(rows[0], "0:/opt/toolchain");
        // /opt/toolchain holds only subdirectories: bin, include, lib, libexec, largest first.
        assert_eq!(rows[1], "1:/opt/toolchain/libexec");
        assert!(
            rows[1..5]
                .iter()
                .all(|r| r.starts_with("1:/opt/toolchain/"))
        );
        assert_eq!(rows[5], "0:/src");
        // Into a subgroup: its files one level deeper.
        press(&mut s, "j right");
        assert_eq!(
            shown(&s)[2],
            "2:/opt/toolchain/libexec/cc1 (Removed)",
            "{:#?}",
            shown(&s)
        );
        // Left on a file goes to its group, left again closes it, again goes to the parent.
        press(&mut s, "j left");
        assert_eq!(s.files.selected, 1);
        press(&mut s, "left");
        assert_eq!(shown(&s)[2], "1:/opt/toolchain/bin");
        press(&mut s, "left");
        assert_eq!(s.files.selected, 0);
        press(&mut s, "enter");
        assert_eq!(shown(&s).len(), 4, "closed again");
    }

    #[test]
    fn flattening_is_depth_first_and_expand_all_collapses_again() {
        let mut s = program();
        press(&mut s, "ctrl+space");
        let rows = shown(&s);
        let files: usize = s
            .comparison
            .groups
            .iter()
            .map(|g| g.all_files().len())
            .sum();
        let groups = rows.iter().filter(|r| !r.ends_with(')')).count();
        assert_eq!(rows.len() - groups, files, "every file shows once");
        // Each row's depth is at most one more than the row above; children follow parents.
        for (prev, row) in s.rows.iter().zip(&s.rows[1..]) {
            assert!(row.depth <= prev.depth + 1, "{rows:#?}");
            if let Some(parent) = row.node.parent() {
                let at = s
                    .rows
                    .iter()
                    .position(|r| r.node == parent)
                    .expect("parent");
                let me = s.rows.iter().position(|r| r == row).expect("row");
                assert!(at < me);
            }
        }
        assert!(rows.contains(&"2:/opt/toolchain/bin/cc (Removed)".to_string()));
        assert!(rows.contains(&"1:/src/main.c (Removed)".to_string()));
        // From a file deep inside, collapsing all keeps the selection on its top group.
        let deep = s
            .rows
            .iter()
            .position(|r| matches!(&r.node, Node::File(p, _) if p == &vec![1]))
            .expect("a file of /src");
        s.files.selected = deep;
        press(&mut s, "ctrl+space");
        assert_eq!(shown(&s).len(), 4);
        assert_eq!(shown(&s)[s.files.selected], "0:/src");
    }

    #[test]
    fn selection_clamps_to_the_rows_and_the_screen() {
        let mut s = program();
        press(&mut s, "G");
        assert_eq!(s.files.selected, 3);
        press(&mut s, "j j pgdn");
        assert_eq!(s.files.selected, 3, "no row past the last");
        press(&mut s, "g k pgup");
        assert_eq!(s.files.selected, 0);
        // A tiny screen: the selection scrolls into view.
        let mut s = state("compare-program-single", "compare-program-multi", 10);
        press(&mut s, "ctrl+space G");
        let height = s.list_height(Pane::Files);
        assert!(height >= 1);
        assert_eq!(s.files.selected, s.rows.len() - 1);
        assert!(s.files.offset + height > s.files.selected);
        assert!(s.files.offset <= s.files.selected);
        // Collapsing all from the bottom clamps onto a top group.
        press(&mut s, "ctrl+space");
        assert!(s.files.selected < 4);
        assert_eq!(s.files.offset, 0);
    }

    #[test]
    fn tab_moves_to_the_layers_which_scroll_on_their_own() {
        let mut s = state("compare-service-day1", "compare-service-day2", 35);
        press(&mut s, "tab j j G");
        assert_eq!(s.focus, Pane::Layers);
        assert_eq!(s.layers.selected, s.comparison.layers.len() - 1);
        assert_eq!(s.files.selected, 0);
        // Tree keys do nothing in the layers.
        let before = s.rows.len();
        press(&mut s, "space right");
        assert_eq!(s.rows.len(), before);
        press(&mut s, "? j");
        assert!(!s.help, "any key closes the help");
        assert_eq!(s.layers.selected, s.comparison.layers.len() - 1);
        s.key(Key::plain(KeyCode::Char('q')));
        assert!(s.quit);
    }
}
