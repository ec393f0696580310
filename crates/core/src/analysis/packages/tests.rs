//! Attribution over layers read from real tar bytes (the `tar` crate writes them): the
//! expected numbers are sums of the contents each test writes.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::layer::{self, ScanOptions};

enum E<'a> {
    File(String, Vec<u8>),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

fn tar_of(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = ::tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = ::tar::Header::new_gnu();
        h.set_mode(0o755);
        h.set_mtime(1);
        match e {
            E::File(p, c) => {
                h.set_entry_type(::tar::EntryType::Regular);
                h.set_size(c.len() as u64);
                b.append_data(&mut h, p.as_str(), c.as_slice()).unwrap();
            }
            E::Dir(p) => {
                h.set_entry_type(::tar::EntryType::Directory);
                h.set_size(0);
                b.append_data(&mut h, p, std::io::empty()).unwrap();
            }
            E::Symlink(p, t) | E::Hardlink(p, t) => {
                let kind = if matches!(e, E::Symlink(..)) {
                    ::tar::EntryType::Symlink
                } else {
                    ::tar::EntryType::Link
                };
                h.set_entry_type(kind);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Reads each layer's tar as strata reads a blob, applies them, and attributes.
fn attribute_layers(layers: &[Vec<E<'_>>]) -> (Fs, Attribution) {
    let mut fs = Fs::new();
    let mut scans = Vec::new();
    for (i, entries) in layers.iter().enumerate() {
        let bytes = tar_of(entries);
        let scan = layer::read_layer(bytes.as_slice(), i, ScanOptions::default(), None).unwrap();
        fs.apply(&scan);
        scans.push(scan.without_entries());
    }
    fs.finish();
    let a = attribute(&fs, &scans);
    (fs, a)
}

fn bytes(n: usize, fill: u8) -> Vec<u8> {
    vec![fill; n]
}

fn package<'a>(a: &'a Attribution, name: &str) -> &'a Package {
    a.packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} not among {:?}", a.packages))
}

const STATUS_0: &str = "Package: tool\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n\n\
Package: make\nStatus: install ok installed\nArchitecture: amd64\nVersion: 4.3-4.1\n\n\
Package: gone\nStatus: deinstall ok config-files\nVersion: 2\n";

/// dpkg over merged `/usr` (`bin -> usr/bin`): a list naming `/bin/tool` reaches
/// `/usr/bin/tool`; a hard link counts its bytes once; a file a later layer replaces is the
/// package's waste; a package added later names its layer; the rest is not owned.
#[test]
fn dpkg_packages_own_their_listed_files() {
    let tool = bytes(1000, b't');
    let doc = bytes(30, b'd');
    let make_old = bytes(500, b'm');
    let make_new = bytes(600, b'M');
    let lib = bytes(50, b'l');
    let app_old = bytes(4000, b'a');
    let app_new = bytes(3000, b'A');
    let conf = bytes(7, b'c');
    let status_1 = format!(
        "{STATUS_0}\nPackage: libd\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3\n"
    );
    let layers = vec![
        vec![
            E::Dir("usr/"),
            E::Dir("usr/bin/"),
            E::Symlink("bin", "usr/bin"),
            E::File("usr/bin/tool".into(), tool.clone()),
            E::Hardlink("usr/bin/tool-again", "usr/bin/tool"),
            E::File("usr/share/doc/tool/copyright".into(), doc.clone()),
            E::File("usr/bin/make".into(), make_old.clone()),
            E::File("var/lib/dpkg/status".into(), STATUS_0.as_bytes().to_vec()),
            E::File(
                "var/lib/dpkg/info/tool.list".into(),
                b"/.\n/bin\n/bin/tool\n/bin/tool-again\n/usr/share/doc/tool\n/usr/share/doc/tool/copyright\n".to_vec(),
            ),
            E::File("var/lib/dpkg/info/make.list".into(), b"/.\n/usr/bin/make\n".to_vec()),
            // A list left by a package no longer installed owns nothing.
            E::File("var/lib/dpkg/info/gone.list".into(), b"/etc/conf\n".to_vec()),
            E::File("etc/conf".into(), conf.clone()),
            E::File("app/main".into(), app_old.clone()),
        ],
        vec![
            E::File("usr/bin/make".into(), make_new.clone()),
            E::File("opt/d/lib.so".into(), lib.clone()),
            E::File("var/lib/dpkg/status".into(), status_1.as_bytes().to_vec()),
            E::File("var/lib/dpkg/info/libd:amd64.list".into(), b"/opt/d/lib.so\n".to_vec()),
            E::File("app/main".into(), app_new.clone()),
        ],
    ];
    let (_, a) = attribute_layers(&layers);
    let names: Vec<&str> = a.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 3, "{names:?}");

    let t = package(&a, "tool");
    assert_eq!(
        (t.files, t.visible_bytes, t.wasted_bytes),
        (3, (tool.len() + doc.len()) as u64, 0)
    );
    assert_eq!(
        (t.layer, t.layers.as_slice(), t.build_time),
        (Some(0), &[0][..], false)
    );
    assert_eq!(
        (t.version.as_str(), t.arch.as_deref()),
        ("1.0-1", Some("amd64"))
    );

    let m = package(&a, "make");
    assert_eq!(
        (m.files, m.visible_bytes, m.wasted_bytes),
        (1, make_new.len() as u64, make_old.len() as u64)
    );
    assert_eq!(
        (m.layer, m.layers.as_slice(), m.build_time),
        (Some(0), &[0, 1][..], true)
    );

    let d = package(&a, "libd");
    assert_eq!(
        (d.layer, d.visible_bytes, d.files),
        (Some(1), lib.len() as u64, 1)
    );

    // Largest first.
    assert_eq!(a.packages[0].name, "tool");

    let dbs: u64 = [
        status_1.len(),
        b"/.\n/bin\n/bin/tool\n/bin/tool-again\n/usr/share/doc/tool\n/usr/share/doc/tool/copyright\n".len(),
        b"/.\n/usr/bin/make\n".len(),
        b"/etc/conf\n".len(),
        b"/opt/d/lib.so\n".len(),
    ]
    .iter()
    .map(|&n| n as u64)
    .sum();
    let unowned: Vec<(&str, u64)> = a
        .unowned
        .iter()
        .map(|u| (u.dir.as_str(), u.bytes))
        .collect();
    assert_eq!(
        unowned,
        [
            ("/app", app_new.len() as u64),
            ("/var/lib", dbs),
            ("/etc", conf.len() as u64),
        ]
    );
    // Layer 1 shipped make's new bytes and libd's.
    let shares: Vec<(&str, u64)> = a.by_layer[1]
        .iter()
        .map(|s| (s.name.as_str(), s.bytes))
        .collect();
    assert_eq!(
        shares,
        [("make", make_new.len() as u64), ("libd", lib.len() as u64)]
    );
    let shares: Vec<(&str, u64)> = a.by_layer[0]
        .iter()
        .map(|s| (s.name.as_str(), s.bytes))
        .collect();
    assert_eq!(
        shares,
        [
            ("tool", (tool.len() + doc.len()) as u64),
            ("make", make_old.len() as u64)
        ]
    );
}

/// Without a database nothing is attributed and nothing is listed as not owned.
#[test]
fn no_database_no_packages() {
    let (_, a) = attribute_layers(&[vec![E::File("app/main".into(), bytes(10, b'x'))]]);
    assert!(a.packages.is_empty() && a.unowned.is_empty());
    assert_eq!(a.by_layer.len(), 1);
}

/// A database a later layer replaced counts as it is in the final filesystem: a package the
/// earlier copy listed and the final one does not is gone.
#[test]
fn the_final_database_counts() {
    let layers = vec![
        vec![
            E::File("var/lib/dpkg/status".into(), STATUS_0.as_bytes().to_vec()),
            E::File(
                "var/lib/dpkg/info/tool.list".into(),
                b"/usr/bin/tool\n".to_vec(),
            ),
            E::File("usr/bin/tool".into(), bytes(100, b't')),
        ],
        vec![E::File(
            "var/lib/dpkg/status".into(),
            b"Package: make\nStatus: install ok installed\nVersion: 4\n".to_vec(),
        )],
    ];
    let (_, a) = attribute_layers(&layers);
    let names: Vec<&str> = a.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["make"]);
    assert!(
        a.unowned
            .iter()
            .any(|u| u.dir == "/usr/bin" && u.bytes == 100)
    );
}

/// apk's database of trivy's test, with a file of a chosen size at each path trivy says a
/// package installed: each package's bytes are the sum of its files' sizes.
#[test]
#[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
fn apk_packages_own_the_files_trivy_lists() {
    use super::dpkg::tests::fixture;
    let db = fixture("apk/trivy-mixed/lib/apk/db/installed");
    let want: serde_json::Value =
        serde_json::from_slice(&fixture("apk/trivy-mixed/expected-trivy.json")).unwrap();
    let mut entries = vec![E::File("lib/apk/db/installed".into(), db.clone())];
    let mut expected: Vec<(String, u64)> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    for p in want["packages"].as_array().unwrap() {
        let mut total = 0;
        for f in p["InstalledFiles"].as_array().into_iter().flatten() {
            let path = f.as_str().unwrap().to_string();
            if paths.contains(&path) {
                continue;
            }
            let size = 10 + paths.len() * 7;
            total += size as u64;
            paths.push(path);
        }
        expected.push((p["Name"].as_str().unwrap().to_string(), total));
    }
    let leaked: Vec<String> = paths.clone();
    for (i, path) in leaked.iter().enumerate() {
        entries.push(E::File(path.clone(), bytes(10 + i * 7, b'x')));
    }
    let (_, a) = attribute_layers(&[entries]);
    let mut got: Vec<(String, u64)> = a
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.visible_bytes))
        .collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(
        a.packages
            .iter()
            .all(|p| p.manager == Manager::Apk && p.layer == Some(0))
    );
    let unowned: Vec<(&str, u64)> = a
        .unowned
        .iter()
        .map(|u| (u.dir.as_str(), u.bytes))
        .collect();
    assert_eq!(unowned, [("/lib", db.len() as u64)]);
}

/// A pip-installed distribution owns the files its RECORD lists (a script reached through
/// `../../../bin`), an npm package owns its directory but not its own `node_modules`, the
/// hidden lockfile marks development dependencies, and a distribution a dpkg package ships is
/// part of that package.
#[test]
fn python_and_npm_packages_own_their_files() {
    let module = bytes(700, b'p');
    let script = bytes(40, b's');
    let metadata = bytes(90, b'm');
    let record = b"six.py,sha256=x,700\n../../../bin/six-tool,,40\nsix-1.17.0.dist-info/METADATA,,90\nsix-1.17.0.dist-info/RECORD,,\n".to_vec();
    let express_js = bytes(300, b'e');
    let express_json = br#"{"name":"express","version":"4.18.2"}"#.to_vec();
    let nested_js = bytes(80, b'n');
    let nested_json = br#"{"name":"debug","version":"2.6.9"}"#.to_vec();
    let jest_json = br#"{"name":"@jest/core","version":"29.0.0"}"#.to_vec();
    let jest_js = bytes(1000, b'j');
    let lock = br#"{"name":"app","lockfileVersion":3,"packages":{"node_modules/express":{"version":"4.18.2"},"node_modules/@jest/core":{"version":"29.0.0","dev":true}}}"#.to_vec();
    let deb_record = b"apt_pkg.py,,5\n".to_vec();
    let site = "usr/local/lib/python3.11/site-packages";
    let layers = vec![
        vec![
            E::File("var/lib/dpkg/status".into(), b"Package: python3-apt\nStatus: install ok installed\nVersion: 2.6\n".to_vec()),
            E::File(
                "var/lib/dpkg/info/python3-apt.list".into(),
                b"/usr/lib/python3/dist-packages/apt_pkg.py\n/usr/lib/python3/dist-packages/python_apt-2.6.0.dist-info/RECORD\n".to_vec(),
            ),
            E::File("usr/lib/python3/dist-packages/apt_pkg.py".into(), bytes(5, b'a')),
            E::File("usr/lib/python3/dist-packages/python_apt-2.6.0.dist-info/RECORD".into(), deb_record.clone()),
        ],
        vec![
            E::File(format!("{site}/six.py"), module.clone()),
            E::File("usr/local/bin/six-tool".into(), script.clone()),
            E::File(format!("{site}/six-1.17.0.dist-info/METADATA"), metadata.clone()),
            E::File(format!("{site}/six-1.17.0.dist-info/RECORD"), record.clone()),
        ],
        vec![
            E::File("app/node_modules/express/package.json".into(), express_json.clone()),
            E::File("app/node_modules/express/lib/express.js".into(), express_js.clone()),
            E::File("app/node_modules/express/node_modules/debug/package.json".into(), nested_json.clone()),
            E::File("app/node_modules/express/node_modules/debug/index.js".into(), nested_js.clone()),
            E::File("app/node_modules/@jest/core/package.json".into(), jest_json.clone()),
            E::File("app/node_modules/@jest/core/build/index.js".into(), jest_js.clone()),
            E::File("app/node_modules/.package-lock.json".into(), lock.clone()),
            E::File("app/server.js".into(), bytes(20, b'x')),
        ],
    ];
    let (_, a) = attribute_layers(&layers);
    let mut names: Vec<(&str, Manager)> = a
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.manager))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("@jest/core", Manager::Npm),
            ("debug", Manager::Npm),
            ("express", Manager::Npm),
            ("python3-apt", Manager::Dpkg),
            ("six", Manager::Python),
        ]
    );
    let six = package(&a, "six");
    assert_eq!(six.version, "1.17.0");
    assert_eq!(
        (six.files, six.visible_bytes, six.layer),
        (
            4,
            (module.len() + script.len() + metadata.len() + record.len()) as u64,
            Some(1)
        )
    );
    let express = package(&a, "express");
    assert_eq!(
        (
            express.files,
            express.visible_bytes,
            express.build_time,
            express.layer
        ),
        (
            2,
            (express_json.len() + express_js.len()) as u64,
            false,
            Some(2)
        )
    );
    let debug = package(&a, "debug");
    assert_eq!(
        debug.visible_bytes,
        (nested_json.len() + nested_js.len()) as u64
    );
    let jest = package(&a, "@jest/core");
    assert!(jest.build_time);
    assert_eq!(jest.visible_bytes, (jest_json.len() + jest_js.len()) as u64);
    let apt = package(&a, "python3-apt");
    assert_eq!(apt.visible_bytes, (5 + deb_record.len()) as u64);
    let unowned: Vec<(&str, u64)> = a
        .unowned
        .iter()
        .map(|u| (u.dir.as_str(), u.bytes))
        .collect();
    let status_len = b"Package: python3-apt\nStatus: install ok installed\nVersion: 2.6\n".len()
        + b"/usr/lib/python3/dist-packages/apt_pkg.py\n/usr/lib/python3/dist-packages/python_apt-2.6.0.dist-info/RECORD\n".len();
    assert_eq!(
        unowned,
        [
            ("/var/lib", status_len as u64),
            ("/app", (lock.len() + 20) as u64)
        ]
    );
}

/// A database reached under two names (a symlinked directory) is one database: its package
/// is listed once, not once per name.
#[test]
fn a_database_reached_twice_counts_once() {
    let json = br#"{"name":"x","version":"1.0.0"}"#.to_vec();
    let layers = vec![vec![
        E::File("app/node_modules/x/package.json".into(), json.clone()),
        E::File("app/node_modules/x/index.js".into(), bytes(50, b'i')),
        E::Symlink("alias", "app"),
        E::File("alias/node_modules/x/package.json".into(), json.clone()),
    ]];
    let (_, a) = attribute_layers(&layers);
    let names: Vec<&str> = a.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["x"]);
    assert_eq!(a.packages[0].visible_bytes, (json.len() + 50) as u64);
}

/// rpm's database, as rpm 4.16+ keeps it: a package owns the files and symlinks its header
/// lists, not the directories; an upgrade in a later layer (a new database, a file replaced)
/// keeps the package's first layer and makes the old bytes its waste; a package the final
/// database no longer lists owns nothing; `-devel` is build-time; the database reached
/// through `var/lib/rpm -> ../../usr/lib/sysimage/rpm` counts once.
#[test]
fn rpm_packages_own_the_files_their_headers_list() {
    use super::rpm::header::tests::package as header;
    use super::rpm::sqlite::tests::rpmdb;
    const FILE: u16 = 0o100644;
    const DIR: u16 = 0o040755;
    const LINK: u16 = 0o120777;
    let tool_files = [
        ("/usr/bin/tool", 0o100755),
        ("/usr/share/doc/tool", DIR),
        ("/usr/share/doc/tool/README", FILE),
        ("/usr/lib64/libtool.so", LINK),
    ];
    let devel_files = [("/usr/include/tool.h", FILE), ("/usr/share/doc", DIR)];
    let db_0 = rpmdb(&[
        header("tool", None, "1.0", &tool_files),
        header("tool-devel", None, "1.0", &devel_files),
    ]);
    let db_1 = rpmdb(&[header("tool", Some(2), "1.3", &tool_files)]);
    let (tool_0, tool_1) = (bytes(900, b't'), bytes(1100, b'T'));
    let (readme, h) = (bytes(40, b'r'), bytes(70, b'h'));
    let other_doc = bytes(5, b'o');
    let sysimage = "usr/lib/sysimage/rpm/rpmdb.sqlite";
    let layers = vec![
        vec![
            E::Symlink("var/lib/rpm", "../../usr/lib/sysimage/rpm"),
            E::File(sysimage.into(), db_0.clone()),
            E::File("usr/bin/tool".into(), tool_0.clone()),
            E::File("usr/share/doc/tool/README".into(), readme.clone()),
            E::Symlink("usr/lib64/libtool.so", "libtool.so.1"),
            E::File("usr/include/tool.h".into(), h.clone()),
            // In a directory a package lists, but not its file.
            E::File("usr/share/doc/other".into(), other_doc.clone()),
        ],
        vec![
            E::File("var/lib/rpm/rpmdb.sqlite".into(), db_1.clone()),
            E::File("usr/bin/tool".into(), tool_1.clone()),
        ],
    ];
    let (_, a) = attribute_layers(&layers);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let names: Vec<(&str, Manager)> = a
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.manager))
        .collect();
    assert_eq!(names, [("tool", Manager::Rpm)]);
    let t = package(&a, "tool");
    assert_eq!(
        (t.version.as_str(), t.arch.as_deref(), t.build_time),
        ("2:1.3-1", Some("x86_64"), false)
    );
    assert_eq!(
        (t.files, t.visible_bytes, t.wasted_bytes),
        (2, (tool_1.len() + readme.len()) as u64, tool_0.len() as u64)
    );
    assert_eq!((t.layer, t.layers.as_slice()), (Some(0), &[0, 1][..]));
    let unowned: Vec<(&str, u64)> = a
        .unowned
        .iter()
        .map(|u| (u.dir.as_str(), u.bytes))
        .collect();
    assert_eq!(
        unowned,
        [
            ("/usr/lib", db_1.len() as u64),
            ("/usr/include", h.len() as u64),
            ("/usr/share", other_doc.len() as u64),
        ]
    );

    // Before the upgrade, the -devel package is one, and build-time.
    let (_, a) = attribute_layers(&layers[..1]);
    let d = package(&a, "tool-devel");
    assert_eq!(
        (d.build_time, d.visible_bytes, d.files),
        (true, h.len() as u64, 1)
    );
    assert_eq!(package(&a, "tool").version, "1.0-1");
}

/// A database that cannot be read is one warning naming its layer and path, and owns
/// nothing; one in a format not read is one warning too, unless an rpmdb.sqlite was read.
#[test]
fn an_rpm_database_not_read_is_said_once() {
    use super::rpm::header::tests::package as header;
    use super::rpm::sqlite::tests::rpmdb;
    let mut garbage = b"SQLite format 3\0".to_vec();
    garbage.resize(2048, 7);
    let layers = vec![
        vec![E::File("var/lib/rpm/Packages".into(), bytes(4096, 0))],
        vec![E::File("var/lib/rpm/rpmdb.sqlite".into(), garbage)],
    ];
    let (_, a) = attribute_layers(&layers);
    assert!(a.packages.is_empty());
    assert_eq!(
        a.warnings.len(),
        2,
        "one per database, each once: {:?}",
        a.warnings
    );
    assert!(
        a.warnings[0].starts_with("layer 1: /var/lib/rpm/rpmdb.sqlite: SQLite: "),
        "{}",
        a.warnings[0]
    );
    assert_eq!(
        a.warnings[1],
        "layer 0: /var/lib/rpm/Packages: not a Berkeley DB hash database; its packages are \
         not counted"
    );

    // NDB alone.
    let (_, a) = attribute_layers(&[vec![E::File(
        "usr/lib/sysimage/rpm/Packages.db".into(),
        bytes(100, 0),
    )]]);
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(a.warnings[0].contains("NDB"), "{}", a.warnings[0]);

    // A BerkeleyDB file rpm left behind beside the sqlite database it reads: no warning.
    let db = rpmdb(&[header("a", None, "1", &[("/a", 0o100644)])]);
    let (_, a) = attribute_layers(&[vec![
        E::File("var/lib/rpm/Packages".into(), bytes(4096, 0)),
        E::File("var/lib/rpm/rpmdb.sqlite".into(), db),
        E::File("a".into(), bytes(3, b'a')),
    ]]);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    assert_eq!((a.packages.len(), a.packages[0].visible_bytes), (1, 3));

    // An empty write-ahead log, as rpm leaves it, is nothing to say; one with pages not yet
    // in the database is.
    let db = rpmdb(&[header("a", None, "1", &[("/a", 0o100644)])]);
    for (wal, said) in [(0, false), (4096, true)] {
        let (_, a) = attribute_layers(&[vec![
            E::File("var/lib/rpm/rpmdb.sqlite".into(), db.clone()),
            E::File("var/lib/rpm/rpmdb.sqlite-wal".into(), bytes(wal, 0)),
        ]]);
        assert_eq!(a.packages.len(), 1);
        assert_eq!(a.warnings.len(), usize::from(said), "{:?}", a.warnings);
        if said {
            assert!(
                a.warnings[0].starts_with(
                    "layer 0: /var/lib/rpm/rpmdb.sqlite: its write-ahead log (-wal, 4096 bytes)"
                ),
                "{}",
                a.warnings[0]
            );
        }
    }

    // An rpmdb.sqlite the layer did not keep (over the caps): said, not silently empty.
    let tar = tar_of(&[E::File("var/lib/rpm/rpmdb.sqlite".into(), bytes(10, 1))]);
    let mut scan = layer::read_layer(tar.as_slice(), 0, ScanOptions::default(), None).unwrap();
    let mut fs = Fs::new();
    fs.apply(&scan);
    fs.finish();
    assert_eq!(scan.captured.len(), 1);
    scan.captured.clear();
    let a = attribute(&fs, &[scan.without_entries()]);
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    assert!(
        a.warnings[0].starts_with("/var/lib/rpm/rpmdb.sqlite: an rpm database too large to keep"),
        "{}",
        a.warnings[0]
    );
}

/// rpm's BerkeleyDB database (testdata/rpm/bdb-4096, written by libdb's db_load with the
/// headers of rpm-oci): each package owns the files its header lists, as from rpmdb.sqlite.
#[test]
fn a_berkeley_db_lists_rpm_packages_too() {
    let db = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/rpm/bdb-4096/Packages"),
    )
    .unwrap();
    let (tool, conf) = (bytes(1112, b't'), bytes(17, b'c'));
    let layers = vec![vec![
        E::File("var/lib/rpm/Packages".into(), db),
        E::File("usr/bin/tinytool".into(), tool.clone()),
        E::File("etc/tinytool.conf".into(), conf.clone()),
        E::File("usr/include/tiny/tiny.h".into(), bytes(9, b'h')),
    ]];
    let (_, a) = attribute_layers(&layers);
    assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    let mut names: Vec<(&str, &str, u64)> = a
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.visible_bytes))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("libtiny", "2.0-3", 0),
            ("libtiny-devel", "2.0-3", 9),
            ("tinytool", "1:1.1-1", (tool.len() + conf.len()) as u64),
        ]
    );
    assert!(
        a.packages
            .iter()
            .all(|p| p.manager == Manager::Rpm && p.layer == Some(0))
    );
}
