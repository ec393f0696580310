//! The image as the loader resolved it: which manifest and config were chosen, and where each
//! layer's blob is, with what the manifest and config promise about it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Where the image came from, as recognised from its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// An OCI image layout directory (`oci-layout` + `index.json`).
    OciLayout,
    /// An OCI image layout inside a tar file.
    OciArchive,
    /// `docker save` up to Docker 24 (`manifest.json`, `<id>/layer.tar`).
    DockerArchive,
    /// `docker save` from Docker 25 on: `manifest.json` pointing into an OCI layout's `blobs/`.
    DockerArchiveOci,
    /// A registry (OCI distribution API), read over HTTP.
    Registry,
    /// A Docker or Podman engine's `GET /images/{name}/get`, a streamed `docker save`.
    Engine,
    /// skopeo's `dir:` layout: `manifest.json` and blobs named by their digests' hex.
    Dir,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::OciLayout => "oci layout",
            Format::OciArchive => "oci-archive",
            Format::DockerArchive => "docker-archive",
            Format::DockerArchiveOci => "docker-archive (Docker 25+ OCI)",
            Format::Registry => "registry",
            Format::Engine => "engine",
            Format::Dir => "dir",
        })
    }
}

/// A platform as `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// One layer as the manifest (or `manifest.json`) and the config describe it.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRef {
    /// Position from the bottom, 0-based.
    pub index: usize,
    /// Path of the blob inside the store it is read from (`source::BlobStore`).
    pub location: String,
    /// The blob's digest from the manifest (`sha256:…`), when the format records one.
    pub digest: Option<String>,
    /// The uncompressed tar's digest from the config's `rootfs.diff_ids`.
    pub diff_id: Option<String>,
    /// The blob's size according to the manifest.
    pub size: Option<u64>,
    pub media_type: Option<String>,
    /// The history entry mapped to this layer (`created_by`, `comment`, `created`), if the
    /// history and the layers could be matched.
    pub created_by: Option<String>,
    pub comment: Option<String>,
    pub created: Option<String>,
}

impl LayerRef {
    /// A layer at `index` stored at `location`, with nothing else known yet: the loaders fill
    /// in what their format records (digest, size, media type), the config the diff_id and
    /// history.
    pub fn at(index: usize, location: String) -> LayerRef {
        LayerRef {
            index,
            location,
            digest: None,
            diff_id: None,
            size: None,
            media_type: None,
            created_by: None,
            comment: None,
            created: None,
        }
    }
}

/// The chosen image: everything needed to read its layers.
#[derive(Debug, Clone)]
pub struct Image {
    /// What the user named, for display.
    pub source: String,
    pub format: Format,
    /// The tag or `org.opencontainers.image.ref.name` chosen, if any.
    pub reference: Option<String>,
    pub platform: Option<Platform>,
    /// Digest of the chosen manifest, when the format has one.
    pub manifest_digest: Option<String>,
    /// Digest of the config blob.
    pub config_digest: Option<String>,
    /// The config as raw JSON (for faces that want more than strata reads).
    pub config: serde_json::Value,
    /// Layers from the bottom.
    pub layers: Vec<LayerRef>,
    /// Problems that did not stop loading (history that does not match the layers, …).
    pub warnings: Vec<String>,
    /// Digests and sizes of the index, manifest or config that did not match (or could not be
    /// checked) and were gone past, as `--ignore-errors` and `strata verify` ask; empty
    /// otherwise, since they are errors then.
    pub integrity: Vec<String>,
    /// The manifest's annotations, string values only: what the builder said of the image (`org.opencontainers.image.base.name`, `…source`, …).
    pub annotations: BTreeMap<String, String>,
    /// What BuildKit's provenance attestation of the image (stored beside it in an index)
    /// says of its layers, when there is one.
    pub provenance: Option<crate::dockerfile::provenance::Provenance>,
}

/// The annotation naming the image built FROM, as buildah and BuildKit write it.
pub const BASE_NAME: &str = "org.opencontainers.image.base.name";
/// The annotation holding that image's manifest digest.
pub const BASE_DIGEST: &str = "org.opencontainers.image.base.digest";

/// Which image was read, as the reports name it: where it came from and its digests.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub source: String,
    pub format: Format,
    pub reference: Option<String>,
    pub platform: Option<String>,
    pub manifest_digest: Option<String>,
    pub config_digest: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Image {
    /// The image's [`Identity`].
    pub fn identity(&self) -> Identity {
        Identity {
            source: self.source.clone(),
            format: self.format,
            reference: self.reference.clone(),
            platform: self.platform.as_ref().map(ToString::to_string),
            manifest_digest: self.manifest_digest.clone(),
            config_digest: self.config_digest.clone(),
            annotations: self.annotations.clone(),
        }
    }
}
