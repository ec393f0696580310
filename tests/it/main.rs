//! strata's integration tests, as one test binary: the binary and the library on the committed
//! images of `testdata/`, against real tools (umoci, dive, skopeo, registries, podman, Go's
//! archive/tar, GNU tar, Python) and on hostile and broken inputs.
//!
//! One binary links once where nine did, and its modules share one set of helpers
//! ([`fixtures`]). They also share one process: no test may change what is global to it (the
//! working directory, the environment, the umask); each runs strata in a child process with
//! its own environment, or the library with explicit options.
//!
//! A test that needs a tool beyond cargo (umoci, dive, skopeo, docker-registry, podman,
//! openssl, htpasswd, Go, GNU tar, python3, the zstd CLI, /usr/bin/time, prlimit, tmux) is
//! marked `#[ignore = "needs TOOL: bash .ci/setup; run by .ci/run"]`, so that a plain `cargo
//! test` passes on a fresh clone. `.ci/run` installs the tools (`.ci/setup`) and runs every
//! test with `cargo test -- --include-ignored`, where a missing tool fails the test
//! ([`fixtures::tools::require`]).

mod architecture;
mod bad_input;
mod base;
mod cli;
mod compare;
mod compare_tui;
mod dockerfile;
mod errors;
mod findings;
mod fixtures;
mod history;
mod hostile;
mod html;
mod packages;
mod provenance;
mod readme;
mod reference;
mod remote;
mod reports;
mod secrets;
mod trust;
mod tui;
