//! The documentation's output blocks are strata's real output, so that none can drift.
//!
//! In `README.md` and `docs/*.md`, every fenced block that shows what strata prints follows a
//! marker line naming the command that prints it:
//!
//! ```text
//! <!-- output: strata analyze testdata/images/overlay-oci --top 8 -->
//! <!-- output exit=1: strata ci testdata/images/overlay-docker.tar -->
//! <!-- output from="By directory": strata compare A B --files -->
//! ```
//!
//! This test runs each command with the binary cargo built (`CI`, `STRATA_TRACE` and standard
//! input removed, an empty `XDG_CONFIG_HOME` so that no user's `keys.conf` changes the explorer),
//! from the crate root so that paths print as the text shows them, and compares the block with
//! standard output, line by line, trailing spaces ignored. `exit=N` is the exit code the text
//! states (0 when absent); `from="TEXT"` makes the block an excerpt: the output from its first
//! line that starts with TEXT. Standard error must be empty. The explorer's screen comes from
//! `strata IMAGE --keys "…" --print --screen WxH` like any other output.
//!
//! `STRATA_BLESS=1 cargo test --test it readme::` rewrites the blocks with the current output
//! instead of failing (an exit code that differs from the marker's is never blessed: the text
//! around the block states it too).
//!
//! Every ```` ```text ```` block must follow a marker: `output`, or `<!-- not generated: REASON -->`
//! for what is not strata's deterministic output — benchmark timings (`cargo bench`,
//! `bench/run.sh`), which change from run to run and machine to machine. Blocks of other kinds
//! (`sh`, `yaml`, the layout) are input, not output, and are not checked.
//!
//! Unlike the other tests, this one takes its expected values from strata itself: it checks that
//! the documentation shows what the program prints, not that what it prints is right (the tests
//! against umoci, dive, Go's archive/tar and `testdata/expected.py` do that).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::fixtures::root;
use crate::fixtures::run::strata_process;

/// The environment variable that rewrites the blocks instead of failing.
const BLESS: &str = "STRATA_BLESS";

/// One marked output block.
#[derive(Debug, PartialEq)]
struct Block {
    /// 1-based line of the marker, for messages.
    marker_line: usize,
    /// The command as written after the colon (`strata …`).
    command: String,
    /// Its words, quotes removed, `strata` first.
    args: Vec<String>,
    exit: i32,
    from: Option<String>,
    /// Index (0-based) in the document's lines of the block's first and one-past-last content line.
    body: std::ops::Range<usize>,
}

/// The document's lines, each without its `\n`.
fn lines(doc: &str) -> Vec<&str> {
    doc.lines().collect()
}

/// Every marked output block of a document, or what is wrong with its markers.
fn parse(doc: &str) -> Result<Vec<Block>, String> {
    let lines = lines(doc);
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let marker = parse_marker(line).map_err(|e| format!("line {}: {e}", i + 1))?;
        if let Some(m) = &marker {
            let next = lines.get(i + 1).copied().unwrap_or("");
            if next != "```text" {
                return Err(format!(
                    "line {}: a marker must be followed at once by a ```text fence, not {next:?}",
                    i + 1
                ));
            }
            let start = i + 2;
            let end = (start..lines.len())
                .find(|&j| lines[j] == "```")
                .ok_or_else(|| format!("line {}: the fence is never closed", i + 2))?;
            if let Marker::Output {
                command,
                args,
                exit,
                from,
            } = m
            {
                blocks.push(Block {
                    marker_line: i + 1,
                    command: command.clone(),
                    args: args.clone(),
                    exit: *exit,
                    from: from.clone(),
                    body: start..end,
                });
            }
            i = end + 1;
            continue;
        }
        if line.starts_with("```") {
            if line == "```text" {
                return Err(format!(
                    "line {}: a ```text block must follow `<!-- output: strata … -->` or \
                     `<!-- not generated: REASON -->`",
                    i + 1
                ));
            }
            let end = (i + 1..lines.len())
                .find(|&j| lines[j] == "```")
                .ok_or_else(|| format!("line {}: the fence is never closed", i + 1))?;
            i = end + 1;
            continue;
        }
        i += 1;
    }
    Ok(blocks)
}

#[derive(Debug, PartialEq)]
enum Marker {
    Output {
        command: String,
        args: Vec<String>,
        exit: i32,
        from: Option<String>,
    },
    NotGenerated,
}

/// `<!-- output[ exit=N][ from="TEXT"]: strata … -->` or `<!-- not generated: REASON -->`;
/// `None` for any other line.
fn parse_marker(line: &str) -> Result<Option<Marker>, String> {
    let Some(inner) = line
        .strip_prefix("<!-- ")
        .and_then(|l| l.strip_suffix(" -->"))
    else {
        return Ok(None);
    };
    if let Some(reason) = inner.strip_prefix("not generated:") {
        if reason.trim().is_empty() {
            return Err("`not generated` needs a reason".into());
        }
        return Ok(Some(Marker::NotGenerated));
    }
    let Some(rest) = inner.strip_prefix("output") else {
        return Ok(None);
    };
    let (options, command) = rest
        .split_once(": ")
        .ok_or("an output marker is `<!-- output: strata … -->`")?;
    let mut exit = 0;
    let mut from = None;
    let mut options = options;
    loop {
        options = options.trim_start();
        if options.is_empty() {
            break;
        }
        if let Some(r) = options.strip_prefix("exit=") {
            let end = r.find(' ').unwrap_or(r.len());
            exit = r[..end]
                .parse()
                .map_err(|_| format!("exit={} is not a number", &r[..end]))?;
            options = &r[end..];
        } else if let Some(r) = options.strip_prefix("from=\"") {
            let end = r.find('"').ok_or("from=\" is never closed")?;
            from = Some(r[..end].to_string());
            options = &r[end + 1..];
        } else {
            return Err(format!(
                "unknown option {options:?} (exit=N, from=\"TEXT\")"
            ));
        }
    }
    let args = split_words(command)?;
    if args.first().map(String::as_str) != Some("strata") {
        return Err(format!("the command must start with `strata`: {command:?}"));
    }
    Ok(Some(Marker::Output {
        command: command.to_string(),
        args,
        exit,
        from,
    }))
}

/// Words separated by spaces, `"…"` quoting spaces; nothing a shell would do beyond that.
fn split_words(command: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for c in command.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            ' ' if !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '|' | '>' | '<' | ';' | '&' | '$' | '`' | '\'' | '\\' if !quoted => {
                return Err(format!(
                    "{c:?} in {command:?}: the command is run without a shell"
                ));
            }
            _ => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if quoted {
        return Err(format!("unclosed quote in {command:?}"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// What a command printed, as the block should show it.
struct Output {
    code: i32,
    lines: Vec<String>,
    stderr: String,
}

fn run(args: &[String]) -> Output {
    let config = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-empty-config");
    fs::create_dir_all(&config).expect("mkdir");
    let out = strata_process()
        .args(&args[1..])
        .current_dir(root())
        .env("XDG_CONFIG_HOME", &config)
        .stdin(Stdio::null())
        .output()
        .expect("run strata");
    Output {
        code: out.status.code().expect("strata was killed by a signal"),
        lines: String::from_utf8(out.stdout)
            .expect("stdout is UTF-8")
            .lines()
            .map(|l| l.trim_end().to_string())
            .collect(),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// The lines the block should hold: the output, from `from` on, without trailing blank lines.
fn excerpt(out: &[String], from: Option<&str>) -> Option<Vec<String>> {
    let start = match from {
        None => 0,
        Some(text) => out.iter().position(|l| l.starts_with(text))?,
    };
    let mut lines = out[start..].to_vec();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    Some(lines)
}

/// A line diff (longest common subsequence): `-` the document, `+` the output.
fn diff(old: &[String], new: &[String]) -> String {
    let (n, m) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut text = String::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j]) {
            let _ = writeln!(text, "+{}", new[j]);
            j += 1;
        } else {
            let _ = writeln!(text, "-{}", old[i]);
            i += 1;
        }
    }
    text
}

/// The document with each block's body replaced by its new lines (the rest byte for byte).
fn rewrite(doc: &str, replacements: &[(std::ops::Range<usize>, Vec<String>)]) -> String {
    let lines = lines(doc);
    let mut text = String::new();
    let mut i = 0;
    for (range, new) in replacements {
        for l in &lines[i..range.start] {
            text.push_str(l);
            text.push('\n');
        }
        for l in new {
            text.push_str(l);
            text.push('\n');
        }
        i = range.end;
    }
    for l in &lines[i..] {
        text.push_str(l);
        text.push('\n');
    }
    if !doc.ends_with('\n') {
        text.pop();
    }
    text
}

/// README.md and every Markdown file under docs/, relative to the crate root.
fn documents() -> Vec<PathBuf> {
    let mut docs = vec![PathBuf::from("README.md")];
    let mut under: Vec<PathBuf> = fs::read_dir(root().join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .map(|p| {
            p.strip_prefix(root())
                .expect("under the root")
                .to_path_buf()
        })
        .collect();
    under.sort();
    docs.extend(under);
    docs
}

#[test]
fn readme_output_blocks_are_what_strata_prints() {
    assert!(
        !root().join(".dive-ci").exists(),
        "a .dive-ci at the crate root would change `strata ci`'s output"
    );
    let bless = std::env::var(BLESS).is_ok_and(|v| !v.is_empty() && v != "0");
    let mut failures = String::new();
    let mut checked = 0;
    for rel in documents() {
        let path = root().join(&rel);
        let doc = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let lines = lines(&doc);
        let blocks = parse(&doc).unwrap_or_else(|e| panic!("{}: {e}", rel.display()));
        let mut replacements = Vec::new();
        for b in &blocks {
            checked += 1;
            let at = format!("{}:{}: `{}`", rel.display(), b.marker_line, b.command);
            let out = run(&b.args);
            if out.code != b.exit {
                let _ = writeln!(
                    failures,
                    "{at} exited {} where the marker says exit={} (fix the text and the marker \
                     by hand)\n{}",
                    out.code, b.exit, out.stderr
                );
                continue;
            }
            if !out.stderr.is_empty() {
                let _ = writeln!(failures, "{at} wrote to stderr:\n{}", out.stderr);
                continue;
            }
            let Some(want) = excerpt(&out.lines, b.from.as_deref()) else {
                let _ = writeln!(
                    failures,
                    "{at}: no line of the output starts with {:?}",
                    b.from.as_deref().unwrap_or("")
                );
                continue;
            };
            let have: Vec<String> = lines[b.body.clone()]
                .iter()
                .map(|l| l.trim_end().to_string())
                .collect();
            if have != want {
                if bless {
                    println!("blessed {at}");
                    replacements.push((b.body.clone(), want));
                } else {
                    let _ = writeln!(
                        failures,
                        "{at} prints something else (- {}, + strata):\n{}",
                        rel.display(),
                        diff(&have, &want)
                    );
                }
            }
        }
        if !replacements.is_empty() {
            fs::write(&path, rewrite(&doc, &replacements))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    assert!(checked > 0, "no marked output block found");
    assert!(
        failures.is_empty(),
        "{failures}\nIf the new output is intended: {BLESS}=1 cargo test --test it readme::"
    );
}

#[test]
fn markers_are_parsed_and_unmarked_text_blocks_refused() {
    let doc = "intro\n<!-- output exit=1 from=\"Top\": strata ci \"a b\" -v -->\n```text\nold\n```\n\
               <!-- not generated: timings -->\n```text\n1.2 ms\n```\n```sh\nstrata x\n```\n";
    let blocks = parse(doc).unwrap();
    assert_eq!(
        blocks,
        [Block {
            marker_line: 2,
            command: "strata ci \"a b\" -v".into(),
            args: vec!["strata".into(), "ci".into(), "a b".into(), "-v".into()],
            exit: 1,
            from: Some("Top".into()),
            body: 3..4,
        }]
    );
    for (bad, why) in [
        ("```text\nx\n```\n", "must follow"),
        (
            "<!-- output: strata a -->\n\n```text\nx\n```\n",
            "followed at once",
        ),
        ("<!-- output: strata a -->\n```text\nx\n", "never closed"),
        (
            "<!-- output: strata a | head -->\n```text\nx\n```\n",
            "without a shell",
        ),
        (
            "<!-- output: dive a -->\n```text\nx\n```\n",
            "start with `strata`",
        ),
        (
            "<!-- output exit=x: strata a -->\n```text\nx\n```\n",
            "not a number",
        ),
        (
            "<!-- not generated: -->\n```text\nx\n```\n",
            "needs a reason",
        ),
    ] {
        let err = parse(bad).unwrap_err();
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}

#[test]
fn bless_replaces_only_the_block_bodies() {
    let doc = "a\n<!-- output: strata x -->\n```text\nold 1\nold 2\n```\nb  \n<!-- output: strata y -->\n```text\n```\nc";
    let blocks = parse(doc).unwrap();
    let replacements: Vec<_> = blocks
        .iter()
        .zip([vec!["new".to_string()], vec!["y1".into(), "y2".into()]])
        .map(|(b, new)| (b.body.clone(), new))
        .collect();
    assert_eq!(
        rewrite(doc, &replacements),
        "a\n<!-- output: strata x -->\n```text\nnew\n```\nb  \n<!-- output: strata y -->\n```text\ny1\ny2\n```\nc"
    );
}

#[test]
fn excerpts_start_at_the_named_line_and_drop_trailing_blank_lines() {
    let out: Vec<String> = ["Head", "", "Top wasted", "x", "", ""]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(excerpt(&out, Some("Top")).unwrap(), ["Top wasted", "x"]);
    assert_eq!(
        excerpt(&out, None).unwrap(),
        ["Head", "", "Top wasted", "x"]
    );
    assert_eq!(excerpt(&out, Some("Nothing")), None);
    let d = diff(
        &["a".into(), "b".into(), "c".into()],
        &["a".into(), "B".into(), "c".into(), "d".into()],
    );
    assert_eq!(d, "-b\n+B\n+d\n");
}
