//! The explorer and the compare screen: full-screen terminal UIs over the engine's model.
//!
//! [`runtime`] takes the terminal, reads the images on a background thread behind a loading
//! screen and runs a [`runtime::Screen`]: the explorer ([`explorer::App`], drawn by
//! [`explorer::draw`]) or the compare screen ([`compare::State`], drawn by [`compare_view`]), each joined to its drawing
//! in `screens.rs`. Keys map to actions ([`keymap`]), actions change the screen's state; both
//! screens draw with the same [`widgets`] into panes laid out by [`layout`].

pub mod compare;
pub mod compare_view;
pub mod explorer;
pub mod export;
pub mod keymap;
pub mod layout;
pub mod runtime;
mod screens;
pub mod tree;
pub mod widgets;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::layout::Rect;

use crate::analysis::BuildHints;
use crate::analysis::compare::{Comparison, Limit, PairSide, load_pair};
use crate::engine::{self, LoadOptions, Loaded, Progress};
use crate::error::{Error, Result};
use crate::source::Opened;
use explorer::App;
use keymap::{Key, Keymap};
pub use runtime::screen_text;
use runtime::{RuntimeError, Terminal};
use widgets::loading::Side;

/// Loads the user's keymap, reporting every bad binding at once.
pub fn load_keymap() -> Result<Keymap> {
    Keymap::load().map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Error::Usage(lines.join("; "))
    })
}

/// Runs the explorer on the terminal until the user quits; the layers name their lines and
/// the base image's as `hints` tell.
pub fn run(
    opened: Opened,
    options: &LoadOptions,
    keymap: Keymap,
    hints: &BuildHints,
) -> Result<(), RuntimeError> {
    let source = opened.image.source.clone();
    let layer_count = opened.image.layers.len();
    let progress = Arc::new(Progress::default());
    let shown = Arc::clone(&progress);
    let options = options.clone();
    let mut terminal = Terminal::enter(true)?;
    let loaded = runtime::load_then(
        &mut terminal,
        &source,
        move || engine::load(opened, &options, &progress),
        |f| {
            let side = Side {
                label: None,
                source: &source,
                progress: &shown,
                layers: layer_count,
            };
            explorer::draw_loading(f, &side);
        },
    )?;
    let Some(loaded) = loaded else {
        return Ok(());
    };
    let mut app = App::new(loaded, keymap, terminal.area());
    app.hint(hints);
    runtime::run(&mut terminal, &mut app)
}

/// Parses a key script: keys separated by spaces (`tab j j ctrl+a / b i n enter`).
/// A key no terminal delivers as itself (ctrl+m is enter) is refused, as in `keys.conf`: the
/// replay is what a terminal would do.
pub fn parse_script(script: &str) -> Result<Vec<Key>> {
    script
        .split_whitespace()
        .map(|t| {
            let key = Key::parse(t).map_err(|e| Error::Usage(format!("--keys: {e}")))?;
            match key.indistinct() {
                None => Ok(key),
                Some(why) => Err(Error::Usage(format!("--keys: {t}: {why}"))),
            }
        })
        .collect()
}

/// Replays keys on the explorer through the same handling the terminal uses and returns the
/// final screen as text, one line per row (for bug reports and tests).
pub fn replay(loaded: Loaded, keymap: Keymap, keys: &[Key], width: u16, height: u16) -> String {
    replay_attributed(loaded, &BuildHints::default(), keymap, keys, width, height)
}

/// [`replay`], the layers naming their lines and the base image's as `hints` tell.
pub fn replay_attributed(
    loaded: Loaded,
    hints: &BuildHints,
    keymap: Keymap,
    keys: &[Key],
    width: u16,
    height: u16,
) -> String {
    let mut app = App::new(loaded, keymap, Rect::new(0, 0, width, height));
    app.hint(hints);
    runtime::replay(app, keys, width, height)
}

/// `strata compare A B` on the terminal: both images load on background threads behind a
/// progress screen, then the compare screen runs until the user quits. Returns the comparison
/// shown (with the `limit` judged), or `None` when the user quit before it was ready. Errors
/// after the screen is taken restore the terminal first.
pub fn run_compare(
    a: Opened,
    b: Opened,
    options: &LoadOptions,
    keymap: Keymap,
    limit: Option<Limit>,
) -> Result<Option<Comparison>, RuntimeError> {
    let (source_a, source_b) = (a.image.source.clone(), b.image.source.clone());
    let (layers_a, layers_b) = (a.image.layers.len(), b.image.layers.len());
    let (pa, pb) = (Arc::new(Progress::default()), Arc::new(Progress::default()));
    let comparing = Arc::new(AtomicBool::new(false));
    // The compare screen takes no mouse: it has nothing to click.
    let mut terminal = Terminal::enter(false)?;
    let job = {
        let (pa, pb, comparing, options) =
            (pa.clone(), pb.clone(), comparing.clone(), options.clone());
        let (sa, sb) = (source_a.clone(), source_b.clone());
        move || {
            let side = |opened, name, progress| PairSide {
                opened,
                name,
                progress,
            };
            let mut c = load_pair(side(a, &sa, &pa), side(b, &sb, &pb), &options, || {
                comparing.store(true, Ordering::Relaxed)
            })?;
            if let Some(l) = limit {
                c.judge(l);
            }
            Ok(c)
        }
    };
    let loaded = runtime::load_then(&mut terminal, &source_a, job, |f| {
        let sides = [
            Side {
                label: Some("A"),
                source: &source_a,
                progress: &pa,
                layers: layers_a,
            },
            Side {
                label: Some("B"),
                source: &source_b,
                progress: &pb,
                layers: layers_b,
            },
        ];
        compare_view::draw_loading(f, &sides, comparing.load(Ordering::Relaxed));
    })?;
    let Some(comparison) = loaded else {
        return Ok(None);
    };
    let mut state = compare::State::new(comparison, keymap, terminal.area());
    runtime::run(&mut terminal, &mut state)?;
    Ok(Some(state.into_comparison()))
}

/// The compare screen's [`replay`]: keys through the same handling, the final screen as text.
pub fn replay_compare(
    comparison: Comparison,
    keymap: Keymap,
    keys: &[Key],
    width: u16,
    height: u16,
) -> Result<String> {
    let state = compare::State::new(comparison, keymap, Rect::new(0, 0, width, height));
    Ok(runtime::replay(state, keys, width, height))
}
