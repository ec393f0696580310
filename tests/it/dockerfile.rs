//! `--dockerfile` on the committed images, which buildah built from the Dockerfiles in
//! testdata: every layer names the line that made it. The expected lines come from the
//! Dockerfiles themselves: each step is announced by a comment `# Lk …` (layer k), the step
//! is the next line that is no comment, and it ends where its lines stop ending in `\`.

use std::fs;

use serde_json::Value;

use crate::fixtures::run::{analyze_json, run, strata};
use crate::fixtures::{image, testdata};

/// A step of a Dockerfile as the file shows it: its first and last lines (from 1) and its
/// first line's text without the continuation mark.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    line: u64,
    end_line: u64,
    text: String,
}

/// The step starting at line index `i` of `lines`.
fn step_at(lines: &[&str], i: usize) -> Step {
    let mut end = i;
    while lines[end].trim_end().ends_with('\\') {
        end += 1;
    }
    Step {
        line: i as u64 + 1,
        end_line: end as u64 + 1,
        text: lines[i]
            .trim_end()
            .trim_end_matches('\\')
            .trim_end()
            .to_string(),
    }
}

/// The step made layer `k`, by the file's `# Lk ` comment.
fn commented_step(text: &str, k: usize) -> Step {
    let lines: Vec<&str> = text.lines().collect();
    let marker = format!("# L{k} ");
    let at = lines
        .iter()
        .position(|l| l.starts_with(&marker))
        .unwrap_or_else(|| panic!("no {marker:?} comment"));
    let i = (at + 1..lines.len())
        .find(|&i| !lines[i].starts_with('#'))
        .expect("a step after the comment");
    step_at(&lines, i)
}

/// The last line starting with `prefix`.
fn last_step_starting(text: &str, prefix: &str) -> Step {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .rposition(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}"));
    step_at(&lines, i)
}

/// A layer's `source` as (line, end_line, first line of its instruction) and its `base`.
fn layer_source(layer: &Value) -> (Option<Step>, Option<bool>) {
    let source = layer.get("source").map(|s| Step {
        line: s["line"].as_u64().expect("line"),
        end_line: s["end_line"].as_u64().expect("end_line"),
        text: s["instruction"].as_str().expect("instruction").to_string(),
    });
    (source, layer.get("base").and_then(Value::as_bool))
}

/// Asserts that `layer`'s source is `step`: the same lines, and an instruction that begins
/// with the step's first line (its continuation lines follow, joined).
fn assert_source(layer: &Value, step: &Step, base: bool) {
    let (source, got_base) = layer_source(layer);
    let source = source.unwrap_or_else(|| panic!("layer {} has no source", layer["index"]));
    assert_eq!(
        (source.line, source.end_line),
        (step.line, step.end_line),
        "layer {}: {source:?}, expected {step:?}",
        layer["index"]
    );
    assert!(
        source.text.starts_with(&step.text),
        "layer {}: {:?} does not begin with {:?}",
        layer["index"],
        source.text,
        step.text
    );
    assert_eq!(got_base, Some(base), "layer {}", layer["index"]);
}

/// `strata analyze IMAGE --dockerfile FILE`: layer 0 is the base image's (the last FROM),
/// every other layer the step its comment names.
fn check_image(name: &str, dockerfile: &str) {
    let path = testdata(dockerfile);
    let text = fs::read_to_string(&path).expect("read the Dockerfile");
    let (json, _) = analyze_json(&[
        image(name).to_str().expect("utf-8"),
        "--dockerfile",
        path.to_str().expect("utf-8"),
    ]);
    let layers = json["layers"].as_array().expect("layers");
    assert!(layers.len() > 1, "{name}");
    assert_source(&layers[0], &last_step_starting(&text, "FROM "), true);
    for (k, layer) in layers.iter().enumerate().skip(1) {
        assert_source(layer, &commented_step(&text, k), false);
    }
    for layer in layers {
        assert_eq!(
            layer["source"]["file"].as_str(),
            path.to_str(),
            "the file as named"
        );
    }
}

#[test]
fn overlay_layers_name_their_lines() {
    check_image("overlay-oci", "overlay/Dockerfile");
}

#[test]
fn compare_images_name_their_lines() {
    check_image(
        "compare-program-single",
        "compare/program/Dockerfile.single",
    );
    check_image("compare-program-multi", "compare/program/Dockerfile.multi");
    check_image("compare-service-day1", "compare/service/Dockerfile.day1");
    check_image("compare-service-day2", "compare/service/Dockerfile.day2");
}

/// The multi-stage Dockerfile's `build` stage repeats the single-stage build's first three
/// steps: `--target build` names them in that file, and the clean-up the stage lacks names
/// none. Its lines are found by the single-stage file's text.
#[test]
fn target_picks_the_stage_and_an_unmatched_layer_names_nothing() {
    let multi_path = testdata("compare/program/Dockerfile.multi");
    let multi = fs::read_to_string(&multi_path).expect("read");
    let single = fs::read_to_string(testdata("compare/program/Dockerfile.single")).expect("read");
    let lines: Vec<&str> = multi.lines().collect();
    let (json, r) = analyze_json(&[
        image("compare-program-single").to_str().expect("utf-8"),
        "--dockerfile",
        multi_path.to_str().expect("utf-8"),
        "--target",
        "build",
    ]);
    let layers = json["layers"].as_array().expect("layers");
    let from = lines
        .iter()
        .position(|l| l.starts_with("FROM ") && l.ends_with(" AS build"))
        .expect("the build stage");
    assert_source(&layers[0], &step_at(&lines, from), true);
    for (k, layer) in layers.iter().enumerate().take(4).skip(1) {
        let first = commented_step(&single, k).text;
        let i = lines
            .iter()
            .position(|l| l.trim_end().trim_end_matches('\\').trim_end() == first)
            .unwrap_or_else(|| panic!("{first:?} is not in Dockerfile.multi"));
        assert_source(layer, &step_at(&lines, i), false);
        assert_eq!(layer["source"]["stage"], "build");
    }
    assert!(!multi.contains(&commented_step(&single, 4).text));
    assert_eq!(layer_source(&layers[4]), (None, Some(false)));
    assert!(
        r.stderr
            .contains("1 of the 4 layers the Dockerfile made match no line"),
        "{}",
        r.stderr
    );

    // The last stage (the default) made none of this image's layers.
    let (json, r) = analyze_json(&[
        image("compare-program-single").to_str().expect("utf-8"),
        "--dockerfile",
        multi_path.to_str().expect("utf-8"),
    ]);
    for layer in json["layers"].as_array().expect("layers") {
        assert_eq!(layer_source(layer), (None, None));
    }
    assert!(
        r.stderr.contains("matches a layer of the image"),
        "{}",
        r.stderr
    );
}

/// Without `--dockerfile` the JSON is as before: no `source`, no `base`.
#[test]
fn without_a_dockerfile_layers_have_no_source_or_base() {
    let (json, _) = analyze_json(&[image("overlay-oci").to_str().expect("utf-8")]);
    for layer in json["layers"].as_array().expect("layers") {
        assert!(layer.get("source").is_none() && layer.get("base").is_none());
    }
}

/// The text summary names the line in the command column, the base image and the count.
#[test]
fn text_names_lines_and_the_base() {
    let path = testdata("overlay/Dockerfile");
    let text = fs::read_to_string(&path).expect("read");
    let r = run(strata().args([
        "analyze",
        image("overlay-oci").to_str().expect("utf-8"),
        "--dockerfile",
        path.to_str().expect("utf-8"),
    ]));
    r.expect_code(0);
    let big = commented_step(&text, 19);
    let shown = format!("Dockerfile:{} {}", big.line, big.text);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with(" 19 ") && l.ends_with(&shown)),
        "{shown:?} not in\n{}",
        r.stdout
    );
    let from = last_step_starting(&text, "FROM ");
    // The base layer is strata/base:1's, whose size the oracle knows (decimal MB, as printed).
    let base_mb = crate::fixtures::oracle("base")["shipped_bytes"]
        .as_u64()
        .unwrap_or(0) as f64
        / 1e6;
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Base image: "))
        .unwrap_or_default();
    assert!(
        line.starts_with(&format!(
            "Base image: layer 0 ({}): {base_mb:.2} MB in 1 layer; yours ",
            from.text
        )) && line.ends_with(" in 20 layers"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!(
            "Dockerfile: 20 of the 20 layers it made matched to a line of {}\n",
            path.display()
        )),
        "{}",
        r.stdout
    );
}

/// `ci` and the explorer take the flags too: the CI report's analysis carries the sources,
/// the explorer's layer list shows the lines.
#[test]
fn ci_and_the_explorer_name_lines() {
    let path = testdata("compare/service/Dockerfile.day1");
    let text = fs::read_to_string(&path).expect("read");
    let img = image("compare-service-day1");
    let (img, df) = (img.to_str().expect("utf-8"), path.to_str().expect("utf-8"));
    let r = run(strata().args(["ci", img, "--dockerfile", df, "--format", "json"]));
    let json: Value = r.json();
    let layers = json["analysis"]["layers"].as_array().expect("layers");
    assert_source(&layers[3], &commented_step(&text, 3), false);

    let r = run(strata().args([
        img,
        "--dockerfile",
        df,
        "--keys",
        "j",
        "--print",
        "--screen",
        "240x40",
    ]));
    r.expect_code(0);
    let copy = commented_step(&text, 2);
    let shown = format!("Dockerfile.day1:{} {}", copy.line, copy.text);
    assert!(r.stdout.contains(&shown), "{shown:?} not in\n{}", r.stdout);
    let detail = format!(
        "Line Dockerfile.day1:{}, stage 0",
        commented_step(&text, 1).line
    );
    assert!(
        r.stdout.contains(&detail),
        "{detail:?} not in\n{}",
        r.stdout
    );
}

/// `image.base` weighs the layers `FROM` brought: the compare images carry strata/base:1's
/// layer byte for byte, whose size the oracle knows; the name is the final stage's FROM.
#[test]
fn the_base_image_is_named_and_weighed() {
    let dockerfile = testdata("compare/program/Dockerfile.single");
    let text = fs::read_to_string(&dockerfile).expect("Dockerfile");
    let from = text
        .lines()
        .rfind(|l| l.trim_start().to_ascii_uppercase().starts_with("FROM "))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("a FROM line")
        .to_string();
    let (json, _) = analyze_json(&[
        image("compare-program-single").to_str().expect("utf-8"),
        "--dockerfile",
        dockerfile.to_str().expect("utf-8"),
    ]);
    let base = &json["image"]["base"];
    assert_eq!(base["name"], Value::from(from));
    assert_eq!(base["layers"], 1);
    assert_eq!(
        base["bytes"],
        crate::fixtures::oracle("base")["shipped_bytes"]
    );
    assert_eq!(
        base["compressed_bytes"],
        json["layers"][0]["compressed_bytes"]
    );
    // Without a Dockerfile the base is not known: no field.
    let (plain, _) = analyze_json(&[image("compare-program-single").to_str().expect("utf-8")]);
    assert!(plain["image"].get("base").is_none());
}

/// A finding names the Dockerfile lines to change: the `rm -rf /build` that deletes what the
/// compile step shipped, by its line in the Dockerfile (read here).
#[test]
fn findings_name_the_dockerfile_lines() {
    let path = testdata("compare/program/Dockerfile.single");
    let text = fs::read_to_string(&path).expect("Dockerfile");
    let rm = last_step_starting(&text, "RUN rm -rf /build");
    let r = run(strata().args([
        "analyze",
        image("compare-program-single").to_str().expect("utf-8"),
        "--dockerfile",
        path.to_str().expect("utf-8"),
    ]));
    r.expect_code(0);
    let named = format!("(`Dockerfile.single:{} {}`) deletes", rm.line, rm.text);
    assert!(r.stdout.contains(&named), "{named}\n{}", r.stdout);
    // Without the Dockerfile the same finding names the history's command.
    let plain = run(strata().args([
        "analyze",
        image("compare-program-single").to_str().expect("utf-8"),
    ]));
    assert!(
        plain.stdout.contains("(`rm -rf /build`) deletes"),
        "{}",
        plain.stdout
    );
}
