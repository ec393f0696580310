//! Benchmarks of the hot paths: reading a layer blob (decompress, hash, walk the tar), applying
//! layers to the overlay, viewing the filesystem as of layer k, and the waste analysis.
//!
//!     cargo bench --bench hot
//!
//! divan rather than criterion: a fraction of the dependencies and compile time (this project
//! builds on 2 shared cores), and `#[divan::bench(args = ...)]` covers the parameterised cases
//! without boilerplate. Inputs are synthetic and deterministic (no files needed).

use std::io::Write;
use std::sync::LazyLock;

use strata::layer::{self, Kind, LayerScan, ScanOptions, TarEntry};
use strata::overlay::Fs;

fn main() {
    divan::main();
}

const FILES: usize = 20_000;

/// A deterministic layer tar: FILES small files in directories of 100, a few symlinks.
fn layer_tar(files: usize, salt: u64) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut x = salt.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    for i in 0..files {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 200 + (x % 1000) as usize;
        let data: Vec<u8> = (0..len).map(|j| b"lib usr share "[(j + i) % 14]).collect();
        let mut h = tar::Header::new_ustar();
        h.set_size(len as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        let name = format!("usr/share/p{:03}/d{:05}/f{i:07}.txt", i / 5000, i / 100);
        b.append_data(&mut h, name, &data[..])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    b.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(raw).unwrap_or_else(|e| panic!("{e}"));
    e.finish().unwrap_or_else(|e| panic!("{e}"))
}

static TAR: LazyLock<Vec<u8>> = LazyLock::new(|| layer_tar(FILES, 1));
static GZ: LazyLock<Vec<u8>> = LazyLock::new(|| gzip(&TAR));
static ZST: LazyLock<Vec<u8>> =
    LazyLock::new(|| zstd::encode_all(&TAR[..], 3).unwrap_or_else(|e| panic!("{e}")));

fn read(blob: &[u8], verify: bool) -> LayerScan {
    layer::read_layer(blob, 0, ScanOptions { verify }, None).unwrap_or_else(|e| panic!("{e}"))
}

/// Layer decode: one pass over a blob (decompress, SHA-256 of blob and tar, xxh3, headers).
#[divan::bench(args = ["tar", "gzip", "zstd"], consts = [true, false])]
fn decode<const VERIFY: bool>(bencher: divan::Bencher, kind: &str) {
    let blob: &[u8] = match kind {
        "tar" => &TAR,
        "gzip" => &GZ,
        _ => &ZST,
    };
    bencher
        .counter(divan::counter::BytesCount::new(TAR.len()))
        .bench(|| read(divan::black_box(blob), VERIFY));
}

/// Three layers: a base, a layer rewriting 1% and whiting out 20 directories, a third adding
/// files through a symlinked parent.
static SCANS: LazyLock<Vec<LayerScan>> = LazyLock::new(|| {
    let base = read(&TAR, false);
    let mut upper = LayerScan::new(1);
    for i in (0..FILES).step_by(100) {
        let name = format!("usr/share/p{:03}/d{:05}/f{i:07}.txt", i / 5000, i / 100);
        push(&mut upper, &name, Kind::File, None, 77);
    }
    for d in (0..FILES / 100).step_by(10) {
        let name = format!("usr/share/p{:03}/.wh.d{d:05}", d / 50);
        push(&mut upper, &name, Kind::File, None, 0);
    }
    push(&mut upper, "lib", Kind::Symlink, Some("usr/share"), 0);
    let mut third = LayerScan::new(2);
    for i in 0..FILES / 4 {
        let name = format!("lib/p000/new/f{i:07}.so");
        push(&mut third, &name, Kind::File, None, 5);
    }
    vec![base, upper, third]
});

fn push(scan: &mut LayerScan, name: &str, kind: Kind, link: Option<&str>, size: u64) {
    let e = TarEntry {
        path: name.as_bytes().to_vec(),
        link: link.map(|l| l.as_bytes().to_vec()),
        kind,
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime: 0,
        size,
    };
    scan.push(&e, size.wrapping_mul(31))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn build() -> Fs {
    let mut fs = Fs::new();
    for s in SCANS.iter() {
        fs.apply(s);
    }
    fs.finish();
    fs
}

static FS: LazyLock<Fs> = LazyLock::new(build);

/// Overlay apply: every layer of SCANS onto an empty filesystem.
#[divan::bench]
fn apply(bencher: divan::Bencher) {
    let entries: usize = SCANS.iter().map(|s| s.entries.len()).sum();
    bencher
        .counter(divan::counter::ItemsCount::new(entries))
        .bench(build);
}

/// View of layer k: the state of every node as of layer k (what a full listing costs).
#[divan::bench(args = [0, 1, 2])]
fn state_at(k: usize) -> usize {
    let fs = &*FS;
    fs.node_ids()
        .filter(|&n| fs.state_at(n, k).is_some())
        .count()
}

/// The changes of layer k: its nodes and their events.
#[divan::bench(args = [0, 1, 2])]
fn layer_changes(k: usize) -> usize {
    let fs = &*FS;
    fs.layer(k)
        .nodes
        .iter()
        .filter(|&&n| fs.event_at(n, k).is_some())
        .count()
}

/// Filter: the nodes whose path contains a string (what the TUI's ctrl+f does).
#[divan::bench]
fn filter() -> usize {
    let fs = &*FS;
    fs.node_ids()
        .filter(|&n| fs.name(n).windows(4).any(|w| w == b"0042"))
        .count()
}

/// The exact waste analysis and dive's metrics over the whole history.
#[divan::bench]
fn waste() -> u64 {
    let fs = &*FS;
    let w = strata::analysis::waste::compute(fs);
    let d = strata::analysis::dive::compute(fs);
    divan::black_box(&d);
    divan::black_box(&w);
    fs.objects().len() as u64
}
