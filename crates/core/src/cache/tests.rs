//! The cache's tests: round trips, damaged and hostile entries, the directory's checks, and
//! concurrent writers.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use twox_hash::XxHash3_64;

use super::format::{MAGIC, READER, READER_SOURCES, VERSION};
use super::*;
use crate::layer::{Compression, Kind, TarEntry};

const DIGEST: &str = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fn sample() -> LayerScan {
    let mut scan = LayerScan::new(3);
    scan.compression = Compression::Gzip;
    scan.compressed_size = 1234;
    scan.tar_size = 10240;
    scan.skipped_entries = 2;
    scan.blob_digest = Some(DIGEST.into());
    scan.diff_id = Some("sha256:beef".into());
    let entries = [
        ("usr/bin/env", None, Kind::File, 42),
        ("lib", Some("usr/lib"), Kind::Symlink, 0),
        ("usr/share/\u{e9}t\u{e9}/", None, Kind::Dir, 0),
        ("usr/bin/hard", Some("usr/bin/env"), Kind::Hardlink, 0),
        ("dev/null", None, Kind::CharDevice, 0),
    ];
    for (i, (path, link, kind, size)) in entries.into_iter().enumerate() {
        let e = TarEntry {
            path: path.as_bytes().to_vec(),
            link: link.map(|l: &str| l.as_bytes().to_vec()),
            kind,
            mode: 0o755,
            uid: 1000 + i as u64,
            gid: 7,
            mtime: -5 + i as i64,
            size,
        };
        scan.push(&e, 0xdead_beef + i as u64).unwrap();
    }
    scan.capture(crate::layer::capture::Captured {
        path: b"var/lib/dpkg/status".to_vec(),
        hash: 0x5eed,
        bytes: b"Package: bash\nStatus: install ok installed\n".to_vec(),
    });
    use crate::layer::secrets::{Hit, Rule};
    for (path, rule, prefix) in [
        ("root/.aws/credentials", Rule::AwsAccessKeyId, "AKIA"),
        ("root/.ssh/id_ed25519", Rule::PrivateKey, ""),
    ] {
        let hit = Hit::stored(path.into(), rule, 17, 20, 2, 0xc0ffee, prefix.as_bytes());
        scan.secrets.push(hit);
    }
    scan.secrets.dropped = 3;
    scan
}

fn same(a: &LayerScan, b: &LayerScan) {
    assert_eq!(a.compression, b.compression);
    assert_eq!(
        (a.compressed_size, a.tar_size, a.skipped_entries),
        (b.compressed_size, b.tar_size, b.skipped_entries)
    );
    assert_eq!((&a.blob_digest, &a.diff_id), (&b.blob_digest, &b.diff_id));
    assert_eq!(a.entries, b.entries);
    assert_eq!(a.captured, b.captured);
    assert_eq!(a.secrets, b.secrets);
    for (x, y) in a.entries.iter().zip(&b.entries) {
        assert_eq!(a.name(x), b.name(y));
        assert_eq!(a.link(x), b.link(y));
    }
}

/// A cache in a fresh directory, with its entry for `DIGEST` written.
fn filled() -> (tempfile::TempDir, Cache, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    cache.put(DIGEST, &sample()).unwrap();
    let path = cache.path.join(entry_name(DIGEST).unwrap());
    (dir, cache, path)
}

/// The names in the cache's directory, sorted.
fn names(cache: &Cache) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(&cache.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Bytes this thread read through read(2) and its kin, from the kernel's count.
fn bytes_read_by_this_thread() -> u64 {
    let io = fs::read_to_string("/proc/thread-self/io").unwrap();
    let line = io.lines().find(|l| l.starts_with("rchar:")).unwrap();
    line["rchar:".len()..].trim().parse().unwrap()
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    assert!(cache.get(DIGEST, 0).unwrap().is_none());
    let scan = sample();
    cache.put(DIGEST, &scan).unwrap();
    let back = cache.get(DIGEST, 9).unwrap().unwrap();
    assert_eq!(back.index, 9);
    same(&scan, &back);
}

#[test]
fn corrupt_entries_are_errors_never_panics() {
    let (_dir, cache, path) = filled();
    let good = fs::read(&path).unwrap();
    // Every single-byte flip and every truncation is caught (checksum or structure).
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x41;
        fs::write(&path, &bad).unwrap();
        assert!(cache.get(DIGEST, 0).is_err(), "flip at {i}");
    }
    for n in 0..good.len() {
        fs::write(&path, &good[..n]).unwrap();
        assert!(cache.get(DIGEST, 0).is_err(), "truncated to {n}");
    }
    // Structure is checked even when the checksum is right: a lying entry count.
    let mut body = MAGIC.to_vec();
    body.extend_from_slice(&VERSION.to_le_bytes());
    body.extend_from_slice(&READER.to_le_bytes());
    body.extend_from_slice(&(DIGEST.len() as u32).to_le_bytes());
    body.extend_from_slice(DIGEST.as_bytes());
    body.push(1);
    body.extend_from_slice(&[0u8; 24 + 4 + 4 + 8]);
    body.extend_from_slice(&u64::MAX.to_le_bytes());
    let sum = XxHash3_64::oneshot(&body);
    body.extend_from_slice(&sum.to_le_bytes());
    let err = decode(&body, DIGEST).err().unwrap();
    assert_eq!(err, Malformed::CountPastEnd);
    assert_eq!(err.to_string(), "an entry count past the end");
    assert!(decode(&[0u8; 3], DIGEST).is_err());
    // A rewrite repairs it.
    cache.put(DIGEST, &sample()).unwrap();
    same(&sample(), &cache.get(DIGEST, 0).unwrap().unwrap());
}

#[test]
fn an_entry_under_the_wrong_name_is_refused() {
    let (_dir, cache, path) = filled();
    let other = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    fs::copy(&path, cache.path.join(entry_name(other).unwrap())).unwrap();
    let err = cache.get(other, 0).unwrap_err();
    assert!(
        matches!(err.why, Problem::Malformed(Malformed::OtherLayer)),
        "{err}"
    );
    let entry = cache.path.join(entry_name(other).unwrap());
    assert_eq!(
        err.to_string(),
        format!("{}: holds another layer", entry.display())
    );
}

/// An entry written by another build of the layer reader is not used (and not an error):
/// what an older tar walker made of a blob is not what this one makes of it.
#[test]
fn an_entry_of_another_reader_is_unused() {
    let (_dir, cache, path) = filled();
    let mut bytes = fs::read(&path).unwrap();
    let at = MAGIC.len() + 4;
    assert_eq!(bytes[at..at + 8], READER.to_le_bytes());
    bytes[at..at + 8].copy_from_slice(&(READER ^ 1).to_le_bytes());
    let n = bytes.len() - 8;
    let sum = XxHash3_64::oneshot(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
    fs::write(&path, &bytes).unwrap();
    assert!(cache.get(DIGEST, 0).unwrap().is_none());
}

/// Every source file of the layer reader is in its fingerprint, byte for byte.
#[test]
fn the_reader_fingerprint_covers_every_reader_source() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found: Vec<String> = fs::read_dir(src.join("layer"))
        .unwrap()
        .map(|e| format!("layer/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    found.push("../../../Cargo.lock".into());
    found.sort();
    let mut listed: Vec<String> = READER_SOURCES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(listed, found);
    for (name, bytes) in READER_SOURCES {
        assert_eq!(fs::read(src.join(name)).unwrap(), bytes, "{name}");
    }
}

#[test]
fn hostile_digests_name_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    for d in ["sha256:../../etc/passwd", "sha512:00", "", "sha256:ABCDEF"] {
        assert!(entry_name(d).is_none(), "{d}");
        assert!(cache.get(d, 0).unwrap().is_none());
        cache.put(d, &sample()).unwrap();
    }
    assert!(names(&cache).is_empty());
    // Nor does a scan without a real blob digest to prove a hit against.
    for found in [None, Some("sha256:unavailable")] {
        let mut scan = sample();
        scan.blob_digest = found.map(str::to_string);
        cache.put(DIGEST, &scan).unwrap();
        assert!(names(&cache).is_empty(), "{found:?}");
    }
}

#[test]
fn concurrent_writers_and_readers_see_whole_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(dir.path()).unwrap();
    let scan = sample();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    cache.put(DIGEST, &scan).unwrap();
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..200 {
                    if let Some(got) = cache.get(DIGEST, 0).unwrap() {
                        same(&scan, &got);
                    }
                }
            });
        }
    });
    same(&scan, &cache.get(DIGEST, 0).unwrap().unwrap());
    // No temporary files left behind.
    assert_eq!(names(&cache), [entry_name(DIGEST).unwrap()]);
}

/// Directories are created 0700, entries 0600: what was read is nobody else's business.
#[test]
fn the_cache_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("a/b/strata");
    let cache = Cache::open(&root).unwrap();
    cache.put(DIGEST, &sample()).unwrap();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&root), 0o700);
    assert_eq!(mode(&cache.path), 0o700);
    assert_eq!(
        mode(&cache.path.join(entry_name(DIGEST).unwrap())) & 0o077,
        0
    );
}

/// The cache's own directory is used only if it is a real directory of this user that
/// nobody else may write; otherwise nothing is read or written there.
#[test]
fn a_cache_directory_that_is_not_ours_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    let root = dir.path().join("root");
    fs::create_dir(&root).unwrap();
    let sub = root.join(SUBDIR);

    std::os::unix::fs::symlink(&elsewhere, &sub).unwrap();
    let err = Cache::open(&root).unwrap_err();
    assert!(matches!(err.why, Problem::Symlink), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{}: is a symbolic link", sub.display())
    );
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    fs::remove_file(&sub).unwrap();

    fs::write(&sub, b"").unwrap();
    let err = Cache::open(&root).unwrap_err();
    assert!(matches!(err.why, Problem::NotADirectory), "{err}");
    assert_eq!(
        err.to_string(),
        format!("{}: is not a directory", sub.display())
    );
    fs::remove_file(&sub).unwrap();

    fs::create_dir(&sub).unwrap();
    for mode in [0o777, 0o720, 0o702] {
        fs::set_permissions(&sub, fs::Permissions::from_mode(mode)).unwrap();
        let err = Cache::open(&root).unwrap_err();
        assert!(
            matches!(err.why, Problem::WritableByOthers { mode: m } if m == mode),
            "{mode:o}: {err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{}: is writable by others (mode {mode:o}); `chmod go-w` it",
                sub.display()
            )
        );
    }
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
    Cache::open(&root).unwrap();

    // Another user's directory (only root can make one): as git refuses a repository
    // another user owns, `sudo strata` does not read a user's cache.
    if rustix::process::geteuid().is_root() {
        rustix::fs::chown(&sub, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
        let err = Cache::open(&root).unwrap_err();
        assert!(
            matches!(
                err.why,
                Problem::DirectoryOwner {
                    owner: 4242,
                    user: 0
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "{}: is owned by uid 4242, not by this user (uid 0)",
                sub.display()
            )
        );
    }
}

/// A FIFO planted as an entry neither blocks nor is read: the open does not wait for a
/// writer, and the entry is refused as not a regular file.
#[test]
fn a_fifo_entry_does_not_block() {
    let (_dir, cache, path) = filled();
    fs::remove_file(&path).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &path,
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let cache = std::sync::Arc::new(cache);
    let reader = std::sync::Arc::clone(&cache);
    std::thread::spawn(move || {
        let _ = tx.send(reader.get(DIGEST, 0));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("reading a FIFO entry blocked");
    let err = got.unwrap_err();
    assert!(matches!(err.why, Problem::NotAFile), "{err}");
    assert!(
        err.to_string().ends_with(": is not a regular file"),
        "{err}"
    );
    // A write replaces it.
    cache.put(DIGEST, &sample()).unwrap();
    same(&sample(), &cache.get(DIGEST, 0).unwrap().unwrap());
}

/// An entry path that is a symlink is not followed, neither to read (a whole entry lies at
/// the target) nor to write (the target keeps its bytes).
#[test]
fn a_symlink_entry_is_not_followed() {
    let (dir, cache, path) = filled();
    let target = dir.path().join("target");
    fs::rename(&path, &target).unwrap();
    let before = fs::read(&target).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    let err = cache.get(DIGEST, 0).unwrap_err();
    assert!(matches!(err.why, Problem::Symlink), "{err}");
    assert_eq!(err.path, path);
    let mut other = sample();
    other.tar_size += 1;
    cache.put(DIGEST, &other).unwrap();
    assert_eq!(fs::read(&target).unwrap(), before);
    assert!(fs::symlink_metadata(&path).unwrap().is_file());
    same(&other, &cache.get(DIGEST, 0).unwrap().unwrap());
}

/// A symlink planted where a temporary file is created is not written through: names are
/// not guessable (links at the names the old scheme used, `.tmp-PID-N`, catch nothing),
/// and a file is created only where nothing is.
#[test]
fn a_symlink_at_a_temporary_path_is_not_followed() {
    let (dir, cache, _) = filled();
    let target = dir.path().join("target");
    fs::write(&target, b"precious").unwrap();
    for n in 0..1000 {
        let link = cache.path.join(format!(".tmp-{}-{n}", std::process::id()));
        std::os::unix::fs::symlink(&target, link).unwrap();
    }
    for _ in 0..10 {
        cache.put(DIGEST, &sample()).unwrap();
    }
    assert_eq!(fs::read(&target).unwrap(), b"precious");
    let name = ".tmp-planted";
    std::os::unix::fs::symlink(&target, cache.path.join(name)).unwrap();
    let err = cache.create_exclusive(name).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    // Even a dangling one.
    fs::remove_file(&target).unwrap();
    let err = cache.create_exclusive(name).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(!target.exists());
}

/// An entry over the size cap is refused from its size: its bytes are never read.
#[test]
fn an_oversized_entry_is_not_read() {
    let (_dir, cache, path) = filled();
    let good = fs::read(&path).unwrap();
    // A whole entry at the start, then a hole up to one byte past the cap.
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(MAX_ENTRY + 1).unwrap();
    drop(file);
    assert_eq!(fs::read(&path).unwrap()[..good.len()], good[..]);
    let before = bytes_read_by_this_thread();
    let err = cache.get(DIGEST, 0).unwrap_err();
    let read = bytes_read_by_this_thread() - before;
    assert!(
        matches!(err.why, Problem::TooLarge { size } if size == MAX_ENTRY + 1),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}: 1073741825 bytes, over the 1024 MiB an entry may hold",
            path.display()
        )
    );
    assert!(read < 1 << 20, "{read} bytes read");
    // The count sees reads: one byte longer than a whole entry, a file is read (and
    // fails its checksum).
    fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(good.len() as u64 + 1)
        .unwrap();
    let before = bytes_read_by_this_thread();
    let err = cache.get(DIGEST, 0).unwrap_err();
    assert!(bytes_read_by_this_thread() - before > good.len() as u64);
    assert!(
        matches!(err.why, Problem::Malformed(Malformed::Checksum)),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("{}: checksum mismatch", path.display())
    );
}

/// Only root can give a file to another user: an entry not owned by this user is refused.
#[test]
fn an_entry_of_another_user_is_refused() {
    if !rustix::process::geteuid().is_root() {
        return;
    }
    let (_dir, cache, path) = filled();
    rustix::fs::chown(&path, Some(rustix::fs::Uid::from_raw(4242)), None).unwrap();
    let err = cache.get(DIGEST, 0).unwrap_err();
    assert!(
        matches!(err.why, Problem::EntryOwner { owner: 4242 }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!("{}: is owned by uid 4242", path.display())
    );
}

/// Temporary files older than an hour are a killed writer's: the first write of a run
/// removes them, and nothing else (fresh temporary files, entries).
#[test]
fn stale_temporary_files_are_removed() {
    let (_dir, cache, path) = filled();
    let cache = Cache::open(cache.path.parent().unwrap()).unwrap();
    let age = |name: &str, secs: u64| {
        let p = cache.path.join(name);
        let f = fs::File::create(&p).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    };
    age(".tmp-0123456789abcdef", 2 * 3600);
    age(".tmp-12345-0", 3 * 3600);
    age(".tmp-fresh", 60);
    age("sha256-old-entry-like", 5 * 3600);
    fs::File::open(&path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(9 * 3600))
        .unwrap();
    let mut expected = vec![
        ".tmp-fresh".to_string(),
        entry_name(DIGEST).unwrap(),
        "sha256-old-entry-like".into(),
    ];
    expected.sort();
    let other = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    cache.put(other, &sample()).unwrap();
    expected.push(entry_name(other).unwrap());
    expected.sort();
    assert_eq!(names(&cache), expected);
}
