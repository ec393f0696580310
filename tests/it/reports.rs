//! The reports CI systems read (`--format sarif`, `codequality`, `junit`, `markdown`) and the
//! findings gate (`ci --fail-on`, the allow-list), on the committed images and on layouts
//! written here.
//!
//! The documents are checked against the formats' own schemas (the official SARIF 2.1.0
//! schema, a schema derived from GitLab's documentation, the Jenkins xunit JUnit XSD, all in
//! ../shared/fixtures/sarif) by real validators (Python's `jsonschema`, `xmllint`), and parsed
//! back here. What they must say comes from the analysis' JSON (`strata analyze --format
//! json`) or from how the test built its image, never from the document under test.

use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::fixtures::layout::{Layout, write_layout};
use crate::fixtures::run::{Run, analyze_json, assert_one_line_error, run, strata};
use crate::fixtures::tar::E;
use crate::fixtures::tools::require;
use crate::fixtures::{image_arg, shared_fixture};

/// The Dockerfile the overlay image was built from, as a path relative to the crate root
/// (where these tests run strata, so that paths print as CI would give them).
const OVERLAY_DOCKERFILE: &str = "testdata/overlay/Dockerfile";

/// `strata ARGS` run from `dir`.
fn run_in(dir: &Path, args: &[&str]) -> Run {
    run(strata().current_dir(dir).args(args))
}

/// The crate root, where relative testdata paths resolve.
fn root() -> std::path::PathBuf {
    crate::fixtures::root()
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

/// Validates `doc` against the JSON schema at `schema` with Python's `jsonschema` (Draft 4 or
/// 7, as the schema declares); `Err` holds the validator's complaint.
fn validate_json(schema: &Path, doc: &str) -> Result<(), String> {
    let python = require("python3", "apt-get install python3");
    let script = "import json, sys\n\
        try:\n    import jsonschema\n\
        except ImportError:\n    sys.exit('python3-jsonschema is missing: apt-get install python3-jsonschema')\n\
        schema = json.load(open(sys.argv[1]))\n\
        cls = jsonschema.validators.validator_for(schema)\n\
        errors = sorted(cls(schema).iter_errors(json.load(sys.stdin)), key=lambda e: list(e.path))\n\
        for e in errors[:5]:\n    print(list(e.path), e.message[:300])\n\
        sys.exit(1 if errors else 0)\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(doc.as_bytes())
        .expect("feed the document");
    let out = child.wait_with_output().expect("python3 ran");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The overlay image's analysis (with its Dockerfile) and its SARIF, as strata prints them.
fn overlay_sarif() -> (Value, Value) {
    let (json, _) = analyze_json(&[
        &image_arg("overlay-oci"),
        "--dockerfile",
        &root().join(OVERLAY_DOCKERFILE).to_string_lossy(),
    ]);
    let r = run_in(
        &root(),
        &[
            "analyze",
            "testdata/images/overlay-oci",
            "--dockerfile",
            OVERLAY_DOCKERFILE,
            "--format",
            "sarif",
        ],
    );
    r.expect_code(0);
    (json, r.json())
}

/// The SARIF of `analyze` and of `ci` (with an allowed finding) is valid against the official
/// SARIF 2.1.0 schema, and the validator rejects a broken copy (so it did run).
#[test]
#[ignore = "needs python3-jsonschema and ../shared/fixtures beside the project; run by .ci/run"]
fn sarif_is_valid_against_the_official_schema() {
    let schema = shared_fixture("sarif/sarif-schema-2.1.0.json");
    let (_, sarif) = overlay_sarif();
    let text = sarif.to_string();
    validate_json(&schema, &text).unwrap_or_else(|e| panic!("invalid SARIF: {e}"));
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(validate_json(&schema, &broken.to_string()).is_err());
    // Without a Dockerfile, and from `ci` with the allow-list's suppressions.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(
        dir.path().join(".strata.yaml"),
        "allow:\n  - id: runs-as-root\n    reason: the entrypoint drops to uid 1000\n",
    )
    .expect("write");
    for args in [
        vec!["analyze", "--format", "sarif"],
        vec!["ci", "--format", "sarif", "--fail-on", "note"],
    ] {
        let img = image_arg("packages-oci");
        let mut all = args.clone();
        all.insert(1, &img);
        let r = run_in(dir.path(), &all);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        validate_json(&schema, &r.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}

/// What GitHub code scanning reads: one rule per kind with its texts; one result per finding
/// with the analysis' id, level and sentence; each located at the Dockerfile lines of the
/// layer the finding names; a security severity on the rules not about bytes only;
/// fingerprints that are the same on every run and differ between results.
#[test]
fn sarif_says_what_the_analysis_says_where_the_dockerfile_says() {
    let (json, sarif) = overlay_sarif();
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run0 = &runs[0];
    assert_eq!(
        run0["automationDetails"]["id"],
        json!(format!("strata/{}/", "testdata/images/overlay-oci"))
    );
    let driver = &run0["tool"]["driver"];
    assert_eq!(driver["name"], "strata");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = strata::analysis::FindingKind::ALL
        .iter()
        .map(|k| k.id())
        .collect();
    let rule_ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(rule_ids, ids, "one rule per kind, in order");
    for (rule, kind) in rules.iter().zip(strata::analysis::FindingKind::ALL) {
        for key in ["shortDescription", "fullDescription"] {
            assert!(rule[key]["text"].as_str().is_some_and(|t| !t.is_empty()));
        }
        assert!(
            rule["help"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("Fix:"))
        );
        assert!(rule["help"]["markdown"].as_str().is_some());
        let security = rule["properties"].get("security-severity");
        assert_eq!(security.is_some(), !kind.is_size(), "{}", kind.id());
        if let Some(s) = security {
            let score: f64 = s.as_str().and_then(|s| s.parse().ok()).expect("a number");
            assert!((0.1..=10.0).contains(&score));
        }
    }
    // The findings: every one (the JSON shows at most 20; this image has fewer).
    let findings = json["findings"].as_array().expect("findings");
    assert!(findings.len() < 20);
    let results = run0["results"].as_array().expect("results");
    let mut expected: Vec<(String, String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut got: Vec<(String, String, String)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or_default().to_string(),
                r["level"].as_str().unwrap_or_default().to_string(),
                r["message"]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    // Where: the lines of the layer each finding names (the one that hid the bytes, else
    // shipped them), from the JSON's layers[].source; a finding of the whole image at the
    // Dockerfile too (every result has a physical location, or GitHub refuses the file).
    let layers = json["layers"].as_array().expect("layers");
    for (r, f) in results.iter().zip(sorted_like(findings, results)) {
        let location = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            location["artifactLocation"]["uri"], OVERLAY_DOCKERFILE,
            "{r}"
        );
        let layer = f["hidden_by"].as_u64().or(f["shipped_by"].as_u64());
        if let Some(k) = layer {
            let source = &layers[usize::try_from(k).expect("index")]["source"];
            assert_eq!(location["region"]["startLine"], source["line"], "{r}");
            assert_eq!(location["region"]["endLine"], source["end_line"], "{r}");
        } else {
            assert!(location["region"]["startLine"].as_u64() >= Some(1));
        }
        let rule = &rules[r["ruleIndex"].as_u64().expect("ruleIndex") as usize];
        assert_eq!(rule["id"], r["ruleId"]);
    }
    // Fingerprints: distinct, and the same on a second run.
    let prints: Vec<&Value> = results
        .iter()
        .map(|r| &r["partialFingerprints"]["strataFindingHash/v1"])
        .collect();
    let unique: std::collections::HashSet<String> =
        prints.iter().map(ToString::to_string).collect();
    assert_eq!(unique.len(), results.len());
    let (_, again) = overlay_sarif();
    let again: Vec<&Value> = again["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| &r["partialFingerprints"]["strataFindingHash/v1"])
        .collect();
    assert_eq!(again, prints);
}

/// The JSON findings in the order of `results`, matched by id and message.
fn sorted_like<'a>(findings: &'a [Value], results: &[Value]) -> Vec<&'a Value> {
    results
        .iter()
        .map(|r| {
            findings
                .iter()
                .find(|f| f["id"] == r["ruleId"] && f["message"] == r["message"]["text"])
                .unwrap_or_else(|| panic!("no finding for {r}"))
        })
        .collect()
}

/// Without a Dockerfile, every result still has a physical location: the image, by the path
/// it was given.
#[test]
fn without_a_dockerfile_results_point_at_the_image() {
    let r = run_in(
        &root(),
        &[
            "analyze",
            "testdata/images/packages-oci",
            "--format",
            "sarif",
        ],
    );
    r.expect_code(0);
    let sarif = r.json();
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for result in results {
        let l = &result["locations"][0];
        assert_eq!(
            l["physicalLocation"]["artifactLocation"]["uri"],
            "testdata/images/packages-oci"
        );
        assert_eq!(l["physicalLocation"]["region"]["startLine"], 1);
        assert_eq!(
            l["logicalLocations"][0]["fullyQualifiedName"],
            "testdata/images/packages-oci"
        );
    }
}

/// GitLab Code Quality: valid against the schema derived from GitLab's documentation, and
/// parsed back: one issue per finding, the analysis' ids and sentences, severities mapped,
/// the Dockerfile lines, fingerprints unique (GitLab drops repeats) and the same as SARIF's.
#[test]
#[ignore = "needs python3-jsonschema and ../shared/fixtures beside the project; run by .ci/run"]
fn codequality_is_valid_against_gitlabs_format() {
    let schema = shared_fixture("sarif/gitlab-codequality.DERIVED.schema.json");
    for args in [
        vec![
            "analyze",
            "testdata/images/overlay-oci",
            "--dockerfile",
            OVERLAY_DOCKERFILE,
        ],
        vec!["ci", "testdata/images/packages-oci", "--fail-on", "warning"],
    ] {
        let mut all = args.clone();
        all.extend(["--format", "codequality"]);
        let r = run_in(&root(), &all);
        validate_json(&schema, &r.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(!r.stdout.starts_with('\u{feff}'), "GitLab rejects a BOM");
    }
    // The validator runs: a severity GitLab does not know is refused.
    let bad = json!([{"description": "d", "check_name": "c", "fingerprint": "f",
        "severity": "warning", "location": {"path": "p", "lines": {"begin": 1}}}]);
    assert!(validate_json(&schema, &bad.to_string()).is_err());
}

#[test]
fn codequality_says_what_the_analysis_says() {
    let (json, sarif) = overlay_sarif();
    let r = run_in(
        &root(),
        &[
            "analyze",
            "testdata/images/overlay-oci",
            "--dockerfile",
            OVERLAY_DOCKERFILE,
            "--format",
            "codequality",
        ],
    );
    r.expect_code(0);
    let issues = r.json();
    let issues = issues.as_array().expect("an array");
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(issues.len(), findings.len());
    let severity = |s: &str| match s {
        "note" => "info",
        "warning" => "major",
        "error" => "critical",
        other => panic!("{other}"),
    };
    let layers = json["layers"].as_array().expect("layers");
    for issue in issues {
        let f = findings
            .iter()
            .find(|f| f["id"] == issue["check_name"] && f["message"] == issue["description"])
            .unwrap_or_else(|| panic!("no finding for {issue}"));
        assert_eq!(
            issue["severity"],
            severity(f["severity"].as_str().expect("severity"))
        );
        assert_eq!(issue["location"]["path"], OVERLAY_DOCKERFILE);
        if let Some(k) = f["hidden_by"].as_u64().or(f["shipped_by"].as_u64()) {
            assert_eq!(
                issue["location"]["lines"]["begin"],
                layers[usize::try_from(k).expect("index")]["source"]["line"]
            );
        }
    }
    let prints: std::collections::BTreeSet<String> = issues
        .iter()
        .map(|i| i["fingerprint"].as_str().expect("fingerprint").to_string())
        .collect();
    assert_eq!(prints.len(), issues.len(), "fingerprints are unique");
    let sarif_prints: std::collections::BTreeSet<String> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            r["partialFingerprints"]["strataFindingHash/v1"]
                .as_str()
                .expect("hash")
                .into()
        })
        .collect();
    assert_eq!(prints, sarif_prints);
}

/// An image whose file names hold what XML, Markdown and terminals must not take raw: control
/// characters, markup, table pipes, backticks. Layer 1 deletes each of them (deleted-later
/// findings naming them).
fn hostile_image(dir: &Path) {
    let names = [
        "app/ctl\u{1}\u{1b}[31m\u{7f}x",
        "app/<b>&amp;\"'</b>",
        "app/pipe|`tick`|*em*_u_",
        "app/@someone [l](http://x)",
    ];
    let first: Vec<E<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, n)| E::File(n, 0o644, if i % 2 == 0 { b"0123456789" } else { b"0123" }))
        .chain([E::File("keep", 0o644, b"k")])
        .collect();
    // One layer per deletion: one finding per name.
    let mut layers = vec![first];
    layers.extend(names.iter().map(|n| vec![E::Whiteout(n)]));
    write_layout(dir, &layers);
}

/// JUnit XML of `ci`: valid against the Jenkins xunit schema, control characters from the
/// image included, and parsed back.
#[test]
#[ignore = "needs xmllint (libxml2-utils) and ../shared/fixtures beside the project; run by .ci/run"]
fn junit_is_valid_against_the_xunit_schema() {
    let xsd = shared_fixture("sarif/jenkins-xunit-junit-10.xsd");
    let xmllint = require("xmllint", "apt-get install libxml2-utils");
    let dir = tempfile::tempdir().expect("tempdir");
    hostile_image(&dir.path().join("img"));
    let img = dir.path().join("img").to_string_lossy().into_owned();
    for args in [
        vec!["ci", img.as_str(), "--fail-on", "note"],
        vec![
            "ci",
            "testdata/images/overlay-oci",
            "--dockerfile",
            OVERLAY_DOCKERFILE,
        ],
    ] {
        let mut all = args.clone();
        all.extend(["--format", "junit"]);
        let r = run_in(&root(), &all);
        let file = dir.path().join("report.xml");
        fs::write(&file, &r.stdout).expect("write");
        let out = Command::new(&xmllint)
            .args(["--noout", "--schema"])
            .arg(&xsd)
            .arg(&file)
            .output()
            .expect("run xmllint");
        assert!(
            out.status.success(),
            "{args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            r.stdout
        );
    }
    // xmllint does refuse what the schema does not allow.
    let file = dir.path().join("bad.xml");
    fs::write(&file, "<testsuite name=\"x\"><testcase/></testsuite>").expect("write");
    let out = Command::new(&xmllint)
        .args(["--noout", "--schema"])
        .arg(&xsd)
        .arg(&file)
        .output()
        .expect("run xmllint");
    assert!(!out.status.success());
}

/// The JUnit report parsed back: one case per rule with the outcome `strata.ci/v1` gives it,
/// one per finding at or above the gate (from the analysis' JSON), failures counted right, and
/// no character XML 1.0 refuses, though the image's names hold control characters.
#[test]
fn junit_has_a_case_per_rule_and_per_finding_at_the_gate() {
    let dir = tempfile::tempdir().expect("tempdir");
    hostile_image(&dir.path().join("img"));
    let img = dir.path().join("img").to_string_lossy().into_owned();
    let ci_json = run_in(
        dir.path(),
        &["ci", &img, "--format", "json", "--fail-on", "note"],
    );
    ci_json.expect_code(1);
    let ci_json = ci_json.json();
    let r = run_in(
        dir.path(),
        &["ci", &img, "--format", "junit", "--fail-on", "note"],
    );
    r.expect_code(1);
    assert!(
        !r.stdout
            .chars()
            .any(|c| (c.is_control() && c != '\n') || c == '\u{fffe}' || c == '\u{ffff}'),
        "a raw control character: {:?}",
        r.stdout
    );
    let doc = roxmltree::Document::parse(&r.stdout).expect("well-formed XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 1, "one test suite");
    let cases: Vec<_> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let outcome = |case: &roxmltree::Node<'_, '_>| {
        case.children()
            .find(|c| c.is_element())
            .map(|c| c.tag_name().name().to_string())
    };
    // The rules, as strata.ci/v1 judged them.
    let rules = ci_json["rules"].as_array().expect("rules");
    for rule in rules {
        let case = cases
            .iter()
            .find(|c| {
                c.attribute("classname") == Some("strata.rules")
                    && c.attribute("name") == rule["rule"].as_str()
            })
            .unwrap_or_else(|| panic!("no case for {rule}"));
        let expected = match rule["status"].as_str() {
            Some("fail") => Some("failure".to_string()),
            Some("disabled") => Some("skipped".to_string()),
            _ => None,
        };
        assert_eq!(outcome(case), expected, "{rule}");
    }
    // Every finding at or above `note`: all of them. The JSON lists at most 20; this image's
    // are fewer: one per deleted name, and the config's (root, no health check).
    let (analysis, _) = analyze_json(&[&img]);
    let findings = analysis["findings"].as_array().expect("findings");
    assert!(findings.len() < 20);
    let finding_cases: Vec<_> = cases
        .iter()
        .filter(|c| c.attribute("classname") == Some("strata.findings"))
        .collect();
    assert_eq!(finding_cases.len(), findings.len());
    assert_eq!(cases.len(), rules.len() + findings.len());
    for case in &finding_cases {
        let failure = case
            .children()
            .find(|c| c.has_tag_name("failure"))
            .expect("a failure");
        let message = failure.attribute("message").expect("message");
        // The sentence, with the image's controls spelled out as the text face does.
        let f = findings
            .iter()
            .find(|f| f["message"].as_str().map(escape_like_text).as_deref() == Some(message))
            .unwrap_or_else(|| panic!("no finding says {message:?}"));
        assert_eq!(failure.attribute("type"), f["severity"].as_str());
    }
    let failures = cases
        .iter()
        .filter(|c| outcome(c).as_deref() == Some("failure"))
        .count();
    assert_eq!(
        suites[0].attribute("failures"),
        Some(failures.to_string().as_str())
    );
    assert_eq!(
        suites[0].attribute("tests"),
        Some(cases.len().to_string().as_str())
    );
    // A name that held ESC is spelled out, not lost.
    assert!(r.stdout.contains("ctl\\x01\\x1b[31m\\x7fx"), "{}", r.stdout);
}

/// The text face's spelling of controls (`\x1b`, `\n`), written here from its documentation.
fn escape_like_text(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `--format junit` judges nothing in `analyze`: refused before the image is read.
#[test]
fn analyze_refuses_junit() {
    let r = run(strata().args(["analyze", &image_arg("overlay-oci"), "--format", "junit"]));
    assert_one_line_error(&r, &["--format junit", "strata ci"]);
}

/// Unescaped `|` in a Markdown table row: the cell separators.
fn cell_bars(row: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in row.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '|' if !escaped => n += 1,
            _ => escaped = false,
        }
    }
    n
}

/// Markdown of `analyze` and `ci`: a row per finding with the analysis' ids; every row has the
/// header's cells, whatever the image's names hold; nothing raw that renders as HTML.
#[test]
fn markdown_tables_hold_whatever_the_names_hold() {
    let dir = tempfile::tempdir().expect("tempdir");
    hostile_image(&dir.path().join("img"));
    let img = dir.path().join("img").to_string_lossy().into_owned();
    let (analysis, _) = analyze_json(&[&img]);
    let findings = analysis["findings"].as_array().expect("findings");
    for args in [
        vec!["analyze", img.as_str()],
        vec!["ci", img.as_str(), "--fail-on", "warning"],
    ] {
        let mut all = args.clone();
        all.extend(["--format", "markdown"]);
        let r = run_in(dir.path(), &all);
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        let md = &r.stdout;
        let table: Vec<&str> = md
            .lines()
            .skip_while(|l| !l.starts_with("| Severity |"))
            .take_while(|l| l.starts_with('|'))
            .collect();
        let columns = cell_bars(table[0]);
        assert!(table.iter().all(|row| cell_bars(row) == columns), "{md}");
        assert_eq!(table.len() - 2, findings.len(), "a row per finding");
        for f in findings {
            let id = format!("| `{}` |", f["id"].as_str().expect("id"));
            assert!(md.contains(&id), "{id}");
        }
        assert!(!md.contains("<b>") && !md.contains('\u{1b}'), "{md}");
        assert!(!md.contains("@someone"), "no mention: {md}");
        if args[0] == "ci" {
            assert!(md.starts_with("### strata ci: ❌ FAIL"), "{md}");
            assert!(md.contains("| `lowestEfficiency` |"), "{md}");
        }
    }
}

/// A synthetic image with 300 findings, each naming a long path, makes a table far larger
/// than a pull-request comment: the Markdown stops at 65,536 characters and says how many
/// findings it left out; the rows shown and those left out are every finding.
#[test]
fn markdown_is_cut_to_a_comments_limit_and_says_so() {
    const LAYERS: usize = 25;
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("img");
    // Layer i ships a file for each later layer j, which deletes it: one deleted-later
    // finding per pair (i, j).
    let names: Vec<Vec<String>> = (0..LAYERS)
        .map(|i| {
            (0..LAYERS)
                .map(|j| format!("d/{i:02}-{j:02}-{}", "long-name-".repeat(7)))
                .collect()
        })
        .collect();
    let contents: Vec<Vec<Vec<u8>>> = (0..LAYERS)
        .map(|i| {
            (0..LAYERS)
                .map(|j| format!("content {i} {j}").into_bytes())
                .collect()
        })
        .collect();
    let layers: Vec<Vec<E<'_>>> = (0..LAYERS)
        .map(|j| {
            let mut entries: Vec<E<'_>> = (0..j).map(|i| E::Whiteout(&names[i][j])).collect();
            entries.extend((j + 1..LAYERS).map(|k| E::File(&names[j][k], 0o644, &contents[j][k])));
            if j + 1 == LAYERS {
                entries.push(E::File("keep", 0o644, b"k"));
            }
            entries
        })
        .collect();
    write_layout(&img, &layers);
    // A user and a health check: the waste is all there is.
    let layout = Layout { dir: img.clone() };
    let mut config = layout.config();
    config["config"] = json!({"User": "1000", "Healthcheck": {"Test": ["CMD", "true"]}});
    layout.put_config(&config);
    let expected = LAYERS * (LAYERS - 1) / 2;
    let r = run_in(
        dir.path(),
        &["analyze", &img.to_string_lossy(), "--format", "markdown"],
    );
    r.expect_code(0);
    let md = &r.stdout;
    let chars = md.chars().count();
    assert!(chars <= 65_536, "{chars} characters");
    assert!(chars > 60_000, "the limit is used: {chars}");
    let rows = md
        .lines()
        .filter(|l| l.starts_with("| note |") || l.starts_with("| warning |"))
        .count();
    let line = md
        .lines()
        .find(|l| l.contains("more not shown"))
        .unwrap_or_else(|| panic!("no closing line: {}", &md[md.len().saturating_sub(500)..]));
    let left: usize = line
        .trim_start_matches('*')
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert_eq!(rows + left, expected, "{line}");
    assert!(line.contains("65536"), "{line}");
    // The heading counts every finding, not only those shown.
    assert!(
        md.contains(&format!("**{expected} findings")),
        "{}",
        &md[..300]
    );
}

/// Without `--fail-on` findings fail nothing; with it, `ci` exits 1 exactly when a finding at
/// or above it exists (from the analysis' JSON) and is not allowed.
#[test]
fn fail_on_fails_on_findings_at_or_above_it() {
    let img = image_arg("packages-oci");
    let (analysis, _) = analyze_json(&[&img]);
    let severities: Vec<u8> = analysis["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| rank(f["severity"].as_str().expect("severity")))
        .collect();
    // dive's rules off: only the gate decides.
    let off = [
        "--lowestEfficiency",
        "disabled",
        "--highestUserWastedPercent",
        "disabled",
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let code = |extra: &[&str]| {
        let mut args = vec!["ci", img.as_str()];
        args.extend(off);
        args.extend(extra);
        run_in(dir.path(), &args).code
    };
    assert_eq!(code(&[]), 0);
    for (flag, level) in [("note", 0), ("warning", 1), ("error", 2)] {
        let expected = i32::from(severities.iter().any(|&s| s >= level));
        assert_eq!(code(&["--fail-on", flag]), expected, "--fail-on {flag}");
    }
    // The JSON and the text say which failed it.
    let r = run_in(dir.path(), &{
        let mut a = vec![
            "ci",
            img.as_str(),
            "--fail-on",
            "warning",
            "--format",
            "json",
        ];
        a.extend(off);
        a
    });
    r.expect_code(1);
    let ci = r.json();
    assert_eq!(ci["pass"], false);
    let warnings: Vec<&Value> = analysis["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| rank(f["severity"].as_str().unwrap_or("note")) >= 1)
        .collect();
    let failed = ci["gate"]["findings"].as_array().expect("gate findings");
    assert_eq!(failed.len(), warnings.len());
    assert!(failed.iter().all(|f| f["fails"] == true));
    assert_eq!(ci["gate"]["failed"], warnings.len());
    let text = run_in(dir.path(), &{
        let mut a = vec!["ci", img.as_str(), "--fail-on", "warning"];
        a.extend(off);
        a
    });
    for f in &warnings {
        let line = format!("  FAIL: warning {}: ", f["id"].as_str().expect("id"));
        assert!(text.stdout.contains(&line), "{line}\n{}", text.stdout);
    }
    assert!(text.stdout.contains("Result: FAIL"), "{}", text.stdout);
}

/// The allow-list: every finding at the gate allowed (by id, in `.strata.yaml` or in
/// `.dive-ci`'s `allow:`) passes, each still listed, marked allowed with its reason; a path
/// glob that matches none of a finding's paths allows nothing; an entry without a reason is
/// an error naming the file and line.
#[test]
fn the_allow_list_lets_findings_through_with_a_reason() {
    let img = image_arg("overlay-oci");
    let (analysis, _) = analyze_json(&[&img]);
    let findings = analysis["findings"].as_array().expect("findings");
    let mut ids: Vec<&str> = findings.iter().filter_map(|f| f["id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let entries: String = ids
        .iter()
        .map(|id| format!("  - id: {id}\n    reason: accepted for {id}\n"))
        .collect();
    let ci = |dir: &Path| {
        run_in(
            dir,
            &[
                "ci",
                &img,
                "--fail-on",
                "note",
                "--lowestEfficiency",
                "disabled",
                "--highestUserWastedPercent",
                "disabled",
                "--format",
                "json",
            ],
        )
    };
    for file in [".strata.yaml", ".dive-ci"] {
        let dir = tempfile::tempdir().expect("tempdir");
        // Without the list, every finding fails the gate.
        ci(dir.path()).expect_code(1);
        fs::write(dir.path().join(file), format!("allow:\n{entries}")).expect("write");
        let r = ci(dir.path());
        r.expect_code(0);
        assert!(!r.stderr.contains("unknown key"), "{file}: {}", r.stderr);
        let doc = r.json();
        let judged = doc["gate"]["findings"].as_array().expect("findings");
        assert_eq!(doc["gate"]["allowed"], findings.len());
        for f in judged {
            let id = f["id"].as_str().expect("id");
            assert_eq!(
                f["allowed"]["reason"],
                json!(format!("accepted for {id}")),
                "{file}"
            );
            let line = ids.iter().position(|i| *i == id).expect("listed") * 2 + 2;
            assert_eq!(f["allowed"]["at"], json!(format!("{file}:{line}")));
            assert_eq!(f["fails"], false);
        }
    }
    // A glob that none of a finding's paths match allows nothing: that kind fails again.
    let with_paths = findings
        .iter()
        .find(|f| f["paths"].as_array().is_some_and(|p| !p.is_empty()))
        .expect("a finding with paths");
    let id = with_paths["id"].as_str().expect("id");
    let dir = tempfile::tempdir().expect("tempdir");
    let narrowed = entries.replace(
        &format!("  - id: {id}\n"),
        &format!("  - id: {id}\n    path: /nowhere/**\n"),
    );
    fs::write(
        dir.path().join(".strata.yaml"),
        format!("allow:\n{narrowed}"),
    )
    .expect("write");
    let r = ci(dir.path());
    r.expect_code(1);
    let doc = r.json();
    let failed: Vec<&str> = doc["gate"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["fails"] == true)
        .filter_map(|f| f["id"].as_str())
        .collect();
    let expected = findings.iter().filter(|f| f["id"] == id).count();
    assert_eq!(failed.len(), expected);
    assert!(failed.iter().all(|f| *f == id));
    // And one that matches every path of those findings allows them again.
    let all_paths = entries.replace(
        &format!("  - id: {id}\n"),
        &format!("  - id: {id}\n    path: /**\n"),
    );
    fs::write(
        dir.path().join(".strata.yaml"),
        format!("allow:\n{all_paths}"),
    )
    .expect("write");
    let paths_only = findings
        .iter()
        .filter(|f| f["id"] == id)
        .all(|f| f["paths"].as_array().is_some_and(|p| !p.is_empty()));
    ci(dir.path()).expect_code(if paths_only { 0 } else { 1 });
    // No reason: exit 2, one line naming the file and the entry's line.
    fs::write(
        dir.path().join(".strata.yaml"),
        "# allowed\nallow:\n  - id: runs-as-root\n",
    )
    .expect("write");
    let r = ci(dir.path());
    let line = assert_one_line_error(&r, &[".strata.yaml:3", "reason"]);
    assert!(line.contains("runs-as-root"), "{line}");
}

/// The JSON of `analyze` is unchanged by all this: no gate marks outside `ci`.
#[test]
fn analyze_json_has_no_gate_marks() {
    let (analysis, _) = analyze_json(&[&image_arg("packages-oci")]);
    for f in analysis["findings"].as_array().expect("findings") {
        assert!(
            f.get("allowed").is_none() && f.get("fails").is_none(),
            "{f}"
        );
    }
}
