//! Package attribution on `packages-oci`, an image whose packages real dpkg installed,
//! upgraded and removed (testdata/README.md), against the independent oracle's numbers
//! (`testdata/expected.py`, key `packages`: Python's tarfile over the layers, dpkg's own
//! status and lists).

use serde_json::Value;

use crate::fixtures::run::analyze_json;
use crate::fixtures::{image_arg, oracle};

/// `strata analyze IMAGE`'s packages against the oracle's key `key`, one by one: the same
/// packages, each of `manager` with the oracle's version, arch, files, bytes and layer.
/// Returns the analysis and the oracle's part for the caller's further checks.
fn packages_match_the_oracle(image: &str, key: &str, manager: &str) -> (Value, &'static Value) {
    let (json, _) = analyze_json(&[&image_arg(image)]);
    let want = oracle(key);
    let by_package = want["by_package"].as_object().expect("by_package");
    let got = json["packages"].as_array().expect("packages[]");
    assert_eq!(got.len(), by_package.len(), "{got:#?}");
    for p in got {
        let name = p["name"].as_str().unwrap_or_default();
        let w = &by_package[name];
        assert_eq!(p["manager"], manager, "{name}");
        assert_eq!(p["version"], w["version"], "{name}");
        assert_eq!(p["arch"], w["architecture"], "{name}");
        assert_eq!(p["files"], w["file_count"], "{name}");
        assert_eq!(p["visible_bytes"], w["visible_bytes"], "{name}");
        assert_eq!(p["wasted_bytes"], w["wasted_bytes"], "{name}");
        assert_eq!(p["layer"], w["layer"], "{name}");
    }
    (json, want)
}

#[test]
fn every_package_has_the_oracles_bytes_files_and_layer() {
    let (json, want) = packages_match_the_oracle("packages-oci", "packages", "dpkg");
    let got = json["packages"].as_array().expect("packages[]");
    // Largest first.
    let sizes: Vec<u64> = got
        .iter()
        .map(|p| p["visible_bytes"].as_u64().unwrap_or(0))
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
    // The removed package is no package of the final image.
    for gone in want["removed_packages"]
        .as_object()
        .map(|o| o.keys())
        .into_iter()
        .flatten()
    {
        assert!(got.iter().all(|p| p["name"] != gone.as_str()), "{gone}");
    }
    // Build-time packages: make and the -dev headers, nothing else.
    let build: Vec<&str> = got
        .iter()
        .filter(|p| p["build_time"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut build = build;
    build.sort_unstable();
    assert_eq!(build, ["libonig-dev", "make"]);
}

#[test]
fn the_bytes_no_package_owns_are_grouped_by_top_directory() {
    let (json, _) = analyze_json(&[&image_arg("packages-oci")]);
    let want = oracle("packages")["unowned"]
        .as_object()
        .expect("unowned")
        .clone();
    let got = json["unowned"].as_array().expect("unowned[]");
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for u in got {
        let dir = u["dir"].as_str().unwrap_or_default();
        assert_eq!(u["bytes"], want[dir]["bytes"], "{dir}");
        assert_eq!(u["files"], want[dir]["files"], "{dir}");
    }
    // Owned and not owned make up the visible bytes, each counted once.
    let owned: u64 = json["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["visible_bytes"].as_u64().unwrap_or(0))
        .sum();
    let unowned: u64 = got.iter().map(|u| u["bytes"].as_u64().unwrap_or(0)).sum();
    assert_eq!(
        Value::from(owned + unowned),
        oracle("packages")["visible_bytes"]
    );
}

/// Each layer says what it shipped for which package: the first install layer ships every
/// package's first version, the upgrade layer jq's and libjq1's new files and hello's.
#[test]
fn each_layer_names_the_packages_it_shipped() {
    let (json, _) = analyze_json(&[&image_arg("packages-oci")]);
    let want = oracle("packages");
    let layers = json["layers"].as_array().expect("layers[]");
    let names = |k: usize| -> Vec<String> {
        let mut v: Vec<String> = layers[k]["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let by_package = want["by_package"].as_object().expect("by_package");
    let mut first: Vec<String> = by_package
        .iter()
        .filter(|(_, p)| p["layer"] == 1)
        .map(|(n, _)| n.clone())
        .collect();
    first.sort();
    assert_eq!(names(1), first);
    let mut second: Vec<String> = by_package
        .iter()
        .filter(|(_, p)| p["version_layer"] == 2)
        .map(|(n, _)| n.clone())
        .collect();
    second.sort();
    assert_eq!(names(2), second);
    // Shares are bytes the layer shipped: the package's visible bytes when nothing replaced them.
    for s in layers[1]["packages"].as_array().into_iter().flatten() {
        let p = &by_package[s["name"].as_str().unwrap_or_default()];
        if p["version_layer"] == 1 {
            assert_eq!(s["bytes"], p["visible_bytes"], "{s}");
        }
    }
}

#[test]
fn the_text_summary_lists_the_packages() {
    let r = crate::fixtures::run::run(
        crate::fixtures::run::strata()
            .arg("analyze")
            .arg(image_arg("packages-oci")),
    );
    r.expect_code(0);
    let want = oracle("packages");
    let count = want["by_package"].as_object().map_or(0, |o| o.len());
    let line = format!("Packages     {count} packages (dpkg)");
    assert!(r.stdout.contains(&line), "{line}\n{}", r.stdout);
    let make = format!(
        "make {}  (build-time)",
        want["by_package"]["make"]["version"]
            .as_str()
            .unwrap_or("?")
    );
    assert!(r.stdout.contains(&make), "{make}\n{}", r.stdout);
    // The largest directory no package owns, in decimal megabytes as the summary prints sizes.
    let bin = want["unowned"]["/bin"]["bytes"].as_u64().unwrap_or(0) as f64 / 1e6;
    let line = format!("Not owned    /bin {bin:.2} MB");
    assert!(r.stdout.contains(&line), "{line}\n{}", r.stdout);
}

/// `compare` names the packages one image has and the other lacks, with the oracle's bytes:
/// against an image without packages every package is added, the other way removed.
#[test]
fn compare_lists_the_packages_added_and_removed() {
    let want = oracle("packages");
    let by_package = want["by_package"].as_object().expect("by_package");
    for (a, b, change) in [
        ("compare-program-single", "packages-oci", "added"),
        ("packages-oci", "compare-program-single", "removed"),
    ] {
        let r = crate::fixtures::run::run(
            crate::fixtures::run::strata()
                .arg("compare")
                .arg(image_arg(a))
                .arg(image_arg(b))
                .args(["--quiet", "--format", "json"]),
        );
        r.expect_code(0);
        let json = r.json();
        let got = json["packages"].as_array().expect("packages[]");
        assert_eq!(got.len(), by_package.len(), "{a} -> {b}");
        for p in got {
            let name = p["name"].as_str().unwrap_or_default();
            let bytes = by_package[name]["visible_bytes"].as_i64().unwrap_or(-1);
            assert_eq!(p["change"], change, "{name}");
            let signed = if change == "added" { bytes } else { -bytes };
            assert_eq!(p["delta_bytes"].as_i64(), Some(signed), "{name}");
        }
        let deltas: Vec<u64> = got
            .iter()
            .map(|p| p["delta_bytes"].as_i64().unwrap_or(0).unsigned_abs())
            .collect();
        assert!(deltas.windows(2).all(|w| w[0] >= w[1]), "{deltas:?}");
        // The verdict names the largest package behind the difference (make, 1.53 MB).
        if change == "removed" {
            let make = by_package["make"]["visible_bytes"].as_u64().unwrap_or(0) as f64 / 1e6;
            let verdict = json["verdict"].as_str().unwrap_or_default();
            let named = format!("packages make -{make:.2} MB");
            assert!(verdict.contains(&named), "{named} in {verdict}");
        }
    }
}

/// The explorer's tree names each file's package beside it (the owner column, when the tree
/// is wide enough), and the layer details the packages the layer shipped most bytes for.
#[test]
fn the_explorer_shows_owners_and_layer_packages() {
    use strata::tui::keymap::Keymap;
    use strata::tui::{parse_script, replay};
    let (loaded, _) = crate::fixtures::load(&image_arg("packages-oci"), None, None);
    let want = oracle("packages");
    // Which package the oracle says owns /usr/bin/hello and /usr/bin/jq.
    let owner_of = |file: &str| -> String {
        want["by_package"]
            .as_object()
            .into_iter()
            .flatten()
            .find(|(_, p)| p["files"].get(file).is_some())
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| panic!("no package lists {file}"))
    };
    for file in ["hello", "jq"] {
        let keys = parse_script(&format!(
            "G ctrl+a / u s r / b i n / {} enter",
            file.chars().map(String::from).collect::<Vec<_>>().join(" ")
        ))
        .expect("keys");
        let screen = replay(loaded.clone(), Keymap::default(), &keys, 140, 40);
        let owner = owner_of(&format!("/usr/bin/{file}"));
        let line = screen
            .lines()
            .find(|l| l.contains(&format!("── {file} ")))
            .unwrap_or_else(|| panic!("no row for {file}:\n{screen}"));
        assert!(line.contains(&format!("‹{owner}›")), "{line}");
    }
    // Layer 1 (the first install): its largest package share is the oracle's largest package
    // first listed in layer 1.
    let biggest = want["by_package"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, p)| p["layer"] == 1)
        .max_by_key(|(_, p)| {
            p["visible_bytes"].as_u64().unwrap_or(0) + p["wasted_bytes"].as_u64().unwrap_or(0)
        })
        .map(|(n, _)| n.clone())
        .expect("a package of layer 1");
    let keys = parse_script("j").expect("keys");
    let screen = replay(loaded, Keymap::default(), &keys, 140, 40);
    assert!(
        screen.contains(&format!("Packages: {biggest} ")),
        "{biggest}:\n{screen}"
    );
}

/// The Markdown comparison lists the packages too, one table row each with its versions.
#[test]
fn the_markdown_comparison_lists_the_packages() {
    let want = oracle("packages");
    let r = crate::fixtures::run::run(
        crate::fixtures::run::strata()
            .arg("compare")
            .arg(image_arg("packages-oci"))
            .arg(image_arg("compare-program-single"))
            .args(["--quiet", "--format", "markdown"]),
    );
    r.expect_code(0);
    for (name, p) in want["by_package"].as_object().into_iter().flatten() {
        let version = p["version"].as_str().unwrap_or_default();
        let row = r
            .stdout
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", r.stdout));
        assert!(
            row.contains(&format!("| removed | `{version}` | - |")),
            "{row}"
        );
    }
}

/// `p` lists the packages, largest first; enter on one filters the final filesystem to the
/// files the oracle's lists give that package (directories above them kept for context).
#[test]
fn the_explorer_filters_the_tree_to_a_packages_files() {
    use ratatui::layout::Rect;
    use strata::tui::explorer::{App, Popup};
    use strata::tui::keymap::Keymap;
    use strata::tui::parse_script;
    let (loaded, _) = crate::fixtures::load(&image_arg("packages-oci"), None, None);
    let want = oracle("packages");
    let by_package = want["by_package"].as_object().expect("by_package");
    // The oracle's packages, largest first (ties by name, as any order would do for them).
    let mut order: Vec<(&String, u64)> = by_package
        .iter()
        .map(|(n, p)| (n, p["visible_bytes"].as_u64().unwrap_or(0)))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let app_after = |script: &str| {
        let mut app = App::new(loaded.clone(), Keymap::default(), Rect::new(0, 0, 140, 40));
        for k in parse_script(script).expect("keys") {
            app.key(k);
        }
        app
    };
    let screen = strata::tui::replay(
        loaded.clone(),
        Keymap::default(),
        &parse_script("p").expect("keys"),
        140,
        40,
    );
    assert!(
        screen.contains(&format!(" Packages ({}): ", by_package.len())),
        "{screen}"
    );
    // Its first row is the largest package.
    let first = screen
        .lines()
        .skip_while(|l| !l.contains(" Wasted Layer "))
        .nth(1)
        .unwrap_or_default();
    assert!(first.contains(&format!(" {} ", order[0].0)), "{first}");
    for (i, (name, _)) in order.iter().enumerate().take(3) {
        // Only distinct sizes pin the order; equal ones may come either way.
        if order.iter().filter(|o| o.1 == order[i].1).count() > 1 {
            continue;
        }
        let app = app_after(&format!("p {} enter", vec!["j"; i].join(" ")));
        assert!(app.popup().is_none());
        assert_eq!(app.filter_text(), format!("pkg:{name}"));
        let fs = &app.loaded().fs;
        let mut shown: Vec<String> = app
            .tree()
            .rows
            .iter()
            .filter(|r| !r.is_dir)
            .map(|r| fs.path(r.node))
            .collect();
        shown.sort();
        let files: Vec<String> = by_package[name.as_str()]["files"]
            .as_object()
            .expect("files")
            .keys()
            .cloned()
            .collect();
        assert_eq!(shown, files, "{name}");
    }
    // The popup is a list: escape closes it and nothing is filtered.
    let app = app_after("p j esc");
    assert!(app.popup().is_none());
    assert_eq!(app.filter_text(), "");
    assert!(!matches!(app.popup(), Some(Popup::Packages(_))));
}

/// `rpm-oci`: packages real rpm installed, upgraded and removed (testdata/rpm), against the
/// oracle's numbers (key `rpm`: Python's tarfile over the layers, and what rpm itself lists
/// for each layer's rpmdb.sqlite).
#[test]
fn rpm_packages_have_the_oracles_bytes_files_and_layer() {
    let (json, want) = packages_match_the_oracle("rpm-oci", "rpm", "rpm");
    let by_package = want["by_package"].as_object().expect("by_package");
    let got = json["packages"].as_array().expect("packages[]");
    // rpm -e removed one package: it is none of the image's.
    let removed = want["removed_packages"]
        .as_array()
        .expect("removed_packages");
    assert_eq!(removed.len(), 1);
    assert!(got.iter().all(|p| p["name"] != removed[0]), "{removed:?}");
    // The -devel package is build-time, nothing else.
    let build: Vec<&str> = got
        .iter()
        .filter(|p| p["build_time"] == true)
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(build, ["libtiny-devel"]);
    // The upgrade's layer shipped bytes for the upgraded package alone.
    let upgraded: Vec<&String> = by_package
        .iter()
        .filter(|(_, p)| p["version_layer"] != p["layer"])
        .map(|(n, _)| n)
        .collect();
    let shares: Vec<&str> = json["layers"][1]["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(upgraded.len(), 1);
    assert_eq!(shares, [upgraded[0].as_str()]);
    // Everything was read: no warning.
    assert_eq!(json["warnings"], Value::Array(Vec::new()));
    // Owned and not owned make up the visible bytes.
    let unowned = want["unowned"].as_object().expect("unowned");
    let got_unowned = json["unowned"].as_array().expect("unowned[]");
    assert_eq!(got_unowned.len(), unowned.len(), "{got_unowned:#?}");
    for u in got_unowned {
        let dir = u["dir"].as_str().unwrap_or_default();
        assert_eq!(u["bytes"], unowned[dir]["bytes"], "{dir}");
        assert_eq!(u["files"], unowned[dir]["files"], "{dir}");
    }
    let sum = |v: &Value, key: &str| -> u64 {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|p| p[key].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        Value::from(sum(&json["packages"], "visible_bytes") + sum(&json["unowned"], "bytes")),
        want["visible_bytes"]
    );
}

/// Hostile rpm databases in an image: an SQLite file that is none, and a BerkeleyDB whose
/// overflow pages loop (the committed testdata/rpm/bdb-4096 with one page naming itself).
/// The analysis succeeds, attributes nothing to them, and says each in one warning line.
#[test]
fn hostile_rpm_databases_are_one_warning_each() {
    use crate::fixtures::layout::write_layout;
    use crate::fixtures::tar::E;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut bdb = std::fs::read(root.join("testdata/rpm/bdb-4096/Packages")).expect("bdb");
    let page = (1..bdb.len() / 4096)
        .find(|n| bdb[n * 4096 + 25] == 7)
        .expect("an overflow page");
    bdb[page * 4096 + 16..page * 4096 + 20].copy_from_slice(&(page as u32).to_le_bytes());
    bdb[page * 4096 + 22..page * 4096 + 24].copy_from_slice(&0u16.to_le_bytes());
    let mut sqlite = b"SQLite format 3\0".to_vec();
    sqlite.resize(4096, 0xee);
    let dir = tempfile::tempdir().expect("tempdir");
    write_layout(
        dir.path(),
        &[vec![
            E::File("var/lib/rpm/rpmdb.sqlite", 0o644, &sqlite),
            E::File("var/lib/rpm/Packages", 0o644, &bdb),
            E::File("usr/bin/tool", 0o755, b"tool"),
        ]],
    );
    let path = dir.path().to_str().expect("utf-8");
    let (json, r) = analyze_json(&[path]);
    assert_eq!(json["packages"], Value::Array(Vec::new()));
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "strata: warning: layer 0: /var/lib/rpm/rpmdb.sqlite: SQLite: file is not a \
             database; its packages are not counted",
            "strata: warning: layer 0: /var/lib/rpm/Packages: Berkeley DB: its overflow pages \
             loop or are shared; its packages are not counted",
        ],
        "{}",
        r.stderr
    );
}
