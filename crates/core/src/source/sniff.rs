//! Judging a file by its first bytes: a tar, or an archive compressed in a way strata does
//! not read (with the command that decompresses it), or not an image at all.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::{Codec, Error, NotAnImage, Result};
use crate::layer::Compression;

/// Reads the first bytes of a file, to judge what it holds: up to 512, and how many there were.
pub(crate) fn head_of(path: &Path) -> Result<([u8; 512], usize)> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok((head, n))
}

/// Judges an archive by its first `n` bytes (`head`), naming it `shown`: a tar, or an error.
/// A compression strata does not read (xz, bzip2, …) gets the command that decompresses it
/// (for a stream, the filter to pipe it through); `inside` names the compression the bytes
/// came out of (gzip and zstd are read by the caller).
pub(crate) fn check_head(
    head: &[u8; 512],
    n: usize,
    shown: &str,
    stream: bool,
    inside: Option<Codec>,
) -> Result<()> {
    if let Some(kind) = Compression::foreign(&head[..n]) {
        let tool = match kind {
            "xz" => "xz",
            "bzip2" => "bzip2",
            "lz4" => "lz4",
            "lzip" => "lzip",
            _ => "gzip", // compress (.Z): gzip -d reads it
        };
        let command = if stream {
            format!("pipe it through {tool} -dc")
        } else {
            format!("{tool} -dc {shown} > image.tar")
        };
        return Err(Error::NotAnImage {
            what: shown.to_string(),
            why: NotAnImage::ForeignCompression {
                compression: kind.to_string(),
                inside,
                command,
            },
        });
    }
    if n < head.len() || !is_tar_header(head) {
        return Err(Error::NotAnImage {
            what: shown.to_string(),
            why: NotAnImage::NotContainerImage { inside },
        });
    }
    Ok(())
}

/// A tar header has `ustar` magic or, for old v7 tars, a valid checksum.
pub(crate) fn is_tar_header(h: &[u8; 512]) -> bool {
    if &h[257..262] == b"ustar" {
        return true;
    }
    let field = String::from_utf8_lossy(&h[148..156]);
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let computed: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    stored == computed
}
