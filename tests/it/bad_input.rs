//! Inputs strata cannot analyse. Each must end with exit code 2 and exactly one stderr line
//! `strata: error: …` that names the file, layer or blob and says what is wrong — never a
//! panic. Every bad input is built in a temporary directory from the committed images; the
//! layout helpers keep all other digests right so that only the intended thing is broken.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::fixtures::compress::{gzip, layer_tar, zstd};
use crate::fixtures::digest::{Sha256Stream, sha256};
use crate::fixtures::layout::{GZIP_LAYER, Layout, Oci};
use crate::fixtures::run::{BIN, Run, assert_one_line_error, run, strata, strata_process};
use crate::fixtures::tar::{E, tar_of, ustar_header};
use crate::fixtures::{image, oracle};

fn analyze(path: &Path) -> Run {
    run(strata().arg("analyze").arg(path))
}

/// Index of the layer these tests break: L2, the one that ships every wasted byte.
const L: usize = 2;

/// The committed overlay layout copied into a fresh tempdir.
fn overlay_copy(name: &str) -> (tempfile::TempDir, Layout) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout = Layout::copy_of(name, tmp.path());
    (tmp, layout)
}

/// XORs `n` bytes of a file with 0xff starting at `at` (clamped to the file).
fn flip(path: &Path, at: usize, n: usize) {
    let mut bytes = fs::read(path).expect("read");
    for b in bytes.iter_mut().skip(at).take(n) {
        *b ^= 0xff;
    }
    fs::write(path, bytes).expect("write");
}

#[test]
fn nonexistent_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("no-such-image.tar");
    assert_one_line_error(&analyze(&path), &["no-such-image.tar", "no such file"]);
}

#[test]
fn empty_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("empty.tar");
    fs::write(&path, b"").expect("write");
    assert_one_line_error(&analyze(&path), &["empty.tar", "not a container image"]);
}

#[test]
fn random_text_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("notes.txt");
    fs::write(
        &path,
        "these are not the layers you are looking for\n".repeat(40),
    )
    .expect("write");
    assert_one_line_error(&analyze(&path), &["notes.txt", "not a container image"]);
}

#[test]
fn directory_that_is_not_a_layout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("somedir");
    fs::create_dir(&dir).expect("mkdir");
    fs::write(dir.join("README"), "hello").expect("write");
    assert_one_line_error(&analyze(&dir), &["somedir", "oci-layout"]);
}

#[test]
fn truncated_docker_archive() {
    // Cut in the middle of L2's `<diff_id>.tar` member, found by reading the archive.
    let src = image("overlay-docker.tar");
    let diff_id = oracle("overlay")["layer_list"][L]["diff_id"]
        .as_str()
        .expect("diff_id");
    let member = format!("{}.tar", diff_id.trim_start_matches("sha256:"));
    let mut archive = tar::Archive::new(fs::File::open(&src).expect("open"));
    let cut = archive
        .entries()
        .expect("entries")
        .map(|e| e.expect("entry"))
        .find(|e| e.path().expect("path").to_str() == Some(member.as_str()))
        .map(|e| e.raw_file_position() + e.size() / 2)
        .expect("the layer member");
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("cut.tar");
    let bytes = fs::read(&src).expect("read");
    fs::write(&path, &bytes[..usize::try_from(cut).expect("fits")]).expect("write");
    assert_one_line_error(&analyze(&path), &["cut.tar", "truncated", &member]);
}

/// The gzip layout with L2's blob damaged by `damage`, keeping its file name.
fn damaged_layer(name: &str, damage: impl FnOnce(&Path)) -> (tempfile::TempDir, Layout, String) {
    let (tmp, layout) = overlay_copy(name);
    let digest = layout.layer_digests()[L].clone();
    damage(&layout.blob_path(&digest));
    (tmp, layout, digest)
}

#[test]
fn corrupt_gzip_deflate_data() {
    // A byte early in the deflate stream: the inflater itself rejects it.
    let (_tmp, layout, digest) = damaged_layer("overlay-oci", |p| flip(p, 30, 1));
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), &digest, "corrupt gzip"],
    );
}

#[test]
fn corrupt_gzip_trailer_checksum() {
    // The CRC-32 in the gzip trailer: the tar reads fine. With verification on, the blob's
    // digest finds it (the CRC is not computed then); with --no-verify, the CRC does.
    let (_tmp, layout, digest) = damaged_layer("overlay-oci", |p| {
        let len = fs::metadata(p).expect("stat").len();
        flip(p, usize::try_from(len).expect("fits") - 6, 1);
    });
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), &digest, "blob digest mismatch"],
    );
    assert_one_line_error(
        &run(strata().arg("analyze").arg("--no-verify").arg(&layout.dir)),
        &[
            &format!("layer {L}"),
            &digest,
            "gzip",
            "CRC-32 checksum mismatch",
        ],
    );
}

/// Bytes flipped in the middle of a gzip blob. Either finding is right (the gzip CRC or the
/// blob digest, both computed over the whole blob), but the message must say the blob is
/// corrupt: the tar inside is garbage only because of it.
#[test]
fn corrupt_gzip_middle_of_blob() {
    let (_tmp, layout, digest) = damaged_layer("overlay-oci", |p| {
        let len = fs::metadata(p).expect("stat").len();
        flip(p, usize::try_from(len / 2).expect("fits"), 16);
    });
    let line = assert_one_line_error(&analyze(&layout.dir), &[&format!("layer {L}"), &digest]);
    assert!(
        line.contains("corrupt gzip") || line.contains("digest mismatch"),
        "{line}"
    );
}

#[test]
fn corrupt_zstd_layer() {
    for (what, at) in [("start", 30u64), ("middle", 0)] {
        let (_tmp, layout, digest) = damaged_layer("overlay-zstd", |p| {
            let len = fs::metadata(p).expect("stat").len();
            let at = if at == 0 { len / 2 } else { at };
            flip(p, usize::try_from(at).expect("fits"), 16);
        });
        let r = analyze(&layout.dir);
        let line = assert_one_line_error(&r, &[&format!("layer {L}"), &digest, "zstd"]);
        assert!(line.contains("corrupt"), "{what}: {line}");
    }
}

#[test]
fn blob_replaced_by_another_valid_layer() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let digests = layout.layer_digests();
    let (expected, other) = (&digests[L], digests.last().expect("layers"));
    fs::copy(layout.blob_path(other), layout.blob_path(expected)).expect("copy");
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), "digest mismatch", expected, other],
    );

    // --ignore-errors: the analysis goes on, the mismatch becomes a warning on stderr.
    let r = run(strata()
        .args(["analyze", "-i", "--format", "json"])
        .arg(&layout.dir));
    r.expect_code(0);
    let a = r.json();
    assert_eq!(a["schema"], "strata.analysis/v1");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("strata: warning: ")),
        "{}",
        r.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!("layer {L}")) && l.contains("digest mismatch")),
        "{}",
        r.stderr
    );
    assert!(!a["warnings"].as_array().expect("warnings").is_empty());
}

#[test]
fn diff_id_mismatch() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let real = oracle("overlay")["layer_list"][L]["diff_id"]
        .as_str()
        .expect("diff_id")
        .to_string();
    let wrong = sha256(b"not the tar of this layer");
    let mut config = layout.config();
    assert_eq!(config["rootfs"]["diff_ids"][L], real.as_str());
    config["rootfs"]["diff_ids"][L] = wrong.clone().into();
    layout.put_config(&config);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), "diff_id", &wrong, &real],
    );
}

#[test]
fn missing_blob() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let digest = layout.layer_digests()[L].clone();
    fs::remove_file(layout.blob_path(&digest)).expect("rm");
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), &digest, "missing"],
    );
}

#[test]
fn invalid_json_in_index() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    // The value is missing at line 4, column 16.
    fs::write(
        layout.dir.join("index.json"),
        "{\n  \"schemaVersion\": 2,\n  \"manifests\": [\n    {\"digest\": }\n  ]\n}\n",
    )
    .expect("write");
    assert_one_line_error(
        &analyze(&layout.dir),
        &["index.json", "invalid json", "line 4", "column 16"],
    );
}

#[test]
fn invalid_json_in_config() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    layout.put_config_bytes(b"{\n  \"architecture\": \"amd64\",\n  \"rootfs\": [\n");
    let digest = layout.config_digest();
    assert_one_line_error(
        &analyze(&layout.dir),
        &[
            digest.trim_start_matches("sha256:"),
            "invalid json",
            "line 4",
        ],
    );
}

#[test]
fn unknown_manifest_media_type() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let media_type = "application/vnd.example.unknown.v1+json";
    let mut index = layout.index();
    index["manifests"][0]["mediaType"] = media_type.into();
    layout.put_index(&index);
    assert_one_line_error(&analyze(&layout.dir), &[media_type]);
}

/// The overlay layout with its last layer replaced by `tar` (gzipped), every digest right.
fn with_last_layer(tar: &[u8]) -> (tempfile::TempDir, Layout, usize) {
    let (tmp, layout) = overlay_copy("overlay-oci");
    let last = layout.layer_digests().len() - 1;
    layout.replace_layer(last, &gzip(tar), GZIP_LAYER, &sha256(tar));
    (tmp, layout, last)
}

#[test]
fn replaced_layer_helper_keeps_the_image_valid() {
    // The helper itself: a good tar installed this way must analyse cleanly, so the failures
    // below are about the tar content and nothing else.
    let mut tar = ustar_header("app/new.txt", 5, b'0').to_vec();
    tar.extend_from_slice(b"hello");
    tar.resize(tar.len() + 507 + 1024, 0);
    let (_tmp, layout, last) = with_last_layer(&tar);
    let r = run(strata()
        .args(["analyze", "--format", "json"])
        .arg(&layout.dir));
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    let a = r.json();
    assert_eq!(a["layers"][last]["shipped_bytes"], 5);
}

#[test]
fn tar_entry_claims_more_bytes_than_exist() {
    let mut tar = ustar_header("app/claims.bin", 1_000_000, b'0').to_vec();
    tar.extend_from_slice(&[b'z'; 512]); // then the stream ends
    let (_tmp, layout, last) = with_last_layer(&tar);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {last}"), "truncated"],
    );
}

#[test]
fn pax_header_claiming_gigabytes() {
    let claimed: u64 = 4 << 30;
    let mut tar = ustar_header("PaxHeaders.0/big", claimed, b'x').to_vec();
    tar.extend_from_slice(b"30 path=app/whatever-this-is\n");
    tar.resize(tar.len().div_ceil(512) * 512 + 1024, 0);
    let (_tmp, layout, last) = with_last_layer(&tar);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {last}"), "PAX", &claimed.to_string()],
    );
}

/// Writes to two sinks: the gzip encoder and the SHA-256 of the uncompressed tar.
struct Tee<W: Write> {
    gz: W,
    hash: Sha256Stream,
}

impl<W: Write> Write for Tee<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.gz.write_all(buf)?;
        self.hash.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.gz.flush()
    }
}

fn peak_rss_kib(time_output: &Path) -> u64 {
    let text = fs::read_to_string(time_output).expect("time's output");
    text.lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no %M in {text:?}"))
}

const TIME: &str = "/usr/bin/time";

/// A valid layer holding one 1 GiB file of zeros (~1 MB gzipped): strata must stream it.
#[test]
#[ignore = "needs /usr/bin/time: bash .ci/setup; run by .ci/run"]
fn gigabyte_of_zeros_streams_in_bounded_memory() {
    assert!(
        Path::new(TIME).exists(),
        "{TIME} is needed to measure peak RSS: apt-get install time"
    );
    const SIZE: u64 = 1 << 30;
    let (tmp, layout) = overlay_copy("overlay-oci");
    let last = layout.layer_digests().len() - 1;
    let mut tee = Tee {
        gz: flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default()),
        hash: Sha256Stream::new(),
    };
    tee.write_all(&ustar_header("app/zeros.bin", SIZE, b'0'))
        .expect("write");
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..SIZE / chunk.len() as u64 {
        tee.write_all(&chunk).expect("write");
    }
    tee.write_all(&[0u8; 1024]).expect("write"); // end of archive
    let diff_id = tee.hash.finish();
    let blob = tee.gz.finish().expect("gzip");
    assert!(
        blob.len() < 8 << 20,
        "gzip of zeros is small: {}",
        blob.len()
    );
    layout.replace_layer(last, &blob, GZIP_LAYER, &diff_id);

    let rss_file: PathBuf = tmp.path().join("rss");
    let out = std::process::Command::new(TIME)
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .arg(BIN)
        .args(["analyze", "--format", "json"])
        .arg(&layout.dir)
        .env_remove("CI")
        .output()
        .expect("run strata under time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "");
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let o = oracle("overlay");
    let layer_shipped = a["layers"][last]["shipped_bytes"].as_u64().expect("u64");
    assert_eq!(layer_shipped, SIZE);
    // The replaced layer (`rmdir /app/emptydir`) shipped nothing, so the total grows by 1 GiB.
    assert_eq!(
        a["image"]["shipped_bytes"].as_u64().expect("u64"),
        o["shipped_bytes"].as_u64().expect("u64") + SIZE
    );
    let rss = peak_rss_kib(&rss_file);
    println!("blob {} bytes, peak RSS {rss} KiB", blob.len());
    assert!(rss < 150 * 1024, "peak RSS {rss} KiB, over 150 MB");
}

#[test]
fn docker_archive_layer_with_a_flipped_byte() {
    // One byte of L2's file data changed inside the archive: the tar still parses, only its
    // digest (the diff_id the config promises) is wrong. The found digest is computed here.
    let src = image("overlay-docker.tar");
    let diff_id = oracle("overlay")["layer_list"][L]["diff_id"]
        .as_str()
        .expect("diff_id")
        .to_string();
    let member = format!("{}.tar", diff_id.trim_start_matches("sha256:"));
    let mut archive = tar::Archive::new(fs::File::open(&src).expect("open"));
    let (start, size) = archive
        .entries()
        .expect("entries")
        .map(|e| e.expect("entry"))
        .find(|e| e.path().expect("path").to_str() == Some(member.as_str()))
        .map(|e| (e.raw_file_position(), e.size()))
        .expect("the layer member");
    let (start, size) = (
        usize::try_from(start).expect("fits"),
        usize::try_from(size).expect("fits"),
    );
    let mut bytes = fs::read(&src).expect("read");
    // The middle of L2's tar is inside app/big.bin's 204800 bytes of data, not a header.
    bytes[start + size / 2] ^= 0xff;
    let found = sha256(&bytes[start..start + size]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("flipped.tar");
    fs::write(&path, &bytes).expect("write");
    assert_one_line_error(
        &analyze(&path),
        &[
            &format!("layer {L}"),
            &member,
            "diff_id mismatch",
            &diff_id,
            &found,
        ],
    );
}

/// `strata analyze <(docker save img)` or `docker save img | strata analyze /dev/stdin`: the
/// input is a pipe. Streaming it is best; refusing it is fine if the message says why. Calling
/// a valid archive "not a valid tar archive" is not.
#[test]
fn docker_archive_through_a_pipe() {
    let archive = fs::read(image("overlay-docker.tar")).expect("read");
    let mut child = strata_process()
        .args(["analyze", "/dev/stdin", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        // strata may stop reading early; a broken pipe here is its answer, not a failure.
        let _ = stdin.write_all(&archive);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    let r = Run {
        code: out.status.code().expect("not killed by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    if r.code == 0 {
        assert_eq!(
            r.json()["image"]["shipped_bytes"],
            oracle("overlay")["shipped_bytes"]
        );
    } else {
        let line = assert_one_line_error(&r, &["/dev/stdin"]);
        assert!(!line.contains("not a valid tar"), "{line}");
        assert!(line.contains("pipe") || line.contains("seekable"), "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// Compression and digests: what a runtime refuses, strata refuses; what it reads, strata reads.
// The reference for both is an independent implementation (Python's gzip, lzma, bz2 and
// hashlib modules, the zstd CLI) and containerd's own rules, cited where they apply.
// ---------------------------------------------------------------------------------------------

/// Runs a Python 3 script with arguments; its stdout when it succeeds, its stderr when not.
fn python(script: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is needed for these tests: apt-get install python3");
    let text = |b: Vec<u8>| String::from_utf8_lossy(&b).trim().to_string();
    if out.status.success() {
        Ok(text(out.stdout))
    } else {
        Err(text(out.stderr))
    }
}

/// `alg:hex` of a file, from Python's hashlib.
fn hashlib(alg: &str, path: &Path) -> String {
    let hex = python(
        "import hashlib, sys; print(hashlib.new(sys.argv[1], open(sys.argv[2], 'rb').read()).hexdigest())",
        &[alg.as_ref(), path.as_os_str()],
    )
    .expect("hashlib");
    format!("{alg}:{hex}")
}

/// L2's uncompressed tar from the committed overlay layout, and the diff_id the oracle
/// (testdata/expected.json) gives it.
fn overlay_l2_tar() -> (Vec<u8>, String) {
    let layout = Layout::committed("overlay-oci");
    let blob = fs::read(layout.blob_path(&layout.layer_digests()[L])).expect("read L2");
    let diff_id = oracle("overlay")["layer_list"][L]["diff_id"]
        .as_str()
        .expect("diff_id")
        .to_string();
    (layer_tar(&blob), diff_id)
}

/// Replaces layer `k` of `layout` by `blob` stored under `digest` (any algorithm, right or
/// wrong), the config's diff_id by `diff_id`, and fixes the manifest and the index around them.
fn put_layer(layout: &Layout, k: usize, blob: &[u8], digest: &str, diff_id: &str) {
    let path = layout.blob_path(digest);
    fs::create_dir_all(path.parent().expect("blobs/alg")).expect("mkdir");
    fs::write(&path, blob).expect("write blob");
    let mut config = layout.config();
    config["rootfs"]["diff_ids"][k] = diff_id.into();
    let config_bytes = serde_json::to_vec(&config).expect("json");
    let (config_digest, config_size) = layout.write_blob(&config_bytes);
    let mut manifest = layout.manifest();
    manifest["config"]["digest"] = config_digest.into();
    manifest["config"]["size"] = config_size.into();
    manifest["layers"][k]["digest"] = digest.into();
    manifest["layers"][k]["size"] = blob.len().into();
    layout.put_manifest(&manifest);
}

/// The overlay layout with L2 replaced by `blob` under its SHA-256 (from hashlib), its
/// diff_id `diff_id`.
fn overlay_with_l2(blob: &[u8], diff_id: &str) -> (tempfile::TempDir, Layout, String) {
    let (tmp, layout) = overlay_copy("overlay-oci");
    let scratch = tmp.path().join("l2.blob");
    fs::write(&scratch, blob).expect("write");
    let digest = hashlib("sha256", &scratch);
    put_layer(&layout, L, blob, &digest, diff_id);
    (tmp, layout, digest)
}

/// A gzip blob whose CRC-32 is wrong but whose digests are right (the attacker computes them
/// after the damage): containerd's Go `gzip.Reader` refuses it when it reads the stream to its
/// end after the tar, and so must strata, with verification on or off.
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn gzip_crc_mismatch_with_right_digests() {
    let (tar, diff_id) = overlay_l2_tar();
    let mut blob = gzip(&tar);
    let at = blob.len() - 8; // the trailer's CRC-32
    blob[at] ^= 0x01;
    let (tmp, layout, digest) = overlay_with_l2(&blob, &diff_id);
    let scratch = tmp.path().join("l2.blob");
    let e = python(
        "import gzip, sys; gzip.decompress(open(sys.argv[1], 'rb').read())",
        &[scratch.as_os_str()],
    )
    .expect_err("Python's gzip must refuse the blob");
    assert!(e.contains("CRC check failed"), "{e}");
    for args in [&[][..], &["--no-verify"]] {
        assert_one_line_error(
            &run(strata().arg("analyze").args(args).arg(&layout.dir)),
            &[
                &format!("layer {L}"),
                &digest,
                "gzip",
                "CRC-32 checksum mismatch",
            ],
        );
    }
}

/// ISIZE (the member's length mod 2^32) wrong, digests right: refused, as by Python's gzip.
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn gzip_isize_mismatch_with_right_digests() {
    let (tar, diff_id) = overlay_l2_tar();
    let mut blob = gzip(&tar);
    let at = blob.len() - 4; // the trailer's ISIZE, lowest byte
    blob[at] ^= 0x01;
    let (tmp, layout, digest) = overlay_with_l2(&blob, &diff_id);
    let e = python(
        "import gzip, sys; gzip.decompress(open(sys.argv[1], 'rb').read())",
        &[tmp.path().join("l2.blob").as_os_str()],
    )
    .expect_err("Python's gzip must refuse the blob");
    assert!(e.contains("Incorrect length"), "{e}");
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), &digest, "ISIZE"],
    );
}

/// Bytes after the last gzip member that are not another member: Go's multistream reader (and
/// Python's) refuse them, and containerd reads the stream to its end.
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn gzip_followed_by_garbage() {
    let (tar, diff_id) = overlay_l2_tar();
    let blob = [gzip(&tar), b"garbage!".to_vec()].concat();
    let (tmp, layout, digest) = overlay_with_l2(&blob, &diff_id);
    let e = python(
        "import gzip, sys; gzip.decompress(open(sys.argv[1], 'rb').read())",
        &[tmp.path().join("l2.blob").as_os_str()],
    )
    .expect_err("Python's gzip must refuse the blob");
    assert!(e.contains("Not a gzipped file"), "{e}");
    assert_one_line_error(
        &analyze(&layout.dir),
        &[
            &format!("layer {L}"),
            &digest,
            "after the tar's end",
            "gzip header",
        ],
    );
}

/// The analysis of a layout that must read cleanly, checked against the oracle: the replaced
/// L2 holds the same tar as the committed one, so every number is the committed image's.
fn assert_reads_as_overlay(layout: &Layout, args: &[&str]) -> Run {
    let r = run(strata()
        .arg("analyze")
        .args(args)
        .args(["--format", "json"])
        .arg(&layout.dir));
    r.expect_code(0);
    let a = r.json();
    let o = oracle("overlay");
    assert_eq!(a["image"]["shipped_bytes"], o["shipped_bytes"]);
    assert_eq!(a["image"]["visible_bytes"], o["visible_bytes"]);
    assert_eq!(a["waste"]["wasted_bytes"], o["wasted_bytes"]);
    assert_eq!(a["layers"][L]["diff_id"], o["layer_list"][L]["diff_id"]);
    r
}

/// Layers digested with sha512 (registered by the OCI image spec) or sha384 (which go-digest
/// verifies too), gzip and plain tar: read when the digest is right, refused when it is not.
/// The digests come from Python's hashlib.
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn sha512_and_sha384_layer_digests_are_verified() {
    let (tar, diff_id) = overlay_l2_tar();
    for (alg, blob) in [
        ("sha512", gzip(&tar)),
        ("sha384", gzip(&tar)),
        ("sha512", tar.clone()),
    ] {
        let (tmp, layout) = overlay_copy("overlay-oci");
        let scratch = tmp.path().join("l2.blob");
        fs::write(&scratch, &blob).expect("write");
        let digest = hashlib(alg, &scratch);
        put_layer(&layout, L, &blob, &digest, &diff_id);
        assert_reads_as_overlay(&layout, &[]);

        // The same blob under another blob's digest: strata must find the blob's own.
        fs::write(&scratch, b"another blob").expect("write");
        let wrong = hashlib(alg, &scratch);
        let (_tmp2, layout) = overlay_copy("overlay-oci");
        put_layer(&layout, L, &blob, &wrong, &diff_id);
        assert_one_line_error(
            &analyze(&layout.dir),
            &[
                &format!("layer {L}"),
                "blob digest mismatch",
                &wrong,
                &digest,
            ],
        );
    }
}

/// A config whose diff_id is sha512: the tar is hashed with it (Python's hashlib computes the
/// expected one), on a plain layer whose blob digest is sha256.
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn sha512_diff_id_is_verified() {
    let (tar, _) = overlay_l2_tar();
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join("l2.tar");
    fs::write(&path, &tar).expect("write");
    let diff_id = hashlib("sha512", &path);
    let (_tmp, layout, _) = overlay_with_l2(&tar, &diff_id);
    let r = run(strata()
        .args(["analyze", "--format", "json"])
        .arg(&layout.dir));
    r.expect_code(0);
    assert_eq!(r.json()["layers"][L]["diff_id"], diff_id.as_str());

    fs::write(&path, b"another tar").expect("write");
    let wrong = hashlib("sha512", &path);
    let (_tmp, layout, _) = overlay_with_l2(&tar, &wrong);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), "diff_id mismatch", &wrong, &diff_id],
    );
}

/// A layer digest whose algorithm strata cannot compute (`blake3:`, which the OCI spec does not
/// register and containerd does not verify by default) was trusted silently: now refused, and
/// under --ignore-errors a warning that says the digest was NOT verified.
#[test]
fn unknown_digest_algorithm_on_a_layer() {
    let (tar, diff_id) = overlay_l2_tar();
    let blob = gzip(&tar);
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let digest = format!("blake3:{}", "ab".repeat(32));
    put_layer(&layout, L, &blob, &digest, &diff_id);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), &digest, "not verified", "blake3"],
    );
    let r = assert_reads_as_overlay(&layout, &["--ignore-errors"]);
    let warning = r
        .stderr
        .lines()
        .find(|l| l.contains("blake3"))
        .unwrap_or_else(|| panic!("no warning about blake3: {}", r.stderr));
    assert!(warning.starts_with("strata: warning: "), "{warning}");
    assert!(warning.contains("NOT verified"), "{warning}");
}

/// An index pointing at a manifest by a `blake3:` digest: refused, not taken on trust.
#[test]
fn unknown_digest_algorithm_on_a_manifest() {
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let manifest = fs::read(layout.blob_path(&layout.manifest_digest())).expect("read");
    let digest = format!("blake3:{}", "cd".repeat(32));
    let path = layout.blob_path(&digest);
    fs::create_dir_all(path.parent().expect("blobs/blake3")).expect("mkdir");
    fs::write(&path, &manifest).expect("write");
    let mut index = layout.index();
    index["manifests"][0]["digest"] = digest.clone().into();
    layout.put_index(&index);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&digest, "cannot be verified", "blake3"],
    );
}

/// An empty layer, stored as a blob of zero bytes or as one gzip member of nothing: Go's tar
/// reader takes an empty stream as an empty archive, and containerd and moby read a zero-byte
/// blob as an empty layer on purpose (docker/docker#18170). The diff_id is SHA-256 of nothing.
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn empty_layer_blobs_read_as_empty_layers() {
    let empty_diff_id = {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("empty");
        fs::write(&path, b"").expect("write");
        hashlib("sha256", &path)
    };
    for (what, blob) in [("zero bytes", Vec::new()), ("empty gzip member", gzip(b""))] {
        let (_tmp, layout) = overlay_copy("overlay-oci");
        let last = layout.layer_digests().len() - 1;
        let blob_digest = sha256(&blob);
        put_layer(&layout, last, &blob, &blob_digest, &empty_diff_id);
        let r = run(strata()
            .args(["analyze", "--format", "json"])
            .arg(&layout.dir));
        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
        let a = r.json();
        assert_eq!(
            a["layers"][last]["diff_id"],
            empty_diff_id.as_str(),
            "{what}"
        );
        assert_eq!(a["layers"][last]["tar_bytes"], 0, "{what}");
        assert_eq!(a["layers"][last]["entries"], 0, "{what}");
    }
}

/// xz and bzip2 layers (made by Python's lzma and bz2 modules): containerd sniffs neither and
/// fails on them as tars; strata names the compression instead of "truncated tar".
#[test]
#[ignore = "needs python3: bash .ci/setup; run by .ci/run"]
fn xz_and_bzip2_layers_are_refused_by_name() {
    let (tar, diff_id) = overlay_l2_tar();
    for (module, name) in [("lzma", "xz"), ("bz2", "bzip2")] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (input, output) = (tmp.path().join("l2.tar"), tmp.path().join("l2.blob"));
        fs::write(&input, &tar).expect("write");
        python(
            &format!(
                "import {module}, sys; open(sys.argv[2], 'wb').write({module}.compress(open(sys.argv[1], 'rb').read()))"
            ),
            &[input.as_os_str(), output.as_os_str()],
        )
        .expect(module);
        let blob = fs::read(&output).expect("read");
        let (_tmp, layout, digest) = overlay_with_l2(&blob, &diff_id);
        let line = assert_one_line_error(
            &analyze(&layout.dir),
            &[
                &format!("layer {L}"),
                &digest,
                &format!("{name}-compressed layer"),
            ],
        );
        assert!(line.contains("gzip, zstd and uncompressed tar"), "{line}");
    }
}

/// Compresses `input` with the zstd CLI and `args`, reading stdin (so the frame records no
/// content size and its window is the one asked for).
fn zstd_cli(tar: &[u8], args: &[&str]) -> Vec<u8> {
    let mut child = std::process::Command::new("zstd")
        .args(["-q", "-c"])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the zstd CLI is needed: apt-get install zstd");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = tar.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).expect("zstd stdin"));
    let out = child.wait_with_output().expect("zstd");
    writer.join().expect("writer");
    assert!(out.status.success(), "zstd {args:?} failed");
    out.stdout
}

/// The window a zstd frame declares (RFC 8878 3.1.1.1.2), for frames with a window descriptor.
fn zstd_window(frame: &[u8]) -> u64 {
    assert_eq!(frame[..4], [0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    assert_eq!(
        frame[4] & 0x20,
        0,
        "not single-segment: the frame has a window descriptor"
    );
    let wd = frame[5];
    let base = 1u64 << (10 + (wd >> 3));
    base + base / 8 * u64::from(wd & 7)
}

/// zstd layers compressed with a long window. containerd's decoder (klauspost/compress) takes
/// windows up to 512 MiB (`MaxWindowSize = 1 << 29`): `--long=29` must read, `--long=30`
/// (1 GiB) must be refused with a line that says why. libzstd's own default stops at 128 MiB.
#[test]
#[ignore = "needs python3, the zstd CLI: bash .ci/setup; run by .ci/run"]
fn zstd_long_windows_read_as_containerd_reads_them() {
    let (tar, diff_id) = overlay_l2_tar();
    let long29 = zstd_cli(&tar, &["--long=29"]);
    assert_eq!(zstd_window(&long29), 512 << 20);
    let (_tmp, layout, _) = overlay_with_l2(&long29, &diff_id);
    assert_reads_as_overlay(&layout, &[]);

    let long30 = zstd_cli(&tar, &["--long=30"]);
    assert_eq!(zstd_window(&long30), 1 << 30);
    let (_tmp, layout, digest) = overlay_with_l2(&long30, &diff_id);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[&format!("layer {L}"), &digest, "zstd", "window", "512 MiB"],
    );
}

/// A zstd stream that starts with a skippable frame (magic 0x184D2A50..5F, RFC 8878 3.1.2):
/// containerd sniffs it as zstd and its decoder skips the frame; so does strata.
#[test]
#[ignore = "needs python3, the zstd CLI: bash .ci/setup; run by .ci/run"]
fn zstd_starting_with_a_skippable_frame() {
    let (tar, diff_id) = overlay_l2_tar();
    for magic in [0x184D_2A50u32, 0x184D_2A5F] {
        let payload = b"metadata a tool put first";
        let mut blob = magic.to_le_bytes().to_vec();
        blob.extend(u32::try_from(payload.len()).expect("fits").to_le_bytes());
        blob.extend(payload);
        blob.extend(zstd_cli(&tar, &[]));
        let (_tmp, layout, _) = overlay_with_l2(&blob, &diff_id);
        let r = assert_reads_as_overlay(&layout, &[]);
        assert_eq!(r.json()["layers"][L]["compression"], "zstd");
    }
}

/// A zstd stream followed by bytes that are not a frame: libzstd and containerd's decoder both
/// refuse them ("unknown frame descriptor", "magic number mismatch").
#[test]
#[ignore = "needs python3, the zstd CLI: bash .ci/setup; run by .ci/run"]
fn zstd_followed_by_garbage() {
    let (tar, diff_id) = overlay_l2_tar();
    let blob = [zstd_cli(&tar, &[]), b"garbage!".to_vec()].concat();
    let (_tmp, layout, digest) = overlay_with_l2(&blob, &diff_id);
    assert_one_line_error(
        &analyze(&layout.dir),
        &[
            &format!("layer {L}"),
            &digest,
            "zstd",
            "after the tar's end",
        ],
    );
}

/// `-i` covers the config and the manifest, as dive and go-containerregistry load such images:
/// a config whose bytes do not match its digest, or a manifest whose size disagrees with its
/// descriptor, is read with a warning (exit 0, the oracle's numbers); without `-i` it is one
/// error line.
#[test]
fn ignore_errors_covers_config_and_manifest_mismatches() {
    // The config: a space appended, so its bytes no longer hash to the digest naming it.
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let config_path = layout.blob_path(&layout.config_digest());
    let mut bytes = fs::read(&config_path).expect("read config");
    bytes.push(b' ');
    fs::write(&config_path, &bytes).expect("write config");
    assert_one_line_error(&analyze(&layout.dir), &["config", "mismatch"]);
    let r = assert_reads_as_overlay(&layout, &["-i"]);
    assert!(
        r.stderr.lines().any(|l| l.starts_with("strata: warning: ")
            && l.contains("config")
            && l.contains("size mismatch")),
        "{}",
        r.stderr
    );

    // The manifest: index.json says one byte more than it has.
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let mut index = layout.index();
    let size = index["manifests"][0]["size"].as_u64().expect("size");
    index["manifests"][0]["size"] = (size + 1).into();
    layout.put_index(&index);
    assert_one_line_error(&analyze(&layout.dir), &["manifest", "size mismatch"]);
    let r = assert_reads_as_overlay(&layout, &["--ignore-errors"]);
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("manifest") && l.contains("size mismatch")),
        "{}",
        r.stderr
    );
    assert!(
        r.json()["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .any(|w| w.as_str().is_some_and(|w| w.contains("size mismatch"))),
        "the JSON lists the warning too"
    );
}

/// `strata verify` goes on past every problem and lists them all: a config whose bytes were
/// changed (its size and digest), a layer blob replaced by another layer's (blob digest, size,
/// diff_id), a gzip layer whose CRC-32 was flipped (the read fails), each named, every other
/// layer ok, exit 2; the same image untouched verifies with exit 0.
#[test]
fn verify_lists_every_problem() {
    let verify = |dir: &Path| run(strata().args(["verify", "--format", "json"]).arg(dir));
    let (_tmp, layout) = overlay_copy("overlay-oci");
    let clean = verify(&layout.dir);
    clean.expect_code(0);
    let v = clean.json();
    assert_eq!(v["schema"], "strata.verify/v1");
    assert_eq!(v["ok"], true);
    let layers = v["layers"].as_array().expect("layers").len();
    assert_eq!(
        layers,
        oracle("overlay")["layer_list"]
            .as_array()
            .expect("layers")
            .len()
    );

    let config_path = layout.blob_path(&layout.config_digest());
    let mut config = fs::read(&config_path).expect("read");
    config.push(b' ');
    fs::write(&config_path, config).expect("write");
    let digests = layout.layer_digests();
    let (replaced, crc) = (L, 5);
    fs::copy(
        layout.blob_path(&digests[1]),
        layout.blob_path(&digests[replaced]),
    )
    .expect("cp");
    let gz = layout.blob_path(&digests[crc]);
    let len = fs::metadata(&gz).expect("stat").len();
    flip(&gz, usize::try_from(len - 8).expect("fits"), 1); // the trailer's CRC-32

    let r = verify(&layout.dir);
    r.expect_code(2);
    let v = r.json();
    assert_eq!(v["ok"], false);
    let docs: Vec<&str> = v["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        docs.iter()
            .any(|d| d.contains("config") && d.contains("size mismatch"))
    );
    assert!(
        docs.iter()
            .any(|d| d.contains("config") && d.contains("digest mismatch"))
    );
    for l in v["layers"].as_array().expect("layers") {
        let i = usize::try_from(l["index"].as_u64().expect("index")).expect("fits");
        let problems: Vec<&str> = l["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        if i == replaced {
            for kind in ["blob digest mismatch", "diff_id mismatch"] {
                assert!(
                    problems.iter().any(|p| p.contains(kind)),
                    "layer {i}: {problems:?}"
                );
            }
        } else if i == crc {
            assert!(
                problems.iter().any(|p| p.contains("CRC")),
                "layer {i}: {problems:?}"
            );
        } else {
            assert!(problems.is_empty(), "layer {i}: {problems:?}");
        }
    }
    assert_eq!(
        v["problems"].as_u64().expect("count"),
        docs.len() as u64
            + v["layers"]
                .as_array()
                .expect("layers")
                .iter()
                .map(|l| l["problems"].as_array().map_or(0, Vec::len) as u64)
                .sum::<u64>()
    );
    // The text names them too, one line each, and says how many.
    let text = run(strata().arg("verify").arg(&layout.dir));
    text.expect_code(2);
    assert!(
        text.stdout.contains(&format!("layer {replaced}")),
        "{}",
        text.stdout
    );
    assert!(text.stdout.contains("FAILED"), "{}", text.stdout);
    assert!(
        text.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("FAILED:"))
    );
}

// ---------------------------------------------------------------------------------------------
// First contact, the inputs (issue 15): OCI artifacts named as such, compressed archives that
// are damaged, and an image name that no engine can give. Every artifact here is written by
// hand, as the tools that make them write it (the media types are the ones cosign, Helm, ORAS,
// syft and BuildKit use); the expected words come from those types, not from strata.
// ---------------------------------------------------------------------------------------------

/// A gzipped tar holding one file, as `helm package` writes a chart.
fn chart_tgz() -> Vec<u8> {
    let chart = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n";
    gzip(&tar_of(&[E::File("demo/Chart.yaml", 0o644, chart)]))
}

/// What cosign writes as a signature's config: an image config whose one diff_id is the
/// payload's digest.
fn cosign_config(payload: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "", "os": "", "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "rootfs": {"type": "layers", "diff_ids": [sha256(payload)]},
    }))
    .expect("json")
}

const COSIGN_PAYLOAD: &[u8] = br#"{"critical":{"identity":{"docker-reference":"example.com/app"},"image":{"docker-manifest-digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000"},"type":"cosign container image signature"},"optional":null}"#;
const SPDX: &[u8] =
    br#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","packages":[]}"#;
const IN_TOTO: &[u8] = br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2","subject":[],"predicate":{}}"#;
const EMPTY_CONFIG: (&str, &[u8]) = ("application/vnd.oci.empty.v1+json", b"{}");

/// Writes one manifest into a layout; its descriptor.
type MakeManifest<'a> = dyn Fn(&Oci) -> serde_json::Value + 'a;

/// A Helm chart, a cosign signature, an SPDX SBOM pushed by ORAS (OCI 1.1: `artifactType`, the
/// empty config), a BuildKit attestation manifest and one of the OCI 1.1 drafts' artifact
/// manifests: each is named as an artifact of its type, in one line with exit 2 — never read
/// as layers ("truncated tar") and never shown as an image (the Helm chart's layer is a
/// gzipped tar, which would read).
#[test]
fn oci_artifacts_are_named_by_their_type() {
    let chart = chart_tgz();
    let helm_config = br#"{"name":"demo","version":"0.1.0","apiVersion":"v2"}"#;
    let cases: Vec<(&str, Box<MakeManifest<'_>>, &str, &str)> = vec![
        (
            "helm",
            Box::new(|l: &Oci| {
                l.manifest(
                    ("application/vnd.cncf.helm.config.v1+json", helm_config),
                    &[(
                        "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                        &chart,
                    )],
                    serde_json::json!({}),
                )
            }),
            "application/vnd.cncf.helm.config.v1+json",
            "helm chart",
        ),
        (
            "cosign",
            Box::new(|l: &Oci| {
                l.manifest(
                    (
                        "application/vnd.oci.image.config.v1+json",
                        &cosign_config(COSIGN_PAYLOAD),
                    ),
                    &[(
                        "application/vnd.dev.cosign.simplesigning.v1+json",
                        COSIGN_PAYLOAD,
                    )],
                    serde_json::json!({}),
                )
            }),
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "signature",
        ),
        (
            "sbom",
            Box::new(|l: &Oci| {
                l.manifest(
                    EMPTY_CONFIG,
                    &[("application/spdx+json", SPDX)],
                    serde_json::json!({"artifactType": "application/spdx+json"}),
                )
            }),
            "application/spdx+json",
            "sbom",
        ),
        (
            "sbom-no-artifact-type",
            Box::new(|l: &Oci| {
                l.manifest(
                    EMPTY_CONFIG,
                    &[("application/spdx+json", SPDX)],
                    serde_json::json!({}),
                )
            }),
            "application/spdx+json",
            "sbom",
        ),
        (
            "attestation",
            Box::new(|l: &Oci| {
                l.manifest(
                    EMPTY_CONFIG,
                    &[("application/vnd.in-toto+json", IN_TOTO)],
                    serde_json::json!({
                        "artifactType": "application/vnd.docker.attestation.manifest.v1+json"}),
                )
            }),
            "application/vnd.docker.attestation.manifest.v1+json",
            "attestation",
        ),
        (
            "older-attestation",
            // BuildKit before OCI 1.1: an image config for os/arch `unknown`, in-toto layers.
            Box::new(|l: &Oci| {
                l.manifest(
                    (
                        "application/vnd.oci.image.config.v1+json",
                        br#"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#,
                    ),
                    &[("application/vnd.in-toto+json", IN_TOTO)],
                    serde_json::json!({}),
                )
            }),
            "application/vnd.in-toto+json",
            "attestation",
        ),
        (
            "artifact-manifest",
            Box::new(|l: &Oci| {
                let m = serde_json::json!({
                    "mediaType": "application/vnd.oci.artifact.manifest.v1+json",
                    "artifactType": "application/vnd.cyclonedx+json",
                    "blobs": [l.blob("application/vnd.cyclonedx+json", b"{}")],
                });
                l.blob(
                    "application/vnd.oci.artifact.manifest.v1+json",
                    &serde_json::to_vec(&m).expect("json"),
                )
            }),
            "application/vnd.cyclonedx+json",
            "sbom",
        ),
    ];
    for (name, make, artifact_type, what) in cases {
        let tmp = tempfile::tempdir().expect("tempdir");
        let layout = Oci::new(&tmp.path().join(name));
        let desc = make(&layout);
        let digest = desc["digest"].as_str().expect("digest").to_string();
        layout.index(&[desc]);
        let line = assert_one_line_error(
            &analyze(&layout.dir),
            &[
                name,
                &digest,
                "artifact",
                artifact_type,
                what,
                "not a container image",
            ],
        );
        assert!(
            !line.contains("truncated") && !line.contains("tar header"),
            "{name}: read as layers: {line}"
        );
    }
}

/// A layer of a type strata does not know is still read by its content, as before: an image
/// config and one tar layer typed `application/x-mystery` is an image (with a warning), not
/// an artifact.
#[test]
fn an_unknown_layer_type_under_an_image_config_is_still_an_image() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let layout = Oci::new(&tmp.path().join("mystery"));
    let tar = tar_of(&[E::File("hello.txt", 0o644, b"hello")]);
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&tar)]},
    });
    let m = layout.manifest(
        (
            "application/vnd.oci.image.config.v1+json",
            &serde_json::to_vec(&config).expect("json"),
        ),
        &[("application/x-mystery", &tar)],
        serde_json::json!({}),
    );
    layout.index(&[m]);
    let r = run(strata()
        .arg("analyze")
        .arg(&layout.dir)
        .args(["--format", "json"]));
    r.expect_code(0);
    assert_eq!(r.json()["image"]["shipped_bytes"], 5);
    assert!(r.stderr.contains("application/x-mystery"), "{}", r.stderr);
}

/// `strata NAME` where NAME is no file here and no engine runs: the name was taken for an
/// engine image; the line says so, lists the sockets tried, and how to give a file or a
/// registry instead — not "No such file or directory".
#[test]
fn an_image_name_with_no_engine_says_what_it_was_taken_for() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let docker = tmp.path().join("docker.sock");
    let podman = tmp.path().join("podman.sock");
    let with_hosts = |name: &str| {
        let mut cmd = strata();
        cmd.args(["analyze", name])
            .env("DOCKER_HOST", format!("unix://{}", docker.display()))
            .env("CONTAINER_HOST", format!("unix://{}", podman.display()));
        run(&mut cmd)
    };
    let hints = [
        "nginx:latest",
        "engine image",
        "docker save nginx:latest -o nginx.tar",
        "strata docker://nginx:latest",
    ];
    let line = assert_one_line_error(&with_hosts("nginx:latest"), &hints);
    assert!(
        !line.to_lowercase().contains("no such file or directory"),
        "{line}"
    );
    for tried in [&docker, &podman] {
        assert!(line.contains(&tried.display().to_string()), "{line}");
    }
    // A repository path too: the file name is its last part.
    assert_one_line_error(
        &with_hosts("ghcr.io/acme/app:1.0"),
        &[
            "docker save ghcr.io/acme/app:1.0 -o app.tar",
            "docker://ghcr.io/acme/app:1.0",
        ],
    );

    // A socket file nobody listens on (the engine stopped): which one, and the same ways out.
    let listener = std::os::unix::net::UnixListener::bind(&docker).expect("bind");
    drop(listener);
    let line = assert_one_line_error(&with_hosts("nginx:latest"), &hints);
    assert!(line.contains(&docker.display().to_string()), "{line}");
    assert!(line.contains("does not answer"), "{line}");

    // Without the variables, the default places are named (only where none is there to
    // answer: on a machine with an engine running, this part is a real pull).
    let defaults = ["/var/run/docker.sock", "/run/podman/podman.sock"];
    if defaults.iter().all(|p| !Path::new(p).exists()) {
        let mut cmd = strata();
        cmd.args(["analyze", "nginx:latest"])
            .env_remove("DOCKER_HOST")
            .env_remove("CONTAINER_HOST")
            .env("XDG_RUNTIME_DIR", tmp.path());
        let line = assert_one_line_error(&run(&mut cmd), &hints);
        for p in defaults {
            assert!(line.contains(p), "{line}");
        }
        assert!(line.contains("DOCKER_HOST"), "{line}");
    }
    // Something that looks like a file is still a missing file.
    let missing = tmp.path().join("nginx.tar");
    assert_one_line_error(&analyze(&missing), &["nginx.tar", "no such file"]);
    // So is a compressed archive named relatively, though `image.tar.gz` is a valid image name.
    for name in ["image.tar.gz", "image.tgz", "image.tar.zst"] {
        let mut cmd = strata();
        cmd.args(["analyze", name]).current_dir(tmp.path());
        let line = assert_one_line_error(&run(&mut cmd), &[name, "no such file"]);
        assert!(!line.contains("engine"), "{line}");
    }
}

/// A compressed archive is read (tests/cli.rs), and a damaged one is refused by name: a gzip
/// whose CRC-32 was flipped (found only at the stream's end, after the tar), garbage after the
/// gzip stream, a zstd stream cut short; xz is refused with the command that decompresses it.
#[test]
fn damaged_compressed_archives_are_refused_by_name() {
    let tar = fs::read(image("overlay-docker.tar")).expect("read");
    let tmp = tempfile::tempdir().expect("tempdir");
    let gz = gzip(&tar);

    let path = tmp.path().join("crc.tar.gz");
    let mut bad = gz.clone();
    let crc_at = bad.len() - 8; // RFC 1952: CRC-32, then ISIZE, ends the member
    bad[crc_at] ^= 0xff;
    fs::write(&path, &bad).expect("write");
    assert_one_line_error(&analyze(&path), &["crc.tar.gz", "gzip", "CRC-32"]);

    let path = tmp.path().join("trailing.tar.gz");
    let mut bad = gz.clone();
    bad.extend_from_slice(b"garbage");
    fs::write(&path, &bad).expect("write");
    assert_one_line_error(
        &analyze(&path),
        &["trailing.tar.gz", "gzip", "after the tar"],
    );

    let path = tmp.path().join("cut.tar.zst");
    let zst = zstd(&tar, 3);
    fs::write(&path, &zst[..zst.len() / 2]).expect("write");
    assert_one_line_error(&analyze(&path), &["cut.tar.zst", "zstd stream"]);

    let path = tmp.path().join("image.tar.xz");
    let mut xz = vec![0xfd, b'7', b'z', b'X', b'Z', 0];
    xz.resize(600, 0);
    fs::write(&path, &xz).expect("write");
    assert_one_line_error(
        &analyze(&path),
        &["image.tar.xz", "xz-compressed", "xz -dc"],
    );

    // gzip of something that is no tar: not a container image, and it says it was gzip.
    let path = tmp.path().join("notes.gz");
    fs::write(&path, gzip(&b"hello\n".repeat(200))).expect("write");
    assert_one_line_error(
        &analyze(&path),
        &["notes.gz", "not a container image", "gzip"],
    );
}
