//! The explorer end to end: screen snapshots of key scripts replayed through the library (the
//! same event handling the terminal uses), export through `App`, the real binary driven in
//! tmux, and the refusals before the screen is taken.
//!
//! Content assertions come from the image itself (layer tars read with the `tar` crate, the
//! digests in the layout), from `testdata/README.md`'s layer listing and from
//! `testdata/expected.json` (the independent oracle) — the snapshots only pin the layout.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use strata::engine::{self, LoadOptions, Loaded, Progress};
use strata::overlay::Change;
use strata::tui::explorer::{App, InputKind, Pane, Popup};
use strata::tui::keymap::{Key, Keymap};
use strata::tui::runtime::{self, Effect};
use strata::tui::tree::Mode;

use crate::fixtures::compress::layer_tar;
use crate::fixtures::layout::Layout;
use crate::fixtures::run::{BIN, assert_one_line_error, run, strata};
use crate::fixtures::tar::{E, tar_of};
use crate::fixtures::tools::require;
use crate::fixtures::{image, image_arg, oracle};

const W: u16 = 100;
const H: u16 = 30;

/// `testdata/images/overlay-oci`, loaded once through the library.
fn loaded() -> Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = image("overlay-oci");
            let input = strata::source::Input::parse(path.to_str().expect("utf-8 path"), None)
                .expect("parse overlay-oci");
            let img = strata::source::open(&input, &strata::source::OpenOptions::default())
                .expect("open overlay-oci");
            engine::load(img, &LoadOptions::default(), &Progress::default())
                .expect("load overlay-oci")
        })
        .clone()
}

fn keys(script: &str) -> Vec<Key> {
    strata::tui::parse_script(script).expect("key script parses")
}

/// The final screen of a key script, as text.
fn screen(script: &str, w: u16, h: u16) -> String {
    strata::tui::replay(loaded(), Keymap::default(), &keys(script), w, h)
}

/// The explorer's state after a key script (the same handling `replay` uses).
fn app_after(script: &str, w: u16, h: u16) -> App {
    let mut app = App::new(loaded(), Keymap::default(), Rect::new(0, 0, w, h));
    for k in keys(script) {
        app.key(k);
    }
    app
}

/// `j` repeated `n` times.
fn down(n: usize) -> String {
    vec!["j"; n].join(" ")
}

/// The replayed screen followed by what text cannot show (the selection is a reversed row):
/// focus, layer, mode and the selected tree path.
fn snapshot(script: &str, w: u16, h: u16) -> String {
    let app = app_after(script, w, h);
    let selected = app
        .selected_node()
        .map_or_else(|| "-".to_string(), |n| app.loaded().fs.path(n));
    format!(
        "{}-- keys: {script:?}; focus {:?}; layer {} {:?}; tree row {}: {selected}\n",
        screen(script, w, h),
        app.focus(),
        app.tree().options.layer,
        app.tree().options.mode,
        app.rows().selected,
    )
}

fn selected_path(app: &App) -> String {
    let node = app.selected_node().expect("a row is selected");
    app.loaded().fs.path(node)
}

fn row_paths(app: &App) -> Vec<String> {
    app.tree()
        .rows
        .iter()
        .map(|r| app.loaded().fs.path(r.node))
        .collect()
}

/// The status bar (last line of the screen).
fn status(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

/// The paths of the final filesystem under `/app` according to the oracle.
fn oracle_final_app_paths() -> Vec<String> {
    let mut out: Vec<String> = oracle("overlay")["final"]
        .as_object()
        .expect("final is an object")
        .keys()
        .filter(|p| p.starts_with("app/") || *p == "app")
        .map(|p| format!("/{p}"))
        .collect();
    out.sort();
    out
}

/// The bytes of `path` in layer `k`'s tar, read with the `tar` crate.
fn file_in_layer(k: usize, path: &str) -> Vec<u8> {
    let layout = Layout::committed("overlay-oci");
    let digest = &layout.layer_digests()[k];
    let blob = fs::read(layout.blob_path(digest)).expect("read blob");
    let tar_bytes = layer_tar(&blob);
    let mut archive = tar::Archive::new(&tar_bytes[..]);
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry.path().expect("entry path").into_owned();
        let name = name.to_string_lossy();
        if name.trim_start_matches("./") == path {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read entry");
            return bytes;
        }
    }
    panic!("layer {k} has no entry {path}");
}

// ---------------------------------------------------------------------------------------------
// (a) Screens.

#[test]
fn initial_screen_focuses_layers_with_the_first_layer_expanded() {
    let s = screen("", W, H);
    insta::assert_snapshot!("initial_100x30", snapshot("", W, H));
    assert!(s.contains("Files — layer 0 changes"), "{s}");
    assert!(s.contains("busybox"), "{s}");
    assert!(status(&s).contains("tab pane"), "{s}");
    let app = app_after("", W, H);
    assert_eq!(app.focus(), Pane::Layers);
    assert_eq!(app.layers().selected, 0);
    assert_eq!(app.tree().options.mode, Mode::Layer);
    assert!(app.tree().rows.iter().all(|r| !r.collapsed));
    // 21 layers, as the README says.
    assert_eq!(app.analysis().layers.len(), 21);
}

#[test]
fn layer_2_selected_shows_its_changes_and_details() {
    let s = screen("j j", W, H);
    insta::assert_snapshot!("layer2_100x30", snapshot("j j", W, H));
    assert!(s.contains("Files — layer 2 changes"), "{s}");
    // The details name layer 2's blob, as the manifest does.
    let digest = &Layout::committed("overlay-oci").layer_digests()[2];
    assert!(
        s.contains(&digest[..19]),
        "{} not on screen:\n{s}",
        &digest[..19]
    );
    let app = app_after("j j", W, H);
    assert_eq!((app.layers().selected, app.tree().options.layer), (2, 2));
    let rows = row_paths(&app);
    for p in [
        "/app/big.bin",
        "/app/olddir/sub/three.txt",
        "/etc/hostname",
        "/usr/lib",
    ] {
        assert!(rows.contains(&p.to_string()), "{p} missing: {rows:?}");
    }
    // L1's files are not changes of layer 2.
    assert!(!rows.contains(&"/app/readme.txt".to_string()));
}

#[test]
fn aggregated_mode_at_the_last_layer_is_the_final_filesystem() {
    let s = screen("G ctrl+a", W, H);
    insta::assert_snapshot!("aggregated_last_100x30", snapshot("G ctrl+a", W, H));
    assert!(s.contains("Files — merged as of layer 20"), "{s}");
    let app = app_after("G ctrl+a", W, H);
    assert_eq!(app.tree().options.mode, Mode::Aggregated);
    let fs = &app.loaded().fs;
    let mut app_rows: Vec<String> = app
        .tree()
        .rows
        .iter()
        .map(|r| fs.path(r.node))
        .filter(|p| p == "/app" || p.starts_with("/app/"))
        .collect();
    app_rows.sort();
    assert_eq!(app_rows, oracle_final_app_paths());
    for r in &app.tree().rows {
        let p = fs.path(r.node);
        if p.starts_with("/app") {
            assert_eq!(r.diff, Change::Added, "{p}: /app is not in layer 0");
        }
        if p == "/bin/busybox" || p == "/etc/passwd" {
            assert_eq!(r.diff, Change::Unchanged, "{p}");
        }
    }
}

#[test]
fn the_tree_focused_with_the_selection_moved() {
    let s = screen("j tab j j j", W, H);
    insta::assert_snapshot!("tree_focused_100x30", snapshot("j tab j j j", W, H));
    assert!(status(&s).contains("space collapse"), "{s}");
    let app = app_after("j tab j j j", W, H);
    assert_eq!(app.focus(), Pane::Tree);
    // Layer 1 (README): app/, app/bin/, app/bin/tool.sh, app/cfg/, … — the fourth row.
    assert_eq!(
        row_paths(&app),
        [
            "/app",
            "/app/bin",
            "/app/bin/tool.sh",
            "/app/cfg",
            "/app/cfg/app.conf",
            "/app/readme.txt"
        ]
    );
    assert_eq!(selected_path(&app), "/app/cfg");
}

#[test]
fn a_typed_filter_shows_its_match_count() {
    // `.txt` paths of the final filesystem, from the oracle (all under /app, all added since
    // layer 0, none removed against it).
    let want = oracle_final_app_paths()
        .iter()
        .filter(|p| p.contains("txt"))
        .count();
    let typing = screen("G ctrl+a / t x t", W, H);
    assert!(
        status(&typing).contains(&format!("Filter (re: for regex): txt█  {want} matches")),
        "{}",
        status(&typing)
    );
    insta::assert_snapshot!(
        "filter_txt_typing_100x30",
        snapshot("G ctrl+a / t x t", W, H)
    );
    let app = app_after("G ctrl+a / t x t enter", W, H);
    assert_eq!(
        app.focus(),
        Pane::Tree,
        "enter leaves the prompt for the tree"
    );
    assert_eq!(app.tree().match_count, want);
    let matched: Vec<String> = app
        .tree()
        .rows
        .iter()
        .filter(|r| r.matched)
        .map(|r| app.loaded().fs.path(r.node))
        .collect();
    assert_eq!(matched.len(), want);
    assert!(matched.iter().all(|p| p.contains("txt")));
    // A bad regex keeps the last good view and says why.
    let bad = screen("G ctrl+a / r e : ( enter", W, H);
    assert!(status(&bad).contains("regex:"), "{}", status(&bad));
}

#[test]
fn an_entered_filter_shows_its_match_count() {
    let want = oracle_final_app_paths()
        .iter()
        .filter(|p| p.contains("txt"))
        .count();
    for (w, h) in [(100, 30), (120, 35)] {
        let s = screen("G ctrl+a / t x t enter", w, h);
        assert!(s.contains(&format!("{want} matches")), "{w}x{h}:\n{s}");
    }
}

#[test]
fn hiding_added_files_leaves_the_removed_ones() {
    // Layer 11 (README): recreate/ with new.txt, and whiteouts of old1.txt and old2.txt.
    let script = format!("{} tab ctrl+a", down(11));
    let s = screen(&script, W, H);
    insta::assert_snapshot!("hide_added_layer11_100x30", snapshot(&script, W, H));
    assert!(s.contains("Files — layer 11 changes"), "{s}");
    assert!(s.contains("old1.txt") && s.contains("old2.txt"), "{s}");
    let app = app_after(&script, W, H);
    let rows = row_paths(&app);
    assert!(
        !rows.contains(&"/app/recreate/new.txt".to_string()),
        "{rows:?}"
    );
    for p in ["/app/recreate/old1.txt", "/app/recreate/old2.txt"] {
        assert!(rows.contains(&p.to_string()), "{p}: {rows:?}");
    }
    assert!(app.tree().rows.iter().all(|r| r.diff != Change::Added));
    // Shown again with the same key.
    let app = app_after(&format!("{script} ctrl+a"), W, H);
    assert!(row_paths(&app).contains(&"/app/recreate/new.txt".to_string()));
}

#[test]
fn sorting_by_size_orders_siblings_largest_first() {
    let s = screen("j j tab ctrl+o", W, H);
    insta::assert_snapshot!("sort_size_layer2_100x30", snapshot("j j tab ctrl+o", W, H));
    assert!(s.contains("Files — layer 2 changes, by size"), "{s}");
    let app = app_after("j j tab ctrl+o", W, H);
    let rows = &app.tree().rows;
    assert_eq!(app.loaded().fs.path(rows[0].node), "/app");
    assert_eq!(app.loaded().fs.path(rows[1].node), "/app/big.bin");
    // Each row's next sibling is not larger.
    for (i, r) in rows.iter().enumerate() {
        let next = rows[i + 1..]
            .iter()
            .take_while(|n| n.depth >= r.depth)
            .find(|n| n.depth == r.depth);
        if let Some(n) = next {
            assert!(n.size <= r.size, "row {i}: {} after {}", n.size, r.size);
        }
    }
}

#[test]
fn collapse_all_lists_only_the_top_directories() {
    let s = screen("j j tab ctrl+space", W, H);
    insta::assert_snapshot!(
        "collapse_all_layer2_100x30",
        snapshot("j j tab ctrl+space", W, H)
    );
    let app = app_after("j j tab ctrl+space", W, H);
    assert_eq!(
        row_paths(&app),
        ["/app", "/dev", "/etc", "/proc", "/run", "/sys", "/usr"]
    );
    assert!(app.tree().rows.iter().all(|r| r.collapsed));
    assert!(s.contains("app ⊕"), "{s}");
    let app = app_after("j j tab ctrl+space ctrl+space", W, H);
    assert!(app.tree().rows.len() > 7);
    assert!(app.tree().rows.iter().all(|r| !r.collapsed));
}

#[test]
fn the_help_popup_lists_bindings_from_the_keymap() {
    let s = screen("?", W, H);
    insta::assert_snapshot!("help_100x30", snapshot("?", W, H));
    assert!(s.contains(" Keys "), "{s}");
    assert!(s.contains("[global]"), "{s}");
    assert!(s.contains("q, ctrl+c"), "{s}");
    let app = app_after("?", W, H);
    assert_eq!(app.popup(), Some(&Popup::Help));
    let app = app_after("? j", W, H);
    assert_eq!(app.popup(), None, "any key closes the help");
    assert_eq!(app.layers().selected, 0, "…and does nothing else");
}

#[test]
fn the_help_popup_shows_every_binding() {
    let s = screen("?", W, H);
    for (_, action, _) in Keymap::default().entries() {
        assert!(
            s.contains(action.describe()),
            "{:?} ({}) missing from the help:\n{s}",
            action,
            action.describe()
        );
    }
}

#[test]
fn the_history_popup_lists_every_layer_that_touched_the_path() {
    // Layer 5 rewrote /app/overwrite.txt (README); its rows: /app, /app/overwrite.txt.
    let script = format!("{} tab j H", down(5));
    let s = screen(&script, W, H);
    insta::assert_snapshot!("history_overwrite_100x30", snapshot(&script, W, H));
    let app = app_after(&script, W, H);
    let node = app.loaded().fs.lookup("app/overwrite.txt").expect("node");
    assert!(
        matches!(app.popup(), Some(Popup::History(h)) if h.node == node),
        "{:?}",
        app.popup()
    );
    assert!(s.contains(" History "), "{s}");
    assert!(s.contains("/app/overwrite.txt"), "{s}");
    let lines: Vec<&str> = s.lines().collect();
    let has = |layer: &str, change: &str, extra: &str| {
        lines.iter().any(|l| {
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            l.contains(&format!("{layer} {change}")) && l.contains(extra)
        })
    };
    // L2 shipped 4096 bytes, overwritten at L5 by 4096 other bytes that are still visible.
    assert!(has("2", "added", "wasted (overwritten)"), "{s}");
    assert!(has("5", "modified", "visible"), "{s}");
}

#[test]
fn jump_from_the_wasted_list_selects_the_path_at_the_wasting_layer() {
    let s = screen("tab tab enter", W, H);
    insta::assert_snapshot!("jump_big_bin_100x30", snapshot("tab tab enter", W, H));
    assert!(s.contains("Files — layer 2 changes"), "{s}");
    let app = app_after("tab tab enter", W, H);
    assert_eq!(app.focus(), Pane::Tree);
    assert_eq!(app.layers().selected, 2);
    assert_eq!(app.tree().options.layer, 2);
    assert_eq!(app.tree().options.mode, Mode::Layer);
    assert_eq!(selected_path(&app), "/app/big.bin");
    // Every wasted path: the jump lands on it, at the first layer the list names.
    let n = app.analysis().waste.paths.len();
    assert_eq!(n, 14, "README: 14 wasted paths");
    for i in 0..n {
        let app = app_after(&format!("tab tab {} enter", down(i)), W, H);
        let p = &app.analysis().waste.paths[i];
        assert_eq!(app.tree().options.layer, p.layers[0], "{}", p.path);
        assert_eq!(app.layers().selected, p.layers[0], "{}", p.path);
        assert_eq!(app.selected_node(), Some(p.node), "{}", p.path);
        // The row is on screen.
        let h = usize::from(app.areas().tree.height.saturating_sub(3));
        assert!(
            app.rows().selected >= app.rows().offset && app.rows().selected < app.rows().offset + h
        );
    }
}

#[test]
fn jump_expands_collapsed_directories_and_clears_the_filter() {
    let app = app_after("j j tab ctrl+space tab enter", W, H);
    assert_eq!(selected_path(&app), "/app/big.bin");
    let app = app_after("j j tab / z z z enter tab enter", W, H);
    assert_eq!(selected_path(&app), "/app/big.bin");
    assert_eq!(app.filter_text(), "");
}

#[test]
fn the_export_prompt_opens_on_a_file() {
    // Layer 1, last row: /app/readme.txt.
    let s = screen("j tab G x", W, H);
    insta::assert_snapshot!("export_prompt_100x30", snapshot("j tab G x", W, H));
    assert!(
        status(&s).starts_with("Export to directory: █"),
        "{}",
        status(&s)
    );
    let app = app_after("j tab G x", W, H);
    assert_eq!(selected_path(&app), "/app/readme.txt");
    assert_eq!(app.input().map(|i| &i.kind), Some(&InputKind::Export));
    // On a directory: a message, no prompt.
    let app = app_after("j tab x", W, H);
    assert!(app.input().is_none());
    assert!(app.message().unwrap_or("").contains("only regular files"));
}

#[test]
fn the_smallest_supported_screen_80x24() {
    let s = screen("j j", 80, 24);
    insta::assert_snapshot!("layer2_80x24", snapshot("j j", 80, 24));
    assert_eq!(s.lines().count(), 24);
    assert!(s.lines().all(|l| l.chars().count() <= 80));
    assert!(s.contains("Files — layer 2 changes"), "{s}");
    assert!(s.contains("big.bin"), "{s}");
}

#[test]
fn layer_details_show_the_counts_on_small_screens() {
    // Layer 2 adds 30 paths: the 32 entries of README's listing minus /app and /etc, which
    // existed already.
    for (w, h) in [(100, 30), (80, 24)] {
        let s = screen("j j", w, h);
        assert!(s.contains("+30 add "), "{w}x{h}:\n{s}");
    }
}

#[test]
fn image_details_show_strata_efficiency_at_120x35() {
    // README: efficiency = 0.89843.
    let s = screen("", 120, 35);
    assert!(s.contains("89.8%"), "{s}");
}

#[test]
fn moving_through_layers_shows_the_tree_from_its_first_row() {
    let app = app_after("ctrl+a j j", W, H);
    assert_eq!(
        app.rows().offset,
        0,
        "tree scrolled to row {}",
        app.rows().offset
    );
}

// ---------------------------------------------------------------------------------------------
// (a2) First contact (issue 15): 80x24, the help, a bad regex, the bars.

/// The bytes each layer ships: the sizes of its tar's regular files, read with the `tar` crate.
fn shipped_per_layer() -> Vec<u64> {
    let layout = Layout::committed("overlay-oci");
    layout
        .layer_digests()
        .iter()
        .map(|digest| {
            let blob = fs::read(layout.blob_path(digest)).expect("read blob");
            let tar_bytes = layer_tar(&blob);
            let mut archive = tar::Archive::new(&tar_bytes[..]);
            archive
                .entries()
                .expect("tar entries")
                .map(|e| e.expect("tar entry"))
                .filter(|e| e.header().entry_type().is_file())
                .map(|e| e.header().size().expect("size"))
                .sum()
        })
        .collect()
}

/// The rows of the box whose top border holds `title`, the borders cut off (`│…│` of the
/// left-hand column; the box's own text, trimmed).
fn box_rows(screen: &str, title: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains(title))
        .unwrap_or_else(|| panic!("no box {title:?} in\n{screen}"));
    let left = lines[top].chars().take_while(|&c| c != '┌').count();
    let mut rows = Vec::new();
    for l in &lines[top + 1..] {
        let chars: Vec<char> = l.chars().skip(left).collect();
        if chars.first() != Some(&'│') {
            break;
        }
        let end = chars[1..]
            .iter()
            .position(|&c| c == '│')
            .map_or(chars.len(), |i| i + 1);
        rows.push(
            chars[1..end]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
    }
    rows
}

#[test]
fn layer_bars_follow_the_size_column() {
    let shipped = shipped_per_layer();
    assert_eq!(
        shipped.iter().sum::<u64>(),
        oracle("overlay")["shipped_bytes"].as_u64().expect("u64"),
        "the tars' regular files are what the image ships"
    );
    let max = *shipped.iter().max().expect("layers");
    let s = screen("", W, H);
    let rows = box_rows(&s, "┌ Layers");
    let mut seen = 0;
    for row in &rows[1..] {
        let k: usize = row
            .split_whitespace()
            .next()
            .expect("index")
            .parse()
            .expect("n");
        let bar = row.chars().filter(|&c| c == '█').count() as u64;
        // Eight cells for the largest layer, at least one for any byte.
        let want = (8 * shipped[k]).div_ceil(max);
        assert_eq!(bar, want, "layer {k} ships {} of {max}: {row}", shipped[k]);
        seen += 1;
    }
    // Layer 4 only makes symlinks: it ships nothing and has no bar.
    assert!(seen > 4 && shipped[4] == 0, "{s}");
}

#[test]
fn a_bad_regex_says_so_while_it_is_typed() {
    let typing = screen("G ctrl+a / r e : (", W, H);
    let st = status(&typing);
    assert!(st.contains("re:(█"), "{st}");
    assert!(
        st.contains("regex") && st.contains("unclosed group"),
        "{st}"
    );
    assert!(
        !typing.contains("matches"),
        "no count of the last good filter:\n{typing}"
    );
    // Enter does not take a regex that does not compile; esc leaves the prompt.
    let app = app_after("G ctrl+a / r e : ( enter", W, H);
    assert!(app.input().is_some(), "the prompt stays open");
    let app = app_after("G ctrl+a / r e : ( esc", W, H);
    assert!(app.input().is_none() && app.filter_text().is_empty());
    // Closed, it compiles, and the count is back: paths of the final filesystem with `xt`.
    let want = oracle_final_app_paths()
        .iter()
        .filter(|p| p.contains("xt"))
        .count();
    let fixed = screen("G ctrl+a / r e : ( x t )", W, H);
    assert!(
        status(&fixed).contains(&format!("{want} matches")),
        "{}",
        status(&fixed)
    );
}

/// The help at 80x24: every binding can be read whole, scrolling with the movement keys.
#[test]
fn the_help_at_80x24_is_one_column_that_scrolls() {
    let (w, h) = (80, 24);
    insta::assert_snapshot!("help_80x24", snapshot("?", w, h));
    let mut seen = String::new();
    let mut script = "?".to_string();
    for _ in 0..6 {
        let s = screen(&script, w, h);
        assert!(s.contains(" Keys "), "{script}: the help is open:\n{s}");
        seen.push_str(&s);
        script.push_str(" pgdn");
    }
    for (ctx, action, keys) in Keymap::default().entries() {
        let keys: Vec<String> = keys.iter().map(ToString::to_string).collect();
        let keys = keys.join(", ");
        assert!(
            seen.lines()
                .any(|l| l.contains(&keys) && l.contains(action.describe())),
            "[{}] {keys} {} cannot be read at {w}x{h}:\n{seen}",
            ctx.name(),
            action.describe()
        );
    }
    let app = app_after("? j", w, h);
    assert_eq!(app.popup(), Some(&Popup::Help), "j scrolls the help");
    assert_eq!(app.layers().selected, 0);
    let app = app_after("? j esc", w, h);
    assert_eq!(app.popup(), None, "esc closes it");
}

/// The wasted paths at 80x24: focused, the list has the room of the details panes; its paths
/// are cut from the left so that the file name stays.
#[test]
fn the_wasted_paths_at_80x24_show_rows_and_file_names() {
    let mut want: Vec<(u64, String)> = oracle("overlay")["wasted_entries"]
        .as_array()
        .expect("wasted_entries")
        .iter()
        .map(|e| {
            (
                e["size"].as_u64().expect("size"),
                e["path"].as_str().expect("path").to_string(),
            )
        })
        .collect();
    want.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let name = |p: &str| p.rsplit('/').next().expect("name").to_string();

    let s = screen("", 80, 24);
    let rows = box_rows(&s, "┌ Wasted paths");
    assert!(
        rows[1].ends_with(&name(&want[0].1)),
        "the largest wasted path ends in its name: {rows:?}\n{s}"
    );

    let s = screen("tab tab", 80, 24);
    insta::assert_snapshot!("wasted_focused_80x24", snapshot("tab tab", 80, 24));
    assert_eq!(s.lines().count(), 24);
    let rows = box_rows(&s, "┌ Wasted paths");
    let listed = &rows[1..];
    assert!(listed.len() >= 10, "{} rows:\n{s}", listed.len());
    for (row, (size, path)) in listed.iter().zip(&want) {
        assert!(row.ends_with(&name(path)), "{path} ({size} B): {row}\n{s}");
    }
    // Back in another pane, the details are back.
    let s = screen("tab tab tab", 80, 24);
    assert!(
        s.contains("Layer details") && s.contains("Image details"),
        "{s}"
    );
}

// ---------------------------------------------------------------------------------------------
// (b) Export through `App`.

/// A fresh directory for the whole test binary that relative export targets start from (the
/// explorer's export base, not the process's working directory, which other tests share). Each
/// export test uses its own subdirectory.
fn export_cwd() -> &'static Path {
    static CWD: OnceLock<PathBuf> = OnceLock::new();
    CWD.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("tui-export-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("mkdir");
        dir
    })
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.key(Key::plain(KeyCode::Char(c)));
    }
}

/// Opens the export prompt on `path` at layer `k` (layer mode, tree focused) and submits `dir`.
fn export(app: &mut App, dir: &str) {
    app.key(Key::plain(KeyCode::Char('x')));
    assert_eq!(
        app.input().map(|i| &i.kind),
        Some(&InputKind::Export),
        "prompt: {:?}",
        app.message()
    );
    type_text(app, dir);
    runtime::press(app, Key::plain(KeyCode::Enter));
}

/// A key that answers the overwrite question, and the export it may start, finished.
fn answer(app: &mut App, c: char) {
    runtime::press(app, Key::plain(KeyCode::Char(c)));
}

/// The explorer at layer `k`, tree focused, `path` selected.
fn app_on(k: usize, path: &str) -> App {
    let mut app = app_after(&format!("{} tab", down(k)), W, H).with_export_base(export_cwd());
    let i = row_paths(&app)
        .iter()
        .position(|p| p == path)
        .unwrap_or_else(|| panic!("{path} not in layer {k}"));
    app.select_row(i);
    app
}

#[test]
fn export_writes_the_files_bytes_as_the_layer_holds_them() {
    let cwd = export_cwd();
    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "out-readme");
    let written = cwd.join("out-readme/readme.txt");
    assert_eq!(
        app.message(),
        Some("wrote out-readme/readme.txt (26 bytes)")
    );
    let bytes = fs::read(&written).expect("exported file");
    assert_eq!(bytes, file_in_layer(1, "app/readme.txt"));
    assert_eq!(bytes.len(), 26, "README: app/readme.txt is 26 bytes");

    // The same path at two layers: the bytes each layer holds.
    let mut at2 = app_on(2, "/app/overwrite.txt");
    export(&mut at2, "out-l2");
    let mut at5 = app_on(5, "/app/overwrite.txt");
    export(&mut at5, "out-l5");
    let l2 = fs::read(cwd.join("out-l2/overwrite.txt")).expect("l2");
    let l5 = fs::read(cwd.join("out-l5/overwrite.txt")).expect("l5");
    assert_eq!(l2, file_in_layer(2, "app/overwrite.txt"));
    assert_eq!(l5, vec![b'Z'; 4096], "README: 4096 `Z`s from L5");
    assert_ne!(l2, l5);

    // Hard links share their content: hard2 at layer 3 is hard1's bytes.
    let mut hard = app_on(3, "/app/links/hard2");
    export(&mut hard, "out-hard");
    assert_eq!(
        fs::read(cwd.join("out-hard/hard2")).expect("hard2"),
        file_in_layer(3, "app/links/hard1")
    );
}

#[test]
fn export_refuses_parent_and_absolute_directories() {
    let cwd = export_cwd();
    let outside = tempfile::tempdir().expect("tempdir");
    let abs = outside.path().join("abs");
    for dir in [
        "../escape".to_string(),
        "a/../../escape".to_string(),
        abs.display().to_string(),
    ] {
        let mut app = app_on(1, "/app/readme.txt");
        export(&mut app, &dir);
        let msg = app.message().unwrap_or_default().to_string();
        assert!(msg.starts_with("export failed"), "{dir}: {msg}");
        assert!(msg.contains("without `..`"), "{dir}: {msg}");
        assert_eq!(app.popup(), None);
    }
    assert!(!cwd.join("../escape").exists());
    assert!(!abs.exists());
    // An empty answer asks for a directory.
    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "");
    assert!(app.message().unwrap_or("").contains("type a directory"));
}

/// The screen of an app as it stands.
fn draw(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(W, H)).expect("t");
    t.draw(|f| strata::tui::explorer::draw(f, app))
        .expect("draw");
    strata::tui::screen_text(t.backend().buffer())
}

/// `out-NAME/readme.txt` in the export directory, holding `OLD`.
fn existing_target(name: &str) -> PathBuf {
    let target = export_cwd().join(name).join("readme.txt");
    fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
    fs::write(&target, b"OLD").expect("write");
    target
}

#[test]
fn export_over_an_existing_file_asks_first_and_n_keeps_it() {
    let target = existing_target("out-confirm-n");
    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "out-confirm-n");
    assert_eq!(
        app.popup(),
        Some(&Popup::ConfirmOverwrite(PathBuf::from(
            "out-confirm-n/readme.txt"
        )))
    );
    let s = draw(&app);
    assert!(s.contains("out-confirm-n/readme.txt exists."), "{s}");
    assert!(s.contains("Overwrite it? y / n"), "{s}");
    app.key(Key::plain(KeyCode::Char('n')));
    assert_eq!(app.popup(), None);
    assert_eq!(app.message(), Some("export cancelled"));
    assert_eq!(fs::read(&target).expect("read"), b"OLD");
    // Any other key cancels too.
    export(&mut app, "out-confirm-n");
    app.key(Key::plain(KeyCode::Esc));
    assert_eq!(app.message(), Some("export cancelled"));
    assert_eq!(fs::read(&target).expect("read"), b"OLD");
}

#[test]
fn export_over_an_existing_file_with_y_overwrites_it() {
    let target = existing_target("out-confirm-y");
    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "out-confirm-y");
    assert!(matches!(app.popup(), Some(Popup::ConfirmOverwrite(_))));
    answer(&mut app, 'y');
    assert_eq!(app.popup(), None);
    assert_eq!(
        app.message(),
        Some("wrote out-confirm-y/readme.txt (26 bytes)")
    );
    assert_eq!(
        fs::read(&target).expect("read"),
        file_in_layer(1, "app/readme.txt")
    );
}

/// `out-NAME/readme.txt` as a symlink to `target` (outside the export directory).
fn planted_symlink(name: &str, target: &Path) -> PathBuf {
    let dir = export_cwd().join(name);
    fs::create_dir_all(&dir).expect("mkdir");
    let link = dir.join("readme.txt");
    std::os::unix::fs::symlink(target, &link).expect("symlink");
    link
}

#[test]
fn export_never_writes_through_a_planted_symlink() {
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim.txt");
    fs::write(&victim, b"VICTIM").expect("write");
    let link = planted_symlink("out-link", &victim);

    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "out-link");
    assert!(
        matches!(app.popup(), Some(Popup::ConfirmOverwrite(_))),
        "an existing name (even a symlink) asks first: {:?}",
        app.message()
    );
    app.key(Key::plain(KeyCode::Char('n')));
    assert!(
        fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(&victim).expect("victim"), b"VICTIM");
    export(&mut app, "out-link");
    answer(&mut app, 'y');
    assert_eq!(fs::read(&victim).expect("victim"), b"VICTIM");

    // A dangling symlink at the name: nothing is ever created at its target.
    let ghost = outside.path().join("ghost.txt");
    planted_symlink("out-dangling", &ghost);
    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "out-dangling");
    assert!(matches!(app.popup(), Some(Popup::ConfirmOverwrite(_))));
    answer(&mut app, 'y');
    assert!(!ghost.exists(), "wrote through a dangling symlink");
}

#[test]
fn export_confirmed_replaces_a_planted_symlink_by_the_file() {
    let outside = tempfile::tempdir().expect("tempdir");
    let victim = outside.path().join("victim.txt");
    fs::write(&victim, b"VICTIM").expect("write");
    let link = planted_symlink("out-link-y", &victim);
    let mut app = app_on(1, "/app/readme.txt");
    export(&mut app, "out-link-y");
    answer(&mut app, 'y');
    let meta = fs::symlink_metadata(&link).expect("exported");
    assert!(
        meta.file_type().is_file(),
        "the symlink is replaced by a file: {:?}",
        app.message()
    );
    assert_eq!(
        fs::read(&link).expect("read"),
        file_in_layer(1, "app/readme.txt")
    );
    assert_eq!(fs::read(&victim).expect("victim"), b"VICTIM");
}

/// Selects `path` in the tree (which must show it).
fn select(app: &mut App, path: &str) {
    let i = row_paths(app)
        .iter()
        .position(|p| p == path)
        .unwrap_or_else(|| panic!("{path} not in the tree: {:?}", row_paths(app)));
    app.select_row(i);
}

#[test]
fn export_refuses_a_symlink_in_the_typed_directory() {
    let cwd = export_cwd();
    let outside = tempfile::tempdir().expect("tempdir");
    // A link out of the working directory, one that stays inside it, one further down.
    std::os::unix::fs::symlink(outside.path(), cwd.join("out-sym-out")).expect("symlink");
    fs::create_dir_all(cwd.join("out-sym-real")).expect("mkdir");
    std::os::unix::fs::symlink("out-sym-real", cwd.join("out-sym-in")).expect("symlink");
    fs::create_dir_all(cwd.join("out-sym-deep")).expect("mkdir");
    std::os::unix::fs::symlink(outside.path(), cwd.join("out-sym-deep/link")).expect("symlink");
    for (typed, link) in [
        ("out-sym-out", "out-sym-out"),
        ("out-sym-out/sub", "out-sym-out"),
        ("out-sym-in", "out-sym-in"),
        ("./out-sym-deep/link/x", "out-sym-deep/link"),
    ] {
        let mut app = app_on(1, "/app/readme.txt");
        export(&mut app, typed);
        assert_eq!(
            app.message(),
            Some(
                format!(
                    "export failed: {link} is a symlink: not followed (type the directory it \
                     points to)"
                )
                .as_str()
            ),
            "{typed}"
        );
        assert_eq!(app.popup(), None);
    }
    let names = |d: &Path| -> Vec<String> {
        fs::read_dir(d)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(
        names(outside.path()),
        Vec::<String>::new(),
        "written through a link"
    );
    assert_eq!(names(&cwd.join("out-sym-real")), Vec::<String>::new());
}

#[test]
fn export_streams_on_a_worker_and_one_runs_at_a_time() {
    let cwd = export_cwd();
    let mut app = app_on(1, "/app/readme.txt");
    app.key(Key::plain(KeyCode::Char('x')));
    type_text(&mut app, "out-worker");
    // The key returns the export for the runtime to run, having touched no file: even opening
    // the directory waits for the worker.
    let effects = app.key(Key::plain(KeyCode::Enter));
    assert!(
        !cwd.join("out-worker").exists(),
        "opened on the key's thread"
    );
    let mut workers = runtime::Workers::default();
    for effect in effects {
        match effect {
            Effect::Export(request) => workers.start(request),
            other => panic!("{other:?}"),
        }
    }
    assert!(workers.busy());
    let x = app.exporting().expect("an export running");
    assert_eq!(x.shown, Path::new("out-worker/readme.txt"));
    assert_eq!(x.total, 26, "README: app/readme.txt is 26 bytes");
    let s = draw(&app);
    assert!(
        status(&s).starts_with("exporting out-worker/readme.txt: "),
        "{}",
        status(&s)
    );
    app.key(Key::plain(KeyCode::Char('x')));
    assert_eq!(
        app.message(),
        Some("an export is running: wait for it to finish")
    );
    assert!(app.input().is_none());
    workers.wait(&mut app);
    assert!(!workers.busy());
    assert_eq!(
        app.message(),
        Some("wrote out-worker/readme.txt (26 bytes)")
    );
    assert_eq!(
        fs::read(cwd.join("out-worker/readme.txt")).expect("written"),
        file_in_layer(1, "app/readme.txt")
    );
    // No temporary file is left beside it.
    let left: Vec<_> = fs::read_dir(cwd.join("out-worker"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("readme.txt")]);
}

/// The bytes the symlinked-parent image ships (see [`symlinked_parent_image`]).
const X_SO: &[u8] = b"\x7fELF x.so, shipped as lib/x.so\n";
const Y_SO: &[u8] = b"\x7fELF y.so, shipped as lib64/y.so, a longer one\n";

/// A name that runs a command when pasted into a shell.
const PASTE: &str = "lib/paste\n echo pwned\n";

/// A two-layer OCI layout (a copy of `overlay-oci` made over): layer 0 has `usr/lib/`, the
/// merged-/usr link `lib -> usr/lib` and `lib64 -> /usr/lib`; layer 1 ships `lib/x.so` and
/// `lib64/y.so`, which a runtime unpacks into `/usr/lib`, and [`PASTE`].
fn symlinked_parent_image() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::copy_of("overlay-oci", dir.path());
        let base = tar_of(&[
            E::Dir("usr/lib/", 0o755),
            E::Symlink("lib", "usr/lib"),
            E::Symlink("lib64", "/usr/lib"),
        ]);
        let upper = tar_of(&[
            E::File("lib/x.so", 0o644, X_SO),
            E::File("lib64/y.so", 0o644, Y_SO),
            E::File(PASTE, 0o644, b"x"),
        ]);
        layout.set_layers(
            &[base, upper],
            serde_json::json!([{"created_by": "base"}, {"created_by": "libs"}]),
        );
        dir
    });
    Box::leak(dir.path().join("overlay-oci").into_boxed_path())
}

fn symlinked_parent_loaded() -> Loaded {
    let input =
        strata::source::Input::parse(symlinked_parent_image().to_str().expect("utf-8"), None)
            .expect("parse");
    let img = strata::source::open(&input, &strata::source::OpenOptions::default()).expect("open");
    engine::load(img, &LoadOptions::default(), &Progress::default()).expect("load")
}

/// The path copied (OSC 52) is escaped as shown: a line feed in a name would run the rest of
/// it when pasted into a shell.
#[test]
fn a_copied_path_holds_no_control_character() {
    let mut app = App::new(
        symlinked_parent_loaded(),
        Keymap::default(),
        Rect::new(0, 0, W, H),
    );
    app.key(Key::plain(KeyCode::Char('j')));
    app.key(Key::plain(KeyCode::Tab));
    select(&mut app, "/usr/lib/paste\n echo pwned\n");
    let effects = app.key(Key::plain(KeyCode::Char('y')));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Clipboard(path)] if path == r"/usr/lib/paste\n echo pwned\n"
        ),
        "{effects:?}"
    );
}

#[test]
fn export_of_a_file_shipped_under_a_symlinked_parent() {
    let cwd = export_cwd();
    let loaded = symlinked_parent_loaded();
    for (path, dir, bytes) in [
        ("/usr/lib/x.so", "out-symparent", X_SO),
        ("/usr/lib/y.so", "out-symparent-abs", Y_SO),
    ] {
        let mut app = App::new(loaded.clone(), Keymap::default(), Rect::new(0, 0, W, H))
            .with_export_base(export_cwd());
        app.key(Key::plain(KeyCode::Char('j')));
        app.key(Key::plain(KeyCode::Tab));
        select(&mut app, path);
        export(&mut app, dir);
        let name = path.rsplit('/').next().expect("name");
        assert_eq!(
            app.message(),
            Some(format!("wrote {dir}/{name} ({} bytes)", bytes.len()).as_str()),
            "{path}"
        );
        assert_eq!(fs::read(cwd.join(dir).join(name)).expect("exported"), bytes);
    }
}

/// `~/DIR` is under `$HOME`, through the real binary (the environment is the process's).
#[test]
fn export_to_tilde_goes_under_home_and_asks_before_overwriting() {
    let (home, cwd, config) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let replay = |answer: &str| {
        let r = run(strata()
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", config.path())
            .current_dir(cwd.path())
            .arg(image("overlay-oci"))
            .args([
                "--keys",
                &format!("j tab G x ~ / e x p enter {answer}"),
                "--print",
                "--screen",
                "100x30",
            ]));
        r.expect_code(0);
        status(&r.stdout).trim().to_string()
    };
    let target = home.path().join("exp/readme.txt");
    assert_eq!(replay(""), "wrote ~/exp/readme.txt (26 bytes)");
    assert_eq!(
        fs::read(&target).expect("exported"),
        file_in_layer(1, "app/readme.txt")
    );
    assert!(!cwd.path().join("~").exists(), "a literal ./~");
    // The file exists now: not overwritten without a yes.
    fs::write(&target, b"OLD").expect("write");
    assert_eq!(replay("n"), "export cancelled");
    assert_eq!(fs::read(&target).expect("read"), b"OLD");
    assert_eq!(replay("y"), "wrote ~/exp/readme.txt (26 bytes)");
    assert_eq!(
        fs::read(&target).expect("read"),
        file_in_layer(1, "app/readme.txt")
    );
}

// ---------------------------------------------------------------------------------------------
// (c) The real binary in tmux.

/// A tmux server of our own (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

const SESSION: &str = "strata";

impl Tmux {
    fn start(width: u16, height: u16, shell_cmd: &str) -> Tmux {
        require("tmux", "apt-get install tmux");
        // One server per test: tests run in parallel in this process.
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Tmux {
            socket: format!("strata-test-{}-{n}", std::process::id()),
        };
        let out = t.tmux(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            "-s",
            SESSION,
            shell_cmd,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    fn capture(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn format(&self, fmt: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", SESSION, fmt]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sends tmux key names (`j`, `Tab`, `C-a`, `Enter`).
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Types text literally.
    fn type_text(&self, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", SESSION, "-l", text])
                .status
                .success()
        );
    }

    /// Polls the pane until `ok` holds (20 s at most); returns the screen.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.capture();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the pane shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[test]
#[ignore = "needs tmux: bash .ci/setup; run by .ci/run"]
fn the_real_binary_in_tmux_draws_reacts_to_keys_and_restores_the_terminal() {
    let config = tempfile::tempdir().expect("tempdir");
    // A shell of our own: `CI` removed (CI=true would mean --ci), the user's keymap out of the
    // way, a prompt we can recognise.
    let shell = format!(
        "env -u CI -u ENV TERM=xterm-256color XDG_CONFIG_HOME={} PS1='strata-test$ ' sh",
        sh_quote(config.path().to_str().expect("utf-8"))
    );
    let t = Tmux::start(120, 35, &shell);
    t.wait("the shell prompt", |s| s.contains("strata-test$"));
    let bin = BIN;
    let img = image("overlay-oci");
    t.type_text(&format!(
        "{} {}; echo \"run$((0+1))-exit=$?\"",
        sh_quote(bin),
        sh_quote(img.to_str().expect("utf-8"))
    ));
    t.keys(&["Enter"]);

    // Polled until the whole first frame is there (tmux may show a frame half drawn).
    t.wait("the Layers pane and the tree", |s| {
        s.contains("Layers")
            && s.contains("Files — layer 0 changes")
            && s.contains("busybox")
            && s.contains("q quit")
    });
    assert_eq!(
        t.format("#{alternate_on}"),
        "1",
        "the explorer uses the alternate screen"
    );

    t.keys(&["j"]);
    t.wait("layer 1 selected", |s| {
        s.contains("Files — layer 1 changes")
    });
    t.keys(&["Tab"]);
    t.wait("the tree's keys in the status bar", |s| {
        s.contains("space collapse")
    });
    // Layer 1 only adds: hiding added files empties the tree; the same key brings them back.
    t.keys(&["C-a"]);
    t.wait("added files hidden", |s| s.contains("(nothing to show"));
    t.keys(&["C-a"]);
    t.wait("added files shown", |s| s.contains("readme.txt"));
    t.keys(&["?"]);
    t.wait("the help", |s| s.contains("[global]"));
    t.keys(&["Escape"]);
    t.wait("the help closed", |s| !s.contains("[global]"));

    t.keys(&["q"]);
    let s = t.wait("the explorer to exit", |s| s.contains("run1-exit="));
    assert!(s.contains("run1-exit=0"), "{s}");
    assert!(
        !s.contains("Files —"),
        "the explorer's screen is gone:\n{s}"
    );
    assert_eq!(t.format("#{alternate_on}"), "0", "alternate screen left");
    // The terminal is back in cooked mode with echo: a typed command runs.
    t.type_text("echo restored-$((40+2))");
    t.keys(&["Enter"]);
    t.wait("the shell to run a command", |s| s.contains("restored-42"));

    // Bad input fails before the screen is taken, with one line and exit 2.
    t.type_text(&format!(
        "{} /nonexistent/strata-image; echo \"run$((1+1))-exit=$?\"",
        sh_quote(bin)
    ));
    t.keys(&["Enter"]);
    let s = t.wait("the second run", |s| s.contains("run2-exit="));
    assert!(s.contains("run2-exit=2"), "{s}");
    assert!(s.contains("strata: error:"), "{s}");
    assert!(s.contains("/nonexistent/strata-image"), "{s}");
    assert_eq!(t.format("#{alternate_on}"), "0");
    assert_eq!(t.format("#{pane_dead}"), "0", "the shell is still there");
}

/// A replay is what a terminal would do: a key no terminal sends as itself is refused.
#[test]
fn a_key_script_refuses_keys_terminals_send_as_others() {
    let err = strata::tui::parse_script("tab ctrl+m").expect_err("ctrl+m is enter");
    let err = err.to_string();
    assert!(err.contains("ctrl+m") && err.contains("enter"), "{err}");
}

/// Many terminals send backspace as BS, which is ctrl+h: in a prompt it erases.
#[test]
fn ctrl_h_erases_in_the_filter_prompt() {
    let mut app = app_after("G ctrl+a / t x t", W, H);
    app.key(Key::ctrl('h'));
    assert_eq!(app.filter_text(), "tx");
}

/// The tmux key name of a key as the status bar shows it (`ctrl+a` is `C-a`).
fn tmux_key(shown: &str) -> String {
    match shown.strip_prefix("ctrl+") {
        Some(c) => format!("C-{c}"),
        None => shown.to_string(),
    }
}

/// The key the status bar offers for "modified" does that in a real terminal. It was ctrl+m,
/// which every terminal sends as CR, the byte of enter.
#[test]
#[ignore = "needs tmux: bash .ci/setup; run by .ci/run"]
fn the_modified_key_the_status_bar_offers_works_in_a_real_terminal() {
    let config = tempfile::tempdir().expect("tempdir");
    let bin = BIN;
    let img = image("overlay-oci");
    let cmd = format!(
        "env -u CI TERM=xterm-256color XDG_CONFIG_HOME={} {} {}",
        sh_quote(config.path().to_str().expect("utf-8")),
        sh_quote(bin),
        sh_quote(img.to_str().expect("utf-8"))
    );
    let t = Tmux::start(160, 35, &cmd);
    t.wait("the explorer", |s| s.contains("Files — layer 0 changes"));
    // Layer 5 (README) rewrites /app/overwrite.txt: rows /app and /app/overwrite.txt.
    t.keys(&["j", "j", "j", "j", "j"]);
    t.wait("layer 5", |s| s.contains("Files — layer 5 changes"));
    // The file tree: the right-hand side of the screen.
    let tree = |s: &str| -> String {
        s.lines()
            .filter_map(|l| l.split_once("││").map(|(_, right)| right))
            .collect::<Vec<_>>()
            .join("\n")
    };
    t.keys(&["Tab", "j"]);
    let s = t.wait("the tree's keys", |s| s.contains("space collapse"));
    assert!(tree(&s).contains("overwrite.txt"), "{s}");
    let bar = s
        .lines()
        .rev()
        .find(|l| l.contains("space collapse"))
        .expect("status");
    let words: Vec<&str> = bar.split_whitespace().collect();
    let key = words
        .windows(2)
        .find(|w| w[1] == "modified")
        .map(|w| w[0])
        .unwrap_or_else(|| panic!("no modified key in {bar:?}"));
    t.keys(&[&tmux_key(key)]);
    let s = t.wait("overwrite.txt hidden", |s| {
        !tree(s).contains("overwrite.txt")
    });
    assert!(!s.contains("app ⊕"), "/app was not collapsed:\n{s}");
    t.keys(&["q"]);
}

// ---------------------------------------------------------------------------------------------
// (d) Without a terminal, and bad input.

#[test]
fn without_a_terminal_the_explorer_points_to_analyze() {
    let img = image("overlay-oci");
    let r = run(strata().arg(&img));
    let line = assert_one_line_error(&r, &["terminal"]);
    assert!(line.contains("strata analyze"), "{line}");
}

#[test]
fn bad_input_fails_before_the_screen_with_exit_2() {
    let config = tempfile::tempdir().expect("tempdir");
    let missing = "/nonexistent/strata-image";
    let r = run(strata()
        .env("XDG_CONFIG_HOME", config.path())
        .args([missing, "--keys", "", "--print"]));
    assert_one_line_error(&r, &[missing]);

    // A layout whose index.json is not JSON.
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = Layout::copy_of("overlay-oci", dir.path());
    let index = layout.dir.join("index.json");
    fs::write(&index, b"{ not json").expect("write");
    let r = run(strata()
        .env("XDG_CONFIG_HOME", config.path())
        .arg(&layout.dir)
        .args(["--keys", "", "--print"]));
    assert_one_line_error(&r, &["index.json"]);

    // A layer blob cut short: its digest no longer matches.
    let layout = Layout::copy_of("overlay-oci", &dir.path().join("short"));
    let blob = layout.blob_path(&layout.layer_digests()[2]);
    let bytes = fs::read(&blob).expect("read");
    fs::write(&blob, &bytes[..bytes.len() / 2]).expect("write");
    let r = run(strata()
        .env("XDG_CONFIG_HOME", config.path())
        .arg(&layout.dir)
        .args(["--keys", "j", "--print"]));
    assert_one_line_error(&r, &[]);
}

#[test]
fn keys_print_prints_the_same_screen_as_the_library() {
    let config = tempfile::tempdir().expect("tempdir");
    let r = run(strata()
        .env("XDG_CONFIG_HOME", config.path())
        .arg(image("overlay-oci"))
        .args(["--keys", "j j tab", "--print", "--screen", "100x30"]));
    r.expect_code(0);
    assert_eq!(r.stdout, screen("j j tab", W, H));
}

/// A mouse event at a cell.
fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
    MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

/// A click selects the row under it, counted from the pane's first row under its border and
/// header, and focuses the pane; the wheel scrolls the pane under it without taking the focus.
/// The rows expected are computed here from the areas, not read back from the selection.
#[test]
fn a_click_selects_the_row_under_it_and_the_wheel_scrolls_without_focus() {
    let click = MouseEventKind::Down(MouseButton::Left);
    // Tall enough for a row under the last layer.
    let mut app = app_after("", W, 80);
    let a = app.areas();
    let first = |r: Rect| r.y + 2;
    assert_eq!(app.rows().offset, 0);
    assert!(app.tree().rows.len() > 4, "{:?}", row_paths(&app));

    app.mouse(mouse(click, a.tree.x + 3, first(a.tree) + 1));
    assert_eq!(app.focus(), Pane::Tree);
    assert_eq!(app.rows().selected, 1);

    // Layer 2, shown from its top.
    app.mouse(mouse(click, a.layers.x + 1, first(a.layers) + 2));
    assert_eq!(app.focus(), Pane::Layers);
    assert_eq!(app.layers().selected, 2);
    assert_eq!(app.tree().options.layer, 2);
    assert_eq!(app.rows().selected, 0);

    // The header, and the row under the last layer, select nothing.
    let layers = app.analysis().layers.len();
    let below = first(a.layers) + u16::try_from(layers).expect("few layers");
    assert!(
        below < a.layers.y + a.layers.height - 1,
        "no room below the layers"
    );
    for row in [first(a.layers) - 1, below] {
        app.mouse(mouse(click, a.layers.x + 1, row));
        assert_eq!(app.layers().selected, 2, "row {row}");
    }

    // The wheel over the tree moves its selection by 3 and leaves the focus on the layers.
    let tree_rows = app.tree().rows.len();
    app.mouse(mouse(
        MouseEventKind::ScrollDown,
        a.tree.x + 3,
        a.tree.y + 5,
    ));
    assert_eq!(app.focus(), Pane::Layers);
    assert_eq!(app.rows().selected, 3.min(tree_rows - 1));
    app.mouse(mouse(MouseEventKind::ScrollUp, a.tree.x + 3, a.tree.y + 5));
    assert_eq!(app.rows().selected, 0);

    // The status line is in no pane: the focus stays.
    app.mouse(mouse(click, 1, a.status.y));
    assert_eq!(app.focus(), Pane::Layers);
    assert_eq!(app.layers().selected, 2);
}

/// `f` lists every finding, most severe first as the JSON does; enter on one shows where it
/// is: the layer that shipped a deleted file, with the tree filtered to it, and the finding's
/// sentence in the status bar; a finding without paths (root) selects no file.
#[test]
fn the_findings_popup_jumps_to_the_layer_and_files() {
    let app = app_after("f", W, H);
    assert!(matches!(app.popup(), Some(Popup::Findings(_))));
    let json = crate::fixtures::run::analyze_json(&[&image_arg("overlay-oci")]).0;
    let ids: Vec<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    let listed: Vec<&str> = app.findings().iter().map(|(f, _)| f.kind.id()).collect();
    assert_eq!(listed, ids);
    // The deleted big file: the oracle's entry says which layer shipped it.
    let entry = oracle("overlay")["wasted_entries"]
        .as_array()
        .expect("wasted_entries")
        .iter()
        .find(|e| e["path"] == "app/big.bin")
        .cloned()
        .expect("big.bin in the oracle");
    let i = app
        .findings()
        .iter()
        .position(|(f, _)| f.paths == ["/app/big.bin"])
        .expect("a finding of big.bin");
    let app = app_after(&format!("f {} enter", down(i)), W, H);
    assert!(app.popup().is_none());
    assert_eq!(app.focus(), Pane::Tree);
    assert_eq!(Some(app.layers().selected as u64), entry["layer"].as_u64());
    let files: Vec<String> = row_paths(&app)
        .into_iter()
        .filter(|p| p.ends_with(".bin"))
        .collect();
    assert_eq!(files, ["/app/big.bin"]);
    assert!(
        row_paths(&app)
            .iter()
            .all(|p| "/app/big.bin".starts_with(p.as_str()))
    );
    assert!(app.message().is_some_and(|m| m.contains("/app/big.bin")));
    // Root: the config says it, no path to show.
    let r = app
        .findings()
        .iter()
        .position(|(f, _)| f.kind.id() == "runs-as-root")
        .expect("overlay-oci sets no USER");
    let app = app_after(&format!("f {} enter", down(r)), W, H);
    assert_eq!(app.focus(), Pane::Layers);
    assert!(app.message().is_some_and(|m| m.contains("runs as root")));
}
