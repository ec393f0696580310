//! BuildKit's provenance attestation, found beside the image in every index strata reads: an
//! OCI layout, an oci-archive (read in place, and as a compressed stream), a `docker save`
//! with an index (containerd's image store writes one), in a directory or a tar. The images
//! and their attestation manifests are built here as BuildKit lays them out; the statements
//! are real ones (../shared/fixtures/provenance) with their layer digests renamed to the test
//! image's, or hand-made where only the wiring is at stake. The lines expected are read from
//! the statement's JSON here.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::testutil::{Layout, TarBuilder, config, platform, ref_name, tar_dir, with};
use super::*;
use crate::dockerfile::provenance::Provenance;

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";
const V02_METADATA: &str = "https://mobyproject.org/buildkit@v1#metadata";
const PROVENANCE: &str = "https://slsa.dev/provenance/v0.2";

/// The two layers of cupdate's image, as its statement's layer map names them (the
/// fixtures' README).
const CUPDATE: [&str; 2] = [
    "sha256:1c311bd3ad033186b9bf756644d9333910b3e9e9920889d8004196a79585c10f",
    "sha256:401ece25eae8475528fc25ad424eb5067ccbabd812a83889224ce9c91b981aa8",
];

/// A file of the shared fixtures beside the project; a missing one fails the test.
fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/provenance")
        .join(rel);
    assert!(p.exists(), "{}: missing (the shared fixtures)", p.display());
    p
}

/// cupdate's real statement (SLSA v0.2, mode=max), its image's layers renamed to `layers`.
fn cupdate_for(layers: &[String]) -> Vec<u8> {
    let text = std::fs::read_to_string(shared("cupdate-provenance-v0.2-max.json")).unwrap();
    assert!(text.contains(CUPDATE[0]) && text.contains(CUPDATE[1]));
    text.replace(CUPDATE[0], &layers[0])
        .replace(CUPDATE[1], &layers[1])
        .into_bytes()
}

/// The first line the statement records for the step whose output chain is exactly the
/// first `k + 1` of `layers`.
fn recorded_line(statement: &[u8], layers: &[String], k: usize) -> usize {
    let v: Value = serde_json::from_slice(statement).unwrap();
    let m = &v["predicate"]["metadata"][V02_METADATA];
    let (output, _) = m["layers"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, chains)| {
            chains.as_array().unwrap().iter().any(|c| {
                let digests: Vec<&str> = c
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["digest"].as_str().unwrap())
                    .collect();
                digests == layers[..=k]
            })
        })
        .unwrap();
    let step = output.strip_suffix(":0").unwrap();
    let line = &m["source"]["locations"][step]["locations"][0]["ranges"][0]["start"]["line"];
    usize::try_from(line.as_u64().unwrap()).unwrap()
}

/// A hand-made BuildKit statement: a FROM whose chain is the first layer, a step adding the
/// second at line 2.
fn hand_made(layers: &[String]) -> Vec<u8> {
    let chain = |n: usize| -> Vec<Value> {
        layers[..n]
            .iter()
            .map(|d| json!({"mediaType": GZIP_LAYER, "digest": d, "size": 1}))
            .collect()
    };
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {
            "buildType": "https://mobyproject.org/buildkit@v1",
            "metadata": {V02_METADATA: {
                "source": {"infos": [{"filename": "Dockerfile"}], "locations": {
                    "step0": {"locations": [{"ranges": [{"start": {"line": 1}, "end": {"line": 1}}]}]},
                    "step1": {"locations": [{"ranges": [{"start": {"line": 2}, "end": {"line": 2}}]}]},
                }},
                "layers": {"step0:0": [chain(1)], "step1:0": [chain(2)]},
            }},
        },
    })
    .to_string()
    .into_bytes()
}

/// An image written into a layout: its manifest's descriptor, its layers' digests, its
/// config's, and its attestation manifest's descriptor with the statement it holds.
struct Built {
    manifest: Value,
    layers: Vec<String>,
    config: String,
    attestation: Value,
    statement: Vec<u8>,
    statement_digest: String,
}

/// Writes an image of two gzip layers (as BuildKit pushes them) for `arch`, and its
/// attestation manifest as BuildKit writes it (an image config for `unknown/unknown`, one
/// in-toto layer annotated with its predicate type), holding `statement(layer digests)`.
fn build(layout: &Layout, arch: &str, statement: impl Fn(&[String]) -> Vec<u8>) -> Built {
    build_typed(layout, arch, PROVENANCE, statement)
}

/// [`build`], the attestation's layer annotated with `predicate` as its type.
fn build_typed(
    layout: &Layout,
    arch: &str,
    predicate: &str,
    statement: impl Fn(&[String]) -> Vec<u8>,
) -> Built {
    let tars = [
        TarBuilder::new().file("cupdate", arch.as_bytes()).bytes(),
        TarBuilder::new()
            .dir("etc/")
            .file("etc/ca-certificates.crt", b"certs")
            .bytes(),
    ];
    let descs: Vec<Value> = tars
        .iter()
        .map(|t| layout.blob(GZIP_LAYER, &gzip(t)))
        .collect();
    let layers: Vec<String> = descs
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_string())
        .collect();
    let mut image_config = config(
        &[&tars[0], &tars[1]],
        json!([{"created_by": "COPY a"}, {"created_by": "COPY b"}]),
    );
    image_config["architecture"] = json!(arch);
    let config_desc = layout.blob(CONFIG, image_config.to_string().as_bytes());
    let manifest = json!({
        "schemaVersion": 2, "mediaType": MANIFEST, "config": config_desc, "layers": descs,
    });
    let manifest = layout.blob(MANIFEST, manifest.to_string().as_bytes());
    let statement = statement(&layers);
    let s = with(
        layout.blob(IN_TOTO, &statement),
        json!({"annotations": {"in-toto.io/predicate-type": predicate}}),
    );
    let att_config = json!({"architecture": "unknown", "os": "unknown",
        "rootfs": {"type": "layers", "diff_ids": [s["digest"]]}});
    let att = json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": layout.blob(CONFIG, att_config.to_string().as_bytes()),
        "layers": [s],
    });
    let att = layout.blob(MANIFEST, att.to_string().as_bytes());
    let attestation = with(
        att,
        json!({"platform": {"os": "unknown", "architecture": "unknown"}, "annotations": {
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": manifest["digest"],
        }}),
    );
    Built {
        manifest: with(manifest, platform("linux", arch)),
        layers,
        config: config_desc["digest"].as_str().unwrap().to_string(),
        attestation,
        statement_digest: s["digest"].as_str().unwrap().to_string(),
        statement,
    }
}

/// A layout holding an amd64 image and its attestation in a nested index named `latest`, as
/// `docker buildx build --output type=oci` writes it.
fn layout_of(root: &Path, statement: impl Fn(&[String]) -> Vec<u8>) -> Built {
    layout_of_type(root, PROVENANCE, statement)
}

/// [`layout_of`], the attestation's layer of type `predicate`.
fn layout_of_type(root: &Path, predicate: &str, statement: impl Fn(&[String]) -> Vec<u8>) -> Built {
    let layout = Layout::new(root);
    let built = build_typed(&layout, "amd64", predicate, statement);
    let nested = layout.index(vec![built.manifest.clone(), built.attestation.clone()]);
    layout.write_index(vec![with(nested, ref_name("latest"))]);
    built
}

/// Adds the `manifest.json` of a `docker save` from containerd's image store.
fn add_manifest_json(root: &Path, built: &Built) {
    let path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let entry = json!([{
        "Config": path(&built.config),
        "RepoTags": ["cupdate:latest"],
        "Layers": built.layers.iter().map(|d| path(d)).collect::<Vec<_>>(),
    }]);
    std::fs::write(root.join("manifest.json"), entry.to_string()).unwrap();
}

/// The first line each layer's step records, as strata read it.
fn lines(opened: &Opened) -> Vec<Option<usize>> {
    let p = opened.image.provenance.as_ref().expect("provenance read");
    p.layers
        .iter()
        .map(|l| l.as_ref().and_then(|s| s.lines).map(|(_, line, _)| line))
        .collect()
}

fn open_spec(spec: &str) -> Opened {
    super::open(&Input::parse(spec, None).unwrap(), &OpenOptions::default())
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// cupdate's statement beside the image it attests, in every form of index: each layer's
/// step has the line the statement records (38 and 42), and nothing is warned.
#[test]
#[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
fn the_recorded_lines_are_read_from_every_index() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    let built = layout_of(&dir, cupdate_for);
    let expected: Vec<Option<usize>> = (0..2)
        .map(|k| Some(recorded_line(&built.statement, &built.layers, k)))
        .collect();
    assert_eq!(expected, [Some(38), Some(42)], "the README's table");
    let check = |opened: Opened, form: &str| {
        assert_eq!(lines(&opened), expected, "{form}");
        assert!(
            opened.image.warnings.is_empty(),
            "{form}: {:?}",
            opened.image.warnings
        );
        let files = &opened.image.provenance.as_ref().unwrap().files;
        assert_eq!(files[0].name, "Dockerfile", "{form}");
    };
    check(open_spec(dir.to_str().unwrap()), "layout");

    let archive = tmp.path().join("image.oci.tar");
    tar_dir(&dir, &archive);
    check(open_spec(archive.to_str().unwrap()), "oci-archive");
    let compressed = tmp.path().join("image.oci.tar.gz");
    std::fs::write(&compressed, gzip(&std::fs::read(&archive).unwrap())).unwrap();
    let streamed = open_spec(compressed.to_str().unwrap());
    assert!(
        matches!(streamed.layers, Layers::Read(_)),
        "read as a stream"
    );
    check(streamed, "compressed oci-archive");

    // containerd's `docker save`: manifest.json beside the layout, in a directory and a tar.
    add_manifest_json(&dir, &built);
    let opened = open_spec(dir.to_str().unwrap());
    assert_eq!(opened.image.format, Format::DockerArchiveOci);
    check(opened, "docker save directory");
    let saved = tmp.path().join("saved.tar");
    tar_dir(&dir, &saved);
    let opened = open_spec(saved.to_str().unwrap());
    assert_eq!(
        opened.image.manifest_digest.as_deref(),
        built.manifest["digest"].as_str()
    );
    check(opened, "docker save tar");
}

/// An index of two platforms, each with its attestation: the chosen image's is read, and
/// only its: the other's blobs are absent here, and reading them would be warned about.
#[test]
fn only_the_chosen_images_attestation_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(tmp.path());
    let amd = build(&layout, "amd64", hand_made);
    let arm = build(&layout, "arm64", hand_made);
    for d in [&arm.attestation["digest"], &json!(arm.statement_digest)] {
        let hex = d.as_str().unwrap().trim_start_matches("sha256:");
        std::fs::remove_file(tmp.path().join("blobs/sha256").join(hex)).unwrap();
    }
    let nested = layout.index(vec![
        amd.manifest.clone(),
        amd.attestation.clone(),
        arm.attestation.clone(),
        arm.manifest.clone(),
    ]);
    layout.write_index(vec![nested]);
    let d = tmp.path().to_str().unwrap();
    let opened = open(d, "linux/amd64");
    assert!(
        opened.image.warnings.is_empty(),
        "{:?}",
        opened.image.warnings
    );
    assert_eq!(lines(&opened), [Some(1), Some(2)]);

    // The arm64 image is read; its attestation, listed but absent, is one warning naming it.
    let opened = open(d, "linux/arm64");
    assert_eq!(opened.image.provenance, None);
    let w = &opened.image.warnings;
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].ends_with("listed, but not there"), "{w:?}");
    assert!(
        w[0].contains(arm.attestation["digest"].as_str().unwrap()),
        "{w:?}"
    );
}

fn open(spec: &str, platform: &str) -> Opened {
    let options = OpenOptions {
        platform: Some(platform.to_string()),
        ..OpenOptions::default()
    };
    super::open(&Input::parse(spec, None).unwrap(), &options).unwrap()
}

/// An image without an attestation reads none, and has no provenance.
#[test]
fn an_image_without_an_attestation_has_no_provenance() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = Layout::new(tmp.path());
    let built = build(&layout, "amd64", hand_made);
    layout.write_index(vec![built.manifest.clone()]);
    let opened = open_spec(tmp.path().to_str().unwrap());
    assert_eq!(opened.image.provenance, None);
    assert!(opened.image.warnings.is_empty());
}

/// What is wrong with an attestation is one warning naming its blob, and the image loads as
/// it would without it: a statement that is not what its descriptor says, absent, or no JSON;
/// an attestation manifest absent. An attestation of something else (an SBOM) or another
/// builder's provenance is no provenance, and nothing to warn about.
#[test]
fn a_bad_attestation_is_one_warning_and_the_image_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let hex = |d: &str| d.trim_start_matches("sha256:").to_string();
    let blob = |root: &Path, d: &str| root.join("blobs/sha256").join(hex(d));
    let not_json = |_: &[String]| b"{\"predicate\": ".to_vec();
    let other_builder = |_: &[String]| {
        json!({"predicateType": "https://slsa.dev/provenance/v0.2", "predicate": {
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/container@v1",
        }})
        .to_string()
        .into_bytes()
    };
    // Each case: the predicate type, a name, the statement, and what breaks it (saying what
    // the warning must hold; empty: no warning).
    type Statement = fn(&[String]) -> Vec<u8>;
    type Break = fn(&Path, &Built) -> String;
    let cases: [(&str, &str, Statement, Break); 6] = [
        (PROVENANCE, "altered", hand_made, |root, b| {
            let p = root
                .join("blobs/sha256")
                .join(b.statement_digest.trim_start_matches("sha256:"));
            let mut bytes = std::fs::read(&p).unwrap();
            bytes[0] = b' ';
            std::fs::write(p, bytes).unwrap();
            format!("{}: digest mismatch", b.statement_digest)
        }),
        (PROVENANCE, "absent statement", hand_made, |root, b| {
            let h = b.statement_digest.trim_start_matches("sha256:");
            std::fs::remove_file(root.join("blobs/sha256").join(h)).unwrap();
            format!(
                "provenance statement {}: listed, but not there",
                b.statement_digest
            )
        }),
        (PROVENANCE, "absent manifest", hand_made, |root, b| {
            let d = b.attestation["digest"].as_str().unwrap();
            let h = d.trim_start_matches("sha256:");
            std::fs::remove_file(root.join("blobs/sha256").join(h)).unwrap();
            format!("attestation manifest {d}: listed, but not there")
        }),
        (PROVENANCE, "not JSON", not_json, |_, b| {
            format!("{}: invalid JSON", b.statement_digest)
        }),
        ("https://spdx.dev/Document", "SBOM", hand_made, |_, _| {
            String::new()
        }),
        (PROVENANCE, "another builder", other_builder, |_, _| {
            String::new()
        }),
    ];
    for (predicate, name, statement, break_it) in cases {
        let root = tmp.path().join(name.replace(' ', "-"));
        let built = layout_of_type(&root, predicate, statement);
        let warned = break_it(&root, &built);
        let opened = open_spec(root.to_str().unwrap());
        let w = &opened.image.warnings;
        assert_eq!(opened.image.provenance, None, "{name}");
        if warned.is_empty() {
            assert!(w.is_empty(), "{name}: {w:?}");
        } else {
            assert_eq!(w.len(), 1, "{name}: {w:?}");
            assert!(w[0].contains(&warned), "{name}: {w:?} lacks {warned:?}");
            assert!(
                w[0].starts_with("provenance attestation not read: "),
                "{name}: {w:?}"
            );
        }
    }
    // An SBOM's statement is not even read: altered, it is no mismatch to warn about.
    let root = tmp.path().join("SBOM");
    let built = layout_of_type(&root, "https://spdx.dev/Document", hand_made);
    std::fs::write(blob(&root, &built.statement_digest), b"altered").unwrap();
    assert!(open_spec(root.to_str().unwrap()).image.warnings.is_empty());
}

/// snyk's real `docker save` from containerd's image store (its members, the layer blob
/// aside): the attestation beside the arm64 image is found and read, a mode=min provenance
/// that records no file and no step. Only the index and the attestation are read when an
/// image is opened; the layer blob, not in the fixture, stands in as a few bytes that are
/// never read here (its digest would not match).
#[test]
#[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
fn snyks_containerd_archive_carries_a_mode_min_provenance() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("snyk");
    let fixture = shared("snyk-busybox-attestation-layout");
    copy_tree(&fixture, &dir);
    let layer = "189fdd1508372905e80cc3edcdb56cdc4fa216aebef6f332dd3cba6e300238ea";
    std::fs::write(dir.join("blobs/sha256").join(layer), b"stand-in").unwrap();
    let min = Provenance {
        files: Vec::new(),
        args: Vec::new(),
        layers: vec![None],
    };
    let saved = tmp.path().join("snyk.tar");
    tar_dir(&dir, &saved);
    let oci = format!("oci:{}", dir.display());
    for spec in [dir.to_str().unwrap(), saved.to_str().unwrap(), oci.as_str()] {
        let opened = open_spec(spec);
        assert_eq!(
            opened.image.manifest_digest.as_deref(),
            Some("sha256:cf7d823e4eea96316ae629fb9a45b4211869162a5f5dc1654928c7ca530ed810"),
            "{spec}"
        );
        assert_eq!(opened.image.provenance.as_ref(), Some(&min), "{spec}");
        assert!(
            opened.image.warnings.is_empty(),
            "{spec}: {:?}",
            opened.image.warnings
        );
    }
}

/// Copies a directory tree, its files made writable.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::write(&target, std::fs::read(e.path()).unwrap()).unwrap();
        }
    }
}
