//! Walking `index.json` and the indexes under it down to the manifests they list: each index
//! read once, each manifest listed once, the depth and the counts bounded; and telling images
//! from artifacts among what was found, reading as few manifests as it takes.

use std::collections::{HashMap, HashSet};

use super::attestation::Attestations;
use super::document::{Descriptor, Index, Kind, Manifest, is_config_type, kind};
use crate::error::{Error, Result, TooMany};
use crate::source::blob::{Integrity, parse_json, parse_object, read_verified_at};
use crate::source::store::{BlobStore, is_not_found};

/// How deep indexes may nest below `index.json`.
const MAX_DEPTH: usize = 8;
/// The most nested indexes read while looking for the image (each distinct one is read once;
/// real layouts have one or two).
const MAX_INDEXES: usize = 1_000;
/// The most distinct documents an index walk may visit (an index of every platform lists a
/// few dozen).
const MAX_CANDIDATES: usize = 100_000;

/// A manifest reachable from `index.json`, with the reference name of the top-level entry it
/// was found under and whether its blob is in the layout.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub(super) desc: Descriptor,
    pub(super) ref_name: Option<String>,
    pub(super) present: bool,
}

fn manifest_exists(store: &dyn BlobStore, digest: &str) -> Result<bool> {
    store.exists(&store.manifest_location(digest)?)
}

/// The most manifests read only to tell images from artifacts (each is a small document; a
/// layout with more platformless entries than this is no real one).
pub(super) const MAX_LOOKS: usize = 1_000;

/// Tells images from artifacts among documents of one layout or index, reading at most
/// [`MAX_LOOKS`] manifests to do it.
pub(super) struct Sorter<'a> {
    pub(super) store: &'a dyn BlobStore,
    pub(super) looks: usize,
}

impl Sorter<'_> {
    /// Whether a document is known to be an artifact, not an image (nor an index of images):
    /// its descriptor says so (an artifact type, a media type no image has), or — read only
    /// for a manifest whose descriptor names no platform, as signatures and SBOMs next to an
    /// image's platforms have none — its content ([`Manifest::artifact_type`]). A document
    /// that cannot be read, or whose bytes do not match its descriptor, is not known to be an
    /// artifact: whoever chooses it reads it again and says what is wrong.
    pub(super) fn is_artifact(&mut self, desc: &Descriptor) -> bool {
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
pub(super) fn read_manifest(
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
pub(super) struct Walk<'a> {
    pub(super) store: &'a dyn BlobStore,
    pub(super) candidates: Vec<Candidate>,
    /// Nested indexes whose blobs are absent, for the message when nothing is found.
    pub(super) absent_indexes: Vec<String>,
    /// Indexes already expanded, by digest.
    pub(super) indexes: HashSet<String>,
    /// Descriptors already visited: digest, the reference name they were found under, platform.
    pub(super) visited: HashSet<(String, Option<String>, Option<String>)>,
    /// What each document read to find its kind turned out to be, by digest.
    pub(super) kinds: HashMap<String, Kind>,
    pub(super) integrity: Integrity,
    /// The attestation manifests listed beside the manifests found.
    pub(super) attestations: Attestations,
}

impl<'a> Walk<'a> {
    pub(super) fn new(store: &'a dyn BlobStore, integrity: Integrity) -> Self {
        Walk {
            store,
            candidates: Vec::new(),
            absent_indexes: Vec::new(),
            indexes: HashSet::new(),
            visited: HashSet::new(),
            kinds: HashMap::new(),
            integrity,
            attestations: Attestations::default(),
        }
    }

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

    pub(super) fn expand(
        &mut self,
        desc: &Descriptor,
        ref_name: Option<&str>,
        depth: usize,
    ) -> Result<()> {
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
                    if child.is_attestation() {
                        self.attestations.note(&child);
                    } else {
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
