//! CI rules, as dive 0.13.1 has them: three thresholds resolved from flags, a `.dive-ci` file
//! and defaults before any work starts, then judged against an image's metrics.
//!
//! Compatible with dive, so a pipeline switches by changing the binary's name:
//! - rules and defaults: `lowestEfficiency` 0.9, `highestWastedBytes` disabled,
//!   `highestUserWastedPercent` 0.1 (a ratio: 0.1 is ten percent); any may be `disabled`;
//! - a flag beats the file, the file beats the default; `./.dive-ci` is read when present;
//! - a rule fails only when its threshold is strictly exceeded (efficiency 0.8 passes a lowest
//!   of 0.8); dive's user wasted ratio is a float64 division, so where the layers above the
//!   base hold no bytes it is +Inf when some are wasted (any threshold fails) and NaN when none
//!   are (every threshold passes: every comparison with NaN is false), as in dive;
//! - value syntax: Go floats for ratios, go-humanize sizes for bytes (MB = 10^6, MiB = 2^20,
//!   any case, spaces allowed, truncated to whole bytes), YAML numbers (`1e3`, `0x7d0`) in the
//!   file; keys under `rules:` match in any case; a null value means "not set".
//!
//! Where strata differs, it is stricter about mistakes and says where they are: every bad value
//! or unreadable file is an [`Error::Usage`] naming the flag or `file:line`
//! (dive prints "CI Misconfigured" after analysing the whole image, and silently uses the
//! defaults when an explicit `--ci-config` is missing); unknown keys are warnings
//! ([`Rules::warnings`]) instead of silence. It also takes `90%` for 0.9.
//!
//! Beside dive's rules, `--fail-on SEVERITY` judges the image's findings, with an allow-list
//! read from `allow:` in `.strata.yaml` (in the working directory) and in the CI config file
//! (dive ignores the key): see [`gate`].

mod file;
pub mod gate;

pub use gate::{Allow, Gate, Judged};

/// A `.dive-ci` file parsed as `strata ci` reads it (for the fuzz targets).
#[doc(hidden)]
pub fn parse_file_for_fuzzing(text: &str) -> bool {
    file::parse(text).is_ok()
}

use std::fmt;
use std::path::{Path, PathBuf};

use crate::analysis::{Finding, Severity};
use crate::units::{self, Written, bytes_text};
use crate::{Error, Result};

/// The numbers a rule is judged on (either strata's exact metrics or dive's).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Σ smallest size / Σ cumulative size over paths; 1 is no waste.
    pub efficiency: f64,
    /// Bytes in paths written more than once (the kept copy included, as dive counts).
    pub wasted_bytes: u64,
    /// `wasted_bytes` / bytes of the layers above the base; may exceed 1. dive's is NaN where
    /// those layers hold no bytes and none are wasted (a single layer) and +Inf where they hold
    /// none but some are wasted.
    pub user_wasted_ratio: f64,
}

/// Which numbers the rules judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsKind {
    /// strata's exact waste ([`crate::analysis::WasteSummary`]).
    Exact,
    /// dive 0.13's formulas ([`crate::analysis::DiveMetrics`]), for a pipeline that must keep
    /// dive's verdicts.
    Dive,
}

impl Metrics {
    /// The metrics of `kind` of an analysed image.
    #[must_use]
    pub fn of(a: &crate::analysis::Analysis, kind: MetricsKind) -> Metrics {
        match kind {
            MetricsKind::Exact => Metrics {
                efficiency: a.waste.efficiency,
                wasted_bytes: a.waste.wasted_bytes,
                user_wasted_ratio: a.waste.user_wasted_ratio,
            },
            MetricsKind::Dive => Metrics {
                efficiency: a.dive.efficiency,
                wasted_bytes: a.dive.wasted_bytes,
                user_wasted_ratio: a.dive.user_wasted_ratio(),
            },
        }
    }
}

/// Rule values as given on the command line (raw strings, as dive takes them).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CiFlags {
    /// `--lowestEfficiency`
    pub lowest_efficiency: Option<String>,
    /// `--highestWastedBytes`
    pub highest_wasted_bytes: Option<String>,
    /// `--highestUserWastedPercent`
    pub highest_user_wasted_percent: Option<String>,
    /// `--ci-config` (None: `./.dive-ci` if present). Relative paths are taken from `cwd`.
    pub config: Option<PathBuf>,
    /// `--fail-on`: the severity from which a finding not allowed fails the run.
    pub fail_on: Option<Severity>,
}

/// dive's default CI config file, looked for in the working directory.
pub const DEFAULT_CONFIG: &str = ".dive-ci";

/// strata's own CI file, looked for beside [`DEFAULT_CONFIG`] (in the working directory): the
/// findings' allow-list.
pub const STRATA_CONFIG: &str = ".strata.yaml";

/// One of dive's three CI rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    LowestEfficiency,
    HighestWastedBytes,
    HighestUserWastedPercent,
}

impl Rule {
    /// Every rule, in the order strata reports them.
    pub const ALL: [Rule; 3] = [
        Rule::LowestEfficiency,
        Rule::HighestWastedBytes,
        Rule::HighestUserWastedPercent,
    ];

    /// dive's name: the key under `rules:` in `.dive-ci` and, with `--`, the flag.
    #[must_use]
    pub fn dive_name(&self) -> &'static str {
        match self {
            Rule::LowestEfficiency => "lowestEfficiency",
            Rule::HighestWastedBytes => "highestWastedBytes",
            Rule::HighestUserWastedPercent => "highestUserWastedPercent",
        }
    }

    /// The command-line flag that sets this rule.
    #[must_use]
    pub fn flag(&self) -> &'static str {
        match self {
            Rule::LowestEfficiency => "--lowestEfficiency",
            Rule::HighestWastedBytes => "--highestWastedBytes",
            Rule::HighestUserWastedPercent => "--highestUserWastedPercent",
        }
    }

    /// The default threshold, as dive has it.
    #[must_use]
    pub fn default_threshold(&self) -> Option<Value> {
        match self {
            Rule::LowestEfficiency => Some(Value::Ratio(0.9)),
            Rule::HighestWastedBytes => None,
            Rule::HighestUserWastedPercent => Some(Value::Ratio(0.1)),
        }
    }

    /// The rule a `.dive-ci` key names; any case, as viper matches keys.
    fn from_dive_name(name: &str) -> Option<Rule> {
        Rule::ALL
            .into_iter()
            .find(|r| r.dive_name().eq_ignore_ascii_case(name))
    }

    /// The rule an unknown key was probably meant to be (for a "did you mean").
    fn closest(name: &str) -> Option<Rule> {
        let name = name.to_ascii_lowercase();
        Rule::ALL
            .into_iter()
            .map(|r| (edit_distance(&name, &r.dive_name().to_ascii_lowercase()), r))
            .filter(|&(d, _)| d <= 3)
            .min_by_key(|&(d, _)| d)
            .map(|(_, r)| r)
    }

    fn parse(
        self,
        text: &str,
        written: Written,
    ) -> std::result::Result<Option<Value>, units::ParseError> {
        match self {
            Rule::HighestWastedBytes => {
                units::parse_bytes(text, written).map(|v| v.map(Value::Bytes))
            }
            Rule::LowestEfficiency | Rule::HighestUserWastedPercent => {
                units::parse_ratio(text, written).map(|v| v.map(Value::Ratio))
            }
        }
    }

    fn flag_value(self, flags: &CiFlags) -> Option<&str> {
        match self {
            Rule::LowestEfficiency => flags.lowest_efficiency.as_deref(),
            Rule::HighestWastedBytes => flags.highest_wasted_bytes.as_deref(),
            Rule::HighestUserWastedPercent => flags.highest_user_wasted_percent.as_deref(),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dive_name())
    }
}

/// A threshold or a measured value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A ratio, 0.9 for ninety percent.
    Ratio(f64),
    /// A number of bytes.
    Bytes(u64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            // Go's spellings, as dive prints them (Rust's are `inf` and `NaN`).
            Value::Ratio(r) if r.is_nan() => f.write_str("NaN"),
            Value::Ratio(r) if r.is_infinite() => {
                f.write_str(if r > 0.0 { "+Inf" } else { "-Inf" })
            }
            Value::Ratio(r) => write!(f, "{r}"),
            Value::Bytes(b) => f.write_str(&bytes_text(b)),
        }
    }
}

/// Where a rule's threshold came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Its command-line flag.
    Flag,
    /// A line of the CI config file; `path` as the user gave it (or `.dive-ci`).
    File { path: PathBuf, line: usize },
    /// dive's default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag => f.write_str("command line"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// One rule's resolved threshold: `None` is disabled.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub threshold: Option<Value>,
    pub origin: Origin,
}

/// The resolved, validated thresholds, ready to judge metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// In the order of [`Rule::ALL`].
    settings: [Setting; 3],
    /// The CI config file that was read, as the user named it (`None`: defaults and flags only).
    pub config_file: Option<PathBuf>,
    /// `.strata.yaml`, when there is one.
    pub strata_file: Option<PathBuf>,
    /// Things in the config file that were ignored, one line each, naming `file:line`
    /// (unknown keys, a file value overridden by a flag that would have been invalid).
    pub warnings: Vec<String>,
    /// `--fail-on`.
    pub fail_on: Option<Severity>,
    /// The findings allowed: the CI config file's entries, then `.strata.yaml`'s.
    pub allow: Vec<Allow>,
}

/// Whether a rule passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Disabled,
}

/// A rule judged against metrics. What was compared and by how much it missed, in words, is
/// the report module's `words::rule_outcome`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutcome {
    pub rule: Rule,
    pub status: Status,
    /// `None` when the rule is disabled.
    pub threshold: Option<Value>,
    /// The metric the rule looks at.
    pub actual: Value,
    /// Where the threshold (or `disabled`) came from.
    pub origin: Origin,
}

impl Rules {
    /// Resolves each rule: its flag, else the config file, else dive's default.
    ///
    /// The config file is `flags.config` (must exist) or `cwd/.dive-ci` (read if present).
    ///
    /// # Errors
    /// [`Error::Usage`] naming the flag or `file:line` for a bad value, and for an explicit
    /// config that cannot be read or a config file that is not valid YAML in the expected shape.
    pub fn resolve(flags: &CiFlags, cwd: &Path) -> Result<Rules> {
        let (config_file, file_rules) = read_config(flags.config.as_deref(), cwd)?;
        let (strata_file, strata_rules) = read_strata(cwd)?;
        let mut warnings = Vec::new();
        let mut allow = Vec::new();
        for (path, rules) in [(&config_file, &file_rules), (&strata_file, &strata_rules)] {
            let Some(path) = path else { continue };
            warnings.extend(
                rules
                    .warnings
                    .iter()
                    .map(|w| format!("{}:{w}", path.display())),
            );
            allow.extend(rules.allow.iter().map(|a| {
                Allow::new(
                    a.kind,
                    a.path.clone(),
                    a.reason.clone(),
                    path.clone(),
                    a.line,
                )
            }));
        }
        let mut settings = Rule::ALL.map(|rule| Setting {
            threshold: rule.default_threshold(),
            origin: Origin::Default,
        });
        for (setting, rule) in settings.iter_mut().zip(Rule::ALL) {
            let from_file = file_rules.values.iter().find(|(r, _)| *r == rule);
            let file_value = match (&config_file, from_file) {
                (Some(path), Some((_, raw))) => {
                    let origin = Origin::File {
                        path: path.clone(),
                        line: raw.line,
                    };
                    let parsed = rule
                        .parse(&raw.text, raw.written)
                        .map_err(|e| format!("{origin}: rules.{rule}: {e}"));
                    Some((parsed, origin))
                }
                _ => None,
            };
            if let Some(text) = rule.flag_value(flags) {
                let threshold = rule
                    .parse(text, Written::Flag)
                    .map_err(|e| Error::Usage(format!("{}: {e}", rule.flag())))?;
                if let Some((Err(e), _)) = file_value {
                    // dive never looks at a file value its flag overrides; an error here would
                    // break a pipeline that works with dive.
                    warnings.push(format!("{e} (ignored: {} overrides it)", rule.flag()));
                }
                *setting = Setting {
                    threshold,
                    origin: Origin::Flag,
                };
            } else if let Some((parsed, origin)) = file_value {
                *setting = Setting {
                    threshold: parsed.map_err(Error::Usage)?,
                    origin,
                };
            }
        }
        Ok(Rules {
            settings,
            config_file,
            strata_file,
            warnings,
            fail_on: flags.fail_on,
            allow,
        })
    }

    /// The findings judged by `--fail-on` and the allow-list.
    #[must_use]
    pub fn gate(&self, findings: &[Finding]) -> Gate {
        Gate::judge(findings, self.fail_on, &self.allow)
    }

    /// The resolved setting of one rule.
    #[must_use]
    pub fn setting(&self, rule: Rule) -> &Setting {
        let index = match rule {
            Rule::LowestEfficiency => 0,
            Rule::HighestWastedBytes => 1,
            Rule::HighestUserWastedPercent => 2,
        };
        &self.settings[index]
    }

    /// Judges every rule, in the order of [`Rule::ALL`]. A rule fails only when its threshold
    /// is strictly exceeded; a NaN metric passes.
    #[must_use]
    pub fn evaluate(&self, m: &Metrics) -> Vec<RuleOutcome> {
        Rule::ALL
            .into_iter()
            .map(|rule| {
                let setting = self.setting(rule);
                judge(rule, setting, m)
            })
            .collect()
    }
}

/// True when every outcome passed or was disabled.
#[must_use]
pub fn all_passed(outcomes: &[RuleOutcome]) -> bool {
    outcomes.iter().all(|o| o.status != Status::Fail)
}

/// Whether the `CI` environment variable turns CI mode on, as in dive: Go's
/// `strconv.ParseBool` true values (`1`, `t`, `T`, `true`, `TRUE`, `True`). dive then runs in
/// CI mode even with `--ci=false`.
#[must_use]
pub fn ci_env_enabled(value: &str) -> bool {
    matches!(value, "1" | "t" | "T" | "true" | "TRUE" | "True")
}

fn judge(rule: Rule, setting: &Setting, m: &Metrics) -> RuleOutcome {
    let actual = match rule {
        Rule::LowestEfficiency => Value::Ratio(m.efficiency),
        Rule::HighestWastedBytes => Value::Bytes(m.wasted_bytes),
        Rule::HighestUserWastedPercent => Value::Ratio(m.user_wasted_ratio),
    };
    // Every comparison with NaN is false: a NaN metric passes, as in dive.
    let failed = match (rule, setting.threshold, actual) {
        (_, None, _) => None,
        (Rule::LowestEfficiency, Some(Value::Ratio(t)), Value::Ratio(a)) => Some(a < t),
        (Rule::HighestWastedBytes, Some(Value::Bytes(t)), Value::Bytes(a)) => Some(a > t),
        (Rule::HighestUserWastedPercent, Some(Value::Ratio(t)), Value::Ratio(a)) => Some(a > t),
        // Rules::resolve pairs each rule with its kind of value; nothing else is built.
        _ => Some(false),
    };
    RuleOutcome {
        rule,
        status: match failed {
            None => Status::Disabled,
            Some(true) => Status::Fail,
            Some(false) => Status::Pass,
        },
        threshold: setting.threshold,
        actual,
        origin: setting.origin.clone(),
    }
}

/// Finds and reads the CI config: the explicit one must be readable, the default one is
/// skipped when absent.
fn read_config(explicit: Option<&Path>, cwd: &Path) -> Result<(Option<PathBuf>, file::FileRules)> {
    let (shown, path) = match explicit {
        Some(p) => (p.to_path_buf(), cwd.join(p)),
        None => (PathBuf::from(DEFAULT_CONFIG), cwd.join(DEFAULT_CONFIG)),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, file::FileRules::default()));
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "{}: cannot read the CI config: {e}",
                shown.display()
            )));
        }
    };
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::Usage(format!(
            "{}: the CI config is not UTF-8 text",
            shown.display()
        ))
    })?;
    let rules = file::parse(&text).map_err(|(line, message)| {
        Error::Usage(format!("{}:{line}: {message}", shown.display()))
    })?;
    Ok((Some(shown), rules))
}

/// Reads `cwd/.strata.yaml` when there is one.
fn read_strata(cwd: &Path) -> Result<(Option<PathBuf>, file::FileRules)> {
    let shown = PathBuf::from(STRATA_CONFIG);
    let text = match std::fs::read(cwd.join(STRATA_CONFIG)) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| Error::Usage(format!("{STRATA_CONFIG}: the file is not UTF-8 text")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((None, file::FileRules::default()));
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "{STRATA_CONFIG}: cannot read it: {e}"
            )));
        }
    };
    let rules = file::parse_as(&text, file::Dialect::Strata)
        .map_err(|(line, message)| Error::Usage(format!("{STRATA_CONFIG}:{line}: {message}")))?;
    Ok((Some(shown), rules))
}

/// Levenshtein distance, for "did you mean" on misspelt rule names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory holding `.dive-ci` with `text` (or no file).
    fn dir_with(text: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(text) = text {
            std::fs::write(dir.path().join(DEFAULT_CONFIG), text).expect("write .dive-ci");
        }
        dir
    }

    fn testdata(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/dive-ci")
            .join(name)
    }

    fn flags() -> CiFlags {
        CiFlags::default()
    }

    fn usage_message(result: Result<Rules>) -> String {
        match result {
            Err(Error::Usage(message)) => message,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    fn thresholds(rules: &Rules) -> [Option<Value>; 3] {
        Rule::ALL.map(|r| rules.setting(r).threshold)
    }

    /// dive 0.13.1's report of the probe image (two layers; /a written twice, 1000 bytes each,
    /// plus /b 3000 bytes): `efficiency: 80.0000 %`, `wastedBytes: 2000`, `userWastedPercent:
    /// 50.0000 %`.
    const PROBE: Metrics = Metrics {
        efficiency: 4000.0 / 5000.0,
        wasted_bytes: 2000,
        user_wasted_ratio: 2000.0 / 4000.0,
    };

    fn statuses(rules: &Rules, m: &Metrics) -> Vec<Status> {
        rules.evaluate(m).into_iter().map(|o| o.status).collect()
    }

    #[test]
    fn defaults_without_a_file() {
        let dir = dir_with(None);
        let rules = Rules::resolve(&flags(), dir.path()).expect("defaults");
        assert_eq!(
            thresholds(&rules),
            [Some(Value::Ratio(0.9)), None, Some(Value::Ratio(0.1))]
        );
        assert!(
            Rule::ALL
                .iter()
                .all(|&r| rules.setting(r).origin == Origin::Default)
        );
        assert_eq!(rules.config_file, None);
        assert!(rules.warnings.is_empty());
    }

    #[test]
    fn dive_names_and_flags() {
        let names: Vec<_> = Rule::ALL.iter().map(Rule::dive_name).collect();
        assert_eq!(
            names,
            [
                "lowestEfficiency",
                "highestWastedBytes",
                "highestUserWastedPercent"
            ]
        );
        assert!(
            Rule::ALL
                .iter()
                .all(|r| r.flag() == format!("--{}", r.dive_name()))
        );
    }

    #[test]
    fn the_default_file_is_read_from_cwd() {
        let dir = dir_with(Some(
            "rules:\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n",
        ));
        let rules = Rules::resolve(&flags(), dir.path()).expect("valid file");
        assert_eq!(rules.config_file, Some(PathBuf::from(".dive-ci")));
        assert_eq!(
            thresholds(&rules),
            [
                Some(Value::Ratio(0.95)),
                Some(Value::Bytes(20_000_000)),
                Some(Value::Ratio(0.1))
            ]
        );
        assert_eq!(
            rules.setting(Rule::HighestWastedBytes).origin,
            Origin::File {
                path: ".dive-ci".into(),
                line: 3
            }
        );
        assert_eq!(
            rules.setting(Rule::HighestUserWastedPercent).origin,
            Origin::Default
        );
    }

    #[test]
    fn precedence_flag_then_file_then_default() {
        let dir = dir_with(Some(
            "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 1MiB\n",
        ));
        let f = CiFlags {
            lowest_efficiency: Some("0.7".into()),
            highest_user_wasted_percent: Some("disabled".into()),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("valid");
        assert_eq!(
            thresholds(&rules),
            [Some(Value::Ratio(0.7)), Some(Value::Bytes(1 << 20)), None]
        );
        let origins: Vec<String> = Rule::ALL
            .iter()
            .map(|&r| rules.setting(r).origin.to_string())
            .collect();
        assert_eq!(origins, ["command line", ".dive-ci:3", "command line"]);
    }

    #[test]
    fn a_flag_can_disable_what_the_file_sets_and_the_file_what_defaults_set() {
        let dir = dir_with(Some("rules:\n  highestUserWastedPercent: disabled\n"));
        let f = CiFlags {
            lowest_efficiency: Some("disabled".into()),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("valid");
        assert_eq!(thresholds(&rules), [None, None, None]);
        let origins: Vec<String> = rules
            .evaluate(&PROBE)
            .into_iter()
            .map(|o| o.origin.to_string())
            .collect();
        assert_eq!(origins, ["command line", "default", ".dive-ci:2"]);
        assert_eq!(statuses(&rules, &PROBE), [Status::Disabled; 3]);
    }

    #[test]
    fn explicit_config_relative_to_cwd_and_absolute() {
        let dir = dir_with(Some("rules:\n  lowestEfficiency: 0.1\n"));
        std::fs::write(
            dir.path().join("ci.yaml"),
            "rules:\n  lowestEfficiency: 0.2\n",
        )
        .expect("write");
        let relative = CiFlags {
            config: Some("ci.yaml".into()),
            ..flags()
        };
        let rules = Rules::resolve(&relative, dir.path()).expect("valid");
        // The explicit file replaces .dive-ci; it is not merged with it.
        assert_eq!(
            rules.setting(Rule::LowestEfficiency).threshold,
            Some(Value::Ratio(0.2))
        );
        assert_eq!(rules.config_file, Some(PathBuf::from("ci.yaml")));

        let absolute = CiFlags {
            config: Some(testdata("example.dive-ci")),
            ..flags()
        };
        let rules = Rules::resolve(&absolute, dir.path()).expect("valid");
        assert_eq!(
            rules.setting(Rule::LowestEfficiency).threshold,
            Some(Value::Ratio(0.95))
        );
    }

    #[test]
    fn a_missing_explicit_config_is_an_error() {
        // dive 0.13.1 prints "Using default CI config" and carries on.
        let dir = dir_with(Some("rules:\n  lowestEfficiency: 0.1\n"));
        let f = CiFlags {
            config: Some("nope.yaml".into()),
            ..flags()
        };
        let message = usage_message(Rules::resolve(&f, dir.path()));
        assert!(
            message.starts_with("nope.yaml: cannot read the CI config: "),
            "{message}"
        );
    }

    #[test]
    fn a_directory_as_config_is_an_error() {
        let dir = dir_with(None);
        std::fs::create_dir(dir.path().join(DEFAULT_CONFIG)).expect("mkdir");
        let message = usage_message(Rules::resolve(&flags(), dir.path()));
        assert!(
            message.starts_with(".dive-ci: cannot read the CI config"),
            "{message}"
        );
    }

    #[test]
    fn non_utf8_config_is_an_error() {
        let dir = dir_with(None);
        std::fs::write(dir.path().join(DEFAULT_CONFIG), b"rules:\n  x: \xff\n").expect("write");
        let message = usage_message(Rules::resolve(&flags(), dir.path()));
        assert_eq!(message, ".dive-ci: the CI config is not UTF-8 text");
    }

    #[test]
    fn bad_files_give_one_line_naming_file_and_line() {
        let cases: &[(&str, &str)] = &[
            (
                "bad-value.dive-ci",
                ":3: rules.highestWastedBytes: `20 MX`: unknown size unit `MX`;",
            ),
            (
                "out-of-range.dive-ci",
                ":3: rules.lowestEfficiency: `95` is outside 0 to 1",
            ),
            ("invalid-yaml.dive-ci", ":4: invalid YAML: "),
            ("tab-indent.dive-ci", ":3: invalid YAML: "),
            (
                "duplicate.dive-ci",
                ":4: `rules.lowestEfficiency` is set twice (first at line 2)",
            ),
            ("rules-not-mapping.dive-ci", ":2: `rules` must be a mapping"),
            (
                "list-value.dive-ci",
                ":3: `rules.highestWastedBytes` must be a single value",
            ),
        ];
        let dir = dir_with(None);
        for &(name, expected) in cases {
            let path = testdata(name);
            let f = CiFlags {
                config: Some(path.clone()),
                ..flags()
            };
            let message = usage_message(Rules::resolve(&f, dir.path()));
            let rest = message
                .strip_prefix(&path.display().to_string())
                .unwrap_or_else(|| panic!("{name}: {message} does not start with the path"));
            assert!(rest.starts_with(expected), "{name}: {message}");
            assert!(!message.contains('\n'), "{name}: {message}");
        }
    }

    #[test]
    fn unknown_keys_warn_with_file_and_line() {
        let dir = dir_with(None);
        let path = testdata("unknown-keys.dive-ci");
        let f = CiFlags {
            config: Some(path.clone()),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("unknown keys are not errors");
        let shown = path.display();
        assert_eq!(
            rules.warnings,
            [
                format!("{shown}:1: unknown key `version` (ignored)"),
                format!(
                    "{shown}:3: unknown rule `rules.lowestEfficency` (ignored); did you mean `lowestEfficiency`?"
                ),
                format!("{shown}:5: unknown rule `rules.maxLayers` (ignored)"),
            ]
        );
        // The misspelt rule keeps its default, as in dive; the known one is read.
        assert_eq!(
            thresholds(&rules),
            [
                Some(Value::Ratio(0.9)),
                Some(Value::Bytes(20_000_000)),
                Some(Value::Ratio(0.1))
            ]
        );
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let dir = dir_with(None);
        let cases: &[(CiFlags, &str)] = &[
            (
                CiFlags {
                    lowest_efficiency: Some("abc".into()),
                    ..flags()
                },
                "--lowestEfficiency: `abc` is not a number",
            ),
            (
                CiFlags {
                    highest_wasted_bytes: Some("1e3".into()),
                    ..flags()
                },
                "--highestWastedBytes: `1e3`: unknown size unit `e3`",
            ),
            (
                CiFlags {
                    highest_user_wasted_percent: Some("10".into()),
                    ..flags()
                },
                "--highestUserWastedPercent: `10` is outside 0 to 1",
            ),
        ];
        for (f, expected) in cases {
            let message = usage_message(Rules::resolve(f, dir.path()));
            assert!(message.starts_with(expected), "{message}");
        }
    }

    #[test]
    fn a_bad_file_value_under_a_flag_is_a_warning() {
        // dive never reads a file value its flag overrides, so this passes there.
        let dir = dir_with(Some("rules:\n  lowestEfficiency: lots\n"));
        let f = CiFlags {
            lowest_efficiency: Some("0.5".into()),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("the flag wins");
        assert_eq!(
            rules.setting(Rule::LowestEfficiency).threshold,
            Some(Value::Ratio(0.5))
        );
        assert_eq!(rules.warnings.len(), 1);
        assert!(
            rules.warnings[0].starts_with(".dive-ci:2: rules.lowestEfficiency: `lots`"),
            "{:?}",
            rules.warnings
        );
        assert!(rules.warnings[0].ends_with("(ignored: --lowestEfficiency overrides it)"));
        // Without the flag the same file is an error.
        let message = usage_message(Rules::resolve(&flags(), dir.path()));
        assert!(
            message.starts_with(".dive-ci:2: rules.lowestEfficiency: `lots`"),
            "{message}"
        );
    }

    #[test]
    fn file_values_read_as_dive_reads_them() {
        // (value as written in .dive-ci, rule, threshold)
        let cases: &[(&str, Rule, Option<Value>)] = &[
            ("1e3", Rule::HighestWastedBytes, Some(Value::Bytes(1000))),
            ("0x7d0", Rule::HighestWastedBytes, Some(Value::Bytes(2000))),
            (
                "\"2 kB\"",
                Rule::HighestWastedBytes,
                Some(Value::Bytes(2000)),
            ),
            ("2,000", Rule::HighestWastedBytes, Some(Value::Bytes(2000))),
            ("1.9KiB", Rule::HighestWastedBytes, Some(Value::Bytes(1945))),
            ("\"disabled\"", Rule::LowestEfficiency, None),
            ("8e-1", Rule::LowestEfficiency, Some(Value::Ratio(0.8))),
            ("0x1", Rule::LowestEfficiency, Some(Value::Ratio(1.0))),
            ("80%", Rule::LowestEfficiency, Some(Value::Ratio(0.8))),
            (
                "'0.5'",
                Rule::HighestUserWastedPercent,
                Some(Value::Ratio(0.5)),
            ),
        ];
        for &(text, rule, expected) in cases {
            let dir = dir_with(Some(&format!("rules:\n  {}: {text}\n", rule.dive_name())));
            let rules =
                Rules::resolve(&flags(), dir.path()).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(rules.setting(rule).threshold, expected, "{text}");
        }
    }

    #[test]
    fn a_null_value_keeps_the_default() {
        let dir = dir_with(Some(
            "rules:\n  lowestEfficiency:\n  highestWastedBytes: ~\n  highestUserWastedPercent: null\n",
        ));
        let rules = Rules::resolve(&flags(), dir.path()).expect("valid");
        assert_eq!(
            thresholds(&rules),
            [Some(Value::Ratio(0.9)), None, Some(Value::Ratio(0.1))]
        );
        assert!(
            Rule::ALL
                .iter()
                .all(|&r| rules.setting(r).origin == Origin::Default)
        );
    }

    #[test]
    fn the_example_in_testdata_parses() {
        let dir = dir_with(None);
        let f = CiFlags {
            config: Some(testdata("example.dive-ci")),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("the shipped example parses");
        assert!(rules.warnings.is_empty(), "{:?}", rules.warnings);
        assert_eq!(
            thresholds(&rules),
            [
                Some(Value::Ratio(0.95)),
                Some(Value::Bytes(20_000_000)),
                Some(Value::Ratio(0.2))
            ]
        );
    }

    #[test]
    fn the_example_in_dives_readme_parses() {
        // The `.dive-ci` from dive's README (comments shortened), as users copy it.
        let readme = "rules:\n  # If the efficiency is measured below X%, mark as failed.\n  # Expressed as a ratio between 0-1.\n  lowestEfficiency: 0.95\n\n  # If the amount of wasted space is at least X or larger than X, mark as failed.\n  # Expressed in B, KB, MB, and GB.\n  highestWastedBytes: 20MB\n\n  # If the amount of wasted space makes up for X% or more of the image, mark as failed.\n  # Note: the base image layer is NOT included in the total image size.\n  # Expressed as a ratio between 0-1; fails if the threshold is met or crossed.\n  highestUserWastedPercent: 0.20\n";
        let dir = dir_with(Some(readme));
        let rules = Rules::resolve(&flags(), dir.path()).expect("the README example parses");
        assert!(rules.warnings.is_empty());
        assert_eq!(
            thresholds(&rules),
            [
                Some(Value::Ratio(0.95)),
                Some(Value::Bytes(20_000_000)),
                Some(Value::Ratio(0.2))
            ]
        );
    }

    fn rules_of(e: Option<f64>, b: Option<u64>, u: Option<f64>) -> Rules {
        let origin = Origin::Flag;
        Rules {
            settings: [
                Setting {
                    threshold: e.map(Value::Ratio),
                    origin: origin.clone(),
                },
                Setting {
                    threshold: b.map(Value::Bytes),
                    origin: origin.clone(),
                },
                Setting {
                    threshold: u.map(Value::Ratio),
                    origin,
                },
            ],
            config_file: None,
            strata_file: None,
            warnings: Vec::new(),
            fail_on: None,
            allow: Vec::new(),
        }
    }

    #[test]
    fn boundaries_are_strict() {
        use Status::{Disabled, Fail, Pass};
        // Observed with dive 0.13.1 on the probe image: thresholds equal to the metrics pass
        // (0.8 / 2000 / 0.5), one step past them fail (0.80000001 / 1999 / 0.4999).
        type Case = (Option<f64>, Option<u64>, Option<f64>, [Status; 3]);
        let cases: &[Case] = &[
            (Some(0.8), Some(2000), Some(0.5), [Pass, Pass, Pass]),
            (
                Some(0.800_000_01),
                Some(1999),
                Some(0.4999),
                [Fail, Fail, Fail],
            ),
            (Some(0.9), None, Some(0.1), [Fail, Disabled, Fail]), // dive's defaults
            (Some(0.0), Some(u64::MAX), Some(1.0), [Pass, Pass, Pass]),
            (Some(1.0), Some(0), Some(0.0), [Fail, Fail, Fail]),
            (None, None, None, [Disabled, Disabled, Disabled]),
        ];
        for (e, b, u, expected) in cases {
            let rules = rules_of(*e, *b, *u);
            assert_eq!(statuses(&rules, &PROBE), expected, "{e:?} {b:?} {u:?}");
        }
    }

    #[test]
    fn nan_metrics_pass_as_in_dive() {
        // dive 0.13.1 on a single-layer image: "userWastedPercent: NaN %" and
        // "PASS: highestUserWastedPercent", even with a threshold of 0.
        let single_layer = Metrics {
            efficiency: f64::NAN,
            wasted_bytes: 0,
            user_wasted_ratio: f64::NAN,
        };
        let rules = rules_of(Some(1.0), Some(0), Some(0.0));
        let outcomes = rules.evaluate(&single_layer);
        assert_eq!(
            outcomes.iter().map(|o| o.status).collect::<Vec<_>>(),
            [Status::Pass; 3]
        );
        assert_eq!(outcomes[2].actual.to_string(), "NaN");
        assert!(all_passed(&outcomes));
    }

    #[test]
    fn an_infinite_user_wasted_ratio_fails_as_in_dive() {
        // dive 0.13.1 on an image whose second layer only deletes a file of the first:
        // "userWastedPercent: +Inf %" and "FAIL: highestUserWastedPercent: … (%-user-wasted-
        // bytes=+Inf > threshold=0.1)"; any threshold fails, 1.0 included.
        let m = Metrics {
            efficiency: 0.99,
            wasted_bytes: 1000,
            user_wasted_ratio: f64::INFINITY,
        };
        let outcomes = rules_of(None, None, Some(1.0)).evaluate(&m);
        assert_eq!(outcomes[2].status, Status::Fail);
        assert_eq!(outcomes[2].actual.to_string(), "+Inf");
        assert!(!all_passed(&outcomes));
    }

    #[test]
    fn a_user_wasted_ratio_above_one_fails() {
        // dive on an image whose second layer rewrites the first: "userWastedPercent: 200 %".
        let m = Metrics {
            efficiency: 0.5,
            wasted_bytes: 2000,
            user_wasted_ratio: 2.0,
        };
        let outcomes = rules_of(None, None, Some(1.0)).evaluate(&m);
        assert_eq!(outcomes[2].status, Status::Fail);
        assert!(!all_passed(&outcomes));
    }

    #[test]
    fn outcomes_keep_the_threshold_and_the_metric() {
        let m = Metrics {
            efficiency: 0.62,
            wasted_bytes: 25_000_000,
            user_wasted_ratio: 0.15,
        };
        let outcomes = rules_of(Some(0.9), Some(20_000_000), Some(0.1)).evaluate(&m);
        assert_eq!(
            outcomes.iter().map(|o| o.status).collect::<Vec<_>>(),
            [Status::Fail; 3]
        );
        assert_eq!(outcomes[1].threshold, Some(Value::Bytes(20_000_000)));
        assert_eq!(outcomes[1].actual, Value::Bytes(25_000_000));
        assert_eq!(outcomes[0].threshold, Some(Value::Ratio(0.9)));
        assert_eq!(outcomes[0].actual, Value::Ratio(0.62));
    }

    #[test]
    fn ci_env_values_dive_takes_as_true() {
        // Observed: CI=true, TRUE, True, t, 1 start CI mode; CI=yes does not.
        for v in ["1", "t", "T", "true", "TRUE", "True"] {
            assert!(ci_env_enabled(v), "{v}");
        }
        for v in ["", "yes", "on", "0", "false", "tRuE", " true"] {
            assert!(!ci_env_enabled(v), "{v}");
        }
    }

    #[test]
    fn closest_rule_names() {
        let cases: &[(&str, Option<Rule>)] = &[
            ("lowestEfficency", Some(Rule::LowestEfficiency)),
            ("highestWastedByte", Some(Rule::HighestWastedBytes)),
            (
                "highestUserWastedPercentage",
                Some(Rule::HighestUserWastedPercent),
            ),
            ("maxLayers", None),
        ];
        for &(name, expected) in cases {
            assert_eq!(Rule::closest(name), expected, "{name}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    /// The allow-list comes from the CI config's `allow:` and from `.strata.yaml` beside it,
    /// each entry naming its file and line; a bad entry is an error naming them.
    #[test]
    fn the_allow_list_is_read_from_both_files() {
        let dir = dir_with(Some(
            "rules:\n  lowestEfficiency: 0.5\nallow:\n  - id: runs-as-root\n    reason: drops privileges\n",
        ));
        std::fs::write(
            dir.path().join(STRATA_CONFIG),
            "# strata\nallow:\n  - id: setuid-file\n    path: /usr/bin/su\n    reason: su is the point\n",
        )
        .expect("write");
        let f = CiFlags {
            fail_on: Some(Severity::Warning),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("valid");
        let at: Vec<String> = rules.allow.iter().map(ToString::to_string).collect();
        assert_eq!(at, [".dive-ci:4", ".strata.yaml:3"]);
        assert_eq!(rules.allow[1].reason, "su is the point");
        assert_eq!(rules.fail_on, Some(Severity::Warning));
        assert_eq!(rules.strata_file, Some(PathBuf::from(STRATA_CONFIG)));
        assert_eq!(
            rules.setting(Rule::LowestEfficiency).threshold,
            Some(Value::Ratio(0.5))
        );
        // An entry without a reason: the file and the entry's line.
        std::fs::write(
            dir.path().join(STRATA_CONFIG),
            "allow:\n  - id: runs-as-root\n  - id: no-healthcheck\n",
        )
        .expect("write");
        let message = usage_message(Rules::resolve(&f, dir.path()));
        assert!(
            message.starts_with(
                ".strata.yaml:2: the `allow` entry for `runs-as-root` has no `reason`"
            ),
            "{message}"
        );
        // An explicit --ci-config's entries name it as given.
        std::fs::remove_file(dir.path().join(STRATA_CONFIG)).expect("rm");
        std::fs::write(
            dir.path().join("ci.yaml"),
            "allow:\n  - id: duplicate\n    reason: r\n",
        )
        .expect("write");
        let f = CiFlags {
            config: Some("ci.yaml".into()),
            ..flags()
        };
        let rules = Rules::resolve(&f, dir.path()).expect("valid");
        assert_eq!(rules.allow.len(), 1);
        assert_eq!(rules.allow[0].to_string(), "ci.yaml:2");
        assert!(rules.warnings.is_empty(), "{:?}", rules.warnings);
    }
}
