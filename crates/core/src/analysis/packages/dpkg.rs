//! dpkg's database: `status` (or one control file per package in `status.d/`, as distroless
//! images ship it) says which packages are installed; `info/NAME[:ARCH].list` lists the paths
//! each installed.

/// One package of a status file or a `status.d` control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    pub name: String,
    pub version: String,
    pub arch: Option<String>,
    /// Its `Status` says the package's files are on disk (`… installed`); a control file in
    /// `status.d/` has no `Status` and always is.
    pub installed: bool,
}

/// The stanzas of a status file (or of one `status.d` file), in file order. A stanza without
/// `Package` or `Version` is left out, as dpkg-query leaves it.
pub fn parse_status(bytes: &[u8]) -> Vec<Stanza> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut fields = Fields::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.extend(fields.take());
            continue;
        }
        // Continuation lines (a description's body, conffiles) start with a space or a tab.
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Package" => fields.name = Some(value.to_string()),
            "Version" => fields.version = Some(value.to_string()),
            "Architecture" => fields.arch = Some(value.to_string()),
            "Status" => fields.status = Some(value.to_string()),
            _ => {}
        }
    }
    out.extend(fields.take());
    out
}

#[derive(Default)]
struct Fields {
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    status: Option<String>,
}

impl Fields {
    fn take(&mut self) -> Option<Stanza> {
        let f = std::mem::take(self);
        let name = f.name.filter(|n| !n.is_empty())?;
        let version = f.version.filter(|v| !v.is_empty())?;
        let installed = f
            .status
            .as_deref()
            .is_none_or(|s| s.split_whitespace().nth(2) == Some("installed"));
        Some(Stanza {
            name,
            version,
            arch: f.arch.filter(|a| !a.is_empty()),
            installed,
        })
    }
}

/// The package a list or md5sums file belongs to, from its name (`bash.list`,
/// `libc6:amd64.list`, `libssl3.md5sums`) without `suffix`: the package name and, when
/// qualified, its architecture.
pub fn file_owner(file_name: &[u8], suffix: &[u8]) -> Option<(String, Option<String>)> {
    let stem = file_name.strip_suffix(suffix).filter(|s| !s.is_empty())?;
    let stem = String::from_utf8_lossy(stem);
    Some(match stem.split_once(':') {
        Some((name, arch)) => (name.to_string(), Some(arch.to_string())),
        None => (stem.into_owned(), None),
    })
}

/// The paths of a list file, directories included (dpkg lists `/.` and every directory it
/// created), as absolute byte strings.
pub fn parse_list(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && *l != b"/.")
}

/// The paths of an md5sums file (`<md5>  <path without its leading />`), as absolute byte
/// strings. Conffiles are not in it (dpkg lists them in the status instead).
pub fn parse_md5sums(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    bytes.split(|&b| b == b'\n').filter_map(|l| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        let at = l.windows(2).position(|w| w == b"  ")?;
        let path = &l[at + 2..];
        (!path.is_empty()).then(|| {
            let mut p = Vec::with_capacity(path.len() + 1);
            p.push(b'/');
            p.extend_from_slice(path.strip_prefix(b"/").unwrap_or(path));
            p
        })
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use std::path::Path;

    /// A file of the shared fixtures beside the project (../shared/fixtures/pkgdb; each with a
    /// README of its source and of the values below).
    pub(crate) fn fixture(rel: &str) -> Vec<u8> {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/pkgdb")
            .join(rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (the shared fixtures)", p.display()))
    }

    /// Rows of dpkg-query's output that the fixture's README derived (status, package, arch,
    /// version, …): the installed ones must be exactly the stanzas read as installed.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn reads_what_dpkg_query_reads() {
        for (dir, count) in [
            ("dpkg/debian11-armhf-rootfs", 264),
            ("dpkg/trivy-valid", 90),
        ] {
            let status = fixture(&format!("{dir}/var/lib/dpkg/status"));
            let tsv = fixture(&format!("{dir}/expected-dpkg-query.tsv"));
            let mut got: Vec<(String, String, Option<String>)> = parse_status(&status)
                .into_iter()
                .filter(|s| s.installed)
                .map(|s| (s.name, s.version, s.arch))
                .collect();
            let mut want: Vec<(String, String, Option<String>)> = String::from_utf8(tsv)
                .unwrap()
                .lines()
                .filter(|l| l.starts_with("ii"))
                .map(|l| {
                    let f: Vec<&str> = l.split('\t').collect();
                    (f[1].to_string(), f[3].to_string(), Some(f[2].to_string()))
                })
                .collect();
            got.sort();
            want.sort();
            assert_eq!(got.len(), count, "{dir}");
            assert_eq!(got, want, "{dir}");
        }
    }

    #[test]
    fn status_words_and_missing_fields() {
        let text =
            b"Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n more\n\n\
Package: b\nStatus: deinstall ok config-files\nVersion: 2\n\n\
Package: c\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 1:3-1\n\n\
Package: noversion\nStatus: install ok installed\n\n\
Package:\nVersion: 1\n\n\
Package: d\nVersion: 4\n";
        let got = parse_status(text);
        let names: Vec<(&str, bool)> = got.iter().map(|s| (s.name.as_str(), s.installed)).collect();
        assert_eq!(names, [("a", true), ("b", false), ("c", true), ("d", true)]);
        assert_eq!(got[2].arch.as_deref(), Some("amd64"));
        assert_eq!(got[2].version, "1:3-1");
    }

    #[test]
    fn list_files_name_their_package() {
        assert_eq!(
            file_owner(b"bash.list", b".list"),
            Some(("bash".into(), None))
        );
        assert_eq!(
            file_owner(b"libc6:armhf.list", b".list"),
            Some(("libc6".into(), Some("armhf".into())))
        );
        assert_eq!(file_owner(b"bash.md5sums", b".list"), None);
        assert_eq!(
            file_owner(b"libssl3.md5sums", b".md5sums"),
            Some(("libssl3".into(), None))
        );
        let list = b"/.\n/bin\n/bin/bash\r\n\n/usr/share/doc/bash\n";
        let paths: Vec<&[u8]> = parse_list(list).collect();
        assert_eq!(paths, [&b"/bin"[..], b"/bin/bash", b"/usr/share/doc/bash"]);
    }

    /// syft's test of a distroless md5sums file expects these six paths.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn reads_distroless_md5sums() {
        let sums = fixture(
            "dpkg-distroless/syft-image-distroless-deb/var/lib/dpkg/status.d/libsqlite3-0.md5sums",
        );
        let want: serde_json::Value = serde_json::from_slice(&fixture(
            "dpkg-distroless/syft-image-distroless-deb/expected-syft.json",
        ))
        .unwrap();
        let got: Vec<String> = parse_md5sums(&sums)
            .map(|p| String::from_utf8(p).unwrap())
            .collect();
        let text = want.to_string();
        assert_eq!(got.len(), 6);
        for path in &got {
            assert!(
                text.contains(&format!("\"{path}\"")),
                "{path} not in syft's files"
            );
        }
    }

    /// The fixture's `.list` files have as many paths as `dpkg-query -L` printed (its README).
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn list_lengths_match_dpkg_query() {
        for (pkg, lines) in [
            ("bash", 163),
            ("dash", 23),
            ("coreutils", 454),
            ("libc6:armhf", 317),
        ] {
            let list = fixture(&format!(
                "dpkg/debian11-armhf-rootfs/var/lib/dpkg/info/{pkg}.list"
            ));
            // dpkg-query -L prints `/.` too.
            assert_eq!(parse_list(&list).count() + 1, lines, "{pkg}");
        }
    }
}
