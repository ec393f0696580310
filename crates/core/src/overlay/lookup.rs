//! Looking paths up in the final filesystem as a process in the container would: parent
//! directories through symlinks (a package lists `/bin/ls`, merged `/usr` keeps it at
//! `/usr/bin/ls`), the last component as it is. Read-only: nothing is created or remembered.

use smallvec::SmallVec;

use super::path::components;
use super::{Fs, NodeId, ROOT};
use crate::layer::Kind;

/// Symlinks followed for one path before giving up (Linux's limit).
const MAX_HOPS: u32 = 40;

impl Fs {
    /// The node the final filesystem reaches at `path` (absolute or relative to the root):
    /// parents resolved through symlinks, the last component not followed. `None` when a
    /// component is missing, is not a directory, or the symlinks loop.
    pub fn resolve_final(&self, path: &[u8]) -> Option<NodeId> {
        let comps = components(path);
        let (last, dirs) = comps.split_last()?;
        let mut hops = 0;
        let dir = self.final_dir(ROOT, dirs, &mut hops)?;
        let node = self.child(dir, last)?;
        self.final_state(node).map(|_| node)
    }

    /// Walks `comps` (clean: no `.`; `..` climbs to the physical parent) from `start` through
    /// present directories and symlinks to them.
    fn final_dir(&self, start: NodeId, comps: &[&[u8]], hops: &mut u32) -> Option<NodeId> {
        let mut cur = start;
        for name in comps {
            if *name == b".." {
                cur = self.parent(cur);
                continue;
            }
            let node = self.child(cur, name)?;
            let meta = self.final_state(node)?;
            cur = match meta.kind {
                Kind::Dir => node,
                Kind::Symlink => {
                    *hops += 1;
                    if *hops > MAX_HOPS {
                        return None;
                    }
                    let target = self.link_target(&meta)?;
                    let from = if target.first() == Some(&b'/') {
                        ROOT
                    } else {
                        self.parent(node)
                    };
                    // `..` in a target climbs from where the link sits, so keep it.
                    let parts: SmallVec<[&[u8]; 16]> = target
                        .split(|&b| b == b'/')
                        .filter(|p| !p.is_empty() && *p != b".")
                        .collect();
                    self.final_dir(from, &parts, hops)?
                }
                _ => return None,
            };
        }
        Some(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{E, build};

    #[test]
    fn parents_follow_symlinks_and_the_last_component_does_not() {
        let fs = build(&[&[
            E::Dir("usr/bin/"),
            E::File("usr/bin/ls", "ls"),
            E::Sym("bin", "usr/bin"),
            E::Sym("usr/sbin", "../usr/./bin"),
            E::Sym("abs", "/usr"),
            E::Sym("usr/bin/link", "ls"),
            E::Sym("loop1", "loop2"),
            E::Sym("loop2", "loop1"),
            E::File("etc/passwd", "x"),
        ]]);
        let ls = fs.lookup("usr/bin/ls").unwrap();
        for path in [
            "/bin/ls",
            "bin/ls",
            "usr/sbin/ls",
            "/abs/bin/ls",
            "./usr/bin/ls",
        ] {
            assert_eq!(fs.resolve_final(path.as_bytes()), Some(ls), "{path}");
        }
        // The last component is the symlink itself.
        assert_eq!(fs.resolve_final(b"/bin/link"), fs.lookup("usr/bin/link"));
        for path in [
            "/loop1/x",
            "/etc/passwd/x",
            "/nothing/ls",
            "/usr/bin/none",
            "/",
        ] {
            assert_eq!(fs.resolve_final(path.as_bytes()), None, "{path}");
        }
    }

    #[test]
    fn a_removed_path_is_not_found() {
        let fs = build(&[&[E::File("a/b", "x")], &[E::Wh("a/b")]]);
        assert_eq!(fs.resolve_final(b"/a/b"), None);
        assert!(fs.lookup("a/b").is_some());
    }
}
