//! `strata compare` on the real images of testdata/compare (built by buildah, see
//! testdata/README.md). Expectations come from an independent reading of the OCI layouts below
//! (serde_json, flate2 and tar, a naive whiteout-applying unpacker) and from the Dockerfiles'
//! known file sizes, never from strata's own library.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fixtures::image_arg;
use crate::fixtures::layout::Layout;
use crate::fixtures::run::strata;
use crate::fixtures::tar::{E, tar_of};

const SINGLE: &str = "compare-program-single";
const MULTI: &str = "compare-program-multi";
const DAY1: &str = "compare-service-day1";
const DAY2: &str = "compare-service-day2";

/// Runs `strata compare A B ARGS…`; returns (exit code, stdout, stderr).
fn compare(a: &str, b: &str, args: &[&str]) -> (i32, String, String) {
    let out = strata()
        .arg("compare")
        .arg(a)
        .arg(b)
        .arg("--quiet")
        .args(args)
        .output()
        .expect("run strata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn compare_json(a: &str, b: &str, args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = compare(&image_arg(a), &image_arg(b), &all);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).expect("JSON on stdout")
}

// ------------------------------------------------------------------ the oracle

/// A path of a final filesystem, as the naive unpacker leaves it.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    dir: bool,
    symlink: Option<String>,
    size: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    content: Vec<u8>,
    layer: usize,
    /// The file a regular file or hard link holds: hard links share their target's.
    inode: Option<usize>,
}

/// What the OCI layout holds, read without strata.
pub(crate) struct Oracle {
    pub(crate) diff_ids: Vec<String>,
    /// Σ regular-file entry sizes over all layers.
    pub(crate) shipped: u64,
    /// Σ of the manifest's layer sizes.
    pub(crate) compressed: u64,
    /// Per layer: Σ regular-file sizes.
    layer_shipped: Vec<u64>,
    files: BTreeMap<String, Entry>,
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    layout.join("blobs/sha256").join(hex)
}

fn json_file(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read json")).expect("parse json")
}

fn clean(name: &str) -> String {
    name.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

fn remove_tree(files: &mut BTreeMap<String, Entry>, path: &str, below_layer: usize) {
    let prefix = format!("{path}/");
    files.retain(|p, e| !((p == path || p.starts_with(&prefix)) && e.layer < below_layer));
}

pub(crate) fn oracle(name: &str) -> Oracle {
    oracle_at(Path::new(&image_arg(name)))
}

/// The oracle of the OCI layout at `layout` (gzip or plain tar layers).
fn oracle_at(layout: &Path) -> Oracle {
    let layout = layout.to_path_buf();
    let mut inodes = 0;
    let index = json_file(&layout.join("index.json"));
    let manifest = json_file(&blob(
        &layout,
        index["manifests"][0]["digest"].as_str().expect("manifest"),
    ));
    let config = json_file(&blob(
        &layout,
        manifest["config"]["digest"].as_str().expect("config"),
    ));
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .expect("diff_ids")
        .iter()
        .map(|d| d.as_str().expect("diff_id").to_string())
        .collect();
    let mut o = Oracle {
        diff_ids,
        shipped: 0,
        compressed: 0,
        layer_shipped: Vec::new(),
        files: BTreeMap::new(),
    };
    for (k, layer) in manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .enumerate()
    {
        o.compressed += layer["size"].as_u64().expect("size");
        let bytes = std::fs::read(blob(&layout, layer["digest"].as_str().expect("digest")))
            .expect("layer blob");
        let reader: Box<dyn Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(bytes.as_slice()))
        } else {
            Box::new(bytes.as_slice())
        };
        let mut archive = tar::Archive::new(reader);
        let mut shipped = 0;
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("tar entry");
            let path = clean(&entry.path().expect("path").to_string_lossy());
            let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
            let join = |name: &str| {
                if dir.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir}/{name}")
                }
            };
            if base == ".wh..wh..opq" {
                let prefix = format!("{dir}/");
                o.files
                    .retain(|p, e| !(p.starts_with(&prefix) && e.layer < k));
                continue;
            }
            if let Some(hidden) = base.strip_prefix(".wh.") {
                remove_tree(&mut o.files, &join(hidden), k + 1);
                continue;
            }
            let header = entry.header().clone();
            let kind = header.entry_type();
            let mut e = Entry {
                dir: kind.is_dir(),
                symlink: None,
                size: 0,
                mode: header.mode().expect("mode") & 0o7777,
                uid: header.uid().expect("uid"),
                gid: header.gid().expect("gid"),
                content: Vec::new(),
                layer: k,
                inode: None,
            };
            if kind.is_symlink() {
                e.symlink = Some(
                    entry
                        .link_name()
                        .expect("link")
                        .map(|l| l.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
            } else if kind.is_hard_link() {
                let target = clean(
                    &entry
                        .link_name()
                        .expect("link")
                        .map(|l| l.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                );
                let t = o.files.get(&target).expect("hard-link target").clone();
                e.size = t.size;
                e.content = t.content;
                e.inode = t.inode;
            } else if kind.is_file() {
                entry.read_to_end(&mut e.content).expect("content");
                e.size = e.content.len() as u64;
                shipped += e.size;
                inodes += 1;
                e.inode = Some(inodes);
            }
            // Anything but a directory over a directory replaces the lower subtree.
            if !(e.dir && o.files.get(&path).is_some_and(|x| x.dir)) {
                remove_tree(&mut o.files, &path, k);
            }
            o.files.insert(path, e);
        }
        o.shipped += shipped;
        o.layer_shipped.push(shipped);
    }
    o
}

/// The bytes each file (not directory) of a final filesystem counts for: its size, once per
/// inode, at the first of its hard-linked names in path order (component by component); 0 at
/// the others. Summed, they are the bytes the image holds.
fn charged(o: &Oracle) -> BTreeMap<String, u64> {
    let mut paths: Vec<&String> = o.files.keys().filter(|p| !o.files[*p].dir).collect();
    paths.sort_by(|x, y| x.split('/').cmp(y.split('/')));
    let mut seen = std::collections::BTreeSet::new();
    paths
        .into_iter()
        .map(|p| {
            let e = &o.files[p];
            let first = e.inode.is_none_or(|i| seen.insert(i));
            (p.clone(), if first { e.size } else { 0 })
        })
        .collect()
}

/// The expected file differences: path → (change, a bytes, b bytes), bytes as [`charged`].
fn oracle_diff(a: &Oracle, b: &Oracle) -> BTreeMap<String, (&'static str, u64, u64)> {
    let mut out = BTreeMap::new();
    let (ca, cb) = (charged(a), charged(b));
    let file = |o: &Oracle, p: &str| o.files.get(p).filter(|e| !e.dir).cloned();
    let paths: std::collections::BTreeSet<&String> = a.files.keys().chain(b.files.keys()).collect();
    for p in paths {
        let key = format!("/{p}");
        let (xa, xb) = (
            ca.get(p.as_str()).copied().unwrap_or(0),
            cb.get(p.as_str()).copied().unwrap_or(0),
        );
        match (file(a, p), file(b, p)) {
            (None, None) => {}
            (Some(_), None) => {
                out.insert(key, ("removed", xa, 0));
            }
            (None, Some(_)) => {
                out.insert(key, ("added", 0, xb));
            }
            (Some(x), Some(y)) => {
                if x.content != y.content || x.symlink != y.symlink {
                    out.insert(key, ("changed", xa, xb));
                } else if (x.mode, x.uid, x.gid) != (y.mode, y.uid, y.gid) {
                    out.insert(key, ("metadata_only", xa, xb));
                } else if xa != xb {
                    out.insert(key, ("changed", xa, xb));
                }
            }
        }
    }
    out
}

/// Every file listed under the JSON groups, recursively: path → (change, a, b).
fn json_files(groups: &Value, out: &mut BTreeMap<String, (String, u64, u64)>) {
    for g in groups.as_array().expect("groups") {
        for f in g["files"].as_array().expect("files") {
            out.insert(
                f["path"].as_str().expect("path").to_string(),
                (
                    f["change"].as_str().expect("change").to_string(),
                    f["a_bytes"].as_u64().unwrap_or(0),
                    f["b_bytes"].as_u64().unwrap_or(0),
                ),
            );
        }
        json_files(&g["groups"], out);
    }
}

/// Checks the JSON against the oracle: sizes, shared layers, every differing file, the totals
/// by kind of change and each group's sum.
fn check_against_oracle(a: &str, b: &str) -> Value {
    check_layouts(Path::new(&image_arg(a)), Path::new(&image_arg(b)))
}

/// [`check_against_oracle`] for any two OCI layouts.
fn check_layouts(a: &Path, b: &Path) -> Value {
    let (code, stdout, stderr) = compare(
        &a.to_string_lossy(),
        &b.to_string_lossy(),
        &["--format", "json"],
    );
    assert_eq!(code, 0, "{stderr}");
    let j: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    let (oa, ob) = (oracle_at(a), oracle_at(b));
    assert_eq!(j["schema"], "strata.compare/v1");
    for (side, o) in [("a", &oa), ("b", &ob)] {
        assert_eq!(j[side]["layer_count"], o.diff_ids.len(), "{side}");
        assert_eq!(j[side]["shipped_bytes"], o.shipped, "{side}");
        assert_eq!(j[side]["compressed_bytes"], o.compressed, "{side}");
        let regular = o
            .files
            .values()
            .filter(|e| !e.dir && e.symlink.is_none())
            .count();
        assert_eq!(j[side]["final_files"], regular, "{side}");
    }
    let shared = oa
        .diff_ids
        .iter()
        .zip(&ob.diff_ids)
        .take_while(|(x, y)| x == y)
        .count();
    assert_eq!(j["shared_layers"], shared);
    assert_eq!(
        j["totals"]["uncompressed_bytes"]["delta"],
        ob.shipped as i64 - oa.shipped as i64
    );

    let expected = oracle_diff(&oa, &ob);
    let mut got = BTreeMap::new();
    json_files(&j["groups"], &mut got);
    let expected_cmp: BTreeMap<String, (String, u64, u64)> = expected
        .iter()
        .map(|(p, (c, x, y))| (p.clone(), (c.to_string(), *x, *y)))
        .collect();
    assert_eq!(got, expected_cmp, "the differing files");

    for change in ["added", "removed", "changed", "metadata_only"] {
        let of_kind: Vec<_> = expected.values().filter(|v| v.0 == change).collect();
        let bytes: u64 = of_kind
            .iter()
            .map(|v| if change == "removed" { v.1 } else { v.2 })
            .sum();
        assert_eq!(j["files"][change]["count"], of_kind.len(), "{change}");
        assert_eq!(j["files"][change]["bytes"], bytes, "{change}");
    }
    // Each top group's difference is the sum of the oracle's differences below its path.
    for g in j["groups"].as_array().expect("groups") {
        let path = g["path"].as_str().expect("path");
        let prefix = format!("{path}/");
        let sum: i64 = expected
            .iter()
            .filter(|(p, _)| p.starts_with(&prefix))
            .map(|(_, v)| v.2 as i64 - v.1 as i64)
            .sum();
        assert_eq!(g["delta_bytes"], sum, "{path}");
    }
    // The image's visible bytes count each file once, as the groups do: the groups add up to
    // the difference of the visible totals.
    let visible = |o: &Oracle| charged(o).values().sum::<u64>();
    assert_eq!(j["totals"]["visible_bytes"]["a"], visible(&oa));
    assert_eq!(j["totals"]["visible_bytes"]["b"], visible(&ob));
    let groups_sum: i64 = j["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["delta_bytes"].as_i64().expect("delta"))
        .sum();
    assert_eq!(groups_sum, visible(&ob) as i64 - visible(&oa) as i64);
    assert_eq!(j["files"]["delta_bytes"], groups_sum);
    j
}

fn group_paths(j: &Value) -> Vec<String> {
    j["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["path"].as_str().expect("path").to_string())
        .collect()
}

// ------------------------------------------------------------------ the tests

#[test]
fn single_stage_vs_multi_stage_matches_the_filesystems() {
    let j = check_against_oracle(SINGLE, MULTI);
    // From the Dockerfiles: 613000 B of toolchain and 230 B of sources are gone, the program
    // stays (12000 B, now owned by uid 1000), the object files were already deleted in A.
    assert_eq!(j["shared_layers"], 1);
    assert_eq!(j["a"]["layer_count"], 5);
    assert_eq!(j["b"]["layer_count"], 2);
    assert_eq!(j["files"]["removed"]["bytes"], 613_230);
    assert_eq!(j["files"]["added"]["count"], 0);
    assert_eq!(j["files"]["metadata_only"]["count"], 1);
    assert_eq!(j["files"]["metadata_only"]["bytes"], 12_000);
    assert_eq!(j["a"]["wasted_bytes"], 65_000);
    assert_eq!(j["b"]["wasted_bytes"], 0);
    assert_eq!(
        group_paths(&j),
        ["/opt/toolchain", "/src", "/usr/local/bin", "/etc"]
    );
    let toolchain = &j["groups"][0];
    assert_eq!(toolchain["delta_bytes"], -613_000);
    assert_eq!(toolchain["removed"]["count"], 5);
    assert_eq!(toolchain["added"]["count"], 0);
    assert_eq!(toolchain["changed"]["count"], 0);
    assert_eq!(toolchain["groups"][0]["path"], "/opt/toolchain/libexec");
    assert_eq!(toolchain["groups"][0]["delta_bytes"], -250_000);
    let verdict = j["verdict"].as_str().expect("verdict");
    assert!(
        verdict.starts_with("B is 25.4% smaller: 678.23 kB less, mostly /opt/toolchain"),
        "{verdict}"
    );
    // 1982344 (base) + 230 + 613000 + 77000 against 1982344 + 12000.
    assert_eq!(j["totals"]["uncompressed_bytes"]["a"], 2_672_574);
    assert_eq!(j["totals"]["uncompressed_bytes"]["b"], 1_994_344);
}

#[test]
fn yesterday_vs_today_aligns_layers_by_command() {
    let j = check_against_oracle(DAY1, DAY2);
    assert_eq!(j["shared_layers"], 2);
    let rows: Vec<(String, Option<u64>, Option<u64>, i64)> = j["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|r| {
            (
                r["alignment"].as_str().expect("alignment").to_string(),
                r["a"]["index"].as_u64(),
                r["b"]["index"].as_u64(),
                r["delta_bytes"].as_i64().expect("delta"),
            )
        })
        .collect();
    let expected: Vec<(String, Option<u64>, Option<u64>, i64)> = [
        ("shared", Some(0), Some(0), 0),
        ("shared", Some(1), Some(1), 0),
        ("matched", Some(2), Some(2), 16), // COPY deps.list: 30 → 46 B
        ("matched", Some(3), Some(3), 45_000), // the same RUN installs 45000 B more
        ("only_a", Some(4), None, -20_000),
        ("only_b", None, Some(4), 30_000),
        ("matched", Some(5), Some(5), 0),
    ]
    .into_iter()
    .map(|(a, x, y, d)| (a.to_string(), x, y, d))
    .collect();
    assert_eq!(rows, expected);
    let (oa, ob) = (oracle(DAY1), oracle(DAY2));
    assert_eq!(oa.layer_shipped[3], 100_000);
    assert_eq!(ob.layer_shipped[3], 145_000);
    assert_eq!(
        group_paths(&j),
        ["/usr/lib/deps", "/var/cache/svc", "/srv/app", "/etc"]
    );
    let deps = &j["groups"][0];
    assert_eq!(deps["delta_bytes"], 45_000);
    assert_eq!(deps["added"]["count"], 1);
    assert_eq!(deps["changed"]["count"], 1);
    assert_eq!(deps["changed"]["delta_bytes"], 5_000);
    assert_eq!(j["files"]["added"]["bytes"], 70_000);
    assert_eq!(j["files"]["removed"]["bytes"], 20_000);
    assert_eq!(j["files"]["changed"]["count"], 2);
    assert_eq!(
        j["verdict"],
        "B is 2.6% larger: 55.02 kB more, mostly /usr/lib/deps, /var/cache/svc"
    );
}

#[test]
fn an_image_against_itself_or_another_format_of_it_differs_in_nothing() {
    let j = check_against_oracle(DAY1, DAY1);
    assert_eq!(j["shared_layers"], 6);
    assert!(j["groups"].as_array().expect("groups").is_empty());
    assert_eq!(j["files"]["removed"]["count"], 0);
    assert!(
        j["verdict"]
            .as_str()
            .expect("verdict")
            .starts_with("B is the same size as A"),
        "{}",
        j["verdict"]
    );
    // The same 21 layers as an OCI layout and as a `docker save` tarball.
    let j = compare_json("overlay-oci", "overlay-docker.tar", &[]);
    assert_eq!(j["shared_layers"], 21);
    assert_eq!(j["totals"]["uncompressed_bytes"]["delta"], 0);
    assert_eq!(j["files"]["changed"]["count"], 0);
    assert_eq!(j["files"]["metadata_only"]["count"], 0);
    assert_eq!(j["b"]["format"], "docker-archive");
}

#[test]
fn fail_if_larger_exit_codes() {
    // day1 → day2 grows by 55016 bytes, 2.6168%; day2 → day1 shrinks.
    let cases: &[(&str, &str, &str, i32)] = &[
        (DAY1, DAY2, "5%", 0),
        (DAY1, DAY2, "2.7%", 0),
        (DAY1, DAY2, "2.6%", 1),
        (DAY1, DAY2, "0%", 1),
        (DAY1, DAY2, "55016B", 0), // strictly more fails
        (DAY1, DAY2, "55015B", 1),
        (DAY1, DAY2, "20kB", 1),
        (DAY1, DAY2, "20KiB", 1),
        (DAY1, DAY2, "60kB", 0),
        (DAY1, DAY2, "1MiB", 0),
        (DAY1, DAY2, "disabled", 0),
        (DAY2, DAY1, "0%", 0),
        (DAY2, DAY1, "0", 0),
        (SINGLE, MULTI, "0%", 0),
        (MULTI, SINGLE, "20%", 1), // +34%
        (MULTI, SINGLE, "40%", 0),
        (DAY1, DAY1, "0", 0),
    ];
    for &(a, b, limit, expected) in cases {
        for format in ["text", "json", "markdown"] {
            let (code, _, stderr) = compare(
                &image_arg(a),
                &image_arg(b),
                &["--fail-if-larger", limit, "--format", format],
            );
            assert_eq!(
                code, expected,
                "{a} → {b} --fail-if-larger {limit} ({format}): {stderr}"
            );
        }
    }
    let (code, stdout, _) = compare(
        &image_arg(DAY1),
        &image_arg(DAY2),
        &["--fail-if-larger", "2%", "--format", "json"],
    );
    assert_eq!(code, 1);
    let j: Value = serde_json::from_str(&stdout).expect("JSON on stdout");
    assert_eq!(j["limit"]["exceeded"], true);
    assert_eq!(j["limit"]["growth_bytes"], 55_016);
    assert_eq!(j["limit"]["limit"]["percent"], 2.0);
}

#[test]
fn unreadable_images_and_bad_limits_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).expect("mkdir");
    std::fs::write(
        broken.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("write");
    std::fs::write(broken.join("index.json"), "{ not json").expect("write");
    let missing = dir.path().join("missing");
    let (broken, missing) = (broken.to_string_lossy(), missing.to_string_lossy());
    for (a, b) in [
        (missing.to_string(), image_arg(DAY2)),
        (image_arg(DAY1), missing.to_string()),
        (image_arg(DAY1), broken.to_string()),
    ] {
        for limit in [None, Some("5%")] {
            let mut args = vec![];
            if let Some(l) = limit {
                args = vec!["--fail-if-larger", l];
            }
            let (code, stdout, stderr) = compare(&a, &b, &args);
            assert_eq!(code, 2, "{a} {b}: {stderr}");
            assert!(stdout.is_empty(), "{stdout}");
            assert!(stderr.starts_with("strata: error: "), "{stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        }
    }
    let (code, _, stderr) = compare(
        &image_arg(DAY1),
        &image_arg(DAY2),
        &["--fail-if-larger", "5x"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--fail-if-larger") && stderr.contains("`5x`"),
        "{stderr}"
    );
}

#[test]
fn json_schema_fields() {
    let j = compare_json(SINGLE, MULTI, &[]);
    for side in ["a", "b"] {
        for field in [
            "source",
            "format",
            "reference",
            "platform",
            "manifest_digest",
            "config_digest",
            "layer_count",
            "shipped_bytes",
            "compressed_bytes",
            "tar_bytes",
            "visible_bytes",
            "final_files",
            "final_dirs",
            "final_symlinks",
            "final_paths",
            "wasted_bytes",
            "efficiency",
        ] {
            assert!(j[side].get(field).is_some(), "{side}.{field}");
        }
    }
    for kind in ["added", "removed", "changed", "metadata_only"] {
        for field in ["count", "bytes", "delta_bytes"] {
            assert!(j["files"][kind][field].is_number(), "files.{kind}.{field}");
        }
    }
    for g in j["groups"].as_array().expect("groups") {
        for field in [
            "path",
            "delta_bytes",
            "added",
            "removed",
            "changed",
            "metadata_only",
            "groups",
            "files",
        ] {
            assert!(g.get(field).is_some(), "groups[].{field}");
        }
    }
    for field in [
        "layers",
        "compressed_bytes",
        "uncompressed_bytes",
        "visible_bytes",
        "wasted_bytes",
        "efficiency",
    ] {
        assert!(j["totals"].get(field).is_some(), "totals.{field}");
    }
    assert!(j["layers"][0]["a"]["diff_id"].is_string());
    assert!(j.get("limit").is_none(), "no limit asked");
    assert!(j["warnings"].is_array());
}

#[test]
fn text_output_shows_totals_layers_groups_and_verdict() {
    let (code, out, _) = compare(&image_arg(SINGLE), &image_arg(MULTI), &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(&format!("A  {} (oci layout, latest)", image_arg(SINGLE))),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Uncompressed") && l.contains("-678.23 kB (-25.4%)")),
        "{out}"
    );
    assert!(
        out.contains(
            "Layers: 1 shared (same diff_id), 0 matched by command, 4 only in A, 1 only in B"
        ),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("-613 kB") && l.trim_end().ends_with("/opt/toolchain")),
        "{out}"
    );
    assert!(
        out.contains("Verdict: B is 25.4% smaller: 678.23 kB less, mostly /opt/toolchain"),
        "{out}"
    );
    assert!(
        !out.lines().any(|l| l.ends_with("/opt/toolchain/libexec")),
        "depth 1, no files: {out}"
    );

    let (_, out, _) = compare(&image_arg(SINGLE), &image_arg(MULTI), &["--depth", "2"]);
    assert!(
        out.lines()
            .any(|l| l.trim_end().ends_with("  /opt/toolchain/libexec")),
        "{out}"
    );
    assert!(!out.lines().any(|l| l.ends_with("/cc1")), "{out}");

    let (_, out, _) = compare(&image_arg(SINGLE), &image_arg(MULTI), &["--files"]);
    assert!(
        out.lines().any(|l| l.contains("-250 kB")
            && l.contains("removed")
            && l.ends_with("/opt/toolchain/libexec/cc1")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("metadata only") && l.ends_with("/usr/local/bin/program")),
        "{out}"
    );

    let (_, out, _) = compare(&image_arg(SINGLE), &image_arg(MULTI), &["--top", "1"]);
    assert!(out.contains("… 3 more directories"), "{out}");

    let (code, out, _) = compare(
        &image_arg(DAY1),
        &image_arg(DAY2),
        &["--fail-if-larger", "2%"],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("Limit: B may exceed A by at most 2%: B grew by 55.02 kB: FAIL"),
        "{out}"
    );
}

/// The number of cell separators in a Markdown table row (unescaped `|`).
fn pipes(row: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
        if c != '\\' {
            escaped = false;
        }
    }
    n
}

#[test]
fn markdown_is_a_summary_with_well_formed_tables() {
    let (code, out, _) = compare(
        &image_arg(DAY1),
        &image_arg(DAY2),
        &["--format", "markdown", "--fail-if-larger", "20MB"],
    );
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "### strata compare");
    assert!(
        out.contains("**B is 2.6% larger: 55.02 kB more, mostly /usr/lib/deps, /var/cache/svc**"),
        "{out}"
    );
    assert!(out.contains("✅ Within the limit"), "{out}");
    assert!(out.contains("| | A | B | Difference |"), "{out}");
    assert!(
        out.contains("| Uncompressed | 2.10 MB | 2.16 MB | +55.02 kB (+2.6%) |"),
        "{out}"
    );
    assert!(out.contains("<details><summary>Layers: 2 shared"), "{out}");
    assert!(
        out.contains("| `/usr/lib/deps` | +45 kB | 1 (40 kB) | 0 | 1 (65 kB) | 0 |"),
        "{out}"
    );
    assert_eq!(
        out.matches("<details>").count(),
        out.matches("</details>").count()
    );
    // Every row of a table has as many cells as its header, pipes in commands included.
    let mut header = None;
    for line in &lines {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let n = pipes(line);
        match header {
            None => header = Some(n),
            Some(h) => assert_eq!(n, h, "{line}"),
        }
    }
    assert!(
        out.contains("\\| tr"),
        "pipes in commands are escaped: {out}"
    );

    let (code, out, _) = compare(
        &image_arg(DAY1),
        &image_arg(DAY2),
        &["--format", "markdown", "--fail-if-larger", "1%"],
    );
    assert_eq!(code, 1);
    assert!(
        out.contains("❌ B grew by 55.02 kB, more than the 1% allowed."),
        "{out}"
    );
}

// ------------------------------------------------------------------ hand-made images

/// A copy of a committed layout whose image is exactly `tars` (uncompressed), with one
/// history entry per layer from `commands`.
fn layout_of(parent: &Path, name: &str, tars: &[Vec<u8>], commands: &[&str]) -> PathBuf {
    let l = Layout::copy_of(DAY1, &parent.join(name));
    let history: Vec<Value> = commands
        .iter()
        .map(|c| serde_json::json!({"created_by": c}))
        .collect();
    l.set_layers(tars, Value::Array(history));
    l.dir
}

/// busybox ships one binary under hundreds of hard-linked names. Its bytes count once, as the
/// image totals count them, so a new busybox 100 B larger is +100 B, in `/bin`, however many
/// names it has (before: every name counted its full size, +39 MB on the real busybox for
/// totals of −219 kB). The oracle charges each inode once, at its first name in path order.
#[test]
fn hard_linked_names_count_their_file_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let applets: Vec<String> = (0..300).map(|i| format!("bin/applet{i:03}")).collect();
    let image = |name: &str, binary: &[u8], extra: &[&str]| {
        let mut entries = vec![
            E::File("bin/busybox", 0o755, binary),
            E::File("etc/passwd", 0o755, b"root:x:0:0:root:/root:/bin/sh\n"),
        ];
        entries.extend(applets.iter().map(|a| E::Hardlink(a, "bin/busybox")));
        entries.extend(extra.iter().map(|a| E::Hardlink(a, "bin/busybox")));
        let tar = tar_of(&entries);
        layout_of(dir.path(), name, &[tar], &["ADD busybox.tar /"])
    };
    let (old, new) = (vec![b'1'; 5000], vec![b'2'; 5100]);
    // B also links two more names, one in another directory.
    let a = image("a", &old, &[]);
    let b = image("b", &new, &["bin/applet300", "sbin/init"]);
    let j = check_layouts(&a, &b);
    let groups = j["groups"].as_array().expect("groups");
    let sum: i64 = groups
        .iter()
        .map(|g| g["delta_bytes"].as_i64().expect("delta"))
        .sum();
    assert_eq!(sum, 5100 - 5000);
    assert_eq!(j["totals"]["visible_bytes"]["delta"], 100);
    assert_eq!(j["files"]["delta_bytes"], 100);
    // Every name of the binary changed content; one of them carries the bytes.
    assert_eq!(j["files"]["changed"]["count"], 301);
    assert_eq!(j["files"]["changed"]["delta_bytes"], 100);
    assert_eq!(j["files"]["added"]["count"], 2);
    assert_eq!(j["files"]["added"]["delta_bytes"], 0);
}

/// The history of `compare-service-day2` as BuildKit and kaniko write it for the same
/// Dockerfile (`testdata/compare/service/Dockerfile.day2`); the base image's own entries stay
/// as its builder wrote them, as both builders keep them.
fn day2_history(builder: &str) -> Vec<String> {
    let steps = [
        (
            "RUN",
            "mkdir -p /srv/app && echo 'service' > /srv/app/README",
        ),
        ("COPY", "deps-day2.list /etc/deps.list"),
        (
            "RUN",
            "mkdir -p /usr/lib/deps  && while read name size; do head -c \"$size\" /dev/zero | tr '\\0' x > \"/usr/lib/deps/$name\"; done < /etc/deps.list",
        ),
        (
            "RUN",
            "mkdir -p /var/cache/svc && head -c 30000 /dev/zero | tr '\\0' i > /var/cache/svc/index",
        ),
        ("RUN", "echo ok > /srv/app/healthcheck"),
    ];
    steps
        .iter()
        .map(|(instruction, args)| match (builder, *instruction) {
            ("buildkit", "RUN") => format!("RUN /bin/sh -c {args} # buildkit"),
            ("buildkit", _) => format!("{instruction} {args} # buildkit"),
            _ => format!("{instruction} {args}"),
        })
        .collect()
}

/// The README promises that one step built twice lines up, also when two builders built it:
/// day1 built by buildah (Docker's classic form: `/bin/sh -c …`, `/bin/sh -c #(nop) COPY
/// file:… in …`) against day2's layers recorded as BuildKit and as kaniko record them. The
/// alignment must be the one the Dockerfiles give (the same as with buildah on both sides).
#[test]
fn one_dockerfile_built_by_different_builders_aligns() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The expected rows, from the two Dockerfiles: base and L1 shared (same diff_id), the
    // COPY and the install RUN matched, L4 differs, the healthcheck RUN matched.
    let expected: Vec<(String, Option<u64>, Option<u64>)> = [
        ("shared", Some(0), Some(0)),
        ("shared", Some(1), Some(1)),
        ("matched", Some(2), Some(2)),
        ("matched", Some(3), Some(3)),
        ("only_a", Some(4), None),
        ("only_b", None, Some(4)),
        ("matched", Some(5), Some(5)),
    ]
    .into_iter()
    .map(|(a, x, y)| (a.to_string(), x, y))
    .collect();
    for builder in ["buildkit", "kaniko"] {
        let l = Layout::copy_of(DAY2, &dir.path().join(builder));
        let mut config = l.config();
        let history = config["history"].as_array_mut().expect("history");
        // The base's two entries (ADD, CMD) stay; the five steps follow.
        history.truncate(2);
        history.extend(
            day2_history(builder)
                .into_iter()
                .map(|c| serde_json::json!({"created_by": c})),
        );
        l.put_config(&config);
        let (code, stdout, stderr) = compare(
            &image_arg(DAY1),
            &l.dir.to_string_lossy(),
            &["--format", "json"],
        );
        assert_eq!(code, 0, "{stderr}");
        let j: Value = serde_json::from_str(&stdout).expect("JSON");
        let rows: Vec<(String, Option<u64>, Option<u64>)> = j["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|r| {
                (
                    r["alignment"].as_str().expect("alignment").to_string(),
                    r["a"]["index"].as_u64(),
                    r["b"]["index"].as_u64(),
                )
            })
            .collect();
        assert_eq!(rows, expected, "buildah against {builder}");
    }
}

/// What a tar says of each path: (type, mode, uid, gid, size, sha256 of the content).
type TarSaid = (u8, u32, u64, u64, u64, String);

/// The entries of one layer blob of `layout`, by clean path.
fn layer_said(layout: &Layout, digest: &str) -> BTreeMap<String, TarSaid> {
    let raw = std::fs::read(layout.blob_path(digest)).expect("layer blob");
    let tar = crate::fixtures::compress::layer_tar(&raw);
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().expect("entries") {
        let mut e = entry.expect("entry");
        let h = e.header().clone();
        let path = clean(&String::from_utf8_lossy(&e.path_bytes()));
        let mut content = Vec::new();
        e.read_to_end(&mut content).expect("content");
        out.insert(
            path,
            (
                h.entry_type().as_byte(),
                h.mode().expect("mode") & 0o7777,
                h.uid().expect("uid"),
                h.gid().expect("gid"),
                h.size().expect("size"),
                crate::fixtures::digest::sha256(&content),
            ),
        );
    }
    out
}

/// The pull cost and the cache miss of yesterday's build against today's, from the layouts
/// read here: B's layer blobs A lacks, and the first layer whose diff_id differs, with the
/// paths its two tars write differently (modification times aside).
#[test]
fn compare_says_what_an_update_pulls_and_where_the_cache_missed() {
    let (la, lb) = (Layout::committed(DAY1), Layout::committed(DAY2));
    let json = compare_json(&image_arg(DAY1), &image_arg(DAY2), &[]);
    let have: std::collections::HashSet<String> = la.layer_digests().into_iter().collect();
    let b_layers: Vec<(String, u64)> = lb.manifest()["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            (
                l["digest"].as_str().expect("digest").to_string(),
                l["size"].as_u64().expect("size"),
            )
        })
        .collect();
    let pulled: Vec<&(String, u64)> = b_layers.iter().filter(|(d, _)| !have.contains(d)).collect();
    assert_eq!(json["pull"]["layers"], pulled.len());
    assert_eq!(
        json["pull"]["bytes"],
        pulled.iter().map(|(_, s)| s).sum::<u64>()
    );
    assert_eq!(
        json["pull"]["shared_bytes"],
        b_layers
            .iter()
            .filter(|(d, _)| have.contains(d))
            .map(|(_, s)| s)
            .sum::<u64>()
    );
    // The first diff_id that differs (both stacks start alike).
    let ids = |l: &Layout| -> Vec<String> {
        l.config()["rootfs"]["diff_ids"]
            .as_array()
            .expect("diff_ids")
            .iter()
            .map(|d| d.as_str().expect("diff_id").to_string())
            .collect()
    };
    let (ia, ib) = (ids(&la), ids(&lb));
    let k = ia
        .iter()
        .zip(&ib)
        .position(|(a, b)| a != b)
        .expect("a layer differs");
    let miss = &json["cache_miss"];
    assert_eq!(miss["a_layer"], k);
    assert_eq!(miss["b_layer"], k);
    assert_eq!(miss["cause"], "content", "same command, other files");
    let (sa, sb) = (
        layer_said(&la, &la.layer_digests()[k]),
        layer_said(&lb, &lb.layer_digests()[k]),
    );
    let mut differ: Vec<String> = sb
        .iter()
        .filter(|(p, s)| sa.get(*p) != Some(s))
        .map(|(p, _)| format!("/{p}"))
        .chain(
            sa.keys()
                .filter(|p| !sb.contains_key(*p))
                .map(|p| format!("/{p}")),
        )
        .collect();
    differ.sort();
    assert!(!differ.is_empty());
    assert_eq!(miss["changed"], differ.len());
    let named: Vec<&str> = miss["changed_paths"]
        .as_array()
        .expect("changed_paths")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        named,
        differ
            .iter()
            .take(5)
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    assert_eq!(miss["rebuilt_layers"], b_layers.len() - k);
    assert_eq!(
        miss["reshipped_bytes"],
        b_layers[k..].iter().map(|(_, s)| s).sum::<u64>()
    );
    // An image against itself: nothing to pull, no miss.
    let same = compare_json(&image_arg(DAY1), &image_arg(DAY1), &[]);
    assert_eq!(same["pull"]["layers"], 0);
    assert!(same.get("cache_miss").is_none());
}
