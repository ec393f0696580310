//! The command line: clap definitions only. Dispatch lives in `main.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
        output: OutputArgs,
    },
    /// Judge the image against CI rules (dive's flags and `.dive-ci` work unchanged).
    Ci {
        image: String,
        #[command(flatten)]
        load: LoadArgs,
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

#[derive(Debug, Clone, Args)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also write the JSON analysis to FILE (truncating it), as dive's --json does.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// How many wasted paths to list (0: all). Default: 20 in text, 100 in JSON.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Text,
    /// `strata.compare/v1`: every group and file.
    Json,
    /// For a pull-request comment or a CI job summary.
    Markdown,
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
