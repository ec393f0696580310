//! Exporting one file as a layer holds it, into a directory the user typed: never through a
//! symlink, never over an existing file without asking.

use std::fs::{self, OpenOptions};
use std::path::{Component, Path, PathBuf};

use crate::engine::Loaded;
use crate::overlay::NodeId;

/// What an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Written(PathBuf, u64),
    /// The target exists; ask before overwriting.
    Exists(PathBuf),
}

/// Writes the content `node` has in layer `k` to `dir/<name>`.
pub fn export(
    loaded: &Loaded,
    node: NodeId,
    k: usize,
    dir: &Path,
    overwrite: bool,
) -> Result<Outcome, String> {
    if dir.as_os_str().is_empty() {
        return Err("type a directory".into());
    }
    if dir.components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::RootDir | Component::Prefix(_)
        )
    }) {
        return Err(format!(
            "{}: use a relative directory without `..`",
            dir.display()
        ));
    }
    let fs_model = &loaded.fs;
    let meta = fs_model
        .state_at(node, k)
        .ok_or("the path does not exist in this layer")?;
    let object = fs_model
        .object(meta.object().ok_or("not a regular file")?)
        .to_owned();
    let name = std::str::from_utf8(fs_model.name(node))
        .map_err(|_| "the file name is not UTF-8".to_string())?
        .to_string();
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(format!("refusing the name {name:?}"));
    }
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let target = dir.join(&name);
    if let Ok(existing) = fs::symlink_metadata(&target) {
        if !overwrite {
            return Ok(Outcome::Exists(target));
        }
        if existing.is_dir() {
            return Err(format!("{}: is a directory", target.display()));
        }
        // Removes a symlink itself, never what it points to.
        fs::remove_file(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    }
    // create_new is O_CREAT|O_EXCL: it fails on an existing name and never follows a symlink.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|e| format!("{}: {e}", target.display()))?;
    let layer = &loaded.image.layers[usize::from(object.layer)];
    let shipped_at = fs_model.path(object.node);
    let comps = crate::overlay::path::components(shipped_at.as_bytes());
    let (raw, _) = loaded
        .image
        .store
        .open(&layer.location)
        .map_err(|e| e.to_string())?;
    let found = crate::layer::extract(raw, &comps, object.size, object.hash, &mut file)
        .map_err(|e| format!("layer {}: {e}", object.layer))?;
    if !found {
        drop(file);
        let _ = fs::remove_file(&target);
        return Err(format!(
            "layer {} has no entry {shipped_at} with that content",
            object.layer
        ));
    }
    Ok(Outcome::Written(target, object.size))
}
