//! The complete error line for bad inputs, byte for byte: each input is made here (from the
//! committed images, or from nothing), and its line is written by hand from what the input is.
//!
//! The other tests check that a refusal is one line holding some words (`bad_input.rs`); this
//! table pins the whole line and the exit code 2, so that a refactor of the error types keeps
//! every message as it is. Each line follows the project's rule: one line, naming the file,
//! layer or blob, and saying what is wrong. A line that must change changes here, by hand.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::Path;

use crate::fixtures::compress::{gzip, zstd};
use crate::fixtures::digest::sha256;
use crate::fixtures::layout::{GZIP_LAYER, Layout};
use crate::fixtures::run::{run, strata};
use crate::fixtures::tar::{E, tar_of, ustar_header};
use crate::fixtures::{image, oracle, testdata};

/// One bad input: the command line, the environment strata gets on top of the clean one, and
/// the one line it must print (without `strata: error: ` and the line feed).
struct Case {
    name: &'static str,
    args: Vec<OsString>,
    env: Vec<(&'static str, String)>,
    stdin: Vec<u8>,
    line: String,
}

fn case(name: &'static str, args: &[&dyn AsRef<std::ffi::OsStr>], line: String) -> Case {
    Case {
        name,
        args: args.iter().map(|a| a.as_ref().to_os_string()).collect(),
        env: Vec::new(),
        stdin: Vec::new(),
        line,
    }
}

/// `strata analyze PATH`.
fn analyze(name: &'static str, path: &Path, line: String) -> Case {
    case(name, &[&"analyze", &path], line)
}

/// What strata says of a file or directory that is no image it can read.
const NOT_AN_IMAGE: &str = "not a container image: expected an OCI layout directory, or a tar \
                            archive from docker save, podman save or skopeo (oci-archive / \
                            docker-archive), plain or gzip- or zstd-compressed";

/// XORs one byte of a file with 0xff.
fn flip(path: &Path, at: usize) {
    let mut bytes = fs::read(path).expect("read");
    bytes[at] ^= 0xff;
    fs::write(path, bytes).expect("write");
}

/// Index of the layer the layout cases break: L2, which ships every wasted byte.
const L: usize = 2;

/// A fresh copy of the committed overlay layout under `dir/NAME`.
fn overlay(dir: &Path, name: &str) -> Layout {
    Layout::copy_of("overlay-oci", &dir.join(name))
}

/// L2's diff_id, and its `<hex>.tar` member in `overlay-docker.tar`: (start, size) of its data.
fn docker_l2_member() -> (String, String, usize, usize) {
    let diff_id = oracle("overlay")["layer_list"][L]["diff_id"]
        .as_str()
        .expect("diff_id")
        .to_string();
    let member = format!("{}.tar", diff_id.trim_start_matches("sha256:"));
    let mut archive = tar::Archive::new(fs::File::open(image("overlay-docker.tar")).expect("open"));
    let (start, size) = archive
        .entries()
        .expect("entries")
        .map(|e| e.expect("entry"))
        .find(|e| e.path().expect("path").to_str() == Some(member.as_str()))
        .map(|e| (e.raw_file_position(), e.size()))
        .expect("the layer member");
    let fits = |n: u64| usize::try_from(n).expect("fits");
    (diff_id, member, fits(start), fits(size))
}

/// Every case, its input written under `dir`.
fn cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let at = |name: &str| dir.join(name);
    let shown = |p: &Path| p.display().to_string();

    // ----------------------------------------------------------------- files that are no image
    let p = at("no-such-image.tar");
    cases.push(analyze(
        "missing file",
        &p,
        format!("{}: No such file or directory (os error 2)", shown(&p)),
    ));

    let p = at("empty.tar");
    fs::write(&p, b"").expect("write");
    cases.push(analyze(
        "empty file",
        &p,
        format!("{}: {NOT_AN_IMAGE}", shown(&p)),
    ));

    let p = at("notes.txt");
    fs::write(&p, "not the layers you are looking for\n".repeat(40)).expect("write");
    cases.push(analyze(
        "text file",
        &p,
        format!("{}: {NOT_AN_IMAGE}", shown(&p)),
    ));

    let p = at("somedir");
    fs::create_dir(&p).expect("mkdir");
    fs::write(p.join("README"), "hello").expect("write");
    cases.push(analyze(
        "directory that is no layout",
        &p,
        format!(
            "{}: not an image directory: expected an OCI layout (oci-layout and index.json), a \
             skopeo dir: layout or an extracted docker save (manifest.json)",
            shown(&p)
        ),
    ));

    let p = at("files.tar");
    fs::write(&p, tar_of(&[E::File("hello.txt", 0o644, b"hello\n")])).expect("write");
    cases.push(analyze(
        "tar that is no image",
        &p,
        format!(
            "{}: a tar archive, but not an image: it has neither manifest.json (docker save) \
             nor index.json (oci-archive)",
            shown(&p)
        ),
    ));

    let p = at("notes.gz");
    fs::write(&p, gzip(&b"hello\n".repeat(200))).expect("write");
    cases.push(analyze(
        "gzip of no tar",
        &p,
        format!(
            "{}: not a container image: gzip-compressed data that is not a tar archive; \
             expected an OCI layout directory, or a tar archive from docker save, podman save \
             or skopeo (oci-archive / docker-archive), plain or gzip- or zstd-compressed",
            shown(&p)
        ),
    ));

    let p = at("image.tar.xz");
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    xz.resize(600, 0);
    fs::write(&p, &xz).expect("write");
    cases.push(analyze(
        "xz archive",
        &p,
        format!(
            "{}: the archive is xz-compressed; strata reads tar archives, plain or gzip- or \
             zstd-compressed: decompress it first (xz -dc {} > image.tar)",
            shown(&p),
            shown(&p)
        ),
    ));

    let mut c = case(
        "text on stdin",
        &[&"analyze", &"-"],
        format!("stdin: {NOT_AN_IMAGE}"),
    );
    c.stdin = b"hello\n".to_vec();
    cases.push(c);

    // --------------------------------------------------------------------- damaged archives
    let docker = fs::read(image("overlay-docker.tar")).expect("read");

    // A zstd stream cut in half: the line names the member being read where the stream ends,
    // found here by decompressing what is left with libzstd and walking the tar.
    let p = at("cut.tar.zst");
    let zst = zstd(&docker, 3);
    let cut = &zst[..zst.len() / 2];
    fs::write(&p, cut).expect("write");
    let ends_at = zstd_prefix_len(cut);
    cases.push(analyze(
        "zstd archive cut short",
        &p,
        format!(
            "{}: {}: corrupt tar stream: the archive's zstd stream: incomplete frame",
            shown(&p),
            member_at(&docker, ends_at)
        ),
    ));

    let p = at("crc.tar.gz");
    let mut gz = gzip(&docker);
    let crc = gz.len() - 8; // RFC 1952: CRC-32, then ISIZE, end the member
    gz[crc] ^= 0xff;
    fs::write(&p, &gz).expect("write");
    cases.push(analyze(
        "gzip archive with a wrong CRC-32",
        &p,
        format!(
            "{}: corrupt gzip stream after the tar's end: the archive's gzip stream: member 1: \
             CRC-32 checksum mismatch",
            shown(&p)
        ),
    ));

    let (diff_id, member, start, size) = docker_l2_member();
    let p = at("cut.tar");
    fs::write(&p, &docker[..start + size / 2]).expect("write");
    cases.push(analyze(
        "docker archive cut in a layer",
        &p,
        format!(
            "{}: archive is truncated: member {member} runs past the end",
            shown(&p)
        ),
    ));

    let p = at("flipped.tar");
    let mut flipped = docker.clone();
    // The middle of L2's tar is inside app/big.bin's data, not a header.
    flipped[start + size / 2] ^= 0xff;
    let found = sha256(&flipped[start..start + size]);
    fs::write(&p, &flipped).expect("write");
    cases.push(analyze(
        "docker archive layer with a flipped byte",
        &p,
        format!("layer {L} ({member}): diff_id mismatch: expected {diff_id}, found {found}"),
    ));

    // --------------------------------------------------------------------- OCI layouts
    let l = overlay(dir, "missing-blob");
    let digest = l.layer_digests()[L].clone();
    fs::remove_file(l.blob_path(&digest)).expect("rm");
    cases.push(analyze(
        "missing layer blob",
        &l.dir,
        format!(
            "layer {L} ({digest}): blob is missing from {}",
            shown(&l.dir)
        ),
    ));

    let l = overlay(dir, "corrupt-gzip");
    let digest = l.layer_digests()[L].clone();
    flip(&l.blob_path(&digest), 30);
    let damaged = sha256(&fs::read(l.blob_path(&digest)).expect("read"));
    cases.push(analyze(
        "corrupt deflate data",
        &l.dir,
        format!(
            "layer {L} ({digest}): corrupt gzip blob: corrupt gzip stream: member 1: corrupt \
             deflate stream; blob digest mismatch: expected {digest}, found {damaged}"
        ),
    ));

    let l = overlay(dir, "other-blob");
    let digests = l.layer_digests();
    let other = digests.last().expect("layers");
    fs::copy(l.blob_path(other), l.blob_path(&digests[L])).expect("cp");
    cases.push(analyze(
        "layer blob replaced by another",
        &l.dir,
        format!(
            "layer {L} (blobs/sha256/{}): blob digest mismatch: expected {}, found {other}",
            digests[L].trim_start_matches("sha256:"),
            digests[L]
        ),
    ));

    let l = overlay(dir, "diff-id");
    let mut config = l.config();
    let real = config["rootfs"]["diff_ids"][L]
        .as_str()
        .expect("diff_id")
        .to_string();
    let wrong = sha256(b"not the tar of this layer");
    config["rootfs"]["diff_ids"][L] = wrong.clone().into();
    l.put_config(&config);
    cases.push(analyze(
        "diff_id mismatch",
        &l.dir,
        format!(
            "layer {L} (blobs/sha256/{}): diff_id mismatch: expected {wrong}, found {real}",
            l.layer_digests()[L].trim_start_matches("sha256:")
        ),
    ));

    let l = overlay(dir, "index-json");
    // The value is missing at line 4, column 16.
    fs::write(
        l.dir.join("index.json"),
        "{\n  \"schemaVersion\": 2,\n  \"manifests\": [\n    {\"digest\": }\n  ]\n}\n",
    )
    .expect("write");
    cases.push(analyze(
        "index.json that is no JSON",
        &l.dir,
        format!(
            "{}: index.json: invalid JSON: expected value at line 4 column 16",
            shown(&l.dir)
        ),
    ));

    // oci-layout and blobs/ are only in layouts: the one file missing is the one to name.
    let l = overlay(dir, "no-index");
    fs::remove_file(l.dir.join("index.json")).expect("rm");
    cases.push(analyze(
        "layout without index.json",
        &l.dir,
        format!(
            "{}: index.json: missing; the directory has oci-layout and blobs/, so it is meant \
             to be an OCI layout, and a layout lists its images in index.json",
            shown(&l.dir)
        ),
    ));

    let l = overlay(dir, "only-blobs");
    fs::remove_file(l.dir.join("index.json")).expect("rm");
    fs::remove_file(l.dir.join("oci-layout")).expect("rm");
    cases.push(analyze(
        "blobs without index.json",
        &l.dir,
        format!(
            "{}: index.json: missing; the directory has blobs/, so it is meant to be an OCI \
             layout, and a layout lists its images in index.json",
            shown(&l.dir)
        ),
    ));

    let p = at("empty-oci");
    fs::create_dir(&p).expect("mkdir");
    cases.push(case(
        "oci: directory without index.json",
        &[&"analyze", &format!("oci:{}", shown(&p))],
        format!(
            "{}: index.json: missing; it was named with oci:, so it is meant to be an OCI \
             layout, and a layout lists its images in index.json",
            shown(&p)
        ),
    ));

    let l = overlay(dir, "index-empty");
    let mut index = l.index();
    index["manifests"] = serde_json::json!([]);
    l.put_index(&index);
    cases.push(analyze(
        "index.json listing nothing",
        &l.dir,
        format!("{}: index.json: lists no images", shown(&l.dir)),
    ));

    // serde reads a struct from a list as well, so `[]` parsed as an index listing nothing.
    let l = overlay(dir, "index-list");
    fs::write(l.dir.join("index.json"), "[]\n").expect("write");
    cases.push(analyze(
        "index.json that is a list",
        &l.dir,
        format!(
            "{}: index.json: not a JSON object but a list",
            shown(&l.dir)
        ),
    ));

    let l = overlay(dir, "manifest-list");
    l.put_manifest(&serde_json::json!([]));
    cases.push(analyze(
        "manifest that is a list",
        &l.dir,
        format!(
            "{}: manifest {}: not a JSON object but a list",
            shown(&l.dir),
            l.manifest_digest()
        ),
    ));

    let l = overlay(dir, "config-json");
    // A list left open: the text ends at line 4, column 0.
    let config = b"{\n  \"architecture\": \"amd64\",\n  \"rootfs\": [\n";
    l.put_config_bytes(config);
    cases.push(analyze(
        "config that is no JSON",
        &l.dir,
        format!(
            "{}: config {}: invalid JSON: EOF while parsing a list at line 4 column 0",
            shown(&l.dir),
            sha256(config)
        ),
    ));

    let l = overlay(dir, "media-type");
    let media_type = "application/vnd.example.unknown.v1+json";
    let mut index = l.index();
    index["manifests"][0]["mediaType"] = media_type.into();
    l.put_index(&index);
    cases.push(analyze(
        "unknown manifest media type",
        &l.dir,
        format!(
            "{}: manifest {}: unsupported manifest media type {media_type}",
            shown(&l.dir),
            l.manifest_digest()
        ),
    ));

    let l = overlay(dir, "blake3");
    let manifest = fs::read(l.blob_path(&l.manifest_digest())).expect("read");
    let blake3 = format!("blake3:{}", "cd".repeat(32));
    fs::create_dir_all(l.dir.join("blobs/blake3")).expect("mkdir");
    fs::write(l.blob_path(&blake3), &manifest).expect("write");
    let mut index = l.index();
    index["manifests"][0]["digest"] = blake3.clone().into();
    l.put_index(&index);
    cases.push(analyze(
        "manifest digest of an unknown algorithm",
        &l.dir,
        format!(
            "{}: manifest {blake3}: digest {blake3} cannot be verified: unknown digest \
             algorithm blake3 (strata verifies sha256, sha384 and sha512)",
            shown(&l.dir)
        ),
    ));

    let l = overlay(dir, "no-manifest");
    let digest = l.manifest_digest();
    fs::remove_file(l.blob_path(&digest)).expect("rm");
    cases.push(analyze(
        "missing manifest blob",
        &l.dir,
        format!(
            "{}: manifest {digest}: listed in the index but its blob is not in the layout",
            shown(&l.dir)
        ),
    ));

    // `sha256:xyz` keeps to the digest grammar (it is a path under blobs/), but sha256 digests
    // are 64 lowercase hex digits (OCI image spec, "Digests"): the line says so, not "missing".
    let malformed = "malformed digest: a sha256 digest is 64 lowercase hex digits";
    let l = overlay(dir, "manifest-digest");
    let mut index = l.index();
    index["manifests"][0]["digest"] = "sha256:xyz".into();
    l.put_index(&index);
    cases.push(analyze(
        "manifest digest that is no sha256",
        &l.dir,
        format!(
            "{}: manifest sha256:xyz: listed in the index with a {malformed}",
            shown(&l.dir)
        ),
    ));

    let l = overlay(dir, "config-digest");
    let mut manifest = l.manifest();
    manifest["config"]["digest"] = "sha256:xyz".into();
    l.put_manifest(&manifest);
    cases.push(analyze(
        "config digest that is no sha256",
        &l.dir,
        format!(
            "{}: config sha256:xyz: the manifest names it by a {malformed}",
            shown(&l.dir)
        ),
    ));

    let l = overlay(dir, "layer-digest");
    let mut manifest = l.manifest();
    manifest["layers"][L]["digest"] = "sha256:xyz".into();
    l.put_manifest(&manifest);
    cases.push(analyze(
        "layer digest that is no sha256",
        &l.dir,
        format!("layer {L} (sha256:xyz): the manifest names it by a {malformed}"),
    ));

    let l = overlay(dir, "manifest-size");
    let mut index = l.index();
    let size = index["manifests"][0]["size"].as_u64().expect("size");
    index["manifests"][0]["size"] = (size + 1).into();
    l.put_index(&index);
    cases.push(analyze(
        "manifest size mismatch",
        &l.dir,
        format!(
            "{}: manifest {}: size mismatch: expected {}, found {size}",
            shown(&l.dir),
            l.manifest_digest(),
            size + 1
        ),
    ));

    let l = overlay(dir, "config-size");
    let digest = l.config_digest();
    let config = l.blob_path(&digest);
    let mut bytes = fs::read(&config).expect("read");
    let size = bytes.len();
    bytes.push(b' ');
    fs::write(&config, &bytes).expect("write");
    cases.push(analyze(
        "config bytes changed",
        &l.dir,
        format!(
            "{}: config {digest}: size mismatch: expected {size}, found {}",
            shown(&l.dir),
            size + 1
        ),
    ));

    // The last layer replaced by a tar whose one entry claims a megabyte: a 512-byte header
    // and 512 bytes of it, then the stream ends.
    let l = overlay(dir, "short-entry");
    let last = l.layer_digests().len() - 1;
    let mut tar = ustar_header("app/claims.bin", 1_000_000, b'0').to_vec();
    tar.extend_from_slice(&[b'z'; 512]);
    let blob = gzip(&tar);
    l.replace_layer(last, &blob, GZIP_LAYER, &sha256(&tar));
    cases.push(analyze(
        "tar entry longer than its layer",
        &l.dir,
        format!(
            "layer {last} ({}): truncated tar: stream ends at byte 1024 inside an entry's \
             content ({} bytes missing)",
            sha256(&blob),
            1_000_000 - 512
        ),
    ));

    // The last layer replaced by a tar whose first header is a PAX header claiming 4 GiB:
    // the header that is wrong starts at byte 0.
    let l = overlay(dir, "huge-pax");
    let last = l.layer_digests().len() - 1;
    let mut tar = ustar_header("pax", 4 << 30, b'x').to_vec();
    tar.extend_from_slice(&[0; 1024]);
    let blob = gzip(&tar);
    l.replace_layer(last, &blob, GZIP_LAYER, &sha256(&tar));
    cases.push(analyze(
        "PAX header claiming 4 GiB",
        &l.dir,
        format!(
            "layer {last} ({}): bad tar header at byte 0: PAX extended header claims {} bytes, \
             over the {}-byte limit",
            sha256(&blob),
            4u64 << 30,
            1 << 20
        ),
    ));

    // --------------------------------------------------------------------- references
    let multi = image("multi-oci");
    cases.push(case(
        "platform not in the index",
        &[&"analyze", &multi, &"--platform", &"linux/s390x"],
        format!(
            "{}: platform linux/s390x is not in the index; platforms present: {} (choose one \
             with --platform)",
            shown(&multi),
            platforms(&multi).join(", ")
        ),
    ));

    let overlay_oci = image("overlay-oci");
    let refs: Vec<String> = Layout::committed("overlay-oci").index()["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            m["annotations"][REF_NAME]
                .as_str()
                .expect("ref name")
                .to_string()
        })
        .collect();
    cases.push(case(
        "tag not in the layout",
        &[&"analyze", &overlay_oci, &"--tag", &"nope"],
        format!(
            "{}: no image named \"nope\"; references present: {}",
            shown(&overlay_oci),
            refs.join(", ")
        ),
    ));

    cases.push(case(
        "registry reference with capitals",
        &[&"analyze", &"docker://Foo/Bar:1"],
        "Foo/Bar:1: invalid image reference: repository component \"Foo\" must be lowercase \
         letters, digits and separators (`.`, `_`, `-`)"
            .into(),
    ));
    cases.push(case(
        "registry reference with a space in the tag",
        &[&"analyze", &"docker://alpine:bad tag"],
        "alpine:bad tag: invalid image reference: a tag is up to 128 letters, digits, `_`, `.` \
         or `-`"
            .into(),
    ));
    cases.push(case(
        "registry reference with a short digest",
        &[&"analyze", &"docker://alpine@sha256:123"],
        "alpine@sha256:123: invalid image reference: a digest is ALG:HEX with lowercase hex \
         (sha256: 64 digits)"
            .into(),
    ));

    // What strata reads, said where it refuses a transport (the module doc of location.rs
    // and the README list the same).
    let reads = "strata reads registries (docker://), engines (docker-daemon:, podman:) and \
                 files (oci:, oci-archive:, docker-archive:, dir:, or a plain path)";
    for (text, instead) in [
        (
            "registry:ghcr.io/o/app:1",
            "for a registry, write docker://ghcr.io/o/app:1",
        ),
        (
            "containers-storage:alpine",
            "for Podman's store, write podman:alpine",
        ),
        (
            "ostree:img@/ostree/repo",
            "save the image first (skopeo copy ostree:img@/ostree/repo oci:DIR)",
        ),
    ] {
        let scheme = text.split(':').next().expect("a transport");
        cases.push(case(
            "transport strata does not read",
            &[&"analyze", &text],
            format!("{text}: the {scheme}: transport is not supported; {reads}: {instead}"),
        ));
    }

    cases.push(case(
        "unknown scheme",
        &[&"analyze", &"foo://bar/baz"],
        format!("foo://bar/baz: unknown scheme foo://; {reads}"),
    ));
    cases.push(case(
        "https URL",
        &[&"analyze", &"https://ghcr.io/o/app:1"],
        format!(
            "https://ghcr.io/o/app:1: unknown scheme https://; {reads}: for a registry, write \
             docker://ghcr.io/o/app:1"
        ),
    ));

    cases.push(case(
        "registry port over 65535",
        &[&"analyze", &"docker://localhost:99999/a"],
        "localhost:99999/a: invalid image reference: port 99999 is outside 1 to 65535".into(),
    ));

    for (prefix, form) in [
        ("docker://", "docker://[HOST[:PORT]/]REPO[:TAG]"),
        ("docker-daemon:", "docker-daemon:NAME[:TAG]"),
        ("podman:", "podman:NAME[:TAG]"),
    ] {
        cases.push(case(
            "prefix with no reference",
            &[&"analyze", &prefix],
            format!("{prefix}: the image reference is empty (write {form})"),
        ));
    }

    let mut c = case(
        "DOCKER_HOST that is no unix socket",
        &[&"analyze", &"docker-daemon:alpine"],
        "DOCKER_HOST=tcp://127.0.0.1:2375: strata talks to engines over a unix socket only \
         (unix:///path/to/socket)"
            .into(),
    );
    c.env.push(("DOCKER_HOST", "tcp://127.0.0.1:2375".into()));
    cases.push(c);

    // Podman's client reads CONTAINER_HOST (podman-remote(1)); strata's podman: path reads the
    // same, so that is the variable to name. The socket named is not there.
    let socket = at("no-podman.sock");
    let mut c = case(
        "podman: with no socket",
        &[&"analyze", &"podman:alpine"],
        format!(
            "alpine: no Podman engine socket found (tried {}); start the engine, set \
             CONTAINER_HOST=unix:///path/to/socket, or save the image to a file",
            shown(&socket)
        ),
    );
    c.env
        .push(("CONTAINER_HOST", format!("unix://{}", shown(&socket))));
    cases.push(c);

    // --------------------------------------------------------------------- flag values
    // The image does not exist: a flag is refused before anything is read.
    let expect_ratio = "expected a number from 0 to 1 (0.9, or 90%) or `disabled`";
    let expect_size = "expected a size such as 20MB (20×10^6 bytes), 20MiB (20×2^20 bytes) or \
                20000000, or `disabled`";
    cases.push(case(
        "efficiency that is no number",
        &[&"ci", &"/nonexistent/image", &"--lowestEfficiency", &"lots"],
        format!("--lowestEfficiency: `lots` is not a number; {expect_ratio}"),
    ));
    cases.push(case(
        "size with an unknown unit",
        &[
            &"ci",
            &"/nonexistent/image",
            &"--highestWastedBytes",
            &"20 MX",
        ],
        format!("--highestWastedBytes: `20 MX`: unknown size unit `MX`; {expect_size}"),
    ));
    cases.push(case(
        "ratio above 1",
        &[
            &"ci",
            &"/nonexistent/image",
            &"--highestUserWastedPercent",
            &"2",
        ],
        format!(
            "--highestUserWastedPercent: `2` is outside 0 to 1 (ten percent is 0.1 or 10%); \
             {expect_ratio}"
        ),
    ));
    cases.push(case(
        "compare limit without a unit",
        &[
            &"compare",
            &"/nonexistent/a",
            &"/nonexistent/b",
            &"--fail-if-larger",
            &"5",
        ],
        "--fail-if-larger: `5` has no unit: write 5% for a percentage, or a size such as 5MB, \
         5MiB or 5B"
            .into(),
    ));
    cases.push(case(
        "screen too small",
        &[
            &"/nonexistent/image",
            &"--keys",
            &"j",
            &"--print",
            &"--screen",
            &"10x",
        ],
        "--screen 10x: expected WIDTHxHEIGHT, at least 20x10".into(),
    ));

    // --------------------------------------------------------------------- Dockerfiles
    // Read and parsed before any image is opened: the image does not exist.
    let p = at("Dockerfile.missing");
    cases.push(case(
        "missing Dockerfile",
        &[&"analyze", &"/nonexistent/image", &"--dockerfile", &p],
        format!(
            "{}: cannot read the Dockerfile: No such file or directory (os error 2)",
            shown(&p)
        ),
    ));
    let p = image("overlay.oci.tar");
    // The first byte of the archive that is not UTF-8, found here.
    let bytes = fs::read(&p).expect("read");
    let offset = match std::str::from_utf8(&bytes) {
        Err(e) => e.valid_up_to(),
        Ok(_) => panic!("the archive is UTF-8"),
    };
    cases.push(case(
        "an image given as the Dockerfile",
        &[&"ci", &"/nonexistent/image", &"--dockerfile", &p],
        format!(
            "{}: not a Dockerfile: byte {offset} is not UTF-8 text",
            shown(&p)
        ),
    ));
    for (name, text, line) in [
        (
            "unknown instruction",
            "FROM alpine\nRUN true\n\nFORM x\n",
            "4: unknown instruction `FORM`",
        ),
        (
            "unclosed heredoc",
            "FROM alpine\nRUN <<EOF\necho hi\n",
            "2: heredoc `EOF` is never closed",
        ),
        (
            "instruction before FROM",
            "# syntax=docker/dockerfile:1\nCOPY . /app\n",
            "2: COPY before the first FROM (only ARG may come first)",
        ),
    ] {
        let p = at(&format!("{}.Dockerfile", name.replace(' ', "-")));
        fs::write(&p, text).expect("write");
        cases.push(case(
            name,
            &[&"analyze", &"/nonexistent/image", &"--dockerfile", &p],
            format!("{}:{line}", shown(&p)),
        ));
    }
    let p = testdata("compare/program/Dockerfile.multi");
    cases.push(case(
        "no such stage",
        &[
            &"analyze",
            &"/nonexistent/image",
            &"--dockerfile",
            &p,
            &"--target",
            &"test",
        ],
        format!(
            "{}: --target test: no such stage (stages: build, 1)",
            shown(&p)
        ),
    ));

    // --------------------------------------------------------------------- .dive-ci files
    // The line numbers are those of the committed files (testdata/dive-ci).
    for (file, line) in [
        (
            "bad-value",
            format!("3: rules.highestWastedBytes: `20 MX`: unknown size unit `MX`; {expect_size}"),
        ),
        (
            "duplicate",
            "4: `rules.lowestEfficiency` is set twice (first at line 2)".to_string(),
        ),
        (
            "invalid-yaml",
            "4: invalid YAML: while parsing a flow sequence, expected ',' or ']'".to_string(),
        ),
        (
            "list-value",
            "3: `rules.highestWastedBytes` must be a single value, found a list".to_string(),
        ),
        (
            "out-of-range",
            format!(
                "3: rules.lowestEfficiency: `95` is outside 0 to 1 (ten percent is 0.1 or 10%); \
                 {expect_ratio}"
            ),
        ),
        (
            "rules-not-mapping",
            "2: `rules` must be a mapping of rule names to values, found a single value"
                .to_string(),
        ),
        (
            "tab-indent",
            "3: invalid YAML: while scanning a plain scalar, found a tab".to_string(),
        ),
    ] {
        let path = testdata(&format!("dive-ci/{file}.dive-ci"));
        cases.push(case(
            "bad .dive-ci",
            &[&"ci", &"/nonexistent/image", &"--ci-config", &path],
            format!("{}:{line}", shown(&path)),
        ));
    }

    cases
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// How many bytes libzstd decompresses from a stream cut short before it stops.
fn zstd_prefix_len(cut: &[u8]) -> usize {
    let mut decoder = ::zstd::stream::read::Decoder::new(cut).expect("zstd decoder");
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0;
    while let Ok(k) = decoder.read(&mut buf) {
        if k == 0 {
            break;
        }
        n += k;
    }
    n
}

/// The name of the tar member whose header, data or padding holds byte `at` of `tar`.
fn member_at(tar: &[u8], at: usize) -> String {
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().expect("entries") {
        let entry = entry.expect("entry");
        let header = usize::try_from(entry.raw_header_position()).expect("fits");
        let data = usize::try_from(entry.raw_file_position()).expect("fits");
        let end = data + usize::try_from(entry.size()).expect("fits").div_ceil(512) * 512;
        if (header..end).contains(&at) {
            return entry.path().expect("path").to_string_lossy().into_owned();
        }
    }
    panic!("byte {at} is in no member");
}

/// The platforms of a multi-platform layout, `os/arch[/variant]`, in its nested index's order.
fn platforms(layout: &Path) -> Vec<String> {
    let l = Layout {
        dir: layout.to_path_buf(),
    };
    let nested = crate::fixtures::read_json(&l.blob_path(&l.manifest_digest()));
    nested["manifests"]
        .as_array()
        .expect("nested index lists manifests")
        .iter()
        .map(|m| {
            let p = &m["platform"];
            let mut name = format!(
                "{}/{}",
                p["os"].as_str().expect("os"),
                p["architecture"].as_str().expect("architecture")
            );
            if let Some(v) = p["variant"].as_str() {
                name = format!("{name}/{v}");
            }
            name
        })
        .collect()
}

#[test]
fn bad_inputs_print_their_whole_line_and_exit_2() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cases = cases(tmp.path());
    let mut wrong = Vec::new();
    for c in &cases {
        let mut cmd = strata();
        cmd.args(&c.args);
        for (k, v) in &c.env {
            cmd.env(k, v);
        }
        cmd.write_stdin(c.stdin.clone());
        let r = run(&mut cmd);
        let want = format!("strata: error: {}\n", c.line);
        if (r.code, r.stderr.as_str(), r.stdout.as_str()) != (2, want.as_str(), "") {
            wrong.push(format!(
                "{}: exit {}, stdout {} bytes\n  want {want:?}\n  got  {:?}",
                c.name,
                r.code,
                r.stdout.len(),
                r.stderr
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} lines differ:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}
