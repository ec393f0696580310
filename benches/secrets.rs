//! The secrets search (`layer/secrets.rs`) on realistic mixes of files, beside what the read of
//! a layer already does to every file (its xxh3), and the whole read of the same files as one
//! layer, which includes the search:
//!
//!     cargo bench --bench secrets
//!
//! The files are real: `text` is this repository's own sources and documents (Rust, Markdown,
//! JSON, shell, Python: code and prose, 1 KB to 100 KB, as a package's files are); `small` the
//! same bytes in files of 100 B to 2 KB (`node_modules`), `600B` and `40B` in files the size of
//! the bench's path-heavy images (`small`, `million`), `words` files of 300 to 900 bytes of
//! the words bench/gen.py writes into `small`; `binary` is this bench's executable cut into
//! files of 2 KB to 512 KB (ELF code and data, which the NUL probe turns away); `mix` a
//! Debian-like image by bytes: 30 % text, 70 % binaries, shuffled. Files that hold a secret (the
//! tests' fakes) are left out: the measure is the path nearly every file takes. divan as in
//! `hot.rs` (not criterion: a fraction of the build), with its allocation profiler: the search
//! allocates nothing per file (no allocation is reported for `search`).

use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

use strata::layer::secrets::{FileScanner, Secrets};
use strata::layer::{self, ScanOptions};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// Files as a layer ships them: (tar name, content).
struct Corpus {
    files: Vec<(String, Vec<u8>)>,
    bytes: usize,
}

impl Corpus {
    fn new(files: Vec<(String, Vec<u8>)>) -> Corpus {
        let bytes = files.iter().map(|f| f.1.len()).sum();
        Corpus { files, bytes }
    }
}

/// Whether the search finds nothing in the file (the corpus keeps only those).
fn clean(name: &str, content: &[u8]) -> bool {
    let mut s = FileScanner::new();
    let mut out = Secrets::default();
    if s.start(name.as_bytes(), content.len() as u64) {
        s.feed(content);
    }
    s.finish(name.as_bytes(), 0, &mut out);
    s.end(&mut out);
    out.hits().is_empty()
}

/// Every text file under `dir` (sorted, so the corpus is the same on every run).
fn texts(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            texts(&p, out);
            continue;
        }
        let text = ["rs", "md", "json", "toml", "sh", "py", "yml", "yaml"]
            .iter()
            .any(|e| p.extension().is_some_and(|x| x == *e));
        if let (true, Ok(bytes)) = (text, std::fs::read(&p)) {
            let name = format!("usr/share/doc/strata/{}", p.display());
            if !bytes.is_empty() && clean(&name, &bytes) {
                out.push((name, bytes));
            }
        }
    }
}

static TEXT: LazyLock<Corpus> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "src",
        "crates/core/src",
        "docs",
        "tests",
        "benches",
        "bench",
        "fuzz",
    ] {
        texts(&root.join(dir), &mut files);
    }
    Corpus::new(files)
});

/// A deterministic xorshift.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// 2 KB to 512 KB, log-uniform.
    fn size(&mut self) -> usize {
        let bits = 11 + (self.next() % 9) as u32;
        (1usize << bits) + (self.next() as usize % (1usize << bits))
    }
}

/// `bytes` of this executable in files of 2 KB to 512 KB.
fn binaries(bytes: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let exe = std::fs::read(std::env::current_exe().expect("exe")).expect("read exe");
    let mut rng = Rng(seed);
    let mut files = Vec::new();
    let (mut at, mut total) = (0usize, 0usize);
    while total < bytes {
        let n = rng.size().min(bytes - total);
        if at + n > exe.len() {
            at = 0;
        }
        files.push((
            format!("usr/lib/x86_64-linux-gnu/lib{}.so", files.len()),
            exe[at..at + n].to_vec(),
        ));
        at += n;
        total += n;
    }
    files
}

static BINARY: LazyLock<Corpus> = LazyLock::new(|| Corpus::new(binaries(16 << 20, 7)));

/// 30 % text, 70 % binaries by bytes, shuffled.
static MIX: LazyLock<Corpus> = LazyLock::new(|| {
    let text = &TEXT.files;
    let mut files: Vec<(String, Vec<u8>)> = text.clone();
    files.extend(binaries(TEXT.bytes * 7 / 3, 11));
    let mut rng = Rng(3);
    for i in (1..files.len()).rev() {
        files.swap(i, rng.next() as usize % (i + 1));
    }
    Corpus::new(files)
});

/// The text cut into files of 100 B to 2 KB, as `node_modules` and the bench's million-path
/// image hold them: what each file costs beyond its bytes.
static SMALL: LazyLock<Corpus> = LazyLock::new(|| {
    let all: Vec<u8> = TEXT
        .files
        .iter()
        .flat_map(|f| f.1.iter().copied())
        .collect();
    let mut rng = Rng(5);
    let mut files = Vec::new();
    let mut at = 0;
    while at < all.len() {
        let n = (100 + rng.next() as usize % 1900).min(all.len() - at);
        let name = format!(
            "app/node_modules/m{}/lib/f{}.js",
            files.len() / 50,
            files.len()
        );
        files.push((name, all[at..at + n].to_vec()));
        at += n;
    }
    Corpus::new(files)
});

/// The text cut into files of `size` bytes on average (half to one and a half), as the bench's
/// path-heavy images hold them: `small` 600 B, `million` 40 B.
fn cut(size: usize, seed: u64) -> Corpus {
    let all: Vec<u8> = TEXT
        .files
        .iter()
        .flat_map(|f| f.1.iter().copied())
        .collect();
    let mut rng = Rng(seed);
    let mut files = Vec::new();
    let mut at = 0;
    while at < all.len() && files.len() < 200_000 {
        let n = (size / 2 + rng.next() as usize % (size + 1)).min(all.len() - at);
        let name = format!(
            "usr/share/pkg{:04}/d{:05}/f{:07}.txt",
            files.len() / 5000,
            files.len() / 100,
            files.len()
        );
        files.push((name, all[at..at + n].to_vec()));
        at += n;
    }
    Corpus::new(files)
}

static F600: LazyLock<Corpus> = LazyLock::new(|| cut(600, 9));

/// Files of 300 to 900 bytes of the words bench/gen.py writes into the `small` image
/// (`alpha beta … value`, a newline in ten): what `bench/run.sh small` reads.
static WORDS: LazyLock<Corpus> = LazyLock::new(|| {
    let words: [&[u8]; 15] = [
        b"alpha",
        b"beta",
        b"gamma",
        b"delta",
        b"lib",
        b"usr",
        b"share",
        b"0123456789",
        b"static",
        b"const",
        b"return",
        b"include",
        b"struct",
        b"error",
        b"value",
    ];
    let mut rng = Rng(17);
    let mut text = Vec::new();
    while text.len() < 4 << 20 {
        text.extend_from_slice(words[rng.next() as usize % words.len()]);
        text.push(if rng.next().is_multiple_of(10) {
            b'\n'
        } else {
            b' '
        });
    }
    let mut files = Vec::new();
    let mut at = 0;
    while at + 900 < text.len() {
        let n = 300 + rng.next() as usize % 601;
        let name = format!(
            "usr/share/pkg{:04}/d{:05}/f{:07}.txt",
            files.len() / 5000,
            files.len() / 100,
            files.len()
        );
        files.push((name, text[at..at + n].to_vec()));
        at += n;
    }
    Corpus::new(files)
});
static F40: LazyLock<Corpus> = LazyLock::new(|| cut(40, 13));

fn corpus(kind: &str) -> &'static Corpus {
    match kind {
        "text" => &TEXT,
        "binary" => &BINARY,
        "small" => &SMALL,
        "600B" => &F600,
        "40B" => &F40,
        "words" => &WORDS,
        _ => &MIX,
    }
}

/// The search of every file, as the reader runs it (each file whole, as nearly all arrive).
#[divan::bench(args = ["text", "small", "600B", "40B", "words", "binary", "mix"])]
fn search(bencher: divan::Bencher, kind: &str) {
    let c = corpus(kind);
    let mut s = FileScanner::new();
    let mut out = Secrets::default();
    // Grows the scanner's buffers once, as the first files of a layer do.
    for (name, content) in &c.files {
        if s.start(name.as_bytes(), content.len() as u64) {
            s.feed(content);
        }
        s.finish(name.as_bytes(), 0, &mut out);
    }
    s.end(&mut out);
    bencher
        .counter(divan::counter::BytesCount::new(c.bytes))
        .counter(divan::counter::ItemsCount::new(c.files.len()))
        .bench_local(|| {
            for (name, content) in &c.files {
                if s.start(name.as_bytes(), content.len() as u64) {
                    s.feed(divan::black_box(content));
                }
                s.finish(name.as_bytes(), 0, &mut out);
            }
            s.end(&mut out);
            out.hits().len()
        });
}

/// The same files in pieces of 64 KiB (a file that straddles the reader's buffer is gathered).
#[divan::bench(args = ["text", "mix"])]
fn search_in_pieces(bencher: divan::Bencher, kind: &str) {
    let c = corpus(kind);
    let mut s = FileScanner::new();
    let mut out = Secrets::default();
    let run = |s: &mut FileScanner, out: &mut Secrets| {
        for (name, content) in &c.files {
            if s.start(name.as_bytes(), content.len() as u64) {
                for piece in content.chunks(64 << 10) {
                    s.feed(divan::black_box(piece));
                }
            }
            s.finish(name.as_bytes(), 0, out);
        }
        s.end(out);
        out.hits().len()
    };
    run(&mut s, &mut out);
    bencher
        .counter(divan::counter::BytesCount::new(c.bytes))
        .bench_local(|| run(&mut s, &mut out));
}

/// What the read already does to each file: its xxh3, for scale.
#[divan::bench(args = ["text", "small", "600B", "40B", "binary", "mix"])]
fn xxh3(bencher: divan::Bencher, kind: &str) {
    let c = corpus(kind);
    bencher
        .counter(divan::counter::BytesCount::new(c.bytes))
        .bench_local(|| {
            c.files
                .iter()
                .map(|(_, b)| twox_hash::XxHash3_64::oneshot(divan::black_box(b)))
                .fold(0u64, u64::wrapping_add)
        });
}

fn tar_of(c: &Corpus) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, content) in &c.files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, &content[..])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    b.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

static MIX_TAR: LazyLock<Vec<u8>> = LazyLock::new(|| tar_of(&MIX));
static MIX_GZ: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(&MIX_TAR).unwrap_or_else(|e| panic!("{e}"));
    e.finish().unwrap_or_else(|e| panic!("{e}"))
});

/// The whole read of the mix as one layer (the search included), plain and gzip, without
/// and with the SHA-256 of `analyze`: the search's share of a read is `search/mix` over these.
#[divan::bench(args = ["tar", "gzip"], consts = [false, true])]
fn read<const VERIFY: bool>(bencher: divan::Bencher, kind: &str) {
    let blob: &[u8] = if kind == "tar" { &MIX_TAR } else { &MIX_GZ };
    bencher
        .counter(divan::counter::BytesCount::new(MIX.bytes))
        .bench(|| {
            layer::read_layer(
                divan::black_box(blob),
                0,
                ScanOptions { verify: VERIFY },
                None,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        });
}
