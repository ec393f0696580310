//! Entry points for the fuzz targets in `fuzz/` (`cargo +nightly fuzz run TARGET`): each takes
//! arbitrary bytes and drives one reader of untrusted input the way strata itself does, from
//! memory, so that a crash, a hang or an allocation sized by the input shows up. None of them
//! may panic, whatever the bytes; errors are the expected outcome for most inputs.
#![doc(hidden)]

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::sync::Arc;

use sha2::Digest as _;

use crate::engine::{self, LoadOptions, Progress};
use crate::error::{Error, Result};
use crate::image::Format;
use crate::layer::{self, ScanOptions};
use crate::overlay::Fs;
use crate::source::{BlobStore, Opened};

/// Files held in memory, opened by name: an OCI layout or an archive's members.
#[derive(Debug)]
struct MemStore {
    files: HashMap<String, Vec<u8>>,
}

impl BlobStore for MemStore {
    fn open(&self, location: &str) -> Result<(Box<dyn Read + Send + '_>, u64)> {
        match self.files.get(location) {
            Some(bytes) => Ok((Box::new(Cursor::new(bytes.as_slice())), bytes.len() as u64)),
            None => Err(Error::io(
                location,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not in the store"),
            )),
        }
    }

    fn name(&self) -> &str {
        "fuzz"
    }
}

/// Splits the input at a separator line (`\n--\n`) into documents.
fn documents(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = memchr::memmem::find(rest, b"\n--\n") {
        out.push(&rest[..at]);
        rest = &rest[at + 4..];
    }
    out.push(rest);
    out
}

/// Reads and analyses a loaded image; errors are fine, panics are not.
fn load_and_analyse(opened: Opened) {
    let options = LoadOptions {
        threads: 1,
        ..LoadOptions::default()
    };
    if let Ok(loaded) = engine::load(opened, &options, &Progress::default()) {
        let _ = crate::analysis::Analysis::new(&loaded);
    }
}

/// Layers: the input split into up to four layer blobs (any compression), each read in one
/// pass and applied on top of the others, then the waste and dive metrics computed.
pub fn layers(data: &[u8]) {
    let mut fs = Fs::new();
    let mut applied = 0;
    for blob in documents(data).into_iter().take(4) {
        let Ok(scan) = layer::read_layer(blob, applied, ScanOptions::default(), None) else {
            continue;
        };
        fs.apply(&scan);
        applied += 1;
    }
    fs.finish();
    let _ = crate::analysis::waste::compute(&fs);
    let _ = crate::analysis::dive::compute(&fs);
}

/// Decompression framing alone: a blob opened as a layer stream and read to its end.
pub fn decompress(data: &[u8]) {
    if let Ok((_, mut stream)) = layer::decode::open_layer(data, true, None) {
        let _ = layer::decode::drain(&mut stream);
    }
}

/// The streaming content hash (`layer::xxh3`, hand-written SIMD) against twox-hash's one-shot
/// XXH3 of the same bytes: the first eight bytes say where the rest is cut (a file's content
/// arrives in pieces wherever the reader's buffers end). Unlike the others this target panics
/// on a finding: a hash that differs from the reference.
pub fn content_hash(data: &[u8]) {
    let (cuts, content) = data.split_at(data.len().min(8));
    let mut hash = layer::xxh3::Xxh3::new();
    let mut rest = content;
    for &cut in cuts {
        // Pieces of up to ~2 KiB, empty ones included, so that every buffer state is reached.
        let (piece, after) = rest.split_at((usize::from(cut) * 8).min(rest.len()));
        hash.update(piece);
        rest = after;
    }
    hash.update(rest);
    assert_eq!(
        hash.digest(),
        twox_hash::XxHash3_64::oneshot(content),
        "{} bytes cut at {cuts:?}",
        content.len()
    );
}

/// An OCI layout in memory: the first document is `index.json`, every other one a blob stored
/// under its own sha256 (so that the documents can name each other), then the image loaded.
pub fn oci_layout(data: &[u8]) {
    let docs = documents(data);
    let mut files = HashMap::new();
    files.insert("index.json".to_string(), docs[0].to_vec());
    files.insert(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    for doc in &docs[1..] {
        let hex = layer::decode::hex(&sha2::Sha256::digest(doc));
        files.insert(format!("blobs/sha256/{hex}"), doc.to_vec());
    }
    let store = Arc::new(MemStore { files });
    if let Ok(opened) = crate::source::oci_load_for_fuzzing(store, Format::OciLayout) {
        load_and_analyse(opened);
    }
}

/// A `docker save` (or oci-archive) stream: the outer tar walked once, its layers read as they
/// pass, the image resolved and loaded.
pub fn archive_stream(data: &[u8]) {
    if let Ok(opened) = crate::source::stream_load_for_fuzzing(data) {
        load_and_analyse(opened);
    }
}

/// A `.dive-ci` file.
pub fn dive_ci(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::ci::parse_file_for_fuzzing(text);
    }
}

/// A `keys.conf` file.
pub fn keymap(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut keymap = crate::tui::keymap::Keymap::default();
        let _ = keymap.apply_config(std::path::Path::new("keys.conf"), text);
    }
}

/// An image reference (`docker://HOST/REPO:TAG@DIGEST`) and a `WWW-Authenticate` challenge.
pub fn registry_text(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        crate::source::registry_parse_for_fuzzing(text);
    }
}
