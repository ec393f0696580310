//! Small files kept whole as a layer is read: the package databases that say which package owns
//! which path (dpkg's `status`, `status.d/*` and `info/*.list`, apk's `installed`, rpm's
//! `rpmdb.sqlite` or `Packages`, Python's `*.dist-info/RECORD` and `*.egg-info/installed-files.txt`, npm's
//! `package.json` of each package under `node_modules` and the lockfile npm keeps there). They pass by
//! in the single read of the layer anyway; keeping their bytes spares a second read of any
//! blob when the analysis attributes bytes to packages.
//!
//! Only regular files at the paths below are kept, each up to [`MAX_FILE`] bytes, at most
//! [`MAX_LAYER`] bytes per layer: a database larger than that is left out (and said so by the
//! analysis), never an allocation sized by a tar header.

/// The most bytes kept of one file: a Debian image's `status` is a few MB (the 264 packages of
/// a full Debian 11 root are 228 KB), apk's `installed` less; rpm's `rpmdb.sqlite` and
/// `Packages` hold every package's whole header (3.6 MB for the 129 packages of CBL-Mariner
/// 2.0).
pub const MAX_FILE: u64 = 64 << 20;
/// The most bytes kept per layer, all files together.
pub const MAX_LAYER: u64 = 256 << 20;

/// A file kept whole: its name as the tar gave it (without a leading `./` or `/`), the xxh3 of
/// its content (the analysis matches it to the final filesystem's object), and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub path: Vec<u8>,
    pub hash: u64,
    pub bytes: Vec<u8>,
}

/// What a kept file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// `var/lib/dpkg/status`: every package dpkg knows, with its state.
    DpkgStatus,
    /// `var/lib/dpkg/status.d/NAME`: one package's control file (distroless images).
    DpkgStatusD,
    /// `var/lib/dpkg/status.d/NAME.md5sums`: that package's files (distroless has no lists).
    DpkgMd5sums,
    /// `var/lib/dpkg/info/NAME[:ARCH].list`: the paths a package installed.
    DpkgList,
    /// `lib/apk/db/installed` (or under `usr/`): apk's packages and their files.
    ApkInstalled,
    /// `rpmdb.sqlite` in one of the [`RPM_DIRS`]: rpm's packages (RHEL 9, Fedora ≥ 36,
    /// CBL-Mariner), one header each, with their files.
    RpmSqlite,
    /// `Packages` in one of the [`RPM_DIRS`]: the same in BerkeleyDB (RHEL and CentOS ≤ 8,
    /// Amazon Linux 2).
    RpmBerkeley,
    /// `NAME-VERSION.dist-info/RECORD`: the files pip (or any installer) wrote for a Python
    /// distribution, relative to the directory holding the `.dist-info`.
    PythonRecord,
    /// `NAME-VERSION….egg-info/installed-files.txt`: the same for an egg, relative to the
    /// `.egg-info` directory.
    PythonEggFiles,
    /// `…/node_modules/[@SCOPE/]NAME/package.json`: an npm package, which owns its directory.
    NpmPackage,
    /// `…/node_modules/.package-lock.json`: npm's record of what it installed there, which
    /// marks development dependencies.
    NpmLock,
}

/// Where rpm keeps its database: `var/lib/rpm`, and `usr/lib/sysimage/rpm` where Fedora and
/// openSUSE moved it (leaving `var/lib/rpm` a symlink to it).
pub const RPM_DIRS: [&str; 2] = ["var/lib/rpm", "usr/lib/sysimage/rpm"];

/// rpm's databases in the formats that are not read, by file name in one of the [`RPM_DIRS`],
/// with the format's name: NDB (SUSE). Not kept either: the analysis finds them in the final
/// filesystem, to say they are not read.
pub const RPM_UNREAD: [(&str, &str); 1] = [("Packages.db", "NDB")];

/// A tar name without the `./` or `/` it may start with.
pub fn relative(path: &[u8]) -> &[u8] {
    let mut p = path;
    loop {
        if let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        } else if let Some(rest) = p.strip_prefix(b"/") {
            p = rest;
        } else {
            return p;
        }
    }
}

/// Which database a tar name is, if one the analysis reads. Called for every regular file of
/// every layer: the last component rules out nearly all names.
pub fn database(path: &[u8]) -> Option<Database> {
    let p = relative(path);
    let (dir, name) = match memchr::memrchr(b'/', p) {
        Some(at) => (&p[..at], &p[at + 1..]),
        None => (&b""[..], p),
    };
    match name {
        b"RECORD" => dir
            .ends_with(b".dist-info")
            .then_some(Database::PythonRecord),
        b"installed-files.txt" => dir
            .ends_with(b".egg-info")
            .then_some(Database::PythonEggFiles),
        b"package.json" => in_node_modules(dir).then_some(Database::NpmPackage),
        b".package-lock.json" => is_node_modules(dir).then_some(Database::NpmLock),
        b"rpmdb.sqlite" => in_rpm_dir(dir).then_some(Database::RpmSqlite),
        b"Packages" => in_rpm_dir(dir).then_some(Database::RpmBerkeley),
        b"installed" => {
            let apk = p.strip_prefix(b"usr/").unwrap_or(p);
            (apk == b"lib/apk/db/installed").then_some(Database::ApkInstalled)
        }
        _ => dpkg(p),
    }
}

/// dpkg's files, under `var/lib/dpkg/`.
fn dpkg(p: &[u8]) -> Option<Database> {
    let rest = p.strip_prefix(b"var/lib/dpkg/")?;
    if rest == b"status" {
        return Some(Database::DpkgStatus);
    }
    if let Some(name) = rest.strip_prefix(b"status.d/") {
        if name.is_empty() || name.contains(&b'/') {
            return None;
        }
        return Some(match name.strip_suffix(b".md5sums") {
            Some(stem) if !stem.is_empty() => Database::DpkgMd5sums,
            Some(_) => return None,
            None => Database::DpkgStatusD,
        });
    }
    let name = rest.strip_prefix(b"info/")?;
    let list = name.len() > b".list".len() && !name.contains(&b'/') && name.ends_with(b".list");
    list.then_some(Database::DpkgList)
}

/// `dir` is one where rpm keeps its database.
fn in_rpm_dir(dir: &[u8]) -> bool {
    RPM_DIRS.iter().any(|d| dir == d.as_bytes())
}

/// `dir` is a `node_modules` directory.
fn is_node_modules(dir: &[u8]) -> bool {
    dir == b"node_modules" || dir.ends_with(b"/node_modules")
}

/// `dir` is a package's directory right under `node_modules` (`node_modules/NAME` or
/// `node_modules/@SCOPE/NAME`).
fn in_node_modules(dir: &[u8]) -> bool {
    let Some(at) = memchr::memrchr(b'/', dir) else {
        return false;
    };
    let (parent, name) = (&dir[..at], &dir[at + 1..]);
    if is_node_modules(parent) {
        // `@SCOPE` itself is no package.
        return name.first() != Some(&b'@');
    }
    let (grand, scope) = match memchr::memrchr(b'/', parent) {
        Some(a) => (&parent[..a], &parent[a + 1..]),
        None => (&b""[..], parent),
    };
    scope.first() == Some(&b'@') && is_node_modules(grand)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_databases_and_nothing_else() {
        let yes = [
            ("var/lib/dpkg/status", Database::DpkgStatus),
            ("./var/lib/dpkg/status", Database::DpkgStatus),
            ("/var/lib/dpkg/status", Database::DpkgStatus),
            ("var/lib/dpkg/status.d/libssl3", Database::DpkgStatusD),
            (
                "var/lib/dpkg/status.d/libssl3.md5sums",
                Database::DpkgMd5sums,
            ),
            ("var/lib/dpkg/info/bash.list", Database::DpkgList),
            ("var/lib/dpkg/info/libc6:amd64.list", Database::DpkgList),
            ("lib/apk/db/installed", Database::ApkInstalled),
            ("usr/lib/apk/db/installed", Database::ApkInstalled),
            ("var/lib/rpm/rpmdb.sqlite", Database::RpmSqlite),
            ("./usr/lib/sysimage/rpm/rpmdb.sqlite", Database::RpmSqlite),
            ("var/lib/rpm/Packages", Database::RpmBerkeley),
            (
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD",
                Database::PythonRecord,
            ),
            (
                "app/venv/x-1.0-py3.11.egg-info/installed-files.txt",
                Database::PythonEggFiles,
            ),
            (
                "app/node_modules/express/package.json",
                Database::NpmPackage,
            ),
            (
                "node_modules/@types/node/package.json",
                Database::NpmPackage,
            ),
            (
                "app/node_modules/a/node_modules/b/package.json",
                Database::NpmPackage,
            ),
            ("app/node_modules/.package-lock.json", Database::NpmLock),
        ];
        for (name, db) in yes {
            assert_eq!(database(name.as_bytes()), Some(db), "{name}");
        }
        let no = [
            "var/lib/dpkg/status-old",
            "var/lib/dpkg/status.d/.md5sums",
            "var/lib/dpkg/status.d/",
            "var/lib/dpkg/info/bash.md5sums",
            "var/lib/dpkg/info/.list",
            "var/lib/dpkg/info/x/y.list",
            "var/lib/dpkg/available",
            "lib/apk/db/installed.bak",
            "usr/local/lib/apk/db/installed",
            "rpmdb.sqlite",
            "var/lib/rpm/rpmdb.sqlite-shm",
            "var/lib/rpm/rpmdb.sqlite.bak",
            "backup/var/lib/rpm/rpmdb.sqlite",
            "var/lib/rpm/x/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/Packages.db",
            "var/lib/rpm/Packages.bak",
            "usr/share/Packages",
            "Packages",
            "etc/passwd",
            "app/RECORD",
            "six-1.16.0.dist-info/RECORD.bak",
            "app/package.json",
            "app/node_modules/express/lib/package.json",
            "app/node_modules/@types/package.json",
            "app/.package-lock.json",
            "",
        ];
        for name in no {
            assert_eq!(database(name.as_bytes()), None, "{name}");
        }
    }
}
