//! The `.dive-ci` file: YAML with a `rules:` mapping, read with line numbers so every complaint
//! can point at its line; and strata's `allow:` list, in `.dive-ci` (dive ignores keys it does
//! not know) or in `.strata.yaml`, which holds nothing else.
//!
//! Like dive (viper), keys match in any case and a null value (`lowestEfficiency:`, `~`) means
//! "not set". Unlike dive, unknown keys produce warnings (a misspelt rule silently falls back
//! to its default in dive), and a value that is not a single scalar, a key set twice or a
//! second YAML document is an error. An allow-list entry is stricter still: an unknown key, an
//! unknown finding id or a missing `reason` is an error, since a misread entry would let
//! findings through (or none) without saying so.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use globset::{Glob, GlobBuilder};

use super::Rule;
use crate::analysis::FindingKind;
use crate::units::Written;

/// Which file is read: dive's `.dive-ci` (its `rules:`, and strata's `allow:`) or strata's
/// `.strata.yaml` (`allow:` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    DiveCi,
    Strata,
}

/// One allow-list entry as the file wrote it, checked: a finding id, a glob its paths must
/// match (absolute: `/` is put before a pattern without one), and why it is accepted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawAllow {
    pub kind: FindingKind,
    pub path: Option<Glob>,
    pub reason: String,
    /// 1-based line of the entry.
    pub line: usize,
}

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
    /// The `allow:` entries, in file order.
    pub allow: Vec<RawAllow>,
    /// Lines `LINE: message`, without the file name.
    pub warnings: Vec<String>,
}

/// Reads the text of a `.dive-ci` file. `Err` is `(line, message)`.
pub(crate) fn parse(text: &str) -> Result<FileRules, (usize, String)> {
    parse_as(text, Dialect::DiveCi)
}

/// Reads the text of a `.dive-ci` or `.strata.yaml` file. `Err` is `(line, message)`.
pub(crate) fn parse_as(text: &str, dialect: Dialect) -> Result<FileRules, (usize, String)> {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, true)
        .map_err(|e| (error_line(text, &e), format!("invalid YAML: {}", e.info())))?;
    if let Some(line) = builder.too_big {
        return Err((
            line,
            format!("aliases expand to more than {MAX_NODES} values; a CI config is a few lines"),
        ));
    }
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
    let (mut rules_seen, mut allow_seen): (Option<usize>, Option<usize>) = (None, None);
    for (key, value) in entries {
        let Some(name) = key.scalar_text() else {
            return Err((key.line, "a key must be a plain name".into()));
        };
        if name.eq_ignore_ascii_case("allow") {
            if let Some(first) = allow_seen.replace(key.line) {
                return Err((
                    key.line,
                    format!("`allow` is set twice (first at line {first})"),
                ));
            }
            read_allow(value, &mut out)?;
            continue;
        }
        if !name.eq_ignore_ascii_case("rules") || dialect == Dialect::Strata {
            let hint = match dialect {
                Dialect::Strata if name.eq_ignore_ascii_case("rules") => {
                    "; dive's rules are read from .dive-ci"
                }
                Dialect::Strata => "; this file holds `allow:`",
                Dialect::DiveCi => "",
            };
            out.warnings.push(format!(
                "{}: unknown key `{name}` (ignored){hint}",
                key.line
            ));
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

/// The `allow:` list: entries `{id, path, reason}`, each checked.
fn read_allow(value: Node, out: &mut FileRules) -> Result<(), (usize, String)> {
    let items = match value.kind {
        Kind::Null => return Ok(()),
        Kind::Seq(items) => items,
        other => {
            return Err((
                value.line,
                format!(
                    "`allow` must be a list of entries (`- id: …` with a `reason`), found {}",
                    other.name()
                ),
            ));
        }
    };
    for item in items {
        out.allow.push(read_allow_entry(item)?);
    }
    Ok(())
}

/// One `allow:` entry: `id` and `reason` required, `path` a glob.
fn read_allow_entry(item: Node) -> Result<RawAllow, (usize, String)> {
    let line = item.line;
    let Kind::Map(entries) = item.kind else {
        return Err((
            line,
            format!(
                "an `allow` entry must be a mapping with `id`, `reason` and an optional `path`, \
                 found {}",
                item.kind.name()
            ),
        ));
    };
    let mut fields: [Option<(String, usize)>; 3] = [None, None, None];
    const KEYS: [&str; 3] = ["id", "path", "reason"];
    for (key, value) in entries {
        let Some(name) = key.scalar_text() else {
            return Err((key.line, "a key must be a plain name".into()));
        };
        let Some(at) = KEYS.iter().position(|k| k.eq_ignore_ascii_case(name)) else {
            return Err((
                key.line,
                format!(
                    "unknown key `{name}` in an `allow` entry; its keys are id, path and reason"
                ),
            ));
        };
        if let Some((_, first)) = &fields[at] {
            return Err((
                key.line,
                format!(
                    "`{}` is set twice in this `allow` entry (first at line {first})",
                    KEYS[at]
                ),
            ));
        }
        match value.kind {
            Kind::Null => {}
            Kind::Scalar { text, .. } => fields[at] = Some((text, value.line)),
            other => {
                return Err((
                    value.line,
                    format!(
                        "`{}` must be a single value, found {}",
                        KEYS[at],
                        other.name()
                    ),
                ));
            }
        }
    }
    let [id, path, reason] = fields;
    let Some((id, id_line)) = id else {
        return Err((
            line,
            "an `allow` entry needs an `id` (a finding's id, such as `runs-as-root`)".into(),
        ));
    };
    let id = id.trim();
    let Some(kind) = FindingKind::ALL
        .into_iter()
        .find(|k| k.id().eq_ignore_ascii_case(id))
    else {
        return Err((id_line, unknown_id(id)));
    };
    let reason = reason
        .map(|(r, _)| r.trim().to_string())
        .unwrap_or_default();
    if reason.is_empty() {
        return Err((
            line,
            format!(
                "the `allow` entry for `{}` has no `reason`: say why the finding is accepted",
                kind.id()
            ),
        ));
    }
    let path = match path {
        Some((pattern, path_line)) => Some(glob(&pattern).map_err(|e| (path_line, e))?),
        None => None,
    };
    Ok(RawAllow {
        kind,
        path,
        reason,
        line,
    })
}

/// The message for an id no finding has, with the closest one or the list.
fn unknown_id(id: &str) -> String {
    let closest = FindingKind::ALL
        .into_iter()
        .map(|k| (super::edit_distance(id, k.id()), k))
        .filter(|&(d, _)| d <= 3)
        .min_by_key(|&(d, _)| d);
    match closest {
        Some((_, k)) => format!("unknown finding id `{id}`; did you mean `{}`?", k.id()),
        None => {
            let ids: Vec<&str> = FindingKind::ALL.iter().map(|k| k.id()).collect();
            format!("unknown finding id `{id}`; the ids are {}", ids.join(", "))
        }
    }
}

/// A `path` pattern as a glob over absolute paths: `*` and `?` stop at `/`, `**` does not; a
/// pattern without a leading `/` is taken from the root.
fn glob(pattern: &str) -> Result<Glob, String> {
    let pattern = pattern.trim();
    if pattern.is_empty() {
        return Err("`path` is empty; leave it out to allow every path".into());
    }
    let absolute = if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/{pattern}")
    };
    GlobBuilder::new(&absolute)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| format!("`path` `{pattern}` is not a valid glob: {}", e.kind()))
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
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::Null => "nothing",
            Kind::Scalar { .. } => "a single value",
            Kind::Seq(_) => "a list",
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
        items: Vec<Node>,
    },
    Map {
        line: usize,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

/// Values a file may hold once its aliases are expanded: a CI config has a few dozen, and an
/// alias of an alias of a list doubles at each step (a "billion laughs" file would otherwise
/// be copied until memory runs out).
const MAX_NODES: usize = 100_000;

/// Builds [`Node`]s from parser events; aliases are resolved to copies of their anchors.
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Node>,
    /// Values built so far, aliases counted at their expanded size.
    nodes: usize,
    /// The line of the alias that took the count past [`MAX_NODES`].
    too_big: Option<usize>,
}

impl Node {
    /// The values in this node, itself included (no recursion: a file may nest deeply).
    fn weight(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            n += 1;
            match &node.kind {
                Kind::Seq(items) => stack.extend(items),
                Kind::Map(entries) => stack.extend(entries.iter().flat_map(|(k, v)| [k, v])),
                Kind::Null | Kind::Scalar { .. } => {}
            }
        }
        n
    }
}

impl Builder {
    fn finish(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
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
        self.nodes = self.nodes.saturating_add(1);
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
                let weight = self.anchors.get(&id).map_or(1, Node::weight);
                self.nodes = self.nodes.saturating_add(weight);
                let node = match self.anchors.get(&id) {
                    Some(node) if self.nodes <= MAX_NODES => node.clone(),
                    _ => {
                        if self.nodes > MAX_NODES {
                            self.too_big.get_or_insert(line);
                        }
                        Node {
                            kind: Kind::Null,
                            line,
                        }
                    }
                };
                self.finish(Node { line, ..node }, 0);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq {
                line,
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map {
                line,
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        line,
                        anchor,
                        items,
                    }) => (
                        Node {
                            kind: Kind::Seq(items),
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

    type Entry = (FindingKind, Option<String>, String, usize);

    fn entries(text: &str, dialect: Dialect) -> (Vec<Entry>, Vec<String>) {
        let parsed = parse_as(text, dialect).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        let entries = parsed
            .allow
            .iter()
            .map(|a| {
                let glob = a.path.as_ref().map(|g| g.glob().to_string());
                (a.kind, glob, a.reason.clone(), a.line)
            })
            .collect();
        (entries, parsed.warnings)
    }

    /// Every entry's id (any case), path and reason, with its line; `/` is put before a
    /// pattern without one; `.dive-ci` keeps its rules beside them.
    #[test]
    fn allow_entries_are_read_with_their_lines() {
        let text = "rules:\n  lowestEfficiency: 0.9\nallow:\n  - id: runs-as-root\n    reason: the entrypoint drops to uid 1000\n  - {id: setuid-file, path: usr/bin/*, reason: \"su is needed\"}\n  - ID: NO-HEALTHCHECK\n    Reason: probes\n";
        let (got, warnings) = entries(text, Dialect::DiveCi);
        let expected: Vec<Entry> = vec![
            (
                FindingKind::RunsAsRoot,
                None,
                "the entrypoint drops to uid 1000".into(),
                4,
            ),
            (
                FindingKind::SetuidFile,
                Some("/usr/bin/*".into()),
                "su is needed".into(),
                6,
            ),
            (FindingKind::NoHealthcheck, None, "probes".into(), 7),
        ];
        assert_eq!(got, expected);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(values(text), [(Rule::LowestEfficiency, "0.9".into(), 2)]);
        // The same list in .strata.yaml; `rules` there is dive's, ignored with a warning.
        let (got, warnings) = entries(
            "rules:\n  lowestEfficiency: 0.1\nallow:\n  - id: duplicate\n    reason: hard links break the app\n",
            Dialect::Strata,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(
            warnings,
            ["1: unknown key `rules` (ignored); dive's rules are read from .dive-ci"]
        );
        let strata = parse_as("rules:\n  lowestEfficiency: 0.1\n", Dialect::Strata).expect("valid");
        assert!(
            strata.values.is_empty(),
            "no rule is read from .strata.yaml"
        );
        // Empty lists are nothing.
        for text in ["allow:\n", "allow: []\n", "allow: ~\n"] {
            assert!(entries(text, Dialect::Strata).0.is_empty(), "{text:?}");
        }
    }

    /// What would make an entry allow more or less than meant is an error on its line.
    #[test]
    fn bad_allow_entries_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "allow:\n  - id: runs-as-root\n",
                2,
                "the `allow` entry for `runs-as-root` has no `reason`: say why the finding is accepted",
            ),
            (
                "allow:\n  - id: runs-as-root\n    reason: \"  \"\n",
                2,
                "has no `reason`",
            ),
            (
                "allow:\n  - reason: x\n",
                2,
                "an `allow` entry needs an `id`",
            ),
            (
                "allow:\n  - id: run-as-root\n    reason: x\n",
                2,
                "unknown finding id `run-as-root`; did you mean `runs-as-root`?",
            ),
            (
                "allow:\n  - id: cves\n    reason: x\n",
                2,
                "unknown finding id `cves`; the ids are deleted-later, ",
            ),
            (
                "allow:\n  - id: setuid-file\n    paht: /usr/bin/su\n    reason: x\n",
                3,
                "unknown key `paht` in an `allow` entry",
            ),
            (
                "allow:\n  - id: setuid-file\n    path: /usr/bin/[\n    reason: x\n",
                3,
                "`path` `/usr/bin/[` is not a valid glob",
            ),
            (
                "allow:\n  - id: setuid-file\n    path: \"\"\n    reason: x\n",
                3,
                "`path` is empty",
            ),
            (
                "allow:\n  - id: setuid-file\n    id: runs-as-root\n    reason: x\n",
                3,
                "`id` is set twice in this `allow` entry (first at line 2)",
            ),
            (
                "allow:\n  - id: [a, b]\n    reason: x\n",
                2,
                "`id` must be a single value, found a list",
            ),
            ("allow:\n  id: x\n", 2, "`allow` must be a list of entries"),
            (
                "allow:\n  - runs-as-root\n",
                2,
                "an `allow` entry must be a mapping",
            ),
            (
                "allow: []\nallow: []\n",
                2,
                "`allow` is set twice (first at line 1)",
            ),
        ];
        for &(text, line, message) in cases {
            for dialect in [Dialect::DiveCi, Dialect::Strata] {
                let Err((got_line, got)) = parse_as(text, dialect) else {
                    panic!("{text:?} parsed");
                };
                assert!(got.contains(message), "{text:?}: {got}");
                assert_eq!(got_line, line, "{text:?}: {got}");
            }
        }
    }

    /// Aliases of aliases double at each step: the expansion stops at a bound, with an error,
    /// instead of filling memory.
    #[test]
    fn aliases_expand_to_a_bounded_size() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for k in 1..30 {
            let p = k - 1;
            text.push_str(&format!(
                "a{k}: &a{k} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let Err((line, message)) = parse(&text) else {
            panic!("a billion laughs parsed");
        };
        assert!(message.contains("aliases expand to more than"), "{message}");
        assert!(line > 1 && line <= 30, "{line}");
        // A few aliases are fine.
        assert!(parse("x: &v [1, 2]\ny: *v\nrules: {}\n").is_ok());
    }
}
