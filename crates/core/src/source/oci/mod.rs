//! OCI image layouts, in a directory or an oci-archive: walk `index.json` and the indexes it
//! points to, choose one image by reference name and platform, read its manifest and config.
//! OCI artifacts (signatures, SBOMs, attestations, Helm charts: manifests with no filesystem
//! layers) stored beside the images are passed over when an image is there, and named by their
//! type when one is what was asked for. A registry's manifest and a `dir:` layout's are
//! resolved by the same rules ([`load_manifest`]); of Docker 25's OCI half of a `docker save`
//! only the manifest digest and its attestation are taken ([`manifest_beside`]). BuildKit's
//! attestation manifests are no images: each is remembered by the manifest it attests, and
//! the chosen image's provenance is read from its own.
//!
//! - `document.rs`: descriptors, indexes, manifests, media types, artifacts.
//! - `walk.rs`: the walk from `index.json` down to manifests, and images told from artifacts.
//! - `choose.rs`: the entry by reference name, the manifest by platform.
//! - `build.rs`: the chosen manifest and its config read into an image.
//! - `attestation.rs`: BuildKit's provenance attestation of the chosen image, when its index
//!   lists one.

mod attestation;
mod build;
mod choose;
mod document;
mod walk;

use std::collections::HashSet;
use std::sync::Arc;

use attestation::Attestations;
use build::build;
use choose::{REF_NAME, choose, select_reference};
use document::{Descriptor, Index, Manifest};
use walk::{MAX_LOOKS, Sorter, Walk, read_manifest};

use super::blob::{Integrity, parse_json, parse_object, read_small, short};
use super::opened::Opened;
use super::store::BlobStore;
use super::want::{Want, list_cut};
use crate::dockerfile::provenance::Provenance;
use crate::error::{Error, NotAnImage, Result};
use crate::image::{Format, Platform};

/// Loads the image an OCI layout holds (a directory or the members of an oci-archive).
pub(crate) fn load(store: Arc<dyn BlobStore>, format: Format, want: &Want<'_>) -> Result<Opened> {
    let (reference, explicit) = (want.reference, want.platform);
    let s = store.as_ref();
    let name = s.name().to_string();
    let mut warnings = Vec::new();
    let what = format!("{name}: index.json");
    let index: Index = parse_object(&read_small(s, "index.json", &what)?, &what)?;
    let mut attestations = Attestations::default();
    let top: Vec<Descriptor> = index
        .manifests
        .unwrap_or_default()
        .into_iter()
        .filter(|d| {
            if d.is_attestation() {
                attestations.note(d);
            }
            !d.is_attestation()
        })
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
        attestations,
    )
}

/// The manifest of an image in the OCI layout Docker 25+ (and containerd's image store)
/// writes beside `manifest.json`, and the attestation manifest its index lists for it.
pub(crate) struct Beside {
    pub(crate) digest: String,
    attestation: Option<Descriptor>,
}

impl Beside {
    /// The provenance its attestation holds for the image whose layer digests are `layers`
    /// (see [`attestation::read`]).
    pub(crate) fn provenance(
        &self,
        store: &dyn BlobStore,
        layers: &[Option<&str>],
        warnings: &mut Vec<String>,
    ) -> Option<Provenance> {
        let a = self.attestation.as_ref()?;
        attestation::read(store, a, layers, warnings)
    }
}

/// The manifest, in the OCI layout that Docker 25+ writes beside `manifest.json`, of the image
/// whose config is `config` and whose layers are `layers` (as a set: Docker 25.0.x listed them
/// out of order; `None` where `manifest.json` names a layer by no digest). `None` when the
/// layout has no such manifest, or no intact one: only a manifest whose bytes match its digest
/// is taken, and nothing here is an error, since nothing else is read from this half.
pub(crate) fn manifest_beside(
    store: &dyn BlobStore,
    config: &str,
    layers: &[Option<String>],
) -> Option<Beside> {
    let what = format!("{}: index.json", store.name());
    let index: Index = parse_json(&read_small(store, "index.json", &what).ok()?, &what).ok()?;
    let mut walk = Walk::new(store, Integrity::new(false));
    for d in index.manifests.unwrap_or_default() {
        if d.is_attestation() {
            walk.attestations.note(&d);
        } else {
            walk.expand(&d, None, 0).ok()?;
        }
    }
    let mut wanted: Option<Vec<&str>> = layers.iter().map(Option::as_deref).collect();
    if let Some(w) = &mut wanted {
        w.sort_unstable();
    }
    let mut looked = HashSet::new();
    let mut found = None;
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
        let mut listed: Vec<&str> = manifest
            .layers
            .iter()
            .flatten()
            .map(|l| l.digest.as_str())
            .collect();
        listed.sort_unstable();
        if wanted.as_ref().is_none_or(|w| *w == listed) {
            found = Some(c.desc.digest.clone());
            break;
        }
    }
    let digest = found?;
    Some(Beside {
        attestation: walk.attestations.take(&digest),
        digest,
    })
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
        Attestations::default(),
    )
}

/// Walks the chosen top-level descriptors down to one manifest and builds the image, with
/// its attestation if `attestations` (those beside the top-level entries) or an index on the
/// way lists one.
#[allow(clippy::too_many_arguments)]
fn resolve(
    store: Arc<dyn BlobStore>,
    format: Format,
    chosen_top: &[Descriptor],
    what: &str,
    explicit: Option<&Platform>,
    warnings: Vec<String>,
    integrity: Integrity,
    attestations: Attestations,
) -> Result<Opened> {
    let s = store.as_ref();
    let name = s.name().to_string();
    let mut walk = Walk::new(s, integrity);
    walk.attestations = attestations;
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
    let attestation = walk.attestations.take(&candidate.desc.digest);
    let integrity = walk.integrity;
    build(
        store,
        format,
        candidate,
        explicit,
        warnings,
        integrity,
        attestation,
    )
}
