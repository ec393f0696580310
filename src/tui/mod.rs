//! The explorer: a full-screen terminal UI over the engine's model.
//!
//! Reading runs on a background thread while the first frame shows progress; keys map to
//! actions ([`keymap`]), actions change [`app::App`], and [`view`] draws it.

pub mod app;
pub mod compare;
pub mod compare_view;
pub mod export;
pub mod keymap;
pub mod runtime;
pub mod tree;
pub mod view;

use std::io::{self, Write};
use std::time::Duration;

use base64::Engine as _;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyEventKind, MouseEventKind};
use ratatui::layout::Rect;

use crate::engine::{self, LoadOptions, Loaded, Progress};
use crate::error::{Error, Result};
use crate::image::Image;
use app::App;
use keymap::{Key, Keymap};

/// Loads the user's keymap, reporting every bad binding at once.
pub fn load_keymap() -> Result<Keymap> {
    Keymap::load().map_err(|errors| Error::Usage(errors.join("; ")))
}

/// Runs the explorer on the terminal until the user quits.
pub fn run(image: Image, options: &LoadOptions, keymap: Keymap) -> Result<()> {
    let source = image.source.clone();
    let layer_count = image.layers.len();
    let progress = std::sync::Arc::new(Progress::default());
    let shown = std::sync::Arc::clone(&progress);
    let options = options.clone();
    let mut terminal = runtime::Terminal::enter(true)?;
    let loaded = runtime::load_then(
        &mut terminal,
        &source,
        move || engine::load(image, &options, &progress),
        |f| {
            view::draw_loading(
                f,
                &source,
                shown.bytes.load(std::sync::atomic::Ordering::Relaxed),
                shown.total.load(std::sync::atomic::Ordering::Relaxed),
                (
                    shown.layers_done.load(std::sync::atomic::Ordering::Relaxed),
                    layer_count,
                ),
            );
        },
    )?;
    let Some(loaded) = loaded else {
        return Ok(());
    };
    let mut app = App::new(loaded, keymap, terminal.area());
    event_loop(&mut terminal, &mut app)
}

/// Runs the explorer until the user quits; an export still running is left behind, its
/// temporary file removed, however the loop ends.
fn event_loop(terminal: &mut runtime::Terminal, app: &mut App) -> Result<()> {
    let result = events(terminal, app);
    app.abandon_export();
    result
}

fn events(terminal: &mut runtime::Terminal, app: &mut App) -> Result<()> {
    let io_err = |e: io::Error| Error::io("terminal", e);
    while !app.quit {
        terminal.draw(|f| view::draw(f, app))?;
        if let Some(text) = app.clipboard.take() {
            // OSC 52: the terminal puts the text on the clipboard, over ssh too.
            let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            let mut out = io::stdout();
            let _ = write!(out, "\x1b]52;c;{b64}\x07");
            let _ = out.flush();
        }
        // While an export streams, wake up to show its progress and its end.
        if app.exporting.is_some() && !event::poll(Duration::from_millis(100)).map_err(io_err)? {
            app.poll_export();
            continue;
        }
        match event::read().map_err(io_err)? {
            Event::Key(k) if k.kind != KeyEventKind::Release => app.key(Key::from_event(k)),
            Event::Mouse(m) => match m.kind {
                MouseEventKind::Down(_) => app.click(m.column, m.row),
                MouseEventKind::ScrollDown => app.scroll(m.column, m.row, 3),
                MouseEventKind::ScrollUp => app.scroll(m.column, m.row, -3),
                _ => {}
            },
            Event::Resize(w, h) => app.resize(Rect::new(0, 0, w, h)),
            _ => {}
        }
        app.poll_export();
    }
    Ok(())
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

/// Replays keys through the same handling the terminal uses and returns the final screen as
/// text, one line per row (for bug reports and tests).
pub fn replay(
    loaded: Loaded,
    keymap: Keymap,
    keys: &[Key],
    width: u16,
    height: u16,
) -> Result<String> {
    let mut app = App::new(loaded, keymap, Rect::new(0, 0, width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height))
        .map_err(|e| Error::format("test terminal", e.to_string()))?;
    for &key in keys {
        terminal
            .draw(|f| view::draw(f, &app))
            .map_err(|e| Error::format("test terminal", e.to_string()))?;
        app.key(key);
        app.wait_export();
        if app.quit {
            break;
        }
    }
    terminal
        .draw(|f| view::draw(f, &app))
        .map_err(|e| Error::format("test terminal", e.to_string()))?;
    Ok(screen_text(terminal.backend().buffer()))
}

/// A buffer as plain text, trailing spaces trimmed. The views escape what they draw from the
/// image; a cell holding a control character anyway is printed escaped too.
pub fn screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(&crate::report::escape::text(buffer[(x, y)].symbol()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `strata compare A B` on the terminal: both images load on background threads behind a
/// progress screen, then the compare screen runs until the user quits. Returns the comparison
/// shown (with the `limit` judged), or `None` when the user quit before it was ready. Errors
/// after the screen is taken restore the terminal first.
pub fn run_compare(
    a: Image,
    b: Image,
    options: &LoadOptions,
    keymap: Keymap,
    limit: Option<crate::analysis::compare::Limit>,
) -> Result<Option<crate::analysis::compare::Comparison>> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let (source_a, source_b) = (a.source.clone(), b.source.clone());
    let (layers_a, layers_b) = (a.layers.len(), b.layers.len());
    let (pa, pb) = (Arc::new(Progress::default()), Arc::new(Progress::default()));
    let comparing = Arc::new(AtomicBool::new(false));
    // The compare screen takes no mouse: it has nothing to click.
    let mut terminal = runtime::Terminal::enter(false)?;
    let job = {
        let (pa, pb, comparing, options) =
            (pa.clone(), pb.clone(), comparing.clone(), options.clone());
        move || {
            let named = |source: &str, r: Result<Loaded>| {
                r.map_err(|e| Error::format(format!("cannot read {source}"), e.to_string()))
            };
            let (sb, ob) = (b.source.clone(), options.clone());
            // Plain threads, not scoped: quitting while they read leaves them to the exit.
            let other = std::thread::spawn(move || engine::load(b, &ob, &pb));
            let sa = a.source.clone();
            let la = named(&sa, engine::load(a, &options, &pa));
            let lb = other
                .join()
                .unwrap_or_else(|_| Err(Error::format(sb.clone(), "the reader stopped")));
            let lb = named(&sb, lb);
            la.and_then(|la| {
                let lb = lb?;
                comparing.store(true, Ordering::Relaxed);
                let (aa, ba) = (
                    crate::analysis::Analysis::new(&la),
                    crate::analysis::Analysis::new(&lb),
                );
                let mut c = crate::analysis::compare::Comparison::new(&la, &aa, &lb, &ba);
                if let Some(l) = limit {
                    c.judge(l);
                }
                Ok(c)
            })
        }
    };
    let loaded = runtime::load_then(&mut terminal, &source_a, job, |f| {
        compare_view::draw_loading(
            f,
            &[
                compare_view::Loading {
                    label: "A",
                    source: &source_a,
                    progress: &pa,
                    layers: layers_a,
                },
                compare_view::Loading {
                    label: "B",
                    source: &source_b,
                    progress: &pb,
                    layers: layers_b,
                },
            ],
            comparing.load(Ordering::Relaxed),
        );
    })?;
    let Some(c) = loaded else {
        return Ok(None);
    };
    let mut state = compare::State::new(c, keymap, terminal.area());
    compare_loop(&mut terminal, &mut state)?;
    Ok(Some(state.comparison))
}

fn compare_loop(terminal: &mut runtime::Terminal, state: &mut compare::State) -> Result<()> {
    let io_err = |e: io::Error| Error::io("terminal", e);
    while !state.quit {
        terminal.draw(|f| compare_view::draw(f, state))?;
        match event::read().map_err(io_err)? {
            Event::Key(k) if k.kind != KeyEventKind::Release => state.key(Key::from_event(k)),
            Event::Resize(w, h) => state.resize(Rect::new(0, 0, w, h)),
            _ => {}
        }
    }
    Ok(())
}

/// The compare screen's [`replay`]: keys through the same handling, the final screen as text.
pub fn replay_compare(
    comparison: crate::analysis::compare::Comparison,
    keymap: Keymap,
    keys: &[Key],
    width: u16,
    height: u16,
) -> Result<String> {
    let test_err = |e: &dyn std::fmt::Display| Error::format("test terminal", e.to_string());
    let mut state = compare::State::new(comparison, keymap, Rect::new(0, 0, width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).map_err(|e| test_err(&e))?;
    for &key in keys {
        terminal
            .draw(|f| compare_view::draw(f, &state))
            .map_err(|e| test_err(&e))?;
        state.key(key);
        if state.quit {
            break;
        }
    }
    terminal
        .draw(|f| compare_view::draw(f, &state))
        .map_err(|e| test_err(&e))?;
    Ok(screen_text(terminal.backend().buffer()))
}
