//! The one runtime both screens run in: the terminal guard (raw mode, the alternate screen and
//! mouse capture, undone on every way out, a panic included), the loader thread behind a loading
//! screen, the event loop, and the replay that `--keys` and the tests use.
//!
//! A screen ([`Screen`]) is a state machine: keys, the mouse, resizes and workers' results change
//! it, and `render` only reads it. What a key asks of the world (text for the clipboard, an
//! export) comes back as an [`Effect`], which the runtime carries out: on a worker thread in a
//! terminal, so that a slow disk never holds a keystroke; on the calling thread in a replay, so
//! that a replayed screen is the same on every run.

use std::io::{self, Write};
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, mpsc};
use std::time::Duration;

use base64::Engine as _;
use ratatui::Frame;
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event, KeyCode, KeyEvent, KeyEventKind,
    KeyModifiers, MouseEvent,
};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, queue};
use ratatui::layout::Rect;

use super::export::{self, Cleanup, Outcome};
use super::keymap::Key;

/// Why a screen could not run: each renders as the one line the command line prints.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The terminal could not be set up, drawn on or read.
    #[error("terminal: {0}")]
    Terminal(#[source] io::Error),
    /// The thread reading `what` (the input as the user named it) ended without a result.
    #[error("{what}: the reader stopped")]
    ReaderStopped { what: String },
    /// Reading the input failed: the library's error, as it is.
    #[error(transparent)]
    Load(#[from] crate::Error),
}

type Result<T, E = RuntimeError> = std::result::Result<T, E>;

/// A screen the runtime drives.
pub trait Screen {
    /// A key pressed; returns what the runtime is to do for it.
    fn key(&mut self, key: Key) -> Vec<Effect>;
    /// A click or the wheel (only screens that ask for the mouse get any).
    fn mouse(&mut self, _event: MouseEvent) -> Vec<Effect> {
        Vec::new()
    }
    /// The terminal's new size.
    fn resize(&mut self, area: Rect);
    /// Draws the screen; changes nothing.
    fn render(&self, frame: &mut Frame);
    /// A worker's result.
    fn worker(&mut self, _event: WorkerEvent) {}
    /// Whether the user is done (the loop ends).
    fn done(&self) -> bool;
}

/// What a screen asks of the world.
#[derive(Debug)]
pub enum Effect {
    /// Put the text on the clipboard (OSC 52, which reaches the user's terminal over ssh too).
    Clipboard(String),
    /// Export a file (on a worker thread).
    Export(export::Request),
}

/// A worker's result, for the screen that asked.
#[derive(Debug)]
pub enum WorkerEvent {
    Export(Outcome),
}

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
        let failed = RuntimeError::Terminal;
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

    fn draw(&mut self, render: impl FnOnce(&mut Frame)) -> Result<()> {
        self.terminal
            .draw(render)
            .map(|_| ())
            .map_err(RuntimeError::Terminal)
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
    job: impl FnOnce() -> crate::Result<T> + Send + 'static,
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
            Ok(r) => return Ok(Some(r?)),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(RuntimeError::ReaderStopped {
                    what: what.to_string(),
                });
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

// ---------------------------------------------------------------------------------------------
// The event loop.

/// Runs `screen` on the terminal until it is done. An export still running then is left to the
/// process exit, its temporary file removed, however the loop ends.
pub fn run<S: Screen>(terminal: &mut Terminal, screen: &mut S) -> Result<()> {
    let mut workers = Workers::default();
    let result = events(terminal, screen, &mut workers);
    workers.abandon();
    result
}

fn events<S: Screen>(terminal: &mut Terminal, screen: &mut S, workers: &mut Workers) -> Result<()> {
    let io_err = RuntimeError::Terminal;
    while !screen.done() {
        terminal.draw(|f| screen.render(f))?;
        // While a worker runs, wake up to show its progress and its end.
        if workers.busy() && !event::poll(Duration::from_millis(100)).map_err(io_err)? {
            workers.poll(screen);
            continue;
        }
        let effects = match event::read().map_err(io_err)? {
            Event::Key(k) if k.kind != KeyEventKind::Release => screen.key(Key::from_event(k)),
            Event::Mouse(m) => screen.mouse(m),
            Event::Resize(w, h) => {
                screen.resize(Rect::new(0, 0, w, h));
                Vec::new()
            }
            _ => Vec::new(),
        };
        for effect in effects {
            match effect {
                Effect::Clipboard(text) => {
                    let mut out = io::stdout();
                    let _ = out.write_all(osc52(&text).as_bytes());
                    let _ = out.flush();
                }
                Effect::Export(request) => workers.start(request),
            }
        }
        workers.poll(screen);
    }
    Ok(())
}

/// OSC 52: the terminal puts `text` on the clipboard ("c"), base64-encoded.
fn osc52(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{b64}\x07")
}

/// What a worker says, in order: its export's cleanup once the temporary file exists, then
/// its result.
enum Message {
    Prepared(Cleanup),
    Done(WorkerEvent),
}

/// A worker thread and what the runtime knows of it.
struct Job {
    rx: mpsc::Receiver<Message>,
    cleanup: Option<Cleanup>,
}

/// The worker threads running effects for a screen.
#[derive(Default)]
pub struct Workers {
    jobs: Vec<Job>,
}

impl Workers {
    /// Runs an export on a thread of its own.
    pub fn start(&mut self, request: export::Request) {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let outcome = request.run(|cleanup| {
                let _ = tx.send(Message::Prepared(cleanup));
            });
            let _ = tx.send(Message::Done(WorkerEvent::Export(outcome)));
        });
        self.jobs.push(Job { rx, cleanup: None });
    }

    /// Whether a worker is running.
    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// Hands `screen` the results of the workers that are done, without waiting.
    pub fn poll(&mut self, screen: &mut impl Screen) {
        self.deliver(screen, false);
    }

    /// Waits for every worker and hands `screen` their results.
    pub fn wait(&mut self, screen: &mut impl Screen) {
        self.deliver(screen, true);
    }

    fn deliver(&mut self, screen: &mut impl Screen, block: bool) {
        self.jobs.retain_mut(|job| {
            loop {
                let message = if block {
                    job.rx.recv().map_err(|_| mpsc::TryRecvError::Disconnected)
                } else {
                    job.rx.try_recv()
                };
                match message {
                    Ok(Message::Prepared(cleanup)) => job.cleanup = Some(cleanup),
                    Ok(Message::Done(event)) => {
                        screen.worker(event);
                        return false;
                    }
                    Err(mpsc::TryRecvError::Empty) => return true,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        screen.worker(WorkerEvent::Export(Outcome::stopped()));
                        return false;
                    }
                }
            }
        });
    }

    /// Leaves the workers to the process exit, removing their temporary files. A worker still
    /// opening its destination is waited for, as the explorer waited for it when that ran on
    /// its thread: otherwise it could create its file after this.
    pub fn abandon(&mut self) {
        for job in self.jobs.drain(..) {
            let cleanup = match job.cleanup {
                Some(c) => Some(c),
                None => match job.rx.recv() {
                    Ok(Message::Prepared(c)) => Some(c),
                    _ => None,
                },
            };
            if let Some(c) = cleanup {
                c.run();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Replay.

/// Presses `key` and carries out its effects on this thread, handing the screen their results:
/// one key, its whole effect (replays and tests). The clipboard has no terminal to go to.
pub fn press<S: Screen>(screen: &mut S, key: Key) {
    for effect in screen.key(key) {
        match effect {
            Effect::Clipboard(_) => {}
            Effect::Export(request) => {
                let outcome = request.run(|_| {});
                screen.worker(WorkerEvent::Export(outcome));
            }
        }
    }
}

/// Replays `keys` on `screen` sized `width` x `height`, through the handling a terminal's keys
/// get, and returns the final screen's buffer. It cannot fail: the screen is in memory
/// (`TestBackend`, whose error type has no value).
pub fn replay_buffer<S: Screen>(mut screen: S, keys: &[Key], width: u16, height: u16) -> Buffer {
    screen.resize(Rect::new(0, 0, width, height));
    let Ok(mut terminal) = ratatui::Terminal::new(TestBackend::new(width, height));
    for &key in keys {
        let Ok(_) = terminal.draw(|f| screen.render(f));
        press(&mut screen, key);
        if screen.done() {
            break;
        }
    }
    let Ok(_) = terminal.draw(|f| screen.render(f));
    terminal.backend().buffer().clone()
}

/// [`replay_buffer`] as text, one line per row (for bug reports and tests).
pub fn replay<S: Screen>(screen: S, keys: &[Key], width: u16, height: u16) -> String {
    screen_text(&replay_buffer(screen, keys, width, height))
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

    /// A screen that only records the workers' results.
    #[derive(Default)]
    struct Recorder(Vec<String>);

    impl Screen for Recorder {
        fn key(&mut self, _key: Key) -> Vec<Effect> {
            Vec::new()
        }
        fn resize(&mut self, _area: Rect) {}
        fn render(&self, _frame: &mut Frame) {}
        fn worker(&mut self, event: WorkerEvent) {
            self.0.push(format!("{event:?}"));
        }
        fn done(&self) -> bool {
            false
        }
    }

    /// A job fed by the test: its sender plays the worker.
    fn job(workers: &mut Workers) -> mpsc::Sender<Message> {
        let (tx, rx) = mpsc::channel();
        workers.jobs.push(Job { rx, cleanup: None });
        tx
    }

    #[test]
    fn leaving_removes_the_temporary_files_of_exports_still_running() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.tmp"), dir.path().join("b.tmp"));
        std::fs::write(&a, "a").expect("write");
        std::fs::write(&b, "b").expect("write");
        let mut workers = Workers::default();
        // One worker's cleanup was taken by a poll while it streamed; another's is still in
        // the channel; a third went away without creating anything.
        let first = job(&mut workers);
        first
            .send(Message::Prepared(Cleanup::of(dir.path(), "a.tmp")))
            .expect("send");
        let mut screen = Recorder::default();
        workers.poll(&mut screen);
        assert!(workers.busy() && screen.0.is_empty());
        let second = job(&mut workers);
        second
            .send(Message::Prepared(Cleanup::of(dir.path(), "b.tmp")))
            .expect("send");
        drop(job(&mut workers));
        workers.abandon();
        assert!(!workers.busy());
        assert!(!a.exists() && !b.exists());
        drop((first, second));
    }

    #[test]
    fn a_worker_that_ends_hands_its_result_and_one_that_dies_says_so() {
        let mut workers = Workers::default();
        let done = job(&mut workers);
        done.send(Message::Done(WorkerEvent::Export(Outcome::Done(Ok((
            "x/f".into(),
            3,
        ))))))
        .expect("send");
        drop(job(&mut workers));
        let running = job(&mut workers);
        let mut screen = Recorder::default();
        workers.poll(&mut screen);
        assert_eq!(
            screen.0,
            [
                r#"Export(Done(Ok(("x/f", 3))))"#,
                r#"Export(Done(Err(Stopped)))"#
            ]
        );
        assert!(workers.busy(), "the running one is left");
        drop(running);
        workers.wait(&mut screen);
        assert!(!workers.busy());
        assert_eq!(screen.0.len(), 3);
    }

    /// The words are the ones printed when these were the library's errors
    /// (an I/O error on "terminal", "WHAT: the reader stopped"), and a reading
    /// error is printed as it is.
    #[test]
    fn errors_say_what_the_command_line_always_said() {
        let e = io::Error::from(io::ErrorKind::Unsupported);
        let words = e.to_string();
        assert_eq!(
            RuntimeError::Terminal(e).to_string(),
            format!("terminal: {words}")
        );
        let stopped = RuntimeError::ReaderStopped {
            what: "img.tar".into(),
        };
        assert_eq!(stopped.to_string(), "img.tar: the reader stopped");
        let inner = crate::Error::NotFound("no platform linux/s390x".into());
        assert_eq!(
            RuntimeError::from(crate::Error::NotFound("no platform linux/s390x".into()))
                .to_string(),
            inner.to_string()
        );
    }

    #[test]
    fn the_clipboard_is_set_with_osc_52() {
        // RFC 4648's base64 of "/app/a b": "L2Fw" "cC9h" "IGI=".
        assert_eq!(osc52("/app/a b"), "\x1b]52;c;L2FwcC9hIGI=\x07");
    }
}
