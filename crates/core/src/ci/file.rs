//! The `.dive-ci` file: YAML with a `rules:` mapping, read with line numbers so every complaint
//! can point at its line.
//!
//! Like dive (viper), keys match in any case and a null value (`lowestEfficiency:`, `~`) means
//! "not set". Unlike dive, unknown keys produce warnings (a misspelt rule silently falls back
//! to its default in dive), and a value that is not a single scalar, a key set twice or a
//! second YAML document is an error.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::Rule;
use crate::units::Written;

/// One rule's value as the file wrote it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawValue {
    pub text: String,
    pub written: Written,
    /// 1-based line of the value.
    pub line: usize,
}

/// What a `.dive-ci` file says: the rules it sets, in file order, and what it said that strata
/// ignores.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct FileRules {
    pub values: Vec<(Rule, RawValue)>,
    /// Lines `LINE: message`, without the file name.
    pub warnings: Vec<String>,
}

/// Reads the text of a `.dive-ci` file. `Err` is `(line, message)`.
pub(crate) fn parse(text: &str) -> Result<FileRules, (usize, String)> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|e| (error_line(text, &e), format!("invalid YAML: {}", e.info())))?;
    let mut documents = builder.documents.into_iter();
    let Some(root) = documents.next() else {
        return Ok(FileRules::default());
    };
    if let Some(second) = documents.next() {
        return Err((
            second.line,
            "a second YAML document; a CI config is one mapping with a `rules:` key".into(),
        ));
    }
    let mut out = FileRules::default();
    let entries = match root.kind {
        Kind::Null => return Ok(out),
        Kind::Map(entries) => entries,
        _ => {
            return Err((
                root.line,
                format!(
                    "expected a mapping with a `rules:` key, found {}",
                    root.kind.name()
                ),
            ));
        }
    };
    let mut rules_seen: Option<usize> = None;
    for (key, value) in entries {
        let Some(name) = key.scalar_text() else {
            return Err((key.line, "a key must be a plain name".into()));
        };
        if !name.eq_ignore_ascii_case("rules") {
            out.warnings
                .push(format!("{}: unknown key `{name}` (ignored)", key.line));
            continue;
        }
        if let Some(first) = rules_seen.replace(key.line) {
            return Err((
                key.line,
                format!("`rules` is set twice (first at line {first})"),
            ));
        }
        match value.kind {
            Kind::Null => {}
            Kind::Map(rules) => read_rules(rules, &mut out)?,
            _ => {
                return Err((
                    value.line,
                    format!(
                        "`rules` must be a mapping of rule names to values, found {}",
                        value.kind.name()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// The line a YAML error is on. yaml-rust2 marks a tab that ends a plain scalar at the start
/// of that scalar, often the line before; the tab's own line is the one to fix.
fn error_line(text: &str, error: &ScanError) -> usize {
    let mark = error.marker();
    if !error.info().contains("tab") {
        return mark.line();
    }
    let from = mark.index().min(text.len());
    match text.get(from..).and_then(|rest| rest.find('\t')) {
        Some(offset) => {
            let tab = from + offset;
            mark.line() + text[from..tab].matches('\n').count()
        }
        _ => mark.line(),
    }
}

fn read_rules(entries: Vec<(Node, Node)>, out: &mut FileRules) -> Result<(), (usize, String)> {
    let mut seen: HashMap<Rule, usize> = HashMap::new();
    for (key, value) in entries {
        let Some(name) = key.scalar_text() else {
            return Err((key.line, "a rule name must be a plain name".into()));
        };
        let Some(rule) = Rule::from_dive_name(name) else {
            let hint = Rule::closest(name)
                .map(|r| format!("; did you mean `{}`?", r.dive_name()))
                .unwrap_or_default();
            out.warnings.push(format!(
                "{}: unknown rule `rules.{name}` (ignored){hint}",
                key.line
            ));
            continue;
        };
        if let Some(first) = seen.insert(rule, key.line) {
            return Err((
                key.line,
                format!(
                    "`rules.{}` is set twice (first at line {first})",
                    rule.dive_name()
                ),
            ));
        }
        match value.kind {
            Kind::Null => {}
            Kind::Scalar { text, written } => out.values.push((
                rule,
                RawValue {
                    text,
                    written,
                    line: value.line,
                },
            )),
            other => {
                return Err((
                    value.line,
                    format!(
                        "`rules.{}` must be a single value, found {}",
                        rule.dive_name(),
                        other.name()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A YAML node with the line it starts on.
#[derive(Debug, Clone)]
struct Node {
    kind: Kind,
    line: usize,
}

#[derive(Debug, Clone)]
enum Kind {
    Null,
    Scalar { text: String, written: Written },
    Seq,
    Map(Vec<(Node, Node)>),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Null => "nothing",
            Kind::Scalar { .. } => "a single value",
            Kind::Seq => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

impl Node {
    fn scalar_text(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Open collections while the parser streams events.
enum Frame {
    Seq {
        line: usize,
        anchor: usize,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Builds [`Node`]s from parser events; aliases are resolved to copies of their anchors.
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Node>,
}

impl Builder {
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq { .. }) => {}
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let kind = if style == TScalarStyle::Plain
                    && tag.is_none()
                    && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL")
                {
                    Kind::Null
                } else {
                    let written = if style == TScalarStyle::Plain {
                        Written::YamlPlain
                    } else {
                        Written::YamlQuoted
                    };
                    Kind::Scalar { text, written }
                };
                self.finish(Node { kind, line }, anchor);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or(Node {
                    kind: Kind::Null,
                    line,
                });
                self.finish(Node { line, ..node }, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq { line, anchor }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                line,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq { line, anchor }) => (
                        Node {
                            kind: Kind::Seq,
                            line,
                        },
                        anchor,
                    ),
                    Some(Frame::Map {
                        line,
                        anchor,
                        entries,
                        ..
                    }) => (
                        Node {
                            kind: Kind::Map(entries),
                            line,
                        },
                        anchor,
                    ),
                    None => return,
                };
                self.finish(node, anchor);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(Rule, String, usize)> {
        let parsed = parse(text).expect("valid config");
        parsed
            .values
            .into_iter()
            .map(|(rule, raw)| (rule, raw.text, raw.line))
            .collect()
    }

    #[test]
    fn reads_rules_with_their_lines() {
        let text = "# comment\nrules:\n  lowestEfficiency: 0.95\n\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: '0.2'\n";
        assert_eq!(
            values(text),
            vec![
                (Rule::LowestEfficiency, "0.95".into(), 3),
                (Rule::HighestWastedBytes, "20MB".into(), 5),
                (Rule::HighestUserWastedPercent, "0.2".into(), 6),
            ]
        );
    }

    #[test]
    fn quoting_decides_how_numbers_are_read() {
        let parsed = parse("rules:\n  highestWastedBytes: 1e3\n  lowestEfficiency: \"0.5\"\n")
            .expect("valid config");
        let written: Vec<Written> = parsed.values.iter().map(|(_, v)| v.written).collect();
        assert_eq!(written, [Written::YamlPlain, Written::YamlQuoted]);
    }

    #[test]
    fn shapes_that_mean_nothing_is_set() {
        // dive (viper) treats all of these as "use the defaults".
        for text in [
            "",
            "\n# only a comment\n",
            "~",
            "---\n",
            "rules:",
            "rules: ~",
            "rules: {}",
            "rules:\n  lowestEfficiency:\n  highestWastedBytes: null\n  highestUserWastedPercent: ~\n",
        ] {
            let parsed = parse(text).expect("valid config");
            assert!(parsed.values.is_empty(), "{text:?} set {:?}", parsed.values);
            assert!(
                parsed.warnings.is_empty(),
                "{text:?}: {:?}",
                parsed.warnings
            );
        }
    }

    #[test]
    fn keys_match_in_any_case_as_in_viper() {
        assert_eq!(
            values("RULES:\n  LowestEfficiency: 0.8\n  HIGHESTWASTEDBYTES: 1999\n"),
            vec![
                (Rule::LowestEfficiency, "0.8".into(), 2),
                (Rule::HighestWastedBytes, "1999".into(), 3),
            ]
        );
    }

    #[test]
    fn flow_style_and_anchors_are_yaml_too() {
        assert_eq!(
            values("{\"rules\": {\"lowestEfficiency\": 0.81}}"),
            vec![(Rule::LowestEfficiency, "0.81".into(), 1)]
        );
        // An alias takes its anchor's value and the line where the alias is used.
        assert_eq!(
            values("x: &v 0.81\nrules:\n  lowestEfficiency: *v\n"),
            vec![(Rule::LowestEfficiency, "0.81".into(), 3)]
        );
    }

    #[test]
    fn unknown_keys_are_warnings_with_a_suggestion() {
        let parsed = parse("version: 1\nrules:\n  lowestEfficency: 0.99\n  maxLayers: 3\n")
            .expect("valid config");
        assert!(parsed.values.is_empty());
        assert_eq!(
            parsed.warnings,
            [
                "1: unknown key `version` (ignored)",
                "3: unknown rule `rules.lowestEfficency` (ignored); did you mean `lowestEfficiency`?",
                "4: unknown rule `rules.maxLayers` (ignored)",
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "rules:\n  lowestEfficiency: [0.8\n  x: }\n",
                3,
                "invalid YAML",
            ),
            (
                "rules:\n  lowestEfficiency: 0.9\n\thighestWastedBytes: 1\n",
                3,
                "invalid YAML",
            ),
            ("rules: 5\n", 1, "`rules` must be a mapping"),
            (
                "rules:\n  - lowestEfficiency: 0.9\n",
                2,
                "`rules` must be a mapping",
            ),
            (
                "- rules\n",
                1,
                "expected a mapping with a `rules:` key, found a list",
            ),
            ("just text\n", 1, "expected a mapping"),
            (
                "rules:\n  lowestEfficiency: 0.5\n  lowestEfficiency: 0.8\n",
                3,
                "`rules.lowestEfficiency` is set twice (first at line 2)",
            ),
            (
                "rules:\n  lowestEfficiency: 0.5\n  LOWESTEFFICIENCY: 0.8\n",
                3,
                "set twice",
            ),
            (
                "rules: {}\nrules: {}\n",
                2,
                "`rules` is set twice (first at line 1)",
            ),
            (
                "rules:\n  highestWastedBytes:\n    - 20MB\n",
                3,
                "`rules.highestWastedBytes` must be a single value, found a list",
            ),
            (
                "rules:\n  lowestEfficiency: {a: 1}\n",
                2,
                "must be a single value, found a mapping",
            ),
            ("rules: {}\n---\nrules: {}\n", 3, "a second YAML document"),
            (
                "rules:\n  [a, b]: 1\n",
                2,
                "a rule name must be a plain name",
            ),
        ];
        for &(text, line, message) in cases {
            let Err((got_line, got)) = parse(text) else {
                panic!("{text:?} parsed");
            };
            assert!(got.contains(message), "{text:?}: {got}");
            assert_eq!(got_line, line, "{text:?}: {got}");
        }
    }
}
