//! The decompression floor: every layer blob of an image read through the same blob store and
//! the same decompressors strata uses, in parallel (largest first) across the cores, with the
//! output thrown away. No tar parsing, no hashing unless `--sha256` (then: blob and tar
//! SHA-256, what verification costs on top). `--tar` also walks every tar header with strata's
//! own walker (contents skipped, nothing kept): the least any tool that lists an image's paths
//! must do. With `--sha256` it costs nothing on the bench's images, the walk hiding behind the
//! tar's SHA-256 on the other core: what strata adds on path-heavy images is not the reading.
//!
//! `--content` (with `--tar`) also hashes every regular file's content with XXH3, as strata
//! does to tell copies apart: the least a reader that must say whose bytes are whose does, and
//! what `--no-verify` is measured against (a 2 GiB file that compresses to almost nothing takes
//! longer to hash than to inflate).
//!
//!     cargo bench --bench floor -- IMAGE [--threads N] [--sha256] [--tar [--content]]
//!
//! Prints one line: `floor <layers> layers <tar bytes> bytes <entries> entries <seconds> s`.
//! bench/run.sh times the process with /usr/bin/time, like every other tool it compares.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use strata::layer::tar::{TarEntry, TarWalker};
use strata::layer::{ContentHash, Kind, decode};
use strata::source::{self, Input, OpenOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut image = None;
    let mut threads = std::thread::available_parallelism().map_or(2, |p| p.get());
    let mut sha = false;
    let mut tar = false;
    let mut content = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--sha256" => sha = true,
            "--tar" => tar = true,
            "--content" => content = true,
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            _ => image = Some(a),
        }
    }
    let image = image.ok_or("usage: floor IMAGE [--threads N] [--sha256] [--tar [--content]]")?;
    if content && !tar {
        return Err("--content walks the tar: give --tar too".into());
    }
    let start = Instant::now();
    let opened = source::open(&Input::parse(&image, None)?, &OpenOptions::default())?;
    let (img, store) = (&opened.image, opened.store.as_ref());
    let mut order: Vec<(u64, usize)> = img
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let size = l
                .size
                .or_else(|| store.open(&l.location).ok().map(|(_, n)| n))
                .unwrap_or(0);
            (size, i)
        })
        .collect();
    order.sort_by_key(|&(s, _)| std::cmp::Reverse(s));
    let next = AtomicUsize::new(0);
    let total = AtomicU64::new(0);
    let entries = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| -> Result<(), String> {
                while let Some(&(_, i)) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let layer = &img.layers[i];
                    let (raw, _) = store.open(&layer.location).map_err(|e| e.to_string())?;
                    // A plain tar's diff_id is its blob digest: strata hashes it once, so does
                    // the floor. Read in place, as strata's tar walker reads.
                    let (compression, mut d) =
                        decode::open_layer(raw, sha, None).map_err(|e| e.to_string())?;
                    if tar {
                        let mut walker = TarWalker::new(d);
                        let mut entry = TarEntry::default();
                        let mut n = 0;
                        while walker.next_into(&mut entry).map_err(|e| e.to_string())? {
                            n += 1;
                            if content && entry.kind == Kind::File {
                                let mut hash = ContentHash::new(entry.size);
                                walker
                                    .read_content(|chunk| hash.update(chunk))
                                    .map_err(|e| e.to_string())?;
                                std::hint::black_box(hash.digest());
                            }
                        }
                        entries.fetch_add(n, Ordering::Relaxed);
                        d = walker.into_inner();
                    }
                    loop {
                        let n = d.fill_buf().map_err(|e| e.to_string())?.len();
                        if n == 0 {
                            break;
                        }
                        d.consume(n);
                        if !tar {
                            total.fetch_add(n as u64, Ordering::Relaxed);
                        }
                    }
                    let digests = d.finish(compression).map_err(|e| e.to_string())?;
                    if tar {
                        total.fetch_add(digests.tar_size, Ordering::Relaxed);
                    }
                }
                Ok(())
            });
        }
    });
    println!(
        "floor {} layers {} bytes {} entries {:.3} s",
        img.layers.len(),
        total.load(Ordering::Relaxed),
        entries.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
