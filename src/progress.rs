//! The progress bar of the printing commands: one bar on stderr over every image being read
//! (one for `analyze`, two for `compare`), redrawn every 80 ms until the reading is done.
//! [`load`] reads one image under it.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::engine::{self, LoadOptions, Loaded, Progress};
use crate::source::Opened;

/// Reads an opened image, with a bar on a terminal unless `quiet`.
///
/// # Errors
/// The engine's.
pub fn load(opened: Opened, options: &LoadOptions, quiet: bool) -> crate::Result<Loaded> {
    let progress = Progress::default();
    let layers = opened.image.layers.len();
    run(&[&progress], layers, quiet, || {
        engine::load(opened, options, &progress)
    })
}

/// Runs `work` with a bar over `progress` (`layers` in all) on stderr when it is a terminal and
/// not `quiet`; returns what `work` returns.
pub fn run<T>(progress: &[&Progress], layers: usize, quiet: bool, work: impl FnOnce() -> T) -> T {
    let show = !quiet && io::stderr().is_terminal();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        if show {
            let done = &done;
            s.spawn(move || draw(progress, layers, done));
        }
        // Set on the way out, a panic in `work` included: the scope joins the bar's thread
        // before it unwinds, and a bar still drawing would hold it forever.
        let _stop = Stop(&done);
        work()
    })
}

struct Stop<'a>(&'a AtomicBool);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn draw(progress: &[&Progress], layers: usize, done: &AtomicBool) {
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} reading layers {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr())
            .with_style(style);
    let sum = |f: fn(&Progress) -> u64| progress.iter().map(|p| f(p)).sum::<u64>();
    while !done.load(Ordering::Relaxed) {
        bar.set_length(sum(|p| p.total.load(Ordering::Relaxed)).max(1));
        bar.set_position(sum(|p| p.bytes.load(Ordering::Relaxed)));
        let read: usize = progress
            .iter()
            .map(|p| p.layers_done.load(Ordering::Relaxed))
            .sum();
        bar.set_message(format!("{read}/{layers}"));
        std::thread::sleep(Duration::from_millis(80));
    }
    bar.finish_and_clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic in the work ends the bar's loop, so the panic reaches the caller instead of
    /// the scope waiting forever for the bar (the bar thread is started directly here: the
    /// tests' stderr is no terminal).
    #[test]
    fn a_panicking_work_stops_the_bar() {
        let done = AtomicBool::new(false);
        let p = Progress::default();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|s| {
                let d = &done;
                let progress = [&p];
                s.spawn(move || draw(&progress, 1, d));
                let _stop = Stop(&done);
                panic!("reader failed");
            })
        }));
        assert!(outcome.is_err());
        assert!(done.load(Ordering::Relaxed));
    }
}
