//! The `strata` binary: parse arguments, load the image with progress, print, exit with
//! 0 (pass), 1 (a CI rule failed) or 2 (could not analyse).

mod cli;

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use cli::{CiArgs, Cli, Command, Format, LoadArgs, MetricsKind, OutputArgs, SourceKind};
use strata::analysis::Analysis;
use strata::ci::{self, CiFlags, Metrics, Rules};
use strata::engine::{self, LoadOptions, Progress};
use strata::layer::ScanOptions;
use strata::source::{self, OpenOptions};

/// Exit codes are an API: 0 pass, 1 a rule failed, 2 could not analyse.
const EXIT_FAIL: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(io::stderr(), "strata: error: {}", one_line(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn one_line(e: &anyhow::Error) -> String {
    // The library's errors already name the thing; context adds where it came from.
    let parts: Vec<String> = e.chain().map(ToString::to_string).collect();
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        if !out.iter().any(|o| o.contains(&p)) {
            out.push(p);
        }
    }
    out.join(": ").replace('\n', " ")
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Some(Command::Analyze {
            image,
            load,
            output,
        }) => analyze(&image, &load, &output),
        Some(Command::Ci {
            image,
            load,
            output,
            ci,
        }) => run_ci(&image, &load, &output, &ci),
        Some(Command::Completions { shell }) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "strata", &mut io::stdout());
            Ok(0)
        }
        Some(Command::Man { out }) => {
            write_man(&out)?;
            Ok(0)
        }
        None => {
            let Some(image) = cli.image else {
                Cli::command().print_help()?;
                return Ok(EXIT_ERROR);
            };
            let ci_env = std::env::var("CI").is_ok_and(|v| ci::ci_env_enabled(&v));
            if cli.ci_mode || ci_env {
                run_ci(&image, &cli.load, &cli.output, &cli.ci)
            } else {
                analyze(&image, &cli.load, &cli.output)
            }
        }
    }
}

fn write_man(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    let cmd = Cli::command();
    let mut pages = vec![("strata".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        pages.push((format!("strata-{}", sub.get_name()), sub.clone()));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page.name(name.clone())).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// The image spec with dive's `--source` turned into a prefix.
fn spec(image: &str, source: Option<SourceKind>) -> String {
    let prefix = match source {
        None => return image.to_string(),
        Some(SourceKind::DockerArchive) => "docker-archive:",
        Some(SourceKind::Oci) => "oci:",
        Some(SourceKind::OciArchive) => "oci-archive:",
    };
    if image.starts_with(prefix) {
        image.to_string()
    } else {
        format!("{prefix}{image}")
    }
}

/// Loads and analyses the image, with a progress bar on a terminal.
fn load(image: &str, args: &LoadArgs) -> anyhow::Result<Analysis> {
    let opened = source::open(
        &spec(image, args.source),
        &OpenOptions {
            platform: args.platform.clone(),
            tag: args.tag.clone(),
        },
    )?;
    let options = LoadOptions {
        scan: ScanOptions {
            verify: !args.no_verify,
        },
        ignore_errors: args.ignore_errors,
        threads: args.threads,
        cache: if args.cache {
            strata::cache::default_dir()
        } else {
            None
        },
    };
    let progress = Progress::default();
    let show = !args.quiet && io::stderr().is_terminal();
    let done = std::sync::atomic::AtomicBool::new(false);
    let loaded = std::thread::scope(|s| {
        let layers = opened.layers.len();
        if show {
            let (progress, done) = (&progress, &done);
            s.spawn(move || draw_progress(progress, done, layers));
        }
        let result = engine::load(opened, &options, &progress);
        done.store(true, Ordering::Relaxed);
        result
    })?;
    Ok(Analysis::new(&loaded))
}

fn draw_progress(progress: &Progress, done: &std::sync::atomic::AtomicBool, layers: usize) {
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} reading layers {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(0), indicatif::ProgressDrawTarget::stderr())
            .with_style(style);
    while !done.load(Ordering::Relaxed) {
        bar.set_length(progress.total.load(Ordering::Relaxed).max(1));
        bar.set_position(progress.bytes.load(Ordering::Relaxed));
        bar.set_message(format!(
            "{}/{layers}",
            progress.layers_done.load(Ordering::Relaxed)
        ));
        std::thread::sleep(Duration::from_millis(80));
    }
    bar.finish_and_clear();
}

fn default_top(output: &OutputArgs, json: bool) -> usize {
    output.top.unwrap_or(if json { 100 } else { 20 })
}

/// Writes the JSON analysis to `--json FILE` if asked.
fn write_json_file(a: &Analysis, output: &OutputArgs) -> anyhow::Result<()> {
    if let Some(path) = &output.json {
        let mut a = a.clone();
        let top = default_top(output, true);
        if top > 0 {
            a.truncate_paths(top);
        }
        let text = serde_json::to_string_pretty(&a)?;
        std::fs::write(path, text + "\n").with_context(|| path.display().to_string())?;
    }
    Ok(())
}

fn print(a: &Analysis, output: &OutputArgs) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match output.format {
        Format::Json => {
            let mut a = a.clone();
            let top = default_top(output, true);
            if top > 0 {
                a.truncate_paths(top);
            }
            serde_json::to_writer_pretty(&mut out, &a)?;
            writeln!(out)?;
        }
        Format::Text => {
            strata::report::text::write_summary(&mut out, a, default_top(output, false))?
        }
    }
    out.flush()?;
    Ok(())
}

fn warn_all(a: &Analysis) {
    let mut err = io::stderr().lock();
    for w in &a.warnings {
        let _ = writeln!(err, "strata: warning: {w}");
    }
}

fn analyze(image: &str, load_args: &LoadArgs, output: &OutputArgs) -> anyhow::Result<u8> {
    let a = load(image, load_args)?;
    if output.format == Format::Json {
        warn_all(&a);
    }
    write_json_file(&a, output)?;
    print(&a, output)?;
    Ok(0)
}

fn run_ci(
    image: &str,
    load_args: &LoadArgs,
    output: &OutputArgs,
    args: &CiArgs,
) -> anyhow::Result<u8> {
    // Rules are resolved before any work, so a bad value costs nothing.
    let flags = CiFlags {
        lowest_efficiency: args.lowest_efficiency.clone(),
        highest_wasted_bytes: args.highest_wasted_bytes.clone(),
        highest_user_wasted_percent: args.highest_user_wasted_percent.clone(),
        config: args.ci_config.clone(),
    };
    let cwd = std::env::current_dir().context("current directory")?;
    let rules = Rules::resolve(&flags, &cwd)?;
    for w in &rules.warnings {
        eprintln!("strata: warning: {w}");
    }
    let a = load(image, load_args)?;
    warn_all(&a);
    let metrics = match args.metrics {
        MetricsKind::Exact => Metrics {
            efficiency: a.waste.efficiency,
            wasted_bytes: a.waste.wasted_bytes,
            user_wasted_ratio: a.waste.user_wasted_ratio,
        },
        MetricsKind::Dive => Metrics {
            efficiency: a.dive.efficiency,
            wasted_bytes: a.dive.wasted_bytes,
            user_wasted_ratio: a.dive.user_wasted_percent.unwrap_or(f64::NAN),
        },
    };
    let outcomes = rules.evaluate(&metrics);
    write_json_file(&a, output)?;
    let mut out = io::stdout().lock();
    if output.format == Format::Json {
        serde_json::to_writer_pretty(&mut out, &ci_json(&a, &outcomes))?;
        writeln!(out)?;
    } else {
        let name = match args.metrics {
            MetricsKind::Exact => "exact (strata)",
            MetricsKind::Dive => "dive 0.13 formulas",
        };
        strata::report::text::write_ci(
            &mut out,
            &a,
            &outcomes,
            name,
            rules.config_file.as_deref(),
            output.top.unwrap_or(5),
        )?;
    }
    out.flush()?;
    Ok(if ci::all_passed(&outcomes) {
        0
    } else {
        EXIT_FAIL
    })
}

fn ci_json(a: &Analysis, outcomes: &[ci::RuleOutcome]) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| {
            serde_json::json!({
                "rule": o.rule.dive_name(),
                "status": format!("{:?}", o.status).to_lowercase(),
                "threshold": o.threshold.map(|t| t.to_string()),
                "actual": o.actual.to_string(),
                "message": o.message,
            })
        })
        .collect();
    serde_json::json!({
        "schema": "strata.ci/v1",
        "pass": ci::all_passed(outcomes),
        "rules": rules,
        "analysis": a,
    })
}
