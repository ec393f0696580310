//! Helpers for `tests/reference.rs`: the final filesystem as strata models it and as a real
//! unpacker leaves it on disk, compared field by field; external tools run with a clear failure
//! when they are missing; small OCI layouts built from hand-written tar entries.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::Digest;
use strata::analysis::Analysis;
use strata::engine::{LoadOptions, Loaded, Progress};
use strata::layer::Kind;
use strata::source::OpenOptions;

/// The crate root (testdata lives there).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn images() -> PathBuf {
    root().join("testdata/images")
}

/// Loads an image through the library, as the binary does.
pub fn load(spec: &str, platform: Option<&str>, tag: Option<&str>) -> (Loaded, Analysis) {
    let options = OpenOptions {
        platform: platform.map(str::to_string),
        tag: tag.map(str::to_string),
        ..OpenOptions::default()
    };
    let image = strata::source::open(spec, &options)
        .unwrap_or_else(|e| panic!("strata cannot open {spec}: {e}"));
    let loaded = strata::engine::load(image, &LoadOptions::default(), &Progress::default())
        .unwrap_or_else(|e| panic!("strata cannot load {spec}: {e}"));
    let analysis = Analysis::new(&loaded);
    (loaded, analysis)
}

/// Fails loudly when a reference tool is missing: these tests never skip.
pub fn require(tool: &str, install: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`{tool}` is required by the reference tests and was not found or does not run; \
         install it with `{install}`"
    );
}

/// Runs a command, panicking with its output when it fails.
pub fn run(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    assert!(
        out.status.success(),
        "{shown} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// One path of a final filesystem, as far as both sides can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: &'static str,
    /// `mode & 0o7777`; `None` for symlinks (Linux keeps no mode for them: lstat always says
    /// 0777, whatever the tar header carried).
    pub mode: Option<u32>,
    pub uid: u32,
    pub gid: u32,
    /// Regular files: size and xxh3 of the content (strata's `Meta::hash`).
    pub size: Option<u64>,
    pub hash: Option<u64>,
    pub target: Option<String>,
}

/// A final filesystem: every path but the root, and the groups of paths sharing one inode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    pub entries: BTreeMap<String, Entry>,
    pub links: BTreeSet<Vec<String>>,
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::File | Kind::Hardlink => "file",
        Kind::Dir => "dir",
        Kind::Symlink => "symlink",
        Kind::CharDevice => "char",
        Kind::BlockDevice => "block",
        Kind::Fifo => "fifo",
    }
}

/// strata's final filesystem.
pub fn strata_tree(loaded: &Loaded) -> Tree {
    let fs = &loaded.fs;
    let mut tree = Tree::default();
    let mut groups: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for node in fs.node_ids().skip(1) {
        let Some(m) = fs.final_state(node) else {
            continue;
        };
        let path = fs.path(node).trim_start_matches('/').to_string();
        let kind = kind_name(m.kind);
        let file = kind == "file";
        if let Some(object) = m.object() {
            groups.entry(object).or_default().push(path.clone());
        }
        tree.entries.insert(
            path,
            Entry {
                kind,
                mode: (kind != "symlink").then_some(m.mode & 0o7777),
                uid: m.uid,
                gid: m.gid,
                size: file.then_some(m.size),
                hash: file.then_some(m.hash),
                target: fs
                    .link_target(m)
                    .map(|t| String::from_utf8_lossy(t).into_owned()),
            },
        );
    }
    tree.links = groups
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    tree
}

/// A directory tree on disk, walked without following symlinks.
pub fn disk_tree(root: &Path) -> Tree {
    let mut tree = Tree::default();
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let listing =
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
        for item in listing {
            let item = item.unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()));
            let name = item.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let full = item.path();
            let md = std::fs::symlink_metadata(&full)
                .unwrap_or_else(|e| panic!("lstat {}: {e}", full.display()));
            let ft = md.file_type();
            let kind = if ft.is_file() {
                "file"
            } else if ft.is_dir() {
                "dir"
            } else if ft.is_symlink() {
                "symlink"
            } else if ft.is_char_device() {
                "char"
            } else if ft.is_block_device() {
                "block"
            } else if ft.is_fifo() {
                "fifo"
            } else {
                "socket"
            };
            let (size, hash) = if kind == "file" {
                let bytes =
                    std::fs::read(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()));
                inodes
                    .entry((md.dev(), md.ino()))
                    .or_default()
                    .push(rel.clone());
                (Some(md.len()), Some(xxhash_rust::xxh3::xxh3_64(&bytes)))
            } else {
                (None, None)
            };
            let target = ft.is_symlink().then(|| {
                std::fs::read_link(&full)
                    .unwrap_or_else(|e| panic!("readlink {}: {e}", full.display()))
                    .to_string_lossy()
                    .into_owned()
            });
            if kind == "dir" {
                stack.push((full, rel.clone()));
            }
            tree.entries.insert(
                rel,
                Entry {
                    kind,
                    mode: (kind != "symlink").then_some(md.mode() & 0o7777),
                    uid: md.uid(),
                    gid: md.gid(),
                    size,
                    hash,
                    target,
                },
            );
        }
    }
    tree.links = inodes
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            g
        })
        .collect();
    tree
}

/// Every difference between two trees, one line each (empty when they agree).
pub fn diff_trees(left: &str, a: &Tree, right: &str, b: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    for (path, ea) in &a.entries {
        match b.entries.get(path) {
            None => out.push(format!("{path}: only in {left} ({})", ea.kind)),
            Some(eb) if ea != eb => out.push(format!(
                "{path}: {left} {} vs {right} {}",
                show(ea),
                show(eb)
            )),
            Some(_) => {}
        }
    }
    for (path, eb) in &b.entries {
        if !a.entries.contains_key(path) {
            out.push(format!("{path}: only in {right} ({})", eb.kind));
        }
    }
    for g in a.links.difference(&b.links) {
        out.push(format!("hard-link group only in {left}: {g:?}"));
    }
    for g in b.links.difference(&a.links) {
        out.push(format!("hard-link group only in {right}: {g:?}"));
    }
    out
}

fn show(e: &Entry) -> String {
    let mut s = e.kind.to_string();
    if let Some(m) = e.mode {
        s += &format!(" {m:04o}");
    }
    s += &format!(" {}:{}", e.uid, e.gid);
    if let Some(size) = e.size {
        s += &format!(" {size} B xxh3={:016x}", e.hash.unwrap_or(0));
    }
    if let Some(t) = &e.target {
        s += &format!(" -> {t}");
    }
    s
}

/// `umoci unpack --image LAYOUT:TAG BUNDLE` with umask 022 (implicit parents are then 0755, as
/// strata models them); returns the bundle's `rootfs`.
pub fn umoci_unpack(layout: &Path, tag: &str, bundle: &Path) -> PathBuf {
    require("umoci", "apt-get install umoci");
    run(Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec umoci unpack --image \"$1\" \"$2\"")
        .arg("sh")
        .arg(format!("{}:{tag}", layout.display()))
        .arg(bundle));
    bundle.join("rootfs")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One hand-written tar entry.
#[derive(Debug, Clone)]
pub enum E {
    Dir(&'static str, u32),
    File(&'static str, u32, &'static [u8]),
    /// A regular file with an owner other than root.
    Owned(&'static str, u32, u32, u32, &'static [u8]),
    Symlink(&'static str, &'static str),
    Hardlink(&'static str, &'static str),
    /// `.wh.` markers are empty regular files (mode 0, as buildah's vfs writes them).
    Marker(&'static str),
}

fn raw_header(name: &str, kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    let n = name.as_bytes();
    assert!(n.len() < 100, "test names must fit the ustar name field");
    // Written raw: the tar crate's setters refuse `..`, which is exactly what we need to ship.
    h.as_old_mut().name[..n.len()].copy_from_slice(n);
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(size);
    h
}

/// An uncompressed tar holding `entries` in this order.
pub fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let (mut h, data): (tar::Header, &[u8]) = match e {
            E::Dir(n, mode) => (raw_header(n, tar::EntryType::Directory, *mode, 0), &[]),
            E::File(n, mode, data) => (
                raw_header(n, tar::EntryType::Regular, *mode, data.len() as u64),
                data,
            ),
            E::Owned(n, mode, uid, gid, data) => {
                let mut h = raw_header(n, tar::EntryType::Regular, *mode, data.len() as u64);
                h.set_uid(u64::from(*uid));
                h.set_gid(u64::from(*gid));
                (h, data)
            }
            E::Marker(n) => (raw_header(n, tar::EntryType::Regular, 0, 0), &[]),
            E::Symlink(n, t) | E::Hardlink(n, t) => {
                let kind = if matches!(e, E::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                };
                let mut h = raw_header(n, kind, 0o777, 0);
                let t = t.as_bytes();
                assert!(t.len() < 100);
                h.as_old_mut().linkname[..t.len()].copy_from_slice(t);
                (h, &[])
            }
        };
        h.set_cksum();
        b.append(&h, data).expect("append to an in-memory tar");
    }
    b.into_inner().expect("finish an in-memory tar")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

fn put_blob(dir: &Path, bytes: &[u8]) -> (String, usize) {
    let hex = sha256_hex(bytes);
    std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).expect("write blob");
    (format!("sha256:{hex}"), bytes.len())
}

/// Writes an OCI image layout at `dir` (tagged `latest`) with one gzip layer per element of
/// `layers`, correct digests and diff_ids, a config and a manifest.
pub fn write_layout(dir: &Path, layers: &[Vec<E>]) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).expect("mkdir layout");
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for (i, entries) in layers.iter().enumerate() {
        let tar = tar_bytes(entries);
        diff_ids.push(format!("sha256:{}", sha256_hex(&tar)));
        let (digest, size) = put_blob(dir, &gzip(&tar));
        descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest,
            "size": size,
        }));
        history.push(serde_json::json!({"created_by": format!("hand-made layer {i}")}));
    }
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let (cdigest, csize) = put_blob(dir, config.to_string().as_bytes());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": cdigest,
            "size": csize,
        },
        "layers": descs,
    });
    let (mdigest, msize) = put_blob(dir, manifest.to_string().as_bytes());
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdigest,
            "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": "latest"},
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).expect("write index.json");
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)
        .expect("write oci-layout");
}
