//! skopeo's `dir:` layout (the directory transport of containers/image, which skopeo, podman
//! and buildah share): `manifest.json` is the image's own manifest — or, after
//! `skopeo copy --all`, its index, each instance's manifest then in `<hex>.manifest.json` — and
//! every blob is a file named by its digest's hex (`<hex>.tar` in version 1.0 of the layout);
//! `version` says `Directory Transport Version: 1.1`; `signature-N` files are signatures.
//! It is read as an OCI layout whose index names one document: `manifest.json`, whose digest is
//! that of its bytes (skopeo writes the manifest it copied, byte for byte).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::blob::read_small;
use super::oci;
use super::opened::Opened;
use super::store::{BlobStore, DirStore, blob_path, is_not_found};
use super::want::Want;
use crate::error::{Error, NotAnImage, Result};
use crate::image::Format;
use crate::layer::Algorithm;

/// What the `version` file of a `dir:` layout begins with.
const VERSION: &str = "Directory Transport Version:";

/// A `dir:` layout: OCI locations (`blobs/<alg>/<hex>`) mapped to its file names.
#[derive(Debug)]
struct SkopeoDir {
    dir: DirStore,
    /// The digest of `manifest.json`, which is where that document is found.
    top: String,
}

impl SkopeoDir {
    /// The file a location names: `blobs/<alg>/<hex>` is `<hex>`; anything else is itself.
    fn file(location: &str) -> &str {
        location
            .strip_prefix("blobs/")
            .and_then(|rest| rest.split_once('/'))
            .map_or(location, |(_, hex)| hex)
    }
}

impl BlobStore for SkopeoDir {
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)> {
        let file = Self::file(location);
        match self.dir.open(file) {
            // Version 1.0 of the layout named blobs `<hex>.tar`.
            Err(e) if is_not_found(&e) && file != location => {
                self.dir.open(&format!("{file}.tar")).map_err(|_| e)
            }
            other => other,
        }
    }

    fn name(&self) -> &str {
        self.dir.name()
    }

    fn manifest_location(&self, digest: &str) -> Result<String> {
        // The digest's grammar is checked before it names a file.
        let location = blob_path(digest, self.name())?;
        if digest.eq_ignore_ascii_case(&self.top) {
            return Ok("manifest.json".to_string());
        }
        Ok(format!("{}.manifest.json", Self::file(&location)))
    }
}

/// Whether a directory is a `dir:` layout, by its content: a `version` file that says so, or
/// a `manifest.json` that is one JSON object (a manifest or an index; an extracted
/// `docker save` has a JSON array there).
pub(crate) fn is_dir_layout(path: &Path) -> bool {
    let store = DirStore::new(path);
    let starts = |name: &str, with: &[u8]| {
        store.open(name).is_ok_and(|(reader, _)| {
            let mut head = Vec::new();
            let _ = reader.take(64).read_to_end(&mut head);
            let text = head.trim_ascii_start();
            text.starts_with(with)
        })
    };
    starts("version", VERSION.as_bytes()) || starts("manifest.json", b"{")
}

/// Loads the image of a `dir:` layout (the one of `manifest.json`, or of its index by the
/// platform rules of `oci/`).
pub(crate) fn load(path: &Path, want: &Want<'_>) -> Result<Opened> {
    let store = DirStore::new(path);
    let name = store.name().to_string();
    let what = format!("{name}: manifest.json");
    let bytes = match read_small(&store, "manifest.json", &what) {
        Err(e) if is_not_found(&e) => {
            return Err(Error::NotAnImage {
                what: name,
                why: NotAnImage::NotDirLayout,
            });
        }
        other => other?,
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Error::json(&what, e))?;
    if !value.is_object() {
        return Err(Error::NotAnImage {
            what,
            why: NotAnImage::DirManifestNotObject,
        });
    }
    if let Some(reference) = want.reference {
        return Err(Error::Usage(format!(
            "{name}: a dir: layout holds one image and names none; {reference:?} cannot be chosen"
        )));
    }
    let media_type = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .map(str::to_string);
    let top = Algorithm::Sha256.digest(&bytes);
    let size = bytes.len() as u64;
    let store = Arc::new(SkopeoDir {
        dir: store,
        top: top.clone(),
    });
    oci::load_manifest(store, Format::Dir, media_type, top, size, want)
}
