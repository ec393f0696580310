//! Images in a registry (OCI distribution spec, Registry HTTP API v2), read without a daemon:
//! the manifest or index by tag or digest, then the same platform rules as an OCI layout
//! (`oci/`), then every blob streamed into the engine's single-pass reader. Nothing is
//! written to disk.
//!
//! - `reference.rs`: `[HOST[:PORT]/]REPO[:TAG][@DIGEST]` with Docker Hub's defaults.
//! - `auth.rs`: challenges, `--creds`, Docker's and containers' auth files, credential helpers.
//! - `client.rs`: HTTP: scheme, redirects, retries, typed errors naming the URL, and the limits
//!   on time and size that keep a hostile registry from holding or filling strata.
//! - `token.rs`: answering a `401`'s challenge (basic, or a bearer token per scope).
//! - `body.rs`: the deadline of an exchange and the low-speed and size rules of a body.
//! - `url.rs`: URLs shown, compared and resolved.
//!
//! Every manifest and index this store serves is at most [`MANIFEST_LIMIT`], and its
//! descriptors' sizes are remembered: a blob or child manifest is then read up to its
//! descriptor's size and not a byte further (a blob that says 180 bytes cannot stream 93 GB).

mod auth;
mod body;
mod client;
mod reference;
mod tags;
mod token;
mod url;

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use sha2::Digest as _;

use super::oci;
use super::opened::Opened;
use super::store::{BlobStore, blob_path};
use super::want::Want;
use crate::error::{Error, Hashed, Remote, Result, TooLarge};
use crate::image::Format;
use body::BodyError;
use client::{Client, MANIFEST_LIMIT};
pub use reference::Reference;
pub use tags::MAX_TAGS;
pub(crate) use tags::list as list_tags;
use url::shown;

/// A `WWW-Authenticate` header parsed as strata reads it (for the fuzz targets).
pub(crate) fn parse_challenge_for_fuzzing(header: &str) -> bool {
    auth::parse_challenge(header).is_some()
}

/// Every manifest and index type strata reads, OCI and Docker schema 2, sent on every manifest
/// request (a registry answers with what the client accepts, and Docker Hub falls back to
/// schema 1 for a client that names none).
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json";

/// Where manifests are in a [`RegistryStore`]: `manifests/<digest>`; blobs are
/// `blobs/<alg>/<hex>` as in a layout.
const MANIFESTS: &str = "manifests/";

/// The most manifest bytes kept once fetched (a nested index asks for its children again):
/// eight at the largest size, thousands of real ones.
const MANIFEST_CACHE: usize = 32 << 20;

/// The descriptors a manifest or index lists, for their sizes.
#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    config: Option<Described>,
    #[serde(default)]
    layers: Vec<Described>,
    #[serde(default)]
    manifests: Vec<Described>,
}

#[derive(Deserialize)]
struct Described {
    digest: String,
    size: u64,
}

/// The blobs and manifests of one repository in a registry.
#[derive(Debug)]
pub struct RegistryStore {
    client: Client,
    repository: String,
    /// `host/repo`, for messages.
    name: String,
    /// Manifests already fetched (by tag, then asked for again by digest), up to
    /// [`MANIFEST_CACHE`] bytes.
    manifests: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    /// The size every descriptor of a served manifest gives, by digest (the smallest when two
    /// disagree: one of them lies, and no read goes past either).
    sizes: Mutex<HashMap<String, u64>>,
    /// Blobs whose transfer failed, with why: asked again (to explain a failure), they fail
    /// at once instead of costing another slow or oversized transfer.
    failed: Mutex<HashMap<String, BodyError>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RegistryStore {
    fn scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }

    /// `GET /v2/<repo>/manifests/<reference>`: the bytes, media type and digest. `size` is
    /// what the descriptor naming it gives, if one does; the answer may not exceed it, nor
    /// [`MANIFEST_LIMIT`].
    fn fetch_manifest(
        &self,
        reference: &str,
        size: Option<u64>,
    ) -> Result<(Vec<u8>, Option<String>, String)> {
        let path = format!("/v2/{}/manifests/{reference}", self.repository);
        if let Some(size) = size.filter(|&s| s > MANIFEST_LIMIT) {
            return Err(Error::TooLarge {
                what: format!("{}: manifest {reference}", self.name),
                limit: TooLarge::DescribedManifest {
                    size,
                    limit: MANIFEST_LIMIT,
                },
            });
        }
        let what = format!("no manifest {reference} in {}", self.name);
        let reply = self
            .client
            .get(&path, MANIFEST_ACCEPT, &self.scope(), &what, false)?;
        let media_type = reply
            .header("content-type")
            .map(|m| m.split(';').next().unwrap_or(m).trim().to_string())
            .filter(|m| !m.is_empty() && m != "application/json" && m != "text/plain")
            // RFC 6838: a type and a subtype of 127 characters at most.
            .filter(|m| m.len() <= 255);
        let url = reply.url.clone();
        if let Some(length) = reply.content_length()
            && length > size.unwrap_or(MANIFEST_LIMIT)
        {
            return Err(Error::TooLarge {
                what: shown(&url),
                limit: TooLarge::ManifestLength {
                    length,
                    described: size,
                    limit: MANIFEST_LIMIT,
                },
            });
        }
        let mut bytes = Vec::new();
        reply
            .into_body(size)
            .take(MANIFEST_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| BodyError::from_io(&e).unwrap_or_else(|| Error::read(shown(&url), e)))?;
        if bytes.len() as u64 > MANIFEST_LIMIT {
            return Err(Error::TooLarge {
                what: shown(&url),
                limit: TooLarge::Manifest {
                    limit: MANIFEST_LIMIT,
                },
            });
        }
        let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&bytes)));
        Ok((bytes, media_type, digest))
    }

    /// Keeps a fetched manifest (within [`MANIFEST_CACHE`]) and the sizes its descriptors give.
    fn remember(&self, digest: &str, bytes: &Arc<Vec<u8>>) {
        if let Ok(listed) = serde_json::from_slice::<Listed>(bytes) {
            let mut sizes = lock(&self.sizes);
            for d in listed
                .config
                .iter()
                .chain(&listed.layers)
                .chain(&listed.manifests)
            {
                let size = sizes.entry(d.digest.clone()).or_insert(d.size);
                *size = (*size).min(d.size);
            }
        }
        let mut cache = lock(&self.manifests);
        let held: usize = cache.values().map(|b| b.len()).sum();
        if held + bytes.len() <= MANIFEST_CACHE {
            cache.insert(digest.to_string(), Arc::clone(bytes));
        }
    }
}

/// A blob's body, whose failure the store remembers.
struct Tracked<'a> {
    body: body::Body<ureq::BodyReader<'static>>,
    digest: String,
    failed: &'a Mutex<HashMap<String, BodyError>>,
}

impl Read for Tracked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.body.read(buf).inspect_err(|e| {
            if let Some(error) = BodyError::of(e) {
                lock(self.failed).insert(self.digest.clone(), error.clone());
            }
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

impl BlobStore for RegistryStore {
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)> {
        if let Some(digest) = location.strip_prefix(MANIFESTS) {
            let cached = lock(&self.manifests).get(digest).cloned();
            let bytes = match cached {
                Some(b) => b,
                None => {
                    let size = lock(&self.sizes).get(digest).copied();
                    let (bytes, _, found) = self.fetch_manifest(digest, size)?;
                    let bytes = Arc::new(bytes);
                    // Kept only when it is what was asked for; a mismatch is the caller's to
                    // report, and its descriptors are no one's to trust.
                    if found == digest {
                        self.remember(digest, &bytes);
                    }
                    bytes
                }
            };
            let len = bytes.len() as u64;
            return Ok((Box::new(Cursor::new(bytes.to_vec())), len));
        }
        let digest = location
            .strip_prefix("blobs/")
            .and_then(|r| r.split_once('/'))
            .map(|(alg, hex)| format!("{alg}:{hex}"))
            // Every location this store serves is a manifest's or a blob's: another is the
            // caller's to name, and is not there.
            .ok_or_else(|| {
                Error::NotFound(format!("{}: no such blob location {location}", self.name))
            })?;
        if let Some(e) = lock(&self.failed).get(&digest) {
            return Err(e.to_error());
        }
        let size = lock(&self.sizes).get(&digest).copied();
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        let what = format!("no blob {digest} in {}", self.name);
        let reply = self.client.get(
            &path,
            "application/octet-stream, */*",
            &self.scope(),
            &what,
            true,
        )?;
        let length = reply.content_length();
        if let (Some(length), Some(size)) = (length, size)
            && length != size
        {
            return Err(Error::Remote {
                what: shown(&reply.url),
                why: Remote::BlobLength { length, size },
            });
        }
        let len = size.or(length).unwrap_or(0);
        let body = Tracked {
            body: reply.into_body(size),
            digest,
            failed: &self.failed,
        };
        Ok((Box::new(body), len))
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// Everything a manifest lists is taken to be there; a missing blob is a 404 when read.
    fn exists(&self, _location: &str) -> Result<bool> {
        Ok(true)
    }

    fn manifest_location(&self, digest: &str) -> Result<String> {
        blob_path(digest, &self.name)?;
        Ok(format!("{MANIFESTS}{digest}"))
    }
}

/// What the user said about a registry beyond the reference.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryOptions<'a> {
    pub insecure: bool,
    pub creds: Option<&'a str>,
}

/// Resolves a reference in a registry to an image: manifest or index by tag or digest, the
/// platform, the config; the layers are streamed later by [`RegistryStore::open`].
pub(crate) fn load(
    reference: &Reference,
    options: &RegistryOptions<'_>,
    want: &Want<'_>,
) -> Result<Opened> {
    let creds = auth::credentials(&reference.registry, &reference.repository, options.creds)?;
    let client = Client::new(reference.api_host(), options.insecure, creds);
    let store = RegistryStore {
        client,
        repository: reference.repository.clone(),
        name: format!("{}/{}", reference.registry, reference.repository),
        manifests: Mutex::new(HashMap::new()),
        sizes: Mutex::new(HashMap::new()),
        failed: Mutex::new(HashMap::new()),
    };
    let (bytes, media_type, digest) = store.fetch_manifest(reference.manifest_reference(), None)?;
    if let Some(pinned) = &reference.digest
        && pinned.starts_with("sha256:")
        && pinned != &digest
    {
        return Err(Error::Digest {
            what: format!("{reference}: manifest"),
            kind: Hashed::Digest,
            expected: pinned.clone(),
            found: digest,
        });
    }
    let size = bytes.len() as u64;
    store.remember(&digest, &Arc::new(bytes));
    let mut opened = oci::load_manifest(
        Arc::new(store),
        Format::Registry,
        media_type,
        digest,
        size,
        want,
    )?;
    opened.image.reference = Some(reference.to_string());
    Ok(opened)
}
