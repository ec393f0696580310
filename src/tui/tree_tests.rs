//! Tests of the tree view model on hand-built layers.
//!
//! Expectations are written from the overlay rules and the view's contract (issue 3), never
//! read back from the model: each test builds a few layers by hand, sets the options, and
//! compares the rows with a listing written out in full.

use super::*;
use crate::overlay::testkit::{E, build};

fn node(fs: &Fs, path: &str) -> NodeId {
    fs.lookup(path).unwrap_or_else(|| panic!("no node {path}"))
}

fn letter(d: Change) -> char {
    match d {
        Change::Added => 'A',
        Change::Modified => 'M',
        Change::Metadata => 'T',
        Change::Removed => 'R',
        Change::Unchanged => '.',
    }
}

/// The rows as `<indent>name <diff letter> <size>`, two spaces per level.
fn listing(tree: &Tree, fs: &Fs) -> Vec<String> {
    tree.rows
        .iter()
        .map(|r| {
            format!(
                "{}{} {} {}",
                "  ".repeat(usize::from(r.depth)),
                String::from_utf8_lossy(fs.name(r.node)),
                letter(r.diff),
                r.size
            )
        })
        .collect()
}

fn paths(tree: &Tree, fs: &Fs) -> Vec<String> {
    tree.rows.iter().map(|r| fs.path(r.node)).collect()
}

fn view(fs: &Fs, mode: Mode, layer: usize) -> Tree {
    let mut tree = Tree::new(fs);
    tree.options.mode = mode;
    tree.options.layer = layer;
    tree.refresh(fs);
    tree
}

/// Four layers exercising every diff type:
/// - L0: `/a/{keep 1, mod 3, chm 1, gone 2}`, `/d/{x 1, sub/y 2}`, `/e/f 1`
/// - L1: `/a/mod` rewritten (5), `/a/chm` chmod 0600, `/a/gone` whited out, `/b/new` (1, `b`
///   implicit), `/d` whited out (one marker for the subtree), `/a` and `/e` repeated unchanged
/// - L2: `/t/tmp` (1) and an empty `/empty/`
/// - L3: `/t/tmp` whited out
fn sample() -> Fs {
    build(&[
        &[
            E::Dir("a"),
            E::File("a/keep", "k"),
            E::File("a/mod", "old"),
            E::File("a/chm", "c"),
            E::File("a/gone", "gg"),
            E::Dir("d"),
            E::File("d/x", "1"),
            E::File("d/sub/y", "22"),
            E::Dir("e"),
            E::File("e/f", "f"),
        ],
        &[
            E::Dir("a"),
            E::File("a/mod", "newer"),
            E::FileMode("a/chm", "c", 0o600),
            E::Wh("a/gone"),
            E::File("b/new", "n"),
            E::Wh("d"),
            E::Dir("e"),
        ],
        &[E::File("t/tmp", "t"), E::Dir("empty")],
        &[E::Wh("t/tmp")],
    ])
}

#[test]
fn layer_mode_lists_the_layers_changes_with_unchanged_parents_for_context() {
    let fs = sample();
    let tree = view(&fs, Mode::Layer, 1);
    assert_eq!(
        listing(&tree, &fs),
        [
            // `/a` is repeated unchanged: it shows only as the parent of changes, and its size
            // is the sum of the shown files that are still there (chm 1 + mod 5; not gone's 2).
            "a . 6",
            "  chm T 1",
            // A removed row keeps the metadata it had before the layer.
            "  gone R 2",
            "  mod M 5",
            "b A 1",
            "  new A 1",
            // A removed directory: its subtree is listed as removed, sizes summed below it.
            "d R 3",
            "  sub R 2",
            "    y R 2",
            "  x R 1",
        ]
    );
    // `/e` is carried by the layer but unchanged and has no changed child: not shown.
    assert!(!paths(&tree, &fs).contains(&"/e".to_string()));
    let gone = node(&fs, "a/gone");
    let meta = tree
        .meta(&fs, gone)
        .expect("removed rows keep their previous metadata");
    assert_eq!((meta.kind, meta.size, meta.mode), (Kind::File, 2, 0o644));
    assert_eq!(tree.diff_of(gone), Some(Change::Removed));
    assert_eq!(tree.diff_of(node(&fs, "e")), None);
}

#[test]
fn layer_mode_shows_exactly_the_nodes_with_a_change_at_the_layer() {
    let fs = sample();
    for k in 0..fs.layer_count() {
        let tree = view(&fs, Mode::Layer, k);
        let mut shown: Vec<NodeId> = tree
            .rows
            .iter()
            .filter(|r| r.diff != Change::Unchanged)
            .map(|r| r.node)
            .collect();
        shown.sort_unstable();
        let mut changed: Vec<NodeId> = fs
            .node_ids()
            .filter(|&n| {
                fs.event_at(n, k)
                    .is_some_and(|e| e.change != Change::Unchanged)
            })
            .collect();
        changed.sort_unstable();
        assert_eq!(shown, changed, "layer {k}");
        // Every unchanged row is a directory with a changed row below it.
        for (i, r) in tree.rows.iter().enumerate() {
            if r.diff == Change::Unchanged {
                assert!(r.is_dir, "layer {k}: unchanged file {}", fs.path(r.node));
                let below = tree.rows.get(i + 1).is_some_and(|n| n.depth > r.depth);
                assert!(
                    below,
                    "layer {k}: {} shown without a child",
                    fs.path(r.node)
                );
            }
        }
    }
}

#[test]
fn layer_mode_of_the_first_layer_is_all_added() {
    let fs = sample();
    let tree = view(&fs, Mode::Layer, 0);
    assert_eq!(
        listing(&tree, &fs),
        [
            "a A 7",
            "  chm A 1",
            "  gone A 2",
            "  keep A 1",
            "  mod A 3",
            "d A 3",
            "  sub A 2",
            "    y A 2",
            "  x A 1",
            "e A 1",
            "  f A 1",
        ]
    );
}

#[test]
fn aggregated_mode_shows_the_merged_tree_coloured_against_the_first_layer() {
    let fs = sample();
    let tree = view(&fs, Mode::Aggregated, 3);
    assert_eq!(
        listing(&tree, &fs),
        [
            // keep 1 + mod 5 + chm 1; the removed `gone` (2) is not added to a present parent.
            "a . 7",
            "  chm T 1",
            "  gone R 2",
            "  keep . 1",
            "  mod M 5",
            "b A 1",
            "  new A 1",
            "d R 3",
            "  sub R 2",
            "    y R 2",
            "  x R 1",
            "e . 1",
            "  f . 1",
            // An empty directory shows on its own.
            "empty A 0",
            // `/t/tmp` was added at L2 and removed at L3: absent, not "removed".
            "t A 0",
        ]
    );
    assert_eq!(tree.diff_of(node(&fs, "t/tmp")), None);
}

#[test]
fn aggregated_mode_at_an_intermediate_layer_and_at_the_first() {
    let fs = sample();
    let tree = view(&fs, Mode::Aggregated, 2);
    let l2 = listing(&tree, &fs);
    assert!(l2.contains(&"  tmp A 1".to_string()), "{l2:#?}");
    assert!(l2.contains(&"t A 1".to_string()), "{l2:#?}");
    let tree = view(&fs, Mode::Aggregated, 0);
    assert!(
        tree.rows.iter().all(|r| r.diff == Change::Unchanged),
        "{:#?}",
        listing(&tree, &fs)
    );
    assert_eq!(tree.rows.len(), 11);
}

#[test]
fn a_file_replaced_by_a_symlink_is_modified_and_a_mode_change_is_metadata() {
    let fs = build(&[
        &[E::File("f", "abc"), E::File("g", "x"), E::Sym("s", "f")],
        &[
            E::Sym("f", "g"),
            E::FileMode("g", "x", 0o755),
            E::Sym("s", "g"),
        ],
    ]);
    let tree = view(&fs, Mode::Aggregated, 1);
    assert_eq!(listing(&tree, &fs), ["f M 0", "g T 1", "s M 0"]);
    let tree = view(&fs, Mode::Layer, 1);
    assert_eq!(listing(&tree, &fs), ["f M 0", "g T 1", "s M 0"]);
}

#[test]
fn switching_layer_and_mode_recomputes_the_rows() {
    let fs = sample();
    let mut tree = Tree::new(&fs);
    assert_eq!(tree.rows.len(), 11, "starts at layer 0, layer mode");
    tree.options.layer = 2;
    tree.refresh(&fs);
    assert_eq!(listing(&tree, &fs), ["empty A 0", "t A 1", "  tmp A 1"]);
    tree.options.layer = 3;
    tree.refresh(&fs);
    assert_eq!(listing(&tree, &fs), ["t . 0", "  tmp R 1"]);
    tree.options.mode = Mode::Aggregated;
    tree.refresh(&fs);
    assert_eq!(tree.rows.len(), 15);
    tree.options.mode = Mode::Layer;
    tree.options.layer = 2;
    tree.refresh(&fs);
    assert_eq!(listing(&tree, &fs), ["empty A 0", "t A 1", "  tmp A 1"]);
}

#[test]
fn hiding_a_diff_type_hides_its_rows_and_directories_left_empty() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Layer, 1);
    tree.options.hidden[slot(Change::Added)] = true;
    tree.refresh(&fs);
    // `/b` is added and so is its only child: it disappears with it.
    assert_eq!(
        listing(&tree, &fs),
        [
            "a . 6",
            "  chm T 1",
            "  gone R 2",
            "  mod M 5",
            "d R 3",
            "  sub R 2",
            "    y R 2",
            "  x R 1",
        ]
    );
    tree.options.hidden[slot(Change::Removed)] = true;
    tree.refresh(&fs);
    assert_eq!(listing(&tree, &fs), ["a . 6", "  chm T 1", "  mod M 5"]);
    // Hiding unchanged rows keeps the unchanged parents of shown changes.
    tree.options.hidden[slot(Change::Unchanged)] = true;
    tree.refresh(&fs);
    assert_eq!(listing(&tree, &fs), ["a . 6", "  chm T 1", "  mod M 5"]);
    tree.options.hidden[slot(Change::Modified)] = true;
    tree.options.hidden[slot(Change::Metadata)] = true;
    tree.refresh(&fs);
    assert!(tree.rows.is_empty(), "{:#?}", listing(&tree, &fs));
    tree.options.hidden = [false; 5];
    tree.refresh(&fs);
    assert_eq!(tree.rows.len(), 10);
}

#[test]
fn an_empty_directory_shows_on_its_own_unless_its_type_is_hidden() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Layer, 2);
    assert!(paths(&tree, &fs).contains(&"/empty".to_string()));
    tree.options.hidden[slot(Change::Added)] = true;
    tree.refresh(&fs);
    assert!(tree.rows.is_empty(), "{:#?}", listing(&tree, &fs));
}

#[test]
fn hiding_unchanged_in_aggregated_mode_keeps_only_changes_and_their_parents() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Aggregated, 3);
    tree.options.hidden[slot(Change::Unchanged)] = true;
    tree.refresh(&fs);
    assert_eq!(
        paths(&tree, &fs),
        [
            "/a", "/a/chm", "/a/gone", "/a/mod", "/b", "/b/new", "/d", "/d/sub", "/d/sub/y",
            "/d/x", "/empty", "/t",
        ]
    );
}

#[test]
fn a_substring_filter_keeps_matches_and_their_parents() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Aggregated, 3);
    tree.options.filter = Filter::parse("mod").expect("parses");
    tree.refresh(&fs);
    assert_eq!(paths(&tree, &fs), ["/a", "/a/mod"]);
    assert_eq!(tree.match_count, 1);
    let matched: Vec<bool> = tree.rows.iter().map(|r| r.matched).collect();
    assert_eq!(matched, [false, true]);
    // The filter sees full paths: `/d/` matches the directory's children, not `/d` itself.
    tree.options.filter = Filter::parse("/d/").expect("parses");
    tree.refresh(&fs);
    assert_eq!(paths(&tree, &fs), ["/d", "/d/sub", "/d/sub/y", "/d/x"]);
    assert_eq!(tree.match_count, 3);
    // A matching directory shows on its own even though its children do not match.
    tree.options.filter = Filter::parse("/e").expect("parses");
    tree.refresh(&fs);
    assert_eq!(paths(&tree, &fs), ["/e", "/e/f", "/empty"]);
    assert_eq!(tree.match_count, 3);
    tree.options.filter = Filter::parse("nothing-like-this").expect("parses");
    tree.refresh(&fs);
    assert!(tree.rows.is_empty());
    assert_eq!(tree.match_count, 0);
    tree.options.filter = Filter::parse("").expect("parses");
    assert!(
        tree.options.filter.is_none(),
        "an empty filter is no filter"
    );
    tree.refresh(&fs);
    assert_eq!(tree.rows.len(), 15);
}

#[test]
fn a_regex_filter_matches_full_paths() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Aggregated, 3);
    tree.options.filter = Filter::parse("re:^/[ad]/[a-z]$").expect("parses");
    tree.refresh(&fs);
    assert_eq!(paths(&tree, &fs), ["/d", "/d/x"]);
    assert_eq!(tree.match_count, 1);
    tree.options.filter = Filter::parse("re:(keep|y)$").expect("parses");
    tree.refresh(&fs);
    assert_eq!(
        paths(&tree, &fs),
        ["/a", "/a/keep", "/d", "/d/sub", "/d/sub/y", "/empty"]
    );
    assert_eq!(tree.match_count, 3);
    // Without `re:` the same text is a substring.
    tree.options.filter = Filter::parse("(keep|y)$").expect("parses");
    tree.refresh(&fs);
    assert!(tree.rows.is_empty());
}

#[test]
fn a_bad_regex_is_an_error_with_a_message() {
    let err = Filter::parse("re:(unclosed").expect_err("must not parse");
    assert!(!err.trim().is_empty());
    assert!(err.contains("unclosed"), "{err}");
    assert!(matches!(
        Filter::parse("(unclosed"),
        Ok(Some(Filter::Substring(_)))
    ));
}

#[test]
fn the_filter_counts_only_rows_in_the_current_view() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Layer, 2);
    tree.options.filter = Filter::parse("a").expect("parses");
    tree.refresh(&fs);
    // Layer 2 holds /empty, /t and /t/tmp: no `a` in any of them.
    assert_eq!(tree.match_count, 0);
    tree.options.filter = Filter::parse("t").expect("parses");
    tree.refresh(&fs);
    assert_eq!(paths(&tree, &fs), ["/empty", "/t", "/t/tmp"]);
    assert_eq!(tree.match_count, 3);
}

#[test]
fn children_of_a_directory_replaced_by_a_file_are_listed_or_not_counted() {
    // L0: /d/child; L1: /d is a regular file (a dir→file replacement, no whiteout).
    let fs = build(&[&[E::File("d/child", "cc")], &[E::File("d", "file")]]);
    let mut tree = view(&fs, Mode::Layer, 1);
    tree.options.filter = Filter::parse("child").expect("parses");
    tree.refresh(&fs);
    let matched_rows = tree.rows.iter().filter(|r| r.matched).count();
    assert_eq!(
        tree.match_count,
        matched_rows,
        "match count vs rows {:?}",
        listing(&tree, &fs)
    );
}

#[test]
fn sorting_by_size_puts_the_largest_first_with_names_breaking_ties() {
    let fs = build(&[&[
        E::File("z", "333"),
        E::File("b", "333"),
        E::File("c", "55555"),
        E::File("m/q", "4444"),
        E::File("m/p", "1"),
        E::File("m/o", "1"),
        E::Dir("e"),
    ]]);
    let mut tree = view(&fs, Mode::Layer, 0);
    assert_eq!(
        listing(&tree, &fs),
        [
            "b A 3", "c A 5", "e A 0", "m A 6", "  o A 1", "  p A 1", "  q A 4", "z A 3"
        ]
    );
    tree.options.sort = Sort::SizeDesc;
    tree.refresh(&fs);
    assert_eq!(
        listing(&tree, &fs),
        [
            "m A 6", "  q A 4", "  o A 1", "  p A 1", "c A 5", "b A 3", "z A 3", "e A 0"
        ]
    );
}

#[test]
fn rows_are_in_depth_first_byte_order_of_names_whatever_the_tar_order() {
    let fs = build(&[&[
        E::File("zz", "1"),
        E::File("aa/m", "1"),
        E::File("aa/b/z", "1"),
        E::File("aa/b/a", "1"),
        E::File("M", "1"),
        E::File("aa/B", "1"),
        E::File("a", "1"),
    ]]);
    let tree = view(&fs, Mode::Aggregated, 0);
    assert_eq!(
        paths(&tree, &fs),
        [
            "/M", "/a", "/aa", "/aa/B", "/aa/b", "/aa/b/a", "/aa/b/z", "/aa/m", "/zz"
        ]
    );
    let depths: Vec<u16> = tree.rows.iter().map(|r| r.depth).collect();
    assert_eq!(depths, [0, 0, 0, 1, 1, 2, 2, 1, 0]);
}

#[test]
fn tree_guides_mark_last_children_and_open_ancestors() {
    let fs = build(&[&[
        E::File("a/b/c", "1"),
        E::File("a/b/d", "1"),
        E::File("a/b2", "1"),
        E::File("z/y/x", "1"),
    ]]);
    let tree = view(&fs, Mode::Layer, 0);
    let got: Vec<(String, u16, bool, u64)> = tree
        .rows
        .iter()
        .map(|r| (fs.path(r.node), r.depth, r.last, r.guides))
        .collect();
    let want: Vec<(String, u16, bool, u64)> = [
        // `a` has a sibling below it: bit 0 is set for everything under it.
        ("/a", 0, false, 0),
        ("/a/b", 1, false, 0b1),
        // `b` has a sibling below it too: bit 1.
        ("/a/b/c", 2, false, 0b11),
        ("/a/b/d", 2, true, 0b11),
        ("/a/b2", 1, true, 0b1),
        // `z` and `y` are last: no guides below them.
        ("/z", 0, true, 0),
        ("/z/y", 1, true, 0),
        ("/z/y/x", 2, true, 0),
    ]
    .iter()
    .map(|&(p, d, l, g)| (p.to_string(), d, l, g))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn last_and_guides_follow_the_visible_rows_not_all_children() {
    // `/a/z` is the last child by name; hidden, `/a/m` becomes the last visible one.
    let fs = build(&[
        &[E::File("a/m", "1")],
        &[E::File("a/z", "1"), E::File("b", "1")],
    ]);
    let mut tree = view(&fs, Mode::Aggregated, 1);
    tree.options.hidden[slot(Change::Added)] = true;
    tree.refresh(&fs);
    let got: Vec<(String, bool, u64)> = tree
        .rows
        .iter()
        .map(|r| (fs.path(r.node), r.last, r.guides))
        .collect();
    assert_eq!(
        got,
        [("/a".to_string(), true, 0), ("/a/m".to_string(), true, 0)]
    );
}

#[test]
fn collapse_one_directory_then_all_then_expand_all() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Aggregated, 3);
    let a = node(&fs, "a");
    tree.toggle_collapse(&fs, a);
    let first = tree.rows[0];
    assert_eq!((first.node, first.collapsed, first.is_dir), (a, true, true));
    assert_eq!(
        paths(&tree, &fs)[..3],
        ["/a".to_string(), "/b".to_string(), "/b/new".to_string()]
    );
    // The size of a collapsed directory is still the sum below it.
    assert_eq!(first.size, 7);
    tree.toggle_collapse(&fs, a);
    assert_eq!(tree.rows.len(), 15);
    assert!(!tree.rows[0].collapsed);

    tree.toggle_collapse_all(&fs);
    assert_eq!(paths(&tree, &fs), ["/a", "/b", "/d", "/e", "/empty", "/t"]);
    assert!(tree.rows.iter().all(|r| r.collapsed));
    // Collapsed state survives a refresh (e.g. a layer switch).
    tree.refresh(&fs);
    assert_eq!(tree.rows.len(), 6);
    // With every listed directory collapsed, the same action expands everything.
    tree.toggle_collapse_all(&fs);
    assert_eq!(tree.rows.len(), 15);
    assert!(tree.rows.iter().all(|r| !r.collapsed));
}

#[test]
fn collapse_all_collapses_nested_directories_too() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Aggregated, 3);
    tree.toggle_collapse_all(&fs);
    // Expanding only `/d` shows `sub` collapsed, not its child.
    tree.toggle_collapse(&fs, node(&fs, "d"));
    assert_eq!(
        paths(&tree, &fs),
        ["/a", "/b", "/d", "/d/sub", "/d/x", "/e", "/empty", "/t"]
    );
    assert!(tree.rows[3].collapsed);
}

#[test]
fn reveal_expands_the_ancestors_and_returns_the_row() {
    let fs = sample();
    let mut tree = view(&fs, Mode::Aggregated, 3);
    tree.toggle_collapse_all(&fs);
    let y = node(&fs, "d/sub/y");
    let i = tree.reveal(&fs, y).expect("y is in the view");
    assert_eq!(tree.rows[i].node, y);
    assert_eq!(
        paths(&tree, &fs),
        [
            "/a", "/b", "/d", "/d/sub", "/d/sub/y", "/d/x", "/e", "/empty", "/t"
        ]
    );
    assert_eq!(i, 4);
    // A node that is not in the view: no row.
    let mut layer2 = view(&fs, Mode::Layer, 2);
    assert_eq!(layer2.reveal(&fs, node(&fs, "a/keep")), None);
}
