//! The sentences strata prints: what a finding means and how to fix it, the verdict of a
//! comparison, what a CI rule compared.
//!
//! The analysis says what happened as data (a kind, byte and file counts, layers, paths); these
//! functions say it in English, once for every face: the text, Markdown and JSON printers and
//! the explorer read the same sentence. The sentences are plain text, escaped by the
//! printer that writes them (paths and commands come from the image).

use super::short_command;
use crate::analysis::compare::Verdict;
use crate::analysis::findings::{Place, Secret};
use crate::analysis::{Analysis, Cache, Finding, FindingKind, Severity};
use crate::ci::{MetricsKind, Origin, Rule, RuleOutcome, Status, Value};
use crate::units::{bytes_text, count, ratio_texts, signed_size, size};

/// How many findings the faces show (text, JSON), most bytes first.
pub const FINDINGS_SHOWN: usize = 20;

/// The findings the faces show, each with its sentence: most bytes first, equal sizes in the
/// order of their sentences (as since findings were first printed), at most
/// [`FINDINGS_SHOWN`].
#[must_use]
pub fn findings(a: &Analysis) -> Vec<(&Finding, String)> {
    let mut worded = all_findings(a);
    worded.truncate(FINDINGS_SHOWN);
    worded
}

/// Every finding with its sentence, in the order the faces show them (the explorer lists
/// them all).
#[must_use]
pub fn all_findings(a: &Analysis) -> Vec<(&Finding, String)> {
    shown(a.findings.iter().zip(every_finding(a)).collect())
}

/// The sentence of every finding of the analysis, in its order (the reports that list them
/// all: SARIF, Code Quality, JUnit, Markdown).
#[must_use]
pub fn every_finding(a: &Analysis) -> Vec<String> {
    // A layer whose Dockerfile line is known is named by it: the line to change.
    let lines: Vec<Option<String>> = a
        .layers
        .iter()
        .map(|l| {
            l.source
                .as_ref()
                .map(|_| super::layer_command(l, usize::MAX))
        })
        .collect();
    let commands: Vec<Option<&str>> = a
        .layers
        .iter()
        .zip(&lines)
        .map(|(l, line)| line.as_deref().or(l.created_by.as_deref()))
        .collect();
    a.findings.iter().map(|f| finding(f, &commands)).collect()
}

/// Worded findings in the order the faces show them: most severe, then most bytes, then by
/// sentence.
fn shown(mut worded: Vec<(&Finding, String)>) -> Vec<(&Finding, String)> {
    worded.sort_by(|(x, xs), (y, ys)| {
        y.severity
            .cmp(&x.severity)
            .then(y.bytes.cmp(&x.bytes))
            .then_with(|| xs.cmp(ys))
    });
    worded
}

/// What a finding means and what to change, in one paragraph. `commands` are the layers'
/// `created_by`, by index.
#[must_use]
pub fn finding(f: &Finding, commands: &[Option<&str>]) -> String {
    let b = size(f.bytes);
    match (f.kind, f.shipped_by, f.hidden_by, f.cache) {
        // A secret names the layers that shipped and deleted it too: its own sentence.
        (FindingKind::Secret | FindingKind::SecretInConfig, ..) => catalogue(f, commands),
        (FindingKind::CacheLeft, from, _, Some(cache)) => {
            let from = from.map_or(String::new(), |k| {
                format!(", mostly from {}", layer_name(commands, k))
            });
            format!(
                "{} holds {b} in {} in the final image{from}: {}",
                cache.dir(),
                count(f.files, "file", "files"),
                cache_fix(cache)
            )
        }
        (kind, Some(shipped), Some(hidden), None) => {
            let what = files_named(f);
            let (s, h) = (layer_name(commands, shipped), layer_name(commands, hidden));
            match kind {
                _ if shipped == hidden => format!(
                    "{s} ships {what} twice in the same layer ({b} lost): write each file once"
                ),
                FindingKind::DeletedLater => format!(
                    "{h} deletes {what}, {b} that {s} shipped: delete them in the same RUN that \
                     creates them, or create them in a build stage and COPY only what is needed"
                ),
                FindingKind::MetadataCopy => format!(
                    "{h} ships {what} again with the same content ({b}), only to change \
                     metadata: set mode and owner where the files are created \
                     (COPY --chmod/--chown, or chmod/chown in the same RUN)"
                ),
                FindingKind::Overwritten => format!(
                    "{h} rewrites {what} that {s} shipped ({b} lost): produce the final content \
                     in one step"
                ),
                _ => String::new(),
            }
        }
        _ => catalogue(f, commands),
    }
}

/// The sentence of a finding beyond the waste and caches.
fn catalogue(f: &Finding, commands: &[Option<&str>]) -> String {
    let b = size(f.bytes);
    let layer = |k: Option<usize>| k.map(|k| layer_name(commands, k));
    let named = |f: &Finding| {
        let more = if f.files > f.paths.len() as u64 {
            ", …"
        } else {
            ""
        };
        format!("{}{more}", f.paths.join(", "))
    };
    match f.kind {
        FindingKind::BuildToolchain => {
            let n: u64 = f.value.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
            let more = if n > f.packages.len() as u64 {
                ", …"
            } else {
                ""
            };
            let from = layer(f.shipped_by).map_or(String::new(), |l| format!(", mostly from {l}"));
            format!(
                "{} ({}{more}) hold {b} in the final image{from}: install them in a build stage \
                 and COPY only what it builds into the final one",
                count(n, "build-time package", "build-time packages"),
                f.packages.join(", ")
            )
        }
        FindingKind::CacheOrder => format!(
            "{} copies the whole build context before {} runs `{}`: any change to any source \
             file reinstalls {b}; copy only the dependency manifests (package.json and its \
             lockfile, requirements.txt, go.mod and go.sum, Gemfile.lock, Cargo.lock) before \
             the install, and the rest after it",
            layer(f.trigger).unwrap_or_default(),
            layer(f.shipped_by).unwrap_or_default(),
            f.value.as_deref().unwrap_or("the install")
        ),
        FindingKind::ContextLeaked => {
            let lines: Vec<&str> = f.value.as_deref().unwrap_or("").lines().collect();
            format!(
                "{} copied {} from the build context ({b} in {}): add {} to .dockerignore",
                layer(f.shipped_by).unwrap_or_else(|| "a layer".into()),
                named(f),
                count(f.files, "file", "files"),
                lines
                    .iter()
                    .map(|l| format!("`{l}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
        FindingKind::Duplicate => format!(
            "{} identical files ({}) of {} each: one copy, or hard links, would spare {b}",
            f.files,
            named(f),
            size(f.bytes / f.files.saturating_sub(1).max(1))
        ),
        FindingKind::RunsAsRoot => {
            let user = match f.value.as_deref() {
                Some("") | None => "no USER is set".to_string(),
                Some(u) => format!("USER is `{u}`"),
            };
            format!(
                "the image runs as root ({user}): a process that is broken into owns the \
                 container; add `USER` with an unprivileged uid after the steps that need root"
            )
        }
        FindingKind::SetuidFile => format!(
            "{} {} the setuid or setgid bit ({}): a way to root for anyone who gets a shell; \
             remove it (`chmod u-s,g-s`) where the image does not need it",
            count(f.files, "file", "files"),
            if f.files == 1 { "has" } else { "have" },
            named(f)
        ),
        FindingKind::WorldWritable => format!(
            "anyone may write {} ({}): drop the write bit for others (`chmod o-w`), or use the \
             sticky bit for a shared directory",
            count(f.files, "path", "paths"),
            named(f)
        ),
        FindingKind::NoHealthcheck => "no HEALTHCHECK: an engine cannot tell that the service \
             works; add `HEALTHCHECK CMD …` for a service (a platform's own probes do as well)"
            .into(),
        FindingKind::LargeLayer => format!(
            "{} ships {b} in one layer: any change to it re-ships all of it; put what changes \
             rarely (dependencies) and what changes often (the application) in layers of their own",
            layer(f.shipped_by).unwrap_or_default()
        ),
        FindingKind::ManyLayers => format!(
            "the image has {} layers: each is a download and a mount (overlayfs stops at 128); \
             merge RUN steps that belong together",
            f.value.as_deref().unwrap_or("many")
        ),
        FindingKind::Secret => secret_in_file(f, commands),
        FindingKind::SecretInConfig => secret_in_config(f, commands),
        FindingKind::DeletedLater
        | FindingKind::MetadataCopy
        | FindingKind::Overwritten
        | FindingKind::CacheLeft => String::new(),
    }
}

/// What a kind of finding is, for the reports that describe their rules (SARIF's rules, the
/// Markdown's legend): a title, what it is and why it matters, and how to fix it, each plain
/// text with Markdown's backticks around code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    /// A few words: "Files deleted by a later layer".
    pub title: &'static str,
    /// What the finding is and why it matters.
    pub what: String,
    /// How to fix it.
    pub fix: &'static str,
    /// The severity its findings usually have: SARIF's default level, and GitHub's security
    /// severity for the kinds that are not about bytes.
    pub severity: Severity,
}

/// The rule text of a kind. A new kind adds its text here.
#[must_use]
pub fn rule(kind: FindingKind) -> RuleText {
    let text = |title, what: &str, fix, severity| RuleText {
        title,
        what: what.to_string(),
        fix,
        severity,
    };
    match kind {
        FindingKind::DeletedLater => text(
            "Files deleted by a later layer",
            "A layer ships files that a later layer deletes. A deleted file still travels with \
             the image: every pull downloads and unpacks it, though no container sees it.",
            "Delete files in the same RUN that creates them (`RUN make && rm -rf /build`), or \
             create them in a build stage and COPY only what is needed into the final one.",
            Severity::Warning,
        ),
        FindingKind::MetadataCopy => text(
            "Files shipped again only to change metadata",
            "A layer ships files again with the same content, only to change their mode, owner \
             or times (a `RUN chmod` or `chown` of files an earlier layer made): the image \
             carries both copies.",
            "Set mode and owner where the files are created: `COPY --chmod=… --chown=…`, or \
             chmod and chown in the RUN that creates them.",
            Severity::Warning,
        ),
        FindingKind::Overwritten => text(
            "Files rewritten by a later layer",
            "A layer rewrites files that an earlier layer shipped: the earlier content is still \
             downloaded with the image.",
            "Produce the final content in one step: generate, patch or configure files in the \
             RUN that installs them, or in a build stage.",
            Severity::Warning,
        ),
        FindingKind::CacheLeft => text(
            "Package cache left in the image",
            "A package manager's or build tool's cache (apt's lists, pip, npm, yarn, Go's build \
             cache, cargo's registry, temporary files) is left in the final image; nothing \
             needs it at run time.",
            "Clean it in the RUN that fills it (`rm -rf /var/lib/apt/lists/*`, `pip install \
             --no-cache-dir`, `apk add --no-cache`), or mount it for the build only: `RUN \
             --mount=type=cache,target=/root/.cache/pip pip install …`.",
            Severity::Warning,
        ),
        FindingKind::BuildToolchain => text(
            "Build toolchain in the final image",
            "Compilers, headers (`-dev` packages) and build tools are installed in the final \
             image: they are needed to build, not to run, and they give anyone who gets in a \
             way to build tools.",
            "Build in a separate stage (`FROM … AS build`) and COPY only what it builds into a \
             final stage on a small base.",
            Severity::Warning,
        ),
        FindingKind::CacheOrder => text(
            "Whole build context copied before the dependency install",
            "A broad `COPY .` comes before the step that installs dependencies (`npm ci`, `pip \
             install -r`, `go mod download`, `bundle install`, `cargo build`): a change to any \
             source file invalidates the build cache, and every build installs them again.",
            "Copy the dependency manifests first (package.json and its lockfile, \
             requirements.txt, go.mod and go.sum, Gemfile.lock, Cargo.lock), run the install, \
             then copy the rest.",
            Severity::Warning,
        ),
        FindingKind::ContextLeaked => text(
            "Build context files copied into the image",
            "Files of the build context that belong in no image (`.git`, a host \
             `node_modules`, `.env` files, the Dockerfile) were copied in by a broad COPY: \
             they cost bytes, and can give away history and credentials.",
            "List them in `.dockerignore` (`.git`, `**/.env`, `node_modules`, `Dockerfile`), \
             or COPY only the paths the image needs.",
            Severity::Warning,
        ),
        FindingKind::Duplicate => text(
            "Identical files at several paths",
            "The same bytes are stored at several paths of the final image.",
            "Keep one copy, and hard-link or symlink the others to it.",
            Severity::Note,
        ),
        FindingKind::RunsAsRoot => text(
            "Runs as root",
            "The image sets no USER (or USER root, or uid 0): its processes run as root in the \
             container, and one that is broken into owns the container and what is mounted in \
             it.",
            "Add `USER` with an unprivileged uid (`USER 10001`) after the steps that need root.",
            Severity::Warning,
        ),
        FindingKind::SetuidFile => text(
            "Setuid or setgid files",
            "Files with the setuid or setgid bit run with their owner's or group's privileges: \
             a way to root for anyone who gets a shell in the container.",
            "Remove the bits where the image does not need them: `chmod u-s,g-s` on the files \
             named, or `find / -xdev -perm /6000 -type f -exec chmod a-s {} +`.",
            Severity::Note,
        ),
        FindingKind::WorldWritable => text(
            "World-writable paths",
            "Files or directories outside the temporary directories that any user may write: \
             any process in the container can change them.",
            "Drop the write bit for others (`chmod o-w`), or give a shared directory the sticky \
             bit (`chmod +t`).",
            Severity::Warning,
        ),
        FindingKind::NoHealthcheck => text(
            "No health check",
            "The config has no HEALTHCHECK: an engine can tell that the service's process runs, \
             not that it works.",
            "Add `HEALTHCHECK CMD …` for a service (an orchestrator's own probes, such as \
             Kubernetes' liveness and readiness probes, do as well).",
            Severity::Note,
        ),
        FindingKind::LargeLayer => text(
            "Very large layer",
            &format!(
                "A single layer ships more than {}: any change to it ships all of it again, \
                 and every host pulls and unpacks it whole.",
                size(crate::analysis::findings::LARGE_LAYER)
            ),
            "Put what changes rarely (dependencies, models) and what changes often (the \
             application) in layers of their own.",
            Severity::Note,
        ),
        FindingKind::ManyLayers => text(
            "Too many layers",
            &format!(
                "The image has more than {} layers: each is a download and a mount, and the \
                 overlay driver stops at 128.",
                crate::analysis::findings::MANY_LAYERS
            ),
            "Merge RUN steps that belong together, and build in stages so that the final \
             image has few layers.",
            Severity::Note,
        ),
        FindingKind::Secret => text(
            "Secret in a layer",
            "A file some layer ships holds a secret: a private key, a cloud key (AWS, GCP, \
             Azure), a token (GitHub, GitLab, Slack, Stripe, npm), or a credential file (.env, \
             .npmrc, .pypirc, .netrc, .git-credentials, docker's config.json, a kubeconfig). A \
             later layer deleting it does not help: the layer that shipped it is still \
             downloaded with the image, and anyone who pulls the image can read it.",
            "Rotate the secret. Keep it out of the image: pass it to the build with `RUN \
             --mount=type=secret`, use it in a build stage that the final image does not COPY \
             it from, and list files of the build context in `.dockerignore`.",
            Severity::Error,
        ),
        FindingKind::SecretInConfig => text(
            "Secret in the image's config",
            "The image's config shows a secret to anyone who pulls it (`docker inspect`, \
             `docker history`): an ENV variable or a label named as a credential or holding a \
             token, or a build argument or command the history records.",
            "Rotate the secret. Pass it when the container starts (`docker run -e`, a secret \
             store), and to the build with `RUN --mount=type=secret` instead of `--build-arg` \
             or ENV.",
            Severity::Error,
        ),
    }
}

/// What to do about any secret that reached an image.
const SECRET_FIX: &str = "rotate it, and keep it out of the image: `RUN --mount=type=secret` \
     for the build, a build stage that the final image does not COPY it from, or \
     `.dockerignore` for a file of the build context";

/// The secret a finding holds, shown as it may be: `a GitHub token (ghp_…, 40 characters)`.
fn secret_named(s: &Secret) -> String {
    let what = secret_rule(s.rule);
    let unit = if s.length == 1 {
        "character"
    } else {
        "characters"
    };
    if s.prefix.is_empty() {
        format!("{what} ({} {unit})", s.length)
    } else {
        format!("{what} ({}…, {} {unit})", s.prefix, s.length)
    }
}

/// A secret in a file: the layer that ships it and, when a later layer deleted it, that it is
/// still shipped.
fn secret_in_file(f: &Finding, commands: &[Option<&str>]) -> String {
    let Some(s) = &f.secret else {
        return String::new();
    };
    let shipped = f
        .shipped_by
        .map_or_else(|| "a layer".into(), |k| layer_name(commands, k));
    let path = f.paths.first().map_or("a file", String::as_str);
    let more = match s.count {
        0 | 1 => String::new(),
        2 => ", and 1 more of the kind".into(),
        n => format!(", and {} more of the kind", n - 1),
    };
    let state = match (f.hidden_by, f.shipped_by) {
        (Some(h), Some(k)) if h == k => {
            "; the same layer writes over it, but it is still shipped: anyone who pulls the \
             image can read it"
                .to_string()
        }
        (Some(h), _) => format!(
            "; deleted in {}, but still shipped: anyone who pulls the image can read it",
            layer_name(commands, h)
        ),
        (None, _) => ", in the final image: anyone who runs or pulls the image can read it".into(),
    };
    format!(
        "{shipped} ships {} in {path}{more}{state}; {SECRET_FIX}",
        secret_named(s)
    )
}

/// A secret in the config: `Env`, a label, or the history.
fn secret_in_config(f: &Finding, commands: &[Option<&str>]) -> String {
    let Some(s) = &f.secret else {
        return String::new();
    };
    let name = s.name.as_deref().map(|n| format!("`{n}`"));
    let what = secret_named(s);
    match s.place {
        Place::Env => format!(
            "the config's Env sets {} to {what}: anyone who pulls the image reads it \
             (`docker inspect`); pass it when the container starts (`docker run -e`, a secret \
             store) and to the build with `RUN --mount=type=secret`, and rotate it",
            name.unwrap_or_else(|| "a variable".into())
        ),
        Place::Label => format!(
            "the label {} holds {what}: anyone who pulls the image reads it (`docker \
             inspect`); remove it from LABEL, and rotate it",
            name.unwrap_or_else(|| "of the config".into())
        ),
        Place::BuildArg => format!(
            "the build argument {} holds {what}, and the image's provenance attestation \
             records it: anyone who pulls the image with its attestations reads it (`docker \
             buildx imagetools inspect --format '{{{{json .Provenance}}}}'`); pass it with \
             `RUN --mount=type=secret` instead of `--build-arg`, and rotate it",
            name.unwrap_or_else(|| "of the build".into())
        ),
        Place::History | Place::File => {
            let entry = match (f.shipped_by, s.entry) {
                (Some(k), _) => layer_name(commands, k),
                (None, Some(e)) => format!("history entry {e}"),
                (None, None) => "the history".into(),
            };
            let named = name.map_or_else(String::new, |n| format!(" as {n}"));
            let repeated = match s.count {
                0 | 1 => String::new(),
                2 => " (and 1 more history entry)".into(),
                n => format!(" (and {} more history entries)", n - 1),
            };
            format!(
                "{entry} records {what}{named} in the image's history{repeated}: build \
                 arguments and commands are kept in the image (`docker history`); pass it with \
                 `RUN --mount=type=secret` instead of `--build-arg`, and rotate it"
            )
        }
    }
}

/// What a secret rule (`layer::secrets::Rule::id`) finds, in words.
#[must_use]
pub fn secret_rule(id: &str) -> &'static str {
    match id {
        "private-key" => "a private key",
        "aws-access-key-id" => "an AWS access key id",
        "aws-secret-access-key" => "an AWS secret access key",
        "gcp-service-account" => "a GCP service-account key",
        "azure-storage-key" => "an Azure storage account key",
        "github-token" => "a GitHub token",
        "gitlab-token" => "a GitLab token",
        "slack-token" => "a Slack token",
        "stripe-key" => "a Stripe live key",
        "npm-token" => "an npm token",
        "dotenv" => "a credential in an .env file",
        "npmrc" => "an npm registry token (.npmrc)",
        "pypirc" => "a PyPI password (.pypirc)",
        "netrc" => "a password in a .netrc",
        "git-credentials" => "a git credential (.git-credentials)",
        "docker-auth" => "a registry login (docker's config.json)",
        "kubeconfig" => "a Kubernetes credential (kubeconfig)",
        _ => "a credential",
    }
}

/// The fix for a cache left in the image.
#[must_use]
pub fn cache_fix(cache: Cache) -> &'static str {
    match cache {
        Cache::AptLists => {
            "add `&& rm -rf /var/lib/apt/lists/*` to the RUN that runs `apt-get update`"
        }
        Cache::AptArchives => {
            "add `&& apt-get clean` to the RUN that installs packages, or mount the cache \
             (`RUN --mount=type=cache,target=/var/cache/apt`)"
        }
        Cache::Apk => "use `apk add --no-cache`",
        Cache::Dnf => {
            "add `&& dnf clean all` to the RUN that installs packages, or mount the cache \
             (`RUN --mount=type=cache,target=/var/cache/dnf`)"
        }
        Cache::Yum => "add `&& yum clean all` to the RUN that installs packages",
        Cache::Pip => {
            "use `pip install --no-cache-dir`, or mount the cache \
             (`RUN --mount=type=cache,target=/root/.cache/pip`)"
        }
        Cache::Npm => {
            "add `&& npm cache clean --force`, or mount the cache \
             (`RUN --mount=type=cache,target=/root/.npm`)"
        }
        Cache::Yarn => "add `&& yarn cache clean`, or use a build stage",
        Cache::GoBuild | Cache::CargoRegistry => "build in a separate stage and COPY the binary",
        Cache::Tmp | Cache::VarTmp => "remove temporary files in the RUN that creates them",
    }
}

/// `layer 3 (`RUN apt-get update`)`, or `layer 3` without history.
fn layer_name(commands: &[Option<&str>], k: usize) -> String {
    match commands.get(k).copied().flatten() {
        Some(c) => format!("layer {k} (`{}`)", short_command(c, 60)),
        None => format!("layer {k}"),
    }
}

/// The one path, or `N files (a, b, c)`, with `…` when files are left out.
fn files_named(f: &Finding) -> String {
    let paths = &f.paths;
    if f.files == 1 {
        paths.first().cloned().unwrap_or_default()
    } else if f.files > paths.len() as u64 {
        format!("{} files ({}, …)", f.files, paths.join(", "))
    } else {
        format!("{} files ({})", f.files, paths.join(", "))
    }
}

/// The comparison's verdict in one line: "B is 25.4% smaller: 678.23 kB less, mostly
/// /opt/toolchain".
#[must_use]
pub fn verdict(v: &Verdict) -> String {
    let amount = size(v.size.delta.unsigned_abs());
    let percent = v
        .size
        .percent
        .map(|p| format!("{:.1}% ", p.abs()))
        .unwrap_or_default();
    let head = match v.size.delta.signum() {
        0 => {
            let same = format!("B is the same size as A ({})", size(v.size.a));
            return match v.directories {
                0 => format!("{same}, with the same files"),
                1 => format!("{same}; files differ in 1 directory"),
                n => format!("{same}; files differ in {n} directories"),
            };
        }
        -1 => format!("B is {percent}smaller: {amount} less"),
        _ => format!("B is {percent}larger: {amount} more"),
    };
    let head = if v.mostly.is_empty() {
        head
    } else {
        format!("{head}, mostly {}", v.mostly.join(", "))
    };
    if v.packages.is_empty() {
        return head;
    }
    let packages: Vec<String> = v
        .packages
        .iter()
        .map(|(name, delta)| format!("{name} {}", signed_size(*delta)))
        .collect();
    format!("{head}; packages {}", packages.join(", "))
}

/// The numbers the CI rules judged, named.
#[must_use]
pub fn metrics(kind: MetricsKind) -> &'static str {
    match kind {
        MetricsKind::Exact => "exact (strata)",
        MetricsKind::Dive => "dive 0.13 formulas",
    }
}

/// What a CI rule compared and, on failure, by how much it missed, in one line.
#[must_use]
pub fn rule_outcome(o: &RuleOutcome) -> String {
    let Some(threshold) = o.threshold else {
        return match &o.origin {
            Origin::Flag => format!("disabled by {}", o.rule.flag()),
            Origin::File { .. } => format!("disabled at {}", o.origin),
            Origin::Default => "disabled by default".to_string(),
        };
    };
    let failed = o.status == Status::Fail;
    match (o.rule, threshold, o.actual) {
        (Rule::LowestEfficiency, Value::Ratio(t), Value::Ratio(a)) => {
            if a.is_nan() {
                "efficiency is undefined (the image holds no file bytes); passes, as in dive".into()
            } else if failed {
                let (a, t, d) = ratio_texts(a, t);
                format!("efficiency {a} is below the lowest allowed {t} by {d}")
            } else {
                let (a, t, _) = ratio_texts(a, t);
                format!("efficiency {a} is not below the lowest allowed {t}")
            }
        }
        (Rule::HighestWastedBytes, Value::Bytes(t), Value::Bytes(a)) => {
            if failed {
                format!(
                    "wasted bytes {} are above the highest allowed {} by {}",
                    bytes_text(a),
                    bytes_text(t),
                    bytes_text(a.saturating_sub(t))
                )
            } else {
                format!(
                    "wasted bytes {} are not above the highest allowed {}",
                    bytes_text(a),
                    bytes_text(t)
                )
            }
        }
        (Rule::HighestUserWastedPercent, Value::Ratio(t), Value::Ratio(a)) => {
            if a.is_nan() {
                "user wasted ratio is NaN (the layers above the base hold no bytes and none are \
                 wasted); passes, as in dive"
                    .into()
            } else if a == f64::INFINITY {
                let (_, t, _) = ratio_texts(t, t);
                format!(
                    "user wasted ratio is +Inf (bytes are wasted, but the layers above the base \
                     hold none); above the highest allowed {t}: fails, as in dive"
                )
            } else if failed {
                let (a, t, d) = ratio_texts(a, t);
                format!("user wasted ratio {a} is above the highest allowed {t} by {d}")
            } else {
                let (a, t, _) = ratio_texts(a, t);
                format!("user wasted ratio {a} is not above the highest allowed {t}")
            }
        }
        // `Rules::resolve` pairs each rule with its kind of value; nothing else is judged.
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::findings;
    use crate::overlay::testkit::{E, build};

    /// The findings of layers built from `layers`, worded with `commands`.
    fn worded(layers: &[&[E]], commands: &[&str]) -> Vec<(FindingKind, Option<usize>, String)> {
        let fs = build(layers);
        let commands: Vec<Option<&str>> = commands.iter().map(|c| Some(*c)).collect();
        findings::compute(&fs)
            .iter()
            .map(|f| (f.kind, f.hidden_by, finding(f, &commands)))
            .collect()
    }

    fn one(layers: &[&[E]], commands: &[&str]) -> String {
        let found = worded(layers, commands);
        assert_eq!(found.len(), 1, "{found:#?}");
        found[0].2.clone()
    }

    #[test]
    fn a_deletion_names_both_layers_by_command_and_the_largest_files() {
        let m = one(
            &[
                &[
                    E::File("d/a", "xxxxx"),
                    E::File("d/b", "xxxxxxxxx"),
                    E::File("d/c", "yyyyy"),
                    E::File("d/d", "yyyyyyyyy"),
                    E::File("d/e", "z"),
                    E::File("keep", "kept"),
                ],
                &[E::Wh("d")],
            ],
            &["ADD rootfs.tar /", "RUN rm -rf /d"],
        );
        assert_eq!(
            m,
            "layer 1 (`RUN rm -rf /d`) deletes 5 files (/d/b, /d/d, /d/a, …), 29 B that layer 0 \
             (`ADD rootfs.tar /`) shipped: delete them in the same RUN that creates them, or \
             create them in a build stage and COPY only what is needed"
        );
    }

    #[test]
    fn each_kind_has_its_sentence() {
        let found = worded(
            &[
                &[
                    E::File("gone", "0123456789"),
                    E::File("rewritten", "old"),
                    E::File("chmodded", "same bytes"),
                ],
                &[
                    E::Wh("gone"),
                    E::File("rewritten", "new content"),
                    E::FileMode("chmodded", "same bytes", 0o600),
                ],
            ],
            &["COPY . /", "RUN fix"],
        );
        let sentence = |kind| {
            found
                .iter()
                .find(|f| f.0 == kind)
                .map(|f| f.2.clone())
                .unwrap_or_default()
        };
        assert_eq!(
            sentence(FindingKind::MetadataCopy),
            "layer 1 (`RUN fix`) ships /chmodded again with the same content (10 B), only to \
             change metadata: set mode and owner where the files are created (COPY \
             --chmod/--chown, or chmod/chown in the same RUN)"
        );
        assert_eq!(
            sentence(FindingKind::Overwritten),
            "layer 1 (`RUN fix`) rewrites /rewritten that layer 0 (`COPY . /`) shipped (3 B \
             lost): produce the final content in one step"
        );
        assert!(sentence(FindingKind::DeletedLater).starts_with(
            "layer 1 (`RUN fix`) deletes /gone, 10 B that layer 0 (`COPY . /`) shipped: "
        ));
    }

    #[test]
    fn a_path_shipped_twice_in_one_layer_is_one_sentence_whatever_the_kind() {
        let m = one(
            &[&[
                E::File("f", "first copy"),
                E::File("f", "second"),
                E::File("keep", "k"),
            ]],
            &["COPY . /"],
        );
        assert_eq!(
            m,
            "layer 0 (`COPY . /`) ships /f twice in the same layer (10 B lost): write each file \
             once"
        );
    }

    /// Without history a layer is named by its index alone.
    #[test]
    fn a_layer_without_history_is_its_index() {
        let fs = build(&[
            &[E::File("f", "0123456789"), E::File("k", "k")],
            &[E::Wh("f")],
        ]);
        let found = findings::compute(&fs);
        assert!(
            finding(&found[0], &[None, Some("RUN rm /f")])
                .starts_with("layer 1 (`RUN rm /f`) deletes /f, 10 B that layer 0 shipped:"),
        );
        assert!(
            finding(&found[0], &[]).starts_with("layer 1 deletes /f, 10 B that layer 0 shipped:")
        );
    }

    /// A chmod copy deleted later: the deleting layer deletes the copy; the chmod layer does
    /// not delete anything.
    #[test]
    fn a_chmod_copy_deleted_later_is_worded_on_each_layer() {
        let found = worded(
            &[
                &[E::File("f", "0123456789"), E::File("keep", "k")],
                &[E::FileMode("f", "0123456789", 0o600)],
                &[E::Wh("f")],
            ],
            &["ADD rootfs.tar /", "RUN chmod 600 /f", "RUN rm /f"],
        );
        let messages: Vec<&str> = found.iter().map(|f| f.2.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("layer 2 (`RUN rm /f`) deletes /f, 10 B that layer 1")),
            "{messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("layer 1 (`RUN chmod 600 /f`) ships /f again")),
            "{messages:#?}"
        );
    }

    /// The list of a finding's paths ends with "…" only when files are left out of it.
    #[test]
    fn an_ellipsis_only_when_files_are_left_out() {
        let found = worded(
            &[
                &[
                    E::File("two/a", "aa"),
                    E::File("two/b", "b"),
                    E::File("four/a", "aaaa"),
                    E::File("four/b", "bbb"),
                    E::File("four/c", "cc"),
                    E::File("four/d", "d"),
                ],
                &[E::Wh("two")],
                &[E::Wh("four")],
            ],
            &["ADD / /", "RUN rm -r /two", "RUN rm -r /four"],
        );
        let message = |hidden: usize| {
            found
                .iter()
                .find(|f| f.1 == Some(hidden))
                .map(|f| f.2.clone())
                .unwrap_or_default()
        };
        assert!(
            message(1).contains("deletes 2 files (/two/a, /two/b), 3 B"),
            "{}",
            message(1)
        );
        assert!(
            message(2).contains("deletes 4 files (/four/a, /four/b, /four/c, …), 10 B"),
            "{}",
            message(2)
        );
    }

    #[test]
    fn a_cache_left_says_where_from_and_its_fix() {
        let m = one(
            &[
                &[E::File("bin/sh", "shell")],
                &[
                    E::File("var/lib/apt/lists/a_Packages", "0123456789"),
                    E::File("var/lib/apt/lists/b_Packages", "01234"),
                ],
            ],
            &["ADD rootfs.tar /", "RUN apt-get update"],
        );
        assert_eq!(
            m,
            "/var/lib/apt/lists holds 15 B in 2 files in the final image, mostly from layer 1 \
             (`RUN apt-get update`): add `&& rm -rf /var/lib/apt/lists/*` to the RUN that runs \
             `apt-get update`"
        );
        // One file is "1 file"; no layer known, no "mostly from".
        let fs = build(&[
            &[E::File("bin/sh", "shell")],
            &[E::File("var/cache/apk/APKINDEX.tar.gz", "0123")],
        ]);
        let mut f = findings::compute(&fs).remove(0);
        assert!(
            finding(&f, &[]).starts_with(
                "/var/cache/apk holds 4 B in 1 file in the final image, mostly from layer 1: "
            ),
            "{}",
            finding(&f, &[])
        );
        f.shipped_by = None;
        assert_eq!(
            finding(&f, &[]),
            "/var/cache/apk holds 4 B in 1 file in the final image: use `apk add --no-cache`"
        );
    }

    /// Equal sizes are shown in the order of their sentences ("layer 10" before "layer 2"),
    /// larger ones first, and the first 20 only.
    #[test]
    fn equal_sizes_are_shown_in_the_order_of_their_sentences() {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let n = FINDINGS_SHOWN + 2;
        let mut base: Vec<E> = (1..=n)
            .map(|k| E::File(leak(format!("f{k}")), "0123456789"))
            .collect();
        base.push(E::File("big", "01234567890123456789"));
        base.push(E::File("keep", "k"));
        let mut layers: Vec<Vec<E>> = vec![base];
        layers.extend((1..=n).map(|k| vec![E::Wh(leak(format!("f{k}")))]));
        layers.push(vec![E::Wh("big")]);
        let layers: Vec<&[E]> = layers.iter().map(Vec::as_slice).collect();
        let fs = build(&layers);
        let found = findings::compute(&fs);
        let mut worded = shown(found.iter().map(|f| (f, finding(f, &[]))).collect());
        worded.truncate(FINDINGS_SHOWN);
        let hidden: Vec<usize> = worded.iter().filter_map(|(f, _)| f.hidden_by).collect();
        // The 20 B finding first, then the 10 B ones by their layer's number as text.
        let mut expected: Vec<String> = (1..=n).map(|k| k.to_string()).collect();
        expected.sort();
        let expected: Vec<usize> = std::iter::once(n + 1)
            .chain(expected.iter().filter_map(|k| k.parse().ok()))
            .take(FINDINGS_SHOWN)
            .collect();
        assert_eq!(hidden, expected);
        assert_eq!(worded[0].0.bytes, 20);
    }

    /// Every cache directory has its own fix, and the directories are distinct.
    #[test]
    fn every_cache_has_a_fix() {
        let dirs: std::collections::HashSet<&str> = Cache::ALL.iter().map(|c| c.dir()).collect();
        assert_eq!(dirs.len(), Cache::ALL.len());
        assert!(Cache::ALL.iter().all(|&c| !cache_fix(c).is_empty()));
    }

    fn verdict_of(a: u64, b: u64, mostly: &[&str], directories: usize) -> String {
        verdict(&Verdict {
            size: crate::analysis::compare::Delta::new(a, b),
            mostly: mostly.iter().map(ToString::to_string).collect(),
            directories,
            packages: Vec::new(),
        })
    }

    #[test]
    fn verdicts_say_which_is_smaller_by_how_much_and_where() {
        assert_eq!(
            verdict_of(1_000_000, 500_000, &["/usr/lib", "/usr/libexec/gcc"], 4),
            "B is 50.0% smaller: 500 kB less, mostly /usr/lib, /usr/libexec/gcc"
        );
        assert_eq!(
            verdict_of(1000, 1020, &["/etc"], 4),
            "B is 2.0% larger: 20 B more, mostly /etc"
        );
        // From nothing there is no percentage; no directory weighs, none is named.
        assert_eq!(verdict_of(0, 20, &[], 0), "B is larger: 20 B more");
        assert_eq!(
            verdict_of(10, 10, &[], 1),
            "B is the same size as A (10 B); files differ in 1 directory"
        );
        assert_eq!(
            verdict_of(10, 10, &[], 2),
            "B is the same size as A (10 B); files differ in 2 directories"
        );
        assert_eq!(
            verdict_of(10, 10, &[], 0),
            "B is the same size as A (10 B), with the same files"
        );
    }

    use crate::ci::{CiFlags, Metrics, Rules};

    /// The three rules set by flags (or by `.dive-ci` text, when given), judged on `m`: each
    /// rule's status and sentence.
    fn judged(flags: [&str; 3], file: Option<&str>, m: Metrics) -> Vec<(Status, String)> {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(text) = file {
            std::fs::write(dir.path().join(crate::ci::DEFAULT_CONFIG), text).expect("write");
        }
        let flag = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let flags = CiFlags {
            lowest_efficiency: flag(flags[0]),
            highest_wasted_bytes: flag(flags[1]),
            highest_user_wasted_percent: flag(flags[2]),
            config: None,
            fail_on: None,
        };
        let rules = Rules::resolve(&flags, dir.path()).expect("valid rules");
        rules
            .evaluate(&m)
            .iter()
            .map(|o| (o.status, rule_outcome(o)))
            .collect()
    }

    fn sentences(judged: Vec<(Status, String)>) -> Vec<String> {
        judged.into_iter().map(|(_, s)| s).collect()
    }

    /// dive's probe image: efficiency 0.8, 2000 wasted bytes, user wasted ratio 0.5.
    const PROBE: Metrics = Metrics {
        efficiency: 0.8,
        wasted_bytes: 2000,
        user_wasted_ratio: 0.5,
    };

    #[test]
    fn rule_sentences_say_by_how_much() {
        let m = Metrics {
            efficiency: 0.62,
            wasted_bytes: 25_000_000,
            user_wasted_ratio: 0.15,
        };
        assert_eq!(
            sentences(judged(["0.9", "20MB", "0.1"], None, m)),
            [
                "efficiency 0.62 is below the lowest allowed 0.90 by 0.28",
                "wasted bytes 25000000 bytes (25.0 MB) are above the highest allowed 20000000 \
                 bytes (20.0 MB) by 5000000 bytes (5.0 MB)",
                "user wasted ratio 0.15 is above the highest allowed 0.10 by 0.05",
            ]
        );
        // Values that print alike at two decimals get the decimals that tell them apart.
        assert_eq!(
            sentences(judged(["0.80000001", "1999", "disabled"], None, PROBE))[..2],
            [
                "efficiency 0.80000000 is below the lowest allowed 0.80000001 by 0.00000001",
                "wasted bytes 2000 bytes are above the highest allowed 1999 bytes by 1 byte",
            ]
        );
        assert_eq!(
            sentences(judged(["0.8", "2000", "0.5"], None, PROBE)),
            [
                "efficiency 0.80 is not below the lowest allowed 0.80",
                "wasted bytes 2000 bytes are not above the highest allowed 2000 bytes",
                "user wasted ratio 0.50 is not above the highest allowed 0.50",
            ]
        );
    }

    #[test]
    fn a_disabled_rule_says_who_disabled_it() {
        assert_eq!(
            sentences(judged(
                ["disabled", "", ""],
                Some("rules:\n  highestUserWastedPercent: disabled\n"),
                PROBE
            )),
            [
                "disabled by --lowestEfficiency",
                "disabled by default",
                "disabled at .dive-ci:2"
            ]
        );
    }

    #[test]
    fn nan_and_infinite_metrics_are_spelled_as_dive_judges_them() {
        let nan = Metrics {
            efficiency: f64::NAN,
            wasted_bytes: 0,
            user_wasted_ratio: f64::NAN,
        };
        let got = judged(["1", "0", "0"], None, nan);
        assert_eq!(
            (got[0].0, got[0].1.as_str()),
            (
                Status::Pass,
                "efficiency is undefined (the image holds no file bytes); passes, as in dive"
            )
        );
        assert_eq!(
            (got[2].0, got[2].1.as_str()),
            (
                Status::Pass,
                "user wasted ratio is NaN (the layers above the base hold no bytes and none are \
                 wasted); passes, as in dive"
            )
        );
        let inf = Metrics {
            efficiency: 0.99,
            wasted_bytes: 1000,
            user_wasted_ratio: f64::INFINITY,
        };
        let got = judged(["disabled", "disabled", "1"], None, inf);
        assert_eq!(
            (got[2].0, got[2].1.as_str()),
            (
                Status::Fail,
                "user wasted ratio is +Inf (bytes are wasted, but the layers above the base hold \
                 none); above the highest allowed 1.00: fails, as in dive"
            )
        );
        // A finite ratio above one is an ordinary failure.
        let two = Metrics {
            user_wasted_ratio: 2.0,
            ..inf
        };
        assert_eq!(
            judged(["disabled", "disabled", "1"], None, two)[2].1,
            "user wasted ratio 2.00 is above the highest allowed 1.00 by 1.00"
        );
    }

    /// A secret's sentence says which layer ships it, whether a later one deleted it, and shows
    /// only what the finding holds of it: the masked prefix and the length.
    #[test]
    fn secrets_say_where_they_are_and_that_deleting_them_is_no_fix() {
        use crate::analysis::Severity;
        let secret = |rule, place, name: Option<&str>, prefix: &str, length, count| Secret {
            rule,
            place,
            name: name.map(Into::into),
            entry: Some(4),
            offset: Some(0),
            prefix: prefix.into(),
            length,
            count,
        };
        let commands = [
            Some("ADD rootfs.tar /"),
            Some("COPY id_rsa /root/.ssh/id_rsa"),
            Some("RUN rm /root/.ssh/id_rsa"),
        ];
        let mut f = Finding::new(FindingKind::Secret, Severity::Error);
        f.shipped_by = Some(1);
        f.hidden_by = Some(2);
        f.paths = vec!["/root/.ssh/id_rsa".into()];
        f.secret = Some(secret("private-key", Place::File, None, "", 1704, 1));
        assert_eq!(
            finding(&f, &commands),
            format!(
                "layer 1 (`COPY id_rsa /root/.ssh/id_rsa`) ships a private key (1704 characters) \
                 in /root/.ssh/id_rsa; deleted in layer 2 (`RUN rm /root/.ssh/id_rsa`), but still \
                 shipped: anyone who pulls the image can read it; {SECRET_FIX}"
            )
        );
        f.hidden_by = None;
        f.secret = Some(secret(
            "aws-access-key-id",
            Place::File,
            None,
            "AKIA",
            20,
            3,
        ));
        assert!(
            finding(&f, &commands).starts_with(
                "layer 1 (`COPY id_rsa /root/.ssh/id_rsa`) ships an AWS access key id (AKIA…, \
                 20 characters) in /root/.ssh/id_rsa, and 2 more of the kind, in the final \
                 image: "
            ),
            "{}",
            finding(&f, &commands)
        );
        let mut c = Finding::new(FindingKind::SecretInConfig, Severity::Error);
        c.secret = Some(secret(
            "credential",
            Place::Label,
            Some("api.token"),
            "s3",
            9,
            1,
        ));
        assert!(
            finding(&c, &commands)
                .starts_with("the label `api.token` holds a credential (s3…, 9 characters): ")
        );
        c.secret = Some(secret(
            "npm-token",
            Place::History,
            Some("NPM_TOKEN"),
            "npm_",
            40,
            2,
        ));
        assert!(
            finding(&c, &commands).starts_with(
                "history entry 4 records an npm token (npm_…, 40 characters) as `NPM_TOKEN` in \
                 the image's history (and 1 more history entry): "
            ),
            "{}",
            finding(&c, &commands)
        );
        c.shipped_by = Some(2);
        assert!(finding(&c, &commands).starts_with("layer 2 (`RUN rm /root/.ssh/id_rsa`) records"));
        c.shipped_by = None;
        c.secret = Some(secret(
            "github-token",
            Place::BuildArg,
            Some("GH_TOKEN"),
            "ghp_",
            40,
            1,
        ));
        let said = finding(&c, &commands);
        assert!(
            said.starts_with(
                "the build argument `GH_TOKEN` holds a GitHub token (ghp_…, 40 characters), and \
                 the image's provenance attestation records it: "
            ) && said.contains("{{json .Provenance}}")
                && said.ends_with("instead of `--build-arg`, and rotate it"),
            "{said}"
        );
    }

    /// Every kind of the catalogue has its sentence, naming what the finding holds.
    #[test]
    fn every_kind_is_worded_with_its_facts() {
        use crate::analysis::Severity;
        for kind in FindingKind::ALL {
            let mut f = Finding::new(kind, Severity::Warning);
            f.bytes = 3_000_000;
            f.files = 2;
            f.shipped_by = Some(2);
            f.trigger = Some(1);
            f.paths = vec!["/app/.git".into(), "/usr/bin/su".into()];
            f.packages = vec!["gcc-12".into()];
            f.value = Some("7".into());
            if matches!(
                kind,
                FindingKind::DeletedLater | FindingKind::MetadataCopy | FindingKind::Overwritten
            ) {
                f.hidden_by = Some(3);
            }
            if kind == FindingKind::CacheLeft {
                f.cache = Some(Cache::Pip);
            }
            if matches!(kind, FindingKind::Secret | FindingKind::SecretInConfig) {
                f.hidden_by = Some(3);
                f.secret = Some(Secret {
                    rule: "github-token",
                    place: if kind == FindingKind::Secret {
                        Place::File
                    } else {
                        Place::Env
                    },
                    name: Some("GH_TOKEN".into()),
                    entry: None,
                    offset: Some(5),
                    prefix: "ghp_".into(),
                    length: 40,
                    count: 1,
                });
            }
            let s = finding(&f, &[None, Some("COPY . ."), Some("RUN npm ci"), None]);
            assert!(!s.is_empty(), "{kind:?}");
            let facts: &[&str] = match kind {
                FindingKind::BuildToolchain => &["7 build-time packages", "gcc-12", "3 MB"],
                FindingKind::CacheOrder => {
                    &["layer 1 (`COPY . .`)", "layer 2 (`RUN npm ci`)", "`7`"]
                }
                FindingKind::ContextLeaked => &["/app/.git", "`7`", ".dockerignore"],
                FindingKind::Duplicate => &["2 identical files", "3 MB"],
                FindingKind::RunsAsRoot => &["USER is `7`"],
                FindingKind::SetuidFile => &["2 files have", "/usr/bin/su"],
                FindingKind::WorldWritable => &["2 paths", "/app/.git"],
                FindingKind::NoHealthcheck => &["HEALTHCHECK"],
                FindingKind::LargeLayer => &["layer 2 (`RUN npm ci`) ships 3 MB"],
                FindingKind::ManyLayers => &["7 layers"],
                FindingKind::CacheLeft => &["/root/.cache/pip", "--no-cache-dir"],
                FindingKind::Secret => &[
                    "layer 2 (`RUN npm ci`) ships a GitHub token (ghp_…, 40 characters) in \
                     /app/.git; deleted in layer 3, but still shipped",
                    "--mount=type=secret",
                    "rotate",
                ],
                FindingKind::SecretInConfig => &[
                    "Env sets `GH_TOKEN` to a GitHub token (ghp_…, 40 characters)",
                    "rotate",
                ],
                _ => &["3 MB"],
            };
            for fact in facts {
                assert!(s.contains(fact), "{kind:?}: {fact} in {s}");
            }
        }
    }

    /// Every kind has a rule text for the reports that describe their rules, with a title of
    /// its own.
    #[test]
    fn every_kind_has_a_rule_text() {
        let mut titles = std::collections::HashSet::new();
        for kind in FindingKind::ALL {
            let t = rule(kind);
            assert!(!t.what.is_empty() && !t.fix.is_empty(), "{kind:?}");
            assert!(titles.insert(t.title), "{kind:?}: {} twice", t.title);
        }
    }
}
