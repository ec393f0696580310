//! The Dockerfile an image was built from (`--dockerfile`, `--target`, or the text BuildKit's
//! provenance attestation carries), and which of its lines made each layer.
//!
//! - `parse.rs`: the file read as BuildKit's parser reads it: directives, continuations,
//!   comments, heredocs, instructions and stages, each instruction with its lines.
//! - `expand.rs`: `$VAR`, `${VAR:-default}` and the other substitutions of the build.
//! - `expect.rs`: what each builder (Docker's classic builder, buildah, BuildKit, kaniko)
//!   writes in `created_by` for an instruction, and whether an entry is one of those.
//! - `matching.rs`: the target stage's instructions, through the stages it is built FROM,
//!   paired with the image's history; every layer's line, and whether it is the base image's.
//! - `provenance.rs`: the same from a BuildKit provenance attestation, without a Dockerfile:
//!   the source finds the attestation beside the image in its index (`source/oci/`) and reads
//!   it into [`Image::provenance`](crate::image::Image::provenance); the analysis attributes
//!   the layers from it unless `--dockerfile` is given.
//!
//! No crate was taken for the parsing: `dockerfile-parser` (0.9) reads neither heredocs nor
//! the escape directive, and `dockerfile-parser-rs` (3.3) knows heredocs only by the word
//! `EOF`; neither gives an instruction's last line.

mod expand;
mod expect;
pub mod matching;
pub mod parse;
pub mod provenance;
#[cfg(test)]
mod tests;

use std::io::Read as _;
use std::path::Path;

pub use matching::{Attributed, Attribution, Source};
pub use parse::{Dockerfile, Heredoc, Instruction, Keyword, Stage};

use crate::error::{DockerfileError, Error, Result};

/// Dockerfiles larger than this are refused (the largest in public projects are tens of KB).
pub const MAX_BYTES: u64 = 4 << 20;

/// A Dockerfile and the stage whose image is analysed.
#[derive(Debug, Clone)]
pub struct Target {
    /// The file, as the user named it.
    pub file: String,
    pub dockerfile: Dockerfile,
    /// The target stage's index: `--target`, else the last stage.
    pub stage: usize,
}

impl Target {
    /// Reads and parses the Dockerfile at `path` and finds the stage `target` names (its name,
    /// in any case, or its index), the last stage without one.
    ///
    /// # Errors
    /// [`Error::Dockerfile`]: the file cannot be read, is too large or no UTF-8 text, does not
    /// parse, or has no such stage.
    pub fn read(path: &Path, target: Option<&str>) -> Result<Target> {
        let fail = |line, why| Error::Dockerfile {
            path: path.to_path_buf(),
            line,
            why,
        };
        let file = std::fs::File::open(path).map_err(|e| fail(None, DockerfileError::Read(e)))?;
        let mut bytes = Vec::new();
        file.take(MAX_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(None, DockerfileError::Read(e)))?;
        if bytes.len() as u64 > MAX_BYTES {
            return Err(fail(None, DockerfileError::TooLarge { limit: MAX_BYTES }));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            fail(None, DockerfileError::NotText { offset })
        })?;
        Target::parse(&text, &path.display().to_string(), target)
    }

    /// [`Target::read`] on text already read; `file` names it in errors and sources.
    ///
    /// # Errors
    /// As [`Target::read`], reading aside.
    pub fn parse(text: &str, file: &str, target: Option<&str>) -> Result<Target> {
        let fail = |line, why| Error::Dockerfile {
            path: file.into(),
            line,
            why,
        };
        let dockerfile = parse::parse(text).map_err(|(line, why)| fail(line, why))?;
        let stage = stage(&dockerfile, target).map_err(|why| fail(None, why))?;
        Ok(Target {
            file: file.to_string(),
            dockerfile,
            stage,
        })
    }
}

/// The index of the stage `target` names, the last without one.
fn stage(df: &Dockerfile, target: Option<&str>) -> std::result::Result<usize, DockerfileError> {
    let Some(t) = target else {
        return Ok(df.stages.len() - 1);
    };
    df.stages
        .iter()
        .position(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(t)))
        .or_else(|| t.parse::<usize>().ok().filter(|&i| i < df.stages.len()))
        .ok_or_else(|| {
            let mut labels: Vec<String> = df.stages.iter().take(10).map(Stage::label).collect();
            if df.stages.len() > 10 {
                labels.push("…".into());
            }
            DockerfileError::NoSuchStage {
                target: t.to_string(),
                stages: labels.join(", "),
            }
        })
}
