//! Where images come from: what the user named, parsed once ([`Input`]), recognised by its
//! content and resolved to an [`Opened`] image: the [`Image`](crate::image::Image), the store
//! its blobs are read from, and its layers (read already, for a stream).
//!
//! - `location.rs`: the text parsed into a [`Location`] (stdin, path, registry, engine).
//! - `opened.rs`: what opening gives the engine ([`Opened`], [`Layers`]).
//! - `store.rs`: what every loader reads files through ([`BlobStore`]), a directory's or a tar's
//!   ([`DirStore`], [`TarStore`]).
//! - `want.rs`, `sniff.rs`: which image is wanted, and judging a file by its first bytes.
//! - `oci/`: OCI layouts (directory or oci-archive): indexes, reference names, platforms, and
//!   BuildKit's provenance attestation beside the image.
//! - `docker.rs`: `docker save` archives, before and after Docker 25.
//! - `dir.rs`: skopeo's `dir:` layout.
//! - `config.rs`: the image config, history mapped to layers.
//! - `stream.rs`: archives read once, front to back (a pipe, an engine's export).
//! - `daemon.rs`: the Docker or Podman engine over its unix socket.
//! - `registry/`: registries (OCI distribution API) over HTTP.

mod blob;
mod config;
mod daemon;
mod dir;
mod docker;
mod location;
mod oci;
mod opened;
mod platform;
mod registry;
mod sniff;
mod store;
mod stream;
#[cfg(test)]
pub(crate) mod testutil;
mod want;

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

pub use location::{Engine, Input, LocalKind, Location, SourceKind};
pub use opened::{Layers, Opened};
pub use registry::{MAX_TAGS, Reference};
pub use store::{BlobStore, DirStore, TarStore};
use want::Want;

use crate::error::{Error, LayoutSign, NotAnImage, Result};
use crate::image::{Format, Platform};
use crate::layer::Compression;

/// What the user asked for beyond the input itself.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// `os/arch[/variant]`; `None` means the host's platform.
    pub platform: Option<String>,
    /// A tag (`repo:tag`) or reference name to pick among several images in one input.
    pub tag: Option<String>,
    /// Registries: accept any TLS certificate and allow plain HTTP (`--insecure`).
    pub insecure: bool,
    /// Registries: `USER:PASSWORD` (`--creds`), before any auth file.
    pub creds: Option<String>,
    /// How streamed inputs (a pipe, an engine) read their layers, which happens while opening.
    pub scan: crate::layer::ScanOptions,
    /// Go past digest and size mismatches of the index, manifest and config, noting them in
    /// [`Image::integrity`](crate::image::Image::integrity) (`--ignore-errors`, `strata verify`).
    pub lenient: bool,
}

/// The tags of the repository a registry reference names (its own tag aside), as the
/// registry lists them; at most [`registry::MAX_TAGS`].
///
/// # Errors
/// [`Error::Usage`] when `input` names no registry image; else as the registry answers.
pub fn list_tags(input: &Input, options: &OpenOptions) -> Result<Vec<String>> {
    let Location::Registry(reference) = &input.location else {
        return Err(Error::Usage(format!(
            "{}: tags are listed in a registry (docker://HOST/REPO)",
            input.typed
        )));
    };
    let registry_options = registry::RegistryOptions {
        insecure: options.insecure,
        creds: options.creds.as_deref(),
    };
    registry::list_tags(reference, &registry_options)
}

/// Opens the image `input` names: stdin, a registry, an engine, or a path with an optional
/// skopeo-style prefix (`oci:DIR[:REF]`, `oci-archive:FILE[:REF]`,
/// `docker-archive:FILE[:REPO:TAG]`, `dir:DIR`) or a plain path recognised by its content
/// (`PATH:REF` also works when `PATH:REF` itself does not exist but `PATH` does); see
/// [`Input::parse`].
///
/// - A directory with `oci-layout` and `index.json` is an OCI layout; one with `manifest.json`
///   is skopeo's `dir:` layout when that file is one JSON object (or `version` says so), else
///   an extracted `docker save` (which wins, as in a tar, unless `oci:` forces the layout).
/// - A file is a tar, plain or gzip- or zstd-compressed (read once, as a stream): with
///   `manifest.json` it is `docker save` (either age; `oci-archive:` forces its OCI half
///   instead), with only `index.json` an oci-archive.
/// - Several images and no reference (in the spec or [`OpenOptions::tag`]): the first one is
///   taken, and a warning in [`Image::warnings`](crate::image::Image::warnings) lists the others
///   (artifacts are not counted).
/// - Platform: [`OpenOptions::platform`], else the host's; see the rules in `oci/choose.rs`.
///
/// # Errors
/// One-line [`Error`]s naming the file, member or blob: unreadable or unrecognised input
/// (other compressions get a hint), an OCI artifact rather than an image, invalid JSON, a
/// digest mismatch, or — as [`Error::NotFound`], listing what there is — a reference, tag or
/// platform it lacks, or an engine that cannot give the image.
pub fn open(input: &Input, options: &OpenOptions) -> Result<Opened> {
    let explicit = options
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()?;
    let want = |reference| Want {
        reference,
        platform: explicit.as_ref(),
        lenient: options.lenient,
    };
    let mut opened = match &input.location {
        Location::Stdin => {
            let stdin = std::io::stdin().lock();
            stream::load(
                stdin,
                "stdin",
                &want(options.tag.as_deref()),
                options.scan,
                None,
            )?
        }
        Location::Registry(reference) => {
            let registry_options = registry::RegistryOptions {
                insecure: options.insecure,
                creds: options.creds.as_deref(),
            };
            registry::load(reference, &registry_options, &want(None))?
        }
        Location::Engine {
            engine: Some(engine),
            name,
        } => daemon::load(*engine, name, &want(None), options.scan)?,
        // Its source stays the socket and the name it was read as: the text named no file,
        // and that says where the image came from instead.
        Location::Engine { engine: None, name } => {
            return daemon::load_implicit(name, &want(None), options.scan);
        }
        Location::Path {
            path,
            reference,
            forced,
        } => {
            let want = want(reference.as_deref().or(options.tag.as_deref()));
            open_path(path, *forced, &want, options.scan)?
        }
    };
    opened.image.source.clone_from(&input.typed);
    Ok(opened)
}

/// Why a directory with no `index.json` is taken for an OCI layout that lost it: it was named
/// with `oci:`, or it holds `oci-layout` or `blobs/`, which only layouts have.
fn meant_as_layout(path: &Path, forced: Option<LocalKind>) -> Option<LayoutSign> {
    let file = path.join("oci-layout").is_file();
    let blobs = path.join("blobs").is_dir();
    match (forced, file, blobs) {
        (_, true, true) => Some(LayoutSign::OciLayoutAndBlobs),
        (_, true, false) => Some(LayoutSign::OciLayout),
        (_, false, true) => Some(LayoutSign::Blobs),
        (Some(LocalKind::OciLayout), false, false) => Some(LayoutSign::NamedOci),
        _ => None,
    }
}

/// A file or directory, recognised by its content unless `forced`.
fn open_path(
    path: &Path,
    forced: Option<LocalKind>,
    want: &Want<'_>,
    scan: crate::layer::ScanOptions,
) -> Result<Opened> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        open_dir(path, forced, want)
    } else {
        open_file(path, &meta, forced, want, scan)
    }
}

/// A directory: a `dir:` layout, an extracted `docker save` or an OCI layout.
fn open_dir(path: &Path, forced: Option<LocalKind>, want: &Want<'_>) -> Result<Opened> {
    let shown = path.display().to_string();
    if let Some(t @ (LocalKind::OciArchive | LocalKind::DockerArchive)) = forced {
        return Err(Error::Usage(format!(
            "{shown}: is a directory, but {} expects a tar file (use oci:{shown} for a \
             layout directory)",
            t.prefix()
        )));
    }
    let store = Arc::new(DirStore::new(path));
    let has = |name: &str| path.join(name).is_file();
    if forced == Some(LocalKind::Dir)
        || (forced.is_none() && has("manifest.json") && dir::is_dir_layout(path))
    {
        dir::load(path, want)
    } else if has("manifest.json") && forced.is_none() {
        docker::load(store, want)
    } else if has("index.json") && has("oci-layout") {
        oci::load(store, Format::OciLayout, want)
    } else if let Some(sign) = meant_as_layout(path, forced)
        && !has("index.json")
    {
        Err(Error::NotAnImage {
            what: format!("{shown}: index.json"),
            why: NotAnImage::MissingIndex { sign },
        })
    } else {
        Err(Error::NotAnImage {
            what: shown,
            why: NotAnImage::NotImageDirectory,
        })
    }
}

/// A file (or a pipe): a tar, read in place when plain, as a stream when compressed or piped.
fn open_file(
    path: &Path,
    meta: &std::fs::Metadata,
    forced: Option<LocalKind>,
    want: &Want<'_>,
    scan: crate::layer::ScanOptions,
) -> Result<Opened> {
    let shown = path.display().to_string();
    if forced == Some(LocalKind::OciLayout) {
        return Err(Error::Usage(format!(
            "{shown}: oci: expects a layout directory; for a tar file use oci-archive:{shown}"
        )));
    }
    if forced == Some(LocalKind::Dir) {
        return Err(Error::Usage(format!(
            "{shown}: dir: expects a directory (skopeo copy IMAGE dir:PATH writes one)"
        )));
    }
    let (head, n) = if meta.is_file() {
        sniff::head_of(path)?
    } else {
        ([0; 512], 0)
    };
    // A pipe (`docker save | strata analyze /dev/stdin`) is read once, as it comes; so is a
    // compressed archive (`docker save | gzip`): finding a member in it means decompressing
    // all that comes before, so it is read front to back, once, as a pipe is.
    if !meta.is_file() || Compression::sniff(&head[..n]) != Compression::None {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        return stream::load(file, &shown, want, scan, forced);
    }
    sniff::check_head(&head, n, &shown, false, None)?;
    let store = TarStore::open(path)?;
    let docker = store.contains("manifest.json");
    let oci = store.contains("index.json");
    let not = |why| Err(Error::NotAnImage { what: shown, why });
    match (forced, docker, oci) {
        (Some(LocalKind::DockerArchive), false, _) => not(NotAnImage::NotDockerArchive),
        (Some(LocalKind::OciArchive), _, false) => not(NotAnImage::NotOciArchive),
        (Some(LocalKind::OciArchive), _, true) | (_, false, true) => {
            oci::load(Arc::new(store), Format::OciArchive, want)
        }
        (_, true, _) => docker::load(Arc::new(store), want),
        (_, false, false) => not(NotAnImage::NoManifestNorIndex { stream: false }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod attestation_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

/// `strata::fuzzing`'s way into an OCI layout held in memory.
#[doc(hidden)]
pub fn oci_load_for_fuzzing(store: Arc<dyn BlobStore>, format: Format) -> Result<Opened> {
    oci::load(store, format, &Want::default())
}

/// `strata::fuzzing`'s way into a streamed archive held in memory.
#[doc(hidden)]
pub fn stream_load_for_fuzzing(data: &[u8]) -> Result<Opened> {
    stream::load(
        data,
        "fuzz",
        &Want::default(),
        crate::layer::ScanOptions::default(),
        None,
    )
}

/// `strata::fuzzing`'s way into the registry's text parsers: a reference and a challenge.
#[doc(hidden)]
pub fn registry_parse_for_fuzzing(text: &str) {
    let _ = registry::Reference::parse(text);
    let _ = registry::parse_challenge_for_fuzzing(text);
}
