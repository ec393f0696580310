//! The `strata` binary: parse arguments, load the image with progress, print, exit with
//! 0 (pass), 1 (a CI rule failed) or 2 (could not analyse).

mod cli;

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{CommandFactory, Parser};

use cli::{Cli, CompareView, Job, KeyReplay, Output, Resolved};
use strata::analysis::Analysis;
use strata::analysis::compare::{Comparison, Limit, PairSide, load_pair};
use strata::ci::{self, Metrics, Rules};
use strata::engine::{self, LoadOptions, Progress};
use strata::report::{self, CiReport, Printer, Report, escape};
use strata::source::{self, Input};

/// Exit codes are an API: 0 pass, 1 a rule failed, 2 could not analyse.
const EXIT_FAIL: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            // `strata anlyze IMG`: clap takes `anlyze` for IMAGE, then says "the subcommand
            // 'IMG' cannot be used with '[IMAGE]'". The command line is wrong whatever the
            // word is, so the tip costs nothing when it guesses wrong.
            let shown = matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            if !shown
                && let Some(word) = args.get(1).and_then(|a| a.to_str())
                && let Some(sub) = cli::mistyped(word)
            {
                let _ = writeln!(
                    io::stderr(),
                    "strata: error: `{}` is neither a subcommand nor a file; did you mean \
                     `strata {sub}`?",
                    escape::text(word)
                );
                return ExitCode::from(EXIT_ERROR);
            }
            e.exit()
        }
    };
    // `strata anlyze`, the image forgotten: whatever failed, the word was likely meant as a
    // subcommand (an engine's image of that name would have loaded).
    let bare = cli.command.is_none().then(|| cli.image.clone()).flatten();
    let result = cli::resolve(cli).and_then(run).map_err(|e| {
        match bare.as_deref().and_then(cli::mistyped) {
            Some(sub) => anyhow::anyhow!("{}; did you mean `strata {sub}`?", one_line(&e)),
            None => e,
        }
    });
    match result {
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

/// The error and its context as one line, every control character from an image (or from the
/// user's arguments) escaped: a line break in a message never starts a new line.
fn one_line(e: &anyhow::Error) -> String {
    // The library's errors already name the thing; context adds where it came from.
    let parts: Vec<String> = e.chain().map(ToString::to_string).collect();
    let mut out: Vec<String> = Vec::new();
    for p in parts {
        if !out.iter().any(|o| o.contains(&p)) {
            out.push(p);
        }
    }
    escape::text(&out.join(": ")).into_owned()
}

/// A closed stdout (`strata analyze IMG | head`): printers return the writer's `io::Error`,
/// JSON's included.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `report` on stdout.
fn print(printer: &dyn Printer, report: &Report<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    printer.print(report, &mut out)?;
    out.flush()?;
    Ok(())
}

/// Writes a replayed screen on stdout.
fn print_text(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

fn run(r: Resolved) -> anyhow::Result<u8> {
    let Resolved {
        job,
        open,
        load: options,
        quiet,
    } = r;
    let open = |input: &Input| {
        strata::trace::mark(|| "open".into());
        source::open(input, &open)
    };
    match job {
        Job::Analyze { input, output } => {
            let a = load(open(&input)?, &options, quiet, output.listed)?;
            report_analysis(&a, &output)?;
            strata::trace::mark(|| "printed".into());
            Ok(0)
        }
        Job::Ci {
            input,
            output,
            rules,
            metrics,
        } => {
            let a = load(open(&input)?, &options, quiet, output.listed)?;
            run_ci(&a, &output, &rules, metrics)
        }
        Job::Verify { input, printer } => {
            let loaded = load_one(open(&input)?, &options, quiet)?;
            let verdict = strata::analysis::verify::Verification::new(&loaded);
            print(printer, &Report::Verify(&verdict))?;
            Ok(if verdict.ok { 0 } else { EXIT_ERROR })
        }
        Job::Explore { input, keymap } => {
            strata::tui::run(open(&input)?, &options, keymap)?;
            Ok(0)
        }
        Job::Replay { input, replay } => {
            let loaded = engine::load(open(&input)?, &options, &Progress::default())?;
            let KeyReplay {
                keys,
                keymap,
                screen,
            } = replay;
            print_text(&strata::tui::replay(
                loaded,
                keymap,
                &keys,
                screen.width,
                screen.height,
            )?)?;
            Ok(0)
        }
        Job::Compare {
            inputs,
            limit,
            view,
        } => run_compare(inputs, limit, view, open, &options, quiet),
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

/// Reads an opened image, with a progress bar on a terminal unless `--quiet`.
fn load_one(
    opened: source::Opened,
    options: &LoadOptions,
    quiet: bool,
) -> strata::Result<engine::Loaded> {
    let progress = Progress::default();
    let layers = opened.image.layers.len();
    strata::progress::run(&[&progress], layers, quiet, || {
        engine::load(opened, options, &progress)
    })
}

/// Loads and analyses the image; lists the `top` most wasteful paths (all with `None`).
fn load(
    opened: source::Opened,
    options: &LoadOptions,
    quiet: bool,
    top: Option<usize>,
) -> anyhow::Result<Analysis> {
    let loaded = load_one(opened, options, quiet)?;
    strata::trace::mark(|| "analysis start".into());
    let analysis = Analysis::with_top(&loaded, top);
    strata::trace::mark(|| "analysis done".into());
    // Freeing a million-path filesystem takes tens of milliseconds: let it happen beside the
    // printing (the process may well exit first, which frees it all at once).
    std::thread::spawn(move || drop(loaded));
    Ok(analysis)
}

/// `analyze`: the warnings on stderr, `--json FILE`, the report on stdout.
fn report_analysis(a: &Analysis, output: &Output) -> anyhow::Result<()> {
    warn_all(a);
    write_json_file(a, output)?;
    let report = Report::Analysis {
        analysis: a,
        top: output.shown,
    };
    print(output.printer, &report)
}

/// Writes the JSON analysis to `--json FILE` if asked.
fn write_json_file(a: &Analysis, output: &Output) -> anyhow::Result<()> {
    if let Some(path) = &output.json_file {
        let mut text = Vec::new();
        let report = Report::Analysis {
            analysis: a,
            top: output.json_top,
        };
        report::Json.print(&report, &mut text)?;
        std::fs::write(path, text).with_context(|| path.display().to_string())?;
    }
    Ok(())
}

fn warn_all(a: &Analysis) {
    let mut err = io::stderr().lock();
    for w in &a.warnings {
        let _ = writeln!(err, "strata: warning: {}", escape::text(w));
    }
}

/// `ci`: exit 1 when a rule fails. JSON of a CI report is the `strata.ci/v1` contract.
fn run_ci(
    a: &Analysis,
    output: &Output,
    rules: &Rules,
    metrics: ci::MetricsKind,
) -> anyhow::Result<u8> {
    warn_all(a);
    let outcomes = rules.evaluate(&Metrics::of(a, metrics));
    write_json_file(a, output)?;
    let report = Report::Ci(CiReport {
        analysis: a,
        outcomes: &outcomes,
        metrics,
        config: rules.config_file.as_deref(),
        top: output.shown,
    });
    print(output.printer, &report)?;
    Ok(if ci::all_passed(&outcomes) {
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
        }) => print_text(&strata::tui::replay_compare(
            c,
            keymap,
            &keys,
            screen.width,
            screen.height,
        )?),
        CompareView::Print {
            printer,
            options,
            warn,
        } => {
            if warn {
                // The text lists the warnings; JSON holds them too, but a person reads stderr.
                for w in &c.warnings {
                    eprintln!("strata: warning: {}", escape::text(w));
                }
            }
            print(
                printer,
                &Report::Compare {
                    comparison: &c,
                    options,
                },
            )
        }
        CompareView::Screen(_) => Ok(()),
    }
}
