//! `strata history` against a real loopback `docker-registry` holding several tags: the tags
//! ordered by their configs' dates (read here from the layouts pushed), each row's sizes from
//! an independent reading of the layouts (the compare tests' oracle), the growth between
//! neighbours, and the layers the tags share read once (the layer cache holds one entry per
//! distinct blob).

use std::collections::BTreeSet;

use crate::fixtures::image;
use crate::fixtures::layout::Layout;
use crate::fixtures::run::{run, strata};
use crate::remote::Registry;

const TAGS: [(&str, &str); 3] = [
    ("compare-service-day1", "day1"),
    ("compare-service-day2", "day2"),
    ("compare-program-single", "single"),
];

#[test]
#[ignore = "needs docker-registry, skopeo: bash .ci/setup; run by .ci/run"]
fn history_lists_the_tags_newest_first_with_their_growth() {
    let reg = Registry::start("");
    for (name, tag) in TAGS {
        let from = format!("oci:{}:latest", image(name).display());
        reg.push(&from, &format!("strata/svc:{tag}"), None, false);
    }
    let repo = format!("docker://{}/strata/svc", reg.host());
    let cache = tempfile::tempdir().expect("tempdir");
    let r = run(strata()
        .arg("history")
        .arg(&repo)
        .args(["--insecure", "--cache", "--quiet", "--format", "json"])
        .env("STRATA_CACHE_DIR", cache.path()));
    r.expect_code(0);
    let json = r.json();
    assert_eq!(json["schema"], "strata.history/v1");
    assert_eq!(json["tags_listed"], TAGS.len());
    // Newest first, by the configs' dates.
    let mut want: Vec<(String, &str, &str)> = TAGS
        .iter()
        .map(|&(name, tag)| {
            let created = Layout::committed(name).config()["created"]
                .as_str()
                .expect("created")
                .to_string();
            (created, tag, name)
        })
        .collect();
    want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let rows = json["tags"].as_array().expect("tags");
    let got: Vec<&str> = rows.iter().filter_map(|t| t["tag"].as_str()).collect();
    let order: Vec<&str> = want.iter().map(|w| w.1).collect();
    assert_eq!(got, order);
    for (row, (created, _, name)) in rows.iter().zip(&want) {
        let o = crate::compare::oracle(name);
        assert_eq!(row["created"], created.as_str());
        assert_eq!(row["shipped_bytes"], o.shipped, "{name}");
        assert_eq!(row["compressed_bytes"], o.compressed, "{name}");
        assert_eq!(row["layers"], o.diff_ids.len(), "{name}");
    }
    // Each row against the next (older) one.
    for pair in rows.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        let g = &newer["since_previous"];
        assert_eq!(g["tag"], older["tag"]);
        let delta = newer["shipped_bytes"].as_i64().unwrap_or(0)
            - older["shipped_bytes"].as_i64().unwrap_or(0);
        assert_eq!(g["delta_bytes"], delta);
    }
    assert!(
        rows.last()
            .is_some_and(|r| r.get("since_previous").is_none())
    );
    // Every distinct layer blob read once: one cache entry each.
    let blobs: BTreeSet<String> = TAGS
        .iter()
        .flat_map(|(name, _)| Layout::committed(name).layer_digests())
        .map(|d| d.replace(':', "-"))
        .collect();
    let entries: BTreeSet<String> = std::fs::read_dir(cache.path().join("layers-v2"))
        .expect("the cache")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sha256-"))
        .collect();
    assert_eq!(entries, blobs);

    // --tags and --match pick among them; text, Markdown and HTML say the same rows.
    let r = run(strata().arg("history").arg(&repo).args([
        "--insecure",
        "--quiet",
        "--match",
        "day*",
        "--tags",
        "1",
    ]));
    r.expect_code(0);
    let newest_day = want.iter().find(|w| w.1.starts_with("day")).expect("a day");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines.len() == 3, "{}", r.stdout);
    assert!(lines[2].starts_with(newest_day.1), "{}", r.stdout);
    let html =
        run(strata()
            .arg("history")
            .arg(&repo)
            .args(["--insecure", "--quiet", "--format", "html"]));
    html.expect_code(0);
    for (_, tag, _) in &want {
        assert!(
            html.stdout.contains(&format!("<code>{tag}</code>")),
            "{tag}"
        );
    }
    assert!(html.stdout.contains("<polyline"));
    assert!(!html.stdout.contains("http://") && !html.stdout.contains("https://"));
}

/// A path that is no registry is refused with one line.
#[test]
fn history_needs_a_registry() {
    let r = run(strata()
        .arg("history")
        .arg(image("overlay-oci").to_str().expect("utf-8")));
    r.expect_code(2);
    assert!(r.stderr.contains("docker://HOST/REPO"), "{}", r.stderr);
}
