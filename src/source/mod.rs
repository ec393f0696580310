//! Where images come from: recognise the input by its content and resolve it to an
//! [`Image`](crate::image::Image), [`Opened`] with the store its blobs are read from.
//!
//! - `store.rs`: reading files of a directory or members of a tar ([`DirStore`], [`TarStore`]).
//! - `oci.rs`: OCI layouts (directory or oci-archive): indexes, reference names, platforms.
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
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use opened::{Layers, Opened};
pub use store::{BlobStore, DirStore, TarStore};
use want::Want;

use crate::error::{Error, Result};
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

/// A transport forced by a skopeo-style prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Oci,
    OciArchive,
    DockerArchive,
    Dir,
}

impl Transport {
    fn prefix(self) -> &'static str {
        match self {
            Transport::Oci => "oci:",
            Transport::OciArchive => "oci-archive:",
            Transport::DockerArchive => "docker-archive:",
            Transport::Dir => "dir:",
        }
    }
}

/// The input as the user typed it, split into transport, path and reference.
#[derive(Debug, PartialEq, Eq)]
struct Spec {
    transport: Option<Transport>,
    path: PathBuf,
    reference: Option<String>,
}

/// Transports of skopeo and podman that name something other than a local file.
const REMOTE_TRANSPORTS: &[&str] = &["containers-storage", "registry", "podman", "ostree", "sif"];

fn exists(path: &str) -> bool {
    Path::new(path).symlink_metadata().is_ok()
}

/// Splits `PATH[:REF]`: the whole text if it exists, else at the first colon whose left side
/// exists (so `REF` may contain colons, as in `localhost:5000/app:1.0`).
fn split_reference(text: &str) -> (PathBuf, Option<String>) {
    if !exists(text) {
        for (i, _) in text.match_indices(':') {
            let (path, reference) = (&text[..i], &text[i + 1..]);
            if !path.is_empty() && exists(path) {
                return (
                    path.into(),
                    Some(reference.to_string()).filter(|r| !r.is_empty()),
                );
            }
        }
    }
    (text.into(), None)
}

fn parse_spec(text: &str) -> Result<Spec> {
    if text.is_empty() {
        return Err(Error::Usage("no image given".to_string()));
    }
    // A path that exists is a path, even one that looks like a prefix.
    if exists(text) {
        return Ok(Spec {
            transport: None,
            path: text.into(),
            reference: None,
        });
    }
    // A `dir:` layout names no image inside it: all the rest is the path, colons and all.
    if let Some(rest) = text.strip_prefix(Transport::Dir.prefix()) {
        return Ok(Spec {
            transport: Some(Transport::Dir),
            path: rest.into(),
            reference: None,
        });
    }
    for transport in [
        Transport::Oci,
        Transport::OciArchive,
        Transport::DockerArchive,
    ] {
        if let Some(rest) = text.strip_prefix(transport.prefix()) {
            let (path, reference) = split_reference(rest);
            return Ok(Spec {
                transport: Some(transport),
                path,
                reference,
            });
        }
    }
    if let Some((scheme, _)) = text.split_once(':')
        && REMOTE_TRANSPORTS.contains(&scheme)
    {
        return Err(Error::Usage(format!(
            "{text}: the {scheme}: transport is not supported; strata reads local files — save \
             the image first (docker save IMAGE -o image.tar, or skopeo copy {text} oci:DIR)"
        )));
    }
    let (path, reference) = split_reference(text);
    Ok(Spec {
        transport: None,
        path,
        reference,
    })
}

/// Inputs that are no path: `-` (a `docker save` on stdin), `docker://REF` (a registry),
/// `docker-daemon:NAME` and `podman:NAME` (an engine). `None` for everything else.
fn open_remote(
    spec: &str,
    options: &OpenOptions,
    explicit: Option<&Platform>,
) -> Result<Option<Opened>> {
    let want = |reference| Want {
        reference,
        platform: explicit,
        lenient: options.lenient,
    };
    let mut opened = if spec == "-" {
        let stdin = std::io::stdin().lock();
        let want = Want {
            reference: options.tag.as_deref(),
            platform: explicit,
            lenient: options.lenient,
        };
        stream::load(stdin, "stdin", &want, options.scan, None)?
    } else if let Some(reference) = spec.strip_prefix("docker://") {
        let registry_options = registry::RegistryOptions {
            insecure: options.insecure,
            creds: options.creds.as_deref(),
        };
        registry::load(reference, &registry_options, &want(None))?
    } else if let Some(name) = spec.strip_prefix("docker-daemon:") {
        daemon::load(
            Some(daemon::Engine::Docker),
            name,
            &want(None),
            options.scan,
        )?
    } else if let Some(name) = spec.strip_prefix("podman:") {
        daemon::load(
            Some(daemon::Engine::Podman),
            name,
            &want(None),
            options.scan,
        )?
    } else {
        return Ok(None);
    };
    opened.image.source = spec.to_string();
    Ok(Some(opened))
}

/// The endings of file names that are never taken for an image name (`image.tar.gz` is a
/// valid repository name, but a missing file is what its user meant).
const FILE_ENDINGS: &[&str] = &[
    ".tar", ".json", ".gz", ".tgz", ".zst", ".zstd", ".xz", ".bz2", ".lz4",
];

/// Whether text that is no path could be an image name for an engine (`alpine`,
/// `ghcr.io/o/app:1.0`): not path-like, and a valid reference.
fn looks_like_image_name(text: &str) -> bool {
    !text.starts_with(['/', '.', '~'])
        && !FILE_ENDINGS.iter().any(|e| text.ends_with(e))
        && registry::Reference::parse(text).is_ok()
}

/// Opens an image from a path with an optional skopeo-style prefix (`oci:DIR[:REF]`,
/// `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REPO:TAG]`, `dir:DIR`), or a plain path
/// recognised by its content (`PATH:REF` also works when `PATH:REF` itself does not exist but
/// `PATH` does). A plain `NAME[:TAG]` that is no file is asked of an engine.
///
/// - A directory with `oci-layout` and `index.json` is an OCI layout; one with `manifest.json`
///   is skopeo's `dir:` layout when that file is one JSON object (or `version` says so), else
///   an extracted `docker save` (which wins, as in a tar, unless `oci:` forces the layout).
/// - A file is a tar, plain or gzip- or zstd-compressed (read once, as a stream): with
///   `manifest.json` it is `docker save` (either age; `oci-archive:` forces its OCI half
///   instead), with only `index.json` an oci-archive.
/// - Several images and no reference (in the spec or [`OpenOptions::tag`]): the first one is
///   taken, and a warning in [`Image::warnings`](crate::image::Image::warnings) lists the others (artifacts are not counted).
/// - Platform: [`OpenOptions::platform`], else the host's; see the rules in `oci.rs`.
///
/// # Errors
/// One-line [`Error`]s naming the file, member or blob: unreadable or unrecognised input
/// (other compressions get a hint), an OCI artifact rather than an image, invalid JSON, a
/// digest mismatch, or — as [`Error::NotFound`], listing what there is — a reference, tag or
/// platform it lacks, or an engine that cannot give the image.
pub fn open(spec: &str, options: &OpenOptions) -> Result<Opened> {
    let explicit = options
        .platform
        .as_deref()
        .map(Platform::parse)
        .transpose()?;
    let explicit = explicit.as_ref();
    if let Some(opened) = open_remote(spec, options, explicit)? {
        return Ok(opened);
    }
    let parsed = parse_spec(spec)?;
    let reference = parsed.reference.as_deref().or(options.tag.as_deref());
    let want = Want {
        reference,
        platform: explicit,
        lenient: options.lenient,
    };
    let path = &parsed.path;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) => {
            // `strata NAME:TAG` that is no path asks the engine, as dive does.
            if e.kind() == std::io::ErrorKind::NotFound
                && parsed.transport.is_none()
                && looks_like_image_name(spec)
            {
                return daemon::load_implicit(spec, &want, options.scan);
            }
            return Err(Error::io(path, e));
        }
    };
    let shown = path.display().to_string();
    let mut opened = if meta.is_dir() {
        if let Some(t @ (Transport::OciArchive | Transport::DockerArchive)) = parsed.transport {
            return Err(Error::Usage(format!(
                "{shown}: is a directory, but {} expects a tar file (use oci:{shown} for a \
                 layout directory)",
                t.prefix()
            )));
        }
        let store = Arc::new(DirStore::new(path));
        let has = |name: &str| path.join(name).is_file();
        if parsed.transport == Some(Transport::Dir)
            || (parsed.transport.is_none() && has("manifest.json") && dir::is_dir_layout(path))
        {
            dir::load(path, &want)?
        } else if has("manifest.json") && parsed.transport.is_none() {
            docker::load(store, &want)?
        } else if has("index.json") && has("oci-layout") {
            oci::load(store, Format::OciLayout, &want)?
        } else {
            return Err(Error::format(
                shown,
                "not an image directory: expected an OCI layout (oci-layout and index.json), a \
                 skopeo dir: layout or an extracted docker save (manifest.json)",
            ));
        }
    } else {
        if parsed.transport == Some(Transport::Oci) {
            return Err(Error::Usage(format!(
                "{shown}: oci: expects a layout directory; for a tar file use oci-archive:{shown}"
            )));
        }
        if parsed.transport == Some(Transport::Dir) {
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
            let mut opened = stream::load(file, &shown, &want, options.scan, parsed.transport)?;
            opened.image.source = spec.to_string();
            return Ok(opened);
        }
        sniff::check_head(&head, n, &shown, false, None)?;
        let store = TarStore::open(path)?;
        let docker = store.contains("manifest.json");
        let oci = store.contains("index.json");
        match (parsed.transport, docker, oci) {
            (Some(Transport::DockerArchive), false, _) => {
                return Err(Error::format(
                    shown,
                    "not a docker-archive: the tar has no manifest.json",
                ));
            }
            (Some(Transport::OciArchive), _, false) => {
                return Err(Error::format(
                    shown,
                    "not an oci-archive: the tar has no index.json",
                ));
            }
            (Some(Transport::OciArchive), _, true) | (_, false, true) => {
                oci::load(Arc::new(store), Format::OciArchive, &want)?
            }
            (_, true, _) => docker::load(Arc::new(store), &want)?,
            (_, false, false) => {
                return Err(Error::format(
                    shown,
                    "a tar archive, but not an image: it has neither manifest.json (docker \
                     save) nor index.json (oci-archive)",
                ));
            }
        }
    };
    opened.image.source = spec.to_string();
    Ok(opened)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

/// [`crate::fuzzing`]'s way into an OCI layout held in memory.
#[doc(hidden)]
pub fn oci_load_for_fuzzing(store: Arc<dyn BlobStore>, format: Format) -> Result<Opened> {
    oci::load(store, format, &Want::default())
}

/// [`crate::fuzzing`]'s way into a streamed archive held in memory.
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

/// [`crate::fuzzing`]'s way into the registry's text parsers: a reference and a challenge.
#[doc(hidden)]
pub fn registry_parse_for_fuzzing(text: &str) {
    let _ = registry::Reference::parse(text);
    let _ = registry::parse_challenge_for_fuzzing(text);
}
