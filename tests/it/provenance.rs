//! BuildKit's provenance attestation end to end: images built here as BuildKit lays them out
//! (an index holding the image manifest and, beside it, an attestation manifest whose in-toto
//! layer is a real statement of ../shared/fixtures/provenance, its layer digests renamed to
//! this image's), read from a layout and from a registry, give every layer the line, stage and
//! instruction the statement records, without `--dockerfile`. The expected values are read
//! from the statement's JSON and its Dockerfile's text here, never from strata's output.

use std::fs;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::fixtures::compress::gzip;
use crate::fixtures::digest::sha256;
use crate::fixtures::layout::{CONFIG, GZIP_LAYER, INDEX, MANIFEST, Oci};
use crate::fixtures::run::{Run, analyze_json, run, strata};
use crate::fixtures::shared_fixture;
use crate::fixtures::tar::{E, tar_of};

const V02_METADATA: &str = "https://mobyproject.org/buildkit@v1#metadata";

/// A statement of the shared fixtures with the digests `renames` names replaced; a bare
/// predicate (as `docker buildx imagetools inspect` prints it) is wrapped in a statement, as
/// an attestation layer holds it.
fn statement(fixture: &str, renames: &[(&str, &str)]) -> Vec<u8> {
    let mut text = fs::read_to_string(shared_fixture(&format!("provenance/{fixture}")))
        .expect("read the statement");
    for (from, to) in renames {
        assert!(text.contains(from), "{fixture} names {from}");
        text = text.replace(from, to);
    }
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    if doc.get("predicate").is_some() {
        return text.into_bytes();
    }
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "subject": [],
        "predicate": doc,
    })
    .to_string()
    .into_bytes()
}

/// What the statement records, read here: BuildKit's metadata.
fn metadata(statement: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(statement).expect("JSON");
    v["predicate"]["metadata"][V02_METADATA].clone()
}

/// The Dockerfile's name and text the statement carries.
fn dockerfile(statement: &[u8]) -> (String, String) {
    let info = &metadata(statement)["source"]["infos"][0];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(info["data"].as_str().expect("data"))
        .expect("base64");
    (
        info["filename"].as_str().expect("filename").to_string(),
        String::from_utf8(bytes).expect("UTF-8"),
    )
}

/// The first and last lines the statement records for the step whose output chain is exactly
/// `chain`, and whether that step reads an image (its LLB op a `docker-image://` source).
fn recorded(statement: &[u8], chain: &[String]) -> (u64, u64, bool) {
    let m = metadata(statement);
    let (output, _) = m["layers"]
        .as_object()
        .expect("layers")
        .iter()
        .find(|(_, chains)| {
            chains.as_array().expect("chains").iter().any(|c| {
                let digests: Vec<&str> = c
                    .as_array()
                    .expect("chain")
                    .iter()
                    .map(|d| d["digest"].as_str().expect("digest"))
                    .collect();
                digests == chain
            })
        })
        .expect("a step of that chain");
    let step = output.strip_suffix(":0").expect("an output");
    let range = &m["source"]["locations"][step]["locations"][0]["ranges"][0];
    let v: Value = serde_json::from_slice(statement).expect("JSON");
    let op = v["predicate"]["buildConfig"]["llbDefinition"]
        .as_array()
        .expect("LLB")
        .iter()
        .find(|o| o["id"] == step)
        .expect("the step's op");
    let image = op["op"]["Op"]["source"]["identifier"]
        .as_str()
        .is_some_and(|i| i.starts_with("docker-image://"));
    (
        range["start"]["line"].as_u64().expect("line"),
        range["end"]["line"].as_u64().expect("line"),
        image,
    )
}

/// The stage (its name, else its index) of the instruction at `line`: the FROM lines above
/// it, and the `AS name` of the last.
fn stage_of(text: &str, line: u64) -> String {
    let froms: Vec<&str> = text
        .lines()
        .take(usize::try_from(line).expect("line"))
        .filter(|l| l.to_ascii_uppercase().starts_with("FROM "))
        .collect();
    let words: Vec<&str> = froms.last().expect("a FROM").split_whitespace().collect();
    match words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
        Some(i) => words[i + 1].to_ascii_lowercase(),
        None => (froms.len() - 1).to_string(),
    }
}

/// An image written as BuildKit exports it: gzip layers of `tars`, a config with `history`,
/// and in one index named `latest` the manifest (linux/amd64) and its attestation manifest
/// (platform `unknown/unknown`, its in-toto layer `statement(layer digests)`). The layers'
/// digests and the statement.
fn attested_image(
    dir: &Path,
    tars: &[Vec<u8>],
    history: Value,
    statement: impl Fn(&[String]) -> Vec<u8>,
) -> (Vec<String>, Vec<u8>) {
    let oci = Oci::new(dir);
    let descs: Vec<Value> = tars
        .iter()
        .map(|t| oci.blob(GZIP_LAYER, &gzip(t)))
        .collect();
    let digests: Vec<String> = descs
        .iter()
        .map(|d| d["digest"].as_str().expect("digest").to_string())
        .collect();
    let diff_ids: Vec<String> = tars.iter().map(|t| sha256(t)).collect();
    let config = json!({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = oci.blob(CONFIG, config.to_string().as_bytes());
    let manifest =
        json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": descs});
    let mut manifest = oci.blob(MANIFEST, manifest.to_string().as_bytes());
    let statement = statement(&digests);
    let mut layer = oci.blob("application/vnd.in-toto+json", &statement);
    layer["annotations"] = json!({"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"});
    let att_config = json!({"architecture": "unknown", "os": "unknown",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}});
    let att = json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": oci.blob(CONFIG, att_config.to_string().as_bytes()),
        "layers": [layer],
    });
    let mut att = oci.blob(MANIFEST, att.to_string().as_bytes());
    att["platform"] = json!({"os": "unknown", "architecture": "unknown"});
    att["annotations"] = json!({
        "vnd.docker.reference.type": "attestation-manifest",
        "vnd.docker.reference.digest": manifest["digest"],
    });
    manifest["platform"] = json!({"os": "linux", "architecture": "amd64"});
    let index = json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [manifest, att]});
    let mut index = oci.blob(INDEX, index.to_string().as_bytes());
    index["annotations"] = json!({"org.opencontainers.image.ref.name": "latest"});
    oci.index(&[index]);
    (digests, statement)
}

/// cupdate's real statement (SLSA v0.2, mode=max; FROM scratch, two layers) on an image of two
/// layers with the history BuildKit writes for the last stage of its Dockerfile.
fn cupdate(dir: &Path) -> (Vec<String>, Vec<u8>) {
    let tars = [
        tar_of(&[E::File("cupdate", 0o755, &[7u8; 1000])]),
        tar_of(&[
            E::Dir("etc/", 0o755),
            E::Dir("etc/ssl/", 0o755),
            E::Dir("etc/ssl/certs/", 0o755),
            E::File("etc/ssl/certs/ca-certificates.crt", 0o644, &[b'c'; 300]),
        ]),
    ];
    let history = json!([
        {"created_by": "COPY --from=builder /src/cupdate cupdate # buildkit", "comment": "buildkit.dockerfile.v0"},
        {"created_by": "COPY --from=builder /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ # buildkit", "comment": "buildkit.dockerfile.v0"},
        {"created_by": "ENV PATH=/", "comment": "buildkit.dockerfile.v0", "empty_layer": true},
        {"created_by": "ENTRYPOINT [\"cupdate\"]", "comment": "buildkit.dockerfile.v0", "empty_layer": true},
    ]);
    attested_image(dir, &tars, history, |digests| {
        statement(
            "cupdate-provenance-v0.2-max.json",
            &[
                (
                    "sha256:1c311bd3ad033186b9bf756644d9333910b3e9e9920889d8004196a79585c10f",
                    &digests[0],
                ),
                (
                    "sha256:401ece25eae8475528fc25ad424eb5067ccbabd812a83889224ce9c91b981aa8",
                    &digests[1],
                ),
            ],
        )
    })
}

/// Each layer's `source` and `base` as the statement records them, computed here.
fn expected_layers(digests: &[String], statement: &[u8]) -> Vec<(Value, bool)> {
    let (file, text) = dockerfile(statement);
    let lines: Vec<&str> = text.lines().collect();
    let chains: Vec<(u64, u64, bool)> = (0..digests.len())
        .map(|k| recorded(statement, &digests[..=k]))
        .collect();
    // The layers up to the last one a FROM's chain ends in are the base image's, named by it.
    let last_from = chains.iter().rposition(|c| c.2);
    (0..digests.len())
        .map(|k| {
            let base = last_from.is_some_and(|b| k <= b);
            let (line, end_line, _) = chains[last_from.filter(|&b| k <= b).unwrap_or(k)];
            let source = json!({
                "file": file,
                "line": line,
                "end_line": end_line,
                "stage": stage_of(&text, line),
                "instruction": lines[usize::try_from(line).expect("line") - 1],
            });
            (source, base)
        })
        .collect()
}

fn actual_layers(a: &Value) -> Vec<(Value, bool)> {
    a["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| (l["source"].clone(), l["base"].as_bool().expect("base")))
        .collect()
}

/// `analyze` names each layer's line, stage and instruction from the image's provenance, with
/// no Dockerfile given: cupdate's two layers come from lines 38 and 42, in a build FROM
/// scratch (no base layer). The text names the lines too, and so does the explorer.
#[test]
#[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
fn analyze_names_the_lines_the_provenance_records() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cupdate");
    let (digests, statement) = cupdate(&dir);
    let expected = expected_layers(&digests, &statement);
    let lines: Vec<&Value> = expected.iter().map(|(s, _)| &s["line"]).collect();
    assert_eq!(lines, [38, 42], "the fixtures' README");

    let spec = dir.to_str().expect("utf-8");
    let (a, r) = analyze_json(&[spec]);
    assert_eq!(r.stderr, "", "nothing to warn about");
    assert_eq!(actual_layers(&a), expected);
    assert_eq!(
        a["image"]["base"],
        json!({"name": null, "layers": 0, "bytes": 0, "compressed_bytes": 0})
    );

    let text = run(strata().arg("analyze").arg(spec));
    text.expect_code(0);
    for (source, _) in &expected {
        let named = format!("Dockerfile:{} {}", source["line"], "COPY --from=builder");
        assert!(text.stdout.contains(&named), "{named}: {}", text.stdout);
    }
    assert!(text.stdout.contains("Base image: no layer (FROM scratch)"));

    // The explorer's layer details: the second layer's line and stage.
    let screen = run(strata()
        .arg(spec)
        .args(["--keys", "j", "--print", "--screen", "140x40"]));
    screen.expect_code(0);
    let second = &expected[1].0;
    let shown = format!(
        "Line Dockerfile:{}, stage {}",
        second["line"],
        second["stage"].as_str().expect("stage")
    );
    assert!(screen.stdout.contains(&shown), "{shown}: {}", screen.stdout);
}

/// zlabjp's real predicate (BuildKit 0.11): the image is its distroless base's layer and the
/// copy of line 10. The base layer is the FROM's (line 8), and the base image is named by it
/// and weighs that layer's bytes.
#[test]
#[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
fn the_base_layer_is_the_froms_and_names_the_base_image() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("zlabjp");
    let base_bytes: &[u8] = &[b'b'; 2048];
    let tars = [
        tar_of(&[E::File("base.bin", 0o644, base_bytes)]),
        tar_of(&[E::File("app", 0o755, &[b'a'; 512])]),
    ];
    let history = json!([
        {"created_by": "bazel build ..."},
        {"created_by": "COPY /app /app # buildkit", "comment": "buildkit.dockerfile.v0"},
    ]);
    let (digests, statement) = attested_image(&dir, &tars, history, |digests| {
        statement(
            "zlabjp-buildkit-predicate-v0.2-max.json",
            &[
                (
                    "sha256:383e1c5dd0c1830143b1230e90292ebd4219911e0512b70d250c8907c4899110",
                    &digests[0],
                ),
                (
                    "sha256:ca23dae0171c399ac2921170e24602172f2a0edc35ab43b7b62d5cd4acbc6339",
                    &digests[1],
                ),
            ],
        )
    });
    let expected = expected_layers(&digests, &statement);
    assert_eq!(
        expected
            .iter()
            .map(|(s, b)| (&s["line"], *b))
            .collect::<Vec<_>>(),
        [(&json!(8), true), (&json!(10), false)],
        "the fixtures' README"
    );
    let (a, r) = analyze_json(&[dir.to_str().expect("utf-8")]);
    assert_eq!(r.stderr, "");
    assert_eq!(actual_layers(&a), expected);
    let from = expected[0].0["instruction"].as_str().expect("FROM");
    let image = from.split_whitespace().nth(1).expect("the FROM's image");
    assert_eq!(a["image"]["base"]["name"], image);
    assert_eq!(a["image"]["base"]["layers"], 1);
    assert_eq!(a["image"]["base"]["bytes"], base_bytes.len());
}

/// With `--dockerfile`, the file given wins: its lines are shown, and where the provenance
/// records other lines a warning says so. The same text as the provenance's warns of nothing.
#[test]
#[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
fn a_dockerfile_given_wins_and_a_disagreement_is_warned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cupdate");
    let (digests, statement) = cupdate(&dir);
    let expected = expected_layers(&digests, &statement);
    let (_, text) = dockerfile(&statement);
    let spec = dir.to_str().expect("utf-8");

    let same = tmp.path().join("Dockerfile");
    fs::write(&same, &text).expect("write");
    let (a, r) = analyze_json(&[spec, "--dockerfile", same.to_str().expect("utf-8")]);
    assert_eq!(r.stderr, "", "the same lines: nothing to warn about");
    for (layer, (source, _)) in a["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .zip(&expected)
    {
        assert_eq!(layer["source"]["line"], source["line"]);
        assert_eq!(layer["source"]["file"], same.to_str().expect("utf-8"));
    }

    // Two lines more at the top: every line is two further down than the provenance says.
    let moved = tmp.path().join("Dockerfile.moved");
    fs::write(&moved, format!("# moved\n# down\n{text}")).expect("write");
    let r: Run = run(strata().arg("analyze").arg(spec).args([
        "--format",
        "json",
        "--dockerfile",
        moved.to_str().expect("utf-8"),
    ]));
    r.expect_code(0);
    let a = r.json();
    for (layer, (source, _)) in a["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .zip(&expected)
    {
        let recorded = source["line"].as_u64().expect("line");
        assert_eq!(layer["source"]["line"], recorded + 2);
    }
    let warned: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.contains("provenance"))
        .collect();
    assert_eq!(warned.len(), 1, "{}", r.stderr);
    assert!(
        warned[0].contains(moved.to_str().expect("utf-8")),
        "{}",
        r.stderr
    );
    let first = expected[0].0["line"].as_u64().expect("line");
    assert!(
        warned[0].contains(&format!("line {} here, {first} there", first + 2)),
        "{}",
        r.stderr
    );
}

/// The same image pushed to a registry (`docker-registry` on loopback, by `skopeo copy
/// --all`, which copies the attestation manifest with the index): the registry's index leads
/// to the same provenance as the layout.
#[test]
#[ignore = "needs ../shared/fixtures, docker-registry, skopeo: bash .ci/setup; run by .ci/run"]
fn a_registry_serves_the_attestation_beside_the_image() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("cupdate");
    let (digests, statement) = cupdate(&dir);
    let expected = expected_layers(&digests, &statement);
    let reg = crate::remote::Registry::start("");
    reg.push(
        &format!("oci:{}:latest", dir.display()),
        "strata/cupdate:latest",
        None,
        true,
    );
    let r = run(strata()
        .arg("analyze")
        .arg(format!("docker://{}/strata/cupdate:latest", reg.host()))
        .args(["--insecure", "--format", "json"])
        .env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .env("DOCKER_CONFIG", "/nonexistent"));
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    let a = r.json();
    assert_eq!(a["image"]["format"], "registry");
    assert_eq!(actual_layers(&a), expected);
}
