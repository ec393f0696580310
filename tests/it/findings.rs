//! The findings catalogue end to end, on two images buildah built (testdata/README.md):
//! `findings-bad`, one anti-pattern of each kind made as real builds make them (a context
//! with a `.git` and an `.env` copied whole before `npm ci`, a bundle copied twice, setuid and
//! world-writable files, no USER, no HEALTHCHECK), and `findings-tidy`, a multi-stage build
//! with a USER and a HEALTHCHECK, and `findings-staged`, a multi-stage build whose final stage
//! copies a build stage's copy of the whole context. What strata must find comes from the
//! independent oracle (`testdata/expected.py`, keys `findings-bad`, `findings-tidy` and
//! `findings-staged`: Python's tarfile over the
//! layers, the config, the Dockerfile), and the severities from the README's table.

use serde_json::Value;

use crate::fixtures::run::{Run, analyze_json, run, strata};
use crate::fixtures::{image_arg, oracle, root, testdata};

/// The secret rules judge the `.env`'s password too; they are another part of the catalogue,
/// tested with their own image, and are left out of the comparisons here.
const OTHER_RULES: [&str; 2] = ["secret", "secret-in-config"];

/// The findings of `json` by id, those of [`OTHER_RULES`] left out; each id at most once
/// (the images hold one duplicate set, one leak, one cache).
fn by_id(json: &Value) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = json["findings"]
        .as_array()
        .expect("findings[]")
        .iter()
        .filter_map(|f| Some((f["id"].as_str()?.to_string(), f.clone())))
        .filter(|(id, _)| !OTHER_RULES.contains(&id.as_str()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    let ids: Vec<&str> = out.iter().map(|(id, _)| id.as_str()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids, unique, "one finding per id on these images");
    out
}

/// The oracle's findings of `key`, `with_dockerfile` ones too when asked, sorted by id.
fn expected(key: &str, with_dockerfile: bool) -> Vec<(String, Value)> {
    let want = oracle(key);
    let mut out: Vec<(String, Value)> = want["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .chain(
            want["with_dockerfile"]
                .as_array()
                .expect("with_dockerfile")
                .iter()
                .filter(|_| with_dockerfile),
        )
        .map(|f| (f["id"].as_str().expect("id").to_string(), f.clone()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every field the oracle gives of a finding equals strata's (the oracle's own notes,
/// `not_leaked`, `lines` and `cache`, are checked by the tests that need them).
fn assert_same(got: &Value, want: &Value) {
    let id = want["id"].as_str().expect("id");
    for (field, value) in want.as_object().expect("finding") {
        if matches!(field.as_str(), "not_leaked" | "lines" | "cache") {
            continue;
        }
        assert_eq!(&got[field], value, "{id}: {field}\n{got:#}");
    }
    // What the oracle leaves out is empty: no layer, path or byte strata made up.
    for field in ["shipped_by", "hidden_by", "trigger"] {
        if want.get(field).is_none() {
            assert!(got[field].is_null(), "{id}: {field} {got:#}");
        }
    }
    for field in ["bytes", "files"] {
        if want.get(field).is_none() {
            assert_eq!(got[field], 0, "{id}: {field}");
        }
    }
    if want.get("paths").is_none() {
        assert_eq!(got["paths"], serde_json::json!([]), "{id}: paths");
    }
    assert!(
        got["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{id}: a message"
    );
}

fn analyze(image: &str, dockerfile: Option<&str>) -> Value {
    let img = image_arg(image);
    let mut args = vec![img.as_str()];
    let path;
    if let Some(d) = dockerfile {
        path = testdata(d).to_string_lossy().into_owned();
        args.extend(["--dockerfile", path.as_str()]);
    }
    analyze_json(&args).0
}

/// A severity's rank, from the JSON's words.
fn rank(severity: &str) -> u8 {
    match severity {
        "note" => 0,
        "warning" => 1,
        "error" => 2,
        other => panic!("unknown severity {other}"),
    }
}

#[test]
fn the_bad_image_has_every_finding_the_oracle_computes() {
    let json = analyze("findings-bad", None);
    let got = by_id(&json);
    let want = expected("findings-bad", false);
    let ids = |v: &[(String, Value)]| v.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&got), ids(&want));
    for ((_, g), (_, w)) in got.iter().zip(&want) {
        assert_same(g, w);
    }
    // npm's node_modules, made by a RUN, is no file of the build context.
    let leak = &got
        .iter()
        .find(|(id, _)| id == "context-leaked")
        .expect("leak")
        .1;
    let not_leaked = &oracle("findings-bad")["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["id"] == "context-leaked")
        .expect("oracle leak")["not_leaked"];
    assert_eq!(not_leaked, &serde_json::json!(["/app/node_modules"]));
    for p in not_leaked.as_array().expect("paths") {
        assert!(!leak["paths"].as_array().expect("paths").contains(p), "{p}");
    }
    // The layers the findings name are the oracle's, byte for byte.
    let layers = json["layers"].as_array().expect("layers[]");
    let want_layers = oracle("findings-bad")["layer_list"]
        .as_array()
        .expect("layer_list");
    assert_eq!(layers.len(), want_layers.len());
    for (l, w) in layers.iter().zip(want_layers) {
        assert_eq!(
            l["shipped_bytes"], w["shipped_bytes"],
            "layer {}",
            w["index"]
        );
        assert_eq!(l["diff_id"], w["diff_id"], "layer {}", w["index"]);
    }
    // Without the Dockerfile, buildah's history (`COPY dir:<hash> in /app`) hides what the
    // COPY took: no cache-order finding is guessed.
    for (id, _) in &want {
        assert_ne!(id, "cache-order");
    }
}

/// With `--dockerfile`, the COPY of the whole context is known: the cache-order finding names
/// the COPY's line (its trigger) and the install's (the layer that ships the bytes), as the
/// oracle read them from the Dockerfile; the other findings stay as they were.
#[test]
fn with_the_dockerfile_cache_order_names_the_copy_and_the_install() {
    let want_all = oracle("findings-bad");
    let json = analyze(
        "findings-bad",
        Some(want_all["dockerfile"].as_str().expect("dockerfile")),
    );
    let got = by_id(&json);
    let want = expected("findings-bad", true);
    let ids = |v: &[(String, Value)]| v.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&got), ids(&want));
    for ((_, g), (_, w)) in got.iter().zip(&want) {
        assert_same(g, w);
    }
    let order = &got
        .iter()
        .find(|(id, _)| id == "cache-order")
        .expect("order")
        .1;
    let lines = &want_all["with_dockerfile"][0]["lines"];
    let layers = json["layers"].as_array().expect("layers[]");
    let line_of = |field: &str| {
        let k = usize::try_from(order[field].as_u64().expect(field)).expect("index");
        layers[k]["source"]["line"].clone()
    };
    assert_eq!(line_of("trigger"), lines["trigger"]);
    assert_eq!(line_of("shipped_by"), lines["shipped_by"]);
    // Every finding with a layer points at that layer's line: the modes at the RUN that
    // set them, the leak at the COPY, the cache and the dev packages at the install.
    let layer_lines = want_all["layer_lines"].as_object().expect("layer_lines");
    let mut placed = 0;
    for (id, f) in &got {
        let Some(k) = f["shipped_by"].as_u64() else {
            continue;
        };
        let k = usize::try_from(k).expect("index");
        assert_eq!(
            layers[k]["source"]["line"],
            layer_lines[&k.to_string()],
            "{id}: layer {k}"
        );
        placed += 1;
    }
    assert_eq!(
        placed, 7,
        "every finding but root and health check has a layer"
    );
    assert!(
        json["warnings"].as_array().is_some_and(Vec::is_empty),
        "{}",
        json["warnings"]
    );
}

/// A tidy multi-stage build on the small base: the oracle expects no finding at all, and
/// strata has none at warning or above (the catalogue's promise), with or without the
/// Dockerfile.
#[test]
fn the_tidy_image_has_nothing_at_warning_or_above() {
    let want = expected("findings-tidy", true);
    assert!(want.is_empty(), "{want:?}");
    assert_eq!(oracle("findings-tidy")["user"], "1000");
    assert!(oracle("findings-tidy")["healthcheck"]["Test"].is_array());
    for dockerfile in [None, Some("findings/tidy/Dockerfile")] {
        let json = analyze("findings-tidy", dockerfile);
        let found = json["findings"].as_array().expect("findings[]");
        let loud: Vec<&Value> = found
            .iter()
            .filter(|f| rank(f["severity"].as_str().unwrap_or("note")) >= 1)
            .collect();
        assert!(loud.is_empty(), "{dockerfile:?}: {loud:#?}");
        assert!(found.is_empty(), "{dockerfile:?}: {found:#?}");
    }
}

/// A multi-stage build still leaks its context when the build stage copies it whole and the
/// final stage copies the stage's directory (`findings-staged`). The Dockerfile's line says
/// `COPY --from=build`, which alone is no copy of the context: the stage it reads is. With
/// the Dockerfile the finding stays, as the oracle judges it from the stages; the history's
/// `COPY dir:` reads the same without it. The bad and tidy images' leaks are unchanged.
#[test]
fn a_context_copied_into_a_build_stage_leaks_through_copy_from() {
    let want = &oracle("findings-staged")["context_with_dockerfile"];
    assert_eq!(
        want["paths"],
        serde_json::json!(["/app/.git", "/app/Dockerfile"])
    );
    for (key, dockerfile) in [
        ("findings-staged", "findings/staged/Dockerfile"),
        ("findings-bad", "findings/bad/Dockerfile"),
        ("findings-tidy", "findings/tidy/Dockerfile"),
    ] {
        let want = &oracle(key)["context_with_dockerfile"];
        let json = analyze(key, Some(dockerfile));
        let got = by_id(&json)
            .into_iter()
            .find(|(id, _)| id == "context-leaked")
            .map(|(_, f)| f);
        match got {
            Some(f) => assert_same(&f, want),
            None => assert!(want.is_null(), "{key}: no leak, the oracle says {want:#}"),
        }
        let line = json["layers"][1]["source"]["instruction"].as_str();
        if key == "findings-staged" {
            assert_eq!(line, Some("COPY --from=build /src /app"));
        }
    }
    let plain = analyze("findings-staged", None);
    let leak = by_id(&plain)
        .into_iter()
        .find(|(id, _)| id == "context-leaked")
        .expect("the history's COPY dir: reads as a copy of the context");
    assert_eq!(leak.1["paths"], want["paths"]);
}

/// `ci --fail-on warning` fails the bad image on exactly its findings at warning or above and
/// passes the tidy one; without `--fail-on` (and dive's rules, which neither image breaks,
/// left at their defaults) both pass: the gate is what fails the bad one.
#[test]
fn ci_fail_on_warning_fails_the_bad_image_and_passes_the_tidy_one() {
    let ci = |image: &str, extra: &[&str]| -> Run {
        let img = image_arg(image);
        run(strata().arg("ci").arg(&img).args(extra))
    };
    for image in ["findings-bad", "findings-tidy"] {
        ci(image, &[]).expect_code(0);
    }
    ci("findings-tidy", &["--fail-on", "warning"]).expect_code(0);
    let r = ci(
        "findings-bad",
        &["--fail-on", "warning", "--format", "json"],
    );
    r.expect_code(1);
    let json = r.json();
    assert_eq!(json["pass"], false);
    assert_eq!(json["gate"]["pass"], false);
    let mut failed: Vec<String> = json["gate"]["findings"]
        .as_array()
        .expect("gate findings")
        .iter()
        .filter(|f| f["fails"] == true)
        .filter_map(|f| f["id"].as_str().map(str::to_string))
        .filter(|id| !OTHER_RULES.contains(&id.as_str()))
        .collect();
    failed.sort();
    let at_warning: Vec<String> = expected("findings-bad", false)
        .into_iter()
        .filter(|(_, f)| rank(f["severity"].as_str().expect("severity")) >= 1)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(failed, at_warning);
    assert!(!at_warning.is_empty());
}

/// The severities the oracle expects are the README's table's: a fixed word where the table
/// gives one, else one the row's rule names ("warning from 1 MiB, else note").
#[test]
fn the_oracles_severities_are_the_readmes() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let row = |id: &str| -> String {
        let tick = format!("`{id}`");
        readme
            .lines()
            .find(|l| {
                l.starts_with("| `") && l.split('|').nth(1).is_some_and(|c| c.contains(&tick))
            })
            .and_then(|l| l.split('|').nth(2))
            .map(|c| c.trim().to_string())
            .unwrap_or_else(|| panic!("README's table has no row for {id}"))
    };
    let mut seen = 0;
    for (id, f) in expected("findings-bad", true) {
        let severity = f["severity"].as_str().expect("severity");
        let cell = row(&id);
        if ["note", "warning", "error"].contains(&cell.as_str()) {
            assert_eq!(cell, severity, "{id}");
        } else {
            assert!(cell.contains(severity), "{id}: {severity} in {cell:?}");
        }
        seen += 1;
    }
    assert_eq!(seen, 9, "one finding per rule the bad image breaks");
}
