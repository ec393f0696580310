//! Who owns every byte: the packages the image's own databases list (dpkg, apk, rpm, Python
//! distributions, npm packages), each with the
//! bytes of its files in the final filesystem and the bytes of its files that later layers
//! hid, and the bytes no package owns, by top directory (the user's `/app`, `/usr/local`, …).
//!
//! The databases were kept whole while the layers were read ([`crate::layer::capture`]); the
//! copy that counts is the one the final filesystem shows (its object's layer and content hash
//! match the copy's), and the earlier copies say in which layer each package first appeared.
//! A path is owned by the first package that lists it; a file's bytes count once (hard links
//! share them), for one owner.

pub mod apk;
mod build_time;
pub mod dpkg;
pub mod npm;
pub mod python;
pub mod rpm;

use std::collections::HashMap;

use serde::Serialize;

use crate::layer::LayerScan;
use crate::layer::capture::{self, Captured, Database};
use crate::overlay::{Fs, NodeId, ObjectId, ROOT};
pub use build_time::is_build_time;

/// The package manager whose database lists a package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Dpkg,
    Apk,
    Rpm,
    Python,
    Npm,
}

impl Attribution {
    /// The package owning `node` in the final filesystem.
    pub fn owner(&self, node: NodeId) -> Option<&Package> {
        let i = *self.owners.get(node as usize)?;
        self.packages.get(i as usize)
    }
}

impl Manager {
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Rpm => "rpm",
            Manager::Python => "python",
            Manager::Npm => "npm",
        }
    }
}

/// One installed package and its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub manager: Manager,
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// The first layer whose database lists it as installed.
    pub layer: Option<usize>,
    /// Every layer that shipped bytes at its paths, in order.
    pub layers: Vec<usize>,
    /// Its regular files present in the final filesystem.
    pub files: u64,
    /// Their bytes (a file hard-linked at several of its paths counted once).
    pub visible_bytes: u64,
    /// Bytes shipped at its paths that no path of the final filesystem reaches any more.
    pub wasted_bytes: u64,
    /// Only building needs it (compilers, headers, build tools: [`is_build_time`]).
    pub build_time: bool,
}

/// Bytes of the final filesystem no package owns, under one top directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unowned {
    /// `/app`, `/etc`; two levels under `/usr`, `/var` and `/opt` (`/usr/local`).
    pub dir: String,
    pub files: u64,
    pub bytes: u64,
}

/// The bytes one layer shipped for one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerShare {
    pub name: String,
    pub bytes: u64,
}

/// Everything attribution found.
#[derive(Debug, Clone, Default)]
pub struct Attribution {
    /// Visible bytes first.
    pub packages: Vec<Package>,
    /// Most bytes first; empty when the image has no package database.
    pub unowned: Vec<Unowned>,
    /// For each layer, the bytes it shipped for each package, most first.
    pub by_layer: Vec<Vec<LayerShare>>,
    /// For each node of the filesystem, the index in `packages` of the package owning it in
    /// the final filesystem ([`NO_OWNER`]: none); empty without a package database.
    pub owners: Vec<u32>,
    /// A database that could not be read, or only in part: one line each.
    pub warnings: Vec<String>,
}

/// No package owns the node ([`Attribution::owners`]).
pub const NO_OWNER: u32 = u32::MAX;

/// A package with the paths its database lists.
struct Listed {
    package: Package,
    paths: Vec<Vec<u8>>,
    /// A directory it owns whole, its own `node_modules` excepted (npm).
    dir: Option<NodeId>,
    /// The node of the file that lists it (Python, npm): when a system package owns that file,
    /// the package is part of the system package, not one of its own.
    db: Option<NodeId>,
}

/// Attributes the final filesystem's bytes to the packages the image's databases list.
pub fn attribute(fs: &Fs, scans: &[LayerScan]) -> Attribution {
    let mut warnings = Vec::new();
    let mut listed = dpkg_packages(fs, scans);
    listed.extend(apk_packages(fs, scans));
    listed.extend(rpm::packages(fs, scans, &mut warnings));
    let system = listed.len();
    listed.extend(python_packages(fs, scans));
    listed.extend(npm_packages(fs, scans));
    if listed.is_empty() {
        return Attribution {
            by_layer: vec![Vec::new(); scans.len()],
            warnings,
            ..Attribution::default()
        };
    }
    let mut tally = Tally::new(fs, scans.len());
    let mut part_of_system = vec![false; listed.len()];
    for (i, l) in listed.iter_mut().enumerate() {
        if i >= system && l.db.is_some_and(|n| tally.owner[n as usize] != NO_OWNER) {
            part_of_system[i] = true;
            continue;
        }
        tally.package(fs, i, l);
    }
    // Shares name packages by their index in `listed`.
    let by_layer = tally.by_layer(&listed);
    let unowned = tally.unowned(fs);
    let mut order: Vec<usize> = (0..listed.len()).filter(|&i| !part_of_system[i]).collect();
    order.sort_by(|&x, &y| {
        let (a, b) = (&listed[x].package, &listed[y].package);
        b.visible_bytes
            .cmp(&a.visible_bytes)
            .then_with(|| (a.manager, &a.name).cmp(&(b.manager, &b.name)))
    });
    let mut position = vec![NO_OWNER; listed.len()];
    for (k, &i) in order.iter().enumerate() {
        position[i] = k as u32;
    }
    let owners = tally
        .owner
        .iter()
        .map(|&o| position.get(o as usize).copied().unwrap_or(NO_OWNER))
        .collect();
    let mut slots: Vec<Option<Listed>> = listed.into_iter().map(Some).collect();
    let packages = order
        .iter()
        .filter_map(|&i| slots[i].take().map(|l| l.package))
        .collect();
    Attribution {
        packages,
        unowned,
        by_layer,
        owners,
        warnings,
    }
}

/// The captured copies of one kind of database, with their layer, that the final filesystem
/// shows (`final_only`: each final file once, however many names reach it through symlinks)
/// or all of them.
fn copies<'a>(
    fs: &Fs,
    scans: &'a [LayerScan],
    kind: Database,
    final_only: bool,
) -> Vec<(usize, &'a Captured)> {
    let mut seen: std::collections::HashSet<NodeId> = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (layer, scan) in scans.iter().enumerate() {
        for c in &scan.captured {
            if capture::database(&c.path) != Some(kind) {
                continue;
            }
            let keep = !final_only || final_node(fs, layer, c).is_some_and(|n| seen.insert(n));
            if keep {
                out.push((layer, c));
            }
        }
    }
    out
}

/// The final filesystem's node at the copy's path, when its file is this copy.
fn final_node(fs: &Fs, layer: usize, c: &Captured) -> Option<NodeId> {
    let node = fs.resolve_final(&c.path)?;
    let object = fs.final_state(node)?.object()?;
    let o = fs.object(object);
    (usize::from(o.layer) == layer && o.hash == c.hash && o.size == c.bytes.len() as u64)
        .then_some(node)
}

/// The first layer that shipped a copy of each database path (its package's layer), one pass
/// over the copies.
fn first_layers(scans: &[LayerScan]) -> HashMap<&[u8], usize> {
    let mut first = HashMap::new();
    for (layer, scan) in scans.iter().enumerate() {
        for c in &scan.captured {
            first.entry(c.path.as_slice()).or_insert(layer);
        }
    }
    first
}

fn new_package(manager: Manager, name: String, version: String, arch: Option<String>) -> Package {
    Package {
        manager,
        build_time: is_build_time(&name),
        name,
        version,
        arch,
        layer: None,
        layers: Vec::new(),
        files: 0,
        visible_bytes: 0,
        wasted_bytes: 0,
    }
}

/// dpkg's installed packages (from `status` and `status.d/`) with the paths of their lists
/// (or of their md5sums, in distroless images, which have no lists).
fn dpkg_packages(fs: &Fs, scans: &[LayerScan]) -> Vec<Listed> {
    let mut listed: Vec<Listed> = Vec::new();
    let mut by_name: HashMap<(String, Option<String>), usize> = HashMap::new();
    for kind in [Database::DpkgStatus, Database::DpkgStatusD] {
        for (_, c) in copies(fs, scans, kind, true) {
            for s in dpkg::parse_status(&c.bytes)
                .into_iter()
                .filter(|s| s.installed)
            {
                let key = (s.name.clone(), s.arch.clone());
                if by_name.contains_key(&key) {
                    continue;
                }
                by_name.insert(key, listed.len());
                listed.push(Listed {
                    package: new_package(Manager::Dpkg, s.name, s.version, s.arch),
                    paths: Vec::new(),
                    dir: None,
                    db: None,
                });
            }
        }
    }
    if listed.is_empty() {
        return listed;
    }
    // An unqualified list names the package whatever its architecture: the first of that name.
    let mut by_plain: HashMap<String, usize> = HashMap::new();
    for (i, l) in listed.iter().enumerate() {
        by_plain.entry(l.package.name.clone()).or_insert(i);
    }
    let find = |(name, arch): (String, Option<String>)| {
        by_name
            .get(&(name.clone(), arch.clone()))
            .copied()
            .or_else(|| {
                arch.is_none()
                    .then(|| by_plain.get(&name).copied())
                    .flatten()
            })
    };
    for (_, c) in copies(fs, scans, Database::DpkgList, true) {
        if let Some(i) = dpkg::file_owner(split_dir(&c.path).1, b".list").and_then(find) {
            listed[i]
                .paths
                .extend(dpkg::parse_list(&c.bytes).map(<[u8]>::to_vec));
        }
    }
    for (_, c) in copies(fs, scans, Database::DpkgMd5sums, true) {
        if let Some(i) = dpkg::file_owner(split_dir(&c.path).1, b".md5sums").and_then(find) {
            listed[i].paths.extend(dpkg::parse_md5sums(&c.bytes));
        }
    }
    // The first layer whose database lists each package as installed.
    for kind in [Database::DpkgStatus, Database::DpkgStatusD] {
        for (layer, c) in copies(fs, scans, kind, false) {
            for s in dpkg::parse_status(&c.bytes)
                .into_iter()
                .filter(|s| s.installed)
            {
                if let Some(i) = by_name.get(&(s.name, s.arch)) {
                    let first = &mut listed[*i].package.layer;
                    *first = Some(first.map_or(layer, |f| f.min(layer)));
                }
            }
        }
    }
    listed
}

/// apk's installed packages and their files.
fn apk_packages(fs: &Fs, scans: &[LayerScan]) -> Vec<Listed> {
    let mut listed: Vec<Listed> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (_, c) in copies(fs, scans, Database::ApkInstalled, true) {
        for r in apk::parse_installed(&c.bytes) {
            if by_name.contains_key(&r.name) {
                continue;
            }
            by_name.insert(r.name.clone(), listed.len());
            listed.push(Listed {
                package: new_package(Manager::Apk, r.name, r.version, r.arch),
                paths: r.files,
                dir: None,
                db: None,
            });
        }
    }
    for (layer, c) in copies(fs, scans, Database::ApkInstalled, false) {
        for r in apk::parse_installed(&c.bytes) {
            if let Some(&i) = by_name.get(&r.name) {
                let first = &mut listed[i].package.layer;
                *first = Some(first.map_or(layer, |f| f.min(layer)));
            }
        }
    }
    listed
}

/// The directory part of a captured path and its last component.
fn split_dir(path: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memrchr(b'/', path) {
        Some(at) => (&path[..at], &path[at + 1..]),
        None => (&b""[..], path),
    }
}

/// `base` joined with a relative `path` (`..` resolved when the path is looked up).
fn join(base: &[u8], path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + path.len() + 2);
    out.push(b'/');
    out.extend_from_slice(base);
    out.push(b'/');
    out.extend_from_slice(path);
    out
}

/// Python distributions, from the RECORDs and egg files the final filesystem shows.
fn python_packages(fs: &Fs, scans: &[LayerScan]) -> Vec<Listed> {
    let first = first_layers(scans);
    let mut listed = Vec::new();
    for (kind, from_site) in [
        (Database::PythonRecord, true),
        (Database::PythonEggFiles, false),
    ] {
        for (_, c) in copies(fs, scans, kind, true) {
            let (info_dir, _) = split_dir(&c.path);
            let (site, info_name) = split_dir(info_dir);
            let Some((name, version)) = python::name_version(info_name) else {
                continue;
            };
            let (base, rows) = if from_site {
                (site, python::record_paths(&c.bytes))
            } else {
                (info_dir, python::egg_paths(&c.bytes))
            };
            let mut package = new_package(Manager::Python, name, version, None);
            package.layer = first.get(c.path.as_slice()).copied();
            listed.push(Listed {
                package,
                paths: rows.iter().map(|p| join(base, p)).collect(),
                dir: None,
                db: fs.resolve_final(&c.path),
            });
        }
    }
    listed
}

/// npm packages, from the package.json files the final filesystem shows under `node_modules`,
/// their development dependencies from the lockfile npm keeps there.
fn npm_packages(fs: &Fs, scans: &[LayerScan]) -> Vec<Listed> {
    let mut dev: std::collections::HashSet<Vec<u8>> = std::collections::HashSet::new();
    for (_, c) in copies(fs, scans, Database::NpmLock, true) {
        // The lockfile sits in `PROJECT/node_modules/`; its keys are relative to PROJECT.
        let (modules, _) = split_dir(&c.path);
        let (project, _) = split_dir(modules);
        for key in npm::dev_packages(&c.bytes) {
            let path = if project.is_empty() {
                key.into_bytes()
            } else {
                [project, b"/", key.as_bytes()].concat()
            };
            dev.insert(path);
        }
    }
    let first = first_layers(scans);
    let mut listed = Vec::new();
    for (_, c) in copies(fs, scans, Database::NpmPackage, true) {
        let Some((name, version)) = npm::name_version(&c.bytes) else {
            continue;
        };
        let (dir, _) = split_dir(&c.path);
        let Some(dir_node) = fs.resolve_final(dir) else {
            continue;
        };
        let mut package = new_package(Manager::Npm, name, version, None);
        package.build_time = dev.contains(dir);
        package.layer = first.get(c.path.as_slice()).copied();
        listed.push(Listed {
            package,
            paths: Vec::new(),
            dir: Some(dir_node),
            db: fs.resolve_final(&c.path),
        });
    }
    listed
}

/// What has been counted so far, over every package.
struct Tally {
    /// Objects whose bytes are counted (visible, for one owner; or wasted, for one package).
    counted: Vec<bool>,
    /// For each node of the final filesystem, the package (its index in the list) owning it.
    owner: Vec<u32>,
    /// (layer, package) → bytes that layer shipped at the package's paths.
    shipped: HashMap<(usize, usize), u64>,
    layers: usize,
}

impl Tally {
    fn new(fs: &Fs, layers: usize) -> Tally {
        Tally {
            counted: vec![false; fs.objects().len()],
            owner: vec![NO_OWNER; fs.node_count()],
            shipped: HashMap::new(),
            layers,
        }
    }

    /// Counts package `i`'s files: those the final filesystem shows at its paths (the first
    /// owner takes them), and every object shipped at its paths that is hidden now.
    fn package(&mut self, fs: &Fs, i: usize, l: &mut Listed) {
        let mut layers = vec![false; self.layers];
        let p = &mut l.package;
        for path in &l.paths {
            // Nearly every path is its literal node, reached through present directories: one
            // walk then serves both (a third of attribution's time on a Debian layer).
            let (literal, plain) = literal(fs, path);
            let resolved = if plain {
                literal.filter(|&n| fs.final_state(n).is_some())
            } else {
                fs.resolve_final(path)
            };
            if let Some(node) = resolved
                && self.owner[node as usize] == NO_OWNER
                && let Some(m) = fs.final_state(node)
                && let Some(object) = m.object()
            {
                self.owner[node as usize] = i as u32;
                p.files += 1;
                if !self.counted[object as usize] {
                    self.counted[object as usize] = true;
                    p.visible_bytes += fs.object(object).size;
                    self.ship(fs, i, object, &mut layers);
                }
            }
            // Hidden bytes sit at the path as the layers named it, and where it resolves now.
            for node in [literal, resolved.filter(|&r| Some(r) != literal)]
                .into_iter()
                .flatten()
            {
                self.hidden(fs, i, p, node, &mut layers);
            }
        }
        if let Some(dir) = l.dir {
            self.directory(fs, i, p, dir, &mut layers);
        }
        p.layers = (0..self.layers).filter(|&k| layers[k]).collect();
    }

    /// Counts every file below `dir` for package `i`, nested `node_modules` excepted: the
    /// files present now, and the bytes shipped there that later layers hid.
    fn directory(&mut self, fs: &Fs, i: usize, p: &mut Package, dir: NodeId, layers: &mut [bool]) {
        let mut stack = vec![dir];
        while let Some(n) = stack.pop() {
            for child in fs.children(n) {
                if fs.name(child) == b"node_modules" {
                    continue;
                }
                let state = fs.final_state(child);
                if state.is_some_and(|m| m.is_dir()) {
                    stack.push(child);
                    continue;
                }
                if let Some(object) = state.and_then(|m| m.object())
                    && self.owner[child as usize] == NO_OWNER
                {
                    self.owner[child as usize] = i as u32;
                    p.files += 1;
                    if !self.counted[object as usize] {
                        self.counted[object as usize] = true;
                        p.visible_bytes += fs.object(object).size;
                        self.ship(fs, i, object, layers);
                    }
                }
                self.hidden(fs, i, p, child, layers);
            }
        }
    }

    /// Bytes shipped at `node` that no final path reaches, for package `i`.
    fn hidden(&mut self, fs: &Fs, i: usize, p: &mut Package, node: NodeId, layers: &mut [bool]) {
        for e in fs.events(node) {
            let Some(object) = fs.event_state(e).and_then(|m| m.object()) else {
                continue;
            };
            if fs.object(object).visible() || self.counted[object as usize] {
                continue;
            }
            self.counted[object as usize] = true;
            p.wasted_bytes += fs.object(object).size;
            self.ship(fs, i, object, layers);
        }
    }

    fn ship(&mut self, fs: &Fs, package: usize, object: ObjectId, layers: &mut [bool]) {
        let o = fs.object(object);
        let layer = usize::from(o.layer);
        if let Some(seen) = layers.get_mut(layer) {
            *seen = true;
        }
        *self.shipped.entry((layer, package)).or_default() += o.size;
    }

    /// The final filesystem's files no package owns, by top directory.
    fn unowned(&mut self, fs: &Fs) -> Vec<Unowned> {
        let mut dirs: HashMap<NodeId, (u64, u64)> = HashMap::new();
        for node in fs.node_ids() {
            if self.owner[node as usize] != NO_OWNER {
                continue;
            }
            let Some(object) = fs.final_state(node).and_then(|m| m.object()) else {
                continue;
            };
            let slot = dirs.entry(top_dir(fs, node)).or_default();
            slot.0 += 1;
            if !self.counted[object as usize] {
                self.counted[object as usize] = true;
                slot.1 += fs.object(object).size;
            }
        }
        let mut out: Vec<Unowned> = dirs
            .into_iter()
            .map(|(dir, (files, bytes))| Unowned {
                dir: fs.path(dir),
                files,
                bytes,
            })
            .collect();
        out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.dir.cmp(&b.dir)));
        out
    }

    /// Each layer's bytes by package, most first.
    fn by_layer(&self, listed: &[Listed]) -> Vec<Vec<LayerShare>> {
        let mut out: Vec<Vec<LayerShare>> = vec![Vec::new(); self.layers];
        for (&(layer, package), &bytes) in &self.shipped {
            if let Some(shares) = out.get_mut(layer) {
                shares.push(LayerShare {
                    name: listed[package].package.name.clone(),
                    bytes,
                });
            }
        }
        for shares in &mut out {
            shares.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.name.cmp(&b.name)));
        }
        out
    }
}

/// The node at `path` taken literally (no symlink followed), as a layer's tar names it, and
/// whether every directory on the way is a present directory of the final filesystem (then
/// the path resolves to that node, or to nothing when the node itself is absent).
fn literal(fs: &Fs, path: &[u8]) -> (Option<NodeId>, bool) {
    let mut node = ROOT;
    let mut plain = true;
    let parts = crate::overlay::path::components(path);
    for (k, part) in parts.iter().enumerate() {
        if k > 0 {
            plain &= fs.final_state(node).is_some_and(|m| m.is_dir());
        }
        match fs.child(node, part) {
            Some(n) => node = n,
            None => return (None, plain),
        }
    }
    ((node != ROOT).then_some(node), plain)
}

/// The directory a file's bytes are grouped under when no package owns it: its first
/// component, or its first two under `/usr`, `/var` and `/opt` (`/usr/local`, `/var/cache`).
/// A file right under the root is grouped under itself.
fn top_dir(fs: &Fs, node: NodeId) -> NodeId {
    // The chain below the root: [.., second, first].
    let (mut first, mut second) = (node, node);
    let mut n = node;
    while fs.parent(n) != ROOT && n != ROOT {
        second = n;
        n = fs.parent(n);
        first = n;
    }
    if first == node {
        return node;
    }
    let deep = matches!(fs.name(first), b"usr" | b"var" | b"opt");
    if deep && second != node {
        second
    } else {
        first
    }
}

#[cfg(test)]
mod tests;
