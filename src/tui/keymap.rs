//! Keys map to actions, per pane: dive's defaults, vim keys, and overrides from a config file.
//! The help screen is generated from this table.

use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key name that names no key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key `{text}`")]
pub struct KeyError {
    /// As written.
    pub text: String,
}

/// A bad line of a keys config: the file, the line (from 1) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {problem}", path.display())]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub problem: ConfigProblem,
}

/// What is wrong with a line of a keys config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigProblem {
    /// `[name]` with a name no context has (as written between the brackets).
    #[error("unknown section [{0}]; sections are [global], [layers], [wasted], [tree]")]
    UnknownSection(String),
    /// Neither a section nor `action = keys` (the line, comments cut).
    #[error("expected `action = key, key`, found `{0}`")]
    NotABinding(String),
    #[error("unknown action `{0}`")]
    UnknownAction(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A key terminals do not deliver as itself ([`Key::indistinct`] says why).
    #[error("{key}: {why}; pick another key")]
    Indistinct { key: String, why: &'static str },
    /// `action =` with no key.
    #[error("no key for `{}`", .0.name())]
    NoKey(Action),
}

/// Where a binding applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    Global,
    Layers,
    Wasted,
    Tree,
}

impl Context {
    pub const ALL: [Context; 4] = [
        Context::Global,
        Context::Layers,
        Context::Wasted,
        Context::Tree,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Context::Global => "global",
            Context::Layers => "layers",
            Context::Wasted => "wasted",
            Context::Tree => "tree",
        }
    }
}

/// Everything a key can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    SwitchPane,
    Filter,
    Escape,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Top,
    Bottom,
    ShowAggregated,
    ShowLayer,
    ToggleCollapse,
    ToggleCollapseAll,
    ToggleSort,
    ToggleAttributes,
    HideAdded,
    HideRemoved,
    HideModified,
    HideUnmodified,
    HideMetadata,
    Help,
    History,
    Export,
    CopyPath,
    Jump,
    Packages,
    Findings,
}

impl Action {
    /// The name used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::SwitchPane => "switch-pane",
            Action::Filter => "filter",
            Action::Escape => "escape",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "left",
            Action::Right => "right",
            Action::PageUp => "page-up",
            Action::PageDown => "page-down",
            Action::Top => "top",
            Action::Bottom => "bottom",
            Action::ShowAggregated => "show-aggregated",
            Action::ShowLayer => "show-layer",
            Action::ToggleCollapse => "toggle-collapse",
            Action::ToggleCollapseAll => "toggle-collapse-all",
            Action::ToggleSort => "toggle-sort",
            Action::ToggleAttributes => "toggle-attributes",
            Action::HideAdded => "hide-added",
            Action::HideRemoved => "hide-removed",
            Action::HideModified => "hide-modified",
            Action::HideUnmodified => "hide-unmodified",
            Action::HideMetadata => "hide-metadata",
            Action::Help => "help",
            Action::History => "history",
            Action::Export => "export",
            Action::CopyPath => "copy-path",
            Action::Jump => "jump",
            Action::Packages => "packages",
            Action::Findings => "findings",
        }
    }

    /// What the help screen says.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::SwitchPane => "next pane",
            Action::Filter => "filter (substring, re:REGEX)",
            Action::Escape => "close popup / clear filter",
            Action::Up => "up",
            Action::Down => "down",
            Action::Left => "collapse / go to parent",
            Action::Right => "expand",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::ShowAggregated => "merged filesystem as of the layer",
            Action::ShowLayer => "the layer's own changes",
            Action::ToggleCollapse => "collapse / expand directory",
            Action::ToggleCollapseAll => "collapse / expand all",
            Action::ToggleSort => "sort by name / size",
            Action::ToggleAttributes => "show / hide attributes",
            Action::HideAdded => "show / hide added",
            Action::HideRemoved => "show / hide removed",
            Action::HideModified => "show / hide modified",
            Action::HideUnmodified => "show / hide unmodified",
            Action::HideMetadata => "show / hide metadata-only",
            Action::Help => "this help",
            Action::History => "history of the selected path",
            Action::Export => "export the selected file",
            Action::CopyPath => "copy the path (OSC 52)",
            Action::Jump => "jump to the path in the tree",
            Action::Packages => "packages and their files",
            Action::Findings => "findings and their files",
        }
    }

    fn from_name(name: &str) -> Option<Action> {
        ALL_ACTIONS.iter().copied().find(|a| a.name() == name)
    }
}

const ALL_ACTIONS: [Action; 30] = [
    Action::Quit,
    Action::SwitchPane,
    Action::Filter,
    Action::Escape,
    Action::Up,
    Action::Down,
    Action::Left,
    Action::Right,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
    Action::ShowAggregated,
    Action::ShowLayer,
    Action::ToggleCollapse,
    Action::ToggleCollapseAll,
    Action::ToggleSort,
    Action::ToggleAttributes,
    Action::HideAdded,
    Action::HideRemoved,
    Action::HideModified,
    Action::HideUnmodified,
    Action::HideMetadata,
    Action::Help,
    Action::History,
    Action::Export,
    Action::CopyPath,
    Action::Jump,
    Action::Packages,
    Action::Findings,
];

/// A status bar: the explorer's three panes and the compare screen's two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bar {
    Layers,
    Wasted,
    Tree,
    CompareLayers,
    CompareFiles,
}

impl Bar {
    /// Where the bar's keys are looked up (the compare screen's files are the tree's).
    pub fn context(self) -> Context {
        match self {
            Bar::Layers | Bar::CompareLayers => Context::Layers,
            Bar::Wasted => Context::Wasted,
            Bar::Tree | Bar::CompareFiles => Context::Tree,
        }
    }
}

/// What each status bar offers, with the short label it shows beside the key; every bar ends
/// with [`TAIL`]. The label belongs to a bar as well as to an action: on the compare screen tab
/// names the pane it goes to, and its groups start closed, so space expands there.
const HINTS: [(Bar, &[(Action, &str)]); 5] = [
    (
        Bar::Layers,
        &[
            (A::SwitchPane, "pane"),
            (A::ShowLayer, "layer changes"),
            (A::ShowAggregated, "aggregated"),
            (A::Filter, "filter"),
        ],
    ),
    (
        Bar::Wasted,
        &[
            (A::SwitchPane, "pane"),
            (A::Jump, "jump"),
            (A::History, "history"),
        ],
    ),
    (
        Bar::Tree,
        &[
            (A::SwitchPane, "pane"),
            (A::ToggleCollapse, "collapse"),
            (A::ToggleCollapseAll, "all"),
            (A::ToggleSort, "sort"),
            (A::HideAdded, "added"),
            (A::HideRemoved, "removed"),
            (A::HideModified, "modified"),
            (A::HideUnmodified, "unmodified"),
            (A::Filter, "filter"),
            (A::Export, "export"),
        ],
    ),
    (Bar::CompareLayers, &[(A::SwitchPane, "files")]),
    (
        Bar::CompareFiles,
        &[
            (A::SwitchPane, "layers"),
            (A::ToggleCollapse, "expand"),
            (A::Left, "collapse"),
            (A::ToggleCollapseAll, "all"),
        ],
    ),
];

/// The end of every status bar.
const TAIL: [(Action, &str); 2] = [(A::Help, "help"), (A::Quit, "quit")];

/// A key with its modifiers (shift is folded into the character for letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// From a terminal event. Terminals send ctrl+space as NUL, and shift+tab as BackTab.
    pub fn from_event(e: KeyEvent) -> Key {
        let ctrl = e.modifiers.contains(KeyModifiers::CONTROL);
        let alt = e.modifiers.contains(KeyModifiers::ALT);
        match e.code {
            KeyCode::Null => Key::ctrl(' '),
            KeyCode::Char(c) if ctrl => Key {
                code: KeyCode::Char(c.to_ascii_lowercase()),
                ctrl,
                alt,
            },
            code => Key { code, ctrl, alt },
        }
    }

    /// Why a terminal cannot deliver this key as itself, if it cannot. Terminals send ctrl+X
    /// as one byte, X's code with bits 5 and 6 cleared, so ctrl+m is CR (enter's byte), ctrl+i
    /// HT (tab), ctrl+[ ESC, ctrl+h BS (backspace's byte on many terminals); ctrl with a digit
    /// or a symbol is another key's byte or none (ctrl+@ and ctrl+2 are NUL, ctrl+space's;
    /// ctrl+\ arrives as ctrl+4); ctrl+tab and ctrl+enter send tab's and enter's bytes; alt+X
    /// is ESC then X, and ESC [ and ESC O begin the arrow and function keys' sequences. strata
    /// reads this encoding, the one every terminal speaks without being asked for another.
    pub fn indistinct(self) -> Option<&'static str> {
        match (self.ctrl, self.alt, self.code) {
            (true, _, KeyCode::Char('m') | KeyCode::Enter) => {
                Some("terminals send it as enter (both are CR)")
            }
            (true, _, KeyCode::Char('i') | KeyCode::Tab) => {
                Some("terminals send it as tab (both are HT)")
            }
            (true, _, KeyCode::Char('[') | KeyCode::Esc) => {
                Some("terminals send it as esc (both are ESC)")
            }
            (true, _, KeyCode::Char('h') | KeyCode::Backspace) => {
                Some("many terminals send backspace as it (both are BS)")
            }
            (true, _, KeyCode::Char(c)) if c != ' ' && !c.is_ascii_lowercase() => {
                Some("terminals have no code of its own for ctrl with a digit or a symbol")
            }
            (false, true, KeyCode::Char('[' | 'O')) => {
                Some("terminals begin the arrow and function keys' sequences with it")
            }
            _ => None,
        }
    }

    /// Parses `ctrl+a`, `alt+x`, `tab`, `pgdn`, `?`, `G`, `space`, `f1`.
    pub fn parse(text: &str) -> Result<Key, KeyError> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text.trim();
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.len() > 1 && lower.starts_with("ctrl+") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.len() > 1 && lower.starts_with("alt+") {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "tab" => KeyCode::Tab,
            "backtab" | "shift+tab" => KeyCode::BackTab,
            "esc" | "escape" => KeyCode::Esc,
            "enter" | "return" => KeyCode::Enter,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse::<u8>().unwrap_or(1))
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
                    _ => {
                        return Err(KeyError {
                            text: text.to_string(),
                        });
                    }
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl+")?;
        }
        if self.alt {
            f.write_str("alt+")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift+tab"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// The bindings, per context. Looked up in the focused pane's context first, then global.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Context, Key, Action)>,
}

use Action as A;
use Context as C;

fn defaults() -> Vec<(Context, &'static str, Action)> {
    vec![
        (C::Global, "q", A::Quit),
        (C::Global, "ctrl+c", A::Quit),
        (C::Global, "tab", A::SwitchPane),
        (C::Global, "ctrl+f", A::Filter),
        (C::Global, "/", A::Filter),
        (C::Global, "esc", A::Escape),
        (C::Global, "up", A::Up),
        (C::Global, "k", A::Up),
        (C::Global, "down", A::Down),
        (C::Global, "j", A::Down),
        (C::Global, "pgup", A::PageUp),
        (C::Global, "ctrl+u", A::PageUp),
        (C::Global, "pgdn", A::PageDown),
        (C::Global, "ctrl+d", A::PageDown),
        (C::Global, "g", A::Top),
        (C::Global, "home", A::Top),
        (C::Global, "G", A::Bottom),
        (C::Global, "end", A::Bottom),
        (C::Global, "?", A::Help),
        (C::Global, "p", A::Packages),
        (C::Global, "f", A::Findings),
        (C::Global, "ctrl+l", A::ShowLayer),
        (C::Layers, "ctrl+a", A::ShowAggregated),
        (C::Wasted, "ctrl+a", A::ShowAggregated),
        (C::Wasted, "enter", A::Jump),
        (C::Wasted, "H", A::History),
        (C::Tree, "left", A::Left),
        (C::Tree, "h", A::Left),
        (C::Tree, "right", A::Right),
        (C::Tree, "l", A::Right),
        (C::Tree, "space", A::ToggleCollapse),
        (C::Tree, "enter", A::ToggleCollapse),
        (C::Tree, "ctrl+space", A::ToggleCollapseAll),
        (C::Tree, "ctrl+o", A::ToggleSort),
        (C::Tree, "ctrl+b", A::ToggleAttributes),
        (C::Tree, "ctrl+a", A::HideAdded),
        (C::Tree, "ctrl+r", A::HideRemoved),
        // Not ctrl+m, dive's: terminals send it as enter (see `Key::indistinct`).
        (C::Tree, "m", A::HideModified),
        (C::Tree, "ctrl+u", A::HideUnmodified),
        (C::Tree, "ctrl+t", A::HideMetadata),
        (C::Tree, "H", A::History),
        (C::Tree, "ctrl+e", A::Export),
        (C::Tree, "x", A::Export),
        (C::Tree, "y", A::CopyPath),
    ]
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = defaults()
            .into_iter()
            .filter_map(|(c, k, a)| Key::parse(k).ok().map(|k| (c, k, a)))
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The action for a key in a pane.
    pub fn action(&self, context: Context, key: Key) -> Option<Action> {
        let find = |ctx: Context| {
            self.bindings
                .iter()
                .find(|(c, k, _)| *c == ctx && *k == key)
                .map(|(_, _, a)| *a)
        };
        find(context).or_else(|| find(Context::Global))
    }

    /// Keys bound to an action in a context (for help and the status bar).
    pub fn keys(&self, context: Context, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(c, _, a)| *c == context && *a == action)
            .map(|(_, k, _)| *k)
            .collect()
    }

    /// The first key for an action in a pane's context, else the global one (status bars).
    pub fn first_key(&self, context: Context, action: Action) -> Option<Key> {
        let find = |ctx: Context| {
            self.bindings
                .iter()
                .find(|(c, _, a)| *c == ctx && *a == action)
                .map(|(_, k, _)| *k)
        };
        find(context).or_else(|| find(Context::Global))
    }

    /// A status bar's hints: the first key of each action it offers, with its label; an
    /// action the user left without a key is left out.
    pub fn hints(&self, bar: Bar) -> Vec<(Key, &'static str)> {
        let ctx = bar.context();
        HINTS
            .iter()
            .filter(|(b, _)| *b == bar)
            .flat_map(|(_, hints)| hints.iter())
            .chain(&TAIL)
            .filter_map(|&(action, label)| self.first_key(ctx, action).map(|k| (k, label)))
            .collect()
    }

    /// Every binding, grouped by context, for the help screen.
    pub fn entries(&self) -> Vec<(Context, Action, Vec<Key>)> {
        let mut out: Vec<(Context, Action, Vec<Key>)> = Vec::new();
        for &(c, k, a) in &self.bindings {
            match out.iter_mut().find(|(oc, oa, _)| *oc == c && *oa == a) {
                Some(e) => e.2.push(k),
                None => out.push((c, a, vec![k])),
            }
        }
        out.sort_by_key(|(c, _, _)| Context::ALL.iter().position(|x| x == c));
        out
    }

    /// Applies overrides from a config file's text. Each line: `[context]` or
    /// `action = key, key` (replacing that action's keys in the current context). Every bad
    /// line is reported, with the file and line number.
    pub fn apply_config(&mut self, path: &Path, text: &str) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut context = Context::Global;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            let at = |problem| ConfigError {
                path: path.to_path_buf(),
                line: i + 1,
                problem,
            };
            if line.is_empty() {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                match Context::ALL.iter().find(|c| c.name() == name.trim()) {
                    Some(&c) => context = c,
                    None => errors.push(at(ConfigProblem::UnknownSection(name.to_string()))),
                }
                continue;
            }
            let Some((name, keys)) = line.split_once('=') else {
                errors.push(at(ConfigProblem::NotABinding(line.to_string())));
                continue;
            };
            let Some(action) = Action::from_name(name.trim()) else {
                errors.push(at(ConfigProblem::UnknownAction(name.trim().to_string())));
                continue;
            };
            let mut parsed = Vec::new();
            let errors_before = errors.len();
            for k in keys.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                // `,` itself is written `comma`.
                let k = if k == "comma" { "," } else { k };
                match Key::parse(k) {
                    Ok(key) => match key.indistinct() {
                        None => parsed.push(key),
                        Some(why) => errors.push(at(ConfigProblem::Indistinct {
                            key: k.to_string(),
                            why,
                        })),
                    },
                    Err(e) => errors.push(at(e.into())),
                }
            }
            if errors.len() > errors_before {
                continue;
            }
            if parsed.is_empty() {
                errors.push(at(ConfigProblem::NoKey(action)));
                continue;
            }
            self.bindings
                .retain(|(c, _, a)| !(*c == context && *a == action));
            for key in parsed {
                self.bindings
                    .retain(|(c, k, _)| !(*c == context && *k == key));
                self.bindings.push((context, key, action));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The keymap with the user's config applied, if there is one at the XDG location
    /// (`$XDG_CONFIG_HOME/strata/keys.conf`, else `~/.config/strata/keys.conf`).
    pub fn load() -> Result<Keymap, Vec<ConfigError>> {
        let mut map = Keymap::default();
        if let Some(path) = config_path()
            && let Ok(text) = std::fs::read_to_string(&path)
        {
            map.apply_config(&path, &text)?;
        }
        Ok(map)
    }
}

/// Where the key config lives.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("strata").join("keys.conf"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys() {
        assert_eq!(Key::parse("ctrl+a").unwrap(), Key::ctrl('a'));
        assert_eq!(Key::parse("tab").unwrap(), Key::plain(KeyCode::Tab));
        assert_eq!(Key::parse("G").unwrap(), Key::plain(KeyCode::Char('G')));
        assert_eq!(Key::parse("ctrl+space").unwrap(), Key::ctrl(' '));
        assert_eq!(Key::parse("f5").unwrap(), Key::plain(KeyCode::F(5)));
        assert!(Key::parse("ctrl+nope").is_err());
        for (_, text, _) in defaults() {
            let key = Key::parse(text).unwrap();
            assert_eq!(
                Key::parse(
                    &key.to_string()
                        .replace('↑', "up")
                        .replace('↓', "down")
                        .replace('←', "left")
                        .replace('→', "right")
                )
                .unwrap(),
                key,
                "{text}"
            );
        }
    }

    #[test]
    fn context_binding_beats_global() {
        let map = Keymap::default();
        assert_eq!(
            map.action(Context::Layers, Key::ctrl('a')),
            Some(Action::ShowAggregated)
        );
        assert_eq!(
            map.action(Context::Tree, Key::ctrl('a')),
            Some(Action::HideAdded)
        );
        assert_eq!(
            map.action(Context::Tree, Key::plain(KeyCode::Char('q'))),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(Context::Layers, Key::plain(KeyCode::Char('z'))),
            None
        );
    }

    #[test]
    fn config_overrides_and_reports_every_bad_line() {
        let mut map = Keymap::default();
        map.apply_config(
            Path::new("keys.conf"),
            "[global]\nquit = Q, ctrl+q\n[tree]\nexport = e\n",
        )
        .unwrap();
        assert_eq!(
            map.action(Context::Tree, Key::plain(KeyCode::Char('Q'))),
            Some(Action::Quit)
        );
        assert_eq!(
            map.action(Context::Tree, Key::plain(KeyCode::Char('q'))),
            None
        );
        assert_eq!(
            map.action(Context::Tree, Key::plain(KeyCode::Char('e'))),
            Some(Action::Export)
        );

        let errors = Keymap::default()
            .apply_config(
                Path::new("k.conf"),
                "quit = q\nfly = x\n[moon]\nup = ctrl+zz\nnonsense\n",
            )
            .unwrap_err();
        assert_eq!(
            (errors[0].line, &errors[0].problem),
            (2, &ConfigProblem::UnknownAction("fly".into()))
        );
        let err: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(err.len(), 4, "{err:?}");
        assert!(
            err[0].starts_with("k.conf:2: unknown action `fly`"),
            "{err:?}"
        );
        assert!(
            err[1].starts_with("k.conf:3: unknown section [moon]"),
            "{err:?}"
        );
        assert!(
            err[2].starts_with("k.conf:4: unknown key `ctrl+zz`"),
            "{err:?}"
        );
        assert!(err[3].starts_with("k.conf:5: expected"), "{err:?}");
    }

    /// The byte a terminal sends for ctrl+X in the legacy encoding every terminal speaks by
    /// default (ECMA-48: the character's code with bits 5 and 6 cleared, for `@`, `A`–`Z`,
    /// `[ \ ] ^ _`).
    fn control_byte(c: char) -> Option<u8> {
        let u = c.to_ascii_uppercase();
        ('@'..='_').contains(&u).then_some((u as u8) & 0x1f)
    }

    /// Enter, tab, esc and backspace send these bytes.
    const CR: u8 = 0x0d;
    const HT: u8 = 0x09;
    const ESC: u8 = 0x1b;
    const BS: u8 = 0x08;

    #[test]
    fn no_default_binding_is_a_byte_of_another_key() {
        for (ctx, text, action) in defaults() {
            let key = Key::parse(text).unwrap();
            if let (true, KeyCode::Char(c)) = (key.ctrl, key.code) {
                let byte = control_byte(c);
                assert!(
                    !matches!(byte, Some(CR | HT | ESC | BS)),
                    "[{}] {text} ({action:?}) sends {byte:02x?}, as enter, tab, esc or \
                     backspace do",
                    ctx.name()
                );
            }
        }
    }

    #[test]
    fn config_keys_a_terminal_cannot_tell_apart_are_refused_with_file_and_line() {
        for (key, byte, same) in [
            ("ctrl+m", CR, "enter"),
            ("ctrl+M", CR, "enter"),
            ("ctrl+i", HT, "tab"),
            ("ctrl+[", ESC, "esc"),
            ("ctrl+h", BS, "backspace"),
            ("alt+ctrl+m", CR, "enter"),
        ] {
            let c = key.chars().last().unwrap();
            assert_eq!(control_byte(c), Some(byte), "{key}");
            let text = format!("[tree]\n# mine\nhide-modified = x, {key}\n");
            let err: Vec<String> = Keymap::default()
                .apply_config(Path::new("keys.conf"), &text)
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(err.len(), 1, "{err:?}");
            assert!(err[0].starts_with("keys.conf:3: "), "{err:?}");
            assert!(err[0].contains(key) && err[0].contains(same), "{err:?}");
        }
        // What terminals do tell apart is taken.
        let mut map = Keymap::default();
        map.apply_config(
            Path::new("keys.conf"),
            "[tree]\nhide-modified = ctrl+n, alt+m, m, ctrl+j, enter, tab\n",
        )
        .unwrap();
        assert_eq!(
            map.action(Context::Tree, Key::ctrl('n')),
            Some(Action::HideModified)
        );
    }

    /// The defaults with help, sorting and the tree's pane switch rebound.
    fn rebound() -> Keymap {
        let mut map = Keymap::default();
        map.apply_config(
            Path::new("keys.conf"),
            "[global]\nhelp = f1\n[tree]\ntoggle-sort = s\nswitch-pane = ctrl+n\n",
        )
        .unwrap();
        map
    }

    /// A status bar is only as good as its keys: each one it offers does, in the bar's pane,
    /// the action it is offered for, with the defaults and with the user's own bindings.
    #[test]
    fn every_key_a_status_bar_offers_does_what_it_says() {
        for map in [Keymap::default(), rebound()] {
            for (bar, hints) in HINTS {
                let offered = map.hints(bar);
                let wanted: Vec<_> = hints.iter().chain(&TAIL).collect();
                assert_eq!(offered.len(), wanted.len(), "{bar:?}");
                for ((key, label), (action, want)) in offered.iter().zip(wanted) {
                    assert_eq!(label, want);
                    assert_eq!(
                        map.action(bar.context(), *key),
                        Some(*action),
                        "{bar:?} {key}"
                    );
                }
            }
        }
        // The user's keys are the ones shown, in the pane they were bound for.
        let shown = |bar| -> Vec<String> {
            rebound()
                .hints(bar)
                .into_iter()
                .map(|(k, l)| format!("{k} {l}"))
                .collect()
        };
        let tree = shown(Bar::Tree);
        for hint in ["ctrl+n pane", "s sort", "f1 help"] {
            assert!(tree.contains(&hint.to_string()), "{tree:?}");
        }
        assert_eq!(shown(Bar::Layers)[0], "tab pane");
    }

    #[test]
    fn shipped_example_config_parses() {
        let text = include_str!("../../docs/keys.conf");
        Keymap::default()
            .apply_config(Path::new("docs/keys.conf"), text)
            .unwrap();
    }
}
