//! What the image's config and modes say: who it runs as, setuid and world-writable files, a
//! health check, layers too large or too many. One pass over the final filesystem finds the
//! modes, and each mode finding names the layer that set most of its modes: the line to change.

use hashbrown::HashMap;

use super::{Finding, FindingKind, Severity};
use crate::analysis::LayerSummary;
use crate::layer::Kind;
use crate::overlay::{Fs, Meta, NodeId};

/// A layer shipping more than this is a note: it is pulled and unpacked whole, by every host,
/// at every change of it (500 MB).
pub const LARGE_LAYER: u64 = 500_000_000;
/// More layers than this is a note: each is a mount and a download; the overlay driver stops
/// at 128.
pub const MANY_LAYERS: usize = 50;
/// How many paths a mode finding names.
const NAMED: usize = 5;

/// The config's findings of an image: `config` is its config JSON (`Null` when there is
/// none), `layers` its layer summaries. The modes are [`mode_findings`]'.
#[must_use]
pub fn config_findings(config: &serde_json::Value, layers: &[LayerSummary]) -> Vec<Finding> {
    let mut out = Vec::new();
    let run = config.get("config");
    if config.is_object() {
        let user = run
            .and_then(|c| c.get("User"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("");
        if is_root(user) {
            out.push(Finding {
                value: Some(user.to_string()),
                ..Finding::new(FindingKind::RunsAsRoot, Severity::Warning)
            });
        }
        let check = run.and_then(|c| c.get("Healthcheck"));
        let disabled = check
            .and_then(|h| h.get("Test"))
            .and_then(serde_json::Value::as_array)
            .and_then(|t| t.first())
            .and_then(serde_json::Value::as_str)
            == Some("NONE");
        if check.is_none_or(serde_json::Value::is_null) || disabled {
            out.push(Finding::new(FindingKind::NoHealthcheck, Severity::Note));
        }
    }
    for l in layers {
        if l.shipped_bytes > LARGE_LAYER {
            out.push(Finding {
                bytes: l.shipped_bytes,
                shipped_by: Some(l.index),
                files: l.added + l.modified,
                ..Finding::new(FindingKind::LargeLayer, Severity::Note)
            });
        }
    }
    if layers.len() > MANY_LAYERS {
        out.push(Finding {
            value: Some(layers.len().to_string()),
            ..Finding::new(FindingKind::ManyLayers, Severity::Note)
        });
    }
    out
}

/// Whether a config's `User` runs as root: unset, `root` or uid 0, with or without a group.
fn is_root(user: &str) -> bool {
    let name = user.split(':').next().unwrap_or("").trim();
    name.is_empty() || name == "root" || name.trim_start_matches('0').is_empty()
}

/// Where anyone may write by design: the temporary directories and the kernel's.
const WRITABLE_PLACES: [&str; 6] = ["/tmp", "/var/tmp", "/dev", "/proc", "/sys", "/run"];

/// Setuid/setgid files and world-writable paths, collected node by node as
/// [`super::final_walk`] meets them.
pub struct Modes {
    setuid: Found,
    writable: Found,
    /// Where anyone may write by design ([`WRITABLE_PLACES`]), not looked into.
    skip: Vec<NodeId>,
}

impl Modes {
    pub fn new(fs: &Fs) -> Modes {
        Modes {
            setuid: Found::default(),
            writable: Found::default(),
            skip: WRITABLE_PLACES
                .iter()
                .filter_map(|p| fs.lookup(p))
                .collect(),
        }
    }

    /// Looks at `node` (its final state `m`); returns whether what is below it is to be
    /// looked at too.
    pub fn visit(&mut self, fs: &Fs, node: NodeId, m: &Meta) -> bool {
        match m.kind {
            Kind::Dir => {
                // A sticky directory (/tmp's mode) lets no one remove another's files.
                if m.mode & 0o002 != 0 && m.mode & 0o1000 == 0 {
                    self.writable.add(fs, node, m, 0);
                }
                !self.skip.contains(&node)
            }
            // A symlink's mode means nothing.
            Kind::Symlink => false,
            _ => {
                let size = if m.kind == Kind::File && !m.hardlink {
                    m.size
                } else {
                    0
                };
                if m.kind == Kind::File && m.mode & 0o6000 != 0 {
                    self.setuid.add(fs, node, m, size);
                }
                if m.mode & 0o002 != 0 {
                    self.writable.add(fs, node, m, size);
                }
                false
            }
        }
    }

    /// The findings of what was met.
    pub fn finish(self) -> Vec<Finding> {
        let mut out = Vec::new();
        for (found, kind, severity) in [
            (self.setuid, FindingKind::SetuidFile, Severity::Note),
            (self.writable, FindingKind::WorldWritable, Severity::Warning),
        ] {
            if found.files > 0 {
                let shipped_by = found.set_by();
                let mut paths = found.paths;
                paths.sort();
                out.push(Finding {
                    bytes: found.bytes,
                    files: found.files,
                    paths,
                    shipped_by,
                    ..Finding::new(kind, severity)
                });
            }
        }
        out
    }
}

/// The paths a mode finding collects: the first [`NAMED`] met (then sorted), all counted, and
/// how many of them each layer set.
#[derive(Default)]
struct Found {
    files: u64,
    bytes: u64,
    paths: Vec<String>,
    by_layer: HashMap<usize, u64>,
}

impl Found {
    fn add(&mut self, fs: &Fs, node: NodeId, m: &Meta, bytes: u64) {
        self.files += 1;
        self.bytes += bytes;
        if self.paths.len() < NAMED {
            self.paths.push(fs.path(node));
        }
        if let Some(k) = mode_set_by(fs, node, m) {
            *self.by_layer.entry(k).or_default() += 1;
        }
    }

    /// The layer that set the most of the modes; of layers that set as many, the first (the
    /// map's order is the hasher's, seeded per process).
    fn set_by(&self) -> Option<usize> {
        self.by_layer
            .iter()
            .max_by_key(|&(k, n)| (*n, std::cmp::Reverse(*k)))
            .map(|(k, _)| *k)
    }
}

/// The layer since which `node` has had its final kind and mode (`m`): the oldest of the events
/// that end its history with them. A later layer that carries the path again with that mode (a
/// parent directory repeated, a rewrite, a chown) did not set it; the one that did is the line
/// to change.
fn mode_set_by(fs: &Fs, node: NodeId, m: &Meta) -> Option<usize> {
    let mut since = None;
    for e in fs.events(node).iter().rev() {
        match fs.event_state(e) {
            Some(s) if s.kind == m.kind && s.mode & 0o7777 == m.mode & 0o7777 => {
                since = Some(usize::from(e.layer));
            }
            _ => break,
        }
    }
    since
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_unset_root_or_uid_zero() {
        for user in ["", "root", "0", "0:0", "root:root", "00", " 0"] {
            assert!(is_root(user), "{user:?}");
        }
        for user in ["app", "1000", "1000:0", "nobody", "10"] {
            assert!(!is_root(user), "{user:?}");
        }
    }
}
