//! Resolving paths in the filesystem being built: parent directories created as a runtime
//! creates them, symlinks followed inside the image (at most 40, as Linux), and the parent
//! cache that spares most entries a lookup per component.

use smallvec::SmallVec;

use super::path::components;
use super::stored::Stored;
use super::{Fs, Meta, NONE, Node, NodeId, ROOT};
use crate::error::layer::ApplyError;
use crate::layer::Kind;

/// Symlinks followed while resolving one path before giving up (Linux's limit).
const MAX_SYMLINK_HOPS: u32 = 40;

fn check_hops(hops: u32) -> Result<(), ApplyError> {
    if hops > MAX_SYMLINK_HOPS {
        Err(ApplyError::SymlinkHops {
            limit: MAX_SYMLINK_HOPS,
        })
    } else {
        Ok(())
    }
}

/// The result of resolving one parent component.
enum Step {
    Dir(NodeId),
    Missing,
    Symlink(NodeId),
}

impl Fs {
    pub(super) fn child_or_create(
        &mut self,
        parent: NodeId,
        name: &[u8],
    ) -> Result<NodeId, ApplyError> {
        let h = self.child_hash(parent, name);
        if let Some(n) = self.find_child_hashed(parent, name, h) {
            return Ok(n);
        }
        let id = NodeId::try_from(self.nodes.len())
            .ok()
            .filter(|&id| id != NONE)
            .ok_or(ApplyError::TooManyPaths)?;
        let name_at = u32::try_from(self.names.len())
            .ok()
            .filter(|at| u64::from(*at) + name.len() as u64 <= u64::from(u32::MAX))
            .ok_or(ApplyError::NamesOver4GiB)?;
        self.names.extend_from_slice(name);
        let mut node = Node::new(name_at, parent);
        let last = self.nodes[parent as usize].last_child;
        if last == NONE {
            node.next_sibling = id;
        } else {
            // Into the circle after the last child, before the first.
            node.next_sibling = self.nodes[last as usize].next_sibling;
            self.nodes[last as usize].next_sibling = id;
        }
        self.nodes[parent as usize].last_child = id;
        self.nodes.push(node);
        self.index
            .insert_unique(super::intern::table_hash(h), (id, h), |&(_, sh)| {
                super::intern::table_hash(sh)
            });
        Ok(id)
    }

    /// One component: the child of `dir` called `name`, created as an implicit directory when
    /// missing and `create` is set.
    fn step(
        &mut self,
        dir: NodeId,
        name: &[u8],
        layer: u16,
        create: bool,
    ) -> Result<Step, ApplyError> {
        let existing = self.child(dir, name);
        let state = existing.and_then(|n| self.current(n));
        match (existing, state) {
            (Some(n), Some(m)) => match m.kind() {
                Kind::Dir => Ok(Step::Dir(n)),
                Kind::Symlink => Ok(Step::Symlink(n)),
                _ => Err(ApplyError::ParentNotDir {
                    name: String::from_utf8_lossy(name).into_owned(),
                }),
            },
            _ if !create => Ok(Step::Missing),
            (existing, _) => {
                let n = match existing {
                    Some(n) => n,
                    None => self.child_or_create(dir, name)?,
                };
                let meta = Meta {
                    kind: Kind::Dir,
                    hardlink: false,
                    implicit: true,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                    size: 0,
                    hash: 0,
                    object: NONE,
                    link: NONE,
                };
                self.set_state(n, layer, Some(Stored::pack(&meta)));
                Ok(Step::Dir(n))
            }
        }
    }

    /// Resolves directory components from the root, following symlinks inside the image as a
    /// runtime does for parents (merged `/usr`: `lib/x` over `lib -> usr/lib` is `usr/lib/x`).
    /// `Ok(None)`: a component is missing and `create` is off.
    pub(super) fn resolve_dir(
        &mut self,
        comps: &[&[u8]],
        layer: u16,
        create: bool,
    ) -> Result<Option<NodeId>, ApplyError> {
        let mut hops = 0;
        self.walk_dirs(ROOT, comps, layer, create, &mut hops)
    }

    /// Walks `comps` from `start`: `..` climbs to the physical parent (the directory a symlink
    /// led to, as Linux resolves it), a symlink is followed ([`Fs::follow`]). `hops` counts
    /// the symlinks followed for the whole path.
    pub(super) fn walk_dirs(
        &mut self,
        start: NodeId,
        comps: &[&[u8]],
        layer: u16,
        create: bool,
        hops: &mut u32,
    ) -> Result<Option<NodeId>, ApplyError> {
        let mut cur = start;
        for name in comps {
            match *name {
                b"" | b"." => continue,
                b".." => {
                    cur = self.parent(cur);
                    continue;
                }
                _ => {}
            }
            cur = match self.step(cur, name, layer, create)? {
                Step::Dir(n) => n,
                Step::Missing => return Ok(None),
                Step::Symlink(link) => match self.follow(link, layer, create, hops)? {
                    Some(n) => n,
                    None => return Ok(None),
                },
            };
        }
        Ok(Some(cur))
    }

    /// The directory a symlink leads to. Each resolution is remembered (with the hops it took)
    /// until something changes how paths resolve ([`Fs::set_state`] forgets them all), so that
    /// 20,000 entries below one chain of long symlinks expand it once, not 20,000 times.
    fn follow(
        &mut self,
        link: NodeId,
        layer: u16,
        create: bool,
        hops: &mut u32,
    ) -> Result<Option<NodeId>, ApplyError> {
        // Off with the parent cache, so the tests that compare both ways cover it too.
        if let Some(&(dir, taken)) = self.link_memo.get(&link).filter(|_| self.parent_cache) {
            *hops += taken;
            return check_hops(*hops).map(|()| Some(dir));
        }
        let before = *hops;
        *hops += 1;
        check_hops(*hops)?;
        // Targets are at most MAX_TARGET bytes (longer ones are refused when applied).
        let target = self
            .current(link)
            .and_then(|m| m.link())
            .map(|l| self.links.get(super::Sym::from_raw(l)))
            .unwrap_or_default()
            .to_vec();
        let start = if target.first() == Some(&b'/') {
            ROOT
        } else {
            self.parent(link)
        };
        let comps: SmallVec<[&[u8]; 16]> = target.split(|&b| b == b'/').collect();
        let dir = self.walk_dirs(start, &comps, layer, create, hops)?;
        if let Some(dir) = dir.filter(|_| self.parent_cache) {
            self.link_memo.insert(link, (dir, *hops - before));
        }
        Ok(dir)
    }

    /// A path named by a hard link (relative to the archive root): parents resolved, the last
    /// component taken as it is.
    pub(super) fn resolve_existing(&mut self, target: &[u8], layer: u16) -> Option<NodeId> {
        let comps = components(target);
        let (last, dirs) = comps.split_last()?;
        let dir = self.resolve_dir(dirs, layer, false).ok()??;
        let node = self.child(dir, last)?;
        self.current(node).is_some().then_some(node)
    }
}

/// The parent directory resolved for the previous entry, keyed by the raw bytes of its name
/// before the last component, with the symlinks followed to reach it. Tars list a directory's
/// files together, so most entries resolve their parent with one comparison instead of a hash
/// lookup per component. Cleared whenever an entry could change how a path resolves (a symlink,
/// a kind change, a subtree removed).
#[derive(Default)]
pub(super) struct ParentCache {
    prefix: Vec<u8>,
    node: Option<NodeId>,
    hops: u32,
}

pub(super) enum ParentHit<'a> {
    /// The same parent.
    Exact(NodeId),
    /// Below the cached directory, reached with this many symlinks followed: resolve the rest
    /// from it.
    Below(NodeId, u32, &'a [u8]),
}

impl ParentCache {
    pub(super) fn lookup<'a>(&self, prefix: &'a [u8]) -> Option<ParentHit<'a>> {
        let node = self.node?;
        if prefix == self.prefix.as_slice() {
            return Some(ParentHit::Exact(node));
        }
        let rest = prefix.strip_prefix(self.prefix.as_slice())?;
        // Only at a component boundary, and never with `..` (it could climb above the cached
        // directory, and through a symlink `..` means the link's parent, not the target's).
        let boundary = self.prefix.is_empty() || self.prefix.last() == Some(&b'/');
        (boundary && !rest.split(|&b| b == b'/').any(|c| c == b".."))
            .then_some(ParentHit::Below(node, self.hops, rest))
    }

    pub(super) fn store(&mut self, prefix: &[u8], node: NodeId, hops: u32) {
        self.prefix.clear();
        self.prefix.extend_from_slice(prefix);
        self.node = Some(node);
        self.hops = hops;
    }

    pub(super) fn clear(&mut self) {
        self.node = None;
    }
}
