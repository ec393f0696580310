//! The layering that docs/ARCHITECTURE.md promises, checked against the code: every `crate::`
//! path in a module's non-test code names a module its row of the document allows, the allowed
//! graph has no cycle, and the core crate depends on no terminal or command-line crate.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The "may use" column of the document's table whose first module is `first`: module →
/// modules it may use (`—` is none; "the core" and "anything" are kept as words).
fn allowed(first: &str) -> BTreeMap<String, BTreeSet<String>> {
    let doc = fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("read the doc");
    let mut table = BTreeMap::new();
    let mut inside = false;
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !line.starts_with('|') {
            if inside {
                break;
            }
            continue;
        }
        let module = cells[1].trim_matches('`');
        if module == first {
            inside = true;
        }
        if !inside || module.starts_with('-') {
            continue;
        }
        let uses = cells[3]
            .split(',')
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty() && u != "—")
            .collect();
        table.insert(module.to_string(), uses);
    }
    assert!(
        !table.is_empty(),
        "no table starting at `{first}` in the doc"
    );
    table
}

/// The code of a file that is not test code: the file itself is dropped when it only holds
/// tests, and a `#[cfg(test)]` module is cut off (they close every file that has one).
fn non_test_code(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if ["tests.rs", "testutil.rs", "testkit.rs", "tree_tests.rs"].contains(&name) {
        return String::new();
    }
    let text = fs::read_to_string(path).expect("read source");
    let mut kept = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod ") && n.trim_end().ends_with('{'))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Top-level module → the top-level modules its non-test code names through `crate::`.
fn used(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "snapshots") {
                    stack.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src");
            let first = rel.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            let code = non_test_code(&path);
            let uses = edges.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    uses.insert(name);
                }
            }
        }
    }
    edges
}

/// A cycle in the graph, if there is one (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(path[i..].to_vec());
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_core_is_layered() {
    let allowed = allowed("error");
    assert_eq!(cycle(&allowed), None, "the document's table has a cycle");
    let used = used(&root().join("crates/core/src"));
    let mut wrong = Vec::new();
    for (module, uses) in &used {
        if module == "lib" {
            continue;
        }
        let Some(may) = allowed.get(module) else {
            wrong.push(format!("{module}: not in docs/ARCHITECTURE.md"));
            continue;
        };
        for u in uses {
            if u != "Error" && u != "Result" && !may.contains(u) {
                wrong.push(format!("{module} uses {u}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken: {wrong:?}");
    // The check sees edges at all (a parser that found none would pass anything).
    assert!(used["engine"].contains("overlay"), "{used:?}");
}

#[test]
fn the_printers_do_not_use_the_explorer() {
    let allowed = allowed("report");
    assert_eq!(allowed["report"], BTreeSet::from(["the core".to_string()]));
    let used = used(&root().join("src"));
    assert!(
        !used["report"].contains("tui") && !used["report"].contains("main"),
        "report uses {:?}",
        used["report"]
    );
    assert!(used["tui"].contains("report"), "{:?}", used["tui"]);
}

/// The core's manifest names no terminal, command-line or progress crate. This checks the
/// direct dependencies only; `cargo tree -p strata-core -e normal` showed none of them
/// transitively either when the crates were split.
#[test]
fn the_core_depends_on_no_ui_crate() {
    let manifest = fs::read_to_string(root().join("crates/core/Cargo.toml")).expect("manifest");
    let mut section = "";
    let mut direct = Vec::new();
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t;
        } else if section == "[dependencies]" && !t.starts_with('#') && t.contains('=') {
            direct.push(t.split(['=', '.']).next().unwrap_or("").trim().to_string());
        }
    }
    assert!(direct.contains(&"flate2".to_string()), "{direct:?}");
    for ui in [
        "ratatui",
        "crossterm",
        "indicatif",
        "console",
        "clap",
        "anyhow",
        "strsim",
    ] {
        assert!(
            !direct.iter().any(|d| d == ui),
            "{ui} in the core's dependencies"
        );
    }
}
