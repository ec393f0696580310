//! The base image's layers told apart from the user's: by the base image itself (`--base`,
//! its layers found at the bottom of the image by their diff_ids) and by the builder's
//! annotations. Expected values come from the oracle (`base`: the base layer of the overlay
//! images, walked by Python's tarfile) and from the image documents read here.

use serde_json::Value;

use crate::fixtures::layout::Layout;
use crate::fixtures::run::{analyze_json, run, strata};
use crate::fixtures::{image_arg, oracle};

/// A copy of overlay-oci cut to its first layer: the image every test image is built FROM,
/// as an OCI layout with a manifest digest of its own.
fn base_layout(parent: &std::path::Path) -> Layout {
    let l = Layout::copy_of("overlay-oci", parent);
    let mut config = l.config();
    let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff_ids")[..1].to_vec();
    config["rootfs"]["diff_ids"] = Value::from(diff_ids);
    // History up to the first entry that made a layer.
    let history = config["history"].as_array().expect("history").clone();
    let first = history
        .iter()
        .position(|h| h["empty_layer"] != true)
        .expect("a layer's entry");
    config["history"] = Value::from(history[..=first].to_vec());
    l.put_config(&config);
    let mut manifest = l.manifest();
    let layers = manifest["layers"].as_array().expect("layers")[..1].to_vec();
    manifest["layers"] = Value::from(layers);
    l.put_manifest(&manifest);
    l
}

#[test]
fn base_names_the_layers_it_shares_with_the_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_layout(dir.path());
    let base_arg = base.dir.to_str().expect("utf-8").to_string();
    let (json, r) = analyze_json(&[&image_arg("packages-oci"), "--base", &base_arg]);
    assert_eq!(r.stderr, "", "no warning");
    let want = oracle("base");
    let n = want["layers"].as_u64().expect("layers") as usize;
    let b = &json["image"]["base"];
    assert_eq!(b["layers"], n);
    assert_eq!(b["bytes"], want["shipped_bytes"]);
    assert_eq!(b["name"], base_arg.as_str());
    assert_eq!(b["digest"], base.manifest_digest().as_str());
    // The stored bytes of those layers, as the image's manifest lists them.
    let stored: u64 = Layout::committed("packages-oci").manifest()["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .take(n)
        .map(|l| l["size"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(b["compressed_bytes"], stored);
    let flags: Vec<bool> = json["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["base"] == true)
        .collect();
    let expected: Vec<bool> = (0..flags.len()).map(|k| k < n).collect();
    assert_eq!(flags, expected);
    // The text names it and splits the bytes.
    let t = run(strata()
        .arg("analyze")
        .arg(image_arg("packages-oci"))
        .args(["--base", &base_arg]));
    t.expect_code(0);
    let line = t
        .stdout
        .lines()
        .find(|l| l.starts_with("Base image:"))
        .unwrap_or_else(|| panic!("{}", t.stdout));
    assert!(line.contains(&format!("layer 0 ({base_arg})")), "{line}");
    let mb = want["shipped_bytes"].as_f64().unwrap_or(0.0) / 1e6;
    assert!(line.contains(&format!("{mb:.2} MB in 1 layer;")), "{line}");
}

/// An image whose layers are not all at the image's bottom (a sibling built on the same
/// base, here with 21 layers) is no base: a warning, and nothing claimed.
#[test]
fn an_image_that_is_no_base_is_said_and_changes_nothing() {
    let (json, r) = analyze_json(&[
        &image_arg("packages-oci"),
        "--base",
        &image_arg("overlay-oci"),
    ]);
    let layers = Layout::committed("overlay-oci").layer_digests().len();
    assert!(
        r.stderr
            .contains(&format!("not this image's base: 1 of its {layers} layers")),
        "{}",
        r.stderr
    );
    assert!(json["image"].get("base").is_none(), "{:#}", json["image"]);
    assert!(
        json["layers"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|l| l.get("base").is_none())
    );
    // A base that cannot be read is an error naming it.
    let r = run(strata()
        .arg("analyze")
        .arg(image_arg("packages-oci"))
        .args(["--base", "/nonexistent/base"]));
    r.expect_code(2);
    assert!(
        r.stderr.contains("--base /nonexistent/base"),
        "{}",
        r.stderr
    );
}

/// buildah records the image built FROM in the manifest's annotations: strata shows them,
/// and names the base by them when a Dockerfile tells its layers.
#[test]
fn the_builders_base_annotations_are_shown() {
    let manifest = Layout::committed("packages-oci").manifest();
    let annotations = &manifest["annotations"];
    let name = annotations["org.opencontainers.image.base.name"]
        .as_str()
        .expect("buildah wrote the base's name");
    let (json, _) = analyze_json(&[&image_arg("packages-oci")]);
    for (k, v) in annotations.as_object().expect("annotations") {
        assert_eq!(&json["image"]["annotations"][k], v, "{k}");
    }
    let t = run(strata().arg("analyze").arg(image_arg("packages-oci")));
    assert!(
        t.stdout
            .contains(&format!("Base image: {name}, by the image's annotation")),
        "{}",
        t.stdout
    );
    // With the base given, the annotation's digest is not taken for the base's: the base
    // named is the one read.
    let dir = tempfile::tempdir().expect("tempdir");
    let base = base_layout(dir.path());
    let (json, _) = analyze_json(&[
        &image_arg("packages-oci"),
        "--base",
        base.dir.to_str().expect("utf-8"),
    ]);
    assert_ne!(
        json["image"]["base"]["digest"],
        annotations["org.opencontainers.image.base.digest"]
    );
}

/// `compare` names the base images A and B were built on, as their annotations say, and
/// whether it changed: another manifest digest is another base (an update of the tag).
#[test]
fn compare_says_whether_the_base_changed() {
    let noted = |name: &str, key: &str| -> Value {
        Layout::committed(name).manifest()["annotations"][key].clone()
    };
    let (a, b) = ("compare-service-day1", "compare-service-day2");
    let r = run(strata()
        .arg("compare")
        .arg(image_arg(a))
        .arg(image_arg(b))
        .args(["--format", "json"]));
    r.expect_code(0);
    let json = r.json();
    let base = &json["base"];
    let key_digest = "org.opencontainers.image.base.digest";
    let key_name = "org.opencontainers.image.base.name";
    assert_eq!(base["a"]["digest"], noted(a, key_digest));
    assert_eq!(base["b"]["digest"], noted(b, key_digest));
    assert_eq!(base["a"]["name"], noted(a, key_name));
    assert_eq!(
        base["changed"],
        noted(a, key_digest) != noted(b, key_digest)
    );
    // An image against itself: the same base.
    let r = run(strata().arg("compare").arg(image_arg(a)).arg(image_arg(a)));
    r.expect_code(0);
    let name = noted(a, key_name);
    let digest = noted(a, key_digest);
    let hex = digest
        .as_str()
        .and_then(|d| d.strip_prefix("sha256:"))
        .expect("digest");
    let line = format!(
        "Base the same: {}@{}",
        name.as_str().expect("name"),
        &hex[..12]
    );
    assert!(r.stdout.contains(&line), "{line}\n{}", r.stdout);
    // Images without annotations (a docker archive): no base line at all.
    let r = run(strata()
        .arg("compare")
        .arg(image_arg("overlay-docker.tar"))
        .arg(image_arg("overlay-docker.tar"))
        .args(["--format", "json"]));
    r.expect_code(0);
    assert!(r.json().get("base").is_none());
}
