//! The explorer's per-keystroke cost on a generated image of about 500,000 paths (issue 3's
//! target: under 50 ms per action). Built in memory: ten `LayerScan`s written by hand — a large
//! base, then layers that add directories, rewrite, chmod and delete files and whole
//! directories — so no files are needed on disk.
//!
//! `cargo bench --bench tui` prints the median of each action. Every action goes through
//! `App::key`, the same path a terminal key takes; drawing is timed separately, into a
//! ratatui `TestBackend` of 200x60.

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use strata::engine::Loaded;
use strata::layer::{Kind, LayerScan, TarEntry};
use strata::overlay::Fs;
use strata::tui::explorer::App;
use strata::tui::keymap::{Key, Keymap};
use strata::tui::tree::Tree;

const LAYERS: usize = 10;
/// Base layer: 500 top directories × 20 subdirectories × 30 files.
const TOP: usize = 500;
const SUB: usize = 20;
const FILES: usize = 30;
/// Each later layer adds one directory of 100 subdirectories × 210 files.
const NEW_SUB: usize = 100;
const NEW_FILES: usize = 210;
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;

fn entry(path: String, kind: Kind, mode: u32, size: u64) -> TarEntry {
    TarEntry {
        path: path.into_bytes(),
        link: None,
        kind,
        mode,
        uid: 0,
        gid: 0,
        mtime: 1,
        size,
    }
}

fn push(scan: &mut LayerScan, e: &TarEntry, hash: u64) {
    scan.push(e, hash).expect("push entry");
}

fn file(scan: &mut LayerScan, path: String, size: u64, mode: u32, hash: u64) {
    push(scan, &entry(path, Kind::File, mode, size), hash);
}

fn dir(scan: &mut LayerScan, path: String) {
    push(scan, &entry(path, Kind::Dir, 0o755, 0), 0);
}

fn whiteout(scan: &mut LayerScan, parent: &str, name: &str) {
    push(
        scan,
        &entry(format!("{parent}/.wh.{name}"), Kind::File, 0, 0),
        0,
    );
}

/// A cheap deterministic spread of sizes and hashes.
fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 32)
}

fn base_path(t: usize, s: usize, f: usize) -> String {
    format!("usr/d{t:03}/s{s:02}/file{f:02}.dat")
}

fn generate() -> Vec<LayerScan> {
    let mut scans = Vec::with_capacity(LAYERS);
    let mut base = LayerScan::new(0);
    dir(&mut base, "usr".into());
    for t in 0..TOP {
        dir(&mut base, format!("usr/d{t:03}"));
        for s in 0..SUB {
            dir(&mut base, format!("usr/d{t:03}/s{s:02}"));
            for f in 0..FILES {
                let id = ((t * SUB + s) * FILES + f) as u64;
                file(&mut base, base_path(t, s, f), mix(id) % 65536, 0o644, id);
            }
        }
    }
    scans.push(base);
    for k in 1..LAYERS {
        let mut scan = LayerScan::new(k);
        // New files.
        for s in 0..NEW_SUB {
            dir(&mut scan, format!("opt/l{k}/s{s:03}"));
            for f in 0..NEW_FILES {
                let id = (k * 1_000_000 + s * 1000 + f) as u64;
                file(
                    &mut scan,
                    format!("opt/l{k}/s{s:03}/new{f:03}.bin"),
                    mix(id) % 131_072,
                    0o644,
                    id,
                );
            }
        }
        // Rewrites (other bytes) and chmods (same bytes) of base files.
        for i in 0..5000 {
            let (t, s, f) = ((i * 7 + k * 13) % TOP, (i + k) % SUB, (i * 3 + k) % FILES);
            let id = ((t * SUB + s) * FILES + f) as u64;
            if i % 2 == 0 {
                file(
                    &mut scan,
                    base_path(t, s, f),
                    4096,
                    0o644,
                    id + 1_000_000_007,
                );
            } else {
                file(&mut scan, base_path(t, s, f), mix(id) % 65536, 0o600, id);
            }
        }
        // Deletions: files, and one whole top directory per layer.
        for i in 0..2000 {
            let (t, s, f) = (
                (i * 11 + k * 5) % TOP,
                (i * 3 + k) % SUB,
                (i + 2 * k) % FILES,
            );
            whiteout(
                &mut scan,
                &format!("usr/d{t:03}/s{s:02}"),
                &format!("file{f:02}.dat"),
            );
        }
        whiteout(&mut scan, "usr", &format!("d{:03}", 400 + k));
        scans.push(scan);
    }
    scans
}

fn loaded(scans: Vec<LayerScan>, fs: Fs) -> Loaded {
    let mut loaded = Loaded::synthetic("generated", scans, fs);
    for layer in &mut loaded.image.layers {
        layer.created_by = Some(format!("RUN generate layer {}", layer.index));
    }
    loaded
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

struct Report {
    rows: Vec<(String, Duration, Duration, usize)>,
}

impl Report {
    fn add(&mut self, name: &str, samples: Vec<Duration>) {
        let n = samples.len();
        let max = samples.iter().copied().max().unwrap_or_default();
        let med = median(samples);
        println!(
            "{name:<44} {:>10.2} ms  (max {:>8.2} ms, n={n})",
            ms(med),
            ms(max)
        );
        self.rows.push((name.to_string(), med, max, n));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// How long `f` takes; what it returns (the effects of a key) is dropped after the clock stops.
fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let t = Instant::now();
    let out = f();
    let elapsed = t.elapsed();
    drop(out);
    elapsed
}

fn key(c: char) -> Key {
    Key::plain(KeyCode::Char(c))
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let reps = if quick { 3 } else { 15 };

    let t = Instant::now();
    let scans = generate();
    let mut fs = Fs::new();
    for s in &scans {
        fs.apply(s);
    }
    fs.finish();
    let scans: Vec<LayerScan> = scans
        .into_iter()
        .map(|mut s| {
            s.entries = Vec::new();
            s
        })
        .collect();
    println!(
        "generated image: {} layers, {} path nodes, built in {:.1} s{}",
        fs.layer_count(),
        fs.node_count() - 1,
        t.elapsed().as_secs_f64(),
        if quick { " (quick run)" } else { "" }
    );
    println!();
    let mut report = Report { rows: Vec::new() };

    report.add(
        "Tree::new (index + layer 0)",
        (0..reps).map(|_| time(|| drop(Tree::new(&fs)))).collect(),
    );
    {
        let mut tree = Tree::new(&fs);
        let mut samples = Vec::new();
        for i in 0..reps {
            tree.options.layer = 1 + i % (LAYERS - 1);
            samples.push(time(|| tree.refresh(&fs)));
        }
        report.add("Tree: switch layer (options.layer; refresh)", samples);
    }

    let t = Instant::now();
    let mut app = App::new(
        loaded(scans, fs),
        Keymap::default(),
        Rect::new(0, 0, WIDTH, HEIGHT),
    );
    println!(
        "{:<44} {:>10.2} ms  (once: analysis + tree)",
        "App::new",
        ms(t.elapsed())
    );
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    let mut draw = |app: &App| {
        time(|| {
            terminal
                .draw(|f| strata::tui::explorer::draw(f, app))
                .expect("draw");
        })
    };
    let mut frames = Vec::new();

    // Layers pane: j / k move through layers (layer mode), ctrl+a / ctrl+l toggle the mode.
    let mut samples = Vec::new();
    for i in 0..reps {
        let k = if i % (2 * (LAYERS - 1)) < LAYERS - 1 {
            key('j')
        } else {
            key('k')
        };
        samples.push(time(|| app.key(k)));
        frames.push(draw(&app));
    }
    report.add("switch layer, layer mode (j/k)", samples);

    let mut samples = Vec::new();
    for i in 0..reps {
        let k = if i % 2 == 0 {
            Key::ctrl('a')
        } else {
            Key::ctrl('l')
        };
        samples.push(time(|| app.key(k)));
        frames.push(draw(&app));
    }
    report.add("toggle mode (ctrl+a / ctrl+l)", samples);

    app.key(Key::ctrl('a'));
    let mut samples = Vec::new();
    for i in 0..reps {
        let k = if i % (2 * (LAYERS - 1)) < LAYERS - 1 {
            key('j')
        } else {
            key('k')
        };
        samples.push(time(|| app.key(k)));
        frames.push(draw(&app));
    }
    report.add("switch layer, aggregated mode (j/k)", samples);

    // The tree pane: scrolling, collapse all / expand all, sort.
    app.key(Key::plain(KeyCode::Tab));
    let mut samples = Vec::new();
    for _ in 0..reps {
        samples.push(time(|| app.key(Key::plain(KeyCode::PageDown))));
        frames.push(draw(&app));
    }
    report.add("scroll a page in the tree (pgdn)", samples);

    let (mut collapse, mut expand) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        collapse.push(time(|| app.key(Key::ctrl(' '))));
        frames.push(draw(&app));
        expand.push(time(|| app.key(Key::ctrl(' '))));
        frames.push(draw(&app));
    }
    report.add("collapse all (ctrl+space)", collapse);
    report.add("expand all (ctrl+space again)", expand);

    let mut samples = Vec::new();
    for _ in 0..reps.min(6) {
        samples.push(time(|| app.key(Key::ctrl('o'))));
        frames.push(draw(&app));
    }
    report.add("toggle sort name / size (ctrl+o)", samples);

    // Filters, typed one character at a time (each keystroke refilters).
    for (name, text) in [
        ("type a filter char, substring", "file1"),
        ("type a filter char, regex", "re:s0[0-9]/new1.*"),
    ] {
        let mut samples = Vec::new();
        for _ in 0..(reps / 5).max(1) {
            app.key(key('/'));
            for c in text.chars() {
                samples.push(time(|| app.key(key(c))));
                frames.push(draw(&app));
            }
            app.key(Key::plain(KeyCode::Esc));
        }
        report.add(name, samples);
    }

    report.add("draw a full frame 200x60", frames);

    println!();
    let worst = report
        .rows
        .iter()
        .filter(|(name, ..)| !name.starts_with("Tree::new"))
        .map(|(_, med, ..)| *med)
        .max()
        .unwrap_or_default();
    println!(
        "slowest per-keystroke median: {:.2} ms (target < 50 ms)",
        ms(worst)
    );
}
