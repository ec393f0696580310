//! The explorer: a full-screen terminal UI over the engine's model.
//!
//! Reading runs on a background thread while the first frame shows progress; keys map to
//! actions ([`keymap`]), actions change [`app::App`], and [`view`] draws it.

pub mod app;
pub mod export;
pub mod keymap;
pub mod tree;
pub mod view;

use std::io::{self, Write};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine as _;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, MouseEventKind};
use ratatui::crossterm::execute;
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
    let progress = Progress::default();
    let mut terminal = ratatui::init();
    let _ = execute!(io::stdout(), event::EnableMouseCapture);
    let result = std::thread::scope(|s| -> Result<Option<Loaded>> {
        let (tx, rx) = mpsc::channel();
        let progress_ref = &progress;
        s.spawn(move || {
            let _ = tx.send(engine::load(image, options, progress_ref));
        });
        loop {
            let _ = terminal.draw(|f| {
                view::draw_loading(
                    f,
                    &source,
                    progress.bytes.load(std::sync::atomic::Ordering::Relaxed),
                    progress.total.load(std::sync::atomic::Ordering::Relaxed),
                    (
                        progress
                            .layers_done
                            .load(std::sync::atomic::Ordering::Relaxed),
                        layer_count,
                    ),
                );
            });
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(r) => return r.map(Some),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::format(source.clone(), "the reader stopped"));
                }
            }
            if event::poll(Duration::ZERO).unwrap_or(false)
                && let Ok(Event::Key(k)) = event::read()
                && k.kind == KeyEventKind::Press
                && (k.code == KeyCode::Char('q')
                    || (k.code == KeyCode::Char('c')
                        && k.modifiers.contains(event::KeyModifiers::CONTROL)))
            {
                // The reader finishes in the background; nothing is shown of it.
                return Ok(None);
            }
        }
    });
    let outcome = match result {
        Ok(Some(loaded)) => {
            let size = terminal
                .size()
                .map(|s| Rect::new(0, 0, s.width, s.height))
                .unwrap_or_default();
            let mut app = App::new(loaded, keymap, size);
            event_loop(&mut terminal, &mut app)
        }
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    let _ = execute!(io::stdout(), event::DisableMouseCapture);
    ratatui::restore();
    outcome
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> Result<()> {
    let io_err = |e: io::Error| Error::io("terminal", e);
    while !app.quit {
        terminal.draw(|f| view::draw(f, app)).map_err(io_err)?;
        if let Some(text) = app.clipboard.take() {
            // OSC 52: the terminal puts the text on the clipboard, over ssh too.
            let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            let mut out = io::stdout();
            let _ = write!(out, "\x1b]52;c;{b64}\x07");
            let _ = out.flush();
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
    }
    Ok(())
}

/// Parses a key script: keys separated by spaces (`tab j j ctrl+a / b i n enter`).
pub fn parse_script(script: &str) -> Result<Vec<Key>> {
    script
        .split_whitespace()
        .map(|t| Key::parse(t).map_err(|e| Error::Usage(format!("--keys: {e}"))))
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
        if app.quit {
            break;
        }
    }
    terminal
        .draw(|f| view::draw(f, &app))
        .map_err(|e| Error::format("test terminal", e.to_string()))?;
    Ok(screen_text(terminal.backend().buffer()))
}

/// A buffer as plain text, trailing spaces trimmed.
pub fn screen_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
