//! The `strata` binary: parse arguments, load the image with progress, print, exit with
//! 0 (pass), 1 (a CI rule failed) or 2 (could not analyse).

mod cli;

use std::io;
use std::process::ExitCode;

use clap::CommandFactory;

use cli::{Cli, CompareView, Job, KeyReplay, Resolved};
use strata::analysis::compare::{Comparison, Limit, PairSide, load_pair};
use strata::analysis::{Analysis, BuildHints};
use strata::ci::{self, Metrics, Rules};
use strata::engine::{self, LoadOptions, Loaded, Progress};
use strata::report::Report;
use strata::report::emit::{self, Output};
use strata::source::{self, Input};

/// Exit codes are an API: 0 pass, 1 a rule failed, 2 could not analyse.
const EXIT_FAIL: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = cli::parse(&args).and_then(|cli| {
        // `strata anlyze`, the image forgotten: whatever failed, the word was likely meant as
        // a subcommand (an engine's image of that name would have loaded).
        let bare = cli.command.is_none().then(|| cli.image.clone()).flatten();
        cli::resolve(cli)
            .and_then(run)
            .map_err(|e| match bare.as_deref().and_then(cli::mistyped) {
                Some(sub) => {
                    anyhow::anyhow!("{}; did you mean `strata {sub}`?", emit::error_line(&e))
                }
                None => e,
            })
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if emit::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            emit::error(&e);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(r: Resolved) -> anyhow::Result<u8> {
    let Resolved {
        job,
        open,
        load: options,
        quiet,
        dockerfile,
        base,
    } = r;
    let open_options = open;
    let open = |input: &Input| {
        strata::trace::mark(|| "open".into());
        source::open(input, &open_options)
    };
    // The base image: its manifest and config only (its layers are this image's).
    let base = base
        .map(|(input, name)| {
            open(&input)
                .map(|o| (o.image, name.clone()))
                .map_err(|e| anyhow::anyhow!("--base {name}: {e}"))
        })
        .transpose()?;
    let hints = BuildHints { dockerfile, base };
    let hints = &hints;
    match job {
        Job::Analyze { input, output } => {
            let (a, loaded) = load(open(&input)?, &options, quiet, output.listed, hints)?;
            // The filesystem stays until printed: the HTML page draws it.
            emit::analysis(&a, &loaded.fs, &output)?;
            strata::trace::mark(|| "printed".into());
            free(loaded);
            Ok(0)
        }
        Job::Ci {
            input,
            output,
            rules,
            metrics,
        } => {
            let (a, loaded) = load(open(&input)?, &options, quiet, output.listed, hints)?;
            free(loaded);
            run_ci(&a, &output, &rules, metrics)
        }
        Job::Verify { input, printer } => {
            let loaded = strata::progress::load(open(&input)?, &options, quiet)?;
            let verdict = strata::analysis::verify::Verification::new(&loaded);
            emit::stdout(printer, &Report::Verify(&verdict))?;
            Ok(if verdict.ok { 0 } else { EXIT_ERROR })
        }
        Job::Explore { input, keymap } => {
            strata::tui::run(open(&input)?, &options, keymap, hints)?;
            Ok(0)
        }
        Job::Replay { input, replay } => {
            let loaded = engine::load(open(&input)?, &options, &Progress::default())?;
            let KeyReplay {
                keys,
                keymap,
                screen,
            } = replay;
            let (width, height) = (screen.width, screen.height);
            emit::screen(&strata::tui::replay_attributed(
                loaded, hints, keymap, &keys, width, height,
            ))?;
            Ok(0)
        }
        Job::Compare {
            inputs,
            limit,
            view,
        } => run_compare(inputs, limit, view, open, &options, quiet),
        Job::History {
            input,
            tags,
            pattern,
            printer,
        } => {
            let history = run_history(&input, &open_options, &options, tags, pattern, quiet)?;
            emit::warnings(&history.warnings);
            emit::stdout(printer, &Report::History(&history))?;
            Ok(0)
        }
        Job::Completions(shell) => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "strata", &mut io::stdout());
            Ok(0)
        }
        Job::Man(out) => {
            cli::write_man(&out)?;
            Ok(0)
        }
        Job::Help => {
            Cli::command().print_help()?;
            Ok(EXIT_ERROR)
        }
    }
}

/// `strata compare A B`: the compare screen, or both images read at once under one bar and
/// the comparison printed. Exit 1 when `--fail-if-larger` is exceeded, 2 when either image
/// cannot be read.
fn run_compare(
    [(ia, a), (ib, b)]: [(Input, String); 2],
    limit: Option<Limit>,
    view: CompareView,
    open: impl Fn(&Input) -> strata::Result<source::Opened>,
    options: &LoadOptions,
    quiet: bool,
) -> anyhow::Result<u8> {
    let (oa, ob) = (open(&ia)?, open(&ib)?);
    if let CompareView::Screen(keymap) = view {
        return match strata::tui::run_compare(oa, ob, options, keymap, limit)? {
            Some(c) if c.limit.is_some_and(|l| l.exceeded) => Ok(EXIT_FAIL),
            Some(_) => Ok(0),
            None if limit.is_some() => {
                anyhow::bail!("quit before both images were read: --fail-if-larger was not judged")
            }
            None => Ok(0),
        };
    }
    let (pa, pb) = (Progress::default(), Progress::default());
    let layers = oa.image.layers.len() + ob.image.layers.len();
    let mut c = strata::progress::run(&[&pa, &pb], layers, quiet, || {
        let side = |opened, name, progress| PairSide {
            opened,
            name,
            progress,
        };
        load_pair(side(oa, &a, &pa), side(ob, &b, &pb), options, || {})
    })?;
    let exceeded = limit.is_some_and(|l| c.judge(l).exceeded);
    show_comparison(c, view)?;
    Ok(if exceeded { EXIT_FAIL } else { 0 })
}

/// Loads and analyses the image; lists the `top` most wasteful paths (all with `None`);
/// names each layer's line and the base image's layers as `hints` tell. The image is
/// returned beside its analysis, to [`free`] once nothing reads it.
fn load(
    opened: source::Opened,
    options: &LoadOptions,
    quiet: bool,
    top: Option<usize>,
    hints: &BuildHints,
) -> anyhow::Result<(Analysis, Loaded)> {
    let loaded = strata::progress::load(opened, options, quiet)?;
    strata::trace::mark(|| "analysis start".into());
    let mut analysis = Analysis::with_top(&loaded, top);
    analysis.hint(&loaded.image, hints);
    strata::trace::mark(|| "analysis done".into());
    Ok((analysis, loaded))
}

/// Freeing a million-path filesystem takes tens of milliseconds: let it happen beside what
/// is left to do (the process may well exit first, which frees it all at once).
fn free(loaded: Loaded) {
    std::thread::spawn(move || drop(loaded));
}

/// `strata history`: the tags read with a layer cache shared between them (the user's
/// `--cache`, else a private one removed at the end), each tag said on stderr as it starts.
fn run_history(
    input: &Input,
    open: &source::OpenOptions,
    options: &LoadOptions,
    tags: usize,
    pattern: Option<globset::GlobMatcher>,
    quiet: bool,
) -> anyhow::Result<strata::analysis::history::History> {
    let private = match options.cache {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("strata-history-")
                .tempdir()?,
        ),
    };
    let mut load = options.clone();
    if let Some(dir) = &private {
        load.cache = Some(dir.path().to_path_buf());
    }
    let want = strata::analysis::history::Want {
        tags,
        pattern: pattern.as_ref(),
    };
    let history = strata::analysis::history::read(input, open, &load, &want, |tag, i, n| {
        if !quiet {
            eprintln!(
                "strata: reading {} ({} of {n})",
                strata::report::escape::text(tag),
                i + 1
            );
        }
    })?;
    Ok(history)
}

/// `ci`: exit 1 when a rule fails, or a finding fails `--fail-on`.
fn run_ci(
    a: &Analysis,
    output: &Output,
    rules: &Rules,
    metrics: ci::MetricsKind,
) -> anyhow::Result<u8> {
    let outcomes = rules.evaluate(&Metrics::of(a, metrics));
    let gate = rules.gate(&a.findings);
    emit::ci(a, output, &outcomes, metrics, rules, &gate)?;
    Ok(if ci::all_passed(&outcomes) && gate.passed() {
        0
    } else {
        EXIT_FAIL
    })
}

/// The comparison replayed on a virtual screen or printed.
fn show_comparison(c: Comparison, view: CompareView) -> anyhow::Result<()> {
    match view {
        CompareView::Replay(KeyReplay {
            keys,
            keymap,
            screen,
        }) => {
            let (width, height) = (screen.width, screen.height);
            emit::screen(&strata::tui::replay_compare(
                c, keymap, &keys, width, height,
            )?)?;
        }
        CompareView::Print {
            printer,
            options,
            warn,
        } => emit::comparison(&c, printer, options, warn)?,
        CompareView::Screen(_) => {}
    }
    Ok(())
}
