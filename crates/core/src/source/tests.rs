//! Loader tests across formats: layouts and archives built in temporary directories.

use std::path::Path;

use serde_json::{Value, json};

use super::testutil::{
    Layout, TarBuilder, config, platform, read_all, ref_name, sha256, tar_dir, with,
};
use super::*;
use crate::error::{BadDigest, Codec, Corrupt, LayoutSign, Malformed, NotAnImage, Unsafe};

const L1: &[u8] = b"layer one";
const L2: &[u8] = b"layer two";

/// Opens what `text` names, as the binary does.
fn open(text: &str, options: &OpenOptions) -> Result<Opened> {
    super::open(&Input::parse(text, None)?, options)
}

fn open_ok(spec: &Path) -> Opened {
    open(spec.to_str().unwrap(), &OpenOptions::default()).unwrap()
}

fn open_err(spec: &str, options: &OpenOptions) -> String {
    open_error(spec, options).to_string()
}

/// The error opening what `spec` names gives, as a value.
fn open_error(spec: &str, options: &OpenOptions) -> Error {
    match open(spec, options) {
        Ok(_) => panic!("{spec} opened"),
        Err(e) => e,
    }
}

fn with_platform(p: &str) -> OpenOptions {
    OpenOptions {
        platform: Some(p.to_string()),
        ..OpenOptions::default()
    }
}

fn history() -> Value {
    json!([
        {"created_by": "ADD rootfs", "created": "2024-01-01T00:00:00Z"},
        {"created_by": "ENV A=1", "empty_layer": true},
        {"created_by": "RUN build"},
    ])
}

/// A layout with one two-layer image named `v1`.
fn simple_layout(root: &Path) -> Layout {
    let layout = Layout::new(root);
    let m = layout.image(&[L1, L2], &config(&[L1, L2], history()));
    layout.write_index(vec![with(m, ref_name("v1"))]);
    layout
}

fn layer_bytes(opened: &Opened, i: usize) -> Vec<u8> {
    read_all(opened.store.as_ref(), &opened.image.layers[i].location)
}

#[test]
fn oci_layout_directory() {
    let dir = tempfile::tempdir().unwrap();
    simple_layout(dir.path());
    let image = open_ok(dir.path());
    assert_eq!(image.image.format, Format::OciLayout);
    assert_eq!(image.image.reference.as_deref(), Some("v1"));
    assert_eq!(image.image.layers.len(), 2);
    assert_eq!(layer_bytes(&image, 1), L2);
    assert_eq!(
        image.image.layers[0].digest.as_deref(),
        Some(sha256(L1).as_str())
    );
    assert_eq!(
        image.image.layers[1].diff_id.as_deref(),
        Some(sha256(L2).as_str())
    );
    assert_eq!(
        image.image.layers[1].created_by.as_deref(),
        Some("RUN build")
    );
    assert_eq!(
        image.image.platform.as_ref().unwrap().to_string(),
        "linux/amd64"
    );
    assert!(
        image.image.warnings.is_empty(),
        "{:?}",
        image.image.warnings
    );
}

#[test]
fn oci_archive_and_prefixes_and_refs() {
    let dir = tempfile::tempdir().unwrap();
    let layout_dir = dir.path().join("layout");
    let layout = Layout::new(&layout_dir);
    let a = layout.image(&[L1], &config(&[L1], json!([])));
    let b = layout.image(&[L2], &config(&[L2], json!([])));
    layout.write_index(vec![with(a, ref_name("a")), with(b, ref_name("b"))]);
    let archive = dir.path().join("img.tar");
    tar_dir(&layout_dir, &archive);

    let image = open_ok(&archive);
    assert_eq!(image.image.format, Format::OciArchive);
    assert_eq!(
        image.image.reference.as_deref(),
        Some("a"),
        "first image by default"
    );
    assert!(
        image
            .image
            .warnings
            .iter()
            .any(|w| w.contains("holds 2 images"))
    );
    let d = layout_dir.display();
    let t = archive.display();
    for (spec, want, bytes) in [
        (format!("oci:{d}:b"), Format::OciLayout, L2),
        (format!("{d}:b"), Format::OciLayout, L2),
        (format!("oci-archive:{t}:b"), Format::OciArchive, L2),
        (format!("oci-archive:{t}"), Format::OciArchive, L1),
        (format!("{t}:b"), Format::OciArchive, L2),
    ] {
        let image = open(&spec, &OpenOptions::default()).unwrap();
        assert_eq!(image.image.format, want, "{spec}");
        assert_eq!(layer_bytes(&image, 0), bytes, "{spec}");
        assert_eq!(image.image.source, spec);
    }
    let tag = OpenOptions {
        tag: Some("b".into()),
        ..OpenOptions::default()
    };
    assert_eq!(layer_bytes(&open(&d.to_string(), &tag).unwrap(), 0), L2);

    let err = open_err(&format!("oci:{d}:nope"), &OpenOptions::default());
    assert!(
        err.contains("\"nope\"") && err.contains("references present: a, b"),
        "{err}"
    );
    let err = open_error(&format!("docker-archive:{t}"), &OpenOptions::default());
    assert!(
        matches!(&err, Error::NotAnImage { what, why: NotAnImage::NotDockerArchive } if *what == t.to_string()),
        "{err:?}"
    );
    let err = open_err(&format!("oci:{t}"), &OpenOptions::default());
    assert!(err.contains("oci-archive:"), "{err}");
    let err = open_err(&format!("oci-archive:{d}"), &OpenOptions::default());
    assert!(err.contains("is a directory"), "{err}");
    let err = open_err("containers-storage:alpine", &OpenOptions::default());
    assert!(err.contains("write podman:alpine"), "{err}");
    // dir: is a directory, not a file.
    let err = open_err(&format!("dir:{t}"), &OpenOptions::default());
    assert!(err.contains("dir: expects a directory"), "{err}");
}

#[test]
fn nested_index_platforms_and_attestations() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let amd = layout.image(&[L1], &config(&[L1], json!([])));
    let arm = layout.image(&[L2], &config(&[L2], json!([])));
    let att = layout.image(&[b"attestation"], &json!({}));
    let nested = layout.index(vec![
        with(att.clone(), platform("unknown", "unknown")),
        with(amd, platform("linux", "amd64")),
        with(arm, platform("linux", "arm64")),
        with(
            att,
            json!({"annotations": {"vnd.docker.reference.type": "attestation-manifest"}}),
        ),
    ]);
    // The ref name of an entry inside a nested index does not count.
    let inner = layout.index(vec![with(nested, ref_name("ignored"))]);
    layout.write_index(vec![with(inner, ref_name("app"))]);
    let d = dir.path().to_str().unwrap();

    let arm_image = open(d, &with_platform("linux/arm64")).unwrap();
    assert_eq!(layer_bytes(&arm_image, 0), L2);
    assert_eq!(arm_image.image.reference.as_deref(), Some("app"));
    assert_eq!(arm_image.image.platform.unwrap().to_string(), "linux/arm64");
    assert_eq!(
        layer_bytes(&open(d, &with_platform("linux/amd64")).unwrap(), 0),
        L1
    );
    assert!(open(&format!("{d}:ignored"), &OpenOptions::default()).is_err());

    let err = open_err(d, &with_platform("linux/s390x"));
    assert!(err.contains("linux/s390x"), "{err}");
    assert!(
        err.contains("platforms present: linux/amd64, linux/arm64 ("),
        "attestations are not platforms: {err}"
    );
}

#[test]
fn host_platform_is_the_default_and_absent_platform_errors() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let host = Platform::host();
    let mine = layout.image(&[L1], &config(&[L1], json!([])));
    let other = layout.image(&[L2], &config(&[L2], json!([])));
    let nested = layout.index(vec![
        with(other.clone(), platform("linux", "fakearch")),
        with(mine, platform(&host.os, &host.architecture)),
    ]);
    layout.write_index(vec![nested]);
    assert_eq!(layer_bytes(&open_ok(dir.path()), 0), L1);

    // An index without the host's platform: an error listing what is there.
    let nested = layout.index(vec![
        with(other.clone(), platform("linux", "fakearch")),
        with(other, platform("linux", "otherarch")),
    ]);
    layout.write_index(vec![nested]);
    let err = open_err(dir.path().to_str().unwrap(), &OpenOptions::default());
    assert!(err.contains(&host.to_string()), "{err}");
    assert!(err.contains("linux/fakearch, linux/otherarch"), "{err}");
}

#[test]
fn absent_blobs_of_other_platforms_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let present = layout.image(&[L1], &config(&[L1], json!([])));
    let gone = layout.absent("application/vnd.oci.image.manifest.v1+json", b"elsewhere");
    let gone_index = layout.absent("application/vnd.oci.image.index.v1+json", b"nowhere");
    let nested = layout.index(vec![
        with(gone.clone(), platform("linux", "fakearch")),
        with(present, platform("linux", "otherarch")),
        gone_index,
    ]);
    layout.write_index(vec![nested]);
    // Only one manifest is here: it is taken, whatever the host.
    let image = open_ok(dir.path());
    assert_eq!(layer_bytes(&image, 0), L1);
    // Asking for the absent one says its blobs are missing.
    let err = open_err(
        dir.path().to_str().unwrap(),
        &with_platform("linux/fakearch"),
    );
    assert!(err.contains("listed but its blobs are not here"), "{err}");
    assert!(err.contains("linux/fakearch (blobs absent)"), "{err}");
}

#[test]
fn single_manifest_taken_whatever_platform_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let mut cfg = config(&[L1], json!([]));
    cfg["architecture"] = json!("fakearch");
    let m = layout.image(&[L1], &cfg);
    layout.write_index(vec![m]);
    let image = open_ok(dir.path());
    assert_eq!(image.image.platform.unwrap().architecture, "fakearch");
    assert!(
        open(
            dir.path().to_str().unwrap(),
            &with_platform("linux/fakearch")
        )
        .is_ok()
    );
    let err = open_err(dir.path().to_str().unwrap(), &with_platform("linux/arm64"));
    assert!(err.contains("linux/fakearch, not linux/arm64"), "{err}");
}

#[test]
fn manifest_digest_mismatch_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let m = layout.image(&[L1], &config(&[L1], json!([])));
    let hex = m["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = dir.path().join("blobs/sha256").join(&hex);
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[0] = b' '; // same size, different content
    std::fs::write(&blob, &bytes).unwrap();
    layout.write_index(vec![m]);
    let err = open(dir.path().to_str().unwrap(), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Digest { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("manifest sha256:{hex}")),
        "{err}"
    );
}

#[test]
fn unknown_manifest_type_named_unknown_layer_type_kept() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let cfg = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        config(&[L1], json!([])).to_string().as_bytes(),
    );
    let layer = layout.blob("application/x-mystery", L1);
    let manifest = json!({"schemaVersion": 2, "config": cfg, "layers": [layer]});
    let m = layout.blob(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    let odd = layout.blob("application/vnd.example.thing+json", b"{}");
    layout.write_index(vec![with(m, ref_name("ok")), with(odd, ref_name("odd"))]);
    let image = open_ok(dir.path());
    assert_eq!(
        image.image.layers[0].media_type.as_deref(),
        Some("application/x-mystery")
    );
    assert!(
        image
            .image
            .warnings
            .iter()
            .any(|w| w.contains("application/x-mystery"))
    );
    let err = open_error(
        &format!("{}:odd", dir.path().display()),
        &OpenOptions::default(),
    );
    let Error::NotAnImage {
        why: NotAnImage::UnsupportedMediaType { media_type },
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(media_type, "application/vnd.example.thing+json");
}

#[test]
fn docker_media_types_are_one_family() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let cfg = layout.blob(
        "application/vnd.docker.container.image.v1+json",
        config(&[L1], json!([])).to_string().as_bytes(),
    );
    let layer = layout.blob("application/vnd.docker.image.rootfs.diff.tar.gzip", L1);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": cfg, "layers": [layer],
    });
    let m = layout.blob(
        "application/vnd.docker.distribution.manifest.v2+json",
        manifest.to_string().as_bytes(),
    );
    let list = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [with(m, platform("linux", "amd64"))],
    });
    let list = layout.blob(
        "application/vnd.docker.distribution.manifest.list.v2+json",
        list.to_string().as_bytes(),
    );
    layout.write_index(vec![list]);
    let image = open_ok(dir.path());
    assert_eq!(layer_bytes(&image, 0), L1);
    assert!(
        image.image.warnings.is_empty(),
        "{:?}",
        image.image.warnings
    );
}

#[test]
fn invalid_index_json_names_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    Layout::new(dir.path());
    std::fs::write(dir.path().join("index.json"), "{\n \"manifests\": [,]\n}").unwrap();
    let err = open_err(dir.path().to_str().unwrap(), &OpenOptions::default());
    assert!(err.contains("index.json: invalid JSON"), "{err}");
    assert!(err.contains("line 2 column"), "{err}");
}

/// A legacy `docker save` tar: `<id>/layer.tar`, `<id>.json`; layer 3 repeats layer 1 through a
/// symlink as skopeo writes it.
fn legacy_archive(path: &Path, images: &[(&str, &[&[u8]])]) {
    let mut tar = TarBuilder::new();
    let mut manifest = Vec::new();
    for (tag, layers) in images {
        let cfg = config(layers, json!([]));
        let cfg_bytes = cfg.to_string().into_bytes();
        let cfg_name = format!("{}.json", sha256(&cfg_bytes).trim_start_matches("sha256:"));
        tar = tar.file(&cfg_name, &cfg_bytes);
        let mut names: Vec<String> = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let id = format!("{tag}-{i}").replace([':', '/'], "_");
            let name = format!("{id}/layer.tar");
            match layers[..i].iter().position(|l| l == layer) {
                Some(first) => tar = tar.symlink(&name, &format!("../{}", names[first])),
                None => tar = tar.file(&format!("./{name}"), layer),
            }
            names.push(name);
        }
        manifest.push(json!({"Config": cfg_name, "RepoTags": [tag], "Layers": names}));
    }
    tar.file("manifest.json", json!(manifest).to_string().as_bytes())
        .write(path);
}

#[test]
fn legacy_docker_archive_with_symlinked_layer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("save.tar");
    legacy_archive(&path, &[("app:1", &[L1, L2, L1])]);
    let image = open_ok(&path);
    assert_eq!(image.image.format, Format::DockerArchive);
    assert_eq!(image.image.reference.as_deref(), Some("app:1"));
    assert_eq!(image.image.layers.len(), 3);
    assert_eq!(layer_bytes(&image, 2), L1);
    assert_eq!(
        image.image.layers[2].diff_id.as_deref(),
        Some(sha256(L1).as_str())
    );
    assert!(image.image.config_digest.is_some());
}

#[test]
fn docker_archive_several_images_by_tag() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.tar");
    legacy_archive(
        &path,
        &[("docker.io/library/alpine:3.19", &[L1]), ("tool:2", &[L2])],
    );
    let t = path.display();
    let first = open_ok(&path);
    assert_eq!(layer_bytes(&first, 0), L1);
    assert!(
        first
            .image
            .warnings
            .iter()
            .any(|w| w.contains("holds 2 images"))
    );
    for spec in [
        format!("docker-archive:{t}:tool:2"),
        format!("{t}:tool:2"),
        format!("docker-archive:{t}:@1"),
    ] {
        let image = open(&spec, &OpenOptions::default()).unwrap();
        assert_eq!(layer_bytes(&image, 0), L2, "{spec}");
        assert_eq!(image.image.reference.as_deref(), Some("tool:2"), "{spec}");
    }
    let by_short = open(
        &format!("docker-archive:{t}:alpine:3.19"),
        &OpenOptions::default(),
    );
    let by_short = by_short.unwrap();
    assert_eq!(layer_bytes(&by_short, 0), L1);
    assert_eq!(
        by_short.image.reference.as_deref(),
        Some("docker.io/library/alpine:3.19"),
        "the archive's spelling"
    );
    let err = open_err(
        &format!("docker-archive:{t}:tool:3"),
        &OpenOptions::default(),
    );
    assert!(
        err.contains("tool:3")
            && err.contains("tags present: docker.io/library/alpine:3.19, tool:2"),
        "{err}"
    );
}

/// Docker 25+: `manifest.json` points into `blobs/sha256/`; the OCI half lists the layers in
/// another (wrong) order, and `manifest.json`'s order must win.
#[test]
fn docker25_archive_takes_manifest_json_order() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("save");
    let layout = Layout::new(&root);
    let cfg = config(&[L1, L2], history());
    let m = layout.image(&[L2, L1], &cfg); // the faulty OCI half
    layout.write_index(vec![with(
        m,
        json!({"annotations": {
            "io.containerd.image.name": "docker.io/library/app:latest",
            "org.opencontainers.image.ref.name": "latest"}}),
    )]);
    let hex = |b: &[u8]| sha256(b).trim_start_matches("sha256:").to_string();
    let cfg_hex = hex(cfg.to_string().as_bytes());
    let manifest = json!([{
        "Config": format!("blobs/sha256/{cfg_hex}"),
        "RepoTags": ["app:latest"],
        "Layers": [format!("blobs/sha256/{}", hex(L1)), format!("blobs/sha256/{}", hex(L2))],
    }]);
    std::fs::write(root.join("manifest.json"), manifest.to_string()).unwrap();
    let archive = dir.path().join("save.tar");
    tar_dir(&root, &archive);

    let image = open_ok(&archive);
    assert_eq!(image.image.format, Format::DockerArchiveOci);
    assert_eq!(layer_bytes(&image, 0), L1);
    assert_eq!(layer_bytes(&image, 1), L2);
    assert_eq!(
        image.image.layers[0].digest.as_deref(),
        Some(sha256(L1).as_str())
    );
    assert_eq!(
        image.image.layers[1].created_by.as_deref(),
        Some("RUN build")
    );
    assert_eq!(image.image.reference.as_deref(), Some("app:latest"));
    // The OCI half can still be asked for, and names the image as containerd does.
    let oci = open(
        &format!("oci-archive:{}:app", archive.display()),
        &OpenOptions::default(),
    )
    .unwrap();
    assert_eq!(oci.image.format, Format::OciArchive);
    assert_eq!(layer_bytes(&oci, 0), L2);
    // The extracted directory is read as the same docker save.
    let extracted = open(root.to_str().unwrap(), &OpenOptions::default()).unwrap();
    assert_eq!(extracted.image.format, Format::DockerArchiveOci);
    assert_eq!(layer_bytes(&extracted, 0), L1);
    let forced = open(&format!("oci:{}", root.display()), &OpenOptions::default()).unwrap();
    assert_eq!(forced.image.format, Format::OciLayout);
}

#[test]
fn docker_save_config_digest_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tar");
    let name = format!("{}.json", "0".repeat(64));
    TarBuilder::new()
        .file(&name, b"{}")
        .file("l/layer.tar", L1)
        .file(
            "manifest.json",
            json!([{"Config": name, "Layers": ["l/layer.tar"]}])
                .to_string()
                .as_bytes(),
        )
        .write(&path);
    let err = open(path.to_str().unwrap(), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Digest { .. }), "{err}");
}

/// With `lenient` (`--ignore-errors`) the same archive loads, and the mismatch is noted.
#[test]
fn lenient_goes_past_config_and_manifest_mismatches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tar");
    let name = format!("{}.json", "0".repeat(64));
    let cfg = config(&[L1], json!([])).to_string();
    TarBuilder::new()
        .file(&name, cfg.as_bytes())
        .file("l/layer.tar", L1)
        .file(
            "manifest.json",
            json!([{"Config": name, "Layers": ["l/layer.tar"]}])
                .to_string()
                .as_bytes(),
        )
        .write(&path);
    let lenient = OpenOptions {
        lenient: true,
        ..OpenOptions::default()
    };
    let image = open(path.to_str().unwrap(), &lenient).unwrap();
    assert_eq!(
        image.image.integrity.len(),
        1,
        "{:?}",
        image.image.integrity
    );
    assert!(image.image.integrity[0].contains("digest mismatch"));
    assert_eq!(layer_bytes(&image, 0), L1);

    // An OCI layout whose manifest's size and config's digest disagree with their descriptors.
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let mut m = layout.image(&[L1], &config(&[L1], json!([])));
    m["size"] = json!(m["size"].as_u64().unwrap() + 1);
    layout.write_index(vec![m]);
    let d = dir.path().to_str().unwrap();
    assert!(open_err(d, &OpenOptions::default()).contains("size mismatch"));
    let image = open(d, &lenient).unwrap();
    assert!(
        image.image.integrity[0].contains("size mismatch"),
        "{:?}",
        image.image.integrity
    );
    assert_eq!(layer_bytes(&image, 0), L1);
}

#[test]
fn missing_layer_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tar");
    let cfg = config(&[L1], json!([])).to_string();
    TarBuilder::new()
        .file("c.json", cfg.as_bytes())
        .file(
            "manifest.json",
            json!([{"Config": "c.json", "Layers": ["gone/layer.tar"]}])
                .to_string()
                .as_bytes(),
        )
        .write(&path);
    let err = open_err(path.to_str().unwrap(), &OpenOptions::default());
    assert!(err.starts_with("layer 0 (gone/layer.tar)"), "{err}");
}

#[test]
fn compressed_and_foreign_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    // A gzip header and nothing after it: read as a compressed archive, and found cut short.
    let gz = dir.path().join("save.tar.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).unwrap();
    let err = open_error(gz.to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(&err, Error::Corrupt { what, why: Corrupt::Stream { codec: Codec::Gzip, cause } }
            if what == gz.to_str().unwrap() && cause.contains("truncated")),
        "{err:?}"
    );
    let zst = dir.path().join("save.tar.zst");
    std::fs::write(&zst, [0x28, 0xb5, 0x2f, 0xfd, 0, 0]).unwrap();
    let err = open_error(zst.to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(&err, Error::Corrupt { what, why: Corrupt::Stream { codec: Codec::Zstd, .. } }
            if what == zst.to_str().unwrap()),
        "{err:?}"
    );
    // xz is not read: the command that decompresses it.
    let xz = dir.path().join("save.tar.xz");
    let mut bytes = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    bytes.resize(512, 0);
    std::fs::write(&xz, bytes).unwrap();
    let shown = xz.to_str().unwrap();
    let err = open_error(shown, &OpenOptions::default());
    let foreign = NotAnImage::ForeignCompression {
        compression: "xz".to_string(),
        inside: None,
        command: format!("xz -dc {shown} > image.tar"),
    };
    assert!(
        matches!(&err, Error::NotAnImage { what, why } if what == shown && *why == foreign),
        "{err:?}"
    );

    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let err = open_error(txt.to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(&err, Error::NotAnImage { what, why: NotAnImage::NotContainerImage { inside: None } }
            if what == txt.to_str().unwrap()),
        "{err:?}"
    );

    let plain = dir.path().join("plain.tar");
    TarBuilder::new().file("etc/hosts", b"x").write(&plain);
    let err = open_error(plain.to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(
            err,
            Error::NotAnImage {
                why: NotAnImage::NoManifestNorIndex { stream: false },
                ..
            }
        ),
        "{err:?}"
    );

    let empty_dir = dir.path().join("empty");
    std::fs::create_dir(&empty_dir).unwrap();
    let err = open_error(empty_dir.to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(
            err,
            Error::NotAnImage {
                why: NotAnImage::NotImageDirectory,
                ..
            }
        ),
        "{err:?}"
    );

    let err = open_err(
        &dir.path().join("missing").display().to_string(),
        &OpenOptions::default(),
    );
    assert!(err.contains("missing"), "{err}");
}

#[test]
fn hostile_layer_digest_cannot_escape() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let cfg = layout.blob(
        "application/vnd.oci.image.config.v1+json",
        config(&[L1], json!([])).to_string().as_bytes(),
    );
    let manifest = json!({"schemaVersion": 2, "config": cfg, "layers": [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256/../../../etc:passwd", "size": 1}
    ]});
    let m = layout.blob(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    layout.write_index(vec![m]);
    let err = open_error(dir.path().to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(&err, Error::Unsafe { why: Unsafe::InvalidDigest { digest }, .. }
            if digest == "sha256/../../../etc:passwd"),
        "{err:?}"
    );
}

/// Every way of naming an image, parsed into where it leads, in the documented order of
/// recognition (location.rs): what `--source` adds, what exists on disk (a dangling symlink
/// included), and what is refused.
#[test]
fn inputs_parse_into_locations() {
    use std::path::PathBuf;
    // Relative to the crate root, where cargo runs the tests, so that a path can read as an
    // image name (no leading `/` or `.`); lowercase, as image names are.
    std::fs::create_dir_all("target").unwrap();
    let rel = tempfile::Builder::new()
        .prefix(&format!("strata-location-{}", std::process::id()))
        .rand_bytes(0)
        .tempdir_in("target")
        .unwrap();
    let name = rel.path().file_name().unwrap().to_str().unwrap();
    let r = format!("target/{name}");
    std::os::unix::fs::symlink("nowhere", rel.path().join("alpine")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    std::fs::create_dir(dir.path().join("a:b")).unwrap();
    std::fs::write(dir.path().join("img.tar"), b"").unwrap();
    std::os::unix::fs::symlink("nowhere", dir.path().join("alpine")).unwrap();

    let path = |p: &str, reference: Option<&str>, forced: Option<LocalKind>| Location::Path {
        path: PathBuf::from(p),
        reference: reference.map(str::to_string),
        forced,
    };
    let engine = |engine: Option<Engine>, name: &str| Location::Engine {
        engine,
        name: name.to_string(),
    };
    let hub = |repository: &str, tag: &str| {
        Location::Registry(Reference {
            registry: "docker.io".to_string(),
            repository: repository.to_string(),
            tag: Some(tag.to_string()),
            digest: None,
        })
    };
    use LocalKind::{Dir, DockerArchive, OciArchive, OciLayout};
    let tar = format!("{d}/img.tar");
    let as_typed: Vec<(String, Location)> = vec![
        ("-".into(), Location::Stdin),
        ("docker://alpine".into(), hub("library/alpine", "latest")),
        (
            "docker-daemon:app:1".into(),
            engine(Some(Engine::Docker), "app:1"),
        ),
        // `podman:` is read from the engine, not refused as a transport strata does not read.
        ("podman:app".into(), engine(Some(Engine::Podman), "app")),
        (d.clone(), path(&d, None, None)),
        (format!("{d}:"), path(&d, None, None)),
        // A path that exists is taken as is, colon and all.
        (format!("{d}/a:b"), path(&format!("{d}/a:b"), None, None)),
        (format!("{tar}:b"), path(&tar, Some("b"), None)),
        (
            format!("{d}/gone.tar"),
            path(&format!("{d}/gone.tar"), None, None),
        ),
        // dir: names no image inside: every colon after it is the path's.
        (
            format!("dir:{d}:x"),
            path(&format!("{d}:x"), None, Some(Dir)),
        ),
        (
            format!("oci:{d}:registry:5000/app:1"),
            path(&d, Some("registry:5000/app:1"), Some(OciLayout)),
        ),
        (
            format!("oci-archive:{tar}"),
            path(&tar, None, Some(OciArchive)),
        ),
        (
            format!("docker-archive:{tar}:app:1"),
            path(&tar, Some("app:1"), Some(DockerArchive)),
        ),
        // A name that is no file is asked of an engine; a file name or a path is not.
        (
            "no-such-image-here:1.0".into(),
            engine(None, "no-such-image-here:1.0"),
        ),
        (
            "no-such-image-here.tar".into(),
            path("no-such-image-here.tar", None, None),
        ),
        ("No-Such-Image".into(), path("No-Such-Image", None, None)),
        // A dangling symlink: there, so a path, but nothing opens behind it, so a name that
        // reads as an image name goes to the engine, tag and all.
        (format!("{r}/alpine"), engine(None, &format!("{r}/alpine"))),
        (
            format!("{r}/alpine:3"),
            engine(None, &format!("{r}/alpine:3")),
        ),
        (
            format!("./{r}/alpine"),
            path(&format!("./{r}/alpine"), None, None),
        ),
        (
            format!("{d}/alpine"),
            path(&format!("{d}/alpine"), None, None),
        ),
        (r.clone(), path(&r, None, None)),
    ];
    let with_source: Vec<(String, SourceKind, String, Location)> = vec![
        // --source is the prefix it stands for, written once.
        (
            d.clone(),
            SourceKind::Oci,
            format!("oci:{d}"),
            path(&d, None, Some(OciLayout)),
        ),
        (
            format!("oci:{d}"),
            SourceKind::Oci,
            format!("oci:{d}"),
            path(&d, None, Some(OciLayout)),
        ),
        (
            format!("{tar}:b"),
            SourceKind::OciArchive,
            format!("oci-archive:{tar}:b"),
            path(&tar, Some("b"), Some(OciArchive)),
        ),
        (
            tar.clone(),
            SourceKind::DockerArchive,
            format!("docker-archive:{tar}"),
            path(&tar, None, Some(DockerArchive)),
        ),
        (
            "me/app:2".into(),
            SourceKind::Registry,
            "docker://me/app:2".into(),
            hub("me/app", "2"),
        ),
        (
            "app".into(),
            SourceKind::Docker,
            "docker-daemon:app".into(),
            engine(Some(Engine::Docker), "app"),
        ),
        (
            "app".into(),
            SourceKind::Podman,
            "podman:app".into(),
            engine(Some(Engine::Podman), "app"),
        ),
    ];
    let cases = as_typed
        .into_iter()
        .map(|(text, location)| (text.clone(), None, text, location))
        .chain(
            with_source
                .into_iter()
                .map(|(text, kind, typed, location)| (text, Some(kind), typed, location)),
        );
    for (text, forced, typed, location) in cases {
        let input =
            Input::parse(&text, forced).unwrap_or_else(|e| panic!("{text} with {forced:?}: {e}"));
        assert_eq!(input, Input { typed, location }, "{text} with {forced:?}");
    }
    for (text, error) in [
        ("", "no image given"),
        (
            "containers-storage:alpine",
            "the containers-storage: transport is not supported",
        ),
        (
            "containers-storage:[overlay@/var/lib/containers/storage]alpine",
            "for Podman's store, write podman:alpine",
        ),
        (
            "registry:alpine",
            "the registry: transport is not supported",
        ),
        ("registry:ghcr.io/o/app:1", "write docker://ghcr.io/o/app:1"),
        ("docker://Alpine", "Alpine: invalid image reference"),
        (
            "foo://bar/baz",
            "foo://bar/baz: unknown scheme foo://; strata reads",
        ),
        ("https://ghcr.io/o/app", "write docker://ghcr.io/o/app"),
    ] {
        let err = Input::parse(text, None).unwrap_err();
        assert!(matches!(err, Error::Usage(_)), "{text}: {err:?}");
        assert!(err.to_string().contains(error), "{text}: {err}");
    }
}

#[test]
fn nesting_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let mut desc = layout.image(&[L1], &config(&[L1], json!([])));
    for _ in 0..7 {
        desc = layout.index(vec![desc]);
    }
    layout.write_index(vec![desc.clone()]);
    assert_eq!(
        layer_bytes(&open_ok(dir.path()), 0),
        L1,
        "7 levels are fine"
    );
    let deeper = layout.index(vec![layout.index(vec![desc])]);
    layout.write_index(vec![deeper]);
    let err = open_error(dir.path().to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(
            err,
            Error::TooMany {
                limit: crate::error::TooMany::IndexDepth { limit: 8 },
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn invalid_manifest_json_names_the_blob() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let m = layout.blob(
        "application/vnd.oci.image.manifest.v1+json",
        b"{\"config\": }",
    );
    layout.write_index(vec![m.clone()]);
    let err = open_err(dir.path().to_str().unwrap(), &OpenOptions::default());
    let digest = m["digest"].as_str().unwrap();
    assert!(
        err.contains(&format!("manifest {digest}: invalid JSON")) && err.contains("column"),
        "{err}"
    );
}

/// Runs `f` on a thread and fails the test if it takes longer than `secs` (a hang is the bug).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(secs))
        .expect("did not finish in time")
}

/// Indexes nested 7 deep, each listing its child 1,000 times: each document is read once, so
/// the walk ends at once instead of visiting 1,000^7 entries.
#[test]
fn repeated_index_entries_are_visited_once() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let mut desc = layout.image(&[L1], &config(&[L1], json!([])));
    for _ in 0..7 {
        desc = layout.index(vec![desc; 1000]);
    }
    layout.write_index(vec![desc; 1000]);
    let root = dir.path().to_path_buf();
    let image = within(60, move || {
        open(root.to_str().unwrap(), &OpenOptions::default())
    });
    assert_eq!(layer_bytes(&image.unwrap(), 0), L1);
}

/// An index of 70,000 platforms, none of them the one asked for: the error stays one short
/// line that says how many it left out.
#[test]
fn a_huge_platform_list_is_cut_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let m = layout.image(&[L1], &config(&[L1], json!([])));
    let entries: Vec<Value> = (0..70_000)
        .map(|i| {
            let mut d = with(m.clone(), platform("linux", &format!("arch{i}")));
            // Distinct documents, as a hostile index would list them.
            d["digest"] = json!(format!("sha256:{:064x}", i));
            d
        })
        .collect();
    let index = layout.index(entries);
    layout.write_index(vec![index]);
    let d = dir.path().to_str().unwrap().to_string();
    let err = within(60, move || open_err(&d, &with_platform("linux/s390x")));
    assert!(err.len() < 2_000, "{} bytes: {}", err.len(), &err[..300]);
    assert!(err.contains("… and 69988 more"), "{err}");
    assert!(!err.contains('\n'));
}

/// Descriptors of one index that differ only in their platform do not make it expand again:
/// each nested index is read and walked once.
#[test]
fn an_index_listed_under_many_platforms_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    let mut desc = layout.image(&[L1], &config(&[L1], json!([])));
    for level in 0..7 {
        let children: Vec<Value> = (0..300)
            .map(|i| with(desc.clone(), platform("linux", &format!("a{level}x{i}"))))
            .collect();
        desc = layout.index(children);
    }
    layout.write_index(vec![desc]);
    let d = dir.path().to_str().unwrap().to_string();
    let err = within(60, move || open_err(&d, &with_platform("linux/s390x")));
    assert!(err.contains("platform linux/s390x"), "{err}");
}

/// gzip of `bytes`, by flate2 (the reader strata uses is its own).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_directory_meant_as_a_layout_says_why_index_json_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, oci_layout, blobs, prefix, sign) in [
        ("both", true, true, "", LayoutSign::OciLayoutAndBlobs),
        ("file", true, false, "", LayoutSign::OciLayout),
        ("blobs", false, true, "", LayoutSign::Blobs),
        ("named", false, false, "oci:", LayoutSign::NamedOci),
    ] {
        let root = dir.path().join(name);
        std::fs::create_dir(&root).unwrap();
        if oci_layout {
            std::fs::write(root.join("oci-layout"), "{}").unwrap();
        }
        if blobs {
            std::fs::create_dir(root.join("blobs")).unwrap();
        }
        let err = open_error(
            &format!("{prefix}{}", root.display()),
            &OpenOptions::default(),
        );
        let Error::NotAnImage {
            what,
            why: NotAnImage::MissingIndex { sign: found },
        } = &err
        else {
            panic!("{name}: {err:?}")
        };
        assert_eq!(*what, format!("{}: index.json", root.display()), "{name}");
        assert_eq!(*found, sign, "{name}");
    }
}

/// What came out of gzip is judged as a plain file's first bytes are, and the line names both
/// compressions; a stream's command is a filter, not a file's.
#[test]
fn compressed_data_that_is_no_tar_names_its_compressions() {
    let dir = tempfile::tempdir().unwrap();
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    xz.resize(600, 7);
    let path = dir.path().join("double.tar.gz");
    std::fs::write(&path, gzip(&xz)).unwrap();
    let shown = path.to_str().unwrap();
    let err = open_error(shown, &OpenOptions::default());
    let want = NotAnImage::ForeignCompression {
        compression: "xz".to_string(),
        inside: Some(Codec::Gzip),
        command: "pipe it through xz -dc".to_string(),
    };
    assert!(
        matches!(&err, Error::NotAnImage { what, why } if what == shown && *why == want),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{shown}: the archive is gzip-compressed, and inside xz-compressed; strata reads tar \
             archives, plain or gzip- or zstd-compressed: decompress it first (pipe it through \
             xz -dc)"
        )
    );

    let text = dir.path().join("text.gz");
    std::fs::write(&text, gzip(&[b'a'; 600])).unwrap();
    let err = open_error(text.to_str().unwrap(), &OpenOptions::default());
    assert!(
        matches!(
            err,
            Error::NotAnImage {
                why: NotAnImage::NotContainerImage {
                    inside: Some(Codec::Gzip)
                },
                ..
            }
        ),
        "{err:?}"
    );
}

/// A digest of a known algorithm with the wrong encoding is named as such where its blob is
/// missing, for a manifest an index lists and for a config a manifest names.
#[test]
fn malformed_digests_say_what_the_algorithm_wants() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    layout.write_index(vec![json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:xyz",
        "size": 2,
    })]);
    let err = open_error(dir.path().to_str().unwrap(), &OpenOptions::default());
    let listed = BadDigest::Listed(Malformed {
        algorithm: "sha256",
        digits: 64,
    });
    assert!(
        matches!(&err, Error::BadDigest { what, why }
            if *what == format!("{}: manifest sha256:xyz", dir.path().display()) && *why == listed),
        "{err:?}"
    );

    let config = json!({
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": "sha512:abc",
        "size": 2,
    });
    let manifest = json!({"schemaVersion": 2, "config": config, "layers": []});
    let m = layout.blob(
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    );
    layout.write_index(vec![m]);
    let err = open_error(dir.path().to_str().unwrap(), &OpenOptions::default());
    let named = BadDigest::Named(Malformed {
        algorithm: "sha512",
        digits: 2 * 512 / 8,
    });
    assert!(
        matches!(&err, Error::BadDigest { why, .. } if *why == named),
        "{err:?}"
    );
}

/// A stream's gzip trailer is checked after the tar's end: a CRC-32 that does not match is a
/// corrupt stream, though every member was read.
#[test]
fn a_broken_trailer_after_the_tar_is_corrupt() {
    let tar = TarBuilder::new().file("notes.json", b"{}").bytes();
    let mut gz = gzip(&tar);
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    let err = match stream::read(gz.as_slice(), "s.tar.gz", Default::default()) {
        Ok(_) => panic!("a broken CRC was read"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, Error::Corrupt { what, why: Corrupt::AfterTarEnd { codec: Codec::Gzip, .. } }
            if what == "s.tar.gz"),
        "{err:?}"
    );
}

/// A member read as a layer as the stream went by cannot be opened again; one never there is
/// "not found".
#[test]
fn a_streamed_layer_is_read_once() {
    let tar = TarBuilder::new()
        .file("abc/layer.tar", &TarBuilder::new().bytes())
        .file("manifest.json", b"[]")
        .bytes();
    let (store, scans) = stream::read(tar.as_slice(), "s.tar", Default::default()).unwrap();
    assert!(scans.contains_key("abc/layer.tar"));
    let err = match store.open("abc/layer.tar") {
        Ok(_) => panic!("a streamed layer opened again"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, Error::NotAnImage { what, why: NotAnImage::ReadOnce } if what == "s.tar: abc/layer.tar"),
        "{err:?}"
    );
    assert_eq!(read_all(&store, "manifest.json"), b"[]");
    assert!(store::is_not_found(&store.open("nope").err().unwrap()));
}

/// A member taken for a layer that does not read as one names the member; a compressed
/// archive forced to a format it lacks says which file it has not.
#[test]
fn streamed_members_and_forced_formats_are_named() {
    let mut broken = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    broken.extend_from_slice(&[0xff; 40]);
    let tar = TarBuilder::new().file("abc/layer.tar", &broken).bytes();
    let err = match stream::read(tar.as_slice(), "s.tar", Default::default()) {
        Ok(_) => panic!("a broken layer was read"),
        Err(e) => e,
    };
    assert!(
        matches!(&err, Error::Corrupt { what, why: Corrupt::Layer(crate::error::LayerError::Corrupt {
            codec: Some(Codec::Gzip), after_end: false, .. }) }
            if what == "s.tar: abc/layer.tar"),
        "{err:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    for (prefix, member, why) in [
        ("oci-archive:", "manifest.json", NotAnImage::NotOciArchive),
        (
            "docker-archive:",
            "index.json",
            NotAnImage::NotDockerArchive,
        ),
    ] {
        let path = dir.path().join(format!("{member}.tar.gz"));
        std::fs::write(&path, gzip(&TarBuilder::new().file(member, b"{}").bytes())).unwrap();
        let shown = path.to_str().unwrap();
        let err = open_error(&format!("{prefix}{shown}"), &OpenOptions::default());
        assert!(
            matches!(&err, Error::NotAnImage { what, why: found } if what == shown && *found == why),
            "{prefix}: {err:?}"
        );
    }
}
