//! The Dockerfile lines BuildKit's provenance attestation records for each layer, so that
//! lines are known without `--dockerfile` (SLSA provenance with `mode=max`).
//!
//! BuildKit writes its own metadata in the predicate, under
//! `metadata["https://mobyproject.org/buildkit@v1#metadata"]` (SLSA v0.2) or
//! `runDetails.metadata.buildkit_metadata` (SLSA v1), either in an in-toto statement
//! (`predicate`) or as the bare predicate (`docker buildx imagetools inspect` prints that):
//!
//! - `source.infos[i]`: `{filename, data}`, the Dockerfile and its text in base64;
//! - `source.locations.stepN.locations[]`: `{sourceIndex (absent: 0), ranges: [{start: {line},
//!   end: {line}}]}`, lines from 1;
//! - `layers["stepN:0"]`: arrays of layer chains (descriptors, base layers first) of step N's
//!   output.
//!
//! The build's LLB steps are in `buildConfig.llbDefinition` (v0.2) or
//! `buildDefinition.internalParameters.buildConfig.llbDefinition` (v1); a step whose op is a
//! `docker-image://` source is a FROM. The build arguments are `invocation.parameters.args`
//! (v0.2) or `buildDefinition.externalParameters.request.args` (v1), as `build-arg:NAME`.
//!
//! Layer k of the image is made by the step whose chain is exactly the image's first k+1
//! layers (a step's chain is its input's plus what it adds). When no step has that chain, or
//! steps at different lines do, the layer has no step: nothing is guessed. A FROM's chain is
//! the base image's: the layers up to the last one it ends in are the base's. With the
//! Dockerfile's text (`mode=max`), a step's line is found in it by the same parser as
//! `--dockerfile`'s, for its stage and instruction. The attestation is data from the image:
//! nothing here is sized by its numbers, and what has another shape is skipped.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;

use super::matching::{Attributed, Attribution, Source};
use super::parse::{Dockerfile, Instruction, Stage, parse};

/// What a BuildKit provenance document says of an image's layers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The sources the build read (`source.infos`): each file's name and, with `mode=max`, its
    /// text.
    pub files: Vec<SourceFile>,
    /// The build arguments (`--build-arg NAME=value`), in the document's order.
    pub args: Vec<(String, String)>,
    /// For each layer of the image, the step that made it.
    pub layers: Vec<Option<LayerStep>>,
}

/// One source file of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    /// The text, when recorded (and valid UTF-8).
    pub text: Option<String>,
}

/// The build step that made a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerStep {
    /// The LLB step's id (`step17`).
    pub step: String,
    /// Its lines, when recorded: the file (an index into [`Provenance::files`]), the first and
    /// the last line, from 1.
    pub lines: Option<(usize, usize, usize)>,
    /// Whether the step reads an image (a FROM: the layer is the base image's); `None` when
    /// the document does not say what the step does.
    pub base: Option<bool>,
}

impl Provenance {
    /// Every layer's attribution as the document records it, as [`Target::attribute`]
    /// gives it from a Dockerfile: a layer's step names its lines, and the stage and the
    /// instruction there when the document holds the file's text (`mode=max`; parsed as
    /// `--dockerfile` is); without the text they are empty. The layers up to the last one a
    /// FROM's chain ends in are the base image's, each named by that FROM; the layers above
    /// it, or from the first one a step of the build made when no FROM's chain is the
    /// image's, are not. What the document does not say stays unknown.
    ///
    /// [`Target::attribute`]: super::Target::attribute
    pub fn attribute(&self) -> Attributed {
        let mut texts = Texts {
            files: &self.files,
            parsed: (0..self.files.len()).map(|_| None).collect(),
            copied: 0,
        };
        let said = |k: usize| self.layers[k].as_ref().and_then(|s| s.base);
        let n = self.layers.len();
        let last_from = (0..n).rev().find(|&k| said(k) == Some(true));
        let first_own = (0..n).find(|&k| said(k) == Some(false));
        let layers = (0..n)
            .map(|k| {
                let (made_by, base) = match (last_from, first_own) {
                    (Some(b), _) if k <= b => (b, Some(true)),
                    (Some(_), _) => (k, Some(false)),
                    (None, Some(u)) if k >= u => (k, Some(false)),
                    (None, _) => (k, None),
                };
                let step = self.layers[made_by].as_ref();
                Attribution {
                    source: step.and_then(|s| texts.source(s)),
                    base,
                }
            })
            .collect();
        Attributed {
            layers,
            warnings: Vec::new(),
        }
    }
}

/// The most bytes of names, stages and instructions the sources of one image copy: a
/// Dockerfile's worth. A real build's are a few KiB; an attestation that would have each of
/// 65,535 layers copy a 4 MiB line gets its lines alone past this.
const MAX_SOURCE_BYTES: usize = super::MAX_BYTES as usize;

/// The build's files, each parsed once when a step names it, and what the sources copied of
/// them so far.
struct Texts<'a> {
    files: &'a [SourceFile],
    /// `None`: not parsed yet; `Some(None)`: no text, or none that parses.
    parsed: Vec<Option<Option<Parsed>>>,
    copied: usize,
}

/// A parsed file, and its instructions in order of their lines: (first line, stage, the
/// instruction's place in the stage, FROM first).
struct Parsed {
    df: Dockerfile,
    at: Vec<(usize, usize, usize)>,
}

impl Parsed {
    fn new(df: Dockerfile) -> Parsed {
        let at = df
            .stages
            .iter()
            .enumerate()
            .flat_map(|(s, stage)| {
                std::iter::once(&stage.from)
                    .chain(&stage.instructions)
                    .enumerate()
                    .map(move |(i, ins)| (ins.line, s, i))
            })
            .collect();
        Parsed { df, at }
    }

    /// The instruction whose lines hold `line`, with its stage (a binary search: the
    /// instructions follow each other in the file).
    fn containing(&self, line: usize) -> Option<(&Stage, &Instruction)> {
        let k = self.at.partition_point(|&(first, _, _)| first <= line);
        let &(_, s, i) = self.at.get(k.checked_sub(1)?)?;
        let stage = &self.df.stages[s];
        let ins = if i == 0 {
            &stage.from
        } else {
            &stage.instructions[i - 1]
        };
        (line <= ins.end_line).then_some((stage, ins))
    }
}

impl Texts<'_> {
    /// The source a step's lines name.
    fn source(&mut self, step: &LayerStep) -> Option<Source> {
        let (file, line, end_line) = step.lines?;
        let files = self.files;
        let parsed = self.parsed.get_mut(file)?.get_or_insert_with(|| {
            // Larger than `--dockerfile` reads: not parsed, its lines are still known.
            let text = files[file].text.as_deref();
            text.filter(|t| t.len() as u64 <= super::MAX_BYTES)
                .and_then(|t| parse(t).ok())
                .map(Parsed::new)
        });
        let at = parsed.as_ref().and_then(|p| p.containing(line));
        let name = &files[file].name;
        let (stage, instruction) = at.map_or((String::new(), ""), |(s, i)| {
            (s.label(), i.original.as_str())
        });
        let size = name.len() + stage.len() + instruction.len();
        if self.copied + size > MAX_SOURCE_BYTES {
            return Some(Source {
                file: String::new(),
                line,
                end_line,
                stage: String::new(),
                instruction: String::new(),
            });
        }
        self.copied += size;
        Some(Source {
            file: name.clone(),
            line,
            end_line,
            stage,
            instruction: instruction.to_string(),
        })
    }
}

const V02_METADATA: &str = "https://mobyproject.org/buildkit@v1#metadata";

/// Reads a provenance document (a statement or a bare predicate) against the image's layer
/// digests, bottom first; `None` when it is no BuildKit provenance (another builder's). With
/// `mode=min` BuildKit's metadata is there but empty: no file, no layer's step.
pub fn read(doc: &Value, layers: &[&str]) -> Option<Provenance> {
    let p = doc.get("predicate").unwrap_or(doc);
    let metadata = p
        .get("metadata")
        .and_then(|m| m.get(V02_METADATA))
        .or_else(|| p.pointer("/runDetails/metadata/buildkit_metadata"))
        .filter(|m| m.is_object())?;
    let llb = p
        .pointer("/buildConfig/llbDefinition")
        .or_else(|| p.pointer("/buildDefinition/internalParameters/buildConfig/llbDefinition"));
    let args = p
        .pointer("/invocation/parameters/args")
        .or_else(|| p.pointer("/buildDefinition/externalParameters/request/args"));
    let steps = Steps::new(metadata, llb);
    Some(Provenance {
        files: files(metadata),
        args: build_args(args),
        layers: (0..layers.len())
            .map(|k| steps.maker(&layers[..=k]))
            .collect(),
    })
}

fn files(metadata: &Value) -> Vec<SourceFile> {
    let infos = metadata.pointer("/source/infos").and_then(Value::as_array);
    infos
        .into_iter()
        .flatten()
        .map(|info| SourceFile {
            name: info
                .get("filename")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            text: info
                .get("data")
                .and_then(Value::as_str)
                .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
                .and_then(|bytes| String::from_utf8(bytes).ok()),
        })
        .collect()
}

fn build_args(args: Option<&Value>) -> Vec<(String, String)> {
    args.and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("build-arg:")?.to_string(),
                v.as_str()?.into(),
            ))
        })
        .collect()
}

/// The longest step id taken (BuildKit's are `stepN`); a longer one is another shape.
const MAX_STEP_ID: usize = 256;

/// A step's id and one of its output chains (digests, bottom first).
type Chain<'a> = (&'a str, Vec<&'a str>);

/// The steps' output chains, found by their length and top layer, and the LLB ops by id: each
/// chain is compared with the image's layers once, whatever their numbers.
struct Steps<'a> {
    metadata: &'a Value,
    /// `(length, top digest)` → the steps with such a chain, and the chain.
    chains: HashMap<(usize, &'a str), Vec<Chain<'a>>>,
    ops: HashMap<&'a str, &'a Value>,
}

impl<'a> Steps<'a> {
    fn new(metadata: &'a Value, llb: Option<&'a Value>) -> Steps<'a> {
        let mut chains: HashMap<(usize, &str), Vec<Chain<'a>>> = HashMap::new();
        let steps = metadata.get("layers").and_then(Value::as_object);
        for (output, listed) in steps.into_iter().flatten() {
            let Some(step) = output.strip_suffix(":0").filter(|s| s.len() <= MAX_STEP_ID) else {
                continue;
            };
            for c in listed.as_array().into_iter().flatten() {
                let digests: Vec<&str> = c
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|d| d.get("digest").and_then(Value::as_str))
                    .collect();
                if let Some(&top) = digests.last() {
                    chains
                        .entry((digests.len(), top))
                        .or_default()
                        .push((step, digests));
                }
            }
        }
        let ops = llb
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| Some((o.get("id")?.as_str()?, o)))
            .collect();
        Steps {
            metadata,
            chains,
            ops,
        }
    }

    /// The step whose output chain is exactly `chain`, with its lines; `None` when there is
    /// none, or several at different places.
    fn maker(&self, chain: &[&str]) -> Option<LayerStep> {
        let candidates = self.chains.get(&(chain.len(), *chain.last()?))?;
        let mut found: Option<LayerStep> = None;
        for (step, digests) in candidates {
            if digests != chain {
                continue;
            }
            let lines = lines(self.metadata, step);
            match &found {
                Some(f) if f.lines != lines => return None,
                Some(_) => {}
                None => {
                    found = Some(LayerStep {
                        step: (*step).to_string(),
                        lines,
                        base: self.ops.get(step).and_then(|op| reads_an_image(op)),
                    });
                }
            }
        }
        found
    }
}

/// A step's first location: its file and its first and last lines.
fn lines(metadata: &Value, step: &str) -> Option<(usize, usize, usize)> {
    let location = metadata
        .pointer("/source/locations")?
        .get(step)?
        .get("locations")?
        .as_array()?
        .first()?;
    let file = location
        .get("sourceIndex")
        .map_or(Some(0), Value::as_u64)
        .and_then(|i| usize::try_from(i).ok())?;
    let line = |r: &Value, end: &str| {
        r.pointer(&format!("/{end}/line"))
            .and_then(Value::as_u64)
            .and_then(|l| usize::try_from(l).ok())
    };
    let ranges = location.get("ranges")?.as_array()?;
    let first = ranges.iter().filter_map(|r| line(r, "start")).min()?;
    let last = ranges.iter().filter_map(|r| line(r, "end")).max()?;
    Some((file, first, last.max(first)))
}

/// Whether an LLB op is a `docker-image://` source (a FROM), if it says what it does.
fn reads_an_image(op: &Value) -> Option<bool> {
    let op = op.pointer("/op/Op")?;
    Some(
        op.pointer("/source/identifier")
            .and_then(Value::as_str)
            .is_some_and(|id| id.starts_with("docker-image://")),
    )
}
