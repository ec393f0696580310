//! JUnit XML of `ci`, as CI systems read test reports (the Jenkins xunit schema, which GitLab
//! and GitHub's test-report actions accept): one test suite; one test case per CI rule (a
//! failure when it failed, skipped when disabled) and one per finding at or above `--fail-on`
//! (a failure, or skipped when the allow-list allows it, with the reason).
//!
//! XML 1.0 cannot hold most control characters at all, escaped or not: every string from the
//! image goes through [`escape::text`] first (which spells them out as everywhere), then the
//! five markup characters become entities. U+FFFE and U+FFFF, which XML excludes too, are
//! spelled out the same way.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::{CiReport, Place, Printer, Report, escape, place, unsupported, words};
use crate::ci::Status;
use crate::units::size;

/// JUnit XML; prints CI reports only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Junit;

impl Printer for Junit {
    fn name(&self) -> &'static str {
        "junit"
    }

    fn print(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        match report {
            Report::Ci(r) => out.write_all(document(r).as_bytes()),
            _ => Err(unsupported(self, report)),
        }
    }
}

/// `s` as XML character data or an attribute value: controls spelled out, markup escaped.
#[must_use]
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape::text(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// One test case: its class, name, and its failure or skip (`(element, message, type, body)`).
struct Case {
    class: &'static str,
    name: String,
    outcome: Option<(&'static str, String, String, String)>,
}

fn document(r: &CiReport<'_>) -> String {
    let a = r.analysis;
    let mut cases: Vec<Case> = r
        .outcomes
        .iter()
        .map(|o| {
            let message = words::rule_outcome(o);
            let outcome = match o.status {
                Status::Pass => None,
                Status::Fail => Some((
                    "failure",
                    message.clone(),
                    o.rule.dive_name().to_string(),
                    format!("{message} (threshold from {})", o.origin),
                )),
                Status::Disabled => Some(("skipped", message, String::new(), String::new())),
            };
            Case {
                class: "strata.rules",
                name: o.rule.dive_name().to_string(),
                outcome,
            }
        })
        .collect();
    let sentences = words::every_finding(a);
    let mut names: HashSet<String> = HashSet::new();
    for (i, (f, sentence)) in a.findings.iter().zip(&sentences).enumerate() {
        let judged = r.gate.judged(i);
        if !judged.at_gate {
            continue;
        }
        let at = match place(a, f) {
            Place::Line { file, line, .. } => format!("{file}:{line}"),
            _ => match (f.paths.first(), f.layer()) {
                (Some(p), _) => p.clone(),
                (None, Some(k)) => format!("layer {k}"),
                (None, None) => "the image".to_string(),
            },
        };
        // Names stay unique, as test reports key cases by them.
        let base = format!("{} at {at}", f.kind.id());
        let mut name = base.clone();
        let mut n = 1;
        while !names.insert(name.clone()) {
            n += 1;
            name = format!("{base} ({n})");
        }
        let mut body = format!("{sentence}\nseverity: {}", f.severity.as_str());
        if f.bytes > 0 {
            let _ = write!(body, "\nbytes: {} ({})", f.bytes, size(f.bytes));
        }
        if let Some(k) = f.layer() {
            let _ = write!(body, "\nlayer: {k}");
        }
        for p in &f.paths {
            let _ = write!(body, "\npath: {p}");
        }
        let _ = write!(body, "\nfix: {}", words::rule(f.kind).fix);
        let outcome = match r.gate.allowed_by(i) {
            Some(allow) => (
                "skipped",
                format!("allowed: {} ({allow})", allow.reason),
                String::new(),
                String::new(),
            ),
            None => (
                "failure",
                sentence.clone(),
                f.severity.as_str().into(),
                body,
            ),
        };
        cases.push(Case {
            class: "strata.findings",
            name,
            outcome: Some(outcome),
        });
    }
    let failures = cases
        .iter()
        .filter(|c| c.outcome.as_ref().is_some_and(|o| o.0 == "failure"))
        .count();
    let skipped = cases
        .iter()
        .filter(|c| c.outcome.as_ref().is_some_and(|o| o.0 == "skipped"))
        .count();
    let source = xml(&a.image.identity.source);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"strata\" tests=\"{}\" failures=\"{failures}\" errors=\"0\">",
        cases.len()
    );
    let _ = writeln!(
        x,
        "  <testsuite name=\"strata ci {source}\" tests=\"{}\" failures=\"{failures}\" \
         errors=\"0\" skipped=\"{skipped}\" time=\"0\">",
        cases.len()
    );
    x.push_str("    <properties>\n");
    let fail_on = r.gate.fail_on.map_or("none", |s| s.as_str());
    for (name, value) in [
        ("image", a.image.identity.source.as_str()),
        ("metrics", words::metrics(r.metrics)),
        ("fail-on", fail_on),
    ] {
        let _ = writeln!(
            x,
            "      <property name=\"{name}\" value=\"{}\"/>",
            xml(value)
        );
    }
    x.push_str("    </properties>\n");
    for c in &cases {
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            c.class,
            xml(&c.name)
        );
        match &c.outcome {
            None => x.push_str("/>\n"),
            Some((element, message, kind, body)) => {
                x.push_str(">\n");
                let _ = write!(x, "      <{element} message=\"{}\"", xml(message));
                if !kind.is_empty() {
                    let _ = write!(x, " type=\"{}\"", xml(kind));
                }
                if body.is_empty() {
                    x.push_str("/>\n");
                } else {
                    // Our own line breaks stay; the image's were spelled out by `xml`.
                    let lines: Vec<String> = body.lines().map(xml).collect();
                    let _ = writeln!(x, ">{}</{element}>", lines.join("\n"));
                }
                x.push_str("    </testcase>\n");
            }
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing XML 1.0 refuses is written: controls are spelled out, markup escaped.
    #[test]
    fn xml_holds_no_character_xml_refuses() {
        let all: String = (0..0x3000u32)
            .chain([0xfffe, 0xffff, 0x10000])
            .filter_map(char::from_u32)
            .collect();
        let escaped = xml(&all);
        let allowed =
            |c: char| matches!(c, '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..);
        assert!(escaped.chars().all(allowed), "a character XML refuses");
        assert!(!escaped.contains(['<', '>', '"', '\'']));
        assert_eq!(
            xml("a<b>&\"'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;&apos;\\x01\\n"
        );
    }
}
