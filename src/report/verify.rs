//! `strata verify` as text: one line per document and layer, what was checked and what was
//! wrong, then the verdict.

use std::io::{self, Write};

use super::escape;
use crate::analysis::verify::Verification;
use crate::units::{count, size};

/// Writes the verdict; every text taken from the image is escaped.
pub fn write_text(w: &mut dyn Write, v: &Verification) -> io::Result<()> {
    let id = &v.identity;
    let mut title = escape::text(&id.source).into_owned();
    match &id.reference {
        Some(r) => title.push_str(&format!(" ({}, {})", id.format, escape::text(r))),
        None => title.push_str(&format!(" ({})", id.format)),
    }
    writeln!(w, "Verifying   {title}")?;
    if let Some(p) = &id.platform {
        writeln!(w, "Platform    {}", escape::text(p))?;
    }
    for (what, digest) in [
        ("Manifest", &id.manifest_digest),
        ("Config", &id.config_digest),
    ] {
        if let Some(d) = digest {
            writeln!(w, "{what:<11} {}", escape::text(d))?;
        }
    }
    for problem in &v.documents {
        writeln!(w, "  PROBLEM   {}", escape::text(problem))?;
    }
    writeln!(w)?;
    for l in &v.layers {
        let verdict = if l.problems.is_empty() {
            "ok"
        } else {
            "FAILED"
        };
        writeln!(
            w,
            "  layer {:<3} {:<7} {}  {} {}, {}: {}",
            l.index,
            verdict,
            escape::text(short_digest(&l.blob)),
            size(l.compressed_bytes),
            compression(l.compression),
            count(l.entries, "entry", "entries"),
            l.checked.join(", ")
        )?;
        for p in &l.problems {
            writeln!(w, "            problem: {}", escape::text(p))?;
        }
        for warning in &l.warnings {
            writeln!(w, "            warning: {}", escape::text(warning))?;
        }
    }
    writeln!(w)?;
    let layers = v.layers.len();
    let plural = |n: usize, one: &str, many: &str| count(n as u64, one, many);
    if v.ok {
        writeln!(
            w,
            "Verified: {}, no problem found.",
            plural(layers, "layer", "layers")
        )?;
    } else {
        let failed = v.layers.iter().filter(|l| !l.problems.is_empty()).count();
        writeln!(
            w,
            "FAILED: {} in {} of {}{}.",
            plural(v.problems, "problem", "problems"),
            plural(failed, "layer", "layers"),
            layers,
            if v.documents.is_empty() {
                String::new()
            } else {
                format!(
                    " and {}",
                    plural(v.documents.len(), "document", "documents")
                )
            }
        )?;
    }
    Ok(())
}

/// `sha256:` and the first 12 hex digits, as the explorer shows digests; other names whole.
fn short_digest(digest: &str) -> &str {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => &digest[..alg.len() + 13],
        _ => digest,
    }
}

fn compression(c: crate::layer::Compression) -> &'static str {
    match c {
        crate::layer::Compression::None => "tar",
        crate::layer::Compression::Gzip => "gzip",
        crate::layer::Compression::Zstd => "zstd",
    }
}
