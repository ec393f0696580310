//! Trust: strata reads hostile inputs as runtimes do, within bounded memory and time.
//!
//! - The tar walker against Go's archive/tar (the reader of containerd and moby), GNU tar and
//!   Python's tarfile on generated and mutated archives: the same entries, names, types and
//!   sizes as Go, or a refusal where Go refuses; where GNU tar and Python differ from Go, the
//!   archives are counted and shown.
//! - Every hostile input of `hostile::cases`, run through the binary under a 512 MiB address
//!   space limit (`prlimit --as`) and a 60 s timeout, with the outcome each must have.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::Command;

use strata::layer::Kind;
use strata::layer::tar::TarWalker;

use crate::fixtures::run::BIN;
use crate::hostile;
use crate::hostile::tarcraft::random_archive;

/// One entry as the three readers list it: name (without trailing slashes), kind, and size
/// for regular files, link target for links.
#[derive(Clone, PartialEq, Eq)]
struct Listed {
    name: Vec<u8>,
    kind: &'static str,
    size: u64,
    link: Vec<u8>,
}

impl std::fmt::Debug for Listed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} {} {}",
            String::from_utf8_lossy(&self.name),
            self.kind,
            self.size
        )?;
        if !self.link.is_empty() {
            write!(f, " -> {:?}", String::from_utf8_lossy(&self.link))?;
        }
        Ok(())
    }
}

fn listed(name: &[u8], kind: &'static str, size: u64, link: &[u8]) -> Listed {
    let mut name = name.to_vec();
    while name.len() > 1 && name.last() == Some(&b'/') {
        name.pop();
    }
    Listed {
        name,
        kind,
        size: if kind == "file" { size } else { 0 },
        link: if matches!(kind, "symlink" | "hardlink") {
            link.to_vec()
        } else {
            Vec::new()
        },
    }
}

/// What a reader made of an archive: its entries (of the types strata models) and whether it
/// stopped with an error or a warning.
#[derive(Debug)]
struct Listing {
    entries: Vec<Listed>,
    /// An error or a warning, as the reader put it.
    complaint: Option<String>,
}

fn strata_listing(tar: &[u8]) -> Result<Vec<Listed>, String> {
    let mut walker = TarWalker::new(tar);
    let mut out = Vec::new();
    while let Some(e) = walker.next_entry().map_err(|e| e.to_string())? {
        let kind = match e.kind {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Hardlink => "hardlink",
            Kind::CharDevice => "char",
            Kind::BlockDevice => "block",
            Kind::Fifo => "fifo",
        };
        out.push(listed(
            &e.path,
            kind,
            e.size,
            e.link.as_deref().unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// Python's tarfile on every archive of `dir` (one process for all), as JSON lines.
const PYTHON_LISTER: &str = r#"
import json, sys, tarfile
for path in sys.argv[1:]:
    entries, error = [], None
    try:
        with tarfile.open(path, "r:", encoding="utf-8", errors="surrogateescape") as t:
            for m in t:
                kind = ("file" if m.isreg() else "dir" if m.isdir() else
                        "symlink" if m.issym() else "hardlink" if m.islnk() else
                        "char" if m.ischr() else "block" if m.isblk() else
                        "fifo" if m.isfifo() else None)
                if kind is None:
                    continue
                b = lambda s: s.encode("utf-8", "surrogateescape").hex()
                entries.append([b(m.name), kind, m.size, b(m.linkname)])
            # tarfile stops silently at a bad header after the first: say so.
            t.fileobj.seek(t.offset)
            block = t.fileobj.read(512)
            if block.strip(b"\0"):
                error = "stopped at an invalid header at byte %d" % t.offset
    except Exception as e:
        error = "%s: %s" % (type(e).__name__, e)
    print(json.dumps({"entries": entries, "error": error}))
"#;

fn python_listings(paths: &[std::path::PathBuf]) -> Vec<Listing> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(PYTHON_LISTER)
        .args(paths)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json_listings(&out.stdout)
}

/// The JSON lines of the Python and Go listers.
fn parse_json_listings(stdout: &[u8]) -> Vec<Listing> {
    let hex = |v: &serde_json::Value| -> Vec<u8> {
        let s = v.as_str().unwrap_or_default();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect()
    };
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let kind = |k: &str| -> &'static str {
                [
                    "file", "dir", "symlink", "hardlink", "char", "block", "fifo",
                ]
                .into_iter()
                .find(|x| *x == k)
                .unwrap_or("file")
            };
            let entries = v["entries"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|e| {
                    listed(
                        &hex(&e[0]),
                        kind(e[1].as_str().unwrap()),
                        e[2].as_u64().unwrap_or(0),
                        &hex(&e[3]),
                    )
                })
                .collect();
            Listing {
                entries,
                complaint: v["error"].as_str().map(str::to_string),
            }
        })
        .collect()
}

/// Go's archive/tar (what containerd and moby unpack layers with), built once from
/// `tests/it/hostile/golist/main.go`: one JSON line per archive, like the Python lister.
fn go_listings(paths: &[std::path::PathBuf]) -> Vec<Listing> {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let exe = BUILT.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let exe = tmp.join("golist");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/hostile/golist/main.go");
        let out = Command::new("go")
            .current_dir(tmp)
            .env("GOCACHE", tmp.join("gocache"))
            .env("GOFLAGS", "-mod=mod")
            .env("GO111MODULE", "on")
            .args(["build", "-o"])
            .arg(&exe)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| {
                panic!("go is missing ({e}): apt-get install golang-go (or run bash .ci/setup)")
            });
        assert!(
            out.status.success(),
            "go build: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    });
    let out = Command::new(exe)
        .args(paths)
        .output()
        .expect("the Go lister runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json_listings(&out.stdout)
}

/// Reads a C-quoted string (`"a\nb"`, GNU tar's `--quoting-style=c`) at the start of `s`;
/// returns its bytes and the rest of `s`.
fn unquote(s: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::new();
    let mut i = 1;
    if s.first() != Some(&b'"') {
        return None;
    }
    while i < s.len() {
        match s[i] {
            b'"' => return Some((out, &s[i + 1..])),
            b'\\' => {
                let c = *s.get(i + 1)?;
                i += 2;
                match c {
                    b'0'..=b'7' => {
                        let mut v = u32::from(c - b'0');
                        for _ in 0..2 {
                            match s.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(v as u8);
                    }
                    b'n' => out.push(b'\n'),
                    b't' => out.push(b'\t'),
                    b'r' => out.push(b'\r'),
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'v' => out.push(11),
                    other => out.push(other),
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// GNU tar's verbose listing (`tar -tv --quoting-style=c`), parsed.
fn gnu_listing(path: &Path) -> Listing {
    let out = Command::new("tar")
        .env("LC_ALL", "C")
        .args([
            "--list",
            "--verbose",
            "--numeric-owner",
            "--quoting-style=c",
            "-f",
        ])
        .arg(path)
        .output()
        .expect("GNU tar runs");
    let mut entries = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        // perms owner size date time "name" [-> "target" | link to "target"]
        let mut rest = line;
        let mut fields = Vec::new();
        for _ in 0..5 {
            let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
            rest = &rest[start..];
            let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
            fields.push(&rest[..end]);
            rest = &rest[end..];
        }
        let Some((name, after)) = unquote(rest.strip_prefix(b" ").unwrap_or(rest)) else {
            panic!("unparsed GNU tar line: {}", String::from_utf8_lossy(line));
        };
        let link = after
            .strip_prefix(b" -> ")
            .or_else(|| after.strip_prefix(b" link to "))
            .and_then(unquote)
            .map(|(l, _)| l)
            .unwrap_or_default();
        let kind = match fields[0].first() {
            Some(b'-' | b'C') => "file",
            Some(b'd') => "dir",
            Some(b'l') => "symlink",
            Some(b'h') => "hardlink",
            Some(b'c') => "char",
            Some(b'b') => "block",
            Some(b'p') => "fifo",
            _ => continue,
        };
        let size = std::str::from_utf8(fields[2])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        entries.push(listed(&name, kind, size, &link));
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let complaint = (!out.status.success() || !stderr.is_empty())
        .then(|| format!("exit {:?}: {stderr}", out.status.code()));
    Listing { entries, complaint }
}

/// The tar walker lists what Go's archive/tar lists (the reader runtimes unpack with) on 600
/// generated archives, a tenth of them mutated: the same entries, names, types and sizes, or
/// a refusal where Go refuses. GNU tar and Python are read too: where both read an archive
/// cleanly and agree, strata agrees with them unless Go disagrees with both, and those
/// archives are counted and shown (GNU tar 1.34 skips `size` bytes after a symlink, a device
/// or a FIFO; Python and GNU tar apply a PAX header to the entry after a global header; both
/// stop silently or with a warning at a lone zero block, which Go refuses). Run more with
/// `STRATA_DIFF_CASES=N`; keep the archives with `STRATA_DIFF_KEEP=DIR`.
#[test]
#[ignore = "needs go, python3, GNU tar: bash .ci/setup; run by .ci/run"]
fn tar_walker_lists_what_runtimes_gnu_tar_and_python_list() {
    let cases: u64 = std::env::var("STRATA_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let dir = tempfile::tempdir().unwrap();
    let dir = match std::env::var_os("STRATA_DIFF_KEEP") {
        Some(keep) => {
            std::fs::create_dir_all(&keep).unwrap();
            tempfile::tempdir_in(keep).unwrap().keep()
        }
        None => dir.path().to_path_buf(),
    };
    let paths: Vec<_> = (0..cases)
        .map(|seed| {
            let path = dir.join(format!("{seed}.tar"));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(&random_archive(seed))
                .unwrap();
            path
        })
        .collect();
    let (mut py, mut go) = (Vec::new(), Vec::new());
    for chunk in paths.chunks(200) {
        py.extend(python_listings(chunk));
        go.extend(go_listings(chunk));
    }
    let (mut same, mut refused, mut go_only) = (0, 0, Vec::new());
    for (seed, path) in paths.iter().enumerate() {
        let tar = std::fs::read(path).unwrap();
        let ours = strata_listing(&tar);
        let gnu = gnu_listing(path);
        let (python, go) = (&py[seed], &go[seed]);
        let show = || {
            format!(
                "seed {seed} ({}):\n  strata  {ours:?}\n  Go      {go:?}\n  GNU tar {gnu:?}\n  Python  {python:?}",
                path.display()
            )
        };
        match &go.complaint {
            None => assert_eq!(ours.as_ref().ok(), Some(&go.entries), "{}", show()),
            Some(_) => assert!(ours.is_err(), "Go refuses; {}", show()),
        }
        let references_agree =
            gnu.complaint.is_none() && python.complaint.is_none() && gnu.entries == python.entries;
        if references_agree {
            if ours.as_ref().ok() == Some(&gnu.entries) {
                same += 1;
            } else {
                go_only.push(show());
            }
        } else if gnu.complaint.is_some() && python.complaint.is_some() && ours.is_err() {
            refused += 1;
        }
    }
    eprintln!(
        "{cases} archives: {same} read alike by all four readers, {refused} refused by all, \
         {} read by GNU tar and Python alike but otherwise by Go and strata",
        go_only.len()
    );
    for case in go_only.iter().take(3) {
        eprintln!("{case}");
    }
    assert!(
        same > cases / 5,
        "too few archives every reader reads alike: {same}"
    );
}

/// The most memory and time a hostile input may take.
const MEMORY_LIMIT: u64 = 512 << 20;
const TIME_LIMIT_SECS: u64 = 60;

/// Every hostile case through the binary, under the limits: each read as a runtime reads it
/// (and the check holds) or refused with exit 2 and one line; never killed by a limit.
/// `STRATA_HOSTILE_BIN=PATH` runs another build (an older one, to see the cases fail).
#[test]
#[ignore = "needs /usr/bin/time, prlimit: bash .ci/setup; run by .ci/run"]
fn hostile_inputs_are_read_or_refused_within_limits() {
    let dir = tempfile::tempdir().unwrap();
    let cases = hostile::cases::all(dir.path());
    let mut failures = Vec::new();
    for case in &cases {
        let times = dir.path().join("time.out");
        let mut cmd = Command::new("/usr/bin/time");
        cmd.args(["-f", "%M %e", "-o"])
            .arg(&times)
            .args(["timeout", &TIME_LIMIT_SECS.to_string(), "prlimit"])
            .arg(format!("--as={MEMORY_LIMIT}"))
            .arg("--")
            .arg(std::env::var_os("STRATA_HOSTILE_BIN").unwrap_or(BIN.into()))
            .args(["analyze", "--format", "json"])
            .args(&case.args)
            .env_remove("CI")
            // glibc reserves 64 MiB of address space per thread's arena: keep it to real use.
            .env("MALLOC_ARENA_MAX", "2")
            .current_dir(dir.path());
        match &case.stdin {
            Some(path) => cmd.stdin(std::fs::File::open(path).unwrap()),
            None => cmd.stdin(std::process::Stdio::null()),
        };
        let out = cmd
            .output()
            .expect("/usr/bin/time runs (apt-get install time)");
        let measured = std::fs::read_to_string(&times).unwrap_or_default();
        let mut fields = measured
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace();
        let rss_kib: u64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        let secs: f64 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0.0);
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
        let stderr = stderr
            .lines()
            .filter(|l| !l.starts_with("Command exited with non-zero status"))
            .collect::<Vec<_>>()
            .join("\n");
        // A failing case may print megabytes (an unbounded list): show its start.
        let shown: String = stderr.chars().take(400).collect();
        eprintln!(
            "{:32} exit {code:?}, {} MiB, {secs:.1} s",
            case.name,
            rss_kib >> 10
        );
        let verdict = match &case.outcome {
            _ if code == Some(124) => Err(format!("timed out after {TIME_LIMIT_SECS} s")),
            hostile::cases::Outcome::Refused(needles) => {
                if code != Some(2) {
                    Err(format!("exit {code:?}, not 2; stderr: {shown}"))
                } else if stderr.lines().count() != 1 || needles.iter().any(|n| !stderr.contains(n))
                {
                    Err(format!("stderr is not one line with {needles:?}: {shown}"))
                } else {
                    Ok(())
                }
            }
            hostile::cases::Outcome::Reads(check) => {
                if !matches!(code, Some(0 | 1)) {
                    Err(format!("exit {code:?}; stderr: {shown}"))
                } else {
                    serde_json::from_slice::<serde_json::Value>(&out.stdout)
                        .map_err(|e| format!("no JSON on stdout: {e}"))
                        .and_then(|v| check(&v))
                }
            }
        };
        if let Err(why) = verdict {
            failures.push(format!("{}: {why}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every input kept in `fuzz/regressions/TARGET/` (crashes the fuzzers found, and the
/// minimized corpora they grew) replayed through its target's entry point: none may panic.
/// The targets run on stable here; `fuzz/run.sh` runs them under libFuzzer on nightly.
#[test]
fn fuzz_regressions_replay_without_panics() {
    type Target = (&'static str, fn(&[u8]));
    let targets: [Target; 8] = [
        ("layers", strata::fuzzing::layers),
        ("content_hash", strata::fuzzing::content_hash),
        ("decompress", strata::fuzzing::decompress),
        ("oci_layout", strata::fuzzing::oci_layout),
        ("archive_stream", strata::fuzzing::archive_stream),
        ("dive_ci", strata::fuzzing::dive_ci),
        ("keymap", strata::fuzzing::keymap),
        ("registry_text", strata::fuzzing::registry_text),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for (target, run) in targets {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else {
            continue;
        };
        for file in dir {
            let path = file.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{target}: {} panics", path.display());
            replayed += 1;
        }
    }
    eprintln!("{replayed} fuzz regression inputs replayed");
}
