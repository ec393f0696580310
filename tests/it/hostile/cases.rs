//! The hostile inputs of the security issue, each written into a directory by a deterministic
//! generator, with the outcome strata must give: read as a runtime reads it (and what must
//! then be seen), or refused with one line that names the thing and says what is wrong.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::tarcraft::{BLOCK, Header, end, entry, padded, pax_record};
use crate::fixtures::digest::{Sha256Stream, sha256};
use crate::fixtures::layout::{CONFIG, GZIP_LAYER, INDEX, MANIFEST, Oci};
use crate::fixtures::tar::{E, tar_of};

/// What strata must do with a case.
pub enum Outcome {
    /// Read it (exit 0 or 1): the JSON analysis must pass the check.
    Reads(fn(&Value) -> Result<(), String>),
    /// Refuse it: exit 2, one stderr line holding every needle.
    Refused(&'static [&'static str]),
}

/// One hostile input: how to run strata on it, and what must come out.
pub struct Case {
    pub name: &'static str,
    /// Arguments after `strata analyze --format json`; `{}` is replaced by the case's path.
    pub args: Vec<String>,
    /// Bytes for standard input, when the image is read from a pipe.
    pub stdin: Option<PathBuf>,
    pub outcome: Outcome,
}

/// A tar of regular files.
fn files_tar(files: &[(&str, &[u8])]) -> Vec<u8> {
    let entries: Vec<E<'_>> = files.iter().map(|(n, d)| E::File(n, 0o644, d)).collect();
    tar_of(&entries)
}

/// The 100 kB file an attacker hides.
const HIDDEN: usize = 100_000;

fn hidden_entry() -> Vec<u8> {
    let mut out = Vec::new();
    let data: Vec<u8> = (0..HIDDEN).map(|i| (i % 251) as u8).collect();
    entry(
        &mut out,
        &Header::new(b"usr/bin/hidden", b'0', HIDDEN as u64),
        &data,
    );
    out
}

/// A header-only entry of `kind` whose size field covers a whole file entry: runtimes read
/// the file; strata must see it.
fn hide_after(kind: u8) -> Vec<u8> {
    let hidden = hidden_entry();
    let mut out = Vec::new();
    let mut h = Header::new(b"cover", kind, hidden.len() as u64);
    if matches!(kind, b'1' | b'2') {
        h = h.link(b"usr");
    }
    if kind == b'1' {
        entry(&mut out, &Header::new(b"usr", b'5', 0), &[]);
    }
    out.extend_from_slice(&h.bytes());
    out.extend_from_slice(&hidden);
    end(&mut out);
    out
}

fn sees_hidden_file(v: &Value) -> Result<(), String> {
    let shipped = v["image"]["shipped_bytes"].as_u64().unwrap_or(0);
    if shipped == HIDDEN as u64 {
        Ok(())
    } else {
        Err(format!(
            "shipped_bytes {shipped}, not the hidden file's {HIDDEN}"
        ))
    }
}

fn reads_anything(_: &Value) -> Result<(), String> {
    Ok(())
}

/// A `docker save` archive (legacy): `manifest.json`, a config, and layer members; `links`
/// adds members that are symlinks to the first layer, listed as layers too.
fn docker_save(layer: &[u8], links: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": vec![sha256(layer); links + 1]},
    })
    .to_string();
    let config_name = format!("{}.json", &sha256(config.as_bytes())[7..]);
    let mut layers = vec!["l0/layer.tar".to_string()];
    entry(
        &mut out,
        &Header::new(b"l0/layer.tar", b'0', layer.len() as u64),
        layer,
    );
    for i in 1..=links {
        let name = format!("l{i}/layer.tar");
        entry(
            &mut out,
            &Header::new(name.as_bytes(), b'2', 0).link(b"../l0/layer.tar"),
            &[],
        );
        layers.push(name);
    }
    entry(
        &mut out,
        &Header::new(config_name.as_bytes(), b'0', config.len() as u64),
        config.as_bytes(),
    );
    let manifest =
        json!([{"Config": config_name, "RepoTags": ["hostile:latest"], "Layers": layers}])
            .to_string();
    entry(
        &mut out,
        &Header::new(b"manifest.json", b'0', manifest.len() as u64),
        manifest.as_bytes(),
    );
    end(&mut out);
    out
}

/// An outer archive that opens with an extension header claiming 1.5 GiB.
fn huge_extension_archive(kind: u8) -> Vec<u8> {
    let mut out = Header::new(b"././@LongLink", kind, 3 << 29)
        .bytes()
        .to_vec();
    out.extend_from_slice(&[b'a'; BLOCK]);
    out
}

/// Writes every case under `dir` and returns them.
pub fn all(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let mut add = |name: &'static str, args: Vec<String>, stdin: Option<PathBuf>, outcome| {
        cases.push(Case {
            name,
            args,
            stdin,
            outcome,
        });
    };

    // A file hidden in the "data" of a header-only entry: every runtime unpacks it.
    for (name, kind) in [
        ("hide-after-dir", b'5'),
        ("hide-after-symlink", b'2'),
        ("hide-after-hardlink", b'1'),
        ("hide-after-chardev", b'3'),
        ("hide-after-blockdev", b'4'),
        ("hide-after-fifo", b'6'),
    ] {
        Oci::new(&dir.join(name)).image(&[&hide_after(kind)]);
        add(
            name,
            vec![path(name)],
            None,
            Outcome::Reads(sees_hidden_file),
        );
    }
    // An old-style directory (type \0, name ending in /) with a size.
    {
        let mut t = Header::new(b"olddir/", 0, hidden_entry().len() as u64)
            .bytes()
            .to_vec();
        t.extend_from_slice(&hidden_entry());
        end(&mut t);
        Oci::new(&dir.join("hide-after-old-dir")).image(&[&t]);
        add(
            "hide-after-old-dir",
            vec![path("hide-after-old-dir")],
            None,
            Outcome::Reads(sees_hidden_file),
        );
    }
    // An unknown type carries data: a header inside it is not an entry.
    {
        let decoy = files_tar(&[("decoy", &[7u8; 5000])]);
        let mut t = Vec::new();
        entry(
            &mut t,
            &Header::new(b"dumpdir", b'D', decoy.len() as u64),
            &decoy,
        );
        t.extend_from_slice(&hidden_entry());
        end(&mut t);
        Oci::new(&dir.join("unknown-type-data")).image(&[&t]);
        add(
            "unknown-type-data",
            vec![path("unknown-type-data")],
            None,
            Outcome::Reads(sees_hidden_file),
        );
    }
    // A header whose checksum is the signed byte sum is valid.
    {
        let mut t = Vec::new();
        let mut h = Header::new("usr/bin/caf\u{e9}".as_bytes(), b'0', HIDDEN as u64);
        h.signed_checksum = true;
        let data = vec![1u8; HIDDEN];
        entry(&mut t, &h, &data);
        end(&mut t);
        Oci::new(&dir.join("signed-checksum")).image(&[&t]);
        add(
            "signed-checksum",
            vec![path("signed-checksum")],
            None,
            Outcome::Reads(sees_hidden_file),
        );
    }
    // Indexes nested 7 deep, each listing its child 1,000 times.
    {
        let oci = Oci::new(&dir.join("nested-indexes"));
        let mut desc = oci.image(&[&files_tar(&[("f", b"x")])]);
        for _ in 0..7 {
            let index =
                json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": vec![desc; 1000]});
            desc = oci.blob(INDEX, index.to_string().as_bytes());
        }
        oci.index(&vec![desc; 1000]);
        add(
            "nested-indexes",
            vec![path("nested-indexes")],
            None,
            Outcome::Reads(reads_anything),
        );
    }
    // An index of 70,000 platforms, none of them the host's.
    {
        let oci = Oci::new(&dir.join("platforms-70000"));
        let m = oci.image(&[&files_tar(&[("f", b"x")])]);
        let entries: Vec<Value> = (0..70_000)
            .map(|i| {
                let mut d = m.clone();
                d["digest"] = json!(format!("sha256:{i:064x}"));
                d["platform"] = json!({"os": "linux", "architecture": format!("arch{i}")});
                d
            })
            .collect();
        oci.index(&entries);
        add(
            "platforms-70000",
            vec![
                path("platforms-70000"),
                "--platform".into(),
                "linux/s390x".into(),
            ],
            None,
            Outcome::Refused(&["platform linux/s390x", "more"]),
        );
    }
    // Extension headers claiming 1.5 GiB in the outer archive.
    for (name, kind) in [("outer-long-name.tar", b'L'), ("outer-pax.tar", b'x')] {
        fs::write(dir.join(name), huge_extension_archive(kind)).unwrap();
        // The 1.5 GiB it claims are there (a sparse file: no disk is used).
        let file = fs::OpenOptions::new()
            .write(true)
            .open(dir.join(name))
            .unwrap();
        file.set_len(BLOCK as u64 + (3 << 29) + 2 * BLOCK as u64)
            .unwrap();
        add(name, vec![path(name)], None, Outcome::Refused(&["limit"]));
    }
    // docker save on stdin, 200 symlink members to one layer of 20,000 files.
    {
        let names: Vec<String> = (0..20_000).map(|i| format!("d{}/f{i}", i % 100)).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        fs::write(
            dir.join("stdin-200-links.tar"),
            docker_save(&files_tar(&files), 200),
        )
        .unwrap();
        add(
            "stdin-200-links",
            vec!["-".into()],
            Some(dir.join("stdin-200-links.tar")),
            Outcome::Refused(&["repeats layer 0", "1000000"]),
        );
    }
    // Symlink targets of 1 MiB chained 40 deep.
    {
        let mut t = Vec::new();
        // Just under the 1 MiB cap on a PAX header.
        let long = "a/".repeat((1 << 19) - 64);
        for i in 0..40 {
            let target = format!("/l{}/{long}", i + 1);
            let mut h = Header::new(format!("l{i}").as_bytes(), b'2', 0);
            h.link = b"x".to_vec();
            let pax = pax_record("linkpath", target.as_bytes());
            entry(&mut t, &Header::new(b"pax", b'x', pax.len() as u64), &pax);
            entry(&mut t, &h, &[]);
        }
        entry(&mut t, &Header::new(b"l0/file", b'0', 1), b"z");
        end(&mut t);
        Oci::new(&dir.join("symlink-chain-1mib")).image(&[&t]);
        add(
            "symlink-chain-1mib",
            vec![path("symlink-chain-1mib")],
            None,
            Outcome::Reads(reads_anything),
        );
    }
    // 20,000 entries under one chain of 40 longest-possible symlinks.
    {
        let mut t = Vec::new();
        let long = "d/".repeat(2000);
        entry(
            &mut t,
            &Header::new(long.trim_end_matches('/').as_bytes(), b'5', 0),
            &[],
        );
        for i in 0..40 {
            let target = if i == 39 {
                long.clone()
            } else {
                format!("s{}/", i + 1)
            };
            let pax = pax_record("linkpath", target.as_bytes());
            entry(&mut t, &Header::new(b"pax", b'x', pax.len() as u64), &pax);
            entry(
                &mut t,
                &Header::new(format!("s{i}").as_bytes(), b'2', 0).link(b"x"),
                &[],
            );
        }
        for i in 0..20_000 {
            entry(
                &mut t,
                &Header::new(format!("s1/sub{i}/f").as_bytes(), b'0', 1),
                b"z",
            );
        }
        end(&mut t);
        Oci::new(&dir.join("entries-under-long-symlinks")).image(&[&t]);
        add(
            "entries-under-long-symlinks",
            vec![path("entries-under-long-symlinks")],
            None,
            Outcome::Reads(reads_anything),
        );
    }
    // One 20,000-path blob listed as a layer 2,000 times.
    {
        let names: Vec<String> = (0..20_000).map(|i| format!("d{}/f{i}", i % 100)).collect();
        let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let blob = files_tar(&files);
        Oci::new(&dir.join("blob-listed-2000-times")).image(&vec![blob.as_slice(); 2000]);
        add(
            "blob-listed-2000-times",
            vec![path("blob-listed-2000-times")],
            None,
            Outcome::Refused(&["repeats layer 0", "1000000"]),
        );
    }
    // A layer blob that is a FIFO, and one that is a link to /dev/zero.
    {
        let oci = Oci::new(&dir.join("blob-fifo"));
        let layer = files_tar(&[("f", b"x")]);
        let desc = oci.image(&[&layer]);
        let _ = desc;
        let blob = oci.dir.join("blobs/sha256").join(&sha256(&layer)[7..]);
        fs::remove_file(&blob).unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(&blob)
            .status()
            .unwrap();
        assert!(status.success());
        add(
            "blob-fifo",
            vec![path("blob-fifo")],
            None,
            Outcome::Refused(&["a FIFO"]),
        );
        let oci = Oci::new(&dir.join("blob-dev-zero"));
        oci.image(&[&layer]);
        let blob = oci.dir.join("blobs/sha256").join(&sha256(&layer)[7..]);
        fs::remove_file(&blob).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &blob).unwrap();
        add(
            "blob-dev-zero",
            vec![path("blob-dev-zero")],
            None,
            Outcome::Refused(&["leaves the image directory"]),
        );
    }
    // More layers than the 16-bit layer index counts.
    {
        let empty = padded(&[]);
        let mut e = empty.clone();
        end(&mut e);
        Oci::new(&dir.join("layers-65536")).image(&vec![e.as_slice(); 65_536]);
        add(
            "layers-65536",
            vec![path("layers-65536")],
            None,
            Outcome::Refused(&["65536 layers", "at most 65535"]),
        );
    }
    // A gzip bomb: 512 MiB of zeros in one file, half a MB compressed.
    {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let size: u64 = 512 << 20;
        gz.write_all(&Header::new(b"zeros", b'0', size).bytes())
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..size >> 20 {
            gz.write_all(&zeros).unwrap();
        }
        gz.write_all(&[0u8; 2 * BLOCK]).unwrap();
        let blob = gz.finish().unwrap();
        let oci = Oci::new(&dir.join("gzip-bomb-512mib"));
        let desc = oci.blob(GZIP_LAYER, &blob);
        // The diff_id is the tar's digest: computed here by streaming, as the config holds it.
        let mut sha = Sha256Stream::new();
        sha.update(Header::new(b"zeros", b'0', size).bytes());
        for _ in 0..size >> 20 {
            sha.update(&zeros);
        }
        sha.update([0u8; 2 * BLOCK]);
        let diff_id = sha.finish();
        let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [diff_id]}});
        let config = oci.blob(CONFIG, config.to_string().as_bytes());
        let manifest =
            json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": config, "layers": [desc]});
        let m = oci.blob(MANIFEST, manifest.to_string().as_bytes());
        oci.index(&[m]);
        add(
            "gzip-bomb-512mib",
            vec![path("gzip-bomb-512mib")],
            None,
            Outcome::Reads(|v| match v["image"]["shipped_bytes"].as_u64() {
                Some(n) if n == 512 << 20 => Ok(()),
                other => Err(format!("shipped_bytes {other:?}")),
            }),
        );
    }
    cases
}
