//! The documents of an OCI layout as strata reads them: descriptors, indexes and manifests,
//! what a media type says a document is, and whether a manifest is an image or an artifact
//! (a signature, an SBOM, a Helm chart), named by its type.
//!
//! They are read into the lenient structs below, not oci-spec's `ImageIndex`/`ImageManifest`:
//! those reject a whole document for one entry strata would never use (a descriptor without
//! `size`, a platform without `os`, a digest outside the spec's grammar, an attestation entry),
//! and layouts written by real tools hold such entries for other platforms. oci-spec's
//! [`MediaType`] names the OCI media types.

use std::collections::HashMap;

use oci_spec::image::MediaType;
use serde::Deserialize;

use crate::error::{Error, NotAnImage};
use crate::image::Platform;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Descriptor {
    #[serde(default)]
    pub(super) media_type: Option<String>,
    pub(super) digest: String,
    #[serde(default)]
    pub(super) size: Option<u64>,
    #[serde(default)]
    pub(super) annotations: Option<HashMap<String, String>>,
    #[serde(default)]
    pub(super) platform: Option<DescriptorPlatform>,
    /// An index's entries carry the artifact type of the manifest they name (OCI 1.1).
    #[serde(default)]
    pub(super) artifact_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct DescriptorPlatform {
    #[serde(default)]
    pub(super) os: Option<String>,
    #[serde(default)]
    pub(super) architecture: Option<String>,
    #[serde(default)]
    pub(super) variant: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Index {
    #[serde(default)]
    pub(super) manifests: Option<Vec<Descriptor>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Manifest {
    #[serde(default)]
    pub(super) schema_version: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) media_type: Option<String>,
    #[serde(default)]
    pub(super) config: Option<Descriptor>,
    #[serde(default)]
    pub(super) layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub(super) artifact_type: Option<String>,
    /// Read leniently: a value that is no string is skipped, not an error (the spec asks
    /// for strings; nothing strata shows depends on them).
    #[serde(default)]
    pub(super) annotations: Option<serde_json::Value>,
    /// Only to tell an index without a media type from a manifest.
    #[serde(default)]
    pub(super) manifests: Option<serde::de::IgnoredAny>,
}

impl Descriptor {
    pub(super) fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    pub(super) fn platform(&self) -> Option<Platform> {
        let p = self.platform.as_ref()?;
        Some(Platform {
            os: p.os.clone().filter(|s| !s.is_empty())?,
            architecture: p.architecture.clone().filter(|s| !s.is_empty())?,
            variant: p.variant.clone().filter(|s| !s.is_empty()),
        })
    }

    /// BuildKit's attestation manifests: platform `unknown/unknown`, or the annotation.
    pub(super) fn is_attestation(&self) -> bool {
        let unknown = self.platform.as_ref().is_some_and(|p| {
            p.os.as_deref() == Some("unknown") && p.architecture.as_deref() == Some("unknown")
        });
        unknown || self.annotation("vnd.docker.reference.type") == Some("attestation-manifest")
    }
}

/// What a media type says a document is. OCI and Docker schema 2 are one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Index,
    Manifest,
    Schema1,
    Other,
}

pub(super) fn kind(media_type: &str) -> Kind {
    match MediaType::from(media_type) {
        MediaType::ImageIndex => Kind::Index,
        MediaType::ImageManifest => Kind::Manifest,
        MediaType::Other(other) => match other.as_str() {
            "application/vnd.docker.distribution.manifest.list.v2+json" => Kind::Index,
            "application/vnd.docker.distribution.manifest.v2+json" => Kind::Manifest,
            "application/vnd.docker.distribution.manifest.v1+json"
            | "application/vnd.docker.distribution.manifest.v1+prettyjws" => Kind::Schema1,
            _ => Kind::Other,
        },
        _ => Kind::Other,
    }
}

pub(super) fn is_layer_type(media_type: &str) -> bool {
    match MediaType::from(media_type) {
        MediaType::ImageLayer
        | MediaType::ImageLayerGzip
        | MediaType::ImageLayerZstd
        | MediaType::ImageLayerNonDistributable
        | MediaType::ImageLayerNonDistributableGzip
        | MediaType::ImageLayerNonDistributableZstd => true,
        MediaType::Other(other) => matches!(
            other.as_str(),
            "application/vnd.docker.image.rootfs.diff.tar"
                | "application/vnd.docker.image.rootfs.diff.tar.gzip"
                | "application/vnd.docker.image.rootfs.diff.tar.zstd"
                | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        ),
        _ => false,
    }
}

pub(super) fn is_config_type(media_type: &str) -> bool {
    MediaType::from(media_type) == MediaType::ImageConfig
        || media_type == "application/vnd.docker.container.image.v1+json"
}

/// The artifact manifest of the OCI 1.1 drafts (withdrawn before the release; registries and
/// ORAS 1.0 wrote it).
pub(super) const ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";

/// The OCI 1.1 empty descriptor's type: a config that says nothing (the artifact's type is
/// then its `artifactType`).
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Whether a media type names a document rather than a filesystem: JSON, YAML or XML (by its
/// structured-syntax suffix, RFC 6839), text, or the empty descriptor. Signatures, SBOMs and
/// attestations have such layers; a layer of an image is a tar.
pub(super) fn is_document_type(media_type: &str) -> bool {
    let m = media_type.split(';').next().unwrap_or(media_type).trim();
    m.ends_with("+json")
        || m.ends_with("+yaml")
        || m.ends_with("+xml")
        || m == "application/json"
        || m.starts_with("text/")
}

impl Manifest {
    /// The artifact type of a manifest that is no container image, as ORAS and the OCI spec's
    /// guidance define it: `artifactType`, else the config's media type. A manifest with any
    /// image layer is an image, whatever it says (its config then gets a warning); one with an
    /// image config is an artifact only when every layer is a document (cosign signatures and
    /// BuildKit's older attestations have an image config and JSON layers); a layer of an
    /// unknown type is still read as an image's, by its content.
    pub(super) fn artifact_type(&self) -> Option<&str> {
        let layers = self.layers.as_deref().unwrap_or_default();
        fn layer_type(l: &Descriptor) -> Option<&str> {
            l.media_type.as_deref()
        }
        if layers.iter().filter_map(layer_type).any(is_layer_type) {
            return None;
        }
        let first_layer = layers.iter().find_map(layer_type);
        if let Some(t) = self.artifact_type.as_deref().filter(|t| !t.is_empty()) {
            return Some(t);
        }
        let config = self.config.as_ref().and_then(|c| c.media_type.as_deref());
        match config {
            // An empty config (the spec wants `artifactType` then): the layers say.
            Some(EMPTY) => return first_layer.or(config),
            Some(c) if !is_config_type(c) => return Some(c),
            _ => {}
        }
        let documents = !layers.is_empty()
            && layers
                .iter()
                .all(|l| layer_type(l).is_some_and(is_document_type));
        if documents { first_layer } else { None }
    }
}

/// What an artifact type is, in words, for the common ones.
pub(super) fn artifact_name(artifact_type: &str) -> Option<&'static str> {
    let t = artifact_type.to_ascii_lowercase();
    let has = |s: &str| t.contains(s);
    Some(if has("helm") {
        "a Helm chart"
    } else if has("cosign") && has("sig") || has("notary") || has("jose") || has("cose") {
        "a signature"
    } else if has("sigstore") {
        "a Sigstore bundle"
    } else if has("spdx") {
        "an SPDX SBOM"
    } else if has("cyclonedx") {
        "a CycloneDX SBOM"
    } else if has("in-toto") || has("dsse") || has("attestation") {
        "an attestation"
    } else if has("wasm") {
        "a WebAssembly module"
    } else if has("sarif") {
        "a SARIF report"
    } else {
        return None;
    })
}

/// The error for a manifest that is an artifact of type `artifact_type`.
pub(super) fn artifact_error(what: &str, artifact_type: &str) -> Error {
    Error::NotAnImage {
        what: what.to_string(),
        why: NotAnImage::Artifact {
            artifact_type: crate::layer::shown(artifact_type),
            known: artifact_name(artifact_type),
        },
    }
}
