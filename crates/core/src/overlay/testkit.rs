//! Layers written by hand for tests: a small entry language and a builder.
#![allow(clippy::unwrap_used)] // test code: a builder of hand-written layers, never given input

use super::Fs;
use crate::layer::{Kind, LayerScan, TarEntry};

/// A layer entry written by hand.
#[derive(Debug, Clone)]
pub enum E {
    File(&'static str, &'static str),
    FileMode(&'static str, &'static str, u32),
    Dir(&'static str),
    DirMode(&'static str, u32),
    Sym(&'static str, &'static str),
    Hard(&'static str, &'static str),
    /// `.wh.` marker for the path.
    Wh(&'static str),
    /// `.wh..wh..opq` in the directory.
    Opq(&'static str),
}

pub fn entry(e: &E) -> (TarEntry, u64) {
    let mut t = TarEntry {
        mtime: 1,
        ..TarEntry::default()
    };
    let mut hash = 0;
    match e {
        E::File(p, c) | E::FileMode(p, c, _) => {
            t.path = p.as_bytes().to_vec();
            t.size = c.len() as u64;
            hash = twox_hash::XxHash3_64::oneshot(c.as_bytes());
            if let E::FileMode(_, _, m) = e {
                t.mode = *m;
            }
        }
        E::Dir(p) | E::DirMode(p, _) => {
            t.path = p.as_bytes().to_vec();
            t.kind = Kind::Dir;
            t.mode = if let E::DirMode(_, m) = e { *m } else { 0o755 };
        }
        E::Sym(p, target) | E::Hard(p, target) => {
            t.path = p.as_bytes().to_vec();
            t.kind = if matches!(e, E::Sym(..)) {
                Kind::Symlink
            } else {
                Kind::Hardlink
            };
            t.link = Some(target.as_bytes().to_vec());
        }
        E::Wh(p) => {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
            t.path = format!("{dir}/.wh.{name}").into_bytes();
        }
        E::Opq(dir) => t.path = format!("{dir}/.wh..wh..opq").into_bytes(),
    }
    (t, hash)
}

pub fn layer(entries: &[E]) -> LayerScan {
    let mut scan = LayerScan::new(0);
    for e in entries {
        let (t, h) = entry(e);
        scan.push(&t, h).unwrap();
    }
    scan
}

pub fn build(layers: &[&[E]]) -> Fs {
    let mut fs = Fs::new();
    for l in layers {
        fs.apply(&layer(l));
    }
    fs.finish();
    fs
}
