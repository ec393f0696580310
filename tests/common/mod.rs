//! Helpers shared by the integration tests of the `strata` binary: running it, reading the
//! committed images and `expected.json`, and rewriting copies of OCI layouts so that exactly
//! one thing in them is wrong.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Absolute path of a committed test image (`testdata/images/NAME`).
pub fn image(name: &str) -> PathBuf {
    root().join("testdata/images").join(name)
}

/// Absolute path of a file under `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    root().join("testdata").join(rel)
}

/// A fixture of the shared collection beside the project (`../shared/fixtures/REL`: real
/// files from public projects, each with a README of its source; read there, not copied in).
pub fn shared_fixture(rel: &str) -> PathBuf {
    let path = root().join("../shared/fixtures").join(rel);
    assert!(
        path.exists(),
        "{} is missing: the shared fixtures sit beside the project (../shared/fixtures)",
        path.display()
    );
    path
}

/// `testdata/expected.json`, the independent oracle's numbers.
pub fn expected() -> &'static Value {
    static EXPECTED: OnceLock<Value> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let text = fs::read_to_string(testdata("expected.json")).expect("read expected.json");
        serde_json::from_str(&text).expect("expected.json is JSON")
    })
}

/// One key of `expected.json` (`overlay`, `base`, `multi/linux/arm64`, …).
pub fn oracle(key: &str) -> &'static Value {
    let v = &expected()[key];
    assert!(v.is_object(), "expected.json has no key {key}");
    v
}

/// The binary, with `CI` removed from the environment (strata treats `CI=true` as `--ci`) and
/// run from an empty directory, so that no stray `.dive-ci` changes a verdict.
pub fn strata() -> Command {
    static EMPTY: OnceLock<PathBuf> = OnceLock::new();
    let empty = EMPTY.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("strata-cwd-without-dive-ci");
        fs::create_dir_all(&dir).expect("mkdir");
        assert!(
            !dir.join(".dive-ci").exists(),
            "{} must not hold a .dive-ci",
            dir.display()
        );
        dir
    });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.env_remove("CI")
        .env_remove("STRATA_TRACE")
        .current_dir(empty);
    cmd
}

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("stdout is not JSON ({e}): {}", head(&self.stdout));
        })
    }

    /// Asserts the exit code, showing everything on failure.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            code,
            "exit code\n--- stderr:\n{}\n--- stdout:\n{}",
            self.stderr,
            head(&self.stdout)
        );
        self
    }
}

fn head(s: &str) -> &str {
    let mut end = s.len().min(3000);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Runs the command to completion (no stdin).
pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run strata");
    Run {
        code: out.status.code().expect("strata was killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `strata analyze ARG… --format json`, which must succeed; the parsed analysis.
pub fn analyze_json(args: &[&str]) -> (Value, Run) {
    let r = run(strata()
        .arg("analyze")
        .args(args)
        .args(["--format", "json"]));
    r.expect_code(0);
    (r.json(), r)
}

/// Asserts the contract for input strata cannot analyse: exit code 2, stderr exactly one line
/// starting with `strata: error:`, no panic, nothing on stdout, and every `needle` present
/// (case-insensitive). Returns the line.
pub fn assert_one_line_error(r: &Run, needles: &[&str]) -> String {
    assert!(
        !r.stderr.contains("panicked"),
        "strata panicked: {}",
        r.stderr
    );
    r.expect_code(2);
    assert!(
        r.stderr.ends_with('\n') && r.stderr.lines().count() == 1,
        "stderr must be exactly one line, got {:?}",
        r.stderr
    );
    let line = r.stderr.trim_end_matches('\n').to_string();
    assert!(
        line.starts_with("strata: error: "),
        "stderr must start with `strata: error: `: {line:?}"
    );
    assert!(
        r.stdout.is_empty(),
        "stdout must be empty: {}",
        head(&r.stdout)
    );
    println!("{line}"); // shown with --nocapture, or when a later assertion fails
    let lower = line.to_lowercase();
    for n in needles {
        assert!(
            lower.contains(&n.to_lowercase()),
            "stderr should mention {n:?}: {line}"
        );
    }
    line
}

/// `sha256:<hex>` of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    digest_string(Sha256::digest(bytes).as_slice())
}

/// `sha256:<hex>` of a finished hasher.
pub fn digest_string(hash: &[u8]) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Copies a directory tree (regular files and directories only, as the layouts hold).
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn read_json(path: &Path) -> Value {
    let text = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A copy of an OCI layout (single image, `index.json` → manifest) that tests may break, plus
/// the bookkeeping to keep every other digest right: writing a new config fixes the
/// manifest's config descriptor, writing a new manifest fixes `index.json`.
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    /// Opens a committed OCI layout without copying (read only).
    pub fn committed(name: &str) -> Layout {
        Layout { dir: image(name) }
    }

    /// Copies `testdata/images/NAME` into `parent/NAME`.
    pub fn copy_of(name: &str, parent: &Path) -> Layout {
        let dir = parent.join(name);
        copy_dir(&image(name), &dir);
        Layout { dir }
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let (alg, hex) = digest.split_once(':').expect("digest has an algorithm");
        self.dir.join("blobs").join(alg).join(hex)
    }

    pub fn index(&self) -> Value {
        read_json(&self.dir.join("index.json"))
    }

    /// The digest `index.json` points at (the image manifest of a single-image layout).
    pub fn manifest_digest(&self) -> String {
        self.index()["manifests"][0]["digest"]
            .as_str()
            .expect("index.json: manifests[0].digest")
            .to_string()
    }

    pub fn manifest(&self) -> Value {
        read_json(&self.blob_path(&self.manifest_digest()))
    }

    pub fn config_digest(&self) -> String {
        self.manifest()["config"]["digest"]
            .as_str()
            .expect("manifest: config.digest")
            .to_string()
    }

    pub fn config(&self) -> Value {
        read_json(&self.blob_path(&self.config_digest()))
    }

    /// The manifest's layer descriptors' digests, bottom first.
    pub fn layer_digests(&self) -> Vec<String> {
        self.manifest()["layers"]
            .as_array()
            .expect("manifest: layers")
            .iter()
            .map(|l| l["digest"].as_str().expect("layer digest").to_string())
            .collect()
    }

    /// Writes a blob under its digest; returns (digest, size).
    pub fn write_blob(&self, bytes: &[u8]) -> (String, u64) {
        let digest = sha256(bytes);
        fs::write(self.blob_path(&digest), bytes).expect("write blob");
        (digest, bytes.len() as u64)
    }

    /// Stores `manifest` as a blob and points `index.json` at it (digest and size).
    pub fn put_manifest(&self, manifest: &Value) {
        let (digest, size) = self.write_blob(&serde_json::to_vec(manifest).expect("json"));
        let mut index = self.index();
        index["manifests"][0]["digest"] = digest.into();
        index["manifests"][0]["size"] = size.into();
        fs::write(
            self.dir.join("index.json"),
            serde_json::to_vec(&index).expect("json"),
        )
        .expect("write index.json");
    }

    /// Stores `bytes` as the config blob and fixes the manifest and the index.
    pub fn put_config_bytes(&self, bytes: &[u8]) {
        let (digest, size) = self.write_blob(bytes);
        let mut manifest = self.manifest();
        manifest["config"]["digest"] = digest.into();
        manifest["config"]["size"] = size.into();
        self.put_manifest(&manifest);
    }

    pub fn put_config(&self, config: &Value) {
        self.put_config_bytes(&serde_json::to_vec(config).expect("json"));
    }

    /// Replaces layer `k` by `blob` (with its media type) whose uncompressed tar has digest
    /// `diff_id`, fixing the config's `rootfs.diff_ids`, the manifest and the index, so that
    /// every digest and size is right and only the tar's content can be wrong.
    pub fn replace_layer(&self, k: usize, blob: &[u8], media_type: &str, diff_id: &str) {
        let (digest, size) = self.write_blob(blob);
        let mut config = self.config();
        config["rootfs"]["diff_ids"][k] = diff_id.into();
        let config_bytes = serde_json::to_vec(&config).expect("json");
        let (config_digest, config_size) = self.write_blob(&config_bytes);
        let mut manifest = self.manifest();
        manifest["config"]["digest"] = config_digest.into();
        manifest["config"]["size"] = config_size.into();
        let layer = &mut manifest["layers"][k];
        layer["digest"] = digest.into();
        layer["size"] = size.into();
        layer["mediaType"] = media_type.into();
        self.put_manifest(&manifest);
    }

    /// Makes the image exactly `tars` (uncompressed layers, bottom first) with `history`:
    /// the config's `diff_ids` and `history`, the manifest and the index fixed to match.
    pub fn set_layers(&self, tars: &[Vec<u8>], history: Value) {
        let mut config = self.config();
        config["rootfs"]["diff_ids"] = tars.iter().map(|t| sha256(t)).collect();
        config["history"] = history;
        let (config_digest, config_size) =
            self.write_blob(&serde_json::to_vec(&config).expect("json"));
        let mut manifest = self.manifest();
        manifest["config"]["digest"] = config_digest.into();
        manifest["config"]["size"] = config_size.into();
        manifest["layers"] = tars
            .iter()
            .map(|t| {
                let (digest, size) = self.write_blob(t);
                serde_json::json!({
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest,
                    "size": size,
                })
            })
            .collect();
        self.put_manifest(&manifest);
    }
}

/// Decompresses a layer blob as strata must (by magic bytes) and returns the tar.
pub fn layer_tar(blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if blob.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(blob)
            .read_to_end(&mut out)
            .expect("gunzip");
    } else if blob.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        out = zstd::decode_all(blob).expect("unzstd");
    } else {
        out = blob.to_vec();
    }
    out
}

/// Facts about one layer tar, read with the `tar` crate (independently of strata's walker).
#[derive(Debug, Default)]
pub struct TarFacts {
    pub entries: u64,
    /// Σ sizes of regular-file entries (hard links count 0), as `shipped` is defined.
    pub regular_bytes: u64,
    pub whiteouts: u64,
}

pub fn tar_facts(tar: &[u8]) -> TarFacts {
    let mut facts = TarFacts::default();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().expect("tar entries") {
        let entry = entry.expect("tar entry");
        facts.entries += 1;
        let header = entry.header();
        if header.entry_type().is_file() {
            facts.regular_bytes += entry.size();
        }
        let path = entry.path().expect("tar path");
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(".wh."))
        {
            facts.whiteouts += 1;
        }
    }
    facts
}

/// A 512-byte ustar header, checksum included, built by hand (so tests can put values in it
/// that the `tar` crate's builder would refuse or fix).
pub fn ustar_header(name: &str, size: u64, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    let size_field = format!("{size:011o}\0");
    assert_eq!(size_field.len(), 12, "size {size} does not fit in ustar");
    h[124..136].copy_from_slice(size_field.as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}
