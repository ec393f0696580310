//! BuildKit's provenance attestation of the chosen image. BuildKit stores it in the image's
//! index, beside the image manifest, as an attestation manifest: platform `unknown/unknown`,
//! annotations `vnd.docker.reference.type: attestation-manifest` and
//! `vnd.docker.reference.digest: <the image manifest's digest>`; its layers are in-toto
//! statements (`application/vnd.in-toto+json`), the provenance one annotated
//! `in-toto.io/predicate-type: https://slsa.dev/provenance/v0.2` (or `/v1`).
//!
//! The walk of an index remembers each attestation manifest by the digest it attests, and
//! nothing more: an image without one costs no read. The chosen image's is then read, the
//! manifest and the statement each bounded as every JSON document is and verified against its
//! descriptor, and the statement read against the image's layer digests
//! ([`provenance::read`]). The attestation only adds to the image: whatever is wrong with it
//! is one warning naming the blob, and the image loads as it would without it.

use std::collections::HashMap;

use super::document::{Descriptor, Manifest};
use super::walk::read_manifest;
use crate::dockerfile::provenance::{self, Provenance};
use crate::error::{Error, Result};
use crate::source::blob::{Integrity, parse_json, parse_object, read_verified};
use crate::source::store::{BlobStore, is_not_found};

const REFERENCE_TYPE: &str = "vnd.docker.reference.type";
const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
const PREDICATE_TYPE: &str = "in-toto.io/predicate-type";
/// SLSA provenance, v0.2 and v1 (`https://slsa.dev/provenance/v1`).
const PROVENANCE: &str = "https://slsa.dev/provenance/";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// The most attestation manifests remembered from one walk (a real index has one per
/// platform).
const MAX_ATTESTATIONS: usize = 10_000;

/// The attestation manifests the indexes of a walk list, by the digest of the manifest each
/// attests (the first one listed for each).
#[derive(Debug, Default)]
pub(super) struct Attestations(HashMap<String, Descriptor>);

impl Attestations {
    /// Remembers `desc` if it is an attestation manifest that names what it attests.
    pub(super) fn note(&mut self, desc: &Descriptor) {
        if self.0.len() >= MAX_ATTESTATIONS
            || desc.annotation(REFERENCE_TYPE) != Some("attestation-manifest")
        {
            return;
        }
        if let Some(subject) = desc.annotation(REFERENCE_DIGEST) {
            self.0
                .entry(subject.to_string())
                .or_insert_with(|| desc.clone());
        }
    }

    /// The attestation manifest of the manifest `digest`, if one was listed.
    pub(super) fn take(&mut self, digest: &str) -> Option<Descriptor> {
        self.0.remove(digest)
    }
}

/// The provenance the attestation manifest `desc` holds for the image whose layer digests
/// are `layers` (bottom first), or `None` when it holds none or the image's layers have no
/// digests to read it against; a problem is one line in `warnings`.
pub(super) fn read(
    store: &dyn BlobStore,
    desc: &Descriptor,
    layers: &[Option<&str>],
    warnings: &mut Vec<String>,
) -> Option<Provenance> {
    let layers: Option<Vec<&str>> = layers.iter().copied().collect();
    match read_statement(store, desc, &layers?) {
        Ok(p) => p,
        Err(e) => {
            warnings.push(format!("provenance attestation not read: {e}"));
            None
        }
    }
}

fn read_statement(
    store: &dyn BlobStore,
    desc: &Descriptor,
    layers: &[&str],
) -> Result<Option<Provenance>> {
    let mut strict = Integrity::new(false);
    // A blob the index lists and the store lacks is named by its digest, not its file.
    let absent = |what: &str| {
        let what = what.to_string();
        move |e: Error| {
            if is_not_found(&e) {
                Error::NotFound(format!("{what}: listed, but not there"))
            } else {
                e
            }
        }
    };
    let what = format!("{}: attestation manifest {}", store.name(), desc.digest);
    let bytes = read_manifest(store, desc, &what, &mut strict).map_err(absent(&what))?;
    let manifest: Manifest = parse_object(&bytes, &what)?;
    let statement = manifest.layers.iter().flatten().find(|l| {
        l.annotation(PREDICATE_TYPE)
            .is_some_and(|t| t.starts_with(PROVENANCE))
            && l.media_type.as_deref().is_none_or(|m| m == IN_TOTO)
    });
    let Some(statement) = statement else {
        return Ok(None);
    };
    let what = format!(
        "{}: provenance statement {}",
        store.name(),
        statement.digest
    );
    let bytes = read_verified(store, &statement.digest, statement.size, &what, &mut strict)
        .map_err(absent(&what))?;
    let doc: serde_json::Value = parse_json(&bytes, &what)?;
    Ok(provenance::read(&doc, layers))
}
