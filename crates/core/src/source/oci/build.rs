//! The chosen manifest read into an [`Image`]: its media type and schema checked (artifacts
//! named by their type), its config read and verified, its layers listed and found.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::attestation;
use super::document::{
    ARTIFACT_MANIFEST, Descriptor, Kind, Manifest, artifact_error, is_config_type, is_layer_type,
    kind,
};
use super::walk::{Candidate, read_manifest};
use crate::error::{BadDigest, Corrupt, Error, LayerError, NotAnImage, Result};
use crate::image::{Format, Image, LayerRef, Platform};
use crate::source::blob::{Integrity, parse_object, read_verified};
use crate::source::config;
use crate::source::opened::Opened;
use crate::source::store::{BlobStore, blob_path, is_not_found, malformed_digest};

fn exists(store: &dyn BlobStore, digest: &str) -> Result<bool> {
    store.exists(&blob_path(digest, store.name())?)
}

/// Reads the chosen manifest and its config into an [`Image`], read from `store`, with the
/// provenance its `attestation` manifest holds.
pub(super) fn build(
    store: Arc<dyn BlobStore>,
    format: Format,
    candidate: Candidate,
    explicit: Option<&Platform>,
    mut warnings: Vec<String>,
    mut integrity: Integrity,
    attestation: Option<Descriptor>,
) -> Result<Opened> {
    let s = store.as_ref();
    let name = s.name().to_string();
    let desc = &candidate.desc;
    let manifest = read_image_manifest(s, &candidate, &mut integrity)?;
    let Some(config_desc) = manifest.config else {
        return Err(Error::NotAnImage {
            what: format!("{name}: manifest {}", desc.digest),
            why: NotAnImage::NoConfig,
        });
    };
    let config = read_config(s, &config_desc, &mut warnings, &mut integrity)?;
    let mut layers = list_layers(s, manifest.layers.unwrap_or_default(), &mut warnings)?;
    let platform = desc.platform().or_else(|| config.platform.clone());
    if let (Some(wanted), Some(actual)) = (explicit, &platform)
        && !actual.satisfies(wanted)
    {
        return Err(Error::NotFound(format!(
            "{name}: the image is for {actual}, not {wanted}"
        )));
    }
    config::apply(&config, &mut layers, &mut warnings);
    let annotations = annotations(manifest.annotations.as_ref());
    let provenance = attestation.and_then(|a| {
        let digests: Vec<Option<&str>> = layers.iter().map(|l| l.digest.as_deref()).collect();
        attestation::read(s, &a, &digests, &mut warnings)
    });
    let image = Image {
        source: name,
        format,
        reference: candidate.ref_name,
        platform,
        manifest_digest: Some(desc.digest.clone()),
        config_digest: Some(config_desc.digest),
        config: config.value,
        layers,
        warnings,
        integrity: integrity.gone_past,
        annotations,
        provenance,
    };
    Ok(Opened::to_read(image, store))
}

/// The manifest's string annotations, at most [`MAX_ANNOTATIONS`] (the document is
/// size-capped already; this caps what is kept of it). Its index entry's are not taken: they
/// say where the image is stored (`org.opencontainers.image.ref.name` in a layout), which a
/// registry's copy of the same image does not.
fn annotations(manifest: Option<&serde_json::Value>) -> BTreeMap<String, String> {
    manifest
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .take(MAX_ANNOTATIONS)
        .collect()
}

/// The most annotations kept of an image (real images carry a handful).
const MAX_ANNOTATIONS: usize = 256;

/// Reads and verifies the candidate's manifest, and refuses what is no image manifest: a blob
/// that is not there, Docker schema 1, an index, an artifact (named by its type).
fn read_image_manifest(
    s: &dyn BlobStore,
    candidate: &Candidate,
    integrity: &mut Integrity,
) -> Result<Manifest> {
    let desc = &candidate.desc;
    let what = format!("{}: manifest {}", s.name(), desc.digest);
    if !candidate.present {
        return Err(match malformed_digest(&desc.digest) {
            Some(fault) => Error::BadDigest {
                what,
                why: BadDigest::Listed(fault),
            },
            None => Error::Corrupt {
                what,
                why: Corrupt::ManifestNotInLayout,
            },
        });
    }
    let bytes = read_manifest(s, desc, &what, integrity)?;
    let manifest: Manifest = parse_object(&bytes, &what)?;
    let not = |why| {
        Err(Error::NotAnImage {
            what: what.clone(),
            why,
        })
    };
    let media_type = desc.media_type.as_ref().or(manifest.media_type.as_ref());
    match media_type.map(|m| (m, kind(m))) {
        Some((m, Kind::Schema1)) => {
            return not(NotAnImage::Schema1 {
                media_type: Some(m.clone()),
            });
        }
        // OCI 1.1's draft artifact manifest, which registries still hold.
        Some((m, Kind::Other)) if m == ARTIFACT_MANIFEST => {
            let t = manifest.artifact_type.as_deref().unwrap_or(m);
            return Err(artifact_error(&what, t));
        }
        Some((m, Kind::Other | Kind::Index)) => {
            return not(NotAnImage::UnsupportedMediaType {
                media_type: m.clone(),
            });
        }
        _ => {}
    }
    if manifest
        .schema_version
        .as_ref()
        .is_some_and(|v| v.as_u64() == Some(1))
    {
        return not(NotAnImage::Schema1 { media_type: None });
    }
    if let Some(t) = manifest.artifact_type() {
        return Err(artifact_error(&what, t));
    }
    Ok(manifest)
}

/// Reads, verifies and parses the config a manifest names (a warning for a media type that is
/// no image config's).
fn read_config(
    s: &dyn BlobStore,
    config_desc: &Descriptor,
    warnings: &mut Vec<String>,
    integrity: &mut Integrity,
) -> Result<config::Config> {
    if let Some(m) = &config_desc.media_type
        && !is_config_type(m)
    {
        warnings.push(format!(
            "config media type {m} is not a container image config; reading it anyway"
        ));
    }
    let config_what = format!("{}: config {}", s.name(), config_desc.digest);
    let config_bytes = read_verified(
        s,
        &config_desc.digest,
        config_desc.size,
        &config_what,
        integrity,
    )
    .map_err(|e| match malformed_digest(&config_desc.digest) {
        Some(fault) if is_not_found(&e) => Error::BadDigest {
            what: config_what.clone(),
            why: BadDigest::Named(fault),
        },
        _ => e,
    })?;
    config::parse(&config_bytes, &config_what)
}

/// The manifest's layers, each found in the store (a warning for a media type that is no
/// layer's: it is read by its content).
fn list_layers(
    s: &dyn BlobStore,
    descriptors: Vec<Descriptor>,
    warnings: &mut Vec<String>,
) -> Result<Vec<LayerRef>> {
    let name = s.name();
    let mut layers = Vec::new();
    for (index, l) in descriptors.into_iter().enumerate() {
        let location = blob_path(&l.digest, name)?;
        if let Some(m) = &l.media_type
            && !is_layer_type(m)
        {
            warnings.push(format!(
                "layer {index}: unknown media type {m}; it is read by its content"
            ));
        }
        if !exists(s, &l.digest)? {
            let source = match malformed_digest(&l.digest) {
                Some(fault) => LayerError::MalformedDigest {
                    fault: fault.to_string(),
                },
                None => LayerError::MissingBlob {
                    store: name.to_string(),
                },
            };
            return Err(Error::Layer {
                layer: index,
                blob: l.digest,
                source,
            });
        }
        layers.push(LayerRef {
            digest: Some(l.digest),
            size: l.size,
            media_type: l.media_type,
            ..LayerRef::at(index, location)
        });
    }
    Ok(layers)
}
