//! The treemap's folding, checked on filesystems written by hand: the sizes expected are the
//! contents' lengths, added up here.

use super::*;
use crate::engine::Loaded;
use crate::overlay::testkit::{E, layer};

/// The image of `layers` and its analysis.
fn image(layers: &[&[E]]) -> (Loaded, Analysis) {
    let scans: Vec<_> = layers.iter().map(|l| layer(l)).collect();
    let mut fs = Fs::new();
    for s in &scans {
        fs.apply(s);
    }
    fs.finish();
    let loaded = Loaded::synthetic("test", scans, fs);
    let a = Analysis::new(&loaded);
    (loaded, a)
}

fn tree_of(layers: &[&[E]], budget: usize, children: usize) -> Tree {
    let (loaded, a) = image(layers);
    build_with(&loaded.fs, &a, budget, children)
}

/// The node at `path` (`/a/b`), by names.
fn find(t: &Tree, path: &str) -> usize {
    let mut node = 0;
    for name in path.split('/').filter(|p| !p.is_empty()) {
        node = (0..t.name.len())
            .find(|&i| t.parent[i] == node as i64 && t.name[i] == name)
            .unwrap_or_else(|| panic!("{path}: no {name} under node {node}: {t:#?}"));
    }
    node
}

fn children(t: &Tree, i: usize) -> Vec<usize> {
    (0..t.name.len())
        .filter(|&k| t.parent[k] == i as i64)
        .collect()
}

fn kind(t: &Tree, i: usize) -> char {
    t.kind.as_bytes()[i] as char
}

/// Every node comes after its parent, and a broken-down directory holds exactly its
/// children's bytes, files and waste.
fn assert_consistent(t: &Tree) {
    assert_eq!(t.parent[0], -1);
    for i in 1..t.name.len() {
        assert!((t.parent[i] as usize) < i, "node {i} before its parent");
    }
    for i in 0..t.name.len() {
        let kids = children(t, i);
        if kids.is_empty() {
            continue;
        }
        assert_eq!(kind(t, i), 'd', "node {i} has children");
        for (what, v) in [("bytes", &t.bytes), ("files", &t.files)] {
            let sum: u64 = kids.iter().map(|&k| v[k]).sum();
            assert_eq!(v[i], sum, "{what} of {}", t.name[i]);
        }
    }
}

#[test]
fn sizes_add_up_and_each_file_counts_once() {
    let t = tree_of(
        &[
            &[
                E::File("usr/bin/tool", "0123456789"),
                E::File("usr/lib/a.so", "abcdef"),
                E::Hard("usr/lib/b.so", "usr/lib/a.so"),
                E::Sym("usr/lib/c.so", "a.so"),
                E::File("etc/conf", "xyz"),
                E::Dir("empty"),
            ],
            &[E::File("usr/bin/tool", "0123456789abcdefghij")],
        ],
        BUDGET,
        CHILDREN,
    );
    assert_consistent(&t);
    // 20 (the tool as rewritten) + 6 (a.so, whose hard link adds nothing) + 3.
    assert_eq!(t.bytes[0], 29);
    assert_eq!(t.bytes[find(&t, "/usr/lib")], 6);
    let (a, b) = (find(&t, "/usr/lib/a.so"), find(&t, "/usr/lib/b.so"));
    assert_eq!(t.bytes[a] + t.bytes[b], 6, "the content counted once");
    assert_eq!(t.files[0], 4, "tool, a.so, b.so, conf: regular files");
    assert_eq!(kind(&t, find(&t, "/usr/lib/c.so")), 'l');
    assert_eq!(kind(&t, find(&t, "/empty")), 'd');
    assert_eq!(
        t.paths, 10,
        "usr bin tool lib a.so b.so c.so etc conf empty"
    );
    assert_eq!(t.listed, t.paths);
}

#[test]
fn layers_are_the_ones_that_shipped_the_bytes() {
    let t = tree_of(
        &[
            &[E::File("app/small", "aa"), E::File("app/old", "0123456789")],
            &[E::File("app/big", "0123456789012345"), E::Wh("app/old")],
        ],
        BUDGET,
        CHILDREN,
    );
    assert_eq!(t.layer[find(&t, "/app/small")], 0);
    assert_eq!(t.layer[find(&t, "/app/big")], 1);
    assert_eq!(
        t.layer[find(&t, "/app")],
        1,
        "16 of its 18 bytes are layer 1's"
    );
    // The deleted file's 10 bytes are wasted under /app, not at any file still there.
    assert_eq!(t.waste[find(&t, "/app")], 10);
    assert_eq!(t.waste[0], 10);
    assert_eq!(t.waste[find(&t, "/app/big")], 0);
}

#[test]
fn a_rewritten_file_wastes_its_first_copy() {
    let t = tree_of(
        &[&[E::File("f", "first copy")], &[E::File("f", "second")]],
        BUDGET,
        CHILDREN,
    );
    let f = find(&t, "/f");
    assert_eq!((t.bytes[f], t.waste[f]), (6, 10));
}

#[test]
fn the_smaller_entries_of_a_directory_fold_into_one() {
    let t = tree_of(
        &[&[
            E::File("d/a", "aaaaaaa"),
            E::File("d/b", "bbbbbb"),
            E::File("d/c", "ccccc"),
            E::File("d/e", "dd"),
            E::File("d/f", "e"),
        ]],
        BUDGET,
        2,
    );
    assert_consistent(&t);
    let d = find(&t, "/d");
    let kids = children(&t, d);
    let names: Vec<&str> = kids.iter().map(|&k| t.name[k].as_str()).collect();
    assert_eq!(names, ["a", "b", "3 smaller files"]);
    let folded = kids[2];
    assert_eq!(kind(&t, folded), 'a');
    assert_eq!((t.bytes[folded], t.files[folded]), (5 + 2 + 1, 3));
    assert_eq!(t.listed, 4, "d, a, b and the folded node");
    assert_eq!(t.paths, 6);
}

#[test]
fn the_budget_goes_to_the_largest_directories_first() {
    let t = tree_of(
        &[&[
            E::File("big/x", "xxxxxxxxxxxxxxxxxxxx"),
            E::File("big/y", "yyyyyyyyyy"),
            E::File("small/z", "zz"),
        ]],
        5,
        CHILDREN,
    );
    assert_consistent(&t);
    assert!(t.name.len() <= 5, "{t:#?}");
    let (big, small) = (find(&t, "/big"), find(&t, "/small"));
    assert_eq!(kind(&t, big), 'd');
    assert_eq!(children(&t, big).len(), 2);
    // No room left for small/z: the directory stands for its contents.
    assert_eq!(kind(&t, small), 'u');
    assert_eq!((t.bytes[small], t.files[small]), (2, 1));
    assert_eq!(t.bytes[0], 32);
}

#[test]
fn a_budget_of_one_keeps_the_root_alone() {
    let t = tree_of(&[&[E::File("a", "aa"), E::File("b", "b")]], 1, CHILDREN);
    assert_eq!(t.name.len(), 1);
    assert_eq!(kind(&t, 0), 'u');
    assert_eq!(t.bytes[0], 3);
}

#[test]
fn names_are_escaped_as_the_text_output_escapes_them() {
    let t = tree_of(
        &[&[E::File("evil\u{1b}[2J\u{202e}", "x")]],
        BUDGET,
        CHILDREN,
    );
    assert_eq!(t.name[1], "evil\\x1b[2J\\u{202e}");
}

#[test]
fn without_a_package_database_nothing_is_owned() {
    let t = tree_of(&[&[E::File("a", "aa")]], BUDGET, CHILDREN);
    assert!(t.owner.iter().all(|&o| o == -1));
    assert!(t.packages.is_empty());
}
