//! The packages two images differ by: added, removed, upgraded (or downgraded), or the same
//! version with other bytes, each with its visible bytes in A and B; largest change first.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analysis::packages::{Manager, Package};
use crate::units::as_signed;

/// How a package differs between A and B.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PackageChangeKind {
    Added,
    Removed,
    /// Another version (newer or older: versions are not ordered here).
    Version,
    /// The same version with other visible bytes (files removed or added around it).
    Bytes,
}

impl PackageChangeKind {
    /// How the faces name it.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageChangeKind::Added => "added",
            PackageChangeKind::Removed => "removed",
            PackageChangeKind::Version => "version",
            PackageChangeKind::Bytes => "other bytes",
        }
    }
}

/// One package that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    pub manager: Manager,
    pub name: String,
    pub change: PackageChangeKind,
    pub a_version: Option<String>,
    pub b_version: Option<String>,
    pub a_bytes: u64,
    pub b_bytes: u64,
    /// B − A.
    pub delta_bytes: i64,
    pub build_time: bool,
}

type Key<'a> = (Manager, &'a str, Option<&'a str>);

fn by_key(packages: &[Package]) -> BTreeMap<Key<'_>, &Package> {
    packages
        .iter()
        .map(|p| ((p.manager, p.name.as_str(), p.arch.as_deref()), p))
        .collect()
}

/// The packages that differ between A's and B's, largest change first (then by name).
pub fn diff(a: &[Package], b: &[Package]) -> Vec<PackageChange> {
    let (ka, kb) = (by_key(a), by_key(b));
    let mut keys: Vec<&Key<'_>> = ka.keys().chain(kb.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out: Vec<PackageChange> = keys
        .into_iter()
        .filter_map(|k| {
            let (pa, pb) = (ka.get(k).copied(), kb.get(k).copied());
            let change = match (pa, pb) {
                (None, Some(_)) => PackageChangeKind::Added,
                (Some(_), None) => PackageChangeKind::Removed,
                (Some(x), Some(y)) if x.version != y.version => PackageChangeKind::Version,
                (Some(x), Some(y)) if x.visible_bytes != y.visible_bytes => {
                    PackageChangeKind::Bytes
                }
                _ => return None,
            };
            let bytes = |p: Option<&Package>| p.map_or(0, |p| p.visible_bytes);
            Some(PackageChange {
                manager: k.0,
                name: k.1.to_string(),
                change,
                a_version: pa.map(|p| p.version.clone()),
                b_version: pb.map(|p| p.version.clone()),
                a_bytes: bytes(pa),
                b_bytes: bytes(pb),
                delta_bytes: as_signed(bytes(pb)) - as_signed(bytes(pa)),
                build_time: pa.or(pb).is_some_and(|p| p.build_time),
            })
        })
        .collect();
    out.sort_by(|x, y| {
        y.delta_bytes
            .unsigned_abs()
            .cmp(&x.delta_bytes.unsigned_abs())
            .then_with(|| x.name.cmp(&y.name))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str, bytes: u64) -> Package {
        Package {
            manager: Manager::Dpkg,
            name: name.into(),
            version: version.into(),
            arch: None,
            layer: Some(1),
            layers: vec![1],
            files: 1,
            visible_bytes: bytes,
            wasted_bytes: 0,
            build_time: name.starts_with("gcc"),
        }
    }

    #[test]
    fn added_removed_upgraded_and_resized_largest_first() {
        let a = [
            pkg("gcc-12", "12.2", 70_000),
            pkg("libc6", "2.36-9", 12_000),
            pkg("bash", "5.2", 7_000),
            pkg("tzdata", "2024a", 3_000),
        ];
        let b = [
            pkg("libc6", "2.36-9+deb12u1", 12_500),
            pkg("bash", "5.2", 7_000),
            pkg("tzdata", "2024a", 2_000),
            pkg("curl", "7.88", 500),
        ];
        let got = diff(&a, &b);
        let rows: Vec<(&str, PackageChangeKind, i64)> = got
            .iter()
            .map(|c| (c.name.as_str(), c.change, c.delta_bytes))
            .collect();
        assert_eq!(
            rows,
            [
                ("gcc-12", PackageChangeKind::Removed, -70_000),
                ("tzdata", PackageChangeKind::Bytes, -1_000),
                ("curl", PackageChangeKind::Added, 500),
                ("libc6", PackageChangeKind::Version, 500),
            ]
        );
        assert!(got[0].build_time);
        assert_eq!(got[3].a_version.as_deref(), Some("2.36-9"));
        assert_eq!(got[3].b_version.as_deref(), Some("2.36-9+deb12u1"));
    }
}
