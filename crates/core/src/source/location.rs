//! What the user named, parsed once into where the image is ([`Location`]): stdin, a path
//! (with a reference inside it and a format a prefix forced), a registry reference, or an
//! engine's image. The text is kept as typed, to show it.
//!
//! The order of recognition: `-`; `docker://`, `docker-daemon:` and `podman:`; a path that
//! exists (even one that looks like a prefix); `dir:`; `oci:`, `oci-archive:` and
//! `docker-archive:`; transports strata does not read and unknown `SCHEME://` (refused);
//! `PATH:REF`; and last, text that names no file and reads as an image name, which is asked
//! of an engine.

use std::io;
use std::path::{Path, PathBuf};

use super::registry::Reference;
use crate::error::{Error, Result};

/// How to read the input, as dive's `--source` says it: the same as the skopeo-style prefix
/// it stands for ([`SourceKind::prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    DockerArchive,
    Oci,
    OciArchive,
    Registry,
    Docker,
    Podman,
}

impl SourceKind {
    /// The prefix that means the same (`docker-archive:`, `docker://`, …).
    pub fn prefix(self) -> &'static str {
        match self {
            SourceKind::DockerArchive => LocalKind::DockerArchive.prefix(),
            SourceKind::Oci => LocalKind::OciLayout.prefix(),
            SourceKind::OciArchive => LocalKind::OciArchive.prefix(),
            SourceKind::Registry => REGISTRY,
            SourceKind::Docker => DOCKER_DAEMON,
            SourceKind::Podman => PODMAN,
        }
    }
}

/// A local format forced by a skopeo-style prefix (or `--source`), instead of the one the
/// content says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// `oci:DIR[:REF]`
    OciLayout,
    /// `oci-archive:FILE[:REF]`
    OciArchive,
    /// `docker-archive:FILE[:REPO:TAG]`
    DockerArchive,
    /// `dir:DIR`, skopeo's layout
    Dir,
}

impl LocalKind {
    /// The prefix that forces it.
    pub fn prefix(self) -> &'static str {
        match self {
            LocalKind::OciLayout => "oci:",
            LocalKind::OciArchive => "oci-archive:",
            LocalKind::DockerArchive => "docker-archive:",
            LocalKind::Dir => "dir:",
        }
    }
}

/// Which engine to ask for an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

/// Where the image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `-`: a `docker save` (or oci-archive) on stdin.
    Stdin,
    /// A file or directory, recognised by its content unless `forced`; `reference` names one
    /// image inside it (`PATH:REF`).
    Path {
        path: PathBuf,
        reference: Option<String>,
        forced: Option<LocalKind>,
    },
    /// `docker://REF`: a registry.
    Registry(Reference),
    /// `docker-daemon:NAME`, `podman:NAME`, or (`engine: None`) a name that is no file here,
    /// asked of whichever engine answers, as dive does.
    Engine {
        engine: Option<Engine>,
        name: String,
    },
}

/// What the user named: the text as typed (with `--source` written as its prefix), for
/// [`Image::source`](crate::image::Image::source), and where it leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub typed: String,
    pub location: Location,
}

const REGISTRY: &str = "docker://";
const DOCKER_DAEMON: &str = "docker-daemon:";
const PODMAN: &str = "podman:";

/// Transports of skopeo and podman that strata does not read (`podman:` is read, from the
/// engine).
const REMOTE_TRANSPORTS: &[&str] = &["containers-storage", "registry", "ostree", "sif"];

/// Every way strata reads an image, for the lines that refuse one it does not.
const READS: &str = "strata reads registries (docker://), engines (docker-daemon:, podman:) \
                     and files (oci:, oci-archive:, docker-archive:, dir:, or a plain path)";

/// The endings of file names that are never taken for an image name (`image.tar.gz` is a
/// valid repository name, but a missing file is what its user meant).
const FILE_ENDINGS: &[&str] = &[
    ".tar", ".json", ".gz", ".tgz", ".zst", ".zstd", ".xz", ".bz2", ".lz4",
];

impl Input {
    /// Parses what the user typed; `forced` (`--source`) is its prefix put in front, unless the
    /// text already starts with it.
    ///
    /// # Errors
    /// [`Error::Usage`] for no text, a transport strata does not read (with what to do
    /// instead), or an invalid `docker://` reference.
    pub fn parse(text: &str, forced: Option<SourceKind>) -> Result<Input> {
        let typed = match forced.map(SourceKind::prefix) {
            Some(prefix) if !text.starts_with(prefix) => format!("{prefix}{text}"),
            _ => text.to_string(),
        };
        let location = Location::parse(&typed)?;
        Ok(Input { typed, location })
    }
}

impl Location {
    /// See the module's documentation for the order.
    fn parse(text: &str) -> Result<Location> {
        if text == "-" {
            return Ok(Location::Stdin);
        }
        if let Some(remote) = Location::parse_remote(text) {
            return remote;
        }
        if text.is_empty() {
            return Err(Error::Usage("no image given".to_string()));
        }
        // A path that exists is a path, even one that looks like a prefix.
        if exists(text) {
            return Ok(local_or_engine(text, text.into(), None));
        }
        if let Some(local) = Location::parse_prefixed(text) {
            return Ok(local);
        }
        refuse_transport(text)?;
        let (path, reference) = split_reference(text);
        Ok(local_or_engine(text, path, reference))
    }

    /// A registry (`docker://`) or an engine (`docker-daemon:`, `podman:`), or `None` when the
    /// text has none of their prefixes.
    fn parse_remote(text: &str) -> Option<Result<Location>> {
        // With nothing after the prefix, every later message would begin with the empty name.
        for (prefix, form) in [
            (REGISTRY, "docker://[HOST[:PORT]/]REPO[:TAG]"),
            (DOCKER_DAEMON, "docker-daemon:NAME[:TAG]"),
            (PODMAN, "podman:NAME[:TAG]"),
        ] {
            if text == prefix {
                return Some(Err(Error::Usage(format!(
                    "{prefix}: the image reference is empty (write {form})"
                ))));
            }
        }
        if let Some(reference) = text.strip_prefix(REGISTRY) {
            return Some(Reference::parse(reference).map(Location::Registry));
        }
        for (prefix, engine) in [(DOCKER_DAEMON, Engine::Docker), (PODMAN, Engine::Podman)] {
            if let Some(name) = text.strip_prefix(prefix) {
                return Some(Ok(Location::Engine {
                    engine: Some(engine),
                    name: name.to_string(),
                }));
            }
        }
        None
    }

    /// A path behind a skopeo-style prefix (`dir:`, `oci:`, `oci-archive:`,
    /// `docker-archive:`), or `None` when the text has none.
    fn parse_prefixed(text: &str) -> Option<Location> {
        // A `dir:` layout names no image inside it: all the rest is the path, colons and all.
        if let Some(rest) = text.strip_prefix(LocalKind::Dir.prefix()) {
            return Some(Location::Path {
                path: rest.into(),
                reference: None,
                forced: Some(LocalKind::Dir),
            });
        }
        [
            LocalKind::OciLayout,
            LocalKind::OciArchive,
            LocalKind::DockerArchive,
        ]
        .into_iter()
        .find_map(|kind| {
            let (path, reference) = split_reference(text.strip_prefix(kind.prefix())?);
            Some(Location::Path {
                path,
                reference,
                forced: Some(kind),
            })
        })
    }
}

/// Refuses the transports of skopeo and podman that strata does not read, and `SCHEME://`
/// text that names no file, each with what to write instead.
fn refuse_transport(text: &str) -> Result<()> {
    if let Some((scheme, rest)) = text.split_once(':')
        && REMOTE_TRANSPORTS.contains(&scheme)
    {
        let instead = match scheme {
            "registry" => format!("for a registry, write docker://{rest}"),
            // A `[driver@root]` store before the name is the engine's own business.
            "containers-storage" => format!(
                "for Podman's store, write podman:{}",
                rest.split_once(']').map_or(rest, |(_, name)| name)
            ),
            _ => format!("save the image first (skopeo copy {text} oci:DIR)"),
        };
        return Err(Error::Usage(format!(
            "{text}: the {scheme}: transport is not supported; {READS}: {instead}"
        )));
    }
    // `SCHEME://…` names no file (the path before the colon is not there): a scheme
    // strata does not know, which as a path would only be "no such file".
    if let Some((scheme, rest)) = text.split_once("://")
        && is_scheme(scheme)
        && !exists(scheme)
    {
        let instead = match scheme {
            "http" | "https" => format!(": for a registry, write docker://{rest}"),
            _ => String::new(),
        };
        return Err(Error::Usage(format!(
            "{text}: unknown scheme {scheme}://; {READS}{instead}"
        )));
    }
    Ok(())
}

/// Whether text is a URI scheme (RFC 3986: a letter, then letters, digits, `+`, `-`, `.`).
fn is_scheme(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
}

/// A path with no prefix, or — when nothing is there to open (`metadata` follows symlinks, so
/// a dangling one counts as nothing) and the whole text reads as an image name — an image
/// asked of an engine: `strata NAME:TAG`, as dive reads it.
fn local_or_engine(text: &str, path: PathBuf, reference: Option<String>) -> Location {
    let missing = std::fs::metadata(&path).is_err_and(|e| e.kind() == io::ErrorKind::NotFound);
    if missing && looks_like_image_name(text) {
        return Location::Engine {
            engine: None,
            name: text.to_string(),
        };
    }
    Location::Path {
        path,
        reference,
        forced: None,
    }
}

/// Whether something is at `path`, a symlink that leads nowhere included.
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

/// Whether text that is no path could be an image name for an engine (`alpine`,
/// `ghcr.io/o/app:1.0`): not path-like, and a valid reference.
fn looks_like_image_name(text: &str) -> bool {
    !text.starts_with(['/', '.', '~'])
        && !FILE_ENDINGS.iter().any(|e| text.ends_with(e))
        && Reference::parse(text).is_ok()
}
