//! Which Dockerfile line made each layer: the target stage's instructions (after those of the
//! stages it is built FROM) paired with the image config's history entries, empty layers
//! included.
//!
//! Each builder writes at most one entry per instruction (BuildKit none for ONBUILD), and the
//! base image's entries come first. So the pairing is an alignment of the two lists in order in
//! which every entry above the base is made by one instruction, its own if it matches
//! ([`Expect::matches`]), another if its text changed since the build; an instruction may have
//! no entry; an entry that no instruction can have made costs one match. The alignment with the
//! most matches net of those costs wins (then the most matches), traced back from the end, so
//! that of two equal instructions the later one takes the later entry. Only matching pairs name
//! a line: an edited line, or an entry no line made (a base image's ONBUILD trigger), leaves its
//! layer without one; a Dockerfile whose only match is its last `CMD` against the base image's
//! `CMD` (any other Dockerfile on that base) matches nothing, and matches of metadata alone
//! (no layer among them) attribute nothing. The layers below the first paired
//! entry are the base image's (the root stage's FROM) when nothing but ARG or ONBUILD comes
//! before the first paired instruction; otherwise where the base ends is not known, and those
//! layers say neither.
//!
//! Variables expand as in the build: the chain's ARGs (their defaults, or the values the build
//! recorded in `|N NAME=value` prefixes of RUN entries), its ENVs, the global ARGs a stage names
//! again, BuildKit's `TARGET*` arguments from the image's platform, and the image's own `Env`
//! for a name no ENV of the chain sets (the base image's value, which nothing after changed).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::Target;
use super::expand::{Vars, expand};
use super::expect::{Context, Expect, Said, expect, pairs, resolve_workdir, said};
use super::parse::{Dockerfile, Instruction, Keyword, Stage, words};

/// The Dockerfile line a layer came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The Dockerfile, as the user named it.
    pub file: String,
    /// The instruction's first and last lines, from 1 (a base layer's: its FROM line).
    pub line: usize,
    pub end_line: usize,
    /// The stage's name, else its index.
    pub stage: String,
    /// The instruction as written, continuation lines joined.
    pub instruction: String,
}

/// One layer's attribution.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attribution {
    pub source: Option<Source>,
    /// Whether the layer came from the base image (`Some(true)`) or from the Dockerfile's
    /// instructions; `None` when that is not known.
    pub base: Option<bool>,
}

/// Every layer's attribution, and what to tell the user about it.
#[derive(Debug, Clone, Default)]
pub struct Attributed {
    pub layers: Vec<Attribution>,
    pub warnings: Vec<String>,
}

/// Cells of the alignment table at most (4 bytes each): 2,048 instructions against 1,023
/// history entries, or 1,023 against 2,048. A longer chain or history is aligned on its last
/// instructions and entries only.
const MAX_CELLS: usize = 1 << 21;

/// The score of a matching pair: one more match, and one more net of the costs.
const MATCH: i32 = 4097;
/// The score of an entry no instruction can have made.
const STRAY: i32 = -4096;

/// One instruction of the chain, with its stage.
struct Step<'a> {
    stage: &'a Stage,
    ins: &'a Instruction,
}

impl Target {
    /// Attributes the `layers` layers of the image whose config is `config`.
    pub fn attribute(&self, config: &Value, layers: usize) -> Attributed {
        let history = history(config);
        let mut out = Attributed {
            layers: vec![Attribution::default(); layers],
            warnings: Vec::new(),
        };
        let made = history.iter().filter(|(_, empty)| !empty).count();
        if made != layers {
            out.warnings.push(format!(
                "{}: the image's history does not pair with its layers, so no layer is \
                 matched to a line",
                self.file
            ));
            return out;
        }
        let chain = chain(&self.dockerfile, self.stage);
        let said: Vec<Said> = history.iter().map(|(c, _)| said(c)).collect();
        let expects = expectations(&self.dockerfile, &chain, config, &said);
        let pairs = align(&said, &expects);
        // Metadata alone (a CMD, an ENV the image shares with any build on its base) is too
        // little to say which layers the Dockerfile made: a layer must match.
        let first = pairs
            .first()
            .filter(|_| pairs.iter().any(|&(e, _)| !history[e].1));
        let Some(&(first_entry, first_step)) = first else {
            out.warnings.push(format!(
                "{}: no line of stage {} matches a layer of the image (is it the Dockerfile, \
                 and the --target, the image was built from?)",
                self.file,
                self.dockerfile.stages[self.stage].label()
            ));
            return out;
        };
        let root = root_stage(&self.dockerfile, &self.dockerfile.stages[self.stage]);
        let scratch = root.base.eq_ignore_ascii_case("scratch");
        let base_known = chain[..first_step]
            .iter()
            .all(|s| s.ins.keyword == Keyword::Arg);
        let by_entry: HashMap<usize, usize> = pairs.iter().copied().collect();
        let mut layer = 0;
        for (e, (_, empty)) in history.iter().enumerate() {
            if *empty {
                continue;
            }
            let a = &mut out.layers[layer];
            layer += 1;
            if e >= first_entry || scratch {
                a.base = Some(false);
                a.source = by_entry
                    .get(&e)
                    .map(|&k| self.source(chain[k].stage, chain[k].ins));
            } else if base_known {
                a.base = Some(true);
                a.source = Some(self.source(root, &root.from));
            }
        }
        let unmatched = out
            .layers
            .iter()
            .filter(|a| a.base == Some(false) && a.source.is_none())
            .count();
        if unmatched > 0 {
            let ours = out.layers.iter().filter(|a| a.base == Some(false)).count();
            out.warnings.push(format!(
                "{}: {unmatched} of the {ours} layers the Dockerfile made match no line of \
                 it (changed since the build?)",
                self.file
            ));
        }
        out
    }

    fn source(&self, stage: &Stage, ins: &Instruction) -> Source {
        Source {
            file: self.file.clone(),
            line: ins.line,
            end_line: ins.end_line,
            stage: stage.label(),
            instruction: ins.original.clone(),
        }
    }
}

/// The config's `history`: each entry's `created_by` (empty when absent) and `empty_layer`.
fn history(config: &Value) -> Vec<(String, bool)> {
    config
        .get("history")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|h| {
                    let by = h.get("created_by").and_then(Value::as_str).unwrap_or("");
                    let empty = h.get("empty_layer").and_then(Value::as_bool) == Some(true);
                    (by.to_string(), empty)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The stage `stage` starts from, when it names an earlier stage (BuildKit compares the FROM
/// word, its global ARGs expanded, with the earlier stages' names, ignoring case).
fn parent<'a>(df: &'a Dockerfile, stage: &Stage) -> Option<&'a Stage> {
    let globals = globals(df, &HashMap::new());
    let base = expand(&stage.base, &globals, df.escape).unwrap_or_else(|| stage.base.clone());
    df.stages[..stage.index].iter().rev().find(|s| {
        s.name
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(&base))
    })
}

/// The first stage of `stage`'s FROM chain: the one whose FROM is an image.
fn root_stage<'a>(df: &'a Dockerfile, stage: &'a Stage) -> &'a Stage {
    let mut s = stage;
    while let Some(p) = parent(df, s) {
        s = p;
    }
    s
}

/// The instructions that made the target stage's image: those of the stages it is built FROM,
/// then its own.
fn chain(df: &Dockerfile, target: usize) -> Vec<Step<'_>> {
    let mut stages = vec![&df.stages[target]];
    while let Some(p) = parent(df, stages[stages.len() - 1]) {
        stages.push(p);
    }
    stages
        .iter()
        .rev()
        .flat_map(|stage| {
            stage
                .instructions
                .iter()
                .map(move |ins| Step { stage, ins })
        })
        .collect()
}

/// The global ARGs' values: a value the build recorded, else the default expanded.
fn globals(df: &Dockerfile, recorded: &HashMap<String, String>) -> Vars {
    let mut vars = Vars::default();
    for ins in &df.args {
        for (name, value) in declared(ins, df.escape) {
            let v = match (recorded.get(&name), value) {
                (Some(r), _) => Some(r.clone()),
                (None, Some(d)) => expand(&d, &vars, df.escape),
                (None, None) => None,
            };
            vars.set(&name, v);
        }
    }
    vars
}

/// An ARG's names and defaults as written.
fn declared(ins: &Instruction, escape: char) -> Vec<(String, Option<String>)> {
    words(&ins.rest, escape)
        .iter()
        .map(|w| match w.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => ((*w).to_string(), None),
        })
        .collect()
}

/// The build arguments the build recorded: `|N NAME=value…` before RUN commands, where the N
/// words are all `NAME=value` (a value with blanks makes the prefix unreadable: skipped).
fn recorded(said: &[Said]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for s in said.iter().filter(|s| s.keyword == Some(Keyword::Run)) {
        let mut ws = s.args.split(' ');
        let Some(n) = ws
            .next()
            .and_then(|w| w.strip_prefix('|'))
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        let assigned: Vec<(&str, &str)> = ws.take(n).filter_map(|w| w.split_once('=')).collect();
        if assigned.len() == n {
            for (k, v) in assigned {
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    out
}

/// Each step's expectation, with the variables, shell and working directory in effect there.
fn expectations(df: &Dockerfile, chain: &[Step<'_>], config: &Value, said: &[Said]) -> Vec<Expect> {
    let recorded = recorded(said);
    let globals = globals(df, &recorded);
    let windows = config.get("os").and_then(Value::as_str) == Some("windows");
    let default_shell: Vec<String> = if windows {
        vec!["cmd".into(), "/S".into(), "/C".into()]
    } else {
        vec!["/bin/sh".into(), "-c".into()]
    };
    let mut vars = seeded(df, chain, config);
    let mut shell: Option<Vec<String>> = None;
    // A stage FROM scratch starts in `/`; an image's own directory is not known.
    let root = chain.first().map(|s| root_stage(df, s.stage));
    let mut workdir = root
        .filter(|r| r.base.eq_ignore_ascii_case("scratch"))
        .map(|_| "/".to_string());
    let mut out = Vec::with_capacity(chain.len());
    for step in chain {
        let ins = step.ins;
        let shells: Vec<Vec<String>> = shell
            .iter()
            .cloned()
            .chain(std::iter::once(default_shell.clone()))
            .collect();
        let cx = Context {
            vars: &vars,
            escape: df.escape,
            shells: &shells,
            workdir: workdir.as_deref(),
        };
        out.push(expect(ins, &cx));
        match ins.keyword {
            Keyword::Arg => {
                for (name, value) in declared(ins, df.escape) {
                    let v = match (recorded.get(&name), value) {
                        (Some(r), _) => Some(r.clone()),
                        (None, Some(d)) => expand(&d, &vars, df.escape),
                        (None, None) => globals.get(&name).cloned().flatten(),
                    };
                    vars.set(&name, v);
                }
            }
            Keyword::Env => {
                for (k, v) in pairs(&ins.rest, df.escape) {
                    let v = expand(&v, &vars, df.escape);
                    vars.set(&k, v);
                }
            }
            Keyword::Shell => shell = ins.json(),
            Keyword::Workdir => {
                let dir = expand(&ins.rest, &vars, df.escape);
                workdir = dir.and_then(|d| resolve_workdir(workdir.as_deref(), &d));
            }
            _ => {}
        }
    }
    out
}

/// The variables before the chain's first instruction: the image's `Env` for names no ENV of
/// the chain sets (the base image's, unchanged since), and the `TARGET*` arguments of its
/// platform (BuildKit's, visible to a stage that names them with ARG: set here, an ARG then
/// keeps them).
fn seeded(df: &Dockerfile, chain: &[Step<'_>], config: &Value) -> Vars {
    let mut vars = Vars::default();
    let set_in_chain: Vec<String> = chain
        .iter()
        .filter(|s| s.ins.keyword == Keyword::Env)
        .flat_map(|s| pairs(&s.ins.rest, df.escape).into_iter().map(|(k, _)| k))
        .collect();
    let env = config.pointer("/config/Env").and_then(Value::as_array);
    for e in env.into_iter().flatten().filter_map(Value::as_str) {
        if let Some((k, v)) = e.split_once('=')
            && !set_in_chain.iter().any(|s| s == k)
        {
            vars.set(k, Some(v.to_string()));
        }
    }
    let field = |k: &str| config.get(k).and_then(Value::as_str).unwrap_or("");
    let (os, arch, variant) = (field("os"), field("architecture"), field("variant"));
    if !os.is_empty() && !arch.is_empty() {
        let platform = if variant.is_empty() {
            format!("{os}/{arch}")
        } else {
            format!("{os}/{arch}/{variant}")
        };
        for (k, v) in [
            ("TARGETPLATFORM", platform),
            ("TARGETOS", os.to_string()),
            ("TARGETARCH", arch.to_string()),
            ("TARGETVARIANT", variant.to_string()),
        ] {
            if !vars.contains(k) {
                vars.set(k, Some(v));
            }
        }
    }
    vars
}

/// The paired (entry, step) indexes, bottom to top.
///
/// `score[i][j]` is the best alignment of the first `i` entries with the first `j` steps, as
/// `net × 4096 + matches` (at most 2,048 matches, so the two never mix): entries before any
/// step are the base image's, free; an entry then pairs with a step (a match, or a step whose
/// text changed), or is stray; a step may have no entry.
fn align(said: &[Said], expects: &[Expect]) -> Vec<(usize, usize)> {
    if expects.is_empty() || said.is_empty() {
        return Vec::new();
    }
    let m = expects.len().min(2048);
    let steps_from = expects.len() - m;
    let n = said.len().min(2048).min(MAX_CELLS / (m + 1) - 1);
    let entries_from = said.len() - n;
    let hit = |i: usize, j: usize| expects[steps_from + j].matches(&said[entries_from + i]);
    let width = m + 1;
    let mut score = vec![0i32; (n + 1) * width];
    for i in 1..=n {
        for j in 1..=m {
            let pair = score[(i - 1) * width + j - 1] + if hit(i - 1, j - 1) { MATCH } else { 0 };
            let no_entry = score[i * width + j - 1];
            let stray = score[(i - 1) * width + j] + STRAY;
            score[i * width + j] = pair.max(no_entry).max(stray);
        }
    }
    let mut pairs = Vec::new();
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        let here = score[i * width + j];
        let diagonal = score[(i - 1) * width + j - 1];
        let hits = hit(i - 1, j - 1);
        if hits && here == diagonal + MATCH {
            pairs.push((entries_from + i - 1, steps_from + j - 1));
            (i, j) = (i - 1, j - 1);
        } else if !hits && here == diagonal {
            (i, j) = (i - 1, j - 1);
        } else if here == score[i * width + j - 1] {
            j -= 1;
        } else {
            i -= 1;
        }
    }
    pairs.reverse();
    pairs
}
