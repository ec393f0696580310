//! The parser on the Dockerfile forms BuildKit reads, and the matching on history entries
//! as real builders wrote them. Expected lines are found in the Dockerfile text by the test
//! ([`line_of`]), never taken from strata.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::parse::{Keyword, parse};
use super::{Attribution, Target};
use crate::error::{DockerfileError, Error};

/// The line (from 1) of the first line of `text` starting with `prefix`.
fn line_of(text: &str, prefix: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}"))
        + 1
}

/// The line (from 1) of the first line of `text` that is `line`.
fn line_is(text: &str, line: &str) -> usize {
    text.lines()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("no line {line:?}"))
        + 1
}

/// Keyword, first line, last line and text of every instruction, stage by stage.
fn outline(text: &str) -> Vec<(Keyword, usize, usize, String)> {
    let df = parse(text).unwrap();
    df.args
        .iter()
        .chain(
            df.stages
                .iter()
                .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions)),
        )
        .map(|i| (i.keyword, i.line, i.end_line, i.original.clone()))
        .collect()
}

/// The parse error's line and message.
fn failure(text: &str) -> (Option<usize>, String) {
    let (line, why) = parse(text).unwrap_err();
    (line, why.to_string())
}

// ------------------------------------------------------------------------------------ parsing

#[test]
fn continuations_join_lines_and_keep_the_next_lines_blanks() {
    let text = "FROM scratch\nRUN a \\\n  && b \\\n\t&& c\nCMD [\"x\"]\n";
    assert_eq!(
        outline(text),
        [
            (Keyword::From, 1, 1, "FROM scratch".into()),
            // BuildKit drops only the escape and the blanks after it: "a " + "  && b " + …
            (Keyword::Run, 2, 4, "RUN a   && b \t&& c".into()),
            (Keyword::Cmd, 5, 5, "CMD [\"x\"]".into()),
        ]
    );
}

#[test]
fn comments_and_blank_lines_inside_a_continuation_are_dropped_but_counted() {
    let text = "FROM scratch\nRUN apt-get update \\\n# the packages:\n\n    && apt-get install -y \\\n  # curl, for the health check\n      curl\nUSER app\n";
    assert_eq!(
        outline(text)[1],
        (
            Keyword::Run,
            2,
            7,
            "RUN apt-get update     && apt-get install -y       curl".into()
        )
    );
    assert_eq!(outline(text)[2].1, line_of(text, "USER"));
}

#[test]
fn the_escape_directive_makes_the_backtick_the_continuation() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/nanoserver\nRUN dir C:\\ `\n  && echo done\nWORKDIR C:\\app\\\n";
    let df = parse(text).unwrap();
    assert_eq!(df.escape, '`');
    let ins = &df.stages[0].instructions;
    assert_eq!(ins[0].original, "RUN dir C:\\   && echo done");
    assert_eq!((ins[0].line, ins[0].end_line), (3, 4));
    // A trailing backslash is no continuation under a backtick escape.
    assert_eq!(ins[1].original, "WORKDIR C:\\app\\");
    assert_eq!(ins.len(), 2);
}

#[test]
fn directives_count_only_at_the_top() {
    // After a plain comment, `# escape=` is a comment: the backslash still continues.
    let text = "# a comment\n# escape=`\nFROM scratch\nRUN a \\\n b\n";
    let df = parse(text).unwrap();
    assert_eq!(df.escape, '\\');
    assert_eq!(df.stages[0].instructions[0].original, "RUN a  b");
    assert_eq!(
        failure("# escape=x\nFROM scratch\n"),
        (
            Some(1),
            "escape directive `x`: the escape character is \\ or `".into()
        )
    );
    assert_eq!(
        failure("# syntax=docker/dockerfile:1\n# syntax=docker/dockerfile:1.4\nFROM scratch\n"),
        (Some(2), "parser directive `syntax` given twice".into())
    );
}

#[test]
fn heredoc_bodies_belong_to_their_instruction() {
    let text = "\
FROM alpine
RUN <<EOF
apk add curl
FROM not-an-instruction
EOF
COPY <<-'CONF' /etc/app.conf
\tkey = value
\tCONF
RUN <<A cat > /a && 3<<\"B\" cat > /b
one
A
two
B
CMD [\"sh\"]
";
    let df = parse(text).unwrap();
    let ins = &df.stages[0].instructions;
    assert_eq!(ins.len(), 4, "{ins:#?}");
    let run = &ins[0];
    assert_eq!((run.line, run.end_line), (2, 5));
    assert_eq!(run.heredocs.len(), 1);
    assert_eq!(run.heredocs[0].name, "EOF");
    assert_eq!(
        run.heredocs[0].body,
        "apk add curl\nFROM not-an-instruction\n"
    );
    let copy = &ins[1];
    assert_eq!(copy.keyword, Keyword::Copy);
    assert_eq!((copy.line, copy.end_line), (6, 8));
    assert_eq!(copy.heredocs[0].name, "CONF");
    let two = &ins[2];
    assert_eq!((two.line, two.end_line), (9, 13));
    let names: Vec<&str> = two.heredocs.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["A", "B"]);
    assert_eq!(two.heredocs[1].body, "two\n");
    assert_eq!(ins[3].line, line_of(text, "CMD"));
}

#[test]
fn a_heredoc_never_closed_is_an_error_at_its_instruction() {
    assert_eq!(
        failure("FROM alpine\n\nRUN <<EOF\necho hi\n"),
        (Some(3), "heredoc `EOF` is never closed".into())
    );
    // `<<` inside a word or a CMD opens nothing.
    assert!(parse("FROM alpine\nRUN cat<<EOF\nCMD echo <<EOF\n").is_ok());
}

#[test]
fn stages_with_names_flags_and_global_args() {
    let text = "\
ARG BASE=debian:12
FROM --platform=$BUILDPLATFORM ${BASE} AS Build
RUN make
from build as test
RUN make test
FROM scratch
COPY --from=build /out /
";
    let df = parse(text).unwrap();
    assert_eq!(df.args.len(), 1);
    let names: Vec<Option<&str>> = df.stages.iter().map(|s| s.name.as_deref()).collect();
    assert_eq!(names, [Some("build"), Some("test"), None]);
    assert_eq!(df.stages[0].base, "${BASE}");
    assert_eq!(df.stages[0].from.flag("platform"), Some("$BUILDPLATFORM"));
    assert_eq!(df.stages[1].base, "build");
    assert_eq!(df.stages[2].from.line, line_of(text, "FROM scratch"));
    assert_eq!(df.stages[2].instructions[0].flag("from"), Some("build"));
    assert_eq!(df.stages[2].instructions[0].rest, "/out /");
}

#[test]
fn what_a_build_refuses_is_refused_with_its_line() {
    let cases: [(&str, Option<usize>, &str); 7] = [
        (
            "FROM alpine\n\nFORM x\n",
            Some(3),
            "unknown instruction `FORM`",
        ),
        (
            "RUN echo\nFROM alpine\n",
            Some(1),
            "RUN before the first FROM (only ARG may come first)",
        ),
        (
            "FROM alpine AS\n",
            Some(1),
            "FROM takes an image and optionally `AS name`, not `alpine AS`",
        ),
        (
            "FROM alpine AS 1st\n",
            Some(1),
            "`1st` is no stage name (a letter, then letters, digits, `-`, `_` or `.`)",
        ),
        (
            "FROM a AS x\nFROM b AS X\n",
            Some(2),
            "a second stage named `x`",
        ),
        ("FROM alpine\nRUN\n", Some(2), "RUN needs arguments"),
        (
            "# only a comment\n\n",
            None,
            "not a Dockerfile: no instructions",
        ),
    ];
    for (text, line, message) in cases {
        assert_eq!(failure(text), (line, message.to_string()), "{text:?}");
    }
    assert_eq!(
        failure("ARG A=1\n"),
        (None, "not a Dockerfile: no instructions".into())
    );
}

#[test]
fn a_stage_is_named_by_target_in_any_case_or_by_index() {
    let text = "FROM a AS build\nRUN x\nFROM b AS final\nRUN y\n";
    let stage = |t: Option<&str>| Target::parse(text, "Dockerfile", t).map(|t| t.stage);
    assert_eq!(stage(None).unwrap(), 1);
    assert_eq!(stage(Some("BUILD")).unwrap(), 0);
    assert_eq!(stage(Some("1")).unwrap(), 1);
    let e = stage(Some("test")).unwrap_err();
    assert!(matches!(
        e,
        Error::Dockerfile {
            why: DockerfileError::NoSuchStage { .. },
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        "Dockerfile: --target test: no such stage (stages: build, final)"
    );
}

// ----------------------------------------------------------------------------------- matching

/// A config with these `(created_by, empty_layer)` entries.
fn config(history: &[(&str, bool)]) -> Value {
    let history: Vec<Value> = history
        .iter()
        .map(|(c, empty)| json!({"created_by": c, "empty_layer": empty}))
        .collect();
    json!({"os": "linux", "architecture": "amd64", "history": history,
           "config": {"Env": ["PATH=/usr/bin"]}})
}

/// Each layer's (line, base) for `text` built into an image with this history.
fn attribute(text: &str, target: Option<&str>, history: &[(&str, bool)]) -> Vec<Attribution> {
    let t = Target::parse(text, "Dockerfile", target).unwrap();
    let layers = history.iter().filter(|(_, empty)| !empty).count();
    t.attribute(&config(history), layers).layers
}

fn lines(attributed: &[Attribution]) -> Vec<Option<usize>> {
    attributed
        .iter()
        .map(|a| a.source.as_ref().map(|s| s.line))
        .collect()
}

fn bases(attributed: &[Attribution]) -> Vec<Option<bool>> {
    attributed.iter().map(|a| a.base).collect()
}

/// The base image of testdata/images (strata/base:1, built by buildah): one layer and a CMD.
const BASE: [(&str, bool); 2] = [
    (
        "/bin/sh -c #(nop) ADD file:bf9d7a95308b9d611b40c446e798542168d4352ee738271d5641519b8c84e16c in / ",
        false,
    ),
    ("/bin/sh -c #(nop) CMD [\"/bin/sh\"]", true),
];

/// A Dockerfile using ARG, ENV (with a continuation and quotes), WORKDIR, COPY's JSON form,
/// ADD with `${VAR:-default}`, LABEL, EXPOSE, USER, SHELL, an exec-form RUN and CMD's shell
/// form, built here by buildah 1.28.2 (`buildah bud --layers`, vfs): the history is the
/// image's, entry for entry.
const PROBE: &str = "\
ARG BASE=localhost/strata/base:1
FROM $BASE AS first
ARG VERSION=1.2
ARG DEST=/opt
ENV HOME_DIR=/home/app \\
    GREETING=\"hello world\"
WORKDIR $HOME_DIR
WORKDIR sub
RUN echo $VERSION > /v.txt
COPY [\"a.txt\", \"${DEST}/a file.txt\"]
COPY --chown=1:1 d/ $DEST/d/
ADD a.txt ${DEST:-/x}/b.txt
LABEL one=1 two=\"2 2\"
EXPOSE 8080 53/udp
USER 1000
SHELL [\"/bin/sh\", \"-e\", \"-c\"]
RUN echo shell
# comment
RUN [\"/bin/echo\", \"exec form\"]
STOPSIGNAL SIGTERM
VOLUME /data
ENTRYPOINT [\"/bin/sh\"]
CMD echo default
";

const PROBE_HISTORY: [(&str, bool); 19] = [
    ("/bin/sh -c #(nop) ARG VERSION", true),
    ("/bin/sh -c #(nop) ARG DEST VERSION", true),
    (
        "/bin/sh -c #(nop) ENV HOME_DIR=/home/app     GREETING=\"hello world\"",
        true,
    ),
    ("/bin/sh -c #(nop) WORKDIR $HOME_DIR", true),
    ("/bin/sh -c #(nop) WORKDIR sub", true),
    (
        "|2 DEST=/opt VERSION=1.2 /bin/sh -c echo $VERSION > /v.txt",
        false,
    ),
    (
        "/bin/sh -c #(nop) COPY file:93ebd8f5f081268a6b2f6eb724db873161833d615657a12e9e204e68c2de8b1c in ${DEST}/a file.txt ",
        false,
    ),
    (
        "/bin/sh -c #(nop) COPY dir:8cec2b6a26a5d406b5c294c5ac1b084aa7025fcbe69b4efa065bd1b699f95662 in $DEST/d/ ",
        false,
    ),
    (
        "/bin/sh -c #(nop) ADD file:f0e4dd545c51ce84efbce9e0ea1cdc9fc41f68bcd7820c27c04782c17f85ea7e in ${DEST:-/x}/b.txt ",
        false,
    ),
    ("/bin/sh -c #(nop) LABEL one=1 two=\"2 2\"", true),
    ("/bin/sh -c #(nop) EXPOSE 8080 53/udp", true),
    ("/bin/sh -c #(nop) USER 1000", true),
    (
        "/bin/sh -c #(nop) SHELL [\"/bin/sh\", \"-e\", \"-c\"]",
        true,
    ),
    ("|2 DEST=/opt VERSION=1.2 /bin/sh -c echo shell", false),
    (
        "|2 DEST=/opt VERSION=1.2 /bin/sh -c [\"/bin/echo\", \"exec form\"]",
        false,
    ),
    ("/bin/sh -c #(nop) STOPSIGNAL SIGTERM", true),
    ("/bin/sh -c #(nop) VOLUME /data", true),
    ("/bin/sh -c #(nop) ENTRYPOINT [\"/bin/sh\"]", true),
    ("/bin/sh -c #(nop) CMD echo default", true),
];

fn with_base(entries: &[(&'static str, bool)]) -> Vec<(&'static str, bool)> {
    BASE.iter().chain(entries).copied().collect()
}

#[test]
fn buildah_history_maps_every_layer_to_its_line() {
    let got = attribute(PROBE, None, &with_base(&PROBE_HISTORY));
    let expected = [
        line_of(PROBE, "FROM"),
        line_of(PROBE, "RUN echo $VERSION"),
        line_of(PROBE, "COPY [\"a.txt\""),
        line_of(PROBE, "COPY --chown"),
        line_of(PROBE, "ADD a.txt"),
        line_of(PROBE, "RUN echo shell"),
        line_of(PROBE, "RUN [\"/bin/echo\""),
    ];
    assert_eq!(lines(&got), expected.map(Some));
    assert_eq!(
        bases(&got),
        [true, false, false, false, false, false, false].map(Some)
    );
    let base = got[0].source.as_ref().unwrap();
    assert_eq!(base.instruction, "FROM $BASE AS first");
    assert_eq!(base.stage, "first");
    let copy = got[2].source.as_ref().unwrap();
    assert_eq!(copy.instruction, "COPY [\"a.txt\", \"${DEST}/a file.txt\"]");
    assert_eq!(copy.file, "Dockerfile");
}

/// The same Dockerfile as Docker's classic builder and BuildKit record it: substituted
/// arguments (`in /opt/a file.txt`), `ENV` and `LABEL` unquoted, WORKDIR resolved, Go's
/// `%q` and `%v` lists, `EXPOSE [53/udp 8080/tcp]`, `RUN |2 …`, the exec form without a
/// shell (BuildKit's forms from its `dockerfile2llb/convert.go`).
#[test]
fn buildkit_and_classic_forms_map_to_the_same_lines() {
    let buildkit: [(&str, bool); 19] = [
        ("ARG VERSION=1.2", true),
        ("ARG DEST=/opt", true),
        ("ENV HOME_DIR=/home/app GREETING=hello world", true),
        ("WORKDIR /home/app", false),
        ("WORKDIR /home/app/sub", false),
        (
            "RUN |2 VERSION=1.2 DEST=/opt /bin/sh -c echo $VERSION > /v.txt # buildkit",
            false,
        ),
        ("COPY a.txt /opt/a file.txt # buildkit", false),
        ("COPY --chown=1:1 d/ /opt/d/ # buildkit", false),
        ("ADD a.txt /opt/b.txt # buildkit", false),
        ("LABEL one=1 two=2 2", true),
        ("EXPOSE [53/udp 8080/tcp]", true),
        ("USER 1000", true),
        ("SHELL [/bin/sh -e -c]", true),
        (
            "RUN |2 VERSION=1.2 DEST=/opt /bin/sh -e -c echo shell # buildkit",
            false,
        ),
        (
            "RUN |2 VERSION=1.2 DEST=/opt /bin/echo exec form # buildkit",
            false,
        ),
        ("STOPSIGNAL SIGTERM", true),
        ("VOLUME [/data]", true),
        ("ENTRYPOINT [\"/bin/sh\"]", true),
        ("CMD [\"/bin/sh\" \"-e\" \"-c\" \"echo default\"]", true),
    ];
    let got = attribute(PROBE, None, &with_base(&buildkit));
    let expected = [
        "FROM",
        "WORKDIR $HOME_DIR",
        "WORKDIR sub",
        "RUN echo $VERSION",
        "COPY [\"a.txt\"",
        "COPY --chown",
        "ADD a.txt",
        "RUN echo shell",
        "RUN [\"/bin/echo\"",
    ]
    .map(|p| Some(line_of(PROBE, p)));
    assert_eq!(lines(&got), expected);

    let classic: Vec<(&str, bool)> = PROBE_HISTORY
        .iter()
        .map(|&(c, e)| match c {
            c if c.contains("in ${DEST}/a file.txt") => (
                "/bin/sh -c #(nop) COPY file:93ebd8f5f0 in /opt/a file.txt ",
                e,
            ),
            c if c.contains("ENV HOME_DIR") => (
                "/bin/sh -c #(nop)  ENV HOME_DIR=/home/app GREETING=hello world",
                e,
            ),
            c if c.contains("WORKDIR sub") => ("/bin/sh -c #(nop) WORKDIR /home/app/sub", e),
            c if c.contains("EXPOSE") => {
                ("/bin/sh -c #(nop)  EXPOSE map[53/udp:{} 8080/tcp:{}]", e)
            }
            c if c.contains("exec form") => ("|2 DEST=/opt VERSION=1.2 /bin/echo exec form", e),
            c => (c, e),
        })
        .collect();
    let got = attribute(PROBE, None, &with_base(&classic));
    assert_eq!(
        lines(&got),
        lines(&attribute(PROBE, None, &with_base(&PROBE_HISTORY)))
    );
}

/// BuildKit's own history test (`frontend/dockerfile/dockerfile_history_test.go`): the final
/// stage only, `COPY --from` recorded without the flag, `RUN ["ls"]` as `RUN ls`, and the
/// base image busybox's two entries below.
#[test]
fn buildkit_multi_stage_maps_the_final_stage() {
    let text = "\nFROM busybox AS base\nENV foo=bar\nCOPY foo /foo2\nFROM busybox\nLABEL lbl=val\nCOPY --from=base foo2 foo3\nWORKDIR /\nRUN echo bar > foo4\nRUN [\"ls\"]\nEXPOSE 2375 5000 1234/udp\n";
    let history = [
        (
            "/bin/sh -c #(nop) ADD file:9e0a0e3f5e5cd1a7d2cd8df2a4e3f5e in / ",
            false,
        ),
        ("/bin/sh -c #(nop)  CMD [\"sh\"]", true),
        ("LABEL lbl=val", true),
        ("COPY foo2 foo3 # buildkit", false),
        ("WORKDIR /", true),
        ("RUN /bin/sh -c echo bar > foo4 # buildkit", false),
        ("RUN ls # buildkit", false),
        ("EXPOSE [1234/udp 2375/tcp 5000/tcp]", true),
    ];
    let got = attribute(text, None, &history);
    assert_eq!(
        lines(&got),
        [
            line_is(text, "FROM busybox"),
            line_of(text, "COPY --from"),
            line_of(text, "RUN echo"),
            line_of(text, "RUN [\"ls\"]"),
        ]
        .map(Some)
    );
    assert_eq!(got[0].source.as_ref().unwrap().stage, "1");
}

/// BuildKit's `RUN |2 foo=bar2 bar=123 …` after three ARGs, one redeclared (its
/// `testExportedHistoryFlattenArgs`), and a heredoc RUN, recorded as its body.
#[test]
fn buildkit_build_args_and_heredocs() {
    let text = "FROM busybox\nARG foo=bar\nARG bar=123\nARG foo=bar2\nRUN ls /etc/\nRUN <<EOF\necho one\necho two\nEOF\n";
    let history = [
        ("/bin/sh -c #(nop) ADD file:9e0a in / ", false),
        ("ARG foo=bar", true),
        ("ARG bar=123", true),
        ("ARG foo=bar2", true),
        (
            "RUN |2 foo=bar2 bar=123 /bin/sh -c ls /etc/ # buildkit",
            false,
        ),
        (
            "RUN |2 foo=bar2 bar=123 /bin/sh -c echo one\necho two\n # buildkit",
            false,
        ),
    ];
    let got = attribute(text, None, &history);
    let heredoc = line_of(text, "RUN <<EOF");
    assert_eq!(
        lines(&got),
        [Some(1), Some(line_of(text, "RUN ls")), Some(heredoc)]
    );
    let s = got[2].source.as_ref().unwrap();
    assert_eq!((s.line, s.end_line), (heredoc, line_of(text, "EOF")));
}

/// kaniko writes each instruction as written (`RUN …`, `COPY manager .`).
#[test]
fn kaniko_forms_map_as_written() {
    let text = "FROM golang:1.22 AS builder\nWORKDIR /workspace\nCOPY . .\nRUN go build -o manager main.go\n\nFROM gcr.io/distroless/static:nonroot\nWORKDIR /\nCOPY --from=builder /workspace/manager .\nUSER 65532:65532\nENTRYPOINT [\"/manager\"]\n";
    let history = [
        ("bazel build …", false),
        ("WORKDIR /", true),
        ("COPY --from=builder /workspace/manager .", false),
        ("USER 65532:65532", true),
        ("ENTRYPOINT [\"/manager\"]", true),
    ];
    let got = attribute(text, None, &history);
    assert_eq!(
        lines(&got),
        [
            Some(line_of(text, "FROM gcr.io")),
            Some(line_of(text, "COPY --from"))
        ]
    );
}

/// A line changed since the build matches nothing: its layer has no line, the others keep
/// theirs, and the base is still found below the first match.
#[test]
fn an_entry_that_matches_nothing_gets_no_line() {
    let text = "FROM base\nRUN one\nRUN two (edited)\nRUN three\n";
    let history = with_base(&[
        ("/bin/sh -c one", false),
        ("/bin/sh -c two", false),
        ("/bin/sh -c three", false),
    ]);
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [Some(1), Some(2), None, Some(4)]);
    assert_eq!(bases(&got), [true, false, false, false].map(Some));
}

/// When the first instructions match nothing, where the base ends is unknown: the layers
/// below the first match say neither, and no layer is called the base's by a guess.
#[test]
fn an_unmatched_first_instruction_leaves_the_base_unknown() {
    let text = "FROM base\nCOPY app /srv/app\nRUN make\n";
    let history = with_base(&[
        ("/bin/sh -c #(nop) COPY dir:abc in /opt/app ", false),
        ("/bin/sh -c make", false),
    ]);
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [None, None, Some(3)]);
    assert_eq!(bases(&got), [None, None, Some(false)]);
}

#[test]
fn the_wrong_dockerfile_attributes_nothing() {
    let text = "FROM alpine\nRUN apk add curl\n";
    let t = Target::parse(text, "Dockerfile", None).unwrap();
    let a = t.attribute(&config(&with_base(&[("/bin/sh -c make", false)])), 2);
    assert!(a.layers.iter().all(|l| *l == Attribution::default()));
    assert_eq!(a.warnings.len(), 1, "{:?}", a.warnings);
    // A history that does not pair with the layers attributes nothing either.
    let a = t.attribute(&config(&[("/bin/sh -c apk add curl", false)]), 2);
    assert!(a.layers.iter().all(|l| *l == Attribution::default()));
}

/// A stage FROM another inherits its instructions; `--target` picks the stage.
#[test]
fn a_stage_from_a_stage_inherits_its_lines() {
    let text =
        "FROM base AS deps\nRUN install\nFROM deps AS build\nRUN build\nFROM base\nRUN other\n";
    let history = with_base(&[("/bin/sh -c install", false), ("/bin/sh -c build", false)]);
    let got = attribute(text, Some("build"), &history);
    assert_eq!(lines(&got), [Some(1), Some(2), Some(4)]);
    let stages: Vec<String> = got
        .iter()
        .map(|a| a.source.clone().unwrap().stage)
        .collect();
    assert_eq!(stages, ["deps", "deps", "build"]);
    // The last stage does not match that image.
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [None, None, None]);
}

/// Two equal instructions: the last entry goes to the last line.
#[test]
fn equal_instructions_pair_from_the_end() {
    let text = "FROM base\nRUN apt-get update\nRUN apt-get update\n";
    let history = with_base(&[("/bin/sh -c apt-get update", false)]);
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [None, Some(3)]);
}

/// FROM scratch: no layer is the base image's.
#[test]
fn from_scratch_has_no_base() {
    let text = "FROM scratch\nCOPY rootfs.tar /\nCMD [\"sh\"]\n";
    let history = [
        ("/bin/sh -c #(nop) COPY file:abc in / ", false),
        ("/bin/sh -c #(nop) CMD [\"sh\"]", true),
    ];
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [Some(2)]);
    assert_eq!(bases(&got), [Some(false)]);
}

/// Any Dockerfile on this base ends with the base's own `CMD ["/bin/sh"]`: matched against
/// the base's entry, it would leave every entry above without an instruction. No builder
/// writes entries that no instruction made, so that is no match: nothing is attributed.
#[test]
fn a_last_cmd_equal_to_the_base_image_s_matches_nothing_below_unmade_entries() {
    let text = "FROM base\nRUN make\nCMD [\"/bin/sh\"]\n";
    let history = with_base(&[
        ("/bin/sh -c mkdir -p /srv/app", false),
        ("/bin/sh -c echo ok > /srv/app/healthcheck", false),
    ]);
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [None, None, None]);
    assert_eq!(bases(&got), [None, None, None]);
}

/// A line removed since the build: its entry is made by no instruction, and the lines around
/// it still match.
#[test]
fn a_line_removed_since_the_build_leaves_the_others_matched() {
    let text = "FROM base\nRUN a\nRUN c\n";
    let history = with_base(&[
        ("/bin/sh -c a", false),
        ("/bin/sh -c b", false),
        ("/bin/sh -c c", false),
    ]);
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [Some(1), Some(2), None, Some(3)]);
    assert_eq!(bases(&got), [true, false, false, false].map(Some));
}

/// Only an ENV is the same (an empty entry, which any Dockerfile on this base may share):
/// that says nothing of which layers the Dockerfile made, so nothing is attributed.
#[test]
fn metadata_alone_attributes_nothing() {
    let text = "FROM base\nENV LANG=C.UTF-8\nRUN make\n";
    let history = with_base(&[
        ("/bin/sh -c #(nop) ENV LANG=C.UTF-8", true),
        ("/bin/sh -c ./configure && make", false),
    ]);
    let got = attribute(text, None, &history);
    assert_eq!(lines(&got), [None, None]);
    assert_eq!(bases(&got), [None, None]);
}

// --------------------------------------------------------------------------------- provenance

mod provenance {
    use std::path::Path;

    use serde_json::Value;
    use sha2::{Digest, Sha256};

    use super::super::parse::{Keyword, parse};
    use super::super::provenance::{LayerStep, read};
    use super::Attribution;

    /// A document of the shared fixtures beside the project (../shared/fixtures/provenance,
    /// whose README gives each one's source and the step → line → layer tables used below).
    fn doc(name: &str) -> Value {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/fixtures/provenance")
            .join(name);
        let text = std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e} (the shared fixtures)", p.display()));
        serde_json::from_str(&text).unwrap()
    }

    fn sha256(text: &str) -> String {
        Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The instruction the Dockerfile's own parser finds at `line`.
    fn keyword_at(text: &str, line: usize) -> Keyword {
        let df = parse(text).unwrap();
        df.stages
            .iter()
            .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions))
            .find(|i| i.line == line)
            .unwrap_or_else(|| panic!("no instruction at line {line}"))
            .keyword
    }

    /// cupdate (SLSA v0.2, mode=max, a statement): the image FROM scratch has two layers,
    /// layer 0 from line 38 (`COPY --from=builder /src/cupdate cupdate`), layer 1 from line 42.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn cupdate_v0_2_max_maps_two_layers_to_lines_38_and_42() {
        let layers = [
            "sha256:1c311bd3ad033186b9bf756644d9333910b3e9e9920889d8004196a79585c10f",
            "sha256:401ece25eae8475528fc25ad424eb5067ccbabd812a83889224ce9c91b981aa8",
        ];
        let p = read(&doc("cupdate-provenance-v0.2-max.json"), &layers).unwrap();
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files[0].name, "Dockerfile");
        let text = p.files[0].text.as_deref().unwrap();
        assert_eq!(
            sha256(text),
            "be5c6596e26f2bbb317f4b2e0db0fa56e3913edbda0dfc702528f29c2bbf53f4"
        );
        let step = |s: &str, line: usize| LayerStep {
            step: s.into(),
            lines: Some((0, line, line)),
            base: Some(false),
        };
        assert_eq!(
            p.layers,
            [Some(step("step17", 38)), Some(step("step18", 42))]
        );
        assert_eq!(keyword_at(text, 38), Keyword::Copy);
        assert!(
            text.lines()
                .nth(37)
                .unwrap()
                .starts_with("COPY --from=builder")
        );
        assert_eq!(
            p.args,
            [(
                "CUPDATE_VERSION".to_string(),
                "v0.19.0-6-g2fbefbc".to_string()
            )]
        );
    }

    /// zlabjp (a bare v0.2 predicate from BuildKit 0.11, chains listed twice): the distroless
    /// base layer from the FROM at line 8, the copied /app from line 10.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn zlabjp_v0_2_predicate_names_the_base_and_the_copy() {
        let layers = [
            "sha256:383e1c5dd0c1830143b1230e90292ebd4219911e0512b70d250c8907c4899110",
            "sha256:ca23dae0171c399ac2921170e24602172f2a0edc35ab43b7b62d5cd4acbc6339",
        ];
        let p = read(&doc("zlabjp-buildkit-predicate-v0.2-max.json"), &layers).unwrap();
        let text = p.files[0].text.as_deref().unwrap();
        assert_eq!(
            sha256(text),
            "6378f76437a6ec05ac100ea3c79e5f1b58b3a05e796085671b8de70c99a7b9d0"
        );
        let lines: Vec<_> = p.layers.iter().map(|l| l.as_ref().unwrap().lines).collect();
        assert_eq!(lines, [Some((0, 8, 8)), Some((0, 10, 10))]);
        let bases: Vec<_> = p.layers.iter().map(|l| l.as_ref().unwrap().base).collect();
        assert_eq!(bases, [Some(true), Some(false)]);
        assert_eq!(keyword_at(text, 8), Keyword::From);
        assert_eq!(keyword_at(text, 10), Keyword::Copy);
    }

    /// BuildKit's documentation examples: v0.2 with the Dockerfile `FROM alpine:latest`
    /// (step0, line 1, the alpine layer), and the v1 key paths (the same layer under step0,
    /// no location recorded in the example).
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn buildkit_docs_v0_2_and_v1_shapes() {
        let alpine = ["sha256:c158987b05517b6f2c5913f3acef1f2182a32345a304fe357e3ace5fadcad715"];
        let p = read(&doc("buildkit-docs-v0.2-max.json"), &alpine).unwrap();
        assert_eq!(p.files[0].text.as_deref(), Some("FROM alpine:latest\n"));
        let l = p.layers[0].as_ref().unwrap();
        assert_eq!((l.step.as_str(), l.lines), ("step0", Some((0, 1, 1))));
        let p = read(&doc("buildkit-docs-v1-max.json"), &alpine).unwrap();
        assert_eq!(p.files[0].name, "Dockerfile");
        assert_eq!(p.files[0].text, None);
        let l = p.layers[0].as_ref().unwrap();
        assert_eq!((l.step.as_str(), l.lines), ("step0", None));
        // A layer no step's chain ends in has no step.
        let p = read(&doc("buildkit-docs-v1-max.json"), &[alpine[0], "sha256:00"]).unwrap();
        assert_eq!(p.layers[1], None);
    }

    /// mode=min (BuildKit's empty metadata; snyk's real attestation) is BuildKit's
    /// provenance that records no file and no layer's step; other builders' provenance
    /// (slsa-github-generator) is none of BuildKit's.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn mode_min_records_nothing_and_other_builders_are_not_read() {
        for name in [
            "buildkit-docs-v0.2-min.json",
            "buildkit-docs-v1-min.json",
            "snyk-busybox-attestation-layout/blobs/sha256/4f62f95682318843696bbf8eb884d5c904c1f2fa70c0f0523bf2cac8f902db14",
        ] {
            let p = read(&doc(name), &["sha256:x"]).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(p.files, [], "{name}");
            assert_eq!(p.layers, [None], "{name}");
            let a = p.attribute();
            assert_eq!(a.layers, [Attribution::default()], "{name}");
        }
        assert_eq!(
            read(
                &doc("zlabjp-slsagen-image-statement-v0.2.json"),
                &["sha256:x"]
            ),
            None
        );
    }

    /// The stage (its name, else its index) of the instruction at `line` of a Dockerfile,
    /// found by reading the text here: the FROM lines above it, and the `AS name` of the last.
    fn stage_of(text: &str, line: usize) -> String {
        let froms: Vec<&str> = text
            .lines()
            .take(line)
            .filter(|l| l.trim_start().to_ascii_uppercase().starts_with("FROM "))
            .collect();
        let last = froms.last().expect("a FROM above");
        let words: Vec<&str> = last.split_whitespace().collect();
        match words.iter().position(|w| w.eq_ignore_ascii_case("AS")) {
            Some(i) => words[i + 1].to_ascii_lowercase(),
            None => (froms.len() - 1).to_string(),
        }
    }

    /// cupdate's two layers, attributed: no FROM's chain is the image's and its first layer
    /// is made by a step of the build (FROM scratch), so neither layer is the base image's;
    /// each names its line, its stage and its instruction as the recorded text has them.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn cupdate_layers_name_line_stage_and_instruction() {
        let layers = [
            "sha256:1c311bd3ad033186b9bf756644d9333910b3e9e9920889d8004196a79585c10f",
            "sha256:401ece25eae8475528fc25ad424eb5067ccbabd812a83889224ce9c91b981aa8",
        ];
        let p = read(&doc("cupdate-provenance-v0.2-max.json"), &layers).unwrap();
        let text = p.files[0].text.clone().unwrap();
        let a = p.attribute();
        assert!(a.warnings.is_empty());
        for (attribution, line) in a.layers.iter().zip([38, 42]) {
            let s = attribution.source.as_ref().unwrap();
            assert_eq!(
                (s.file.as_str(), s.line, s.end_line),
                ("Dockerfile", line, line)
            );
            assert_eq!(s.instruction, text.lines().nth(line - 1).unwrap());
            assert_eq!(s.stage, stage_of(&text, line));
            assert_eq!(attribution.base, Some(false));
        }
        assert_eq!(a.layers[0].source.as_ref().unwrap().stage, "export");

        // Without the text (as BuildKit's documentation prints it), the lines alone.
        let mut d = doc("cupdate-provenance-v0.2-max.json");
        let infos = d
            .pointer_mut("/predicate/metadata/https:~1~1mobyproject.org~1buildkit@v1#metadata/source/infos/0")
            .unwrap()
            .as_object_mut()
            .unwrap();
        infos.remove("data").unwrap();
        let a = read(&d, &layers).unwrap().attribute();
        let s = a.layers[1].source.as_ref().unwrap();
        assert_eq!(
            (s.line, s.stage.as_str(), s.instruction.as_str()),
            (42, "", "")
        );
    }

    /// zlabjp's image is its distroless base's layer and the copy: the base layer is named by
    /// the FROM at line 8, the copy by line 10; both in the last stage.
    #[test]
    #[ignore = "needs ../shared/fixtures beside the project; run by .ci/run"]
    fn zlabjp_base_layer_is_named_by_its_from() {
        let layers = [
            "sha256:383e1c5dd0c1830143b1230e90292ebd4219911e0512b70d250c8907c4899110",
            "sha256:ca23dae0171c399ac2921170e24602172f2a0edc35ab43b7b62d5cd4acbc6339",
        ];
        let p = read(&doc("zlabjp-buildkit-predicate-v0.2-max.json"), &layers).unwrap();
        let text = p.files[0].text.clone().unwrap();
        let a = p.attribute();
        let got: Vec<(usize, String, Option<bool>)> = a
            .layers
            .iter()
            .map(|l| {
                let s = l.source.as_ref().unwrap();
                (s.line, s.instruction.clone(), l.base)
            })
            .collect();
        let line = |n: usize| text.lines().nth(n - 1).unwrap().to_string();
        assert_eq!(got, [(8, line(8), Some(true)), (10, line(10), Some(false))]);
        assert_eq!(stage_of(&text, 10), "1");
        assert_eq!(a.layers[1].source.as_ref().unwrap().stage, "1");
    }
}

/// A hand-made provenance predicate of the shape BuildKit writes (the fixtures' README): a
/// FROM (step0) whose chain is the base's three layers, and a RUN (step1) adding a fourth.
/// The base's lower layers have no step of their own: they are the base's all the same.
#[test]
fn every_layer_of_a_from_chain_is_the_base_images() {
    use base64::Engine as _;
    let text = "FROM debian:12 AS build\nRUN make install\n";
    let d = |n: u32| serde_json::json!({"digest": format!("sha256:{n}"), "size": 1});
    let doc = serde_json::json!({
        "buildConfig": {"llbDefinition": [
            {"id": "step0", "op": {"Op": {"source": {"identifier": "docker-image://docker.io/library/debian:12"}}}},
            {"id": "step1", "op": {"Op": {"exec": {}}}, "inputs": ["step0:0"]},
        ]},
        "metadata": {"https://mobyproject.org/buildkit@v1#metadata": {
            "source": {
                "infos": [{"filename": "Dockerfile", "data": base64::engine::general_purpose::STANDARD.encode(text)}],
                "locations": {
                    "step0": {"locations": [{"ranges": [{"start": {"line": 1}, "end": {"line": 1}}]}]},
                    "step1": {"locations": [{"ranges": [{"start": {"line": 2}, "end": {"line": 2}}]}]},
                },
            },
            "layers": {
                "step0:0": [[d(0), d(1), d(2)]],
                "step1:0": [[d(0), d(1), d(2), d(3)]],
            },
        }},
    });
    let a = super::provenance::read(&doc, &["sha256:0", "sha256:1", "sha256:2", "sha256:3"])
        .unwrap()
        .attribute();
    let got: Vec<_> = a
        .layers
        .iter()
        .map(|l| {
            let s = l.source.as_ref().unwrap();
            (
                s.line,
                s.end_line,
                s.stage.as_str(),
                s.instruction.as_str(),
                l.base,
            )
        })
        .collect();
    let from = (1, 1, "build", "FROM debian:12 AS build", Some(true));
    assert_eq!(
        got,
        [
            from,
            from,
            from,
            (2, 2, "build", "RUN make install", Some(false))
        ]
    );
}

/// A statement is read in time linear in its size and the image's layers: 20,000 layers
/// against 20,000 steps of one layer each (comparing every step with every layer's chain, as
/// a first version did, takes minutes) is read at once.
#[test]
fn a_statement_is_read_in_time_linear_in_its_size() {
    let n = 20_000;
    let digests: Vec<String> = (0..n).map(|k| format!("sha256:{k}")).collect();
    let layers: Vec<&str> = digests.iter().map(String::as_str).collect();
    let steps: serde_json::Map<String, Value> = (0..n)
        .map(|k| {
            let chain = json!([[{"digest": format!("sha256:other{k}")}]]);
            (format!("step{k}:0"), chain)
        })
        .collect();
    let doc = json!({"metadata": {"https://mobyproject.org/buildkit@v1#metadata": {
        "layers": steps,
    }}});
    let start = std::time::Instant::now();
    let p = super::provenance::read(&doc, &layers).unwrap();
    assert!(p.layers.iter().all(Option::is_none));
    assert!(start.elapsed().as_secs() < 5, "{:?}", start.elapsed());
}

/// The base image's layers each name its FROM; an attestation whose FROM line is huge and
/// whose base is many layers does not copy that line for every layer: past a Dockerfile's
/// worth of text, the layers keep their lines only.
#[test]
fn a_huge_line_is_not_copied_for_every_layer() {
    use base64::Engine as _;
    let from = format!("FROM debian:{}", "1".repeat(1 << 20));
    let text = format!("{from}\n");
    let n = 40;
    let digests: Vec<String> = (0..n).map(|k| format!("sha256:{k}")).collect();
    let layers: Vec<&str> = digests.iter().map(String::as_str).collect();
    let chain: Vec<Value> = digests.iter().map(|d| json!({"digest": d})).collect();
    let doc = json!({
        "buildConfig": {"llbDefinition": [
            {"id": "step0", "op": {"Op": {"source": {"identifier": "docker-image://debian"}}}},
        ]},
        "metadata": {"https://mobyproject.org/buildkit@v1#metadata": {
            "source": {
                "infos": [{"filename": "Dockerfile", "data": base64::engine::general_purpose::STANDARD.encode(&text)}],
                "locations": {"step0": {"locations": [{"ranges": [{"start": {"line": 1}, "end": {"line": 1}}]}]}},
            },
            "layers": {"step0:0": [chain]},
        }},
    });
    let a = super::provenance::read(&doc, &layers).unwrap().attribute();
    let sources: Vec<&super::Source> = a
        .layers
        .iter()
        .map(|l| l.source.as_ref().unwrap())
        .collect();
    assert!(sources.iter().all(|s| s.line == 1));
    assert!(a.layers.iter().all(|l| l.base == Some(true)));
    assert_eq!(sources[0].instruction, from);
    let copied: usize = sources.iter().map(|s| s.instruction.len()).sum();
    assert!(copied <= (4 << 20), "{copied}");
    assert_eq!(sources[n - 1].instruction, "");
}
