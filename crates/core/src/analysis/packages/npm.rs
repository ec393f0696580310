//! npm packages: each `node_modules/[@SCOPE/]NAME/package.json` names a package that owns its
//! directory (its own `node_modules` excepted: those are packages of their own), and the
//! `node_modules/.package-lock.json` npm writes marks the development dependencies.

use std::collections::HashSet;

/// The `name` and `version` of a package.json (`None` when either is missing or it is no
/// JSON object).
pub fn name_version(bytes: &[u8]) -> Option<(String, String)> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        name: Option<String>,
        version: Option<String>,
    }
    let m: Manifest = serde_json::from_slice(bytes).ok()?;
    Some((
        m.name.filter(|n| !n.is_empty())?,
        m.version.filter(|v| !v.is_empty())?,
    ))
}

/// The package directories a hidden lockfile marks `dev: true`, relative to the project (the
/// directory holding `node_modules`): `node_modules/a/node_modules/b`.
pub fn dev_packages(bytes: &[u8]) -> HashSet<String> {
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        packages: std::collections::BTreeMap<String, Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        dev: bool,
    }
    serde_json::from_slice::<Lock>(bytes)
        .map(|l| {
            l.packages
                .into_iter()
                .filter(|(_, e)| e.dev)
                .map(|(k, _)| k)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::dpkg::tests::fixture;
    use super::*;

    #[test]
    fn manifests_name_their_package() {
        assert_eq!(
            name_version(br#"{"name":"@types/node","version":"20.1.0","main":"x"}"#),
            Some(("@types/node".into(), "20.1.0".into()))
        );
        assert_eq!(name_version(br#"{"name":"x"}"#), None);
        assert_eq!(name_version(b"[1,2]"), None);
        assert_eq!(name_version(b"not json"), None);
    }

    /// The fixture's README derived, with npm, 111 installed packages (path, version, dev)
    /// and no dev package; syft's v3 lockfile marks `async` as the one dev package.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn real_lockfiles_mark_dev_packages() {
        let lock = fixture("npm/wd201-lesson1-lockfile-v2/node_modules/.package-lock.json");
        let tsv = String::from_utf8(fixture(
            "npm/wd201-lesson1-lockfile-v2/expected-installed.tsv",
        ))
        .unwrap();
        let want: HashSet<String> = tsv
            .lines()
            .skip(1)
            .filter(|l| l.ends_with("\ttrue"))
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect();
        assert_eq!(tsv.lines().skip(1).count(), 111);
        assert_eq!(dev_packages(&lock), want);
        let lock3 = fixture("npm/syft-pkg-lock/package-lock-3.json");
        let dev: Vec<String> = dev_packages(&lock3).into_iter().collect();
        assert_eq!(dev, ["node_modules/async"]);
    }
}
