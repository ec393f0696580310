//! The findings gate: `--fail-on SEVERITY` fails `strata ci` when a finding at or above that
//! severity is not on the allow-list (`allow:` in `.strata.yaml` or `.dive-ci`).
//!
//! An allow-list entry names a finding id, optionally a glob its paths must match, and why it
//! is accepted. An allowed finding is still reported, marked allowed with that reason; it never
//! fails the gate. Without `--fail-on` nothing is judged and `ci` keeps dive's verdict.

use std::fmt;
use std::path::PathBuf;

use globset::{Glob, GlobMatcher};

use crate::analysis::{Finding, FindingKind, Severity};

/// One allow-list entry.
#[derive(Debug, Clone)]
pub struct Allow {
    pub kind: FindingKind,
    /// The glob every path of the finding must match, as written (absolute: `/` is put before
    /// a pattern without one); `None` allows every finding of the kind.
    pub path: Option<Glob>,
    matcher: Option<GlobMatcher>,
    /// Why the finding is accepted.
    pub reason: String,
    /// The file, as the user named it (or `.strata.yaml`, `.dive-ci`), and the entry's line.
    pub file: PathBuf,
    pub line: usize,
}

impl PartialEq for Allow {
    fn eq(&self, other: &Allow) -> bool {
        (self.kind, &self.path, &self.reason, &self.file, self.line)
            == (
                other.kind,
                &other.path,
                &other.reason,
                &other.file,
                other.line,
            )
    }
}

impl Allow {
    /// An entry of `file`.
    #[must_use]
    pub fn new(
        kind: FindingKind,
        path: Option<Glob>,
        reason: String,
        file: PathBuf,
        line: usize,
    ) -> Allow {
        let matcher = path.as_ref().map(Glob::compile_matcher);
        Allow {
            kind,
            path,
            matcher,
            reason,
            file,
            line,
        }
    }

    /// Whether the entry allows `f`: the same kind and, with a `path`, a finding that names
    /// paths, every one of them matching. A finding names its few largest paths (three or
    /// five), and only those are judged.
    #[must_use]
    pub fn allows(&self, f: &Finding) -> bool {
        if f.kind != self.kind {
            return false;
        }
        match &self.matcher {
            None => true,
            Some(m) => !f.paths.is_empty() && f.paths.iter().all(|p| m.is_match(p)),
        }
    }
}

impl fmt::Display for Allow {
    /// `.strata.yaml:4`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// One finding judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// The allow-list entry that allows it (an index into [`Gate::allow`]), the first that does.
    pub allowed: Option<usize>,
    /// Whether its severity is at or above `--fail-on`.
    pub at_gate: bool,
}

impl Judged {
    /// At or above the gate and not allowed.
    #[must_use]
    pub fn failed(&self) -> bool {
        self.at_gate && self.allowed.is_none()
    }
}

/// The findings of an image judged by `--fail-on` and the allow-list.
#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    /// `--fail-on`; `None`: findings fail nothing.
    pub fail_on: Option<Severity>,
    /// The allow-list.
    pub allow: Vec<Allow>,
    /// One per finding, in the order of the analysis' findings.
    pub findings: Vec<Judged>,
}

impl Gate {
    /// Judges `findings`.
    #[must_use]
    pub fn judge(findings: &[Finding], fail_on: Option<Severity>, allow: &[Allow]) -> Gate {
        Gate {
            fail_on,
            allow: allow.to_vec(),
            findings: findings
                .iter()
                .map(|f| Judged {
                    allowed: allow.iter().position(|a| a.allows(f)),
                    at_gate: fail_on.is_some_and(|s| f.severity >= s),
                })
                .collect(),
        }
    }

    /// No finding failed the gate.
    #[must_use]
    pub fn passed(&self) -> bool {
        !self.findings.iter().any(Judged::failed)
    }

    /// How many findings failed it.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.findings.iter().filter(|j| j.failed()).count()
    }

    /// The entry that allows the `i`th finding.
    #[must_use]
    pub fn allowed_by(&self, i: usize) -> Option<&Allow> {
        self.findings
            .get(i)
            .and_then(|j| j.allowed)
            .and_then(|a| self.allow.get(a))
    }

    /// The `i`th finding's judgement (not at the gate, not allowed, when out of range).
    #[must_use]
    pub fn judged(&self, i: usize) -> Judged {
        self.findings.get(i).copied().unwrap_or(Judged {
            allowed: None,
            at_gate: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: FindingKind, path: Option<&str>) -> Allow {
        let glob = path.map(|p| {
            globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .expect("glob")
        });
        Allow::new(kind, glob, "accepted".into(), ".strata.yaml".into(), 3)
    }

    fn finding(kind: FindingKind, severity: Severity, paths: &[&str]) -> Finding {
        Finding {
            paths: paths.iter().map(ToString::to_string).collect(),
            ..Finding::new(kind, severity)
        }
    }

    /// A path entry allows a finding when every path it names matches; `*` stops at `/`.
    #[test]
    fn a_path_entry_needs_every_named_path_to_match() {
        let su = entry(FindingKind::SetuidFile, Some("/usr/bin/*"));
        let f = |paths: &[&str]| finding(FindingKind::SetuidFile, Severity::Note, paths);
        assert!(su.allows(&f(&["/usr/bin/su", "/usr/bin/passwd"])));
        assert!(!su.allows(&f(&["/usr/bin/su", "/opt/x/su"])));
        assert!(!su.allows(&f(&["/usr/bin/sub/su"])), "`*` crosses no `/`");
        assert!(
            !su.allows(&f(&[])),
            "a finding naming no path is not allowed by a path"
        );
        assert!(
            !su.allows(&finding(
                FindingKind::WorldWritable,
                Severity::Note,
                &["/usr/bin/su"]
            )),
            "another kind"
        );
        let deep = entry(FindingKind::SetuidFile, Some("/usr/**"));
        assert!(deep.allows(&f(&["/usr/bin/sub/su", "/usr/lib/x"])));
        let any = entry(FindingKind::RunsAsRoot, None);
        assert!(any.allows(&finding(FindingKind::RunsAsRoot, Severity::Warning, &[])));
    }

    /// At or above the gate fails unless allowed; without a gate nothing fails; an allowed
    /// finding below the gate is still marked allowed.
    #[test]
    fn the_gate_fails_what_is_at_or_above_it_and_not_allowed() {
        let findings = [
            finding(FindingKind::RunsAsRoot, Severity::Warning, &[]),
            finding(FindingKind::NoHealthcheck, Severity::Note, &[]),
            finding(FindingKind::WorldWritable, Severity::Warning, &["/srv/x"]),
        ];
        let allow = [
            entry(FindingKind::RunsAsRoot, None),
            entry(FindingKind::NoHealthcheck, None),
        ];
        let gate = Gate::judge(&findings, Some(Severity::Warning), &allow);
        let judged: Vec<(Option<usize>, bool, bool)> = gate
            .findings
            .iter()
            .map(|j| (j.allowed, j.at_gate, j.failed()))
            .collect();
        assert_eq!(
            judged,
            [
                (Some(0), true, false),
                (Some(1), false, false),
                (None, true, true)
            ]
        );
        assert!(!gate.passed());
        assert_eq!(gate.failed(), 1);
        assert_eq!(
            gate.allowed_by(1).map(ToString::to_string).as_deref(),
            Some(".strata.yaml:3")
        );
        // Error only: the warnings pass.
        assert!(Gate::judge(&findings, Some(Severity::Error), &allow).passed());
        // Note: the unallowed warning still fails.
        assert_eq!(
            Gate::judge(&findings, Some(Severity::Note), &allow).failed(),
            1
        );
        // No gate: nothing fails, even with nothing allowed.
        let none = Gate::judge(&findings, None, &[]);
        assert!(none.passed() && none.findings.iter().all(|j| !j.at_gate));
    }
}
