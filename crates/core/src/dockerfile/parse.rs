//! A Dockerfile read as BuildKit's parser reads it (moby/buildkit, `frontend/dockerfile/parser`):
//! parser directives at the top, then logical lines, then instructions grouped into stages.
//!
//! - Directives (`# syntax=…`, `# escape=…`, `# check=…`) count only before anything else; a
//!   blank line, another comment or an instruction ends them. `escape` is `\` or a backtick.
//! - A line ending in the escape character (trailing blanks allowed) continues on the next;
//!   the continuation lines keep their leading blanks, and comment or blank lines among them
//!   are dropped. The instruction's text is the joined line, as BuildKit's `Original`.
//! - RUN, COPY and ADD may open heredocs (`<<EOF`, `<<-EOF`, `<<'EOF'`, `3<<EOF`): their
//!   bodies follow the instruction's line, each up to a line holding only its name (after
//!   leading tabs with `<<-`).
//! - The keyword is case-insensitive; leading `--flag[=value]` words are the instruction's
//!   flags; the rest is its arguments, unparsed (the shell form and the JSON form both).
//!
//! Errors are those a build would meet on the same file, with the line where they are.

use crate::error::DockerfileError;

/// An instruction's keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

const KEYWORDS: [(Keyword, &str); 18] = [
    (Keyword::Add, "ADD"),
    (Keyword::Arg, "ARG"),
    (Keyword::Cmd, "CMD"),
    (Keyword::Copy, "COPY"),
    (Keyword::Entrypoint, "ENTRYPOINT"),
    (Keyword::Env, "ENV"),
    (Keyword::Expose, "EXPOSE"),
    (Keyword::From, "FROM"),
    (Keyword::Healthcheck, "HEALTHCHECK"),
    (Keyword::Label, "LABEL"),
    (Keyword::Maintainer, "MAINTAINER"),
    (Keyword::Onbuild, "ONBUILD"),
    (Keyword::Run, "RUN"),
    (Keyword::Shell, "SHELL"),
    (Keyword::Stopsignal, "STOPSIGNAL"),
    (Keyword::User, "USER"),
    (Keyword::Volume, "VOLUME"),
    (Keyword::Workdir, "WORKDIR"),
];

impl Keyword {
    /// The keyword a word names, in any case.
    pub fn parse(word: &str) -> Option<Keyword> {
        KEYWORDS
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(word))
            .map(|&(k, _)| k)
    }

    /// The keyword in capitals, as builders write it.
    pub fn as_str(self) -> &'static str {
        KEYWORDS
            .iter()
            .find(|(k, _)| *k == self)
            .map_or("", |(_, name)| name)
    }
}

/// A here-document: `<<NAME` on the instruction's line, its body on the lines below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The closing word, quotes removed.
    pub name: String,
    /// The lines between, each with its line feed.
    pub body: String,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Its first line, from 1.
    pub line: usize,
    /// Its last line: the last continuation line, or a heredoc's closing line.
    pub end_line: usize,
    pub keyword: Keyword,
    /// The instruction as written, its continuation lines joined (heredoc bodies apart).
    pub original: String,
    /// Its leading `--name[=value]` words, as written.
    pub flags: Vec<String>,
    /// What follows the keyword and the flags, trimmed.
    pub rest: String,
    pub heredocs: Vec<Heredoc>,
}

impl Instruction {
    /// The arguments in the JSON form (`["a", "b"]`), if they are in it.
    pub fn json(&self) -> Option<Vec<String>> {
        if !self.rest.starts_with('[') {
            return None;
        }
        serde_json::from_str(&self.rest).ok()
    }

    /// The value of flag `--name`, if given.
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().find_map(|f| {
            let (n, v) = f.strip_prefix("--")?.split_once('=')?;
            (n == name).then_some(v)
        })
    }
}

/// One stage: a FROM and the instructions up to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Its place among the stages, from 0 (`COPY --from=0`).
    pub index: usize,
    /// `FROM … AS name`, in lower case (BuildKit's names are case-insensitive).
    pub name: Option<String>,
    pub from: Instruction,
    /// The image (or stage) it starts from, as written (`$BASE` unexpanded).
    pub base: String,
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// How the stage is named in reports: its name, else its index.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character: `\`, or a backtick by the `escape` directive.
    pub escape: char,
    /// The ARGs before the first FROM (visible to FROM lines, and to stages that name them
    /// again).
    pub args: Vec<Instruction>,
    pub stages: Vec<Stage>,
}

/// Why parsing failed, and on which line (from 1) when the problem has one.
pub type Failure = (Option<usize>, DockerfileError);

/// Parses a Dockerfile's text.
///
/// # Errors
/// What a build would refuse: an unknown instruction, one before the first FROM, a bad FROM
/// or stage name, an unclosed heredoc, a bad or repeated directive, or no instruction at all.
pub fn parse(text: &str) -> Result<Dockerfile, Failure> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().collect();
    let (escape, first) = directives(&lines)?;
    let instructions = instructions(&lines, first, escape)?;
    stages(instructions, escape)
}

/// The parser directives at the top: the escape character and the first line after them.
fn directives(lines: &[&str]) -> Result<(char, usize), Failure> {
    let mut escape = '\\';
    let mut seen: Vec<String> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((name, value)) = directive(line) else {
            return Ok((escape, i));
        };
        if !["syntax", "escape", "check"].contains(&name.as_str()) {
            return Ok((escape, i));
        }
        if seen.contains(&name) {
            return Err((Some(i + 1), DockerfileError::DuplicateDirective(name)));
        }
        if name == "escape" {
            escape = match value {
                "\\" => '\\',
                "`" => '`',
                other => return Err((Some(i + 1), DockerfileError::BadEscape(other.into()))),
            };
        }
        seen.push(name);
    }
    Ok((escape, lines.len()))
}

/// `# name=value` (BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`), the name in
/// lower case.
fn directive(line: &str) -> Option<(String, &str)> {
    let rest = line.trim_start().strip_prefix('#')?.trim_start();
    let end = rest
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(rest.len());
    let name = &rest[..end];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let value = rest[end..].trim_start().strip_prefix('=')?.trim();
    (!value.is_empty()).then(|| (name.to_ascii_lowercase(), value))
}

/// `line` without its continuation mark (the escape character, then blanks only), and
/// whether the logical line ends there.
fn continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(kept) => (kept, false),
        None => (line, true),
    }
}

/// A comment line: `#` after leading blanks.
fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

/// Every instruction from line index `first` on.
fn instructions(lines: &[&str], first: usize, escape: char) -> Result<Vec<Instruction>, Failure> {
    let mut out = Vec::new();
    let mut i = first;
    while i < lines.len() {
        let start = i + 1;
        let head = lines[i].trim_start();
        i += 1;
        if is_comment(head) || head.is_empty() {
            continue;
        }
        let (mut joined, mut ended) = {
            let (kept, ended) = continuation(head, escape);
            (kept.to_string(), ended)
        };
        while !ended && i < lines.len() {
            let next = lines[i];
            i += 1;
            if is_comment(next) || next.trim().is_empty() {
                continue;
            }
            let (kept, e) = continuation(next, escape);
            joined.push_str(kept);
            ended = e;
        }
        let original = joined.trim().to_string();
        if original.is_empty() {
            continue;
        }
        let mut instruction = instruction(original, start, escape)?;
        if matches!(
            instruction.keyword,
            Keyword::Run | Keyword::Copy | Keyword::Add
        ) && instruction.rest.contains("<<")
        {
            for (name, chomp) in heredoc_names(&instruction.rest, escape) {
                let body = heredoc_body(lines, &mut i, &name, chomp).ok_or((
                    Some(start),
                    DockerfileError::UnterminatedHeredoc(name.clone()),
                ))?;
                instruction.heredocs.push(Heredoc { name, body });
            }
        }
        instruction.end_line = i.max(start);
        out.push(instruction);
    }
    if out.is_empty() {
        return Err((None, DockerfileError::Empty));
    }
    Ok(out)
}

/// Splits a logical line into keyword, flags and arguments.
fn instruction(original: String, line: usize, escape: char) -> Result<Instruction, Failure> {
    let (word, after) = original
        .split_once(|c: char| c.is_whitespace())
        .unwrap_or((original.as_str(), ""));
    let keyword = Keyword::parse(word)
        .ok_or_else(|| (Some(line), DockerfileError::UnknownInstruction(word.into())))?;
    let mut rest = after.trim_start();
    let mut flags = Vec::new();
    while rest.starts_with("--") {
        let (flag, tail) = first_word(rest, escape);
        rest = tail.trim_start();
        if flag == "--" {
            break;
        }
        flags.push(flag.to_string());
    }
    let rest = rest.trim_end().to_string();
    if rest.is_empty() {
        return Err((Some(line), DockerfileError::NoArguments(keyword.as_str())));
    }
    Ok(Instruction {
        line,
        end_line: line,
        keyword,
        original: original.clone(),
        flags,
        rest,
        heredocs: Vec::new(),
    })
}

/// The first shell word of `s` (quotes and escapes kept as written) and what follows it.
fn first_word(s: &str, escape: char) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (at, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == escape && quote != Some('\'') {
            escaped = true;
        } else if let Some(q) = quote {
            if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c.is_whitespace() {
            return (&s[..at], &s[at..]);
        }
    }
    (s, "")
}

/// The shell words of `s`, quotes and escapes kept as written.
pub(super) fn words(s: &str, escape: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let (word, tail) = first_word(rest, escape);
        out.push(word);
        rest = tail.trim_start();
    }
    out
}

/// The heredocs an instruction's arguments open, in order: each word matching BuildKit's
/// `^(\d*)<<(-?)([^<]*)$`, its name unquoted, and whether it is `<<-` (leading tabs of the
/// closing line ignored).
fn heredoc_names(rest: &str, escape: char) -> Vec<(String, bool)> {
    words(rest, escape)
        .into_iter()
        .filter_map(|word| {
            let w = word.trim_start_matches(|c: char| c.is_ascii_digit());
            let w = w.strip_prefix("<<")?;
            let (chomp, w) = match w.strip_prefix('-') {
                Some(w) => (true, w),
                None => (false, w),
            };
            if w.contains('<') {
                return None;
            }
            let name: String = w.chars().filter(|&c| c != '\'' && c != '"').collect();
            (!name.is_empty()).then_some((name, chomp))
        })
        .collect()
}

/// The body of heredoc `name` from line index `*i` on, which then points past its closing
/// line; `None` when no line closes it.
fn heredoc_body(lines: &[&str], i: &mut usize, name: &str, chomp: bool) -> Option<String> {
    let mut body = String::new();
    while *i < lines.len() {
        let line = lines[*i];
        *i += 1;
        let end = if chomp {
            line.trim_start_matches('\t')
        } else {
            line
        };
        if end == name {
            return Some(body);
        }
        body.push_str(line);
        body.push('\n');
    }
    None
}

/// Groups the instructions into stages.
fn stages(instructions: Vec<Instruction>, escape: char) -> Result<Dockerfile, Failure> {
    let mut args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == Keyword::From {
            let (base, name) = from(&ins)?;
            if let Some(n) = &name
                && stages.iter().any(|s| s.name.as_ref() == Some(n))
            {
                return Err((Some(ins.line), DockerfileError::DuplicateStage(n.clone())));
            }
            stages.push(Stage {
                index: stages.len(),
                name,
                from: ins,
                base,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(ins);
        } else if ins.keyword == Keyword::Arg {
            args.push(ins);
        } else {
            return Err((
                Some(ins.line),
                DockerfileError::BeforeFrom(ins.keyword.as_str()),
            ));
        }
    }
    if stages.is_empty() {
        return Err((None, DockerfileError::Empty));
    }
    Ok(Dockerfile {
        escape,
        args,
        stages,
    })
}

/// FROM's image and stage name: `IMAGE` or `IMAGE AS NAME`.
fn from(ins: &Instruction) -> Result<(String, Option<String>), Failure> {
    let words: Vec<&str> = ins.rest.split_whitespace().collect();
    let bad = || (Some(ins.line), DockerfileError::BadFrom(ins.rest.clone()));
    match words.as_slice() {
        [image] => Ok(((*image).to_string(), None)),
        [image, r#as, name] if r#as.eq_ignore_ascii_case("as") => {
            let name = name.to_ascii_lowercase();
            let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !valid {
                return Err((Some(ins.line), DockerfileError::BadStageName(name)));
            }
            Ok(((*image).to_string(), Some(name)))
        }
        _ => Err(bad()),
    }
}
