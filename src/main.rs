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

use cli::{CiArgs, Cli, Command, Format, LoadArgs, MetricsKind, OutputArgs};
use strata::analysis::Analysis;
use strata::ci::{self, CiFlags, Metrics, Rules};
use strata::engine::{self, LoadOptions, Progress};
use strata::layer::ScanOptions;
use strata::report::compare::TextOptions;
use strata::report::{self, CiReport, Printer, Report, escape};
use strata::source::{self, Input, Location, OpenOptions};

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
                && let Some(sub) = mistyped(word)
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

/// The subcommand that `word`, the first argument, looks like a mistyping of (`anlyze`,
/// `comapre`), by clap's own measure for its "a similar subcommand exists" tip: Jaro
/// similarity above 0.7. Never for a file that exists or for an image reference (`:`, `/`).
fn mistyped(word: &str) -> Option<String> {
    if word.starts_with('-') || word.contains([':', '/']) {
        return None;
    }
    let names_nothing = match Input::parse(word, None).map(|input| input.location) {
        // Taken for an engine's image because no file has that name.
        Ok(Location::Engine { engine: None, .. }) => true,
        Ok(Location::Path { path, .. }) => !path.exists(),
        _ => false,
    };
    if !names_nothing {
        return None;
    }
    let cmd = Cli::command();
    let mut best: Option<(f64, &str)> = None;
    for sub in cmd.get_subcommands() {
        for name in std::iter::once(sub.get_name()).chain(sub.get_all_aliases()) {
            let score = strsim::jaro(word, name);
            if score > 0.7 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, sub.get_name()));
            }
        }
    }
    best.map(|(_, name)| name.to_string())
}

/// A closed stdout (`strata analyze IMG | head`): printers return the writer's `io::Error`,
/// JSON's included.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The printer of `--format`.
fn printer(format: Format) -> &'static dyn Printer {
    match format {
        Format::Text => &report::Text,
        Format::Json => &report::Json,
    }
}

/// Prints `report` on stdout.
fn print(printer: &dyn Printer, report: &Report<'_>) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    printer.print(report, &mut out)?;
    out.flush()?;
    Ok(())
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
        Some(Command::Compare {
            a,
            b,
            load,
            compare,
        }) => run_compare(&a, &b, &load, &compare),
        Some(Command::Verify {
            image,
            load,
            format,
        }) => verify(&image, &load, format),
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
            let result = if cli.ci_mode || ci_env {
                run_ci(&image, &cli.load, &cli.output, &cli.ci)
            } else if let Some(script) = &cli.keys {
                replay(&image, &cli.load, script, cli.print, &cli.screen)
            } else {
                explore(&image, &cli.load)
            };
            // `strata anlyze`, the image forgotten: whatever failed, the word was likely meant
            // as a subcommand (an engine's image of that name would have loaded).
            result.map_err(|e| match mistyped(&image) {
                Some(sub) => anyhow::anyhow!("{}; did you mean `strata {sub}`?", one_line(&e)),
                None => e,
            })
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

fn open_image(image: &str, args: &LoadArgs) -> anyhow::Result<source::Opened> {
    Ok(source::open(
        &Input::parse(image, args.source.map(Into::into))?,
        &OpenOptions {
            platform: args.platform.clone(),
            tag: args.tag.clone(),
            insecure: args.insecure,
            creds: args.creds.clone(),
            scan: ScanOptions {
                verify: !args.no_verify,
            },
            lenient: args.ignore_errors,
        },
    )?)
}

fn load_options(args: &LoadArgs) -> LoadOptions {
    LoadOptions {
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
        ..LoadOptions::default()
    }
}

/// The explorer on the terminal. Bad input and bad key bindings fail before the screen is
/// taken.
fn explore(image: &str, args: &LoadArgs) -> anyhow::Result<u8> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        anyhow::bail!(
            "the explorer needs a terminal (stdout or stdin is not one); use `strata analyze {image}` for the text summary, or `strata ci {image}`"
        );
    }
    let keymap = strata::tui::load_keymap()?;
    let opened = open_image(image, args)?;
    strata::tui::run(opened, &load_options(args), keymap)?;
    Ok(0)
}

/// `--keys SCRIPT --print`: replays keys on a virtual screen and prints it.
fn replay(
    image: &str,
    args: &LoadArgs,
    script: &str,
    print: bool,
    screen: &str,
) -> anyhow::Result<u8> {
    if !print {
        anyhow::bail!("--keys needs --print (the replayed screen is printed as text)");
    }
    let (w, h) = screen
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
        .filter(|&(w, h)| w >= 20 && h >= 10)
        .with_context(|| format!("--screen {screen}: expected WIDTHxHEIGHT, at least 20x10"))?;
    let keys = strata::tui::parse_script(script)?;
    let keymap = strata::tui::load_keymap()?;
    let opened = open_image(image, args)?;
    let loaded = engine::load(opened, &load_options(args), &Progress::default())?;
    let text = strata::tui::replay(loaded, keymap, &keys, w, h)?;
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// Loads and analyses the image, with a progress bar on a terminal; lists the `top` most
/// wasteful paths (all with `None`).
fn load(image: &str, args: &LoadArgs, top: Option<usize>) -> anyhow::Result<Analysis> {
    strata::trace::mark(|| "open".into());
    let opened = open_image(image, args)?;
    let loaded = load_with_progress(opened, &load_options(args), args.quiet)?;
    strata::trace::mark(|| "analysis start".into());
    let analysis = Analysis::with_top(&loaded, top);
    strata::trace::mark(|| "analysis done".into());
    // Freeing a million-path filesystem takes tens of milliseconds: let it happen beside the
    // printing (the process may well exit first, which frees it all at once).
    std::thread::spawn(move || drop(loaded));
    Ok(analysis)
}

/// Reads an opened image, with a progress bar on a terminal unless `quiet`.
fn load_with_progress(
    opened: source::Opened,
    options: &LoadOptions,
    quiet: bool,
) -> strata::Result<engine::Loaded> {
    let progress = Progress::default();
    let show = !quiet && io::stderr().is_terminal();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let layers = opened.image.layers.len();
        if show {
            let (progress, done) = (&progress, &done);
            s.spawn(move || draw_progress(progress, done, layers));
        }
        let result = engine::load(opened, options, &progress);
        done.store(true, Ordering::Relaxed);
        result
    })
}

/// `strata verify`: every check to the end, every problem listed; exit 0 or 2. The image's
/// documents are read leniently and every layer read whole, whatever `-i`, `--no-verify` and
/// `--cache` say: verifying means reading every byte.
fn verify(image: &str, args: &LoadArgs, format: Format) -> anyhow::Result<u8> {
    let args = LoadArgs {
        ignore_errors: true,
        no_verify: false,
        cache: false,
        ..args.clone()
    };
    let opened = open_image(image, &args)?;
    let options = LoadOptions {
        keep_going: true,
        ignore_errors: false,
        base_batch: usize::MAX,
        ..load_options(&args)
    };
    let loaded = load_with_progress(opened, &options, args.quiet)?;
    let verdict = strata::analysis::verify::Verification::new(&loaded);
    print(printer(format), &Report::Verify(&verdict))?;
    Ok(if verdict.ok { 0 } else { EXIT_ERROR })
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

/// How many wasted paths the outputs list: `--top N` for both, else 100 (JSON; text shows 20
/// of them); `None` (all) for `--top 0`.
fn listed_paths(output: &OutputArgs) -> Option<usize> {
    Some(default_top(output, true)).filter(|&n| n > 0)
}

/// Writes the JSON analysis to `--json FILE` if asked.
fn write_json_file(a: &Analysis, output: &OutputArgs) -> anyhow::Result<()> {
    if let Some(path) = &output.json {
        let mut text = Vec::new();
        let report = Report::Analysis {
            analysis: a,
            top: default_top(output, true),
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

fn analyze(image: &str, load_args: &LoadArgs, output: &OutputArgs) -> anyhow::Result<u8> {
    let a = load(image, load_args, listed_paths(output))?;
    warn_all(&a);
    write_json_file(&a, output)?;
    let report = Report::Analysis {
        analysis: &a,
        top: default_top(output, false),
    };
    print(printer(output.format), &report)?;
    strata::trace::mark(|| "printed".into());
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
        eprintln!("strata: warning: {}", escape::text(w));
    }
    let a = load(image, load_args, listed_paths(output))?;
    warn_all(&a);
    let metrics = match args.metrics {
        MetricsKind::Exact => ci::MetricsKind::Exact,
        MetricsKind::Dive => ci::MetricsKind::Dive,
    };
    let outcomes = rules.evaluate(&Metrics::of(&a, metrics));
    write_json_file(&a, output)?;
    let report = Report::Ci(CiReport {
        analysis: &a,
        outcomes: &outcomes,
        metrics,
        config: rules.config_file.as_deref(),
        top: output.top.unwrap_or(5),
    });
    // JSON of a CI report is the `strata.ci/v1` contract (report::CiJson).
    print(printer(output.format), &report)?;
    Ok(if ci::all_passed(&outcomes) {
        0
    } else {
        EXIT_FAIL
    })
}

/// `strata compare A B`: both images load at once (two threads), then one comparison is
/// printed. Exit 1 when `--fail-if-larger` is exceeded, 2 when either image cannot be read.
fn run_compare(
    a: &str,
    b: &str,
    load_args: &LoadArgs,
    args: &cli::CompareArgs,
) -> anyhow::Result<u8> {
    use strata::analysis::compare::{Comparison, Limit};
    let limit = match args.fail_if_larger.as_deref() {
        Some(text) => limit_has_a_unit(text)
            .and_then(|()| Limit::parse(text))
            .map_err(|e| anyhow::anyhow!("--fail-if-larger: {e}"))?,
        None => None,
    };
    let replay = match &args.keys {
        Some(script) => Some(compare_replay_setup(script, args)?),
        None => None,
    };
    let ci_env = std::env::var("CI").is_ok_and(|v| ci::ci_env_enabled(&v));
    if replay.is_none()
        && args.format.is_none()
        && !ci_env
        && io::stdout().is_terminal()
        && io::stdin().is_terminal()
    {
        return compare_screen(a, b, load_args, limit);
    }
    let options = load_options(load_args);
    let open_and_load = |image: &str, progress: &Progress| -> anyhow::Result<engine::Loaded> {
        let opened = open_image(image, load_args)?;
        engine::load(opened, &options, progress).with_context(|| format!("cannot read {image}"))
    };
    let (pa, pb) = (Progress::default(), Progress::default());
    let done = std::sync::atomic::AtomicBool::new(false);
    let (la, lb) = std::thread::scope(|s| {
        if !load_args.quiet && io::stderr().is_terminal() {
            let (pa, pb, done) = (&pa, &pb, &done);
            s.spawn(move || {
                let bar = indicatif::ProgressBar::with_draw_target(
                    Some(0),
                    indicatif::ProgressDrawTarget::stderr(),
                );
                while !done.load(Ordering::Relaxed) {
                    let sum = |f: fn(&Progress) -> u64| f(pa) + f(pb);
                    bar.set_length(sum(|p| p.total.load(Ordering::Relaxed)).max(1));
                    bar.set_position(sum(|p| p.bytes.load(Ordering::Relaxed)));
                    std::thread::sleep(Duration::from_millis(80));
                }
                bar.finish_and_clear();
            });
        }
        let other = s.spawn(|| open_and_load(b, &pb));
        let la = open_and_load(a, &pa);
        let lb = other
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("loading {b} panicked")));
        done.store(true, Ordering::Relaxed);
        (la, lb)
    });
    let (la, lb) = (la?, lb?);
    let (aa, ba) = (Analysis::new(&la), Analysis::new(&lb));
    let mut c = Comparison::new(&la, &aa, &lb, &ba);
    let exceeded = limit.is_some_and(|l| c.judge(l).exceeded);
    if let Some((keys, keymap, (w, h))) = replay {
        let text = strata::tui::replay_compare(c, keymap, &keys, w, h)?;
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(if exceeded { EXIT_FAIL } else { 0 });
    }
    let printer: &dyn Printer = match args.format.unwrap_or(cli::CompareFormat::Text) {
        cli::CompareFormat::Text => &report::Text,
        cli::CompareFormat::Json => {
            // The text lists the warnings; JSON holds them too, but a person reads stderr.
            for w in &c.warnings {
                eprintln!("strata: warning: {}", escape::text(w));
            }
            &report::Json
        }
        cli::CompareFormat::Markdown => &report::Markdown,
    };
    let report = Report::Compare {
        comparison: &c,
        options: TextOptions {
            depth: usize::from(args.depth),
            top: args.top,
            files: args.files,
        },
    };
    print(printer, &report)?;
    Ok(if exceeded { EXIT_FAIL } else { 0 })
}

/// A `--fail-if-larger` that is a plain number is refused: humanize reads `5` as 5 bytes, which
/// nobody who writes it means (5%? 5MB?). `0` is the same in every unit and stays. A negative
/// limit is named as such (B may not be larger by less than nothing).
fn limit_has_a_unit(text: &str) -> Result<(), String> {
    let t = text.trim();
    if t.strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    {
        return Err(format!(
            "`{t}` is negative; expected how much larger B may be, such as 5% or 20MB"
        ));
    }
    let plain = t.contains(|c: char| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
    if plain && t.contains(|c: char| ('1'..='9').contains(&c)) {
        return Err(format!(
            "`{t}` has no unit: write {t}% for a percentage, or a size such as {t}MB, {t}MiB \
             or {t}B"
        ));
    }
    Ok(())
}

type CompareReplay = (
    Vec<strata::tui::keymap::Key>,
    strata::tui::keymap::Keymap,
    (u16, u16),
);

/// `compare --keys SCRIPT --print --screen WxH`, checked before any image is read.
fn compare_replay_setup(script: &str, args: &cli::CompareArgs) -> anyhow::Result<CompareReplay> {
    if !args.print {
        anyhow::bail!("--keys needs --print (the replayed screen is printed as text)");
    }
    let screen = &args.screen;
    let size = screen
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
        .filter(|&(w, h)| w >= 20 && h >= 10)
        .with_context(|| format!("--screen {screen}: expected WIDTHxHEIGHT, at least 20x10"))?;
    Ok((
        strata::tui::parse_script(script)?,
        strata::tui::load_keymap()?,
        size,
    ))
}

/// The compare screen on the terminal. The sources open (and the keymap loads) before the
/// screen is taken, so most bad input fails as plain text; exit 1 after quitting when
/// `--fail-if-larger` is exceeded, as in text.
fn compare_screen(
    a: &str,
    b: &str,
    load_args: &LoadArgs,
    limit: Option<strata::analysis::compare::Limit>,
) -> anyhow::Result<u8> {
    let keymap = strata::tui::load_keymap()?;
    let ia = open_image(a, load_args)?;
    let ib = open_image(b, load_args)?;
    match strata::tui::run_compare(ia, ib, &load_options(load_args), keymap, limit)? {
        Some(c) if c.limit.is_some_and(|l| l.exceeded) => Ok(EXIT_FAIL),
        Some(_) => Ok(0),
        None if limit.is_some() => {
            anyhow::bail!("quit before both images were read: --fail-if-larger was not judged")
        }
        None => Ok(0),
    }
}
