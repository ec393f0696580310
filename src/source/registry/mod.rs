//! Images in a registry (OCI distribution spec, Registry HTTP API v2), read without a daemon:
//! the manifest or index by tag or digest, then the same platform rules as an OCI layout
//! (`oci.rs`), then every blob streamed into the engine's single-pass reader. Nothing is
//! written to disk.
//!
//! - `reference.rs`: `[HOST[:PORT]/]REPO[:TAG][@DIGEST]` with Docker Hub's defaults.
//! - `auth.rs`: challenges, `--creds`, Docker's and containers' auth files, credential helpers.
//! - `client.rs`: HTTP: scheme, auth, redirects, retries, one-line errors naming the URL.

mod auth;
mod client;
mod reference;

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex};

use sha2::Digest as _;

use super::blob::{JSON_LIMIT, blob_path};
use super::oci;
use crate::error::{Error, Result};
use crate::image::{BlobStore, Format, Image, Platform};
use client::Client;
pub(crate) use reference::Reference;

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

/// The blobs and manifests of one repository in a registry.
#[derive(Debug)]
pub struct RegistryStore {
    client: Client,
    repository: String,
    /// `host/repo`, for messages.
    name: String,
    /// Manifests already fetched (by tag, then asked for again by digest).
    manifests: Mutex<HashMap<String, Vec<u8>>>,
}

impl RegistryStore {
    fn scope(&self) -> String {
        format!("repository:{}:pull", self.repository)
    }

    /// `GET /v2/<repo>/manifests/<reference>`: the bytes, media type and digest.
    fn fetch_manifest(&self, reference: &str) -> Result<(Vec<u8>, Option<String>, String)> {
        let path = format!("/v2/{}/manifests/{reference}", self.repository);
        let what = format!("no manifest {reference} in {}", self.name);
        let mut reply = self
            .client
            .get(&path, MANIFEST_ACCEPT, &self.scope(), &what)?;
        let media_type = reply
            .header("content-type")
            .map(|m| m.split(';').next().unwrap_or(m).trim().to_string())
            .filter(|m| !m.is_empty() && m != "application/json" && m != "text/plain");
        let url = reply.url.clone();
        let mut bytes = Vec::new();
        reply
            .response
            .body_mut()
            .as_reader()
            .take(JSON_LIMIT + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::format(format!("GET {url}"), format!("read failed: {e}")))?;
        if bytes.len() as u64 > JSON_LIMIT {
            return Err(Error::format(
                format!("GET {url}"),
                format!("a manifest over {JSON_LIMIT} bytes"),
            ));
        }
        let digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&bytes)));
        Ok((bytes, media_type, digest))
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
            let cached = self
                .manifests
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(digest)
                .cloned();
            let bytes = match cached {
                Some(b) => b,
                None => self.fetch_manifest(digest)?.0,
            };
            let len = bytes.len() as u64;
            return Ok((Box::new(Cursor::new(bytes)), len));
        }
        let digest = location
            .strip_prefix("blobs/")
            .and_then(|r| r.split_once('/'))
            .map(|(alg, hex)| format!("{alg}:{hex}"))
            .ok_or_else(|| {
                Error::format(&self.name, format!("no such blob location {location}"))
            })?;
        let path = format!("/v2/{}/blobs/{digest}", self.repository);
        let what = format!("no blob {digest} in {}", self.name);
        let reply =
            self.client
                .get(&path, "application/octet-stream, */*", &self.scope(), &what)?;
        let len = reply.content_length().unwrap_or(0);
        Ok((Box::new(reply.response.into_body().into_reader()), len))
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
    text: &str,
    options: &RegistryOptions<'_>,
    explicit: Option<&Platform>,
) -> Result<Image> {
    let reference = Reference::parse(text)?;
    let creds = auth::credentials(&reference.registry, &reference.repository, options.creds)?;
    let client = Client::new(reference.api_host(), options.insecure, creds);
    let store = RegistryStore {
        client,
        repository: reference.repository.clone(),
        name: format!("{}/{}", reference.registry, reference.repository),
        manifests: Mutex::new(HashMap::new()),
    };
    let (bytes, media_type, digest) = store.fetch_manifest(reference.manifest_reference())?;
    if let Some(pinned) = &reference.digest
        && pinned.starts_with("sha256:")
        && pinned != &digest
    {
        return Err(Error::Digest {
            what: format!("{reference}: manifest"),
            kind: "digest",
            expected: pinned.clone(),
            found: digest,
        });
    }
    let size = bytes.len() as u64;
    store
        .manifests
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(digest.clone(), bytes);
    let mut image = oci::load_manifest(
        Arc::new(store),
        Format::Registry,
        media_type,
        digest,
        size,
        explicit,
    )?;
    image.reference = Some(reference.to_string());
    Ok(image)
}
