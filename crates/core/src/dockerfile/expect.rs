//! What each builder writes in a history entry's `created_by` for one instruction, and whether
//! an entry is one of those. The forms, from the builders' sources and real images:
//!
//! | instruction | Docker (classic) | buildah 1.28 | BuildKit | kaniko |
//! |---|---|---|---|---|
//! | `RUN cmd` | `/bin/sh -c cmd` | the same | `RUN /bin/sh -c cmd # buildkit` | `RUN cmd` |
//! | with ARGs in scope | `\|2 A=1 B=2 /bin/sh -c cmd` | the same | `RUN \|2 A=1 B=2 /bin/sh -c cmd # buildkit` | — |
//! | `RUN ["a", "b"]` | `a b` | `/bin/sh -c ["a", "b"]` | `RUN a b # buildkit` | as written |
//! | `COPY src /dst` | `/bin/sh -c #(nop) COPY file:<hash> in /dst ` | the same, `/dst` unexpanded | `COPY src /dst # buildkit` (`--chown`, `--chmod` kept, `--from` dropped) | as written |
//! | `ENV A="x y"` | `/bin/sh -c #(nop)  ENV A=x y` | `/bin/sh -c #(nop) ENV A="x y"` (as written) | `ENV A=x y` | as written |
//! | `WORKDIR sub` | `#(nop) WORKDIR /abs/sub` | `#(nop) WORKDIR sub` | `WORKDIR /abs/sub` | as written |
//! | `ARG V=1` | `#(nop)  ARG V=1` | `#(nop) ARG V` (every ARG name so far) | `ARG V=1` | as written |
//! | `CMD ["a", "b"]` | `#(nop)  CMD ["a" "b"]` | `#(nop) CMD ["a", "b"]` | `CMD ["a" "b"]` | as written |
//! | `EXPOSE 80` | `#(nop)  EXPOSE 80/tcp` (`map[80/tcp:{}]` before 20.10) | `EXPOSE 80` | `EXPOSE [80/tcp]` | as written |
//!
//! (BuildKit's from `frontend/dockerfile/dockerfile2llb/convert.go`, `commitToHistory` and the
//! dispatchers; buildah's measured on images built here.) A heredoc RUN is the heredoc's
//! body for BuildKit (or `/dev/pipes/NAME` when the body starts with `#!`), or the first line
//! with the bodies appended when the line holds more than the heredoc.
//!
//! Entries are compared with their whitespace collapsed, so a continuation's indentation
//! (buildah keeps it, `a  && b`) or a trailing blank does not matter. An instruction matches
//! only an entry of its own keyword, and only through one of these forms: a RUN's command
//! whole, a COPY's destination (all the classic form records) or all its arguments, the
//! metadata instructions' arguments with their quoting and brackets set aside.

use super::expand::{Vars, expand};
use super::parse::{Instruction, Keyword, words};

/// A history entry's `created_by`, read: the instruction it records and its arguments, with
/// whitespace collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub keyword: Option<Keyword>,
    pub args: String,
    /// The classic builders' form (`#(nop) KEYWORD …`, or a bare RUN command).
    pub classic: bool,
}

/// Reads a `created_by`.
pub fn said(created_by: &str) -> Said {
    let norm = collapse(created_by);
    let norm = norm.strip_suffix(" # buildkit").unwrap_or(&norm);
    let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
    let nop = words.iter().take(6).position(|w| *w == "#(nop)");
    if let Some(p) = nop {
        return Said {
            keyword: words.get(p + 1).and_then(|k| Keyword::parse(k)),
            args: words.get(p + 2..).unwrap_or_default().join(" "),
            classic: true,
        };
    }
    match words.first() {
        Some(first) if first.bytes().all(|b| b.is_ascii_uppercase()) => {
            if let Some(k) = Keyword::parse(first) {
                return Said {
                    keyword: Some(k),
                    args: words[1..].join(" "),
                    classic: false,
                };
            }
        }
        None => {
            return Said {
                keyword: None,
                args: String::new(),
                classic: false,
            };
        }
        _ => {}
    }
    Said {
        keyword: Some(Keyword::Run),
        args: words.join(" "),
        classic: true,
    }
}

/// What entries one instruction may have written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    Run {
        /// Whole arguments: the command as written (kaniko), the exec form's words, and each
        /// shell with the command.
        whole: Vec<String>,
        /// What may follow `|N NAME=value…`: each shell with the command (the values may hold
        /// blanks), and the exec form's words (only after exactly N `NAME=value` words).
        after_args: Vec<(String, bool)>,
    },
    Files {
        keyword: Keyword,
        /// The destination, as written and expanded (the classic form).
        dests: Vec<String>,
        /// The sources and destination without flags, as written and expanded.
        args: Vec<String>,
    },
    /// ARG: the names it declares, each of which the entry must name.
    Names(Vec<String>),
    /// EXPOSE: the ports, each with its protocol.
    Ports(Vec<Vec<String>>),
    /// Any other instruction: its arguments in each form, loosened.
    Loose {
        keyword: Keyword,
        forms: Vec<String>,
    },
}

/// What the instruction can expand to, and the shells a RUN or CMD may run under.
pub struct Context<'a> {
    pub vars: &'a Vars,
    pub escape: char,
    /// The SHELL in effect (if set in the Dockerfile), then the platform's default.
    pub shells: &'a [Vec<String>],
    /// The working directory before the instruction, when known.
    pub workdir: Option<&'a str>,
}

impl Context<'_> {
    fn expand(&self, word: &str) -> Option<String> {
        expand(word, self.vars, self.escape)
    }

    /// Every word of `s` expanded, joined by blanks; `None` if any is unknown.
    fn expand_words(&self, s: &str) -> Option<String> {
        let words: Option<Vec<String>> = words(s, self.escape)
            .into_iter()
            .map(|w| self.expand(w))
            .collect();
        Some(words?.join(" "))
    }
}

/// The arguments after the keyword, flags included, as written.
fn after_keyword(ins: &Instruction) -> &str {
    ins.original
        .split_once(char::is_whitespace)
        .map_or("", |(_, rest)| rest.trim())
}

/// What `ins` may have written, in `cx`.
pub fn expect(ins: &Instruction, cx: &Context<'_>) -> Expect {
    match ins.keyword {
        Keyword::Run => run(ins, cx),
        Keyword::Copy | Keyword::Add => files(ins, cx),
        Keyword::Arg => Expect::Names(
            words(&ins.rest, cx.escape)
                .iter()
                .map(|w| w.split('=').next().unwrap_or_default().to_string())
                .collect(),
        ),
        Keyword::Expose => {
            let mut forms = vec![ports(&ins.rest)];
            if let Some(expanded) = cx.expand_words(&ins.rest) {
                forms.push(ports(&expanded));
            }
            Expect::Ports(forms)
        }
        keyword => Expect::Loose {
            keyword,
            forms: loose_forms(ins, cx).iter().map(|f| loose(f)).collect(),
        },
    }
}

fn run(ins: &Instruction, cx: &Context<'_>) -> Expect {
    let mut commands = vec![ins.rest.clone()];
    for h in &ins.heredocs {
        commands.push(h.body.clone());
        commands.push(format!("/dev/pipes/{}", h.name));
    }
    if !ins.heredocs.is_empty() {
        let mut full = ins.rest.clone();
        for h in &ins.heredocs {
            full = format!("{full}\n{}{}", h.body, h.name);
        }
        commands.push(full);
    }
    let exec = ins.json().map(|argv| argv.join(" "));
    let mut whole = vec![after_keyword(ins).to_string(), ins.rest.clone()];
    let mut after_args = Vec::new();
    for shell in cx.shells {
        for c in &commands {
            let shelled = format!("{} {c}", shell.join(" "));
            whole.push(shelled.clone());
            after_args.push((collapse(&shelled), true));
        }
    }
    if let Some(e) = exec {
        whole.push(e.clone());
        after_args.push((collapse(&e), false));
    }
    Expect::Run {
        whole: whole.iter().map(|w| collapse(w)).collect(),
        after_args,
    }
}

fn files(ins: &Instruction, cx: &Context<'_>) -> Expect {
    let written: Vec<String> = match ins.json() {
        Some(argv) => argv,
        None => words(&ins.rest, cx.escape)
            .iter()
            .map(ToString::to_string)
            .collect(),
    };
    let expanded: Option<Vec<String>> = written.iter().map(|w| cx.expand(w)).collect();
    let mut dests = Vec::new();
    let mut args = vec![collapse(&written.join(" "))];
    dests.extend(written.last().map(|d| collapse(d)));
    if let Some(expanded) = expanded {
        dests.extend(expanded.last().map(|d| collapse(d)));
        args.push(collapse(&expanded.join(" ")));
    }
    Expect::Files {
        keyword: ins.keyword,
        dests,
        args,
    }
}

/// The forms of a metadata instruction's arguments, before loosening.
fn loose_forms(ins: &Instruction, cx: &Context<'_>) -> Vec<String> {
    let mut forms = vec![after_keyword(ins).to_string(), ins.rest.clone()];
    match ins.keyword {
        Keyword::Env | Keyword::Label => {
            let pairs: Option<Vec<String>> = pairs(&ins.rest, cx.escape)
                .into_iter()
                .map(|(k, v)| Some(format!("{}={}", cx.expand(&k)?, cx.expand(&v)?)))
                .collect();
            forms.extend(pairs.map(|p| p.join(" ")));
        }
        Keyword::Workdir => {
            if let Some(dir) = cx.expand(&ins.rest) {
                forms.extend(resolve_workdir(cx.workdir, &dir));
                forms.push(dir);
            }
        }
        Keyword::Cmd | Keyword::Entrypoint if ins.json().is_none() => {
            for shell in cx.shells {
                forms.push(format!("{} {}", shell.join(" "), ins.rest));
            }
        }
        Keyword::Healthcheck => {
            let test = match ins.rest.split_once(char::is_whitespace) {
                Some((cmd, r)) if cmd.eq_ignore_ascii_case("CMD") => {
                    let r = r.trim();
                    match serde_json::from_str::<Vec<String>>(r) {
                        Ok(argv) if r.starts_with('[') => format!("CMD {}", argv.join(" ")),
                        _ => format!("CMD-SHELL {r}"),
                    }
                }
                _ => ins.rest.clone(),
            };
            forms.push(test);
        }
        _ => forms.extend(cx.expand_words(&ins.rest)),
    }
    forms
}

/// The directory WORKDIR `dir` leads to from `from`: `dir` if absolute, else joined; cleaned
/// (`.` and `..` resolved) as BuildKit writes it. `None` for a relative `dir` from an unknown
/// directory.
pub fn resolve_workdir(from: Option<&str>, dir: &str) -> Option<String> {
    let joined = if dir.starts_with('/') {
        dir.to_string()
    } else {
        format!("{}/{dir}", from?)
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// ENV's and LABEL's `key=value` pairs as written (BuildKit's `parseNameVal`): the legacy
/// `KEY value…` form when the first word has no `=`.
pub fn pairs(rest: &str, escape: char) -> Vec<(String, String)> {
    let ws = words(rest, escape);
    match ws.first() {
        Some(first) if !first.contains('=') => {
            let value = rest.trim_start()[first.len()..].trim();
            vec![((*first).to_string(), value.to_string())]
        }
        _ => ws
            .iter()
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// EXPOSE's ports, each with its protocol (`80` is `80/tcp`), sorted; read from the
/// instruction or from an entry (`[80/tcp]`, `map[80/tcp:{}]`).
fn ports(s: &str) -> Vec<String> {
    let cleaned = s
        .replace("map[", " ")
        .replace(":{}", " ")
        .replace(['[', ']'], " ");
    let mut ports: Vec<String> = cleaned
        .split_whitespace()
        .map(|p| {
            if p.contains('/') {
                p.to_ascii_lowercase()
            } else {
                format!("{p}/tcp")
            }
        })
        .collect();
    ports.sort();
    ports.dedup();
    ports
}

/// Whitespace collapsed to single blanks.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Brackets, commas and quotes set aside, whitespace collapsed: `["a", "b"]`, `["a" "b"]`,
/// `[a b]` and `a b` are one form; `A="x y"` and `A=x y` too.
fn loose(s: &str) -> String {
    collapse(&s.replace(['[', ']', ',', '"', '\''], " "))
}

impl Expect {
    /// Whether entry `e` records this instruction.
    pub fn matches(&self, e: &Said) -> bool {
        match self {
            Expect::Run { whole, after_args } => {
                e.keyword == Some(Keyword::Run)
                    && (whole.contains(&e.args) || with_build_args(&e.args, after_args))
            }
            Expect::Files {
                keyword,
                dests,
                args,
            } => {
                if e.keyword != Some(*keyword) {
                    return false;
                }
                match classic_dest(e) {
                    Some(dest) => dests.iter().any(|d| d == dest),
                    None => {
                        let plain: Vec<&str> = e
                            .args
                            .split(' ')
                            .skip_while(|w| w.starts_with("--"))
                            .collect();
                        args.contains(&plain.join(" "))
                    }
                }
            }
            Expect::Names(names) => {
                e.keyword == Some(Keyword::Arg) && {
                    let said: Vec<&str> = e
                        .args
                        .split(' ')
                        .map(|w| w.split('=').next().unwrap_or_default())
                        .collect();
                    names.iter().all(|n| said.contains(&n.as_str()))
                }
            }
            Expect::Ports(forms) => {
                e.keyword == Some(Keyword::Expose) && forms.contains(&ports(&e.args))
            }
            Expect::Loose { keyword, forms } => {
                e.keyword == Some(*keyword) && {
                    let args = match e.args.strip_prefix("&{") {
                        // HEALTHCHECK as Go prints the config: its test in the first brackets.
                        Some(r) if *keyword == Keyword::Healthcheck => {
                            r.split_once(']').map_or(r, |(test, _)| test)
                        }
                        _ => &e.args,
                    };
                    forms.contains(&loose(args))
                }
            }
        }
    }
}

/// A classic COPY or ADD's destination: `file:<hash> in DEST` (also `dir:`, `multi:`).
fn classic_dest(e: &Said) -> Option<&str> {
    if !e.classic {
        return None;
    }
    let (what, dest) = e.args.split_once(" in ")?;
    ["file:", "dir:", "multi:"]
        .iter()
        .any(|p| what.starts_with(p) && !what.contains(' '))
        .then_some(dest)
}

/// `|N NAME=value… X` with X one of `after`: with a shell, the values may hold blanks (the
/// shell and the command pin the end); the exec form's words only after exactly N
/// `NAME=value` words.
fn with_build_args(args: &str, after: &[(String, bool)]) -> bool {
    let Some((count, rest)) = args.strip_prefix('|').and_then(|a| a.split_once(' ')) else {
        return false;
    };
    let Ok(n) = count.parse::<usize>() else {
        return false;
    };
    let assignment = |w: &str| {
        w.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
    };
    after.iter().any(|(x, loose)| {
        let Some(values) = rest.strip_suffix(x.as_str()) else {
            return false;
        };
        let Some(values) = values.strip_suffix(' ') else {
            return false;
        };
        let words: Vec<&str> = values.split(' ').collect();
        if *loose {
            n > 0 && words.first().is_some_and(|w| assignment(w))
        } else {
            words.len() == n && words.iter().all(|w| assignment(w))
        }
    })
}
