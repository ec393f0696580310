//! Findings about how the image was built: build tools left in the final image (from package
//! attribution), a broad `COPY .` before a dependency install (from the layers' Dockerfile
//! lines or BuildKit's history), and files of the build context that belong in
//! `.dockerignore`.

use super::{Finding, FindingKind, Severity, waste_severity};
use crate::analysis::LayerSummary;
use crate::analysis::packages::Package;
use crate::dockerfile::Dockerfile;
use crate::layer::Kind;
use crate::overlay::{Fs, Meta, NodeId};

/// How many package names a toolchain finding keeps.
const NAMED_PACKAGES: usize = 8;

/// The build-time packages the final image still holds (compilers, headers, build tools,
/// npm's development dependencies), as one finding: a build stage would leave them behind.
#[must_use]
pub fn build_toolchain(packages: &[Package]) -> Option<Finding> {
    let mut tools: Vec<&Package> = packages
        .iter()
        .filter(|p| p.build_time && p.visible_bytes > 0)
        .collect();
    if tools.is_empty() {
        return None;
    }
    tools.sort_by(|a, b| {
        b.visible_bytes
            .cmp(&a.visible_bytes)
            .then(a.name.cmp(&b.name))
    });
    let bytes = tools.iter().map(|p| p.visible_bytes).sum();
    // The layer that brought the most of them.
    let mut by_layer: Vec<(usize, u64)> = Vec::new();
    for p in &tools {
        if let Some(k) = p.layer {
            match by_layer.iter_mut().find(|(l, _)| *l == k) {
                Some((_, b)) => *b += p.visible_bytes,
                None => by_layer.push((k, p.visible_bytes)),
            }
        }
    }
    let shipped_by = by_layer
        .iter()
        .max_by_key(|&&(k, b)| (b, std::cmp::Reverse(k)))
        .map(|&(k, _)| k);
    Some(Finding {
        bytes,
        shipped_by,
        files: tools.iter().map(|p| p.files).sum(),
        packages: tools
            .iter()
            .take(NAMED_PACKAGES)
            .map(|p| p.name.clone())
            .collect(),
        value: Some(tools.len().to_string()),
        ..Finding::new(FindingKind::BuildToolchain, Severity::Warning)
    })
}

/// A layer's instruction as the Dockerfile wrote it when known, else its history entry with
/// the shell prefix builders add taken off.
fn instruction(l: &LayerSummary) -> Option<&str> {
    if let Some(s) = &l.source {
        return Some(s.instruction.as_str());
    }
    let c = l.created_by.as_deref()?.trim();
    let c = c.strip_prefix("/bin/sh -c ").unwrap_or(c).trim_start();
    Some(c.strip_prefix("#(nop)").unwrap_or(c).trim_start())
}

/// Whether an instruction copies the whole build context: `COPY . .`, `ADD ./ /src`,
/// `COPY * /app/` (flags allowed; `--from` copies from a stage, not the context).
fn copies_context(instruction: &str) -> bool {
    let mut words = instruction.split_whitespace();
    let Some(keyword) = words.next() else {
        return false;
    };
    if !(keyword.eq_ignore_ascii_case("COPY") || keyword.eq_ignore_ascii_case("ADD")) {
        return false;
    }
    let args: Vec<&str> = words
        .take_while(|w| *w != "#")
        .filter(|w| !w.starts_with("--") || w.starts_with("--from"))
        .collect();
    if args.iter().any(|w| w.starts_with("--from")) || args.len() < 2 {
        return false;
    }
    args[..args.len() - 1]
        .iter()
        .any(|s| matches!(*s, "." | "./" | "*" | "./*" | "\".\"" | "[\".\","))
}

/// The stage a `COPY --from=STAGE` reads (its label), when `instruction` is one and that stage
/// of `dockerfile` (named in any case, or by index) copied the whole build context, itself or
/// in a stage it starts `FROM`: what the copy takes from it may be the context's files (a
/// `.git` copied into a build stage, then the stage's directory into the final one). A copy
/// from an image (`--from=alpine`) is none.
#[must_use]
pub fn context_stage(dockerfile: &Dockerfile, instruction: &str) -> Option<String> {
    let mut words = instruction.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("COPY") {
        return None;
    }
    let from = words
        .take_while(|w| w.starts_with("--"))
        .find_map(|w| w.strip_prefix("--from="))?
        .trim_matches('"');
    let stage = |name: &str| {
        let lower = name.to_ascii_lowercase();
        dockerfile
            .stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()))
            .or_else(|| name.parse::<usize>().ok())
            .filter(|&i| i < dockerfile.stages.len())
    };
    let first = stage(from)?;
    let mut at = first;
    // A stage starts from an earlier one only: at most one visit per stage.
    for _ in 0..dockerfile.stages.len() {
        let s = &dockerfile.stages[at];
        if s.instructions.iter().any(|i| copies_context(&i.original)) {
            return Some(dockerfile.stages[first].label());
        }
        match stage(&s.base) {
            Some(base) if base < at => at = base,
            _ => return None,
        }
    }
    None
}

/// What installs dependencies, as it appears in a `RUN` (lower case).
const INSTALLS: [&str; 22] = [
    "apt-get install",
    "apt install",
    "apk add",
    "dnf install",
    "yum install",
    "microdnf install",
    "npm ci",
    "npm install",
    "npm i ",
    "yarn install",
    "pnpm install",
    "pip install",
    "pip3 install",
    "poetry install",
    "pipenv install",
    "uv sync",
    "go mod download",
    "bundle install",
    "cargo build",
    "cargo fetch",
    "composer install",
    "mvn ",
];

/// Dockerfile instructions other than `RUN`: a history entry or line starting with one runs
/// nothing (history entries of a `RUN` are its command, or `RUN …` from BuildKit).
const NOT_RUN: [&str; 17] = [
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "LABEL",
    "WORKDIR",
    "USER",
    "EXPOSE",
    "CMD",
    "ENTRYPOINT",
    "VOLUME",
    "FROM",
    "SHELL",
    "HEALTHCHECK",
    "ONBUILD",
    "STOPSIGNAL",
    "MAINTAINER",
];

/// The install an instruction runs, if it is a `RUN` that installs dependencies.
fn install_of(instruction: &str) -> Option<&'static str> {
    let first = instruction.split_whitespace().next()?;
    if NOT_RUN.iter().any(|k| first.eq_ignore_ascii_case(k)) {
        return None;
    }
    let lower = instruction.to_ascii_lowercase();
    INSTALLS
        .iter()
        .find(|i| lower.contains(*i))
        .map(|i| i.trim_end())
}

/// A broad `COPY .` followed by a layer that installs dependencies: every change of any source
/// file rebuilds the install. One finding per such copy, for the first install above it; the
/// bytes are that install's, reinstalled at every change.
#[must_use]
pub fn cache_order(layers: &[LayerSummary]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, copy) in layers.iter().enumerate() {
        if copy.base == Some(true) || !instruction(copy).is_some_and(copies_context) {
            continue;
        }
        let install = layers[i + 1..]
            .iter()
            .find_map(|l| instruction(l).and_then(install_of).map(|how| (l, how)));
        if let Some((l, how)) = install {
            out.push(Finding {
                bytes: l.shipped_bytes,
                shipped_by: Some(l.index),
                trigger: Some(i),
                value: Some(how.to_string()),
                ..Finding::new(FindingKind::CacheOrder, waste_severity(l.shipped_bytes))
            });
        }
    }
    out
}

/// Names in the build context that belong in `.dockerignore`, each with the line to add.
const CONTEXT_NAMES: [(&str, &str, bool); 9] = [
    // (name, .dockerignore line, a directory)
    (".git", ".git", true),
    ("node_modules", "**/node_modules", true),
    (".env", "**/.env", false),
    ("Dockerfile", "Dockerfile", false),
    ("Containerfile", "Containerfile", false),
    (".dockerignore", ".dockerignore", false),
    ("docker-compose.yml", "docker-compose*.yml", false),
    ("docker-compose.yaml", "docker-compose*.yaml", false),
    (".idea", ".idea", true),
];

/// Whether layer `k` copied files from the build context: a `COPY`/`ADD` that is not the
/// base image's (nor a base root filesystem, `ADD file:… in /`) and not from another stage.
fn from_context(layers: &[LayerSummary], staged: &[bool], k: usize) -> bool {
    if staged.get(k) == Some(&true) {
        return true;
    }
    let Some(l) = layers.get(k) else {
        return false;
    };
    if l.base == Some(true) {
        return false;
    }
    let Some(i) = instruction(l) else {
        return false;
    };
    let upper = i.trim_start().to_ascii_uppercase();
    let copy = upper.starts_with("COPY ") || upper.starts_with("ADD ");
    let rootfs = upper.starts_with("ADD FILE:") && upper.trim_end().ends_with(" IN /");
    copy && !rootfs && !upper.contains("--FROM")
}

/// A path of the final filesystem named as build-context files are, and the layer that made
/// it: whether that layer copied it from the context is decided with the layers' commands
/// ([`context_leaked`]), which a Dockerfile given later can name better.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    pub path: String,
    pub layer: usize,
    pub files: u64,
    pub bytes: u64,
    /// The `.dockerignore` line that keeps it out.
    pub line: &'static str,
}

/// The path `node` (final state `m`) as a [`Leak`], when it is named as build-context files
/// are (`.git`, `node_modules`, `.env`, the Dockerfile, …), with no file counted yet (the walk
/// that meets it counts what is at and below it); what is below it is no leak of its own.
#[must_use]
pub fn leak_at(fs: &Fs, node: NodeId, m: &Meta) -> Option<Leak> {
    let name = fs.name(node);
    let &(_, line, _) = CONTEXT_NAMES.iter().find(|(n, _, dir)| {
        n.as_bytes() == name && (*dir == (m.kind == Kind::Dir))
            || (*n == ".env" && name.starts_with(b".env.") && !is_example(name))
    })?;
    let e = fs.events(node).first()?;
    Some(Leak {
        path: fs.path(node),
        layer: usize::from(e.layer),
        files: 0,
        bytes: 0,
        line,
    })
}

/// The build-context files a layer copied into the image that a `.dockerignore` should have
/// kept out, of the `candidates` ([`leak_at`]): one finding, with the lines to add
/// to `.dockerignore` (its `value`, one per line) and the bytes they ship. An `.env` makes it
/// an error: it holds what the build's environment should not give away. `staged` says, for
/// each layer, whether it is a `COPY --from` of a stage that copied the context
/// ([`context_stage`]; empty without a Dockerfile).
#[must_use]
pub fn context_leaked(
    candidates: &[Leak],
    layers: &[LayerSummary],
    staged: &[bool],
) -> Option<Finding> {
    let mut found: Vec<&Leak> = candidates
        .iter()
        .filter(|l| from_context(layers, staged, l.layer))
        .collect();
    if found.is_empty() {
        return None;
    }
    found.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.path.cmp(&b.path)));
    let mut lines: Vec<&str> = found.iter().map(|f| f.line).collect();
    lines.sort_unstable();
    lines.dedup();
    let severity = if found.iter().any(|f| f.line == "**/.env") {
        Severity::Error
    } else {
        Severity::Warning
    };
    Some(Finding {
        bytes: found.iter().map(|f| f.bytes).sum(),
        files: found.iter().map(|f| f.files).sum(),
        shipped_by: found.iter().map(|f| f.layer).min(),
        paths: found.iter().take(5).map(|f| f.path.clone()).collect(),
        value: Some(lines.join("\n")),
        ..Finding::new(FindingKind::ContextLeaked, severity)
    })
}

/// `.env.example`, `.env.sample`, `.env.template`: files meant to be shared.
fn is_example(name: &[u8]) -> bool {
    [&b".example"[..], b".sample", b".template", b".dist"]
        .iter()
        .any(|s| name.ends_with(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_of_the_context_is_told_from_other_copies() {
        for yes in [
            "COPY . .",
            "COPY . /app",
            "ADD ./ /src/",
            "COPY --chown=app:app . /app",
            "COPY * /app/",
            "COPY . . # buildkit",
            "copy . /srv",
        ] {
            assert!(copies_context(yes), "{yes}");
        }
        for no in [
            "COPY package.json package-lock.json ./",
            "COPY --from=build /app /app",
            "COPY src/ /src/",
            "RUN cp . /x",
            "COPY dir:0123abcd in /app",
            "COPY .",
        ] {
            assert!(!copies_context(no), "{no}");
        }
    }

    #[test]
    fn installs_are_runs_that_fetch_dependencies() {
        assert_eq!(install_of("RUN npm ci --omit=dev"), Some("npm ci"));
        assert_eq!(
            install_of("apt-get update && apt-get install -y gcc"),
            Some("apt-get install")
        );
        assert_eq!(
            install_of("RUN pip install -r requirements.txt"),
            Some("pip install")
        );
        assert_eq!(install_of("COPY npm ci /x"), None);
        assert_eq!(install_of("RUN echo hello"), None);
    }
}
