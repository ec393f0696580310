//! The command line: clap's definitions, and [`resolve`], which turns them into one
//! [`Resolved`] value (what to run, on which inputs, with which options) that `main.rs`
//! dispatches. Everything that can be refused without reading an image is refused there.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context as _;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use strata::analysis::Severity;
use strata::analysis::compare::Limit;
use strata::ci::{self, CiFlags, Rules};
use strata::dockerfile::Target;
use strata::engine::LoadOptions;
use strata::image::Platform;
use strata::layer::ScanOptions;
use strata::report::compare::TextOptions;
use strata::report::emit::{self, Output};
use strata::report::{self, Printer};
use strata::source::{Input, Location, OpenOptions};
use strata::tui::keymap::{Key, Keymap};

/// What is inside a container image, layer by layer, and where its bytes are wasted.
///
/// `strata IMAGE` opens the explorer: the layers, each one's files and the wasted paths on the
/// terminal (`?` lists its keys). The subcommands print: `analyze` the summary, `ci` the verdict
/// of the CI rules, `compare` the difference between two images, `verify` every check.
///
/// IMAGE is an OCI layout directory (`DIR`, `DIR:REF`, `oci:DIR[:REF]`), an oci-archive
/// (`oci-archive:FILE[:REF]`), a `docker save` tarball (`docker-archive:FILE[:REPO:TAG]`),
/// either of them gzip- or zstd-compressed, or skopeo's `dir:DIR` layout, recognised by content
/// when no prefix is given; `-` reads `docker save` (compressed or not) from stdin. Images
/// elsewhere: `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` (a registry), `docker-daemon:NAME[:TAG]`
/// and `podman:NAME[:TAG]` (an engine's socket); a `NAME:TAG` that is no path asks the engine.
#[derive(Debug, Parser)]
#[command(name = "strata", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The image to explore: without a subcommand, `strata IMAGE` opens the explorer (with --ci
    /// or CI=true, it prints the CI verdict instead).
    pub image: Option<String>,

    #[command(flatten)]
    pub load: LoadArgs,

    #[command(flatten)]
    pub dockerfile: DockerfileArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub ci: CiArgs,

    /// Run the CI rules and exit 0 (pass), 1 (a rule failed) or 2 (could not analyse).
    /// Also on when the environment has CI=true, as with dive.
    #[arg(long = "ci")]
    pub ci_mode: bool,

    /// Replay a key script in the explorer (`tab j ctrl+a`) instead of reading the keyboard;
    /// with --print, the screen a bug report can quote.
    #[arg(long, value_name = "SCRIPT", help_heading = REPLAY)]
    pub keys: Option<String>,

    /// With --keys: print the final screen as text instead of taking the terminal.
    #[arg(long, requires = "keys", help_heading = REPLAY)]
    pub print: bool,

    /// With --print: the screen size, `WIDTHxHEIGHT`.
    #[arg(long, value_name = "WxH", default_value = "120x40", help_heading = REPLAY)]
    pub screen: String,
}

/// The heading of --keys, --print and --screen, which the README recommends for bug reports.
const REPLAY: &str = "Replaying keys (for bug reports)";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the image's layers, efficiency and wasted bytes.
    // "analyse" is how much of the English-speaking world spells it.
    #[command(alias = "analyse")]
    Analyze {
        image: String,
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        dockerfile: DockerfileArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Judge the image against CI rules (dive's flags and `.dive-ci` work unchanged).
    Ci {
        image: String,
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        dockerfile: DockerfileArgs,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        ci: CiArgs,
    },
    /// Compare two images: sizes side by side, the shared base and the layers aligned by
    /// command, and the files of the final filesystems that differ, grouped by directory.
    ///
    /// Exit codes: 0, or 1 when --fail-if-larger is exceeded, 2 when an image cannot be read.
    Compare {
        /// The baseline image (before).
        a: String,
        /// The image compared with it (after).
        b: String,
        #[command(flatten)]
        load: LoadArgs,
        #[command(flatten)]
        compare: CompareArgs,
    },
    /// A registry repository's tags, newest first: each one's size, compressed size,
    /// efficiency and waste, and what grew since the tag before it.
    ///
    /// The tags are listed by the registry and ordered by their configs' `created` dates;
    /// layers the tags share are read once. Exit codes: 0, or 2 when the tags or a tag cannot
    /// be read.
    History {
        /// The repository: docker://HOST/REPO (a tag or digest given is ignored).
        repository: String,
        /// How many tags to read, newest first.
        #[arg(long, value_name = "N", default_value_t = 10)]
        tags: usize,
        /// Only tags this glob matches (`v1.*`, `*-alpine`).
        #[arg(long = "match", value_name = "GLOB")]
        pattern: Option<String>,
        #[command(flatten)]
        load: LoadArgs,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = HistoryFormat::Text)]
        format: HistoryFormat,
    },
    /// Check every digest, size, diff_id, gzip CRC and tar structure of the image without
    /// stopping at the first problem, and list them all.
    ///
    /// Exit codes: 0 when everything checks out, 2 when anything does not (or the image cannot
    /// be read at all).
    Verify {
        image: String,
        #[command(flatten)]
        load: LoadArgs,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (strata.1 and one per subcommand) into a directory.
    Man {
        /// Directory to write into (created if missing).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
}

/// Where an image comes from when the path alone does not say (dive's `--source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// A `docker save` tarball.
    DockerArchive,
    /// An OCI image layout directory.
    Oci,
    /// An OCI layout in a tar file.
    OciArchive,
    /// A registry (`REPO:TAG` is `docker://REPO:TAG`).
    Registry,
    /// The Docker engine (`docker-daemon:NAME`), over `DOCKER_HOST` or /var/run/docker.sock.
    Docker,
    /// The Podman engine's Docker-compatible socket.
    Podman,
}

impl From<SourceKind> for strata::source::SourceKind {
    fn from(kind: SourceKind) -> Self {
        match kind {
            SourceKind::DockerArchive => Self::DockerArchive,
            SourceKind::Oci => Self::Oci,
            SourceKind::OciArchive => Self::OciArchive,
            SourceKind::Registry => Self::Registry,
            SourceKind::Docker => Self::Docker,
            SourceKind::Podman => Self::Podman,
        }
    }
}

#[derive(Debug, Clone, Default, Args)]
pub struct LoadArgs {
    /// Platform to pick from a multi-platform image (`os/arch[/variant]`); default: the host's.
    #[arg(long)]
    pub platform: Option<String>,

    /// Which image of an archive holding several (`repo:tag`); default: the first.
    #[arg(long)]
    pub tag: Option<String>,

    /// How to read IMAGE (as dive's --source); by default it is recognised by content.
    #[arg(long, value_enum)]
    pub source: Option<SourceKind>,

    /// Registries: accept self-signed certificates and plain HTTP (for loopback registries).
    #[arg(long)]
    pub insecure: bool,

    /// Registries: credentials, before any in REGISTRY_AUTH_FILE or ~/.docker/config.json.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub creds: Option<String>,

    /// Report digest and size mismatches as warnings instead of failing.
    #[arg(short = 'i', long = "ignore-errors")]
    pub ignore_errors: bool,

    /// Skip the SHA-256 checks of blobs and layer tars (faster; nothing is verified).
    #[arg(long)]
    pub no_verify: bool,

    /// No progress bar.
    #[arg(short, long)]
    pub quiet: bool,

    /// Reuse layers read before (matched by their blob's SHA-256, then verified) from the layer
    /// cache in $STRATA_CACHE_DIR, $XDG_CACHE_HOME/strata or ~/.cache/strata, and store new ones
    /// there.
    #[arg(long)]
    pub cache: bool,

    /// Threads reading layers (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub threads: usize,
}

/// The Dockerfile the image was built from, to name the line that made each layer.
#[derive(Debug, Clone, Default, Args)]
pub struct DockerfileArgs {
    /// The Dockerfile the image was built from: each layer is matched to the line that made
    /// it (through the image's history), and the base image's layers are named.
    #[arg(long, value_name = "PATH")]
    pub dockerfile: Option<PathBuf>,

    /// With --dockerfile: the stage built (`docker build --target`), by name or index; default:
    /// the last.
    #[arg(long, value_name = "STAGE", requires = "dockerfile")]
    pub target: Option<String>,

    /// The image this one was built FROM (any reference strata reads): its layers, found at
    /// the bottom of this image by their digests, are reported apart from yours. Only its
    /// manifest and config are read.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The formats of `analyze` and `ci`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    /// `strata.analysis/v1` (`ci`: `strata.ci/v1`).
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitLab Code Quality.
    Codequality,
    /// JUnit XML (`ci` only): a test case per rule and per finding at or above --fail-on.
    Junit,
    /// For a CI job summary or a pull-request comment (at most 65,536 characters).
    Markdown,
    /// One self-contained page with a treemap of the filesystem (`analyze` only).
    Html,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Also write the JSON analysis to FILE (truncating it), as dive's --json does.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// How many wasted paths to list (0: all). Default: 20 in text, 100 in JSON.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
}

/// `--fail-on`: the severity from which a finding fails `ci`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Note,
    Warning,
    Error,
}

/// Which numbers the CI rules judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsKind {
    /// strata's exact waste (default).
    Exact,
    /// dive 0.13's formulas, for a pipeline that must keep dive's verdicts.
    Dive,
}

#[derive(Debug, Clone, Args)]
pub struct CiArgs {
    /// CI rules file (default: ./.dive-ci when present).
    #[arg(long = "ci-config", value_name = "FILE")]
    pub ci_config: Option<PathBuf>,

    // The rule values take a leading `-`, so that `-0.5` reaches the rule, which says it is out
    // of range, instead of clap's "unexpected argument '-0'". An option given in their place
    // (`--lowestEfficiency --ci`) is then called "not a number", which says as much.
    /// Fail when efficiency is below this ratio (0..1, or `disabled`). Default 0.9.
    #[arg(
        long = "lowestEfficiency",
        value_name = "RATIO",
        allow_hyphen_values = true
    )]
    pub lowest_efficiency: Option<String>,

    /// Fail when more bytes than this are wasted (`20MB`, `20MiB`, or `disabled`).
    #[arg(
        long = "highestWastedBytes",
        value_name = "SIZE",
        allow_hyphen_values = true
    )]
    pub highest_wasted_bytes: Option<String>,

    /// Fail when wasted bytes exceed this ratio of the bytes above the base layer. Default 0.1.
    #[arg(
        long = "highestUserWastedPercent",
        value_name = "RATIO",
        allow_hyphen_values = true
    )]
    pub highest_user_wasted_percent: Option<String>,

    /// Judge strata's exact metrics or dive's.
    #[arg(long, value_enum, default_value_t = MetricsKind::Exact)]
    pub metrics: MetricsKind,

    /// Also fail when a finding at or above this severity is not allowed (`allow:` in
    /// ./.strata.yaml or the CI config file).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Text,
    /// `strata.compare/v1`: every group and file.
    Json,
    /// For a pull-request comment or a CI job summary.
    Markdown,
    /// One self-contained page: both layer stacks aligned, the file difference as a chart.
    Html,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Output format on stdout. Without it, a terminal gets the compare screen (not with
    /// CI=true) and anything else text.
    #[arg(long, value_enum)]
    pub format: Option<CompareFormat>,

    /// Exit 1 when B's uncompressed size exceeds A's by more than this (`5%`, `20MB`, `20MiB`,
    /// `1500B`: a size needs its unit).
    #[arg(long, value_name = "PERCENT|SIZE", allow_hyphen_values = true)]
    pub fail_if_larger: Option<String>,

    /// List the differing files under the directories shown (text).
    #[arg(long)]
    pub files: bool,

    /// Levels of directories to show (text; default 1: the largest groups only).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub depth: u16,

    /// Directories per level and files per directory to show (0: all). Default 10.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Replay a key script in the compare screen (`tab j space`) instead of reading the keyboard;
    /// with --print, the screen a bug report can quote.
    #[arg(long, value_name = "SCRIPT", help_heading = REPLAY)]
    pub keys: Option<String>,

    /// With --keys: print the final screen as text instead of taking the terminal.
    #[arg(long, requires = "keys", help_heading = REPLAY)]
    pub print: bool,

    /// With --print: the screen size, `WIDTHxHEIGHT`.
    #[arg(long, value_name = "WxH", default_value = "120x40", help_heading = REPLAY)]
    pub screen: String,
}

/// Parses the command line. clap prints its own errors, help and version, and exits; a first
/// word that looks like a mistyped subcommand is the error instead.
///
/// # Errors
/// `strata anlyze IMG`: the subcommand meant.
pub fn parse(args: &[OsString]) -> anyhow::Result<Cli> {
    use clap::error::ErrorKind;
    let e = match Cli::try_parse_from(args) {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    // `strata anlyze IMG`: clap takes `anlyze` for IMAGE, then says "the subcommand 'IMG'
    // cannot be used with '[IMAGE]'". The command line is wrong whatever the word is, so the
    // tip costs nothing when it guesses wrong.
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
        anyhow::bail!("`{word}` is neither a subcommand nor a file; did you mean `strata {sub}`?");
    }
    e.exit()
}

/// The subcommand that `word`, the first argument, looks like a mistyping of (`anlyze`,
/// `comapre`), by clap's own measure for its "a similar subcommand exists" tip: Jaro
/// similarity above 0.7. Never for a file that exists, for an image reference (`:`, `/`), or
/// for a subcommand typed right (the error is then clap's own: a bad value after it).
pub fn mistyped(word: &str) -> Option<String> {
    let cmd = Cli::command();
    fn named(sub: &clap::Command) -> Vec<&str> {
        std::iter::once(sub.get_name())
            .chain(sub.get_all_aliases())
            .collect()
    }
    if word.starts_with('-')
        || word.contains([':', '/'])
        || cmd.get_subcommands().any(|sub| named(sub).contains(&word))
    {
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
    let mut best: Option<(f64, &str)> = None;
    for sub in cmd.get_subcommands() {
        for name in named(sub) {
            let score = strsim::jaro(word, name);
            if score > 0.7 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, sub.get_name()));
            }
        }
    }
    best.map(|(_, name)| name.to_string())
}

/// `strata man DIR`: strata.1 and one page per subcommand.
pub fn write_man(dir: &Path) -> anyhow::Result<()> {
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

// ---------------------------------------------------------------------------------------------
// Resolving: from what was typed to what runs.

/// The command line resolved.
pub struct Resolved {
    pub job: Job,
    /// How the inputs open.
    pub open: OpenOptions,
    /// How their layers are read.
    pub load: LoadOptions,
    /// No progress bar.
    pub quiet: bool,
    /// `--dockerfile` read and parsed, its `--target` found (analyze, ci, the explorer).
    pub dockerfile: Option<Target>,
    /// `--base`: the base image's reference parsed, and as the user wrote it.
    pub base: Option<(Input, String)>,
}

/// What to run.
pub enum Job {
    Analyze {
        input: Input,
        output: Output,
    },
    Ci {
        input: Input,
        output: Output,
        rules: Rules,
        metrics: ci::MetricsKind,
    },
    Verify {
        input: Input,
        printer: &'static dyn Printer,
    },
    /// The explorer on the terminal.
    Explore {
        input: Input,
        keymap: Keymap,
    },
    /// `--keys SCRIPT --print`: the explorer replayed on a virtual screen.
    Replay {
        input: Input,
        replay: KeyReplay,
    },
    Compare {
        /// A and B, with the text the user gave for each (errors name them so).
        inputs: [(Input, String); 2],
        limit: Option<Limit>,
        view: CompareView,
    },
    /// `strata history`.
    History {
        input: Input,
        tags: usize,
        pattern: Option<globset::GlobMatcher>,
        printer: &'static dyn Printer,
    },
    Completions(clap_complete::Shell),
    Man(PathBuf),
    /// `strata` alone.
    Help,
}

/// The formats of `strata history`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Text,
    Json,
    Markdown,
    /// One self-contained page with the trend drawn (SVG, no script).
    Html,
}

/// Where `compare` shows its result.
pub enum CompareView {
    /// The compare screen on the terminal.
    Screen(Keymap),
    /// `--keys SCRIPT --print`.
    Replay(KeyReplay),
    /// On stdout; `warn` also lists the warnings on stderr (JSON, whose reader is not a person;
    /// HTML, which goes to a file).
    Print {
        printer: &'static dyn Printer,
        options: TextOptions,
        warn: bool,
    },
}

/// `--keys SCRIPT --print --screen WxH`.
pub struct KeyReplay {
    pub keys: Vec<Key>,
    pub keymap: Keymap,
    pub screen: Screen,
}

/// A screen size, `WIDTHxHEIGHT`, at least 20x10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Screen {
    pub width: u16,
    pub height: u16,
}

impl FromStr for Screen {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> anyhow::Result<Screen> {
        text.split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u16>().ok()?, h.parse::<u16>().ok()?)))
            .filter(|&(w, h)| w >= 20 && h >= 10)
            .map(|(width, height)| Screen { width, height })
            .with_context(|| format!("--screen {text}: expected WIDTHxHEIGHT, at least 20x10"))
    }
}

/// Resolves the command line. The checks run in the order users met them before there was a
/// resolving step: the flags, then the terminal and the keymap, then the platform and the
/// inputs; rule warnings are printed as soon as the rules are read.
///
/// # Errors
/// The first bad flag, key binding or input, or no terminal for a screen.
pub fn resolve(cli: Cli) -> anyhow::Result<Resolved> {
    let (job, load, dockerfile) = match cli.command {
        Some(Command::Analyze {
            image,
            load,
            dockerfile,
            output,
        }) => {
            if output.format == ReportFormat::Junit {
                anyhow::bail!(
                    "--format junit: `strata analyze` judges nothing; use `strata ci {image} --format junit`"
                );
            }
            let output = resolve_output(&output, 20);
            let input = input(&image, &load)?;
            (Job::Analyze { input, output }, load, dockerfile)
        }
        Some(Command::Ci {
            image,
            load,
            dockerfile,
            output,
            ci,
        }) => (ci_job(&image, &load, &output, &ci)?, load, dockerfile),
        Some(Command::Compare {
            a,
            b,
            load,
            compare,
        }) => (
            compare_job(a, b, &load, &compare)?,
            load,
            DockerfileArgs::default(),
        ),
        Some(Command::Verify {
            image,
            load,
            format,
        }) => {
            // Every check, every byte: lenient documents, verified layers, no cache.
            let load = LoadArgs {
                ignore_errors: true,
                no_verify: false,
                cache: false,
                ..load
            };
            let input = input(&image, &load)?;
            let printer = printer(format);
            let mut resolved = resolved(Job::Verify { input, printer }, &load);
            resolved.load = LoadOptions {
                keep_going: true,
                ignore_errors: false,
                base_batch: usize::MAX,
                ..resolved.load
            };
            return Ok(resolved);
        }
        Some(Command::History {
            repository,
            tags,
            pattern,
            load,
            format,
        }) => {
            if tags == 0 {
                anyhow::bail!("--tags 0: read at least one tag");
            }
            let pattern = pattern
                .map(|p| {
                    globset::Glob::new(&p)
                        .map(|g| g.compile_matcher())
                        .map_err(|e| anyhow::anyhow!("--match {p}: {e}"))
                })
                .transpose()?;
            let printer: &'static dyn Printer = match format {
                HistoryFormat::Text => &report::Text,
                HistoryFormat::Json => &report::Json,
                HistoryFormat::Markdown => &report::Markdown,
                HistoryFormat::Html => &report::history::HistoryHtml,
            };
            let input = input(&repository, &load)?;
            (
                Job::History {
                    input,
                    tags,
                    pattern,
                    printer,
                },
                load,
                DockerfileArgs::default(),
            )
        }
        Some(Command::Completions { shell }) => (
            Job::Completions(shell),
            LoadArgs::default(),
            DockerfileArgs::default(),
        ),
        Some(Command::Man { out }) => (
            Job::Man(out),
            LoadArgs::default(),
            DockerfileArgs::default(),
        ),
        None => {
            let Some(image) = cli.image else {
                return Ok(resolved(Job::Help, &cli.load));
            };
            let job = if cli.ci_mode || ci_env() {
                ci_job(&image, &cli.load, &cli.output, &cli.ci)?
            } else if let Some(script) = &cli.keys {
                let replay = key_replay(script, cli.print, &cli.screen)?;
                let input = input(&image, &cli.load)?;
                Job::Replay { input, replay }
            } else {
                if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
                    anyhow::bail!(
                        "the explorer needs a terminal (stdout or stdin is not one); use `strata analyze {image}` for the text summary, or `strata ci {image}`"
                    );
                }
                let keymap = strata::tui::load_keymap()?;
                Job::Explore {
                    input: input(&image, &cli.load)?,
                    keymap,
                }
            };
            (job, cli.load, cli.dockerfile)
        }
    };
    let mut resolved = resolved(job, &load);
    resolved.dockerfile = dockerfile
        .dockerfile
        .as_deref()
        .map(|path| Target::read(path, dockerfile.target.as_deref()))
        .transpose()?;
    if let Some(base) = dockerfile.base {
        if base == "-" {
            anyhow::bail!("--base -: the base image cannot be read from standard input");
        }
        // Found as the user wrote it: `--source` names the analysed image's transport.
        resolved.base = Some((Input::parse(&base, None)?, base));
    }
    Ok(resolved)
}

fn resolved(job: Job, args: &LoadArgs) -> Resolved {
    let scan = ScanOptions {
        verify: !args.no_verify,
    };
    Resolved {
        job,
        open: OpenOptions {
            platform: args.platform.clone(),
            tag: args.tag.clone(),
            insecure: args.insecure,
            creds: args.creds.clone(),
            scan,
            lenient: args.ignore_errors,
        },
        load: LoadOptions {
            scan,
            ignore_errors: args.ignore_errors,
            threads: args.threads,
            cache: if args.cache {
                strata::cache::default_dir()
            } else {
                None
            },
            ..LoadOptions::default()
        },
        quiet: args.quiet,
        dockerfile: None,
        base: None,
    }
}

/// `CI=true` in the environment, as dive reads it.
fn ci_env() -> bool {
    std::env::var("CI").is_ok_and(|v| ci::ci_env_enabled(&v))
}

/// Parses `image`, after `--platform`: with both wrong, the platform is named first.
fn input(image: &str, args: &LoadArgs) -> anyhow::Result<Input> {
    if let Some(platform) = &args.platform {
        Platform::parse(platform)?;
    }
    Ok(Input::parse(image, args.source.map(Into::into))?)
}

/// The printer of `--format`.
fn printer(format: Format) -> &'static dyn Printer {
    match format {
        Format::Text => &report::Text,
        Format::Json => &report::Json,
    }
}

/// The printer of `analyze`'s and `ci`'s `--format`.
fn report_printer(format: ReportFormat) -> &'static dyn Printer {
    match format {
        ReportFormat::Text => &report::Text,
        ReportFormat::Json => &report::Json,
        ReportFormat::Sarif => &report::Sarif,
        ReportFormat::Codequality => &report::CodeQuality,
        ReportFormat::Junit => &report::Junit,
        ReportFormat::Markdown => &report::Markdown,
        ReportFormat::Html => &report::Html,
    }
}

/// `--top N` for every output, else `shown` on stdout and 100 in JSON; `--top 0` lists all.
fn resolve_output(args: &OutputArgs, shown: usize) -> Output {
    let json_top = args.top.unwrap_or(100);
    Output {
        printer: report_printer(args.format),
        json_file: args.json.clone(),
        listed: Some(json_top).filter(|&n| n > 0),
        json_top,
        shown: args.top.unwrap_or(shown),
    }
}

/// `ci`: the rules are read (and their warnings printed) before the input is parsed.
fn ci_job(image: &str, load: &LoadArgs, output: &OutputArgs, args: &CiArgs) -> anyhow::Result<Job> {
    if output.format == ReportFormat::Html {
        anyhow::bail!(
            "--format html: `strata ci` judges the image in text or a CI system's format; the page is `strata analyze {image} --format html`"
        );
    }
    let flags = CiFlags {
        lowest_efficiency: args.lowest_efficiency.clone(),
        highest_wasted_bytes: args.highest_wasted_bytes.clone(),
        highest_user_wasted_percent: args.highest_user_wasted_percent.clone(),
        config: args.ci_config.clone(),
        fail_on: args.fail_on.map(|s| match s {
            FailOn::Note => Severity::Note,
            FailOn::Warning => Severity::Warning,
            FailOn::Error => Severity::Error,
        }),
    };
    let cwd = std::env::current_dir().context("current directory")?;
    let rules = Rules::resolve(&flags, &cwd)?;
    emit::warnings(&rules.warnings);
    let metrics = match args.metrics {
        MetricsKind::Exact => ci::MetricsKind::Exact,
        MetricsKind::Dive => ci::MetricsKind::Dive,
    };
    Ok(Job::Ci {
        input: input(image, load)?,
        output: resolve_output(output, 5),
        rules,
        metrics,
    })
}

/// `--keys SCRIPT --print --screen WxH`, checked in that order.
fn key_replay(script: &str, print: bool, screen: &str) -> anyhow::Result<KeyReplay> {
    if !print {
        anyhow::bail!("--keys needs --print (the replayed screen is printed as text)");
    }
    let screen = screen.parse()?;
    Ok(KeyReplay {
        keys: strata::tui::parse_script(script)?,
        keymap: strata::tui::load_keymap()?,
        screen,
    })
}

/// `compare`: the limit, the replay, then the screen's keymap, then A and B. Without
/// `--format`, a terminal (and no CI=true) gets the compare screen.
fn compare_job(a: String, b: String, load: &LoadArgs, args: &CompareArgs) -> anyhow::Result<Job> {
    let refused = |e: &dyn fmt::Display| anyhow::anyhow!("--fail-if-larger: {e}");
    let limit = match args.fail_if_larger.as_deref() {
        Some(text) => {
            limit_has_a_unit(text).map_err(|e| refused(&e))?;
            Limit::parse(text).map_err(|e| refused(&e))?
        }
        None => None,
    };
    let replay = match &args.keys {
        Some(script) => Some(key_replay(script, args.print, &args.screen)?),
        None => None,
    };
    let view = match replay {
        Some(replay) => CompareView::Replay(replay),
        None if args.format.is_none()
            && !ci_env()
            && io::stdout().is_terminal()
            && io::stdin().is_terminal() =>
        {
            CompareView::Screen(strata::tui::load_keymap()?)
        }
        None => {
            let format = args.format.unwrap_or(CompareFormat::Text);
            let printer: &'static dyn Printer = match format {
                CompareFormat::Text => &report::Text,
                CompareFormat::Json => &report::Json,
                CompareFormat::Markdown => &report::Markdown,
                CompareFormat::Html => &report::Html,
            };
            CompareView::Print {
                printer,
                options: TextOptions {
                    depth: usize::from(args.depth),
                    top: args.top,
                    files: args.files,
                },
                // JSON's reader is not a person, and a page goes to a file: the warnings go
                // to stderr too.
                warn: matches!(format, CompareFormat::Json | CompareFormat::Html),
            }
        }
    };
    let ia = input(&a, load)?;
    let ib = input(&b, load)?;
    Ok(Job::Compare {
        inputs: [(ia, a), (ib, b)],
        limit,
        view,
    })
}

/// Why a `--fail-if-larger` is refused before it is parsed as a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UnitlessLimit {
    /// `-5%`: B may not be larger by less than nothing.
    Negative(String),
    /// `5`: humanize reads it as 5 bytes, which nobody who writes it means (5%? 5MB?).
    NoUnit(String),
}

impl fmt::Display for UnitlessLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnitlessLimit::Negative(t) => write!(
                f,
                "`{t}` is negative; expected how much larger B may be, such as 5% or 20MB"
            ),
            UnitlessLimit::NoUnit(t) => write!(
                f,
                "`{t}` has no unit: write {t}% for a percentage, or a size such as {t}MB, {t}MiB \
                 or {t}B"
            ),
        }
    }
}

impl std::error::Error for UnitlessLimit {}

/// A `--fail-if-larger` that is a plain number is refused: humanize reads `5` as 5 bytes, which
/// nobody who writes it means (5%? 5MB?). `0` is the same in every unit and stays. A negative
/// limit is named as such (B may not be larger by less than nothing).
fn limit_has_a_unit(text: &str) -> Result<(), UnitlessLimit> {
    let t = text.trim();
    if t.strip_prefix('-')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
    {
        return Err(UnitlessLimit::Negative(t.to_string()));
    }
    let plain = t.contains(|c: char| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
    if plain && t.contains(|c: char| ('1'..='9').contains(&c)) {
        return Err(UnitlessLimit::NoUnit(t.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which limits are refused before parsing, and why: a negative number whatever its unit,
    /// a plain number other than zero; a unit or a zero passes on to `Limit::parse`.
    #[test]
    fn a_limit_needs_a_unit_and_a_sign() {
        let negative = |t: &str| Err(UnitlessLimit::Negative(t.to_string()));
        let no_unit = |t: &str| Err(UnitlessLimit::NoUnit(t.to_string()));
        assert_eq!(limit_has_a_unit(" -5% "), negative("-5%"));
        assert_eq!(limit_has_a_unit("-.5MB"), negative("-.5MB"));
        assert_eq!(limit_has_a_unit("5"), no_unit("5"));
        assert_eq!(limit_has_a_unit("1,5"), no_unit("1,5"));
        for fine in ["0", "0.0", "5%", "20MB", "1500B", "-x"] {
            assert_eq!(limit_has_a_unit(fine), Ok(()), "{fine}");
        }
    }
}
