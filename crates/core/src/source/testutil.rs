//! Test helpers: build tars, OCI layouts and docker-save archives from test code.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::store::BlobStore;

pub fn read_all(store: &dyn BlobStore, location: &str) -> Vec<u8> {
    let (mut r, len) = store.open(location).unwrap();
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    assert_eq!(v.len() as u64, len);
    v
}

pub fn sha256(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

enum Item {
    File(String, Vec<u8>),
    Symlink(String, String),
    Hardlink(String, String),
    Dir(String),
}

/// Builds an uncompressed tar in memory, member by member.
#[derive(Default)]
pub struct TarBuilder(Vec<Item>);

impl TarBuilder {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn file(mut self, path: &str, data: &[u8]) -> Self {
        self.0.push(Item::File(path.into(), data.to_vec()));
        self
    }
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.0.push(Item::Symlink(path.into(), target.into()));
        self
    }
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        self.0.push(Item::Hardlink(path.into(), target.into()));
        self
    }
    pub fn dir(mut self, path: &str) -> Self {
        self.0.push(Item::Dir(path.into()));
        self
    }
    pub fn bytes(self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for item in self.0 {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            match item {
                Item::File(p, data) => {
                    h.set_size(data.len() as u64);
                    h.set_entry_type(tar::EntryType::Regular);
                    b.append_data(&mut h, p, data.as_slice()).unwrap();
                }
                Item::Symlink(p, t) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Symlink);
                    b.append_link(&mut h, p, t).unwrap();
                }
                Item::Hardlink(p, t) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Link);
                    b.append_link(&mut h, p, t).unwrap();
                }
                Item::Dir(p) => {
                    h.set_size(0);
                    h.set_entry_type(tar::EntryType::Directory);
                    b.append_data(&mut h, p, std::io::empty()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }
    pub fn write(self, path: &Path) {
        std::fs::write(path, self.bytes()).unwrap();
    }
}

/// An OCI layout being written: blobs by digest, in a directory.
pub struct Layout {
    pub root: std::path::PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        std::fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        Layout {
            root: root.to_path_buf(),
        }
    }

    /// Writes a blob and returns its descriptor.
    pub fn blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let digest = sha256(bytes);
        let hex = digest.trim_start_matches("sha256:");
        std::fs::write(self.root.join("blobs/sha256").join(hex), bytes).unwrap();
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    /// A descriptor for a blob that is not written (another platform's).
    pub fn absent(&self, media_type: &str, bytes: &[u8]) -> Value {
        json!({"mediaType": media_type, "digest": sha256(bytes), "size": bytes.len()})
    }

    /// Writes layers, a config and a manifest; returns the manifest's descriptor.
    pub fn image(&self, layers: &[&[u8]], config: &Value) -> Value {
        let layer_descs: Vec<Value> = layers
            .iter()
            .map(|l| self.blob("application/vnd.oci.image.layer.v1.tar", l))
            .collect();
        let config = self.blob(
            "application/vnd.oci.image.config.v1+json",
            config.to_string().as_bytes(),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": config,
            "layers": layer_descs,
        });
        self.blob(
            "application/vnd.oci.image.manifest.v1+json",
            manifest.to_string().as_bytes(),
        )
    }

    /// Writes a nested index of `manifests` and returns its descriptor.
    pub fn index(&self, manifests: Vec<Value>) -> Value {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        });
        self.blob(
            "application/vnd.oci.image.index.v1+json",
            index.to_string().as_bytes(),
        )
    }

    pub fn write_index(&self, manifests: Vec<Value>) {
        let index = json!({"schemaVersion": 2, "manifests": manifests});
        std::fs::write(self.root.join("index.json"), index.to_string()).unwrap();
    }
}

/// Adds fields to a descriptor.
pub fn with(mut desc: Value, extra: Value) -> Value {
    if let (Some(d), Some(e)) = (desc.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            d.insert(k.clone(), v.clone());
        }
    }
    desc
}

pub fn platform(os: &str, arch: &str) -> Value {
    json!({"platform": {"os": os, "architecture": arch}})
}

pub fn ref_name(name: &str) -> Value {
    json!({"annotations": {"org.opencontainers.image.ref.name": name}})
}

/// A config with the given diff_ids and history.
pub fn config(layers: &[&[u8]], history: Value) -> Value {
    let diff_ids: Vec<String> = layers.iter().map(|l| sha256(l)).collect();
    json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    })
}

/// Tars the contents of a directory (recursively), paths relative to it.
pub fn tar_dir(dir: &Path, out: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    b.follow_symlinks(false);
    b.append_dir_all(".", dir).unwrap();
    b.finish().unwrap();
}
