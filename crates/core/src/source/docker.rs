//! `docker save` archives, both ages: `manifest.json` names each image's config and layers.
//! Up to Docker 24 they are `<id>/layer.tar` and `<id>.json`; from Docker 25 they point into
//! `blobs/sha256/`. The OCI half Docker 25 adds is not read for the image: 25.0.x wrote it
//! wrong, and `manifest.json`'s layer order is the one Docker itself loads. Only the digest of
//! its manifest of the image is taken from it, for [`Image::manifest_digest`], and the
//! provenance attestation its index lists for that manifest (containerd's image store saves
//! BuildKit's), for [`Image::provenance`].

use std::sync::Arc;

use serde::Deserialize;

use super::blob::{Integrity, parse_json, read_small, verify};
use super::opened::Opened;
use super::store::{BlobStore, normalise};
use super::want::{Want, list_cut, same_image_name};
use super::{config, oci};
use crate::error::{Error, LayerError, NotAnImage, Result};
use crate::image::{Format, Image, LayerRef};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// The digest a path names: `blobs/<alg>/<hex>` → `alg:hex`.
fn blob_digest(location: &str) -> Option<String> {
    let rest = location.strip_prefix("blobs/")?;
    let (alg, hex) = rest.split_once('/')?;
    (!alg.is_empty() && !hex.is_empty() && !hex.contains('/')).then(|| format!("{alg}:{hex}"))
}

/// The config's digest from its name: `blobs/sha256/<hex>`, or `<hex>.json` (the image ID of
/// older Docker and skopeo, which is the config's sha256).
fn config_digest(location: &str) -> Option<String> {
    if let Some(d) = blob_digest(location) {
        return Some(d);
    }
    let hex = location.strip_suffix(".json")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("sha256:{hex}"))
}

/// Which entry of `manifest.json` to load: by tag (`repo:tag`, Docker Hub names shortened,
/// `:latest` implied), by position (`@N`, as skopeo spells it), or the first.
fn select(entries: &[Entry], tag: Option<&str>, store: &str) -> Result<usize> {
    let Some(tag) = tag else { return Ok(0) };
    if let Some(n) = tag.strip_prefix('@') {
        return match n.parse::<usize>() {
            Ok(i) if i < entries.len() => Ok(i),
            _ => Err(Error::NotFound(format!(
                "{store}: no image {tag}; the archive holds {} (@0 to @{})",
                entries.len(),
                entries.len().saturating_sub(1)
            ))),
        };
    }
    if let Some(i) = entries.iter().position(|e| {
        e.repo_tags
            .iter()
            .flatten()
            .any(|t| same_image_name(t, tag))
    }) {
        return Ok(i);
    }
    let mut present: Vec<String> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        match e.repo_tags.as_deref() {
            Some(tags) if !tags.is_empty() => present.extend(tags.iter().cloned()),
            _ => present.push(format!("@{i} (untagged)")),
        }
    }
    Err(Error::NotFound(format!(
        "{store}: no image tagged {tag}; tags present: {}",
        list_cut(&present)
    )))
}

/// Loads one image of a `docker save` archive (or a directory it was extracted to).
pub(crate) fn load(store: Arc<dyn BlobStore>, want: &Want<'_>) -> Result<Opened> {
    let (tag, explicit) = (want.reference, want.platform);
    let mut integrity = Integrity::new(want.lenient);
    let s = store.as_ref();
    let name = s.name().to_string();
    let entries = read_entries(s)?;
    let entry = &entries[select(&entries, tag, &name)?];
    let mut warnings = Vec::new();
    if tag.is_none() && entries.len() > 1 {
        warnings.push(several_images(&entries, &name));
    }

    let config_location = normalise(&entry.config);
    let config_what = format!("{name}: {config_location}");
    let config_bytes = read_small(s, &config_location, &config_what)?;
    let config_digest = config_digest(&config_location);
    if let Some(d) = &config_digest {
        integrity.check(verify(&config_bytes, d, &config_what))?;
    }
    let config = config::parse(&config_bytes, &config_what)?;
    let mut layers = list_layers(s, &entry.layers)?;
    let format = if config_location.starts_with("blobs/")
        || layers.iter().any(|l| l.location.starts_with("blobs/"))
    {
        Format::DockerArchiveOci
    } else {
        Format::DockerArchive
    };

    let platform = config.platform.clone();
    if let (Some(wanted), Some(actual)) = (explicit, &platform)
        && !actual.satisfies(wanted)
    {
        return Err(Error::NotFound(format!(
            "{name}: the image is for {actual}, not {wanted}"
        )));
    }
    config::apply(&config, &mut layers, &mut warnings);
    // The tag as the archive spells it: the one asked for, else the image's first.
    let tags = entry.repo_tags.as_deref().unwrap_or_default();
    let reference = tag
        .and_then(|t| tags.iter().find(|rt| same_image_name(rt, t)))
        .or(tags.first())
        .cloned();
    let beside = oci_manifest(s, config_digest.as_deref(), &layers)?;
    let provenance = beside.as_ref().and_then(|b| {
        let digests: Vec<Option<&str>> = layers.iter().map(|l| l.digest.as_deref()).collect();
        b.provenance(s, &digests, &mut warnings)
    });
    let manifest_digest = beside.map(|b| b.digest);
    let image = Image {
        source: name,
        format,
        reference,
        platform,
        manifest_digest,
        config_digest,
        config: config.value,
        layers,
        warnings,
        integrity: integrity.gone_past,
        annotations: std::collections::BTreeMap::new(),
        provenance,
    };
    Ok(Opened::to_read(image, store))
}

/// The entries of `manifest.json`: at least one.
fn read_entries(s: &dyn BlobStore) -> Result<Vec<Entry>> {
    let what = format!("{}: manifest.json", s.name());
    let entries: Vec<Entry> = parse_json(&read_small(s, "manifest.json", &what)?, &what)?;
    if entries.is_empty() {
        return Err(Error::NotAnImage {
            what,
            why: NotAnImage::NoImages,
        });
    }
    Ok(entries)
}

/// The warning that the first of several images is shown.
fn several_images(entries: &[Entry], name: &str) -> String {
    let tags: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.repo_tags.as_ref()?.first().map(String::as_str))
        .collect();
    format!(
        "{name} holds {} images ({}); showing the first — pick another as {name}:REPO:TAG",
        entries.len(),
        list_cut(&tags)
    )
}

/// The layers an entry lists, each a member of the archive.
fn list_layers(s: &dyn BlobStore, paths: &[String]) -> Result<Vec<LayerRef>> {
    let mut layers = Vec::new();
    for (index, l) in paths.iter().enumerate() {
        let location = normalise(l);
        if !s.exists(&location)? {
            return Err(Error::Layer {
                layer: index,
                blob: location,
                source: LayerError::NotInArchive {
                    store: s.name().to_string(),
                },
            });
        }
        layers.push(LayerRef {
            digest: blob_digest(&location),
            ..LayerRef::at(index, location)
        });
    }
    Ok(layers)
}

/// Docker 25+ writes an OCI layout beside manifest.json: its manifest of this image (whose
/// config is `config`, when its name gives a digest) names it, and its index may list the
/// image's provenance attestation (containerd's image store keeps BuildKit's).
fn oci_manifest(
    s: &dyn BlobStore,
    config: Option<&str>,
    layers: &[LayerRef],
) -> Result<Option<oci::Beside>> {
    let layout = s.exists("index.json")?;
    let Some(config) = config.filter(|_| layout) else {
        return Ok(None);
    };
    let layer_digests: Vec<Option<String>> = layers.iter().map(|l| l.digest.clone()).collect();
    Ok(oci::manifest_beside(s, config, &layer_digests))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_paths() {
        let hex = "a".repeat(64);
        assert_eq!(
            blob_digest(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(blob_digest("abc/layer.tar"), None);
        assert_eq!(
            config_digest(&format!("{hex}.json")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(config_digest("abc.json"), None);
    }
}
