//! `strata verify`: every check strata makes on an image's bytes, run to the end instead of
//! stopping at the first problem, as data: what was checked on each document and layer, and
//! every problem found. The words are the printers'.

use serde::Serialize;

use crate::engine::Loaded;
use crate::layer::Compression;

/// Schema name of the JSON document.
pub const SCHEMA: &str = "strata.verify/v1";

/// One checked thing: a layer, or the documents that lead to the layers.
#[derive(Debug, Clone, Serialize)]
pub struct LayerCheck {
    pub index: usize,
    /// The manifest's digest of the blob, or its place in the archive when it has none.
    pub blob: String,
    pub diff_id: Option<String>,
    pub compression: Compression,
    pub compressed_bytes: u64,
    pub tar_bytes: u64,
    /// Tar entries read (whiteouts included).
    pub entries: u64,
    /// What was checked, in the order of the reading: `blob digest`, `blob size`,
    /// `gzip CRC-32 and length`, `zstd frames`, `tar structure`, `diff_id`.
    pub checked: Vec<&'static str>,
    /// What was wrong; empty when every check passed.
    pub problems: Vec<String>,
    /// Entries a runtime would refuse to unpack (strata skipped them).
    pub warnings: Vec<String>,
}

/// The whole verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub schema: &'static str,
    /// Which image; its fields sit at the top level of the JSON.
    #[serde(flatten)]
    pub identity: crate::image::Identity,
    /// No problem anywhere.
    pub ok: bool,
    /// Problems of the index, manifest or config (digest or size mismatches gone past).
    pub documents: Vec<String>,
    pub layers: Vec<LayerCheck>,
    /// Problems found: the documents' and the layers' together.
    pub problems: usize,
}

impl Verification {
    /// The verdict on an image loaded with [`crate::engine::LoadOptions::keep_going`].
    pub fn new(loaded: &Loaded) -> Verification {
        let image = &loaded.image;
        let documents: Vec<String> = loaded
            .problems
            .iter()
            .filter(|p| p.layer.is_none())
            .map(|p| p.message.clone())
            .collect();
        let layers: Vec<LayerCheck> = image
            .layers
            .iter()
            .zip(&loaded.scans)
            .map(|(layer, scan)| {
                let i = layer.index;
                let facts = (i < loaded.fs.layer_count()).then(|| loaded.fs.layer(i));
                let mut checked = Vec::new();
                if layer.digest.is_some() {
                    checked.push("blob digest");
                }
                if layer.size.is_some() {
                    checked.push("blob size");
                }
                match scan.compression {
                    Compression::Gzip => checked.push("gzip CRC-32 and length"),
                    Compression::Zstd => checked.push("zstd frames"),
                    Compression::None => {}
                }
                checked.push("tar structure");
                if layer.diff_id.is_some() {
                    checked.push("diff_id");
                }
                LayerCheck {
                    index: i,
                    blob: layer
                        .digest
                        .clone()
                        .unwrap_or_else(|| layer.location.clone()),
                    diff_id: layer.diff_id.clone(),
                    compression: scan.compression,
                    compressed_bytes: scan.compressed_size,
                    tar_bytes: scan.tar_size,
                    entries: facts.map_or(0, |f| f.entries),
                    checked,
                    problems: loaded
                        .problems
                        .iter()
                        .filter(|p| p.layer == Some(i))
                        .map(|p| p.message.clone())
                        .collect(),
                    warnings: facts.map(|f| f.warnings.clone()).unwrap_or_default(),
                }
            })
            .collect();
        let problems = documents.len() + layers.iter().map(|l| l.problems.len()).sum::<usize>();
        Verification {
            schema: SCHEMA,
            identity: image.identity(),
            ok: problems == 0,
            documents,
            layers,
            problems,
        }
    }
}
