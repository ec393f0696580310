//! Exporting one file as a layer holds it, into a directory the user typed.
//!
//! The destination is typed relative to the current directory, or under `~/` (`$HOME`); it
//! may not be absolute or hold `..`. The starting directory (the current one, or `$HOME`) is
//! taken as it is, symlink or not: it is where the user stands. Below it every directory is
//! opened beneath a directory handle (`cap-std`) without following symlinks: a component the
//! user typed that is a symlink is refused with a message naming it, even one that stays
//! inside (type the directory it points to instead), and missing directories are created.
//!
//! The file is written under a fresh temporary name (`O_CREAT|O_EXCL`, which never follows a
//! symlink) in that directory, then linked to its name — which fails if the name exists — or,
//! once the user has confirmed an overwrite, renamed over it, which replaces a file or a
//! symlink itself and never writes through one. A failed or abandoned export leaves nothing
//! under the name. The explorer checks what needs no I/O at once ([`Request::new`]); opening
//! the directories, creating the temporary file and streaming run on a worker thread the
//! runtime starts ([`Request::run`]), so that a slow disk never holds a keystroke.
//!
//! The bytes come from the layer blob that shipped the file: its tar is walked again for the
//! regular-file entry with the file's size and content hash whose name resolves to the file.
//! The name a layer used need not be the file's path: a parent may be a symlink in the image
//! (`lib/x.so` lands at `/usr/lib/x.so` when `lib -> usr/lib`), so the entry's parent is
//! resolved through the image's symlinks as of that layer, as the overlay applied it.

use std::io::{self, Seek, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cap_fs_ext::DirExt as _;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};

use crate::engine::Loaded;
use crate::layer::decode::open_layer;
use crate::layer::tar::{TarError, TarWalker};
use crate::layer::{ContentHash, Kind};
use crate::overlay::{Fs, NodeId, ROOT};

/// Symlinks followed while resolving one entry's parent (Linux's limit, as the overlay's).
const MAX_HOPS: u32 = 40;
/// Path components walked while resolving one entry's parent, symlink targets included.
const MAX_STEPS: u32 = 16 * 1024;

/// Why an export was refused or failed: each renders as the words the status bar shows after
/// "export failed: ", naming the file or directory when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("type a directory")]
    NoDirectory,
    #[error("HOME is not set to an absolute directory: cannot expand ~")]
    NoHome,
    /// `~user/…`: only the user's own home is expanded.
    #[error("{typed}: only ~/ is expanded (not ~user)")]
    OtherHome { typed: String },
    #[error("{typed}: not UTF-8")]
    NotUtf8 { typed: String },
    /// Absolute, or holding `..`.
    #[error("{typed}: use a directory relative to the current one or to ~/, without `..`")]
    NotRelative { typed: String },
    /// A directory below the start is a symlink, which is not followed.
    #[error("{} is a symlink: not followed (type the directory it points to)", path.display())]
    Symlink { path: PathBuf },
    /// The name to write is a directory (when overwriting).
    #[error("{}: is a directory", path.display())]
    IsDirectory { path: PathBuf },
    /// The name was free when asked, and taken when the file was to get it.
    #[error("{} appeared meanwhile: not overwritten", path.display())]
    AppearedMeanwhile { path: PathBuf },
    /// An operating-system error on a directory or file of the destination (as the user
    /// would spell it).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the path does not exist in this layer")]
    NotInLayer,
    #[error("not a regular file")]
    NotRegular,
    #[error("the file name is not UTF-8")]
    NameNotUtf8,
    /// A name that cannot be a file in a directory (`..`, one holding `/`).
    #[error("refusing the name {name:?}")]
    BadName { name: String },
    /// The layer that shipped the bytes could not be read again.
    #[error("layer {layer}: {source}")]
    Layer {
        layer: usize,
        #[source]
        source: LayerRead,
    },
    /// The layer has no entry with the file's name, size and content.
    #[error("layer {layer} has no entry {path} with that content")]
    NoEntry { layer: usize, path: String },
    /// The worker went away without a word.
    #[error("the export stopped")]
    Stopped,
}

/// What failed while the layer was read again (or the temporary file rewound for it).
#[derive(Debug, thiserror::Error)]
pub enum LayerRead {
    #[error(transparent)]
    Blob(#[from] crate::Error),
    #[error(transparent)]
    Tar(#[from] TarError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl ExportError {
    fn io(path: impl Into<PathBuf>, source: io::Error) -> ExportError {
        ExportError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A destination the user typed: where it starts and the directories below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `$HOME` for `~/…`; `None` for the base directory the explorer was given.
    home: Option<PathBuf>,
    /// Where a relative destination starts: the current directory unless told otherwise.
    base: PathBuf,
    dirs: Vec<String>,
    /// As the user typed it (for messages).
    typed: String,
}

impl Destination {
    /// Parses what the user typed: a directory relative to `base`, or `~` / `~/…`.
    pub fn parse(typed: &str, base: &Path) -> Result<Destination, ExportError> {
        let typed = typed.trim();
        if typed.is_empty() {
            return Err(ExportError::NoDirectory);
        }
        let (home, rest) = if typed == "~" || typed.starts_with("~/") {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|h| h.is_absolute())
                .ok_or(ExportError::NoHome)?;
            (Some(home), &typed[1..])
        } else if typed.starts_with('~') {
            return Err(ExportError::OtherHome {
                typed: typed.to_string(),
            });
        } else {
            (None, typed)
        };
        let mut dirs = Vec::new();
        for c in Path::new(rest.trim_start_matches('/')).components() {
            match c {
                Component::Normal(name) => dirs.push(
                    name.to_str()
                        .ok_or_else(|| ExportError::NotUtf8 {
                            typed: typed.to_string(),
                        })?
                        .to_string(),
                ),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(not_relative(typed));
                }
            }
        }
        if home.is_none() && rest.starts_with('/') {
            return Err(not_relative(typed));
        }
        Ok(Destination {
            home,
            base: base.to_path_buf(),
            dirs,
            typed: typed.to_string(),
        })
    }

    /// The directory as typed, for messages.
    pub fn typed(&self) -> &str {
        &self.typed
    }

    /// `typed/name` as the user would spell it.
    fn shown(&self, name: &str) -> PathBuf {
        Path::new(&self.typed).join(name)
    }

    /// Opens the directory, creating what is missing, following no symlink below the start.
    fn open(&self) -> Result<Dir, ExportError> {
        let start = self.home.as_deref().unwrap_or(&self.base);
        let mut dir = Dir::open_ambient_dir(start, ambient_authority())
            .map_err(|e| ExportError::io(start, e))?;
        let mut walked = PathBuf::from(if self.home.is_some() { "~" } else { "" });
        for name in &self.dirs {
            walked.push(name);
            dir = match dir.open_dir_nofollow(name) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    match dir.create_dir(name) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(ExportError::io(walked, e)),
                    }
                    dir.open_dir_nofollow(name)
                        .map_err(|e| refusal(&dir, name, walked.clone(), e))?
                }
                Err(e) => return Err(refusal(&dir, name, walked, e)),
            };
        }
        Ok(dir)
    }
}

/// Why `name` in `dir` could not be opened as a directory: a symlink gets its own message.
fn refusal(dir: &Dir, name: &str, walked: PathBuf, e: io::Error) -> ExportError {
    if dir
        .symlink_metadata(name)
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        ExportError::Symlink { path: walked }
    } else {
        ExportError::io(walked, e)
    }
}

fn not_relative(typed: &str) -> ExportError {
    ExportError::NotRelative {
        typed: typed.to_string(),
    }
}

/// An export the explorer asked for: the file checked against the image, nothing opened yet.
#[derive(Debug)]
pub struct Request {
    loaded: Arc<Loaded>,
    dest: Destination,
    overwrite: bool,
    name: String,
    shown: PathBuf,
    /// The node that shipped the bytes, the layer, their size and xxh3.
    node: NodeId,
    layer: usize,
    size: u64,
    hash: u64,
    /// Bytes written so far, read by the screen while the worker streams.
    written: Arc<AtomicU64>,
}

/// How an export ended.
#[derive(Debug)]
pub enum Outcome {
    /// The name exists in the destination (as the user would spell it): ask first.
    Exists(PathBuf),
    /// Written (the file as the user would spell it, its size), or why not.
    Done(Result<(PathBuf, u64), ExportError>),
}

impl Outcome {
    /// What a worker that went away without a word ended with.
    pub fn stopped() -> Outcome {
        Outcome::Done(Err(ExportError::Stopped))
    }
}

impl Request {
    /// Checks what can be checked without I/O: the content of `node` as of layer `k`, a regular
    /// file with a usable name, goes to `dest/<name>`.
    pub fn new(
        loaded: &Arc<Loaded>,
        node: NodeId,
        k: usize,
        dest: Destination,
        overwrite: bool,
    ) -> Result<Request, ExportError> {
        let fs = &loaded.fs;
        let meta = fs.state_at(node, k).ok_or(ExportError::NotInLayer)?;
        let object = fs.object(meta.object().ok_or(ExportError::NotRegular)?);
        let name = std::str::from_utf8(fs.name(node))
            .map_err(|_| ExportError::NameNotUtf8)?
            .to_string();
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            return Err(ExportError::BadName { name });
        }
        Ok(Request {
            loaded: Arc::clone(loaded),
            shown: dest.shown(&name),
            dest,
            overwrite,
            name,
            node: object.node,
            layer: usize::from(object.layer),
            size: object.size,
            hash: object.hash,
            written: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The file as the user would spell it.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// The bytes to write.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The count of bytes written, shared with the worker.
    pub fn written(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.written)
    }

    /// Does the export: opens the destination, creates the temporary file (handing its
    /// [`Cleanup`] to `prepared`, for a caller that may quit before the end), streams and
    /// names the file.
    pub fn run(self, prepared: impl FnOnce(Cleanup)) -> Outcome {
        match prepare(&self) {
            Ok(Prepared::Exists(path)) => Outcome::Exists(path),
            Ok(Prepared::Ready(pending)) => {
                prepared(pending.cleanup());
                Outcome::Done(pending.run(&self.loaded, &self.written))
            }
            Err(e) => Outcome::Done(Err(e)),
        }
    }
}

/// What [`prepare`] found.
#[derive(Debug)]
pub enum Prepared {
    /// Ready to stream.
    Ready(Pending),
    /// The name exists in the destination (as the user would spell it): ask first.
    Exists(PathBuf),
}

/// An export whose destination is open and whose temporary file exists.
#[derive(Debug)]
pub struct Pending {
    dir: Arc<Dir>,
    name: String,
    temp: String,
    file: std::fs::File,
    overwrite: bool,
    shown: PathBuf,
    node: NodeId,
    /// The layer that shipped the bytes, their size and xxh3.
    layer: usize,
    size: u64,
    hash: u64,
}

/// Removes an export's temporary file (when the explorer quits before the worker is done).
#[derive(Debug, Clone)]
pub struct Cleanup {
    dir: Arc<Dir>,
    temp: String,
}

impl Cleanup {
    pub fn run(&self) {
        let _ = self.dir.remove_file(&self.temp);
    }
}

#[cfg(test)]
impl Cleanup {
    /// The cleanup of a file `temp` in `dir` (tests of whoever runs cleanups).
    pub(crate) fn of(dir: &Path, temp: &str) -> Cleanup {
        Cleanup {
            dir: Arc::new(Dir::open_ambient_dir(dir, ambient_authority()).expect("open dir")),
            temp: temp.to_string(),
        }
    }
}

/// Opens the destination (creating missing directories) and creates the temporary file.
pub fn prepare(request: &Request) -> Result<Prepared, ExportError> {
    let dest = &request.dest;
    let dir = dest.open()?;
    let (name, shown) = (&request.name, &request.shown);
    match dir.symlink_metadata(name) {
        Ok(_) if !request.overwrite => return Ok(Prepared::Exists(shown.clone())),
        Ok(m) if m.is_dir() => {
            return Err(ExportError::IsDirectory {
                path: shown.clone(),
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ExportError::io(shown, e)),
    }
    let (temp, file) = create_temp(&dir).map_err(|e| ExportError::io(dest.typed(), e))?;
    Ok(Prepared::Ready(Pending {
        dir: Arc::new(dir),
        name: name.clone(),
        temp,
        file,
        overwrite: request.overwrite,
        shown: shown.clone(),
        node: request.node,
        layer: request.layer,
        size: request.size,
        hash: request.hash,
    }))
}

/// A new file under an unused name: `O_CREAT|O_EXCL`, so it is ours and not a symlink's target.
fn create_temp(dir: &Dir) -> io::Result<(String, std::fs::File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = format!(".strata-export-{}-{n}.tmp", std::process::id());
        match dir.open_with(&temp, &options) {
            Ok(f) => return Ok((temp, f.into_std())),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {}
            Err(e) => return Err(e),
        }
    }
}

impl Pending {
    pub fn cleanup(&self) -> Cleanup {
        Cleanup {
            dir: Arc::clone(&self.dir),
            temp: self.temp.clone(),
        }
    }

    /// Streams the content into the temporary file (counting bytes into `written`) and moves
    /// it to its name. Returns the file as the user would spell it and its size.
    pub fn run(
        mut self,
        loaded: &Loaded,
        written: &AtomicU64,
    ) -> Result<(PathBuf, u64), ExportError> {
        let result = self.copy(loaded, written).and_then(|()| self.place());
        if result.is_err() {
            let _ = self.dir.remove_file(&self.temp);
        }
        result.map(|()| (self.shown.clone(), self.size))
    }

    fn copy(&mut self, loaded: &Loaded, written: &AtomicU64) -> Result<(), ExportError> {
        let layer = &loaded.image.layers[self.layer];
        let k = self.layer;
        let at = |e| ExportError::Layer {
            layer: k,
            source: e,
        };
        let (raw, _) = loaded
            .store
            .open(&layer.location)
            .map_err(|e| at(e.into()))?;
        let (_, stream) = open_layer(raw, false, None).map_err(|e| at(e.into()))?;
        let mut walker = TarWalker::new(stream);
        while let Some(entry) = walker.next_entry().map_err(|e| at(e.into()))? {
            if entry.kind != Kind::File
                || entry.size != self.size
                || !ships(&loaded.fs, &entry.path, self.node, self.layer)
            {
                continue;
            }
            self.file.set_len(0).map_err(|e| at(e.into()))?;
            self.file.rewind().map_err(|e| at(e.into()))?;
            written.store(0, Ordering::Relaxed);
            // The reader's own content hash, so that the two cannot disagree on a file.
            let mut hasher = ContentHash::new(entry.size);
            let mut failed: Option<io::Error> = None;
            let file = &mut self.file;
            walker
                .read_content(|chunk| {
                    hasher.update(chunk);
                    if failed.is_none() {
                        match file.write_all(chunk) {
                            Ok(()) => {
                                written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                            }
                            Err(e) => failed = Some(e),
                        }
                    }
                })
                .map_err(|e| at(e.into()))?;
            if let Some(e) = failed {
                return Err(ExportError::io(&self.shown, e));
            }
            if hasher.digest() == self.hash {
                return self
                    .file
                    .sync_all()
                    .map_err(|e| ExportError::io(&self.shown, e));
            }
        }
        Err(ExportError::NoEntry {
            layer: self.layer,
            path: loaded.fs.path(self.node),
        })
    }

    /// Gives the temporary file its name: a hard link, which fails if the name exists, or
    /// after a confirmed overwrite a rename, which replaces the name itself.
    fn place(&self) -> Result<(), ExportError> {
        let failed = |e| ExportError::io(&self.shown, e);
        let appeared = || ExportError::AppearedMeanwhile {
            path: self.shown.clone(),
        };
        if self.overwrite {
            return self
                .dir
                .rename(&self.temp, &self.dir, &self.name)
                .map_err(failed);
        }
        match self.dir.hard_link(&self.temp, &self.dir, &self.name) {
            Ok(()) => {
                let _ = self.dir.remove_file(&self.temp);
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(appeared()),
            // A filesystem without hard links: rename, after checking the name is still free.
            Err(_) => match self.dir.symlink_metadata(&self.name) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => self
                    .dir
                    .rename(&self.temp, &self.dir, &self.name)
                    .map_err(failed),
                _ => Err(appeared()),
            },
        }
    }
}

/// Whether the tar entry named `path` in layer `k` landed on `node`: its last component is
/// the node's name and its parent resolves to the node's parent.
fn ships(fs: &Fs, path: &[u8], node: NodeId, k: usize) -> bool {
    let comps = crate::overlay::path::components(path);
    let Some((last, parents)) = comps.split_last() else {
        return false;
    };
    if *last != fs.name(node) {
        return false;
    }
    let mut budget = Budget { hops: 0, steps: 0 };
    resolve_dir(fs, ROOT, parents, k, &mut budget) == Some(fs.parent(node))
}

struct Budget {
    hops: u32,
    steps: u32,
}

/// The directory `comps` lead to from `start` in the filesystem as of layer `k`: symlinks
/// followed (absolute targets from the image's root), `..` to the physical parent, as Linux
/// and the overlay resolve a parent. `None` when a component is missing or not a directory,
/// or past [`MAX_HOPS`] symlinks or [`MAX_STEPS`] components.
fn resolve_dir(
    fs: &Fs,
    start: NodeId,
    comps: &[&[u8]],
    k: usize,
    budget: &mut Budget,
) -> Option<NodeId> {
    let mut cur = start;
    for &name in comps {
        budget.steps += 1;
        if budget.steps > MAX_STEPS {
            return None;
        }
        match name {
            b"" | b"." => continue,
            b".." => {
                cur = fs.parent(cur);
                continue;
            }
            _ => {}
        }
        let child = fs.child(cur, name)?;
        let meta = fs.state_at(child, k)?;
        cur = match meta.kind {
            Kind::Dir => child,
            Kind::Symlink => {
                budget.hops += 1;
                if budget.hops > MAX_HOPS {
                    return None;
                }
                let target = fs.link_target(&meta)?;
                let from = if target.starts_with(b"/") { ROOT } else { cur };
                let parts: Vec<&[u8]> = target.split(|&b| b == b'/').collect();
                resolve_dir(fs, from, &parts, k, budget)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::testkit::{E, build};

    #[test]
    fn destinations_are_relative_or_under_home() {
        let d = Destination::parse(" out/a/./b ", Path::new(".")).expect("relative");
        assert_eq!(
            (d.home, d.dirs),
            (None, vec!["out".into(), "a".into(), "b".into()])
        );
        for bad in ["", "  ", "/tmp/x", "../x", "a/../../x", "~/../x", "~root/x"] {
            assert!(Destination::parse(bad, Path::new(".")).is_err(), "{bad:?}");
        }
    }

    /// The words are the status bar's (after "export failed: "), as they were when they were
    /// strings: each error names the path or layer it is about.
    #[test]
    fn errors_say_what_the_status_bar_always_said() {
        let denied = || io::Error::from(io::ErrorKind::PermissionDenied);
        let denied_words = denied().to_string();
        let cases = [
            (ExportError::NoDirectory, "type a directory".to_string()),
            (
                ExportError::NoHome,
                "HOME is not set to an absolute directory: cannot expand ~".into(),
            ),
            (
                Destination::parse("~root/x", Path::new(".")).unwrap_err(),
                "~root/x: only ~/ is expanded (not ~user)".into(),
            ),
            (
                Destination::parse("../x", Path::new(".")).unwrap_err(),
                "../x: use a directory relative to the current one or to ~/, without `..`".into(),
            ),
            (
                Destination::parse("/tmp/x", Path::new(".")).unwrap_err(),
                "/tmp/x: use a directory relative to the current one or to ~/, without `..`".into(),
            ),
            (
                ExportError::Symlink {
                    path: "out/l".into(),
                },
                "out/l is a symlink: not followed (type the directory it points to)".into(),
            ),
            (
                ExportError::IsDirectory {
                    path: "out/f".into(),
                },
                "out/f: is a directory".into(),
            ),
            (
                ExportError::AppearedMeanwhile {
                    path: "out/f".into(),
                },
                "out/f appeared meanwhile: not overwritten".into(),
            ),
            (
                ExportError::io("out/f", denied()),
                format!("out/f: {denied_words}"),
            ),
            (
                ExportError::BadName { name: "..".into() },
                "refusing the name \"..\"".into(),
            ),
            (
                ExportError::Layer {
                    layer: 3,
                    source: denied().into(),
                },
                format!("layer 3: {denied_words}"),
            ),
            (
                ExportError::NoEntry {
                    layer: 2,
                    path: "/app/f".into(),
                },
                "layer 2 has no entry /app/f with that content".into(),
            ),
            (ExportError::Stopped, "the export stopped".into()),
        ];
        for (error, words) in cases {
            assert_eq!(error.to_string(), words, "{error:?}");
        }
    }

    #[test]
    fn entry_parents_resolve_through_the_images_symlinks() {
        let fs = build(&[
            &[
                E::Dir("usr/lib"),
                E::Sym("lib", "usr/lib"),
                E::Sym("lib64", "/usr/lib"),
                E::Sym("l2", "lib"),
                E::Sym("up", "usr/lib/.."),
                E::Sym("loop", "loop"),
            ],
            &[E::File("lib/x.so", "abc")],
        ]);
        let node = fs.lookup("/usr/lib/x.so").expect("x.so");
        for (path, want) in [
            ("usr/lib/x.so", true),
            ("lib/x.so", true),
            ("./lib64/x.so", true),
            ("l2/x.so", true),
            ("up/lib/x.so", true),
            ("usr/x.so", false),
            ("lib/y.so", false),
            ("loop/x.so", false),
        ] {
            assert_eq!(ships(&fs, path.as_bytes(), node, 1), want, "{path}");
        }
    }
}
