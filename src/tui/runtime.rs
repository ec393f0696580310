//! The terminal runtime the screens run in: the terminal guard (raw mode, the alternate screen
//! and mouse capture, undone on every way out, a panic included) and the loader thread behind
//! a loading screen.

use std::io::{self, Write};
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, mpsc};
use std::time::Duration;

use ratatui::Frame;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers,
};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, queue};
use ratatui::layout::Rect;

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------------
// The terminal.

/// Whether a guard holds the terminal: whichever of the guard's drop and the panic hook comes
/// first restores it, once.
static ACTIVE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// The terminal, taken (raw mode, alternate screen, mouse capture if asked) for as long as this
/// lives; dropping it, or a panic meanwhile, gives it back as it was.
pub struct Terminal {
    terminal: ratatui::Terminal<CrosstermBackend<io::Stdout>>,
}

/// What setting the terminal up writes: the alternate screen, then mouse reporting if asked.
fn write_setup(out: &mut impl Write, mouse: bool) -> io::Result<()> {
    queue!(out, EnterAlternateScreen)?;
    if mouse {
        queue!(out, EnableMouseCapture)?;
    }
    out.flush()
}

/// What restoring the terminal writes: mouse reporting off while still on the alternate
/// screen (a terminal left reporting the mouse types escape sequences into the shell at every
/// click), the main screen back, the cursor shown.
fn write_restore(out: &mut impl Write) -> io::Result<()> {
    queue!(out, DisableMouseCapture, LeaveAlternateScreen, cursor::Show)?;
    out.flush()
}

/// Gives the terminal back, if a guard holds it: cooked mode, then [`write_restore`]. Errors
/// are ignored: there is nothing better to do on the way out.
fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = write_restore(&mut io::stdout());
    }
}

type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// A panic hook that runs `restore` before `previous`, so that the panic's message is printed
/// on the main screen in cooked mode, where the user can read it.
fn restoring_hook(previous: Hook, restore: impl Fn() + Sync + Send + 'static) -> Hook {
    Box::new(move |info| {
        restore();
        previous(info);
    })
}

impl Terminal {
    /// Takes the terminal; `mouse` asks for clicks and the wheel. A terminal that cannot be
    /// set up is an error, left as it was found.
    pub fn enter(mouse: bool) -> Result<Terminal> {
        HOOK.call_once(|| std::panic::set_hook(restoring_hook(std::panic::take_hook(), restore)));
        let failed = |e| Error::io("terminal", e);
        enable_raw_mode().map_err(failed)?;
        ACTIVE.store(true, Ordering::SeqCst);
        let setup = || {
            write_setup(&mut io::stdout(), mouse)?;
            ratatui::Terminal::new(CrosstermBackend::new(io::stdout()))
        };
        match setup() {
            Ok(terminal) => Ok(Terminal { terminal }),
            Err(e) => {
                restore();
                Err(failed(e))
            }
        }
    }

    /// The whole screen.
    pub fn area(&self) -> Rect {
        self.terminal
            .size()
            .map(|s| Rect::new(0, 0, s.width, s.height))
            .unwrap_or_default()
    }

    /// Draws a frame.
    pub fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> Result<()> {
        self.terminal
            .draw(render)
            .map(|_| ())
            .map_err(|e| Error::io("terminal", e))
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
    }
}

// ---------------------------------------------------------------------------------------------
// Loading.

/// Whether a key gives up the loading screen: `q` or ctrl+c, whatever the keymap says (it
/// binds the screen's keys, which are not up yet).
fn gives_up(k: KeyEvent) -> bool {
    k.kind == KeyEventKind::Press
        && (k.code == KeyCode::Char('q')
            || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL)))
}

/// Runs `job` on a thread of its own while `loading` draws every 100 ms; returns its result,
/// or `Ok(None)` when the user gives up (`q`, ctrl+c), leaving the job to finish unseen. `what`
/// names the input in the error of a job that dies without a result.
pub fn load_then<T: Send + 'static>(
    terminal: &mut Terminal,
    what: &str,
    job: impl FnOnce() -> Result<T> + Send + 'static,
    mut loading: impl FnMut(&mut Frame),
) -> Result<Option<T>> {
    let (tx, rx) = mpsc::channel();
    // A plain thread, not a scoped one: quitting while it reads leaves it to the process exit.
    std::thread::spawn(move || {
        let _ = tx.send(job());
    });
    loop {
        // A frame that fails to draw is drawn again 100 ms later.
        let _ = terminal.draw(&mut loading);
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(r) => return r.map(Some),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::format(what.to_string(), "the reader stopped"));
            }
        }
        if event::poll(Duration::ZERO).unwrap_or(false)
            && let Ok(Event::Key(k)) = event::read()
            && gives_up(k)
        {
            return Ok(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// xterm's control sequences (ctlseqs): CSI ? Pm h sets a private mode, CSI ? Pm l resets
    /// it. 1000, 1002 and 1003 report clicks, drags and motion; 1006 and 1015 the SGR and urxvt
    /// encodings; 1049 is the alternate screen (with the cursor saved); 25 shows the cursor.
    const MOUSE_OFF: &str = "\x1b[?1006l\x1b[?1015l\x1b[?1003l\x1b[?1002l\x1b[?1000l";
    const MAIN_SCREEN: &str = "\x1b[?1049l";
    const CURSOR_ON: &str = "\x1b[?25h";

    fn written(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).expect("write to a Vec");
        String::from_utf8(out).expect("escape sequences are ASCII")
    }

    /// The private modes a byte string sets (`h`) or resets (`l`), in order.
    fn modes(bytes: &str, action: char) -> Vec<u32> {
        bytes
            .split("\x1b[?")
            .skip(1)
            .filter_map(|s| {
                let end = s.find(['h', 'l'])?;
                if !s[end..].starts_with(action) {
                    return None;
                }
                s[..end].parse().ok()
            })
            .collect()
    }

    #[test]
    fn restoring_turns_the_mouse_off_before_leaving_the_alternate_screen() {
        let bytes = written(write_restore);
        assert_eq!(bytes, format!("{MOUSE_OFF}{MAIN_SCREEN}{CURSOR_ON}"));
    }

    #[test]
    fn restoring_undoes_every_mode_the_setup_sets() {
        for mouse in [false, true] {
            let setup = written(|out| write_setup(out, mouse));
            let restore = written(write_restore);
            let (set, reset) = (modes(&setup, 'h'), modes(&restore, 'l'));
            assert!(set.contains(&1049), "{setup:?}");
            assert_eq!(set.contains(&1000), mouse, "{setup:?}");
            for m in &set {
                assert!(
                    reset.contains(m),
                    "{m} is set by {setup:?}, not reset by {restore:?}"
                );
            }
            // The alternate screen is left last: everything else is undone on it.
            assert_eq!(reset.last(), Some(&1049));
        }
    }

    #[test]
    fn the_panic_hook_restores_before_the_previous_hook_prints() {
        // The hook is set for this process while the test panics; other tests' panics, on
        // their own threads, go to the hook that was there.
        let me = std::thread::current().id();
        let log = Arc::new(Mutex::new(Vec::new()));
        let original: Arc<Hook> = Arc::new(std::panic::take_hook());
        let previous: Hook = {
            let (log, original) = (Arc::clone(&log), Arc::clone(&original));
            Box::new(move |info| {
                if std::thread::current().id() == me {
                    log.lock().expect("log").push("previous");
                } else {
                    original(info);
                }
            })
        };
        let restore = {
            let log = Arc::clone(&log);
            move || {
                if std::thread::current().id() == me {
                    log.lock().expect("log").push("restore");
                }
            }
        };
        std::panic::set_hook(restoring_hook(previous, restore));
        let result = std::panic::catch_unwind(|| panic!("a test panic"));
        let _ = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| original(info)));
        assert!(result.is_err());
        assert_eq!(*log.lock().expect("log"), ["restore", "previous"]);
    }
}
