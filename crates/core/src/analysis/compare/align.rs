//! Layer alignment: the shared base (leading layers with the same diff_id), then the remaining
//! layers paired by command (a longest common subsequence of normalised commands).

use serde::Serialize;

/// How a row of the alignment pairs the two stacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alignment {
    /// Part of the shared base: the same diff_id at the same position, all layers below shared.
    Shared,
    /// Above the shared base, the same (normalised) command in both.
    Matched,
    /// A layer only A has.
    OnlyA,
    /// A layer only B has.
    OnlyB,
}

/// What alignment needs of one layer.
#[derive(Debug, Clone, Copy, Default)]
pub struct Key<'a> {
    pub diff_id: Option<&'a str>,
    pub command: Option<&'a str>,
}

/// Aligns two layer stacks: rows of (A's index, B's index, how), bottom to top. Every layer of
/// each side appears exactly once, in order. Between two matches, A's unmatched layers come
/// before B's.
pub fn align(a: &[Key<'_>], b: &[Key<'_>]) -> Vec<(Option<usize>, Option<usize>, Alignment)> {
    let shared = a
        .iter()
        .zip(b)
        .take_while(|(x, y)| x.diff_id.is_some() && x.diff_id == y.diff_id)
        .count();
    let mut rows: Vec<_> = (0..shared)
        .map(|i| (Some(i), Some(i), Alignment::Shared))
        .collect();
    let ca: Vec<Option<String>> = a[shared..]
        .iter()
        .map(|k| k.command.map(normalize))
        .collect();
    let cb: Vec<Option<String>> = b[shared..]
        .iter()
        .map(|k| k.command.map(normalize))
        .collect();
    let same = |i: usize, j: usize| ca[i].is_some() && ca[i] == cb[j];
    // lcs[i][j]: the longest common subsequence of ca[i..] and cb[j..].
    let (n, m) = (ca.len(), cb.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if same(i, j) {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && same(i, j) && lcs[i][j] == lcs[i + 1][j + 1] + 1 {
            rows.push((Some(shared + i), Some(shared + j), Alignment::Matched));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            rows.push((Some(shared + i), None, Alignment::OnlyA));
            i += 1;
        } else {
            rows.push((None, Some(shared + j), Alignment::OnlyB));
            j += 1;
        }
    }
    rows
}

/// Dockerfile instructions, as builders write them at the start of a `created_by`.
const INSTRUCTIONS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One Dockerfile step in one form, whichever builder wrote it, so one step built twice (by
/// the same builder or by another) compares equal. The forms, from real images:
///
/// | builder | `RUN mkdir /x` | `COPY app/ /app/` | `ENV A=1` |
/// |---|---|---|---|
/// | Docker (classic) | `/bin/sh -c mkdir /x` | `/bin/sh -c #(nop) COPY dir:3c98… in /app/ ` | `/bin/sh -c #(nop)  ENV A=1` |
/// | buildah, podman | the same | the same (`file:…` for one file) | the same |
/// | BuildKit | `RUN /bin/sh -c mkdir /x # buildkit` | `COPY app/ /app/ # buildkit` | `ENV A=1` |
/// | kaniko | `RUN mkdir /x` (the line as written) | `COPY app/ /app/` | `ENV A=1` |
///
/// With build arguments Docker writes `|2 A=1 B=2 /bin/sh -c …` and BuildKit
/// `RUN |2 A=1 B=2 /bin/sh -c … # buildkit`; a `SHELL` instruction replaces `/bin/sh -c`
/// (`/bin/bash -o pipefail -c …`). The normal form is the instruction in capitals and its
/// arguments, whitespace collapsed: a `RUN` keeps its command (build arguments, the shell,
/// `--mount` and other flags dropped; an exec form `["a", "b"]` becomes `a b`); a `COPY` or
/// `ADD` keeps only its destination (the classic builders name the sources by a content hash,
/// the others by path, so sources never compare; `--from`, `--chown`, `--chmod` are dropped);
/// other instructions keep their arguments. A `created_by` in none of these forms (exec-form
/// `RUN` of the classic builders, other tools) is taken as a `RUN` of its text.
pub fn normalize(command: &str) -> String {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    if words.is_empty() {
        return String::new();
    }
    if words.len() >= 2 && words[words.len() - 2..] == ["#", "buildkit"] {
        words.truncate(words.len() - 2);
    }
    // The classic builders: build arguments, the shell, then `#(nop) INSTRUCTION …` for
    // anything but a RUN. Looked for first: `cmd /S /C` is a shell, not a CMD.
    let classic = strip_shell(strip_build_args(&words));
    let keyword = words
        .first()
        .map(|w| w.to_ascii_uppercase())
        .filter(|w| INSTRUCTIONS.contains(&w.as_str()));
    let (instruction, rest) =
        if let Some(("#(nop)", tail)) = classic.split_first().map(|(w, tail)| (*w, tail)) {
            match tail.split_first() {
                Some((k, tail)) => (k.to_ascii_uppercase(), tail),
                None => (String::new(), tail),
            }
        } else if classic.len() < words.len() {
            ("RUN".to_string(), classic)
        } else if let Some(k) = keyword {
            // BuildKit, kaniko: the instruction first.
            (k, &words[1..])
        } else {
            ("RUN".to_string(), classic)
        };
    let args: Vec<String> = match instruction.as_str() {
        "RUN" => run_command(rest),
        "COPY" | "ADD" => destination(rest).into_iter().collect(),
        _ => rest.iter().map(ToString::to_string).collect(),
    };
    let mut out = instruction;
    for a in args {
        out.push(' ');
        out.push_str(&a);
    }
    out
}

/// Drops `|N K=V …` (N build arguments, each a `K=V` word).
fn strip_build_args<'a, 'b>(words: &'b [&'a str]) -> &'b [&'a str] {
    let n = words
        .first()
        .and_then(|w| w.strip_prefix('|'))
        .and_then(|n| n.parse::<usize>().ok());
    match n {
        Some(n) if words.len() > n && words[1..=n].iter().all(|w| w.contains('=')) => {
            &words[n + 1..]
        }
        _ => words,
    }
}

/// Drops a shell prefix: a shell's path, its options, then `-c` (`/bin/sh -c`,
/// `/bin/bash -o pipefail -c`), or `cmd /S /C` (Windows).
fn strip_shell<'a, 'b>(words: &'b [&'a str]) -> &'b [&'a str] {
    let Some(first) = words.first() else {
        return words;
    };
    let name = first.rsplit('/').next().unwrap_or(first);
    let is_shell = first.starts_with('/')
        && ["sh", "bash", "ash", "dash", "zsh", "ksh", "mksh"].contains(&name);
    if is_shell {
        // A few options at most before `-c`.
        if let Some(c) = words.iter().take(6).position(|w| *w == "-c") {
            return &words[c + 1..];
        }
    } else if first.eq_ignore_ascii_case("cmd")
        && let Some(c) = words
            .iter()
            .take(4)
            .position(|w| w.eq_ignore_ascii_case("/c"))
    {
        return &words[c + 1..];
    }
    words
}

/// A RUN's command: flags (`--mount=…`, `--network=…`), build arguments and the shell dropped;
/// an exec form (`["make", "all"]`) as its words.
fn run_command(words: &[&str]) -> Vec<String> {
    let mut rest = words;
    while let Some((w, tail)) = rest.split_first()
        && w.starts_with("--")
    {
        rest = tail;
    }
    let rest = strip_shell(strip_build_args(rest));
    let joined = rest.join(" ");
    if joined.starts_with('[')
        && let Ok(argv) = serde_json::from_str::<Vec<String>>(&joined)
    {
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        return strip_shell(&argv)
            .iter()
            .flat_map(|a| a.split_whitespace())
            .map(ToString::to_string)
            .collect();
    }
    rest.iter().map(ToString::to_string).collect()
}

/// A COPY's or ADD's destination: the word after `in` in the classic form
/// (`file:3c98… in /app/ `), else the last argument (of the JSON form too), flags skipped;
/// a trailing `/` dropped (`/app/` and `/app` are one place).
fn destination(words: &[&str]) -> Option<String> {
    let words: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let classic = words.len() >= 3
        && words[words.len() - 2] == "in"
        && ["file:", "dir:", "multi:"]
            .iter()
            .any(|p| words[0].starts_with(p));
    let dest = if classic {
        words.last().map(|w| (*w).to_string())
    } else {
        let joined = words.join(" ");
        match serde_json::from_str::<Vec<String>>(&joined) {
            Ok(argv) if joined.starts_with('[') => argv.last().cloned(),
            _ => words.last().map(|w| (*w).to_string()),
        }
    }?;
    let trimmed = dest.trim_end_matches('/');
    Some(if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::Alignment::{Matched, OnlyA, OnlyB, Shared};
    use super::*;

    /// Layers from `(diff_id, command)` pairs.
    fn keys<'a>(layers: &[(&'a str, &'a str)]) -> Vec<Key<'a>> {
        layers
            .iter()
            .map(|&(d, c)| Key {
                diff_id: (!d.is_empty()).then_some(d),
                command: (!c.is_empty()).then_some(c),
            })
            .collect()
    }

    type Row = (Option<usize>, Option<usize>, Alignment);

    fn check(a: &[(&str, &str)], b: &[(&str, &str)], expected: &[Row]) {
        assert_eq!(align(&keys(a), &keys(b)), expected);
    }

    #[test]
    fn shared_base_is_the_leading_run_of_equal_diff_ids() {
        check(
            &[("d0", "base"), ("d1", "RUN a"), ("d2", "RUN b")],
            &[("d0", "base"), ("d1", "RUN a"), ("x2", "RUN b")],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), Some(1), Shared),
                (Some(2), Some(2), Matched),
            ],
        );
    }

    #[test]
    fn a_diff_id_equal_above_a_difference_is_not_shared() {
        // Layer 2 has the same diff_id, but the layers below differ: not a shared base.
        check(
            &[("d0", "base"), ("a1", "RUN a"), ("d2", "RUN c")],
            &[("d0", "base"), ("b1", "RUN b"), ("d2", "RUN c")],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), None, OnlyA),
                (None, Some(1), OnlyB),
                (Some(2), Some(2), Matched),
            ],
        );
    }

    #[test]
    fn missing_diff_ids_share_nothing() {
        check(
            &[("", "base")],
            &[("", "base")],
            &[(Some(0), Some(0), Matched)],
        );
    }

    #[test]
    fn insertions_and_removals_keep_the_rest_aligned() {
        check(
            &[
                ("d0", "base"),
                ("a1", "RUN install"),
                ("a2", "RUN legacy"),
                ("a3", "RUN finish"),
            ],
            &[
                ("d0", "base"),
                ("b1", "RUN install"),
                ("b2", "RUN cache"),
                ("b3", "RUN extra"),
                ("b4", "RUN finish"),
            ],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), Some(1), Matched),
                (Some(2), None, OnlyA),
                (None, Some(2), OnlyB),
                (None, Some(3), OnlyB),
                (Some(3), Some(4), Matched),
            ],
        );
    }

    #[test]
    fn everything_different_lists_a_then_b() {
        check(
            &[("a0", "FROM a"), ("a1", "RUN x")],
            &[("b0", "FROM b")],
            &[
                (Some(0), None, OnlyA),
                (Some(1), None, OnlyA),
                (None, Some(0), OnlyB),
            ],
        );
    }

    #[test]
    fn empty_stacks() {
        check(&[], &[], &[]);
        check(&[("d0", "base")], &[], &[(Some(0), None, OnlyA)]);
        check(&[], &[("d0", "base")], &[(None, Some(0), OnlyB)]);
    }

    #[test]
    fn layers_without_history_never_match() {
        check(
            &[("a0", "")],
            &[("b0", "")],
            &[(Some(0), None, OnlyA), (None, Some(0), OnlyB)],
        );
    }

    #[test]
    fn repeated_commands_match_in_order() {
        check(
            &[("a0", "RUN x"), ("a1", "RUN x")],
            &[("b0", "RUN x")],
            &[(Some(0), Some(0), Matched), (Some(1), None, OnlyA)],
        );
    }

    #[test]
    fn commands_are_normalised() {
        let cases = [
            ("/bin/sh -c #(nop)  CMD [\"/bin/sh\"]", "CMD [\"/bin/sh\"]"),
            ("/bin/sh -c apt-get   update", "RUN apt-get update"),
            (
                "/bin/sh -c #(nop) COPY file:3c982b974cdbb6b8abce7304da590b44140f4321 in /x ",
                "COPY /x",
            ),
            (
                "/bin/sh -c #(nop) COPY dir:322abddf76c59c4d8188b691c0cb0efeb789abbe in /src/",
                "COPY /src",
            ),
            ("|2 A=1 B=two /bin/sh -c make", "RUN make"),
            ("|1 A=1 make", "RUN make"),
            ("RUN /bin/sh -c make # buildkit", "RUN make"),
            ("COPY file:short in /x", "COPY /x"),
            ("|x not args", "RUN |x not args"),
            (
                "ADD file:bf9d7a95308b9d611b40c446e798542168d4352ee738271d5641519b8c84e16c in / ",
                "ADD /",
            ),
            ("run mkdir /x", "RUN mkdir /x"),
            ("RUN [\"make\", \"all\"]", "RUN make all"),
            ("COPY [\"a b\", \"/dst dir/\"]", "COPY /dst dir"),
            ("cmd /S /C dir", "RUN dir"),
            ("", ""),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize(raw), expected, "{raw:?}");
        }
    }

    /// One Dockerfile step as each builder records it; every form of a step normalises to one
    /// string, and different steps stay apart. The strings are real: buildah's from
    /// testdata/images (built here), Docker's classic builder from `docker history` listings
    /// and images on Docker Hub, BuildKit's from image configs of public projects (an
    /// `apt update` with a build argument, `COPY --chmod=0755 …`, `COPY pyproject.toml uv.lock
    /// ./`), kaniko's from a kaniko-built image config (`COPY manager .`, `RUN addgroup …`).
    #[test]
    fn one_step_built_by_any_builder_normalises_to_one_form() {
        let steps: &[&[&str]] = &[
            &[
                // buildah 1.28 (testdata/images/compare-service-day1), Docker classic
                "/bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README",
                // BuildKit
                "RUN /bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README # buildkit",
                // kaniko
                "RUN mkdir -p /srv/app && echo 'service' > /srv/app/README",
                // with a SHELL instruction, or a build argument in scope
                "/bin/bash -o pipefail -c mkdir -p /srv/app && echo 'service' > /srv/app/README",
                "|1 VERSION=2 /bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README",
                "RUN |1 VERSION=2 /bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README # buildkit",
                "RUN --mount=type=cache,target=/root/.cache /bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README # buildkit",
            ],
            &[
                "|1 DEBIAN_FRONTEND=noninteractive /bin/sh -c apt update -y && apt upgrade -y",
                "RUN |1 DEBIAN_FRONTEND=noninteractive /bin/sh -c apt update -y && apt upgrade -y # buildkit",
                "RUN apt update -y && apt upgrade -y",
            ],
            &[
                // `COPY deps-day1.list /etc/deps.list`
                "/bin/sh -c #(nop) COPY file:2f4ef09ab6a22588756aae385a66acd0ad70120cdfaf7f0c6a36de9af5a07f86 in /etc/deps.list ",
                "COPY deps-day1.list /etc/deps.list # buildkit",
                "COPY deps-day1.list /etc/deps.list",
            ],
            &[
                // `COPY --from=build --chown=1000:1000 /build/program /usr/local/bin/program`
                "/bin/sh -c #(nop) COPY file:3c982b974cdbb6b8abce7304da590b44140f43297a651d1c7e20d2990175e16e in /usr/local/bin/program ",
                "COPY --chown=1000:1000 /build/program /usr/local/bin/program # buildkit",
                "COPY --from=build --chown=1000:1000 /build/program /usr/local/bin/program",
            ],
            &[
                // `COPY . /app/`
                "/bin/sh -c #(nop) COPY dir:5dc710ad87c789593e1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70 in /app/ ",
                "COPY . /app/ # buildkit",
                "COPY . /app",
            ],
            &[
                // `COPY pyproject.toml uv.lock ./`
                "COPY pyproject.toml uv.lock ./ # buildkit",
                "/bin/sh -c #(nop) COPY multi:0f9e4b6ec512e554c0f9e4b6ec512e554c0f9e4b6ec512e554c in ./ ",
            ],
            &[
                "/bin/sh -c #(nop) ADD file:bf9d7a95308b9d611b40c446e798542168d4352ee738271d5641519b8c84e16c in / ",
                "ADD alpine-minirootfs-3.20.0-x86_64.tar.gz / # buildkit",
            ],
            &["/bin/sh -c #(nop) WORKDIR /src", "WORKDIR /src"],
            &["/bin/sh -c #(nop)  ENV PORT=3000", "ENV PORT=3000"],
            &[
                "/bin/sh -c #(nop)  CMD [\"node\" \"src/index.js\"]",
                "CMD [\"node\" \"src/index.js\"]",
            ],
        ];
        let forms: Vec<String> = steps.iter().map(|forms| normalize(forms[0])).collect();
        for (step, raw) in steps.iter().zip(&forms) {
            for form in step.iter() {
                assert_eq!(&normalize(form), raw, "{form:?} vs {:?}", step[0]);
            }
        }
        let distinct: std::collections::BTreeSet<&String> = forms.iter().collect();
        assert_eq!(
            distinct.len(),
            forms.len(),
            "different steps collide: {forms:#?}"
        );
    }

    /// Yesterday's image built by Docker's classic builder, today's by BuildKit: the same
    /// Dockerfile lines up step by step.
    #[test]
    fn one_dockerfile_built_by_two_builders_aligns() {
        check(
            &[
                (
                    "d0",
                    "/bin/sh -c #(nop) ADD file:bf9d7a95308b9d611b40c446e798542168d4352ee738271d5641519b8c84e16c in / ",
                ),
                (
                    "a1",
                    "/bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README",
                ),
                (
                    "a2",
                    "/bin/sh -c #(nop) COPY file:2f4ef09ab6a22588756aae385a66acd0ad70120cdfaf7f0c6a36de9af5a07f86 in /etc/deps.list ",
                ),
                ("a3", "/bin/sh -c echo ok > /srv/app/healthcheck"),
            ],
            &[
                (
                    "d0",
                    "/bin/sh -c #(nop) ADD file:bf9d7a95308b9d611b40c446e798542168d4352ee738271d5641519b8c84e16c in / ",
                ),
                (
                    "b1",
                    "RUN /bin/sh -c mkdir -p /srv/app && echo 'service' > /srv/app/README # buildkit",
                ),
                ("b2", "COPY deps-day2.list /etc/deps.list # buildkit"),
                (
                    "b3",
                    "RUN /bin/sh -c echo ok > /srv/app/healthcheck # buildkit",
                ),
            ],
            &[
                (Some(0), Some(0), Shared),
                (Some(1), Some(1), Matched),
                (Some(2), Some(2), Matched),
                (Some(3), Some(3), Matched),
            ],
        );
    }

    #[test]
    fn a_copy_of_changed_bytes_to_the_same_place_aligns() {
        check(
            &[
                ("d0", "base"),
                (
                    "a1",
                    "/bin/sh -c #(nop) COPY file:aaaaaaaaaaaaaaaaaaaa in /etc/x",
                ),
            ],
            &[
                ("d0", "base"),
                (
                    "b1",
                    "/bin/sh -c #(nop) COPY file:bbbbbbbbbbbbbbbbbbbb in /etc/x",
                ),
            ],
            &[(Some(0), Some(0), Shared), (Some(1), Some(1), Matched)],
        );
    }
}
