//! What is wrong with a Dockerfile given with `--dockerfile`: each variant one clause of the
//! line `Error::Dockerfile` prints after the file's name and, where there is one, its line
//! (`Dockerfile:7: unknown instruction `FORM``).
//!
//! Words taken from the file are cut to [`SHOWN`] characters: a binary file read by mistake
//! must not fill the terminal (the printer escapes what is left).

use std::fmt;

/// At most this many characters of a word from the file appear in a message.
pub const SHOWN: usize = 40;

/// Why a Dockerfile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    /// The file could not be read.
    #[error("cannot read the Dockerfile: {0}")]
    Read(#[source] std::io::Error),
    /// The file is larger than any Dockerfile strata reads.
    #[error("over {limit} bytes: too large for a Dockerfile")]
    TooLarge { limit: u64 },
    /// The bytes are not UTF-8 text (BuildKit reads Dockerfiles as UTF-8).
    #[error("not a Dockerfile: byte {offset} is not UTF-8 text")]
    NotText { offset: usize },
    /// Nothing but comments and blank lines.
    #[error("not a Dockerfile: no instructions")]
    Empty,
    /// A word in the place of an instruction that is none.
    #[error("unknown instruction `{}`", Cut(.0))]
    UnknownInstruction(String),
    /// An instruction other than ARG before the first FROM.
    #[error("{0} before the first FROM (only ARG may come first)")]
    BeforeFrom(&'static str),
    /// An instruction without arguments.
    #[error("{0} needs arguments")]
    NoArguments(&'static str),
    /// FROM with other than `IMAGE` or `IMAGE AS NAME`.
    #[error("FROM takes an image and optionally `AS name`, not `{}`", Cut(.0))]
    BadFrom(String),
    /// A stage name BuildKit refuses.
    #[error(
        "`{}` is no stage name (a letter, then letters, digits, `-`, `_` or `.`)",
        Cut(.0)
    )]
    BadStageName(String),
    /// Two stages of one name.
    #[error("a second stage named `{}`", Cut(.0))]
    DuplicateStage(String),
    /// A heredoc whose closing word never comes.
    #[error("heredoc `{}` is never closed", Cut(.0))]
    UnterminatedHeredoc(String),
    /// An `escape` directive that is neither `\` nor a backtick.
    #[error("escape directive `{}`: the escape character is \\ or `", Cut(.0))]
    BadEscape(String),
    /// A parser directive given twice.
    #[error("parser directive `{0}` given twice")]
    DuplicateDirective(String),
    /// `--target` names no stage of the file; `stages` lists those it has.
    #[error("--target {}: no such stage (stages: {stages})", Cut(target))]
    NoSuchStage { target: String, stages: String },
}

/// A word from the file, cut to [`SHOWN`] characters.
struct Cut<'a>(&'a str);

impl fmt::Display for Cut<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.chars().count() > SHOWN {
            let cut: String = self.0.chars().take(SHOWN - 1).collect();
            write!(f, "{cut}…")
        } else {
            f.write_str(self.0)
        }
    }
}
