//! Variable substitution in instruction arguments, as BuildKit's shell lexer does it
//! (`frontend/dockerfile/shell/lex.go`, `ProcessWord`): `$NAME`, `${NAME}`, `${NAME:-word}`,
//! `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`, `${NAME:?word}`, `${NAME?word}`; quotes
//! removed (nothing expands between single quotes), the escape character taking the next
//! character as it is.
//!
//! A value strata cannot know (a build argument declared without a default, which the build
//! may have set with `--build-arg`) makes the whole word unknown, as do the pattern forms
//! (`${NAME#…}`, `${NAME%…}`, `${NAME/…}`): the caller then compares only the word as
//! written, never a guess.

use std::collections::HashMap;
use std::iter::Peekable;
use std::str::Chars;

/// The variables in scope: a value, or `None` for one set to a value strata does not know.
/// A name absent from the map is unset (it expands to nothing, as in a build).
#[derive(Debug, Clone, Default)]
pub struct Vars(HashMap<String, Option<String>>);

impl Vars {
    pub fn set(&mut self, name: &str, value: Option<String>) {
        self.0.insert(name.to_string(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Option<String>> {
        self.0.get(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// `word` with its variables substituted and its quotes removed; `None` when a value is not
/// known or a form is not supported.
pub fn expand(word: &str, vars: &Vars, escape: char) -> Option<String> {
    let mut chars = word.chars().peekable();
    let out = until(&mut chars, vars, escape, None)?;
    chars.next().is_none().then_some(out)
}

/// Reads up to `stop` (not consumed) or the end.
fn until(
    chars: &mut Peekable<Chars<'_>>,
    vars: &Vars,
    escape: char,
    stop: Option<char>,
) -> Option<String> {
    let mut out = String::new();
    while let Some(&c) = chars.peek() {
        if Some(c) == stop {
            break;
        }
        chars.next();
        match c {
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    c => out.push(c),
                }
            },
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '$' => out.push_str(&variable(chars, vars, escape)?),
                    c if c == escape => match chars.peek() {
                        Some(&n) if n == '"' || n == '$' || n == escape => {
                            out.push(n);
                            chars.next();
                        }
                        _ => out.push(c),
                    },
                    c => out.push(c),
                }
            },
            '$' => out.push_str(&variable(chars, vars, escape)?),
            c if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// After a `$`: the variable's value, or `$` itself when no name follows.
fn variable(chars: &mut Peekable<Chars<'_>>, vars: &Vars, escape: char) -> Option<String> {
    let Some(&c) = chars.peek() else {
        return Some("$".into());
    };
    if c != '{' {
        let name = name(chars);
        if name.is_empty() {
            return Some("$".into());
        }
        return value(vars, &name);
    }
    chars.next();
    let name = name(chars);
    if name.is_empty() {
        return None;
    }
    match chars.next()? {
        '}' => value(vars, &name),
        ':' => {
            let op = chars.next()?;
            let word = until(chars, vars, escape, Some('}'));
            chars.next()?;
            modified(vars, &name, op, true, word)
        }
        op @ ('-' | '+' | '?') => {
            let word = until(chars, vars, escape, Some('}'));
            chars.next()?;
            modified(vars, &name, op, false, word)
        }
        _ => None,
    }
}

fn name(chars: &mut Peekable<Chars<'_>>) -> String {
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    name
}

/// A plain `$NAME`: its value, nothing when unset, `None` when unknown.
fn value(vars: &Vars, name: &str) -> Option<String> {
    match vars.get(name) {
        Some(v) => v.clone(),
        None => Some(String::new()),
    }
}

/// `${NAME<op>word}`, `${NAME:<op>word}` with `colon`: an empty value counts as unset.
fn modified(
    vars: &Vars,
    name: &str,
    op: char,
    colon: bool,
    word: Option<String>,
) -> Option<String> {
    let set = match vars.get(name) {
        None => None,
        Some(None) => return None,
        Some(Some(v)) => Some(v.as_str()),
    };
    let set = set.filter(|v| !(colon && v.is_empty()));
    match (op, set) {
        ('-', Some(v)) | ('?', Some(v)) => Some(v.to_string()),
        ('-', None) | ('+', Some(_)) => word,
        ('+', None) => Some(String::new()),
        // `${NAME?msg}` with NAME unset fails the build: this image was not built so.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("HOME", Some("/home/app".into()));
        v.set("EMPTY", Some(String::new()));
        v.set("SECRET", None);
        v
    }

    /// Each form against what a POSIX shell gives for the same word with HOME=/home/app,
    /// EMPTY set and empty, UNSET unset (the values written here from `sh -c 'echo …'`).
    #[test]
    fn substitution_follows_the_shell() {
        let cases = [
            ("$HOME/bin", "/home/app/bin"),
            ("${HOME}bin", "/home/appbin"),
            ("${UNSET:-/opt}", "/opt"),
            ("${EMPTY:-/opt}", "/opt"),
            ("${EMPTY-/opt}", ""),
            ("${UNSET-/opt}", "/opt"),
            ("${HOME:+set}", "set"),
            ("${EMPTY:+set}", ""),
            ("${EMPTY+set}", "set"),
            ("${UNSET+set}", ""),
            ("${UNSET:-$HOME/x}", "/home/app/x"),
            ("$UNSET", ""),
            ("'$HOME'", "$HOME"),
            ("\"$HOME dir\"", "/home/app dir"),
            ("\\$HOME", "$HOME"),
            ("a$", "a$"),
            ("100%", "100%"),
            ("\"a\\\"b\"", "a\"b"),
        ];
        for (word, expected) in cases {
            assert_eq!(
                expand(word, &vars(), '\\').as_deref(),
                Some(expected),
                "{word}"
            );
        }
    }

    #[test]
    fn an_unknown_value_or_form_is_no_guess() {
        for word in [
            "$SECRET",
            "${SECRET:-x}",
            "${HOME#/home}",
            "${HOME",
            "'open",
            "${UNSET?x}",
        ] {
            assert_eq!(expand(word, &vars(), '\\'), None, "{word}");
        }
    }

    #[test]
    fn a_backtick_escape_leaves_backslashes_alone() {
        assert_eq!(
            expand("C:\\app\\$HOME`$x", &vars(), '`').as_deref(),
            Some("C:\\app\\/home/app$x")
        );
    }
}
