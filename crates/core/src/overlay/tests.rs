//! One test per overlay rule, on layers written by hand, and property tests of the invariants.

use super::testkit::{E, build, layer};
use super::*;
use crate::analysis::dive;
use crate::analysis::waste::{self, Cause};

/// The final filesystem as `path kind size [-> target]` lines, sorted.
fn listing(fs: &Fs, k: usize) -> Vec<String> {
    let mut out: Vec<String> = fs
        .node_ids()
        .skip(1)
        .filter_map(|n| {
            let m = fs.state_at(n, k)?;
            let target = fs
                .link_target(&m)
                .map(|t| format!(" -> {}", String::from_utf8_lossy(t)))
                .unwrap_or_default();
            Some(format!(
                "{} {} {}{}",
                fs.path(n),
                m.kind.letter(),
                m.size,
                target
            ))
        })
        .collect();
    out.sort();
    out
}

fn last(fs: &Fs) -> Vec<String> {
    listing(fs, fs.layer_count() - 1)
}

fn change(fs: &Fs, path: &str, k: usize) -> Option<Change> {
    fs.event_at(fs.lookup(path)?, k).map(|e| e.change)
}

#[test]
fn missing_parents_are_created_as_0755_directories() {
    let fs = build(&[&[E::File("a/b/c", "x")]]);
    assert_eq!(last(&fs), ["/a d 0", "/a/b d 0", "/a/b/c - 1"]);
    let a = fs.final_state(fs.lookup("a").unwrap()).unwrap();
    assert!(a.implicit);
    assert_eq!(a.mode, 0o755);
}

#[test]
fn names_are_normalised_and_dotdot_clamps_at_the_root() {
    let fs = build(&[&[
        E::File("./x/../../../etc/passwd", "p"),
        E::File("/abs//y", "q"),
    ]]);
    assert_eq!(
        last(&fs),
        ["/abs d 0", "/abs/y - 1", "/etc d 0", "/etc/passwd - 1"]
    );
}

#[test]
fn a_file_over_a_file_replaces_it_and_wastes_the_lower_copy() {
    let fs = build(&[&[E::File("f", "old!")], &[E::File("f", "new")]]);
    assert_eq!(last(&fs), ["/f - 3"]);
    assert_eq!(change(&fs, "f", 1), Some(Change::Modified));
    let w = waste::compute(&fs);
    assert_eq!((w.shipped, w.visible, w.wasted), (7, 3, 4));
    assert_eq!(w.by_cause.overwritten, 4);
    assert_eq!(w.paths[0].cause, Cause::Overwritten);
    assert_eq!(w.paths[0].copies, 2);
    assert_eq!(w.layer_hidden_lower, [0, 4]);
}

#[test]
fn same_content_again_is_metadata_only() {
    let fs = build(&[&[E::File("f", "same")], &[E::FileMode("f", "same", 0o600)]]);
    assert_eq!(change(&fs, "f", 1), Some(Change::Metadata));
    let w = waste::compute(&fs);
    assert_eq!(w.by_cause.metadata_only, 4);
    assert_eq!(w.paths[0].cause, Cause::MetadataOnly);
}

#[test]
fn within_a_layer_the_last_entry_wins_and_both_are_shipped() {
    let fs = build(&[&[E::File("f", "first"), E::File("f", "2nd")]]);
    assert_eq!(last(&fs), ["/f - 3"]);
    assert_eq!(change(&fs, "f", 0), Some(Change::Added));
    let w = waste::compute(&fs);
    assert_eq!((w.shipped, w.wasted), (8, 5));
    assert_eq!(w.layer_wasted, [5]);
}

#[test]
fn whiteout_removes_a_lower_file() {
    let fs = build(&[
        &[E::File("d/f", "data"), E::File("d/g", "g")],
        &[E::Wh("d/f")],
    ]);
    assert_eq!(last(&fs), ["/d d 0", "/d/g - 1"]);
    assert_eq!(change(&fs, "d/f", 1), Some(Change::Removed));
    // Still there as of layer 0.
    assert!(listing(&fs, 0).contains(&"/d/f - 4".to_string()));
    let w = waste::compute(&fs);
    assert_eq!(w.by_cause.deleted, 4);
    assert_eq!(fs.layer(1).whiteouts.len(), 1);
}

#[test]
fn whiteout_of_a_directory_removes_its_subtree_and_counts_it_as_waste() {
    let fs = build(&[
        &[
            E::File("d/a", "aaaa"),
            E::File("d/sub/b", "bb"),
            E::File("keep", "k"),
        ],
        &[E::Wh("d")],
    ]);
    assert_eq!(last(&fs), ["/keep - 1"]);
    for p in ["d", "d/a", "d/sub", "d/sub/b"] {
        assert_eq!(change(&fs, p, 1), Some(Change::Removed), "{p}");
    }
    let facts = &fs.layer(1).whiteouts[0];
    assert!(facts.was_dir);
    assert_eq!(facts.bytes, 6);
    let w = waste::compute(&fs);
    assert_eq!((w.wasted, w.by_cause.deleted), (6, 6));
    assert_eq!(w.layer_hidden_lower, [0, 6]);
}

#[test]
fn whiteouts_only_hide_lower_layers() {
    // The marker comes after the entry in the tar: the same layer's file survives.
    let fs = build(&[&[E::File("f", "old")], &[E::File("f", "new!"), E::Wh("f")]]);
    assert_eq!(last(&fs), ["/f - 4"]);
    assert_eq!(change(&fs, "f", 1), Some(Change::Modified));
}

#[test]
fn whiteout_of_nothing_does_nothing() {
    let fs = build(&[
        &[E::File("a", "1")],
        &[E::Wh("nothere"), E::Wh("no/such/dir")],
    ]);
    assert_eq!(last(&fs), ["/a - 1"]);
    assert!(fs.lookup("no").is_none(), "a whiteout creates no parents");
}

#[test]
fn opaque_directory_hides_lower_children_wherever_the_marker_sits() {
    for marker_first in [true, false] {
        let mut top = vec![E::Dir("d"), E::File("d/new", "n")];
        if marker_first {
            top.insert(0, E::Opq("d"));
        } else {
            top.push(E::Opq("d"));
        }
        let fs = build(&[&[E::File("d/old", "old"), E::File("d/sub/x", "x")], &top]);
        assert_eq!(
            last(&fs),
            ["/d d 0", "/d/new - 1"],
            "marker first: {marker_first}"
        );
        assert_eq!(fs.layer(1).opaque_dirs.len(), 1);
        assert_eq!(waste::compute(&fs).by_cause.deleted, 4);
    }
}

#[test]
fn a_file_over_a_directory_removes_the_subtree() {
    let fs = build(&[
        &[E::File("p/a", "12"), E::File("p/q/b", "3")],
        &[E::File("p", "file")],
    ]);
    assert_eq!(last(&fs), ["/p - 4"]);
    assert_eq!(change(&fs, "p", 1), Some(Change::Modified));
    assert_eq!(change(&fs, "p/q/b", 1), Some(Change::Removed));
    assert_eq!(waste::compute(&fs).by_cause.deleted, 3);
}

#[test]
fn a_directory_over_a_file_replaces_it() {
    let fs = build(&[&[E::File("p", "file")], &[E::Dir("p"), E::File("p/x", "x")]]);
    assert_eq!(last(&fs), ["/p d 0", "/p/x - 1"]);
    assert_eq!(waste::compute(&fs).by_cause.deleted, 4);
}

#[test]
fn a_directory_over_a_directory_merges_and_takes_the_new_mode() {
    let fs = build(&[
        &[E::Dir("d"), E::File("d/a", "a")],
        &[E::DirMode("d", 0o700), E::File("d/b", "b")],
    ]);
    assert_eq!(last(&fs), ["/d d 0", "/d/a - 1", "/d/b - 1"]);
    assert_eq!(fs.final_state(fs.lookup("d").unwrap()).unwrap().mode, 0o700);
    assert_eq!(change(&fs, "d", 1), Some(Change::Metadata));
}

#[test]
fn an_identical_directory_entry_is_unchanged() {
    let fs = build(&[&[E::Dir("d")], &[E::Dir("d"), E::File("d/x", "x")]]);
    assert_eq!(change(&fs, "d", 1), Some(Change::Unchanged));
}

#[test]
fn parents_resolve_through_symlinks_merged_usr() {
    let fs = build(&[
        &[
            E::Dir("usr/lib"),
            E::Sym("lib", "usr/lib"),
            E::Sym("abs", "/usr"),
            E::Sym("up", "usr/lib/../share"),
        ],
        &[
            E::File("lib/x.so", "so"),
            E::File("abs/bin/tool", "t"),
            E::File("up/doc", "d"),
        ],
    ]);
    let l = last(&fs);
    assert!(l.contains(&"/usr/lib/x.so - 2".to_string()), "{l:?}");
    assert!(l.contains(&"/usr/bin/tool - 1".to_string()), "{l:?}");
    assert!(l.contains(&"/usr/share/doc - 1".to_string()), "{l:?}");
    assert!(l.contains(&"/lib l 0 -> usr/lib".to_string()), "{l:?}");
    assert!(fs.lookup("lib/x.so").is_none());
}

#[test]
fn whiteouts_resolve_parents_through_symlinks_too() {
    let fs = build(&[
        &[E::Sym("lib", "usr/lib"), E::File("usr/lib/x.so", "so")],
        &[E::Wh("lib/x.so")],
    ]);
    assert!(!last(&fs).iter().any(|l| l.contains("x.so")));
}

#[test]
fn the_last_component_is_not_followed() {
    // A new file at a symlink's name replaces the symlink, not its target.
    let fs = build(&[
        &[E::File("target", "t"), E::Sym("link", "target")],
        &[E::File("link", "new")],
    ]);
    assert_eq!(last(&fs), ["/link - 3", "/target - 1"]);
}

#[test]
fn symlink_loops_and_file_parents_are_skipped_with_a_warning() {
    let fs = build(&[
        &[E::Sym("a", "b"), E::Sym("b", "a"), E::File("f", "x")],
        &[E::File("a/x", "1"), E::File("f/y", "2"), E::File("ok", "3")],
    ]);
    let w = &fs.layer(1).warnings;
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].contains("too many levels of symbolic links"), "{w:?}");
    assert!(w[1].contains("not a directory"), "{w:?}");
    assert!(last(&fs).contains(&"/ok - 1".to_string()));
}

/// Regression: the top-n cut reorders the wasted paths even when ties keep all of them; each
/// listed path must still get its own copies and layers.
#[test]
fn top_paths_keep_their_own_copies_when_ties_keep_every_path() {
    let fs = build(&[
        &[E::File("a/x", "22")],
        &[E::File("c", "333")],
        &[E::File("a/y", "22")],
        &[E::File("c", ""), E::Wh("a")],
    ]);
    let all = waste::compute(&fs);
    let top = waste::compute_top(&fs, Some(2));
    assert_eq!(top.paths, all.paths[..2]);
    let c = &top.paths[0];
    assert_eq!((c.path.as_str(), c.copies), ("/c", 2));
    assert_eq!((&c.layers[..], &c.hidden_by[..]), (&[1][..], &[3][..]));
    let x = &top.paths[1];
    assert_eq!(
        (x.path.as_str(), x.copies, &x.layers[..]),
        ("/a/x", 1, &[0][..])
    );
}

#[test]
fn hard_links_keep_content_alive_after_the_original_is_removed() {
    let fs = build(&[
        &[E::File("orig", "content")],
        &[E::Hard("link", "orig")],
        &[E::Wh("orig")],
    ]);
    assert_eq!(last(&fs), ["/link - 7"]);
    let w = waste::compute(&fs);
    assert_eq!((w.shipped, w.visible, w.wasted), (7, 7, 0));
}

#[test]
fn hard_link_bytes_are_counted_once() {
    let fs = build(&[&[
        E::File("a", "12345"),
        E::Hard("b", "a"),
        E::Hard("c", "./a"),
    ]]);
    let w = waste::compute(&fs);
    assert_eq!((w.shipped, w.visible), (5, 5));
    assert_eq!(fs.layer(0).shipped, 5);
    let a = fs.final_state(fs.lookup("a").unwrap()).unwrap().object();
    let c = fs.final_state(fs.lookup("c").unwrap()).unwrap().object();
    assert_eq!(a, c);
}

#[test]
fn a_hard_link_to_nothing_is_skipped_with_a_warning() {
    let fs = build(&[&[E::Hard("b", "missing")]]);
    assert!(fs.layer(0).warnings[0].contains("does not exist"));
    assert!(fs.lookup("b").is_none_or(|n| fs.final_state(n).is_none()));
}

#[test]
fn overwriting_one_hard_link_name_keeps_the_other() {
    let fs = build(&[
        &[E::File("a", "abc"), E::Hard("b", "a")],
        &[E::File("a", "zz")],
    ]);
    let w = waste::compute(&fs);
    assert_eq!((w.shipped, w.visible, w.wasted), (5, 5, 0));
}

#[test]
fn root_entry_sets_root_metadata() {
    let fs = build(&[&[E::DirMode("./", 0o700), E::File("x", "1")]]);
    assert_eq!(fs.final_state(ROOT).unwrap().mode, 0o700);
    assert_eq!(last(&fs), ["/x - 1"]);
}

#[test]
fn state_at_answers_for_every_layer() {
    let fs = build(&[
        &[E::File("f", "1")],
        &[E::File("f", "22")],
        &[E::Wh("f")],
        &[E::File("f", "4444")],
    ]);
    let f = fs.lookup("f").unwrap();
    let sizes: Vec<Option<u64>> = (0..4).map(|k| fs.state_at(f, k).map(|m| m.size)).collect();
    assert_eq!(sizes, [Some(1), Some(2), None, Some(4)]);
    let changes: Vec<Change> = fs.events(f).iter().map(|e| e.change).collect();
    assert_eq!(
        changes,
        [
            Change::Added,
            Change::Modified,
            Change::Removed,
            Change::Added
        ]
    );
    assert_eq!(fs.layer(2).nodes, vec![f]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    const NAMES: &[&str] = &["a", "b", "c", "a/x", "a/y", "b/x", "a/x/deep", "c/z"];
    const CONTENTS: &[&str] = &["", "1", "22", "333", "4444"];

    fn arb_entry() -> impl Strategy<Value = E> {
        prop_oneof![
            4 => (0..NAMES.len(), 0..CONTENTS.len()).prop_map(|(n, c)| E::File(NAMES[n], CONTENTS[c])),
            2 => (0..NAMES.len()).prop_map(|n| E::Dir(NAMES[n])),
            2 => (0..NAMES.len()).prop_map(|n| E::Wh(NAMES[n])),
            1 => (0..3usize).prop_map(|n| E::Opq(["a", "b", "c"][n])),
            1 => (0..NAMES.len(), 0..NAMES.len()).prop_map(|(a, b)| E::Hard(NAMES[a], NAMES[b])),
            1 => (0..3usize, 0..3usize).prop_map(|(a, b)| E::Sym(["a", "b", "c"][a], ["b", "c", "/a"][b])),
        ]
    }

    fn arb_layers() -> impl Strategy<Value = Vec<Vec<E>>> {
        prop::collection::vec(prop::collection::vec(arb_entry(), 0..8), 1..6)
    }

    fn build_owned(layers: &[Vec<E>]) -> Fs {
        let refs: Vec<&[E]> = layers.iter().map(Vec::as_slice).collect();
        build(&refs)
    }

    // Deep enough that names share some directories and not others, as a layer's scattered
    // changes do (the parent cache resolves from the deepest directory they share).
    const DEEP: &[&str] = &[
        "a",
        "a/b",
        "a/b/f",
        "a/b/g",
        "a/c/f",
        "l/f",
        "l/b/g",
        "m/x",
        "a/b/../h",
        "a/b/c/f",
        "a/b/d/g",
        "l/b/c/h",
        "a/c/../b/c/g",
    ];
    const TARGETS: &[&str] = &["a", "a/b", "/a/c", "../a", "m", "l/b"];

    fn arb_deep_entry() -> impl Strategy<Value = E> {
        prop_oneof![
            4 => (0..DEEP.len(), 0..CONTENTS.len()).prop_map(|(n, c)| E::File(DEEP[n], CONTENTS[c])),
            3 => (0..DEEP.len()).prop_map(|n| E::Dir(DEEP[n])),
            1 => (0..DEEP.len()).prop_map(|n| E::Wh(DEEP[n])),
            1 => (0..DEEP.len(), 0..DEEP.len()).prop_map(|(a, b)| E::Hard(DEEP[a], DEEP[b])),
            2 => (0..DEEP.len(), 0..TARGETS.len()).prop_map(|(a, b)| E::Sym(DEEP[a], TARGETS[b])),
        ]
    }

    fn build_with(layers: &[Vec<E>], cache: bool) -> Fs {
        let mut fs = Fs::new();
        fs.parent_cache = cache;
        for l in layers {
            fs.apply(&layer(l));
        }
        fs.finish();
        fs
    }

    /// Base-layer entries: the deep set, plus markers a base layer may carry (at the root, in a
    /// directory, an opaque root, a bare `.wh.`), all of which must hide nothing.
    fn arb_base_entry() -> impl Strategy<Value = E> {
        prop_oneof![
            10 => arb_deep_entry(),
            1 => Just(E::Opq("")),
            1 => Just(E::Opq("a")),
            1 => Just(E::Wh("")),
            1 => Just(E::Wh("a")),
            1 => (0..DEEP.len()).prop_map(|n| E::Wh(DEEP[n])),
        ]
    }

    /// Layer 0 applied in batches cut at `cuts` (as it is read), the rest whole.
    fn build_streamed(layers: &[Vec<E>], cuts: &[usize]) -> Fs {
        let mut fs = Fs::new();
        let mut base = fs.begin_base().unwrap();
        assert!(fs.begin_base().is_none());
        let entries = &layers[0];
        let mut at: Vec<usize> = cuts.iter().map(|&c| c.min(entries.len())).collect();
        at.sort_unstable();
        let mut start = 0;
        for end in at.into_iter().chain([entries.len()]) {
            fs.apply_base_batch(&mut base, &layer(&entries[start..end]));
            start = end;
        }
        fs.end_base(base);
        for l in &layers[1..] {
            fs.apply(&layer(l));
        }
        fs.finish();
        fs
    }

    proptest! {
        /// Streaming the base layer changes nothing: the same nodes, events, objects and
        /// facts as applying it whole, for every cut into batches.
        #[test]
        fn streamed_base_layer_is_invisible(
            base in prop::collection::vec(arb_base_entry(), 0..16),
            upper in prop::collection::vec(prop::collection::vec(arb_deep_entry(), 0..10), 0..3),
            cuts in prop::collection::vec(0..16usize, 0..5),
        ) {
            let mut layers = vec![base];
            layers.extend(upper);
            let whole = build_with(&layers, true);
            let streamed = build_streamed(&layers, &cuts);
            prop_assert_eq!(whole.node_count(), streamed.node_count());
            prop_assert_eq!(whole.objects(), streamed.objects());
            for k in 0..layers.len() {
                prop_assert_eq!(listing(&whole, k), listing(&streamed, k));
                let (a, b) = (whole.layer(k), streamed.layer(k));
                prop_assert_eq!(&a.warnings, &b.warnings);
                prop_assert_eq!(&a.opaque_dirs, &b.opaque_dirs);
                prop_assert_eq!(&a.whiteouts, &b.whiteouts);
                prop_assert_eq!(&a.nodes, &b.nodes);
                prop_assert_eq!((a.entries, a.tar_bytes, a.shipped), (b.entries, b.tar_bytes, b.shipped));
            }
            for n in whole.node_ids() {
                prop_assert_eq!(whole.events(n), streamed.events(n));
                prop_assert_eq!(whole.path(n), streamed.path(n));
                prop_assert_eq!(whole.final_state(n), streamed.final_state(n));
            }
        }

        /// The parent cache changes nothing: same states, events and warnings at every layer.
        #[test]
        fn parent_cache_is_invisible(
            layers in prop::collection::vec(prop::collection::vec(arb_deep_entry(), 0..14), 1..5)
        ) {
            let with = build_with(&layers, true);
            let without = build_with(&layers, false);
            prop_assert_eq!(with.node_count(), without.node_count());
            for k in 0..layers.len() {
                prop_assert_eq!(listing(&with, k), listing(&without, k));
                prop_assert_eq!(&with.layer(k).warnings, &without.layer(k).warnings);
            }
            for n in with.node_ids() {
                prop_assert_eq!(with.events(n), without.events(n));
                prop_assert_eq!(with.path(n), without.path(n));
            }
        }

        /// The counts [`Fs::finish`] keeps are the counts of the events and final states.
        #[test]
        fn finish_counts_what_the_events_say(
            layers in prop::collection::vec(prop::collection::vec(arb_deep_entry(), 0..14), 1..5)
        ) {
            let fs = build_owned(&layers);
            for k in 0..fs.layer_count() {
                let mut want = ChangeCounts::default();
                for n in fs.node_ids() {
                    if let Some(e) = fs.event_at(n, k) {
                        want.count(e.change);
                    }
                }
                prop_assert_eq!(fs.layer(k).changes, want);
            }
            let mut want = FinalCounts::default();
            for n in fs.node_ids().skip(1) {
                if let Some(m) = fs.final_state(n) {
                    want.count(m.kind);
                }
            }
            prop_assert_eq!(fs.final_counts(), want);
            prop_assert_eq!(want.paths as usize, last(&fs).len());
        }

        /// dive's metrics from one pass over the nodes equal the layer-by-layer reference.
        #[test]
        fn dive_metrics_match_the_reference(
            layers in prop::collection::vec(prop::collection::vec(arb_base_entry(), 0..14), 1..6)
        ) {
            let fs = build_owned(&layers);
            prop_assert_eq!(dive::compute(&fs), dive::reference(&fs));
        }

        /// visible + wasted = shipped, and the per-layer and per-cause splits add up.
        #[test]
        fn waste_adds_up(layers in arb_layers()) {
            let fs = build_owned(&layers);
            let w = waste::compute(&fs);
            prop_assert_eq!(w.visible + w.wasted, w.shipped);
            prop_assert_eq!(w.by_cause.deleted + w.by_cause.overwritten + w.by_cause.metadata_only, w.wasted);
            prop_assert_eq!(w.layer_wasted.iter().sum::<u64>(), w.wasted);
            prop_assert_eq!(w.paths.iter().map(|p| p.wasted_bytes).sum::<u64>(), w.wasted);
            let shipped: u64 = fs.layers().iter().map(|l| l.shipped).sum();
            prop_assert_eq!(shipped, w.shipped);
            prop_assert_eq!(w.paths_total, w.paths.len());
            // The top n alone are the first n of the whole list, ties at the cut included.
            for n in [1, 2, 3, 5] {
                let top = waste::compute_top(&fs, Some(n));
                prop_assert_eq!(&top.paths[..], &w.paths[..n.min(w.paths.len())]);
                prop_assert_eq!(top.paths_total, w.paths_total);
                prop_assert_eq!(top.wasted, w.wasted);
            }
        }

        /// Visible bytes are exactly the objects reachable from final paths.
        #[test]
        fn visible_means_reachable(layers in arb_layers()) {
            let fs = build_owned(&layers);
            let mut reachable = std::collections::HashSet::new();
            for n in fs.node_ids() {
                if let Some(o) = fs.final_state(n).and_then(|m| m.object()) {
                    // A final path's parents exist too.
                    let mut p = n;
                    while p != ROOT {
                        p = fs.parent(p);
                        prop_assert!(fs.exists_at(p, fs.layer_count() - 1));
                        if p != ROOT {
                            prop_assert!(fs.final_state(p).unwrap().is_dir());
                        }
                    }
                    reachable.insert(o);
                }
            }
            for (i, o) in fs.objects().iter().enumerate() {
                prop_assert_eq!(o.visible(), reachable.contains(&(i as u32)));
            }
        }

        /// Two layers that touch disjoint top-level directories give the same result in
        /// either order.
        #[test]
        fn disjoint_layers_commute(a in prop::collection::vec((0..3usize, 0..CONTENTS.len()), 0..6),
                                   b in prop::collection::vec((0..3usize, 0..CONTENTS.len()), 0..6)) {
            let la: Vec<E> = a.iter().map(|&(n, c)| E::File(["l/1", "l/2", "l/3"][n], CONTENTS[c])).collect();
            let lb: Vec<E> = b.iter().map(|&(n, c)| E::File(["r/1", "r/2", "r/3"][n], CONTENTS[c])).collect();
            let one = build_owned(&[la.clone(), lb.clone()]);
            let two = build_owned(&[lb, la]);
            prop_assert_eq!(last(&one), last(&two));
            let (w1, w2) = (waste::compute(&one), waste::compute(&two));
            prop_assert_eq!((w1.shipped, w1.wasted), (w2.shipped, w2.wasted));
        }

        /// A layer followed by the whiteouts of all it added leaves the filesystem as before.
        #[test]
        fn adding_then_whiting_out_restores(base in prop::collection::vec(arb_entry(), 0..8),
                                            add in prop::collection::vec((0..4usize, 0..CONTENTS.len()), 1..6)) {
            let names = ["new1", "new2", "nd/x", "nd/y"];
            let added: Vec<E> = add.iter().map(|&(n, c)| E::File(names[n], CONTENTS[c])).collect();
            let mut tops: Vec<&str> = add.iter().map(|&(n, _)| names[n].split('/').next().unwrap()).collect();
            tops.sort();
            tops.dedup();
            let wh: Vec<E> = tops.iter().map(|t| E::Wh(t)).collect();
            let fs = build_owned(&[base.clone(), added, wh]);
            prop_assert_eq!(listing(&fs, 2), listing(&fs, 0));
        }
    }
}

/// Leaks a string for the `&'static str` of the entry language (tests only).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The chain `s0 -> s1 -> ... -> s40 -> d`, made in `dir` and added to `base`: `s1` reaches `d`
/// in 40 hops (Linux's limit), `s0` in 41.
fn symlink_chain(dir: &std::path::Path, base: &mut Vec<E>) {
    for i in 0..41 {
        let target = if i == 40 {
            "d".to_string()
        } else {
            format!("s{}", i + 1)
        };
        std::os::unix::fs::symlink(&target, dir.join(format!("s{i}"))).unwrap();
        base.push(E::Sym(leak(format!("s{i}")), leak(target)));
    }
}

/// Each `(name, entry)`: strata keeps the file an upper layer's `entry` names (as `/d/NAME`)
/// exactly when Linux creates `entry` in `dir`, the same tree.
fn created_as_linux_creates(dir: &std::path::Path, fs: &Fs, cases: &[(&str, &str)]) {
    let l = last(fs);
    for (name, entry) in cases {
        let linux_ok = std::fs::File::create(dir.join(entry)).is_ok();
        let strata_ok = l.iter().any(|p| p.starts_with(&format!("/d/{name} ")));
        assert_eq!(strata_ok, linux_ok, "{entry}: {l:?}");
    }
}

/// Symlink hops count for the whole path, remembered resolutions included, with Linux's limit
/// of 40: the kernel itself is the reference, on the same chain made in a temporary directory.
#[test]
fn symlink_hops_are_counted_as_linux_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let mut base = vec![E::Dir("d")];
    symlink_chain(dir.path(), &mut base);
    // s1/f first: its resolution (40 hops) is remembered; s0/f then takes 41.
    let upper = [E::File("s1/f", "one"), E::File("s0/g", "zero")];
    let fs = build(&[&base, &upper]);
    created_as_linux_creates(dir.path(), &fs, &[("f", "s1/f"), ("g", "s0/g")]);
    assert!(
        fs.layer(1)
            .warnings
            .iter()
            .any(|w| w.contains("too many levels")),
        "{:?}",
        fs.layer(1).warnings
    );
}

/// A name resolved from a directory the previous name led through counts the hops taken to
/// reach that directory: `s1` takes 40 hops to `d` (as for `s1/e/f`), so `s1/e/x/g` (below the
/// previous parent) and `s1/x/h` (beside it) take a 41st through `d/e/x` or `d/x`, too many
/// for Linux, whose verdict on the same tree is the reference.
#[test]
fn symlink_hops_count_through_a_shared_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("d/e/y")).unwrap();
    std::os::unix::fs::symlink("y", dir.path().join("d/e/x")).unwrap();
    std::os::unix::fs::symlink("e", dir.path().join("d/x")).unwrap();
    let mut base = vec![
        E::Dir("d"),
        E::Dir("d/e"),
        E::Dir("d/e/y"),
        E::Sym("d/e/x", "y"),
        E::Sym("d/x", "e"),
    ];
    symlink_chain(dir.path(), &mut base);
    let upper = [
        E::File("s1/e/f", "one"),
        E::File("s1/e/x/g", "two"),
        E::File("s1/x/h", "three"),
    ];
    let fs = build(&[&base, &upper]);
    created_as_linux_creates(
        dir.path(),
        &fs,
        &[("e/f", "s1/e/f"), ("e/y/g", "s1/e/x/g"), ("e/h", "s1/x/h")],
    );
}

/// A symlink target longer than Linux's PATH_MAX cannot be created by a runtime: the entry is
/// skipped with a warning, and nothing expands it.
#[test]
fn symlink_targets_past_path_max_are_refused_as_linux_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    for len in [4095usize, 4096] {
        let target = "a/".repeat(len / 2) + &"b".repeat(len % 2);
        assert_eq!(target.len(), len);
        let linux_ok =
            std::os::unix::fs::symlink(&target, dir.path().join(format!("l{len}"))).is_ok();
        let fs = build(&[&[E::Sym("link", leak(target))]]);
        let strata_ok = fs.lookup("link").is_some();
        assert_eq!(strata_ok, linux_ok, "target of {len} bytes");
        if !strata_ok {
            assert!(
                fs.layer(0).warnings[0].contains("4095"),
                "{:?}",
                fs.layer(0).warnings
            );
        }
    }
}

/// Remembered resolutions are forgotten when the link changes: the same entry name lands in
/// the new target, in the same layer and in the next.
#[test]
fn remembered_symlinks_follow_a_changed_link() {
    let fs = build(&[
        &[
            E::Dir("x"),
            E::Dir("y"),
            E::Sym("l", "x"),
            E::File("l/a", "1"),
        ],
        &[E::Sym("l", "y"), E::File("l/b", "2")],
        &[E::Wh("y"), E::Dir("y/z"), E::File("l/c", "3")],
    ]);
    let at = |k: usize, want: &str| listing(&fs, k).iter().any(|p| p.starts_with(want));
    assert!(at(1, "/x/a ") && at(1, "/y/b ") && !at(1, "/x/b "));
    // Layer 2 whites out y (b with it) and makes it again: l/c lands in the new y.
    assert!(at(2, "/y/c ") && !at(2, "/y/b ") && at(2, "/y/z "));
}
