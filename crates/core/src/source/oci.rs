//! OCI image layouts, in a directory or an oci-archive: walk `index.json` and the indexes it
//! points to, choose one image by reference name and platform, read its manifest and config.
//! OCI artifacts (signatures, SBOMs, attestations, Helm charts: manifests with no filesystem
//! layers) stored beside the images are passed over when an image is there, and named by their
//! type when one is what was asked for.
//!
//! Index, manifest and descriptors are read into the lenient structs below, not oci-spec's
//! `ImageIndex`/`ImageManifest`: those reject a whole document for one entry strata would never
//! use (a descriptor without `size`, a platform without `os`, a digest outside the spec's
//! grammar, an attestation entry), and layouts written by real tools hold such entries for
//! other platforms. oci-spec's [`MediaType`] names the OCI media types.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use oci_spec::image::MediaType;
use serde::Deserialize;

use super::blob::{
    Integrity, parse_json, parse_object, read_small, read_verified, read_verified_at, short,
};
use super::config;
use super::opened::Opened;
use super::store::{BlobStore, blob_path, is_not_found, malformed_digest};
use super::want::{Want, list_cut, same_image_name};
use crate::error::{BadDigest, Corrupt, Error, LayerError, NotAnImage, Result, TooMany};
use crate::image::{Format, Image, LayerRef, Platform};

/// The annotation naming an image in a layout; it counts only on `index.json`'s own entries.
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// containerd's (and Docker 25's) full image name, next to the short `REF_NAME`.
const CONTAINERD_NAME: &str = "io.containerd.image.name";
/// How deep indexes may nest below `index.json`.
const MAX_DEPTH: usize = 8;
/// The most nested indexes read while looking for the image (each distinct one is read once;
/// real layouts have one or two).
const MAX_INDEXES: usize = 1_000;
/// The most distinct documents an index walk may visit (an index of every platform lists a
/// few dozen).
const MAX_CANDIDATES: usize = 100_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    annotations: Option<HashMap<String, String>>,
    #[serde(default)]
    platform: Option<DescriptorPlatform>,
    /// An index's entries carry the artifact type of the manifest they name (OCI 1.1).
    #[serde(default)]
    artifact_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct DescriptorPlatform {
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    artifact_type: Option<String>,
    /// Only to tell an index without a media type from a manifest.
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
}

impl Descriptor {
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    fn platform(&self) -> Option<Platform> {
        let p = self.platform.as_ref()?;
        Some(Platform {
            os: p.os.clone().filter(|s| !s.is_empty())?,
            architecture: p.architecture.clone().filter(|s| !s.is_empty())?,
            variant: p.variant.clone().filter(|s| !s.is_empty()),
        })
    }

    /// BuildKit's attestation manifests: platform `unknown/unknown`, or the annotation.
    fn is_attestation(&self) -> bool {
        let unknown = self.platform.as_ref().is_some_and(|p| {
            p.os.as_deref() == Some("unknown") && p.architecture.as_deref() == Some("unknown")
        });
        unknown || self.annotation("vnd.docker.reference.type") == Some("attestation-manifest")
    }
}

/// What a media type says a document is. OCI and Docker schema 2 are one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Index,
    Manifest,
    Schema1,
    Other,
}

fn kind(media_type: &str) -> Kind {
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

fn is_layer_type(media_type: &str) -> bool {
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

fn is_config_type(media_type: &str) -> bool {
    MediaType::from(media_type) == MediaType::ImageConfig
        || media_type == "application/vnd.docker.container.image.v1+json"
}

/// The artifact manifest of the OCI 1.1 drafts (withdrawn before the release; registries and
/// ORAS 1.0 wrote it).
const ARTIFACT_MANIFEST: &str = "application/vnd.oci.artifact.manifest.v1+json";

/// The OCI 1.1 empty descriptor's type: a config that says nothing (the artifact's type is
/// then its `artifactType`).
const EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Whether a media type names a document rather than a filesystem: JSON, YAML or XML (by its
/// structured-syntax suffix, RFC 6839), text, or the empty descriptor. Signatures, SBOMs and
/// attestations have such layers; a layer of an image is a tar.
fn is_document_type(media_type: &str) -> bool {
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
    fn artifact_type(&self) -> Option<&str> {
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
fn artifact_name(artifact_type: &str) -> Option<&'static str> {
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
fn artifact_error(what: &str, artifact_type: &str) -> Error {
    Error::NotAnImage {
        what: what.to_string(),
        why: NotAnImage::Artifact {
            artifact_type: crate::layer::shown(artifact_type),
            known: artifact_name(artifact_type),
        },
    }
}

/// A manifest reachable from `index.json`, with the reference name of the top-level entry it
/// was found under and whether its blob is in the layout.
#[derive(Debug, Clone)]
struct Candidate {
    desc: Descriptor,
    ref_name: Option<String>,
    present: bool,
}

fn exists(store: &dyn BlobStore, digest: &str) -> Result<bool> {
    store.exists(&blob_path(digest, store.name())?)
}

fn manifest_exists(store: &dyn BlobStore, digest: &str) -> Result<bool> {
    store.exists(&store.manifest_location(digest)?)
}

/// The most manifests read only to tell images from artifacts (each is a small document; a
/// layout with more platformless entries than this is no real one).
const MAX_LOOKS: usize = 1_000;

/// Tells images from artifacts among documents of one layout or index, reading at most
/// [`MAX_LOOKS`] manifests to do it.
struct Sorter<'a> {
    store: &'a dyn BlobStore,
    looks: usize,
}

impl Sorter<'_> {
    /// Whether a document is known to be an artifact, not an image (nor an index of images):
    /// its descriptor says so (an artifact type, a media type no image has), or — read only
    /// for a manifest whose descriptor names no platform, as signatures and SBOMs next to an
    /// image's platforms have none — its content ([`Manifest::artifact_type`]). A document
    /// that cannot be read, or whose bytes do not match its descriptor, is not known to be an
    /// artifact: whoever chooses it reads it again and says what is wrong.
    fn is_artifact(&mut self, desc: &Descriptor) -> bool {
        if desc
            .artifact_type
            .as_deref()
            .is_some_and(|t| !t.is_empty() && !is_config_type(t))
        {
            return true;
        }
        match desc.media_type.as_deref().map(kind) {
            Some(Kind::Other) => return true,
            Some(Kind::Index | Kind::Schema1) => return false,
            Some(Kind::Manifest) | None => {}
        }
        if desc.platform.is_some() || self.looks >= MAX_LOOKS {
            return false;
        }
        self.looks += 1;
        let what = format!("{}: manifest {}", self.store.name(), desc.digest);
        let mut integrity = Integrity::new(true);
        let Ok(bytes) = read_manifest(self.store, desc, &what, &mut integrity) else {
            return false;
        };
        integrity.gone_past.is_empty()
            && serde_json::from_slice::<Manifest>(&bytes)
                .is_ok_and(|m| m.manifests.is_none() && m.artifact_type().is_some())
    }
}

/// Reads a manifest or an index named by a descriptor, verified against it.
fn read_manifest(
    store: &dyn BlobStore,
    desc: &Descriptor,
    what: &str,
    integrity: &mut Integrity,
) -> Result<Vec<u8>> {
    let location = store.manifest_location(&desc.digest)?;
    read_verified_at(store, &location, &desc.digest, desc.size, what, integrity)
}

/// Collects the manifests under one descriptor, following nested indexes. Each index is read
/// once and each manifest listed once however often indexes repeat them (indexes nested 8 deep
/// that list their child 1,000 times each would otherwise be 1,000^8 visits).
struct Walk<'a> {
    store: &'a dyn BlobStore,
    candidates: Vec<Candidate>,
    /// Nested indexes whose blobs are absent, for the message when nothing is found.
    absent_indexes: Vec<String>,
    /// Indexes already expanded, by digest.
    indexes: HashSet<String>,
    /// Descriptors already visited: digest, the reference name they were found under, platform.
    visited: HashSet<(String, Option<String>, Option<String>)>,
    /// What each document read to find its kind turned out to be, by digest.
    kinds: HashMap<String, Kind>,
    integrity: Integrity,
}

impl Walk<'_> {
    fn what(&self, noun: &str, digest: &str) -> String {
        format!("{}: {noun} {digest}", self.store.name())
    }

    /// Reads a blob, or `None` if it is absent.
    fn read(&mut self, desc: &Descriptor, noun: &str) -> Result<Option<Vec<u8>>> {
        let what = self.what(noun, &desc.digest);
        match read_manifest(self.store, desc, &what, &mut self.integrity) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The kind of a descriptor's document: its media type, or a look inside when it has none.
    fn kind_of(&mut self, desc: &Descriptor) -> Result<Kind> {
        if let Some(media_type) = &desc.media_type {
            return Ok(kind(media_type));
        }
        if let Some(&known) = self.kinds.get(&desc.digest) {
            return Ok(known);
        }
        let Some(bytes) = self.read(desc, "manifest")? else {
            return Ok(Kind::Manifest);
        };
        let value: serde_json::Value = parse_json(&bytes, &self.what("manifest", &desc.digest))?;
        let found = match value.get("mediaType").and_then(|m| m.as_str()) {
            Some(media_type) => kind(media_type),
            None if value.get("manifests").is_some() => Kind::Index,
            None => Kind::Manifest,
        };
        self.kinds.insert(desc.digest.clone(), found);
        Ok(found)
    }

    fn expand(&mut self, desc: &Descriptor, ref_name: Option<&str>, depth: usize) -> Result<()> {
        // A descriptor seen already (the same document, name and platform) adds nothing.
        let key = (
            desc.digest.clone(),
            ref_name.map(str::to_string),
            desc.platform().map(|p| p.to_string()),
        );
        if !self.visited.insert(key) {
            return Ok(());
        }
        if self.visited.len() > MAX_CANDIDATES {
            return Err(Error::TooMany {
                what: self.what("index", &desc.digest),
                limit: TooMany::Manifests {
                    limit: MAX_CANDIDATES,
                },
            });
        }
        match self.kind_of(desc)? {
            Kind::Index => {
                if depth >= MAX_DEPTH {
                    return Err(Error::TooMany {
                        what: self.what("index", &desc.digest),
                        limit: TooMany::IndexDepth { limit: MAX_DEPTH },
                    });
                }
                if !self.indexes.insert(desc.digest.clone()) {
                    return Ok(());
                }
                if self.indexes.len() > MAX_INDEXES {
                    return Err(Error::TooMany {
                        what: self.what("index", &desc.digest),
                        limit: TooMany::Indexes { limit: MAX_INDEXES },
                    });
                }
                let Some(bytes) = self.read(desc, "index")? else {
                    self.absent_indexes.push(desc.digest.clone());
                    return Ok(());
                };
                let index: Index = parse_object(&bytes, &self.what("index", &desc.digest))?;
                for child in index.manifests.unwrap_or_default() {
                    if !child.is_attestation() {
                        self.expand(&child, ref_name, depth + 1)?;
                    }
                }
            }
            // Unknown types are kept at the top (choosing one says what it is) and skipped
            // inside indexes (signatures, SBOMs and other artifacts next to the platforms).
            Kind::Other if depth > 0 => {}
            Kind::Manifest | Kind::Schema1 | Kind::Other => {
                self.candidates.push(Candidate {
                    desc: desc.clone(),
                    ref_name: ref_name.map(str::to_string),
                    present: manifest_exists(self.store, &desc.digest)?,
                });
            }
        }
        Ok(())
    }
}

/// The `index.json` entries for `reference`, or for the first image when there is none.
/// Without a reference, the entries sharing the first entry's name make the image: several
/// unnamed entries are one image's platforms; several names are several images.
/// `artifact[i]` says whether `top[i]` is known to be an artifact: those are not counted as
/// images, nor taken as the first image.
fn select_reference<'a>(
    top: &'a [Descriptor],
    artifact: &[bool],
    reference: Option<&str>,
    store: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<&'a Descriptor>> {
    let is_image = |i: usize| !artifact.get(i).copied().unwrap_or(false);
    let mut names: Vec<&str> = Vec::new();
    let mut images: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for (i, d) in top.iter().enumerate() {
        if let Some(n) = d.annotation(REF_NAME)
            && seen.insert(n)
        {
            names.push(n);
            if is_image(i) {
                images.push(n);
            }
        }
    }
    let Some(reference) = reference else {
        let first = (0..top.len())
            .find(|&i| is_image(i))
            .map_or(top.first(), |i| top.get(i))
            .and_then(|d| d.annotation(REF_NAME));
        if images.len() > 1 {
            warnings.push(format!(
                "{store} holds {} images ({}); showing the first — name another as {store}:REF",
                images.len(),
                list_cut(&images)
            ));
        }
        return Ok(top
            .iter()
            .filter(|d| d.annotation(REF_NAME) == first)
            .collect());
    };
    let chosen: Vec<&Descriptor> = top
        .iter()
        .filter(|d| {
            d.digest == reference
                || d.annotation(REF_NAME) == Some(reference)
                || d.annotation(CONTAINERD_NAME)
                    .is_some_and(|n| same_image_name(n, reference))
        })
        .collect();
    if chosen.is_empty() {
        let present = if names.is_empty() {
            "index.json names no images".to_string()
        } else {
            format!("references present: {}", list_cut(&names))
        };
        return Err(Error::NotFound(format!(
            "{store}: no image named {reference:?}; {present}"
        )));
    }
    Ok(chosen)
}

/// Chooses among the candidate manifests by platform.
///
/// A lone manifest is taken whatever its platform (checked later against an explicit
/// request). Otherwise the first present manifest for the wanted platform (explicit, or the
/// host's) wins; without an explicit request, a single present manifest also wins, since the
/// others' blobs are absent (`docker save` from the containerd store lists every platform).
fn choose(
    candidates: &[Candidate],
    explicit: Option<&Platform>,
    host: &Platform,
    store: &str,
) -> Result<usize> {
    if candidates.len() == 1 {
        return Ok(0);
    }
    let present: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].present)
        .collect();
    if explicit.is_none() && present.len() == 1 {
        return Ok(present[0]);
    }
    let wanted = explicit.unwrap_or(host);
    let fits = |c: &Candidate| c.desc.platform().is_some_and(|p| p.satisfies(wanted));
    if let Some(&i) = present.iter().find(|&&i| fits(&candidates[i])) {
        return Ok(i);
    }
    // A manifest without a platform in its descriptor may still be the one (its config says).
    if let Some(&i) = present
        .iter()
        .find(|&&i| candidates[i].desc.platform().is_none())
    {
        return Ok(i);
    }
    let mut listed: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for c in candidates {
        if let Some(p) = c.desc.platform() {
            let p = if c.present {
                p.to_string()
            } else {
                format!("{p} (blobs absent)")
            };
            if seen.insert(p.clone()) {
                listed.push(p);
            }
        }
    }
    let listed_absent = candidates.iter().any(|c| !c.present && fits(c));
    let why = if listed_absent {
        "is listed but its blobs are not here"
    } else {
        "is not in the index"
    };
    Err(Error::NotFound(format!(
        "{store}: platform {wanted} {why}; platforms present: {} (choose one with --platform)",
        if listed.is_empty() {
            "none named".to_string()
        } else {
            list_cut(&listed)
        }
    )))
}

/// Loads the image an OCI layout holds (a directory or the members of an oci-archive).
pub(crate) fn load(store: Arc<dyn BlobStore>, format: Format, want: &Want<'_>) -> Result<Opened> {
    let (reference, explicit) = (want.reference, want.platform);
    let s = store.as_ref();
    let name = s.name().to_string();
    let mut warnings = Vec::new();
    let what = format!("{name}: index.json");
    let index: Index = parse_object(&read_small(s, "index.json", &what)?, &what)?;
    let top: Vec<Descriptor> = index
        .manifests
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !d.is_attestation())
        .collect();
    if top.is_empty() {
        return Err(Error::NotAnImage {
            what,
            why: NotAnImage::NoImages,
        });
    }
    // Signatures, SBOMs and other referrers stored beside the images (`cosign save`, `oras
    // copy -r`) are neither counted as images nor taken as the first one.
    let mut sorter = Sorter { store: s, looks: 0 };
    let artifact: Vec<bool> = if top.len() > 1 {
        top.iter().map(|d| sorter.is_artifact(d)).collect()
    } else {
        vec![false]
    };
    let chosen_top = select_reference(&top, &artifact, reference, &name, &mut warnings)?;
    let chosen_top: Vec<Descriptor> = chosen_top.into_iter().cloned().collect();
    let integrity = Integrity::new(want.lenient);
    resolve(
        store,
        format,
        &chosen_top,
        &what,
        explicit,
        warnings,
        integrity,
    )
}

/// The digest of the manifest, in the OCI layout that Docker 25+ writes beside `manifest.json`,
/// of the image whose config is `config` and whose layers are `layers` (as a set: Docker 25.0.x
/// listed them out of order; `None` where `manifest.json` names a layer by no digest). `None`
/// when the layout has no such manifest, or no intact one: only a manifest whose bytes match
/// its digest is taken, and nothing here is an error, since nothing else is read from this half.
pub(crate) fn manifest_digest_for(
    store: &dyn BlobStore,
    config: &str,
    layers: &[Option<String>],
) -> Option<String> {
    let what = format!("{}: index.json", store.name());
    let index: Index = parse_json(&read_small(store, "index.json", &what).ok()?, &what).ok()?;
    let mut walk = Walk {
        store,
        candidates: Vec::new(),
        absent_indexes: Vec::new(),
        indexes: HashSet::new(),
        visited: HashSet::new(),
        kinds: HashMap::new(),
        integrity: Integrity::new(false),
    };
    for d in index.manifests.unwrap_or_default() {
        if !d.is_attestation() {
            walk.expand(&d, None, 0).ok()?;
        }
    }
    let mut wanted: Option<Vec<&str>> = layers.iter().map(Option::as_deref).collect();
    if let Some(w) = &mut wanted {
        w.sort_unstable();
    }
    let mut looked = HashSet::new();
    for c in walk.candidates.iter().filter(|c| c.present).take(MAX_LOOKS) {
        if !looked.insert(c.desc.digest.as_str()) {
            continue;
        }
        let what = format!("{}: manifest {}", store.name(), c.desc.digest);
        let mut strict = Integrity::new(false);
        let Ok(bytes) = read_manifest(store, &c.desc, &what, &mut strict) else {
            continue;
        };
        let Ok(manifest) = serde_json::from_slice::<Manifest>(&bytes) else {
            continue;
        };
        if manifest.config.as_ref().map(|d| d.digest.as_str()) != Some(config) {
            continue;
        }
        let mut found: Vec<&str> = manifest
            .layers
            .iter()
            .flatten()
            .map(|l| l.digest.as_str())
            .collect();
        found.sort_unstable();
        if wanted.as_ref().is_none_or(|w| *w == found) {
            return Some(c.desc.digest.clone());
        }
    }
    None
}

/// Loads the image a registry's manifest or index (already fetched by tag or digest, so its
/// media type, digest and size are known) leads to, with the same platform rules as a layout.
pub(crate) fn load_manifest(
    store: Arc<dyn BlobStore>,
    format: Format,
    media_type: Option<String>,
    digest: String,
    size: u64,
    want: &Want<'_>,
) -> Result<Opened> {
    let what = format!("{}: manifest {digest}", store.name());
    let top = Descriptor {
        media_type,
        digest,
        size: Some(size),
        annotations: None,
        platform: None,
        artifact_type: None,
    };
    let integrity = Integrity::new(want.lenient);
    resolve(
        store,
        format,
        &[top],
        &what,
        want.platform,
        Vec::new(),
        integrity,
    )
}

/// Walks the chosen top-level descriptors down to one manifest and builds the image.
fn resolve(
    store: Arc<dyn BlobStore>,
    format: Format,
    chosen_top: &[Descriptor],
    what: &str,
    explicit: Option<&Platform>,
    warnings: Vec<String>,
    integrity: Integrity,
) -> Result<Opened> {
    let s = store.as_ref();
    let name = s.name().to_string();
    let mut walk = Walk {
        store: s,
        candidates: Vec::new(),
        absent_indexes: Vec::new(),
        indexes: HashSet::new(),
        visited: HashSet::new(),
        kinds: HashMap::new(),
        integrity,
    };
    for d in chosen_top {
        walk.expand(d, d.annotation(REF_NAME), 0)?;
    }
    if walk.candidates.is_empty() {
        let absent: Vec<&str> = walk.absent_indexes.iter().map(|d| short(d)).collect();
        return Err(Error::NotAnImage {
            what: what.to_string(),
            why: NotAnImage::NoManifest {
                absent_indexes: (!absent.is_empty()).then(|| list_cut(&absent)),
            },
        });
    }
    // Where images and artifacts are both candidates (a signature or an SBOM next to the
    // platforms of an index), the artifacts are not: an image is what strata reads. Where
    // all are artifacts, choosing one says which type it is.
    if walk.candidates.len() > 1 {
        let mut sorter = Sorter { store: s, looks: 0 };
        let artifact: Vec<bool> = walk
            .candidates
            .iter()
            .map(|c| sorter.is_artifact(&c.desc))
            .collect();
        if artifact.contains(&false) {
            let mut flags = artifact.iter();
            walk.candidates
                .retain(|_| flags.next().is_some_and(|&artifact| !artifact));
        }
    }
    let pick = choose(&walk.candidates, explicit, &Platform::host(), &name)?;
    let candidate = walk.candidates.swap_remove(pick);
    let integrity = walk.integrity;
    build(store, format, candidate, explicit, warnings, integrity)
}

/// Reads the chosen manifest and its config into an [`Image`], read from `store`.
fn build(
    store: Arc<dyn BlobStore>,
    format: Format,
    candidate: Candidate,
    explicit: Option<&Platform>,
    mut warnings: Vec<String>,
    mut integrity: Integrity,
) -> Result<Opened> {
    let s = store.as_ref();
    let name = s.name().to_string();
    let desc = &candidate.desc;
    let what = format!("{name}: manifest {}", desc.digest);
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
    let bytes = read_manifest(s, desc, &what, &mut integrity)?;
    let manifest: Manifest = parse_object(&bytes, &what)?;
    let media_type = desc.media_type.as_ref().or(manifest.media_type.as_ref());
    match media_type.map(|m| (m, kind(m))) {
        Some((m, Kind::Schema1)) => {
            return Err(Error::NotAnImage {
                what,
                why: NotAnImage::Schema1 {
                    media_type: Some(m.clone()),
                },
            });
        }
        // OCI 1.1's draft artifact manifest, which registries still hold.
        Some((m, Kind::Other)) if m == ARTIFACT_MANIFEST => {
            let t = manifest.artifact_type.as_deref().unwrap_or(m);
            return Err(artifact_error(&what, t));
        }
        Some((m, Kind::Other | Kind::Index)) => {
            return Err(Error::NotAnImage {
                what,
                why: NotAnImage::UnsupportedMediaType {
                    media_type: m.clone(),
                },
            });
        }
        _ => {}
    }
    if manifest
        .schema_version
        .as_ref()
        .is_some_and(|v| v.as_u64() == Some(1))
    {
        return Err(Error::NotAnImage {
            what,
            why: NotAnImage::Schema1 { media_type: None },
        });
    }
    if let Some(t) = manifest.artifact_type() {
        return Err(artifact_error(&what, t));
    }
    let config_desc = manifest.config.ok_or_else(|| Error::NotAnImage {
        what: what.clone(),
        why: NotAnImage::NoConfig,
    })?;
    if let Some(m) = &config_desc.media_type
        && !is_config_type(m)
    {
        warnings.push(format!(
            "config media type {m} is not a container image config; reading it anyway"
        ));
    }
    let config_what = format!("{name}: config {}", config_desc.digest);
    let config_bytes = read_verified(
        s,
        &config_desc.digest,
        config_desc.size,
        &config_what,
        &mut integrity,
    )
    .map_err(|e| match malformed_digest(&config_desc.digest) {
        Some(fault) if is_not_found(&e) => Error::BadDigest {
            what: config_what.clone(),
            why: BadDigest::Named(fault),
        },
        _ => e,
    })?;
    let config = config::parse(&config_bytes, &config_what)?;

    let mut layers = Vec::new();
    for (index, l) in manifest.layers.unwrap_or_default().into_iter().enumerate() {
        let location = blob_path(&l.digest, &name)?;
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
            index,
            location,
            digest: Some(l.digest),
            diff_id: None,
            size: l.size,
            media_type: l.media_type,
            created_by: None,
            comment: None,
            created: None,
        });
    }

    let platform = desc.platform().or_else(|| config.platform.clone());
    if let (Some(wanted), Some(actual)) = (explicit, &platform)
        && !actual.satisfies(wanted)
    {
        return Err(Error::NotFound(format!(
            "{name}: the image is for {actual}, not {wanted}"
        )));
    }
    config::apply(&config, &mut layers, &mut warnings);
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
    };
    Ok(Opened::to_read(image, store))
}
